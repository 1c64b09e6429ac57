/* SPDX-License-Identifier: MIT */
/*
 * fabric/ control protocol between a client (fabric/ofi.c) and
 * farmem-server, and the socket helpers both ends share (proto.c).
 *
 * One plain TCP stream per session. Data never travels here: it moves by
 * one-sided RMA over libfabric. The stream only opens a session, hands out
 * chunks (id, remote address, key), drops references, clones a session
 * for a forked child and reports statistics. Its EOF tells the server the
 * client is gone (ofi_rxm hides its own connections).
 *
 * Framing. Every message is a 16-byte header followed by exactly
 * hdr.len payload bytes. All integers are little endian.
 *
 *   magic   u32  FMP_MAGIC ("FMSP")
 *   version u16  FMP_VERSION
 *   type    u16  request type; a reply carries type | FMP_REPLY
 *   len     u32  payload bytes; each type has exactly one valid length
 *   status  i32  requests: 0; replies: 0 or a positive Linux errno
 *
 * A reply with status != 0 has no payload. Requests are answered in
 * order, one reply each; the server never speaks first.
 *
 * Session states and the requests each accepts:
 *
 *   new connection:  INFO, HELLO(token), FORK_OPEN(ticket)
 *   in a session:    INFO, CHUNK_ALLOC, CHUNK_PUT, FORK_PREPARE,
 *                    FORK_CANCEL, STATS, CLOSE
 *
 * Anything else, a bad magic, version, type or length, a wrong token or a
 * ticket that does not match is a protocol error: the server sends an
 * error reply (type FMP_ERROR | FMP_REPLY when the header itself was bad),
 * logs one line, and closes that connection, dropping its session's
 * references. Other connections are not affected. Semantic errors of a
 * well-formed request (pool full: ENOSPC; CHUNK_PUT of a chunk the
 * session does not hold: ENOENT) are answered and the session goes on.
 *
 * Chunk ids: (generation << 32) | slot, generation 24 bits, never 0.
 * The server allocates the lowest free slot first.
 *
 * Keys: every chunk is its own memory registration with a random 64-bit
 * key (getrandom), so a session only ever learns the keys of chunks it
 * holds, and the provider (tcp) rejects any access whose key or range
 * does not match one registration (and drops that peer's connection).
 * Remote addresses are what CHUNK_ALLOC returns plus the offset: virtual
 * addresses where the provider wants them (shm), else offsets from 0 in
 * the registration (tcp), where the key alone names the chunk. When the provider insists on choosing
 * keys itself (FI_MR_PROV_KEY) the server says so in INFO (FMP_F_PROV_KEY)
 * and in its log: such keys may be guessable. The shm provider copies
 * through the kernel (CMA) without checking keys at all: it trusts every
 * process of the same user, and claims no isolation.
 */
#ifndef FARMEM_FABRIC_PROTO_H
#define FARMEM_FABRIC_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define FMP_MAGIC     0x50534d46u /* "FMSP" as bytes on the wire */
#define FMP_VERSION   1
#define FMP_REPLY     0x8000u
#define FMP_ADDR_MAX  256 /* libfabric endpoint names (fi_getname) */
#define FMP_TOKEN_MAX 256
#define FMP_SECRET    16
#define FMP_PROV_MAX  32
/* No payload is larger; the server never buffers more than this. */
#define FMP_PAYLOAD_MAX 1024

enum fmp_type {
	FMP_INFO = 1,
	FMP_HELLO = 2,
	FMP_CHUNK_ALLOC = 3,
	FMP_CHUNK_PUT = 4,
	FMP_FORK_PREPARE = 5,
	FMP_FORK_OPEN = 6,
	FMP_FORK_CANCEL = 7,
	FMP_CLOSE = 8,
	FMP_STATS = 9,
	FMP_ERROR = 0x7fff, /* replies only: the request was not decodable */
};

struct fmp_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t len;
	int32_t status;
};

/* INFO: no payload. Needs no token: it tells a client which provider to
 * open before it can name its own endpoint in HELLO. */
