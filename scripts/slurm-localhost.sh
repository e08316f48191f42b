#!/usr/bin/env bash
# A real one-node Slurm cluster on this host (Debian's slurm-wlm + munge), for
# `cargo test --test slurm -- --ignored`. Idempotent: installs what is missing, (re)writes
# /etc/slurm/slurm.conf only when it changed, starts munged/slurmctld/slurmd if not running,
# and waits until `sinfo` shows the node idle. Must run as root.
set -euo pipefail

die() { echo "slurm-localhost: error: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts daemons)"

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  echo "slurm-localhost: installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || die "apt-get update failed"
  apt-get install -y -q slurm-wlm munge >/dev/null || die "apt-get install slurm-wlm munge failed"
fi

# munge: a key readable by the munge user only, then the daemon as that user.
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
if ! munge -n </dev/null >/dev/null 2>&1; then
  rm -f /run/munge/munged.pid
  su -s /bin/sh munge -c /usr/sbin/munged || die "munged did not start (see /var/log/munge/munged.log)"
  sleep 1
  munge -n </dev/null >/dev/null || die "munged is not answering"
fi

host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(free -m | awk '/^Mem:/{print $2}') * 9 / 10 ))
conf=$(cat <<CONF
# Written by ablate's scripts/slurm-localhost.sh: a one-node test cluster.
ClusterName=ablate-local
SlurmctldHost=${host}
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
SlurmUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# Keep finished jobs visible to scontrol for 10 minutes (no accounting database here).
MinJobAge=600
SchedulerParameters=batch_sched_delay=0,sched_min_interval=100000
MessageTimeout=10
NodeName=${host} CPUs=${cpus} RealMemory=${mem} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
)
install -d /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
changed=0
if [ "$(cat /etc/slurm/slurm.conf 2>/dev/null)" != "$conf" ]; then
  printf '%s\n' "$conf" >/etc/slurm/slurm.conf
  changed=1
fi
# cons_tres with no GPUs still wants a cgroup.conf-free setup; nothing else to write.

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if [ "$changed" = 1 ]; then
  for pf in /run/slurmd.pid /run/slurmctld.pid; do
    if running "$pf"; then kill "$(cat "$pf")"; sleep 1; fi
  done
fi
running /run/slurmctld.pid || slurmctld || die "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
running /run/slurmd.pid || slurmd || die "slurmd did not start (see /var/log/slurm/slurmd.log)"

for _ in $(seq 1 60); do
  state=$(sinfo -h -n "$host" -o %t 2>/dev/null | head -1 || true)
  case "$state" in
    idle|mix|alloc) echo "slurm-localhost: node ${host} is ${state} (${cpus} CPUs, ${mem} MB)"; exit 0 ;;
    down*|drain*) scontrol update nodename="$host" state=resume 2>/dev/null || true ;;
  esac
  sleep 1
done
sinfo >&2 || true
die "node ${host} did not become idle within 60 s (state: '${state:-no answer}'); see /var/log/slurm/slurmctld.log and slurmd.log"
