#!/usr/bin/env bash
#
# test/suites/standby.sh -- farmreg on a hot standby
#
# A streaming replica of the test cluster, made with pg_basebackup -R on its
# own socket directory and port.  A registration made on the primary after
# the replica started must be replayed there; then on the standby
# verify_password and error_message work, and register_farm_admin raises
# SQLSTATE 25006 (read-only transaction) -- a plain error the application
# sees, never an internal_error result.  The same holds in a READ ONLY
# transaction on the primary.  A user imported with a legacy password hash
# (sha512-crypt, made by mkpasswd) logs in on the standby, which only
# verifies: the hash is re-hashed at a login on the primary, never there.
# The standby is stopped and removed at the end.
#
# deps: whois
#
# Passwords and the server log: PostgreSQL writes the statement of a failed
# query to the log (log_min_error_statement = error), and these calls fail.
# farmreg marks its own errors hide_stmt, so the statement stays out of the
# log; the calls here pass the test password as a literal (psql) and as a
# bind parameter (pgbench -M extended, the way drivers call) and the
# standby's log is searched for it.  A control statement that PostgreSQL
# itself rejects before farmreg runs shows that the log does record failed
# statements with their literals, so finding no password means something.
#
# Run: make test SUITES=standby

# cleanup() runs from the EXIT trap (on_exit), which shellcheck cannot see.
# shellcheck disable=SC2317

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
# shellcheck source=test/ops/common.sh
source "$ROOT/test/ops/common.sh"
ops_need_cluster

DB=fr_standby
WORK=$(ops_scratch standby)
SDATA=$WORK/data
SLOG=$WORK/standby.log
SPORT=""
STARTED=0
PRIMARY=(-h "$PGHOST" -p "$PGPORT")

cleanup() {
    # keep the log for a look afterwards (log/ in the repository)
    [[ -z ${FARMREG_LOG_DIR:-} || ! -f $SLOG ]] || cp -- "$SLOG" "$FARMREG_LOG_DIR/standby-server.log" || true
    if [[ $STARTED -eq 1 ]]; then
        (cd "$WORK" && as_pg "$PGBIN/pg_ctl" -D "$SDATA" -m fast -w -t 60 stop >/dev/null 2>&1) || true
    fi
    ops_drop_db "$DB"
    rm -rf -- "$WORK"
}
on_exit cleanup

# qs [PSQL-ARGS...]: psql on the standby (unaligned, tuples only).
qs() {
    PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
        psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$WORK" -p "$SPORT" -d "$DB" "$@"
}

# ---------------------------------------------------------------------------
# The primary
# ---------------------------------------------------------------------------

wal_level=$(qv postgres "SHOW wal_level")
senders=$(qv postgres "SHOW max_wal_senders")
if [[ $wal_level =~ ^(replica|logical)$ && $senders -ge 2 ]]; then
    ok "the primary can feed a replica: wal_level = $wal_level, max_wal_senders = $senders (defaults)"
else
    not_ok "the primary can feed a replica (wal_level = $wal_level, max_wal_senders = $senders)"
    ops_summary
fi

ops_create_ext_db "$DB"
ops_seed_farms "$DB" STBY 10
out=$(ops_register "$DB" stby_alice pw-SECRET-standby-alice key-standby-alice STBY-1)
ALICE=$(cut -d'|' -f2 <<<"$out")
[[ ${out%%|*} == t ]] || not_ok "register stby_alice on the primary ($out)"

# ---------------------------------------------------------------------------
# The standby
# ---------------------------------------------------------------------------

rc=0
(cd "$WORK" && as_pg "$PGBIN/pg_basebackup" "${PRIMARY[@]}" -U "$PGUSER" -D "$SDATA" \
    -R -X stream -c fast --no-sync) >"$WORK/basebackup.log" 2>&1 || rc=$?
if [[ $rc -eq 0 && -f $SDATA/standby.signal ]] && grep -q primary_conninfo "$SDATA/postgresql.auto.conf"; then
    ok "pg_basebackup -R -X stream: a copy with standby.signal and primary_conninfo"
else
    not_ok "pg_basebackup -R -X stream (exit $rc)"
    head -n 20 "$WORK/basebackup.log" | diag
    ops_summary
