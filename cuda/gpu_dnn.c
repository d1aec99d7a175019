// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A zoo model on the GPU (cuda/gpu_dnn.h).
 *
 * Parameters are random but scaled like a trained network's (uniform with
 * variance 1/fan_in), so that activations neither vanish into denormals
 * nor overflow through deep stacks, and the GPU tests can compare a whole
 * network's output with the CPU reference in relative terms. Each
 * tensor has its own generator seeded from (seed, layer, tensor), so the
 * host can remake any one of them for the CPU reference without the rest.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "exec.h"
#include "gpu_dnn.h"

#define CHUNK_FLOATS (1u << 20) /* host staging for the parameters */

enum tensor_kind { KIND_INPUT, KIND_WEIGHT, KIND_BIAS };

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

struct gen {
	uint64_t state;
	float lo, hi;
};

static struct gen gen_for(const struct gpu_dnn *d, int layer, enum tensor_kind kind)
{
	struct gen g = { .state = d->seed };
	int64_t weight = 0, bias = 0;

	g.state ^= splitmix64(&(uint64_t){ ((uint64_t)(layer + 1) << 8) | kind });
	if (kind == KIND_INPUT) {
		g.lo = 0.0f;
		g.hi = 1.0f;
		return g;
	}
	tk_layer_param_elems(d->model, layer, &weight, &bias);
	if (kind == KIND_BIAS) {
		g.lo = -0.1f;
		g.hi = 0.1f;
	} else {
		int out = d->model->layers[layer].shape[3];
		double fan_in = out > 0 ? (double)weight / out : 1.0;
		float a = (float)sqrt(3.0 / (fan_in > 0 ? fan_in : 1.0));

		g.lo = -a;
		g.hi = a;
	}
	return g;
}

static void gen_fill(struct gen *g, float *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float u = (float)(splitmix64(&g->state) >> 40) * (1.0f / 16777216.0f);

		out[i] = g->lo + (g->hi - g->lo) * u;
	}
}

static void gen_tensor(const struct gpu_dnn *d, int layer, enum tensor_kind kind, float *out,
		       size_t n)
{
	struct gen g = gen_for(d, layer, kind);

	gen_fill(&g, out, n);
}

int64_t gpu_dnn_tensor_elems(const struct gpu_dnn *d, int layer)
{
	const int *s = dnn_tensor_shape(d->model, layer);

	return (int64_t)s[0] * s[1] * s[2] * s[3];
}

static int alloc(struct gpu_dnn *d, CUdeviceptr *p, int64_t elems, const char *what, int layer,
		 char *err, size_t errlen)
{
	char where[160];
	CUresult r;

	*p = 0;
	if (elems <= 0)
		return 0;
	r = cu.MemAlloc(p, (size_t)elems * sizeof(float));
	if (r != CUDA_SUCCESS) {
		snprintf(where, sizeof(where), "%s: %s of layer %d (%.1f MB)", d->name, what, layer,
			 elems * 4.0 / 1e6);
		return cudrv_fail(r, err, errlen, where);
	}
	d->device_bytes += (double)elems * sizeof(float);
	return 0;
}

/* Fills n floats at p from the tensor's generator, a chunk at a time. */
static int upload(struct gpu_dnn *d, CUdeviceptr p, int64_t n, int layer, enum tensor_kind kind,
		  float *chunk, char *err, size_t errlen)
{
	struct gen g = gen_for(d, layer, kind);

	for (int64_t done = 0; done < n;) {
		size_t len = (size_t)(n - done < CHUNK_FLOATS ? n - done : CHUNK_FLOATS);
		CUresult r;

		gen_fill(&g, chunk, len);
		r = cu.MemcpyHtoD(p + (CUdeviceptr)done * sizeof(float), chunk, len * sizeof(float));
		if (r != CUDA_SUCCESS)
			return cudrv_fail(r, err, errlen, "uploading parameters");
		done += (int64_t)len;
	}
	return 0;
}

