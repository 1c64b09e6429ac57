/* SPDX-License-Identifier: MIT */
/*
 * sim-victim - what a better victim choice could buy at most: the page
 * miss ratio of bench-kv's access pattern (N objects of 256 B, 16 to a
 * 4 KiB page, uniform or Zipf keys, Zipf ranks scattered over the objects
 * by a fixed permutation as bench-kv does, or left clustered) under a
 * budget, for four policies, simulated with no timing at all:
 *
 *   random   any resident page
 *   clock    farmem's: a page is hot when it comes in, the hand clears the
 *            bit and takes the first page without it (it sees no access
 *            after the fault: no accessed bits in user space)
 *   lru      exact least recently used (every access seen): the ceiling
 *            of what recency can do without knowing the future
 *   clock+vc the clock with a victim cache: evicted pages wait in a FIFO
 *            of 1/32 of the budget, inside the budget, and come back hot
 *            and cheaply if touched there (a "soft" miss)
 *
 * Prints one line per policy: misses per access (after a warm-up of as
 * many accesses as there are objects), and soft misses for clock+vc. A
 * model, not a benchmark: it counts misses, not their cost.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PER_PAGE 16

static uint64_t rng = 88172645463325252ull;

static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double *cdf; /* Zipf: rank -> cumulative probability */
static uint32_t *perm;
static size_t nobj, npages, cap;
enum { UNIFORM, ZIPF, CLUSTERED } dist;

static size_t next_page(void)
{
	size_t k;

	if (dist == UNIFORM) {
		k = xorshift() % nobj;
	} else {
		double u = (double)(xorshift() >> 11) / 9007199254740992.0;
		size_t lo = 0, hi = nobj - 1;

		while (lo < hi) {
			size_t m = (lo + hi) / 2;
			if (cdf[m] < u)
				lo = m + 1;
			else
				hi = m;
		}
		k = dist == ZIPF ? perm[lo] : lo;
	}
	return k / PER_PAGE;
}

enum { RANDOM, CLOCK, LRU, CLOCK_VC, NPOL };
static const char *const pol_name[NPOL] = {"random", "clock", "lru",
					   "clock+vc"};

/* state per page: 0 out, 1 resident, 2 in the victim cache */
static uint8_t *st, *hot;
static size_t *res, *pos, nres, hand;
static size_t *prev, *next, head, tail; /* LRU list, head oldest */
static size_t *fifo, fh, fn, vcap;

static void lru_push(size_t p)
{
	prev[p] = tail;
	next[p] = SIZE_MAX;
	if (tail != SIZE_MAX)
		next[tail] = p;
	else
		head = p;
	tail = p;
}

static void lru_unlink(size_t p)
{
	if (prev[p] != SIZE_MAX)
		next[prev[p]] = next[p];
	else
		head = next[p];
	if (next[p] != SIZE_MAX)
		prev[next[p]] = prev[p];
	else
		tail = prev[p];
}

static size_t victim(int pol)
{
	if (pol == RANDOM)
		return res[xorshift() % nres];
	if (pol == LRU)
		return head;
	for (;;) {
		size_t q = hand;

		hand = (hand + 1) % npages;
		if (st[q] != 1)
			continue;
		if (hot[q]) {
			hot[q] = 0;
			continue;
		}
		return q;
	}
}

static void run(int pol, size_t accesses)
{
	size_t room = pol == CLOCK_VC ? cap - vcap : cap;
	size_t misses = 0, soft = 0;

	memset(st, 0, npages);
	memset(hot, 0, npages);
	nres = hand = fh = fn = 0;
	head = tail = SIZE_MAX;
	rng = 88172645463325252ull;
	for (size_t i = 0; i < nobj + accesses; i++) {
		size_t p = next_page(), v;

		if (i == nobj)
			misses = soft = 0;
		if (st[p] == 1) {
			if (pol == LRU) {
				lru_unlink(p);
				lru_push(p);
			}
			continue;
		}
		if (st[p] == 2)
			soft++;
		else
			misses++;
		st[p] = 1;
		hot[p] = 1;
		pos[p] = nres;
		res[nres++] = p;
		if (pol == LRU)
			lru_push(p);
		if (nres <= room)
			continue;
		v = victim(pol);
		if (pol == LRU)
			lru_unlink(v);
		res[pos[v]] = res[--nres];
		pos[res[pos[v]]] = pos[v];
		st[v] = 0;
		if (pol != CLOCK_VC)
			continue;
		/* into the victim cache; its oldest page goes out (those
		 * touched meanwhile left it: skipped) */
		st[v] = 2;
		fifo[(fh + fn++) % (vcap + 1)] = v;
		while (fn > vcap) {
			size_t w = fifo[fh];

			fh = (fh + 1) % (vcap + 1);
			fn--;
			if (st[w] == 2)
				st[w] = 0;
		}
	}
	printf("sim-victim dist=%s budget_pct=%.0f policy=%s "
	       "miss=%.4f soft=%.4f\n",
	       dist == UNIFORM ? "uniform"
	       : dist == ZIPF  ? "zipf"
			       : "clustered",
	       100.0 * (double)cap / (double)npages, pol_name[pol],
	       (double)misses / (double)accesses,
	       (double)soft / (double)accesses);
}

int main(int argc, char **argv)
{
	double theta = 0.99, t = 0, frac;
	size_t accesses;

	if (argc != 4 ||
	    (strcmp(argv[1], "uniform") && strcmp(argv[1], "zipf") &&
	     strcmp(argv[1], "clustered"))) {
		fprintf(stderr, "usage: sim-victim uniform|zipf|clustered "
				"OBJECTS BUDGET_PCT\n");
		return 2;
	}
	dist = !strcmp(argv[1], "uniform") ? UNIFORM
	       : !strcmp(argv[1], "zipf")  ? ZIPF
					   : CLUSTERED;
	nobj = strtoul(argv[2], NULL, 10);
	frac = atof(argv[3]) / 100.0;
	npages = nobj / PER_PAGE;
	cap = (size_t)((double)npages * frac);
	vcap = cap / 32;
	accesses = 8 * nobj;
	if (npages < 64 || cap < 64 || cap >= npages) {
		fprintf(stderr, "sim-victim: want >= 1024 objects and a "
				"budget under 100%% of >= 64 pages\n");
		return 2;
	}
	cdf = malloc(nobj * sizeof(*cdf));
	perm = malloc(nobj * sizeof(*perm));
	st = malloc(npages);
	hot = malloc(npages);
	res = malloc(npages * sizeof(*res));
	pos = malloc(npages * sizeof(*pos));
	prev = malloc(npages * sizeof(*prev));
	next = malloc(npages * sizeof(*next));
	fifo = malloc((vcap + 1) * sizeof(*fifo));
	if (!cdf || !perm || !st || !hot || !res || !pos || !prev || !next ||
	    !fifo) {
		fprintf(stderr, "sim-victim: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < nobj; i++) {
		t += 1.0 / pow((double)(i + 1), theta);
		cdf[i] = t;
	}
	for (size_t i = 0; i < nobj; i++) {
		cdf[i] /= t;
		perm[i] = (uint32_t)i;
	}
	for (size_t i = nobj - 1; i > 0; i--) {
		size_t j = xorshift() % (i + 1);
		uint32_t x = perm[i];

		perm[i] = perm[j];
		perm[j] = x;
	}
	for (int pol = 0; pol < NPOL; pol++)
		run(pol, accesses);
	return 0;
}
