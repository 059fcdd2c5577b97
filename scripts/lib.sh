# shellcheck shell=bash
#
# scripts/lib.sh -- shared helpers for farmreg's harness scripts
#
# Sourced by scripts/test.sh, scripts/demo.sh and any test/suites/*.sh that
# needs them:
#
#     set -euo pipefail
#     source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# It sets no shell options itself and has no side effects when sourced apart
# from defining functions and a few variables (FARMREG_ROOT, PG_CONFIG).
#
# Functions:
#   ensure_deps [DEP...]    install missing Debian packages (build + test + DEP...;
#                           a DEP of the form COMMAND:PACKAGE only when COMMAND is missing)
#   pg_resolve              find PostgreSQL's binaries (PG_CONFIG, PGBIN, PATH)
#   as_pg CMD...            run CMD as the `postgres` OS user when we are root
#   free_port               print an unused port below the ephemeral port range
#   cluster_start NAME [SETTING=VALUE...]
#                           fresh private cluster on a unix socket; exports
#                           PGHOST PGPORT PGUSER PGDATABASE FARMREG_CLUSTER_DIR
#                           FARMREG_SERVER_LOG FARMREG_PGDATA
#   cluster_stop            stop it and remove its directory (KEEP_CLUSTER=1 keeps both)
#   install_extension       make + make install (sudo -n when needed)
#   on_exit FUNCTION        run FUNCTION when the script exits (last in, first out)
#   log / warn / die        messages on stderr
#
# Environment knobs:
#   PG_CONFIG=path          pg_config to use (default: pg_config on PATH, else PostgreSQL 15's)
#   KEEP_CLUSTER=1          leave the cluster running and its directory in place
#   PG_EXTRA_CONF='k=v'     extra postgresql.conf lines (newline-separated) for every cluster
#   FARMREG_EXTRA_DEPS='p q' extra Debian packages for ensure_deps
#   FARMREG_SKIP_DEPS=1     do not check or install packages at all

# Repository root: the parent of this file's directory.
FARMREG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export FARMREG_ROOT

# The PostgreSQL major version the project targets; the fallback location of
# its binaries is Debian's.
FARMREG_PG_MAJOR=15
FARMREG_PG_FALLBACK_BIN="/usr/lib/postgresql/${FARMREG_PG_MAJOR}/bin"

# Packages the build and the standard suites need.
FARMREG_BASE_DEPS=(
    "postgresql-${FARMREG_PG_MAJOR}"
    "postgresql-server-dev-${FARMREG_PG_MAJOR}"
    "postgresql-${FARMREG_PG_MAJOR}-pgtap"
    libtap-parser-sourcehandler-pgtap-perl
    libsodium-dev
    libcrypt-dev
    libssl-dev
    make
    gcc
)

# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------

