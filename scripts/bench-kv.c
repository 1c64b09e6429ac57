/* SPDX-License-Identifier: MIT */
/*
 * bench-kv - a key-value store of small objects, each malloc'ed on its own,
 * read and updated at random: the workload of DESIGN.md's swap table. A
 * benchmark, not a test: scripts/farmem-bench-kv runs it with and without
 * libfarmem.so under several memory budgets and compares.
 *
 * Fill: N objects of S bytes, object k holding a value derived from (k, its
 * version). Timed part: for a fixed time (or a number of operations), pick a
 * key uniformly or by Zipf(theta) - ranks scattered over the keys by a fixed
 * permutation, so that the hot objects are not neighbours in memory - then
 * 90% of the time read the object (checksum every word), 10% rewrite it
 * with the next version. At the end every object is checked against the
 * version the benchmark holds for it: exit 1 on a mismatch.
 *
 * With --threads N the timed part (and the warm-up) runs on N threads at
 * once, all on the same objects; thread t only rewrites keys k with
 * k % N == t (the key picked is moved to the nearest such key), so that
 * every object's last version is known without locks. --values chooses
 * what the words after the key and version hold: "seq" (the default, an
 * arithmetic sequence), "random" (incompressible) or "compressible" (one
 * random word in four, the rest a constant: lz4/lzo shrink it ~3x).
 *
 * Prints one line of key=value pairs: see usage().
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"

#define CHECK_EVERY 256 /* operations between looks at the clock */

static struct {
	long n;		 /* objects */
	long size;	 /* bytes per object, a multiple of 8, >= 16 */
	int zipf;	 /* 0 uniform, 1 Zipf */
	double theta;	 /* Zipf exponent */
	int update_pct;	 /* percent of operations that rewrite */
	long ops;	 /* operations in the timed part, 0 = until duration */
	double duration; /* seconds of the timed part (when ops is 0) */
	double warmup;	 /* untimed seconds of operations before */
	uint64_t seed;
	int threads; /* threads of the timed part */
	int values;  /* VAL_* */
} cfg = {2L << 20, 256, 0, 0.99, 10, 0, 2.0, 0.5, 0x243f6a8885a308d3ULL, 1, 0};

enum { VAL_SEQ, VAL_RANDOM, VAL_COMPRESSIBLE };
static const char *const val_names[] = {"seq", "random", "compressible"};

static inline double unit(uint64_t r)
{
	return (double)(r >> 11) * 0x1.0p-53;
}

/*
 * Zipf over ranks 1..n by rejection-inversion (Hörmann and Derflinger 1996,
 * as in Apache Commons' RejectionInversionZipfSampler): O(1) per draw, no
 * table (a table would sit in the heap under measurement).
 */
static struct {
	double s, h_x1, h_n, sc;
} zf;

static double zh(double x) /* integral of x^-s, shifted */
{
	double l = log(x), t = (1.0 - zf.s) * l;

	return (fabs(t) > 1e-8 ? expm1(t) / t : 1.0 + t / 2) * l;
}

static double zh_inv(double x)
{
	double t = x * (1.0 - zf.s);

	if (t < -1.0)
		t = -1.0;
	return exp((fabs(t) > 1e-8 ? log1p(t) / t : 1.0 - t / 2) * x);
}

static void zipf_init(long n, double s)
{
	zf.s = s;
	zf.h_x1 = zh(1.5) - 1.0;
	zf.h_n = zh((double)n + 0.5);
	zf.sc = 2.0 - zh_inv(zh(2.5) - exp(-s * log(2.0)));
}

static inline long zipf_rank(uint64_t *st, long n) /* 1..n */
{
	for (;;) {
		double u = zf.h_n + unit(rnd(st)) * (zf.h_x1 - zf.h_n);
		double x = zh_inv(u);
		long k = (long)(x + 0.5);

		if (k < 1)
			k = 1;
		else if (k > n)
			k = n;
		if ((double)k - x <= zf.sc ||
		    u >= zh((double)k + 0.5) - exp(-zf.s * log((double)k)))
			return k;
	}
}

