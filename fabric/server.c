/* SPDX-License-Identifier: MIT */
/*
 * farmem-server: the memory server. Owns the pool, the control channel,
 * the per-chunk registrations and the fabric progress loop.
 *
 * ---- text for man/farmem-server.8.md (owned by the man page author) ----
 *
 * NAME
 *   farmem-server - serve far memory to farmem clients over libfabric
 *
 * SYNOPSIS
 *   farmem-server [--listen HOST:PORT] [--size SIZE] [--provider NAME]
 *                 [--token-file FILE] [--max-clients N] [--spin-us N]
 *                 [--ticket-timeout SEC] [--verbose] [--quiet]
 *
 * DESCRIPTION
 *   farmem-server reserves a pool of SIZE bytes (address space only; memory
 *   is used as clients write to it) and hands it out in chunks of 2 MiB to
 *   programs run under farmem-run. Data moves by one-sided RMA (fi_read,
 *   fi_write) that the client posts; the server takes no part except to
 *   progress the transfer (libfabric manual progress). A small control
 *   protocol on a TCP stream (fabric/proto.h) opens sessions, allocates and
 *   frees chunks and hands sessions to forked children. When a client's
 *   control connection closes - it exited, crashed or was killed - every
 *   chunk it held is freed and the memory given back to the system.
 *
 *   On start it prints one line on standard output and flushes it:
 *     farmem-server: ready on HOST:PORT provider P pool SIZE
 *   A supervisor waits for that line. With --listen HOST:0 the kernel picks
 *   the port and the line names it.
 *
 * OPTIONS
 *   --listen HOST:PORT  control address (default 127.0.0.1:7070). The
 *                       fabric endpoint binds to HOST on a second port the
 *                       kernel picks (printed with --verbose): a firewall
 *                       must let clients reach both.
 *   --size SIZE         pool size, K/M/G suffixes (default 1G); rounded down
 *                       to whole 2 MiB chunks.
 *   --provider NAME     libfabric provider: tcp (default, tcp;ofi_rxm), shm
 *                       (same host only), or any name fi_info lists.
 *   --token-file FILE   read the shared secret from the first line of FILE.
 *   --max-clients N     control connections served at once (default 1024).
 *   --spin-us N         keep polling the fabric this long after the last
 *                       activity before sleeping (default 1000).
 *   --ticket-timeout S  a fork ticket not opened within S seconds is
 *                       dropped with its references (default 15; a child
 *                       opens its session as soon as it starts).
 *   -v, --verbose       log every session opened and closed.
 *   -q, --quiet         no notices (shm's lack of isolation, polling),
 *                       errors only; farmem-run starts its server so.
 *
 * ENVIRONMENT
 *   FARMEM_TOKEN        the shared secret clients must present, unless
 *                       --token-file is given. One of the two is required.
 *   FI_MR_CACHE_MONITOR set to "disabled" by the server for itself.
 *   FI_TCP_NODELAY      1 unless set (read replies must not wait for Nagle).
 *   FI_OFI_RXM_BUFFER_SIZE  1024 unless set: the server receives no
 *                       messages, and ofi_rxm's default 16 KiB bounce
 *                       buffers would keep ~60 MiB resident.
 *   Any other FI_* variable of libfabric applies (fi_info -e).
 *
 * SIGNALS
 *   SIGTERM, SIGINT     close every session and exit 0.
 *   SIGUSR1             write statistics and the session list to stderr.
 *   SIGUSR2             exit 0 as soon as no client session (and no fork
 *                       ticket) is left: now if none is. farmem-run sends
 *                       it to the server it started once its program has
 *                       ended, so that daemons the program left behind
 *                       keep their memory until they exit.
 *
 * SECURITY
 *   Every client must present the token. Every chunk is registered on its
 *   own with a random 64-bit key that only the session holding the chunk
 *   learns; with the tcp provider, an access with any other key, or past
 *   the end of the chunk, is refused by the provider. If a provider only
 *   supports keys it chooses itself (FI_MR_PROV_KEY), the server logs a
 *   warning: such keys may be guessable. The shm provider copies memory
 *   through the kernel (cross-memory attach) without checking keys: it
 *   trusts every process of the same user and gives no isolation between
 *   them. A connection that has not sent HELLO (or a fork ticket) within
 *   10 s is closed. Malformed control messages get an error reply and close
 *   that connection only. Neither the token nor the data is encrypted: run the
 *   server on a network you trust (or in a namespace of its own), and
 *   keep the token file readable by its users only.
 *
 * EXIT STATUS
 *   0 after SIGTERM/SIGINT, 1 on a start-up error (the message says what to
 *   do), 2 on a usage error, 3 when stuck for 10 s inside libfabric (with
 *   shm: a client killed while holding a lock in shared memory).
 * -------------------------------------------------------------------------
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
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
#include "preload/pre.h"

#define SRV_FI_VERSION	    FI_VERSION(1, 17)
#define SRV_GEN_MASK	    0xffffffu
#define SRV_AUTH_TIMEOUT_MS 10000 /* to send HELLO or FORK_OPEN */
#define SRV_DRAIN_MS	    1000  /* after an error reply, before close */
/* a fork loop whose children exit at once leaves a ticket per fork until
 * it expires (--ticket-timeout): room for many */
#define SRV_TICKETS_PER_SESSION 4096
/* how often dead shm clients' files are looked for */
#define SRV_SHM_SWEEP_MS       5000
#define SRV_TICKETS_PER_CLIENT 16
#define SRV_OUT_MAX	       4096

/* ---- options and logging --------------------------------------------- */

static struct {
	const char *listen;
	size_t size;
	const char *provider;
	const char *token_file;
	unsigned max_clients;
	unsigned spin_us;
	unsigned ticket_timeout;
	bool verbose;
	bool quiet; /* errors only */
} opt = {"127.0.0.1:7070",
	 (size_t)1 << 30,
	 "tcp",
	 NULL,
	 1024,
	 1000,
	 15,
	 false,
	 false};

