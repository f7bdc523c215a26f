#!/usr/bin/env bash
# A replicated PostgreSQL on loopback, as production runs it (deploy/README.md, "PostgreSQL high
# availability"): etcd, three PostgreSQL 15 nodes managed by Patroni with synchronous replication
# (an acknowledged commit is on two nodes), and HAProxy sending writes to the leader and reads to
# the standbys, both through Patroni's REST health checks. Debian's packages, installed if missing.
#
#   scripts/ha-cluster.sh up                 start (idempotent); prints the URLs when writable
#   scripts/ha-cluster.sh down               stop everything and delete the data
#   scripts/ha-cluster.sh status             members, roles, lag
#   scripts/ha-cluster.sh leader             the leader's node name (pg1..pg3)
#   scripts/ha-cluster.sh kill-postgres      SIGKILL the leader's postmaster (Patroni recovers it or fails over)
#   scripts/ha-cluster.sh stop-leader        stop the leader's Patroni (it stops PostgreSQL and hands over)
#   scripts/ha-cluster.sh start-node NAME    start one node's Patroni again (it rejoins as a standby)
#   scripts/ha-cluster.sh wait [SECONDS]     until writable with every node running and streaming
#   scripts/ha-cluster.sh writable [SECONDS] until a leader accepts writes with a synchronous standby
#
# Writes: postgres://postgres@127.0.0.1:$CARELOG_HA_WRITE_PORT/postgres (default 15432).
# Reads:  postgres://postgres@127.0.0.1:$CARELOG_HA_READ_PORT/postgres (default 15433, standbys).
# Everything lives under $CARELOG_HA_DIR (default /tmp/carelog-ha) and runs as the postgres user.
set -euo pipefail

DIR="${CARELOG_HA_DIR:-/tmp/carelog-ha}"
WRITE_PORT="${CARELOG_HA_WRITE_PORT:-15432}"
READ_PORT="${CARELOG_HA_READ_PORT:-15433}"
ETCD_PORT=12379
ETCD_PEER_PORT=12380
NODES=(pg1 pg2 pg3)
PG_BIN=/usr/lib/postgresql/15/bin
RUN_AS=postgres

