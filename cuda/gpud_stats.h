/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * gpud's stats file (include/triage/gpu.h, struct triage_gpud_stats):
 * triage-gpud writes it, the agent reads it, through the seqlock of
 * triage/seqlock.h. Pure C, in libtriage.a.
 */
#ifndef TRIAGE_CUDA_GPUD_STATS_H
#define TRIAGE_CUDA_GPUD_STATS_H

#include <stdbool.h>
#include <stddef.h>

#include "shmfile.h"
#include "triage/gpu.h"

/* $TRIAGE_RUN_DIR/gpud-stats (run_dir NULL: the default). */
void gpud_stats_path(const char *run_dir, char *buf, size_t len);

/* gpud: creates the file or takes it over, as an empty table of this
 * process. */
int gpud_stats_create(const char *path, struct shm_file *f, const char *device,
		      const char *policy, int nr_sms, char *err, size_t errlen);

/* gpud: publishes n stages (the header's own fields are kept), and the
 * time of the write. */
void gpud_stats_publish(struct shm_file *f, const struct triage_gpud_stage_stats *stages, int n);

/* gpud, when it exits: no stages, stopped set. */
void gpud_stats_stop(struct shm_file *f);

/* The agent: copies the table of an open reader (shm_file_open() with
 * sizeof(struct triage_gpud_stats)). 0 with copy filled; -EAGAIN when a
 * write stayed in progress; -EPROTO another ABI; -ESRCH when gpud
 * stopped or its pid runs no more. One line in err. */
int gpud_stats_snapshot(const struct shm_file *f, struct triage_gpud_stats *copy, char *err,
			size_t errlen);

#endif
