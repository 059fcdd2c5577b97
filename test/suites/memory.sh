#!/usr/bin/env bash
#
# test/suites/memory.sh -- backend memory stays flat over many registrations
# in one session.
#
# One psql session makes MEMORY_CALLS (1,500) calls of register_farm_admin,
# each its own statement and transaction, as an application would.  Besides
# successful registrations the mix has validation rejections, stored results
# returned for a repeated idempotency key, a unique violation met inside a
# step (a test trigger inserts the conflicting row first, as a concurrent
# session would), internal errors (a test trigger raising in create_farmer),
# errors that escape (a trigger raising 40001, re-raised to the client),
# batches (register_farm_admins) and deregistrations.
#
# The sum of total_bytes over pg_backend_memory_contexts is read after call
# MEMORY_FROM (500, once plans and caches are warm) and after the last call;
# the growth must be at most MEMORY_MAX_GROWTH bytes (1 MB).  The figures, and
# the memory contexts that grew most, go to the log as "# ..." lines.

set -euo pipefail

ROOT=${FARMREG_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
pg_resolve

DB=${MEMORY_DB:-farmreg_memory}
CALLS=${MEMORY_CALLS:-1500}
FROM=${MEMORY_FROM:-500}
MAX_GROWTH=${MEMORY_MAX_GROWTH:-1048576}
export PGOPTIONS="${PGOPTIONS:-} -c farmreg.password_opslimit=1 -c farmreg.password_memlimit=8kB"

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/farmreg-memory.XXXXXX")
cleanup() {
    psql -X -q -d postgres -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
    if [[ ${MEMORY_KEEP_SCRATCH:-0} == 1 ]]; then
        log "memory: scratch files kept in $SCRATCH"
    else
        rm -rf -- "$SCRATCH"
    fi
}
on_exit cleanup

sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
sql -v farms="$CALLS" >/dev/null <<'EOF'
SET client_min_messages = warning;
CREATE EXTENSION farmreg;
INSERT INTO farmreg.usda_farms (usda_uid, name)
SELECT 'M-' || g, 'Farm ' || g FROM generate_series(1, :farms) AS g;

-- create_farmer fails for usernames starting with "boom" (internal_error),
-- and raises a serialization failure for "retry" (re-raised to the client)
CREATE FUNCTION public.fail_some() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text := (SELECT u.username FROM farmreg.users AS u WHERE u.id = NEW.user_id);
BEGIN
    IF who LIKE 'boom%' THEN
        RAISE EXCEPTION 'injected failure' USING ERRCODE = 'FR001';
    ELSIF who LIKE 'retry%' THEN
        RAISE EXCEPTION 'injected serialization failure' USING ERRCODE = '40001';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER fail_some BEFORE INSERT ON farmreg.farmers
    FOR EACH ROW EXECUTE FUNCTION public.fail_some();

-- for usernames starting with "race", another user with the same email
-- appears just before ours: a unique violation inside create_user
CREATE FUNCTION public.race_email() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.username LIKE 'race%' THEN
        INSERT INTO farmreg.users (username, email, name, password_hash)
        VALUES ('thief' || NEW.username, NEW.email, 'Thief',
                '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA');
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER race_email BEFORE INSERT ON farmreg.users
    FOR EACH ROW EXECUTE FUNCTION public.race_email();
EOF
printf 'ok - database %s ready\n' "$DB"

# The session's script: one call per statement; the memory contexts (name
# and total bytes, summed per name) are written out after call 10 (for
# information), after call FROM and after the last one.
snapshot() {   # NAME
    cat <<EOF
\\o $SCRATCH/contexts_$1.txt
SELECT name, sum(total_bytes) FROM pg_backend_memory_contexts GROUP BY name ORDER BY name;
EOF
}

{
    printf '\\set ON_ERROR_STOP 0\n\\set QUIET 1\n\\pset format unaligned\n\\pset tuples_only on\n'
    printf '\\o %s/results_1.txt\n' "$SCRATCH"
    for ((i = 1; i <= CALLS; i++)); do
        case $((i % 20)) in
            3 | 13)  # validation: password too short, unknown farm
                printf "SELECT error_code, failed_step FROM farmreg.register_farm_admin('bad%d', 'short', 'X', 'bad%d@example.com', 'NOPE-%d');\n" "$i" "$i" "$i" ;;
            5 | 15)  # the same key and request as the call before: its stored result
                printf "SELECT 'replay', ok FROM farmreg.register_farm_admin('user%d', 'pw-SECRET-mem-%d', 'User', 'user%d@example.com', 'M-%d', 'key-%d');\n" "$((i - 1))" "$((i - 1))" "$((i - 1))" "$((i - 1))" "$((i - 1))" ;;
            7)       # internal_error in create_farmer
                printf "SELECT error_code, failed_step FROM farmreg.register_farm_admin('boom%d', 'pw-SECRET-mem-%d', 'User', 'boom%d@example.com', 'M-%d');\n" "$i" "$i" "$i" "$i" ;;
            9)       # a unique violation inside create_user
                printf "SELECT error_code, failed_step FROM farmreg.register_farm_admin('race%d', 'pw-SECRET-mem-%d', 'User', 'race%d@example.com', 'M-%d');\n" "$i" "$i" "$i" "$i" ;;
            11)      # 40001, re-raised: the statement fails
                printf "SELECT error_code FROM farmreg.register_farm_admin('retry%d', 'pw-SECRET-mem-%d', 'User', 'retry%d@example.com', 'M-%d');\n" "$i" "$i" "$i" "$i" ;;
            17)      # a batch of two: a registration and a validation rejection
                printf "SELECT 'batch', ordinal, coalesce(error_code, 'ok') FROM farmreg.register_farm_admins(jsonb_build_array(jsonb_build_object('username', 'user%d', 'password', 'pw-SECRET-mem-%d', 'name', 'User', 'email', 'user%d@example.com', 'usda_uid', 'M-%d'), jsonb_build_object('username', 'bad%d', 'password', 'short', 'name', 'X', 'email', 'bad%d@example.com', 'usda_uid', 'NOPE')));\n" "$i" "$i" "$i" "$i" "$i" "$i" ;;
            19)      # the registration of the call before, undone
                printf "SELECT 'dereg', farmreg.deregister_farm_admin(id, 'memory') FROM farmreg.users WHERE username = 'user%d';\n" "$((i - 1))" ;;
            *)       # a registration, keyed
                printf "SELECT 'ok', ok FROM farmreg.register_farm_admin('user%d', 'pw-SECRET-mem-%d', 'User', 'user%d@example.com', 'M-%d', 'key-%d');\n" "$i" "$i" "$i" "$i" "$i" ;;
        esac
        if [[ $i -eq 10 || $i -eq $FROM ]]; then
            snapshot "$i"
            printf '\\o %s/results_%d.txt\n' "$SCRATCH" "$i"
        fi
    done
    snapshot "$CALLS"
    printf '\\o\n'
} >"$SCRATCH/session.sql"

