// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Timing a DNN on the executor (exec/exec.h): the one way bench/exec-speed,
 * bench/cpu-estimate --speed and triage-run --profile measure it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "exec.h"
#include "quantile.h"

float *exec_input_alloc(const struct dnn_exec *e)
{
	size_t n = exec_input_floats(e);
	float *in = malloc(n * sizeof(*in));

	/* Fixed values in [-1, 1): every run times the same input. */
	for (size_t i = 0; in && i < n; i++)
		in[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
	return in;
}

/* One inference alone: submit, then collect. 0, or -1 with err. */
static int run_alone(struct dnn_exec *e, const float *in, struct exec_result *r, char *err,
		     size_t errlen)
{
	if (!exec_submit(e, in, 0) && !exec_collect(e, NULL, r))
		return 0;
	snprintf(err, errlen, "%s", exec_error(e));
	return -1;
}

int exec_time(struct dnn_exec *e, const struct exec_time_opts *o, struct exec_timing *t,
	      char *err, size_t errlen)
{
	int want = o->runs > 0 ? o->runs : 1, ret = -1;
	size_t cap = (size_t)want;
	double *lat = malloc(cap * sizeof(*lat)), t0;
	float *in = exec_input_alloc(e);
	struct exec_result r;

	memset(t, 0, sizeof(*t));
	if (!lat || !in)
		goto nomem;
	for (int i = 0; i < o->warmup; i++)
		if (run_alone(e, in, &r, err, errlen))
			goto out;
	exec_layer_times_reset(e);
	t0 = mono_s();
	while (t->runs < want || (o->min_seconds > 0 && mono_s() - t0 < o->min_seconds)) {
		if ((size_t)t->runs == cap) {
			double *more = realloc(lat, 2 * cap * sizeof(*lat));

			if (!more)
				goto nomem;
			lat = more;
			cap *= 2;
		}
		if (run_alone(e, in, &r, err, errlen))
			goto out;
		lat[t->runs++] = (double)(r.end_ns - r.begin_ns) / 1e6;
	}
	t->mean_ms = (mono_s() - t0) * 1e3 / t->runs;
	t->median_ms = quantile_median(lat, (size_t)t->runs);
	ret = 0;
out:
	free(lat);
	free(in);
	return ret;
nomem:
	snprintf(err, errlen, "out of memory");
	goto out;
}
