/* SPDX-License-Identifier: MIT */
/*
 * The runtime's private allocator: memory for runtime threads, the page
 * table's helpers, and whatever libc, libfabric or libunwind allocate on
 * those threads. It lives in its own reserve outside the managed region, so
 * the fault service never touches memory that only it could bring back. It
 * is not mimalloc (whose heaps are per-thread and live in the region) and
 * not glibc's malloc (whose locks are held across fork).
 *
 * Small blocks: power-of-two classes from 32 B to 32 KiB with free lists.
 * Larger blocks: page runs, first-fit from a list of freed runs whose pages
 * are dropped. One lock, taken across fork.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include "heap.h"
#include "prim.h"

#define PRIV_RESERVE	 ((size_t)64 << 30)
#define PRIV_RESERVE_MIN ((size_t)16 << 20)
#define PRIV_HDR	 16
#define PRIV_MIN_SHIFT	 5  /* 32 B */
#define PRIV_CLASSES	 11 /* up to 32 KiB */
#define PRIV_MAGIC	 0xfa5e4e3du

/* Precedes every user pointer. @block is where the block starts (it differs
 * from the pointer for aligned allocations). */
struct priv_hdr {
	uint32_t magic;
	uint32_t cls;	 /* class index, or PRIV_CLASSES for a page run */
	uint32_t offset; /* user pointer - block start */
	uint32_t pages;	 /* page runs: length in pages */
};

struct priv_run {
	struct priv_run *next;
	size_t pages;
};

static char *priv_base, *priv_top, *priv_end;
static void *priv_free_list[PRIV_CLASSES];
static struct priv_run *priv_runs;
static size_t priv_bytes;
static int priv_lock_word;