fi

{
    printf '\n# --- standby settings (test/suites/standby.sh) ---\n'
    printf "listen_addresses = ''\n"
    printf "unix_socket_directories = '%s'\n" "$WORK"
    printf 'hot_standby = on\n'
    # the SQLSTATE on every log line, to check it from the log too
    printf "log_line_prefix = '%%m [%%p] %%e '\n"
} | as_pg tee -a "$SDATA/postgresql.conf" >/dev/null

for attempt in 1 2 3; do
    SPORT=$(free_port)
    if (cd "$WORK" && as_pg "$PGBIN/pg_ctl" -D "$SDATA" -l "$SLOG" -o "-p $SPORT" -w -t 60 -s start) 2>/dev/null; then
        STARTED=1
        break
    fi
done
if [[ $STARTED -eq 1 ]]; then
    ok "the standby runs (socket $WORK, port $SPORT)"
else
    not_ok "the standby starts"
    tail -n 20 "$SLOG" 2>/dev/null | diag
    ops_summary
fi
is "$(qs -c "SELECT pg_is_in_recovery()")" t "the standby is in recovery (a hot standby)"

streaming=""
for ((i = 0; i < 100; i++)); do
    streaming=$(qv postgres "SELECT state FROM pg_stat_replication LIMIT 1")
    [[ $streaming == streaming ]] && break
    sleep 0.1
done
is "$streaming" streaming "the primary streams WAL to it (pg_stat_replication)"

# A registration and a copy edit on the primary, after the standby started.
out=$(ops_register "$DB" stby_bob pw-SECRET-standby-bob key-standby-bob STBY-2)
BOB=$(cut -d'|' -f2 <<<"$out")
[[ ${out%%|*} == t ]] || not_ok "register stby_bob on the primary ($out)"
qv "$DB" "UPDATE farmreg.messages SET message = 'Standby-visible edit.' WHERE code = 'email_blank' AND locale = 'en'" >/dev/null
LEGACY_HASH=$(mkpasswd -m sha512crypt pw-SECRET-standby-legacy)
LEGACY=$(q "$DB" -v h="$LEGACY_HASH" <<'SQL'
SELECT user_id FROM farmreg.register_farm_admins(jsonb_build_array(jsonb_build_object(
         'username', 'stby_legacy', 'password_hash', :'h', 'name', 'Legacy',
         'email', 'stby_legacy@example.com', 'usda_uid', 'STBY-7'))) WHERE ok;
SQL
)
[[ -n $LEGACY ]] || not_ok "import stby_legacy with a sha512-crypt hash on the primary"
LSN=$(qv "$DB" "SELECT pg_current_wal_lsn()")
replayed=0
for ((i = 0; i < 300; i++)); do
    if [[ $(qs -c "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '$LSN') >= 0") == t ]]; then
        replayed=1
        break
    fi
    sleep 0.1
done
if [[ $replayed -eq 1 ]]; then
    ok "the standby replayed the primary's WAL up to $LSN (a registration made after it started)"
else
    not_ok "the standby replays the primary's WAL up to $LSN within 30 s"
    ops_summary
fi
is "$(qs -c "SELECT id FROM farmreg.users WHERE username = 'stby_bob'")" "$BOB" \
   "the registration made on the primary is on the standby"

# ---------------------------------------------------------------------------
# What works on the standby
# ---------------------------------------------------------------------------

got=$(qs -v pw=pw-SECRET-standby-bob <<<"SELECT concat_ws(',', farmreg.verify_password('stby_bob', :'pw'),
                                                          farmreg.verify_password('STBY_BOB@Example.COM', :'pw'),
                                                          coalesce(farmreg.verify_password('stby_bob', 'pw-SECRET-standby-wrong')::text, 'null'),
                                                          coalesce(farmreg.verify_password('nobody', :'pw')::text, 'null'))")
is "$got" "$BOB,$BOB,null,null" "verify_password works on the standby (username, email, wrong password, unknown login)"
is "$(qs -v pw=pw-SECRET-standby-alice <<<"SELECT farmreg.verify_password('stby_alice', :'pw')")" "$ALICE" \
   "verify_password works for a user from the base backup"
