// SPDX-License-Identifier: MIT
/*
 * Guest-physical addresses outside RAM (run with mem=16M): reads return
 * all-ones, writes are dropped (MMIO exits the hypervisor answers itself).
 */
#include "guest.h"

#define RAM_SIZE  0x1000000u  /* mem=16M on the module line */
#define HOLE_ADDR 0xfeb00000u /* below the local APIC, not RAM, no device */
#define LAST_WORD (RAM_SIZE - 4)

void guest_main(void)
{
	const struct mb1_info *mbi = mb1_info();
	uint32_t v;

	if (mbi && (mbi->flags & MB1_INFO_MEMORY)) {
		uint32_t top = 0x100000 + mbi->mem_upper * 1024;

		printf("mmio: multiboot says mem_lower %u KiB, mem_upper %u KiB\n", mbi->mem_lower,
		       mbi->mem_upper);
		reportf("mmio ram size is 16 MiB", top == RAM_SIZE,
			"RAM ends at 0x%x: run with mem=16M", top);
	}

	/* The last word of RAM is RAM. */
	mmio_write32(LAST_WORD, 0xa5c3e187);
	check_u32("mmio last ram word writable", mmio_read32(LAST_WORD), 0xa5c3e187);

	check_u32("mmio read32 0xfeb00000 all-ones", mmio_read32(HOLE_ADDR), 0xffffffff);
	mmio_write32(HOLE_ADDR, 0x12345678);
	check_u32("mmio write 0xfeb00000 ignored", mmio_read32(HOLE_ADDR), 0xffffffff);
	check_u32("mmio read32 at mem_size all-ones", mmio_read32(RAM_SIZE), 0xffffffff);
	check_u32("mmio read16 0xfeb00000 all-ones", mmio_read16(HOLE_ADDR + 2), 0xffff);
	check_u32("mmio read8 0xfeb00000 all-ones", mmio_read8(HOLE_ADDR + 1), 0xff);
	v = mmio_read32(LAST_WORD);
	check_u32("mmio ram intact after the writes", v, 0xa5c3e187);
}
