/* SPDX-License-Identifier: MIT */
/*
 * writers MIB [PASSES] - four threads, each owning a quarter of MIB MiB in
 * 64 KiB blocks, keep incrementing counters (one per 64-byte line, the
 * other seven words of each line a pattern) while the pager evicts around
 * them. At the end every counter must equal the number of times its
 * thread visited its block: an eviction that raced with a write and lost
 * it shows as a counter one short; a page brought back stale or as zeros
 * shows in the pattern.
 */
#include "config.h"

#include <pthread.h>

#include "pager_common.h"

#define NTHREADS   4
#define BLOCK	   ((size_t)64 << 10)
#define LINE_WORDS 8

struct writer {
	int id;
	size_t nblk, passes;
	uint64_t **blk;
	uint32_t *visits;
	uint64_t increments;
};

static uint32_t block_id(int t, size_t i)
{
	return (uint32_t)(t << 24 | i);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint64_t rng = 1000 + (uint64_t)w->id;

	w->blk = calloc(w->nblk, sizeof(*w->blk));
	w->visits = calloc(w->nblk, sizeof(*w->visits));
	if (w->blk == NULL || w->visits == NULL) {
		fmc_fail("writer %d: out of memory", w->id);
		return NULL;
	}
	for (size_t i = 0; i < w->nblk; i++) {
		w->blk[i] = malloc(BLOCK);
		if (w->blk[i] == NULL) {
			fmc_fail("writer %d: out of memory", w->id);
			return NULL;
		}
		fmc_managed(w->blk[i], "block");
		fmp_fill(w->blk[i], BLOCK, block_id(w->id, i), 0);
		for (size_t k = 0; k < BLOCK / 8; k += LINE_WORDS)
			w->blk[i][k] = 0;
	}
	/* each pass: every block once in a random order, then as many random
	 * visits again */
	for (size_t pass = 0; pass < w->passes; pass++) {
		for (size_t n = 0; n < 2 * w->nblk; n++) {
			size_t i;
			uint64_t *b;

			if (n >= w->nblk)
				i = fmp_below(&rng, w->nblk);
			else if (w->nblk % 7919 == 0)
				i = n;
			else
				i = (n * 7919 + pass) % w->nblk;
			b = w->blk[i];
			for (size_t k = 0; k < BLOCK / 8; k += LINE_WORDS)
				b[k]++;
			w->visits[i]++;
			w->increments += BLOCK / 8 / LINE_WORDS;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	size_t total = fmp_mib_arg(argc, argv, 1, 128) * FMP_MIB;
	size_t passes = fmp_mib_arg(argc, argv, 2, 2);
	struct writer w[NTHREADS];
	pthread_t th[NTHREADS];
	size_t lost = 0, bad = 0;

	fmc_init();
	for (int t = 0; t < NTHREADS; t++) {
		w[t] = (struct writer){.id = t, .passes = passes};
		w[t].nblk = total / NTHREADS / BLOCK;
		if (w[t].nblk == 0)
			w[t].nblk = 1;
		if (pthread_create(&th[t], NULL, writer_main, &w[t])) {
			fmc_fail("pthread_create failed");
			return 1;
		}
	}
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	if (fmc_failures)
		return fmc_exit_status();
	for (int t = 0; t < NTHREADS; t++) {
		uint64_t sum = 0;

		for (size_t i = 0; i < w[t].nblk; i++) {
			uint64_t *b = w[t].blk[i];
			for (size_t k = 0; k < BLOCK / 8; k++) {
				if (k % LINE_WORDS == 0) {
					sum += b[k];
					if (b[k] != w[t].visits[i] &&
					    lost++ < 5)
						fmc_fail(
						    "thread %d block %zu "
						    "line %zu: counter %llu, "
						    "want %u",
						    t, i, k / LINE_WORDS,
						    (unsigned long long)b[k],
						    w[t].visits[i]);
				} else if (b[k] !=
					       fmp_word(block_id(t, i), 0, k) &&
					   bad++ < 5) {
					fmc_fail(
					    "thread %d block %zu word %zu: "
					    "pattern lost",
					    t, i, k);
				}
			}
		}
		printf("thread %d: %zu blocks, %llu increments, counters sum "
		       "to %llu\n",
		       t, w[t].nblk, (unsigned long long)w[t].increments,
		       (unsigned long long)sum);
	}
	printf("lost writes: %zu, damaged words: %zu\n", lost, bad);
	fmp_report_hwm();
	return fmc_exit_status();
}
