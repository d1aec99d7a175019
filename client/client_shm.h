/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The client file's protocol (include/triage/client.h), used by both of
 * its sides: the client library (client/client.c) and the agent
 * (agent/clients.c). Everything that touches the shared struct goes
 * through here, so the two sides agree on the memory orders by
 * construction.
 *
 * Each section has one writer and its own seqlock:
 *
 *	client_shm_client_begin(s);		(client_seq odd)
 *	client_shm_set(s->inferences, n);	(relaxed atomic stores)
 *	...
 *	client_shm_client_end(s);		(client_seq even again)
 *
 * and the other side reads it with client_shm_read_client() or
 * client_shm_read_agent(), which copy the section and keep the copy only
 * when its seq was even and unchanged across the copy. The header's
 * agent_status and agent_abi are single words outside both sections:
 * written by the agent with client_shm_set_status(), read with
 * client_shm_status() and client_shm_agent_abi().
 *
 * Not thread-safe on the writer side: one thread at a time writes a
 * section (the client serialises its own calls; the agent has one loop).
 */
#ifndef TRIAGE_DNN_CLIENT_SHM_H
#define TRIAGE_DNN_CLIENT_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "triage/client.h"
#include "triage/seqlock.h"

/* Copies tried before a reader gives up on a section whose writer is
 * inside it (or died there): a write is a few hundred stores, so a
 * thousand pauses (tens of microseconds) only run out when the writer was
 * preempted or killed mid-write. */
#define CLIENT_SHM_READ_TRIES 1000

/* The client waits this long after open for the agent to set
 * agent_status before it says it runs unmanaged. */
#define CLIENT_SHM_AGENT_GRACE_NS 2000000000ull

/* The sections, by offset into struct triage_client_shm. */
#define CLIENT_SHM_HEADER_SIZE offsetof(struct triage_client_shm, client_seq)
#define CLIENT_SHM_CLIENT_OFF offsetof(struct triage_client_shm, client_seq)
#define CLIENT_SHM_AGENT_OFF offsetof(struct triage_client_shm, agent_seq)

/* One field of a section, between its begin and end: a relaxed atomic
 * store, so that a reader copying at the same moment is a race the seqlock
 * resolves, not undefined behaviour. Any field of 1, 2, 4 or 8 bytes. */
#define client_shm_set(field, value)                                    \
	do {                                                            \
		__typeof__(field) client_shm_v_ = (value);              \
		__atomic_store(&(field), &client_shm_v_, __ATOMIC_RELAXED); \
	} while (0)

/* Bytes (a name, an array of stages) go with triage_seq_store_bytes()
 * (triage/seqlock.h). */

/* ---- seqlock writers ---- */

void client_shm_client_begin(struct triage_client_shm *s);
void client_shm_client_end(struct triage_client_shm *s);
void client_shm_agent_begin(struct triage_client_shm *s);
void client_shm_agent_end(struct triage_client_shm *s);

/* ---- seqlock readers ----
 * Copy the header and one section of s into copy (the other section of
 * copy is zeroed); 0, or -EAGAIN when the section stayed mid-write over
 * CLIENT_SHM_READ_TRIES copies. Never wait on the other section's writer. */
int client_shm_read_client(const struct triage_client_shm *s, struct triage_client_shm *copy);
int client_shm_read_agent(const struct triage_client_shm *s, struct triage_client_shm *copy);

/* ---- the header's agent words ---- */

/* agent_abi = TRIAGE_CLIENT_ABI, then agent_status (release), so a client
 * that sees the status also sees the ABI it goes with. */
void client_shm_set_status(struct triage_client_shm *s, enum triage_client_status status);
uint32_t client_shm_status(const struct triage_client_shm *s);
uint32_t client_shm_agent_abi(const struct triage_client_shm *s);

/* ---- agent side ---- */

/* Opens and maps an existing client file read-write. Refuses (-EPROTO or
 * -errno, one line in err naming the file) what is not a regular file with
 * one link, is smaller than the header, or has another magic. On another
 * abi_version it writes agent_status = TRIAGE_CLIENT_REFUSED and agent_abi
 * = TRIAGE_CLIENT_ABI into the header, so the client can say why, and
 * returns -EPROTO naming both versions. A file of our ABI but smaller than
 * the struct or of another size field is -EPROTO. */
int client_shm_map(const char *path, struct triage_client_shm **out, char *err, size_t errlen);
void client_shm_unmap(struct triage_client_shm *s);

/* Publishes an assignment: nr stages (0..TRIAGE_CLIENT_MAX_STAGES, more
 * are cut) with the GPU share, generation + 1, all under agent_seq; then
 * agent_status MANAGED. */
void client_shm_write_assignment(struct triage_client_shm *s,
				 const struct triage_client_assign_stage *stages, int nr,
				 uint32_t gpu_permille, int agent_pid);

/* Says at which level the client was taken on, and what the policy made
 * of its claim (enum triage_client_grant), under agent_seq; before the
 * first assignment, so a client that sees MANAGED finds it. */
void client_shm_write_grant(struct triage_client_shm *s, const char *level, uint32_t flags);

/* The generation of the last assignment (the agent is its only writer, so
 * it may read its own section directly). */
uint64_t client_shm_generation(const struct triage_client_shm *s);

/* Whether the client's process is gone: no such pid, or a zombie. (pid
 * numbers of the agent's namespace; a reused pid reads as alive.) */
bool client_shm_writer_gone(const struct triage_client_shm *s);

/* <run_dir>/clients, run_dir NULL or "": $TRIAGE_RUN_DIR, else
 * /run/triage. 0, or -ENAMETOOLONG. */
int client_shm_dir(const char *run_dir, char *out, size_t len);

/* Whether a file name in the clients directory is a client's (all digits,
 * no leading 0), and its pid; temporary names (".<pid>.tmp") are not. */
bool client_shm_file_pid(const char *file_name, int *pid);

/* ---- validation ---- */

/* Whether s is 1..max-1 bytes of [A-Za-z0-9_.-] followed by a NUL within
 * max bytes. */
bool client_shm_valid_name(const char *s, size_t max);

/* The header and client section of a copy (from client_shm_read_client):
 * magic, ABI and size, pid, NUL-terminated names of the right charset,
 * nr_layers 1..TRIAGE_CLIENT_MAX_LAYERS, nr_stages <= 3 with first <= last
 * < nr_layers and nr_tids <= TRIAGE_CLIENT_MAX_TIDS, profile_layers <=
 * nr_layers, finite non-negative figures. 0, or -EINVAL with one line in
 * err naming the field. */
int client_shm_check(const struct triage_client_shm *copy, char *err, size_t errlen);

/* The agent section of a copy (from client_shm_read_agent), for the client:
 * nr_assigned <= 3, first <= last < nr_layers, gpu_permille <= 1000, a
 * granted_level of the name charset, known grant_flags. */
int client_shm_check_assignment(const struct triage_client_shm *copy, uint32_t nr_layers,
				char *err, size_t errlen);

#endif
