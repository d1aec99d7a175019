// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The triage.ko client's request loop and event reading, against a stand-in
 * for the module: libnl's send and receive overrides on the client's
 * sockets answer each request the way docs/netlink/triage.yaml says the
 * module does (a reply then an ACK, dump entries then DONE, errors with an
 * extended ACK). Checks: GET_VERSION and the ABI refusal, tags and their
 * errors with the module's own words, CPU and workload counters, dumps,
 * forget, a malformed entry that must not desynchronise the socket, a
 * module that stops answering, events including an overrun, and
 * SET/RESET_AFFINITY, alone and under agent/policy/affinity.c. No root, no module.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/handlers.h>
#include <netlink/socket.h>

#include "policy/affinity.h"
#include "kmod/kmod_client.h"

#define FAMILY 0x21
#define MAX_DGRAMS 64
#define BAD_TGID 424242 /* the stand-in's "no such thread group" */

struct dgram {
	unsigned char *buf;
	int len;
};

struct queue {
	struct dgram d[MAX_DGRAMS];
	int head, tail;
};

static struct {
	uint32_t abi, features, nr_cpus;
	bool silent;          /* answer nothing: a module that hangs */
	bool bad_cpu_entry;   /* one GET_CPU_STATS entry without its stats */
	bool dump_fails;      /* GET_TAGS ends with an error in DONE */
	int evt_recv_error;   /* the event socket's next receive fails so */
	struct nl_sock *req, *evt;
	struct queue to_req, to_evt;
	struct { pid_t tgid; uint32_t slot, wl_id, threshold; } tags[16];
	int nr_tags;
	uint32_t forgotten[16];
	int nr_forgotten;
	struct { pid_t tgid; uint8_t mask[TRIAGE_CPUMASK_MAX]; int mask_len; uint32_t flags; } aff[16];
	int nr_aff;
	pid_t resets[16]; /* RESET_AFFINITY that found a policy, in order */
	int nr_resets;
	int requests;
} fake;

static void push(struct queue *q, struct nl_msg **msgs, int n)
{
	struct dgram *d = &q->d[q->tail++];
	int len = 0;

	cr_assert_leq(q->tail, MAX_DGRAMS);
	for (int i = 0; i < n; i++)
		len += NLMSG_ALIGN(nlmsg_hdr(msgs[i])->nlmsg_len);
	d->buf = calloc(1, (size_t)len);
	for (int i = 0, off = 0; i < n; i++) {
		struct nlmsghdr *h = nlmsg_hdr(msgs[i]);

		memcpy(d->buf + off, h, h->nlmsg_len);
		off += NLMSG_ALIGN(h->nlmsg_len);
		nlmsg_free(msgs[i]);
	}
	d->len = len;
}

static void push_one(struct queue *q, struct nl_msg *msg)
{
	push(q, &msg, 1);
}

static struct nl_msg *answer(const struct nlmsghdr *req, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	genlmsg_put(msg, req->nlmsg_pid, req->nlmsg_seq, FAMILY, 0, flags, cmd, TRIAGE_GENL_VERSION);
	return msg;
}

/* The kernel's netlink_ack(): error 0 is an ACK; text goes in a capped
 * extended ACK. */
static struct nl_msg *ack(const struct nlmsghdr *req, int error, const char *text)
{
	struct nl_msg *msg = nlmsg_alloc_simple(NLMSG_ERROR, text ? NLM_F_CAPPED | NLM_F_ACK_TLVS : 0);
	struct nlmsgerr e = { .error = error, .msg = *req };

	nlmsg_hdr(msg)->nlmsg_seq = req->nlmsg_seq;
	nlmsg_append(msg, &e, sizeof(e), NLMSG_ALIGNTO);
	if (text)
		nla_put_string(msg, NLMSGERR_ATTR_MSG, text);
	return msg;
}

static struct nl_msg *done(const struct nlmsghdr *req, int error, const char *text)
{
	struct nl_msg *msg = nlmsg_alloc_simple(NLMSG_DONE, NLM_F_MULTI | (text ? NLM_F_ACK_TLVS : 0));

