// SPDX-License-Identifier: MIT
/*
 * vCPU life cycle, guest state in KVM's shapes, event injection and the run
 * loop. What to do on each exit is in vmx/exit.c.
 */
#include <string.h>

#include "boot/trap.h"
#include "abi/errno.h"
#include "hv/irqchip/lapic.h"
#include "hv/x86emu/guest_walk.h"
#include "hv/lib/log.h"
#include "hv/lib/mm.h"
#include "hv/lib/msr.h"
#include "hv/lib/x86.h"
#include "vmx/exit.h"
#include "vmx/irqchip.h"
#include "vmx/vcpu.h"
#include "vmx/xstate.h"
#include "vmx/vmx.h"
#include "vmx/vmx_controls.h"
#include "vmx/vmx_ops.h"

extern char vmx_exit_entry[];

/* Segment access rights (VMCS format = KVM's fields packed, SDM 24.4.1). */
#define AR_UNUSABLE	       (1u << 16)
#define INTERRUPTIBILITY_STI   (1u << 0)
#define INTERRUPTIBILITY_MOVSS (1u << 1)
#define INTERRUPTIBILITY_NMI   (1u << 3)
#define ACTIVITY_ACTIVE	       0

/* CR0 bits the hypervisor owns: writes exit and are checked here. */
#define CR0_HOST_OWNED (CR0_PE | CR0_PG | CR0_NE | CR0_CD | CR0_NW)

/* Power-on PAT (SDM 11.12.4). */
#define PAT_RESET 0x0007040600070406ull

/* DR6 after RESET (SDM 17.2.3); DR7's is 0x400. */
#define DR6_RESET      0xffff0ff0ull
#define DR7_RESET      0x400ull
#define DR6_RESET_ONES 0xfffe0ff0ull /* bits that read as 1 (bit 16: RTM, active low) */
#define DR7_WRITABLE   0xffff2fffull /* bits 12, 14 and 15 are reserved zero */

static struct vcpu *current_vcpu;
static int load_pdptes(struct vcpu *v, uint64_t cr3);
static void apply_singlestep_tf(struct vcpu *v);
void (*vcpu_slice_hook)(void);
static uint32_t exception_bitmap(const struct vcpu *v);
static void put_state(struct vcpu *v);
static void get_state(struct vcpu *v);
/* VPIDs in use (bit n: VPID n); 0 belongs to VMX root operation. */
static uint64_t vpid_used[65536 / 64] = {1};

static uint16_t vpid_alloc(void)
{
	for (unsigned w = 0; w < 65536 / 64; w++)
		if (~vpid_used[w]) {
			unsigned b = (unsigned)__builtin_ctzll(~vpid_used[w]);

			vpid_used[w] |= 1ull << b;
			return (uint16_t)(w * 64 + b);
		}
	return 0;
}

static void vpid_free(uint16_t vpid)
{
	if (vpid)
		vpid_used[vpid / 64] &= ~(1ull << (vpid % 64));
}

