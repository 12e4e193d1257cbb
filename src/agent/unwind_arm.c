// SPDX-License-Identifier: MIT
/* placeholder: ARM EHABI unwinder (being written) */
#if defined(__arm__)
#endif
