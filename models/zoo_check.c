// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The rules of a triage-model/1 graph, on the in-memory model: every
 * layer's output shape, FLOPs and parameters are recomputed from its inputs
 * and attributes and must equal what the file says; blocks run in order;
 * a cut point is only where one tensor alone is live. The same liveness
 * walk gives the planner its cut bytes and peak memory, so what is checked
 * and what is planned cannot disagree.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zoo.h"

static const char *const layer_type_names[DNN_LAYER__COUNT] = {
	[DNN_CONV] = "conv",	     [DNN_FC] = "fc",
	[DNN_MAXPOOL] = "maxpool",   [DNN_AVGPOOL] = "avgpool",
	[DNN_GAVGPOOL] = "gavgpool", [DNN_ADD] = "add",
	[DNN_MUL] = "mul",	     [DNN_CONCAT] = "concat",
	[DNN_SLICE] = "slice",	     [DNN_UPSAMPLE] = "upsample",
	[DNN_ACT] = "act",	     [DNN_SOFTMAX] = "softmax",
};

static const char *const act_names[DNN_ACT__COUNT] = {
	[DNN_ACT_NONE] = "none",   [DNN_ACT_RELU] = "relu",   [DNN_ACT_RELU6] = "relu6",
	[DNN_ACT_LEAKY] = "leaky", [DNN_ACT_SWISH] = "swish", [DNN_ACT_SIGMOID] = "sigmoid",
};

const char *dnn_layer_type_name(enum dnn_layer_type t)
{
	return (unsigned)t < DNN_LAYER__COUNT ? layer_type_names[t] : "?";
}

int dnn_layer_type_parse(const char *name)
{
	for (int t = 0; t < DNN_LAYER__COUNT; t++)
		if (!strcmp(name, layer_type_names[t]))
			return t;
	return -1;
}

const char *dnn_act_name(enum dnn_act a)
{
	return (unsigned)a < DNN_ACT__COUNT ? act_names[a] : "?";
}

int dnn_act_parse(const char *name)
{
	for (int a = 0; a < DNN_ACT__COUNT; a++)
		if (!strcmp(name, act_names[a]))
			return a;
	return -1;
}

/* ---- tensors and liveness ------------------------------------------------ */

const int *dnn_tensor_shape(const struct dnn_model *m, int t)
{
	return t == DNN_INPUT ? m->input_shape : m->layers[t].shape;
}

static double shape_elements(const int *shape)
{
	return (double)shape[0] * shape[1] * shape[2] * shape[3];
}

double dnn_tensor_bytes(const struct dnn_model *m, int t)
{
	return 4 * shape_elements(dnn_tensor_shape(m, t));
}

/* last[t + 1]: the last layer that reads tensor t; nr_layers for a model
 * output, which the caller still needs after the last layer. */
static void last_uses(const struct dnn_model *m, int last[DNN_MAX_LAYERS + 1])
{
	for (int t = DNN_INPUT; t < m->nr_layers; t++)
		last[t + 1] = t;
	for (int i = 0; i < m->nr_layers; i++)
		for (int k = 0; k < m->layers[i].nr_inputs; k++) {
			int t = m->layers[i].inputs[k];

			if (last[t + 1] < i)
				last[t + 1] = i;
		}
	for (int o = 0; o < m->nr_outputs; o++)
		last[m->outputs[o] + 1] = m->nr_layers;
}

double dnn_live_bytes_after(const struct dnn_model *m, int i, int *nr_live)
{
	int last[DNN_MAX_LAYERS + 1];
	double bytes = 0;
	int live = 0;

	last_uses(m, last);
	for (int t = DNN_INPUT; t <= i; t++)
		if (last[t + 1] > i) {
			bytes += dnn_tensor_bytes(m, t);
			live++;
		}
	if (nr_live)
		*nr_live = live;
	return bytes;
}

double dnn_peak_activation_bytes(const struct dnn_model *m)
{
	int last[DNN_MAX_LAYERS + 1];
	double peak = 0;

	last_uses(m, last);
	for (int i = 0; i < m->nr_layers; i++) {
		double bytes = 0;

		for (int t = DNN_INPUT; t <= i; t++)
			if (last[t + 1] >= i)
				bytes += dnn_tensor_bytes(m, t);
		if (bytes > peak)
			peak = bytes;
	}
	return peak;
}

