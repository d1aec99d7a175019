/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Reference operators: the layers of the model zoo written as the plainest
 * loop nests over the output, on host arrays, NHWC float32 at batch 1. They
 * are the yardstick of the elastic GPU kernels (the CPU-side tests, the GPU
 * tests) and the first CPU executor, so they favour being obviously right
 * over being fast, and share no code with the kernels' bodies.
 *
 * Layouts (those of cuda/kernels/elastic.h and docs/models.md): a tensor
 * [1,H,W,C] is element (y, x, c) at (y * W + x) * C + c; conv weights are
 * [OC][KH][KW][IC/groups]; fc weights [OUT][IN] over the NHWC-flattened
 * input; a bias is [OC] or NULL for none. Output buffers never alias inputs.
 * Sums run in float in the order of the loops, as a naive kernel would.
 */
#ifndef TRIAGE_DNN_REF_OPS_H
#define TRIAGE_DNN_REF_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "zoo.h"

/* A sliding window: kernel, stride, dilation (1 for pools) and the top and
 * left padding; the bottom and right padding only show in the output size. */
struct ref_window {
	int kh, kw;
	int sh, sw;
	int dh, dw;
	int pad_top, pad_left;
};

/* floor((size + pad0 + pad1 - d * (k - 1) - 1) / s) + 1, or 0 when the
 * window does not fit: the output size of a windowed layer. */
int ref_window_out(int size, int k, int s, int d, int pad0, int pad1);

/* The zoo's activations (docs/models.md); alpha is the leaky slope. */
float ref_act(float x, enum dnn_act act, float alpha);

/* Convolution of in [h][w][c] into out [oh][ow][oc]; groups divides c and
 * oc; points of the window in the padding count as zeros. */
void ref_conv2d(const float *in, int h, int w, int c, const float *weight, const float *bias,
		int oc, int groups, const struct ref_window *win, enum dnn_act act, float alpha,
		float *out, int oh, int ow);

/* out[o] = act(bias[o] + sum_i weight[o][i] * in[i]). */
void ref_fc(const float *in, int in_features, const float *weight, const float *bias,
	    int out_features, enum dnn_act act, float alpha, float *out);

/* Windowed max; padding never wins. */
void ref_maxpool(const float *in, int h, int w, int c, const struct ref_window *win, float *out,
		 int oh, int ow);

/* Windowed mean; count_pad divides by kh * kw (PyTorch's count_include_pad),
 * else by the window's pixels inside the input. */
void ref_avgpool(const float *in, int h, int w, int c, const struct ref_window *win, bool count_pad,
		 float *out, int oh, int ow);

/* out [c]: the mean of each channel over h x w. */
void ref_gavgpool(const float *in, int h, int w, int c, float *out);

/* out = act(a + b), n elements. */
void ref_add(const float *a, const float *b, size_t n, enum dnn_act act, float alpha, float *out);

/* out = act(a * b), n elements; b_per_channel: b has c elements, one per
 * channel of a's last axis (n is a multiple of c). */
void ref_mul(const float *a, const float *b, size_t n, int c, bool b_per_channel, enum dnn_act act,
	     float alpha, float *out);

/* out = act(in), n elements. */
void ref_activation(const float *in, size_t n, enum dnn_act act, float alpha, float *out);

/* Joins nr tensors [h][w][cs[k]] along channels, in order. */
void ref_concat(const float *const *ins, const int *cs, int nr, int h, int w, float *out);

/* Channels [c_begin, c_end) of in [h][w][c]. */
void ref_slice(const float *in, int h, int w, int c, int c_begin, int c_end, float *out);

/* Nearest neighbour: in [h][w][c] into out [h * scale][w * scale][c]. */
void ref_upsample(const float *in, int h, int w, int c, int scale, float *out);

/* Softmax over the c channels of each of the pixels. */
void ref_softmax(const float *in, int pixels, int c, float *out);

/*
 * Layer i of m (which passed dnn_model_check()) on host arrays: ins[k] is
 * the tensor of inputs[k] (shapes from dnn_tensor_shape()), weight and bias
 * in the layouts above (bias NULL when the layer has none; both unused by
 * layers without parameters), out the layer's output. Returns 0, or -1 with
 * one line in err for a layer type it does not know.
 */
int ref_layer(const struct dnn_model *m, int i, const float *const *ins, const float *weight,
	      const float *bias, float *out, char *err, size_t errlen);

#endif
