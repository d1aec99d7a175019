// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The client file's seqlocks, mapping and checks (client/client_shm.h).
 *
 * Why seqlocks: the client writes its figures after every inference and
 * reads its assignment before every one; neither it nor the agent may ever
 * wait on the other, and a reader must never act on a half-written
 * section. The C11 form (Boehm, "Can seqlocks get along with programming
 * language memory models?", MSPC 2012), as in cuda/gpu_shares.c: every
 * shared field is stored and loaded with relaxed atomics, and
 *  - the writer makes seq odd, then a release fence: no store of the body
 *    can become visible before the odd seq;
 *  - it ends with a release store of the even seq: the whole body is
 *    visible to whoever sees the new seq;
 *  - the reader loads seq with acquire (the body it copies is at least as
 *    new as that seq), copies, then an acquire fence and loads seq again:
 *    if the copy read any store of a write that began after the first
 *    load, the writer's release fence synchronises with this acquire fence
 *    and the second load sees the odd (or a later) seq, so the copy is
 *    thrown away. Equal and even means no write overlapped the copy.
 * Two seqs, one per section, so the client's writes never make the agent's
 * reader of the agent section retry, and the other way round.
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
#include <unistd.h>

#include "errbuf.h"
#include "client_shm.h"
#include "fsutil.h"
#include "triage/gpu.h"
#include "triage/seqlock.h"

_Static_assert(CLIENT_SHM_CLIENT_OFF % 4 == 0 && CLIENT_SHM_AGENT_OFF % 4 == 0 &&
		       sizeof(struct triage_client_shm) % 4 == 0,
	       "client sections copy as 32-bit words");

/* ---- seqlocks ---- */

void client_shm_client_begin(struct triage_client_shm *s)
{
	triage_seq_write_begin(&s->client_seq);
}

void client_shm_client_end(struct triage_client_shm *s)
{
	triage_seq_write_end(&s->client_seq);
}

void client_shm_agent_begin(struct triage_client_shm *s)
{
	triage_seq_write_begin(&s->agent_seq);
}

void client_shm_agent_end(struct triage_client_shm *s)
{
	triage_seq_write_end(&s->agent_seq);
}

/* Copies [off, off + len) of s, seq first, into the same place of copy. */
static int read_section(const struct triage_client_shm *s, struct triage_client_shm *copy,
			size_t off, size_t len)
{
	const uint32_t *seq = (const uint32_t *)((const char *)s + off);
	uint32_t seen;
	int ret = triage_seq_read(seq, (char *)copy + off, (const char *)s + off, len,
				  CLIENT_SHM_READ_TRIES, &seen);

	/* What the copy read of seq, by coherence. */
	if (!ret)
		*(uint32_t *)((char *)copy + off) = seen;
	return ret;
}

/* The header is frozen after the rename but for the agent's two words,
 * each a single atomic store: a word-wise copy is consistent enough. */
static void read_header(const struct triage_client_shm *s, struct triage_client_shm *copy)
{
	triage_seq_copy_words(copy, s, CLIENT_SHM_HEADER_SIZE);
	/* The status last and with acquire, as client_shm_status(). */
	copy->agent_status = client_shm_status(s);
}

int client_shm_read_client(const struct triage_client_shm *s, struct triage_client_shm *copy)
{
	memset((char *)copy + CLIENT_SHM_AGENT_OFF, 0, sizeof(*copy) - CLIENT_SHM_AGENT_OFF);
	read_header(s, copy);
	return read_section(s, copy, CLIENT_SHM_CLIENT_OFF,
			    CLIENT_SHM_AGENT_OFF - CLIENT_SHM_CLIENT_OFF);
}

int client_shm_read_agent(const struct triage_client_shm *s, struct triage_client_shm *copy)
{
	memset((char *)copy + CLIENT_SHM_CLIENT_OFF, 0,
	       CLIENT_SHM_AGENT_OFF - CLIENT_SHM_CLIENT_OFF);
	read_header(s, copy);
	return read_section(s, copy, CLIENT_SHM_AGENT_OFF, sizeof(*copy) - CLIENT_SHM_AGENT_OFF);
}

/* ---- the agent's header words ---- */

void client_shm_set_status(struct triage_client_shm *s, enum triage_client_status status)
{
	__atomic_store_n(&s->agent_abi, (uint32_t)TRIAGE_CLIENT_ABI, __ATOMIC_RELAXED);
	__atomic_store_n(&s->agent_status, (uint32_t)status, __ATOMIC_RELEASE);
}

uint32_t client_shm_status(const struct triage_client_shm *s)
{
	return __atomic_load_n(&s->agent_status, __ATOMIC_ACQUIRE);
}

uint32_t client_shm_agent_abi(const struct triage_client_shm *s)
{
	return __atomic_load_n(&s->agent_abi, __ATOMIC_RELAXED);
}

/* ---- agent side ---- */

void client_shm_write_assignment(struct triage_client_shm *s,
				 const struct triage_client_assign_stage *stages, int nr,
				 uint32_t gpu_permille, int agent_pid)
{
	struct triage_client_assign_stage next[TRIAGE_CLIENT_MAX_STAGES];

	if (nr < 0)
		nr = 0;
	if (nr > TRIAGE_CLIENT_MAX_STAGES)
		nr = TRIAGE_CLIENT_MAX_STAGES;
	/* Stages past nr are zeroed, so a reader never sees an old one. */
	memset(next, 0, sizeof(next));
	if (nr)
		memcpy(next, stages, (size_t)nr * sizeof(*next));

	client_shm_agent_begin(s);
	client_shm_set(s->nr_assigned, (uint32_t)nr);
	client_shm_set(s->generation, client_shm_generation(s) + 1);
	client_shm_set(s->gpu_permille, gpu_permille);
	client_shm_set(s->agent_pid, (uint32_t)agent_pid);
	triage_seq_store_bytes(s->assigned, next, sizeof(next));
	client_shm_agent_end(s);
	/* After the section: a client that sees MANAGED finds it whole. */
	client_shm_set_status(s, TRIAGE_CLIENT_MANAGED);
}

void client_shm_write_grant(struct triage_client_shm *s, const char *level, uint32_t flags)
{
	char name[TRIAGE_CLIENT_LEVEL_MAX] = { 0 };

	snprintf(name, sizeof(name), "%s", level);
	client_shm_agent_begin(s);
	triage_seq_store_bytes(s->granted_level, name, sizeof(name));
	client_shm_set(s->grant_flags, flags);
	client_shm_set(s->reserved, 0u);
	client_shm_agent_end(s);
}

uint64_t client_shm_generation(const struct triage_client_shm *s)
{
	return __atomic_load_n(&s->generation, __ATOMIC_RELAXED);
}

/* Refuses a client of another ABI: only the frozen header is touched. */
static void refuse_other_abi(int fd)
{
	void *p = mmap(NULL, CLIENT_SHM_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return;
	client_shm_set_status(p, TRIAGE_CLIENT_REFUSED);
	munmap(p, CLIENT_SHM_HEADER_SIZE);
}

static int map_checked(const char *path, int fd, struct triage_client_shm **out, char *err,
		       size_t errlen)
{
	struct triage_client_shm head;
	struct stat st;
	void *p;

	if (fstat(fd, &st)) {
		int ret = -errno;

		set_error(err, errlen, "%s: cannot stat: %s", path, strerror(-ret));
		return ret;
	}
	/* The directory is writable by clients: never follow their links
	 * into other files (O_NOFOLLOW did symlinks, this does hard links
	 * and FIFOs). */
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		set_error(err, errlen, "%s: not a regular file with one link", path);
		return -EPROTO;
	}
	if (st.st_size < (off_t)CLIENT_SHM_HEADER_SIZE ||
	    pread(fd, &head, CLIENT_SHM_HEADER_SIZE, 0) != (ssize_t)CLIENT_SHM_HEADER_SIZE) {
		set_error(err, errlen, "%s: %lld bytes, shorter than the %zu-byte header", path,
			  (long long)st.st_size, (size_t)CLIENT_SHM_HEADER_SIZE);
		return -EPROTO;
	}
	if (head.magic != TRIAGE_CLIENT_MAGIC) {
		set_error(err, errlen, "%s: magic 0x%08x, not a triage client file", path,
			  head.magic);
		return -EPROTO;
	}
	if (head.abi_version != TRIAGE_CLIENT_ABI) {
		refuse_other_abi(fd);
		set_error(err, errlen, "%s: client ABI %u, agent ABI %u: refused", path,
			  head.abi_version, TRIAGE_CLIENT_ABI);
		return -EPROTO;
	}
	if (st.st_size < (off_t)sizeof(**out) || head.size != sizeof(**out)) {
		set_error(err, errlen, "%s: %lld bytes, size field %u, ABI %u has %zu", path,
			  (long long)st.st_size, head.size, TRIAGE_CLIENT_ABI, sizeof(**out));
		return -EPROTO;
	}
	p = mmap(NULL, sizeof(**out), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int ret = -errno;

		set_error(err, errlen, "%s: cannot map: %s", path, strerror(-ret));
		return ret;
	}
	*out = p;
	return 0;
}

int client_shm_map(const char *path, struct triage_client_shm **out, char *err, size_t errlen)
{
	int fd, ret;

	*out = NULL;
	/* O_NONBLOCK: a FIFO planted under the name must not hang us. */
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		set_error(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return ret;
	}
	ret = map_checked(path, fd, out, err, errlen);
	close(fd); /* the mapping keeps the file */
	return ret;
}

void client_shm_unmap(struct triage_client_shm *s)
{
	if (s)
		munmap(s, sizeof(*s));
}

/* State Z (zombie) or X (dead) in /proc/<pid>/stat: exited, not reaped. */
static bool pid_is_zombie(int pid)
{
	char path[64], buf[512];
	const char *paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) /* reaped since kill(), or no /proc: say alive */
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold spaces and parentheses. */
	paren = strrchr(buf, ')');
	if (!paren || paren[1] != ' ')
		return false;
	return paren[2] == 'Z' || paren[2] == 'X';
}

