#!/usr/bin/env bash
#
# test/suites/legacy.sh -- users imported with the password hashes of a
# legacy system, and their upgrade to argon2id at the next login.
#
# Every hash here is made at test time by an independent tool, never by
# farmreg: Debian's python3-bcrypt ($2a$, $2b$, $2y$), mkpasswd from whois
# (sha512-crypt, with and without rounds=), Python's hashlib.pbkdf2_hmac in
# Django's format, and the argon2 command-line tool (argon2id, argon2i).
# For each: the import stores it as given; a wrong password is NULL and
# leaves it untouched; the right one is the user's id, and afterwards the
# stored hash is argon2id at the current costs; a login in a read-only
# transaction only verifies.  Malformed hashes are password_hash_invalid
# with nothing written; a re-run of the import returns the same ids; no
# hash reaches an event, a result or the server log.  (The standby suite
# checks that a standby only verifies.)
#
# deps: python3-bcrypt whois argon2

set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$FARMREG_ROOT/scripts/lib.sh"
# shellcheck source=test/ops/common.sh
source "$FARMREG_ROOT/test/ops/common.sh"
ops_need_cluster

DB=fr_legacy
PY=/usr/bin/python3
WORK=$(ops_scratch legacy)
cleanup() {
    ops_drop_db "$DB"
    rm -rf -- "$WORK"
}
on_exit cleanup

for tool in mkpasswd argon2; do
    command -v "$tool" >/dev/null 2>&1 || { not_ok "$tool is installed"; ops_summary; }
done
"$PY" -c 'import bcrypt' 2>/dev/null || { not_ok "$PY can import bcrypt (python3-bcrypt)"; ops_summary; }

ops_create_ext_db "$DB"
ops_seed_farms "$DB" LG 100

# ---------------------------------------------------------------------------
# Hashes from independent tools: NAME FORMAT PASSWORD HASH, one per line
# ---------------------------------------------------------------------------

pw() { printf 'pw-SECRET-legacy-%s' "$1"; }
bcrypt_hash() {  # PREFIX COST PASSWORD
    "$PY" -c 'import bcrypt, sys
h = bcrypt.hashpw(sys.argv[3].encode(), bcrypt.gensalt(rounds=int(sys.argv[2]), prefix=sys.argv[1].encode()))
print(h.decode())' "$@"
}
django_hash() {  # ITERATIONS SALT PASSWORD
    "$PY" -c 'import base64, hashlib, sys
it, salt, p = int(sys.argv[1]), sys.argv[2], sys.argv[3]
d = hashlib.pbkdf2_hmac("sha256", p.encode(), salt.encode(), it)
print("pbkdf2_sha256$%d$%s$%s" % (it, salt, base64.b64encode(d).decode()))' "$@"
}
argon2_hash() {  # TYPE-FLAG PASSWORD
    printf '%s' "$2" | argon2 "salt-$RANDOM$RANDOM" "$1" -t 2 -m 10 -p 1 -e
}

{
    printf 'bcrypt2a bcrypt %s %s\n' "$(pw 2a)" "$(bcrypt_hash 2a 5 "$(pw 2a)")"
    printf 'bcrypt2b bcrypt %s %s\n' "$(pw 2b)" "$(bcrypt_hash 2b 6 "$(pw 2b)")"
    # python3-bcrypt writes $2b$; $2y$ is the same algorithm (PHP's name)
    printf 'bcrypt2y bcrypt %s %s\n' "$(pw 2y)" "$(bcrypt_hash 2b 5 "$(pw 2y)" | sed 's/^\$2b\$/$2y$/')"
    printf 'sha512 sha512crypt %s %s\n' "$(pw sha)" "$(mkpasswd -m sha512crypt "$(pw sha)")"
    printf 'sha512r sha512crypt %s %s\n' "$(pw shr)" "$(mkpasswd -m sha512crypt -R 12000 "$(pw shr)")"
    printf 'django pbkdf2_sha256 %s %s\n' "$(pw dj)" "$(django_hash 20000 Xy12AbCdEf34 "$(pw dj)")"
    printf 'argon2id argon2id %s %s\n' "$(pw a2id)" "$(argon2_hash -id "$(pw a2id)")"
    printf 'argon2i argon2i %s %s\n' "$(pw a2i)" "$(argon2_hash -i "$(pw a2i)")"
} >"$WORK/hashes.txt"
is "$(awk 'NF == 4' "$WORK/hashes.txt" | wc -l)" 8 "8 hashes made by python3-bcrypt, mkpasswd, hashlib and argon2"

