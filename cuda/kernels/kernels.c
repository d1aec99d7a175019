// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Names, grid sizes and zoo-layer mapping of the elastic kernels (see
 * kernels.h). The item counts come from ops.h itself, compiled here as C,
 * so the host sizes a logical grid with the very arithmetic the kernels use
 * to stop at its end.
 *
 * The mapping is strict: a layer whose attributes the kernels cannot honour
 * (a concat along another axis, an upsample that is not a whole multiple)
 * fails here with one line, before any memory is allocated or any kernel
 * launched, instead of computing something else.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kernels.h"
#include "ops.h"

_Static_assert(TK_ACT_NONE == (int)DNN_ACT_NONE && TK_ACT_RELU == (int)DNN_ACT_RELU &&
		   TK_ACT_RELU6 == (int)DNN_ACT_RELU6 && TK_ACT_LEAKY == (int)DNN_ACT_LEAKY &&
		   TK_ACT_SWISH == (int)DNN_ACT_SWISH && TK_ACT_SIGMOID == (int)DNN_ACT_SIGMOID,
	       "enum tk_act must keep the zoo's dnn_act values");

const int tk_block_variants[TK_NR_BLOCK_VARIANTS] = TK_BLOCK_VARIANTS;

#define TK_OP_NAME(e, name) [e] = name,
static const char *const op_names[TK_OP__COUNT] = { TK_OPS(TK_OP_NAME) };
#undef TK_OP_NAME

const char *tk_op_name(enum tk_op op)
{
	return (unsigned)op < TK_OP__COUNT ? op_names[op] : "?";
}

int tk_op_parse(const char *name)
{
	for (int op = 0; op < TK_OP__COUNT; op++)
		if (!strcmp(name, op_names[op]))
			return op;
	return -1;
}

bool tk_block_variant_ok(int threads)
{
	for (int v = 0; v < TK_NR_BLOCK_VARIANTS; v++)
		if (tk_block_variants[v] == threads)
			return true;
	return false;
}