static uint64_t pages_for(size_t bytes)
{
	return (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
}

/* Bits of CR0/CR4 hardware requires while the guest runs. */
static uint64_t cr0_forced(void)
{
	/* Unrestricted guest: PE and PG are the guest's to choose. */
	return vmx_caps.cr0_fixed0 & ~(CR0_PE | CR0_PG);
}

/* The guest's CR0: host-owned bits from the read shadow, the rest as it wrote them. */
static uint64_t vcpu_read_cr0(struct vcpu *v)
{
	uint64_t mask = CR0_HOST_OWNED | cr0_forced();

	return (vmcs_readl(VMCS_CR0_READ_SHADOW) & mask) | (vmcs_readl(VMCS_GUEST_CR0) & ~mask);
}

/*
 * CR4 bits the guest may set (kvm_is_valid_cr4): the CPU's, less VMX/SMX
 * and LA57 (hidden) and PKS unless offered (vmx_config.pks), less those
 * whose feature its CPUID lacks.
 */
static bool cr4_valid(struct vcpu *v, uint64_t cr4)
{
	uint64_t hidden = CR4_VMXE | CR4_SMXE | CR4_LA57 | (vmx_config.pks ? 0 : CR4_PKS);

	if ((cr4 & ~vmx_caps.cr4_fixed1) || (cr4 & hidden))
		return false;
	return !(cr4 & vcpu_cpuid_cr4_reserved(v));
}

/* Drop the guest's own cached translations (its VPID's; all without VPID). */
static void vcpu_flush_guest_tlb(struct vcpu *v)
{
	if (vmx_config.vpid && v->vpid)
		invvpid_safe(INVVPID_SINGLE_CONTEXT, v->vpid);
	else
		ept_flush(&v->vm->ept);
}

static void setup_host_state(void)
{
	vmcs_writel(VMCS_HOST_CR0, read_cr0());
	vmcs_writel(VMCS_HOST_CR3, read_cr3());
	vmcs_writel(VMCS_HOST_CR4, read_cr4());
	vmcs_write16(VMCS_HOST_CS_SEL, GDT_CODE64);
	vmcs_write16(VMCS_HOST_SS_SEL, GDT_DATA);
	vmcs_write16(VMCS_HOST_DS_SEL, GDT_DATA);
	vmcs_write16(VMCS_HOST_ES_SEL, GDT_DATA);
	vmcs_write16(VMCS_HOST_FS_SEL, 0);
	vmcs_write16(VMCS_HOST_GS_SEL, 0);
	vmcs_write16(VMCS_HOST_TR_SEL, GDT_TSS);
	vmcs_writel(VMCS_HOST_FS_BASE, 0);
	vmcs_writel(VMCS_HOST_GS_BASE, 0);
	vmcs_writel(VMCS_HOST_TR_BASE, cpu_tss_base());
	vmcs_writel(VMCS_HOST_GDTR_BASE, sgdt().base);
	vmcs_writel(VMCS_HOST_IDTR_BASE, sidt().base);
	vmcs_write32(VMCS_HOST_IA32_SYSENTER_CS, 0);
	vmcs_writel(VMCS_HOST_IA32_SYSENTER_ESP, 0);
	vmcs_writel(VMCS_HOST_IA32_SYSENTER_EIP, 0);
	vmcs_write64(VMCS_HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	vmcs_write64(VMCS_HOST_IA32_EFER, rdmsr(MSR_IA32_EFER));
	/* The hypervisor's own PKRS comes back at every exit (never the guest's). */
	if (vmx_config.pks)
		vmcs_write64(VMCS_HOST_IA32_PKRS, rdmsr(MSR_IA32_PKRS));
	vmcs_writel(VMCS_HOST_RIP, (uint64_t)vmx_exit_entry);
}

/* A guest that never exits comes back this often (preemption-timer units). */
#define PREEMPTION_SLICE (1u << 22)

static void setup_controls(struct vcpu *v)
{
	const struct vmx_config *c = &vmx_config;

	vmcs_write32(VMCS_PIN_CONTROLS, c->pin);
	vcpu_set_proc_ctls(v, c->proc);
	v->proc2_ctls = c->proc2;
	vmcs_write32(VMCS_PROC2_CONTROLS, c->proc2);
	vmcs_write32(VMCS_EXIT_CONTROLS, c->exit);
	v->entry_ctls = c->entry;
	vmcs_write32(VMCS_ENTRY_CONTROLS, v->entry_ctls);
	vmcs_write32(VMCS_EXCEPTION_BITMAP, exception_bitmap(v));
	vmcs_write32(VMCS_PF_ERROR_CODE_MASK, 0);
	vmcs_write32(VMCS_PF_ERROR_CODE_MATCH, 0);
	vmcs_write32(VMCS_CR3_TARGET_COUNT, 0);
	vmcs_write32(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write32(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write32(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write32(VMCS_ENTRY_INTR_INFO, 0);
	vmcs_write64(VMCS_IO_BITMAP_A, v->io_bitmap_a);
	vmcs_write64(VMCS_IO_BITMAP_B, v->io_bitmap_b);
	vmcs_write64(VMCS_MSR_BITMAP, v->msr_bitmap);
	vmcs_write64(VMCS_TSC_OFFSET, 0); /* vcpu_msr_reset() sets the VM's */
	vmcs_write64(VMCS_EPT_POINTER, v->vm->ept.eptp);
	if (c->vpid)
		vmcs_write16(VMCS_VPID, v->vpid);
	vmcs_writel(VMCS_CR0_GUEST_HOST_MASK, CR0_HOST_OWNED | cr0_forced());
	vmcs_writel(VMCS_CR4_GUEST_HOST_MASK, ~0ull);
	vmcs_write64(VMCS_VMCS_LINK_POINTER, ~0ull);
	v->preemption_timer = PREEMPTION_SLICE;
	if (c->preemption_timer)
		vmcs_write32(VMCS_PREEMPTION_TIMER_VALUE, v->preemption_timer);
}

static void set_segment(uint32_t sel_f, const struct kvm_segment *s)
{
	/* The fields of one segment are at fixed distances from the selector's. */
	uint32_t idx = sel_f - VMCS_GUEST_ES_SEL;
	uint32_t ar = s->type | s->s << 4 | s->dpl << 5 | s->present << 7 | s->avl << 12 |
		      s->l << 13 | s->db << 14 | s->g << 15;

	/* __vmx_set_segment() with unrestricted guest: every type but LDTR's is accessed. */
	if (sel_f != VMCS_GUEST_LDTR_SEL)
		ar |= 1;
	if (s->unusable ||
	    (!s->present && sel_f != VMCS_GUEST_CS_SEL && sel_f != VMCS_GUEST_TR_SEL))
		ar = AR_UNUSABLE;
	vmcs_write_checked(VMCS_GUEST_ES_SEL + idx, s->selector);
	vmcs_write_checked(VMCS_GUEST_ES_LIMIT + idx, s->limit);
	vmcs_write_checked(VMCS_GUEST_ES_AR + idx, ar);
	vmcs_write_checked(VMCS_GUEST_ES_BASE + idx, s->base);
}

static void get_segment(uint32_t sel_f, struct kvm_segment *s)
{
	uint32_t idx = sel_f - VMCS_GUEST_ES_SEL;
	uint32_t ar = (uint32_t)vmcs_read_checked(VMCS_GUEST_ES_AR + idx);

	memset(s, 0, sizeof(*s));
	s->selector = (uint16_t)vmcs_read_checked(VMCS_GUEST_ES_SEL + idx);
	s->limit = (uint32_t)vmcs_read_checked(VMCS_GUEST_ES_LIMIT + idx);
	s->base = vmcs_read_checked(VMCS_GUEST_ES_BASE + idx);
	s->type = ar & 15;
	s->s = ar >> 4 & 1;
	s->dpl = ar >> 5 & 3;
	s->present = ar >> 7 & 1;
	s->avl = ar >> 12 & 1;
	s->l = ar >> 13 & 1;
	s->db = ar >> 14 & 1;
	s->g = ar >> 15 & 1;
	s->unusable = ar >> 16 & 1;
}

/*
 * The state after RESET as upstream's kvm_vcpu_reset() and vmx_vcpu_reset()
 * leave it (SDM 9.1.1): real mode at F000:FFF0, CR0 = CD | NW | ET, RDX =
 * the family/model/stepping of CPUID leaf 1 (0x600 without one), every
 * other register 0, DR6/DR7 at their reset values, XCR0 = x87, CR8 = 0.
 * The MSRs, apic_base among them, are vcpu_msr_reset()'s.
 */
static void reset_state(struct vcpu *v)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	struct kvm_segment data = {.limit = 0xffff, .type = 3, .s = 1, .present = 1};

	memset(&s, 0, sizeof(s));
	s.cs = data;
	s.cs.type = 11;
	s.cs.selector = 0xf000;
	s.cs.base = 0xffff0000;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.tr = (struct kvm_segment){.limit = 0xffff, .type = 11, .present = 1};
	s.ldt = (struct kvm_segment){.limit = 0xffff, .type = 2, .present = 1};
	s.gdt.limit = s.idt.limit = 0xffff;
	s.cr0 = CR0_ET | CR0_NW | CR0_CD;
	s.apic_base = 0;
	vcpu_set_sregs(v, &s);
	memset(&r, 0, sizeof(r));
	r.rip = 0xfff0;
	r.rflags = 2;
	r.rdx = vcpu_cpuid(v, 1, 0).eax;
	if (!r.rdx)
		r.rdx = 0x600; /* no leaf 1 */
	vcpu_set_regs(v, &r);
	vmcs_write64(VMCS_GUEST_IA32_PAT, PAT_RESET);
	vmcs_writel(VMCS_GUEST_DR7, DR7_RESET);
	vmcs_write64(VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
	vmcs_writel(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write32(VMCS_GUEST_SYSENTER_CS, 0);
	vmcs_writel(VMCS_GUEST_SYSENTER_ESP, 0);
	vmcs_writel(VMCS_GUEST_SYSENTER_EIP, 0);
	/* "PKRS is cleared on INIT. It should be 0 in all cases." (the PKS series' review) */
	if (vmx_config.pks)
		vmcs_write64(VMCS_GUEST_IA32_PKRS, 0);
	v->xcr0 = 1; /* x87 only, as after reset */
	v->cr8 = 0;
}

int vcpu_create(struct vm *vm, int id, struct vcpu **out)
{
	uint64_t pa, run_pa, xs_pa;
	struct vcpu *v;

	/* Every check before the first allocation: an error leaks nothing. */
	if (vm->n_vcpus >= VM_MAX_VCPUS || id < 0 || id >= VM_MAX_VCPUS)
		return -HV_EINVAL;
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		if (vm->vcpus[i]->id == id)
			return -HV_EEXIST;
	pa = pages_alloc_zeroed(pages_for(sizeof(struct vcpu)), 1);
	if (!pa)
		return -HV_ENOMEM;
	v = phys_to_virt(pa);
	v->vm = vm;
	v->id = id;
	v->vmcs01.cpu = -1;
	v->vmcs01.pa = page_alloc_zeroed();
	run_pa = pages_alloc_zeroed(VCPU_RUN_PAGES, 1);
	v->run = run_pa ? phys_to_virt(run_pa) : NULL;
	v->io_bitmap_a = page_alloc_zeroed();
	v->io_bitmap_b = page_alloc_zeroed();
	v->msr_bitmap = page_alloc_zeroed();
	xs_pa = pages_alloc_zeroed(pages_for(xstate_area_size()), 1);
	v->xstate = xs_pa ? phys_to_virt(xs_pa) : NULL;
	v->vpid = vmx_config.vpid ? vpid_alloc() : 0;
	if (!v->vmcs01.pa || !v->run || !v->io_bitmap_a || !v->io_bitmap_b || !v->msr_bitmap ||
	    !v->xstate || (vmx_config.vpid && !v->vpid)) {
		int err = vmx_config.vpid && !v->vpid && v->xstate ? -HV_ENOSPC : -HV_ENOMEM;

		vcpu_destroy(v);
		return err;
	}
	/* Every port exits; handlers decide. MSRs: vcpu_msr_bitmap_update() below. */
	memset(phys_to_virt(v->io_bitmap_a), 0xff, PAGE_SIZE);
	memset(phys_to_virt(v->io_bitmap_b), 0xff, PAGE_SIZE);
	*(uint32_t *)phys_to_virt(v->vmcs01.pa) = (uint32_t)vmx_caps.basic & 0x7fffffff;
	/* A recycled VPID may still tag translations of the vCPU that had it. */
	if (v->vpid)
		invvpid_safe(INVVPID_SINGLE_CONTEXT, v->vpid);
	v->cpuid.nent = (uint32_t)cpuid_supported(v->cpuid.e, VCPU_CPUID_MAX);

	xstate_area_reset(v->xstate);
	v->dr6 = DR6_RESET;
	memset(&v->dbg_set, 0, sizeof(v->dbg_set));

	if (current_vcpu)
		put_state(current_vcpu);
	vmclear(v->vmcs01.pa);
	vmptrld(v->vmcs01.pa);
	v->vmcs01.cpu = 0;
	v->loaded_vmcs = &v->vmcs01;
	current_vcpu = v;
	setup_host_state();
	setup_controls(v);
	reset_state(v);
	get_state(v);
	vcpu_msr_reset(v); /* MSRs, apic_base and the VM's TSC, as kvm_vcpu_reset() */
	vcpu_msr_bitmap_update(v);
	if (vcpu_apic_create(v) < 0) {
		vcpu_destroy(v);
		return -HV_ENOMEM;
	}
	vm->vcpus[vm->n_vcpus++] = v;
	*out = v;
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->vmcs01.pa) {
		vmclear(v->vmcs01.pa);
		page_free(v->vmcs01.pa);
	}
	if (current_vcpu == v)
		current_vcpu = NULL;
	if (v->run)
		pages_free(virt_to_phys(v->run), VCPU_RUN_PAGES);
	if (v->io_bitmap_a)
		page_free(v->io_bitmap_a);
	if (v->io_bitmap_b)
		page_free(v->io_bitmap_b);
	if (v->msr_bitmap)
		page_free(v->msr_bitmap);
	if (v->xstate)
		pages_free(virt_to_phys(v->xstate), pages_for(xstate_area_size()));
	vcpu_apic_destroy(v);
	if (v->vpid && vmx_config.vpid)
		invvpid_safe(INVVPID_SINGLE_CONTEXT, v->vpid);
	vpid_free(v->vpid); /* flushed: a later vCPU may have it */
	pages_free(virt_to_phys(v), pages_for(sizeof(struct vcpu)));
}

/* The current vCPU's non-VMCS state goes back to its struct. */
static void put_state(struct vcpu *v)
{
	/* SWAPGS in the guest changes it without an exit. */
	v->kernel_gs_base = rdmsr(MSR_KERNEL_GS_BASE);
	if (!v->hwbp.on) { /* else the CPU holds the debugger's */
		v->db[0] = read_dr0();
		v->db[1] = read_dr1();
		v->db[2] = read_dr2();
		v->db[3] = read_dr3();
	}
	v->dr6 = read_dr6();
	xstate_save(v->xstate, v->xcr0);
}

/* v's non-VMCS state into the CPU. */
/* DR0-3 into the CPU: the debugger's under KVM_GUESTDBG_USE_HW_BP, else the guest's. */
static void load_debug_regs(struct vcpu *v)
{
	const uint64_t *db = v->hwbp.on ? v->hwbp.db : v->db;

	write_dr0(db[0]);
	write_dr1(db[1]);
	write_dr2(db[2]);
	write_dr3(db[3]);
}

static void get_state(struct vcpu *v)
{
	wrmsr(MSR_STAR, v->star);
	wrmsr(MSR_LSTAR, v->lstar);
	wrmsr(MSR_CSTAR, v->cstar);
	wrmsr(MSR_FMASK, v->fmask);
	wrmsr(MSR_KERNEL_GS_BASE, v->kernel_gs_base);
	if (cpuid(0x80000001, 0).edx & (1u << 27))
		wrmsr(MSR_TSC_AUX, v->tsc_aux);
	load_debug_regs(v);
	write_dr6(v->dr6);
	xstate_restore(v->xstate, v->xcr0); /* and XCR0 */
}

/* Make v's VMCS current and its other state live in the CPU. */
void vcpu_load(struct vcpu *v)
{
	if (current_vcpu == v)
		return;
	if (current_vcpu)
		put_state(current_vcpu);
	vmptrld(v->loaded_vmcs->pa);
	v->loaded_vmcs->cpu = 0;
	get_state(v);
	current_vcpu = v;
}

void vcpu_set_proc_ctls(struct vcpu *v, uint32_t ctls)
{
	v->proc_ctls = ctls;
	vmcs_write32(VMCS_PROC_CONTROLS, ctls);
}

int vcpu_get_regs(struct vcpu *v, struct kvm_regs *r)
{
	vcpu_load(v);
	r->rax = v->gpr[GPR_RAX];
	r->rbx = v->gpr[GPR_RBX];
	r->rcx = v->gpr[GPR_RCX];
	r->rdx = v->gpr[GPR_RDX];
	r->rsi = v->gpr[GPR_RSI];
	r->rdi = v->gpr[GPR_RDI];
	r->rbp = v->gpr[GPR_RBP];
	r->r8 = v->gpr[GPR_R8];
	r->r9 = v->gpr[GPR_R9];
	r->r10 = v->gpr[GPR_R10];
	r->r11 = v->gpr[GPR_R11];
	r->r12 = v->gpr[GPR_R12];
	r->r13 = v->gpr[GPR_R13];
	r->r14 = v->gpr[GPR_R14];
	r->r15 = v->gpr[GPR_R15];
	r->rsp = vmcs_readl(VMCS_GUEST_RSP);
	r->rip = vmcs_readl(VMCS_GUEST_RIP);
	r->rflags = vmcs_readl(VMCS_GUEST_RFLAGS);
	if (v->tf_by_debugger)
		r->rflags &= ~RFLAGS_TF; /* the debugger's, not the guest's */
	return 0;
}

int vcpu_set_regs(struct vcpu *v, const struct kvm_regs *in)
{
	struct kvm_regs r = *in; /* copied once */

	vcpu_load(v);
	v->gpr[GPR_RAX] = r.rax;
	v->gpr[GPR_RBX] = r.rbx;
	v->gpr[GPR_RCX] = r.rcx;
	v->gpr[GPR_RDX] = r.rdx;
	v->gpr[GPR_RSI] = r.rsi;
	v->gpr[GPR_RDI] = r.rdi;
	v->gpr[GPR_RBP] = r.rbp;
	v->gpr[GPR_R8] = r.r8;
	v->gpr[GPR_R9] = r.r9;
	v->gpr[GPR_R10] = r.r10;
	v->gpr[GPR_R11] = r.r11;
	v->gpr[GPR_R12] = r.r12;
	v->gpr[GPR_R13] = r.r13;
	v->gpr[GPR_R14] = r.r14;
	v->gpr[GPR_R15] = r.r15;
	vmcs_writel(VMCS_GUEST_RSP, r.rsp);
	vmcs_writel(VMCS_GUEST_RIP, r.rip);
	/* Bit 1 is always 1; the reserved bits are 0. */
	vmcs_writel(VMCS_GUEST_RFLAGS, (r.rflags & 0x3f7fd5) | 2);
	v->tf_by_debugger = false;
	apply_singlestep_tf(v);
	return 0;
}

static const uint32_t seg_fields[] = {
    VMCS_GUEST_CS_SEL, VMCS_GUEST_DS_SEL, VMCS_GUEST_ES_SEL, VMCS_GUEST_FS_SEL,
    VMCS_GUEST_GS_SEL, VMCS_GUEST_SS_SEL, VMCS_GUEST_TR_SEL, VMCS_GUEST_LDTR_SEL,
};

int vcpu_get_sregs(struct vcpu *v, struct kvm_sregs *s)
{
	struct kvm_segment *segs[] = {&s->cs, &s->ds, &s->es, &s->fs,
				      &s->gs, &s->ss, &s->tr, &s->ldt};

	vcpu_load(v);
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < 8; i++)
		get_segment(seg_fields[i], segs[i]);
	s->gdt.base = vmcs_readl(VMCS_GUEST_GDTR_BASE);
	s->gdt.limit = (uint16_t)vmcs_read32(VMCS_GUEST_GDTR_LIMIT);
	s->idt.base = vmcs_readl(VMCS_GUEST_IDTR_BASE);
	s->idt.limit = (uint16_t)vmcs_read32(VMCS_GUEST_IDTR_LIMIT);
	s->cr0 = vcpu_read_cr0(v);
	s->cr8 = vcpu_get_cr8(v);
	s->cr2 = v->cr2;
	s->cr3 = vmcs_readl(VMCS_GUEST_CR3);
	s->cr4 = vmcs_readl(VMCS_CR4_READ_SHADOW);
	s->efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	s->apic_base = v->apic_base;
	if (v->irq_pending)
		s->interrupt_bitmap[v->irq_vector / 64] |= 1ull << (v->irq_vector % 64);
	return 0;
}

/* The IA-32e mode entry control follows EFER.LMA (SDM 26.3.1.1). */
void vcpu_sync_long_mode(struct vcpu *v, uint64_t efer)
{
	uint32_t want = efer & EFER_LMA ? v->entry_ctls | VMX_ENTRY_IA32E_MODE_GUEST
					: v->entry_ctls & ~VMX_ENTRY_IA32E_MODE_GUEST;

	vmcs_write64(VMCS_GUEST_IA32_EFER, efer);
	if (want != v->entry_ctls) {
		v->entry_ctls = want;
		vmcs_write32(VMCS_ENTRY_CONTROLS, want);
	}
}

/*
 * KVM's rules for KVM_SET_SREGS (kvm_is_valid_sregs, with the CR0 checks
 * of later kernels): long mode (EFER.LME with CR0.PG) needs CR4.PAE and
 * EFER.LMA; outside it neither EFER.LMA nor CS.L may be set; CR0 has no
 * bits above 31, no PG without PE and no NW without CD.
 */
static bool sregs_valid(struct vcpu *v, const struct kvm_sregs *s)
{
	if ((s->efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)) || (s->cr0 >> 32) ||
	    ((s->cr0 & CR0_PG) && !(s->cr0 & CR0_PE)) ||
	    ((s->cr0 & CR0_NW) && !(s->cr0 & CR0_CD)) || !cr4_valid(v, s->cr4))
		return false;
	if ((s->efer & EFER_LME) && (s->cr0 & CR0_PG))
		return (s->cr4 & CR4_PAE) && (s->efer & EFER_LMA) &&
		       !(s->cr3 & vcpu_reserved_gpa_bits(v)); /* kvm_vcpu_is_illegal_gpa(cr3) */
	return !(s->efer & EFER_LMA) && !s->cs.l;
}

int vcpu_set_sregs(struct vcpu *v, const struct kvm_sregs *in)
{
	struct kvm_sregs s = *in; /* copied once, then checked, then used */
	const struct kvm_segment *segs[] = {&s.cs, &s.ds, &s.es, &s.fs,
					    &s.gs, &s.ss, &s.tr, &s.ldt};

	vcpu_load(v); /* its CPUID answers below read its VMCS */
	if (!sregs_valid(v, &s))
		return -HV_EINVAL;
	/* __set_sregs_common(): kvm_set_apic_base(), host-initiated, first. */
	if (vcpu_msr_write(v, MSR_IA32_APIC_BASE, s.apic_base, true) < 0)
		return -HV_EINVAL;
	for (unsigned i = 0; i < 8; i++)
		set_segment(seg_fields[i], segs[i]);
	vmcs_writel(VMCS_GUEST_GDTR_BASE, s.gdt.base);
	vmcs_write32(VMCS_GUEST_GDTR_LIMIT, s.gdt.limit);
	vmcs_writel(VMCS_GUEST_IDTR_BASE, s.idt.base);
	vmcs_write32(VMCS_GUEST_IDTR_LIMIT, s.idt.limit);
	vmcs_writel(VMCS_GUEST_CR0, (s.cr0 | cr0_forced()) & ~(CR0_NW | CR0_CD));
	vmcs_writel(VMCS_CR0_READ_SHADOW, s.cr0);
	vmcs_writel(VMCS_GUEST_CR3, s.cr3);
	vmcs_writel(VMCS_GUEST_CR4, s.cr4 | vmx_caps.cr4_fixed0);
	vmcs_writel(VMCS_CR4_READ_SHADOW, s.cr4);
	v->cr2 = s.cr2;
	vcpu_set_cr8(v, s.cr8 & 0xf);
	vcpu_sync_long_mode(v, s.efer);
	/*
	 * PAE paging under EPT: the CPU takes the PDPTEs from the VMCS, so
	 * load them from guest memory now, as __set_sregs() does with
	 * load_pdptrs() (whose failure it ignores: entries that cannot be
	 * read or hold reserved bits leave all four not present here).
	 */
	if ((s.cr0 & CR0_PG) && (s.cr4 & CR4_PAE) && !(s.efer & EFER_LMA) &&
	    load_pdptes(v, s.cr3) < 0) {
		vmcs_write64(VMCS_GUEST_PDPTE0, 0);
		vmcs_write64(VMCS_GUEST_PDPTE1, 0);
		vmcs_write64(VMCS_GUEST_PDPTE2, 0);
		vmcs_write64(VMCS_GUEST_PDPTE3, 0);
	}
	/* New paging state: nothing the guest cached before may survive. */
	vcpu_flush_guest_tlb(v);
	for (unsigned i = 0; i < 256; i++)
		if (s.interrupt_bitmap[i / 64] & (1ull << (i % 64))) {
			v->irq_pending = true; /* kvm_queue_interrupt(), as upstream */
			v->irq_vector = (uint8_t)i;
		}
	return 0;
}

static uint32_t exception_bitmap(const struct vcpu *v)
{
	return 1u << VEC_MC | (v->guest_debug & KVM_GUESTDBG_USE_SW_BP ? 1u << VEC_BP : 0) |
	       (v->guest_debug & (KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_HW_BP) ? 1u << VEC_DB
										    : 0);
}

/*
 * KVM_GUESTDBG_SINGLESTEP runs the guest with RFLAGS.TF set for the
 * debugger (kvm_set_rflags / kvm_get_rflags): the guest's own TF is what
 * KVM_GET_REGS shows, and each #DB trap ends the run with KVM_EXIT_DEBUG.
 */
static void apply_singlestep_tf(struct vcpu *v)
{
	uint64_t rflags = vmcs_readl(VMCS_GUEST_RFLAGS);

	if (v->guest_debug & KVM_GUESTDBG_SINGLESTEP) {
		if (!(rflags & RFLAGS_TF)) {
			v->tf_by_debugger = true;
			vmcs_writel(VMCS_GUEST_RFLAGS, rflags | RFLAGS_TF);
		}
	} else if (v->tf_by_debugger) {
		v->tf_by_debugger = false;
		vmcs_writel(VMCS_GUEST_RFLAGS, rflags & ~RFLAGS_TF);
	}
}

int vcpu_set_guest_debug(struct vcpu *v, const struct kvm_guest_debug *in)
{
	const uint32_t known = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP |
			       KVM_GUESTDBG_USE_SW_BP | KVM_GUESTDBG_INJECT_BP |
			       KVM_GUESTDBG_USE_HW_BP | KVM_GUESTDBG_BLOCKIRQ;
	uint32_t control = in->control; /* copied once */
	uint64_t db[4], dr7 = in->arch.debugreg[7];

	if ((control & ~known) || (control && !(control & KVM_GUESTDBG_ENABLE)))
		return -HV_EINVAL;
	memcpy(db, in->arch.debugreg, sizeof(db));
	vcpu_load(v);
	/*
	 * KVM_GUESTDBG_USE_HW_BP: the debugger's DR0-3 and DR7 replace the
	 * guest's while it is on (eff_db and guest_debug_dr7 in
	 * kvm_arch_vcpu_ioctl_set_guest_debug, kvm_update_dr7); the guest's
	 * come back when it goes off.
	 */
	if (control & KVM_GUESTDBG_USE_HW_BP) {
		if (!v->hwbp.on) {
			v->hwbp.on = true;
			v->hwbp.guest_dr7 = vmcs_readl(VMCS_GUEST_DR7);
			v->db[0] = read_dr0();
			v->db[1] = read_dr1();
			v->db[2] = read_dr2();
			v->db[3] = read_dr3();
		}
		memcpy(v->hwbp.db, db, sizeof(db));
		load_debug_regs(v);
		vmcs_writel(VMCS_GUEST_DR7, (dr7 & 0xffffffffull) | DR7_RESET);
	} else if (v->hwbp.on) {
		v->hwbp.on = false;
		load_debug_regs(v);
		vmcs_writel(VMCS_GUEST_DR7, v->hwbp.guest_dr7);
	}
	if (control & KVM_GUESTDBG_INJECT_BP) {
		if (v->inject.valid)
			return -HV_EBUSY;
		/* A software exception: delivery pushes the RIP after the INT3. */
		v->inject.valid = true;
		v->inject.info = INTR_INFO_VALID | INTR_TYPE_SW_EXCEPTION | VEC_BP;
		v->inject.error = 0;
		v->inject.len = v->bp_len ? v->bp_len : 1;
	}
	v->guest_debug = control & ~KVM_GUESTDBG_INJECT_BP;
	vmcs_write32(VMCS_EXCEPTION_BITMAP, exception_bitmap(v));
	apply_singlestep_tf(v);
	return 0;
}

/* ---- KVM_GET/SET_FPU, _DEBUGREGS, _VCPU_EVENTS ----------------------- */

int vcpu_get_fpu(struct vcpu *v, struct kvm_fpu *f)
{
	vcpu_load(v);
	xstate_save(v->xstate, v->xcr0);
	xstate_get_fpu(v->xstate, f);
	return 0;
}

int vcpu_set_fpu(struct vcpu *v, const struct kvm_fpu *f)
{
	int rc;

	vcpu_load(v);
	xstate_save(v->xstate, v->xcr0); /* keep what kvm_fpu does not cover */
	rc = xstate_set_fpu(v->xstate, f);
	if (rc == 0)
		xstate_restore(v->xstate, v->xcr0);
	return rc;
}

int vcpu_get_xsave(struct vcpu *v, struct kvm_xsave *x)
{
	vcpu_load(v);
	xstate_save(v->xstate, v->xcr0);
	xstate_get_xsave(v->xstate, x);
	return 0;
}

int vcpu_set_xsave(struct vcpu *v, const struct kvm_xsave *x)
{
	int rc;

	vcpu_load(v);
	rc = xstate_set_xsave(v->xstate, x);
	if (rc == 0)
		xstate_restore(v->xstate, v->xcr0);
	return rc;
}

bool vcpu_xcr0_valid(struct vcpu *v, uint64_t xcr0)
{
	struct cpuid_regs d = vcpu_cpuid(v, 0xd, 0);
	uint64_t valid = ((((uint64_t)d.edx << 32) | d.eax) & xstate_guest_xcr0_mask()) | XCR0_X87;

	if (!(xcr0 & XCR0_X87) || ((xcr0 & XCR0_AVX) && !(xcr0 & XCR0_SSE)) || (xcr0 & ~valid))
		return false;
	if (!(xcr0 & XCR0_BNDREGS) != !(xcr0 & XCR0_BNDCSR))
		return false;
	if ((xcr0 & XCR0_AVX512) && (!(xcr0 & XCR0_AVX) || (xcr0 & XCR0_AVX512) != XCR0_AVX512))
		return false;
	return !(xcr0 & XCR0_XTILE) || (xcr0 & XCR0_XTILE) == XCR0_XTILE;
}

void vcpu_set_xcr0(struct vcpu *v, uint64_t xcr0)
{
	vcpu_load(v);
	v->xcr0 = xcr0;
	if (xstate_guest_xcr0_mask() != 1)
		xsetbv(0, xcr0);
}

int vcpu_get_xcrs(struct vcpu *v, struct kvm_xcrs *x)
{
	memset(x, 0, sizeof(*x));
	if (xstate_guest_xcr0_mask() == 1)
		return 0; /* no XSAVE on this CPU: nr_xcrs 0 */
	x->nr_xcrs = 1;
	x->xcrs[0].xcr = 0;
	x->xcrs[0].value = v->xcr0;
	return 0;
}

int vcpu_set_xcrs(struct vcpu *v, const struct kvm_xcrs *in)
{
	uint32_t n = in->nr_xcrs, flags = in->flags; /* copied once */

	if (xstate_guest_xcr0_mask() == 1 || n > KVM_MAX_XCRS || flags)
		return -HV_EINVAL;
	vcpu_load(v); /* vcpu_xcr0_valid reads its CPUID */
	for (uint32_t i = 0; i < n; i++) {
		struct kvm_xcr x = in->xcrs[i];

		if (x.xcr != 0)
			continue; /* only XCR0 exists; others are ignored, as upstream */
		if (!vcpu_xcr0_valid(v, x.value))
			return -HV_EINVAL;
		vcpu_set_xcr0(v, x.value);
		break;
	}
	return 0;
}

/* kvm_arch_vcpu_ioctl_get_mpstate: RUNNABLE without an in-kernel APIC. */
int vcpu_get_mp_state(struct vcpu *v, struct kvm_mp_state *m)
{
	vcpu_apic_accept_events(v); /* kvm_apic_accept_events first, as upstream */
	m->mp_state = v->apic ? v->mp_state : KVM_MP_STATE_RUNNABLE;
	return 0;
}

/*
 * kvm_arch_vcpu_ioctl_set_mpstate: RUNNABLE always; UNINITIALIZED,
 * HALTED, AP_RESET_HOLD, INIT_RECEIVED and SIPI_RECEIVED only with an
 * in-kernel APIC; SIPI_RECEIVED is kept as INIT_RECEIVED with the SIPI
 * (its vector from KVM_SET_VCPU_EVENTS or the last one) waiting.
 */
int vcpu_set_mp_state(struct vcpu *v, const struct kvm_mp_state *m)
{
	switch (m->mp_state) {
	case KVM_MP_STATE_RUNNABLE:
		if (v->apic)
			v->mp_state = KVM_MP_STATE_RUNNABLE;
		return 0;
	case KVM_MP_STATE_UNINITIALIZED:
	case KVM_MP_STATE_HALTED:
	case KVM_MP_STATE_AP_RESET_HOLD:
	case KVM_MP_STATE_INIT_RECEIVED:
	case KVM_MP_STATE_SIPI_RECEIVED:
		if (!v->apic)
			return -HV_EINVAL;
		break;
	default:
		return -HV_EINVAL;
	}
	if (m->mp_state == KVM_MP_STATE_SIPI_RECEIVED) {
		v->mp_state = KVM_MP_STATE_INIT_RECEIVED;
		v->sipi_pending = true;
	} else {
		v->mp_state = m->mp_state;
	}
	return 0;
}

uint8_t vcpu_get_cr8(struct vcpu *v)
{
	return v->apic ? (uint8_t)lapic_get_cr8(v->apic) : v->cr8;
}

void vcpu_set_cr8(struct vcpu *v, uint8_t cr8)
{
	if (v->apic)
		lapic_set_cr8(v->apic, cr8);
	else
		v->cr8 = cr8;
}

void vcpu_set_tsc_offset(struct vcpu *v, uint64_t offset)
{
	v->tsc_offset = offset;
	vmcs_write64(VMCS_TSC_OFFSET, offset);
}

/*
 * INIT (kvm_vcpu_reset with init_event): the registers as after RESET;
 * the MSRs, IA32_APIC_BASE and the APIC's own INIT are the caller's.
 */
void vcpu_init_event(struct vcpu *v)
{
	struct lapic *apic = v->apic;
	uint64_t base = v->apic_base;

	vcpu_load(v);
	v->apic = NULL; /* reset_state's SET_SREGS must not touch the APIC */
	reset_state(v);
	v->apic = apic;
	v->apic_base = base;
	v->inject.valid = v->irq_pending = v->nmi_pending = false;
}

/* kvm_vcpu_deliver_sipi_vector: CS = vector << 8, base vector << 12, IP 0. */
void vcpu_deliver_sipi(struct vcpu *v, uint8_t vector)
{
	vcpu_load(v);
	vmcs_write16(VMCS_GUEST_CS_SEL, (uint16_t)vector << 8);
	vmcs_writel(VMCS_GUEST_CS_BASE, (uint64_t)vector << 12);
	vmcs_writel(VMCS_GUEST_RIP, 0);
	vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
}

int vcpu_get_debugregs(struct vcpu *v, struct kvm_debugregs *d)
{
	vcpu_load(v);
	memset(d, 0, sizeof(*d));
	d->db[0] = read_dr0();
	d->db[1] = read_dr1();
	d->db[2] = read_dr2();
	d->db[3] = read_dr3();
	d->dr6 = read_dr6();
	d->dr7 = vmcs_readl(VMCS_GUEST_DR7);
	/* kvm_vcpu_ioctl_x86_get_debugregs(): vcpu->arch.dr6/dr7, not the hardware's. */
	if (d->dr6 == v->dbg_set.dr6_hw)
		d->dr6 = v->dbg_set.dr6;
	if (d->dr7 == v->dbg_set.dr7_hw)
		d->dr7 = v->dbg_set.dr7;
	return 0;
}

/* As KVM: flags must be 0; DR6 and DR7 have no bits above 31. */
int vcpu_set_debugregs(struct vcpu *v, const struct kvm_debugregs *in)
{
	struct kvm_debugregs d;

	memcpy(&d, in, sizeof(d));
	if (d.flags || (d.dr6 >> 32) || (d.dr7 >> 32))
		return -HV_EINVAL;
	vcpu_load(v);
	write_dr0(d.db[0]);
	write_dr1(d.db[1]);
	write_dr2(d.db[2]);
	write_dr3(d.db[3]);
	write_dr6(d.dr6 | DR6_RESET_ONES);
	vmcs_writel(VMCS_GUEST_DR7, (d.dr7 & DR7_WRITABLE) | DR7_RESET);
	v->dbg_set.dr6 = d.dr6;
	v->dbg_set.dr7 = d.dr7;
	v->dbg_set.dr6_hw = read_dr6();
	v->dbg_set.dr7_hw = vmcs_readl(VMCS_GUEST_DR7);
	return 0;
}

static bool is_soft(uint32_t type)
{
	return type == INTR_TYPE_SW_INTR || type == INTR_TYPE_SW_EXCEPTION ||
	       type == INTR_TYPE_PRIV_SW_EXCEPTION;
}

/*
 * The event in the injection slot is reported where KVM keeps it: an
 * exception (hardware or INT3/INTO), an interrupt (external, or INT n as
 * soft), or an NMI; an interrupt from KVM_INTERRUPT still waiting for its
 * window counts as injected too, as in KVM without an in-kernel APIC.
 */
int vcpu_get_events(struct vcpu *v, struct kvm_vcpu_events *e)
{
	uint32_t intr, type;

	vcpu_load(v);
	intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	memset(e, 0, sizeof(*e));
	if (v->inject.valid) {
		type = v->inject.info & INTR_TYPE_MASK;
		if (type == INTR_TYPE_HW_EXCEPTION || type == INTR_TYPE_SW_EXCEPTION ||
		    type == INTR_TYPE_PRIV_SW_EXCEPTION) {
			e->exception.injected = 1;
			e->exception.nr = (uint8_t)v->inject.info;
			e->exception.has_error_code = !!(v->inject.info & INTR_INFO_DELIVER_ERROR);
			e->exception.error_code = v->inject.error;
		} else if (type == INTR_TYPE_NMI) {
			e->nmi.injected = 1;
		} else {
			e->interrupt.injected = 1;
			e->interrupt.nr = (uint8_t)v->inject.info;
			e->interrupt.soft = type == INTR_TYPE_SW_INTR;
		}
	}
	if (v->irq_pending && !e->interrupt.injected) {
		e->interrupt.injected = 1;
		e->interrupt.nr = v->irq_vector;
	}
	e->interrupt.shadow = (intr & INTERRUPTIBILITY_STI ? KVM_X86_SHADOW_INT_STI : 0) |
			      (intr & INTERRUPTIBILITY_MOVSS ? KVM_X86_SHADOW_INT_MOV_SS : 0);
	e->nmi.pending = v->nmi_pending;
	e->nmi.masked = !!(intr & INTERRUPTIBILITY_NMI);
	e->flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	return 0;
}

/*
 * All checked before anything changes. An injected exception takes the
 * injection slot; an injected interrupt or NMI waits for its window like
 * one from KVM_INTERRUPT / KVM_NMI (VM entry refuses to inject an external
 * interrupt while the guest's IF is 0).
 */
int vcpu_set_events(struct vcpu *v, const struct kvm_vcpu_events *in)
{
	const uint32_t known = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
			       KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
	struct kvm_vcpu_events e;
	uint32_t intr, info = 0;

	memcpy(&e, in, sizeof(e));
	if (e.flags & ~known)
		return -HV_EINVAL; /* payloads and triple-fault events are not enabled */
	if ((e.flags & KVM_VCPUEVENT_VALID_SMM) &&
	    (e.smi.smm || e.smi.pending || e.smi.smm_inside_nmi || e.smi.latched_init))
		return -HV_EINVAL; /* no SMM here */
	/* Without KVM_VCPUEVENT_VALID_PAYLOAD, "pending" means nothing (upstream). */
	e.exception.pending = 0;
	if (e.exception.injected) {
		if (e.exception.nr > 31 || e.exception.nr == VEC_NMI)
			return -HV_EINVAL;
		info = INTR_INFO_VALID | e.exception.nr |
		       (e.exception.nr == VEC_BP || e.exception.nr == 4 ? INTR_TYPE_SW_EXCEPTION
									: INTR_TYPE_HW_EXCEPTION) |
		       (e.exception.has_error_code ? INTR_INFO_DELIVER_ERROR : 0);
	}
	if (e.interrupt.injected && e.interrupt.soft) {
		if (info)
			return -HV_EINVAL; /* one event per entry */
		info = INTR_INFO_VALID | INTR_TYPE_SW_INTR | e.interrupt.nr;
	}
	vcpu_load(v);

	v->inject.valid = info != 0;
	v->inject.info = info;
	v->inject.error = e.exception.has_error_code ? e.exception.error_code : 0;
	v->inject.reinject = false;
	v->inject.len = !is_soft(info & INTR_TYPE_MASK)		       ? 0
			: (info & INTR_TYPE_MASK) == INTR_TYPE_SW_INTR ? 2  /* INT n */
								       : 1; /* INT3, INTO */
	v->irq_pending = e.interrupt.injected && !e.interrupt.soft;
	v->irq_vector = e.interrupt.nr;
	if (e.nmi.injected)
		v->nmi_pending = true;
	else if (e.flags & KVM_VCPUEVENT_VALID_NMI_PENDING)
		v->nmi_pending = e.nmi.pending;
	intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	intr = e.nmi.masked ? intr | INTERRUPTIBILITY_NMI : intr & ~INTERRUPTIBILITY_NMI;
	if (e.flags & KVM_VCPUEVENT_VALID_SHADOW) {
		/* vmx_set_interrupt_shadow(): MOV SS wins; other bits are ignored. */
		intr &= ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS);
		if (e.interrupt.shadow & KVM_X86_SHADOW_INT_MOV_SS)
			intr |= INTERRUPTIBILITY_MOVSS;
		else if (e.interrupt.shadow & KVM_X86_SHADOW_INT_STI)
			intr |= INTERRUPTIBILITY_STI;
	}
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, intr);
	return 0;
}

/*
 * KVM_INTERRUPT without an in-kernel irqchip (kvm_vcpu_ioctl_interrupt):
 * a vector above 255 is EINVAL, a second one while the first still waits
 * is ENXIO.
 */
int vcpu_interrupt(struct vcpu *v, uint32_t vector)
{
	if (vector > 255)
		return -HV_EINVAL;
	/* With an in-kernel PIC the irqchip owns the INTR line: ENXIO. */
	if (v->apic)
		return -HV_ENXIO;
	if (v->irq_pending)
		return -HV_ENXIO;
	v->irq_pending = true;
	v->irq_vector = (uint8_t)vector;
	return 0;
}

void vcpu_queue_nmi(struct vcpu *v)
{
	v->nmi_pending = true;
}

/* Exception classes for the double-fault rules (SDM table 6-5; KVM's exception_class). */
enum exc_class { EXC_BENIGN, EXC_CONTRIBUTORY, EXC_PAGE_FAULT };

static enum exc_class exception_class(unsigned vector)
{
	switch (vector) {
	case VEC_PF:
		return EXC_PAGE_FAULT;
	case VEC_DE:
	case 10: /* #TS */
	case 11: /* #NP */
	case 12: /* #SS */
	case VEC_GP:
		return EXC_CONTRIBUTORY;
	default:
		return EXC_BENIGN;
	}
}

/*
 * A hardware exception for the next entry (kvm_multiple_exception): if an
 * exception already waits, two contributory ones or a page fault followed
 * by a contributory one or a page fault make a #DF; anything during a #DF
 * is a triple fault (the run ends with KVM_EXIT_SHUTDOWN); otherwise the
 * new exception replaces the old (re-executing the instruction raises it
 * again). An interrupt or NMI waiting for re-injection is not an
 * exception: the new exception goes first and the event is delivered
 * afterwards, as the CPU handles an exception raised before delivery.
 */
void vcpu_queue_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
	if (v->inject.valid && (v->inject.info & INTR_TYPE_MASK) == INTR_TYPE_HW_EXCEPTION) {
		unsigned prev = v->inject.info & 0xff;
		enum exc_class c1 = exception_class(prev), c2 = exception_class(vector);

		if (prev == VEC_DF) {
			log_info("vm %s vcpu %d: exception %u while delivering #DF: triple fault",
				 v->vm->name, v->id, vector);
			v->triple_fault = true;
			v->inject.valid = false;
			return;
		}
		if ((c1 == EXC_CONTRIBUTORY && c2 == EXC_CONTRIBUTORY) ||
		    (c1 == EXC_PAGE_FAULT && c2 != EXC_BENIGN)) {
			log_debug("vm %s vcpu %d: exception %u during delivery of %u: #DF",
				  v->vm->name, v->id, vector, prev);
			vector = VEC_DF;
			has_error = true;
			error = 0;
		}
	} else if (v->inject.valid) {
		/* Keep the interrupted event for after this exception. */
		if ((v->inject.info & INTR_TYPE_MASK) == INTR_TYPE_EXT_INTR && !v->irq_pending) {
			v->irq_pending = true;
			v->irq_vector = (uint8_t)v->inject.info;
		} else if ((v->inject.info & INTR_TYPE_MASK) == INTR_TYPE_NMI) {
			v->nmi_pending = true;
		}
	}
	v->inject.valid = true;
	v->inject.reinject = false;
	v->inject.info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector |
			 (has_error ? INTR_INFO_DELIVER_ERROR : 0);
	v->inject.error = error;
	v->inject.len = 0;
}

