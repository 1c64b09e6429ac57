/* SPDX-License-Identifier: MIT */
/*
 * freerealloc MIB - free and realloc of evicted blocks. MIB MiB of blocks
 * (1 KiB to 4 MiB) are filled and pushed out; then a third are freed, a
 * third realloc'ed bigger, a third smaller; everything kept is verified,
 * pushed out and verified again; then new blocks from calloc must read as
 * zeros (a discarded page must never come back with its old data).
 */
#include "config.h"

#include "pager_common.h"

static const size_t sizes[] = {1000,	  100 << 10, 1 << 20,
			       300 << 10, 4 << 20,   5000};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

struct blk {
	unsigned char *p;
	size_t n;
	uint32_t ver;
};

int main(int argc, char **argv)
{
	size_t mib = fmp_mib_arg(argc, argv, 1, 128), nb = 0, sum = 0;
	size_t bad = 0, freed = 0, grown = 0, shrunk = 0, zeros_bad = 0;
	size_t cap = mib * 4 + 16;
	struct blk *b;

	fmc_init();
	b = calloc(cap, sizeof(*b));
	if (b == NULL)
		return 1;
	while (sum < mib * FMP_MIB && nb < cap) {
		size_t n = sizes[nb % NSIZES];
		if (mib == 1 && n > 100 << 10)
			n = 100 << 10;
		b[nb].p = malloc(n);
		if (b[nb].p == NULL) {
			fmc_fail("out of memory");
			return 1;
		}
		b[nb].n = n;
		fmp_fill(b[nb].p, n, (uint32_t)nb, 0);
		sum += n;
		nb++;
	}
	printf("%zu blocks, %zu bytes\n", nb, sum);
	fmp_churn(mib);
	if (fmp_evict_expected()) {
		size_t pages = 0, absent = 0;

		for (size_t i = 0; i < nb; i++) {
			pages += fmp_pages(b[i].p, b[i].n);
			absent += fmp_absent(b[i].p, b[i].n);
		}
		fmp_expect_absent(absent, pages, 50, "before free/realloc");
	}

	for (size_t i = 0; i < nb; i++) {
		size_t n = b[i].n, m;
		unsigned char *q;
		long off;

		switch (i % 3) {
		case 0:
			free(b[i].p);
			b[i].p = NULL;
			freed++;
			break;
		case 1:
			m = n * 2 + 123;
			q = realloc(b[i].p, m);
			if (q == NULL) {
				fmc_fail("realloc(%zu) failed", m);
				return 1;
			}
			off = fmp_check(q, n, (uint32_t)i, 0);
			if (off >= 0 && bad++ < 5)
				fmc_fail("block %zu grown %zu -> %zu: differs "
					 "at %ld",
					 i, n, m, off);
			b[i].p = q;
			b[i].n = m;
			b[i].ver = 1;
			fmp_fill(q, m, (uint32_t)i, 1);
			grown++;
			break;
		default:
			m = n / 3 + 1;
			q = realloc(b[i].p, m);
			if (q == NULL) {
				fmc_fail("realloc(%zu) failed", m);
				return 1;
			}
			off = fmp_check(q, m, (uint32_t)i, 0);
			if (off >= 0 && bad++ < 5)
				fmc_fail("block %zu shrunk %zu -> %zu: differs "
					 "at %ld",
					 i, n, m, off);
			b[i].p = q;
			b[i].n = m;
			shrunk++;
			break;
		}
	}
	printf("%zu freed, %zu grown, %zu shrunk\n", freed, grown, shrunk);
	fmp_churn(mib);
	for (size_t i = 0; i < nb; i++) {
		long off;

		if (b[i].p == NULL)
			continue;
		off = fmp_check(b[i].p, b[i].n, (uint32_t)i, b[i].ver);
		if (off >= 0 && bad++ < 10)
			fmc_fail("block %zu (%zu bytes, version %u) differs "
				 "at %ld",
				 i, b[i].n, b[i].ver, off);
	}
	/* the freed blocks' memory again, through calloc: zeros only */
	for (size_t i = 0; i < nb; i += 3) {
		size_t n = sizes[i % NSIZES];
		unsigned char *z = calloc(1, n);

		if (z == NULL) {
			fmc_fail("out of memory");
			return 1;
		}
		for (size_t k = 0; k < n; k++)
			if (z[k] != 0) {
				if (zeros_bad++ < 5)
					fmc_fail("calloc(%zu): byte %zu is %u",
						 n, k, z[k]);
				break;
			}
		b[i].p = z; /* freed below */
	}
	printf("verified: %zu blocks differ, %zu calloc'ed blocks not zero\n",
	       bad, zeros_bad);
	for (size_t i = 0; i < nb; i++)
		free(b[i].p);
	free(b);
	fmp_report_hwm();
	return fmc_exit_status();
}
