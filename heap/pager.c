/* SPDX-License-Identifier: MIT */
/*
 * The pager: holds the region's resident pages under the local budget.
 *
 * Every page of the region has one 32-bit entry in the page table (the
 * handle table): a state, a "hot" bit and an index whose meaning depends on
 * the state. The region is registered with a userfaultfd for missing pages,
 * so every page that becomes resident passes through here and the resident
 * count is exact.
 *
 *   NEVER     never touched, or discarded: reads as zeros
 *   RESIDENT  present in the region; <index> - 1 is a remote slot that
 *             still holds what was fetched (0: none), see below
 *   WRITING   moved out to staging slot <index>, being written remote
 *   REMOTE    only in remote slot <index>
 *   FETCHING  being read into fetch buffer <index>
 *   SAME      one 64-bit word repeated, kept in pg.sums: it left without
 *             a write and comes back without a fetch (zeros, and the
 *             constant runs of data frames and bitmaps)
 *
 * Eviction is pauseless and loses no write: a victim is taken from the
 * program atomically with UFFDIO_MOVE into a staging area (registered with
 * the same userfaultfd, outside the region) and written remote from there.
 * A program thread touching it meanwhile faults and gets it back from
 * staging at once; only that thread waits, and only for one copy.
 *
 * Clean pages leave without a write. A page fetched back keeps its remote
 * slot, and a sum of what was fetched (pg.sums). When it is evicted
 * again, the sum of the copy in staging - taken from the program by the
 * move, so no write can race with it - decides: the same, and the page is
 * REMOTE in its old slot at once ("dropped clean"); different, and the
 * old slot is freed and the page written to a new one. The sum
 * (page_sum) detects every change confined to one of its four lanes of
 * 64-bit words; only changes across lanes can cancel out, with odds of
 * about 2^-64.
 *
 * One pager thread owns the fault and completion loop; program threads
 * enter only through pager_discard() and the fork hooks. All of it is
 * serialised by one mutex. Nothing here touches region memory except with
 * the ioctls, which do not fault on it.
 */
#include "config.h"

#include <errno.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fabric/fab.h"
#include "heap.h"
#include "prim.h"
#include "sched/sched.h"

#define PG_SHIFT	  12
#define PG_STATE(e)	  ((e) >> 29)
#define PG_HOT		  (1u << 28)
#define PG_IDX(e)	  ((e) & (PG_HOT - 1))
#define PG_ENTRY(st, idx) (((uint32_t)(st) << 29) | (uint32_t)(idx))

enum { PG_NEVER, PG_RESIDENT, PG_WRITING, PG_REMOTE, PG_FETCHING, PG_SAME };

/* First-touch faults fill this many pages at once (when never touched):
 * one round trip instead of 16 (DESIGN.md: 64 KiB costs 4.1 us per 4 KiB
 * against 15.7 us for a single page). */
#define ZERO_BATCH 16
#define NSTAGE	   512 /* staging slots (2 MiB), part of the budget */
#define NFETCH	   128 /* fetch buffers */
/* Evictions move and write runs of up to this many contiguous cold pages
 * in one ioctl and one transfer; reads of pages written together come back
 * together the same way (DESIGN.md: page-table calls cost ~1.5 us each
 * here, ~0.1-0.2 us per page when one call covers a range). */
#define RUN_MAX 16
/* Sequential faults fetch ahead up to this many pages. */
#define PREFETCH_MAX 32
/* Same-filled pages (SAME) come back up to this many at once. */
#define SAME_MAX PREFETCH_MAX
/* Streams followed at once (a scan over several columns is several):
 * a fault within STREAM_SLACK pages after where one would fault next. */
#define NSTREAMS     8
#define STREAM_SLACK 8
/* Drop-behind: pages a sure stream passed this far behind where it would
 * fault next (itself up to PREFETCH_MAX ahead of the program) are
 * evicted first. */
#define DROP_BEHIND (2 * PREFETCH_MAX)
/* Strided streams: runs (of one page or more) this many pages apart at
 * most, fetched up to 8 strides and STRIDE_AHEAD pages ahead. */
#define STRIDE_MAX   256
#define STRIDE_AHEAD (2 * PREFETCH_MAX)
/* Staging pages whose write finished are dropped in batches. */
#define STAGE_FLUSH 64
/* The pager evicts ahead of faults once room has fallen under this
 * many pages (see evict_ahead), and keeps AHEAD_ROOM pages (or down to
 * the low watermark, if nearer) for the faults that come while its
 * writes complete. */
#define HEADROOM   32
#define AHEAD_ROOM (4 * RUN_MAX)
/* The backend is made ready once the heap comes this near its budget
 * (4 MiB: see make_room). */
#define OPEN_ROOM	1024
#define SLOTS_PER_CHUNK (FAB_CHUNK >> PG_SHIFT)
/* mimalloc keeps each 32 MiB segment's header in its first 64 KiB, and
 * every heap's slow path reads it: never evicted. */
#define SEG_PAGES	 (HEAP_REGION_ALIGN >> PG_SHIFT)
#define SEG_HEADER_PAGES 16
/* A completion's context: kind, number of pages, first buffer index. */
#define CTX_WRITE	  ((uintptr_t)1 << 40)
#define CTX_READ	  ((uintptr_t)2 << 40)
#define CTX(kind, n, idx) ((void *)((kind) | ((uintptr_t)(n) << 16) | (idx)))

struct stage_info {
	uint32_t page;
	uint32_t slot;
	bool cancelled; /* the page came back or died: the copy is void */
};

struct fetch_info {
	uint32_t page;
	uint32_t slot;
	bool discard; /* discarded while in flight: install zeros */
	uint64_t t0;
};

static struct {
	bool active;
	int uffd;
	int evfd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	const struct fab_ops *ops;
	struct fab_backend *be;

	char *base;
	size_t npages;
	uint32_t *pt;
	uint64_t *sums; /* RESIDENT with a slot: page_sum of what came back;
			   SAME: the word */
	uint64_t *ro;	/* bit per page: mprotect'ed readable, not writable */
	size_t top;	/* pages below this were touched at some point */
	size_t hand;
	bool random_victims; /* FARMEM_VICTIM=random: no recency at all */
	uint64_t rnd;	     /* its xorshift state */

	size_t budget, low;
	size_t resident; /* region-resident plus staging in use */
	size_t leaving;	 /* of those, staged pages on their way out */
	size_t inflight; /* transfers posted, not completed */

	char *stage;
	struct stage_info stage_info[NSTAGE];
	uint64_t stage_free[NSTAGE / 64];  /* bit set: free */
	uint64_t stage_dirty[NSTAGE / 64]; /* written out, not yet dropped */
	size_t ndirty;

	char *fetch;
	char *same;		      /* SAME_MAX pages, each one word */
	uint64_t same_word[SAME_MAX]; /* that word, per page */
	bool same_filled[SAME_MAX];   /* ... if filled */
	struct fetch_info fetch_info[NFETCH];
	uint64_t fetch_free[NFETCH / 64];

	/* sequential fault detection: where each recent stream of faults
	 * would fault next, and how sure we are (0-3) */
	struct {
		size_t next;
		unsigned level;
		size_t behind; /* drop-behind: pages below were seen to */
		size_t start;  /* where its run began, or the last run read
				  ahead began; the run ends at next */
		size_t stride; /* pages between runs, if it jumps (else 0) */
	} streams[NSTREAMS];
	unsigned stream_next;  /* the stream to replace */
	unsigned stream_evict; /* the stream drop-behind looks at first */

	fab_chunk_t *chunks;  /* chunk index -> backend chunk */
	uint32_t *chunk_used; /* slots in use; CHUNK_FROZEN: shared at fork */
	size_t nchunks;	      /* indexes ever used */
	size_t chunk_dead;    /* a dead index to reuse, or SIZE_MAX: a list
				 linked through chunks[] */
	uint32_t *slot_free;  /* stack of free remote slots */
	size_t slot_nfree;

	/* fork (see pager_fork_prepare) */
	bool forking;  /* between prepare and the parent's handler */
	bool quiesced; /* the pager thread has stopped changing state */
	int fork_fd;   /* the child's userfaultfd, from UFFD_EVENT_FORK */
	int fork_sock[2];
	bool fork_ticket_ok;
	bool child_session; /* forked child: session not opened from ticket */
	bool be_ready;	    /* the backend's ready() was called */
	bool pressed;	    /* the heap has come near its budget */
	bool ahead_stuck;   /* evict_ahead found nothing to evict */
	struct fab_ticket ticket;
	uint64_t gen;	/* pager loop iterations, while forking */
	bool want_home; /* fallback: bring everything back, then pause */
	bool paused;
	bool over_budget_warned;

