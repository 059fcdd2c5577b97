#!/usr/bin/env bash
#
# test/suites/dump_restore.sh -- pg_dump -Fc / pg_restore keeps everything an
# operator has in farmreg
#
# A database with registrations (with and without idempotency keys), copy
# edits in farmreg.messages (a shipped row changed, rows in a new locale) and,
# when the installed version has them, outbox events and consumer positions,
# is dumped with pg_dump -Fc and restored with pg_restore into a new database
# (serially, and in parallel with the sectioned recipe the README gives: a
# plain pg_restore -j cannot load farmreg's tables, see below).  Checked: no error and no output from either; the
# dump carries exactly the edited catalog rows (the unedited shipped ones come
# from CREATE EXTENSION, so they cannot collide); every table and every
# sequence position is identical; passwords verify; old idempotency keys
# replay their registrations; new registrations get ids above the old ones.
# The same dump is also restored into a brand-new cluster (a move to a new
# server: transaction ids start low again there).
#
# Run: make test SUITES=dump_restore

# cleanup() runs from the EXIT trap (on_exit), which shellcheck cannot see.
# shellcheck disable=SC2317

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
# shellcheck source=test/ops/common.sh
source "$ROOT/test/ops/common.sh"
ops_need_cluster

WORK=$(ops_scratch dump)
SRC=fr_dump_src
DST=fr_dump_dst
DSTJ=fr_dump_dst_j
DEL=fr_dump_deleted
DELDST=fr_dump_deleted_dst
MOVED=fr_dump_moved
NEWC=""

cleanup() {
    local d
    # keep the log for a look afterwards (log/ in the repository)
    [[ -z ${FARMREG_LOG_DIR:-} || -z $NEWC || ! -f $NEWC/server.log ]] || cp -- "$NEWC/server.log" "$FARMREG_LOG_DIR/dump-new-cluster-server.log" || true
    [[ -z $NEWC ]] || { ops_stop_cluster "$NEWC"; rm -rf -- "$NEWC"; }
    for d in "$SRC" "$DST" "$DSTJ" "$DEL" "$DELDST"; do
        ops_drop_db "$d"
    done
    rm -rf -- "$WORK"
}
on_exit cleanup

# ---------------------------------------------------------------------------
# The source database
# ---------------------------------------------------------------------------

ops_create_ext_db "$SRC"
ops_seed_farms "$SRC" DUMP 50
# Use up some transaction ids first, so that the source's rows carry ids well
# above where a brand-new cluster starts (see "Moving to a new server").
qv "$SRC" "DO \$\$ BEGIN
             CREATE TEMP TABLE burn (i int);
             FOR i IN 1..5000 LOOP
               BEGIN INSERT INTO burn VALUES (i); EXCEPTION WHEN OTHERS THEN NULL; END;
             END LOOP;
           END \$\$" >/dev/null

declare -A PW=() IDS=() KEYS=() UIDS=()
USERS=(alice bob carol dave erin)
n=0
for user in "${USERS[@]}"; do
    n=$((n + 1))
    key=""
    # three of the five come with an idempotency key
    [[ $n -le 3 ]] && key="key-dump-$user"
    PW[$user]="pw-SECRET-dump-$user"
    KEYS[$user]=$key
    UIDS[$user]="DUMP-$n"
    out=$(ops_register "$SRC" "$user" "${PW[$user]}" "$key" "DUMP-$n")
    IFS='|' read -r okv uid fid frid _ <<<"$out"
    if [[ $okv != t ]]; then
        not_ok "register $user in the source database"
        diag "result: $out"
    fi
    IDS[$user]="$uid|$fid|$frid"
done
# a rejected registration writes nothing (and must not disturb anything)
out=$(ops_register "$SRC" alice "pw-SECRET-dump-again" "" "DUMP-9")
is "${out%%|*}|${out##*|}" "f|username_taken" "a rejected registration in the source database is rejected"

# the operator's copy edits: a shipped row changed, a new locale added, a
# Spanish row changed
q "$SRC" >/dev/null <<'SQL'
UPDATE farmreg.messages SET message = 'Operator copy: that username is gone, sorry.'
 WHERE code = 'username_taken' AND locale = 'en';
UPDATE farmreg.messages SET message = 'Copia del operador: ese nombre ya existe.'
 WHERE code = 'username_taken' AND locale = 'es';
INSERT INTO farmreg.messages (code, locale, message)
VALUES ('username_taken', 'fr', 'Ce nom d''utilisateur est déjà pris.'),
       ('email_invalid', 'fr', 'Cette adresse e-mail ne semble pas valide.');
