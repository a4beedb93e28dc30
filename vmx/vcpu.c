// SPDX-License-Identifier: MIT
/*
 * vCPU life cycle, guest state in KVM's shapes, event injection and the run
 * loop. What to do on each exit is in vmx/exit.c.
 */
#include <string.h>

#include "boot/trap.h"
#include "hv/errno.h"
#include "hv/guest_walk.h"
#include "hv/log.h"
#include "hv/mm.h"
#include "hv/msr.h"
#include "hv/x86.h"
#include "vmx/exit.h"
#include "vmx/vcpu.h"
#include "vmx/xstate.h"
#include "vmx/vmx.h"
#include "vmx/vmx_controls.h"
#include "vmx/vmx_ops.h"

extern char vmx_exit_entry[];

/* Segment access rights (VMCS format = KVM's fields packed, SDM 24.4.1). */
#define AR_UNUSABLE (1u << 16)
#define INTERRUPTIBILITY_STI (1u << 0)
#define INTERRUPTIBILITY_MOVSS (1u << 1)
#define INTERRUPTIBILITY_NMI (1u << 3)
#define ACTIVITY_ACTIVE 0

/* CR0 bits the hypervisor owns: writes exit and are checked here. */
#define CR0_HOST_OWNED (CR0_PE | CR0_PG | CR0_NE | CR0_CD | CR0_NW)

/* Power-on PAT (SDM 11.12.4). */
#define PAT_RESET 0x0007040600070406ull

/* DR6 after RESET (SDM 17.2.3); DR7's is 0x400. */
#define DR6_RESET 0xffff0ff0ull
#define DR7_RESET 0x400ull
#define DR6_RESET_ONES 0xfffe0ff0ull /* bits that read as 1 (bit 16: RTM, active low) */
#define DR7_WRITABLE 0xffff2fffull   /* bits 12, 14 and 15 are reserved zero */

static struct vcpu *current_vcpu;
void (*vcpu_slice_hook)(void);
static uint32_t exception_bitmap(const struct vcpu *v);
static void put_state(struct vcpu *v);
static void get_state(struct vcpu *v);
/* VPIDs in use (bit n: VPID n); 0 belongs to VMX root operation. */
static uint64_t vpid_used[65536 / 64] = { 1 };

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
	vmcs_writel(VMCS_HOST_RIP, (uint64_t)vmx_exit_entry);
}

static void setup_controls(struct vcpu *v)
{
	const struct vmx_config *c = &vmx_config;

	vmcs_write32(VMCS_PIN_CONTROLS, c->pin);
	vcpu_set_proc_ctls(v, c->proc);
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
	vmcs_write64(VMCS_TSC_OFFSET, 0);
	vmcs_write64(VMCS_EPT_POINTER, v->vm->ept.eptp);
	if (c->vpid)
		vmcs_write16(VMCS_VPID, v->vpid);
	vmcs_writel(VMCS_CR0_GUEST_HOST_MASK, CR0_HOST_OWNED | cr0_forced());
	vmcs_writel(VMCS_CR4_GUEST_HOST_MASK, ~0ull);
	vmcs_write64(VMCS_VMCS_LINK_POINTER, ~0ull);
	if (c->preemption_timer)
		vmcs_write32(VMCS_PREEMPTION_TIMER_VALUE, 1u << 22);
}

