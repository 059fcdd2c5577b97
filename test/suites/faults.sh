#!/usr/bin/env bash
#
# test/suites/faults.sh -- registrations interrupted: statement_timeout,
# pg_cancel_backend, pg_terminate_backend, a deadlock, failures injected in
# each step, and an immediate shutdown of the server (crash recovery).
#
# Sessions are psql processes in the background, fed through FIFOs; the
# suite learns that one is blocked behind another from pg_blocking_pids()
# and what it is doing from pg_stat_activity.  After each fault: the client
# saw the error (not a result), no row of the interrupted registration
# remains, the invariants hold (every user has exactly one farmer row, every
# farm one, all admins), and the server log names no password.
#
# The immediate shutdown runs on a separate private cluster that this suite
# starts and removes (it re-runs itself as "faults.sh crash" for that), never
# on the shared test cluster.
#
# Environment: the test cluster's PGHOST / PGPORT / PGUSER (a superuser) and
# FARMREG_SERVER_LOG (log checks are skipped without it); FAULTS_DB
# (default farmreg_faults).

set -euo pipefail

ROOT=${FARMREG_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
pg_resolve

MODE=${1:-main}
DB=${FAULTS_DB:-farmreg_faults}
# every session hashes at libsodium's minimum costs
export PGOPTIONS="${PGOPTIONS:-} -c farmreg.password_opslimit=1 -c farmreg.password_memlimit=8kB"

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/farmreg-faults-$MODE.XXXXXX")
chmod 0755 "$SCRATCH"

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

ok()     { printf 'ok - %s\n' "$*"; }
not_ok() { printf 'not ok - %s\n' "$*"; }

# check DESCRIPTION VALUE EXPECTED
check() {
    if [[ $2 == "$3" ]]; then
        ok "$1"
    else
        not_ok "$1 (got '$2', expected '$3')"
    fi
}

# sql QUERY...: one value per line, unaligned, in DB.
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

# Background sessions: NAME -> psql pid and the fd of its input FIFO.  Their
# application_name is faults_NAME; output in $SCRATCH/NAME.out.
declare -A BG_PID=() BG_FD=()

# bg_open NAME [PGOPTIONS...]
bg_open() {
    local name=$1 fd
    shift
    rm -f -- "$SCRATCH/$name.in"
    mkfifo "$SCRATCH/$name.in"
    # The other sessions' FIFO write ends must not leak into this psql, or
    # they would not see end-of-input when we close them.
    (
        for fd in "${BG_FD[@]}"; do
            eval "exec $fd>&-"
        done
        PGAPPNAME="faults_$name" PGOPTIONS="$PGOPTIONS $*" \
            exec psql -X -q -A -t -v VERBOSITY=verbose -d "$DB" \
            <"$SCRATCH/$name.in" >"$SCRATCH/$name.out" 2>&1
    ) &
    BG_PID[$name]=$!
    exec {fd}>"$SCRATCH/$name.in"
    BG_FD[$name]=$fd
}

# bg_send NAME SQL
bg_send() { printf '%s\n' "$2" >&"${BG_FD[$1]}"; }

# bg_close NAME: end its input and wait (at most 20 s) for psql to exit.
bg_close() {
    local name=$1 i fd
    [[ -n ${BG_PID[$name]:-} ]] || return 0
    if [[ -n ${BG_FD[$name]:-} ]]; then
        fd=${BG_FD[$name]}
        exec {fd}>&-
        unset "BG_FD[$name]"
    fi
    for ((i = 0; i < 200; i++)); do
        kill -0 "${BG_PID[$name]}" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "${BG_PID[$name]}" 2>/dev/null; then
        kill "${BG_PID[$name]}" 2>/dev/null || true
    fi
    wait "${BG_PID[$name]}" 2>/dev/null || true
    unset "BG_PID[$name]"
    rm -f -- "$SCRATCH/$name.in"
}

bg_close_all() {
    local name
    for name in "${!BG_PID[@]}"; do
        bg_close "$name"
    done
}

# wait_for DESCRIPTION QUERY: poll QUERY (a boolean) for up to 20 s.
wait_for() {
    local i
    for ((i = 0; i < 200; i++)); do
        if [[ $(sql -c "$2" 2>/dev/null || true) == t ]]; then
            return 0
        fi
        sleep 0.1
    done
    not_ok "timed out waiting until $1"
    return 1
}

# wait_idle_in_xact NAME: its registration is done, its transaction open.
wait_idle_in_xact() {
    wait_for "session $1 is idle in transaction" "
        SELECT EXISTS (SELECT FROM pg_stat_activity
                        WHERE application_name = 'faults_$1' AND state = 'idle in transaction')"
}

# wait_blocked NAME HOLDER: NAME waits on a lock that HOLDER holds.
wait_blocked() {
    wait_for "session $1 is blocked behind session $2" "
        SELECT EXISTS (SELECT FROM pg_stat_activity AS b, pg_stat_activity AS h
                        WHERE b.application_name = 'faults_$1'
                          AND h.application_name = 'faults_$2'
                          AND h.pid = ANY (pg_catalog.pg_blocking_pids(b.pid)))"
}

# wait_sleeping NAME: NAME sits in pg_sleep (a slow test trigger, mid-step).
wait_sleeping() {
    wait_for "session $1 is inside its slow step" "
        SELECT EXISTS (SELECT FROM pg_stat_activity
                        WHERE application_name = 'faults_$1' AND wait_event = 'PgSleep')"
}

backend_pid() {
    sql -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'faults_$1'"
}

# wait_gone NAME: no backend with that application_name any more.
wait_gone() {
    wait_for "session $1's backend is gone" "
        SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'faults_$1')"
}

