/* SPDX-License-Identifier: MIT */
/*
 * daemon MIB libc|all|raw FILE - what daemons do on start: close every
 * descriptor above 2 (see close_all: close(), close_range(), closefrom(),
 * or the close_range system call itself, as programs written before glibc
 * 2.34 had the wrapper do), then fork, setsid, the parent exits, and the
 * daemon closes everything again.
 * Meanwhile much of the heap is evicted: the runtime's own descriptors
 * (the userfaultfd, the backend's) must survive the closing, or evicted
 * pages read back as zeros or the program dies. The daemon writes its
 * verdict to FILE (its pid to FILE.pid first, for the driver).
 */
#include "config.h"

#include <errno.h>
#include <sys/syscall.h>

#include "pager_common.h"

#define NBLK_SIZE ((size_t)256 << 10)

static unsigned char **blk;
static size_t nblk;

static size_t verify_all(const char *who, uint32_t ver)
{
	size_t bad = 0;

	for (size_t i = 0; i < nblk; i++) {
		long off;

		if (blk[i] == NULL) {
			/* the (evicted) array of pointers came back wrong */
			if (bad++ < 5)
				fmc_fail("%s: pointer to block %zu lost", who,
					 i);
			continue;
		}
		off = fmp_check(blk[i], NBLK_SIZE, (uint32_t)i, ver);
		if (off >= 0 && bad++ < 5)
			fmc_fail("%s: block %zu differs at %ld", who, i, off);
	}
	return bad;
}

/*
 * Closes every descriptor above 2: close() up to 1024, then
 *   libc  close_range(3, ~0U, 0) from libc (in the parent only: in the
 *         child, where the runtime's descriptors came from the fork, the
 *         close() loop reaches them too);
 *   all   close_range(3, ~0U, 0) and closefrom(3), parent and child;
 *   raw   the close_range system call itself.
 */
static void close_all(const char *mode, int child)
{
	int rc = 0;

	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	if (strcmp(mode, "raw") == 0) {
#ifdef SYS_close_range
		rc = (int)syscall(SYS_close_range, 3, ~0U, 0);
		if (rc != 0 && errno != ENOSYS)
			fmc_fail("close_range: %s", strerror(errno));
#endif
	} else if (!child || strcmp(mode, "all") == 0) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
		rc = close_range(3, ~0U, 0);
		if (rc != 0 && errno != ENOSYS)
			fmc_fail("close_range: %s", strerror(errno));
		if (strcmp(mode, "all") == 0)
			closefrom(3);
#endif
	}
	(void)rc;
}

int main(int argc, char **argv)
{
	size_t mib = fmp_mib_arg(argc, argv, 1, 64), bad;
	char tmp[4096];
	pid_t pid;
	FILE *f;

	if (argc < 4) {
		fprintf(stderr, "usage: %s MIB libc|all|raw FILE\n", argv[0]);
		return 2;
	}
	fmc_init();
	nblk = mib * FMP_MIB / NBLK_SIZE;
	blk = calloc(nblk, sizeof(*blk));
	for (size_t i = 0; blk && i < nblk; i++) {
		blk[i] = malloc(NBLK_SIZE);
		if (blk[i] == NULL) {
			fmc_fail("out of memory");
			return 1;
		}
		fmp_fill(blk[i], NBLK_SIZE, (uint32_t)i, 0);
	}
	fmp_churn(mib);

	close_all(argv[2], 0);
	printf("descriptors above 2 closed\n");

	/* still in the foreground: the evicted data comes back */
	bad = verify_all("after closing descriptors", 0);
	printf("foreground: %zu blocks, %zu differ\n", nblk, bad);
	if (bad) {
		fmp_report_hwm();
		return 1; /* no daemon: its verdict would be no news */
	}
	for (size_t i = 0; i < nblk; i += 2)
		fmp_fill(blk[i], NBLK_SIZE, (uint32_t)i, 0); /* dirty again */
	fmp_churn(mib);

	pid = fmp_fork_detached(argv[3]);
	if (pid < 0) {
		fmc_fail("fork: %s", strerror(errno));
		return 1;
	}
	if (pid > 0) {
		fmp_report_hwm();
		return fmc_exit_status(); /* the parent leaves at once */
	}
	/* daemon(3) and most daemons close (again) in the child, whose
	 * runtime descriptors came from the fork */
	close_all(argv[2], 1);
	bad = verify_all("daemon", 0);
	for (size_t i = 0; i < nblk; i++)
		fmp_fill(blk[i], NBLK_SIZE, (uint32_t)i, 1);
	fmp_churn(mib);
	bad += verify_all("daemon, its own rewrite", 1);
	fmp_report_hwm();
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[3]);
	f = fopen(tmp, "w");
	if (f == NULL)
		_exit(1);
	fprintf(f, "daemon: %zu blocks, %zu differ\n", nblk, bad);
	fclose(f);
	rename(tmp, argv[3]);
	return bad || fmc_failures ? 1 : 0;
}
