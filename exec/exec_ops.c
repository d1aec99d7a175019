// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * One zoo layer as XNNPACK operators (the operator API of Debian 12's
 * XNNPACK, 0.0~git20220216), NHWC float32, batch 1.
 *
 * Weights are packed by XNNPACK when an operator is created, so the seeded
 * arrays of exec_layer_params() live only inside exec_op_create(). Every
 * run sets its operators up again with that inference's buffers (the slot
 * a cut tensor sits in changes from one inference to the next); setup is
 * cheap next to the run, and counted in the layer's time.
 *
 * Mapping, each checked against exec/ref_ops.c by tests/unit/test_exec_ops.c:
 *   conv      convolution2d_nhwc (groups; depthwise is groups = C with one
 *             input channel per group); relu and relu6 fused as the output
 *             clamp
 *   fc        fully_connected_nc over the NHWC-flattened input
 *   maxpool   max_pooling2d_nhwc: its padding never wins, as the zoo says
 *   avgpool   average_pooling2d_nhwc divides by the pixels inside the input
 *             (measured), which is count_pad false, and what count_pad true
 *             means too where the layer has no padding. count_pad true with
 *             padding is a depthwise convolution with weights 1/(kh*kw) and
 *             no bias: padding adds zeros, the divisor is the whole window.
 *   gavgpool  global_average_pooling_nwc over the H*W pixels
 *   add, mul  add_nd / multiply_nd, the [1,1,1,C] gate broadcast by shape
 *   concat    one copy_nc_x32 per input into its channel range (strided)
 *   slice     copy_nc_x32 from the channel range (strided)
 *   softmax   softmax_nc over the channels of each pixel
 *   act, and activations XNNPACK cannot fuse: leaky_relu_nc, sigmoid_nc,
 *             swish as sigmoid_nc then multiply_nd (x * sigmoid(x)), relu
 *             and relu6 of an act layer as clamp_nc
 * Through ref_layer() (no XNNPACK operator has the semantics):
 *   upsample  this XNNPACK resizes bilinearly only, no nearest neighbour;
 *             the zoo's one upsample (YOLOv4-tiny, 13x13x128) is small
 *   1x1 pools XNNPACK refuses a 1x1 pooling window; none is in the zoo
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_impl.h"
#include "ref_ops.h"

/*
 * Every operator is created with XNN_FLAG_YIELD_WORKERS: after each run the
 * pool's workers sleep on a futex instead of spinning for the next command.
 * Spinning workers are a disaster wherever a stage shares its CPUs (three
 * stages of two threads on two CPUs: mobilenetv2 took 380 ms an inference
 * instead of 18, squeezenet11 390 ms instead of 26) and burn CPU time the
 * scheduler would give to other tasks; sleeping costs a futex wake per
 * operator, measured at 0-4% of a lone inference (mobilenetv2 at 2 threads
 * 9.2 ms instead of 8.9, resnet18 unchanged).
 */
#define OP_FLAGS XNN_FLAG_YIELD_WORKERS

static pthread_once_t xnn_once = PTHREAD_ONCE_INIT;
static enum xnn_status xnn_init_status;

static void xnn_init_once(void)
{
	xnn_init_status = xnn_initialize(NULL);
}

static const char *status_name(enum xnn_status s)
{
	switch (s) {
	case xnn_status_success:
		return "success";
	case xnn_status_uninitialized:
		return "XNNPACK not initialized";
	case xnn_status_invalid_parameter:
		return "invalid parameter";
	case xnn_status_invalid_state:
		return "invalid state";
	case xnn_status_unsupported_parameter:
		return "unsupported parameter";
	case xnn_status_unsupported_hardware:
		return "unsupported hardware";
	case xnn_status_out_of_memory:
		return "out of memory";
	}
	return "unknown status";
}

int exec_xnn_init(char *err, size_t errlen)
{
	pthread_once(&xnn_once, xnn_init_once);
	if (xnn_init_status == xnn_status_success)
		return 0;
	snprintf(err, errlen, "XNNPACK: xnn_initialize: %s", status_name(xnn_init_status));
	return -1;
}

/* 0 on success; else -1 with "model: layers[i] (name): call: status". */
static int check(enum xnn_status s, const struct dnn_model *m, int i, const char *call, char *err,
		 size_t errlen)
{
	if (s == xnn_status_success)
		return 0;
	snprintf(err, errlen, "%s: layers[%d] (%s): %s: %s", m->name, i, m->layers[i].name, call,
		 status_name(s));
	return -1;
}

