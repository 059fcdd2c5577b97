#!/usr/bin/env bash
#
# scripts/bench.sh -- `make bench`: farmreg against the alternatives, and
# what farmreg costs the rest of the cluster (issues 7, 11, 12 and 13)
#
# Builds farmreg (and bench/hash, the argon2id helper the peers call, and
# bench/netdelay, a delaying TCP proxy), starts a private cluster, loads
# BENCH_FARMS fake USDA farms and measures, with pgbench -M prepared:
#
#   main     five ways to register a farm admin, interleaved in every round,
#            at each client count and synchronous_commit setting:
#              farmreg         farmreg.register_farm_admin      (bench/pgbench/farmreg.sql)
#              plpgsql_simple  the simplest PL/pgSQL function   (bench/plpgsql_simple.sql)
#              plpgsql         a fuller PL/pgSQL peer           (bench/plpgsql_peer.sql)
#              client_tx       an Ecto-style client-side transaction (bench/pgbench/client_tx.sql)
#              floor           one CTE, no validation           (bench/pgbench/floor.sql)
#            all with the same cheap argon2id cost (opslimit 1, memlimit 8 kB)
#   netem    farmreg and the client-side transaction over a link with a
#            BENCH_RTT_US round trip (bench/netdelay, calibrated), 1 client
#   batch    farmreg.register_farm_admins(BENCH_BATCH requests) against as
#            many register_farm_admin calls in one transaction, one
#            statement each, and all in one statement
#   syscalls brk, munmap, mmap and page faults of one backend per
#            registration over BENCH_STRACE_N single calls (strace -c)
#   commit   BENCH_COMMIT_CLIENTS clients, synchronous_commit on: farmreg
#            as it is, with its wakeup trigger disabled (no wakeups at all)
#            and with farmreg 1.1's NOTIFY per commit; meanwhile the waits
#            for the NOTIFY lock (pg_locks) and the wakeup latency of a
#            LISTENing consumer (bench/commit_probe.py)
#   storm    a login storm at the default costs: BENCH_STORM_LOGINS clients
#            with wrong passwords while 2 register, and a SELECT 1 every
#            50 ms (bench/login_storm.py)
#   default  farmreg with its default hashing costs: an accepted request, one
#            rejected by a lookup (username taken) and one rejected by a field
#            rule (password too short); latency percentiles
#   legacy   imported bcrypt hashes against plaintext passwords at the
#            default cost, the upgrading first login, and unknown logins
#            against wrong passwords (bench/legacy.py; its imported-hash
#            parts skip, with a note, on a farmreg without them)
#   hash     the cost of one argon2id hash, cheap and default, on its own
#   instructions
#            the main variants' server instructions per registration, counted
#            by callgrind over `postgres --single` (bench/singleuser/): exact
#            and repeatable, where the throughput of a shared machine is not
#   soak     the load and identity-sync suites, long
#
# Besides throughput, every pgbench run records the CPU time the server
# (backends, from the postmaster's reaped-children times) and pgbench used
# per registration, which other load on the machine disturbs far less than
# it disturbs throughput.
#
# The database holds BENCH_SEED farm admins registered before the benchmark
# (bench/seed.sql); every run starts from exactly those (the rows of the
# previous run deleted, VACUUM, CHECKPOINT) and is checked afterwards: the
# rows it added must match the transactions pgbench counted (and farmreg's
# events the registrations), so a variant that silently failed is caught.
# (Not from empty tables: plans made on an empty table scan it
# sequentially, and cached plans keep doing so as the run fills it -- see
# bench/seed.sql.)
#
# Output in BENCH_OUT (default bench/results/):
#   results.md        machine, settings, tables of medians and ratios, goals
#   throughput.png    throughput by clients for the main variants
#   runs.csv          every main run (one line per pgbench run)
#   latency.csv       pooled latency percentiles per configuration
#   instructions.csv  callgrind counts per registration
#   netem.csv  commit.csv  syscalls.csv  storm.csv  legacy.csv
#   default_cost.csv  batch.csv  hash.csv   the other measurements, raw
#
# Environment (the defaults take about 25 minutes on a 2-core machine; see
# results.md for the measured total; BENCH_PHASES picks phases):
#   BENCH_PHASES="hash main netem batch syscalls commit storm default legacy instructions soak"
#   BENCH_SECONDS=3          seconds per main and netem pgbench run
#   BENCH_ROUNDS=5           rounds of the main, netem, commit and default runs
#   BENCH_CLIENTS="1 2"      client counts of the main matrix
#   BENCH_SYNC="off"         synchronous_commit settings of the main matrix
#   BENCH_FARMS=1000000      fake USDA farms
#   BENCH_SEED=100000        farm admins registered before the runs
#   BENCH_RTT_US=500         the netem link's round trip
#   BENCH_BATCH=1500         requests in the batch comparison
#   BENCH_BATCH_ROUNDS=5     rounds of the batch comparison
#   BENCH_STRACE_N=10000     single calls counted by strace, per variant
#   BENCH_COMMIT_CLIENTS=16  clients of the commit runs
#   BENCH_COMMIT_SECONDS=5   seconds per commit run
#   BENCH_STORM_SECONDS=20   length of the login storm
#   BENCH_STORM_LOGINS=64    clients trying wrong passwords
#   BENCH_DEFAULT_SECONDS=4  seconds per default-cost run
#   BENCH_DEFAULT_ROUNDS=3   rounds of the default-cost runs
#   BENCH_IMPORT=10000       users of the legacy import (at most farmreg.max_batch_requests)
#   BENCH_BCRYPT_DISTINCT=20 different bcrypt hashes made for them
#   BENCH_CALLGRIND=1        0 skips the instruction counts (and valgrind)
#   BENCH_CALLGRIND_N=300    registrations counted per variant
#   BENCH_SOAK=1             0 skips the long load and identity-sync runs
#                            (LOAD_SECONDS=60, E2E_REGISTRATIONS=1500)
#   BENCH_KEEP_PROFILES=dir  keep the callgrind profiles there (for
#                            callgrind_annotate --inclusive=yes --tree=calling)
#   BENCH_OUT=dir            where results go
#   KEEP_CLUSTER=1, PG_CONFIG, PG_EXTRA_CONF, FARMREG_SKIP_DEPS: see lib.sh

set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$FARMREG_ROOT"