	struct pager_stats st;
} pg = {.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.uffd = -1,
	.evfd = -1,
	.fork_fd = -1,
	.fork_sock = {-1, -1},
	.chunk_dead = SIZE_MAX};

/* A chunk referenced by a forked child or parent too: no slot of it is
 * written again, and it is put when its last slot here is freed. Then it
 * is dead (CHUNK_FROZEN and no slot): its index waits in pg.chunk_dead for
 * the next chunk, so that a program that forks and evicts for days does
 * not run out of indexes (slot numbers stop at PG_HOT). */
#define CHUNK_FROZEN (1u << 31)
#define CHUNK_DEAD   CHUNK_FROZEN

static const char zero_page[HEAP_PAGE * ZERO_BATCH]
    __attribute__((aligned(4096)));

static inline char *page_addr(size_t p)
{
	return pg.base + (p << PG_SHIFT);
}

static void note_resident(size_t n)
{
	pg.resident += n;
	if (pg.resident > pg.st.resident_peak)
		pg.st.resident_peak = pg.resident;
}

static void fatal_backend(const char *what, int rc)
{
	pre_log(FM_LOG_ERROR, "pager",
		"%s failed: %s; the program's evicted memory is unreachable, "
		"so it stops here (exit status 70) rather than go on with "
		"lost data. Run it again with its memory server up for as "
		"long as it runs",
		what, strerror(-rc));
	_exit(70);
}

/* ---- remote slots --------------------------------------------------------- */

static int slot_get(uint32_t *out)
{
	fab_chunk_t c;
	int rc;

	if (pg.slot_nfree == 0) {
		size_t ci = pg.chunk_dead;

		/* slot + 1 must fit an index (RESIDENT's clean slot) */
		if (ci == SIZE_MAX &&
		    (pg.nchunks + 1) * SLOTS_PER_CHUNK >= PG_HOT)
			return -ENOSPC;
		rc = pg.ops->chunk_alloc(pg.be, &c);
		if (rc)
			return rc;
		pg.st.chunks++;
		if (ci == SIZE_MAX)
			ci = pg.nchunks++;
		else
			pg.chunk_dead = (size_t)pg.chunks[ci];
		pg.chunks[ci] = c;
		pg.chunk_used[ci] = 0;
		for (size_t i = SLOTS_PER_CHUNK; i-- > 0;)
			pg.slot_free[pg.slot_nfree++] =
			    (uint32_t)(ci * SLOTS_PER_CHUNK + i);
	}
	*out = pg.slot_free[--pg.slot_nfree];
	pg.chunk_used[*out / SLOTS_PER_CHUNK]++;
	return 0;
}

/* chunk_die - puts chunk @c, whose last slot here was freed, and keeps
 * its index for reuse. */
static void chunk_die(size_t c)
{
	int rc = pg.ops->chunk_put(pg.be, pg.chunks[c]);

	if (rc)
		FM_WARN_RL(pager, "releasing far memory failed: %s",
			   strerror(-rc));
	pg.chunk_used[c] = CHUNK_DEAD;
	pg.chunks[c] = (fab_chunk_t)pg.chunk_dead;
	pg.chunk_dead = c;
}

static void slot_put(uint32_t s)
{
	size_t c = s / SLOTS_PER_CHUNK;

	pg.chunk_used[c]--;
	if (!(pg.chunk_used[c] & CHUNK_FROZEN))
		pg.slot_free[pg.slot_nfree++] = s;
	else if (pg.chunk_used[c] == CHUNK_FROZEN)
		chunk_die(c);
}

/* Before fork: every chunk becomes shared with the child. Free slots in
 * them are forgotten (new data goes to new chunks), empty ones put. */
static void chunks_freeze(void)
{
	for (size_t c = 0; c < pg.nchunks; c++) {
		if (pg.chunk_used[c] & CHUNK_FROZEN)
			continue; /* frozen before, or dead */
		if (pg.chunk_used[c] == 0)
			chunk_die(c);
		else
			pg.chunk_used[c] |= CHUNK_FROZEN;
	}
	pg.slot_nfree = 0;
}

static fab_chunk_t slot_chunk(uint32_t s)
{
	return pg.chunks[s / SLOTS_PER_CHUNK];
}

/* ---- clean pages ---------------------------------------------------------- */

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/*
 * page_sum - 64 bits of a page's contents. Four lanes, each a chain of
 * bijections of (state ^ word): a change within one lane always changes
 * that lane, and so the sum; about 0.2 us a page.
 */
