#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, from Debian's packages, to run profiles/slurm against (CI, tests).
#
#   tools/slurm/local_slurm.sh up       install (apt) if needed, write the configuration, start the daemons
#   tools/slurm/local_slurm.sh down     cancel the cluster's jobs and stop the daemons this script started
#   tools/slurm/local_slurm.sh status   which daemons run, and the node as SLURM sees it
#   tools/slurm/local_slurm.sh env      the HMIXAL_SLURM_ACCOUNT / HMIXAL_SLURM_PARTITION that profiles/slurm reads
#
# Needs root (it installs packages, writes /etc/slurm/ and starts daemons); meant for a throwaway CI machine.
# Daemons: munged, slurmctld, slurmd and, with accounting (the default), MariaDB + slurmdbd, because
# snakemake-executor-plugin-slurm asks `sacct` for job states and `sacctmgr` to validate the account.
# Each daemon writes a pid file under the state directory; `down` stops exactly those pids, nothing else.
# `up` is idempotent: daemons already running are kept, a changed configuration restarts them.
#
# Environment:
#   HMIXAL_SLURM_DIR         state, logs, pid files, database (default /var/lib/hmixal-slurm)
#   HMIXAL_SLURM_ACCOUNTING  dbd (default: slurmdbd + MariaDB, `sacct` works) | none (no database; job states
#                            only through `squeue`, so the profile needs --slurm-status-command squeue)
#   HMIXAL_SLURM_DB_PORT     MariaDB's TCP port on 127.0.0.1 (default 36306, away from a system MariaDB's 3306)
set -euo pipefail

STATE=${HMIXAL_SLURM_DIR:-/var/lib/hmixal-slurm}
ACCOUNTING=${HMIXAL_SLURM_ACCOUNTING:-dbd}
DB_PORT=${HMIXAL_SLURM_DB_PORT:-36306}
CLUSTER=hmixal
PARTITION=ci
ACCOUNT=hmixal-ci
SLURM_CONF=/etc/slurm/slurm.conf
DBD_CONF=/etc/slurm/slurmdbd.conf
MARKER="# Written by hmixal tools/slurm/local_slurm.sh — a single-node test cluster."
RUN=$STATE/run
LOG=$STATE/log
PROG=$(basename "$0")

say() { printf '%s: %s\n' "$PROG" "$*"; }
die() {
    printf '%s: error: %s\n' "$PROG" "$1" >&2
    # The daemon's own log usually says why it did not come up.
    if [ -n "${2:-}" ] && [ -f "$2" ]; then
        printf -- '--- last lines of %s ---\n' "$2" >&2
        tail -n 20 "$2" >&2
    fi
    exit 1
}

