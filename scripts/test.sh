#!/usr/bin/env bash
#
# scripts/test.sh -- build farmreg, start a private cluster, run every suite
#
# What `make test` runs.  Works from a fresh clone, as root or not, with no
# terminal (CI=true, stdin closed).  The last line of output is always
#
#     N passed, N failed
#
# and the exit status is non-zero when anything failed, or when a suite could
# not run (a suite that crashes counts as a failure, never as zero tests).
#
# Suites, in this order (choose with SUITES="regress tap ..."; default: all
# that exist):
#   regress    pg_regress through PGXS (`make installcheck`): the Makefile's
#              REGRESS list, sql/NAME.sql against expected/NAME.out; then
#              its ISOLATION list, specs/NAME.spec against expected/NAME.out
#              (pg_isolation_regress), run even when a REGRESS test failed
#   tap        pgTAP: test/*.sql (not test/_*.sql, not sub-folders) with
#              pg_prove, in database farmreg_tap (pgtap + farmreg created)
#   NAME       every executable test/suites/NAME.sh (see test/suites/README.md)
#   logcheck   the server log holds none of the strings in
#              test/log_forbidden.txt, and no backend crashed
#
# Environment:
#   SUITES="a b"        suites to run (space or comma separated)
#   KEEP_CLUSTER=1      leave the cluster running afterwards, for a look
#   SUITE_TIMEOUT=1800  seconds a single suite (or pgTAP file) may take
#   FARMREG_LOG_DIR     where full outputs go (default: log/ in the repo)
#   PG_CONFIG, PG_EXTRA_CONF, FARMREG_EXTRA_DEPS, FARMREG_SKIP_DEPS: see lib.sh
#
# Full outputs stay in log/: regress.log, regression.diffs, tap/FILE.log,
# suite-NAME.log, logcheck.log, server.log.

# The suite functions are called indirectly (through run_suite), which the
# linter would take for unreachable code.
# shellcheck disable=SC2317

set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$FARMREG_ROOT"

LOG_DIR=${FARMREG_LOG_DIR:-$FARMREG_ROOT/log}
SUITE_TIMEOUT=${SUITE_TIMEOUT:-1800}
TAP_DB=farmreg_tap
# Lines of regression.diffs / failing pgTAP output shown on the terminal.
SHOW_LINES=${SHOW_LINES:-200}
export FARMREG_LOG_DIR=$LOG_DIR

TOTAL_PASS=0
TOTAL_FAIL=0
SUMMARY=()          # one "name: P passed, F failed" line per suite
FINISHED=0          # set once the final line has been printed
ABORTED=1           # cleared when main gets to its end (or gives up cleanly)
ON_TTY=0            # 1 when run from a terminal
if [[ -t 0 || -t 1 || -t 2 ]]; then
    ON_TTY=1
fi

# ---------------------------------------------------------------------------
# Bookkeeping
# ---------------------------------------------------------------------------

header() {
    printf '\n==== %s ====\n' "$*"
}

# record NAME PASS FAIL: add a suite's counts to the totals.
record() {
    TOTAL_PASS=$((TOTAL_PASS + $2))
    TOTAL_FAIL=$((TOTAL_FAIL + $3))
    SUMMARY+=("$(printf '%-20s %5d passed, %d failed' "$1" "$2" "$3")")
}

# final_summary: the per-suite table and the one final line.  Also the exit
# hook, so an aborted run (a `die` in ensure_deps, cluster_start, ...) still
# ends with the final line, counting the abort as a failure.
final_summary() {
    local line
    [[ $FINISHED -eq 0 ]] || return 0
    FINISHED=1
    if [[ $ABORTED -eq 1 ]]; then
        printf 'not ok - harness aborted before all suites ran (see messages above)\n'
        record harness 0 1
    fi
    header summary
    for line in "${SUMMARY[@]}"; do
        printf '%s\n' "$line"
    done
    printf '%d passed, %d failed\n' "$TOTAL_PASS" "$TOTAL_FAIL"
}

