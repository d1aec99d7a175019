#!/bin/bash
# The planner in the agent, end to end as root: a rule's model, then models
# given with triagectl run and tag, make the agent plan the modeled
# workloads on a platform profile; `triagectl status` shows the plan; each
# change of the mix is planned and logged once, and an unmodeled workload
# changes nothing; a model the zoo lacks is refused at start and at tag.
set -u
. "$(dirname "$0")/../lib.sh"

require_root planner

SRC=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=tgpl-$$
RUN=/run/$ROOT
TMP=$(mktemp -d)
AGENT=
PIDS=()
export TRIAGE_RUN_DIR=$RUN
CTL="$BUILD/triagectl"

cleanup() {
	# Job-control notices of the killed test processes are noise here.
	{
		[ -n "$AGENT" ] && kill -TERM "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
		[ ${#PIDS[@]} -eq 0 ] || kill -9 "${PIDS[@]}" 2>/dev/null
		cg_purge "$ROOT"
		rm -rf "/sys/fs/bpf/$ROOT" "$RUN" "$TMP"
		wait
	} 2>/dev/null
}
trap cleanup EXIT

if [ ! -e "$SRC/models/zoo/resnet18.json" ] || [ ! -e "$SRC/models/platforms/orin-agx.json" ]; then
	skip planner "no model zoo or platform profiles under $SRC/dnn"
	exit 0
fi

# Executables whose comm is their (unique) file name.
MATCH=tgplm$$
cp "$(command -v sleep)" "$TMP/$MATCH"
cp "$(command -v sleep)" "$TMP/tgpls$$"

# A long replan period: every plan logged below comes from a change of the
# mix, none from the periodic search.
write_config "$TMP/base.json" "$ROOT"
jq --arg c "$MATCH" --arg models "$SRC/models/zoo" --arg platforms "$SRC/models/platforms" '
	.rule_scan_ms = 100 |
	.rules = [{"level": "high", "workload": "ruled", "model": "mobilenetv2",
	           "match": [[{"comm": $c}]]}] |
	.planner = {"platform": "orin-agx", "models_dir": $models, "platforms_dir": $platforms,
	            "replan_ms": 600000}' "$TMP/base.json" >"$TMP/conf.json"

plans() { grep -c 'planner: plan for' "$TMP/log"; }
status() { "$CTL" status --json; }
# wl LEVEL NAME: the workload's JSON object.
wl() { status | jq -e --arg l "$1" --arg n "$2" '.levels[] | select(.name == $l) | .workloads[] | select(.name == $n)'; }
planned() { wl "$1" "$2" | jq -e '.plan_state == "planned" and (.plan.stages | length) >= 1 and .plan.throughput > 0' >/dev/null; }
dnns_are() { status | jq -e --argjson n "$1" '.planner.dnns == $n and .planner.reward != null' >/dev/null; }

# --- a model the zoo lacks: exit 2 before anything is made -----------------
jq '.rules[0].model = "resnet19"' "$TMP/conf.json" >"$TMP/bad.json"
"$BUILD/triaged" --config "$TMP/bad.json" >"$TMP/bad.out" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q 'rules\[0\].model' "$TMP/bad.out" && grep -q 'resnet19' "$TMP/bad.out" &&
	grep -q 'resnet18' "$TMP/bad.out" && [ ! -e "$RUN" ]; then
	ok "a rule naming a model the zoo lacks: exit 2, names the key and the models there are"
else
	not_ok "unknown model in a rule" "rc=$rc: $(cat "$TMP/bad.out")"
fi

out=$("$BUILD/triaged" --config "$TMP/conf.json" --doctor 2>&1)
check "--doctor has a planner row naming the profile" grep -q '^planner .*platform orin-agx (profile)' <<<"$out"

# --- no such platform: planning off in one line, the agent runs on ------------
jq '.planner.platform = "nosuchboard"' "$TMP/conf.json" >"$TMP/noplat.json"
out=$("$BUILD/triaged" --config "$TMP/noplat.json" --doctor 2>&1)
check "--doctor says planning is off and why" grep -q '^planner .*NO .*off: platform "nosuchboard"' <<<"$out"
"$BUILD/triaged" --config "$TMP/noplat.json" -q >"$TMP/noplat.log" 2>&1 &
AGENT=$!
if wait_for 10 test -S "$RUN/ctl.sock" && status | jq -e '.planner.state == "off"' >/dev/null &&
	[ "$(grep -c 'planner: off: platform "nosuchboard"' "$TMP/noplat.log")" -eq 1 ]; then
	ok "without its platform the agent runs, planning off, said once"
else
	not_ok "planning off without a platform" "$(cat "$TMP/noplat.log")"
fi
kill -TERM "$AGENT"
wait "$AGENT"
AGENT=

# --- a rule's model: planned from the start -----------------------------------
"$TMP/$MATCH" 600 &
PIDS+=($!)
"$BUILD/triaged" --config "$TMP/conf.json" -q >"$TMP/log" 2>&1 &
AGENT=$!
wait_for 10 test -S "$RUN/ctl.sock" || {
	not_ok "agent starts" "$(tail -5 "$TMP/log")"
	exit 1
}
check "the agent logs the platform it plans on" grep -q 'planner: platform orin-agx (profile)' "$TMP/log"
if wait_for 5 planned high ruled; then
	ok "a workload placed by a rule with a model is planned: stages and a throughput"
else
	not_ok "rule's model planned" "$(wl high ruled 2>&1 | head -30) log: $(tail -5 "$TMP/log")"
fi

# --- triagectl run --model: a second DNN, one new plan ---------------------------
"$CTL" run --level critical --name det --model resnet18 --latency-ms 50 -- sleep 600 >/dev/null &
PIDS+=($!)
if wait_for 5 dnns_are 2 && wait_for 2 planned critical det; then
	ok "triagectl run --model: the workload is planned beside the first"
else
	not_ok "run --model planned" "$(status | jq -c .planner) log: $(tail -5 "$TMP/log")"
fi
det_critical() { wl critical det | jq -e '.latency_target_ms == 50 and .plan.critical' >/dev/null; }
check "its latency target reaches the planner, critical at rank 1" det_critical
sleep 0.5
check "two mixes, two plans logged" [ "$(plans)" -eq 2 ]

# --- an unmodeled workload changes nothing; giving it a model re-plans once ----
"$TMP/tgpls$$" 600 &
SECOND=$!
PIDS+=($SECOND)
"$CTL" tag --level best-effort --name bg "$SECOND" >/dev/null
sleep 0.5
bg_unmodeled() { wl best-effort bg | jq -e '.plan_state == "unmodeled" and .plan == null' >/dev/null; }
check "a workload without a model shows as unmodeled" bg_unmodeled
check "... and is no new plan" [ "$(plans)" -eq 2 ]

out=$("$CTL" tag --model resnet19 "$SECOND" 2>&1)
rc=$?
check "tag --model with a model the zoo lacks is refused with the models there are" \
	bash -c "[ $rc -eq 1 ] && grep -q 'resnet19' <<<'$out' && grep -q 'resnet18' <<<'$out'"

before=$(plans)
"$CTL" tag --model resnet18 "$SECOND" >/dev/null
if wait_for 5 dnns_are 3 && wait_for 2 planned best-effort bg; then
	ok "triagectl tag --model PID gives the workload the process is in a model: planned"
else
	not_ok "tag --model planned" "$(status | jq -c .planner)"
fi
sleep 1
n=$(($(plans) - before))
check "the second tagged workload made one re-plan, logged once (got $n)" [ "$n" -eq 1 ]
check "the plan for 3 DNNs names every workload" bash -c \
	"grep -q 'planner: plan for 3 DNNs on orin-agx' '$TMP/log' && grep -q 'planner:   best-effort/bg: ' '$TMP/log'"

out=$("$CTL" status)
check "status shows the planner and each workload's stages" bash -c \
	"grep -q '^planner: platform orin-agx (profile)' <<<'$out' && grep -q '^critical/det .*resnet18 .*planned' <<<'$out'"

kill -TERM "$AGENT"
wait "$AGENT"
rc=$?
AGENT=
check "agent exits 0" [ $rc -eq 0 ]
[ $T_FAILED -eq 0 ]
