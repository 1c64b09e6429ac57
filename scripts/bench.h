/* SPDX-License-Identifier: MIT */
/*
 * What the benchmark programs of scripts/ share (bench-kv, bench-malloc,
 * bench-scan): random numbers, clocks, which allocator runs them, option
 * values. Not part of farmem: they run with and without it.
 */
#ifndef FARMEM_SCRIPTS_BENCH_H
#define FARMEM_SCRIPTS_BENCH_H

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

/* xorshift64*: deterministic, a few cycles a number */
static inline uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* uniform in [0, n), without a division */
static inline uint64_t below(uint64_t r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)r * n) >> 64);
}

/* a 64-bit finaliser: every input bit moves every output bit */
static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Which allocator serves this process: libfarmem.so exports fm_active,
 * mimalloc mi_version (libfarmem.so loads mimalloc too: ask it first). */
static inline const char *allocator_name(void)
{
	int (*active)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "fm_active");

	if (active)
		return active() ? "farmem" : "farmem-passthrough";
	if (dlsym(RTLD_DEFAULT, "mi_version"))
		return "mimalloc";
	return "glibc";
}

static inline double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static inline double tv(const struct timeval *t)
{
	return (double)t->tv_sec + (double)t->tv_usec * 1e-6;
}

/* bench_parse_long - option value @s of @what as a positive number, or
 * exit 2 with a message from program @prog. */
static inline long bench_parse_long(const char *prog, const char *s,
				    const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v <= 0) {
		fprintf(stderr, "%s: bad %s '%s'\n", prog, what, s);
		exit(2);
	}
	return v;
}

#endif
