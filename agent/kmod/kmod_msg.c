// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Building and parsing the messages of the "triage" generic-netlink
 * family. Parsing is strict where a misread would corrupt counters (binary
 * structs must have their exact size, the ABI version must be ours) and
 * lenient where the module may grow (unknown attributes are ignored, as
 * genl.h promises new ones only at the end).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/netlink.h>
#include <netlink/attr.h>

#include "kmod/kmod_msg.h"

static struct nla_policy triage_policy[TRIAGE_ATTR_MAX + 1] = {
	[TRIAGE_ATTR_ABI_VERSION] = { .type = NLA_U32 },
	[TRIAGE_ATTR_FEATURES] = { .type = NLA_U32 },
	[TRIAGE_ATTR_NR_CPUS] = { .type = NLA_U32 },
	[TRIAGE_ATTR_MODULE_VERSION] = { .type = NLA_STRING },
	[TRIAGE_ATTR_TGID] = { .type = NLA_U32 },
	[TRIAGE_ATTR_SLOT] = { .type = NLA_U32 },
	[TRIAGE_ATTR_WL_ID] = { .type = NLA_U32 },
	[TRIAGE_ATTR_WAIT_THRESHOLD_US] = { .type = NLA_U32 },
	[TRIAGE_ATTR_CPU] = { .type = NLA_U32 },
	[TRIAGE_ATTR_CPU_STATS] = { .type = NLA_UNSPEC },
	[TRIAGE_ATTR_WL_STATS] = { .type = NLA_UNSPEC },
	[TRIAGE_ATTR_NR_TGIDS] = { .type = NLA_U32 },
	[TRIAGE_ATTR_TID] = { .type = NLA_U32 },
	[TRIAGE_ATTR_WAIT_NS] = { .type = NLA_U64 },
	[TRIAGE_ATTR_SUPPRESSED] = { .type = NLA_U32 },
};

struct nl_msg *kmod_msg_new(int family, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, cmd, TRIAGE_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

int kmod_msg_put_tgid(struct nl_msg *msg, pid_t tgid)
{
	return nla_put_u32(msg, TRIAGE_ATTR_TGID, (uint32_t)tgid);
}

int kmod_msg_put_wl_id(struct nl_msg *msg, uint32_t wl_id)
{
	return nla_put_u32(msg, TRIAGE_ATTR_WL_ID, wl_id);
}

int kmod_msg_put_cpumask(struct nl_msg *msg, const cpu_set_t *mask)
{
	uint8_t bytes[TRIAGE_CPUMASK_MAX] = { 0 };
	int cpu, len = 0;

	/* Bit by bit rather than memcpy: cpu_set_t is an array of longs, whose
	 * byte order is the host's. */
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, mask))
			continue;
		if (cpu >= TRIAGE_MAX_CPUS)
			return -NLE_INVAL;
		bytes[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
		len = cpu / 8 + 1;
	}
	if (!len)
		return -NLE_INVAL;
	return nla_put(msg, TRIAGE_ATTR_CPUMASK, len, bytes);
}

int kmod_msg_put_tag(struct nl_msg *msg, pid_t tgid, const struct triage_tag *tag,
		     uint32_t wait_threshold_us)
{
	int err = kmod_msg_put_tgid(msg, tgid);

	if (!err)
		err = nla_put_u32(msg, TRIAGE_ATTR_SLOT, tag->slot);
	if (!err)
		err = kmod_msg_put_wl_id(msg, tag->wl_id);
	if (!err)
		err = nla_put_u32(msg, TRIAGE_ATTR_WAIT_THRESHOLD_US, wait_threshold_us);
	return err;
}

static int parse(struct nlmsghdr *nlh, struct nlattr **tb)
{
	return genlmsg_parse(nlh, 0, tb, TRIAGE_ATTR_MAX, triage_policy) ? -EPROTO : 0;
}

/* Copies a binary attribute that must be exactly len bytes. */
static int get_struct(const struct nlattr *attr, void *out, size_t len)
{
	if (!attr || (size_t)nla_len(attr) != len)
		return -EPROTO;
	memcpy(out, nla_data(attr), len);
	return 0;
}

int kmod_abi_check(uint32_t module_abi, char *err, size_t errlen)
{
	if (module_abi == TRIAGE_ABI_VERSION)
		return 0;
	if (err)
		snprintf(err, errlen,
			 "triage.ko speaks ABI version %u, this agent ABI version %u: refusing it (load the triage.ko built with this agent)",
			 module_abi, TRIAGE_ABI_VERSION);
	return -EPROTO;
}

