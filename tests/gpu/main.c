// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * build/gpu-tests: the tests that need a real GPU. Without one (no
 * libcuda.so.1, no device, no kernels for this GPU) it prints exactly one
 * line, "skip - gpu: <why>", and succeeds: CI machines have no GPU.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_tests.h"

int tap_failed;
bool tests_light;

static void tap_line(const char *head, const char *fmt, va_list ap)
{
	printf("%s - ", head);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

void tap_ok(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_line("ok", fmt, ap);
	va_end(ap);
}

void tap_not_ok(const char *fmt, ...)
{
	va_list ap;

	tap_failed++;
	va_start(ap, fmt);
	tap_line("not ok", fmt, ap);
	va_end(ap);
}

void tap_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_line("skip", fmt, ap);
	va_end(ap);
}

CUdeviceptr dev_alloc(size_t n)
{
	CUdeviceptr d = 0;
	CUresult r = cu.MemAlloc(&d, (n ? n : 1) * sizeof(float));

	if (r != CUDA_SUCCESS) {
		fprintf(stderr, "gpu-tests: cuMemAlloc of %zu floats: %s\n", n, cudrv_strerror(r));
		return 0;
	}
	return d;
}

CUdeviceptr dev_upload(const float *host, size_t n)
{
	CUdeviceptr d = dev_alloc(n);
	CUresult r;

	if (!d)
		return 0;
	r = cu.MemcpyHtoD(d, host, n * sizeof(float));
	if (r != CUDA_SUCCESS) {
		fprintf(stderr, "gpu-tests: upload: %s\n", cudrv_strerror(r));
		cu.MemFree(d);
		return 0;
	}
	return d;
}

int dev_download(float *host, CUdeviceptr d, size_t n)
{
	CUresult r = cu.MemcpyDtoH(host, d, n * sizeof(float));

	if (r != CUDA_SUCCESS) {
		fprintf(stderr, "gpu-tests: download: %s\n", cudrv_strerror(r));
		return -1;
	}
	return 0;
}

void dev_free(CUdeviceptr d)
{
	if (d)
		cu.MemFree(d);
}

void fill_random(float *v, size_t n, float lo, float hi, unsigned *seed)
{
	for (size_t i = 0; i < n; i++)
		v[i] = lo + (hi - lo) * (float)rand_r(seed) / ((float)RAND_MAX + 1.0f);
}

bool close_enough(const float *got, const float *want, size_t n, double atol, double rtol,
		  size_t *bad)
{
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - (double)want[i]);

		if (!(d <= atol + rtol * fabs((double)want[i]))) {
			*bad = i;
			return false;
		}
	}
	return true;
}

int main(void)
{
	static struct gpu_device g;
	char err[512];

	tests_light = getenv("TRIAGE_GPU_TESTS_LIGHT") && *getenv("TRIAGE_GPU_TESTS_LIGHT");
	if (gpu_device_open(&g, 0, err, sizeof(err))) {
		printf("skip - gpu: %s\n", err);
		return 0;
	}
	tap_ok("gpu: %s, sm_%d%d, %d SMs, stream priorities %d (least) to %d (greatest), "
	       "driver %d.%d",
	       g.name, g.cc_major, g.cc_minor, g.nr_sms, g.prio_least, g.prio_greatest,
	       cu.driver_version / 1000, cu.driver_version % 1000 / 10);
	test_kernels(&g);
	test_coverage(&g);
	test_zoo_reference(&g);
	test_coordinator(&g);
	test_serve(&g);
	test_gpud_profile(&g);
	gpu_device_close(&g);
	return tap_failed ? 1 : 0;
}
