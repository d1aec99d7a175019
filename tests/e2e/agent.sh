#!/bin/bash
# End to end, as root, on this host's real cgroups and BPF: triaged running
# on a test config, a best-effort hog and a periodic critical task started
# with triagectl run; the protection loop lowers the best-effort quota; a
# workload made by hand is picked up; SIGTERM restores every knob; after a
# kill -9 a new agent adopts the tree without moving anything; a bad config
# exits 2 and creates nothing.
set -u
. "$(dirname "$0")/../lib.sh"

require_root e2e

ROOT=tge2e-$$
RUN=/run/$ROOT
CONF=$(mktemp)
LOG=$(mktemp)
AGENT=
export TRIAGE_RUN_DIR=$RUN
CTL="$BUILD/triagectl"

cleanup() {
	# Job-control notices of the killed test processes are noise here.
	{
		[ -n "$AGENT" ] && kill -9 "$AGENT" 2>/dev/null
		cg_purge "$ROOT"
		rm -rf "/sys/fs/bpf/$ROOT" "$RUN" "$CONF" "$CONF.bad" "$LOG"
		wait
	} 2>/dev/null
}
trap cleanup EXIT

start_agent() {
	TRIAGE_LIBCUDA=$BUILD/fake-libcuda.so "$BUILD/triaged" --config "$CONF" -v >>"$LOG" 2>&1 &
	AGENT=$!
	wait_for 10 test -S "$RUN/ctl.sock"
}

stop_agent() { # SIGNAL
	kill "-$1" "$AGENT"
	wait "$AGENT"
	local rc=$?
	AGENT=
	return $rc
}

# Quota of a level in cores, "max" when unlimited.
quota_of() {
	local d
	if [ "$(cg_mode)" = v2 ]; then
		awk '{ if ($1 == "max") print "max"; else printf "%.3f\n", $1 / $2 }' "/sys/fs/cgroup/$ROOT/$1/cpu.max"
	else
		d=$(cg_dir_for cpu "$ROOT/$1")
		awk -v p="$(cat "$d/cpu.cfs_period_us")" '{ if ($1 < 0) print "max"; else printf "%.3f\n", $1 / p }' \
			"$d/cpu.cfs_quota_us"
	fi
}
quota_cut() { local q; q=$(quota_of best-effort); [ "$q" != max ]; }

# --- a bad config exits 2, names the key, creates nothing -----------------
# Critical and best-effort at one weight: the scheduler's weights alone do
# not shield the critical task from the hog sharing its CPU, so its wait
# misses the target and the protection loop has to act.
write_config "$CONF" "$ROOT" 200
jq '.levels[0].weight = 200 | .levels[3].weight = 200' "$CONF" >"$CONF.eq" && mv "$CONF.eq" "$CONF"
jq '.levels[3].weight = 0' "$CONF" >"$CONF.bad"
"$BUILD/triaged" --config "$CONF.bad" >"$LOG.out" 2>&1
rc=$?
created=$(for h in $(cg_hierarchies); do [ -e "$h/$ROOT" ] && echo "$h/$ROOT"; done)
if [ $rc -eq 2 ] && grep -q "$CONF.bad" "$LOG.out" && grep -q 'levels\[3\].weight' "$LOG.out" &&
	[ -z "$created" ] && [ ! -e "$RUN" ]; then
	ok "bad config: exit 2, names file and key, no cgroup or run dir"
else
	not_ok "bad config" "rc=$rc created='$created' output: $(cat "$LOG.out")"
fi
rm -f "$LOG.out"

# --- agent up: level cgroups with their weights -----------------------------
if start_agent; then ok "agent starts and listens on $RUN/ctl.sock"; else
	not_ok "agent starts" "$(tail -5 "$LOG")"
	exit 1
