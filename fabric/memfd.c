/* SPDX-License-Identifier: MIT */
/*
 * The in-process backend: chunks live in an unmapped memfd, moved with
 * pread/pwrite, so the store never counts in the program's RSS and the
 * pager is tested without a server.
 *
 * Layout of the memfd: nslots chunks, then one page-rounded array of
 * 64-bit slot words (generation << 32 | references) mapped MAP_SHARED from
 * the same descriptor. A forked child inherits the descriptor, so parent
 * and child share the chunks and their reference counts; each session's
 * own set of references is a private bitmap. The last reference punches
 * the chunk's hole (FALLOC_FL_PUNCH_HOLE) and bumps its generation.
 *
 * Transfers complete at once; their completions wait in a ring for poll().
 * Everything here is allocated with heap_priv_alloc.
 *
 * Spec for open(): NULL or "" for a 64 GiB store, or a size ("64M",
 * "size=64M") to make -ENOSPC reachable in tests.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fabric/fab.h"
#include "heap/heap.h"
#include "heap/prim.h"

#define MEMFD_DEFAULT	   ((size_t)64 << 30)
#define MEMFD_MAGIC	   0x6d656d66u
#define MEMFD_TICKET_MAGIC 0x6d667469u
/* a slot being punched: no one may allocate it meanwhile */
#define MEMFD_FREEING 0xffffffffu

struct memfd_reg {
	uintptr_t base;
	size_t len;
};

struct fab_backend {
	uint32_t magic;
	int fd;
	size_t nslots;
	uint64_t *slots; /* MAP_SHARED from fd: gen << 32 | refs */
	size_t slots_len;
	size_t bitwords;
	uint64_t *bits; /* this session's references */
	size_t hint;	/* where the next free slot search starts */
	pthread_mutex_t lock;
	struct fab_completion *ring;
	size_t ring_cap, ring_head, ring_n;
	size_t ring_pending; /* places promised to transfers in progress */
	struct memfd_reg *regs;
	size_t nregs, regs_cap;
	uint64_t *snap; /* references handed to the last fork ticket */
	unsigned forks; /* fork generation when opened (fab.h) */
};

/* What the parent hands its child: pointers into the parent's memory,
 * which the forked child holds a copy of. */
struct memfd_ticket {
	uint32_t magic;
	uint32_t pid;
	struct fab_backend *parent;
	uint64_t *snap;
	size_t nslots;
};
_Static_assert(sizeof(struct memfd_ticket) <= sizeof(struct fab_ticket),
	       "ticket fits");

/* memfd_stale - is @b a copy inherited from the parent? (fab.h) */
static bool memfd_stale(const struct fab_backend *b)
{
	return fab_fork_stale(b->forks);
}

static uint32_t word_refs(uint64_t w)
{
	return (uint32_t)w;
}

static uint32_t word_gen(uint64_t w)
{
	return (uint32_t)(w >> 32);
}

static uint64_t chunk_id(size_t slot, uint32_t gen)
{
	return ((uint64_t)gen << 32) | slot;
}

/* ---- the shared slot words --------------------------------------------- */