	nlmsg_hdr(msg)->nlmsg_seq = req->nlmsg_seq;
	nlmsg_append(msg, &error, sizeof(error), NLMSG_ALIGNTO);
	if (text)
		nla_put_string(msg, NLMSGERR_ATTR_MSG, text);
	return msg;
}

static void answer_cpus(const struct nlmsghdr *req)
{
	struct nl_msg *entries[8];
	int n = 0;

	for (uint32_t cpu = 0; cpu < fake.nr_cpus && n < 8; cpu++) {
		struct triage_cpu_stats st;

		memset(&st, 0, sizeof(st));
		st.busy_ns[0] = 1000 * (cpu + 1);
		st.idle_ns = 7;
		entries[n] = answer(req, TRIAGE_CMD_GET_CPU_STATS, NLM_F_MULTI);
		nla_put_u32(entries[n], TRIAGE_ATTR_CPU, cpu);
		if (!(fake.bad_cpu_entry && cpu == 0))
			nla_put(entries[n], TRIAGE_ATTR_CPU_STATS, sizeof(st), &st);
		n++;
	}
	push(&fake.to_req, entries, n);
	push_one(&fake.to_req, done(req, 0, NULL));
}

static struct nl_msg *wl_entry(const struct nlmsghdr *req, uint32_t wl_id, int flags)
{
	struct nl_msg *msg = answer(req, TRIAGE_CMD_GET_WL_STATS, flags);
	struct triage_wl_stats st;

	memset(&st, 0, sizeof(st));
	st.cpu_ns = 100 * wl_id;
	st.wait_hist[3] = 2;
	st.slot = 1;
	nla_put_u32(msg, TRIAGE_ATTR_WL_ID, wl_id);
	nla_put_u32(msg, TRIAGE_ATTR_NR_TGIDS, 1);
	nla_put(msg, TRIAGE_ATTR_WL_STATS, sizeof(st), &st);
	return msg;
}

static void answer_tag(const struct nlmsghdr *req, struct nlattr **tb)
{
	pid_t tgid = (pid_t)nla_get_u32(tb[TRIAGE_ATTR_TGID]);

	if (tgid == BAD_TGID) {
		push_one(&fake.to_req, ack(req, -ESRCH, "no such thread group"));
		return;
	}
	fake.tags[fake.nr_tags].tgid = tgid;
	fake.tags[fake.nr_tags].slot = nla_get_u32(tb[TRIAGE_ATTR_SLOT]);
	fake.tags[fake.nr_tags].wl_id = nla_get_u32(tb[TRIAGE_ATTR_WL_ID]);
	fake.tags[fake.nr_tags].threshold = nla_get_u32(tb[TRIAGE_ATTR_WAIT_THRESHOLD_US]);
	fake.nr_tags++;
	push_one(&fake.to_req, ack(req, 0, NULL));
}

static void answer_untag(const struct nlmsghdr *req, struct nlattr **tb)
{
	pid_t tgid = (pid_t)nla_get_u32(tb[TRIAGE_ATTR_TGID]);

	for (int i = 0; i < fake.nr_tags; i++) {
		if (fake.tags[i].tgid != tgid)
			continue;
		fake.tags[i] = fake.tags[--fake.nr_tags];
		push_one(&fake.to_req, ack(req, 0, NULL));
		return;
	}
	push_one(&fake.to_req, ack(req, -ENOENT, NULL));
}

/* The module's checks of mask_from_attr(), against fake.nr_cpus possible
 * CPUs, all online. */
