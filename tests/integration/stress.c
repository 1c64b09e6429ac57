/* SPDX-License-Identifier: MIT */
/*
 * stress - four threads hammering the malloc family: random sizes from 1 B
 * to 1 MiB, blocks handed to other threads through a shared ring and freed
 * there, realloc growth and shrinking, calloc, every aligned entry point,
 * and the error cases glibc defines (overflow, SIZE_MAX, realloc(p, 0)).
 *
 * Every block carries a pattern derived from its identity, checked before
 * it is resized or freed. stdout is a summary that depends only on the
 * seeds, so it is the same with and without farmem; self-check failures
 * go to stderr and make the exit status 1.
 *
 * usage: stress [ops-per-thread]
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmcheck.h"

#define THREADS	 4
#define SLOTS	 64
#define RING	 256
#define MAX_SIZE ((size_t)1 << 20)

/* ---- blocks ----------------------------------------------------------------- */

struct blk {
	unsigned char *p;
	size_t n;
	uint32_t id;
};

/*
 * Patterns are written at sampled positions (the first and last 64 bytes,
 * every 512th byte between): enough to notice a lost page, a block that
 * overlaps another or a realloc that copied too little, cheap enough for
 * megabyte blocks.
 */
#define EDGE   64
#define STRIDE 512

static void blk_fill(const struct blk *b)
{
	size_t n = b->n;

	for (size_t i = 0; i < n && i < EDGE; i++)
		b->p[i] = fmc_pat(b->id, i);
	for (size_t i = STRIDE; i < n; i += STRIDE)
		b->p[i] = fmc_pat(b->id, i);
	for (size_t i = n > EDGE ? n - EDGE : 0; i < n; i++)
		b->p[i] = fmc_pat(b->id, i);
}

/* Checks the first @n bytes' samples (n <= b->n). */
static int blk_check(const struct blk *b, size_t n, size_t written)
{
	for (size_t i = 0; i < n && i < EDGE; i++)
		if (b->p[i] != fmc_pat(b->id, i))
			return 0;
	for (size_t i = STRIDE; i < n; i += STRIDE)
		if (i < written && b->p[i] != fmc_pat(b->id, i))
			return 0;
	for (size_t i = written > EDGE ? written - EDGE : 0;
	     i < written && i < n; i++)
		if (b->p[i] != fmc_pat(b->id, i))
			return 0;
	return 1;
}

/* ---- the ring: blocks allocated by one thread, freed by another ---------- */

static struct blk ring[RING];
static unsigned ring_head, ring_tail;
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t cross_frees; /* schedule-dependent: not printed */

static int ring_push(const struct blk *b)
{
	int ok = 0;

	pthread_mutex_lock(&ring_lock);
	if (ring_head - ring_tail < RING) {
		ring[ring_head++ % RING] = *b;
		ok = 1;
	}
	pthread_mutex_unlock(&ring_lock);
	return ok;
}

static int ring_pop(struct blk *b)
{
	int ok = 0;

	pthread_mutex_lock(&ring_lock);
	if (ring_head != ring_tail) {
		*b = ring[ring_tail++ % RING];
		ok = 1;
	}
	pthread_mutex_unlock(&ring_lock);
	return ok;
}

static void free_checked(struct blk *b, const char *who)
{
	if (!blk_check(b, b->n, b->n))
		fmc_fail("%s: block %u (%zu bytes) corrupted before free", who,
			 b->id, b->n);
	free(b->p);
	b->p = NULL;
}

/* ---- the threads ------------------------------------------------------------ */

struct worker {
	int id;
	long ops;
	uint64_t rng;
	/* deterministic counts */
	uint64_t mallocs, callocs, aligned, reallocs, frees, handoffs;
	uint64_t bytes;
	struct blk slot[SLOTS];
};

static uint64_t next(struct worker *w)
{
	/* xorshift64* */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 2685821657736338717ull;
}

/* 1 B .. 1 MiB, log-uniform: many small blocks, some large. */
static size_t rand_size(struct worker *w)
{
	unsigned bits = (unsigned)(next(w) % 21);
	size_t n = (size_t)(next(w) & (((uint64_t)1 << bits) - 1)) + 1;

	return n > MAX_SIZE ? MAX_SIZE : n;
}

