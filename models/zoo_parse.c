// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * JSON text of a triage-model/1 file into struct dnn_model: keys, types and
 * ranges, layer names resolved to indices. Strict on purpose: an unknown
 * key, a missing attribute or a reference to a later layer is an error, not
 * a default, because an executor must be able to run the file as written.
 * The graph's arithmetic is checked afterwards by dnn_model_check().
 * The json_check helpers of the config parser give the same one-line
 * "<file>: <path>: <what>" errors.
 */
#include <stdio.h>
#include <string.h>

#include "json_util.h"
#include "zoo.h"

/* The largest zoo file is tens of kilobytes; a megabyte-sized one is not a
 * model this reader should plan with. */
#define ZOO_TEXT_MAX (4u << 20)
/* Figures are integers that a double holds exactly. */
#define FIGURE_MAX 9007199254740992.0
#define SIZE_MAX_DIM (1 << 20)

static const char *const top_keys[] = { "format", "name",    "title",  "source", "published",
					"input",  "outputs", "blocks", "layers", NULL };

static const char *const published_keys[] = { "params", "macs", "source", NULL };
static const char *const input_keys[] = { "name", "shape", NULL };

static const char *const common_keys[] = { "name",   "type",	  "inputs", "shape",	 "flops",
					   "params", "out_bytes", "block",  "cut_after", NULL };

/* The attributes each type takes, all required but alpha (leaky only). */
static const char *const type_keys[DNN_LAYER__COUNT][9] = {
	[DNN_CONV] = { "kernel", "stride", "pad", "dilation", "groups", "bias", "act", "alpha",
		       NULL },
	[DNN_FC] = { "bias", "act", "alpha", NULL },
	[DNN_MAXPOOL] = { "kernel", "stride", "pad", NULL },
	[DNN_AVGPOOL] = { "kernel", "stride", "pad", "count_pad", NULL },
	[DNN_GAVGPOOL] = { NULL },
	[DNN_ADD] = { "act", "alpha", NULL },
	[DNN_MUL] = { "act", "alpha", NULL },
	[DNN_CONCAT] = { "axis", NULL },
	[DNN_SLICE] = { "channels", NULL },
	[DNN_UPSAMPLE] = { "scale", "mode", NULL },
	[DNN_ACT] = { "act", "alpha", NULL },
	[DNN_SOFTMAX] = { NULL },
};

static bool type_takes(enum dnn_layer_type t, const char *key)
{
	for (const char *const *k = type_keys[t]; *k; k++)
		if (!strcmp(*k, key))
			return true;
	return false;
}

/* ---- typed reads of required keys ----------------------------------------- */

static int copy_string(struct json_check *jc, struct json_object *val, const char *path, char *dst,
		       size_t cap)
{
	const char *str;

	if (json_check_string(jc, val, path, &str))
		return -1;
	if (strlen(str) >= cap)
		return json_check_fail(jc, path, "too long (over %zu characters)", cap - 1);
	snprintf(dst, cap, "%s", str);
	return 0;
}

static int read_string(struct json_check *jc, struct json_object *obj, const char *parent,
		       const char *key, char *dst, size_t cap)
{
	char path[JSON_CHECK_PATH_MAX];
	struct json_object *val;

	if (json_check_require(jc, obj, parent, key, &val, path))
		return -1;
	return copy_string(jc, val, path, dst, cap);
}

static int read_int(struct json_check *jc, struct json_object *obj, const char *parent,
		    const char *key, int min, int max, int *out)
{
	char path[JSON_CHECK_PATH_MAX];
	struct json_object *val;
	unsigned num;

	if (json_check_require(jc, obj, parent, key, &val, path) ||
	    json_check_uint(jc, val, path, min, max, &num))
		return -1;
	*out = (int)num;
	return 0;
}