static uint64_t page_sum(const void *page)
{
	const uint64_t *w = page;
	const uint64_t k = 0x9e3779b97f4a7c15ull;
	uint64_t a = 1, b = 2, c = 3, d = 4, h;

	for (size_t i = 0; i < HEAP_PAGE / 8; i += 4) {
		a = rotl64(a ^ w[i], 29) * k;
		b = rotl64(b ^ w[i + 1], 29) * k;
		c = rotl64(c ^ w[i + 2], 29) * k;
		d = rotl64(d ^ w[i + 3], 29) * k;
	}
	h = a ^ rotl64(b, 17) ^ rotl64(c, 31) ^ rotl64(d, 47);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

/* Is @page one 64-bit word repeated (*@w)? Most pages differ within a
 * few words. */
static bool page_same(const void *page, uint64_t *w)
{
	const uint64_t *q = page;

	for (size_t i = 1; i < HEAP_PAGE / 8; i++)
		if (q[i] != q[0])
			return false;
	*w = q[0];
	return true;
}

/* The remote slot a resident page's entry keeps, or UINT32_MAX. */
static uint32_t clean_slot(uint32_t e)
{
	return PG_IDX(e) ? PG_IDX(e) - 1 : UINT32_MAX;
}

/* Resident page @p forgets its remote copy (it is going, or changing). */
static void clean_drop(size_t p)
{
	uint32_t s = clean_slot(pg.pt[p]);

	if (s != UINT32_MAX) {
		slot_put(s);
		pg.pt[p] &= ~(PG_HOT - 1);
	}
}

static size_t slot_off(uint32_t s)
{
	return (size_t)(s % SLOTS_PER_CHUNK) << PG_SHIFT;
}

/* ---- buffer runs ---------------------------------------------------------- */

/* Takes the longest run of set bits, up to @want, from @map; returns its
 * length (0 if none) and start. */
static unsigned bm_take(uint64_t *map, unsigned nbits, unsigned want,
			unsigned *start)
{
	unsigned best = 0, best_at = 0;

	for (unsigned i = 0; i < nbits && best < want;) {
		unsigned run = 0, at;

		if (map[i / 64] == 0) {
			i = (i / 64 + 1) * 64;
			continue;
		}
		if (!((map[i / 64] >> (i % 64)) & 1)) {
			i++;
			continue;
		}
		at = i;
		while (i < nbits && run < want &&
		       ((map[i / 64] >> (i % 64)) & 1)) {
			run++;
			i++;
		}
		if (run > best) {
			best = run;
			best_at = at;
		}
	}
	for (unsigned i = best_at; i < best_at + best; i++)
		map[i / 64] &= ~(1ull << (i % 64));
	*start = best_at;
	return best;
}

static void bm_give(uint64_t *map, unsigned at, unsigned n)
{
	for (unsigned i = at; i < at + n; i++)
		map[i / 64] |= 1ull << (i % 64);
}

static char *stage_addr(unsigned s)
{
	return pg.stage + ((size_t)s << PG_SHIFT);
}

static char *fetch_addr(unsigned f)
{
	return pg.fetch + ((size_t)f << PG_SHIFT);
}

/* Drops every staging page whose write is done, range by range. */
static void stage_flush(void)
{
	unsigned at, n;

	while ((n = bm_take(pg.stage_dirty, NSTAGE, NSTAGE, &at)) > 0) {
		prim_discard(stage_addr(at), (size_t)n << PG_SHIFT);
		bm_give(pg.stage_free, at, n);
	}
	FM_BUG_ON(pg.resident < pg.ndirty || pg.leaving < pg.ndirty);
	pg.resident -= pg.ndirty;
	pg.leaving -= pg.ndirty;
	pg.ndirty = 0;
}

static void drain_one(void);

/* Up to @want contiguous staging slots (at least one: waits for writes to
 * finish if it must). */
static unsigned stage_take(unsigned want, unsigned *at)
{
	unsigned n;

	while ((n = bm_take(pg.stage_free, NSTAGE, want, at)) == 0) {
		if (pg.ndirty)
			stage_flush();
		else
			drain_one();
	}
	return n;
}

static unsigned fetch_take(unsigned want, unsigned *at)
{
	unsigned n;

	while ((n = bm_take(pg.fetch_free, NFETCH, want, at)) == 0)
		drain_one();
	return n;
}

/* ---- completions ---------------------------------------------------------- */

static void install(size_t p, const void *src)
{
	size_t done;
	int rc = prim_uffd_copy(pg.uffd, page_addr(p), src, HEAP_PAGE, &done);

	/* -EEXIST: present already (cannot happen for a page we track as
	 * absent, unless the kernel put it there); wake its waiters anyway */
	if (rc == -EEXIST)
		prim_uffd_wake(pg.uffd, page_addr(p), HEAP_PAGE);
	else
		FM_BUG_ON(rc != 0);
	pg.pt[p] = PG_ENTRY(PG_RESIDENT, 0) | PG_HOT;
}

static void stage_release(unsigned s)
{
	pg.stage_dirty[s / 64] |= 1ull << (s % 64);
	pg.ndirty++;
}

static void write_done(unsigned s0, unsigned n, int status)
{
	pg.inflight--;
	for (unsigned s = s0; s < s0 + n; s++) {
		struct stage_info *si = &pg.stage_info[s];

		if (si->cancelled) {
			slot_put(si->slot);
		} else if (status == 0) {
			pg.pt[si->page] = PG_ENTRY(PG_REMOTE, si->slot);
			pg.st.evicted++;
		} else {
			/* keep the data: back into the region from staging */
			FM_WARN_RL(pager,
				   "writing a page out failed (%s); it "
				   "stays local",
				   strerror(-status));
			slot_put(si->slot);
			install(si->page, stage_addr(s));
			note_resident(1);
		}
		stage_release(s);
	}
	if (pg.ndirty >= STAGE_FLUSH)
		stage_flush();
}

static void lat_record(uint64_t ns)
{
	uint64_t us = ns / 1000;

	pg.st.lat_hist[us < PAGER_LAT_BUCKETS - 1 ? us
						  : PAGER_LAT_BUCKETS - 1]++;
}

static void read_done(unsigned f0, unsigned n, int status)
{
	struct fetch_info *fi = &pg.fetch_info[f0];
	bool whole = true;
	size_t done;

	pg.inflight--;
	if (status)
		fatal_backend("reading a page back", status);
	for (unsigned i = 0; i < n; i++)
		whole &= !fi[i].discard;
	/* the pages are consecutive in the region and in the buffers: one
	 * copy installs them all and wakes every waiter */
	if (!whole ||
	    prim_uffd_copy(pg.uffd, page_addr(fi->page), fetch_addr(f0),
			   (size_t)n << PG_SHIFT, &done) != 0) {
		for (unsigned i = 0; i < n; i++) {
			if ((size_t)i << PG_SHIFT < done && whole)
				continue;
			install(fi[i].page,
				fi[i].discard ? zero_page : fetch_addr(f0 + i));
		}
	}
	for (unsigned i = 0; i < n; i++) {
		if (fi[i].discard) {
			pg.pt[fi[i].page] = PG_ENTRY(PG_RESIDENT, 0) | PG_HOT;
			slot_put(fi[i].slot);
			continue;
		}
		/* the slot still holds these bytes: kept, for a clean exit */
		pg.sums[fi[i].page] = page_sum(fetch_addr(f0 + i));
		pg.pt[fi[i].page] =
		    PG_ENTRY(PG_RESIDENT, fi[i].slot + 1) | PG_HOT;
	}
	bm_give(pg.fetch_free, f0, n);
	pg.st.fetched += n;
	lat_record(sched_now_ns() - fi->t0);
}

/* Handles finished transfers. Returns how many. */
static int drain(void)
{
	struct fab_completion c[32];
	int n, total = 0;

	while ((n = pg.ops->poll(pg.be, c, 32)) > 0) {
		for (int i = 0; i < n; i++) {
			uintptr_t ctx = (uintptr_t)c[i].ctx;
			unsigned idx = (unsigned)(ctx & 0xffff);
			unsigned cnt = (unsigned)((ctx >> 16) & 0xffff);
			if ((ctx & ~(uintptr_t)0xffffffff) == CTX_WRITE)
				write_done(idx, cnt, c[i].status);
			else
				read_done(idx, cnt, c[i].status);
		}
		total += n;
	}
	if (n < 0)
		fatal_backend("polling far memory", n);
	return total;
}

/* Waits for at least one completion (transfers are in flight). */
static void drain_one(void)
{
	struct sched_idle w = {0};

	while (pg.inflight && drain() == 0)
		sched_idle_pause(&w);
}

/* ---- eviction ------------------------------------------------------------- */

static bool evictable(size_t p)
{
	uint32_t e = pg.pt[p];

	if (pg.random_victims)
		e &= ~PG_HOT; /* recency ignored, for comparison */
	return p % SEG_PAGES >= SEG_HEADER_PAGES &&
	       PG_STATE(e) == PG_RESIDENT && !(e & PG_HOT); /* not hot */
}

/*
 * moved_anyway - after UFFDIO_MOVE failed at page @p (staging slot @s),
 * how many of the @n pages from there are in staging all the same.
 *
 * Linux 6.18 can move a page and still report it not moved (seen under
 * tests/pager/grow.sh: a page gone from the region, its slot occupied).
 * Not counted, the page is lost: its entry says resident, the slot goes
 * back to the free ones, and every later move into that slot fails with
 * EEXIST. A page now in its slot and absent from the region is the one
 * the move took: nothing else fills staging, and the program cannot
 * remove a page while we hold the lock.
 */
static unsigned moved_anyway(size_t p, unsigned s, unsigned n)
{
	unsigned char in_stage[RUN_MAX], in_region[RUN_MAX];
	unsigned k = 0;

	if (mincore(stage_addr(s), (size_t)n << PG_SHIFT, in_stage) ||
	    mincore(page_addr(p), (size_t)n << PG_SHIFT, in_region))
		return 0;
	while (k < n && (in_stage[k] & 1) && !(in_region[k] & 1))
		k++;
	pg.st.move_unreported += k;
	return k;
}

/* UFFDIO_MOVE of @n pages from @p to staging @s, the pages it moved
 * without saying included. Returns pages moved; *@rc the ioctl's
 * result. */
static unsigned move_pages(size_t p, unsigned s, unsigned n, int *rc)
{
	size_t done;
	unsigned k;

	*rc = prim_uffd_move(pg.uffd, stage_addr(s), page_addr(p),
			     (size_t)n << PG_SHIFT, &done);
	k = (unsigned)(done >> PG_SHIFT);
	if (*rc && k < n)
		k += moved_anyway(p + k, s + k, n - k);
	return k;
}

/* Moves @n pages from @p to staging @s. Returns pages moved, or a negative
 * errno if none could be. */
static int move_run(size_t p, unsigned s, unsigned n)
{
	int rc;
	unsigned k = move_pages(p, s, n, &rc);

	if (k)
		return (int)k;
	if (rc == -EBUSY) {
		/*
		 * Shared with a forked child (copy-on-write): a write makes
		 * it ours again. An atomic add of zero changes nothing the
		 * program could see, and the page is present (we hold the
		 * lock; only the program's discard, which takes it, could
		 * drop it), so this cannot fault into the pager itself.
		 */
		pg.st.move_busy++;
		__atomic_fetch_add((uint64_t *)page_addr(p), 0,
				   __ATOMIC_RELAXED);
		if (move_pages(p, s, 1, &rc))
			return 1;
	}
	return rc;
}

/* Next victim by the clock: a resident page not faulted in since the hand
 * last passed. Returns the page or SIZE_MAX if none. */
static size_t clock_victim(void)
{
	for (size_t n = 0; n < 2 * pg.top + 1; n++) {
		size_t p = pg.hand;
		uint32_t e;

		if (++pg.hand >= pg.top)
			pg.hand = 0;
		if (p % SEG_PAGES < SEG_HEADER_PAGES)
			continue;
		e = pg.pt[p];
		if (PG_STATE(e) != PG_RESIDENT)
			continue;
		if (e & PG_HOT) {
			pg.pt[p] = e & ~PG_HOT;
			continue;
		}
		return p;
	}
	return SIZE_MAX;
}

/*
 * stream_victim - drop-behind: a page that a sure sequential stream of
 * faults passed DROP_BEHIND pages ago, or SIZE_MAX if none. When a scan
 * loops over more than the budget, in passes, the clock evicts exactly
 * the pages the scan needs next, and every page faults in every pass;
 * the pages just behind the scan are those needed last. Sets *@end: the
 * victim's run stops there, short of the pages in use. The hot bits of
 * the pages up to there are cleared (they are hot for being fetched).
 */
static size_t stream_victim(size_t *end)
{
	for (unsigned i = 0; i < NSTREAMS; i++) {
		unsigned s = (pg.stream_evict + i) % NSTREAMS;
		size_t next = pg.streams[s].next, p;

		if (pg.streams[s].level < 3 || pg.streams[s].stride ||
		    next < DROP_BEHIND)
			continue;
		*end = next - DROP_BEHIND;
		for (p = pg.streams[s].behind; p < *end; p++) {
			if (p % SEG_PAGES < SEG_HEADER_PAGES ||
			    PG_STATE(pg.pt[p]) != PG_RESIDENT)
				continue;
			for (size_t q = p; q < *end && q < p + RUN_MAX; q++)
				pg.pt[q] &= ~PG_HOT;
			pg.streams[s].behind = p + 1;
			pg.stream_evict = s;
			return p;
		}
		pg.streams[s].behind = *end;
	}
	return SIZE_MAX;
}

/* FARMEM_VICTIM=random: any resident page, to show what the clock is
 * worth (scripts/farmem-bench-victim). Falls back to the clock when few
 * pages are resident. */
static size_t random_victim(void)
{
	for (int n = 0; n < 256 && pg.top; n++) {
		size_t p;

		pg.rnd ^= pg.rnd << 13;
		pg.rnd ^= pg.rnd >> 7;
		pg.rnd ^= pg.rnd << 17;
		p = (size_t)(pg.rnd % pg.top);
		if (evictable(p))
			return p;
	}
	return clock_victim();
}

static bool page_ro(size_t p)
{
	return (pg.ro[p / 64] >> (p % 64)) & 1;
}

/*
 * copy_out - takes page @p, which the program made read-only, into
 * staging slot @s: UFFDIO_MOVE moves only writable pages, so it is
 * copied, then dropped. No write can slip between the two: the program
 * cannot write the page, nor make it writable without the lock we hold
 * (pager_protect). Returns 1, or -EAGAIN if the page is not in memory
 * (swapped out by the kernel: reading it here is not worth the wait).
 */
static int copy_out(size_t p, unsigned s)
{
	unsigned char in = 0;
	size_t done;

	/* never read a page that is not there: that fault would be ours */
	if (mincore(page_addr(p), HEAP_PAGE, &in) || !(in & 1))
		return -EAGAIN;
	/* staging is registered too: filled by the kernel, not by a store */
	FM_BUG_ON(prim_uffd_copy(pg.uffd, stage_addr(s), page_addr(p),
				 HEAP_PAGE, &done) != 0);
	prim_discard(page_addr(p), HEAP_PAGE);
	pg.st.copied_out++;
	return 1;
}

/*
 * Evicts up to RUN_MAX cold pages: they are moved (runs of neighbours in
 * one call each) into consecutive staging slots, and written out in as few
 * transfers as consecutive remote slots allow. Scattered victims still go
 * out together. Returns the pages taken (0: nothing evictable).
 */
#define NO_SLOT	   UINT32_MAX	    /* to be written: needs a slot */
#define CLEAN_SLOT (UINT32_MAX - 1) /* left clean: no write */
static unsigned evict_batch(void)
{
	uint32_t slots[RUN_MAX];
	unsigned s, got, used = 0, failures = 0, n;
	int rc;

	got = stage_take(RUN_MAX, &s);
	while (used < got && failures < 4) {
		size_t end = pg.top, p;
		int moved;

		if (pg.random_victims)
			p = random_victim();
		else if ((p = stream_victim(&end)) == SIZE_MAX)
			p = clock_victim();
		if (p == SIZE_MAX)
			break;
		n = 1;
		while (used + n < got && p + n < end && evictable(p + n))
			n++;
		moved = move_run(p, s + used, n);
		/* -EINVAL: the page is not writable (mprotect), or the run
		 * reaches one that is not */
		if (moved == -EINVAL && n > 1)
			moved = move_run(p, s + used, 1);
		if (moved == -EINVAL && page_ro(p))
			moved = copy_out(p, s + used);
		if (moved == -ENOENT) {
			/* not present after all: nothing to keep */
			clean_drop(p);
			pg.pt[p] = PG_ENTRY(PG_NEVER, 0);
			FM_BUG_ON(pg.resident == 0);
			pg.resident--;
			continue;
		}
		if (moved < 0) {
			pg.pt[p] |= PG_HOT; /* pinned: a lap's reprieve */
			failures++;
			continue;
		}
		/* marked at once: the clock may come round to them again
		 * before this batch is written */
		for (unsigned i = 0; i < (unsigned)moved; i++) {
			unsigned si = s + used + i;
			uint32_t old = clean_slot(pg.pt[p + i]);

			pg.stage_info[si].page = (uint32_t)(p + i);
			slots[used + i] = NO_SLOT;
			if (page_same(stage_addr(si), &pg.sums[p + i])) {
				/* one word says it all: no write, no slot */
				if (old != UINT32_MAX)
					slot_put(old);
				pg.pt[p + i] = PG_ENTRY(PG_SAME, 0);
				slots[used + i] = CLEAN_SLOT;
				pg.st.same++;
				pg.leaving++;
				stage_release(si);
				continue;
			}
			if (old != UINT32_MAX &&
			    page_sum(stage_addr(si)) == pg.sums[p + i]) {
				/* unchanged since it came back: its far
				 * copy stands, no write */
				pg.pt[p + i] = PG_ENTRY(PG_REMOTE, old);
				slots[used + i] = CLEAN_SLOT;
				pg.st.dropped_clean++;
				pg.leaving++;
				stage_release(si);
				continue;
			}
			if (old != UINT32_MAX)
				slot_put(old);
			pg.pt[p + i] = PG_ENTRY(PG_WRITING, si);
		}
		used += (unsigned)moved;
		/* the clock has nothing more to see in the run */
		if (pg.hand > p && pg.hand < p + (unsigned)moved)
			pg.hand = p + (unsigned)moved < pg.top
				      ? p + (unsigned)moved
				      : 0;
	}
	if (used < got)
		bm_give(pg.stage_free, s + used, got - used);
	for (unsigned i = 0; i < used; i++) {
		if (slots[i] == CLEAN_SLOT)
			continue;
		rc = slot_get(&slots[i]);
		if (rc == 0)
			continue;
		/* no room remote: what has no slot stays local */
		FM_WARN_RL(pager,
			   "cannot evict (%s); memory stays local and "
			   "the budget may be exceeded",
			   rc == -ENOSPC ? "far memory is full"
					 : strerror(-rc));
		for (unsigned j = i; j < used; j++) {
			if (slots[j] == CLEAN_SLOT)
				continue;
			install(pg.stage_info[s + j].page, stage_addr(s + j));
			prim_discard(stage_addr(s + j), HEAP_PAGE);
			bm_give(pg.stage_free, s + j, 1);
		}
		used = i;
		break;
	}
	for (unsigned i = 0; i < used;) {
		unsigned c = 1;

		if (slots[i] == CLEAN_SLOT) {
			i++;
			continue;
		}
		while (i + c < used && slots[i + c] == slots[i] + c &&
		       slots[i] / SLOTS_PER_CHUNK ==
			   (slots[i] + c) / SLOTS_PER_CHUNK)
			c++;
		rc = pg.ops->write(pg.be, slot_chunk(slots[i]),
				   slot_off(slots[i]), stage_addr(s + i),
				   (size_t)c << PG_SHIFT,
				   CTX(CTX_WRITE, c, s + i));
		if (rc)
			fatal_backend("writing a page out", rc);
		for (unsigned j = i; j < i + c; j++) {
			struct stage_info *si = &pg.stage_info[s + j];
			si->slot = slots[j];
			si->cancelled = false;
			pg.pt[si->page] = PG_ENTRY(PG_WRITING, s + j);
		}
		pg.inflight++;
		pg.leaving += c;
		i += c;
	}
	return used;
}

/* Before the first page leaves (see fab_ops.ready). */
static void backend_ready(void)
{
	int rc;

	if (FM_LIKELY(pg.be_ready))
		return;
	rc = pg.ops->ready(pg.be);
	if (rc)
		fatal_backend("opening the way to far memory", rc);
	pg.be_ready = true;
}

/* Makes room for @n more resident pages: evicts down to the low watermark
 * once the budget would be passed. The way to far memory opens a little
 * before (OPEN_ROOM): opening costs memory for a moment (libfabric's shm
 * writes its whole region, and fmp_shm_trim gives most of it back), which
 * must not come on top of a full heap. */
static void make_room(size_t n)
{
	if (FM_UNLIKELY(!pg.be_ready) &&
	    pg.resident + n + OPEN_ROOM > pg.budget)
		backend_ready();
	if (pg.resident + n <= pg.budget)
		return;
	while (pg.resident + n > pg.low) {
		if (pg.resident - pg.leaving + n > pg.low && evict_batch() > 0)
			continue;
		if (pg.ndirty) {
			stage_flush();
			continue;
		}
		if (pg.inflight == 0)
			break;
		drain_one();
	}
	if (pg.resident + n > pg.budget && !pg.over_budget_warned) {
		pg.over_budget_warned = true;
		FM_WARN(
		    pager,
		    "nothing left to evict: the heap exceeds "
		    "FARMEM_LOCAL_MEM (pages pinned or held by the kernel)");
	}
}

/*
 * evict_ahead - what make_room does, one step at a time, in the pager
 * thread's turns without faults: one batch, or one drop of written
 * staging pages, a turn, so that a fault that comes meanwhile waits for
 * one batch at most. Once the heap has come within HEADROOM pages of its
 * budget it keeps resident pages AHEAD_ROOM pages below it: the pages on
 * their way out count until written, and that room is what faults take
 * while the writes complete. Closer to the budget than the low watermark
 * make_room evicts to, so that a heap a little over its budget keeps
 * as much of itself as it can. A heap that fits its budget is never
 * touched. Locked. Returns true if it did something.
 */
static bool evict_ahead(void)
{
	size_t target = pg.budget - AHEAD_ROOM;

	if (!pg.budget)
		return false;
	if (pg.resident + HEADROOM > pg.budget)
		pg.pressed = true;
	if (target < pg.low)
		target = pg.low;
	if (!pg.pressed || pg.resident + HEADROOM <= target)
		return false;
	backend_ready();
	if (pg.resident - pg.leaving + HEADROOM > target && !pg.ahead_stuck) {
		if (evict_batch() > 0)
			return true;
		/* nothing evictable: not again before the next fault, or
		 * every idle turn would sweep the whole clock */
		pg.ahead_stuck = true;
	}
	if (pg.ndirty >= RUN_MAX ||
	    (pg.ndirty && pg.resident + HEADROOM > pg.budget)) {
		stage_flush();
		return true;
	}
	return false;
}

/* ---- faults --------------------------------------------------------------- */

static void fault_never(size_t p)
{
	size_t lo = p, hi = p + 1, win = p & ~(size_t)(ZERO_BATCH - 1);
	size_t done;
	int rc;

	while (lo > win && PG_STATE(pg.pt[lo - 1]) == PG_NEVER)
		lo--;
	while (hi < win + ZERO_BATCH && hi < pg.npages &&
	       PG_STATE(pg.pt[hi]) == PG_NEVER)
		hi++;
	make_room(hi - lo);
	rc = prim_uffd_copy(pg.uffd, page_addr(lo), zero_page,
			    (hi - lo) << PG_SHIFT, &done);
	if (rc == -EEXIST) {
		/* some page of the batch is present: go one by one */
		for (size_t q = lo; q < hi; q++) {
			rc = prim_uffd_copy(pg.uffd, page_addr(q), zero_page,
					    HEAP_PAGE, &done);
			FM_BUG_ON(rc != 0 && rc != -EEXIST);
			pg.pt[q] = PG_ENTRY(PG_RESIDENT, 0) | PG_HOT;
			note_resident(1);
		}
		prim_uffd_wake(pg.uffd, page_addr(p), HEAP_PAGE);
	} else {
		FM_BUG_ON(rc != 0);
		for (size_t q = lo; q < hi; q++)
			pg.pt[q] = PG_ENTRY(PG_RESIDENT, 0) | PG_HOT;
		note_resident(hi - lo);
	}
	if (hi > pg.top)
		pg.top = hi;
	pg.st.faults_zero++;
}

/*
 * Reads back the remote page @p and up to @max - 1 pages after it that were
 * written next to it (consecutive slots of one chunk): one transfer, one
 * copy. Returns the pages fetched.
 */
static unsigned fetch_run(size_t p, unsigned max)
{
	uint32_t slot = PG_IDX(pg.pt[p]);
	unsigned n = 1, f, got;
	uint64_t t0 = sched_now_ns();
	int rc;

	while (n < max && p + n < pg.top &&
	       pg.pt[p + n] == PG_ENTRY(PG_REMOTE, slot + n) &&
	       (slot + n) / SLOTS_PER_CHUNK == slot / SLOTS_PER_CHUNK)
		n++;
	make_room(n);
	got = fetch_take(n, &f);
	if (got < n)
		n = got;
	rc =
	    pg.ops->read(pg.be, slot_chunk(slot), slot_off(slot), fetch_addr(f),
			 (size_t)n << PG_SHIFT, CTX(CTX_READ, n, f));
	if (rc)
		fatal_backend("reading a page back", rc);
	for (unsigned i = 0; i < n; i++) {
		pg.fetch_info[f + i] =
		    (struct fetch_info){(uint32_t)(p + i), slot + i, false, t0};
		pg.pt[p + i] = PG_ENTRY(PG_FETCHING, f + i);
	}
	note_resident(n);
	pg.inflight++;
	return n;
}

/*
 * Same-filled page @p and up to @max - 1 same-filled pages after it
 * (SAME_MAX at most) back in one copy, each page's word spread over a
 * page of pg.same: no transfer. Returns the pages installed.
 */
static unsigned same_run(size_t p, unsigned max)
{
	unsigned n = 1;
	size_t done;
	int rc;

	if (max > SAME_MAX)
		max = SAME_MAX;
	while (n < max && p + n < pg.top && PG_STATE(pg.pt[p + n]) == PG_SAME)
		n++;
	make_room(n); /* evicts resident pages only: these stay SAME */
	for (unsigned i = 0; i < n; i++) {
		uint64_t w = pg.sums[p + i];
		uint64_t *q = (uint64_t *)(pg.same + ((size_t)i << PG_SHIFT));

		if (pg.same_filled[i] && pg.same_word[i] == w)
			continue;
		for (size_t k = 0; k < HEAP_PAGE / 8; k++)
			q[k] = w;
		pg.same_word[i] = w;
		pg.same_filled[i] = true;
	}
	rc = prim_uffd_copy(pg.uffd, page_addr(p), pg.same,
			    (size_t)n << PG_SHIFT, &done);
	if (rc != 0) {
		/* -EEXIST: one is present (not ours to know how): one by
		 * one, each woken */
		FM_BUG_ON(rc != -EEXIST);
		for (unsigned i = 0; i < n; i++)
			install(p + i, pg.same + ((size_t)i << PG_SHIFT));
	}
	for (unsigned i = 0; i < n; i++)
		pg.pt[p + i] = PG_ENTRY(PG_RESIDENT, 0) | PG_HOT;
	note_resident(n);
	return n;
}

/* Brings back remote or same-filled page @p and up to @max - 1 of the
 * same kind after it. Returns how many. */
static unsigned bring(size_t p, unsigned max)
{
	return PG_STATE(pg.pt[p]) == PG_SAME ? same_run(p, max)
					     : fetch_run(p, max);
}

/*
 * bring_span - brings back the remote and same-filled pages from @p to
 * @end, stopping at the first other page if @stop (else skipping it).
 * Adds to *@remote the remote pages among them. Returns where it
 * stopped.
 */
static size_t bring_span(size_t p, size_t end, bool stop, unsigned *remote)
{
	if (end > pg.top)
		end = pg.top;
	while (p < end) {
		uint32_t st = PG_STATE(pg.pt[p]);
		unsigned k;

		if (st != PG_REMOTE && st != PG_SAME) {
			if (stop)
				break;
			p++;
			continue;
		}
		k = bring(p, (unsigned)(end - p));
		if (st == PG_REMOTE)
			*remote += k;
		p += k;
	}
	return p;
}

/*
 * fault_strided - a fault STRIDE_MAX pages or less after the start of a
 * stream's run, past its end: a program reading runs of pages (one page,
 * or a few) at a fixed distance, such as the selected blocks of a
 * column. The run at @p, as long as the stream's last one (at most
 * PREFETCH_MAX pages), comes back in one go. If the stream had jumped
 * the same distance the time before, the runs as far apart after it
 * are read too, more the longer the stream (up to 8 runs, STRIDE_AHEAD
 * pages): the program finds them in place. Else that distance is noted,
 * to be confirmed by the next jump. Returns false if no stream is near
 * (nothing done).
 */
static bool fault_strided(size_t p)
{
	unsigned t = NSTREAMS, k, ahead = 0;
	size_t d, run, q;
	bool remote = PG_STATE(pg.pt[p]) == PG_REMOTE;

	for (unsigned s = 0; s < NSTREAMS; s++) {
		size_t start = pg.streams[s].start;

		/* (a stream not yet used has no run: next == start) */
		if (start >= p || p - start > STRIDE_MAX ||
		    p < pg.streams[s].next || pg.streams[s].next <= start)
			continue;
		if (t == NSTREAMS || start > pg.streams[t].start)
			t = s;
	}
	if (t == NSTREAMS)
		return false;
	d = p - pg.streams[t].start;
	run = pg.streams[t].next - pg.streams[t].start;
	if (run > PREFETCH_MAX)
		run = PREFETCH_MAX;
	if (d == pg.streams[t].stride) {
		if (pg.streams[t].level < 3)
			pg.streams[t].level++;
	} else {
		pg.streams[t].stride = d;
		pg.streams[t].level = 0;
	}
	bring_span(p, p + run, false, &ahead);
	k = pg.streams[t].level ? 1u << pg.streams[t].level : 0;
	if (k * run > STRIDE_AHEAD)
		k = (unsigned)(STRIDE_AHEAD / run);
	if (k)
		drain(); /* the program goes on meanwhile, as for a stream */
	for (q = p + d; q < p + (k + 1) * d && q < pg.top; q += d)
		bring_span(q, q + run, false, &ahead);
	pg.streams[t].start = q - d;
	pg.streams[t].next = q - d + run;
	pg.st.prefetched += ahead - remote;
	return true;
}

/* A fault on remote or same-filled page @p. */
static void fault_remote(size_t p)
{
	bool same = PG_STATE(pg.pt[p]) == PG_SAME;
	unsigned max = 1, s, n, ahead;

	if (same)
		pg.st.faults_same++;
	else
		pg.st.faults_remote++;
	/* a fault just after where a stream would fault next: fetch ahead
	 * more, the longer the stream */
	for (s = 0; s < NSTREAMS; s++)
		if (p >= pg.streams[s].next &&
		    p < pg.streams[s].next + STREAM_SLACK)
			break;
	if (s == NSTREAMS && fault_strided(p))
		return;
	if (s < NSTREAMS) {
		if (pg.streams[s].level < 3)
			pg.streams[s].level++;
		max = PREFETCH_MAX >> (3 - pg.streams[s].level);
	} else {
		s = pg.stream_next++ % NSTREAMS;
		pg.streams[s].level = 0;
		pg.streams[s].behind = p;
		pg.streams[s].start = p;
	}
	/* the whole window, in as many transfers as it takes: pages
	 * written at different times are not in consecutive slots */
	ahead = 0;
	n = (unsigned)(bring_span(p, p + max, true, &ahead) - p);
	ahead -= !same;
	if (pg.streams[s].level == 3) {
		/* a sure stream: the window after this one is read too, once
		 * this one is in place (the program goes on meanwhile), so
		 * that the next fault finds it arrived or arriving */
		drain();
		n = (unsigned)(bring_span(p + n, p + n + PREFETCH_MAX, true,
					  &ahead) -
			       p);
	}
	/* the pages fetched ahead will not fault: the stream's next fault
	 * is past them */
	pg.streams[s].next = p + n;
	pg.streams[s].stride = 0;
	pg.st.prefetched += ahead;
}

static void fault_staged(size_t p)
{
	unsigned s = PG_IDX(pg.pt[p]);

	make_room(1);
	/* make_room may have finished the write meanwhile */
	if (PG_STATE(pg.pt[p]) == PG_REMOTE) {
		fault_remote(p);
		return;
	}
	pg.stage_info[s].cancelled = true;
	install(p, stage_addr(s));
	note_resident(1);
	pg.st.faults_staged++;
}

static void handle_fault(const struct uffd_msg *m)
{
	uintptr_t a = (uintptr_t)m->arg.pagefault.address;
	uint32_t st;
	size_t p;

	if (m->event == UFFD_EVENT_FORK) {
		if (pg.forking && pg.fork_fd < 0) {
			pg.fork_fd = (int)m->arg.fork.ufd;
			return;
		}
		/* a fork that bypassed pthread_atfork (a raw clone): nobody
		 * can serve that child, whose evicted pages read as zeros */
		pre_log(FM_LOG_ERROR, "pager",
			"a child was forked without "
			"fork(): its far memory is lost (use fork())");
		close((int)m->arg.fork.ufd);
		return;
	}
	if (m->event != UFFD_EVENT_PAGEFAULT)
		return;
	if (pg.forking) {
		/* the page table must not change while fork copies it; the
		 * thread is woken after fork and faults again */
		return;
	}
	if (a - (uintptr_t)pg.base >= pg.npages << PG_SHIFT) {
		/* staging is registered only so that UFFDIO_MOVE may target
		 * it; nothing may fault there */
		pre_log(FM_LOG_ERROR, "pager",
			"bug: fault at %p outside the "
			"region (thread %u)",
			(void *)a, m->arg.pagefault.feat.ptid);
		return;
	}
	p = (a - (uintptr_t)pg.base) >> PG_SHIFT;
	if (FM_UNLIKELY(heap_runtime_tid((int)m->arg.pagefault.feat.ptid))) {
		/* served all the same: reported, not hung */
		FM_WARN_RL(pager,
			   "bug: runtime thread %u touched the region at "
			   "%p; please report this with FARMEM_VERBOSE=1",
			   m->arg.pagefault.feat.ptid, (void *)a);
		pg.st.runtime_faults++;
	}
	switch (PG_STATE(pg.pt[p])) {
	case PG_NEVER:
		fault_never(p);
		break;
	case PG_REMOTE:
	case PG_SAME:
		fault_remote(p);
		/* never a thread left asleep: were the page still out (a
		 * stream rule that brought nothing), it comes back now */
		st = PG_STATE(pg.pt[p]);
		if (FM_UNLIKELY(st == PG_REMOTE || st == PG_SAME)) {
			FM_DBG(pager, "fault at page %zu left unserved", p);
			bring(p, 1);
		}
		break;
	case PG_WRITING:
		fault_staged(p);
		break;
	case PG_FETCHING:
		break; /* its completion wakes every waiter */
	default:
		/* Resolved by a batch since the fault was queued: install()
		 * finds the page present and wakes the thread. Were it absent
		 * (dropped behind the runtime's back), zeros are what the
		 * kernel would have given too, and the thread cannot loop. */
		install(p, zero_page);
		pg.st.faults_spurious++;
		break;
	}
}

/* ---- fork: bring everything home ------------------------------------------ */

static void go_home(void)
{
	for (size_t p = 0; p < pg.top; p++) {
		uint32_t st = PG_STATE(pg.pt[p]);
		if (st == PG_WRITING) {
			pg.stage_info[PG_IDX(pg.pt[p])].cancelled = true;
			install(p, stage_addr(PG_IDX(pg.pt[p])));
			note_resident(1);
		} else if (st == PG_REMOTE || st == PG_SAME) {
			p += bring(p, PREFETCH_MAX) - 1;
		}
	}
	while (pg.inflight)
		drain_one();
}

/* ---- the pager thread ----------------------------------------------------- */

static void __attribute__((noreturn)) child_fatal(const char *what, int rc);

/*
 * In a forked child, the session is opened from the parent's ticket by the
 * first user of the backend - normally the child's pager thread as it
 * starts - and not in fork's child handler: a child that execs or exits at
 * once (most do) never pays for it, and fork returns sooner. Locked.
 */
static void session_ensure(void)
{
	struct fab_backend *stale;
	int rc;

	if (FM_LIKELY(!pg.child_session))
		return;
	pg.child_session = false;
	heap_runtime_enter();
	stale = pg.be;
	rc = pg.ops->fork_open(&pg.ticket, &pg.be);
	if (rc == 0)
		rc = pg.ops->reg(pg.be, pg.stage, NSTAGE * HEAP_PAGE);
	if (rc == 0)
		rc = pg.ops->reg(pg.be, pg.fetch, NFETCH * HEAP_PAGE);
	/* the parent had loaded its libraries: ready now is cheap, and
	 * safe before the first fetch of a page the parent evicted */
	if (rc == 0 && pg.be_ready)
		rc = pg.ops->ready(pg.be);
	if (rc)
		child_fatal("opening its far-memory session", rc);
	/* the parent's session as copied (the ticket points into it):
	 * closing the copy frees it and its descriptors, which would keep
	 * the parent's session open, and leaves the parent's alone */
	pg.ops->close(stale);
	heap_runtime_leave();
}

static void *pager_main(void *arg)
{
	struct uffd_msg msgs[64];
	struct sched_idle idle = {0};

	(void)arg;
	pthread_mutex_lock(&pg.lock);
	session_ensure(); /* in a forked child: before any fault */
	pthread_mutex_unlock(&pg.lock);
	for (;;) {
		ssize_t n = read(pg.uffd, msgs, sizeof(msgs));
		int busy = 0;

		pthread_mutex_lock(&pg.lock);
		session_ensure();
		if (n > 0) {
			for (size_t i = 0; i < (size_t)n / sizeof(msgs[0]); i++)
				handle_fault(&msgs[i]);
			pg.ahead_stuck = false;
			busy = 1;
		}
		if (pg.forking) {
			if (!pg.quiesced) {
				while (pg.inflight)
					drain_one();
				pg.quiesced = true;
			}
			if (pg.want_home) {
				/* no ticket for the child: it gets everything
				 * as plain memory */
				go_home();
				pg.want_home = false;
				pg.paused = true;
			}
			pg.gen++;
			pthread_cond_broadcast(&pg.cond);
			pthread_mutex_unlock(&pg.lock);
			continue; /* spin: fork waits for us to read its event */
		}
		if (pg.inflight)
			busy |= drain() > 0;
		/* a turn without faults: the program runs, and meanwhile
		 * room is made for its next ones */
		if (n <= 0 && evict_ahead())
			busy = 1;
		pthread_mutex_unlock(&pg.lock);
		if (busy) {
			sched_idle_reset(&idle);
			continue;
		}
		if (pg.inflight) {
			/* only polling moves them: no blocking, but room for
			 * the server if it shares our cores */
			sched_idle_pause(&idle);
			continue;
		}
		if (!sched_idle_should_block(&idle))
			continue;
		struct pollfd fds[2] = {{pg.uffd, POLLIN, 0},
					{pg.evfd, POLLIN, 0}};
		if (poll(fds, 2, -1) > 0 && (fds[1].revents & POLLIN)) {
			uint64_t v;
			if (read(pg.evfd, &v, sizeof(v)) < 0)
				v = 0;
		}
		sched_idle_reset(&idle);
	}
	return NULL;
}

/* ---- interface ------------------------------------------------------------ */

int pager_init(size_t budget, const char *backend_spec, int victim,
	       bool *backend_failed)
{
	size_t slots_len, chunks_len, free_len;
	void *p;
	int rc;

	pg.base = (char *)heap_region_base;
	pg.npages = heap_region_size >> PG_SHIFT;
	pg.budget = budget >> PG_SHIFT;
	pg.random_victims = victim == PAGER_VICTIM_RANDOM;
	pg.rnd = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	pg.low = pg.budget - (pg.budget / 64 > 32 ? pg.budget / 64 : 32);

	rc = prim_uffd_open(PRIM_UFFD_MOVE | PRIM_UFFD_THREAD_ID |
			    PRIM_UFFD_EVENT_FORK);
	if (rc < 0)
		return rc;
	pg.uffd = prim_fd_hide(rc);
	/* metadata outside the region, reserved but used only as touched */
	slots_len =
	    (pg.npages * sizeof(uint32_t) + HEAP_PAGE - 1) & ~(HEAP_PAGE - 1);
	/* Every fork freezes the chunks it shares, so chunks are allocated
	 * anew over a process's life: the table covers every chunk a slot
	 * index can name (slot_get stops there), not just the region. */
	chunks_len = ((size_t)PG_HOT / SLOTS_PER_CHUNK) * sizeof(fab_chunk_t);
	if ((rc = prim_reserve(slots_len, HEAP_PAGE, &p)))
		goto fail;
	pg.pt = p;
	if ((rc = prim_reserve(slots_len * 2, HEAP_PAGE, &p)))
		goto fail;
	pg.sums = p;
	if ((rc = prim_reserve(((pg.npages + 63) / 64) * sizeof(uint64_t),
			       HEAP_PAGE, &p)))
		goto fail;
	pg.ro = p;
	/* free slots: at most those of pages and staging, plus a chunk */
	free_len = (slots_len + (NSTAGE + SLOTS_PER_CHUNK) * sizeof(uint32_t) +
		    HEAP_PAGE - 1) &
		   ~(HEAP_PAGE - 1);
	if ((rc = prim_reserve(free_len, HEAP_PAGE, &p)))
		goto fail;
	pg.slot_free = p;
	if ((rc = prim_reserve(chunks_len, HEAP_PAGE, &p)))
		goto fail;
	pg.chunks = p;
	if ((rc = prim_reserve(chunks_len, HEAP_PAGE, &p)))
		goto fail;
	pg.chunk_used = p;
	if ((rc = prim_reserve(NSTAGE * HEAP_PAGE, HEAP_PAGE, &p)))
		goto fail;
	pg.stage = p;
	if ((rc = prim_reserve(SAME_MAX * HEAP_PAGE, HEAP_PAGE, &p)))
		goto fail;
	pg.same = p;
	if ((rc = prim_reserve(NFETCH * HEAP_PAGE, HEAP_PAGE, &p)))
		goto fail;
	pg.fetch = p;
	prim_nohuge(pg.stage, NSTAGE * HEAP_PAGE);
	bm_give(pg.stage_free, 0, NSTAGE);
	bm_give(pg.fetch_free, 0, NFETCH);

	/* memory servers when named, else the in-process store */
	pg.ops = backend_spec && *backend_spec ? &fab_ofi_ops : &fab_memfd_ops;
	if ((rc = pg.ops->open(pg.ops == &fab_ofi_ops ? backend_spec : NULL,
			       &pg.be)) ||
	    (rc = pg.ops->reg(pg.be, pg.stage, NSTAGE * HEAP_PAGE)) ||
	    (rc = pg.ops->reg(pg.be, pg.fetch, NFETCH * HEAP_PAGE))) {
		*backend_failed = true;
		goto fail;
	}
	pg.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pg.evfd < 0) {
		rc = -errno;
		goto fail;
	}
	pg.evfd = prim_fd_hide(pg.evfd);
	if ((rc =
		 prim_uffd_register(pg.uffd, pg.base, pg.npages << PG_SHIFT)) ||
	    (rc = prim_uffd_register(pg.uffd, pg.stage, NSTAGE * HEAP_PAGE)))
		goto fail;
	rc = sched_thread_start(&pg.thread, "farmem-pager", pager_main, NULL);
	if (rc) {
		prim_uffd_unregister(pg.uffd, pg.base, pg.npages << PG_SHIFT);
		goto fail;
	}
	pg.active = true;
	return 0;
fail:
	/* the process goes on without a pager, or not at all: the reserved
	 * metadata is address space only */
	if (pg.be)
		pg.ops->close(pg.be);
	pg.be = NULL;
	prim_fd_unhide(pg.evfd);
	prim_fd_unhide(pg.uffd);
	if (pg.evfd >= 0)
		close(pg.evfd);
	close(pg.uffd);
	pg.uffd = pg.evfd = -1;
	return rc;
}

