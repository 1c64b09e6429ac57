/* SPDX-License-Identifier: MIT */
/*
 * mapping MIB MODE - anonymous mappings, which the runtime serves from the
 * region (paged) once a budget is set, must keep the kernel's semantics.
 *
 *   remap     mmap MIB MiB, fill, let it be evicted; mremap(MAYMOVE) to
 *             1.5x, 2x, 3x, then down to a half, then unmap a hole in the
 *             middle and the rest: contents kept, and every grown part
 *             reads as zeros, as the kernel's would.
 *   churn     many mappings of 64 KiB to 2 MiB among malloc/free of dirty
 *             blocks: every new mapping, and every part a mremap adds,
 *             reads as zeros (no stale heap data shows through).
 *   guard     mmap 1 MiB, mprotect its first page PROT_NONE (a stack guard,
 *             as coroutine libraries make), use the rest, munmap, then
 *             allocate and write much more: the memory handed back must
 *             be usable again.
 *   readonly  mmap 1 MiB, fill, mprotect(PROT_READ), let it be evicted,
 *             read it back, munmap, then allocate and write much more.
 *   pinned    mmap 1 MiB, fill, mprotect(PROT_READ) and keep it; then MIB
 *             MiB of blocks written and read twice: the read-only pages
 *             are evicted too (UFFDIO_MOVE cannot take them: the pager
 *             copies them out), and come back right, through write(2)
 *             first; then made writable, rewritten and checked again.
 */
#include "config.h"

#include <errno.h>

#include "pager_common.h"

static size_t first_nonzero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return i;
	return n;
}

static unsigned char *map(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		fmc_fail("mmap(%zu): %s", n, strerror(errno));
		exit(1);
	}
	return p;
}

/* Allocates, writes and frees @mib MiB in blocks of mixed sizes. */
static void heap_work(size_t mib, uint64_t *rng)
{
	size_t done = 0;

	while (done < mib * FMP_MIB) {
		size_t n = 1 + fmp_below(rng, 300 << 10);
		unsigned char *p = malloc(n);
		if (p == NULL) {
			fmc_fail("malloc(%zu) failed", n);
			return;
		}
		memset(p, 0xa5, n);
		free(p);
		done += n;
	}
}

static int mode_remap(size_t mib)
{
	size_t n = mib * FMP_MIB;
	static const unsigned num[] = {3, 2, 3, 1}, den[] = {2, 1, 1, 2};
	size_t seg_end[8], nseg = 0, bad = 0;
	unsigned char *p = map(n);

	fmc_managed(p, "mapping");
	FMC_CHECK(first_nonzero(p, n) == n, "a new mapping is not zero");
	fmp_fill(p, n, 0, 0);
	seg_end[nseg++] = n;
	for (int step = 0; step < 4; step++) {
		size_t m = mib * FMP_MIB * num[step] / den[step];
		unsigned char *q;

		fmp_churn(mib / 2);
		fmp_expect_evicted(p, n, 30, "the mapping before mremap");
		q = mremap(p, n, m, MREMAP_MAYMOVE);
		if (q == MAP_FAILED) {
			fmc_fail("mremap(%zu -> %zu): %s", n, m,
				 strerror(errno));
			return 1;
		}
		p = q;
		if (m > n) {
			size_t z = first_nonzero(p + n, m - n);
			FMC_CHECK(z == m - n,
				  "mremap to %zu: the grown part "
				  "is not zero at %zu",
				  m, n + z);
			fmp_fill(p + n, m - n, (uint32_t)nseg, 0);
			seg_end[nseg++] = m;
		}
		n = m;
		for (size_t s = 0, from = 0; s < nseg && from < n; s++) {
			size_t to = seg_end[s] < n ? seg_end[s] : n;
			long off =
			    fmp_check(p + from, to - from, (uint32_t)s, 0);
			if (off >= 0 && bad++ < 5)
				fmc_fail("mremap to %zu: segment %zu differs "
					 "at %ld",
					 m, s, off);
			from = to;
		}
		printf("mremap to %zu: checksum %016llx\n", m,
		       (unsigned long long)fmp_sum(p, n));
	}
	/* a hole in the middle, then both sides */
	if (n >= 4 * FMP_PAGE) {
		size_t h = n / 4 & ~(FMP_PAGE - 1);
		FMC_CHECK(munmap(p + h, h) == 0, "munmap of a hole: %s",
			  strerror(errno));
		FMC_CHECK(fmp_check(p, h, 0, 0) < 0, "data before the hole");
		FMC_CHECK(munmap(p, h) == 0, "munmap: %s", strerror(errno));
		FMC_CHECK(munmap(p + 2 * h, n - 2 * h) == 0, "munmap: %s",
			  strerror(errno));
	}
	heap_work(mib, &(uint64_t){5});
	printf("remap: %zu segments differ\n", bad);
	return 0;
}

static int mode_churn(size_t mib)
{
	uint64_t rng = 11;
	size_t maps = 0, bad = 0, rounds = mib * 4;

	for (size_t r = 0; r < rounds; r++) {
		size_t n = (64 << 10) + fmp_below(&rng, (size_t)2 << 20);
		size_t m = n + 1 + fmp_below(&rng, 256 << 10);
		unsigned char *p, *q;
		size_t z;

		heap_work(1, &rng);
		p = map(n);
		maps++;
		z = first_nonzero(p, n);
		if (z != n && bad++ < 5)
			fmc_fail("mmap(%zu): not zero at %zu (0x%02x)", n, z,
				 p[z]);
		memset(p, 0x5a, n);
		q = mremap(p, n, m, MREMAP_MAYMOVE);
		if (q == MAP_FAILED) {
			fmc_fail("mremap: %s", strerror(errno));
			return 1;
		}
		z = first_nonzero(q + n, m - n);
		if (z != m - n && bad++ < 5)
			fmc_fail("mremap(%zu -> %zu, %s): the grown part is "
				 "not zero at %zu (0x%02x)",
				 n, m, q == p ? "in place" : "moved", n + z,
				 q[n + z]);
		if (r % 2)
			munmap(q, m);
		/* else leaked on purpose: mappings outlive others */
	}
	printf("churn: %zu mappings, %zu not zero where they must be\n", maps,
	       bad);
	return 0;
}

