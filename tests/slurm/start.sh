#!/usr/bin/env bash
# Starts a real single-node Slurm cluster (Debian's slurmctld, slurmd,
# munge) for the tests, entirely inside DIR: its own slurm.conf, munge key
# and socket, free TCP ports, state, logs and pid files, so it touches
# nothing in /etc and cannot clash with another cluster on this machine.
#
#   tests/slurm/start.sh DIR     prints "export SLURM_CONF=DIR/slurm.conf"
#   tests/slurm/stop.sh DIR      stops the daemons by their pids
#
# Clients find the cluster through $SLURM_CONF. Exit status 0 once
# `sinfo` says the node is idle; non-zero (with the reason on stderr and
# the daemons stopped again) when it cannot start: not root, packages
# missing, a daemon failing.
set -euo pipefail
dir=${1:?usage: tests/slurm/start.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)

fail() { echo "slurm: $*" >&2; "$here/stop.sh" "$dir" >/dev/null 2>&1 || true; exit 1; }

for p in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd sbatch squeue scontrol scancel sinfo; do
	command -v "$p" >/dev/null || fail "'$p' not installed (apt-get install slurmctld slurmd slurm-client munge)"
done
[ "$(id -u)" = 0 ] || fail "needs root (slurmd runs jobs as their users)"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
chmod 0755 "$dir"
mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
chmod 0700 "$dir/munge"

# munge: a key of our own and a socket of our own
if [ ! -s "$dir/munge/munge.key" ]; then
	head -c 1024 /dev/urandom > "$dir/munge/munge.key"
	chmod 0400 "$dir/munge/munge.key"
fi
/usr/sbin/munged --force --socket="$dir/munge/munge.sock" \
	--key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
	--log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed" ||
	fail "munged did not start (see $dir/log/munged.log)"
chmod 0755 "$dir/munge"

# two free TCP ports for slurmctld and slurmd
free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 20000))
		if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then echo "$p"; return; fi
	done
	echo 6817
}
ctld_port=$(free_port)
slurmd_port=$(free_port)
[ "$ctld_port" != "$slurmd_port" ] || slurmd_port=$((ctld_port + 1))

host=$(hostname -s)
node=$(/usr/sbin/slurmd -C | head -1)
cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node")
mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
cat > "$dir/slurm.conf" <<CONF
ClusterName=sweeptest
SlurmctldHost=$host
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.sock
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
KillWait=5
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
NodeName=$host CPUs=${cpus:-1} RealMemory=${mem:-1000} State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"

/usr/sbin/slurmctld -i || fail "slurmctld did not start (see $dir/log/slurmctld.log)"
/usr/sbin/slurmd || fail "slurmd did not start (see $dir/log/slurmd.log)"
for _ in $(seq 1 150); do
	state=$(sinfo -h -o %t 2>/dev/null || true)
	if [ "$state" = idle ]; then
		echo "export SLURM_CONF=$dir/slurm.conf"
		exit 0
	fi
	sleep 0.2
done
fail "the node did not become idle in 30 s (sinfo: '${state:-}'; see $dir/log/)"