# rows_of USERNAME...: "users/farmers/events" of these usernames (events:
# the outbox's, by the username in their payload); "0/0/0" is none at all,
# "1/1/1" one whole registration.
rows_of() {
    local list
    list=$(printf "'%s'," "$@")
    sql -c "
        SELECT concat_ws('/',
            (SELECT count(*) FROM farmreg.users WHERE lower(username) IN (${list%,})),
            (SELECT count(*) FROM farmreg.farmers AS fr JOIN farmreg.users AS u ON u.id = fr.user_id
              WHERE lower(u.username) IN (${list%,})),
            (SELECT count(*) FROM farmreg.events WHERE lower(payload->>'username') IN (${list%,})))"
}

# check_invariants WHAT
check_invariants() {
    check "$1: invariants hold (one farmer row per user and per farm, all admins, one event per registration)" \
        "$(sql -c "SELECT public.violations()")" 0
}

# Server log: remember where it ends, then look at what came after.
LOG=${FARMREG_SERVER_LOG:-}
log_mark() {
    if [[ -n $LOG && -r $LOG ]]; then
        stat -c %s "$LOG"
    else
        echo 0
    fi
}
log_since() { tail -c +"$(($1 + 1))" "$LOG"; }

# log_has_no_password WHAT MARK
log_has_no_password() {
    local n
    if [[ -z $LOG || ! -r $LOG ]]; then
        ok "$1: no password in the server log # SKIP server log not readable"
        return 0
    fi
    n=$(log_since "$2" | grep -c -F 'pw-SECRET' || true)
    if [[ $n -eq 0 ]]; then
        ok "$1: no password in the server log"
    else
        not_ok "$1: the server log holds a password on $n line(s)"
        log_since "$2" | grep -B 6 -F 'pw-SECRET' | head -n 14 | sed 's/^/#   /'
    fi
}

