/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the farmem-server tests, speaking the control protocol and
 * libfabric directly (FARMEM_TOKEN must be set):
 *
 *   fab_tool stats HOST:PORT [--wait-zero]
 *       print the server's STATS; --wait-zero: until nothing is held
 *   fab_tool hold HOST:PORT N
 *       a client holding N written chunks: prints "holding", then sleeps
 *   fab_tool isolate HOST:PORT
 *       a victim session and a raw attacker session: forged keys, ranges
 *       and ids must all fail, the victim's data must stay intact
 *   fab_tool fuzz HOST:PORT SEED COUNT
 *       COUNT random and mutated control messages, deterministic from SEED
 */
#include "config.h"

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
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
#include "tests/fabric/fabtest.h"

static struct fmp_endpoint server;
static const char *token;

static int ctl_open(void)
{
	struct timeval tv = {20, 0};
	int fd = fmp_connect(&server);

	if (fd < 0)
		FT_FAIL("connect %s: %s", server.name, strerror(-fd));
	/* a server that stops answering fails the test instead of hanging */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void hello_req(struct fmp_hello_req *req, const void *addr,
		      size_t addr_len)
{
	memset(req, 0, sizeof(*req));
	req->token_len = (uint32_t)strlen(token);
	memcpy(req->token, token, req->token_len);
	req->addr_len = (uint32_t)addr_len;
	if (addr_len)
		memcpy(req->addr, addr, addr_len);
}

/* A session for control messages only (no endpoint of ours). */
static int ctl_session(void)
{
	struct fmp_hello_req req;
	struct fmp_session_rep rep;
	int fd = ctl_open();

	hello_req(&req, "x", 1);
	FT_RET(fmp_call(fd, FMP_HELLO, &req, sizeof(req), &rep, sizeof(rep)),
	       0);
	return fd;
}

/* ---- stats ------------------------------------------------------------- */

static void stats_print(const struct fmp_stats_rep *st)
{
	printf("chunks_total=%llu chunks_used=%llu pool_resident=%llu "
	       "rss=%llu sessions=%llu tickets=%llu conns=%llu "
	       "proto_errors=%llu refused=%llu\n",
	       (unsigned long long)st->chunks_total,
	       (unsigned long long)st->chunks_used,
	       (unsigned long long)st->pool_resident,
	       (unsigned long long)st->rss, (unsigned long long)st->sessions,
	       (unsigned long long)st->tickets, (unsigned long long)st->conns,
	       (unsigned long long)st->proto_errors,
	       (unsigned long long)st->refused);
	fflush(stdout);
}

static int cmd_stats(int argc, char **argv)
{
	bool wait_zero = argc > 0 && !strcmp(argv[0], "--wait-zero");
	struct fmp_stats_rep st;
	int fd = ctl_session();

	/* the server learns of a dead client from its EOF, which may be
	 * read after our request: ask again until it has */
	for (int i = 0;; i++) {
		FT_RET(fmp_call(fd, FMP_STATS, NULL, 0, &st, sizeof(st)), 0);
		if (!wait_zero ||
		    (st.chunks_used == 0 && st.pool_resident == 0 &&
		     st.sessions == 1 && st.tickets == 0))
			break;
		if (i == 2000) {
			stats_print(&st);
			FT_FAIL("the server still holds memory");
		}
		usleep(10000);
	}
	stats_print(&st);
	FT_RET(fmp_call(fd, FMP_CLOSE, NULL, 0, NULL, 0), 0);
	close(fd);
	return 0;
}

/* ---- hold ---------------------------------------------------------------- */

static int cmd_hold(int argc, char **argv)
{
	struct fab_backend *b;
	struct fab_completion c[16];
	int n = argc > 0 ? atoi(argv[0]) : 4, done = 0;
	char *buf = ft_area(FAB_CHUNK);
	fab_chunk_t ch;

	FT_RET(fab_ofi_ops.open(server.name, &b), 0);
	FT_RET(fab_ofi_ops.reg(b, buf, FAB_CHUNK), 0);
	for (int i = 0; i < n; i++) {
		ft_fill(buf, FAB_CHUNK, 1, (uint64_t)i);
		FT_RET(fab_ofi_ops.chunk_alloc(b, &ch), 0);
		FT_RET(fab_ofi_ops.write(b, ch, 0, buf, FAB_CHUNK, NULL), 0);
		for (done = 0; done == 0;) {
			done = fab_ofi_ops.poll(b, c, 16);
			FT_CHECK(done >= 0);
		}
		FT_CHECK(c[0].status == 0);
	}
	printf("holding %d\n", n);
	fflush(stdout);
	for (;;)
		pause();
}

/* ---- a raw libfabric client, for the attacker ---------------------------- */

struct raw {
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_av *av;
	struct fid_cq *cq;
	struct fid_ep *ep;
	struct fid_mr *mr;
	fi_addr_t peer;
	char *buf;
	size_t len;
	int fd;
	uint32_t flags;
	bool mr_local;
};

#define FI_OK(call)                                                            \
	do {                                                                   \
		int fi_r_ = (int)(call);                                       \
		if (fi_r_)                                                     \
			FT_FAIL("%s: %s", #call, fi_strerror(-fi_r_));         \
	} while (0)

static void raw_open(struct raw *r, size_t len)
{
	struct fmp_info_rep info;
	struct fmp_hello_req req;
	struct fmp_session_rep rep;
	struct fi_info *hints = fi_allocinfo();
	struct fi_cq_attr cqa = {.format = FI_CQ_FORMAT_CONTEXT, .size = 64};
	struct fi_av_attr ava = {.type = FI_AV_TABLE};
	char addr[FMP_ADDR_MAX];
	size_t alen = sizeof(addr);

	memset(r, 0, sizeof(*r));
	r->fd = ctl_open();
	FT_RET(fmp_call(r->fd, FMP_INFO, NULL, 0, &info, sizeof(info)), 0);
	r->flags = info.flags;
	hints->ep_attr->type = FI_EP_RDM;
	hints->caps = FI_RMA | FI_READ | FI_WRITE;
	hints->mode = FI_CONTEXT | FI_CONTEXT2;
	hints->addr_format = info.addr_format;
	hints->domain_attr->data_progress = FI_PROGRESS_MANUAL;
	hints->domain_attr->mr_mode =
	    FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY;
	hints->fabric_attr->prov_name = info.provider;
	FI_OK(fi_getinfo(FI_VERSION(1, 17), NULL, NULL, 0, hints, &r->info));
	hints->fabric_attr->prov_name = NULL;
	fi_freeinfo(hints);
	r->mr_local = r->info->domain_attr->mr_mode & FI_MR_LOCAL;
	FI_OK(fi_fabric(r->info->fabric_attr, &r->fabric, NULL));
	FI_OK(fi_domain(r->fabric, r->info, &r->domain, NULL));
	FI_OK(fi_av_open(r->domain, &ava, &r->av, NULL));
	FI_OK(fi_cq_open(r->domain, &cqa, &r->cq, NULL));
	FI_OK(fi_endpoint(r->domain, r->info, &r->ep, NULL));
	FI_OK(fi_ep_bind(r->ep, &r->av->fid, 0));
	FI_OK(fi_ep_bind(r->ep, &r->cq->fid, FI_TRANSMIT | FI_RECV));
	FI_OK(fi_enable(r->ep));
	FI_OK(fi_getname(&r->ep->fid, addr, &alen));
	r->len = len;
	r->buf = ft_area(len);
	FI_OK(fi_mr_reg(r->domain, r->buf, len, FI_READ | FI_WRITE, 0, 77, 0,
			&r->mr, NULL));
	hello_req(&req, addr, alen);
	FT_RET(fmp_call(r->fd, FMP_HELLO, &req, sizeof(req), &rep, sizeof(rep)),
	       0);
	FT_CHECK(fi_av_insert(r->av, rep.addr, 1, &r->peer, 0, NULL) == 1);
}

static void raw_close(struct raw *r)
{
	fmp_call(r->fd, FMP_CLOSE, NULL, 0, NULL, 0);
	close(r->fd);
	fi_close(&r->mr->fid);
	fi_close(&r->ep->fid);
	fi_close(&r->cq->fid);
	fi_close(&r->av->fid);
	fi_close(&r->domain->fid);
	fi_close(&r->fabric->fid);
	fi_freeinfo(r->info);
	munmap(r->buf, r->len);
}

/* raw_op - one read or write; its completion status (0 or -FI_E*). */
static int raw_op(struct raw *r, bool write, uint64_t raddr, uint64_t key,
		  size_t len)
{
	struct fi_context2 ctx;
	struct fi_cq_entry ent;
	void *desc = r->mr_local ? fi_mr_desc(r->mr) : NULL;
	time_t deadline = time(NULL) + 20;
	ssize_t ret;

	do {
		struct iovec iov = {r->buf, len};
		struct fi_rma_iov rma = {raddr, len, key};
		struct fi_msg_rma msg = {&iov, &desc, 1,    r->peer,
					 &rma, 1,     &ctx, 0};
		/* a write counts once it is in the server's memory */
		ret = write ? fi_writemsg(r->ep, &msg,
					  FI_COMPLETION | FI_DELIVERY_COMPLETE)
			    : fi_read(r->ep, r->buf, len, desc, r->peer, raddr,
				      key, &ctx);
		if (ret == -FI_EAGAIN)
			fi_cq_read(r->cq, &ent, 1);
	} while (ret == -FI_EAGAIN);
	if (ret)
		return (int)ret; /* refused before it left */
	for (;;) {
		ret = fi_cq_read(r->cq, &ent, 1);
		if (ret == 1)
			return 0;
		if (ret == -FI_EAVAIL) {
			struct fi_cq_err_entry err = {0};
			FT_CHECK(fi_cq_readerr(r->cq, &err, 0) == 1);
			return -err.err;
		}
		if (ret != -FI_EAGAIN)
			return (int)ret;
		if (time(NULL) > deadline)
			FT_FAIL("no completion for a forged operation: the "
				"server or the provider dropped it silently");
	}
}

static bool all_zero(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static int attacks, refused;

/* A fresh attacker: its own session, endpoint and chunk, and proof that
 * its connection to the server works. */
static void attacker_open(struct raw *a, struct fmp_chunk_rep *own)
{
	raw_open(a, 2 * FAB_CHUNK);
	FT_RET(fmp_call(a->fd, FMP_CHUNK_ALLOC, NULL, 0, own, sizeof(*own)), 0);
	ft_fill(a->buf, 4096, 5, 5);
	FT_RET(raw_op(a, true, own->raddr, own->key, 4096), 0);
	memset(a->buf, 0, 4096);
	FT_RET(raw_op(a, false, own->raddr, own->key, 4096), 0);
	FT_CHECK(!all_zero(a->buf, 4096));
}

/*
 * An access that must fail and must not bring anything back. Each one
 * from a fresh attacker: the tcp provider drops the connection of a peer
 * that sends a bad key, and a refusal on a dead connection proves
 * nothing. @raddr and @key are relative to the attacker's own chunk when
 * @rel is set. With virtual addresses (shm-like) the chunk below the
 * attacker's is the victim's (lowest slot first); with offsets (tcp) every
 * chunk starts at 0, the key alone names it, and "below" is out of range.
 */
enum { REL_ADDR = 1, REL_KEY = 2 };
static void must_fail(const char *what, bool write, int rel, int64_t raddr,
		      uint64_t key, size_t len)
{
	struct fmp_chunk_rep own;
	struct raw a;
	int ret;

	attacker_open(&a, &own);
	if (rel & REL_ADDR)
		raddr += (int64_t)own.raddr;
	if (rel & REL_KEY)
		key += own.key;
	memset(a.buf, 0, len);
	ret = raw_op(&a, write, (uint64_t)raddr, key, len);
	attacks++;
	if (ret == 0)
		FT_FAIL("%s: succeeded", what);
	if (!write && !all_zero(a.buf, len))
		FT_FAIL("%s: failed (%s) but data arrived", what,
			fi_strerror(-ret));
	refused++;
	if (getenv("FAB_TOOL_VERBOSE"))
		printf("%s: %s\n", what, fi_strerror(-ret));
	raw_close(&a);
}

static int cmd_isolate(void)
{
	struct fab_backend *v;
	struct fab_completion c[4];
	char *vbuf = ft_area(FAB_CHUNK), *want = ft_area(FAB_CHUNK);
	fab_chunk_t vc;
	uint64_t rnd = 12345;
	int n;

	/* the victim: one chunk of known data */
	FT_RET(fab_ofi_ops.open(server.name, &v), 0);
	FT_RET(fab_ofi_ops.reg(v, vbuf, FAB_CHUNK), 0);
	FT_RET(fab_ofi_ops.chunk_alloc(v, &vc), 0);
	ft_fill(want, FAB_CHUNK, 0xa11ce, 0);
	memcpy(vbuf, want, FAB_CHUNK);
	FT_RET(fab_ofi_ops.write(v, vc, 0, vbuf, FAB_CHUNK, NULL), 0);
	while ((n = fab_ofi_ops.poll(v, c, 4)) == 0)
		;
	FT_CHECK(n == 1 && c[0].status == 0);

	/* attackers: sessions of their own, each with its chunk's key */
	const int64_t C = (int64_t)FAB_CHUNK;
	must_fail("read the neighbour with our key", false, REL_ADDR | REL_KEY,
		  -C, 0, 4096);
	must_fail("read across the end of our chunk", false, REL_ADDR | REL_KEY,
		  C - 2048, 0, 4096);
	must_fail("read past the end of our chunk", false, REL_ADDR | REL_KEY,
		  C, 0, 4096);
	must_fail("read before our chunk", false, REL_ADDR | REL_KEY, -8, 0,
		  16);
	must_fail("read 2 chunks from ours", false, REL_ADDR | REL_KEY, 0, 0,
		  2 * FAB_CHUNK);
	must_fail("write the neighbour with our key", true, REL_ADDR | REL_KEY,
		  -C, 0, 4096);
	static const int64_t near[] = {1, -1, 2, -2, 256, -256};
	for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++)
		must_fail("read with a key next to ours", false,
			  REL_ADDR | REL_KEY, -C, (uint64_t)near[i], 4096);
	for (uint64_t k = 0; k < 3; k++)
		must_fail("read with a small key", false, REL_ADDR, -C, k,
			  4096);
	for (int i = 0; i < 16; i++)
		must_fail("read with a random key", false, REL_ADDR, -C,
			  ft_rand(&rnd), 4096);
	must_fail("write with a random key", true, REL_ADDR, -C, ft_rand(&rnd),
		  4096);

	struct raw a;
	raw_open(&a, 2 * FAB_CHUNK);
	/* control plane: the victim's chunk id (generation 1, slot 0) */
	struct fmp_chunk_req put = {((uint64_t)1 << 32) | 0};
	FT_RET(fmp_call(a.fd, FMP_CHUNK_PUT, &put, sizeof(put), NULL, 0),
	       ENOENT);
	int fd2 = ctl_open();
	struct fmp_fork_open_req fo = {.addr_len = 1};
	fmp_random(&fo.ticket, sizeof(fo.ticket));
	struct fmp_session_rep srep;
	FT_RET(
	    fmp_call(fd2, FMP_FORK_OPEN, &fo, sizeof(fo), &srep, sizeof(srep)),
	    EACCES);
	close(fd2);
	fd2 = ctl_open();
	struct fmp_hello_req bad;
	hello_req(&bad, "x", 1);
	bad.token[0] ^= 1;
	FT_RET(fmp_call(fd2, FMP_HELLO, &bad, sizeof(bad), &srep, sizeof(srep)),
	       EACCES);
	close(fd2);
	raw_close(&a);

	/* the victim's data is intact, and its session still works */
	memset(vbuf, 0, FAB_CHUNK);
	FT_RET(fab_ofi_ops.read(v, vc, 0, vbuf, FAB_CHUNK, NULL), 0);
	while ((n = fab_ofi_ops.poll(v, c, 4)) == 0)
		;
	FT_CHECK(n == 1 && c[0].status == 0);
	FT_CHECK(memcmp(vbuf, want, FAB_CHUNK) == 0);
	fab_ofi_ops.close(v);
	printf("isolation: %d forged accesses, %d refused, victim intact\n",
	       attacks, refused);
	return 0;
}

/* ---- fuzz ------------------------------------------------------------------ */

struct fuzzer {
	uint64_t rnd;
	unsigned replies, bad_replies, resets;
};

static uint64_t fz(struct fuzzer *f, uint64_t n)
{
	return n ? ft_rand(&f->rnd) % n : 0;
}

/* fz_valid - a well-formed request of a random type into @msg. */
static size_t fz_valid(struct fuzzer *f, uint8_t *msg)
{
	static const unsigned types[] = {
	    FMP_INFO,	     FMP_HELLO,	       FMP_CHUNK_ALLOC,
	    FMP_CHUNK_PUT,   FMP_FORK_PREPARE, FMP_FORK_OPEN,
	    FMP_FORK_CANCEL, FMP_CLOSE,	       FMP_STATS};
	unsigned type = types[fz(f, 9)];
	struct fmp_hdr h = {FMP_MAGIC, FMP_VERSION, (uint16_t)type,
			    (uint32_t)fmp_req_len(type), 0};
	uint8_t *p = msg + sizeof(h);

	memcpy(msg, &h, sizeof(h));
	for (uint32_t i = 0; i < h.len; i++)
		p[i] = (uint8_t)fz(f, 256);
	if (type == FMP_HELLO) {
		struct fmp_hello_req req;
		hello_req(&req, "fuzz", 4);
		if (fz(f, 4) == 0)
			req.token[fz(f, req.token_len)] ^= 1;
		if (fz(f, 8) == 0)
			req.token_len = (uint32_t)ft_rand(&f->rnd);
		if (fz(f, 8) == 0)
			req.addr_len = (uint32_t)ft_rand(&f->rnd);
		memcpy(p, &req, sizeof(req));
	} else if (type == FMP_CHUNK_PUT) {
		struct fmp_chunk_req req = {fz(f, 2) ? ft_rand(&f->rnd)
						     : ((uint64_t)1 << 32) |
							   fz(f, 40)};
		memcpy(p, &req, sizeof(req));
	}
	return sizeof(h) + h.len;
}

/* fz_message - one message: valid, mutated, or garbage. */
static size_t fz_message(struct fuzzer *f, uint8_t *msg, size_t cap)
{
	size_t len;

	switch (fz(f, 6)) {
	case 0: /* garbage */
		len = 1 + fz(f, 600);
		for (size_t i = 0; i < len; i++)
			msg[i] = (uint8_t)fz(f, 256);
		return len;
	case 1: { /* a header of any type, any length */
		struct fmp_hdr h = {
		    FMP_MAGIC, FMP_VERSION, (uint16_t)fz(f, 0x10000),
		    (uint32_t)(fz(f, 2) ? fz(f, 1200) : ft_rand(&f->rnd)), 0};
		if (fz(f, 2))
			h.type = (uint16_t)(1 + fz(f, 10));
		memcpy(msg, &h, sizeof(h));
		len = sizeof(h) + (h.len < 600 ? h.len : fz(f, 600));
		for (size_t i = sizeof(h); i < len; i++)
			msg[i] = (uint8_t)fz(f, 256);
		return len;
	}
	case 2: /* valid, then bit flips */
		len = fz_valid(f, msg);
		for (uint64_t k = 1 + fz(f, 3); k > 0; k--)
			msg[fz(f, len)] ^= (uint8_t)(1u << fz(f, 8));
		return len;
	case 3: /* valid, truncated */
		len = fz_valid(f, msg);
		return len > 1 ? 1 + fz(f, len - 1) : len;
	case 4: /* valid, with a wrong length field or status */
		len = fz_valid(f, msg);
		if (fz(f, 2)) {
			uint32_t l = (uint32_t)ft_rand(&f->rnd);
			memcpy(msg + 8, &l, 4);
		} else {
			int32_t st = (int32_t)ft_rand(&f->rnd);
			memcpy(msg + 12, &st, 4);
		}
		return len;
	default:
		len = fz_valid(f, msg);
		FT_CHECK(len <= cap);
		return len;
	}
}

/* Reads whatever the server answers until it closes; every reply must be
 * a well-formed header. */
static void fz_drain(struct fuzzer *f, int fd)
{
	uint8_t buf[8192];
	size_t have = 0;

	for (;;) {
		ssize_t n = recv(fd, buf + have, sizeof(buf) - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			FT_FAIL("the server neither answered nor closed");
		if (n < 0) {
			f->resets++; /* reset after a refusal: fine */
			break;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		while (have >= sizeof(struct fmp_hdr)) {
			struct fmp_hdr h;
			memcpy(&h, buf, sizeof(h));
			if (h.magic != FMP_MAGIC || h.version != FMP_VERSION ||
			    !(h.type & FMP_REPLY) || h.len > FMP_PAYLOAD_MAX ||
			    (h.status != 0 && h.len != 0))
				FT_FAIL("malformed reply from the server");
			if (have < sizeof(h) + h.len)
				break;
			f->replies++;
			f->bad_replies += h.status != 0;
			memmove(buf, buf + sizeof(h) + h.len,
				have - sizeof(h) - h.len);
			have -= sizeof(h) + h.len;
		}
		if (have == sizeof(buf))
			FT_FAIL("the server sent too much");
	}
}

static int cmd_fuzz(int argc, char **argv)
{
	struct fuzzer f = {0};
	unsigned long count;
	uint8_t msg[4096];

	if (argc < 2)
		FT_FAIL("fuzz SEED COUNT");
	f.rnd = strtoull(argv[0], NULL, 0) | 1;
	count = strtoul(argv[1], NULL, 0);
	for (unsigned long i = 0; i < count; i++) {
		int fd = ctl_open();
		/* half the connections get past HELLO first */
		if (fz(&f, 2)) {
			struct fmp_hello_req req;
			struct fmp_hdr h = {FMP_MAGIC, FMP_VERSION, FMP_HELLO,
					    sizeof(req), 0};
			hello_req(&req, "fuzz", 4);
			memcpy(msg, &h, sizeof(h));
			memcpy(msg + sizeof(h), &req, sizeof(req));
			FT_RET(fmp_write_all(fd, msg, sizeof(h) + sizeof(req)),
			       0);
		}
		for (uint64_t k = 1 + fz(&f, 4); k > 0; k--) {
			size_t len = fz_message(&f, msg, sizeof(msg));
			if (fmp_write_all(fd, msg, len))
				break; /* already closed on us */
		}
		shutdown(fd, SHUT_WR);
		fz_drain(&f, fd);
		close(fd);
	}
	printf("fuzz: %lu connections, %u replies (%u errors), %u resets\n",
	       count, f.replies, f.bad_replies, f.resets);
	return 0;
}

int main(int argc, char **argv)
{
	int ret;

	if (argc < 3) {
		fprintf(stderr, "usage: fab_tool stats|hold|isolate|fuzz "
				"HOST:PORT [ARGS]\n");
		return 2;
	}
	token = getenv("FARMEM_TOKEN");
	if (token == NULL)
		FT_FAIL("FARMEM_TOKEN is not set");
	ret = fmp_parse_endpoint(argv[2], &server);
	if (ret)
		FT_FAIL("bad server %s", argv[2]);
	signal(SIGPIPE, SIG_IGN);
	alarm(600);
	if (!strcmp(argv[1], "stats"))
		return cmd_stats(argc - 3, argv + 3);
	if (!strcmp(argv[1], "hold"))
		return cmd_hold(argc - 3, argv + 3);
	if (!strcmp(argv[1], "isolate"))
		return cmd_isolate();
	if (!strcmp(argv[1], "fuzz"))
		return cmd_fuzz(argc - 3, argv + 3);
	FT_FAIL("unknown command %s", argv[1]);
}
