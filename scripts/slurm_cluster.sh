#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for the tests marked `slurm`: munge, MariaDB with
# slurmdbd (accounting: sacct, and submitit's view of failed and cancelled jobs), slurmctld and
# slurmd, every daemon started by hand with its state in one scratch folder (no systemd).
#
#   scripts/slurm_cluster.sh install   # the Debian packages it needs (once; as root)
#   scripts/slurm_cluster.sh start     # prints the line to export: SLURM_CONF=<state>/slurm.conf
#   scripts/slurm_cluster.sh stop      # stops every daemon by its pid file
#
# State: $TOOLKIT_SLURM_STATE (default /tmp/toolkit-slurm). Ports: 36817-36819 and 33061, on 127.0.0.1.
set -euo pipefail
state="${TOOLKIT_SLURM_STATE:-/tmp/toolkit-slurm}"
node="$(hostname -s)"
cpus="$(nproc)"

install() {
  if command -v slurmctld >/dev/null && command -v slurmdbd >/dev/null && command -v mariadbd >/dev/null; then
    return
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq slurm-wlm munge >/dev/null
  apt-get install -y -qq --no-install-recommends slurmdbd mariadb-server >/dev/null
}

wait_for() {  # wait_for SECONDS COMMAND...: until COMMAND succeeds
  local limit=$1
  shift
  for _ in $(seq "$((limit * 5))"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "slurm_cluster.sh: timed out waiting for: $*" >&2
  return 1
}

write_configs() {
  mkdir -p "$state"/{ctld,spool,log,run,mysql}
  cat >"$state/slurm.conf" <<CONF
ClusterName=toolkit
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmctldPort=36817
SlurmdPort=36818
AuthType=auth/munge
AuthInfo=cred_expire=5
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/run/slurmctld.pid
SlurmdPidFile=$state/run/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerParameters=sched_interval=2,bf_interval=2
KillWait=5
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=36819
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  cat >"$state/slurmdbd.conf" <<CONF
AuthType=auth/munge
DbdHost=$node
DbdAddr=127.0.0.1
DbdPort=36819
SlurmUser=root
PidFile=$state/run/slurmdbd.pid
LogFile=$state/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=33061
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
CONF
  chmod 600 "$state/slurmdbd.conf"
}

start() {
  install
  stop  # the daemons of an earlier start, if any
  write_configs
  mkdir -p /run/munge && chown munge:munge /run/munge
  if ! pgrep -x munged >/dev/null; then runuser -u munge -- munged; fi
  if [ ! -d "$state/mysql/mysql" ]; then
    mariadb-install-db --user=root --datadir="$state/mysql" --auth-root-authentication-method=normal >/dev/null 2>&1
  fi
  mariadbd --user=root --datadir="$state/mysql" --socket="$state/run/mysql.sock" --port=33061 \
    --bind-address=127.0.0.1 --pid-file="$state/run/mariadb.pid" --log-error="$state/log/mariadb.log" \
    >/dev/null 2>&1 </dev/null &
  wait_for 30 mariadb --socket="$state/run/mysql.sock" -e "select 1"
  mariadb --socket="$state/run/mysql.sock" -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
  export SLURM_CONF="$state/slurm.conf"  # slurmdbd reads the slurmdbd.conf beside it
  slurmdbd
  wait_for 30 sacctmgr -n list cluster
  slurmctld -f "$SLURM_CONF"
  slurmd -f "$SLURM_CONF"
  wait_for 60 bash -c "sinfo -h -o %t | grep -qx idle"
  echo "SLURM_CONF=$SLURM_CONF"
}

stop() {
  local pid
  for daemon in slurmd slurmctld slurmdbd mariadb; do
    if [ -f "$state/run/$daemon.pid" ]; then
      pid="$(cat "$state/run/$daemon.pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      rm -f "$state/run/$daemon.pid"
    fi
  done
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
