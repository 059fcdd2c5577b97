#!/usr/bin/env bash
#
# failover: farmreg under pg_auto_failover.  A monitor and two Postgres nodes
# (pg_autoctl, on loopback, synchronous replication as pg_auto_failover sets
# it up for two nodes), farmreg on the primary, four clients registering with
# idempotency keys (three with single calls, one with batches) through a libpq
# multi-host connection string, the identity sync worker against the fake
# provider, and a second consumer auditing the outbox.  Mid-run:
#
#   1. the primary is killed hard (SIGKILL of its pg_autoctl keeper and its
#      postmaster; its backends die with the postmaster), pg_auto_failover
#      promotes the secondary, every client retries what got no answer, with
#      the same key, on the new primary;
#   2. the old primary's keeper is started again and it rejoins as secondary;
#   3. a graceful failover back (pg_autoctl perform failover).
#
# Then test/helpers/failover_check.py checks, from the tables of the final
# primary, the clients' journals, the consumers and the provider: nothing
# acknowledged lost, nothing registered twice, no orphan row, no event
# skipped, every account created once; and prints the figures as `# ...`.
#
#   FAILOVER_KEEP=1     keep the scratch directory (logs, journals)
#
# The monitor's timings are lowered so that a failover takes seconds, not a
# minute (health checks every second, a node unhealthy after 3 s, 3 s for
# the old primary to drain); production keeps pg_auto_failover's defaults.
#
# deps: postgresql-15-auto-failover python3-psycopg

set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$FARMREG_ROOT/scripts/lib.sh"
pg_resolve

PY=/usr/bin/python3
HELPERS=$FARMREG_ROOT/test/helpers
SYNC=$FARMREG_ROOT/examples/identity-sync
DB=farmreg_failover
CLIENTS=4                   # clients 0..2 single calls, client 3 batches
WAIT_STATE=90               # seconds any pg_auto_failover transition may take

if ! command -v pg_autoctl >/dev/null 2>&1; then
    printf 'not ok - pg_autoctl not found (apt-get install postgresql-15-auto-failover)\n'
    exit 0
fi
if ! "$PY" -c 'import psycopg' 2>/dev/null; then
    printf 'not ok - %s cannot import psycopg (apt-get install python3-psycopg)\n' "$PY"
    exit 0
fi

W=$(mktemp -d "${FARMREG_CLUSTER_DIR:-/tmp}/failover.XXXXXX")
chmod 0755 "$W"
if is_root; then
    chown postgres: "$W"
    SUPER=postgres
else
    SUPER=$(id -un)
fi
STOP=$W/stop                # the clients stop registering when it exists
TIMELINE=$W/timeline        # what the suite did, when (for the checker)
PIDS=()                     # the python processes we started

# ---------------------------------------------------------------------------
# Clean-up: every process we started, by its id, then the scratch directory.
# ---------------------------------------------------------------------------

# children_of PID: the pids whose parent is PID.
children_of() {
    local f st
    for f in /proc/[0-9]*/stat; do
        { read -r -a st <"$f"; } 2>/dev/null || continue
        [[ ${st[3]} == "$1" ]] && printf '%s\n' "${st[0]}"
    done
    return 0
}