is "$(qs -v pw=pw-SECRET-standby-legacy <<<"SELECT farmreg.verify_password('stby_legacy', :'pw')")" "$LEGACY" \
   "a user imported with a sha512-crypt hash logs in on the standby"
is "$(qv "$DB" "SELECT password_hash = '$LEGACY_HASH' FROM farmreg.users WHERE id = ${LEGACY:-0}")" t \
   "the standby only verified: the imported hash is unchanged"
is "$(q "$DB" -v pw=pw-SECRET-standby-legacy <<<"SELECT farmreg.verify_password('stby_legacy', :'pw')")" "$LEGACY" \
   "the same login on the primary ..."
is "$(qv "$DB" "SELECT (farmreg.password_hash_info(password_hash)).format FROM farmreg.users WHERE id = ${LEGACY:-0}")" argon2id \
   "... re-hashes it to argon2id"
is "$(qs -c "SELECT farmreg.error_message('email_blank') || ' / ' || farmreg.error_message('username_taken', 'es-MX')")" \
   "Standby-visible edit. / $(qv "$DB" "SELECT message FROM farmreg.messages WHERE code = 'username_taken' AND locale = 'es'")" \
   "error_message works on the standby, with the replayed copy edit and the es fallback"

# ---------------------------------------------------------------------------
# register_farm_admin on the standby: SQLSTATE 25006
# ---------------------------------------------------------------------------

# read_only_attempt PSQL-ARGS...: psql with VERBOSITY verbose, the password a
# literal in the statement (farmreg keeps the failed statement out of the
# log; the log checks below make sure).
read_only_attempt() {
    psql -X -q -A -t -v ON_ERROR_STOP=0 -v pw=pw-SECRET-standby-carol "$@" 2>&1 <<'SQL'
\set VERBOSITY verbose
SELECT 'result: ' || r::text
  FROM farmreg.register_farm_admin('stby_carol', :'pw', 'Carol',
                                   'stby_carol@example.com', 'STBY-3', 'key-standby-carol', 'es') AS r;
\echo sqlstate=:LAST_ERROR_SQLSTATE
\echo message=:LAST_ERROR_MESSAGE
SQL
}
out=$(read_only_attempt -h "$WORK" -p "$SPORT" -d "$DB")
if grep -q '^sqlstate=25006$' <<<"$out" && ! grep -q '^result:' <<<"$out"; then
    ok "register_farm_admin on the standby raises SQLSTATE 25006, no result row"
else
    not_ok "register_farm_admin on the standby raises SQLSTATE 25006, no result row"
    diag "$out"
fi
msg=$(sed -n 's/^message=//p' <<<"$out")
if [[ $msg == *"read-only transaction"* ]]; then
    ok "the error says what happened: $msg"
else
    not_ok "the error names the read-only transaction (got: $msg)"
fi

# The same in a READ ONLY transaction on the primary (a client routed to the
# wrong server, default_transaction_read_only, ...).
out=$(PGOPTIONS="-c default_transaction_read_only=on" read_only_attempt "${PRIMARY[@]}" -d "$DB")
if grep -q '^sqlstate=25006$' <<<"$out" && ! grep -q '^result:' <<<"$out"; then
    ok "register_farm_admin in a read-only transaction on the primary raises SQLSTATE 25006"
else
    not_ok "register_farm_admin in a read-only transaction on the primary raises SQLSTATE 25006"
    diag "$out"
fi
is "$(qv "$DB" "SELECT count(*) FROM farmreg.users WHERE username = 'stby_carol'")" 0 \
   "nothing was written by the read-only attempts"

