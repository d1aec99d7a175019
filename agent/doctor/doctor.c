// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Probes for the pieces triage builds on. Each probe asks the kernel or
 * sysfs directly (a real syscall, a real file) rather than trusting version
 * numbers, because vendor kernels (L4T) backport and strip features freely.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include <triage/gpu.h>

#include "gpud_stats.h"

#include "cpulist.h"
#include "doctor/doctor.h"
#include "doctor/gpu_gate.h"
#include "fsutil.h"
#include "kmod/kmod_client.h"
#include "log.h"

static const char *const gpu_node_names[] = { "ga10b", "gv11b", "gp10b", "gpu", "gpu-gpc-0" };

static void probe_bpf(struct doctor_report *r)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "triage_probe", 4, 4, 1, NULL);

	r->bpf_syscall = fd >= 0 || (errno != ENOSYS && errno != EPERM);
	if (fd >= 0)
		close(fd);
	r->task_storage = r->bpf_syscall &&
			  libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, NULL) == 1;
}

/* Asks the module itself: a loaded triage.ko of another ABI is as good as
 * none, and the agent would refuse it. */
static void probe_kmod(struct doctor_report *r, const char *sysfs_root)
{
	struct kmod_client *c;
	struct kmod_info info;
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/module/triage", sysfs_root);
	r->kmod_loaded = stat(path, &st) == 0;
	c = kmod_client_open(&info, r->kmod_detail, sizeof(r->kmod_detail));
	r->kmod_abi = info.abi_version;
	r->kmod_features = info.features;
	snprintf(r->kmod_version, sizeof(r->kmod_version), "%s", info.module_version);
	if (!c)
		return;
	kmod_client_close(c);
	r->kmod_usable = true;
}

/* The order sensors_open(SENSORS_AUTO) tries them in. */
static enum sensors_kind predict_auto(const struct doctor_report *r)
{
	if (r->bpf_syscall && r->kernel_btf && r->task_storage)
		return SENSORS_BPF;
	if (r->kmod_usable && (r->kmod_features & TRIAGE_FEAT_CPU_STATS))
		return SENSORS_KMOD;
	return r->proc_sensors ? SENSORS_PROC : SENSORS_NONE;
}

static void probe_gpu(struct doctor_report *r, const char *sysfs_root)
{
	char path[512], name[64];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/class/devfreq", sysfs_root);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/class/devfreq/%s/device/of_node/name", sysfs_root,
			 de->d_name);
		if (read_first_line(path, name, sizeof(name)))
			continue;
		for (size_t i = 0; i < sizeof(gpu_node_names) / sizeof(gpu_node_names[0]); i++) {
			if (strcmp(name, gpu_node_names[i]))
				continue;
			snprintf(r->gpu_devfreq, sizeof(r->gpu_devfreq), "%s/class/devfreq/%s",
				 sysfs_root, de->d_name);
			snprintf(r->gpu_name, sizeof(r->gpu_name), "%s", name);
			closedir(dir);
			return;
		}
	}
	closedir(dir);
}

static void add_cluster(struct doctor_report *r, const char *cpus)
{
	for (int i = 0; i < r->nr_clusters; i++)
		if (!strcmp(r->clusters[i], cpus))
			return;
	if (r->nr_clusters < DOCTOR_MAX_CLUSTERS)
		snprintf(r->clusters[r->nr_clusters++], sizeof(r->clusters[0]), "%s", cpus);
}

/* Clusters are DVFS domains: cpufreq policies' related_cpus (cluster_id in
 * sysfs only exists from Linux 5.16), else physical packages. */