static void set_segment(uint32_t sel_f, const struct kvm_segment *s)
{
	/* The fields of one segment are at fixed distances from the selector's. */
	uint32_t idx = sel_f - VMCS_GUEST_ES_SEL;
	uint32_t ar = s->type | s->s << 4 | s->dpl << 5 | s->present << 7 | s->avl << 12 |
		      s->l << 13 | s->db << 14 | s->g << 15;

	if (s->unusable || (!s->present && sel_f != VMCS_GUEST_CS_SEL && sel_f != VMCS_GUEST_TR_SEL))
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

/* The x86 reset state (SDM 9.1.1): real mode at F000:FFF0. */
static void reset_state(struct vcpu *v)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	struct kvm_segment data = { .limit = 0xffff, .type = 3, .s = 1, .present = 1 };

	memset(&s, 0, sizeof(s));
	s.cs = data;
	s.cs.type = 11;
	s.cs.selector = 0xf000;
	s.cs.base = 0xffff0000;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.tr = (struct kvm_segment){ .limit = 0xffff, .type = 11, .present = 1 };
	s.ldt = (struct kvm_segment){ .limit = 0xffff, .type = 2, .present = 1 };
	s.gdt.limit = s.idt.limit = 0xffff;
	s.cr0 = CR0_ET | CR0_NW | CR0_CD;
	s.apic_base = 0xfee00000 | (v->id == 0 ? 1u << 8 : 0);
	vcpu_set_sregs(v, &s);
	memset(&r, 0, sizeof(r));
	r.rip = 0xfff0;
	r.rflags = 2;
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
	v->xcr0 = 1; /* x87 only, as after reset */
}

int vcpu_create(struct vm *vm, int id, struct vcpu **out)
{
	uint64_t pa = pages_alloc_zeroed(pages_for(sizeof(struct vcpu)), 1);
	struct vcpu *v;

	if (vm->n_vcpus >= VM_MAX_VCPUS || id < 0 || id >= VM_MAX_VCPUS)
		return -HV_EINVAL;
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		if (vm->vcpus[i]->id == id)
			return -HV_EEXIST;
	if (!pa)
		return -HV_ENOMEM;
	v = phys_to_virt(pa);
	v->vm = vm;
	v->id = id;
	v->vmcs = page_alloc_zeroed();
	v->run = phys_to_virt(pages_alloc_zeroed(VCPU_RUN_PAGES, 1));
	v->io_bitmap_a = page_alloc_zeroed();
	v->io_bitmap_b = page_alloc_zeroed();
	v->msr_bitmap = page_alloc_zeroed();
	v->xstate = phys_to_virt(pages_alloc_zeroed(pages_for(xstate_area_size()), 1));
	if (!v->vmcs || !v->run || !v->io_bitmap_a || !v->io_bitmap_b || !v->msr_bitmap ||
	    !v->xstate) {
		vcpu_destroy(v);
		return -HV_ENOMEM;
	}
	/* Every port and every MSR exits; handlers decide. */
	memset(phys_to_virt(v->io_bitmap_a), 0xff, PAGE_SIZE);
	memset(phys_to_virt(v->io_bitmap_b), 0xff, PAGE_SIZE);
	memset(phys_to_virt(v->msr_bitmap), 0xff, PAGE_SIZE);
	*(uint32_t *)phys_to_virt(v->vmcs) = (uint32_t)vmx_caps.basic & 0x7fffffff;
	v->vpid = vpid_alloc();
	if (!v->vpid) {
		vcpu_destroy(v);
		return -HV_ENOSPC; /* 65535 vCPUs alive */
	}
	v->cpuid.nent = (uint32_t)cpuid_supported(v->cpuid.e, VCPU_CPUID_MAX);

	xstate_area_reset(v->xstate);
	v->dr6 = DR6_RESET;

	if (current_vcpu)
		put_state(current_vcpu);
	vmclear(v->vmcs);
	vmptrld(v->vmcs);
	current_vcpu = v;
	setup_host_state();
	setup_controls(v);
	reset_state(v);
	get_state(v);
	vm->vcpus[vm->n_vcpus++] = v;
	*out = v;
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->vmcs) {
		vmclear(v->vmcs);
		page_free(v->vmcs);
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
	if (v->vpid && vmx_config.vpid)
		invvpid_safe(INVVPID_SINGLE_CONTEXT, v->vpid);
	vpid_free(v->vpid); /* flushed: a later vCPU may have it */
	pages_free(virt_to_phys(v), pages_for(sizeof(struct vcpu)));
}

/* The current vCPU's non-VMCS state goes back to its struct. */
static void put_state(struct vcpu *v)
{
	v->db[0] = read_dr0();
	v->db[1] = read_dr1();
	v->db[2] = read_dr2();
	v->db[3] = read_dr3();
	v->dr6 = read_dr6();
	xstate_save(v->xstate, v->xcr0);
}

