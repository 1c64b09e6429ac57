/* SPDX-License-Identifier: MIT */
/*
 * fill MIB [SEED] - fills MIB MiB with blocks of mixed sizes (16 B to
 * 4 MiB), each holding its own pattern, then makes random re-reads (whole
 * blocks and scattered words) and rewrites, and verifies every byte at the
 * end. Under a budget of an eighth of MIB, most of it is evicted and
 * fetched back, many times.
 */
#include "config.h"

#include "pager_common.h"

struct blk {
	unsigned char *p;
	size_t n;
	uint32_t ver;
};

static size_t pick_size(uint64_t *rng, size_t cap)
{
	size_t r = fmp_below(rng, 100), n;

	if (r < 40)
		n = 16 + fmp_below(rng, 2000);
	else if (r < 70)
		n = 2048 + fmp_below(rng, 62 << 10);
	else if (r < 90)
		n = (64 << 10) + fmp_below(rng, 448 << 10);
	else
		n = (512 << 10) + fmp_below(rng, (size_t)3584 << 10);
	return n < cap ? n : cap;
}

int main(int argc, char **argv)
{
	size_t total = fmp_mib_arg(argc, argv, 1, 256) * FMP_MIB;
	uint64_t rng = argc > 2 ? strtoull(argv[2], NULL, 0) : 42;
	size_t cap = total / 8 > 16 ? total / 8 : 16;
	size_t nb = 0, cap_nb = 1024, sum = 0, bad = 0, pages = 0, absent = 0;
	size_t n_verify = 0, n_write = 0, n_probe = 0;
	struct blk *b;
	uint64_t h = 0;

	fmc_init();
	b = calloc(cap_nb, sizeof(*b));
	FMC_CHECK(b != NULL, "out of memory");
	if (b == NULL)
		return 1;
	while (sum < total) {
		if (nb == cap_nb) {
			struct blk *nb_ = realloc(b, 2 * cap_nb * sizeof(*b));
			if (nb_ == NULL) {
				fmc_fail("out of memory");
				free(b);
				return 1;
			}
			b = nb_;
			cap_nb *= 2;
		}
		b[nb].n = pick_size(&rng, cap);
		b[nb].p = malloc(b[nb].n);
		if (b[nb].p == NULL) {
			fmc_fail("malloc(%zu) failed", b[nb].n);
			return 1;
		}
		fmc_managed(b[nb].p, "block");
		b[nb].ver = 0;
		fmp_fill(b[nb].p, b[nb].n, (uint32_t)nb, 0);
		sum += b[nb].n;
		nb++;
	}
	printf("%zu blocks, %zu bytes\n", nb, sum);

	for (size_t i = 0; i < nb; i++) {
		pages += fmp_pages(b[i].p, b[i].n);
		absent += fmp_absent(b[i].p, b[i].n);
	}
	fmp_expect_absent(absent, pages, 50, "after the fill");

	/* random re-reads and rewrites, as many as there are blocks */
	for (size_t op = 0; op < nb; op++) {
		size_t i = fmp_below(&rng, nb), r = fmp_below(&rng, 10);
		struct blk *x = &b[i];

		if (r < 4) {
			long off = fmp_check(x->p, x->n, (uint32_t)i, x->ver);
			if (off >= 0 && bad++ < 5)
				fmc_fail("re-read: block %zu (%zu bytes) "
					 "differs at %ld",
					 i, x->n, off);
			n_verify++;
		} else if (r < 7) {
			x->ver++;
			fmp_fill(x->p, x->n, (uint32_t)i, x->ver);
			n_write++;
		} else {
			/* scattered words: one fault each when out */
			for (int k = 0; k < 16 && x->n >= 8; k++) {
				size_t w = fmp_below(&rng, x->n / 8);
				uint64_t v = fmp_word((uint32_t)i, x->ver, w);
				if (memcmp(x->p + w * 8, &v, 8) && bad++ < 5)
					fmc_fail("probe: block %zu word %zu "
						 "differs",
						 i, w);
			}
			n_probe++;
		}
	}
	printf("%zu re-reads, %zu rewrites, %zu probes\n", n_verify, n_write,
	       n_probe);

	/* every byte, in a shuffled order of blocks */
	for (size_t k = 0; k < nb; k++) {
		size_t i = (k * 7919) % nb;
		long off;

		if (nb % 7919 == 0)
			i = k;
		off = fmp_check(b[i].p, b[i].n, (uint32_t)i, b[i].ver);
		if (off >= 0 && bad++ < 10)
			fmc_fail("final: block %zu (%zu bytes, version %u) "
				 "differs at %ld",
				 i, b[i].n, b[i].ver, off);
	}
	for (size_t i = 0; i < nb; i++)
		h ^= fmp_sum(b[i].p, b[i].n) * (2 * i + 1);
	printf("verified %zu bytes, %zu bad; checksum %016llx\n", sum, bad,
	       (unsigned long long)h);
	for (size_t i = 0; i < nb; i++)
		free(b[i].p);
	free(b);
	fmp_report_hwm();
	return fmc_exit_status();
}
