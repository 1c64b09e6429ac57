/* SPDX-License-Identifier: MIT */
/*
 * fork_heap - fork without exec on the managed heap.
 *
 *  1. The child reads the parent's heap (pattern-filled blocks, small to
 *     32 MiB), mutates and frees its copy, allocates anew; the parent's
 *     copy is unchanged after the child has exited.
 *  2. A child that allocates and frees a lot, and forks a grandchild.
 *  3. Forks while other threads allocate: no lock may be left held in the
 *     child (a hang here is a deadlock; lib.sh's timeout catches it).
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
#include <sys/wait.h>
#include <unistd.h>

#include "fmcheck.h"

#define NBLOCKS 2000
#define LARGE	((size_t)32 << 20)

struct blk {
	unsigned char *p;
	size_t n;
};

static struct blk blocks[NBLOCKS];

static size_t size_of(int i)
{
	if (i == 0)
		return LARGE;
	if (i % 100 == 1)
		return (size_t)300 << 10; /* discardable when freed */
	if (i % 10 == 2)
		return 5000 + (size_t)i * 13;
	return 1 + (size_t)(i * 37 % 700);
}

static int verify_all(const char *who)
{
	int bad = 0;

	for (int i = 0; i < NBLOCKS; i++)
		if (blocks[i].p &&
		    !fmc_verify(blocks[i].p, blocks[i].n, (uint32_t)i)) {
			if (bad++ < 5)
				fmc_fail("%s: block %d (%zu bytes) differs",
					 who, i, blocks[i].n);
		}
	return bad;
}

/* Waits for @pid; returns its exit status, or 128 + signal. */
static int wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/* ---- 1: the child sees, then changes, its copy ------------------------- */

static int child_reads_and_mutates(void)
{
	int bad = verify_all("child before mutation");
	void *fresh[1000];

	/* mutate everything, free half, allocate new blocks */
	for (int i = 0; i < NBLOCKS; i++) {
		memset(blocks[i].p, 0xee, blocks[i].n);
		if (i % 2) {
			free(blocks[i].p);
			blocks[i].p = NULL;
		}
	}
	for (int i = 0; i < 1000; i++) {
		fresh[i] = malloc((size_t)(i % 50) * 100 + 1);
		if (fresh[i] == NULL)
			bad++;
		fmc_managed(fresh[i], "child malloc");
	}
	void *big = malloc(LARGE);
	if (big == NULL)
		bad++;
	else
		memset(big, 0x11, LARGE);
	fmc_managed(big, "child large malloc");
	free(big);
	for (int i = 0; i < 1000; i++)
		free(fresh[i]);
	return bad || fmc_failures ? 1 : 0;
}

static void test_copy_on_write(void)
{
	pid_t pid;
	int rc, bad;

	for (int i = 0; i < NBLOCKS; i++) {
		blocks[i].n = size_of(i);
		blocks[i].p = malloc(blocks[i].n);
		if (blocks[i].p == NULL) {
			fmc_fail("malloc(%zu) failed", blocks[i].n);
			exit(1);
		}
		fmc_managed(blocks[i].p, "parent block");
		fmc_fill(blocks[i].p, blocks[i].n, (uint32_t)i);
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0)
		_exit(child_reads_and_mutates());
	rc = wait_child(pid);
	printf(
	    "child read %d blocks (largest %zu MiB), mutated them: exit %d\n",
	    NBLOCKS, LARGE >> 20, rc);
	if (rc != 0)
		fmc_fail("the child saw a wrong heap or could not allocate");
	bad = verify_all("parent after the child");
	printf("parent's copy after the child exited: %s\n",
	       bad ? "CHANGED" : "unchanged");
	/* the parent goes on normally: free, reallocate, verify */
	for (int i = 0; i < NBLOCKS; i += 3) {
		free(blocks[i].p);
		blocks[i].n = size_of(i + 1);
		blocks[i].p = malloc(blocks[i].n);
		fmc_fill(blocks[i].p, blocks[i].n, (uint32_t)i);
	}
	bad = verify_all("parent after reallocating");
	printf("parent after reallocating: %s\n", bad ? "BROKEN" : "ok");
}

/* ---- 2: a child that churns, and a grandchild --------------------------- */

static int churn(unsigned seed, int rounds)
{
	void *slot[256] = {0};
	int bad = 0;

	for (int i = 0; i < rounds; i++) {
		int k;
		size_t n;

		seed = seed * 1103515245u + 12345u;
		k = (int)((seed >> 16) & 255);
		free(slot[k]);
		seed = seed * 1103515245u + 12345u;
		n = (seed >> 12) %
			(((seed >> 28) & 7) == 0 ? (1u << 20) : 2048u) +
		    1;
		slot[k] = (seed >> 27 & 1) ? malloc(n) : calloc(1, n);
		if (slot[k] == NULL)
			bad++;
		else
			memset(slot[k], k, n);
		fmc_managed(slot[k], "churn");
	}
	for (int k = 0; k < 256; k++)
		free(slot[k]);
	return bad;
}

static void test_churning_child(void)
{
	pid_t pid;
	int rc;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int bad = churn(1, 50000);
		pid_t g = fork();
		if (g == 0)
			_exit(churn(2, 20000) || fmc_failures ? 1 : 0);
		if (g < 0 || wait_child(g) != 0)
			bad++;
		bad += churn(3, 20000);
		_exit(bad || fmc_failures ? 1 : 0);
	}
	rc = wait_child(pid);
	printf("churning child (and grandchild): exit %d\n", rc);
	if (rc != 0)
		fmc_fail("the churning child failed: %d", rc);
	if (verify_all("parent after churning child"))
		printf("parent after churning child: BROKEN\n");
}

/* ---- 3: fork while other threads allocate ------------------------------- */

#define FORKS 10

static volatile int stop;

static void *allocator_thread(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	void *slot[64] = {0};

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		seed = seed * 1103515245u + 12345u;
		int k = (int)((seed >> 16) & 63);
		free(slot[k]);
		slot[k] = malloc((seed >> 8) % 100000 + 1);
	}
	for (int k = 0; k < 64; k++)
		free(slot[k]);
	return NULL;
}

static void test_fork_under_load(void)
{
	pthread_t th[2];
	int failed = 0;

	for (int t = 0; t < 2; t++)
		pthread_create(&th[t], NULL, allocator_thread,
			       (void *)(uintptr_t)(t + 10));
	for (int i = 0; i < FORKS; i++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			/* only this thread exists here: every lock the
			 * others held must have been released */
			int bad = churn((unsigned)i, 2000);
			char *s = strdup("child");
			bad += s == NULL;
			free(s);
			_exit(bad ? 1 : 0);
		}
		if (pid < 0 || wait_child(pid) != 0)
			failed++;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	printf("%d forks while 2 threads allocate: %d failed\n", FORKS, failed);
	if (failed)
		fmc_fail("%d children forked under load failed", failed);
}

int main(void)
{
	fmc_init();
	test_copy_on_write();
	test_churning_child();
	test_fork_under_load();
	for (int i = 0; i < NBLOCKS; i++)
		free(blocks[i].p);
	return fmc_exit_status();
}
