/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor's memory: one page allocator (hv/lib/pmm.c) over all usable
 * RAM, reached through the identity map (virtual == physical).
 */
#ifndef HV_MM_H
#define HV_MM_H

#include <stddef.h>
#include <stdint.h>

#include "hv/lib/pmm.h"

#define PAGE_SIZE 4096ull
#define PAGE_MASK (~(PAGE_SIZE - 1))

extern struct pmm hv_pmm;

static inline void *phys_to_virt(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

static inline uint64_t virt_to_phys(const void *va)
{
	return (uint64_t)(uintptr_t)va;
}

/* A zeroed page (physical address), or 0 when memory is exhausted. */
uint64_t page_alloc_zeroed(void);
void page_free(uint64_t pa);

/* npages zeroed contiguous pages aligned to align_pages; 0 on failure. */
uint64_t pages_alloc_zeroed(size_t npages, size_t align_pages);
void pages_free(uint64_t pa, size_t npages);

#endif
