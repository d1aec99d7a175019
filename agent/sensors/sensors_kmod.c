// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * kmod back end of agent/sensors/sensors.h: triage.ko's sched probes count what
 * the BPF programs count, with the same meaning, and the agent reads them
 * over generic netlink (agent/kmod/kmod_client.c). The module knows tasks by
 * thread group only, so this back end cannot tag cgroups: the workload
 * registry then tags every member's tgid, on every host, and the module's
 * TASK_EXIT events tell it when to look again.
 *
 * Nothing is pinned: the module holds the counters and tags, so they
 * outlive an agent that is killed, like pinned maps do, and
 * sensors_prune() drops what belongs to workloads gone meanwhile. A clean
 * close forgets every workload, as the BPF back end removes its pins,
 * unless keep_pins asks to keep them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmod/kmod_client.h"
#include "log.h"
#include "sensors/sensors_impl.h"

struct kmod_sensors {
	struct sensors base;
	struct kmod_client *client;
	struct kmod_info info;
	uint32_t wait_threshold_us[TRIAGE_MAX_LEVELS];
	bool keep_state; /* opts->keep_pins: leave tags and counters on close */
	bool gone;       /* the module was unloaded under the agent */
};

static const struct sensors_ops kmod_ops;

static struct kmod_sensors *to_kmod(struct sensors *s)
{
	return sensors_container_of(s, struct kmod_sensors, base);
}

static const struct kmod_sensors *to_kmod_const(const struct sensors *s)
{
	return sensors_container_of(s, const struct kmod_sensors, base);
}

/* A refused request: the module's words when it gave some. */
static int complain(struct kmod_sensors *k, const char *what, long long id, int err)
{
	const char *why = kmod_client_error(k->client);

	if (err != -ENOENT)
		log_warn("kmod: %s %lld: %s%s%s%s", what, id, strerror(-err), why[0] ? " (" : "", why,
			 why[0] ? ")" : "");
	return err;
}

static int kmod_prune(struct sensors *base, bool (*keep)(uint32_t wl_id, void *ctx), void *ctx);

static bool keep_none(uint32_t wl_id, void *ctx)
{
	(void)wl_id;
	(void)ctx;
	return false;
}

static void kmod_close(struct sensors *base)
{
	struct kmod_sensors *k = to_kmod(base);

	if (!k->keep_state && !k->gone)
		kmod_prune(base, keep_none, NULL);
	kmod_client_close(k->client);
	free(k);
}

static int kmod_tag_tgid_op(struct sensors *base, pid_t tgid, const struct triage_tag *tag)
{
	struct kmod_sensors *k = to_kmod(base);
	int err;

	if (k->gone)
		return -ENODEV;
	err = kmod_tag_tgid(k->client, tgid, tag, k->wait_threshold_us[tag->slot]);
	/* The process may have exited since the agent listed it. */
	return err && err != -ESRCH ? complain(k, "cannot tag pid", tgid, err) : err;
}

static int kmod_untag_tgid_op(struct sensors *base, pid_t tgid)
{
	struct kmod_sensors *k = to_kmod(base);

	return k->gone ? -ENODEV : kmod_untag_tgid(k->client, tgid);
}

/*
 * The CPU dump is read every status period and has no -ENOENT of its own:
 * that error means the family itself is gone, triage.ko was unloaded. Said
 * once; the module is not asked again (a reloaded one has a new family id,
 * so the agent must be restarted to use it).
 */
static int kmod_read_cpus_op(struct sensors *base, struct triage_cpu_stats *out, int nr_cpus)
{
	struct kmod_sensors *k = to_kmod(base);
	int err;

	if (k->gone)
		return -ENODEV;
	err = kmod_read_cpus(k->client, out, nr_cpus);
	if (err == -ENOENT) {
		k->gone = true;
		log_warn("kmod: triage.ko went away (unloaded?): no metrics, protection loop idle; restart triaged once it is loaded again");
		return -ENODEV;
	}
	return err;
}

static int kmod_read_workload_op(struct sensors *base, uint32_t wl_id, struct triage_wl_stats *out)
{
	struct kmod_sensors *k = to_kmod(base);

	return k->gone ? -ENODEV : kmod_read_workload(k->client, wl_id, out, NULL);
}

static int kmod_forget_workload_op(struct sensors *base, uint32_t wl_id)
{
	struct kmod_sensors *k = to_kmod(base);

	return k->gone ? -ENODEV : kmod_forget_workload(k->client, wl_id);
}

/* Workload ids to forget, each once, gathered before any is forgotten so
 * no dump runs while its entries change. */
struct prune_ctx {
	bool (*keep)(uint32_t wl_id, void *ctx);
	void *keep_ctx;
	uint32_t *gone;
	int nr_gone, cap;
	int entries; /* tags and counter sets they hold */
	int err;
};

static void prune_note(struct prune_ctx *p, uint32_t wl_id)
{
	uint32_t *more;

	if (p->keep(wl_id, p->keep_ctx))
		return;
	p->entries++;
	for (int i = 0; i < p->nr_gone; i++)
		if (p->gone[i] == wl_id)
			return;
	if (p->nr_gone == p->cap) {
		int cap = p->cap ? 2 * p->cap : 16;

		more = realloc(p->gone, sizeof(*more) * (size_t)cap);
		if (!more) {
			p->err = -ENOMEM;
			return;
		}
		p->gone = more;
		p->cap = cap;
	}
	p->gone[p->nr_gone++] = wl_id;
}