static int add_kernels(struct gpu_dnn *d, int i, char *err, size_t errlen)
{
	const struct dnn_layer *l = &d->model->layers[i];
	struct tk_launch launches[TK_MAX_LAUNCHES];
	struct tk_layer_buffers buf;
	int n;

	memset(&buf, 0, sizeof(buf));
	for (int k = 0; k < l->nr_inputs; k++)
		buf.in[k] = l->inputs[k] == DNN_INPUT ? d->input : d->outputs[l->inputs[k]];
	buf.out = d->outputs[i];
	buf.weight = d->weights[i];
	buf.bias = d->biases[i];
	n = tk_layer_launches(d->model, i, &buf, launches, TK_MAX_LAUNCHES, err, errlen);
	if (n < 0)
		return n;
	for (int k = 0; k < n; k++) {
		struct gpu_kernel *kn = &d->kernels[d->nr_kernels++];

		kn->launch = launches[k];
		kn->layer = i;
		kn->logical_blocks = tk_args_logical_blocks(launches[k].op, &launches[k].args);
		if (!kn->logical_blocks) {
			set_error(err, errlen, "%s: layer %d (%s): an empty kernel", d->name, i,
				  l->name);
			return -EINVAL;
		}
	}
	return 0;
}

/* Uploads layer i's parameters as the CPU executor draws them
 * (exec_layer_params), after checking that both sides agree on their
 * sizes. */
static int upload_exec_params(struct gpu_dnn *d, int i, int64_t weight, int64_t bias, char *err,
			      size_t errlen)
{
	size_t nw, nb;
	float *w, *b;
	CUresult r = CUDA_SUCCESS;

	exec_layer_param_counts(d->model, i, &nw, &nb);
	if ((int64_t)nw != weight || (int64_t)nb != bias) {
		set_error(err, errlen,
			  "%s: layer %d (%s): the executor draws %zu weights and %zu biases, the kernels take %lld and %lld",
			  d->name, i, d->model->layers[i].name, nw, nb, (long long)weight,
			  (long long)bias);
		return -EINVAL;
	}
	if (!nw && !nb)
		return 0;
	w = malloc((nw + nb + 1) * sizeof(float));
	if (!w) {
		set_error(err, errlen, "%s: out of host memory", d->name);
		return -ENOMEM;
	}
	b = w + nw;
	exec_layer_params(d->model, i, d->seed, w, b);
	if (nw)
		r = cu.MemcpyHtoD(d->weights[i], w, nw * sizeof(float));
	if (r == CUDA_SUCCESS && nb)
		r = cu.MemcpyHtoD(d->biases[i], b, nb * sizeof(float));
	free(w);
	return r == CUDA_SUCCESS ? 0 : cudrv_fail(r, err, errlen, "uploading parameters");
}

/* A stage reads only its own layers' outputs and the tensor before it. */
static int check_stage_inputs(const struct gpu_dnn *d, char *err, size_t errlen)
{
	for (int i = d->first; i <= d->last; i++) {
		const struct dnn_layer *l = &d->model->layers[i];

		for (int k = 0; k < l->nr_inputs; k++) {
			int t = l->inputs[k];

			if (t == d->first - 1 || (t >= d->first && t < i) ||
			    (t == DNN_INPUT && d->first == 0))
				continue;
			set_error(err, errlen,
				  "%s: layers %d-%d are no stage: layer %d (%s) reads tensor %d from outside it",
				  d->name, d->first, d->last, i, l->name, t);
			return -EINVAL;
		}
	}
	return 0;
}

/* How build() makes a DNN: with the executor's weights or its own; with
 * the weights of another (from: not allocated, not uploaded, not freed);
 * or the weights alone (no tensors, no kernels: what others share). */
struct build_how {
	bool exec_weights;
	const struct gpu_dnn *from;
	bool weights_only;
	const struct gpu_dnn_place *place;
};

