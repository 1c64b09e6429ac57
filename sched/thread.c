/* SPDX-License-Identifier: MIT */
/* Runtime threads: signals blocked, private allocations, spin-then-block. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "heap/heap.h"
#include "sched.h"

struct start {
	void *(*fn)(void *);
	void *arg;
	char name[16];
};

static void *thread_main(void *p)
{
	struct start s = *(struct start *)p;

	heap_runtime_thread_begin();
	heap_priv_free(p);
	pthread_setname_np(pthread_self(), s.name);
	return s.fn(s.arg);
}

/* Runtime threads never end, and their stacks are private memory. */
#define SCHED_STACK ((size_t)1 << 20)

int sched_thread_start(pthread_t *t, const char *name, void *(*fn)(void *),
		       void *arg)
{
	pthread_attr_t attr;
	sigset_t all, old;
	struct start *s;
	void *stack;
	int rc;

	s = heap_priv_alloc(sizeof(*s), 0);
	stack = heap_priv_alloc(SCHED_STACK, 4096);
	if (s == NULL || stack == NULL) {
		heap_priv_free(s);
		heap_priv_free(stack);
		return -ENOMEM;
	}
	s->fn = fn;
	s->arg = arg;
	snprintf(s->name, sizeof(s->name), "%s", name);
	/*
	 * In a forked child the pager thread is started before anything can
	 * serve the region's faults, so creating it must not touch the
	 * region: glibc's stack cache would walk the parent's dead threads'
	 * DTVs (malloc'ed, maybe evicted), so the stack is ours; and the new
	 * thread's DTV and TLS come from malloc, so this thread allocates
	 * privately meanwhile.
	 */
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, stack, SCHED_STACK);
	/* the new thread inherits the mask: no window with signals open */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	heap_runtime_enter();
	rc = pthread_create(t, &attr, thread_main, s);
	heap_runtime_leave();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc) {
		heap_priv_free(s);
		heap_priv_free(stack);
		return -rc;
	}
	return 0;
}

uint64_t sched_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* idle_ns - how long the stretch @s has lasted; starts it if none. */
static uint64_t idle_ns(struct sched_idle *s)
{
	uint64_t now = sched_now_ns();

	if (s->since == 0) {
		s->since = now;
		return 0;
	}
	return now - s->since;
}

int sched_idle_should_block(struct sched_idle *s)
{
	return idle_ns(s) > SCHED_SPIN_NS;
}

void sched_idle_reset(struct sched_idle *s)
{
	s->since = 0;
}

uint64_t sched_idle_pause(struct sched_idle *s)
{
	uint64_t ns = idle_ns(s);

	if (ns > SCHED_YIELD_NS)
		sched_yield();
	return ns;
}
