# Helpers shared by the benchmark scripts (sourced).
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/cgroup-lib.sh"

# Where reports go: docs/results, unless REPORT_DIR says another folder
# (bench/smoke points it at a scratch one, so a smoke run never touches
# the reports).
REPORT_DIR=${REPORT_DIR:-docs/results}
# SMOKE=1: the smallest parameters that still go through every code path
# of the benchmark, its report included (bench/smoke). Its figures mean
# nothing.
SMOKE=${SMOKE:-0}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

machine_line() {
	echo "$(nproc) CPUs ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)), kernel $(uname -r), $(stat -fc %T /sys/fs/cgroup | sed 's/cgroup2fs/cgroup v2/;s/tmpfs/hybrid cgroups/')"
}

# The commit the tree is at, "-dirty" when it has changes outside
# docs/results (reports being rewritten do not count).
commit_line() {
	local c
	c=$(git rev-parse --short=12 HEAD 2>/dev/null) || { echo "no git checkout"; return; }
	if [ -n "$(git status --porcelain --untracked-files=no -- . ':!docs/results' 2>/dev/null)" ]; then
		c="$c-dirty"
	fi
	echo "$c"
}

# bench_provenance COMMAND: the lines every report opens with, after its
# title: the exact command (with the environment knobs that made it), the
# commit and the machine, so that a reader can make it again.
bench_provenance() {
	echo "Command: \`$1\`"
	echo
	echo "Commit: $(commit_line). Date: $(date -u +%Y-%m-%d)."
	echo
	echo "Machine: $(machine_line)."
}

# bench_fail BENCH TOOL WHAT LINE: a tool's output was not what the
# benchmark expects; names the tool and the line it got, and exits 1.
bench_fail() {
	echo "$1: $2 printed $3, got: ${4:-(nothing)}" >&2
	exit 1
}

# bench_number BENCH TOOL WHAT VALUE: VALUE, when it is one finite number;
# else bench_fail. For figures picked out of a tool's output.
bench_number() {
	if [[ $4 =~ ^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$ ]]; then
		echo "$4"
	else
		bench_fail "$1" "$2" "no single number for $3" "$4"
	fi
}

# A config for benchmarks: the defaults, with its own cgroup root, pin and
# run directories so a benchmark never meets a user's running agent.
bench_config() { # FILE ROOT
	jq --arg r "$2" '.cgroup_root = $r | .pin_dir = "/sys/fs/bpf/" + $r | .run_dir = "/run/" + $r' \
		docs/triage.example.json >"$1"
}

# The name the helpers below give the benchmark in their messages:
# bench/NAME, from the script's own name unless it set BENCH_NAME.
BENCH_NAME=${BENCH_NAME:-bench/$(basename "$0")}

# bench_command SCRIPT [ARG] KNOB...: the command as a user would retype
# it, for bench_provenance: the knobs set in the environment (SMOKE only
# when not 0, its default), then SCRIPT and its argument. Call it before
# giving the knobs their defaults.
shq() { case $1 in '' | *[!A-Za-z0-9_./:,+=@%-]*) printf "'%s'" "${1//\'/\'\\\'\'}" ;; *) printf %s "$1" ;; esac; }
bench_command() {
	local script=$1 arg=$2 k out=
	shift 2
	for k in "$@"; do
		[ "$k" = SMOKE ] && [ "$SMOKE" = 0 ] && continue
		[ -n "${!k:+set}" ] && out+="$k=$(shq "${!k}") "
	done
	echo "$out$script${arg:+ $(shq "$arg")}"
}

bench_die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
is_int() { [[ $1 =~ ^[0-9]+$ ]]; }
# check_num TOOL WHAT VALUE LINE: fails, naming LINE, unless VALUE is one
# finite number (bench_number's test; run in this shell, so it exits).
check_num() {
	(bench_number "$BENCH_NAME" "$1" "$2" "$3") >/dev/null 2>&1 || bench_fail "$BENCH_NAME" "$1" "no single number for $2" "$4"
}