# the import, as a migration sends it: legacy ids as idempotency keys
import_json() {
    awk '{ printf "%s{\"username\": \"lg_%s\", \"password_hash\": \"%s\", \"name\": \"Legacy %s\", \"email\": \"%s@legacy.example\", \"usda_uid\": \"LG-%d\", \"idempotency_key\": \"legacy-%s\"}",
                  (NR > 1 ? ", " : "["), $1, $4, $1, $1, NR, $1 } END { print "]" }' "$WORK/hashes.txt"
}
import_json >"$WORK/import.json"
imp=$(q "$DB" -v batch="$(cat "$WORK/import.json")" <<'SQL'
SELECT string_agg(ordinal || ':' || ok || ':' || coalesce(user_id::text, error_code), ' ' ORDER BY ordinal)
  FROM farmreg.register_farm_admins(:'batch');
SQL
)
is "$(tr ' ' '\n' <<<"$imp" | grep -c ':true:')" 8 "all 8 are imported ($imp)"
is "$(qv "$DB" "SELECT count(*) FROM farmreg.users u WHERE password_hash IN ($(awk '{ printf "%s'\''%s'\''", (NR > 1 ? ", " : ""), $4 }' "$WORK/hashes.txt"))")" 8 \
   "each is stored exactly as given"
is "$(q "$DB" -c "SELECT string_agg(i.format, ',' ORDER BY u.username) FROM farmreg.users u, farmreg.password_hash_info(u.password_hash) i WHERE u.username LIKE 'lg\_%'")" \
   "argon2i,argon2id,bcrypt,bcrypt,bcrypt,pbkdf2_sha256,sha512crypt,sha512crypt" \
   "password_hash_info names each format"
again=$(q "$DB" -v batch="$(cat "$WORK/import.json")" <<'SQL'
SELECT string_agg(ordinal || ':' || ok || ':' || coalesce(user_id::text, error_code), ' ' ORDER BY ordinal)
  FROM farmreg.register_farm_admins(:'batch');
SQL
)
is "$again" "$imp" "a re-run of the same import (same keys) returns the same ids"

# ---------------------------------------------------------------------------
# Logins
# ---------------------------------------------------------------------------

stored() { qv "$DB" "SELECT password_hash FROM farmreg.users WHERE username = 'lg_$1'"; }
login() { q "$DB" -v login="lg_$1" -v pw="$2" <<<"SELECT coalesce(farmreg.verify_password(:'login', :'pw')::text, 'null')"; }
uid() { qv "$DB" "SELECT id FROM farmreg.users WHERE username = 'lg_$1'"; }

while read -r name format password hash; do
    before=$(stored "$name")
    is "$(login "$name" "${password}-wrong")" null "$format ($name): a wrong password matches no one"
    is "$(stored "$name")" "$before" "$format ($name): ... and the imported hash is untouched"
    is "$(PGOPTIONS="-c default_transaction_read_only=on" login "$name" "$password")" "$(uid "$name")" \
       "$format ($name): the right password in a read-only transaction is the user's id"
    is "$(stored "$name")" "$before" "$format ($name): ... and there it is only verified"
    is "$(login "$name" "$password")" "$(uid "$name")" "$format ($name): the right password is the user's id"
    after=$(stored "$name")
    is "$(q "$DB" -v h="$after" <<<"SELECT format || ' ' || rehash_at_next_login FROM farmreg.password_hash_info(:'h')")" \
       "argon2id false" "$format ($name): ... and afterwards the stored hash is argon2id at the current costs"
    is "$(login "$name" "$password")" "$(uid "$name")" "$format ($name): the upgraded hash verifies the same password"
done <"$WORK/hashes.txt"
is "$(q "$DB" -c "SELECT string_agg(format || '=' || users, ',' ORDER BY format) FROM farmreg.password_hash_formats WHERE NOT rehash_at_next_login")" \
   "argon2id=8" "password_hash_formats: every imported user is now argon2id at the current costs"

# ---------------------------------------------------------------------------
# Malformed hashes
# ---------------------------------------------------------------------------

good_bcrypt=$(bcrypt_hash 2b 4 "$(pw bad)")
good_django=$(django_hash 1000 salt "$(pw bad)")
good_sha=$(mkpasswd -m sha512crypt "$(pw bad)")
{
    printf 'truncated %s\n' "${good_bcrypt:0:40}"
    printf 'bcrypt_cost_3 %s\n' "$(sed 's/^\$2b\$04\$/$2b$03$/' <<<"$good_bcrypt")"
    printf 'bcrypt_cost_32 %s\n' "$(sed 's/^\$2b\$04\$/$2b$32$/' <<<"$good_bcrypt")"
    printf 'bcrypt_2x %s\n' "$(sed 's/^\$2b\$/$2x$/' <<<"$good_bcrypt")"
    printf 'unknown_prefix %s\n' "$(sed 's/^\$6\$/$5$/' <<<"$good_sha")"
    printf 'sha_rounds_999 %s\n' "$(sed 's/^\$6\$/$6$rounds=999$/' <<<"$good_sha")"
    printf 'django_0_iterations %s\n' "$(sed 's/^pbkdf2_sha256\$1000\$/pbkdf2_sha256$0$/' <<<"$good_django")"
    printf 'django_over_ceiling %s\n' "$(sed 's/^pbkdf2_sha256\$1000\$/pbkdf2_sha256$5000001$/' <<<"$good_django")"
    printf 'django_bad_base64 %s\n' "${good_django%=}%"
    printf 'md5crypt %s\n' "$(mkpasswd -m md5crypt "$(pw bad)")"
    printf 'plaintext %s\n' "$(pw bad)"
} >"$WORK/bad.txt"
before=$(ops_fingerprint "$DB")
bad=$(awk '{ printf "%s{\"username\": \"bad_%s\", \"password_hash\": \"%s\", \"name\": \"Bad\", \"email\": \"%s@bad.example\", \"usda_uid\": \"LG-%d\"}",
              (NR > 1 ? ", " : "["), NR, $2, NR, 50 + NR } END { print "]" }' "$WORK/bad.txt")
res=$(q "$DB" -v batch="$bad" <<'SQL'
SELECT string_agg(DISTINCT error_code || '/' || (errors->0->>'field') || '/' || jsonb_array_length(errors), ' ')
  FROM farmreg.register_farm_admins(:'batch');
SQL
)
is "$res" "password_hash_invalid/password_hash/1" \
   "$(wc -l <"$WORK/bad.txt") malformed or out-of-bounds hashes are password_hash_invalid on the field password_hash, and only that"
both=$(q "$DB" -v h="$good_bcrypt" -v pw="$(pw both)" <<'SQL'
SELECT error_code || '/' || (errors->0->>'field')
  FROM farmreg.register_farm_admins(jsonb_build_array(jsonb_build_object(
         'username', 'both', 'password', :'pw', 'password_hash', :'h', 'name', 'Both',
         'email', 'both@bad.example', 'usda_uid', 'LG-90')));
SQL
)
is "$both" "password_hash_invalid/password_hash" "a password and a password_hash in one element are password_hash_invalid"
mixed=$(q "$DB" -v h="${good_bcrypt:0:20}" <<'SQL'
SELECT jsonb_path_query_array(errors, '$[*].code')::text
  FROM farmreg.register_farm_admins(jsonb_build_array(jsonb_build_object(
         'username', 'x', 'password_hash', :'h', 'name', '', 'email', 'mixed@bad.example',
         'usda_uid', 'LG-91')));
SQL
)
is "$mixed" '["username_invalid", "password_hash_invalid", "name_blank"]' \
   "with every other field's errors as usual, in field order"
is "$(ops_fingerprint "$DB")" "$before" "nothing was written for them"
is "$(qv "$DB" "SELECT count(*) FROM farmreg.messages WHERE code = 'password_hash_invalid' AND locale IN ('en', 'es')")" 2 \
   "password_hash_invalid has copy in en and es"

# ---------------------------------------------------------------------------
# Where a hash must never be
# ---------------------------------------------------------------------------

is "$(qv "$DB" "SELECT count(*) FROM farmreg.events e, farmreg.users u
                 WHERE position(u.password_hash IN e.payload::text) > 0
                    OR e.payload::text ~ '[$]2[aby][$][0-9]{2}[$]|[$]6[$]|pbkdf2_sha256[$]|[$]argon2i?d?[$]v='")" 0 \
   "no event payload holds a password hash"
leaks=0
while read -r _ _ _ hash; do
    # the salt: bcrypt's is the first 22 characters of its last field
    case $hash in
        '$2'*) salt=$(awk -F'$' '{ print substr($NF, 1, 22) }' <<<"$hash") ;;
        *) salt=$(awk -F'$' '{ print $(NF - 1) }' <<<"$hash") ;;
    esac
    if grep -q -F -e "$hash" -e "$salt" "$FARMREG_SERVER_LOG" 2>/dev/null; then
        leaks=$((leaks + 1))
    fi
done <"$WORK/hashes.txt"
is "$leaks" 0 "no imported hash (nor its salt) is in the server log"

ops_summary
