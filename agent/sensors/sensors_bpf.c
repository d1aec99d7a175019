// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * BPF back end of agent/sensors/sensors.h: loads bpf/sensors.bpf.c through its
 * skeleton, pins the counter and tag maps under the pin directory, and
 * reads and tags through them. It fills every counter and tags both by
 * cgroup id and by tgid.
 *
 * Pins make counters outlive the agent: a restarted agent hands the pinned
 * maps to libbpf (bpf_map__set_pin_path), which reuses them when they are
 * compatible, so counters continue instead of starting over. Compatible is
 * checked here first, including meta.abi_version, because libbpf only
 * compares map shapes and fails the whole load on a mismatch; stale pins
 * are removed and fresh maps made, with one warning. Per-CPU state and task
 * storage are never pinned: they describe the moment, not history.
 *
 * gpu_stats is pinned like the counters although no program touches it:
 * the agent writes it (sensors_put_gpu_stats) so that bpftool readers find
 * the GPU counters beside the CPU ones. A pin directory left by an agent
 * from before it lacks only that pin; the others are reused and libbpf
 * creates and pins the missing one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* vasprintf; the Makefile defines it too */
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "sensors/sensors_impl.h"
#include "sensors.skel.h"

#define BPFFS_MOUNT "/sys/fs/bpf"
#define DEFAULT_PIN_DIR BPFFS_MOUNT "/triage"
#define KERNEL_BTF "/sys/kernel/btf/vmlinux"

struct bpf_sensors {
	struct sensors base;
	struct sensors_bpf *skel;
	char pin_dir[PATH_MAX];
	bool keep_pins;
};

static struct bpf_sensors *to_bpf(struct sensors *s)
{
	return sensors_container_of(s, struct bpf_sensors, base);
}

static const struct sensors_ops bpf_ops;

/* The maps that are pinned, in the order they are named in messages. */
enum pinned_map {
	PIN_CPU_STATS,
	PIN_WL_STATS,
	PIN_CG_TAGS,
	PIN_TGID_TAGS,
	PIN_META,
	PIN_GPU_STATS,
	NR_PINNED
};

static const char *const pinned_names[NR_PINNED] = {
	[PIN_CPU_STATS] = TRIAGE_MAP_CPU_STATS, [PIN_WL_STATS] = TRIAGE_MAP_WL_STATS,
	[PIN_CG_TAGS] = TRIAGE_MAP_CG_TAGS,     [PIN_TGID_TAGS] = TRIAGE_MAP_TGID_TAGS,
	[PIN_META] = TRIAGE_MAP_META,           [PIN_GPU_STATS] = TRIAGE_MAP_GPU_STATS,
};

static struct bpf_map *pinned_map(struct sensors_bpf *skel, enum pinned_map which)
{
	switch (which) {
	case PIN_CPU_STATS:
		return skel->maps.cpu_stats;
	case PIN_WL_STATS:
		return skel->maps.wl_stats;
	case PIN_CG_TAGS:
		return skel->maps.cg_tags;
	case PIN_TGID_TAGS:
		return skel->maps.tgid_tags;
	case PIN_META:
		return skel->maps.meta;
	case PIN_GPU_STATS:
		return skel->maps.gpu_stats;
	case NR_PINNED:
		break;
	}
	return NULL;
}

/* libbpf's own messages: warnings always, its loading steps only at -vv. */
static int libbpf_print_to_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level ours = level == LIBBPF_WARN ? LOG_WARN : LOG_TRACE;
	char *msg;
	size_t len;

	if (ours > log_threshold)
		return 0;
	if (vasprintf(&msg, fmt, ap) < 0)
		return 0;
	len = strlen(msg);
	while (len && msg[len - 1] == '\n')
		msg[--len] = '\0';
	log_msg(ours, "%s", msg);
	free(msg);
	return 0;
}

/*
 * Creates and drops a one-entry array: the smallest request that needs
 * the privilege loading does, so ENOSYS and EPERM show up here with a
 * clear message instead of deep inside libbpf.
 */
