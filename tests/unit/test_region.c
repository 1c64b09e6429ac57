/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the managed region and allocation in it (heap/region.c,
 * heap/alloc.c), on a small region of this process. malloc is not
 * interposed here: heap_* are called directly.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "heap/heap.h"

#define KiB    ((size_t)1 << 10)
#define MiB    ((size_t)1 << 20)
#define REGION (256 * MiB)

static bool aligned_to(const void *p, size_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

static void fill(void *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		((unsigned char *)p)[i] = (unsigned char)(seed + i * 13);
}

static void check(const void *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)p)[i] !=
		    (unsigned char)(seed + i * 13))
			fail_msg("%p: byte %zu of %zu changed", p, i, n);
}

static int group_setup(void **state)
{
	(void)state;
	/* a size that is not a multiple of 32 MiB is rounded up */
	if (heap_region_init(REGION - 12345) != 0)
		return -1;
	return heap_init_threads();
}

/* ---- the region --------------------------------------------------------- */

static void region_geometry(void **state)
{
	(void)state;
	assert_int_equal(heap_region_size, REGION);
	assert_true(aligned_to((void *)heap_region_base, HEAP_REGION_ALIGN));
	assert_true(heap_in_region((void *)heap_region_base));
	assert_true(heap_in_region((void *)(heap_region_base + REGION - 1)));
	assert_false(heap_in_region((void *)(heap_region_base + REGION)));
	assert_false(heap_in_region((void *)(heap_region_base - 1)));
	assert_false(heap_in_region(NULL));
	assert_true(heap_region_arena() != 0);
}

/* Too small for two segments: refused before anything is mapped (the
 * region set up by the group stays as it was). */
static void region_too_small(void **state)
{
	uintptr_t base = heap_region_base;

	(void)state;
	assert_int_equal(heap_region_init(0), -EINVAL);
	assert_int_equal(heap_region_init(HEAP_REGION_ALIGN), -EINVAL);
	assert_int_equal(heap_region_init(2 * HEAP_REGION_ALIGN - 1), -EINVAL);
	assert_int_equal(heap_region_base, base);
	assert_int_equal(heap_region_size, REGION);
}

/* Transparent huge pages are off in the region (DESIGN: the pager works
 * on small pages). */
static void region_nohugepage(void **state)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, found = false;

	(void)state;
	if (f == NULL) {
		skip();
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = lo <= heap_region_base && heap_region_base < hi;
			continue;
		}
		if (in && strncmp(line, "VmFlags:", 8) == 0) {
			found = true;
			assert_non_null(strstr(line, " nh"));
		}
	}
	fclose(f);
	assert_true(found);
}

/* ---- allocation ---------------------------------------------------------- */

static const size_t sizes[] = {0,
			       1,
			       8,
			       16,
			       24,
			       100,
			       1000,
			       4096,
			       5000,
			       32 * KiB,
			       64 * KiB - 1,
			       64 * KiB,
			       64 * KiB + 1,
			       100 * KiB,
			       256 * KiB,
			       MiB,
			       3 * MiB + 17,
			       20 * MiB};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void attach_and_malloc(void **state)
{
	void *p[NSIZES];

	(void)state;
	assert_int_equal(heap_attach(), 0);
	assert_int_equal(heap_attach(), 0); /* idempotent */
	for (size_t i = 0; i < NSIZES; i++) {
		p[i] = heap_malloc(sizes[i]);
		assert_non_null(p[i]);
		assert_true(heap_in_region(p[i]));
		assert_true(
		    heap_in_region((char *)p[i] + sizes[i] - (sizes[i] != 0)));
		assert_true(heap_owns(p[i]));
		assert_false(heap_priv_owns(p[i]));
		assert_true(heap_usable(p[i]) >= sizes[i]);
		/* glibc's 16, except where mimalloc has an 8-byte class */
		assert_true(aligned_to(p[i], sizes[i] <= 8 ? 8 : 16));
		if (sizes[i] >= HEAP_LARGE && !aligned_to(p[i], HEAP_PAGE))
			fail_msg("heap_malloc(%zu) = %p: not page aligned",
				 sizes[i], p[i]);
		fill(p[i], sizes[i], (unsigned char)i);
	}
	for (size_t i = 0; i < NSIZES; i++) {
		check(p[i], sizes[i], (unsigned char)i);
		assert_true(heap_free(p[i]));
	}
}

