/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The seqlock both shared-memory files of triage follow (gpu-shares,
 * include/triage/gpu.h; the client files, include/triage/client.h): one
 * writer per section makes its 32-bit seq odd, writes, makes it even; a
 * reader copies the section and keeps the copy only when seq was even and
 * unchanged across it. Both sides of a file must agree on this, so it is
 * part of their contract and lives here, once.
 *
 * Fences: the odd seq is ordered before the body's stores by a release
 * fence after it; the body's stores before the even seq by the release
 * store of it. On the reading side, the acquire load of seq orders the
 * copy after it, and an acquire fence orders the copy before the second
 * load of seq. The copy is made of relaxed atomic word loads, so racing
 * with the writer is no data race, only a torn copy that seq tells apart.
 */
#ifndef TRIAGE_SEQLOCK_H
#define TRIAGE_SEQLOCK_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* Words that may alias any field of a shared struct (doubles, chars). */
typedef uint32_t __attribute__((may_alias)) triage_seq_word;

/* A writer is inside: let it (or its sibling hyperthread) go on. */
static inline void triage_seq_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

static inline void triage_seq_write_begin(uint32_t *seq)
{
	uint32_t v = __atomic_load_n(seq, __ATOMIC_RELAXED);

	/* An odd seq left by a writer that died mid-write stays odd: this
	 * write replaces whatever it left half done. */
	__atomic_store_n(seq, v | 1u, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void triage_seq_write_end(uint32_t *seq)
{
	uint32_t v = __atomic_load_n(seq, __ATOMIC_RELAXED);

	__atomic_store_n(seq, (v | 1u) + 1u, __ATOMIC_RELEASE);
}

/* The body of a write: n bytes in relaxed atomic stores, so a reader
 * copying at the same time races with no data race. */
static inline void triage_seq_store_bytes(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *from = src;

	for (size_t i = 0; i < n; i++)
		__atomic_store_n(&d[i], from[i], __ATOMIC_RELAXED);
}

/* bytes (a multiple of 4) from src to dst in relaxed atomic word loads. */
static inline void triage_seq_copy_words(void *dst, const void *src, size_t bytes)
{
	triage_seq_word *d = dst;
	const triage_seq_word *from = src;

	for (size_t i = 0; i < bytes / 4; i++)
		d[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
}

/* Copies bytes of src guarded by *seq into dst; *seen (may be NULL) gets
 * the even seq the copy goes with. 0, or -EAGAIN when every one of tries
 * found a write in progress. */
static inline int triage_seq_read(const uint32_t *seq, void *dst, const void *src, size_t bytes,
				  int tries, uint32_t *seen)
{
	for (int t = 0; t < tries; t++) {
		uint32_t before = __atomic_load_n(seq, __ATOMIC_ACQUIRE);

		if (!(before & 1u)) {
			triage_seq_copy_words(dst, src, bytes);
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(seq, __ATOMIC_RELAXED) == before) {
				if (seen)
					*seen = before;
				return 0;
			}
		}
		triage_seq_relax();
	}
	return -EAGAIN;
}

#endif
