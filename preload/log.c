/* SPDX-License-Identifier: MIT */
/* Logging: one write(2) per line, no malloc, no stdio. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap/prim.h"
#include "pre.h"

FM_HIDDEN int pre_log_level = FM_LOG_WARN;
static int log_fd = 2;

static const char *const level_tag[] = {"error: ", "warning: ", "", "debug: "};

int pre_log_fd(void)
{
	return log_fd;
}

int pre_log_open(const char *path)
{
	int fd;

	if (path == NULL || path[0] == '\0') {
		/* A copy of stderr: programs close fd 2 before exit (GNU ls
		 * does), and the exit statistics and last errors must still
		 * get out. Kept out of the program's way like the runtime's
		 * other descriptors. */
		fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
		log_fd = fd >= 0 ? prim_fd_hide(fd) : 2;
		return 0;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	log_fd = fd;
	return 0;
}

void pre_vlog(int level, const char *subsys, const char *fmt, va_list ap)
{
	char buf[1024];
	int saved = errno;
	int n, m;

	n = snprintf(buf, sizeof(buf), "farmem[%d]: %s%s%s", (int)getpid(),
		     subsys && *subsys ? subsys : "",
		     subsys && *subsys ? ": " : "",
		     level_tag[level < 0 || level > 3 ? 0 : level]);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	if (m > 0)
		n += m;
	if ((size_t)n >= sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	if (n > 0 && buf[n - 1] != '\n')
		buf[n++] = '\n';
	for (char *p = buf; n > 0;) {
		ssize_t w = write(log_fd, p, (size_t)n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		n -= (int)w;
	}
	errno = saved;
}

void pre_log(int level, const char *subsys, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pre_vlog(level, subsys, fmt, ap);
	va_end(ap);
}

void pre_bug(const char *file, int line, const char *what)
{
	pre_log(FM_LOG_ERROR, "bug",
		"%s:%d: invariant broken: %s; please "
		"report this with FARMEM_VERBOSE=1 output",
		file, line, what);
	abort();
}