#define DR6_BS (1ull << 14)

void vcpu_advance_rip(struct vcpu *v, uint64_t len)
{
	uint32_t intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	uint64_t old = vmcs_readl(VMCS_GUEST_RIP), rip = old + len;

	/* skip_emulated_instruction(): wrap at 4 GiB outside 64-bit mode (on a carry). */
	if (((rip ^ old) >> 31) == 3 && vcpu_code_mode(v) != INSN_MODE_64)
		rip = (uint32_t)rip;
	vmcs_writel(VMCS_GUEST_RIP, rip);
	/* The instruction completed: STI / MOV SS shadows end with it. */
	if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS))
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY,
			     intr & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS));
	/*
	 * kvm_vcpu_do_singlestep(): a trap after the instruction, to the
	 * debugger (KVM_EXIT_DEBUG before the next entry) or to the guest
	 * (#DB with DR6.BS).
	 */
	if (vmcs_readl(VMCS_GUEST_RFLAGS) & RFLAGS_TF) {
		if (v->guest_debug & KVM_GUESTDBG_SINGLESTEP) {
			v->singlestep_exit = true;
		} else {
			write_dr6(read_dr6() | DR6_BS);
			vcpu_queue_exception(v, VEC_DB, false, 0);
		}
	}
}

void vcpu_skip_instruction(struct vcpu *v)
{
	vcpu_advance_rip(v, v->exit.insn_len);
}