BENCH_PHASES=${BENCH_PHASES:-"hash main netem batch syscalls commit storm default legacy instructions soak"}
BENCH_SECONDS=${BENCH_SECONDS:-3}
BENCH_ROUNDS=${BENCH_ROUNDS:-5}
BENCH_CLIENTS=${BENCH_CLIENTS:-"1 2"}
BENCH_SYNC=${BENCH_SYNC:-"off"}
BENCH_FARMS=${BENCH_FARMS:-1000000}
BENCH_SEED=${BENCH_SEED:-100000}
BENCH_RTT_US=${BENCH_RTT_US:-500}
BENCH_BATCH=${BENCH_BATCH:-1500}
BENCH_BATCH_ROUNDS=${BENCH_BATCH_ROUNDS:-5}
BENCH_STRACE_N=${BENCH_STRACE_N:-10000}
BENCH_COMMIT_CLIENTS=${BENCH_COMMIT_CLIENTS:-16}
BENCH_COMMIT_SECONDS=${BENCH_COMMIT_SECONDS:-5}
BENCH_STORM_SECONDS=${BENCH_STORM_SECONDS:-20}
BENCH_STORM_LOGINS=${BENCH_STORM_LOGINS:-64}
BENCH_DEFAULT_SECONDS=${BENCH_DEFAULT_SECONDS:-4}
BENCH_DEFAULT_ROUNDS=${BENCH_DEFAULT_ROUNDS:-3}
BENCH_IMPORT=${BENCH_IMPORT:-10000}
BENCH_BCRYPT_DISTINCT=${BENCH_BCRYPT_DISTINCT:-20}
BENCH_CALLGRIND=${BENCH_CALLGRIND:-1}
BENCH_CALLGRIND_N=${BENCH_CALLGRIND_N:-300}
OUT=${BENCH_OUT:-$FARMREG_ROOT/bench/results}
if [[ $BENCH_CALLGRIND != 1 ]]; then
    BENCH_PHASES=${BENCH_PHASES//instructions/}
fi
if [[ ${BENCH_SOAK:-1} != 1 ]]; then
    BENCH_PHASES=${BENCH_PHASES//soak/}
fi

DB=farmreg_bench
LEGACY_DB=farmreg_legacy
PY=/usr/bin/python3     # Debian's, which sees python3-psycopg and python3-bcrypt
VARIANTS=(farmreg plpgsql_simple plpgsql client_tx floor)
# the commit runs: farmreg as it is, without wakeups, and as 1.1 (NOTIFY per commit)
COMMIT_VARIANTS=(farmreg farmreg_nowake farmreg_notify11)
# the instruction counts: the main variants, and the floor with farmreg's
# outbox event (a reference: how much of farmreg's count the event is)
CG_VARIANTS=("${VARIANTS[@]}" floor_events)
# the cheap hashing costs every main variant pays (libsodium's minimums)
CHEAP_OPS=1
CHEAP_MEM_KB=8
CHEAP_OPTS="-c farmreg.password_opslimit=$CHEAP_OPS -c farmreg.password_memlimit=$CHEAP_MEM_KB"
# request numbers start above this (k = BASE + client_id + clients * n, n >= 1);
# the probes of the commit runs and the storm count down from farms / 2 - 1
# (seeds are above farms / 2)
BASE=1000
NPROC=$(nproc 2>/dev/null || echo 2)
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# The cluster: fsync and synchronous_commit stay on (the honest defaults; the
# main matrix also runs with synchronous_commit off, per session).  Enough
# shared_buffers to hold the farms and their indexes, and enough WAL that no
# checkpoint starts during a run (each run starts right after one).
CLUSTER_SETTINGS=(
    fsync=on
    synchronous_commit=on
    full_page_writes=on
    shared_buffers=512MB
    max_wal_size=4GB
    min_wal_size=1GB
    checkpoint_timeout=30min
    max_connections=100
    # the netem runs connect over TCP, through bench/netdelay
    "listen_addresses='127.0.0.1'"
)

START_SECONDS=$SECONDS
WORK=""
PROXY_PID=""
# extra pgbench connection options (the netem runs: through the proxy)
PGBENCH_CONN=()

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

header() { printf '\n==== %s ====\n' "$*" >&2; }

q()  { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
qv() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

load1() { cut -d' ' -f1 /proc/loadavg; }

remove_work() { [[ -n $WORK ]] && rm -rf -- "$WORK"; }

has_phase() { [[ " $BENCH_PHASES " == *" $1 "* ]]; }

# install_bench_hash: build bench/hash and install it next to the extension,
# the way install_extension does.
install_bench_hash() {
    local pkglibdir
    make -C bench/hash --no-print-directory -s PG_CONFIG="$PG_CONFIG" \
        || die "building bench/hash failed"
    pkglibdir=$("$PG_CONFIG" --pkglibdir)
    if is_root || [[ -w $pkglibdir ]]; then
        make -C bench/hash --no-print-directory -s PG_CONFIG="$PG_CONFIG" install \
            || die "installing bench/hash failed"
    else
        sudo -n make -C bench/hash --no-print-directory -s PG_CONFIG="$PG_CONFIG" install \
            || die "installing bench/hash failed (not root, and sudo -n does not work)"
    fi
}

# reset: back to the seed registrations (ids 1 .. BENCH_SEED, no keys, no
# events), the dead rows vacuumed away, and a checkpoint, so that every run starts from
# the same state.
reset() {
    q -c 'DELETE FROM farmreg.idempotency_keys' \
      -c 'DELETE FROM farmreg.events' \
      -c "DELETE FROM farmreg.farmers WHERE id > $BENCH_SEED" \
      -c "DELETE FROM farmreg.farms WHERE id > $BENCH_SEED" \
      -c "DELETE FROM farmreg.users WHERE id > $BENCH_SEED" \
      -c 'VACUUM farmreg.users, farmreg.farms, farmreg.farmers, farmreg.idempotency_keys, farmreg.events' \
      -c 'CHECKPOINT'
}

# register_taken_user: the user the rejected_taken requests collide with.
register_taken_user() {
    PGOPTIONS="$CHEAP_OPTS" qv -c "SELECT ok FROM farmreg.register_farm_admin('taken_user',
        'correct horse battery staple', 'Taken', 'taken@example.com',
        bench.usda_uid(0, $BENCH_FARMS))" | grep -qx t \
        || die "could not register taken_user"
}

# registered: farmer rows since the seed, i.e. registrations that happened.
registered() { qv -c "SELECT count(*) FROM farmreg.farmers WHERE id > $BENCH_SEED"; }

# events: farm_admin_registered events since the reset (farmreg appends one
# per registration; the peers none).
events() { qv -c "SELECT count(*) FROM farmreg.events WHERE type = 'farm_admin_registered'"; }

# postmaster_pid: the cluster's postmaster.
postmaster_pid() { head -n 1 "$FARMREG_PGDATA/postmaster.pid"; }

# wait_backends_gone: until no client backend of the cluster is left, nor
# an exited one the postmaster has not reaped yet (a backend's CPU time
# reaches the postmaster's children times only when it is reaped).  Gives
# up after 5 s.
wait_backends_gone() {
    local pm tries
    pm=$(postmaster_pid)
    for ((tries = 0; tries < 100; tries++)); do
        ps -o stat=,args= --ppid "$pm" \
            | awk '$1 ~ /^Z/ || /\[local\]/ || /127\.0\.0\.1\(/ { busy = 1 } END { exit !busy }' || return 0
        sleep 0.05
    done
    warn "client backends still running after 5 s; CPU figures of this run include less"
}

# server_ticks: "all kernel" CPU clock ticks of the postmaster and its
# reaped children (backends, autovacuum workers): utime + stime + cutime +
# cstime, and stime + cstime.
server_ticks() { awk '{ print $14 + $15 + $16 + $17, $15 + $17 }' "/proc/$(postmaster_pid)/stat"; }

# machine_ticks: CPU clock ticks of the whole machine from /proc/stat, all
# CPUs: busy (user, nice, system, irq, softirq) and all (with idle, iowait
# and steal).
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

# percentiles FILE: "p50 p99" (nearest rank, in ms) of a file of sorted
# latencies in microseconds, one per line.
percentiles() {
    awk '{ v[NR] = $1 }
         END {
             if (NR == 0) { print "NaN NaN"; exit }
             i50 = int(0.50 * NR); if (i50 < 0.50 * NR) i50++
             i99 = int(0.99 * NR); if (i99 < 0.99 * NR) i99++
             printf "%.3f %.3f\n", v[i50] / 1000, v[i99] / 1000
         }' "$1"
}

# run_pgbench SCRIPT CLIENTS SECONDS PGOPTS: one pgbench run.  Sets R_TXN,
# R_FAILED, R_TPS, R_LAT (ms), R_P50, R_P99 (ms), R_SCPU, R_SSYS and R_CCPU
# (server CPU, the kernel's part of it, and pgbench CPU per transaction, us),
# R_OTHER (the share of the machine's CPU time, in %, that went to neither
# the server nor pgbench meanwhile: other people's work, and this script's
# helpers) and leaves the run's sorted
# latencies (us) in $WORK/lat.sorted.
run_pgbench() {
    local script=$1 clients=$2 secs=$3 opts=$4
    local threads=$((clients < NPROC ? clients : NPROC))
    local out=$WORK/pgbench.out prefix=$WORK/log/pgb
    local t0 t1 k0 k1 m0 a0 m1 a1 rc=0 TIMEFORMAT='%3U %3S'

    rm -f -- "$WORK"/log/pgb.*
    wait_backends_gone
    read -r t0 k0 < <(server_ticks)
    read -r m0 a0 < <(machine_ticks)
    { time PGOPTIONS="$opts" pgbench "${PGBENCH_CONN[@]}" -n -M prepared -c "$clients" -j "$threads" -T "$secs" \
            -l --log-prefix="$prefix" \
            -D n=0 -D base="$BASE" -D nclients="$clients" -D farms="$BENCH_FARMS" \
            -f "bench/pgbench/$script.sql" "$DB" >"$out" 2>&1 || rc=$?; } 2>"$WORK/time"
    if [[ $rc -ne 0 ]]; then
        cat "$out" >&2
        die "pgbench failed: $script, $clients clients, PGOPTIONS=$opts"
    fi
    wait_backends_gone
    read -r t1 k1 < <(server_ticks)
    read -r m1 a1 < <(machine_ticks)
    R_TXN=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
    R_FAILED=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")
    R_TPS=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' "$out")
    R_LAT=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$out")
    R_FAILED=${R_FAILED:-0}
    if [[ -z $R_TXN || -z $R_TPS || -z $R_LAT ]]; then
        cat "$out" >&2
        die "could not read pgbench's output for $script"
    fi
    if [[ $R_FAILED -ne 0 ]]; then
        cat "$out" >&2
        die "$script: $R_FAILED failed transactions"
    fi
    # per-transaction log: client_id transaction_no time(us) script_no epoch us
    cat "$prefix".* | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n >"$WORK/lat.sorted"
    read -r R_P50 R_P99 < <(percentiles "$WORK/lat.sorted")
    R_SCPU=$(awk -v t="$((t1 - t0))" -v hz="$CLK_TCK" -v n="$R_TXN" \
        'BEGIN { printf("%.1f", (n > 0 ? t * 1e6 / hz / n : 0)) }')
    R_SSYS=$(awk -v t="$((k1 - k0))" -v hz="$CLK_TCK" -v n="$R_TXN" \
        'BEGIN { printf("%.1f", (n > 0 ? t * 1e6 / hz / n : 0)) }')
    R_CCPU=$(awk -v n="$R_TXN" '{ printf("%.1f", (n > 0 ? ($1 + $2) * 1e6 / n : 0)) }' "$WORK/time")
    R_OTHER=$(awk -v busy="$((m1 - m0))" -v all="$((a1 - a0))" -v server="$((t1 - t0))" -v hz="$CLK_TCK" \
        '{ o = busy - server - ($1 + $2) * hz; if (o < 0) o = 0
           printf("%.1f", (all > 0 ? 100 * o / all : 0)) }' "$WORK/time")
}

# check_rows SCRIPT CLIENTS EXPECTED: the registrations a run left must match
# what pgbench counted (a client stopped by -T may leave one transaction
# more or less behind), and farmreg must have appended one event for each.
check_rows() {
    local script=$1 clients=$2 expected=$3 rows ev
    rows=$(registered)
    if ((rows < expected - clients || rows > expected + clients)); then
        die "$script registered $rows farm admins in $expected transactions: a variant is not doing what it should"
    fi
    if [[ $script == farmreg* ]]; then
        ev=$(events)
        [[ $ev -eq $rows ]] \
            || die "$script registered $rows farm admins but appended $ev events: farmreg is not doing all its work"
    fi
    R_ROWS=$rows
}

# ---------------------------------------------------------------------------
# Phases
# ---------------------------------------------------------------------------

setup() {
    header "setup"
    local deps=(gnuplot-nox procps python3-psycopg python3-bcrypt strace)
    if has_phase instructions; then
        deps+=(valgrind)
    fi
    ensure_deps "${deps[@]}"
    command -v pgbench >/dev/null || die "pgbench not found (PostgreSQL client tools)"
    install_extension || die "build and install failed"
    install_bench_hash
    log "farmreg and bench/hash installed into $("$PG_CONFIG" --pkglibdir)"

    cluster_start bench "${CLUSTER_SETTINGS[@]}"
    WORK=$(mktemp -d "$FARMREG_CLUSTER_DIR/work.XXXXXX")
    chmod 0755 "$WORK"      # the single-user runs (as postgres) work in it
    mkdir -p "$WORK/log" "$WORK/lat"
    on_exit remove_work
    "${CC:-gcc}" -std=c11 -O2 -Wall -Wextra -Werror -pthread -o "$WORK/netdelay" \
        bench/netdelay/netdelay.c || die "building bench/netdelay failed"
    on_exit proxy_stop

    local t0=$SECONDS
    psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB"
    q -v farms="$BENCH_FARMS" -v hashlib="\$libdir/farmreg_bench_hash" -f bench/setup.sql >/dev/null
    q -f bench/plpgsql_peer.sql -f bench/plpgsql_simple.sql
    # farmreg 1.1's wakeups for the commit runs: a NOTIFY in every transaction
    # that appends events (disabled but for that variant)
    q -c "CREATE FUNCTION bench.notify_events_1_1() RETURNS trigger LANGUAGE plpgsql
            AS \$\$ BEGIN PERFORM pg_catalog.pg_notify('farmreg_events', ''); RETURN NULL; END \$\$" \
      -c 'CREATE TRIGGER bench_notify_1_1 AFTER INSERT ON farmreg.events
            FOR EACH STATEMENT EXECUTE FUNCTION bench.notify_events_1_1()' \
      -c 'ALTER TABLE farmreg.events DISABLE TRIGGER bench_notify_1_1'
    log "loaded $BENCH_FARMS USDA farms in $((SECONDS - t0)) s"

    local line
    line=$(q -v farms="$BENCH_FARMS" -f bench/peer_check.sql 2>&1 | tee "$WORK/peer_check.log" \
        | sed -n 's/.*NOTICE:  peer_check \([0-9]*\) \([0-9]*\)$/\1 \2/p')
    read -r PEER_CASES PEER_BAD <<<"${line:-0 -1}"
    if [[ $PEER_BAD -ne 0 ]]; then
        cat "$WORK/peer_check.log" >&2
        warn "the PL/pgSQL peer disagrees with farmreg on $PEER_BAD of $PEER_CASES requests"
    else
        log "the PL/pgSQL peer answers like farmreg on all $PEER_CASES check requests"
    fi
    line=$(q -v farms="$BENCH_FARMS" -f bench/simple_check.sql 2>&1 | tee "$WORK/simple_check.log" \
        | sed -n 's/.*NOTICE:  simple_check \([0-9]*\) \([0-9]*\)$/\1 \2/p')
    read -r SIMPLE_CASES SIMPLE_BAD <<<"${line:-0 -1}"
    if [[ $SIMPLE_BAD -ne 0 ]]; then
        cat "$WORK/simple_check.log" >&2
        die "the simplest PL/pgSQL peer does not answer as intended on $SIMPLE_BAD of $SIMPLE_CASES requests"
    fi
    log "the simplest PL/pgSQL peer answers as intended on all $SIMPLE_CASES check requests"

    if ((BENCH_SEED > BENCH_FARMS / 2)); then
        die "BENCH_SEED ($BENCH_SEED) must be at most half of BENCH_FARMS ($BENCH_FARMS)"
    fi
    t0=$SECONDS
    q -v seed="$BENCH_SEED" -v farms="$BENCH_FARMS" -f bench/seed.sql
    q -c CHECKPOINT
    log "registered $BENCH_SEED seed farm admins in $((SECONDS - t0)) s"

    mkdir -p "$OUT"
}

measure_hash() {
    header "hash cost"
    local r ops mem n us
    for ((r = 1; r <= 3; r++)); do
        for spec in "$CHEAP_OPS $CHEAP_MEM_KB 2000" "2 19456 10"; do
            read -r ops mem n <<<"$spec"
            us=$(qv <<EOF
SELECT clock_timestamp() AS t0 \gset
SELECT count(bench.argon2id('correct horse battery staple', $ops, $mem)) FROM generate_series(1, $n) \g /dev/null
SELECT round((extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1e6 / $n)::numeric, 1);
EOF
            )
            echo "$r,$ops,$mem,$n,$us" >>"$OUT/hash.csv"
            log "  round $r: argon2id opslimit $ops memlimit ${mem} kB: $us us per hash"
        done
    done
}

measure_main() {
    local r sync clients v total runs=0
    total=$((BENCH_ROUNDS * $(wc -w <<<"$BENCH_SYNC") * $(wc -w <<<"$BENCH_CLIENTS") * ${#VARIANTS[@]}))
    header "main: $total runs of ${BENCH_SECONDS} s (${VARIANTS[*]})"
    for ((r = 1; r <= BENCH_ROUNDS; r++)); do
        for sync in $BENCH_SYNC; do
            for clients in $BENCH_CLIENTS; do
                for v in "${VARIANTS[@]}"; do
                    local l1
                    reset
                    l1=$(load1)
                    run_pgbench "$v" "$clients" "$BENCH_SECONDS" \
                        "$CHEAP_OPTS -c synchronous_commit=$sync"
                    check_rows "$v" "$clients" "$R_TXN"
                    cat "$WORK/lat.sorted" >>"$WORK/lat/main_${sync}_${clients}_$v"
                    echo "$r,$sync,$clients,$v,$BENCH_SECONDS,$R_TXN,$R_TPS,$R_LAT,$R_P50,$R_P99,$R_SCPU,$R_SSYS,$R_CCPU,$R_ROWS,$l1,$R_OTHER" >>"$OUT/runs.csv"
                    runs=$((runs + 1))
                    printf '  [%3d/%d] round %d sync=%-3s clients=%d %-14s %8.1f tps  p50 %6.3f ms  p99 %7.3f ms  cpu %6.1f + %5.1f us  (load %s, others %s%%)\n' \
                        "$runs" "$total" "$r" "$sync" "$clients" "$v" "$R_TPS" "$R_P50" "$R_P99" "$R_SCPU" "$R_CCPU" "$l1" "$R_OTHER" >&2
                done
            done
        done
    done
}

# proxy_start DELAY_US: bench/netdelay on a free port (PROXY_PORT), in
# front of the server's TCP port.
proxy_start() {
    local attempt tries
    proxy_stop
    for attempt in 1 2 3; do
        PROXY_PORT=$(free_port)
        "$WORK/netdelay" "$PROXY_PORT" "$PGPORT" "$1" >"$WORK/netdelay.out" 2>&1 &
        PROXY_PID=$!
        for ((tries = 0; tries < 50; tries++)); do
            grep -q '^netdelay listening' "$WORK/netdelay.out" && return 0
            kill -0 "$PROXY_PID" 2>/dev/null || break
            sleep 0.1
        done
        proxy_stop
        warn "bench/netdelay did not start on port $PROXY_PORT: $(head -n 1 "$WORK/netdelay.out")"
    done
    die "bench/netdelay did not start"
}

proxy_stop() {
    if [[ -n $PROXY_PID ]]; then
        kill "$PROXY_PID" 2>/dev/null || true
        wait "$PROXY_PID" 2>/dev/null || true
        PROXY_PID=""
    fi
}

# link_us HOST PORT: the mean time of a SELECT 1 (one round trip), in us.
link_us() {
    PGBENCH_CONN=(-h "$1" -p "$2")
    run_pgbench select1 1 2 ""
    PGBENCH_CONN=()
    awk -v l="$R_LAT" 'BEGIN { printf "%.0f\n", l * 1000 }'
}

# calibrate_link: start bench/netdelay, or restart it with a corrected
# delay per direction, so that a SELECT 1 through it takes BENCH_RTT_US
# longer than straight over TCP (its own hop costs some tens of
# microseconds, and more when the machine is busy).  Sets NETEM_DELAY_US.
calibrate_link() {
    local direct via
    NETEM_DELAY_US=${NETEM_DELAY_US:-$((BENCH_RTT_US / 2))}
    [[ -n $PROXY_PID ]] || proxy_start "$NETEM_DELAY_US"
    direct=$(link_us 127.0.0.1 "$PGPORT")
    via=$(link_us 127.0.0.1 "$PROXY_PORT")
    NETEM_DELAY_US=$((NETEM_DELAY_US - (via - direct - BENCH_RTT_US) / 2))
    ((NETEM_DELAY_US >= 0)) || NETEM_DELAY_US=0
    proxy_start "$NETEM_DELAY_US"
}

# measure_netem: farmreg and the client-side transaction over a link with
# a BENCH_RTT_US round trip, 1 client, synchronous_commit off.  The link is
# calibrated at the start of every round and measured again after the
# round's runs (that figure is the one reported).  The unix-socket figures
# are the main runs' (same run, same settings).
measure_netem() {
    local r v l1 direct via
    header "netem: farmreg and the client-side transaction over a ${BENCH_RTT_US} us round trip, 1 client"
    for ((r = 1; r <= BENCH_ROUNDS; r++)); do
        calibrate_link
        for v in farmreg client_tx; do
            reset
            l1=$(load1)
            PGBENCH_CONN=(-h 127.0.0.1 -p "$PROXY_PORT")
            run_pgbench "$v" 1 "$BENCH_SECONDS" "$CHEAP_OPTS -c synchronous_commit=off"
            PGBENCH_CONN=()
            check_rows "$v" 1 "$R_TXN"
            cat "$WORK/lat.sorted" >>"$WORK/lat/netem_off_1_$v"
            echo "$r,netem,$v,$R_TXN,$R_TPS,$R_LAT,$R_P50,$R_P99,$R_ROWS,$l1,$NETEM_DELAY_US" >>"$OUT/netem.csv"
            printf '  round %d %-9s over the link %8.1f tps  p50 %6.3f ms  p99 %7.3f ms  (load %s, others %s%%)\n' \
                "$r" "$v" "$R_TPS" "$R_P50" "$R_P99" "$l1" "$R_OTHER" >&2
        done
        l1=$(load1)
        via=$(link_us 127.0.0.1 "$PROXY_PORT")
        direct=$(link_us 127.0.0.1 "$PGPORT")
        echo "$r,netem,select1,,,$(awk -v u="$via" 'BEGIN { print u / 1000 }'),,,0,$l1,$NETEM_DELAY_US" >>"$OUT/netem.csv"
        echo "$r,tcp,select1,,,$(awk -v u="$direct" 'BEGIN { print u / 1000 }'),,,0,$l1," >>"$OUT/netem.csv"
        log "  round $r: ${NETEM_DELAY_US} us each way; SELECT 1 takes $via us through the link, $direct us straight over TCP (+$((via - direct)) us)"
    done
    proxy_stop
}

measure_batch() {
    local r mode ms ok
    header "batch: $BENCH_BATCH requests in one call against $BENCH_BATCH single calls"
    BATCH_NOTE=""
    if [[ $(qv -c "SELECT to_regprocedure('farmreg.register_farm_admins(jsonb,text)') IS NOT NULL") != t ]]; then
        BATCH_NOTE="farmreg.register_farm_admins(jsonb, text) does not exist in this build: batch not measured"
        log "  $BATCH_NOTE"
    fi
    for ((r = 1; r <= BENCH_BATCH_ROUNDS; r++)); do
        for mode in single statements batch; do
            if [[ $mode == batch && -n $BATCH_NOTE ]]; then
                continue
            fi
            reset
            # The requests are built before the clock starts; the batch gets
            # them as JSON text, so it pays for parsing them as a client's
            # parameter would.  Single calls two ways: all in one statement
            # (no round trips, the strongest form of "one call per request"),
            # and one statement per call sent by psql over the unix socket
            # (what issue 7 describes: sent one call at a time).
            if ! ms=$(PGOPTIONS="$CHEAP_OPTS" qv 2>"$WORK/batch.err" <<EOF
CREATE TEMP TABLE args AS
SELECT k, 'b' || k AS username, 'correct horse battery staple' AS password,
       'Farmer ' || k AS name, 'b' || k || '@example.com' AS email,
       bench.usda_uid(k, $BENCH_FARMS) AS usda_uid
  FROM generate_series($BASE + 1, $BASE + $BENCH_BATCH) AS k;
CREATE TEMP TABLE req AS
SELECT jsonb_agg(jsonb_build_object('username', username, 'password', password,
                                    'name', name, 'email', email,
                                    'usda_uid', usda_uid) ORDER BY k)::text AS j
  FROM args;
\copy (SELECT format('SELECT ok FROM farmreg.register_farm_admin(%L, %L, %L, %L, %L);', username, password, name, email, usda_uid) FROM args ORDER BY k) TO '$WORK/statements.sql'
BEGIN;
SELECT clock_timestamp() AS t0 \gset
$(if [[ $mode == single ]]; then
    echo "SELECT count(*) FILTER (WHERE (s.r).ok) AS ok FROM (SELECT farmreg.register_farm_admin(a.username, a.password, a.name, a.email, a.usda_uid) AS r FROM args AS a ORDER BY a.k OFFSET 0) AS s \gset"
elif [[ $mode == statements ]]; then
    printf '%s\n' '\o /dev/null' "\\i $WORK/statements.sql" '\o'
else
    echo "SELECT count(*) FILTER (WHERE b.ok) AS ok FROM farmreg.register_farm_admins((SELECT req.j::jsonb FROM req)) AS b \gset"
fi)
COMMIT;
$(if [[ $mode == statements ]]; then
    echo "SELECT count(*) AS ok FROM farmreg.users AS u JOIN args AS a ON a.username = u.username \gset"
fi)
SELECT round((extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000)::numeric, 1) || ' ' || :ok;
EOF
            ); then
                cat "$WORK/batch.err" >&2
                BATCH_NOTE="the $mode run failed: $(head -n 1 "$WORK/batch.err")"
                warn "$BATCH_NOTE"
                continue
            fi
            read -r ms ok <<<"$ms"
            if [[ $ok -ne $BENCH_BATCH ]]; then
                warn "$mode: only $ok of $BENCH_BATCH registrations succeeded"
            fi
            echo "$r,$mode,$BENCH_BATCH,$ms,$ok" >>"$OUT/batch.csv"
            log "  round $r: $mode $ms ms ($ok ok)"
        done
    done
}

# measure_syscalls: brk, munmap, mmap and minor page faults of one backend
# per registration, over BENCH_STRACE_N single calls after a warm-up
# (bench/syscalls.py: strace -c -f -p).  libsodium's argon2 maps and unmaps
# its working memory on every computation, whoever calls it, so each
# variant shows about one mmap and one munmap per registration from the
# hash alone: what farmreg's own allocations add is its difference from
# the PL/pgSQL peers.
measure_syscalls() {
    local v line name calls ok brk munmap mmap flt
    header "syscalls: strace -c on one backend, $BENCH_STRACE_N single calls per variant"
    for v in farmreg plpgsql_simple plpgsql floor; do
        reset
        line=$(PGOPTIONS="$CHEAP_OPTS -c synchronous_commit=off" \
            "$PY" bench/syscalls.py "$DB" "$v" "$BENCH_STRACE_N" "$BASE" "$BENCH_FARMS") \
            || die "bench/syscalls.py failed for $v"
        read -r name calls ok brk munmap mmap flt <<<"$line"
        [[ $name == "$v" && $ok -eq $calls ]] \
            || die "$v: $ok of $calls counted calls registered: a variant is not doing what it should"
        check_rows "$v" 0 $((calls + 200))      # and bench/syscalls.py's warm-up
        echo "$v,$calls,$ok,$brk,$munmap,$mmap,$flt" >>"$OUT/syscalls.csv"
        awk -v v="$v" -v n="$calls" -v b="$brk" -v u="$munmap" -v m="$mmap" -v f="$flt" \
            'BEGIN { printf "  %-14s per registration: brk %.4f  munmap %.4f  mmap %.4f  minor faults %.2f\n", v, b / n, u / n, m / n, f / n }' >&2
    done
}

# kv KEY FILE: the value of KEY in a line of key=value words.
kv() { tr ' ' '\n' <"$2" | sed -n "s/^$1=//p" | head -n 1; }

# set_commit_variant VARIANT: the events table's triggers for a commit run.
set_commit_variant() {
    case $1 in
        farmreg) q -c 'ALTER TABLE farmreg.events ENABLE TRIGGER events_notify, DISABLE TRIGGER bench_notify_1_1' ;;
        farmreg_nowake) q -c 'ALTER TABLE farmreg.events DISABLE TRIGGER events_notify, DISABLE TRIGGER bench_notify_1_1' ;;
        farmreg_notify11) q -c 'ALTER TABLE farmreg.events DISABLE TRIGGER events_notify, ENABLE TRIGGER bench_notify_1_1' ;;
        *) die "unknown commit variant $1" ;;
    esac
}

# measure_commit: BENCH_COMMIT_CLIENTS clients, synchronous_commit on, the
# variants of COMMIT_VARIANTS interleaved in every round; beside each run
# bench/commit_probe.py samples the NOTIFY lock's waiters, registers a probe
# every 100 ms and listens (wakeup latency).  Each variant is checked to be
# what it claims: without wakeups nobody is notified; as 1.1, registering
# backends notify; farmreg's notifications all come from its wakeup worker.
measure_commit() {
    local r v l1 probe_pid k0=$((BENCH_FARMS / 2 - 1)) clients=$BENCH_COMMIT_CLIENTS
    local secs=$BENCH_COMMIT_SECONDS f=$WORK/probe.out
    header "commit: $clients clients, synchronous_commit on, ${secs} s runs (${COMMIT_VARIANTS[*]})"
    for ((r = 1; r <= BENCH_ROUNDS; r++)); do
        for v in "${COMMIT_VARIANTS[@]}"; do
            set_commit_variant "$v"
            reset
            l1=$(load1)
            PGOPTIONS="$CHEAP_OPTS -c synchronous_commit=on" "$PY" bench/commit_probe.py \
                "$DB" "$secs" "$BENCH_FARMS" "$k0" "$WORK/wake.lat" >"$f" 2>&1 &
            probe_pid=$!
            run_pgbench farmreg "$clients" "$secs" "$CHEAP_OPTS -c synchronous_commit=on"
            wait "$probe_pid" || { cat "$f" >&2; die "bench/commit_probe.py failed"; }
            check_rows "$v" "$clients" $((R_TXN + $(kv probes_ok "$f")))
            case $v in
                farmreg_nowake)
                    [[ $(kv notifications "$f") -eq 0 ]] \
                        || die "$v: $(kv notifications "$f") notifications with the wakeup trigger disabled" ;;
                farmreg_notify11)
                    (($(kv notifications "$f") > $(kv notifications_from_worker "$f"))) \
                        || die "$v: no registering backend notified" ;;
                farmreg)
                    [[ $(kv notifications "$f") -eq $(kv notifications_from_worker "$f") ]] \
                        || warn "$v: $(($(kv notifications "$f") - $(kv notifications_from_worker "$f"))) notifications came from other backends than the wakeup worker" ;;
            esac
            cat "$WORK/lat.sorted" >>"$WORK/lat/commit_on_${clients}_$v"
            cat "$WORK/wake.lat" >>"$WORK/lat/wake_on_${clients}_$v"
            echo "$r,$v,$clients,$secs,$R_TXN,$R_TPS,$R_LAT,$R_P50,$R_P99,$R_SCPU,$R_SSYS,$R_ROWS,$(kv samples "$f"),$(kv waiting_samples "$f"),$(kv waiters_sum "$f"),$(kv waiters_max "$f"),$(kv probes "$f"),$(kv missed "$f"),$(kv notifications "$f"),$(kv notifications_from_worker "$f"),$(kv notify_per_s "$f"),$l1,$R_OTHER" >>"$OUT/commit.csv"
            printf '  round %d %-16s %8.1f tps  NOTIFY lock waited on in %s of %s samples (max %s)  wakeup p50 %s p99 %s ms, %s missed, %s/s  (load %s)\n' \
                "$r" "$v" "$R_TPS" "$(kv waiting_samples "$f")" "$(kv samples "$f")" "$(kv waiters_max "$f")" \
                "$(kv p50_ms "$f")" "$(kv p99_ms "$f")" "$(kv missed "$f")" "$(kv notify_per_s "$f")" "$l1" >&2
        done
    done
    set_commit_variant farmreg
}

