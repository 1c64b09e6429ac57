/* SPDX-License-Identifier: MIT */
/*
 * farmem-run: runs a program with libfarmem.so preloaded. Turns options
 * into FARMEM_* variables, finds the library, warns when the preload cannot
 * take effect (static, setuid, foreign-class programs), starts a private
 * farmem-server when the program has a budget and no server was named,
 * then forks, execs the program with LD_PRELOAD set in the child only,
 * forwards signals, stops the server, and exits with the program's status.
 */
#include "config.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "pre.h"

#define PROG "farmem-run"
/* Exit statuses, as a shell uses them. */
#define EXIT_USAGE	 2
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND	 127

#ifndef FM_LIBDIR
#define FM_LIBDIR "/usr/local/lib"
#endif
#ifndef FM_BUILDDIR
#define FM_BUILDDIR ""
#endif
#ifndef FM_BINDIR
#define FM_BINDIR "/usr/local/bin"
#endif

#define LIBNAME "libfarmem.so"
#define SERVER	"farmem-server"
/* seconds for the embedded server to say it is ready */
#define SERVER_START_S 30
/* after the program, ms for the server to find itself idle and exit; if
 * it does not, processes the program started still use it */
#define SERVER_LINGER_MS 500

/* What the options ask for; NULL leaves the variable as the caller set it. */
struct run_conf {
	const char *local_mem;
	const char *region;
	const char *stats_file;
	const char *children;
	char *servers;	      /* --server, comma-joined; NULL: none given */
	const char *provider; /* the embedded server's */
	bool no_server;	      /* --no-server: the in-process store */
	bool stats;
	bool verbose;
};

enum {
	OPT_LOCAL_MEM = 256,
	OPT_STATS,
	OPT_STATS_FILE,
	OPT_VERBOSE,
	OPT_CHILDREN,
	OPT_REGION,
	OPT_VERSION,
	OPT_SERVER,
	OPT_PROVIDER,
	OPT_NO_SERVER,
};

static const struct option long_opts[] = {
    {"local-mem", required_argument, NULL, OPT_LOCAL_MEM},
    {"stats", no_argument, NULL, OPT_STATS},
    {"stats-file", required_argument, NULL, OPT_STATS_FILE},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"children", required_argument, NULL, OPT_CHILDREN},
    {"region", required_argument, NULL, OPT_REGION},
    {"server", required_argument, NULL, OPT_SERVER},
    {"provider", required_argument, NULL, OPT_PROVIDER},
    {"no-server", no_argument, NULL, OPT_NO_SERVER},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* The signals a job control shell or a supervisor sends to stop a job. */
static const int forwarded[] = {SIGTERM, SIGHUP,  SIGINT,
				SIGQUIT, SIGUSR1, SIGUSR2};

static volatile pid_t child_pid;

static void msg(const char *level, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, PROG ": %s%s\n", level, buf);
}

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg("warning: ", fmt, ap);
	va_end(ap);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg("", fmt, ap);
	va_end(ap);
}

static void die(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
static void die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg("", fmt, ap);
	va_end(ap);
	exit(status);
}

#define USAGE "Usage: " PROG " [OPTIONS] [--] PROGRAM [ARGS...]\n"

static void usage(void)
{
	fputs(
	    USAGE
	    "Run PROGRAM with the farmem far-memory runtime (libfarmem.so) "
	    "preloaded.\n"
	    "\n"
	    "  --local-mem SIZE   local memory budget for the heap, e.g. 512M "
	    "or 2G\n"
	    "                     (at least 16M; 0 = no limit, the default)\n"
	    "  --stats            print a statistics table when PROGRAM exits\n"
	    "  --stats-file FILE  write that table to FILE (%p = pid); implies "
	    "--stats\n"
	    "  --verbose          print the version, the options in force and "
	    "the\n"
	    "                     start-up steps\n"
	    "  --children MODE    programs that PROGRAM starts: farmem (each "
	    "gets its\n"
	    "                     own runtime, the default) or plain (libc "
	    "malloc)\n"
	    "  --region SIZE      address space reserved for the heap (default "
	    "1T,\n"
	    "                     at least 64M)\n"
	    "  --server HOST:PORT a farmem-server for the evicted memory "
	    "(repeat to\n"
	    "                     stripe over several; its token in "
	    "FARMEM_TOKEN).\n"
	    "                     Without one, farmem-run starts a private "
	    "server\n"
	    "  --provider NAME    the private server's libfabric provider: tcp "
	    "(the\n"
	    "                     default) or shm (faster, less robust: see "
	    "farmem(7))\n"
	    "  --no-server        keep evicted memory in the program's own "
	    "process\n"
	    "                     (outside its RSS), with no server\n"
	    "  -h, --help         show this help and exit\n"
	    "  --version          show the version and exit\n"
	    "\n"
	    "Each option sets the FARMEM_* variable of the same name "
	    "(--local-mem sets\n"
	    "FARMEM_LOCAL_MEM); others set in the environment are passed on as "
	    "they\n"
	    "are. FARMEM_LIBRARY names the library to preload instead of the "
	    "installed\n"
	    "one.\n"
	    "\n"
	    "Exit status: PROGRAM's; 128+N if signal N killed it; 2 for a "
	    "usage error;\n"
	    "126 if PROGRAM cannot be run; 127 if it or the library is not "
	    "found.\n"
	    "See farmem-run(1) and farmem(7).\n",
	    stdout);
}

