/* SPDX-License-Identifier: MIT */
/*
 * The C++ allocation operators, by their mangled names. Debian's
 * libmimalloc.so exports all of them: a C++ library loaded into a C program
 * would otherwise bind to mimalloc's default heap, outside the region.
 * Written in C so that C programs do not load libstdc++; when new fails,
 * the program's new_handler and std::__throw_bad_alloc are looked up in its
 * own libstdc++ (it has one, or it would not call operator new).
 */
#include "config.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdlib.h>

#include "pre.h"

typedef void (*new_handler_t)(void);

static void *cxx_alloc(size_t n, size_t align)
{
	if (align <= 16)
		return malloc(n ? n : 1);
	void *p = NULL;
	return posix_memalign(&p, align, n ? n : 1) == 0 ? p : NULL;
}

/* operator new's contract: call the new_handler until it gives up, then
 * throw std::bad_alloc (or return NULL for the nothrow forms). */
static void *__attribute__((noinline))
cxx_new_failed(size_t n, size_t align, bool nothrow)
{
	new_handler_t (*get)(void) = (new_handler_t(*)(void))dlsym(
	    RTLD_DEFAULT, "_ZSt15get_new_handlerv");
	void (*throw_bad_alloc)(void);

	for (;;) {
		new_handler_t h = get ? get() : NULL;
		void *p;

		if (h == NULL || nothrow)
			break;
		h(); /* may throw, may free memory */
		p = cxx_alloc(n, align);
		if (p)
			return p;
	}
	if (nothrow)
		return NULL;
	throw_bad_alloc =
	    (void (*)(void))dlsym(RTLD_DEFAULT, "_ZSt17__throw_bad_allocv");
	if (throw_bad_alloc)
		throw_bad_alloc();
	pre_log(FM_LOG_ERROR, "",
		"operator new(%zu) failed and std::bad_alloc "
		"cannot be thrown",
		n);
	abort();
}

static inline void *cxx_new(size_t n, size_t align, bool nothrow)
{
	void *p = cxx_alloc(n, align);

	return FM_LIKELY(p != NULL) ? p : cxx_new_failed(n, align, nothrow);
}

#define NEW(name, align_arg, nothrow_arg, align, nothrow)                      \
	FM_EXPORT void *name(size_t n align_arg nothrow_arg)                   \
	{                                                                      \
		return cxx_new(n, align, nothrow);                             \
	}
#define DEL(name, args)                                                        \
	FM_EXPORT void name(void *p args)                                      \
	{                                                                      \
		free(p);                                                       \
	}

/* std::align_val_t is a size_t enum; std::nothrow_t is passed by reference */
#define A , size_t al
#define T , const void *nt
#define S , size_t sz

NEW(_Znwm, , , 0, false)
NEW(_Znam, , , 0, false)
NEW(_ZnwmRKSt9nothrow_t, , T, 0, true)
NEW(_ZnamRKSt9nothrow_t, , T, 0, true)
NEW(_ZnwmSt11align_val_t, A, , al, false)
NEW(_ZnamSt11align_val_t, A, , al, false)
NEW(_ZnwmSt11align_val_tRKSt9nothrow_t, A, T, al, true)
NEW(_ZnamSt11align_val_tRKSt9nothrow_t, A, T, al, true)

DEL(_ZdlPv, )
DEL(_ZdaPv, )
DEL(_ZdlPvm, S)
DEL(_ZdaPvm, S)
DEL(_ZdlPvSt11align_val_t, A)
DEL(_ZdaPvSt11align_val_t, A)
DEL(_ZdlPvmSt11align_val_t, S A)
DEL(_ZdaPvmSt11align_val_t, S A)
DEL(_ZdlPvRKSt9nothrow_t, T)
DEL(_ZdaPvRKSt9nothrow_t, T)
DEL(_ZdlPvSt11align_val_tRKSt9nothrow_t, A T)
DEL(_ZdaPvSt11align_val_tRKSt9nothrow_t, A T)