# setup_db: a fresh database with farmreg, USDA records F-1..F-40, and the
# helpers (violations(), test triggers).
setup_db() {
    psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
    sql >/dev/null <<'EOF'
SET client_min_messages = warning;
CREATE EXTENSION farmreg;
INSERT INTO farmreg.usda_farms (usda_uid, name)
SELECT 'F-' || g, 'Farm ' || g FROM generate_series(1, 40) AS g;

-- how many invariants are broken: users and farms without exactly one
-- farmer row, farmers that are not admins, farms claimed twice, users
-- without exactly one registration event, registration events of users
-- neither there nor deregistered, deregistered users still there
CREATE FUNCTION public.violations() RETURNS bigint LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM farmreg.users AS u
             WHERE (SELECT count(*) FROM farmreg.farmers AS fr WHERE fr.user_id = u.id) <> 1)
         + (SELECT count(*) FROM farmreg.farms AS f
             WHERE (SELECT count(*) FROM farmreg.farmers AS fr WHERE fr.farm_id = f.id) <> 1)
         + (SELECT count(*) FROM farmreg.farmers WHERE NOT is_admin)
         + (SELECT count(*) FROM (SELECT usda_farm_id FROM farmreg.farms
                                   GROUP BY 1 HAVING count(*) > 1) AS twice)
         + (SELECT count(*) FROM farmreg.users AS u
             WHERE (SELECT count(*) FROM farmreg.events AS e
                     WHERE e.type = 'farm_admin_registered' AND e.user_id = u.id) <> 1)
         + (SELECT count(*) FROM farmreg.events AS e
             WHERE e.type = 'farm_admin_registered'
               AND NOT EXISTS (SELECT FROM farmreg.users AS u WHERE u.id = e.user_id)
               AND NOT EXISTS (SELECT FROM farmreg.events AS d
                                WHERE d.type = 'farm_admin_deregistered' AND d.user_id = e.user_id))
         + (SELECT count(*) FROM farmreg.events AS d
             WHERE d.type = 'farm_admin_deregistered'
               AND EXISTS (SELECT FROM farmreg.users AS u WHERE u.id = d.user_id))
$$;

-- test triggers: fail with a given SQLSTATE; sleep inside a step for
-- usernames starting with "slow"
CREATE FUNCTION public.fail_with() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'injected failure on %', TG_TABLE_NAME USING ERRCODE = TG_ARGV[0];
END
$$;
CREATE FUNCTION public.slow_farmer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT u.username FROM farmreg.users AS u WHERE u.id = NEW.user_id) LIKE 'slow%' THEN
        PERFORM pg_catalog.pg_sleep(60);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER slow_farmer BEFORE INSERT ON farmreg.farmers
    FOR EACH ROW EXECUTE FUNCTION public.slow_farmer();
-- deregistration sleeps when it deletes the farm of USDA record F-SLOW
INSERT INTO farmreg.usda_farms (usda_uid, name) VALUES ('F-SLOW', 'Slow Farm');
CREATE FUNCTION public.slow_farm_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.name = 'Slow Farm' THEN
        PERFORM pg_catalog.pg_sleep(60);
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER slow_farm_delete BEFORE DELETE ON farmreg.farms
    FOR EACH ROW EXECUTE FUNCTION public.slow_farm_delete();
CREATE TABLE public.caller_work (note text);
EOF
}

# A registration as a one-line statement; prints RESULT|ok|code|step.
reg_sql() {   # USERNAME EMAIL USDA [PASSWORD]
    printf "SELECT 'RESULT', ok, error_code, failed_step FROM farmreg.register_farm_admin('%s', '%s', 'Test User', '%s', '%s');" \
        "$1" "${4:-pw-SECRET-$1-faults}" "$2" "$3"
}

# ---------------------------------------------------------------------------
# Faults on the shared test cluster
# ---------------------------------------------------------------------------

# A holds an uncommitted registration of farm USDA; B registers the same farm
# and blocks behind A (B has written its user row by then).
hold_and_block() {   # TAG USDA [B's PGOPTIONS...]
    local tag=$1 usda=$2
    shift 2
    bg_open a
    bg_open b "$@"
    bg_send a "BEGIN;"
    bg_send a "$(reg_sql "${tag}_a" "${tag}_a@example.com" "$usda")"
    wait_idle_in_xact a || return 1
    bg_send b "$(reg_sql "${tag}_b" "${tag}_b@example.com" "$usda")"
    wait_blocked b a
}