# Report cells: a number in FORMAT, "-" for nan or nothing.
fmt() { awk -v v="$2" -v f="$1" 'BEGIN { if (v == "nan" || v == "") print "-"; else printf f, v }'; }
# A ratio: two decimals, or two significant digits below 0.1 (not "0.00").
rfmt() { awk -v v="$1" 'BEGIN { if (v == "nan" || v == "") print "-"; else printf v < 0.1 ? "%.2g" : "%.2f", v }'; }

# kv_line TOOL FILE PREFIX KEY...: TOOL's one line in FILE that starts
# with PREFIX, of the form "PREFIX key value key value ...": sets KV[KEY]
# to each KEY's value, checked to be one number; fails naming the tool and
# what it printed when there is not exactly one such line or a value is
# missing or no number. The caller declares KV (declare -A KV).
kv_line() {
	local tool=$1 file=$2 prefix=$3 line k v
	shift 3
	line=$(grep -- "^$prefix" "$file" 2>/dev/null)
	[ -n "$line" ] && [ "$(printf '%s\n' "$line" | wc -l)" -eq 1 ] ||
		bench_fail "$BENCH_NAME" "$tool" "not one \"$prefix...\" line" "$(tr '\n' ' ' <"$file" 2>/dev/null | head -c 400)"
	for k in "$@"; do
		v=$(awk -v k="$k" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' <<<"$line")
		check_num "$tool" "$k" "$v" "$line"
		KV[$k]=$v
	done
}

# How much other load shared the machine: the machine's busy CPU time in
# /proc/stat against what this script's children used. mark NAME
# remembers now; others_since NAME VAR sets VAR to the CPU time others
# used since, in words. They use $TMP, the script's scratch folder.
busy_s() {
	awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { print ($2 + $3 + $4 + $7 + $8) / hz; exit }' /proc/stat
}
# CPU seconds used by this shell's finished children (bash `times`; run
# in this shell, not in a command substitution's subshell, which has none).
children_s() {
	times >"$TMP/times"
	awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] } print s }' "$TMP/times"
}
declare -A MARK_T MARK_B MARK_C
mark() { MARK_T[$1]=$(date +%s.%N); MARK_B[$1]=$(busy_s); children_s >"$TMP/c"; MARK_C[$1]=$(cat "$TMP/c"); }
others_since() {
	local c1
	children_s >"$TMP/c"
	c1=$(cat "$TMP/c")
	printf -v "$2" '%s' "$(awk -v t0="${MARK_T[$1]}" -v t1="$(date +%s.%N)" -v b0="${MARK_B[$1]}" \
		-v b1="$(busy_s)" -v c0="${MARK_C[$1]}" -v c1="$c1" -v n="$(nproc)" 'BEGIN {
		o = (b1 - b0) - (c1 - c0); if (o < 0) o = 0
		printf "%.0f CPU-seconds (%.0f%% of the %d CPUs over %.0f s)", o, 100 * o / (n * (t1 - t0)), n, t1 - t0 }')"
}

# --- real DNNs: build/triage-run ($RUNNER) -------------------------------------
# The mixes of three zoo DNNs that bench/cpu-mix and bench/cpu-peers run:
# name|critical model|best-effort models. The critical one runs at a rate
# and with a target set from its speed alone (dnn_rate_target).
DNN_MIXES=(
	"detector|yolov4tiny|resnet18 mobilenetv2"
	"mobile|mobilenetv2|squeezenet11 googlenet"
)