static void probe_clusters(struct doctor_report *r, const char *sysfs_root)
{
	char path[512], line[64];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/devices/system/cpu/online", sysfs_root);
	if (!read_first_line(path, line, sizeof(line)))
		r->nr_cpus_online = cpulist_parse(line, strlen(line), CPU_SETSIZE, 0, NULL);
	if (r->nr_cpus_online <= 0)
		r->nr_cpus_online = (int)sysconf(_SC_NPROCESSORS_ONLN);

	snprintf(path, sizeof(path), "%s/devices/system/cpu/cpufreq", sysfs_root);
	dir = opendir(path);
	while (dir && (de = readdir(dir))) {
		if (strncmp(de->d_name, "policy", 6))
			continue;
		snprintf(path, sizeof(path), "%s/devices/system/cpu/cpufreq/%s/related_cpus",
			 sysfs_root, de->d_name);
		if (!read_first_line(path, line, sizeof(line)))
			add_cluster(r, line);
	}
	if (dir)
		closedir(dir);
	if (r->nr_clusters) {
		snprintf(r->cluster_source, sizeof(r->cluster_source), "cpufreq related_cpus");
		return;
	}
	for (int cpu = 0; cpu < r->nr_cpus_online && cpu < 4096; cpu++) {
		char pkg[32], cpus[64];
		int found = -1;

		snprintf(path, sizeof(path), "%s/devices/system/cpu/cpu%d/topology/physical_package_id",
			 sysfs_root, cpu);
		if (read_first_line(path, pkg, sizeof(pkg)))
			continue;
		snprintf(path, sizeof(path),
			 "%s/devices/system/cpu/cpu%d/topology/package_cpus_list", sysfs_root, cpu);
		if (read_first_line(path, cpus, sizeof(cpus)))
			snprintf(cpus, sizeof(cpus), "package %s", pkg);
		for (int i = 0; i < r->nr_clusters; i++)
			if (!strcmp(r->clusters[i], cpus))
				found = i;
		if (found < 0)
			add_cluster(r, cpus);
	}
	snprintf(r->cluster_source, sizeof(r->cluster_source), "physical_package_id (no cpufreq)");
}

/* The driver API's CUdevice_attribute numbers (cuda.h; the agent builds
 * without the toolkit, and these never change). */
enum {
	CU_ATTR_SMS = 16,
	CU_ATTR_INTEGRATED = 18,
	CU_ATTR_CC_MAJOR = 75,
	CU_ATTR_CC_MINOR = 76,
};

/* Device 0 as the driver describes it: what triage-gpud would run on. */
static void describe_gpu(struct doctor_report *r, void *lib, int count)
{
	int (*get)(int *, int) = (int (*)(int *, int))dlsym(lib, "cuDeviceGet");
	int (*name)(char *, int, int) = (int (*)(char *, int, int))dlsym(lib, "cuDeviceGetName");
	int (*attr)(int *, int, int) = (int (*)(int *, int, int))dlsym(lib, "cuDeviceGetAttribute");
	int (*version)(int *) = (int (*)(int *))dlsym(lib, "cuDriverGetVersion");
	int dev = 0, drv = 0, integrated = -1;

	snprintf(r->cuda_detail, sizeof(r->cuda_detail), "%d device(s)", count);
	if (!get || !name || !attr || get(&dev, 0))
		return;
	if (name(r->cuda_name, (int)sizeof(r->cuda_name), dev))
		r->cuda_name[0] = '\0';
	if (attr(&r->cuda_sms, CU_ATTR_SMS, dev))
		r->cuda_sms = 0;
	if (attr(&r->cuda_cc_major, CU_ATTR_CC_MAJOR, dev) ||
	    attr(&r->cuda_cc_minor, CU_ATTR_CC_MINOR, dev))
		r->cuda_cc_major = r->cuda_cc_minor = 0;
	if (attr(&integrated, CU_ATTR_INTEGRATED, dev))
		integrated = -1;
	r->cuda_integrated = integrated;
	if (version && version(&drv))
		drv = 0;
	r->cuda_driver_version = drv;
	snprintf(r->cuda_detail, sizeof(r->cuda_detail),
		 "%s, compute capability %d.%d, %d SMs, %s, driver %d.%d%s", r->cuda_name,
		 r->cuda_cc_major, r->cuda_cc_minor, r->cuda_sms,
		 integrated < 0 ? "integrated or discrete unknown"
		 : integrated	? "integrated (host memory shared)"
				: "discrete",
		 drv / 1000, drv % 1000 / 10, count > 1 ? " (device 0 of several)" : "");
}