fault_statement_timeout() {
    local mark
    mark=$(log_mark)
    bg_open a
    bg_open b
    bg_send a "BEGIN;"
    bg_send a "$(reg_sql to_a to_a@example.com F-1)"
    wait_idle_in_xact a || return 0
    bg_send b "SET statement_timeout = '8s';"
    bg_send b "$(reg_sql to_b to_b@example.com F-1)"
    wait_blocked b a && ok "statement_timeout: B's registration blocks behind A's uncommitted one"
    # the timeout fires while B waits
    wait_for "B's statement timed out" "
        SELECT EXISTS (SELECT FROM pg_stat_activity
                        WHERE application_name = 'faults_b' AND state = 'idle')" || true
    bg_send a "COMMIT;"
    bg_close b
    bg_close a
    if grep -q 'ERROR:  57014' "$SCRATCH/b.out" && ! grep -q '^RESULT' "$SCRATCH/b.out"; then
        ok "statement_timeout: B's client got ERROR 57014, not a result"
    else
        not_ok "statement_timeout: B's client did not get ERROR 57014 alone"
        sed 's/^/#   /' "$SCRATCH/b.out"
    fi
    check "statement_timeout: no row of B's registration remains" "$(rows_of to_b)" 0/0/0
    check "statement_timeout: A's registration committed" "$(rows_of to_a)" 1/1/1
    check_invariants "statement_timeout"
    log_has_no_password "statement_timeout" "$mark"
}

fault_cancel() {
    local mark pid
    mark=$(log_mark)
    hold_and_block ca F-2 || return 0
    ok "pg_cancel_backend: B's registration blocks behind A's uncommitted one"
    pid=$(backend_pid b)
    check "pg_cancel_backend: signal sent" "$(sql -c "SELECT pg_cancel_backend($pid)")" t
    wait_for "B's statement was cancelled" "
        SELECT EXISTS (SELECT FROM pg_stat_activity
                        WHERE application_name = 'faults_b' AND state = 'idle')" || true
    check "pg_cancel_backend: no row of B's registration remains (A still open)" "$(rows_of ca_b)" 0/0/0
    bg_send a "ROLLBACK;"
    bg_close b
    bg_close a
    if grep -q 'ERROR:  57014' "$SCRATCH/b.out" && ! grep -q '^RESULT' "$SCRATCH/b.out"; then
        ok "pg_cancel_backend: B's client got ERROR 57014, not a result"
    else
        not_ok "pg_cancel_backend: B's client did not get ERROR 57014 alone"
        sed 's/^/#   /' "$SCRATCH/b.out"
    fi
    check "pg_cancel_backend: no row of either registration after A's rollback" "$(rows_of ca_a ca_b)" 0/0/0
    check_invariants "pg_cancel_backend"
    log_has_no_password "pg_cancel_backend" "$mark"
}

fault_terminate_blocked() {
    local mark pid
    mark=$(log_mark)
    hold_and_block te F-3 || return 0
    ok "pg_terminate_backend: B's registration blocks behind A's uncommitted one"
    pid=$(backend_pid b)
    check "pg_terminate_backend: B terminated" "$(sql -c "SELECT pg_terminate_backend($pid, 10000)")" t
    wait_gone b || true
    check "pg_terminate_backend: no row of B's registration remains" "$(rows_of te_b)" 0/0/0
    # and A, its registration complete but not committed
    pid=$(backend_pid a)
    check "pg_terminate_backend: A terminated" "$(sql -c "SELECT pg_terminate_backend($pid, 10000)")" t
    wait_gone a || true
    bg_close b
    bg_close a
    if grep -q 'FATAL:  57P01' "$SCRATCH/b.out" && ! grep -q '^RESULT' "$SCRATCH/b.out"; then
        ok "pg_terminate_backend: B's client lost its connection (57P01), no result"
    else
        not_ok "pg_terminate_backend: B's client did not see 57P01"
        sed 's/^/#   /' "$SCRATCH/b.out"
    fi
    check "pg_terminate_backend: no row of A's uncommitted registration remains" "$(rows_of te_a)" 0/0/0
    check_invariants "pg_terminate_backend"
    log_has_no_password "pg_terminate_backend of a blocked registration" "$mark"
}