unsigned vcpu_cpl(struct vcpu *v)
{
	return vmcs_read32(VMCS_GUEST_SS_AR) >> 5 & 3;
}

enum insn_cpu_mode vcpu_code_mode(struct vcpu *v)
{
	uint32_t cs_ar = vmcs_read32(VMCS_GUEST_CS_AR);

	if (!(vmcs_readl(VMCS_GUEST_CR0) & CR0_PE))
		return INSN_MODE_16;
	if ((vmcs_read64(VMCS_GUEST_IA32_EFER) & EFER_LMA) && (cs_ar & (1u << 13)))
		return INSN_MODE_64;
	return cs_ar & (1u << 14) ? INSN_MODE_32 : INSN_MODE_16;
}

uint64_t vcpu_linear_rip(struct vcpu *v)
{
	uint64_t la = vmcs_readl(VMCS_GUEST_CS_BASE) + vmcs_readl(VMCS_GUEST_RIP);

	return vcpu_code_mode(v) == INSN_MODE_64 ? la : (uint32_t)la;
}

/* PAE paging outside long mode: the VMCS holds the four PDPTEs (SDM 26.3.2.4). */
static int load_pdptes(struct vcpu *v, uint64_t cr3)
{
	uint64_t pdpte[4];

	if (vm_read_gpa(v->vm, cr3 & 0xffffffe0, pdpte, sizeof(pdpte)) < 0)
		return -1;
	for (int i = 0; i < 4; i++)
		if ((pdpte[i] & 1) && (pdpte[i] & 0x1e6))
			return -1; /* reserved bits: #GP */
	vmcs_write64(VMCS_GUEST_PDPTE0, pdpte[0]);
	vmcs_write64(VMCS_GUEST_PDPTE1, pdpte[1]);
	vmcs_write64(VMCS_GUEST_PDPTE2, pdpte[2]);
	vmcs_write64(VMCS_GUEST_PDPTE3, pdpte[3]);
	return 0;
}

