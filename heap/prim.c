/* SPDX-License-Identifier: MIT */
/* The primitive layer: mmap and madvise, returning 0 or -errno. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#include "prim.h"

int prim_reserve(size_t size, size_t align, void **out)
{
	size_t len;
	uintptr_t start, aligned;
	void *p;

	if (size == 0 || (size & (PRIM_PAGE - 1)) || align < PRIM_PAGE ||
	    (align & (align - 1)))
		return -EINVAL;
	if (size > SIZE_MAX - align)
		return -ENOMEM;
	len = size + align - PRIM_PAGE;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	start = (uintptr_t)p;
	aligned = (start + align - 1) & ~(uintptr_t)(align - 1);
	if (aligned > start)
		munmap(p, aligned - start);
	if (aligned + size < start + len)
		munmap((void *)(aligned + size), start + len - aligned - size);
	*out = (void *)aligned;
	return 0;
}

int prim_release(void *addr, size_t size)
{
	return munmap(addr, size) ? -errno : 0;
}

int prim_discard(void *addr, size_t size)
{
	return madvise(addr, size, MADV_DONTNEED) ? -errno : 0;
}

int prim_nohuge(void *addr, size_t size)
{
	return madvise(addr, size, MADV_NOHUGEPAGE) ? -errno : 0;
}