static void memalign_in_region(void **state)
{
	static const size_t aligns[] = {8,    16,   32,	      64,	 128,
					4096, 8192, 64 * KiB, 256 * KiB, MiB};

	(void)state;
	for (size_t a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++) {
		for (size_t s = 0; s < NSIZES; s++) {
			void *p = heap_memalign(aligns[a], sizes[s]);

			if (p == NULL)
				fail_msg("heap_memalign(%zu, %zu) = NULL",
					 aligns[a], sizes[s]);
			if (!aligned_to(p, aligns[a]))
				fail_msg("heap_memalign(%zu, %zu) = %p",
					 aligns[a], sizes[s], p);
			if (sizes[s] >= HEAP_LARGE && !aligned_to(p, HEAP_PAGE))
				fail_msg("heap_memalign(%zu, %zu) = %p: not "
					 "page aligned",
					 aligns[a], sizes[s], p);
			assert_true(heap_in_region(p));
			assert_true(heap_usable(p) >= sizes[s]);
			memset(p, 0x3c, sizes[s]);
			assert_true(heap_free(p));
		}
	}
}

/*
 * Sizes equal to (or a power-of-two multiple of) the alignment: mimalloc
 * 2.0.9's mi_heap_malloc_aligned takes a fast path for power-of-two sizes
 * up to 1 KiB that assumes such blocks are naturally aligned, which holds
 * only up to 128 B (mimalloc issue #700, fixed after 2.0.9). glibc's
 * memalign and C++'s aligned new (alignas(256)) must still get aligned
 * memory.
 */
static void memalign_size_equals_alignment(void **state)
{
	static void *keep[3000];
	int bad = 0;

	(void)state;
	for (int i = 0; i < 3000; i++) {
		size_t a = (size_t)256 << (i % 3);
		size_t n = (i % 2) ? a : a * 2;
		void *p;

		/* shift mimalloc's free lists with plain blocks */
		keep[i] = heap_malloc((size_t)(i * 37 % 1500) + 1);
		p = heap_memalign(a, n);
		assert_non_null(p);
		if (!aligned_to(p, a) && bad++ < 5)
			print_error("heap_memalign(%zu, %zu) = %p\n", a, n, p);
		if (i % 2)
			heap_free(p);
	}
	for (int i = 0; i < 3000; i++)
		heap_free(keep[i]);
	assert_int_equal(bad, 0);
}

/* heap_free says whose a pointer is, and frees only the heap's. */
static void free_routes(void **state)
{
	static char in_bss[256];
	char on_stack[64];
	void *region = heap_malloc(100);
	void *priv = heap_priv_alloc(100, 0);
	void *boot = heap_boot_alloc(100, 0);
	size_t priv_before;

	(void)state;
	assert_non_null(region);
	assert_non_null(priv);
	assert_non_null(boot);
	priv_before = heap_priv_bytes();
	assert_true(heap_owns(region) && heap_owns(priv) && heap_owns(boot));
	assert_false(heap_owns(in_bss + 16));
	assert_false(heap_owns(on_stack));
	assert_int_equal(heap_usable(in_bss + 16), 0);
	assert_true(heap_free(region));
	assert_true(heap_free(priv));
	assert_true(heap_priv_bytes() < priv_before);
	assert_true(heap_free(boot));
	assert_false(heap_free(in_bss + 16));
	assert_false(heap_free(on_stack));
}

