/* SPDX-License-Identifier: MIT */
/*
 * hammer MIB [OPS] - four threads hammer one shared array of 16 KiB
 * blocks (MIB MiB in all; the budget is a tenth of it) with random reads
 * and writes. Each block carries a checksum of its payload, checked on
 * every visit under the block's lock; a write adds the thread's number to
 * one payload word and updates the checksum. At the end every checksum
 * holds and the payloads add up to exactly what the threads added: a page
 * lost, stale or swapped between blocks cannot hide.
 */
#include "config.h"

#include <pthread.h>

#include "pager_common.h"

#define NTHREADS 4
#define BLOCK	 ((size_t)16 << 10)
#define WORDS	 (BLOCK / 8 - 2)

struct block {
	uint64_t sum; /* fmp_sum of the payload */
	uint64_t id;
	uint64_t w[WORDS];
};

static struct block **blk;
static pthread_mutex_t *locks;
static size_t nblk, ops;

struct worker {
	int id;
	uint64_t added, reads, writes, bad;
};

static void *worker_main(void *arg)
{
	struct worker *me = arg;
	uint64_t rng = 500 + (uint64_t)me->id;

	for (size_t op = 0; op < ops; op++) {
		size_t i = fmp_below(&rng, nblk);
		int write = fmp_below(&rng, 2) == 0;
		size_t k = fmp_below(&rng, WORDS);
		struct block *b = blk[i];

		pthread_mutex_lock(&locks[i]);
		if (b->id != i || b->sum != fmp_sum(b->w, sizeof(b->w))) {
			if (me->bad++ < 3)
				fmc_fail("thread %d: block %zu damaged (id "
					 "%llu)",
					 me->id, i, (unsigned long long)b->id);
		}
		if (write) {
			b->w[k] += (uint64_t)me->id + 1;
			b->sum = fmp_sum(b->w, sizeof(b->w));
			me->added += (uint64_t)me->id + 1;
			me->writes++;
		} else {
			me->reads++;
		}
		pthread_mutex_unlock(&locks[i]);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	size_t mib = fmp_mib_arg(argc, argv, 1, 160);
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	uint64_t base = 0, final = 0, added = 0, bad = 0;

	ops = fmp_mib_arg(argc, argv, 2, 5000);
	nblk = mib * FMP_MIB / BLOCK;
	fmc_init();
	blk = calloc(nblk, sizeof(*blk));
	locks = calloc(nblk, sizeof(*locks));
	if (blk == NULL || locks == NULL) {
		fmc_fail("out of memory");
		return 1;
	}
	for (size_t i = 0; i < nblk; i++) {
		blk[i] = malloc(sizeof(struct block));
		if (blk[i] == NULL) {
			fmc_fail("out of memory");
			return 1;
		}
		blk[i]->id = i;
		fmp_fill(blk[i]->w, sizeof(blk[i]->w), (uint32_t)i, 0);
		blk[i]->sum = fmp_sum(blk[i]->w, sizeof(blk[i]->w));
		for (size_t k = 0; k < WORDS; k++)
			base += blk[i]->w[k];
		pthread_mutex_init(&locks[i], NULL);
	}
	for (int t = 0; t < NTHREADS; t++) {
		w[t] = (struct worker){.id = t};
		if (pthread_create(&th[t], NULL, worker_main, &w[t])) {
			fmc_fail("pthread_create failed");
			return 1;
		}
	}
	for (int t = 0; t < NTHREADS; t++) {
		pthread_join(th[t], NULL);
		printf("thread %d: %llu reads, %llu writes, added %llu\n", t,
		       (unsigned long long)w[t].reads,
		       (unsigned long long)w[t].writes,
		       (unsigned long long)w[t].added);
		added += w[t].added;
		bad += w[t].bad;
	}
	for (size_t i = 0; i < nblk; i++) {
		struct block *b = blk[i];
		if ((b->id != i || b->sum != fmp_sum(b->w, sizeof(b->w))) &&
		    bad++ < 5)
			fmc_fail("final: block %zu damaged", i);
		for (size_t k = 0; k < WORDS; k++)
			final += b->w[k];
	}
	FMC_CHECK(final - base == added,
		  "payloads grew by %llu, the threads "
		  "added %llu",
		  (unsigned long long)(final - base),
		  (unsigned long long)added);
	printf("%zu blocks; payloads grew by %llu; damaged blocks: %llu\n",
	       nblk, (unsigned long long)(final - base),
	       (unsigned long long)bad);
	fmp_report_hwm();
	return fmc_exit_status();
}