# measure_storm: the login storm (bench/login_storm.py), default costs.
measure_storm() {
    local out rows expected f=$WORK/storm.kv
    header "storm: $BENCH_STORM_LOGINS clients with wrong passwords and 2 registering, ${BENCH_STORM_SECONDS} s, default costs"
    reset
    STORM_LOAD=$(load1)
    out=$(PGOPTIONS="-c synchronous_commit=on" "$PY" bench/login_storm.py "$DB" "$BENCH_STORM_SECONDS" \
        "$BENCH_STORM_LOGINS" 2 "$BENCH_FARMS" $((BENCH_FARMS / 2 - 1)) "$WORK" 2>"$WORK/storm.err") \
        || { cat "$WORK/storm.err" >&2; die "bench/login_storm.py failed"; }
    echo "$out" >"$f"
    { echo "key,value"; tr ' ' '\n' <"$f" | sed 's/=/,/'; echo "load1,$STORM_LOAD"; } >"$OUT/storm.csv"
    sed 's/^/  /' "$WORK/storm.err" >&2
    for v in login register ping; do
        cp "$WORK/storm_$v.lat" "$WORK/lat/storm_on_${BENCH_STORM_LOGINS}_$v"
    done
    # the known users it registered first, and the registrations answered ok
    rows=$(registered)
    expected=$((8 + $(kv reg_ok "$f")))
    [[ $rows -eq $expected ]] || die "the storm left $rows registrations, its registrars counted $expected"
    log "  logins: $(kv login_null "$f") wrong-password answers, $(kv login_busy "$f") 53000, $(kv login_other "$f") other errors; p50 $(kv login_p50_ms "$f") ms"
    log "  registrations: $(kv registrations "$f") answered, $(kv reg_ok "$f") registered, $(kv reg_try_again "$f") try_again_later, $(kv reg_other "$f") + $(kv reg_error "$f") other; p50 $(kv reg_p50_ms "$f") p99 $(kv reg_p99_ms "$f") ms"
    log "  SELECT 1: p50 $(kv ping_p50_ms "$f") p99 $(kv ping_p99_ms "$f") ms; memory above the usual size at peak $(kv mem_peak_excess_kb "$f") kB (budget $(kv budget "$f") x memlimit $(kv memlimit_kb "$f") kB)"
    reset
}

