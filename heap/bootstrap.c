/* SPDX-License-Identifier: MIT */
/* The bootstrap area: allocations made before the heap exists. */
#include "config.h"

#include <string.h>

#include "heap.h"

/* dlsym's calloc and ld.so's early allocations need a few KiB; the rest
 * of this .bss is never touched and costs no memory. */
#define BOOT_SIZE ((size_t)256 << 10)
#define BOOT_HDR  16

static char boot_area[BOOT_SIZE] __attribute__((aligned(4096)));
static size_t boot_top;

void *heap_boot_alloc(size_t n, size_t align)
{
	size_t top, start, end;

	if (align < BOOT_HDR)
		align = BOOT_HDR;
	if (align > HEAP_PAGE || (align & (align - 1)) || n > BOOT_SIZE)
		return NULL;
	top = __atomic_load_n(&boot_top, __ATOMIC_RELAXED);
	do {
		start = (top + BOOT_HDR + align - 1) & ~(align - 1);
		end = (start + n + BOOT_HDR - 1) & ~(size_t)(BOOT_HDR - 1);
		if (end > BOOT_SIZE)
			return NULL;
	} while (!__atomic_compare_exchange_n(
	    &boot_top, &top, end, true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
	/* the size lives just before the block, for realloc */
	memcpy(boot_area + start - sizeof(size_t), &n, sizeof(n));
	return boot_area + start;
}

bool heap_boot_owns(const void *p)
{
	return (uintptr_t)p - (uintptr_t)boot_area < BOOT_SIZE;
}

size_t heap_boot_usable(const void *p)
{
	size_t n;

	memcpy(&n, (const char *)p - sizeof(size_t), sizeof(n));
	return n;
}

size_t heap_boot_used(void)
{
	return __atomic_load_n(&boot_top, __ATOMIC_RELAXED);
}
