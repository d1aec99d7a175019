# Helpers shared by the benchmark scripts (sourced).

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

bench_purge_cgroups() { # ROOT
	local h d
	for h in $(awk '$9 == "cgroup2" || ($9 == "cgroup" && $NF ~ /(^|,)cpu(set)?(,|$)/) { print $5 }' /proc/self/mountinfo); do
		[ -d "$h/$1" ] || continue
		for d in $(find "$h/$1" -depth -type d); do
			for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		done
	done
	sleep 0.3
	for h in $(awk '$9 == "cgroup2" || ($9 == "cgroup" && $NF ~ /(^|,)cpu(set)?(,|$)/) { print $5 }' /proc/self/mountinfo); do
		[ -d "$h/$1" ] && find "$h/$1" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	return 0
}
