// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Platform profiles: the shipped ones load and keep the proportions the
 * planner depends on (big beats LITTLE, the GPU wins dense conv but less
 * so depthwise, fc at batch 1 is memory-bound), the reader appends the
 * aggregate unit, a broken profile is refused naming the field, and the
 * sysfs fallback groups fake cpufreq trees into clusters. Run from the
 * repository root, where models/platforms lives.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpulist.h"
#include "platform.h"

#define DIR "models/platforms"

static const char *const shipped[] = { "orin-agx", "orangepi5", "hikey970", "host" };
#define NR_SHIPPED (sizeof(shipped) / sizeof(shipped[0]))

static void load(const char *name, struct plan_platform *p)
{
	char err[512] = "";

	cr_assert_eq(platform_load_named(DIR, name, p, err, sizeof(err)), 0, "%s", err);
}

static const struct plan_unit *unit(const struct plan_platform *p, const char *name)
{
	int i = platform_unit_index(p, name);

	cr_assert_geq(i, 0, "%s has no unit %s", p->name, name);
	return &p->units[i];
}

/* What the whole unit sustains on op: cores^parallel_eff cores' worth. */
static double whole(const struct plan_unit *u, enum plan_op op)
{
	if (u->kind == PLAN_UNIT_GPU)
		return u->gflops[op];
	return u->gflops[op] * pow(u->cores, u->parallel_eff);
}

Test(platform, every_shipped_profile_loads)
{
	char list[512];

	cr_assert_eq(platform_list(DIR, list, sizeof(list)), (int)NR_SHIPPED, "%s", list);
	for (size_t i = 0; i < NR_SHIPPED; i++) {
		struct platform_info info;
		struct plan_platform p;
		char path[256], err[512] = "";

		snprintf(path, sizeof(path), DIR "/%s.json", shipped[i]);
		cr_assert_eq(platform_load_file(path, &p, &info, err, sizeof(err)), 0, "%s", err);
		cr_assert_str_eq(p.name, shipped[i]);
		cr_assert_gt(info.nr_sources, 0);
		cr_assert_not(info.measured, "%s: no shipped figure is measured yet", p.name);
		cr_assert(strstr(list, shipped[i]), "%s not in %s", shipped[i], list);
	}
}

