/* SPDX-License-Identifier: MIT */
/* tests/fabric/: helpers shared by the backend tests (no framework: each
 * failure names the check and the line, and exits 1). */
#ifndef FARMEM_TESTS_FABTEST_H
#define FARMEM_TESTS_FABTEST_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define FT_FAIL(...)                                                           \
	do {                                                                   \
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);           \
		fprintf(stderr, __VA_ARGS__);                                  \
		fputc('\n', stderr);                                           \
		exit(1);                                                       \
	} while (0)

#define FT_CHECK(cond)                                                         \
	do {                                                                   \
		if (!(cond))                                                   \
			FT_FAIL("%s", #cond);                                  \
	} while (0)

/* FT_RET - a call that must return @want (0 or a negative errno). */
#define FT_RET(call, want)                                                     \
	do {                                                                   \
		long ft_r_ = (long)(call);                                     \
		if (ft_r_ != (long)(want))                                     \
			FT_FAIL("%s returned %ld (%s), expected %ld", #call,   \
				ft_r_,                                         \
				ft_r_ < 0 ? strerror((int)-ft_r_) : "-",       \
				(long)(want));                                 \
	} while (0)

/* ft_area - @len bytes of fresh anonymous memory. */
static inline void *ft_area(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		FT_FAIL("mmap %zu: %s", len, strerror(errno));
	return p;
}

/* The word at index @w of chunk number @i under @seed. Never 0. */
static inline uint64_t ft_pattern(uint64_t seed, uint64_t i, uint64_t w)
{
	uint64_t x = seed ^ (i << 40) ^ w;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x | 1;
}

static inline void ft_fill(void *buf, size_t len, uint64_t seed, uint64_t i)
{
	uint64_t *p = buf;

	for (size_t w = 0; w < len / 8; w++)
		p[w] = ft_pattern(seed, i, w);
}

/* xorshift64*: deterministic from a seed */
static inline uint64_t ft_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

#endif
