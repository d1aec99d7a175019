/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Where the GPU launch gate (libtriage-gate.so, docs/gpu.md) and the MPS
 * control daemon are: for `triaged --doctor`, for the agent's tag reply
 * (MPS settings only where a daemon listens) and for `triagectl run
 * --gpu-gate`, which must find the library before it tags anything.
 */
#ifndef TRIAGE_DOCTOR_GPU_GATE_H
#define TRIAGE_DOCTOR_GPU_GATE_H

#include <stdbool.h>
#include <stddef.h>

#define GATE_LIB_NAME "libtriage-gate.so"
#define GATE_LIB_ENV "TRIAGE_GATE_LIB" /* another library file */
/* Where `make install` puts it: $(PREFIX)/lib/triage. */
#ifndef TRIAGE_GATE_LIBDIR
#define TRIAGE_GATE_LIBDIR "/usr/local/lib/triage"
#endif

#define MPS_CONTROL_PROGRAM "nvidia-cuda-mps-control"
#define MPS_CONTROL_SOCKET "control" /* the daemon's socket in its pipe directory */

/* The gate library: $TRIAGE_GATE_LIB when set (and then only there: a
 * file named by hand that is missing is an error, not a reason to take
 * another), else libtriage-gate.so beside this program's own executable,
 * else in TRIAGE_GATE_LIBDIR. 0 with its path, or -ENOENT with looked set
 * to the places tried ("A, B or C"). */
int gate_lib_find(char *path, size_t len, char *looked, size_t looked_len);

/* nvidia-cuda-mps-control on $PATH: true with its path. */
bool mps_control_find(char *path, size_t len);

/* Whether an MPS control daemon listens on pipe_dir (a socket named
 * "control" there). */
bool mps_daemon_listens(const char *pipe_dir);

#endif