struct json_object *doctor_gpu_json(const struct doctor_report *r)
{
	struct json_object *o = json_object_new_object();
	char cc[16];

	json_object_object_add(o, "driver", json_object_new_boolean(r->cuda_driver));
	json_object_object_add(o, "detail", json_object_new_string(r->cuda_detail));
	if (!r->cuda_driver)
		return o;
	snprintf(cc, sizeof(cc), "%d.%d", r->cuda_cc_major, r->cuda_cc_minor);
	json_object_object_add(o, "name", json_object_new_string(r->cuda_name));
	json_object_object_add(o, "sms", json_object_new_int(r->cuda_sms));
	json_object_object_add(o, "compute_capability", json_object_new_string(cc));
	json_object_object_add(o, "integrated", r->cuda_integrated < 0
							? NULL
							: json_object_new_boolean(r->cuda_integrated));
	json_object_object_add(o, "driver_version", json_object_new_int(r->cuda_driver_version));
	return o;
}

static void probe_cuda(struct doctor_report *r)
{
	const char *path = getenv(TRIAGE_LIBCUDA_ENV);
	void *lib;
	int (*cu_init)(unsigned int);
	int (*cu_count)(int *);
	int count = 0;

	if (!path || !*path)
		path = TRIAGE_LIBCUDA_DEFAULT;
	lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(r->cuda_detail, sizeof(r->cuda_detail), "%s not found", path);
		return;
	}
	cu_init = (int (*)(unsigned int))dlsym(lib, "cuInit");
	cu_count = (int (*)(int *))dlsym(lib, "cuDeviceGetCount");
	if (cu_init && cu_count && cu_init(0) == 0 && cu_count(&count) == 0 && count > 0) {
		r->cuda_driver = true;
		describe_gpu(r, lib, count);
	} else {
		snprintf(r->cuda_detail, sizeof(r->cuda_detail), "%s: driver present, no usable device",
			 path);
	}
	dlclose(lib);
}

void doctor_probe_gpud(struct doctor_report *r, const char *run_dir)
{
	struct triage_gpud_stats v;
	struct shm_file f;
	char path[4096], err[192];
	int ret;

	gpud_stats_path(run_dir, path, sizeof(path));
	ret = shm_file_open(path, sizeof(v), &f, NULL, err, sizeof(err));
	if (!ret) {
		ret = gpud_stats_snapshot(&f, &v, err, sizeof(err));
		shm_file_close(&f);
	}
	r->gpud = ret == 0;
	if (ret == -ENOENT)
		snprintf(r->gpud_detail, sizeof(r->gpud_detail), "not running (no %.150s)", path);
	else if (ret)
		snprintf(r->gpud_detail, sizeof(r->gpud_detail), "%s", err);
	else
		snprintf(r->gpud_detail, sizeof(r->gpud_detail), "pid %d on %s, policy %s, %u stages",
			 v.pid, v.device, v.policy, v.nr_stages);
}

void doctor_probe(struct doctor_report *r, const char *sysfs_root)
{
	char path[512];
	struct stat st;

	memset(r, 0, sizeof(*r));
	if (!sysfs_root)
		sysfs_root = "/sys";
	r->root = geteuid() == 0;
	r->cg_ok = cg_probe(&r->cg, NULL, r->cg_err, sizeof(r->cg_err)) == 0;
	probe_bpf(r);
	snprintf(path, sizeof(path), "%s/kernel/btf/vmlinux", sysfs_root);
	r->kernel_btf = stat(path, &st) == 0;
	probe_kmod(r, sysfs_root);
	r->proc_sensors = sensors_proc_probe(NULL, r->proc_detail, sizeof(r->proc_detail)) == 0;
	r->sensors_auto = predict_auto(r);
	probe_cuda(r);
	probe_gpu(r, sysfs_root);
	probe_clusters(r, sysfs_root);
}

#define DOCTOR_MAX_ROWS 24

