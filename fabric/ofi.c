/* SPDX-License-Identifier: MIT */
/*
 * The libfabric backend: one session with one or more farmem-servers.
 *
 * Per process one RDM endpoint, one completion queue, manual progress:
 * poll() drives the transfers. Per server one control connection
 * (fabric/proto.h) for sessions and chunks. Chunks go round-robin over the
 * servers; a chunk id carries its server: (server index + 1) << 56 | the
 * server's id. Each server's chunks sit in a table indexed by slot holding
 * the remote address and key, so a transfer is one lookup and one fi_read
 * or fi_write.
 *
 * A server that goes away (its control connection ends, or the fabric
 * reports a connection error) takes the session down: operations in
 * flight complete with -ECONNRESET, and every later call returns -EPIPE.
 * One line names the server. Data was striped, not replicated: losing a
 * server loses pages, and going on would hand out zeros.
 *
 * Spec: "host:port[,host:port...]" (at most FAB_OFI_MAX_SERVERS), the token
 * in FARMEM_TOKEN. The provider is the one the first server runs; every
 * server must run the same one.
 *
 * Thread safety: every entry point may be called from any thread. One lock
 * covers the endpoint and the tables, another serialises control calls.
 * All memory comes from heap_priv_alloc.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <ifaddrs.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>

#include "fabric/fab.h"
#include "fabric/proto.h"
#include "heap/heap.h"
#include "heap/prim.h"
#include "sched/sched.h"

#define FAB_OFI_MAX_SERVERS 8 /* FI_UNIVERSE_SIZE is 16 */
#define OFI_FI_VERSION	    FI_VERSION(1, 17)
#define OFI_MAGIC	    0x6f666962u
#define OFI_TICKET_MAGIC    0x6f667469u
#define OFI_OPS_PER_SLAB    256
#define OFI_CQ_SIZE	    4096
#define OFI_CTL_TIMEOUT_S   30
/* consecutive empty polls between looks at the control connections */
#define OFI_CHECK_EVERY 256
/* transfers in flight and none completed for this long: the server is
 * unreachable (a connection that never comes up reports nothing) */
#define OFI_STALL_NS (30ull * 1000000000ull)

enum { OP_FREE = 0, OP_POSTED, OP_ABANDONED };

/* One posted transfer; its address is the libfabric context. */
struct ofi_op {
	struct fi_context2 fictx; /* first: FI_CONTEXT/FI_CONTEXT2 mode */
	void *ctx;
	struct ofi_op *next_free;
	uint8_t server;
	uint8_t state;
};

struct ofi_slab {
	struct ofi_slab *next;
	struct ofi_op ops[OFI_OPS_PER_SLAB];
};

struct ofi_chunk {
	uint64_t id; /* the server's chunk id; 0 = empty */
	uint64_t raddr;
	uint64_t key;
};

struct ofi_server {
	struct fmp_endpoint ep;
	int fd;
	uint64_t session;
	fi_addr_t fiaddr;
	uint8_t addr[FMP_ADDR_MAX]; /* its fabric address, from HELLO */
	uint32_t addr_len;
	struct ofi_chunk *tab; /* indexed by slot */
	size_t tab_cap;
	size_t nchunks;
};

struct ofi_reg {
	uintptr_t base;
	size_t len;
	struct fid_mr *mr;
	void *desc;
};

struct fab_backend {
	uint32_t magic;
	pthread_mutex_t lock;	  /* endpoint, tables, ops, ring */
	pthread_mutex_t ctl_lock; /* control connections; taken before lock */
	char provider[FMP_PROV_MAX];
	uint32_t addr_format;
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_av *av;
	struct fid_cq *cq;
	struct fid_ep *ep;
	bool mr_local, mr_endpoint, mr_prov_key;
	bool up;			 /* the fabric is open (ofi_up) */
	char shm_name[FMP_SHM_NAME_MAX]; /* with shm: our endpoint's name */
	uint8_t addr[FMP_ADDR_MAX];
	size_t addr_len;
	int nservers;
	unsigned next; /* round-robin */
	struct ofi_server srv[FAB_OFI_MAX_SERVERS];
	struct ofi_reg *regs;
	size_t nregs, regs_cap;
	uint64_t next_key;
	struct ofi_slab *slabs;
	struct ofi_op *free_ops;
	size_t inflight;
	/* completions taken from the CQ while waiting for room to post */
	struct fab_completion *ring;
	size_t ring_cap, ring_head, ring_n;
	unsigned forks; /* fork generation when opened (fab.h) */
	int dead;	/* 0, or the error every call returns from now on */
	unsigned empty_polls;
	uint64_t progress_ns; /* last completion, or first post after idle */
};

/* What the parent hands its child. The child holds a copy of the
 * parent's memory, so @parent is readable there: server addresses,
 * chunk tables and registered areas come from it. */
struct ofi_ticket {
	uint32_t magic;
	uint32_t pid;
	struct fab_backend *parent;
	uint32_t nservers;
	uint32_t pad;
	struct fmp_ticket tk[FAB_OFI_MAX_SERVERS];
};
_Static_assert(sizeof(struct ofi_ticket) <= sizeof(struct fab_ticket),
	       "ticket fits");

/*
 * libfabric itself, loaded on first use. Debian's build links the psm
 * providers, whose libinfinipath constructor sleeps ~0.2 s in every
 * program that loads it: a program that never talks to a memory server
 * must not pay that, so libfarmem does not link libfabric. Only these
 * entry points are real symbols; the rest of the API is inline calls
 * through the objects' ops tables.
 */
static struct {
	int (*getinfo)(uint32_t, const char *, const char *, uint64_t,
		       const struct fi_info *, struct fi_info **);
	void (*freeinfo)(struct fi_info *);
	struct fi_info *(*dupinfo)(const struct fi_info *);
	int (*fabric)(struct fi_fabric_attr *, struct fid_fabric **, void *);
	const char *(*strerror)(int);
	int err;
} lib;
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_load(void)
{
	void *h = dlopen("libfabric.so.1", RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		FM_ERR(fabric,
		       "cannot load libfabric.so.1 (%s): apt-get "
		       "install libfabric1",
		       dlerror());
		lib.err = -ENOPKG;
		return;
	}
	lib.getinfo = (__typeof__(lib.getinfo))dlsym(h, "fi_getinfo");
	lib.freeinfo = (__typeof__(lib.freeinfo))dlsym(h, "fi_freeinfo");
	lib.dupinfo = (__typeof__(lib.dupinfo))dlsym(h, "fi_dupinfo");
	lib.fabric = (__typeof__(lib.fabric))dlsym(h, "fi_fabric");
	lib.strerror = (__typeof__(lib.strerror))dlsym(h, "fi_strerror");
	if (!lib.getinfo || !lib.freeinfo || !lib.dupinfo || !lib.fabric ||
	    !lib.strerror) {
		FM_ERR(fabric,
		       "libfabric.so.1 lacks the fi_* entry points "
		       "farmem needs (version %u.%u or later required)",
		       FI_MAJOR(OFI_FI_VERSION), FI_MINOR(OFI_FI_VERSION));
		lib.err = -ENOPKG;
	}
}

