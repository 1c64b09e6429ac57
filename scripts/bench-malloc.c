/* SPDX-License-Identifier: MIT */
/*
 * bench-malloc - malloc/free throughput of whichever allocator the process
 * runs on: glibc, or one put in front of it with LD_PRELOAD (mimalloc,
 * libfarmem.so). A benchmark, not a test: scripts/farmem-bench-malloc runs
 * it under each allocator and compares. Links nothing of farmem; it only
 * looks the allocator up by name (dlsym) to say which one it measured.
 *
 * replace mode: each thread fills a working set of live slots, then picks a
 * slot at random, frees its block and allocates a new one (one operation).
 * xthread mode: threads pair up; the producer allocates, the consumer frees
 * (one operation per block), passed through a single-producer ring.
 *
 * Prints one line of key=value pairs: see usage().
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define PAGE	  4096
#define CACHELINE 64
#define RING_SIZE 1024 /* blocks in flight per producer/consumer pair */
/* The ring's indices are published once per batch, so that the pair
 * shares one cache line per RING_BATCH blocks, not per block: the allocator's
 * cross-thread free, not the ring, is what is measured. */
#define RING_BATCH 32
#define STOP_EVERY 64 /* operations between looks at the time cap */

enum mode { MODE_REPLACE, MODE_XTHREAD };
enum mix { MIX_SMALL, MIX_MEDIUM, MIX_MIXED, MIX_LARGE, MIX_COUNT };

static const struct {
	const char *name;
	long slots; /* live blocks per thread, replace mode */
	long ops;   /* operations per thread (per pair in xthread mode) */
	const char *sizes;
} mixes[MIX_COUNT] = {
    [MIX_SMALL] = {"small", 8192, 8000000, "16-256 B uniform"},
    [MIX_MEDIUM] = {"medium", 1024, 3000000, "1-32 KiB uniform"},
    [MIX_MIXED] = {"mixed", 2048, 3000000, "16 B-64 KiB log-uniform"},
    [MIX_LARGE] = {"large", 64, 200000,
		   "64 KiB-1 MiB uniform, every page touched"},
};

static struct {
	enum mode mode;
	enum mix mix;
	int threads;
	long slots;
	long ops;
	double max_secs; /* stop the timed part after this long, 0 = never */
	uint64_t seed;
} cfg = {MODE_REPLACE, MIX_SMALL, 1, 0, 0, 0, 0x243f6a8885a308d3ULL};

/* set when the time cap is reached: operations done so far count */
static int stop;

static inline size_t draw_size(enum mix mix, uint64_t *s)
{
	uint64_t r = rnd(s);

	switch (mix) {
	case MIX_SMALL:
		return 16 + below(r, 256 - 16 + 1);
	case MIX_MEDIUM:
		return 1024 + below(r, 32768 - 1024 + 1);
	case MIX_MIXED: {
		/* an octave 2^4..2^15 uniformly, then uniform inside it */
		unsigned e = 4 + (unsigned)(((r >> 32) * 12) >> 32);
		size_t base = (size_t)1 << e;
		return base + (size_t)(((r & 0xffffffffu) * base) >> 32);
	}
	case MIX_LARGE:
	default:
		return 65536 + below(r, (1 << 20) - 65536 + 1);
	}
}

/* Writes a tag in the first word (and, for the large mix, one byte per page,
 * as a program filling a buffer would): the allocator must hand out memory
 * that is really there. */
static inline void *get(enum mix mix, uint64_t *s)
{
	size_t n = draw_size(mix, s);
	char *p = malloc(n);

	if (p == NULL) {
		fprintf(stderr, "bench-malloc: malloc(%zu) failed\n", n);
		exit(1);
	}
	if (mix == MIX_LARGE)
		for (size_t off = PAGE; off < n; off += PAGE)
			p[off] = (char)off;
	*(uint64_t *)p = n;
	return p;
}

static inline uint64_t put(void *p)
{
	uint64_t tag = *(uint64_t *)p;

	free(p);
	return tag;
}

struct ring {
	_Alignas(CACHELINE) unsigned long head; /* written by the producer */
	int done; /* producer finished: head final */
	_Alignas(CACHELINE) unsigned long tail; /* written by the consumer */
	_Alignas(CACHELINE) void *slot[RING_SIZE];
};

/* Each thread times itself: the main thread may not run at the moment the
 * workers start (4 threads on 2 vCPUs; valgrind runs one at a time). */
