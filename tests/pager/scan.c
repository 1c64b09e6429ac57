/* SPDX-License-Identifier: MIT */
/*
 * scan MIB STRIDE [RUN] - reads a block of MIB MiB the way that fetches
 * ahead: runs of RUN pages (default 1) STRIDE pages apart, sub-pass after
 * sub-pass (with RUN 1: pages 0, S, 2S, ..., then 1, S+1, ...; with RUN
 * R: pages 0..R-1, S..S+R-1, ..., then R..2R-1, ...), so that with STRIDE
 * 1 it is one sequential pass and every page is read once either way. Each page is checked when read, and every
 * fifth rewritten (a new version) after; then the whole block is checked
 * again in the same order, and its checksum printed. Under a budget of a quarter of the
 * block, the pages come back through the pager's read-ahead: scan.sh
 * checks that most of what was fetched was read ahead.
 */
#include "config.h"

#include "pager_common.h"

#define WORDS (FMP_PAGE / 8)

/* Page @j of the block holds the block's words j*WORDS..: version @ver. */
static int page_ok(const unsigned char *p, size_t j, uint32_t ver)
{
	for (size_t w = 0; w < WORDS; w++) {
		uint64_t v = fmp_word(1, ver, j * WORDS + w), got;

		memcpy(&got, p + j * FMP_PAGE + w * 8, 8);
		if (got != v)
			return 0;
	}
	return 1;
}

static void page_fill(unsigned char *p, size_t j, uint32_t ver)
{
	for (size_t w = 0; w < WORDS; w++) {
		uint64_t v = fmp_word(1, ver, j * WORDS + w);

		memcpy(p + j * FMP_PAGE + w * 8, &v, 8);
	}
}

int main(int argc, char **argv)
{
	size_t mib = fmp_mib_arg(argc, argv, 1, 64);
	size_t stride = argc > 2 ? strtoul(argv[2], NULL, 10) : 1;
	size_t run = argc > 3 ? strtoul(argv[3], NULL, 10) : 1;
	size_t n = mib * FMP_MIB, pages = n / FMP_PAGE, bad = 0;
	unsigned char *p;

	fmc_init();
	if (stride == 0 || stride > pages || run == 0 || stride % run) {
		fmc_fail("usage: scan MIB STRIDE [RUN] (STRIDE 1 to the "
			 "block's pages, a multiple of RUN)");
		return 2;
	}
	p = fmp_block(n, "block");
	fmp_fill(p, n, 1, 0);
	for (size_t off = 0; off < stride; off += run)
		for (size_t r = off; r < pages; r += stride)
			for (size_t j = r; j < r + run && j < pages; j++) {
				if (!page_ok(p, j, 0) && bad++ < 5)
					fmc_fail("page %zu differs when read",
						 j);
				if (j % 5 == 0)
					page_fill(p, j, 1);
			}
	for (size_t off = 0; off < stride; off += run)
		for (size_t r = off; r < pages; r += stride)
			for (size_t j = r; j < r + run && j < pages; j++)
				if (!page_ok(p, j, j % 5 == 0) && bad++ < 5)
					fmc_fail("page %zu differs at the end",
						 j);
	printf("scan: %zu pages in runs of %zu, %zu apart, %zu bad, checksum "
	       "%016llx\n",
	       pages, run, stride, bad, (unsigned long long)fmp_sum(p, n));
	fmp_report_hwm();
	return bad != 0;
}
