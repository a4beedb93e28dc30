/* SPDX-License-Identifier: MIT */
/*
 * A virtual IOAPIC (Intel 82093AA register interface as KVM presents it):
 * pure logic, no hardware access, for the in-hypervisor irqchip.
 *
 * Behaviour follows Linux 6.1's arch/x86/kvm/ioapic.c (each rule names the
 * upstream function it follows in ioapic.c): version 0x11 with 24 pins, so
 * there is no EOI register; remote IRR of a level-triggered pin is cleared
 * by the EOI broadcast of the local APICs (ioapic_eoi()).
 *
 * MMIO: KVM registers the device on [IOAPIC_DEFAULT_BASE,
 * IOAPIC_DEFAULT_BASE + IOAPIC_MMIO_SIZE) (0x100 bytes, not a whole page:
 * the rest of the page is an ordinary MMIO hole) and answers only while
 * the address also lies inside [base_address, base_address + 0x100), the
 * base KVM_SET_IRQCHIP may have moved (ioapic_in_range() says both).
 * ioapic_mmio_read/write() take the offset from the current base_address
 * (gpa - io->base_address) and return -1 when the access is not the
 * IOAPIC's (the caller then treats it as an MMIO exit). The register is
 * picked by the low 8 bits of the guest-physical address: IOREGSEL at
 * 0x00, IOWIN at 0x10, anything else reads 0 and ignores writes.
 *
 * The hypervisor provides, through struct ioapic_config:
 *   deliver()  each interrupt message a redirection entry sends, as a
 *              struct lapic_ipi (see ioapic_rte_to_ipi()); it returns how
 *              many local APICs accepted it, or -1 when no LAPIC matched
 *              (kvm_irq_delivery_to_apic's convention). NULL: -1.
 *   acked()    optional: the EOI of a vector reached pin @pin (upstream's
 *              kvm_notify_acked_irq for KVM_IRQCHIP_IOAPIC), for ack
 *              notifiers such as PIT reinjection.
 *
 * No locking: the caller serialises all calls on one struct ioapic. The
 * callbacks may call back into the model (e.g. ioapic_set_irq() from
 * acked()).
 */
#ifndef HV_IRQCHIP_IOAPIC_H
#define HV_IRQCHIP_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/kvm.h"
#include "hv/irqchip/lapic.h"

#define IOAPIC_NUM_PINS	    24
#define IOAPIC_DEFAULT_BASE 0xfec00000ull
#define IOAPIC_MMIO_SIZE    0x100
#define IOAPIC_VERSION_ID   0x11

/* Direct registers (low 8 bits of the MMIO address). */
#define IOAPIC_REG_SELECT 0x00
#define IOAPIC_REG_WINDOW 0x10
#define IOAPIC_REG_EOI	  0x40 /* version 0x20+ only: not present here */

/* Indirect registers (IOREGSEL). */
#define IOAPIC_INDEX_ID	     0x00
#define IOAPIC_INDEX_VERSION 0x01
#define IOAPIC_INDEX_ARB     0x02
#define IOAPIC_INDEX_REDTBL  0x10 /* 0x10 + 2 * pin: low half, + 1: high half */

/* Redirection table entry bits. */
#define IOAPIC_RTE_VECTOR_MASK	   0xffull
#define IOAPIC_RTE_DM_SHIFT	   8
#define IOAPIC_RTE_DM_MASK	   (7ull << IOAPIC_RTE_DM_SHIFT)
#define IOAPIC_RTE_DEST_LOGICAL	   (1ull << 11)
#define IOAPIC_RTE_DELIVERY_STATUS (1ull << 12) /* read-only, always 0 here */
#define IOAPIC_RTE_POLARITY	   (1ull << 13)
#define IOAPIC_RTE_REMOTE_IRR	   (1ull << 14) /* read-only */
#define IOAPIC_RTE_LEVEL	   (1ull << 15)
#define IOAPIC_RTE_MASKED	   (1ull << 16)
#define IOAPIC_RTE_DEST_SHIFT	   56

/* After this many EOIs in a row that re-deliver a still-asserted level
 * pin, the re-delivery waits for ioapic_eoi_inject() (about 10 ms later,
 * upstream's HZ / 100) instead of happening at once. */
#define IOAPIC_SUCCESSIVE_IRQ_MAX_COUNT 10000

/* Interrupt source ids (KVM's irq_source_id) are 0..63. */
#define IOAPIC_MAX_SOURCE_ID 63

struct ioapic_config {
	int (*deliver)(void *ctx, const struct lapic_ipi *msg);
	void (*acked)(void *ctx, unsigned pin);
	void *ctx;
};

