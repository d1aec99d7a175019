// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The tiny-model builder of exec_tiny.h. Its arithmetic restates
 * docs/models.md; dnn_model_check() then checks it, so a slip here fails
 * loudly instead of testing the executor on a wrong model.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "exec_tiny.h"

struct dnn_model *tiny_model(int h, int w, int c)
{
	struct dnn_model *m = dnn_model_alloc();

	cr_assert_not_null(m);
	snprintf(m->name, sizeof(m->name), "tiny");
	snprintf(m->input_name, sizeof(m->input_name), "input");
	m->input_shape[0] = 1;
	m->input_shape[1] = h;
	m->input_shape[2] = w;
	m->input_shape[3] = c;
	return m;
}

static int window(int size, int k, int s, int d, int pad0, int pad1)
{
	return (size + pad0 + pad1 - d * (k - 1) - 1) / s + 1;
}

static double elements(const int *s)
{
	return (double)s[1] * s[2] * s[3];
}

int tiny_add(struct dnn_model *m, const struct dnn_layer *proto)
{
	int i = m->nr_layers;
	struct dnn_layer *l = &m->layers[i];
	const int *in = dnn_tensor_shape(m, proto->inputs[0]);

	cr_assert_lt(i, DNN_MAX_LAYERS);
	*l = *proto;
	snprintf(l->name, sizeof(l->name), "%s%d", dnn_layer_type_name(l->type), i);
	memcpy(l->shape, in, sizeof(l->shape));
	l->block = i;
	switch (l->type) {
	case DNN_CONV:
		l->shape[1] = window(in[1], l->kernel[0], l->stride[0], l->dilation[0], l->pad[0],
				     l->pad[2]);
		l->shape[2] = window(in[2], l->kernel[1], l->stride[1], l->dilation[1], l->pad[1],
				     l->pad[3]);
		l->shape[3] = proto->shape[3];
		l->params =
			(double)l->kernel[0] * l->kernel[1] * (in[3] / l->groups) * l->shape[3] +
			(l->bias ? l->shape[3] : 0);
		l->flops =
			2 * elements(l->shape) * l->kernel[0] * l->kernel[1] * (in[3] / l->groups);
		break;
	case DNN_FC:
		l->shape[1] = l->shape[2] = 1;
		l->shape[3] = proto->shape[3];
		l->params = elements(in) * l->shape[3] + (l->bias ? l->shape[3] : 0);
		l->flops = 2 * elements(in) * l->shape[3];
		break;
	case DNN_MAXPOOL:
	case DNN_AVGPOOL:
		l->shape[1] = window(in[1], l->kernel[0], l->stride[0], 1, l->pad[0], l->pad[2]);
		l->shape[2] = window(in[2], l->kernel[1], l->stride[1], 1, l->pad[1], l->pad[3]);
		l->flops = (double)l->kernel[0] * l->kernel[1] * elements(l->shape);
		break;
	case DNN_GAVGPOOL:
		l->shape[1] = l->shape[2] = 1;
		l->flops = elements(in);
		break;
	case DNN_CONCAT:
		l->shape[3] = 0;
		for (int k = 0; k < l->nr_inputs; k++)
			l->shape[3] += dnn_tensor_shape(m, l->inputs[k])[3];
		l->axis = 3;
		break;
	case DNN_SLICE:
		l->shape[3] = l->channels[1] - l->channels[0];
		break;
	case DNN_UPSAMPLE:
		l->shape[1] *= l->scale;
		l->shape[2] *= l->scale;
		break;
	default: /* add, mul, act, softmax: the first input's shape */
		l->flops = elements(l->shape);
		break;
	}
	l->out_bytes = 4 * elements(l->shape);
	m->nr_layers++;
	return i;
}

int tiny_conv(struct dnn_model *m, int in, int out_c, int k, int stride, const int pad[4],
	      int groups, enum dnn_act act)
{
	struct dnn_layer l = { .type = DNN_CONV,
			       .nr_inputs = 1,
			       .inputs = { in },
			       .kernel = { k, k },
			       .stride = { stride, stride },
			       .dilation = { 1, 1 },
			       .groups = groups,
			       .bias = true,
			       .act = act,
			       .alpha = act == DNN_ACT_LEAKY ? 0.1 : 0 };

	memcpy(l.pad, pad, sizeof(l.pad));
	l.shape[3] = out_c;
	return tiny_add(m, &l);
}

int tiny_pool(struct dnn_model *m, enum dnn_layer_type type, int in, int k, int stride,
	      const int pad[4], bool count_pad)
{
	struct dnn_layer l = { .type = type,
			       .nr_inputs = 1,
			       .inputs = { in },
			       .kernel = { k, k },
			       .stride = { stride, stride },
			       .count_pad = count_pad };

	memcpy(l.pad, pad, sizeof(l.pad));
	return tiny_add(m, &l);
}

void tiny_finish(struct dnn_model *m, bool cuts)
{
	char err[512] = "";

	m->nr_blocks = m->nr_layers;
	for (int b = 0; b < m->nr_blocks; b++)
		snprintf(m->blocks[b], sizeof(m->blocks[b]), "block%d", b);
	m->nr_outputs = 0;
	for (int i = 0; i < m->nr_layers; i++) {
		bool read = false;

		for (int j = i + 1; j < m->nr_layers && !read; j++)
			for (int k = 0; k < m->layers[j].nr_inputs; k++)
				read |= m->layers[j].inputs[k] == i;
		if (!read) {
			cr_assert_lt(m->nr_outputs, DNN_MAX_OUTPUTS);
			m->outputs[m->nr_outputs++] = i;
		}
	}
	for (int i = 0; cuts && i + 1 < m->nr_layers; i++) {
		int live;

		dnn_live_bytes_after(m, i, &live);
		m->layers[i].cut_after = live == 1;
	}
	cr_assert_eq(dnn_model_check(m, "tiny", err, sizeof(err)), 0, "%s", err);
}

void tiny_fill(float *x, size_t n, uint64_t seed, float lo, float hi)
{
	uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t k = 0; k < n; k++) {
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		x[k] = lo + (hi - lo) * (float)(state >> 40) / (float)(1 << 24);
	}
}

double tiny_max_diff(const float *a, const float *b, size_t n, double *max_abs_b)
{
	double worst = 0, big = 0;

	for (size_t k = 0; k < n; k++) {
		double d = fabs((double)a[k] - b[k]);

		if (!(d <= worst)) /* NaN counts as the worst */
			worst = isnan(d) ? INFINITY : d;
		if (fabs(b[k]) > big)
			big = fabs(b[k]);
	}
	if (max_abs_b)
		*max_abs_b = big;
	return worst;
}