measure_default_cost() {
    local r v l1 expected
    header "default hashing costs: accepted vs rejected, ${BENCH_DEFAULT_SECONDS} s runs, 1 client"
    for ((r = 1; r <= BENCH_DEFAULT_ROUNDS; r++)); do
        for v in accepted rejected_taken rejected_format; do
            reset
            register_taken_user
            l1=$(load1)
            # no cost options: farmreg's defaults apply
            run_pgbench "$([[ $v == accepted ]] && echo farmreg || echo "$v")" 1 \
                "$BENCH_DEFAULT_SECONDS" "-c synchronous_commit=on"
            if [[ $v == accepted ]]; then
                check_rows "$v" 1 $((R_TXN + 1))
            else
                check_rows "$v" 0 1     # only taken_user
            fi
            cat "$WORK/lat.sorted" >>"$WORK/lat/default_on_1_$v"
            echo "$r,$v,$BENCH_DEFAULT_SECONDS,$R_TXN,$R_TPS,$R_LAT,$R_P50,$R_P99,$R_ROWS,$l1" >>"$OUT/default_cost.csv"
            printf '  round %d %-16s %9.1f tps  p50 %8.3f ms  p99 %8.3f ms  (load %s)\n' \
                "$r" "$v" "$R_TPS" "$R_P50" "$R_P99" "$l1" >&2
        done
    done
}

