#!/bin/bash
# Rules place running processes: a process whose comm matches goes into the
# rule's workload in every hierarchy; one that does not match stays put; one
# already tagged by hand is never re-matched.
set -u
. "$(dirname "$0")/../lib.sh"

require_root rules

ROOT=tgrule-$$
RUN=/run/$ROOT
TMP=$(mktemp -d)
AGENT=
PIDS=()
export TRIAGE_RUN_DIR=$RUN

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


# Executables whose comm is their (unique) file name.
MATCH=tgm$$ OTHER=tgo$$
cp "$(command -v sleep)" "$TMP/$MATCH"
cp "$(command -v sleep)" "$TMP/$OTHER"

write_config "$TMP/conf.json" "$ROOT"
jq --arg c "$MATCH" '.rule_scan_ms = 100 |
	.rules = [{"level": "high", "workload": "ruled", "match": [[{"comm": $c}]]},
	          {"level": "normal", "match": [[{"comm_prefix": "tgnever"}], [{"cgroup_prefix": "/no/such/path"}]]}]' \
	"$TMP/conf.json" >"$TMP/rules.json"

"$TMP/$MATCH" 600 &
PIDS+=($!)
MATCHED=$!
"$TMP/$OTHER" 600 &
PIDS+=($!)
UNMATCHED=$!

"$BUILD/triaged" --config "$TMP/rules.json" -q >"$TMP/log" 2>&1 &
AGENT=$!
wait_for 10 test -S "$RUN/ctl.sock" || { not_ok "agent starts" "$(tail -5 "$TMP/log")"; exit 1; }

"$BUILD/triagectl" run --level best-effort --name manual -- "$TMP/$MATCH" 600 &
PIDS+=($!)
MANUAL=$!

# A command whose name is no valid workload name: triagectl names the
# workload after it all the same, made valid.
cp "$(command -v sleep)" "$TMP/Odd.Name-With-Caps"
"$BUILD/triagectl" run --level best-effort -- "$TMP/Odd.Name-With-Caps" 600 &
PIDS+=($!)
ODD=$!
check "triagectl run names the workload after an odd command name, made valid" \
	wait_for 5 in_cgroup $ODD "$ROOT/best-effort/odd-name-with-c"

check "a process matching a rule is moved into its workload" wait_for 5 in_cgroup $MATCHED "$ROOT/high/ruled"
check "the move is logged" grep -q "pid $MATCHED ($MATCH) -> high/ruled" "$TMP/log"
check "a process tagged by hand keeps its tag" wait_for 2 in_cgroup $MANUAL "$ROOT/best-effort/manual"
sleep 0.5
check "... and is not re-matched later" in_cgroup $MANUAL "$ROOT/best-effort/manual"
check "a process matching no rule stays out of the triage tree" \
	bash -c "! grep -q '$ROOT' /proc/$UNMATCHED/cgroup"

kill -TERM "$AGENT"
wait "$AGENT"
rc=$?
AGENT=
check "agent exits 0 and the matched process stays in its cgroup" \
	bash -c "[ $rc -eq 0 ] && $(declare -f in_cgroup cg_hierarchies); in_cgroup $MATCHED $ROOT/high/ruled"
[ $T_FAILED -eq 0 ]
