#!/usr/bin/env bash
#
# test/suites/validate_sanitized.sh -- the pure field rules under ASan/UBSan
#
# deps: clang libclang-rt-14-dev unicode-data
#
# 1. Builds test/unit/test_validate.c with src/validate.c (no PostgreSQL)
#    under AddressSanitizer and UndefinedBehaviorSanitizer, -Wall -Wextra
#    -Werror, runs it, and passes its TAP lines on, so each of its checks is
#    counted.  A sanitizer report, a crash or a short plan is a failure.
# 2. Builds the libFuzzer targets of fuzz/ (same sanitizers) and replays
#    every committed corpus file once (-runs=0), one ok / not ok per target:
#    a regression guard for past findings.  No fuzzing here; that is
#    `make fuzz`.
#
# Needs no cluster.  Runs from the repository root (as make test does) or
# on its own: bash test/suites/validate_sanitized.sh
#
# Environment: UNIT_CC=compiler for the unit test (default: clang-14, clang,
# then gcc, the first that links with the sanitizers).

set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root" || exit 1
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

# shellcheck disable=SC2054  # the commas belong to one compiler flag
SAN_FLAGS=(-fsanitize=address,undefined -fno-sanitize-recover=all)
CFLAGS=(-std=c11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Werror)
# Any sanitizer report ends the program with a non-zero status.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}

# Scratch space: the cluster's directory under make test, else our own.
if [[ -n ${FARMREG_CLUSTER_DIR:-} && -d ${FARMREG_CLUSTER_DIR:-} ]]; then
    work=$FARMREG_CLUSTER_DIR/validate_sanitized
    mkdir -p "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/farmreg-validate.XXXXXX")
    # shellcheck disable=SC2317  # called by the exit hook
    cleanup() { rm -rf -- "$work"; }
    on_exit cleanup
fi

# indent FILE: FILE as TAP diagnostics, at most 30 lines.
indent() {
    head -n 30 "$1" | sed 's/^/# /'
}

# ---------------------------------------------------------------------------
# 1. The unit test
# ---------------------------------------------------------------------------

pick_cc() {
    local cc
    for cc in ${UNIT_CC:-} clang-14 clang gcc; do
        command -v "$cc" >/dev/null 2>&1 || continue
        printf 'int main(void) { return 0; }\n' >"$work/probe.c"
        if "$cc" "${SAN_FLAGS[@]}" -o "$work/probe" "$work/probe.c" >/dev/null 2>&1; then
            printf '%s\n' "$cc"
            return 0
        fi
    done
    return 1
}

unit_test() {
    local cc bin=$work/test_validate rc planned ran

    if ! cc=$(pick_cc); then
        printf 'not ok - no C compiler links with %s (tried %s)\n' \
            "${SAN_FLAGS[*]}" "${UNIT_CC:-} clang-14 clang gcc"
        return
    fi
    if "$cc" "${CFLAGS[@]}" "${SAN_FLAGS[@]}" -Isrc -o "$bin" \
        test/unit/test_validate.c src/validate.c >"$work/build.log" 2>&1; then
        printf 'ok - test_validate.c and src/validate.c build with %s %s -Wall -Wextra -Werror\n' \
            "$cc" "${SAN_FLAGS[*]}"
    else
        printf 'not ok - test_validate.c and src/validate.c build with %s %s -Wall -Wextra -Werror\n' \
            "$cc" "${SAN_FLAGS[*]}"
        indent "$work/build.log"
        return
    fi

    "$bin" >"$work/unit.tap" 2>"$work/unit.err" </dev/null
    rc=$?
    # its checks, numbered, and its diagnostics
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

# ---------------------------------------------------------------------------
# 2. Replay of the fuzz corpora
# ---------------------------------------------------------------------------

fuzz_replay() {
    local targets
    targets=$(make -s -C fuzz --no-print-directory list)

    if ! make -s -C fuzz --no-print-directory BUILD="$work/fuzz" all \
        >"$work/fuzz-build.log" 2>&1; then
        local t
        for t in $targets; do
            printf 'not ok - fuzz corpus replay: %s (the fuzz targets did not build)\n' "$t"
        done
        indent "$work/fuzz-build.log"
        return
    fi
    # run.sh prints one ok / not ok line per target (make's own complaint
    # about a failing target would only repeat that)
    make -s -C fuzz --no-print-directory BUILD="$work/fuzz" replay 2>>"$work/fuzz-replay.err"
}

# keep_logs: copy the text outputs where make test keeps full outputs, since
# the scratch directory goes away with the cluster.
keep_logs() {
    local dest
    [[ -n ${FARMREG_LOG_DIR:-} ]] || return 0
    dest=$FARMREG_LOG_DIR/validate_sanitized
    rm -rf -- "$dest"
    mkdir -p "$dest"
    cp -- "$work"/*.log "$work"/*.tap "$work"/*.err "$dest"/ 2>/dev/null
    [[ -d $work/fuzz/logs ]] && cp -r -- "$work/fuzz/logs" "$dest/fuzz-logs"
    [[ -d $work/fuzz/replay-artifacts ]] && cp -r -- "$work/fuzz/replay-artifacts" "$dest/"
    printf '# outputs kept in %s\n' "$dest"
}

unit_test
fuzz_replay
keep_logs
exit 0
