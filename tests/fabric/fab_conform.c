/* SPDX-License-Identifier: MIT */
/*
 * Backend conformance: the contract of fabric/fab.h, run against either
 * backend.
 *
 *   fab_conform memfd SIZE|"" [TEST...]
 *   fab_conform ofi HOST:PORT[,HOST:PORT] [TEST...]   (FARMEM_TOKEN set)
 *
 * TEST: basic errors zero fork stale cancel threads two enospc[=N] lose=PID
 * trim; default all but enospc, which needs a pool of its own (=N: exactly
 * N chunks fit), lose, which kills the server (PID), and trim, for shm
 * only.
 */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fabric/fab.h"
#include "tests/fabric/fabtest.h"

static const struct fab_ops *ops;
static const char *spec;

#define NCHUNK 12

/* Waits for @n completions whose contexts are 1..n (each exactly once,
 * all successful), polling like the pager does. */
static void wait_done(struct fab_backend *b, uint8_t *seen, size_t n)
{
	struct fab_completion c[64];
	size_t left = n;

	memset(seen, 0, n);
	while (left > 0) {
		int k = ops->poll(b, c, 64);
		if (k < 0)
			FT_FAIL("poll: %s", strerror(-k));
		for (int i = 0; i < k; i++) {
			uintptr_t idx = (uintptr_t)c[i].ctx;
			if (idx == 0 || idx > n || seen[idx - 1])
				FT_FAIL("completion with context %lu (of %zu)",
					(unsigned long)idx, n);
			if (c[i].status)
				FT_FAIL("op %lu failed: %s", (unsigned long)idx,
					strerror(-c[i].status));
			seen[idx - 1] = 1;
			left--;
		}
	}
}

/* Nothing more may complete. */
static void expect_idle(struct fab_backend *b)
{
	struct fab_completion c[4];

	for (int i = 0; i < 1000; i++)
		FT_RET(ops->poll(b, c, 4), 0);
}

static struct fab_backend *open_backend(void)
{
	struct fab_backend *b = NULL;

	FT_RET(ops->open(spec, &b), 0);
	FT_CHECK(b != NULL);
	return b;
}

/* Writes chunks with pieces of varied sizes, many in flight; reads them
 * back page by page in a scrambled order, all in flight at once. */
static void t_basic(void)
{
	static const size_t piece[] = {4096,	     65536, 12288,  100,
				       4096 * 3 + 7, 1,	    131072, 8192 - 3};
	struct fab_backend *b = open_backend();
	size_t len = NCHUNK * FAB_CHUNK, nops = 0;
	char *src = ft_area(len), *dst = ft_area(len);
	fab_chunk_t ch[NCHUNK];
	uint8_t *seen;
	uint64_t rnd = 42;
	uint32_t *order;
	size_t npages = len / 4096;

	FT_RET(ops->reg(b, src, len), 0);
	FT_RET(ops->reg(b, dst, len), 0);
	for (int i = 0; i < NCHUNK; i++) {
		FT_RET(ops->chunk_alloc(b, &ch[i]), 0);
		for (int j = 0; j < i; j++)
			FT_CHECK(ch[i] != ch[j]);
		ft_fill(src + i * FAB_CHUNK, FAB_CHUNK, 7, (uint64_t)i);
	}
	seen = malloc(npages + 4096);
	/* writes: every chunk covered by consecutive pieces */
	for (int i = 0; i < NCHUNK; i++) {
		size_t off = 0;
		for (int k = i; off < FAB_CHUNK; k++) {
			size_t n = piece[k % 8];
			if (n > FAB_CHUNK - off)
				n = FAB_CHUNK - off;
			FT_RET(ops->write(b, ch[i], off,
					  src + i * FAB_CHUNK + off, n,
					  (void *)(uintptr_t)++nops),
			       0);
			off += n;
		}
	}
	wait_done(b, seen, nops);
	expect_idle(b);

	/* reads: every 4 KiB page, shuffled, all posted before any poll */
	order = malloc(npages * sizeof(*order));
	for (size_t p = 0; p < npages; p++)
		order[p] = (uint32_t)p;
	for (size_t p = npages - 1; p > 0; p--) {
		size_t q = ft_rand(&rnd) % (p + 1);
		uint32_t t = order[p];
		order[p] = order[q];
		order[q] = t;
	}
	for (size_t p = 0; p < npages; p++) {
		size_t pg = order[p], i = pg * 4096 / FAB_CHUNK;
		size_t off = pg * 4096 % FAB_CHUNK;
		FT_RET(ops->read(b, ch[i], off, dst + pg * 4096, 4096,
				 (void *)(uintptr_t)(p + 1)),
		       0);
	}
	wait_done(b, seen, npages);
	FT_CHECK(memcmp(src, dst, len) == 0);

	/* one 2 MiB read, and one unaligned read across pieces */
	memset(dst, 0, FAB_CHUNK);
	FT_RET(ops->read(b, ch[3], 0, dst, FAB_CHUNK, (void *)1), 0);
	wait_done(b, seen, 1);
	FT_CHECK(memcmp(src + 3 * FAB_CHUNK, dst, FAB_CHUNK) == 0);
	FT_RET(ops->read(b, ch[5], 4095, dst + 1, 70001, (void *)1), 0);
	wait_done(b, seen, 1);
	FT_CHECK(memcmp(src + 5 * FAB_CHUNK + 4095, dst + 1, 70001) == 0);

	for (int i = 0; i < NCHUNK; i++)
		FT_RET(ops->chunk_put(b, ch[i]), 0);
	expect_idle(b);
	ops->close(b);
	free(order);
	free(seen);
	munmap(src, len);
	munmap(dst, len);
}

