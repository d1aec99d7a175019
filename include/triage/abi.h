/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Limits and the ABI version shared by every side of triage: the BPF
 * sensors, the kernel module and the agent. A side that sees another
 * TRIAGE_ABI_VERSION refuses to talk to it rather than misread counters.
 */
#ifndef TRIAGE_ABI_H
#define TRIAGE_ABI_H

#define TRIAGE_ABI_VERSION 1

/* Configured priority levels; slot 0 is the highest rank. */
#define TRIAGE_MAX_LEVELS 8
/* Counter slot for tasks outside every triage level (system daemons, ...). */
#define TRIAGE_SLOT_UNTAGGED TRIAGE_MAX_LEVELS
#define TRIAGE_NR_SLOTS (TRIAGE_MAX_LEVELS + 1)

/* Workload ids are assigned by the agent; 0 means "no workload". */
#define TRIAGE_MAX_WORKLOADS 1024
/* Log2 buckets of runqueue wait in microseconds: bucket b holds waits in
 * [2^b, 2^(b+1)) us, bucket 0 also holds waits under 1 us. */
#define TRIAGE_HIST_BUCKETS 32
#define TRIAGE_MAX_CPUS 256

#define TRIAGE_NAME_MAX 32

/* Where the agent, triage-gpud and their clients meet: the control
 * socket, the clients' files, the GPU shares, gpud's socket. */
#define TRIAGE_RUN_DIR_ENV "TRIAGE_RUN_DIR"
#define TRIAGE_RUN_DIR_DEFAULT "/run/triage"

#endif
