// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * gpud's stats file (cuda/gpud_stats.h). The file keeps its inode across
 * gpud restarts (taken over, not made anew), so an agent that mapped it
 * once sees the next gpud's table without opening it again.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "errbuf.h"
#include "fsutil.h"
#include "gpud_stats.h"
#include "triage/seqlock.h"

#define READ_TRIES 1000

void gpud_stats_path(const char *run_dir, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", run_dir_resolve(run_dir), TRIAGE_GPUD_STATS_FILE);
}

/* The whole table but seq, in relaxed atomic stores, under the lock. */
static void write_table(struct triage_gpud_stats *s, const struct triage_gpud_stats *src)
{
	size_t after_seq = offsetof(struct triage_gpud_stats, nr_stages);

	triage_seq_write_begin(&s->seq);
	triage_seq_store_bytes(s, src, offsetof(struct triage_gpud_stats, seq));
	triage_seq_store_bytes((char *)s + after_seq, (const char *)src + after_seq,
			       sizeof(*s) - after_seq);
	triage_seq_write_end(&s->seq);
}

int gpud_stats_create(const char *path, struct shm_file *f, const char *device,
		      const char *policy, int nr_sms, char *err, size_t errlen)
{
	struct triage_gpud_stats t;
	int ret = shm_file_create(path, sizeof(t), f, err, errlen);

	if (ret)
		return ret;
	memset(&t, 0, sizeof(t));
	t.magic = TRIAGE_GPUD_STATS_MAGIC;
	t.abi_version = TRIAGE_GPUD_STATS_ABI;
	t.pid = (int32_t)getpid();
	t.updated_ns = mono_ns();
	t.nr_sms = (uint32_t)nr_sms;
	snprintf(t.device, sizeof(t.device), "%s", device);
	snprintf(t.policy, sizeof(t.policy), "%s", policy);
	write_table(f->p, &t);
	return 0;
}

void gpud_stats_publish(struct shm_file *f, const struct triage_gpud_stage_stats *stages, int n)
{
	struct triage_gpud_stats *s = f->p, t;

	/* The one writer reads its own table: nothing can tear it. */
	memcpy(&t, s, offsetof(struct triage_gpud_stats, stages));
	if (n > TRIAGE_GPUD_MAX_STAGES)
		n = TRIAGE_GPUD_MAX_STAGES;
	memset(t.stages, 0, sizeof(t.stages));
	memcpy(t.stages, stages, (size_t)n * sizeof(*stages));
	t.nr_stages = (uint32_t)n;
	t.updated_ns = mono_ns();
	write_table(s, &t);
}

void gpud_stats_stop(struct shm_file *f)
{
	struct triage_gpud_stats *s = f->p, t;

	memcpy(&t, s, sizeof(t));
	memset(t.stages, 0, sizeof(t.stages));
	t.nr_stages = 0;
	t.stopped = 1;
	t.updated_ns = mono_ns();
	write_table(s, &t);
}

int gpud_stats_snapshot(const struct shm_file *f, struct triage_gpud_stats *copy, char *err,
			size_t errlen)
{
	const struct triage_gpud_stats *s = f->p;

	if (triage_seq_read(&s->seq, copy, s, sizeof(*s), READ_TRIES, NULL)) {
		set_error(err, errlen, "gpud-stats: a write stayed in progress over %d tries",
			  READ_TRIES);
		return -EAGAIN;
	}
	if (copy->magic != TRIAGE_GPUD_STATS_MAGIC || copy->abi_version != TRIAGE_GPUD_STATS_ABI ||
	    copy->nr_stages > TRIAGE_GPUD_MAX_STAGES) {
		set_error(err, errlen, "gpud-stats: magic 0x%08x, ABI %u, %u stages; this reader knows ABI %d",
			  copy->magic, copy->abi_version, copy->nr_stages, TRIAGE_GPUD_STATS_ABI);
		return -EPROTO;
	}
	if (copy->stopped || copy->pid <= 0 || (kill(copy->pid, 0) && errno == ESRCH)) {
		set_error(err, errlen, "triage-gpud %s (pid %d)",
			  copy->stopped ? "stopped" : "is not running", copy->pid);
		return -ESRCH;
	}
	/* Its pid may have gone to another process since. */
	if (mono_ns() - copy->updated_ns > TRIAGE_GPUD_STATS_STALE_MS * 1000000ull) {
		set_error(err, errlen, "triage-gpud (pid %d) wrote no stats for %.1f s", copy->pid,
			  (mono_ns() - copy->updated_ns) / 1e9);
		return -ESRCH;
	}
	return 0;
}