static int read_ints(struct json_check *jc, struct json_object *obj, const char *parent,
		     const char *key, size_t n, int min, int max, int *out)
{
	char path[JSON_CHECK_PATH_MAX], item[JSON_CHECK_PATH_MAX];
	struct json_object *val;
	unsigned num;

	if (json_check_require(jc, obj, parent, key, &val, path) || json_check_array(jc, val, path))
		return -1;
	if (json_object_array_length(val) != n)
		return json_check_fail(jc, path, "must hold %zu integers, got %zu", n,
				       json_object_array_length(val));
	for (size_t k = 0; k < n; k++) {
		json_check_index_path(item, path, k);
		if (json_check_uint(jc, json_object_array_get_idx(val, k), item, min, max, &num))
			return -1;
		out[k] = (int)num;
	}
	return 0;
}

static int read_bool(struct json_check *jc, struct json_object *obj, const char *parent,
		     const char *key, bool *out)
{
	char path[JSON_CHECK_PATH_MAX];
	struct json_object *val;

	if (json_check_require(jc, obj, parent, key, &val, path))
		return -1;
	return json_check_bool(jc, val, path, out);
}

/* A count (FLOPs, parameters, bytes): an integer, so that comparing it
 * with the recomputed one is exact. */
static int read_figure(struct json_check *jc, struct json_object *obj, const char *parent,
		       const char *key, double *out)
{
	char path[JSON_CHECK_PATH_MAX], buf[JSON_CHECK_DESCRIBE_MAX];
	struct json_object *val;
	int64_t num;

	if (json_check_require(jc, obj, parent, key, &val, path))
		return -1;
	num = json_object_get_int64(val);
	if (!json_object_is_type(val, json_type_int) || num < 0 || (double)num > FIGURE_MAX)
		return json_check_fail(jc, path, "must be a non-negative integer, got %s",
				       json_check_describe(val, buf));
	*out = (double)num;
	return 0;
}

static int read_number(struct json_check *jc, struct json_object *obj, const char *parent,
		       const char *key, double lo, double hi, double *out)
{
	const struct json_check_range range = { .lo = lo, .hi = hi };
	char path[JSON_CHECK_PATH_MAX];
	struct json_object *val;

	if (json_check_require(jc, obj, parent, key, &val, path))
		return -1;
	return json_check_number(jc, val, path, &range, out);
}

static int read_array(struct json_check *jc, struct json_object *obj, const char *parent,
		      const char *key, size_t min, size_t max, struct json_object **arr,
		      char path[JSON_CHECK_PATH_MAX])
{
	size_t n;

	if (json_check_require(jc, obj, parent, key, arr, path) || json_check_array(jc, *arr, path))
		return -1;
	n = json_object_array_length(*arr);
	if (n < min || n > max)
		return json_check_fail(jc, path, "%zu entries, expected %zu to %zu", n, min, max);
	return 0;
}

/* ---- layers ------------------------------------------------------------------ */

static int read_act(struct json_check *jc, struct json_object *obj, const char *parent,
		    struct dnn_layer *l)
{
	char path[JSON_CHECK_PATH_MAX];
	struct json_object *val;
	const char *name;
	int act;

	if (json_check_require(jc, obj, parent, "act", &val, path) || json_check_string(jc, val, path, &name))
		return -1;
	act = dnn_act_parse(name);
	if (act < 0)
		return json_check_fail(jc, path,
				       "unknown activation \"%s\" (expected one of: none, relu, "
				       "relu6, leaky, swish, sigmoid)",
				       name);
	l->act = act;
	if (act == DNN_ACT_LEAKY)
		return read_number(jc, obj, parent, "alpha", 0, 1, &l->alpha);
	if (json_check_lookup(obj, parent, "alpha", &val, path))
		return json_check_fail(jc, path, "only a leaky activation takes alpha");
	return 0;
}

static int read_attributes(struct json_check *jc, struct json_object *obj, const char *parent,
			   struct dnn_layer *l)
{
	char path[JSON_CHECK_PATH_MAX];
	struct json_object *val;
	const char *mode;

