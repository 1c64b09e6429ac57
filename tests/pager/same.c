/* SPDX-License-Identifier: MIT */
/*
 * same MIB - a block of MIB MiB whose pages are, by turns, all zeros, one
 * word repeated (a different word per page, and a few pages in a row
 * sharing one), and ordinary data. Read back in random order, each page
 * checked; every third one then becomes another of the three kinds (a
 * same-filled page written once more, a zero page given data, ...); all
 * checked again in order, and the block's checksum printed. Under a
 * budget of a quarter of the block, same-filled pages leave as one word
 * and come back without a fetch (same.sh checks that some did).
 */
#include "config.h"

#include "pager_common.h"

#define WORDS (FMP_PAGE / 8)

/* What page @j holds at version @ver: 0 zeros, 1 one word, 2 data. */
static unsigned kind(size_t j, uint32_t ver)
{
	return (unsigned)((j / 3 + ver) % 3);
}

/* The word that fills page @j (kind 1): four pages in a row share one. */
static uint64_t word(size_t j, uint32_t ver)
{
	return fmp_word(2, ver, j / 4);
}

static void page_fill(unsigned char *p, size_t j, uint32_t ver)
{
	uint64_t *q = (uint64_t *)(p + j * FMP_PAGE);

	switch (kind(j, ver)) {
	case 0:
		memset(q, 0, FMP_PAGE);
		break;
	case 1:
		for (size_t w = 0; w < WORDS; w++)
			q[w] = word(j, ver);
		break;
	default:
		fmp_fill(q, FMP_PAGE, 3 + ver, (uint32_t)j);
		break;
	}
}

static int page_ok(const unsigned char *p, size_t j, uint32_t ver)
{
	const uint64_t *q = (const uint64_t *)(p + j * FMP_PAGE);

	switch (kind(j, ver)) {
	case 0:
		for (size_t w = 0; w < WORDS; w++)
			if (q[w] != 0)
				return 0;
		return 1;
	case 1:
		for (size_t w = 0; w < WORDS; w++)
			if (q[w] != word(j, ver))
				return 0;
		return 1;
	default:
		return fmp_check(q, FMP_PAGE, 3 + ver, (uint32_t)j) < 0;
	}
}

int main(int argc, char **argv)
{
	size_t mib = fmp_mib_arg(argc, argv, 1, 64);
	size_t n = mib * FMP_MIB, pages = n / FMP_PAGE, bad = 0;
	uint64_t rng = 7;
	unsigned char *p;

	fmc_init();
	p = fmp_block(n, "block");
	for (size_t j = 0; j < pages; j++)
		page_fill(p, j, 0);
	fmp_expect_evicted(p, n, 50, "block");
	for (size_t i = 0; i < pages; i++) {
		size_t j = fmp_below(&rng, pages);

		if (!page_ok(p, j, 0) && bad++ < 5)
			fmc_fail("page %zu (kind %u) differs when read", j,
				 kind(j, 0));
	}
	for (size_t j = 0; j < pages; j += 3)
		page_fill(p, j, 1);
	for (size_t j = 0; j < pages; j++)
		if (!page_ok(p, j, j % 3 == 0) && bad++ < 5)
			fmc_fail("page %zu (kind %u) differs at the end", j,
				 kind(j, j % 3 == 0));
	printf("same: %zu pages, %zu bad, checksum %016llx\n", pages, bad,
	       (unsigned long long)fmp_sum(p, n));
	fmp_report_hwm();
	return bad != 0;
}