/* v's non-VMCS state into the CPU. */
static void get_state(struct vcpu *v)
{
	wrmsr(MSR_STAR, v->star);
	wrmsr(MSR_LSTAR, v->lstar);
	wrmsr(MSR_CSTAR, v->cstar);
	wrmsr(MSR_FMASK, v->fmask);
	wrmsr(MSR_KERNEL_GS_BASE, v->kernel_gs_base);
	if (cpuid(0x80000001, 0).edx & (1u << 27))
		wrmsr(MSR_TSC_AUX, v->tsc_aux);
	write_dr0(v->db[0]);
	write_dr1(v->db[1]);
	write_dr2(v->db[2]);
	write_dr3(v->db[3]);
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
	vmptrld(v->vmcs);
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
	return 0;
}

static const uint32_t seg_fields[] = {
	VMCS_GUEST_CS_SEL, VMCS_GUEST_DS_SEL, VMCS_GUEST_ES_SEL, VMCS_GUEST_FS_SEL,
	VMCS_GUEST_GS_SEL, VMCS_GUEST_SS_SEL, VMCS_GUEST_TR_SEL, VMCS_GUEST_LDTR_SEL,
};

int vcpu_get_sregs(struct vcpu *v, struct kvm_sregs *s)
{
	struct kvm_segment *segs[] = { &s->cs, &s->ds, &s->es, &s->fs,
				       &s->gs, &s->ss, &s->tr, &s->ldt };

	vcpu_load(v);
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < 8; i++)
		get_segment(seg_fields[i], segs[i]);
	s->gdt.base = vmcs_readl(VMCS_GUEST_GDTR_BASE);
	s->gdt.limit = (uint16_t)vmcs_read32(VMCS_GUEST_GDTR_LIMIT);
	s->idt.base = vmcs_readl(VMCS_GUEST_IDTR_BASE);
	s->idt.limit = (uint16_t)vmcs_read32(VMCS_GUEST_IDTR_LIMIT);
	s->cr0 = vmcs_readl(VMCS_CR0_READ_SHADOW);
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
static bool sregs_valid(const struct kvm_sregs *s)
{
	if ((s->efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)) || (s->cr0 >> 32) ||
	    ((s->cr0 & CR0_PG) && !(s->cr0 & CR0_PE)) ||
	    ((s->cr0 & CR0_NW) && !(s->cr0 & CR0_CD)) ||
	    (s->cr4 & (CR4_VMXE | CR4_SMXE | CR4_PKS)) || (s->cr4 & ~vmx_caps.cr4_fixed1))
		return false;
	if ((s->efer & EFER_LME) && (s->cr0 & CR0_PG))
		return (s->cr4 & CR4_PAE) && (s->efer & EFER_LMA);
	return !(s->efer & EFER_LMA) && !s->cs.l;
}

int vcpu_set_sregs(struct vcpu *v, const struct kvm_sregs *in)
{
	struct kvm_sregs s = *in; /* copied once, then checked, then used */
	const struct kvm_segment *segs[] = { &s.cs, &s.ds, &s.es, &s.fs,
					     &s.gs, &s.ss, &s.tr, &s.ldt };

	if (!sregs_valid(&s))
		return -HV_EINVAL;
	vcpu_load(v);
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
	v->apic_base = s.apic_base;
	vcpu_sync_long_mode(v, s.efer);
	for (unsigned i = 0; i < 256; i++)
		if (s.interrupt_bitmap[i / 64] & (1ull << (i % 64)))
			vcpu_interrupt(v, i);
	return 0;
}

static uint32_t exception_bitmap(const struct vcpu *v)
{
	return 1u << VEC_MC | (v->guest_debug & KVM_GUESTDBG_USE_SW_BP ? 1u << VEC_BP : 0);
}

