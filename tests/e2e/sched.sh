#!/bin/bash
# End to end, as root, on this host's real cgroups: scheduling classes as a
# level's lever. Each class is set on every thread of a workload, also on a
# thread born later; sched.json journals the classes found; SIGTERM gives
# them back; after a kill -9 the next agent gives them back; a real-time
# workload that spins past its budget is demoted to SCHED_OTHER within a
# tick of the window showing it, held to its budget, and gets SCHED_FIFO
# back once it behaves.
set -u
. "$(dirname "$0")/../lib.sh"

require_root e2e-sched

ROOT=tgsched-$$
RUN=/run/$ROOT
CONF=$(mktemp)
PLAIN=$(mktemp)
LOG=$(mktemp)
AGENT=
PIDS=()
export TRIAGE_RUN_DIR=$RUN
CTL="$BUILD/triagectl"

cleanup() {
	{
		[ -n "$AGENT" ] && kill -9 "$AGENT"
		for p in "${PIDS[@]}"; do kill -9 "$p"; done
		for p in $(cg_procs_under "$ROOT"); do kill -9 "$p"; done
		wait
		cg_purge "$ROOT"
		rm -rf "/sys/fs/bpf/$ROOT" "$RUN" "$CONF" "$PLAIN" "$LOG"
	} 2>/dev/null
}
trap cleanup EXIT

# Every process in the workload cgroups under ROOT (the spinners' children).
cg_procs_under() {
	local h
	for h in $(cg_hierarchies); do
		[ -d "$h/$1" ] && find "$h/$1" -name cgroup.procs -exec cat {} + 2>/dev/null
	done | sort -u
}

start_agent() { # CONFIG
	local t0=$SECONDS
	"$BUILD/triaged" --config "$1" -v >>"$LOG" 2>&1 &
	AGENT=$!
	# An answer, not the socket file: a killed agent leaves its socket
	# behind, and a start that found that one went on before the new
	# agent listened (triagectl then met no agent).
	wait_for 20 "$CTL" status >/dev/null && return 0
	# Said, so that a slow or failed start is told from what follows it.
	echo "# triaged --config $1: no answer on its control socket after $((SECONDS - t0)) s (pid $AGENT $(kill -0 "$AGENT" 2>/dev/null && echo runs || echo gone)); its log ends:"
	tail -n 8 "$LOG" | sed 's/^/#   /'
	return 1
}
stop_agent() { # SIGNAL
	kill "-$1" "$AGENT"
	wait "$AGENT" 2>/dev/null
	AGENT=
}

# "POLICY PRIORITY NICE" of a thread, from /proc (policy as a number).
class_of() { # PID TID
	awk '{ sub(/.*\) /, ""); print $39, $38, $17 }' "/proc/$1/task/$2/stat" 2>/dev/null
}
# Every thread of PID has the class.
all_threads() { # PID "POLICY PRIORITY NICE"
	local t n=0
	for t in /proc/"$1"/task/*; do
		[ "$(class_of "$1" "${t##*/}")" = "$2" ] || return 1
		n=$((n + 1))
	done
	[ $n -gt 0 ]
}
nr_threads() { ls "/proc/$1/task" | wc -l; }

write_config "$PLAIN" "$ROOT"
# A fifth level for SCHED_IDLE; critical fifo at 15, high rr by rank (20 - 2).
jq '.levels[0].sched = {"policy": "fifo", "priority": 15, "budget_pct": 50}
    | .levels[1].sched = {"policy": "rr"}
    | .levels[3].sched = {"policy": "batch", "nice": 5, "uclamp_max": 512}
    | .levels += [{"name": "background", "rank": 5, "weight": 1, "sched": {"policy": "idle"}}]
    | .guard = {"window_ms": 500, "behave_ms": 1000}' "$PLAIN" >"$CONF"

# --- a bad class exits 2 naming the key ----------------------------------
jq '.levels[0].sched = {"policy": "fifo", "nice": 3}' "$PLAIN" >"$CONF.bad"
out=$("$BUILD/triaged" --config "$CONF.bad" --check-config 2>&1)
rc=$?
check "a nice value on a fifo level: exit 2 naming levels[0].sched.nice" \
	bash -c "[ $rc -eq 2 ] && grep -q 'levels\[0\].sched.nice: only other and batch levels have it' <<<'$out'"
rm -f "$CONF.bad"

if start_agent "$CONF"; then ok "agent starts with real-time levels"; else
	not_ok "agent starts" "$(tail -5 "$LOG")"
	exit 1
fi

