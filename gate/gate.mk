# gate/gate.mk: libtriage-gate.so, the launch gate for unmodified CUDA
# programs (LD_PRELOAD; gate/README.md, docs/gpu.md "The launch gate").
#
# It includes the toolkit's cuda.h for the driver's types (the driver is
# dlopen'ed at run time, never linked), so it is built only where
# $(CUDA_HOME)/include/cuda.h exists, as the GPU runtime is.

GATE_SRC := $(wildcard gate/*.c)
# The board and the shares reader, from cuda/, position-independent.
GATE_CUDA_SRC := cuda/gpu_board.c cuda/gpu_shares.c

ifneq ($(wildcard $(CUDA_HOME)/include/cuda.h),)
CUDA_TARGETS += $(BUILD)/libtriage-gate.so

# Hidden by default: the library exports only its hooks.
$(OBJ)/pic/gate/%.o: gate/%.c
	@mkdir -p $(@D)
	@echo "  CC    $@"
	@$(CC) $(CFLAGS) $(INC_gate) -I$(CUDA_HOME)/include $(DEPFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(OBJ)/pic/cuda/%.o: cuda/%.c
	@mkdir -p $(@D)
	@echo "  CC    $@"
	@$(CC) $(CFLAGS) $(INC_cuda) $(DEPFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(BUILD)/libtriage-gate.so: $(patsubst %.c,$(OBJ)/pic/%.o,$(GATE_SRC) $(GATE_CUDA_SRC)) \
			    $(BUILD)/libtriage-pic.a
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) -shared -Wl,-soname,libtriage-gate.so -Wl,--no-undefined $^ -o $@ -ldl -lpthread
endif

# The gate's test programs (tests/e2e/gate.sh, bench/gpu-gate): a driver-API
# program that finds the driver as real ones do (gate-app; gate-app-linked
# is linked against the stand-in driver), and the board by hand.
ifneq ($(wildcard $(CUDA_HOME)/include/cuda.h),)
CUDA_TARGETS += $(BUILD)/gate-app $(BUILD)/gate-app-linked $(BUILD)/gate-board

$(OBJ)/tests/gate/gate_app.o: PART_INC = $(INC_all) -I$(CUDA_HOME)/include
$(OBJ)/tests/gate/gate_app_linked.o: tests/gate/gate_app.c
	@mkdir -p $(@D)
	@echo "  CC    $@"
	@$(CC) $(CFLAGS) $(INC_lib) -I$(CUDA_HOME)/include -DGATE_APP_LINKED $(DEPFLAGS) -c $< -o $@

$(BUILD)/gate-app: $(OBJ)/tests/gate/gate_app.o $(BUILD)/libtriage-pic.a
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $^ -o $@ -ldl

# DT_NEEDED on libcuda.so.1, found beside it (the stand-in under that name).
$(BUILD)/gate-app-linked: $(OBJ)/tests/gate/gate_app_linked.o $(BUILD)/libtriage-pic.a \
			  $(BUILD)/fake-libcuda.so
	@echo "  LD    $@"
	@mkdir -p $(BUILD)/gate-lib
	@ln -sf ../fake-libcuda.so $(BUILD)/gate-lib/libcuda.so.1
	@$(CC) $(CFLAGS) $< $(BUILD)/libtriage-pic.a -o $@ -L$(BUILD)/gate-lib -l:libcuda.so.1 \
		-Wl,-rpath,'$$ORIGIN/gate-lib' -ldl

$(BUILD)/gate-board: $(OBJ)/tests/gate/board_tool.o $(OBJ)/cuda/gpu_board.o $(OBJ)/cuda/gpu_shares.o \
		     $(BUILD)/libtriage-pic.a
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $^ -o $@
endif