int vcpu_set_guest_debug(struct vcpu *v, const struct kvm_guest_debug *in)
{
	const uint32_t known = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP | KVM_GUESTDBG_INJECT_BP;
	uint32_t control = in->control; /* copied once */

	if ((control & ~known) || (control && !(control & KVM_GUESTDBG_ENABLE)))
		return -HV_EINVAL;
	vcpu_load(v);
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
	if (e.exception.injected || e.exception.pending) {
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
	if (e.flags & KVM_VCPUEVENT_VALID_SHADOW) {
		if (e.interrupt.shadow & ~(KVM_X86_SHADOW_INT_STI | KVM_X86_SHADOW_INT_MOV_SS) ||
		    e.interrupt.shadow == (KVM_X86_SHADOW_INT_STI | KVM_X86_SHADOW_INT_MOV_SS))
			return -HV_EINVAL;
	}
	vcpu_load(v);
	if ((e.flags & KVM_VCPUEVENT_VALID_SHADOW) && (e.interrupt.shadow & KVM_X86_SHADOW_INT_STI) &&
	    !(vmcs_readl(VMCS_GUEST_RFLAGS) & RFLAGS_IF))
		return -HV_EINVAL; /* an STI shadow with IF=0 fails VM entry */

	v->inject.valid = info != 0;
	v->inject.info = info;
	v->inject.error = e.exception.has_error_code ? e.exception.error_code : 0;
	v->inject.len = !is_soft(info & INTR_TYPE_MASK)			? 0
			: (info & INTR_TYPE_MASK) == INTR_TYPE_SW_INTR ? 2 /* INT n */
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
		intr &= ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS);
		if (e.interrupt.shadow & KVM_X86_SHADOW_INT_STI)
			intr |= INTERRUPTIBILITY_STI;
		if (e.interrupt.shadow & KVM_X86_SHADOW_INT_MOV_SS)
			intr |= INTERRUPTIBILITY_MOVSS;
	}
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, intr);
	return 0;
}

int vcpu_interrupt(struct vcpu *v, uint32_t vector)
{
	if (vector > 255)
		return -HV_EINVAL;
	v->irq_pending = true;
	v->irq_vector = (uint8_t)vector;
	return 0;
}

void vcpu_queue_nmi(struct vcpu *v)
{
	v->nmi_pending = true;
}

void vcpu_queue_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
	if (v->inject.valid) {
		/* An exception while another event waits: a double fault (SDM 6.15). */
		log_debug("vm %s vcpu %d: exception %u during delivery of 0x%x: #DF",
			  v->vm->name, v->id, vector, v->inject.info);
		vector = VEC_DF;
		has_error = true;
		error = 0;
	}
	v->inject.valid = true;
	v->inject.info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector |
			 (has_error ? INTR_INFO_DELIVER_ERROR : 0);
	v->inject.error = error;
	v->inject.len = 0;
}

void vcpu_skip_instruction(struct vcpu *v)
{
	uint32_t intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);

	vmcs_writel(VMCS_GUEST_RIP, vmcs_readl(VMCS_GUEST_RIP) + vmcs_read32(VMCS_EXIT_INSTRUCTION_LEN));
	/* The instruction completed: STI / MOV SS shadows end with it. */
	if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS))
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY,
			     intr & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS));
}

unsigned vcpu_cpl(void)
{
	return vmcs_read32(VMCS_GUEST_SS_AR) >> 5 & 3;
}

enum insn_cpu_mode vcpu_code_mode(void)
{
	uint32_t cs_ar = vmcs_read32(VMCS_GUEST_CS_AR);

