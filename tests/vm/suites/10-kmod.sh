#!/bin/sh
# In the guest: triage.ko loads and unloads cleanly again and again, its
# generic-netlink family "triage" comes and goes with it, the module
# engineer's test programs (build/vm/genl_test, build/vm/genl_fuzz) pass
# against the loaded module, and unloading it under a client's open socket
# (joined to "events") leaves the client with an error, not a hang or an
# oops. The agent's affinity (build/vm/affinity_test) is tried with the
# module, across its unloading, and without it; SCHED_GUARD
# (build/vm/sched_guard_test) with the module and across its unloading.
# The host checks modinfo before the boot (tests/vm/run) and the console
# after it.
. tests/vm/guest/lib.sh

CYCLES=5
HOLD=

cleanup() {
	[ -n "$HOLD" ] && kill -9 "$HOLD" 2>/dev/null
	kmod_loaded && rmmod triage 2>/dev/null
	rm -f /tmp/hold.out
}
trap cleanup EXIT

if ! kmod_built; then
	skip "kmod" "triage.ko not built (no Kbuild in the tree yet)"
	exit 0
fi
if kmod_loaded; then
	not_ok "kmod: not loaded at start" "an earlier suite left it loaded"
	rmmod triage
fi

family_registered() { "$BUILD/vm/genl_hold" --probe >/dev/null 2>&1; }

# --- insmod / rmmod cycles -----------------------------------------------
i=0 why=
while [ $i -lt $CYCLES ] && [ -z "$why" ]; do
	i=$((i + 1))
	if ! out=$(insmod "$KO" 2>&1); then why="insmod $i: $out"; break; fi
	kmod_loaded || why="insmod $i: no /sys/module/triage"
	if [ -z "$why" ] && [ -x "$BUILD/vm/genl_hold" ] && ! family_registered; then
		why="insmod $i: family triage not registered"
	fi
	if ! out=$(rmmod triage 2>&1); then why="rmmod $i: $out"; break; fi
	kmod_loaded && why="rmmod $i: /sys/module/triage still there"
	if [ -z "$why" ] && [ -x "$BUILD/vm/genl_hold" ] && family_registered; then
		why="rmmod $i: family triage still registered"
	fi
done
if [ -z "$why" ]; then
	ok "kmod: $CYCLES insmod/rmmod cycles, /sys/module/triage and the family come and go"
else
	not_ok "kmod: insmod/rmmod cycles" "$why"
	exit 1
fi

insmod "$KO" || { not_ok "kmod: insmod" "failed"; exit 1; }
check "kmod: taint is only out-of-tree/unsigned (O, E)" \
	sh -c '[ "$(tr -d "OE\n" </sys/module/triage/taint)" = "" ]'
if command -v genl >/dev/null; then
	check "kmod: genl ctrl lists family triage with group events" \
		sh -c 'genl ctrl get name triage | grep -q "events"'
fi

# --- the module engineer's in-guest programs ------------------------------
# They print "ok - kmod: ..." lines; the rig counts them as "vm: kmod: ...".
run_program() { # NAME SECONDS [ARG...]
	_prog=$1 _secs=$2
	shift 2
	if [ ! -x "$BUILD/vm/$_prog" ]; then
		skip "kmod: $_prog" "$BUILD/vm/$_prog not built"
		return
	fi
	timeout "$_secs" "$BUILD/vm/$_prog" "$@" >/tmp/$_prog.out 2>&1
	rc=$?
	T_FAILED=$((T_FAILED + $(grep -c '^not ok - ' /tmp/$_prog.out)))
	sed -E -e 's/^(ok|not ok|skip) - (vm: )?/\1 - vm: /' -e '/^((ok|not ok|skip) - |#)/!s/^/# /' /tmp/$_prog.out
	if [ $rc -ne 0 ] && ! grep -q '^not ok - ' /tmp/$_prog.out; then
		if [ $rc -eq 143 ]; then why="killed after $_secs s"; else why="exited $rc"; fi
		not_ok "kmod: $_prog${*:+ $*}" "$why without a failed test line"
	elif ! grep -Eq '^(ok|not ok|skip) - ' /tmp/$_prog.out; then
		not_ok "kmod: $_prog${*:+ $*}" "printed no test line"
	fi
	rm -f /tmp/$_prog.out
}
run_program genl_test 120
kmod_loaded || { not_ok "kmod: still loaded after genl_test" "gone"; insmod "$KO"; }
run_program genl_fuzz 120
kmod_loaded || { not_ok "kmod: still loaded after genl_fuzz" "gone"; insmod "$KO"; }
run_program affinity_test 60
# It unloads the module itself, under its open affinity.
run_program affinity_test 60 --unload
kmod_loaded && rmmod triage
insmod "$KO" || { not_ok "kmod: insmod after affinity_test --unload" "failed"; exit 1; }
run_program sched_guard_test 60
kmod_loaded || { not_ok "kmod: still loaded after sched_guard_test" "gone"; insmod "$KO"; }
# It unloads the module itself, under a socket that still guards a group.
run_program sched_guard_test 60 --unload
kmod_loaded && rmmod triage
insmod "$KO" || { not_ok "kmod: insmod after sched_guard_test --unload" "failed"; exit 1; }

# --- rmmod under an open socket --------------------------------------------
if [ -x "$BUILD/vm/genl_hold" ]; then
	"$BUILD/vm/genl_hold" --hold >/tmp/hold.out 2>&1 &
	HOLD=$!
	if wait_for 10 grep -q '^ready' /tmp/hold.out; then
		if out=$(rmmod triage 2>&1) && ! kmod_loaded; then
			ok "kmod: rmmod while a client holds a socket joined to events"
		else
			not_ok "kmod: rmmod under an open socket" "${out:-module still there}"
		fi
		kill -USR1 "$HOLD"
		if ! wait_for 10 grep -q '^after: ' /tmp/hold.out; then
			not_ok "kmod: the client's next request gets an error" "no answer in 10 s"
		elif grep -q '^after: error' /tmp/hold.out; then
			ok "kmod: the client's next request gets an error ($(sed -n 's/^after: error //p' /tmp/hold.out))"
		else
			not_ok "kmod: the client's next request gets an error" "$(grep '^after: ' /tmp/hold.out)"
		fi
		wait "$HOLD"
		rc=$?
		HOLD=
		check "kmod: the client exits cleanly afterwards" [ $rc -eq 0 ]
	else
		not_ok "kmod: a client holds the family's socket" "$(cat /tmp/hold.out)"
	fi
	kmod_loaded || insmod "$KO"
	check "kmod: loads again after that" family_registered
else
	skip "kmod: rmmod under an open socket" "$BUILD/vm/genl_hold not built"
fi

rmmod triage 2>/dev/null
check "kmod: unloaded at the end" sh -c '! [ -d /sys/module/triage ]'
run_program affinity_test 60 --no-module
[ $T_FAILED -eq 0 ]
