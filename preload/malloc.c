/* SPDX-License-Identifier: MIT */
/*
 * The interposed malloc family. Each entry point checks sizes the way glibc
 * does, then hands the request to heap/ once the runtime is ready, to the
 * bootstrap area before that, or to libc if the runtime passed through.
 * None of them prints or aborts: failure is NULL with errno set.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "heap/heap.h"
#include "pre.h"

extern char **environ;

/* Set once a libc pointer has been handed out: only then can a pointer the
 * heap does not know be libc's. */
static bool libc_used;

static void *alloc_early(size_t n, size_t align)
{
	void *p;

	for (;;) {
		switch (__atomic_load_n(&pre_state, __ATOMIC_ACQUIRE)) {
		case PRE_READY:
			return align ? heap_memalign(align, n) : heap_malloc(n);
		case PRE_PASSTHROUGH:
			libc_used = true;
			return align ? pre_libc()->memalign(align, n)
				     : pre_libc()->malloc(n);
		case PRE_UNINIT:
			/* libc sets environ when it initialises; options are
			 * read from it, so wait for it (our constructor runs
			 * init at the latest) */
			if (environ != NULL) {
				pre_init();
				continue;
			}
			/* fall through */
		default:
			p = heap_boot_alloc(n, align);
			if (p == NULL)
				p = heap_priv_alloc(n, align);
			return p;
		}
	}
}

FM_EXPORT void *malloc(size_t n)
{
	if (FM_LIKELY(pre_state == PRE_READY))
		return heap_malloc(n);
	return alloc_early(n, 0);
}

static void free_other(void *p)
{
	if (heap_free(p))
		return;
	if (libc_used) {
		pre_libc()->free(p);
		return;
	}
	/* not ours and libc never served: from before start-up, or a bug in
	 * the program; leaking is the only safe answer */
	heap_count_foreign();
}

FM_EXPORT void free(void *p)
{
	if (FM_LIKELY(heap_in_region(p))) {
		heap_free_region(p);
		return;
	}
	if (p != NULL)
		free_other(p);
}

