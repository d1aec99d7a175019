/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Leveled messages to stderr, so a foreground triaged and its tests see
 * them in order; -v raises the level to debug (every decision), -vv to
 * trace (libraries' own chatter, such as libbpf's loading steps). */
#ifndef TRIAGE_LOG_H
#define TRIAGE_LOG_H

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

extern enum log_level log_threshold;
/* The name each line starts with (default "triaged"). */
extern const char *log_program;

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