static int probe_bpf_syscall(void)
{
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	fd = syscall(__NR_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int mount_bpffs_if_missing(void)
{
	struct statfs fs;

	if (statfs(BPFFS_MOUNT, &fs) == 0 && fs.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir(BPFFS_MOUNT, 0755) && errno != EEXIST)
		return -errno;
	if (mount("bpf", BPFFS_MOUNT, "bpf", 0, "mode=0700"))
		return -errno;
	log_info("sensors: mounted bpffs at %s", BPFFS_MOUNT);
	return 0;
}

static int mkdir_parents(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

	if (len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Would libbpf reuse the map pinned at fd for this map definition? */
static bool pin_matches(int fd, const struct bpf_map *map)
{
	struct bpf_map_info info;
	__u32 info_len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return false;
	return info.type == bpf_map__type(map) && info.key_size == bpf_map__key_size(map) &&
	       info.value_size == bpf_map__value_size(map) &&
	       info.max_entries == bpf_map__max_entries(map) &&
	       info.map_flags == bpf_map__map_flags(map);
}

/*
 * Removes pins the skeleton could not reuse. When meta is missing, has
 * another shape or another ABI version, nothing pinned can be trusted and
 * every pin goes; otherwise only maps whose shape changed.
 */
static int drop_stale_pins(struct bpf_sensors *s)
{
	char path[PATH_MAX], names[128] = "";
	bool present[NR_PINNED] = { false }, stale[NR_PINNED] = { false };
	bool any_present = false, any_stale = false, all_stale = false;
	struct triage_meta meta;
	__u32 zero = 0;
	int err, fd, i;

	for (i = 0; i < NR_PINNED; i++) {
		err = pin_path(path, sizeof(path), s->pin_dir, pinned_names[i]);
		if (err)
			return err;
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			/* Something we cannot open as a map sits there. */
			present[i] = stale[i] = true;
			any_present = true;
			continue;
		}
		present[i] = any_present = true;
		stale[i] = !pin_matches(fd, pinned_map(s->skel, i));
		if (i == PIN_META && !stale[i]) {
			memset(&meta, 0, sizeof(meta));
			if (bpf_map_lookup_elem(fd, &zero, &meta) || meta.abi_version != TRIAGE_ABI_VERSION)
				all_stale = true;
		}
		close(fd);
	}
	if (!any_present)
		return 0;
	if (!present[PIN_META] || stale[PIN_META])
		all_stale = true;
	for (i = 0; i < NR_PINNED; i++) {
		if (!present[i] || !(stale[i] || all_stale))
			continue;
		err = pin_path(path, sizeof(path), s->pin_dir, pinned_names[i]);
		if (err)
			return err;
		if (unlink(path) && errno != ENOENT)
			return -errno;
		strncat(names, " ", sizeof(names) - strlen(names) - 1);
		strncat(names, pinned_names[i], sizeof(names) - strlen(names) - 1);
		any_stale = true;
	}
	if (any_stale)
		log_warn("sensors: stale pins in %s (%s), counters restart:%s", s->pin_dir,
			 all_stale ? "other ABI version or no meta" : "map layout changed", names);
	return 0;
}

static int meta_update(struct bpf_sensors *s, int nr_levels, bool bump_gen)
{
	int fd = bpf_map__fd(s->skel->maps.meta);
	struct triage_meta meta;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &meta))
		return -errno;
	meta.abi_version = TRIAGE_ABI_VERSION;
	if (nr_levels > 0)
		meta.nr_levels = nr_levels;
	if (bump_gen)
		meta.tags_gen++;
	if (bpf_map_update_elem(fd, &zero, &meta, BPF_ANY))
		return -errno;
	return 0;
}

static void unpin_all(struct bpf_sensors *s)
{
	char path[PATH_MAX];

	for (int i = 0; i < NR_PINNED; i++)
		if (!pin_path(path, sizeof(path), s->pin_dir, pinned_names[i]) && unlink(path) &&
		    errno != ENOENT)
			log_warn("sensors: cannot remove pin %s: %s", path, strerror(errno));
	if (rmdir(s->pin_dir) && errno != ENOENT)
		log_warn("sensors: cannot remove %s: %s", s->pin_dir, strerror(errno));
}

struct sensors *sensors_open_bpf(const struct sensors_opts *opts, char *err, size_t errlen)
{
	const char *dir = opts->pin_dir ? opts->pin_dir : DEFAULT_PIN_DIR;
	char path[PATH_MAX];
	struct bpf_sensors *s;
	int rc;

	libbpf_set_print(libbpf_print_to_log);
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	s->keep_pins = opts->keep_pins;
	if (snprintf(s->pin_dir, sizeof(s->pin_dir), "%s", dir) >= (int)sizeof(s->pin_dir)) {
		rc = -ENAMETOOLONG;
		snprintf(err, errlen, "pin directory name too long");
		goto cleanup;
	}
	if (opts->nr_levels < 1 || opts->nr_levels > TRIAGE_MAX_LEVELS) {
		rc = -EINVAL;
		snprintf(err, errlen, "nr_levels %d outside 1..%d", opts->nr_levels,
			 TRIAGE_MAX_LEVELS);
		goto cleanup;
	}

	rc = probe_bpf_syscall();
	if (rc == -ENOSYS) {
		snprintf(err, errlen, "kernel has no BPF syscall (CONFIG_BPF_SYSCALL)");
		goto cleanup;
	}
	if (rc == -EPERM) {
		snprintf(err, errlen,
			 "BPF not permitted: not root (needs CAP_SYS_ADMIN, or CAP_BPF and CAP_PERFMON)");
		goto cleanup;
	}
	if (rc) {
		snprintf(err, errlen, "BPF syscall probe failed: %s", strerror(-rc));
		goto cleanup;
	}
	if (access(KERNEL_BTF, R_OK)) {
		rc = -ENOENT;
		snprintf(err, errlen, "kernel has no BTF (CONFIG_DEBUG_INFO_BTF)");
		goto cleanup;
	}
	rc = mount_bpffs_if_missing();
	if (rc) {
		snprintf(err, errlen, "cannot mount bpffs at %s: %s", BPFFS_MOUNT, strerror(-rc));
		goto cleanup;
	}
	rc = mkdir_parents(s->pin_dir);
	if (rc) {
		snprintf(err, errlen, "cannot create %s: %s", s->pin_dir, strerror(-rc));
		goto cleanup;
	}

	s->skel = sensors_bpf__open();
	if (!s->skel) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the BPF sensors object: %s", strerror(errno));
		goto cleanup;
	}
	rc = libbpf_num_possible_cpus();
	if (rc < 0) {
		snprintf(err, errlen, "cannot count possible CPUs: %s", strerror(-rc));
		goto cleanup;
	}
	s->base.nr_cpus = rc;
	rc = bpf_map__set_max_entries(s->skel->maps.cpu_stats, s->base.nr_cpus);
	if (rc) {
		snprintf(err, errlen, "cannot size cpu_stats: %s", strerror(-rc));
		goto cleanup;
	}
	rc = drop_stale_pins(s);
	if (rc) {
		snprintf(err, errlen, "cannot check pins in %s: %s", s->pin_dir, strerror(-rc));
		goto cleanup;
	}
	for (int i = 0; i < NR_PINNED; i++) {
		rc = pin_path(path, sizeof(path), s->pin_dir, pinned_names[i]);
		if (!rc)
			rc = bpf_map__set_pin_path(pinned_map(s->skel, i), path);
		if (rc) {
			snprintf(err, errlen, "cannot pin %s: %s", pinned_names[i], strerror(-rc));
			goto cleanup;
		}
	}

	rc = sensors_bpf__load(s->skel);
	if (rc) {
		if (rc == -EPERM)
			snprintf(err, errlen,
				 "loading BPF programs not permitted: not root (needs CAP_SYS_ADMIN, or CAP_BPF and CAP_PERFMON)");
		else
			snprintf(err, errlen, "loading the BPF sensors failed: %s (-v shows libbpf's log)",
				 strerror(-rc));
		goto cleanup;
	}
	/* A fresh task storage caches nothing, but bumping the generation
	 * keeps readers of meta honest about "tags changed". */
	rc = meta_update(s, opts->nr_levels, true);
	if (rc) {
		snprintf(err, errlen, "cannot write meta: %s", strerror(-rc));
		goto cleanup;
	}
	rc = sensors_bpf__attach(s->skel);
	if (rc) {
		snprintf(err, errlen, "attaching the BPF sensors failed: %s", strerror(-rc));
		goto cleanup;
	}
	log_debug("sensors: bpf attached, %d CPUs, pins in %s", s->base.nr_cpus, s->pin_dir);
	s->base.ops = &bpf_ops;
	return &s->base;

cleanup:
	/* libbpf already unpinned what a failed load created; pins that
	 * exist now are compatible and keep their counters for next time. */
	sensors_bpf__destroy(s->skel);
	free(s);
	errno = -rc;
	return NULL;
}

