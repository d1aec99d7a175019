// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * triage.ko: the kernel side of triage for kernels where the BPF sensors
 * cannot load (no BPF, or BPF without BTF, as on stock Jetson L4T
 * kernels), and the enforcement that only the kernel can do safely
 * (sticky thread affinity that reverts when the agent dies). The agent
 * talks to it over the generic-netlink family "triage".
 *
 * Parts start in dependency order and the family comes last, so no
 * request sees a half-initialised module; they stop in reverse, the
 * family first, so that nothing new starts while state is torn down.
 * Missing kernel pieces (a tracepoint, the netlink notifier, a devfreq
 * GPU) turn one feature bit off rather than failing the load.
 */
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include <linux/workqueue.h>

#include "internal.h"

unsigned int triage_task_slots = 32768;
module_param_named(task_slots, triage_task_slots, uint, 0444);
MODULE_PARM_DESC(task_slots,
		 "Entries of the per-task wait table, indexed by pid (rounded up to a power of two, 256..4194304; 64 bytes each; default 32768)");

unsigned int triage_event_interval_ms = 100;
module_param_named(event_interval_ms, triage_event_interval_ms, uint, 0644);
MODULE_PARM_DESC(event_interval_ms,
		 "At most one WAIT_EXCEEDED per workload per this many milliseconds (default 100)");

char *triage_gpu_nodes = "ga10b,gv11b,gp10b,gpu-gpc-0,gpu";
module_param_named(gpu_nodes, triage_gpu_nodes, charp, 0444);
MODULE_PARM_DESC(gpu_nodes,
		 "Comma-separated device-tree node names of the devfreq GPU, first match wins (default ga10b,gv11b,gp10b,gpu-gpc-0,gpu)");

bool triage_sensors_enabled = true;
module_param_named(sensors, triage_sensors_enabled, bool, 0444);
MODULE_PARM_DESC(sensors,
		 "Attach the sched_switch/sched_wakeup sensors (default Y); N keeps affinity and tags only");

static int counter_set(const char *val, const struct kernel_param *kp)
{
	return -EPERM;
}

static int collisions_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%llu\n", triage_sensors_collisions());
}

static int events_dropped_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%llu\n", triage_events_dropped());
}

static const struct kernel_param_ops collisions_ops = {
	.set = counter_set,
	.get = collisions_get,
};

static const struct kernel_param_ops events_dropped_ops = {
	.set = counter_set,
	.get = events_dropped_get,
};

module_param_cb(task_slot_collisions, &collisions_ops, NULL, 0444);
MODULE_PARM_DESC(task_slot_collisions,
		 "Read-only counter: waits lost because two tasks shared a task_slots entry");
module_param_cb(events_dropped, &events_dropped_ops, NULL, 0444);
MODULE_PARM_DESC(events_dropped, "Read-only counter: TASK_EXIT notifications lost (ring full, out of memory)");

struct workqueue_struct *triage_wq;
u32 triage_features;

static int __init triage_params_check(void)
{
	if (triage_task_slots < 256 || triage_task_slots > (1u << 22)) {
		pr_err("task_slots=%u: must be within 256..4194304\n", triage_task_slots);
		return -EINVAL;
	}
	triage_task_slots = roundup_pow_of_two(triage_task_slots);
	return 0;
}

static int __init triage_init(void)
{
	int err;

	err = triage_params_check();
	if (err)
		return err;
	triage_wq = alloc_workqueue("triage", 0, 0);
	if (!triage_wq)
		return -ENOMEM;
	err = triage_events_init();
	if (err)
		goto err_wq;
	err = triage_sensors_init();
	if (err)
		goto err_events;
	err = triage_affinity_init();
	if (err)
		goto err_sensors;
	triage_failsafe_init();
	triage_sched_guard_init();
	if (triage_gpu_present())
		triage_features |= TRIAGE_FEAT_GPU;
	err = triage_genl_init();
	if (err)
		goto err_affinity;
	triage_events_start();
	pr_info("version %s, abi %d, features 0x%x, %u task slots\n", TRIAGE_MODULE_VERSION,
		TRIAGE_ABI_VERSION, triage_features, triage_task_slots);
	return 0;

err_affinity:
	triage_failsafe_exit();
err_sensors:
	triage_sensors_exit();
err_events:
	triage_events_exit();
err_wq:
	destroy_workqueue(triage_wq);
	triage_sched_guard_exit();
	triage_affinity_exit();
	triage_tags_exit();
	rcu_barrier();
	return err;
}

static void __exit triage_exit(void)
{
	triage_events_stop();
	triage_genl_exit();
	triage_failsafe_exit();
	triage_sensors_exit();
	triage_events_exit();
	/* Runs the fork, reap and release works still queued. */
	destroy_workqueue(triage_wq);
	triage_sched_guard_exit();
	triage_affinity_exit();
	triage_tags_exit();
	/* call_rcu() callbacks are code of this module. */
	rcu_barrier();
	pr_info("unloaded\n");
}

module_init(triage_init);
module_exit(triage_exit);

MODULE_LICENSE("Dual BSD/GPL");
MODULE_DESCRIPTION("triage: scheduler contention sensors, sticky affinity and a real-time guard for DNN workloads");
MODULE_VERSION(TRIAGE_MODULE_VERSION);
MODULE_AUTHOR("triage authors");