static void answer_set_affinity(const struct nlmsghdr *req, struct nlattr **tb)
{
	struct nlattr *mask = tb[TRIAGE_ATTR_CPUMASK];
	pid_t tgid = (pid_t)nla_get_u32(tb[TRIAGE_ATTR_TGID]);
	const uint8_t *bytes;
	int len, any = 0, i;

	cr_assert_not_null(mask, "SET_AFFINITY without TRIAGE_ATTR_CPUMASK");
	bytes = nla_data(mask);
	len = nla_len(mask);
	cr_assert(len >= 1 && len <= TRIAGE_CPUMASK_MAX, "CPUMASK of %d bytes", len);
	for (int cpu = 0; cpu < len * 8; cpu++) {
		if (!(bytes[cpu / 8] & (1u << (cpu % 8))))
			continue;
		if (cpu >= (int)fake.nr_cpus) {
			push_one(&fake.to_req,
				 ack(req, -EINVAL, "TRIAGE_ATTR_CPUMASK: CPU beyond the possible ones"));
			return;
		}
		any = 1;
	}
	if (!any) {
		push_one(&fake.to_req, ack(req, -EINVAL, "TRIAGE_ATTR_CPUMASK: no online CPU"));
		return;
	}
	if (tgid == BAD_TGID) {
		push_one(&fake.to_req, ack(req, -ESRCH, "no such thread group"));
		return;
	}
	for (i = 0; i < fake.nr_aff && fake.aff[i].tgid != tgid; i++)
		;
	if (i == fake.nr_aff)
		fake.nr_aff++;
	fake.aff[i].tgid = tgid;
	memset(fake.aff[i].mask, 0, sizeof(fake.aff[i].mask));
	memcpy(fake.aff[i].mask, bytes, (size_t)len);
	fake.aff[i].mask_len = len;
	fake.aff[i].flags = tb[TRIAGE_ATTR_FLAGS] ? nla_get_u32(tb[TRIAGE_ATTR_FLAGS]) : 0;
	push_one(&fake.to_req, ack(req, 0, NULL));
}

static void answer_reset_affinity(const struct nlmsghdr *req, struct nlattr **tb)
{
	pid_t tgid = (pid_t)nla_get_u32(tb[TRIAGE_ATTR_TGID]);

	for (int i = 0; i < fake.nr_aff; i++) {
		if (fake.aff[i].tgid != tgid)
			continue;
		fake.aff[i] = fake.aff[--fake.nr_aff];
		fake.resets[fake.nr_resets++] = tgid;
		push_one(&fake.to_req, ack(req, 0, NULL));
		return;
	}
	push_one(&fake.to_req, ack(req, -ENOENT, "no affinity policy for this thread group"));
}

static void answer_tags(const struct nlmsghdr *req)
{
	struct nl_msg *entries[16];

	for (int i = 0; i < fake.nr_tags; i++) {
		entries[i] = answer(req, TRIAGE_CMD_GET_TAGS, NLM_F_MULTI);
		nla_put_u32(entries[i], TRIAGE_ATTR_TGID, (uint32_t)fake.tags[i].tgid);
		nla_put_u32(entries[i], TRIAGE_ATTR_SLOT, fake.tags[i].slot);
		nla_put_u32(entries[i], TRIAGE_ATTR_WL_ID, fake.tags[i].wl_id);
		nla_put_u32(entries[i], TRIAGE_ATTR_WAIT_THRESHOLD_US, fake.tags[i].threshold);
	}
	if (fake.nr_tags)
		push(&fake.to_req, entries, fake.nr_tags);
	push_one(&fake.to_req, fake.dump_fails ? done(req, -ENOBUFS, "tag table changed") : done(req, 0, NULL));
}