# --- pid files: a daemon counts as ours only while its pid file names a live process of the right program ----------
pid_of() {  # pid_of NAME COMM → the pid recorded in $RUN/NAME.pid if that process is alive and is COMM
    local file=$RUN/$1.pid pid
    [ -s "$file" ] || return 1
    pid=$(tr -dc '0-9' <"$file")
    [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$2" ] && echo "$pid"
}

stop_daemon() {  # stop_daemon NAME COMM: TERM, wait up to 30 s, then KILL — only the pid from our pid file
    local pid
    if ! pid=$(pid_of "$1" "$2"); then
        rm -f "$RUN/$1.pid"
        return 0
    fi
    say "stopping $1 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 60); do
        [ -d "/proc/$pid" ] || break
        sleep 0.5
    done
    if [ -d "/proc/$pid" ]; then
        say "$1 (pid $pid) ignored TERM for 30 s: sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$RUN/$1.pid"
}

port_busy() {  # port_busy PORT: something accepts connections on 127.0.0.1:PORT
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for() {  # wait_for SECONDS DESCRIPTION LOGFILE COMMAND...: poll COMMAND every 0.5 s
    local seconds=$1 what=$2 logfile=$3
    shift 3
    for _ in $(seq $((seconds * 2))); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    die "$what did not come up within ${seconds} s" "$logfile"
}

# --- installation ------------------------------------------------------------------------------------------------
packages() {
    local list="munge slurm-client slurmctld slurmd"
    [ "$ACCOUNTING" = dbd ] && list="$list slurmdbd mariadb-server"
    echo "$list"
}

install_packages() {
    local missing=() package
    for package in $(packages); do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "packages missing (${missing[*]}) and no apt-get to install them"
    say "installing ${missing[*]} (apt-get)"
    # Keep the packages' maintainer scripts from starting their own daemons (system MariaDB on 3306, munge, …):
    # this script starts exactly the ones it tracks. A policy-rc.d already in place is left as it is.
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
    fi
    local status=0
    {
        DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    } </dev/null >"$STATE/apt.log" 2>&1 || status=$?
    [ "$own_policy" -eq 1 ] && rm -f "$policy"
    [ "$status" -eq 0 ] || die "apt-get could not install ${missing[*]} (exit $status)" "$STATE/apt.log"
}

# --- configuration -----------------------------------------------------------------------------------------------
node_line() {
    # slurmd -C prints this machine as slurm.conf wants it (CPUs, sockets, cores, threads, RealMemory).
    local line
    line=$(slurmd -C 2>/dev/null | head -n 1)
    [[ "$line" == NodeName=* ]] || die "slurmd -C did not describe this node (got: ${line:-nothing})"
    # The daemons talk over loopback: the machine's name need not resolve on a CI machine.
    echo "$line NodeAddr=127.0.0.1 State=UNKNOWN"
}

slurm_conf() {
    local host accounting
    host=$(hostname -s)
    if [ "$ACCOUNTING" = dbd ]; then
        accounting="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStorageEnforce=associations
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux"
    else
        accounting="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
    fi
    cat <<EOF
$MARKER
ClusterName=$CLUSTER
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
# No cgroups: processes are tracked through /proc, tasks are not pinned (works in containers and sandboxes).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
# Finished jobs stay visible to squeue for an hour: without a database that is the only record of them (the
# plugin's squeue status mode needs at least 2 min; the CI check reads the whole run's jobs at its end).
MinJobAge=3600
KillWait=10
$accounting
# Every finished job, also without a database: one line per job (an audit trail for the CI check).
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG/jobcomp.log
$(node_line)
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

dbd_conf() {
    cat <<EOF
$MARKER
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
PidFile=$RUN/slurmdbd.pid
LogFile=$LOG/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$(cat "$STATE/db.secret")
StorageLoc=slurm_acct_db
EOF
}

install_conf() {  # install_conf PATH MODE CONTENT → 0 if the file changed
    local path=$1 mode=$2 content=$3
    if [ -e "$path" ] && ! grep -qxF "$MARKER" "$path"; then
        die "$path exists and was not written by this script: refusing to overwrite a real cluster's configuration"
    fi
    if [ -f "$path" ] && [ "$(cat "$path")" = "$content" ]; then
        return 1
    fi
    mkdir -p "$(dirname "$path")"
    printf '%s\n' "$content" >"$path.tmp"
    chmod "$mode" "$path.tmp"
    mv "$path.tmp" "$path"
    return 0
}

# --- daemons -----------------------------------------------------------------------------------------------------
start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return 0  # a munged is already answering (ours or the system's): use it
    fi
    [ -s /etc/munge/munge.key ] || { mungekey --create --keyfile=/etc/munge/munge.key && chown munge:munge /etc/munge/munge.key; } \
        || die "no munge key at /etc/munge/munge.key and mungekey could not create one"
    mkdir -p /run/munge /var/log/munge /var/lib/munge "$RUN/munge"
    chown munge:munge /run/munge /var/log/munge /var/lib/munge "$RUN/munge"
    chmod 755 /run/munge
    say "starting munged"
    runuser -u munge -- munged --pid-file="$RUN/munge/munged.pid" || die "munged did not start" /var/log/munge/munged.log
    ln -sf munge/munged.pid "$RUN/munged.pid"
    wait_for 20 munged /var/log/munge/munged.log sh -c 'munge -n | unmunge'
}

start_mariadb() {
    pid_of mariadb mariadbd >/dev/null && return 0
    port_busy "$DB_PORT" && die "port $DB_PORT is taken by another program: set HMIXAL_SLURM_DB_PORT to a free port"
    mkdir -p "$STATE/mysql" "$RUN/mysql"
    chown mysql:mysql "$STATE/mysql" "$RUN/mysql"
    if [ ! -d "$STATE/mysql/mysql" ]; then
        say "initialising the accounting database in $STATE/mysql"
        mariadb-install-db --no-defaults --user=mysql --datadir="$STATE/mysql" --auth-root-authentication-method=socket \
            --skip-test-db >"$LOG/mariadb-install.log" 2>&1 || die "mariadb-install-db failed" "$LOG/mariadb-install.log"
    fi
    say "starting MariaDB on 127.0.0.1:$DB_PORT"
    # innodb_lock_wait_timeout as SLURM's accounting guide asks; a small buffer pool is plenty for one test cluster.
    setsid -f mariadbd --no-defaults --user=mysql --datadir="$STATE/mysql" --bind-address=127.0.0.1 --port="$DB_PORT" \
        --socket="$RUN/mysql/mysqld.sock" --pid-file="$RUN/mysql/mariadb.pid" --log-error="$LOG/mariadb.log" \
        --innodb-buffer-pool-size=64M --innodb-lock-wait-timeout=900 </dev/null >/dev/null 2>&1
    wait_for 60 MariaDB "$LOG/mariadb.log" mariadb-admin --no-defaults --socket="$RUN/mysql/mysqld.sock" ping
    ln -sf mysql/mariadb.pid "$RUN/mariadb.pid"
    local secret
    secret=$(cat "$STATE/db.secret")
    mariadb --no-defaults --socket="$RUN/mysql/mysqld.sock" -u root <<EOF || die "could not create the database user" "$LOG/mariadb.log"
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$secret';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$secret';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
EOF
}

start_slurm_daemon() {  # start_slurm_daemon NAME PORT
    local name=$1 port=$2
    pid_of "$name" "$name" >/dev/null && return 0
    port_busy "$port" && die "port $port is taken by a $name this script did not start: stop it first"
    say "starting $name"
    "$name" || die "$name did not start" "$LOG/$name.log"
    wait_for 30 "$name" "$LOG/$name.log" pid_of "$name" "$name"
}

ensure_associations() {
    # Cluster, a CI account and root in it: what `sacctmgr` shows the plugin when it validates the account.
    sacctmgr -n -P list cluster format=cluster 2>/dev/null | grep -qx "$CLUSTER" \
        || sacctmgr -i add cluster "$CLUSTER" >/dev/null || die "sacctmgr could not add cluster $CLUSTER" "$LOG/slurmdbd.log"
    sacctmgr -n -P list account format=account 2>/dev/null | grep -qx "$ACCOUNT" \
        || sacctmgr -i add account "$ACCOUNT" Cluster="$CLUSTER" Description="hmixal CI" Organization=hmixal >/dev/null \
        || die "sacctmgr could not add account $ACCOUNT" "$LOG/slurmdbd.log"
    sacctmgr -n -P list assoc user=root account="$ACCOUNT" format=account 2>/dev/null | grep -qx "$ACCOUNT" \
        || sacctmgr -i add user root Account="$ACCOUNT" DefaultAccount="$ACCOUNT" >/dev/null \
        || die "sacctmgr could not add root to $ACCOUNT" "$LOG/slurmdbd.log"
}

node_idle() {
    [ "$(sinfo -h -N -p "$PARTITION" -o %t 2>/dev/null)" = idle ]
}

# --- commands ----------------------------------------------------------------------------------------------------
preflight() {
    # Before anything is written: a port held by a program other than our own daemon means another cluster or
    # database runs here, and taking over /etc/slurm would break it.
    local name comm port
    for name in mariadb:mariadbd:$DB_PORT slurmdbd:slurmdbd:6819 slurmctld:slurmctld:6817 slurmd:slurmd:6818; do
        IFS=: read -r name comm port <<<"$name"
        [ "$ACCOUNTING" = none ] && [ "$port" != 6817 ] && [ "$port" != 6818 ] && continue
        if ! pid_of "$name" "$comm" >/dev/null && port_busy "$port"; then
            die "port $port ($name) is taken by a program this script did not start (state in $STATE): stop it, or \
choose the state directory of the cluster that runs (HMIXAL_SLURM_DIR)"
        fi
    done
}

cmd_up() {
    local start=$SECONDS
    case "$ACCOUNTING" in dbd | none) ;; *) die "HMIXAL_SLURM_ACCOUNTING must be dbd or none, not '$ACCOUNTING'" ;; esac
    [ "$(id -u)" -eq 0 ] || die "must run as root: it installs packages, writes /etc/slurm and starts daemons"
    preflight
    mkdir -p "$STATE" "$RUN" "$LOG" "$STATE/slurmctld" "$STATE/slurmd"
    chmod 755 "$STATE"  # munge and mysql reach their own subfolders through it
    install_packages
    if [ "$ACCOUNTING" = dbd ] && [ ! -s "$STATE/db.secret" ]; then
        (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$STATE/db.secret")
    fi
    local changed=0
    install_conf "$SLURM_CONF" 644 "$(slurm_conf)" && changed=1
    if [ "$ACCOUNTING" = dbd ]; then
        install_conf "$DBD_CONF" 600 "$(dbd_conf)" && changed=1
    elif [ -e "$DBD_CONF" ] && grep -qxF "$MARKER" "$DBD_CONF"; then
        rm -f "$DBD_CONF"
    fi
    if [ "$changed" -eq 1 ] && { pid_of slurmctld slurmctld || pid_of slurmd slurmd || pid_of slurmdbd slurmdbd; } >/dev/null; then
        say "configuration changed: restarting the SLURM daemons"
        stop_slurm
    fi
    start_munge
    if [ "$ACCOUNTING" = dbd ]; then
        start_mariadb
        start_slurm_daemon slurmdbd 6819
        wait_for 60 slurmdbd "$LOG/slurmdbd.log" sacctmgr -n list cluster
        ensure_associations
    fi
    start_slurm_daemon slurmctld 6817
    wait_for 30 "slurmctld (scontrol ping)" "$LOG/slurmctld.log" sh -c 'scontrol ping | grep -q UP'
    start_slurm_daemon slurmd 6818
    # A node that was DOWN (an earlier run ended badly) is put back into service.
    scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
    wait_for 60 "the node (sinfo state idle)" "$LOG/slurmd.log" node_idle
    local out
    out=$(timeout 60 srun -p "$PARTITION" -N1 -n1 -t 1 -D "$STATE" hostname 2>&1) \
        || die "srun on the new cluster failed: $out" "$LOG/slurmd.log"
    say "up in $((SECONDS - start)) s: cluster $CLUSTER, partition $PARTITION, node $out, accounting $ACCOUNTING"
    write_env
}

write_env() {
    local account=$ACCOUNT
    [ "$ACCOUNTING" = none ] && account=""  # no associations without a database: sbatch without -A
    printf 'HMIXAL_SLURM_ACCOUNT=%s\nHMIXAL_SLURM_PARTITION=%s\nHMIXAL_SLURM_ACCOUNTING=%s\n' \
        "$account" "$PARTITION" "$ACCOUNTING" >"$STATE/env"
}

cmd_env() {
    [ -f "$STATE/env" ] || die "no cluster set up in $STATE: run '$PROG up' first"
    sed 's/^/export /' "$STATE/env"
}

stop_slurm() {
    stop_daemon slurmd slurmd
    stop_daemon slurmctld slurmctld
    stop_daemon slurmdbd slurmdbd
}

cmd_down() {
    if pid_of slurmctld slurmctld >/dev/null; then
        # Jobs of this cluster only; their steps end before slurmd goes.
        local jobs
        jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
        if [ -n "${jobs// /}" ]; then
            say "cancelling jobs $jobs"
            # shellcheck disable=SC2086
            scancel $jobs 2>/dev/null || true
            for _ in $(seq 20); do
                [ -z "$(squeue -h -t running,completing -o %i 2>/dev/null)" ] && break
                sleep 0.5
            done
        fi
    fi
    stop_slurm
    stop_daemon mariadb mariadbd
    stop_daemon munged munged
    say "down"
}

cmd_status() {
    local name comm pid
    for name in munged mariadb slurmdbd slurmctld slurmd; do
        comm=$name
        [ "$name" = mariadb ] && comm=mariadbd
        if pid=$(pid_of "$name" "$comm"); then
            echo "$name: running (pid $pid)"
        else
            echo "$name: not started by this script"
        fi
    done
    sinfo 2>&1 || true
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    *)
        sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