#define FMP_F_VIRT_ADDR 1u /* remote addresses are server virtual addresses */
#define FMP_F_PROV_KEY	2u /* the provider chose the keys (may be guessable) */
struct fmp_info_rep {
	uint64_t pool_bytes;
	uint64_t chunk_bytes;
	uint32_t flags;	      /* FMP_F_* */
	uint32_t addr_format; /* FI_SOCKADDR_IN, FI_ADDR_STR, ... */
	uint32_t addr_len;
	uint32_t pad;
	char provider[FMP_PROV_MAX]; /* NUL-terminated: "tcp;ofi_rxm", "shm" */
	uint8_t addr[FMP_ADDR_MAX];  /* the server's endpoint, as HELLO's */
};

/* HELLO: the token and the client's endpoint name (fi_getname). The
 * token bytes past token_len must be zero. */
struct fmp_hello_req {
	uint32_t token_len;
	uint32_t addr_len;
	uint8_t token[FMP_TOKEN_MAX];
	uint8_t addr[FMP_ADDR_MAX];
};

/* Reply to HELLO and FORK_OPEN: the session and the server's endpoint
 * name for fi_av_insert. For sockaddr formats the address carries the IP
 * the client reached the control port on (the endpoint may be bound to a
 * wildcard). */
struct fmp_session_rep {
	uint64_t session;
	uint32_t addr_len;
	uint32_t pad;
	uint8_t addr[FMP_ADDR_MAX];
};

/* CHUNK_ALLOC: no payload. RMA to [raddr, raddr + chunk_bytes) with key. */
struct fmp_chunk_rep {
	uint64_t chunk;
	uint64_t raddr;
	uint64_t key;
};

/* CHUNK_PUT: drop this session's reference. Empty reply. */
struct fmp_chunk_req {
	uint64_t chunk;
};

/* FORK_PREPARE: no payload; the reply is the ticket, a new session that
 * holds a reference to every chunk this one holds, waiting for FORK_OPEN
 * on a new connection (or FORK_CANCEL, or the ticket timeout). */
struct fmp_ticket {
	uint64_t session;
	uint8_t secret[FMP_SECRET];
};

/* FORK_OPEN: the ticket and the child's endpoint name. Replies with
 * fmp_session_rep. FORK_CANCEL: fmp_ticket; only the session that
 * prepared the ticket may cancel it. Empty reply. */
struct fmp_fork_open_req {
	struct fmp_ticket ticket;
	uint32_t addr_len;
	uint32_t pad;
	uint8_t addr[FMP_ADDR_MAX];
};

/* STATS: no payload. Server-wide numbers. */
struct fmp_stats_rep {
	uint64_t pool_bytes;
	uint64_t chunk_bytes;
	uint64_t chunks_total;
	uint64_t chunks_used;	/* chunks referenced by any session or ticket */
	uint64_t sessions;	/* open sessions */
	uint64_t tickets;	/* prepared, not yet opened */
	uint64_t conns;		/* control connections */
	uint64_t pool_resident; /* bytes of the pool in RAM (mincore) */
	uint64_t rss;		/* server resident set */
	uint64_t proto_errors;	/* connections dropped for protocol errors */
	uint64_t refused;	/* wrong token or ticket */
};

_Static_assert(sizeof(struct fmp_hdr) == 16, "header layout");
_Static_assert(sizeof(struct fmp_info_rep) == 320, "info layout");
_Static_assert(sizeof(struct fmp_hello_req) == 520, "hello layout");
_Static_assert(sizeof(struct fmp_session_rep) == 272, "session layout");
_Static_assert(sizeof(struct fmp_fork_open_req) == 288, "fork layout");
_Static_assert(sizeof(struct fmp_stats_rep) == 88, "stats layout");
_Static_assert(sizeof(struct fmp_hello_req) <= FMP_PAYLOAD_MAX, "payload");

/*
 * The protocol is little endian and so is every host farmem runs on
 * (x86-64, aarch64): the structs above are the wire format. A big-endian
 * port would byte-swap in fmp_send/fmp_call.
 */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the farmem control protocol assumes a little-endian host"
#endif

