#!/usr/bin/env bash
#
# fuzz/run.sh -- run farmreg's fuzz targets (called by fuzz/Makefile)
#
#   run.sh fuzz TARGET...     fuzz each target for FUZZ_SECONDS; print its
#                             executions and whether it found anything; exit 1
#                             when any did, leaving the input that failed in
#                             findings/TARGET/ (crash-*, timeout-*, oom-*, leak-*)
#   run.sh replay TARGET...   run every file of corpus/TARGET/ once, no
#                             fuzzing: "ok - ..." / "not ok - ..." per target
#   run.sh merge TARGET...    copy the inputs of earlier runs that reach new
#                             code into corpus/TARGET/ (libFuzzer -merge=1)
#   run.sh coverage TARGET... run BUILD/cov/fuzz_TARGET over both corpora
#                             and report the coverage of src/validate.c and
#                             src/pwformat.c
#
# The binaries are BUILD/fuzz_TARGET (BUILD defaults to build/, relative to
# this directory).  A run starts from the committed seeds in corpus/TARGET/
# plus the work corpus of earlier runs in BUILD/corpus/TARGET/, and adds new
# inputs only to the latter, so the committed corpus stays small.
#
# Environment: FUZZ_SECONDS (60), FUZZ_MAX_LEN (4200), BUILD (build).

set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")" || exit 1

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_MAX_LEN=${FUZZ_MAX_LEN:-4200}
BUILD=${BUILD:-build}

# Flags common to every libFuzzer invocation: a slow input (10 s for one
# string check is a hang) and runaway memory are findings too.
COMMON=(-timeout=10 -rss_limit_mb=2048)

# final_stat LOG NAME: a -print_final_stats=1 figure, e.g. number_of_executed_units.
final_stat() {
    sed -n "s/^stat::$2: *//p" "$1" | tail -n 1
}

# artifacts TARGET: what libFuzzer saved in findings/TARGET/.
artifacts() {
    find "findings/$1" -maxdepth 1 -type f \
        \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) \
        -newer "findings/$1/.started" 2>/dev/null | sort
}

