/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * `triage-run --profile`: measures this machine's CPU units on the real
 * executor and writes the planner's profile of it (docs/platforms.md
 * format, "measured": true), which the agent prefers to the rough one it
 * detects by itself.
 */
#ifndef TRIAGE_DNN_RUN_PROFILE_H
#define TRIAGE_DNN_RUN_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

/* Measures every CPU cluster of platform_detect_host(): per op class
 * GFLOP/s per core (layer times of resnet18 and mobilenetv2 on one
 * thread), the speed-up of all the cluster's cores, the per-layer fixed
 * cost, and copy bandwidth of the cluster and of all CPUs. Writes output
 * (NULL: <platform_default_dir()>/host.json) only once the profile reads
 * back through the platform reader. 0, or -1 with one line in err. */
int run_profile_host(const char *models_dir, const char *output, bool verbose, char *err,
		     size_t errlen);

#endif