/* fmp_req_len - the one valid payload length of request @type, or -1. */
int fmp_req_len(unsigned type);
/* fmp_rep_len - the payload length of a successful reply, or -1. */
int fmp_rep_len(unsigned type);
/* fmp_type_name - "HELLO", ... or "?" */
const char *fmp_type_name(unsigned type);

/* ---- socket helpers (proto.c): no malloc except inside getaddrinfo --- */

/* An address parsed from "host:port", "[v6]:port" or ":port". */
struct fmp_endpoint {
	struct sockaddr_storage sa;
	socklen_t salen;
	char name[96]; /* as given, for messages */
};

/*
 * fmp_parse_endpoint - resolves @s ("host:port", "[::1]:port"; empty host
 * means 127.0.0.1) into @ep. Numeric hosts never call getaddrinfo.
 * Returns 0, -EINVAL (malformed) or -EHOSTUNREACH (name did not resolve).
 */
int fmp_parse_endpoint(const char *s, struct fmp_endpoint *ep);
/* fmp_format_sa - "1.2.3.4:5" or "[::1]:5" into @buf. Returns @buf. */
char *fmp_format_sa(const struct sockaddr *sa, char *buf, size_t len);

/* fmp_connect - a blocking, close-on-exec TCP connection with NODELAY.
 * Returns the descriptor or a negative errno. */
int fmp_connect(const struct fmp_endpoint *ep);

/* fmp_write_all / fmp_read_all - whole buffers, EINTR retried, no
 * SIGPIPE. read_all returns -ECONNRESET on EOF. Return 0 or -errno. */
int fmp_write_all(int fd, const void *buf, size_t len);
int fmp_read_all(int fd, void *buf, size_t len);

/*
 * fmp_call - sends request @type with payload @req (@req_len bytes) and
 * reads its reply into @rep (exactly @rep_len bytes). Returns 0; the
 * server's error reply as a POSITIVE errno (ENOSPC, ...); or a negative
 * errno when the stream itself failed: the socket error, -ECONNRESET on
 * EOF, -EPROTO for a malformed reply. After a negative return the stream
 * is out of step and must be closed.
 */
int fmp_call(int fd, unsigned type, const void *req, size_t req_len, void *rep,
	     size_t rep_len);

/* fmp_random - @len bytes from getrandom(2). Returns 0 or -errno. */
int fmp_random(void *buf, size_t len);

/*
 * shm endpoint names. Left to itself, libfabric's shm provider names an
 * endpoint's file in /dev/shm after the process id, and only fi_close
 * removes it: a process that exits without closing leaves it behind (a
 * few MiB of RAM), and a later process with the same id cannot open an
 * endpoint at all (EBUSY). So we name endpoints ourselves, uniquely:
 * FMP_SHM_PREFIX, a role ('c' client, 's' server), the pid and 64 random
 * bits; and the server removes a client's file when its session ends.
 */
#define FMP_SHM_PREFIX	 "farmem-"
#define FMP_SHM_NAME_MAX 48
/* fmp_shm_name - a fresh name for role @role into @buf. Returns 0 or
 * -errno. */
int fmp_shm_name(char role, char *buf, size_t len);
/* fmp_shm_pid - the pid in @name (at most @len bytes) if fmp_shm_name
 * made it, else 0. */
long fmp_shm_pid(const char *name, size_t len);
/* fmp_shm_is_client_name - is the address @addr (@len bytes, as a HELLO
 * carries it) a client name fmp_shm_name made? Safe to shm_unlink then. */
bool fmp_shm_is_client_name(const uint8_t *addr, size_t len);
/*
 * fmp_shm_trim - gives back the zero pages at the end of our endpoint's
 * shm file @name. libfabric 1.17's shm rounds an endpoint's region up to
 * a power of two and writes zeros to the end of it (its name, copied
 * with strncpy to the region's end): ~3.8 MiB resident in each process,
 * in its memory cgroup, that nothing reads. Call it right after
 * fi_enable, before any peer knows the name (so that nobody writes
 * there meanwhile): a page given back reads as zeros again. Returns the
 * bytes given back, or -errno.
 */
long fmp_shm_trim(const char *name);

#endif
