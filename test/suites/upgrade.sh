#!/usr/bin/env bash
#
# test/suites/upgrade.sh -- every upgrade step keeps the data, and the end
# result equals a fresh install
#
# The versions come from the repository: install scripts sql/farmreg--V.sql
# and upgrade scripts sql/farmreg--A--B.sql; the target is farmreg.control's
# default_version.  As pg_cron does in its regression test, the walk starts
# at the oldest install script (CREATE EXTENSION farmreg VERSION 'oldest'),
# registers admins and edits copy, then runs ALTER EXTENSION farmreg UPDATE TO
# each next version in turn; after every step the operator's data is checked
# (test/ops/upgrade_check.sql), passwords verify, idempotency keys replay and
# new registrations get fresh ids.  At every version that also has an install
# script, and at the end, the objects are compared from the catalogs with a
# fresh install of that version (test/ops/catalog_snapshot.sql); differences
# are shown as a diff of those lines ('-' fresh install, '+' upgraded).  (A
# version with no install script of its own is installed fresh through the
# same upgrade scripts, so there the comparison is equal by construction.)
#
# Also: a dump taken at the oldest version restores where the installed
# default is newer (pg_dump does not record the version); an upgraded
# database dumps and restores; a plain ALTER EXTENSION farmreg UPDATE lands
# on the same objects.
#
# With a single version there is nothing to walk and the comparison is
# trivially equal; the comparator's own negative control (a database with
# deliberate differences must be reported as different) runs regardless.
#
# Run: make test SUITES=upgrade

# cleanup() runs from the EXIT trap (on_exit), which shellcheck cannot see.
# shellcheck disable=SC2317

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
# shellcheck source=test/ops/common.sh
source "$ROOT/test/ops/common.sh"
ops_need_cluster

SNAPSHOT_SQL=$FARMREG_ROOT/test/ops/catalog_snapshot.sql
WORK=$(ops_scratch upgrade)
DB=fr_upgrade
DBS=("$DB" fr_upgrade_fresh fr_upgrade_direct fr_upgrade_mutant fr_upgrade_restored fr_upgrade_old_dump)

cleanup() {
    local d
    for d in "${DBS[@]}"; do
        ops_drop_db "$d"
    done
    rm -rf -- "$WORK"
}
on_exit cleanup

# ---------------------------------------------------------------------------
# Versions, from the repository
# ---------------------------------------------------------------------------

