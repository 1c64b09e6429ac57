/* SPDX-License-Identifier: MIT */
/*
 * fork MIB MODE [FILE] - fork while much of the heap is evicted.
 *
 *   mutate  the child verifies the parent's (evicted) data and rewrites
 *           all of it, while the parent rewrites half of its own; each
 *           sees only its own writes, the parent none of the child's.
 *   orphan  the parent exits right after fork; the child (in a session
 *           of its own) waits for that, then verifies and rewrites the
 *           data, and writes its verdict to FILE.
 *   exec    children that exec a shell: fork + execl("sh -c"), system(),
 *           popen(); the parent's data is intact after each.
 *   threads like mutate, after four threads have run and exited (their
 *           stacks wait in glibc's cache, with the DTVs it malloc'ed for
 *           them, which the pager may have evicted).
 *   loop N  N forks of a child that exits at once, the parent rewriting
 *           one block after each (as a server or a shell forks all day):
 *           every fork shares the far memory written so far with the
 *           child; the parent must keep paging, its data intact.
 *
 * stdout is deterministic; self-checks on stderr.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sys/wait.h>

#include "pager_common.h"

struct blk {
	unsigned char *p;
	size_t n;
	uint32_t ver;
};

static struct blk *blk;
static size_t nblk, total;

static void fill_all(size_t mib)
{
	uint64_t rng = 7;
	size_t sum = 0, cap = 64;

	blk = calloc(cap, sizeof(*blk));
	while (blk && sum < mib * FMP_MIB) {
		size_t n = fmp_below(&rng, 4) == 0
			       ? 16 + fmp_below(&rng, 4000)
			       : (64 << 10) + fmp_below(&rng, (size_t)2 << 20);
		if (nblk == cap) {
			struct blk *more = realloc(blk, 2 * cap * sizeof(*blk));
			if (more == NULL)
				break;
			blk = more;
			cap *= 2;
		}
		blk[nblk].p = malloc(n);
		if (blk[nblk].p == NULL)
			break;
		blk[nblk].n = n;
		blk[nblk].ver = 0;
		fmp_fill(blk[nblk].p, n, (uint32_t)nblk, 0);
		sum += n;
		nblk++;
	}
	if (blk == NULL || sum < mib * FMP_MIB) {
		fmc_fail("out of memory");
		exit(1);
	}
	total = sum;
}

/* How many blocks do not hold their pattern at their current version. */
static size_t verify_all(const char *who)
{
	size_t bad = 0;

	for (size_t i = 0; i < nblk; i++) {
		long off =
		    fmp_check(blk[i].p, blk[i].n, (uint32_t)i, blk[i].ver);
		if (off >= 0 && bad++ < 5)
			fmc_fail("%s: block %zu (%zu bytes, version %u) "
				 "differs at %ld",
				 who, i, blk[i].n, blk[i].ver, off);
	}
	return bad;
}

static void rewrite(size_t step, uint32_t ver)
{
	for (size_t i = 0; i < nblk; i += step) {
		blk[i].ver = ver;
		fmp_fill(blk[i].p, blk[i].n, (uint32_t)i, ver);
	}
}

static int wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int mode_mutate(void)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fmc_fail("fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		size_t bad = verify_all("child, parent's data");
		rewrite(1, 1);
		fmp_churn(total / FMP_MIB);
		bad += verify_all("child, its own rewrite");
		fmp_report_hwm();
		exit(bad || fmc_failures ? 1 : 0);
	}
	rewrite(2, 2); /* while the child runs */
	st = wait_status(pid);
	FMC_CHECK(st == 0, "the child failed (status %d)", st);
	printf("child: %s\n",
	       st == 0 ? "verified and rewrote everything" : "FAILED");
	fmp_churn(total / FMP_MIB);
	printf("parent: %zu blocks differ after the child\n",
	       verify_all("parent after the child"));
	return 0;
}

static int mode_orphan(const char *file)
{
	char tmp[4096];
	pid_t parent = getpid(), pid;
	FILE *f;

	pid = fmp_fork_detached(file);
	if (pid < 0) {
		fmc_fail("fork: %s", strerror(errno));
		return 1;
	}
	if (pid > 0) {
		printf("parent: exits, leaving the child\n");
		return 0;
	}
	/* bounded: the driver gives up long before */
	for (int i = 0; i < 60000 && getppid() == parent; i++)
		usleep(1000);
	FMC_CHECK(getppid() != parent, "the parent did not exit");
	size_t bad = verify_all("orphan, parent's data");
	rewrite(1, 3);
	fmp_churn(total / FMP_MIB);
	bad += verify_all("orphan, its own rewrite");
	fmp_report_hwm();
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	f = fopen(tmp, "w");
	if (f == NULL)
		exit(1);
	fprintf(f, "orphan: %zu blocks, %zu bytes, %zu differ\n", nblk, total,
		bad);
	fclose(f);
	rename(tmp, file);
	exit(bad || fmc_failures ? 1 : 0);
}