static int fake_send(struct nl_sock *sk, struct nl_msg *msg)
{
	struct nlmsghdr *req = nlmsg_hdr(msg);
	struct genlmsghdr *g = nlmsg_data(req);
	struct nlattr *tb[TRIAGE_ATTR_MAX + 1];
	bool dump = req->nlmsg_flags & NLM_F_DUMP;
	struct nl_msg *m;

	cr_assert_eq(sk, fake.req, "requests go on the request socket");
	cr_assert_eq(req->nlmsg_type, FAMILY);
	cr_assert(req->nlmsg_flags & NLM_F_REQUEST);
	cr_assert_eq(genlmsg_parse(req, 0, tb, TRIAGE_ATTR_MAX, NULL), 0);
	cr_assert(!tb[TRIAGE_ATTR_FLAGS] || g->cmd == TRIAGE_CMD_SET_AFFINITY,
		  "no op this client uses takes a flag but SET_AFFINITY");
	fake.requests++;
	if (fake.silent)
		return (int)req->nlmsg_len;
	switch (g->cmd) {
	case TRIAGE_CMD_GET_VERSION:
		m = answer(req, TRIAGE_CMD_GET_VERSION, 0);
		nla_put_u32(m, TRIAGE_ATTR_ABI_VERSION, fake.abi);
		nla_put_u32(m, TRIAGE_ATTR_FEATURES, fake.features);
		nla_put_u32(m, TRIAGE_ATTR_NR_CPUS, fake.nr_cpus);
		nla_put_string(m, TRIAGE_ATTR_MODULE_VERSION, "0.0-test");
		push_one(&fake.to_req, m);
		push_one(&fake.to_req, ack(req, 0, NULL));
		break;
	case TRIAGE_CMD_TAG:
		answer_tag(req, tb);
		break;
	case TRIAGE_CMD_UNTAG:
		answer_untag(req, tb);
		break;
	case TRIAGE_CMD_SET_AFFINITY:
		answer_set_affinity(req, tb);
		break;
	case TRIAGE_CMD_RESET_AFFINITY:
		answer_reset_affinity(req, tb);
		break;
	case TRIAGE_CMD_GET_CPU_STATS:
		cr_assert(dump);
		answer_cpus(req);
		break;
	case TRIAGE_CMD_GET_WL_STATS:
		if (dump) {
			struct nl_msg *entries[2] = { wl_entry(req, 5, NLM_F_MULTI), wl_entry(req, 6, NLM_F_MULTI) };

			push(&fake.to_req, entries, 2);
			push_one(&fake.to_req, done(req, 0, NULL));
		} else if (nla_get_u32(tb[TRIAGE_ATTR_WL_ID]) == 5) {
			push_one(&fake.to_req, wl_entry(req, 5, 0));
			push_one(&fake.to_req, ack(req, 0, NULL));
		} else {
			push_one(&fake.to_req, ack(req, -ENOENT, NULL));
		}
		break;
	case TRIAGE_CMD_FORGET_WL:
		fake.forgotten[fake.nr_forgotten++] = nla_get_u32(tb[TRIAGE_ATTR_WL_ID]);
		push_one(&fake.to_req, ack(req, 0, NULL));
		break;
	case TRIAGE_CMD_GET_TAGS:
		cr_assert(dump);
		answer_tags(req);
		break;
	default:
		push_one(&fake.to_req, ack(req, -EOPNOTSUPP, "unknown command"));
	}
	return (int)req->nlmsg_len;
}

/* Hands out the next datagram; 0 when there is none, as nl_recv() does
 * when the receive timeout (or a non-blocking socket) finds nothing. */
static int fake_recv(struct nl_sock *sk, struct sockaddr_nl *nla, unsigned char **buf,
		     struct ucred **creds)
{
	struct queue *q = sk == fake.evt ? &fake.to_evt : &fake.to_req;
	struct dgram *d;

	(void)creds;
	if (sk == fake.evt && fake.evt_recv_error) {
		int err = fake.evt_recv_error;

		fake.evt_recv_error = 0;
		return err;
	}
	if (q->head == q->tail)
		return 0;
	d = &q->d[q->head++];
	memset(nla, 0, sizeof(*nla));
	nla->nl_family = AF_NETLINK;
	*buf = d->buf;
	d->buf = NULL;
	return d->len;
}

static struct nl_sock *fake_socket(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cb *cb = nl_socket_get_cb(sk);

	nl_cb_overwrite_send(cb, fake_send);
	nl_cb_overwrite_recv(cb, fake_recv);
	nl_cb_put(cb);
	return sk;
}

static void reset(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.abi = TRIAGE_ABI_VERSION;
	fake.features = TRIAGE_FEAT_CPU_STATS | TRIAGE_FEAT_EVENTS;
	fake.nr_cpus = 3;
}

static void drop_queues(void)
{
	for (int i = 0; i < MAX_DGRAMS; i++) {
		free(fake.to_req.d[i].buf);
		free(fake.to_evt.d[i].buf);
	}
}

