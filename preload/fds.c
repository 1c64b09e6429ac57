/* SPDX-License-Identifier: MIT */
/*
 * Descriptor calls that could close the runtime's own descriptors: daemons
 * close everything, shells dup2 onto any number. Closing the userfaultfd
 * would turn every evicted page into zeros. The runtime's descriptors are
 * kept out of reach: closing one pretends to succeed, dup2 onto one fails
 * with EBUSY (as Linux may), and ranges are closed around them.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "heap/prim.h"
#include "pre.h"

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

FM_EXPORT int close(int fd)
{
	if (FM_UNLIKELY(prim_fd_hidden(fd)))
		return 0;
	return (int)syscall(SYS_close, fd);
}

/* Closes [lo, hi] except the runtime's descriptors, in sub-ranges around
 * them (few, so this walks them, not every number up to hi). */
static int close_range_around(unsigned lo, unsigned hi, int flags)
{
	unsigned from = lo;
	int rc, fd;

	while (from <= hi) {
		fd =
		    prim_fd_next_hidden((int)(from > INT_MAX ? INT_MAX : from));
		if (fd < 0 || (unsigned)fd > hi)
			break;
		if ((unsigned)fd > from) {
			rc = (int)syscall(SYS_close_range, from,
					  (unsigned)fd - 1, flags);
			if (rc)
				return rc;
			flags &= ~(int)CLOSE_RANGE_UNSHARE;
		}
		from = (unsigned)fd + 1;
		if (from == 0)
			return 0; /* fd was ~0U */
	}
	if (from > hi)
		return 0;
	return (int)syscall(SYS_close_range, from, hi, flags);
}

FM_EXPORT int close_range(unsigned lo, unsigned hi, int flags)
{
	if (lo > hi) {
		errno = EINVAL;
		return -1;
	}
	return close_range_around(lo, hi, flags);
}

FM_EXPORT void closefrom(int lo)
{
	if (lo < 0)
		lo = 0;
	close_range_around((unsigned)lo, ~0U, 0);
}

FM_EXPORT int dup2(int old, int nfd)
{
	if (FM_UNLIKELY(prim_fd_hidden(nfd))) {
		errno = EBUSY;
		return -1;
	}
	return (int)syscall(SYS_dup2, old, nfd);
}

FM_EXPORT int dup3(int old, int nfd, int flags)
{
	if (FM_UNLIKELY(prim_fd_hidden(nfd))) {
		errno = EBUSY;
		return -1;
	}
	return (int)syscall(SYS_dup3, old, nfd, flags);
}
