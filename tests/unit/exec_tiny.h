/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Small models built in memory for the executor's tests (test_exec_ops.c,
 * test_exec.c): a layer is given its type, inputs and attributes, and the
 * builder works out its shape, FLOPs, parameters and bytes by the rules of
 * docs/models.md, so that the finished model passes dnn_model_check() and
 * each test says only what it is about. One block per layer; every layer
 * nothing reads becomes a model output.
 */
#ifndef TRIAGE_TESTS_EXEC_TINY_H
#define TRIAGE_TESTS_EXEC_TINY_H

#include <stdbool.h>
#include <stdint.h>

#include "zoo.h"

/* A fresh model named "tiny" with input [1,h,w,c]; free with
 * dnn_model_free(). */
struct dnn_model *tiny_model(int h, int w, int c);

/* Appends l (type, nr_inputs, inputs and the type's attributes; conv and fc
 * give their output channels in shape[3]); returns its index. */
int tiny_add(struct dnn_model *m, const struct dnn_layer *l);

/* Shorthands for tiny_add(). pad: [top, left, bottom, right]. */
int tiny_conv(struct dnn_model *m, int in, int out_c, int k, int stride, const int pad[4],
	      int groups, enum dnn_act act);
int tiny_pool(struct dnn_model *m, enum dnn_layer_type type, int in, int k, int stride,
	      const int pad[4], bool count_pad);

/* Outputs, blocks and cut points (after every layer where that is legal
 * when cuts is true); asserts dnn_model_check(). */
void tiny_finish(struct dnn_model *m, bool cuts);

/* n uniform floats in [lo, hi) from a fixed stream of seed. */
void tiny_fill(float *x, size_t n, uint64_t seed, float lo, float hi);

/* The largest |a - b| over n floats, and the largest |b|. */
double tiny_max_diff(const float *a, const float *b, size_t n, double *max_abs_b);

#endif
