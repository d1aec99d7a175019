// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Load and clock of the integrated GPU, from the devfreq governor that
 * already samples it (Jetson: nvgpu's devfreq device). The agent uses it
 * to tell a GPU-bound workload from a CPU-starved one without a CUDA call.
 *
 * The GPU is found by device-tree node name (gpu_nodes, first match wins)
 * and the devfreq device whose parent has that node. The look-up is
 * repeated per request rather than holding a pointer, since devfreq has no
 * reference counting for its users; on the SoCs this targets the GPU's
 * devfreq device is never removed. Without CONFIG_OF the node look-up
 * finds nothing, without CONFIG_PM_DEVFREQ there is no devfreq: both
 * answer -ENODEV and leave TRIAGE_FEAT_GPU clear.
 */
#include <linux/devfreq.h>
#include <linux/math64.h>
#include <linux/of.h>
#include <linux/string.h>

#include "internal.h"

struct gpu_devfreq_read {
	char name[TRIAGE_NAME_MAX];
	u32 load_permille;
	u64 cur_hz, min_hz, max_hz;
};

#if IS_ENABLED(CONFIG_PM_DEVFREQ)
static struct devfreq *gpu_devfreq_by_name(const char *name)
{
	struct device_node *np;
	struct devfreq *df;

	for_each_node_by_name(np, name) {
		df = devfreq_get_devfreq_by_node(np);
		if (!IS_ERR_OR_NULL(df)) {
			of_node_put(np);
			return df;
		}
	}
	return NULL;
}

static int gpu_read(struct gpu_devfreq_read *st)
{
	const char *list = triage_gpu_nodes ?: "";
	struct devfreq *df = NULL;
	size_t len;

	while (*list && !df) {
		len = strcspn(list, ",");
		if (len && len < sizeof(st->name)) {
			memcpy(st->name, list, len);
			st->name[len] = '\0';
			df = gpu_devfreq_by_name(st->name);
		}
		list += len;
		if (*list == ',')
			list++;
	}
	if (!df)
		return -ENODEV;
	mutex_lock(&df->lock);
	st->load_permille = df->last_status.total_time ?
		div64_u64((u64)df->last_status.busy_time * 1000, df->last_status.total_time) : 0;
	st->cur_hz = df->previous_freq;
	st->min_hz = df->scaling_min_freq;
	st->max_hz = df->scaling_max_freq;
	mutex_unlock(&df->lock);
	return 0;
}
#else
static int gpu_read(struct gpu_devfreq_read *st)
{
	return -ENODEV;
}
#endif

bool triage_gpu_present(void)
{
	struct gpu_devfreq_read st;

	return gpu_read(&st) == 0;
}

int triage_cmd_get_gpu_stats(struct sk_buff *skb, struct genl_info *info)
{
	struct gpu_devfreq_read st = {};
	struct sk_buff *msg;
	void *hdr;
	int err;

	err = triage_doit_check(info, 0, 0);
	if (err)
		return err;
	if (gpu_read(&st)) {
		NL_SET_ERR_MSG(info->extack,
			       "no devfreq GPU under the device-tree names of gpu_nodes");
		return -ENODEV;
	}
	msg = triage_reply_new(info, TRIAGE_CMD_GET_GPU_STATS, &hdr);
	if (!msg)
		return -ENOMEM;
	if (!hdr || nla_put_string(msg, TRIAGE_ATTR_GPU_NAME, st.name) ||
	    nla_put_u32(msg, TRIAGE_ATTR_GPU_LOAD, min_t(u32, st.load_permille, 1000)) ||
	    nla_put_u64_64bit(msg, TRIAGE_ATTR_GPU_CUR_FREQ, st.cur_hz, TRIAGE_ATTR_PAD) ||
	    nla_put_u64_64bit(msg, TRIAGE_ATTR_GPU_MIN_FREQ, st.min_hz, TRIAGE_ATTR_PAD) ||
	    nla_put_u64_64bit(msg, TRIAGE_ATTR_GPU_MAX_FREQ, st.max_hz, TRIAGE_ATTR_PAD)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return triage_reply(info, msg, hdr);
}