static void bpf_close(struct sensors *base)
{
	struct bpf_sensors *s = to_bpf(base);

	sensors_bpf__destroy(s->skel);
	if (!s->keep_pins)
		unpin_all(s);
	free(s);
}

/* Changes one tag map entry, then tells the programs to re-look-up. */
static int tag_map_change(struct bpf_sensors *s, struct bpf_map *map, const void *key, size_t key_size,
			  const struct triage_tag *tag)
{
	int rc;

	if (tag)
		rc = bpf_map__update_elem(map, key, key_size, tag, sizeof(*tag), BPF_ANY);
	else
		rc = bpf_map__delete_elem(map, key, key_size, 0);
	if (rc)
		return rc;
	return meta_update(s, 0, true);
}

static int bpf_tag_cgroup(struct sensors *base, uint64_t cgid, const struct triage_tag *tag)
{
	struct bpf_sensors *s = to_bpf(base);
	__u64 key = cgid;

	return tag_map_change(s, s->skel->maps.cg_tags, &key, sizeof(key), tag);
}

static int bpf_untag_cgroup(struct sensors *base, uint64_t cgid)
{
	struct bpf_sensors *s = to_bpf(base);
	__u64 key = cgid;

	return tag_map_change(s, s->skel->maps.cg_tags, &key, sizeof(key), NULL);
}

