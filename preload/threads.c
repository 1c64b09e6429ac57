/* SPDX-License-Identifier: MIT */
/*
 * pthread_create: threads started by a runtime thread (libfabric's, libc's
 * helpers) are runtime threads too, so their allocations stay out of the
 * region. Application threads pass straight through.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>

#include "heap/heap.h"
#include "pre.h"

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
			 void *);

struct trampoline {
	void *(*fn)(void *);
	void *arg;
};

static void *runtime_start(void *arg)
{
	struct trampoline t = *(struct trampoline *)arg;

	heap_runtime_thread_begin();
	heap_priv_free(arg);
	return t.fn(t.arg);
}

FM_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr,
			     void *(*fn)(void *), void *arg)
{
	static create_fn real;
	struct trampoline *t;
	int rc;

	if (real == NULL) {
		real = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
		if (real == NULL)
			return EAGAIN;
	}
	if (!heap_is_runtime_thread())
		return real(th, attr, fn, arg);
	t = heap_priv_alloc(sizeof(*t), 0);
	if (t == NULL)
		return EAGAIN;
	t->fn = fn;
	t->arg = arg;
	rc = real(th, attr, runtime_start, t);
	if (rc)
		heap_priv_free(t);
	return rc;
}
