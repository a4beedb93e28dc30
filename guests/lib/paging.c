// SPDX-License-Identifier: MIT
/*
 * 32-bit paging for the tests that need page faults or write protection:
 * one page directory, one page table, an identity map of the first 4 MiB
 * (where the image, its stack and the multiboot information live).
 * Accessed and dirty bits are preset: the CPU never has to write a PTE
 * (Bochs 3.0 panics when a CR0.WP=0 store to a read-only page makes it set
 * the dirty bit, which the architecture allows).
 */
#include "guest.h"

#define PAGE_SIZE  4096u
#define PT_ENTRIES 1024u

static uint32_t page_dir[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint32_t page_table[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
uint8_t scratch_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

void paging_on(void)
{
	for (uint32_t i = 0; i < PT_ENTRIES; i++)
		page_table[i] = i * PAGE_SIZE | PTE_P | PTE_W | PTE_A | PTE_D;
	page_dir[0] = (uint32_t)page_table | PTE_P | PTE_W | PTE_A;
	write_cr4(read_cr4() & ~CR4_PAE);
	write_cr3((uint32_t)page_dir);
	write_cr0(read_cr0() | CR0_PG);
}

void paging_off(void)
{
	write_cr0(read_cr0() & ~CR0_PG);
}

void paging_set_flags(uint32_t va, uint32_t flags)
{
	uint32_t i = va / PAGE_SIZE;

	if (i >= PT_ENTRIES)
		return;
	page_table[i] = i * PAGE_SIZE | flags | PTE_A | PTE_D;
	invlpg(va);
}
