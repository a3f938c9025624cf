#!/usr/bin/env bash
# Starts a single-node Slurm 22.05 cluster (munged, slurmctld, slurmd) with two fake GPUs under
# $SLURM_TMP (default: a fresh temp dir). Installs Debian's slurm-wlm and munge if missing (root).
# Prints `SLURM_TMP=<dir>` and `SLURM_CONF=<file>` on its last two lines; stop it with
# slurm-down.sh <dir>. Recipe and pitfalls: shared/reference/slurm-probe.md.
set -euo pipefail
SLURM_TMP=${SLURM_TMP:-$(mktemp -d /tmp/llem-slurm-XXXXXX)}
export SLURM_CONF=$SLURM_TMP/etc/slurm.conf   # every daemon and client honours it; nothing goes to /etc/slurm
if ! command -v slurmctld >/dev/null; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >&2
fi
H=$(hostname -s)
rm -rf "$SLURM_TMP"; mkdir -p "$SLURM_TMP"/{etc,state,spool,log,dev}   # fresh state: job ids restart at 1
if [ ! -s /etc/munge/munge.key ]; then
  mungekey --create --force; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 755 /run/munge
# munged is shared by every cluster on this machine: start it only if none answers, and say so.
if [ -S /run/munge/munge.socket.2 ] && munge -n >/dev/null 2>&1; then
  : > "$SLURM_TMP/munged.reused"
else
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged
  cp /run/munge/munged.pid "$SLURM_TMP/munged.pid"
fi
for i in 0 1; do mknod "$SLURM_TMP/dev/fakegpu$i" c 1 3; done   # fake GPUs (char devices)
MEM=$(( $(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p') - 512 ))
cat > "$SLURM_CONF" <<CONF
ClusterName=llemtest
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$SLURM_TMP/state
SlurmdSpoolDir=$SLURM_TMP/spool
SlurmctldPidFile=$SLURM_TMP/slurmctld.pid
SlurmdPidFile=$SLURM_TMP/slurmd.pid
SlurmctldLogFile=$SLURM_TMP/log/slurmctld.log
SlurmdLogFile=$SLURM_TMP/log/slurmd.log
SlurmctldPort=${SLURM_CTLD_PORT:-6817}
SlurmdPort=${SLURM_D_PORT:-6818}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$SLURM_TMP/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0
EnforcePartLimits=ALL
ReturnToService=2
MinJobAge=600
KillWait=5
GresTypes=gpu
NodeName=$H NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$MEM Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
echo "NodeName=$H Name=gpu File=$SLURM_TMP/dev/fakegpu[0-1]" > "$SLURM_TMP/etc/gres.conf"
slurmctld
slurmd
for _ in $(seq 1 150); do [ "$(sinfo -h -n "$H" -o %T 2>/dev/null)" = idle ] && break; sleep 0.2; done
# Another cluster on the same ports would answer sinfo too: our own daemons must be the ones alive.
for d in slurmctld slurmd; do
  kill -0 "$(cat "$SLURM_TMP/$d.pid" 2>/dev/null || echo 0)" 2>/dev/null || { echo "$d did not start (port in use?)" >&2; tail -5 "$SLURM_TMP/log/$d.log" >&2; exit 1; }
done
if [ "$(sinfo -h -n "$H" -o %T 2>/dev/null)" != idle ]; then
  tail -20 "$SLURM_TMP"/log/*.log >&2
  exit 1
fi
echo "SLURM_TMP=$SLURM_TMP"
echo "SLURM_CONF=$SLURM_CONF"