	if (!(vmcs_readl(VMCS_GUEST_CR0) & CR0_PE))
		return INSN_MODE_16;
	if ((vmcs_read64(VMCS_GUEST_IA32_EFER) & EFER_LMA) && (cs_ar & (1u << 13)))
		return INSN_MODE_64;
	return cs_ar & (1u << 14) ? INSN_MODE_32 : INSN_MODE_16;
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

/* MOV to CR0 (SDM vol. 3A 2.5 and MOV CR): 0, or -1 for #GP. */
int vcpu_set_cr0(struct vcpu *v, uint64_t val)
{
	uint64_t old = vmcs_readl(VMCS_CR0_READ_SHADOW);
	uint64_t efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	uint64_t cr4 = vmcs_readl(VMCS_CR4_READ_SHADOW);

	val |= CR0_ET; /* hard-wired to 1 */
	if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) ||
	    ((val & CR0_NW) && !(val & CR0_CD)))
		return -1;
	if (!(old & CR0_PG) && (val & CR0_PG) && (efer & EFER_LME)) {
		if (!(cr4 & CR4_PAE) || (vmcs_read32(VMCS_GUEST_CS_AR) & (1u << 13)))
			return -1;
		efer |= EFER_LMA;
	}
	if ((old & CR0_PG) && !(val & CR0_PG))
		efer &= ~EFER_LMA;
	if ((val & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LMA) &&
	    load_pdptes(v, vmcs_readl(VMCS_GUEST_CR3)) < 0)
		return -1;
	vcpu_sync_long_mode(v, efer);
	/* CD/NW stay clear in hardware: guest memory is WB through EPT. */
	vmcs_writel(VMCS_GUEST_CR0, (val | cr0_forced()) & ~(CR0_NW | CR0_CD));
	vmcs_writel(VMCS_CR0_READ_SHADOW, val);
	return 0;
}

/* MOV to CR4: 0, or -1 for #GP. VMX, SMX and PKS are hidden from guests. */
int vcpu_set_cr4(struct vcpu *v, uint64_t val)
{
	uint64_t efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	uint64_t old = vmcs_readl(VMCS_CR4_READ_SHADOW);
	uint64_t cr0 = vmcs_readl(VMCS_CR0_READ_SHADOW);

	if ((val & ~vmx_caps.cr4_fixed1) || (val & (CR4_VMXE | CR4_SMXE | CR4_PKS)))
		return -1;
	if ((efer & EFER_LMA) && (!(val & CR4_PAE) || ((val ^ old) & CR4_LA57)))
		return -1;
	if ((cr0 & CR0_PG) && (val & CR4_PAE) && !(efer & EFER_LMA) &&
	    ((val ^ old) & (CR4_PAE | CR4_PSE | CR4_PGE)) &&
	    load_pdptes(v, vmcs_readl(VMCS_GUEST_CR3)) < 0)
		return -1;
	vmcs_writel(VMCS_GUEST_CR4, val | vmx_caps.cr4_fixed0);
	vmcs_writel(VMCS_CR4_READ_SHADOW, val);
	return 0;
}

/* Choose the event for this entry, or ask for a window when it must wait. */
static void inject_events(struct vcpu *v)
{
	uint32_t want = v->proc_ctls & ~(VMX_PROC_INTR_WINDOW_EXITING | VMX_PROC_NMI_WINDOW_EXITING);

	if (v->inject.valid) {
		vmcs_write32(VMCS_ENTRY_INTR_INFO, v->inject.info);
		if (v->inject.info & INTR_INFO_DELIVER_ERROR)
			vmcs_write32(VMCS_ENTRY_EXCEPTION_ERROR_CODE, v->inject.error);
		if (v->inject.len)
			vmcs_write32(VMCS_ENTRY_INSTRUCTION_LEN, v->inject.len);
		v->inject.valid = false;
		if (v->nmi_pending)
			want |= VMX_PROC_NMI_WINDOW_EXITING;
		else if (v->irq_pending)
			want |= VMX_PROC_INTR_WINDOW_EXITING;
	} else if (v->nmi_pending || v->irq_pending) {
		uint32_t intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
		bool shadow = intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS);

		if (v->nmi_pending && !shadow && !(intr & INTERRUPTIBILITY_NMI)) {
			vmcs_write32(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | VEC_NMI);
			v->nmi_pending = false;
		} else if (v->nmi_pending) {
			want |= VMX_PROC_NMI_WINDOW_EXITING;
		} else if (!shadow && (vmcs_readl(VMCS_GUEST_RFLAGS) & RFLAGS_IF)) {
			vmcs_write32(VMCS_ENTRY_INTR_INFO,
				     INTR_INFO_VALID | INTR_TYPE_EXT_INTR | v->irq_vector);
			v->irq_pending = false;
		} else {
			want |= VMX_PROC_INTR_WINDOW_EXITING;
		}
	}
	if (want != v->proc_ctls)
		vcpu_set_proc_ctls(v, want);
}

