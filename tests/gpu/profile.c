// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * triage-gpud --profile's measurement (cuda/gpu_profile.c), into profiles
 * in a temporary directory, each read back through the platform reader:
 *  - a measured profile with two CPU clusters and someone else's GPU unit:
 *    the GPU unit is replaced by "gpu" with the device's SMs and a rate
 *    for every op class, hand-overs to and from both clusters, and the
 *    clusters, their hand-over and "measured" are kept as they were;
 *  - the same file again: still one GPU unit, and the words this run adds
 *    to "why" and "sources" are there once;
 *  - no file yet: the host's CPU units from sysfs, "measured" false, the
 *    GPU appended;
 *  - a file the reader refuses: an error naming it, and the file untouched.
 * Light (the CPU stand-in driver): one model, one timed run, small copies;
 * the figures then mean nothing, only the plumbing is checked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu_profile.h"
#include "platform.h"
#include "gpu_tests.h"

static const char seeded[] =
	"{\n"
	"  \"name\": \"seeded\",\n"
	"  \"description\": \"two clusters measured by triage-run --profile, and a GPU unit to replace\",\n"
	"  \"measured\": true,\n"
	"  \"dram_gbps\": 30,\n"
	"  \"units\": [\n"
	"    { \"name\": \"big\", \"kind\": \"cpu\", \"cores\": 2,\n"
	"      \"gflops\": { \"conv\": 21.5, \"dwconv\": 7.25, \"fc\": 10.5, \"pool\": 5.5, \"eltwise\": 4.25 },\n"
	"      \"parallel_eff\": 0.9, \"mem_gbps\": 12.5, \"launch_us\": 6.5, \"mem_mb\": 1000,\n"
	"      \"why\": { \"gflops\": \"seeded\" } },\n"
	"    { \"name\": \"little\", \"kind\": \"cpu\", \"cores\": 2,\n"
	"      \"gflops\": { \"conv\": 5.5, \"dwconv\": 2.25, \"fc\": 2.5, \"pool\": 1.5, \"eltwise\": 1.25 },\n"
	"      \"parallel_eff\": 0.85, \"mem_gbps\": 6.5, \"launch_us\": 8.5, \"mem_mb\": 500 },\n"
	"    { \"name\": \"mali\", \"kind\": \"gpu\", \"cores\": 4,\n"
	"      \"gflops\": { \"conv\": 100, \"dwconv\": 20, \"fc\": 20, \"pool\": 10, \"eltwise\": 10 },\n"
	"      \"parallel_eff\": 1, \"mem_gbps\": 20, \"launch_us\": 50, \"mem_mb\": 2000 }\n"
	"  ],\n"
	"  \"transfers\": {\n"
	"    \"big\": { \"little\": { \"gbps\": 6.5, \"us\": 11.5 }, \"mali\": { \"gbps\": 3, \"us\": 80 } },\n"
	"    \"little\": { \"big\": { \"gbps\": 6.25, \"us\": 12.5 }, \"mali\": { \"gbps\": 3, \"us\": 80 } },\n"
	"    \"mali\": { \"big\": { \"gbps\": 3, \"us\": 90 }, \"little\": { \"gbps\": 3, \"us\": 90 } }\n"
	"  },\n"
	"  \"why\": { \"transfers\": \"seeded.\" },\n"
	"  \"sources\": [ \"the test\" ]\n"
	"}\n";

static const char refused[] = "{ \"name\": \"refused\", \"measured\": true, \"typo\": 1 }\n";

struct cpu_expect {
	const char *name;
	double conv, eltwise, launch_us, mem_mb;
};

static const struct cpu_expect seeded_cpus[] = {
	{ "big", 21.5, 4.25, 6.5, 1000 },
	{ "little", 5.5, 1.25, 8.5, 500 },
};

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) ? -1 : 0;
}

static char *read_text_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = calloc(1, 1 << 20);
	n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

