// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Whole zoo models on the GPU against the CPU reference, layer by layer:
 * each layer's GPU output is compared with ref_layer() run on the GPU's
 * own inputs to that layer, so that an error is pinned to the layer that
 * made it instead of spreading through the network. The models together
 * hold every layer type of the zoo (concat, slice, upsample, per-channel
 * mul, every activation), so the mapping of layers to kernels
 * (tk_layer_launches) is checked end to end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_dnn.h"
#include "ref_ops.h"
#include "gpu_tests.h"

static const char *const models[] = { "squeezenet11", "efficientnetb0", "yolov4tiny" };
#define NR_MODELS (sizeof(models) / sizeof(models[0]))

int run_whole(struct gpu_device *g, struct gpu_dnn *d, CUstream s, char *err, size_t errlen)
{
	for (int k = 0; k < d->nr_kernels; k++) {
		const struct gpu_kernel *kn = &d->kernels[k];
		int ret = gpu_launch_whole(g, kn->launch.op, kn->logical_blocks, &kn->launch.args,
					   s, err, errlen);

		if (ret)
			return ret;
	}
	return cu.StreamSynchronize(s) == CUDA_SUCCESS ? 0 : -1;
}

static float *download_tensor(const struct gpu_dnn *d, int t)
{
	size_t n = (size_t)gpu_dnn_tensor_elems(d, t);
	float *h = malloc(n * sizeof(float));
	char err[256];

	if (h && gpu_dnn_read(d, t, h, n, err, sizeof(err))) {
		fprintf(stderr, "gpu-tests: %s\n", err);
		free(h);
		return NULL;
	}
	return h;
}

/* 0 when layer i agrees; else 1 with the reason in why. */
static int check_layer(const struct gpu_dnn *d, int i, char *why, size_t len)
{
	const struct dnn_layer *l = &d->model->layers[i];
	const float *ins[DNN_MAX_INPUTS] = { 0 };
	float *got = download_tensor(d, i), *want, *w = NULL, *b = NULL;
	size_t n = (size_t)gpu_dnn_tensor_elems(d, i), bad = 0;
	int64_t nw, nb;
	char err[256];
	int ret = 1;

	want = malloc(n * sizeof(float));
	tk_layer_param_elems(d->model, i, &nw, &nb);
	w = nw ? malloc((size_t)nw * sizeof(float)) : NULL;
	b = nb ? malloc((size_t)nb * sizeof(float)) : NULL;
	gpu_dnn_host_params(d, i, w, b);
	for (int k = 0; k < l->nr_inputs; k++)
		ins[k] = download_tensor(d, l->inputs[k]);
	if (!got || !want) {
		snprintf(why, len, "layer %d (%s): cannot read it", i, l->name);
		goto out;
	}
	if (ref_layer(d->model, i, ins, w, b, want, err, sizeof(err))) {
		snprintf(why, len, "layer %d (%s): %s", i, l->name, err);
		goto out;
	}
	/* Long dot products (up to 4608 terms) summed in another order with
	 * FMA: relative error of a few 1e-6, well under this. */
	if (!close_enough(got, want, n, 1e-4, 1e-3, &bad)) {
		snprintf(why, len, "layer %d (%s, %s): element %zu is %.7g, the CPU reference %.7g",
			 i, l->name, dnn_layer_type_name(l->type), bad, got[bad], want[bad]);
		goto out;
	}
	ret = 0;
out:
	for (int k = 0; k < l->nr_inputs; k++)
		free((void *)ins[k]);
	free(got);
	free(want);
	free(w);
	free(b);
	return ret;
}

void test_zoo_reference(struct gpu_device *g)
{
	char err[512], why[512];
	CUstream s;

	if (gpu_stream_create_default(g, &s, err, sizeof(err))) {
		tap_not_ok("zoo models: %s", err);
		return;
	}
	/* Light: the first model alone (the CPU fake driver runs them slowly). */
	for (size_t m = 0; m < (tests_light ? 1 : NR_MODELS); m++) {
		struct gpu_dnn d;
		int failed = 0;

		if (gpu_dnn_load(g, NULL, models[m], 42, &d, err, sizeof(err))) {
			tap_not_ok("zoo %s against the CPU reference: %s", models[m], err);
			continue;
		}
		if (gpu_dnn_poison(&d, err, sizeof(err)) || run_whole(g, &d, s, err, sizeof(err))) {
			tap_not_ok("zoo %s against the CPU reference: %s", models[m], err);
			gpu_dnn_free(&d);
			continue;
		}
		for (int i = 0; i < d.model->nr_layers && !failed; i++)
			failed = check_layer(&d, i, why, sizeof(why));
		if (failed)
			tap_not_ok("zoo %s against the CPU reference: %s", models[m], why);
		else
			tap_ok("zoo %s against the CPU reference, layer by layer (%d layers, %d "
			       "kernels)",
			       models[m], d.model->nr_layers, d.nr_kernels);
		gpu_dnn_free(&d);
	}
	cu.StreamDestroy(s);
}
