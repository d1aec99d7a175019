#!/bin/sh
# In the guest: the agent on Debian's packaged kernel and a pure cgroup v2
# tree, on its embedded default config (cgroups under
# /sys/fs/cgroup/triage, run dir /run/triage), first with the BPF sensors,
# then with the kernel module's, then with the degraded /proc ones. A
# critical and a best-effort workload are started with triagectl run; every
# back end must report the same four default levels and the same workloads,
# and CPU use for the hog: the sensors' interface promises the same meaning
# whichever back end fills it. auto must pick bpf on this kernel.
. tests/vm/guest/lib.sh

CTL="$BUILD/triagectl"
AGENT=
WL=

cleanup() {
	[ -n "$AGENT" ] && kill -9 "$AGENT" 2>/dev/null
	for p in $WL; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	for d in $(find /sys/fs/cgroup/triage -depth -type d 2>/dev/null); do rmdir "$d" 2>/dev/null; done
	kmod_loaded && rmmod triage 2>/dev/null
	rm -f /tmp/agent-*.json
}
trap cleanup EXIT

if [ ! -x "$BUILD/triaged" ] || [ ! -x "$CTL" ]; then
	not_ok "agent: binaries" "$BUILD/triaged or $CTL not built"
	exit 1
fi

start_agent() { # SENSORS
	"$BUILD/triaged" --sensors "$1" -q >"/tmp/triaged-$1.log" 2>&1 &
	AGENT=$!
	wait_for 20 test -S /run/triage/ctl.sock
}
stop_agent() {
	kill -TERM "$AGENT"
	wait "$AGENT"
	_rc=$?
	AGENT=
	return $_rc
}
status() { "$CTL" status --json; }
# "POLICY PRIORITY" of a process's main thread, from /proc/PID/stat.
policy_of() { awk '{ sub(/.*\) /, ""); print $39, $38 }' "/proc/$1/stat"; }
is_class() { [ "$(policy_of "$1")" = "$2" ]; } # PID "POLICY PRIORITY"
# Levels in order with their workloads' names, sorted: what both back ends
# must agree on.
shape() { status | jq -c '[.levels[] | {name, workloads: ([.workloads[].name] | sort)}]'; }
has_workloads() { status | jq -e '[.levels[].workloads[].name] | index("detector") and index("hog")' >/dev/null; }
hog_busy() { status | jq -e '.levels[] | select(.name == "best-effort") | .workloads[] | select(.name == "hog" and .cpu_pct > 1)' >/dev/null; }

# One agent run with sensors KIND: up, the workloads listed, CPU counted,
# a clean exit. Leaves the level/workload shape in /tmp/agent-KIND.json.
agent_run() { # KIND
	if ! start_agent "$1"; then
		not_ok "agent --sensors $1: starts and listens on /run/triage/ctl.sock" "$(tail -n 5 /tmp/triaged-$1.log)"
		[ -n "$AGENT" ] && kill -9 "$AGENT" 2>/dev/null
		AGENT=
		return 1
	fi
	ok "agent --sensors $1: starts and listens on /run/triage/ctl.sock"
	check "agent --sensors $1: status names the $1 sensors" \
		sh -c "$CTL status --json | jq -e '.sensors == \"$1\"' >/dev/null"
	check "agent --sensors $1: the 4 default levels, highest rank first" \
		sh -c "$CTL status --json | jq -e '[.levels[].name] == [\"critical\",\"high\",\"normal\",\"best-effort\"]' >/dev/null"
	if [ -z "$WL" ]; then
		"$CTL" run --level critical --name detector -- sleep 600 >/dev/null 2>&1 &
		WL="$WL $!"
		"$CTL" run --level best-effort --name hog -- "$BUILD/bench/hog" >/dev/null 2>&1 &
		WL="$WL $!"
	fi
	check "agent --sensors $1: lists the critical and the best-effort workload" wait_for 10 has_workloads
	check "agent --sensors $1: counts the hog's CPU use" wait_for 10 hog_busy
	shape >"/tmp/agent-$1.json"
	if [ "$1" = bpf ]; then
		check "agent --sensors bpf: maps pinned in /sys/fs/bpf/triage" \
			test -e /sys/fs/bpf/triage/cpu_stats -a -e /sys/fs/bpf/triage/wl_stats
	fi
	stop_agent
	check "agent --sensors $1: SIGTERM exits 0" [ $? -eq 0 ]
}