static bool act_fuses(enum dnn_act act)
{
	return act == DNN_ACT_NONE || act == DNN_ACT_RELU || act == DNN_ACT_RELU6;
}

/* The output clamp that is act: relu [0, inf), relu6 [0, 6], else none. */
static void act_range(enum dnn_act act, float *lo, float *hi)
{
	*lo = act == DNN_ACT_RELU || act == DNN_ACT_RELU6 ? 0.0f : -INFINITY;
	*hi = act == DNN_ACT_RELU6 ? 6.0f : INFINITY;
}

/* The operators of an activation applied after the layer's own. */
static int create_act(const struct dnn_model *m, int i, struct exec_op *op, char *err,
		      size_t errlen)
{
	const struct dnn_layer *l = &m->layers[i];
	size_t c = l->shape[3];
	float lo, hi;

	switch (l->act) {
	case DNN_ACT_NONE:
	case DNN_ACT__COUNT:
		return 0;
	case DNN_ACT_RELU:
	case DNN_ACT_RELU6:
		act_range(l->act, &lo, &hi);
		return check(xnn_create_clamp_nc_f32(c, c, c, lo, hi, OP_FLAGS, &op->act), m, i,
			     "xnn_create_clamp_nc_f32", err, errlen);
	case DNN_ACT_LEAKY:
		return check(
			xnn_create_leaky_relu_nc_f32(c, c, c, (float)l->alpha, OP_FLAGS, &op->act),
			m, i, "xnn_create_leaky_relu_nc_f32", err, errlen);
	case DNN_ACT_SWISH:
		if (check(xnn_create_multiply_nd_f32(-INFINITY, INFINITY, OP_FLAGS, &op->act_mul),
			  m, i, "xnn_create_multiply_nd_f32", err, errlen))
			return -1;
		/* fall through */
	case DNN_ACT_SIGMOID:
		return check(xnn_create_sigmoid_nc_f32(c, c, c, OP_FLAGS, &op->act), m, i,
			     "xnn_create_sigmoid_nc_f32", err, errlen);
	}
	return 0;
}

/* Layer i's weights and bias drawn from seed, in new buffers the caller
 * frees (XNNPACK packs its own copy at create). */
static int layer_params(const struct dnn_model *m, int i, uint64_t seed, float **weight,
			float **bias, size_t *nr_bias, char *err, size_t errlen)
{
	size_t nr_weight;

	exec_layer_param_counts(m, i, &nr_weight, nr_bias);
	*weight = malloc(sizeof(float) * nr_weight);
	*bias = malloc(sizeof(float) * (*nr_bias ? *nr_bias : 1));
	if (!*weight || !*bias) {
		free(*weight);
		free(*bias);
		snprintf(err, errlen, "%s: layers[%d] (%s): out of memory", m->name, i,
			 m->layers[i].name);
		return -1;
	}
	exec_layer_params(m, i, seed, *weight, *bias);
	return 0;
}

static int create_conv(const struct dnn_model *m, int i, uint64_t seed, struct exec_op *op,
		       float lo, float hi, char *err, size_t errlen)
{
	const struct dnn_layer *l = &m->layers[i];
	const int *in = dnn_tensor_shape(m, l->inputs[0]);
	size_t nr_bias;
	float *weight, *bias;
	int ret;

	if (layer_params(m, i, seed, &weight, &bias, &nr_bias, err, errlen))
		return -1;
	/* XNNPACK pads top, right, bottom, left; the zoo top, left, bottom, right.
	 * Weights [OC][KH][KW][IC/groups] are its [G][OC/G][KH][KW][IC/G]. */
	ret = check(xnn_create_convolution2d_nhwc_f32(
			    l->pad[0], l->pad[3], l->pad[2], l->pad[1], l->kernel[0], l->kernel[1],
			    l->stride[0], l->stride[1], l->dilation[0], l->dilation[1], l->groups,
			    in[3] / l->groups, l->shape[3] / l->groups, in[3], l->shape[3], weight,
			    nr_bias ? bias : NULL, lo, hi, OP_FLAGS, &op->main),
		    m, i, "xnn_create_convolution2d_nhwc_f32", err, errlen);
	free(weight);
	free(bias);
	return ret;
}

