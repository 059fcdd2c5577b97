#!/usr/bin/env bash
#
# test/suites/logs.sh -- no password and no password hash in the server log,
# whatever the logging settings, with and without
# session_preload_libraries = 'farmreg'.
#
# deps: python3-psycopg
#
# A private cluster of its own (so that its server log is its own) logs
# everything: log_statement = 'all', log_min_duration_statement = 0,
# log_min_error_statement = debug5, log_lock_waits = on, deadlock_timeout =
# 100ms, log_parameter_max_length(_on_error) = -1, and auto_explain with
# log_min_duration = 0, log_analyze, log_verbose and log_nested_statements.
# Two databases run the same cases (test/helpers/logs_e2e.py): logs_pre with
# session_preload_libraries = 'farmreg, auto_explain', logs_nopre with
# 'auto_explain' only.  Then, the server stopped, the whole log is searched
# for every test password and for the salt of every stored hash: 0 hits,
# except the cases only the preload covers (the first call of a session, a
# deadlock reported by a session that never loaded farmreg), which are
# reported as figures without it and must be 0 with it.  Control statements
# (not farmreg calls, with markers) must be in the log verbatim, and the
# filter's "[redacted by farmreg]" must show in each of its forms.
#
# The log is kept as log/logs-server.log.  Environment: LOGS_REPEAT,
# LOGS_LOOP_HITS, LOGS_TERMINATIONS, LOGS_FIRST_CALLS (case counts),
# LOGS_SLOW_OPSLIMIT / LOGS_SLOW_MEMLIMIT (the slow hash: 3, 128MB).

set -uo pipefail

ROOT=${FARMREG_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
# shellcheck source=test/ops/common.sh
source "$ROOT/test/ops/common.sh"
ops_need_cluster
pg_resolve

PY=/usr/bin/python3
if ! "$PY" -c 'import psycopg' 2>/dev/null; then
    not_ok "$PY cannot import psycopg (apt-get install python3-psycopg)"
    exit 0
fi
DRIVER=$ROOT/test/helpers/logs_e2e.py
# the slow hash (as logs_e2e.py reads them)
SLOW_OPS=${LOGS_SLOW_OPSLIMIT:-3}
SLOW_MEM=${LOGS_SLOW_MEMLIMIT:-128MB}

DIR=$(ops_scratch logs)
# shellcheck disable=SC2317  # called by the exit hook
stop_cluster() { ops_stop_cluster "$DIR"; }
on_exit stop_cluster

if ! PORT=$(ops_new_cluster "$DIR"); then
    not_ok "a private cluster for the log suite starts"
    cat "$DIR/initdb.log" "$DIR/server.log" 2>/dev/null | diag
    exit 0
fi
LOG=$DIR/server.log
export PGHOST=$DIR PGPORT=$PORT
export PGUSER
PGUSER=$(is_root && echo postgres || id -un)
unset PGOPTIONS

q postgres >/dev/null <<'SQL'
ALTER SYSTEM SET log_statement = 'all';
ALTER SYSTEM SET log_min_duration_statement = 0;
ALTER SYSTEM SET log_min_error_statement = 'debug5';
ALTER SYSTEM SET log_lock_waits = on;
ALTER SYSTEM SET deadlock_timeout = '100ms';
ALTER SYSTEM SET log_parameter_max_length = -1;
ALTER SYSTEM SET log_parameter_max_length_on_error = -1;
ALTER SYSTEM SET log_line_prefix = '%m [%p] %d %a ';
SELECT pg_reload_conf();
SQL

# setup_db DB PRELOAD: the database, its settings, farmreg and the data
setup_db() {
    local db=$1 preload=$2
    q postgres >/dev/null <<SQL
CREATE DATABASE $db;
ALTER DATABASE $db SET session_preload_libraries = $preload;
ALTER DATABASE $db SET auto_explain.log_min_duration = 0;
ALTER DATABASE $db SET auto_explain.log_analyze = on;
ALTER DATABASE $db SET auto_explain.log_verbose = on;
ALTER DATABASE $db SET auto_explain.log_nested_statements = on;
ALTER DATABASE $db SET farmreg.password_opslimit = 1;
ALTER DATABASE $db SET farmreg.password_memlimit = '8kB';
SQL
    q "$db" >/dev/null <<'SQL'
CREATE EXTENSION farmreg;
INSERT INTO farmreg.usda_farms (usda_uid, name)
SELECT 'L-' || g, 'Log Farm ' || g FROM generate_series(1, 20000) AS g;
-- an operator's own rule: a step that breaks it logs "Failing row contains"
ALTER TABLE farmreg.users ADD CONSTRAINT users_name_length CHECK (length(name) <= 50);
-- rows for the deadlocks, and a table for the row-dump control
CREATE TABLE public.logs_lockrow (id integer PRIMARY KEY);
INSERT INTO public.logs_lockrow SELECT generate_series(1, 20000);
CREATE TABLE public.logs_control (v text CHECK (length(v) < 3));
SQL
    # A user whose stored hash has the slow costs: a wrong password for it
    # costs the slow hash (an unknown login costs what some stored user's
    # hash costs, so it would be as cheap as the cheap users'). The library
    # is loaded first, so its filter covers the registration.
    q "$db" >/dev/null <<SQL
LOAD 'farmreg';
SET farmreg.password_opslimit = $SLOW_OPS;
SET farmreg.password_memlimit = '$SLOW_MEM';
SELECT ok FROM farmreg.register_farm_admin('logs_slow_login', 'pw-SECRET-logs-slow-login',
       'Slow Login', 'slow-login@logs.example', 'L-20000');
SQL
}

if setup_db logs_pre "'farmreg', 'auto_explain'" && setup_db logs_nopre "'auto_explain'"; then
    ok "databases logs_pre (session_preload_libraries = farmreg, auto_explain) and logs_nopre (auto_explain) ready"
else
    not_ok "databases logs_pre and logs_nopre ready"
    exit 0
fi
is "$(qv logs_pre "SHOW session_preload_libraries")" "farmreg, auto_explain" \
    "logs_pre preloads farmreg in every session"
is "$(qv logs_nopre "SELECT count(*) FROM pg_catalog.pg_settings WHERE name = 'farmreg.locale'")" "0" \
    "logs_nopre does not load farmreg before a farmreg call"

WORK=$(ops_scratch logs-work)
for mode in pre nopre; do
    if ! "$PY" "$DRIVER" provoke "$mode" "logs_$mode" "$WORK/ledger-$mode.json" "$LOG" \
        >"$WORK/provoke-$mode.out" 2>&1; then
        not_ok "$mode: the cases ran (see below)"
        tail -n 30 "$WORK/provoke-$mode.out" | diag
    else
        ok "$mode: the cases ran"
    fi
    grep '^#' "$WORK/provoke-$mode.out" | head -n 20
done

# the server stopped, every line is in the log
ops_stop_cluster "$DIR"
if [[ -n ${FARMREG_LOG_DIR:-} ]]; then
    cp -- "$LOG" "$FARMREG_LOG_DIR/logs-server.log" 2>/dev/null || true
fi
ledgers=()
for mode in pre nopre; do
    [[ -f $WORK/ledger-$mode.json ]] && ledgers+=("$WORK/ledger-$mode.json")
done
if [[ ${#ledgers[@]} -eq 2 ]]; then
    "$PY" "$DRIVER" check "$LOG" "${ledgers[@]}" || not_ok "the checks ran to their end"
else
    not_ok "both modes left a ledger of their cases"
fi
ops_log_has_no_crash "$LOG" "log suite"
ops_summary
