// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * In-VM robustness test of triage.ko's generic-netlink family, as root:
 * first a table of malformed requests, each of which must be refused with
 * its errno (wrong attribute lengths, missing or out-of-range attributes,
 * unknown flags, attributes of another operation, unknown commands,
 * trailing bytes); then random requests (random commands, attribute
 * types, lengths, values, nested garbage and raw bytes) that must each
 * get an error or a well-formed reply, bounded by count and time:
 *
 *   genl_fuzz [--fuzz N] [--seconds S] [--seed X]   (default 100000, 30 s)
 *
 * One line per malformed case and one for the fuzzing; exit 1 if any
 * failed. Random SET_AFFINITY and SCHED_GUARD requests may hit real
 * processes: the socket's close restores their masks and turns their
 * real-time threads, if any, SCHED_OTHER (the module's fail-safe; kernel
 * threads are refused).
 */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "genl_util.h"
#include "numparse.h"

static struct tnl nl;
static uint32_t victim; /* a sleeping child: a tgid that exists */

/* ---- malformed requests ---- */

struct bad_case {
	const char *name;
	int cmd;
	int nlm_flags;
	void (*build)(struct nl_msg *m);
	int want;            /* -errno */
	const char *ext;     /* expected in the extended ACK, or NULL */
};

static void put_valid_tag(struct nl_msg *m, uint32_t tgid, uint32_t slot, uint32_t wl)
{
	nla_put_u32(m, TRIAGE_ATTR_TGID, tgid);
	nla_put_u32(m, TRIAGE_ATTR_SLOT, slot);
	nla_put_u32(m, TRIAGE_ATTR_WL_ID, wl);
}

static void b_tgid_u16(struct nl_msg *m)
{
	uint16_t v = 1;

	nla_put(m, TRIAGE_ATTR_TGID, sizeof(v), &v);
	nla_put_u32(m, TRIAGE_ATTR_SLOT, 0);
	nla_put_u32(m, TRIAGE_ATTR_WL_ID, 1);
}

static void b_tgid_u64(struct nl_msg *m)
{
	nla_put_u64(m, TRIAGE_ATTR_TGID, victim);
	nla_put_u32(m, TRIAGE_ATTR_SLOT, 0);
	nla_put_u32(m, TRIAGE_ATTR_WL_ID, 1);
}

static void b_no_wl_id(struct nl_msg *m)
{
	nla_put_u32(m, TRIAGE_ATTR_TGID, victim);
	nla_put_u32(m, TRIAGE_ATTR_SLOT, 0);
}

static void b_nothing(struct nl_msg *m)
{
	(void)m;
}

static void b_slot_8(struct nl_msg *m)
{
	put_valid_tag(m, victim, TRIAGE_MAX_LEVELS, 1);
}

static void b_tgid_0(struct nl_msg *m)
{
	put_valid_tag(m, 0, 0, 1);
}

static void b_wl_id_0(struct nl_msg *m)
{
	put_valid_tag(m, victim, 0, 0);
}

static void b_threshold_u8(struct nl_msg *m)
{
	put_valid_tag(m, victim, 0, 1);
	nla_put_u8(m, TRIAGE_ATTR_WAIT_THRESHOLD_US, 1);
}

static void b_mask_33(struct nl_msg *m)
{
	uint8_t mask[TRIAGE_CPUMASK_MAX + 1] = { 1 };

	nla_put_u32(m, TRIAGE_ATTR_TGID, victim);
	nla_put(m, TRIAGE_ATTR_CPUMASK, sizeof(mask), mask);
}

static void b_mask_empty(struct nl_msg *m)
{
	nla_put_u32(m, TRIAGE_ATTR_TGID, victim);
	nla_put(m, TRIAGE_ATTR_CPUMASK, 0, NULL);
}

static void b_mask_no_cpu(struct nl_msg *m)
{
	uint8_t mask = 0;

	nla_put_u32(m, TRIAGE_ATTR_TGID, victim);
	nla_put(m, TRIAGE_ATTR_CPUMASK, 1, &mask);
}

static void b_tag_flag(struct nl_msg *m)
{
	put_valid_tag(m, victim, 0, 1);
	nla_put_u32(m, TRIAGE_ATTR_FLAGS, 1);
}

static void b_affinity_flag(struct nl_msg *m)
{
	uint8_t mask = 1;

	nla_put_u32(m, TRIAGE_ATTR_TGID, victim);
	nla_put(m, TRIAGE_ATTR_CPUMASK, 1, &mask);
	nla_put_u32(m, TRIAGE_ATTR_FLAGS, TRIAGE_AFFINITY_FLAGS_ALL + 1);
}

