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

	heap_runtime_enter();
	heap_priv_free(p);
	pthread_setname_np(pthread_self(), s.name);
	return s.fn(s.arg);
}

int sched_thread_start(pthread_t *t, const char *name, void *(*fn)(void *),
		       void *arg)
{
	sigset_t all, old;
	struct start *s;
	int rc;

	s = heap_priv_alloc(sizeof(*s), 0);
	if (s == NULL)
		return -ENOMEM;
	s->fn = fn;
	s->arg = arg;
	snprintf(s->name, sizeof(s->name), "%s", name);
	/* the new thread inherits the mask: no window with signals open */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, thread_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		heap_priv_free(s);
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

int sched_idle_should_block(struct sched_idle *s)
{
	uint64_t now = sched_now_ns();

	if (s->since == 0) {
		s->since = now;
		return 0;
	}
	return now - s->since > SCHED_SPIN_NS;
}

void sched_idle_reset(struct sched_idle *s)
{
	s->since = 0;
}
