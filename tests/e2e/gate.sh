#!/bin/bash
# The launch gate (build/libtriage-gate.so, LD_PRELOAD) end to end on the
# stand-in driver: a driver-API program (build/gate-app) reaches every
# hooked launch entry point through dlsym, cuGetProcAddress_v2 and
# cuGetProcAddress, and by being linked against the driver; a best-effort
# program is held while a critical one has kernels in flight and goes on
# at once when it has none; the hold never passes the floor, nor the share
# in gpu-shares; a critical program killed with -9 with a kernel in
# flight holds nobody; without a board, with a board of another ABI, or
# outside any level the gate passes every launch through with one stderr
# line; a clean stop of the agent (agent_pid 0) ends the holds. The board
# is made by hand (build/gate-board), as the agent would. No root needed.
#   bash tests/e2e/gate.sh BUILD_DIR
set -u
. "$(dirname "$0")/../lib.sh"

GATE=$BUILD/libtriage-gate.so
APP=$BUILD/gate-app
BOARD=$BUILD/gate-board
FAKE=$BUILD/fake-libcuda.so
for f in "$GATE" "$APP" "$BUILD/gate-app-linked" "$BOARD" "$FAKE"; do
	if [ ! -e "$f" ]; then
		skip gate "$f not built (no CUDA toolkit)"
		exit 0
	fi
done
GATE=$(realpath "$GATE")
TMP=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$TMP/lib" "$TMP/run"
# The program dlopens libcuda.so.1: the stand-in under that name.
ln -s "$(realpath "$FAKE")" "$TMP/lib/libcuda.so.1"
export TRIAGE_RUN_DIR=$TMP/run TRIAGE_LIBCUDA=$TMP/lib/libcuda.so.1 LD_LIBRARY_PATH=$TMP/lib
B=$TMP/run/gpu-board

# The board as a running agent makes it: this shell stands for the agent.
new_board() { # [--agent-pid PID]
	rm -f "$B"
	"$BOARD" create "$B" "$@" critical:critical:0 best-effort:best-effort:100
}

# field NAME KEY: KEY's value on the board line of workload NAME.
field() {
	"$BOARD" show "$B" | awk -v n="$1" -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == "name" && $(i + 1) == n) for (j = 1; j < NF; j++) if ($j == k) print $(j + 1) }' | tail -n 1
}

field_is() { # NAME KEY VALUE
	[ "$(field "$1" "$2")" = "$3" ]
}

# app NAME LEVEL ARGS...: gate-app under the gate as workload NAME of LEVEL.
app() {
	local name=$1 level=$2
	shift 2
	TRIAGE_GATE_NAME=$name TRIAGE_GATE_LEVEL=$level LD_PRELOAD=$GATE "$APP" "$@"
}

# ---- every entry point, every way of finding it ------------------------------
new_board --agent-pid $$
ENTRIES="cuLaunchKernel cuLaunchKernel_ptsz cuLaunchKernelEx cuLaunchKernelEx_ptsz
	cuLaunchCooperativeKernel cuLaunchCooperativeKernel_ptsz cuGraphLaunch cuGraphLaunch_ptsz"
