/* SPDX-License-Identifier: MIT */
/* Symbol lookup for backtraces, from the table the build appends to the image. */
#ifndef HV_SYMBOLS_H
#define HV_SYMBOLS_H

#include <stdint.h>

/* Name of the function containing addr and the offset into it, or NULL. */
const char *sym_lookup(uint64_t addr, uint64_t *offset);

#endif