# shown PATH: PATH as seen from the repository root, for messages.
shown() {
    case $1 in
        /*) printf '%s\n' "$1" ;;
        *) printf 'fuzz/%s\n' "$1" ;;
    esac
}

# excerpt LOG: the lines of a libFuzzer log that say what went wrong (the
# violated invariant or the sanitizer's report, and where the input went),
# without the stack traces.
excerpt() {
    grep -E -A2 'invariant violated' "$1" | grep -v -E '^--$'
    grep -E 'runtime error|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|^SUMMARY|Test unit written|^Base64' "$1"
}

# largest DIR: size in bytes of the largest file in DIR (at least 1).
largest() {
    local max=1 size f
    for f in "$1"/*; do
        [[ -f $f ]] || continue
        size=$(stat_size "$f")
        ((size > max)) && max=$size
    done
    printf '%s\n' "$max"
}

stat_size() {
    wc -c <"$1" | tr -d ' '
}

mode_fuzz() {
    local t bin log rc execs rate cov corp secs found total=0 failed=() line
    local -a summary=()

    mkdir -p "$BUILD/logs"
    for t in "$@"; do
        bin=$BUILD/fuzz_$t
        log=$BUILD/logs/$t.log
        mkdir -p "$BUILD/corpus/$t" "findings/$t"
        touch "findings/$t/.started"
        printf 'fuzz %-16s %ss, max_len %s ... ' "$t" "$FUZZ_SECONDS" "$FUZZ_MAX_LEN"

        SECONDS=0
        "$bin" "${COMMON[@]}" \
            -max_total_time="$FUZZ_SECONDS" -max_len="$FUZZ_MAX_LEN" \
            -print_final_stats=1 -artifact_prefix="findings/$t/" \
            "$BUILD/corpus/$t" "corpus/$t" >"$log" 2>&1
        rc=$?
        secs=$SECONDS

        execs=$(final_stat "$log" number_of_executed_units)
        rate=$(final_stat "$log" average_exec_per_sec)
        # the last status line: "#N DONE cov: X ft: Y corp: Z/Sb ..."
        cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
        corp=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
        found=$(artifacts "$t")
        total=$((total + ${execs:-0}))

        if [[ $rc -eq 0 && -z $found ]]; then
            line=$(printf '%-16s %5ss %12s %8s %6s %7s  nothing found' \
                "$t" "$secs" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${corp:-?}")
            printf 'nothing found\n'
        else
            failed+=("$t")
            line=$(printf '%-16s %5ss %12s %8s %6s %7s  FOUND (exit %d): %s' \
                "$t" "$secs" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${corp:-?}" "$rc" \
                "${found:-no artifact, see $(shown "$log")}")
            printf 'FOUND SOMETHING (exit %d)\n' "$rc"
            # what the target said: the invariant or the sanitizer report
            excerpt "$log" | head -n 20 | sed 's/^/    /'
        fi
        summary+=("$line")
        rm -f -- "findings/$t/.started"
    done

    printf '\n%-16s %6s %12s %8s %6s %7s  %s\n' target time executions exec/s cov corpus result
    printf '%s\n' "${summary[@]}"
    printf 'total executions: %s; logs in %s/\n' "$total" "$(shown "$BUILD/logs")"
    if [[ ${#failed[@]} -gt 0 ]]; then
        printf 'findings in: %s\n' "${failed[*]/#/fuzz/findings/}"
        printf 'reproduce:   %s/fuzz_TARGET fuzz/findings/TARGET/crash-...\n' "$(shown "$BUILD")"
        return 1
    fi
    return 0
}

mode_replay() {
    local t bin log rc n fail=0

    mkdir -p "$BUILD/logs"
    for t in "$@"; do
        bin=$BUILD/fuzz_$t
        log=$BUILD/logs/replay-$t.log
        n=$(find "corpus/$t" -maxdepth 1 -type f | wc -l)
        # -runs=0: execute the corpus and stop; -max_len as large as the
        # largest file, so that none is cut short.
        mkdir -p "$BUILD/replay-artifacts/$t"
        "$bin" "${COMMON[@]}" -runs=0 -max_len="$(largest "corpus/$t")" \
            -artifact_prefix="$BUILD/replay-artifacts/$t/" "corpus/$t" >"$log" 2>&1
        rc=$?
        if [[ $rc -eq 0 && $n -gt 0 ]] && grep -q -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$log"; then
            printf 'ok - fuzz corpus replay: %s, %d inputs, no sanitizer report or invariant violation\n' "$t" "$n"
        else
            fail=1
            printf 'not ok - fuzz corpus replay: %s, %d inputs (exit %d; log %s)\n' "$t" "$n" "$rc" "$(shown "$log")"
            excerpt "$log" | head -n 20 | sed 's/^/# /'
        fi
    done
    return "$fail"
}

mode_merge() {
    local t before after
    for t in "$@"; do
        before=$(find "corpus/$t" -maxdepth 1 -type f | wc -l)
        if ! "$BUILD/fuzz_$t" "${COMMON[@]}" -merge=1 -max_len="$FUZZ_MAX_LEN" \
            "corpus/$t" "$BUILD/corpus/$t" >"$BUILD/logs/merge-$t.log" 2>&1; then
            printf 'merge %s failed; see %s\n' "$t" "$(shown "$BUILD/logs/merge-$t.log")"
            return 1
        fi
        after=$(find "corpus/$t" -maxdepth 1 -type f | wc -l)
        printf 'merge %-16s %d -> %d files in fuzz/corpus/%s\n' "$t" "$before" "$after" "$t"
    done
}

# llvm_tool NAME: the LLVM tool matching FUZZ_CC (clang-14 -> NAME-14).
llvm_tool() {
    local version=${FUZZ_CC##*clang}
    if [[ -n $version ]] && command -v "$1$version" >/dev/null 2>&1; then
        printf '%s\n' "$1$version"
    else
        printf '%s\n' "$1"
    fi
}

mode_coverage() {
    local t dir=$BUILD/cov profdata cov
    local -a objects=()

    profdata=$(llvm_tool llvm-profdata)
    cov=$(llvm_tool llvm-cov)
    rm -f -- "$dir"/*.profraw
    for t in "$@"; do
        mkdir -p "$BUILD/corpus/$t"
        LLVM_PROFILE_FILE="$dir/$t.profraw" "$dir/fuzz_$t" -runs=0 \
            -max_len="$(largest "corpus/$t")" "corpus/$t" "$BUILD/corpus/$t" \
            >"$dir/$t.log" 2>&1 || { printf 'coverage run of %s failed; see %s\n' "$t" "$(shown "$dir/$t.log")"; return 1; }
        objects+=(-object "$dir/fuzz_$t")
    done
    "$profdata" merge -sparse -o "$dir/all.profdata" "$dir"/*.profraw || return 1
    # the first -object is positional for llvm-cov; keep the lines of our files
    "$cov" report "${objects[@]:1}" -instr-profile="$dir/all.profdata" \
        >"$dir/report.txt" || return 1
    sed -n '1p' "$dir/report.txt"
    grep -E '(^|/)(validate|pwformat)\.c ' "$dir/report.txt"
    printf 'annotated, in fuzz/: %s show -show-branches=count %s -instr-profile=%s ../src/validate.c ../src/pwformat.c\n' \
        "$cov" "${objects[*]:1}" "$dir/all.profdata"
}

mode=${1:-}
shift || true
[[ $# -gt 0 ]] || { printf 'usage: run.sh fuzz|replay|merge|coverage TARGET...\n' >&2; exit 2; }
case $mode in
    fuzz) mode_fuzz "$@" ;;
    replay) mode_replay "$@" ;;
    merge) mkdir -p "$BUILD/logs"; mode_merge "$@" ;;
    coverage) mode_coverage "$@" ;;
    *) printf 'usage: run.sh fuzz|replay|merge|coverage TARGET...\n' >&2; exit 2 ;;
esac