static int build(const struct dnn_model *m, uint64_t seed, int first, int last,
		 const struct build_how *how, struct gpu_dnn *d, char *err, size_t errlen)
{
	bool exec_weights = how->exec_weights, tensors = !how->weights_only;
	struct dnn_totals totals;
	float *chunk = NULL;
	int ret = -ENOMEM, n = m->nr_layers;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", m->name);
	if (first < 0 || last >= n || first > last) {
		set_error(err, errlen, "%s: layers %d-%d out of range 0-%d", m->name, first, last,
			  n - 1);
		return -EINVAL;
	}
	d->seed = seed;
	d->first = first;
	d->last = last;
	d->borrowed_weights = how->from != NULL;
	d->model = dnn_model_alloc();
	d->outputs = calloc((size_t)n, sizeof(*d->outputs));
	d->weights = calloc((size_t)n, sizeof(*d->weights));
	d->biases = calloc((size_t)n, sizeof(*d->biases));
	d->kernels = calloc((size_t)(last - first + 1) * TK_MAX_LAUNCHES, sizeof(*d->kernels));
	d->placed = calloc((size_t)n, 1);
	chunk = exec_weights ? NULL : malloc(CHUNK_FLOATS * sizeof(float));
	if (!d->model || !d->outputs || !d->weights || !d->biases || !d->kernels || !d->placed ||
	    (!exec_weights && !chunk)) {
		set_error(err, errlen, "%s: out of host memory", m->name);
		goto fail;
	}
	memcpy(d->model, m, sizeof(*m));
	dnn_model_totals(m, &totals);
	d->flops = totals.flops;
	if ((ret = check_stage_inputs(d, err, errlen)))
		goto fail;

	if (!tensors)
		ret = 0;
	else if (first == 0) {
		ret = alloc(d, &d->input, gpu_dnn_tensor_elems(d, DNN_INPUT), "input", -1, err,
			    errlen);
		if (!ret && !exec_weights)
			ret = upload(d, d->input, gpu_dnn_tensor_elems(d, DNN_INPUT), -1,
				     KIND_INPUT, chunk, err, errlen);
	} else {
		ret = alloc(d, &d->outputs[first - 1], gpu_dnn_tensor_elems(d, first - 1),
			    "input", first - 1, err, errlen);
	}
	if (ret)
		goto fail;
	for (int i = first; i <= last; i++) {
		int64_t weight, bias;

		tk_layer_param_elems(m, i, &weight, &bias);
		for (int k = 0; tensors && how->place && k < how->place->nr; k++)
			if (how->place->layer[k] == i) {
				d->outputs[i] = how->place->at[k];
				d->placed[i] = 1;
			}
		if (tensors && !d->placed[i] &&
		    (ret = alloc(d, &d->outputs[i], gpu_dnn_tensor_elems(d, i), "output", i, err,
				 errlen)))
			goto fail;
		if (how->from) {
			d->weights[i] = how->from->weights[i];
			d->biases[i] = how->from->biases[i];
			continue;
		}
		if ((ret = alloc(d, &d->weights[i], weight, "weights", i, err, errlen)) ||
		    (ret = alloc(d, &d->biases[i], bias, "bias", i, err, errlen)))
			goto fail;
		if (exec_weights)
			ret = upload_exec_params(d, i, weight, bias, err, errlen);
		else if (!(ret = upload(d, d->weights[i], weight, i, KIND_WEIGHT, chunk, err,
					errlen)))
			ret = upload(d, d->biases[i], bias, i, KIND_BIAS, chunk, err, errlen);
		if (ret)
			goto fail;
	}
	for (int i = first; tensors && i <= last; i++)
		if ((ret = add_kernels(d, i, err, errlen)))
			goto fail;
	free(chunk);
	return 0;

fail:
	free(chunk);
	gpu_dnn_free(d);
	return ret;
}

int gpu_dnn_build(struct gpu_device *g, const struct dnn_model *m, uint64_t seed,
		  struct gpu_dnn *d, char *err, size_t errlen)
{
	static const struct build_how how = { .exec_weights = false };

	(void)g;
	return build(m, seed, 0, m->nr_layers - 1, &how, d, err, errlen);
}

int gpu_dnn_build_stage(struct gpu_device *g, const struct dnn_model *m, uint64_t seed, int first,
			int last, struct gpu_dnn *d, char *err, size_t errlen)
{
	static const struct build_how how = { .exec_weights = true };

	(void)g;
	return build(m, seed, first, last, &how, d, err, errlen);
}