static void srv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void srv_log(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "farmem-server: ");
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(buf);
	buf[n++] = '\n';
	if (write(2, buf, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Protocol errors come from the network: at most 20 lines a second. */
static void srv_log_rl(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void srv_log_rl(const char *fmt, ...)
{
	static uint64_t window;
	static unsigned count, suppressed;
	uint64_t now = now_ms() / 1000;
	char buf[400];
	va_list ap;

	if (now != window) {
		if (suppressed)
			srv_log("%u protocol messages suppressed", suppressed);
		window = now;
		count = suppressed = 0;
	}
	if (++count > 20) {
		suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	srv_log("%s", buf);
}

/* ---- state ------------------------------------------------------------ */

struct slot {
	uint32_t refs; /* sessions and tickets holding it; 0 = free */
	uint32_t gen;  /* bumped on free: stale ids do not match */
	uint64_t key;
	struct fid_mr *mr;
};

struct conn;

/* A session, or a fork ticket (conn == NULL) not yet opened. */
struct session {
	uint64_t id;
	uint8_t secret[FMP_SECRET];
	uint64_t *bits; /* one bit per slot it references */
	size_t nchunks;
	struct conn *conn;
	uint64_t creator; /* tickets: the session that prepared it */
	uint64_t expires; /* tickets: now_ms() deadline */
	char peer[64];
	char shm[FMP_SHM_NAME_MAX]; /* the client's shm file, or "" */
	struct session *prev, *next;
};

struct conn {
	int fd;
	struct session *sess;
	bool draining; /* error sent: discard input until EOF or deadline */
	bool closing;  /* CLOSE answered: close once the reply is out */
	uint64_t deadline;
	uint32_t inlen, outlen;
	uint8_t in[sizeof(struct fmp_hdr) + FMP_PAYLOAD_MAX];
	uint8_t out[SRV_OUT_MAX];
	char peer[64];
	struct conn *prev, *next;
};

static struct {
	/* pool */
	char *base;
	size_t nslots;
	size_t used;
	size_t low;  /* no free slot below this one */
	size_t high; /* no slot at or above this one was ever used */
	struct slot *slots;
	size_t bitwords;
	/* fabric */
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_av *av;
	struct fid_cq *cq;
	struct fid_cntr *cntr; /* remote RMA events, where supported */
	struct fid_ep *ep;
	int cq_fd; /* FI_WAIT_FD of the CQ, or -1 */
	bool virt_addr, prov_key, mr_endpoint;
	uint8_t addr[FMP_ADDR_MAX];
	size_t addr_len;
	/* control */
	int lfd, sfd, epfd;
	char listen_name[96];
	uint8_t token[FMP_TOKEN_MAX];
	size_t token_len;
	struct session *sessions, *tickets;
	size_t nsessions, ntickets;
	struct conn *conns;
	size_t nconns;
	uint64_t proto_errors, refused;
	bool stop;
	bool drain;	     /* SIGUSR2: stop once idle */
	uint64_t next_sweep; /* shm_sweep, in now_ms() time */
} S = {.cq_fd = -1, .lfd = -1, .sfd = -1, .epfd = -1};

/* epoll tags for the descriptors that are not connections */
static char tag_listen, tag_signal, tag_cq;

/* ---- the pool and its registrations ------------------------------------ */

static int pool_init(void)
{
	size_t len;
	void *p;

	S.nslots = opt.size / FAB_CHUNK;
	if (S.nslots == 0 || S.nslots > UINT32_MAX) {
		srv_log("--size must be at least 2 MiB and below 8 PiB");
		return -EINVAL;
	}
	len = S.nslots * FAB_CHUNK;
	/* over-reserve to align the pool on a chunk */
	p = mmap(NULL, len + FAB_CHUNK, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		srv_log(
		    "cannot reserve a pool of %zu bytes: %s; pick a smaller "
		    "--size",
		    len, strerror(errno));
		return -errno;
	}
	S.base = (char *)(((uintptr_t)p + FAB_CHUNK - 1) & ~(FAB_CHUNK - 1));
	S.slots = calloc(S.nslots, sizeof(*S.slots));
	S.bitwords = (S.nslots + 63) / 64;
	if (S.slots == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < S.nslots; i++)
		S.slots[i].gen = 1;
	return 0;
}

static char *slot_addr(size_t i)
{
	return S.base + i * FAB_CHUNK;
}

static uint64_t slot_id(size_t i)
{
	return ((uint64_t)S.slots[i].gen << 32) | i;
}

/* slot_register - a fresh registration of slot @i with a random key. */
static int slot_register(size_t i)
{
	struct slot *s = &S.slots[i];
	int ret = 0;

	for (int tries = 0; tries < 8; tries++) {
		uint64_t key = 0;
		if (!S.prov_key && fmp_random(&key, sizeof(key)))
			return -EIO;
		ret = fi_mr_reg(S.domain, slot_addr(i), FAB_CHUNK,
				FI_REMOTE_READ | FI_REMOTE_WRITE, 0, key, 0,
				&s->mr, NULL);
		if (ret == -FI_ENOKEY)
			continue; /* collision with a live key: draw again */
		if (ret)
			break;
		if (S.mr_endpoint) {
			ret = fi_mr_bind(s->mr, &S.ep->fid, 0);
			if (!ret)
				ret = fi_mr_enable(s->mr);
			if (ret) {
				fi_close(&s->mr->fid);
				break;
			}
		}
		s->key = fi_mr_key(s->mr);
		return 0;
	}
	srv_log("fi_mr_reg: %s", fi_strerror(-ret));
	s->mr = NULL;
	return ret ? ret : -EIO;
}

/* slot_unref - drops one reference; the last one frees the chunk: the
 * registration goes (its key dies with it) and the memory returns to the
 * system. */
static void slot_unref(size_t i)
{
	struct slot *s = &S.slots[i];

	FM_BUG_ON(s->refs == 0);
	if (--s->refs)
		return;
	if (s->mr)
		fi_close(&s->mr->fid);
	s->mr = NULL;
	s->key = 0;
	s->gen = (s->gen + 1) & SRV_GEN_MASK;
	if (s->gen == 0)
		s->gen = 1;
	madvise(slot_addr(i), FAB_CHUNK, MADV_DONTNEED);
	S.used--;
	if (i < S.low)
		S.low = i;
}

static bool bit_test(const uint64_t *b, size_t i)
{
	return b[i / 64] >> (i % 64) & 1;
}

static void bit_set(uint64_t *b, size_t i)
{
	b[i / 64] |= (uint64_t)1 << (i % 64);
}

static void bit_clear(uint64_t *b, size_t i)
{
	b[i / 64] &= ~((uint64_t)1 << (i % 64));
}

/* ---- sessions ---------------------------------------------------------- */

static void list_add(struct session **head, struct session *s)
{
	s->prev = NULL;
	s->next = *head;
	if (*head)
		(*head)->prev = s;
	*head = s;
}

static void list_del(struct session **head, struct session *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next)
		s->next->prev = s->prev;
}

static struct session *session_find(struct session *head, uint64_t id)
{
	for (struct session *s = head; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

static struct session *session_new(void)
{
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->bits = calloc(S.bitwords, sizeof(uint64_t));
	if (s->bits == NULL || fmp_random(s->secret, sizeof(s->secret))) {
		free(s->bits);
		free(s);
		return NULL;
	}
	do {
		if (fmp_random(&s->id, sizeof(s->id)))
			s->id = 0;
	} while (s->id == 0 || session_find(S.sessions, s->id) ||
		 session_find(S.tickets, s->id));
	return s;
}

/* session_free - drops every reference of @s (unlinked already). */
static void session_free(struct session *s)
{
	for (size_t w = 0; w < S.bitwords; w++) {
		uint64_t word = s->bits[w];
		while (word) {
			unsigned b = (unsigned)__builtin_ctzll(word);
			word &= word - 1;
			slot_unref(w * 64 + b);
		}
	}
	free(s->bits);
	free(s);
}

/*
 * shm_forget_peer - lets libfabric's shm forget the client named @name.
 * It keeps every client that ever sent to us in a table of 256 peers
 * (SMR_MAX_PEERS) and never lets one go by itself: the 257th client's
 * transfers were refused for ever (-FI_EAGAIN in its write: a hang).
 * Inserting the name into our address vector finds the client's entry
 * (or makes one), and removing the address frees it.
 */
static void shm_forget_peer(const char *name)
{
	fi_addr_t a = FI_ADDR_NOTAVAIL;

	if (fi_av_insert(S.av, name, 1, &a, 0, NULL) == 1 &&
	    a != FI_ADDR_NOTAVAIL)
		fi_av_remove(S.av, &a, 1, 0);
}

static void session_end(struct session *s, const char *why)
{
	if (opt.verbose)
		srv_log("session %016" PRIx64 " (%s) %s: %zu chunks released",
			s->id, s->peer, why, s->nchunks);
	if (s->shm[0]) {
		shm_forget_peer(s->shm);
		/* a client that died left its endpoint's file */
		shm_unlink(s->shm);
	}
	list_del(&S.sessions, s);
	S.nsessions--;
	session_free(s);
}

static void ticket_drop(struct session *t, const char *why)
{
	if (opt.verbose)
		srv_log("ticket %016" PRIx64 " %s: %zu chunks released", t->id,
			why, t->nchunks);
	list_del(&S.tickets, t);
	S.ntickets--;
	session_free(t);
}

/* ---- connections ------------------------------------------------------- */

static void conn_close(struct conn *c, const char *why)
{
	if (c->sess) {
		c->sess->conn = NULL;
		session_end(c->sess, why);
		c->sess = NULL;
	}
	epoll_ctl(S.epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		S.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	S.nconns--;
	free(c);
}

static void conn_want_out(struct conn *c, bool on)
{
	struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0),
				 .data.ptr = c};
	epoll_ctl(S.epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* conn_flush - sends what is buffered. Returns 0 or -errno (drop it). */
static int conn_flush(struct conn *c)
{
	while (c->outlen) {
		ssize_t n =
		    send(c->fd, c->out, c->outlen, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				conn_want_out(c, true);
				return 0;
			}
			return -errno;
		}
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (uint32_t)n;
	}
	conn_want_out(c, false);
	return 0;
}

/* conn_reply - queues a reply. Returns 0 or -ENOBUFS when the client does
 * not read its replies. */
static int conn_reply(struct conn *c, unsigned type, int status,
		      const void *payload, size_t len)
{
	struct fmp_hdr h = {FMP_MAGIC, FMP_VERSION,
			    (uint16_t)(type | FMP_REPLY),
			    status ? 0 : (uint32_t)len, status};

	if (status)
		len = 0;
	if (c->outlen + sizeof(h) + len > sizeof(c->out))
		return -ENOBUFS;
	memcpy(c->out + c->outlen, &h, sizeof(h));
	if (len)
		memcpy(c->out + c->outlen + sizeof(h), payload, len);
	c->outlen += (uint32_t)(sizeof(h) + len);
	return 0;
}

/* conn_fail - a protocol error: reply, drop the session now, then drain
 * the connection so the reply is not lost to a reset, and close it. */
static void conn_fail(struct conn *c, unsigned type, int err, const char *what)
{
	S.proto_errors++;
	srv_log_rl("%s: %s; closing that connection", c->peer, what);
	conn_reply(c, type, err, NULL, 0);
	if (c->sess) {
		c->sess->conn = NULL;
		session_end(c->sess, "protocol error");
		c->sess = NULL;
	}
	conn_flush(c);
	shutdown(c->fd, SHUT_WR);
	c->draining = true;
	c->deadline = now_ms() + SRV_DRAIN_MS;
}

/* The endpoint name a client on @c should insert: for IP formats, the
 * fabric port with the IP the client reached us on (we may be bound to a
 * wildcard address). */
static size_t conn_server_addr(struct conn *c, uint8_t *out)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	memcpy(out, S.addr, S.addr_len);
	if (getsockname(c->fd, (struct sockaddr *)&local, &len))
		return S.addr_len;
	if (S.info->addr_format == FI_SOCKADDR_IN &&
	    local.ss_family == AF_INET) {
		struct sockaddr_in *a = (void *)out;
		if (a->sin_addr.s_addr == htonl(INADDR_ANY))
			a->sin_addr = ((struct sockaddr_in *)&local)->sin_addr;
	} else if (S.info->addr_format == FI_SOCKADDR_IN6 &&
		   local.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (void *)out;
		if (!memcmp(&a->sin6_addr, &in6addr_any, sizeof(in6addr_any)))
			a->sin6_addr =
			    ((struct sockaddr_in6 *)&local)->sin6_addr;
	}
	return S.addr_len;
}

static bool secret_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	uint8_t d = 0;

	for (size_t i = 0; i < len; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

static void session_reply(struct conn *c, unsigned type)
{
	struct fmp_session_rep rep = {.session = c->sess->id};

	rep.addr_len = (uint32_t)conn_server_addr(c, rep.addr);
	if (conn_reply(c, type, 0, &rep, sizeof(rep)))
		conn_fail(c, FMP_ERROR, ENOBUFS, "does not read its replies");
}

/* With shm, remembers the client's endpoint file, to remove at the end. */
static void session_note_shm(struct session *s, const uint8_t *addr, size_t len)
{
	s->shm[0] = '\0';
	if (strcmp(S.info->fabric_attr->prov_name, "shm") == 0 &&
	    fmp_shm_is_client_name(addr, len))
		snprintf(s->shm, sizeof(s->shm), "%s", (const char *)addr);
}

static void do_hello(struct conn *c, const struct fmp_hello_req *req)
{
	struct session *s;

	if (req->token_len > FMP_TOKEN_MAX || req->addr_len > FMP_ADDR_MAX) {
		conn_fail(c, FMP_HELLO, EBADMSG, "HELLO with bad lengths");
		return;
	}
	/* constant time over the whole field, whatever the lengths */
	if (!(secret_equal(req->token, S.token, FMP_TOKEN_MAX) &
	      (req->token_len == S.token_len))) {
		S.refused++;
		S.proto_errors--; /* counted as refused, not as garbage */
		conn_fail(c, FMP_HELLO, EACCES, "refused: wrong token");
		return;
	}
	s = session_new();
	if (s == NULL) {
		conn_fail(c, FMP_HELLO, ENOMEM, "out of memory for a session");
		return;
	}
	snprintf(s->peer, sizeof(s->peer), "%s", c->peer);
	session_note_shm(s, req->addr, req->addr_len);
	s->conn = c;
	c->sess = s;
	list_add(&S.sessions, s);
	S.nsessions++;
	if (opt.verbose)
		srv_log("session %016" PRIx64 " opened by %s", s->id, c->peer);
	session_reply(c, FMP_HELLO);
}

static void do_fork_open(struct conn *c, const struct fmp_fork_open_req *req)
{
	struct session *t = session_find(S.tickets, req->ticket.session);

	if (req->addr_len > FMP_ADDR_MAX) {
		conn_fail(c, FMP_FORK_OPEN, EBADMSG,
			  "FORK_OPEN with bad length");
		return;
	}
	if (t == NULL ||
	    !secret_equal(t->secret, req->ticket.secret, FMP_SECRET)) {
		S.refused++;
		S.proto_errors--;
		conn_fail(c, FMP_FORK_OPEN, EACCES,
			  "refused: no such fork ticket");
		return;
	}
	list_del(&S.tickets, t);
	S.ntickets--;
	snprintf(t->peer, sizeof(t->peer), "%s", c->peer);
	session_note_shm(t, req->addr, req->addr_len);
	t->conn = c;
	c->sess = t;
	list_add(&S.sessions, t);
	S.nsessions++;
	if (opt.verbose)
		srv_log("session %016" PRIx64 " opened from a ticket by %s "
			"(%zu chunks)",
			t->id, c->peer, t->nchunks);
	session_reply(c, FMP_FORK_OPEN);
}

static int do_chunk_alloc(struct conn *c, struct fmp_chunk_rep *rep)
{
	size_t i;
	int ret;

	if (S.used == S.nslots)
		return ENOSPC;
	for (i = S.low; i < S.nslots; i++)
		if (S.slots[i].refs == 0)
			break;
	FM_BUG_ON(i == S.nslots);
	S.low = i + 1;
	if (i >= S.high)
		S.high = i + 1;
	ret = slot_register(i);
	if (ret)
		return ret == -FI_ENOMEM ? ENOMEM : EIO;
	S.slots[i].refs = 1;
	S.used++;
	bit_set(c->sess->bits, i);
	c->sess->nchunks++;
	rep->chunk = slot_id(i);
	rep->raddr = S.virt_addr ? (uint64_t)(uintptr_t)slot_addr(i) : 0;
	rep->key = S.slots[i].key;
	return 0;
}

static int do_chunk_put(struct conn *c, const struct fmp_chunk_req *req)
{
	uint64_t slot = req->chunk & 0xffffffffu;
	struct session *s = c->sess;

	if (slot >= S.nslots || S.slots[slot].gen != req->chunk >> 32 ||
	    !bit_test(s->bits, slot))
		return ENOENT;
	bit_clear(s->bits, slot);
	s->nchunks--;
	slot_unref(slot);
	return 0;
}

static int do_fork_prepare(struct conn *c, struct fmp_ticket *rep)
{
	struct session *s = c->sess, *t;
	unsigned mine = 0;

	for (t = S.tickets; t; t = t->next)
		mine += t->creator == s->id;
	if (mine >= SRV_TICKETS_PER_SESSION ||
	    S.ntickets >= (size_t)opt.max_clients * SRV_TICKETS_PER_CLIENT)
		return EBUSY;
	t = session_new();
	if (t == NULL)
		return ENOMEM;
	memcpy(t->bits, s->bits, S.bitwords * sizeof(uint64_t));
	t->nchunks = s->nchunks;
	for (size_t w = 0; w < S.bitwords; w++) {
		uint64_t word = t->bits[w];
		while (word) {
			unsigned b = (unsigned)__builtin_ctzll(word);
			word &= word - 1;
			S.slots[w * 64 + b].refs++;
		}
	}
	t->creator = s->id;
	t->expires = now_ms() + (uint64_t)opt.ticket_timeout * 1000;
	snprintf(t->peer, sizeof(t->peer), "ticket of %016" PRIx64, s->id);
	list_add(&S.tickets, t);
	S.ntickets++;
	rep->session = t->id;
	memcpy(rep->secret, t->secret, FMP_SECRET);
	return 0;
}

static int do_fork_cancel(struct conn *c, const struct fmp_ticket *req)
{
	struct session *t = session_find(S.tickets, req->session);

	if (t == NULL || t->creator != c->sess->id ||
	    !secret_equal(t->secret, req->secret, FMP_SECRET))
		return ENOENT;
	ticket_drop(t, "cancelled");
	return 0;
}

static uint64_t pool_resident(void)
{
	unsigned char vec[FAB_CHUNK / 4096];
	uint64_t pages = 0;

	for (size_t i = 0; i < S.high; i++) {
		if (mincore(slot_addr(i), FAB_CHUNK, vec))
			continue;
		for (size_t p = 0; p < sizeof(vec); p++)
			pages += vec[p] & 1;
	}
	return pages * 4096;
}

static uint64_t self_rss(void)
{
	unsigned long size = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void stats_fill(struct fmp_stats_rep *st)
{
	*st = (struct fmp_stats_rep){
	    .pool_bytes = S.nslots * FAB_CHUNK,
	    .chunk_bytes = FAB_CHUNK,
	    .chunks_total = S.nslots,
	    .chunks_used = S.used,
	    .sessions = S.nsessions,
	    .tickets = S.ntickets,
	    .conns = S.nconns,
	    .pool_resident = pool_resident(),
	    .rss = self_rss(),
	    .proto_errors = S.proto_errors,
	    .refused = S.refused,
	};
}

static void do_info(struct fmp_info_rep *rep, struct conn *c)
{
	memset(rep, 0, sizeof(*rep));
	rep->pool_bytes = S.nslots * FAB_CHUNK;
	rep->chunk_bytes = FAB_CHUNK;
	rep->flags = (S.virt_addr ? FMP_F_VIRT_ADDR : 0) |
		     (S.prov_key ? FMP_F_PROV_KEY : 0);
	rep->addr_format = S.info->addr_format;
	snprintf(rep->provider, sizeof(rep->provider), "%s",
		 S.info->fabric_attr->prov_name);
	rep->addr_len = (uint32_t)conn_server_addr(c, rep->addr);
}

/* conn_handle - one whole message sits in c->in. */
static void conn_handle(struct conn *c)
{
	struct fmp_hdr h;
	const void *p = c->in + sizeof(h);
	union {
		struct fmp_info_rep info;
		struct fmp_chunk_rep chunk;
		struct fmp_ticket ticket;
		struct fmp_stats_rep stats;
	} rep;
	size_t rlen = 0;
	int err = 0;
	char what[80];

	memcpy(&h, c->in, sizeof(h));
	if (c->sess == NULL && h.type != FMP_INFO && h.type != FMP_HELLO &&
	    h.type != FMP_FORK_OPEN) {
		snprintf(what, sizeof(what), "%s before HELLO",
			 fmp_type_name(h.type));
		conn_fail(c, h.type, EACCES, what);
		return;
	}
	if (c->sess != NULL &&
	    (h.type == FMP_HELLO || h.type == FMP_FORK_OPEN)) {
		snprintf(what, sizeof(what), "%s in an open session",
			 fmp_type_name(h.type));
		conn_fail(c, h.type, EBADMSG, what);
		return;
	}
	switch (h.type) {
	case FMP_INFO:
		do_info(&rep.info, c);
		rlen = sizeof(rep.info);
		break;
	case FMP_HELLO: {
		struct fmp_hello_req req;
		memcpy(&req, p, sizeof(req));
		do_hello(c, &req);
		return;
	}
	case FMP_FORK_OPEN: {
		struct fmp_fork_open_req req;
		memcpy(&req, p, sizeof(req));
		do_fork_open(c, &req);
		return;
	}
	case FMP_CHUNK_ALLOC:
		err = do_chunk_alloc(c, &rep.chunk);
		rlen = sizeof(rep.chunk);
		break;
	case FMP_CHUNK_PUT: {
		struct fmp_chunk_req req;
		memcpy(&req, p, sizeof(req));
		err = do_chunk_put(c, &req);
		break;
	}
	case FMP_FORK_PREPARE:
		err = do_fork_prepare(c, &rep.ticket);
		rlen = sizeof(rep.ticket);
		break;
	case FMP_FORK_CANCEL: {
		struct fmp_ticket req;
		memcpy(&req, p, sizeof(req));
		err = do_fork_cancel(c, &req);
		break;
	}
	case FMP_STATS:
		stats_fill(&rep.stats);
		rlen = sizeof(rep.stats);
		break;
	case FMP_CLOSE:
		c->sess->conn = NULL;
		session_end(c->sess, "closed");
		c->sess = NULL;
		c->closing = true;
		break;
	default:
		FM_BUG_ON(1); /* conn_read checked the type */
	}
	if (conn_reply(c, h.type, err, &rep, rlen))
		conn_fail(c, FMP_ERROR, ENOBUFS, "does not read its replies");
}

/* conn_check_hdr - validates a header as soon as it is complete, so that
 * garbage is refused without waiting for a payload that never comes. */
static bool conn_check_hdr(struct conn *c, const struct fmp_hdr *h)
{
	char what[96];
	int len;

	if (h->magic != FMP_MAGIC) {
		conn_fail(c, FMP_ERROR, EPROTO,
			  "bad magic (not a farmem client?)");
		return false;
	}
	if (h->version != FMP_VERSION) {
		snprintf(what, sizeof(what), "protocol version %u, expected %u",
			 h->version, (unsigned)FMP_VERSION);
		conn_fail(c, FMP_ERROR, EPROTONOSUPPORT, what);
		return false;
	}
	len = fmp_req_len(h->type);
	if (len < 0) {
		snprintf(what, sizeof(what), "unknown message type %u",
			 h->type);
		conn_fail(c, FMP_ERROR, EBADMSG, what);
		return false;
	}
	if (h->len != (uint32_t)len || h->status != 0) {
		snprintf(what, sizeof(what),
			 "%s with length %u (expected %d) status %d",
			 fmp_type_name(h->type), h->len, len, h->status);
		conn_fail(c, h->type,
			  h->len > FMP_PAYLOAD_MAX ? EMSGSIZE : EBADMSG, what);
		return false;
	}
	return true;
}

/* conn_read - reads and handles what @c sent. Returns false if @c is
 * gone. At most a few messages per call, for fairness. */
static bool conn_read(struct conn *c)
{
	for (int msgs = 0; msgs < 32;) {
		struct fmp_hdr h;
		size_t need = sizeof(h);
		ssize_t n;

		if (c->draining) {
			char junk[4096];
			n = recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT);
			if (n == 0 ||
			    (n < 0 && errno != EAGAIN && errno != EINTR)) {
				conn_close(c, "dropped");
				return false;
			}
			return true;
		}
		if (c->inlen >= sizeof(h)) {
			memcpy(&h, c->in, sizeof(h));
			need += h.len;
		}
		n = recv(c->fd, c->in + c->inlen, need - c->inlen,
			 MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			conn_close(c, "connection error");
			return false;
		}
		if (n == 0) {
			if (c->inlen) {
				S.proto_errors++;
				srv_log_rl("%s: truncated message (%u bytes) "
					   "then EOF",
					   c->peer, c->inlen);
			}
			conn_close(c, "gone (EOF)");
			return false;
		}
		c->inlen += (uint32_t)n;
		if (c->inlen == sizeof(h)) {
			memcpy(&h, c->in, sizeof(h));
			if (!conn_check_hdr(c, &h))
				return true;
			need += h.len;
		}
		if (c->inlen < need)
			continue;
		msgs++;
		conn_handle(c);
		c->inlen = 0;
		if (c->draining)
			return true;
		if (conn_flush(c)) {
			conn_close(c, "send failed");
			return false;
		}
		if (c->closing) {
			if (c->outlen == 0) {
				conn_close(c, "closed");
				return false;
			}
			return true;
		}
	}
	return true;
}

static void conn_accept(void)
{
	for (;;) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		struct epoll_event ev;
		struct conn *c;
		int fd, one = 1;

		fd = accept4(S.lfd, (struct sockaddr *)&sa, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				srv_log_rl("accept: %s; raise the descriptor "
					   "limit (ulimit -n)",
					   strerror(errno));
			return;
		}
		if (S.nconns >= opt.max_clients) {
			S.refused++;
			srv_log_rl("refusing a connection: --max-clients %u "
				   "reached",
				   opt.max_clients);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		c->deadline = now_ms() + SRV_AUTH_TIMEOUT_MS;
		fmp_format_sa((struct sockaddr *)&sa, c->peer, sizeof(c->peer));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(S.epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(c);
			continue;
		}
		c->next = S.conns;
		if (S.conns)
			S.conns->prev = c;
		S.conns = c;
		S.nconns++;
	}
}

/* Unauthenticated, draining and expired-ticket deadlines. */
/*
 * shm_sweep - removes the /dev/shm files of shm clients that died before
 * their session ended (a forked child that exec'ed while it opened its
 * session, a client killed before HELLO), and of servers killed with
 * SIGKILL: fmp_shm_name puts the pid in the name. A file is a few MiB of
 * RAM until someone removes it.
 */
static void shm_sweep(void)
{
	DIR *d;
	struct dirent *e;

	if (strcmp(S.info->fabric_attr->prov_name, "shm") != 0 ||
	    (d = opendir("/dev/shm")) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		long pid = fmp_shm_pid(e->d_name, sizeof(e->d_name));

		if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH)
			shm_unlink(e->d_name);
	}
	closedir(d);
}

static void check_timers(void)
{
	uint64_t now = now_ms();
	struct conn *c, *cn;
	struct session *t, *tn;

	for (c = S.conns; c; c = cn) {
		cn = c->next;
		if (c->draining && now >= c->deadline)
			conn_close(c, "dropped");
		else if (!c->draining && c->sess == NULL && !c->closing &&
			 now >= c->deadline) {
			S.proto_errors++;
			srv_log_rl("%s: no HELLO within %d s; closing", c->peer,
				   SRV_AUTH_TIMEOUT_MS / 1000);
			conn_close(c, "timeout");
		}
	}
	for (t = S.tickets; t; t = tn) {
		tn = t->next;
		if (now >= t->expires)
			ticket_drop(t, "expired unopened");
	}
	if (now >= S.next_sweep) {
		S.next_sweep = now + SRV_SHM_SWEEP_MS;
		shm_sweep();
	}
}

static void dump_stats(void)
{
	struct fmp_stats_rep st;

	stats_fill(&st);
	srv_log("stats: pool %" PRIu64 " chunks, %" PRIu64 " used, resident "
		"%" PRIu64 " KiB, rss %" PRIu64 " KiB, %" PRIu64
		" sessions, %" PRIu64 " tickets, %" PRIu64
		" connections, %" PRIu64 " protocol errors, %" PRIu64
		" refused",
		st.chunks_total, st.chunks_used, st.pool_resident >> 10,
		st.rss >> 10, st.sessions, st.tickets, st.conns,
		st.proto_errors, st.refused);
	for (struct session *s = S.sessions; s; s = s->next)
		srv_log("  session %016" PRIx64 " %s: %zu chunks", s->id,
			s->peer, s->nchunks);
	for (struct session *t = S.tickets; t; t = t->next)
		srv_log("  ticket  %016" PRIx64 " %s: %zu chunks", t->id,
			t->peer, t->nchunks);
}

/* ---- fabric ------------------------------------------------------------ */

/* Lists the providers offering RDM with RMA, for the error message. */
static void list_providers(char *buf, size_t len)
{
	struct fi_info *hints = fi_allocinfo(), *info = NULL, *i;
	size_t n = 0;

	buf[0] = '\0';
	if (hints == NULL)
		return;
	hints->ep_attr->type = FI_EP_RDM;
	hints->caps = FI_RMA;
	if (fi_getinfo(SRV_FI_VERSION, NULL, NULL, 0, hints, &info) == 0) {
		for (i = info; i; i = i->next) {
			const char *p = i->fabric_attr->prov_name;
			if (strstr(buf, p) != NULL)
				continue;
			n += (size_t)snprintf(buf + n, n < len ? len - n : 0,
					      "%s%s", n ? ", " : "", p);
		}
		fi_freeinfo(info);
	}
	fi_freeinfo(hints);
}

static int fabric_getinfo(const char *prov, const char *node, uint64_t mr_mode,
			  uint64_t caps, uint32_t addr_format,
			  struct fi_info **out)
{
	struct fi_info *hints = fi_allocinfo();
	int ret;

	if (hints == NULL)
		return -FI_ENOMEM;
	hints->ep_attr->type = FI_EP_RDM;
	hints->caps = FI_RMA | FI_REMOTE_READ | FI_REMOTE_WRITE | caps;
	hints->mode = FI_CONTEXT | FI_CONTEXT2;
	hints->addr_format = addr_format;
	hints->domain_attr->data_progress = FI_PROGRESS_MANUAL;
	hints->domain_attr->threading = FI_THREAD_DOMAIN;
	hints->domain_attr->mr_mode = (int)mr_mode;
	hints->fabric_attr->prov_name = (char *)prov;
	ret = fi_getinfo(SRV_FI_VERSION, node, node ? "0" : NULL,
			 node ? FI_SOURCE : 0, hints, out);
	hints->fabric_attr->prov_name = NULL; /* not ours to free */
	fi_freeinfo(hints);
	return ret;
}

static int fabric_open(const struct fmp_endpoint *lep)
{
	const char *prov = opt.provider;
	char node[INET6_ADDRSTRLEN] = "", avail[256];
	uint32_t fmt = FI_FORMAT_UNSPEC;
	struct fi_cq_attr cqa = {.format = FI_CQ_FORMAT_CONTEXT, .size = 64};
	struct fi_av_attr ava = {.type = FI_AV_UNSPEC};
	uint64_t base =
	    FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_LOCAL | FI_MR_ENDPOINT;
	const char *nodep = NULL;
	char name[FMP_SHM_NAME_MAX];
	bool shm;
	int ret;

	if (!strcmp(prov, "tcp"))
		prov = "tcp;ofi_rxm";
	/* tcp-like providers bind the endpoint next to the control port */
	if (strcmp(prov, "shm") != 0) {
		if (lep->sa.ss_family == AF_INET) {
			inet_ntop(
			    AF_INET,
			    &((const struct sockaddr_in *)&lep->sa)->sin_addr,
			    node, sizeof(node));
			fmt = FI_SOCKADDR_IN;
		} else {
			inet_ntop(
			    AF_INET6,
			    &((const struct sockaddr_in6 *)&lep->sa)->sin6_addr,
			    node, sizeof(node));
			fmt = FI_SOCKADDR_IN6;
		}
		nodep = node;
	}
	/*
	 * Keys we draw ourselves first; provider keys if that is all there
	 * is. Remote RMA events where offered (shm): a counter that tells
	 * the loop it is busy although one-sided operations complete
	 * nothing on our side.
	 */
	ret = -FI_ENODATA;
	for (int i = 0; i < 4 && ret == -FI_ENODATA; i++)
		ret = fabric_getinfo(prov, nodep,
				     base | (i >= 2 ? FI_MR_PROV_KEY : 0),
				     i % 2 ? 0 : FI_RMA_EVENT, fmt, &S.info);
	if (ret) {
		list_providers(avail, sizeof(avail));
		srv_log("provider %s not available%s%s: available are %s; pick "
			"one with --provider",
			opt.provider, nodep ? " on " : "", nodep ? node : "",
			avail[0] ? avail : "(none)");
		return ret;
	}
	S.virt_addr = S.info->domain_attr->mr_mode & FI_MR_VIRT_ADDR;
	S.prov_key = S.info->domain_attr->mr_mode & FI_MR_PROV_KEY;
	S.mr_endpoint = S.info->domain_attr->mr_mode & FI_MR_ENDPOINT;
	if (S.prov_key)
		srv_log("warning: provider %s chooses memory keys itself "
			"(FI_MR_PROV_KEY); they may be guessable, so clients "
			"are not isolated from each other",
			S.info->fabric_attr->prov_name);
	if (!strcmp(S.info->fabric_attr->prov_name, "shm") && !opt.quiet)
		srv_log("provider shm trusts every process of this user: no "
			"isolation between clients");

	ret = fi_fabric(S.info->fabric_attr, &S.fabric, NULL);
	if (!ret)
		ret = fi_domain(S.fabric, S.info, &S.domain, NULL);
	if (!ret)
		ret = fi_av_open(S.domain, &ava, &S.av, NULL);
	if (ret)
		goto fail;
	cqa.wait_obj = FI_WAIT_FD;
	if (fi_cq_open(S.domain, &cqa, &S.cq, NULL) == 0) {
		if (fi_control(&S.cq->fid, FI_GETWAIT, &S.cq_fd) ||
		    S.cq_fd < 0) {
			fi_close(&S.cq->fid);
			S.cq = NULL;
			S.cq_fd = -1;
		}
	}
	if (S.cq == NULL) {
		cqa.wait_obj = FI_WAIT_NONE;
		ret = fi_cq_open(S.domain, &cqa, &S.cq, NULL);
		if (ret)
			goto fail;
	}
	ret = fi_endpoint(S.domain, S.info, &S.ep, NULL);
	if (!ret)
		ret = fi_ep_bind(S.ep, &S.av->fid, 0);
	if (!ret)
		ret = fi_ep_bind(S.ep, &S.cq->fid, FI_TRANSMIT | FI_RECV);
	if (ret)
		goto fail;
	if (S.info->caps & FI_RMA_EVENT) {
		/* remote operations count here: activity without completions */
		struct fi_cntr_attr ca = {.events = FI_CNTR_EVENTS_COMP};
		if (fi_cntr_open(S.domain, &ca, &S.cntr, NULL) == 0 &&
		    fi_ep_bind(S.ep, &S.cntr->fid,
			       FI_REMOTE_READ | FI_REMOTE_WRITE) != 0) {
			fi_close(&S.cntr->fid);
			S.cntr = NULL;
		}
	}
	shm = strcmp(S.info->fabric_attr->prov_name, "shm") == 0;
	if (shm) {
		ret = fmp_shm_name('s', name, sizeof(name));
		if (!ret)
			ret = fi_setname(&S.ep->fid, name, strlen(name) + 1);
		if (ret)
			goto fail;
	}
	ret = fi_enable(S.ep);
	if (ret)
		goto fail;
	if (shm)
		(void)fmp_shm_trim(name);
	S.addr_len = sizeof(S.addr);
	ret = fi_getname(&S.ep->fid, S.addr, &S.addr_len);
	if (ret)
		goto fail;
	return 0;
fail:
	srv_log("cannot open provider %s: %s", S.info->fabric_attr->prov_name,
		fi_strerror(-ret));
	return ret;
}

/* progress - drives the fabric. Returns true if something happened. */
static bool progress(void)
{
	struct fi_cq_entry ent[16];
	static uint64_t last_cntr;
	bool active = false;
	ssize_t n;

	while ((n = fi_cq_read(S.cq, ent, 16)) > 0)
		active = true;
	if (n == -FI_EAVAIL) {
		struct fi_cq_err_entry err = {0};
		/* With shm the server copies a client's writes out of the
		 * client's memory: a client that exits with writes in
		 * flight (any program that ends under pressure) leaves
		 * EIO here. Nothing is lost (it has no memory left to
		 * serve): reported with --verbose only. */
		if (fi_cq_readerr(S.cq, &err, 0) > 0 &&
		    (opt.verbose || err.err != FI_EIO ||
		     strcmp(S.info->fabric_attr->prov_name, "shm") != 0))
			srv_log_rl(
			    "a transfer failed: %s%s", fi_strerror(err.err),
			    err.err == FI_EIO ? " (a client that exited with "
						"transfers in flight?)"
					      : "");
		active = true;
	}
	if (S.cntr) {
		uint64_t v = fi_cntr_read(S.cntr);
		if (v != last_cntr)
			active = true;
		last_cntr = v;
	}
	return active;
}

static void fabric_close(void)
{
	for (size_t i = 0; i < S.nslots; i++)
		if (S.slots[i].mr)
			fi_close(&S.slots[i].mr->fid);
	if (S.ep)
		fi_close(&S.ep->fid);
	if (S.cntr)
		fi_close(&S.cntr->fid);
	if (S.cq)
		fi_close(&S.cq->fid);
	if (S.av)
		fi_close(&S.av->fid);
	if (S.domain)
		fi_close(&S.domain->fid);
	if (S.fabric)
		fi_close(&S.fabric->fid);
	if (S.info)
		fi_freeinfo(S.info);
}

/* ---- start-up ---------------------------------------------------------- */

static int load_token(void)
{
	const char *env = getenv("FARMEM_TOKEN");
	char buf[FMP_TOKEN_MAX + 2];
	size_t n;

	if (opt.token_file) {
		FILE *f = fopen(opt.token_file, "r");
		if (f == NULL) {
			srv_log("cannot read --token-file %s: %s",
				opt.token_file, strerror(errno));
			return -1;
		}
		if (fgets(buf, sizeof(buf), f) == NULL)
			buf[0] = '\0';
		fclose(f);
	} else if (env) {
		snprintf(buf, sizeof(buf), "%s", env);
	} else {
		srv_log("no token: set FARMEM_TOKEN or --token-file");
		return -1;
	}
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	if (n == 0) {
		srv_log("empty token: put a secret in FARMEM_TOKEN or the "
			"first line of --token-file");
		return -1;
	}
	if (n > FMP_TOKEN_MAX) {
		srv_log("token longer than %d bytes", FMP_TOKEN_MAX);
		return -1;
	}
	memcpy(S.token, buf, n);
	S.token_len = n;
	return 0;
}

static int listen_open(const struct fmp_endpoint *ep)
{
	int one = 1;
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);

	S.lfd = socket(ep->sa.ss_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (S.lfd < 0)
		return -errno;
	setsockopt(S.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(S.lfd, (const struct sockaddr *)&ep->sa, ep->salen)) {
		int err = errno;
		if (err == EADDRINUSE)
			srv_log("port in use: pick another with --listen "
				"(%s)",
				ep->name);
		else if (err == EADDRNOTAVAIL)
			srv_log("address %s is not on this host: pick "
				"another with --listen",
				ep->name);
		else
			srv_log("cannot bind %s: %s", ep->name, strerror(err));
		return -err;
	}
	if (listen(S.lfd, 128))
		return -errno;
	getsockname(S.lfd, (struct sockaddr *)&sa, &len);
	fmp_format_sa((struct sockaddr *)&sa, S.listen_name,
		      sizeof(S.listen_name));
	return 0;
}

static int signals_open(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	S.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return S.sfd < 0 ? -errno : 0;
}

static void handle_signals(void)
{
	struct signalfd_siginfo si;

	while (read(S.sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			dump_stats();
		else if (si.ssi_signo == SIGUSR2) {
			/* started by farmem-run, which dies with us: from
			 * now on the clients left are on their own */
			prctl(PR_SET_PDEATHSIG, 0);
			S.drain = true;
		} else
			S.stop = true;
	}
}

static int epoll_add(int fd, void *tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};

	return epoll_ctl(S.epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/*
 * The loop. One-sided operations only move while we progress the
 * endpoint, so after any activity we keep polling (--spin-us) and only
 * then sleep: in epoll on the CQ's wait descriptor where the provider has
 * one (it wakes us when a peer sends), else for at most a millisecond.
 */
/*
 * The watchdog. The loop never waits more than a second, so a loop that
 * has not turned for WATCHDOG_S is stuck inside libfabric: with shm, on a
 * spin lock in shared memory that a client was killed holding. Nothing
 * can free that lock; the clients would hang on us. Better to exit: they
 * notice (their control connection ends) and stop with a clear message.
 */
#define WATCHDOG_S 10
static unsigned long serve_turns;

static void *watchdog(void *arg)
{
	unsigned long seen = 0;
	int still = 0;

	(void)arg;
	for (;;) {
		unsigned long t =
		    __atomic_load_n(&serve_turns, __ATOMIC_RELAXED);
		sleep(1);
		still = t == seen ? still + 1 : 0;
		seen = t;
		if (still >= WATCHDOG_S) {
			srv_log(
			    "stuck for %d s inside libfabric (provider %s: "
			    "a client killed while it held a lock in shared "
			    "memory?); exiting, so that clients stop instead "
			    "of hanging",
			    WATCHDOG_S, S.info->fabric_attr->prov_name);
			_exit(3);
		}
	}
	return NULL;
}

static void serve(void)
{
	struct epoll_event evs[64];
	uint64_t last_active = now_us(), last_timers = 0;
	pthread_t wd;
	sigset_t all, old;

	/* signals stay with the main thread's signalfd */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&wd, NULL, watchdog, NULL) == 0)
		pthread_detach(wd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	while (!S.stop) {
		uint64_t now = now_us();

		__atomic_fetch_add(&serve_turns, 1, __ATOMIC_RELAXED);
		bool spin = now - last_active < opt.spin_us;
		int timeout = spin ? 0 : 1000;
		int n;

		if (!spin) {
			if (S.cq_fd >= 0) {
				struct fid *f = &S.cq->fid;
				if (fi_trywait(S.fabric, &f, 1) != FI_SUCCESS) {
					if (progress())
						last_active = now_us();
					continue;
				}
			} else {
				timeout = 1;
			}
		}
		n = epoll_wait(S.epfd, evs, 64, timeout);
		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;
			if (tag == &tag_listen) {
				conn_accept();
			} else if (tag == &tag_signal) {
				handle_signals();
			} else if (tag == &tag_cq) {
				last_active = now_us();
			} else {
				struct conn *c = tag;
				if (evs[i].events & EPOLLOUT) {
					if (conn_flush(c)) {
						conn_close(c, "send failed");
						continue;
					}
					if (c->closing && c->outlen == 0) {
						conn_close(c, "closed");
						continue;
					}
				}
				if (evs[i].events &
				    (EPOLLIN | EPOLLHUP | EPOLLERR))
					conn_read(c);
			}
		}
		if (progress())
			last_active = now_us();
		else if (spin && n <= 0)
			/* an empty turn of the spin: the core to whoever
			 * else is runnable, a client among them (polling
			 * without yielding, two clients and their servers
			 * on two cores ran 10x slower) */
			sched_yield();
		if (now_ms() - last_timers >= 100) {
			last_timers = now_ms();
			check_timers();
		}
		if (S.drain && S.nsessions == 0 && S.ntickets == 0)
			break;
	}
}

static void shutdown_all(void)
{
	while (S.conns)
		conn_close(S.conns, "server shutting down");
	while (S.tickets)
		ticket_drop(S.tickets, "server shutting down");
	fabric_close();
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: farmem-server [--listen HOST:PORT] [--size SIZE] "
		"[--provider tcp|shm|NAME]\n"
		"                     [--token-file FILE] [--max-clients N] "
		"[--spin-us N]\n"
		"                     [--ticket-timeout SEC] [--verbose] "
		"[--quiet]\n"
		"Serves far memory to farmem clients. The token comes from "
		"FARMEM_TOKEN or --token-file.\n"
		"Defaults: --listen 127.0.0.1:7070 --size 1G --provider tcp\n");
}

static int parse_uint(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || v > UINT32_MAX)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"size", required_argument, NULL, 's'},
	    {"provider", required_argument, NULL, 'p'},
	    {"token-file", required_argument, NULL, 't'},
	    {"max-clients", required_argument, NULL, 'm'},
	    {"spin-us", required_argument, NULL, 'S'},
	    {"ticket-timeout", required_argument, NULL, 'T'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct fmp_endpoint lep;
	char sizebuf[32];
	int c, ret;

	while ((c = getopt_long(argc, argv, "l:s:p:t:vqh", lopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'l':
			opt.listen = optarg;
			break;
		case 's':
			if (pre_parse_size(optarg, &opt.size)) {
				srv_log("--size %s: not a size (try 64M, 8G)",
					optarg);
				return 2;
			}
			break;
		case 'p':
			opt.provider = optarg;
			break;
		case 't':
			opt.token_file = optarg;
			break;
		case 'm':
		case 'S':
		case 'T': {
			unsigned v;
			if (parse_uint(optarg, &v) || (c != 'S' && v == 0)) {
				srv_log("%s: not a number: %s",
					argv[optind - 1], optarg);
				return 2;
			}
			*(c == 'm'   ? &opt.max_clients
			  : c == 'S' ? &opt.spin_us
				     : &opt.ticket_timeout) = v;
			break;
		}
		case 'v':
			opt.verbose = true;
			break;
		case 'q':
			opt.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (load_token())
		return 1;
	ret = fmp_parse_endpoint(opt.listen, &lep);
	if (ret) {
		srv_log("--listen %s: %s", opt.listen,
			ret == -EINVAL ? "expected HOST:PORT or [V6]:PORT"
				       : "host name did not resolve");
		return 2;
	}
	/* our own registrations only; no monitor threads or hooks in here */
	setenv("FI_MR_CACHE_MONITOR", "disabled", 1);
	/* read responses are small writes on tcp: Nagle against the
	 * client's delayed ACK stalls them for milliseconds */
	setenv("FI_TCP_NODELAY", "1", 0);
	/* rxm's message bounce buffers: we receive no messages (60 MiB
	 * resident at the default 16 KiB) */
	setenv("FI_OFI_RXM_BUFFER_SIZE", "1024", 0);

	if (signals_open() || pool_init() || listen_open(&lep) ||
	    fabric_open(&lep))
		goto fail;
	S.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (S.epfd < 0 || epoll_add(S.lfd, &tag_listen) ||
	    epoll_add(S.sfd, &tag_signal) ||
	    (S.cq_fd >= 0 && epoll_add(S.cq_fd, &tag_cq)))
		goto fail;
	if (S.cq_fd < 0 && !opt.quiet)
		srv_log("provider %s has no wait descriptor: polling every "
			"millisecond when idle",
			S.info->fabric_attr->prov_name);
	if (opt.verbose && (S.info->addr_format == FI_SOCKADDR_IN ||
			    S.info->addr_format == FI_SOCKADDR_IN6)) {
		char ep[96];
		srv_log(
		    "fabric endpoint on %s",
		    fmp_format_sa((struct sockaddr *)S.addr, ep, sizeof(ep)));
	}
	if (opt.verbose)
		srv_log("endpoint: mr_mode%s%s%s, %s, remote event counter %s",
			S.virt_addr ? " virt_addr" : "",
			S.prov_key ? " prov_key" : "",
			S.mr_endpoint ? " endpoint" : "",
			S.cq_fd >= 0 ? "wait fd" : "no wait fd",
			S.cntr ? "yes" : "no");

	printf("farmem-server: ready on %s provider %s pool %s\n",
	       S.listen_name, S.info->fabric_attr->prov_name,
	       pre_format_size(S.nslots * FAB_CHUNK, sizebuf, sizeof(sizebuf)));
	fflush(stdout);

	serve();
	shutdown_all();
	shm_sweep(); /* what clients that ended meanwhile left */
	if (opt.verbose)
		srv_log("stopped");
	return 0;
fail:
	fabric_close();
	return 1;
}
