#!/usr/bin/env bash
#
# identity_sync: end to end - registrations through farmreg's outbox, the
# identity sync worker (examples/identity-sync/) and a flaky fake identity
# provider; the worker is killed at every crash point and twice from outside,
# and restarted.  See test/helpers/identity_sync_e2e.py for the scenario and
# the checks.
#
#   E2E_REGISTRATIONS=N     registrations (default 500; more for make bench)
#   E2E_TRANSIENT_RATE=0.2  share of provider requests failing transiently
#   E2E_REJECT_RATE=0.05    share of e-mail addresses the provider rejects
#   E2E_SEED=...            seed of the provider's dice
#   E2E_KEEP=1              keep the database and the scratch directory
#
# deps: python3-psycopg

set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$FARMREG_ROOT/scripts/lib.sh"

# Debian's python3-psycopg is only visible to Debian's interpreter.
PY=/usr/bin/python3
if ! "$PY" -c 'import psycopg' 2>/dev/null; then
    printf 'not ok - %s cannot import psycopg (apt-get install python3-psycopg)\n' "$PY"
    exit 0
fi

WORK=$(mktemp -d "${FARMREG_CLUSTER_DIR:-/tmp}/identity-sync.XXXXXX")
E2E_PID=""

# The orchestrator stops its children itself; this is for when it could not
# (killed, timed out): only the processes it started, by their ids.
# shellcheck disable=SC2317  # called from the exit hook
cleanup() {
    local pid
    if [[ -n $E2E_PID ]] && kill -0 "$E2E_PID" 2>/dev/null; then
        kill -TERM "$E2E_PID" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$E2E_PID" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL "$E2E_PID" 2>/dev/null || true
    fi
    if [[ -f $WORK/pids ]]; then
        while read -r pid; do
            [[ -n $pid ]] || continue
            # only if it still is one of ours (the pid may have been reused)
            if grep -q -a -E 'identity_sync\.py|fake_idp\.py' "/proc/$pid/cmdline" 2>/dev/null; then
                kill -KILL "$pid" 2>/dev/null || true
            fi
        done <"$WORK/pids"
    fi
    if [[ ${E2E_KEEP:-0} == 1 ]]; then
        log "E2E_KEEP=1: scratch files kept in $WORK"
    else
        rm -rf -- "$WORK"
    fi
}
on_exit cleanup

export E2E_WORKDIR=$WORK
rc=0
"$PY" "$FARMREG_ROOT/test/helpers/identity_sync_e2e.py" &
E2E_PID=$!
wait "$E2E_PID" || rc=$?
E2E_PID=""
if [[ $rc -ne 0 ]]; then
    # keep the evidence next to the other logs
    if [[ -n ${FARMREG_LOG_DIR:-} ]]; then
        mkdir -p "$FARMREG_LOG_DIR/identity-sync"
        cp -- "$WORK"/*.log "$FARMREG_LOG_DIR/identity-sync/" 2>/dev/null || true
        printf '# worker and provider logs copied to %s\n' "$FARMREG_LOG_DIR/identity-sync"
    fi
fi
exit 0
