/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * libnl-genl plumbing shared by the in-VM tests of triage.ko
 * (genl_test.c, genl_fuzz.c): a request socket with extended ACKs, one
 * request-and-answer call in iw's style (an `err = 1` callback loop that
 * ends on the ACK, the error or the end of a dump), the extended-ACK text
 * of an error, and the one-line result format of the VM rig.
 */
#ifndef TRIAGE_TESTS_VM_GENL_UTIL_H
#define TRIAGE_TESTS_VM_GENL_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "clock.h"
#include "triage/genl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct tnl {
	struct nl_sock *sk;
	int family;
};

typedef int (*tnl_reply_fn)(struct nlattr **tb, int cmd, void *arg);

struct tnl_call {
	int err; /* 1 while waiting, then 0 or -errno */
	tnl_reply_fn fn;
	void *arg;
	char ext[256]; /* extended-ACK message of an error, "" if none */
};

static int tap_failures;

static inline void tap_ok(const char *name)
{
	printf("ok - kmod: %s\n", name);
	fflush(stdout);
}

static inline void __attribute__((format(printf, 2, 3))) tap_fail(const char *name, const char *fmt,
								   ...)
{
	va_list ap;

	printf("not ok - kmod: %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	tap_failures++;
}

static inline void tap_skip(const char *name, const char *why)
{
	printf("skip - kmod: %s: %s\n", name, why);
	fflush(stdout);
}

/* 0, or -errno with why[] saying which step failed. */
static inline int tnl_open(struct tnl *t, char *why, size_t whylen)
{
	int one = 1;

	t->sk = nl_socket_alloc();
	if (!t->sk) {
		snprintf(why, whylen, "nl_socket_alloc failed");
		return -ENOMEM;
	}
	if (genl_connect(t->sk)) {
		snprintf(why, whylen, "genl_connect failed");
		goto fail;
	}
	setsockopt(nl_socket_get_fd(t->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(t->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	t->family = genl_ctrl_resolve(t->sk, TRIAGE_GENL_NAME);
	if (t->family < 0) {
		snprintf(why, whylen, "family %s not found (is triage.ko loaded?)", TRIAGE_GENL_NAME);
		goto fail;
	}
	return 0;
fail:
	nl_socket_free(t->sk);
	t->sk = NULL;
	return -ENOENT;
}

static inline void tnl_close(struct tnl *t)
{
	if (t->sk)
		nl_socket_free(t->sk);
	t->sk = NULL;
}

static inline struct nl_msg *tnl_msg(const struct tnl *t, int cmd, int nlm_flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, t->family, 0, nlm_flags, cmd, 1)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

/* The extended ACK follows the error and, without NETLINK_CAP_ACK, the
 * request it answers. */
static inline int tnl_error_cb(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)err - 1;
	struct tnl_call *c = arg;
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	int ack_len = sizeof(*nlh) + sizeof(int) + sizeof(*nlh);

	(void)nla;
	c->err = err->error ? err->error : -EBADMSG;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		ack_len += err->msg.nlmsg_len - sizeof(*nlh);
	if ((int)nlh->nlmsg_len <= ack_len)
		return NL_STOP;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)nlh + ack_len),
		      nlh->nlmsg_len - ack_len, NULL))
		return NL_STOP;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(c->ext, sizeof(c->ext), "%s", nla_get_string(tb[NLMSGERR_ATTR_MSG]));
	return NL_STOP;
}

static inline int tnl_finish_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	((struct tnl_call *)arg)->err = 0;
	return NL_SKIP;
}

static inline int tnl_ack_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	((struct tnl_call *)arg)->err = 0;
	return NL_STOP;
}

static inline int tnl_valid_cb(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[TRIAGE_ATTR_MAX + 1];
	struct tnl_call *c = arg;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, TRIAGE_ATTR_MAX, NULL)) {
		c->err = -EBADMSG;
		return NL_STOP;
	}
	if (c->fn && c->fn(tb, gh->cmd, c->arg)) {
		c->err = -EBADMSG;
		return NL_STOP;
	}
	return NL_OK;
}

/* Sends msg (and frees it); 0 or -errno. */
static inline int tnl_call(struct tnl *t, struct nl_msg *msg, tnl_reply_fn fn, void *arg,
			   struct tnl_call *c)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int err;

	memset(c, 0, sizeof(*c));
	c->err = 1;
	c->fn = fn;
	c->arg = arg;
	if (!cb) {
		nlmsg_free(msg);
		return c->err = -ENOMEM;
	}
	err = nl_send_auto(t->sk, msg);
	nlmsg_free(msg);
	if (err < 0) {
		nl_cb_put(cb);
		return c->err = -EIO;
	}
	nl_cb_err(cb, NL_CB_CUSTOM, tnl_error_cb, c);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, tnl_finish_cb, c);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, tnl_ack_cb, c);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, tnl_valid_cb, c);
	while (c->err > 0) {
		err = nl_recvmsgs(t->sk, cb);
		if (err < 0 && c->err > 0)
			c->err = -EIO;
	}
	nl_cb_put(cb);
	return c->err;
}

#endif
