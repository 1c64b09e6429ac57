/* SPDX-License-Identifier: MIT */
/* What the backends share: fork generations (fab.h). */
#include "config.h"
#include <pthread.h>
#include "fabric/fab.h"

unsigned fab_fork_gen;
static pthread_once_t fork_gen_once = PTHREAD_ONCE_INIT;

static void fork_gen_child(void)
{
	fab_fork_gen++;
}

static void fork_gen_init(void)
{
	pthread_atfork(NULL, NULL, fork_gen_child);
}

unsigned fab_fork_gen_open(void)
{
	pthread_once(&fork_gen_once, fork_gen_init);
	return __atomic_load_n(&fab_fork_gen, __ATOMIC_RELAXED);
}
