/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A zoo model on the GPU: device buffers for its input, every layer's
 * output and its parameters (random, from a fixed seed: the runtime
 * schedules kernels, what they compute need only be deterministic), and
 * the sequence of elastic kernel launches that runs one inference, built
 * with cuda/kernels/kernels.h from the model's layers.
 *
 * Every layer writes its own buffer and nothing is overwritten within an
 * inference, so an inference run twice, sliced any way, gives the same
 * bits: what the GPU tests compare.
 */
#ifndef TRIAGE_CUDA_GPU_DNN_H
#define TRIAGE_CUDA_GPU_DNN_H

#include <stdbool.h>
#include <stdint.h>

#include "device.h"
#include "kernels/kernels.h"
#include "zoo.h"

/* A quiet NaN whose payload no kernel produces. */
#define GPU_DNN_POISON 0x7fc0dea1u

/* One launch of one inference, in order. */
struct gpu_kernel {
	struct tk_launch launch;
	uint32_t logical_blocks;
	int layer; /* the zoo layer it computes (part of) */
};

struct gpu_dnn {
	char name[PLAN_NAME_MAX];
	struct dnn_model *model;
	uint64_t seed;
	int first, last; /* the layers it runs (all, but for a stage) */
	bool borrowed_weights; /* weights and biases are another's (gpu_dnn_build_sharing) */
	uint8_t *placed;       /* [nr_layers]: outputs[i] is the caller's memory */
	int nr_kernels;
	struct gpu_kernel *kernels;
	CUdeviceptr input;    /* the model's input; 0 for a stage that starts later */
	CUdeviceptr *outputs; /* [nr_layers]; a stage's: its layers' and layer first - 1's */
	CUdeviceptr *weights; /* [nr_layers], 0 for none */
	CUdeviceptr *biases;  /* [nr_layers], 0 for none */
	double device_bytes;
	double flops; /* of one inference, from the zoo */
};

/* Loads model name from the zoo directory dir (NULL: zoo_default_dir()) and
 * builds it on g. Returns 0, or a negative errno with one line in err. */
int gpu_dnn_load(struct gpu_device *g, const char *dir, const char *name, uint64_t seed,
		 struct gpu_dnn *d, char *err, size_t errlen);

/* The same from a model in memory (it must pass dnn_model_check()); the
 * model is copied. */
int gpu_dnn_build(struct gpu_device *g, const struct dnn_model *m, uint64_t seed,
		  struct gpu_dnn *d, char *err, size_t errlen);

/* One stage of m, as triage-gpud runs it: layers first..last only (a
 * stage reads nothing from before first but the tensor of layer first - 1,
 * or the model's input when first is 0), with the CPU executor's weights
 * (exec_layer_params() from seed), so that its outputs match a CPU
 * stage's. The input is not filled: gpud copies each request's in. */
int gpu_dnn_build_stage(struct gpu_device *g, const struct dnn_model *m, uint64_t seed, int first,
			int last, struct gpu_dnn *d, char *err, size_t errlen);

/* The weights of a stage alone (no tensors, no kernels: it runs nothing),
 * for stages that share them: gpu_dnn_build_sharing(). */
int gpu_dnn_build_weights(struct gpu_device *g, const struct dnn_model *m, uint64_t seed,
			  int first, int last, struct gpu_dnn *d, char *err, size_t errlen);

/* Layer outputs a stage writes where the caller says (zero copy: host
 * memory mapped into the GPU), not in buffers of its own. */
#define GPU_DNN_MAX_PLACED 9
struct gpu_dnn_place {
	int nr;
	int layer[GPU_DNN_MAX_PLACED];
	CUdeviceptr at[GPU_DNN_MAX_PLACED];
};

/* A stage of from's model, seed and layers with from's weights: only its
 * own tensors are allocated, but those place (may be NULL) puts
 * elsewhere. from and the placed memory must outlive d. */
int gpu_dnn_build_sharing(struct gpu_device *g, const struct gpu_dnn *from,
			  const struct gpu_dnn_place *place, struct gpu_dnn *d, char *err,
			  size_t errlen);

/* Where a stage's input goes: the model's input, or layer first - 1's. */
CUdeviceptr gpu_dnn_stage_input(const struct gpu_dnn *d);

void gpu_dnn_free(struct gpu_dnn *d);

/* The values gpu_dnn_build() put on the GPU, made again on the host (the
 * CPU reference runs on them): the input, and layer i's weight and bias
 * (elements from tk_layer_param_elems()). */
void gpu_dnn_host_input(const struct gpu_dnn *d, float *in);
void gpu_dnn_host_params(const struct gpu_dnn *d, int layer, float *weight, float *bias);

/* Copies layer's output tensor to the host: n elements of its shape. */
int gpu_dnn_read(const struct gpu_dnn *d, int layer, float *out, size_t n, char *err,
		 size_t errlen);

/* Fills every layer's output with a NaN bit pattern, so that a test can
 * tell a block that never ran from one that computed the same values. */
int gpu_dnn_poison(const struct gpu_dnn *d, char *err, size_t errlen);

/* Elements of layer's output (DNN_INPUT: the input). */
int64_t gpu_dnn_tensor_elems(const struct gpu_dnn *d, int layer);

#endif
