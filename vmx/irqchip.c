/* SPDX-License-Identifier: MIT */
/*
 * The in-hypervisor irqchip wired to VMX (see vmx/irqchip.h). The models
 * (hv/irqchip/) hold the state and the rules; this file routes messages
 * between them and the vCPUs, as Linux's arch/x86/kvm/lapic.c,
 * irq_comm.c and x86.c do (the function each part follows is named).
 */
#include <stddef.h>
#include <string.h>

#include "abi/errno.h"
#include "hv/irqchip/irqchip.h"
#include "hv/irqchip/lapic.h"
#include "hv/lib/log.h"
#include "hv/lib/mm.h"
#include "hv/lib/tsc.h"
#include "hv/lib/x86.h"
#include "vmx/cpuid.h"
#include "vmx/ept.h"
#include "vmx/irqchip.h"
#include "vmx/vcpu.h"
#include "vmx/vm.h"
#include "vmx/vmcs_fields.h"
#include "vmx/vmx.h"
#include "vmx/vmx_controls.h"
#include "vmx/vmx_ops.h"

#define APIC_MMIO_SIZE 0x1000

static size_t npages(size_t bytes)
{
	return (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
}

bool vm_has_irqchip(const struct vm *vm)
{
	return vm->irqchip != NULL;
}

/* ---- delivery to local APICs: kvm_irq_delivery_to_apic ------------------ */

/*
 * Hand @msg (an IPI, an IOAPIC redirection or an MSI) to every vCPU whose
 * APIC it names; @src is the sending vCPU for IPIs, else NULL. Lowest
 * priority goes to the first APIC that matches (KVM's arbitration picks
 * one too; which one is not architectural). Returns how many APICs took
 * it, 0 when one matched but refused it, -1 when none matched
 * (kvm_irq_delivery_to_apic).
 */
static int deliver(struct vm *vm, const struct lapic_ipi *msg, struct vcpu *src)
{
	int taken = -1;

	for (unsigned i = 0; i < VM_MAX_VCPUS; i++) {
		struct vcpu *t = vm->vcpus[i];
		enum lapic_event ev;

		if (!t || !t->apic || !lapic_ipi_match(t->apic, msg, t == src))
			continue;
		if (taken < 0)
			taken = 0; /* a destination matched: 0 even if it refuses */
		ev = lapic_ipi_accept(t->apic, msg);
		switch (ev) {
		case LAPIC_EVENT_NONE:
			continue;
		case LAPIC_EVENT_IRQ:
			break;
		case LAPIC_EVENT_NMI:
			vcpu_queue_nmi(t);
			break;
		case LAPIC_EVENT_INIT:
			t->init_pending = true;
			break;
		case LAPIC_EVENT_SIPI:
			t->sipi_pending = true;
			t->sipi_vector = msg->vector;
			break;
		}
		taken++;
		if (msg->lowest_priority)
			break;
	}
	return taken;
}

static int chip_deliver(void *ctx, const struct lapic_ipi *msg)
{
	return deliver(ctx, msg, NULL);
}

static void apic_deliver(void *ctx, const struct lapic_ipi *msg)
{
	struct vcpu *v = ctx;

	deliver(v->vm, msg, v);
}

static void apic_eoi(void *ctx, uint8_t vector, bool level)
{
	struct vcpu *v = ctx;

	if (v->vm->irqchip)
		irqchip_eoi(v->vm->irqchip, vector, level);
}

/* The guest's TSC: the VMCS offset of the loaded vCPU, the saved one otherwise. */
static uint64_t apic_now(void *ctx)
{
	struct vcpu *v = ctx;

	return rdtsc() + v->tsc_offset;
}

static bool accepts_pic(struct vcpu *v);

static bool pic_accepts_intr(void *ctx)
{
	struct vm *vm = ctx;

	for (unsigned i = 0; i < VM_MAX_VCPUS; i++)
		if (vm->vcpus[i] && vm->vcpus[i]->apic && accepts_pic(vm->vcpus[i]))
			return true;
	return false;
}

/* ---- the VM's chips --------------------------------------------------- */

int vm_create_irqchip(struct vm *vm)
{
	/* No pic_output: the PIC's INTR line is sampled at each entry (highest_irq). */
	struct irqchip_config cfg = {
	    .deliver = chip_deliver, .pic_accepts_intr = pic_accepts_intr, .ctx = vm};
	uint64_t pa;

	if (vm->irqchip)
		return -HV_EEXIST;
	if (vm->n_vcpus)
		return -HV_EINVAL;
	pa = pages_alloc_zeroed(npages(sizeof(struct irqchip)), 1);
	if (!pa)
		return -HV_ENOMEM;
	vm->irqchip = phys_to_virt(pa);
	irqchip_init(vm->irqchip, &cfg);
	/* Its contents never matter: the CPU sends accesses to the virtual-APIC page. */
	if (vmx_config.apicv) {
		vm->apic_access_pa = pages_alloc_zeroed(1, 1);
		vm->apic_access_dirty = true;
	}
	log_info("vm %s: irqchip created: LAPIC per vCPU at 0x%llx, IOAPIC (%u pins) at 0x%llx, "
		 "two 8259 PICs",
		 vm->name, (unsigned long long)LAPIC_DEFAULT_PHYS_BASE, IOAPIC_NUM_PINS,
		 (unsigned long long)IOAPIC_DEFAULT_BASE);
	return 0;
}

void vm_destroy_irqchip(struct vm *vm)
{
	if (!vm->irqchip)
		return;
	vm_apic_access_release(vm);
	if (vm->apic_access_pa)
		pages_free(vm->apic_access_pa, 1);
	vm->apic_access_pa = 0;
	pages_free(virt_to_phys(vm->irqchip), npages(sizeof(struct irqchip)));
	vm->irqchip = NULL;
}

int vm_irq_line(struct vm *vm, uint32_t gsi, bool level)
{
	if (!vm->irqchip)
		return -HV_ENXIO;
	return irqchip_set_irq(vm->irqchip, gsi, IRQCHIP_USERSPACE_SOURCE_ID, level);
}

/* kvm_send_userspace_msi: -EINVAL without an irqchip; 0 when no APIC took it. */
int vm_signal_msi(struct vm *vm, const struct kvm_msi *msi)
{
	int rc;

	if (!vm->irqchip)
		return -HV_EINVAL;
	rc = irqchip_signal_msi(vm->irqchip, msi);
	/* kvm_irq_delivery_to_apic_fast: a valid destination nobody has is 0. */
	return rc == -1 ? 0 : rc;
}

int vm_get_irqchip(struct vm *vm, struct kvm_irqchip *chip)
{
	if (!vm->irqchip)
		return -HV_ENXIO;
	return irqchip_get(vm->irqchip, chip);
}

int vm_set_irqchip(struct vm *vm, const struct kvm_irqchip *chip)
{
	if (!vm->irqchip)
		return -HV_ENXIO;
	return irqchip_set(vm->irqchip, chip);
}

/* ---- a vCPU's local APIC ---------------------------------------------- */

static void accept_init_sipi(struct vcpu *v);

/* ---- APIC virtualisation (SDM vol. 3C, "APIC Virtualization and Virtual Interrupts") ----
 *
 * Where the CPU has them (vmx_config.apicv), a vCPU with an in-hypervisor
 * APIC runs with a TPR shadow whose virtual-APIC page is the APIC model's
 * own register page, APIC-register virtualisation and virtual-interrupt
 * delivery, as KVM's APICv: reads of the APIC page and TPR/CR8 do not exit,
 * the CPU delivers the APIC's interrupts itself (RVI/SVI, set from IRR and
 * ISR before an entry when the model changed them) and performs EOIs
 * (self-IPIs too, without an exit), exiting only for the EOI of a
 * level-triggered vector (its broadcast to the IOAPIC) and after writes
 * with side effects (APIC-write exits, handled by the model from the value
 * the CPU stored). The APIC-access page is mapped at 0xfee00000 while every
 * vCPU's APIC is an enabled xAPIC there and no memory slot covers it;
 * otherwise (x2APIC, disabled, moved) the page is left to the EPT-violation
 * path and the decoder, as without APIC virtualisation. x2APIC MSRs exit
 * as before. The PIC's ExtINT is still injected as an event.
 */

static bool default_xapic(const struct lapic *apic)
{
	return lapic_hw_enabled(apic) && !lapic_x2apic_mode(apic) &&
	       (apic->apic_base & LAPIC_BASE_ADDR_MASK) == LAPIC_DEFAULT_PHYS_BASE;
}

static void apicv_setup(struct vcpu *v)
{
	v->apicv = true;
	vcpu_set_proc_ctls(v, (v->proc_ctls | VMX_PROC_TPR_SHADOW) &
				  ~(VMX_PROC_CR8_LOAD_EXITING | VMX_PROC_CR8_STORE_EXITING));
	vmcs_write64(VMCS_VIRTUAL_APIC_PAGE_ADDR, virt_to_phys(v->apic));
	vmcs_write64(VMCS_APIC_ACCESS_ADDR, v->vm->apic_access_pa);
	vmcs_write32(VMCS_TPR_THRESHOLD, 0);
	v->proc2_ctls |= VMX_PROC2_APIC_REG_VIRT | VMX_PROC2_VIRT_INTR_DELIVERY;
	vmcs_write32(VMCS_PROC2_CONTROLS, v->proc2_ctls);
	memset(v->eoi_exit, 0, sizeof(v->eoi_exit));
	vmcs_write64(VMCS_EOI_EXIT_BITMAP0, 0);
	vmcs_write64(VMCS_EOI_EXIT_BITMAP1, 0);
	vmcs_write64(VMCS_EOI_EXIT_BITMAP2, 0);
	vmcs_write64(VMCS_EOI_EXIT_BITMAP3, 0);
	vmcs_write16(VMCS_GUEST_INTR_STATUS, 0);
	v->apicv_xapic = false;
	v->vm->apic_access_dirty = true;
}

void vm_apic_access_release(struct vm *vm)
{
	if (!vm->apic_access_mapped)
		return;
	ept_unmap(&vm->ept, LAPIC_DEFAULT_PHYS_BASE, PAGE_SIZE);
	ept_prune(&vm->ept, LAPIC_DEFAULT_PHYS_BASE, PAGE_SIZE);
	ept_flush(&vm->ept);
	vm->apic_access_mapped = false;
	vm->apic_access_dirty = true;
}

/* Map the APIC-access page, or take it away, as the vCPUs' APICs now are. */
static void apic_access_refresh(struct vm *vm)
{
	bool want = vm->apic_access_pa && !vm_gpa_slot(vm, LAPIC_DEFAULT_PHYS_BASE, NULL);
	int rc;

	vm->apic_access_dirty = false;
	for (unsigned i = 0; i < vm->n_vcpus && want; i++)
		want = vm->vcpus[i]->apic && default_xapic(vm->vcpus[i]->apic);
	if (want == vm->apic_access_mapped)
		return;
	if (!want) {
		vm_apic_access_release(vm);
		vm->apic_access_dirty = false;
		log_debug("vm %s: APIC page back to emulation", vm->name);
		return;
	}
	rc = ept_map(&vm->ept, LAPIC_DEFAULT_PHYS_BASE, vm->apic_access_pa, PAGE_SIZE,
		     EPT_R | EPT_W);
	if (rc < 0) {
		log_warn("vm %s: APIC-access page not mapped (%d): APIC accesses are emulated",
			 vm->name, rc);
		return;
	}
	ept_flush(&vm->ept);
	vm->apic_access_mapped = true;
	log_debug("vm %s: APIC page virtualised", vm->name);
}

void vcpu_apicv_prepare(struct vcpu *v)
{
	struct vm *vm = v->vm;
	bool xapic = default_xapic(v->apic);
	bool block = v->guest_debug & KVM_GUESTDBG_BLOCKIRQ;
	uint32_t proc2;
	int irr, isr;

	if (xapic != v->apicv_xapic) {
		v->apicv_xapic = xapic;
		vm->apic_access_dirty = true;
	}
	if (vm->apic_access_dirty)
		apic_access_refresh(vm);
	proc2 = vm->apic_access_mapped ? v->proc2_ctls | VMX_PROC2_VIRT_APIC_ACCESSES
				       : v->proc2_ctls & ~VMX_PROC2_VIRT_APIC_ACCESSES;
	if (proc2 != v->proc2_ctls) {
		v->proc2_ctls = proc2;
		vmcs_write32(VMCS_PROC2_CONTROLS, proc2);
	}
	/*
	 * KVM_GUESTDBG_BLOCKIRQ: nothing goes in (KVM inhibits APICv for it,
	 * APICV_INHIBIT_REASON_BLOCKIRQ): RVI stays 0 while it is set.
	 */
	if (block != v->apicv_blockirq) {
		v->apicv_blockirq = block;
		v->apic->vectors_changed = true;
	}
	/* What the CPU changes in the guest it keeps in step itself. */
	if (!v->apic->vectors_changed)
		return;
	v->apic->vectors_changed = false;
	/* vmx_load_eoi_exitmap: level-triggered vectors (TMR) exit at their EOI. */
	for (unsigned i = 0; i < 4; i++) {
		uint64_t w = lapic_get_reg(v->apic, LAPIC_TMR + 0x20 * i) |
			     (uint64_t)lapic_get_reg(v->apic, LAPIC_TMR + 0x20 * i + 0x10) << 32;

		if (w != v->eoi_exit[i]) {
			v->eoi_exit[i] = w;
			vmcs_write64(VMCS_EOI_EXIT_BITMAP0 + 2 * i, w);
		}
	}
	/* vmx_set_rvi / vmx_hwapic_isr_update: from the page. */
	irr = block ? -1 : lapic_highest_irr(v->apic);
	isr = lapic_highest_isr(v->apic);
	vmcs_write16(VMCS_GUEST_INTR_STATUS,
		     (uint16_t)((isr > 0 ? isr : 0) << 8 | (irr > 0 ? irr : 0)));
}

void vcpu_apicv_write(struct vcpu *v, uint32_t offset)
{
	lapic_write_nodecode(v->apic, offset);
}

void vcpu_apicv_eoi(struct vcpu *v, uint8_t vector)
{
	lapic_eoi_accelerated(v->apic, vector);
}

int vcpu_apic_create(struct vcpu *v)
{
	struct lapic_config cfg = {
	    .vcpu_id = (uint32_t)v->id,
	    .tsc_hz = 0, /* KVM's 1 GHz when the TSC rate is unknown */
	    .bus_hz = 0,
	    .lint0_reenabled = true, /* KVM_X86_QUIRK_LINT0_REENABLED is on by default */
	    .now = apic_now,
	    .deliver = apic_deliver,
	    .eoi = apic_eoi,
	    .ctx = v,
	};
	uint64_t pa;

	if (!v->vm->irqchip)
		return 0;
	pa = pages_alloc_zeroed(npages(sizeof(struct lapic)), 1);
	if (!pa)
		return -HV_ENOMEM;
	v->apic = phys_to_virt(pa);
	cfg.tsc_hz = tsc_khz * 1000ull;
	cfg.maxphyaddr = (uint8_t)vcpu_cpuid_maxphyaddr(v);
	cfg.x2apic = vcpu_cpuid_has(v, FEAT_X2APIC);
	cfg.tsc_deadline = vcpu_cpuid_has(v, FEAT_TSC_DEADLINE);
	lapic_init(v->apic, &cfg);
	/* IA32_APIC_BASE as vcpu_msr_reset() set it (BSP bit on vCPU 0). */
	lapic_set_base(v->apic, v->apic_base, true);
	/* kvm_arch_vcpu_create: with an irqchip an AP waits for INIT and SIPI. */
	v->mp_state = v->id == 0 ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED;
	if (v->vm->apic_access_pa)
		apicv_setup(v);
	return 0;
}

void vcpu_apic_destroy(struct vcpu *v)
{
	if (!v->apic)
		return;
	pages_free(virt_to_phys(v->apic), npages(sizeof(struct lapic)));
	v->apic = NULL;
}

void vcpu_apic_cpuid_changed(struct vcpu *v)
{
	if (!v->apic)
		return;
	v->apic->cfg.maxphyaddr = (uint8_t)vcpu_cpuid_maxphyaddr(v);
	v->apic->cfg.x2apic = vcpu_cpuid_has(v, FEAT_X2APIC);
	v->apic->cfg.tsc_deadline = vcpu_cpuid_has(v, FEAT_TSC_DEADLINE);
}

/* kvm_arch_vcpu_ioctl: KVM_GET/SET_LAPIC without an in-kernel APIC are EINVAL. */
int vcpu_get_lapic(struct vcpu *v, struct kvm_lapic_state *s)
{
	if (!v->apic)
		return -HV_EINVAL;
	lapic_get_state(v->apic, (uint8_t *)s->regs);
	return 0;
}

int vcpu_set_lapic(struct vcpu *v, const struct kvm_lapic_state *s)
{
	if (!v->apic)
		return -HV_EINVAL;
	lapic_set_state(v->apic, (const uint8_t *)s->regs);
	return 0;
}

/* ---- MMIO: the APIC page and the IOAPIC window ------------------------ */

static bool in_apic_page(struct vcpu *v, uint64_t gpa)
{
	uint64_t base = v->apic->apic_base & LAPIC_BASE_ADDR_MASK;

	return gpa >= base && gpa - base < APIC_MMIO_SIZE;
}

static bool in_ioapic(struct vm *vm, uint64_t gpa)
{
	return ioapic_in_range(&vm->irqchip->ioapic, gpa);
}

int vcpu_irqchip_mmio_read(struct vcpu *v, uint64_t gpa, unsigned len, uint64_t *val)
{
	struct vm *vm = v->vm;

	*val = 0;
	if (!v->apic)
		return -1;
	/*
	 * apic_mmio_read: with the APIC off or in x2APIC mode its page reads ones
	 * (KVM_X86_QUIRK_LAPIC_MMIO_HOLE, on by default).
	 */
	if (in_apic_page(v, gpa)) {
		uint32_t r;

		if (lapic_mmio_read(v->apic, (uint32_t)(gpa & 0xfff), len, &r) == 0)
			*val = r;
		else /* the hole reads all ones (memset(data, 0xff, len)) */
			*val = len >= 8 ? ~0ull : (1ull << (8 * len)) - 1;
		return 0;
	}
	if (in_ioapic(vm, gpa))
		return ioapic_mmio_read(&vm->irqchip->ioapic,
					gpa - vm->irqchip->ioapic.base_address, len, val) < 0
			   ? -1
			   : 0;
	return -1;
}

int vcpu_irqchip_mmio_write(struct vcpu *v, uint64_t gpa, unsigned len, uint64_t val)
{
	struct vm *vm = v->vm;

	if (!v->apic)
		return -1;
	if (in_apic_page(v, gpa)) { /* dropped where it is a hole, as reads */
		lapic_mmio_write(v->apic, (uint32_t)(gpa & 0xfff), len, (uint32_t)val);
		return 0;
	}
	if (in_ioapic(vm, gpa))
		return ioapic_mmio_write(&vm->irqchip->ioapic,
					 gpa - vm->irqchip->ioapic.base_address, len, val) < 0
			   ? -1
			   : 0;
	return -1;
}

int vcpu_irqchip_pio(struct vcpu *v, uint16_t port, unsigned size, bool in, uint64_t *rax)
{
	struct irqchip *chip = v->vm->irqchip;
	uint32_t val;

	if (!chip)
		return -1;
	if (!in)
		return pic_ioport_write(&chip->pic, port, size, (uint32_t)*rax) < 0 ? -1 : 0;
	if (pic_ioport_read(&chip->pic, port, size, &val) < 0)
		return -1;
	/* IN AL/AX keeps the rest of RAX; IN EAX zero-extends. */
	if (size == 4)
		*rax = val;
	else if (size == 2)
		*rax = (*rax & ~0xffffull) | (val & 0xffff);
	else
		*rax = (*rax & ~0xffull) | (val & 0xff);
	return 0;
}

/* ---- events at VM entry ----------------------------------------------- */

/* kvm_apic_accept_pic_intr: LVT0 in ExtINT mode unmasked, or the APIC off. */
static bool accepts_pic(struct vcpu *v)
{
	uint32_t lvt0 = lapic_get_reg(v->apic, LAPIC_LVT0);

	if (!lapic_hw_enabled(v->apic))
		return true;
	return !(lvt0 & LAPIC_LVT_MASKED) && ((lvt0 & LAPIC_MODE_MASK) >> 8) == LAPIC_DM_EXTINT;
}

/* kvm_vcpu_reset(init_event) for the APIC and the registers, then wait for SIPI. */
void vcpu_apic_accept_events(struct vcpu *v)
{
	if (v->apic && (v->init_pending || v->sipi_pending))
		accept_init_sipi(v);
}

static void accept_init_sipi(struct vcpu *v)
{
	if (v->init_pending) {
		v->init_pending = false;
		vcpu_init_event(v);
		lapic_reset(v->apic, true);
		/* kvm_apic_accept_events: the BSP runs on, an AP waits for SIPI. */
		v->mp_state = v->id == 0 ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_INIT_RECEIVED;
		log_debug("vm %s vcpu %d: INIT, mp_state %u", v->vm->name, v->id, v->mp_state);
	}
	if (v->sipi_pending) {
		v->sipi_pending = false;
		if (v->mp_state == KVM_MP_STATE_INIT_RECEIVED) {
			vcpu_deliver_sipi(v, v->sipi_vector);
			v->mp_state = KVM_MP_STATE_RUNNABLE;
			log_debug("vm %s vcpu %d: SIPI vector 0x%x", v->vm->name, v->id,
				  v->sipi_vector);
		}
	}
}

/*
 * kvm_cpu_has_interrupt / kvm_cpu_get_interrupt: the PIC first, then the
 * APIC; without @apic_too only the PIC (kvm_cpu_has_injectable_intr with
 * APICv: the CPU delivers the APIC's).
 */
static int highest_irq(struct vcpu *v, bool ack, bool apic_too)
{
	struct irqchip *chip = v->vm->irqchip;

	if (chip && pic_output(&chip->pic) && accepts_pic(v))
		return ack ? pic_read_irq(&chip->pic) : 0x100;
	if (!apic_too)
		return -1;
	return ack ? lapic_ack_interrupt(v->apic) : lapic_has_interrupt(v->apic);
}

int vcpu_apic_pending_irq(struct vcpu *v, bool (*interruptible)(struct vcpu *v), bool *window)
{
	*window = false;
	if (v->apic->timer.target)
		lapic_timer_tick(v->apic, apic_now(v));
	/* INIT and SIPI were taken at the top of vcpu_run's loop. */
	if (highest_irq(v, false, !v->apicv) < 0)
		return -1;
	if (!interruptible(v)) {
		*window = true;
		return -1;
	}
	return highest_irq(v, true, !v->apicv);
}

uint64_t vcpu_apic_timer_left(struct vcpu *v)
{
	uint64_t now, next = lapic_timer_next(v->apic, 0);

	if (next == UINT64_MAX)
		return UINT64_MAX;
	now = apic_now(v);
	return next > now ? next - now : 0;
}

/* ---- halting: kvm_vcpu_halt, kvm_vcpu_block, kvm_arch_vcpu_runnable ---- */

static bool runnable(struct vcpu *v)
{
	if (v->apic->timer.target)
		lapic_timer_tick(v->apic, apic_now(v));
	if (v->init_pending || v->sipi_pending)
		accept_init_sipi(v);
	if (v->mp_state == KVM_MP_STATE_RUNNABLE)
		return true;
	if (v->mp_state != KVM_MP_STATE_HALTED)
		return false; /* INIT_RECEIVED waits for SIPI */
	/* A halted vCPU wakes for an NMI, or an interrupt it can take (IF=1). */
	if (v->nmi_pending)
		return true;
	return (vmcs_readl(VMCS_GUEST_RFLAGS) & RFLAGS_IF) && highest_irq(v, false, true) >= 0;
}

bool vcpu_wait_runnable(struct vcpu *v)
{
	while (!runnable(v)) {
		if (v->stop_request || (v->tsc_deadline && rdtsc() >= v->tsc_deadline))
			return false;
		/* The host tick (or the channel's interrupt) ends each wait. */
		sti_hlt_cli();
		vcpu_serve_channel(v);
	}
	v->mp_state = KVM_MP_STATE_RUNNABLE;
	return true;
}