bool pager_active(void)
{
	return pg.active;
}

/* Marks pages [first, last) never touched (they read as zeros next time):
 * far copies dropped, transfers in flight voided, resident pages counted
 * out unless @keep_resident. Locked. Returns the pages marked. */
static size_t drop_pages(size_t first, size_t last, bool keep_resident)
{
	size_t n = 0;

	for (size_t p = first; p < last && p < pg.top; p++) {
		uint32_t e = pg.pt[p];
		switch (PG_STATE(e)) {
		case PG_RESIDENT:
			clean_drop(p); /* its far copy is dead either way */
			if (keep_resident)
				continue;
			FM_BUG_ON(pg.resident == 0);
			pg.resident--;
			break;
		case PG_WRITING:
			/* its region page is gone (moved): zeros next time */
			pg.stage_info[PG_IDX(e)].cancelled = true;
			break;
		case PG_REMOTE:
			slot_put(PG_IDX(e));
			break;
		case PG_SAME:
			break;
		case PG_FETCHING:
			pg.fetch_info[PG_IDX(e)].discard = true;
			continue; /* stays FETCHING until it lands */
		default:
			continue;
		}
		pg.pt[p] = PG_ENTRY(PG_NEVER, 0);
		pg.st.discarded++;
		n++;
	}
	return n;
}