agent_run bpf
check "agent: workloads stay in their cgroups after the agent stops" \
	sh -c "grep -q . /sys/fs/cgroup/triage/critical/detector/cgroup.procs"

# --- the module's sensors ----------------------------------------------------
if ! "$BUILD/triaged" --help 2>&1 | grep -q kmod; then
	skip "agent --sensors kmod" "triaged has no kmod back end yet (--help names none)"
elif ! kmod_built; then
	skip "agent --sensors kmod" "triage.ko not built"
elif ! insmod "$KO"; then
	not_ok "agent --sensors kmod: insmod" "failed"
else
	if agent_run kmod; then
		if [ -s /tmp/agent-bpf.json ] && cmp -s /tmp/agent-bpf.json /tmp/agent-kmod.json; then
			ok "agent: bpf and kmod sensors report the same levels and workloads"
		else
			not_ok "agent: bpf and kmod sensors report the same levels and workloads" \
				"bpf $(cat /tmp/agent-bpf.json) kmod $(cat /tmp/agent-kmod.json)"
		fi
	fi
	# The default config runs critical SCHED_FIFO 19; with the module
	# loaded, a kill -9 of the agent must not leave it real time.
	if start_agent auto; then
		DET=$(cat /sys/fs/cgroup/triage/critical/detector/cgroup.procs | head -n 1)
		check "agent: the critical workload runs SCHED_FIFO 19 (the default config)" \
			wait_for 5 is_class "$DET" "1 19"
		check "agent: status says triage.ko guards it" \
			sh -c "$CTL status --json | jq -e '.sched.module_guard and .sched.guarded_by_module >= 1' >/dev/null"
		# GET_GPU_STATS through the real module: the guest has no devfreq GPU.
		check "agent: status asks triage.ko for the devfreq GPU and says it found none" \
			sh -c "$CTL status --json | jq -e '.gpu.devfreq == null and (.gpu.devfreq_why | test(\"found no devfreq GPU\"))' >/dev/null"
		kill -9 "$AGENT"
		wait "$AGENT" 2>/dev/null
		AGENT=
		check "agent: after kill -9, triage.ko turns the critical workload back to SCHED_OTHER" \
			wait_for 5 is_class "$DET" "0 0"
		check "agent: the module says so in the kernel log" \
			sh -c "dmesg | grep -q 'netlink port closed: 1 real-time thread of tgid $DET turned to SCHED_NORMAL'"
		# The next agent adopts the journal and gives it FIFO again.
		if start_agent auto; then
			check "agent: the next agent makes it SCHED_FIFO 19 again" \
				wait_for 5 is_class "$DET" "1 19"
			stop_agent
			check "agent: SIGTERM gives it SCHED_OTHER back" is_class "$DET" "0 0"
		else
			not_ok "agent: starts after a kill -9" "$(tail -n 5 /tmp/triaged-auto.log)"
		fi
	else
		not_ok "agent --sensors auto: starts (module guard)" "$(tail -n 5 /tmp/triaged-auto.log)"
	fi
	# auto prefers BPF where the kernel has it, module loaded or not.
	if start_agent auto; then
		check "agent --sensors auto: picks bpf on this kernel" \
			sh -c "$CTL status --json | jq -e '.sensors == \"bpf\"' >/dev/null"
		stop_agent
	else
		not_ok "agent --sensors auto: starts" "$(tail -n 5 /tmp/triaged-auto.log)"
	fi
	rmmod triage 2>/dev/null
fi

# --- the degraded /proc sensors ----------------------------------------------
if ! "$BUILD/triaged" --help 2>&1 | grep -qw proc; then
	skip "agent --sensors proc" "triaged has no proc back end"
elif agent_run proc; then
	if [ -s /tmp/agent-bpf.json ] && cmp -s /tmp/agent-bpf.json /tmp/agent-proc.json; then
		ok "agent: bpf and proc sensors report the same levels and workloads"
	else
		not_ok "agent: bpf and proc sensors report the same levels and workloads" \
			"bpf $(cat /tmp/agent-bpf.json) proc $(cat /tmp/agent-proc.json)"
	fi
fi
[ $T_FAILED -eq 0 ]