/*
 * check_size - validates the value of a size option against its minimum
 * (0 allowed if @zero_ok). Exits with status 2 and a message naming the
 * option if the value is refused.
 */
static void check_size(const char *opt, const char *val, size_t min,
		       bool zero_ok, size_t *out)
{
	char mbuf[32];
	int rc = pre_parse_size(val, out);

	if (rc == -ERANGE)
		die(EXIT_USAGE, "--%s %s: too large; write e.g. 512M or 2G",
		    opt, val);
	if (rc)
		die(EXIT_USAGE, "--%s %s: not a size; write e.g. 512M or 2G",
		    opt, val);
	if (*out < min && !(zero_ok && *out == 0))
		die(EXIT_USAGE,
		    "--%s %s: below the minimum of %s; write at "
		    "least %zuM%s",
		    opt, val, pre_format_size(min, mbuf, sizeof(mbuf)),
		    min >> 20, zero_ok ? ", or 0 for no limit" : "");
}

/* Warns if a local budget above the machine's memory was asked for. */
static void check_budget(const char *val, size_t budget)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	char buf[32];
	size_t phys;

	if (pages <= 0 || psize <= 0)
		return;
	phys = (size_t)pages * (size_t)psize;
	if (budget > phys)
		warn("--local-mem %s is more than this machine's memory (%s); "
		     "running anyway, but the budget cannot keep the program "
		     "within it",
		     val, pre_format_size(phys, buf, sizeof(buf)));
}

/* Validates --children against the options table's choices. */
static void check_children(const char *val)
{
	const struct pre_option *opt = pre_option_find("CHILDREN");

	for (int i = 0; opt && opt->choices[i]; i++)
		if (strcmp(opt->choices[i], val) == 0)
			return;
	die(EXIT_USAGE, "--children %s: not a mode; write farmem or plain",
	    val);
}

/* The option that @val (getopt's optopt) names, for messages. */
static const char *opt_name(int val)
{
	for (const struct option *o = long_opts; o->name; o++)
		if (o->val == val)
			return o->name;
	return "?";
}

/* Reports a malformed or unknown option (argv[optind - 1]) and exits. */
static void bad_option(const char *arg, int optopt_val)
{
	const char *eq = strchr(arg, '=');

	if (optopt_val != 0 && eq != NULL && strncmp(arg, "--", 2) == 0)
		die(EXIT_USAGE, "--%s takes no value (%s); see " PROG " --help",
		    opt_name(optopt_val), arg);
	if (strncmp(arg, "--", 2) == 0)
		die(EXIT_USAGE,
		    "unknown or ambiguous option %s; see " PROG " --help", arg);
	if (optopt_val > 0 && optopt_val < 256)
		die(EXIT_USAGE, "unknown option -%c; see " PROG " --help",
		    optopt_val);
	die(EXIT_USAGE, "unknown option %s; see " PROG " --help", arg);
}

