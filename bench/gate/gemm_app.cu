/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * An unmodified CUDA program for bench/gpu-gate: what the launch gate is
 * for is programs nobody rebuilds against triage, so this one is a plain
 * CUDA runtime program (nvcc's default static runtime) whose work is
 * cuBLAS SGEMMs. It knows nothing of triage; the benchmark puts it under
 * LD_PRELOAD=libtriage-gate.so, MPS, both or neither.
 *
 *   gemm-app --mode periodic --rate HZ --n N --seconds S [--start-at T] [--warmup K]
 *   gemm-app --mode flat --n N --seconds S [--start-at T] [--warmup K]
 *   gemm-app --mode launch --launches L [--burst B]
 *
 * periodic: the critical program. One N x N SGEMM per period (released on
 * CLOCK_MONOTONIC, absolute, so lateness does not accumulate), then a
 * stream synchronize; its latency is from the launch call (after the
 * wake-up, so that timer slack is not counted as GPU interference) to
 * the synchronize's return. A GEMM that overruns its period makes the
 * next one start at once, never a catch-up burst.
 * flat: the best-effort program. The same, back to back.
 * Both warm up first (K GEMMs, default 10: cuBLAS picks and loads its
 * kernels, the gate claims its slot), then wait for --start-at (seconds
 * since the epoch, CLOCK_REALTIME: the one clock two processes share) so
 * that the benchmark's two programs measure the same window; then they
 * run for S seconds and print
 *   gemm mode M n N iterations K seconds S p50_ms A p99_ms B per_s C
 * launch: what one launch costs the host: an empty kernel launched L times
 * in bursts of B (default 64) with a synchronize after each burst, each
 * launch call timed; prints, as tests/gate/gate_app.c does,
 *   launch launches L bursts B seconds S call_us_max M call_us_total T
 *
 * Exit 3 when there is no CUDA device (the one line says why), 1 on any
 * other CUDA or cuBLAS error, 2 on bad arguments.
 */
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <getopt.h>
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime.h>

extern "C" {
#include "clock.h" /* lib/: mono_s() */
}

#define CHECK_CUDA(call)                                                                      \
	do {                                                                                  \
		cudaError_t err_ = (call);                                                    \
		if (err_ != cudaSuccess)                                                      \
			die_cuda(#call, err_);                                                \
	} while (0)

#define CHECK_CUBLAS(call)                                                                    \
	do {                                                                                  \
		cublasStatus_t st_ = (call);                                                  \
		if (st_ != CUBLAS_STATUS_SUCCESS) {                                           \
			fprintf(stderr, "gemm-app: %s: %s\n", #call, cublasGetStatusString(st_)); \
			exit(1);                                                              \
		}                                                                             \
	} while (0)

static void die_cuda(const char *what, cudaError_t err)
{
	fprintf(stderr, "gemm-app: %s: %s (%s)\n", what, cudaGetErrorString(err), cudaGetErrorName(err));
	exit(1);
}

static void usage_error(const char *why)
{
	fprintf(stderr, "gemm-app: %s\n", why);
	exit(2);
}

static void sleep_until(clockid_t clock, double t)
{
	struct timespec ts;

	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(clock, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Values in [-1, 1) from a hash of the index: a GEMM on zeros draws less
 * power, and so may run at other clocks, than one on real data. */
__global__ void fill(float *p, size_t n, uint32_t seed)
{
	size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;

	if (i < n) {
		uint32_t h = (uint32_t)i * 2654435761u ^ seed;

		h ^= h >> 15;
		h *= 2246822519u;
		h ^= h >> 13;
		p[i] = (float)(h & 0xffffff) / (float)0x800000 - 1.0f;
	}
}

__global__ void empty(void)
{
}

/* Nearest rank: the smallest sample with at least q of them at or below. */
static double quantile(std::vector<double> &v, double q)
{
	if (v.empty())
		return NAN;
	std::sort(v.begin(), v.end());
	size_t rank = (size_t)std::ceil(q * (double)v.size());

	return v[rank ? rank - 1 : 0];
}

static int launch_mode(cudaStream_t stream, long launches, long burst)
{
	double t0, call_max = 0, call_total = 0;
	long done = 0, bursts = 0;

	/* The first launch loads the module: not a launch's cost. */
	empty<<<1, 1, 0, stream>>>();
	CHECK_CUDA(cudaGetLastError());
	CHECK_CUDA(cudaStreamSynchronize(stream));
	t0 = mono_s();
	while (done < launches) {
		for (long i = 0; i < burst && done < launches; i++, done++) {
			double before = mono_s(), took;

			empty<<<1, 1, 0, stream>>>();
			took = (mono_s() - before) * 1e6;
			call_total += took;
			if (took > call_max)
				call_max = took;
		}
		CHECK_CUDA(cudaGetLastError());
		CHECK_CUDA(cudaStreamSynchronize(stream));
		bursts++;
	}
	printf("launch launches %ld bursts %ld seconds %.3f call_us_max %.0f call_us_total %.0f\n", done,
	       bursts, mono_s() - t0, call_max, call_total);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },     { "n", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },     { "seconds", required_argument, NULL, 's' },
		{ "start-at", required_argument, NULL, 'a' }, { "warmup", required_argument, NULL, 'w' },
		{ "launches", required_argument, NULL, 'l' }, { "burst", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mode = NULL;
	long n = 1024, warmup = 10, launches = 0, burst = 64;
	double rate = 0, seconds = 0, start_at = 0;
	int c, devices = 0;
	cudaError_t err;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end = NULL;

		errno = 0;
		switch (c) {
		case 'm': mode = optarg; break;
		case 'n': n = strtol(optarg, &end, 10); break;
		case 'r': rate = strtod(optarg, &end); break;
		case 's': seconds = strtod(optarg, &end); break;
		case 'a': start_at = strtod(optarg, &end); break;
		case 'w': warmup = strtol(optarg, &end, 10); break;
		case 'l': launches = strtol(optarg, &end, 10); break;
		case 'b': burst = strtol(optarg, &end, 10); break;
		default: return 2;
		}
		if (end && (*end || end == optarg || errno))
			usage_error("an option's value is not a number");
	}
	if (optind < argc)
		usage_error("unexpected arguments (see the head of bench/gate/gemm_app.cu)");
	if (!mode || (strcmp(mode, "periodic") && strcmp(mode, "flat") && strcmp(mode, "launch")))
		usage_error("--mode periodic, flat or launch");
	if (!strcmp(mode, "launch")) {
		if (launches <= 0 || burst <= 0)
			usage_error("--mode launch needs --launches above 0 (and --burst above 0)");
	} else {
		if (n < 16 || n > 16384)
			usage_error("--n: 16 to 16384");
		if (!(seconds > 0) || warmup < 0)
			usage_error("--seconds above 0 (and --warmup at least 0) needed");
		if (!strcmp(mode, "periodic") && !(rate > 0 && rate <= 100000))
			usage_error("--mode periodic needs --rate HZ above 0");
	}

	err = cudaGetDeviceCount(&devices);
	if (err != cudaSuccess || devices == 0) {
		fprintf(stderr, "gemm-app: no CUDA device: %s\n",
			err != cudaSuccess ? cudaGetErrorString(err) : "none found");
		return 3;
	}
	CHECK_CUDA(cudaSetDevice(0));
	cudaStream_t stream;
	CHECK_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
	if (!strcmp(mode, "launch"))
		return launch_mode(stream, launches, burst);

	size_t elems = (size_t)n * (size_t)n;
	float *a, *b, *out;
	cublasHandle_t blas;
	const float alpha = 1.0f, beta = 0.0f;
	unsigned blocks = (unsigned)((elems + 255) / 256);

	CHECK_CUDA(cudaMalloc(&a, elems * sizeof(float)));
	CHECK_CUDA(cudaMalloc(&b, elems * sizeof(float)));
	CHECK_CUDA(cudaMalloc(&out, elems * sizeof(float)));
	fill<<<blocks, 256, 0, stream>>>(a, elems, 1);
	fill<<<blocks, 256, 0, stream>>>(b, elems, 2);
	CHECK_CUDA(cudaGetLastError());
	CHECK_CUBLAS(cublasCreate(&blas));
	CHECK_CUBLAS(cublasSetStream(blas, stream));
	/* Plain FP32, said outright: the default math mode, which takes no
	 * TF32 tensor-core path for SGEMM. */
	CHECK_CUBLAS(cublasSetMathMode(blas, CUBLAS_DEFAULT_MATH));

	int ni = (int)n;
	for (long i = 0; i < warmup; i++)
		CHECK_CUBLAS(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, ni, ni, ni, &alpha, a, ni, b, ni,
					 &beta, out, ni));
	CHECK_CUDA(cudaStreamSynchronize(stream));

	if (start_at > 0) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		double late = (double)now.tv_sec + (double)now.tv_nsec * 1e-9 - start_at;
		if (late > 0)
			fprintf(stderr, "gemm-app: ready %.3f s after --start-at\n", late);
		else
			sleep_until(CLOCK_REALTIME, start_at);
	}

	bool periodic = !strcmp(mode, "periodic");
	double period = periodic ? 1.0 / rate : 0, t0 = mono_s(), t_end = t0 + seconds, next = t0;
	std::vector<double> lat_ms;

	lat_ms.reserve(periodic ? (size_t)(seconds * rate) + 16 : 4096);
	for (;;) {
		double began, done;

		if (periodic) {
			if (next >= t_end)
				break;
			sleep_until(CLOCK_MONOTONIC, next);
		} else if (mono_s() >= t_end) {
			break;
		}
		began = mono_s();
		CHECK_CUBLAS(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, ni, ni, ni, &alpha, a, ni, b, ni,
					 &beta, out, ni));
		CHECK_CUDA(cudaStreamSynchronize(stream));
		done = mono_s();
		lat_ms.push_back((done - began) * 1e3);
		if (periodic) {
			next += period;
			if (next < done)
				next = done;
		}
	}
	double took = mono_s() - t0;
	size_t iterations = lat_ms.size();
	double p50 = quantile(lat_ms, 0.50), p99 = quantile(lat_ms, 0.99);

	printf("gemm mode %s n %ld iterations %zu seconds %.3f p50_ms %.4f p99_ms %.4f per_s %.3f\n", mode,
	       n, iterations, took, p50, p99, (double)iterations / took);
	CHECK_CUBLAS(cublasDestroy(blas));
	CHECK_CUDA(cudaFree(a));
	CHECK_CUDA(cudaFree(b));
	CHECK_CUDA(cudaFree(out));
	CHECK_CUDA(cudaStreamDestroy(stream));
	return 0;
}