struct worker {
	_Alignas(CACHELINE) pthread_t th;
	int id;
	uint64_t seed;
	uint64_t check;
	long ops;	   /* operations done in the timed part */
	struct ring *ring; /* xthread mode, shared by a pair */
	void *first;	   /* a block, to ask who owns it */
	struct timespec t0, t1;
	struct rusage r0, r1; /* this thread's, around the timed part */
};

static pthread_barrier_t started, stopped, released;
static int running; /* workers still in the timed part */

static void timed_begin(struct worker *w)
{
	pthread_barrier_wait(&started);
	getrusage(RUSAGE_THREAD, &w->r0);
	clock_gettime(CLOCK_MONOTONIC, &w->t0);
}

static void timed_end(struct worker *w)
{
	clock_gettime(CLOCK_MONOTONIC, &w->t1);
	getrusage(RUSAGE_THREAD, &w->r1);
	__atomic_sub_fetch(&running, 1, __ATOMIC_RELEASE);
	pthread_barrier_wait(&stopped);
	pthread_barrier_wait(&released);
}

static inline int should_stop(long i)
{
	return i % STOP_EVERY == 0 && __atomic_load_n(&stop, __ATOMIC_RELAXED);
}

/* A full or empty ring: spin a little, then let the other side run (4
 * threads share 2 vCPUs here, and a spinning peer only delays the one it
 * waits for). */
static inline void backoff(unsigned *spins)
{
	if (++*spins < 64) {
		__builtin_ia32_pause();
		return;
	}
	*spins = 0;
	sched_yield();
}

static void run_replace(struct worker *w)
{
	long slots = cfg.slots;
	void **set = calloc((size_t)slots, sizeof(*set));
	uint64_t s = w->seed, check = 0;
	enum mix mix = cfg.mix;
	long i;

	if (set == NULL) {
		fprintf(stderr, "bench-malloc: out of memory\n");
		exit(1);
	}
	for (i = 0; i < slots; i++)
		set[i] = get(mix, &s);
	/* one untimed pass of replacements to reach a steady state */
	for (i = 0; i < slots; i++) {
		uint64_t k = below(rnd(&s), (uint64_t)slots);
		check += put(set[k]);
		set[k] = get(mix, &s);
	}
	w->first = set[0];
	timed_begin(w);
	for (i = 0; i < cfg.ops && !should_stop(i); i++) {
		uint64_t k = below(rnd(&s), (uint64_t)slots);
		check += put(set[k]);
		set[k] = get(mix, &s);
	}
	w->ops = i;
	timed_end(w);
	for (i = 0; i < slots; i++)
		check += put(set[i]);
	free(set);
	w->check = check;
}