SQL

# Later versions: outbox events and consumer positions, when they exist.
HAS_OUTBOX=0
if ops_has_function "$SRC" poll_events && ops_has_function "$SRC" ack_events; then
    HAS_OUTBOX=1
    last=$(qv "$SRC" "SELECT max(id) FROM (SELECT id FROM farmreg.poll_events('dump-billing', 3)) AS e")
    is "$(qv "$SRC" "SELECT farmreg.ack_events('dump-billing', $last)")" t \
       "outbox: consumer dump-billing acknowledged event $last"
    qv "$SRC" "SELECT count(*) FROM farmreg.poll_events('dump-audit', 1)" >/dev/null
    # one more registration after the acknowledgement: an event no consumer
    # has seen yet when the dump is taken
    USERS+=(fiona)
    PW[fiona]="pw-SECRET-dump-fiona"
    KEYS[fiona]="key-dump-fiona"
    UIDS[fiona]="DUMP-6"
    out=$(ops_register "$SRC" fiona "${PW[fiona]}" "${KEYS[fiona]}" DUMP-6)
    IFS='|' read -r okv uid fid frid _ <<<"$out"
    [[ $okv == t ]] || not_ok "register fiona in the source database ($out)"
    IDS[fiona]="$uid|$fid|$frid"
    qv "$SRC" "SELECT id FROM farmreg.poll_events('dump-billing', 100) ORDER BY id" >"$WORK/poll-src.txt"
    is "$(qv "$SRC" "SELECT count(*) FROM farmreg.events")" "${#USERS[@]}" \
       "outbox: one event per registration in the source database"
else
    diag "this version has no outbox (poll_events/ack_events): events and consumer positions not exercised"
fi

# The catalog rows that differ from the shipped copy: what the dump must carry.
EDITED_SQL="SELECT line FROM (SELECT code || ' | ' || locale || ' | ' || message AS line
                                FROM farmreg.messages AS m
                               WHERE NOT EXISTS (SELECT 1 FROM farmreg.shipped_messages AS s
                                                  WHERE s.code = m.code AND s.locale = m.locale
                                                    AND s.message = m.message)) AS x
             ORDER BY line COLLATE \"C\""
qv "$SRC" "$EDITED_SQL" >"$WORK/edited-src.txt"
is "$(wc -l <"$WORK/edited-src.txt")" 4 "the source database has 4 catalog rows the operator edited or added"

ops_fingerprint "$SRC" >"$WORK/fingerprint-src.txt"
MAX_SQL="SELECT (SELECT max(id) FROM farmreg.users) || '|' || (SELECT max(id) FROM farmreg.farms) || '|'
             || (SELECT max(id) FROM farmreg.farmers)"
OLD_MAX=$(qv "$SRC" "$MAX_SQL")

# ---------------------------------------------------------------------------
# Dump
# ---------------------------------------------------------------------------

DUMP=$WORK/farmreg.dump
rc=0
pg_dump -Fc -f "$DUMP" "$SRC" 2>"$WORK/dump.err" || rc=$?
if [[ $rc -eq 0 && ! -s $WORK/dump.err ]]; then
    ok "pg_dump -Fc: exit status 0, nothing on stderr"
else
    not_ok "pg_dump -Fc: exit status 0, nothing on stderr (status $rc)"
    head -n 20 "$WORK/dump.err" | diag
fi

# What the dump carries for the message catalog: the edited rows only.
pg_restore --data-only --table=messages -f "$WORK/messages-data.sql" "$DUMP"
dumped=$(awk '/^COPY farmreg\.messages /{on=1; next} on && /^\\\.$/{on=0} on' "$WORK/messages-data.sql" \
         | awk -F'\t' '{print $1 " | " $2 " | " $3}' | LC_ALL=C sort)
if [[ $dumped == "$(cat "$WORK/edited-src.txt")" ]]; then
    ok "the dump holds exactly the 4 edited or added catalog rows, none of the unedited shipped ones"
else
    not_ok "the dump holds exactly the edited or added catalog rows"
    diag "dumped:" "$dumped" "edited:" "$(cat "$WORK/edited-src.txt")"
fi
for t in users farms farmers usda_farms idempotency_keys; do
    if ! pg_restore -l "$DUMP" | grep -q -E "TABLE DATA farmreg $t "; then
        not_ok "the dump holds the data of farmreg.$t"
    fi
