// SPDX-License-Identifier: MIT
/*
 * 4-level paging, walked from CR3: PML4 (512 GiB per entry) -> PDPT (1 GiB)
 * -> PD (2 MiB pages). Table pages come from the page allocator, which only
 * hands out memory below 4 GiB, so they are reachable through the identity
 * map themselves. One CPU runs the hypervisor: no other TLB to shoot down.
 */
#include "hv/lib/mmio_map.h"

#include "hv/lib/log.h"
#include "hv/lib/mm.h"
#include "hv/lib/x86.h"

#define PTE_P	       (1ull << 0)
#define PTE_W	       (1ull << 1)
#define PTE_PWT	       (1ull << 3)
#define PTE_PCD	       (1ull << 4)
#define PTE_PS	       (1ull << 7)
#define PTE_ADDR       0x000ffffffffff000ull
#define PTE_ADDR_2M    0x000fffffffe00000ull
#define PTE_ADDR_1G    0x000fffffc0000000ull
#define SIZE_2M	       (2ull << 20)
#define LOWER_HALF_END (1ull << 47) /* identity: virtual must be canonical */

static unsigned phys_bits(void)
{
	struct cpuid_regs r = cpuid(0x80000000, 0);

	if (r.eax < 0x80000008)
		return 36;
	r = cpuid(0x80000008, 0);
	return r.eax & 0xff;
}

/* The table an entry points to, allocating it when the entry is empty. */
static uint64_t *next_table(uint64_t *entry, bool *oom)
{
	if (!(*entry & PTE_P)) {
		uint64_t pa = page_alloc_zeroed();

		if (!pa) {
			*oom = true;
			return NULL;
		}
		*entry = pa | PTE_P | PTE_W;
	}
	return phys_to_virt(*entry & PTE_ADDR);
}

static void invlpg(uint64_t va)
{
	__asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
}

/* One 2 MiB page at @pa (aligned); false with a log line on trouble. */
static bool map_2m(uint64_t pa, unsigned *added)
{
	uint64_t *pml4 = phys_to_virt(read_cr3() & PTE_ADDR);
	uint64_t *pdpt, *pd, *pde;
	bool oom = false;

	pdpt = next_table(&pml4[(pa >> 39) & 511], &oom);
	if (!pdpt)
		goto nomem;
	if ((pdpt[(pa >> 30) & 511] & (PTE_P | PTE_PS)) == (PTE_P | PTE_PS)) {
		if ((pdpt[(pa >> 30) & 511] & PTE_ADDR_1G) == (pa & ~((1ull << 30) - 1)))
			return true; /* already identity mapped by a 1 GiB page */
		log_err("mmio: 0x%llx is mapped elsewhere by a 1 GiB page; not remapped",
			(unsigned long long)pa);
		return false;
	}
	pd = next_table(&pdpt[(pa >> 30) & 511], &oom);
	if (!pd)
		goto nomem;
	pde = &pd[(pa >> 21) & 511];
	if (*pde & PTE_P) {
		if ((*pde & PTE_PS) && (*pde & PTE_ADDR_2M) == pa)
			return true;
		log_err("mmio: 0x%llx is already mapped differently (PDE 0x%llx); not remapped",
			(unsigned long long)pa, (unsigned long long)*pde);
		return false;
	}
	*pde = pa | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT;
	invlpg(pa);
	(*added)++;
	return true;
nomem:
	log_err("mmio: no memory for a page table to map 0x%llx", (unsigned long long)pa);
	return false;
}

bool mmio_map(uint64_t pa, uint64_t len)
{
	uint64_t end = pa + len, limit, start;
	unsigned bits = phys_bits(), added = 0;

	if (len == 0 || end <= MMIO_MAP_BOOT_END)
		return end >= pa;
	limit = bits >= 47 ? LOWER_HALF_END : 1ull << bits;
	if (end < pa || end > limit) {
		log_err("mmio: [0x%llx-0x%llx) is beyond the %u-bit physical/identity limit "
			"0x%llx; not mapped",
			(unsigned long long)pa, (unsigned long long)end, bits,
			(unsigned long long)limit);
		return false;
	}
	start = pa < MMIO_MAP_BOOT_END ? MMIO_MAP_BOOT_END : pa & ~(SIZE_2M - 1);
	for (uint64_t p = start; p < end; p += SIZE_2M)
		if (!map_2m(p, &added))
			return false;
	if (added)
		log_info("mmio: [0x%llx-0x%llx) mapped uncached, %u x 2 MiB above the 4 GiB "
			 "identity map",
			 (unsigned long long)pa, (unsigned long long)end, added);
	return true;
}
