/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the pager's test programs: a deterministic PRNG, fast
 * word patterns keyed by (block id, version), residency and peak-RSS
 * reports. Built on tests/integration/fmcheck.h (self-checks counted,
 * reported on stderr, turned into the exit status).
 *
 * Every program takes its data size in MiB as first argument, so that the
 * driver can run a tiny version of it (without farmem) to measure the
 * program's own non-heap memory. stdout is identical with and without
 * farmem; VmHWM and diagnostics go to stderr.
 */
#ifndef FARMEM_TEST_PAGER_COMMON_H
#define FARMEM_TEST_PAGER_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include "fmcheck.h"

#define FMP_MIB	 ((size_t)1 << 20)
#define FMP_PAGE ((size_t)4096)

/* splitmix64: deterministic, seedable, one word of state. */
static inline uint64_t fmp_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* fmp_below - uniform-ish in [0, n). */
static inline size_t fmp_below(uint64_t *s, size_t n)
{
	return (size_t)(fmp_rand(s) % n);
}

/* The word at index @i of block @id at version @ver: never the same for
 * two ids, versions or offsets, and never zero (a page that came back as
 * zeros cannot pass). */
static inline uint64_t fmp_word(uint32_t id, uint32_t ver, size_t i)
{
	uint64_t z = ((uint64_t)id << 32 | ver) * 0x9e3779b97f4a7c15ull ^
		     (uint64_t)i * 0xbf58476d1ce4e5b9ull;

	z ^= z >> 29;
	return z | 1;
}

/* fmp_fill - block @id, version @ver: [p, p+n) filled with its pattern
 * (word by word; a tail shorter than a word takes the low bytes). */
static inline void fmp_fill(void *p, size_t n, uint32_t id, uint32_t ver)
{
	unsigned char *c = (unsigned char *)p;
	size_t w = n / 8, i;

	for (i = 0; i < w; i++) {
		uint64_t v = fmp_word(id, ver, i);
		memcpy(c + i * 8, &v, 8);
	}
	if (n % 8) {
		uint64_t v = fmp_word(id, ver, i);
		memcpy(c + i * 8, &v, n % 8);
	}
}

/* fmp_check - the offset of the first byte of [p, p+n) that is not block
 * @id's pattern at version @ver, or -1 if all are. */
static inline long fmp_check(const void *p, size_t n, uint32_t id, uint32_t ver)
{
	const unsigned char *c = (const unsigned char *)p;
	size_t w = n / 8, i;
	uint64_t v;

	for (i = 0; i < w; i++) {
		v = fmp_word(id, ver, i);
		if (memcmp(c + i * 8, &v, 8) != 0)
			return (long)(i * 8);
	}
	if (n % 8) {
		v = fmp_word(id, ver, i);
		if (memcmp(c + i * 8, &v, n % 8) != 0)
			return (long)(i * 8);
	}
	return -1;
}

/* fmp_sum - FNV-1a over 64-bit words (and the tail bytes): a content
 * checksum independent of addresses. */
static inline uint64_t fmp_sum(const void *p, size_t n)
{
	const unsigned char *c = (const unsigned char *)p;
	uint64_t h = 0xcbf29ce484222325ull, v;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&v, c + i, 8);
		h = (h ^ v) * 0x100000001b3ull;
	}
	for (; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ull;
	return h;
}

/* fmp_pages - how many pages [p, p+n) spans. */
static inline size_t fmp_pages(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)(FMP_PAGE - 1);
	uintptr_t e =
	    ((uintptr_t)p + n + FMP_PAGE - 1) & ~(uintptr_t)(FMP_PAGE - 1);

	return (e - a) / FMP_PAGE;
}

/* fmp_absent - how many pages of [p, p+n) are not resident (mincore):
 * evicted ones, under the pager. */
static inline size_t fmp_absent(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)(FMP_PAGE - 1);
	uintptr_t e =
	    ((uintptr_t)p + n + FMP_PAGE - 1) & ~(uintptr_t)(FMP_PAGE - 1);
	unsigned char vec[256];
	size_t absent = 0;

	while (a < e) {
		size_t np = (e - a) / FMP_PAGE;
		if (np > sizeof(vec))
			np = sizeof(vec);
		if (mincore((void *)a, np * FMP_PAGE, vec) != 0)
			return 0;
		for (size_t i = 0; i < np; i++)
			absent += !(vec[i] & 1);
		a += np * FMP_PAGE;
	}
	return absent;
}

