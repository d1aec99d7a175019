// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Process affinity, through triage.ko when it can, because only the kernel
 * can make a pin both complete and safe: sched_setaffinity() reaches the
 * threads that exist when it runs, so a runtime that starts its worker
 * pool later (or widens its own mask first) escapes it, and a mask the
 * agent set stays after the agent is gone. The module's SET_AFFINITY is
 * sticky over new threads and is undone by the module when the socket
 * that set it closes, so this file holds a kmod_client of its own: its
 * socket lives exactly as long as the agent's pins should.
 *
 * The fallback walks /proc/PID/task until a pass finds every thread
 * already on the mask, so threads created by not-yet-pinned threads while
 * it walks are caught; those created afterwards are not, and nothing is
 * restored when the agent dies.
 *
 * Pinned tgids are kept in a small array: close resets them, and the
 * table is pruned of exited processes only when it has to grow.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "policy/affinity.h"
#include "fsutil.h"
#include "procfs.h"
#include "kmod/kmod_client.h"
#include "log.h"

#define MODE_MODULE "triage.ko sticky"
#define MODE_FALLBACK "sched_setaffinity"
#define FALLBACK_PASSES 4 /* a pool that keeps spawning must not hold the loop */
#define CAP_NET_ADMIN_BIT 12

struct affinity {
	struct kmod_client *kmod; /* NULL: sched_setaffinity per thread */
	pid_t *pinned;
	int nr, cap;
	bool is_static;
};

/* What affinity_open() returns when even that allocation fails. */
static struct affinity oom_affinity = { .is_static = true };

/* SET_AFFINITY needs CAP_NET_ADMIN; without it every request would be
 * refused, so the fallback is the better choice from the start. When
 * status cannot be read, the module is left to judge. */
static bool has_net_admin(void)
{
	char status[8192];
	const char *cap;

	if (read_text("/proc/self/status", status, sizeof(status)))
		return true;
	cap = strstr(status, "\nCapEff:");
	if (!cap)
		return true;
	return (strtoull(cap + strlen("\nCapEff:"), NULL, 16) >> CAP_NET_ADMIN_BIT) & 1;
}

static struct affinity *make(struct kmod_client *c)
{
	struct affinity *af = calloc(1, sizeof(*af));

	if (!af) {
		kmod_client_close(c);
		log_warn("affinity: out of memory: " MODE_FALLBACK " per thread, threads born later are not pinned");
		return &oom_affinity;
	}
	af->kmod = c;
	return af;
}

struct affinity *affinity_open_on(struct kmod_client *c, const char *why)
{
	if (c)
		log_info("affinity: " MODE_MODULE ", restored by the module if the agent dies");
	else
		log_info("affinity: " MODE_FALLBACK " per thread (%s): threads born later are not pinned",
			 why ? why : "no reason given");
	return make(c);
}

struct affinity *affinity_open(void)
{
	struct kmod_info info;
	struct kmod_client *c;
	char err[256];

	c = kmod_client_open(&info, err, sizeof(err));
	if (!c) {
		/* Not loaded is the common case on many hosts, not a fault. */
		if (!kmod_module_loaded())
			return affinity_open_on(NULL, "triage.ko is not loaded");
		log_warn("affinity: triage.ko is loaded but cannot be used: %s", err);
		return affinity_open_on(NULL, "triage.ko unusable");
	}
	if (!(info.features & TRIAGE_FEAT_AFFINITY)) {
		kmod_client_close(c);
		return affinity_open_on(NULL, "triage.ko has no sticky affinity: no sched_process_fork probe");
	}
	if (!has_net_admin()) {
		kmod_client_close(c);
		return affinity_open_on(NULL, "no CAP_NET_ADMIN, which triage.ko's SET_AFFINITY needs");
	}
	if (!(info.features & TRIAGE_FEAT_FAILSAFE)) {
		/* Still sticky, and no worse than the fallback on a crash. */
		log_warn("affinity: " MODE_MODULE ", but this triage.ko has no fail-safe: masks stay if the agent dies");
		return make(c);
	}
	return affinity_open_on(c, NULL);
}

/* ---- the table of pinned tgids ---- */

static int find(const struct affinity *af, pid_t tgid)
{
	for (int i = 0; i < af->nr; i++)
		if (af->pinned[i] == tgid)
			return i;
	return -1;
}

static void drop_at(struct affinity *af, int i)
{
	af->pinned[i] = af->pinned[--af->nr];
}

static bool gone(pid_t tgid)
{
	return kill(tgid, 0) && errno == ESRCH;
}

