/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What the client tests (test_client.c, test_client_shm.c) share: a fresh
 * run directory under /tmp for each test, a client that must open, the
 * agent's mapping of a client's file, and stderr captured to count the
 * lines the library prints.
 */
#ifndef TRIAGE_TESTS_CLIENT_FIXTURE_H
#define TRIAGE_TESTS_CLIENT_FIXTURE_H

#include <stddef.h>
#include <sys/types.h>

#include "client_shm.h"
#include "triage/client.h"

extern char client_run_dir[64];	    /* /tmp/triage-client-XXXXXX */
extern char client_clients_dir[96]; /* client_run_dir/clients */

/* A valid registration: resnet50, 68 layers, critical. */
extern const struct triage_client_info client_resnet;

/* A suite's .init and .fini: make and remove client_run_dir. */
void client_fixture_setup(void);
void client_fixture_teardown(void);

/* client_clients_dir/<pid> */
void client_file_of(pid_t pid, char *path, size_t len);

/* triage_client_open() under client_run_dir; asserts it returned one. */
struct triage_client *client_open_ok(const struct triage_client_info *info);

/* client_shm_map() of pid's file; asserts it succeeded. */
struct triage_client_shm *client_agent_map(pid_t pid);

/* Sends stderr to a temporary file until client_capture_end(), which puts
 * what was written in buf and returns its number of lines. */
void client_capture_begin(void);
int client_capture_end(char *buf, size_t len);

#endif