log()  { printf '%s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root() { [[ $(id -u) -eq 0 ]]; }

# ---------------------------------------------------------------------------
# Exit hooks: one EXIT trap running registered functions in reverse order.
# INT and TERM turn into an ordinary exit so the hooks run for them too.
# ---------------------------------------------------------------------------

_FARMREG_EXIT_HOOKS=()
_FARMREG_TRAPS_SET=0

_farmreg_run_exit_hooks() {
    local i
    for ((i = ${#_FARMREG_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
        # `|| true`: a failing hook must not stop the others (this also
        # switches errexit off inside the hook).
        "${_FARMREG_EXIT_HOOKS[i]}" || true
    done
    _FARMREG_EXIT_HOOKS=()
}

on_exit() {
    _FARMREG_EXIT_HOOKS+=("$1")
    if [[ $_FARMREG_TRAPS_SET -eq 0 ]]; then
        trap _farmreg_run_exit_hooks EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        _FARMREG_TRAPS_SET=1
    fi
}

# ---------------------------------------------------------------------------
# Dependencies
# ---------------------------------------------------------------------------

_FARMREG_APT_UPDATED=0

# _apt_get ARGS...: apt-get as root, or through sudo -n; no prompts, no stdin.
_apt_get() {
    if is_root; then
        DEBIAN_FRONTEND=noninteractive apt-get "$@" </dev/null
    else
        sudo -n env DEBIAN_FRONTEND=noninteractive apt-get "$@" </dev/null
    fi
}

# ensure_deps [DEP...]: make sure the base packages, FARMREG_EXTRA_DEPS and
# DEP... are installed.  A DEP is a Debian package name, or COMMAND:PACKAGE
# for "the command COMMAND, from PACKAGE unless it is on PATH already" (node
# and npm come from Debian's nodejs and npm packages on a fresh machine, and
# from wherever the machine got them otherwise).  One dpkg-query call when
# everything is there.
ensure_deps() {
    local -a wanted=() missing=()
    local -a extra=()
    local line pkg status dep
    local -A installed=()

    if [[ ${FARMREG_SKIP_DEPS:-0} == 1 ]]; then
        pg_resolve
        return 0
    fi

    # shellcheck disable=SC2206  # FARMREG_EXTRA_DEPS is a space-separated list
    extra=(${FARMREG_EXTRA_DEPS:-})
    for dep in "${FARMREG_BASE_DEPS[@]}" "${extra[@]}" "$@"; do
        if [[ $dep == *:* ]]; then
            command -v "${dep%%:*}" >/dev/null 2>&1 && continue
            dep=${dep#*:}
        fi
        wanted+=("$dep")
    done
    if [[ ${#wanted[@]} -eq 0 ]]; then
        pg_resolve
        return 0
    fi

    if ! command -v dpkg-query >/dev/null 2>&1; then
        warn "dpkg-query not found (not Debian?): not checking packages: ${wanted[*]}"
        pg_resolve
        return 0
    fi

    # Unknown packages make dpkg-query complain and exit 1; they are simply
    # not listed as installed, which is what we want.
    while IFS= read -r line; do
        pkg=${line%% *}
        status=${line#* }
        if [[ $status == "install ok installed" ]]; then
            installed[$pkg]=1
        fi
    done < <(dpkg-query -W -f='${Package} ${Status}\n' "${wanted[@]}" 2>/dev/null || true)

    for pkg in "${wanted[@]}"; do
        [[ -n ${installed[$pkg]:-} ]] || missing+=("$pkg")
    done

    if [[ ${#missing[@]} -gt 0 ]]; then
        if ! is_root && ! sudo -n true >/dev/null 2>&1; then
            log "missing Debian packages: ${missing[*]}"
            die "not root and sudo -n does not work: install them with" \
                "'apt-get install ${missing[*]}' and run again"
        fi
        log "installing missing packages: ${missing[*]}"
        if [[ $_FARMREG_APT_UPDATED -eq 0 ]]; then
            _apt_get update -qq || die "apt-get update failed"
            _FARMREG_APT_UPDATED=1
        fi
        _apt_get install -y -qq --no-install-recommends "${missing[@]}" \
            || die "apt-get install ${missing[*]} failed"
    fi

    pg_resolve
}

# ---------------------------------------------------------------------------
# PostgreSQL binaries
# ---------------------------------------------------------------------------

# pg_resolve: set and export PG_CONFIG (absolute path) and PGBIN, and put
# PGBIN first on PATH so psql, pg_prove (which runs psql), pg_regress and
# suites all use the same PostgreSQL.  Idempotent.
pg_resolve() {
    local cfg=${PG_CONFIG:-pg_config} bindir=""

    if command -v "$cfg" >/dev/null 2>&1; then
        cfg=$(command -v "$cfg")
        bindir=$("$cfg" --bindir 2>/dev/null || true)
    elif [[ -x $FARMREG_PG_FALLBACK_BIN/pg_config ]]; then
        cfg=$FARMREG_PG_FALLBACK_BIN/pg_config
        bindir=$("$cfg" --bindir 2>/dev/null || true)
    fi
    if [[ -z $bindir || ! -x $bindir/initdb ]]; then
        bindir=$FARMREG_PG_FALLBACK_BIN
    fi
    [[ -x $bindir/initdb ]] || die "no PostgreSQL server binaries found (tried pg_config and $FARMREG_PG_FALLBACK_BIN)"

    PG_CONFIG=$cfg
    PGBIN=$bindir
    export PG_CONFIG PGBIN
    case ":$PATH:" in
        *":$PGBIN:"*) ;;
        *) PATH="$PGBIN:$PATH"; export PATH ;;
    esac
}

# as_pg CMD...: initdb and postgres refuse to run as root, so when we are
# root run CMD as the `postgres` OS user (created by Debian's postgresql
# packages); otherwise run it plainly.  The environment is kept.
as_pg() {
    local runuser
    if is_root; then
        id -u postgres >/dev/null 2>&1 \
            || die "running as root but there is no 'postgres' OS user to run PostgreSQL as"
        # runuser lives in /usr/sbin, which a CI job's PATH may lack.
        runuser=$(PATH="$PATH:/usr/sbin:/sbin" command -v runuser) \
            || die "runuser (util-linux) not found"
        "$runuser" -u postgres -- "$@"
    else
        "$@"
    fi
}

# ---------------------------------------------------------------------------
# A private cluster
# ---------------------------------------------------------------------------

# _port_in_use PORT: true if anything seems to hold PORT (a TCP listener on
# localhost or a socket file in the usual socket directories).
_port_in_use() {
    local port=$1 dir
    for dir in /tmp /var/run/postgresql /run/postgresql; do
        [[ -e $dir/.s.PGSQL.$port ]] && return 0
    done
    # A successful connect means someone listens.
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        return 0
    fi
    return 1
}

# The range free_port draws from: below the kernel's ephemeral range (where
# it picks the local port of every outgoing connection), so no connection
# can take a port between our check and the server's bind.  Debian's
# ephemeral range is 32768-60999: ports 24576-32767.
_farmreg_port_range() {
    local lo=32768 hi
    if [[ -n ${FARMREG_PORT_RANGE:-} ]]; then
        printf '%s\n' "${FARMREG_PORT_RANGE/-/ }"
        return 0
    fi
    if [[ -r /proc/sys/net/ipv4/ip_local_port_range ]]; then
        read -r lo hi </proc/sys/net/ipv4/ip_local_port_range || true
    fi
    if [[ ${lo:-0} -gt 10000 ]]; then
        printf '%d %d\n' $((lo > 8192 + 1024 ? lo - 8192 : 1024)) $((lo - 1))
    else
        # an ephemeral range starting that low leaves no room below it
        printf '%d %d\n' $((hi + 1)) $((hi + 4096 < 65535 ? hi + 4096 : 65535))
    fi
}

# free_port: print a port that nothing listens on right now, outside the
# ephemeral range (FARMREG_PORT_RANGE=LO-HI to choose another range).
# Callers still retry with another port when a server cannot bind, since
# another program may listen on it in the meantime.
free_port() {
    local port tries lo hi
    read -r lo hi < <(_farmreg_port_range)
    for ((tries = 0; tries < 100; tries++)); do
        port=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
        if ! _port_in_use "$port"; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    die "no free port found in $lo..$hi"
}

# cluster_start NAME [SETTING=VALUE...]: initdb a fresh cluster in a new
# /tmp/farmreg-NAME.XXXXXX directory and start it, listening only on a unix
# socket in that directory.  SETTING=VALUE pairs (and PG_EXTRA_CONF lines)
# are appended to postgresql.conf; quote string values the PostgreSQL way,
# e.g. "wal_level=logical" "shared_preload_libraries='pg_stat_statements'".
# The cluster is stopped and removed when the script exits.
cluster_start() {
    local name=${1:?cluster_start NAME}
    shift
    local dir pgdata logfile port user setting attempt

    pg_resolve
    [[ -z ${FARMREG_CLUSTER_DIR:-} ]] \
        || die "cluster_start: a cluster is already running in $FARMREG_CLUSTER_DIR"

    dir=$(mktemp -d "/tmp/farmreg-${name}.XXXXXX")
    # Readable by everyone so a suite may run a client as another OS user;
    # the data directory inside stays 0700 (initdb sees to that).
    chmod 0755 "$dir"
    pgdata=$dir/data
    logfile=$dir/server.log

    if is_root; then
        chown postgres: "$dir"
        user=postgres
    else
        user=$(id -un)
    fi

    # Register cleanup before anything can fail half way.
    FARMREG_CLUSTER_DIR=$dir
    FARMREG_PGDATA=$pgdata
    FARMREG_SERVER_LOG=$logfile
    export FARMREG_CLUSTER_DIR FARMREG_PGDATA FARMREG_SERVER_LOG
    on_exit cluster_stop

    log "cluster '$name': initdb in $pgdata"
    # cd: the postgres user may not be allowed into the caller's directory.
    if ! (cd "$dir" && as_pg "$PGBIN/initdb" --pgdata="$pgdata" --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 --username="$user" \
            --no-instructions >"$dir/initdb.log" 2>&1); then
        cat "$dir/initdb.log" >&2
        die "initdb failed"
    fi

    {
        printf '\n# --- farmreg test settings (scripts/lib.sh) ---\n'
        printf "listen_addresses = ''\n"
        printf "unix_socket_directories = '%s'\n" "$dir"
        printf 'fsync = off\n'
        printf 'max_connections = 50\n'
        printf 'shared_buffers = 128MB\n'
        printf 'max_prepared_transactions = 10\n'
        # every database a suite registers in runs a farmreg wakeup worker
        # for up to a minute after its last event; keep slots to spare
        printf 'max_worker_processes = 32\n'
        printf 'logging_collector = off\n'
        for setting in "$@"; do
            printf '%s\n' "$setting"
        done
        if [[ -n ${PG_EXTRA_CONF:-} ]]; then
            printf '%s\n' "$PG_EXTRA_CONF"
        fi
    } | as_pg tee -a "$pgdata/postgresql.conf" >/dev/null

    # The socket lives in our private directory, so a port clash is unlikely;
    # still, retry with another port if the server does not come up.
    for attempt in 1 2 3; do
        port=$(free_port)
        if (cd "$dir" && as_pg "$PGBIN/pg_ctl" --pgdata="$pgdata" --log="$logfile" \
                --options="-p $port" --wait --timeout=60 --silent start); then
            break
        fi
        if [[ $attempt -eq 3 ]]; then
            tail -n 30 "$logfile" >&2 || true
            die "could not start the cluster (server log: $logfile)"
        fi
        warn "cluster did not start on port $port; trying another port"
    done

    PGHOST=$dir
    PGPORT=$port
    PGUSER=$user
    PGDATABASE=postgres
    export PGHOST PGPORT PGUSER PGDATABASE
    log "cluster '$name' running: PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER (log: $logfile)"
}

# cluster_stop: stop the cluster started by cluster_start and remove its
# directory.  With KEEP_CLUSTER=1, leave it running and say how to reach it.
# Safe to call twice (it is also the exit hook).
cluster_stop() {
    local dir=${FARMREG_CLUSTER_DIR:-}
    [[ -n $dir ]] || return 0

    if [[ ${KEEP_CLUSTER:-0} == 1 ]]; then
        log "KEEP_CLUSTER=1: cluster left running in $dir"
        log "  connect: PGHOST=$dir PGPORT=${PGPORT:-?} PGUSER=${PGUSER:-?} psql"
        log "  log:     ${FARMREG_SERVER_LOG:-$dir/server.log}"
        if is_root; then
            log "  stop:    runuser -u postgres -- $PGBIN/pg_ctl -D $dir/data -m fast stop && rm -rf $dir"
        else
            log "  stop:    $PGBIN/pg_ctl -D $dir/data -m fast stop && rm -rf $dir"
        fi
    else
        if [[ -f $dir/data/postmaster.pid ]]; then
            (cd "$dir" && as_pg "$PGBIN/pg_ctl" --pgdata="$dir/data" --mode=fast \
                --wait --timeout=60 --silent stop) \
                || warn "pg_ctl stop failed for $dir/data"
        fi
        rm -rf -- "$dir"
    fi
    unset FARMREG_CLUSTER_DIR FARMREG_PGDATA FARMREG_SERVER_LOG
}

# ---------------------------------------------------------------------------
# Build and install
# ---------------------------------------------------------------------------

# install_extension: build and install the extension into the PostgreSQL
# that PG_CONFIG names.  Root installs directly; others directly when the
# install directories are writable, else through sudo -n.
install_extension() {
    local sharedir pkglibdir jobs
    pg_resolve
    jobs=$(nproc 2>/dev/null || echo 2)

    log "building farmreg (PG_CONFIG=$PG_CONFIG)"
    make -C "$FARMREG_ROOT" --no-print-directory -s -j"$jobs" PG_CONFIG="$PG_CONFIG" \
        || { log "build failed"; return 1; }

    sharedir=$("$PG_CONFIG" --sharedir)
    pkglibdir=$("$PG_CONFIG" --pkglibdir)
    if is_root || { [[ -w $sharedir/extension && -w $pkglibdir ]]; }; then
        make -C "$FARMREG_ROOT" --no-print-directory -s PG_CONFIG="$PG_CONFIG" install \
            || { log "make install failed"; return 1; }
    elif sudo -n true >/dev/null 2>&1; then
        sudo -n make -C "$FARMREG_ROOT" --no-print-directory -s PG_CONFIG="$PG_CONFIG" install \
            || { log "sudo make install failed"; return 1; }
    else
        log "cannot install: $sharedir/extension and $pkglibdir are not writable and sudo -n does not work"
        log "run 'sudo make install' (or as root) once, then run again"
        return 1
    fi
}
