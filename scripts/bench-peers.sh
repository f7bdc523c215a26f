#!/usr/bin/env bash
# Single-event appends per second, side by side on the local PostgreSQL: raw INSERTs (pgbench),
# Message DB's write_message, Emmett's appendToStream, and Carelog over gRPC on PostgreSQL and on
# SQLite, alternately at each concurrency, for ROUNDS rounds; beside them the gRPC floor (health
# checks/s on the same server, no handler or store). Prints the table of BENCHMARKS.md: appends
# (or calls) per second and, in brackets, the ratio to the raw INSERTs of the same round.
#
# Usage: scripts/bench-peers.sh            (CALLERS="1 8 64" ROUNDS=2 SECONDS_PER_CELL=5; CARELOG_BIN=path
#        to load a binary already built instead of `cargo build --release -p carelog`; MAX_STEAL=2 and
#        CELL_TRIES=4: a cell the hypervisor took more CPU than that from is run again)
#
# Loopback only: PostgreSQL on PGHOST:PGPORT (default 127.0.0.1:5432, trust auth as PGUSER=postgres),
# the Carelog servers on 127.0.0.1. Everything it installs goes under target/bench-peers (npm
# packages) and into throwaway databases named bench_peers_*_<pid>, dropped on exit, with the
# servers it started. Needs node/npm, psql, createdb/dropdb and pgbench.
set -euo pipefail
cd "$(dirname "$0")/.."

export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
callers_list="${CALLERS:-1 8 64}"
rounds="${ROUNDS:-2}"
seconds="${SECONDS_PER_CELL:-5}"
out="target/bench-peers"
node_dir="$out/node"
run="$out/run-$$"
pg="postgres://$PGUSER@$PGHOST:$PGPORT"
db_raw="bench_peers_raw_$$" db_msgdb="bench_peers_msgdb_$$" db_emmett="bench_peers_emmett_$$"
db_carelog="bench_peers_carelog_$$"
pids=()

say() { echo "bench-peers: $*" >&2; }

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for db in "$db_raw" "$db_msgdb" "$db_emmett" "$db_carelog"; do
    dropdb --if-exists --force "$db" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$run" "$node_dir"

# --- peers: npm packages (pinned) under target/, Message DB through its own install script ---------
say "installing Emmett and Message DB from npm into $node_dir …"
cp scripts/bench-peers/driver.mjs scripts/bench-peers/package.json "$node_dir/"
(cd "$node_dir" && timeout 300 npm install --no-audit --no-fund --loglevel=error >/dev/null)
msgdb_install="$node_dir/node_modules/@eventide/message-db/database/install.sh"

say "creating the throwaway databases …"
createdb "$db_raw"
psql -qd "$db_raw" -c "CREATE TABLE raw_events (id bigserial PRIMARY KEY, event_id uuid NOT NULL, data json NOT NULL)"
DATABASE_NAME="$db_msgdb" PGOPTIONS='-c client_min_messages=warning' timeout 120 bash "$msgdb_install" \
  >"$run/message-db-install.log" 2>&1 || { cat "$run/message-db-install.log" >&2; exit 1; }
createdb "$db_emmett"
createdb "$db_carelog"

# --- raw INSERTs: pgbench, the same ~500-byte JSON document as the peers' events -----------------
payload=$(node -e 'process.stdout.write(JSON.stringify({clientId:"00000000-0000-0000-0000-000000000000",
  givenName:"Alexandra",familyName:"Montgomery-Fitzgerald",birthDate:"1984-07-19",sex:"female",
  address:{line:"1427 Evergreen Terrace, Apartment 12B",city:"Springfield",postcode:"SP1 4QX"},
  phone:"+44 20 7946 0958",referral:{source:"general-practitioner",reference:"REF-00000001"},
  note:"Self-referred after a six-week waiting list; prefers morning appointments; no known allergies.",
  consent:{treatment:true,research:false,recordedBy:"reception"}}))')
# In a function: pgbench would take the payload's `:name`s for its own variables.
psql -qd "$db_raw" -c "CREATE FUNCTION raw_payload() RETURNS json IMMUTABLE LANGUAGE sql AS \$\$ SELECT '$payload'::json \$\$"
echo "INSERT INTO raw_events (event_id, data) VALUES (gen_random_uuid(), raw_payload());" >"$run/raw.sql"

raw_inserts() { # callers → appends/s
  local jobs=$(( $1 < 2 ? 1 : 2 ))
  timeout $((seconds + 30)) pgbench -n -M prepared -c "$1" -j "$jobs" -T "$seconds" -f "$run/raw.sql" "$db_raw" \
    2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}

peer() { # message-db|emmett url callers → appends/s
  timeout $((seconds + 60)) node "$node_dir/driver.mjs" "$1" "$2" "$3" "$seconds" 2>>"$run/peers.log" \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).appends_per_sec))'
}

# --- Carelog: a release build of `carelog serve`, one server per backend, loaded by `carelog bench` ---
carelog="${CARELOG_BIN:-target/release/carelog}"
if [ -z "${CARELOG_BIN:-}" ]; then
  say "building carelog (release) …"
  cargo build --release -q -p carelog
