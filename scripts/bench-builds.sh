#!/usr/bin/env bash
# Registrations (`carelog bench --mix append`) of several builds, alternated build by build on
# fresh stores, so a change is judged against the build it replaces in the same run.
# Usage: scripts/bench-builds.sh BIN...   (CALLERS="1 8" ROUNDS=2 SECONDS_PER_CELL=4 BACKENDS="pg sqlite")
# PostgreSQL from PGHOST/PGPORT/PGUSER (default 127.0.0.1:5432, postgres): a throwaway database per
# cell, dropped after it. Loopback only; files under target/bench-builds/run-<pid>, removed on exit.
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 BIN..." >&2; exit 2; }
callers=(${CALLERS:-1 8}) rounds="${ROUNDS:-2}" seconds="${SECONDS_PER_CELL:-4}" backends=(${BACKENDS:-pg sqlite})
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
export CARELOG_AUTH_SECRET; CARELOG_AUTH_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export CARELOG_MASTER_KEY; CARELOG_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
run="target/bench-builds/run-$$"; mkdir -p "$run"
serve_pid=""
trap '[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null; rm -rf "$run"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
echo "| build | backend | callers | round | appends/s | p50 ms |"
echo "|---|---|---|---|---|---|"
for round in $(seq 1 "$rounds"); do
  for n in "${callers[@]}"; do
    for backend in "${backends[@]}"; do
      for bin in "$@"; do
        db="bench_builds_$$_$RANDOM"
        if [ "$backend" = pg ]; then createdb "$db"; store="postgres://$PGUSER@$PGHOST:$PGPORT/$db"; else store="sqlite:$run/$db.db"; fi
        port=$(free_port)
        env -u DATABASE_URL "$bin" serve --store "$store" --listen "127.0.0.1:$port" --allow-plaintext \
          --dev-ephemeral-signing-key >"$run/serve.log" 2>&1 &
        serve_pid=$!
        for _ in $(seq 1 150); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
        summary=$(timeout $((seconds + 120)) "$bin" bench --server "http://127.0.0.1:$port" --mix append \
          --concurrency "$n" --duration "$seconds" --clients 1 2>/dev/null) || summary='{}'
        kill "$serve_pid"; wait "$serve_pid" 2>/dev/null; serve_pid=""
        [ "$backend" = pg ] && dropdb "$db"
        echo "$summary" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s||"{}");
          const [b,be,n,r]=process.argv.slice(1);console.log(`| ${b} | ${be} | ${n} | ${r} | ${(j.events_per_sec??NaN).toFixed(0)} | ${j.latency_ms?.p50 ?? "?"} |`)})' \
          "$(basename "$bin")" "$backend" "$n" "$round"
      done
    done
  done
done
