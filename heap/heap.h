/* SPDX-License-Identifier: MIT */
/* heap/ private interface: the managed region, its allocator, the runtime's
 * own allocator, the bootstrap area and heap statistics. */
#ifndef FARMEM_HEAP_H
#define FARMEM_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "preload/pre.h"

#define HEAP_PAGE ((size_t)4096)
/* mimalloc 2.0.9 segments and arena blocks are 32 MiB: an exclusive arena
 * must start and end on that boundary. */
#define HEAP_REGION_ALIGN ((size_t)32 << 20)
/*
 * Blocks of at least HEAP_LARGE bytes are page aligned, so that every page
 * they cover belongs to them alone: freeing one frees whole pages, and the
 * pager evicts and discards page-granular data without false sharing.
 * mimalloc serves these from large pages where alignment costs little.
 */
#define HEAP_LARGE ((size_t)64 << 10)
/* Freeing a block this large drops its far copies (all but the first page,
 * which holds mimalloc's free-list link) before mimalloc may reuse it. */
#define HEAP_DISCARD_MIN ((size_t)256 << 10)

/* ---- the managed region (region.c) ------------------------------------- */

/* [heap_region_base, +heap_region_size): size is 0 until the region is set
 * up, so heap_in_region() is false for everything before that. */
extern uintptr_t heap_region_base;
extern size_t heap_region_size;

static inline bool heap_in_region(const void *p)
{
	return (uintptr_t)p - heap_region_base < heap_region_size;
}

/*
 * heap_region_init - reserves @size bytes (rounded up to 32 MiB) of address
 * space, 32 MiB aligned, huge pages off, and gives it to mimalloc as one
 * exclusive arena. Returns 0 or a negative errno; on error nothing is left
 * mapped.
 */
int heap_region_init(size_t size);
/* heap_region_arena - the mimalloc arena id of the region. */
int heap_region_arena(void);

/* ---- the bootstrap area (bootstrap.c) ---------------------------------- */

/*
 * heap_boot_alloc - bump-allocates @n bytes aligned to @align (power of
 * two, <= 4096) from a static area, for allocations made before start-up
 * (dlsym's calloc). Thread-safe. Returns NULL when the area is full.
 * Blocks are never reused; freeing one is a no-op.
 */
void *heap_boot_alloc(size_t n, size_t align);
bool heap_boot_owns(const void *p);
/* heap_boot_usable - the size @p was allocated with. */
size_t heap_boot_usable(const void *p);
/* heap_boot_used - bytes handed out so far. */
size_t heap_boot_used(void);

/* ---- the runtime's private allocator (private.c) ----------------------- */

/*
 * heap_priv_alloc - allocates @n bytes aligned to @align from the private
 * allocator: outside the region, not mimalloc, not glibc, fork-safe.
 * Returns NULL with errno = ENOMEM on failure.
 */
void *heap_priv_alloc(size_t n, size_t align);
/* heap_priv_free - frees a block of heap_priv_alloc(); NULL is a no-op. */
void heap_priv_free(void *p);
/* heap_priv_owns - is @p inside the private allocator's reserve? */
bool heap_priv_owns(const void *p);
size_t heap_priv_usable(const void *p);
/* heap_priv_bytes - bytes currently allocated (for statistics). */
size_t heap_priv_bytes(void);
/* fork handlers: hold the allocator's lock across fork */
void heap_priv_prefork(void);
void heap_priv_postfork(void);

/* ---- allocation (alloc.c) ---------------------------------------------- */

/*
 * heap_attach - prepares the calling thread: a mimalloc heap in the
 * region's arena, statistics. Returns 0 or -ENOMEM.
 */
int heap_attach(void);
/* heap_init_threads - thread-exit and fork hooks; call once, after the
 * region is set up, from the initialising thread. Returns 0 or -errno. */
int heap_init_threads(void);

/*
 * The malloc family, for the ready state. Sizes are checked by the caller
 * (no overflow, no zero for memalign). Each returns NULL with errno=ENOMEM
 * on failure and never prints.
 */
void *heap_malloc(size_t n);
void *heap_zalloc(size_t n);
void *heap_memalign(size_t align, size_t n);
/* heap_realloc - @p is ours (heap_owns) and @n > 0. */
void *heap_realloc(void *p, size_t n);
/*
 * heap_free - frees @p if it is ours (region, private or bootstrap).
 * Returns false, doing nothing, for a pointer the heap did not allocate.
 */
bool heap_free(void *p);
/* heap_free_region - free()'s fast path: @p is in the region. */
void heap_free_region(void *p);
/* heap_owns - did the heap allocate @p (any of its three sources)? */
static inline bool heap_owns(const void *p)
{
	return heap_in_region(p) || heap_priv_owns(p) || heap_boot_owns(p);
}
/* heap_usable - usable size of a pointer heap_owns(); else 0. */
size_t heap_usable(const void *p);

/*
 * heap_runtime_enter / heap_runtime_leave - mark the calling thread as a
 * runtime thread: its allocations (and those of threads it creates) go to
 * the private allocator, never into the region. Nestable.
 */
void heap_runtime_enter(void);
void heap_runtime_leave(void);
/* heap_runtime_thread_begin - the calling thread is a runtime thread for
 * good: routed as above, and a fault it takes in the region is a bug. */
void heap_runtime_thread_begin(void);
bool heap_is_runtime_thread(void);
/* heap_runtime_tid - was thread @tid ever a runtime thread? */
bool heap_runtime_tid(int tid);

/* ---- the pager (pager.c) ----------------------------------------------- */

#define PAGER_LAT_BUCKETS 1001 /* fetch latency by microsecond; last: more */

