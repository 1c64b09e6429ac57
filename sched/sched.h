/* SPDX-License-Identifier: MIT */
/* sched/ private interface: runtime threads and how they wait. */
#ifndef FARMEM_SCHED_H
#define FARMEM_SCHED_H

#include <pthread.h>
#include <stdint.h>

/*
 * sched_thread_start - starts a runtime thread running @fn(@arg): every
 * signal blocked (a handler of the program must never run on it and touch
 * the region), its allocations sent to the private allocator, named @name.
 * Returns 0 or a negative errno.
 */
int sched_thread_start(pthread_t *t, const char *name, void *(*fn)(void *),
		       void *arg);

/* sched_now_ns - CLOCK_MONOTONIC in nanoseconds. */
uint64_t sched_now_ns(void);

/*
 * Spin, then block: a waiter polls while work arrives often and sleeps only
 * after SCHED_SPIN_NS without any (a wake-up costs ~40 us on these VMs,
 * DESIGN.md). sched_idle_should_block starts or continues an idle stretch
 * and returns true once it is time to block; sched_idle_reset ends it.
 */
#define SCHED_SPIN_NS (200 * 1000)
struct sched_idle {
	uint64_t since; /* 0: busy */
};
int sched_idle_should_block(struct sched_idle *s);
void sched_idle_reset(struct sched_idle *s);

/*
 * sched_idle_pause - one empty turn of a wait that cannot block: a
 * transfer in flight that only our polling moves. Spins for
 * SCHED_YIELD_NS, then gives the core away at every turn (sched_yield),
 * so that on a busy machine whoever must answer us gets to run: a
 * farmem-server on the same cores, another process's pager. Polling
 * without yielding, two tests over servers on two cores ran 10x slower
 * than one after the other. Ended, like a stretch, by sched_idle_reset.
 * Returns how long the stretch has lasted (ns), for a caller's deadline.
 */
#define SCHED_YIELD_NS (20 * 1000)
uint64_t sched_idle_pause(struct sched_idle *s);

#endif
