// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The launch gate's board (cuda/gpu_board.h, include/triage/gate.h). */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "errbuf.h"
#include "fsutil.h"
#include "gpu_board.h"
#include "procfs.h"
#include "triage/seqlock.h"

#define DEFAULT_GROUP "video" /* Jetson's group of the GPU devices */

/* The header's fields after seq, as the agent writes them. */
#define HDR_BODY_OFF offsetof(struct triage_gate_board, nr_levels)
#define HDR_BODY_LEN (offsetof(struct triage_gate_board, slots) - HDR_BODY_OFF)
/* A slot's fields after role, as its owner writes them. */
#define SLOT_BODY_OFF offsetof(struct triage_gate_slot, name)
#define SLOT_BODY_LEN (sizeof(struct triage_gate_slot) - SLOT_BODY_OFF)

void gpu_board_path(const char *run_dir, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", run_dir_resolve(run_dir), TRIAGE_GATE_BOARD_FILE);
}

static bool header_ok(const struct triage_gate_board *b)
{
	return __atomic_load_n(&b->magic, __ATOMIC_ACQUIRE) == TRIAGE_GATE_BOARD_MAGIC &&
	       __atomic_load_n(&b->abi_version, __ATOMIC_RELAXED) == TRIAGE_GATE_BOARD_ABI;
}

int gpu_board_create(const char *path, const char *group, struct gpu_board_file *f,
		     const char **shared_with, char *err, size_t errlen)
{
	struct group *gr = getgrnam(group ? group : DEFAULT_GROUP);
	int ret = shm_file_create(path, sizeof(*f->b), &f->file, err, errlen);

	f->b = NULL;
	if (ret)
		return ret;
	/* Every gated process writes its own slot: the file is shared with
	 * the GPU's group, or with everyone where there is none. */
	if ((gr ? fchown(f->file.fd, (uid_t)-1, gr->gr_gid) : 0) ||
	    fchmod(f->file.fd, gr ? 0660 : 0666)) {
		ret = -errno;
		set_error(err, errlen, "%s: cannot share it: %s", path, strerror(errno));
		shm_file_close(&f->file);
		return ret;
	}
	if (shared_with)
		*shared_with = gr ? "its group" : "every user";
	f->b = f->file.p;
	if (!header_ok(f->b)) {
		memset(f->b, 0, sizeof(*f->b));
		f->b->abi_version = TRIAGE_GATE_BOARD_ABI;
		__atomic_store_n(&f->b->magic, TRIAGE_GATE_BOARD_MAGIC, __ATOMIC_RELEASE);
	}
	return 0;
}

int gpu_board_publish_levels(struct gpu_board_file *f, const struct triage_gate_level *levels,
			     int n, const char *cgroup_root, pid_t agent_pid, char *err,
			     size_t errlen)
{
	struct triage_gate_board next;

	if (n < 0 || n > TRIAGE_MAX_LEVELS) {
		set_error(err, errlen, "gpu-board: %d levels, at most %d", n, TRIAGE_MAX_LEVELS);
		return -EINVAL;
	}
	if (strlen(cgroup_root) >= sizeof(next.cgroup_root)) {
		set_error(err, errlen, "gpu-board: cgroup root \"%s\" too long", cgroup_root);
		return -EINVAL;
	}
	memset(&next, 0, sizeof(next));
	for (int i = 0; i < n; i++) {
		size_t len = strnlen(levels[i].name, TRIAGE_NAME_MAX);

		if (!len || len == TRIAGE_NAME_MAX || levels[i].floor_permille > 1000) {
			set_error(err, errlen, "gpu-board: level %d: %s", i,
				  levels[i].floor_permille > 1000 ? "floor over 1000 per mille"
								  : "name empty or too long");
			return -EINVAL;
		}
		next.levels[i] = levels[i];
	}
	next.nr_levels = (uint32_t)n;
	next.agent_pid = agent_pid;
	snprintf(next.cgroup_root, sizeof(next.cgroup_root), "%s", cgroup_root);
	next.generation = f->b->generation + 1;
	triage_seq_write_begin(&f->b->seq);
	triage_seq_store_bytes((char *)f->b + HDR_BODY_OFF, (const char *)&next + HDR_BODY_OFF,
			       HDR_BODY_LEN);
	triage_seq_write_end(&f->b->seq);
	return 0;
}