static const char *ofi_strerror(int err)
{
	return lib.strerror ? lib.strerror(err) : strerror(err);
}

/* ofi_stale - is @b a copy inherited from the parent? (fab.h) */
static bool ofi_stale(const struct fab_backend *b)
{
	return fab_fork_stale(b->forks);
}

static int ofi_err(int fi_ret)
{
	int e = fi_ret < 0 ? -fi_ret : fi_ret;

	return e > 0 && e < FI_ERRNO_OFFSET ? -e : -EIO;
}

static uint64_t ofi_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- failure --------------------------------------------------------- */

static void ring_push(struct fab_backend *b, void *ctx, int status);

/*
 * ofi_fail - server @s is gone: abandon every transfer in flight (each
 * completes with -ECONNRESET), and make every later call fail. Locked.
 */
static void ofi_fail(struct fab_backend *b, int s, const char *why)
{
	if (b->dead)
		return;
	b->dead = -EPIPE;
	FM_ERR(fabric,
	       "server %s: %s; far memory on it is lost, every "
	       "further access fails",
	       b->srv[s].ep.name, why);
	for (struct ofi_slab *sl = b->slabs; sl; sl = sl->next)
		for (int i = 0; i < OFI_OPS_PER_SLAB; i++) {
			struct ofi_op *op = &sl->ops[i];
			if (op->state != OP_POSTED)
				continue;
			op->state = OP_ABANDONED;
			ring_push(b, op->ctx, -ECONNRESET);
		}
}

/* ofi_check_ctl - looks for EOF on the control connections (the server
 * never speaks first). Needs ctl_lock; takes lock. */
static void ofi_check_ctl_locked(struct fab_backend *b)
{
	struct pollfd pfd[FAB_OFI_MAX_SERVERS];

	for (int s = 0; s < b->nservers; s++)
		pfd[s] = (struct pollfd){b->srv[s].fd, POLLIN | POLLRDHUP, 0};
	if (poll(pfd, (nfds_t)b->nservers, 0) <= 0)
		return;
	for (int s = 0; s < b->nservers; s++) {
		char c;
		ssize_t n;
		if (pfd[s].revents == 0)
			continue;
		n = recv(b->srv[s].fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		ofi_fail(b, s,
			 n == 0	 ? "control connection closed"
			 : n < 0 ? "control connection failed"
				 : "unexpected data on the "
				   "control connection");
		return;
	}
}

/* ---- completions -------------------------------------------------------- */

/* ring_room - room for @want completions in the ring. Locked. */
static int ring_room(struct fab_backend *b, size_t want)
{
	struct fab_completion *r;
	size_t cap = b->ring_cap ? b->ring_cap : 256;

	if (want <= b->ring_cap)
		return 0;
	while (cap < want)
		cap *= 2;
	r = heap_priv_alloc(cap * sizeof(*r), 16);
	if (r == NULL)
		return -ENOMEM;
	for (size_t k = 0; k < b->ring_n; k++)
		r[k] = b->ring[(b->ring_head + k) % b->ring_cap];
	heap_priv_free(b->ring);
	b->ring = r;
	b->ring_cap = cap;
	b->ring_head = 0;
	return 0;
}

/* ring_push - queues a completion. Room was made when the operation was
 * posted (ofi_xfer), so this never allocates: a lost completion would
 * leave its caller waiting forever. */
static void ring_push(struct fab_backend *b, void *ctx, int status)
{
	FM_BUG_ON(ring_room(b, b->ring_n + 1) != 0);
	b->ring[(b->ring_head + b->ring_n) % b->ring_cap] =
	    (struct fab_completion){ctx, status};
	b->ring_n++;
}

static void op_put(struct fab_backend *b, struct ofi_op *op)
{
	if (op->state == OP_POSTED)
		b->progress_ns = ofi_now_ns();
	op->state = OP_FREE;
	op->next_free = b->free_ops;
	b->free_ops = op;
	b->inflight--;
}

static struct ofi_op *op_get(struct fab_backend *b)
{
	struct ofi_op *op = b->free_ops;

	if (op == NULL) {
		struct ofi_slab *sl = heap_priv_alloc(sizeof(*sl), 64);
		if (sl == NULL)
			return NULL;
		memset(sl, 0, sizeof(*sl));
		sl->next = b->slabs;
		b->slabs = sl;
		for (int i = OFI_OPS_PER_SLAB - 1; i >= 0; i--) {
			sl->ops[i].next_free = b->free_ops;
			b->free_ops = &sl->ops[i];
		}
		op = b->free_ops;
	}
	b->free_ops = op->next_free;
	b->inflight++;
	return op;
}

/*
 * cq_drain - reads completions: into @out (up to @max) if given, else
 * into the ring. Returns how many went to @out, or 0. Locked.
 */
static int cq_drain(struct fab_backend *b, struct fab_completion *out, int max)
{
	struct fi_cq_entry ent[32];
	int got = 0;

	for (;;) {
		int want = out ? max - got : 32;
		ssize_t n;

		if (want <= 0)
			break;
		n = fi_cq_read(b->cq, ent, (size_t)(want < 32 ? want : 32));
		if (n == -FI_EAGAIN)
			break;
		if (n == -FI_EAVAIL) {
			struct fi_cq_err_entry err = {0};
			struct ofi_op *op;
			if (fi_cq_readerr(b->cq, &err, 0) != 1)
				break;
			op = err.op_context;
			if (op == NULL)
				continue;
			if (op->state == OP_POSTED) {
				int st = ofi_err(err.err);
				if (out)
					out[got++] = (struct fab_completion){
					    op->ctx, st};
				else
					ring_push(b, op->ctx, st);
				/* a broken connection is a lost server; an
				 * access error is ours alone */
				if (err.err != FI_EACCES &&
				    err.err != FI_EINVAL &&
				    err.err != FI_EPERM &&
				    err.err != FI_EFAULT &&
				    err.err != FI_EMSGSIZE) {
					char why[96];
					int s = op->server;
					snprintf(why, sizeof(why),
						 "transfer failed: %s",
						 ofi_strerror(err.err));
					op_put(b, op);
					ofi_fail(b, s, why);
					continue;
				}
			}
			op_put(b, op);
			continue;
		}
		if (n < 0) {
			FM_WARN_RL(fabric, "fi_cq_read: %s",
				   ofi_strerror((int)-n));
			break;
		}
		for (ssize_t i = 0; i < n; i++) {
			struct ofi_op *op = ent[i].op_context;
			if (op->state == OP_POSTED) {
				if (out)
					out[got++] =
					    (struct fab_completion){op->ctx, 0};
				else
					ring_push(b, op->ctx, 0);
			}
			op_put(b, op);
		}
	}
	return got;
}

/* ---- the fabric ---------------------------------------------------------- */

static void ofi_fabric_close(struct fab_backend *b)
{
	for (size_t i = 0; i < b->nregs; i++)
		if (b->regs[i].mr)
			fi_close(&b->regs[i].mr->fid);
	if (b->ep)
		fi_close(&b->ep->fid);
	if (b->cq)
		fi_close(&b->cq->fid);
	if (b->av)
		fi_close(&b->av->fid);
	if (b->domain)
		fi_close(&b->domain->fid);
	if (b->fabric)
		fi_close(&b->fabric->fid);
	if (b->info)
		lib.freeinfo(b->info);
	b->ep = NULL;
	b->cq = NULL;
	b->av = NULL;
	b->domain = NULL;
	b->fabric = NULL;
	b->info = NULL;
}

/*
 * ofi_source - for IP providers, the local address our control connection
 * to the first server uses: the endpoint binds there, so that its own
 * connections leave by the same route (left to itself, tcp binds to the
 * first interface, from which [::1] or another namespace is unreachable).
 * Returns @buf, or NULL for other providers.
 */
static const char *ofi_source(struct fab_backend *b, char *buf, size_t len)
{
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa);

	if ((b->addr_format != FI_SOCKADDR_IN &&
	     b->addr_format != FI_SOCKADDR_IN6) ||
	    getsockname(b->srv[0].fd, (struct sockaddr *)&sa, &salen))
		return NULL;
	if (sa.ss_family == AF_INET && b->addr_format == FI_SOCKADDR_IN)
		return inet_ntop(AF_INET,
				 &((struct sockaddr_in *)&sa)->sin_addr, buf,
				 (socklen_t)len);
	if (sa.ss_family == AF_INET6 && b->addr_format == FI_SOCKADDR_IN6)
		return inet_ntop(AF_INET6,
				 &((struct sockaddr_in6 *)&sa)->sin6_addr, buf,
				 (socklen_t)len);
	return NULL;
}