/* An event whose delivery the exit interrupted is delivered again (SDM 27.2.4). */
static void save_idt_vectoring(struct vcpu *v)
{
	uint32_t info = vmcs_read32(VMCS_IDT_VECTORING_INFO);
	uint32_t type = info & INTR_TYPE_MASK;

	if (!(info & INTR_INFO_VALID))
		return;
	v->inject.valid = true;
	v->inject.info = info & (INTR_INFO_VALID | INTR_INFO_DELIVER_ERROR | INTR_TYPE_MASK | 0xff);
	v->inject.error = info & INTR_INFO_DELIVER_ERROR ? vmcs_read32(VMCS_IDT_VECTORING_ERROR_CODE) : 0;
	v->inject.len = (type == INTR_TYPE_SW_INTR || type == INTR_TYPE_SW_EXCEPTION ||
			 type == INTR_TYPE_PRIV_SW_EXCEPTION)
				? vmcs_read32(VMCS_EXIT_INSTRUCTION_LEN)
				: 0;
}

static int read_guest_phys(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	return vm_read_gpa(ctx, gpa, buf, len);
}

void vcpu_walk_ctx(struct vcpu *v, struct guest_walk_ctx *ctx, uint64_t pdptes[4])
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->cr0 = vmcs_readl(VMCS_CR0_READ_SHADOW);
	ctx->cr3 = vmcs_readl(VMCS_GUEST_CR3);
	ctx->cr4 = vmcs_readl(VMCS_CR4_READ_SHADOW);
	ctx->efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	ctx->read_phys = read_guest_phys;
	ctx->opaque = v->vm;
	ctx->maxphyaddr = cpuid(0x80000008, 0).eax & 0xff;
	/* PAE paging under EPT: the CPU walks with the VMCS PDPTE registers. */
	if ((ctx->cr0 & CR0_PG) && (ctx->cr4 & CR4_PAE) && !(ctx->efer & EFER_LMA)) {
		pdptes[0] = vmcs_read64(VMCS_GUEST_PDPTE0);
		pdptes[1] = vmcs_read64(VMCS_GUEST_PDPTE1);
		pdptes[2] = vmcs_read64(VMCS_GUEST_PDPTE2);
		pdptes[3] = vmcs_read64(VMCS_GUEST_PDPTE3);
		ctx->pdptes = pdptes;
	}
}

unsigned vcpu_walk_user(void)
{
	return vcpu_cpl() == 3 ? WALK_USER : 0;
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
	vmcs_writel(VMCS_GUEST_RIP, vmcs_readl(VMCS_GUEST_RIP) + insn_len);
}

/* INS completion: store the controller's data at the guest-linear address. */
static void complete_ins(struct vcpu *v, const uint8_t *pio)
{
	struct guest_walk_ctx ctx;
	struct guest_walk_result res;
	uint64_t pdptes[4], la = v->ins.la, len = v->ins.count * v->io_size;

	vcpu_walk_ctx(v, &ctx, pdptes);
	while (len) {
		uint64_t chunk = PAGE_SIZE - (la & (PAGE_SIZE - 1));

		if (chunk > len)
			chunk = len;
		if (guest_walk(&ctx, la, WALK_WRITE | vcpu_walk_user(), &res) != WALK_OK ||
		    vm_write_gpa(v->vm, res.gpa, pio, chunk) < 0) {
			if (res.status == WALK_PAGE_FAULT) {
				v->cr2 = res.la;
				vcpu_queue_exception(v, VEC_PF, true, res.error_code);
			} else {
				log_warn("vm %s vcpu %d: INS to 0x%llx, which is not RAM: data dropped",
					 v->vm->name, v->id, (unsigned long long)la);
			}
			return;
		}
		la += chunk;
		pio += chunk;
		len -= chunk;
	}
	vcpu_string_io_done(v, GPR_RDI, v->ins.count, v->io_size, v->ins.addr_size, v->ins.rep,
			    v->ins.down, v->pending_len);
}

