#!/bin/bash
# The GPU runtime end to end without a GPU: build/gpu-tests and
# build/triage-gpubench run on build/fake-libcuda.so, a CPU stand-in for
# libcuda.so.1 (tests/gpu/fake/libcuda.c) loaded through TRIAGE_LIBCUDA.
# That covers the dlopen'ed driver table, module and launch plumbing, every
# kernel through the runtime, sliced launches, every coordinator policy with
# its exactly-once checks and the GPU shares. Then both programs without
# any driver: gpu-tests one skip line, triage-gpubench exit 77. No root,
# no GPU; timings on the fake mean nothing and are not checked.
#   bash tests/e2e/cuda-runtime.sh BUILD_DIR
set -u
. "$(dirname "$0")/../lib.sh"

FAKE=$BUILD/fake-libcuda.so
if [ ! -x "$BUILD/gpu-tests" ] || [ ! -e "$FAKE" ] || [ ! -x "$BUILD/triage-gpubench" ]; then
	skip cuda-runtime "gpu-tests, triage-gpubench or fake-libcuda.so not built (no CUDA toolkit)"
	exit 0
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# --- the GPU tests on the fake driver, each line forwarded --------------------------
TRIAGE_LIBCUDA=$FAKE TRIAGE_GPU_TESTS_LIGHT=1 timeout 600 "$BUILD/gpu-tests" >"$TMP/gpu" 2>"$TMP/gpu.err"
rc=$?
# A build without nvcc embeds no kernels: nothing to run, even on the fake.
if grep -q '^skip - gpu: ' "$TMP/gpu"; then
	skip cuda-runtime "$(sed -n 's/^skip - gpu: //p' "$TMP/gpu")"
	exit 0
fi
sed -n -e 's/^ok - /ok - cuda-runtime (fake driver): /p' \
	-e 's/^not ok - /not ok - cuda-runtime (fake driver): /p' \
	-e 's/^skip - /skip - cuda-runtime (fake driver): /p' "$TMP/gpu"
T_FAILED=$((T_FAILED + $(grep -c '^not ok - ' "$TMP/gpu")))
if [ "$rc" -ne 0 ] && ! grep -q '^not ok - ' "$TMP/gpu"; then
	not_ok "cuda-runtime: gpu-tests on the fake driver" "exit $rc: $(tail -n 3 "$TMP/gpu.err" | tr '\n' ' ')"
fi
if ! grep -q '^ok - coordinator elastic' "$TMP/gpu"; then
	not_ok "cuda-runtime: the elastic coordinator ran" "no line for it"
fi

# --- the benchmark on the fake driver: every policy row and a report ----------------
if TRIAGE_LIBCUDA=$FAKE timeout 300 "$BUILD/triage-gpubench" -c squeezenet11 -b squeezenet11 \
	-r 2 -d 1 -w 0 -o "$TMP/report.md" >"$TMP/bench" 2>&1; then
	missing=
	for p in elastic sequential multistream priority greenctx; do
		grep -q "^| $p |" "$TMP/report.md" || missing="$missing $p"
	done
	if [ -z "$missing" ] && grep -q '^target: ' "$TMP/bench"; then
		ok "cuda-runtime: triage-gpubench on the fake driver, every policy in the report"
	else
		not_ok "cuda-runtime: triage-gpubench report" "rows missing:$missing"
	fi
else
	not_ok "cuda-runtime: triage-gpubench on the fake driver" "$(tail -n 2 "$TMP/bench" | tr '\n' ' ')"
fi

# --- triaged --doctor describes the GPU (no root needed) -----------------------------
out=$(TRIAGE_LIBCUDA=$FAKE "$BUILD/triaged" --doctor 2>&1 | grep '^CUDA driver')
if [[ $out == *" yes "*"triage CPU fake"*"compute capability 8.7, 16 SMs, integrated (host memory shared), driver 12.6"* ]]; then
	ok "cuda-runtime: triaged --doctor names the GPU, its compute capability, SMs and memory"
else
	not_ok "cuda-runtime: triaged --doctor on the fake driver" "$out"
fi
out=$(TRIAGE_LIBCUDA=$TMP/no-such-libcuda.so "$BUILD/triaged" --doctor 2>&1 | grep -A1 '^CUDA driver')
if [[ $out == *" NO "*"no-such-libcuda.so not found"*"GPU coordination off"* ]]; then
	ok "cuda-runtime: triaged --doctor without a driver says which library it looked for"
else
	not_ok "cuda-runtime: triaged --doctor without a driver" "$out"
fi

# --- no driver at all ------------------------------------------------------------------
out=$(TRIAGE_LIBCUDA=$TMP/no-such-libcuda.so "$BUILD/gpu-tests" 2>&1)
if [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && [[ $out == "skip - gpu: no CUDA driver: "* ]]; then
	ok "cuda-runtime: gpu-tests without a driver prints one skip line"
else
	not_ok "cuda-runtime: gpu-tests without a driver" "printed: $(printf '%s' "$out" | head -c 200)"
fi
out=$(TRIAGE_LIBCUDA=$TMP/no-such-libcuda.so "$BUILD/triage-gpubench" -d 1 2>&1)
rc=$?
if [ "$rc" -eq 77 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]; then
	ok "cuda-runtime: triage-gpubench without a driver exits 77 with one line"
else
	not_ok "cuda-runtime: triage-gpubench without a driver" "exit $rc: $out"
fi
[ "$T_FAILED" -eq 0 ]
