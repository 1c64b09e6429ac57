/* SPDX-License-Identifier: MIT */
/*
 * fabric/ private interface: the far-memory backend as an ops table.
 *
 * Remote memory is handed out in chunks of FAB_CHUNK bytes. The pager
 * places pages inside chunks itself (no round trip per page); the backend
 * only allocates chunks, moves bytes, and drops a session's reference to a
 * chunk. After fork both processes reference the chunks that existed at
 * fork (copy-on-write at chunk granularity): neither writes into such a
 * shared chunk again; each writes new data to chunks of its own, and a chunk
 * is freed when no session references it.
 *
 * Data moves asynchronously: read/write post an operation and return; its
 * completion is reported by poll() with the caller's context pointer. Local
 * buffers must lie inside an area given to reg() first (RMA needs them
 * registered).
 *
 * All functions return 0 (or a count) or a negative errno. None allocates
 * from the managed region, and none may be called from a signal handler.
 * Any may be called from any thread.
 *
 * Errors both backends give: -EINVAL for a transfer outside its chunk or
 * a buffer outside every reg() area; -ENOENT for a chunk this session does
 * not hold (never had, or put); -ENOSPC from chunk_alloc when full. When a
 * memory server is lost, transfers in flight complete with -ECONNRESET,
 * and from then on every call fails with -EPIPE, poll included.
 *
 * Fork: between fork_prepare and fork the caller allocates no chunk and
 * prepares no other ticket on the session. fork_open carries the parent's
 * reg() areas over (same addresses in the child); registering them again
 * is harmless. In the child, the copy of the parent's session refuses
 * every call (-ECHILD); closing it frees the copy and leaves the parent's
 * session alone.
 */
#ifndef FARMEM_FAB_H
#define FARMEM_FAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAB_CHUNK ((size_t)2 << 20)

typedef uint64_t fab_chunk_t;

struct fab_backend; /* one session with one or more memory servers */

struct fab_completion {
	void *ctx;  /* as given to read/write */
	int status; /* 0 or a negative errno */
};

/* A session handed from a parent to its forked child. */
struct fab_ticket {
	uint8_t bytes[256];
};

struct fab_ops {
	const char *name;
	/* open - starts a session; @spec is backend-specific (the server
	 * list for libfabric, NULL for the in-process store). */
	int (*open)(const char *spec, struct fab_backend **out);
	/* ready - makes transfers possible now: may load libraries and
	 * probe the machine (ofi: ~300 ms), so the pager calls it before
	 * its first eviction, while every page a library loader could read
	 * is still resident; a transfer would do it too, late. */
	int (*ready)(struct fab_backend *b);
	/* reg - makes [base, base+len) usable as a local buffer. */
	int (*reg)(struct fab_backend *b, void *base, size_t len);
	/* chunk_alloc - a new chunk referenced by this session only. -ENOSPC
	 * when every server is full. */
	int (*chunk_alloc)(struct fab_backend *b, fab_chunk_t *out);
	/* chunk_put - drops this session's reference. */
	int (*chunk_put)(struct fab_backend *b, fab_chunk_t c);
	/* read/write - post a transfer of @len bytes at @off in chunk @c. */
	int (*read)(struct fab_backend *b, fab_chunk_t c, size_t off, void *buf,
		    size_t len, void *ctx);
	int (*write)(struct fab_backend *b, fab_chunk_t c, size_t off,
		     const void *buf, size_t len, void *ctx);
	/* poll - up to @max completions, without blocking. Returns count. */
	int (*poll)(struct fab_backend *b, struct fab_completion *out, int max);
	/* fork_prepare - before fork: a ticket for a child session that
	 * references every chunk this one does. fork_open - in the child:
	 * the session from the ticket. fork_cancel - fork failed. */
	int (*fork_prepare)(struct fab_backend *b, struct fab_ticket *t);
	int (*fork_open)(const struct fab_ticket *t, struct fab_backend **out);
	void (*fork_cancel)(struct fab_backend *b, const struct fab_ticket *t);
	/* close - ends the session; its chunk references are dropped. */
	void (*close)(struct fab_backend *b);
};

/*
 * Fork generations, for the backends. A forked child holds a copy of its
 * parent's session: used from the child it would act for the parent
 * (closing it would end or free the parent's). So each session remembers
 * the generation it was opened in (fab_fork_gen_open), every forked child
 * bumps the generation, and a session of an older one is a copy that only
 * refuses (-ECHILD).
 */
extern unsigned fab_fork_gen;
unsigned fab_fork_gen_open(void);
static inline bool fab_fork_stale(unsigned opened_in)
{
	return __builtin_expect(
	    opened_in != __atomic_load_n(&fab_fork_gen, __ATOMIC_RELAXED), 0);
}

/* The backends. memfd: spec NULL (64 GiB store) or a size ("64M").
 * ofi: spec "host:port[,host:port...]", token in FARMEM_TOKEN. */
extern const struct fab_ops fab_memfd_ops; /* in-process store (tests) */
extern const struct fab_ops fab_ofi_ops;   /* libfabric to farmem-server */

#endif
