/* SPDX-License-Identifier: MIT */
/*
 * Start-up as a table of named steps, run once by the first allocation
 * after libc is up (or by our constructor, whichever comes first), and the
 * exit path.
 */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "heap/heap.h"
#include "pre.h"

extern char **environ;

FM_HIDDEN int pre_state = PRE_UNINIT;
static struct pre_libc libc_fns;
static const char *fail_hint;

const struct pre_libc *pre_libc(void)
{
	return &libc_fns;
}

/* A process started by the program (fork + exec) rather than the program
 * itself. Unknown without farmem-run's FARMEM_MAIN_PID. */
static bool is_child(void)
{
	return pre_opt.main_pid != 0 && pre_opt.main_pid != (long)getpid();
}

static int step_options(void)
{
	int rc = pre_options_load(environ, &pre_opt);

	pre_log_level = pre_opt.log_level;
	if (pre_opt.verbose && pre_log_level < FM_LOG_INFO)
		pre_log_level = FM_LOG_INFO;
	if (rc)
		fail_hint = "fix the FARMEM_* value named above";
	return rc;
}

static int step_log(void)
{
	int rc = pre_log_open(pre_opt.log_file);

	if (rc)
		pre_log(FM_LOG_WARN, "",
			"cannot open FARMEM_LOG_FILE=%s: %s; "
			"logging to stderr",
			pre_opt.log_file, strerror(-rc));
	if (pre_opt.verbose && !is_child())
		pre_options_print(&pre_opt);
	return 0;
}

/* libc's allocator, for pass-through. dlsym may allocate: it is served by
 * the bootstrap area while the state is PRE_INITING. */
static int step_libc(void)
{
	libc_fns.malloc = dlsym(RTLD_NEXT, "malloc");
	libc_fns.free = dlsym(RTLD_NEXT, "free");
	libc_fns.calloc = dlsym(RTLD_NEXT, "calloc");
	libc_fns.realloc = dlsym(RTLD_NEXT, "realloc");
	libc_fns.memalign = dlsym(RTLD_NEXT, "memalign");
	libc_fns.usable = dlsym(RTLD_NEXT, "malloc_usable_size");
	if (!libc_fns.malloc || !libc_fns.free || !libc_fns.calloc ||
	    !libc_fns.realloc || !libc_fns.memalign || !libc_fns.usable) {
		fail_hint = "libc's malloc was not found (static program?)";
		return -ENOENT;
	}
	return 0;
}

static int step_region(void)
{
	int rc = heap_region_init(pre_opt.region);

	if (rc)
		fail_hint = "lower FARMEM_REGION, or raise the address-space "
			    "limit (ulimit -v) and vm.overcommit_memory";
	return rc;
}

static int step_threads(void)
{
	int rc = heap_init_threads();

	if (rc)
		fail_hint = "pthread keys exhausted";
	return rc;
}

/* What to do when the memory servers in FARMEM_SERVERS cannot be used
 * (the backend has logged which one, and why). */
static const char *backend_hint(int rc)
{
	switch (rc) {
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
	case -ETIMEDOUT:
	case -ECONNRESET:
		return "no farmem-server answers at FARMEM_SERVERS: start one "
		       "(farmem-server --listen HOST:PORT), or run the program "
		       "with farmem-run and no --server, which starts its own";
	case -EACCES:
	case -EPERM:
		return "the memory server refused the token: set FARMEM_TOKEN "
		       "to the server's (its --token-file or FARMEM_TOKEN)";
	case -ENOPKG:
		return "install libfabric (apt-get install libfabric1)";
	default:
		return "check FARMEM_SERVERS (host:port[,host:port...]) and "
		       "the memory server's log";
	}
}