done
if [[ $(pg_restore -l "$DUMP" | grep -c -E 'SEQUENCE SET farmreg ') -ge 4 ]]; then
    ok "the dump holds the data of every operator table and the sequence positions"
else
    not_ok "the dump holds the sequence positions (SEQUENCE SET entries)"
    pg_restore -l "$DUMP" | grep -E 'farmreg' | diag
fi

# ---------------------------------------------------------------------------
# Restore, serially and in parallel
# ---------------------------------------------------------------------------

restore() {
    local db=$1 what=$2 rc=0
    shift 2
    ops_create_db "$db"
    pg_restore "$@" -d "$db" "$DUMP" >"$WORK/restore-$db.out" 2>&1 || rc=$?
    if [[ $rc -eq 0 && ! -s $WORK/restore-$db.out ]]; then
        ok "$what: exit status 0, no output"
    else
        not_ok "$what: exit status 0, no output (status $rc)"
        head -n 30 "$WORK/restore-$db.out" | diag
    fi
}
restore "$DST" "pg_restore into a new database"

# A plain parallel restore (-j) loads the tables' data concurrently, ignoring
# the order that the foreign keys between farmreg's tables need (the keys
# exist already: CREATE EXTENSION made them).  A known limitation of
# pg_restore with extension tables; the README gives the recipe checked next.
ops_create_db "$DSTJ"
rc=0
pg_restore -j 2 -d "$DSTJ" "$DUMP" >"$WORK/restore-j.out" 2>&1 || rc=$?
if [[ $rc -eq 0 && ! -s $WORK/restore-j.out ]]; then
    ok "plain pg_restore -j 2 happened to load in a working order this time (not guaranteed: see the README)"
else
    printf 'not ok - plain pg_restore -j 2 loads farmreg data in foreign-key order # TODO pg_restore -j ignores the load order of extension tables; use the sectioned recipe\n'
    grep -m 2 'violates foreign key' "$WORK/restore-j.out" | diag || true
fi

# The recipe for a parallel restore: schema first, everything else's data in
# parallel, farmreg's data serially, then indexes and constraints in parallel.
ops_create_db "$DSTJ"
rc=0
{
    pg_restore --section=pre-data -d "$DSTJ" "$DUMP" &&
    pg_restore --section=data --exclude-schema=farmreg -j 2 -d "$DSTJ" "$DUMP" &&
    pg_restore --section=data --schema=farmreg -d "$DSTJ" "$DUMP" &&
    pg_restore --section=post-data -j 2 -d "$DSTJ" "$DUMP"
} >"$WORK/restore-recipe.out" 2>&1 || rc=$?
if [[ $rc -eq 0 && ! -s $WORK/restore-recipe.out ]]; then
    ok "parallel restore recipe (pre-data; data -N farmreg -j 2; data -n farmreg; post-data -j 2): no error, no output"
else
    not_ok "parallel restore recipe (pre-data; data -N farmreg -j 2; data -n farmreg; post-data -j 2): no error, no output (status $rc)"
    head -n 20 "$WORK/restore-recipe.out" | diag
fi

for db in "$DST" "$DSTJ"; do
    ops_fingerprint "$db" >"$WORK/fingerprint-$db.txt"
    if diff -q "$WORK/fingerprint-src.txt" "$WORK/fingerprint-$db.txt" >/dev/null; then
        ok "$db: every table and sequence position is identical to the source ($(wc -l <"$WORK/fingerprint-src.txt") compared)"
    else
        not_ok "$db: every table and sequence position is identical to the source"
        diag "'-' source, '+' restored:"
        diff -U0 "$WORK/fingerprint-src.txt" "$WORK/fingerprint-$db.txt" | grep -E '^[-+][^-+]' | diag || true
    fi
done

# ---------------------------------------------------------------------------
# The restored database works
# ---------------------------------------------------------------------------

qv "$DST" "$EDITED_SQL" >"$WORK/edited-dst.txt"
if diff -q "$WORK/edited-src.txt" "$WORK/edited-dst.txt" >/dev/null; then
    ok "the restored catalog has every copy edit"
else
    not_ok "the restored catalog has every copy edit"
    diff "$WORK/edited-src.txt" "$WORK/edited-dst.txt" | diag || true
fi
is "$(qv "$DST" "SELECT farmreg.error_message('username_taken', 'en') || ' / ' || farmreg.error_message('username_taken', 'es-MX') || ' / ' || farmreg.error_message('email_invalid', 'fr_FR')")" \
   "Operator copy: that username is gone, sorry. / Copia del operador: ese nombre ya existe. / Cette adresse e-mail ne semble pas valide." \
   "error_message serves the edited and added copy after the restore"
