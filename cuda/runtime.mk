# cuda/runtime.mk: the GPU runtime, coordinator and benchmark (docs/gpu.md).
# Pure C parts (slice planning, the GPU shares seqlock) go into libtriage.a
# so the unit tests and the agent reach them.
CUDA_LIB_SRC += cuda/slice.c cuda/gpu_shares.c