/* Appends --server @val to c->servers, after checking it is HOST:PORT. */
static void add_server(struct run_conf *c, const char *val)
{
	const char *colon = strrchr(val, ':');
	size_t old = c->servers ? strlen(c->servers) : 0;
	char *end;
	long port;

	if (colon == NULL || colon == val || strchr(val, ','))
		die(EXIT_USAGE,
		    "--server %s: expected HOST:PORT, e.g. --server "
		    "10.0.0.2:7070 (repeat the option for more servers)",
		    val);
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || port < 1 || port > 65535)
		die(EXIT_USAGE, "--server %s: the port must be 1 to 65535",
		    val);
	c->servers = realloc(c->servers, old + strlen(val) + 2);
	if (c->servers == NULL)
		die(EXIT_CANNOT_EXEC, "out of memory");
	sprintf(c->servers + old, "%s%s", old ? "," : "", val);
}

/* Parses the options into @c. Returns the index of PROGRAM in @argv. */
static int parse_args(int argc, char **argv, struct run_conf *c)
{
	size_t sz;
	int ch;

	opterr = 0;
	/* '+': stop at PROGRAM, its own options are its own; ':': report a
	 * missing value apart from an unknown option */
	while ((ch = getopt_long(argc, argv, "+:h", long_opts, NULL)) != -1) {
		switch (ch) {
		case OPT_LOCAL_MEM:
			check_size("local-mem", optarg, PRE_LOCAL_MEM_MIN, true,
				   &sz);
			check_budget(optarg, sz);
			c->local_mem = optarg;
			break;
		case OPT_REGION:
			check_size("region", optarg, PRE_REGION_MIN, false,
				   &sz);
			c->region = optarg;
			break;
		case OPT_STATS:
			c->stats = true;
			break;
		case OPT_STATS_FILE:
			if (optarg[0] == '\0')
				die(EXIT_USAGE,
				    "--stats-file needs a file "
				    "name, e.g. --stats-file stats.%%p");
			c->stats_file = optarg;
			c->stats = true;
			break;
		case OPT_VERBOSE:
			c->verbose = true;
			break;
		case OPT_CHILDREN:
			check_children(optarg);
			c->children = optarg;
			break;
		case OPT_SERVER:
			add_server(c, optarg);
			break;
		case OPT_PROVIDER:
			if (strcmp(optarg, "shm") && strcmp(optarg, "tcp"))
				die(EXIT_USAGE,
				    "--provider %s: not a provider; write shm "
				    "or tcp",
				    optarg);
			c->provider = optarg;
			break;
		case OPT_NO_SERVER:
			c->no_server = true;
			break;
		case 'h':
			usage();
			exit(0);
		case OPT_VERSION:
			printf(PROG " (farmem) %s\n", PACKAGE_VERSION);
			exit(0);
		case ':':
			die(EXIT_USAGE,
			    "--%s needs a value; see " PROG " --help",
			    opt_name(optopt));
		default:
			bad_option(argv[optind - 1], optopt);
		}
	}
	if (c->no_server && (c->servers || c->provider))
		die(EXIT_USAGE, "--no-server goes with neither --server nor "
				"--provider; pick one");
	if (c->servers && !getenv("FARMEM_TOKEN"))
		die(EXIT_USAGE, "--server: set FARMEM_TOKEN to the server's "
				"token (its --token-file or FARMEM_TOKEN)");
	if (c->servers && c->provider)
		die(EXIT_USAGE, "--provider is for the server farmem-run "
				"starts; with --server, the server chose its "
				"own");
	if (optind >= argc) {
		fputs(PROG ": no PROGRAM to run\n" USAGE "Try '" PROG
			   " --help' for more.\n",
		      stderr);
		exit(EXIT_USAGE);
	}
	return optind;
}

/* True if @path names a regular file. */
static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * find_library - the library to preload, as an absolute path into @out:
 * FARMEM_LIBRARY, else the build tree's when farmem-run runs from it, else
 * the installed one. Returns 0, or -ENOENT with the paths tried in @tried.
 */
