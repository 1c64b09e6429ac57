/* SPDX-License-Identifier: MIT */
/*
 * startup - start-up, thread and exit edge cases of the preload.
 *
 * usage: startup MODE
 *   threads     threads created, joined, detached, exiting by pthread_exit
 *   tls         pthread_key destructors that malloc and free at thread exit
 *   atexit      atexit handlers and a destructor that allocate and free
 *   exit-thread exit() called from a thread while main waits
 *   foreign     free() of pointers the heap never gave out (farmem only:
 *               glibc aborts); the "foreign frees" counter rises
 *   exhaust     allocate 1 MiB blocks until NULL (farmem only, with a small
 *               FARMEM_REGION): ENOMEM, the program survives, frees and
 *               allocates again
 *   simple      a little work, for runs under resource limits
 *
 * stdout is deterministic; self-checks on stderr, exit status 1 on failure.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmcheck.h"

static char *work(int n)
{
	char *s = NULL;
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		char buf[32];
		int k = snprintf(buf, sizeof(buf), "%d,", i * 7 % 1000);
		char *t = realloc(s, len + (size_t)k + 1);
		if (t == NULL) {
			free(s);
			return NULL;
		}
		s = t;
		memcpy(s + len, buf, (size_t)k + 1);
		len += (size_t)k;
	}
	fmc_managed(s, "work");
	return s;
}

static unsigned long sum_digits(const char *s)
{
	unsigned long h = 0;

	for (; s && *s; s++)
		h = h * 31 + (unsigned char)*s;
	return h % 1000003;
}

/* ---- threads ------------------------------------------------------------- */

static int detached_done;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

static void *thread_fn(void *arg)
{
	int i = (int)(intptr_t)arg;
	char *s = work(100 + i);
	unsigned long h = sum_digits(s);

	free(s);
	if (i % 3 == 0) {
		void *p = malloc(1000);
		fmc_managed(p, "before pthread_exit");
		free(p);
		pthread_exit((void *)h);
	}
	return (void *)h;
}

