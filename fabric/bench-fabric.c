/* SPDX-License-Identifier: MIT */
/*
 * bench-fabric: raw chunk transfer speed of a backend, without the pager.
 *
 *   bench-fabric memfd ""            the in-process store
 *   bench-fabric ofi HOST:PORT       a farmem-server (FARMEM_TOKEN set)
 *
 * Reads (and writes) of random pages over 32 MiB of chunks: latency at
 * queue depth 1 (p50, p99), throughput at queue depth 16 for 4 KiB and
 * 64 KiB. The caller polls without sleeping, as the pager does when busy.
 * Not a test: numbers depend on the machine and on who else runs.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>

#include "fabric/fab.h"

#define NCHUNKS 16
#define AREA	(NCHUNKS * FAB_CHUNK)

static const struct fab_ops *ops;
static struct fab_backend *be;
static fab_chunk_t chunks[NCHUNKS];
static char *buf;
static uint64_t rnd = 88172645463325252ull;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t next_rand(void)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 7;
	rnd ^= rnd << 17;
	return rnd;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench-fabric: %s: %s\n", what, strerror(-err));
	exit(1);
}

/* post - one transfer of @len at a random @len-aligned place. */
static void post(size_t len, int write, void *ctx)
{
	size_t slots = FAB_CHUNK / len;
	uint64_t r = next_rand();
	size_t c = r % NCHUNKS, off = (r >> 8) % slots * len;
	size_t boff =
	    (size_t)(ctx ? (uintptr_t)ctx - 1 : 0) % (AREA / len) * len;
	int ret = write ? ops->write(be, chunks[c], off, buf + boff, len, ctx)
			: ops->read(be, chunks[c], off, buf + boff, len, ctx);

	if (ret)
		die("post", ret);
}

static int reap(int max)
{
	struct fab_completion c[32];
	int n = ops->poll(be, c, max < 32 ? max : 32);

	if (n < 0)
		die("poll", n);
	for (int i = 0; i < n; i++)
		if (c[i].status)
			die("transfer", c[i].status);
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void latency(size_t len, int write, int iters)
{
	uint64_t *t = malloc(sizeof(*t) * (size_t)iters), sum = 0;

	for (int i = 0; i < iters / 10; i++) { /* warm up */
		post(len, write, (void *)1);
		while (reap(1) == 0)
			;
	}
	for (int i = 0; i < iters; i++) {
		uint64_t t0 = now_ns();
		post(len, write, (void *)1);
		while (reap(1) == 0)
			;
		t[i] = now_ns() - t0;
		sum += t[i];
	}
	qsort(t, (size_t)iters, sizeof(*t), cmp_u64);
	printf("%-5s %6zu B qd 1 : p50 %7.1f us  p99 %7.1f us  mean %7.1f us\n",
	       write ? "write" : "read", len, t[iters / 2] / 1e3,
	       t[iters * 99 / 100] / 1e3, (double)sum / iters / 1e3);
	free(t);
}

static void throughput(size_t len, int write, int qd, uint64_t bytes)
{
	uint64_t ops_total = bytes / len, posted = 0, done = 0, t0;

	if (ops_total < (uint64_t)qd * 4)
		ops_total = (uint64_t)qd * 4;
	t0 = now_ns();
	while (done < ops_total) {
		while (posted < ops_total && posted - done < (uint64_t)qd) {
			post(len, write, (void *)(uintptr_t)(posted + 1));
			posted++;
		}
		done += (uint64_t)reap(qd);
	}
	double s = (double)(now_ns() - t0) / 1e9;
	printf("%-5s %6zu B qd %d: %8.1f MB/s  %8.0f ops/s\n",
	       write ? "write" : "read", len, qd,
	       (double)ops_total * len / s / 1e6, ops_total / s);
}

/* What a session costs to open, and what a forked child waits for before
 * its far memory works (fork_prepare in the parent, fork_open in it). */
static void sessions(const char *spec)
{
	struct fab_backend *b2;
	struct fab_ticket t;
	uint64_t t0, t_open, t_prep;
	int fds[2], ret;
	pid_t pid;

	t0 = now_ns();
	ret = ops->open(spec, &b2);
	if (ret)
		die("open", ret);
	t_open = now_ns() - t0;
	ops->close(b2);
	if (pipe(fds))
		die("pipe", -errno);
	t0 = now_ns();
	ret = ops->fork_prepare(be, &t);
	if (ret)
		die("fork_prepare", ret);
	t_prep = now_ns() - t0;
	pid = fork();
	if (pid == 0) {
		uint64_t t1 = now_ns(), dt;
		ret = ops->fork_open(&t, &b2);
		dt = now_ns() - t1;
		if (write(fds[1], &dt, sizeof(dt)) != sizeof(dt) || ret)
			_exit(1);
		ops->close(b2);
		_exit(0);
	}
	uint64_t dt = 0;
	if (pid < 0 || read(fds[0], &dt, sizeof(dt)) != sizeof(dt))
		die("fork_open in the child", -EIO);
	waitpid(pid, NULL, 0);
	printf("session open %.1f ms, fork_prepare %.1f us, fork_open in the "
	       "child %.1f ms\n",
	       t_open / 1e6, t_prep / 1e3, dt / 1e6);
	close(fds[0]);
	close(fds[1]);
}

int main(int argc, char **argv)
{
	int iters = argc > 3 ? atoi(argv[3]) : 20000, ret;

	if (argc < 3) {
		fprintf(stderr, "usage: bench-fabric memfd|ofi SPEC [ITERS]\n");
		return 2;
	}
	ops = !strcmp(argv[1], "ofi") ? &fab_ofi_ops : &fab_memfd_ops;
	ret = ops->open(argv[2][0] ? argv[2] : NULL, &be);
	if (ret)
		die("open", ret);
	buf = mmap(NULL, AREA, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap", -12);
	memset(buf, 0x3c, AREA);
	ret = ops->reg(be, buf, AREA);
	if (ret)
		die("reg", ret);
	for (int i = 0; i < NCHUNKS; i++) {
		ret = ops->chunk_alloc(be, &chunks[i]);
		if (ret)
			die("chunk_alloc", ret);
	}
	/* the first transfer also sets up the connection to the server,
	 * which has been idle since the control calls */
	usleep(100000);
	uint64_t t0 = now_ns();
	post(4096, 0, (void *)1);
	while (reap(1) == 0)
		;
	printf("first transfer (connection set-up) %.1f ms\n",
	       (now_ns() - t0) / 1e6);
	for (int i = 0; i < NCHUNKS; i++) {
		ret = ops->write(be, chunks[i], 0, buf, FAB_CHUNK, (void *)1);
		if (ret)
			die("write", ret);
		while (reap(1) == 0)
			;
	}
	printf("backend %s %s, %d chunks\n", ops->name, argv[2], NCHUNKS);
	sessions(argv[2][0] ? argv[2] : NULL);
	latency(4096, 0, iters);
	latency(4096, 1, iters);
	latency(65536, 0, iters / 4);
	throughput(4096, 0, 16, (uint64_t)1 << 30);
	throughput(4096, 1, 16, (uint64_t)1 << 30);
	throughput(65536, 0, 16, (uint64_t)4 << 30);
	throughput(65536, 1, 16, (uint64_t)4 << 30);
	for (int i = 0; i < NCHUNKS; i++)
		ops->chunk_put(be, chunks[i]);
	ops->close(be);
	return 0;
}
