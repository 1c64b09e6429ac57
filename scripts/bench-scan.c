/* SPDX-License-Identifier: MIT */
/*
 * bench-scan - a data-frame style job: four columns of N rows, each
 * column one malloc'ed array, filtered and aggregated in passes. A
 * benchmark, not a test: scripts/farmem-bench runs it without a limit,
 * under farmem and under Linux swap at the same memory budget.
 *
 * Columns (int64 each): cat (0..63), qty, price (cents), ts. Pass p reads
 * every row, keeps those with cat % 4 == p % 4 and qty above a threshold
 * that rises with p, adds up count, qty, price * qty and the largest ts
 * per category, and increments qty of the kept rows in place (so later
 * passes depend on earlier ones, and evicted pages come back dirty).
 *
 * The result is verified against one computed independently: each row's
 * values are generated again from its index and run through the same
 * passes, without the columns. Exit 1 on a mismatch.
 *
 * --values random: values from a hash of the row (incompressible);
 * compressible: long runs and small steps (lz4/lzo shrink them a lot).
 *
 * Prints one line of key=value pairs: see usage().
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"

#define NCAT 64

static struct {
	long rows;
	int passes;
	int compressible;
} cfg = {8L << 20, 4, 0};

struct row {
	int64_t cat, qty, price, ts;
};

struct agg {
	int64_t count[NCAT], qty[NCAT], ts_max[NCAT];
	uint64_t value[NCAT]; /* sum of price * qty, modulo 2^64 */
};

/* The values of row @i before any pass. */
static inline void gen_row(long i, struct row *r)
{
	if (cfg.compressible) {
		r->cat = (i >> 12) % NCAT;
		r->qty = i % 16;
		r->price = 100 + (i >> 10) % 100;
		r->ts = 1700000000000LL + i;
	} else {
		uint64_t h = mix64((uint64_t)i + 0x9e3779b97f4a7c15ULL);
		uint64_t g = mix64(h);

		r->cat = (int64_t)(h % NCAT);
		r->qty = (int64_t)((h >> 8) % 16);
		r->price = (int64_t)((h >> 20) % 100000);
		r->ts = (int64_t)(g >> 1);
	}
}

static inline int64_t threshold(int p)
{
	return p % 8;
}

/* Adds row @r to @a if pass @p keeps it; returns 1 if it does. */
static inline int pass_row(int p, const struct row *r, struct agg *a)
{
	int64_t c = r->cat;

	if (c % 4 != p % 4 || r->qty <= threshold(p))
		return 0;
	a->count[c]++;
	a->qty[c] += r->qty;
	a->value[c] += (uint64_t)r->price * (uint64_t)r->qty;
	if (r->ts > a->ts_max[c])
		a->ts_max[c] = r->ts;
	return 1;
}