int pager_protect(void *addr, size_t len, int prot)
{
	uintptr_t a = (uintptr_t)addr;
	bool ro = (prot & PROT_READ) && !(prot & PROT_WRITE);
	size_t first, last;
	int rc;

	if (!pg.active)
		return syscall(SYS_mprotect, addr, len, prot) ? -errno : 0;
	first = (a - (uintptr_t)pg.base) >> PG_SHIFT;
	last = (a + len - (uintptr_t)pg.base + HEAP_PAGE - 1) >> PG_SHIFT;
	FM_BUG_ON(a < (uintptr_t)pg.base || last > pg.npages);
	pthread_mutex_lock(&pg.lock);
	rc = syscall(SYS_mprotect, addr, len, prot) ? -errno : 0;
	for (size_t p = first; rc == 0 && p < last; p++) {
		if (ro)
			pg.ro[p / 64] |= 1ull << (p % 64);
		else if (pg.ro[p / 64])
			pg.ro[p / 64] &= ~(1ull << (p % 64));
	}
	pthread_mutex_unlock(&pg.lock);
	return rc;
}

int pager_discard(void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr, end = a + len;
	size_t first, last;
	int rc;

	if (!pg.active)
		return prim_discard(addr, len);
	first = (a - (uintptr_t)pg.base) >> PG_SHIFT;
	last = (end - (uintptr_t)pg.base + HEAP_PAGE - 1) >> PG_SHIFT;
	FM_BUG_ON(a < (uintptr_t)pg.base || last > pg.npages);
	/* under the lock: no fault may see a page dropped but not marked */
	heap_runtime_enter(); /* the backend may allocate */
	pthread_mutex_lock(&pg.lock);
	session_ensure();
	drop_pages(first, last, false);
	rc = prim_discard(addr, len);
	pthread_mutex_unlock(&pg.lock);
	heap_runtime_leave();
	return rc;
}

