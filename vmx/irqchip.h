/* SPDX-License-Identifier: MIT */
/*
 * The in-hypervisor irqchip of a VM, as KVM_CREATE_IRQCHIP makes it: a
 * local APIC per vCPU (hv/irqchip/lapic.c), an IOAPIC and two 8259 PICs
 * (hv/irqchip/irqchip.c), wired to VMX here: xAPIC and IOAPIC MMIO from
 * EPT violations, x2APIC MSRs, interrupt injection at VM entry, the APIC
 * timer on the VMX preemption timer, HLT and INIT/SIPI in the hypervisor.
 *
 * Without an irqchip none of this exists and the controller plays the
 * interrupt controller (KVM_INTERRUPT, KVM_EXIT_HLT), as with KVM.
 */
#ifndef VMX_IRQCHIP_H
#define VMX_IRQCHIP_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/kvm.h"

struct vm;
struct vcpu;

/* KVM_CREATE_IRQCHIP: -EEXIST with one, -EINVAL once a vCPU exists. */
int vm_create_irqchip(struct vm *vm);
void vm_destroy_irqchip(struct vm *vm);
bool vm_has_irqchip(const struct vm *vm);

/* KVM_IRQ_LINE(_STATUS): a GSI's level; the status, or -ENXIO without an irqchip. */
int vm_irq_line(struct vm *vm, uint32_t gsi, bool level);
/* KVM_SIGNAL_MSI: how many APICs took it, -1 none, -EINVAL bad message or no irqchip. */
int vm_signal_msi(struct vm *vm, const struct kvm_msi *msi);
/* KVM_GET/SET_IRQCHIP. */
int vm_get_irqchip(struct vm *vm, struct kvm_irqchip *chip);
int vm_set_irqchip(struct vm *vm, const struct kvm_irqchip *chip);

/* A new vCPU of a VM with an irqchip gets its local APIC: 0 or -ENOMEM. */
int vcpu_apic_create(struct vcpu *v);
void vcpu_apic_destroy(struct vcpu *v);
/* CPUID changed: what the APIC offers follows (x2APIC, TSC-deadline). */
void vcpu_apic_cpuid_changed(struct vcpu *v);

/*
 * APIC virtualisation (v->apicv): before each entry, the controls, the
 * EOI-exit bitmap and RVI/SVI from the APIC page; the APIC-write and
 * virtualised-EOI exits; the APIC-access page out of the way of memory
 * slots (it is looked at again at the next entry).
 */
void vcpu_apicv_prepare(struct vcpu *v);
void vcpu_apicv_write(struct vcpu *v, uint32_t offset);
void vcpu_apicv_eoi(struct vcpu *v, uint8_t vector);
void vm_apic_access_release(struct vm *vm);

/* KVM_GET/SET_LAPIC: -EINVAL without an in-hypervisor APIC. */
int vcpu_get_lapic(struct vcpu *v, struct kvm_lapic_state *s);
int vcpu_set_lapic(struct vcpu *v, const struct kvm_lapic_state *s);

/*
 * MMIO of the APIC page or the IOAPIC window at @gpa: 0 when the irqchip
 * took the access, -1 when it is not the irqchip's (an ordinary MMIO exit).
 */
int vcpu_irqchip_mmio_read(struct vcpu *v, uint64_t gpa, unsigned len, uint64_t *val);
int vcpu_irqchip_mmio_write(struct vcpu *v, uint64_t gpa, unsigned len, uint64_t val);

/*
 * IN/OUT of the in-hypervisor PICs' ports (0x20, 0x21, 0xa0, 0xa1, ELCR
 * 0x4d0, 0x4d1): 0 when taken (IN merges into *rax as the CPU would), -1
 * for any other port.
 */
int vcpu_irqchip_pio(struct vcpu *v, uint16_t port, unsigned size, bool in, uint64_t *rax);

/*
 * Before each VM entry (after vcpu_apic_accept_events): fire a due APIC
 * timer and say
 * which external interrupt the guest can take now (-1: none), asking
 * @interruptible only when one is pending. @window is set when one waits
 * for the guest to become interruptible.
 */
int vcpu_apic_pending_irq(struct vcpu *v, bool (*interruptible)(struct vcpu *v), bool *window);
/* kvm_apic_accept_events: a received INIT or SIPI takes effect now. */
void vcpu_apic_accept_events(struct vcpu *v);
/* TSC ticks (host) until the APIC timer of @v is due, UINT64_MAX if none. */
uint64_t vcpu_apic_timer_left(struct vcpu *v);

/*
 * HLT (or INIT) with an irqchip: wait in the hypervisor until an event
 * makes the vCPU runnable. Returns true when it is, false when the run
 * must end first (a kick or the run budget), with mp_state kept.
 */
bool vcpu_wait_runnable(struct vcpu *v);

#endif
