#!/usr/bin/env bash
#
# test/suites/pwformat.sh -- the stored-hash formats under ASan/UBSan,
# against hashes made by tools that are not farmreg
#
# deps: libsodium-dev libcrypt-dev libssl-dev python3-bcrypt whois argon2 clang libclang-rt-14-dev
#
# 1. Makes the known answers now, with test/unit/pwformat_kat.py: bcrypt by
#    Debian's python3-bcrypt, sha512-crypt by mkpasswd (whois), Django's
#    pbkdf2_sha256 by Python's hashlib, argon2id and argon2i by the argon2
#    tool.  Fresh salts every run, so no answer can be baked in.
# 2. Builds test/unit/test_pwformat.c with src/pwformat.c (no PostgreSQL;
#    libsodium, libxcrypt, OpenSSL) under AddressSanitizer and
#    UndefinedBehaviorSanitizer, -Wall -Wextra -Werror, runs it on those
#    answers, and passes its TAP lines on, so each of its checks is counted.
#    A sanitizer report, a crash or a short plan is a failure.
#
# The fuzz target for the same code (fuzz/fuzz_pwformat.c) has its corpus
# replayed by validate_sanitized.sh with the others.  Needs no cluster; about
# 10 s.  Runs from the repository root (as make test does) or on its own:
# bash test/suites/pwformat.sh
#
# Environment: UNIT_CC=compiler (default: clang-14, clang, then gcc, the
# first that links with the sanitizers).

set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root" || exit 1
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

# shellcheck disable=SC2054  # the commas belong to one compiler flag
SAN_FLAGS=(-fsanitize=address,undefined -fno-sanitize-recover=all)
CFLAGS=(-std=c11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Werror)
LIBS=(-lsodium -lcrypt -lcrypto -pthread)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}

if [[ -n ${FARMREG_CLUSTER_DIR:-} && -d ${FARMREG_CLUSTER_DIR:-} ]]; then
    work=$FARMREG_CLUSTER_DIR/pwformat
    mkdir -p "$work"
else
    # on its own: install what make test would have
    ensure_deps libsodium-dev libcrypt-dev libssl-dev python3-bcrypt whois argon2 \
        clang libclang-rt-14-dev >&2 || exit 1
    work=$(mktemp -d "${TMPDIR:-/tmp}/farmreg-pwformat.XXXXXX")
    # shellcheck disable=SC2317  # called by the exit hook
    cleanup() { rm -rf -- "$work"; }
    on_exit cleanup
fi

indent() {
    head -n 30 "$1" | sed 's/^/# /'
}

# ---------------------------------------------------------------------------
# 1. The known answers
# ---------------------------------------------------------------------------

kat=$work/kat.tsv
if /usr/bin/python3 test/unit/pwformat_kat.py "$kat" 2>"$work/kat.err"; then
    printf 'ok - known answers made now by python3-bcrypt %s, mkpasswd (whois %s), hashlib, argon2 (%s): %d hashes\n' \
        "$(/usr/bin/python3 -c 'import bcrypt; print(bcrypt.__version__)' 2>/dev/null)" \
        "$(dpkg-query -W -f='${Version}' whois 2>/dev/null)" \
        "$(dpkg-query -W -f='${Version}' argon2 2>/dev/null)" \
        "$(grep -c '^kat' "$kat")"
else
    printf 'not ok - known answers made by python3-bcrypt, mkpasswd, hashlib and argon2\n'
    indent "$work/kat.err"
    exit 0
fi

# ---------------------------------------------------------------------------
# 2. The unit test
# ---------------------------------------------------------------------------

pick_cc() {
    local cc
    printf 'int main(void) { return 0; }\n' >"$work/probe.c"
    for cc in ${UNIT_CC:-} clang-14 clang gcc; do
        command -v "$cc" >/dev/null 2>&1 || continue
        if "$cc" "${SAN_FLAGS[@]}" -o "$work/probe" "$work/probe.c" "${LIBS[@]}" \
            >/dev/null 2>&1; then
            printf '%s\n' "$cc"
            return 0
        fi
    done
    return 1
}

unit_test() {
    local cc bin=$work/test_pwformat rc planned ran

    if ! cc=$(pick_cc); then
        printf 'not ok - no C compiler links with %s %s (tried %s)\n' \
            "${SAN_FLAGS[*]}" "${LIBS[*]}" "${UNIT_CC:-} clang-14 clang gcc"
        return
    fi
    if "$cc" "${CFLAGS[@]}" "${SAN_FLAGS[@]}" -Isrc -o "$bin" \
        test/unit/test_pwformat.c src/pwformat.c "${LIBS[@]}" >"$work/build.log" 2>&1; then
        printf 'ok - test_pwformat.c and src/pwformat.c build with %s %s -Wall -Wextra -Werror\n' \
            "$cc" "${SAN_FLAGS[*]}"
    else
        printf 'not ok - test_pwformat.c and src/pwformat.c build with %s %s -Wall -Wextra -Werror\n' \
            "$cc" "${SAN_FLAGS[*]}"
        indent "$work/build.log"
        return
    fi

    "$bin" "$kat" >"$work/unit.tap" 2>"$work/unit.err" </dev/null
    rc=$?
    grep -E '^(ok|not ok|#)' "$work/unit.tap"

    planned=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$work/unit.tap" | tail -n 1)
    ran=$(grep -c -E '^(ok|not ok) [0-9]' "$work/unit.tap")
    if [[ $rc -eq 0 && -n $planned && $planned -eq $ran && ! -s $work/unit.err ]]; then
        printf 'ok - unit test ran to its end under the sanitizers: %d checks, plan 1..%d\n' \
            "$ran" "$planned"
    else
        printf 'not ok - unit test under the sanitizers: exit %d, %d checks run, plan %s\n' \
            "$rc" "$ran" "${planned:-missing}"
        indent "$work/unit.err"
    fi
}

keep_logs() {
    local dest
    [[ -n ${FARMREG_LOG_DIR:-} ]] || return 0
    dest=$FARMREG_LOG_DIR/pwformat
    rm -rf -- "$dest"
    mkdir -p "$dest"
    cp -- "$work"/*.log "$work"/*.tap "$work"/*.err "$work"/*.tsv "$dest"/ 2>/dev/null
    printf '# outputs kept in %s\n' "$dest"
}

unit_test
keep_logs
exit 0