TestSuite(kmod_client, .init = reset, .fini = drop_queues);

static struct kmod_client *open_fake(struct kmod_info *info)
{
	char err[256] = "";
	struct kmod_client *c;

	fake.req = fake_socket();
	c = kmod_client_open_on(fake.req, FAMILY, info, err, sizeof(err));
	cr_assert_not_null(c, "open: %s", err);
	return c;
}

Test(kmod_client, version_handshake)
{
	struct kmod_info info;
	struct kmod_client *c = open_fake(&info);

	cr_assert_eq(info.abi_version, TRIAGE_ABI_VERSION);
	cr_assert_eq(info.features, TRIAGE_FEAT_CPU_STATS | TRIAGE_FEAT_EVENTS);
	cr_assert_eq(info.nr_cpus, 3);
	cr_assert_str_eq(info.module_version, "0.0-test");
	cr_assert_str_eq(kmod_client_error(c), "");
	kmod_client_close(c);
}

Test(kmod_client, another_abi_is_refused)
{
	struct kmod_info info;
	char err[256] = "", want[64];

	fake.abi = TRIAGE_ABI_VERSION + 1;
	fake.req = fake_socket();
	cr_assert_null(kmod_client_open_on(fake.req, FAMILY, &info, err, sizeof(err)));
	snprintf(want, sizeof(want), "triage.ko speaks ABI version %u, this agent ABI version %u",
		 TRIAGE_ABI_VERSION + 1, TRIAGE_ABI_VERSION);
	cr_assert(strstr(err, want), "%s", err);
	cr_assert_eq(info.abi_version, TRIAGE_ABI_VERSION + 1);
}

Test(kmod_client, tags_and_the_modules_own_words)
{
	struct triage_tag tag = { .slot = 2, .wl_id = 9 };
	struct kmod_info info;
	struct kmod_client *c = open_fake(&info);

	cr_assert_eq(kmod_tag_tgid(c, 100, &tag, 2000), 0);
	cr_assert_eq(fake.nr_tags, 1);
	cr_assert(fake.tags[0].tgid == 100 && fake.tags[0].slot == 2 && fake.tags[0].wl_id == 9 &&
		  fake.tags[0].threshold == 2000);
	cr_assert_eq(kmod_tag_tgid(c, BAD_TGID, &tag, 0), -ESRCH);
	cr_assert_str_eq(kmod_client_error(c), "no such thread group", "the extended ACK's message");
	cr_assert_eq(kmod_untag_tgid(c, 100), 0, "and the socket is still in step");
	cr_assert_str_eq(kmod_client_error(c), "");
	cr_assert_eq(kmod_untag_tgid(c, 100), -ENOENT);
	cr_assert_str_eq(kmod_client_error(c), strerror(ENOENT), "no extended ACK: the errno's words");
	kmod_client_close(c);
}

Test(kmod_client, cpu_stats_dump)
{
	struct triage_cpu_stats cpus[4];
	struct kmod_info info;
	struct kmod_client *c = open_fake(&info);

	memset(cpus, 0xff, sizeof(cpus));
	cr_assert_eq(kmod_read_cpus(c, cpus, 4), 0);
	for (int cpu = 0; cpu < 3; cpu++) {
		cr_assert_eq(cpus[cpu].busy_ns[0], 1000ull * (cpu + 1));
		cr_assert_eq(cpus[cpu].idle_ns, 7);
	}
	cr_assert_eq(cpus[3].busy_ns[0] + cpus[3].idle_ns, 0, "a CPU the module did not report is zeroed");
	/* Fewer slots than CPUs: the rest is read and dropped. */
	cr_assert_eq(kmod_read_cpus(c, cpus, 2), 0);
	cr_assert_eq(cpus[1].busy_ns[0], 2000);
	kmod_client_close(c);
}