struct ioapic {
	uint64_t base_address;
	uint32_t ioregsel;
	uint32_t id; /* as stored; registers show bits 3:0 */
	uint32_t irr;
	uint32_t pad; /* kept for KVM_GET_IRQCHIP, as upstream */
	uint64_t redirtbl[IOAPIC_NUM_PINS];
	/* Per pin, one bit per irq source id holding its line high. */
	uint64_t irq_states[IOAPIC_NUM_PINS];
	/* Edge pins whose IRR bit has been delivered (hidden from get_state). */
	uint32_t irr_delivered;
	uint32_t irq_eoi[IOAPIC_NUM_PINS];
	bool eoi_inject_pending;
	struct ioapic_config cfg;
};

/* Zero everything, keep @cfg (copied; NULL: no callbacks) and reset. */
void ioapic_init(struct ioapic *io, const struct ioapic_config *cfg);
/* kvm_ioapic_reset: every pin masked (other entry bits kept), base back
 * to the default, IOREGSEL, ID, IRR and the EOI storm counters zero. The
 * per-source line states are kept. */
void ioapic_reset(struct ioapic *io);

/*
 * Drive pin @pin for source @irq_source_id (kvm_ioapic_set_irq): the pin's
 * level is the OR of all sources. Returns as upstream: 1 for a de-assert;
 * 0 when coalesced (an edge whose IRR bit was still set, i.e. not yet
 * delivered because the pin is masked); -1 when the pin is masked or is a
 * level pin waiting for its EOI (remote IRR); otherwise deliver()'s
 * result. A pin >= 24 or a source id > 63 does nothing and returns -1.
 */
int ioapic_set_irq(struct ioapic *io, unsigned pin, int irq_source_id, bool level);
/* Drop source @irq_source_id from every pin's line (kvm_ioapic_clear_all);
 * the pins' IRR is not changed. */
void ioapic_clear_source(struct ioapic *io, int irq_source_id);

/*
 * EOI broadcast of @vector from a local APIC, @level its TMR bit
 * (kvm_ioapic_update_eoi / kvm_ioapic_update_eoi_one): every pin with that
 * vector is acked(); for a level EOI its remote IRR is cleared and, while
 * unmasked with IRR still set, it is delivered again (or, after
 * IOAPIC_SUCCESSIVE_IRQ_MAX_COUNT successive times, left for
 * ioapic_eoi_inject()).
 */
void ioapic_eoi(struct ioapic *io, uint8_t vector, bool level);
/* A delayed EOI re-delivery is waiting: call ioapic_eoi_inject() ~10 ms on. */
bool ioapic_eoi_inject_pending(const struct ioapic *io);
/* kvm_ioapic_eoi_inject_work: deliver every unmasked level pin with IRR
 * set and no remote IRR; clears the pending flag. */
void ioapic_eoi_inject(struct ioapic *io);

/* Is guest-physical @gpa the IOAPIC's (registered window and base)? */
bool ioapic_in_range(const struct ioapic *io, uint64_t gpa);

/*
 * MMIO at @offset from base_address, @len bytes: -1 when not the IOAPIC's
 * (outside base_address's 0x100 bytes, or not wholly inside the window at
 * IOAPIC_DEFAULT_BASE), else 0. Reads of 1, 2, 4 or 8 bytes give the
 * 32-bit register's low bytes (8: zero-extended); other lengths read 0 and
 * writes of them are dropped. An 8-byte write stores its low 32 bits
 * (ioapic_mmio_read/write).
 */
int ioapic_mmio_read(struct ioapic *io, uint64_t offset, unsigned len, uint64_t *val);
int ioapic_mmio_write(struct ioapic *io, uint64_t offset, unsigned len, uint64_t val);

/* kvm_get_ioapic: IRR without the edge bits already delivered. */
void ioapic_get_state(const struct ioapic *io, struct kvm_ioapic_state *s);
/* kvm_set_ioapic: everything taken as given (upstream checks nothing), IRR
 * rebuilt by asserting each pin whose bit is set. Returns 0. */
int ioapic_set_state(struct ioapic *io, const struct kvm_ioapic_state *s);

/* The message a redirection entry sends (ioapic_service): fixed/lowest
 * priority become LAPIC_DM_FIXED with lowest_priority set for the latter;
 * other delivery modes are passed through for the router to judge;
 * 8-bit xAPIC destination, no shorthand, assert set. */
void ioapic_rte_to_ipi(uint64_t rte, struct lapic_ipi *msg);

#endif
