/* SPDX-License-Identifier: MIT */
/*
 * grow MIB - realloc() growth of one large block: MIB MiB (64 by
 * default), then 1.5x, 2x, 3x, then back down to a half; each time the
 * old contents must be intact (each growth fills its new tail with its
 * own pattern). glibc would mremap such a block; farmem must move or copy
 * it without losing evicted pages, under a budget of half the block.
 */
#include "config.h"

#include "pager_common.h"

#define MAXSEG 8

static size_t seg_end[MAXSEG];
static int nseg;

static size_t verify(const unsigned char *p, size_t n)
{
	size_t bad = 0, from = 0;

	for (int s = 0; s < nseg && from < n; s++) {
		size_t to = seg_end[s] < n ? seg_end[s] : n;
		long off = fmp_check(p + from, to - from, (uint32_t)s, 0);
		if (off >= 0 && bad++ < 5)
			fmc_fail("segment %d [%zu, %zu) differs at %ld", s,
				 from, to, off);
		from = to;
	}
	return bad;
}

int main(int argc, char **argv)
{
	size_t mib = fmp_mib_arg(argc, argv, 1, 64);
	size_t n = mib * FMP_MIB;
	static const unsigned num[] = {3, 2, 3, 1}, den[] = {2, 1, 1, 2};
	unsigned char *p;

	fmc_init();
	p = malloc(n);
	if (p == NULL) {
		fmc_fail("out of memory");
		return 1;
	}
	fmc_managed(p, "block");
	fmp_fill(p, n, 0, 0);
	seg_end[nseg++] = n;
	printf("start: %zu bytes, checksum %016llx\n", n,
	       (unsigned long long)fmp_sum(p, n));
	for (int step = 0; step < 4; step++) {
		size_t m = mib * FMP_MIB * num[step] / den[step];
		unsigned char *q;

		fmp_churn(mib / 2);
		fmp_expect_evicted(p, n, 30, "the block before realloc");
		q = realloc(p, m);
		if (q == NULL) {
			fmc_fail("realloc(%zu) failed", m);
			return 1;
		}
		fmc_managed(q, "block");
		p = q;
		if (m > n) {
			fmp_fill(p + n, m - n, (uint32_t)nseg, 0);
			seg_end[nseg++] = m;
		}
		n = m;
		printf("realloc to %zu: %zu segments differ, checksum "
		       "%016llx\n",
		       m, verify(p, n), (unsigned long long)fmp_sum(p, n));
	}
	free(p);
	fmp_report_hwm();
	return fmc_exit_status();
}