# postmaster_of NODE: the pid in its postmaster.pid, if that process is still
# the postmaster of that data directory.
postmaster_of() {
    local pid
    [[ -f $W/$1/postmaster.pid ]] || return 1
    pid=$(head -n 1 "$W/$1/postmaster.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    grep -q -a -F -- "$W/$1" "/proc/$pid/cmdline" 2>/dev/null || return 1
    printf '%s\n' "$pid"
}

# stop_node NODE: TERM its pg_autoctl (which stops its Postgres), bounded;
# then KILL what is left of it.
stop_node() {
    local node=$1 g pm _
    [[ -f $W/$node.pgid ]] || return 0
    g=$(<"$W/$node.pgid")
    # the group's leader is our `bash -c` (its command line names our pgid file)
    if grep -q -a -F -- "$W/$node.pgid" "/proc/$g/cmdline" 2>/dev/null; then
        kill -TERM -- "-$g" 2>/dev/null || true
        for _ in $(seq 75); do
            kill -0 -- "-$g" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL -- "-$g" 2>/dev/null || true
    fi
    if pm=$(postmaster_of "$node"); then
        # shellcheck disable=SC2046  # a list of pids
        kill -KILL "$pm" $(children_of "$pm") 2>/dev/null || true
    fi
    rm -f -- "$W/$node.pgid"
}

# shellcheck disable=SC2317  # called from the exit hook
cleanup() {
    local pid node
    local -a ours=()
    # only those still running one of our scripts (a pid may have been reused)
    for pid in "${PIDS[@]}"; do
        grep -q -a -F -- "$FARMREG_ROOT/" "/proc/$pid/cmdline" 2>/dev/null && ours+=("$pid")
    done
    for pid in "${ours[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${ours[@]}"; do
        for _ in $(seq 25); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    # the monitor first: without it, stopping a primary starts no failover
    for node in monitor node1 node2; do
        stop_node "$node"
    done
    if [[ -n ${FARMREG_LOG_DIR:-} ]]; then
        mkdir -p "$FARMREG_LOG_DIR/failover"
        cp -- "$W"/*.log "$W"/*.jsonl "$W"/timeline "$FARMREG_LOG_DIR/failover/" 2>/dev/null || true
    fi
    if [[ ${FAILOVER_KEEP:-0} == 1 ]]; then
        log "FAILOVER_KEEP=1: scratch files kept in $W"
    else
        rm -rf -- "$W"
    fi
}
on_exit cleanup

# ---------------------------------------------------------------------------
# pg_auto_failover
# ---------------------------------------------------------------------------

for d in home xdg/config xdg/data xdg/run sock; do
    as_pg mkdir -p "$W/$d"
done
as_pg chmod 0700 "$W/xdg/run"
# pg_autoctl keeps its configuration, state and pid files under these; the
# test cluster's PG* variables must not lead it there
AUTOCTL_ENV=(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGOPTIONS "HOME=$W/home" "XDG_CONFIG_HOME=$W/xdg/config" "XDG_DATA_HOME=$W/xdg/data"
             "XDG_RUNTIME_DIR=$W/xdg/run" "PATH=$PGBIN:/usr/bin:/bin")

autoctl() {
    # bounded: pg_autoctl retries some connections for up to 15 minutes
    (cd "$W" && as_pg timeout -k 10 180 "${AUTOCTL_ENV[@]}" pg_autoctl "$@")
}

# keeper_start NODE: `pg_autoctl run` in a process group of its own (its
# id in NODE.pgid), so that it and its postmaster can be killed at once.
keeper_start() {
    setsid bash -c 'source "$1"; read -r -a st </proc/$$/stat; echo "${st[4]}" >"$2"; shift 2; as_pg "$@"' \
        _ "$FARMREG_ROOT/scripts/lib.sh" "$W/$1.pgid" \
        "${AUTOCTL_ENV[@]}" pg_autoctl run --pgdata "$W/$1" >>"$W/$1.log" 2>&1 </dev/null &
    # killed by its process group, never waited for
    disown $!
    local _
    for _ in $(seq 50); do
        [[ -s $W/$1.pgid ]] && return 0
        sleep 0.1
    done
    die "pg_autoctl run did not start for $1"
}

# keeper_kill NODE: the hard way.  Stop the node's processes first so that
# none can fork, note the postmaster's children, then SIGKILL them all.
keeper_kill() {
    local g pm children
    g=$(<"$W/$1.pgid")
    pm=$(postmaster_of "$1") || die "no postmaster for $1"
    kill -STOP -- "-$g"
    kill -STOP "$pm"
    children=$(children_of "$pm")
    kill -KILL -- "-$g"
    # shellcheck disable=SC2086  # a list of pids
    kill -KILL "$pm" $children 2>/dev/null || true
    rm -f -- "$W/$1.pgid"
}

# initdb_node NODE: a data directory with small settings that win over
# pg_autoctl's own tuning (postgresql.auto.conf is read last): pg_autoctl
# sizes shared_buffers from the machine's memory.  No autovacuum: its WAL
# would fill the socket buffers while node2's WAL receiver is held (below),
# ahead of the commits that are meant to get through.
initdb_node() {
    (cd "$W" && as_pg "$PGBIN/initdb" --pgdata="$W/$1" --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 --no-instructions >"$W/$1-initdb.log" 2>&1) \
        || { cat "$W/$1-initdb.log" >&2; die "initdb $1 failed"; }
    as_pg tee -a "$W/$1/postgresql.auto.conf" >/dev/null <<EOF
shared_buffers = '32MB'
max_connections = 40
unix_socket_directories = '$W/sock'
fsync = off
logging_collector = off
autovacuum = off
EOF
}

SQL_TIMEOUT=(env PGCONNECT_TIMEOUT=3 PGOPTIONS=-cstatement_timeout=10000)

# mon_sql SQL: on the monitor.
mon_sql() {
    "${SQL_TIMEOUT[@]}" psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PM" -U "$SUPER" \
        -d pg_auto_failover -c "$1"
}

# node_sql PORT DB SQL...
node_sql() {
    local port=$1 db=$2
    shift 2
    local -a cmds=()
    local c
    for c in "$@"; do cmds+=(-c "$c"); done
    "${SQL_TIMEOUT[@]}" psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$SUPER" \
        -d "$db" "${cmds[@]}"
}

# states: "node1:REPORTED:GOAL node2:REPORTED:GOAL" from the monitor.
states() {
    mon_sql "SELECT string_agg(nodename || ':' || reportedstate || ':' || goalstate, ' '
                               ORDER BY nodeid) FROM pgautofailover.node" 2>/dev/null || true
}

# wait_states WANT TIMEOUT: until states() is WANT; false at the timeout.
wait_states() {
    local want=$1 deadline=$((SECONDS + $2)) now
    while ((SECONDS < deadline)); do
        now=$(states)
        [[ $now == "$want" ]] && return 0
        sleep 0.2
    done
    log "waited ${2}s for '$want'; the monitor says '$now'"
    return 1
}

mark() {
    printf '%s %s %s\n' "$1" "$(date +%s.%N)" "${2:-}" >>"$TIMELINE"
}

# sync_replication PORT: "names|sync_state of the standby|synchronous_commit"
sync_replication() {
    node_sql "$1" postgres "SELECT current_setting('synchronous_standby_names') || '|' ||
                                   coalesce((SELECT string_agg(sync_state, ',') FROM pg_stat_replication), '') || '|' ||
                                   current_setting('synchronous_commit')"
}

t_start=$SECONDS
PM=$(free_port)
P1=$(free_port)
P2=$(free_port)
while [[ $P2 == "$P1" || $P2 == "$PM" ]]; do P2=$(free_port); done
while [[ $P1 == "$PM" ]]; do P1=$(free_port); done
MONITOR_URI="postgres://autoctl_node@127.0.0.1:$PM/pg_auto_failover?sslmode=disable"
COMMON=(--hostname 127.0.0.1 --auth trust --no-ssl --pgctl "$PGBIN/pg_ctl")

initdb_node monitor
autoctl create monitor --pgdata "$W/monitor" --pgport "$PM" "${COMMON[@]}" \
    >"$W/create-monitor.log" 2>&1 || { tail -n 20 "$W/create-monitor.log" >&2; die "pg_autoctl create monitor failed"; }
autoctl config set --pgdata "$W/monitor" postgresql.listen_addresses 127.0.0.1 >/dev/null
keeper_start monitor
up=0
for _ in $(seq 100); do
    if mon_sql "SELECT 1" >/dev/null 2>&1; then up=1; break; fi
    sleep 0.2
done
[[ $up == 1 ]] || die "the monitor did not come up (see $W/monitor.log)"
for s in "health_check_period = 1000" "health_check_timeout = 1000" "health_check_max_retries = 1" \
         "health_check_retry_delay = 500" "node_considered_unhealthy_timeout = 3000" \
         "primary_demote_timeout = 3000" "startup_grace_period = 1000"; do
    mon_sql "ALTER SYSTEM SET pgautofailover.$s" >/dev/null
done
mon_sql "SELECT pg_reload_conf()" >/dev/null

create_node() {
    autoctl create postgres --pgdata "$W/$1" --pgport "$2" --pghost 127.0.0.1 --listen 127.0.0.1 \
        --name "$1" --monitor "$MONITOR_URI" --dbname postgres "${COMMON[@]}" \
        >"$W/create-$1.log" 2>&1 || { tail -n 20 "$W/create-$1.log" >&2; die "pg_autoctl create postgres $1 failed"; }
}
initdb_node node1
create_node node1 "$P1"
keeper_start node1
wait_states "node1:single:single" "$WAIT_STATE" || die "node1 did not become single"
# node2 starts from a pg_basebackup of node1
create_node node2 "$P2"
keeper_start node2
if wait_states "node1:primary:primary node2:secondary:secondary" "$WAIT_STATE"; then
    printf 'ok - pg_auto_failover monitor and two nodes up in %ds: node1 primary, node2 secondary\n' \
        $((SECONDS - t_start))
else
    printf 'not ok - the pair did not come up (monitor: %s)\n' "$(states)"
    exit 0
fi

# pg_auto_failover's default for two nodes: node2 in synchronous_standby_names
# (ANY 1, a quorum of one), synchronous_commit on: a commit returns once
# node2 has flushed it.
rep=$(sync_replication "$P1")
if [[ $rep == "ANY 1 (pgautofailover_standby_2)|quorum|on" ]]; then
    printf 'ok - synchronous replication: synchronous_standby_names = %s, standby %s, synchronous_commit = %s\n' \
        "${rep%%|*}" "$(cut -d'|' -f2 <<<"$rep")" "${rep##*|}"
else
    printf 'not ok - synchronous replication on node1: %s\n' "$rep"
fi

# ---------------------------------------------------------------------------
# farmreg on the primary
# ---------------------------------------------------------------------------

node_sql "$P1" postgres "CREATE DATABASE $DB" >/dev/null
# Three roles with what the README grants each: the app (single calls), an
# importer (batches), the sync worker and the audit consumer; hashing costs
# lowered for them only (superuser-only settings).
node_sql "$P1" "$DB" \
    "SET client_min_messages = warning" \
    "CREATE EXTENSION farmreg" \
    "INSERT INTO farmreg.usda_farms (usda_uid, name)
     SELECT format('USDA-FO-%s-%s', c, n), format('Failover Farm %s-%s', c, n)
       FROM generate_series(0, $((CLIENTS - 1))) AS c, generate_series(1, 6000) AS n" \
    "INSERT INTO farmreg.usda_farms (usda_uid, name)
     SELECT 'USDA-FO-SHARED-' || n, 'Shared Farm ' || n FROM generate_series(0, 39) AS n" \
    "CREATE ROLE fo_app LOGIN" \
    "CREATE ROLE fo_importer LOGIN" \
    "CREATE ROLE fo_sync LOGIN" \
    "GRANT EXECUTE ON FUNCTION farmreg.register_farm_admin(text, text, text, text, text, text, text),
                              farmreg.verify_password(text, text) TO fo_app" \
    "GRANT EXECUTE ON FUNCTION farmreg.register_farm_admins(jsonb, text) TO fo_importer" \
    "GRANT EXECUTE ON FUNCTION farmreg.poll_events(text, integer), farmreg.ack_events(text, bigint),
                              farmreg.deregister_farm_admin(bigint, text) TO fo_sync" \
    "ALTER ROLE fo_app SET farmreg.password_opslimit = 1" \
    "ALTER ROLE fo_app SET farmreg.password_memlimit = '8kB'" \
    "ALTER ROLE fo_importer SET farmreg.password_opslimit = 1" \
    "ALTER ROLE fo_importer SET farmreg.password_memlimit = '8kB'" >/dev/null
# no autovacuum of the new farms later, in the middle of a failover
node_sql "$P1" "$DB" "VACUUM (FREEZE, ANALYZE) farmreg.usda_farms" >/dev/null
printf 'ok - farmreg %s installed on the primary, %s USDA farms loaded\n' \
    "$(node_sql "$P1" "$DB" "SELECT extversion FROM pg_extension WHERE extname = 'farmreg'")" \
    "$(node_sql "$P1" "$DB" "SELECT count(*) FROM farmreg.usda_farms")"

# What an application puts in its connection string: both nodes, the
# writable one wanted, a bounded connect.
dsn() {
    printf 'host=127.0.0.1,127.0.0.1 port=%s,%s dbname=%s user=%s target_session_attrs=read-write connect_timeout=2 application_name=%s' \
        "$P1" "$P2" "$DB" "$1" "$2"
}

# ---------------------------------------------------------------------------
# The provider, the sync worker, the audit consumer, the clients
# ---------------------------------------------------------------------------

"$PY" "$SYNC/fake_idp.py" --port 0 --port-file "$W/idp.port" --seed failover \
    --transient-rate 0 --reject-rate 0 --token fo-token --log-file "$W/idp.log" \
    </dev/null >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [[ -s $W/idp.port ]] && break; sleep 0.1; done
[[ -s $W/idp.port ]] || die "the fake identity provider did not start"
IDP_URL=http://127.0.0.1:$(<"$W/idp.port")

SYNC_DSN=$(dsn fo_sync fo-identity-sync) IDP_URL=$IDP_URL IDP_TOKEN=fo-token \
    "$PY" "$SYNC/identity_sync.py" --consumer identity-sync --poll-interval 2 \
    --backoff-initial 0.05 --backoff-max 1 --http-timeout 5 </dev/null >"$W/worker.log" 2>&1 &
PIDS+=($!)
WORKER=$!

"$PY" "$HELPERS/failover_client.py" audit --consumer audit --batch-size 7 --pause 0.1 \
    --dsn "$(dsn fo_sync fo-audit)" --journal "$W/audit.jsonl" --stop-file "$STOP" \
    </dev/null >"$W/audit.log" 2>&1 &
PIDS+=($!)
AUDIT=$!

CLIENT_PIDS=()
for c in $(seq 0 $((CLIENTS - 1))); do
    if ((c < CLIENTS - 1)); then
        args=(--mode single --pause 0.04 --max-requests 6000 --dsn "$(dsn fo_app "fo-client-$c")")
    else
        args=(--mode batch --batch-size 5 --pause 0.15 --max-requests 1200 --dsn "$(dsn fo_importer "fo-client-$c")")
    fi
    "$PY" "$HELPERS/failover_client.py" register --client "$c" "${args[@]}" \
        --journal "$W/client-$c.jsonl" --stop-file "$STOP" </dev/null >"$W/client-$c.log" 2>&1 &
    PIDS+=($!)
    CLIENT_PIDS+=($!)
done
mark start

# answers_from PORT SINCE: how many answers the clients got from PORT after
# the wall-clock time SINCE.
answers_from() {
    "$PY" - "$1" "$2" "$W" <<'EOF'
import glob, json, sys
port, since = int(sys.argv[1]), float(sys.argv[2])
n = 0
for path in glob.glob(sys.argv[3] + "/client-*.jsonl"):
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                r = json.loads(line)
            except ValueError:
                continue        # a line being written
            n += r["type"] == "answer" and r["port"] == port and r["t"] > since
print(n)
EOF
}

# wait_answers PORT SINCE N TIMEOUT: until the clients got N answers from PORT.
wait_answers() {
    local deadline=$((SECONDS + $4))
    while ((SECONDS < deadline)); do
        (($(answers_from "$1" "$2") >= $3)) && return 0
        sleep 0.3
    done
    return 1
}

t0=$(date +%s.%N)
if wait_answers "$P1" "$t0" 200 60; then
    printf 'ok - the clients register on node1 (%s answers so far)\n' "$(answers_from "$P1" 0)"
else
    printf 'not ok - the clients got no answers from node1 (see %s)\n' "$W"
fi
sleep 3

# ---------------------------------------------------------------------------
# 1. SIGKILL of the primary
# ---------------------------------------------------------------------------

# The case the idempotency key is for: a registration that committed, on the
# standby too, whose answer never reached the client.  To hold that moment
# open, node2's WAL receiver is stopped (SIGSTOP) for a second: node1 goes on
# sending WAL into its socket, but no flush is acknowledged, so the commits
# wait.  Only one registering transaction at a time can be in that wait:
# each sends NOTIFY farmreg_events, and PostgreSQL serializes notifying
# commits with a cluster-wide lock held until after the commit, the wait for
# the standby included; the others wait for that lock, before their commit
# record.  node1 dies in that state; the WAL receiver goes on, writes what it
# had received (the waiting commit) and node2 is promoted with it.  Its
# client retries with the same key and must get the same ids.
walreceiver=$(node_sql "$P2" postgres "SELECT pid FROM pg_stat_wal_receiver")
[[ $walreceiver =~ ^[0-9]+$ ]] || die "no WAL receiver on node2"
kill -STOP "$walreceiver"
sleep 1
mark kill "$P1 $P2"
t_kill=$(date +%s.%N)
sent=$(node_sql "$P1" postgres "SELECT pg_current_wal_flush_lsn()")
keeper_kill node1
kill -CONT "$walreceiver"
sleep 0.5
received=$(node_sql "$P2" postgres "SELECT pg_last_wal_receive_lsn()" 2>/dev/null || echo '?')
printf '# WAL flushed on node1 when it was killed: %s; received by node2: %s\n' "$sent" "$received"
if wait_states "node1:primary:demoted node2:wait_primary:wait_primary" "$WAIT_STATE"; then
    mark promoted
    printf 'ok - node1 killed (SIGKILL of pg_autoctl and postgres): node2 promoted (wait_primary), node1 to be demoted\n'
else
    printf 'not ok - no promotion after the kill (monitor: %s)\n' "$(states)"
fi
if wait_answers "$P2" "$t_kill" 200 60; then
    printf 'ok - the clients register on node2 after the failover\n'
else
    printf 'not ok - the clients got no answers from node2 after the failover\n'
fi
sleep 2

# ---------------------------------------------------------------------------
# 2. the old primary comes back as secondary
# ---------------------------------------------------------------------------

mark rejoin
keeper_start node1
if wait_states "node1:secondary:secondary node2:primary:primary" "$WAIT_STATE"; then
    mark rejoined
    printf 'ok - node1 restarted: rejoined as secondary of node2\n'
else
    printf 'not ok - node1 did not rejoin as secondary (monitor: %s)\n' "$(states)"
fi
rep=$(sync_replication "$P2")
if [[ $rep == "ANY 1 (pgautofailover_standby_1)|quorum|on" ]]; then
    printf 'ok - synchronous replication again, now from node2 to node1\n'
else
    printf 'not ok - synchronous replication on node2: %s\n' "$rep"
fi

# A sync worker whose connection string leads to the standby (node1 now):
# LISTEN fails there with 25006; it must wait and try again, not exit.
SYNC_DSN="host=127.0.0.1 port=$P1 dbname=$DB user=fo_sync connect_timeout=2" IDP_URL=$IDP_URL \
    IDP_TOKEN=fo-token "$PY" "$SYNC/identity_sync.py" --consumer standby-probe \
    --backoff-initial 0.1 --backoff-max 0.3 </dev/null >"$W/worker-standby.log" 2>&1 &
PIDS+=($!)
probe=$!
# until it has been refused twice (it went on after the first), bounded
for _ in $(seq 200); do
    (($(grep -c 'not the primary (cannot execute LISTEN during recovery); reconnecting' \
            "$W/worker-standby.log") >= 2)) && break
    kill -0 "$probe" 2>/dev/null || break
    sleep 0.1
done
probe_alive=0
kill -0 "$probe" 2>/dev/null && probe_alive=1
kill -TERM "$probe" 2>/dev/null || true
probe_rc=0
for _ in $(seq 50); do kill -0 "$probe" 2>/dev/null || break; sleep 0.1; done
wait "$probe" 2>/dev/null || probe_rc=$?
if [[ $probe_alive == 1 && $probe_rc == 0 ]] \
   && (($(grep -c 'not the primary (cannot execute LISTEN during recovery); reconnecting' "$W/worker-standby.log") >= 2)); then
    printf 'ok - a sync worker connected to the standby retries (25006) instead of exiting, and stops on SIGTERM\n'
else
    printf 'not ok - sync worker on the standby: running %s, exit status %s (see worker-standby.log)\n' \
        "$probe_alive" "$probe_rc"
    tail -n 5 "$W/worker-standby.log" >&2 || true
fi

# ---------------------------------------------------------------------------
# 3. graceful failover back
# ---------------------------------------------------------------------------

mark switchover "$P2 $P1"
t_switch=$(date +%s.%N)
# --wait bounds it: pg_autoctl gives up after that many seconds
if autoctl perform failover --pgdata "$W/monitor" --wait "$WAIT_STATE" >"$W/perform-failover.log" 2>&1 \
   && wait_states "node1:primary:primary node2:secondary:secondary" "$WAIT_STATE"; then
    mark switched
    printf 'ok - pg_autoctl perform failover: node1 primary again, node2 secondary\n'
else
    printf 'not ok - pg_autoctl perform failover did not complete (monitor: %s)\n' "$(states)"
fi
if wait_answers "$P1" "$t_switch" 200 60; then
    printf 'ok - the clients register on node1 after the switchover\n'
else
    printf 'not ok - the clients got no answers from node1 after the switchover\n'
fi
sleep 2

# ---------------------------------------------------------------------------
# The end of the run
# ---------------------------------------------------------------------------

touch "$STOP"
mark stop
clients_ok=1
for pid in "${CLIENT_PIDS[@]}"; do
    deadline=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
        clients_ok=0
    else
        wait "$pid" || clients_ok=0
    fi
done
if [[ $clients_ok == 1 ]]; then
    printf 'ok - the %d clients stopped, with status 0\n' "$CLIENTS"
else
    printf 'not ok - a client did not stop cleanly (see %s/client-*.log)\n' "$W"
    cat "$W"/client-*.log >&2 || true
fi

# the consumers catch up: every event acknowledged by both
caught_up=0
deadline=$((SECONDS + 90))
while ((SECONDS < deadline)); do
    lag=$(node_sql "$P1" "$DB" "SELECT count(*) FROM farmreg.events e
                                 WHERE e.pos IS NULL OR EXISTS (SELECT FROM farmreg.event_consumers c
                                                                 WHERE c.consumer IN ('identity-sync', 'audit')
                                                                   AND c.acked_pos < e.pos)
                                    OR (SELECT count(*) FROM farmreg.event_consumers) < 2" 2>/dev/null || echo x)
    if [[ $lag == 0 ]] && ! kill -0 "$AUDIT" 2>/dev/null; then
        caught_up=1
        break
    fi
    sleep 0.3
done
audit_rc=0
wait "$AUDIT" 2>/dev/null || audit_rc=$?
kill -TERM "$WORKER" 2>/dev/null || true
worker_rc=0
for _ in $(seq 50); do kill -0 "$WORKER" 2>/dev/null || break; sleep 0.2; done
wait "$WORKER" 2>/dev/null || worker_rc=$?
if [[ $caught_up == 1 && $audit_rc == 0 && $worker_rc == 0 ]]; then
    printf 'ok - the sync worker and the audit consumer acknowledged every event, and stopped with status 0\n'
else
    printf 'not ok - consumers: caught up %s, audit exit %s, worker exit %s (lagging events: %s)\n' \
        "$caught_up" "$audit_rc" "$worker_rc" "${lag:-?}"
fi

# Passwords never reach a server's log.
if grep -q -a -F 'pw-SECRET' "$W"/node1.log "$W"/node2.log "$W"/monitor.log; then
    printf 'not ok - a password reached a server log\n'
else
    printf 'ok - no password in the logs of node1, node2 and the monitor\n'
fi

# ---------------------------------------------------------------------------
# The checks, from the tables of the final primary
# ---------------------------------------------------------------------------

rc=0
"$PY" "$HELPERS/failover_check.py" --dsn "host=127.0.0.1 port=$P1 dbname=$DB user=$SUPER" \
    --work "$W" --idp-url "$IDP_URL" --worker-log "$W/worker.log" --run-seconds $((SECONDS - t_start)) \
    || rc=$?
if [[ $rc -ne 0 ]]; then
    printf 'not ok - failover_check.py exited with status %d\n' "$rc"
fi
exit 0
