// SPDX-License-Identifier: MIT
#include "drivers/pic8259.h"
#include "hv/lib/x86.h"

#define PIC1_CMD	0x20
#define PIC1_DATA	0x21
#define PIC2_CMD	0xa0
#define PIC2_DATA	0xa1
#define ICW1_INIT_ICW4	0x11
#define ICW4_8086	0x01
#define PIC_CASCADE_IRQ 2
#define PIC_EOI		0x20

void pic_remap_and_mask(void)
{
	outb(PIC1_CMD, ICW1_INIT_ICW4);
	outb(PIC2_CMD, ICW1_INIT_ICW4);
	outb(PIC1_DATA, PIC_VECTOR_BASE);
	outb(PIC2_DATA, PIC_VECTOR_BASE + 8);
	outb(PIC1_DATA, 1u << PIC_CASCADE_IRQ); /* slave on IRQ 2 */
	outb(PIC2_DATA, PIC_CASCADE_IRQ);	/* slave identity */
	outb(PIC1_DATA, ICW4_8086);
	outb(PIC2_DATA, ICW4_8086);
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}

void pic_unmask(unsigned irq)
{
	uint16_t port = irq < 8 ? PIC1_DATA : PIC2_DATA;

	outb(port, inb(port) & ~(1u << (irq & 7)));
	if (irq >= 8)
		outb(PIC1_DATA, inb(PIC1_DATA) & ~(1u << PIC_CASCADE_IRQ));
}

void pic_eoi(unsigned irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, PIC_EOI);
	outb(PIC1_CMD, PIC_EOI);
}
