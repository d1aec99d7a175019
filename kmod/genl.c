// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The generic-netlink family "triage", as docs/netlink/triage.yaml
 * specifies it: one policy per operation with exact lengths and ranges,
 * strict validation (unknown or malformed attributes are errors, not
 * ignored), CAP_NET_ADMIN for every operation that changes something, and
 * the "events" multicast group for notifications.
 *
 * Operations run in parallel (parallel_ops): each part takes its own
 * locks, so a slow SET_AFFINITY does not hold up the agent's sampling.
 * The handlers live with the state they change (tags.c, affinity.c, ...);
 * this file holds the family, its policies and GET_VERSION.
 */
#include <linux/cpumask.h>
#include <net/genetlink.h>

#include "internal.h"

/*
 * Every policy spans all attributes: with strict validation, an attribute
 * an operation does not take (NLA_UNSPEC here) is rejected with
 * "Unsupported attribute", one it does not know at all with "Unknown
 * attribute type".
 */
static const struct nla_policy triage_flags_only_policy[TRIAGE_ATTR_MAX + 1] = {
	[TRIAGE_ATTR_FLAGS] = { .type = NLA_U32 },
};

static const struct nla_policy triage_tag_policy[TRIAGE_ATTR_MAX + 1] = {
	[TRIAGE_ATTR_TGID] = NLA_POLICY_MIN(NLA_U32, 1),
	[TRIAGE_ATTR_SLOT] = NLA_POLICY_MAX(NLA_U32, TRIAGE_MAX_LEVELS - 1),
	[TRIAGE_ATTR_WL_ID] = NLA_POLICY_MIN(NLA_U32, 1),
	[TRIAGE_ATTR_WAIT_THRESHOLD_US] = { .type = NLA_U32 },
	[TRIAGE_ATTR_FLAGS] = { .type = NLA_U32 },
};

static const struct nla_policy triage_tgid_policy[TRIAGE_ATTR_MAX + 1] = {
	[TRIAGE_ATTR_TGID] = NLA_POLICY_MIN(NLA_U32, 1),
	[TRIAGE_ATTR_FLAGS] = { .type = NLA_U32 },
};

static const struct nla_policy triage_set_affinity_policy[TRIAGE_ATTR_MAX + 1] = {
	[TRIAGE_ATTR_TGID] = NLA_POLICY_MIN(NLA_U32, 1),
	[TRIAGE_ATTR_CPUMASK] = NLA_POLICY_RANGE(NLA_BINARY, 1, TRIAGE_CPUMASK_MAX),
	[TRIAGE_ATTR_FLAGS] = { .type = NLA_U32 },
};

static const struct nla_policy triage_wl_id_policy[TRIAGE_ATTR_MAX + 1] = {
	[TRIAGE_ATTR_WL_ID] = NLA_POLICY_MIN(NLA_U32, 1),
	[TRIAGE_ATTR_FLAGS] = { .type = NLA_U32 },
};

static int triage_check_flags(const struct nlattr *attr, u32 known,
			      struct netlink_ext_ack *extack)
{
	if (attr && (nla_get_u32(attr) & ~known)) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "TRIAGE_ATTR_FLAGS: unknown flag bits");
		return -EOPNOTSUPP;
	}
	return 0;
}

/* NL_SET_ERR_MSG() takes a literal only: one case per attribute. */
#define TRIAGE_MISSING_CASE(type)                                           \
	case type:                                                          \
		NL_SET_ERR_MSG(extack, "missing attribute " #type);          \
		break;

static int triage_missing(struct netlink_ext_ack *extack, int type)
{
	TRIAGE_SET_ATTR_MISS(extack, type);
	switch (type) {
	TRIAGE_REQUIRABLE_ATTRS(TRIAGE_MISSING_CASE)
	}
	return -EINVAL;
}

int __triage_doit_check(struct genl_info *info, u64 required, u32 known_flags)
{
	int type;

	BUILD_BUG_ON(TRIAGE_ATTR_MAX >= 64);
	for (type = 0; type <= TRIAGE_ATTR_MAX; type++)
		if ((required & TRIAGE_NEED(type)) && !info->attrs[type])
			return triage_missing(info->extack, type);
	return triage_check_flags(info->attrs[TRIAGE_ATTR_FLAGS], known_flags, info->extack);
}

/*
 * Dumps take FLAGS only; the core validated the request already. The
 * errno reaches the caller on every kernel, the extended-ACK text only
 * from 6.5 (earlier kernels give a dump's start no extack).
 */
static int triage_dump_start(struct netlink_callback *cb)
{
	const struct nlattr *flags;

	flags = nla_find(nlmsg_attrdata(cb->nlh, GENL_HDRLEN), nlmsg_attrlen(cb->nlh, GENL_HDRLEN),
			 TRIAGE_ATTR_FLAGS);
	return triage_check_flags(flags, 0, cb->extack);
}

void *triage_dump_put(struct sk_buff *skb, struct netlink_callback *cb, u8 cmd)
{
	return genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq, &triage_family,
			   NLM_F_MULTI, cmd);
}

