#!/bin/bash
# End to end, as root, on this host: the sensor back ends triaged chooses
# from. --sensors kmod without triage.ko exits 1 saying it is not loaded,
# before making any cgroup; --sensors proc counts a tagged busy workload's
# CPU and runqueue wait from /proc, says what it lacks in one warning line
# and shows the figures it cannot measure as null; --sensors auto (and the
# default) takes bpf where BPF and BTF exist; --doctor names the module's
# state and auto's choice; an unknown kind is a usage error.
set -u
. "$(dirname "$0")/../lib.sh"

require_root sensors

ROOT=tgsens-$$
RUN=/run/$ROOT
CONF=$(mktemp)
LOG=$(mktemp)
AGENT=
HOGS=
export TRIAGE_RUN_DIR=$RUN
CTL="$BUILD/triagectl"
NOT_LOADED='triage.ko is not loaded (no generic-netlink family triage)'

cleanup() {
	{
		[ -n "$AGENT" ] && kill -9 "$AGENT" 2>/dev/null
		for p in $HOGS; do kill -9 "$p" 2>/dev/null; done
		cg_purge "$ROOT"
		rm -rf "/sys/fs/bpf/$ROOT" "$RUN" "$CONF" "$LOG"
		wait
	} 2>/dev/null
}
trap cleanup EXIT

start_agent() { # ARGS...
	: >"$LOG"
	"$BUILD/triaged" --config "$CONF" -q "$@" >>"$LOG" 2>&1 &
	AGENT=$!
	wait_for 10 test -S "$RUN/ctl.sock"
}

stop_agent() {
	kill -TERM "$AGENT"
	wait "$AGENT"
	local rc=$?
	AGENT=
	return $rc
}

# jq_true FILTER JSON: the filter holds on the JSON.
jq_true() { jq -e "$1" >/dev/null <<<"$2"; }
cgroups_made() { for h in $(cg_hierarchies); do [ -e "$h/$ROOT" ] && echo "$h/$ROOT"; done; }

write_config "$CONF" "$ROOT"

# --- an unknown kind is a usage error ----------------------------------------
out=$("$BUILD/triaged" --config "$CONF" --sensors nope 2>&1)
rc=$?
if [ $rc -eq 2 ] && grep -q 'unknown kind "nope" (auto, bpf, kmod, proc or none)' <<<"$out"; then
	ok "--sensors nope: exit 2, lists the kinds"
else
	not_ok "--sensors nope: exit 2, lists the kinds" "rc=$rc: $out"
fi

# --- kmod without the module: exit 1, said plainly, nothing made ------------
if [ -e /sys/module/triage ]; then
	skip "--sensors kmod without triage.ko" "triage.ko is loaded on this host"
else
	out=$(timeout 30 "$BUILD/triaged" --config "$CONF" --sensors kmod 2>&1)
	rc=$?
	made=$(cgroups_made)
	if [ $rc -eq 1 ] && grep -qF -- "--sensors kmod: $NOT_LOADED" <<<"$out" && [ -z "$made" ]; then
		ok "--sensors kmod without triage.ko: exit 1, \"$NOT_LOADED\", no cgroup made"
	else
		not_ok "--sensors kmod without triage.ko" "rc=$rc made='$made' output: $out"
	fi
	check "--sensors kmod without triage.ko: no silent fallback to another back end" \
		bash -c "! grep -q 'sensors: \\(bpf\\|proc\\)' <<<'$out'"
fi

# --- --doctor: the module's row and auto's choice ---------------------------
out=$("$BUILD/triaged" --doctor 2>&1)
check "--doctor has a triage.ko row naming /sys/module/triage and the genl family, or its ABI" \
	grep -Eq '^triage\.ko loaded +(NO +no \(no /sys/module/triage, no generic-netlink family triage\)|yes +yes: module .*, ABI [0-9]+ \(agent [0-9]+\), features )' <<<"$out"
bpf_here=0
[ -r /sys/kernel/btf/vmlinux ] && grep -Eq '^BPF syscall +yes' <<<"$out" &&
	grep -Eq '^BPF task storage +yes' <<<"$out" && bpf_here=1
if [ $bpf_here -eq 1 ]; then
	check "--doctor: auto would choose bpf here" grep -Eq '^sensors \(--sensors auto\) +yes +bpf$' <<<"$out"
else
	check "--doctor: auto names its choice" grep -Eq '^sensors \(--sensors auto\) ' <<<"$out"
fi

