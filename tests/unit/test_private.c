/* SPDX-License-Identifier: MIT */
/* Unit tests of the runtime's private allocator (heap/private.c). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "heap/heap.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

static const size_t sizes[] = {0,
			       1,
			       2,
			       7,
			       8,
			       15,
			       16,
			       17,
			       31,
			       32,
			       33,
			       63,
			       64,
			       100,
			       255,
			       256,
			       1000,
			       4080,
			       4096,
			       4097,
			       8000,
			       16 * KiB,
			       32 * KiB - 16,
			       32 * KiB,
			       32 * KiB + 1,
			       64 * KiB,
			       100 * KiB,
			       256 * KiB,
			       1000 * KiB,
			       MiB};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static const size_t aligns[] = {0,   1,	   8,	 16,	   32,	    64,
				128, 4096, 8192, 16 * KiB, 64 * KiB};
#define NALIGNS (sizeof(aligns) / sizeof(aligns[0]))

static unsigned char pattern(const void *block, size_t i)
{
	return (unsigned char)(((uintptr_t)block >> 4) * 31 + i * 7);
}

static void fill(void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		((unsigned char *)p)[i] = pattern(p, i);
}

static void check(const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)p)[i] != pattern(p, i))
			fail_msg("block %p byte %zu changed", p, i);
}

static void priv_sizes(void **state)
{
	void *p[NSIZES];

	(void)state;
	for (size_t i = 0; i < NSIZES; i++) {
		p[i] = heap_priv_alloc(sizes[i], 0);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		assert_true(heap_priv_usable(p[i]) >= sizes[i]);
		assert_true(heap_priv_owns(p[i]));
		fill(p[i], heap_priv_usable(p[i]));
	}
	/* writing every usable byte of each block spared the others */
	for (size_t i = 0; i < NSIZES; i++)
		check(p[i], heap_priv_usable(p[i]));
	for (size_t i = 0; i < NSIZES; i++)
		heap_priv_free(p[i]);
}

static void priv_alignments(void **state)
{
	(void)state;
	for (size_t a = 0; a < NALIGNS; a++) {
		size_t want = aligns[a] < 16 ? 16 : aligns[a];
		void *p[NSIZES];

		for (size_t s = 0; s < NSIZES; s++) {
			p[s] = heap_priv_alloc(sizes[s], aligns[a]);
			assert_non_null(p[s]);
			if ((uintptr_t)p[s] % want)
				fail_msg("heap_priv_alloc(%zu, %zu) = %p",
					 sizes[s], aligns[a], p[s]);
			assert_true(heap_priv_usable(p[s]) >= sizes[s]);
			fill(p[s], sizes[s]);
		}
		for (size_t s = 0; s < NSIZES; s++) {
			check(p[s], sizes[s]);
			heap_priv_free(p[s]);
		}
	}
}

static void priv_bad_alignment(void **state)
{
	(void)state;
	errno = 0;
	assert_null(heap_priv_alloc(16, 24));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(heap_priv_alloc(SIZE_MAX, 0));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(heap_priv_alloc(SIZE_MAX - 100, 4096));
	assert_int_equal(errno, ENOMEM);
}

/* A freed small block comes back for the next request of its class. */
static void priv_reuse_small(void **state)
{
	void *p, *q;

	(void)state;
	p = heap_priv_alloc(100, 0);
	assert_non_null(p);
	heap_priv_free(p);
	q = heap_priv_alloc(100, 0);
	assert_ptr_equal(p, q);
	heap_priv_free(q);
}

/* Freed page runs are reused rather than carved again: a loop of large
 * allocations stays in a bounded stretch of the reserve. */
static void priv_reuse_large(void **state)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0;

	(void)state;
	for (int i = 0; i < 200; i++) {
		size_t n = (size_t)(i % 5 + 1) * 100 * KiB;
		char *p = heap_priv_alloc(n, 0);

		assert_non_null(p);
		/* a reused run reads as zeros or garbage, never a fault */
		p[0] = 1;
		p[n - 1] = 2;
		if ((uintptr_t)p < lo)
			lo = (uintptr_t)p;
		if ((uintptr_t)p + n > hi)
			hi = (uintptr_t)p + n;
		heap_priv_free(p);
	}
	/* 200 fresh runs would span ~60 MiB */
	assert_true(hi - lo < 4 * MiB);
}

/*
 * Random large sizes with a bounded working set (at most 8 blocks of up to
 * 2 MiB live): freed runs must be merged or split back so that the reserve
 * in use stays within a small multiple of what is live. Without merging,
 * the span grows with the number of operations (and every allocation
 * scans a longer list of ever smaller runs).
 */
static void priv_reuse_random_large(void **state)
{
	void *live[8] = {0};
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	unsigned seed = 1;

	(void)state;
	for (int i = 0; i < 3000; i++) {
		size_t n;
		int k;
		char *p;

		seed = seed * 1103515245u + 12345u;
		n = (seed >> 8) % (2u << 20) + 40000;
		k = (int)((seed >> 28) & 7);
		heap_priv_free(live[k]);
		p = heap_priv_alloc(n, 0);
		assert_non_null(p);
		p[0] = 1;
		p[n - 1] = 2;
		live[k] = p;
		if ((uintptr_t)p < lo)
			lo = (uintptr_t)p;
		if ((uintptr_t)p + n > hi)
			hi = (uintptr_t)p + n;
	}
	for (int k = 0; k < 8; k++)
		heap_priv_free(live[k]);
	if (hi - lo > 64 * MiB)
		fail_msg("3000 allocations with <= 16 MiB live spread over "
			 "%zu MiB of the reserve",
			 (size_t)((hi - lo) >> 20));
}