int gpu_board_read_header(const struct triage_gate_board *b, struct triage_gate_board *copy,
			  char *err, size_t errlen)
{
	if (!header_ok(b)) {
		set_error(err, errlen, "gpu-board: magic %#x ABI %u, this build knows %#x ABI %d",
			  b->magic, b->abi_version, TRIAGE_GATE_BOARD_MAGIC, TRIAGE_GATE_BOARD_ABI);
		return -EPROTO;
	}
	memset(copy, 0, offsetof(struct triage_gate_board, slots));
	copy->magic = TRIAGE_GATE_BOARD_MAGIC;
	copy->abi_version = TRIAGE_GATE_BOARD_ABI;
	if (triage_seq_read(&b->seq, (char *)copy + HDR_BODY_OFF, (const char *)b + HDR_BODY_OFF,
			    HDR_BODY_LEN, GPU_BOARD_READ_TRIES, &copy->seq)) {
		set_error(err, errlen, "gpu-board: the agent stayed inside a write");
		return -EAGAIN;
	}
	if (copy->nr_levels > TRIAGE_MAX_LEVELS) {
		set_error(err, errlen, "gpu-board: %u levels", copy->nr_levels);
		return -EPROTO;
	}
	return 0;
}

int gpu_board_read_slot(const struct triage_gate_board *b, int i, struct triage_gate_slot *copy)
{
	const struct triage_gate_slot *s = &b->slots[i];

	copy->pid = __atomic_load_n(&s->pid, __ATOMIC_ACQUIRE);
	copy->start_time = __atomic_load_n(&s->start_time, __ATOMIC_ACQUIRE);
	copy->inflight = __atomic_load_n(&s->inflight, __ATOMIC_ACQUIRE);
	copy->role = __atomic_load_n(&s->role, __ATOMIC_ACQUIRE);
	return triage_seq_read(&s->seq, (char *)copy + SLOT_BODY_OFF, (const char *)s + SLOT_BODY_OFF,
			       SLOT_BODY_LEN, GPU_BOARD_READ_TRIES, &copy->seq);
}

static uint64_t start_time_of(pid_t pid)
{
	struct proc_stat_times t;

	return proc_read_stat_times(pid, 0, &t) ? 0 : t.start_ticks;
}

static bool runs_as(pid_t pid, uint64_t start_time)
{
	if (pid <= 0 || (kill(pid, 0) && errno == ESRCH))
		return false;
	/* A pid taken again by another process is not the owner. */
	return !start_time || start_time_of(pid) == start_time;
}

bool gpu_board_slot_live(const struct triage_gate_slot *s)
{
	return runs_as(s->pid, s->start_time);
}

int gpu_board_level(const struct triage_gate_board *hdr, const char *name)
{
	for (uint32_t i = 0; i < hdr->nr_levels && i < TRIAGE_MAX_LEVELS; i++)
		if (!strncmp(hdr->levels[i].name, name, TRIAGE_NAME_MAX))
			return (int)i;
	return -1;
}

int gpu_board_attach(const char *path, struct gpu_board_file *f, char *err, size_t errlen)
{
	size_t found = 0;
	int ret = shm_file_attach(path, sizeof(*f->b), &f->file, &found, err, errlen);

	f->b = NULL;
	if (ret)
		return ret;
	f->b = f->file.p;
	if (!header_ok(f->b)) {
		set_error(err, errlen, "%s: magic %#x ABI %u, this build knows ABI %d", path,
			  f->b->magic, f->b->abi_version, TRIAGE_GATE_BOARD_ABI);
		shm_file_close(&f->file);
		f->b = NULL;
		return -EPROTO;
	}
	return 0;
}