static void b_flag_1(struct nl_msg *m)
{
	nla_put_u32(m, TRIAGE_ATTR_FLAGS, 1u << 31);
}

static void b_unknown_attr(struct nl_msg *m)
{
	nla_put_u32(m, TRIAGE_ATTR_MAX + 1, 0);
}

static void b_other_ops_attr(struct nl_msg *m)
{
	uint8_t mask = 1;

	put_valid_tag(m, victim, 0, 1);
	nla_put(m, TRIAGE_ATTR_CPUMASK, 1, &mask);
}

static void b_nested_u32(struct nl_msg *m)
{
	uint32_t v = victim;

	nla_put(m, TRIAGE_ATTR_TGID | NLA_F_NESTED, sizeof(v), &v);
}

static void b_trailing(struct nl_msg *m)
{
	static const char junk[3] = { 1, 2, 3 };

	nla_put_u32(m, TRIAGE_ATTR_TGID, victim);
	nlmsg_append(m, (void *)junk, sizeof(junk), 0);
}

static void b_unknown_wl(struct nl_msg *m)
{
	nla_put_u32(m, TRIAGE_ATTR_WL_ID, 0x7fffff01);
}

static void b_only_tgid_0(struct nl_msg *m)
{
	nla_put_u32(m, TRIAGE_ATTR_TGID, 0);
}

static void b_tgid_flag(struct nl_msg *m)
{
	nla_put_u32(m, TRIAGE_ATTR_TGID, victim);
	nla_put_u32(m, TRIAGE_ATTR_FLAGS, 1);
}

static void b_tgid_mask(struct nl_msg *m)
{
	uint8_t mask = 1;

	nla_put_u32(m, TRIAGE_ATTR_TGID, victim);
	nla_put(m, TRIAGE_ATTR_CPUMASK, 1, &mask);
}