fi
weights_ok=1
for lvl in critical:200 high:1000 best-effort:200; do
	name=${lvl%%:*} w=${lvl##*:}
	if [ "$(cg_mode)" = v2 ]; then
		[ "$(cat "/sys/fs/cgroup/$ROOT/$name/cpu.weight")" = "$w" ] || weights_ok=0
	else
		[ "$(cat "$(cg_dir_for cpu "$ROOT/$name")/cpu.shares")" = $((w * 1024 / 100)) ] || weights_ok=0
	fi
done
check "level cgroups carry the configured weights" [ $weights_ok -eq 1 ]
idle_file=$(cg_dir_for cpu "$ROOT/normal")/cpu.idle
if [ -e "$idle_file" ]; then
	check "an idle level gets cpu.idle 1" [ "$(cat "$idle_file")" = 1 ]
else
	skip "cpu.idle" "kernel before 5.15"
fi

# --- triagectl errors --------------------------------------------------------
out=$("$CTL" tag --level nosuch 1 2>&1)
check "tag to an unknown level is refused by name" bash -c "[ $? -eq 1 ] && grep -q 'unknown level \"nosuch\"' <<<'$out'"
out=$("$CTL" tag --level critical 999999999 2>&1)
check "tag of a missing pid says no such process" grep -q 'no such process' <<<"$out"
out=$(TRIAGE_RUN_DIR=/run/$ROOT-none "$CTL" status 2>&1)
check "status without an agent says it is not running" grep -q 'agent not running' <<<"$out"

# --- workloads started with triagectl run -----------------------------------
ITERS=$("$BUILD/bench/periodic" --calibrate --work-us 3000)
"$CTL" run --level best-effort --name hog -- taskset -c 0 "$BUILD/bench/hog" >/dev/null &
HOG=$!
"$CTL" run --level critical --name detector -- taskset -c 0 "$BUILD/bench/periodic" \
	--period-ms 10 --work-iters "$ITERS" >/dev/null &
CRIT=$!
if wait_for 5 in_cgroup $HOG "$ROOT/best-effort/hog" && wait_for 5 in_cgroup $CRIT "$ROOT/critical/detector"; then
	ok "triagectl run starts commands inside their workload cgroups"
else
	not_ok "triagectl run" "hog $HOG or critical $CRIT not in place"
fi

# --- the loop lowers the best-effort quota, never under the floor -----------
if wait_for 10 quota_cut; then
	q=$(quota_of best-effort)
	check "protection loop cut the best-effort quota (now $q cores), floor 0.1 kept" \
		awk -v q="$q" 'BEGIN { exit !(q >= 0.099) }'
else
	not_ok "protection loop cut the best-effort quota" "quota still $(quota_of best-effort); $(grep -c cut "$LOG") cuts logged"
fi
check "decisions are logged with -v" grep -q 'cut best-effort' "$LOG"

# The GPU as the start-up probe found it: the stand-in driver where it is
# built (TRIAGE_LIBCUDA, as every triage program reads it), else none.
if [ -e "$BUILD/fake-libcuda.so" ]; then
	check "status shows the GPU the driver describes: name, SMs, compute capability, integrated" \
		bash -c "'$CTL' status --json | jq -e '.gpu.driver == true and (.gpu.name | startswith(\"triage CPU fake\"))
			and .gpu.sms == 16 and .gpu.compute_capability == \"8.7\" and .gpu.integrated == true' >/dev/null"
	check "triagectl status prints it" bash -c "'$CTL' status | grep -q '^gpu: triage CPU fake.*16 SMs, integrated'"
else
	check "status says there is no GPU driver" bash -c \
		"'$CTL' status --json | jq -e '.gpu.driver == false and (.gpu.detail | length > 0)' >/dev/null"
fi

both_busy() { "$CTL" status --json | jq -e '[.levels[].workloads[] | select(.cpu_pct > 1)] | length == 2' >/dev/null; }
check "status --json lists both workloads with CPU use" wait_for 3 both_busy
check "status table names every level" bash -c \
	"'$CTL' status | grep -q '^critical' && '$CTL' status | grep -q '^best-effort'"
check "stats lists every CPU" bash -c \
	"[ \$('$CTL' stats --json | jq '.cpus | length') -eq $(nproc) ]"

# --- a workload made by hand is tagged within 100 ms ------------------------
first=$(cg_hierarchies | head -n 1)
t0=$(date +%s%N)
mkdir "$first/$ROOT/high/manual"
found=0
while [ $(($(date +%s%N) - t0)) -lt 2000000000 ]; do
	if "$CTL" status --json | jq -e '.levels[1].workloads[] | select(.name == "manual")' >/dev/null; then
		found=$((($(date +%s%N) - t0) / 1000000))
		break
	fi
	sleep 0.01
done
if [ "$found" -gt 0 ] && [ "$found" -le 100 ]; then ok "hand-made workload registered in ${found} ms"; else
	not_ok "hand-made workload registered within 100 ms" "took ${found} ms (0 = never)"
fi
mirrored=1
for h in $(cg_hierarchies); do [ -d "$h/$ROOT/high/manual" ] || mirrored=0; done
check "hand-made workload mirrored into every hierarchy" [ $mirrored -eq 1 ]
id=$("$CTL" status --json | jq '.levels[1].workloads[] | select(.name == "manual") | .id')
check "its cgroup id is in the BPF tag map" bash -c \
	"bpftool -j map dump pinned /sys/fs/bpf/$ROOT/cg_tags | jq -e '.[] | select(.formatted.value.wl_id == $id)' >/dev/null"

# --- kill -9: quota stays within the floor; a new agent adopts ---------------
q_before=$(quota_of best-effort)
kill -9 "$AGENT"
wait "$AGENT" 2>/dev/null
AGENT=
check "after kill -9 the quota stays at or above the floor ($q_before)" \
	awk -v q="$q_before" 'BEGIN { exit !(q == "max" || q >= 0.099) }'
check "after kill -9 the workloads stay in their cgroups" in_cgroup $HOG "$ROOT/best-effort/hog"
if start_agent && wait_for 3 grep -q 'adopting quota' "$LOG"; then ok "a new agent adopts the quota left in place"; else
	not_ok "a new agent adopts" "$(tail -5 "$LOG")"
fi
check "the new agent moved nothing" bash -c "$(declare -f in_cgroup cg_hierarchies); in_cgroup $HOG $ROOT/best-effort/hog && in_cgroup $CRIT $ROOT/critical/detector"

# --- SIGTERM restores every knob, processes stay ----------------------------
stop_agent TERM
rc=$?
check "SIGTERM: agent exits 0" [ $rc -eq 0 ]
check "SIGTERM: best-effort quota restored to unlimited" [ "$(quota_of best-effort)" = max ]
if [ "$(cg_mode)" = v2 ]; then
	check "SIGTERM: weights restored" [ "$(cat "/sys/fs/cgroup/$ROOT/critical/cpu.weight")" = 100 ]
else
	check "SIGTERM: shares restored" [ "$(cat "$(cg_dir_for cpu "$ROOT/critical")/cpu.shares")" = 1024 ]
fi
[ -e "$idle_file" ] && check "SIGTERM: cpu.idle restored" [ "$(cat "$idle_file")" = 0 ]
check "SIGTERM: processes stay in their cgroups" bash -c "kill -0 $HOG && kill -0 $CRIT && $(declare -f in_cgroup cg_hierarchies); in_cgroup $HOG $ROOT/best-effort/hog"
gone=1
for h in $(cg_hierarchies); do [ -e "$h/$ROOT/high/manual" ] && gone=0; done
check "SIGTERM: the empty workload triage created is removed" [ $gone -eq 1 ]
check "SIGTERM: pins removed" [ ! -e "/sys/fs/bpf/$ROOT" ]
check "SIGTERM: control socket removed" [ ! -e "$RUN/ctl.sock" ]

kill $HOG $CRIT 2>/dev/null
wait 2>/dev/null

# --- SIGTERM in the middle of start-up: taken by the loop, a clean exit --------------
# Sent as soon as the agent blocks SIGTERM (SigBlk in /proc/PID/status),
# which it does before it changes anything, while it still sets up levels
# and sensors (the loop's signalfd comes last).
: >"$LOG"
"$BUILD/triaged" --config "$CONF" -v >>"$LOG" 2>&1 &
AGENT=$!
term_blocked() { # SIGTERM is signal 15: bit 14 of the mask
	local m
	m=$(sed -n 's/^SigBlk:\t*//p' "/proc/$AGENT/status" 2>/dev/null)
	[ -n "$m" ] && (( (0x$m >> 14) & 1 ))
}
wait_for 10 term_blocked
kill -TERM "$AGENT"
wait "$AGENT"
rc=$?
AGENT=
check "SIGTERM during start-up: the agent restores and exits 0 (exit $rc; log: $(tail -n 2 "$LOG" | tr '\n' ' '))" \
	bash -c "[ $rc -eq 0 ] && grep -q 'Terminated: restoring and exiting' '$LOG' && grep -q 'every setting restored' '$LOG'"
check "SIGTERM during start-up: no control socket left" [ ! -e "$RUN/ctl.sock" ]
[ $T_FAILED -eq 0 ]
