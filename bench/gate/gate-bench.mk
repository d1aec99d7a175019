# bench/gate/gate-bench.mk: bench/gpu-gate's GPU program, $(BUILD)/bench/gemm-app
# (bench/gate/gemm_app.cu): an ordinary CUDA runtime program with cuBLAS
# SGEMMs, which the benchmark runs as it is under the launch gate, MPS,
# both or neither. The Makefile includes it after cuda/*.mk and gate/*.mk.
#
# nvcc's defaults on purpose: the static CUDA runtime (-cudart static),
# which reaches the driver by dlopen, dlsym and cuGetProcAddress as most
# shipped programs do. cuBLAS static where the toolkit has its archives,
# else shared with an rpath to the toolkit (CUDA 13's x86 toolkit ships
# only the shared one). SASS for the targets cuda/kernels.mk builds
# (TK_SASS) and PTX for the others (TK_PTX), with TK_NVCC, the nvcc that
# cuda/kernels.mk found. Without nvcc, or without cuBLAS, the build says
# so in one line.

GEMM_APP := $(BUILD)/bench/gemm-app
GEMM_APP_SRC := bench/gate/gemm_app.cu
GEMM_APP_CUDA_LIB := $(firstword $(wildcard $(CUDA_HOME)/lib64 $(CUDA_HOME)/lib))
GEMM_APP_FLAGS := -O2 -std=c++17 -Werror all-warnings -Xcompiler -Wall,-Wextra \
	$(foreach a,$(TK_SASS),-gencode arch=compute_$(a),code=sm_$(a)) \
	$(foreach a,$(TK_PTX),-gencode arch=compute_$(a),code=compute_$(a))

ifneq ($(wildcard $(GEMM_APP_CUDA_LIB)/libcublas_static.a),)
GEMM_APP_LIBS := -lcublas_static -lcublasLt_static -lculibos
else
GEMM_APP_LIBS := -lcublas -Xlinker -rpath=$(GEMM_APP_CUDA_LIB)
endif

GEMM_APP_WHY_NOT := $(if $(TK_NVCC),$(if $(wildcard $(CUDA_HOME)/include/cublas_v2.h),$(if \
	$(wildcard $(GEMM_APP_CUDA_LIB)/libcublas.so $(GEMM_APP_CUDA_LIB)/libcublas_static.a),,no \
	cuBLAS library in $(CUDA_HOME)/lib64),no $(CUDA_HOME)/include/cublas_v2.h),nvcc not found)

ifeq ($(GEMM_APP_WHY_NOT),)
CUDA_TARGETS += $(GEMM_APP)

# lib/'s clock (mono_s), the one the rest of the project times with.
$(GEMM_APP): $(GEMM_APP_SRC) bench/gate/gate-bench.mk $(OBJ)/lib/clock.o
	@mkdir -p $(@D)
	@echo "  NVCC  $@"
	@$(TK_NVCC) $(GEMM_APP_FLAGS) -Iinclude -Ilib $< $(OBJ)/lib/clock.o -o $@ \
		-L$(GEMM_APP_CUDA_LIB) $(GEMM_APP_LIBS)
else
CUDA_TARGETS += gemm-app-skipped

.PHONY: gemm-app-skipped
gemm-app-skipped:
	@echo "bench: $(GEMM_APP_WHY_NOT): $(GEMM_APP) (bench/gpu-gate's GPU program) not built; install the CUDA toolkit with cuBLAS or set NVCC and CUDA_HOME"
endif
