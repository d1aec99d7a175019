// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Reference operators (exec/ref_ops.h): straight loop nests over the output,
 * each index computed from the layout rule in full at the point of use, so
 * that a reader can check them against docs/models.md line by line. They
 * are written apart from the kernels' bodies (cuda/kernels/ops.h) on
 * purpose: a test that compared a body with itself would prove nothing.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ref_ops.h"

int ref_window_out(int size, int k, int s, int d, int pad0, int pad1)
{
	int span = size + pad0 + pad1 - d * (k - 1) - 1;

	return span < 0 ? 0 : span / s + 1;
}

static float sigmoid(float x)
{
	return 1.0f / (1.0f + expf(-x));
}

float ref_act(float x, enum dnn_act act, float alpha)
{
	switch (act) {
	case DNN_ACT_NONE:
		return x;
	case DNN_ACT_RELU:
		return fmaxf(x, 0.0f);
	case DNN_ACT_RELU6:
		return fminf(fmaxf(x, 0.0f), 6.0f);
	case DNN_ACT_LEAKY:
		return x < 0.0f ? alpha * x : x;
	case DNN_ACT_SWISH:
		return x * sigmoid(x);
	case DNN_ACT_SIGMOID:
		return sigmoid(x);
	case DNN_ACT__COUNT:
		break;
	}
	return x;
}

/* Element (y, x, ch) of an NHWC tensor of width w and c channels. */
static size_t at(int y, int x, int ch, int w, int c)
{
	return ((size_t)y * w + x) * c + ch;
}

/* The sum of output (oy, ox, o) of a convolution, before bias and activation. */
static float conv_sum(const float *in, int h, int w, int c, const float *weight, int oc, int groups,
		      const struct ref_window *win, int oy, int ox, int o)
{
	int in_per_group = c / groups, group = o / (oc / groups);
	float sum = 0.0f;

	for (int ky = 0; ky < win->kh; ky++)
		for (int kx = 0; kx < win->kw; kx++) {
			int y = oy * win->sh + ky * win->dh - win->pad_top;
			int x = ox * win->sw + kx * win->dw - win->pad_left;

			if (y < 0 || y >= h || x < 0 || x >= w)
				continue;
			for (int k = 0; k < in_per_group; k++) {
				/* weight [OC][KH][KW][IC/groups] */
				size_t wi =
				    (((size_t)o * win->kh + ky) * win->kw + kx) * in_per_group + k;

				sum += weight[wi] * in[at(y, x, group * in_per_group + k, w, c)];
			}
		}
	return sum;
}

void ref_conv2d(const float *in, int h, int w, int c, const float *weight, const float *bias,
		int oc, int groups, const struct ref_window *win, enum dnn_act act, float alpha,
		float *out, int oh, int ow)
{
	for (int oy = 0; oy < oh; oy++)
		for (int ox = 0; ox < ow; ox++)
			for (int o = 0; o < oc; o++) {
				float sum =
				    conv_sum(in, h, w, c, weight, oc, groups, win, oy, ox, o);

				if (bias)
					sum += bias[o];
				out[at(oy, ox, o, ow, oc)] = ref_act(sum, act, alpha);
			}
}

void ref_fc(const float *in, int in_features, const float *weight, const float *bias,
	    int out_features, enum dnn_act act, float alpha, float *out)
{
	for (int o = 0; o < out_features; o++) {
		float sum = 0.0f;

		for (int i = 0; i < in_features; i++)
			sum += weight[(size_t)o * in_features + i] * in[i];
		if (bias)
			sum += bias[o];
		out[o] = ref_act(sum, act, alpha);
	}
}

void ref_maxpool(const float *in, int h, int w, int c, const struct ref_window *win, float *out,
		 int oh, int ow)
{
	for (int oy = 0; oy < oh; oy++)
		for (int ox = 0; ox < ow; ox++)
			for (int ch = 0; ch < c; ch++) {
				float best = -INFINITY;

				for (int ky = 0; ky < win->kh; ky++)
					for (int kx = 0; kx < win->kw; kx++) {
						int y = oy * win->sh + ky - win->pad_top;
						int x = ox * win->sw + kx - win->pad_left;

						if (y >= 0 && y < h && x >= 0 && x < w)
							best = fmaxf(best, in[at(y, x, ch, w, c)]);
					}
				out[at(oy, ox, ch, ow, c)] = best;
			}
}

void ref_avgpool(const float *in, int h, int w, int c, const struct ref_window *win, bool count_pad,
		 float *out, int oh, int ow)
{
	for (int oy = 0; oy < oh; oy++)
		for (int ox = 0; ox < ow; ox++)
			for (int ch = 0; ch < c; ch++) {
				float sum = 0.0f;
				int n = 0;

				for (int ky = 0; ky < win->kh; ky++)
					for (int kx = 0; kx < win->kw; kx++) {
						int y = oy * win->sh + ky - win->pad_top;
						int x = ox * win->sw + kx - win->pad_left;

						if (y >= 0 && y < h && x >= 0 && x < w) {
							sum += in[at(y, x, ch, w, c)];
							n++;
						}
					}
				if (count_pad)
					n = win->kh * win->kw;
				out[at(oy, ox, ch, ow, c)] = n ? sum / (float)n : 0.0f;
			}
}

void ref_gavgpool(const float *in, int h, int w, int c, float *out)
{
	for (int ch = 0; ch < c; ch++) {
		float sum = 0.0f;

		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++)
				sum += in[at(y, x, ch, w, c)];
		out[ch] = sum / (float)(h * w);
	}
}