struct pager_stats {
	uint64_t faults_zero;	  /* first touches (one per batch) */
	uint64_t faults_remote;	  /* pages fetched on demand */
	uint64_t faults_staged;	  /* pages taken back while being written */
	uint64_t faults_spurious; /* already resolved when read */
	uint64_t evicted;	  /* pages written out */
	uint64_t dropped_clean;	  /* pages evicted unchanged: no write */
	uint64_t same;		  /* pages evicted as one word: no write */
	uint64_t faults_same;	  /* faults on those (one per batch) */
	uint64_t fetched;	  /* pages read back */
	uint64_t prefetched;	  /* of those, read ahead of a fault */
	uint64_t discarded;	  /* pages dropped by free/madvise */
	uint64_t move_busy;	  /* evictions that met a shared page */
	uint64_t move_unreported; /* pages moved by a failed UFFDIO_MOVE */
	uint64_t copied_out;	  /* read-only pages evicted by a copy */
	uint64_t runtime_faults;  /* faults by runtime threads (bugs) */
	uint64_t resident_peak;	  /* pages */
	uint64_t resident;	  /* pages, now */
	uint64_t budget;	  /* pages */
	uint64_t chunks;	  /* far chunks allocated, over the run */
	uint64_t chunk_indexes;	  /* most far chunks held at once */
	uint32_t lat_hist[PAGER_LAT_BUCKETS];
};

/*
 * pager_init - registers the region with a userfaultfd, opens the backend
 * and starts the pager thread, which keeps at most @budget bytes of the
 * region resident. @backend_spec names memory servers (fabric/ofi.c:
 * "host:port[,...]"); NULL or empty keeps pages in an in-process store.
 * Call once, after heap_region_init and before the region is used.
 * Returns 0 or a negative errno: when the backend failed (it has logged
 * why) with *@backend_failed set; else -EPERM (no privilege for
 * userfaultfd), -EINVAL (a needed userfaultfd feature is missing) or
 * another.
 */
enum pager_victim { PAGER_VICTIM_CLOCK = 0, PAGER_VICTIM_RANDOM = 1 };
int pager_init(size_t budget, const char *backend_spec, int victim,
	       bool *backend_failed);
bool pager_active(void);
/*
 * pager_protect - mprotect() of [addr, addr+len) in the region: the pager
 * keeps track of read-only pages, which it must evict another way.
 * Works with the pager off too. Returns 0 or a negative errno.
 */
int pager_protect(void *addr, size_t len, int prot);
/*
 * pager_discard - drops the region pages of [addr, addr+len) (page
 * aligned), here and remotely: they read as zeros afterwards. Works with
 * the pager off too. Returns 0 or a negative errno.
 */
int pager_discard(void *addr, size_t len);
/*
 * pager_forget - [addr, addr+len) holds dead data (a freed block): its far
 * copies are dropped (the pages read as zeros if touched again) and its
 * resident pages kept for reuse. Returns the pages dropped.
 */
size_t pager_forget(void *addr, size_t len);
/* fork: everything is brought home and the pager paused across fork; the
 * child runs without a pager (it has every page). */
void pager_fork_prepare(void);
void pager_fork_parent(void);
void pager_fork_child(void);
void pager_stats_get(struct pager_stats *s);

/* ---- anonymous mappings in the region (mmap.c) ------------------------- */

/* Anonymous mappings at least this large are served from the region while
 * the pager runs (CPython's arenas are 256 KiB to 1 MiB). */
#define HEAP_MMAP_MIN ((size_t)64 << 10)

/* heap_mmap_wanted - is this mmap() call one the region should serve:
 * private, anonymous, read-write, no address hint, no special flags, from
 * a program thread. */
bool heap_mmap_wanted(void *addr, size_t len, int prot, int flags, int fd);
/* heap_mmap - a zeroed, page-aligned mapping of @len bytes in the region,
 * or NULL (the caller then maps it the ordinary way). */
void *heap_mmap(size_t len);
/* heap_munmap - unmaps region pages; a served mapping is freed once all
 * of it is unmapped. Returns 0 or a negative errno. */
int heap_munmap(void *addr, size_t len);
/* heap_mremap - resizes a whole served mapping (MREMAP_MAYMOVE allowed,
 * MREMAP_FIXED not). Returns the new address or MAP_FAILED with errno. */
void *heap_mremap(void *old, size_t old_len, size_t new_len, int flags);
bool heap_mmap_owns(const void *addr);
uint64_t heap_mmap_served(void);
void heap_mmap_prefork(void);
void heap_mmap_postfork(void);

/* ---- statistics (alloc.c) ---------------------------------------------- */

struct heap_stats {
	uint64_t allocs;      /* allocations served from the region */
	uint64_t frees;	      /* region blocks freed */
	uint64_t live_peak;   /* bytes live at peak (if tracked) */
	uint64_t live;	      /* bytes live now (if tracked) */
	uint64_t region_high; /* high-water mark of region use (if tracked) */
	uint64_t discarded;   /* far bytes dropped by frees of large blocks */
	uint64_t
	    foreign_frees; /* frees of pointers the heap did not allocate */
	uint64_t private_bytes; /* runtime's own allocations now */
	uint64_t boot_bytes;	/* bootstrap area used */
	uint64_t threads;	/* threads that allocated */
};

/* heap_stats_track - also track bytes (live, peak, region high-water). */
void heap_stats_track(bool on);
/* heap_stats_get - a snapshot (counts of running threads included). */
void heap_stats_get(struct heap_stats *s);
/* heap_count_foreign - counts a free of a pointer nobody owns. */
void heap_count_foreign(void);

#endif
