// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Talking to triage.ko over generic netlink, the way iw talks to nl80211:
 * one socket for requests, answered in an `err = 1` loop whose error,
 * finish and ACK callbacks set err to 0 or -errno, and a second socket for
 * the "events" multicast group, so a notification never lands in the
 * middle of a request's replies. Extended ACK is on, so a refusal comes
 * with the module's own words, which the caller logs.
 *
 * A request waits at most KMOD_REPLY_TIMEOUT_S for its answer: the agent's
 * loop must not hang on a module that stopped answering.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "kmod/kmod_client.h"
#include "log.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define KMOD_REPLY_TIMEOUT_S 2
#define KMOD_EVENT_RCVBUF (1 << 20)
#define KMOD_EVENT_BATCHES 64 /* reads per wakeup, so events cannot starve the loop */

struct kmod_client {
	struct nl_sock *req; /* requests and their replies */
	struct nl_sock *evt; /* "events" notifications, non-blocking */
	struct nl_cb *evt_cb;
	int family;
	uint32_t features; /* TRIAGE_FEAT_* of GET_VERSION */
	char error[256];
};

/* One request in flight: err is 1 until a callback ends it. */
struct request {
	struct kmod_client *c;
	int err;
	int parse_err;
	int (*on_reply)(struct nlmsghdr *nlh, void *ctx); /* <0: bad reply; >0: ignore the rest */
	void *ctx;
	bool stopped;
};

/* libnl's own error codes back to errno, for the callers' messages. */
static int nl_to_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_MSGSIZE:
		return -EMSGSIZE;
	case NLE_DUMP_INTR:
		return -EINTR;
	default:
		return -EIO;
	}
}

static int error_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct request *rq = arg;
	/* libnl hands over the payload; the header, flags included, is just before it. */
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)e - 1;

	(void)nla;
	kmod_extack_msg(nlh, rq->c->error, sizeof(rq->c->error));
	rq->err = e->error < 0 ? e->error : -EPROTO;
	return NL_STOP;
}

static int finish_cb(struct nl_msg *msg, void *arg)
{
	struct request *rq = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	int error = 0;

	/* A dump that failed half-way says so in its DONE message. */
	if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int))
		error = kmod_extack_msg(nlh, rq->c->error, sizeof(rq->c->error));
	rq->err = error < 0 ? error : 0;
	return NL_STOP;
}

static int ack_cb(struct nl_msg *msg, void *arg)
{
	struct request *rq = arg;

	(void)msg;
	rq->err = 0;
	return NL_STOP;
}

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct request *rq = arg;
	int r;

	/* Read a dump to its end even after a bad entry, so the socket's
	 * next request does not meet this one's leftovers. */
	if (!rq->on_reply || rq->parse_err || rq->stopped)
		return NL_OK;
	r = rq->on_reply(nlmsg_hdr(msg), rq->ctx);
	if (r < 0)
		rq->parse_err = r;
	else if (r > 0)
		rq->stopped = true;
	return NL_OK;
}

/* A fresh set of callbacks that keeps whatever the socket's own set
 * overrides (the unit tests' stand-in for the kernel overrides receive). */
static struct nl_cb *clone_cb(struct nl_sock *sk)
{
	struct nl_cb *own = nl_socket_get_cb(sk), *cb;

	if (!own)
		return NULL;
	cb = nl_cb_clone(own);
	nl_cb_put(own);
	return cb;
}