static int bpf_tag_tgid(struct sensors *base, pid_t tgid, const struct triage_tag *tag)
{
	struct bpf_sensors *s = to_bpf(base);
	__u32 key = tgid;

	return tag_map_change(s, s->skel->maps.tgid_tags, &key, sizeof(key), tag);
}

static int bpf_untag_tgid(struct sensors *base, pid_t tgid)
{
	struct bpf_sensors *s = to_bpf(base);
	__u32 key = tgid;

	return tag_map_change(s, s->skel->maps.tgid_tags, &key, sizeof(key), NULL);
}

static int bpf_read_cpus(struct sensors *base, struct triage_cpu_stats *out, int nr_cpus)
{
	struct bpf_sensors *s = to_bpf(base);
	int fd = bpf_map__fd(s->skel->maps.cpu_stats);

	for (__u32 cpu = 0; cpu < (__u32)nr_cpus; cpu++) {
		if (cpu >= (__u32)s->base.nr_cpus) {
			memset(&out[cpu], 0, sizeof(out[cpu]));
			continue;
		}
		if (bpf_map_lookup_elem(fd, &cpu, &out[cpu]))
			return -errno;
	}
	return 0;
}

static int bpf_read_workload(struct sensors *base, uint32_t wl_id, struct triage_wl_stats *out)
{
	struct bpf_sensors *s = to_bpf(base);
	__u32 key = wl_id;

	return bpf_map__lookup_elem(s->skel->maps.wl_stats, &key, sizeof(key), out, sizeof(*out), 0);
}