static const struct bad_case bad_cases[] = {
	{ "TAG with TGID as u16", TRIAGE_CMD_TAG, 0, b_tgid_u16, -EINVAL, NULL },
	{ "TAG with TGID as u64", TRIAGE_CMD_TAG, 0, b_tgid_u64, -EINVAL, NULL },
	{ "TAG with WAIT_THRESHOLD_US as u8", TRIAGE_CMD_TAG, 0, b_threshold_u8, -EINVAL, NULL },
	{ "TAG without WL_ID", TRIAGE_CMD_TAG, 0, b_no_wl_id, -EINVAL, "missing" },
	{ "UNTAG without TGID", TRIAGE_CMD_UNTAG, 0, b_nothing, -EINVAL, "missing" },
	{ "GET_WL_STATS without WL_ID", TRIAGE_CMD_GET_WL_STATS, 0, b_nothing, -EINVAL, "missing" },
	{ "TAG with slot 8", TRIAGE_CMD_TAG, 0, b_slot_8, -ERANGE, NULL },
	{ "TAG with tgid 0", TRIAGE_CMD_TAG, 0, b_tgid_0, -ERANGE, NULL },
	{ "TAG with wl_id 0", TRIAGE_CMD_TAG, 0, b_wl_id_0, -ERANGE, NULL },
	{ "SET_AFFINITY with a 33-byte CPUMASK", TRIAGE_CMD_SET_AFFINITY, 0, b_mask_33, -ERANGE, NULL },
	{ "SET_AFFINITY with an empty CPUMASK", TRIAGE_CMD_SET_AFFINITY, 0, b_mask_empty, -ERANGE, NULL },
	{ "SET_AFFINITY with no CPU in CPUMASK", TRIAGE_CMD_SET_AFFINITY, 0, b_mask_no_cpu, -EINVAL,
	  "no online CPU" },
	{ "TAG with a FLAGS bit", TRIAGE_CMD_TAG, 0, b_tag_flag, -EOPNOTSUPP, "FLAGS" },
	{ "SET_AFFINITY with an unknown FLAGS bit", TRIAGE_CMD_SET_AFFINITY, 0, b_affinity_flag,
	  -EOPNOTSUPP, "FLAGS" },
	{ "GET_VERSION with a FLAGS bit", TRIAGE_CMD_GET_VERSION, 0, b_flag_1, -EOPNOTSUPP, "FLAGS" },
	/* Kernels before 6.5 drop the extended ACK of a dump's start. */
	{ "GET_TAGS dump with a FLAGS bit", TRIAGE_CMD_GET_TAGS, NLM_F_DUMP, b_flag_1, -EOPNOTSUPP,
	  NULL },
	{ "GET_VERSION with an unknown attribute", TRIAGE_CMD_GET_VERSION, 0, b_unknown_attr, -EINVAL,
	  NULL },
	{ "TAG with another operation's attribute", TRIAGE_CMD_TAG, 0, b_other_ops_attr, -EINVAL,
	  NULL },
	{ "UNTAG with NLA_F_NESTED on a u32", TRIAGE_CMD_UNTAG, 0, b_nested_u32, -EINVAL, NULL },
	{ "UNTAG with trailing bytes", TRIAGE_CMD_UNTAG, 0, b_trailing, -EINVAL, NULL },
	{ "GET_WL_STATS of an unknown workload", TRIAGE_CMD_GET_WL_STATS, 0, b_unknown_wl, -ENOENT,
	  "unknown workload" },
	{ "GET_CPU_STATS without NLM_F_DUMP", TRIAGE_CMD_GET_CPU_STATS, 0, b_nothing, -EOPNOTSUPP,
	  NULL },
	{ "GET_VERSION as a dump", TRIAGE_CMD_GET_VERSION, NLM_F_DUMP, b_nothing, -EOPNOTSUPP, NULL },
	{ "command 0", TRIAGE_CMD_UNSPEC, 0, b_nothing, -EOPNOTSUPP, NULL },
	{ "notification WAIT_EXCEEDED as a request", TRIAGE_CMD_WAIT_EXCEEDED, 0, b_nothing,
	  -EOPNOTSUPP, NULL },
	{ "notification TASK_EXIT as a request", TRIAGE_CMD_TASK_EXIT, 0, b_nothing, -EOPNOTSUPP,
	  NULL },
	{ "SCHED_GUARD without TGID", TRIAGE_CMD_SCHED_GUARD, 0, b_nothing, -EINVAL, "missing" },
	{ "SCHED_UNGUARD without TGID", TRIAGE_CMD_SCHED_UNGUARD, 0, b_nothing, -EINVAL, "missing" },
	{ "SCHED_GUARD with tgid 0", TRIAGE_CMD_SCHED_GUARD, 0, b_only_tgid_0, -ERANGE, NULL },
	{ "SCHED_GUARD with a FLAGS bit", TRIAGE_CMD_SCHED_GUARD, 0, b_tgid_flag, -EOPNOTSUPP,
	  "FLAGS" },
	{ "SCHED_UNGUARD with another operation's attribute", TRIAGE_CMD_SCHED_UNGUARD, 0,
	  b_tgid_mask, -EINVAL, NULL },
	{ "SCHED_GUARD as a dump", TRIAGE_CMD_SCHED_GUARD, NLM_F_DUMP, b_tgid_flag, -EOPNOTSUPP,
	  NULL },
	{ "unknown command", TRIAGE_CMD_MAX + 1, 0, b_nothing, -EOPNOTSUPP, NULL },
};

static void test_malformed(void)
{
	struct tnl_call c;
	char name[160];
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *b = &bad_cases[i];
		struct nl_msg *m = tnl_msg(&nl, b->cmd, b->nlm_flags);
		int err;

		b->build(m);
		err = tnl_call(&nl, m, NULL, NULL, &c);
		snprintf(name, sizeof(name), "malformed: %s -> %s", b->name, strerror(-b->want));
		if (err != b->want)
			tap_fail(name, "got %d (%s), want %d", err, c.ext, b->want);
		else if (b->ext && !strstr(c.ext, b->ext))
			tap_fail(name, "extended ACK \"%s\" lacks \"%s\"", c.ext, b->ext);
		else
			tap_ok(name);
	}
}

