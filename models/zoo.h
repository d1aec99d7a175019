/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The model zoo: DNN layer tables read from models/zoo/<name>.json (format
 * "triage-model/1", docs/models.md) into a full in-memory graph, and the
 * planner's view of it (struct plan_model).
 *
 * The files carry derived figures (shapes, FLOPs, parameters, bytes) so
 * that other tools can read them without redoing the arithmetic; this
 * reader redoes it anyway and refuses any file whose figures do not follow
 * from its attributes, so the planner never plans on a typo.
 *
 * Errors are one line, "<file>: <where>: <what>", where names the layer
 * ("layers[12] (layer2.0.conv1)") and the field.
 */
#ifndef TRIAGE_DNN_ZOO_H
#define TRIAGE_DNN_ZOO_H

#include <stdbool.h>
#include <stddef.h>

#include "planner.h"

#define ZOO_FORMAT "triage-model/1"
#define ZOO_MODELS_ENV "TRIAGE_MODELS" /* overrides zoo_default_dir() */
#define ZOO_MAX_MODELS 64	       /* names zoo_list() returns at most */

#define DNN_NAME_MAX 64	 /* layer, block and input names */
#define DNN_TEXT_MAX 512 /* title, source */
#define DNN_MAX_LAYERS PLAN_MAX_LAYERS
#define DNN_MAX_BLOCKS PLAN_MAX_LAYERS
#define DNN_MAX_INPUTS 8 /* of one layer (a concat) */
#define DNN_MAX_OUTPUTS 8

/* Tensor index of the model's input in dnn_layer.inputs[]; every other
 * tensor is named by the index of the layer that writes it. */
#define DNN_INPUT (-1)

enum dnn_layer_type {
	DNN_CONV,     /* 2-D convolution, grouped or depthwise too */
	DNN_FC,	      /* fully connected over the flattened (NHWC) input */
	DNN_MAXPOOL,  /* windowed max */
	DNN_AVGPOOL,  /* windowed mean */
	DNN_GAVGPOOL, /* mean over H and W */
	DNN_ADD,      /* element-wise sum of two equal shapes */
	DNN_MUL,      /* element-wise product; the second may be [1,1,1,C] */
	DNN_CONCAT,   /* along channels */
	DNN_SLICE,    /* a channel range */
	DNN_UPSAMPLE, /* nearest-neighbour, integer scale */
	DNN_ACT,      /* a stand-alone activation */
	DNN_SOFTMAX,  /* over channels */
	DNN_LAYER__COUNT,
};

enum dnn_act {
	DNN_ACT_NONE,
	DNN_ACT_RELU,
	DNN_ACT_RELU6,
	DNN_ACT_LEAKY, /* x < 0: alpha * x */
	DNN_ACT_SWISH, /* x * sigmoid(x), also called SiLU */
	DNN_ACT_SIGMOID,
	DNN_ACT__COUNT,
};

struct dnn_layer {
	char name[DNN_NAME_MAX];
	enum dnn_layer_type type;
	int nr_inputs;
	int inputs[DNN_MAX_INPUTS]; /* earlier layers, or DNN_INPUT */
	int shape[4];		    /* output, [1, H, W, C] */

	/* Attributes; only those of the layer's type are set (docs/models.md). */
	int kernel[2];	  /* conv, pools: [kh, kw] */
	int stride[2];	  /* conv, pools */
	int pad[4];	  /* conv, pools: [top, left, bottom, right] */
	int dilation[2];  /* conv */
	int groups;	  /* conv */
	bool bias;	  /* conv, fc */
	enum dnn_act act; /* fused, applied last: conv, fc, add, mul; act's own */
	double alpha;	  /* the leaky slope, when act is leaky */
	bool count_pad;	  /* avgpool: padding counts in the divisor */
	int axis;	  /* concat: 3 (channels) */
	int channels[2];  /* slice: [begin, end) */
	int scale;	  /* upsample */

