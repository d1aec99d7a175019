/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Requests genl_test.c sends to triage.ko, the parsers of their replies
 * and a waiter for notifications: each parser checks that the message
 * carries what the spec (docs/netlink/triage.yaml) says, with exact
 * struct sizes.
 */
#ifndef TRIAGE_TESTS_VM_GENL_REQ_H
#define TRIAGE_TESTS_VM_GENL_REQ_H

#include <stdbool.h>
#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

#include "triage/sensors.h"
#include "genl_util.h"

static inline int req_tgid(struct tnl *t, int cmd, uint32_t tgid, struct tnl_call *c)
{
	struct nl_msg *m = tnl_msg(t, cmd, 0);

	nla_put_u32(m, TRIAGE_ATTR_TGID, tgid);
	return tnl_call(t, m, NULL, NULL, c);
}

static inline int req_tag(struct tnl *t, uint32_t tgid, uint32_t slot, uint32_t wl, uint32_t thr,
		   struct tnl_call *c)
{
	struct nl_msg *m = tnl_msg(t, TRIAGE_CMD_TAG, 0);

	nla_put_u32(m, TRIAGE_ATTR_TGID, tgid);
	nla_put_u32(m, TRIAGE_ATTR_SLOT, slot);
	nla_put_u32(m, TRIAGE_ATTR_WL_ID, wl);
	nla_put_u32(m, TRIAGE_ATTR_WAIT_THRESHOLD_US, thr);
	return tnl_call(t, m, NULL, NULL, c);
}

static inline int req_affinity(struct tnl *t, uint32_t tgid, int cpu, uint32_t flags, struct tnl_call *c)
{
	struct nl_msg *m = tnl_msg(t, TRIAGE_CMD_SET_AFFINITY, 0);
	uint8_t mask[TRIAGE_CPUMASK_MAX] = { 0 };

	mask[cpu / 8] = 1u << (cpu % 8);
	nla_put_u32(m, TRIAGE_ATTR_TGID, tgid);
	nla_put(m, TRIAGE_ATTR_CPUMASK, cpu / 8 + 1, mask);
	if (flags)
		nla_put_u32(m, TRIAGE_ATTR_FLAGS, flags);
	return tnl_call(t, m, NULL, NULL, c);
}

static inline int req_wl_id(struct tnl *t, int cmd, uint32_t wl, tnl_reply_fn fn, void *arg,
		     struct tnl_call *c)
{
	struct nl_msg *m = tnl_msg(t, cmd, 0);

	nla_put_u32(m, TRIAGE_ATTR_WL_ID, wl);
	return tnl_call(t, m, fn, arg, c);
}

static inline int req_dump(struct tnl *t, int cmd, tnl_reply_fn fn, void *arg, struct tnl_call *c)
{
	return tnl_call(t, tnl_msg(t, cmd, NLM_F_DUMP), fn, arg, c);
}

struct version {
	uint32_t abi, features, nr_cpus;
	char module_version[64];
};

static inline int version_cb(struct nlattr **tb, int cmd, void *arg)
{
	struct version *v = arg;

	if (cmd != TRIAGE_CMD_GET_VERSION || !tb[TRIAGE_ATTR_ABI_VERSION] ||
	    !tb[TRIAGE_ATTR_FEATURES] || !tb[TRIAGE_ATTR_NR_CPUS] || !tb[TRIAGE_ATTR_MODULE_VERSION])
		return -1;
	v->abi = nla_get_u32(tb[TRIAGE_ATTR_ABI_VERSION]);
	v->features = nla_get_u32(tb[TRIAGE_ATTR_FEATURES]);
	v->nr_cpus = nla_get_u32(tb[TRIAGE_ATTR_NR_CPUS]);
	snprintf(v->module_version, sizeof(v->module_version), "%s",
		 nla_get_string(tb[TRIAGE_ATTR_MODULE_VERSION]));
	return 0;
}

struct tag_list {
	int n;
	struct { uint32_t tgid, slot, wl, thr; } tag[64];
};

static inline int tags_cb(struct nlattr **tb, int cmd, void *arg)
{
	struct tag_list *l = arg;

	if (cmd != TRIAGE_CMD_GET_TAGS || !tb[TRIAGE_ATTR_TGID] || !tb[TRIAGE_ATTR_SLOT] ||
	    !tb[TRIAGE_ATTR_WL_ID] || !tb[TRIAGE_ATTR_WAIT_THRESHOLD_US])
		return -1;
	if (l->n < 64) {
		l->tag[l->n].tgid = nla_get_u32(tb[TRIAGE_ATTR_TGID]);
		l->tag[l->n].slot = nla_get_u32(tb[TRIAGE_ATTR_SLOT]);
		l->tag[l->n].wl = nla_get_u32(tb[TRIAGE_ATTR_WL_ID]);
		l->tag[l->n].thr = nla_get_u32(tb[TRIAGE_ATTR_WAIT_THRESHOLD_US]);
		l->n++;
	}
	return 0;
}

struct cpu_list {
	int n;
	uint64_t seen; /* bit per CPU number */
	uint64_t busy, switches;
};