static int create_fc(const struct dnn_model *m, int i, uint64_t seed, struct exec_op *op, float lo,
		     float hi, char *err, size_t errlen)
{
	const struct dnn_layer *l = &m->layers[i];
	const int *in = dnn_tensor_shape(m, l->inputs[0]);
	size_t nr_in = (size_t)in[1] * in[2] * in[3], nr_bias;
	float *weight, *bias;
	int ret;

	if (layer_params(m, i, seed, &weight, &bias, &nr_bias, err, errlen))
		return -1;
	/* Weights [OUT][IN] are XNNPACK's own layout (no TRANSPOSE_WEIGHTS). */
	ret = check(xnn_create_fully_connected_nc_f32(nr_in, l->shape[3], nr_in, l->shape[3],
						      weight, nr_bias ? bias : NULL, lo, hi,
						      OP_FLAGS, &op->main),
		    m, i, "xnn_create_fully_connected_nc_f32", err, errlen);
	free(weight);
	free(bias);
	return ret;
}

/* count_pad average pooling over padding: a depthwise convolution whose
 * weights are all 1/(kh*kw). */
static int create_avgpool_dwconv(const struct dnn_model *m, int i, struct exec_op *op, char *err,
				 size_t errlen)
{
	const struct dnn_layer *l = &m->layers[i];
	size_t c = l->shape[3], taps = (size_t)l->kernel[0] * l->kernel[1];
	float *weight = malloc(sizeof(float) * c * taps);
	int ret;

	if (!weight) {
		snprintf(err, errlen, "%s: layers[%d] (%s): out of memory", m->name, i, l->name);
		return -1;
	}
	for (size_t k = 0; k < c * taps; k++)
		weight[k] = 1.0f / (float)taps;
	op->avgpool_as_dwconv = true;
	ret = check(xnn_create_convolution2d_nhwc_f32(
			    l->pad[0], l->pad[3], l->pad[2], l->pad[1], l->kernel[0], l->kernel[1],
			    l->stride[0], l->stride[1], 1, 1, c, 1, 1, c, c, weight, NULL,
			    -INFINITY, INFINITY, OP_FLAGS, &op->main),
		    m, i, "xnn_create_convolution2d_nhwc_f32 (count_pad avgpool)", err, errlen);
	free(weight);
	return ret;
}

static int create_main(const struct dnn_model *m, int i, uint64_t seed, struct exec_op *op,
		       char *err, size_t errlen)
{
	const struct dnn_layer *l = &m->layers[i];
	size_t c = l->shape[3], in_c = dnn_tensor_shape(m, l->inputs[0])[3];
	bool padded = l->pad[0] || l->pad[1] || l->pad[2] || l->pad[3];
	float lo, hi;

	act_range(act_fuses(l->act) ? l->act : DNN_ACT_NONE, &lo, &hi);
	switch (l->type) {
	case DNN_CONV:
		return create_conv(m, i, seed, op, lo, hi, err, errlen);
	case DNN_FC:
		return create_fc(m, i, seed, op, lo, hi, err, errlen);
	case DNN_MAXPOOL:
		return check(xnn_create_max_pooling2d_nhwc_f32(
				     l->pad[0], l->pad[3], l->pad[2], l->pad[1], l->kernel[0],
				     l->kernel[1], l->stride[0], l->stride[1], 1, 1, c, c, c,
				     -INFINITY, INFINITY, OP_FLAGS, &op->main),
			     m, i, "xnn_create_max_pooling2d_nhwc_f32", err, errlen);
	case DNN_AVGPOOL:
		if (l->count_pad && padded)
			return create_avgpool_dwconv(m, i, op, err, errlen);
		return check(xnn_create_average_pooling2d_nhwc_f32(
				     l->pad[0], l->pad[3], l->pad[2], l->pad[1], l->kernel[0],
				     l->kernel[1], l->stride[0], l->stride[1], c, c, c, -INFINITY,
				     INFINITY, OP_FLAGS, &op->main),
			     m, i, "xnn_create_average_pooling2d_nhwc_f32", err, errlen);
	case DNN_GAVGPOOL:
		return check(xnn_create_global_average_pooling_nwc_f32(c, c, c, -INFINITY, INFINITY,
								       OP_FLAGS, &op->main),
			     m, i, "xnn_create_global_average_pooling_nwc_f32", err, errlen);
	case DNN_ADD:
		return check(xnn_create_add_nd_f32(lo, hi, OP_FLAGS, &op->main), m, i,
			     "xnn_create_add_nd_f32", err, errlen);
	case DNN_MUL:
		return check(xnn_create_multiply_nd_f32(lo, hi, OP_FLAGS, &op->main), m, i,
			     "xnn_create_multiply_nd_f32", err, errlen);
	case DNN_CONCAT:
		for (int k = 0; k < l->nr_inputs; k++) {
			size_t part = dnn_tensor_shape(m, l->inputs[k])[3];

			if (check(xnn_create_copy_nc_x32(part, part, c, OP_FLAGS, &op->copies[k]),
				  m, i, "xnn_create_copy_nc_x32", err, errlen))
				return -1;
		}
		return 0;
	case DNN_SLICE:
		return check(xnn_create_copy_nc_x32(c, in_c, c, OP_FLAGS, &op->main), m, i,
			     "xnn_create_copy_nc_x32", err, errlen);
	case DNN_SOFTMAX:
		return check(xnn_create_softmax_nc_f32(c, c, c, OP_FLAGS, &op->main), m, i,
			     "xnn_create_softmax_nc_f32", err, errlen);
	case DNN_ACT:
	case DNN_UPSAMPLE:
	case DNN_LAYER__COUNT:
		break;
	}
	return 0;
}

