/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Private to the sensor back ends (agent/sensors*.c): the operations table
 * each back end fills and the header every back end's state starts with,
 * so agent/sensors/sensors.c can dispatch without knowing any of them.
 */
#ifndef TRIAGE_SENSORS_IMPL_H
#define TRIAGE_SENSORS_IMPL_H

#include <stddef.h>

#include "sensors/sensors.h"

/* Operations a back end provides; a NULL one means "cannot" (-EOPNOTSUPP,
 * or no events). */
struct sensors_ops {
	enum sensors_kind kind;
	unsigned features; /* SENSORS_* */
	void (*close)(struct sensors *s);
	int (*tag_cgroup)(struct sensors *s, uint64_t cgid, const struct triage_tag *tag);
	int (*untag_cgroup)(struct sensors *s, uint64_t cgid);
	int (*tag_tgid)(struct sensors *s, pid_t tgid, const struct triage_tag *tag);
	int (*untag_tgid)(struct sensors *s, pid_t tgid);
	int (*read_cpus)(struct sensors *s, struct triage_cpu_stats *out, int nr_cpus);
	int (*read_workload)(struct sensors *s, uint32_t wl_id, struct triage_wl_stats *out);
	int (*forget_workload)(struct sensors *s, uint32_t wl_id);
	int (*put_gpu_stats)(struct sensors *s, uint32_t wl_id, const struct triage_gpu_stats *st);
	int (*read_gpu_stats)(struct sensors *s, uint32_t wl_id, struct triage_gpu_stats *out);
	int (*prune)(struct sensors *s, bool (*keep)(uint32_t wl_id, void *ctx), void *ctx);
	int (*event_fd)(const struct sensors *s);
	int (*read_events)(struct sensors *s, void (*fn)(const struct sensors_event *ev, void *ctx),
			   void *ctx);
};

/* First member of every back end's state. */
struct sensors {
	const struct sensors_ops *ops;
	int nr_cpus;
};

#define sensors_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* Whether a tag can be written: a level slot and a workload id. */
static inline bool sensors_tag_valid(const struct triage_tag *tag)
{
	return tag->slot < TRIAGE_MAX_LEVELS && tag->wl_id > 0;
}

#endif