# measure_legacy: bench/legacy.py in a database of its own (farmreg, USDA
# farms L-0 .. L-BENCH_IMPORT, no users), at farmreg's default costs.
measure_legacy() {
    header "legacy: $BENCH_IMPORT imported users, bcrypt hashes against plaintext at the default cost; logins"
    psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $LEGACY_DB"
    psql -X -q -v ON_ERROR_STOP=1 -d "$LEGACY_DB" -c 'CREATE EXTENSION farmreg' \
        -c "INSERT INTO farmreg.usda_farms (usda_uid, name)
            SELECT 'L-' || i, 'Legacy Farm ' || i FROM generate_series(0, $BENCH_IMPORT) AS i" \
        -c 'VACUUM ANALYZE farmreg.usda_farms'
    PGOPTIONS="-c synchronous_commit=on" "$PY" bench/legacy.py "$LEGACY_DB" "$BENCH_IMPORT" \
        "$BENCH_BCRYPT_DISTINCT" >>"$OUT/legacy.csv" 2>"$WORK/legacy.err" \
        || { cat "$WORK/legacy.err" >&2; die "bench/legacy.py failed"; }
    sed -n 's/^note,//p' "$OUT/legacy.csv" | sed 's/^/  note: /' >&2
    awk -F, 'NR > 1 && $1 != "note" { printf "  %s = %s\n", $1, $2 }' "$OUT/legacy.csv" >&2
    psql -X -q -d postgres -c "DROP DATABASE $LEGACY_DB" \
        || psql -X -q -d postgres -c "DROP DATABASE $LEGACY_DB WITH (FORCE)"
}