size_t pager_forget(void *addr, size_t len)
{
	size_t first, last, n;

	if (!pg.active)
		return 0;
	first = ((uintptr_t)addr - (uintptr_t)pg.base) >> PG_SHIFT;
	last = ((uintptr_t)addr + len - (uintptr_t)pg.base) >> PG_SHIFT;
	heap_runtime_enter();
	pthread_mutex_lock(&pg.lock);
	session_ensure();
	n = drop_pages(first, last, true);
	pthread_mutex_unlock(&pg.lock);
	heap_runtime_leave();
	return n;
}

static void pager_kick(void)
{
	uint64_t one = 1;

	if (write(pg.evfd, &one, sizeof(one)) < 0)
		FM_DBG(pager, "eventfd write failed");
}

/*
 * Fork, with UFFD_FEATURE_EVENT_FORK. The child's region keeps the
 * registration under a new userfaultfd, which the kernel hands to the
 * *parent's* pager (fork blocks until it is read). The protocol:
 *
 * prepare (the forking thread): the pager thread finishes its transfers
 *   and stops changing the page table, but keeps reading the userfaultfd;
 *   every chunk is frozen (shared from now on: neither side writes to it
 *   again); the backend makes a ticket for the child's session, which
 *   references every chunk; a socketpair is made.
 * fork: the page table, staging and everything are copied; the pager
 *   thread reads the fork event and keeps the child's descriptor.
 * parent: the descriptor goes to the child over the socketpair; the
 *   pager goes on and wakes every thread that faulted meanwhile.
 * child: receives its descriptor, opens its session from the ticket, and
 *   starts its own pager thread on its copy of the page table.
 *
 * If no ticket can be made, the old way: everything is brought home
 * before fork and the child runs without a pager.
 */
