/* SPDX-License-Identifier: MIT */
/*
 * Descriptor calls that could close the runtime's own descriptors: daemons
 * close everything, shells dup2 onto any number. Closing the userfaultfd
 * would turn every evicted page into zeros. The runtime's descriptors are
 * kept out of reach: closing one pretends to succeed, dup2 onto one fails
 * with EBUSY (as Linux may), and ranges are closed around them.
 *
 * The runtime's descriptors are those it hides itself (the userfaultfd,
 * its control connections) and every one its threads make with the calls
 * below: libfabric's sockets, epoll and event descriptors are made inside
 * the runtime, out of sight. Those are hidden as they are made.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "heap/heap.h"
#include "heap/prim.h"
#include "pre.h"

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

FM_EXPORT int close(int fd)
{
	if (FM_UNLIKELY(prim_fd_hidden(fd))) {
		if (!heap_is_runtime_thread())
			return 0; /* the program's close-all */
		prim_fd_unhide(fd);
	}
	return (int)syscall(SYS_close, fd);
}

/* A descriptor just made: hidden if a runtime thread made it. */
static int made(int fd)
{
	if (fd >= 0 && FM_UNLIKELY(heap_is_runtime_thread()))
		return prim_fd_hide(fd);
	return fd;
}

static int made_pair(int rc, int fds[2])
{
	if (rc == 0 && FM_UNLIKELY(heap_is_runtime_thread())) {
		fds[0] = prim_fd_hide(fds[0]);
		fds[1] = prim_fd_hide(fds[1]);
	}
	return rc;
}

/* None of these is a cancellation point: the system calls are the whole
 * of glibc's wrappers. */
FM_EXPORT int socket(int domain, int type, int proto)
{
	return made((int)syscall(SYS_socket, domain, type, proto));
}

FM_EXPORT int socketpair(int domain, int type, int proto, int fds[2])
{
	return made_pair((int)syscall(SYS_socketpair, domain, type, proto, fds),
			 fds);
}

FM_EXPORT int pipe(int fds[2])
{
	return made_pair((int)syscall(SYS_pipe2, fds, 0), fds);
}

FM_EXPORT int pipe2(int fds[2], int flags)
{
	return made_pair((int)syscall(SYS_pipe2, fds, flags), fds);
}

FM_EXPORT int eventfd(unsigned int initval, int flags)
{
	return made((int)syscall(SYS_eventfd2, initval, flags));
}

FM_EXPORT int epoll_create(int size)
{
	if (size <= 0) {
		errno = EINVAL;
		return -1;
	}
	return made((int)syscall(SYS_epoll_create1, 0));
}

FM_EXPORT int epoll_create1(int flags)
{
	return made((int)syscall(SYS_epoll_create1, flags));
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