# server_stop / server_start: the cluster's server, for the single-user runs.
server_stop() {
    (cd "$FARMREG_CLUSTER_DIR" && as_pg "$PGBIN/pg_ctl" --pgdata="$FARMREG_PGDATA" \
        --mode=fast --wait --timeout=60 --silent stop) || die "could not stop the server"
}
server_start() {
    (cd "$FARMREG_CLUSTER_DIR" && as_pg "$PGBIN/pg_ctl" --pgdata="$FARMREG_PGDATA" \
        --log="$FARMREG_SERVER_LOG" --options="-p $PGPORT" --wait --timeout=60 --silent start) \
        || die "could not restart the server (log: $FARMREG_SERVER_LOG)"
}

# singleuser_statements VARIANT COUNT: bench/singleuser/VARIANT.sql for COUNT
# registrations: its prologue, then its per-registration lines filled in.
singleuser_statements() {
    awk -v count="$2" -v base="$BASE" -v farms="$BENCH_FARMS" '
        function fill(s, from, to,    i) {
            while ((i = index(s, from)) > 0)
                s = substr(s, 1, i - 1) to substr(s, i + length(from))
            return s
        }
        /^-- per registration/ { body = 1; next }
        /^--/ || /^[ \t]*$/ { next }
        !body { print; next }
        { tmpl[++nt] = $0 }
        END {
            for (i = 1; i <= count; i++) {
                k = base + i
                f = (k * 482711) % farms + 1
                for (t = 1; t <= nt; t++) {
                    s = fill(tmpl[t], "{k}", sprintf("%d", k))
                    s = fill(s, "{uid}", sprintf("%d", 10000000 + f))
                    s = fill(s, "{f}", sprintf("%d", f))
                    print fill(s, "{i}", sprintf("%d", i))
                }
            }
        }' "bench/singleuser/$1.sql"
}