static void priv_bytes_accounting(void **state)
{
	size_t before = heap_priv_bytes();
	void *p = heap_priv_alloc(300 * KiB, 0);
	void *q = heap_priv_alloc(40, 0);

	(void)state;
	assert_non_null(p);
	assert_non_null(q);
	assert_true(heap_priv_bytes() >= before + 300 * KiB + 40);
	heap_priv_free(p);
	heap_priv_free(q);
	assert_int_equal(heap_priv_bytes(), before);
}

static void priv_ownership(void **state)
{
	static char in_bss[64];
	char on_stack[64];
	void *libc = malloc(64);
	char *p = heap_priv_alloc(64, 0);

	(void)state;
	assert_non_null(p);
	assert_true(heap_priv_owns(p));
	assert_true(heap_priv_owns(p + 63));
	assert_false(heap_priv_owns(NULL));
	assert_false(heap_priv_owns(in_bss));
	assert_false(heap_priv_owns(on_stack));
	assert_false(heap_priv_owns(libc));
	assert_false(heap_boot_owns(p));
	assert_true(heap_owns(p));
	assert_true(heap_usable(p) >= 64);
	free(libc);
	/* heap_free routes a private block to the private allocator */
	assert_true(heap_free(p));
	heap_priv_free(NULL);
}

/* With a region set up, no private block is inside it. */
static void priv_not_in_region(void **state)
{
	(void)state;
	if (heap_region_size == 0)
		assert_int_equal(heap_region_init(64 * MiB), 0);
	assert_true(heap_region_size >= 64 * MiB);
	for (size_t i = 0; i < NSIZES; i++) {
		void *p = heap_priv_alloc(sizes[i], 0);
		assert_non_null(p);
		assert_false(heap_in_region(p));
		heap_priv_free(p);
	}
}

static void priv_zero_size(void **state)
{
	void *p = heap_priv_alloc(0, 0);
	void *q = heap_priv_alloc(0, 0);
	void *r = heap_priv_alloc(0, 4096);

	(void)state;
	assert_non_null(p);
	assert_non_null(q);
	assert_non_null(r);
	assert_ptr_not_equal(p, q);
	assert_int_equal((uintptr_t)r % 4096, 0);
	heap_priv_free(p);
	heap_priv_free(q);
	heap_priv_free(r);
}

/* ---- threads -------------------------------------------------------------- */

#define THREADS 4
#define ROUNDS	3000
#define SLOTS	64

static void *priv_worker(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	void *slot[SLOTS] = {0};
	size_t len[SLOTS] = {0};
	int errors = 0;

	for (int r = 0; r < ROUNDS; r++) {
		int i;
		size_t n;

		seed = seed * 1103515245u + 12345u;
		i = (int)((seed >> 16) % SLOTS);
		if (slot[i]) {
			for (size_t k = 0; k < len[i]; k++)
				if (((unsigned char *)slot[i])[k] !=
				    pattern(slot[i], k))
					errors++;
			heap_priv_free(slot[i]);
		}
		seed = seed * 1103515245u + 12345u;
		n = (seed >> 8) % ((seed & 1) ? 200 : 70000);
		slot[i] = heap_priv_alloc(n, (seed & 6) == 6 ? 64 : 0);
		len[i] = n;
		if (slot[i] == NULL)
			return (void *)(uintptr_t)-1;
		fill(slot[i], n);
	}
	for (int i = 0; i < SLOTS; i++)
		heap_priv_free(slot[i]);
	return (void *)(uintptr_t)errors;
}

static void priv_threads(void **state)
{
	pthread_t th[THREADS];
	size_t before = heap_priv_bytes();

	(void)state;
	for (uintptr_t t = 0; t < THREADS; t++)
		assert_int_equal(
		    pthread_create(&th[t], NULL, priv_worker, (void *)(t + 1)),
		    0);
	for (int t = 0; t < THREADS; t++) {
		void *rc;
		assert_int_equal(pthread_join(th[t], &rc), 0);
		assert_int_equal((uintptr_t)rc, 0);
	}
	assert_int_equal(heap_priv_bytes(), before);
}

/* A block freed by another thread than the one that allocated it. */
static void *free_it(void *p)
{
	heap_priv_free(p);
	return NULL;
}

static void priv_cross_thread_free(void **state)
{
	size_t before = heap_priv_bytes();
	pthread_t th;
	void *p = heap_priv_alloc(5000, 0);
	void *q = heap_priv_alloc(200 * KiB, 0);

	(void)state;
	assert_non_null(p);
	assert_non_null(q);
	assert_int_equal(pthread_create(&th, NULL, free_it, p), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(pthread_create(&th, NULL, free_it, q), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(heap_priv_bytes(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(priv_sizes),
	    cmocka_unit_test(priv_alignments),
	    cmocka_unit_test(priv_bad_alignment),
	    cmocka_unit_test(priv_reuse_small),
	    cmocka_unit_test(priv_reuse_large),
	    cmocka_unit_test(priv_reuse_random_large),
	    cmocka_unit_test(priv_bytes_accounting),
	    cmocka_unit_test(priv_ownership),
	    cmocka_unit_test(priv_not_in_region),
	    cmocka_unit_test(priv_zero_size),
	    cmocka_unit_test(priv_threads),
	    cmocka_unit_test(priv_cross_thread_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
