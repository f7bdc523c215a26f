#!/usr/bin/env bash
# Throughput and p99 against concurrency for Carelog (over gRPC) and raw PostgreSQL INSERTs, measured
# in the same runs, plotted to docs/bench-concurrency.png.
# Usage: scripts/bench-sweep.sh [--store URL] [--mix append|sessions|mixed]
# The baseline runs on BASELINE_URL (else DATABASE_URL, else the local test database).
set -euo pipefail
cd "$(dirname "$0")/.."
baseline="${BASELINE_URL:-${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}}"
out="${BENCH_OUT:-target/bench-sweep}"
mkdir -p "$out"
cargo build --release -p carelog
for concurrency in ${CONCURRENCY:-1 4 16 64}; do
  echo "== concurrency $concurrency" >&2
  # The server's store is --store (default: a temporary SQLite file), not DATABASE_URL.
  env -u DATABASE_URL target/release/carelog bench --concurrency "$concurrency" --duration "${DURATION:-6}" \
    --clients 4 --baseline --baseline-url "$baseline" "$@" > "$out/c$concurrency.json"
done
python3 -c "import matplotlib" 2>/dev/null || python3 -m pip install --quiet matplotlib
python3 scripts/plot_bench.py "$out"/c*.json docs/bench-concurrency.png