# cg_functions FILE: "function inclusive-instructions" lines of a callgrind
# profile, and "TOTAL n".
cg_functions() {
    callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$1" 2>/dev/null | awk '
        /PROGRAM TOTALS/ { v = $1; gsub(",", "", v); print "TOTAL", v; next }
        /^ *[0-9][0-9,]* \([ 0-9.]+%\) +[^ ]/ {
            v = $1; gsub(",", "", v)
            line = $0
            sub(/^ *[0-9][0-9,]* \([ 0-9.]+%\) +/, "", line)
            sub(/ \[.*\]$/, "", line)
            n = split(line, part, ":")
            name = part[n]
            if (!(name in seen)) { seen[name] = 1; print name, v }
        }'
}

# The functions whose inclusive instructions instructions.csv reports.
CG_ITEMS=(TOTAL crypto_pwhash_argon2id_str RI_FKey_check_ins ExecutorStart
    CommitTransactionCommand fmgr_security_definer farmreg_register_farm_admin_1_1
    fr_judge fr_batch_run write_accepted fr_run SPI_execute_plan
    BeginInternalSubTransaction ReleaseCurrentSubTransaction fr_password_hash
    fr_hashbudget_enter farmreg_notify_events PreCommit_Notify plpgsql_call_handler)

# singleuser_reset: reset, in single-user mode (the server is down), not
# counted.
singleuser_reset() {
    printf '%s\n' 'DELETE FROM farmreg.idempotency_keys' \
        "DELETE FROM farmreg.farmers WHERE id > $BENCH_SEED" \
        "DELETE FROM farmreg.farms WHERE id > $BENCH_SEED" \
        "DELETE FROM farmreg.users WHERE id > $BENCH_SEED" \
        'DELETE FROM farmreg.events' \
        'VACUUM farmreg.users, farmreg.farms, farmreg.farmers, farmreg.idempotency_keys, farmreg.events' \
        | (cd "$1" && as_pg "$PGBIN/postgres" --single -D "$FARMREG_PGDATA" "$DB" >/dev/null 2>"$1/reset.err") \
        || { cat "$1/reset.err" >&2; die "single-user reset failed"; }
}