Test(kmod_client, malformed_entry_keeps_the_socket_in_step)
{
	struct triage_cpu_stats cpus[3];
	struct triage_wl_stats ws;
	struct kmod_info info;
	struct kmod_client *c = open_fake(&info);

	fake.bad_cpu_entry = true;
	cr_assert_eq(kmod_read_cpus(c, cpus, 3), -EPROTO);
	cr_assert_str_eq(kmod_client_error(c), "malformed reply from triage.ko");
	cr_assert_eq(kmod_read_workload(c, 5, &ws, NULL), 0, "the next request gets its own answer");
	cr_assert_eq(ws.cpu_ns, 500);
	kmod_client_close(c);
}

Test(kmod_client, workload_counters)
{
	struct triage_wl_stats ws;
	struct kmod_info info;
	struct kmod_client *c = open_fake(&info);
	uint32_t nr_tgids = 0;

	cr_assert_eq(kmod_read_workload(c, 5, &ws, &nr_tgids), 0);
	cr_assert_eq(ws.cpu_ns, 500);
	cr_assert_eq(ws.wait_hist[3], 2);
	cr_assert_eq(ws.slot, 1);
	cr_assert_eq(nr_tgids, 1);
	cr_assert_eq(kmod_read_workload(c, 77, &ws, NULL), -ENOENT);
	cr_assert_eq(kmod_forget_workload(c, 77), 0);
	cr_assert(fake.nr_forgotten == 1 && fake.forgotten[0] == 77);
	kmod_client_close(c);
}

static int collect_wl(uint32_t wl_id, void *ctx)
{
	uint32_t *seen = ctx;

	seen[seen[0] + 1] = wl_id;
	seen[0]++;
	return 0;
}

static int count_tags(const struct kmod_tag *t, void *ctx)
{
	int *n = ctx;

	cr_assert_gt(t->tgid, 0);
	(*n)++;
	return *n == 2; /* stop after two: the rest must still be read */
}

Test(kmod_client, dumps)
{
	struct triage_tag tag = { .slot = 0, .wl_id = 3 };
	struct kmod_info info;
	struct kmod_client *c = open_fake(&info);
	uint32_t seen[4] = { 0 };
	int n = 0;

	cr_assert_eq(kmod_dump_workloads(c, collect_wl, seen), 0);
	cr_assert(seen[0] == 2 && seen[1] == 5 && seen[2] == 6);
	for (pid_t p = 10; p < 13; p++)
		cr_assert_eq(kmod_tag_tgid(c, p, &tag, 0), 0);
	cr_assert_eq(kmod_dump_tags(c, count_tags, &n), 0);
	cr_assert_eq(n, 2, "the walk stopped when asked");
	cr_assert_eq(kmod_untag_tgid(c, 12), 0, "with the dump read to its end");
	fake.dump_fails = true;
	n = 0;
	cr_assert_eq(kmod_dump_tags(c, count_tags, &n), -ENOBUFS, "an error in DONE fails the dump");
	cr_assert_str_eq(kmod_client_error(c), "tag table changed");
	kmod_client_close(c);
}

Test(kmod_client, a_module_that_does_not_answer)
{
	struct triage_cpu_stats cpus[3];
	struct kmod_info info;
	struct kmod_client *c = open_fake(&info);

	fake.silent = true;
	cr_assert_eq(kmod_read_cpus(c, cpus, 3), -ETIMEDOUT);
	cr_assert(strstr(kmod_client_error(c), "did not answer"), "%s", kmod_client_error(c));
	kmod_client_close(c);
}

static struct nl_msg *event(uint8_t cmd, int family)
{
	struct nl_msg *msg = nlmsg_alloc();

	genlmsg_put(msg, 0, 0, family, 0, 0, cmd, TRIAGE_GENL_VERSION);
	nla_put_u32(msg, TRIAGE_ATTR_TGID, 321);
	nla_put_u32(msg, TRIAGE_ATTR_WL_ID, 5);
	if (cmd == TRIAGE_CMD_WAIT_EXCEEDED) {
		nla_put_u32(msg, TRIAGE_ATTR_TID, 322);
		nla_put_u64(msg, TRIAGE_ATTR_WAIT_NS, 9000000);
		nla_put_u32(msg, TRIAGE_ATTR_WAIT_THRESHOLD_US, 2000);
		nla_put_u32(msg, TRIAGE_ATTR_SUPPRESSED, 3);
	}
	return msg;
}