static int bpf_forget_workload(struct sensors *base, uint32_t wl_id)
{
	struct bpf_sensors *s = to_bpf(base);
	__u32 key = wl_id;
	int rc_wl, rc_gpu;

	rc_wl = bpf_map__delete_elem(s->skel->maps.wl_stats, &key, sizeof(key), 0);
	rc_gpu = bpf_map__delete_elem(s->skel->maps.gpu_stats, &key, sizeof(key), 0);
	/* A workload without GPU stages has no gpu_stats entry, and one that
	 * has not run on a CPU yet no wl_stats entry: either is enough. */
	if (rc_wl && rc_wl != -ENOENT)
		return rc_wl;
	if (rc_gpu && rc_gpu != -ENOENT)
		return rc_gpu;
	return rc_wl && rc_gpu ? -ENOENT : 0;
}

static int bpf_put_gpu_stats(struct sensors *base, uint32_t wl_id,
			     const struct triage_gpu_stats *st)
{
	struct bpf_sensors *s = to_bpf(base);
	__u32 key = wl_id;

	return bpf_map__update_elem(s->skel->maps.gpu_stats, &key, sizeof(key), st, sizeof(*st),
				    BPF_ANY);
}

static int bpf_read_gpu_stats(struct sensors *base, uint32_t wl_id, struct triage_gpu_stats *out)
{
	struct bpf_sensors *s = to_bpf(base);
	__u32 key = wl_id;

	return bpf_map__lookup_elem(s->skel->maps.gpu_stats, &key, sizeof(key), out, sizeof(*out),
				    0);
}

/* Deletes the entries of one map that keep() refuses; the tag maps hold a
 * struct triage_tag, wl_stats and gpu_stats are keyed by the workload id
 * itself. */
static int prune_map(struct bpf_map *map, size_t key_size, bool keyed_by_wl,
		     bool (*keep)(uint32_t wl_id, void *ctx), void *ctx)
{
	__u64 key = 0, next = 0;
	void *prev = NULL;
	int removed = 0;

	while (!bpf_map__get_next_key(map, prev, &next, key_size)) {
		struct triage_tag tag;
		uint32_t wl_id;
		__u32 wl_key;

		key = next;
		prev = &key;
		if (keyed_by_wl) {
			memcpy(&wl_key, &key, sizeof(wl_key));
			wl_id = wl_key;
		} else if (!bpf_map__lookup_elem(map, &key, key_size, &tag, sizeof(tag), 0)) {
			wl_id = tag.wl_id;
		} else {
			continue;
		}
		if (keep(wl_id, ctx))
			continue;
		/* Deleting the current key would lose the iteration's place;
		 * the kernel restarts from the first key for a missing one. */
		if (!bpf_map__delete_elem(map, &key, key_size, 0)) {
			removed++;
			prev = NULL;
		}
	}
	return removed;
}

static int bpf_prune(struct sensors *base, bool (*keep)(uint32_t wl_id, void *ctx), void *ctx)
{
	struct bpf_sensors *s = to_bpf(base);
	int removed = prune_map(s->skel->maps.cg_tags, sizeof(__u64), false, keep, ctx) +
		      prune_map(s->skel->maps.tgid_tags, sizeof(__u32), false, keep, ctx) +
		      prune_map(s->skel->maps.wl_stats, sizeof(__u32), true, keep, ctx) +
		      prune_map(s->skel->maps.gpu_stats, sizeof(__u32), true, keep, ctx);

	if (removed)
		meta_update(s, 0, true);
	return removed;
}

static const struct sensors_ops bpf_ops = {
	.kind = SENSORS_BPF,
	.features = SENSORS_CAN_TAG_CGROUPS | SENSORS_HAS_LEVEL_SPLIT | SENSORS_HAS_INTERFERENCE |
		    SENSORS_HAS_WAIT_HIST | SENSORS_HAS_GPU_STATS,
	.close = bpf_close,
	.tag_cgroup = bpf_tag_cgroup,
	.untag_cgroup = bpf_untag_cgroup,
	.tag_tgid = bpf_tag_tgid,
	.untag_tgid = bpf_untag_tgid,
	.read_cpus = bpf_read_cpus,
	.read_workload = bpf_read_workload,
	.forget_workload = bpf_forget_workload,
	.put_gpu_stats = bpf_put_gpu_stats,
	.read_gpu_stats = bpf_read_gpu_stats,
	.prune = bpf_prune,
};
