# Helpers for the shell test suites (sourced). Each suite prints one line
# per test, "ok - NAME" or "not ok - NAME: why", that tests/run-all counts,
# and removes every cgroup, pin and process it made, also on failure.

BUILD=${1:-build}
T_FAILED=0

ok() { echo "ok - $1"; }
not_ok() {
	echo "not ok - $1: $2"
	T_FAILED=$((T_FAILED + 1))
}
skip() { echo "skip - $1: $2"; }

# require_root SUITE: a suite that changes cgroups skips itself without root.
require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		skip "$1" "needs root"
		exit 0
	fi
}

# check NAME COMMAND...: ok when the command succeeds.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi
}

# wait_for SECONDS COMMAND...: polls every 20 ms until the command succeeds.
wait_for() {
	local deadline=$(($(date +%s%N) + ${1%.*} * 1000000000))
	shift
	while ! "$@" 2>/dev/null; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.02
	done
}

. "$(dirname "${BASH_SOURCE[0]}")/../scripts/cgroup-lib.sh"

# Writes a test config to $1: test-specific cgroup root, pin dir and run dir,
# so the suite never meets a user's running triaged. best-effort is not idle
# and a cut is never judged in vain, so a tight wait target makes the loop
# cut it for sure; normal is idle, to check cpu.idle.
write_config() { # FILE ROOT EXTRA_LEVEL_FIELDS_FOR_CRITICAL
	cat >"$1" <<JSON
{
  "tick_ms": 50,
  "status_ms": 500,
  "cgroup_root": "$2",
  "pin_dir": "/sys/fs/bpf/$2",
  "run_dir": "/run/$2",
  "levels": [
    {"name": "critical", "rank": 1, "weight": 10000, "wait_p99_us": ${3:-2000}, "intf_pct": 5},
    {"name": "high", "rank": 2, "weight": 1000},
    {"name": "normal", "rank": 3, "weight": 100, "throttle": true, "idle": true},
    {"name": "best-effort", "rank": 4, "weight": 10, "throttle": true}
  ],
  "protection": {"period_us": 100000, "decrease": 0.5, "increase_cores": 0.05, "calm_ticks": 4,
                 "confirm_ticks": 1, "verify_ticks": 10000}
}
JSON
}