static void counters_move(void **state)
{
	struct heap_stats a, b;
	void *p;

	(void)state;
	heap_stats_get(&a);
	p = heap_malloc(50);
	assert_non_null(p);
	heap_free(p);
	p = heap_zalloc(50);
	assert_non_null(p);
	heap_free(p);
	p = heap_memalign(64, 50);
	assert_non_null(p);
	heap_free(p);
	heap_stats_get(&b);
	assert_int_equal(b.allocs, a.allocs + 3);
	assert_int_equal(b.frees, a.frees + 3);
	assert_true(b.threads >= 1);
	heap_count_foreign();
	heap_stats_get(&b);
	assert_int_equal(b.foreign_frees, a.foreign_frees + 1);
}

/* ---- zeroed and resized blocks ------------------------------------------- */

/* enough blocks to use up a small mimalloc page, so that freed ones come
 * back */
#define ZROUNDS 10000

/* Blocks are dirtied, freed, and asked for again zeroed: whether mimalloc
 * hands back the same blocks (it does, for most) they read as zeros. */
static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (void *const *)a;
	uintptr_t y = (uintptr_t) * (void *const *)b;

	return x < y ? -1 : x > y;
}

static void zalloc_reused_is_zero(void **state)
{
	static const size_t zsizes[] = {
	    1,	      24,	100,	   1000,      5000,
	    40 * KiB, 64 * KiB, 100 * KiB, 300 * KiB, 2 * MiB};
	static void *dirty[ZROUNDS], *again[ZROUNDS];

	(void)state;
	for (size_t s = 0; s < sizeof(zsizes) / sizeof(zsizes[0]); s++) {
		size_t n = zsizes[s];
		int reused = 0, rounds = n < 1000 ? ZROUNDS : n > MiB ? 4 : 64;

		for (int i = 0; i < rounds; i++) {
			dirty[i] = heap_malloc(n);
			assert_non_null(dirty[i]);
			memset(dirty[i], 0xff, heap_usable(dirty[i]));
		}
		for (int i = 0; i < rounds; i++)
			heap_free(dirty[i]);
		qsort(dirty, (size_t)rounds, sizeof(dirty[0]), cmp_ptr);
		for (int i = 0; i < rounds; i++) {
			unsigned char *z = heap_zalloc(n);

			assert_non_null(z);
			assert_true(heap_in_region(z));
			reused += bsearch(&z, dirty, (size_t)rounds,
					  sizeof(dirty[0]), cmp_ptr) != NULL;
			for (size_t k = 0; k < n; k++)
				if (z[k] != 0)
					fail_msg("heap_zalloc(%zu) = %p: byte "
						 "%zu is %#x",
						 n, (void *)z, k, z[k]);
			again[i] = z;
		}
		for (int i = 0; i < rounds; i++)
			heap_free(again[i]);
		/* the test must have seen reused blocks to mean anything */
		if (reused == 0)
			fail_msg("no block of %zu bytes was reused", n);
	}
}

static void realloc_keeps_contents(void **state)
{
	static const size_t steps[] = {
	    1,	       10,	100, 24,      5000,    70 * KiB, 65 * KiB,
	    300 * KiB, 3 * MiB, 10,  2 * MiB, 4 * MiB, 1000,	 100 * KiB};
	size_t n = 16;
	unsigned char *p = heap_malloc(n);

	(void)state;
	assert_non_null(p);
	fill(p, n, 7);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		size_t m = steps[i], keep = n < m ? n : m;
		unsigned char *q = heap_realloc(p, m);

		if (q == NULL)
			fail_msg("heap_realloc(%zu -> %zu) = NULL", n, m);
		assert_true(heap_in_region(q));
		assert_true(heap_usable(q) >= m);
		check(q, keep, 7);
		if (m >= HEAP_LARGE && !aligned_to(q, HEAP_PAGE))
			fail_msg("heap_realloc(%zu -> %zu) = %p: not page "
				 "aligned",
				 n, m, (void *)q);
		fill(q, m, 7);
		p = q;
		n = m;
	}
	heap_free(p);
}

/* Blocks from before start-up and from the private allocator move into
 * the region when an application thread resizes them. */