# --- each class, on every thread, also a late one -------------------------
# Two threads now, a third 1.5 s later, then sleep.
"$CTL" run --level critical --name threads -- python3 -c '
import threading, time
def f(): time.sleep(60)
for _ in range(2): threading.Thread(target=f, daemon=True).start()
time.sleep(1.5)
threading.Thread(target=f, daemon=True).start()
time.sleep(60)' &
PIDS+=($!)
"$CTL" run --level high --name rr -- sleep 60 &
PIDS+=($!)
"$CTL" run --level best-effort --name batch -- sleep 60 &
PIDS+=($!)
"$CTL" run --level background --name idle -- sleep 60 &
PIDS+=($!)
CRIT=${PIDS[0]}
# triagectl run execs the command: the pid is the workload's process.
wait_for 5 bash -c "[ \$(ls /proc/$CRIT/task | wc -l) -ge 3 ]"
check "SCHED_FIFO 15 on every thread of a critical workload" wait_for 3 all_threads "$CRIT" "1 15 0"
check "SCHED_RR at the priority of rank 2 (18) on a high workload" wait_for 3 all_threads "${PIDS[1]}" "2 18 0"
check "SCHED_BATCH at nice 5 on a best-effort workload" wait_for 3 all_threads "${PIDS[2]}" "3 0 5"
check "SCHED_IDLE on a background workload" wait_for 3 all_threads "${PIDS[3]}" "5 0 0"
# uclamp_max 512 on the batch level: set where the kernel has utilization
# clamps (/proc/PID/sched shows them), else one warning and the class alone.
if grep -q '^uclamp' "/proc/self/sched" 2>/dev/null; then
	check "uclamp_max 512 on the batch workload's threads" wait_for 3 bash -c \
		"grep -q '^uclamp.max *: *512' /proc/${PIDS[2]}/sched"
else
	check "no uclamp in this kernel: one warning, the class set all the same" bash -c \
		"[ \$(grep -c 'no utilization clamps (CONFIG_UCLAMP_TASK)' '$LOG') -eq 1 ]"
fi
wait_for 5 bash -c "[ \$(ls /proc/$CRIT/task | wc -l) -ge 4 ]"
check "a thread born later is real time too" wait_for 3 all_threads "$CRIT" "1 15 0"
check "sched.json journals every thread with the class it had (SCHED_OTHER)" \
	jq -e --argjson p "$CRIT" '[.threads[] | select(.tgid == $p)] | length >= 4 and all(.policy == 0)' "$RUN/sched.json" >/dev/null

check "status shows each workload's class" bash -c "'$CTL' status --json | jq -e '
	[.levels[] | .workloads[] | {(.name): .class}] | add
	| .threads == \"SCHED_FIFO 15\" and .rr == \"SCHED_RR 18\" and .batch == \"SCHED_BATCH nice 5\" and .idle == \"SCHED_IDLE\"' >/dev/null"
check "triagectl status prints the class" bash -c "'$CTL' status | grep -q 'threads .*SCHED_FIFO 15'"

# --- SIGTERM gives every class back --------------------------------------
stop_agent TERM
back=1
for p in "${PIDS[@]}"; do all_threads "$p" "0 0 0" || back=0; done
check "SIGTERM gives every thread back SCHED_OTHER at nice 0" [ $back -eq 1 ]
check "the log says so" grep -q 'scheduling classes of [0-9]* threads given back' "$LOG"
check "sched.json is gone after a clean exit" [ ! -e "$RUN/sched.json" ]

# --- kill -9: the next agent gives them back -----------------------------
start_agent "$CONF"
wait_for 3 all_threads "$CRIT" "1 15 0"
stop_agent KILL
if [ -e /sys/module/triage ]; then
	check "triage.ko turned the killed agent's real-time threads back" wait_for 2 all_threads "$CRIT" "0 0 0"
else
	check "without triage.ko, a killed agent leaves them real time (the window the next agent closes)" \
		all_threads "$CRIT" "1 15 0"
fi
start_agent "$PLAIN"
check "the next agent (no classes configured) gives back what sched.json holds" \
	wait_for 3 all_threads "$CRIT" "0 0 0"
check "and logs it" grep -q 'gave back the scheduling classes of [0-9]* threads an earlier agent' "$LOG"
stop_agent TERM

# --- the runaway guard -----------------------------------------------------
start_agent "$CONF"
# Two hogs spin for 1.5 s (2 cores, over the budget of 50% of 2 CPUs), then
# the workload sleeps: it behaves.
"$CTL" run --level critical --name spin -- sh -c \
	"'$BUILD/bench/hog' --duration-s 1.5 >/dev/null & '$BUILD/bench/hog' --duration-s 1.5 >/dev/null & wait; exec sleep 60" &
SPIN=$!
PIDS+=($SPIN)
if wait_for 4 grep -q 'guard: critical/spin used .* demoted to SCHED_OTHER' "$LOG"; then
	ok "a real-time workload spinning over its budget is demoted"
else
	not_ok "runaway demoted" "$(grep -E 'guard|spin' "$LOG" | tail -3)"
fi
# "... used U cores over the last 0.5 s, over its budget of B: ..."
line=$(grep -o 'guard: critical/spin used [0-9.]* cores .* over its budget of [0-9.]*' "$LOG" | head -1)
used=$(awk '{ print $4 }' <<<"$line")
budget=$(awk '{ print $NF }' <<<"$line")
check "demoted when its window was over the budget, at most 2 cores (used ${used:-none}, budget ${budget:-none})" \
	awk -v u="${used:-0}" -v b="${budget:-9}" 'BEGIN { exit !(u > b && u <= 2.05) }'