static void check_new(struct worker *w, void *p, size_t n, size_t align,
		      const char *how)
{
	if (p == NULL) {
		fmc_fail("thread %d: %s(%zu) failed: %s", w->id, how, n,
			 strerror(errno));
		return;
	}
	if (align && ((uintptr_t)p & (align - 1)))
		fmc_fail("thread %d: %s(%zu, align %zu) = %p misaligned", w->id,
			 how, n, align, p);
	if (malloc_usable_size(p) < n)
		fmc_fail("thread %d: %s(%zu): usable size %zu", w->id, how, n,
			 malloc_usable_size(p));
	fmc_managed(p, how);
}

static void do_alloc(struct worker *w, struct blk *b)
{
	size_t n = rand_size(w), align = 0;
	unsigned kind = (unsigned)(next(w) % 10);
	void *p = NULL;

	b->id = (uint32_t)(w->id << 24) ^
		(uint32_t)(w->mallocs + w->callocs + w->aligned);
	switch (kind) {
	case 0:
	case 1: {
		p = calloc(1, n);
		check_new(w, p, n, 0, "calloc");
		w->callocs++;
		/* zeros, whether the block is fresh or reused */
		if (p) {
			const unsigned char *c = p;
			size_t step = n > 8192 ? 61 : 1;
			for (size_t i = 0; i < n; i += step)
				if (c[i]) {
					fmc_fail("thread %d: calloc(%zu) byte "
						 "%zu = %#x",
						 w->id, n, i, c[i]);
					break;
				}
			if (c[n - 1])
				fmc_fail("thread %d: calloc(%zu) last byte",
					 w->id, n);
		}
		break;
	}
	case 2: {
		align = (size_t)8 << (next(w) % 10); /* 8 B .. 4 KiB */
		if (posix_memalign(&p, align, n) != 0)
			p = NULL;
		check_new(w, p, n, align, "posix_memalign");
		w->aligned++;
		break;
	}
	case 3:
		align = (size_t)16 << (next(w) % 8);
		p = aligned_alloc(align, n);
		check_new(w, p, n, align, "aligned_alloc");
		w->aligned++;
		break;
	default:
		p = malloc(n);
		check_new(w, p, n, 0, "malloc");
		w->mallocs++;
		break;
	}
	b->p = p;
	b->n = p ? n : 0;
	w->bytes += n;
	if (p)
		blk_fill(b);
}

static void do_realloc(struct worker *w, struct blk *b)
{
	size_t n = (next(w) & 1) ? b->n + rand_size(w) : b->n / 2 + 1;
	unsigned char *q;

	if (n > 2 * MAX_SIZE)
		n = 2 * MAX_SIZE;
	if (!blk_check(b, b->n, b->n))
		fmc_fail("thread %d: block %u corrupted before realloc", w->id,
			 b->id);
	q = realloc(b->p, n);
	w->reallocs++;
	if (q == NULL) {
		fmc_fail("thread %d: realloc(%zu -> %zu) failed", w->id, b->n,
			 n);
		return;
	}
	check_new(w, q, n, 0, "realloc");
	b->p = q;
	if (!blk_check(b, n < b->n ? n : b->n, b->n))
		fmc_fail("thread %d: realloc(%zu -> %zu) lost contents", w->id,
			 b->n, n);
	/* the kept part keeps its pattern; fill the rest, and the new end */
	b->n = n;
	blk_fill(b);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct blk other;

	for (long op = 0; op < w->ops; op++) {
		struct blk *b = &w->slot[next(w) % SLOTS];
		unsigned what = (unsigned)(next(w) % 8);

		if (b->p == NULL) {
			do_alloc(w, b);
			continue;
		}
		switch (what) {
		case 0:
		case 1:
			do_realloc(w, b);
			break;
		case 2:
		case 3:
			/* hand the block over; whoever pops it frees it */
			w->handoffs++;
			if (!blk_check(b, b->n, b->n))
				fmc_fail("thread %d: block %u corrupted", w->id,
					 b->id);
			if (!ring_push(b))
				free(b->p);
			b->p = NULL;
			break;
		default:
			w->frees++;
			free_checked(b, "free");
			break;
		}
		/* free someone's block: usually another thread's */
		if ((op & 3) == 0 && ring_pop(&other)) {
			free_checked(&other, "cross-thread free");
			__atomic_fetch_add(&cross_frees, 1, __ATOMIC_RELAXED);
		}
	}
	for (int i = 0; i < SLOTS; i++)
		if (w->slot[i].p)
			free_checked(&w->slot[i], "final free");
	return NULL;
}

/* ---- the API corners, single-threaded ------------------------------------- */

static void report(const char *what, int ok)
{
	printf("%-44s %s\n", what, ok ? "ok" : "FAILED");
	if (!ok)
		fmc_fail("%s", what);
}