static void realloc_moves_foreign_sources(void **state)
{
	unsigned char *b = heap_boot_alloc(100, 0);
	unsigned char *v = heap_priv_alloc(100, 0);
	unsigned char *q;

	(void)state;
	assert_non_null(b);
	assert_non_null(v);
	fill(b, 100, 1);
	fill(v, 100, 2);
	q = heap_realloc(b, 1000);
	assert_non_null(q);
	assert_true(heap_in_region(q));
	check(q, 100, 1);
	heap_free(q);
	q = heap_realloc(v, 1000);
	assert_non_null(q);
	assert_true(heap_in_region(q));
	check(q, 100, 2);
	heap_free(q);
}

/* ---- runtime threads --------------------------------------------------- */

static void runtime_routes_to_private(void **state)
{
	void *in, *p, *z, *m, *r;

	(void)state;
	in = heap_malloc(100);
	assert_true(heap_in_region(in));
	assert_false(heap_is_runtime_thread());
	heap_runtime_enter();
	assert_true(heap_is_runtime_thread());
	p = heap_malloc(100);
	z = heap_zalloc(300 * KiB);
	m = heap_memalign(4096, 5000);
	assert_non_null(p);
	assert_non_null(z);
	assert_non_null(m);
	assert_false(heap_in_region(p));
	assert_false(heap_in_region(z));
	assert_false(heap_in_region(m));
	assert_true(heap_priv_owns(p) && heap_priv_owns(z) &&
		    heap_priv_owns(m));
	assert_true(aligned_to(m, 4096));
	for (size_t k = 0; k < 300 * KiB; k++)
		assert_int_equal(((unsigned char *)z)[k], 0);
	/* nested */
	heap_runtime_enter();
	r = heap_malloc(10);
	assert_true(heap_priv_owns(r));
	heap_runtime_leave();
	assert_true(heap_is_runtime_thread());
	/* a runtime thread resizing region memory gets private memory */
	fill(in, 100, 9);
	in = heap_realloc(in, 200);
	assert_non_null(in);
	assert_true(heap_priv_owns(in));
	check(in, 100, 9);
	/* ... and frees of region memory still work from here */
	heap_runtime_leave();
	assert_false(heap_is_runtime_thread());
	void *later = heap_malloc(100);
	assert_true(heap_in_region(later));
	heap_runtime_enter();
	assert_true(heap_free(later));
	heap_runtime_leave();
	/* private blocks are freed by address from an application thread */
	assert_true(heap_free(p));
	assert_true(heap_free(z));
	assert_true(heap_free(m));
	assert_true(heap_free(r));
	assert_true(heap_free(in));
	p = heap_malloc(100);
	assert_true(heap_in_region(p));
	heap_free(p);
}

static void *runtime_thread(void *arg)
{
	void *p, *q;
	bool ok;

	(void)arg;
	heap_runtime_enter(); /* before its first allocation */
	p = heap_malloc(1000);
	q = heap_malloc(200 * KiB);
	ok = p && q && heap_priv_owns(p) && heap_priv_owns(q) &&
	     !heap_in_region(p) && !heap_in_region(q);
	heap_free(p);
	heap_free(q);
	heap_runtime_leave();
	return (void *)(uintptr_t)ok;
}

static void runtime_thread_without_heap(void **state)
{
	pthread_t th;
	void *ok;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, runtime_thread, NULL), 0);
	assert_int_equal(pthread_join(th, &ok), 0);
	assert_true((uintptr_t)ok);
}

/* ---- threads --------------------------------------------------------------- */

#define THREADS	   4
#define PER_THREAD 2000

static void *shared[THREADS][PER_THREAD];

static void *alloc_thread(void *arg)
{
	uintptr_t t = (uintptr_t)arg;
	bool ok = true;

	for (int i = 0; i < PER_THREAD; i++) {
		size_t n = (size_t)(i % 17) * 61 + (i % 100 == 0) * 90 * KiB;
		shared[t][i] = heap_malloc(n);
		if (shared[t][i] == NULL || !heap_in_region(shared[t][i]))
			ok = false;
		else
			fill(shared[t][i], n < 64 ? n : 64, (unsigned char)t);
	}
	return (void *)(uintptr_t)ok;
}