int gpu_board_claim(struct gpu_board_file *f, int role, const char *name, const char *level)
{
	pid_t self = getpid();
	uint64_t start = start_time_of(self);

	/* Free slots first, then those of processes gone (whose last
	 * numbers the agent may not have read yet). */
	for (int k = 0; k < 2 * TRIAGE_GATE_MAX_SLOTS; k++) {
		int i = k % TRIAGE_GATE_MAX_SLOTS;
		struct triage_gate_slot *s = &f->b->slots[i];
		int32_t owner = __atomic_load_n(&s->pid, __ATOMIC_ACQUIRE);
		uint64_t owner_start = __atomic_load_n(&s->start_time, __ATOMIC_ACQUIRE);
		struct triage_gate_slot fresh;

		if (k < TRIAGE_GATE_MAX_SLOTS && owner)
			continue;
		/* A negative pid is a process in the middle of claiming it. */
		if (owner < 0 ? runs_as(-owner, 0) : owner && runs_as(owner, owner_start))
			continue;
		if (!__atomic_compare_exchange_n(&s->pid, &owner, -self, false, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue; /* another process took it first */
		__atomic_store_n(&s->start_time, start, __ATOMIC_RELEASE);
		__atomic_store_n(&s->inflight, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&s->role, (uint32_t)role, __ATOMIC_RELEASE);
		memset(&fresh, 0, sizeof(fresh));
		snprintf(fresh.name, sizeof(fresh.name), "%s", name ? name : "");
		snprintf(fresh.level, sizeof(fresh.level), "%s", level ? level : "");
		fresh.share_permille = TRIAGE_GATE_SHARE_NONE;
		fresh.updated_ns = mono_ns();
		gpu_board_publish_slot(f, i, &fresh);
		__atomic_store_n(&s->pid, self, __ATOMIC_RELEASE);
		for (uint32_t used = __atomic_load_n(&f->b->slots_used, __ATOMIC_ACQUIRE);
		     used < (uint32_t)i + 1 &&
		     !__atomic_compare_exchange_n(&f->b->slots_used, &used, (uint32_t)i + 1, false,
						  __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);)
			;
		return i;
	}
	return -ENOSPC;
}

void gpu_board_publish_slot(struct gpu_board_file *f, int i, const struct triage_gate_slot *s)
{
	struct triage_gate_slot *dst = &f->b->slots[i];

	triage_seq_write_begin(&dst->seq);
	triage_seq_store_bytes((char *)dst + SLOT_BODY_OFF, (const char *)s + SLOT_BODY_OFF,
			       SLOT_BODY_LEN);
	triage_seq_write_end(&dst->seq);
}

void gpu_board_set_inflight(struct gpu_board_file *f, int i, uint32_t n)
{
	__atomic_store_n(&f->b->slots[i].inflight, n, __ATOMIC_RELEASE);
}

void gpu_board_release(struct gpu_board_file *f, int i)
{
	struct triage_gate_slot *s = &f->b->slots[i];
	int32_t self = getpid();

	/* Only its owner's: a process that inherited the mapping (a child
	 * after fork) leaves it alone. */
	if (__atomic_load_n(&s->pid, __ATOMIC_ACQUIRE) != self)
		return;
	__atomic_store_n(&s->inflight, 0, __ATOMIC_RELEASE);
	__atomic_compare_exchange_n(&s->pid, &self, 0, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

/* The slots ever claimed. */
static int slots_used(const struct triage_gate_board *b)
{
	uint32_t n = __atomic_load_n(&b->slots_used, __ATOMIC_ACQUIRE);

	return n < TRIAGE_GATE_MAX_SLOTS ? (int)n : TRIAGE_GATE_MAX_SLOTS;
}

bool gpu_board_any_inflight(const struct gpu_board_file *f, int self)
{
	for (int i = 0, n = slots_used(f->b); i < n; i++)
		if (i != self && __atomic_load_n(&f->b->slots[i].inflight, __ATOMIC_ACQUIRE) &&
		    __atomic_load_n(&f->b->slots[i].role, __ATOMIC_RELAXED) == TRIAGE_GATE_CRITICAL)
			return true;
	return false;
}

bool gpu_board_critical_busy(const struct gpu_board_file *f, int self, struct gpu_board_seen *seen)
{
	uint64_t now = 0;

	for (int i = 0, n = slots_used(f->b); i < n; i++) {
		const struct triage_gate_slot *s = &f->b->slots[i];
		int32_t pid;
		uint64_t start;
		bool live;

		if (i == self || !__atomic_load_n(&s->inflight, __ATOMIC_ACQUIRE) ||
		    __atomic_load_n(&s->role, __ATOMIC_RELAXED) != TRIAGE_GATE_CRITICAL)
			continue;
		pid = __atomic_load_n(&s->pid, __ATOMIC_ACQUIRE);
		start = __atomic_load_n(&s->start_time, __ATOMIC_ACQUIRE);
		if (pid <= 0)
			continue;
		if (!seen) {
			if (runs_as(pid, start))
				return true;
			continue;
		}
		if (!now)
			now = mono_ns();
		if (seen->pid[i] == pid && seen->start[i] == start &&
		    now - seen->checked_ns[i] < GPU_BOARD_LIVE_CHECK_NS) {
			live = seen->live[i];
		} else {
			live = runs_as(pid, start);
			seen->pid[i] = pid;
			seen->start[i] = start;
			seen->checked_ns[i] = now;
			seen->live[i] = live;
		}
		if (live)
			return true;
	}
	return false;
}

void gpu_board_close(struct gpu_board_file *f)
{
	shm_file_close(&f->file);
	f->b = NULL;
}
