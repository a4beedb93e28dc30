/* SPDX-License-Identifier: MIT */
/*
 * Device registers above the boot identity map: boot/entry.S maps the first
 * 4 GiB; a BAR the firmware placed higher (OVMF puts 64-bit BARs there) is
 * added to the same page tables, identity mapped with uncached 2 MiB pages.
 */
#ifndef HV_MMIO_MAP_H
#define HV_MMIO_MAP_H

#include <stdbool.h>
#include <stdint.h>

/* The end of what boot/entry.S identity maps. */
#define MMIO_MAP_BOOT_END (4ull << 30)

/*
 * Make [pa, pa + len) reachable at the same virtual address. Below 4 GiB
 * there is nothing to do; above, missing page-table levels are allocated
 * (hv/lib/mm.h) and 2 MiB pages with PCD|PWT added. False, with a log line, when
 * the range is beyond the CPU's physical address width or the canonical
 * lower half, collides with a different mapping, or memory runs out.
 */
bool mmio_map(uint64_t pa, uint64_t len);

#endif