/* Frees the blocks of the thread before it, checking them first. */
static void *free_thread(void *arg)
{
	uintptr_t t = ((uintptr_t)arg + 1) % THREADS;
	bool ok = true;

	for (int i = 0; i < PER_THREAD; i++) {
		size_t n = (size_t)(i % 17) * 61 + (i % 100 == 0) * 90 * KiB;
		const unsigned char *p = shared[t][i];
		for (size_t k = 0; k < (n < 64 ? n : 64); k++)
			if (p[k] != (unsigned char)(t + k * 13))
				ok = false;
		if (!heap_free(shared[t][i]))
			ok = false;
	}
	return (void *)(uintptr_t)ok;
}

static void threads_cross_free(void **state)
{
	pthread_t th[THREADS];
	struct heap_stats a, b;
	void *ok;

	(void)state;
	heap_stats_get(&a);
	for (uintptr_t t = 0; t < THREADS; t++)
		assert_int_equal(
		    pthread_create(&th[t], NULL, alloc_thread, (void *)t), 0);
	for (int t = 0; t < THREADS; t++) {
		assert_int_equal(pthread_join(th[t], &ok), 0);
		assert_true((uintptr_t)ok);
	}
	for (uintptr_t t = 0; t < THREADS; t++)
		assert_int_equal(
		    pthread_create(&th[t], NULL, free_thread, (void *)t), 0);
	for (int t = 0; t < THREADS; t++) {
		assert_int_equal(pthread_join(th[t], &ok), 0);
		assert_true((uintptr_t)ok);
	}
	heap_stats_get(&b);
	/* the exited threads' counts are kept */
	assert_int_equal(b.allocs - a.allocs, THREADS * PER_THREAD);
	assert_true(b.threads >= a.threads + THREADS);
	/* (frees: see stats_count_free_only_thread) */
}

static void *free_only_thread(void *arg)
{
	void **blocks = arg;

	for (int i = 0; i < 100; i++)
		heap_free(blocks[i]);
	return NULL;
}

/*
 * A thread that frees but never allocates (the consumer of a queue) still
 * has its frees counted once it has exited: "frees" is every region block
 * freed, whoever frees it.
 */
