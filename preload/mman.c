/* SPDX-License-Identifier: MIT */
/*
 * Memory calls the program (or mimalloc) makes on the region: a page
 * dropped behind the pager's back would read as zeros, or leave its remote
 * copy to be fetched back over newer data.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "heap/heap.h"
#include "heap/prim.h"
#include "pre.h"

/* The region's part [*lo, *hi) of [addr, addr+len): false if none (or
 * the range wraps). */
static bool region_part(void *addr, size_t len, uintptr_t *lo, uintptr_t *hi)
{
	uintptr_t a = (uintptr_t)addr, end = a + len;
	uintptr_t rb = heap_region_base, re = rb + heap_region_size;

	if (heap_region_size == 0 || end <= rb || a >= re || len == 0 ||
	    end < a)
		return false;
	*lo = a > rb ? a : rb;
	*hi = end < re ? end : re;
	return true;
}

/* Splits [addr, addr+len) into the part before the region, the region's
 * part and the part after it, and applies @advice to each. */
FM_EXPORT int madvise(void *addr, size_t len, int advice)
{
	uintptr_t a = (uintptr_t)addr, end = a + len, lo, hi;
	int rc = 0;

	if (!region_part(addr, len, &lo, &hi)) {
		rc = prim_madvise(addr, len, advice);
		goto out;
	}
	if (a < lo)
		rc = prim_madvise(addr, lo - a, advice);
	if (rc == 0 && hi < end)
		rc = prim_madvise((void *)hi, end - hi, advice);
	if (rc)
		goto out;
	switch (advice) {
	case MADV_DONTNEED:
	case MADV_FREE:
	case MADV_REMOVE:
		/* MADV_FREE may keep the data or drop it: dropping it now is
		 * one of its allowed outcomes, and the only one the pager can
		 * track */
		rc = pager_discard((void *)lo, hi - lo);
		break;
	case MADV_HUGEPAGE:
		/* the region stays on small pages: the pager's unit */
		rc = 0;
		break;
	default:
		rc = prim_madvise((void *)lo, hi - lo, advice);
		break;
	}
out:
	if (rc) {
		errno = -rc;
		return -1;
	}
	return 0;
}

/* The region's part goes through the pager, which must know the pages
 * the program makes read-only (pager_protect); the rest is the kernel's. */
FM_EXPORT int mprotect(void *addr, size_t len, int prot)
{
	uintptr_t a = (uintptr_t)addr, end = a + len, lo, hi;
	int rc;

	if ((a & (HEAP_PAGE - 1)) || !region_part(addr, len, &lo, &hi))
		return (int)syscall(SYS_mprotect, addr, len, prot);
	if (a < lo && syscall(SYS_mprotect, addr, lo - a, prot))
		return -1;
	if (hi < end && syscall(SYS_mprotect, (void *)hi, end - hi, prot))
		return -1;
	rc = pager_protect((void *)lo, hi - lo, prot);
	if (rc) {
		errno = -rc;
		return -1;
	}
	return 0;
}

FM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd,
		     off_t off)
{
	if (pre_state == PRE_READY && pager_active() &&
	    heap_mmap_wanted(addr, len, prot, flags, fd)) {
		void *p = heap_mmap(len);
		if (p)
			return p;
	}
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

FM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd,
		       off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

FM_EXPORT int munmap(void *addr, size_t len)
{
	int rc;

	if (!heap_in_region(addr))
		return (int)syscall(SYS_munmap, addr, len);
	rc = heap_munmap(addr, len);
	if (rc) {
		errno = -rc;
		return -1;
	}
	return 0;
}

FM_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags,
		       ...)
{
	void *new_addr = NULL;
	va_list ap;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	if (!heap_in_region(old))
		return (void *)syscall(SYS_mremap, old, old_len, new_len, flags,
				       new_addr);
	return heap_mremap(old, old_len, new_len, flags);
}
