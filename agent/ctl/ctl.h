/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The control socket between triaged and triagectl: <run_dir>/ctl.sock, a
 * root-only (0600) unix stream socket. One request per connection, one JSON
 * object per direction, each ended by a newline:
 *   {"cmd": "status" | "stats" | "tag" | "levels", ...}  ->  {"ok": true, ...}
 *   errors:  {"ok": false, "error": "<one line>"}
 * tag takes "pid" and "level" (with "name", else the comm made a name), and
 * for the planner "model" (a zoo name) and "latency_ms"; with a model or a
 * latency target and no level it gives the workload the pid is in those.
 */
#ifndef TRIAGE_CTL_H
#define TRIAGE_CTL_H

#include <json-c/json.h>
#include <stddef.h>

#define CTL_SOCK_NAME "ctl.sock"
#define CTL_MSG_MAX (4 << 20)

/* Creates run_dir if needed and listens on its ctl.sock (non-blocking). */
int ctl_listen(const char *run_dir, char *err, size_t errlen);

/* Connects to a running agent; err says "agent not running" plainly. */
int ctl_connect(const char *run_dir, char *err, size_t errlen);

int ctl_send(int fd, struct json_object *msg);

/* Reads one message, waiting at most timeout_ms; NULL with err on failure. */
struct json_object *ctl_recv(int fd, int timeout_ms, char *err, size_t errlen);

void ctl_unlink(const char *run_dir);

#endif
