// SPDX-License-Identifier: MIT
#include <string.h>

#include "hv/lib/mm.h"

struct pmm hv_pmm;

uint64_t page_alloc_zeroed(void)
{
	return pages_alloc_zeroed(1, 1);
}

void page_free(uint64_t pa)
{
	pmm_free_page(&hv_pmm, pa);
}

uint64_t pages_alloc_zeroed(size_t npages, size_t align_pages)
{
	uint64_t pa = npages == 1 && align_pages <= 1
			  ? pmm_alloc_page(&hv_pmm)
			  : pmm_alloc_contig(&hv_pmm, npages, align_pages);

	if (pa)
		memset(phys_to_virt(pa), 0, npages * PAGE_SIZE);
	return pa;
}

void pages_free(uint64_t pa, size_t npages)
{
	if (npages == 1)
		pmm_free_page(&hv_pmm, pa);
	else
		pmm_free_contig(&hv_pmm, pa, npages);
}