static int count(const char *text, const char *what)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static int run(struct gpu_device *g, const char *path, char *err, size_t errlen)
{
	static const char *const light_models[] = { "mobilenetv2" };
	const struct gpud_profile_opts light = {
		.models = light_models, .nr_models = 1, .runs = 1, .copy_bytes = 1 << 20,
		.xfer_bytes = 256 << 10, .launches = 20,
	};

	if (tests_light)
		return gpud_profile_with(g, &light, path, false, err, errlen);
	return gpud_profile(g, NULL, path, false, err, errlen);
}

/* The GPU unit of the profile at path, checked; 0, or -1 with why. */
static int check_gpu(const struct gpu_device *g, const char *path, struct plan_platform *p,
		     struct platform_info *info, char *why, size_t len)
{
	char err[400];
	int gpu = -1, nr_gpu = 0;

	if (platform_load_file(path, p, info, err, sizeof(err))) {
		snprintf(why, len, "does not read back: %s", err);
		return -1;
	}
	for (int u = 0; u < p->nr_units; u++)
		if (p->units[u].kind == PLAN_UNIT_GPU) {
			gpu = u;
			nr_gpu++;
		}
	if (nr_gpu != 1 || strcmp(p->units[gpu].name, GPU_PROFILE_UNIT)) {
		snprintf(why, len, "%d GPU units, the last \"%s\"; want one, \"%s\"", nr_gpu,
			 gpu >= 0 ? p->units[gpu].name : "", GPU_PROFILE_UNIT);
		return -1;
	}
	if (p->units[gpu].cores != g->nr_sms) {
		snprintf(why, len, "cores %d, the device has %d SMs", p->units[gpu].cores, g->nr_sms);
		return -1;
	}
	for (int op = 0; op < PLAN_OP__COUNT; op++)
		if (!(p->units[gpu].gflops[op] > 0)) {
			snprintf(why, len, "gflops[%d] is %g", op, p->units[gpu].gflops[op]);
			return -1;
		}
	if (!(p->units[gpu].mem_gbps > 0) || !(p->units[gpu].mem_mb > 0) ||
	    p->units[gpu].parallel_eff != 1) {
		snprintf(why, len, "mem_gbps %g, mem_mb %g, parallel_eff %g", p->units[gpu].mem_gbps,
			 p->units[gpu].mem_mb, p->units[gpu].parallel_eff);
		return -1;
	}
	for (int u = 0; u < p->nr_units; u++)
		if (u != gpu && !p->units[u].aggregate &&
		    (!(p->xfer_gbps[u][gpu] > 0) || !(p->xfer_gbps[gpu][u] > 0))) {
			snprintf(why, len, "hand-over %s <-> gpu: %g and %g GB/s", p->units[u].name,
				 p->xfer_gbps[u][gpu], p->xfer_gbps[gpu][u]);
			return -1;
		}
	return 0;
}

static int check_seeded_kept(const struct plan_platform *p, const struct platform_info *info,
			     char *why, size_t len)
{
	int big = platform_unit_index(p, "big"), little = platform_unit_index(p, "little");

	if (!info->measured || p->nr_units != 4 || platform_unit_index(p, "mali") >= 0) {
		snprintf(why, len, "measured %d, %d units (want big, little, gpu and the aggregate)",
			 info->measured, p->nr_units);
		return -1;
	}
	for (size_t k = 0; k < sizeof(seeded_cpus) / sizeof(seeded_cpus[0]); k++) {
		const struct cpu_expect *e = &seeded_cpus[k];
		int u = platform_unit_index(p, e->name);

		if (u < 0 || p->units[u].kind != PLAN_UNIT_CPU ||
		    p->units[u].gflops[PLAN_OP_CONV] != e->conv ||
		    p->units[u].gflops[PLAN_OP_ELTWISE] != e->eltwise ||
		    p->units[u].launch_us != e->launch_us || p->units[u].mem_mb != e->mem_mb) {
			snprintf(why, len, "CPU unit %s not kept as seeded", e->name);
			return -1;
		}
	}
	if (p->xfer_gbps[big][little] != 6.5 || p->xfer_us[big][little] != 11.5 ||
	    p->xfer_gbps[little][big] != 6.25 || p->xfer_us[little][big] != 12.5) {
		snprintf(why, len, "the big <-> little hand-overs were not kept");
		return -1;
	}
	return 0;
}