static void stats_count_free_only_thread(void **state)
{
	static void *blocks[100];
	struct heap_stats a, b;
	pthread_t th;

	(void)state;
	for (int i = 0; i < 100; i++) {
		blocks[i] = heap_malloc(64);
		assert_non_null(blocks[i]);
	}
	heap_stats_get(&a);
	assert_int_equal(pthread_create(&th, NULL, free_only_thread, blocks),
			 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	heap_stats_get(&b);
	assert_int_equal(b.frees - a.frees, 100);
}

/* ---- discarding freed large blocks ------------------------------------- */

/* Pages of [p, p+n) resident now. */
static size_t resident_pages(void *p, size_t n)
{
	unsigned char vec[4096];
	size_t pages = n / HEAP_PAGE, count = 0;

	assert_true(pages <= sizeof(vec));
	assert_int_equal(mincore(p, n, vec), 0);
	for (size_t i = 0; i < pages; i++)
		count += vec[i] & 1;
	return count;
}

static void discard_large_free(void **state)
{
	struct heap_stats a, b;
	size_t n = 4 * MiB;
	char *p = heap_malloc(n);

	(void)state;
	assert_non_null(p);
	assert_true(aligned_to(p, HEAP_PAGE));
	memset(p, 0x42, n);
	assert_true(resident_pages(p, n) >= n / HEAP_PAGE - 1);
	heap_stats_get(&a);
	assert_true(heap_free(p));
	heap_stats_get(&b);
	/*
	 * Without a pager nothing is dropped at free: mimalloc reuses the
	 * pages or decommits them itself after a delay (dropping them at
	 * every free made large-block reuse fault every page back in:
	 * 0.01x of mimalloc's throughput). With a pager, only far copies
	 * are dropped: tests/pager/freerealloc.sh.
	 */
	assert_int_equal(b.discarded, a.discarded);
	assert_true(resident_pages(p, n) >= n / HEAP_PAGE - 1);
}

/* A block below HEAP_DISCARD_MIN keeps its pages (madvise per free would
 * cost more than it saves). */
static void no_discard_small_free(void **state)
{
	struct heap_stats a, b;
	char *p = heap_malloc(HEAP_LARGE);

	(void)state;
	assert_non_null(p);
	memset(p, 1, HEAP_LARGE);
	heap_stats_get(&a);
	heap_free(p);
	heap_stats_get(&b);
	assert_int_equal(b.discarded, a.discarded);
}

/* ---- byte tracking ---------------------------------------------------- */

static void tracking_live_and_peak(void **state)
{
	struct heap_stats a, b, c;
	void *p;

	(void)state;
	heap_stats_track(true);
	heap_stats_get(&a);
	p = heap_malloc(2 * MiB);
	assert_non_null(p);
	heap_stats_get(&b);
	assert_true(b.live >= a.live + 2 * MiB);
	assert_true(b.live_peak >= b.live);
	assert_true(b.region_high > 0 && b.region_high <= REGION);
	heap_free(p);
	heap_stats_get(&c);
	assert_true(c.live + 2 * MiB <= b.live);
	assert_true(c.live_peak >= b.live);
	heap_stats_track(false);
}

/* ---- exhaustion (runs last: fills the region) ----------------------------- */

static void region_exhaustion(void **state)
{
	static void *blocks[1024], *small[100000];
	size_t count = 0, again = 0, nsmall = 0;
	void *p;

	(void)state;
	/* more than the region at once */
	errno = 0;
	assert_null(heap_malloc(REGION * 2));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(heap_malloc(SIZE_MAX));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(heap_zalloc(REGION + MiB));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(heap_memalign(4096, REGION * 2));
	assert_int_equal(errno, ENOMEM);
	/* fill it with 1 MiB blocks: never outside it */
	for (;;) {
		errno = 0;
		p = heap_malloc(MiB);
		if (p == NULL)
			break;
		assert_true(heap_in_region(p));
		assert_true(count < 1024);
		blocks[count++] = p;
	}
	assert_int_equal(errno, ENOMEM);
	assert_true(count >= REGION / MiB / 2);
	/* small ones still fail or stay inside */
	while (nsmall < 100000) {
		errno = 0;
		p = heap_malloc(100);
		if (p == NULL) {
			assert_int_equal(errno, ENOMEM);
			break;
		}
		assert_true(heap_in_region(p));
		small[nsmall++] = p;
	}
	/* free everything: the same room is there again */
	for (size_t i = 0; i < count; i++)
		heap_free(blocks[i]);
	for (size_t i = 0; i < nsmall; i++)
		heap_free(small[i]);
	while (again < count && (p = heap_malloc(MiB)) != NULL) {
		assert_true(heap_in_region(p));
		blocks[again++] = p;
	}
	assert_true(again >= count * 9 / 10);
	for (size_t i = 0; i < again; i++)
		heap_free(blocks[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(region_geometry),
	    cmocka_unit_test(region_too_small),
	    cmocka_unit_test(region_nohugepage),
	    cmocka_unit_test(attach_and_malloc),
	    cmocka_unit_test(memalign_in_region),
	    cmocka_unit_test(memalign_size_equals_alignment),
	    cmocka_unit_test(free_routes),
	    cmocka_unit_test(counters_move),
	    cmocka_unit_test(zalloc_reused_is_zero),
	    cmocka_unit_test(realloc_keeps_contents),
	    cmocka_unit_test(realloc_moves_foreign_sources),
	    cmocka_unit_test(runtime_routes_to_private),
	    cmocka_unit_test(runtime_thread_without_heap),
	    cmocka_unit_test(threads_cross_free),
	    cmocka_unit_test(stats_count_free_only_thread),
	    cmocka_unit_test(discard_large_free),
	    cmocka_unit_test(no_discard_small_free),
	    cmocka_unit_test(tracking_live_and_peak),
	    cmocka_unit_test(region_exhaustion),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
