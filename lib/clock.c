// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <time.h>

#include "clock.h"

static uint64_t read_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t mono_ns(void)
{
	return read_ns(CLOCK_MONOTONIC);
}

double mono_us(void)
{
	return (double)mono_ns() / 1e3;
}

double mono_ms(void)
{
	return (double)mono_ns() / 1e6;
}

double mono_s(void)
{
	return (double)mono_ns() / 1e9;
}

double wall_s(void)
{
	return (double)read_ns(CLOCK_REALTIME) / 1e9;
}

uint64_t cputime_ns(void)
{
	return read_ns(CLOCK_PROCESS_CPUTIME_ID);
}

double cputime_ms(void)
{
	return (double)cputime_ns() / 1e6;
}