/*
 * MOV to CR0 (SDM vol. 3A 2.5 and MOV CR; kvm_set_cr0): 0, or -1 for #GP.
 * Unknown bits of CR0[31:0] are dropped (CR0_RESERVED_BITS), bits 63:32 fault.
 * Clearing PG flushes the guest's translations (kvm_post_set_cr0).
 */
int vcpu_set_cr0(struct vcpu *v, uint64_t val)
{
	uint64_t old = vcpu_read_cr0(v);
	uint64_t efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	uint64_t cr4 = vmcs_readl(VMCS_CR4_READ_SHADOW);

	val |= CR0_ET; /* hard-wired to 1 */
	if (val >> 32)
		return -1;
	val &= CR0_KNOWN; /* the other bits of CR0[31:0] are dropped, not refused */
	if (((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD)))
		return -1;
	if (!(old & CR0_PG) && (val & CR0_PG) && (efer & EFER_LME)) {
		if (!(cr4 & CR4_PAE) || (vmcs_read32(VMCS_GUEST_CS_AR) & (1u << 13)))
			return -1;
		efer |= EFER_LMA;
	}
	if (!(val & CR0_PG) && ((cr4 & CR4_PCIDE) || vcpu_code_mode(v) == INSN_MODE_64))
		return -1; /* paging off with PCIDE set, or in 64-bit mode */
	if ((old & CR0_PG) && !(val & CR0_PG))
		efer &= ~EFER_LMA;
	if ((val & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LMA) &&
	    load_pdptes(v, vmcs_readl(VMCS_GUEST_CR3)) < 0)
		return -1;
	vcpu_sync_long_mode(v, efer);
	/* CD/NW stay clear in hardware: guest memory is WB through EPT. */
	vmcs_writel(VMCS_GUEST_CR0, (val | cr0_forced()) & ~(CR0_NW | CR0_CD));
	vmcs_writel(VMCS_CR0_READ_SHADOW, val);
	if ((old & CR0_PG) && !(val & CR0_PG))
		vcpu_flush_guest_tlb(v);
	return 0;
}

