# cuda/runtime.mk: the GPU runtime, coordinator and benchmark (docs/gpu.md).
#
# Pure C parts (slice planning, the GPU shares seqlock)
# go into libtriage.a, so the unit tests and the agent reach them on any
# machine. The driver-API parts include the toolkit's cuda.h for its types
# (the driver itself is dlopen'ed at run time, never linked), so they,
# build/triage-gpubench and build/gpu-tests are built only where
# $(CUDA_HOME)/include/cuda.h exists; elsewhere the build says so in one line.

CUDA_HOME ?= /usr/local/cuda

CUDA_LIB_SRC += cuda/slice.c cuda/gpu_shares.c cuda/gpud_stats.c cuda/gpu_board.c

CUDA_RT_SRC := cuda/cudrv.c cuda/device.c cuda/greenctx.c cuda/gpu_dnn.c cuda/coord.c \
	       cuda/coord_launch.c cuda/coord_serve.c cuda/gpu_profile.c
CUDA_RT_OBJ := $(patsubst cuda/%.c,$(OBJ)/cuda-rt/%.o,$(CUDA_RT_SRC))
CUDA_RT_LIB := $(BUILD)/libtriage-gpu.a

ifneq ($(wildcard $(CUDA_HOME)/include/cuda.h),)
CUDA_TARGETS += $(BUILD)/triage-gpubench $(BUILD)/gpu-tests $(BUILD)/triage-gpud

$(OBJ)/cuda-rt/%.o: cuda/%.c
	@mkdir -p $(dir $@)
	@echo "  CC    $@"
	@$(CC) $(CFLAGS) $(INC_cuda) -I$(CUDA_HOME)/include $(DEPFLAGS) -c $< -o $@

$(OBJ)/tools/gpubench.o $(OBJ)/tools/triage_gpud.o: PART_INC = $(INC_tools) -I$(CUDA_HOME)/include
$(OBJ)/tests/gpu/%.o: PART_INC = $(INC_all) -I$(CUDA_HOME)/include -iquote tests/gpu

$(CUDA_RT_LIB): $(CUDA_RT_OBJ)
	@ar rcs $@ $^

$(BUILD)/triage-gpubench: $(OBJ)/tools/gpubench.o $(CUDA_RT_LIB) $(BUILD)/libtriage.a
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -ldl

# The GPU daemon (tools/triage_gpud.c, docs/gpud.md).
$(BUILD)/triage-gpud: $(OBJ)/tools/triage_gpud.o $(CUDA_RT_LIB) $(BUILD)/libtriage.a
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -ldl

# The GPU tests: TAP-like lines, run by tests/gpu/run.
$(BUILD)/gpu-tests: $(call obj,$(wildcard tests/gpu/*.c)) $(CUDA_RT_LIB) $(BUILD)/libtriage.a
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -ldl
else
CUDA_TARGETS += cuda-runtime-skipped

.PHONY: cuda-runtime-skipped
cuda-runtime-skipped:
	@echo "cuda: no $(CUDA_HOME)/include/cuda.h: GPU runtime, triage-gpud, triage-gpubench and gpu-tests not built; install the CUDA toolkit or set CUDA_HOME"
endif

# A CPU stand-in for libcuda.so.1 (tests/gpu/fake/libcuda.c): the runtime,
# coordinator, GPU tests and benchmark run end to end without a GPU
# through TRIAGE_LIBCUDA (tests/e2e/cuda-runtime.sh).
ifneq ($(wildcard $(CUDA_HOME)/include/cuda.h),)
CUDA_TARGETS += $(BUILD)/fake-libcuda.so

$(OBJ)/pic/tests/gpu/fake/libcuda.o: tests/gpu/fake/libcuda.c
	@mkdir -p $(dir $@)
	@echo "  CC    $@"
	@$(CC) $(CFLAGS) -Iinclude -iquote lib -iquote cuda -I$(CUDA_HOME)/include $(DEPFLAGS) -fPIC -c $< -o $@

$(BUILD)/fake-libcuda.so: $(OBJ)/pic/tests/gpu/fake/libcuda.o $(OBJ)/pic/lib/clock.o
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) -shared -Wl,-Bsymbolic $^ -o $@ -lm
endif
