/* SPDX-License-Identifier: MIT */
/*
 * The compatibility interfaces (compat.c): what the control thread calls for them.
 */
#ifndef HS_COMPAT_H
#define HS_COMPAT_H

#include <stdint.h>

/* jhook_set_check's periodic check, when due; from the control thread. */
void hs_compat_tick(uint64_t now);

#endif