int exec_op_create(const struct dnn_model *m, int i, uint64_t seed, struct exec_op *op, char *err,
		   size_t errlen)
{
	const struct dnn_layer *l = &m->layers[i];

	memset(op, 0, sizeof(*op));
	if (l->type == DNN_UPSAMPLE || ((l->type == DNN_MAXPOOL || l->type == DNN_AVGPOOL) &&
					l->kernel[0] * l->kernel[1] == 1)) {
		op->reference = true;
		return 0;
	}
	if (create_main(m, i, seed, op, err, errlen))
		goto fail;
	/* An act layer's activation runs on its input; others' after the layer
	 * unless the layer's clamp took it. */
	if (l->type == DNN_ACT || !act_fuses(l->act)) {
		if (create_act(m, i, op, err, errlen))
			goto fail;
		op->scratch_floats = (size_t)l->shape[1] * l->shape[2] * l->shape[3];
	}
	return 0;
fail:
	exec_op_destroy(op);
	return -1;
}

void exec_op_destroy(struct exec_op *op)
{
	xnn_operator_t *all[] = { &op->main, &op->act, &op->act_mul };

	for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
		if (*all[k]) {
			xnn_delete_operator(*all[k]);
			*all[k] = NULL;
		}
	for (int k = 0; k < DNN_MAX_INPUTS; k++)
		if (op->copies[k]) {
			xnn_delete_operator(op->copies[k]);
			op->copies[k] = NULL;
		}
}

/* ---- running ------------------------------------------------------------------- */

static int run(xnn_operator_t xop, pthreadpool_t pool, const struct dnn_model *m, int i, char *err,
	       size_t errlen)
{
	return check(xnn_run_operator(xop, pool), m, i, "xnn_run_operator", err, errlen);
}

/* out = act(pre) with the operators of create_act(); sig: swish's sigmoid. */
static int run_act(const struct dnn_model *m, int i, struct exec_op *op, const float *pre,
		   float *out, float *sig, pthreadpool_t pool, char *err, size_t errlen)
{
	const struct dnn_layer *l = &m->layers[i];
	size_t pixels = (size_t)l->shape[1] * l->shape[2], shape[2] = { pixels, l->shape[3] };
	const char *call = "xnn_setup_sigmoid_nc_f32";
	enum xnn_status s;

	switch (l->act) {
	case DNN_ACT_RELU:
	case DNN_ACT_RELU6:
		call = "xnn_setup_clamp_nc_f32";
		s = xnn_setup_clamp_nc_f32(op->act, pixels, pre, out, pool);
		break;
	case DNN_ACT_LEAKY:
		call = "xnn_setup_leaky_relu_nc_f32";
		s = xnn_setup_leaky_relu_nc_f32(op->act, pixels, pre, out, pool);
		break;
	case DNN_ACT_SIGMOID:
		s = xnn_setup_sigmoid_nc_f32(op->act, pixels, pre, out, pool);
		break;
	case DNN_ACT_SWISH:
		if (check(xnn_setup_sigmoid_nc_f32(op->act, pixels, pre, sig, pool), m, i,
			  "xnn_setup_sigmoid_nc_f32", err, errlen) ||
		    run(op->act, pool, m, i, err, errlen))
			return -1;
		if (check(xnn_setup_multiply_nd_f32(op->act_mul, 2, shape, 2, shape, pre, sig, out,
						    pool),
			  m, i, "xnn_setup_multiply_nd_f32", err, errlen))
			return -1;
		return run(op->act_mul, pool, m, i, err, errlen);
	default:
		return 0;
	}
	if (check(s, m, i, call, err, errlen))
		return -1;
	return run(op->act, pool, m, i, err, errlen);
}