static int prune_tag(const struct kmod_tag *t, void *arg)
{
	prune_note(arg, t->tag.wl_id);
	return 0;
}

static int prune_wl(uint32_t wl_id, void *arg)
{
	prune_note(arg, wl_id);
	return 0;
}

static int kmod_prune(struct sensors *base, bool (*keep)(uint32_t wl_id, void *ctx), void *ctx)
{
	struct kmod_sensors *k = to_kmod(base);
	struct prune_ctx p = { .keep = keep, .keep_ctx = ctx };
	int err;

	if (k->gone)
		return 0;
	err = kmod_dump_tags(k->client, prune_tag, &p);
	if (!err)
		err = kmod_dump_workloads(k->client, prune_wl, &p);
	if (err || p.err) {
		log_warn("kmod: cannot list tags to prune: %s", strerror(-(err ? err : p.err)));
		free(p.gone);
		return 0;
	}
	/* FORGET_WL drops a workload's tags and counters together. */
	for (int i = 0; i < p.nr_gone; i++) {
		err = kmod_forget_workload(k->client, p.gone[i]);
		if (err && err != -ENOENT)
			complain(k, "cannot forget workload", p.gone[i], err);
	}
	free(p.gone);
	return p.entries;
}

static int kmod_event_fd_op(const struct sensors *base)
{
	return kmod_event_fd(to_kmod_const(base)->client);
}

struct event_relay {
	void (*fn)(const struct sensors_event *ev, void *ctx);
	void *ctx;
};

static void relay_event(const struct kmod_event *kev, void *arg)
{
	struct event_relay *relay = arg;
	struct sensors_event ev = {
		.kind = kev->cmd == TRIAGE_CMD_TASK_EXIT ? SENSORS_EV_TASK_EXIT : SENSORS_EV_WAIT_EXCEEDED,
		.tgid = kev->tgid,
		.tid = kev->tid,
		.wl_id = kev->wl_id,
		.slot = kev->slot,
		.wait_ns = kev->wait_ns,
		.threshold_us = kev->wait_threshold_us,
		.suppressed = kev->suppressed,
	};

	relay->fn(&ev, relay->ctx);
}

static int kmod_read_events_op(struct sensors *base,
			       void (*fn)(const struct sensors_event *ev, void *ctx), void *ctx)
{
	struct event_relay relay = { .fn = fn, .ctx = ctx };
	int n = kmod_read_events(to_kmod(base)->client, relay_event, &relay);

	if (n == -ENOBUFS) {
		struct sensors_event lost = { .kind = SENSORS_EV_LOST };

		fn(&lost, ctx);
	}
	return n;
}

struct sensors *sensors_open_kmod(const struct sensors_opts *opts, char *err, size_t errlen)
{
	struct kmod_sensors *k = calloc(1, sizeof(*k));
	char features[128];

	if (!k) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	k->client = kmod_client_open(&k->info, err, errlen);
	if (!k->client)
		goto fail;
	if (!(k->info.features & TRIAGE_FEAT_CPU_STATS)) {
		kmod_features_str(k->info.features, features, sizeof(features));
		snprintf(err, errlen, "triage.ko %s has no sched probes attached (features: %s)",
			 k->info.module_version, features);
		goto fail;
	}
	memcpy(k->wait_threshold_us, opts->wait_threshold_us, sizeof(k->wait_threshold_us));
	k->keep_state = opts->keep_pins;
	k->base.nr_cpus = (int)k->info.nr_cpus;
	if (k->base.nr_cpus <= 0 || k->base.nr_cpus > TRIAGE_MAX_CPUS) {
		snprintf(err, errlen, "triage.ko reports %u CPUs (expected 1..%d)", k->info.nr_cpus,
			 TRIAGE_MAX_CPUS);
		goto fail;
	}
	k->base.ops = &kmod_ops;
	if (k->info.features & TRIAGE_FEAT_EVENTS) {
		char why[256];

		if (kmod_client_subscribe(k->client, why, sizeof(why)))
			log_warn("kmod: no events (%s): exited processes are noticed at the next tick", why);
	}
	kmod_features_str(k->info.features, features, sizeof(features));
	log_debug("sensors: triage.ko %s, ABI %u, %d CPUs, features %s", k->info.module_version,
		  k->info.abi_version, k->base.nr_cpus, features);
	return &k->base;

fail:
	kmod_client_close(k->client);
	free(k);
	errno = EPROTO;
	return NULL;
}

static const struct sensors_ops kmod_ops = {
	.kind = SENSORS_KMOD,
	.features = SENSORS_HAS_LEVEL_SPLIT | SENSORS_HAS_INTERFERENCE | SENSORS_HAS_WAIT_HIST,
	.close = kmod_close,
	.tag_tgid = kmod_tag_tgid_op,
	.untag_tgid = kmod_untag_tgid_op,
	.read_cpus = kmod_read_cpus_op,
	.read_workload = kmod_read_workload_op,
	.forget_workload = kmod_forget_workload_op,
	.prune = kmod_prune,
	.event_fd = kmod_event_fd_op, /* -1 until subscribed */
	.read_events = kmod_read_events_op,
};