/*
 * MOV to CR4 (kvm_set_cr4): 0, or -1 for #GP. VMX, SMX and LA57 are
 * hidden from guests, PKS where it is not offered. Like SMEP, SMAP and
 * PKE, CR4.PKS goes to the hardware CR4 as written: with unrestricted
 * guest the CPU itself ignores them while CR0.PG = 0 (vmx_set_cr4). PCIDE
 * may be set only in long mode with CR3[11:0] = 0. Toggling PGE, clearing
 * PCIDE or changing a paging-mode bit flushes the guest's translations, as
 * the instruction would on hardware: the write exits, so the CPU's own
 * flush never happens.
 */
int vcpu_set_cr4(struct vcpu *v, uint64_t val)
{
	uint64_t efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	uint64_t old = vmcs_readl(VMCS_CR4_READ_SHADOW);
	uint64_t cr0 = vcpu_read_cr0(v);

	if (!cr4_valid(v, val))
		return -1;
	if ((efer & EFER_LMA) && (!(val & CR4_PAE) || ((val ^ old) & CR4_LA57)))
		return -1;
	if ((val & CR4_PCIDE) && !(old & CR4_PCIDE) &&
	    (!(efer & EFER_LMA) || (vmcs_readl(VMCS_GUEST_CR3) & 0xfff)))
		return -1;
	if ((cr0 & CR0_PG) && (val & CR4_PAE) && !(efer & EFER_LMA) &&
	    ((val ^ old) & (CR4_PAE | CR4_PSE | CR4_PGE)) &&
	    load_pdptes(v, vmcs_readl(VMCS_GUEST_CR3)) < 0)
		return -1;
	vmcs_writel(VMCS_GUEST_CR4, val | vmx_caps.cr4_fixed0);
	vmcs_writel(VMCS_CR4_READ_SHADOW, val);
	if (((val ^ old) & (CR4_PGE | CR4_PAE | CR4_PSE | CR4_SMEP)) ||
	    ((old & CR4_PCIDE) && !(val & CR4_PCIDE)))
		vcpu_flush_guest_tlb(v);
	return 0;
}

/*
 * Choose the event for this entry, or ask for a window when it must wait
 * (KVM's inject_pending_event, then its window requests): a re-injection
 * or queued exception first; else an NMI if not blocked; else an
 * interrupt if IF=1 and no shadow. The NMI and interrupt windows are
 * requested independently, each while its event waits, and the interrupt
 * window also while the controller asked for one
 * (request_interrupt_window).
 */
void vcpu_serve_channel(struct vcpu *v)
{
	if (!vcpu_slice_hook)
		return;
	vcpu_slice_hook();
	vcpu_load(v);
}

/* IF=1 and no STI/MOV-SS shadow: an external interrupt can go in now. */
static bool guest_interruptible(struct vcpu *v)
{
	return (vmcs_readl(VMCS_GUEST_RFLAGS) & RFLAGS_IF) &&
	       !(vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) &
		 (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS));
}

/*
 * An STI shadow with IF=0 fails VM entry and cannot matter: drop it. Only
 * the controller can leave one (KVM_SET_VCPU_EVENTS, then KVM_SET_REGS
 * clearing IF), so once per KVM_RUN is enough.
 */
static void drop_masked_sti_shadow(struct vcpu *v)
{
	uint32_t intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);

	if ((intr & INTERRUPTIBILITY_STI) && !(vmcs_readl(VMCS_GUEST_RFLAGS) & RFLAGS_IF))
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, intr & ~INTERRUPTIBILITY_STI);
}

/*
 * The irqchip's interrupt for this entry (kvm_check_and_inject_events with
 * an in-kernel APIC): taken from the PIC or APIC (acknowledged) only when
 * the guest can take it now, so that a TPR or mask change meanwhile still
 * counts; otherwise the interrupt window is asked for. Returns whether a
 * window is wanted.
 */
static bool apic_interrupt(struct vcpu *v)
{
	bool window = false;
	int vec;

	/* KVM_GUESTDBG_BLOCKIRQ: no interrupt goes in, none is waited for. */
	if (v->irq_pending || v->inject.valid || (v->guest_debug & KVM_GUESTDBG_BLOCKIRQ))
		return false;
	vec = vcpu_apic_pending_irq(v, guest_interruptible, &window);
	if (vec >= 0) {
		v->irq_pending = true;
		v->irq_vector = (uint8_t)vec;
	}
	return window;
}

/* The APIC timer's next expiry bounds the VMX preemption timer's slice. */
static void arm_preemption_timer(struct vcpu *v)
{
	uint64_t left = vcpu_apic_timer_left(v) >> vmx_config.timer_rate;
	uint32_t val = left < PREEMPTION_SLICE ? (uint32_t)left : PREEMPTION_SLICE;

	if (val != v->preemption_timer && vmx_config.preemption_timer) {
		v->preemption_timer = val;
		vmcs_write32(VMCS_PREEMPTION_TIMER_VALUE, val);
	}
}

