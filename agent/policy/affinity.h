/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Pinning whole processes to CPUs: the agent's one way to do it. With
 * triage.ko (TRIAGE_FEAT_AFFINITY) the mask is the module's sticky one,
 * which also covers threads born later and is undone by the module when
 * the agent dies; without it, sched_setaffinity() of each current thread.
 * Not thread-safe: the agent's loop owns it.
 */
#ifndef TRIAGE_AFFINITY_H
#define TRIAGE_AFFINITY_H

#include <sched.h>
#include <sys/types.h>

struct affinity;
struct kmod_client;

/*
 * triage.ko's sticky affinity when the module is loaded, says
 * TRIAGE_FEAT_AFFINITY and the agent has CAP_NET_ADMIN (its own
 * kmod_client connection, so the fail-safe is tied to the agent's life);
 * else sched_setaffinity() of every current thread. Never NULL; logs once
 * which it uses and why.
 */
struct affinity *affinity_open(void);

/*
 * The seam the unit tests use: the module through c (taken over; the
 * caller checked its features), or with c NULL the fallback, why saying
 * why (logged). Never NULL.
 */
struct affinity *affinity_open_on(struct kmod_client *c, const char *why);

/* Resets every process it pinned through the module (RESET_AFFINITY), then
 * closes. */
void affinity_close(struct affinity *af);

/*
 * Keeps every thread of tgid, and with the module every later one, on
 * set. 0 or -errno: -ESRCH for no such process, -EINVAL for an empty set
 * or one without a usable CPU. Should triage.ko be unloaded meanwhile (it
 * restores every mask it set when it goes), this and later calls use the
 * fallback.
 */
int affinity_set_process(struct affinity *af, pid_t tgid, const cpu_set_t *set);

/*
 * Gives tgid back the mask it had (module), forgets it. 0 or -errno:
 * -ESRCH when the process is gone and the module dropped its policy
 * already, -ENOENT for a tgid this affinity does not hold. The fallback
 * only forgets: it saved no mask to give back.
 */
int affinity_forget_process(struct affinity *af, pid_t tgid);

/* "triage.ko sticky" or "sched_setaffinity" */
const char *affinity_mode(const struct affinity *af);

#endif