static uint64_t agg_hash(const struct agg *a, int passes)
{
	uint64_t h = 0;

	for (int i = 0; i < passes * NCAT; i++) {
		const struct agg *x = &a[i / NCAT];
		int c = i % NCAT;

		h = mix64(h ^ (uint64_t)x->count[c]);
		h = mix64(h ^ (uint64_t)x->qty[c]);
		h = mix64(h ^ x->value[c]);
		h = mix64(h ^ (uint64_t)x->ts_max[c]);
	}
	return h;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-scan [options]\n"
		"  -n, --rows=N         rows (default 8388608; 32 B each)\n"
		"  -p, --passes=N       filter-and-aggregate passes (default "
		"4)\n"
		"  -v, --values=random|compressible  column contents (default "
		"random)\n"
		"Prints one line: bench-scan alloc= values= rows= passes= "
		"secs= rows_per_sec=\ncpu_user= cpu_sys= fill_secs= "
		"verify_secs= maxrss_kb= result= ok=\nsecs, rows_per_sec and "
		"cpu_* are the passes'; cpu_* the whole process's\n(farmem's "
		"threads included). Exit 1 if the result differs from the one\n"
		"computed independently.\n");
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"rows", required_argument, NULL, 'n'},
	    {"passes", required_argument, NULL, 'p'},
	    {"values", required_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "n:p:v:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			cfg.rows =
			    bench_parse_long("bench-scan", optarg, "row count");
			break;
		case 'p':
			cfg.passes = (int)bench_parse_long("bench-scan", optarg,
							   "pass count");
			break;
		case 'v':
			if (strcmp(optarg, "random") == 0)
				cfg.compressible = 0;
			else if (strcmp(optarg, "compressible") == 0)
				cfg.compressible = 1;
			else {
				fprintf(stderr, "bench-scan: bad values '%s'\n",
					optarg);
				exit(2);
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc || cfg.passes > 1000) {
		fprintf(stderr, "bench-scan: %s\n",
			optind != argc ? "unexpected argument"
				       : "at most 1000 passes");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	int64_t *cat, *qty, *price, *ts;
	struct agg *got, *want;
	struct rusage r0, r1, end;
	double t0, t1, fill_secs, verify_secs;
	uint64_t hgot, hwant;
	long n;

	parse_args(argc, argv);
	n = cfg.rows;
	cat = malloc((size_t)n * sizeof(*cat));
	qty = malloc((size_t)n * sizeof(*qty));
	price = malloc((size_t)n * sizeof(*price));
	ts = malloc((size_t)n * sizeof(*ts));
	got = calloc((size_t)cfg.passes, sizeof(*got));
	want = calloc((size_t)cfg.passes, sizeof(*want));
	if (!cat || !qty || !price || !ts || !got || !want) {
		fprintf(stderr, "bench-scan: out of memory\n");
		return 1;
	}

	t0 = now_s();
	for (long i = 0; i < n; i++) {
		struct row r;

		gen_row(i, &r);
		cat[i] = r.cat;
		qty[i] = r.qty;
		price[i] = r.price;
		ts[i] = r.ts;
	}
	fill_secs = now_s() - t0;

	getrusage(RUSAGE_SELF, &r0);
	t0 = now_s();
	for (int p = 0; p < cfg.passes; p++) {
		struct agg *a = &got[p];

		/* column at a time, as a vectorised engine would: the filter
		 * reads cat and qty, the aggregate the kept rows' others */
		for (long i = 0; i < n; i++) {
			struct row r;

			r.cat = cat[i];
			if (r.cat % 4 != p % 4)
				continue;
			r.qty = qty[i];
			if (r.qty <= threshold(p))
				continue;
			r.price = price[i];
			r.ts = ts[i];
			pass_row(p, &r, a);
			qty[i] = r.qty + 1;
		}
	}
	t1 = now_s();
	getrusage(RUSAGE_SELF, &r1);

	/* independent: regenerate each row, run it through every pass */
	verify_secs = now_s();
	for (long i = 0; i < n; i++) {
		struct row r;

		gen_row(i, &r);
		for (int p = 0; p < cfg.passes; p++)
			if (pass_row(p, &r, &want[p]))
				r.qty++;
	}
	verify_secs = now_s() - verify_secs;
	hgot = agg_hash(got, cfg.passes);
	hwant = agg_hash(want, cfg.passes);

	free(cat);
	free(qty);
	free(price);
	free(ts);
	getrusage(RUSAGE_SELF, &end);
	printf("bench-scan alloc=%s values=%s rows=%ld passes=%d secs=%.6f "
	       "rows_per_sec=%.0f cpu_user=%.3f cpu_sys=%.3f fill_secs=%.3f "
	       "verify_secs=%.3f maxrss_kb=%ld result=%016llx ok=%d\n",
	       allocator_name(), cfg.compressible ? "compressible" : "random",
	       n, cfg.passes, t1 - t0,
	       t1 > t0 ? (double)n * cfg.passes / (t1 - t0) : 0.0,
	       tv(&r1.ru_utime) - tv(&r0.ru_utime),
	       tv(&r1.ru_stime) - tv(&r0.ru_stime), fill_secs, verify_secs,
	       end.ru_maxrss, (unsigned long long)hgot, hgot == hwant);
	if (hgot != hwant) {
		fprintf(stderr,
			"bench-scan: result %016llx, computed independently "
			"%016llx\n",
			(unsigned long long)hgot, (unsigned long long)hwant);
		free(got);
		free(want);
		return 1;
	}
	free(got);
	free(want);
	return 0;
}