fi
export CARELOG_AUTH_SECRET; CARELOG_AUTH_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export CARELOG_MASTER_KEY; CARELOG_MASTER_KEY=$(head -c 32 /dev/urandom | base64)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

serve() { # name store-url → $address, once it answers
  local port; port=$(free_port)
  address="http://127.0.0.1:$port"
  env -u DATABASE_URL "$carelog" serve --store "$2" --listen "127.0.0.1:$port" --allow-plaintext \
    --dev-ephemeral-signing-key >"$run/serve-$1.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return; fi
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.2
  done
  cat "$run/serve-$1.log" >&2
  say "the $1 server did not start"
  exit 1
}

carelog_calls() { # server callers name mix → calls/s (the bench's JSON summary kept in $run)
  timeout $((seconds + 120)) "$carelog" bench --server "$1" --mix "$4" --concurrency "$2" --duration "$seconds" \
    --clients 1 2>>"$run/bench.log" | tee "$run/$3.try.json" \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).commands_per_sec))'
}

say "starting carelog serve on PostgreSQL and on SQLite …"
serve postgres "$pg/$db_carelog"; server_pg=$address
serve sqlite "sqlite:$run/carelog.db"; server_sqlite=$address

# --- CPU steal: on a virtual machine the host may take the vCPUs away mid-cell -------------------
# Each cell reads /proc/stat around its run; a cell during which the hypervisor stole more than
# MAX_STEAL % of the CPU time is run again (up to CELL_TRIES times, keeping the least disturbed try):
# on a shared host one caller's appends/s moved 2-3x with steal alone, more than any change measured.
max_steal="${MAX_STEAL:-2}"
cell_tries="${CELL_TRIES:-4}"
cpu_times() { awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $9; exit}' /proc/stat; }
steal_percent() { # "total steal" before, "total steal" after → whole percent
  awk -v a="$1" -v b="$2" 'BEGIN{split(a,x," "); split(b,y," "); t=y[1]-x[1]; printf "%d", (t > 0 ? 100*(y[2]-x[2])/t + 0.5 : 0)}'
}

# --- the runs: every system at one concurrency before the next, round after round ------------------
# grpc-floor: health checks over the same connection and server layers, with no handler or store
# behind them: what any append over gRPC pays before its own work (BENCHMARKS.md reads it).
columns=(raw message-db emmett carelog-pg carelog-sqlite grpc-floor)
declare -A result
cells=$(( rounds * $(wc -w <<<"$callers_list") * ${#columns[@]} ))
done_cells=0
for round in $(seq 1 "$rounds"); do
  for n in $callers_list; do
    for column in "${columns[@]}"; do
      done_cells=$((done_cells + 1))
      say "[$done_cells/$cells] round $round, $n callers: $column …"
      best= best_steal=101
      for try in $(seq 1 "$cell_tries"); do
        before=$(cpu_times)
        case $column in
          raw) value=$(raw_inserts "$n") || value= ;;
          message-db) value=$(peer message-db "postgres://message_store@$PGHOST:$PGPORT/$db_msgdb" "$n") || value= ;;
          emmett) value=$(peer emmett "$pg/$db_emmett" "$n") || value= ;;
          carelog-pg) value=$(carelog_calls "$server_pg" "$n" "carelog-pg-r$round-c$n" append) || value= ;;
          carelog-sqlite) value=$(carelog_calls "$server_sqlite" "$n" "carelog-sqlite-r$round-c$n" append) || value= ;;
          grpc-floor) value=$(carelog_calls "$server_sqlite" "$n" "floor-r$round-c$n" health) || value= ;;
        esac
        steal=$(steal_percent "$before" "$(cpu_times)")
        [ -z "$value" ] && break
        say "    $(printf '%.0f' "$value")/s (CPU steal $steal %)"
        if [ "$steal" -lt "$best_steal" ]; then
          best=$value best_steal=$steal
          for f in "$run"/*.try.json; do [ -e "$f" ] && mv "$f" "${f%.try.json}.json"; done
        fi
        rm -f "$run"/*.try.json
        [ "$steal" -le "$max_steal" ] && break
        [ "$try" -lt "$cell_tries" ] && say "    the host took more than $max_steal % of the CPU: again"
      done
      value=$best
      result[$round,$n,$column]=${value:-0}
      [ -n "$value" ] && echo "$round,$n,$column $best_steal" >>"$run/steal.txt"
      if [ -z "$value" ]; then say "    failed (counted as 0; see $run)"; fi
    done
  done
done

# --- the table: per cell, the range over the rounds and the range of the ratios to raw -------------
for key in "${!result[@]}"; do echo "$key ${result[$key]}"; done >"$run/results.txt"
node scripts/bench-peers/table.mjs "$rounds" "$callers_list" "${columns[*]}" <"$run/results.txt"
say "CPU steal of the cells kept: at most $(sort -k2 -n "$run/steal.txt" | tail -1 | cut -d' ' -f2) % (per cell: $run/steal.txt)"
say "Carelog's latencies (p50/p99 ms): $(cd "$run" && for f in carelog-*.json floor-*.json; do
  node -e 'const s=JSON.parse(require("fs").readFileSync(process.argv[1]));process.stdout.write(`${process.argv[1].slice(0,-5)} ${s.latency_ms.p50}/${s.latency_ms.p99}; `)' "$f"; done)"