void pager_fork_prepare(void)
{
	int rc;

	if (!pg.active)
		return;
	heap_runtime_enter(); /* left in the parent's and child's handlers */
	pthread_mutex_lock(&pg.lock);
	session_ensure();
	pg.forking = true;
	pg.quiesced = false;
	pg.fork_fd = -1;
	pager_kick();
	while (!pg.quiesced)
		pthread_cond_wait(&pg.cond, &pg.lock);
	chunks_freeze();
	rc = pg.ops->fork_prepare(pg.be, &pg.ticket);
	if (rc == 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				  pg.fork_sock) != 0) {
		rc = -errno;
		pg.ops->fork_cancel(pg.be, &pg.ticket);
	}
	pg.fork_ticket_ok = rc == 0;
	if (rc) {
		/* the pager keeps reading fork's event (the kernel waits for
		 * it) but brings every page home first */
		FM_WARN_RL(pager,
			   "cannot give the child a far-memory session "
			   "(%s): bringing every page home before fork",
			   strerror(-rc));
		pg.want_home = true;
		pager_kick();
		while (!pg.paused)
			pthread_cond_wait(&pg.cond, &pg.lock);
	}
	pthread_mutex_unlock(&pg.lock);
}

static void fork_done(void)
{
	pg.forking = false;
	pg.want_home = false;
	pg.paused = false;
	for (int i = 0; i < 2; i++) {
		if (pg.fork_sock[i] >= 0)
			close(pg.fork_sock[i]);
		pg.fork_sock[i] = -1;
	}
}

