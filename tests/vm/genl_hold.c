// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A generic-netlink client of the "triage" family for the QEMU rig's kmod
 * suite (tests/vm/suites/kmod.sh). `--probe` says whether the family is
 * registered (exit 0) or not (exit 1). `--hold` resolves it, joins the
 * "events" group, asks GET_VERSION, prints "ready" and keeps its socket
 * open until SIGUSR1; then it asks GET_VERSION again and prints the answer
 * ("after: ok" or "after: error ..."), so the suite can unload the module
 * under an open socket and see the client get an error instead of a hang,
 * and the kernel stay clean. Exits 0 whenever the kernel answered. The
 * socket is both request and event socket here, so replies are matched by
 * sequence number and events skipped.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <triage/genl.h>

static volatile sig_atomic_t woken;

static void on_usr1(int sig)
{
	(void)sig;
	woken = 1;
}

/* One request's outcome, filled by the callbacks (iw's err = 1 loop). */
struct request {
	unsigned int seq;
	int err; /* 1 while waiting, then 0 or -errno from the kernel */
	int replies;
};

/* Only the answer to this request counts: skip multicast events and any
 * stale message, which carry other sequence numbers. */
static int on_seq_check(struct nl_msg *msg, void *arg)
{
	struct request *req = arg;

	return nlmsg_hdr(msg)->nlmsg_seq == req->seq ? NL_OK : NL_SKIP;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct request *req = arg;

	(void)msg;
	req->replies++;
	return NL_OK;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct request *req = arg;

	(void)msg;
	req->err = 0;
	return NL_STOP;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct request *req = arg;

	(void)nla;
	req->err = e->error;
	return NL_STOP;
}

/* GET_VERSION on FAMILY with an ACK: 0, -errno from the kernel, or a
 * negative libnl error (*libnl set) when sending or receiving failed. */
static int get_version(struct nl_sock *sock, int family, int *libnl)
{
	struct request req = { .err = 1 };
	struct nl_msg *msg = nlmsg_alloc();
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int rc = -NLE_NOMEM;

	*libnl = 1;
	if (!msg || !cb)
		goto cleanup;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_ACK, TRIAGE_CMD_GET_VERSION,
			 TRIAGE_GENL_VERSION))
		goto cleanup;
	rc = nl_send_auto(sock, msg);
	if (rc < 0)
		goto cleanup;
	req.seq = nlmsg_hdr(msg)->nlmsg_seq;
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, on_seq_check, &req);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &req);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, &req);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, &req);
	/* An error answer makes nl_recvmsgs fail too; req.err says which. */
	do
		rc = nl_recvmsgs(sock, cb);
	while (req.err > 0 && rc >= 0);
	if (req.err <= 0) {
		*libnl = 0;
		rc = req.err;
	}
cleanup:
	nl_cb_put(cb);
	nlmsg_free(msg);
	return rc;
}

static const char *request_error(int err, int libnl)
{
	return libnl ? nl_geterror(err) : strerror(-err);
}

int main(int argc, char **argv)
{
	struct timeval recv_timeout = { .tv_sec = 5 };
	struct nl_sock *sock = NULL;
	int family, grp, err, libnl, ret = 2;
	int hold = argc == 2 && !strcmp(argv[1], "--hold");

	if (argc != 2 || (!hold && strcmp(argv[1], "--probe"))) {
		fprintf(stderr, "usage: genl_hold --probe | --hold\n");
		return 2;
	}
	signal(SIGUSR1, on_usr1);
	sock = nl_socket_alloc();
	if (!sock || genl_connect(sock)) {
		fprintf(stderr, "genl_hold: cannot open a generic-netlink socket\n");
		goto cleanup;
	}
	/* A module that never answers must not hang the suite. */
	setsockopt(nl_socket_get_fd(sock), SOL_SOCKET, SO_RCVTIMEO, &recv_timeout, sizeof(recv_timeout));
	family = genl_ctrl_resolve(sock, TRIAGE_GENL_NAME);
	if (family < 0) {
		printf("family %s: not registered (%s)\n", TRIAGE_GENL_NAME, nl_geterror(family));
		ret = 1;
		goto cleanup;
	}
	printf("family %s: id %d\n", TRIAGE_GENL_NAME, family);
	if (!hold) {
		ret = 0;
		goto cleanup;
	}
	grp = genl_ctrl_resolve_grp(sock, TRIAGE_GENL_NAME, TRIAGE_GENL_MCGRP_EVENTS);
	if (grp < 0 || nl_socket_add_membership(sock, grp)) {
		fprintf(stderr, "genl_hold: cannot join group %s\n", TRIAGE_GENL_MCGRP_EVENTS);
		goto cleanup;
	}
	err = get_version(sock, family, &libnl);
	if (err) {
		fprintf(stderr, "genl_hold: GET_VERSION: %s\n", request_error(err, libnl));
		goto cleanup;
	}
	printf("ready\n");
	fflush(stdout);
	while (!woken)
		sleep(1); /* a signal ends it early; no lost-wakeup race */
	err = get_version(sock, family, &libnl);
	if (err)
		printf("after: error %s\n", request_error(err, libnl));
	else
		printf("after: ok\n");
	ret = libnl && err ? 1 : 0;
cleanup:
	nl_socket_free(sock);
	return ret;
}