void dnn_model_totals(const struct dnn_model *m, struct dnn_totals *tot)
{
	memset(tot, 0, sizeof(*tot));
	for (int i = 0; i < m->nr_layers; i++) {
		const struct dnn_layer *l = &m->layers[i];

		tot->params += l->params;
		tot->flops += l->flops;
		if (l->type == DNN_CONV || l->type == DNN_FC)
			tot->macs_conv_fc += l->flops / 2;
		tot->nr_cuts += l->cut_after;
	}
}

/* ---- what a layer's attributes imply ----------------------------------------- */

struct expect {
	int shape[4];
	double flops;
	double params;
	const char *flops_rule; /* how flops follow, for the error message */
};

struct check {
	const struct dnn_model *m;
	const char *origin;
	char *err;
	size_t errlen;
};

/* "<origin>: layers[i] (name): <what>"; i < 0: "<origin>: <what>". */
static int fail(struct check *c, int i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct check *c, int i, const char *fmt, ...)
{
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!c->err || !c->errlen)
		return -1;
	if (i < 0)
		snprintf(c->err, c->errlen, "%s: %s", c->origin, what);
	else
		snprintf(c->err, c->errlen, "%s: layers[%d] (%s): %s", c->origin, i,
			 c->m->layers[i].name, what);
	return -1;
}

static void format_shape(char *buf, size_t len, const int *s)
{
	snprintf(buf, len, "[%d,%d,%d,%d]", s[0], s[1], s[2], s[3]);
}

/* floor((size + pads - dilated kernel) / stride) + 1, or 0 when the kernel
 * does not fit the padded input. */
static int window_out(int size, int k, int s, int pad0, int pad1, int d)
{
	long span = (long)size + pad0 + pad1 - (long)d * (k - 1) - 1;

	return span < 0 ? 0 : (int)(span / s) + 1;
}

/* Output H and W of a windowed layer; its attributes are checked here too,
 * for models built in memory rather than parsed. */
static int expect_window(struct check *c, int i, const int *in, const int *dilation,
			 struct expect *e)
{
	const struct dnn_layer *l = &c->m->layers[i];
	int oh, ow;

	for (int d = 0; d < 2; d++)
		if (l->kernel[d] < 1 || l->stride[d] < 1 || dilation[d] < 1)
			return fail(c, i, "kernel, stride and dilation must be at least 1");
	for (int side = 0; side < 4; side++)
		if (l->pad[side] < 0)
			return fail(c, i, "pad[%d] %d is negative", side, l->pad[side]);
	oh = window_out(in[1], l->kernel[0], l->stride[0], l->pad[0], l->pad[2], dilation[0]);
	ow = window_out(in[2], l->kernel[1], l->stride[1], l->pad[1], l->pad[3], dilation[1]);
	if (!oh || !ow)
		return fail(c, i, "kernel [%d,%d] does not fit the padded %dx%d input",
			    l->kernel[0], l->kernel[1], in[1], in[2]);
	e->shape[0] = 1;
	e->shape[1] = oh;
	e->shape[2] = ow;
	return 0;
}

static int expect_conv(struct check *c, int i, const int *in, struct expect *e)
{
	const struct dnn_layer *l = &c->m->layers[i];
	int cout = l->shape[3];
	double macs;

	if (l->groups < 1 || in[3] % l->groups || cout % l->groups)
		return fail(c, i,
			    "groups %d must divide both the %d input and the %d output channels",
			    l->groups, in[3], cout);
	if (expect_window(c, i, in, l->dilation, e))
		return -1;
	e->shape[3] = cout;
	macs = (double)e->shape[1] * e->shape[2] * cout * l->kernel[0] * l->kernel[1] *
	       (in[3] / l->groups);
	e->flops = 2 * macs;
	e->params = (double)l->kernel[0] * l->kernel[1] * (in[3] / l->groups) * cout +
		    (l->bias ? cout : 0);
	e->flops_rule = "2*MACs from its shapes";
	return 0;
}