	if (type_takes(l->type, "kernel") &&
	    (read_ints(jc, obj, parent, "kernel", 2, 1, SIZE_MAX_DIM, l->kernel) ||
	     read_ints(jc, obj, parent, "stride", 2, 1, SIZE_MAX_DIM, l->stride) ||
	     read_ints(jc, obj, parent, "pad", 4, 0, SIZE_MAX_DIM, l->pad)))
		return -1;
	if (type_takes(l->type, "dilation") &&
	    (read_ints(jc, obj, parent, "dilation", 2, 1, SIZE_MAX_DIM, l->dilation) ||
	     read_int(jc, obj, parent, "groups", 1, SIZE_MAX_DIM, &l->groups)))
		return -1;
	if (type_takes(l->type, "bias") && read_bool(jc, obj, parent, "bias", &l->bias))
		return -1;
	if (type_takes(l->type, "act") && read_act(jc, obj, parent, l))
		return -1;
	if (type_takes(l->type, "count_pad") &&
	    read_bool(jc, obj, parent, "count_pad", &l->count_pad))
		return -1;
	if (type_takes(l->type, "axis") && read_int(jc, obj, parent, "axis", 0, 3, &l->axis))
		return -1;
	if (type_takes(l->type, "channels") &&
	    read_ints(jc, obj, parent, "channels", 2, 0, SIZE_MAX_DIM, l->channels))
		return -1;
	if (type_takes(l->type, "scale")) {
		if (read_int(jc, obj, parent, "scale", 1, 64, &l->scale) ||
		    json_check_require(jc, obj, parent, "mode", &val, path) ||
		    json_check_string(jc, val, path, &mode))
			return -1;
		if (strcmp(mode, "nearest"))
			return json_check_fail(jc, path, "unknown mode \"%s\" (expected nearest)",
					       mode);
	}
	return 0;
}

/* Index of the layer among 0..below-1 that is named name, the latest one. */
static int find_layer(const struct dnn_model *m, int below, const char *name)
{
	for (int j = below - 1; j >= 0; j--)
		if (!strcmp(m->layers[j].name, name))
			return j;
	return -2;
}

/* Where a name that is not an earlier layer is, for the error message. */
static int later_layer(struct json_object *layers, int from, const char *name)
{
	struct json_object *obj, *val;

	for (size_t j = from; j < json_object_array_length(layers); j++) {
		obj = json_object_array_get_idx(layers, j);
		if (json_object_is_type(obj, json_type_object) &&
		    json_object_object_get_ex(obj, "name", &val) &&
		    json_object_is_type(val, json_type_string) &&
		    !strcmp(json_object_get_string(val), name))
			return (int)j;
	}
	return -1;
}

static int read_inputs(struct json_check *jc, struct json_object *obj, const char *parent,
		       struct dnn_model *m, int i, struct json_object *layers)
{
	char path[JSON_CHECK_PATH_MAX], item[JSON_CHECK_PATH_MAX];
	struct dnn_layer *l = &m->layers[i];
	struct json_object *arr;
	const char *name;
	int later;

	if (read_array(jc, obj, parent, "inputs", 1, DNN_MAX_INPUTS, &arr, path))
		return -1;
	l->nr_inputs = (int)json_object_array_length(arr);
	for (int k = 0; k < l->nr_inputs; k++) {
		json_check_index_path(item, path, k);
		if (json_check_string(jc, json_object_array_get_idx(arr, k), item, &name))
			return -1;
		if (!strcmp(name, m->input_name)) {
			l->inputs[k] = DNN_INPUT;
			continue;
		}
		l->inputs[k] = find_layer(m, i, name);
		if (l->inputs[k] >= 0)
			continue;
		later = later_layer(layers, i, name);
		if (later == i)
			return json_check_fail(jc, item, "\"%s\" is the layer itself", name);
		if (later > i)
			return json_check_fail(jc, item,
					       "\"%s\" is layers[%d], which comes later (layers "
					       "are listed in topological order)",
					       name, later);
		return json_check_fail(jc, item, "no layer or input is named \"%s\"", name);
	}
	return 0;
}

