/* SPDX-License-Identifier: MIT */
/*
 * farmem.h - the native interface of the farmem far-memory runtime.
 *
 * Programs run under farmem-run need none of this. Programs that want to
 * ask the runtime what it is doing link with -lfarmem (pkg-config farmem),
 * or look the symbols up with dlsym(RTLD_DEFAULT, ...) so that they also
 * run without it.
 */
#ifndef FARMEM_H
#define FARMEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FARMEM_VERSION "0.1.0"

/* Statistics of the running process. Fields may be added at the end. */
struct fm_stats {
	uint64_t allocs;      /* allocations served from the managed heap */
	uint64_t frees;	      /* managed blocks freed */
	uint64_t live_bytes;  /* bytes live now (FARMEM_STATS=1 only) */
	uint64_t live_peak;   /* bytes live at peak (FARMEM_STATS=1 only) */
	uint64_t region_size; /* address space reserved for the heap */
	uint64_t region_high; /* high-water mark of its use (FARMEM_STATS=1) */
	uint64_t discarded;   /* bytes dropped when large blocks were freed */
	uint64_t foreign_frees; /* frees of pointers farmem did not allocate */
	uint64_t private_bytes; /* the runtime's own allocations */
	uint64_t threads;	/* threads that have allocated */
};

/* fm_version - the runtime's version string. */
const char *fm_version(void);

/*
 * fm_active - 1 if the managed heap serves this process's allocations,
 * 0 if the runtime passed through to libc (it could not start, or
 * FARMEM_CHILDREN=plain).
 */
int fm_active(void);

/* fm_is_managed - 1 if @p lies in the managed heap region, else 0. */
int fm_is_managed(const void *p);

/*
 * fm_stats_get - fills up to @size bytes of @out (pass sizeof(*out)).
 * Returns 0, or -1 if the runtime is not active.
 */
int fm_stats_get(struct fm_stats *out, size_t size);

#ifdef __cplusplus
}
#endif

#endif