int kmod_parse_version(struct nlmsghdr *nlh, struct kmod_info *out, char *err, size_t errlen)
{
	struct nlattr *tb[TRIAGE_ATTR_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (parse(nlh, tb)) {
		if (err)
			snprintf(err, errlen, "triage.ko: malformed GET_VERSION reply");
		return -EPROTO;
	}
	if (!tb[TRIAGE_ATTR_ABI_VERSION]) {
		if (err)
			snprintf(err, errlen, "triage.ko: GET_VERSION reply without an ABI version");
		return -EPROTO;
	}
	out->abi_version = nla_get_u32(tb[TRIAGE_ATTR_ABI_VERSION]);
	if (tb[TRIAGE_ATTR_FEATURES])
		out->features = nla_get_u32(tb[TRIAGE_ATTR_FEATURES]);
	if (tb[TRIAGE_ATTR_NR_CPUS])
		out->nr_cpus = nla_get_u32(tb[TRIAGE_ATTR_NR_CPUS]);
	if (tb[TRIAGE_ATTR_MODULE_VERSION])
		snprintf(out->module_version, sizeof(out->module_version), "%s",
			 nla_get_string(tb[TRIAGE_ATTR_MODULE_VERSION]));
	return kmod_abi_check(out->abi_version, err, errlen);
}

int kmod_parse_cpu_stats(struct nlmsghdr *nlh, uint32_t *cpu, struct triage_cpu_stats *out)
{
	struct nlattr *tb[TRIAGE_ATTR_MAX + 1];

	if (parse(nlh, tb) || !tb[TRIAGE_ATTR_CPU])
		return -EPROTO;
	*cpu = nla_get_u32(tb[TRIAGE_ATTR_CPU]);
	return get_struct(tb[TRIAGE_ATTR_CPU_STATS], out, sizeof(*out));
}

int kmod_parse_wl_stats(struct nlmsghdr *nlh, uint32_t *wl_id, uint32_t *nr_tgids,
			struct triage_wl_stats *out)
{
	struct nlattr *tb[TRIAGE_ATTR_MAX + 1];

	if (parse(nlh, tb) || !tb[TRIAGE_ATTR_WL_ID])
		return -EPROTO;
	*wl_id = nla_get_u32(tb[TRIAGE_ATTR_WL_ID]);
	*nr_tgids = tb[TRIAGE_ATTR_NR_TGIDS] ? nla_get_u32(tb[TRIAGE_ATTR_NR_TGIDS]) : 0;
	return get_struct(tb[TRIAGE_ATTR_WL_STATS], out, sizeof(*out));
}

int kmod_parse_tag(struct nlmsghdr *nlh, struct kmod_tag *out)
{
	struct nlattr *tb[TRIAGE_ATTR_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (parse(nlh, tb) || !tb[TRIAGE_ATTR_TGID] || !tb[TRIAGE_ATTR_SLOT] || !tb[TRIAGE_ATTR_WL_ID])
		return -EPROTO;
	out->tgid = (pid_t)nla_get_u32(tb[TRIAGE_ATTR_TGID]);
	out->tag.slot = nla_get_u32(tb[TRIAGE_ATTR_SLOT]);
	out->tag.wl_id = nla_get_u32(tb[TRIAGE_ATTR_WL_ID]);
	if (tb[TRIAGE_ATTR_WAIT_THRESHOLD_US])
		out->wait_threshold_us = nla_get_u32(tb[TRIAGE_ATTR_WAIT_THRESHOLD_US]);
	return 0;
}

int kmod_parse_gpu(struct nlmsghdr *nlh, struct kmod_gpu *out)
{
	struct nlattr *tb[TRIAGE_ATTR_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (parse(nlh, tb) || !tb[TRIAGE_ATTR_GPU_NAME] || !tb[TRIAGE_ATTR_GPU_LOAD] ||
	    !tb[TRIAGE_ATTR_GPU_CUR_FREQ])
		return -EPROTO;
	snprintf(out->name, sizeof(out->name), "%s", nla_get_string(tb[TRIAGE_ATTR_GPU_NAME]));
	out->load_permille = nla_get_u32(tb[TRIAGE_ATTR_GPU_LOAD]);
	out->cur_hz = nla_get_u64(tb[TRIAGE_ATTR_GPU_CUR_FREQ]);
	if (tb[TRIAGE_ATTR_GPU_MIN_FREQ])
		out->min_hz = nla_get_u64(tb[TRIAGE_ATTR_GPU_MIN_FREQ]);
	if (tb[TRIAGE_ATTR_GPU_MAX_FREQ])
		out->max_hz = nla_get_u64(tb[TRIAGE_ATTR_GPU_MAX_FREQ]);
	return 0;
}

static uint32_t get_u32_or_0(struct nlattr **tb, int attr)
{
	return tb[attr] ? nla_get_u32(tb[attr]) : 0;
}

int kmod_parse_event(struct nlmsghdr *nlh, struct kmod_event *out)
{
	struct genlmsghdr *ghdr = nlmsg_data(nlh);
	struct nlattr *tb[TRIAGE_ATTR_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (parse(nlh, tb))
		return -EPROTO;
	out->cmd = ghdr->cmd;
	if (out->cmd != TRIAGE_CMD_WAIT_EXCEEDED && out->cmd != TRIAGE_CMD_TASK_EXIT)
		return -EINVAL;
	if (!tb[TRIAGE_ATTR_TGID])
		return -EPROTO;
	out->tgid = (pid_t)nla_get_u32(tb[TRIAGE_ATTR_TGID]);
	out->tid = (pid_t)get_u32_or_0(tb, TRIAGE_ATTR_TID);
	out->wl_id = get_u32_or_0(tb, TRIAGE_ATTR_WL_ID);
	out->slot = get_u32_or_0(tb, TRIAGE_ATTR_SLOT);
	out->wait_threshold_us = get_u32_or_0(tb, TRIAGE_ATTR_WAIT_THRESHOLD_US);
	out->suppressed = get_u32_or_0(tb, TRIAGE_ATTR_SUPPRESSED);
	if (tb[TRIAGE_ATTR_WAIT_NS])
		out->wait_ns = nla_get_u64(tb[TRIAGE_ATTR_WAIT_NS]);
	return 0;
}

/*
 * Layout (linux/netlink.h): an NLMSG_ERROR carries struct nlmsgerr, then
 * the request's payload unless the ACK was capped, then the TLVs when
 * NLM_F_ACK_TLVS is set; an NLMSG_DONE ending a dump carries an int error,
 * then the TLVs.
 */
int kmod_extack_msg(const struct nlmsghdr *nlh, char *out, size_t len)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off, total = nlh->nlmsg_len;
	int error;

	if (len)
		out[0] = '\0';
	if (total < NLMSG_HDRLEN + sizeof(int))
		return -EPROTO;
	memcpy(&error, NLMSG_DATA(nlh), sizeof(error));
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return error;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(nlh);

		if (total < NLMSG_HDRLEN + sizeof(*e))
			return error;
		off = NLMSG_HDRLEN + sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len > NLMSG_HDRLEN)
			off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	} else {
		off = NLMSG_HDRLEN + sizeof(int);
	}
	off = NLMSG_ALIGN(off);
	if (total <= off)
		return error;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)nlh + off), (int)(total - off),
		      NULL))
		return error;
	if (tb[NLMSGERR_ATTR_MSG] && len) {
		size_t n = strnlen(nla_data(tb[NLMSGERR_ATTR_MSG]), (size_t)nla_len(tb[NLMSGERR_ATTR_MSG]));

		if (n >= len)
			n = len - 1;
		memcpy(out, nla_data(tb[NLMSGERR_ATTR_MSG]), n);
		out[n] = '\0';
	}
	return error;
}

void kmod_features_str(uint32_t features, char *out, size_t len)
{
	static const char *const names[] = { "cpu_stats", "affinity", "events",
					      "gpu", "failsafe", "sched_guard" };
	size_t off = 0;

	if (!len)
		return;
	out[0] = '\0';
	for (unsigned i = 0; i < 32 && off < len; i++) {
		if (!(features & (1u << i)))
			continue;
		if (i < sizeof(names) / sizeof(names[0]))
			off += (size_t)snprintf(out + off, len - off, "%s%s", off ? "," : "", names[i]);
		else
			off += (size_t)snprintf(out + off, len - off, "%sbit%u", off ? "," : "", i);
	}
	if (!features)
		snprintf(out, len, "none");
}