/* rank -> key: multiplication by a constant coprime to n is a permutation
 * of [0, n); the hot keys land far apart. */
static uint64_t perm_mul;

static inline long key_of_rank(long r)
{
	return (long)(((unsigned __int128)(uint64_t)(r - 1) * perm_mul) %
		      (uint64_t)cfg.n);
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* Word @i (>= 2) of a value seeded with @x, per --values. */
static inline uint64_t value_word(uint64_t x, long i)
{
	uint64_t seq = x + (uint64_t)i * 0x9e3779b97f4a7c15ULL;

	switch (cfg.values) {
	case VAL_RANDOM:
		return mix64(seq);
	case VAL_COMPRESSIBLE:
		return i % 4 == 0 ? mix64(seq) : 0x2020202020202020ULL;
	default:
		return seq;
	}
}

/* The value of key @k at version @v: word 0 the key, word 1 the version,
 * then words seeded from both. */
static inline void fill(uint64_t *w, long k, uint32_t v, long words)
{
	uint64_t x = mix64(((uint64_t)k << 20) ^ v);

	w[0] = (uint64_t)k;
	w[1] = v;
	for (long i = 2; i < words; i++)
		w[i] = value_word(x, i);
}

static inline int matches(const uint64_t *w, long k, uint32_t v, long words)
{
	uint64_t x = mix64(((uint64_t)k << 20) ^ v);

	if (w[0] != (uint64_t)k || w[1] != v)
		return 0;
	for (long i = 2; i < words; i++)
		if (w[i] != value_word(x, i))
			return 0;
	return 1;
}

static uint64_t **obj;
static uint32_t *ver;

static inline long pick(uint64_t *st)
{
	if (cfg.zipf)
		return key_of_rank(zipf_rank(st, cfg.n));
	return (long)below(rnd(st), (uint64_t)cfg.n);
}

/* @k moved to the nearest key that thread @t of @nt owns (k % nt == t). */
static inline long own_key(long k, int t, int nt)
{
	k = k - k % nt + t;
	return k < cfg.n ? k : k - nt;
}

/* Operations until @limit operations or @secs seconds, as thread @t of
 * @nt; returns the count. */
static long run_ops(uint64_t *st, long limit, double secs, uint64_t *sum,
		    long *updates, int t, int nt)
{
	long words = cfg.size / 8, i;
	uint64_t acc = 0;
	struct timespec t0, now;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; limit == 0 || i < limit; i++) {
		if (limit == 0 && i % CHECK_EVERY == 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((double)(now.tv_sec - t0.tv_sec) +
				(double)(now.tv_nsec - t0.tv_nsec) * 1e-9 >=
			    secs)
				break;
		}
		long k = pick(st);

		if (nt > 1)
			k = own_key(k, t, nt);
		uint64_t *w = obj[k];

		if (below(rnd(st), 100) < (uint64_t)cfg.update_pct) {
			fill(w, k, ++ver[k], words);
			++*updates;
		} else {
			for (long j = 0; j < words; j++)
				acc += w[j];
		}
	}
	*sum += acc;
	return i;
}

/* One thread of a --threads run: warm-up, wait for the others, timed
 * part. */
struct worker {
	pthread_t tid;
	int t;
	uint64_t st, sum;
	long done, updates, wupd;
};

