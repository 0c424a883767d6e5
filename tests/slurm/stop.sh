#!/usr/bin/env bash
# Stops the cluster tests/slurm/start.sh DIR started, by the daemons' pids
# (never by name: other clusters may run on this machine).
set -u
dir=${1:?usage: tests/slurm/stop.sh DIR}
for f in slurmd.pid slurmctld.pid munge/munged.pid; do
	[ -s "$dir/$f" ] || continue
	pid=$(cat "$dir/$f")
	kill -TERM "$pid" 2>/dev/null || continue
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$dir/$f"
done
exit 0