void ref_add(const float *a, const float *b, size_t n, enum dnn_act act, float alpha, float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = ref_act(a[i] + b[i], act, alpha);
}

void ref_mul(const float *a, const float *b, size_t n, int c, bool b_per_channel, enum dnn_act act,
	     float alpha, float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = ref_act(a[i] * b[b_per_channel ? i % (size_t)c : i], act, alpha);
}

void ref_activation(const float *in, size_t n, enum dnn_act act, float alpha, float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = ref_act(in[i], act, alpha);
}

void ref_concat(const float *const *ins, const int *cs, int nr, int h, int w, float *out)
{
	int total = 0;

	for (int k = 0; k < nr; k++)
		total += cs[k];
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int dst = 0;

			for (int k = 0; k < nr; k++)
				for (int ch = 0; ch < cs[k]; ch++)
					out[at(y, x, dst++, w, total)] =
					    ins[k][at(y, x, ch, w, cs[k])];
		}
}

void ref_slice(const float *in, int h, int w, int c, int c_begin, int c_end, float *out)
{
	int n = c_end - c_begin;

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			for (int ch = 0; ch < n; ch++)
				out[at(y, x, ch, w, n)] = in[at(y, x, c_begin + ch, w, c)];
}

void ref_upsample(const float *in, int h, int w, int c, int scale, float *out)
{
	for (int y = 0; y < h * scale; y++)
		for (int x = 0; x < w * scale; x++)
			for (int ch = 0; ch < c; ch++)
				out[at(y, x, ch, w * scale, c)] =
				    in[at(y / scale, x / scale, ch, w, c)];
}

void ref_softmax(const float *in, int pixels, int c, float *out)
{
	for (int p = 0; p < pixels; p++) {
		const float *v = in + (size_t)p * c;
		float *o = out + (size_t)p * c;
		float top = -INFINITY, sum = 0.0f;

		for (int ch = 0; ch < c; ch++)
			top = fmaxf(top, v[ch]);
		for (int ch = 0; ch < c; ch++)
			sum += expf(v[ch] - top);
		for (int ch = 0; ch < c; ch++)
			o[ch] = expf(v[ch] - top) / sum;
	}
}

static void layer_window(const struct dnn_layer *l, bool dilated, struct ref_window *win)
{
	win->kh = l->kernel[0];
	win->kw = l->kernel[1];
	win->sh = l->stride[0];
	win->sw = l->stride[1];
	win->dh = dilated ? l->dilation[0] : 1;
	win->dw = dilated ? l->dilation[1] : 1;
	win->pad_top = l->pad[0];
	win->pad_left = l->pad[1];
}

int ref_layer(const struct dnn_model *m, int i, const float *const *ins, const float *weight,
	      const float *bias, float *out, char *err, size_t errlen)
{
	const struct dnn_layer *l = &m->layers[i];
	const int *in = dnn_tensor_shape(m, l->inputs[0]);
	const int *s = l->shape;
	size_t n = (size_t)s[1] * s[2] * s[3];
	float alpha = (float)l->alpha;
	struct ref_window win;
	int cs[DNN_MAX_INPUTS];

	switch (l->type) {
	case DNN_CONV:
		layer_window(l, true, &win);
		ref_conv2d(ins[0], in[1], in[2], in[3], weight, l->bias ? bias : NULL, s[3],
			   l->groups, &win, l->act, alpha, out, s[1], s[2]);
		return 0;
	case DNN_FC:
		ref_fc(ins[0], in[1] * in[2] * in[3], weight, l->bias ? bias : NULL, s[3], l->act,
		       alpha, out);
		return 0;
	case DNN_MAXPOOL:
		layer_window(l, false, &win);
		ref_maxpool(ins[0], in[1], in[2], in[3], &win, out, s[1], s[2]);
		return 0;
	case DNN_AVGPOOL:
		layer_window(l, false, &win);
		ref_avgpool(ins[0], in[1], in[2], in[3], &win, l->count_pad, out, s[1], s[2]);
		return 0;
	case DNN_GAVGPOOL:
		ref_gavgpool(ins[0], in[1], in[2], in[3], out);
		return 0;
	case DNN_ADD:
		ref_add(ins[0], ins[1], n, l->act, alpha, out);
		return 0;
	case DNN_MUL: {
		const int *b = dnn_tensor_shape(m, l->inputs[1]);
		bool per_channel = (size_t)b[1] * b[2] * b[3] != n;

		ref_mul(ins[0], ins[1], n, s[3], per_channel, l->act, alpha, out);
		return 0;
	}
	case DNN_ACT:
		ref_activation(ins[0], n, l->act, alpha, out);
		return 0;
	case DNN_CONCAT:
		for (int k = 0; k < l->nr_inputs; k++)
			cs[k] = dnn_tensor_shape(m, l->inputs[k])[3];
		ref_concat(ins, cs, l->nr_inputs, s[1], s[2], out);
		return 0;
	case DNN_SLICE:
		ref_slice(ins[0], in[1], in[2], in[3], l->channels[0], l->channels[1], out);
		return 0;
	case DNN_UPSAMPLE:
		ref_upsample(ins[0], in[1], in[2], in[3], l->scale, out);
		return 0;
	case DNN_SOFTMAX:
		ref_softmax(ins[0], s[1] * s[2], s[3], out);
		return 0;
	case DNN_LAYER__COUNT:
		break;
	}
	if (err && errlen)
		snprintf(err, errlen, "%s: layers[%d] (%s): no reference for type %d", m->name, i,
			 l->name, (int)l->type);
	return -1;
}