Test(platform, host_is_an_explicit_placeholder)
{
	struct platform_info info;
	struct plan_platform p;
	char err[512] = "";

	cr_assert_eq(platform_load_file(DIR "/host.json", &p, &info, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_not(info.measured);
	cr_assert(strstr(info.note, "triage-run --profile"), "note: %s", info.note);
	cr_assert_eq(p.nr_units, 2); /* one cluster and the aggregate */
	cr_assert_eq(p.units[0].kind, PLAN_UNIT_CPU);
	cr_assert_eq(p.units[0].cores, 2);
}

Test(platform, orin_has_three_a78_clusters_and_16_sms)
{
	struct plan_platform p;
	int cpu_units = 0;

	load("orin-agx", &p);
	for (int i = 0; i < p.nr_units; i++) {
		if (p.units[i].kind != PLAN_UNIT_CPU || p.units[i].aggregate)
			continue;
		cpu_units++;
		cr_assert_eq(p.units[i].cores, 4, "%s", p.units[i].name);
	}
	cr_assert_eq(cpu_units, 3);
	for (int i = 0; i < 3; i++) {
		char name[PLAN_NAME_MAX];

		snprintf(name, sizeof(name), "a78-%d", i);
		cr_assert_eq(unit(&p, name)->cores, 4);
	}
	cr_assert_eq(unit(&p, "gpu")->kind, PLAN_UNIT_GPU);
	cr_assert_eq(unit(&p, "gpu")->cores, 16);
	cr_assert_float_eq(p.dram_gbps, 204.8, 1e-9);
}

Test(platform, big_beats_little_per_core)
{
	const char *const boards[] = { "orangepi5", "hikey970" };

	for (size_t b = 0; b < 2; b++) {
		struct plan_platform p;

		load(boards[b], &p);
		for (int op = 0; op < PLAN_OP__COUNT; op++)
			cr_assert_gt(unit(&p, "big")->gflops[op], unit(&p, "little")->gflops[op],
				     "%s op %d", p.name, op);
		/* "several times" on dense conv, not a few percent */
		cr_assert_gt(unit(&p, "big")->gflops[PLAN_OP_CONV],
			     2 * unit(&p, "little")->gflops[PLAN_OP_CONV], "%s", p.name);
	}
}

/* The GPU wins dense conv against any whole cluster, by less on depthwise,
 * and pays more per layer: small layers may still belong on a CPU. */
Test(platform, gpu_wins_dense_conv_less_on_depthwise)
{
	for (size_t b = 0; b < NR_SHIPPED; b++) {
		const struct plan_unit *gpu;
		struct plan_platform p;
		int g;

		load(shipped[b], &p);
		g = platform_unit_index(&p, "gpu");
		if (g < 0)
			continue;
		gpu = &p.units[g];
		for (int i = 0; i < p.nr_units; i++) {
			const struct plan_unit *u = &p.units[i];
			double conv_gain, dw_gain;

			if (u->kind != PLAN_UNIT_CPU)
				continue;
			conv_gain = whole(gpu, PLAN_OP_CONV) / whole(u, PLAN_OP_CONV);
			dw_gain = whole(gpu, PLAN_OP_DWCONV) / whole(u, PLAN_OP_DWCONV);
			cr_assert_gt(conv_gain, 1.5, "%s: gpu vs %s conv x%.2f", p.name, u->name,
				     conv_gain);
			cr_assert_lt(dw_gain, conv_gain, "%s: %s", p.name, u->name);
			cr_assert_gt(gpu->launch_us, u->launch_us, "%s: %s", p.name, u->name);
		}
	}
}

/* A 4096x4096 fp32 fc layer at batch 1: 2 FLOP per 4-byte weight. */
Test(platform, fc_at_batch_one_is_memory_bound)
{
	const double flops = 2.0 * 4096 * 4096, bytes = 4.0 * 4096 * 4096;

	for (size_t b = 0; b < NR_SHIPPED; b++) {
		struct plan_platform p;

		load(shipped[b], &p);
		for (int i = 0; i < p.nr_units; i++) {
			const struct plan_unit *u = &p.units[i];
			double compute_s = flops / (whole(u, PLAN_OP_FC) * 1e9);
			double memory_s = bytes / (u->mem_gbps * 1e9);

			cr_assert_gt(memory_s, compute_s, "%s: %s", p.name, u->name);
		}
	}
}

Test(platform, aggregate_unit_is_appended_and_marked)
{
	for (size_t b = 0; b < NR_SHIPPED; b++) {
		const struct plan_unit *agg;
		struct plan_platform p;
		int cores = 0, aggregates = 0;
		double slowest_conv = INFINITY, best_gbps = 0;

		load(shipped[b], &p);
		agg = &p.units[p.nr_units - 1];
		cr_assert_str_eq(agg->name, PLATFORM_AGGREGATE_NAME);
		cr_assert(agg->aggregate);
		cr_assert_eq(agg->kind, PLAN_UNIT_CPU);
		for (int i = 0; i < p.nr_units; i++) {
			const struct plan_unit *u = &p.units[i];

			aggregates += u->aggregate;
			if (u->kind != PLAN_UNIT_CPU || u->aggregate)
				continue;
			cores += u->cores;
			slowest_conv = fmin(slowest_conv, u->gflops[PLAN_OP_CONV]);
			best_gbps = fmax(best_gbps, u->mem_gbps);
			cr_assert_leq(u->launch_us, agg->launch_us);
		}
		cr_assert_eq(aggregates, 1, "%s", p.name);
		cr_assert_eq(agg->cores, cores, "%s", p.name);
		cr_assert_float_eq(agg->gflops[PLAN_OP_CONV], slowest_conv, 1e-9);
		cr_assert_float_eq(agg->mem_gbps, best_gbps, 1e-9);
	}
}

Test(platform, transfer_matrix_covers_every_pair)
{
	for (size_t b = 0; b < NR_SHIPPED; b++) {
		struct plan_platform p;

		load(shipped[b], &p);
		for (int i = 0; i < p.nr_units; i++) {
			for (int j = 0; j < p.nr_units; j++) {
				cr_assert_gt(p.xfer_gbps[i][j], 0, "%s %d>%d", p.name, i, j);
				cr_assert_geq(p.xfer_us[i][j], 0, "%s %d>%d", p.name, i, j);
				if (i != j && p.units[i].kind != p.units[j].kind)
					cr_assert_gt(p.xfer_us[i][j], 0, "%s: %s>%s", p.name,
						     p.units[i].name, p.units[j].name);
			}
		}
	}
}

/* Provenance is not read into the planner's struct, so check the files:
 * every figure of every unit, and the platform's own, has a "why". */
Test(platform, every_shipped_figure_says_why)
{
	static const char *const unit_figures[] = { "cores",	"gflops",    "parallel_eff",
						    "mem_gbps", "launch_us", "mem_mb" };

	for (size_t b = 0; b < NR_SHIPPED; b++) {
		struct json_object *root, *units, *why, *val;
		char path[256];

		snprintf(path, sizeof(path), DIR "/%s.json", shipped[b]);
		root = json_object_from_file(path);
		cr_assert_not_null(root, "%s", path);
		cr_assert(json_object_object_get_ex(root, "why", &why), "%s", path);
		cr_assert(json_object_object_get_ex(why, "dram_gbps", &val), "%s", path);
		cr_assert(json_object_object_get_ex(why, "transfers", &val), "%s", path);
		cr_assert(json_object_object_get_ex(root, "units", &units));
		for (size_t i = 0; i < json_object_array_length(units); i++) {
			struct json_object *u = json_object_array_get_idx(units, i);

			cr_assert(json_object_object_get_ex(u, "why", &why), "%s units[%zu]", path,
				  i);
			for (size_t f = 0; f < sizeof(unit_figures) / sizeof(unit_figures[0]); f++)
				cr_assert(json_object_object_get_ex(why, unit_figures[f], &val),
					  "%s units[%zu].why.%s missing", path, i, unit_figures[f]);
		}
		json_object_put(root);
	}
}

Test(platform, unknown_name_lists_the_available_ones)
{
	struct plan_platform p;
	char err[512] = "";

	cr_assert_neq(platform_load_named(DIR, "nosuchboard", &p, err, sizeof(err)), 0);
	cr_assert(strstr(err, "nosuchboard"), "%s", err);
	cr_assert(strstr(err, "orin-agx") && strstr(err, "hikey970") && strstr(err, "host"), "%s",
		  err);
	cr_assert_neq(platform_load_named(DIR, "../orin-agx", &p, err, sizeof(err)), 0);
}

Test(platform, default_dir)
{
	unsetenv("TRIAGE_PLATFORMS");
	cr_assert_str_eq(platform_default_dir(), "models/platforms");
	setenv("TRIAGE_PLATFORMS", "/elsewhere/platforms", 1);
	cr_assert_str_eq(platform_default_dir(), "/elsewhere/platforms");
	unsetenv("TRIAGE_PLATFORMS");
}

/* ---- temp trees for broken profiles and fake sysfs ------------------------- */

static char tmp_root[256];

static void make_tmp(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmp_root, sizeof(tmp_root), "%s/triage-platform-XXXXXX",
		 base && base[0] ? base : "/tmp");
	cr_assert_not_null(mkdtemp(tmp_root), "mkdtemp: %s", strerror(errno));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void remove_tmp(void)
{
	nftw(tmp_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes text to tmp_root/rel, creating the directories on the way. */
static void put(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp_root, rel);
	for (char *slash = strchr(path + strlen(tmp_root) + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

/* ---- broken profiles ----------------------------------------------------------- */

#define GFLOPS(dw) "\"gflops\":{\"conv\":20,\"dwconv\":" dw ",\"fc\":10,\"pool\":5,\"eltwise\":4}"
#define CPU(name, cores, pe, gbps)                                                                 \
	"{\"name\":\"" name "\",\"kind\":\"cpu\",\"cores\":" cores                                 \
	"," GFLOPS("7") ",\"parallel_eff\":" pe ",\"mem_gbps\":" gbps                              \
			",\"launch_us\":5,\"mem_mb\":100}"
#define BIG CPU("big", "4", "0.9", "10")
#define GPU(kind, dw)                                                                              \
	"{\"name\":\"gpu\",\"kind\":\"" kind "\",\"cores\":4," GFLOPS(                             \
		dw) ",\"parallel_eff\":1,\"mem_gbps\":20,\"launch_us\":50,\"mem_mb\":100}"
#define CELL "{\"gbps\":5,\"us\":80}"
#define XFER "\"transfers\":{\"big\":{\"gpu\":" CELL "},\"gpu\":{\"big\":" CELL "}}"
#define HEAD "\"name\":\"bad\",\"measured\":false,\"dram_gbps\":30"
#define SOURCES "\"sources\":[\"a datasheet\"]"
#define PROFILE(units, xfer, extra) "{" HEAD ",\"units\":[" units "]," xfer "," SOURCES extra "}"
#define GOOD PROFILE(BIG "," GPU("gpu", "7"), XFER, "")

static const struct bad_profile {
	const char *text;
	const char *error; /* how the one-line error must start */
} bad_profiles[] = {
	{ PROFILE(BIG "," GPU("gpu", "7"), XFER, ",\"colour\":1"),
	  "bad.json: colour: unknown key" },
	{ PROFILE("{\"name\":\"big\",\"kind\":\"cpu\",\"cores\":4," GFLOPS(
			  "7") ",\"parallel_eff\":0.9,"
			       "\"launch_us\":5,\"mem_mb\":100}," GPU("gpu", "7"),
		  XFER, ""),
	  "bad.json: units[0].mem_gbps: required key missing" },
	{ PROFILE(BIG "," GPU("gpu", "-1"), XFER, ""),
	  "bad.json: units[1].gflops.dwconv: must be a number in (0, " },
	{ PROFILE(BIG "," GPU("gpu", "\"fast\""), XFER, ""),
	  "bad.json: units[1].gflops.dwconv: must be a number" },
	{ PROFILE(CPU("big", "4", "1.5", "10") "," GPU("gpu", "7"), XFER, ""),
	  "bad.json: units[0].parallel_eff: must be a number in (0, 1]" },
	{ PROFILE(CPU("big", "0", "0.9", "10") "," GPU("gpu", "7"), XFER, ""),
	  "bad.json: units[0].cores: must be an integer in 1..64" },
	{ PROFILE(CPU("big", "50", "0.9", "10") "," CPU("little", "50", "0.9", "5"),
		  "\"transfers\":{\"big\":{\"little\":" CELL "},\"little\":{\"big\":" CELL "}}",
		  ""),
	  "bad.json: units: 100 CPU cores in all, at most 64" },
	{ PROFILE(CPU("big", "4", "0.9", "50") "," GPU("gpu", "7"), XFER, ""),
	  "bad.json: units[0].mem_gbps: 50 is more than dram_gbps 30" },
	{ PROFILE(BIG "," GPU("npu", "7"), XFER, ""),
	  "bad.json: units[1].kind: must be \"cpu\" or" },
	{ PROFILE(CPU("cpu", "4", "0.9", "10"), "\"transfers\":{}", ""),
	  "bad.json: units[0].name: \"cpu\" is reserved" },
	{ PROFILE(CPU("Big!", "4", "0.9", "10"), "\"transfers\":{}", ""),
	  "bad.json: units[0].name: must be lower-case" },
	{ PROFILE(BIG "," CPU("big", "4", "0.9", "10"),
		  "\"transfers\":{\"big\":{\"big\":" CELL "}}", ""),
	  "bad.json: units[1].name: duplicate unit name \"big\" (also units[0])" },
	{ PROFILE("1,2,3,4,5,6,7,8", XFER, ""), "bad.json: units: 8 units, at most 7" },
	{ PROFILE(GPU("gpu", "7"), "\"transfers\":{}", ""),
	  "bad.json: units: must hold at least one \"cpu\" unit" },
	{ PROFILE(BIG "," GPU("gpu", "7"), "\"transfers\":{\"big\":{\"gpu\":" CELL "}}", ""),
	  "bad.json: transfers.gpu.big: missing: every ordered pair" },
	{ PROFILE(BIG "," GPU("gpu", "7"),
		  "\"transfers\":{\"big\":{\"gpu\":" CELL ",\"dsp\":" CELL
		  "},\"gpu\":{\"big\":" CELL "}}",
		  ""),
	  "bad.json: transfers.big.dsp: unknown unit (units: big, gpu)" },
	{ PROFILE(BIG "," GPU("gpu", "7"),
		  "\"transfers\":{\"big\":{\"big\":" CELL ",\"gpu\":" CELL
		  "},\"gpu\":{\"big\":" CELL "}}",
		  ""),
	  "bad.json: transfers.big.big: a unit hands nothing to itself" },
	{ PROFILE(BIG "," GPU("gpu", "7"),
		  "\"transfers\":{\"big\":{\"gpu\":{\"gbps\":0,\"us\":1}},\"gpu\":{\"big\":" CELL
		  "}}",
		  ""),
	  "bad.json: transfers.big.gpu.gbps: must be a number in (0, " },
	{ PROFILE("{\"name\":\"big\",\"kind\":\"cpu\",\"cores\":4,\"gflops\":{\"conv\":1,"
		  "\"dwconv\":1,"
		  "\"fc\":1,\"pool\":1,\"eltwise\":1,\"conv3d\":1},\"parallel_eff\":0.9,"
		  "\"mem_gbps\":10,\"launch_us\":5,\"mem_mb\":100}",
		  "\"transfers\":{}", ""),
	  "bad.json: units[0].gflops.conv3d: unknown key" },
	{ PROFILE("{\"name\":\"big\",\"kind\":\"cpu\",\"cores\":4," GFLOPS(
			  "7") ",\"parallel_eff\":0.9,"
			       "\"mem_gbps\":10,\"launch_us\":5,\"mem_mb\":100,\"why\":{\"speed\":"
			       "\"fast\"}}",
		  "\"transfers\":{}", ""),
	  "bad.json: units[0].why.speed: unknown key" },
	{ PROFILE(BIG, "\"transfers\":{}", ",\"sources\":[]"), "bad.json: sources: must cite" },
	{ "{\"name\":\"bad\",\"dram_gbps\":30,\"units\":[" BIG "],\"transfers\":{}," SOURCES "}",
	  "bad.json: measured: required key missing" },
	{ "{\"name\":\"other\",\"measured\":false,\"dram_gbps\":30,\"units\":[" BIG
	  "],\"transfers\":{}," SOURCES "}",
	  "bad.json: name: \"other\" does not match the file name" },
	{ "{" HEAD ",\"units\":[" BIG ",],\"transfers\":{}," SOURCES "}",
	  "bad.json: line 1, column" },
};

Test(platform, a_well_formed_profile_loads, .init = make_tmp, .fini = remove_tmp)
{
	struct plan_platform p;
	char path[512], err[512] = "";

	put("bad.json", GOOD);
	snprintf(path, sizeof(path), "%s/bad.json", tmp_root);
	cr_assert_eq(platform_load_file(path, &p, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.nr_units, 3);
	cr_assert_float_eq(p.xfer_us[0][1], 80, 1e-9);
}

Test(platform, broken_profiles_are_refused_naming_the_field, .init = make_tmp, .fini = remove_tmp)
{
	for (size_t i = 0; i < sizeof(bad_profiles) / sizeof(bad_profiles[0]); i++) {
		const struct bad_profile *bad = &bad_profiles[i];
		struct plan_platform p, before;
		char path[512], err[512] = "";

		put("bad.json", bad->text);
		snprintf(path, sizeof(path), "%s/bad.json", tmp_root);
		memset(&p, 0xa5, sizeof(p));
		before = p;
		cr_assert_neq(platform_load_file(path, &p, NULL, err, sizeof(err)), 0,
			      "case %zu loaded: %s", i, bad->text);
		cr_assert(!strncmp(err, bad->error, strlen(bad->error)),
			  "case %zu:\n  got      %s\n  expected %s...", i, err, bad->error);
		cr_assert_null(strchr(err, '\n'), "case %zu: not one line: %s", i, err);
		cr_assert(!memcmp(&p, &before, sizeof(p)), "case %zu: platform touched", i);
	}
}

/* ---- the sysfs fallback on fake trees --------------------------------------------- */

#define ONLINE "devices/system/cpu/online"
#define POLICY(n, file) "devices/system/cpu/cpufreq/policy" #n "/" file

static void detect(struct plan_platform *p)
{
	char err[512] = "";

	cr_assert_eq(platform_detect_host_at(tmp_root, p, err, sizeof(err)), 0, "%s", err);
	cr_assert(p->units[p->nr_units - 1].aggregate);
	for (int i = 0; i < p->nr_units; i++) {
		cr_assert_eq(p->units[i].kind, PLAN_UNIT_CPU);
		for (int j = 0; j < p->nr_units; j++)
			cr_assert_gt(p->xfer_gbps[i][j], 0);
	}
}

static void assert_unit(const struct plan_platform *p, int i, const char *name, int cores)
{
	cr_assert_lt(i, p->nr_units);
	cr_assert_str_eq(p->units[i].name, name);
	cr_assert_eq(p->units[i].cores, cores, "%s", name);
}

/* cpufreq writes related_cpus space-separated, "online" as ranges. */
static void put_big_little(const char *online)
{
	put(ONLINE, online);
	put(POLICY(0, "related_cpus"), "0 1 2 3\n");
	put(POLICY(0, "cpuinfo_max_freq"), "1800000\n");
	put(POLICY(4, "related_cpus"), "4 5 6 7\n");
	put(POLICY(4, "cpuinfo_max_freq"), "2400000\n");
}

Test(platform, detect_two_policies_fastest_first_as_big, .init = make_tmp, .fini = remove_tmp)
{
	struct plan_platform p;

	put_big_little("0-7\n");
	detect(&p);
	cr_assert_eq(p.nr_units, 3);
	assert_unit(&p, 0, "big", 4);
	assert_unit(&p, 1, "little", 4);
	assert_unit(&p, 2, PLATFORM_AGGREGATE_NAME, 8);
	cr_assert_gt(p.units[0].gflops[PLAN_OP_CONV], 2 * p.units[1].gflops[PLAN_OP_CONV]);
	cr_assert_float_eq(p.units[2].gflops[PLAN_OP_CONV], p.units[1].gflops[PLAN_OP_CONV], 1e-9);
}

Test(platform, detect_counts_only_online_cpus, .init = make_tmp, .fini = remove_tmp)
{
	struct plan_platform p;

	put_big_little("0-5\n");
	detect(&p);
	assert_unit(&p, 0, "big", 2);
	assert_unit(&p, 1, "little", 4);
}

Test(platform, detect_without_cpufreq_one_cluster, .init = make_tmp, .fini = remove_tmp)
{
	struct plan_platform p;

	put(ONLINE, "0-1\n");
	detect(&p);
	cr_assert_eq(p.nr_units, 2);
	assert_unit(&p, 0, "cpu0", 2);
	assert_unit(&p, 1, PLATFORM_AGGREGATE_NAME, 2);
	cr_assert_gt(p.units[0].mem_mb, 0);
}

Test(platform, detect_equal_clusters_as_orin, .init = make_tmp, .fini = remove_tmp)
{
	struct plan_platform p;

	put(ONLINE, "0-11\n");
	put(POLICY(0, "related_cpus"), "0 1 2 3\n");
	put(POLICY(0, "cpuinfo_max_freq"), "2201600\n");
	put(POLICY(4, "related_cpus"), "4 5 6 7\n");
	put(POLICY(4, "cpuinfo_max_freq"), "2201600\n");
	put(POLICY(8, "related_cpus"), "8 9 10 11\n");
	put(POLICY(8, "cpuinfo_max_freq"), "2201600\n");
	detect(&p);
	cr_assert_eq(p.nr_units, 4);
	assert_unit(&p, 0, "cpu0", 4);
	assert_unit(&p, 1, "cpu1", 4);
	assert_unit(&p, 2, "cpu2", 4);
}

Test(platform, detect_tiers_as_rk3588, .init = make_tmp, .fini = remove_tmp)
{
	struct plan_platform p;

	put(ONLINE, "0-7\n");
	put(POLICY(0, "related_cpus"), "0 1 2 3\n");
	put(POLICY(0, "cpuinfo_max_freq"), "1800000\n");
	put(POLICY(4, "related_cpus"), "4 5\n");
	put(POLICY(4, "cpuinfo_max_freq"), "2400000\n");
	put(POLICY(6, "related_cpus"), "6 7\n");
	put(POLICY(6, "cpuinfo_max_freq"), "2352000\n");
	detect(&p);
	assert_unit(&p, 0, "big0", 2);
	assert_unit(&p, 1, "big1", 2);
	assert_unit(&p, 2, "little", 4);
}

/* x86 gives every CPU its own policy: that is no cluster structure. */
Test(platform, detect_per_cpu_policies_merge, .init = make_tmp, .fini = remove_tmp)
{
	struct plan_platform p;
	char rel[64], freq[64], cpu[8];

	put(ONLINE, "0-3\n");
	for (int i = 0; i < 4; i++) {
		snprintf(rel, sizeof(rel), "devices/system/cpu/cpufreq/policy%d/related_cpus", i);
		snprintf(freq, sizeof(freq), "devices/system/cpu/cpufreq/policy%d/cpuinfo_max_freq",
			 i);
		snprintf(cpu, sizeof(cpu), "%d\n", i);
		put(rel, cpu);
		put(freq, "3000000\n");
	}
	detect(&p);
	cr_assert_eq(p.nr_units, 2);
	assert_unit(&p, 0, "cpu0", 4);
}

/* ---- the CPUs a unit's stages are pinned to ----------------------------------- */

static int set_to_mask(const cpu_set_t *set)
{
	int mask = 0;

	for (int cpu = 0; cpu < 31; cpu++)
		if (CPU_ISSET(cpu, set))
			mask |= 1 << cpu;
	return mask;
}

Test(platform, unit_cpus_of_the_detected_host, .init = make_tmp, .fini = remove_tmp)
{
	struct plan_platform p;
	cpu_set_t set;

	put(ONLINE, "0-7\n");
	put(POLICY(0, "related_cpus"), "0 1 2 3\n");
	put(POLICY(0, "cpuinfo_max_freq"), "1800000\n");
	put(POLICY(4, "related_cpus"), "4 5\n");
	put(POLICY(4, "cpuinfo_max_freq"), "2400000\n");
	put(POLICY(6, "related_cpus"), "6 7\n");
	put(POLICY(6, "cpuinfo_max_freq"), "2352000\n");
	detect(&p);
	cr_assert_eq(platform_unit_cpus_at(tmp_root, &p, 0, &set), 0);
	cr_assert_eq(set_to_mask(&set), 0x30, "big0 is CPUs 4-5, got %#x", set_to_mask(&set));
	cr_assert_eq(platform_unit_cpus_at(tmp_root, &p, 1, &set), 0);
	cr_assert_eq(set_to_mask(&set), 0xc0);
	cr_assert_eq(platform_unit_cpus_at(tmp_root, &p, 2, &set), 0);
	cr_assert_eq(set_to_mask(&set), 0x0f);
	cr_assert_eq(platform_unit_cpus_at(tmp_root, &p, 3, &set), 0, "the aggregate");
	cr_assert_eq(set_to_mask(&set), 0xff);
	cr_assert_eq(platform_unit_cpus_at(tmp_root, &p, 4, &set), -1, "no such unit");
}

/* A profile of another board (Orin's 3x4 on this 2-CPU tree): every CPU,
 * and the answer says the pinning is not the profile's. */
Test(platform, unit_cpus_of_another_board_are_every_cpu, .init = make_tmp, .fini = remove_tmp)
{
	struct plan_platform p;
	char err[512] = "";
	cpu_set_t set;
	int gpu;

	put(ONLINE, "0-1\n");
	cr_assert_eq(platform_load_named(NULL, "orin-agx", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(platform_unit_cpus_at(tmp_root, &p, 0, &set), 1);
	cr_assert_eq(set_to_mask(&set), 0x3);
	gpu = platform_unit_index(&p, "gpu");
	cr_assert_geq(gpu, 0);
	cr_assert_eq(platform_unit_cpus_at(tmp_root, &p, gpu, &set), -1);
	cr_assert_eq(CPU_COUNT(&set), 0);
}

/* Two one-core units on a two-CPU machine: one CPU each, in order. */
Test(platform, unit_cpus_split_in_order_when_the_cores_add_up, .init = make_tmp, .fini = remove_tmp)
{
	struct plan_platform p;
	cpu_set_t set;
	char err[512] = "";

	put(ONLINE, "0-1\n");
	detect(&p);
	p.units[1] = p.units[0];
	p.units[0].cores = p.units[1].cores = 1;
	snprintf(p.units[1].name, sizeof(p.units[1].name), "second");
	p.nr_units = 2;
	cr_assert_eq(platform_append_aggregate(&p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(platform_unit_cpus_at(tmp_root, &p, 0, &set), 0);
	cr_assert_eq(set_to_mask(&set), 0x1);
	cr_assert_eq(platform_unit_cpus_at(tmp_root, &p, 1, &set), 0);
	cr_assert_eq(set_to_mask(&set), 0x2);
	cr_assert_eq(platform_unit_cpus_at(tmp_root, &p, 2, &set), 0);
	cr_assert_eq(set_to_mask(&set), 0x3);
}

Test(platform, cpu_list_text)
{
	cpu_set_t set;
	char out[64];

	CPU_ZERO(&set);
	cpulist_format(&set, out, sizeof(out));
	cr_assert_str_eq(out, "");
	CPU_SET(0, &set);
	CPU_SET(1, &set);
	CPU_SET(2, &set);
	CPU_SET(5, &set);
	CPU_SET(7, &set);
	CPU_SET(8, &set);
	cpulist_format(&set, out, sizeof(out));
	cr_assert_str_eq(out, "0-2,5,7-8");
}