int tk_kernel_symbol(enum tk_op op, int threads, char *buf, size_t len)
{
	int n;

	if (len)
		buf[0] = '\0';
	if ((unsigned)op >= TK_OP__COUNT || !tk_block_variant_ok(threads))
		return -EINVAL;
	n = snprintf(buf, len, "tk_%s_t%d", op_names[op], threads);
	if (n < 0 || (size_t)n >= len) {
		if (len)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return 0;
}

int64_t tk_args_items(enum tk_op op, const void *args)
{
	return tk_op_items(op, args);
}

uint32_t tk_args_logical_blocks(enum tk_op op, const void *args)
{
	int64_t blocks = tk_logical_blocks(tk_op_items(op, args));

	return blocks > UINT32_MAX ? UINT32_MAX : (uint32_t)blocks;
}

/* ---- zoo layers ------------------------------------------------------------ */

static int fail(char *err, size_t errlen, int rc, const struct dnn_model *m, int i, const char *fmt,
		...) __attribute__((format(printf, 6, 7)));

static int fail(char *err, size_t errlen, int rc, const struct dnn_model *m, int i, const char *fmt,
		...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (err && errlen)
		snprintf(err, errlen, "%s: layers[%d] (%s, %s): %s", m->name, i, m->layers[i].name,
			 dnn_layer_type_name(m->layers[i].type), what);
	return rc;
}

static int64_t shape_elems(const int *s)
{
	return (int64_t)s[0] * s[1] * s[2] * s[3];
}

void tk_layer_param_elems(const struct dnn_model *m, int i, int64_t *weight, int64_t *bias)
{
	const struct dnn_layer *l = &m->layers[i];
	const int *in = dnn_tensor_shape(m, l->inputs[0]);

	*weight = 0;
	*bias = 0;
	if (l->type == DNN_CONV) {
		*weight = (int64_t)l->shape[3] * l->kernel[0] * l->kernel[1] *
			  (in[3] / (l->groups ? l->groups : 1));
		*bias = l->bias ? l->shape[3] : 0;
	} else if (l->type == DNN_FC) {
		*weight = shape_elems(in) * l->shape[3];
		*bias = l->bias ? l->shape[3] : 0;
	}
}

static enum tk_op conv_op(const struct dnn_layer *l, const int *in)
{
	bool one_by_one = l->kernel[0] == 1 && l->kernel[1] == 1;
	bool unpadded = !l->pad[0] && !l->pad[1] && !l->pad[2] && !l->pad[3];

	if (one_by_one && l->stride[0] == 1 && l->stride[1] == 1 && unpadded && l->groups == 1)
		return TK_CONV_POINTWISE;
	if (l->groups > 1 && l->groups == in[3] && l->groups == l->shape[3])
		return TK_CONV_DEPTHWISE;
	return TK_CONV_DIRECT;
}

static void map_conv(const struct dnn_layer *l, const int *in, const struct tk_layer_buffers *buf,
		     struct tk_launch *t)
{
	struct tk_conv_args *a = &t->args.conv;

	t->op = conv_op(l, in);
	a->in = buf->in[0];
	a->weight = buf->weight;
	a->bias = l->bias ? buf->bias : 0;
	a->out = buf->out;
	a->h = in[1];
	a->w = in[2];
	a->c = in[3];
	a->oh = l->shape[1];
	a->ow = l->shape[2];
	a->oc = l->shape[3];
	a->kh = l->kernel[0];
	a->kw = l->kernel[1];
	a->sh = l->stride[0];
	a->sw = l->stride[1];
	a->dh = l->dilation[0];
	a->dw = l->dilation[1];
	a->pad_top = l->pad[0];
	a->pad_left = l->pad[1];
	a->groups = l->groups;
	a->act = l->act;
	a->alpha = (float)l->alpha;
}

static void map_pool(const struct dnn_layer *l, const int *in, const struct tk_layer_buffers *buf,
		     struct tk_launch *t)
{
	struct tk_pool_args *a = &t->args.pool;

	a->in = buf->in[0];
	a->out = buf->out;
	a->h = in[1];
	a->w = in[2];
	a->c = in[3];
	a->oh = l->shape[1];
	a->ow = l->shape[2];
	if (l->type == DNN_GAVGPOOL) {
		t->op = TK_GAVGPOOL;
		a->kh = in[1];
		a->kw = in[2];
		a->sh = a->sw = 1;
		return;
	}
	t->op = l->type == DNN_MAXPOOL ? TK_MAXPOOL : TK_AVGPOOL;
	a->kh = l->kernel[0];
	a->kw = l->kernel[1];
	a->sh = l->stride[0];
	a->sw = l->stride[1];
	a->pad_top = l->pad[0];
	a->pad_left = l->pad[1];
	a->count_pad = l->type == DNN_AVGPOOL && l->count_pad;
}

static void map_eltwise(const struct dnn_model *m, const struct dnn_layer *l,
			const struct tk_layer_buffers *buf, struct tk_launch *t)
{
	struct tk_eltwise_args *a = &t->args.eltwise;

	t->op = l->type == DNN_ADD ? TK_ADD : l->type == DNN_MUL ? TK_MUL : TK_ACT;
	a->a = buf->in[0];
	a->b = t->op == TK_ACT ? 0 : buf->in[1];
	a->out = buf->out;
	a->n = shape_elems(l->shape);
	a->c = l->shape[3];
	a->b_per_channel =
	    t->op == TK_MUL && shape_elems(dnn_tensor_shape(m, l->inputs[1])) != a->n;
	a->act = l->act;
	a->alpha = (float)l->alpha;
}

/* A channel range of one input into a channel range of the output. */
static void map_copy(enum tk_op op, const int *in, const int *out, tk_dptr src, tk_dptr dst,
		     int src_c0, int dst_c0, int nr_c, int scale, struct tk_launch *t)
{
	struct tk_copy_args *a = &t->args.copy;

	t->op = op;
	a->in = src;
	a->out = dst;
	a->h = out[1];
	a->w = out[2];
	a->in_c = in[3];
	a->out_c = out[3];
	a->src_c0 = src_c0;
	a->dst_c0 = dst_c0;
	a->nr_c = nr_c;
	a->scale = scale;
}

/* What the kernels cannot do, or cannot index, for layer i. */
static int check_layer(const struct dnn_model *m, int i, const struct tk_layer_buffers *buf,
		       char *err, size_t errlen)
{
	const struct dnn_layer *l = &m->layers[i];
	int64_t weight, bias;

	if (shape_elems(l->shape) > TK_MAX_ITEMS)
		return fail(err, errlen, -ERANGE, m, i,
			    "%lld output elements: the kernels index at most %d",
			    (long long)shape_elems(l->shape), TK_MAX_ITEMS);
	if (l->nr_inputs < 1 || l->nr_inputs > DNN_MAX_INPUTS)
		return fail(err, errlen, -EINVAL, m, i, "%d inputs", l->nr_inputs);
	for (int k = 0; k < l->nr_inputs; k++) {
		if (shape_elems(dnn_tensor_shape(m, l->inputs[k])) > TK_MAX_ITEMS)
			return fail(err, errlen, -ERANGE, m, i,
				    "inputs[%d] is larger than the kernels index (%d elements)", k,
				    TK_MAX_ITEMS);
		if (!buf->in[k])
			return fail(err, errlen, -EINVAL, m, i, "no device address for inputs[%d]",
				    k);
	}
	if (!buf->out)
		return fail(err, errlen, -EINVAL, m, i, "no device address for the output");
	tk_layer_param_elems(m, i, &weight, &bias);
	if (weight > TK_MAX_ITEMS)
		return fail(err, errlen, -ERANGE, m, i,
			    "%lld weights: the kernels index at most %d", (long long)weight,
			    TK_MAX_ITEMS);
	if (weight && !buf->weight)
		return fail(err, errlen, -EINVAL, m, i, "no device address for the weights");
	if (bias && !buf->bias)
		return fail(err, errlen, -EINVAL, m, i, "no device address for the bias");
	if ((unsigned)l->act >= DNN_ACT__COUNT)
		return fail(err, errlen, -EOPNOTSUPP, m, i,
			    "activation %d is not one the kernels apply", (int)l->act);
	return 0;
}

int tk_layer_launches(const struct dnn_model *m, int i, const struct tk_layer_buffers *buf,
		      struct tk_launch *launches, int max, char *err, size_t errlen)
{
	const struct dnn_layer *l;
	const int *in;
	int rc, dst_c0 = 0;

	if (i < 0 || i >= m->nr_layers) {
		if (err && errlen)
			snprintf(err, errlen, "%s: no layer %d (it has %d)", m->name, i,
				 m->nr_layers);
		return -EINVAL;
	}
	l = &m->layers[i];
	in = dnn_tensor_shape(m, l->inputs[0]);
	rc = check_layer(m, i, buf, err, errlen);
	if (rc)
		return rc;
	if (max < (l->type == DNN_CONCAT ? l->nr_inputs : 1))
		return fail(err, errlen, -ENOSPC, m, i, "needs %d launches, room for %d",
			    l->type == DNN_CONCAT ? l->nr_inputs : 1, max);
	memset(launches, 0, sizeof(*launches) * (l->type == DNN_CONCAT ? l->nr_inputs : 1));

	switch (l->type) {
	case DNN_CONV:
		map_conv(l, in, buf, &launches[0]);
		return 1;
	case DNN_FC:
		launches[0].op = TK_FC;
		launches[0].args.fc = (struct tk_fc_args){
			.in = buf->in[0],
			.weight = buf->weight,
			.bias = l->bias ? buf->bias : 0,
			.out = buf->out,
			.in_features = (int32_t)shape_elems(in),
			.out_features = l->shape[3],
			.act = l->act,
			.alpha = (float)l->alpha,
		};
		return 1;
	case DNN_MAXPOOL:
	case DNN_AVGPOOL:
	case DNN_GAVGPOOL:
		map_pool(l, in, buf, &launches[0]);
		return 1;
	case DNN_ADD:
	case DNN_MUL:
	case DNN_ACT:
		map_eltwise(m, l, buf, &launches[0]);
		return 1;
	case DNN_CONCAT:
		if (l->axis != 3)
			return fail(err, errlen, -EOPNOTSUPP, m, i,
				    "concat along axis %d: the kernels join channels (3) only",
				    l->axis);
		for (int k = 0; k < l->nr_inputs; k++) {
			const int *s = dnn_tensor_shape(m, l->inputs[k]);

			map_copy(TK_COPY_CHANNELS, s, l->shape, buf->in[k], buf->out, 0, dst_c0,
				 s[3], 1, &launches[k]);
			dst_c0 += s[3];
		}
		return l->nr_inputs;
	case DNN_SLICE:
		map_copy(TK_COPY_CHANNELS, in, l->shape, buf->in[0], buf->out, l->channels[0], 0,
			 l->channels[1] - l->channels[0], 1, &launches[0]);
		return 1;
	case DNN_UPSAMPLE:
		if (l->scale < 1 || l->shape[1] != in[1] * l->scale ||
		    l->shape[2] != in[2] * l->scale)
			return fail(err, errlen, -EOPNOTSUPP, m, i,
				    "upsample by %d from %dx%d to %dx%d: not a whole scale",
				    l->scale, in[1], in[2], l->shape[1], l->shape[2]);
		map_copy(TK_UPSAMPLE, in, l->shape, buf->in[0], buf->out, 0, 0, in[3], l->scale,
			 &launches[0]);
		return 1;
	case DNN_SOFTMAX:
		launches[0].op = TK_SOFTMAX;
		launches[0].args.softmax = (struct tk_softmax_args){
			.in = buf->in[0],
			.out = buf->out,
			.pixels = l->shape[1] * l->shape[2],
			.c = l->shape[3],
		};
		return 1;
	case DNN_LAYER__COUNT:
		break;
	}
	return fail(err, errlen, -EOPNOTSUPP, m, i, "no kernel for layer type %d", (int)l->type);
}