static void remember(struct affinity *af, pid_t tgid)
{
	pid_t *grown;
	int cap;

	if (find(af, tgid) >= 0)
		return;
	if (af->nr == af->cap) {
		/* The module dropped the policies of exited groups itself. */
		for (int i = af->nr - 1; i >= 0; i--)
			if (gone(af->pinned[i]))
				drop_at(af, i);
	}
	if (af->nr == af->cap) {
		cap = af->cap ? 2 * af->cap : 16;
		grown = realloc(af->pinned, sizeof(*grown) * (size_t)cap);
		if (!grown) {
			/* Pinned all the same; the fail-safe still undoes it. */
			log_warn("affinity: out of memory: pid %d will not be reset at close", (int)tgid);
			return;
		}
		af->pinned = grown;
		af->cap = cap;
	}
	af->pinned[af->nr++] = tgid;
}

/* ---- sched_setaffinity per thread ---- */

struct pin_pass {
	const cpu_set_t *set;
	int changed, err;
};

static int pin_one(pid_t tid, void *ctx)
{
	struct pin_pass *p = ctx;
	cpu_set_t cur;

	if (!sched_getaffinity(tid, sizeof(cur), &cur) && CPU_EQUAL(&cur, p->set))
		return 0;
	if (sched_setaffinity(tid, sizeof(*p->set), p->set)) {
		/* A thread that exited meanwhile needs no mask. */
		if (errno != ESRCH && !p->err)
			p->err = -errno;
		return 0;
	}
	p->changed++;
	return 0;
}

static int pin_threads(pid_t tgid, const cpu_set_t *set)
{
	struct pin_pass p = { .set = set };

	for (int pass = 0; pass < FALLBACK_PASSES; pass++) {
		int seen;

		p.changed = 0;
		seen = proc_each_thread(tgid, pin_one, &p);
		if (seen < 0)
			return seen;
		/* A mask the kernel narrows (cpuset, offline CPUs) never reads
		 * back equal: FALLBACK_PASSES ends that. */
		if (p.err || !p.changed)
			break;
	}
	return p.err;
}

/* ---- the module ---- */

/*
 * After rmmod the family is gone and genetlink answers every request with
 * -ENOENT, which SET_AFFINITY itself never returns (RESET_AFFINITY does,
 * for a group without a policy: hence the look at sysfs). The module
 * restored its masks on the way out, so only the fallback is left.
 */
static bool fall_back_if_unloaded(struct affinity *af, int err)
{
	if (err != -ENOENT || kmod_module_loaded())
		return false;
	log_warn("affinity: triage.ko was unloaded (it restored the masks it set): " MODE_FALLBACK
		 " per thread from now on, threads born later are not pinned");
	kmod_client_close(af->kmod);
	af->kmod = NULL;
	return true;
}

int affinity_set_process(struct affinity *af, pid_t tgid, const cpu_set_t *set)
{
	int err;

	if (tgid <= 0 || !set || !CPU_COUNT(set))
		return -EINVAL;
	if (af->kmod) {
		err = kmod_set_affinity(af->kmod, tgid, set, 0);
		if (!err) {
			remember(af, tgid);
			return 0;
		}
		if (!fall_back_if_unloaded(af, err)) {
			/* The caller has only the errno: the module's words are here. */
			if (err != -ESRCH)
				log_warn("affinity: triage.ko refused to pin pid %d: %s", (int)tgid,
					 kmod_client_error(af->kmod));
			return err;
		}
	}
	err = pin_threads(tgid, set);
	if (!err)
		remember(af, tgid);
	return err;
}

int affinity_forget_process(struct affinity *af, pid_t tgid)
{
	int i = find(af, tgid), err;

	if (i < 0)
		return -ENOENT;
	drop_at(af, i);
	if (!af->kmod)
		return 0;
	err = kmod_reset_affinity(af->kmod, tgid);
	if (err == -ENOENT && gone(tgid))
		return -ESRCH;
	if (fall_back_if_unloaded(af, err))
		return 0;
	if (err)
		log_warn("affinity: triage.ko could not reset pid %d: %s", (int)tgid,
			 kmod_client_error(af->kmod));
	return err;
}

void affinity_close(struct affinity *af)
{
	int err;

	if (!af)
		return;
	for (int i = 0; af->kmod && i < af->nr; i++) {
		err = kmod_reset_affinity(af->kmod, af->pinned[i]);
		/* -ENOENT: the group exited and its policy went with it, or
		 * the module went and restored every mask itself. */
		if (err && err != -ENOENT)
			log_warn("affinity: triage.ko could not reset pid %d: %s",
				 (int)af->pinned[i], kmod_client_error(af->kmod));
	}
	kmod_client_close(af->kmod);
	free(af->pinned);
	if (af->is_static)
		*af = (struct affinity){ .is_static = true };
	else
		free(af);
}

const char *affinity_mode(const struct affinity *af)
{
	return af->kmod ? MODE_MODULE : MODE_FALLBACK;
}
