/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Messages of the generic-netlink family "triage" (include/triage/genl.h):
 * building requests and parsing replies, events and extended ACKs, with no
 * socket in sight, so the unit tests can check both directions without
 * triage.ko. agent/kmod/kmod_client.c does the talking.
 */
#ifndef TRIAGE_KMOD_MSG_H
#define TRIAGE_KMOD_MSG_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "triage/genl.h"
#include "triage/sensors.h"

/* GET_VERSION's answer. */
struct kmod_info {
	uint32_t abi_version;
	uint32_t features; /* TRIAGE_FEAT_* */
	uint32_t nr_cpus;  /* 0 when the module did not say */
	char module_version[32];
};

/* One entry of the GET_TAGS dump. */
struct kmod_tag {
	pid_t tgid;
	struct triage_tag tag;
	uint32_t wait_threshold_us;
};

/* GET_GPU_STATS's answer: the integrated GPU's devfreq load and clock. */
struct kmod_gpu {
	char name[TRIAGE_NAME_MAX]; /* its device-tree node */
	uint32_t load_permille;	    /* busy over the governor's last window */
	uint64_t cur_hz, min_hz, max_hz;
};

/* One notification of the "events" group. */
struct kmod_event {
	uint8_t cmd; /* TRIAGE_CMD_WAIT_EXCEEDED or TRIAGE_CMD_TASK_EXIT */
	pid_t tgid, tid;
	uint32_t wl_id, slot, wait_threshold_us, suppressed;
	uint64_t wait_ns;
};

/* A request of cmd for family, with the genetlink header in place; flags
 * as nlmsg_flags (NLM_F_DUMP for a dump). NULL when out of memory. */
struct nl_msg *kmod_msg_new(int family, uint8_t cmd, int flags);

/* Request attributes: 0 or a negative libnl error. */
int kmod_msg_put_tag(struct nl_msg *msg, pid_t tgid, const struct triage_tag *tag,
		     uint32_t wait_threshold_us);
int kmod_msg_put_tgid(struct nl_msg *msg, pid_t tgid);
int kmod_msg_put_wl_id(struct nl_msg *msg, uint32_t wl_id);

/*
 * TRIAGE_ATTR_CPUMASK of mask: bit i of byte i/8 for CPU i, as few bytes as
 * its highest CPU needs (the module refuses set bits past nr_cpu_ids, not
 * bytes). -NLE_INVAL for an empty mask or a CPU at or past TRIAGE_MAX_CPUS,
 * which the attribute cannot carry.
 */
int kmod_msg_put_cpumask(struct nl_msg *msg, const cpu_set_t *mask);

/*
 * Reply parsers: 0, or -EPROTO (or -EINVAL) when a required attribute is
 * missing or has the wrong size, with what was wrong in err when given.
 * kmod_parse_version also refuses another TRIAGE_ABI_VERSION (-EPROTO),
 * naming both versions.
 */
int kmod_parse_version(struct nlmsghdr *nlh, struct kmod_info *out, char *err, size_t errlen);
int kmod_parse_cpu_stats(struct nlmsghdr *nlh, uint32_t *cpu, struct triage_cpu_stats *out);
int kmod_parse_wl_stats(struct nlmsghdr *nlh, uint32_t *wl_id, uint32_t *nr_tgids,
			struct triage_wl_stats *out);
int kmod_parse_tag(struct nlmsghdr *nlh, struct kmod_tag *out);
int kmod_parse_gpu(struct nlmsghdr *nlh, struct kmod_gpu *out);
int kmod_parse_event(struct nlmsghdr *nlh, struct kmod_event *out);

/* Refuses a module of another ABI version: 0 or -EPROTO with the reason. */
int kmod_abi_check(uint32_t module_abi, char *err, size_t errlen);

/*
 * The extended-ACK message (NLMSGERR_ATTR_MSG) of an NLMSG_ERROR message
 * nlh, capped or not, copied into out; "" when the kernel sent none.
 * Returns the error code the message carries (negative errno, 0 = ACK).
 */
int kmod_extack_msg(const struct nlmsghdr *nlh, char *out, size_t len);

/* "cpu_stats,affinity,..." for TRIAGE_FEAT_* bits; "none" for 0. */
void kmod_features_str(uint32_t features, char *out, size_t len);

#endif