/* Sends msg (and frees it), then reads until its ACK, DONE or error. */
static int transact(struct kmod_client *c, struct nl_msg *msg,
		    int (*on_reply)(struct nlmsghdr *nlh, void *ctx), void *ctx)
{
	struct request rq = { .c = c, .err = 1, .on_reply = on_reply, .ctx = ctx };
	struct nl_cb *cb = clone_cb(c->req);
	int r;

	c->error[0] = '\0';
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_err(cb, NL_CB_CUSTOM, error_cb, &rq);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, finish_cb, &rq);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, &rq);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, &rq);

	r = nl_send_auto(c->req, msg);
	nlmsg_free(msg);
	if (r < 0) {
		rq.err = nl_to_errno(r);
		snprintf(c->error, sizeof(c->error), "cannot send to triage.ko: %s", nl_geterror(r));
	}
	while (rq.err > 0) {
		r = nl_recvmsgs_report(c->req, cb);
		if (rq.err <= 0)
			break;
		if (r < 0) {
			rq.err = nl_to_errno(r);
			snprintf(c->error, sizeof(c->error), "reading triage.ko's reply: %s",
				 nl_geterror(r));
		} else if (r == 0) {
			rq.err = -ETIMEDOUT;
			snprintf(c->error, sizeof(c->error), "triage.ko did not answer within %d s",
				 KMOD_REPLY_TIMEOUT_S);
		}
	}
	nl_cb_put(cb);
	if (!rq.err && rq.parse_err) {
		rq.err = rq.parse_err;
		snprintf(c->error, sizeof(c->error), "malformed reply from triage.ko");
	}
	if (rq.err && !c->error[0])
		snprintf(c->error, sizeof(c->error), "%s", strerror(-rq.err));
	return rq.err;
}

/* A request with no attribute but one u32 (or none, for attr 0). */
static int simple_request(struct kmod_client *c, uint8_t cmd, int flags, int attr, uint32_t value,
			  int (*on_reply)(struct nlmsghdr *nlh, void *ctx), void *ctx)
{
	struct nl_msg *msg = kmod_msg_new(c->family, cmd, flags);

	if (!msg)
		return -ENOMEM;
	if (attr && nla_put_u32(msg, attr, value) < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return transact(c, msg, on_reply, ctx);
}

static struct nl_sock *socket_open(char *err, size_t errlen)
{
	struct nl_sock *sk = nl_socket_alloc();
	int one = 1, r;

	if (!sk) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r = genl_connect(sk);
	if (r < 0) {
		snprintf(err, errlen, "cannot open a generic-netlink socket: %s", nl_geterror(r));
		nl_socket_free(sk);
		return NULL;
	}
	/* Kernels before 4.12 have no extended ACK: errors come bare. */
	if (setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)))
		log_debug("kmod: no extended ACK on this kernel: %s", strerror(errno));
	return sk;
}

static int version_reply(struct nlmsghdr *nlh, void *ctx)
{
	struct kmod_info *info = ctx;

	/* Another ABI is judged by the caller, with a message naming both. */
	kmod_parse_version(nlh, info, NULL, 0);
	return info->abi_version ? 0 : -EPROTO;
}

struct kmod_client *kmod_client_open_on(struct nl_sock *sk, int family, struct kmod_info *info,
					char *err, size_t errlen)
{
	struct kmod_client *c = calloc(1, sizeof(*c));
	int r;

	memset(info, 0, sizeof(*info));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		nl_socket_free(sk);
		return NULL;
	}
	c->req = sk;
	c->family = family;
	r = simple_request(c, TRIAGE_CMD_GET_VERSION, 0, 0, 0, version_reply, info);
	if (r) {
		snprintf(err, errlen, "triage.ko: GET_VERSION failed: %s", c->error);
		goto fail;
	}
	if (kmod_abi_check(info->abi_version, err, errlen))
		goto fail;
	c->features = info->features;
	return c;

fail:
	kmod_client_close(c);
	return NULL;
}

struct kmod_client *kmod_client_open(struct kmod_info *info, char *err, size_t errlen)
{
	struct timeval timeout = { .tv_sec = KMOD_REPLY_TIMEOUT_S };
	struct nl_sock *sk;
	struct stat st;
	int family;

