# cuda/runtime.mk: the GPU runtime, coordinator and benchmark (docs/gpu.md).
#
# Pure C parts (slice planning, the GPU shares seqlock, latency quantiles)
# go into libtriage.a, so the unit tests and the agent reach them on any
# machine. The driver-API parts include the toolkit's cuda.h for its types
# (the driver itself is dlopen'ed at run time, never linked), so they,
# build/triage-gpubench and build/gpu-tests are built only where
# $(CUDA_HOME)/include/cuda.h exists; elsewhere the build says so in one line.

CUDA_HOME ?= /usr/local/cuda

CUDA_LIB_SRC += cuda/slice.c cuda/gpu_shares.c cuda/latency.c

CUDA_RT_SRC := cuda/cudrv.c cuda/device.c cuda/greenctx.c cuda/gpu_dnn.c cuda/coord.c \
	       cuda/coord_launch.c
CUDA_RT_OBJ := $(patsubst cuda/%.c,$(BUILD)/cuda-rt/%.o,$(CUDA_RT_SRC))
CUDA_RT_LIB := $(BUILD)/libtriage-gpu.a

ifneq ($(wildcard $(CUDA_HOME)/include/cuda.h),)
CUDA_TARGETS += $(BUILD)/triage-gpubench $(BUILD)/gpu-tests

$(BUILD)/cuda-rt/%.o: cuda/%.c $(wildcard cuda/*.h cuda/kernels/*.h) $(wildcard include/triage/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC    $@"
	@$(CC) $(CFLAGS) -I$(CUDA_HOME)/include -c $< -o $@

$(CUDA_RT_LIB): $(CUDA_RT_OBJ)
	@ar rcs $@ $^

$(BUILD)/triage-gpubench: $(BUILD)/cuda-rt/gpubench.o $(CUDA_RT_LIB) $(BUILD)/libtriage.a
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -ldl

# The GPU tests: TAP-like lines, run by tests/gpu/run.
$(BUILD)/gpu-tests: $(wildcard tests/gpu/*.c tests/gpu/*.h) $(CUDA_RT_LIB) $(BUILD)/libtriage.a
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) -I$(CUDA_HOME)/include $(wildcard tests/gpu/*.c) $(CUDA_RT_LIB) \
		$(BUILD)/libtriage.a -o $@ $(LDLIBS) -ldl
else
CUDA_TARGETS += cuda-runtime-skipped

.PHONY: cuda-runtime-skipped
cuda-runtime-skipped:
	@echo "cuda: no $(CUDA_HOME)/include/cuda.h: GPU runtime, triage-gpubench and gpu-tests not built; install the CUDA toolkit or set CUDA_HOME"
endif

# A CPU stand-in for libcuda.so.1 (tests/gpu/fake/libcuda.c): the runtime,
# coordinator, GPU tests and benchmark run end to end without a GPU
# through TRIAGE_LIBCUDA (tests/e2e/cuda-runtime.sh).
ifneq ($(wildcard $(CUDA_HOME)/include/cuda.h),)
CUDA_TARGETS += $(BUILD)/fake-libcuda.so

$(BUILD)/fake-libcuda.so: tests/gpu/fake/libcuda.c $(wildcard cuda/kernels/*.h)
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) -I$(CUDA_HOME)/include -fPIC -shared $< -o $@ -lm
endif