# Every other function that writes, when this version has it: the same
# read-only error, never a result.  (Consumers poll the primary: polling
# gives events their positions, which is a write.)
# sqlstate_of SQL: the SQLSTATE a statement on the standby ends with.
sqlstate_of() {
    psql -X -q -A -t -v ON_ERROR_STOP=0 -h "$WORK" -p "$SPORT" -d "$DB" 2>/dev/null <<SQL | sed -n 's/^sqlstate=//p'
\set VERBOSITY verbose
$1;
\echo sqlstate=:LAST_ERROR_SQLSTATE
SQL
}
declare -A WRITERS=(
    [register_farm_admins]="SELECT * FROM farmreg.register_farm_admins('[{\"username\": \"stby_frank\", \"password\": \"pw-SECRET-standby-frank\", \"name\": \"Frank\", \"email\": \"stby_frank@example.com\", \"usda_uid\": \"STBY-6\"}]')"
    [deregister_farm_admin]="SELECT farmreg.deregister_farm_admin($ALICE, 'standby test')"
    [poll_events]="SELECT * FROM farmreg.poll_events('standby-consumer', 10)"
    [ack_events]="SELECT farmreg.ack_events('standby-consumer', 1)"
    [purge_idempotency_keys]="SELECT farmreg.purge_idempotency_keys('0 seconds')"
)
for fn in $(printf '%s\n' "${!WRITERS[@]}" | sort); do
    if ! ops_has_function "$DB" "$fn"; then
        continue
    fi
    is "$(sqlstate_of "${WRITERS[$fn]}")" 25006 "$fn on the standby raises SQLSTATE 25006"
done

# A driver's call: pgbench -M extended, the password a bind parameter.
cat >"$WORK/register.sql" <<'EOF'
SELECT * FROM farmreg.register_farm_admin('stby_dave', :pw::text, 'Dave', 'stby_dave@example.com', 'STBY-4');
EOF
rc=0
pgbench -n -M extended -h "$WORK" -p "$SPORT" -t 1 -f "$WORK/register.sql" -D pw=pw-SECRET-standby-dave "$DB" \
    >"$WORK/pgbench.out" 2>&1 || rc=$?
if [[ $rc -ne 0 ]] && grep -q 'cannot execute register_farm_admin() in a read-only transaction' "$WORK/pgbench.out"; then
    ok "a driver calling with bind parameters (pgbench -M extended) gets the read-only error too"
else
    not_ok "a driver calling with bind parameters (pgbench -M extended) gets the read-only error"
    head -n 10 "$WORK/pgbench.out" | diag
fi

# Control: a statement PostgreSQL rejects itself (no such function), before
# farmreg runs, is logged with its literals.
psql -X -q -h "$WORK" -p "$SPORT" -d "$DB" \
    -c "SELECT farmreg.register_farm_admin('stby_erin', 'not-a-secret-standby-control')" \
    >/dev/null 2>&1 || true

# ---------------------------------------------------------------------------
# The standby's log
# ---------------------------------------------------------------------------

n25006=$(grep -c -E ' 25006 ERROR: +cannot execute register_farm_admin\(\) in a read-only transaction' "$SLOG" || true)
if [[ $n25006 -ge 2 ]]; then
    ok "the standby's log shows the calls as SQLSTATE 25006 errors ($n25006)"
else
    not_ok "the standby's log shows the calls as SQLSTATE 25006 errors (found $n25006, want 2)"
    grep -E 'ERROR' "$SLOG" | head -n 5 | diag
fi
# (the functions that take passwords; deregistration's statement may show)
stmts=$(awk '/ 25006 ERROR: +cannot execute register_farm_admins?\(\)/ {getline nxt; if (nxt ~ /STATEMENT:/) n++}
             END {print n + 0}' "$SLOG")
is "$stmts" 0 "the read-only errors of the password-taking functions are logged without their statement (hide_stmt)"
if grep -q -E 'STATEMENT: .*not-a-secret-standby-control' "$SLOG"; then
    ok "control: a statement PostgreSQL itself rejects is in the standby's log with its literals"
else
    not_ok "control: the standby's log records failed statements with their literals"
fi
ops_log_has_no_secret "$SLOG" "standby"
ops_log_has_no_crash "$SLOG" "standby"

# ---------------------------------------------------------------------------
# Stop and remove it; nothing is left behind on the primary
# ---------------------------------------------------------------------------

if (cd "$WORK" && as_pg "$PGBIN/pg_ctl" -D "$SDATA" -m fast -w -t 60 -s stop); then
    STARTED=0
    ok "the standby stops"
else
    not_ok "the standby stops"
fi
is "$(qv postgres "SELECT count(*) FROM pg_replication_slots")" 0 "no replication slot is left on the primary"

ops_summary