static int step_pager(void)
{
	bool backend_failed = false;
	int rc;

	if (pre_opt.local_mem == 0)
		return 0; /* no budget: nothing to page */
	rc = pager_init(pre_opt.local_mem, pre_opt.servers, pre_opt.victim,
			&backend_failed);
	if (rc && backend_failed)
		fail_hint =
		    pre_opt.servers ? backend_hint(rc) : "see FARMEM_LOG=debug";
	else if (rc == -EPERM)
		fail_hint =
		    "creating a userfaultfd needs root, CAP_SYS_PTRACE, "
		    "read-write access to /dev/userfaultfd, or sysctl "
		    "vm.unprivileged_userfaultfd=1";
	else if (rc == -EINVAL)
		fail_hint = "this kernel lacks userfaultfd features farmem "
			    "needs (UFFDIO_MOVE: Linux 6.8 or later)";
	else if (rc)
		fail_hint = "see FARMEM_LOG=debug";
	if (rc)
		return rc;
	/* registered after heap_init_threads: prepare handlers run in
	 * reverse order, so the pager is paused before the heap's locks are
	 * taken (pausing may allocate) */
	rc = pthread_atfork(pager_fork_prepare, pager_fork_parent,
			    pager_fork_child);
	return -rc;
}

static int step_stats(void)
{
	heap_stats_track(pre_opt.stats);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(void);
} init_steps[] = {
    {"options", step_options}, {"log", step_log},	  {"libc", step_libc},
    {"region", step_region},   {"threads", step_threads}, {"pager", step_pager},
    {"stats", step_stats},
};

int pre_init(void)
{
	int expected = PRE_UNINIT;
	char buf[32];

	if (!__atomic_compare_exchange_n(&pre_state, &expected, PRE_INITING,
					 false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return expected;
	for (size_t i = 0; i < sizeof(init_steps) / sizeof(init_steps[0]);
	     i++) {
		int rc;

		FM_DBG(init, "step %s", init_steps[i].name);
		rc = init_steps[i].fn();
		if (rc == 0)
			continue;
		if (is_child() ||
		    pre_opt.fallback == PRE_FALLBACK_PASSTHROUGH) {
			pre_log(FM_LOG_WARN, "",
				"cannot start (%s: %s; %s); "
				"this process runs on libc malloc without far "
				"memory",
				init_steps[i].name, strerror(-rc),
				fail_hint ? fail_hint : "see man farmem");
			if (libc_fns.malloc == NULL && step_libc() != 0)
				_exit(127); /* nothing left to allocate with */
			__atomic_store_n(&pre_state, PRE_PASSTHROUGH,
					 __ATOMIC_RELEASE);
			return PRE_PASSTHROUGH;
		}
		pre_log(FM_LOG_ERROR, "",
			"cannot start: %s failed: %s; %s; or "
			"set FARMEM_FALLBACK=passthrough to run without far "
			"memory",
			init_steps[i].name, strerror(-rc),
			fail_hint ? fail_hint : "see man farmem");
		_exit(1);
	}
	if (pre_opt.main_pid != 0 && pre_opt.children == PRE_CHILDREN_PLAIN &&
	    is_child()) {
		/* the region stays reserved but unused: cheap, and keeps one
		 * start-up path */
		FM_INFO(init,
			"FARMEM_CHILDREN=plain: pid %d runs on libc malloc",
			(int)getpid());
		__atomic_store_n(&pre_state, PRE_PASSTHROUGH, __ATOMIC_RELEASE);
		return PRE_PASSTHROUGH;
	}
	FM_INFO(init, "ready: %s region at %p, pid %d",
		pre_format_size(heap_region_size, buf, sizeof(buf)),
		(void *)heap_region_base, (int)getpid());
	__atomic_store_n(&pre_state, PRE_READY, __ATOMIC_RELEASE);
	return PRE_READY;
}

__attribute__((constructor)) static void pre_constructor(void)
{
	if (pre_state == PRE_UNINIT)
		pre_init();
}

/* Statistics at exit: our destructor runs after the program's and before
 * mimalloc's (a dependency, finalised after us). */
__attribute__((destructor)) static void pre_destructor(void)
{
	if (pre_opt.stats && pre_state == PRE_READY)
		pre_stats_print();
}