static void t_errors(void)
{
	struct fab_backend *b = open_backend();
	char *buf = ft_area(2 * FAB_CHUNK), *unreg = ft_area(8192);
	fab_chunk_t c, bogus;

	FT_RET(ops->reg(b, buf, 2 * FAB_CHUNK), 0);
	FT_RET(ops->reg(b, buf, 2 * FAB_CHUNK), 0); /* again: harmless */
	FT_RET(ops->chunk_alloc(b, &c), 0);
	/* out of the chunk */
	FT_RET(ops->read(b, c, FAB_CHUNK - 4096, buf, 8192, NULL), -EINVAL);
	FT_RET(ops->write(b, c, FAB_CHUNK, buf, 1, NULL), -EINVAL);
	FT_RET(ops->read(b, c, 0, buf, 0, NULL), -EINVAL);
	FT_RET(ops->read(b, c, SIZE_MAX - 10, buf, 20, NULL), -EINVAL);
	/* local buffer outside every registered area */
	FT_RET(ops->read(b, c, 0, unreg, 4096, NULL), -EINVAL);
	FT_RET(ops->write(b, c, 0, buf + 2 * FAB_CHUNK - 4096, 8192, NULL),
	       -EINVAL);
	/* chunks this session does not hold */
	bogus = c ^ ((uint64_t)1 << 33); /* another generation */
	FT_RET(ops->read(b, bogus, 0, buf, 4096, NULL), -ENOENT);
	FT_RET(ops->read(b, c + 1, 0, buf, 4096, NULL), -ENOENT);
	FT_RET(ops->read(b, 0, 0, buf, 4096, NULL), -ENOENT);
	FT_RET(ops->chunk_put(b, bogus), -ENOENT);
	FT_RET(ops->chunk_put(b, c), 0);
	FT_RET(ops->chunk_put(b, c), -ENOENT);
	FT_RET(ops->write(b, c, 0, buf, 4096, NULL), -ENOENT);
	expect_idle(b);
	ops->close(b);
	munmap(buf, 2 * FAB_CHUNK);
	munmap(unreg, 8192);
}

