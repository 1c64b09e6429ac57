/* SPDX-License-Identifier: MIT */
/*
 * Allocation in the managed region: per-thread mimalloc heaps bound to the
 * region's arena, routing of frees by address, runtime threads sent to the
 * private allocator, and heap statistics.
 */
#include "config.h"

#include <errno.h>
#include <mimalloc.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "heap.h"
#include "prim.h"

/*
 * A thread's counters. They live in private memory, not in the thread's
 * TLS: a thread may allocate again after its exit hook ran (later TLS
 * destructors), and a list threaded through TLS blocks would then point
 * into a freed stack. Blocks are never freed, only recycled, so summing
 * them is always safe; the fast path touches no shared cache line.
 */
struct tstat {
	uint64_t allocs;
	uint64_t frees;
	int64_t live;	    /* bytes, since the last fold (tracking only) */
	uintptr_t high;	    /* highest region address handed out (tracking) */
	struct tstat *next; /* every block */
	struct tstat *next_free; /* recycled blocks */
};

struct heap_tls {
	mi_heap_t *heap;  /* NULL until the thread's first allocation */
	int runtime;	  /* > 0: a runtime thread (private allocator) */
	mi_heap_t *saved; /* the heap put aside while a runtime thread */
	struct tstat *ts; /* NULL until the first allocation or free */
};

static FM_TLS struct heap_tls tls;

static struct tstat *tstat_all, *tstat_free;
static struct tstat tstat_overflow; /* summed, never recycled */
static int list_lock_word;
static pthread_key_t exit_key;

/* Counts of threads that have exited, and byte tracking. */
static struct {
	uint64_t allocs, frees, threads, foreign, discarded;
	int64_t live, live_peak;
	uintptr_t high;
} g;
static bool track_bytes;

/* Bytes a thread may drift before it folds into the global count: bounds
 * the error of live_peak at this much per thread. */
#define TRACK_FOLD ((int64_t)256 << 10)