# --- proc: CPU and wait of a tagged busy workload ---------------------------
status_json() { "$CTL" status --json; }
hog_of() { status_json | jq -e ".levels[] | select(.name == \"high\") | .workloads[] | select(.name == \"$1\")"; }
# Two hogs share CPU 0, so each runs about half the time and waits the rest.
busy_and_waiting() {
	hog_of hog-a | jq -e '.cpu_pct > 20 and .waits > 0 and .wait_mean_us > 50 and .procs == 1' >/dev/null
}

if ! start_agent --sensors proc; then
	not_ok "--sensors proc: agent starts" "$(tail -5 "$LOG")"
	exit 1
fi
ok "--sensors proc: agent starts and listens on $RUN/ctl.sock"
check "--sensors proc: status names the proc sensors" bash -c "'$CTL' status --json | jq -e '.sensors == \"proc\"' >/dev/null"
n=$(grep -c 'no interference, no per-level CPU split, no wait histogram' "$LOG")
check "--sensors proc: exactly one warning line says what it lacks ($n)" \
	bash -c "[ $n -eq 1 ] && grep 'no wait histogram' '$LOG' | grep -q '^triaged: warning: '"
"$CTL" run --level high --name hog-a -- taskset -c 0 "$BUILD/bench/hog" >/dev/null &
HOGS="$HOGS $!"
"$CTL" run --level high --name hog-b -- taskset -c 0 "$BUILD/bench/hog" >/dev/null &
HOGS="$HOGS $!"
if wait_for 10 busy_and_waiting; then
	ok "--sensors proc: status shows the tagged hog's CPU, waits and mean wait ($(hog_of hog-a | jq -c '{cpu_pct, waits, wait_mean_us}'))"
else
	not_ok "--sensors proc: status shows the tagged hog's CPU and wait" "$(hog_of hog-a | jq -c .) log: $(tail -3 "$LOG")"
fi
check "--sensors proc: what it cannot measure is null, not 0 (p50, p99, interference)" \
	bash -c "$(declare -f status_json hog_of); CTL='$CTL' hog_of hog-a | jq -e '.wait_p50_us == null and .wait_p99_us == null and .intf_pct == null' >/dev/null"
line=$("$CTL" status | grep ' hog-a ')
# ... WAIT-AVG WAIT-P50 WAIT-P99 INTF% CLASS ("-": the level sets no class)
check "--sensors proc: the status table prints a mean wait and '-' for p99 and interference" \
	awk '{ exit !($(NF-4) ~ /^[0-9.]+(us|ms)$/ && $(NF-2) == "-" && $(NF-1) == "-" && $NF == "-") }' <<<"$line"
stats=$("$CTL" stats --json)
check "--sensors proc: stats names the back end and says it has no level split" \
	jq_true '.sensors == "proc" and .level_split == false and .interference == false' "$stats"
check "--sensors proc: stats lists every CPU" jq_true ".cpus | length == $(nproc)" "$stats"
check "--sensors proc: CPU 0 busy over 50% in the untagged slot, 0 in the levels" \
	jq_true '.cpus[0] | .busy_pct[8] > 50 and (.busy_pct[0:8] | add) == 0' "$stats"
check "--sensors proc: the stats table says why every level is 0" \
	bash -c "'$CTL' stats | grep -q 'sensors proc: no per-level split'"
stop_agent
check "--sensors proc: SIGTERM exits 0" [ $? -eq 0 ]
for p in $HOGS; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
HOGS=

# --- auto: bpf where BPF and BTF exist --------------------------------------
if [ $bpf_here -eq 0 ]; then
	skip "--sensors auto picks bpf" "no BPF or no kernel BTF on this host"
else
	for args in "--sensors auto" ""; do
		name="--sensors auto${args:+ (explicit)}"
		[ -z "$args" ] && name="no --sensors (auto by default)"
		# shellcheck disable=SC2086
		if ! start_agent $args; then
			not_ok "$name: agent starts" "$(tail -5 "$LOG")"
			continue
		fi
		check "$name: picks bpf" bash -c "'$CTL' status --json | jq -e '.sensors == \"bpf\"' >/dev/null"
		check "$name: says so in one line, no fallback" \
			bash -c "grep -q '^triaged: sensors: bpf (auto)$' '$LOG' && ! grep -q 'sensors: no bpf' '$LOG'"
		stop_agent
		check "$name: SIGTERM exits 0" [ $? -eq 0 ]
	done
fi

[ $T_FAILED -eq 0 ]