/* ---- random requests ---- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

static uint32_t rnd_u32(void)
{
	static const uint32_t edge[] = { 0, 1, 2, 7, 8, 9, 0x7fffffff, 0x80000000, 0xffffffff };

	switch (rnd() % 4) {
	case 0:
		return victim;
	case 1:
		return edge[rnd() % (sizeof(edge) / sizeof(edge[0]))];
	default:
		return rnd();
	}
}

static int rnd_len(void)
{
	static const int lens[] = { 0, 1, 2, 3, 4, 5, 7, 8, 12, 16, 31, 32, 33, 64, 319, 320, 321,
				    375, 376, 377, 512 };

	return lens[rnd() % (sizeof(lens) / sizeof(lens[0]))];
}

static void put_random_attrs(struct nl_msg *m, int depth)
{
	int n = rnd() % 6, i, j, len, type;
	uint8_t buf[512];
	struct nlattr *nest;

	for (i = 0; i < n; i++) {
		type = rnd() % (TRIAGE_ATTR_MAX + 4);
		switch (rnd() % 5) {
		case 0:
			nla_put_u32(m, type, rnd_u32());
			break;
		case 1:
			nla_put_u64(m, type, ((uint64_t)rnd() << 32) | rnd_u32());
			break;
		case 2:
			if (depth < 2) {
				nest = nla_nest_start(m, type | (rnd() % 2 ? NLA_F_NESTED : 0));
				put_random_attrs(m, depth + 1);
				nla_nest_end(m, nest);
				break;
			}
			/* fall through */
		default:
			len = rnd_len();
			for (j = 0; j < len; j++)
				buf[j] = rnd() % 3 ? rnd() : 0;
			nla_put(m, type | (rnd() % 10 ? 0 : NLA_F_NESTED), len, buf);
			break;
		}
	}
}

static struct nl_msg *random_request(void)
{
	int cmd = rnd() % (TRIAGE_CMD_MAX + 3);
	struct nl_msg *m = tnl_msg(&nl, cmd, rnd() % 4 ? 0 : NLM_F_DUMP);
	uint8_t raw[128];
	int len, i;

	if (rnd() % 8) {
		put_random_attrs(m, 0);
		return m;
	}
	/* Raw bytes: broken attribute headers, lengths past the end. */
	len = rnd() % sizeof(raw);
	for (i = 0; i < len; i++)
		raw[i] = rnd() % 2 ? rnd() : (uint32_t)(i % 4 == 0 ? len - i : 0);
	nlmsg_append(m, raw, len, 0);
	return m;
}

/* A reply must be one of ours; nla_parse in tnl_call checked its form. */
static int reply_check(struct nlattr **tb, int cmd, void *arg)
{
	(void)tb;
	++*(long *)arg;
	return cmd >= TRIAGE_CMD_GET_VERSION && cmd <= TRIAGE_CMD_GET_GPU_STATS ? 0 : -1;
}

static void test_fuzz(long count, long seconds)
{
	long i, errors = 0, replies = 0, start = time(NULL);
	struct timeval tv = { .tv_sec = 5 };
	struct tnl_call c;
	int err;

	/* A lost answer must fail the test, not hang it. */
	setsockopt(nl_socket_get_fd(nl.sk), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (i = 0; i < count && time(NULL) - start < seconds; i++) {
		err = tnl_call(&nl, random_request(), reply_check, &replies, &c);
		if (err == -EIO || err == -EBADMSG) {
			tap_fail("fuzz", "message %ld: %s", i,
				 err == -EIO ? "no answer" : "malformed or foreign reply");
			return;
		}
		errors += err < 0;
	}
	err = tnl_call(&nl, tnl_msg(&nl, TRIAGE_CMD_GET_VERSION, 0), NULL, NULL, &c);
	if (err)
		return tap_fail("fuzz", "GET_VERSION after %ld messages: %d", i, err);
	printf("# fuzz: %ld messages in %ld s, %ld errors, %ld reply messages\n", i,
	       (long)time(NULL) - start, errors, replies);
	printf("ok - kmod: fuzz %ld messages\n", i);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "fuzz", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	long count = 100000, seconds = 30;
	char why[200];
	pid_t child;
	int o;

	rng_state = (uint64_t)time(NULL) * 2654435761u | 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'n')
			count = opt_long("--fuzz", optarg, 1, LONG_MAX);
		else if (o == 's')
			seconds = opt_long("--seconds", optarg, 1, LONG_MAX);
		else if (o == 'r')
			rng_state = opt_u64("--seed", optarg, 0, UINT64_MAX) | 1;
		else
			return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		tap_skip("genl_fuzz", "needs root");
		return 0;
	}
	if (tnl_open(&nl, why, sizeof(why))) {
		tap_fail("genl_fuzz", "%s", why);
		return 1;
	}
	printf("# seed 0x%llx\n", (unsigned long long)rng_state);
	child = fork();
	if (child == 0) {
		for (;;)
			pause();
	}
	victim = child;
	test_malformed();
	test_fuzz(count, seconds);
	tnl_close(&nl);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return tap_failures ? 1 : 0;
}
