#!/bin/bash
# triaged and the GPU launch gate together, as root, on the stand-in
# driver: the agent makes the board with its levels (status, doctor);
# `triagectl run --gpu-gate` finds the gate library before it tags
# anything, preloads it (keeping the user's LD_PRELOAD) and names the
# workload, level and role; MPS's variables come with the tag reply where
# a control socket exists, and the user's own win; a gated best-effort
# program starts at its level's floor and its gate holds by it while a
# gated critical one has kernels in flight; status and stats show both
# slots and their counters (and the pinned map gpu_stats); after kill -9 the next agent adopts the
# board; a clean stop publishes agent_pid 0, empties the shares and keeps
# the board and its slots.
#   bash tests/e2e/gate-agent.sh BUILD_DIR
set -u
. "$(dirname "$0")/../lib.sh"

require_root gate-agent
GATE=$BUILD/libtriage-gate.so
APP=$BUILD/gate-app
FAKE=$BUILD/fake-libcuda.so
for f in "$GATE" "$APP" "$FAKE"; do
	if [ ! -e "$f" ]; then
		skip gate-agent "$f not built (no CUDA toolkit)"
		exit 0
	fi
done
GATE=$(realpath "$GATE")
ROOT=tggt-$$
RUN=/run/$ROOT
PIN=/sys/fs/bpf/$ROOT
TMP=$(mktemp -d)
CTL="$BUILD/triagectl"
FLOOR=200
AGENT=
PIDS=()
cleanup() {
	{
		[ ${#PIDS[@]} -eq 0 ] || kill -9 "${PIDS[@]}"
		[ -n "$AGENT" ] && kill -TERM "$AGENT" && wait "$AGENT"
		cg_purge "$ROOT"
		rm -rf "$PIN" "$RUN" "$TMP"
		wait
	} 2>/dev/null
}
trap cleanup EXIT
mkdir -p "$TMP/lib" "$TMP/mps"
# Programs dlopen libcuda.so.1: the stand-in under that name.
ln -s "$(realpath "$FAKE")" "$TMP/lib/libcuda.so.1"
export TRIAGE_RUN_DIR=$RUN TRIAGE_LIBCUDA=$TMP/lib/libcuda.so.1 LD_LIBRARY_PATH=$TMP/lib
unset TRIAGE_GATE_LIB CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_CLIENT_PRIORITY CUDA_MPS_ACTIVE_THREAD_PERCENTAGE
# An MPS control daemon as the agent sees one: a socket named control.
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$TMP/mps/control"

write_config "$TMP/base.json" "$ROOT"
# No planner; calm_ticks high, so a share stays where it starts.
jq --argjson floor $FLOOR --arg mps "$TMP/mps" '.planner = {"enabled": false}
	| .mps_pipe_dir = $mps | .protection.calm_ticks = 1000
	| (.levels[] | select(.name == "best-effort")) += {"gpu_floor_permille": $floor,
	                                                   "mps_thread_percent": 50}' \
	"$TMP/base.json" >"$TMP/conf.json"

start_agent() {
	"$BUILD/triaged" --config "$TMP/conf.json" -v >>"$TMP/agent.log" 2>&1 &
	AGENT=$!
	wait_for 20 "$CTL" status >/dev/null
}
status() { "$CTL" status --json; }
# The board header's agent_pid (include/triage/gate.h: the sixth u32).
board_agent_pid() {
	python3 -c 'import struct, sys; print(struct.unpack_from("<i", open(sys.argv[1], "rb").read(), 20)[0])' \
		"$RUN/gpu-board"
}
# The entries of the gpu-shares file (include/triage/gpu.h: nr at 12).
shares_in_file() {
	python3 -c 'import struct, sys; print(struct.unpack_from("<I", open(sys.argv[1], "rb").read(), 12)[0])' \
		"$RUN/gpu-shares"
}

if ! start_agent; then
	not_ok "gate-agent: the agent starts" "$(tail -n 3 "$TMP/agent.log" | tr '\n' ' ')"
	exit 1
fi

# --- the board -----------------------------------------------------------------
if status | jq -e --arg b "$RUN/gpu-board" '.gpu.gpud.board.on and .gpu.gpud.board.path == $b
		and .gpu.gpud.board.gated == 0' >/dev/null &&
	[ "$(board_agent_pid)" = "$AGENT" ] &&
	"$BUILD/triaged" --config "$TMP/conf.json" --doctor >"$TMP/doctor" 2>&1 &&
	grep -q "^gpu gate .*yes .*libtriage-gate.so at .*agent pid $AGENT, 0 gated" "$TMP/doctor" &&
	grep -q "^mps .*yes .*control daemon on $TMP/mps/control" "$TMP/doctor"; then
	ok "gate-agent: the agent makes the board with its pid; --doctor shows the library, the board and MPS"
else
	not_ok "gate-agent: board and doctor" "$(status | jq -c .gpu.gpud.board) pid $(board_agent_pid); $(grep -e '^gpu gate' -e '^mps' "$TMP/doctor" | tr '\n' ';')"
fi

# --- what triagectl run sets ------------------------------------------------------
LIBM=$(ldconfig -p | awk '/libm\.so\.6 /{ print $NF; exit }')
show_env='echo "$LD_PRELOAD|$TRIAGE_GATE_NAME|$TRIAGE_GATE_LEVEL|$TRIAGE_GATE_ROLE|$CUDA_MPS_PIPE_DIRECTORY|$CUDA_MPS_CLIENT_PRIORITY|$CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"'
got=$(LD_PRELOAD=$LIBM "$CTL" run --gpu-gate --level best-effort --name envbg -- sh -c "$show_env" 2>"$TMP/err")
want="$GATE:$LIBM|envbg|best-effort|best-effort|$TMP/mps|1|50"
if [ "$got" = "$want" ] && [ ! -s "$TMP/err" ]; then
	ok "gate-agent: run --gpu-gate preloads the gate before the user's library, names workload, level and role, and sets MPS's variables"
else
	not_ok "gate-agent: run --gpu-gate environment" "got \"$got\", want \"$want\"; $(head -c 300 "$TMP/err")"
fi
got=$(CUDA_MPS_CLIENT_PRIORITY=1 "$CTL" run --level critical --name envfg -- sh -c "$show_env" 2>"$TMP/err")
if [ "$got" = "||||$TMP/mps|1|" ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
	grep -q "keeping CUDA_MPS_CLIENT_PRIORITY=1" "$TMP/err"; then
	ok "gate-agent: without --gpu-gate nothing is preloaded; the user's MPS priority wins, said in one line"
else
	not_ok "gate-agent: run without the gate" "got \"$got\"; $(head -c 300 "$TMP/err")"
fi
TRIAGE_GATE_LIB=$TMP/none "$CTL" run --gpu-gate --level best-effort --name nolib -- true 2>"$TMP/err"
rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q "$TMP/none" "$TMP/err" &&
	status | jq -e '[.levels[].workloads[] | select(.name == "nolib")] | length == 0' >/dev/null; then
	ok "gate-agent: without the library run --gpu-gate exits 1 naming where it looked, and tags nothing"
else
	not_ok "gate-agent: no library" "exit $rc; $(head -c 300 "$TMP/err")"
fi

# --- gated programs ------------------------------------------------------------------
# A critical program always in flight, and a best-effort one beside it.
"$CTL" run --gpu-gate --level critical --name det -- "$APP" --kernel-us 20000 --burst 10 --gap-us 5000 \
	--seconds 60 >"$TMP/det.log" 2>&1 &
PIDS+=($!)
"$CTL" run --gpu-gate --level best-effort --name bg -- "$APP" --kernel-us 1000 --seconds 60 \
	>"$TMP/bg.log" 2>&1 &
PIDS+=($!)
two_slots() {
	status | jq -e --argjson f $FLOOR '.gpu.gpud.board.gated == 2
		and ([.gpu.gpud.gate[] | select(.live) | "\(.name)/\(.level)/\(.role)"] | sort)
		    == ["bg/best-effort/best-effort", "det/critical/critical"]
		and ([.gpu.gpud.shares[] | select(.name == "bg" and .permille == $f and .gated)] | length) == 1
		and ([.gpu.gpud.gate[] | select(.name == "bg" and .share_permille == $f and .held > 0)] | length) == 1' \
		>/dev/null
}
if wait_for 20 two_slots; then
	ok "gate-agent: both gated programs are on the board; the best-effort one starts at its floor ($FLOOR) and its gate holds by it"
else
	not_ok "gate-agent: gated programs" "$(status | jq -c '.gpu.gpud | {board, shares, gate: [.gate[] | {name, level, role, live, share_permille, held}]}')"
fi

out=$("$CTL" status)
if grep -q "^gate board: $RUN/gpu-board, 2 gated processes" <<<"$out" &&
	[ "$(grep -c '^  gpu gate ' <<<"$out")" -eq 2 ]; then
	ok "gate-agent: triagectl status shows the board and a gpu gate line per gated process"
else
	not_ok "gate-agent: triagectl status" "$(grep gate <<<"$out" | tr '\n' ';')"
fi

counted() {
	"$CTL" stats --json | jq -e '
		([.gpu[] | select(.name == "bg" and .level == "best-effort" and .gated == 1
		                  and .launches > 0 and .queued_ns > 0)] | length) == 1
		and ([.gpu[] | select(.name == "det" and .level == "critical" and .gated == 1
		                      and .requests > 0 and .busy_ns > 0)] | length) == 1' >/dev/null
}
if wait_for 10 counted; then
	ok "gate-agent: stats counts each gated workload: launches, held time as queued_ns, bursts as requests"
else
	not_ok "gate-agent: stats" "$("$CTL" stats --json | jq -c .gpu)"
fi

# The pinned map, where the sensors are the BPF ones: bg's held time and det's bursts.
pinned() {
	bpftool map dump pinned "$PIN/gpu_stats" -j 2>/dev/null >"$TMP/gpu_stats.json" &&
		jq -e '[.[] | .formatted.value // .value] as $v
			| ([$v[] | select(.level == 1 and .launches > 0 and .queued_ns > 0 and .stages == 0)] | length) == 1
			and ([$v[] | select(.level == 0 and .requests > 0 and .busy_ns > 0)] | length) == 1' \
			"$TMP/gpu_stats.json" >/dev/null
}
if ! command -v bpftool >/dev/null; then
	skip "gate-agent: gpu_stats" "no bpftool"
elif [ "$(status | jq -r .sensors)" != bpf ]; then
	skip "gate-agent: gpu_stats" "the agent runs $(status | jq -r .sensors) sensors, gpu_stats needs the BPF ones"
elif wait_for 10 pinned; then
	ok "gate-agent: bpftool map dump pinned gpu_stats has both gated workloads"
else
	not_ok "gate-agent: gpu_stats" "$(head -c 600 "$TMP/gpu_stats.json")"
fi

# --- kill -9, adoption, clean stop ----------------------------------------------------
kill -9 "$AGENT"
wait "$AGENT" 2>/dev/null
AGENT=
if start_agent && wait_for 10 grep -q 'GPU launch gate: board .*, 2 gated processes adopted' "$TMP/agent.log" &&
	[ "$(board_agent_pid)" = "$AGENT" ] && wait_for 10 two_slots; then
	ok "gate-agent: after kill -9 the next agent adopts the board and both slots"
else
	not_ok "gate-agent: adoption" "$(grep 'launch gate' "$TMP/agent.log" | tail -n 2 | tr '\n' ' ')"
fi
kill -TERM "$AGENT"
wait "$AGENT"
rc=$?
AGENT=
if [ ! -x "$BUILD/gate-board" ]; then
	skip "gate-agent: clean stop" "gate-board not built"
elif [ $rc -eq 0 ] && [ "$(board_agent_pid)" = 0 ] && [ "$(shares_in_file)" = 0 ] &&
	[ "$("$BUILD/gate-board" show "$RUN/gpu-board" | grep -c 'live 1')" -eq 2 ]; then
	ok "gate-agent: a clean stop publishes agent_pid 0, empties the shares and keeps the board and its slots"
else
	not_ok "gate-agent: clean stop" "exit $rc, agent_pid $(board_agent_pid), $(shares_in_file) shares"
fi
exit $((T_FAILED > 0))