for resolve in dlsym getproc getproc1 linked; do
	missed=""
	for e in $ENTRIES; do
		name=$resolve-${e#cu}
		name=${name:0:31}
		if [ "$resolve" = linked ]; then
			TRIAGE_GATE_NAME=$name TRIAGE_GATE_LEVEL=critical LD_PRELOAD=$GATE \
				"$BUILD/gate-app-linked" --resolve linked --entry "$e" --kernel-us 200 \
				--launches 6 --burst 3 >/dev/null 2>"$TMP/err" || missed="$missed $e(exit)"
		else
			app "$name" critical --resolve "$resolve" --entry "$e" --kernel-us 200 --launches 6 \
				--burst 3 >/dev/null 2>"$TMP/err" || missed="$missed $e(exit)"
		fi
		[ "$(field "$name" launches)" = 6 ] || missed="$missed $e(board: $(field "$name" launches))"
		[ -s "$TMP/err" ] && missed="$missed $e(stderr: $(head -c 200 "$TMP/err"))"
	done
	if [ -z "$missed" ]; then
		ok "gate: the 8 launch entry points reached through $resolve are gated and counted"
	else
		not_ok "gate: entry points through $resolve" "not seen:$missed"
	fi
done

# A thread's own default stream (stream 0 through a _ptsz entry point): its
# work is tracked on that stream, in flight until the stream has run it.
new_board --agent-pid $$
app pt critical --entry cuLaunchKernel_ptsz --default-stream --kernel-us 200000 --launches 3 \
	--burst 3 >/dev/null 2>"$TMP/err" &
PIDS+=($!)
wait_for 5 field_is pt inflight 3
seen=$(field pt inflight)
wait "${PIDS[-1]}"
if [ "$seen" = 3 ] && [ "$(field pt launches)" = 3 ] && [ "$(field pt bursts)" = 1 ] &&
	[ "$(field pt busy_ns)" -gt 500000000 ] && [ ! -s "$TMP/err" ]; then
	ok "gate: work on a thread's own default stream is in flight until it ran ($(($(field pt busy_ns) / 1000000)) ms of GPU time for 3 kernels of 200 ms)"
else
	not_ok "gate: per-thread default stream" "in flight $seen, $("$BOARD" show "$B" | grep 'name pt'); $(head -c 200 "$TMP/err")"
fi

# A child forked while the parent has work in flight (a data loader worker,
# no CUDA of its own) exits without touching the parent's slot.
new_board --agent-pid $$
TRIAGE_GATE_NAME=par TRIAGE_GATE_LEVEL=critical LD_PRELOAD=$GATE "$APP" --kernel-us 1500000 \
	--launches 1 --fork-child-ms 300 >/dev/null 2>"$TMP/err" &
par=$!
PIDS+=($par)
wait_for 5 field_is par inflight 1
sleep 0.6 # the child has come and gone (300 ms)
pid_after=$(field par pid)
inflight_after=$(field par inflight)
slots=$("$BOARD" show "$B" | grep -c '^slot ')
wait $par
if [ "$pid_after" = "$par" ] && [ "$inflight_after" = 1 ] && [ "$slots" = 1 ] && [ ! -s "$TMP/err" ]; then
	ok "gate: a forked child that exits leaves its parent's slot and work in flight as they were"
else
	not_ok "gate: fork" "slot pid $pid_after (parent $par), in flight $inflight_after, $slots slots; $(head -c 200 "$TMP/err")"
fi

# Launches into a stream capture run nothing: neither tracked nor held.
new_board --agent-pid $$
FAKE_CUDA_CAPTURING=1 app cap critical --kernel-us 200 --launches 6 --burst 3 >/dev/null 2>"$TMP/err"
if [ "$(field cap launches)" = "" ] || [ "$(field cap launches)" = 0 ]; then
	ok "gate: launches into a stream capture are neither counted nor tracked as work in flight"
else
	not_ok "gate: stream capture" "counted $(field cap launches) launches"
fi

# ---- holds -----------------------------------------------------------------
# alone: what the best-effort program does in 1.5 s without a critical one.
alone=$(app bg best-effort --kernel-us 1000 --seconds 1.5 | awk '{print $2}')
if [ "$(field bg held)" = 0 ] && [ "${alone:-0}" -gt 300 ]; then
	ok "gate: a best-effort program alone is never held ($alone launches in 1.5 s)"
else
	not_ok "gate: best-effort alone" "held $(field bg held), $alone launches"
fi

# A critical program in bursts (4 kernels of 20 ms, then 60 ms idle): the
# best-effort one is held while the bursts are in flight, runs between.
# (A fresh board for each case: a workload's line is then its last run's.)
new_board --agent-pid $$
app det critical --kernel-us 20000 --burst 4 --gap-us 60000 --seconds 2.5 >"$TMP/det" &
PIDS+=($!)
sleep 0.3
beside=$(app bg best-effort --kernel-us 1000 --seconds 1.5 | awk '{print $2}')
wait "${PIDS[-1]}"
held=$(field bg held)
held_ns=$(field bg held_ns)
# Bursts take 80 of every ~140 ms: held about half the time, far from all.
if [ "${held:-0}" -gt 0 ] && [ "${held_ns:-0}" -gt 300000000 ] && [ "${held_ns:-0}" -lt 1200000000 ] &&
	[ "${beside:-0}" -gt $((alone / 5)) ] && [ "${beside:-0}" -lt $((alone * 9 / 10)) ]; then
	ok "gate: best-effort held while critical kernels are in flight ($held holds, $((held_ns / 1000000)) ms of 1500; $beside launches against $alone alone)"
else
	not_ok "gate: hold while critical in flight" "held $held for ${held_ns} ns, $beside launches against $alone alone"
fi
bursts=$(field det bursts)
if [ "${bursts:-0}" -ge 10 ] && [ "$(field det busy_ns)" -gt 500000000 ] && [ "$(field det held)" = 0 ]; then
	ok "gate: the critical program is never held; its bursts ($bursts) and GPU time are counted"
else
	not_ok "gate: critical counters" "$("$BOARD" show "$B" | grep 'name det')"
fi

# The floor: a critical program always in flight; best-effort still gets
# its floor (100 per mille of each 100 ms window), then the share.
for share in floor 400; do
	new_board --agent-pid $$
	[ "$share" = 400 ] && "$BOARD" shares "$TMP/run/gpu-shares" bg=400
	app det critical --kernel-us 20000 --burst 100 --seconds 2.5 >/dev/null &
	PIDS+=($!)
	sleep 0.3
	got=$(app bg best-effort --kernel-us 1000 --seconds 1.5 | awk '{print $2}')
	wait "${PIDS[-1]}"
	held_ns=$(field bg held_ns)
	want=$([ "$share" = floor ] && echo 100 || echo 400)
	# held at most (1000 - share) per mille of the time, and about that much.
	max_ns=$((1500000000 * (1000 - want) / 1000 + 100000000))
	min_ns=$((1500000000 * (1000 - want) / 1000 - 300000000))
	if [ "${held_ns:-0}" -le "$max_ns" ] && [ "${held_ns:-0}" -ge "$min_ns" ] &&
		[ "${got:-0}" -ge $((alone * want / 1000 / 2)) ] && [ "$(field bg share)" = "$want" ]; then
		ok "gate: under critical work without end best-effort keeps its $share ($want per mille): held $((held_ns / 1000000)) ms of 1500, $got launches"
	else
		not_ok "gate: $share under endless critical work" "held $held_ns ns (want $min_ns..$max_ns), $got launches, share $(field bg share)"
	fi
done
rm -f "$TMP/run/gpu-shares"

# ---- a critical program that crashes holds nobody ---------------------------------
new_board --agent-pid $$
# Started directly, not through app(): $! must be the program itself.
TRIAGE_GATE_NAME=det TRIAGE_GATE_LEVEL=critical LD_PRELOAD=$GATE "$APP" --kernel-us 5000000 \
	--launches 1 >/dev/null &
crit=$!
PIDS+=($crit)
wait_for 5 field_is det inflight 1
kill -9 $crit
wait $crit 2>/dev/null
app bg best-effort --kernel-us 1000 --seconds 0.5 >/dev/null
if [ "$(field det inflight)" = 1 ] && [ "$(field bg held)" = 0 ]; then
	ok "gate: a critical program killed with -9 with a kernel in flight holds nobody (its slot shows 1 in flight, no longer live)"
else
	not_ok "gate: crash of the critical program" "det inflight $(field det inflight), bg held $(field bg held)"
fi

# ---- the agent stopped cleanly: no holds ----------------------------------------
new_board
app det critical --kernel-us 20000 --burst 100 --seconds 1.5 >/dev/null &
PIDS+=($!)
sleep 0.3
app bg best-effort --kernel-us 1000 --seconds 0.5 >/dev/null
wait "${PIDS[-1]}"
if [ "$(field bg held)" = 0 ] && [ "$(field bg share)" = 1000 ]; then
	ok "gate: with the agent stopped (agent_pid 0) best-effort runs unheld"
else
	not_ok "gate: agent stopped" "held $(field bg held), share $(field bg share)"
fi

# ---- passing through, with one line -----------------------------------------
through() { # NAME EXPECTED_WORDS ENV...
	local name=$1 words=$2
	shift 2
	env "$@" LD_PRELOAD="$GATE" "$APP" --kernel-us 100 --launches 3 >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	if [ $rc = 0 ] && grep -q '^launches 3 ' "$TMP/out" && [ "$(wc -l <"$TMP/err")" = 1 ] &&
		grep -q "passing every launch through" "$TMP/err" && grep -q "$words" "$TMP/err"; then
		ok "gate: $name: every launch passes, one line: $(cat "$TMP/err")"
	else
		not_ok "gate: $name" "exit $rc, stderr: $(head -c 300 "$TMP/err")"
	fi
}
new_board --agent-pid $$
through "no board" "no board at" TRIAGE_GATE_BOARD="$TMP/none"
"$BOARD" create "$TMP/other" --abi 7 critical:critical:0
through "a board of another ABI" "ABI 7" TRIAGE_GATE_BOARD="$TMP/other"
through "a process in no level" "in no level" TRIAGE_GATE_NAME=x
through "a bad role" "expected critical or best-effort" TRIAGE_GATE_ROLE=boss

exit $((T_FAILED > 0))