/* A chunk freed and handed out again never shows the old data. */
static void t_zero(void)
{
	struct fab_backend *b = open_backend();
	char *buf = ft_area(FAB_CHUNK), *zero = ft_area(FAB_CHUNK);
	fab_chunk_t c[4];
	uint8_t seen[8];

	FT_RET(ops->reg(b, buf, FAB_CHUNK), 0);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 4; i++)
			FT_RET(ops->chunk_alloc(b, &c[i]), 0);
		for (int i = 0; i < 4; i++) {
			memset(buf, 0x5a, FAB_CHUNK);
			FT_RET(ops->read(b, c[i], 0, buf, FAB_CHUNK, (void *)1),
			       0);
			wait_done(b, seen, 1);
			FT_CHECK(memcmp(buf, zero, FAB_CHUNK) == 0);
			memset(buf, 0xee, FAB_CHUNK);
			FT_RET(
			    ops->write(b, c[i], 0, buf, FAB_CHUNK, (void *)1),
			    0);
			wait_done(b, seen, 1);
		}
		for (int i = 0; i < 4; i++)
			FT_RET(ops->chunk_put(b, c[i]), 0);
	}
	ops->close(b);
	munmap(buf, FAB_CHUNK);
	munmap(zero, FAB_CHUNK);
}

static void write_chunks(struct fab_backend *b, char *buf, fab_chunk_t *c,
			 int n, uint64_t seed)
{
	uint8_t seen[64];

	for (int i = 0; i < n; i++) {
		ft_fill(buf + i * FAB_CHUNK, FAB_CHUNK, seed, (uint64_t)i);
		FT_RET(ops->write(b, c[i], 0, buf + i * FAB_CHUNK, FAB_CHUNK,
				  (void *)(uintptr_t)(i + 1)),
		       0);
	}
	wait_done(b, seen, (size_t)n);
}

/* Reads chunks c[first .. n) and checks what write_chunks wrote. */
static void verify_from(struct fab_backend *b, char *buf, fab_chunk_t *c,
			int first, int n, uint64_t seed)
{
	uint8_t seen[64];
	char *want = ft_area(FAB_CHUNK);

	memset(buf, 0, (size_t)n * FAB_CHUNK);
	for (int i = first; i < n; i++)
		FT_RET(ops->read(b, c[i], 0, buf + i * FAB_CHUNK, FAB_CHUNK,
				 (void *)(uintptr_t)(i - first + 1)),
		       0);
	wait_done(b, seen, (size_t)(n - first));
	for (int i = first; i < n; i++) {
		ft_fill(want, FAB_CHUNK, seed, (uint64_t)i);
		if (memcmp(want, buf + i * FAB_CHUNK, FAB_CHUNK))
			FT_FAIL("chunk %d does not hold its data", i);
	}
	munmap(want, FAB_CHUNK);
}

static void verify_chunks(struct fab_backend *b, char *buf, fab_chunk_t *c,
			  int n, uint64_t seed)
{
	verify_from(b, buf, c, 0, n, seed);
}

/*
 * Fork: the child opens its session from the ticket only after the parent
 * has closed its own, reads the parent's data, writes new chunks of its
 * own, and drops the shared ones.
 */
