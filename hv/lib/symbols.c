// SPDX-License-Identifier: MIT
/*
 * The symbol table lives in section .hvsyms, placed after the code by
 * linker.ld. The first link carries an empty table; scripts/gensyms.sh then
 * writes the real one from that link's text symbols and the second link adds
 * it without moving any code (the Makefile checks that).
 */
#include <stddef.h>

#include "hv/lib/symbols.h"

struct hv_sym {
	uint64_t addr;
	const char *name;
};

extern const struct hv_sym hv_symtab[];
extern const uint64_t hv_symtab_count;
extern char _image_end[];

const char *sym_lookup(uint64_t addr, uint64_t *offset)
{
	size_t lo = 0, hi = hv_symtab_count;

	if (!hi || addr < hv_symtab[0].addr || addr >= (uint64_t)_image_end)
		return NULL;
	/* Last symbol at or below addr (the table is sorted). */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (hv_symtab[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	*offset = addr - hv_symtab[lo].addr;
	return hv_symtab[lo].name;
}