/* fmp_churn - allocates and writes @mib MiB in 1 MiB blocks, then frees
 * them: under a smaller budget, this pushes older data out. */
static inline void fmp_churn(size_t mib)
{
	char **v = (char **)calloc(mib ? mib : 1, sizeof(*v));

	if (v == NULL) {
		fmc_fail("churn: out of memory");
		return;
	}
	for (size_t i = 0; i < mib; i++) {
		v[i] = (char *)malloc(FMP_MIB);
		if (v[i] == NULL) {
			fmc_fail("churn: out of memory");
			break;
		}
		memset(v[i], (int)(i | 1), FMP_MIB);
	}
	for (size_t i = 0; i < mib; i++)
		free(v[i]);
	free(v);
}

/* fmp_evict_expected - the driver says the data far exceeds the budget
 * (FMP_EXPECT_EVICT=1, only in runs under the preload). */
static inline int fmp_evict_expected(void)
{
	const char *e = getenv("FMP_EXPECT_EVICT");

	return fmc_managed_on && e && strcmp(e, "1") == 0;
}

/* fmp_expect_absent - when expected, @absent of @pages pages (counted with
 * fmp_absent) must be at least @min_pct %. */
static inline void fmp_expect_absent(size_t absent, size_t pages,
				     unsigned min_pct, const char *what)
{
	if (!fmp_evict_expected())
		return;
	fprintf(stderr, "fmp: %s: %zu of %zu pages evicted\n", what, absent,
		pages);
	FMC_CHECK(absent * 100 >= pages * min_pct,
		  "%s: only %zu of %zu pages are evicted, want >= %u%%", what,
		  absent, pages, min_pct);
}

/* fmp_expect_evicted - when expected, at least @min_pct % of the pages of
 * [p, p+n) must be out: the test exercises what it means to. */
static inline void fmp_expect_evicted(const void *p, size_t n, unsigned min_pct,
				      const char *what)
{
	if (fmp_evict_expected())
		fmp_expect_absent(fmp_absent(p, n), fmp_pages(p, n), min_pct,
				  what);
}

/* fmp_report_hwm - prints "fmp: VmHWM <n> kB" on stderr, for the driver's
 * peak-RSS check. */
static inline void fmp_report_hwm(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			fprintf(stderr, "fmp: VmHWM %ld kB\n",
				strtol(line + 6, NULL, 10));
	fclose(f);
}

/*
 * fmp_fork_detached - forks a process meant to outlive its parent: the
 * child leaves the process group (setsid, so that the driver's clean-up of
 * the run's group does not take it for a leftover), writes its pid to
 * @file.pid (for the driver), and only then lets the parent go on.
 * Returns 0 in the child, the child's pid in the parent, -1 on error.
 */
static inline pid_t fmp_fork_detached(const char *file)
{
	char path[4096], c = 0;
	int fds[2];
	pid_t pid;
	FILE *f;

	if (pipe(fds))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			fmc_fail("the detached child died before it was ready");
		close(fds[0]);
		return pid;
	}
	close(fds[0]);
	setsid();
	snprintf(path, sizeof(path), "%s.pid", file);
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	if (write(fds[1], &c, 1) != 1)
		fmc_fail("cannot tell the parent");
	close(fds[1]);
	return 0;
}

/* fmp_block - @n bytes from malloc, page-aligned (so that pages of the
 * block are pages of memory) and checked to be on the managed heap as
 * @what; exits 1 if out of memory. Never freed. */
static inline unsigned char *fmp_block(size_t n, const char *what)
{
	unsigned char *p = (unsigned char *)malloc(n + FMP_PAGE);

	if (p == NULL) {
		fmc_fail("%s: out of memory", what);
		exit(1);
	}
	p = (unsigned char *)(((uintptr_t)p + FMP_PAGE - 1) &
			      ~(uintptr_t)(FMP_PAGE - 1));
	fmc_managed(p, what);
	return p;
}

/* fmp_mib_arg - argv[i] as a count of MiB (>= 1), or @def. */
static inline size_t fmp_mib_arg(int argc, char **argv, int i, size_t def)
{
	long v;

	if (argc <= i)
		return def;
	v = strtol(argv[i], NULL, 10);
	if (v < 1) {
		fprintf(stderr, "usage: %s MIB ...\n", argv[0]);
		exit(2);
	}
	return (size_t)v;
}

#endif