static int find_library(char *out, char *tried, size_t len)
{
	const char *env = getenv("FARMEM_LIBRARY");
	char exe[PATH_MAX], dir[PATH_MAX], cand[PATH_MAX + 32];
	ssize_t n;
	size_t dl;

	tried[0] = '\0';
	if (env != NULL && env[0] != '\0') {
		snprintf(tried, len, "FARMEM_LIBRARY=%s", env);
		if (!is_file(env) || realpath(env, out) == NULL)
			return -ENOENT;
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0 && FM_BUILDDIR[0] != '\0' && realpath(FM_BUILDDIR, dir)) {
		exe[n] = '\0';
		dl = strlen(dir);
		if (strncmp(exe, dir, dl) == 0 && exe[dl] == '/') {
			snprintf(cand, sizeof(cand), "%s/.libs/" LIBNAME, dir);
			snprintf(tried, len, "%s", cand);
			if (is_file(cand) && realpath(cand, out))
				return 0;
		}
	}
	snprintf(cand, sizeof(cand), FM_LIBDIR "/" LIBNAME);
	dl = strlen(tried);
	snprintf(tried + dl, len - dl, "%s%s", dl ? ", " : "", cand);
	if (is_file(cand) && realpath(cand, out))
		return 0;
	return -ENOENT;
}

/*
 * is_farmem - true if the LD_PRELOAD entry @t loads farmem: the file @lib,
 * or any libfarmem.so (a second copy would start a second runtime).
 */
static bool is_farmem(const char *t, const char *lib)
{
	const char *base = strrchr(t, '/');
	struct stat st, sl;

	if (strcmp(base ? base + 1 : t, LIBNAME) == 0 || strcmp(t, lib) == 0)
		return true;
	/* ld.so looks a name without a slash up in the library path */
	return base && stat(t, &st) == 0 && stat(lib, &sl) == 0 &&
	       st.st_dev == sl.st_dev && st.st_ino == sl.st_ino;
}

/*
 * preload_strip - @old without its farmem entries, into @out (as long as
 * @old, plus one). Kept as written if it has none; otherwise the kept
 * entries joined by spaces (ld.so splits at spaces and colons alike).
 * Returns true if an entry was dropped.
 */
static bool preload_strip(const char *old, const char *lib, char *out)
{
	const char *p = old;
	bool dropped = false;

	out[0] = '\0';
	while (*p) {
		size_t n;
		char tok[PATH_MAX];

		p += strspn(p, " :");
		n = strcspn(p, " :");
		if (n == 0)
			break;
		snprintf(tok, sizeof(tok), "%.*s", (int)n, p);
		p += n;
		if (is_farmem(tok, lib)) {
			dropped = true;
			continue;
		}
		if (out[0])
			strcat(out, " ");
		strcat(out, tok);
	}
	if (!dropped)
		strcpy(out, old);
	return dropped;
}

/*
 * preload_value - LD_PRELOAD for the program: @lib first, then what the
 * caller had (@old, may be NULL) without farmem in it.
 * Returns a malloc'ed string, or NULL on ENOMEM.
 */
static char *preload_value(const char *lib, const char *old)
{
	size_t ll = strlen(lib);
	char *out;

	if (old == NULL)
		old = "";
	out = malloc(ll + strlen(old) + 2);
	if (out == NULL)
		return NULL;
	memcpy(out, lib, ll);
	out[ll] = ' ';
	preload_strip(old, lib, out + ll + 1);
	if (out[ll + 1 + strspn(out + ll + 1, " :")] == '\0')
		out[ll] = '\0';
	return out;
}

/*
 * shed_preload - re-executes farmem-run without the runtime when it was
 * preloaded here: started by a program that runs under farmem, farmem-run
 * inherits its LD_PRELOAD. The runtime belongs to the program, never to
 * this wrapper. Returns if it is not loaded, or cannot be shed.
 */
static void shed_preload(char **argv)
{
	const char *old = getenv("LD_PRELOAD");
	void *sym = dlsym(RTLD_DEFAULT, "fm_version");
	char *rest, self[PATH_MAX];
	Dl_info di;
	ssize_t n;

	if (old == NULL || sym == NULL || !dladdr(sym, &di) ||
	    di.dli_fname == NULL)
		return;
	rest = malloc(strlen(old) + 1);
	if (rest == NULL || !preload_strip(old, di.dli_fname, rest)) {
		free(rest);
		return;
	}
	if (rest[strspn(rest, " :")] == '\0')
		unsetenv("LD_PRELOAD");
	else
		setenv("LD_PRELOAD", rest, 1);
	/* by its name, not /proc/self/exe, so that it keeps its comm */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		execv(self, argv);
	}
	execv("/proc/self/exe", argv);
	setenv("LD_PRELOAD", old, 1); /* carry on, preloaded */
	free(rest);
}

/*
 * resolve_program - the file execvp would run for @name, into @out.
 * Returns 0, or -ENOENT if there is none (execvp will say so).
 */
