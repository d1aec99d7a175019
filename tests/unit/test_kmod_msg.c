// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The "triage" generic-netlink messages without triage.ko: requests are
 * built and read back attribute by attribute; replies, dump entries and
 * events are built the way the module sends them (libnl's message API)
 * and go through the agent's parsers; a module of another ABI version is
 * refused by name; extended ACKs, capped or not, give up their message.
 * On a host without the module, opening the client must say it is not
 * loaded. No root needed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <netlink/attr.h>

#include "kmod/kmod_client.h"
#include "kmod/kmod_msg.h"
#include "sensors/sensors.h"

#define FAMILY 0x1d /* any id: no socket is involved */

static struct nl_msg *reply(uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	cr_assert_not_null(msg);
	cr_assert_not_null(genlmsg_put(msg, 0, 1, FAMILY, 0, NLM_F_MULTI, cmd, TRIAGE_GENL_VERSION));
	return msg;
}

Test(kmod_msg, tag_request_carries_every_attribute)
{
	struct triage_tag tag = { .slot = 3, .wl_id = 77 };
	struct nl_msg *msg = kmod_msg_new(FAMILY, TRIAGE_CMD_TAG, 0);
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *g = nlmsg_data(nlh);
	struct nlattr *tb[TRIAGE_ATTR_MAX + 1];

	cr_assert_eq(kmod_msg_put_tag(msg, 4321, &tag, 2000), 0);
	cr_assert_eq(nlh->nlmsg_type, FAMILY);
	cr_assert_eq(g->cmd, TRIAGE_CMD_TAG);
	cr_assert_eq(g->version, TRIAGE_GENL_VERSION);
	cr_assert_eq(genlmsg_parse(nlh, 0, tb, TRIAGE_ATTR_MAX, NULL), 0);
	cr_assert_eq(nla_get_u32(tb[TRIAGE_ATTR_TGID]), 4321);
	cr_assert_eq(nla_get_u32(tb[TRIAGE_ATTR_SLOT]), 3);
	cr_assert_eq(nla_get_u32(tb[TRIAGE_ATTR_WL_ID]), 77);
	cr_assert_eq(nla_get_u32(tb[TRIAGE_ATTR_WAIT_THRESHOLD_US]), 2000);
	cr_assert_null(tb[TRIAGE_ATTR_FLAGS], "TAG knows no flag: none sent");
	nlmsg_free(msg);
}

Test(kmod_msg, dump_request_is_a_dump)
{
	struct nl_msg *msg = kmod_msg_new(FAMILY, TRIAGE_CMD_GET_CPU_STATS, NLM_F_DUMP);

	cr_assert_eq(nlmsg_hdr(msg)->nlmsg_flags & NLM_F_DUMP, NLM_F_DUMP);
	cr_assert_eq(genlmsg_attrlen(nlmsg_data(nlmsg_hdr(msg)), 0), 0, "no attribute");
	nlmsg_free(msg);
}

Test(kmod_msg, cpumask_is_bit_i_of_byte_i_over_8)
{
	struct nlattr *tb[TRIAGE_ATTR_MAX + 1];
	struct nl_msg *msg = kmod_msg_new(FAMILY, TRIAGE_CMD_SET_AFFINITY, 0);
	const uint8_t *b;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	CPU_SET(3, &set);
	CPU_SET(17, &set);
	cr_assert_eq(kmod_msg_put_cpumask(msg, &set), 0);
	cr_assert_eq(genlmsg_parse(nlmsg_hdr(msg), 0, tb, TRIAGE_ATTR_MAX, NULL), 0);
	cr_assert_eq(nla_len(tb[TRIAGE_ATTR_CPUMASK]), 3, "no byte past CPU 17's");
	b = nla_data(tb[TRIAGE_ATTR_CPUMASK]);
	cr_assert(b[0] == 0x09 && b[1] == 0x00 && b[2] == 0x02, "%02x %02x %02x", b[0], b[1], b[2]);
	nlmsg_free(msg);

	msg = kmod_msg_new(FAMILY, TRIAGE_CMD_SET_AFFINITY, 0);
	CPU_ZERO(&set);
	CPU_SET(TRIAGE_MAX_CPUS - 1, &set);
	cr_assert_eq(kmod_msg_put_cpumask(msg, &set), 0);
	cr_assert_eq(genlmsg_parse(nlmsg_hdr(msg), 0, tb, TRIAGE_ATTR_MAX, NULL), 0);
	cr_assert_eq(nla_len(tb[TRIAGE_ATTR_CPUMASK]), TRIAGE_CPUMASK_MAX);
	cr_assert_eq(((const uint8_t *)nla_data(tb[TRIAGE_ATTR_CPUMASK]))[TRIAGE_CPUMASK_MAX - 1], 0x80);
	CPU_SET(TRIAGE_MAX_CPUS, &set);
	cr_assert_eq(kmod_msg_put_cpumask(msg, &set), -NLE_INVAL, "a CPU the attribute cannot carry");
	CPU_ZERO(&set);
	cr_assert_eq(kmod_msg_put_cpumask(msg, &set), -NLE_INVAL, "an empty mask");
	nlmsg_free(msg);
}

Test(kmod_msg, version_reply)
{
	struct nl_msg *msg = reply(TRIAGE_CMD_GET_VERSION);
	struct kmod_info info;
	char err[256] = "";

	nla_put_u32(msg, TRIAGE_ATTR_ABI_VERSION, TRIAGE_ABI_VERSION);
	nla_put_u32(msg, TRIAGE_ATTR_FEATURES, TRIAGE_FEAT_CPU_STATS | TRIAGE_FEAT_EVENTS);
	nla_put_u32(msg, TRIAGE_ATTR_NR_CPUS, 12);
	nla_put_string(msg, TRIAGE_ATTR_MODULE_VERSION, "0.3.1");
	cr_assert_eq(kmod_parse_version(nlmsg_hdr(msg), &info, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(info.abi_version, TRIAGE_ABI_VERSION);
	cr_assert_eq(info.features, TRIAGE_FEAT_CPU_STATS | TRIAGE_FEAT_EVENTS);
	cr_assert_eq(info.nr_cpus, 12);
	cr_assert_str_eq(info.module_version, "0.3.1");
	nlmsg_free(msg);
}

Test(kmod_msg, another_abi_is_refused_naming_both)
{
	struct nl_msg *msg = reply(TRIAGE_CMD_GET_VERSION);
	struct kmod_info info;
	char err[256] = "", want[64];

	nla_put_u32(msg, TRIAGE_ATTR_ABI_VERSION, TRIAGE_ABI_VERSION + 1);
	nla_put_u32(msg, TRIAGE_ATTR_FEATURES, TRIAGE_FEAT_CPU_STATS);
	cr_assert_eq(kmod_parse_version(nlmsg_hdr(msg), &info, err, sizeof(err)), -EPROTO);
	cr_assert_eq(info.abi_version, TRIAGE_ABI_VERSION + 1, "what the module said is kept");
	snprintf(want, sizeof(want), "ABI version %u", TRIAGE_ABI_VERSION + 1);
	cr_assert(strstr(err, want), "%s", err);
	snprintf(want, sizeof(want), "agent ABI version %u", TRIAGE_ABI_VERSION);
	cr_assert(strstr(err, want), "%s", err);
	cr_assert(strstr(err, "refusing"), "%s", err);
	cr_assert_eq(kmod_abi_check(TRIAGE_ABI_VERSION, err, sizeof(err)), 0);
	nlmsg_free(msg);
}

Test(kmod_msg, version_reply_without_abi_is_malformed)
{
	struct nl_msg *msg = reply(TRIAGE_CMD_GET_VERSION);
	struct kmod_info info;
	char err[256] = "";

	nla_put_u32(msg, TRIAGE_ATTR_FEATURES, TRIAGE_FEAT_CPU_STATS);
	cr_assert_eq(kmod_parse_version(nlmsg_hdr(msg), &info, err, sizeof(err)), -EPROTO);
	cr_assert(strstr(err, "without an ABI version"), "%s", err);
	nlmsg_free(msg);
}

Test(kmod_msg, cpu_stats_entry)
{
	struct triage_cpu_stats sent, got;
	struct nl_msg *msg = reply(TRIAGE_CMD_GET_CPU_STATS);
	uint32_t cpu = 0;

	memset(&sent, 0, sizeof(sent));
	sent.busy_ns[0] = 123;
	sent.intf_count[3] = 9;
	sent.idle_ns = 1ull << 40;
	sent.nr_switches = 77;
	nla_put_u32(msg, TRIAGE_ATTR_CPU, 5);
	nla_put(msg, TRIAGE_ATTR_CPU_STATS, sizeof(sent), &sent);
	cr_assert_eq(kmod_parse_cpu_stats(nlmsg_hdr(msg), &cpu, &got), 0);
	cr_assert_eq(cpu, 5);
	cr_assert_eq(memcmp(&sent, &got, sizeof(sent)), 0);
	nlmsg_free(msg);

	/* A struct of another size is another ABI: never half-read. */
	msg = reply(TRIAGE_CMD_GET_CPU_STATS);
	nla_put_u32(msg, TRIAGE_ATTR_CPU, 5);
	nla_put(msg, TRIAGE_ATTR_CPU_STATS, sizeof(sent) - 8, &sent);
	cr_assert_eq(kmod_parse_cpu_stats(nlmsg_hdr(msg), &cpu, &got), -EPROTO);
	nlmsg_free(msg);
}

Test(kmod_msg, wl_stats_entry)
{
	struct triage_wl_stats sent, got;
	struct nl_msg *msg = reply(TRIAGE_CMD_GET_WL_STATS);
	uint32_t wl_id = 0, nr_tgids = 0;

	memset(&sent, 0, sizeof(sent));
	sent.cpu_ns = 42;
	sent.wait_hist[11] = 359;
	sent.slot = 3;
	nla_put_u32(msg, TRIAGE_ATTR_WL_ID, 9);
	nla_put_u32(msg, TRIAGE_ATTR_NR_TGIDS, 2);
	nla_put(msg, TRIAGE_ATTR_WL_STATS, sizeof(sent), &sent);
	cr_assert_eq(kmod_parse_wl_stats(nlmsg_hdr(msg), &wl_id, &nr_tgids, &got), 0);
	cr_assert_eq(wl_id, 9);
	cr_assert_eq(nr_tgids, 2);
	cr_assert_eq(memcmp(&sent, &got, sizeof(sent)), 0);
	nlmsg_free(msg);

	msg = reply(TRIAGE_CMD_GET_WL_STATS);
	nla_put(msg, TRIAGE_ATTR_WL_STATS, sizeof(sent), &sent);
	cr_assert_eq(kmod_parse_wl_stats(nlmsg_hdr(msg), &wl_id, &nr_tgids, &got), -EPROTO,
		     "no WL_ID");
	nlmsg_free(msg);
}

Test(kmod_msg, gpu_stats_reply)
{
	struct nl_msg *msg = reply(TRIAGE_CMD_GET_GPU_STATS);
	struct kmod_gpu g;

	nla_put_string(msg, TRIAGE_ATTR_GPU_NAME, "ga10b");
	nla_put_u32(msg, TRIAGE_ATTR_GPU_LOAD, 455);
	nla_put_u64(msg, TRIAGE_ATTR_GPU_CUR_FREQ, 612000000ull);
	nla_put_u64(msg, TRIAGE_ATTR_GPU_MIN_FREQ, 306000000ull);
	nla_put_u64(msg, TRIAGE_ATTR_GPU_MAX_FREQ, 1300500000ull);
	cr_assert_eq(kmod_parse_gpu(nlmsg_hdr(msg), &g), 0);
	cr_assert_str_eq(g.name, "ga10b");
	cr_assert_eq(g.load_permille, 455);
	cr_assert_eq(g.cur_hz, 612000000ull);
	cr_assert_eq(g.min_hz, 306000000ull);
	cr_assert_eq(g.max_hz, 1300500000ull);
	nlmsg_free(msg);

	msg = reply(TRIAGE_CMD_GET_GPU_STATS);
	nla_put_string(msg, TRIAGE_ATTR_GPU_NAME, "ga10b");
	cr_assert_eq(kmod_parse_gpu(nlmsg_hdr(msg), &g), -EPROTO, "no load: malformed");
	nlmsg_free(msg);
}

Test(kmod_msg, tag_entry)
{
	struct nl_msg *msg = reply(TRIAGE_CMD_GET_TAGS);
	struct kmod_tag t;

	nla_put_u32(msg, TRIAGE_ATTR_TGID, 1234);
	nla_put_u32(msg, TRIAGE_ATTR_SLOT, 1);
	nla_put_u32(msg, TRIAGE_ATTR_WL_ID, 5);
	nla_put_u32(msg, TRIAGE_ATTR_WAIT_THRESHOLD_US, 500);
	cr_assert_eq(kmod_parse_tag(nlmsg_hdr(msg), &t), 0);
	cr_assert(t.tgid == 1234 && t.tag.slot == 1 && t.tag.wl_id == 5 && t.wait_threshold_us == 500);
	nlmsg_free(msg);
}

Test(kmod_msg, events)
{
	struct nl_msg *msg = reply(TRIAGE_CMD_WAIT_EXCEEDED);
	struct kmod_event ev;

	nla_put_u32(msg, TRIAGE_ATTR_WL_ID, 5);
	nla_put_u32(msg, TRIAGE_ATTR_TGID, 100);
	nla_put_u32(msg, TRIAGE_ATTR_TID, 101);
	nla_put_u32(msg, TRIAGE_ATTR_SLOT, 0);
	nla_put_u64(msg, TRIAGE_ATTR_WAIT_NS, 3500000);
	nla_put_u32(msg, TRIAGE_ATTR_WAIT_THRESHOLD_US, 2000);
	nla_put_u32(msg, TRIAGE_ATTR_SUPPRESSED, 4);
	cr_assert_eq(kmod_parse_event(nlmsg_hdr(msg), &ev), 0);
	cr_assert_eq(ev.cmd, TRIAGE_CMD_WAIT_EXCEEDED);
	cr_assert(ev.tgid == 100 && ev.tid == 101 && ev.wl_id == 5 && ev.wait_ns == 3500000 &&
		  ev.wait_threshold_us == 2000 && ev.suppressed == 4);
	nlmsg_free(msg);

	msg = reply(TRIAGE_CMD_TASK_EXIT);
	nla_put_u32(msg, TRIAGE_ATTR_TGID, 100);
	nla_put_u32(msg, TRIAGE_ATTR_WL_ID, 5);
	cr_assert_eq(kmod_parse_event(nlmsg_hdr(msg), &ev), 0);
	cr_assert(ev.cmd == TRIAGE_CMD_TASK_EXIT && ev.tgid == 100 && ev.wl_id == 5);
	nlmsg_free(msg);

	msg = reply(TRIAGE_CMD_GET_TAGS);
	nla_put_u32(msg, TRIAGE_ATTR_TGID, 100);
	cr_assert_eq(kmod_parse_event(nlmsg_hdr(msg), &ev), -EINVAL, "not a notification");
	nlmsg_free(msg);
}

/* An NLMSG_ERROR as netlink_ack() builds it, echoing payload_len bytes of
 * the request unless capped. */
static struct nl_msg *error_msg(int error, bool capped, size_t payload_len, const char *text)
{
	struct nl_msg *msg = nlmsg_alloc_simple(NLMSG_ERROR,
						(text ? NLM_F_ACK_TLVS : 0) | (capped ? NLM_F_CAPPED : 0));
	struct nlmsgerr e = { .error = error };
	char payload[64];

	memset(payload, 0x5a, sizeof(payload));
	e.msg.nlmsg_len = NLMSG_HDRLEN + (uint32_t)payload_len;
	e.msg.nlmsg_type = FAMILY;
	cr_assert_eq(nlmsg_append(msg, &e, sizeof(e), NLMSG_ALIGNTO), 0);
	if (!capped && payload_len)
		cr_assert_eq(nlmsg_append(msg, payload, payload_len, NLMSG_ALIGNTO), 0);
	if (text) {
		nla_put_string(msg, NLMSGERR_ATTR_MSG, text);
		nla_put_u32(msg, NLMSGERR_ATTR_OFFS, 20);
	}
	return msg;
}

Test(kmod_msg, extack_message_capped_or_not)
{
	struct nl_msg *msg = error_msg(-EINVAL, true, 12, "slot out of range");
	char text[64];

	cr_assert_eq(kmod_extack_msg(nlmsg_hdr(msg), text, sizeof(text)), -EINVAL);
	cr_assert_str_eq(text, "slot out of range");
	nlmsg_free(msg);

	msg = error_msg(-ESRCH, false, 20, "no such thread group");
	cr_assert_eq(kmod_extack_msg(nlmsg_hdr(msg), text, sizeof(text)), -ESRCH);
	cr_assert_str_eq(text, "no such thread group", "TLVs found past the echoed request");
	nlmsg_free(msg);

	msg = error_msg(-EPERM, false, 8, NULL);
	cr_assert_eq(kmod_extack_msg(nlmsg_hdr(msg), text, sizeof(text)), -EPERM);
	cr_assert_str_eq(text, "", "no extended ACK: no message");
	nlmsg_free(msg);

	msg = error_msg(-EINVAL, true, 0, "a message longer than the buffer given");
	cr_assert_eq(kmod_extack_msg(nlmsg_hdr(msg), text, 8), -EINVAL);
	cr_assert_str_eq(text, "a messa", "cut, still terminated");
	nlmsg_free(msg);
}

Test(kmod_msg, extack_of_a_failed_dump)
{
	struct nl_msg *msg = nlmsg_alloc_simple(NLMSG_DONE, NLM_F_MULTI | NLM_F_ACK_TLVS);
	int error = -ENOBUFS;
	char text[64];

	nlmsg_append(msg, &error, sizeof(error), NLMSG_ALIGNTO);
	nla_put_string(msg, NLMSGERR_ATTR_MSG, "dump failed");
	cr_assert_eq(kmod_extack_msg(nlmsg_hdr(msg), text, sizeof(text)), -ENOBUFS);
	cr_assert_str_eq(text, "dump failed");
	nlmsg_free(msg);
}

Test(kmod_msg, feature_names)
{
	char s[128];

	kmod_features_str(TRIAGE_FEAT_CPU_STATS | TRIAGE_FEAT_AFFINITY | TRIAGE_FEAT_EVENTS |
				  TRIAGE_FEAT_GPU | TRIAGE_FEAT_FAILSAFE,
			  s, sizeof(s));
	cr_assert_str_eq(s, "cpu_stats,affinity,events,gpu,failsafe");
	kmod_features_str(0, s, sizeof(s));
	cr_assert_str_eq(s, "none");
	kmod_features_str(TRIAGE_FEAT_EVENTS | (1u << 9), s, sizeof(s));
	cr_assert_str_eq(s, "events,bit9", "a newer module's bits are named, not dropped");
}

Test(kmod_open, not_loaded_is_said_plainly)
{
	struct sensors_opts opts = { .nr_levels = 4 };
	struct kmod_info info;
	struct stat st;
	char err[256];

	if (stat("/sys/module/triage", &st) == 0)
		cr_skip_test("triage.ko is loaded here");
	cr_assert_null(kmod_client_open(&info, err, sizeof(err)));
	cr_assert_str_eq(err, "triage.ko is not loaded (no generic-netlink family triage)");
	cr_assert_null(sensors_open(SENSORS_KMOD, &opts, err, sizeof(err)));
	cr_assert_str_eq(err, "triage.ko is not loaded (no generic-netlink family triage)");
}