static pthread_barrier_t start_line;

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (cfg.warmup > 0)
		run_ops(&w->st, 0, cfg.warmup, &w->sum, &w->wupd, w->t,
			cfg.threads);
	pthread_barrier_wait(&start_line); /* main reads the clocks */
	pthread_barrier_wait(&start_line);
	w->done = run_ops(&w->st, cfg.ops, cfg.duration, &w->sum, &w->updates,
			  w->t, cfg.threads);
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-kv [options]\n"
		"  -n, --objects=N      objects (default 2097152)\n"
		"  -s, --size=S         bytes per object, a multiple of 8, "
		">= 16 (default 256)\n"
		"  -D, --dist=uniform|zipf  key choice (default uniform)\n"
		"  -z, --theta=F        Zipf exponent (default 0.99)\n"
		"  -u, --updates=PCT    percent of operations that rewrite "
		"(default 10)\n"
		"  -o, --ops=N          timed operations (default: for "
		"--duration)\n"
		"  -d, --duration=S     seconds of the timed part (default 2)\n"
		"  -w, --warmup=S       untimed seconds of operations first "
		"(default 0.5)\n"
		"  -S, --seed=N         PRNG seed\n"
		"  -t, --threads=N      threads in the timed part (default 1;"
		" --ops per thread)\n"
		"  -v, --values=seq|random|compressible  object contents "
		"(default seq)\n"
		"Prints one line: bench-kv alloc= dist= theta= n= size= "
		"updates_pct= threads= values= ops= updates=\nsecs= "
		"ops_per_sec= cpu_user= "
		"cpu_sys= fill_secs= maxrss_kb= check=\ncpu_* are the whole "
		"process's (farmem's threads included) in the timed part;\n"
		"maxrss_kb is the process's peak. Exit 1 if an object does not "
		"hold its last value.\n");
}