# dnn_row FILE MODEL: triage-run's --json FILE for MODEL, checked: sets
# DNN_ROW to "model throughput p50 p99 inferences managed" (tab-separated).
# p50 and p99 are "nan" only when the DNN completed no inference
# (triage-run then writes 0 for them, which is no latency); anything else
# that is not a number fails, naming the file's content.
dnn_row() {
	local f=$1 want=$2 log=${1%.json}.log got line model tput p50 p99 n managed
	[ -s "$f" ] || bench_fail "$BENCH_NAME" triage-run "no --json file for $want ($f)" "$(tail -n 1 "$log" 2>/dev/null)"
	line=$(tr -s '\n\t ' ' ' <"$f" | sed 's/ *$//' | head -c 400)
	got=$(jq -r '[.model, .throughput, .latency_p50_ms, .latency_p99_ms, .inferences, .managed]
		| map(tostring) | @tsv' "$f" 2>/dev/null) ||
		bench_fail "$BENCH_NAME" triage-run "a --json file jq cannot read for $want" "$line"
	[ "$(printf '%s\n' "$got" | wc -l)" -eq 1 ] || bench_fail "$BENCH_NAME" triage-run "more than one JSON object for $want" "$line"
	IFS=$'\t' read -r model tput p50 p99 n managed <<<"$got"
	[ "$model" = "$want" ] || bench_fail "$BENCH_NAME" triage-run "\"model\": \"$want\"" "$line"
	is_int "$n" || bench_fail "$BENCH_NAME" triage-run "no inference count for $want" "$line"
	check_num triage-run "the throughput of $want" "$tput" "$line"
	case $managed in true | false) ;; *) bench_fail "$BENCH_NAME" triage-run "no \"managed\" true or false for $want" "$line" ;; esac
	if [ "$n" -eq 0 ]; then
		p50=nan p99=nan
	else
		check_num triage-run "the latency p50 of $want" "$p50" "$line"
		check_num triage-run "the latency p99 of $want" "$p99" "$line"
	fi
	DNN_ROW=$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$model" "$tput" "$p50" "$p99" "$n" "$managed")
}

# run_dnn OUT RUN_DIR MODEL LEVEL RATE TARGET_MS SECONDS [PREFIX...]: one
# triage-run in the background (RATE, TARGET_MS 0: flat out, no target),
# started through PREFIX (nice, chrt, ...) when given; its figures into
# OUT.json, its output into OUT.log, its pid appended to PIDS.
declare -A PID_OUT
PIDS=()
run_dnn() {
	local out=$1 run=$2 model=$3 level=$4 rate=$5 target=$6 secs=$7 args
	shift 7
	args=(--model "$model" --name "$model" --level "$level" --duration "$secs" --json "$out.json")
	[ "$rate" != 0 ] && args+=(--rate "$rate")
	[ "$target" != 0 ] && args+=(--latency-ms "$target")
	TRIAGE_RUN_DIR=$run "$@" "$RUNNER" "${args[@]}" >"$out.log" 2>&1 &
	PIDS+=($!)
	PID_OUT[$!]=$out
}
# wait_dnns WHAT: waits for them all; dies naming the first that failed.
wait_dnns() {
	local p rc failed=
	for p in "${PIDS[@]}"; do
		wait "$p"
		rc=$?
		[ $rc -eq 0 ] || [ -n "$failed" ] || failed="${PID_OUT[$p]##*/} (exit $rc): $(tail -n 1 "${PID_OUT[$p]}.log")"
	done
	PIDS=()
	[ -z "$failed" ] || bench_die "triage-run failed in $1: $failed"
}

# dnn_rate_target OUT MODEL SECONDS UTIL X: MODEL alone, flat out and
# unmanaged, for SECONDS; sets DNN_RATE to UTIL x its throughput, rounded
# down to 0.5/s (0.1/s below 5/s, so that a slow DNN still gets enough
# requests for a p99), and DNN_TARGET to X x its inference time alone
# (1 / that throughput), rounded up to 10 ms; DNN_ALONE to the throughput.
dnn_rate_target() {
	local out=$1 model=$2
	run_dnn "$out" "$TMP/no-agent" "$model" critical 0 0 "$3"
	wait_dnns "$model alone"
	dnn_row "$out.json" "$model"
	IFS=$'\t' read -r _ DNN_ALONE _ <<<"$DNN_ROW"
	awk -v t="$DNN_ALONE" 'BEGIN { exit !(t > 0) }' ||
		bench_fail "$BENCH_NAME" triage-run "a throughput above 0 for $model alone" "$(tr -s '\n\t ' ' ' <"$out.json")"
	DNN_RATE=$(awk -v t="$DNN_ALONE" -v u="$4" 'BEGIN { r = t * u; s = r >= 5 ? 0.5 : 0.1
		r = int(r / s + 1e-9) * s; printf "%g\n", r < 0.1 ? 0.1 : r }')
	DNN_TARGET=$(awk -v t="$DNN_ALONE" -v x="$5" 'BEGIN { v = x * 1000 / t; print int((v + 9.999) / 10) * 10 }')
}
