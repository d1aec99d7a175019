/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The agent's client of triage.ko: a libnl-genl request socket for the
 * family "triage" and, once subscribed, a separate non-blocking socket on
 * its "events" multicast group for the agent's epoll loop. Every call
 * returns 0 or -errno; when the module said why it refused, the extended
 * ACK message is in kmod_client_error().
 */
#ifndef TRIAGE_KMOD_CLIENT_H
#define TRIAGE_KMOD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kmod/kmod_msg.h"

struct kmod_client;

/*
 * Connects, resolves the family and asks GET_VERSION. NULL with the reason
 * in err when triage.ko is not loaded ("triage.ko is not loaded (no
 * generic-netlink family triage)"), does not answer, or speaks another
 * TRIAGE_ABI_VERSION (both versions named); info holds what the module
 * said whenever it answered, even with another ABI.
 */
struct kmod_client *kmod_client_open(struct kmod_info *info, char *err, size_t errlen);
void kmod_client_close(struct kmod_client *c);

/*
 * The seams the unit tests play triage.ko through (libnl's send and
 * receive overrides on sockets they make): kmod_client_open from GET_VERSION
 * on, on request socket sk and family id, and kmod_client_subscribe on an
 * event socket sk. Both take sk over, also when they fail.
 */
struct kmod_client *kmod_client_open_on(struct nl_sock *sk, int family, struct kmod_info *info,
					char *err, size_t errlen);
int kmod_client_subscribe_on(struct kmod_client *c, struct nl_sock *sk);

/* The module's extended-ACK message for the last failed request, or a
 * description of the failure; "" after a success. */
const char *kmod_client_error(const struct kmod_client *c);

int kmod_tag_tgid(struct kmod_client *c, pid_t tgid, const struct triage_tag *tag,
		  uint32_t wait_threshold_us);
int kmod_untag_tgid(struct kmod_client *c, pid_t tgid);

/*
 * SET_AFFINITY: every thread of tgid on mask and, unless flags has
 * TRIAGE_AFFINITY_F_ONCE, every thread it creates later. The module keeps
 * each thread's mask from before and restores it on RESET_AFFINITY, or by
 * itself when this client's socket closes (TRIAGE_FEAT_FAILSAFE): a policy
 * belongs to the connection that last set it. -EINVAL without a request
 * for an empty mask or a CPU the attribute cannot carry (TRIAGE_MAX_CPUS);
 * the module's own refusals: -ESRCH (no such group), -EINVAL (no online
 * CPU in mask, a kernel thread), -EOPNOTSUPP (sticky without
 * TRIAGE_FEAT_AFFINITY), -EPERM (no CAP_NET_ADMIN).
 */
int kmod_set_affinity(struct kmod_client *c, pid_t tgid, const cpu_set_t *mask, uint32_t flags);

/* RESET_AFFINITY: tgid's threads get back the masks SET_AFFINITY saved;
 * -ENOENT when the module holds no policy for it (never set, already
 * reset, or the group exited). */
int kmod_reset_affinity(struct kmod_client *c, pid_t tgid);

/*
 * SCHED_GUARD: tgid is real time by this client's doing. When this
 * client's socket closes, whatever the reason (kill -9 included), or the
 * module is unloaded, the module turns every thread of tgid that is
 * SCHED_FIFO, SCHED_RR or SCHED_DEADLINE then, threads born since the
 * guard included, to SCHED_NORMAL at nice 0. A guard belongs to the
 * connection that last set it (a GUARD from another client moves it) and
 * goes when the group exits. -EOPNOTSUPP without a request when the
 * module lacks TRIAGE_FEAT_SCHED_GUARD; the module's refusals: -ESRCH (no
 * such group, or it is exiting), -EINVAL (a kernel thread), -ENOSPC (1024
 * groups guarded already), -EPERM (no CAP_NET_ADMIN).
 */
int kmod_sched_guard(struct kmod_client *c, pid_t tgid);

/* SCHED_UNGUARD: forget tgid's guard, its threads untouched; -ENOENT when
 * there is none (never set, or the group exited), -EOPNOTSUPP as above. */
int kmod_sched_unguard(struct kmod_client *c, pid_t tgid);

/* Whether triage.ko is loaded (/sys/module/triage): its absence is the
 * common case, not a fault to warn about. */
bool kmod_module_loaded(void);

/* GET_CPU_STATS dump into out[cpu] for cpu < nr_cpus; CPUs the module did
 * not report are zeroed. */
int kmod_read_cpus(struct kmod_client *c, struct triage_cpu_stats *out, int nr_cpus);

/* GET_WL_STATS of one workload; -ENOENT when the module has none. */
int kmod_read_workload(struct kmod_client *c, uint32_t wl_id, struct triage_wl_stats *out,
		       uint32_t *nr_tgids);
int kmod_forget_workload(struct kmod_client *c, uint32_t wl_id);

/* The integrated GPU's devfreq load and clock (GET_GPU_STATS). 0, or
 * -ENODEV where the module found no devfreq GPU. */
int kmod_read_gpu(struct kmod_client *c, struct kmod_gpu *out);

/* Dumps every tag, and every workload that has counters, calling fn for
 * each; fn's non-zero return ends the walk early. */
int kmod_dump_tags(struct kmod_client *c, int (*fn)(const struct kmod_tag *t, void *ctx), void *ctx);
int kmod_dump_workloads(struct kmod_client *c, int (*fn)(uint32_t wl_id, void *ctx), void *ctx);

/* Opens the event socket and joins "events". */
int kmod_client_subscribe(struct kmod_client *c, char *err, size_t errlen);

/* The event socket's descriptor, -1 before kmod_client_subscribe(). */
int kmod_event_fd(const struct kmod_client *c);

/*
 * Reads what is pending on the event socket without blocking, calling fn
 * for each event. Returns how many were read; -ENOBUFS when the socket
 * overran and events were lost (those read before still went to fn).
 */
int kmod_read_events(struct kmod_client *c, void (*fn)(const struct kmod_event *ev, void *ctx),
		     void *ctx);

#endif
