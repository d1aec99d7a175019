// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The agent's side of its sensors: opening the back end --sensors names
 * (an explicit one that cannot run stops the agent rather than being
 * swapped for another), the per-CPU snapshots of each status period, the
 * start-up prune of what earlier runs left, and the sensors' events. Kept
 * out of triaged.c so its event loop stays a loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"

int agent_sensors_open(struct agent *a, enum sensors_kind kind, bool keep_pins)
{
	struct sensors_opts so = {
		.pin_dir = a->cfg.pin_dir, .nr_levels = a->cfg.nr_levels, .keep_pins = keep_pins,
	};
	char err[256];

	a->sensors_name = "none";
	if (kind == SENSORS_NONE) {
		log_info("sensors off (--sensors none): no metrics, protection loop idle");
		return 0;
	}
	/* Waits past a level's p99 target are worth a line at -v. */
	for (int i = 0; i < a->cfg.nr_levels; i++)
		so.wait_threshold_us[i] = a->cfg.levels[i].wait_p99_us;
	a->sensors = sensors_open(kind, &so, err, sizeof(err));
	if (!a->sensors && kind != SENSORS_AUTO) {
		log_err("--sensors %s: %s", sensors_kind_name(kind), err);
		return -1;
	}
	if (!a->sensors) {
		log_warn("no sensors (%s): running without metrics, protection loop idle", err);
		return 0;
	}
	a->sensors_name = sensors_name(a->sensors);
	log_info("sensors: %s%s", a->sensors_name, kind == SENSORS_AUTO ? " (auto)" : "");
	a->nr_cpus = sensors_nr_cpus(a->sensors);
	a->cpu_now = calloc((size_t)a->nr_cpus, sizeof(*a->cpu_now));
	a->cpu_before = calloc((size_t)a->nr_cpus, sizeof(*a->cpu_before));
	if (!a->cpu_now || !a->cpu_before)
		return -ENOMEM;
	sensors_read_cpus(a->sensors, a->cpu_now, a->nr_cpus);
	memcpy(a->cpu_before, a->cpu_now, sizeof(*a->cpu_now) * (size_t)a->nr_cpus);
	return 0;
}

void agent_sensors_close(struct agent *a)
{
	if (a->sensors)
		sensors_close(a->sensors);
	a->sensors = NULL;
	free(a->cpu_now);
	free(a->cpu_before);
	a->cpu_now = a->cpu_before = NULL;
}

void agent_sensors_sample_cpus(struct agent *a, uint64_t window_ns)
{
	struct triage_cpu_stats *t = a->cpu_before;

	if (!a->sensors)
		return;
	a->cpu_before = a->cpu_now;
	a->cpu_now = t;
	if (sensors_read_cpus(a->sensors, a->cpu_now, a->nr_cpus))
		memcpy(a->cpu_now, a->cpu_before, sizeof(*t) * (size_t)a->nr_cpus);
	a->cpu_window_ns = window_ns;
}

static const struct workload *workload_by_id(const struct workloads *reg, uint32_t wl_id)
{
	for (int i = 0; i < reg->nr; i++)
		if (reg->wl[i]->id == wl_id)
			return reg->wl[i];
	return NULL;
}

static bool workload_known(uint32_t wl_id, void *ctx)
{
	return workload_by_id(ctx, wl_id) != NULL;
}

void agent_sensors_prune(struct agent *a)
{
	int stale;

	if (!a->sensors)
		return;
	stale = sensors_prune(a->sensors, workload_known, &a->reg);
	if (stale)
		log_info("dropped %d tag(s) and counters of workloads gone since the last run", stale);
}

struct event_batch {
	struct agent *a;
	bool reconcile;
};

static void on_sensor_event(const struct sensors_event *ev, void *ctx)
{
	struct event_batch *batch = ctx;
	const struct workload *w = workload_by_id(&batch->a->reg, ev->wl_id);
	const char *level = w ? batch->a->cfg.levels[w->level].name : "?";
	const char *name = w ? w->name : "?";

	switch (ev->kind) {
	case SENSORS_EV_WAIT_EXCEEDED:
		log_debug("wait exceeded: pid %d thread %d of %s/%s waited %.2f ms, threshold %.2f ms (%u more suppressed)",
			  ev->tgid, ev->tid, level, name, ev->wait_ns / 1e6, ev->threshold_us / 1e3,
			  ev->suppressed);
		return;
	case SENSORS_EV_TASK_EXIT:
		log_debug("pid %d of %s/%s exited", ev->tgid, level, name);
		break;
	case SENSORS_EV_LOST:
		log_debug("sensor events lost (socket overrun): reconciling every workload");
		break;
	}
	batch->reconcile = true;
}

void agent_sensors_events(struct agent *a)
{
	struct event_batch batch = { .a = a };
	int n = sensors_read_events(a->sensors, on_sensor_event, &batch);

	if (n < 0 && n != -ENOBUFS)
		log_debug("reading sensor events: %s", strerror(-n));
	/* The tags went with the exited processes: list the members again
	 * now rather than at the next status period. */
	if (batch.reconcile)
		workloads_reconcile(&a->reg);
}
