/* SPDX-License-Identifier: MIT */
/* Unit tests of the bootstrap area (heap/bootstrap.c). */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "heap/heap.h"

/*
 * The area is one static buffer for the whole process and never reused, so
 * the tests run in this order and the last one exhausts it. Each records
 * what it got so that later tests check blocks stay disjoint.
 */
#define MAX_BLOCKS 20000

struct block {
	char *p;
	size_t n;
};

static struct block blocks[MAX_BLOCKS];
static size_t nblocks;

static void record(void *p, size_t n)
{
	assert_true(nblocks < MAX_BLOCKS);
	blocks[nblocks].p = p;
	blocks[nblocks].n = n;
	nblocks++;
}

static int cmp_block(const void *a, const void *b)
{
	const struct block *x = a, *y = b;

	return x->p < y->p ? -1 : x->p > y->p;
}

/* No two recorded blocks overlap (zero-size blocks are distinct). */
static void assert_disjoint(void)
{
	qsort(blocks, nblocks, sizeof(blocks[0]), cmp_block);
	for (size_t i = 1; i < nblocks; i++) {
		struct block *a = &blocks[i - 1], *b = &blocks[i];
		if (a->p == b->p || a->p + a->n > b->p)
			fail_msg("blocks %p+%zu and %p+%zu overlap",
				 (void *)a->p, a->n, (void *)b->p, b->n);
	}
}

static void boot_nothing_owned_yet(void **state)
{
	static char elsewhere[64];
	int on_stack;

	(void)state;
	assert_int_equal(heap_boot_used(), 0);
	assert_false(heap_boot_owns(NULL));
	assert_false(heap_boot_owns(elsewhere));
	assert_false(heap_boot_owns(&on_stack));
}

static void boot_alignment(void **state)
{
	static const size_t aligns[] = {0,  1,	2,   8,	   16,
					32, 64, 256, 1024, 4096};
	static const size_t sizes[] = {1, 7, 16, 100, 1000};

	(void)state;
	for (size_t a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			size_t want = aligns[a] < 16 ? 16 : aligns[a];
			char *p = heap_boot_alloc(sizes[s], aligns[a]);

			assert_non_null(p);
			if ((uintptr_t)p % want)
				fail_msg("heap_boot_alloc(%zu, %zu) = %p",
					 sizes[s], aligns[a], (void *)p);
			/* writable, all of it */
			memset(p, 0xa5, sizes[s]);
			record(p, sizes[s]);
		}
	}
	/* a block longer than its alignment */
	char *big = heap_boot_alloc(4097, 4096);
	assert_non_null(big);
	assert_int_equal((uintptr_t)big % 4096, 0);
	memset(big, 0x5a, 4097);
	record(big, 4097);
	assert_disjoint();
}

static void boot_bad_alignment(void **state)
{
	(void)state;
	/* (alignments below 16 are raised to 16, whatever they are) */
	assert_null(heap_boot_alloc(16, 48));
	assert_null(heap_boot_alloc(16, 4095));
	assert_null(heap_boot_alloc(16, 8192)); /* above a page */
}

static void boot_sizes_recorded(void **state)
{
	static const size_t sizes[] = {0,  1,	2,   15,   16,	 17,  31,
				       33, 100, 255, 1000, 4096, 5000};

	(void)state;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		void *p = heap_boot_alloc(sizes[s], 0);
		void *q = heap_boot_alloc(sizes[s], 64);

		assert_non_null(p);
		assert_non_null(q);
		assert_int_equal(heap_boot_usable(p), sizes[s]);
		assert_int_equal(heap_boot_usable(q), sizes[s]);
		memset(p, 0x11, sizes[s]);
		memset(q, 0x22, sizes[s]);
		record(p, sizes[s]);
		record(q, sizes[s]);
	}
	/* writing a block did not change its neighbours' sizes */
	for (size_t i = 0; i < nblocks; i++)
		assert_int_equal(heap_boot_usable(blocks[i].p), blocks[i].n);
	assert_disjoint();
}

static void boot_ownership(void **state)
{
	char *p = heap_boot_alloc(100, 0);
	void *outside = malloc(100);

	(void)state;
	assert_non_null(p);
	assert_true(heap_boot_owns(p));
	assert_true(heap_boot_owns(p + 99));
	assert_false(heap_boot_owns(outside));
	free(outside);
	for (size_t i = 0; i < nblocks; i++)
		assert_true(heap_boot_owns(blocks[i].p));
	record(p, 100);
	/* the area is neither the region nor the private reserve */
	assert_false(heap_in_region(p));
	assert_false(heap_priv_owns(p));
	assert_true(heap_owns(p));
	assert_int_equal(heap_usable(p), 100);
}