static int mode_protect(size_t mib, int prot, size_t off, size_t len)
{
	size_t n = FMP_MIB;
	uint64_t rng = 3;
	unsigned char *p = map(n);

	fmp_fill(p, n, 9, 0);
	if (mprotect(p + off, len, prot)) {
		fmc_fail("mprotect: %s", strerror(errno));
		return 1;
	}
	fmp_churn(mib);
	if (prot == PROT_READ) {
		FMC_CHECK(fmp_check(p, n, 9, 0) < 0, "read-only data lost");
	} else {
		/* the part after the guard */
		unsigned char *u = p + off + len;
		size_t un = n - off - len;
		fmp_fill(u, un, 10, 0);
		fmp_churn(mib);
		FMC_CHECK(fmp_check(u, un, 10, 0) < 0, "data beside the guard "
						       "lost");
	}
	if (munmap(p, n)) {
		fmc_fail("munmap: %s", strerror(errno));
		return 1;
	}
	printf("mapping protected, used, unmapped\n");
	/* the memory is free for anyone again: write all we get */
	heap_work(mib * 2, &rng);
	for (int i = 0; i < 64; i++) {
		size_t k = (64 << 10) << (i % 5);
		unsigned char *q = map(k);
		memset(q, 0x77, k);
		munmap(q, k);
	}
	printf("memory reused\n");
	return 0;
}

/* Writes @n bytes at @p to a temporary file and reads them back into a
 * fresh buffer, which must hold fmp_fill's seed 9. Returns 0 if so. */
static int syscall_roundtrip(const unsigned char *p, size_t n)
{
	FILE *f = tmpfile();
	unsigned char *b = malloc(n);
	int rc = -1;

	if (f && b && write(fileno(f), p, n) == (ssize_t)n &&
	    pread(fileno(f), b, n, 0) == (ssize_t)n)
		rc = fmp_check(b, n, 9, 0) < 0 ? -1 : 0;
	if (f)
		fclose(f);
	free(b);
	return rc;
}

static int mode_pinned(size_t mib)
{
	unsigned char *p = map(FMP_MIB), **v;
	uint64_t h = 0;

	fmp_fill(p, FMP_MIB, 9, 0);
	if (mprotect(p, FMP_MIB, PROT_READ)) {
		fmc_fail("mprotect: %s", strerror(errno));
		return 1;
	}
	v = calloc(mib, sizeof(*v));
	for (size_t i = 0; v && i < mib; i++) {
		v[i] = malloc(FMP_MIB);
		if (v[i] == NULL) {
			fmc_fail("out of memory");
			return 1;
		}
		fmp_fill(v[i], FMP_MIB, (uint32_t)i, 0);
	}
	for (int pass = 0; v && pass < 2; pass++)
		for (size_t i = 0; i < mib; i++)
			FMC_CHECK(fmp_check(v[i], FMP_MIB, (uint32_t)i, 0) < 0,
				  "block %zu differs", i);
	/* evicted by now: the kernel reads it first (write(2)) */
	FMC_CHECK(syscall_roundtrip(p, FMP_MIB) != 0,
		  "read-only data differs through write(2)");
	FMC_CHECK(fmp_check(p, FMP_MIB, 9, 0) < 0, "read-only data differs");
	/* writable again: written, evicted and read back as any page */
	if (mprotect(p, FMP_MIB, PROT_READ | PROT_WRITE)) {
		fmc_fail("mprotect: %s", strerror(errno));
		return 1;
	}
	fmp_fill(p, FMP_MIB, 11, 0);
	for (size_t i = 0; v && i < mib; i++)
		FMC_CHECK(fmp_check(v[i], FMP_MIB, (uint32_t)i, 0) < 0,
			  "block %zu differs", i);
	FMC_CHECK(fmp_check(p, FMP_MIB, 11, 0) < 0,
		  "data written after mprotect(PROT_WRITE) differs");
	for (size_t i = 0; v && i < mib; i++)
		h ^= fmp_sum(v[i], FMP_MIB) * (2 * i + 1);
	printf("pinned: %zu blocks, checksum %016llx\n", mib,
	       (unsigned long long)h);
	return 0;
}

int main(int argc, char **argv)
{
	size_t mib = fmp_mib_arg(argc, argv, 1, 64);
	const char *mode = argc > 2 ? argv[2] : "remap";
	int rc;

	fmc_init();
	if (strcmp(mode, "remap") == 0)
		rc = mode_remap(mib);
	else if (strcmp(mode, "churn") == 0)
		rc = mode_churn(mib);
	else if (strcmp(mode, "guard") == 0)
		rc = mode_protect(mib, PROT_NONE, 0, FMP_PAGE);
	else if (strcmp(mode, "readonly") == 0)
		rc = mode_protect(mib, PROT_READ, 0, FMP_MIB);
	else if (strcmp(mode, "pinned") == 0)
		rc = mode_pinned(mib);
	else {
		fprintf(stderr,
			"usage: %s MIB remap|churn|guard|readonly|"
			"pinned\n",
			argv[0]);
		return 2;
	}
	fmp_report_hwm();
	return rc ? rc : fmc_exit_status();
}