/* Finish what the previous exit left to the controller (KVM semantics). */
static void complete_pending(struct vcpu *v)
{
	const uint8_t *pio = (const uint8_t *)v->run + VCPU_PIO_OFFSET;
	uint64_t data = 0;

	switch (v->pending) {
	case PENDING_IO_IN:
		memcpy(&data, pio, v->io_size);
		if (v->io_size == 4)
			v->gpr[GPR_RAX] = (uint32_t)data; /* IN EAX zero-extends */
		else if (v->io_size == 2)
			v->gpr[GPR_RAX] = (v->gpr[GPR_RAX] & ~0xffffull) | (uint16_t)data;
		else
			v->gpr[GPR_RAX] = (v->gpr[GPR_RAX] & ~0xffull) | (uint8_t)data;
		break;
	case PENDING_INS:
		v->pending = PENDING_NONE;
		complete_ins(v, pio);
		return;
	case PENDING_MMIO_READ:
		memcpy(&data, v->run->mmio.data, v->mmio.size);
		v->gpr[GPR_RSP] = vmcs_readl(VMCS_GUEST_RSP);
		mmio_complete_load(&v->mmio, data, v->gpr, v->mmio_mode);
		vmcs_writel(VMCS_GUEST_RSP, v->gpr[GPR_RSP]);
		break;
	case PENDING_NONE:
		return;
	}
	vmcs_writel(VMCS_GUEST_RIP, vmcs_readl(VMCS_GUEST_RIP) + v->pending_len);
	v->pending = PENDING_NONE;
}

static void fill_run_common(struct vcpu *v)
{
	uint64_t rflags = vmcs_readl(VMCS_GUEST_RFLAGS);
	uint32_t intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);

	v->run->if_flag = !!(rflags & RFLAGS_IF);
	v->run->ready_for_interrupt_injection =
		v->run->if_flag && !(intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS)) &&
		!v->irq_pending;
	v->run->cr8 = 0;
	v->run->apic_base = v->apic_base;
	v->run->flags = 0;
}

static int entry_failed(struct vcpu *v, uint32_t hw_reason, const char *why)
{
	log_err("vm %s vcpu %d: VM entry failed: %s (reason 0x%x, qualification 0x%llx)",
		v->vm->name, v->id, why, hw_reason,
		(unsigned long long)vmcs_readl(VMCS_EXIT_QUALIFICATION));
	v->run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	v->run->fail_entry.hardware_entry_failure_reason = hw_reason;
	v->run->fail_entry.cpu = 0;
	return 0;
}

int vcpu_run(struct vcpu *v)
{
	vcpu_load(v);
	complete_pending(v);
	if (v->run->immediate_exit) {
		v->run->exit_reason = KVM_EXIT_INTR;
		return -HV_EINTR;
	}
	for (;;) {
		uint32_t reason;

		if (v->tsc_deadline && rdtsc() >= v->tsc_deadline) {
			log_info("vm %s vcpu %d: run budget spent at rip 0x%llx", v->vm->name,
				 v->id, (unsigned long long)vmcs_readl(VMCS_GUEST_RIP));
			v->tsc_deadline = 0;
			v->stop_request = true;
		}
		if (v->stop_request) {
			v->stop_request = false;
			v->run->exit_reason = KVM_EXIT_INTR;
			fill_run_common(v);
			return -HV_EINTR;
		}
		inject_events(v);
		write_cr2(v->cr2);
		if (vmx_enter(v->gpr, v->launched)) {
			uint32_t err = vmx_read_error();

			return entry_failed(v, err, vmx_error_name(err));
		}
		v->launched = true;
		v->cr2 = read_cr2();
		reason = vmcs_read32(VMCS_EXIT_REASON);
		if (reason & EXIT_REASON_ENTRY_FAILURE) {
			if ((reason & 0xffff) < EXIT_REASON_MAX)
				v->exit_counts[reason & 0xffff]++;
			return entry_failed(v, reason, vmx_exit_reason_name(reason & 0xffff));
		}
		reason &= 0xffff;
		if (reason < EXIT_REASON_MAX)
			v->exit_counts[reason]++;
		save_idt_vectoring(v);
		if (vmx_handle_exit(v, reason) == EXIT_TO_CONTROLLER) {
			fill_run_common(v);
			return 0;
		}
	}
}
