#!/usr/bin/env bash
# What one command costs PostgreSQL: runs `carelog bench` (its arguments after --) against a running
# server, and divides by the commands it made the deltas of the server's counters over the run:
# transactions, rows inserted/updated (pg_stat_database, of DB only), WAL fsyncs and bytes
# (pg_stat_wal: the whole cluster, so run it on a quiet one), the CPU time (utime+stime from /proc)
# of the PostgreSQL backends connected to DB when it starts, and of the `carelog serve` process
# named by SERVE_PID if set.
# Usage: DB=carelog_db [SERVE_PID=…] scripts/bench-peers/pg-cost.sh target/release/carelog bench --server … --mix append …
set -euo pipefail
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
db="${DB:?DB: the database the server writes to}"
tick=$(getconf CLK_TCK)

cpu_of() { # pids… → CPU seconds (utime + stime) summed
  local total=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    total=$(awk -v t="$total" '{ sub(/^.*\) /, ""); print t + $12 + $13 }' "/proc/$pid/stat")
  done
  echo "$total"
}
backends=$(psql -Atq -d "$db" -c "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
postgres_cpu() { cpu_of $backends; }
counters() {
  psql -Atq -d "$db" -c "SELECT xact_commit + xact_rollback, tup_inserted, tup_updated FROM pg_stat_database WHERE datname = current_database()" \
    -c "SELECT wal_sync, wal_bytes FROM pg_stat_wal" | tr '|\n' '  '
}

read -r x0 i0 u0 s0 b0 <<<"$(counters)"
pg0=$(postgres_cpu); sv0=$(cpu_of ${SERVE_PID:-})
summary=$("$@")
pg1=$(postgres_cpu); sv1=$(cpu_of ${SERVE_PID:-})
read -r x1 i1 u1 s1 b1 <<<"$(counters)"
echo "$summary"
commands=$(node -e 'console.log(JSON.parse(process.argv[1]).commands)' "$summary")
awk -v n="$commands" -v tick="$tick" -v x=$((x1 - x0)) -v i=$((i1 - i0)) -v u=$((u1 - u0)) -v s=$((s1 - s0)) \
  -v b=$((b1 - b0)) -v pg=$((pg1 - pg0)) -v sv=$((sv1 - sv0)) 'BEGIN {
  printf "per command (%d commands): %.2f transactions, %.2f WAL fsyncs, %.2f rows inserted, %.2f updated, %.0f WAL bytes, PostgreSQL CPU %.3f ms, carelog serve CPU %.3f ms\n",
    n, x / n, s / n, i / n, u / n, b / n, pg * 1000 / tick / n, sv * 1000 / tick / n }'