static int expect_pool(struct check *c, int i, const int *in, struct expect *e)
{
	static const int no_dilation[2] = { 1, 1 };
	const struct dnn_layer *l = &c->m->layers[i];

	if (expect_window(c, i, in, no_dilation, e))
		return -1;
	for (int side = 0; side < 4; side++)
		if (l->pad[side] >= l->kernel[side % 2])
			return fail(c, i, "pad[%d] %d leaves windows of padding alone (kernel %d)",
				    side, l->pad[side], l->kernel[side % 2]);
	e->shape[3] = in[3];
	e->flops = (double)l->kernel[0] * l->kernel[1] * shape_elements(e->shape);
	e->flops_rule = "one per window element and output element";
	return 0;
}

static int expect_binary(struct check *c, int i, struct expect *e)
{
	const struct dnn_layer *l = &c->m->layers[i];
	const int *a = dnn_tensor_shape(c->m, l->inputs[0]);
	const int *b = dnn_tensor_shape(c->m, l->inputs[1]);
	char sa[64], sb[64];
	bool same = !memcmp(a, b, sizeof(int) * 4);

	/* A [1,1,1,C] gate scaling every pixel is squeeze-and-excitation. */
	if (!same && !(l->type == DNN_MUL && b[1] == 1 && b[2] == 1 && b[3] == a[3])) {
		format_shape(sa, sizeof(sa), a);
		format_shape(sb, sizeof(sb), b);
		return fail(c, i, "inputs: shapes %s and %s differ%s", sa, sb,
			    l->type == DNN_MUL ? " (the second may be [1,1,1,C])" : "");
	}
	memcpy(e->shape, a, sizeof(e->shape));
	e->flops = shape_elements(e->shape);
	e->flops_rule = "one per output element";
	return 0;
}

static int expect_concat(struct check *c, int i, struct expect *e)
{
	const struct dnn_layer *l = &c->m->layers[i];
	const int *first = dnn_tensor_shape(c->m, l->inputs[0]);
	int channels = 0;

	if (l->axis != 3)
		return fail(c, i, "axis %d: only channels (3) are concatenated", l->axis);
	for (int k = 0; k < l->nr_inputs; k++) {
		const int *s = dnn_tensor_shape(c->m, l->inputs[k]);

		if (s[1] != first[1] || s[2] != first[2])
			return fail(c, i, "inputs[%d]: %dx%d does not match inputs[0]'s %dx%d", k,
				    s[1], s[2], first[1], first[2]);
		channels += s[3];
	}
	memcpy(e->shape, first, sizeof(e->shape));
	e->shape[3] = channels;
	e->flops_rule = "0 (data movement)";
	return 0;
}

/* Fills e from layer i's inputs and attributes; -1 with err set when they
 * contradict each other. */
static int layer_expect(struct check *c, int i, struct expect *e)
{
	const struct dnn_layer *l = &c->m->layers[i];
	const int *in = dnn_tensor_shape(c->m, l->inputs[0]);

	memset(e, 0, sizeof(*e));
	memcpy(e->shape, in, sizeof(e->shape));
	e->flops_rule = "one per output element";
	switch (l->type) {
	case DNN_CONV:
		return expect_conv(c, i, in, e);
	case DNN_FC:
		e->shape[1] = e->shape[2] = 1;
		e->shape[3] = l->shape[3];
		e->flops = 2 * shape_elements(in) * l->shape[3];
		e->params = shape_elements(in) * l->shape[3] + (l->bias ? l->shape[3] : 0);
		e->flops_rule = "2*MACs from its shapes";
		return 0;
	case DNN_MAXPOOL:
	case DNN_AVGPOOL:
		return expect_pool(c, i, in, e);
	case DNN_GAVGPOOL:
		e->shape[1] = e->shape[2] = 1;
		e->flops = shape_elements(in);
		e->flops_rule = "one per input element";
		return 0;
	case DNN_ADD:
	case DNN_MUL:
		return expect_binary(c, i, e);
	case DNN_CONCAT:
		return expect_concat(c, i, e);
	case DNN_SLICE:
		if (l->channels[0] < 0 || l->channels[0] >= l->channels[1] ||
		    l->channels[1] > in[3])
			return fail(c, i, "channels [%d,%d) is not a range within the input's %d",
				    l->channels[0], l->channels[1], in[3]);
		e->shape[3] = l->channels[1] - l->channels[0];
		e->flops_rule = "0 (data movement)";
		return 0;
	case DNN_UPSAMPLE:
		if (l->scale < 1)
			return fail(c, i, "scale %d: must be at least 1", l->scale);
		e->shape[1] *= l->scale;
		e->shape[2] *= l->scale;
		e->flops_rule = "0 (data movement)";
		return 0;
	case DNN_ACT:
		if (l->act == DNN_ACT_NONE)
			return fail(c, i, "act: an act layer needs an activation other than none");
		/* fall through */
	case DNN_SOFTMAX:
		e->flops = shape_elements(in);
		return 0;
	case DNN_LAYER__COUNT:
		break;
	}
	return fail(c, i, "type: unknown (%d)", (int)l->type);
}