struct doctor_row {
	const char *feature;
	bool ok;
	char state[640];
	const char *if_missing;
	bool agent_says_it; /* the agent logs this itself at start */
};

static void add_row(struct doctor_row *rows, int *n, const char *feature, bool ok,
		    const char *if_missing, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void add_row(struct doctor_row *rows, int *n, const char *feature, bool ok,
		    const char *if_missing, const char *fmt, ...)
{
	struct doctor_row *row = &rows[(*n)++];
	va_list ap;

	row->feature = feature;
	row->ok = ok;
	row->if_missing = if_missing;
	row->agent_says_it = false;
	va_start(ap, fmt);
	vsnprintf(row->state, sizeof(row->state), fmt, ap);
	va_end(ap);
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

static void kmod_row(const struct doctor_report *r, struct doctor_row *rows, int *n)
{
	const char *if_missing = "kmod sensors and thread-group affinity unavailable";
	char features[128];

	kmod_features_str(r->kmod_features, features, sizeof(features));
	if (r->kmod_usable && (r->kmod_features & TRIAGE_FEAT_CPU_STATS))
		add_row(rows, n, "triage.ko loaded", true, "",
			"yes: module %s, ABI %u (agent %u), features %s", r->kmod_version[0] ? r->kmod_version : "?",
			r->kmod_abi, TRIAGE_ABI_VERSION, features);
	else if (r->kmod_usable)
		add_row(rows, n, "triage.ko loaded", false, "kmod sensors unavailable",
			"yes, but no sched probes: module %s, ABI %u, features %s", r->kmod_version,
			r->kmod_abi, features);
	else if (r->kmod_loaded || r->kmod_abi)
		add_row(rows, n, "triage.ko loaded", false, if_missing, "%s", r->kmod_detail);
	else
		add_row(rows, n, "triage.ko loaded", false, if_missing,
			"no (no /sys/module/triage, no generic-netlink family triage)");
}

static void sensors_row(const struct doctor_report *r, struct doctor_row *rows, int *n)
{
	const char *name = sensors_kind_name(r->sensors_auto);

	switch (r->sensors_auto) {
	case SENSORS_BPF:
	case SENSORS_KMOD:
		add_row(rows, n, "sensors (--sensors auto)", true, "", "%s", name);
		break;
	case SENSORS_PROC:
		add_row(rows, n, "sensors (--sensors auto)", false,
			"per-workload CPU and mean wait only: the protection loop makes no cuts",
			"proc (degraded: " SENSORS_PROC_LIMITS ")");
		break;
	default:
		add_row(rows, n, "sensors (--sensors auto)", false, "no metrics, protection loop idle",
			"none (%s)", r->proc_detail);
		break;
	}
	rows[*n - 1].agent_says_it = true;
}

/* The launch gate and MPS. Without a CUDA driver the CUDA row says it
 * all: the agent logs neither at start. */
static void gate_rows(const struct doctor_report *r, struct doctor_row *rows, int *n)
{
	add_row(rows, n, "gpu gate", r->gate_lib,
		"triagectl run --gpu-gate cannot hold best-effort kernels for critical ones",
		"%s %s; %s", r->gate_lib ? "libtriage-gate.so at" : "libtriage-gate.so",
		r->gate_lib_path, r->gate_board);
	rows[*n - 1].agent_says_it = !r->cuda_driver;
	if (r->mps_daemon)
		add_row(rows, n, "mps", true, "", "control daemon on %s/%s (%s: %s)", r->mps_pipe_dir,
			MPS_CONTROL_SOCKET, MPS_CONTROL_PROGRAM,
			r->mps_control ? r->mps_control_path : "not on PATH");
	else
		add_row(rows, n, "mps", false, r->mps_hint, "no control daemon on %s (%s: %s)",
			r->mps_pipe_dir, MPS_CONTROL_PROGRAM,
			r->mps_control ? r->mps_control_path : "not on PATH");
	rows[*n - 1].agent_says_it = !r->cuda_driver;
}

static int doctor_rows(const struct doctor_report *r, struct doctor_row *rows)
{
	bool bandwidth = r->cg_ok && r->cg.cfs_bandwidth, cpuset = r->cg_ok && r->cg.cpuset[0];
	char clusters[160];
	size_t off;
	int n = 0;

	add_row(rows, &n, "running as root", r->root, "cannot change cgroups or load BPF", "%s",
		yes_no(r->root));
	add_row(rows, &n, "cgroup mode", r->cg_ok, "no enforcement", "%s",
		r->cg_ok ? cg_mode_name(r->cg.mode) : r->cg_err);
	add_row(rows, &n, "CFS bandwidth (cpu.max)", bandwidth,
		"no quotas: protection falls back to cpu.weight + cpuset", "%s", yes_no(bandwidth));
	add_row(rows, &n, "cpuset controller", cpuset, "level cpus settings are ignored", "%s",
		yes_no(cpuset));
	add_row(rows, &n, "BPF syscall", r->bpf_syscall,
		"no BPF sensors: load triage.ko and use --sensors kmod", "%s", yes_no(r->bpf_syscall));
	add_row(rows, &n, "kernel BTF", r->kernel_btf,
		"no BPF sensors (CO-RE needs BTF): use --sensors kmod", "%s",
		r->kernel_btf ? "/sys/kernel/btf/vmlinux" : "no");
	add_row(rows, &n, "BPF task storage", r->task_storage, "no BPF sensors (needs Linux 5.11+)",
		"%s", yes_no(r->task_storage));
	kmod_row(r, rows, &n);
	sensors_row(r, rows, &n);
	add_row(rows, &n, "CUDA driver", r->cuda_driver, "GPU coordination off", "%s", r->cuda_detail);
	if (r->gpud_detail[0])
		add_row(rows, &n, "triage-gpud", r->gpud,
			"GPU stages run on the CPU; start triage-gpud (docs/gpud.md)", "%s",
			r->gpud_detail);
	if (r->gate_probed)
		gate_rows(r, rows, &n);
	if (r->gpu_devfreq[0])
		add_row(rows, &n, "devfreq GPU node", true, "", "%s (%s)", r->gpu_devfreq, r->gpu_name);
	else
		add_row(rows, &n, "devfreq GPU node", false, "no GPU load or frequency metrics", "none");
	off = 0;
	clusters[0] = '\0';
	for (int i = 0; i < r->nr_clusters && off < sizeof(clusters); i++)
		off += (size_t)snprintf(clusters + off, sizeof(clusters) - off, " [%s]", r->clusters[i]);
	add_row(rows, &n, "CPU clusters", r->nr_clusters > 0, "all CPUs treated as one cluster",
		"%d CPUs online, %d from %s:%s", r->nr_cpus_online, r->nr_clusters, r->cluster_source,
		clusters);
	if (r->planner_probed) {
		add_row(rows, &n, "planner", r->planner_ok, "no mapping of DNN stages to units",
			"%s", r->planner);
		rows[n - 1].agent_says_it = true;
	}
	return n;
}

void doctor_print(const struct doctor_report *r, FILE *out)
{
	struct doctor_row rows[DOCTOR_MAX_ROWS];
	int n = doctor_rows(r, rows);

	fprintf(out, "%-26s %-4s %s\n", "FEATURE", "OK", "STATE / WHAT IS OFF WITHOUT IT");
	for (int i = 0; i < n; i++) {
		fprintf(out, "%-26s %-4s %s\n", rows[i].feature, rows[i].ok ? "yes" : "NO", rows[i].state);
		if (!rows[i].ok)
			fprintf(out, "%-26s %-4s -> %s\n", "", "", rows[i].if_missing);
	}
}

void doctor_log_missing(const struct doctor_report *r)
{
	struct doctor_row rows[DOCTOR_MAX_ROWS];
	int n = doctor_rows(r, rows);

	for (int i = 0; i < n; i++)
		if (!rows[i].ok && !rows[i].agent_says_it)
			log_warn("%s: %s: %s", rows[i].feature, rows[i].state, rows[i].if_missing);
}