is "$(qv "$DST" "SELECT count(*) FROM farmreg.messages")" "$(qv "$SRC" "SELECT count(*) FROM farmreg.messages")" \
   "the restored catalog has as many rows as the source (no duplicates, none lost)"

bad=0
for user in "${USERS[@]}"; do
    got=$(q "$DST" -v u="$user" -v pw="${PW[$user]}" <<<"SELECT farmreg.verify_password(:'u', :'pw')")
    [[ $got == "${IDS[$user]%%|*}" ]] || { bad=1; diag "verify_password($user) = '$got', want ${IDS[$user]%%|*}"; }
    got=$(q "$DST" -v u="$user@EXAMPLE.com" <<<"SELECT coalesce(farmreg.verify_password(:'u', 'pw-SECRET-dump-wrong')::text, 'null')")
    [[ $got == null ]] || { bad=1; diag "verify_password($user, wrong password) = '$got'"; }
done
if [[ $bad -eq 0 ]]; then
    ok "passwords verify after the restore (${#USERS[@]} right ones, ${#USERS[@]} wrong ones)"
else
    not_ok "passwords verify after the restore"
fi

if [[ $HAS_OUTBOX -eq 1 ]]; then
    qv "$DST" "SELECT id FROM farmreg.poll_events('dump-billing', 100) ORDER BY id" >"$WORK/poll-dst.txt"
    if diff -q "$WORK/poll-src.txt" "$WORK/poll-dst.txt" >/dev/null; then
        ok "outbox: consumer dump-billing resumes at its acknowledged position after the restore"
    else
        not_ok "outbox: consumer dump-billing resumes at its acknowledged position after the restore"
        diag "source: $(tr '\n' ' ' <"$WORK/poll-src.txt")" "restored: $(tr '\n' ' ' <"$WORK/poll-dst.txt")"
    fi
fi

counts_sql="SELECT (SELECT count(*) FROM farmreg.users) || '/' || (SELECT count(*) FROM farmreg.farms) || '/'
                || (SELECT count(*) FROM farmreg.farmers) || '/' || (SELECT count(*) FROM farmreg.idempotency_keys)"
before=$(qv "$DST" "$counts_sql")
bad=0
for user in "${USERS[@]}"; do
    [[ -n ${KEYS[$user]} ]] || continue
    out=$(ops_register "$DST" "$user" "pw-SECRET-dump-retry" "${KEYS[$user]}" "${UIDS[$user]}")
    IFS='|' read -r okv uid fid frid _ <<<"$out"
    [[ "$okv|$uid|$fid|$frid" == "t|${IDS[$user]}" ]] || { bad=1; diag "retry with ${KEYS[$user]}: $out, want t|${IDS[$user]}"; }
done
if [[ $bad -eq 0 && $(qv "$DST" "$counts_sql") == "$before" ]]; then
    ok "idempotent retries of old keys return the old ids and write nothing"
else
    not_ok "idempotent retries of old keys return the old ids and write nothing"
    diag "row counts (users/farms/farmers/keys) before $before, after $(qv "$DST" "$counts_sql")"
fi

IFS='|' read -r mu mf mr <<<"$OLD_MAX"
for db in "$DST" "$DSTJ"; do
    bad=0
    k=30
    for user in frank grace; do
        k=$((k + 1))
        out=$(ops_register "$db" "$user" "pw-SECRET-dump-$user" "key-dump-$user" "DUMP-$k")
        IFS='|' read -r okv uid fid frid _ <<<"$out"
        if [[ $okv != t ]] || ((uid <= mu || fid <= mf || frid <= mr)); then
            bad=1
            diag "$db: register $user: $out (old maxima $OLD_MAX)"
        fi
    done
    if [[ $bad -eq 0 ]]; then
        ok "$db: new registrations succeed with ids above the old maxima ($OLD_MAX)"
    else
        not_ok "$db: new registrations succeed with ids above the old maxima"
    fi
done
if [[ $HAS_OUTBOX -eq 1 ]]; then
    is "$(qv "$DST" "SELECT count(*) FROM farmreg.events")" "$((${#USERS[@]} + 2))" \
       "outbox: the new registrations appended events after the restored ones"
fi

# ---------------------------------------------------------------------------
# Moving to a new server: the same dump restored into a brand-new cluster,
# whose transaction ids start low again (anything that compares stored
# transaction ids with the current ones must still work).
# ---------------------------------------------------------------------------

