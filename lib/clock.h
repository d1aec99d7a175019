/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The clocks every part reads: CLOCK_MONOTONIC for deadlines, periods and
 * latencies (it never jumps with the wall clock), and the process's CPU
 * time for the cost of the agent's own work. */
#ifndef TRIAGE_LIB_CLOCK_H
#define TRIAGE_LIB_CLOCK_H

#include <stdint.h>

uint64_t mono_ns(void);
double mono_us(void);
double mono_ms(void);
double mono_s(void);

/* Seconds since the epoch (CLOCK_REALTIME): for timestamps a person reads,
 * never for intervals. */
double wall_s(void);

/* CPU time this process has used (CLOCK_PROCESS_CPUTIME_ID). */
uint64_t cputime_ns(void);
double cputime_ms(void);

#endif