/*
 * ofi_pick_iface - for the tcp provider, the interface that owns the
 * local address of our control connection to the first server, as
 * FI_TCP_IFACE (unless the user chose one). ofi_rxm makes its connections
 * from the tcp provider's interface whatever source we ask for, and from
 * the default one [::1] or a server reached through another interface is
 * unreachable. Read once, when libfabric loads: every session of the
 * process uses that interface.
 */
static void ofi_pick_iface(struct fab_backend *b)
{
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa);
	struct ifaddrs *ifs, *i;

	if (strncmp(b->provider, "tcp", 3) || getenv("FI_TCP_IFACE") ||
	    getsockname(b->srv[0].fd, (struct sockaddr *)&sa, &salen) ||
	    getifaddrs(&ifs))
		return;
	for (i = ifs; i; i = i->ifa_next) {
		const struct sockaddr *a = i->ifa_addr;
		if (a == NULL || a->sa_family != sa.ss_family)
			continue;
		if ((a->sa_family == AF_INET &&
		     !memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			     &((struct sockaddr_in *)&sa)->sin_addr,
			     sizeof(struct in_addr))) ||
		    (a->sa_family == AF_INET6 &&
		     !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			     &((struct sockaddr_in6 *)&sa)->sin6_addr,
			     sizeof(struct in6_addr)))) {
			setenv("FI_TCP_IFACE", i->ifa_name, 0);
			break;
		}
	}
	freeifaddrs(ifs);
}

/* ofi_fabric_open - our endpoint on b->provider. Returns 0 or -errno. */
static int ofi_fabric_open(struct fab_backend *b)
{
	char node[INET6_ADDRSTRLEN];
	const char *src;
	struct fi_info *hints;
	struct fi_cq_attr cqa = {.format = FI_CQ_FORMAT_CONTEXT,
				 .size = OFI_CQ_SIZE,
				 .wait_obj = FI_WAIT_NONE};
	struct fi_av_attr ava = {.type = FI_AV_TABLE};
	int ret;

	/* libfabric must not watch our memory: the runtime registers its
	 * own buffers, and a monitor would hook munmap or use userfaultfd.
	 * Set before libfabric reads its environment; none of these
	 * overrides what the user set. */
	setenv("FI_MR_CACHE_MONITOR", "disabled", 0);
	/* small writes must not wait for an ACK (Nagle): ms stalls */
	setenv("FI_TCP_NODELAY", "1", 0);
	/* ofi_rxm's bounce buffers carry messages, which we never send:
	 * at the default 16 KiB its pools cost ~60 MiB resident per
	 * endpoint (per process, forked children included) and 70 ms to
	 * open; 1 KiB keeps them at ~4 MiB. RMA does not go through them. */
	setenv("FI_OFI_RXM_BUFFER_SIZE", "1024", 0);
	/* and its receive queues, never used (they size its completion
	 * queue too, see below) */
	setenv("FI_OFI_RXM_RX_SIZE", "64", 0);
	setenv("FI_OFI_RXM_MSG_RX_SIZE", "64", 0);
	/* our endpoint's peers are our servers, not the ranks of a job:
	 * ofi_rxm sizes its completion queue as its connections' queues
	 * (128 + 64) times the universe (1024 by default: 12 MiB with tcp,
	 * 192 KiB for 16). FI_OFI_RXM_TX_SIZE makes no difference. */
	setenv("FI_UNIVERSE_SIZE", "16", 0);
	if (!lib.getinfo && !lib.err)
		ofi_pick_iface(b);
	pthread_once(&lib_once, lib_load);
	if (lib.err)
		return lib.err;

	hints = lib.dupinfo(NULL);
	if (hints == NULL)
		return -ENOMEM;
	hints->ep_attr->type = FI_EP_RDM;
	hints->caps = FI_RMA | FI_READ | FI_WRITE;
	hints->mode = FI_CONTEXT | FI_CONTEXT2;
	hints->addr_format = b->addr_format;
	hints->domain_attr->data_progress = FI_PROGRESS_MANUAL;
	hints->domain_attr->threading = FI_THREAD_DOMAIN;
	hints->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR |
				      FI_MR_ALLOCATED | FI_MR_PROV_KEY |
				      FI_MR_ENDPOINT;
	hints->fabric_attr->prov_name = b->provider;
	src = ofi_source(b, node, sizeof(node));
	ret = lib.getinfo(OFI_FI_VERSION, src, src ? "0" : NULL,
			  src ? FI_SOURCE : 0, hints, &b->info);
	hints->fabric_attr->prov_name = NULL; /* ours, not malloc'ed */
	lib.freeinfo(hints);
	if (ret) {
		FM_ERR(fabric,
		       "provider %s (as the server runs) is not "
		       "available here: %s",
		       b->provider, ofi_strerror(-ret));
		b->info = NULL;
		return ofi_err(ret);
	}
	b->mr_local = b->info->domain_attr->mr_mode & FI_MR_LOCAL;
	b->mr_endpoint = b->info->domain_attr->mr_mode & FI_MR_ENDPOINT;
	b->mr_prov_key = b->info->domain_attr->mr_mode & FI_MR_PROV_KEY;

	ret = lib.fabric(b->info->fabric_attr, &b->fabric, NULL);
	if (!ret)
		ret = fi_domain(b->fabric, b->info, &b->domain, NULL);
	if (!ret)
		ret = fi_av_open(b->domain, &ava, &b->av, NULL);
	if (!ret)
		ret = fi_cq_open(b->domain, &cqa, &b->cq, NULL);
	if (!ret)
		ret = fi_endpoint(b->domain, b->info, &b->ep, NULL);
	if (!ret)
		ret = fi_ep_bind(b->ep, &b->av->fid, 0);
	if (!ret)
		ret = fi_ep_bind(b->ep, &b->cq->fid, FI_TRANSMIT | FI_RECV);
	/* named by ofi_self_addr, before HELLO told the server the name */
	if (!ret && strcmp(b->provider, "shm") == 0)
		ret = fi_setname(&b->ep->fid, b->shm_name,
				 strlen(b->shm_name) + 1);
	if (!ret)
		ret = fi_enable(b->ep);
	if (!ret && strcmp(b->provider, "shm") == 0) {
		long t = fmp_shm_trim(b->shm_name);

		FM_DBG(fabric,
		       "shm: %ld bytes of our region's padding given "
		       "back",
		       t);
	}
	if (!ret) {
		b->addr_len = sizeof(b->addr);
		ret = fi_getname(&b->ep->fid, b->addr, &b->addr_len);
	}
	if (ret) {
		FM_ERR(fabric, "cannot open an endpoint on provider %s: %s",
		       b->provider, ofi_strerror(-ret));
		ofi_fabric_close(b);
		return ofi_err(ret);
	}
	return 0;
}