fault_terminate_mid_step() {
    local mark pid
    mark=$(log_mark)
    bg_open c
    bg_send c "$(reg_sql slow_c slow_c@example.com F-4)"
    # the trigger is on farmers: create_user and create_farm are done
    wait_sleeping c || { bg_close c; return 0; }
    pid=$(backend_pid c)
    check "mid-step: C terminated inside create_farmer" "$(sql -c "SELECT pg_terminate_backend($pid, 10000)")" t
    wait_gone c || true
    bg_close c
    check "mid-step: no row of C's registration remains" "$(rows_of slow_c)" 0/0/0
    check "mid-step: C's farm is free" \
        "$(sql -c "SELECT count(*) FROM farmreg.farms AS f JOIN farmreg.usda_farms AS u ON u.id = f.usda_farm_id WHERE u.usda_uid = 'F-4'")" 0
    check_invariants "mid-step termination"
    log_has_no_password "pg_terminate_backend inside a step" "$mark"
}

# A batch cancelled while its third request sits inside create_farmer: the
# cancel is raised for the whole call, and none of the batch's rows remain.
fault_cancel_batch() {
    local mark pid
    mark=$(log_mark)
    bg_open e
    bg_send e "SELECT 'RESULT', ordinal, ok FROM farmreg.register_farm_admins(jsonb_build_array(
        jsonb_build_object('username', 'bt_1', 'password', 'pw-SECRET-bt-1', 'name', 'B',
                           'email', 'bt_1@example.com', 'usda_uid', 'F-21'),
        jsonb_build_object('username', 'bt_2', 'password', 'pw-SECRET-bt-2', 'name', 'B',
                           'email', 'bt_2@example.com', 'usda_uid', 'F-22'),
        jsonb_build_object('username', 'slow_bt_3', 'password', 'pw-SECRET-bt-3', 'name', 'B',
                           'email', 'slow_bt_3@example.com', 'usda_uid', 'F-23')));"
    wait_sleeping e || { bg_close e; return 0; }
    pid=$(backend_pid e)
    check "batch: cancelled inside its third request's create_farmer" \
        "$(sql -c "SELECT pg_cancel_backend($pid)")" t
    wait_for "the batch was cancelled" "
        SELECT EXISTS (SELECT FROM pg_stat_activity
                        WHERE application_name = 'faults_e' AND state = 'idle')" || true
    bg_close e
    if grep -q 'ERROR:  57014' "$SCRATCH/e.out" && ! grep -q '^RESULT' "$SCRATCH/e.out"; then
        ok "batch: the client got ERROR 57014, not results"
    else
        not_ok "batch: the client did not get ERROR 57014 alone"
        sed 's/^/#   /' "$SCRATCH/e.out"
    fi
    check "batch: no row of any of its requests remains" "$(rows_of bt_1 bt_2 slow_bt_3)" 0/0/0
    check_invariants "cancelled batch"
    log_has_no_password "a cancelled batch" "$mark"
}

# A deregistration terminated half way (its event appended and the farmer
# row deleted, the farm's deletion sleeping): the registration is whole.
fault_terminate_deregistration() {
    local pid uid
    check "deregistration: a registration to undo" \
        "$(sql -F '|' -c "$(reg_sql dereg_d dereg_d@example.com F-SLOW)")" "RESULT|t||"
    uid=$(sql -c "SELECT id FROM farmreg.users WHERE username = 'dereg_d'")
    bg_open f
    bg_send f "SELECT 'RESULT', farmreg.deregister_farm_admin($uid, 'faults');"
    wait_sleeping f || { bg_close f; return 0; }
    pid=$(backend_pid f)
    check "deregistration: terminated inside delete_farms" \
        "$(sql -c "SELECT pg_terminate_backend($pid, 10000)")" t
    wait_gone f || true
    bg_close f
    check "deregistration: the registration is whole, no deregistration event" \
        "$(rows_of dereg_d)" 1/1/1
    check_invariants "terminated deregistration"
    sql -c "ALTER TABLE farmreg.farms DISABLE TRIGGER slow_farm_delete"
    check "deregistration: made again, it goes through" \
        "$(sql -c "SELECT farmreg.deregister_farm_admin($uid, 'faults')")" t
    sql -c "ALTER TABLE farmreg.farms ENABLE TRIGGER slow_farm_delete"
    check "deregistration: no row left, a registration and a deregistration event" \
        "$(rows_of dereg_d)" 0/0/2
    check_invariants "deregistration"
}

