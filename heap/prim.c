/* SPDX-License-Identifier: MIT */
/* The primitive layer: mmap and madvise, returning 0 or -errno. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prim.h"

int prim_reserve(size_t size, size_t align, void **out)
{
	size_t len;
	uintptr_t start, aligned;
	void *p;

	if (size == 0 || (size & (PRIM_PAGE - 1)) || align < PRIM_PAGE ||
	    (align & (align - 1)))
		return -EINVAL;
	if (size > SIZE_MAX - align)
		return -ENOMEM;
	len = size + align - PRIM_PAGE;
	/* system calls, not the interposed mmap/munmap */
	p = (void *)syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	start = (uintptr_t)p;
	aligned = (start + align - 1) & ~(uintptr_t)(align - 1);
	if (aligned > start)
		syscall(SYS_munmap, p, aligned - start);
	if (aligned + size < start + len)
		syscall(SYS_munmap, (void *)(aligned + size),
			start + len - aligned - size);
	*out = (void *)aligned;
	return 0;
}

int prim_release(void *addr, size_t size)
{
	return syscall(SYS_munmap, addr, size) ? -errno : 0;
}

/* The system call itself: the runtime interposes madvise(), and its own
 * calls must not come back through it. */
static int sys_madvise(void *addr, size_t size, int advice)
{
	return syscall(SYS_madvise, addr, size, advice) ? -errno : 0;
}

int prim_discard(void *addr, size_t size)
{
	return sys_madvise(addr, size, MADV_DONTNEED);
}

int prim_nohuge(void *addr, size_t size)
{
	return sys_madvise(addr, size, MADV_NOHUGEPAGE);
}

int prim_madvise(void *addr, size_t size, int advice)
{
	return sys_madvise(addr, size, advice);
}

/* ---- userfaultfd ------------------------------------------------------ */

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Newer than Debian 12's headers (Linux 6.8). */
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE (1ULL << 16)
#endif
#ifndef _UFFDIO_MOVE
#define _UFFDIO_MOVE (0x05)
struct uffdio_move {
	__u64 dst;
	__u64 src;
	__u64 len;
	__u64 mode;
	__s64 move;
};
#define UFFDIO_MOVE _IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

int prim_uffd_open(unsigned long long features)
{
	struct uffdio_api api = {.api = UFFD_API, .features = features};
	int fd, dev, err;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && (errno == EPERM || errno == EACCES)) {
		err = errno;
		dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW,
				   O_CLOEXEC | O_NONBLOCK);
			err = errno;
			close(dev);
		}
		if (fd < 0)
			return err == EACCES ? -EPERM : -err;
	}
	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api) != 0) {
		err = errno;
		close(fd);
		return -err;
	}
	if ((api.features & features) != features) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int prim_uffd_register(int fd, void *addr, size_t len)
{
	struct uffdio_register r = {
	    .range = {(uintptr_t)addr, len},
	    .mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	return ioctl(fd, UFFDIO_REGISTER, &r) ? -errno : 0;
}

int prim_uffd_unregister(int fd, void *addr, size_t len)
{
	struct uffdio_range r = {(uintptr_t)addr, len};

	return ioctl(fd, UFFDIO_UNREGISTER, &r) ? -errno : 0;
}

int prim_uffd_copy(int fd, void *dst, const void *src, size_t len, size_t *done)
{
	struct uffdio_copy c = {
	    .dst = (uintptr_t)dst,
	    .src = (uintptr_t)src,
	    .len = len,
	};
	int rc = ioctl(fd, UFFDIO_COPY, &c);

	*done = c.copy > 0 ? (size_t)c.copy : 0;
	if (rc == 0)
		return 0;
	return c.copy < 0 ? (int)c.copy : -errno;
}

int prim_uffd_move(int fd, void *dst, void *src, size_t len, size_t *done)
{
	struct uffdio_move m = {
	    .dst = (uintptr_t)dst,
	    .src = (uintptr_t)src,
	    .len = len,
	    .mode = 0,
	};
	int rc = ioctl(fd, UFFDIO_MOVE, &m);

	*done = m.move > 0 ? (size_t)m.move : 0;
	if (rc == 0)
		return 0;
	return m.move < 0 ? (int)m.move : -errno;
}

int prim_uffd_wake(int fd, void *addr, size_t len)
{
	struct uffdio_range r = {(uintptr_t)addr, len};

	return ioctl(fd, UFFDIO_WAKE, &r) ? -errno : 0;
}

/* ---- descriptors ------------------------------------------------------ */

#include <string.h>
#include <sys/socket.h>

int prim_send_fd(int sock, int fd)
{
	char byte = 'F';
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&byte, 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl,
			    .msg_controllen = sizeof(ctl)};
	struct cmsghdr *cm;

	memset(ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int prim_recv_fd(int sock)
{
	char byte;
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&byte, 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl,
			    .msg_controllen = sizeof(ctl)};
	struct cmsghdr *cm;
	ssize_t n;
	int fd;

	while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0)
		if (errno != EINTR)
			return -errno;
	cm = CMSG_FIRSTHDR(&mh);
	if (n != 1 || cm == NULL || cm->cmsg_type != SCM_RIGHTS)
		return -EPROTO;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* ---- the runtime's descriptors --------------------------------------- */

#include <sys/resource.h>

#define FD_HIDDEN_MAX 64
static int hidden[FD_HIDDEN_MAX];
static int nhidden;

int prim_fd_hide(int fd)
{
	struct rlimit rl;
	int lo = 64, nfd, i;

	if (fd < 0 || prim_fd_hidden(fd))
		return fd;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 256 &&
	    rl.rlim_cur != RLIM_INFINITY)
		lo = (int)(rl.rlim_cur > 4096 ? 4096 : rl.rlim_cur) - 64;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, lo);
	if (nfd >= 0) {
		syscall(SYS_close, fd);
		fd = nfd;
	}
	for (i = 0; i < nhidden; i++)
		if (hidden[i] < 0)
			break;
	if (i < FD_HIDDEN_MAX) {
		__atomic_store_n(&hidden[i], fd, __ATOMIC_RELEASE);
		if (i == nhidden)
			__atomic_store_n(&nhidden, i + 1, __ATOMIC_RELEASE);
	}
	return fd;
}

void prim_fd_unhide(int fd)
{
	for (int i = 0; i < nhidden; i++)
		if (hidden[i] == fd)
			__atomic_store_n(&hidden[i], -1, __ATOMIC_RELEASE);
}

int prim_fd_next_hidden(int from)
{
	int n = __atomic_load_n(&nhidden, __ATOMIC_ACQUIRE), best = -1;

	for (int i = 0; i < n; i++) {
		int fd = __atomic_load_n(&hidden[i], __ATOMIC_ACQUIRE);
		if (fd >= from && (best < 0 || fd < best))
			best = fd;
	}
	return best;
}

bool prim_fd_hidden(int fd)
{
	int n = __atomic_load_n(&nhidden, __ATOMIC_ACQUIRE);

	for (int i = 0; i < n; i++)
		if (__atomic_load_n(&hidden[i], __ATOMIC_ACQUIRE) == fd)
			return fd >= 0;
	return false;
}
