# Helpers shared by the benchmark scripts (sourced).
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/cgroup-lib.sh"

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

machine_line() {
	echo "$(nproc) CPUs ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)), kernel $(uname -r), $(stat -fc %T /sys/fs/cgroup | sed 's/cgroup2fs/cgroup v2/;s/tmpfs/hybrid cgroups/')"
}

# A config for benchmarks: the defaults, with its own cgroup root, pin and
# run directories so a benchmark never meets a user's running agent.
bench_config() { # FILE ROOT
	jq --arg r "$2" '.cgroup_root = $r | .pin_dir = "/sys/fs/bpf/" + $r | .run_dir = "/run/" + $r' \
		docs/triage.example.json >"$1"
}
