#!/usr/bin/env bash
#
# test/suites/wakeup.sh -- consumers that LISTEN on farmreg_events are woken
# by the database's wakeup worker, never by a NOTIFY in the registering
# transaction (which would serialize every registration's commit on one
# cluster-wide lock): see test/helpers/wakeup_check.py for the checks.  A
# second, tiny cluster with no free background worker slot shows the
# fallback (the transaction notifies by itself, and says so once).
#
# deps: python3-psycopg

set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$FARMREG_ROOT/scripts/lib.sh"
# shellcheck source=test/ops/common.sh
source "$FARMREG_ROOT/test/ops/common.sh"
ops_need_cluster

PY=/usr/bin/python3
DB=fr_wakeup
WORK=$(ops_scratch wakeup)
FB_DIR=$WORK/fallback

cleanup() {
    ops_stop_cluster "$FB_DIR"
    ops_drop_db "$DB"
    rm -rf -- "$WORK"
}
on_exit cleanup

if ! "$PY" -c 'import psycopg' 2>/dev/null; then
    not_ok "$PY can import psycopg (apt-get install python3-psycopg)"
    ops_summary
fi

ops_create_ext_db "$DB"
ops_seed_farms "$DB" W 20000

# The fallback cluster: max_worker_processes = 1, which the logical
# replication launcher already takes.
mkdir -p "$FB_DIR"
is_root && chown postgres: "$FB_DIR"
FB_PORT=""
if FB_PORT=$(ops_new_cluster "$FB_DIR") &&
    printf 'max_worker_processes = 1\n' | as_pg tee -a "$FB_DIR/data/postgresql.conf" >/dev/null &&
    (cd "$FB_DIR" && as_pg "$PGBIN/pg_ctl" -D "$FB_DIR/data" -l "$FB_DIR/server.log" -w -t 60 -s \
        restart) >/dev/null 2>&1; then
    PGHOST=$FB_DIR PGPORT=$FB_PORT q postgres >/dev/null <<'SQL'
CREATE DATABASE fr_wakeup_fallback;
ALTER DATABASE fr_wakeup_fallback SET farmreg.password_opslimit = 1;
ALTER DATABASE fr_wakeup_fallback SET farmreg.password_memlimit = '8kB';
SQL
    PGHOST=$FB_DIR PGPORT=$FB_PORT q fr_wakeup_fallback >/dev/null <<'SQL'
CREATE EXTENSION farmreg;
INSERT INTO farmreg.usda_farms (usda_uid, name)
SELECT 'W-' || g, 'Farm ' || g FROM generate_series(1, 20000) AS g;
SQL
else
    not_ok "a second cluster with max_worker_processes = 1 starts"
    FB_PORT=""
fi

rc=0
if [[ -n $FB_PORT ]]; then
    # the fallback database is reached through its own socket
    "$PY" "$FARMREG_ROOT/test/helpers/wakeup_check.py" "$DB" \
        "host=$FB_DIR port=$FB_PORT dbname=fr_wakeup_fallback" || rc=$?
else
    "$PY" "$FARMREG_ROOT/test/helpers/wakeup_check.py" "$DB" || rc=$?
fi
[[ $rc -le 1 ]] || not_ok "wakeup_check.py ran to the end (exit status $rc)"
ops_log_has_no_crash "$FARMREG_SERVER_LOG" "the test cluster's log"
ops_summary