static void boot_used_grows(void **state)
{
	size_t before = heap_boot_used();
	void *p = heap_boot_alloc(1000, 0);

	(void)state;
	assert_non_null(p);
	assert_true(heap_boot_used() >= before + 1000);
	record(p, 1000);
}

/* Freeing is a no-op: heap_free() says the block is the heap's, and the
 * block is never handed out again. */
static void boot_free_noop(void **state)
{
	char *p = heap_boot_alloc(64, 0);
	char *q;

	(void)state;
	assert_non_null(p);
	memset(p, 0x77, 64);
	assert_true(heap_free(p));
	q = heap_boot_alloc(64, 0);
	assert_non_null(q);
	assert_ptr_not_equal(p, q);
	for (int i = 0; i < 64; i++)
		assert_int_equal((unsigned char)p[i], 0x77);
	record(p, 64);
	record(q, 64);
}

/* ---- four threads at once ------------------------------------------------ */

#define THREADS	   4
#define PER_THREAD 500

struct worker {
	int id;
	char *p[PER_THREAD];
	size_t n[PER_THREAD];
};

static pthread_barrier_t barrier;

static void *boot_worker(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(&barrier);
	for (int i = 0; i < PER_THREAD; i++) {
		size_t n = 1 + (size_t)((i * 7 + w->id * 13) % 40);
		w->p[i] = heap_boot_alloc(n, (i % 3) ? 0 : 32);
		w->n[i] = n;
		if (w->p[i])
			memset(w->p[i], w->id + 1, n);
	}
	return NULL;
}

static void boot_concurrent(void **state)
{
	static struct worker w[THREADS];
	pthread_t th[THREADS];

	(void)state;
	assert_int_equal(pthread_barrier_init(&barrier, NULL, THREADS), 0);
	for (int t = 0; t < THREADS; t++) {
		w[t].id = t;
		assert_int_equal(
		    pthread_create(&th[t], NULL, boot_worker, &w[t]), 0);
	}
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	pthread_barrier_destroy(&barrier);
	for (int t = 0; t < THREADS; t++) {
		for (int i = 0; i < PER_THREAD; i++) {
			assert_non_null(w[t].p[i]);
			assert_int_equal(heap_boot_usable(w[t].p[i]),
					 w[t].n[i]);
			/* nobody else wrote into it */
			for (size_t k = 0; k < w[t].n[i]; k++)
				assert_int_equal(w[t].p[i][k], t + 1);
			record(w[t].p[i], w[t].n[i]);
		}
	}
	assert_disjoint();
}

/* Runs last: fills the area. Then NULL, for every size, and the area's
 * accounting stays within it. */
static void boot_exhaustion(void **state)
{
	size_t got = 0;
	void *p;

	(void)state;
	assert_null(heap_boot_alloc((size_t)1 << 30, 0));
	assert_null(heap_boot_alloc(SIZE_MAX, 0));
	assert_null(heap_boot_alloc(SIZE_MAX - 4096, 16));
	while ((p = heap_boot_alloc(1000, 0)) != NULL) {
		assert_true(heap_boot_owns(p));
		assert_true(heap_boot_owns((char *)p + 999));
		record(p, 1000);
		got++;
		assert_true(got < MAX_BLOCKS);
	}
	assert_true(got > 0);
	/* still full, whatever the request; smaller ones may squeeze in */
	assert_null(heap_boot_alloc(1000, 0));
	assert_null(heap_boot_alloc(4096, 4096));
	while ((p = heap_boot_alloc(1, 0)) != NULL)
		record(p, 1);
	assert_null(heap_boot_alloc(1, 0));
	assert_null(heap_boot_alloc(1, 4096));
	assert_disjoint();
	/* every block is still inside the area */
	for (size_t i = 0; i < nblocks; i++)
		assert_true(heap_boot_owns(blocks[i].p + blocks[i].n - 1) ||
			    blocks[i].n == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(boot_nothing_owned_yet),
	    cmocka_unit_test(boot_alignment),
	    cmocka_unit_test(boot_bad_alignment),
	    cmocka_unit_test(boot_sizes_recorded),
	    cmocka_unit_test(boot_ownership),
	    cmocka_unit_test(boot_used_grows),
	    cmocka_unit_test(boot_free_noop),
	    cmocka_unit_test(boot_concurrent),
	    cmocka_unit_test(boot_exhaustion),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