static inline int cpus_cb(struct nlattr **tb, int cmd, void *arg)
{
	struct triage_cpu_stats cs;
	struct cpu_list *l = arg;
	uint32_t cpu;
	int s;

	if (cmd != TRIAGE_CMD_GET_CPU_STATS || !tb[TRIAGE_ATTR_CPU] || !tb[TRIAGE_ATTR_CPU_STATS] ||
	    nla_len(tb[TRIAGE_ATTR_CPU_STATS]) != sizeof(cs))
		return -1;
	cpu = nla_get_u32(tb[TRIAGE_ATTR_CPU]);
	memcpy(&cs, nla_data(tb[TRIAGE_ATTR_CPU_STATS]), sizeof(cs));
	if (cpu < 64)
		l->seen |= 1ull << cpu;
	l->n++;
	for (s = 0; s < TRIAGE_NR_SLOTS; s++)
		l->busy += cs.busy_ns[s];
	l->switches += cs.nr_switches;
	return 0;
}

struct wl_reply {
	int n;
	uint32_t want, nr_tgids;
	bool found;
	struct triage_wl_stats ws;
};

static inline int wl_cb(struct nlattr **tb, int cmd, void *arg)
{
	struct wl_reply *r = arg;

	if (cmd != TRIAGE_CMD_GET_WL_STATS || !tb[TRIAGE_ATTR_WL_ID] || !tb[TRIAGE_ATTR_NR_TGIDS] ||
	    !tb[TRIAGE_ATTR_WL_STATS] || nla_len(tb[TRIAGE_ATTR_WL_STATS]) != sizeof(r->ws))
		return -1;
	r->n++;
	if (nla_get_u32(tb[TRIAGE_ATTR_WL_ID]) == r->want) {
		r->found = true;
		r->nr_tgids = nla_get_u32(tb[TRIAGE_ATTR_NR_TGIDS]);
		memcpy(&r->ws, nla_data(tb[TRIAGE_ATTR_WL_STATS]), sizeof(r->ws));
	}
	return 0;
}

/* A mutating request that root would get through. */
static inline struct nl_msg *mutating_request(struct tnl *t, int cmd, pid_t target)
{
	struct nl_msg *m = tnl_msg(t, cmd, 0);
	uint8_t mask = 1;

	if (cmd == TRIAGE_CMD_FORGET_WL) {
		nla_put_u32(m, TRIAGE_ATTR_WL_ID, 999);
		return m;
	}
	nla_put_u32(m, TRIAGE_ATTR_TGID, target);
	if (cmd == TRIAGE_CMD_TAG) {
		nla_put_u32(m, TRIAGE_ATTR_SLOT, 0);
		nla_put_u32(m, TRIAGE_ATTR_WL_ID, 999);
	}
	if (cmd == TRIAGE_CMD_SET_AFFINITY)
		nla_put(m, TRIAGE_ATTR_CPUMASK, 1, &mask);
	return m;
}

/* ---- events ---- */

struct event {
	int cmd;
	uint32_t tgid, tid, wl, slot, thr, suppressed;
	uint64_t wait_ns;
	bool has_all;
};

struct event_wait {
	int cmd;
	uint32_t tgid;
	bool found;
	struct event ev;
};

static inline int event_cb(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[TRIAGE_ATTR_MAX + 1];
	struct event_wait *w = arg;
	struct event e = { .cmd = gh->cmd };

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, TRIAGE_ATTR_MAX, NULL) || !tb[TRIAGE_ATTR_TGID] ||
	    gh->cmd != w->cmd || nla_get_u32(tb[TRIAGE_ATTR_TGID]) != w->tgid || w->found)
		return NL_OK;
	e.tgid = w->tgid;
	e.has_all = tb[TRIAGE_ATTR_WL_ID] && tb[TRIAGE_ATTR_SLOT];
	e.wl = tb[TRIAGE_ATTR_WL_ID] ? nla_get_u32(tb[TRIAGE_ATTR_WL_ID]) : 0;
	e.slot = tb[TRIAGE_ATTR_SLOT] ? nla_get_u32(tb[TRIAGE_ATTR_SLOT]) : 0;
	if (e.cmd == TRIAGE_CMD_WAIT_EXCEEDED) {
		e.has_all = e.has_all && tb[TRIAGE_ATTR_TID] && tb[TRIAGE_ATTR_WAIT_NS] &&
			    tb[TRIAGE_ATTR_WAIT_THRESHOLD_US] && tb[TRIAGE_ATTR_SUPPRESSED];
		if (e.has_all) {
			e.tid = nla_get_u32(tb[TRIAGE_ATTR_TID]);
			e.wait_ns = nla_get_u64(tb[TRIAGE_ATTR_WAIT_NS]);
			e.thr = nla_get_u32(tb[TRIAGE_ATTR_WAIT_THRESHOLD_US]);
			e.suppressed = nla_get_u32(tb[TRIAGE_ATTR_SUPPRESSED]);
		}
	}
	w->ev = e;
	w->found = true;
	return NL_OK;
}

static inline bool event_wait(struct tnl *ev, int cmd, uint32_t tgid, int timeout_ms, struct event *out)
{
	struct event_wait w = { .cmd = cmd, .tgid = tgid };
	long deadline = (long)mono_ms() + timeout_ms;
	struct pollfd pfd = { .fd = nl_socket_get_fd(ev->sk), .events = POLLIN };

	nl_socket_modify_cb(ev->sk, NL_CB_VALID, NL_CB_CUSTOM, event_cb, &w);
	while (!w.found && (long)mono_ms() < deadline)
		if (poll(&pfd, 1, deadline - (long)mono_ms()) > 0)
			nl_recvmsgs_default(ev->sk);
	*out = w.ev;
	return w.found;
}

#endif
