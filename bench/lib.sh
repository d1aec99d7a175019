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