# run_timed CMD...: CMD under SUITE_TIMEOUT.  timeout(1) normally moves
# into a process group of its own, so that on expiry it can kill CMD and all
# its children; but then Ctrl-C at a terminal would not reach CMD.  With a
# terminal, keep it in the foreground group (--foreground) instead.
run_timed() {
    if [[ $ON_TTY -eq 1 ]]; then
        timeout --foreground -k 10 "$SUITE_TIMEOUT" "$@"
    else
        timeout -k 10 "$SUITE_TIMEOUT" "$@"
    fi
}

# stop_if_interrupted RC: a command under run_timed that ends with 130 was
# interrupted (Ctrl-C).  timeout(1) reports that as an ordinary exit status,
# so bash does not act on the SIGINT by itself: stop the whole run here.
stop_if_interrupted() {
    if [[ $1 -eq 130 ]]; then
        printf 'interrupted\n'
        exit 130
    fi
}

# count_tap FILE: print "PASS FAIL" for the `ok ...` / `not ok ...` lines at
# the start of lines in FILE.  `not ok ... # TODO` (a known limitation, shown
# on the terminal) counts neither way, and the bare `ok` that pg_prove prints
# after each file's tests is not a test.
count_tap() {
    awk '
        /^not ok[ \t]/ { if (tolower($0) !~ /# *todo/) f++; next }
        /^ok[ \t]/     { p++ }
        END             { printf "%d %d\n", p, f }
    ' "$1"
}

# show_head FILE: the first SHOW_LINES lines of FILE, saying if cut short.
show_head() {
    local n
    n=$(wc -l <"$1")
    head -n "$SHOW_LINES" "$1"
    if [[ $n -gt $SHOW_LINES ]]; then
        printf '... (%d more lines in %s)\n' "$((n - SHOW_LINES))" "$1"
    fi
}

# run_suite NAME FUNCTION [ARGS...]: run a suite function in a subshell with
# errexit on, so an unexpected error ends only that suite.  The function
# sets S_PASS and S_FAIL; a suite that dies before reporting counts as one
# failure.
run_suite() {
    local name=$1 counts rc
    shift
    counts=$(mktemp "$LOG_DIR/.counts.XXXXXX")
    header "suite: $name"
    set +e
    (
        set -euo pipefail
        S_PASS=0
        S_FAIL=0
        "$@"
        printf '%d %d\n' "$S_PASS" "$S_FAIL" >"$counts"
    ) </dev/null
    rc=$?
    set -e
    if [[ $rc -eq 130 ]]; then
        rm -f -- "$counts"
        exit 130
    fi
    local pass=0 fail=0
    if [[ -s $counts ]]; then
        read -r pass fail <"$counts"
    else
        printf 'not ok - suite %s crashed (exit status %d) before reporting results\n' "$name" "$rc"
        fail=1
    fi
    rm -f -- "$counts"
    printf -- '-- %s: %d passed, %d failed\n' "$name" "$pass" "$fail"
    record "$name" "$pass" "$fail"
}

# ---------------------------------------------------------------------------
# Discovery
# ---------------------------------------------------------------------------

# makefile_list VAR: a variable of the Makefile (REGRESS, ISOLATION), asked
# from the Makefile itself.
makefile_list() {
    # shellcheck disable=SC2016  # $(VAR) is for make, not for the shell
    printf 'farmreg-print-list:\n\t@echo $(%s)\n' "$1" \
        | make --no-print-directory -s -f Makefile -f - PG_CONFIG="$PG_CONFIG" farmreg-print-list
}

# regress_tests: the PGXS REGRESS and ISOLATION lists, as one list of names.
regress_tests() {
    local regress isolation
    regress=$(makefile_list REGRESS) || return 1
    isolation=$(makefile_list ISOLATION) || return 1
    # shellcheck disable=SC2086  # word splitting wanted: one name per word
    echo $regress $isolation
}

# tap_files: test/*.sql, without helper files (test/_*.sql; sub-folders such
# as test/helpers/ are never picked up).
tap_files() {
    local f
    for f in test/*.sql; do
        [[ -f $f ]] || continue
        [[ $(basename "$f") == _* ]] && continue
        printf '%s\n' "$f"
    done
}

# script_suites: names of executable test/suites/*.sh.
script_suites() {
    local f
    for f in test/suites/*.sh; do
        [[ -f $f && -x $f ]] || continue
        basename "$f" .sh
    done
}

# suite_deps NAME: Debian packages a scripted suite declares on a line
# "# deps: pkg pkg ..." in its header comment (the lines before its first
# line that is not a comment).
suite_deps() {
    sed -n '/^[^#]/q; s/^#[[:space:]]*deps:[[:space:]]*//p' "test/suites/$1.sh"
}

# ---------------------------------------------------------------------------
# Suites
# ---------------------------------------------------------------------------

# suite_regress TEST...: the PGXS REGRESS and ISOLATION lists are passed in,
# so tests that never got a result (pg_regress gave up half way) count as
# failures.  The two parts run as two `make installcheck` calls (REGRESS=
# and ISOLATION= turn the other part off), so a failing regression test does
# not keep the isolation specs from running.
suite_regress() {
    local out=$LOG_DIR/regress.log rc=0 rc_iso=0 pass fail unrun=0 isolation

    rm -f regression.diffs regression.out output_iso/regression.diffs output_iso/regression.out
    : >"$out"
    set +e
    run_timed make --no-print-directory -s PG_CONFIG="$PG_CONFIG" ISOLATION= installcheck 2>&1 | tee -a "$out"
    rc=${PIPESTATUS[0]}
    set -e
    stop_if_interrupted "$rc"
    isolation=$(makefile_list ISOLATION) || isolation=""
    if [[ -n $isolation && $rc -ne 124 ]]; then
        set +e
        run_timed make --no-print-directory -s PG_CONFIG="$PG_CONFIG" REGRESS= installcheck 2>&1 | tee -a "$out"
        rc_iso=${PIPESTATUS[0]}
        set -e
        stop_if_interrupted "$rc_iso"
        if [[ $rc -eq 0 || $rc_iso -eq 124 ]]; then
            rc=$rc_iso
        fi
    fi

    # PostgreSQL 15:  "test name   ... ok   12 ms", in parallel groups
    # "     name   ... ok   5 ms", "... FAILED", "... failed (ignored)".
    # PostgreSQL 16+: "ok 1   - name   12 ms", "not ok 2   + name".
    read -r pass fail < <(awk '
        / \.\.\. (ok|failed \(ignored\))/ { p++; next }
        / \.\.\. FAILED/                  { f++; next }
        /^ok [0-9]+ +[-+] /               { p++; next }
        /^not ok [0-9]+ +[-+] /           { f++; next }
        END                               { printf "%d %d\n", p, f }
    ' "$out")

    if [[ $((pass + fail)) -lt $# ]]; then
        unrun=$(($# - pass - fail))
        printf 'not ok - %d of the %d regression tests and isolation specs gave no result; see %s\n' "$unrun" "$#" "$out"
        fail=$((fail + unrun))
    fi
    if [[ $rc -eq 124 ]]; then
        printf 'not ok - make installcheck timed out after %ss\n' "$SUITE_TIMEOUT"
        if [[ $unrun -eq 0 ]]; then
            fail=$((fail + 1))
        fi
    elif [[ ($rc -ne 0 || $rc_iso -ne 0) && $fail -eq 0 ]]; then
        printf 'not ok - make installcheck failed (exit status %d) without a failing test; see %s\n' \
            "$((rc != 0 ? rc : rc_iso))" "$out"
        fail=1
    elif [[ $rc -eq 0 && $((pass + fail)) -eq 0 ]]; then
        printf 'not ok - make installcheck reported no test results; see %s\n' "$out"
        fail=1
    fi
    # pg_regress writes regression.diffs, pg_isolation_regress output_iso/regression.diffs
    cat regression.diffs output_iso/regression.diffs >"$LOG_DIR/regression.diffs" 2>/dev/null || true
    if [[ -s $LOG_DIR/regression.diffs ]]; then
        if [[ $fail -gt 0 ]]; then
            printf '\n---- regression.diffs ----\n'
            show_head "$LOG_DIR/regression.diffs"
        fi
    else
        rm -f -- "$LOG_DIR/regression.diffs"
    fi
    S_PASS=$pass
    S_FAIL=$fail
}

suite_tap() {
    local f flog rc planned pass fail unrun
    local -a files
    mapfile -t files < <(tap_files)
    mkdir -p "$LOG_DIR/tap"

    if ! psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $TAP_DB" \
        || ! psql -X -q -v ON_ERROR_STOP=1 -d "$TAP_DB" \
            -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION farmreg'; then
        printf 'not ok - could not prepare database %s\n' "$TAP_DB"
        S_FAIL=1
        return 0
    fi

    for f in "${files[@]}"; do
        flog=$LOG_DIR/tap/$(basename "$f" .sql).log
        rc=0
        run_timed pg_prove --verbose --dbname "$TAP_DB" --psql-bin "$PGBIN/psql" "$f" \
            >"$flog" 2>&1 || rc=$?
        stop_if_interrupted "$rc"

        read -r pass fail < <(count_tap "$flog")
        planned=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$flog" | head -n 1)
        unrun=0
        if [[ $rc -eq 0 ]] && grep -q -E '^[^ ]+ \.\.+ skipped:' "$flog"; then
            # plan(0) / skip_all: the file skipped itself (pg_prove says why).
            printf 'skipped %-40s %s\n' "$f" "$(sed -n 's/^[^ ]* \.\.* skipped: *//p' "$flog" | head -n 1)"
            continue
        fi
        if [[ -n $planned && $planned -gt $((pass + fail)) ]]; then
            # Planned tests that never ran (the file died half way).
            unrun=$((planned - pass - fail))
            fail=$((fail + unrun))
        fi
        if [[ $fail -eq 0 && ( $rc -ne 0 || $((pass + fail)) -eq 0 ) ]]; then
            # pg_prove failed (bad plan, psql error after the last test, a
            # timeout) or nothing ran at all: one failure for the file.
            fail=1
        fi

        if [[ $fail -eq 0 ]]; then
            printf 'ok      %-40s %d tests\n' "$f" "$pass"
        else
            printf 'FAILED  %-40s %d passed, %d failed' "$f" "$pass" "$fail"
            if [[ $unrun -gt 0 ]]; then
                printf ' (%d planned tests never ran)' "$unrun"
            fi
            if [[ $rc -eq 124 ]]; then
                printf ' (timed out after %ss)' "$SUITE_TIMEOUT"
            fi
            printf '\n'
            # Everything but the passing lines: failures, diagnostics, errors.
            grep -v -E '^ok([ \t]|$)' "$flog" | sed 's/^/    /' >"$flog.short" || true
            show_head "$flog.short"
            rm -f -- "$flog.short"
        fi
        S_PASS=$((S_PASS + pass))
        S_FAIL=$((S_FAIL + fail))
    done
}

# suite_script NAME: run test/suites/NAME.sh; count its ok / not ok lines.
suite_script() {
    local name=$1 out=$LOG_DIR/suite-$1.log rc pass fail

    set +e
    # The terminal gets everything but the passing lines; the log gets all.
    run_timed "test/suites/$name.sh" 2>&1 \
        | tee "$out" | grep --line-buffered -v -E '^ok([ \t]|$)'
    rc=${PIPESTATUS[0]}
    set -e
    stop_if_interrupted "$rc"

    read -r pass fail < <(count_tap "$out")
    if [[ $rc -ne 0 && $fail -eq 0 ]]; then
        if [[ $rc -eq 124 ]]; then
            printf 'not ok - suite %s timed out after %ss\n' "$name" "$SUITE_TIMEOUT"
        else
            printf 'not ok - suite %s exited with status %d\n' "$name" "$rc"
        fi
        fail=1
    elif [[ $((pass + fail)) -eq 0 ]]; then
        printf 'not ok - suite %s reported no results\n' "$name"
        fail=1
    fi
    S_PASS=$pass
    S_FAIL=$fail
}

# suite_logcheck: the server log, after every other suite.
suite_logcheck() {
    local log=$FARMREG_SERVER_LOG list=test/log_forbidden.txt out=$LOG_DIR/logcheck.log
    local s hits nstrings=0 bad=0
    : >"$out"

    if [[ ! -r $log ]]; then
        printf 'not ok - server log %s is not readable\n' "$log"
        S_FAIL=1
        return 0
    fi

    # 1. No forbidden string (marked passwords the tests used).  One per
    #    line; blank lines and lines starting with '#' are ignored.
    if [[ -f $list ]]; then
        while IFS= read -r s || [[ -n $s ]]; do
            s=${s%$'\r'}
            [[ -z $s || $s == \#* ]] && continue
            nstrings=$((nstrings + 1))
            hits=$(grep -c -F -e "$s" "$log" || true)
            if [[ $hits -gt 0 ]]; then
                bad=$((bad + 1))
                {
                    printf '# forbidden string %q found on %d line(s) of the server log, e.g.:\n' "$s" "$hits"
                    grep -n -F -e "$s" "$log" | head -n 5 | sed 's/^/#   /'
                } | tee -a "$out"
            fi
        done <"$list"
        if [[ $bad -eq 0 ]]; then
            printf 'ok - server log contains none of the %d strings in %s\n' "$nstrings" "$list"
            S_PASS=$((S_PASS + 1))
        else
            printf 'not ok - server log contains %d of the %d strings in %s\n' "$bad" "$nstrings" "$list"
            S_FAIL=$((S_FAIL + 1))
        fi
    else
        printf 'ok - server log: no %s, no forbidden strings to look for\n' "$list"
        S_PASS=$((S_PASS + 1))
    fi

    # 1b. The control: strings that must be there (test/log_expected.txt,
    #     when the regress suite that writes them ran),
    #     e.g. a password-like literal in a statement PostgreSQL itself
    #     rejected, proving the log does record failed statements, so that
    #     finding no forbidden string above means something.
    if [[ -f test/log_expected.txt && ${RAN_REGRESS:-0} == 1 ]]; then
        local nmissing=0 nexpected=0
        while IFS= read -r s || [[ -n $s ]]; do
            s=${s%$'\r'}
            [[ -z $s || $s == \#* ]] && continue
            nexpected=$((nexpected + 1))
            if ! grep -q -F -e "$s" "$log"; then
                nmissing=$((nmissing + 1))
                printf '# expected string %q is not in the server log\n' "$s" | tee -a "$out"
            fi
        done <test/log_expected.txt
        if [[ $nmissing -eq 0 ]]; then
            printf 'ok - server log contains the %d control strings in test/log_expected.txt\n' "$nexpected"
            S_PASS=$((S_PASS + 1))
        else
            printf 'not ok - server log lacks %d of the %d control strings in test/log_expected.txt\n' "$nmissing" "$nexpected"
            S_FAIL=$((S_FAIL + 1))
        fi
    fi

    # 2. No backend crashed (a C extension's segfault shows up here even
    #    when the crashing test's own result looked fine).
    local crash_re='terminated by signal|PANIC:|^TRAP:|was terminated by exception'
    if grep -q -E "$crash_re" "$log"; then
        {
            printf '# server log shows a crash:\n'
            grep -n -E "$crash_re" "$log" | head -n 10 | sed 's/^/#   /'
        } | tee -a "$out"
        printf 'not ok - no backend crashed\n'
        S_FAIL=$((S_FAIL + 1))
    else
        printf 'ok - no backend crashed\n'
        S_PASS=$((S_PASS + 1))
    fi
}

# save_server_log: keep a copy of the server log before the cluster goes.
save_server_log() {
    if [[ -n ${FARMREG_SERVER_LOG:-} && -r ${FARMREG_SERVER_LOG:-} ]]; then
        cp -- "$FARMREG_SERVER_LOG" "$LOG_DIR/server.log" || true
    fi
}

# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

main() {
    local -a scripted wanted=() selected=() deps=()
    local name s known rc regress_list

    mkdir -p "$LOG_DIR"
    rm -f -- "$LOG_DIR"/*.log "$LOG_DIR"/tap/*.log "$LOG_DIR/regression.diffs"
    on_exit final_summary

    # Which suites: SUITES if given (in canonical order), else all.
    mapfile -t scripted < <(script_suites)
    local -a canonical=(regress tap "${scripted[@]}" logcheck)
    if [[ -n ${SUITES:-} ]]; then
        IFS=', ' read -r -a wanted <<<"$SUITES"
        for s in "${wanted[@]}"; do
            known=0
            for name in "${canonical[@]}"; do
                [[ $s == "$name" ]] && known=1
            done
            if [[ $known -eq 0 ]]; then
                printf 'not ok - unknown suite %s (known: %s)\n' "$s" "${canonical[*]}"
                record "$s" 0 1
            fi
        done
        for name in "${canonical[@]}"; do
            for s in "${wanted[@]}"; do
                if [[ $s == "$name" ]]; then
                    selected+=("$name")
                    break
                fi
            done
        done
    else
        selected=("${canonical[@]}")
    fi

    # the log's control strings come from the regress suite
    for name in "${selected[@]}"; do
        [[ $name == regress ]] && RAN_REGRESS=1
    done

    # Packages: the base set plus what the chosen scripted suites declare.
    for name in "${selected[@]}"; do
        if [[ -f test/suites/$name.sh ]]; then
            # shellcheck disable=SC2207  # a space-separated package list
            deps+=($(suite_deps "$name"))
        fi
    done
    header "setup"
    ensure_deps "${deps[@]}"
    printf 'dependencies present; PostgreSQL binaries in %s\n' "$PGBIN"

    if ! install_extension; then
        printf 'not ok - build and install (see the messages above)\n'
        record build 0 1
        ABORTED=0
        final_summary
        exit 1
    fi
    printf 'farmreg built and installed into %s\n' "$("$PG_CONFIG" --pkglibdir)"

    cluster_start test
    on_exit save_server_log

    for name in "${selected[@]}"; do
        case $name in
            regress)
                if ! regress_list=$(regress_tests); then
                    header "suite: regress"
                    printf 'not ok - could not read the REGRESS / ISOLATION lists from the Makefile\n'
                    record regress 0 1
                    continue
                fi
                if [[ -z $regress_list ]]; then
                    if [[ -n ${SUITES:-} ]]; then
                        header "suite: regress"
                        printf 'not ok - suite regress requested but the REGRESS and ISOLATION lists are empty\n'
                        record regress 0 1
                    fi
                    continue
                fi
                # shellcheck disable=SC2086  # one argument per test name
                run_suite regress suite_regress $regress_list
                ;;
            tap)
                if [[ -z $(tap_files) ]]; then
                    if [[ -n ${SUITES:-} ]]; then
                        header "suite: tap"
                        printf 'not ok - suite tap requested but there is no test/*.sql\n'
                        record tap 0 1
                    fi
                    continue
                fi
                run_suite tap suite_tap
                ;;
            logcheck)
                run_suite logcheck suite_logcheck
                ;;
            *)
                run_suite "$name" suite_script "$name"
                ;;
        esac
    done

    header "done"
    save_server_log
    cluster_stop
    printf 'full outputs in %s\n' "$LOG_DIR"

    ABORTED=0
    final_summary
    rc=0
    [[ $TOTAL_FAIL -eq 0 ]] || rc=1
    exit "$rc"
}

main "$@"