static void api_corners(void)
{
	void *p, *q;
	int rc;

	free(NULL);
	report("free(NULL)", 1);
	report("malloc_usable_size(NULL) == 0", malloc_usable_size(NULL) == 0);

	/* volatile: the compiler must not see (and warn about) the sizes */
	static volatile size_t max = SIZE_MAX, half = SIZE_MAX / 2,
			       quarter = SIZE_MAX / 4, big = (size_t)1 << 33;
	void *volatile keep;

	errno = 0;
	p = malloc(max);
	report("malloc(SIZE_MAX) -> NULL, ENOMEM",
	       p == NULL && errno == ENOMEM);
	errno = 0;
	p = malloc(half + 1);
	report("malloc(SIZE_MAX/2+1) -> NULL, ENOMEM",
	       p == NULL && errno == ENOMEM);
	errno = 0;
	p = calloc(half, 3);
	report("calloc overflow -> NULL, ENOMEM", p == NULL && errno == ENOMEM);
	errno = 0;
	p = calloc(big, big);
	report("calloc(2^33, 2^33) -> NULL, ENOMEM",
	       p == NULL && errno == ENOMEM);
	errno = 0;
	p = reallocarray(NULL, quarter, 8);
	report("reallocarray overflow -> NULL, ENOMEM",
	       p == NULL && errno == ENOMEM);

	q = malloc(100);
	keep = q;
	fmc_managed(q, "malloc(100)");
	memset(q, 0x5a, 100);
	errno = 0;
	p = reallocarray(q, half, 4);
	report("reallocarray(p) overflow -> NULL, p kept",
	       p == NULL && errno == ENOMEM &&
		   ((unsigned char *)keep)[99] == 0x5a);
	errno = 0;
	p = realloc(keep, max);
	report("realloc(p, SIZE_MAX) -> NULL, ENOMEM, p kept",
	       p == NULL && errno == ENOMEM &&
		   ((unsigned char *)keep)[0] == 0x5a);
	p = reallocarray(keep, 50, 4);
	report("reallocarray(p, 50, 4) keeps contents",
	       p != NULL && ((unsigned char *)p)[99] == 0x5a &&
		   malloc_usable_size(p) >= 200);
	fmc_managed(p, "reallocarray");
	/* glibc frees and returns NULL */
	q = realloc(p, 0);
	report("realloc(p, 0) -> NULL", q == NULL);
	p = realloc(NULL, 10);
	report("realloc(NULL, 10) is malloc", p != NULL);
	fmc_managed(p, "realloc(NULL)");
	free(p);

	p = malloc(0);
	report("malloc(0) -> a unique pointer", p != NULL);
	q = malloc(0);
	report("malloc(0) twice -> two pointers", q != NULL && q != p);
	fmc_managed(p, "malloc(0)");
	free(p);
	free(q);
	p = calloc(0, 10);
	report("calloc(0, 10) -> a pointer", p != NULL);
	free(p);

	/* aligned entry points, every power of two up to 1 MiB */
	int ok_pm = 1, ok_aa = 1, ok_ma = 1, ok_us = 1;
	for (size_t a = sizeof(void *); a <= ((size_t)1 << 20); a <<= 1) {
		static const size_t sizes[] = {1, 8, 100, 4096, 70000};
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			size_t n = sizes[s];
			void *x = NULL;

			rc = posix_memalign(&x, a, n);
			ok_pm &= rc == 0 && ((uintptr_t)x & (a - 1)) == 0;
			ok_us &= x && malloc_usable_size(x) >= n;
			fmc_managed(x, "posix_memalign");
			if (x)
				memset(x, 1, n);
			free(x);
			x = aligned_alloc(a, n);
			ok_aa &= x && ((uintptr_t)x & (a - 1)) == 0;
			ok_us &= x && malloc_usable_size(x) >= n;
			fmc_managed(x, "aligned_alloc");
			if (x)
				memset(x, 2, n);
			free(x);
			x = memalign(a, n);
			ok_ma &= x && ((uintptr_t)x & (a - 1)) == 0;
			ok_us &= x && malloc_usable_size(x) >= n;
			fmc_managed(x, "memalign");
			if (x)
				memset(x, 3, n);
			free(x);
		}
	}
	report("posix_memalign 8 B .. 1 MiB aligned", ok_pm);
	report("aligned_alloc 8 B .. 1 MiB aligned", ok_aa);
	report("memalign 8 B .. 1 MiB aligned", ok_ma);
	report("malloc_usable_size >= size (aligned)", ok_us);

	p = (void *)1;
	report("posix_memalign(align 0) -> EINVAL",
	       posix_memalign(&p, 0, 10) == EINVAL && p == (void *)1);
	report("posix_memalign(align 24) -> EINVAL",
	       posix_memalign(&p, 24, 10) == EINVAL && p == (void *)1);
	report("posix_memalign(align 4) -> EINVAL",
	       posix_memalign(&p, 4, 10) == EINVAL && p == (void *)1);
	errno = 0;
	report("posix_memalign(huge) -> ENOMEM, errno kept",
	       posix_memalign(&p, 64, max - 100) == ENOMEM && p == (void *)1 &&
		   errno == 0);

	long page = sysconf(_SC_PAGESIZE);
	p = valloc(100);
	report("valloc page aligned",
	       p && ((uintptr_t)p % (uintptr_t)page) == 0 &&
		   malloc_usable_size(p) >= 100);
	fmc_managed(p, "valloc");
	free(p);
	p = pvalloc(100);
	report("pvalloc page aligned, a whole page",
	       p && ((uintptr_t)p % (uintptr_t)page) == 0 &&
		   malloc_usable_size(p) >= (size_t)page);
	fmc_managed(p, "pvalloc");
	if (p)
		memset(p, 7, (size_t)page);
	free(p);

	/* usable size is really usable */
	int ok = 1;
	for (size_t n = 1; n < 200000; n = n * 3 + 1) {
		unsigned char *c = malloc(n);
		size_t u = c ? malloc_usable_size(c) : 0;
		ok &= c && u >= n;
		if (c) {
			memset(c, 0xee, u);
			c = realloc(c, u + 1);
			ok &= c && c[u - 1] == 0xee;
		}
		free(c);
	}
	report("malloc_usable_size bytes are usable", ok);

	/* calloc of a reused large block is zero */
	ok = 1;
	for (int round = 0; round < 8; round++) {
		size_t n = ((size_t)1 << 20) + (size_t)round * 4096;
		unsigned char *c = malloc(n);
		if (c == NULL) {
			ok = 0;
			break;
		}
		memset(c, 0xff, n);
		free(c);
		c = calloc(n, 1);
		if (c == NULL) {
			ok = 0;
			break;
		}
		for (size_t i = 0; i < n; i += 97)
			ok &= c[i] == 0;
		ok &= c[n - 1] == 0;
		free(c);
	}
	report("calloc after free of a dirty block is zero", ok);
}