# log_lock_waits = on (common in production): a registration that waits
# longer than deadlock_timeout makes the server log a "still waiting" line.
fault_lock_wait_logged() {
    local mark
    mark=$(log_mark)
    hold_and_block lw F-5 -c log_lock_waits=on -c deadlock_timeout=100ms || return 0
    ok "log_lock_waits: B's registration blocks behind A's uncommitted one"
    if [[ -n $LOG && -r $LOG ]]; then
        for _ in $(seq 1 100); do
            log_since "$mark" | grep -q 'still waiting for ShareLock' && break
            sleep 0.1
        done
    fi
    bg_send a "COMMIT;"
    bg_close a
    bg_close b
    check "log_lock_waits: B's result after A commits" \
        "$(grep '^RESULT' "$SCRATCH/b.out" || true)" "RESULT|f|farm_already_claimed|create_farm"
    check "log_lock_waits: no row of B's registration remains" "$(rows_of lw_b)" 0/0/0
    check_invariants "log_lock_waits"
    if [[ -n $LOG && -r $LOG ]]; then
        check "log_lock_waits: the server logged the lock wait" \
            "$(log_since "$mark" | grep -c 'still waiting for ShareLock' || true)" 1
    fi
    log_has_no_password "a logged lock wait (log_lock_waits = on)" "$mark"
}

# Two callers, each registering twice in one transaction, in crossed farm
# order: a deadlock.  The victim's error is raised (40P01), never a result;
# none of its rows remain; the other goes through.
fault_deadlock() {
    local mark victims victim survivor
    mark=$(log_mark)
    bg_open d1 -c deadlock_timeout=200ms
    bg_open d2 -c deadlock_timeout=200ms
    bg_send d1 "BEGIN;"
    bg_send d2 "BEGIN;"
    bg_send d1 "$(reg_sql dl_x1 dl_x1@example.com F-10)"
    bg_send d2 "$(reg_sql dl_x2 dl_x2@example.com F-11)"
    wait_idle_in_xact d1 || return 0
    wait_idle_in_xact d2 || return 0
    bg_send d1 "$(reg_sql dl_y1 dl_y1@example.com F-11)"
    wait_blocked d1 d2 || return 0
    bg_send d2 "$(reg_sql dl_y2 dl_y2@example.com F-10)"
    # the victim's transaction is aborted; the other's call then completes
    wait_for "the deadlock is resolved" "
        SELECT count(*) = 2 FROM pg_stat_activity
         WHERE application_name IN ('faults_d1', 'faults_d2')
           AND state IN ('idle in transaction', 'idle in transaction (aborted)')" || true
    bg_send d1 "COMMIT;"
    bg_send d2 "COMMIT;"
    bg_close d1
    bg_close d2
    victims=$(cat "$SCRATCH/d1.out" "$SCRATCH/d2.out" | grep -c 'ERROR:  40P01' || true)
    check "deadlock: exactly one caller got ERROR 40P01" "$victims" 1
    if grep -q 'ERROR:  40P01' "$SCRATCH/d1.out"; then
        victim=d1 survivor=d2
    else
        victim=d2 survivor=d1
    fi
    check "deadlock: the victim's second call raised, no result (only its first call's)" \
        "$(grep -c '^RESULT' "$SCRATCH/$victim.out" || true)" 1
    check "deadlock: the survivor's two registrations went through" \
        "$(grep -c '^RESULT|t||$' "$SCRATCH/$survivor.out" || true)" 2
    check "deadlock: only the survivor's rows remain (2 users, 2 farmer rows, 2 events)" \
        "$(rows_of dl_x1 dl_y1 dl_x2 dl_y2)" 2/2/2
    check_invariants "deadlock"
    log_has_no_password "a deadlock between two registrations" "$mark"
}

