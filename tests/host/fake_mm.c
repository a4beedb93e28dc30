// SPDX-License-Identifier: MIT
/*
 * Page allocation for host builds (see tests/host/fake/hv/mm.h): each
 * allocation is one aligned_alloc() block at a fake physical address from
 * a pointer that only moves up (through 32 TiB before it starts again
 * from the bottom), so a stale physical address finds no block instead of
 * someone else's memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/lib/log.h"
#include "hv/lib/mm.h"
#include "tests/host/fake.h"

#define PHYS_BASE  0x100000000ull /* fake RAM starts at 4 GiB */
#define PHYS_END   (1ull << 45)
#define MAX_BLOCKS 4096

struct block {
	uint64_t pa, npages;
	uint8_t *va;
};

/* Sorted by pa. */
static struct block blocks[MAX_BLOCKS];
static unsigned n_blocks;
static uint64_t next_pa = PHYS_BASE;
static uint64_t pages_in_use;
static uint64_t limit_pages = 65536; /* 256 MiB */
static unsigned fail_countdown;
unsigned fake_mm_bad_frees;

/* Satisfies channel.c's log line; the hypervisor's pmm is not built. */
struct pmm hv_pmm;

uint64_t pmm_free_pages(const struct pmm *p)
{
	(void)p;
	return limit_pages > pages_in_use ? limit_pages - pages_in_use : 0;
}

static int find_pa(uint64_t pa)
{
	unsigned lo = 0, hi = n_blocks;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (pa < blocks[mid].pa)
			hi = mid;
		else if (pa >= blocks[mid].pa + blocks[mid].npages * PAGE_SIZE)
			lo = mid + 1;
		else
			return (int)mid;
	}
	return -1;
}

void *phys_to_virt(uint64_t pa)
{
	int i;

	if (!pa)
		return NULL;
	i = find_pa(pa);
	if (i < 0)
		fake_host_fault("phys_to_virt(0x%llx): no allocated page there",
				(unsigned long long)pa);
	return blocks[i].va + (pa - blocks[i].pa);
}

uint64_t virt_to_phys(const void *va)
{
	const uint8_t *p = va;

	if (!va)
		return 0;
	for (unsigned i = 0; i < n_blocks; i++)
		if (p >= blocks[i].va && p < blocks[i].va + blocks[i].npages * PAGE_SIZE)
			return blocks[i].pa + (uint64_t)(p - blocks[i].va);
	fake_host_fault("virt_to_phys(%p): not in any allocated page", va);
}

bool fake_mm_valid(uint64_t pa, uint64_t len)
{
	int i = pa ? find_pa(pa) : -1;

	return i >= 0 && len <= blocks[i].pa + blocks[i].npages * PAGE_SIZE - pa;
}

/* The first aligned gap at or above @from that holds @size bytes; 0 if none. */
static uint64_t find_gap(uint64_t from, uint64_t size, uint64_t align, unsigned *at)
{
	uint64_t pa = (from + align - 1) & ~(align - 1);
	unsigned i = 0;

	while (i < n_blocks && blocks[i].pa + blocks[i].npages * PAGE_SIZE <= pa)
		i++;
	for (; i < n_blocks && blocks[i].pa < pa + size; i++)
		pa = (blocks[i].pa + blocks[i].npages * PAGE_SIZE + align - 1) & ~(align - 1);
	if (pa + size > PHYS_END || pa + size < pa)
		return 0;
	*at = i;
	return pa;
}

uint64_t pages_alloc_zeroed(size_t npages, size_t align_pages)
{
	uint64_t align = (align_pages ? align_pages : 1) * PAGE_SIZE, pa, size;
	unsigned at = 0;
	uint8_t *va;

	if (fail_countdown && --fail_countdown == 0)
		return 0;
	if (!npages || pages_in_use > limit_pages || npages > limit_pages - pages_in_use ||
	    n_blocks == MAX_BLOCKS || (align & (align - 1)) || align > (1ull << 30))
		return 0;
	size = npages * PAGE_SIZE;
	pa = find_gap(next_pa, size, align, &at);
	if (!pa) /* the top of the space: start again from the bottom, once */
		pa = find_gap(PHYS_BASE, size, align, &at);
	if (!pa)
		return 0;
	va = aligned_alloc(PAGE_SIZE, size);
	if (!va)
		return 0;
	memset(va, 0, size);
	memmove(&blocks[at + 1], &blocks[at], (n_blocks - at) * sizeof(blocks[0]));
	blocks[at] = (struct block){.pa = pa, .npages = npages, .va = va};
	n_blocks++;
	next_pa = pa + size;
	pages_in_use += npages;
	return pa;
}

uint64_t page_alloc_zeroed(void)
{
	return pages_alloc_zeroed(1, 1);
}

void pages_free(uint64_t pa, size_t npages)
{
	int i = pa ? find_pa(pa) : -1;

	if (i < 0 || blocks[i].pa != pa || blocks[i].npages != npages) {
		fake_mm_bad_frees++;
		log_err(
		    "fake mm: free of 0x%llx (%zu pages), which is not an allocation of that size",
		    (unsigned long long)pa, npages);
		return;
	}
	free(blocks[i].va);
	pages_in_use -= npages;
	memmove(&blocks[i], &blocks[i + 1], (n_blocks - (unsigned)i - 1) * sizeof(blocks[0]));
	n_blocks--;
}

void page_free(uint64_t pa)
{
	pages_free(pa, 1);
}

uint64_t fake_mm_pages_in_use(void)
{
	return pages_in_use;
}

unsigned fake_mm_blocks_in_use(void)
{
	return n_blocks;
}

void fake_mm_set_limit(uint64_t pages)
{
	limit_pages = pages;
}

void fake_mm_fail_nth(unsigned n)
{
	fail_countdown = n;
}
