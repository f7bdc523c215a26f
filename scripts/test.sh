#!/usr/bin/env bash
# The whole test suite, PostgreSQL included. Usage: scripts/test.sh [nextest args…]
# PostgreSQL comes from DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test); an unreachable
# server fails the PostgreSQL tests, it never skips them.
set -euo pipefail
cd "$(dirname "$0")/.."
# Unset DATABASE_URL: the harness (libs/testkit) starts PostgreSQL with testcontainers when Docker is
# there, else uses the local default; it prints its choice once per test process.
if command -v cargo-nextest >/dev/null 2>&1; then
  exec cargo nextest run --workspace --no-fail-fast "$@"
fi
echo "cargo-nextest not found: running cargo test (install it with: cargo install cargo-nextest --locked)" >&2
exec cargo test --workspace --no-fail-fast "$@"