	memset(info, 0, sizeof(*info));
	sk = socket_open(err, errlen);
	if (!sk)
		return NULL;
	setsockopt(nl_socket_get_fd(sk), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	family = genl_ctrl_resolve(sk, TRIAGE_GENL_NAME);
	if (family == -NLE_OBJ_NOTFOUND && stat("/sys/module/triage", &st) == 0)
		snprintf(err, errlen,
			 "triage.ko is loaded (/sys/module/triage) but registered no generic-netlink family " TRIAGE_GENL_NAME);
	else if (family == -NLE_OBJ_NOTFOUND)
		snprintf(err, errlen, "triage.ko is not loaded (no generic-netlink family " TRIAGE_GENL_NAME ")");
	else if (family < 0)
		snprintf(err, errlen, "cannot resolve generic-netlink family " TRIAGE_GENL_NAME ": %s",
			 nl_geterror(family));
	if (family < 0) {
		nl_socket_free(sk);
		return NULL;
	}
	return kmod_client_open_on(sk, family, info, err, errlen);
}

void kmod_client_close(struct kmod_client *c)
{
	if (!c)
		return;
	if (c->evt_cb)
		nl_cb_put(c->evt_cb);
	nl_socket_free(c->evt);
	nl_socket_free(c->req);
	free(c);
}

const char *kmod_client_error(const struct kmod_client *c)
{
	return c->error;
}

int kmod_tag_tgid(struct kmod_client *c, pid_t tgid, const struct triage_tag *tag,
		  uint32_t wait_threshold_us)
{
	struct nl_msg *msg = kmod_msg_new(c->family, TRIAGE_CMD_TAG, 0);

	if (!msg)
		return -ENOMEM;
	if (kmod_msg_put_tag(msg, tgid, tag, wait_threshold_us) < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return transact(c, msg, NULL, NULL);
}

int kmod_untag_tgid(struct kmod_client *c, pid_t tgid)
{
	return simple_request(c, TRIAGE_CMD_UNTAG, 0, TRIAGE_ATTR_TGID, (uint32_t)tgid, NULL, NULL);
}

int kmod_set_affinity(struct kmod_client *c, pid_t tgid, const cpu_set_t *mask, uint32_t flags)
{
	struct nl_msg *msg;
	int r;

	msg = kmod_msg_new(c->family, TRIAGE_CMD_SET_AFFINITY, 0);
	if (!msg)
		return -ENOMEM;
	r = kmod_msg_put_tgid(msg, tgid);
	if (!r) {
		r = kmod_msg_put_cpumask(msg, mask);
		if (r == -NLE_INVAL) {
			nlmsg_free(msg);
			if (CPU_COUNT(mask))
				snprintf(c->error, sizeof(c->error),
					 "CPU mask names a CPU past the %d triage.ko can take",
					 TRIAGE_MAX_CPUS);
			else
				snprintf(c->error, sizeof(c->error), "empty CPU mask");
			return -EINVAL;
		}
	}
	/* No FLAGS for 0: what the module assumes without it. */
	if (!r && flags)
		r = nla_put_u32(msg, TRIAGE_ATTR_FLAGS, flags);
	if (r < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return transact(c, msg, NULL, NULL);
}

int kmod_reset_affinity(struct kmod_client *c, pid_t tgid)
{
	return simple_request(c, TRIAGE_CMD_RESET_AFFINITY, 0, TRIAGE_ATTR_TGID, (uint32_t)tgid, NULL,
			      NULL);
}

bool kmod_module_loaded(void)
{
	struct stat st;

	return stat("/sys/module/triage", &st) == 0;
}

/* A module without the guard (older, or no netlink notifier) would not
 * know the command, or not act on it: said here, without a request. */
static int sched_guard_request(struct kmod_client *c, uint8_t cmd, pid_t tgid)
{
	if (!(c->features & TRIAGE_FEAT_SCHED_GUARD)) {
		snprintf(c->error, sizeof(c->error),
			 "this triage.ko has no SCHED_GUARD (features 0x%x)", c->features);
		return -EOPNOTSUPP;
	}
	return simple_request(c, cmd, 0, TRIAGE_ATTR_TGID, (uint32_t)tgid, NULL, NULL);
}

int kmod_sched_guard(struct kmod_client *c, pid_t tgid)
{
	return sched_guard_request(c, TRIAGE_CMD_SCHED_GUARD, tgid);
}

int kmod_sched_unguard(struct kmod_client *c, pid_t tgid)
{
	return sched_guard_request(c, TRIAGE_CMD_SCHED_UNGUARD, tgid);
}

struct cpus_ctx {
	struct triage_cpu_stats *out;
	int nr_cpus;
};

static int cpu_reply(struct nlmsghdr *nlh, void *arg)
{
	struct cpus_ctx *ctx = arg;
	struct triage_cpu_stats stats;
	uint32_t cpu;
	int r = kmod_parse_cpu_stats(nlh, &cpu, &stats);

	if (r)
		return r;
	if (cpu < (uint32_t)ctx->nr_cpus)
		ctx->out[cpu] = stats;
	return 0;
}

int kmod_read_cpus(struct kmod_client *c, struct triage_cpu_stats *out, int nr_cpus)
{
	struct cpus_ctx ctx = { .out = out, .nr_cpus = nr_cpus };

	memset(out, 0, sizeof(*out) * (size_t)nr_cpus);
	return simple_request(c, TRIAGE_CMD_GET_CPU_STATS, NLM_F_DUMP, 0, 0, cpu_reply, &ctx);
}

struct wl_ctx {
	uint32_t wl_id;
	struct triage_wl_stats *out;
	uint32_t *nr_tgids;
	bool found;
};

static int wl_reply(struct nlmsghdr *nlh, void *arg)
{
	struct wl_ctx *ctx = arg;
	struct triage_wl_stats stats;
	uint32_t wl_id, nr_tgids;
	int r = kmod_parse_wl_stats(nlh, &wl_id, &nr_tgids, &stats);

	if (r)
		return r;
	if (wl_id != ctx->wl_id)
		return 0;
	*ctx->out = stats;
	if (ctx->nr_tgids)
		*ctx->nr_tgids = nr_tgids;
	ctx->found = true;
	return 1;
}

int kmod_read_workload(struct kmod_client *c, uint32_t wl_id, struct triage_wl_stats *out,
		       uint32_t *nr_tgids)
{
	struct wl_ctx ctx = { .wl_id = wl_id, .out = out, .nr_tgids = nr_tgids };
	int r = simple_request(c, TRIAGE_CMD_GET_WL_STATS, 0, TRIAGE_ATTR_WL_ID, wl_id, wl_reply, &ctx);

	return r ? r : (ctx.found ? 0 : -ENOENT);
}

static int gpu_reply(struct nlmsghdr *nlh, void *arg)
{
	return kmod_parse_gpu(nlh, arg);
}

int kmod_read_gpu(struct kmod_client *c, struct kmod_gpu *out)
{
	memset(out, 0, sizeof(*out));
	return simple_request(c, TRIAGE_CMD_GET_GPU_STATS, 0, 0, 0, gpu_reply, out);
}

int kmod_forget_workload(struct kmod_client *c, uint32_t wl_id)
{
	return simple_request(c, TRIAGE_CMD_FORGET_WL, 0, TRIAGE_ATTR_WL_ID, wl_id, NULL, NULL);
}

struct walk_ctx {
	int (*tag_fn)(const struct kmod_tag *t, void *ctx);
	int (*wl_fn)(uint32_t wl_id, void *ctx);
	void *ctx;
};

static int tag_entry(struct nlmsghdr *nlh, void *arg)
{
	struct walk_ctx *walk = arg;
	struct kmod_tag tag;
	int r = kmod_parse_tag(nlh, &tag);

	return r ? r : (walk->tag_fn(&tag, walk->ctx) ? 1 : 0);
}

static int wl_entry(struct nlmsghdr *nlh, void *arg)
{
	struct walk_ctx *walk = arg;
	struct triage_wl_stats stats;
	uint32_t wl_id, nr_tgids;
	int r = kmod_parse_wl_stats(nlh, &wl_id, &nr_tgids, &stats);

	return r ? r : (walk->wl_fn(wl_id, walk->ctx) ? 1 : 0);
}

int kmod_dump_tags(struct kmod_client *c, int (*fn)(const struct kmod_tag *t, void *ctx), void *ctx)
{
	struct walk_ctx walk = { .tag_fn = fn, .ctx = ctx };

	return simple_request(c, TRIAGE_CMD_GET_TAGS, NLM_F_DUMP, 0, 0, tag_entry, &walk);
}

int kmod_dump_workloads(struct kmod_client *c, int (*fn)(uint32_t wl_id, void *ctx), void *ctx)
{
	struct walk_ctx walk = { .wl_fn = fn, .ctx = ctx };

	return simple_request(c, TRIAGE_CMD_GET_WL_STATS, NLM_F_DUMP, 0, 0, wl_entry, &walk);
}

struct event_ctx {
	struct kmod_client *c;
	void (*fn)(const struct kmod_event *ev, void *ctx);
	void *ctx;
	int count;
};

static int event_cb(struct nl_msg *msg, void *arg)
{
	struct event_ctx *ectx = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct kmod_event ev;
	int r;

	if (nlh->nlmsg_type != ectx->c->family)
		return NL_SKIP;
	r = kmod_parse_event(nlh, &ev);
	if (r == -EINVAL)
		return NL_SKIP; /* a notification newer than this agent */
	if (r) {
		log_debug("kmod: malformed event ignored");
		return NL_SKIP;
	}
	ectx->count++;
	ectx->fn(&ev, ectx->ctx);
	return NL_OK;
}

int kmod_client_subscribe_on(struct kmod_client *c, struct nl_sock *sk)
{
	/* Notifications answer no request: no sequence to check. */
	nl_socket_disable_seq_check(sk);
	c->evt_cb = clone_cb(sk);
	if (!c->evt_cb) {
		nl_socket_free(sk);
		return -ENOMEM;
	}
	c->evt = sk;
	return 0;
}

int kmod_client_subscribe(struct kmod_client *c, char *err, size_t errlen)
{
	struct nl_sock *sk;
	int group, r;

	if (c->evt)
		return 0;
	group = genl_ctrl_resolve_grp(c->req, TRIAGE_GENL_NAME, TRIAGE_GENL_MCGRP_EVENTS);
	if (group < 0) {
		snprintf(err, errlen, "triage.ko has no multicast group \"" TRIAGE_GENL_MCGRP_EVENTS "\": %s",
			 nl_geterror(group));
		return nl_to_errno(group);
	}
	sk = socket_open(err, errlen);
	if (!sk)
		return -ENOMEM;
	nl_socket_set_buffer_size(sk, KMOD_EVENT_RCVBUF, 0);
	r = nl_socket_add_membership(sk, group);
	if (!r)
		r = nl_socket_set_nonblocking(sk);
	if (r < 0) {
		snprintf(err, errlen, "cannot join \"" TRIAGE_GENL_MCGRP_EVENTS "\": %s", nl_geterror(r));
		nl_socket_free(sk);
		return nl_to_errno(r);
	}
	r = kmod_client_subscribe_on(c, sk);
	if (r)
		snprintf(err, errlen, "out of memory");
	return r;
}

int kmod_event_fd(const struct kmod_client *c)
{
	return c->evt ? nl_socket_get_fd(c->evt) : -1;
}

int kmod_read_events(struct kmod_client *c, void (*fn)(const struct kmod_event *ev, void *ctx),
		     void *ctx)
{
	struct event_ctx ectx = { .c = c, .fn = fn, .ctx = ctx };
	bool lost = false;

	if (!c->evt)
		return 0;
	nl_cb_set(c->evt_cb, NL_CB_VALID, NL_CB_CUSTOM, event_cb, &ectx);
	for (int i = 0; i < KMOD_EVENT_BATCHES; i++) {
		int r = nl_recvmsgs_report(c->evt, c->evt_cb);

		if (r == 0)
			break;
		/* ENOBUFS (libnl: NLE_NOMEM): the socket overran; reading
		 * goes on normally after it. */
		if (r < 0)
			lost = true;
	}
	return lost ? -ENOBUFS : ectx.count;
}