static int resolve_program(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	struct stat st;

	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return stat(out, &st) == 0 ? 0 : -errno;
	}
	if (path == NULL)
		path = "/bin:/usr/bin"; /* glibc's execvp default */
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		int dl = (int)(end - p);

		/* an empty element is the current directory */
		snprintf(out, len, "%.*s%s%s", dl, p, dl ? "/" : "", name);
		if (access(out, X_OK) == 0 && stat(out, &st) == 0 &&
		    S_ISREG(st.st_mode))
			return 0;
		if (*end == '\0')
			break;
		p = end;
	}
	return -ENOENT;
}

/* What the ELF headers of a program say about the preload. */
struct elf_info {
	bool elf;	 /* an ELF file at all */
	bool interp;	 /* has PT_INTERP: ld.so runs and honours LD_PRELOAD */
	bool executable; /* ET_EXEC or ET_DYN */
	unsigned char cls; /* ELFCLASS32 / ELFCLASS64 */
	unsigned machine;  /* e_machine */
};

/* Reads exactly @len bytes at @off. Returns 0 or -EIO on a short file. */
static int read_at(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/*
 * elf_inspect - reads the ELF and program headers of @path, 32 or 64-bit,
 * in this machine's byte order (a foreign one cannot run here anyway).
 * Returns 0 (info->elf false for scripts and other non-ELF files) or a
 * negative errno.
 */
static int elf_inspect(const char *path, struct elf_info *info)
{
	unsigned char id[EI_NIDENT];
	uint64_t phoff, shoff;
	unsigned phnum, phentsize, type;
	int fd, rc;

	memset(info, 0, sizeof(*info));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = read_at(fd, id, sizeof(id), 0);
	if (rc || memcmp(id, ELFMAG, SELFMAG) != 0 ||
	    (id[EI_CLASS] != ELFCLASS32 && id[EI_CLASS] != ELFCLASS64) ||
	    id[EI_DATA] != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				? ELFDATA2LSB
				: ELFDATA2MSB)) {
		close(fd);
		return rc == -EIO ? 0 : rc;
	}
	if (id[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;
		rc = read_at(fd, &eh, sizeof(eh), 0);
		type = eh.e_type;
		info->machine = eh.e_machine;
		phoff = eh.e_phoff;
		shoff = eh.e_shoff;
		phnum = eh.e_phnum;
		phentsize = eh.e_phentsize;
	} else {
		Elf32_Ehdr eh;
		rc = read_at(fd, &eh, sizeof(eh), 0);
		type = eh.e_type;
		info->machine = eh.e_machine;
		phoff = eh.e_phoff;
		shoff = eh.e_shoff;
		phnum = eh.e_phnum;
		phentsize = eh.e_phentsize;
	}
	if (rc)
		goto out;
	info->elf = true;
	info->cls = id[EI_CLASS];
	info->executable = type == ET_EXEC || type == ET_DYN;
	/* more than 0xfffe headers: the count is in section header 0 */
	if (phnum == PN_XNUM) {
		if (id[EI_CLASS] == ELFCLASS64) {
			Elf64_Shdr sh;
			rc = read_at(fd, &sh, sizeof(sh), (off_t)shoff);
			phnum = sh.sh_info;
		} else {
			Elf32_Shdr sh;
			rc = read_at(fd, &sh, sizeof(sh), (off_t)shoff);
			phnum = sh.sh_info;
		}
		if (rc)
			goto out;
	}
	/* p_type is the first 32-bit word of both Elf32_Phdr and Elf64_Phdr */
	if (phentsize < sizeof(uint32_t)) {
		rc = -ENOEXEC;
		goto out;
	}
	for (unsigned i = 0; i < phnum; i++) {
		uint32_t ptype;
		rc = read_at(fd, &ptype, sizeof(ptype),
			     (off_t)(phoff + (uint64_t)i * phentsize));
		if (rc)
			goto out;
		if (ptype == PT_INTERP) {
			info->interp = true;
			break;
		}
	}
out:
	close(fd);
	return rc;
}

/*
 * secure_exec - why the kernel would run @path in secure mode for us
 * (ld.so then ignores LD_PRELOAD), or NULL. Mirrors the kernel's test: the
 * ids change, or a non-root user gains file capabilities.
 */
static const char *secure_exec(const char *path, const struct stat *st)
{
	struct statvfs vfs;

	if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID))
		return NULL;
	if ((st->st_mode & S_ISUID) &&
	    (st->st_uid != getuid() || st->st_uid != geteuid()))
		return "setuid";
	if ((st->st_mode & S_ISGID) && (st->st_mode & S_IXGRP) &&
	    st->st_gid != getgid())
		return "setgid";
	if (getuid() != 0 && getxattr(path, "security.capability", NULL, 0) > 0)
		return "given file capabilities";
	return NULL;
}