bool client_shm_writer_gone(const struct triage_client_shm *s)
{
	int pid = __atomic_load_n(&s->pid, __ATOMIC_RELAXED);

	if (pid <= 0)
		return true;
	if (kill(pid, 0) == -1 && errno == ESRCH)
		return true;
	return pid_is_zombie(pid);
}

int client_shm_dir(const char *run_dir, char *out, size_t len)
{
	int n;

	n = snprintf(out, len, "%s/%s", run_dir_resolve(run_dir), TRIAGE_CLIENT_DIR);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool client_shm_file_pid(const char *file_name, int *pid)
{
	long v = 0;

	if (file_name[0] < '1' || file_name[0] > '9')
		return false;
	for (const char *p = file_name; *p; p++) {
		if (*p < '0' || *p > '9' || v > (INT_MAX - 9) / 10)
			return false;
		v = v * 10 + (*p - '0');
	}
	*pid = (int)v;
	return true;
}

/* ---- validation ---- */

static bool name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.' || ch == '-';
}

bool client_shm_valid_name(const char *s, size_t max)
{
	size_t len = strnlen(s, max);

	if (len == 0 || len == max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

static int check_name(const char *field, const char *s, size_t max, char *err, size_t errlen)
{
	size_t len = strnlen(s, max);

	if (client_shm_valid_name(s, max))
		return 0;
	if (!len)
		set_error(err, errlen, "%s: empty", field);
	else if (len == max)
		set_error(err, errlen, "%s: not NUL-terminated within %zu bytes", field, max);
	else
		/* Not quoted: it may hold anything, newlines included. */
		set_error(err, errlen, "%s: characters outside [A-Za-z0-9_.-]", field);
	return -EINVAL;
}

static int check_figure(const char *field, double v, char *err, size_t errlen)
{
	if (isfinite(v) && v >= 0)
		return 0;
	set_error(err, errlen, "%s: %g, not a finite number >= 0", field, v);
	return -EINVAL;
}

static int check_stages(const struct triage_client_shm *c, char *err, size_t errlen)
{
	if (c->nr_stages > TRIAGE_CLIENT_MAX_STAGES) {
		set_error(err, errlen, "nr_stages: %u, at most %d", c->nr_stages,
			  TRIAGE_CLIENT_MAX_STAGES);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < c->nr_stages; i++) {
		const struct triage_client_stage_tids *st = &c->stages[i];

		if (st->first > st->last || st->last >= c->nr_layers) {
			set_error(err, errlen, "stages[%u]: layers %u-%u, the model has %u", i,
				  st->first, st->last, c->nr_layers);
			return -EINVAL;
		}
		if (st->nr_tids > TRIAGE_CLIENT_MAX_TIDS) {
			set_error(err, errlen, "stages[%u].nr_tids: %u, at most %d", i, st->nr_tids,
				  TRIAGE_CLIENT_MAX_TIDS);
			return -EINVAL;
		}
	}
	return 0;
}

int client_shm_check(const struct triage_client_shm *c, char *err, size_t errlen)
{
	int ret;

	if (c->magic != TRIAGE_CLIENT_MAGIC || c->abi_version != TRIAGE_CLIENT_ABI ||
	    c->size != sizeof(*c)) {
		set_error(err, errlen,
			  "header: magic 0x%08x ABI %u size %u, expected 0x%08x %u %zu", c->magic,
			  c->abi_version, c->size, TRIAGE_CLIENT_MAGIC, TRIAGE_CLIENT_ABI,
			  sizeof(*c));
		return -EINVAL;
	}
	if (c->pid <= 0) {
		set_error(err, errlen, "pid: %d", c->pid);
		return -EINVAL;
	}
	if ((ret = check_name("name", c->name, sizeof(c->name), err, errlen)) ||
	    (ret = check_name("model", c->model, sizeof(c->model), err, errlen)) ||
	    (ret = check_name("level", c->level, sizeof(c->level), err, errlen)))
		return ret;
	if (c->nr_layers < 1 || c->nr_layers > TRIAGE_CLIENT_MAX_LAYERS) {
		set_error(err, errlen, "nr_layers: %u, not 1..%d", c->nr_layers,
			  TRIAGE_CLIENT_MAX_LAYERS);
		return -EINVAL;
	}
	if ((ret = check_figure("latency_ms", c->latency_ms, err, errlen)) ||
	    (ret = check_figure("rate_hz", c->rate_hz, err, errlen)) ||
	    (ret = check_figure("throughput", c->throughput, err, errlen)) ||
	    (ret = check_figure("latency_p50_ms", c->latency_p50_ms, err, errlen)) ||
	    (ret = check_figure("latency_p99_ms", c->latency_p99_ms, err, errlen)))
		return ret;
	if ((ret = check_stages(c, err, errlen)))
		return ret;
	if (c->profile_layers > c->nr_layers) {
		set_error(err, errlen, "profile_layers: %u, over nr_layers %u", c->profile_layers,
			  c->nr_layers);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < c->profile_layers; i++) {
		if (!isfinite(c->layer_ms[i]) || c->layer_ms[i] < 0) {
			set_error(err, errlen, "layer_ms[%u]: %g, not a finite number >= 0", i,
				  (double)c->layer_ms[i]);
			return -EINVAL;
		}
	}
	return 0;
}

int client_shm_check_assignment(const struct triage_client_shm *c, uint32_t nr_layers, char *err,
				size_t errlen)
{
	if (c->nr_assigned > TRIAGE_CLIENT_MAX_STAGES) {
		set_error(err, errlen, "nr_assigned: %u, at most %d", c->nr_assigned,
			  TRIAGE_CLIENT_MAX_STAGES);
		return -EINVAL;
	}
	if (c->gpu_permille > TRIAGE_GPU_SHARE_FULL) {
		set_error(err, errlen, "gpu_permille: %u, over %u", c->gpu_permille,
			  TRIAGE_GPU_SHARE_FULL);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < c->nr_assigned; i++) {
		const struct triage_client_assign_stage *st = &c->assigned[i];

		if (st->first > st->last || st->last >= nr_layers) {
			set_error(err, errlen, "assigned[%u]: layers %u-%u, the model has %u", i,
				  st->first, st->last, nr_layers);
			return -EINVAL;
		}
	}
	if (c->granted_level[0] &&
	    !client_shm_valid_name(c->granted_level, sizeof(c->granted_level))) {
		set_error(err, errlen, "granted_level: not a level name");
		return -EINVAL;
	}
	if (c->grant_flags & ~(uint32_t)TRIAGE_CLIENT_GRANT_KNOWN) {
		set_error(err, errlen, "grant_flags: unknown bits 0x%x",
			  c->grant_flags & ~(uint32_t)TRIAGE_CLIENT_GRANT_KNOWN);
		return -EINVAL;
	}
	return 0;
}
