/* SPDX-License-Identifier: MIT */
/* The exit statistics table (FARMEM_STATS=1). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "heap/heap.h"
#include "pre.h"

/* Expands %p in FARMEM_STATS_FILE to the pid, so that several processes
 * under one farmem-run do not overwrite each other. */
static void expand_path(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 16 < len; in++) {
		if (in[0] == '%' && in[1] == 'p') {
			o += (size_t)snprintf(out + o, len - o, "%d",
					      (int)getpid());
			in++;
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

static void put(char *buf, size_t len, size_t *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t len, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*o >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *o, len - *o, fmt, ap);
	va_end(ap);
	if (n > 0)
		*o += (size_t)n;
	if (*o > len)
		*o = len;
}

/* The latency under which @q of the fetches finished, in microseconds. */
static unsigned lat_quantile(const struct pager_stats *p, double q)
{
	uint64_t total = 0, seen = 0;

	for (unsigned i = 0; i < PAGER_LAT_BUCKETS; i++)
		total += p->lat_hist[i];
	for (unsigned i = 0; i < PAGER_LAT_BUCKETS; i++) {
		seen += p->lat_hist[i];
		if (total && (double)seen >= q * (double)total)
			return i + 1;
	}
	return 0;
}

static void pager_print(char *buf, size_t len, size_t *o)
{
	static struct pager_stats p; /* large: not on the stack */
	char a[32], b[32];

	pager_stats_get(&p);
	put(buf, len, o, "  %-22s %s (budget %s)\n", "resident peak",
	    pre_format_size(p.resident_peak * HEAP_PAGE, a, sizeof(a)),
	    pre_format_size(p.budget * HEAP_PAGE, b, sizeof(b)));
	put(buf, len, o, "  %-22s %s (and %s unchanged: not written)\n",
	    "evicted", pre_format_size(p.evicted * HEAP_PAGE, a, sizeof(a)),
	    pre_format_size(p.dropped_clean * HEAP_PAGE, b, sizeof(b)));
	if (p.same)
		put(buf, len, o,
		    "  %-22s %s (one word each: not written; %llu faults "
		    "without a fetch)\n",
		    "same-filled evicted",
		    pre_format_size(p.same * HEAP_PAGE, a, sizeof(a)),
		    (unsigned long long)p.faults_same);
	if (p.copied_out)
		put(buf, len, o, "  %-22s %s (copied out: mprotect'ed)\n",
		    "read-only evicted",
		    pre_format_size(p.copied_out * HEAP_PAGE, a, sizeof(a)));
	if (p.move_unreported)
		put(buf, len, o,
		    "  %-22s %llu pages (moved by the kernel, reported not "
		    "moved)\n",
		    "moves misreported", (unsigned long long)p.move_unreported);
	put(buf, len, o, "  %-22s %s (%s read ahead)\n", "fetched",
	    pre_format_size(p.fetched * HEAP_PAGE, a, sizeof(a)),
	    pre_format_size(p.prefetched * HEAP_PAGE, b, sizeof(b)));
	put(buf, len, o, "  %-22s %s\n", "dropped by free",
	    pre_format_size(p.discarded * HEAP_PAGE, a, sizeof(a)));
	put(buf, len, o,
	    "  %-22s %llu first-touch, %llu remote, %llu "
	    "staged, %llu spurious\n",
	    "faults", (unsigned long long)p.faults_zero,
	    (unsigned long long)p.faults_remote,
	    (unsigned long long)p.faults_staged,
	    (unsigned long long)p.faults_spurious);
	if (p.chunks)
		put(buf, len, o, "  %-22s %llu allocated, at most %llu held\n",
		    "far chunks", (unsigned long long)p.chunks,
		    (unsigned long long)p.chunk_indexes);
	if (p.fetched)
		put(buf, len, o, "  %-22s p50 <= %u us, p99 <= %u us\n",
		    "fetch latency", lat_quantile(&p, 0.5),
		    lat_quantile(&p, 0.99));
}

void pre_stats_print(void)
{
	struct heap_stats s;
	char buf[2048], a[32], b[32], path[512];
	size_t o = 0;
	int fd = pre_log_fd(), saved = errno;
	char comm[64] = "?";
	int cfd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);

	if (cfd >= 0) {
		ssize_t n = read(cfd, comm, sizeof(comm) - 1);
		comm[n > 0 ? n : 0] = '\0';
		if (n > 0 && comm[n - 1] == '\n')
			comm[n - 1] = '\0';
		close(cfd);
	}
	heap_stats_get(&s);
	put(buf, sizeof(buf), &o, "farmem[%d]: statistics for %s\n",
	    (int)getpid(), comm);
	put(buf, sizeof(buf), &o, "  %-22s %llu\n", "allocations",
	    (unsigned long long)s.allocs);
	put(buf, sizeof(buf), &o, "  %-22s %llu\n", "frees",
	    (unsigned long long)s.frees);
	put(buf, sizeof(buf), &o, "  %-22s %s\n", "bytes live at peak",
	    pre_format_size(s.live_peak, a, sizeof(a)));
	put(buf, sizeof(buf), &o, "  %-22s %s of %s reserved\n",
	    "region used (high)", pre_format_size(s.region_high, a, sizeof(a)),
	    pre_format_size(heap_region_size, b, sizeof(b)));
	put(buf, sizeof(buf), &o, "  %-22s 1 (exclusive mimalloc arena)\n",
	    "arenas");
	put(buf, sizeof(buf), &o, "  %-22s %llu\n", "threads",
	    (unsigned long long)s.threads);
	put(buf, sizeof(buf), &o, "  %-22s %s\n", "discarded by free",
	    pre_format_size(s.discarded, a, sizeof(a)));
	put(buf, sizeof(buf), &o, "  %-22s %s\n", "runtime private heap",
	    pre_format_size(s.private_bytes, a, sizeof(a)));
	put(buf, sizeof(buf), &o, "  %-22s %s\n", "bootstrap area",
	    pre_format_size(s.boot_bytes, a, sizeof(a)));
	put(buf, sizeof(buf), &o, "  %-22s %llu\n", "foreign frees",
	    (unsigned long long)s.foreign_frees);
	if (pager_active())
		pager_print(buf, sizeof(buf), &o);
	if (pre_opt.stats_file) {
		expand_path(pre_opt.stats_file, path, sizeof(path));
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			pre_log(FM_LOG_WARN, "stats",
				"cannot write "
				"FARMEM_STATS_FILE=%s: %s; printing to stderr",
				path, strerror(errno));
			fd = pre_log_fd();
		}
	}
	for (char *p = buf; o > 0;) {
		ssize_t w = write(fd, p, o);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		o -= (size_t)w;
	}
	if (fd != pre_log_fd())
		close(fd);
	errno = saved;
}