static void t_fork(void)
{
	struct fab_backend *b = open_backend();
	enum { N = 6 };
	char *buf = ft_area(N * FAB_CHUNK);
	fab_chunk_t c[N], mine[2];
	struct fab_ticket t;
	int go[2], status;
	pid_t pid;

	FT_RET(ops->reg(b, buf, N * FAB_CHUNK), 0);
	for (int i = 0; i < N; i++)
		FT_RET(ops->chunk_alloc(b, &c[i]), 0);
	write_chunks(b, buf, c, N, 99);
	FT_RET(ops->fork_prepare(b, &t), 0);
	FT_CHECK(pipe(go) == 0);
	pid = fork();
	FT_CHECK(pid >= 0);
	if (pid == 0) {
		struct fab_backend *cb = NULL;
		char x;
		close(go[1]);
		FT_CHECK(read(go[0], &x, 1) == 1); /* the parent has closed */
		FT_RET(ops->fork_open(&t, &cb), 0);
		FT_RET(ops->reg(cb, buf, N * FAB_CHUNK), 0);
		verify_chunks(cb, buf, c, N, 99);
		/* new data goes to chunks of the child's own */
		for (int i = 0; i < 2; i++)
			FT_RET(ops->chunk_alloc(cb, &mine[i]), 0);
		write_chunks(cb, buf, mine, 2, 5);
		verify_chunks(cb, buf, mine, 2, 5);
		for (int i = 0; i < N; i++)
			FT_RET(ops->chunk_put(cb, c[i]), 0);
		FT_RET(ops->read(cb, c[0], 0, buf, 4096, NULL), -ENOENT);
		ops->close(cb);
		_exit(0);
	}
	close(go[0]);
	ops->close(b);
	FT_CHECK(write(go[1], "x", 1) == 1);
	close(go[1]);
	FT_CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		FT_FAIL("forked child failed (status 0x%x)", status);

	/* and again, the parent going on after fork: both read the shared
	 * chunks, the parent drops one of them before the child reads it */
	b = open_backend();
	FT_RET(ops->reg(b, buf, N * FAB_CHUNK), 0);
	for (int i = 0; i < N; i++)
		FT_RET(ops->chunk_alloc(b, &c[i]), 0);
	write_chunks(b, buf, c, N, 123);
	FT_RET(ops->fork_prepare(b, &t), 0);
	FT_CHECK(pipe(go) == 0);
	pid = fork();
	FT_CHECK(pid >= 0);
	if (pid == 0) {
		struct fab_backend *cb = NULL;
		char x;
		close(go[1]);
		/* no reg(): fork_open carries the parent's areas over */
		FT_RET(ops->fork_open(&t, &cb), 0);
		FT_CHECK(read(go[0], &x, 1) == 1);
		verify_chunks(cb, buf, c, N, 123);
		ops->close(cb);
		_exit(0);
	}
	close(go[0]);
	FT_RET(ops->chunk_put(b, c[0]), 0);
	verify_from(b, buf, c, 1, N, 123);
	FT_CHECK(write(go[1], "x", 1) == 1);
	close(go[1]);
	FT_CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		FT_FAIL("forked child failed (status 0x%x)", status);
	ops->close(b);
	munmap(buf, N * FAB_CHUNK);
}

/* A child that did not fork_open holds a copy of the parent's session:
 * every call on it fails with -ECHILD, and closing it leaves the parent's
 * session and data alone. */
static void t_stale(void)
{
	struct fab_backend *b = open_backend();
	enum { N = 3 };
	char *buf = ft_area(N * FAB_CHUNK);
	struct fab_completion c[4];
	struct fab_ticket t;
	fab_chunk_t ch[N], x;
	int status;
	pid_t pid;

	FT_RET(ops->reg(b, buf, N * FAB_CHUNK), 0);
	for (int i = 0; i < N; i++)
		FT_RET(ops->chunk_alloc(b, &ch[i]), 0);
	write_chunks(b, buf, ch, N, 77);
	pid = fork();
	FT_CHECK(pid >= 0);
	if (pid == 0) {
		FT_RET(ops->read(b, ch[0], 0, buf, 4096, NULL), -ECHILD);
		FT_RET(ops->write(b, ch[0], 0, buf, 4096, NULL), -ECHILD);
		FT_RET(ops->poll(b, c, 4), -ECHILD);
		FT_RET(ops->chunk_alloc(b, &x), -ECHILD);
		FT_RET(ops->chunk_put(b, ch[1]), -ECHILD);
		FT_RET(ops->fork_prepare(b, &t), -ECHILD);
		FT_RET(ops->reg(b, buf, 4096), -ECHILD);
		ops->close(b);
		_exit(0);
	}
	FT_CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		FT_FAIL("child failed (status 0x%x)", status);
	verify_chunks(b, buf, ch, N, 77);
	FT_RET(ops->chunk_alloc(b, &x), 0);
	FT_RET(ops->chunk_put(b, x), 0);
	ops->close(b);
	munmap(buf, N * FAB_CHUNK);
}