static int read_layer(struct json_check *jc, struct json_object *layers, struct dnn_model *m, int i)
{
	const char *known[sizeof(common_keys) / sizeof(common_keys[0]) + 9];
	char parent[JSON_CHECK_PATH_MAX], path[JSON_CHECK_PATH_MAX];
	struct json_object *obj = json_object_array_get_idx(layers, i);
	struct dnn_layer *l = &m->layers[i];
	struct json_object *val;
	const char *type;
	size_t nk = 0;
	int t;

	json_check_index_path(parent, "layers", i);
	if (json_check_object(jc, obj, parent) ||
	    read_string(jc, obj, parent, "name", l->name, sizeof(l->name)))
		return -1;
	snprintf(parent, sizeof(parent), "layers[%d] (%s)", i, l->name);
	/* Now, before a reference resolves to the wrong one of two. */
	if (find_layer(m, i, l->name) >= 0 || !strcmp(l->name, m->input_name)) {
		json_check_key_path(path, parent, "name");
		return json_check_fail(jc, path, "\"%s\" is already the name of %s", l->name,
				       strcmp(l->name, m->input_name) ? "an earlier layer" :
									"the input");
	}

	if (json_check_require(jc, obj, parent, "type", &val, path) || json_check_string(jc, val, path, &type))
		return -1;
	t = dnn_layer_type_parse(type);
	if (t < 0)
		return json_check_fail(jc, path,
				       "unknown type \"%s\" (expected one of: conv, fc, maxpool, "
				       "avgpool, gavgpool, add, mul, concat, slice, upsample, act, "
				       "softmax)",
				       type);
	l->type = t;
	for (const char *const *k = common_keys; *k; k++)
		known[nk++] = *k;
	for (const char *const *k = type_keys[t]; *k; k++)
		known[nk++] = *k;
	known[nk] = NULL;
	if (json_check_keys(jc, obj, parent, known) || read_inputs(jc, obj, parent, m, i, layers) ||
	    read_ints(jc, obj, parent, "shape", 4, 0, SIZE_MAX_DIM, l->shape) ||
	    read_attributes(jc, obj, parent, l) ||
	    read_figure(jc, obj, parent, "flops", &l->flops) ||
	    read_figure(jc, obj, parent, "params", &l->params) ||
	    read_figure(jc, obj, parent, "out_bytes", &l->out_bytes) ||
	    read_int(jc, obj, parent, "block", 0, DNN_MAX_BLOCKS - 1, &l->block) ||
	    read_bool(jc, obj, parent, "cut_after", &l->cut_after))
		return -1;
	return 0;
}

/* ---- the document -------------------------------------------------------------- */