static void shape_of(const struct dnn_model *m, int t, size_t shape[4])
{
	const int *s = dnn_tensor_shape(m, t);

	for (int d = 0; d < 4; d++)
		shape[d] = s[d];
}

/* The layer's own operation, ins into dst. */
static int run_main(const struct dnn_model *m, int i, struct exec_op *op, const float *const *ins,
		    float *dst, pthreadpool_t pool, char *err, size_t errlen)
{
	const struct dnn_layer *l = &m->layers[i];
	const int *in = dnn_tensor_shape(m, l->inputs[0]);
	size_t pixels = (size_t)l->shape[1] * l->shape[2], a[4], b[4], at = 0;
	enum xnn_status s = xnn_status_success;
	const char *call = "xnn_setup_convolution2d_nhwc_f32";

	switch (l->type) {
	case DNN_CONV:
		s = xnn_setup_convolution2d_nhwc_f32(op->main, 1, in[1], in[2], ins[0], dst, pool);
		break;
	case DNN_AVGPOOL:
		if (op->avgpool_as_dwconv) {
			s = xnn_setup_convolution2d_nhwc_f32(op->main, 1, in[1], in[2], ins[0], dst,
							     pool);
		} else {
			call = "xnn_setup_average_pooling2d_nhwc_f32";
			s = xnn_setup_average_pooling2d_nhwc_f32(op->main, 1, in[1], in[2], ins[0],
								 dst, pool);
		}
		break;
	case DNN_FC:
		call = "xnn_setup_fully_connected_nc_f32";
		s = xnn_setup_fully_connected_nc_f32(op->main, 1, ins[0], dst, pool);
		break;
	case DNN_MAXPOOL:
		call = "xnn_setup_max_pooling2d_nhwc_f32";
		s = xnn_setup_max_pooling2d_nhwc_f32(op->main, 1, in[1], in[2], ins[0], dst, pool);
		break;
	case DNN_GAVGPOOL:
		call = "xnn_setup_global_average_pooling_nwc_f32";
		s = xnn_setup_global_average_pooling_nwc_f32(op->main, 1, (size_t)in[1] * in[2],
							     ins[0], dst, pool);
		break;
	case DNN_ADD:
	case DNN_MUL:
		shape_of(m, l->inputs[0], a);
		shape_of(m, l->inputs[1], b);
		call = l->type == DNN_ADD ? "xnn_setup_add_nd_f32" : "xnn_setup_multiply_nd_f32";
		s = l->type == DNN_ADD
			    ? xnn_setup_add_nd_f32(op->main, 4, a, 4, b, ins[0], ins[1], dst, pool)
			    : xnn_setup_multiply_nd_f32(op->main, 4, a, 4, b, ins[0], ins[1], dst,
							pool);
		break;
	case DNN_CONCAT:
		for (int k = 0; k < l->nr_inputs; k++) {
			if (check(xnn_setup_copy_nc_x32(op->copies[k], pixels, ins[k], dst + at,
							pool),
				  m, i, "xnn_setup_copy_nc_x32", err, errlen) ||
			    run(op->copies[k], pool, m, i, err, errlen))
				return -1;
			at += dnn_tensor_shape(m, l->inputs[k])[3];
		}
		return 0;
	case DNN_SLICE:
		call = "xnn_setup_copy_nc_x32";
		s = xnn_setup_copy_nc_x32(op->main, pixels, ins[0] + l->channels[0], dst, pool);
		break;
	case DNN_SOFTMAX:
		call = "xnn_setup_softmax_nc_f32";
		s = xnn_setup_softmax_nc_f32(op->main, pixels, ins[0], dst, pool);
		break;
	case DNN_ACT:
	case DNN_UPSAMPLE:
	case DNN_LAYER__COUNT:
		return 0;
	}
	if (check(s, m, i, call, err, errlen))
		return -1;
	return run(op->main, pool, m, i, err, errlen);
}

int exec_op_run(const struct dnn_model *m, int i, struct exec_op *op, const float *const *ins,
		float *out, float *const scratch[2], pthreadpool_t pool, char *err, size_t errlen)
{
	const struct dnn_layer *l = &m->layers[i];
	float *pre;

	if (op->reference)
		return ref_layer(m, i, ins, NULL, NULL, out, err, errlen);
	if (l->type == DNN_ACT)
		return run_act(m, i, op, ins[0], out, scratch[1], pool, err, errlen);
	pre = op->act ? scratch[0] : out;
	if (run_main(m, i, op, ins, pre, pool, err, errlen))
		return -1;
	if (op->act)
		return run_act(m, i, op, pre, out, scratch[1], pool, err, errlen);
	return 0;
}