static void t_cancel(void)
{
	struct fab_backend *b = open_backend();
	struct fab_ticket t;
	fab_chunk_t c;

	FT_RET(ops->chunk_alloc(b, &c), 0);
	for (int i = 0; i < 20; i++) {
		FT_RET(ops->fork_prepare(b, &t), 0);
		ops->fork_cancel(b, &t);
	}
	FT_RET(ops->chunk_put(b, c), 0);
	ops->close(b);
}

/* Two threads post and poll at once; each takes whatever completes. */
struct thr {
	struct fab_backend *b;
	char *buf;
	fab_chunk_t c;
	int id;
};

static uint8_t thr_seen[2][4096];
static unsigned thr_done[2];

static void *thr_main(void *arg)
{
	struct thr *t = arg;
	struct fab_completion c[16];
	unsigned posted = 0;
	const unsigned total = 4096;

	while (__atomic_load_n(&thr_done[t->id], __ATOMIC_ACQUIRE) < total) {
		if (posted < total && posted - thr_done[t->id] < 64) {
			size_t off = (posted % 512) * 4096;
			uintptr_t ctx = (uintptr_t)t->id << 16 | posted;
			int r = (posted / 512) % 2
				    ? ops->read(t->b, t->c, off, t->buf + off,
						4096, (void *)ctx)
				    : ops->write(t->b, t->c, off, t->buf + off,
						 4096, (void *)ctx);
			if (r)
				FT_FAIL("thread %d: post: %s", t->id,
					strerror(-r));
			posted++;
		}
		int k = ops->poll(t->b, c, 16);
		if (k < 0)
			FT_FAIL("poll: %s", strerror(-k));
		for (int i = 0; i < k; i++) {
			uintptr_t ctx = (uintptr_t)c[i].ctx;
			int who = (int)(ctx >> 16);
			unsigned n = ctx & 0xffff;
			FT_CHECK(c[i].status == 0);
			FT_CHECK(who < 2 && n < total);
			FT_CHECK(!thr_seen[who][n]);
			thr_seen[who][n] = 1;
			__atomic_fetch_add(&thr_done[who], 1, __ATOMIC_RELEASE);
		}
	}
	return NULL;
}

static void t_threads(void)
{
	struct fab_backend *b = open_backend();
	struct thr t[2];
	pthread_t th[2];

	for (int i = 0; i < 2; i++) {
		t[i] = (struct thr){b, ft_area(FAB_CHUNK), 0, i};
		FT_RET(ops->reg(b, t[i].buf, FAB_CHUNK), 0);
		FT_RET(ops->chunk_alloc(b, &t[i].c), 0);
		ft_fill(t[i].buf, FAB_CHUNK, 3, (uint64_t)i);
	}
	for (int i = 0; i < 2; i++)
		FT_CHECK(pthread_create(&th[i], NULL, thr_main, &t[i]) == 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 2; i++) {
		char *want = ft_area(FAB_CHUNK);
		ft_fill(want, FAB_CHUNK, 3, (uint64_t)i);
		FT_CHECK(memcmp(want, t[i].buf, FAB_CHUNK) == 0);
		FT_RET(ops->chunk_put(b, t[i].c), 0);
		munmap(want, FAB_CHUNK);
		munmap(t[i].buf, FAB_CHUNK);
	}
	ops->close(b);
}

/* Two sessions of one process: neither sees the other's chunks. */
static void t_two(void)
{
	struct fab_backend *a = open_backend(), *b = open_backend();
	char *buf = ft_area(2 * FAB_CHUNK);
	fab_chunk_t ca, cb;

	FT_RET(ops->reg(a, buf, 2 * FAB_CHUNK), 0);
	FT_RET(ops->reg(b, buf, 2 * FAB_CHUNK), 0);
	FT_RET(ops->chunk_alloc(a, &ca), 0);
	FT_RET(ops->chunk_alloc(b, &cb), 0);
	write_chunks(a, buf, &ca, 1, 11);
	write_chunks(b, buf + FAB_CHUNK, &cb, 1, 12);
	if (ca != cb) {
		FT_RET(ops->read(b, ca, 0, buf, 4096, NULL), -ENOENT);
		FT_RET(ops->chunk_put(b, ca), -ENOENT);
	}
	verify_chunks(a, buf, &ca, 1, 11);
	verify_chunks(b, buf, &cb, 1, 12);
	ops->close(a);
	verify_chunks(b, buf, &cb, 1, 12);
	ops->close(b);
	munmap(buf, 2 * FAB_CHUNK);
}

