#!/bin/bash
# triage-gpud end to end on the stand-in driver (build/fake-libcuda.so
# through TRIAGE_LIBCUDA): the daemon, its socket, triage-run clients whose
# last stage runs on it (`--stages 0-31/32-38@gpu`), their outputs against
# the all-CPU run, three clients at once (one critical, two best-effort),
# gpud killed with -9 under a client (it falls back to the CPU and comes
# back), a client killed mid-run, and malformed hellos (bad sizes, an
# unknown model, a stage that is no stage, an unsealed file, another ABI,
# a short hello), after each of which gpud serves on. No root needed.
# GPUD_E2E_DRIVER=real runs it on the machine's GPU instead.
#   bash tests/e2e/gpud.sh BUILD_DIR
set -u
. "$(dirname "$0")/../lib.sh"

FAKE=$BUILD/fake-libcuda.so
GPUD=$BUILD/triage-gpud
RUN=$BUILD/triage-run
if [ ! -x "$GPUD" ] || { [ ! -e "$FAKE" ] && [ "${GPUD_E2E_DRIVER:-fake}" != real ]; }; then
	skip gpud "triage-gpud or fake-libcuda.so not built (no CUDA toolkit)"
	exit 0
fi
TMP=$(mktemp -d)
export TRIAGE_RUN_DIR=$TMP/run
# GPUD_E2E_DRIVER=real (scripts/gpu-check): the GPU's own driver.
[ "${GPUD_E2E_DRIVER:-fake}" = real ] || export TRIAGE_LIBCUDA=$FAKE
GPUD_PID=
CLIENTS=()
cleanup() {
	for p in "${CLIENTS[@]}" $GPUD_PID; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$TRIAGE_RUN_DIR"

MODEL=squeezenet11
STAGES_CPU=0-31/32-38
STAGES_GPU=0-31/32-38@gpu

start_gpud() { # LOG
	"$GPUD" >"$1" 2>&1 &
	GPUD_PID=$!
	if ! wait_for 20 test -S "$TRIAGE_RUN_DIR/gpud.sock" || ! wait_for 5 grep -q 'listening on' "$1"; then
		not_ok "gpud: starts" "$(tail -n 3 "$1" | tr '\n' ' ')"
		exit 1
	fi
}

# agree A B: the outputs in the raw float32 files A and B are equal within
# 1e-4 of B's largest magnitude (float rounding of two different kernels).
agree() {
	python3 - "$1" "$2" <<'PY'
import sys, array
a, b = array.array('f'), array.array('f')
a.frombytes(open(sys.argv[1], 'rb').read()); b.frombytes(open(sys.argv[2], 'rb').read())
if len(a) != len(b) or not b:
    sys.exit(f"{len(a)} floats against {len(b)}")
top = max(abs(x) for x in b)
bad = max(range(len(b)), key=lambda i: abs(a[i] - b[i]))
if not abs(a[bad] - b[bad]) <= 1e-4 * top:
    sys.exit(f"output {bad}: {a[bad]} against {b[bad]} (largest {top})")
PY
}

# --- the all-CPU reference, with no gpud running: a @gpu stage falls back -----------
if ! timeout 120 "$RUN" -q --model $MODEL --stages $STAGES_CPU --duration 1 --output "$TMP/cpu.bin" \
	>"$TMP/cpu.log" 2>&1; then
	not_ok "gpud: the all-CPU reference run" "$(tail -n 2 "$TMP/cpu.log" | tr '\n' ' ')"
	exit 1
fi
timeout 120 "$RUN" -q --model $MODEL --stages $STAGES_GPU --duration 1 --output "$TMP/nogpud.bin" \
	>"$TMP/nogpud.log" 2>&1
rc=$?
lines=$(grep -c 'on the CPU' "$TMP/nogpud.log")
if [ $rc -eq 0 ] && [ "$lines" -eq 1 ] && grep -q 'no triage-gpud listening' "$TMP/nogpud.log" &&
	why=$(agree "$TMP/nogpud.bin" "$TMP/cpu.bin"); then
	ok "gpud: without gpud a @gpu stage runs on the CPU, with one line saying why, outputs equal"
else
	not_ok "gpud: without gpud" "exit $rc, $lines fallback lines, ${why:-}: $(head -n 2 "$TMP/nogpud.log" | tr '\n' ' ')"
fi

# --- gpud up: socket, pid file, a second one refused --------------------------------
start_gpud "$TMP/gpud.log"
mode=$(stat -c %a "$TRIAGE_RUN_DIR/gpud.sock")
want=666
getent group video >/dev/null && want=660
if [ "$mode" = "$want" ] && [ "$(cat "$TRIAGE_RUN_DIR/gpud.pid")" = "$GPUD_PID" ]; then
	ok "gpud: listens on gpud.sock (mode $mode), writes gpud.pid"
else
	not_ok "gpud: socket and pid file" "mode $mode (want $want), pid file $(cat "$TRIAGE_RUN_DIR/gpud.pid" 2>&1)"
fi
timeout 20 "$GPUD" >"$TMP/second.log" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q 'another triage-gpud listens' "$TMP/second.log" && kill -0 "$GPUD_PID"; then
	ok "gpud: a second gpud on the same run directory is refused (exit 1), the first runs on"
else
	not_ok "gpud: a second gpud" "exit $rc: $(cat "$TMP/second.log" | tr '\n' ' ')"
fi

# --- one client on the GPU: outputs equal the CPU's ---------------------------------
timeout 120 "$RUN" -q --model $MODEL --stages $STAGES_GPU --duration 2 --output "$TMP/gpu.bin" \
	--json "$TMP/gpu.json" >"$TMP/gpu.log" 2>&1
rc=$?
served=$(sed -n 's/.*gone after \([0-9]*\) requests.*/\1/p' "$TMP/gpud.log" | tail -n 1)
if [ $rc -eq 0 ] && [ "${served:-0}" -ge 1 ] && ! grep -q 'on the CPU' "$TMP/gpu.log" &&
	why=$(agree "$TMP/gpu.bin" "$TMP/cpu.bin"); then
	ok "gpud: a client's last stage on gpud ($served requests), outputs equal the all-CPU run's"
else
	not_ok "gpud: one client" "exit $rc, served ${served:-none}, ${why:-}: $(tail -n 3 "$TMP/gpu.log" | tr '\n' ' ')"
fi

# --- zero copy (the stand-in is integrated) and copies give the same outputs ----------
# A middle stage on the GPU: its cut tensor goes into the client's file
# too. Then a second gpud with --zero-copy off, on its own run directory.
timeout 120 "$RUN" -q --model $MODEL --stages 0-14/15-31@gpu/32-38 --duration 1 --output "$TMP/mid.bin" \
	>"$TMP/mid.log" 2>&1
rc1=$?
mkdir -p "$TMP/run-copy"
TRIAGE_RUN_DIR=$TMP/run-copy "$GPUD" --zero-copy off >"$TMP/gpud-copy.log" 2>&1 &
copy_pid=$!
wait_for 20 test -S "$TMP/run-copy/gpud.sock"
TRIAGE_RUN_DIR=$TMP/run-copy timeout 120 "$RUN" -q --model $MODEL --stages 0-14/15-31@gpu/32-38 \
	--duration 1 --output "$TMP/mid-copy.bin" >"$TMP/mid-copy.log" 2>&1
rc2=$?
kill -TERM "$copy_pid"
wait "$copy_pid"
if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && grep -q 'zero copy of outputs' "$TMP/gpud.log" &&
	grep -q 'layers 15-31 .*, zero copy' "$TMP/gpud.log" && grep -q 'copies in and out' "$TMP/gpud-copy.log" &&
	! grep -q 'on the CPU' "$TMP/mid.log" "$TMP/mid-copy.log" &&
	agree "$TMP/mid.bin" "$TMP/cpu.bin" >/dev/null && agree "$TMP/mid-copy.bin" "$TMP/cpu.bin" >/dev/null; then
	ok "gpud: a middle GPU stage, zero copy and --zero-copy off, outputs equal the all-CPU run's"
else
	not_ok "gpud: zero copy and copies" "exit $rc1/$rc2: $(grep -h 'listening\|layers 15' "$TMP/gpud.log" "$TMP/gpud-copy.log" | tr '\n' ' ')"
fi

# --- three clients at once: one critical, two best-effort ----------------------------
CLIENTS=()
"$RUN" -q --model $MODEL --name det --latency-ms 5000 --rate 2 --stages $STAGES_GPU --duration 4 \
	--output "$TMP/c1.bin" >"$TMP/c1.log" 2>&1 &
CLIENTS+=($!)
for n in 2 3; do
	"$RUN" -q --model $MODEL --name "bg$n" --stages $STAGES_GPU --duration 4 \
		--output "$TMP/c$n.bin" >"$TMP/c$n.log" 2>&1 &
	CLIENTS+=($!)
done
fails=
for n in 1 2 3; do
	wait "${CLIENTS[$((n - 1))]}" || fails="$fails c$n:exit"
	grep -q 'on the CPU' "$TMP/c$n.log" && fails="$fails c$n:fell-back"
	agree "$TMP/c$n.bin" "$TMP/cpu.bin" >/dev/null 2>&1 || fails="$fails c$n:outputs"
done
CLIENTS=()
if [ -z "$fails" ] && grep -q '"det", critical' "$TMP/gpud.log" &&
	[ "$(grep -c '"bg[23]", best-effort' "$TMP/gpud.log")" -eq 2 ] &&
	[ "$(grep -c '"\(det\|bg[23]\)", .*weights shared' "$TMP/gpud.log")" -eq 2 ]; then
	ok "gpud: three clients at once (one critical, two best-effort, the weights made once), every output right"
else
	not_ok "gpud: three clients" "${fails:-levels not in the log}: $(grep -h 'triage-run' "$TMP"/c?.log | head -n 2 | tr '\n' ' ')"
fi

# --- gpud killed with -9 under a client, then back -----------------------------------
"$RUN" -q --model $MODEL --name killed-under --stages $STAGES_GPU --duration 8 --output "$TMP/k.bin" \
	>"$TMP/k.log" 2>&1 &
CLIENTS=($!)
wait_for 20 grep -q '"killed-under"' "$TMP/gpud.log"
sleep 1
kill -9 "$GPUD_PID"
wait "$GPUD_PID" 2>/dev/null
sleep 1.5
start_gpud "$TMP/gpud2.log"
wait "${CLIENTS[0]}"
rc=$?
CLIENTS=()
if [ $rc -eq 0 ] && [ "$(grep -c 'on the CPU' "$TMP/k.log")" -eq 1 ] &&
	[ "$(grep -c 'back on the GPU' "$TMP/k.log")" -eq 1 ] && grep -q '"killed-under"' "$TMP/gpud2.log" &&
	why=$(agree "$TMP/k.bin" "$TMP/cpu.bin"); then
	ok "gpud: killed with -9 under a client: it runs the stage on the CPU (one line), goes back to the new gpud (one line), outputs right"
else
	not_ok "gpud: gpud killed under a client" "exit $rc, ${why:-}: $(cat "$TMP/k.log" | tr '\n' ' ')"
fi

# --- a client killed mid-run: gpud frees its stage and serves the next ---------------
"$RUN" -q --model $MODEL --stages $STAGES_GPU --duration 30 >"$TMP/victim.log" 2>&1 &
victim=$!
CLIENTS=($victim)
wait_for 20 grep -q "pid $victim (uid" "$TMP/gpud2.log"
sleep 0.5
# (bash reports a child killed by a signal on its stderr when it reaps it)
exec 3>&2 2>/dev/null
kill -9 "$victim"
wait "$victim"
CLIENTS=()
exec 2>&3 3>&-
if wait_for 10 grep -q "pid $victim: .* gone after" "$TMP/gpud2.log" && kill -0 "$GPUD_PID" &&
	timeout 120 "$RUN" -q --model $MODEL --stages $STAGES_GPU --duration 1 --output "$TMP/after.bin" \
		>"$TMP/after.log" 2>&1 && ! grep -q 'on the CPU' "$TMP/after.log" &&
	agree "$TMP/after.bin" "$TMP/cpu.bin" >/dev/null; then
	ok "gpud: a client killed mid-run: its stage is freed, gpud serves the next client"
else
	not_ok "gpud: a client killed mid-run" "$(tail -n 3 "$TMP/gpud2.log" | tr '\n' ' ')"
fi

# --- malformed hellos: each refused with a line naming it, gpud serves on -------------
python3 - "$TRIAGE_RUN_DIR/gpud.sock" "$BUILD/libtriage.so" >"$TMP/bad.out" 2>&1 <<'PY'
import ctypes, os, socket, sys, fcntl
path, lib = sys.argv[1], ctypes.CDLL(sys.argv[2])
class Span(ctypes.Structure):
    _fields_ = [("offset", ctypes.c_uint64), ("floats", ctypes.c_uint64)]
class Hello(ctypes.Structure):
    _fields_ = [("magic", ctypes.c_uint32), ("abi", ctypes.c_uint32), ("model", ctypes.c_char * 64),
                ("name", ctypes.c_char * 32), ("seed", ctypes.c_uint64), ("first", ctypes.c_int32),
                ("last", ctypes.c_int32), ("level", ctypes.c_uint32), ("nr_spans", ctypes.c_uint32),
                ("in_floats", ctypes.c_uint64), ("cut_floats", ctypes.c_uint64),
                ("out_floats", ctypes.c_uint64), ("spans", Span * 8)]
def good():
    h = Hello(model=b"squeezenet11", name=b"bad", seed=1, first=32, last=38, level=1,
              in_floats=13 * 13 * 512, out_floats=1000, nr_spans=1)
    h.spans[0] = Span(0, 1000)
    return h
def via_lib(case, h):
    err, conn = ctypes.create_string_buffer(512), ctypes.c_void_p()
    r = lib.triage_gpud_open(ctypes.byref(h), None, ctypes.byref(conn), err, 512)
    print(case, r, err.value.decode())
    if r == 0:
        lib.triage_gpud_close(conn)
def raw(case, data, fds):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    socket.send_fds(s, [data], fds)
    s.settimeout(10)
    r = s.recv(4096)
    status = int.from_bytes(r[8:12], "little", signed=True) if len(r) >= 12 else None
    print(case, status, r[80:280].split(b"\0")[0].decode(errors="replace"))
    s.close()
h = good(); h.in_floats = 5; via_lib("sizes", h)
h = good(); h.model = b"nosuchmodel"; via_lib("model", h)
h = good(); h.first = 30; via_lib("stage", h)
h = good(); h.spans[0] = Span(3, 1000); via_lib("spans", h)
h = good(); h.level = 7; via_lib("level", h)
h = good(); h.magic, h.abi = 0x44505254, 1
fd = os.memfd_create("unsealed")
os.ftruncate(fd, 1 << 22)
raw("unsealed", bytes(h), [fd, os.eventfd(0)])
h.abi = 2
raw("abi", bytes(h), [fd, os.eventfd(0)])
h.abi = 1
raw("short", bytes(h)[:100], [fd, os.eventfd(0)])
raw("nofds", bytes(h), [])
via_lib("good", good())
PY
fails=
expect() { # CASE STATUS TEXT
	grep -q "^$1 $2 .*$3" "$TMP/bad.out" || fails="$fails $1"
}
expect sizes -22 'take 86528 floats in'
expect model -2 'nosuchmodel'
expect stage -22 'no stage'
expect spans -22 'spans disagree'
expect level -22 'level 7'
expect unsealed -1 'not sealed'
expect abi -71 'ABI 2'
expect short -22 'a hello of 100 bytes'
expect nofds -22 'without its file'
expect good 0 ''
if [ -z "$fails" ] && kill -0 "$GPUD_PID"; then
	ok "gpud: malformed hellos (sizes, model, stage, spans, level, unsealed file, ABI, short, no fds) refused naming what, gpud serves on"
else
	not_ok "gpud: malformed hellos" "wrong answers:$fails: $(tr '\n' ';' <"$TMP/bad.out")"
fi

# --- --profile: the GPU unit into the planner's profile, the CPU units kept ----------
# (While gpud serves: the profile warns that it measures a shared GPU.)
cp "$(dirname "$0")/../../models/platforms/host.json" "$TMP/host.json"
timeout 120 "$GPUD" --profile --output "$TMP/host.json" >"$TMP/profile.log" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q 'profile of .* written to' "$TMP/profile.log" &&
	grep -q 'measures the GPU as it shares it' "$TMP/profile.log" &&
	jq -e '([.units[] | select(.kind == "gpu" and .gflops.conv > 0 and .launch_us > 0)] | length) == 1
		and ([.units[] | select(.kind == "cpu")] | length) >= 1 and .transfers.gpu != null' 		"$TMP/host.json" >/dev/null; then
	ok "gpud: --profile writes one measured GPU unit and its hand-overs into the profile, keeping its CPU units"
else
	not_ok "gpud: --profile" "exit $rc: $(tail -n 2 "$TMP/profile.log" | tr '\n' ' ')"
fi
"$GPUD" --output x >"$TMP/usage.log" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q -- '--output goes with --profile' "$TMP/usage.log"; then
	ok "gpud: bad usage exits 2 naming the option"
else
	not_ok "gpud: bad usage" "exit $rc: $(head -n 1 "$TMP/usage.log")"
fi

# --- SIGTERM: clean exit, socket and pid file gone ------------------------------------
kill -TERM "$GPUD_PID"
wait "$GPUD_PID"
rc=$?
GPUD_PID=
if [ $rc -eq 0 ] && [ ! -e "$TRIAGE_RUN_DIR/gpud.sock" ] && [ ! -e "$TRIAGE_RUN_DIR/gpud.pid" ]; then
	ok "gpud: SIGTERM exits 0 and removes its socket and pid file"
else
	not_ok "gpud: SIGTERM" "exit $rc; $(ls "$TRIAGE_RUN_DIR")"
fi

# --- no driver: exit 3 with one line --------------------------------------------------
TRIAGE_LIBCUDA=$TMP/none.so timeout 20 "$GPUD" >"$TMP/nodrv.log" 2>&1
rc=$?
if [ $rc -eq 3 ] && [ "$(wc -l <"$TMP/nodrv.log")" -eq 1 ] && grep -q 'no CUDA driver' "$TMP/nodrv.log"; then
	ok "gpud: without a driver it exits 3 with one line"
else
	not_ok "gpud: without a driver" "exit $rc: $(cat "$TMP/nodrv.log" | tr '\n' ' ')"
fi
exit $((T_FAILED > 0))