struct sk_buff *triage_reply_new(struct genl_info *info, u8 cmd, void **hdr)
{
	struct sk_buff *msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);

	if (msg)
		*hdr = genlmsg_put_reply(msg, info, &triage_family, 0, cmd);
	return msg;
}

int triage_reply(struct genl_info *info, struct sk_buff *msg, void *hdr)
{
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int triage_cmd_get_version(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;
	int err;

	err = triage_doit_check(info, 0, 0);
	if (err)
		return err;
	msg = triage_reply_new(info, TRIAGE_CMD_GET_VERSION, &hdr);
	if (!msg)
		return -ENOMEM;
	if (!hdr || nla_put_u32(msg, TRIAGE_ATTR_ABI_VERSION, TRIAGE_ABI_VERSION) ||
	    nla_put_u32(msg, TRIAGE_ATTR_FEATURES, triage_features) ||
	    nla_put_u32(msg, TRIAGE_ATTR_NR_CPUS, nr_cpu_ids) ||
	    nla_put_string(msg, TRIAGE_ATTR_MODULE_VERSION, TRIAGE_MODULE_VERSION)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return triage_reply(info, msg, hdr);
}

#define TRIAGE_OP_POLICY(p) .policy = (p), .maxattr = TRIAGE_ATTR_MAX

static const struct genl_ops triage_ops[] = {
	{
		.cmd = TRIAGE_CMD_GET_VERSION,
		.doit = triage_cmd_get_version,
		TRIAGE_OP_POLICY(triage_flags_only_policy),
	},
	{
		.cmd = TRIAGE_CMD_TAG,
		.flags = GENL_ADMIN_PERM,
		.doit = triage_cmd_tag,
		TRIAGE_OP_POLICY(triage_tag_policy),
	},
	{
		.cmd = TRIAGE_CMD_UNTAG,
		.flags = GENL_ADMIN_PERM,
		.doit = triage_cmd_untag,
		TRIAGE_OP_POLICY(triage_tgid_policy),
	},
	{
		.cmd = TRIAGE_CMD_SET_AFFINITY,
		.flags = GENL_ADMIN_PERM,
		.doit = triage_cmd_set_affinity,
		TRIAGE_OP_POLICY(triage_set_affinity_policy),
	},
	{
		.cmd = TRIAGE_CMD_RESET_AFFINITY,
		.flags = GENL_ADMIN_PERM,
		.doit = triage_cmd_reset_affinity,
		TRIAGE_OP_POLICY(triage_tgid_policy),
	},
	{
		.cmd = TRIAGE_CMD_GET_CPU_STATS,
		.start = triage_dump_start,
		.dumpit = triage_dump_cpu_stats,
		TRIAGE_OP_POLICY(triage_flags_only_policy),
	},
	{
		.cmd = TRIAGE_CMD_GET_WL_STATS,
		.doit = triage_cmd_get_wl_stats,
		.start = triage_dump_start,
		.dumpit = triage_dump_wl_stats,
		TRIAGE_OP_POLICY(triage_wl_id_policy),
	},
	{
		.cmd = TRIAGE_CMD_FORGET_WL,
		.flags = GENL_ADMIN_PERM,
		.doit = triage_cmd_forget_wl,
		TRIAGE_OP_POLICY(triage_wl_id_policy),
	},
	{
		.cmd = TRIAGE_CMD_GET_TAGS,
		.start = triage_dump_start,
		.dumpit = triage_dump_tags,
		TRIAGE_OP_POLICY(triage_flags_only_policy),
	},
	{
		.cmd = TRIAGE_CMD_GET_GPU_STATS,
		.doit = triage_cmd_get_gpu_stats,
		TRIAGE_OP_POLICY(triage_flags_only_policy),
	},
	{
		.cmd = TRIAGE_CMD_SCHED_GUARD,
		.flags = GENL_ADMIN_PERM,
		.doit = triage_cmd_sched_guard,
		TRIAGE_OP_POLICY(triage_tgid_policy),
	},
	{
		.cmd = TRIAGE_CMD_SCHED_UNGUARD,
		.flags = GENL_ADMIN_PERM,
		.doit = triage_cmd_sched_unguard,
		TRIAGE_OP_POLICY(triage_tgid_policy),
	},
};

static const struct genl_multicast_group triage_mcgrps[] = {
	[TRIAGE_MCGRP_EVENTS] = { .name = TRIAGE_GENL_MCGRP_EVENTS },
};

struct genl_family triage_family __ro_after_init = {
	.name = TRIAGE_GENL_NAME,
	.version = TRIAGE_GENL_VERSION,
	.netnsok = false,
	.parallel_ops = true,
	.ops = triage_ops,
	.n_ops = ARRAY_SIZE(triage_ops),
	.mcgrps = triage_mcgrps,
	.n_mcgrps = ARRAY_SIZE(triage_mcgrps),
	.module = THIS_MODULE,
};

int triage_genl_init(void)
{
	return genl_register_family(&triage_family);
}

void triage_genl_exit(void)
{
	genl_unregister_family(&triage_family);
}
