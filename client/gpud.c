// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libtriage's side of triage-gpud's protocol (include/triage/gpud.h): a
 * DNN process runs one pipeline stage on the GPU daemon.
 *
 * The shared file is a memfd sealed against shrinking and growing before
 * it is sent, so gpud's mapping of it can never fault (a SIGBUS in the
 * daemon that serves everyone). Requests and answers go through it alone;
 * the socket stays open only so that each side sees the other go: gpud
 * frees the stage when it hangs up, and a wait here ends when gpud does.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "errbuf.h"
#include "fsutil.h"
#include "triage/gpud.h"

#define DEFAULT_TIMEOUT_MS 10000
/* A wait looks at the socket this often, so a gpud that died is seen
 * within it even though nobody wakes the futex. */
#define WAIT_STEP_NS 100000000ll
#define REPLY_TIMEOUT_MS 30000 /* building a stage uploads its weights */

struct triage_gpud_conn {
	int sock, kick, memfd;
	struct triage_gpud_shm *shm;
	size_t size;
	struct triage_gpud_hello hello;
	uint32_t req;
	bool broken;
};

static size_t align_up(size_t n)
{
	return (n + TRIAGE_GPUD_ALIGN - 1) & ~(size_t)(TRIAGE_GPUD_ALIGN - 1);
}

static char *region(const struct triage_gpud_conn *c, uint64_t off)
{
	return (char *)c->shm + off;
}

static int make_file(struct triage_gpud_conn *c, char *err, size_t errlen)
{
	const struct triage_gpud_hello *h = &c->hello;
	size_t in_off = align_up(sizeof(struct triage_gpud_shm));
	size_t cut_off = align_up(in_off + h->in_floats * sizeof(float));
	size_t out_off = align_up(cut_off + h->cut_floats * sizeof(float));

	c->size = align_up(out_off + h->out_floats * sizeof(float));
	c->memfd = memfd_create("triage-gpud-stage", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (c->memfd < 0 || ftruncate(c->memfd, (off_t)c->size) ||
	    fcntl(c->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		int e = errno;

		set_error(err, errlen, "triage-gpud: the stage's shared file (%zu bytes): %s",
			  c->size, strerror(e));
		return -e;
	}
	c->shm = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, c->memfd, 0);
	if (c->shm == MAP_FAILED) {
		int e = errno;

		c->shm = NULL;
		set_error(err, errlen, "triage-gpud: mapping the stage's file: %s", strerror(e));
		return -e;
	}
	c->shm->magic = TRIAGE_GPUD_MAGIC;
	c->shm->abi_version = TRIAGE_GPUD_ABI;
	c->shm->size = c->size;
	c->shm->in_off = in_off;
	c->shm->cut_off = cut_off;
	c->shm->out_off = out_off;
	return 0;
}

static int connect_gpud(struct triage_gpud_conn *c, const char *run_dir, char *err,
			size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int n = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", run_dir_resolve(run_dir),
			 TRIAGE_GPUD_SOCKET);

	if (n < 0 || (size_t)n >= sizeof(addr.sun_path)) {
		set_error(err, errlen, "triage-gpud: socket path too long under %s",
			  run_dir_resolve(run_dir));
		return -ENAMETOOLONG;
	}
	c->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->sock < 0 || connect(c->sock, (struct sockaddr *)&addr, sizeof(addr))) {
		int e = errno;

		set_error(err, errlen, "no triage-gpud listening on %s (%s)", addr.sun_path,
			  strerror(e));
		return e == ECONNREFUSED || e == ENOENT ? -ENOENT : -e;
	}
	return 0;
}

static int send_hello(struct triage_gpud_conn *c, char *err, size_t errlen)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { &c->hello, sizeof(c->hello) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	int fds[2] = { c->memfd, c->kick };

	memset(u.buf, 0, sizeof(u.buf));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	if (sendmsg(c->sock, &msg, MSG_NOSIGNAL) != (ssize_t)sizeof(c->hello)) {
		set_error(err, errlen, "triage-gpud: sending the hello: %s", strerror(errno));
		return -EPIPE;
	}
	return 0;
}

static int read_reply(struct triage_gpud_conn *c, char *err, size_t errlen)
{
	struct triage_gpud_reply r;
	struct pollfd p = { c->sock, POLLIN, 0 };
	ssize_t n;

	if (poll(&p, 1, REPLY_TIMEOUT_MS) != 1) {
		set_error(err, errlen, "triage-gpud: no reply to the hello in %d s",
			  REPLY_TIMEOUT_MS / 1000);
		return -ETIMEDOUT;
	}
	memset(&r, 0, sizeof(r));
	n = recv(c->sock, &r, sizeof(r), 0);
	if (n < (ssize_t)offsetof(struct triage_gpud_reply, session) ||
	    r.magic != TRIAGE_GPUD_MAGIC) {
		set_error(err, errlen, "triage-gpud: hung up before replying to the hello");
		return -EPIPE;
	}
	if (r.abi_version != TRIAGE_GPUD_ABI) {
		set_error(err, errlen, "triage-gpud speaks ABI %u, this libtriage %d",
			  r.abi_version, TRIAGE_GPUD_ABI);
		return -EPROTO;
	}
	if (n != (ssize_t)sizeof(r)) {
		set_error(err, errlen, "triage-gpud: a reply of %zd bytes, expected %zu", n,
			  sizeof(r));
		return -EPROTO;
	}
	if (r.status < 0) {
		r.error[sizeof(r.error) - 1] = '\0';
		set_error(err, errlen, "triage-gpud refused the stage: %s", r.error);
		return r.status;
	}
	return 0;
}

