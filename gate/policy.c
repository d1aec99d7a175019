// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The launch gate's policy (gate/gate.h, docs/gpu.md "The launch gate").
 *
 * Every gated process tracks what it has in flight: per stream, an event
 * recorded before the first launch of a run of work (start) and one
 * re-recorded after a launch (end): after every one on a thread's own
 * default stream, at most every GATE_RECORD_NS on the others, where the
 * poller records it again for launches that came after the last record.
 * The poller thread queries the end events every GATE_POLL_US while any
 * is pending; when one completes with no launch after its record, every
 * launch on that stream has, and the stream's GPU time is start to end. A critical process publishes how many launches it has
 * in flight in its board slot; a best-effort process, before each launch,
 * looks whether any live critical slot has some, and if so waits until
 * there are none, or until it has waited (1000 - share) per mille of the
 * current TRIAGE_GATE_WINDOW_MS window: its share (gpu-shares, else its
 * level's floor while an agent runs) is the part of each window it may
 * always launch in, so it always progresses.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fsutil.h"
#include "gate.h"
#include "gpu_board.h"
#include "gpu_shares.h"

#define GATE_POLL_US 100
#define GATE_HOLD_STEP_US 100
#define GATE_STREAMS 64
#define GATE_PUBLISH_NS 10000000ull /* counters to the board at most every 10 ms */
#define GATE_REREAD_NS 1000000000ull /* header, agent, shares file: every second */
#define GATE_MEDIAN_OF 8
/* A launch re-records its stream's end event only when the last record is
 * this old (or done): a burst of short kernels costs a record every
 * 200 us, not one per launch. Launches after the last record are covered
 * by the poller, which records again when that one completes. */
#define GATE_RECORD_NS 200000ull
/* Whatever the floor says, a best-effort process launches in at least
 * this part of each window (1 ms of 100): it always progresses. */
#define GATE_MIN_SHARE 10
/* The floor of a process whose level the board does not know (its role
 * given by TRIAGE_GATE_ROLE): the default of gpu_floor_permille. */
#define GATE_DEFAULT_FLOOR 100

struct stream_track {
	CUstream stream;
	pid_t tid; /* for a thread's own default stream; else 0 */
	CUcontext ctx;
	CUevent start, end;
	bool pending, started;
	uint32_t count;	     /* launches since the stream was last seen idle */
	uint32_t unrecorded; /* of them, launches after end's last record */
	uint64_t gen;	     /* bumped by every record of end */
	uint64_t recorded_ns;
};

/* What a launch's two halves share on the launching thread. */
static __thread bool tl_skip;
static __thread struct stream_track *tl_track;

static struct {
	bool on, track, quiet;
	int role, slot, level_idx;
	char name[TRIAGE_NAME_MAX], level[TRIAGE_NAME_MAX], board_path[4096];
	struct gate_driver drv;
	struct gpu_board_file board;
	struct gpu_board_seen seen;
	/* best-effort: what bounds the holds */
	struct gpu_shares_file shares;
	bool shares_open;
	uint32_t shares_seq;
	int share_entry; /* -1: none */
	unsigned floor;
	bool agent_live;
	uint64_t reread_ns, win_start_ns, win_held_ns;
	pthread_mutex_t hold_mu; /* a best-effort launch's decision and wait */
	/* what is in flight, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct stream_track streams[GATE_STREAMS];
	int nr_streams;
	uint32_t inflight;
	uint64_t burst_start_ns, published_ns, ring[GATE_MEDIAN_OF];
	int ring_n;
	bool poller_on, atfork_set;
	struct triage_gate_slot mine; /* this process's counters */
} G = { .slot = -1, .level_idx = -1, .share_entry = -1, .mu = PTHREAD_MUTEX_INITIALIZER,
	.hold_mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER };

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	if (G.quiet)
		return;
	va_start(ap, fmt);
	fputs("triage-gate: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void sleep_us(unsigned us)
{
	struct timespec ts = { 0, (long)us * 1000 };

	nanosleep(&ts, NULL);
}

/* "/triage/<level>/<name>[/...]" in /proc/self/cgroup, under the agent's
 * cgroup root: the level and workload this process was tagged into. */
static void from_cgroup(const char *root, char *level, char *name)
{
	char *text = NULL, *line, *save = NULL;
	size_t rlen = strlen(root);

	if (!rlen || read_file_alloc("/proc/self/cgroup", 1 << 16, &text, NULL))
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *path = strchr(line, ':'), *rest, *slash;

		path = path ? strchr(path + 1, ':') : NULL;
		if (!path || strncmp(path + 1, root, rlen) || path[1 + rlen] != '/')
			continue;
		rest = path + 2 + rlen;
		slash = strchr(rest, '/');
		if (!slash)
			continue;
		snprintf(level, TRIAGE_NAME_MAX, "%.*s", (int)(slash - rest), rest);
		rest = slash + 1;
		slash = strchr(rest, '/');
		snprintf(name, TRIAGE_NAME_MAX, "%.*s", slash ? (int)(slash - rest) : (int)strlen(rest),
			 rest);
		break;
	}
	free(text);
}

/* Every second: the agent's levels and pid, and the shares file. */
static void reread(uint64_t now)
{
	struct triage_gate_board hdr;
	char err[256];

	G.reread_ns = now;
	if (!gpu_board_read_header(G.board.b, &hdr, err, sizeof(err))) {
		int li = G.level[0] ? gpu_board_level(&hdr, G.level) : -1;

		G.floor = li >= 0 ? hdr.levels[li].floor_permille : GATE_DEFAULT_FLOOR;
		if (G.floor < GATE_MIN_SHARE)
			G.floor = GATE_MIN_SHARE;
		G.agent_live = hdr.agent_pid > 0 && !(kill(hdr.agent_pid, 0) && errno == ESRCH);
	}
	if (!G.shares_open) {
		char path[4096];

		gpu_shares_default_path(path, sizeof(path));
		G.shares_open = !gpu_shares_open(path, &G.shares, err, sizeof(err));
		G.shares_seq = 0;
	}
}

/* The share in force for this best-effort process, per mille. */
static unsigned share_now(uint64_t now)
{
	if (now - G.reread_ns >= GATE_REREAD_NS)
		reread(now);
	if (G.shares_open && gpu_shares_seq(G.shares.s) != G.shares_seq) {
		struct triage_gpu_shares copy;
		char err[256];

		if (!gpu_shares_snapshot(G.shares.s, &copy, err, sizeof(err))) {
			G.shares_seq = copy.seq;
			G.share_entry = gpu_shares_lookup(&copy, G.name);
		}
	}
	/* No entry: the level's floor while an agent runs (a process new to
	 * it is held strictly until the agent gives it more); none after an
	 * agent stopped. */
	if (G.share_entry >= 0)
		return (unsigned)G.share_entry < G.floor ? G.floor : (unsigned)G.share_entry;
	return G.agent_live ? G.floor : TRIAGE_GATE_SHARE_NONE;
}

static void publish_locked(uint64_t now, bool force)
{
	if (G.slot < 0 || (!force && now - G.published_ns < GATE_PUBLISH_NS))
		return;
	G.mine.updated_ns = now;
	G.published_ns = now;
	gpu_board_publish_slot(&G.board, G.slot, &G.mine);
}

static void atfork_child(void);
static void gate_exit(void);

/* Claims this process's slot the first time it launches. */
static void claim_locked(void)
{
	static uint64_t tried_ns;
	uint64_t now = mono_ns();

	if (G.slot >= 0 || (tried_ns && now - tried_ns < GATE_REREAD_NS))
		return;
	tried_ns = now;
	G.slot = gpu_board_claim(&G.board, G.role, G.name, G.level);
	if (G.slot < 0) {
		say("%s: every slot is taken by a live process; launches of pid %d are not seen "
		    "(retrying every second)", G.board_path, (int)getpid());
		return;
	}
	memset(&G.mine, 0, sizeof(G.mine));
	snprintf(G.mine.name, sizeof(G.mine.name), "%s", G.name);
	snprintf(G.mine.level, sizeof(G.mine.level), "%s", G.level);
	G.mine.share_permille = TRIAGE_GATE_SHARE_NONE;
	if (!G.atfork_set) {
		pthread_atfork(NULL, NULL, atfork_child);
		G.atfork_set = true;
	}
}

static uint64_t median(const uint64_t *v, int n)
{
	uint64_t s[GATE_MEDIAN_OF];

	memcpy(s, v, (size_t)n * sizeof(*s));
	for (int i = 1; i < n; i++)
		for (int k = i; k > 0 && s[k - 1] > s[k]; k--) {
			uint64_t t = s[k];

			s[k] = s[k - 1];
			s[k - 1] = t;
		}
	return s[n / 2];
}

/* A run of work of the whole process ended: its length joins the ring. */
static void burst_end_locked(uint64_t now)
{
	uint64_t len = now - G.burst_start_ns;

	G.mine.bursts++;
	G.mine.burst_ns_last = len;
	G.ring[G.mine.bursts % GATE_MEDIAN_OF] = len;
	if (G.mine.bursts >= GATE_MEDIAN_OF) {
		G.mine.burst_ns_median = median(G.ring, GATE_MEDIAN_OF);
		if (!G.mine.burst_ns_best || G.mine.burst_ns_median < G.mine.burst_ns_best)
			G.mine.burst_ns_best = G.mine.burst_ns_median;
	}
}

/* A stream's end event completed with no launch after it: its GPU time
 * from start to end, its launches out of flight, and the process's burst
 * over when it was the last. */
static void stream_done_locked(struct stream_track *t, uint64_t now)
{
	float ms = 0;

	if (t->started && G.drv.event_elapsed(&ms, t->start, t->end) == CUDA_SUCCESS && ms > 0)
		G.mine.busy_ns += (uint64_t)((double)ms * 1e6);
	G.inflight -= t->count < G.inflight ? t->count : G.inflight;
	t->count = 0;
	t->pending = t->started = false;
	if (!G.inflight)
		burst_end_locked(now);
}

static void *poller(void *arg)
{
	CUcontext current = NULL;

	(void)arg;
	/* Relaxed: this thread's queries neither break nor are refused by a
	 * stream capture in global mode on one of the program's threads
	 * (PyTorch's and TensorRT's CUDA graphs). */
	if (G.drv.exchange_capture_mode) {
		CUstreamCaptureMode mode = CU_STREAM_CAPTURE_MODE_RELAXED;

		G.drv.exchange_capture_mode(&mode);
	}
	for (;;) {
		struct {
			int i;
			CUevent end;
			CUcontext ctx;
			uint64_t gen;
			bool done;
		} look[GATE_STREAMS];
		int n = 0;
		uint64_t now;

		pthread_mutex_lock(&G.mu);
		while (!G.inflight)
			pthread_cond_wait(&G.cv, &G.mu);
		for (int i = 0; i < G.nr_streams; i++)
			if (G.streams[i].pending)
				look[n++] = (typeof(look[0])){ i, G.streams[i].end, G.streams[i].ctx,
							       G.streams[i].gen, false };
		pthread_mutex_unlock(&G.mu);

		for (int k = 0; k < n; k++) {
			if (look[k].ctx != current && G.drv.ctx_set_current(look[k].ctx) == CUDA_SUCCESS)
				current = look[k].ctx;
			look[k].done = G.drv.event_query(look[k].end) != CUDA_ERROR_NOT_READY;
		}

		pthread_mutex_lock(&G.mu);
		now = mono_ns();
		for (int k = 0; k < n; k++) {
			struct stream_track *t = &G.streams[look[k].i];

			/* A launch re-recorded end since: not done yet. */
			if (!look[k].done || t->gen != look[k].gen || !t->pending)
				continue;
			/* Launches came after that record: a new one covers them. */
			if (t->unrecorded && G.drv.event_record(t->end, t->stream) == CUDA_SUCCESS) {
				t->gen++;
				t->unrecorded = 0;
				t->recorded_ns = now;
				continue;
			}
			stream_done_locked(t, now);
		}
		if (G.slot >= 0) {
			if (G.role == TRIAGE_GATE_CRITICAL)
				gpu_board_set_inflight(&G.board, G.slot, G.inflight);
			publish_locked(now, !G.inflight);
		}
		pthread_mutex_unlock(&G.mu);
		sleep_us(GATE_POLL_US);
	}
	return NULL;
}

/* The calling thread's default stream under a _ptsz entry point. */
static struct stream_track *track_of_locked(CUstream s, bool per_thread)
{
	pid_t tid = 0;
	CUcontext ctx = NULL;
	struct stream_track *t;

	if (per_thread && !s)
		s = CU_STREAM_PER_THREAD;
	if (s == CU_STREAM_PER_THREAD)
		tid = gettid();
	if (G.drv.ctx_get_current(&ctx) != CUDA_SUCCESS)
		ctx = NULL;
	for (int i = 0; i < G.nr_streams; i++)
		if (G.streams[i].stream == s && G.streams[i].tid == tid && G.streams[i].ctx == ctx)
			return &G.streams[i];
	if (G.nr_streams == GATE_STREAMS) {
		/* Full: a stream seen idle makes room. */
		for (int i = 0; i < G.nr_streams; i++)
			if (!G.streams[i].pending) {
				t = &G.streams[i];
				goto reuse;
			}
		return NULL;
	}
	t = &G.streams[G.nr_streams];
	if (G.drv.event_create(&t->start, CU_EVENT_DEFAULT) != CUDA_SUCCESS)
		return NULL;
	if (G.drv.event_create(&t->end, CU_EVENT_DEFAULT) != CUDA_SUCCESS)
		return NULL;
	G.nr_streams++;
reuse:
	/* The events of a reused entry may belong to another context: a
	 * record on this stream would fail and the entry is then dropped. */
	t->stream = s;
	t->tid = tid;
	t->ctx = ctx;
	t->pending = t->started = false;
	t->count = t->unrecorded = 0;
	return t;
}

/* A launch into a stream being captured adds a node to a graph and runs
 * nothing: neither held nor tracked (an event recorded there would join
 * the graph). */
static bool capturing(CUstream s, bool per_thread)
{
	CUresult (*is)(CUstream, CUstreamCaptureStatus *) =
		per_thread && G.drv.stream_is_capturing_ptsz ? G.drv.stream_is_capturing_ptsz
							      : G.drv.stream_is_capturing;
	CUstreamCaptureStatus st = CU_STREAM_CAPTURE_STATUS_NONE;

	return is && is(s, &st) == CUDA_SUCCESS && st != CU_STREAM_CAPTURE_STATUS_NONE;
}

void gate_before_launch(CUstream s, bool per_thread)
{
	uint64_t now, t0;
	unsigned share;

	tl_track = NULL;
	tl_skip = !G.on || capturing(s, per_thread);
	if (tl_skip)
		return;
	if (__atomic_load_n(&G.slot, __ATOMIC_RELAXED) < 0) {
		pthread_mutex_lock(&G.mu);
		claim_locked(); /* before any hold, so that the agent sees who waits */
		pthread_mutex_unlock(&G.mu);
	}
	/* The fast way through: no critical work in flight anywhere, and
	 * the share read this second. */
	if (G.role == TRIAGE_GATE_BEST_EFFORT &&
	    (gpu_board_any_inflight(&G.board, G.slot) || mono_ns() - G.reread_ns >= GATE_REREAD_NS)) {
		uint64_t held = 0;

		/* One decision at a time per process: the window, the shares
		 * and the liveness cache are the process's, and threads that
		 * launch together share one budget. */
		pthread_mutex_lock(&G.hold_mu);
		now = mono_ns();
		if (now - G.win_start_ns >= (uint64_t)TRIAGE_GATE_WINDOW_MS * 1000000) {
			G.win_start_ns = now;
			G.win_held_ns = 0;
		}
		share = share_now(now);
		if (share < TRIAGE_GATE_SHARE_NONE && gpu_board_critical_busy(&G.board, G.slot, &G.seen)) {
			uint64_t allowed = (uint64_t)TRIAGE_GATE_WINDOW_MS * 1000000 *
					   (TRIAGE_GATE_SHARE_NONE - share) / TRIAGE_GATE_SHARE_NONE;

			t0 = now;
			while (G.win_held_ns + (now - t0) < allowed &&
			       gpu_board_critical_busy(&G.board, G.slot, &G.seen)) {
				sleep_us(GATE_HOLD_STEP_US);
				now = mono_ns();
				if (now - G.win_start_ns >= (uint64_t)TRIAGE_GATE_WINDOW_MS * 1000000) {
					/* A new window: its own budget. */
					held += now - t0;
					G.win_start_ns = t0 = now;
					G.win_held_ns = 0;
				}
			}
			G.win_held_ns += now - t0;
			held += now - t0;
		}
		pthread_mutex_unlock(&G.hold_mu);
		if (held || G.mine.share_permille != share) {
			pthread_mutex_lock(&G.mu);
			G.mine.share_permille = share;
			if (held) {
				G.mine.held++;
				G.mine.held_ns += held;
			}
			pthread_mutex_unlock(&G.mu);
		}
	}
	if (!G.track)
		return;
	pthread_mutex_lock(&G.mu);
	tl_track = track_of_locked(s, per_thread);
	if (tl_track && !tl_track->pending && !tl_track->started)
		tl_track->started = G.drv.event_record(tl_track->start, tl_track->stream) == CUDA_SUCCESS;
	pthread_mutex_unlock(&G.mu);
}

void gate_after_launch(CUstream s, bool per_thread)
{
	struct stream_track *t = tl_track;
	uint64_t now;

	(void)s;
	(void)per_thread;
	if (tl_skip)
		return;
	now = mono_ns();
	pthread_mutex_lock(&G.mu);
	G.mine.launches++;
	if (t) {
		/* A thread's own default stream is only that thread's to
		 * record on: the poller cannot cover it, every launch does. */
		bool covered = t->pending && !t->tid && now - t->recorded_ns < GATE_RECORD_NS;

		if (covered) {
			t->unrecorded++;
		} else if (G.drv.event_record(t->end, t->stream) == CUDA_SUCCESS) {
			t->gen++;
			t->pending = true;
			t->unrecorded = 0;
			t->recorded_ns = now;
			covered = true;
		}
		if (covered) {
			t->count++;
			if (!G.inflight++) {
				G.burst_start_ns = now;
				pthread_cond_signal(&G.cv);
			}
			if (G.slot >= 0 && G.role == TRIAGE_GATE_CRITICAL)
				gpu_board_set_inflight(&G.board, G.slot, G.inflight);
		}
		if (!G.poller_on) {
			pthread_t th;
			pthread_attr_t attr;
			sigset_t all, old;

			/* The poller takes none of the program's signals. */
			sigfillset(&all);
			pthread_sigmask(SIG_SETMASK, &all, &old);
			pthread_attr_init(&attr);
			pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
			G.poller_on = !pthread_create(&th, &attr, poller, NULL);
			pthread_attr_destroy(&attr);
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			if (!G.poller_on) {
				say("no poller thread: launches are counted, not tracked");
				G.track = false;
			}
		}
	}
	publish_locked(now, false);
	pthread_mutex_unlock(&G.mu);
}

/* A child after fork: nothing of the parent's GPU work is its own. */
static void atfork_child(void)
{
	pthread_mutex_init(&G.mu, NULL);
	pthread_mutex_init(&G.hold_mu, NULL);
	pthread_cond_init(&G.cv, NULL);
	G.slot = -1;
	G.nr_streams = 0;
	G.inflight = 0;
	G.poller_on = false;
	memset(&G.seen, 0, sizeof(G.seen));
}

void gate_init(const struct gate_driver *drv)
{
	const char *env_role = getenv(TRIAGE_GATE_ROLE_ENV), *env = getenv(TRIAGE_GATE_BOARD_ENV);
	struct triage_gate_board hdr;
	char err[512];
	int ret;

	G.quiet = getenv(TRIAGE_GATE_QUIET_ENV) && !strcmp(getenv(TRIAGE_GATE_QUIET_ENV), "1");
	if (env && *env)
		snprintf(G.board_path, sizeof(G.board_path), "%s", env);
	else
		gpu_board_path(NULL, G.board_path, sizeof(G.board_path));
	if (!drv) {
		say("no CUDA driver (%s): passing every launch through",
		    getenv(TRIAGE_LIBCUDA_ENV) ? getenv(TRIAGE_LIBCUDA_ENV) : TRIAGE_LIBCUDA_DEFAULT);
		return;
	}
	G.drv = *drv;
	ret = gpu_board_attach(G.board_path, &G.board, err, sizeof(err));
	if (!ret)
		ret = gpu_board_read_header(G.board.b, &hdr, err, sizeof(err));
	if (ret) {
		if (ret == -ENOENT)
			say("no board at %s (is triaged running?); passing every launch through",
			    G.board_path);
		else
			say("%s; passing every launch through", err);
		gpu_board_close(&G.board);
		return;
	}
	if (getenv(TRIAGE_GATE_NAME_ENV))
		snprintf(G.name, sizeof(G.name), "%s", getenv(TRIAGE_GATE_NAME_ENV));
	if (getenv(TRIAGE_GATE_LEVEL_ENV))
		snprintf(G.level, sizeof(G.level), "%s", getenv(TRIAGE_GATE_LEVEL_ENV));
	if (!G.name[0] || !G.level[0]) {
		char level[TRIAGE_NAME_MAX] = "", name[TRIAGE_NAME_MAX] = "";

		from_cgroup(hdr.cgroup_root, level, name);
		if (!G.level[0])
			memcpy(G.level, level, sizeof(level));
		if (!G.name[0])
			memcpy(G.name, name, sizeof(name));
	}
	if (!G.name[0] && read_first_line("/proc/self/comm", G.name, sizeof(G.name)))
		snprintf(G.name, sizeof(G.name), "pid%d", (int)getpid());
	G.level_idx = G.level[0] ? gpu_board_level(&hdr, G.level) : -1;
	if (env_role && *env_role) {
		if (!strcmp(env_role, "critical")) {
			G.role = TRIAGE_GATE_CRITICAL;
		} else if (!strcmp(env_role, "best-effort")) {
			G.role = TRIAGE_GATE_BEST_EFFORT;
		} else {
			say("%s=\"%s\": expected critical or best-effort; passing every launch through",
			    TRIAGE_GATE_ROLE_ENV, env_role);
			gpu_board_close(&G.board);
			return;
		}
	} else if (G.level_idx >= 0) {
		G.role = hdr.levels[G.level_idx].critical ? TRIAGE_GATE_CRITICAL : TRIAGE_GATE_BEST_EFFORT;
	} else {
		say("pid %d is in no level of %s (%s%s%s) and %s is not set; passing every launch "
		    "through",
		    (int)getpid(), G.board_path, G.level[0] ? "level \"" : "no triage cgroup",
		    G.level, G.level[0] ? "\" unknown" : "", TRIAGE_GATE_ROLE_ENV);
		gpu_board_close(&G.board);
		return;
	}
	G.track = drv->event_create && drv->event_record && drv->event_query && drv->event_elapsed &&
		  drv->ctx_get_current && drv->ctx_set_current;
	if (!G.track)
		say("the driver lacks event or context functions: launches are counted, not tracked");
	reread(mono_ns());
	atexit(gate_exit);
	G.on = true;
}

/* Registered with atexit() at the first hooked call, so it runs before
 * the driver's own teardown (atexit handlers run before any library's
 * destructors, and in reverse order: after the runtime's first call). */
static void gate_exit(void)
{
	uint64_t now = mono_ns();

	if (!G.on || G.slot < 0)
		return;
	pthread_mutex_lock(&G.mu);
	/* Work the poller had no turn to see finish: counted now. */
	for (int i = 0; G.track && i < G.nr_streams; i++)
		if (G.streams[i].pending && G.drv.event_query(G.streams[i].end) != CUDA_ERROR_NOT_READY)
			stream_done_locked(&G.streams[i], now);
	publish_locked(now, true);
	gpu_board_release(&G.board, G.slot);
	G.slot = -1;
	pthread_mutex_unlock(&G.mu);
}