/* True if @path is the dynamic loader itself, which has no PT_INTERP but
 * honours LD_PRELOAD when run as a program. */
static bool is_loader(const char *path)
{
	char real[PATH_MAX];
	const char *base;

	if (realpath(path, real) == NULL)
		return false;
	base = strrchr(real, '/');
	base = base ? base + 1 : real;
	return strncmp(base, "ld-", 3) == 0 || strncmp(base, "ld.so", 5) == 0;
}

#define LOST "the preload is ignored; %s runs without far memory"

/*
 * check_program - warns when the preload would not take effect in @name.
 * Never refuses: the program runs anyway, without far memory.
 */
static void check_program(const char *name, const char *lib)
{
	char path[PATH_MAX];
	struct elf_info prog, own;
	const char *why;
	struct stat st;

	if (resolve_program(name, path, sizeof(path)) || stat(path, &st) != 0)
		return; /* exec reports it */
	why = secure_exec(path, &st);
	if (why) {
		warn("%s is %s: " LOST, name, why, name);
		return;
	}
	if (elf_inspect(path, &prog) || !prog.elf || !prog.executable)
		return;
	if (!prog.interp && !is_loader(path)) {
		warn("%s is a static binary: " LOST, name, name);
		return;
	}
	if (elf_inspect(lib, &own) || !own.elf)
		return;
	if (own.cls != prog.cls)
		warn("%s is a %d-bit program and %s is %d-bit: " LOST, name,
		     prog.cls == ELFCLASS32 ? 32 : 64, lib,
		     own.cls == ELFCLASS32 ? 32 : 64, name);
	else if (own.machine != prog.machine)
		warn("%s is built for another machine than %s: " LOST, name,
		     lib, name);
}

/* ---- the private memory server --------------------------------------- */

static pid_t server_pid;
static int server_out = -1; /* its stdout, kept open: it may print more */

/* Does the program need a server farmem-run starts? Only with a budget
 * (no budget, no eviction), no server named and --no-server not given. */
static bool want_server(const struct run_conf *c)
{
	const char *budget =
	    c->local_mem ? c->local_mem : getenv("FARMEM_LOCAL_MEM");
	const char *env = getenv("FARMEM_SERVERS");
	size_t sz;

	if (c->no_server || c->servers || (env && *env && !c->provider))
		return false;
	if (budget == NULL || *budget == '\0')
		return false;
	/* a bad value: the runtime refuses it with the reason */
	return pre_parse_size(budget, &sz) != 0 || sz != 0;
}

/* The farmem-server beside this farmem-run (the build tree, or the same
 * bin/), else the installed one, else on PATH. Returns 0 or -ENOENT. */
static int find_server(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if (snprintf(out, len, "%s/" SERVER, exe) < (int)len &&
			    access(out, X_OK) == 0)
				return 0;
		}
	}
	snprintf(out, len, FM_BINDIR "/" SERVER);
	if (access(out, X_OK) == 0)
		return 0;
	return resolve_program(SERVER, out, len);
}

