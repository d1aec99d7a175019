// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The zoo on disk and in the planner: where the model files are (a source
 * tree, $TRIAGE_MODELS or the installed data directory), loading one by
 * name with the available names in the error when it is not there, and the
 * mapping of a checked model onto the planner's per-layer costs.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "zoo.h"

#ifndef TRIAGE_DATADIR
#define TRIAGE_DATADIR "/usr/local/share/triage"
#endif

#define ZOO_FILE_MAX (4u << 20)
#define ZOO_PATH_MAX 4096

struct dnn_model *dnn_model_alloc(void)
{
	return calloc(1, sizeof(struct dnn_model));
}

void dnn_model_free(struct dnn_model *m)
{
	free(m);
}

static bool model_name_ok(const char *name, size_t len)
{
	if (!len || len >= PLAN_NAME_MAX)
		return false;
	for (size_t k = 0; k < len; k++)
		if (!((name[k] >= 'a' && name[k] <= 'z') || (name[k] >= '0' && name[k] <= '9') ||
		      name[k] == '_'))
			return false;
	return true;
}

/* ---- files ------------------------------------------------------------------ */

/* The whole file, NUL-terminated, to free(); NULL with err set. */
static char *read_model_text(const char *path, char *err, size_t errlen)
{
	char *text;
	int ret = read_file_alloc(path, ZOO_FILE_MAX, &text, NULL);

	if (ret == -EFBIG)
		snprintf(err, errlen, "%s: larger than %u bytes: not a model file", path,
			 ZOO_FILE_MAX);
	else if (ret == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", path);
	else if (ret == -EIO)
		snprintf(err, errlen, "%s: read error", path);
	else if (ret)
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	return ret ? NULL : text;
}

int zoo_load_file(const char *path, struct dnn_model *m, char *err, size_t errlen)
{
	const char *base = path_base(path);
	size_t stem = strlen(base);
	char *text;
	int ret;

	text = read_model_text(path, err, errlen);
	if (!text)
		return -1;
	/* Errors name the file as the zoo knows it; the directory is noise. */
	ret = zoo_parse(base, text, m, err, errlen);
	free(text);
	if (ret)
		return -1;
	if (stem > 5 && !strcmp(base + stem - 5, ".json"))
		stem -= 5;
	if (strlen(m->name) != stem || strncmp(m->name, base, stem)) {
		snprintf(err, errlen, "%s: name: \"%s\" is not the file's name (%.*s)", base,
			 m->name, (int)stem, base);
		return -1;
	}
	return 0;
}

const char *zoo_default_dir(void)
{
	const char *env = getenv(ZOO_MODELS_ENV);
	struct stat st;

	if (env && *env)
		return env;
	if (!stat("models/zoo", &st) && S_ISDIR(st.st_mode))
		return "models/zoo";
	return TRIAGE_DATADIR "/models";
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

int zoo_list(const char *dir, char (*names)[PLAN_NAME_MAX], int max, char *err, size_t errlen)
{
	struct dirent *ent;
	int count = 0;
	DIR *d;

	d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((ent = readdir(d))) {
		size_t len = strlen(ent->d_name);

		if (len <= 5 || strcmp(ent->d_name + len - 5, ".json") ||
		    !model_name_ok(ent->d_name, len - 5))
			continue;
		if (count == max) {
			snprintf(err, errlen, "%s: more than %d models", dir, max);
			closedir(d);
			return -1;
		}
		snprintf(names[count++], PLAN_NAME_MAX, "%.*s", (int)(len - 5), ent->d_name);
	}
	closedir(d);
	qsort(names, count, PLAN_NAME_MAX, compare_names);
	return count;
}

/* "unknown model ... (models in DIR: a, b, c)", or the listing's own error. */
static void unknown_model(const char *dir, const char *name, char *err, size_t errlen)
{
	char names[ZOO_MAX_MODELS][PLAN_NAME_MAX];
	char list[ZOO_MAX_MODELS * PLAN_NAME_MAX];
	size_t used = 0;
	int n;

	n = zoo_list(dir, names, ZOO_MAX_MODELS, err, errlen);
	if (n < 0)
		return;
	list[0] = '\0';
	for (int k = 0; k < n; k++)
		used += snprintf(list + used, sizeof(list) - used, "%s%s", k ? ", " : "", names[k]);
	snprintf(err, errlen, "unknown model \"%s\" (models in %s: %s)", name, dir,
		 n ? list : "none");
}

int zoo_load_named(const char *dir, const char *name, struct dnn_model *m, char *err, size_t errlen)
{
	char path[ZOO_PATH_MAX];
	struct stat st;

	if (!model_name_ok(name, strlen(name))) {
		unknown_model(dir, name, err, errlen);
		return -1;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.json", dir, name) >= sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if (stat(path, &st) && errno == ENOENT) {
		unknown_model(dir, name, err, errlen);
		return -1;
	}
	return zoo_load_file(path, m, err, errlen);
}

/* ---- the planner's view -------------------------------------------------------- */

static enum plan_op op_class(const struct dnn_layer *l)
{
	switch (l->type) {
	case DNN_CONV:
		/* Depthwise and grouped convolutions run far below dense ones' rate:
		 * little reuse of each loaded weight and input. */
		return l->groups == 1 ? PLAN_OP_CONV : PLAN_OP_DWCONV;
	case DNN_FC:
		return PLAN_OP_FC;
	case DNN_MAXPOOL:
	case DNN_AVGPOOL:
	case DNN_GAVGPOOL:
		return PLAN_OP_POOL;
	default:
		return PLAN_OP_ELTWISE;
	}
}

int zoo_to_plan_model(const struct dnn_model *m, struct plan_model *pm, char *err, size_t errlen)
{
	double weight_bytes = 0;

	/* Cheap next to a search, and the planner must never see a model
	 * whose cut points or figures are wrong. */
	if (dnn_model_check(m, m->name, err, errlen))
		return -1;
	memset(pm, 0, sizeof(*pm));
	snprintf(pm->name, sizeof(pm->name), "%s", m->name);
	pm->nr_layers = m->nr_layers;
	for (int i = 0; i < m->nr_layers; i++) {
		const struct dnn_layer *l = &m->layers[i];
		struct plan_layer *pl = &pm->layers[i];

		pl->op = op_class(l);
		pl->flops = l->flops;
		pl->param_bytes = 4 * l->params;
		for (int k = 0; k < l->nr_inputs; k++)
			pl->in_bytes += dnn_tensor_bytes(m, l->inputs[k]);
		pl->out_bytes = l->out_bytes;
		pl->cut_after = l->cut_after;
		pl->cut_bytes = l->cut_after ? dnn_live_bytes_after(m, i, NULL) : 0;
		weight_bytes += pl->param_bytes;
	}
	pm->mem_bytes = weight_bytes + dnn_peak_activation_bytes(m);
	return 0;
}
