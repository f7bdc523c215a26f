#!/usr/bin/env bash
# The whole test suite, PostgreSQL included. Usage: scripts/test.sh [nextest args…]
# PostgreSQL comes from DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test); an unreachable
# server fails the PostgreSQL tests, it never skips them.
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
if command -v cargo-nextest >/dev/null 2>&1; then
  exec cargo nextest run --workspace --no-fail-fast "$@"
fi
echo "cargo-nextest not found: running cargo test (install it with: cargo install cargo-nextest --locked)" >&2
exec cargo test --workspace --no-fail-fast "$@"