int main(int argc, char **argv)
{
	static struct worker w[THREADS];
	pthread_t th[THREADS];
	long ops = argc > 1 ? atol(argv[1]) : 40000;
	struct blk b;
	struct fm_stats s;
	uint64_t total = 0;

	fmc_init();
	setvbuf(stdout, NULL, _IOLBF, 0);
	api_corners();
	for (int t = 0; t < THREADS; t++) {
		w[t].id = t + 1;
		w[t].ops = ops;
		w[t].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1);
		if (pthread_create(&th[t], NULL, worker_main, &w[t]) != 0) {
			perror("pthread_create");
			return 2;
		}
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	while (ring_pop(&b)) {
		free_checked(&b, "drain");
		cross_frees++;
	}
	for (int t = 0; t < THREADS; t++) {
		printf("thread %d: malloc %llu calloc %llu aligned %llu "
		       "realloc %llu free %llu handoff %llu bytes %llu\n",
		       w[t].id, (unsigned long long)w[t].mallocs,
		       (unsigned long long)w[t].callocs,
		       (unsigned long long)w[t].aligned,
		       (unsigned long long)w[t].reallocs,
		       (unsigned long long)w[t].frees,
		       (unsigned long long)w[t].handoffs,
		       (unsigned long long)w[t].bytes);
		total += w[t].mallocs + w[t].callocs + w[t].aligned;
	}
	printf("total allocations %llu\n", (unsigned long long)total);
	if (fmc_stats(&s) == 0) {
		FMC_CHECK(s.allocs >= total, "fm_stats allocs %llu < %llu",
			  (unsigned long long)s.allocs,
			  (unsigned long long)total);
		FMC_CHECK(s.threads >= THREADS + 1, "fm_stats threads %llu",
			  (unsigned long long)s.threads);
		fprintf(stderr,
			"stress: %llu cross-thread frees, %llu "
			"allocations served\n",
			(unsigned long long)cross_frees,
			(unsigned long long)s.allocs);
	}
	return fmc_exit_status();
}