static void priv_lock(void)
{
	while (__atomic_exchange_n(&priv_lock_word, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void priv_unlock(void)
{
	__atomic_store_n(&priv_lock_word, 0, __ATOMIC_RELEASE);
}

void heap_priv_prefork(void)
{
	priv_lock();
}

void heap_priv_postfork(void)
{
	priv_unlock();
}

/* Carves @len bytes (page multiple for runs) from the reserve. Locked. */
static void *priv_carve(size_t len, size_t align)
{
	uintptr_t p;

	if (priv_base == NULL) {
		void *base = NULL;
		size_t size;
		/* as large as the address-space limit (ulimit -v) allows */
		for (size = PRIV_RESERVE; size >= PRIV_RESERVE_MIN; size /= 2)
			if (prim_reserve(size, HEAP_PAGE, &base) == 0)
				break;
		if (size < PRIV_RESERVE_MIN)
			return NULL;
		prim_nohuge(base, size);
		priv_base = priv_top = base;
		priv_end = priv_base + size;
	}
	p = ((uintptr_t)priv_top + align - 1) & ~(uintptr_t)(align - 1);
	if (p + len > (uintptr_t)priv_end || p + len < p)
		return NULL;
	priv_top = (char *)(p + len);
	return (void *)p;
}

bool heap_priv_owns(const void *p)
{
	return (uintptr_t)p - (uintptr_t)priv_base <
	       (uintptr_t)(priv_end - priv_base);
}

static unsigned size_class(size_t total)
{
	unsigned c = 0;

	while (((size_t)1 << (c + PRIV_MIN_SHIFT)) < total)
		c++;
	return c;
}

/* A page run of @pages: the best-fitting freed run, else carved. Best fit
 * keeps a size that is freed and allocated again from splitting larger
 * runs until the reserve fragments. Locked. */
static void *run_get(size_t pages)
{
	struct priv_run **pp, *r, **best = NULL;

	for (pp = &priv_runs; (r = *pp) != NULL; pp = &r->next) {
		if (r->pages < pages)
			continue;
		if (best == NULL || r->pages < (*best)->pages)
			best = pp;
		if (r->pages == pages)
			break;
	}
	if (best == NULL)
		return priv_carve(pages * HEAP_PAGE, HEAP_PAGE);
	r = *best;
	if (r->pages == pages) {
		*best = r->next;
		return r;
	}
	/* hand out the tail, keep the head on the list */
	r->pages -= pages;
	return (char *)r + r->pages * HEAP_PAGE;
}

void *heap_priv_alloc(size_t n, size_t align)
{
	struct priv_hdr h = {PRIV_MAGIC, 0, 0, 0};
	size_t total;
	char *block;
	uintptr_t user;

	if (align < PRIV_HDR)
		align = PRIV_HDR;
	if ((align & (align - 1)) || n > PRIV_RESERVE)
		goto nomem;
	total = n + PRIV_HDR + (align > PRIV_HDR ? align : 0);
	priv_lock();
	if (total <= ((size_t)1 << (PRIV_MIN_SHIFT + PRIV_CLASSES - 1))) {
		h.cls = size_class(total);
		block = priv_free_list[h.cls];
		if (block)
			memcpy(&priv_free_list[h.cls], block, sizeof(void *));
		else
			block = priv_carve(
			    (size_t)1 << (h.cls + PRIV_MIN_SHIFT), PRIV_HDR);
		total = (size_t)1 << (h.cls + PRIV_MIN_SHIFT);
	} else {
		h.cls = PRIV_CLASSES;
		h.pages = (uint32_t)((total + HEAP_PAGE - 1) / HEAP_PAGE);
		if ((size_t)h.pages * HEAP_PAGE < total) {
			priv_unlock();
			goto nomem;
		}
		block = run_get(h.pages);
		total = (size_t)h.pages * HEAP_PAGE;
	}
	if (block)
		priv_bytes += total;
	priv_unlock();
	if (block == NULL)
		goto nomem;
	user =
	    ((uintptr_t)block + PRIV_HDR + align - 1) & ~(uintptr_t)(align - 1);
	h.offset = (uint32_t)(user - (uintptr_t)block);
	memcpy((void *)(user - PRIV_HDR), &h, sizeof(h));
	return (void *)user;
nomem:
	errno = ENOMEM;
	return NULL;
}

static struct priv_hdr priv_header(const void *p)
{
	struct priv_hdr h;

	memcpy(&h, (const char *)p - PRIV_HDR, sizeof(h));
	FM_BUG_ON(h.magic != PRIV_MAGIC);
	return h;
}

size_t heap_priv_usable(const void *p)
{
	struct priv_hdr h = priv_header(p);
	size_t total = h.cls < PRIV_CLASSES
			   ? (size_t)1 << (h.cls + PRIV_MIN_SHIFT)
			   : (size_t)h.pages * HEAP_PAGE;

	return total - h.offset;
}

/* Returns a freed run to the list, which is kept in address order so that
 * neighbours merge (random sizes would otherwise spread the runs over the
 * reserve); a run that ends at the top goes back to the reserve. Locked. */
static void run_put(struct priv_run *r, size_t pages)
{
	struct priv_run **pp = &priv_runs, *prev = NULL, *next;

	while ((next = *pp) != NULL && next < r) {
		prev = next;
		pp = &next->next;
	}
	r->pages = pages;
	r->next = next;
	*pp = r;
	if (next && (char *)r + r->pages * HEAP_PAGE == (char *)next) {
		r->pages += next->pages;
		r->next = next->next;
	}
	if (prev && (char *)prev + prev->pages * HEAP_PAGE == (char *)r) {
		prev->pages += r->pages;
		prev->next = r->next;
		r = prev;
	}
	if ((char *)r + r->pages * HEAP_PAGE == priv_top && r->next == NULL) {
		for (pp = &priv_runs; *pp != r; pp = &(*pp)->next)
			;
		*pp = NULL;
		priv_top = (char *)r;
	}
}

void heap_priv_free(void *p)
{
	struct priv_hdr h;
	char *block;

	if (p == NULL)
		return;
	h = priv_header(p);
	block = (char *)p - h.offset;
	/* a double free must not pass silently: wipe the magic */
	memset((char *)p - PRIV_HDR, 0, sizeof(uint32_t));
	if (h.cls == PRIV_CLASSES) {
		struct priv_run *r = (struct priv_run *)block;
		prim_discard(block, (size_t)h.pages * HEAP_PAGE);
		priv_lock();
		run_put(r, h.pages);
		priv_bytes -= (size_t)h.pages * HEAP_PAGE;
		priv_unlock();
		return;
	}
	priv_lock();
	memcpy(block, &priv_free_list[h.cls], sizeof(void *));
	priv_free_list[h.cls] = block;
	priv_bytes -= (size_t)1 << (h.cls + PRIV_MIN_SHIFT);
	priv_unlock();
}

size_t heap_priv_bytes(void)
{
	return __atomic_load_n(&priv_bytes, __ATOMIC_RELAXED);
}