static void record_event(const struct kmod_event *ev, void *ctx)
{
	struct kmod_event *log = ctx;

	while (log->cmd)
		log++;
	*log = *ev;
}

Test(kmod_client, events)
{
	struct kmod_event got[8];
	struct kmod_info info;
	struct kmod_client *c = open_fake(&info);
	struct nl_msg *batch[3];

	cr_assert_eq(kmod_event_fd(c), -1, "not subscribed yet");
	fake.evt = fake_socket();
	cr_assert_eq(kmod_client_subscribe_on(c, fake.evt), 0);
	memset(got, 0, sizeof(got));
	cr_assert_eq(kmod_read_events(c, record_event, got), 0, "nothing pending");

	batch[0] = event(TRIAGE_CMD_WAIT_EXCEEDED, FAMILY);
	batch[1] = event(TRIAGE_CMD_GET_TAGS, FAMILY);   /* not a notification */
	batch[2] = event(TRIAGE_CMD_TASK_EXIT, FAMILY + 1); /* another family's */
	push(&fake.to_evt, batch, 3);
	push_one(&fake.to_evt, event(TRIAGE_CMD_TASK_EXIT, FAMILY));
	cr_assert_eq(kmod_read_events(c, record_event, got), 2);
	cr_assert_eq(got[0].cmd, TRIAGE_CMD_WAIT_EXCEEDED);
	cr_assert(got[0].tgid == 321 && got[0].tid == 322 && got[0].wl_id == 5 &&
		  got[0].wait_ns == 9000000 && got[0].wait_threshold_us == 2000 && got[0].suppressed == 3);
	cr_assert_eq(got[1].cmd, TRIAGE_CMD_TASK_EXIT);
	cr_assert_eq(got[2].cmd, 0);

	/* An overrun: what came after it is still read, and the loss said. */
	memset(got, 0, sizeof(got));
	fake.evt_recv_error = -NLE_NOMEM;
	push_one(&fake.to_evt, event(TRIAGE_CMD_TASK_EXIT, FAMILY));
	cr_assert_eq(kmod_read_events(c, record_event, got), -ENOBUFS);
	cr_assert_eq(got[0].cmd, TRIAGE_CMD_TASK_EXIT);
	kmod_client_close(c);
}

static cpu_set_t cpus(int a, int b)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(a, &set);
	if (b >= 0)
		CPU_SET(b, &set);
	return set;
}

Test(kmod_client, affinity_requests)
{
	struct kmod_info info;
	struct kmod_client *c;
	cpu_set_t set;

	fake.nr_cpus = 16;
	c = open_fake(&info);
	set = cpus(1, 9);
	cr_assert_eq(kmod_set_affinity(c, 200, &set, 0), 0, "%s", kmod_client_error(c));
	cr_assert_eq(fake.nr_aff, 1);
	cr_assert_eq(fake.aff[0].tgid, 200);
	cr_assert_eq(fake.aff[0].mask_len, 2, "as many bytes as CPU 9 needs");
	cr_assert(fake.aff[0].mask[0] == 0x02 && fake.aff[0].mask[1] == 0x02,
		  "bit i of byte i/8: %02x %02x", fake.aff[0].mask[0], fake.aff[0].mask[1]);
	cr_assert_eq(fake.aff[0].flags, 0, "sticky: no FLAGS");

	set = cpus(0, -1);
	cr_assert_eq(kmod_set_affinity(c, 200, &set, TRIAGE_AFFINITY_F_ONCE), 0);
	cr_assert(fake.nr_aff == 1 && fake.aff[0].mask_len == 1 && fake.aff[0].mask[0] == 0x01);
	cr_assert_eq(fake.aff[0].flags, TRIAGE_AFFINITY_F_ONCE);

	cr_assert_eq(kmod_reset_affinity(c, 200), 0);
	cr_assert(fake.nr_resets == 1 && fake.resets[0] == 200 && fake.nr_aff == 0);
	cr_assert_eq(kmod_reset_affinity(c, 200), -ENOENT);
	cr_assert_str_eq(kmod_client_error(c), "no affinity policy for this thread group");
	kmod_client_close(c);
}