/* ---- the whole graph ----------------------------------------------------------- */

_Static_assert(DNN_MAX_INPUTS == 8, "input_count_wrong() says \"2 to 8\"");

/* NULL when l has as many inputs as its type takes; else how many it takes. */
static const char *input_count_wrong(const struct dnn_layer *l)
{
	switch (l->type) {
	case DNN_ADD:
	case DNN_MUL:
		return l->nr_inputs == 2 ? NULL : "2";
	case DNN_CONCAT:
		return l->nr_inputs >= 2 && l->nr_inputs <= DNN_MAX_INPUTS ? NULL : "2 to 8";
	default:
		return l->nr_inputs == 1 ? NULL : "1";
	}
}

static int check_figures(struct check *c, int i)
{
	const struct dnn_layer *l = &c->m->layers[i];
	char want[64], got[64];
	struct expect e;

	if (layer_expect(c, i, &e))
		return -1;
	if (memcmp(e.shape, l->shape, sizeof(e.shape))) {
		format_shape(want, sizeof(want), e.shape);
		format_shape(got, sizeof(got), l->shape);
		return fail(c, i, "shape %s does not follow from its inputs and attributes (%s)",
			    got, want);
	}
	if (l->flops != e.flops)
		return fail(c, i, "flops %.10g does not match %s (%.10g)", l->flops, e.flops_rule,
			    e.flops);
	if (l->params != e.params)
		return fail(c, i, "params %.10g does not match the weights%s of its shapes (%.10g)",
			    l->params, l->bias ? " and biases" : "", e.params);
	if (l->out_bytes != 4 * shape_elements(l->shape))
		return fail(c, i, "out_bytes %.10g is not 4 bytes per output element (%.10g)",
			    l->out_bytes, 4 * shape_elements(l->shape));
	return 0;
}

static int check_layer(struct check *c, int i)
{
	const struct dnn_model *m = c->m;
	const struct dnn_layer *l = &m->layers[i];
	int prev_block;

	if (!l->name[0])
		return fail(c, i, "name: empty");
	if (!strcmp(l->name, m->input_name))
		return fail(c, i, "name: \"%s\" is the model input's name", l->name);
	for (int j = 0; j < i; j++)
		if (!strcmp(l->name, m->layers[j].name))
			return fail(c, i, "name: \"%s\" is layers[%d]'s name too", l->name, j);
	if ((unsigned)l->type >= DNN_LAYER__COUNT)
		return fail(c, i, "type: unknown (%d)", (int)l->type);
	if (input_count_wrong(l))
		return fail(c, i, "inputs: a %s layer takes %s, not %d",
			    dnn_layer_type_name(l->type), input_count_wrong(l), l->nr_inputs);
	for (int k = 0; k < l->nr_inputs; k++)
		if (l->inputs[k] < DNN_INPUT || l->inputs[k] >= i)
			return fail(c, i,
				    "inputs[%d]: tensor %d is not the input or an earlier layer", k,
				    l->inputs[k]);
	if ((unsigned)l->act >= DNN_ACT__COUNT)
		return fail(c, i, "act: unknown (%d)", (int)l->act);
	if (l->shape[0] != 1)
		return fail(c, i, "shape: batch %d (the format is batch 1)", l->shape[0]);
	for (int d = 1; d < 4; d++)
		if (l->shape[d] < 1)
			return fail(c, i, "shape: dimension %d is %d", d, l->shape[d]);
	if (check_figures(c, i))
		return -1;
	if (l->block < 0 || l->block >= m->nr_blocks)
		return fail(c, i, "block %d: not one of the %d blocks", l->block, m->nr_blocks);
	prev_block = i ? m->layers[i - 1].block : 0;
	if (l->block < prev_block || l->block > prev_block + (i ? 1 : 0))
		return fail(c, i,
			    "block %d does not follow %d: blocks run in order, each a contiguous "
			    "run of layers from block 0",
			    l->block, prev_block);
	return 0;
}