/* reg_mr - registers area @r in our domain. */
static int reg_mr(struct fab_backend *b, struct ofi_reg *r)
{
	int ret =
	    fi_mr_reg(b->domain, (void *)r->base, r->len, FI_READ | FI_WRITE, 0,
		      b->next_key++, 0, &r->mr, NULL);

	if (!ret && b->mr_endpoint) {
		ret = fi_mr_bind(r->mr, &b->ep->fid, 0);
		if (!ret)
			ret = fi_mr_enable(r->mr);
		if (ret)
			fi_close(&r->mr->fid);
	}
	if (ret) {
		r->mr = NULL;
		FM_WARN(fabric, "registering %zu bytes at %p: %s", r->len,
			(void *)r->base, ofi_strerror(-ret));
		return ofi_err(ret);
	}
	r->desc = fi_mr_desc(r->mr);
	return 0;
}

static int av_put(struct fab_backend *b, struct ofi_server *sv);

/*
 * ofi_up - opens the fabric on first use: loading libfabric and opening an
 * endpoint costs ~300 ms of a process's start (its providers probe the
 * machine), and most processes - shells, compilers, short helpers - never
 * evict a page. The control connections and the session (HELLO) are made
 * at open, so a missing server or a wrong token is still known at start.
 * Locked. Returns 0 or -errno (the session is then failed).
 */
static int ofi_up(struct fab_backend *b)
{
	int ret;

	if (FM_LIKELY(b->up))
		return 0;
	ret = ofi_fabric_open(b);
	if (ret)
		return ret;
	b->up = true;
	for (size_t i = 0; i < b->nregs && !ret; i++)
		ret = reg_mr(b, &b->regs[i]);
	for (int s = 0; s < b->nservers && !ret; s++)
		ret = av_put(b, &b->srv[s]);
	return ret;
}

/* ofi_self_addr - what HELLO and FORK_OPEN tell the server about us: with
 * shm the name our endpoint will have (the server removes its file when
 * the session ends), else nothing. Returns 0 or -errno. */
static int ofi_self_addr(struct fab_backend *b)
{
	int ret;

	b->addr_len = 0;
	if (strcmp(b->provider, "shm") != 0)
		return 0;
	ret = fmp_shm_name('c', b->shm_name, sizeof(b->shm_name));
	if (ret)
		return ret;
	b->addr_len = strlen(b->shm_name) + 1;
	memcpy(b->addr, b->shm_name, b->addr_len);
	return 0;
}

/* ofi_reg_one - registers [base, base+len) in our domain. Locked. */
static int ofi_reg_one(struct fab_backend *b, void *base, size_t len)
{
	struct ofi_reg r = {(uintptr_t)base, len, NULL, NULL};
	int ret;

	for (size_t i = 0; i < b->nregs; i++)
		if (b->regs[i].base == r.base && b->regs[i].len == len)
			return 0; /* again, e.g. after fork_open */
	if (b->nregs == b->regs_cap) {
		size_t cap = b->regs_cap ? b->regs_cap * 2 : 8;
		struct ofi_reg *nr = heap_priv_alloc(cap * sizeof(*nr), 16);
		if (nr == NULL)
			return -ENOMEM;
		if (b->nregs)
			memcpy(nr, b->regs, b->nregs * sizeof(*nr));
		heap_priv_free(b->regs);
		b->regs = nr;
		b->regs_cap = cap;
	}
	/* registered now if the fabric is up, else by ofi_up */
	if (b->up && (ret = reg_mr(b, &r)))
		return ret;
	b->regs[b->nregs++] = r;
	return 0;
}

/* ---- control ------------------------------------------------------------- */

/* ofi_call - one request on server @s's control connection; a broken
 * stream takes the session down. Returns 0, a positive server errno, or
 * -EPIPE. Needs ctl_lock. */
static int ofi_call(struct fab_backend *b, int s, unsigned type,
		    const void *req, size_t req_len, void *rep, size_t rep_len)
{
	int ret = fmp_call(b->srv[s].fd, type, req, req_len, rep, rep_len);

	if (ret < 0) {
		char why[96];
		snprintf(why, sizeof(why), "%s: %s", fmp_type_name(type),
			 strerror(-ret));
		pthread_mutex_lock(&b->lock);
		ofi_fail(b, s, why);
		pthread_mutex_unlock(&b->lock);
		return -EPIPE;
	}
	return ret;
}

