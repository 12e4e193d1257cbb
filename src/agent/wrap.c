// SPDX-License-Identifier: MIT
/*
 * The agent's entry points for static programs (libheapscope_wrap.a only; never part of
 * libheapscope.so). A static program has no dynamic loader to interpose on malloc, so it is
 * linked with `-Wl,--wrap=malloc,...` (cmake/heapscope-wrap.flags, docs/CROSS.md): every
 * reference to malloc then goes to __wrap_malloc, and __real_malloc names the C library's.
 *
 * This file compiles the same hook bodies as libheapscope.so, renamed: hooks.c's allocation
 * functions become __wrap_NAME, and lifecycle.c's process hooks (exec*, _exit, dlclose,
 * pthread_create), which a static program cannot interpose and whose real functions cannot
 * be looked up, get names nothing calls: the static agent writes its recording from its
 * destructor, at exit(), as the shared one does, but not at _exit() or before an exec.
 * realfns.c, built with HEAPSCOPE_WRAP, takes the real functions from the __real_ symbols
 * (dlsym(RTLD_NEXT) means nothing in a static program). C++ operators are not wrapped:
 * libstdc++'s operator new and delete call malloc and free, which are, so their blocks are
 * recorded with the allocator "malloc" under an "operator new" frame.
 *
 * The renaming is done by macros before #include, so that the hooks have one source. The
 * macros also rename the struct hs_real members of the same names inside this translation
 * unit (for lifecycle.c too, so they stay defined); the layout is the same, so the other
 * files agree with it.
 */
#ifndef HEAPSCOPE_WRAP
#error "wrap.c belongs to libheapscope_wrap.a (built with HEAPSCOPE_WRAP)"
#endif

#define malloc __wrap_malloc
#define calloc __wrap_calloc
#define realloc __wrap_realloc
#define reallocarray __wrap_reallocarray
#define free __wrap_free
#define memalign __wrap_memalign
#define aligned_alloc __wrap_aligned_alloc
#define posix_memalign __wrap_posix_memalign
#define valloc __wrap_valloc
#define pvalloc __wrap_pvalloc
#define malloc_usable_size __wrap_malloc_usable_size
#include "hooks.c"

#define _exit hs_wrap_unused__exit
#define _Exit hs_wrap_unused__Exit
#define execve hs_wrap_unused_execve
#define execv hs_wrap_unused_execv
#define execvp hs_wrap_unused_execvp
#define execvpe hs_wrap_unused_execvpe
#define fexecve hs_wrap_unused_fexecve
#define execl hs_wrap_unused_execl
#define execlp hs_wrap_unused_execlp
#define execle hs_wrap_unused_execle
#define dlclose hs_wrap_unused_dlclose
#define pthread_create hs_wrap_unused_pthread_create
#include "lifecycle.c"