static int check_cut(struct check *c, int i)
{
	const struct dnn_model *m = c->m;
	int live;

	if (i == m->nr_layers - 1)
		return fail(c, i, "cut_after on the last layer: no stage follows it");
	if (m->layers[i + 1].block == m->layers[i].block)
		return fail(c, i, "cut_after inside block %d (%s): cuts go at block ends",
			    m->layers[i].block, m->blocks[m->layers[i].block]);
	dnn_live_bytes_after(m, i, &live);
	if (live != 1)
		return fail(c, i, "cut_after where %d tensors are live: a cut hands over one",
			    live);
	return 0;
}

static int check_outputs(struct check *c)
{
	const struct dnn_model *m = c->m;
	int last[DNN_MAX_LAYERS + 1];

	if (m->nr_outputs < 1 || m->nr_outputs > DNN_MAX_OUTPUTS)
		return fail(c, -1, "outputs: %d names, expected 1 to %d", m->nr_outputs,
			    DNN_MAX_OUTPUTS);
	for (int o = 0; o < m->nr_outputs; o++) {
		if (m->outputs[o] < 0 || m->outputs[o] >= m->nr_layers)
			return fail(c, -1, "outputs[%d]: layer %d does not exist", o,
				    m->outputs[o]);
		for (int p = 0; p < o; p++)
			if (m->outputs[p] == m->outputs[o])
				return fail(c, -1, "outputs[%d]: \"%s\" is listed twice", o,
					    m->layers[m->outputs[o]].name);
	}
	last_uses(m, last);
	if (last[0] == DNN_INPUT)
		return fail(c, -1, "input: no layer reads \"%s\"", m->input_name);
	for (int i = 0; i < m->nr_layers; i++)
		if (last[i + 1] == i)
			return fail(c, i, "nothing reads its output and it is not a model output");
	return 0;
}

int dnn_model_check(const struct dnn_model *m, const char *origin, char *err, size_t errlen)
{
	struct check c = { .m = m, .origin = origin, .err = err, .errlen = errlen };

	if (m->nr_layers < 1 || m->nr_layers > DNN_MAX_LAYERS)
		return fail(&c, -1, "layers: %d layers, expected 1 to %d (PLAN_MAX_LAYERS)",
			    m->nr_layers, DNN_MAX_LAYERS);
	if (m->nr_blocks < 1 || m->nr_blocks > DNN_MAX_BLOCKS)
		return fail(&c, -1, "blocks: %d blocks, expected 1 to %d", m->nr_blocks,
			    DNN_MAX_BLOCKS);
	if (m->input_shape[0] != 1 || m->input_shape[1] < 1 || m->input_shape[2] < 1 ||
	    m->input_shape[3] < 1)
		return fail(&c, -1, "input.shape: [%d,%d,%d,%d] is not [1,H,W,C] of positive sizes",
			    m->input_shape[0], m->input_shape[1], m->input_shape[2],
			    m->input_shape[3]);
	for (int i = 0; i < m->nr_layers; i++)
		if (check_layer(&c, i))
			return -1;
	if (m->layers[m->nr_layers - 1].block != m->nr_blocks - 1)
		return fail(&c, m->nr_layers - 1,
			    "block %d: the last layer must be in the last block (%d)",
			    m->layers[m->nr_layers - 1].block, m->nr_blocks - 1);
	if (check_outputs(&c))
		return -1;
	for (int i = 0; i < m->nr_layers; i++)
		if (m->layers[i].cut_after && check_cut(&c, i))
			return -1;
	return 0;
}
