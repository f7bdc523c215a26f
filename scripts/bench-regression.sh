#!/usr/bin/env bash
# The figures met before (rebuild, verify, GetEpisode p99, idle memory) for two builds on one
# store, alternately, so a change is judged against the build it replaces in the same run.
# Seeds a SQLite store once (with the first build), then per round and build: `carelog rebuild`
# (events/s), `carelog verify` (events/s), `carelog serve` with GetEpisode at CALLERS callers
# (calls/s, p99) and its resident memory when idle 8 s after start.
#
# Usage: scripts/bench-regression.sh OLD_BIN NEW_BIN     (EPISODES=2000 ROUNDS=2 CALLERS=4 SECONDS_PER_READ=6)
# Loopback only; everything goes under target/bench-regression/run-<pid>, removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 OLD_BIN NEW_BIN" >&2; exit 2; }
builds=("$1" "$2")
episodes="${EPISODES:-2000}" rounds="${ROUNDS:-2}" callers="${CALLERS:-4}" read_seconds="${SECONDS_PER_READ:-6}"
run="target/bench-regression/run-$$"
store="sqlite:$run/store.db"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$run"
say() { echo "bench-regression: $*" >&2; }
export CARELOG_AUTH_SECRET; CARELOG_AUTH_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export CARELOG_MASTER_KEY; CARELOG_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rate() { sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p' | tail -1; }

say "seeding $episodes episodes with $1 …"
env -u DATABASE_URL "$1" seed --store "$store" --episodes "$episodes" --concurrency 32 2>&1 | tail -1 >&2

serve_and_read() { # bin → "calls/s p99 idle-KiB"
  local port; port=$(free_port)
  env -u DATABASE_URL "$1" serve --store "$store" --listen "127.0.0.1:$port" --allow-plaintext \
    --dev-ephemeral-signing-key >"$run/serve.log" 2>&1 &
  pids+=("$!")
  local pid=$!
  for _ in $(seq 1 150); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
  sleep 8
  local idle; idle=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  local summary
  summary=$("$1" bench --server "http://127.0.0.1:$port" --mix reads --concurrency "$callers" \
    --duration "$read_seconds" --clients 16 2>/dev/null)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  node -e 'const s=JSON.parse(process.argv[1]);console.log(`${s.commands_per_sec.toFixed(0)} ${s.latency_ms.p99} ${process.argv[2]}`)' \
    "$summary" "$idle"
}

printf '| build | round | rebuild events/s | verify events/s | GetEpisode calls/s (%s callers) | p99 ms | idle VmRSS MiB |\n|---|---|---|---|---|---|---|\n' "$callers"
for round in $(seq 1 "$rounds"); do
  for bin in "${builds[@]}"; do
    say "round $round: $bin …"
    rebuild=$(env -u DATABASE_URL "$bin" rebuild --store "$store" 2>&1 | rate)
    verify=$(env -u DATABASE_URL "$bin" verify --store "$store" 2>&1 | rate)
    read -r calls p99 idle <<<"$(serve_and_read "$bin")"
    printf '| %s | %s | %s | %s | %s | %s | %.0f |\n' "$(basename "$bin")" "$round" "$rebuild" "$verify" "$calls" "$p99" "$((idle / 1024))"
  done
done
