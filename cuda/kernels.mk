# cuda/kernels.mk: the elastic CUDA kernels (docs/gpu-kernels.md).
#
# Host side (names, grid sizes, zoo-layer mapping) is plain C in libtriage.a,
# built with or without nvcc. With nvcc, cuda/kernels/all.cu is compiled once
# per target, in parallel under make -j: SASS for sm_87 (Jetson Orin), sm_90
# (H100) and sm_110 (Thor), and compute_87 PTX that the driver JIT-compiles
# for any other GPU of compute capability 8.7 or later. fatbinary joins them
# into $(BUILD)/cuda/triage_kernels.fatbin, which cuda/kernels/fatbin.S
# embeds in the library. Without nvcc the embedded fatbin is empty (size 0)
# and the build says so in one line.
#
# NVCC: /usr/local/cuda/bin/nvcc when it exists, else nvcc on PATH; set it
# to use another toolkit. TK_NVCC is the one found, empty when none.

CUDA_LIB_SRC += cuda/kernels/kernels.c

ifeq ($(origin NVCC),undefined)
NVCC := $(or $(wildcard /usr/local/cuda/bin/nvcc),nvcc)
endif
TK_NVCC := $(shell command -v '$(NVCC)' 2>/dev/null)

TK_DIR := $(BUILD)/cuda/kernels
TK_FATBIN := $(BUILD)/cuda/triage_kernels.fatbin
TK_FATBIN_OBJ := $(OBJ)/cuda/kernels/fatbin.o
TK_SOURCES := $(wildcard cuda/kernels/*.cu cuda/kernels/*.cuh cuda/kernels/*.h)
TK_SASS := 87 90 110
TK_PTX := 87

# -O3 for the host pass too; no fast math: the kernels must agree with the
# CPU reference (exec/ref_ops.c) within float rounding. The fatbin is left
# uncompressed: drivers older than the toolkit load it, and the kernel
# names stay readable to tests/e2e/cuda-fatbin.sh.
TK_NVCC_FLAGS := -O3 -std=c++17 -Iinclude -Werror all-warnings -Xptxas -warn-spills
# What the driver's JIT is told about the PTX, as nvcc itself tells it.
TK_JIT_OPTIONS := -ftz=0 -prec_div=1 -prec_sqrt=1 -fmad=1

PARTS_OBJ += $(TK_FATBIN_OBJ)

ifneq ($(TK_NVCC),)
CUDA_TARGETS += $(TK_FATBIN)

$(TK_DIR)/sm_%.cubin: cuda/kernels/all.cu $(TK_SOURCES)
	@mkdir -p $(dir $@)
	@echo "  NVCC  $@"
	@$(TK_NVCC) $(TK_NVCC_FLAGS) -cubin -gencode arch=compute_$*,code=sm_$* $< -o $@

$(TK_DIR)/compute_%.ptx: cuda/kernels/all.cu $(TK_SOURCES)
	@mkdir -p $(dir $@)
	@echo "  NVCC  $@"
	@$(TK_NVCC) $(TK_NVCC_FLAGS) -ptx -arch=compute_$* $< -o $@

$(TK_FATBIN): $(foreach a,$(TK_SASS),$(TK_DIR)/sm_$(a).cubin) \
	      $(foreach a,$(TK_PTX),$(TK_DIR)/compute_$(a).ptx)
	@echo "  FATBIN $@"
	@$(dir $(TK_NVCC))fatbinary --create=$@ -64 --compress=false \
		--cicc-cmdline="$(TK_JIT_OPTIONS)" \
		$(foreach a,$(TK_PTX),--image3=kind=ptx,sm=$(a),file=$(TK_DIR)/compute_$(a).ptx) \
		$(foreach a,$(TK_SASS),--image3=kind=elf,sm=$(a),file=$(TK_DIR)/sm_$(a).cubin)

$(TK_FATBIN_OBJ): cuda/kernels/fatbin.S $(TK_FATBIN)
	@mkdir -p $(dir $@)
	@echo "  AS    $@"
	@$(CC) -c -DTK_WITH_FATBIN -Wa,-I$(BUILD)/cuda $< -o $@
else
$(TK_FATBIN_OBJ): cuda/kernels/fatbin.S
	@mkdir -p $(dir $@)
	@echo "cuda: nvcc not found, GPU kernels not built; install the CUDA toolkit or set NVCC=/path/to/nvcc"
	@$(CC) -c $< -o $@
endif
