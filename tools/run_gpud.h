/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * triage-run's GPU stages: the executor's remote unit (exec/exec.h) made
 * of libtriage's triage-gpud client (include/triage/gpud.h).
 */
#ifndef TRIAGE_TOOLS_RUN_GPUD_H
#define TRIAGE_TOOLS_RUN_GPUD_H

#include <stdbool.h>

/* From now on, executors of this process run their @gpu stages on
 * triage-gpud under the workload name, at gpud's critical level or its
 * best-effort one. model is the zoo name gpud loads. The strings must
 * outlive the executors. */
void run_gpud_use(const char *model, const char *name, bool critical);

#endif
