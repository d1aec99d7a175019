/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * triage-gpud's protocol: how a DNN process hands a pipeline stage to the
 * GPU daemon (tools/triage_gpud.c, docs/gpud.md) and runs inferences on it.
 *
 * One connection per stage, on the SOCK_SEQPACKET socket
 * $TRIAGE_RUN_DIR/gpud.sock (default /run/triage/gpud.sock):
 *
 *   client -> gpud   struct triage_gpud_hello, with two file descriptors
 *                    (SCM_RIGHTS): a sealed memfd holding one struct
 *                    triage_gpud_shm and the stage's tensors, and an
 *                    eventfd the client writes to after each request
 *   gpud -> client   struct triage_gpud_reply: 0, or a negative errno
 *                    with one line naming what was refused
 *
 * Then requests go through the shared memory alone: the client writes the
 * input, bumps `req` (release) and writes 1 to the eventfd, which wakes a
 * gpud that sleeps; gpud copies the input to the GPU, runs the stage,
 * copies the outputs back, writes status and figures, bumps `done`
 * (release) and wakes it as a futex. The client waits on `done` with
 * FUTEX_WAIT and a timeout, so it never spins and notices a gpud that
 * died (the socket hangs up). One request is in flight per connection.
 *
 * The memfd must carry F_SEAL_SHRINK and F_SEAL_GROW, so that it cannot
 * shrink under gpud's mapping (a SIGBUS in the daemon); gpud refuses one
 * without them, or of another size than the hello's regions need. A
 * client reaches only the file it made: gpud never maps anything else on
 * its behalf.
 */
#ifndef TRIAGE_GPUD_H
#define TRIAGE_GPUD_H

#include <stdint.h>

#include "abi.h"

#define TRIAGE_GPUD_MAGIC 0x44505254u /* "TRPD", little-endian */
#define TRIAGE_GPUD_ABI 1
#define TRIAGE_GPUD_SOCKET "gpud.sock" /* under the run directory */
#define TRIAGE_GPUD_MODEL_MAX 64
#define TRIAGE_GPUD_MAX_SPANS 8
#define TRIAGE_GPUD_ERROR_MAX 200
/* Regions of the shared file start on this boundary. */
#define TRIAGE_GPUD_ALIGN 64

/* The level a stage's kernels run at in gpud's coordinator. */
enum triage_gpud_level {
	TRIAGE_GPUD_CRITICAL = 0,    /* whole kernels, greatest stream priority */
	TRIAGE_GPUD_BEST_EFFORT = 1, /* elastic slices within its GPU share */
};

/* A model output the stage writes: floats into the out region. */
struct triage_gpud_span {
	uint64_t offset, floats;
};

struct triage_gpud_hello {
	uint32_t magic;	      /* TRIAGE_GPUD_MAGIC */
	uint32_t abi_version; /* TRIAGE_GPUD_ABI */
	char model[TRIAGE_GPUD_MODEL_MAX]; /* a zoo model name, NUL-terminated */
	char name[TRIAGE_NAME_MAX];	   /* workload name: its GPU share's key */
	uint64_t seed;			   /* of the weights (exec_layer_params) */
	int32_t first, last;		   /* the stage's layers, inclusive */
	uint32_t level;			   /* enum triage_gpud_level */
	uint32_t nr_spans;
	uint64_t in_floats, cut_floats, out_floats; /* as struct exec_remote_stage */
	struct triage_gpud_span spans[TRIAGE_GPUD_MAX_SPANS];
};

struct triage_gpud_reply {
	uint32_t magic;	      /* TRIAGE_GPUD_MAGIC */
	uint32_t abi_version; /* TRIAGE_GPUD_ABI: a client of another ABI stops here */
	int32_t status;	      /* 0, or a negative errno */
	uint32_t session;     /* gpud's number for this connection */
	char gpu[64];	      /* the device's name */
	char error[TRIAGE_GPUD_ERROR_MAX]; /* why, when status < 0 */
};

/* The head of the shared file. The client writes req and the input; gpud
 * writes everything else. Every shared word is accessed with atomics. */
struct triage_gpud_shm {
	uint32_t magic;	      /* TRIAGE_GPUD_MAGIC, written by the client */
	uint32_t abi_version;
	uint64_t size;			   /* bytes of the whole file */
	uint64_t in_off, cut_off, out_off; /* byte offsets of the regions */
	uint32_t req;			   /* requests made (client) */
	uint32_t done;			   /* requests answered (gpud): the futex */
	int32_t status;			   /* of the last answered: 0 or -errno */
	uint32_t reserved;
	uint64_t queued_ns; /* last request: from its eventfd kick to its first launch */
	uint64_t gpu_ns;    /* last request: first launch to outputs back (GPU time) */
	uint64_t launches;  /* kernel launches so far, slices included */
	uint64_t slices;    /* of them, launches of part of a grid */
	char error[TRIAGE_GPUD_ERROR_MAX]; /* why, when status < 0 */
};
_Static_assert(sizeof(struct triage_gpud_shm) % 8 == 0, "triage_gpud_shm layout");

/* ---- libtriage's side (client/gpud.c) ----
 *
 * One connection runs one stage: triage_gpud_open() makes the sealed
 * file, sends the hello and waits for the reply; triage_gpud_run() runs
 * one inference; triage_gpud_close() hangs up (gpud then frees the
 * stage). Not thread-safe: one thread uses a connection at a time. */

struct triage_gpud_conn;

/* h's magic and abi_version are filled in; the rest is the caller's.
 * run_dir NULL: $TRIAGE_RUN_DIR, else /run/triage. 0, or a negative
 * errno with one line in err: -ENOENT no gpud listening, -EPROTO another
 * ABI, or what gpud refused (its own line). */
int triage_gpud_open(const struct triage_gpud_hello *h, const char *run_dir,
		     struct triage_gpud_conn **out, char *err, size_t errlen);

/* Runs one inference: in has the hello's in_floats, cut its cut_floats
 * (NULL when 0), and out the whole output (out_floats), of which only the
 * spans are written. Waits at most timeout_ms (<= 0: 10 s). 0, or a
 * negative errno with err: -EPIPE gpud went away, -ETIMEDOUT, or the
 * error gpud answered. After an error the connection is of no more use. */
int triage_gpud_run(struct triage_gpud_conn *c, const float *in, float *cut, float *out,
		    int timeout_ms, char *err, size_t errlen);

/* The last answered request's figures (the shared head's). */
void triage_gpud_figures(const struct triage_gpud_conn *c, uint64_t *queued_ns, uint64_t *gpu_ns);

void triage_gpud_close(struct triage_gpud_conn *c);

#endif