static double parse_num(const char *s, const char *what, int zero_ok)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || (!zero_ok && v == 0)) {
		fprintf(stderr, "bench-kv: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"objects", required_argument, NULL, 'n'},
	    {"size", required_argument, NULL, 's'},
	    {"dist", required_argument, NULL, 'D'},
	    {"theta", required_argument, NULL, 'z'},
	    {"updates", required_argument, NULL, 'u'},
	    {"ops", required_argument, NULL, 'o'},
	    {"duration", required_argument, NULL, 'd'},
	    {"warmup", required_argument, NULL, 'w'},
	    {"seed", required_argument, NULL, 'S'},
	    {"threads", required_argument, NULL, 't'},
	    {"values", required_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "n:s:D:z:u:o:d:w:S:t:v:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'n':
			cfg.n = (long)parse_num(optarg, "object count", 0);
			break;
		case 's':
			cfg.size = (long)parse_num(optarg, "size", 0);
			break;
		case 'D':
			if (strcmp(optarg, "uniform") == 0)
				cfg.zipf = 0;
			else if (strcmp(optarg, "zipf") == 0)
				cfg.zipf = 1;
			else {
				fprintf(stderr, "bench-kv: bad dist '%s'\n",
					optarg);
				exit(2);
			}
			break;
		case 'z':
			cfg.theta = parse_num(optarg, "theta", 0);
			break;
		case 'u':
			cfg.update_pct = (int)parse_num(optarg, "percent", 1);
			break;
		case 'o':
			cfg.ops = (long)parse_num(optarg, "operation count", 0);
			break;
		case 'd':
			cfg.duration = parse_num(optarg, "duration", 0);
			break;
		case 'w':
			cfg.warmup = parse_num(optarg, "warm-up", 1);
			break;
		case 'S':
			cfg.seed = (uint64_t)parse_num(optarg, "seed", 0);
			break;
		case 't':
			cfg.threads = (int)parse_num(optarg, "thread count", 0);
			break;
		case 'v':
			for (cfg.values = 2; cfg.values >= 0; cfg.values--)
				if (strcmp(optarg, val_names[cfg.values]) == 0)
					break;
			if (cfg.values < 0) {
				fprintf(stderr, "bench-kv: bad values '%s'\n",
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
	if (optind != argc || cfg.size < 16 || cfg.size % 8 ||
	    cfg.update_pct > 100 || cfg.threads > 1024 || cfg.threads > cfg.n) {
		fprintf(stderr, "bench-kv: %s\n",
			optind != argc ? "unexpected argument"
				       : "size must be a multiple of 8, >= 16; "
					 "updates <= 100; threads <= 1024 and "
					 "<= objects");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	long words, bad = 0, updates = 0, wupd = 0, done;
	uint64_t st, sum = 0;
	struct rusage r0, r1, end;
	double t0, t1, fill_secs;

	parse_args(argc, argv);
	words = cfg.size / 8;
	st = cfg.seed ? cfg.seed : 1;
	if (cfg.zipf)
		zipf_init(cfg.n, cfg.theta);
	/* a multiplier near n / golden ratio, made coprime to n */
	perm_mul = (uint64_t)((double)cfg.n * 0.6180339887) | 1;
	while (gcd(perm_mul, (uint64_t)cfg.n) != 1)
		perm_mul += 2;

	obj = malloc(sizeof(*obj) * (size_t)cfg.n);
	ver = calloc((size_t)cfg.n, sizeof(*ver));
	if (obj == NULL || ver == NULL) {
		fprintf(stderr, "bench-kv: out of memory\n");
		return 1;
	}
	t0 = now_s();
	for (long k = 0; k < cfg.n; k++) {
		obj[k] = malloc((size_t)cfg.size);
		if (obj[k] == NULL) {
			fprintf(stderr, "bench-kv: malloc(%ld) failed\n",
				cfg.size);
			return 1;
		}
		fill(obj[k], k, 0, words);
	}
	fill_secs = now_s() - t0;
	if (cfg.threads == 1) {
		if (cfg.warmup > 0)
			run_ops(&st, 0, cfg.warmup, &sum, &wupd, 0, 1);
		getrusage(RUSAGE_SELF, &r0);
		t0 = now_s();
		done =
		    run_ops(&st, cfg.ops, cfg.duration, &sum, &updates, 0, 1);
		t1 = now_s();
		getrusage(RUSAGE_SELF, &r1);
	} else {
		struct worker *ws = calloc((size_t)cfg.threads, sizeof(*ws));

		if (ws == NULL ||
		    pthread_barrier_init(&start_line, NULL,
					 (unsigned)cfg.threads + 1)) {
			fprintf(stderr, "bench-kv: out of memory\n");
			return 1;
		}
		for (int t = 0; t < cfg.threads; t++) {
			ws[t].t = t;
			ws[t].st = mix64(st + (uint64_t)t) | 1;
			if (pthread_create(&ws[t].tid, NULL, worker_main,
					   &ws[t])) {
				fprintf(stderr, "bench-kv: pthread_create "
						"failed\n");
				return 1;
			}
		}
		pthread_barrier_wait(&start_line);
		getrusage(RUSAGE_SELF, &r0);
		t0 = now_s();
		pthread_barrier_wait(&start_line);
		done = 0;
		for (int t = 0; t < cfg.threads; t++) {
			pthread_join(ws[t].tid, NULL);
			done += ws[t].done;
			updates += ws[t].updates;
			sum += ws[t].sum;
		}
		t1 = now_s();
		getrusage(RUSAGE_SELF, &r1);
		pthread_barrier_destroy(&start_line);
		free(ws);
	}

	for (long k = 0; k < cfg.n; k++) {
		if (!matches(obj[k], k, ver[k], words)) {
			if (bad++ < 5)
				fprintf(stderr,
					"bench-kv: object %ld does not hold "
					"version %u\n",
					k, ver[k]);
		}
		free(obj[k]);
	}
	free(obj);
	free(ver);
	getrusage(RUSAGE_SELF, &end);
	printf("bench-kv alloc=%s dist=%s theta=%.2f n=%ld size=%ld "
	       "updates_pct=%d threads=%d values=%s ops=%ld updates=%ld "
	       "secs=%.6f ops_per_sec=%.0f "
	       "cpu_user=%.3f cpu_sys=%.3f fill_secs=%.3f maxrss_kb=%ld "
	       "bad=%ld check=%llx\n",
	       allocator_name(), cfg.zipf ? "zipf" : "uniform",
	       cfg.zipf ? cfg.theta : 0.0, cfg.n, cfg.size, cfg.update_pct,
	       cfg.threads, val_names[cfg.values], done, updates, t1 - t0,
	       t1 > t0 ? (double)done / (t1 - t0) : 0.0,
	       tv(&r1.ru_utime) - tv(&r0.ru_utime),
	       tv(&r1.ru_stime) - tv(&r0.ru_stime), fill_secs, end.ru_maxrss,
	       bad, (unsigned long long)sum);
	if (bad) {
		fprintf(stderr, "bench-kv: %ld of %ld objects wrong\n", bad,
			cfg.n);
		return 1;
	}
	return 0;
}