static int ctl_connect(struct ofi_server *sv)
{
	struct timeval tv = {OFI_CTL_TIMEOUT_S, 0};
	int fd = fmp_connect(&sv->ep);

	if (fd < 0) {
		FM_ERR(fabric, "server %s: %s%s", sv->ep.name, strerror(-fd),
		       fd == -ECONNREFUSED ? "; is farmem-server running "
					     "there?"
					   : "");
		return fd;
	}
	/* a hung server is a lost server, not a hung program */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* a program closing every descriptor must not end our session */
	sv->fd = prim_fd_hide(fd);
	return 0;
}

/* av_put - server @sv's fabric address into our table. */
static int av_put(struct fab_backend *b, struct ofi_server *sv)
{
	int ret = fi_av_insert(b->av, sv->addr, 1, &sv->fiaddr, 0, NULL);

	if (ret != 1) {
		FM_ERR(fabric,
		       "server %s: its fabric address is not usable here (%s)",
		       sv->ep.name, ofi_strerror(ret < 0 ? -ret : FI_EINVAL));
		return -EHOSTUNREACH;
	}
	return 0;
}

/* av_insert - keeps server @sv's session and fabric address from @rep,
 * and puts the address in our table if the fabric is up (else ofi_up
 * will). */
static int av_insert(struct fab_backend *b, struct ofi_server *sv,
		     const struct fmp_session_rep *rep)
{
	if (rep->addr_len == 0 || rep->addr_len > FMP_ADDR_MAX)
		return -EPROTO;
	memcpy(sv->addr, rep->addr, rep->addr_len);
	sv->addr_len = rep->addr_len;
	sv->session = rep->session;
	return b->up ? av_put(b, sv) : 0;
}

/* ofi_info - asks server @s which provider it runs. Returns 0 or -errno. */
static int ofi_info(struct fab_backend *b, int s)
{
	struct ofi_server *sv = &b->srv[s];
	struct fmp_info_rep info;
	int ret;

	ret = fmp_call(sv->fd, FMP_INFO, NULL, 0, &info, sizeof(info));
	if (ret) {
		FM_ERR(fabric, "server %s: INFO: %s", sv->ep.name,
		       strerror(ret < 0 ? -ret : ret));
		return ret < 0 ? ret : -ret;
	}
	info.provider[FMP_PROV_MAX - 1] = '\0';
	if (info.chunk_bytes != FAB_CHUNK) {
		FM_ERR(fabric,
		       "server %s: chunks of %llu bytes, expected %zu "
		       "(a different farmem version?)",
		       sv->ep.name, (unsigned long long)info.chunk_bytes,
		       FAB_CHUNK);
		return -EPROTO;
	}
	if (s == 0) {
		memcpy(b->provider, info.provider, FMP_PROV_MAX);
		b->addr_format = info.addr_format;
	} else if (strcmp(b->provider, info.provider) ||
		   b->addr_format != info.addr_format) {
		FM_ERR(fabric,
		       "server %s runs provider %s, server %s runs "
		       "%s: all servers must run the same",
		       sv->ep.name, info.provider, b->srv[0].ep.name,
		       b->provider);
		return -EPROTO;
	}
	if (info.flags & FMP_F_PROV_KEY)
		FM_WARN(fabric,
			"server %s: provider keys may be guessable; no "
			"isolation from other clients",
			sv->ep.name);
	return 0;
}

static int ofi_hello(struct fab_backend *b, int s, const char *token)
{
	struct ofi_server *sv = &b->srv[s];
	struct fmp_hello_req req;
	struct fmp_session_rep rep;
	int ret;

	memset(&req, 0, sizeof(req));
	req.token_len = (uint32_t)strlen(token);
	memcpy(req.token, token, req.token_len);
	req.addr_len = (uint32_t)b->addr_len;
	memcpy(req.addr, b->addr, b->addr_len);
	ret = fmp_call(sv->fd, FMP_HELLO, &req, sizeof(req), &rep, sizeof(rep));
	memset(&req, 0, sizeof(req));
	if (ret == EACCES) {
		FM_ERR(fabric,
		       "server %s refused the token: set FARMEM_TOKEN "
		       "to the server's token",
		       sv->ep.name);
		return -EACCES;
	}
	if (ret) {
		FM_ERR(fabric, "server %s: HELLO: %s", sv->ep.name,
		       strerror(ret < 0 ? -ret : ret));
		return ret < 0 ? ret : -ret;
	}
	return av_insert(b, sv, &rep);
}

static struct fab_backend *ofi_new(void)
{
	struct fab_backend *b = heap_priv_alloc(sizeof(*b), 64);

	if (b == NULL)
		return NULL;
	memset(b, 0, sizeof(*b));
	b->magic = OFI_MAGIC;
	b->next_key = 1;
	b->forks = fab_fork_gen_open();
	pthread_mutex_init(&b->lock, NULL);
	pthread_mutex_init(&b->ctl_lock, NULL);
	for (int s = 0; s < FAB_OFI_MAX_SERVERS; s++)
		b->srv[s].fd = -1;
	return b;
}

static void ofi_free(struct fab_backend *b)
{
	for (int s = 0; s < b->nservers; s++) {
		if (b->srv[s].fd >= 0) {
			prim_fd_unhide(b->srv[s].fd);
			close(b->srv[s].fd);
		}
		heap_priv_free(b->srv[s].tab);
	}
	/* a parent's copy: its libfabric objects are the parent's, and
	 * closing them could shut down connections the parent uses */
	if (!ofi_stale(b))
		ofi_fabric_close(b);
	while (b->slabs) {
		struct ofi_slab *sl = b->slabs;
		b->slabs = sl->next;
		heap_priv_free(sl);
	}
	heap_priv_free(b->regs);
	heap_priv_free(b->ring);
	if (!ofi_stale(b)) {
		pthread_mutex_destroy(&b->lock);
		pthread_mutex_destroy(&b->ctl_lock);
	}
	b->magic = 0;
	heap_priv_free(b);
}