/* slot_claim - free -> one reference. Returns the new word or 0. */
static uint64_t slot_claim(struct fab_backend *b, size_t i)
{
	uint64_t w = __atomic_load_n(&b->slots[i], __ATOMIC_ACQUIRE);

	while (word_refs(w) == 0) {
		uint64_t nw = w | 1;
		if (__atomic_compare_exchange_n(&b->slots[i], &w, nw, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return nw;
	}
	return 0;
}

static void slot_ref(struct fab_backend *b, size_t i)
{
	uint64_t w = __atomic_fetch_add(&b->slots[i], 1, __ATOMIC_ACQ_REL);

	FM_BUG_ON(word_refs(w) == 0 || word_refs(w) >= MEMFD_FREEING - 1);
}

/* slot_unref - drops one reference; the last one punches the chunk out of
 * the memfd and only then makes the slot allocatable again. */
static void slot_unref(struct fab_backend *b, size_t i)
{
	uint64_t w = __atomic_load_n(&b->slots[i], __ATOMIC_ACQUIRE), nw;

	for (;;) {
		uint32_t refs = word_refs(w);
		FM_BUG_ON(refs == 0 || refs == MEMFD_FREEING);
		nw = refs == 1 ? (w & ~(uint64_t)0xffffffffu) | MEMFD_FREEING
			       : w - 1;
		if (__atomic_compare_exchange_n(&b->slots[i], &w, nw, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			break;
	}
	if (word_refs(nw) != MEMFD_FREEING)
		return;
	if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(i * FAB_CHUNK), (off_t)FAB_CHUNK))
		FM_WARN_RL(fabric, "memfd: punching chunk %zu: %m", i);
	uint32_t gen = word_gen(w) + 1 ? word_gen(w) + 1 : 1;
	__atomic_store_n(&b->slots[i], (uint64_t)gen << 32, __ATOMIC_RELEASE);
}

/* ---- the session -------------------------------------------------------- */

static int memfd_map(struct fab_backend *b)
{
	void *p = mmap(NULL, b->slots_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       b->fd, (off_t)(b->nslots * FAB_CHUNK));

	if (p == MAP_FAILED)
		return -errno;
	b->slots = p;
	return 0;
}

/* memfd_new - a session struct around descriptor @fd (taken over). */
static int memfd_new(int fd, size_t nslots, struct fab_backend **out)
{
	struct fab_backend *b = heap_priv_alloc(sizeof(*b), 64);
	int ret;

	if (b == NULL)
		return -ENOMEM;
	memset(b, 0, sizeof(*b));
	b->magic = MEMFD_MAGIC;
	b->forks = fab_fork_gen_open();
	b->fd = fd;
	b->nslots = nslots;
	b->slots_len =
	    (nslots * sizeof(uint64_t) + HEAP_PAGE - 1) & ~(HEAP_PAGE - 1);
	b->bitwords = (nslots + 63) / 64;
	b->bits = heap_priv_alloc(b->bitwords * sizeof(uint64_t), 16);
	if (b->bits == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	memset(b->bits, 0, b->bitwords * sizeof(uint64_t));
	pthread_mutex_init(&b->lock, NULL);
	ret = memfd_map(b);
	if (ret)
		goto fail;
	*out = b;
	return 0;
fail:
	heap_priv_free(b->bits);
	heap_priv_free(b);
	return ret;
}

static int memfd_parse(const char *spec, size_t *nslots)
{
	size_t size = MEMFD_DEFAULT;

	if (spec && !strncmp(spec, "size=", 5))
		spec += 5;
	if (spec && *spec && pre_parse_size(spec, &size)) {
		FM_WARN(fabric,
			"memfd: \"%s\" is not a store size (try "
			"64M or size=1G)",
			spec);
		return -EINVAL;
	}
	*nslots = size / FAB_CHUNK;
	if (*nslots == 0 || *nslots > UINT32_MAX) {
		FM_WARN(fabric, "memfd: store size must be 2 MiB .. 8 PiB");
		return -EINVAL;
	}
	return 0;
}

static int memfd_open(const char *spec, struct fab_backend **out)
{
	struct fab_backend *b;
	size_t nslots, slots_len;
	int fd, ret;

	ret = memfd_parse(spec, &nslots);
	if (ret)
		return ret;
	fd = memfd_create("farmem-store", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	fd = prim_fd_hide(fd); /* out of reach of a program closing all */
	slots_len =
	    (nslots * sizeof(uint64_t) + HEAP_PAGE - 1) & ~(HEAP_PAGE - 1);
	if (ftruncate(fd, (off_t)(nslots * FAB_CHUNK + slots_len))) {
		ret = -errno;
		prim_fd_unhide(fd);
		close(fd);
		return ret;
	}
	ret = memfd_new(fd, nslots, &b);
	if (ret) {
		prim_fd_unhide(fd);
		close(fd);
		return ret;
	}
	for (size_t i = 0; i < nslots; i++)
		b->slots[i] = (uint64_t)1 << 32; /* generation 1, free */
	*out = b;
	return 0;
}

static bool memfd_buf_ok(struct fab_backend *b, const void *buf, size_t len)
{
	uintptr_t p = (uintptr_t)buf;

	for (size_t i = 0; i < b->nregs; i++)
		if (p >= b->regs[i].base &&
		    p - b->regs[i].base + len <= b->regs[i].len && p + len >= p)
			return true;
	return false;
}

static int memfd_reg_locked(struct fab_backend *b, void *base, size_t len)
{
	for (size_t i = 0; i < b->nregs; i++)
		if (b->regs[i].base == (uintptr_t)base && b->regs[i].len == len)
			return 0; /* again, e.g. after fork_open */
	if (b->nregs == b->regs_cap) {
		size_t cap = b->regs_cap ? b->regs_cap * 2 : 8;
		struct memfd_reg *r = heap_priv_alloc(cap * sizeof(*r), 16);
		if (r == NULL)
			return -ENOMEM;
		if (b->nregs)
			memcpy(r, b->regs, b->nregs * sizeof(*r));
		heap_priv_free(b->regs);
		b->regs = r;
		b->regs_cap = cap;
	}
	b->regs[b->nregs++] = (struct memfd_reg){(uintptr_t)base, len};
	return 0;
}

static int memfd_reg(struct fab_backend *b, void *base, size_t len)
{
	int ret;

	if (memfd_stale(b))
		return -ECHILD;
	if (base == NULL || len == 0 || (uintptr_t)base + len < (uintptr_t)base)
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	ret = memfd_reg_locked(b, base, len);
	pthread_mutex_unlock(&b->lock);
	return ret;
}

static int memfd_chunk_alloc(struct fab_backend *b, fab_chunk_t *out)
{
	int ret = -ENOSPC;

	if (memfd_stale(b))
		return -ECHILD;
	pthread_mutex_lock(&b->lock);
	for (size_t n = 0; n < b->nslots; n++) {
		size_t i = (b->hint + n) % b->nslots;
		uint64_t w = slot_claim(b, i);
		if (w == 0)
			continue;
		b->bits[i / 64] |= (uint64_t)1 << (i % 64);
		b->hint = i + 1;
		*out = chunk_id(i, word_gen(w));
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&b->lock);
	return ret;
}

/* memfd_owned - is @c a live chunk of this session? Locked. */
static bool memfd_owned(struct fab_backend *b, fab_chunk_t c, size_t *slot)
{
	size_t i = (size_t)(c & 0xffffffffu);

	if (i >= b->nslots || !(b->bits[i / 64] >> (i % 64) & 1))
		return false;
	if (word_gen(__atomic_load_n(&b->slots[i], __ATOMIC_ACQUIRE)) !=
	    c >> 32)
		return false;
	*slot = i;
	return true;
}

static int memfd_chunk_put(struct fab_backend *b, fab_chunk_t c)
{
	size_t i;

	if (memfd_stale(b))
		return -ECHILD;
	pthread_mutex_lock(&b->lock);
	if (!memfd_owned(b, c, &i)) {
		pthread_mutex_unlock(&b->lock);
		return -ENOENT;
	}
	b->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
	pthread_mutex_unlock(&b->lock);
	slot_unref(b, i);
	return 0;
}

/* ring_reserve - promises a place for one more completion, so that a
 * transfer, once done, can always report it. Locked. */
static int ring_reserve(struct fab_backend *b)
{
	struct fab_completion *r;
	size_t cap;

	if (b->ring_n + b->ring_pending < b->ring_cap) {
		b->ring_pending++;
		return 0;
	}
	cap = b->ring_cap ? b->ring_cap * 2 : 256;
	r = heap_priv_alloc(cap * sizeof(*r), 16);
	if (r == NULL)
		return -ENOMEM;
	for (size_t k = 0; k < b->ring_n; k++)
		r[k] = b->ring[(b->ring_head + k) % b->ring_cap];
	heap_priv_free(b->ring);
	b->ring = r;
	b->ring_cap = cap;
	b->ring_head = 0;
	b->ring_pending++;
	return 0;
}

static int memfd_xfer(struct fab_backend *b, fab_chunk_t c, size_t off,
		      void *buf, size_t len, void *ctx, bool write)
{
	size_t i, done = 0;
	int ret = 0;

	if (memfd_stale(b))
		return -ECHILD;
	if (len == 0 || off > FAB_CHUNK || len > FAB_CHUNK - off)
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	if (!memfd_owned(b, c, &i))
		ret = -ENOENT;
	else if (!memfd_buf_ok(b, buf, len))
		ret = -EINVAL;
	else
		ret = ring_reserve(b);
	if (ret) {
		pthread_mutex_unlock(&b->lock);
		return ret;
	}
	pthread_mutex_unlock(&b->lock);

	off_t pos = (off_t)(i * FAB_CHUNK + off);
	while (done < len) {
		ssize_t n = write ? pwrite(b->fd, (char *)buf + done,
					   len - done, pos + (off_t)done)
				  : pread(b->fd, (char *)buf + done, len - done,
					  pos + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}

	pthread_mutex_lock(&b->lock);
	b->ring_pending--;
	b->ring[(b->ring_head + b->ring_n) % b->ring_cap] =
	    (struct fab_completion){ctx, ret};
	b->ring_n++;
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static int memfd_read(struct fab_backend *b, fab_chunk_t c, size_t off,
		      void *buf, size_t len, void *ctx)
{
	return memfd_xfer(b, c, off, buf, len, ctx, false);
}

static int memfd_write(struct fab_backend *b, fab_chunk_t c, size_t off,
		       const void *buf, size_t len, void *ctx)
{
	return memfd_xfer(b, c, off, (void *)buf, len, ctx, true);
}

static int memfd_poll(struct fab_backend *b, struct fab_completion *out,
		      int max)
{
	int n = 0;

	if (memfd_stale(b))
		return -ECHILD;
	pthread_mutex_lock(&b->lock);
	while (n < max && b->ring_n > 0) {
		out[n++] = b->ring[b->ring_head];
		b->ring_head = (b->ring_head + 1) % b->ring_cap;
		b->ring_n--;
	}
	pthread_mutex_unlock(&b->lock);
	return n;
}

/* ---- fork ---------------------------------------------------------------- */

static void snap_unref(struct fab_backend *b, const uint64_t *snap)
{
	for (size_t w = 0; w < b->bitwords; w++) {
		uint64_t word = snap[w];
		while (word) {
			unsigned bit = (unsigned)__builtin_ctzll(word);
			word &= word - 1;
			slot_unref(b, w * 64 + bit);
		}
	}
}

/*
 * The child's references are taken here, before fork, from a snapshot of
 * this session's set: chunks allocated between now and fork are not the
 * child's. The snapshot lives until the next fork_prepare (callers
 * serialise fork_prepare .. fork on one backend).
 */
static int memfd_fork_prepare(struct fab_backend *b, struct fab_ticket *t)
{
	struct memfd_ticket mt = {MEMFD_TICKET_MAGIC, (uint32_t)getpid(), b,
				  NULL, b->nslots};
	uint64_t *snap;

	if (memfd_stale(b))
		return -ECHILD;
	snap = heap_priv_alloc(b->bitwords * sizeof(uint64_t), 16);
	if (snap == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&b->lock);
	memcpy(snap, b->bits, b->bitwords * sizeof(uint64_t));
	for (size_t w = 0; w < b->bitwords; w++) {
		uint64_t word = snap[w];
		while (word) {
			unsigned bit = (unsigned)__builtin_ctzll(word);
			word &= word - 1;
			slot_ref(b, w * 64 + bit);
		}
	}
	heap_priv_free(b->snap);
	b->snap = snap;
	pthread_mutex_unlock(&b->lock);
	mt.snap = snap;
	memset(t, 0, sizeof(*t));
	memcpy(t->bytes, &mt, sizeof(mt));
	return 0;
}

static int memfd_fork_open(const struct fab_ticket *t, struct fab_backend **out)
{
	struct memfd_ticket mt;
	struct fab_backend *p, *b;
	int fd, ret;

	memcpy(&mt, t->bytes, sizeof(mt));
	p = mt.parent;
	if (mt.magic != MEMFD_TICKET_MAGIC || !heap_priv_owns(p) ||
	    !heap_priv_owns(mt.snap) || p->magic != MEMFD_MAGIC ||
	    p->nslots != mt.nslots)
		return -EINVAL;
	/* our own descriptor: the parent's copy (or, in the same process,
	 * the parent itself) may close its one */
	fd = fcntl(p->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	fd = prim_fd_hide(fd);
	ret = memfd_new(fd, p->nslots, &b);
	if (ret) {
		close(fd);
		return ret;
	}
	memcpy(b->bits, mt.snap, b->bitwords * sizeof(uint64_t));
	/* the parent's buffers are at the same addresses in the child */
	for (size_t i = 0; i < p->nregs && ret == 0; i++)
		ret = memfd_reg_locked(b, (void *)p->regs[i].base,
				       p->regs[i].len);
	if (ret) {
		fab_memfd_ops.close(b);
		return ret;
	}
	*out = b;
	return 0;
}

static void memfd_fork_cancel(struct fab_backend *b, const struct fab_ticket *t)
{
	struct memfd_ticket mt;

	if (memfd_stale(b))
		return;
	memcpy(&mt, t->bytes, sizeof(mt));
	pthread_mutex_lock(&b->lock);
	if (mt.magic != MEMFD_TICKET_MAGIC || mt.parent != b ||
	    mt.snap != b->snap || b->snap == NULL) {
		pthread_mutex_unlock(&b->lock);
		FM_WARN(fabric, "memfd: fork_cancel of a ticket that is not "
				"this session's latest");
		return;
	}
	b->snap = NULL;
	pthread_mutex_unlock(&b->lock);
	snap_unref(b, mt.snap);
	heap_priv_free(mt.snap);
}

static void memfd_close(struct fab_backend *b)
{
	if (b == NULL)
		return;
	/* a parent's copy: the references are the parent's to drop */
	if (!memfd_stale(b))
		snap_unref(b, b->bits);
	munmap(b->slots, b->slots_len);
	prim_fd_unhide(b->fd);
	close(b->fd);
	if (!memfd_stale(b))
		pthread_mutex_destroy(&b->lock);
	heap_priv_free(b->snap);
	heap_priv_free(b->ring);
	heap_priv_free(b->regs);
	heap_priv_free(b->bits);
	b->magic = 0;
	heap_priv_free(b);
}

static int memfd_ready(struct fab_backend *b)
{
	return memfd_stale(b) ? -ECHILD : 0;
}

const struct fab_ops fab_memfd_ops = {
    .name = "memfd",
    .open = memfd_open,
    .reg = memfd_reg,
    .chunk_alloc = memfd_chunk_alloc,
    .chunk_put = memfd_chunk_put,
    .read = memfd_read,
    .write = memfd_write,
    .poll = memfd_poll,
    .ready = memfd_ready,
    .fork_prepare = memfd_fork_prepare,
    .fork_open = memfd_fork_open,
    .fork_cancel = memfd_fork_cancel,
    .close = memfd_close,
};