fault_injected() {
    local table=$1 step=$2 state=$3 mark line
    mark=$(log_mark)
    sql -c "CREATE TRIGGER inject BEFORE INSERT ON farmreg.$table
                FOR EACH ROW EXECUTE FUNCTION public.fail_with('$state')"
    line=$(sql -F '|' <<EOF
BEGIN;
INSERT INTO public.caller_work VALUES ('before $step');
SELECT ok, error_code, failed_step, errors->0->>'sqlstate', errors->0->'field'
  FROM farmreg.register_farm_admin('inj_$table', 'pw-SECRET-inject-$table', 'Test User',
                                   'inj_$table@example.com', 'F-20', 'key-inj-$table');
INSERT INTO public.caller_work VALUES ('after $step');
COMMIT;
EOF
    )
    sql -c "DROP TRIGGER inject ON farmreg.$table"
    check "failure injected in $step: internal_error, failed_step, SQLSTATE" \
        "$line" "f|internal_error|$step|$state|null"
    check "failure injected in $step: no row of the call remains" "$(rows_of "inj_$table")" 0/0/0
    check "failure injected in $step: no idempotency key was used up" \
        "$(sql -c "SELECT count(*) FROM farmreg.idempotency_keys WHERE key = 'key-inj-$table'")" 0
    check "failure injected in $step: the caller's transaction went on and committed" \
        "$(sql -c "SELECT count(*) FROM public.caller_work WHERE note IN ('before $step', 'after $step')")" 2
    if [[ -n $LOG && -r $LOG ]]; then
        check "failure injected in $step: the server log names the step" \
            "$(log_since "$mark" | grep -c "registration failed in step \"$step\"" || true)" 1
    else
        ok "failure injected in $step: the server log names the step # SKIP server log not readable"
    fi
    log_has_no_password "failure injected in $step" "$mark"
}

main() {
    cleanup_main() {
        bg_close_all
        psql -X -q -d postgres -c "SET client_min_messages = warning" \
            -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
        rm -rf -- "$SCRATCH"
    }
    on_exit cleanup_main
    setup_db
    ok "database $DB ready"

    fault_statement_timeout
    fault_cancel
    fault_terminate_blocked
    fault_terminate_mid_step
    fault_cancel_batch
    fault_terminate_deregistration
    fault_lock_wait_logged
    fault_deadlock
    fault_injected users create_user FR001
    fault_injected farms create_farm FR002
    fault_injected farmers create_farmer FR003
    check_invariants "after all faults"

    # the crash, on a cluster of its own
    env -u FARMREG_CLUSTER_DIR -u FARMREG_PGDATA -u FARMREG_SERVER_LOG \
        -u PGHOST -u PGPORT -u PGDATABASE "$0" crash \
        || not_ok "the crash-recovery part exited with status $?"
}

# ---------------------------------------------------------------------------
# Immediate shutdown with registrations in flight, on a private cluster
# ---------------------------------------------------------------------------