static void inject_events(struct vcpu *v)
{
	uint32_t want =
	    v->proc_ctls & ~(VMX_PROC_INTR_WINDOW_EXITING | VMX_PROC_NMI_WINDOW_EXITING);
	uint32_t intr;
	uint64_t rflags;
	bool shadow, injected = false, apic_window = false;
	/* With an in-kernel irqchip the controller's window request is ignored. */
	bool dm_window = v->run->request_interrupt_window && !v->apic;

	if (v->apic)
		apic_window = apic_interrupt(v);
	if (v->apicv)
		vcpu_apicv_prepare(v);
	/* Nothing to deliver and no window wanted: no guest state to read. */
	if (!v->inject.valid && !v->nmi_pending && !v->irq_pending && !dm_window && !apic_window) {
		if (want != v->proc_ctls)
			vcpu_set_proc_ctls(v, want);
		return;
	}
	intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	rflags = vmcs_readl(VMCS_GUEST_RFLAGS);
	shadow = intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS);
	if (v->inject.valid) {
		uint32_t info = v->inject.info;

		/*
		 * No error code outside protected mode (kvm_inject_exception),
		 * and only 16 bits of one (the VM-entry check on the field).
		 */
		if (!(vmcs_readl(VMCS_GUEST_CR0) & CR0_PE))
			info &= ~INTR_INFO_DELIVER_ERROR;
		/* Re-injecting an NMI: its delivery never finished (vmx_complete_interrupts). */
		if ((info & INTR_TYPE_MASK) == INTR_TYPE_NMI && (intr & INTERRUPTIBILITY_NMI)) {
			intr &= ~INTERRUPTIBILITY_NMI;
			vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, intr);
		}
		vmcs_write32(VMCS_ENTRY_INTR_INFO, info);
		if (info & INTR_INFO_DELIVER_ERROR)
			vmcs_write32(VMCS_ENTRY_EXCEPTION_ERROR_CODE, v->inject.error & 0xffff);
		if (v->inject.len)
			vmcs_write32(VMCS_ENTRY_INSTRUCTION_LEN, v->inject.len);
		v->inject.valid = false;
		injected = true;
	} else if (v->nmi_pending && !shadow && !(intr & INTERRUPTIBILITY_NMI)) {
		vmcs_write32(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | VEC_NMI);
		v->nmi_pending = false;
		injected = true;
	} else if (v->irq_pending && !shadow && (rflags & RFLAGS_IF)) {
		vmcs_write32(VMCS_ENTRY_INTR_INFO,
			     INTR_INFO_VALID | INTR_TYPE_EXT_INTR | v->irq_vector);
		v->irq_pending = false;
		injected = true;
	}
	if (v->nmi_pending)
		want |= VMX_PROC_NMI_WINDOW_EXITING;
	if (v->irq_pending || apic_window || (dm_window && !injected))
		want |= VMX_PROC_INTR_WINDOW_EXITING;
	if (want != v->proc_ctls)
		vcpu_set_proc_ctls(v, want);
}

/*
 * An event whose delivery the exit interrupted is delivered again (SDM
 * 27.2.4; KVM's __vmx_complete_interrupts).
 */
static void save_idt_vectoring(struct vcpu *v)
{
	uint32_t info = v->exit.idt_info;
	uint32_t type = info & INTR_TYPE_MASK;

	if (!(info & INTR_INFO_VALID))
		return;
	v->inject.valid = true;
	v->inject.reinject = true;
	v->inject.info = info & (INTR_INFO_VALID | INTR_INFO_DELIVER_ERROR | INTR_TYPE_MASK | 0xff);
	v->inject.error = info & INTR_INFO_DELIVER_ERROR ? v->exit.idt_error : 0;
	v->inject.len = is_soft(type) ? v->exit.insn_len : 0;
}

static int read_guest_phys(void *opaque, uint64_t gpa, void *buf, size_t len)
{
	struct vcpu *v = opaque;

	return vm_read_gpa(v->vm, gpa, buf, len);
}

/* The walk's key registers, read only when a check needs them. */
static uint32_t read_guest_pkru(void *opaque)
{
	struct vcpu *v = opaque;

	/* The vCPU is loaded: its XSAVE state (PKRU among it) is the CPU's. */
	xstate_save(v->xstate, v->xcr0);
	return xstate_pkru(v->xstate);
}

static uint32_t read_guest_pkrs(void *opaque)
{
	/* CR4.PKS is set only where PKS is offered (cr4_valid); never VMREAD a field the CPU lacks.
	 */
	return vmx_config.pks ? (uint32_t)vmcs_read64(VMCS_GUEST_IA32_PKRS) : 0;
}

void vcpu_walk_ctx(struct vcpu *v, struct guest_walk_ctx *ctx, uint64_t pdptes[4])
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->cr0 = vcpu_read_cr0(v);
	ctx->cr3 = vmcs_readl(VMCS_GUEST_CR3);
	ctx->cr4 = vmcs_readl(VMCS_CR4_READ_SHADOW);
	ctx->efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	ctx->read_phys = read_guest_phys;
	ctx->read_pkru = read_guest_pkru;
	ctx->read_pkrs = read_guest_pkrs;
	ctx->opaque = v;
	ctx->maxphyaddr = vcpu_cpuid_maxphyaddr(v);
	/* PAE paging under EPT: the CPU walks with the VMCS PDPTE registers. */
	if ((ctx->cr0 & CR0_PG) && (ctx->cr4 & CR4_PAE) && !(ctx->efer & EFER_LMA)) {
		pdptes[0] = vmcs_read64(VMCS_GUEST_PDPTE0);
		pdptes[1] = vmcs_read64(VMCS_GUEST_PDPTE1);
		pdptes[2] = vmcs_read64(VMCS_GUEST_PDPTE2);
		pdptes[3] = vmcs_read64(VMCS_GUEST_PDPTE3);
		ctx->pdptes = pdptes;
	}
}

unsigned vcpu_walk_user(struct vcpu *v)
{
	return vcpu_cpl(v) == 3 ? WALK_USER : 0;
}

/* A register as an address-size operand: 16-bit merges, 32-bit zero-extends. */
static void set_addr_reg(uint64_t *reg, uint64_t val, uint8_t addr_size)
{
	if (addr_size == 2)
		*reg = (*reg & ~0xffffull) | (val & 0xffff);
	else if (addr_size == 4)
		*reg = (uint32_t)val;
	else
		*reg = val;
}

void vcpu_string_io_done(struct vcpu *v, unsigned index_reg, uint64_t count, uint8_t size,
			 uint8_t addr_size, bool rep, bool down, uint8_t insn_len)
{
	uint64_t step = count * size;
	uint64_t mask = addr_size == 8 ? ~0ull : (1ull << (addr_size * 8)) - 1;

	set_addr_reg(&v->gpr[index_reg], down ? v->gpr[index_reg] - step : v->gpr[index_reg] + step,
		     addr_size);
	if (rep) {
		set_addr_reg(&v->gpr[GPR_RCX], v->gpr[GPR_RCX] - count, addr_size);
		if (v->gpr[GPR_RCX] & mask)
			return; /* more to do: the instruction runs again */
	}
	vcpu_advance_rip(v, insn_len);
}

/* ---- completions: what the next KVM_RUN finishes for the last exit ---- */

/*
 * The completions of port I/O and MMIO loads are dropped when the
 * controller moved RIP meanwhile (complete_fast_pio_in/_out compare the
 * linear RIP with the one saved at the exit).
 */
static bool rip_unchanged(struct vcpu *v)
{
	if (vcpu_linear_rip(v) == v->io_rip)
		return true;
	log_debug("vm %s vcpu %d: RIP moved by the controller: I/O completion dropped", v->vm->name,
		  v->id);
	return false;
}

/* OUT: the instruction is done once the controller has seen the data. */
static void complete_out(struct vcpu *v)
{
	if (rip_unchanged(v))
		vcpu_advance_rip(v, v->pending_len);
}

/* IN: the controller's data into AL/AX/EAX (EAX zero-extends). */
static void complete_in(struct vcpu *v)
{
	const uint8_t *pio = (const uint8_t *)v->run + VCPU_PIO_OFFSET;
	uint64_t data = 0;

	if (!rip_unchanged(v))
		return;
	memcpy(&data, pio, v->io_size);
	if (v->io_size == 4)
		v->gpr[GPR_RAX] = (uint32_t)data;
	else if (v->io_size == 2)
		v->gpr[GPR_RAX] = (v->gpr[GPR_RAX] & ~0xffffull) | (uint16_t)data;
	else
		v->gpr[GPR_RAX] = (v->gpr[GPR_RAX] & ~0xffull) | (uint8_t)data;
	vcpu_advance_rip(v, v->pending_len);
}

/*
 * INS: store the controller's data at the guest-linear address. A REP
 * INS takes RCX as it is now: a program that lowered it at the exit gets
 * only that many elements stored (the rest of the batch is dropped), one
 * that raised it makes the instruction go on for more (the emulator reads
 * RCX afresh after KVM_SET_REGS; Linux's userspace_io_test).
 */
static void complete_ins(struct vcpu *v)
{
	const uint8_t *pio = (const uint8_t *)v->run + VCPU_PIO_OFFSET;
	struct guest_walk_ctx ctx;
	struct guest_walk_result res;
	uint64_t pdptes[4], la = v->ins.la, count = v->ins.count, len;

	if (!rip_unchanged(v))
		return;
	if (v->ins.rep) {
		uint8_t asz = v->ins.addr_size;
		uint64_t rcx = v->gpr[GPR_RCX] & (asz == 8 ? ~0ull : (1ull << (asz * 8)) - 1);

		if (rcx < count)
			count = rcx;
	}
	len = count * v->io_size;
	vcpu_walk_ctx(v, &ctx, pdptes);
	while (len) {
		uint64_t chunk = PAGE_SIZE - (la & (PAGE_SIZE - 1));

		if (chunk > len)
			chunk = len;
		if (guest_walk(&ctx, la, WALK_WRITE | vcpu_walk_user(v), &res) != WALK_OK ||
		    vm_write_gpa(v->vm, res.gpa, pio, chunk) < 0) {
			if (res.status == WALK_PAGE_FAULT) {
				v->cr2 = res.la;
				vcpu_queue_exception(v, VEC_PF, true, res.error_code);
			} else {
				log_warn(
				    "vm %s vcpu %d: INS to 0x%llx, which is not RAM: data dropped",
				    v->vm->name, v->id, (unsigned long long)la);
			}
			return;
		}
		la += chunk;
		pio += chunk;
		len -= chunk;
	}
	vcpu_string_io_done(v, GPR_RDI, count, v->io_size, v->ins.addr_size, v->ins.rep,
			    v->ins.down, v->pending_len);
}

/* MMIO load: the controller's data into the destination register. */
static void complete_mmio_read(struct vcpu *v)
{
	uint64_t data = 0;

	if (!rip_unchanged(v))
		return;
	memcpy(&data, v->run->mmio.data, v->mmio.size);
	v->gpr[GPR_RSP] = vmcs_readl(VMCS_GUEST_RSP);
	mmio_complete_load(&v->mmio, data, v->gpr, v->mmio_mode);
	vmcs_writel(VMCS_GUEST_RSP, v->gpr[GPR_RSP]);
	vcpu_advance_rip(v, v->pending_len);
}

/*
 * A user-space MSR exit answered (complete_fast_rdmsr,
 * complete_fast_msr_access): msr.error set is #GP, else a read's data
 * goes to EDX:EAX and RIP moves on.
 */