static void list_lock(void)
{
	while (__atomic_exchange_n(&list_lock_word, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void list_unlock(void)
{
	__atomic_store_n(&list_lock_word, 0, __ATOMIC_RELEASE);
}

static void fold_live(void)
{
	struct tstat *t = tls.ts;
	int64_t now, peak;

	if (t == NULL)
		return;
	now = __atomic_add_fetch(&g.live, t->live, __ATOMIC_RELAXED);
	peak = __atomic_load_n(&g.live_peak, __ATOMIC_RELAXED);
	t->live = 0;
	while (now > peak &&
	       !__atomic_compare_exchange_n(&g.live_peak, &peak, now, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	uintptr_t high = __atomic_load_n(&g.high, __ATOMIC_RELAXED);
	while (t->high > high &&
	       !__atomic_compare_exchange_n(&g.high, &high, t->high, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* Out of line: keeps the allocation fast path short. */
static void __attribute__((noinline)) track_alloc(void *p)
{
	uintptr_t end = (uintptr_t)p + mi_usable_size(p);
	struct tstat *t = tls.ts;

	t->live += (int64_t)mi_usable_size(p);
	if (end > t->high)
		t->high = end;
	if (t->live > TRACK_FOLD || t->live < -TRACK_FOLD)
		fold_live();
}

static void __attribute__((noinline)) track_free(size_t n)
{
	struct tstat *t = tls.ts;

	t->live -= (int64_t)n;
	if (t->live > TRACK_FOLD || t->live < -TRACK_FOLD)
		fold_live();
}

/* Thread exit, run by our pthread key after mimalloc's own key (created
 * first, so run first) has deleted the thread's heap: the counters fold
 * into the totals and the block is recycled. */
static void thread_exit(void *arg)
{
	struct tstat *t = tls.ts;

	(void)arg;
	tls.heap = NULL;
	if (t == NULL || t == &tstat_overflow) {
		tls.ts = NULL;
		return;
	}
	if (track_bytes)
		fold_live();
	list_lock();
	g.allocs += t->allocs;
	g.frees += t->frees;
	t->allocs = t->frees = 0;
	t->high = 0;
	t->next_free = tstat_free;
	tstat_free = t;
	tls.ts = NULL;
	list_unlock();
}

/* Gives the thread its counters: on its first allocation, or first free
 * (a consumer thread may only ever free). */
static struct tstat *__attribute__((noinline)) thread_register(void)
{
	struct tstat *t;

	list_lock();
	t = tstat_free;
	if (t) {
		tstat_free = t->next_free;
	} else {
		list_unlock();
		t = heap_priv_alloc(sizeof(*t), 64); /* own cache line */
		if (t == NULL) {
			/* no memory for counters: count in a shared block
			 * (approximate), but never fail an allocation */
			tls.ts = &tstat_overflow;
			return &tstat_overflow;
		}
		memset(t, 0, sizeof(*t));
		list_lock();
		t->next = tstat_all;
		tstat_all = t;
	}
	g.threads++;
	list_unlock();
	tls.ts = t;
	/* a non-NULL value makes the key's destructor run at thread exit */
	pthread_setspecific(exit_key, &tls);
	return t;
}

int heap_attach(void)
{
	mi_heap_t *h;

	if (tls.heap)
		return 0;
	h = mi_heap_new_in_arena(heap_region_arena());
	if (h == NULL)
		return -ENOMEM;
	if (tls.ts == NULL)
		thread_register();
	tls.heap = h;
	return 0;
}

/* After fork only the forking thread exists. The others' counter blocks
 * keep their counts and stay summed: private memory, nothing dangles. */
static void child_after_fork(void)
{
	list_lock_word = 0;
	heap_priv_postfork();
	heap_mmap_postfork();
}

static void parent_after_fork(void)
{
	list_unlock();
	heap_priv_postfork();
	heap_mmap_postfork();
}

/* lock order: mappings, private allocator, thread list */
static void before_fork(void)
{
	heap_mmap_prefork();
	heap_priv_prefork();
	list_lock();
}

int heap_init_threads(void)
{
	int rc;

	/* mimalloc creates its thread-exit key when it first sees a thread;
	 * ours must come after it (destructors run in key order). */
	mi_thread_init();
	rc = pthread_key_create(&exit_key, thread_exit);
	if (rc)
		return -rc;
	rc = pthread_atfork(before_fork, parent_after_fork, child_after_fork);
	return -rc;
}

/*
 * mimalloc 2.0.9 hands out a plain block when the size is a multiple of the
 * alignment, trusting that such blocks are aligned; the first page of a
 * segment breaks that (aligned_alloc(512, 512) returned ...180). A size
 * that is not a multiple takes its checked paths instead.
 */
static void *mi_aligned(mi_heap_t *h, size_t n, size_t align)
{
	void *p = mi_heap_malloc_aligned(h, n, align);

	if (FM_UNLIKELY(p != NULL && ((uintptr_t)p & (align - 1)))) {
		mi_free(p);
		p = mi_heap_malloc_aligned(h, n + 1, align);
	}
	return p;
}

/* The tail of every allocation from the region but malloc's fast path:
 * errno on failure, counting, byte tracking. */
static void *counted(void *p)
{
	if (FM_UNLIKELY(p == NULL)) {
		errno = ENOMEM;
		return NULL;
	}
	tls.ts->allocs++;
	if (FM_UNLIKELY(track_bytes))
		track_alloc(p);
	return p;
}

static void *__attribute__((noinline)) malloc_slow(size_t n, size_t align)
{

	if (tls.runtime)
		return heap_priv_alloc(n, align);
	if (heap_attach()) {
		errno = ENOMEM;
		return NULL;
	}
	return counted(align ? mi_aligned(tls.heap, n, align)
			     : mi_heap_malloc(tls.heap, n));
}

/* Requests of HEAP_LARGE or more: mimalloc 2.0.9 returns these page
 * aligned already (larger bins are multiples of 16 KiB carved from 64 KiB
 * aligned pages), where mi_heap_malloc_aligned would over-allocate by a
 * page each time. Checked, not assumed. */
static void *malloc_large(mi_heap_t *h, size_t n)
{
	void *p = mi_heap_malloc(h, n);

	if (FM_UNLIKELY(p != NULL && ((uintptr_t)p & (HEAP_PAGE - 1)))) {
		mi_free(p);
		p = mi_aligned(h, n, HEAP_PAGE);
	}
	return p;
}

static void *__attribute__((noinline)) malloc_other(mi_heap_t *h, size_t n)
{
	if (h == NULL)
		return malloc_slow(n, n >= HEAP_LARGE ? HEAP_PAGE : 0);
	return counted(n >= HEAP_LARGE ? malloc_large(h, n)
				       : mi_heap_malloc(h, n));
}

void *heap_malloc(size_t n)
{
	mi_heap_t *h = tls.heap;

	if (FM_UNLIKELY(h == NULL || n >= HEAP_LARGE || track_bytes))
		return malloc_other(h, n);
	/* counted first, so that mimalloc's fast path is a tail call; a
	 * failure sets errno through heap_mi_error (region.c) */
	tls.ts->allocs++;
	return mi_heap_malloc(h, n);
}

void *heap_zalloc(size_t n)
{
	mi_heap_t *h = tls.heap;
	void *p;

	if (FM_UNLIKELY(h == NULL || n >= HEAP_LARGE)) {
		p = heap_malloc(n);
		/* fresh region memory is zero, but a reused block is not */
		if (p)
			memset(p, 0, n);
		return p;
	}
	return counted(mi_heap_zalloc(h, n));
}

void *heap_memalign(size_t align, size_t n)
{
	mi_heap_t *h = tls.heap;

	if (n >= HEAP_LARGE && align < HEAP_PAGE)
		align = HEAP_PAGE;
	if (FM_UNLIKELY(h == NULL))
		return malloc_slow(n, align);
	return counted(mi_aligned(h, n, align));
}

size_t heap_usable(const void *p)
{
	if (heap_in_region(p))
		return mi_usable_size(p);
	if (heap_priv_owns(p))
		return heap_priv_usable(p);
	if (heap_boot_owns(p))
		return heap_boot_usable(p);
	return 0;
}

void *heap_realloc(void *p, size_t n)
{
	size_t old = heap_usable(p);
	void *q;

	if (heap_priv_owns(p) && tls.runtime) {
		if (n <= old)
			return p;
	} else if (heap_in_region(p) && n <= old && n >= old / 2 &&
		   (n < HEAP_LARGE || ((uintptr_t)p & (HEAP_PAGE - 1)) == 0)) {
		/* fits, not wasting more than half, alignment rule kept */
		return p;
	}
	q = heap_malloc(n);
	if (q == NULL)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	heap_free(p);
	return q;
}

/*
 * Which frees of region blocks take the slow path: those with
 * (p & free_slow_mask) == 0. UINTPTR_MAX: none (a region pointer is never
 * 0). With the pager on, 64 KiB-aligned ones: a block of HEAP_DISCARD_MIN
 * or more is alone on its mimalloc page and starts it, on a 64 KiB slice.
 * 0: all (byte tracking).
 */
static uintptr_t free_slow_mask = UINTPTR_MAX;

static void set_free_slow_mask(void)
{
	free_slow_mask = track_bytes	  ? 0
			 : pager_active() ? ((uintptr_t)64 << 10) - 1
					  : UINTPTR_MAX;
}

/*
 * A freed large block's far copies are dropped before mimalloc may reuse
 * it: dead data is never fetched back nor written out again. Its resident
 * pages stay: mimalloc hands the block out again soon, or decommits the
 * pages after a delay (through madvise, so pager_discard), and dropping
 * them at every free would make each reuse fault every page in again
 * (large-block malloc throughput fell to 0.01x of mimalloc's that way).
 */
static void __attribute__((noinline)) free_region_slow(void *p)
{
	size_t n = mi_usable_size(p);
	struct tstat *t = tls.ts;

	if (n >= HEAP_DISCARD_MIN && pager_active()) {
		uintptr_t from = (uintptr_t)p + HEAP_PAGE;
		uintptr_t to = ((uintptr_t)p + n) & ~(uintptr_t)(HEAP_PAGE - 1);
		if (to > from)
			__atomic_fetch_add(&g.discarded,
					   pager_forget((void *)from, to - from)
					       << 12,
					   __ATOMIC_RELAXED);
	}
	if (t == NULL)
		t = thread_register();
	if (track_bytes)
		track_free(n);
	t->frees++;
	mi_free(p);
}

void heap_free_region(void *p)
{
	struct tstat *t = tls.ts;

	if (FM_UNLIKELY(((uintptr_t)p & free_slow_mask) == 0 || t == NULL)) {
		free_region_slow(p);
		return;
	}
	t->frees++;
	mi_free(p);
}

bool heap_free(void *p)
{
	if (FM_LIKELY(heap_in_region(p))) {
		heap_free_region(p);
		return true;
	}
	if (heap_priv_owns(p)) {
		heap_priv_free(p);
		return true;
	}
	/* bootstrap blocks are few and small: never reused */
	return heap_boot_owns(p);
}

/* Thread ids of runtime threads, so a fault one of them takes in the
 * region is reported as the bug it is. */
#define RUNTIME_TIDS 64
static int runtime_tids[RUNTIME_TIDS];

static void runtime_tid_note(void)
{
	int tid = (int)syscall(SYS_gettid);

	for (int i = 0; i < RUNTIME_TIDS; i++) {
		int v = __atomic_load_n(&runtime_tids[i], __ATOMIC_RELAXED);
		if (v == tid)
			return;
		if (v == 0 && __atomic_compare_exchange_n(
				  &runtime_tids[i], &v, tid, false,
				  __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return;
	}
}

bool heap_runtime_tid(int tid)
{
	for (int i = 0; i < RUNTIME_TIDS; i++)
		if (__atomic_load_n(&runtime_tids[i], __ATOMIC_RELAXED) == tid)
			return tid != 0;
	return false;
}

void heap_runtime_thread_begin(void)
{
	runtime_tid_note();
	heap_runtime_enter();
}

void heap_runtime_enter(void)
{
	/* with no heap, every allocation takes the slow path, which routes
	 * runtime threads to the private allocator */
	if (tls.runtime++ == 0) {
		tls.saved = tls.heap;
		tls.heap = NULL;
	}
}

void heap_runtime_leave(void)
{
	FM_BUG_ON(tls.runtime <= 0);
	if (--tls.runtime == 0) {
		tls.heap = tls.saved;
		tls.saved = NULL;
	}
}

bool heap_is_runtime_thread(void)
{
	return tls.runtime > 0;
}

void heap_stats_track(bool on)
{
	track_bytes = on;
	set_free_slow_mask();
}

void heap_count_foreign(void)
{
	__atomic_fetch_add(&g.foreign, 1, __ATOMIC_RELAXED);
}

void heap_stats_get(struct heap_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (track_bytes)
		fold_live();
	list_lock();
	s->allocs = g.allocs + tstat_overflow.allocs;
	s->frees = g.frees + tstat_overflow.frees;
	for (struct tstat *t = tstat_all; t; t = t->next) {
		s->allocs += __atomic_load_n(&t->allocs, __ATOMIC_RELAXED);
		s->frees += __atomic_load_n(&t->frees, __ATOMIC_RELAXED);
	}
	s->threads = g.threads;
	list_unlock();
	s->live = g.live > 0 ? (uint64_t)g.live : 0;
	s->live_peak = (uint64_t)g.live_peak;
	s->region_high =
	    g.high > heap_region_base ? g.high - heap_region_base : 0;
	s->discarded = g.discarded;
	s->foreign_frees = g.foreign;
	s->private_bytes = heap_priv_bytes();
	s->boot_bytes = heap_boot_used();
}
