/* SPDX-License-Identifier: MIT */
/*
 * gen_lines - writes about BYTES bytes of pseudo-random text lines to
 * stdout, the same on every machine for the same SEED: "word number word"
 * with repeated keys, so that sort has ties and numbers to compare.
 *
 * usage: gen_lines BYTES [SEED]
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t state;

static uint32_t next(void)
{
	/* PCG-style LCG, high bits */
	state = state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(state >> 33);
}

int main(int argc, char **argv)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ";
	unsigned long long want, done = 0;
	char line[128];

	if (argc < 2) {
		fprintf(stderr, "usage: gen_lines BYTES [SEED]\n");
		return 2;
	}
	want = strtoull(argv[1], NULL, 0);
	state = argc > 2 ? strtoull(argv[2], NULL, 0) : 42;
	while (done < want) {
		int n = 0, len = 3 + (int)(next() % 20);

		for (int i = 0; i < len; i++)
			line[n++] = alpha[next() % (sizeof(alpha) - 1)];
		n +=
		    snprintf(line + n, sizeof(line) - (size_t)n, " %u %c%u\n",
			     next() % 100000, alpha[next() % 4], next() % 1000);
		if (fwrite(line, 1, (size_t)n, stdout) != (size_t)n)
			return 1;
		done += (unsigned long long)n;
	}
	return fflush(stdout) ? 1 : 0;
}