NEWC=$(ops_scratch newcluster)
if NEWPORT=$(ops_new_cluster "$NEWC"); then
    on_new() { PGHOST=$NEWC PGPORT=$NEWPORT "$@"; }
    diag "source cluster's next transaction id $(qv "$SRC" "SELECT pg_current_xact_id()"), new cluster's $(on_new qv postgres "SELECT pg_current_xact_id()")"
    on_new ops_create_db "$MOVED"
    rc=0
    on_new pg_restore -d "$MOVED" "$DUMP" >"$WORK/restore-moved.out" 2>&1 || rc=$?
    if [[ $rc -eq 0 && ! -s $WORK/restore-moved.out ]]; then
        ok "pg_restore into a new cluster: exit status 0, no output"
    else
        not_ok "pg_restore into a new cluster: exit status 0, no output (status $rc)"
        head -n 20 "$WORK/restore-moved.out" | diag
    fi
    if [[ $(on_new ops_fingerprint "$MOVED") == "$(cat "$WORK/fingerprint-src.txt")" ]]; then
        ok "new cluster: every table and sequence position is identical to the source"
    else
        not_ok "new cluster: every table and sequence position is identical to the source"
        diff -U0 "$WORK/fingerprint-src.txt" <(on_new ops_fingerprint "$MOVED") | grep -E '^[-+][^-+]' | diag || true
    fi
    if [[ $HAS_OUTBOX -eq 1 ]]; then
        on_new qv "$MOVED" "SELECT id FROM farmreg.poll_events('dump-billing', 100) ORDER BY id" >"$WORK/poll-moved.txt"
        if diff -q "$WORK/poll-src.txt" "$WORK/poll-moved.txt" >/dev/null; then
            ok "new cluster: consumer dump-billing gets the same pending events as before the move"
        else
            not_ok "new cluster: consumer dump-billing gets the same pending events as before the move"
            diag "source: $(tr '\n' ' ' <"$WORK/poll-src.txt")" "new cluster: $(tr '\n' ' ' <"$WORK/poll-moved.txt")"
        fi
    fi
    user=${USERS[0]}
    is "$(on_new q "$MOVED" -v u="$user" -v pw="${PW[$user]}" <<<"SELECT farmreg.verify_password(:'u', :'pw')")" "${IDS[$user]%%|*}" \
       "new cluster: passwords verify"
    out=$(on_new ops_register "$MOVED" henry pw-SECRET-dump-henry key-dump-henry DUMP-40)
    IFS='|' read -r okv uid fid frid _ <<<"$out"
    IFS='|' read -r mu mf mr <<<"$OLD_MAX"
    if [[ $okv == t ]] && ((uid > mu && fid > mf && frid > mr)); then
        ok "new cluster: a new registration succeeds with ids above the old maxima"
    else
        not_ok "new cluster: a new registration succeeds with ids above the old maxima ($out, old $OLD_MAX)"
    fi
    if [[ $HAS_OUTBOX -eq 1 ]]; then
        want=$(($(wc -l <"$WORK/poll-src.txt") + 1))
        got=$(on_new qv "$MOVED" "SELECT count(*) FROM farmreg.poll_events('dump-billing', 100)")
        is "$got" "$want" "new cluster: the new registration's event is delivered after the restored ones (no stall)"
    fi
    ops_log_has_no_secret "$NEWC/server.log" "new cluster"
    ops_stop_cluster "$NEWC"
else
    not_ok "a second cluster starts (for the move to a new server)"
    tail -n 20 "$NEWC/server.log" 2>/dev/null | diag
fi

# ---------------------------------------------------------------------------
# Known limitation: a shipped catalog row the operator deleted comes back
# (the dump saves edited and added rows, not deletions).
# ---------------------------------------------------------------------------

ops_create_ext_db "$DEL"
qv "$DEL" "DELETE FROM farmreg.messages WHERE code = 'internal_error' AND locale = 'es'" >/dev/null
pg_dump -Fc -f "$WORK/deleted.dump" "$DEL"
ops_create_db "$DELDST"
pg_restore -d "$DELDST" "$WORK/deleted.dump"
if [[ $(qv "$DELDST" "SELECT count(*) FROM farmreg.messages WHERE code = 'internal_error' AND locale = 'es'") == 0 ]]; then
    ok "a shipped catalog row the operator deleted stays deleted after a restore"
else
    printf 'not ok - a shipped catalog row the operator deleted stays deleted after a restore # TODO deletions of shipped rows are not dumped\n'
fi

ops_summary
