/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Scheduling classes as a lever: a level's class (config "sched") is set
 * on every thread of its workloads with sched_setattr, the class each
 * thread had before is journaled, and it is put back when the process
 * leaves the workload, when the agent exits, and, after a kill -9, by the
 * next agent (the journal is mirrored to sched.json in the run directory,
 * written atomically after each change, before the change it protects).
 *
 * Threads created later are found by the tick's scan (sched_apply is
 * called every tick). A thread started by a real-time thread inherits its
 * class from the kernel at once; the scan journals it with the class its
 * process had before triage, so its restore is right too.
 */
#ifndef TRIAGE_SCHED_CLASS_H
#define TRIAGE_SCHED_CLASS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"

/* A thread's class, as far as triage sets it. */
struct sched_attrs {
	int policy;        /* SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_FIFO, SCHED_RR, SCHED_DEADLINE */
	unsigned priority; /* FIFO, RR: 1..99 */
	int nice;          /* OTHER, BATCH */
	uint64_t runtime_ns, deadline_ns, period_ns; /* DEADLINE */
	bool reset_on_fork;
	int uclamp_min, uclamp_max; /* -1: not read or not set */
};

/* What a level asks of its threads. */
struct sched_want {
	bool set; /* false: classes kept as they are */
	struct sched_attrs a;
	bool keep_nice; /* OTHER, BATCH: nice left as found */
};

/* The class of level i, or (demoted) SCHED_OTHER at nice 0 with the
 * level's clamps. A deadline level's is its SCHED_FIFO fallback. */
void sched_want_of(const struct triage_config *cfg, int level, bool demoted,
		   struct sched_want *out);

/* SCHED_DEADLINE margin: runtime = SCHED_DL_MARGIN x the inference time,
 * at most SCHED_DL_MAX_SHARE of the period. */
#define SCHED_DL_MARGIN 1.5
#define SCHED_DL_MAX_SHARE 0.9

/* Turns want (a deadline level's, from sched_want_of) into SCHED_DEADLINE
 * for a client at rate_hz whose inferences take infer_ms: period and
 * deadline 1 / rate, runtime as above, reset on fork (the kernel lets no
 * deadline thread fork otherwise; threads born later get it at the next
 * tick). -EINVAL without a rate or a time. */
int sched_want_deadline(struct sched_want *want, double rate_hz, double infer_ms);

struct sched_entry {
	pid_t tgid, tid;
	uint64_t start_ticks; /* the thread's start time: a reused tid is not it */
	struct sched_attrs orig;
	bool seen;     /* met by this pass's sched_apply */
};

struct sched_journal {
	char run_dir[PATH_MAX]; /* "" = not persisted */
	struct sched_entry *e;
	int nr, cap;
	bool uclamp_ok; /* false once the kernel refused clamps (no CONFIG_UCLAMP_TASK) */
	bool dirty;     /* entries changed since the last save */
};

/*
 * Opens the journal. An earlier agent's sched.json (it was killed) is read
 * and every thread it names that still runs is put back to its original
 * class first. Returns the number of threads restored (>= 0), or -1 when
 * the file is unreadable (warned; the journal starts empty).
 */
int sched_journal_open(struct sched_journal *j, const char *run_dir);

/* Starts a pass: marks every entry unseen. */
void sched_pass_begin(struct sched_journal *j);

/*
 * Gives every thread of tgid the class want asks for, journaling the class
 * of each thread first met. Returns the number of threads changed (>= 0),
 * -ESRCH when the process is gone, or the first -errno the kernel gave
 * (EPERM: a real-time class this process may not have).
 */
int sched_apply(struct sched_journal *j, pid_t tgid, const struct sched_want *want);

/*
 * Ends a pass: threads of processes that no pass met (they left their
 * workload, or their level keeps classes now) get their class back and
 * are forgotten, so are threads that exited. Saves the journal if it
 * changed. Returns the number of threads restored.
 */
int sched_pass_end(struct sched_journal *j);

/* Whether the journal holds a thread of tgid. */
bool sched_journal_has(const struct sched_journal *j, pid_t tgid);

/* Puts every thread back (agent exit). Returns how many could not be. */
int sched_restore_all(struct sched_journal *j);

void sched_journal_close(struct sched_journal *j);

/* The kernel's sched_getattr/sched_setattr for one thread. */
int sched_read(pid_t tid, struct sched_attrs *out);
int sched_write(pid_t tid, const struct sched_attrs *a, bool with_uclamp);

const char *sched_policy_name(int policy);

#endif