pg_port() { echo $((15440 + ${1#pg})); }     # pg1 -> 15441
rest_port() { echo $((18007 + ${1#pg})); }   # pg1 -> 18008

as_postgres() {
  if [ "$(id -un)" = "$RUN_AS" ]; then "$@"; else runuser -u "$RUN_AS" -- "$@"; fi
}

install_missing() {
  local missing=()
  command -v patroni >/dev/null 2>&1 || missing+=(patroni)
  command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
  command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
  [ -x "$PG_BIN/postgres" ] || missing+=(postgresql-15)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages ${missing[*]}: run as root once, or apt-get install them" >&2
    exit 1
  fi
  echo "installing ${missing[*]} (Debian packages)…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Starts a long-running program in the background as the postgres user, detached, its pid in $1.
start_bg() {
  local pidfile=$1 log=$2
  shift 2
  as_postgres env LOG="$log" PIDFILE="$pidfile" bash -c 'setsid "$@" >>"$LOG" 2>&1 < /dev/null & echo $! > "$PIDFILE"' _ "$@"
}

write_patroni_config() {
  local node=$1 port rest
  port=$(pg_port "$node")
  rest=$(rest_port "$node")
  cat >"$DIR/$node.yml" <<EOF
scope: carelog-ha
name: $node
log:
  level: WARNING
restapi:
  listen: 127.0.0.1:$rest
  connect_address: 127.0.0.1:$rest
etcd3:
  hosts: 127.0.0.1:$ETCD_PORT
bootstrap:
  dcs:
    # The smallest leader lease Patroni accepts; a stopped or crashed leader is replaced sooner.
    ttl: 20
    loop_wait: 2
    retry_timeout: 5
    maximum_lag_on_failover: 1048576
    # An acknowledged commit is on the primary and one synchronous standby; Patroni promotes only
    # a synchronous standby, so a failover never loses an acknowledged write.
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        max_connections: 300
        synchronous_commit: "on"
        # Standby queries are not cancelled by replay conflicts as quickly (records replicas read here).
        hot_standby_feedback: "on"
  initdb:
    - encoding: UTF8
    - data-checksums
  pg_hba:
    - local all all trust
    - host replication all 127.0.0.1/32 trust
    - host all all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:$port
  connect_address: 127.0.0.1:$port
  data_dir: $DIR/$node
  bin_dir: $PG_BIN
  pgpass: $DIR/$node.pgpass
  authentication:
    replication:
      username: postgres
    superuser:
      username: postgres
  parameters:
    unix_socket_directories: $DIR
    logging_collector: "off"
tags:
  nofailover: false
  noloadbalance: false
EOF
}

write_haproxy_config() {
  local primary_servers="" replica_servers="" node
  for node in "${NODES[@]}"; do
    primary_servers+="  server $node 127.0.0.1:$(pg_port "$node") check port $(rest_port "$node")"$'\n'
    replica_servers+="  server $node 127.0.0.1:$(pg_port "$node") check port $(rest_port "$node")"$'\n'
  done
  cat >"$DIR/haproxy.cfg" <<EOF
global
  maxconn 2000
  pidfile $DIR/haproxy.pid
defaults
  mode tcp
  timeout connect 2s
  timeout client 30m
  timeout server 30m
  timeout check 1s
  # Checks twice a second; a server is out after two failures and back after two successes. Sessions
  # to a server marked down are cut, so no client keeps talking to a demoted primary.
  default-server inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions
listen primary
  bind 127.0.0.1:$WRITE_PORT
  option httpchk GET /primary
  http-check expect status 200
$primary_servers
listen replicas
  bind 127.0.0.1:$READ_PORT
  # One standby per client host while it is up: a records replica's connections then see one
  # replay position (it also checks, see services/records/src/standby.rs).
  balance source
  option httpchk GET /replica
  http-check expect status 200
$replica_servers
EOF
}

start_etcd() {
  alive "$DIR/etcd.pid" && return 0
  start_bg "$DIR/etcd.pid" "$DIR/etcd.log" etcd --name carelog-ha --data-dir "$DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "carelog-ha=http://127.0.0.1:$ETCD_PEER_PORT"
  for _ in $(seq 1 60); do
    curl -sf "http://127.0.0.1:$ETCD_PORT/health" >/dev/null && return 0
    sleep 0.5
  done
  echo "etcd did not become healthy; see $DIR/etcd.log" >&2
  exit 1
}

start_node() {
  local node=$1
  alive "$DIR/$node.pid" && return 0
  [ -f "$DIR/$node.yml" ] || write_patroni_config "$node"
  start_bg "$DIR/$node.pid" "$DIR/$node.log" patroni "$DIR/$node.yml"
}

start_haproxy() {
  alive "$DIR/haproxy.pid" && return 0
  write_haproxy_config
  chown "$RUN_AS" "$DIR/haproxy.cfg"
  as_postgres haproxy -D -f "$DIR/haproxy.cfg"
}

# The node Patroni reports as leader, from any member's REST API.
leader() {
  local node
  for node in "${NODES[@]}"; do
    local body
    body=$(curl -sf "http://127.0.0.1:$(rest_port "$node")/cluster" 2>/dev/null) || continue
    python3 -c 'import json,sys; m=[x["name"] for x in json.load(sys.stdin)["members"] if x["role"] in ("leader","master")]; print(m[0] if m else "")' <<<"$body"
    return 0
  done
}

wait_writable() {
  local deadline=$((SECONDS + ${1:-120}))
  while [ $SECONDS -lt $deadline ]; do
    if as_postgres "$PG_BIN/psql" -qtAX -h 127.0.0.1 -p "$WRITE_PORT" -U postgres -d postgres \
      -c "SELECT NOT pg_is_in_recovery() AND (SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync','quorum')) > 0" \
      2>/dev/null | grep -q t; then
      return 0
    fi
    sleep 1
  done
  return 1
}

# Writable, a synchronous standby, and every node streaming: the state a failover test starts from.
wait_complete() {
  local deadline=$((SECONDS + $1))
  while [ $SECONDS -lt $deadline ]; do
    local streaming
    streaming=$(as_postgres "$PG_BIN/psql" -qtAX -h 127.0.0.1 -p "$WRITE_PORT" -U postgres -d postgres \
      -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" 2>/dev/null || echo 0)
    if [ "$streaming" = "$((${#NODES[@]} - 1))" ] && wait_writable 1; then
      return 0
    fi
    sleep 0.5
  done
  echo "the cluster did not get back to a leader and ${#NODES[@]} streaming nodes within $1 s" >&2
  status >&2 || true
  return 1
}

up() {
  install_missing
  mkdir -p "$DIR"
  chown "$RUN_AS" "$DIR"
  chmod 700 "$DIR"
  echo "etcd on 127.0.0.1:$ETCD_PORT…"
  start_etcd
  for node in "${NODES[@]}"; do
    echo "Patroni $node (PostgreSQL on 127.0.0.1:$(pg_port "$node"), REST on :$(rest_port "$node"))…"
    start_node "$node"
  done
  echo "HAProxy: writes on 127.0.0.1:$WRITE_PORT, standby reads on 127.0.0.1:$READ_PORT…"
  start_haproxy
  echo "waiting for a leader with a synchronous standby (first start runs initdb and base backups)…"
  if ! wait_writable 180; then
    echo "the cluster did not become writable within 180 s; logs in $DIR/*.log" >&2
    status >&2 || true
    exit 1
  fi
  echo "up: leader $(leader)"
  echo "write URL: postgres://postgres@127.0.0.1:$WRITE_PORT/postgres"
  echo "read URL:  postgres://postgres@127.0.0.1:$READ_PORT/postgres"
}

stop_pid() {
  local pidfile=$1 signal=${2:-TERM}
  alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  local pid
  pid=$(cat "$pidfile")
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    sleep 0.5
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

down() {
  [ -d "$DIR" ] || { echo "no cluster under $DIR"; return 0; }
  stop_pid "$DIR/haproxy.pid"
  for node in "${NODES[@]}"; do stop_pid "$DIR/$node.pid"; done
  # A postmaster whose Patroni was killed outlives it: stop those too.
  for node in "${NODES[@]}"; do
    if [ -f "$DIR/$node/postmaster.pid" ]; then
      kill -KILL "$(head -n 1 "$DIR/$node/postmaster.pid")" 2>/dev/null || true
    fi
  done
  stop_pid "$DIR/etcd.pid"
  rm -rf "$DIR"
  echo "down: removed $DIR"
}

status() {
  local node
  for node in "${NODES[@]}"; do
    local state="stopped"
    alive "$DIR/$node.pid" && state="running"
    local role
    role=$(curl -sf "http://127.0.0.1:$(rest_port "$node")/patroni" 2>/dev/null |
      python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("role","?"), d.get("state","?"), "timeline", d.get("timeline","?"))' 2>/dev/null ||
      echo "no answer")
    echo "$node: patroni $state; postgres 127.0.0.1:$(pg_port "$node"): $role"
  done
  alive "$DIR/etcd.pid" && echo "etcd: running" || echo "etcd: stopped"
  alive "$DIR/haproxy.pid" && echo "haproxy: running (writes :$WRITE_PORT, reads :$READ_PORT)" || echo "haproxy: stopped"
  local current
  current=$(leader || true)
  echo "leader: ${current:-none}"
}

kill_postgres() {
  local node
  node=$(leader)
  [ -n "$node" ] || { echo "no leader to kill" >&2; exit 1; }
  local pid
  pid=$(head -n 1 "$DIR/$node/postmaster.pid")
  kill -KILL "$pid"
  echo "$node"
}

stop_leader() {
  local node
  node=$(leader)
  [ -n "$node" ] || { echo "no leader to stop" >&2; exit 1; }
  stop_pid "$DIR/$node.pid"
  echo "$node"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  leader) leader ;;
  kill-postgres) kill_postgres ;;
  stop-leader) stop_leader ;;
  start-node) start_node "${2:?start-node needs a node name (pg1, pg2, pg3)}" ;;
  wait) wait_complete "${2:-120}" ;;
  writable) wait_writable "${2:-120}" ;;
  *)
    sed -n '2,19p' "$0" >&2
    exit 2
    ;;
esac
