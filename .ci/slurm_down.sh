#!/usr/bin/env bash
# Stop the test cluster started by .ci/slurm_up.sh: cancel its jobs, then end each daemon by the PID
# it recorded (never by name, so another Slurm on the machine is left alone).
#
#   bash .ci/slurm_down.sh [STATE_DIR] [--keep]    # --keep leaves STATE_DIR (logs) in place
set -uo pipefail

STATE=${1:-/tmp/msl-slurm}
KEEP=${2:-}

if [ ! -f "$STATE/pids" ]; then
    echo "slurm_down: no cluster recorded in $STATE" >&2
    [ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$STATE/slurm.conf" ] && rm -f /etc/slurm/slurm.conf
    exit 0
fi

export SLURM_CONF=$STATE/slurm.conf
scancel --cluster=msltest --user="$(id -un)" >/dev/null 2>&1 || true

# Reverse start order: slurmd, slurmctld, then munged (the others authenticate through it).
tac "$STATE/pids" | while read -r name pid; do
    # Only signal the process if it is still the daemon we started (PIDs can be reused).
    if [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$name" ]; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "slurm_down: $name ($pid) ignored SIGTERM; sending SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
        echo "slurm_down: stopped $name ($pid)" >&2
    else
        echo "slurm_down: $name ($pid) already gone" >&2
    fi
done
rm -f "$STATE/pids"
# The link slurm_up.sh made (only if it is still ours).
if [ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$STATE/slurm.conf" ]; then
    rm -f /etc/slurm/slurm.conf
fi
[ "$KEEP" = "--keep" ] || rm -rf "$STATE"
