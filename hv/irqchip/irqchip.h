/* SPDX-License-Identifier: MIT */
/*
 * One VM's KVM_CREATE_IRQCHIP platform: the 8259 pair (pic.h), the IOAPIC
 * (ioapic.h) and KVM's default GSI routing, plus the MSI decoding of
 * KVM_SIGNAL_MSI. Pure logic, no hardware access.
 *
 * Default routing (kvm_setup_default_irq_routing, arch/x86/kvm/irq_comm.c):
 * GSI 0-15 drive IOAPIC pin N and PIC IRQ N (master 0-7, slave 8-15), GSI
 * 16-23 IOAPIC pin N only; there is no GSI 24 or above, and no 0 -> pin 2
 * override (that is the VMM's own routing table, not KVM's default).
 *
 * Callbacks (struct irqchip_config), all given @ctx:
 *   deliver()          IOAPIC messages to the LAPIC router (see ioapic.h);
 *   pic_output()       the PIC's INTR output changed (see pic.h);
 *   pic_accepts_intr() optional, see pic.h (NULL: yes);
 *   acked()            optional: GSI @gsi was acknowledged by the PIC (EOI,
 *                      auto-EOI, poll) or by an IOAPIC EOI broadcast
 *                      (kvm_notify_acked_irq; GSI = chip pin here).
 *
 * No locking: the caller serialises all calls on one struct irqchip.
 */
#ifndef HV_IRQCHIP_IRQCHIP_H
#define HV_IRQCHIP_IRQCHIP_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/kvm.h"
#include "hv/irqchip/ioapic.h"
#include "hv/irqchip/lapic.h"
#include "hv/irqchip/pic.h"

/* GSIs of the default routing. */
#define IRQCHIP_NUM_GSIS IOAPIC_NUM_PINS

/* Interrupt source ids as KVM hands them out (KVM_USERSPACE_IRQ_SOURCE_ID,
 * KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID, then kvm_request_irq_source_id()'s
 * first free id, which the in-kernel PIT takes). */
#define IRQCHIP_USERSPACE_SOURCE_ID 0
#define IRQCHIP_RESAMPLE_SOURCE_ID  1
#define IRQCHIP_PIT_SOURCE_ID	    2
#define IRQCHIP_MAX_SOURCE_ID	    63

/* MSI address/data fields (x86: arch_msi_msg_addr_lo / arch_msi_msg_data). */
#define IRQCHIP_MSI_ADDR_DEST_LOGICAL  (1u << 2)
#define IRQCHIP_MSI_ADDR_REDIRECT_HINT (1u << 3)
#define IRQCHIP_MSI_ADDR_DEST_SHIFT    12 /* bits 19:12: destination 7:0 */
#define IRQCHIP_MSI_DATA_VECTOR_MASK   0xffu
#define IRQCHIP_MSI_DATA_DM_SHIFT      8 /* bits 10:8 */
#define IRQCHIP_MSI_DATA_LEVEL	       (1u << 15)

struct irqchip_config {
	int (*deliver)(void *ctx, const struct lapic_ipi *msg);
	void (*pic_output)(void *ctx, bool level);
	bool (*pic_accepts_intr)(void *ctx);
	void (*acked)(void *ctx, unsigned gsi);
	void *ctx;
};

struct irqchip {
	struct pic pic;
	struct ioapic ioapic;
	struct irqchip_config cfg;
};

/* KVM_CREATE_IRQCHIP: PIC as kvm_pic_init, IOAPIC as kvm_ioapic_init. */
void irqchip_init(struct irqchip *c, const struct irqchip_config *cfg);

/*
 * Drive GSI @gsi for source @irq_source_id (kvm_set_irq over the default
 * routing, IOAPIC entry first as upstream visits them). Each chip's result
 * r is combined as kvm_set_irq does: negative results are skipped, the
 * others summed; -1 if none was >= 0. So: -1 masked everywhere (or
 * undeliverable), 0 coalesced, >= 1 delivered (2 when both chips took it).
 * A GSI >= 24 has no route: -1, nothing done. KVM_IRQ_LINE(_STATUS) then
 * still succeeds (returns 0) with this value as kvm_irq_level.status.
 */
int irqchip_set_irq(struct irqchip *c, uint32_t gsi, int irq_source_id, bool level);
/* Drop a source id from every line of both chips (kvm_free_irq_source_id). */
void irqchip_clear_source(struct irqchip *c, int irq_source_id);

/*
 * Decode an MSI (kvm_set_msi_irq, x86_msi_msg_get_destid): destination
 * address_lo[19:12], plus address_hi[31:8] as destination bits 31:8 only
 * when @x2apic_format (KVM_CAP_X2APIC_API's KVM_X2APIC_API_USE_32BIT_IDS;
 * then address_hi[7:0] must be 0, else -HV_EINVAL, kvm_msi_route_invalid);
 * without it address_hi is ignored. Logical destination address_lo[2];
 * redirection hint address_lo[3] (lowest-priority arbitration, as
 * kvm_lowest_prio_delivery); vector data[7:0]; delivery mode data[10:8]
 * (lowest priority becomes LAPIC_DM_FIXED + lowest_priority, the rest is
 * passed through); level trigger data[15]; assert always set; nothing
 * else is checked (no 0xfee address check, as upstream). 0 on success.
 */
int irqchip_msi_decode(uint32_t address_lo, uint32_t address_hi, uint32_t data, bool x2apic_format,
		       struct lapic_ipi *out);
/* KVM_SIGNAL_MSI's checks and decoding (kvm_send_userspace_msi), 6.1
 * without KVM_CAP_X2APIC_API: flags other than KVM_MSI_VALID_DEVID are
 * -HV_EINVAL; devid is ignored on x86. 0 on success. */
int irqchip_msi_to_ipi(const struct kvm_msi *msi, struct lapic_ipi *out);
/* KVM_SIGNAL_MSI's result (kvm_set_msi): -HV_EINVAL as above, else
 * deliver()'s answer (-1: no LAPIC matched, n: accepted by n). */
int irqchip_signal_msi(struct irqchip *c, const struct kvm_msi *msi);

/*
 * KVM_GET_IRQCHIP / KVM_SET_IRQCHIP (kvm_vm_ioctl_get/set_irqchip):
 * chip_id 0 (PIC master), 1 (PIC slave), 2 (IOAPIC), else -HV_EINVAL.
 * get writes only that chip's state record into chip->chip (the rest of
 * the 512-byte union is left as the caller passed it, as upstream); set
 * takes the state as given and, for every chip_id, bad ones included,
 * re-evaluates the PIC output afterwards. 0 on success.
 */
int irqchip_get(const struct irqchip *c, struct kvm_irqchip *chip);
int irqchip_set(struct irqchip *c, const struct kvm_irqchip *chip);

/* A LAPIC's EOI broadcast (kvm_ioapic_send_eoi -> kvm_ioapic_update_eoi);
 * the PIC needs none (its EOIs are port writes). */
void irqchip_eoi(struct irqchip *c, uint8_t vector, bool level);

#endif