	/* Figures, checked against the attributes. */
	double flops;	  /* docs/models.md: 2 per multiply-accumulate, ... */
	double params;	  /* weights and biases */
	double out_bytes; /* 4 bytes per output element */
	int block;	  /* index into dnn_model.blocks */
	bool cut_after;	  /* one tensor alone is live after it */
};

struct dnn_model {
	char name[PLAN_NAME_MAX];
	char title[DNN_TEXT_MAX];
	char source[DNN_TEXT_MAX];
	double published_params; /* as published: before folding batch norm */
	double published_macs;
	char published_source[DNN_TEXT_MAX];
	char input_name[DNN_NAME_MAX];
	int input_shape[4];
	int nr_outputs;
	int outputs[DNN_MAX_OUTPUTS]; /* layer indices */
	int nr_blocks;
	char blocks[DNN_MAX_BLOCKS][DNN_NAME_MAX];
	int nr_layers;
	struct dnn_layer layers[DNN_MAX_LAYERS];
};

/* A dnn_model is a few hundred kilobytes: keep it off the stack. */
struct dnn_model *dnn_model_alloc(void);
void dnn_model_free(struct dnn_model *m);

const char *dnn_layer_type_name(enum dnn_layer_type t);
int dnn_layer_type_parse(const char *name); /* -1 when unknown */
const char *dnn_act_name(enum dnn_act a);
int dnn_act_parse(const char *name); /* -1 when unknown */

/* ---- reading -------------------------------------------------------------- */

/* Parses and validates text; origin names it in errors ("resnet18.json").
 * Returns 0, or -1 with one line in err (m is then unspecified). */
int zoo_parse(const char *origin, const char *text, struct dnn_model *m, char *err, size_t errlen);

/* Reads path; the model's name must be the file's name less ".json". */
int zoo_load_file(const char *path, struct dnn_model *m, char *err, size_t errlen);

/* Reads <dir>/<name>.json; an unknown name lists the names there. */
int zoo_load_named(const char *dir, const char *name, struct dnn_model *m, char *err,
		   size_t errlen);

/* $TRIAGE_MODELS when set; else "models/zoo" when the working directory
 * holds one (a source tree); else the installed TRIAGE_DATADIR/models. */
const char *zoo_default_dir(void);

/* The model names in dir (files <name>.json), sorted. Returns how many, or
 * -1 with err set (dir unreadable, more than max). */
int zoo_list(const char *dir, char (*names)[PLAN_NAME_MAX], int max, char *err, size_t errlen);

/* ---- checking and figures ---------------------------------------------------- */

/* Every rule of the format on an in-memory model (zoo_parse() calls it):
 * topology, attributes, shapes, figures, blocks, cut points. */
int dnn_model_check(const struct dnn_model *m, const char *origin, char *err, size_t errlen);

/* Shape and bytes of tensor t: DNN_INPUT or a layer index. */
const int *dnn_tensor_shape(const struct dnn_model *m, int t);
double dnn_tensor_bytes(const struct dnn_model *m, int t);

/* Bytes of the tensors still needed after layer i has run (model outputs
 * count as needed to the end); *nr_live (may be NULL) gets how many. */
double dnn_live_bytes_after(const struct dnn_model *m, int i, int *nr_live);

/* Largest sum of activation bytes live at once, the input included: a
 * layer's inputs and output are live together while it runs. */
double dnn_peak_activation_bytes(const struct dnn_model *m);

struct dnn_totals {
	double params;	     /* all layers */
	double flops;	     /* all layers */
	double macs_conv_fc; /* flops / 2 over conv and fc layers */
	int nr_cuts;
};
void dnn_model_totals(const struct dnn_model *m, struct dnn_totals *t);

/* ---- the planner's view ------------------------------------------------------ */

/* One plan_layer per layer, same order: op class, flops, param_bytes =
 * 4 * params, in_bytes = sum of the input tensors, out_bytes, cut_after and
 * cut_bytes (the tensor live across the cut); mem_bytes = weight bytes +
 * dnn_peak_activation_bytes(). m must have passed dnn_model_check(). */
int zoo_to_plan_model(const struct dnn_model *m, struct plan_model *pm, char *err, size_t errlen);

#endif