INSTALL_VERSIONS=()
UPGRADE_FROM=()
UPGRADE_TO=()
for f in sql/farmreg--*.sql; do
    [[ -f $f ]] || continue
    v=${f#sql/farmreg--}
    v=${v%.sql}
    if [[ $v == *--* ]]; then
        UPGRADE_FROM+=("${v%%--*}")
        UPGRADE_TO+=("${v#*--}")
    else
        INSTALL_VERSIONS+=("$v")
    fi
done

DEFAULT_VERSION=$(sed -n "s/^[[:space:]]*default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" farmreg.control)
if [[ ${#INSTALL_VERSIONS[@]} -eq 0 || -z $DEFAULT_VERSION ]]; then
    not_ok "found install scripts (sql/farmreg--V.sql) and default_version in farmreg.control"
    ops_summary
fi
OLDEST=$(printf '%s\n' "${INSTALL_VERSIONS[@]}" | sort -V | head -n 1)
diag "install scripts: ${INSTALL_VERSIONS[*]}; upgrade scripts: $(
    for i in "${!UPGRADE_FROM[@]}"; do printf '%s->%s ' "${UPGRADE_FROM[i]}" "${UPGRADE_TO[i]}"; done
); default_version: $DEFAULT_VERSION"

# A fresh install of a version without an install script of its own runs
# an older install script plus upgrade scripts (PostgreSQL finds the path):
# then "upgraded equals fresh" holds by construction, and the comparison
# below is a check of the data and of the path, not of a second script.
if [[ -f sql/farmreg--$DEFAULT_VERSION.sql ]]; then
    ok "default_version $DEFAULT_VERSION has an install script of its own (compared with the upgrade path below)"
else
    diag "default_version $DEFAULT_VERSION has no install script of its own: a fresh install runs $OLDEST plus the upgrade scripts," \
         "so the upgraded-versus-fresh comparison is equal by construction"
fi

# The walk: from the oldest install script, each step to the lowest version
# reachable by one upgrade script, until default_version.
PATH_VERSIONS=("$OLDEST")
cur=$OLDEST
walk_ok=1
while [[ $cur != "$DEFAULT_VERSION" ]]; do
    next=$(for i in "${!UPGRADE_FROM[@]}"; do
               if [[ ${UPGRADE_FROM[i]} == "$cur" ]]; then
                   printf '%s\n' "${UPGRADE_TO[i]}"
               fi
           done | sort -V | head -n 1)
    if [[ -z $next ]]; then
        not_ok "an upgrade path leads from $OLDEST to $DEFAULT_VERSION (no sql/farmreg--$cur--*.sql)"
        walk_ok=0
        break
    fi
    PATH_VERSIONS+=("$next")
    cur=$next
    if [[ ${#PATH_VERSIONS[@]} -gt 100 ]]; then
        not_ok "the upgrade path ends (it loops: ${PATH_VERSIONS[*]:0:10} ...)"
        walk_ok=0
        break
    fi
done
if [[ $walk_ok -eq 1 ]]; then
    ok "upgrade path from the oldest install script to default_version: ${PATH_VERSIONS[*]}"
fi
for i in "${!UPGRADE_FROM[@]}"; do
    used=0
    for ((k = 0; k + 1 < ${#PATH_VERSIONS[@]}; k++)); do
        if [[ ${PATH_VERSIONS[k]} == "${UPGRADE_FROM[i]}" && ${PATH_VERSIONS[k + 1]} == "${UPGRADE_TO[i]}" ]]; then
            used=1
        fi
    done
    [[ $used -eq 1 ]] || diag "note: sql/farmreg--${UPGRADE_FROM[i]}--${UPGRADE_TO[i]}.sql is not on the step-by-step path and is not exercised"
done

# The server runs what `make install` put in place: the same files as here.
sharedir=$("$PG_CONFIG" --sharedir)/extension
stale=()
for f in farmreg.control sql/farmreg--*.sql; do
    cmp -s "$f" "$sharedir/$(basename "$f")" || stale+=("$(basename "$f")")
done
if [[ ${#stale[@]} -eq 0 ]]; then
    ok "installed control and SQL scripts in $sharedir are the repository's"
else
    not_ok "installed control and SQL scripts in $sharedir are the repository's"
    diag "missing or different: ${stale[*]}"
fi

if [[ ${#PATH_VERSIONS[@]} -gt 1 ]]; then
    is "$(qv postgres "SELECT count(*) FROM pg_extension_update_paths('farmreg')
                        WHERE source = '$OLDEST' AND target = '$DEFAULT_VERSION' AND path IS NOT NULL")" 1 \
       "PostgreSQL sees an update path $OLDEST -> $DEFAULT_VERSION"
fi

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# snapshot_of DB FILE: the catalog snapshot of farmreg in DB.
snapshot_of() {
    q "$1" -f "$SNAPSHOT_SQL" >"$2"
}

# compare_with_fresh DB VERSION WHAT: DB's objects equal a fresh install of
# VERSION (in fr_upgrade_fresh).  Prints the differences when not.
compare_with_fresh() {
    local db=$1 version=$2 what=$3 a b
    ops_create_ext_db fr_upgrade_fresh "$version"
    a=$WORK/fresh-$version.txt
    b=$WORK/$db-$version.txt
    snapshot_of fr_upgrade_fresh "$a"
    snapshot_of "$db" "$b"
    if [[ ! -s $a ]]; then
        not_ok "$what: the catalog snapshot of a fresh install is not empty"
    elif diff -q "$a" "$b" >/dev/null; then
        ok "$what: objects equal a fresh install of $version ($(wc -l <"$a") catalog facts compared)"
    else
        not_ok "$what: objects equal a fresh install of $version"
        diag "'-' fresh install of $version, '+' $what:"
        diff -U0 "$a" "$b" | grep -E '^[-+][^-+]' | head -n 80 | diag || true
    fi
}

declare -A PW=() IDS=() KEYS=() UIDS=()
NREG=0
MAXIDS="0|0|0"

# register DB USER KEY: a registration that must succeed; remembers the
# password, ids and key, and checks the ids are above every earlier one.
register() {
    local db=$1 user=$2 key=$3 pw out ok uid fid frid mu mf mr usda
    pw="pw-SECRET-upgrade-$user"
    NREG=$((NREG + 1))
    usda="UPG-$NREG"
    out=$(ops_register "$db" "$user" "$pw" "$key" "$usda")
    IFS='|' read -r ok uid fid frid _ <<<"$out"
    if [[ $ok != t ]]; then
        not_ok "register $user at version $(qv "$db" "SELECT extversion FROM pg_extension WHERE extname = 'farmreg'")"
        diag "result: $out"
        return 0
    fi
    IFS='|' read -r mu mf mr <<<"$MAXIDS"
    if ((uid > mu && fid > mf && frid > mr)); then
        ok "register $user: ok, fresh ids $uid/$fid/$frid above every earlier one"
    else
        not_ok "register $user: fresh ids above every earlier one"
        diag "ids $uid/$fid/$frid, earlier maxima $MAXIDS"
    fi
    MAXIDS="$uid|$fid|$frid"
    PW[$user]=$pw
    IDS[$user]="$uid|$fid|$frid"
    KEYS[$user]=$key
    UIDS[$user]=$usda
}

# check_data DB WHEN: the operator's data survived, old logins verify, old
# keys replay, edited copy shows.
check_data() {
    local db=$1 when=$2 problems user got key out ok uid fid frid _
    problems=$(qv "$db" "SELECT * FROM upgcheck.compare_snapshot()")
    if [[ -z $problems ]]; then
        ok "$when: every row of the operator's data and every sequence position survived"
    else
        not_ok "$when: every row of the operator's data and every sequence position survived"
        diag "$problems"
    fi

    local bad=0
    for user in "${!PW[@]}"; do
        got=$(q "$db" -v u="$user" -v pw="${PW[$user]}" <<<"SELECT farmreg.verify_password(:'u', :'pw')")
        [[ $got == "${IDS[$user]%%|*}" ]] || { bad=1; diag "verify_password($user) = '$got', want ${IDS[$user]%%|*}"; }
    done
    if [[ $bad -eq 0 ]]; then
        ok "$when: all ${#PW[@]} passwords verify"
    else
        not_ok "$when: all passwords verify"
    fi

    bad=0
    local n=0
    for user in "${!KEYS[@]}"; do
        key=${KEYS[$user]}
        [[ -n $key ]] || continue
        n=$((n + 1))
        # the same request again: the password is not part of the comparison
        out=$(ops_register "$db" "$user" "pw-SECRET-upgrade-retry" "$key" "${UIDS[$user]}")
        IFS='|' read -r ok uid fid frid _ <<<"$out"
        [[ "$ok|$uid|$fid|$frid" == "t|${IDS[$user]}" ]] || { bad=1; diag "retry of $key: $out, want t|${IDS[$user]}"; }
    done
    if [[ $bad -eq 0 ]]; then
        ok "$when: $n idempotency keys replay their registrations"
    else
        not_ok "$when: idempotency keys replay their registrations"
    fi

    is "$(qv "$db" "SELECT farmreg.error_message('username_taken', 'en') || ' / ' || farmreg.error_message('username_taken', 'fr-CA')")" \
       "Operator copy: pick another username. / Ce nom d'utilisateur est pris." \
       "$when: the operator's edited and added copy is served"
}

# ---------------------------------------------------------------------------
# The walk
# ---------------------------------------------------------------------------

ops_create_ext_db "$DB" "$OLDEST"
q "$DB" -f "$FARMREG_ROOT/test/ops/upgrade_check.sql" >/dev/null
ops_seed_farms "$DB" UPG 60
is "$(qv "$DB" "SELECT extversion FROM pg_extension WHERE extname = 'farmreg'")" "$OLDEST" \
   "CREATE EXTENSION farmreg VERSION '$OLDEST'"

register "$DB" alice key-upgrade-alice
register "$DB" bob key-upgrade-bob
register "$DB" carol ""
q "$DB" >/dev/null <<'SQL'
UPDATE farmreg.messages SET message = 'Operator copy: pick another username.'
 WHERE code = 'username_taken' AND locale = 'en';
INSERT INTO farmreg.messages (code, locale, message)
VALUES ('username_taken', 'fr', 'Ce nom d''utilisateur est pris.'),
       ('internal_error', 'fr', 'Une erreur est survenue de notre côté.');
SQL
qv "$DB" "SELECT upgcheck.take_snapshot()" >/dev/null
check_data "$DB" "at $OLDEST (before any upgrade)"

# A dump taken at the oldest version, restored where the installed default
# is newer: pg_dump does not record the extension's version, so the restore's
# CREATE EXTENSION makes default_version and then loads the old data into it
# (a move to a server with a newer package).  The snapshot schemas travel
# with the dump, so the same checks run there.
rc=0
{ pg_dump -Fc -f "$WORK/oldest.dump" "$DB" && ops_create_db fr_upgrade_old_dump \
    && pg_restore -d fr_upgrade_old_dump "$WORK/oldest.dump"; } >"$WORK/old-dump.out" 2>&1 || rc=$?
if [[ $rc -eq 0 && ! -s $WORK/old-dump.out ]]; then
    ok "a dump taken at $OLDEST restores with no error where the default version is $DEFAULT_VERSION"
    is "$(qv fr_upgrade_old_dump "SELECT extversion FROM pg_extension WHERE extname = 'farmreg'")" "$DEFAULT_VERSION" \
       "the restore of the $OLDEST dump created farmreg $DEFAULT_VERSION"
    check_data fr_upgrade_old_dump "$OLDEST dump restored into $DEFAULT_VERSION"
else
    not_ok "a dump taken at $OLDEST restores with no error where the default version is $DEFAULT_VERSION (status $rc)"
    head -n 20 "$WORK/old-dump.out" | diag
fi

for ((k = 1; k < ${#PATH_VERSIONS[@]}; k++)); do
    from=${PATH_VERSIONS[k - 1]}
    to=${PATH_VERSIONS[k]}
    qv "$DB" "SELECT upgcheck.take_snapshot()" >/dev/null
    if err=$(qv "$DB" "ALTER EXTENSION farmreg UPDATE TO '$to'" 2>&1); then
        ok "ALTER EXTENSION farmreg UPDATE TO '$to' (from $from)"
    else
        not_ok "ALTER EXTENSION farmreg UPDATE TO '$to' (from $from)"
        diag "$err"
        break
    fi
    is "$(qv "$DB" "SELECT extversion FROM pg_extension WHERE extname = 'farmreg'")" "$to" \
       "extension version is $to after the step"
    check_data "$DB" "after $from -> $to"
    register "$DB" "user_at_${to//[^0-9A-Za-z]/_}" "key-upgrade-at-$to"
    if [[ -f sql/farmreg--$to.sql && $to != "$DEFAULT_VERSION" ]]; then
        compare_with_fresh "$DB" "$to" "upgraded to $to"
    fi
done

# ---------------------------------------------------------------------------
# The end result
# ---------------------------------------------------------------------------

compare_with_fresh "$DB" "$DEFAULT_VERSION" "walked $OLDEST -> $DEFAULT_VERSION"

# The shipped catalog: the upgraded database holds exactly the fresh
# install's copy, apart from the rows the operator edited or added.
ops_create_ext_db fr_upgrade_fresh "$DEFAULT_VERSION"
MSG_SQL="SELECT line FROM (SELECT code || ' | ' || locale || ' | ' || message AS line FROM farmreg.messages
          WHERE (code, locale) NOT IN (('username_taken', 'en'), ('username_taken', 'fr'), ('internal_error', 'fr'))) AS m
          ORDER BY line COLLATE \"C\""
qv fr_upgrade_fresh "$MSG_SQL" >"$WORK/messages-fresh.txt"
qv "$DB" "$MSG_SQL" >"$WORK/messages-upgraded.txt"
if diff -q "$WORK/messages-fresh.txt" "$WORK/messages-upgraded.txt" >/dev/null; then
    ok "message catalog: the shipped copy of $DEFAULT_VERSION, plus the operator's edits ($(wc -l <"$WORK/messages-fresh.txt") rows compared)"
else
    not_ok "message catalog: the shipped copy of $DEFAULT_VERSION, plus the operator's edits"
    diff -U0 "$WORK/messages-fresh.txt" "$WORK/messages-upgraded.txt" | grep -E '^[-+][^-+]' | head -n 40 | diag || true
fi
if [[ -n $(qv "$DB" "SELECT to_regclass('farmreg.shipped_messages')") ]]; then
    SHIPPED_SQL="SELECT line FROM (SELECT code || ' | ' || locale || ' | ' || message AS line
                                     FROM farmreg.shipped_messages) AS m ORDER BY line COLLATE \"C\""
    if [[ $(qv fr_upgrade_fresh "$SHIPPED_SQL") == "$(qv "$DB" "$SHIPPED_SQL")" ]]; then
        ok "farmreg.shipped_messages equals a fresh install's (pg_dump's filter for copy edits relies on it)"
    else
        not_ok "farmreg.shipped_messages equals a fresh install's (pg_dump's filter for copy edits relies on it)"
    fi
fi

# An upgraded database dumps and restores cleanly, with its data.
if pg_dump -Fc -f "$WORK/upgraded.dump" "$DB" 2>"$WORK/dump.err" && [[ ! -s $WORK/dump.err ]]; then
    ops_create_db fr_upgrade_restored
    if pg_restore -d fr_upgrade_restored "$WORK/upgraded.dump" 2>"$WORK/restore.err" && [[ ! -s $WORK/restore.err ]]; then
        ok "the upgraded database dumps (pg_dump -Fc) and restores (pg_restore) with no error"
        q "$DB" -c "DROP SCHEMA upgcheck_snap CASCADE" -c "DROP SCHEMA upgcheck CASCADE" >/dev/null
        if [[ $(ops_fingerprint "$DB") == "$(ops_fingerprint fr_upgrade_restored)" ]]; then
            ok "the restored copy of the upgraded database holds the same data"
        else
            not_ok "the restored copy of the upgraded database holds the same data"
            diff <(ops_fingerprint "$DB") <(ops_fingerprint fr_upgrade_restored) | diag || true
        fi
    else
        not_ok "the upgraded database restores with pg_restore with no error"
        head -n 20 "$WORK/restore.err" | diag
    fi
else
    not_ok "the upgraded database dumps with pg_dump -Fc with no error"
    head -n 20 "$WORK/dump.err" | diag
fi

# A plain ALTER EXTENSION farmreg UPDATE (PostgreSQL picks the path) from the
# oldest version lands on default_version with the same objects.
ops_create_ext_db fr_upgrade_direct "$OLDEST"
if err=$(qv fr_upgrade_direct "SET client_min_messages = warning; ALTER EXTENSION farmreg UPDATE" 2>&1); then
    is "$(qv fr_upgrade_direct "SELECT extversion FROM pg_extension WHERE extname = 'farmreg'")" "$DEFAULT_VERSION" \
       "ALTER EXTENSION farmreg UPDATE from $OLDEST reaches $DEFAULT_VERSION"
    compare_with_fresh fr_upgrade_direct "$DEFAULT_VERSION" "ALTER EXTENSION farmreg UPDATE from $OLDEST"
else
    not_ok "ALTER EXTENSION farmreg UPDATE from $OLDEST"
    diag "$err"
fi

# ---------------------------------------------------------------------------
# Negative control: the comparison sees differences of every kind it claims
# to cover (otherwise an 'equal' above would mean nothing).
# ---------------------------------------------------------------------------

ops_create_ext_db fr_upgrade_fresh "$DEFAULT_VERSION"
ops_create_ext_db fr_upgrade_mutant "$DEFAULT_VERSION"
q fr_upgrade_mutant >/dev/null <<'SQL'
ALTER FUNCTION farmreg.error_message(text, text) VOLATILE;
ALTER FUNCTION farmreg.verify_password(text, text) RESET search_path;
ALTER FUNCTION farmreg.purge_idempotency_keys(interval) SECURITY INVOKER;
GRANT EXECUTE ON FUNCTION farmreg.register_farm_admin(text, text, text, text, text, text, text) TO PUBLIC;
GRANT SELECT ON farmreg.users TO PUBLIC;
ALTER TABLE farmreg.farms ALTER COLUMN name DROP NOT NULL;
ALTER TABLE farmreg.farmers ALTER COLUMN is_admin SET DEFAULT true;
ALTER TABLE farmreg.usda_farms ADD COLUMN extra int;
CREATE INDEX users_created_at_idx ON farmreg.users (created_at);
ALTER TABLE farmreg.farmers DROP CONSTRAINT farmers_farm_id_fkey;
ALTER TABLE farmreg.messages DISABLE TRIGGER messages_upsert;
ALTER SEQUENCE farmreg.users_id_seq CACHE 10;
ALTER TYPE farmreg.registration_result ADD ATTRIBUTE extra int;
COMMENT ON TABLE farmreg.users IS 'a comment a fresh install does not have';
ALTER EXTENSION farmreg DROP TABLE farmreg.idempotency_keys;
SQL
snapshot_of fr_upgrade_fresh "$WORK/control-fresh.txt"
snapshot_of fr_upgrade_mutant "$WORK/control-mutant.txt"
diff -U0 "$WORK/control-fresh.txt" "$WORK/control-mutant.txt" | grep -E '^[-+][^-+]' >"$WORK/control.diff" || true
cp "$WORK/control.diff" "${FARMREG_LOG_DIR:-/tmp}/upgrade-negative-control.diff" 2>/dev/null || true
missed=()
while IFS='|' read -r what pattern; do
    grep -q -E -e "$pattern" "$WORK/control.diff" || missed+=("$what")
done <<'EOF'
function volatility|^\+function farmreg\.error_message\(text,text\): kind f.*volatility v
function proconfig|^\+function farmreg\.verify_password\(text,text\): config -
function security definer|^\+function farmreg\.purge_idempotency_keys\(interval\): .*security definer f
function ACL|^\+function farmreg\.register_farm_admin.*acl \{=X/
table ACL|^\+relation farmreg\.users: .*acl \{=r/
column nullability|^\+relation farmreg\.farms: column 2 name: text COLLATE
column default|^\+relation farmreg\.farmers: column 4 is_admin: boolean NOT NULL DEFAULT true
added column|^\+relation farmreg\.usda_farms: column 5 extra: integer
index|^\+index farmreg\.users_created_at_idx
constraint|^-constraint farmers_farm_id_fkey
trigger|^\+trigger messages_upsert .*enabled D
sequence|^\+sequence farmreg\.users_id_seq: .*cache 10
composite type attribute|^\+type farmreg\.registration_result: attribute 9 extra
comment|^\+comment on table farmreg\.users
extension membership|^-extension member: table farmreg\.idempotency_keys
config-dump registration|^-extension config-dump: idempotency_keys
EOF
if [[ ${#missed[@]} -eq 0 ]]; then
    ok "negative control: the comparison reports each of 16 deliberate differences"
else
    not_ok "negative control: the comparison reports every deliberate difference"
    diag "not reported: ${missed[*]}" "diff was:"
    head -n 60 "$WORK/control.diff" | diag
fi

ops_summary