/* Fill the pool: -ENOSPC, then room again after a put. */
static void t_enospc(long expect)
{
	struct fab_backend *b = open_backend();
	size_t cap = 1 << 16, n = 0;
	fab_chunk_t *c = malloc(cap * sizeof(*c));
	int r;

	while ((r = ops->chunk_alloc(b, &c[n])) == 0) {
		n++;
		FT_CHECK(n < cap);
	}
	FT_RET(r, -ENOSPC);
	FT_RET(ops->chunk_alloc(b, &c[n]), -ENOSPC);
	if (expect >= 0 && (long)n != expect)
		FT_FAIL("%zu chunks fit, expected %ld", n, expect);
	FT_RET(ops->chunk_put(b, c[n / 2]), 0);
	FT_RET(ops->chunk_alloc(b, &c[n / 2]), 0);
	FT_RET(ops->chunk_alloc(b, &c[n]), -ENOSPC);
	for (size_t i = 0; i < n; i++)
		FT_RET(ops->chunk_put(b, c[i]), 0);
	FT_RET(ops->chunk_alloc(b, &c[0]), 0);
	ops->close(b);
	free(c);
	printf("enospc: %zu chunks fit\n", n);
}

/*
 * The server goes away (kill -9) with reads in flight: each completes
 * (maybe with an error), then poll and every other call fail with -EPIPE.
 * The server is stopped first, so that the reads are still in flight
 * when it dies.
 */
static void t_lose(pid_t server)
{
	struct fab_backend *b = open_backend();
	enum { N = 4, R = 64 };
	char *buf = ft_area(N * FAB_CHUNK);
	struct fab_completion c[16];
	struct fab_ticket t;
	fab_chunk_t ch[N], x;
	uint8_t seen[R] = {0};
	int k, got = 0, failed = 0;

	FT_RET(ops->reg(b, buf, N * FAB_CHUNK), 0);
	for (int i = 0; i < N; i++)
		FT_RET(ops->chunk_alloc(b, &ch[i]), 0);
	write_chunks(b, buf, ch, N, 31);
	FT_CHECK(kill(server, SIGSTOP) == 0);
	for (int i = 0; i < R; i++)
		FT_RET(ops->read(b, ch[i % N], (size_t)i * 4096, buf + i * 4096,
				 4096, (void *)(uintptr_t)(i + 1)),
		       0);
	FT_CHECK(kill(server, SIGKILL) == 0);
	while ((k = ops->poll(b, c, 16)) >= 0) {
		for (int i = 0; i < k; i++) {
			uintptr_t idx = (uintptr_t)c[i].ctx;
			FT_CHECK(idx >= 1 && idx <= R && !seen[idx - 1]);
			seen[idx - 1] = 1;
			got++;
			failed += c[i].status != 0;
			FT_CHECK(c[i].status <= 0);
		}
	}
	FT_RET(k, -EPIPE);
	if (got != R)
		FT_FAIL("%d of %d reads completed before poll failed", got, R);
	FT_RET(ops->poll(b, c, 16), -EPIPE);
	FT_RET(ops->read(b, ch[0], 0, buf, 4096, NULL), -EPIPE);
	FT_RET(ops->write(b, ch[0], 0, buf, 4096, NULL), -EPIPE);
	FT_RET(ops->chunk_alloc(b, &x), -EPIPE);
	FT_RET(ops->chunk_put(b, ch[1]), -EPIPE);
	FT_RET(ops->fork_prepare(b, &t), -EPIPE);
	FT_RET(ops->reg(b, buf, 4096), -EPIPE);
	ops->close(b);
	printf("lose: %d reads in flight, %d failed\n", R, failed);
	munmap(buf, N * FAB_CHUNK);
}