# measure_instructions: callgrind over `postgres --single`, each variant's
# statements for WARM and WARM + N registrations, both from the seed state;
# the difference divided by N is the cost of one registration without
# start-up, warm-up (plans, caches) and shutdown.
measure_instructions() {
    local warm=50 n=$BENCH_CALLGRIND_N v count item a b
    local cg=$WORK/cg
    header "instructions: callgrind over postgres --single, $n registrations per variant"
    echo "variant,item,instructions" >"$OUT/instructions.csv"
    mkdir -p "$cg"
    if is_root; then
        chown postgres: "$cg"
    fi
    server_stop
    for v in "${CG_VARIANTS[@]}"; do
        for count in "$warm" "$((warm + n))"; do
            singleuser_statements "$v" "$count" >"$cg/$v.$count.sql"
            singleuser_reset "$cg"
            if ! (cd "$cg" && as_pg valgrind --tool=callgrind --callgrind-out-file="$cg/cg.$v.$count" \
                    "$PGBIN/postgres" --single -D "$FARMREG_PGDATA" -c synchronous_commit=off "$DB" \
                    <"$cg/$v.$count.sql" >/dev/null 2>"$cg/err.$v.$count") \
                || grep -q -E '(ERROR|FATAL|PANIC):' "$cg/err.$v.$count"; then
                tail -n 20 "$cg/err.$v.$count" >&2 || true
                server_start
                die "callgrind run of $v failed (see above)"
            fi
            cg_functions "$cg/cg.$v.$count" >"$cg/fn.$v.$count"
        done
        for item in "${CG_ITEMS[@]}"; do
            a=$(awk -v f="$item" '$1 == f { print $2 }' "$cg/fn.$v.$warm")
            b=$(awk -v f="$item" '$1 == f { print $2 }' "$cg/fn.$v.$((warm + n))")
            [[ -n $b ]] || continue
            echo "$v,$item,$(( (b - ${a:-0}) / n ))" >>"$OUT/instructions.csv"
        done
        log "  $v: $(awk -F, -v v="$v" '$1 == v && $2 == "TOTAL" { print $3 }' "$OUT/instructions.csv") instructions per registration"
    done
    singleuser_reset "$cg"
    server_start
    if [[ -n ${BENCH_KEEP_PROFILES:-} ]]; then
        mkdir -p "$BENCH_KEEP_PROFILES"
        cp -- "$cg"/cg.* "$cg"/*.sql "$BENCH_KEEP_PROFILES"/
        log "  callgrind profiles kept in $BENCH_KEEP_PROFILES"
    fi
}

# pooled_latency: percentiles over every round of a configuration.
pooled_latency() {
    local f base scope sync clients v p50 p99 n
    echo "scope,sync,clients,variant,samples,p50_ms,p99_ms" >"$OUT/latency.csv"
    for f in "$WORK"/lat/*; do
        [[ -f $f ]] || continue
        base=$(basename "$f")
        IFS=_ read -r scope sync clients v <<<"$base"
        sort -n -o "$f" "$f"
        n=$(wc -l <"$f")
        read -r p50 p99 < <(percentiles "$f")
        echo "$scope,$sync,$clients,$v,$n,$p50,$p99" >>"$OUT/latency.csv"
    done
}

report() {
    header "report"
    local f table
    pooled_latency
    q -c 'CREATE SCHEMA results'
    q -c 'CREATE TABLE results.runs (round int, sync text, clients int, variant text, seconds int,
                transactions bigint, tps float8, lat_avg_ms float8, p50_ms float8, p99_ms float8,
                server_cpu_us float8, server_sys_us float8, client_cpu_us float8,
                registered bigint, load1 float8, other_cpu_pct float8)' \
      -c 'CREATE TABLE results.latency (scope text, sync text, clients int, variant text,
                samples bigint, p50_ms float8, p99_ms float8)' \
      -c 'CREATE TABLE results.hash (round int, opslimit int, memlimit_kb int, hashes int, us float8)' \
      -c 'CREATE TABLE results.batch (round int, mode text, requests int, ms float8, ok bigint)' \
      -c 'CREATE TABLE results.instructions (variant text, item text, instructions bigint)' \
      -c 'CREATE TABLE results.default_cost (round int, variant text, seconds int,
                transactions bigint, tps float8, lat_avg_ms float8, p50_ms float8, p99_ms float8,
                registered bigint, load1 float8)' \
      -c 'CREATE TABLE results.netem (round int, link text, variant text, transactions bigint,
                tps float8, lat_avg_ms float8, p50_ms float8, p99_ms float8, registered bigint,
                load1 float8, delay_us int)' \
      -c 'CREATE TABLE results.syscalls (variant text, calls bigint, registered bigint, brk bigint,
                munmap bigint, mmap bigint, minflt bigint)' \
      -c 'CREATE TABLE results.commit (round int, variant text, clients int, seconds int,
                transactions bigint, tps float8, lat_avg_ms float8, p50_ms float8, p99_ms float8,
                server_cpu_us float8, server_sys_us float8, registered bigint, lock_samples bigint,
                lock_waiting_samples bigint, lock_waiters_sum bigint, lock_waiters_max bigint,
                probes bigint, probes_missed bigint, notifications bigint,
                notifications_from_worker bigint, notify_per_s float8, load1 float8,
                other_cpu_pct float8)' \
      -c 'CREATE TABLE results.storm (key text, value text)' \
      -c 'CREATE TABLE results.legacy (item text, value text)'
    for table in runs latency hash batch default_cost instructions netem syscalls commit storm legacy; do
        q -c "COPY results.$table FROM STDIN WITH (FORMAT csv, HEADER)" <"$OUT/$table.csv"
    done

    local runtime=$((SECONDS - START_SECONDS))
    local cpu mem
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
    mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    PGOPTIONS="" qv -v nproc="$NPROC" -v cpu="${cpu:-unknown}" -v mem="$mem" \
        -v runtime="$runtime" -v seconds="$BENCH_SECONDS" -v rounds="$BENCH_ROUNDS" \
        -v farms="$BENCH_FARMS" -v seed="$BENCH_SEED" -v batch_note="${BATCH_NOTE:-}" \
        -v peer_cases="$PEER_CASES" -v peer_bad="$PEER_BAD" \
        -v default_seconds="$BENCH_DEFAULT_SECONDS" -v batch_rounds="$BENCH_BATCH_ROUNDS" \
        -v cg_n="$BENCH_CALLGRIND_N" -v phases="$BENCH_PHASES" \
        -v simple_cases="$SIMPLE_CASES" -v simple_bad="$SIMPLE_BAD" \
        -v rtt_us="$BENCH_RTT_US" \
        -v batch_size="$BENCH_BATCH" -v strace_n="$BENCH_STRACE_N" \
        -v commit_clients="$BENCH_COMMIT_CLIENTS" -v commit_seconds="$BENCH_COMMIT_SECONDS" \
        -v storm_seconds="$BENCH_STORM_SECONDS" -v phase_times="$PHASE_TIMES" \
        -v commit="$(git -C "$FARMREG_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        -v started="$BENCH_STARTED" -v load_start="$LOAD_START" -v load_end="$(cut -d' ' -f1-3 /proc/loadavg)" \
        -f bench/report.sql >"$OUT/results.md"

    # the plot: median throughput by clients, min-max over the rounds as bars
    qv -F ' ' -c "SELECT sync, variant, clients, percentile_cont(0.5) WITHIN GROUP (ORDER BY tps),
                         min(tps), max(tps)
                    FROM results.runs GROUP BY sync, variant, clients
                   ORDER BY array_position(string_to_array('$BENCH_SYNC', ' '), sync),
                            array_position(ARRAY['farmreg','plpgsql_simple','plpgsql','client_tx','floor'], variant), clients" \
        | awk 'NR > 1 && ($1 != s || $2 != v) { printf "\n\n" }
               { s = $1; v = $2; print $3, $4, $5, $6 }' >"$WORK/plot.dat"
    gnuplot -e "datafile='$WORK/plot.dat'; outfile='$OUT/throughput.png'; syncs='$BENCH_SYNC'; clients='$BENCH_CLIENTS'" \
        bench/plot.gp || warn "gnuplot failed: no plot"
}

# measure_soak: the long runs of two make test suites against the bench
# cluster: the pgbench load with constant collisions (LOAD_SECONDS, default
# 60 here) and the identity sync end to end (E2E_REGISTRATIONS, default
# 1500).  Their figures go to soak.txt; a `not ok` fails the benchmark.
measure_soak() {
    local suite out=$OUT/soak.txt
    header "soak: test/suites/load.sh and identity_sync.sh, long"
    : >"$out"
    for suite in load identity_sync; do
        printf '## %s\n' "$suite" >>"$out"
        if ! LOAD_SECONDS=${LOAD_SECONDS:-60} E2E_REGISTRATIONS=${E2E_REGISTRATIONS:-1500} \
            FARMREG_LOG_DIR=$WORK/soak bash "test/suites/$suite.sh" </dev/null >"$WORK/$suite.out" 2>&1 \
            || grep -q '^not ok' "$WORK/$suite.out"; then
            cat "$WORK/$suite.out" >&2
            die "the $suite soak failed"
        fi
        grep -E '^(ok|#)' "$WORK/$suite.out" >>"$out" || true
        log "  $suite: $(grep -c '^ok' "$WORK/$suite.out") checks passed"
    done
}

# init_results: every CSV file with its header and no rows, so that a phase
# left out (BENCH_PHASES) leaves an empty table, not an old run's figures.
init_results() {
    mkdir -p "$OUT"
    echo "round,opslimit,memlimit_kb,hashes,us_per_hash" >"$OUT/hash.csv"
    echo "round,sync,clients,variant,seconds,transactions,tps,lat_avg_ms,p50_ms,p99_ms,server_cpu_us,server_sys_us,client_cpu_us,registered,load1,other_cpu_pct" >"$OUT/runs.csv"
    echo "round,link,variant,transactions,tps,lat_avg_ms,p50_ms,p99_ms,registered,load1,delay_us" >"$OUT/netem.csv"
    echo "round,mode,requests,ms,ok" >"$OUT/batch.csv"
    echo "variant,calls,registered,brk,munmap,mmap,minflt" >"$OUT/syscalls.csv"
    echo "round,variant,clients,seconds,transactions,tps,lat_avg_ms,p50_ms,p99_ms,server_cpu_us,server_sys_us,registered,lock_samples,lock_waiting_samples,lock_waiters_sum,lock_waiters_max,probes,probes_missed,notifications,notifications_from_worker,notify_per_s,load1,other_cpu_pct" >"$OUT/commit.csv"
    echo "key,value" >"$OUT/storm.csv"
    echo "round,variant,seconds,transactions,tps,lat_avg_ms,p50_ms,p99_ms,registered,load1" >"$OUT/default_cost.csv"
    echo "item,value" >"$OUT/legacy.csv"
    echo "variant,item,instructions" >"$OUT/instructions.csv"
}

main() {
    local phase t0
    BENCH_STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
    LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
    BATCH_NOTE="not run (BENCH_PHASES)"
    t0=$SECONDS
    setup
    init_results
    PHASE_TIMES="setup $((SECONDS - t0)) s"
    for phase in hash main netem batch syscalls commit storm default legacy instructions soak; do
        has_phase "$phase" || continue
        t0=$SECONDS
        case $phase in
            hash) measure_hash ;;
            main) measure_main ;;
            netem) measure_netem ;;
            batch) measure_batch ;;
            syscalls) measure_syscalls ;;
            commit) measure_commit ;;
            storm) measure_storm ;;
            default) measure_default_cost ;;
            legacy) measure_legacy ;;
            instructions) measure_instructions ;;
            soak) measure_soak ;;
        esac
        PHASE_TIMES+=", $phase $((SECONDS - t0)) s"
        log "($phase took $((SECONDS - t0)) s)"
    done
    report
    cluster_stop

    header "results ($OUT/results.md)"
    cat "$OUT/results.md"
    printf '\nplot: %s\nraw:  %s\n' "$OUT/throughput.png" "$OUT/*.csv"
    printf 'make bench took %d min %02d s\n' $(((SECONDS - START_SECONDS) / 60)) $(((SECONDS - START_SECONDS) % 60))
}

main "$@"
