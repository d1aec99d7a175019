// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libtriage's client API (include/triage/client.h): a DNN process's side of
 * its file under <run>/clients/.
 *
 * Why it is built this way:
 *  - The file appears whole: it is made under a temporary name (".<pid>.tmp",
 *    which the agent does not read), filled, and renamed into place, so the
 *    agent never maps a half-initialised header. The rename also replaces a
 *    stale file left by a dead process that had our pid: a live pid is
 *    unique, and one client per process is enforced here.
 *  - The client never depends on the agent: without a run directory, when
 *    the file cannot be made, when no agent looks at it within
 *    CLIENT_SHM_AGENT_GRACE_NS, when the agent refuses it, or while the
 *    agent's section stays mid-write, the client runs unmanaged, and says
 *    so on stderr once per reason (a bit in `said`).
 *  - The per-inference path is cheap: counters and a ring of the last
 *    CLIENT_WINDOW latencies in the struct (no allocation), quantiles by
 *    selection over a copy (linear, no sort), no system call; reading the
 *    assignment is two loads while the agent's seq has not moved.
 *
 * One thread at a time calls into one client (the client section has one
 * writer). A child forked from a client process must not use its parent's
 * client: the file is the parent's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "errbuf.h"
#include "fsutil.h"
#include "numparse.h"
#include "quantile.h"
#include "client_shm.h"
#include "triage/client.h"

/* Latency quantiles and throughput are over the last CLIENT_WINDOW
 * inferences (about a second of a 4 ms model; a window by count keeps the
 * per-inference cost fixed whatever the rate). */
#define CLIENT_WINDOW 256

/* Why the client runs unmanaged; each said at most once. */
enum unmanaged_reason {
	SAID_NO_RUN_DIR = 1u << 0,
	SAID_CANNOT_REGISTER = 1u << 1,
	SAID_SECOND_CLIENT = 1u << 2,
	SAID_NO_ANSWER = 1u << 3,
	SAID_OTHER_ABI = 1u << 4,
	SAID_REFUSED = 1u << 5,
	SAID_MID_WRITE = 1u << 6,
	SAID_BAD_ASSIGNMENT = 1u << 7,
	SAID_AGENT_GONE = 1u << 8,
	SAID_LEVEL_CAPPED = 1u << 9, /* managed, at a lower level than asked */
};

/* How often triage_client_wait() looks at the agent's answer. */
#define CLIENT_WAIT_STEP_NS 2000000

/* How often a managed client checks that its agent still lives. */
#define CLIENT_AGENT_CHECK_NS 500000000ull

struct triage_client {
	struct triage_client_shm *shm; /* NULL: unmanaged from the start */
	char path[PATH_MAX];	       /* <run>/clients/<pid> */
	char pid_file[PATH_MAX];       /* <run>/triaged.pid, the agent's */
	pid_t owner;		       /* the process that opened it */
	uint32_t nr_layers;
	char level[TRIAGE_CLIENT_LEVEL_MAX];	     /* asked for */
	char granted_level[TRIAGE_CLIENT_LEVEL_MAX]; /* the agent's, "" before */
	uint64_t open_ns;
	unsigned said; /* enum unmanaged_reason bits */

	/* Whether the agent that manages it lived at the last check. */
	uint64_t agent_checked_ns;
	bool agent_gone;

	/* The last assignment read, valid while agent_seq is cached_seq. */
	bool have_cached;
	uint32_t cached_seq;
	struct triage_client_assignment cached;

	uint64_t inferences, busy_ns;
	uint32_t window_next, window_count; /* ring of the last inferences */
	uint64_t window_latency_ns[CLIENT_WINDOW];
	uint64_t window_end_ns[CLIENT_WINDOW];
	uint64_t scratch[CLIENT_WINDOW]; /* the quantiles' working copy */
};

/* The pid that has a client open: one file per pid. */
static pid_t client_of_pid;

