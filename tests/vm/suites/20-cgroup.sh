#!/bin/sh
# In the guest, on a pure cgroup v2 tree: the kernel knobs triage drives
# really bind. A busy-loop hog in /sys/fs/cgroup/tgvm-test runs near a
# whole CPU unthrottled, near 20% under cpu.max "20000 100000", and only on
# the CPU cpuset.cpus names. Measured from cpu.stat usage_usec over guest
# time, so a slow or busy host (TCG) moves both sides of the ratio alike.
. tests/vm/guest/lib.sh

CG=/sys/fs/cgroup/tgvm-test
HOG=

cleanup() {
	[ -n "$HOG" ] && kill -9 "$HOG" 2>/dev/null
	wait 2>/dev/null
	[ -d "$CG" ] && rmdir "$CG" 2>/dev/null
}
trap cleanup EXIT

check "cgroup: /sys/fs/cgroup is cgroup2 and no v1 hierarchy is mounted" \
	sh -c 'awk "\$3 == \"cgroup2\" && \$2 == \"/sys/fs/cgroup\" { f = 1 } \$3 == \"cgroup\" { v1 = 1 } END { exit !(f && !v1) }" /proc/mounts'
check "cgroup: root delegates cpu and cpuset" \
	sh -c 'grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control && grep -qw cpuset /sys/fs/cgroup/cgroup.subtree_control'

if ! mkdir "$CG"; then
	not_ok "cgroup: mkdir $CG" "failed"
	exit 1
fi
sh -c 'while :; do :; done' &
HOG=$!
echo "$HOG" >"$CG/cgroup.procs"
check "cgroup: hog moved into tgvm-test" grep -qx "$HOG" "$CG/cgroup.procs"

usage_us() { awk '$1 == "usage_usec" { print $2 }' "$CG/cpu.stat"; }
throttled() { awk '$1 == "nr_throttled" { print $2 }' "$CG/cpu.stat"; }
# Share of one CPU the cgroup used over SECONDS of guest time, in percent.
cpu_share() { # SECONDS
	u0=$(usage_us) t0=$(now_ms)
	sleep "$1"
	u1=$(usage_us) t1=$(now_ms)
	echo $(((u1 - u0) / (t1 - t0) / 10))
}
in_range() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

# --- cpu.max ---------------------------------------------------------------
sleep 0.3
free=$(cpu_share 1)
if in_range "$free" 60 110; then ok "cgroup: unthrottled hog uses ${free}% of a CPU"; else
	not_ok "cgroup: unthrottled hog uses most of a CPU" "${free}%"
fi
echo "20000 100000" >"$CG/cpu.max"
check "cgroup: cpu.max reads back 20000 100000" [ "$(cat "$CG/cpu.max")" = "20000 100000" ]
sleep 0.3
n0=$(throttled)
capped=$(cpu_share 2)
n1=$(throttled)
# The quota is exact in guest time; the tolerance covers tick granularity
# and a period straddling each end of the window.
if in_range "$capped" 12 28; then ok "cgroup: cpu.max 20000/100000 holds the hog at ${capped}% (target 20%)"; else
	not_ok "cgroup: cpu.max 20000/100000 holds the hog near 20%" "${capped}%"
fi
check "cgroup: cpu.stat counts throttled periods ($((n1 - n0)) in 2 s)" [ $((n1 - n0)) -ge 10 ]
echo max >"$CG/cpu.max"
sleep 0.3
back=$(cpu_share 1)
if in_range "$back" 60 110; then ok "cgroup: cpu.max max gives it back (${back}%)"; else
	not_ok "cgroup: cpu.max max gives the CPU back" "${back}%"
fi

# --- cpuset.cpus -----------------------------------------------------------
# Samples the CPU the hog last ran on, 20 times over a second.
only_on() { # CPU
	n=0
	while [ $n -lt 20 ]; do
		[ "$(last_cpu "$HOG")" = "$1" ] || return 1
		n=$((n + 1))
		sleep 0.05
	done
}
nr_cpus=$(grep -c '^processor' /proc/cpuinfo)
if [ "$nr_cpus" -lt 2 ]; then
	skip "cgroup: cpuset.cpus" "one CPU in the guest"
else
	for cpu in 1 0; do
		echo "$cpu" >"$CG/cpuset.cpus"
		sleep 0.2
		check "cgroup: cpuset.cpus $cpu: effective $cpu, Cpus_allowed_list $cpu" sh -c \
			"[ \"\$(cat $CG/cpuset.cpus.effective)\" = $cpu ] && grep -q '^Cpus_allowed_list:[[:space:]]*$cpu\$' /proc/$HOG/status"
		check "cgroup: cpuset.cpus $cpu: hog sampled only on CPU $cpu" only_on "$cpu"
	done
fi

kill -9 "$HOG"
wait "$HOG" 2>/dev/null
HOG=
check "cgroup: the test cgroup is removed" sh -c "sleep 0.1; rmdir $CG"
[ $T_FAILED -eq 0 ]
