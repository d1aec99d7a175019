// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The executor's weights and its yardstick. The zoo stores no weights, so
 * each layer draws its own from (seed, layer index) with splitmix64: the
 * numbers depend on nothing else, so every plan, every stage split and the
 * reference see the same network. Weights are He-uniform, U(-l, l) with
 * l = sqrt(6 / fan_in), which keeps activations of a ReLU network in range
 * from layer to layer (without batch norm, whose folded biases are small);
 * biases are U(-0.05, 0.05).
 *
 * exec_reference() runs the whole model through ref_layer() on those
 * weights, layer after layer, one buffer per tensor: slow and plain, which
 * is what a yardstick should be.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "ref_ops.h"

#define BIAS_RANGE 0.05f

void exec_layer_param_counts(const struct dnn_model *m, int i, size_t *nr_weight, size_t *nr_bias)
{
	const struct dnn_layer *l = &m->layers[i];
	const int *in = dnn_tensor_shape(m, l->inputs[0]);
	size_t out_channels = l->shape[3];

	*nr_weight = *nr_bias = 0;
	if (l->type == DNN_CONV)
		*nr_weight = out_channels * l->kernel[0] * l->kernel[1] * (in[3] / l->groups);
	else if (l->type == DNN_FC)
		*nr_weight = out_channels * in[1] * in[2] * in[3];
	else
		return;
	if (l->bias)
		*nr_bias = out_channels;
}

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [-1, 1): 24 random bits, exact in a float. */
static float uniform(uint64_t *state)
{
	return (float)(splitmix64(state) >> 40) * (1.0f / (1 << 23)) - 1.0f;
}

void exec_layer_params(const struct dnn_model *m, int i, uint64_t seed, float *weight, float *bias)
{
	size_t nr_weight, nr_bias, fan_in;
	uint64_t state = seed;
	float limit;

	exec_layer_param_counts(m, i, &nr_weight, &nr_bias);
	if (!nr_weight)
		return;
	/* A stream of its own per layer: mix the index in, then skip ahead
	 * once so that neighbouring layers' streams do not start alike. */
	state ^= splitmix64(&(uint64_t){ (uint64_t)i + 1 });
	splitmix64(&state);
	fan_in = nr_weight / m->layers[i].shape[3];
	limit = sqrtf(6.0f / (float)fan_in);
	for (size_t k = 0; k < nr_weight; k++)
		weight[k] = limit * uniform(&state);
	for (size_t k = 0; k < nr_bias; k++)
		bias[k] = BIAS_RANGE * uniform(&state);
}

int exec_reference(const struct dnn_model *m, uint64_t seed, const float *input, float *output,
		   char *err, size_t errlen)
{
	float **tensors = calloc(m->nr_layers, sizeof(*tensors));
	float *weight = NULL, *bias = NULL;
	size_t used = 0;
	int ret = -1;

	if (!tensors)
		goto nomem;
	for (int i = 0; i < m->nr_layers; i++) {
		const struct dnn_layer *l = &m->layers[i];
		const float *ins[DNN_MAX_INPUTS];
		size_t nr_weight, nr_bias;

		tensors[i] = malloc(sizeof(float) * l->shape[1] * l->shape[2] * l->shape[3]);
		exec_layer_param_counts(m, i, &nr_weight, &nr_bias);
		weight = nr_weight ? malloc(sizeof(float) * nr_weight) : NULL;
		bias = nr_bias ? malloc(sizeof(float) * nr_bias) : NULL;
		if (!tensors[i] || (nr_weight && !weight) || (nr_bias && !bias))
			goto nomem;
		exec_layer_params(m, i, seed, weight, bias);
		for (int k = 0; k < l->nr_inputs; k++)
			ins[k] = l->inputs[k] == DNN_INPUT ? input : tensors[l->inputs[k]];
		if (ref_layer(m, i, ins, weight, bias, tensors[i], err, errlen))
			goto out;
		free(weight);
		free(bias);
		weight = bias = NULL;
	}
	for (int o = 0; o < m->nr_outputs; o++) {
		const int *s = m->layers[m->outputs[o]].shape;
		size_t n = (size_t)s[1] * s[2] * s[3];

		memcpy(output + used, tensors[m->outputs[o]], sizeof(float) * n);
		used += n;
	}
	ret = 0;
	goto out;
nomem:
	snprintf(err, errlen, "%s: reference: out of memory", m->name);
out:
	free(weight);
	free(bias);
	for (int i = 0; tensors && i < m->nr_layers; i++)
		free(tensors[i]);
	free(tensors);
	return ret;
}