static int read_header(struct json_check *jc, struct json_object *root, struct dnn_model *m)
{
	char path[JSON_CHECK_PATH_MAX];
	struct json_object *obj;
	const char *c;

	if (read_string(jc, root, "", "name", m->name, sizeof(m->name)))
		return -1;
	for (c = m->name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			break;
	if (*c || !m->name[0])
		return json_check_fail(jc, "name", "\"%s\": use lower-case letters, digits and _",
				       m->name);
	if (read_string(jc, root, "", "title", m->title, sizeof(m->title)) ||
	    read_string(jc, root, "", "source", m->source, sizeof(m->source)))
		return -1;

	if (json_check_require(jc, root, "", "published", &obj, path) || json_check_object(jc, obj, path) ||
	    json_check_keys(jc, obj, path, published_keys) ||
	    read_number(jc, obj, path, "params", 0, FIGURE_MAX, &m->published_params) ||
	    read_number(jc, obj, path, "macs", 0, FIGURE_MAX, &m->published_macs) ||
	    read_string(jc, obj, path, "source", m->published_source, sizeof(m->published_source)))
		return -1;

	if (json_check_require(jc, root, "", "input", &obj, path) || json_check_object(jc, obj, path) ||
	    json_check_keys(jc, obj, path, input_keys) ||
	    read_string(jc, obj, path, "name", m->input_name, sizeof(m->input_name)) ||
	    read_ints(jc, obj, path, "shape", 4, 1, SIZE_MAX_DIM, m->input_shape))
		return -1;
	return 0;
}

static int read_blocks(struct json_check *jc, struct json_object *root, struct dnn_model *m)
{
	char path[JSON_CHECK_PATH_MAX], item[JSON_CHECK_PATH_MAX];
	struct json_object *arr;

	if (read_array(jc, root, "", "blocks", 1, DNN_MAX_BLOCKS, &arr, path))
		return -1;
	m->nr_blocks = (int)json_object_array_length(arr);
	for (int b = 0; b < m->nr_blocks; b++) {
		json_check_index_path(item, path, b);
		if (copy_string(jc, json_object_array_get_idx(arr, b), item, m->blocks[b],
				sizeof(m->blocks[b])))
			return -1;
	}
	return 0;
}

static int read_outputs(struct json_check *jc, struct json_object *root, struct dnn_model *m)
{
	char path[JSON_CHECK_PATH_MAX], item[JSON_CHECK_PATH_MAX];
	struct json_object *arr;
	const char *name;

	if (read_array(jc, root, "", "outputs", 1, DNN_MAX_OUTPUTS, &arr, path))
		return -1;
	m->nr_outputs = (int)json_object_array_length(arr);
	for (int o = 0; o < m->nr_outputs; o++) {
		json_check_index_path(item, path, o);
		if (json_check_string(jc, json_object_array_get_idx(arr, o), item, &name))
			return -1;
		m->outputs[o] = find_layer(m, m->nr_layers, name);
		if (m->outputs[o] < 0)
			return json_check_fail(jc, item, "no layer is named \"%s\"", name);
	}
	return 0;
}

static int read_document(struct json_check *jc, struct json_object *root, struct dnn_model *m)
{
	char path[JSON_CHECK_PATH_MAX];
	struct json_object *val, *layers;
	const char *format;
	size_t n;

	/* The format first: a file of another version fails on that, not on
	 * whichever of its keys this reader happens not to know. */
	if (json_check_require(jc, root, "", "format", &val, path) || json_check_string(jc, val, path, &format))
		return -1;
	if (strcmp(format, ZOO_FORMAT))
		return json_check_fail(jc, path, "unknown format \"%s\" (this reader knows \"%s\")",
				       format, ZOO_FORMAT);
	if (json_check_keys(jc, root, "", top_keys) || read_header(jc, root, m) ||
	    read_blocks(jc, root, m))
		return -1;

	if (json_check_require(jc, root, "", "layers", &layers, path) || json_check_array(jc, layers, path))
		return -1;
	n = json_object_array_length(layers);
	if (n < 1 || n > DNN_MAX_LAYERS)
		return json_check_fail(jc, path, "%zu layers, expected 1 to %d (PLAN_MAX_LAYERS)",
				       n, DNN_MAX_LAYERS);
	m->nr_layers = (int)n;
	for (int i = 0; i < m->nr_layers; i++)
		if (read_layer(jc, layers, m, i))
			return -1;
	return read_outputs(jc, root, m);
}

int zoo_parse(const char *origin, const char *text, struct dnn_model *m, char *err, size_t errlen)
{
	struct json_check jc = { .origin = origin, .err = err, .errlen = errlen };
	struct json_object *root;
	int ret;

	memset(m, 0, sizeof(*m));
	root = json_check_parse_text(&jc, text, ZOO_TEXT_MAX);
	if (!root)
		return -1;
	ret = read_document(&jc, root, m);
	json_object_put(root);
	if (ret)
		return -1;
	return dnn_model_check(m, origin, err, errlen);
}
