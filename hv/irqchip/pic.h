/* SPDX-License-Identifier: MIT */
/*
 * The two cascaded 8259A PICs of a PC (master on ports 0x20/0x21, slave on
 * 0xa0/0xa1 feeding master IRQ2, PIIX ELCR at 0x4d0/0x4d1): pure logic, no
 * hardware access, for the in-hypervisor irqchip.
 *
 * Behaviour follows Linux 6.1's arch/x86/kvm/i8259.c (each rule names the
 * upstream function it follows) rather than the 8259A datasheet where they
 * differ. Each chip's state is kept as Linux's uapi struct kvm_pic_state,
 * so KVM_GET/SET_IRQCHIP is a copy.
 *
 * The hypervisor provides, through struct pic_config:
 *   output()       the master's INTR output changed (low to high: an
 *                  interrupt waits for an INTA cycle, pic_read_irq(); high
 *                  to low: withdrawn). It also rises again after an INTA
 *                  that leaves another interrupt ready. Upstream routes it
 *                  to a vCPU whose LAPIC accepts PIC interrupts (LVT0
 *                  ExtINT unmasked, or the LAPIC hardware-disabled).
 *   accepts_intr() optional: does any vCPU accept PIC interrupts now
 *                  (kvm_apic_accept_pic_intr)? Only an ICW1 asks it. NULL
 *                  means yes.
 *   acked()        optional: IRQ @irq (0-15) left ISR by an EOI, auto-EOI
 *                  or poll (kvm_notify_acked_irq), for ack notifiers such
 *                  as PIT reinjection.
 *
 * No locking: the caller serialises all calls on one struct pic. The
 * callbacks may call back into the model.
 */
#ifndef HV_IRQCHIP_PIC_H
#define HV_IRQCHIP_PIC_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/kvm.h"

#define PIC_NUM_PINS 16

#define PIC_MASTER_CMD	0x20
#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_CMD	0xa0
#define PIC_SLAVE_DATA	0xa1
#define PIC_ELCR_MASTER 0x4d0
#define PIC_ELCR_SLAVE	0x4d1

/* ELCR bits that may be set (kvm_pic_init): IRQ0-2 and 8, 13 stay edge. */
#define PIC_ELCR_MASK_MASTER 0xf8
#define PIC_ELCR_MASK_SLAVE  0xde

/* Interrupt source ids (KVM's irq_source_id) are 0..63. */
#define PIC_MAX_SOURCE_ID 63

struct pic_config {
	void (*output)(void *ctx, bool level);
	bool (*accepts_intr)(void *ctx);
	void (*acked)(void *ctx, unsigned irq);
	void *ctx;
};

struct pic {
	struct kvm_pic_state chips[2]; /* 0: master, 1: slave */
	/* Per IRQ, one bit per irq source id holding its line high. */
	uint64_t irq_states[PIC_NUM_PINS];
	bool output; /* master INTR */
	struct pic_config cfg;
};

/* Set up from @cfg (copied; NULL: no callbacks) as KVM_CREATE_IRQCHIP
 * leaves it (kvm_pic_init): everything zero, i.e. no ICW received, no IRQ
 * masked, vector base 0, plus the ELCR masks. */
void pic_init(struct pic *p, const struct pic_config *cfg);
/* Back to pic_init()'s state, callbacks kept (KVM itself never resets the
 * PIC; a guest re-initialises it with ICW1). The output drops. */
void pic_reset(struct pic *p);

/*
 * Drive IRQ @irq (0-15) for source @irq_source_id (kvm_pic_set_irq): the
 * line is the OR of all sources. Returns as upstream (pic_set_irq1): -1
 * when the IRQ is masked in IMR, 0 when an assert found IRR already set
 * (coalesced), else 1. An irq >= 16 or a source id > 63 does nothing and
 * returns -1.
 */
int pic_set_irq(struct pic *p, unsigned irq, int irq_source_id, bool level);
/* Drop source @irq_source_id from every line (kvm_pic_clear_all); IRR is
 * not changed. */
void pic_clear_source(struct pic *p, int irq_source_id);

/* The master's INTR output. */
bool pic_output(const struct pic *p);
/*
 * The INTA cycle (kvm_pic_read_irq): the vector to inject, irq_base + IRQ
 * of the chip that answered (taken modulo 256), with the IRQ moved to ISR
 * (or retired at once in auto-EOI mode). No interrupt: the spurious IRQ7
 * of the master; the slave's IRQ7 when the master's IRQ2 has nothing
 * behind it.
 */
int pic_read_irq(struct pic *p);
/* Re-evaluate the output (kvm_pic_update_irq). */
void pic_update(struct pic *p);

/*
 * Port I/O of @len bytes at @port: -1 when the access is not the PIC's (not
 * one of the six ports, or running past the end of its two-port range:
 * upstream then exits to user space), else 0. Accesses other than 1 byte
 * read 0 and are dropped when written (picdev_read / picdev_write).
 */
int pic_ioport_read(struct pic *p, uint16_t port, unsigned len, uint32_t *val);
int pic_ioport_write(struct pic *p, uint16_t port, unsigned len, uint32_t val);

/* KVM_GET_IRQCHIP / KVM_SET_IRQCHIP of chip 0 (master) or 1 (slave): a
 * plain copy, as upstream (nothing is checked). get of another chip fills
 * zeros; set of another chip returns -HV_EINVAL, else 0 after
 * re-evaluating the output. */
void pic_get_state(const struct pic *p, unsigned chip, struct kvm_pic_state *s);
int pic_set_state(struct pic *p, unsigned chip, const struct kvm_pic_state *s);

#endif
