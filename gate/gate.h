/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Inside libtriage-gate.so: the policy (gate/policy.c) behind the hooks
 * (gate/hooks.c). The hooks find the real driver functions and call
 * gate_before_launch() and gate_after_launch() around every kernel or
 * graph launch; the policy decides whether a launch waits, and tracks
 * what a process has in flight with an event per stream.
 */
#ifndef TRIAGE_GATE_GATE_H
#define TRIAGE_GATE_GATE_H

#include <cuda.h>
#include <stdbool.h>

/* The driver functions the policy calls, found by the hooks. */
struct gate_driver {
	CUresult (*event_create)(CUevent *, unsigned int);
	CUresult (*event_record)(CUevent, CUstream);
	CUresult (*event_query)(CUevent);
	CUresult (*event_elapsed)(float *, CUevent, CUevent);
	CUresult (*ctx_get_current)(CUcontext *);
	CUresult (*ctx_set_current)(CUcontext);
	/* Optional: without them, launches into a stream capture are
	 * tracked as work (wrongly), and the poller keeps the default
	 * capture mode. */
	CUresult (*stream_is_capturing)(CUstream, CUstreamCaptureStatus *);
	CUresult (*stream_is_capturing_ptsz)(CUstream, CUstreamCaptureStatus *);
	CUresult (*exchange_capture_mode)(CUstreamCaptureMode *);
};

/* Once, from the first hooked call: reads the environment and the board.
 * drv may lack functions (NULL): then nothing is tracked. */
void gate_init(const struct gate_driver *drv);

/* Before a launch on stream (per_thread: a _ptsz entry point, where
 * stream 0 is the calling thread's default stream): a best-effort
 * process may wait here. */
void gate_before_launch(CUstream stream, bool per_thread);

/* After a launch the driver accepted. */
void gate_after_launch(CUstream stream, bool per_thread);

#endif
