#!/bin/bash
# triaged and triage-gpud together, as root, on the stand-in driver: three
# triage-run clients with their last stage on gpud (one critical with a
# latency target it cannot meet, two best-effort). The agent sees gpud and
# its stages (status, doctor, triagectl), cuts the best-effort GPU shares
# to their floor, gpud slices by the new shares, the pinned map gpu_stats
# counts each workload; an agent killed with -9 leaves the shares at their
# floor and the next one adopts them; a clean stop lifts every cap.
#   bash tests/e2e/gpud-agent.sh BUILD_DIR
set -u
. "$(dirname "$0")/../lib.sh"

require_root gpud-agent
FAKE=$BUILD/fake-libcuda.so
if [ ! -x "$BUILD/triage-gpud" ] || { [ ! -e "$FAKE" ] && [ "${GPUD_E2E_DRIVER:-fake}" != real ]; }; then
	skip gpud-agent "triage-gpud or fake-libcuda.so not built (no CUDA toolkit)"
	exit 0
fi
SRC=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=tggp-$$
RUN=/run/$ROOT
PIN=/sys/fs/bpf/$ROOT
TMP=$(mktemp -d)
CTL="$BUILD/triagectl"
export TRIAGE_RUN_DIR=$RUN TRIAGE_MODELS=$SRC/models/zoo
# GPUD_E2E_DRIVER=real (scripts/gpu-check): the GPU's own driver.
[ "${GPUD_E2E_DRIVER:-fake}" = real ] || export TRIAGE_LIBCUDA=$FAKE
AGENT= GPUD=
PIDS=()
cleanup() {
	{
		[ ${#PIDS[@]} -eq 0 ] || kill -9 "${PIDS[@]}"
		[ -n "$AGENT" ] && kill -TERM "$AGENT" && wait "$AGENT"
		[ -n "$GPUD" ] && kill -TERM "$GPUD" && wait "$GPUD"
		cg_purge "$ROOT"
		rm -rf "$PIN" "$RUN" "$TMP"
		wait
	} 2>/dev/null
}
trap cleanup EXIT
FLOOR=150

write_config "$TMP/base.json" "$ROOT"
# No planner: the clients keep their own stages (the last one on gpud).
jq --argjson floor $FLOOR '.planner = {"enabled": false}
	| (.levels[] | select(.name == "best-effort")).gpu_floor_permille = $floor
	| .protection.confirm_ticks = 1' "$TMP/base.json" >"$TMP/conf.json"

start_agent() {
	"$BUILD/triaged" --config "$TMP/conf.json" -v >>"$TMP/agent.log" 2>&1 &
	AGENT=$!
	wait_for 20 "$CTL" status >/dev/null
}
status() { "$CTL" status --json; }

"$BUILD/triage-gpud" >"$TMP/gpud.log" 2>&1 &
GPUD=$!
if ! wait_for 20 test -S "$RUN/gpud.sock" || ! start_agent; then
	not_ok "gpud-agent: gpud and the agent start" "$(tail -n 3 "$TMP/gpud.log" "$TMP/agent.log" | tr '\n' ' ')"
	exit 1
fi

STAGES=0-31/32-38@gpu
"$BUILD/triage-run" -q --model squeezenet11 --level critical --name det --latency-ms 1 --rate 2 \
	--stages $STAGES --duration 60 >"$TMP/det.log" 2>&1 &
PIDS+=($!)
for n in 1 2; do
	"$BUILD/triage-run" -q --model squeezenet11 --level best-effort --name "bg$n" \
		--stages $STAGES --duration 60 >"$TMP/bg$n.log" 2>&1 &
	PIDS+=($!)
done

three_stages() {
	status | jq -e '.gpu.gpud.running and ([.gpu.gpud.stages[].name] | sort) == ["bg1", "bg2", "det"]
		and (.gpu.gpud.stages[] | select(.name == "det")).level == "critical"' >/dev/null
}
check "gpud-agent: status shows gpud running with the three clients' stages" wait_for 20 three_stages

# The critical client misses its 1 ms target on every inference: the
# best-effort shares go down to their floor, and gpud follows.
at_floor() {
	status | jq -e --argjson f $FLOOR '
		([.gpu.gpud.shares[] | select(.permille == $f and .floor_permille == $f)] | length) == 2
		and ([.gpu.gpud.stages[] | select(.level == "best-effort" and .share_permille == $f)] | length) == 2' \
		>/dev/null
}
if wait_for 20 at_floor; then
	ok "gpud-agent: a critical miss cuts both best-effort GPU shares to their floor ($FLOOR), and gpud slices by them"
else
	not_ok "gpud-agent: shares cut to the floor" "$(status | jq -c '.gpu.gpud | {shares, stages: [.stages[] | {name, share_permille}]}')"
fi

out=$("$CTL" status)
if grep -q '^gpud: pid '"$GPUD" <<<"$out" && [ "$(grep -c '^  gpu stage ' <<<"$out")" -eq 3 ] &&
	"$BUILD/triaged" --config "$TMP/conf.json" --doctor 2>&1 | grep -q "^triage-gpud .*yes.*pid $GPUD"; then
	ok "gpud-agent: triagectl status and triaged --doctor show gpud and its stages"
else
	not_ok "gpud-agent: triagectl/doctor" "$(grep -i gpu <<<"$out" | tr '\n' ';')"
fi

# --- the pinned map gpu_stats --------------------------------------------------------
counted() {
	bpftool map dump pinned "$PIN/gpu_stats" -j 2>/dev/null >"$TMP/gpu_stats.json" &&
		jq -e --argjson f $FLOOR '[.[] | .formatted.value // .value] as $v
			| ($v | length) == 3 and ([$v[] | select(.requests > 0 and .busy_ns > 0 and .stages == 1)] | length) == 3
			and ([$v[] | select(.level == 1 and .share_permille == $f)] | length) == 2' \
			"$TMP/gpu_stats.json" >/dev/null
}
if ! command -v bpftool >/dev/null; then
	skip "gpud-agent: gpu_stats" "no bpftool"
elif [ "$(status | jq -r .sensors)" != bpf ]; then
	skip "gpud-agent: gpu_stats" "the agent runs $(status | jq -r .sensors) sensors, gpu_stats needs the BPF ones"
elif wait_for 10 counted; then
	ok "gpud-agent: bpftool map dump pinned gpu_stats lists the three workloads' GPU requests, busy time and shares"
else
	not_ok "gpud-agent: gpu_stats" "$(head -c 600 "$TMP/gpu_stats.json")"
fi

out=$("$CTL" stats 2>&1)
if "$CTL" stats --json | jq -e '([.gpu[] | select(.requests > 0 and .busy_ns > 0)] | length) == 3
		and ([.gpu[] | select(.name == "bg1" and .level == "best-effort")] | length) == 1' >/dev/null &&
	grep -q '^GPU, cumulative' <<<"$out" && grep -q '^bg1 ' <<<"$out"; then
	ok "gpud-agent: triagectl stats lists each workload's GPU requests, busy time and share"
else
	not_ok "gpud-agent: triagectl stats" "$("$CTL" stats --json | jq -c .gpu)"
fi

# --- kill -9: shares stay at their floor, the next agent adopts them ------------------
# The tables as "name=permille ..." sorted: the gpu-shares file (what the
# agent set) and gpud-stats (what gpud slices by), by their layouts in
# include/triage/gpu.h.
cat >"$TMP/tables.py" <<'PY'
import struct, sys
kind, path = sys.argv[1], sys.argv[2]
b = open(path, "rb").read()
if kind == "shares":   # 24-byte head, entries of name[32], permille, reserved
    n, head, size, share_at = struct.unpack_from("<I", b, 12)[0], 24, 40, 32
else:                  # 120-byte head, stages of 152 bytes, share at 84
    n, head, size, share_at = struct.unpack_from("<I", b, 12)[0], 120, 152, 84
out = []
for i in range(n):
    at = head + size * i
    name = b[at:at + 32].split(b"\0")[0].decode()
    out.append("%s=%d" % (name, struct.unpack_from("<I", b, at + share_at)[0]))
print(" ".join(sorted(out)))
PY
shares_in_file() { python3 "$TMP/tables.py" shares "$RUN/gpu-shares"; }
gpud_shares() { python3 "$TMP/tables.py" gpud "$RUN/gpud-stats"; }
kill -9 "$AGENT"
wait "$AGENT" 2>/dev/null
AGENT=
left=$(shares_in_file)
sleep 1
gpud_share=$(gpud_shares)
if [ "$left" = "bg1=$FLOOR bg2=$FLOOR" ] && [ "$gpud_share" = "bg1=$FLOOR bg2=$FLOOR det=1000" ] && start_agent &&
	wait_for 10 grep -q 'GPU shares: 2 adopted' "$TMP/agent.log" && wait_for 10 at_floor; then
	ok "gpud-agent: after kill -9 the shares stay at their floor ($left), gpud keeps them, the next agent adopts them"
else
	not_ok "gpud-agent: kill -9 and adoption" "file: $left; gpud: $gpud_share; $(grep 'GPU shares' "$TMP/agent.log" | tail -n 2 | tr '\n' ' ')"
fi

# --- a clean stop lifts every cap ------------------------------------------------------
kill -TERM "$AGENT"
wait "$AGENT"
rc=$?
AGENT=
uncapped() { [ "$(gpud_shares)" = "bg1=1000 bg2=1000 det=1000" ]; }
if [ $rc -eq 0 ] && [ -z "$(shares_in_file)" ] && wait_for 5 uncapped; then
	ok "gpud-agent: SIGTERM empties the GPU shares and gpud runs every stage uncapped again"
else
	not_ok "gpud-agent: clean stop" "exit $rc, shares left: $(shares_in_file); gpud: $(gpud_shares)"
fi
# --- the planner puts a stage on gpud while it serves, and takes it back -------------
# A platform of this host's CPUs and a GPU unit far faster than them: the
# planner maps the best-effort DNN's layers there. The client asks for no
# GPU stage itself. (When gpud dies, its request in flight may fall back
# to the CPU before the new plan comes: that line is allowed.)
{
	kill -9 "${PIDS[@]}"
	wait "${PIDS[@]}"
} 2>/dev/null
PIDS=()
mkdir -p "$TMP/platforms"
jq '.name = "withgpu" | .measured = true
	| .units += [{"name": "gpu", "kind": "gpu", "cores": 16,
	              "gflops": {"conv": 100000, "dwconv": 100000, "fc": 100000, "pool": 100000, "eltwise": 100000},
	              "parallel_eff": 1, "mem_gbps": .dram_gbps, "launch_us": 1, "mem_mb": 8192}]
	| .transfers = {(.units[0].name): {"gpu": {"gbps": 1000, "us": 1}},
	                "gpu": {(.units[0].name): {"gbps": 1000, "us": 1}}}' \
	"$SRC/models/platforms/host.json" >"$TMP/platforms/withgpu.json"
jq --arg models "$SRC/models/zoo" --arg platforms "$TMP/platforms" '
	.planner = {"platform": "withgpu", "models_dir": $models, "platforms_dir": $platforms,
	            "replan_ms": 600000}' "$TMP/conf.json" >"$TMP/plan.json"
"$BUILD/triaged" --config "$TMP/plan.json" -v >>"$TMP/agent-plan.log" 2>&1 &
AGENT=$!
wait_for 20 "$CTL" status >/dev/null
"$BUILD/triage-run" -q --model squeezenet11 --level best-effort --name planned --duration 60 \
	>"$TMP/planned.log" 2>&1 &
PIDS+=($!)
units_of() { status | jq -r '[.levels[].workloads[] | select(.name == "planned") | .client.stages[].unit] | join(",")'; }
on_gpud() {
	[[ $(units_of) == *gpu* ]] && status | jq -e '[.gpu.gpud.stages[] | select(.name == "planned")] | length == 1' >/dev/null
}
if wait_for 30 on_gpud; then
	ok "gpud-agent: the planner maps a client's stage to the GPU unit while gpud serves, and gpud runs it (units $(units_of))"
else
	not_ok "gpud-agent: planned onto gpud" "units: $(units_of); $(grep planner "$TMP/agent-plan.log" | tail -n 4 | tr '\n' ' ')"
fi
{
	kill -9 "$GPUD"
	wait "$GPUD"
} 2>/dev/null
GPUD=
cpu_only() { [ "$(units_of)" != "" ] && [[ $(units_of) != *gpu* ]]; }
if wait_for 30 cpu_only && grep -q 'planner: leaves out 1 GPU unit' "$TMP/agent-plan.log"; then
	ok "gpud-agent: gpud gone, the planner leaves the GPU unit out and the client runs CPU stages ($(units_of))"
else
	not_ok "gpud-agent: gpud gone under the planner" "units: $(units_of); $(grep -h 'GPU unit\|on the CPU' "$TMP/agent-plan.log" "$TMP/planned.log" | tail -n 3 | tr '\n' ' ')"
fi
exit $((T_FAILED > 0))
