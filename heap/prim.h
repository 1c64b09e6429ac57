/* SPDX-License-Identifier: MIT */
/*
 * The primitive layer: every mmap/madvise call the heap makes goes through
 * these. Each returns 0 or a negative errno and never allocates.
 */
#ifndef FARMEM_HEAP_PRIM_H
#define FARMEM_HEAP_PRIM_H

#include <stdbool.h>
#include <stddef.h>

#define PRIM_PAGE ((size_t)4096)

/*
 * prim_reserve - maps @size bytes of private anonymous read-write memory,
 * MAP_NORESERVE, starting at a multiple of @align (a power of two >= page).
 * No physical memory is used until touched. Stores the start in @out.
 */
int prim_reserve(size_t size, size_t align, void **out);

/* prim_release - unmaps [addr, addr+size). Page-aligned arguments. */
int prim_release(void *addr, size_t size);

/*
 * prim_discard - drops the contents of [addr, addr+size): the next touch
 * reads zeros and the pages no longer count as resident. Page-aligned.
 */
int prim_discard(void *addr, size_t size);

/* prim_nohuge - keeps transparent huge pages out of the range. */
int prim_nohuge(void *addr, size_t size);

/* prim_madvise - the madvise system call, never the interposed one. */
int prim_madvise(void *addr, size_t size, int advice);

#endif

/* ---- userfaultfd ------------------------------------------------------ */

/* Feature bits, some newer than Debian 12's headers. */
#define PRIM_UFFD_EVENT_FORK (1ULL << 1)
#define PRIM_UFFD_THREAD_ID  (1ULL << 8)
#define PRIM_UFFD_MOVE	     (1ULL << 16)

/*
 * prim_uffd_open - a userfaultfd (kernel faults included: never
 * UFFD_USER_MODE_ONLY), non-blocking, close-on-exec, with @features
 * negotiated. Tries the syscall, then /dev/userfaultfd. Returns the fd, or
 * -EPERM when the process lacks the privilege, or another negative errno
 * (-EINVAL: a feature is missing from this kernel).
 */
int prim_uffd_open(unsigned long long features);
/* prim_uffd_register - missing-page faults on [addr, addr+len) reach @fd. */
int prim_uffd_register(int fd, void *addr, size_t len);
int prim_uffd_unregister(int fd, void *addr, size_t len);
/*
 * prim_uffd_copy - fills missing pages at @dst from @src and wakes their
 * waiters. Returns the bytes copied (all of @len) or a negative errno;
 * -EEXIST when a page in the range is already present, in which case
 * *@done holds the bytes copied before it.
 */
int prim_uffd_copy(int fd, void *dst, const void *src, size_t len,
		   size_t *done);
/*
 * prim_uffd_move - moves the pages at @src (present, anonymous, not shared
 * with another process) to @dst (missing, registered with @fd). The source
 * becomes missing. Returns 0, -EBUSY (a page is shared or pinned), -ENOENT
 * (a source page is missing) or another negative errno; *@done holds the
 * bytes moved.
 */
int prim_uffd_move(int fd, void *dst, void *src, size_t len, size_t *done);
/* prim_uffd_wake - wakes threads waiting on [addr, addr+len). */
int prim_uffd_wake(int fd, void *addr, size_t len);

/* ---- descriptors ------------------------------------------------------ */

/* prim_send_fd - passes descriptor @fd over the unix socket @sock. */
int prim_send_fd(int sock, int fd);
/* prim_recv_fd - receives one descriptor from @sock (blocking). Returns
 * it, or a negative errno. */
int prim_recv_fd(int sock);

/*
 * prim_fd_hide - moves the runtime's descriptor @fd to a high number, out
 * of the way of programs that dup2 onto low ones, and records it so the
 * interposed close/close_range/closefrom/dup2 leave it alone (a program
 * that closes every descriptor would otherwise close the userfaultfd, and
 * every evicted page would read as zeros). Returns the new descriptor, or
 * @fd itself if it could not be moved or is hidden already.
 */
int prim_fd_hide(int fd);
/* prim_fd_unhide - forgets @fd (the runtime is closing it). */
void prim_fd_unhide(int fd);
/* prim_fd_next_hidden - the lowest runtime descriptor >= @from, or -1. */
int prim_fd_next_hidden(int from);
/* prim_fd_hidden - is @fd one of the runtime's? */
bool prim_fd_hidden(int fd);