/* A fresh random token, for the private server and its one program. */
static void make_token(char *out, size_t len)
{
	unsigned char r[16];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		die(EXIT_CANNOT_EXEC, "cannot make a token: getrandom: %s",
		    strerror(errno));
	for (i = 0; i < sizeof(r) && 2 * i + 2 < len; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

static void server_kill(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
		server_pid = 0;
	}
}

/* Reads the server's ready line from @fd into @addr ("HOST:PORT").
 * Returns 0, or -ETIMEDOUT, -EPIPE (it ended first) or -EPROTO. */
static int server_wait_ready(int fd, char *addr, size_t alen)
{
	static const char ready[] = SERVER ": ready on ";
	char buf[512];
	size_t have = 0;

	for (int waited = 0; waited < SERVER_START_S * 10;) {
		struct pollfd p = {fd, POLLIN, 0};
		char *nl, *line;
		ssize_t n;

		if (poll(&p, 1, 100) == 0) {
			waited++;
			continue;
		}
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		have += (size_t)n;
		buf[have] = '\0';
		nl = strchr(buf, '\n');
		if (nl == NULL) {
			if (have == sizeof(buf) - 1)
				return -EPROTO;
			continue;
		}
		line = strstr(buf, ready);
		if (line == NULL || line > nl)
			return -EPROTO;
		line += sizeof(ready) - 1;
		snprintf(addr, alen, "%.*s", (int)strcspn(line, " \n"), line);
		return 0;
	}
	return -ETIMEDOUT;
}

/*
 * start_server - starts a private farmem-server on loopback, in its own
 * session (a ^C at the terminal reaches the program, not the server) and
 * dying with farmem-run, and waits until it is ready. Sets
 * FARMEM_SERVERS and FARMEM_TOKEN for the program. Exits with a message
 * if the server does not start.
 */
static void start_server(const struct run_conf *c)
{
	/* tcp by default: libfabric 1.17's shm served a few hundred client
	 * processes, then none (farmem(7), LIMITATIONS) */
	const char *prov = c->provider ? c->provider : "tcp";
	char path[PATH_MAX], size[32], token[40], addr[128];
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	pid_t parent = getpid();
	int pfd[2], rc;

	if (find_server(path, sizeof(path)))
		die(EXIT_NOT_FOUND,
		    "cannot find " SERVER " (beside " PROG ", in " FM_BINDIR
		    " or on PATH) to keep the program's evicted memory; "
		    "install farmem, name a running server with --server "
		    "HOST:PORT, or use --no-server");
	/* the pool is address space until written: as large as this
	 * machine's memory, which is all it could hold */
	snprintf(size, sizeof(size), "%lldM",
		 pages > 0 && psize > 0 ? (long long)pages * psize >> 20
					: 1024LL);
	make_token(token, sizeof(token));
	if (setenv("FARMEM_TOKEN", token, 1) || pipe2(pfd, O_CLOEXEC))
		die(EXIT_CANNOT_EXEC, "cannot start " SERVER ": %s",
		    strerror(errno));
	fflush(NULL);
	server_pid = fork();
	if (server_pid < 0)
		die(EXIT_CANNOT_EXEC, "cannot start " SERVER ": fork: %s",
		    strerror(errno));
	if (server_pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		setsid();
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(EXIT_CANNOT_EXEC); /* farmem-run is gone */
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		dup2(pfd[1], STDOUT_FILENO);
		execl(path, SERVER, "--listen", "127.0.0.1:0", "--provider",
		      prov, "--size", size,
		      c->verbose ? "--verbose" : "--quiet", (char *)NULL);
		note("cannot run %s: %s", path, strerror(errno));
		_exit(EXIT_CANNOT_EXEC);
	}
	close(pfd[1]);
	server_out = pfd[0];
	rc = server_wait_ready(server_out, addr, sizeof(addr));
	if (rc) {
		server_kill();
		die(EXIT_CANNOT_EXEC,
		    "the memory server (%s --provider %s) did not start: %s; "
		    "its messages, if any, are above. Name a running server "
		    "with --server HOST:PORT, try --provider tcp, or use "
		    "--no-server",
		    path, prov,
		    rc == -ETIMEDOUT ? "no ready line within 30 s"
		    : rc == -EPIPE   ? "it exited"
				     : "unexpected output");
	}
	if (setenv("FARMEM_SERVERS", addr, 1))
		die(EXIT_CANNOT_EXEC, "out of memory");
	if (c->verbose)
		note("started %s (pid %ld) on %s, provider %s", path,
		     (long)server_pid, addr, prov);
}

/*
 * stop_server - the program has ended: asks the server to exit once idle,
 * and waits a little. Children the program left running (daemons) keep
 * their sessions, and the server stays until they end.
 */
static void stop_server(const struct run_conf *c)
{
	if (server_pid <= 0)
		return;
	kill(server_pid, SIGUSR2);
	for (int i = 0; i < SERVER_LINGER_MS / 10; i++) {
		pid_t r = waitpid(server_pid, NULL, WNOHANG);
		if (r == server_pid || (r < 0 && errno != EINTR)) {
			server_pid = 0;
			return;
		}
		usleep(10000);
	}
	if (c->verbose)
		note(SERVER " (pid %ld) stays until the programs still using "
			    "it exit",
		     (long)server_pid);
}

static void forward_signal(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno;

	/* The terminal sends ^C, ^\ and hangups to the whole foreground
	 * process group, the program included: do not deliver them twice. */
	if (si->si_code != SI_KERNEL && child_pid > 0)
		kill(child_pid, sig);
	errno = saved;
}

/*
 * child_env - sets the program's environment in the child. Returns 0 or
 * -ENOMEM.
 */
static int child_env(const struct run_conf *c, const char *preload)
{
	const struct {
		const char *name, *val;
	} vars[] = {
	    {"FARMEM_LOCAL_MEM", c->local_mem},
	    {"FARMEM_REGION", c->region},
	    {"FARMEM_STATS", c->stats ? "1" : NULL},
	    {"FARMEM_STATS_FILE", c->stats_file},
	    {"FARMEM_VERBOSE", c->verbose ? "1" : NULL},
	    {"FARMEM_CHILDREN", c->children},
	    {"FARMEM_SERVERS", c->servers},
	    {"LD_PRELOAD", preload},
	};
	char pid[32];

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (vars[i].val && setenv(vars[i].name, vars[i].val, 1))
			return -errno;
	/* the runtime tells the program from the processes it starts */
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (setenv("FARMEM_MAIN_PID", pid, 1))
		return -errno;
	/* read by farmem-run only; the runtime would warn it is unknown */
	unsetenv("FARMEM_LIBRARY");
	if (c->no_server)
		unsetenv("FARMEM_SERVERS");
	return 0;
}

/* In the child: the environment for the program, then exec. Never returns. */
static void run_child(char **argv, const struct run_conf *c,
		      const char *preload)
{
	int err = -child_env(c, preload);

	if (err == 0) {
		execvp(argv[0], argv);
		err = errno;
	}
	note("cannot run %s: %s", argv[0], strerror(err));
	_exit(err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/*
 * run - forks and execs @argv in the child, forwards signals to it and
 * waits. Returns the status to exit with: the program's, or 128+N if
 * signal N killed it.
 */
static int run(char **argv, const struct run_conf *c, const char *preload)
{
	struct sigaction sa;
	sigset_t block, old;
	int status;
	pid_t pid;

	/* no signal may reach the handler before child_pid is known, nor the
	 * child before it execs: block them across fork */
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&block, forwarded[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die(EXIT_CANNOT_EXEC, "cannot fork: %s", strerror(errno));
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		run_child(argv, c, preload);
	}
	child_pid = pid;
	if (c->verbose)
		note("running %s as pid %ld with LD_PRELOAD=%s", argv[0],
		     (long)pid, preload);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = forward_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++) {
		struct sigaction cur;
		/* ignored on entry (nohup, a background job): the program
		 * inherited that, and there is nothing to forward */
		if (sigaction(forwarded[i], NULL, &cur) == 0 &&
		    cur.sa_handler == SIG_IGN)
			continue;
		sigaction(forwarded[i], &sa, NULL);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die(EXIT_CANNOT_EXEC, "cannot wait for %s: %s", argv[0],
			    strerror(errno));
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	struct run_conf conf = {0};
	char lib[PATH_MAX], tried[2 * PATH_MAX + 64];
	char *preload;
	int first, rc;

	shed_preload(argv);
	first = parse_args(argc, argv, &conf);
	if (find_library(lib, tried, sizeof(tried)))
		die(EXIT_NOT_FOUND,
		    "cannot find " LIBNAME " (tried %s); "
		    "install farmem or set FARMEM_LIBRARY to its path",
		    tried);
	if (strpbrk(lib, " :"))
		die(EXIT_NOT_FOUND,
		    "%s: LD_PRELOAD cannot carry a path with a "
		    "space or colon; set FARMEM_LIBRARY to a path without "
		    "them",
		    lib);
	preload = preload_value(lib, getenv("LD_PRELOAD"));
	if (preload == NULL)
		die(EXIT_CANNOT_EXEC, "out of memory");
	check_program(argv[first], lib);
	if (want_server(&conf))
		start_server(&conf);
	rc = run(argv + first, &conf, preload);
	stop_server(&conf);
	return rc;
}
