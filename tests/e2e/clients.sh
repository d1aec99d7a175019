#!/bin/bash
# DNN clients end to end, as root, on this host's real cgroups: triage-run
# without an agent runs unmanaged and says so once; under triaged it is
# taken on (its workload cgroup, its model planned), runs the agent's
# assignment with its stage threads pinned to the assigned CPUs and
# reports throughput back; a client killed with -9 is forgotten and its
# file removed; bad usage exits 2 naming what is wrong.
set -u
. "$(dirname "$0")/../lib.sh"

require_root clients

SRC=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=tgcl-$$
RUN=/run/$ROOT
TMP=$(mktemp -d)
AGENT=
PIDS=()
export TRIAGE_RUN_DIR=$RUN
export TRIAGE_MODELS=$SRC/models/zoo
CTL="$BUILD/triagectl"
RUNNER="$BUILD/triage-run"

cleanup() {
	{
		[ ${#PIDS[@]} -eq 0 ] || kill -9 "${PIDS[@]}" 2>/dev/null
		[ -n "$AGENT" ] && kill -TERM "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
		cg_purge "$ROOT"
		rm -rf "/sys/fs/bpf/$ROOT" "$RUN" "$TMP"
		wait
	} 2>/dev/null
}
trap cleanup EXIT

# --- usage errors: exit 2, one line naming the culprit ---------------------------
"$RUNNER" --model resnet19 --duration 1 >"$TMP/out" 2>&1
rc=$?
check "unknown model: exit 2, names it and the models there are" bash -c \
	"[ $rc -eq 2 ] && grep -q 'resnet19' '$TMP/out' && grep -q 'resnet18' '$TMP/out'"
"$RUNNER" --model squeezenet11 --stages 0-3/4-999 --duration 1 >"$TMP/out" 2>&1
rc=$?
check "bad stage spec: exit 2, says --stages" bash -c "[ $rc -eq 2 ] && grep -q -- '--stages' '$TMP/out'"
"$RUNNER" --model squeezenet11 --rate -3 >"$TMP/out" 2>&1
rc=$?
check "bad rate: exit 2" bash -c "[ $rc -eq 2 ] && grep -q -- '--rate' '$TMP/out'"

# --- without an agent: unmanaged, said once ---------------------------------------
TRIAGE_RUN_DIR=$TMP/none "$RUNNER" --model squeezenet11 --duration 2 --json "$TMP/alone.json" \
	>"$TMP/alone.out" 2>"$TMP/alone.err"
rc=$?
if [ $rc -eq 0 ] && [ "$(grep -c unmanaged "$TMP/alone.err")" -eq 1 ] &&
	jq -e '.inferences > 0 and .throughput > 0 and .latency_p99_ms >= .latency_p50_ms and .managed == false' \
		"$TMP/alone.json" >/dev/null; then
	ok "no agent: runs unmanaged, one line says so, reports throughput and p50/p99"
else
	not_ok "unmanaged run" "rc=$rc err: $(cat "$TMP/alone.err") json: $(cat "$TMP/alone.json" 2>/dev/null)"
fi

# --- --profile: a measured profile the agent then plans on --------------------------
mkdir -p "$TMP/measured"
"$RUNNER" --profile --output "$TMP/measured/host.json" >"$TMP/profile.out" 2>&1
rc=$?
write_config "$TMP/prof-base.json" "$ROOT"
jq --arg models "$SRC/models/zoo" --arg platforms "$TMP/measured" '
	.planner = {"platform": "auto", "models_dir": $models, "platforms_dir": $platforms}' \
	"$TMP/prof-base.json" >"$TMP/prof.json"
out=$("$BUILD/triaged" --config "$TMP/prof.json" --doctor 2>&1)
if [ $rc -eq 0 ] && jq -e '.measured == true and (.units | length) >= 1 and .units[0].gflops.conv > 0' \
	"$TMP/measured/host.json" >/dev/null && grep -q 'platform host (measured profile)' <<<"$out"; then
	ok "--profile writes a measured host profile the agent plans on"
else
	not_ok "--profile" "rc=$rc: $(tail -3 "$TMP/profile.out"); doctor: $(grep planner <<<"$out")"
fi

# --- under the agent ---------------------------------------------------------------
# A profile of two one-core units on this machine's CPUs (when it has two,
# platform_unit_cpus() gives each unit one CPU): stages get pinned for real.
mkdir -p "$TMP/platforms"
ncpu=$(nproc)
jq --argjson n "$ncpu" '.name = "duo" | .measured = true |
	.units = [(.units[0] | .name = "a" | .cores = ([1, ($n / 2 | floor)] | max)),
	          (.units[0] | .name = "b" | .cores = ([1, ($n - ($n / 2 | floor))] | max))] |
	.transfers = {"a": {"b": {"gbps": 5, "us": 10}}, "b": {"a": {"gbps": 5, "us": 10}}}' \
	"$SRC/models/platforms/host.json" >"$TMP/platforms/duo.json"
# A runqueue-wait target of 1 us: on waits alone the protection loop would
# cut the best-effort level at once; a critical client is judged on its
# latency instead.
write_config "$TMP/base.json" "$ROOT" 1
jq --arg models "$SRC/models/zoo" --arg platforms "$TMP/platforms" '
	.planner = {"platform": "duo", "models_dir": $models, "platforms_dir": $platforms,
	            "replan_ms": 600000}' "$TMP/base.json" >"$TMP/conf.json"
"$BUILD/triaged" --config "$TMP/conf.json" -v -q >"$TMP/log" 2>&1 &
AGENT=$!
if ! wait_for 10 test -S "$RUN/ctl.sock"; then
	not_ok "agent starts" "$(tail -5 "$TMP/log")"
	exit 1
fi

"$RUNNER" --model squeezenet11 --level best-effort --name squeeze --duration 8 \
	--json "$TMP/managed.json" >"$TMP/managed.out" 2>"$TMP/managed.err" &
CLIENT=$!
PIDS+=("$CLIENT")
client_of() { "$CTL" status --json | jq -e '.levels[] | select(.name == "best-effort") | .workloads[] | select(.name == "squeeze") | .client'; }
applied() { client_of | jq -e '.applied == true and (.stages | length) >= 1 and .inferences > 0' >/dev/null; }
check "the client's file appears under $RUN/clients" wait_for 3 test -e "$RUN/clients/$CLIENT"
check "the agent takes it on in its workload cgroup" wait_for 3 in_cgroup "$CLIENT" "$ROOT/best-effort/squeeze"
check "the planner plans it and it runs the assignment" wait_for 5 applied
check "the agent logs the take-on" grep -q "client pid $CLIENT taken on: best-effort/squeeze, model squeezenet11" "$TMP/log"

# Every thread of every stage runs on the CPUs of its stage.
expand_list() { # "0-2,5" -> "0 1 2 5"
	local part out=()
	IFS=, read -ra parts <<<"$1"
	for part in "${parts[@]}"; do
		if [[ $part == *-* ]]; then out+=($(seq "${part%-*}" "${part#*-}")); else out+=("$part"); fi
	done
	echo "${out[*]}"
}
stage_pinned() {
	local js n tids cpus t
	js=$(client_of) || return 1
	n=$(jq '.stages | length' <<<"$js")
	for ((s = 0; s < n; s++)); do
		cpus=$(jq -r ".stages[$s].cpus" <<<"$js")
		tids=$(jq -r ".stages[$s].tids[]" <<<"$js")
		[ -n "$tids" ] || return 1
		for t in $tids; do
			[ "$(expand_list "$(taskset -pc "$t" 2>/dev/null | sed 's/.*: //')")" = \
				"$(expand_list "$cpus")" ] || return 1
		done
	done
}
check "every stage thread runs on its stage's CPUs" wait_for 3 stage_pinned

measured() { "$CTL" status --json | jq -e '.levels[] | select(.name == "best-effort") | .workloads[] | select(.name == "squeeze") | .client.throughput > 0' >/dev/null; }
check "its throughput shows in status" wait_for 4 measured

wait "$CLIENT"
rc=$?
PIDS=()
if [ $rc -eq 0 ] && grep -q "agent's assignment" "$TMP/managed.err" && ! grep -q unmanaged "$TMP/managed.err" &&
	jq -e '.managed == true and .inferences > 0' "$TMP/managed.json" >/dev/null; then
	ok "the client ran managed to the end"
else
	not_ok "managed run" "rc=$rc err: $(cat "$TMP/managed.err")"
fi
check "its file is gone after it exits" wait_for 2 bash -c "[ ! -e '$RUN/clients/$CLIENT' ]"

# --- its workload cgroup: the stages' CPUs and, in a non-idle level below
# rank 1, a quota; then kill -9: the agent forgets it and removes its file --
"$RUNNER" --model squeezenet11 --level high --name victim --duration 60 -q >/dev/null 2>&1 &
VICTIM=$!
PIDS+=("$VICTIM")
wait_for 5 in_cgroup "$VICTIM" "$ROOT/high/victim" >/dev/null
victim_limited() {
	local js want have q
	js=$("$CTL" status --json | jq -e '.levels[] | select(.name == "high") | .workloads[] |
		select(.name == "victim") | .client | select(.applied)') || return 1
	want=$(for c in $(jq -r '.stages[].cpus' <<<"$js"); do expand_list "$c"; done | tr ' ' '\n' | sort -nu | xargs)
	have=$(expand_list "$(cat "$(cg_dir_for cpuset "$ROOT/high/victim")/cpuset.cpus")")
	[ -n "$want" ] && [ "$want" = "$have" ] || return 1
	if [ "$(cg_mode)" = v2 ]; then
		q=$(awk '{ print $1 }' "/sys/fs/cgroup/$ROOT/high/victim/cpu.max")
		[ "$q" != max ]
	else
		q=$(cat "$(cg_dir_for cpu "$ROOT/high/victim")/cpu.cfs_quota_us")
		[ "$q" -gt 0 ]
	fi
}
check "its workload cgroup gets the stages' CPUs as cpuset and a quota" wait_for 5 victim_limited
kill -9 "$VICTIM"
wait "$VICTIM" 2>/dev/null
PIDS=()
check "a client killed with -9: its file is removed" wait_for 3 bash -c "[ ! -e '$RUN/clients/$VICTIM' ]"
check "and the agent says it exited" wait_for 2 grep -q "client pid $VICTIM (victim) exited" "$TMP/log"

# --- a file shrunk under the agent's mapping: the agent drops it and runs on ------
"$RUNNER" --model squeezenet11 --level normal --name shrink --duration 60 -q >/dev/null 2>&1 &
SHRINK=$!
PIDS+=("$SHRINK")
wait_for 5 in_cgroup "$SHRINK" "$ROOT/normal/shrink" >/dev/null
# Stopped, the client itself no longer touches its file: only the agent does.
kill -STOP "$SHRINK"
truncate -s 0 "$RUN/clients/$SHRINK"
if wait_for 3 grep -q "client pid $SHRINK: its file shrank" "$TMP/log" && kill -0 "$AGENT" &&
	"$CTL" status >/dev/null; then
	ok "a client file shrunk under the agent: dropped with one line, the agent runs on"
else
	not_ok "shrunk client file" "agent alive: $(kill -0 "$AGENT" 2>&1 && echo yes); log: $(tail -3 "$TMP/log")"
fi
kill -9 "$SHRINK" 2>/dev/null
wait "$SHRINK" 2>/dev/null
PIDS=()

# --- the protection loop judges a critical client on its latency ----------------
"$CTL" run --level best-effort --name hog -- "$BUILD/bench/hog" >/dev/null 2>&1 &
HOG=$!
PIDS+=("$HOG")
cuts() { grep -c 'cut best-effort' "$TMP/log"; }
be_quota() { "$CTL" status --json | jq -r '.levels[] | select(.name == "best-effort") | .quota_cores // "max"'; }
at_floor() { local q; q=$(be_quota); [ "$q" != max ] && awk -v q="$q" 'BEGIN { exit !(q <= 0.3) }'; }
"$RUNNER" --model squeezenet11 --level critical --name easy --rate 10 --latency-ms 60000 \
	--duration 6 -q >/dev/null 2>&1 &
EASY=$!
PIDS+=("$EASY")
sleep 2 # its first inferences: until then the waits decide
before=$(cuts) q_before=$(be_quota)
wait "$EASY"
after=$(cuts) q_after=$(be_quota)
check "a critical client within its latency target: no cut for waits alone, quota given back ($before -> $after cuts, $q_before -> $q_after cores)" \
	bash -c "[ $after -eq $before ] && { [ '$q_after' = max ] || awk 'BEGIN { exit !($q_after > $q_before) }'; }"
"$RUNNER" --model squeezenet11 --level critical --name tight --rate 10 --latency-ms 1 \
	--duration 8 -q >/dev/null 2>&1 &
TIGHT=$!
PIDS+=("$TIGHT")
before_tight=$(cuts)
# A cut while it runs, whichever critical workload the log line names: the
# line names the first one past its target, and an exited client's
# workload can still show waits there for a tick.
cut_since() { [ "$(cuts)" -gt "$before_tight" ]; }
if wait_for 5 at_floor && wait_for 3 cut_since && sleep 3 && at_floor; then
	ok "a critical client past its latency target: best-effort cut to its floor and held there"
else
	not_ok "critical client past its target" "best-effort quota $(be_quota); $(grep 'cut best-effort' "$TMP/log" | tail -2)"
fi
kill "$TIGHT" "$HOG" 2>/dev/null
wait "$TIGHT" "$HOG" 2>/dev/null
PIDS=()

# --- another ABI: refused once, runs unmanaged --------------------------------------
# A file made by hand as a client of the next ABI would make: the frozen
# header only.
sleep 1000 &
FAKE=$!
PIDS+=("$FAKE")
ABI=$(sed -n 's/^#define TRIAGE_CLIENT_ABI \([0-9]*\).*/\1/p' "$SRC/include/triage/client.h")
python3 - "$RUN/clients/$FAKE" "$FAKE" "$((ABI + 1))" <<'PY'
import struct, sys
path, pid, abi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hdr = struct.pack("<IIIiII", 0x4c435254, abi, 24, pid, 0, 0)
with open(path + ".tmp", "wb") as f:
    f.write(hdr + bytes(8192))
import os
os.rename(path + ".tmp", path)
PY
refused() { python3 -c "
import struct,sys
d=open('$RUN/clients/$FAKE','rb').read(24)
m,abi,size,pid,status,agent_abi=struct.unpack('<IIIiII',d)
sys.exit(0 if status==2 and agent_abi==$ABI else 1)"; }
check "a client of ABI $((ABI + 1)) is refused: the header says so to the client" wait_for 3 refused
check "and the agent logs it once" bash -c "sleep 0.5; [ \$(grep -c 'client pid $FAKE refused' '$TMP/log') -eq 1 ]"
kill "$FAKE" 2>/dev/null
wait "$FAKE" 2>/dev/null
PIDS=()
check "the refused client's file goes when its process does" wait_for 3 bash -c "[ ! -e '$RUN/clients/$FAKE' ]"

# --- SIGTERM: the agent leaves clients' files alone ----------------------------------
kill -TERM "$AGENT"
wait "$AGENT"
rc=$?
AGENT=
check "SIGTERM: the agent exits 0" [ $rc -eq 0 ]
check "SIGTERM: the empty clients directory is removed" [ ! -e "$RUN/clients" ]

# --- a real-time level's DNN runs whole ----------------------------------------------
# Its class puts it ahead of everything on any CPU; the plan's pinning would
# only keep it off CPUs. The same two-unit platform: a planned best-effort
# client beside it still gets stages.
jq '.levels[0].sched = {"policy": "fifo", "priority": 15}' "$TMP/conf.json" >"$TMP/rt.json"
"$BUILD/triaged" --config "$TMP/rt.json" -v -q >"$TMP/rt.log" 2>&1 &
AGENT=$!
wait_for 10 test -S "$RUN/ctl.sock" || not_ok "agent starts on a fifo critical level" "$(tail -3 "$TMP/rt.log")"
"$RUNNER" --model squeezenet11 --level critical --name whole --rate 20 --latency-ms 2000 \
	--duration 8 -q >/dev/null 2>&1 &
WHOLE=$!
PIDS+=("$WHOLE")
whole_of() { "$CTL" status --json | jq -e '.levels[] | select(.name == "critical") | .workloads[] | select(.name == "whole") | .client'; }
runs_whole() {
	local js all t
	js=$(whole_of) || return 1
	all=$(expand_list "$(cut -d' ' -f1 </sys/devices/system/cpu/online)")
	jq -e --argjson n "$ncpu" '.runs_whole == true and .applied == true and (.stages | length) == 1 and
		.stages[0].first == 0 and .stages[0].threads == $n and (.stages[0].tids | length) == $n' \
		<<<"$js" >/dev/null || return 1
	[ "$(expand_list "$(jq -r '.stages[0].cpus' <<<"$js")")" = "$all" ] || return 1
	for t in $(jq -r '.stages[0].tids[]' <<<"$js"); do
		[ "$(expand_list "$(taskset -pc "$t" 2>/dev/null | sed 's/.*: //')")" = "$all" ] || return 1
		[ "$(chrt -p "$t" 2>/dev/null | sed -n 's/.*policy: //p')" = SCHED_FIFO ] || return 1
	done
}
check "a fifo level's client runs one stage of every layer, a SCHED_FIFO thread per CPU, on every CPU" \
	wait_for 8 runs_whole
kill "$WHOLE" 2>/dev/null
wait "$WHOLE" 2>/dev/null
PIDS=()
# The class comes with the take-on: a client that waits for it
# (triage_client_wait) is SCHED_FIFO the moment the wait returns, before
# the agent's next tick. libtriage through ctypes, as any program links it.
python3 - "$BUILD/libtriage.so" "$RUN" >"$TMP/wait.out" 2>&1 <<'PY'
import ctypes, os, sys
lib = ctypes.CDLL(sys.argv[1])
class Info(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("model", ctypes.c_char_p), ("level", ctypes.c_char_p),
                ("latency_ms", ctypes.c_double), ("rate_hz", ctypes.c_double), ("nr_layers", ctypes.c_int)]
lib.triage_client_open.restype = ctypes.c_void_p
lib.triage_client_open.argtypes = [ctypes.POINTER(Info), ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
lib.triage_client_wait.restype = ctypes.c_bool
lib.triage_client_wait.argtypes = [ctypes.c_void_p, ctypes.c_uint]
lib.triage_client_close.argtypes = [ctypes.c_void_p]
err = ctypes.create_string_buffer(256)
info = Info(b"waiter", b"squeezenet11", b"critical", 2000.0, 10.0, 10)
c = lib.triage_client_open(ctypes.byref(info), sys.argv[2].encode(), err, 256)
assert c, err.value
managed = lib.triage_client_wait(c, 2000)
policy = os.sched_getscheduler(0)
lib.triage_client_close(c)
print("managed", managed, "policy", policy)
sys.exit(0 if managed and policy == os.SCHED_FIFO else 1)
PY
check "triage_client_wait returns taken on, already SCHED_FIFO ($(tr '\n' ' ' <"$TMP/wait.out"))" \
	[ "$(tail -n 1 "$TMP/wait.out")" = "managed True policy 1" ]
kill -TERM "$AGENT"
wait "$AGENT"
AGENT=

[ $T_FAILED -eq 0 ]
