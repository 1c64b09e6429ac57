/* SPDX-License-Identifier: MIT */
/* The control protocol's message table and the socket helpers shared by
 * farmem-server, the libfabric backend and the tests. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto.h"

static const struct {
	const char *name;
	int req_len;
	int rep_len;
} fmp_table[] = {
    [FMP_INFO] = {"INFO", 0, sizeof(struct fmp_info_rep)},
    [FMP_HELLO] = {"HELLO", sizeof(struct fmp_hello_req),
		   sizeof(struct fmp_session_rep)},
    [FMP_CHUNK_ALLOC] = {"CHUNK_ALLOC", 0, sizeof(struct fmp_chunk_rep)},
    [FMP_CHUNK_PUT] = {"CHUNK_PUT", sizeof(struct fmp_chunk_req), 0},
    [FMP_FORK_PREPARE] = {"FORK_PREPARE", 0, sizeof(struct fmp_ticket)},
    [FMP_FORK_OPEN] = {"FORK_OPEN", sizeof(struct fmp_fork_open_req),
		       sizeof(struct fmp_session_rep)},
    [FMP_FORK_CANCEL] = {"FORK_CANCEL", sizeof(struct fmp_ticket), 0},
    [FMP_CLOSE] = {"CLOSE", 0, 0},
    [FMP_STATS] = {"STATS", 0, sizeof(struct fmp_stats_rep)},
};

#define FMP_NTYPES (sizeof(fmp_table) / sizeof(fmp_table[0]))

int fmp_req_len(unsigned type)
{
	if (type == 0 || type >= FMP_NTYPES)
		return -1;
	return fmp_table[type].req_len;
}

int fmp_rep_len(unsigned type)
{
	if (type == 0 || type >= FMP_NTYPES)
		return -1;
	return fmp_table[type].rep_len;
}

const char *fmp_type_name(unsigned type)
{
	if (type == FMP_ERROR)
		return "ERROR";
	if (type == 0 || type >= FMP_NTYPES)
		return "?";
	return fmp_table[type].name;
}

int fmp_parse_endpoint(const char *s, struct fmp_endpoint *ep)
{
	char host[256];
	const char *colon, *h = s;
	size_t hlen;
	char *end;
	unsigned long port;

	memset(ep, 0, sizeof(*ep));
	if (s == NULL || strlen(s) >= sizeof(ep->name))
		return -EINVAL;
	snprintf(ep->name, sizeof(ep->name), "%s", s);
	if (s[0] == '[') {
		colon = strchr(s, ']');
		if (colon == NULL || colon[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(colon - h);
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -EINVAL;
		hlen = (size_t)(colon - s);
	}
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (hlen == 0)
		strcpy(host, "127.0.0.1");
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno || port > 65535)
		return -EINVAL;

	struct sockaddr_in *in4 = (struct sockaddr_in *)&ep->sa;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ep->sa;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		ep->salen = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		ep->salen = sizeof(*in6);
		return 0;
	}

	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL)
		return -EHOSTUNREACH;
	if (res->ai_addrlen > sizeof(ep->sa)) {
		freeaddrinfo(res);
		return -EINVAL;
	}
	memcpy(&ep->sa, res->ai_addr, res->ai_addrlen);
	ep->salen = res->ai_addrlen;
	freeaddrinfo(res);
	if (ep->sa.ss_family == AF_INET)
		in4->sin_port = htons((uint16_t)port);
	else if (ep->sa.ss_family == AF_INET6)
		in6->sin6_port = htons((uint16_t)port);
	else
		return -EHOSTUNREACH;
	return 0;
}

char *fmp_format_sa(const struct sockaddr *sa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in4 = (const void *)sa;
		inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(in4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "(family %d)", sa->sa_family);
	}
	return buf;
}

int fmp_connect(const struct fmp_endpoint *ep)
{
	int fd, one = 1;

	fd = socket(ep->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	while (connect(fd, (const struct sockaddr *)&ep->sa, ep->salen) < 0) {
		int err = errno;
		if (err == EINTR)
			continue;
		close(fd);
		return -err;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int fmp_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fmp_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fmp_call(int fd, unsigned type, const void *req, size_t req_len, void *rep,
	     size_t rep_len)
{
	struct {
		struct fmp_hdr h;
		uint8_t payload[FMP_PAYLOAD_MAX];
	} msg;
	struct fmp_hdr h;
	int ret;

	if (req_len > FMP_PAYLOAD_MAX)
		return -EMSGSIZE;
	msg.h = (struct fmp_hdr){FMP_MAGIC, FMP_VERSION, (uint16_t)type,
				 (uint32_t)req_len, 0};
	if (req_len)
		memcpy(msg.payload, req, req_len);
	ret = fmp_write_all(fd, &msg, sizeof(msg.h) + req_len);
	if (ret)
		return ret;
	ret = fmp_read_all(fd, &h, sizeof(h));
	if (ret)
		return ret;
	if (h.magic != FMP_MAGIC || h.version != FMP_VERSION ||
	    (h.type != (type | FMP_REPLY) && h.type != (FMP_ERROR | FMP_REPLY)))
		return -EPROTO;
	if (h.status != 0) {
		if (h.len != 0 || h.status < 0 || h.status > 4095)
			return -EPROTO;
		return h.status;
	}
	if (h.len != rep_len || h.type != (type | FMP_REPLY))
		return -EPROTO;
	return rep_len ? fmp_read_all(fd, rep, rep_len) : 0;
}

int fmp_random(void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fmp_shm_name(char role, char *buf, size_t len)
{
	uint64_t r;
	int ret = fmp_random(&r, sizeof(r));

	if (ret)
		return ret;
	if ((size_t)snprintf(buf, len, FMP_SHM_PREFIX "%c-%ld-%016llx", role,
			     (long)getpid(), (unsigned long long)r) >= len)
		return -ENAMETOOLONG;
	return 0;
}

long fmp_shm_pid(const char *name, size_t len)
{
	size_t n = strnlen(name, len);
	const char *p = name + sizeof(FMP_SHM_PREFIX) - 1;
	char *end;
	long pid;

	if (n == len || n >= FMP_SHM_NAME_MAX ||
	    n < sizeof(FMP_SHM_PREFIX) + 4 ||
	    memcmp(name, FMP_SHM_PREFIX, sizeof(FMP_SHM_PREFIX) - 1) != 0 ||
	    (p[0] != 'c' && p[0] != 's') || p[1] != '-')
		return 0;
	for (size_t i = (size_t)(p + 2 - name); i < n; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		      (name[i] >= 'a' && name[i] <= 'f') || name[i] == '-'))
			return 0;
	pid = strtol(p + 2, &end, 10);
	return *end == '-' && pid > 0 ? pid : 0;
}

bool fmp_shm_is_client_name(const uint8_t *addr, size_t len)
{
	const char *name = (const char *)addr;

	return fmp_shm_pid(name, len) > 0 &&
	       name[sizeof(FMP_SHM_PREFIX) - 1] == 'c';
}

long fmp_shm_trim(const char *name)
{
	uint64_t page[4096 / 8];
	struct stat st;
	off_t end, off;
	long ret = 0;
	int fd = shm_open(name, O_RDWR, 0);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		ret = -errno;
		goto out;
	}
	end = st.st_size & ~(off_t)(sizeof(page) - 1);
	/* back from the end while pages read as zeros (reading a hole
	 * allocates nothing) */
	for (off = end; off > 0; off -= (off_t)sizeof(page)) {
		size_t w = 0;

		if (pread(fd, page, sizeof(page), off - (off_t)sizeof(page)) !=
		    (ssize_t)sizeof(page))
			break;
		while (w < sizeof(page) / 8 && page[w] == 0)
			w++;
		if (w < sizeof(page) / 8)
			break;
	}
	/* one zero page more kept beside the last one in use */
	off += (off_t)sizeof(page);
	if (off < end) {
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      off, end - off) == 0)
			ret = (long)(end - off);
		else
			ret = -errno;
	}
out:
	close(fd);
	return ret;
}
