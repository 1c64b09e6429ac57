/* SPDX-License-Identifier: MIT */
/*
 * Self-checks shared by the integration test programs (C and C++). The
 * programs are not linked with libfarmem: they look its symbols up with
 * dlsym(RTLD_DEFAULT), so they also run without it (the reference run).
 * Under the preload, lib.sh sets FM_TEST_EXPECT_MANAGED=1 and the program
 * then insists that the runtime is active and that its memory is managed.
 *
 * Failures are reported on stderr and counted; fmc_exit_status() turns the
 * count into the exit status. stdout stays identical with and without
 * farmem.
 */
#ifndef FARMEM_TEST_FMCHECK_H
#define FARMEM_TEST_FMCHECK_H

#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "farmem.h"

static int (*fmc_is_managed_fn)(const void *);
static int (*fmc_active_fn)(void);
static int (*fmc_stats_fn)(struct fm_stats *, size_t);
static int fmc_failures;
static int fmc_managed_on; /* the runtime serves this process */

static void fmc_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void fmc_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	__atomic_fetch_add(&fmc_failures, 1, __ATOMIC_RELAXED);
}

#define FMC_CHECK(cond, ...)                                                   \
	do {                                                                   \
		if (!(cond))                                                   \
			fmc_fail(__VA_ARGS__);                                 \
	} while (0)

/* fmc_init - looks the runtime up; under the preload (as lib.sh says) it
 * must be there and active. */
static inline void fmc_init(void)
{
	const char *expect = getenv("FM_TEST_EXPECT_MANAGED");

	*(void **)&fmc_is_managed_fn = dlsym(RTLD_DEFAULT, "fm_is_managed");
	*(void **)&fmc_active_fn = dlsym(RTLD_DEFAULT, "fm_active");
	*(void **)&fmc_stats_fn = dlsym(RTLD_DEFAULT, "fm_stats_get");
	fmc_managed_on = fmc_is_managed_fn && fmc_active_fn && fmc_active_fn();
	if (expect && strcmp(expect, "1") == 0 && !fmc_managed_on)
		fmc_fail("expected to run on the managed heap: fm_active %s",
			 fmc_active_fn ? "returned 0" : "not found");
}

/* fmc_managed - @p must come from the managed heap, when it is on. */
static inline void fmc_managed(const void *p, const char *what)
{
	/* (volatile: gcc takes a const void * argument for a read of the
	 * block, which may be uninitialised, and warns) */
	const void *volatile addr = p;

	if (fmc_managed_on && addr != NULL && !fmc_is_managed_fn(addr))
		fmc_fail("%s: %p is not in the managed heap", what, addr);
}

/* fmc_stats - the runtime's statistics; 0 if there are some. */
static inline int fmc_stats(struct fm_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (!fmc_managed_on || fmc_stats_fn == NULL)
		return -1;
	return fmc_stats_fn(s, sizeof(*s));
}

static inline int fmc_exit_status(void)
{
	int n = __atomic_load_n(&fmc_failures, __ATOMIC_RELAXED);

	if (n)
		fprintf(stderr, "%d self-check(s) failed\n", n);
	return n ? 1 : 0;
}

/* A pattern that depends on the block's identity, not its address (the
 * address differs with and without farmem). */
static inline unsigned char fmc_pat(uint32_t id, size_t i)
{
	return (unsigned char)((id * 2654435761u) >> 24 ^ (uint32_t)i * 31u);
}

static inline void fmc_fill(void *p, size_t n, uint32_t id)
{
	unsigned char *c = (unsigned char *)p;

	for (size_t i = 0; i < n; i++)
		c[i] = fmc_pat(id, i);
}

/* fmc_verify - 1 if [p, p+n) still holds block @id's pattern. */
static inline int fmc_verify(const void *p, size_t n, uint32_t id)
{
	const unsigned char *c = (const unsigned char *)p;

	for (size_t i = 0; i < n; i++)
		if (c[i] != fmc_pat(id, i))
			return 0;
	return 1;
}

#endif
