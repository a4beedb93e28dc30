// SPDX-License-Identifier: MIT
/*
 * The irqchip platform of irqchip.h. Facts from Linux 6.1's
 * arch/x86/kvm/irq_comm.c, virt/kvm/irqchip.c and arch/x86/kvm/x86.c (each
 * rule names the upstream function it follows); the code is this
 * project's own.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "abi/errno.h"
#include "hv/irqchip/irqchip.h"

/* kvm_vm_ioctl_create_irqchip: kvm_pic_init, kvm_ioapic_init, default routing. */
void irqchip_init(struct irqchip *c, const struct irqchip_config *cfg)
{
	struct pic_config pc;
	struct ioapic_config ic;

	memset(c, 0, sizeof(*c));
	if (cfg)
		c->cfg = *cfg;
	pc = (struct pic_config){
	    .output = c->cfg.pic_output,
	    .accepts_intr = c->cfg.pic_accepts_intr,
	    .acked = c->cfg.acked, /* PIC IRQ n is GSI n */
	    .ctx = c->cfg.ctx,
	};
	ic = (struct ioapic_config){
	    .deliver = c->cfg.deliver,
	    .acked = c->cfg.acked, /* IOAPIC pin n is GSI n */
	    .ctx = c->cfg.ctx,
	};
	pic_init(&c->pic, &pc);
	ioapic_init(&c->ioapic, &ic);
}

/* kvm_set_irq: ret = r + max(ret, 0) over the non-negative results. */
static int combine(int ret, int r)
{
	if (r < 0)
		return ret;
	return r + (ret < 0 ? 0 : ret);
}

int irqchip_set_irq(struct irqchip *c, uint32_t gsi, int irq_source_id, bool level)
{
	int ret = -1;

	if (gsi >= IRQCHIP_NUM_GSIS)
		return -1; /* kvm_irq_map_gsi found no entry */
	/* kvm_set_ioapic_irq, then kvm_set_pic_irq for the legacy GSIs. */
	ret = combine(ret, ioapic_set_irq(&c->ioapic, gsi, irq_source_id, level));
	if (gsi < PIC_NUM_PINS)
		ret = combine(ret, pic_set_irq(&c->pic, gsi, irq_source_id, level));
	return ret;
}

/* kvm_free_irq_source_id: kvm_ioapic_clear_all and kvm_pic_clear_all. */
void irqchip_clear_source(struct irqchip *c, int irq_source_id)
{
	ioapic_clear_source(&c->ioapic, irq_source_id);
	pic_clear_source(&c->pic, irq_source_id);
}

/* kvm_msi_route_invalid + kvm_set_msi_irq */
int irqchip_msi_decode(uint32_t address_lo, uint32_t address_hi, uint32_t data, bool x2apic_format,
		       struct lapic_ipi *out)
{
	uint8_t mode = (data >> IRQCHIP_MSI_DATA_DM_SHIFT) & 7;

	if (x2apic_format && (address_hi & 0xff))
		return -HV_EINVAL;
	memset(out, 0, sizeof(*out));
	/* x86_msi_msg_get_destid */
	out->dest = (address_lo >> IRQCHIP_MSI_ADDR_DEST_SHIFT) & 0xff;
	if (x2apic_format)
		out->dest |= address_hi & 0xffffff00u;
	out->vector = data & IRQCHIP_MSI_DATA_VECTOR_MASK;
	out->logical = address_lo & IRQCHIP_MSI_ADDR_DEST_LOGICAL;
	out->level_trigger = data & IRQCHIP_MSI_DATA_LEVEL;
	out->assert = true; /* irq->level = 1 */
	out->shorthand = LAPIC_SH_NONE;
	/* kvm_lowest_prio_delivery: lowest-priority mode or the redirection hint. */
	out->lowest_priority =
	    mode == LAPIC_DM_LOWEST || (address_lo & IRQCHIP_MSI_ADDR_REDIRECT_HINT);
	out->delivery_mode = mode == LAPIC_DM_LOWEST ? LAPIC_DM_FIXED : mode;
	return 0;
}

/* kvm_send_userspace_msi */
int irqchip_msi_to_ipi(const struct kvm_msi *msi, struct lapic_ipi *out)
{
	if (msi->flags & ~KVM_MSI_VALID_DEVID)
		return -HV_EINVAL;
	return irqchip_msi_decode(msi->address_lo, msi->address_hi, msi->data, false, out);
}

/* kvm_send_userspace_msi -> kvm_set_msi (level 1) */
int irqchip_signal_msi(struct irqchip *c, const struct kvm_msi *msi)
{
	struct lapic_ipi ipi;
	int r = irqchip_msi_to_ipi(msi, &ipi);

	if (r < 0)
		return r;
	return c->cfg.deliver ? c->cfg.deliver(c->cfg.ctx, &ipi) : -1;
}

/* kvm_vm_ioctl_get_irqchip */
int irqchip_get(const struct irqchip *c, struct kvm_irqchip *chip)
{
	switch (chip->chip_id) {
	case KVM_IRQCHIP_PIC_MASTER:
	case KVM_IRQCHIP_PIC_SLAVE:
		pic_get_state(&c->pic, chip->chip_id, &chip->chip.pic);
		return 0;
	case KVM_IRQCHIP_IOAPIC:
		ioapic_get_state(&c->ioapic, &chip->chip.ioapic);
		return 0;
	default:
		return -HV_EINVAL;
	}
}

/* kvm_vm_ioctl_set_irqchip */
int irqchip_set(struct irqchip *c, const struct kvm_irqchip *chip)
{
	int r = 0;

	switch (chip->chip_id) {
	case KVM_IRQCHIP_PIC_MASTER:
	case KVM_IRQCHIP_PIC_SLAVE:
		r = pic_set_state(&c->pic, chip->chip_id, &chip->chip.pic);
		break;
	case KVM_IRQCHIP_IOAPIC:
		r = ioapic_set_state(&c->ioapic, &chip->chip.ioapic);
		break;
	default:
		r = -HV_EINVAL;
		break;
	}
	pic_update(&c->pic); /* kvm_pic_update_irq, whatever the chip id */
	return r;
}

void irqchip_eoi(struct irqchip *c, uint8_t vector, bool level)
{
	ioapic_eoi(&c->ioapic, vector, level);
}