static void complete_msr(struct vcpu *v)
{
	const struct kvm_run *run = v->run;

	if (!rip_unchanged(v))
		return;
	if (run->msr.error) {
		vcpu_queue_exception(v, VEC_GP, true, 0);
		return;
	}
	if (run->exit_reason == KVM_EXIT_X86_RDMSR) {
		v->gpr[GPR_RAX] = (uint32_t)run->msr.data;
		v->gpr[GPR_RDX] = run->msr.data >> 32;
	}
	vcpu_advance_rip(v, v->pending_len);
}

void vcpu_wait_msr(struct vcpu *v, uint8_t insn_len)
{
	v->pending_len = insn_len;
	v->io_rip = vcpu_linear_rip(v);
	v->complete_io = complete_msr;
}

void vcpu_wait_out(struct vcpu *v, uint8_t size, uint8_t insn_len)
{
	v->io_size = size;
	v->pending_len = insn_len;
	v->io_rip = vcpu_linear_rip(v);
	v->complete_io = complete_out;
}

void vcpu_wait_in(struct vcpu *v, uint8_t size, uint8_t insn_len)
{
	v->io_size = size;
	v->pending_len = insn_len;
	v->io_rip = vcpu_linear_rip(v);
	v->complete_io = complete_in;
}

void vcpu_wait_ins(struct vcpu *v, uint8_t size, uint8_t insn_len)
{
	v->io_size = size;
	v->pending_len = insn_len;
	v->io_rip = vcpu_linear_rip(v);
	v->complete_io = complete_ins;
}

void vcpu_wait_mmio_read(struct vcpu *v, uint8_t insn_len)
{
	v->pending_len = insn_len;
	v->io_rip = vcpu_linear_rip(v);
	v->complete_io = complete_mmio_read;
}

/* ---- KVM_RUN ------------------------------------------------------------ */

#define DR6_ACTIVE_LOW 0xffff0ff0ull

void vcpu_debug_exit(struct vcpu *v, uint8_t vector, uint64_t dr6)
{
	struct kvm_debug_exit_arch *d = &v->run->debug.arch;

	d->exception = vector;
	d->pad = 0;
	d->pc = vcpu_linear_rip(v);
	d->dr6 = vector == VEC_DB ? dr6 | DR6_ACTIVE_LOW : 0;
	d->dr7 = vmcs_readl(VMCS_GUEST_DR7);
	v->run->exit_reason = KVM_EXIT_DEBUG;
}

/*
 * The guest can take an interrupt from the controller now
 * (kvm_vcpu_ready_for_interrupt_injection without an in-kernel APIC):
 * IF=1, no STI/MOV-SS shadow, no interrupt from KVM_INTERRUPT still
 * waiting, and no event waiting for re-injection or delivery.
 */
static bool ready_for_interrupt(struct vcpu *v)
{
	return guest_interruptible(v) && !v->irq_pending && !v->inject.valid;
}

/* post_kvm_run_save(): on every return of KVM_RUN, whatever the result. */
void vcpu_post_run_save(struct vcpu *v)
{
	vcpu_load(v);
	v->run->if_flag = !!(vmcs_readl(VMCS_GUEST_RFLAGS) & RFLAGS_IF);
	/* With an in-kernel PIC it is always 1 (kvm_vcpu_ready_for_interrupt_injection). */
	v->run->ready_for_interrupt_injection = v->apic || ready_for_interrupt(v);
	v->run->cr8 = vcpu_get_cr8(v);
	v->run->apic_base = v->apic_base;
	v->run->flags = 0;
}

/* The TPR from kvm_run.cr8 (kvm_set_cr8: bits above 3 are -EINVAL). */
int vcpu_pre_run(struct vcpu *v)
{
	uint64_t cr8 = *(volatile uint64_t *)&v->run->cr8;

	/* With an in-kernel APIC kvm_run.cr8 is not read (kvm_arch_vcpu_ioctl_run). */
	if (v->apic)
		return 0;
	if (cr8 & ~0xfull)
		return -HV_EINVAL;
	v->cr8 = (uint8_t)cr8;
	return 0;
}

static int entry_failed(struct vcpu *v, uint32_t hw_reason, const char *why)
{
	log_err("vm %s vcpu %d: VM entry failed: %s (reason 0x%x, qualification 0x%llx)",
		v->vm->name, v->id, why, hw_reason,
		(unsigned long long)vmcs_readl(VMCS_EXIT_QUALIFICATION));
	/* The refused event is gone: a later entry must not try it again. */
	vmcs_write32(VMCS_ENTRY_INTR_INFO, 0);
	v->run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	v->run->fail_entry.hardware_entry_failure_reason = hw_reason;
	v->run->fail_entry.cpu = 0;
	return 0;
}

/* Everything the handlers need about this exit, read once. */
/*
 * The exit-information fields an exit defines beyond reason,
 * qualification, instruction length and IDT vectoring (SDM 28.2); the
 * others stay 0 in the record. Reading only these keeps a VM exit's
 * VMREADs to what its handler can use (nested VMX adds the VMX
 * instructions' rows when it reflects them to L1).
 */
enum { XF_INTR = 1, XF_INSN_INFO = 2, XF_GLA = 4, XF_GPA = 8 };
static const uint8_t exit_fields[EXIT_REASON_MAX] = {
    [EXIT_REASON_EXCEPTION_NMI] = XF_INTR,
    [EXIT_REASON_EXTERNAL_INTERRUPT] = XF_INTR,
    [EXIT_REASON_IO_INSTRUCTION] = XF_INSN_INFO | XF_GLA,
    [EXIT_REASON_GDTR_IDTR] = XF_INSN_INFO,
    [EXIT_REASON_LDTR_TR] = XF_INSN_INFO,
    [EXIT_REASON_EPT_VIOLATION] = XF_GLA | XF_GPA,
    [EXIT_REASON_EPT_MISCONFIG] = XF_GPA,
};

static void read_exit_info(struct vcpu *v, uint32_t full_reason)
{
	struct vmx_exit_info *x = &v->exit;
	unsigned f;

	x->full_reason = full_reason;
	x->reason = full_reason & 0xffff;
	f = x->reason < EXIT_REASON_MAX ? exit_fields[x->reason] : 0;
	x->qual = vmcs_readl(VMCS_EXIT_QUALIFICATION);
	x->intr_info = f & XF_INTR ? vmcs_read32(VMCS_EXIT_INTR_INFO) : 0;
	x->intr_error =
	    x->intr_info & INTR_INFO_DELIVER_ERROR ? vmcs_read32(VMCS_EXIT_INTR_ERROR_CODE) : 0;
	x->idt_info = vmcs_read32(VMCS_IDT_VECTORING_INFO);
	x->idt_error =
	    x->idt_info & INTR_INFO_DELIVER_ERROR ? vmcs_read32(VMCS_IDT_VECTORING_ERROR_CODE) : 0;
	x->insn_len = vmcs_read32(VMCS_EXIT_INSTRUCTION_LEN);
	x->insn_info = f & XF_INSN_INFO ? vmcs_read32(VMCS_EXIT_INSTRUCTION_INFO) : 0;
	x->gla = f & XF_GLA ? vmcs_readl(VMCS_GUEST_LINEAR_ADDRESS) : 0;
	x->gpa = f & XF_GPA ? vmcs_read64(VMCS_GUEST_PHYSICAL_ADDRESS) : 0;
}

/*
 * KVM_RUN's part after the sync-regs load and the kvm_run.cr8 check
 * (kvm_arch_vcpu_ioctl_run): finish what the last exit left to the
 * controller, honour immediate_exit (-EINTR, exit_reason untouched, as
 * upstream), then run until an exit the controller must see. After an
 * exit the hypervisor handled, a requested interrupt window that is open
 * ends the run with KVM_EXIT_IRQ_WINDOW_OPEN (vcpu_run's
 * dm_request_for_irq_injection check).
 */
int vcpu_run(struct vcpu *v)
{
	vcpu_load(v);
	if (v->complete_io) {
		vcpu_completion done = v->complete_io;

		v->complete_io = NULL;
		done(v);
	}
	if (v->run->immediate_exit)
		return -HV_EINTR;
	drop_masked_sti_shadow(v);
	for (;;) {
		uint32_t reason;
		bool launch;

		launch = !v->loaded_vmcs->launched;

		if (v->tsc_deadline && rdtsc() >= v->tsc_deadline) {
			log_info("vm %s vcpu %d: run budget spent at rip 0x%llx", v->vm->name,
				 v->id, (unsigned long long)vmcs_readl(VMCS_GUEST_RIP));
			v->tsc_deadline = 0;
			v->stop_request = true;
		}
		if (v->stop_request) {
			v->stop_request = false;
			v->run->exit_reason = KVM_EXIT_INTR;
			return -HV_EINTR;
		}
		if (v->triple_fault) {
			v->triple_fault = false;
			v->run->exit_reason = KVM_EXIT_SHUTDOWN;
			return 0;
		}
		if (v->singlestep_exit) {
			v->singlestep_exit = false;
			vcpu_debug_exit(v, VEC_DB, DR6_BS);
			return 0;
		}
		/* Halted or waiting for SIPI: wait here, unless the run must end. */
		if (v->apic) {
			vcpu_apic_accept_events(v);
			if (v->mp_state != KVM_MP_STATE_RUNNABLE && !vcpu_wait_runnable(v))
				continue;
		}
		inject_events(v);
		if (v->apic)
			arm_preemption_timer(v);
		write_cr2(v->cr2);
		if (vmx_enter(v->gpr, !launch)) {
			uint32_t err = vmx_read_error();

			return entry_failed(v, err, vmx_error_name(err));
		}
		v->cr2 = read_cr2();
		reason = vmcs_read32(VMCS_EXIT_REASON);
		if (reason & EXIT_REASON_ENTRY_FAILURE) {
			/* Not launched: the next try is a VMLAUNCH again. */
			if ((reason & 0xffff) < EXIT_REASON_MAX)
				v->exit_counts[reason & 0xffff]++;
			return entry_failed(v, reason, vmx_exit_reason_name(reason & 0xffff));
		}
		v->loaded_vmcs->launched = true;
		v->has_run = true;
		read_exit_info(v, reason);
		reason &= 0xffff;
		if (reason < EXIT_REASON_MAX)
			v->exit_counts[reason]++;
		save_idt_vectoring(v);
		if (vmx_handle_exit(v) == EXIT_TO_CONTROLLER)
			return 0;
		if (!v->apic && v->run->request_interrupt_window && ready_for_interrupt(v)) {
			v->run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			return 0;
		}
	}
}
