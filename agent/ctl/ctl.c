// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Framing for the control socket. A stream socket with newline-ended JSON
 * keeps triagectl trivial and lets a person poke the agent with socat; one
 * request per connection means no session state in the agent.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ctl/ctl.h"

static int ctl_address(const char *run_dir, struct sockaddr_un *addr)
{
	int n;

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	n = snprintf(addr->sun_path, sizeof(addr->sun_path), "%s/%s", run_dir, CTL_SOCK_NAME);
	return n < 0 || (size_t)n >= sizeof(addr->sun_path) ? -ENAMETOOLONG : 0;
}

int ctl_listen(const char *run_dir, char *err, size_t errlen)
{
	struct sockaddr_un addr;
	mode_t old_mask;
	int fd, ret;

	if (mkdir(run_dir, 0755) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", run_dir, strerror(errno));
		return -1;
	}
	if (ctl_address(run_dir, &addr)) {
		snprintf(err, errlen, "%s: path too long for a unix socket", run_dir);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* A socket left by a killed agent is stale: the pid lock proved no
	 * other agent runs, so it is safe to replace. */
	unlink(addr.sun_path);
	old_mask = umask(0177);
	ret = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_mask);
	if (ret || listen(fd, 16)) {
		snprintf(err, errlen, "%s: %s", addr.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int ctl_connect(const char *run_dir, char *err, size_t errlen)
{
	struct sockaddr_un addr;
	int fd;

	if (ctl_address(run_dir, &addr)) {
		snprintf(err, errlen, "%s: path too long for a unix socket", run_dir);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			snprintf(err, errlen, "agent not running (no triaged listening on %s)",
				 addr.sun_path);
		else if (errno == EACCES)
			snprintf(err, errlen, "%s: permission denied (triagectl needs root)",
				 addr.sun_path);
		else
			snprintf(err, errlen, "%s: %s", addr.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int ctl_send(int fd, struct json_object *msg)
{
	const char *text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(text), off = 0;
	char *buf = malloc(len + 1);
	int err = 0;

	if (!buf)
		return -ENOMEM;
	/* One write for the message and its newline: the peer replies as soon
	 * as the object is complete and may close before a second write. */
	memcpy(buf, text, len);
	buf[len++] = '\n';
	while (off < len) {
		ssize_t w = send(fd, buf + off, len - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err = -errno;
			break;
		}
		off += (size_t)w;
	}
	free(buf);
	return err;
}


struct json_object *ctl_recv(int fd, int timeout_ms, char *err, size_t errlen)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj = NULL;
	double start;
	size_t total = 0;
	char buf[8192];

	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	start = mono_ms();
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long left = timeout_ms - (long)(mono_ms() - start);
		enum json_tokener_error jerr;
		char *nl;
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			snprintf(err, errlen, "no answer within %d ms", timeout_ms);
			break;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s", n ? strerror(errno) : "connection closed mid-message");
			break;
		}
		total += (size_t)n;
		if (total > CTL_MSG_MAX) {
			snprintf(err, errlen, "message over %d bytes", CTL_MSG_MAX);
			break;
		}
		nl = memchr(buf, '\n', (size_t)n);
		obj = json_tokener_parse_ex(tok, buf, nl ? (int)(nl - buf) : (int)n);
		jerr = json_tokener_get_error(tok);
		if (jerr == json_tokener_continue && !nl)
			continue;
		if (!obj || jerr != json_tokener_success) {
			snprintf(err, errlen, "bad message: %s",
				 jerr == json_tokener_continue ? "incomplete JSON"
							       : json_tokener_error_desc(jerr));
			json_object_put(obj);
			obj = NULL;
		} else if (!json_object_is_type(obj, json_type_object)) {
			snprintf(err, errlen, "bad message: not a JSON object");
			json_object_put(obj);
			obj = NULL;
		}
		break;
	}
	json_tokener_free(tok);
	return obj;
}

void ctl_unlink(const char *run_dir)
{
	struct sockaddr_un addr;

	if (!ctl_address(run_dir, &addr))
		unlink(addr.sun_path);
}
