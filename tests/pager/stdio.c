/* SPDX-License-Identifier: MIT */
/*
 * stdio MIB - stdout fully buffered in an 8 MiB malloc'ed buffer, about
 * 6 MiB printed (nothing written yet), then MIB MiB of other memory
 * allocated and touched so that the buffer is evicted, then return from
 * main: exit() flushes the buffer from evicted memory, after the
 * program's and the runtime's destructors have run. The output must be
 * complete and identical.
 */
#include "config.h"

#include "pager_common.h"

#define BUF  ((size_t)8 << 20)
#define TEXT ((size_t)6 << 20)

int main(int argc, char **argv)
{
	size_t mib = fmp_mib_arg(argc, argv, 1, 128), printed = 0;
	char *buf = malloc(BUF), **keep;
	uint64_t rng = 99;
	unsigned line = 0;

	fmc_init();
	if (buf == NULL || setvbuf(stdout, buf, _IOFBF, BUF) != 0) {
		fmc_fail("setvbuf failed");
		return 1;
	}
	fmc_managed(buf, "stdout buffer");
	while (printed < (mib > 1 ? TEXT : TEXT / 64)) {
		int n = printf("line %u: %016llx %016llx\n", line++,
			       (unsigned long long)fmp_rand(&rng),
			       (unsigned long long)fmp_rand(&rng));
		printed += (size_t)n;
	}
	/* kept allocated: the buffer must lose to them for the budget */
	keep = calloc(mib, sizeof(*keep));
	for (size_t i = 0; keep && i < mib; i++) {
		keep[i] = malloc(FMP_MIB);
		if (keep[i] == NULL) {
			fmc_fail("out of memory");
			break;
		}
		memset(keep[i], (int)i | 1, FMP_MIB);
	}
	fmp_expect_evicted(buf, printed, 50, "the stdout buffer");
	fmp_report_hwm();
	return fmc_exit_status();
}
