// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The sensors interface itself: back-end names, the auto choice and the
 * dispatch through each back end's operations table. Auto prefers what
 * measures most: bpf (every counter, no module to build), then triage.ko
 * (every counter, tags by tgid only), then /proc (degraded), and says in
 * one line per step what it did not find, so a user knows what to install.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "sensors/sensors_impl.h"

static const char *const kind_names[] = {
	[SENSORS_AUTO] = "auto", [SENSORS_BPF] = "bpf",   [SENSORS_KMOD] = "kmod",
	[SENSORS_PROC] = "proc", [SENSORS_NONE] = "none",
};

int sensors_kind_parse(const char *name, enum sensors_kind *out)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (!strcmp(name, kind_names[i])) {
			*out = (enum sensors_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *sensors_kind_name(enum sensors_kind kind)
{
	return (size_t)kind < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[kind] : "?";
}

static struct sensors *sensors_open_auto(const struct sensors_opts *opts, char *err, size_t errlen)
{
	struct sensors *s = sensors_open_bpf(opts, err, errlen);

	if (s)
		return s;
	log_info("sensors: no bpf (%s); trying triage.ko", err);
	s = sensors_open_kmod(opts, err, errlen);
	if (s)
		return s;
	log_info("sensors: no kmod (%s); falling back to /proc", err);
	return sensors_open_proc(opts, err, errlen);
}

struct sensors *sensors_open(enum sensors_kind kind, const struct sensors_opts *opts, char *err,
			     size_t errlen)
{
	switch (kind) {
	case SENSORS_AUTO:
		return sensors_open_auto(opts, err, errlen);
	case SENSORS_BPF:
		return sensors_open_bpf(opts, err, errlen);
	case SENSORS_KMOD:
		return sensors_open_kmod(opts, err, errlen);
	case SENSORS_PROC:
		return sensors_open_proc(opts, err, errlen);
	case SENSORS_NONE:
		break;
	}
	snprintf(err, errlen, "no sensors back end \"%s\"", sensors_kind_name(kind));
	errno = EINVAL;
	return NULL;
}

void sensors_close(struct sensors *s)
{
	if (s)
		s->ops->close(s);
}

enum sensors_kind sensors_kind(const struct sensors *s)
{
	return s->ops->kind;
}

const char *sensors_name(const struct sensors *s)
{
	return sensors_kind_name(s->ops->kind);
}

unsigned sensors_features(const struct sensors *s)
{
	return s->ops->features;
}

int sensors_nr_cpus(const struct sensors *s)
{
	return s->nr_cpus;
}

int sensors_tag_cgroup(struct sensors *s, uint64_t cgid, const struct triage_tag *tag)
{
	if (!s->ops->tag_cgroup)
		return -EOPNOTSUPP;
	if (!sensors_tag_valid(tag))
		return -EINVAL;
	return s->ops->tag_cgroup(s, cgid, tag);
}

int sensors_untag_cgroup(struct sensors *s, uint64_t cgid)
{
	return s->ops->untag_cgroup ? s->ops->untag_cgroup(s, cgid) : -EOPNOTSUPP;
}

int sensors_tag_tgid(struct sensors *s, pid_t tgid, const struct triage_tag *tag)
{
	if (!sensors_tag_valid(tag) || tgid <= 0)
		return -EINVAL;
	return s->ops->tag_tgid(s, tgid, tag);
}

int sensors_untag_tgid(struct sensors *s, pid_t tgid)
{
	return s->ops->untag_tgid(s, tgid);
}

int sensors_read_cpus(struct sensors *s, struct triage_cpu_stats *out, int nr_cpus)
{
	return s->ops->read_cpus(s, out, nr_cpus);
}

int sensors_read_workload(struct sensors *s, uint32_t wl_id, struct triage_wl_stats *out)
{
	return s->ops->read_workload(s, wl_id, out);
}

int sensors_forget_workload(struct sensors *s, uint32_t wl_id)
{
	return s->ops->forget_workload(s, wl_id);
}

int sensors_put_gpu_stats(struct sensors *s, uint32_t wl_id, const struct triage_gpu_stats *st)
{
	if (!s->ops->put_gpu_stats)
		return -EOPNOTSUPP;
	/* Workload ids start at 1 (sensors_tag_valid); 0 is nobody's. */
	if (!wl_id)
		return -EINVAL;
	return s->ops->put_gpu_stats(s, wl_id, st);
}

int sensors_read_gpu_stats(struct sensors *s, uint32_t wl_id, struct triage_gpu_stats *out)
{
	return s->ops->read_gpu_stats ? s->ops->read_gpu_stats(s, wl_id, out) : -EOPNOTSUPP;
}

int sensors_prune(struct sensors *s, bool (*keep)(uint32_t wl_id, void *ctx), void *ctx)
{
	return s->ops->prune(s, keep, ctx);
}

int sensors_event_fd(const struct sensors *s)
{
	return s->ops->event_fd ? s->ops->event_fd(s) : -1;
}

int sensors_read_events(struct sensors *s, void (*fn)(const struct sensors_event *ev, void *ctx),
			void *ctx)
{
	return s->ops->read_events ? s->ops->read_events(s, fn, ctx) : 0;
}
