/* SPDX-License-Identifier: MIT */
/*
 * The primitive layer: every mmap/madvise call the heap makes goes through
 * these. Each returns 0 or a negative errno and never allocates.
 */
#ifndef FARMEM_HEAP_PRIM_H
#define FARMEM_HEAP_PRIM_H

#include <stddef.h>

#define PRIM_PAGE ((size_t)4096)

/*
 * prim_reserve - maps @size bytes of private anonymous read-write memory,
 * MAP_NORESERVE, starting at a multiple of @align (a power of two >= page).
 * No physical memory is used until touched. Stores the start in @out.
 */
int prim_reserve(size_t size, size_t align, void **out);

/* prim_release - unmaps [addr, addr+size). Page-aligned arguments. */
int prim_release(void *addr, size_t size);

/*
 * prim_discard - drops the contents of [addr, addr+size): the next touch
 * reads zeros and the pages no longer count as resident. Page-aligned.
 */
int prim_discard(void *addr, size_t size);

/* prim_nohuge - keeps transparent huge pages out of the range. */
int prim_nohuge(void *addr, size_t size);

#endif