check "demoted while it spins: the spinner's threads are SCHED_OTHER" \
	bash -c "for p in \$(cat '$(cg_dir_for cpu "$ROOT/critical/spin")/cgroup.procs'); do [ \"\$(awk '{ sub(/.*\\) /, \"\"); print \$39 }' /proc/\$p/stat)\" = 0 ] || exit 1; done"
if [ "$(cg_mode)" = v2 ]; then
	q=$(awk '{ printf "%.2f", $1 / $2 }' "/sys/fs/cgroup/$ROOT/critical/spin/cpu.max")
else
	d=$(cg_dir_for cpu "$ROOT/critical/spin")
	q=$(awk -v p="$(cat "$d/cpu.cfs_period_us")" '{ printf "%.2f", $1 / p }' "$d/cpu.cfs_quota_us")
fi
check "held to its budget: quota ${budget:-none} cores (${q})" [ "$q" = "${budget:-none}" ]
check "and confined to one CPU while demoted" grep -q "guard: $ROOT/critical/spin confined to CPUs [0-9]* (of " "$LOG"
check "status shows it demoted by the guard" bash -c "'$CTL' status --json | jq -e '
	.sched.demotions == 1 and ([.levels[0].workloads[] | select(.name == \"spin\")][0]
	| .guard.demoted and .class == \"SCHED_OTHER nice 0\")' >/dev/null"
if wait_for 6 grep -q 'guard: critical/spin stayed within its budget: SCHED_FIFO 15 again' "$LOG"; then
	ok "once it behaves for behave_ms it gets SCHED_FIFO back"
else
	not_ok "class back" "$(grep -E 'guard' "$LOG" | tail -3)"
fi
# What each thread of PID runs, for a failure's message.
classes() { # PID
	local t
	[ -d "/proc/$1" ] || { echo "pid $1 is gone"; return; }
	for t in /proc/"$1"/task/*; do echo -n "${t##*/}: $(class_of "$1" "${t##*/}"); "; done
	echo "comm $(cat "/proc/$1/comm")"
}
if wait_for 2 all_threads "$SPIN" "1 15 0"; then
	ok "and the workload's process is SCHED_FIFO 15 again"
else
	not_ok "class back on the process" "$(classes "$SPIN"); $(grep -E 'guard|spin' "$LOG" | tail -4)"
fi
check "its CPUs are given back with its class" bash -c \
	"[ \"\$(cat '$(cg_dir_for cpuset "$ROOT/critical/spin")/cpuset.cpus')\" = \"\$(cat '$(cg_dir_for cpuset "$ROOT/critical")/cpuset.cpus')\" ]"
stop_agent TERM
if all_threads "$SPIN" "0 0 0"; then ok "after exit the spinner's workload is SCHED_OTHER"; else
	not_ok "spinner back to SCHED_OTHER" "$(classes "$SPIN"); $(tail -3 "$LOG")"
fi

# --- SCHED_DEADLINE for a client at a known rate ---------------------------
# Planner off: no plan narrows the client's CPUs (the kernel admits a
# deadline thread only with every CPU).
jq '.levels[0].sched = {"policy": "deadline", "priority": 15} | .planner = {"enabled": false}' \
	"$PLAIN" >"$CONF.dl"
start_agent "$CONF.dl"
"$BUILD/triage-run" --model mobilenetv2 --level critical --name dl --rate 10 --duration 20 >/dev/null 2>&1 &
DL=$!
PIDS+=($DL)
"$CTL" run --level critical --name plain -- sleep 60 &
PIDS+=($!)
line=$(wait_for 10 grep -q 'critical/dl: SCHED_DEADLINE' "$LOG" && grep -o 'critical/dl: SCHED_DEADLINE, [0-9.]* ms every [0-9.]* ms' "$LOG" | head -1)
runtime=$(awk '{ print $3 }' <<<"$line")
check "a client at 10/s gets SCHED_DEADLINE every 100 ms, runtime under 90 ms (${runtime:-none} ms)" \
	awk -v r="${runtime:-0}" -v l="$line" 'BEGIN { exit !(l ~ /every 100.0 ms/ && r > 0 && r <= 90) }'
dl_threads() { # PID: every thread SCHED_DEADLINE (policy 6)
	local t n=0
	for t in /proc/"$1"/task/*; do
		[ "$(awk '{ sub(/.*\) /, ""); print $39 }' "$t/stat")" = 6 ] || return 1
		n=$((n + 1))
	done
	[ $n -gt 1 ]
}
check "every thread of the client is SCHED_DEADLINE" wait_for 3 dl_threads "$DL"
check "an unmodified process of the level runs its SCHED_FIFO 15 fallback" \
	wait_for 3 all_threads "${PIDS[-1]}" "1 15 0"
check "status shows the deadline class" bash -c "'$CTL' status --json | jq -e '
	[.levels[0].workloads[] | select(.name == \"dl\")][0].class | startswith(\"SCHED_DEADLINE \")' >/dev/null"
stop_agent TERM
check "after exit the client's threads are SCHED_OTHER" all_threads "$DL" "0 0 0"
rm -f "$CONF.dl"
exit $((T_FAILED > 0))
