/* SPDX-License-Identifier: MIT */
/* preload/ private interface: start-up, options table, logging. */
#ifndef FARMEM_PRE_H
#define FARMEM_PRE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FM_LIKELY(x)   __builtin_expect(!!(x), 1)
#define FM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define FM_HIDDEN      __attribute__((visibility("hidden")))
#define FM_EXPORT      __attribute__((visibility("default")))
/* Our TLS must never go through __tls_get_addr, which may allocate. */
#define FM_TLS __thread __attribute__((tls_model("initial-exec")))

/* ---- logging ---------------------------------------------------------- */

enum fm_log_level {
	FM_LOG_ERROR = 0,
	FM_LOG_WARN = 1,
	FM_LOG_INFO = 2,
	FM_LOG_DEBUG = 3,
};

extern int pre_log_level;

/*
 * pre_log - writes "farmem[pid]: subsys: message\n" to the log descriptor
 * with one write(2). No malloc, no stdio; errno is preserved.
 */
void pre_log(int level, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pre_vlog(int level, const char *subsys, const char *fmt, va_list ap);

/* pre_log_open - sends log lines to @path (appended), or to a private
 * copy of stderr if NULL. Returns 0 or a negative errno. */
int pre_log_open(const char *path);
/* pre_log_fd - where log lines (and the exit statistics) go. */
int pre_log_fd(void);

#define FM_LOG(lvl, sub, ...)                                                  \
	do {                                                                   \
		if ((lvl) <= pre_log_level)                                    \
			pre_log((lvl), #sub, __VA_ARGS__);                     \
	} while (0)
#define FM_ERR(sub, ...)  FM_LOG(FM_LOG_ERROR, sub, __VA_ARGS__)
#define FM_WARN(sub, ...) FM_LOG(FM_LOG_WARN, sub, __VA_ARGS__)
#define FM_INFO(sub, ...) FM_LOG(FM_LOG_INFO, sub, __VA_ARGS__)
#ifdef FM_DEBUG
#define FM_DBG(sub, ...) FM_LOG(FM_LOG_DEBUG, sub, __VA_ARGS__)
#else
/* compiled out, still format-checked */
#define FM_DBG(sub, ...)                                                       \
	do {                                                                   \
		if (0)                                                         \
			pre_log(FM_LOG_DEBUG, #sub, __VA_ARGS__);              \
	} while (0)
#endif
/* Rate-limited: the first 5 occurrences of this call site, then silence. */
#define FM_WARN_RL(sub, ...)                                                   \
	do {                                                                   \
		static int fm_rl_count_;                                       \
		if (__atomic_fetch_add(&fm_rl_count_, 1, __ATOMIC_RELAXED) <   \
		    5)                                                         \
			FM_WARN(sub, __VA_ARGS__);                             \
	} while (0)

/* pre_bug - reports a broken invariant and aborts. Never returns. */
void pre_bug(const char *file, int line, const char *what)
    __attribute__((noreturn));
/* Stays in release builds: for invariants whose failure would corrupt. */
#define FM_BUG_ON(cond)                                                        \
	do {                                                                   \
		if (FM_UNLIKELY(cond))                                         \
			pre_bug(__FILE__, __LINE__, #cond);                    \
	} while (0)
#ifdef FM_DEBUG
#define fm_assert(cond) FM_BUG_ON(!(cond))
#else
#define fm_assert(cond) ((void)0)
#endif

/* ---- options ---------------------------------------------------------- */

enum pre_children { PRE_CHILDREN_FARMEM = 0, PRE_CHILDREN_PLAIN = 1 };
enum pre_fallback { PRE_FALLBACK_REFUSE = 0, PRE_FALLBACK_PASSTHROUGH = 1 };

/* Every option in force; filled from FARMEM_* by pre_options_load(). */
struct pre_options {
	size_t local_mem;	/* FARMEM_LOCAL_MEM, 0 = no limit */
	size_t region;		/* FARMEM_REGION */
	bool verbose;		/* FARMEM_VERBOSE */
	bool stats;		/* FARMEM_STATS */
	const char *stats_file; /* FARMEM_STATS_FILE, NULL = stderr */
	int log_level;		/* FARMEM_LOG */
	const char *log_file;	/* FARMEM_LOG_FILE, NULL = stderr */
	int children;		/* FARMEM_CHILDREN */
	int fallback;		/* FARMEM_FALLBACK */
	int victim;		/* FARMEM_VICTIM: enum pager_victim */
	long main_pid;		/* FARMEM_MAIN_PID, 0 = unknown */
	const char *servers;	/* FARMEM_SERVERS, NULL = in-process */
	const char *token;	/* FARMEM_TOKEN (farmem-server sessions) */
	const char *library;	/* FARMEM_LIBRARY (farmem-run's choice) */
};

extern struct pre_options pre_opt;

/* Smallest region: two mimalloc segments plus room to grow. */
#define PRE_REGION_MIN	  ((size_t)64 << 20)
#define PRE_LOCAL_MEM_MIN ((size_t)16 << 20)

enum pre_opt_type {
	PRE_OPT_SIZE,
	PRE_OPT_BOOL,
	PRE_OPT_ENUM,
	PRE_OPT_STRING,
	PRE_OPT_PID
};

/* One row of the options table. */
struct pre_option {
	const char *name; /* without the FARMEM_ prefix */
	enum pre_opt_type type;
	const char *defval;	    /* as the user would write it */
	const char *const *choices; /* PRE_OPT_ENUM: NULL-terminated */
	size_t min;    /* PRE_OPT_SIZE: smallest accepted, 0 = none */
	bool fatal;    /* a bad value refuses to start */
	size_t offset; /* into struct pre_options */
	const char *help;
};

extern const struct pre_option pre_option_table[];
extern const size_t pre_option_count;

/*
 * pre_parse_size - parses "123", "64K", "2G", "1.5GiB", "512MB" (binary
 * units, case-insensitive). Returns 0, -EINVAL (not a size) or -ERANGE.
 */
int pre_parse_size(const char *s, size_t *out);
/* pre_parse_bool - 1/0, yes/no, on/off, true/false. Returns 0 or -EINVAL. */
int pre_parse_bool(const char *s, bool *out);
/* pre_format_size - "1.5 GiB"-style into @buf. Returns @buf. */
char *pre_format_size(size_t n, char *buf, size_t len);
/* pre_option_suggest - the table name closest to @name (edit distance),
 * or NULL if none is close. @name excludes the FARMEM_ prefix. */
const char *pre_option_suggest(const char *name);
/* pre_option_find - table row of @name (without prefix), or NULL. */
const struct pre_option *pre_option_find(const char *name);

/*
 * pre_options_load - fills @o from @envp: defaults first, then each
 * FARMEM_* value. Bad values and unknown names are warned about (naming the
 * variable and what to do); the default stands. Returns 0, or -EINVAL if a
 * fatal option had a bad value (the caller must not start).
 */
int pre_options_load(char *const *envp, struct pre_options *o);
/* pre_options_print - logs the version and every option in force. */
void pre_options_print(const struct pre_options *o);

/* ---- start-up --------------------------------------------------------- */

enum pre_state {
	PRE_UNINIT = 0,	 /* nothing done; allocations use the bootstrap area */
	PRE_INITING = 1, /* one thread is running the init steps */
	PRE_READY = 2,	 /* the managed heap serves allocations */
	PRE_PASSTHROUGH = 3, /* the runtime could not start: libc serves them */
};

extern int pre_state;

/* pre_init - runs the start-up table once. Returns the resulting state. */
int pre_init(void);
/* pre_libc - libc's own allocator, resolved on first use. */
struct pre_libc {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*memalign)(size_t, size_t);
	size_t (*usable)(void *);
};
const struct pre_libc *pre_libc(void);
/* pre_stats_print - writes the exit statistics table (FARMEM_STATS). */
void pre_stats_print(void);

#endif