static void run_producer(struct worker *w)
{
	struct ring *r = w->ring;
	uint64_t s = w->seed;
	unsigned long head = 0, tail = 0;
	unsigned spins = 0;

	w->first = get(cfg.mix, &s);
	timed_begin(w);
	for (long i = 0; i < cfg.ops && !should_stop(i); i++) {
		void *p = get(cfg.mix, &s);

		while (head - tail == RING_SIZE) {
			__atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
			tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
			if (head - tail == RING_SIZE)
				backoff(&spins);
		}
		r->slot[head % RING_SIZE] = p;
		if (++head % RING_BATCH == 0)
			__atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	timed_end(w);
	w->check = put(w->first);
}

static void run_consumer(struct worker *w)
{
	struct ring *r = w->ring;
	unsigned long head = 0, tail = 0;
	unsigned spins = 0;
	uint64_t check = 0;

	timed_begin(w);
	for (;;) {
		while (tail == head) {
			/* done before head: a final head is then visible */
			int done = __atomic_load_n(&r->done, __ATOMIC_ACQUIRE);

			__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
			head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
			if (tail != head)
				break;
			if (done)
				goto out;
			backoff(&spins);
		}
		check += put(r->slot[tail % RING_SIZE]);
		if (++tail % RING_BATCH == 0)
			__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
	}
out:
	w->ops = (long)tail;
	timed_end(w);
	w->check = check;
}

/* xthread mode: the two threads of a pair on different CPUs, always. Left
 * to the scheduler, a pair sometimes shares one CPU and then runs in
 * batches of a full ring with no cross-CPU traffic, ten times faster:
 * the result would measure where the threads landed. */
static void pin(int id)
{
	cpu_set_t set;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (ncpu < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(id % ncpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (cfg.mode == MODE_XTHREAD)
		pin(w->id);
	if (cfg.mode == MODE_REPLACE)
		run_replace(w);
	else if (w->id % 2 == 0)
		run_producer(w);
	else
		run_consumer(w);
	return NULL;
}

/* "yes"/"no" if libfarmem.so is loaded and says @p is in its region */
static const char *managed(const void *p)
{
	int (*is)(const void *) =
	    (int (*)(const void *))dlsym(RTLD_DEFAULT, "fm_is_managed");

	if (is == NULL)
		return "-";
	return is(p) ? "yes" : "no";
}

static double seconds(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) * 1e-9;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: bench-malloc [options]\n"
	    "  -m, --mode=replace|xthread  working-set replacement in each "
	    "thread (default),\n"
	    "                              or producer/consumer pairs "
	    "(cross-thread free)\n"
	    "  -z, --mix=MIX               small|medium|mixed|large\n"
	    "  -t, --threads=N             threads (even in xthread mode); "
	    "default 1\n"
	    "  -s, --slots=N               live blocks per thread (replace)\n"
	    "  -n, --ops=N                 operations per thread (per pair "
	    "in xthread mode)\n"
	    "  -x, --scale=F               multiply the default -n by F\n"
	    "  -S, --seed=N                PRNG seed\n"
	    "  -T, --max-secs=S            stop the timed part after S "
	    "seconds (capped=1)\n"
	    "  -d, --duration=S            run for S seconds, however many "
	    "operations\n"
	    "mixes (default slots / ops):\n");
	for (int i = 0; i < MIX_COUNT; i++)
		fprintf(f, "  %-7s %-40s %6ld / %ld\n", mixes[i].name,
			mixes[i].sizes, mixes[i].slots, mixes[i].ops);
	fprintf(f,
		"Prints one line: bench-malloc alloc= mode= mix= threads= "
		"slots= ops= capped=\n"
		"secs= ops_per_sec= cpu_user= cpu_sys= minflt= maxrss_kib= "
		"managed= check=\n"
		"An operation is one malloc and one free (of the same block in "
		"xthread mode).\nThe fill and one warm-up pass are not timed; "
		"secs runs from the first worker's\nstart to the last one's "
		"end; cpu_* and minflt are the workers' in that part;\n"
		"maxrss_kib is the process's peak.\n");
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"mode", required_argument, NULL, 'm'},
	    {"mix", required_argument, NULL, 'z'},
	    {"threads", required_argument, NULL, 't'},
	    {"slots", required_argument, NULL, 's'},
	    {"ops", required_argument, NULL, 'n'},
	    {"scale", required_argument, NULL, 'x'},
	    {"seed", required_argument, NULL, 'S'},
	    {"max-secs", required_argument, NULL, 'T'},
	    {"duration", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	double scale = 1.0;
	int c, i;

	while ((c = getopt_long(argc, argv, "m:z:t:s:n:x:S:T:d:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'm':
			if (strcmp(optarg, "replace") == 0)
				cfg.mode = MODE_REPLACE;
			else if (strcmp(optarg, "xthread") == 0)
				cfg.mode = MODE_XTHREAD;
			else {
				fprintf(stderr, "bench-malloc: bad mode '%s'\n",
					optarg);
				exit(2);
			}
			break;
		case 'z':
			for (i = 0; i < MIX_COUNT; i++)
				if (strcmp(optarg, mixes[i].name) == 0)
					break;
			if (i == MIX_COUNT) {
				fprintf(stderr, "bench-malloc: bad mix '%s'\n",
					optarg);
				exit(2);
			}
			cfg.mix = (enum mix)i;
			break;
		case 't':
			cfg.threads = (int)bench_parse_long(
			    "bench-malloc", optarg, "thread count");
			break;
		case 's':
			cfg.slots = bench_parse_long("bench-malloc", optarg,
						     "slot count");
			break;
		case 'n':
			cfg.ops = bench_parse_long("bench-malloc", optarg,
						   "operation count");
			break;
		case 'x':
			scale = strtod(optarg, NULL);
			if (!(scale > 0)) {
				fprintf(stderr,
					"bench-malloc: bad scale '%s'\n",
					optarg);
				exit(2);
			}
			break;
		case 'S':
			cfg.seed = (uint64_t)bench_parse_long("bench-malloc",
							      optarg, "seed");
			break;
		case 'd':
			cfg.ops = LONG_MAX;
			/* fall through */
		case 'T':
			cfg.max_secs = strtod(optarg, NULL);
			if (!(cfg.max_secs > 0)) {
				fprintf(stderr, "bench-malloc: bad time '%s'\n",
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
	if (optind != argc || cfg.threads > 1024 ||
	    (cfg.mode == MODE_XTHREAD && cfg.threads % 2)) {
		fprintf(stderr, "bench-malloc: %s\n",
			optind != argc ? "unexpected argument"
				       : "xthread mode needs an even number of "
					 "threads, at most 1024");
		exit(2);
	}
	if (cfg.slots == 0)
		cfg.slots = mixes[cfg.mix].slots;
	if (cfg.ops == 0)
		cfg.ops = (long)((double)mixes[cfg.mix].ops * scale);
	if (cfg.ops < 1)
		cfg.ops = 1;
}

/* Waits for the workers to leave the timed part, stopping them at the cap.
 * Polls: a sleeping main thread costs the workers nothing. */
static void wait_timed(void)
{
	struct timespec t0, now, nap = {0, 2000000};

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (__atomic_load_n(&running, __ATOMIC_ACQUIRE) > 0) {
		nanosleep(&nap, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (cfg.max_secs > 0 && seconds(&t0, &now) > cfg.max_secs)
			__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	}
}

int main(int argc, char **argv)
{
	struct worker *w;
	struct ring *rings = NULL;
	struct timespec t0, t1;
	struct rusage end;
	double user = 0, sys = 0;
	long minflt = 0, total = 0;
	uint64_t check = 0;
	int n;

	parse_args(argc, argv);
	n = cfg.threads;
	w = aligned_alloc(CACHELINE, sizeof(*w) * (size_t)n);
	if (cfg.mode == MODE_XTHREAD)
		rings =
		    aligned_alloc(CACHELINE, sizeof(*rings) * (size_t)n / 2);
	if (w == NULL || (cfg.mode == MODE_XTHREAD && rings == NULL)) {
		fprintf(stderr, "bench-malloc: out of memory\n");
		return 1;
	}
	memset(w, 0, sizeof(*w) * (size_t)n);
	if (rings)
		memset(rings, 0, sizeof(*rings) * (size_t)n / 2);
	running = n;
	pthread_barrier_init(&started, NULL, (unsigned)n + 1);
	pthread_barrier_init(&stopped, NULL, (unsigned)n + 1);
	pthread_barrier_init(&released, NULL, (unsigned)n + 1);
	for (int i = 0; i < n; i++) {
		uint64_t s =
		    cfg.seed + 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);

		w[i].id = i;
		w[i].seed = s ? s : 1;
		w[i].ring = rings ? &rings[i / 2] : NULL;
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i])) {
			fprintf(stderr,
				"bench-malloc: pthread_create failed\n");
			return 1;
		}
	}
	pthread_barrier_wait(&started);
	wait_timed();
	pthread_barrier_wait(&stopped);
	t0 = w[0].t0;
	t1 = w[0].t1;
	for (int i = 0; i < n; i++) {
		if (seconds(&w[i].t0, &t0) > 0)
			t0 = w[i].t0;
		if (seconds(&t1, &w[i].t1) > 0)
			t1 = w[i].t1;
		user += tv(&w[i].r1.ru_utime) - tv(&w[i].r0.ru_utime);
		sys += tv(&w[i].r1.ru_stime) - tv(&w[i].r0.ru_stime);
		minflt += w[i].r1.ru_minflt - w[i].r0.ru_minflt;
		/* xthread: a block counts once, when its consumer frees it */
		if (cfg.mode == MODE_REPLACE || w[i].id % 2)
			total += w[i].ops;
	}
	pthread_barrier_wait(&released);
	for (int i = 0; i < n; i++) {
		pthread_join(w[i].th, NULL);
		check += w[i].check;
	}
	getrusage(RUSAGE_SELF, &end);

	double secs = seconds(&t0, &t1);
	printf(
	    "bench-malloc alloc=%s mode=%s mix=%s threads=%d slots=%ld "
	    "ops=%ld capped=%d secs=%.6f ops_per_sec=%.0f cpu_user=%.3f "
	    "cpu_sys=%.3f minflt=%ld maxrss_kib=%ld managed=%s check=%llx\n",
	    allocator_name(), cfg.mode == MODE_REPLACE ? "replace" : "xthread",
	    mixes[cfg.mix].name, n,
	    cfg.mode == MODE_REPLACE ? cfg.slots : (long)RING_SIZE, total, stop,
	    secs, secs > 0 ? (double)total / secs : 0.0, user, sys, minflt,
	    end.ru_maxrss, managed(w[0].first), (unsigned long long)check);
	free(rings);
	free(w);
	return 0;
}