int triage_gpud_open(const struct triage_gpud_hello *h, const char *run_dir,
		     struct triage_gpud_conn **out, char *err, size_t errlen)
{
	struct triage_gpud_conn *c = calloc(1, sizeof(*c));
	int ret;

	*out = NULL;
	if (!c) {
		set_error(err, errlen, "triage-gpud: out of memory");
		return -ENOMEM;
	}
	c->sock = c->memfd = -1;
	c->hello = *h;
	c->hello.magic = TRIAGE_GPUD_MAGIC;
	c->hello.abi_version = TRIAGE_GPUD_ABI;
	c->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->kick < 0) {
		ret = -errno;
		set_error(err, errlen, "triage-gpud: eventfd: %s", strerror(-ret));
	} else if (!(ret = make_file(c, err, errlen)) &&
		   !(ret = connect_gpud(c, run_dir, err, errlen)) &&
		   !(ret = send_hello(c, err, errlen))) {
		ret = read_reply(c, err, errlen);
	}
	if (ret) {
		triage_gpud_close(c);
		return ret;
	}
	*out = c;
	return 0;
}

/* Whether gpud hung up (or the socket failed). */
static bool gone(const struct triage_gpud_conn *c)
{
	struct pollfd p = { c->sock, POLLIN, 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLIN));
}

int triage_gpud_run(struct triage_gpud_conn *c, const float *in, float *cut, float *out,
		    int timeout_ms, char *err, size_t errlen)
{
	const struct triage_gpud_hello *h = &c->hello;
	uint64_t deadline = mono_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS) *
						 1000000ull;
	uint32_t want = c->req + 1, done;
	int32_t status;

	if (c->broken) {
		set_error(err, errlen, "triage-gpud: the connection failed before");
		return -EPIPE;
	}
	memcpy(region(c, c->shm->in_off), in, h->in_floats * sizeof(float));
	__atomic_store_n(&c->shm->req, want, __ATOMIC_RELEASE);
	c->req = want;
	if (eventfd_write(c->kick, 1) && errno != EAGAIN) {
		c->broken = true;
		set_error(err, errlen, "triage-gpud: kick: %s", strerror(errno));
		return -EPIPE;
	}
	while ((done = __atomic_load_n(&c->shm->done, __ATOMIC_ACQUIRE)) != want) {
		uint64_t now = mono_ns();
		int64_t left = (int64_t)(deadline - now);
		struct timespec ts;

		if (left <= 0 || gone(c)) {
			c->broken = true;
			if (left <= 0) {
				set_error(err, errlen, "triage-gpud: no answer in %d ms",
					  timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS);
				return -ETIMEDOUT;
			}
			set_error(err, errlen, "triage-gpud went away");
			return -EPIPE;
		}
		if (left > WAIT_STEP_NS)
			left = WAIT_STEP_NS;
		ts.tv_sec = left / 1000000000ll;
		ts.tv_nsec = left % 1000000000ll;
		/* Shared, not private: gpud wakes it from its own mapping. */
		syscall(SYS_futex, &c->shm->done, FUTEX_WAIT, done, &ts, NULL, 0);
	}
	status = __atomic_load_n(&c->shm->status, __ATOMIC_RELAXED);
	if (status < 0) {
		char why[TRIAGE_GPUD_ERROR_MAX];

		memcpy(why, c->shm->error, sizeof(why));
		why[sizeof(why) - 1] = '\0';
		c->broken = true;
		set_error(err, errlen, "triage-gpud: %s", why);
		return status;
	}
	if (cut)
		memcpy(cut, region(c, c->shm->cut_off), h->cut_floats * sizeof(float));
	for (uint32_t k = 0; k < h->nr_spans; k++)
		memcpy(out + h->spans[k].offset,
		       region(c, c->shm->out_off) + h->spans[k].offset * sizeof(float),
		       h->spans[k].floats * sizeof(float));
	return 0;
}

void triage_gpud_figures(const struct triage_gpud_conn *c, uint64_t *queued_ns, uint64_t *gpu_ns)
{
	*queued_ns = __atomic_load_n(&c->shm->queued_ns, __ATOMIC_RELAXED);
	*gpu_ns = __atomic_load_n(&c->shm->gpu_ns, __ATOMIC_RELAXED);
}

void triage_gpud_close(struct triage_gpud_conn *c)
{
	if (!c)
		return;
	if (c->sock >= 0)
		close(c->sock);
	if (c->kick >= 0)
		close(c->kick);
	if (c->shm)
		munmap(c->shm, c->size);
	if (c->memfd >= 0)
		close(c->memfd);
	free(c);
}