start=$EPOCHREALTIME
psql -X -d "$DB" -f "$SCRATCH/session.sql" >"$SCRATCH/session.out" 2>"$SCRATCH/session.err" || true
elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

total() { [[ -s $SCRATCH/contexts_$1.txt ]] && awk -F '|' '{ s += $2 } END { print s }' "$SCRATCH/contexts_$1.txt"; }
early_bytes=$(total 10 || true)
from_bytes=$(total "$FROM" || true)
to_bytes=$(total "$CALLS" || true)
if [[ -z $from_bytes || -z $to_bytes ]]; then
    printf 'not ok - the session did not report its memory\n'
    head -n 20 "$SCRATCH/session.out" "$SCRATCH/session.err" | sed 's/^/#   /'
    exit 0
fi

# What the calls returned, counted by kind.
count() { cat "$SCRATCH"/results_*.txt | grep -c -x -F -- "$1" || true; }
n_ok=$(count 'ok|t')
n_replay=$(count 'replay|t')
n_validate=$(count 'password_too_short|validate')
n_internal=$(count 'internal_error|create_farmer')
n_race=$(count 'email_already_claimed|create_user')
n_raised=$(grep -c 'ERROR:  injected serialization failure' "$SCRATCH/session.err" || true)
n_other_errors=$(grep 'ERROR:' "$SCRATCH/session.err" | grep -v -c 'injected serialization failure' || true)

expect() {   # WHAT GOT WANT
    if [[ $2 == "$3" ]]; then
        printf 'ok - %s: %s\n' "$1" "$2"
    else
        printf 'not ok - %s: %s, expected %s\n' "$1" "$2" "$3"
    fi
}
# how many calls of each kind the loop made
kinds() {   # REMAINDERS...
    local n=0 r i
    for ((i = 1; i <= CALLS; i++)); do
        for r in "$@"; do
            [[ $((i % 20)) -eq $r ]] && n=$((n + 1))
        done
    done
    echo "$n"
}
expect "registrations" "$n_ok" "$(kinds 0 1 2 4 6 8 10 12 14 16 18)"
expect "batches (one registration, one rejection each)" \
    "$(count 'batch|1|ok')/$(count 'batch|2|password_too_short')" "$(kinds 17)/$(kinds 17)"
expect "deregistrations" "$(count 'dereg|t')" "$(kinds 19)"
expect "stored results returned for a repeated key" "$n_replay" "$(kinds 5 15)"
expect "validation rejections" "$n_validate" "$(kinds 3 13)"
expect "internal errors (failure injected in create_farmer)" "$n_internal" "$(kinds 7)"
expect "unique violations met inside create_user" "$n_race" "$(kinds 9)"
expect "serialization failures re-raised to the client" "$n_raised" "$(kinds 11)"
expect "other errors" "$n_other_errors" 0

growth=$((to_bytes - from_bytes))
printf '# %d calls in one session in %s s\n' "$CALLS" "$elapsed"
printf '# backend memory (sum of pg_backend_memory_contexts.total_bytes): %s bytes after call 10, %d after call %d, %d after call %d: %+d bytes\n' \
    "${early_bytes:-?}" "$from_bytes" "$FROM" "$to_bytes" "$CALLS" "$growth"
printf '# contexts that changed between call %d and call %d (none listed: no change):\n' "$FROM" "$CALLS"
join -t '|' -a 1 -a 2 -e 0 -o 0,1.2,2.2 \
    <(sort -t '|' -k 1,1 "$SCRATCH/contexts_$FROM.txt") <(sort -t '|' -k 1,1 "$SCRATCH/contexts_$CALLS.txt") |
    awk -F '|' '{ d = $3 - $2; if (d != 0) printf "%d|%s|%d|%d\n", (d < 0 ? -d : d), $1, $2, $3 }' |
    sort -t '|' -k 1,1 -n -r | head -n 8 |
    awk -F '|' '{ printf "#   %-40s %10d -> %10d (%+d)\n", $2, $3, $4, $4 - $3 }'
if [[ $growth -le $MAX_GROWTH ]]; then
    printf 'ok - backend memory grew by %d bytes between call %d and call %d (at most %d)\n' \
        "$growth" "$FROM" "$CALLS" "$MAX_GROWTH"
else
    printf 'not ok - backend memory grew by %d bytes between call %d and call %d (at most %d)\n' \
        "$growth" "$FROM" "$CALLS" "$MAX_GROWTH"
fi
