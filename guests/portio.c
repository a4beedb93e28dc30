// SPDX-License-Identifier: MIT
/* Port I/O: an unassigned port reads all-ones, writes are dropped; COM1's LSR. */
#include "guest.h"

#define PORT_UNASSIGNED 0x510
#define COM1_IER	(HV_GUEST_COM1_PORT + 1)
#define COM1_LSR	(HV_GUEST_COM1_PORT + 5)
#define LSR_THRE	0x20
#define LSR_POLLS	1000000

static void out_all_widths(void *arg)
{
	outb(PORT_UNASSIGNED, 0x5a);
	outw(PORT_UNASSIGNED, 0x5aa5);
	outl(PORT_UNASSIGNED, 0x5aa5c33c);
}

void guest_main(void)
{
	unsigned polls;
	uint8_t lsr = 0;

	check_u32("portio inb 0x510 all-ones", inb(PORT_UNASSIGNED), 0xff);
	check_u32("portio inw 0x510 all-ones", inw(PORT_UNASSIGNED), 0xffff);
	check_u32("portio inl 0x510 all-ones", inl(PORT_UNASSIGNED), 0xffffffff);
	expect_no_exception("portio out 0x510 no fault", out_all_widths, NULL);
	check_u32("portio inl 0x510 after writes", inl(PORT_UNASSIGNED), 0xffffffff);
	check_u32("portio inb 0x511 all-ones", inb(PORT_UNASSIGNED + 1), 0xff);

	/* As on hardware, THR empty may take a moment after the last byte. */
	for (polls = 1; polls < LSR_POLLS; polls++) {
		lsr = inb(COM1_LSR);
		if (lsr & LSR_THRE)
			break;
	}
	printf("portio: COM1 LSR 0x%x after %u read(s)\n", lsr, polls);
	reportf("portio com1 lsr thr empty", lsr & LSR_THRE, "LSR 0x%x after %u reads", lsr, polls);
	check_u32("portio com1 ier reads 0", inb(COM1_IER), 0);
}
