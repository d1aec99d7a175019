/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The GPU tests (build/gpu-tests, run by tests/gpu/run): TAP-like lines,
 * "ok - NAME", "not ok - NAME: why", "skip - NAME: why", that
 * tests/run-all counts. Shared helpers of the test files.
 */
#ifndef TRIAGE_TESTS_GPU_H
#define TRIAGE_TESTS_GPU_H

#include <stdbool.h>
#include <stddef.h>

#include "device.h"

extern int tap_failed;

/* $TRIAGE_GPU_TESTS_LIGHT set: fewer and smaller models, for the CPU fake
 * driver (tests/gpu/fake/libcuda.c), which runs kernels on one core. */
extern bool tests_light;

void tap_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tap_not_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tap_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Device buffers of floats; NULL-safe free. 0 on failure, with a line. */
CUdeviceptr dev_upload(const float *host, size_t n);
CUdeviceptr dev_alloc(size_t n);
int dev_download(float *host, CUdeviceptr d, size_t n);
void dev_free(CUdeviceptr d);

/* Uniform floats in [lo, hi) from *seed. */
void fill_random(float *v, size_t n, float lo, float hi, unsigned *seed);

/* |got - want| <= atol + rtol * |want| everywhere; else the first
 * offending index in *bad. NaN never passes. */
bool close_enough(const float *got, const float *want, size_t n, double atol, double rtol,
		  size_t *bad);

struct gpu_dnn;

/* One inference of d, every kernel whole, on s; waits for it. */
int run_whole(struct gpu_device *g, struct gpu_dnn *d, CUstream s, char *err, size_t errlen);

void test_kernels(struct gpu_device *g);
void test_coverage(struct gpu_device *g);
void test_zoo_reference(struct gpu_device *g);
void test_coordinator(struct gpu_device *g);
void test_serve(struct gpu_device *g);
void test_gpud_profile(struct gpu_device *g);

#endif