static void *detached_fn(void *arg)
{
	char *s = work(50);

	(void)arg;
	free(s);
	pthread_mutex_lock(&lock);
	detached_done++;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void mode_threads(void)
{
	unsigned long total = 0;
	pthread_attr_t attr;

	for (int round = 0; round < 50; round++) {
		pthread_t th[4];
		for (int t = 0; t < 4; t++)
			pthread_create(&th[t], NULL, thread_fn,
				       (void *)(intptr_t)(round * 4 + t));
		for (int t = 0; t < 4; t++) {
			void *h;
			pthread_join(th[t], &h);
			total += (unsigned long)h;
		}
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < 40; i++) {
		pthread_t th;
		pthread_create(&th, &attr, detached_fn, NULL);
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_lock(&lock);
	while (detached_done < 40)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	printf("threads: 200 joined (checksum %lu), 40 detached done\n", total);
}

/* ---- pthread_key destructors ----------------------------------------------- */

static pthread_key_t key1, key2;
static int destructor_runs;

static void key_destructor(void *v)
{
	char **pp = v;
	char *copy = strdup(*pp); /* allocate at thread exit */

	if (copy == NULL || strcmp(copy, *pp) != 0)
		fmc_fail("strdup in a key destructor");
	fmc_managed(copy, "key destructor strdup");
	free(copy);
	free(*pp);
	free(pp);
	__atomic_fetch_add(&destructor_runs, 1, __ATOMIC_RELAXED);
}

/* Sets a new value once: glibc calls destructors again (up to
 * PTHREAD_DESTRUCTOR_ITERATIONS) while values are set. */
static void key_destructor_again(void *v)
{
	intptr_t round = (intptr_t)v;
	void *p = malloc(100 * (size_t)round);

	fmc_managed(p, "second key destructor");
	free(p);
	if (round < 3)
		pthread_setspecific(key2, (void *)(round + 1));
	__atomic_fetch_add(&destructor_runs, 1, __ATOMIC_RELAXED);
}

static void *tls_thread(void *arg)
{
	char **pp = malloc(sizeof(*pp));

	*pp = work(20 + (int)(intptr_t)arg);
	pthread_setspecific(key1, pp);
	pthread_setspecific(key2, (void *)1);
	return NULL;
}

static void mode_tls(void)
{
	pthread_key_create(&key1, key_destructor);
	pthread_key_create(&key2, key_destructor_again);
	for (int i = 0; i < 20; i++) {
		pthread_t th;
		pthread_create(&th, NULL, tls_thread, (void *)(intptr_t)i);
		pthread_join(th, NULL);
	}
	printf("tls: %d destructor calls for 20 threads\n",
	       __atomic_load_n(&destructor_runs, __ATOMIC_RELAXED));
}

/* ---- exit paths ---------------------------------------------------------------- */

static void atexit_one(void)
{
	char *s = work(300);

	printf("atexit handler 1: %lu\n", sum_digits(s));
	free(s);
	fflush(stdout);
}

static void atexit_two(void)
{
	void *blocks[100];

	for (int i = 0; i < 100; i++)
		blocks[i] = malloc((size_t)i * 1000 + 1);
	for (int i = 0; i < 100; i++)
		free(blocks[i]);
	printf("atexit handler 2: allocated and freed 100 blocks\n");
}

static int run_destructor;

__attribute__((destructor)) static void program_destructor(void)
{
	char *s;

	if (!run_destructor)
		return;
	s = work(10);
	/* stdout may be closed by now: write(2) */
	if (write(1, "destructor: ok\n", 15) < 0 || s == NULL)
		_exit(3);
	free(s);
}

/* Registered first, so it runs last: failures of the other handlers
 * become the exit status. */
static void atexit_last(void)
{
	if (__atomic_load_n(&fmc_failures, __ATOMIC_RELAXED))
		_exit(1);
}

static void mode_atexit(void)
{
	atexit(atexit_last);
	atexit(atexit_one);
	atexit(atexit_two);
	run_destructor = 1;
	printf("main returns\n");
}

static void *exit_thread(void *arg)
{
	char *s = work(100);

	(void)arg;
	printf("thread calls exit: %lu\n", sum_digits(s));
	free(s);
	exit(fmc_exit_status());
}

static void mode_exit_thread(void)
{
	pthread_t th;

	atexit(atexit_two);
	pthread_create(&th, NULL, exit_thread, NULL);
	pthread_join(th, NULL); /* never returns */
	printf("NOT REACHED\n");
}

/* ---- foreign pointers ----------------------------------------------------------- */

static char static_buf[4096];

static void mode_foreign(void)
{
	struct fm_stats a, b;
	char on_stack[64];

	if (!fmc_managed_on) {
		printf("foreign: needs farmem (glibc aborts on these frees)\n");
		return;
	}
	/* through a volatile: the compiler rightly refuses the plain calls */
	void *volatile foreign[3] = {static_buf + 16, static_buf + 1024,
				     on_stack};

	fmc_stats(&a);
	for (int i = 0; i < 3; i++)
		free(foreign[i]);
	fmc_stats(&b);
	printf("foreign: 3 frees of pointers nobody allocated survived, "
	       "counter +%llu\n",
	       (unsigned long long)(b.foreign_frees - a.foreign_frees));
	FMC_CHECK(b.foreign_frees - a.foreign_frees == 3,
		  "foreign frees counted %llu, want 3",
		  (unsigned long long)(b.foreign_frees - a.foreign_frees));
	/* the heap goes on working */
	char *s = work(100);
	printf("foreign: heap still works: %lu\n", sum_digits(s));
	free(s);
}

/* ---- region exhaustion ------------------------------------------------------- */

#define MAX_BLOCKS 4096 /* 4 GiB: only reached if the region does not end */

static void mode_exhaust(void)
{
	static void *blocks[MAX_BLOCKS];
	struct fm_stats s;
	int n = 0, again = 0, err = 0;

	if (!fmc_managed_on) {
		printf("exhaust: needs farmem (would allocate until the "
		       "system runs out)\n");
		return;
	}
	fmc_stats(&s);
	for (; n < MAX_BLOCKS; n++) {
		errno = 0;
		blocks[n] = malloc((size_t)1 << 20);
		if (blocks[n] == NULL) {
			err = errno;
			break;
		}
		fmc_managed(blocks[n], "exhaust");
		memset(blocks[n], n & 0xff, 4096);
	}
	printf("exhaust: region %llu MiB, %d MiB allocated, then %s\n",
	       (unsigned long long)(s.region_size >> 20), n,
	       n < MAX_BLOCKS ? (err == ENOMEM ? "NULL with ENOMEM"
					       : "NULL with another errno")
			      : "NO NULL");
	FMC_CHECK(n < MAX_BLOCKS && err == ENOMEM,
		  "malloc did not fail with ENOMEM at the region's end (%d)",
		  err);
	/* calloc, realloc and aligned allocation fail the same way */
	errno = 0;
	FMC_CHECK(calloc(1, (size_t)1 << 20) == NULL && errno == ENOMEM,
		  "calloc at the region's end");
	void *small = malloc(10);
	void *r = small ? realloc(small, (size_t)8 << 20) : NULL;
	FMC_CHECK(small == NULL || r == NULL, "realloc at the region's end");
	free(r ? r : small);
	for (int i = 0; i < n; i++) {
		if (((unsigned char *)blocks[i])[4095] != (i & 0xff))
			fmc_fail("block %d changed", i);
		free(blocks[i]);
	}
	for (; again < n; again++) {
		blocks[again] = malloc((size_t)1 << 20);
		if (blocks[again] == NULL)
			break;
	}
	printf("exhaust: after freeing, %s again\n",
	       again >= n * 9 / 10 ? "most of it allocates" : "TOO LITTLE");
	FMC_CHECK(again >= n * 9 / 10, "only %d of %d MiB again", again, n);
	for (int i = 0; i < again; i++)
		free(blocks[i]);
}

static void mode_simple(void)
{
	char *s = work(2000);

	printf("simple: %lu\n", sum_digits(s));
	free(s);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "simple";

	fmc_init();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "threads") == 0)
		mode_threads();
	else if (strcmp(mode, "tls") == 0)
		mode_tls();
	else if (strcmp(mode, "atexit") == 0)
		mode_atexit();
	else if (strcmp(mode, "exit-thread") == 0)
		mode_exit_thread();
	else if (strcmp(mode, "foreign") == 0)
		mode_foreign();
	else if (strcmp(mode, "exhaust") == 0)
		mode_exhaust();
	else if (strcmp(mode, "simple") == 0)
		mode_simple();
	else {
		fprintf(stderr, "usage: startup threads|tls|atexit|"
				"exit-thread|foreign|exhaust|simple\n");
		return 2;
	}
	return fmc_exit_status();
}
