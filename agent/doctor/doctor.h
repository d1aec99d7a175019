/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Start-up probes ("degrade, never crash"): what this kernel and board
 * offer, and which feature each missing piece turns off. The agent logs one
 * line per missing piece; `triaged --doctor` prints the whole table.
 */
#ifndef TRIAGE_DOCTOR_H
#define TRIAGE_DOCTOR_H

#include <stdbool.h>
#include <stdio.h>

#include "cgroup/cgroup.h"
#include "sensors/sensors.h"

#define DOCTOR_MAX_CLUSTERS 16

struct doctor_report {
	struct cg_env cg;
	bool cg_ok;
	char cg_err[256];
	bool bpf_syscall;
	bool kernel_btf;
	bool task_storage; /* BPF_MAP_TYPE_TASK_STORAGE, needed by the sensors */
	bool kmod_loaded;         /* /sys/module/triage */
	bool kmod_usable;         /* its genl family answered, with our ABI */
	unsigned kmod_abi;        /* what it answered, 0 if it did not */
	unsigned kmod_features;   /* TRIAGE_FEAT_* */
	char kmod_version[32];
	char kmod_detail[256];    /* why it is not usable */
	bool proc_sensors;        /* /proc has what the proc back end reads */
	char proc_detail[256];
	enum sensors_kind sensors_auto; /* what --sensors auto would take */
	bool cuda_driver;
	char cuda_detail[256];
	/* Device 0 where the driver has one ("" / 0 where not said). */
	char cuda_name[128];
	int cuda_sms, cuda_cc_major, cuda_cc_minor;
	int cuda_integrated; /* 1, 0, or -1: the driver did not say */
	int cuda_driver_version; /* 12060 for CUDA 12.6 */
	char gpu_devfreq[512]; /* devfreq directory of the GPU, "" if none */
	char gpu_name[64];
	bool gpud;		/* triage-gpud runs (doctor_probe_gpud) */
	char gpud_detail[256];
	/* The launch gate and MPS (doctor_probe_gate). */
	bool gate_probed;
	bool gate_lib;		/* libtriage-gate.so found */
	char gate_lib_path[512]; /* where, or where it was looked for */
	char gate_board[320];	/* the board's state */
	bool mps_control;	/* nvidia-cuda-mps-control on PATH */
	char mps_control_path[256];
	bool mps_daemon; /* a control daemon listens on mps_pipe_dir */
	char mps_pipe_dir[256];
	char mps_hint[384]; /* how to start one */
	int nr_cpus_online;
	int nr_clusters;
	char clusters[DOCTOR_MAX_CLUSTERS][64]; /* cpu lists */
	char cluster_source[64];                /* where clusters came from */
	bool root;
	bool planner_probed; /* agent_plan_doctor() filled the two below */
	bool planner_ok;
	char planner[320]; /* the platform the planner would plan on, or why not */
};

void doctor_probe(struct doctor_report *r, const char *sysfs_root);

/* Whether triage-gpud runs on run_dir: its pid, device and stages, or
 * why not (r->gpud, r->gpud_detail). */
void doctor_probe_gpud(struct doctor_report *r, const char *run_dir);

/* Where the launch gate's library is, the board's state on run_dir, and
 * whether MPS's control program is on PATH and its daemon listens on
 * mps_pipe_dir (doctor/gpu_gate.c). */
void doctor_probe_gate(struct doctor_report *r, const char *run_dir, const char *mps_pipe_dir);

/* Prints the table: feature, state, what it means for triage. */
void doctor_print(const struct doctor_report *r, FILE *out);

struct json_object;

/* The GPU as the probe found it, for status: {"driver": false, "detail"}
 * without one; name, sms, compute_capability, integrated (null: not
 * said), driver_version beside them with one. */
struct json_object *doctor_gpu_json(const struct doctor_report *r);

/* Logs one warning line per missing piece that turns a feature off. */
void doctor_log_missing(const struct doctor_report *r);

#endif
