# Helpers of the in-guest suites (sourced by tests/vm/suites/*.sh under
# busybox sh, so no bash: no arrays, no `date +%N`, no ${BASH_SOURCE}).
# Same contract as tests/lib.sh: one line per test, "ok - vm: NAME",
# "not ok - vm: NAME: why" or "skip - vm: NAME: why", which tests/run-all
# counts; a suite removes every cgroup and process it made.

BUILD=${BUILD:-build}
KO=${KO:-/triage/triage.ko}
T_FAILED=0

ok() { echo "ok - vm: $1"; }
not_ok() {
	echo "not ok - vm: $1: $2"
	T_FAILED=$((T_FAILED + 1))
}
skip() { echo "skip - vm: $1: $2"; }

# check NAME COMMAND...: ok when the command succeeds.
check() {
	_name=$1
	shift
	if "$@"; then ok "$_name"; else not_ok "$_name" "failed: $*"; fi
}

# Milliseconds since boot (10 ms resolution, enough for timeouts).
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# wait_for SECONDS COMMAND...: polls every 50 ms until the command succeeds.
wait_for() {
	_deadline=$(($(now_ms) + $1 * 1000))
	shift
	while ! "$@" 2>/dev/null; do
		[ "$(now_ms)" -lt "$_deadline" ] || return 1
		sleep 0.05
	done
}

# Fields of /proc/PID/stat after the comm, which may hold spaces: the
# first printed is field 3 (state).
_stat_tail() { sed 's/^.*) //' "/proc/$1/stat"; }
# CPU time of PID in clock ticks (utime + stime, fields 14 and 15).
cpu_ticks() { _stat_tail "$1" | awk '{ print $12 + $13 }'; }
# CPU PID last ran on (field 39).
last_cpu() { _stat_tail "$1" | awk '{ print $37 }'; }

# Whether the module was built and is not loaded yet / is loaded.
kmod_built() { [ -e "$KO" ]; }
kmod_loaded() { [ -d /sys/module/triage ]; }
