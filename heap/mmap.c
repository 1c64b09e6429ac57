/* SPDX-License-Identifier: MIT */
/*
 * Anonymous mappings served from the region. CPython's object arenas,
 * custom allocators and big buffers come from mmap, not malloc: to be paged
 * they must live in the region. A served mapping is a page-aligned heap
 * block, zeroed by dropping its pages (so it costs nothing until touched),
 * and recorded here so that munmap and mremap, whole or partial, find it.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "heap.h"
#include "prim.h"

struct mapping {
	uintptr_t start;
	size_t len;  /* as mapped, page-rounded */
	size_t live; /* bytes not yet unmapped */
};

/* Sorted by start. Mappings are few and mmap is a system call's worth of
 * work anyway: a sorted array with binary search is enough. */
static struct mapping *maps;
static size_t nmaps, maps_cap;
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t maps_served;

static size_t page_round(size_t n)
{
	return (n + HEAP_PAGE - 1) & ~(HEAP_PAGE - 1);
}

/* Index of the mapping containing @a, or of the first after it. Locked. */
static size_t find(uintptr_t a)
{
	size_t lo = 0, hi = nmaps;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (maps[mid].start + maps[mid].len <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int insert(uintptr_t start, size_t len)
{
	size_t i;

	if (nmaps == maps_cap) {
		size_t cap = maps_cap ? maps_cap * 2 : 256;
		struct mapping *m = heap_priv_alloc(cap * sizeof(*m), 16);
		if (m == NULL)
			return -ENOMEM;
		if (nmaps)
			memcpy(m, maps, nmaps * sizeof(*m));
		heap_priv_free(maps);
		maps = m;
		maps_cap = cap;
	}
	i = find(start);
	memmove(&maps[i + 1], &maps[i], (nmaps - i) * sizeof(*maps));
	maps[i] = (struct mapping){start, len, len};
	nmaps++;
	return 0;
}

static void remove_at(size_t i)
{
	memmove(&maps[i], &maps[i + 1], (nmaps - i - 1) * sizeof(*maps));
	nmaps--;
}

bool heap_mmap_wanted(void *addr, size_t len, int prot, int flags, int fd)
{
	const int plain = MAP_PRIVATE | MAP_ANONYMOUS;
	const int allowed = plain | MAP_NORESERVE;

	return addr == NULL && fd == -1 && len >= HEAP_MMAP_MIN &&
	       prot == (PROT_READ | PROT_WRITE) && (flags & plain) == plain &&
	       (flags & ~allowed) == 0 && !heap_is_runtime_thread();
}

void *heap_mmap(size_t len)
{
	size_t n = page_round(len);
	void *p;

	if (n < len)
		return NULL;
	p = heap_memalign(HEAP_PAGE, n);
	if (p == NULL)
		return NULL;
	/* mmap gives zeros: dropping the pages gives them and leaves nothing
	 * resident until the program touches it */
	if (pager_discard(p, n)) {
		heap_free(p);
		return NULL;
	}
	pthread_mutex_lock(&maps_lock);
	if (insert((uintptr_t)p, n)) {
		pthread_mutex_unlock(&maps_lock);
		heap_free(p);
		return NULL;
	}
	maps_served++;
	pthread_mutex_unlock(&maps_lock);
	return p;
}

int heap_munmap(void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr, end;
	size_t i;

	if (a & (HEAP_PAGE - 1) || len == 0)
		return -EINVAL;
	len = page_round(len);
	end = a + len;
	/* Drop the pages first, while the blocks are still ours: once freed,
	 * mimalloc links a block through its first word, and may hand it out
	 * again at once. */
	pager_discard(addr, len);
	pthread_mutex_lock(&maps_lock);
	for (i = find(a); i < nmaps && maps[i].start < end;) {
		struct mapping *m = &maps[i];
		uintptr_t lo = a > m->start ? a : m->start;
		uintptr_t hi =
		    end < m->start + m->len ? end : m->start + m->len;
		void *block;
		size_t blen;

		/* partial unmaps never overlap: the program cannot unmap
		 * what it already unmapped without a bug of its own */
		m->live -= hi - lo < m->live ? hi - lo : m->live;
		if (m->live != 0) {
			i++;
			continue;
		}
		block = (void *)m->start;
		blen = m->len;
		remove_at(i);
		pthread_mutex_unlock(&maps_lock);
		/* the program may have mprotect'ed parts (guard pages):
		 * mimalloc must be able to write the block again */
		pager_protect(block, blen, PROT_READ | PROT_WRITE);
		heap_free(block);
		pthread_mutex_lock(&maps_lock);
		i = find(a);
	}
	pthread_mutex_unlock(&maps_lock);
	return 0;
}

void *heap_mremap(void *old, size_t old_len, size_t new_len, int flags)
{
	uintptr_t a = (uintptr_t)old;
	size_t i, keep;
	void *p;

	old_len = page_round(old_len);
	new_len = page_round(new_len);
	if (new_len == 0 || (a & (HEAP_PAGE - 1)) ||
	    (flags & ~MREMAP_MAYMOVE)) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	pthread_mutex_lock(&maps_lock);
	i = find(a);
	if (i == nmaps || maps[i].start != a || maps[i].live != maps[i].len ||
	    old_len != maps[i].len) {
		/* only whole mappings move: anything else is rare enough
		 * to refuse, as mremap may */
		pthread_mutex_unlock(&maps_lock);
		errno = EINVAL;
		return MAP_FAILED;
	}
	if (new_len <= old_len) {
		maps[i].len = maps[i].live = new_len;
		pthread_mutex_unlock(&maps_lock);
		if (new_len < old_len)
			pager_discard((char *)old + new_len, old_len - new_len);
		return old;
	}
	if (heap_usable(old) >= new_len) {
		maps[i].len = maps[i].live = new_len;
		pthread_mutex_unlock(&maps_lock);
		/* the grown part must read as zeros, as fresh mapping does */
		if (pager_discard((char *)old + old_len, new_len - old_len)) {
			errno = ENOMEM;
			return MAP_FAILED;
		}
		return old;
	}
	pthread_mutex_unlock(&maps_lock);
	if (!(flags & MREMAP_MAYMOVE)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	p = heap_mmap(new_len);
	if (p == NULL) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	keep = old_len < new_len ? old_len : new_len;
	memcpy(p, old, keep);
	heap_munmap(old, old_len);
	return p;
}

bool heap_mmap_owns(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	bool owns;
	size_t i;

	pthread_mutex_lock(&maps_lock);
	i = find(a);
	owns = i < nmaps && maps[i].start <= a;
	pthread_mutex_unlock(&maps_lock);
	return owns;
}

uint64_t heap_mmap_served(void)
{
	return __atomic_load_n(&maps_served, __ATOMIC_RELAXED);
}

void heap_mmap_prefork(void)
{
	pthread_mutex_lock(&maps_lock);
}

void heap_mmap_postfork(void)
{
	pthread_mutex_unlock(&maps_lock);
}
