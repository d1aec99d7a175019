#!/bin/sh
# In the guest: the BPF tests (build/bpf-tests, Criterion, the real sensor
# programs) on Debian's packaged kernel with its BTF and a pure cgroup v2
# tree, so the sensors are checked on a kernel other than the host's.
# Each Criterion test becomes one "vm: bpf: ..." line.
. tests/vm/guest/lib.sh

if [ ! -x "$BUILD/bpf-tests" ]; then
	not_ok "bpf: bpf-tests" "$BUILD/bpf-tests not built"
	exit 1
fi
check "bpf: the kernel has BTF" [ -r /sys/kernel/btf/vmlinux ]

LOG=/tmp/bpf-tests.out
timeout 240 "$BUILD/bpf-tests" --verbose --jobs 1 >"$LOG" 2>&1
rc=$?
# "[RUN ] sensors::name", its "[----] file:line: Assertion Failed" and
# message lines, then "[PASS] sensors::name: (0.51s)", "[FAIL] ..." or
# "[SKIP] ...": one line per test, a failure with its assertion.
awk '
/^\[RUN \]/ { msg = ""; next }
/^\[----\] / && !/Criterion v/ {
	line = $0; sub(/^\[----\] +/, "", line)
	if (line != "") msg = msg (msg == "" ? "" : " ") line
	next
}
/^\[(PASS|FAIL|SKIP)\]/ {
	name = $2; sub(/:$/, "", name)
	if ($1 == "[PASS]") print "ok - vm: bpf: " name
	else if ($1 == "[FAIL]") print "not ok - vm: bpf: " name ": " (msg == "" ? $0 : msg)
	else { why = $0; sub(/^[^:]*::[^:]*: */, "", why); print "skip - vm: bpf: " name ": " why }
}' "$LOG"
failed_lines=$(grep -c '^\[FAIL\]' "$LOG")
T_FAILED=$((T_FAILED + failed_lines))
synth=$(grep -a 'Synthesis:' "$LOG" | tail -n 1)
if [ -z "$synth" ]; then
	if [ $rc -eq 143 ]; then why="killed after 240 s"; else why="exited $rc"; fi
	not_ok "bpf: bpf-tests finished" "$why with no Criterion summary; its last lines:"
	tail -n 15 "$LOG" | sed 's/^/#   /'
else
	bad=$(echo "$synth" | sed -n -E 's/.*Failing: ([0-9]+) \| Crashing: ([0-9]+).*/\1 \2/p' |
		awk '{ print $1 + $2 }')
	if [ "${bad:-0}" -gt "$failed_lines" ]; then
		not_ok "bpf: bpf-tests" "$synth (crashes not listed above)"
	fi
	echo "# bpf: ${synth#*Synthesis: }"
fi
rm -f "$LOG"
[ $T_FAILED -eq 0 ]
