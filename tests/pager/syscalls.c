/* SPDX-License-Identifier: MIT */
/*
 * syscalls MIB DIR - system calls on evicted buffers: the kernel itself
 * faults on them (copy_from_user / copy_to_user), and the pager must serve
 * those faults as it serves the program's.
 *
 *  1. write(2) an evicted buffer to a file; pread(2) the file into another
 *     evicted buffer;
 *  2. the same through a pipe, a thread writing while the main thread
 *     reads;
 *  3. writev(2) / readv(2) of several evicted blocks over a socketpair.
 *
 * After each, the data must match (pattern and checksum). Under the pager
 * (FMP_EXPECT_EVICT=1) the buffers are checked to be mostly evicted just
 * before each call.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "pager_common.h"

#define CHUNK ((size_t)4 << 20)

static size_t mib;

/* Pushes everything older out: 2.5 times the data in fresh memory. */
static void evict_all(void)
{
	fmp_churn(2 * mib + mib / 2);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n < CHUNK ? n : CHUNK);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fmc_fail("write: %s", w < 0 ? strerror(errno) : "0");
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n < CHUNK ? n : CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fmc_fail("read: %s", r < 0 ? strerror(errno) : "EOF");
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void same(const char *what, const char *got, size_t n, uint32_t id)
{
	long off = fmp_check(got, n, id, 0);

	FMC_CHECK(off < 0, "%s: differs at byte %ld", what, off);
	printf("%s: %zu bytes, checksum %016llx\n", what, n,
	       (unsigned long long)fmp_sum(got, n));
}

struct pipe_job {
	int fd;
	const char *p;
	size_t n;
};

static void *pipe_writer(void *arg)
{
	struct pipe_job *j = arg;

	write_all(j->fd, j->p, j->n);
	close(j->fd);
	return NULL;
}

/* Moves [p, p+n) in eight pieces per call, resuming after short
 * transfers. @out: writev, else readv. */
static int vec_move(int fd, char *p, size_t n, int out)
{
	size_t done = 0, piece = (n + 7) / 8;

	while (done < n) {
		struct iovec v[8];
		int cnt = 0;
		ssize_t r;

		for (size_t o = done; o < n && cnt < 8; o += piece - o % piece)
			v[cnt++] =
			    (struct iovec){p + o, (o / piece + 1) * piece < n
						      ? piece - o % piece
						      : n - o};
		r = out ? writev(fd, v, cnt) : readv(fd, v, cnt);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fmc_fail("%s: %s", out ? "writev" : "readv",
				 r < 0 ? strerror(errno) : "EOF");
			return -1;
		}
		done += (size_t)r;
	}
	return 0;
}

static void *vec_writer(void *arg)
{
	struct pipe_job *j = arg;

	vec_move(j->fd, (char *)j->p, j->n, 1);
	close(j->fd);
	return NULL;
}

static void vec_read(int fd, char *p, size_t n)
{
	vec_move(fd, p, n, 0);
}

int main(int argc, char **argv)
{
	size_t n;
	char *a, *c, *path;
	int fd, pfd[2], sv[2];
	pthread_t th;
	struct pipe_job job;

	mib = fmp_mib_arg(argc, argv, 1, 64);
	n = mib * FMP_MIB;
	if (argc < 3) {
		fprintf(stderr, "usage: %s MIB DIR\n", argv[0]);
		return 2;
	}
	fmc_init();
	a = malloc(n);
	c = malloc(n);
	path = malloc(strlen(argv[2]) + 32);
	if (a == NULL || c == NULL || path == NULL) {
		fmc_fail("out of memory");
		return 1;
	}
	fmc_managed(a, "a");
	fmp_fill(a, n, 1, 0);
	fmp_fill(c, n, 2, 0); /* to be overwritten */
	printf("source: %zu bytes, checksum %016llx\n", n,
	       (unsigned long long)fmp_sum(a, n));

	/* 1. file */
	sprintf(path, "%s/syscalls.data", argv[2]);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		fmc_fail("open %s: %s", path, strerror(errno));
		return 1;
	}
	evict_all();
	fmp_expect_evicted(a, n, 50, "write(2) source");
	write_all(fd, a, n);
	evict_all();
	fmp_expect_evicted(c, n, 50, "pread(2) target");
	for (size_t off = 0; off < n;) {
		ssize_t r = pread(
		    fd, c + off, n - off < CHUNK ? n - off : CHUNK, (off_t)off);
		if (r <= 0) {
			fmc_fail("pread: %s", r < 0 ? strerror(errno) : "EOF");
			break;
		}
		off += (size_t)r;
	}
	close(fd);
	unlink(path);
	same("file", c, n, 1);

	/* 2. pipe */
	fmp_fill(c, n, 2, 0);
	if (pipe(pfd)) {
		fmc_fail("pipe: %s", strerror(errno));
		return 1;
	}
	evict_all();
	fmp_expect_evicted(a, n, 50, "pipe source");
	fmp_expect_evicted(c, n, 50, "pipe target");
	job = (struct pipe_job){pfd[1], a, n};
	if (pthread_create(&th, NULL, pipe_writer, &job)) {
		fmc_fail("pthread_create failed");
		return 1;
	}
	read_all(pfd[0], c, n);
	pthread_join(th, NULL);
	close(pfd[0]);
	same("pipe", c, n, 1);

	/* 3. writev/readv of eight pieces each way, over a socketpair */
	fmp_fill(c, n, 2, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		fmc_fail("socketpair: %s", strerror(errno));
		return 1;
	}
	evict_all();
	fmp_expect_evicted(a, n, 50, "writev source");
	fmp_expect_evicted(c, n, 50, "readv target");
	job = (struct pipe_job){sv[0], a, n};
	if (pthread_create(&th, NULL, vec_writer, &job)) {
		fmc_fail("pthread_create failed");
		return 1;
	}
	vec_read(sv[1], c, n);
	pthread_join(th, NULL);
	close(sv[1]);
	same("socket", c, n, 1);

	free(path);
	free(c);
	free(a);
	fmp_report_hwm();
	return fmc_exit_status();
}