static void say_once(struct triage_client *c, enum unmanaged_reason why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One line on stderr the first time a reason comes up. */
static void say_once(struct triage_client *c, enum unmanaged_reason why, const char *fmt, ...)
{
	va_list ap;

	if (c->said & why)
		return;
	c->said |= why;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* ---- open ---- */

static int check_info_name(const char *field, const char *s, size_t max, char *err, size_t errlen)
{
	if (!s || !*s) {
		set_error(err, errlen, "%s: empty", field);
		return -EINVAL;
	}
	if (strlen(s) >= max) {
		set_error(err, errlen, "%s: %zu bytes, at most %zu", field, strlen(s), max - 1);
		return -EINVAL;
	}
	if (!client_shm_valid_name(s, max)) {
		size_t at = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789_.-");

		/* Named by position: the character may be a newline. */
		set_error(err, errlen, "%s: character %zu (0x%02x) is not one of [A-Za-z0-9_.-]",
			  field, at + 1, (unsigned char)s[at]);
		return -EINVAL;
	}
	return 0;
}

static int check_info(const struct triage_client_info *info, char *err, size_t errlen)
{
	int ret;

	if (!info) {
		set_error(err, errlen, "info: NULL");
		return -EINVAL;
	}
	if ((ret = check_info_name("name", info->name, TRIAGE_NAME_MAX, err, errlen)) ||
	    (ret = check_info_name("model", info->model, TRIAGE_NAME_MAX, err, errlen)) ||
	    (ret = check_info_name("level", info->level, TRIAGE_CLIENT_LEVEL_MAX, err, errlen)))
		return ret;
	if (!isfinite(info->latency_ms) || info->latency_ms < 0) {
		set_error(err, errlen, "latency_ms: %g: must be a finite number >= 0 (0: none)",
			  info->latency_ms);
		return -EINVAL;
	}
	if (!isfinite(info->rate_hz) || info->rate_hz < 0) {
		set_error(err, errlen, "rate_hz: %g: must be a finite number >= 0 (0: flat out)",
			  info->rate_hz);
		return -EINVAL;
	}
	if (info->nr_layers < 1 || info->nr_layers > TRIAGE_CLIENT_MAX_LAYERS) {
		set_error(err, errlen, "nr_layers: %d: must be 1..%d", info->nr_layers,
			  TRIAGE_CLIENT_MAX_LAYERS);
		return -EINVAL;
	}
	return 0;
}

static void set_name(char *field, size_t size, const char *s)
{
	char buf[TRIAGE_NAME_MAX]; /* the largest of the names */

	memset(buf, 0, sizeof(buf));
	snprintf(buf, size, "%s", s);
	triage_seq_store_bytes(field, buf, size);
}

/* The header and registration of a file no one else has seen yet; under
 * client_seq all the same, as every write of the section. */
static void fill(struct triage_client_shm *s, const struct triage_client_info *info)
{
	client_shm_set(s->magic, TRIAGE_CLIENT_MAGIC);
	client_shm_set(s->abi_version, (uint32_t)TRIAGE_CLIENT_ABI);
	client_shm_set(s->size, (uint32_t)sizeof(*s));
	client_shm_set(s->pid, (int32_t)getpid());

	client_shm_client_begin(s);
	client_shm_set(s->nr_layers, (uint32_t)info->nr_layers);
	set_name(s->name, sizeof(s->name), info->name);
	set_name(s->model, sizeof(s->model), info->model);
	set_name(s->level, sizeof(s->level), info->level);
	client_shm_set(s->latency_ms, info->latency_ms);
	client_shm_set(s->rate_hz, info->rate_hz);
	client_shm_set(s->start_ns, mono_ns());
	client_shm_client_end(s);
}

/* Makes, fills and renames the file into place; 0, or -errno with the
 * failing path in what. */
static int create_file(struct triage_client *c, const char *dir,
		       const struct triage_client_info *info, char *what, size_t whatlen)
{
	char tmp[PATH_MAX];
	void *p;
	int fd, ret;

	if (mkdir(dir, 0755) && errno != EEXIST) {
		ret = -errno;
		snprintf(what, whatlen, "%s", dir);
		return ret;
	}
	if (snprintf(tmp, sizeof(tmp), "%s/.%d.tmp", dir, (int)c->owner) >= (int)sizeof(tmp) ||
	    snprintf(c->path, sizeof(c->path), "%s/%d", dir, (int)c->owner) >=
		    (int)sizeof(c->path)) {
		snprintf(what, whatlen, "%s", dir);
		return -ENAMETOOLONG;
	}
	snprintf(what, whatlen, "%s", tmp);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno == EEXIST) {
		/* Left by a dead process of our pid (we hold the only client
		 * of this one). */
		unlink(tmp);
		fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	}
	if (fd < 0)
		return -errno;
	/* 0644 whatever the umask: the agent and triagectl read it. */
	if (fchmod(fd, 0644) || ftruncate(fd, (off_t)sizeof(*c->shm)))
		goto fail;
	p = mmap(NULL, sizeof(*c->shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	close(fd);
	fill(p, info);
	snprintf(what, whatlen, "%s", c->path);
	if (rename(tmp, c->path)) {
		ret = -errno;
		munmap(p, sizeof(*c->shm));
		unlink(tmp);
		return ret;
	}
	c->shm = p;
	return 0;
fail:
	ret = -errno;
	close(fd);
	unlink(tmp);
	return ret;
}

struct triage_client *triage_client_open(const struct triage_client_info *info,
					 const char *run_dir, char *err, size_t errlen)
{
	char dir[PATH_MAX], what[PATH_MAX];
	struct triage_client *c;
	pid_t owner;
	struct stat st;
	int ret;

	if (check_info(info, err, errlen))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		set_error(err, errlen, "client: out of memory");
		return NULL;
	}
	c->owner = getpid();
	c->nr_layers = (uint32_t)info->nr_layers;
	snprintf(c->level, sizeof(c->level), "%s", info->level);
	c->open_ns = mono_ns();
	run_dir = run_dir_resolve(run_dir);

	/* No run directory: no agent. Never create it, that is the agent's. */
	if (stat(run_dir, &st) || !S_ISDIR(st.st_mode)) {
		say_once(c, SAID_NO_RUN_DIR, "triage: no agent (no %s): running unmanaged\n",
			 run_dir);
		return c;
	}
	/* One client per process: the file is named by the pid. (A forked
	 * child finds its parent's pid here, not its own.) */
	owner = __atomic_load_n(&client_of_pid, __ATOMIC_ACQUIRE);
	if (owner == c->owner ||
	    !__atomic_compare_exchange_n(&client_of_pid, &owner, c->owner, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		say_once(c, SAID_SECOND_CLIENT,
			 "triage: process %d already has a client (one per process): running unmanaged\n",
			 (int)c->owner);
		return c;
	}
	snprintf(c->pid_file, sizeof(c->pid_file), "%s/triaged.pid", run_dir);
	ret = client_shm_dir(run_dir, dir, sizeof(dir));
	if (ret)
		snprintf(what, sizeof(what), "%s", run_dir);
	else
		ret = create_file(c, dir, info, what, sizeof(what));
	if (ret) {
		__atomic_store_n(&client_of_pid, 0, __ATOMIC_RELEASE);
		say_once(c, SAID_CANNOT_REGISTER,
			 "triage: cannot register (%s: %s): running unmanaged\n", what,
			 strerror(-ret));
	}
	return c;
}

void triage_client_close(struct triage_client *c)
{
	if (!c)
		return;
	if (c->shm) {
		/* A forked child's copy is not the file's owner. */
		if (getpid() == c->owner) {
			unlink(c->path);
			__atomic_store_n(&client_of_pid, 0, __ATOMIC_RELEASE);
		}
		munmap(c->shm, sizeof(*c->shm));
	}
	free(c);
}

/* ---- inferences ---- */

static void window_figures(struct triage_client *c, double *throughput, double *p50_ms,
			   double *p99_ms)
{
	int n = (int)c->window_count;
	uint32_t newest = (c->window_next + CLIENT_WINDOW - 1) % CLIENT_WINDOW;
	uint32_t oldest = n < CLIENT_WINDOW ? 0 : c->window_next;
	uint64_t span = c->window_end_ns[newest] - c->window_end_ns[oldest];
	size_t k50 = quantile_rank((size_t)n, 0.50), k99 = quantile_rank((size_t)n, 0.99);

	/* Completions per second between the oldest end and the newest. */
	*throughput = n >= 2 && c->window_end_ns[newest] > c->window_end_ns[oldest]
			      ? (double)(n - 1) * 1e9 / (double)span
			      : 0;
	memcpy(c->scratch, c->window_latency_ns, (size_t)n * sizeof(c->scratch[0]));
	*p50_ms = (double)select_kth_u64(c->scratch, (size_t)n, k50) / 1e6;
	/* Everything past k50 is >= it: p99 is in that part. */
	*p99_ms = (double)select_kth_u64(c->scratch + k50, (size_t)n - k50, k99 - k50) / 1e6;
}

void triage_client_inference(struct triage_client *c, uint64_t begin_ns, uint64_t end_ns)
{
	uint64_t latency = end_ns > begin_ns ? end_ns - begin_ns : 0;
	double throughput, p50, p99;
	struct triage_client_shm *s = c->shm;

	c->inferences++;
	c->busy_ns += latency;
	c->window_latency_ns[c->window_next] = latency;
	c->window_end_ns[c->window_next] = end_ns;
	c->window_next = (c->window_next + 1) % CLIENT_WINDOW;
	if (c->window_count < CLIENT_WINDOW)
		c->window_count++;
	if (!s)
		return;
	window_figures(c, &throughput, &p50, &p99);

	client_shm_client_begin(s);
	client_shm_set(s->inferences, c->inferences);
	client_shm_set(s->busy_ns, c->busy_ns);
	client_shm_set(s->last_end_ns, end_ns);
	client_shm_set(s->throughput, throughput);
	client_shm_set(s->latency_p50_ms, p50);
	client_shm_set(s->latency_p99_ms, p99);
	client_shm_client_end(s);
}

void triage_client_publish_stages(struct triage_client *c, int nr_stages,
				  const struct triage_client_stage_tids *stages)
{
	struct triage_client_stage_tids next[TRIAGE_CLIENT_MAX_STAGES];
	struct triage_client_shm *s = c->shm;

	if (!s)
		return;
	if (nr_stages < 0 || !stages)
		nr_stages = 0;
	if (nr_stages > TRIAGE_CLIENT_MAX_STAGES)
		nr_stages = TRIAGE_CLIENT_MAX_STAGES;
	memset(next, 0, sizeof(next));
	for (int i = 0; i < nr_stages; i++) {
		next[i] = stages[i];
		if (next[i].nr_tids > TRIAGE_CLIENT_MAX_TIDS)
			next[i].nr_tids = TRIAGE_CLIENT_MAX_TIDS;
	}
	client_shm_client_begin(s);
	client_shm_set(s->nr_stages, (uint32_t)nr_stages);
	triage_seq_store_bytes(s->stages, next, sizeof(next));
	client_shm_client_end(s);
}

void triage_client_publish_profile(struct triage_client *c, const float *layer_ms, int nr_layers)
{
	float next[TRIAGE_CLIENT_MAX_LAYERS];
	struct triage_client_shm *s = c->shm;

	if (!s)
		return;
	if (nr_layers < 0 || !layer_ms)
		nr_layers = 0;
	if (nr_layers > (int)c->nr_layers)
		nr_layers = (int)c->nr_layers;
	/* What the agent would refuse becomes 0 ("not measured"). */
	for (int i = 0; i < nr_layers; i++)
		next[i] = isfinite(layer_ms[i]) && layer_ms[i] >= 0 ? layer_ms[i] : 0;
	client_shm_client_begin(s);
	client_shm_set(s->profile_layers, (uint32_t)nr_layers);
	triage_seq_store_bytes(s->layer_ms, next, (size_t)nr_layers * sizeof(next[0]));
	client_shm_client_end(s);
}

/* ---- the assignment ---- */

static void read_assignment(struct triage_client *c, struct triage_client_assignment *a)
{
	struct triage_client_shm copy;
	char why[160];

	if (c->have_cached &&
	    __atomic_load_n(&c->shm->agent_seq, __ATOMIC_ACQUIRE) == c->cached_seq) {
		*a = c->cached; /* the agent has not written since */
		return;
	}
	if (client_shm_read_agent(c->shm, &copy)) {
		say_once(c, SAID_MID_WRITE,
			 "triage: the agent's assignment stays mid-write (agent died?): running unmanaged\n");
		return;
	}
	if (client_shm_check_assignment(&copy, c->nr_layers, why, sizeof(why))) {
		say_once(c, SAID_BAD_ASSIGNMENT,
			 "triage: the agent's assignment is bad (%s): running unmanaged while it is\n",
			 why);
		return;
	}
	memset(&c->cached, 0, sizeof(c->cached));
	c->cached.managed = true;
	c->cached.generation = copy.generation;
	c->cached.nr_stages = (int)copy.nr_assigned;
	memcpy(c->cached.stages, copy.assigned, sizeof(c->cached.stages));
	c->cached.gpu_permille = copy.gpu_permille;
	c->cached_seq = copy.agent_seq;
	c->have_cached = true;
	*a = c->cached;
	memcpy(c->granted_level, copy.granted_level, sizeof(c->granted_level));
	if (copy.grant_flags & TRIAGE_CLIENT_LEVEL_CAPPED)
		say_once(c, SAID_LEVEL_CAPPED,
			 "triage: level \"%s\" is not this user's to claim: taken on at \"%s\"%s (the agent's client policy)\n",
			 c->level, c->granted_level,
			 copy.grant_flags & TRIAGE_CLIENT_TARGET_IGNORED
				 ? ", its latency target drives no protection"
				 : "");
}

void triage_client_assignment(struct triage_client *c, struct triage_client_assignment *a)
{
	uint32_t status, agent_abi;

	memset(a, 0, sizeof(*a));
	if (!c->shm)
		return;
	status = client_shm_status(c->shm);
	if (status == TRIAGE_CLIENT_MANAGED) {
		/* An agent that died leaves the status as it was: its
		 * assignment would pin this client for good. A new agent
		 * writes its own pid when it takes the client on again. */
		uint64_t now = mono_ns();

		if (now - c->agent_checked_ns >= CLIENT_AGENT_CHECK_NS) {
			int32_t agent = (int32_t)__atomic_load_n(&c->shm->agent_pid, __ATOMIC_RELAXED);

			c->agent_checked_ns = now;
			c->agent_gone = agent > 0 && kill(agent, 0) && errno == ESRCH;
			if (c->agent_gone)
				say_once(c, SAID_AGENT_GONE,
					 "triage: the agent (pid %d) is gone: running unmanaged until one takes this client on\n",
					 (int)agent);
		}
		if (!c->agent_gone)
			read_assignment(c, a);
		return;
	}
	if (status == TRIAGE_CLIENT_REFUSED) {
		agent_abi = client_shm_agent_abi(c->shm);
		if (agent_abi != TRIAGE_CLIENT_ABI)
			say_once(c, SAID_OTHER_ABI,
				 "triage: agent speaks client ABI %u, this client %d: running unmanaged\n",
				 agent_abi, TRIAGE_CLIENT_ABI);
		else
			say_once(c, SAID_REFUSED,
				 "triage: the agent refused this client (see its log): running unmanaged\n");
		return;
	}
	/* Not looked at yet (or a status this ABI does not know). */
	if (!(c->said & SAID_NO_ANSWER) && mono_ns() - c->open_ns > CLIENT_SHM_AGENT_GRACE_NS)
		say_once(c, SAID_NO_ANSWER,
			 "triage: no agent answered within %llu s (%s): running unmanaged\n",
			 CLIENT_SHM_AGENT_GRACE_NS / 1000000000ull, c->path);
}

void triage_client_stage_cpus(const struct triage_client_assign_stage *stage, cpu_set_t *set)
{
	CPU_ZERO(set);
	for (int cpu = 0; cpu < TRIAGE_CLIENT_CPU_WORDS * 64 && cpu < CPU_SETSIZE; cpu++)
		if (stage->cpus[cpu / 64] & (1ull << (cpu % 64)))
			CPU_SET(cpu, set);
}

void triage_client_applied(struct triage_client *c, uint64_t gen)
{
	struct triage_client_shm *s = c->shm;

	if (!s)
		return;
	client_shm_client_begin(s);
	client_shm_set(s->applied_generation, gen);
	client_shm_client_end(s);
}

/* Whether the agent's pid file names a process that lives. */
static bool live_agent(const struct triage_client *c)
{
	char buf[32], why[128];
	long pid;

	if (read_first_line(c->pid_file, buf, sizeof(buf)) ||
	    num_parse_long(buf, 1, INT_MAX, &pid, why, sizeof(why)))
		return false;
	return !kill((pid_t)pid, 0) || errno != ESRCH;
}

bool triage_client_wait(struct triage_client *c, unsigned timeout_ms)
{
	const struct timespec step = { 0, CLIENT_WAIT_STEP_NS };
	uint64_t until;

	if (!c || !c->shm || !live_agent(c))
		return triage_client_managed(c);
	until = mono_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		uint32_t status = client_shm_status(c->shm);

		if (status != TRIAGE_CLIENT_UNSEEN || mono_ns() >= until)
			return status == TRIAGE_CLIENT_MANAGED;
		nanosleep(&step, NULL);
	}
}

bool triage_client_managed(const struct triage_client *c)
{
	return c && c->shm && client_shm_status(c->shm) == TRIAGE_CLIENT_MANAGED;
}

const char *triage_client_level(const struct triage_client *c)
{
	if (!c)
		return "";
	return triage_client_managed(c) && c->granted_level[0] ? c->granted_level : c->level;
}