int gpu_dnn_build_weights(struct gpu_device *g, const struct dnn_model *m, uint64_t seed,
			  int first, int last, struct gpu_dnn *d, char *err, size_t errlen)
{
	static const struct build_how how = { .exec_weights = true, .weights_only = true };

	(void)g;
	return build(m, seed, first, last, &how, d, err, errlen);
}

int gpu_dnn_build_sharing(struct gpu_device *g, const struct gpu_dnn *from,
			  const struct gpu_dnn_place *place, struct gpu_dnn *d, char *err,
			  size_t errlen)
{
	const struct build_how how = { .exec_weights = true, .from = from, .place = place };

	(void)g;
	return build(from->model, from->seed, from->first, from->last, &how, d, err, errlen);
}

CUdeviceptr gpu_dnn_stage_input(const struct gpu_dnn *d)
{
	return d->first ? d->outputs[d->first - 1] : d->input;
}

int gpu_dnn_load(struct gpu_device *g, const char *dir, const char *name, uint64_t seed,
		 struct gpu_dnn *d, char *err, size_t errlen)
{
	struct dnn_model *m = dnn_model_alloc();
	int ret;

	memset(d, 0, sizeof(*d));
	if (!m) {
		set_error(err, errlen, "%s: out of host memory", name);
		return -ENOMEM;
	}
	if (zoo_load_named(dir ? dir : zoo_default_dir(), name, m, err, errlen)) {
		dnn_model_free(m);
		return -ENOENT;
	}
	ret = gpu_dnn_build(g, m, seed, d, err, errlen);
	dnn_model_free(m);
	return ret;
}

void gpu_dnn_free(struct gpu_dnn *d)
{
	if (d->input)
		cu.MemFree(d->input);
	for (int i = 0; d->model && i < d->model->nr_layers; i++) {
		if (d->outputs && d->outputs[i] && !(d->placed && d->placed[i]))
			cu.MemFree(d->outputs[i]);
		if (d->borrowed_weights)
			continue;
		if (d->weights && d->weights[i])
			cu.MemFree(d->weights[i]);
		if (d->biases && d->biases[i])
			cu.MemFree(d->biases[i]);
	}
	free(d->outputs);
	free(d->weights);
	free(d->biases);
	free(d->kernels);
	free(d->placed);
	if (d->model)
		dnn_model_free(d->model);
	memset(d, 0, sizeof(*d));
}

void gpu_dnn_host_input(const struct gpu_dnn *d, float *in)
{
	gen_tensor(d, -1, KIND_INPUT, in, (size_t)gpu_dnn_tensor_elems(d, DNN_INPUT));
}

void gpu_dnn_host_params(const struct gpu_dnn *d, int layer, float *weight, float *bias)
{
	int64_t nw, nb;

	tk_layer_param_elems(d->model, layer, &nw, &nb);
	if (weight && nw)
		gen_tensor(d, layer, KIND_WEIGHT, weight, (size_t)nw);
	if (bias && nb)
		gen_tensor(d, layer, KIND_BIAS, bias, (size_t)nb);
}

int gpu_dnn_read(const struct gpu_dnn *d, int layer, float *out, size_t n, char *err,
		 size_t errlen)
{
	CUdeviceptr p = layer == DNN_INPUT ? d->input : d->outputs[layer];
	CUresult r;

	if ((int64_t)n > gpu_dnn_tensor_elems(d, layer)) {
		set_error(err, errlen, "%s: layer %d holds %lld elements, %zu asked", d->name, layer,
			  (long long)gpu_dnn_tensor_elems(d, layer), n);
		return -EINVAL;
	}
	r = cu.MemcpyDtoH(out, p, n * sizeof(float));
	return r == CUDA_SUCCESS ? 0 : cudrv_fail(r, err, errlen, "reading a layer's output");
}

int gpu_dnn_poison(const struct gpu_dnn *d, char *err, size_t errlen)
{
	for (int i = 0; i < d->model->nr_layers; i++) {
		CUresult r;

		if (!d->outputs[i])
			continue;
		r = cu.MemsetD32(d->outputs[i], GPU_DNN_POISON, (size_t)gpu_dnn_tensor_elems(d, i));
		if (r != CUDA_SUCCESS)
			return cudrv_fail(r, err, errlen, "poisoning the outputs");
	}
	return 0;
}
