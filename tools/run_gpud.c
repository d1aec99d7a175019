// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * triage-run's GPU stages (tools/run_gpud.h): each stage the executor
 * opens becomes one connection to triage-gpud, its hello filled from what
 * the executor says the stage reads and writes. The executor runs the
 * stage on the CPU whenever open or run fails, and opens again later.
 */
#include <stdio.h>
#include <string.h>

#include "exec.h"
#include "run_gpud.h"

#include <triage/gpud.h>

struct run_gpud {
	const char *model, *name;
	bool critical;
};

static struct run_gpud ctx;

static void *gpud_open(void *arg, const struct exec_remote_stage *rs, char *err, size_t errlen)
{
	const struct run_gpud *r = arg;
	struct triage_gpud_hello h;
	struct triage_gpud_conn *conn;

	memset(&h, 0, sizeof(h));
	if (rs->nr_spans > TRIAGE_GPUD_MAX_SPANS) {
		snprintf(err, errlen, "%d model outputs in one stage, gpud takes %d", rs->nr_spans,
			 TRIAGE_GPUD_MAX_SPANS);
		return NULL;
	}
	snprintf(h.model, sizeof(h.model), "%s", r->model);
	snprintf(h.name, sizeof(h.name), "%s", r->name);
	h.seed = rs->seed;
	h.first = rs->first;
	h.last = rs->last;
	h.level = r->critical ? TRIAGE_GPUD_CRITICAL : TRIAGE_GPUD_BEST_EFFORT;
	h.in_floats = rs->in_floats;
	h.cut_floats = rs->cut_floats;
	h.out_floats = rs->out_floats;
	h.nr_spans = (uint32_t)rs->nr_spans;
	for (int k = 0; k < rs->nr_spans; k++)
		h.spans[k] = (struct triage_gpud_span){ rs->spans[k].offset, rs->spans[k].floats };
	if (triage_gpud_open(&h, NULL, &conn, err, errlen))
		return NULL;
	return conn;
}

static int gpud_run(void *handle, const float *in, float *cut, float *out, char *err,
		    size_t errlen)
{
	return triage_gpud_run(handle, in, cut, out, 0, err, errlen) ? -1 : 0;
}

static void gpud_close(void *handle)
{
	triage_gpud_close(handle);
}

static const struct exec_remote_ops ops = {
	.open = gpud_open,
	.run = gpud_run,
	.close = gpud_close,
};

void run_gpud_use(const char *model, const char *name, bool critical)
{
	ctx = (struct run_gpud){ model, name, critical };
	exec_set_remote(&ops, &ctx);
}