void pager_fork_parent(void)
{
	uint64_t g;
	int rc;

	if (!pg.active)
		return;
	pthread_mutex_lock(&pg.lock);
	/* fork has returned, so its event (if it forked) was read; two more
	 * loop turns and it is recorded */
	g = pg.gen;
	while (pg.gen < g + 2)
		pthread_cond_wait(&pg.cond, &pg.lock);
	if (pg.fork_fd >= 0 && pg.fork_ticket_ok) {
		rc = prim_send_fd(pg.fork_sock[0], pg.fork_fd);
		if (rc)
			pre_log(FM_LOG_ERROR, "pager",
				"cannot hand the child its userfaultfd: %s",
				strerror(-rc));
	} else if (pg.fork_ticket_ok) {
		pg.ops->fork_cancel(pg.be, &pg.ticket); /* fork failed */
	}
	/* closed, the child's userfaultfd takes its registration with it:
	 * without a ticket the child has every page home, as plain memory */
	if (pg.fork_fd >= 0)
		close(pg.fork_fd);
	pg.fork_fd = -1;
	/* threads that faulted while fork ran were not served */
	prim_uffd_wake(pg.uffd, pg.base, pg.npages << PG_SHIFT);
	fork_done();
	pthread_cond_broadcast(&pg.cond);
	pager_kick();
	pthread_mutex_unlock(&pg.lock);
	heap_runtime_leave();
}

static void child_fatal(const char *what, int rc)
{
	pre_log(FM_LOG_ERROR, "pager",
		"forked child: %s: %s; its far memory "
		"cannot be served, so it stops here",
		what, strerror(-rc));
	_exit(70);
}

void pager_fork_child(void)
{
	int fd, rc;

	if (!pg.active)
		return;
	pthread_mutex_init(&pg.lock, NULL);
	pthread_cond_init(&pg.cond, NULL);
	/* the parent's userfaultfd and eventfd */
	prim_fd_unhide(pg.uffd);
	prim_fd_unhide(pg.evfd);
	close(pg.uffd);
	close(pg.evfd);
	pg.uffd = pg.evfd = -1;
	if (!pg.fork_ticket_ok) {
		/* everything came home: plain memory, no budget */
		pg.active = false;
		fork_done();
		heap_runtime_leave();
		return;
	}
	close(pg.fork_sock[0]);
	pg.fork_sock[0] = -1;
	fd = prim_recv_fd(pg.fork_sock[1]);
	if (fd < 0)
		child_fatal("receiving the userfaultfd", fd);
	pg.uffd = prim_fd_hide(fd);
	fork_done();
	pg.fork_fd = -1;
	pg.inflight = 0;
	pg.over_budget_warned = false;
	pg.child_session = true; /* opened by session_ensure */
	pg.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pg.evfd < 0)
		child_fatal("eventfd", -errno);
	pg.evfd = prim_fd_hide(pg.evfd);
	rc = sched_thread_start(&pg.thread, "farmem-pager", pager_main, NULL);
	if (rc)
		child_fatal("starting its pager", rc);
	heap_runtime_leave();
}

void pager_stats_get(struct pager_stats *s)
{
	if (!pg.active) {
		memset(s, 0, sizeof(*s));
		return;
	}
	pthread_mutex_lock(&pg.lock);
	*s = pg.st;
	s->resident = pg.resident;
	s->budget = pg.budget;
	s->chunk_indexes = pg.nchunks;
	pthread_mutex_unlock(&pg.lock);
}