static int ofi_parse_spec(struct fab_backend *b, const char *spec)
{
	const char *p = spec;

	if (spec == NULL || *spec == '\0') {
		FM_ERR(fabric, "no memory server given: expected "
			       "host:port[,host:port...]");
		return -EINVAL;
	}
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char one[96];
		int ret;

		if (b->nservers == FAB_OFI_MAX_SERVERS) {
			FM_ERR(fabric, "more than %d memory servers given",
			       FAB_OFI_MAX_SERVERS);
			return -E2BIG;
		}
		if (len == 0 || len >= sizeof(one)) {
			FM_ERR(fabric,
			       "bad server list \"%s\": expected "
			       "host:port[,host:port...]",
			       spec);
			return -EINVAL;
		}
		memcpy(one, p, len);
		one[len] = '\0';
		ret = fmp_parse_endpoint(one, &b->srv[b->nservers].ep);
		if (ret) {
			FM_ERR(fabric, "server \"%s\": %s", one,
			       ret == -EINVAL ? "expected host:port"
					      : "host name did not resolve");
			return ret;
		}
		b->nservers++;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int ofi_open(const char *spec, struct fab_backend **out)
{
	const char *token = getenv("FARMEM_TOKEN");
	struct fab_backend *b;
	int ret;

	if (token == NULL || *token == '\0') {
		FM_ERR(fabric, "no token: set FARMEM_TOKEN to the memory "
			       "server's token");
		return -EACCES;
	}
	if (strlen(token) > FMP_TOKEN_MAX) {
		FM_ERR(fabric, "FARMEM_TOKEN is longer than %d bytes",
		       FMP_TOKEN_MAX);
		return -EINVAL;
	}
	b = ofi_new();
	if (b == NULL)
		return -ENOMEM;
	ret = ofi_parse_spec(b, spec);
	for (int s = 0; s < b->nservers && !ret; s++) {
		ret = ctl_connect(&b->srv[s]);
		if (!ret)
			ret = ofi_info(b, s);
	}
	if (!ret)
		ret = ofi_self_addr(b); /* the fabric opens on first use */
	for (int s = 0; s < b->nservers && !ret; s++)
		ret = ofi_hello(b, s, token);
	if (ret) {
		ofi_free(b);
		return ret;
	}
	*out = b;
	return 0;
}

static int ofi_reg(struct fab_backend *b, void *base, size_t len)
{
	int ret;

	if (ofi_stale(b))
		return -ECHILD;
	if (base == NULL || len == 0 || (uintptr_t)base + len < (uintptr_t)base)
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	ret = b->dead ? b->dead : ofi_reg_one(b, base, len);
	pthread_mutex_unlock(&b->lock);
	return ret;
}

/* tab_set - records chunk @id of server @s. Locked. */
static int tab_set(struct ofi_server *sv, const struct fmp_chunk_rep *rep)
{
	size_t slot = (size_t)(rep->chunk & 0xffffffffu);

	if (slot >= sv->tab_cap) {
		size_t cap = sv->tab_cap ? sv->tab_cap : 64;
		struct ofi_chunk *t;
		while (cap <= slot)
			cap *= 2;
		t = heap_priv_alloc(cap * sizeof(*t), 16);
		if (t == NULL)
			return -ENOMEM;
		memset(t, 0, cap * sizeof(*t));
		if (sv->tab_cap)
			memcpy(t, sv->tab, sv->tab_cap * sizeof(*t));
		heap_priv_free(sv->tab);
		sv->tab = t;
		sv->tab_cap = cap;
	}
	sv->tab[slot] = (struct ofi_chunk){rep->chunk, rep->raddr, rep->key};
	sv->nchunks++;
	return 0;
}

/* tab_get - the entry of chunk @c, or NULL. Locked. */
static struct ofi_chunk *tab_get(struct fab_backend *b, fab_chunk_t c,
				 int *server)
{
	int s = (int)(c >> 56) - 1;
	uint64_t id = c & (((uint64_t)1 << 56) - 1);
	size_t slot = (size_t)(c & 0xffffffffu);
	struct ofi_server *sv;

	if (s < 0 || s >= b->nservers)
		return NULL;
	sv = &b->srv[s];
	if (slot >= sv->tab_cap || sv->tab[slot].id != id || id == 0)
		return NULL;
	*server = s;
	return &sv->tab[slot];
}

static int ofi_chunk_alloc(struct fab_backend *b, fab_chunk_t *out)
{
	struct fmp_chunk_rep rep;
	int ret = ENOSPC;

	if (ofi_stale(b))
		return -ECHILD;
	pthread_mutex_lock(&b->ctl_lock);
	for (int k = 0; k < b->nservers; k++) {
		int s = (int)((b->next + (unsigned)k) % (unsigned)b->nservers);

		if (b->dead) {
			ret = b->dead;
			break;
		}
		ret =
		    ofi_call(b, s, FMP_CHUNK_ALLOC, NULL, 0, &rep, sizeof(rep));
		if (ret == ENOSPC)
			continue;
		if (ret)
			break;
		if (rep.chunk == 0 || rep.chunk >> 56) {
			pthread_mutex_lock(&b->lock);
			ofi_fail(b, s, "CHUNK_ALLOC: malformed chunk id");
			pthread_mutex_unlock(&b->lock);
			ret = -EPIPE;
			break;
		}
		pthread_mutex_lock(&b->lock);
		ret = tab_set(&b->srv[s], &rep);
		pthread_mutex_unlock(&b->lock);
		if (ret) {
			struct fmp_chunk_req put = {rep.chunk};
			ofi_call(b, s, FMP_CHUNK_PUT, &put, sizeof(put), NULL,
				 0);
			break;
		}
		b->next = (unsigned)s + 1;
		*out = ((uint64_t)(s + 1) << 56) | rep.chunk;
		break;
	}
	pthread_mutex_unlock(&b->ctl_lock);
	return ret > 0 ? -ret : ret;
}

static int ofi_chunk_put(struct fab_backend *b, fab_chunk_t c)
{
	struct fmp_chunk_req req;
	struct ofi_chunk *e;
	int s, ret;

	if (ofi_stale(b))
		return -ECHILD;
	pthread_mutex_lock(&b->ctl_lock);
	pthread_mutex_lock(&b->lock);
	if (b->dead) {
		ret = b->dead;
	} else if ((e = tab_get(b, c, &s)) == NULL) {
		ret = -ENOENT;
	} else {
		req.chunk = e->id;
		memset(e, 0, sizeof(*e));
		b->srv[s].nchunks--;
		ret = 0;
	}
	pthread_mutex_unlock(&b->lock);
	if (ret == 0) {
		ret = ofi_call(b, s, FMP_CHUNK_PUT, &req, sizeof(req), NULL, 0);
		ret = ret > 0 ? -ret : ret;
	}
	pthread_mutex_unlock(&b->ctl_lock);
	return ret;
}

/* reg_desc - the registration covering [buf, buf+len), or NULL. Locked. */
static struct ofi_reg *reg_find(struct fab_backend *b, const void *buf,
				size_t len)
{
	uintptr_t p = (uintptr_t)buf;

	for (size_t i = 0; i < b->nregs; i++)
		if (p >= b->regs[i].base &&
		    p - b->regs[i].base + len <= b->regs[i].len && p + len >= p)
			return &b->regs[i];
	return NULL;
}

/* ofi_check - every so often, the control connections. Locked. */
static void ofi_check(struct fab_backend *b)
{
	if (++b->empty_polls < OFI_CHECK_EVERY)
		return;
	b->empty_polls = 0;
	if (b->inflight && ofi_now_ns() - b->progress_ns > OFI_STALL_NS) {
		for (struct ofi_slab *sl = b->slabs; sl; sl = sl->next)
			for (int i = 0; i < OFI_OPS_PER_SLAB; i++)
				if (sl->ops[i].state == OP_POSTED) {
					ofi_fail(b, sl->ops[i].server,
						 "no transfer completed for "
						 "30 s (unreachable?)");
					return;
				}
	}
	if (pthread_mutex_trylock(&b->ctl_lock))
		return; /* a control call is running: it will see EOF itself */
	ofi_check_ctl_locked(b);
	pthread_mutex_unlock(&b->ctl_lock);
}

static int ofi_xfer(struct fab_backend *b, fab_chunk_t c, size_t off, void *buf,
		    size_t len, void *ctx, bool write)
{
	struct ofi_chunk *e;
	struct ofi_reg *r;
	struct ofi_op *op;
	struct sched_idle refused = {0}; /* -FI_EAGAIN since */
	ssize_t ret;
	int s;

	if (ofi_stale(b))
		return -ECHILD;
	if (len == 0 || off > FAB_CHUNK || len > FAB_CHUNK - off)
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	if (b->dead) {
		ret = b->dead;
		goto out;
	}
	if (FM_UNLIKELY(!b->up) && (ret = ofi_up(b)) != 0) {
		ofi_fail(b, 0, "cannot open the fabric");
		ret = b->dead;
		goto out;
	}
	e = tab_get(b, c, &s);
	r = reg_find(b, buf, len);
	if (e == NULL || r == NULL) {
		ret = e == NULL ? -ENOENT : -EINVAL;
		goto out;
	}
	/* every operation in flight may end up in the ring at once */
	if (ring_room(b, b->ring_n + b->inflight + 1) ||
	    (op = op_get(b)) == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	op->ctx = ctx;
	op->server = (uint8_t)s;
	/* OP_POSTED only once libfabric has it: ofi_fail must not report
	 * an operation this call is about to fail itself */
	for (;;) {
		void *desc = b->mr_local ? r->desc : NULL;
		if (write) {
			struct iovec iov = {buf, len};
			struct fi_rma_iov rma = {e->raddr + off, len, e->key};
			struct fi_msg_rma msg = {
			    &iov, &desc, 1,	     b->srv[s].fiaddr,
			    &rma, 1,	 &op->fictx, 0};
			/*
			 * Complete only once the data is in the server's
			 * memory: the pager drops its copy on completion,
			 * and a forked child reads through another
			 * connection. (tcp's default completes on send;
			 * shm's slow path, for a page, once the data is in
			 * the server's queue, where a fast-path read does
			 * not look.)
			 */
			ret = fi_writemsg(b->ep, &msg,
					  FI_COMPLETION | FI_DELIVERY_COMPLETE);
		} else
			ret = fi_read(b->ep, buf, len, desc, b->srv[s].fiaddr,
				      e->raddr + off, e->key, &op->fictx);
		if (ret != -FI_EAGAIN)
			break;
		/* the queue is full: make room by progressing; what
		 * completes meanwhile waits in the ring for poll() */
		cq_drain(b, NULL, 0);
		ofi_check(b);
		if (b->dead) {
			ret = b->dead;
			break;
		}
		/* yields after a while: the server may need our core */
		if (sched_idle_pause(&refused) > OFI_STALL_NS) {
			/* never a hang: the pager stops the program with
			 * this reason (libfabric 1.17's shm, after a few
			 * hundred clients of one server) */
			char why[200];
			snprintf(why, sizeof(why),
				 "every transfer refused for 30 s by provider "
				 "%s%s",
				 b->provider,
				 strcmp(b->provider, "shm") == 0
				     ? " (a server of libfabric 1.17's shm "
				       "stops taking new clients after a few "
				       "hundred: run it with --provider tcp)"
				     : "");
			ofi_fail(b, s, why);
			ret = b->dead;
			break;
		}
	}
	if (ret) {
		op_put(b, op);
		ret = b->dead ? b->dead : ofi_err((int)ret);
	} else {
		if (b->inflight == 1)
			b->progress_ns = ofi_now_ns();
		op->state = OP_POSTED;
	}
out:
	pthread_mutex_unlock(&b->lock);
	return (int)ret;
}

static int ofi_read(struct fab_backend *b, fab_chunk_t c, size_t off, void *buf,
		    size_t len, void *ctx)
{
	return ofi_xfer(b, c, off, buf, len, ctx, false);
}

static int ofi_write(struct fab_backend *b, fab_chunk_t c, size_t off,
		     const void *buf, size_t len, void *ctx)
{
	return ofi_xfer(b, c, off, (void *)buf, len, ctx, true);
}

static int ofi_poll(struct fab_backend *b, struct fab_completion *out, int max)
{
	int n = 0;

	if (ofi_stale(b))
		return -ECHILD;
	if (max <= 0)
		return 0;
	pthread_mutex_lock(&b->lock);
	while (n < max && b->ring_n > 0) {
		out[n++] = b->ring[b->ring_head];
		b->ring_head = (b->ring_head + 1) % b->ring_cap;
		b->ring_n--;
	}
	if (n < max && !b->dead && b->up)
		n += cq_drain(b, out + n, max - n);
	/* cq_drain may have failed the session: hand out what it queued */
	while (n < max && b->ring_n > 0) {
		out[n++] = b->ring[b->ring_head];
		b->ring_head = (b->ring_head + 1) % b->ring_cap;
		b->ring_n--;
	}
	if (n == 0 && !b->dead)
		ofi_check(b);
	else
		b->empty_polls = 0;
	if (n == 0 && b->dead && b->ring_n == 0)
		n = b->dead;
	pthread_mutex_unlock(&b->lock);
	return n;
}

/* ---- fork ------------------------------------------------------------------ */

static void ofi_cancel_upto(struct fab_backend *b, const struct ofi_ticket *t,
			    int upto)
{
	for (int s = 0; s < upto; s++)
		ofi_call(b, s, FMP_FORK_CANCEL, &t->tk[s], sizeof(t->tk[s]),
			 NULL, 0);
}

static int ofi_fork_prepare(struct fab_backend *b, struct fab_ticket *t)
{
	struct ofi_ticket ot;
	int ret = 0;

	if (ofi_stale(b))
		return -ECHILD;
	memset(&ot, 0, sizeof(ot));
	ot.magic = OFI_TICKET_MAGIC;
	ot.pid = (uint32_t)getpid();
	ot.parent = b;
	ot.nservers = (uint32_t)b->nservers;
	pthread_mutex_lock(&b->ctl_lock);
	for (int s = 0; s < b->nservers; s++) {
		ret = b->dead ? b->dead
			      : ofi_call(b, s, FMP_FORK_PREPARE, NULL, 0,
					 &ot.tk[s], sizeof(ot.tk[s]));
		if (ret) {
			if (!b->dead)
				ofi_cancel_upto(b, &ot, s);
			break;
		}
	}
	pthread_mutex_unlock(&b->ctl_lock);
	if (ret)
		return ret > 0 ? -ret : ret;
	memset(t, 0, sizeof(*t));
	memcpy(t->bytes, &ot, sizeof(ot));
	return 0;
}

static void ofi_fork_cancel(struct fab_backend *b, const struct fab_ticket *t)
{
	struct ofi_ticket ot;

	if (ofi_stale(b))
		return;
	memcpy(&ot, t->bytes, sizeof(ot));
	if (ot.magic != OFI_TICKET_MAGIC || ot.parent != b ||
	    ot.nservers != (uint32_t)b->nservers)
		return;
	pthread_mutex_lock(&b->ctl_lock);
	if (!b->dead)
		ofi_cancel_upto(b, &ot, b->nservers);
	pthread_mutex_unlock(&b->ctl_lock);
}

/* ofi_copy_tables - the parent's chunk tables, for the child. */
static int ofi_copy_tables(struct fab_backend *b, const struct fab_backend *p)
{
	for (int s = 0; s < p->nservers; s++) {
		const struct ofi_server *ps = &p->srv[s];
		struct ofi_server *sv = &b->srv[s];

		if (ps->tab_cap == 0)
			continue;
		sv->tab = heap_priv_alloc(ps->tab_cap * sizeof(*sv->tab), 16);
		if (sv->tab == NULL)
			return -ENOMEM;
		memcpy(sv->tab, ps->tab, ps->tab_cap * sizeof(*sv->tab));
		sv->tab_cap = ps->tab_cap;
		sv->nchunks = ps->nchunks;
	}
	return 0;
}

/*
 * In the child: a new endpoint (the parent's belongs to the parent), a
 * new control connection per server presenting the ticket. The chunk
 * tables are the parent's as of fork; the server checked that the ticket
 * holds exactly those chunks (it took the references at fork_prepare).
 */
static int ofi_fork_open(const struct fab_ticket *t, struct fab_backend **out)
{
	struct ofi_ticket ot;
	struct fab_backend *p, *b;
	int ret = 0;

	memcpy(&ot, t->bytes, sizeof(ot));
	p = ot.parent;
	if (ot.magic != OFI_TICKET_MAGIC || !heap_priv_owns(p) ||
	    p->magic != OFI_MAGIC || ot.nservers != (uint32_t)p->nservers)
		return -EINVAL;
	/* the parent's control connections, inherited: not ours. Left open,
	 * they would keep the parent's session alive after it exits. */
	if ((uint32_t)getpid() != ot.pid)
		for (int s = 0; s < p->nservers; s++)
			if (p->srv[s].fd >= 0) {
				prim_fd_unhide(p->srv[s].fd);
				close(p->srv[s].fd);
				p->srv[s].fd = -1;
			}
	b = ofi_new();
	if (b == NULL)
		return -ENOMEM;
	b->nservers = p->nservers;
	memcpy(b->provider, p->provider, sizeof(b->provider));
	b->addr_format = p->addr_format;
	for (int s = 0; s < p->nservers; s++)
		b->srv[s].ep = p->srv[s].ep;
	ret = ofi_copy_tables(b, p);
	for (int s = 0; s < b->nservers && !ret; s++)
		ret = ctl_connect(&b->srv[s]);
	if (!ret)
		ret = ofi_self_addr(b); /* the fabric opens on first use */
	for (size_t i = 0; i < p->nregs && !ret; i++)
		ret = ofi_reg_one(b, (void *)p->regs[i].base, p->regs[i].len);
	for (int s = 0; s < b->nservers && !ret; s++) {
		struct fmp_fork_open_req req = {.ticket = ot.tk[s]};
		struct fmp_session_rep rep;

		req.addr_len = (uint32_t)b->addr_len;
		memcpy(req.addr, b->addr, b->addr_len);
		ret = fmp_call(b->srv[s].fd, FMP_FORK_OPEN, &req, sizeof(req),
			       &rep, sizeof(rep));
		if (ret) {
			FM_ERR(
			    fabric, "server %s: FORK_OPEN: %s%s",
			    b->srv[s].ep.name, strerror(ret < 0 ? -ret : ret),
			    ret == EACCES ? " (ticket expired or used?)" : "");
			ret = ret < 0 ? ret : -ret;
			break;
		}
		ret = av_insert(b, &b->srv[s], &rep);
	}
	if (ret) {
		ofi_free(b);
		return ret;
	}
	b->next = p->next;
	*out = b;
	return 0;
}

static void ofi_close(struct fab_backend *b)
{
	if (b == NULL)
		return;
	if (ofi_stale(b)) {
		/* in a child: forget the parent's session, do not end it (its
		 * locks may have been held at fork: not taken) */
		ofi_free(b);
		return;
	}
	pthread_mutex_lock(&b->ctl_lock);
	for (int s = 0; s < b->nservers; s++)
		if (!b->dead && b->srv[s].fd >= 0)
			fmp_call(b->srv[s].fd, FMP_CLOSE, NULL, 0, NULL, 0);
	pthread_mutex_unlock(&b->ctl_lock);
	ofi_free(b);
}

static int ofi_ready(struct fab_backend *b)
{
	int ret;

	if (ofi_stale(b))
		return -ECHILD;
	pthread_mutex_lock(&b->lock);
	ret = b->dead ? b->dead : ofi_up(b);
	pthread_mutex_unlock(&b->lock);
	return ret;
}

const struct fab_ops fab_ofi_ops = {
    .name = "ofi",
    .open = ofi_open,
    .reg = ofi_reg,
    .chunk_alloc = ofi_chunk_alloc,
    .chunk_put = ofi_chunk_put,
    .read = ofi_read,
    .write = ofi_write,
    .poll = ofi_poll,
    .ready = ofi_ready,
    .fork_prepare = ofi_fork_prepare,
    .fork_open = ofi_fork_open,
    .fork_cancel = ofi_fork_cancel,
    .close = ofi_close,
};