void test_gpud_profile(struct gpu_device *g)
{
	char dir[] = "/tmp/triage-gpud-profile.XXXXXX", path[256], err[400], why[512];
	struct platform_info info;
	struct plan_platform p;
	char *text = NULL;

	if (!mkdtemp(dir)) {
		tap_not_ok("gpud profile: mkdtemp: %s", strerror(errno));
		return;
	}

	/* A measured profile with someone else's GPU unit. */
	snprintf(path, sizeof(path), "%s/seeded.json", dir);
	if (write_text(path, seeded))
		tap_not_ok("gpud profile: cannot write %s", path);
	else if (run(g, path, err, sizeof(err)))
		tap_not_ok("gpud profile into a measured profile: %s", err);
	else if (check_gpu(g, path, &p, &info, why, sizeof(why)) ||
		 check_seeded_kept(&p, &info, why, sizeof(why)))
		tap_not_ok("gpud profile into a measured profile: %s", why);
	else
		tap_ok("gpud profile into a measured profile: GPU unit \"mali\" replaced by \"gpu\" (%d SMs, conv %.3g GFLOP/s), CPU units and their hand-overs kept",
		       g->nr_sms,
		       p.units[platform_unit_index(&p, GPU_PROFILE_UNIT)].gflops[PLAN_OP_CONV]);

	/* Again: replaced, not added to. */
	if (run(g, path, err, sizeof(err)))
		tap_not_ok("gpud profile, a second run: %s", err);
	else if (check_gpu(g, path, &p, &info, why, sizeof(why)) ||
		 check_seeded_kept(&p, &info, why, sizeof(why)))
		tap_not_ok("gpud profile, a second run: %s", why);
	else if (!(text = read_text_file(path)) || count(text, "GPU hand-overs (triage-gpud --profile)") != 1 ||
		 count(text, "by triage-gpud --profile (docs/gpud.md)") != 1 ||
		 count(text, "\"seeded.") != 1)
		tap_not_ok("gpud profile, a second run: what it writes into why and sources is not there exactly once");
	else
		tap_ok("gpud profile, a second run: the GPU unit replaced, one GPU unit, the rest as before");
	free(text);
	unlink(path);

	/* No profile yet: the host's CPUs, from sysfs. */
	snprintf(path, sizeof(path), "%s/fresh.json", dir);
	if (run(g, path, err, sizeof(err)))
		tap_not_ok("gpud profile with no profile yet: %s", err);
	else if (check_gpu(g, path, &p, &info, why, sizeof(why)))
		tap_not_ok("gpud profile with no profile yet: %s", why);
	else if (info.measured || p.nr_units < 3 || strcmp(p.name, "fresh"))
		tap_not_ok("gpud profile with no profile yet: measured %d, %d units, name %s",
			   info.measured, p.nr_units, p.name);
	else
		tap_ok("gpud profile with no profile yet: %d CPU unit%s from sysfs, the GPU appended, \"measured\" false",
		       p.nr_units - 2, p.nr_units == 3 ? "" : "s");
	unlink(path);

	/* A file the reader refuses is left alone, and nothing is measured. */
	snprintf(path, sizeof(path), "%s/refused.json", dir);
	text = NULL;
	if (write_text(path, refused))
		tap_not_ok("gpud profile: cannot write %s", path);
	else if (!run(g, path, err, sizeof(err)))
		tap_not_ok("gpud profile into a file the reader refuses: it succeeded");
	else if (!strstr(err, "refused.json") || strchr(err, '\n') ||
		 !(text = read_text_file(path)) || strcmp(text, refused))
		tap_not_ok("gpud profile into a file the reader refuses: \"%s\", or the file changed", err);
	else
		tap_ok("gpud profile into a file the reader refuses: one line (%s), the file untouched", err);
	free(text);
	unlink(path);
	if (rmdir(dir))
		tap_not_ok("gpud profile: %s left files behind: %s", dir, strerror(errno));
}
