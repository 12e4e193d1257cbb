/* SPDX-License-Identifier: MIT */
/*
 * The mangled names of operator new and delete where size_t is unsigned int (32-bit ARM,
 * i386: 'j') instead of unsigned long ('m'). hooks_cxx.c is written with the 64-bit names;
 * included there, this maps each of them, and the variable caching its next definition,
 * to the names the C++ runtime really exports on such targets. Nothing else belongs here.
 */
#ifndef HS_CXX_MANGLE_H
#define HS_CXX_MANGLE_H

#if __SIZEOF_SIZE_T__ == 4
#define _Znwm _Znwj
#define _Znam _Znaj
#define _ZnwmRKSt9nothrow_t _ZnwjRKSt9nothrow_t
#define _ZnamRKSt9nothrow_t _ZnajRKSt9nothrow_t
#define _ZnwmSt11align_val_t _ZnwjSt11align_val_t
#define _ZnamSt11align_val_t _ZnajSt11align_val_t
#define _ZnwmSt11align_val_tRKSt9nothrow_t _ZnwjSt11align_val_tRKSt9nothrow_t
#define _ZnamSt11align_val_tRKSt9nothrow_t _ZnajSt11align_val_tRKSt9nothrow_t
#define real__Znwm real__Znwj
#define real__Znam real__Znaj
#define real__ZnwmRKSt9nothrow_t real__ZnwjRKSt9nothrow_t
#define real__ZnamRKSt9nothrow_t real__ZnajRKSt9nothrow_t
#define real__ZnwmSt11align_val_t real__ZnwjSt11align_val_t
#define real__ZnamSt11align_val_t real__ZnajSt11align_val_t
#define real__ZnwmSt11align_val_tRKSt9nothrow_t real__ZnwjSt11align_val_tRKSt9nothrow_t
#define real__ZnamSt11align_val_tRKSt9nothrow_t real__ZnajSt11align_val_tRKSt9nothrow_t
#define _ZdlPvm _ZdlPvj
#define _ZdaPvm _ZdaPvj
#define _ZdlPvmSt11align_val_t _ZdlPvjSt11align_val_t
#define _ZdaPvmSt11align_val_t _ZdaPvjSt11align_val_t
#endif

#endif
