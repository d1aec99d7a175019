# Shell helpers on cgroup hierarchies, shared by the tests and benchmarks
# (sourced). They find the hierarchies the way triaged does: on v2 the
# unified mount; on v1/hybrid the cpu and cpuset ones plus the unified one.

cg_hierarchies() {
	awk '$9 == "cgroup2" { print $5 }
	     $9 == "cgroup" && ($NF ~ /(^|,)cpu(,|$)/ || $NF ~ /(^|,)cpuset(,|$)/) { print $5 }' \
		/proc/self/mountinfo | sort -u
}

cg_mode() {
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then echo v2; else echo v1; fi
}

# Path of REL in the hierarchy that has CONTROLLER.
cg_dir_for() { # CONTROLLER REL
	local c=$1 rel=$2
	if [ "$(cg_mode)" = v2 ]; then echo "/sys/fs/cgroup/$rel"; return; fi
	awk -v c="$c" '$9 == "cgroup" && $NF ~ "(^|,)" c "(,|$)" { print $5; exit }' \
		/proc/self/mountinfo | sed "s|\$|/$rel|"
}

# Removes a cgroup subtree in every hierarchy, deepest first, after killing
# what is left in it. Only ever called on trees the caller created.
cg_purge() { # REL
	local rel=$1 h d p
	for h in $(cg_hierarchies); do
		[ -d "$h/$rel" ] || continue
		for d in $(find "$h/$rel" -depth -type d); do
			for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		done
	done
	sleep 0.2
	for h in $(cg_hierarchies); do
		[ -d "$h/$rel" ] || continue
		find "$h/$rel" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	return 0
}

# Whether process PID sits in REL in every hierarchy.
in_cgroup() { # PID REL
	local h
	for h in $(cg_hierarchies); do grep -qx "$1" "$h/$2/cgroup.procs" || return 1; done
}