FM_EXPORT void *calloc(size_t a, size_t b)
{
	size_t n;
	void *p;

	if (__builtin_mul_overflow(a, b, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	if (FM_LIKELY(pre_state == PRE_READY))
		return heap_zalloc(n);
	if (pre_state == PRE_PASSTHROUGH) {
		libc_used = true;
		return pre_libc()->calloc(a, b);
	}
	p = alloc_early(n, 0);
	if (p && !heap_boot_owns(p)) /* the bootstrap area is never reused */
		memset(p, 0, n);
	return p;
}

/* Copies up to @n bytes from @src, as many as are readable: the size of a
 * block nobody owns is unknown, and reading past its mapping must not
 * crash. Returns the bytes copied. */
static size_t copy_readable(void *dst, const void *src, size_t n)
{
	struct iovec local = {dst, n}, remote = {(void *)src, n};
	ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);

	if (got >= 0)
		return (size_t)got;
	/* without the syscall: up to the end of src's page */
	size_t room = HEAP_PAGE - ((uintptr_t)src & (HEAP_PAGE - 1));
	memcpy(dst, src, room < n ? room : n);
	return room < n ? room : n;
}

FM_EXPORT void *realloc(void *p, size_t n)
{
	void *q;
	size_t old;

	if (p == NULL)
		return malloc(n);
	if (n == 0) { /* glibc frees and returns NULL */
		free(p);
		return NULL;
	}
	if (n > PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	if (FM_LIKELY(pre_state == PRE_READY && heap_owns(p)))
		return heap_realloc(p, n);
	if (!heap_owns(p) && libc_used)
		return pre_libc()->realloc(p, n);
	q = malloc(n);
	if (q == NULL)
		return NULL;
	if (heap_owns(p)) {
		old = heap_usable(p);
		memcpy(q, p, old < n ? old : n);
		heap_free(p);
	} else {
		copy_readable(q, p, n);
		heap_count_foreign();
	}
	return q;
}

FM_EXPORT void *reallocarray(void *p, size_t a, size_t b)
{
	size_t n;

	if (__builtin_mul_overflow(a, b, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n);
}

/* glibc's memalign rules: small alignments are plain malloc, a
 * non-power-of-two alignment is rounded up, an absurd one is EINVAL. */
static void *aligned(size_t align, size_t n)
{
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	if (n > PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	if (align & (align - 1)) {
		size_t a = 1;
		while (a < align)
			a <<= 1;
		align = a;
	}
	if (align < sizeof(void *))
		align = sizeof(void *);
	if (FM_LIKELY(pre_state == PRE_READY))
		return heap_memalign(align, n);
	return alloc_early(n, align);
}

FM_EXPORT void *memalign(size_t align, size_t n)
{
	return aligned(align, n);
}

FM_EXPORT void *aligned_alloc(size_t align, size_t n)
{
	return aligned(align, n);
}

FM_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;
	int saved = errno;

	if (align % sizeof(void *) || (align & (align - 1)) || align == 0)
		return EINVAL;
	p = aligned(align, n);
	if (p == NULL) {
		int rc = errno;
		errno = saved;
		return rc;
	}
	*out = p;
	return 0;
}

FM_EXPORT void *valloc(size_t n)
{
	return aligned(HEAP_PAGE, n);
}

FM_EXPORT void *pvalloc(size_t n)
{
	if (n > PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	return aligned(HEAP_PAGE, (n + HEAP_PAGE - 1) & ~(HEAP_PAGE - 1));
}

FM_EXPORT size_t malloc_usable_size(void *p)
{
	if (p == NULL)
		return 0;
	if (heap_owns(p))
		return heap_usable(p);
	if (libc_used)
		return pre_libc()->usable(p);
	return 0;
}

/* glibc's internal names, which some programs call to reach "the real
 * malloc": Debian's libmimalloc exports them too, so they must be ours. */
FM_EXPORT void *__libc_malloc(size_t n)
{
	return malloc(n);
}

FM_EXPORT void __libc_free(void *p)
{
	free(p);
}

FM_EXPORT void cfree(void *p)
{
	free(p);
}

FM_EXPORT void *__libc_calloc(size_t a, size_t b)
{
	return calloc(a, b);
}

FM_EXPORT void *__libc_realloc(void *p, size_t n)
{
	return realloc(p, n);
}

FM_EXPORT void *__libc_memalign(size_t a, size_t n)
{
	return aligned(a, n);
}

FM_EXPORT void *__libc_valloc(size_t n)
{
	return valloc(n);
}

FM_EXPORT void *__libc_pvalloc(size_t n)
{
	return pvalloc(n);
}

/* ---- the native interface (farmem.h) ---------------------------------- */

#include "farmem.h"

FM_EXPORT const char *fm_version(void)
{
	return PACKAGE_VERSION;
}

FM_EXPORT int fm_active(void)
{
	return pre_state == PRE_READY;
}

FM_EXPORT int fm_is_managed(const void *p)
{
	return heap_in_region(p);
}

FM_EXPORT int fm_stats_get(struct fm_stats *out, size_t size)
{
	struct fm_stats s;
	struct heap_stats h;

	if (pre_state != PRE_READY)
		return -1;
	heap_stats_get(&h);
	memset(&s, 0, sizeof(s));
	s.allocs = h.allocs;
	s.frees = h.frees;
	s.live_bytes = h.live;
	s.live_peak = h.live_peak;
	s.region_size = heap_region_size;
	s.region_high = h.region_high;
	s.discarded = h.discarded;
	s.foreign_frees = h.foreign_frees;
	s.private_bytes = h.private_bytes;
	s.threads = h.threads;
	memcpy(out, &s, size < sizeof(s) ? size : sizeof(s));
	return 0;
}