crash() {
    local port pgb_pid mark
    on_exit 'bg_close_all'
    on_exit 'rm_scratch'
    rm_scratch() { rm -rf -- "$SCRATCH"; }
    cluster_start faults-crash >/dev/null 2>&1 || { not_ok "crash: private cluster did not start"; return 0; }
    # cluster_stop is registered by cluster_start and runs after the hooks above
    LOG=$FARMREG_SERVER_LOG
    port=$PGPORT
    ok "crash: private cluster started in $FARMREG_CLUSTER_DIR"
    setup_db
    # the load's farms (LOAD-*) and bookkeeping, for pgbench
    sql -v farms=40 -f "$ROOT/test/load/setup.sql" >/dev/null

    # committed before the crash
    check "crash: a registration committed before the crash" \
        "$(sql -F '|' -c "$(reg_sql cr_committed cr_committed@example.com F-1)")" "RESULT|t||"

    # in flight: A done but uncommitted, B blocked behind A, C inside
    # create_farmer, and pgbench registering from 4 clients
    bg_open a
    bg_open b
    bg_open c
    bg_send a "BEGIN;"
    bg_send a "$(reg_sql cr_a cr_a@example.com F-2)"
    wait_idle_in_xact a || return 0
    bg_send b "$(reg_sql cr_b cr_b@example.com F-2)"
    wait_blocked b a || return 0
    bg_send c "$(reg_sql slow_cr_c slow_cr_c@example.com F-3)"
    wait_sleeping c || return 0
    if sql -c "SELECT to_regclass('farmreg_load.results') IS NOT NULL" | grep -q t; then
        pgbench -n -M prepared -c 4 -j 2 -T 30 -D users=100 -D farms=40 \
            -f "$ROOT/test/load/register.pgbench@8" -f "$ROOT/test/load/batch.pgbench@1" \
            -f "$ROOT/test/load/churn.pgbench@2" "$DB" >"$SCRATCH/pgbench.out" 2>&1 &
        pgb_pid=$!
        wait_for "pgbench is registering" "
            SELECT count(*) >= 10 FROM farmreg_load.results" || true
    fi
    ok "crash: registrations in flight (A uncommitted, B blocked, C mid-step, pgbench registering, in batches too, and deregistering)"

    mark=$(log_mark)
    if (cd "$FARMREG_CLUSTER_DIR" && as_pg "$PGBIN/pg_ctl" --pgdata="$FARMREG_PGDATA" \
            --mode=immediate --wait --silent stop); then
        ok "crash: pg_ctl -m immediate stop"
    else
        not_ok "crash: pg_ctl -m immediate stop failed"
    fi
    if [[ -n ${pgb_pid:-} ]]; then
        wait "$pgb_pid" 2>/dev/null || true
    fi
    bg_close_all
    if (cd "$FARMREG_CLUSTER_DIR" && as_pg "$PGBIN/pg_ctl" --pgdata="$FARMREG_PGDATA" \
            --log="$FARMREG_SERVER_LOG" --options="-p $port" --wait --timeout=60 --silent start); then
        ok "crash: the server restarted"
    else
        not_ok "crash: the server did not restart"
        tail -n 20 "$FARMREG_SERVER_LOG" | sed 's/^/#   /'
        return 0
    fi
    check "crash: the restart ran crash recovery" \
        "$(log_since "$mark" | grep -c 'automatic recovery in progress' || true)" 1
    check "crash: the committed registration survived" "$(rows_of cr_committed)" 1/1/1
    check "crash: no row of A (uncommitted), B (blocked) or C (mid-step) remains" \
        "$(rows_of cr_a cr_b slow_cr_c)" 0/0/0
    check_invariants "crash recovery"
    check "crash: every idempotency key names an existing registration" "$(sql -c "
        SELECT count(*) FROM farmreg.idempotency_keys AS k
         WHERE NOT EXISTS (SELECT FROM farmreg.farmers AS fr
                            WHERE fr.id = k.farmer_id AND fr.user_id = k.user_id AND fr.farm_id = k.farm_id)")" 0
    # the indexes the registration relies on are sound after replay
    check "crash: amcheck finds farmreg's indexes sound (heapallindexed)" "$(sql -c "
        CREATE EXTENSION IF NOT EXISTS amcheck;
        SELECT count(*) FROM (
            SELECT bt_index_check(c.oid, true)
              FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
              JOIN pg_am AS am ON am.oid = c.relam
             WHERE c.relnamespace = 'farmreg'::regnamespace AND am.amname = 'btree') AS checked" 2>&1 | tail -n 1)" \
        "$(sql -c "SELECT count(*) FROM pg_class AS c JOIN pg_am AS am ON am.oid = c.relam
                    WHERE c.relnamespace = 'farmreg'::regnamespace AND c.relkind = 'i' AND am.amname = 'btree'")"
    check "crash: the interrupted registrations can be made again" \
        "$(sql -F '|' -c "$(reg_sql cr_a cr_a@example.com F-2)"; sql -F '|' -c "$(reg_sql cr_b2 cr_b2@example.com F-3)")" \
        "RESULT|t||
RESULT|t||"
    check_invariants "after re-registering"
    log_has_no_password "crash and recovery" 0
}

case $MODE in
    main)  main ;;
    crash) crash ;;
    *)     die "usage: $0 [crash]" ;;
esac
