/* SPDX-License-Identifier: MIT */
/*
 * Physical page allocator (4 KiB pages).
 *
 * Built once from the firmware memory map. The map is sanitized into a
 * sorted list of usable page runs ("zones"): memory that is type 1 in the
 * map, not covered by any non-available entry, not in a caller-reserved
 * range, not below min_addr and never page 0. Each zone owns a slice of
 * one bitmap (1 bit per page, 1 = allocated), so the bitmap grows with the
 * amount of usable memory, not with the span of the map: a sparse map with
 * a region near 2^52 costs a few bytes, not a terabyte-spanning bitmap.
 *
 * The bitmap lives in usable memory (the lowest zone big enough for it)
 * and its pages are removed from that zone, so they can be neither
 * allocated nor freed.
 *
 * No global state and no locking: the caller owns struct pmm and must
 * serialise calls if more than one CPU uses it.
 */
#ifndef HV_PMM_H
#define HV_PMM_H

#include <stddef.h>
#include <stdint.h>

#include "boot/multiboot2.h"

#define PMM_PAGE_SHIFT 12
#define PMM_PAGE_SIZE  (1ull << PMM_PAGE_SHIFT)

/*
 * Nothing at or above this address is managed: x86-64 physical addresses
 * have at most 52 bits, so a map entry beyond it is bogus.
 */
#define PMM_PHYS_LIMIT (1ull << 52)

/* Usable runs kept; beyond this the smallest runs are dropped (logged). */
#define PMM_MAX_ZONES 128

/*
 * Largest bitmap we build: 64 MiB covers 2 TiB of usable memory. Memory
 * above that amount is left unmanaged (logged) rather than spending an
 * unbounded amount of early memory on bookkeeping.
 */
#define PMM_MAX_BITMAP_BYTES (64ull << 20)

/* A physical range [base, end). */
struct phys_range {
	uint64_t base;
	uint64_t end;
};

struct pmm_config {
	/* Raw map: possibly unsorted, overlapping, zero-length, wrapping. */
	const struct mb2_region *regions;
	unsigned n_regions;
	/* Ranges never to hand out: image, modules, info block, ... */
	const struct phys_range *reserved;
	unsigned n_reserved;
	/* Nothing below this is used (page 0 is never used regardless). */
	uint64_t min_addr;
	/* Nothing at or above this is used; 0 = no limit but PMM_PHYS_LIMIT. */
	uint64_t max_addr;
	/*
	 * Map a physical address to a pointer. Called once, for the bitmap;
	 * the whole bitmap (pmm.bitmap_bytes) must be contiguous behind the
	 * returned pointer. NULL makes pmm_init fail cleanly.
	 */
	void *(*phys_to_virt)(uint64_t pa);
};

struct pmm_zone {
	uint64_t base; /* page aligned */
	uint64_t npages;
	uint64_t nfree;
	uint64_t *bits; /* ceil(npages / 64) words, 1 = allocated */
	uint64_t hint;	/* word index where the next search starts */
};

struct pmm {
	struct pmm_zone zones[PMM_MAX_ZONES];
	unsigned n_zones;
	uint64_t total_pages; /* pages managed (bitmap pages excluded) */
	uint64_t free_pages;
	uint64_t bitmap_pa; /* 0 when init failed */
	uint64_t bitmap_bytes;
};

/*
 * Build the allocator. Returns 0 on success, negative (logged) when there
 * is no usable memory or no room for the bitmap; @p is then a valid, empty
 * allocator whose allocations all return 0.
 */
int pmm_init(struct pmm *p, const struct pmm_config *cfg);

/* One page, lowest address first; 0 = out of memory. */
uint64_t pmm_alloc_page(struct pmm *p);

/*
 * @npages contiguous pages whose first address is a multiple of
 * @align_pages pages (a power of two; 0 means 1). 0 = none found.
 */
uint64_t pmm_alloc_contig(struct pmm *p, size_t npages, size_t align_pages);

/* Freeing anything not currently allocated is logged and ignored. */
void pmm_free_page(struct pmm *p, uint64_t pa);
/* All or nothing: if any page of the run is not allocated, nothing is freed. */
void pmm_free_contig(struct pmm *p, uint64_t pa, size_t npages);

uint64_t pmm_free_pages(const struct pmm *p);
uint64_t pmm_total_pages(const struct pmm *p);

/* log_info summary: zones, pages free/total, bitmap location. */
void pmm_dump(const struct pmm *p);

/*
 * Append to @out (capacity @max) the ranges of a multiboot2 boot the
 * allocator must not hand out: the info block itself, every module and
 * the framebuffer. The hypervisor adds its own image. Returns the number
 * of ranges written; logs (and stops) if @max is too small.
 */
unsigned pmm_collect_mb2_reserved(const struct mb2_info *mb, struct phys_range *out, unsigned max);

#endif
