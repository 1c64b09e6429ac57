/* SPDX-License-Identifier: MIT */
/*
 * bench-fault - the latency of one page fault, for scripts/farmem-bench-fault.
 * A benchmark, not a test.
 *
 *   bench-fault touch MIB N   malloc MIB MiB, write every page, then read one
 *                             byte of N pages picked at random (no stream for
 *                             prefetch to follow), timing each read. Under
 *                             farmem-run with a small budget nearly every
 *                             read is a remote fault: fault, fetch, return.
 *   bench-fault uffd N        the floor of any userfaultfd pager: N faults
 *                             on fresh pages, each served by a second thread
 *                             with one UFFDIO_COPY of a page it holds (no
 *                             fetch). Needs the right to use userfaultfd.
 *
 * Prints one line: "mode=... n=... p50_us=... p99_us=... mean_us=...".
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	uint64_t x = rnd_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rnd_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *mode, uint64_t *lat, size_t n)
{
	uint64_t sum = 0;

	qsort(lat, n, sizeof(*lat), cmp_u64);
	for (size_t i = 0; i < n; i++)
		sum += lat[i];
	printf("mode=%s n=%zu p50_us=%.1f p99_us=%.1f mean_us=%.1f\n", mode, n,
	       lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3, sum / 1e3 / n);
}

static int touch(size_t mib, size_t n)
{
	size_t pages = (mib << 20) / PAGE;
	volatile unsigned char *p = malloc(pages * PAGE);
	uint64_t *lat = calloc(n, sizeof(*lat));
	unsigned sum = 0;

	if (p == NULL || lat == NULL || pages < 2) {
		fprintf(stderr, "bench-fault: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < pages; i++)
		p[i * PAGE] = (unsigned char)i;
	for (size_t i = 0; i < n; i++) {
		size_t pg = rnd() % pages;
		uint64_t t0 = now_ns();
		sum += p[pg * PAGE + (i & 63)];
		lat[i] = now_ns() - t0;
	}
	report("touch", lat, n);
	return sum == 0xffffffffu; /* keeps the reads */
}

struct server {
	int uffd;
	char *src;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	struct uffd_msg m;

	for (;;) {
		struct pollfd pfd = {s->uffd, POLLIN, 0};
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return NULL;
		if (read(s->uffd, &m, sizeof(m)) != sizeof(m))
			continue;
		if (m.event != UFFD_EVENT_PAGEFAULT)
			continue;
		struct uffdio_copy c = {
		    .dst = m.arg.pagefault.address & ~(PAGE - 1),
		    .src = (uintptr_t)s->src,
		    .len = PAGE,
		};
		if (ioctl(s->uffd, UFFDIO_COPY, &c) && errno != EEXIST)
			perror("UFFDIO_COPY");
	}
}

static int uffd_floor(size_t n)
{
	struct uffdio_api api = {.api = UFFD_API};
	struct uffdio_register reg;
	struct server s;
	pthread_t th;
	volatile char *area;
	uint64_t *lat = calloc(n, sizeof(*lat));

	s.uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (s.uffd < 0 || ioctl(s.uffd, UFFDIO_API, &api)) {
		fprintf(stderr, "bench-fault: userfaultfd: %s (run as root)\n",
			strerror(errno));
		return 1;
	}
	area = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	s.src = aligned_alloc(PAGE, PAGE);
	if (area == MAP_FAILED || s.src == NULL || lat == NULL)
		return 1;
	memset(s.src, 7, PAGE);
	reg.range.start = (uintptr_t)area;
	reg.range.len = n * PAGE;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(s.uffd, UFFDIO_REGISTER, &reg)) {
		perror("UFFDIO_REGISTER");
		return 1;
	}
	pthread_create(&th, NULL, serve, &s);
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		(void)area[i * PAGE];
		lat[i] = now_ns() - t0;
	}
	report("uffd", lat, n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "touch") == 0)
		return touch(strtoul(argv[2], NULL, 0),
			     strtoul(argv[3], NULL, 0));
	if (argc == 3 && strcmp(argv[1], "uffd") == 0)
		return uffd_floor(strtoul(argv[2], NULL, 0));
	fprintf(stderr, "usage: bench-fault touch MIB N | uffd N\n");
	return 2;
}
