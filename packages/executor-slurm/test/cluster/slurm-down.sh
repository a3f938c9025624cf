#!/usr/bin/env bash
# Stops the daemons slurm-up.sh started in <dir>, by their pid files, waiting until each is gone,
# then removes <dir>. A munged that slurm-up.sh found already running is left alone.
set -uo pipefail
SLURM_TMP=${1:?usage: slurm-down.sh <SLURM_TMP dir>}
stop() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null
}
stop "$SLURM_TMP/slurmd.pid"
stop "$SLURM_TMP/slurmctld.pid"
stop "$SLURM_TMP/munged.pid"
case "$SLURM_TMP" in /tmp/llem-slurm-*) rm -rf "$SLURM_TMP" ;; esac
