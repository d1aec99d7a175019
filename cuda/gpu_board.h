/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The launch gate's board (include/triage/gate.h): the agent's side (make
 * it, publish the levels, read every slot) and a gated process's side
 * (attach, claim a slot, publish, read who is in flight). Pure C, no
 * CUDA: in libtriage.a for the agent and the tests, and built again
 * position-independent into libtriage-gate.so.
 *
 * Errors are one line in err, "<path>: <what>" or "gpu-board: <what>".
 */
#ifndef TRIAGE_CUDA_GPU_BOARD_H
#define TRIAGE_CUDA_GPU_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmfile.h"
#include "triage/gate.h"

/* Tries a reader makes while a writer is inside before it gives up. */
#define GPU_BOARD_READ_TRIES 1000

struct gpu_board_file {
	struct triage_gate_board *b; /* the shared mapping (file.p) */
	struct shm_file file;
};

/* <run dir>/gpu-board, the run dir as run_dir_resolve() gives it. */
void gpu_board_path(const char *run_dir, char *buf, size_t len);

/* ---- the agent ---------------------------------------------------------- */

/* Creates path or takes an existing board over, keeping its slots when
 * magic and ABI match (gated processes go on through an agent restart),
 * else starting it empty. The file is made mode 0660 with group `group`
 * where that group exists (NULL: "video"), else 0666; *shared_with gets
 * which ("group video", "every user"). 0 or -errno. */
int gpu_board_create(const char *path, const char *group, struct gpu_board_file *f,
		     const char **shared_with, char *err, size_t errlen);

/* Publishes the header under its seqlock: the levels (n at most
 * TRIAGE_MAX_LEVELS), the agent's cgroup root and pid (0: stopped).
 * -EINVAL with err set, nothing written, on a bad entry. */
int gpu_board_publish_levels(struct gpu_board_file *f, const struct triage_gate_level *levels,
			     int n, const char *cgroup_root, pid_t agent_pid, char *err,
			     size_t errlen);

/* ---- either side -------------------------------------------------------- */

/* A consistent copy of the header (slots left out): 0, -EAGAIN, or
 * -EPROTO on another magic or ABI. */
int gpu_board_read_header(const struct triage_gate_board *b, struct triage_gate_board *copy,
			  char *err, size_t errlen);

/* A consistent copy of slot i: 0, or -EAGAIN when its owner stayed
 * inside a write. */
int gpu_board_read_slot(const struct triage_gate_board *b, int i, struct triage_gate_slot *copy);

/* Whether a copied slot's owner still runs as the process that claimed
 * it (kill(pid, 0) and its start time). A free slot is not live. */
bool gpu_board_slot_live(const struct triage_gate_slot *s);

/* The level named name in a header copy, or -1. */
int gpu_board_level(const struct triage_gate_board *hdr, const char *name);

/* ---- a gated process ------------------------------------------------------ */

/* Maps path read-write. -ENOENT: no board (no agent); -EPROTO: another
 * size, magic or ABI. */
int gpu_board_attach(const char *path, struct gpu_board_file *f, char *err, size_t errlen);

/* Claims a slot for this process (getpid()): a free one, or one whose
 * owner runs no more. Its counters start at 0. Returns the slot index, or
 * -ENOSPC when every slot is held by a live process. */
int gpu_board_claim(struct gpu_board_file *f, int role, const char *name, const char *level);

/* The owner's writes of its slot's counters (everything after `role`),
 * under the slot's seqlock; pid, start_time and inflight are left alone. */
void gpu_board_publish_slot(struct gpu_board_file *f, int i, const struct triage_gate_slot *s);

/* The owner's in-flight count, the hot path: a release store. */
void gpu_board_set_inflight(struct gpu_board_file *f, int i, uint32_t n);

/* On exit: inflight 0 and the slot freed; nothing when slot i is not
 * this process's. */
void gpu_board_release(struct gpu_board_file *f, int i);

/* What a reader last learnt of each slot's owner being alive, so that
 * liveness costs a syscall at most every GPU_BOARD_LIVE_CHECK_NS per slot. */
#define GPU_BOARD_LIVE_CHECK_NS 50000000ull
struct gpu_board_seen {
	int32_t pid[TRIAGE_GATE_MAX_SLOTS];
	uint64_t start[TRIAGE_GATE_MAX_SLOTS], checked_ns[TRIAGE_GATE_MAX_SLOTS];
	bool live[TRIAGE_GATE_MAX_SLOTS];
};

/* Whether any live critical slot other than self has launches in
 * flight. Liveness is checked only for slots that show some, so an idle
 * board costs one load per slot; seen (zeroed once, may be NULL) caches
 * it. */
bool gpu_board_critical_busy(const struct gpu_board_file *f, int self, struct gpu_board_seen *seen);

/* The cheap first look of a best-effort launch: whether any critical slot
 * other than self shows launches in flight, live or not (no syscall, no
 * cache: any thread may call it). */
bool gpu_board_any_inflight(const struct gpu_board_file *f, int self);

void gpu_board_close(struct gpu_board_file *f);

#endif
