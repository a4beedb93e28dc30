/* SPDX-License-Identifier: MIT */
/* The legacy 8259A interrupt controllers. */
#ifndef DRIVERS_PIC8259_H
#define DRIVERS_PIC8259_H

#define PIC_VECTOR_BASE 0x20 /* IRQ 0..15 -> vectors 0x20..0x2f */

/*
 * Move the PICs' vectors off the CPU exception range (the BIOS leaves IRQ 0
 * on vector 8, the double-fault vector) and mask every line: the hypervisor
 * takes no legacy interrupts.
 */
void pic_remap_and_mask(void);

void pic_unmask(unsigned irq);
/* End of interrupt for irq (both controllers for the slave's lines). */
void pic_eoi(unsigned irq);

#endif
