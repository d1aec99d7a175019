#!/bin/sh
# Guest half of bench/kmod, run by scripts/vm-boot under busybox sh.
#   kmod.sh ROUNDS LOOPS REPEAT
# Probe cost: build/bench/pingpong (pipe ping-pong pinned to CPU 1) with
# nothing attached (bare), with triage.ko loaded (kmod: its sched probes
# count every switch; nothing tagged) and with the BPF sensors attached
# (bpf: build/bench/sensors-attach), the three interleaved and their order
# rotating every round. Then the stats round trip with 100 tagged
# workloads, REPEAT rounds (build/bench/kmod-roundtrip). Prints "RESULT
# round config usecs" and the round trip's lines after "ROUNDTRIP"; exits
# 1, naming the line, when pingpong prints anything but "USECS usecs/op".
rounds=${1:-9}
loops=${2:-20000}
repeat=${3:-1000}
ko=/triage/triage.ko
bench=/triage/build/bench

run_bare() { "$bench/pingpong" -l "$loops" -c 1; }
run_kmod() {
	insmod "$ko" || return 1
	"$bench/pingpong" -l "$loops" -c 1
	rc=$?
	rmmod triage
	return $rc
}
run_bpf() {
	"$bench/sensors-attach" /sys/fs/bpf/triage-bench >/tmp/attach.out 2>&1 &
	pid=$!
	n=0
	while ! grep -q attached /tmp/attach.out 2>/dev/null; do
		n=$((n + 1))
		if [ $n -gt 600 ] || ! kill -0 $pid 2>/dev/null; then
			cat /tmp/attach.out >&2
			return 1
		fi
		sleep 0.1
	done
	"$bench/pingpong" -l "$loops" -c 1
	rc=$?
	kill $pid
	wait $pid
	return $rc
}
# usecs OUTPUT CONFIG ROUND: the figure of pingpong's one line
# "USECS usecs/op", or a message and exit 1.
usecs() {
	us=${1%" usecs/op"}
	if [ "$us" = "$1" ] || [ "$(printf '%s\n' "$1" | wc -l)" -ne 1 ] ||
		! printf '%s\n' "$us" | grep -Eqx '[0-9]+(\.[0-9]+)?'; then
		echo "bench/guest/kmod.sh: pingpong printed no single \"USECS usecs/op\" line ($2, round $3), got: ${1:-(nothing)}" >&2
		exit 1
	fi
	echo "$us"
}

# One warm-up of each, unrecorded: first runs page in binaries and BTF.
run_bare >/dev/null && run_kmod >/dev/null && run_bpf >/dev/null || exit 1
r=1
while [ $r -le "$rounds" ]; do
	case $((r % 3)) in
	0) order="bare kmod bpf" ;;
	1) order="kmod bpf bare" ;;
	*) order="bpf bare kmod" ;;
	esac
	for cfg in $order; do
		v=$(run_$cfg) || exit 1
		v=$(usecs "$v" "$cfg" "$r") || exit 1
		echo "RESULT $r $cfg $v"
	done
	r=$((r + 1))
done

insmod "$ko" || exit 1
echo ROUNDTRIP
"$bench/kmod-roundtrip" -n 100 -r "$repeat"
rc=$?
rmmod triage
exit $rc