static int mode_exec(void)
{
	pid_t pid;
	int st;
	char line[128];
	FILE *p;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "echo 'sh -c: hello'; exit 3",
		      (char *)NULL);
		_exit(127);
	}
	st = wait_status(pid);
	printf("fork+exec: status %d\n", st);
	printf("fork+exec: parent's data: %zu blocks differ\n",
	       verify_all("after fork+exec"));

	fflush(stdout);
	st = system("echo 'system: hello'; exit 4");
	printf("system: status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	printf("system: parent's data: %zu blocks differ\n",
	       verify_all("after system"));

	fmp_churn(total / FMP_MIB);
	p = popen("echo 'popen: hello'", "r");
	if (p == NULL) {
		fmc_fail("popen: %s", strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), p))
		printf("popen read: %s", line);
	st = pclose(p);
	printf("popen: status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	printf("popen: parent's data: %zu blocks differ\n",
	       verify_all("after popen"));
	return 0;
}

static void *short_thread(void *arg)
{
	char *p = malloc(1000);

	if (p)
		memset(p, (int)(uintptr_t)arg, 1000);
	free(p);
	return NULL;
}

/* Threads that come and go: glibc keeps their stacks for reuse. */
static void run_threads(void)
{
	pthread_t th[4];

	for (int i = 0; i < 4; i++)
		if (pthread_create(&th[i], NULL, short_thread,
				   (void *)(uintptr_t)(i + 1)))
			fmc_fail("pthread_create failed");
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
}

static void *fill_thread(void *arg)
{
	fill_all(*(size_t *)arg);
	return NULL;
}

static int mode_loop(long n)
{
	for (long i = 0; i < n; i++) {
		pid_t pid;
		size_t b = (size_t)i % nblk;

		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			fmc_fail("fork %ld: %s", i, strerror(errno));
			return 1;
		}
		if (pid == 0)
			_exit(0);
		FMC_CHECK(wait_status(pid) == 0, "child %ld failed", i);
		blk[b].ver++;
		fmp_fill(blk[b].p, blk[b].n, (uint32_t)b, blk[b].ver);
	}
	printf("loop: %ld forks; %zu blocks differ\n", n,
	       verify_all("after the forks"));
	return 0;
}

int main(int argc, char **argv)
{
	size_t mib = fmp_mib_arg(argc, argv, 1, 64);
	const char *mode = argc > 2 ? argv[2] : "mutate";
	int rc;

	fmc_init();
	if (strcmp(mode, "threads") == 0) {
		/* the blocks from another thread's heap: nothing the main
		 * thread allocates keeps the DTVs' page warm */
		pthread_t th;
		run_threads();
		if (pthread_create(&th, NULL, fill_thread, &mib) == 0)
			pthread_join(th, NULL);
		else
			fmc_fail("pthread_create failed");
	} else {
		fill_all(mib);
	}
	printf("%zu blocks, %zu bytes\n", nblk, total);
	fmp_churn(mib);
	if (fmp_evict_expected()) {
		size_t pages = 0, absent = 0;

		for (size_t i = 0; i < nblk; i++) {
			pages += fmp_pages(blk[i].p, blk[i].n);
			absent += fmp_absent(blk[i].p, blk[i].n);
		}
		fmp_expect_absent(absent, pages, 50, "before fork");
	}
	if (strcmp(mode, "mutate") == 0 || strcmp(mode, "threads") == 0) {
		rc = mode_mutate();
	} else if (strcmp(mode, "orphan") == 0 && argc > 3) {
		rc = mode_orphan(argv[3]);
	} else if (strcmp(mode, "exec") == 0) {
		rc = mode_exec();
	} else if (strcmp(mode, "loop") == 0 && argc > 3) {
		rc = mode_loop(strtol(argv[3], NULL, 10));
	} else {
		fprintf(stderr,
			"usage: %s MIB mutate|threads|orphan FILE|exec|"
			"loop N\n",
			argv[0]);
		return 2;
	}
	fmp_report_hwm();
	return rc ? rc : fmc_exit_status();
}