/* shm: once a transfer went through, our endpoint's file in /dev/shm
 * (libfabric's region, a power of two of at least 4 MiB) holds at most
 * 1 MiB of memory: its zero padding was given back (fmp_shm_trim). */
static void t_trim(void)
{
	struct fab_backend *b = open_backend();
	char prefix[64], *buf = ft_area(FAB_CHUNK), path[300];
	fab_chunk_t c;
	uint8_t seen[2];
	struct dirent *d;
	DIR *dir;
	int found = 0;

	FT_RET(ops->reg(b, buf, FAB_CHUNK), 0);
	FT_RET(ops->chunk_alloc(b, &c), 0);
	ft_fill(buf, 4096, 3, 1);
	FT_RET(ops->write(b, c, 0, buf, 4096, (void *)1), 0);
	wait_done(b, seen, 1);
	FT_RET(ops->read(b, c, 0, buf + 4096, 4096, (void *)1), 0);
	wait_done(b, seen, 1);
	FT_CHECK(memcmp(buf, buf + 4096, 4096) == 0);
	snprintf(prefix, sizeof(prefix), "farmem-c-%ld-", (long)getpid());
	dir = opendir("/dev/shm");
	FT_CHECK(dir != NULL);
	while ((d = readdir(dir)) != NULL) {
		struct stat st;

		if (strncmp(d->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(path, sizeof(path), "/dev/shm/%s", d->d_name);
		FT_RET(stat(path, &st), 0);
		printf("%s: %lld bytes, %lld held\n", path,
		       (long long)st.st_size, (long long)st.st_blocks * 512);
		FT_CHECK(st.st_size >= (4 << 20));
		FT_CHECK(st.st_blocks * 512 <= (1 << 20));
		found++;
	}
	closedir(dir);
	FT_CHECK(found == 1);
	FT_RET(ops->chunk_put(b, c), 0);
	expect_idle(b);
	ops->close(b);
	munmap(buf, FAB_CHUNK);
}

int main(int argc, char **argv)
{
	static const char *const all[] = {"basic", "errors", "zero",	"fork",
					  "stale", "cancel", "threads", "two"};
	const char *const *tests = all;
	int ntests = 8;

	if (argc < 3) {
		fprintf(stderr,
			"usage: fab_conform memfd|ofi SPEC [TEST...]\n");
		return 2;
	}
	if (!strcmp(argv[1], "memfd"))
		ops = &fab_memfd_ops;
	else if (!strcmp(argv[1], "ofi"))
		ops = &fab_ofi_ops;
	else
		FT_FAIL("unknown backend %s", argv[1]);
	spec = argv[2][0] ? argv[2] : NULL;
	if (argc > 3) {
		tests = (const char *const *)argv + 3;
		ntests = argc - 3;
	}
	alarm(300); /* a hang is a failure, not a stuck suite */
	for (int i = 0; i < ntests; i++) {
		const char *t = tests[i];
		if (!strcmp(t, "basic"))
			t_basic();
		else if (!strcmp(t, "errors"))
			t_errors();
		else if (!strcmp(t, "zero"))
			t_zero();
		else if (!strcmp(t, "fork"))
			t_fork();
		else if (!strcmp(t, "stale"))
			t_stale();
		else if (!strcmp(t, "cancel"))
			t_cancel();
		else if (!strcmp(t, "threads"))
			t_threads();
		else if (!strcmp(t, "two"))
			t_two();
		else if (!strcmp(t, "trim"))
			t_trim();
		else if (!strncmp(t, "lose=", 5))
			t_lose((pid_t)atol(t + 5));
		else if (!strncmp(t, "enospc", 6))
			t_enospc(t[6] == '=' ? atol(t + 7) : -1);
		else
			FT_FAIL("unknown test %s", t);
		printf("%s %s: ok\n", ops->name, t);
		fflush(stdout);
	}
	return 0;
}