Test(kmod_client, affinity_refusals_in_the_modules_words)
{
	struct kmod_info info;
	struct kmod_client *c = open_fake(&info); /* 3 CPUs */
	cpu_set_t set = cpus(0, -1);
	int sent;

	cr_assert_eq(kmod_set_affinity(c, BAD_TGID, &set, 0), -ESRCH);
	cr_assert_str_eq(kmod_client_error(c), "no such thread group");
	set = cpus(5, -1);
	cr_assert_eq(kmod_set_affinity(c, 200, &set, 0), -EINVAL);
	cr_assert_str_eq(kmod_client_error(c), "TRIAGE_ATTR_CPUMASK: CPU beyond the possible ones");

	/* Masks the attribute cannot carry never leave the agent. */
	sent = fake.requests;
	CPU_ZERO(&set);
	cr_assert_eq(kmod_set_affinity(c, 200, &set, 0), -EINVAL);
	cr_assert_str_eq(kmod_client_error(c), "empty CPU mask");
	set = cpus(0, TRIAGE_MAX_CPUS);
	cr_assert_eq(kmod_set_affinity(c, 200, &set, 0), -EINVAL);
	cr_assert(strstr(kmod_client_error(c), "past the"), "%s", kmod_client_error(c));
	cr_assert_eq(fake.requests, sent, "no request for a mask refused here");

	set = cpus(2, -1);
	cr_assert_eq(kmod_set_affinity(c, 200, &set, 0), 0, "and the socket is still in step");
	cr_assert_str_eq(kmod_client_error(c), "");
	kmod_client_close(c);
}

/* A tgid kill() cannot find: above any pid_max (2^22). */
#define GONE_TGID (1 << 23)

Test(kmod_client, affinity_over_the_module)
{
	struct kmod_info info;
	struct affinity *af = affinity_open_on(open_fake(&info), NULL);
	cpu_set_t one = cpus(1, -1), two = cpus(0, 2);

	cr_assert_str_eq(affinity_mode(af), "triage.ko sticky");
	cr_assert_eq(affinity_set_process(af, 300, &one), 0);
	cr_assert_eq(affinity_set_process(af, 301, &two), 0);
	cr_assert_eq(affinity_set_process(af, 300, &two), 0, "a new mask for a pinned process");
	cr_assert_eq(affinity_set_process(af, GONE_TGID, &one), 0);
	cr_assert_eq(fake.nr_aff, 3);
	cr_assert(fake.aff[0].tgid == 300 && fake.aff[0].mask[0] == 0x05 && fake.aff[0].flags == 0,
		  "sticky, and the last mask counts");
	cr_assert_eq(affinity_set_process(af, BAD_TGID, &one), -ESRCH);

	cr_assert_eq(affinity_forget_process(af, 301), 0);
	cr_assert(fake.nr_resets == 1 && fake.resets[0] == 301);
	cr_assert_eq(affinity_forget_process(af, 301), -ENOENT, "forgotten already");
	cr_assert_eq(affinity_forget_process(af, BAD_TGID), -ENOENT, "never pinned");
	cr_assert_eq(fake.nr_resets, 1, "neither asked the module");

	/* The group exited: the module dropped its policy by itself. */
	for (int i = 0; i < fake.nr_aff; i++)
		if (fake.aff[i].tgid == GONE_TGID)
			fake.aff[i] = fake.aff[--fake.nr_aff];
	cr_assert_eq(affinity_forget_process(af, GONE_TGID), -ESRCH);

	cr_assert_eq(affinity_set_process(af, 302, &one), 0);
	affinity_close(af);
	cr_assert_eq(fake.nr_resets, 3, "close resets every process still pinned, once");
	cr_assert(fake.resets[1] + fake.resets[2] == 300 + 302 && fake.resets[1] != fake.resets[2]);
	cr_assert_eq(fake.nr_aff, 0);
}
