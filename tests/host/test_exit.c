// SPDX-License-Identifier: MIT
/*
 * The exit path and the vCPU model on the fake VMX unit: each test runs a
 * guest made of steps (tests/host/harness.h) through the real KVM API,
 * exit handlers and event injection, and looks at what the next VM entry
 * delivered, the VMCS and the registers KVM_GET_* report. Expectations
 * are upstream KVM's (Linux 6.1); each names the function it follows.
 */
#include <stdlib.h>
#include <string.h>

#include "abi/errno.h"
#include "hv/kvm/kvm_api.h"
#include "abi/kvm_ioctls.h"
#include "hv/lib/mm.h"
#include "hv/lib/msr.h"
#include "hv/lib/x86.h"
#include "tests/host/harness.h"
#include "vmx/vcpu.h"
#include "vmx/vm.h"
#include "tests/unit/check.h"
#include "vmx/exit_reasons.h"
#include "vmx/guest_regs.h"
#include "vmx/vmx_controls.h"
#include "vmx/vmx_ops.h"

#define MEM	    (1u << 20)
#define RIP0	    0x1000ull
#define GP_INFO	    (0x80000000u | 3u << 8 | 13u | 1u << 11)
#define INFO_VALID  0x80000000u
#define TYPE_EXT    0u
#define TYPE_NMI    (2u << 8)
#define TYPE_HW	    (3u << 8)
#define TYPE_SW_INT (4u << 8)
#define INFO_ERR    (1u << 11)

/* ---- shared steps ------------------------------------------------------- */

static uint64_t t_val, t_val2;
static unsigned t_reg = GPR_RAX;

static struct {
	uint64_t rip, cr0, cr0_shadow, cr4, cr4_shadow, efer, rflags;
	uint32_t entry_ctls, proc, intr;
	uint64_t rax, rcx, rdx;
} seen;

static uint32_t step_observe(struct fake_guest *g)
{
	seen.rip = fake_vmcs_get(VMCS_GUEST_RIP);
	seen.cr0 = fake_vmcs_get(VMCS_GUEST_CR0);
	seen.cr0_shadow = fake_vmcs_get(VMCS_CR0_READ_SHADOW);
	seen.cr4 = fake_vmcs_get(VMCS_GUEST_CR4);
	seen.cr4_shadow = fake_vmcs_get(VMCS_CR4_READ_SHADOW);
	seen.efer = fake_vmcs_get(VMCS_GUEST_IA32_EFER);
	seen.rflags = fake_vmcs_get(VMCS_GUEST_RFLAGS);
	seen.entry_ctls = (uint32_t)fake_vmcs_get(VMCS_ENTRY_CONTROLS);
	seen.proc = (uint32_t)fake_vmcs_get(VMCS_PROC_CONTROLS);
	seen.intr = (uint32_t)fake_vmcs_get(VMCS_GUEST_INTERRUPTIBILITY);
	seen.rax = g->gpr[GPR_RAX];
	seen.rcx = g->gpr[GPR_RCX];
	seen.rdx = g->gpr[GPR_RDX];
	return h_exit_insn(EXIT_REASON_HLT, 1);
}

static uint32_t step_mov_cr0(struct fake_guest *g)
{
	g->gpr[t_reg] = t_val;
	return h_exit_cr(0, 0, t_reg, 0);
}

static uint32_t step_mov_cr4(struct fake_guest *g)
{
	g->gpr[t_reg] = t_val;
	return h_exit_cr(4, 0, t_reg, 0);
}

static uint32_t step_pause(struct fake_guest *g)
{
	(void)g;
	return h_exit_insn(EXIT_REASON_PAUSE, 2);
}

static long run0(uint32_t vm)
{
	return h_cpu(vm, 0, KVM_RUN, NULL, 0);
}

/* Back to RIP0, the other registers as they are. */
static void at_rip0(uint32_t vm)
{
	struct kvm_regs r;

	if (h_cpu(vm, 0, KVM_GET_REGS, &r, sizeof(r)))
		abort();
	r.rip = RIP0;
	if (h_cpu(vm, 0, KVM_SET_REGS, &r, sizeof(r)))
		abort();
}

/* A VM in @mode at RIP0 with RFLAGS @rflags. */
static uint32_t vm_in(enum h_mode mode, uint64_t rflags)
{
	uint32_t vm = h_vm_with_vcpu(MEM);
	struct kvm_regs r = {.rip = RIP0, .rflags = rflags};

	if (h_set_mode(vm, 0, mode) || h_cpu(vm, 0, KVM_SET_REGS, &r, sizeof(r)))
		abort();
	memset(&seen, 0, sizeof(seen));
	t_reg = GPR_RAX;
	return vm;
}

static struct kvm_sregs sregs_of(uint32_t vm)
{
	struct kvm_sregs s;

	if (h_cpu(vm, 0, KVM_GET_SREGS, &s, sizeof(s)))
		abort();
	return s;
}

static struct kvm_regs regs_of(uint32_t vm)
{
	struct kvm_regs r;

	if (h_cpu(vm, 0, KVM_GET_REGS, &r, sizeof(r)))
		abort();
	return r;
}

/* Run the steps mov (to a CR) then observe: 1 if the write took (RIP moved
 * past it and nothing was injected), 0 if #GP(0) came instead. */
static int cr_write(uint32_t vm, h_step mov)
{
	h_step steps[] = {mov, step_observe};

	at_rip0(vm);
	h_steps(steps, 2);
	if (run0(vm) != 0 || h_run_page(vm, 0)->exit_reason != KVM_EXIT_HLT)
		return -1;
	if (!h_delivered[1].valid && seen.rip == RIP0 + 3)
		return 1;
	if (h_delivered[1].valid && h_delivered[1].info == GP_INFO && h_delivered[1].error == 0 &&
	    seen.rip == RIP0)
		return 0;
	return -2;
}

/* ---- CR0 ------------------------------------------------------------------ */

static void test_cr0_pg_without_pe(void)
{
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	t_val = CR0_PG | CR0_ET | CR0_NE; /* PE clear */
	CHECK_EQ(cr_write(vm, step_mov_cr0), 0);
	CHECK_EQ(sregs_of(vm).cr0, CR0_PE | CR0_ET | CR0_NE);
	CHECK_EQ(fake_vmx_stats.fail_controls, 0);
}

static void test_cr0_nw_without_cd(void)
{
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	t_val = CR0_PE | CR0_NE | CR0_NW;
	CHECK_EQ(cr_write(vm, step_mov_cr0), 0);
	t_val = CR0_PE | CR0_NE | CR0_NW | CR0_CD;
	CHECK_EQ(cr_write(vm, step_mov_cr0), 1);
	/* The guest sees CD and NW; the hardware runs without them (EPT is WB). */
	CHECK_EQ(seen.cr0_shadow, CR0_PE | CR0_NE | CR0_NW | CR0_CD | CR0_ET);
	CHECK_EQ(seen.cr0 & (CR0_NW | CR0_CD), 0);
	CHECK_EQ(seen.cr0 & (CR0_NE | CR0_PE), CR0_NE | CR0_PE);
}

static void test_cr0_upper_bits(void)
{
	uint32_t vm;

	h_reset();
	/* 64-bit code: bits 63:32 are #GP. */
	vm = vm_in(H_LONG64, 2);
	t_val = (1ull << 32) | CR0_PE | CR0_PG | CR0_NE | CR0_ET | CR0_WP;
	CHECK_EQ(cr_write(vm, step_mov_cr0), 0);
	/* 32-bit code: MOV takes the low half. */
	vm = vm_in(H_PROT32, 2);
	t_val = (0xffull << 32) | CR0_PE | CR0_NE | CR0_ET | CR0_MP;
	CHECK_EQ(cr_write(vm, step_mov_cr0), 1);
	CHECK_EQ(sregs_of(vm).cr0, CR0_PE | CR0_NE | CR0_ET | CR0_MP);
}

static void test_cr0_long_mode_needs_pae(void)
{
	struct kvm_sregs s;
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	s = sregs_of(vm);
	s.efer = EFER_LME;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_SREGS, &s, sizeof(s)), 0);
	t_val = CR0_PE | CR0_PG | CR0_NE | CR0_ET;
	CHECK_EQ(cr_write(vm, step_mov_cr0), 0); /* LME + PG without PAE */
	CHECK_EQ(sregs_of(vm).efer, EFER_LME);

	s = sregs_of(vm);
	s.cr4 = CR4_PAE;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_SREGS, &s, sizeof(s)), 0);
	CHECK_EQ(cr_write(vm, step_mov_cr0), 1);
	CHECK_EQ(seen.efer, EFER_LME | EFER_LMA);
	CHECK(seen.entry_ctls & VMX_ENTRY_IA32E_MODE_GUEST);
	CHECK_EQ(sregs_of(vm).efer, EFER_LME | EFER_LMA);
	CHECK_EQ(fake_vmx_stats.fail_guest_state, 0);

	/* Paging off again leaves long mode. */
	t_val = CR0_PE | CR0_NE | CR0_ET;
	vm = vm; /* same vCPU, now in compatibility-mode code (CS.L = 0) */
	CHECK_EQ(cr_write(vm, step_mov_cr0), 1);
	CHECK_EQ(seen.efer, EFER_LME);
	CHECK(!(seen.entry_ctls & VMX_ENTRY_IA32E_MODE_GUEST));
}

/* The guest loaded a code segment with L=1 while paging is off, then sets PG. */
static uint32_t step_mov_cr0_cs_l(struct fake_guest *g)
{
	fake_vmcs_set(VMCS_GUEST_CS_AR, (fake_vmcs_get(VMCS_GUEST_CS_AR) | 1u << 13) & ~(1u << 14));
	return step_mov_cr0(g);
}

static void test_cr0_long_mode_refused_with_cs_l(void)
{
	struct kvm_sregs s;
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	s = sregs_of(vm);
	s.efer = EFER_LME;
	s.cr4 = CR4_PAE;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_SREGS, &s, sizeof(s)), 0);
	t_val = CR0_PE | CR0_PG | CR0_NE | CR0_ET;
	CHECK_EQ(cr_write(vm, step_mov_cr0_cs_l), 0);
	CHECK_EQ(sregs_of(vm).efer, EFER_LME);
}

static void test_cr0_pae_paging_loads_pdptes(void)
{
	struct kvm_sregs s;
	uint64_t pdpte[4] = {0x20001, 0, 0, 0};
	uint32_t vm;
	void *hva;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	s = sregs_of(vm);
	s.cr4 = CR4_PAE;
	s.cr3 = 0x10000;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_SREGS, &s, sizeof(s)), 0);
	hva = vm_gpa_to_hva(kvm_api_vm(vm), 0x10000, sizeof(pdpte));
	CHECK(hva);
	memcpy(hva, pdpte, sizeof(pdpte));
	t_val = CR0_PE | CR0_PG | CR0_NE | CR0_ET;
	CHECK_EQ(cr_write(vm, step_mov_cr0), 1);
	CHECK_EQ(fake_vmcs_get(VMCS_GUEST_PDPTE0), 0x20001);
	CHECK_EQ(fake_vmcs_get(VMCS_GUEST_PDPTE1), 0);

	/* A present PDPTE with a reserved bit: #GP, paging stays off. */
	vm = vm_in(H_PROT32, 2);
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_SREGS, &s, sizeof(s)), 0);
	pdpte[1] = 0x30001 | 1u << 7;
	memcpy(vm_gpa_to_hva(kvm_api_vm(vm), 0x10000, sizeof(pdpte)), pdpte, sizeof(pdpte));
	CHECK_EQ(cr_write(vm, step_mov_cr0), 0);
	CHECK(!(sregs_of(vm).cr0 & CR0_PG));
}

static uint32_t step_lmsw(struct fake_guest *g)
{
	(void)g;
	return h_exit_cr(0, 3, 0, (unsigned)t_val);
}

static uint32_t step_clts(struct fake_guest *g)
{
	(void)g;
	return h_exit_cr(0, 2, 0, 0);
}

static void test_cr0_lmsw_and_clts(void)
{
	struct kvm_sregs s;
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	t_val = 0; /* LMSW 0: PE stays, MP/EM/TS clear */
	s = sregs_of(vm);
	s.cr0 |= CR0_MP | CR0_TS;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_SREGS, &s, sizeof(s)), 0);
	CHECK_EQ(cr_write(vm, step_lmsw), 1);
	CHECK_EQ(sregs_of(vm).cr0, CR0_PE | CR0_ET | CR0_NE);
	t_val = CR0_TS | CR0_MP;
	CHECK_EQ(cr_write(vm, step_lmsw), 1);
	CHECK_EQ(sregs_of(vm).cr0, CR0_PE | CR0_ET | CR0_NE | CR0_TS | CR0_MP);
	CHECK_EQ(cr_write(vm, step_clts), 1);
	CHECK_EQ(sregs_of(vm).cr0, CR0_PE | CR0_ET | CR0_NE | CR0_MP);
	/* LMSW sets PE from real mode. */
	vm = vm_in(H_REAL, 2);
	t_val = CR0_PE;
	CHECK_EQ(cr_write(vm, step_lmsw), 1);
	CHECK(sregs_of(vm).cr0 & CR0_PE);
}

/* ---- CR4 ----------------------------------------------------------------- */

static void test_cr4_reserved_and_hidden_bits(void)
{
	uint32_t vm;

	h_machine(FAKE_MODEL_SKYLAKE);
	h_reset();
	vm = vm_in(H_PROT32, 2);
	t_val = CR4_LA57; /* not in this CPU's CR4_FIXED1 */
	CHECK_EQ(cr_write(vm, step_mov_cr4), 0);
	t_val = 1ull << 23;
	CHECK_EQ(cr_write(vm, step_mov_cr4), 0);
	t_val = CR4_VMXE;
	CHECK_EQ(cr_write(vm, step_mov_cr4), 0);
	t_val = CR4_SMXE;
	CHECK_EQ(cr_write(vm, step_mov_cr4), 0);
	CHECK_EQ(sregs_of(vm).cr4, 0);
	t_val = CR4_PSE | CR4_PGE | CR4_OSXSAVE;
	CHECK_EQ(cr_write(vm, step_mov_cr4), 1);
	CHECK_EQ(seen.cr4_shadow, CR4_PSE | CR4_PGE | CR4_OSXSAVE);
	CHECK_EQ(seen.cr4, CR4_PSE | CR4_PGE | CR4_OSXSAVE | CR4_VMXE);
	CHECK_EQ(fake_vmx_stats.fail_guest_state, 0);
}

/* A bit of the vCPU's CPUID table (reg 0-3: EAX..EDX). */
static int cpuid_has(uint32_t vm, uint32_t leaf, uint32_t index, int reg, unsigned bit)
{
	static uint64_t
	    buf[(sizeof(struct kvm_cpuid2) + 256 * sizeof(struct kvm_cpuid_entry2)) / 8];
	struct kvm_cpuid2 *t = (struct kvm_cpuid2 *)buf;

	t->nent = 256;
	if (h_cpu(vm, 0, KVM_GET_CPUID2, buf, sizeof(buf)))
		return -1;
	for (unsigned i = 0; i < t->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &t->entries[i];
		uint32_t r[4] = {e->eax, e->ebx, e->ecx, e->edx};

		if (e->function == leaf && e->index == index)
			return r[reg] >> bit & 1;
	}
	return 0;
}

static void test_cr4_long_mode_rules(void)
{
	uint32_t vm;

	h_machine(FAKE_MODEL_ICELAKE);
	h_reset();
	vm = vm_in(H_LONG64, 2);
	t_val = 0; /* clearing PAE in long mode */
	CHECK_EQ(cr_write(vm, step_mov_cr4), 0);
	t_val = CR4_PAE | CR4_LA57; /* LA57 cannot change in long mode */
	CHECK_EQ(cr_write(vm, step_mov_cr4), 0);
	CHECK_EQ(sregs_of(vm).cr4, CR4_PAE);
	t_val = CR4_PAE | CR4_PGE;
	CHECK_EQ(cr_write(vm, step_mov_cr4), 1);
	/* Outside long mode LA57 may change if the vCPU's CPUID has it (upstream). */
	vm = vm_in(H_PROT32, 2);
	t_val = CR4_LA57;
	CHECK_EQ(cr_write(vm, step_mov_cr4), cpuid_has(vm, 7, 0, 2, 16));
	h_machine(FAKE_MODEL_SKYLAKE);
}

static void test_cr4_pcide_in_long_mode(void)
{
	uint32_t vm;

	h_reset();
	vm = vm_in(H_LONG64, 2);
	t_val = CR4_PAE | CR4_PCIDE;
	CHECK_EQ(cr_write(vm, step_mov_cr4), 1);
	CHECK_EQ(sregs_of(vm).cr4, CR4_PAE | CR4_PCIDE);
	CHECK_EQ(fake_vmx_stats.fail_guest_state, 0);
}

/* Upstream refuses PCIDE outside long mode (kvm_set_cr4). */
static void test_cr4_pcide_outside_long_mode(void)
{
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	t_val = CR4_PCIDE;
	CHECK_EQ(cr_write(vm, step_mov_cr4), 0);
	CHECK_EQ(fake_vmx_stats.fail_guest_state, 0);
}

/* Upstream refuses PCIDE 0->1 while CR3[11:0] != 0 (kvm_set_cr4). */
static void test_cr4_pcide_with_cr3_pcid(void)
{
	struct kvm_sregs s;
	uint32_t vm;

	h_reset();
	vm = vm_in(H_LONG64, 2);
	s = sregs_of(vm);
	s.cr3 = 0x10005;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_SREGS, &s, sizeof(s)), 0);
	t_val = CR4_PAE | CR4_PCIDE;
	CHECK_EQ(cr_write(vm, step_mov_cr4), 0);
}

/* kvm_set_cr0(): clearing PG in 64-bit mode is #GP. */
static void test_cr0_clear_pg_in_64bit_mode(void)
{
	uint32_t vm;

	h_reset();
	vm = vm_in(H_LONG64, 2);
	t_val = CR0_PE | CR0_NE | CR0_ET | CR0_WP;
	CHECK_EQ(cr_write(vm, step_mov_cr0), 0);
	CHECK(sregs_of(vm).efer & EFER_LMA);
}

/* kvm_set_cr0(): the reserved bits of CR0[31:0] are dropped (CR0_RESERVED_BITS). */
static void test_cr0_reserved_low_bits_dropped(void)
{
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	t_val = CR0_PE | CR0_NE | CR0_ET | 1u << 6 | 1u << 20;
	CHECK_EQ(cr_write(vm, step_mov_cr0), 1);
	CHECK_EQ(sregs_of(vm).cr0, CR0_PE | CR0_NE | CR0_ET);
}

/* CR0.TS is the guest's (no exit); upstream reads it from the VMCS (vmx_cache_reg). */
static uint32_t step_guest_clts(struct fake_guest *g)
{
	(void)g;
	fake_vmcs_set(VMCS_GUEST_CR0, fake_vmcs_get(VMCS_GUEST_CR0) & ~CR0_TS);
	return h_exit_insn(EXIT_REASON_HLT, 1);
}

static void test_cr0_guest_owned_ts_reported(void)
{
	struct kvm_sregs s;
	h_step steps[] = {step_guest_clts};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	s = sregs_of(vm);
	s.cr0 |= CR0_TS;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_SREGS, &s, sizeof(s)), 0);
	/* TS is not host-owned: CLTS runs in the guest without an exit. */
	CHECK(!(fake_vmcs_get(VMCS_CR0_GUEST_HOST_MASK) & CR0_TS));
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(sregs_of(vm).cr0 & CR0_TS, 0);
}

/* ---- MSRs ------------------------------------------------------------------- */

/* 1: the WRMSR/RDMSR took, 0: #GP(0). */
static int msr_insn(uint32_t vm, h_step step, uint32_t msr, uint64_t val)
{
	h_step steps[] = {step, step_observe};

	h_msr_val = val;
	h_msr = msr;
	at_rip0(vm);
	h_steps(steps, 2);
	if (run0(vm) != 0)
		return -1;
	if (!h_delivered[1].valid && seen.rip == RIP0 + 2)
		return 1;
	if (h_delivered[1].info == GP_INFO && seen.rip == RIP0)
		return 0;
	return -2;
}

static void test_msr_canonical_bases(void)
{
	static const uint32_t bases[] = {MSR_LSTAR, MSR_CSTAR, MSR_KERNEL_GS_BASE, MSR_FS_BASE,
					 MSR_GS_BASE};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_LONG64, 2);
	for (unsigned i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		unsigned writes = fake_wrmsr_log.count;

		CHECK_EQ(msr_insn(vm, h_step_wrmsr, bases[i], 0x0000800000000000ull), 0);
		CHECK_EQ(msr_insn(vm, h_step_wrmsr, bases[i], 0x8000000000000000ull), 0);
		CHECK_EQ(fake_wrmsr_log.count, writes); /* nothing reached the CPU */
		CHECK_EQ(msr_insn(vm, h_step_wrmsr, bases[i], 0xffff800000001000ull), 1);
		CHECK_EQ(msr_insn(vm, h_step_rdmsr, bases[i], 0), 1);
		CHECK_EQ(seen.rax, 0x00001000);
		CHECK_EQ(seen.rdx, 0xffff8000);
	}
	CHECK_EQ(fake_msr_value(MSR_LSTAR), 0xffff800000001000ull);
	CHECK_EQ(fake_vmcs_get(VMCS_GUEST_FS_BASE), 0xffff800000001000ull);
}

static void test_msr_set_msrs_stops_at_bad_value(void)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[3];
	} m = {.h.nmsrs = 3};
	unsigned writes;
	uint32_t vm;

	h_reset();
	vm = vm_in(H_LONG64, 2);
	m.e[0] = (struct kvm_msr_entry){.index = MSR_STAR, .data = 0x0023001000000000ull};
	m.e[1] = (struct kvm_msr_entry){.index = MSR_LSTAR, .data = 0x1234567812345678ull};
	m.e[2] = (struct kvm_msr_entry){.index = MSR_CSTAR, .data = 0x1000};
	writes = fake_wrmsr_log.count;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_MSRS, &m, sizeof(m)), 1);
	CHECK_EQ(fake_wrmsr_log.count, writes + 1);
	CHECK_EQ(fake_wrmsr_log.last_msr, MSR_STAR);
	CHECK(fake_msr_value(MSR_LSTAR) != 0x1234567812345678ull);
	CHECK_EQ(fake_msr_value(MSR_CSTAR), 0);
	/* The count must match the bytes; 256 entries or more is E2BIG. */
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_MSRS, &m, sizeof(m) - 1), -HV_EFAULT);
	m.h.nmsrs = 256;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_MSRS, &m, sizeof(m)), -HV_E2BIG);
}

static void test_msr_efer(void)
{
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	CHECK_EQ(msr_insn(vm, h_step_wrmsr, MSR_IA32_EFER, 1u << 1), 0); /* reserved */
	CHECK_EQ(msr_insn(vm, h_step_wrmsr, MSR_IA32_EFER, EFER_LMA),
		 1); /* LMA: read-only, ignored */
	CHECK_EQ(sregs_of(vm).efer, 0);
	CHECK_EQ(msr_insn(vm, h_step_wrmsr, MSR_IA32_EFER, EFER_LME | EFER_NXE | EFER_SCE), 1);
	CHECK_EQ(sregs_of(vm).efer, EFER_LME | EFER_NXE | EFER_SCE);
	/* LME cannot change while paging is on. */
	vm = vm_in(H_LONG64, 2);
	CHECK_EQ(msr_insn(vm, h_step_wrmsr, MSR_IA32_EFER, EFER_LMA | EFER_SCE), 0);
	CHECK_EQ(msr_insn(vm, h_step_wrmsr, MSR_IA32_EFER, EFER_LME | EFER_LMA), 1);
	CHECK_EQ(sregs_of(vm).efer, EFER_LME | EFER_LMA);
	CHECK(seen.entry_ctls & VMX_ENTRY_IA32E_MODE_GUEST);
}

static void test_msr_pat_apic_tsc_aux_unknown(void)
{
	uint32_t vm;
	unsigned writes;

	h_reset();
	vm = vm_in(H_LONG64, 2);
	writes = fake_wrmsr_log.count;
	CHECK_EQ(msr_insn(vm, h_step_wrmsr, MSR_IA32_PAT, 0x0007040600070402ull), 0);
	CHECK_EQ(msr_insn(vm, h_step_wrmsr, MSR_IA32_PAT, 0x0007040600070408ull), 0);
	CHECK_EQ(msr_insn(vm, h_step_wrmsr, MSR_IA32_PAT, 0x0606060606060606ull), 1);
	CHECK_EQ(fake_vmcs_get(VMCS_GUEST_IA32_PAT), 0x0606060606060606ull);
	CHECK_EQ(msr_insn(vm, h_step_wrmsr, MSR_IA32_APIC_BASE, 0xfee00000 | 1u << 10), 0);
	CHECK_EQ(msr_insn(vm, h_step_wrmsr, MSR_TSC_AUX, 1ull << 32), 0);
	CHECK_EQ(fake_wrmsr_log.count, writes);
	CHECK_EQ(msr_insn(vm, h_step_wrmsr, MSR_TSC_AUX, 7), 1);
	CHECK_EQ(fake_msr_value(MSR_TSC_AUX), 7);
	CHECK_EQ(msr_insn(vm, h_step_wrmsr, 0x1234, 0), 0);
	CHECK_EQ(msr_insn(vm, h_step_rdmsr, 0x1234, 0), 0);
	CHECK_EQ(msr_insn(vm, h_step_rdmsr, MSR_IA32_MISC_ENABLE, 0), 1);
	CHECK_EQ(seen.rdx, 0); /* RDMSR writes EDX:EAX whole */
}

static void test_msr_tsc_aux_without_rdtscp(void)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[1];
	} m = {.h.nmsrs = 1, .e[0] = {.index = MSR_TSC_AUX, .data = 1}};
	uint32_t vm;

	h_machine(FAKE_MODEL_OLD);
	h_reset();
	vm = vm_in(H_LONG64, 2);
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_MSRS, &m, sizeof(m)), 0); /* never reaches the CPU */
	CHECK_EQ(msr_insn(vm, h_step_rdmsr, MSR_TSC_AUX, 0), 0);
	CHECK_EQ(msr_insn(vm, h_step_wrmsr, MSR_TSC_AUX, 1), 0);
	h_machine(FAKE_MODEL_SKYLAKE);
}

/* ---- events ----------------------------------------------------------------- */

static uint32_t step_set_if(struct fake_guest *g)
{
	(void)g;
	/* STI: IF = 1 with a one-instruction shadow; the exit comes after it. */
	fake_vmcs_set(VMCS_GUEST_RFLAGS, fake_vmcs_get(VMCS_GUEST_RFLAGS) | RFLAGS_IF);
	return h_exit_insn(EXIT_REASON_PAUSE, 2);
}

static void test_irq_waits_for_if(void)
{
	struct kvm_interrupt irq = {.irq = 0x30};
	h_step steps[] = {step_observe};
	h_step steps2[] = {step_set_if, step_observe};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2); /* IF = 0 */
	CHECK_EQ(h_cpu(vm, 0, KVM_INTERRUPT, &irq, sizeof(irq)), 0);
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	CHECK(!h_delivered[0].valid);
	CHECK(seen.proc & VMX_PROC_INTR_WINDOW_EXITING);
	CHECK_EQ(h_run_page(vm, 0)->ready_for_interrupt_injection, 0);
	/* IF goes to 1: the window exit comes at once, then the interrupt. */
	h_steps(steps2, 2);
	CHECK_EQ(run0(vm), 0);
	CHECK(h_delivered[1].valid);
	CHECK_EQ(h_delivered[1].info, INFO_VALID | TYPE_EXT | 0x30);
	CHECK(!(seen.proc & VMX_PROC_INTR_WINDOW_EXITING));
	CHECK_EQ(fake_vmx_stats.fail_controls + fake_vmx_stats.fail_guest_state, 0);
}

static void test_irq_not_injected_in_sti_shadow(void)
{
	struct kvm_vcpu_events e;
	h_step steps[] = {step_observe};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2 | RFLAGS_IF);
	memset(&e, 0, sizeof(e));
	e.flags = KVM_VCPUEVENT_VALID_SHADOW;
	e.interrupt.shadow = KVM_X86_SHADOW_INT_STI;
	e.interrupt.injected = 1; /* waiting, as after KVM_INTERRUPT */
	e.interrupt.nr = 0x42;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_VCPU_EVENTS, &e, sizeof(e)), 0);
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	CHECK(!h_delivered[0].valid);
	CHECK(seen.proc & VMX_PROC_INTR_WINDOW_EXITING);
	CHECK_EQ(fake_vmx_stats.fail_guest_state + fake_vmx_stats.fail_controls, 0);
	/* HLT completed: the shadow ended with it; the next entry delivers. */
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(h_delivered[0].info, INFO_VALID | 0x42);
}

static uint32_t step_unblock_nmi(struct fake_guest *g)
{
	(void)g;
	/* IRET: NMI blocking ends. */
	fake_vmcs_set(VMCS_GUEST_INTERRUPTIBILITY,
		      fake_vmcs_get(VMCS_GUEST_INTERRUPTIBILITY) & ~8ull);
	return h_exit_insn(EXIT_REASON_PAUSE, 2);
}

static void test_nmi_blocked_then_window(void)
{
	h_step steps[] = {step_observe};
	h_step steps2[] = {step_unblock_nmi, step_observe};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	CHECK_EQ(h_cpu(vm, 0, KVM_NMI, NULL, 0), 0);
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(h_delivered[0].info, INFO_VALID | TYPE_NMI | 2);
	CHECK(seen.intr & 8); /* blocked by the NMI being handled */
	CHECK_EQ(h_cpu(vm, 0, KVM_NMI, NULL, 0), 0);
	h_steps(steps2, 2);
	CHECK_EQ(run0(vm), 0);
	CHECK(!h_delivered[0].valid);
	/* The second NMI goes in once the IRET ended the blocking. */
	CHECK_EQ(h_delivered[1].info, INFO_VALID | TYPE_NMI | 2);
	CHECK(!(seen.proc & VMX_PROC_NMI_WINDOW_EXITING));
}

static void test_nmi_first_then_irq(void)
{
	struct kvm_interrupt irq = {.irq = 0x50};
	h_step steps[] = {step_pause, step_observe};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2 | RFLAGS_IF);
	CHECK_EQ(h_cpu(vm, 0, KVM_INTERRUPT, &irq, sizeof(irq)), 0);
	CHECK_EQ(h_cpu(vm, 0, KVM_NMI, NULL, 0), 0);
	h_steps(steps, 2);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(h_delivered[0].info, INFO_VALID | TYPE_NMI | 2);
	CHECK_EQ(h_delivered[1].info, INFO_VALID | TYPE_EXT | 0x50);
}

/* After an NMI goes in with an interrupt waiting, upstream asks for an
 * immediate exit (inject_pending_event: -EBUSY, req_immediate_exit) so the
 * interrupt follows at once: an interrupt window or a zero timer here. */
static uint32_t step_record_timer(struct fake_guest *g)
{
	(void)g;
	seen.proc = (uint32_t)fake_vmcs_get(VMCS_PROC_CONTROLS);
	seen.rax = fake_vmcs_get(VMCS_PREEMPTION_TIMER_VALUE);
	return h_exit_insn(EXIT_REASON_HLT, 1);
}

static void test_irq_after_nmi_not_delayed(void)
{
	struct kvm_interrupt irq = {.irq = 0x50};
	h_step steps[] = {step_record_timer};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2 | RFLAGS_IF);
	CHECK_EQ(h_cpu(vm, 0, KVM_INTERRUPT, &irq, sizeof(irq)), 0);
	CHECK_EQ(h_cpu(vm, 0, KVM_NMI, NULL, 0), 0);
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(h_delivered[0].info, INFO_VALID | TYPE_NMI | 2);
	CHECK((seen.proc & VMX_PROC_INTR_WINDOW_EXITING) || seen.rax == 0);
}

static void test_exception_then_irq_window(void)
{
	struct kvm_vcpu_events e;
	struct kvm_interrupt irq = {.irq = 0x60};
	h_step steps[] = {step_observe};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2 | RFLAGS_IF);
	memset(&e, 0, sizeof(e));
	e.exception.injected = 1;
	e.exception.nr = 6; /* #UD */
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_VCPU_EVENTS, &e, sizeof(e)), 0);
	CHECK_EQ(h_cpu(vm, 0, KVM_INTERRUPT, &irq, sizeof(irq)), 0);
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(h_delivered[0].info, INFO_VALID | TYPE_HW | 6);
	CHECK(seen.proc & VMX_PROC_INTR_WINDOW_EXITING);
}

static uint32_t step_gp_in_real_mode(struct fake_guest *g)
{
	g->gpr[GPR_RAX] = CR0_PG | CR0_ET; /* PG without PE: #GP */
	return h_exit_cr(0, 0, GPR_RAX, 0);
}

/* Real mode has no error codes; upstream strips it (kvm_inject_exception). */
static void test_no_error_code_in_real_mode(void)
{
	h_step steps[] = {step_gp_in_real_mode, step_observe};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_REAL, 2);
	h_steps(steps, 2);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(fake_vmx_stats.fail_controls, 0);
	CHECK_EQ(h_run_page(vm, 0)->exit_reason, KVM_EXIT_HLT);
	CHECK_EQ(h_delivered[1].info, INFO_VALID | TYPE_HW | 13);
}

/* Upstream truncates the error code to 16 bits (vmx_inject_exception). */
static void test_error_code_16_bits(void)
{
	struct kvm_vcpu_events e;
	h_step steps[] = {step_observe};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	memset(&e, 0, sizeof(e));
	e.exception.injected = 1;
	e.exception.nr = 13;
	e.exception.has_error_code = 1;
	e.exception.error_code = 0x12345;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_VCPU_EVENTS, &e, sizeof(e)), 0);
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(fake_vmx_stats.fail_controls, 0);
	CHECK_EQ(h_delivered[0].info, GP_INFO);
	CHECK_EQ(h_delivered[0].error, 0x2345);
}

static void test_error_code_delivered_in_protected_mode(void)
{
	struct kvm_vcpu_events e, out;
	h_step steps[] = {step_observe};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	memset(&e, 0, sizeof(e));
	e.exception.injected = 1;
	e.exception.nr = 14;
	e.exception.has_error_code = 1;
	e.exception.error_code = 0x6;
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	e.nmi.masked = 1;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_VCPU_EVENTS, &e, sizeof(e)), 0);
	CHECK_EQ(h_cpu(vm, 0, KVM_GET_VCPU_EVENTS, &out, sizeof(out)), 0);
	CHECK_EQ(out.exception.injected, 1);
	CHECK_EQ(out.exception.nr, 14);
	CHECK_EQ(out.exception.has_error_code, 1);
	CHECK_EQ(out.exception.error_code, 6);
	CHECK_EQ(out.nmi.masked, 1);
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(h_delivered[0].info, INFO_VALID | TYPE_HW | INFO_ERR | 14);
	CHECK_EQ(h_delivered[0].error, 6);
}

static void test_set_events_refusals_change_nothing(void)
{
	struct kvm_vcpu_events e, before, after;
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	CHECK_EQ(h_cpu(vm, 0, KVM_GET_VCPU_EVENTS, &before, sizeof(before)), 0);
	memset(&e, 0, sizeof(e));
	e.exception.injected = 1;
	e.exception.nr = 32; /* not an exception */
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_VCPU_EVENTS, &e, sizeof(e)), -HV_EINVAL);
	e.exception.nr = 2; /* NMI is not an exception */
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_VCPU_EVENTS, &e, sizeof(e)), -HV_EINVAL);
	memset(&e, 0, sizeof(e));
	e.flags = 1u << 6; /* unknown flag */
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_VCPU_EVENTS, &e, sizeof(e)), -HV_EINVAL);
	CHECK_EQ(h_cpu(vm, 0, KVM_GET_VCPU_EVENTS, &after, sizeof(after)), 0);
	CHECK(!memcmp(&before, &after, sizeof(before)));
}

static uint32_t step_vectoring(struct fake_guest *g)
{
	(void)g;
	/* The exit came while INT 0x80 was being delivered (e.g. an EPT fault on the IDT). */
	fake_vmcs_set(VMCS_IDT_VECTORING_INFO, INFO_VALID | TYPE_SW_INT | 0x80);
	fake_vmcs_set(VMCS_EXIT_INSTRUCTION_LEN, 2);
	return EXIT_REASON_EXTERNAL_INTERRUPT;
}

static void test_idt_vectoring_reinjected(void)
{
	h_step steps[] = {step_vectoring, step_observe};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	h_steps(steps, 2);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(h_delivered[1].info, INFO_VALID | TYPE_SW_INT | 0x80);
	CHECK_EQ(h_delivered[1].len, 2);
	CHECK_EQ(fake_sti_windows > 0, 1);
}

static uint32_t step_vectoring_nmi(struct fake_guest *g)
{
	(void)g;
	/* The exit came while an NMI was being delivered; the CPU saved NMI blocking. */
	fake_vmcs_set(VMCS_IDT_VECTORING_INFO, INFO_VALID | TYPE_NMI | 2);
	fake_vmcs_set(VMCS_GUEST_INTERRUPTIBILITY, fake_vmcs_get(VMCS_GUEST_INTERRUPTIBILITY) | 8);
	return EXIT_REASON_EXTERNAL_INTERRUPT;
}

/* __vmx_complete_interrupts(): re-injecting an NMI clears blocking by NMI first. */
static void test_nmi_reinjection_clears_blocking(void)
{
	h_step steps[] = {step_vectoring_nmi, step_observe};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	h_steps(steps, 2);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(h_delivered[1].info, INFO_VALID | TYPE_NMI | 2);
	CHECK_EQ(fake_vmx_stats.fail_guest_state, 0);
}

static uint32_t step_vectoring_gp_then_cr0_gp(struct fake_guest *g)
{
	/* #GP being delivered, and the exit's own instruction faults too. */
	fake_vmcs_set(VMCS_IDT_VECTORING_INFO, GP_INFO);
	fake_vmcs_set(VMCS_IDT_VECTORING_ERROR_CODE, 0x18);
	g->gpr[t_reg] = CR0_PG; /* PG without PE: #GP */
	return h_exit_cr(0, 0, t_reg, 0);
}

/* kvm_multiple_exception(): contributory then contributory is #DF (error code 0). */
static void test_contributory_pair_is_double_fault(void)
{
	h_step steps[] = {step_vectoring_gp_then_cr0_gp, step_observe};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	h_steps(steps, 2);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(h_delivered[1].info, INFO_VALID | TYPE_HW | 1u << 11 | 8);
	CHECK_EQ(h_delivered[1].error, 0);
}

/*
 * kvm_set_cpuid(): after the first KVM_RUN, KVM_SET_CPUID2 takes only the
 * table the vCPU already has (kvm_cpuid_check_equal), else EINVAL; what
 * KVM_GET_CPUID2 returned, per-vCPU fields included, counts as equal.
 */
static void test_set_cpuid_after_run(void)
{
	static struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[80];
	} t, before;
	h_step steps[] = {step_observe};
	size_t len;
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	t.h.nent = 80;
	CHECK_EQ(h_cpu(vm, 0, KVM_GET_CPUID2, &t, sizeof(t)), 0);
	len = sizeof(t.h) + t.h.nent * sizeof(t.e[0]);
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_CPUID2, &t, len), 0); /* before any run: anything valid */
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	before = t;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_CPUID2, &t, len), 0);
	t.e[0].eax ^= 1; /* another maximum basic leaf */
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_CPUID2, &t, len), -HV_EINVAL);
	t = before;
	t.h.nent--;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_CPUID2, &t, len - sizeof(t.e[0])), -HV_EINVAL);
	t.h.nent = 80;
	CHECK_EQ(h_cpu(vm, 0, KVM_GET_CPUID2, &t, sizeof(t)), 0);
	CHECK(!memcmp(&t, &before, len));
}

/* ---- I/O --------------------------------------------------------------------- */

static uint32_t step_out(struct fake_guest *g)
{
	g->gpr[GPR_RAX] = 0x11223344;
	return h_exit_io(0x3f8, 2, false, false, false, 1);
}

static uint32_t step_in(struct fake_guest *g)
{
	g->gpr[GPR_RAX] = 0xaaaaaaaaaaaaaaaaull;
	return h_exit_io(0x60, (unsigned)t_val, true, false, false, 2);
}

static void test_io_out(void)
{
	h_step steps[] = {step_out};
	struct kvm_run *run;
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	run = h_run_page(vm, 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_IO);
	CHECK_EQ(run->io.direction, KVM_EXIT_IO_OUT);
	CHECK_EQ(run->io.port, 0x3f8);
	CHECK_EQ(run->io.size, 2);
	CHECK_EQ(run->io.count, 1);
	CHECK_EQ(*(uint16_t *)((uint8_t *)run + run->io.data_offset), 0x3344);
	run->immediate_exit = 1;
	CHECK_EQ(run0(vm), -HV_EINTR);
	CHECK_EQ(regs_of(vm).rip, RIP0 + 1);
	CHECK_EQ(h_steps_done(), 1);
}

static void test_io_in_completion(void)
{
	static const struct {
		unsigned size;
		uint64_t want;
	} cases[] = {
	    {1, 0xaaaaaaaaaaaaaa78ull},
	    {2, 0xaaaaaaaaaaaa5678ull},
	    {4, 0x0000000012345678ull}, /* IN EAX zero-extends */
	};

	for (unsigned i = 0; i < 3; i++) {
		h_step steps[] = {step_in};
		struct kvm_run *run;
		uint32_t vm;

		h_reset();
		vm = vm_in(H_PROT32, 2);
		t_val = cases[i].size;
		h_steps(steps, 1);
		CHECK_EQ(run0(vm), 0);
		run = h_run_page(vm, 0);
		CHECK_EQ(run->exit_reason, KVM_EXIT_IO);
		CHECK_EQ(run->io.direction, KVM_EXIT_IO_IN);
		CHECK_EQ(regs_of(vm).rip, RIP0); /* not done before the data comes */
		memcpy((uint8_t *)run + run->io.data_offset, "\x78\x56\x34\x12", 4);
		/* immediate_exit: the IN completes, the guest does not run. */
		run->immediate_exit = 1;
		CHECK_EQ(run0(vm), -HV_EINTR);
		CHECK_EQ(run->exit_reason, KVM_EXIT_IO); /* kept, as upstream */
		CHECK_EQ(regs_of(vm).rax, cases[i].want);
		CHECK_EQ(regs_of(vm).rip, RIP0 + 2);
		run->immediate_exit = 0;
		CHECK_EQ(h_steps_done(), 1);
	}
}

static uint32_t step_rep_ins(struct fake_guest *g)
{
	g->gpr[GPR_RCX] = 3;
	g->gpr[GPR_RDI] = 0x2000;
	fake_vmcs_set(VMCS_GUEST_LINEAR_ADDRESS, 0x2000);
	fake_vmcs_set(VMCS_EXIT_INSTRUCTION_INFO, 1u << 7); /* 32-bit addresses */
	return h_exit_io(0x1f0, 2, true, true, true, 2);
}

static uint32_t step_rep_outs(struct fake_guest *g)
{
	g->gpr[GPR_RCX] = 4;
	g->gpr[GPR_RSI] = 0x3ffe; /* two bytes before a page boundary */
	fake_vmcs_set(VMCS_GUEST_LINEAR_ADDRESS, 0x3ffe);
	fake_vmcs_set(VMCS_EXIT_INSTRUCTION_INFO, 1u << 7);
	return h_exit_io(0x1f0, 1, false, true, true, 2);
}

static void test_string_io(void)
{
	h_step ins[] = {step_rep_ins};
	h_step outs[] = {step_rep_outs};
	struct kvm_run *run;
	struct kvm_regs r;
	uint8_t buf[6];
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	h_steps(ins, 1);
	CHECK_EQ(run0(vm), 0);
	run = h_run_page(vm, 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_IO);
	CHECK_EQ(run->io.count, 3);
	memcpy((uint8_t *)run + run->io.data_offset, "abcdef", 6);
	run->immediate_exit = 1;
	CHECK_EQ(run0(vm), -HV_EINTR);
	run->immediate_exit = 0;
	CHECK_EQ(vm_read_gpa(kvm_api_vm(vm), 0x2000, buf, 6), 0);
	CHECK(!memcmp(buf, "abcdef", 6));
	r = regs_of(vm);
	CHECK_EQ(r.rdi, 0x2006);
	CHECK_EQ(r.rcx, 0);
	CHECK_EQ(r.rip, RIP0 + 2);

	/* OUTS stops at the page boundary; the REP goes on (RIP stays). */
	vm = vm_in(H_PROT32, 2);
	CHECK_EQ(vm_write_gpa(kvm_api_vm(vm), 0x3ffe, "XY", 2), 0);
	h_steps(outs, 1);
	CHECK_EQ(run0(vm), 0);
	run = h_run_page(vm, 0);
	CHECK_EQ(run->io.count, 2);
	CHECK(!memcmp((uint8_t *)run + run->io.data_offset, "XY", 2));
	r = regs_of(vm);
	CHECK_EQ(r.rsi, 0x4000);
	CHECK_EQ(r.rcx, 2);
	CHECK_EQ(r.rip, RIP0);
}

/* ---- other exits -------------------------------------------------------------- */

static uint32_t step_cpuid1(struct fake_guest *g)
{
	g->gpr[GPR_RAX] = 1;
	g->gpr[GPR_RCX] = 0;
	return h_exit_insn(EXIT_REASON_CPUID, 2);
}

static void test_cpuid_leaf1(void)
{
	h_step steps[] = {step_cpuid1, step_observe};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	h_steps(steps, 2);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(seen.rcx & (1u << 5), 0);	   /* VMX hidden */
	CHECK_EQ(seen.rcx & (1u << 31), 1u << 31); /* a hypervisor */
	CHECK_EQ(seen.rcx & (1u << 27), 0);	   /* OSXSAVE follows the guest's CR4 */
	t_val = CR4_OSXSAVE;
	CHECK_EQ(cr_write(vm, step_mov_cr4), 1);
	h_steps(steps, 2);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(seen.rcx & (1u << 27), 1u << 27);
}

static uint32_t step_cpuid_cpl3(struct fake_guest *g)
{
	/* CPL is SS.DPL: the guest is in ring 3 when it runs CPUID. */
	fake_vmcs_set(VMCS_GUEST_SS_AR, fake_vmcs_get(VMCS_GUEST_SS_AR) | 3u << 5);
	g->gpr[GPR_RAX] = 0;
	return h_exit_insn(EXIT_REASON_CPUID, 2);
}

/*
 * kvm_emulate_cpuid(): with CPUID faulting on (MSR_MISC_FEATURES_ENABLES
 * bit 0, offered by MSR_PLATFORM_INFO bit 31), CPUID at CPL 3 is #GP and
 * RIP stays; with it off, CPL 3 gets its answer.
 */
static void test_cpuid_faulting(void)
{
	h_step steps[] = {step_cpuid_cpl3, step_observe};
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = {.h.nmsrs = 1, .e = {.index = 0x140, .data = 1}};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	at_rip0(vm);
	h_steps(steps, 2);
	CHECK_EQ(run0(vm), 0);
	CHECK(!h_delivered[1].valid);
	CHECK_EQ(seen.rip, RIP0 + 2);
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_MSRS, &m, sizeof(m)), 1);
	at_rip0(vm);
	h_steps(steps, 2);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(h_delivered[1].info, GP_INFO);
	CHECK_EQ(seen.rip, RIP0);
}

static uint32_t step_xsetbv(struct fake_guest *g)
{
	g->gpr[GPR_RCX] = 0;
	g->gpr[GPR_RAX] = (uint32_t)t_val;
	g->gpr[GPR_RDX] = t_val >> 32;
	return h_exit_insn(EXIT_REASON_XSETBV, 3);
}

static void test_xsetbv(void)
{
	static const uint64_t bad[] = {0, 2, 5, 1ull << 9, 1ull << 63};
	h_step steps[] = {step_xsetbv, step_observe};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	t_val = CR4_OSXSAVE;
	CHECK_EQ(cr_write(vm, step_mov_cr4), 1);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t_val = bad[i];
		at_rip0(vm);
		h_steps(steps, 2);
		CHECK_EQ(run0(vm), 0);
		CHECK_EQ(h_delivered[1].info, GP_INFO);
	}
	t_val = 7;
	at_rip0(vm);
	h_steps(steps, 2);
	CHECK_EQ(run0(vm), 0);
	CHECK(!h_delivered[1].valid);
	CHECK_EQ(fake_xcr0(), 7);
}

static uint32_t step_unknown(struct fake_guest *g)
{
	(void)g;
	fake_vmcs_set(VMCS_EXIT_QUALIFICATION, 0x77);
	return 71; /* no such basic reason */
}

static uint32_t step_bad_guest(struct fake_guest *g)
{
	(void)g;
	fake_vmcs_set(VMCS_GUEST_RFLAGS, 0); /* bit 1 must be 1 */
	return h_exit_insn(EXIT_REASON_PAUSE, 2);
}

static void test_unknown_exit_and_entry_failure(void)
{
	h_step steps[] = {step_unknown};
	h_step bad[] = {step_bad_guest};
	struct kvm_run *run;
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	run = h_run_page(vm, 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_INTERNAL_ERROR);
	CHECK_EQ(run->internal.suberror, KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON);
	CHECK_EQ(run->internal.ndata, 2);
	CHECK_EQ(run->internal.data[0], 71);
	CHECK_EQ(run->internal.data[1], 0x77);

	h_steps(bad, 1);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_FAIL_ENTRY);
	CHECK_EQ(run->fail_entry.hardware_entry_failure_reason, 0x80000000u | 33);
}

/* ---- register sets ---------------------------------------------------------- */

static void test_regs_roundtrip(void)
{
	struct kvm_regs r, out;
	uint64_t *w = (uint64_t *)&r;
	uint32_t vm;

	h_reset();
	vm = vm_in(H_LONG64, 2);
	for (unsigned i = 0; i < sizeof(r) / 8; i++)
		w[i] = 0x0101010101010101ull * (i + 1);
	r.rflags = ~0ull;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_REGS, &r, sizeof(r)), 0);
	out = regs_of(vm);
	r.rflags = 0x3f7fd7; /* reserved bits clear, bit 1 set */
	CHECK(!memcmp(&r, &out, sizeof(r)));
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_REGS, &r, sizeof(r) - 1), -HV_EFAULT);
}

static void test_sregs_roundtrip(void)
{
	enum h_mode modes[] = {H_REAL, H_PROT32, H_PAE32, H_LONG64};

	for (unsigned m = 0; m < 4; m++) {
		struct kvm_sregs s, out;
		uint32_t vm;

		h_reset();
		vm = vm_in(modes[m], 2);
		s = sregs_of(vm);
		s.gdt = (struct kvm_dtable){.base = 0x5000, .limit = 0x37};
		s.idt = (struct kvm_dtable){.base = 0x6000, .limit = 0xfff};
		s.cr2 = 0x1234;
		s.apic_base = 0xfee00900;
		s.fs.base = 0x7000;
		s.interrupt_bitmap[1] = 1ull << 3; /* vector 67 pending */
		CHECK_EQ(h_cpu(vm, 0, KVM_SET_SREGS, &s, sizeof(s)), 0);
		out = sregs_of(vm);
		CHECK(!memcmp(&s, &out, sizeof(s)));
	}
}

static void test_sregs_refused_change_nothing(void)
{
	struct kvm_sregs good, s, out;
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	good = sregs_of(vm);
	s = good;
	s.cr0 = CR0_PG | CR0_ET; /* PG without PE */
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_SREGS, &s, sizeof(s)), -HV_EINVAL);
	s = good;
	s.cr0 |= CR0_NW;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_SREGS, &s, sizeof(s)), -HV_EINVAL);
	s = good;
	s.efer = 1u << 2;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_SREGS, &s, sizeof(s)), -HV_EINVAL);
	s = good;
	s.cr4 = CR4_VMXE;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_SREGS, &s, sizeof(s)), -HV_EINVAL);
	s = good;
	s.efer = EFER_LME;
	s.cr0 |= CR0_PG; /* long mode without PAE */
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_SREGS, &s, sizeof(s)), -HV_EINVAL);
	s = good;
	s.cr0 |= 1ull << 32;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_SREGS, &s, sizeof(s)), -HV_EINVAL);
	out = sregs_of(vm);
	CHECK(!memcmp(&good, &out, sizeof(good)));
}

/* With unrestricted guest upstream sets the accessed bit of every
 * segment type but LDTR's (__vmx_set_segment), which VM entry needs. */
static void test_sregs_accessed_bit(void)
{
	struct kvm_sregs s;
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	s = sregs_of(vm);
	s.ds.type = 2;
	s.cs.type = 10;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_SREGS, &s, sizeof(s)), 0);
	s = sregs_of(vm);
	CHECK_EQ(s.ds.type, 3);
	CHECK_EQ(s.cs.type, 11);
}

static void test_no_leak_after_destroy(void)
{
	uint32_t vm;
	uint64_t id = 1;

	h_reset();
	CHECK_EQ(h_pages_held(), 0);
	vm = vm_in(H_PROT32, 2);
	CHECK_EQ(h_vm(vm, KVM_CREATE_VCPU, &id, sizeof(id)), 1);
	CHECK(h_pages_held() > 0);
	CHECK_EQ(kvm_api_destroy_vm(vm), 0);
	CHECK_EQ(h_pages_held(), 0);
	CHECK_EQ(fake_mm_bad_frees, 0);
}

/* A second KVM_CREATE_VCPU with the same id: -EEXIST, nothing held (upstream). */
static void test_duplicate_vcpu_id_leaks_nothing(void)
{
	uint32_t vm;
	uint64_t id = 0;
	int64_t held;

	h_reset();
	vm = h_vm_with_vcpu(MEM);
	held = h_pages_held();
	CHECK_EQ(h_vm(vm, KVM_CREATE_VCPU, &id, sizeof(id)), -HV_EEXIST);
	CHECK_EQ(h_pages_held(), held);
}

/* ---- FPU, debug registers, guest debugging ------------------------------- */

static void set_xmm0(uint32_t vm, uint32_t id, uint8_t pattern)
{
	struct kvm_fpu f;

	if (h_cpu(vm, id, KVM_GET_FPU, &f, sizeof(f)))
		abort();
	memset(f.xmm[0], pattern, 16);
	f.fcw = 0x27f;
	if (h_cpu(vm, id, KVM_SET_FPU, &f, sizeof(f)))
		abort();
}

static uint32_t step_guest_sse(struct fake_guest *g)
{
	(void)g;
	/* The guest writes XMM0 (160 is XMM0 in the FXSAVE image). */
	memset(fake_fpu_image_mut() + 160, 0x5a, 16);
	return h_exit_insn(EXIT_REASON_HLT, 1);
}

static void test_fpu_state_follows_its_vcpu(void)
{
	h_step steps[] = {step_guest_sse};
	struct kvm_fpu f;
	uint64_t id = 1;
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	CHECK_EQ(h_vm(vm, KVM_CREATE_VCPU, &id, sizeof(id)), 1);
	CHECK_EQ(h_cpu(vm, 0, KVM_GET_FPU, &f, sizeof(f)), 0);
	CHECK_EQ(f.fcw, 0x37f); /* reset state */
	CHECK_EQ(f.mxcsr, 0x1f80);
	set_xmm0(vm, 0, 0x11);
	set_xmm0(vm, 1, 0x22);
	CHECK_EQ(h_cpu(vm, 0, KVM_GET_FPU, &f, sizeof(f)), 0);
	CHECK_EQ(f.xmm[0][15], 0x11);
	CHECK_EQ(f.fcw, 0x27f);
	/* What the guest does to XMM0 while vCPU 0 runs stays with vCPU 0. */
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(h_cpu(vm, 1, KVM_GET_FPU, &f, sizeof(f)), 0);
	CHECK_EQ(f.xmm[0][0], 0x22);
	CHECK_EQ(h_cpu(vm, 0, KVM_GET_FPU, &f, sizeof(f)), 0);
	CHECK_EQ(f.xmm[0][0], 0x5a);
	/* A reserved MXCSR bit: refused, nothing changed. */
	f.mxcsr = 1u << 16;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_FPU, &f, sizeof(f)), -HV_EINVAL);
	CHECK_EQ(h_cpu(vm, 0, KVM_GET_FPU, &f, sizeof(f)), 0);
	CHECK_EQ(f.mxcsr, 0x1f80);
}

static void test_debugregs_follow_their_vcpu(void)
{
	struct kvm_debugregs d, out;
	uint64_t id = 1;
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	CHECK_EQ(h_vm(vm, KVM_CREATE_VCPU, &id, sizeof(id)), 1);
	memset(&d, 0, sizeof(d));
	d.db[0] = 0x1000;
	d.db[3] = 0xffff800000000000ull;
	d.dr6 = 0xffff0ff1;
	d.dr7 = 0x401;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_DEBUGREGS, &d, sizeof(d)), 0);
	CHECK_EQ(h_cpu(vm, 1, KVM_GET_DEBUGREGS, &out, sizeof(out)), 0);
	CHECK_EQ(out.db[0], 0);
	CHECK_EQ(h_cpu(vm, 0, KVM_GET_DEBUGREGS, &out, sizeof(out)), 0);
	CHECK_EQ(out.db[0], 0x1000);
	CHECK_EQ(out.db[3], 0xffff800000000000ull);
	CHECK_EQ(out.dr6 & 0xf, 1);
	CHECK_EQ(out.dr7, 0x401);
	CHECK_EQ(fake_vmcs_get(VMCS_GUEST_DR7), 0x401);
	/* Refused: flags, bits 63:32 of DR6 or DR7 (nothing reaches the CPU). */
	d.flags = 1;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_DEBUGREGS, &d, sizeof(d)), -HV_EINVAL);
	d.flags = 0;
	d.dr6 = 1ull << 32;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_DEBUGREGS, &d, sizeof(d)), -HV_EINVAL);
	d.dr6 = 0;
	d.dr7 = 1ull << 40;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_DEBUGREGS, &d, sizeof(d)), -HV_EINVAL);
	CHECK_EQ(h_cpu(vm, 0, KVM_GET_DEBUGREGS, &out, sizeof(out)), 0);
	CHECK_EQ(out.db[0], 0x1000);
}

/* Upstream keeps DR6 and DR7 as KVM_SET_DEBUGREGS gave them
 * (kvm_vcpu_ioctl_x86_set/get_debugregs): no fixed bits ORed in. */
static void test_debugregs_exact_roundtrip(void)
{
	struct kvm_debugregs d, out;
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	memset(&d, 0, sizeof(d));
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_DEBUGREGS, &d, sizeof(d)), 0);
	CHECK_EQ(h_cpu(vm, 0, KVM_GET_DEBUGREGS, &out, sizeof(out)), 0);
	CHECK_EQ(out.dr6, 0);
	CHECK_EQ(out.dr7, 0);
}

/*
 * INS/OUTS address-size encodings 3-7 are undefined (SDM table 28-8): an
 * exit that claims one is an emulation error, never a shift past 64 bits.
 */
static uint32_t step_outs_bad_asz(struct fake_guest *g)
{
	uint32_t reason = h_exit_io(0x80, 1, false, true, true, 2);

	(void)g;
	fake_vmcs_set(VMCS_EXIT_INSTRUCTION_INFO, 5u << 7);
	return reason;
}

static void test_string_io_undefined_address_size(void)
{
	h_step steps[] = {step_outs_bad_asz};
	struct kvm_run *run;
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	at_rip0(vm);
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	run = h_run_page(vm, 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_INTERNAL_ERROR);
	CHECK_EQ(run->internal.suberror, KVM_INTERNAL_ERROR_EMULATION);
}

static uint32_t step_int3(struct fake_guest *g)
{
	(void)g;
	fake_vmcs_set(VMCS_EXIT_INTR_INFO, INFO_VALID | 6u << 8 | 3);
	return h_exit_insn(EXIT_REASON_EXCEPTION_NMI, 1);
}

static void test_int3_exits_to_debugger(void)
{
	struct kvm_guest_debug dbg = {.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP};
	h_step steps[] = {step_int3};
	h_step after[] = {step_observe};
	struct kvm_run *run;
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_GUEST_DEBUG, &dbg, sizeof(dbg)), 0);
	CHECK(fake_vmcs_get(VMCS_EXCEPTION_BITMAP) & (1u << 3));
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	run = h_run_page(vm, 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_DEBUG);
	CHECK_EQ(run->debug.arch.exception, 3);
	CHECK_EQ(run->debug.arch.pc, RIP0);
	/* Handed back to the guest: a software exception of the INT3's length. */
	dbg.control |= KVM_GUESTDBG_INJECT_BP;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_GUEST_DEBUG, &dbg, sizeof(dbg)), 0);
	h_steps(after, 1);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(h_delivered[0].info, INFO_VALID | 6u << 8 | 3);
	CHECK_EQ(h_delivered[0].len, 1);
	dbg.control = KVM_GUESTDBG_USE_SW_BP; /* without ENABLE */
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_GUEST_DEBUG, &dbg, sizeof(dbg)), -HV_EINVAL);
}

/* ---- MMIO ------------------------------------------------------------------- */

static uint32_t step_ept(struct fake_guest *g)
{
	g->gpr[GPR_RAX] = t_val2;
	fake_vmcs_set(VMCS_GUEST_PHYSICAL_ADDRESS, 0x200000);
	fake_vmcs_set(VMCS_GUEST_LINEAR_ADDRESS, 0x200000);
	fake_vmcs_set(VMCS_EXIT_QUALIFICATION, (t_val ? 2 : 1) | 0x80);
	return EXIT_REASON_EPT_VIOLATION;
}

/*
 * handle_emulation_failure / prepare_emulation_failure_exit: an MMIO
 * instruction the decoder does not know (FLD m32 here) exits with
 * KVM_INTERNAL_ERROR_EMULATION, the instruction's bytes (flag 1, NOPs
 * after them) and the exit information: ndata 8. Without
 * KVM_CAP_EXIT_ON_EMULATION_FAILURE a #UD is queued too (CPL 0: and the
 * run exits); with it, only the exit.
 */
static void test_mmio_emulation_failure(void)
{
	static const uint8_t fld[] = {0xd9, 0x05, 0x00, 0x00, 0x20, 0x00}; /* fld [0x200000] */
	struct kvm_enable_cap cap = {.cap = KVM_CAP_EXIT_ON_EMULATION_FAILURE, .args = {1}};
	h_step steps[] = {step_ept};
	struct kvm_vcpu_events ev;
	struct kvm_run *run;
	uint32_t vm;

	for (int with_cap = 0; with_cap < 2; with_cap++) {
		h_reset();
		vm = vm_in(H_PROT32, 2);
		run = h_run_page(vm, 0);
		if (with_cap)
			CHECK_EQ(h_vm(vm, KVM_ENABLE_CAP, &cap, sizeof(cap)), 0);
		CHECK_EQ(vm_write_gpa(kvm_api_vm(vm), RIP0, fld, sizeof(fld)), 0);
		t_val = 0;
		h_steps(steps, 1);
		CHECK_EQ(run0(vm), 0);
		CHECK_EQ(run->exit_reason, KVM_EXIT_INTERNAL_ERROR);
		CHECK_EQ(run->emulation_failure.suberror, KVM_INTERNAL_ERROR_EMULATION);
		CHECK_EQ(run->emulation_failure.ndata, 8);
		CHECK_EQ(run->emulation_failure.flags,
			 KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES);
		CHECK(run->emulation_failure.insn_size >= sizeof(fld));
		CHECK(!memcmp(run->emulation_failure.insn_bytes, fld, sizeof(fld)));
		CHECK_EQ(run->internal.data[3], EXIT_REASON_EPT_VIOLATION);
		CHECK_EQ(run->internal.data[4], 0x81);
		CHECK_EQ(h_cpu(vm, 0, KVM_GET_VCPU_EVENTS, &ev, sizeof(ev)), 0);
		CHECK_EQ(ev.exception.pending || ev.exception.injected, !with_cap);
		if (!with_cap)
			CHECK_EQ(ev.exception.nr, 6); /* #UD */
	}
	cap.args[0] = 2; /* kvm_vm_ioctl_enable_cap: 0 or 1 */
	CHECK_EQ(h_vm(vm, KVM_ENABLE_CAP, &cap, sizeof(cap)), -HV_EINVAL);
	CHECK_EQ(h_sys(KVM_CHECK_EXTENSION, &(uint64_t){KVM_CAP_EXIT_ON_EMULATION_FAILURE}, 8), 1);
}

static void test_mmio_write_and_read(void)
{
	static const uint8_t store[] = {0x89, 0x05, 0x00,
					0x00, 0x20, 0x00}; /* mov [0x200000], eax */
	static const uint8_t load[] = {0x8b, 0x05, 0x00,
				       0x00, 0x20, 0x00}; /* mov eax, [0x200000] */
	h_step steps[] = {step_ept};
	struct kvm_run *run;
	uint32_t vm;

	h_reset();
	vm = vm_in(H_PROT32, 2);
	run = h_run_page(vm, 0);
	CHECK_EQ(vm_write_gpa(kvm_api_vm(vm), RIP0, store, sizeof(store)), 0);
	t_val = 1;
	t_val2 = 0x11223344;
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_MMIO);
	CHECK_EQ(run->mmio.phys_addr, 0x200000);
	CHECK_EQ(run->mmio.len, 4);
	CHECK_EQ(run->mmio.is_write, 1);
	CHECK(!memcmp(run->mmio.data, "\x44\x33\x22\x11", 4));
	run->immediate_exit = 1;
	CHECK_EQ(run0(vm), -HV_EINTR);
	run->immediate_exit = 0;
	CHECK_EQ(regs_of(vm).rip, RIP0 + 6);

	vm = vm_in(H_PROT32, 2);
	run = h_run_page(vm, 0);
	CHECK_EQ(vm_write_gpa(kvm_api_vm(vm), RIP0, load, sizeof(load)), 0);
	t_val = 0;
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_MMIO);
	CHECK_EQ(run->mmio.is_write, 0);
	CHECK_EQ(run->mmio.len, 4);
	memcpy(run->mmio.data, "\x78\x56\x34\x12", 4);
	run->immediate_exit = 1;
	CHECK_EQ(run0(vm), -HV_EINTR);
	run->immediate_exit = 0;
	CHECK_EQ(regs_of(vm).rax, 0x12345678);
	CHECK_EQ(regs_of(vm).rip, RIP0 + 6);

	/* 64-bit code (identity-mapped with 2 MiB pages): a 32-bit load zero-extends. */
	{
		static const uint8_t load64[] = {0x8b, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00};
		uint64_t pml4e = 0x11003, pdpte = 0x12003, pde = 0x83;

		vm = vm_in(H_LONG64, 2);
		run = h_run_page(vm, 0);
		CHECK_EQ(vm_write_gpa(kvm_api_vm(vm), 0x10000, &pml4e, 8), 0);
		CHECK_EQ(vm_write_gpa(kvm_api_vm(vm), 0x11000, &pdpte, 8), 0);
		CHECK_EQ(vm_write_gpa(kvm_api_vm(vm), 0x12000, &pde, 8), 0);
		CHECK_EQ(vm_write_gpa(kvm_api_vm(vm), RIP0, load64, sizeof(load64)), 0);
		t_val2 = 0xaabbccdd00000000ull;
		h_steps(steps, 1);
		CHECK_EQ(run0(vm), 0);
		CHECK_EQ(run->exit_reason, KVM_EXIT_MMIO);
		CHECK_EQ(run->mmio.len, 4);
		memcpy(run->mmio.data, "\x78\x56\x34\x12", 4);
		run->immediate_exit = 1;
		CHECK_EQ(run0(vm), -HV_EINTR);
		run->immediate_exit = 0;
		CHECK_EQ(regs_of(vm).rax, 0x12345678);
		CHECK_EQ(regs_of(vm).rip, RIP0 + 7);
	}
}

/* ---- sync regs, memory regions ------------------------------------------------ */

static void test_sync_regs(void)
{
	h_step steps[] = {step_observe};
	struct kvm_run *run;
	uint64_t cap = KVM_CAP_SYNC_REGS;
	long mask = h_sys(KVM_CHECK_EXTENSION, &cap, sizeof(cap));
	uint32_t vm;

	h_reset();
	CHECK(mask & KVM_SYNC_X86_REGS);
	vm = vm_in(H_PROT32, 2);
	run = h_run_page(vm, 0);
	run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(run->s.regs.regs.rip, RIP0 + 1);
	CHECK_EQ(run->s.regs.sregs.cr0, CR0_PE | CR0_ET | CR0_NE);
	/* Dirty REGS go in before the entry. */
	run->s.regs.regs.rax = 0x1234;
	run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(seen.rax, 0x1234);
	CHECK_EQ(run->kvm_dirty_regs, 0);
	/* An unknown bit: EINVAL, the guest does not run. */
	run->kvm_dirty_regs = 1ull << 40;
	h_steps(steps, 1);
	CHECK_EQ(run0(vm), -HV_EINVAL);
	CHECK_EQ(h_steps_done(), 0);
	run->kvm_dirty_regs = 0;
	run->kvm_valid_regs = (uint64_t)mask + 1 + (uint64_t)mask;
	CHECK_EQ(run0(vm), -HV_EINVAL);
	CHECK_EQ(h_steps_done(), 0);
}

static long region(uint32_t vm, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size)
{
	struct kvm_userspace_memory_region r = {
	    .slot = slot,
	    .flags = flags,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	};

	return h_vm(vm, KVM_SET_USER_MEMORY_REGION, &r, sizeof(r));
}

static void test_memory_region_checks(void)
{
	long vm;
	int64_t held;

	h_reset();
	vm = h_sys(KVM_CREATE_VM, NULL, 0);
	CHECK(vm > 0);
	CHECK_EQ(region(vm, 0, 0, 0, 0x10000), 0);
	held = h_pages_held();
	CHECK_EQ(region(vm, 1, 0, 0x8000, 0x10000), -HV_EEXIST);	       /* overlap */
	CHECK_EQ(region(vm, 1, 0, 0x10800, 0x1000), -HV_EINVAL);	       /* unaligned */
	CHECK_EQ(region(vm, 1, 0, 0xfffffffffffff000ull, 0x2000), -HV_EINVAL); /* wraps */
	CHECK_EQ(region(vm, 1, 4, 0x20000, 0x1000), -HV_EINVAL);	       /* unknown flag */
	CHECK_EQ(region(vm, 8, 0, 0x20000, 0x1000), -HV_EINVAL);	       /* no such slot */
	CHECK_EQ(region(vm, 0, 0, 0, 0x20000), -HV_EINVAL); /* a slot cannot grow */
	CHECK_EQ(h_pages_held(), held);
	/* Move, then read-only elsewhere, then delete. */
	CHECK_EQ(region(vm, 0, 0, 0x100000, 0x10000), 0);
	CHECK(vm_gpa_to_hva(kvm_api_vm(vm), 0x100000, 0x10000));
	CHECK(!vm_gpa_to_hva(kvm_api_vm(vm), 0, 1));
	CHECK_EQ(region(vm, 1, KVM_MEM_READONLY, 0, 0x2000), 0);
	CHECK_EQ(region(vm, 0, 0, 0x100000, 0), 0);
	CHECK(!vm_gpa_to_hva(kvm_api_vm(vm), 0x100000, 1));
	CHECK_EQ(region(vm, 1, KVM_MEM_READONLY, 0, 0), 0);
	CHECK_EQ(kvm_api_destroy_vm(vm), 0);
	CHECK_EQ(h_pages_held(), 0);
	CHECK_EQ(fake_mm_bad_frees, 0);
}

static void test_vm_and_vcpu_limits(void)
{
	uint64_t id;
	long vm;

	h_reset();
	for (unsigned i = 0; i < KVM_API_MAX_VMS; i++)
		CHECK(h_sys(KVM_CREATE_VM, NULL, 0) > 0);
	CHECK_EQ(h_sys(KVM_CREATE_VM, NULL, 0), -HV_ENOSPC);
	h_reset();
	vm = h_sys(KVM_CREATE_VM, NULL, 0);
	/* The limits KVM_CHECK_EXTENSION states are the ones KVM_CREATE_VCPU applies. */
	id = KVM_CAP_MAX_VCPUS;
	CHECK_EQ(h_sys(KVM_CHECK_EXTENSION, &id, sizeof(id)), VM_MAX_VCPUS);
	id = KVM_CAP_MAX_VCPU_ID;
	CHECK_EQ(h_sys(KVM_CHECK_EXTENSION, &id, sizeof(id)), VM_MAX_VCPUS);
	id = KVM_CAP_NR_VCPUS;
	CHECK_EQ(h_sys(KVM_CHECK_EXTENSION, &id, sizeof(id)), VM_MAX_VCPUS);
	id = VM_MAX_VCPUS;
	CHECK_EQ(h_vm(vm, KVM_CREATE_VCPU, &id, sizeof(id)), -HV_EINVAL);
	CHECK_EQ(h_pages_held() > 0, 1);
	/* Highest id first: ids need not come in order. */
	for (id = VM_MAX_VCPUS; id-- > 0;)
		CHECK_EQ(h_vm(vm, KVM_CREATE_VCPU, &id, sizeof(id)), (long)id);
	CHECK_EQ(kvm_api_vm(vm)->n_vcpus, VM_MAX_VCPUS);
	/* kvm_vm_ioctl_create_vcpu(): a full VM is EINVAL before a duplicate id is EEXIST. */
	id = 0;
	CHECK_EQ(h_vm(vm, KVM_CREATE_VCPU, &id, sizeof(id)), -HV_EINVAL);
	id = 4;
	CHECK_EQ(h_cpu(vm, VM_MAX_VCPUS, KVM_GET_REGS, NULL, 0), -HV_EBADF);
	CHECK_EQ(h_vm(vm + 1, KVM_CREATE_VCPU, &id, sizeof(id)), -HV_EBADF);
	CHECK_EQ(h_vm(vm, 0xdead, NULL, 0), -HV_ENOTTY);
	CHECK_EQ(h_cpu(vm, 0, 0xdead, NULL, 0), -HV_EINVAL);
	CHECK_EQ(h_sys(0xdead, NULL, 0), -HV_EINVAL);
}

/* A vCPU that cannot be completed because memory runs out leaks nothing. */
static void test_vcpu_create_out_of_memory(void)
{
	long vm;
	uint64_t id = 0;

	h_reset();
	vm = h_sys(KVM_CREATE_VM, NULL, 0);
	CHECK(vm > 0);
	for (unsigned n = 1; n < 12; n++) {
		int64_t held = h_pages_held();
		long rc;

		fake_mm_fail_nth(n);
		rc = h_vm(vm, KVM_CREATE_VCPU, &id, sizeof(id));
		fake_mm_fail_nth(0);
		if (rc == 0)
			break;
		CHECK_EQ(rc, -HV_ENOMEM);
		CHECK_EQ(h_pages_held(), held);
	}
	CHECK_EQ(fake_mm_bad_frees, 0);
}

/* ---- KVM_X86_SET_MSR_FILTER and KVM_CAP_X86_USER_SPACE_MSR ---------- */

static long user_space_msr(uint32_t vm, uint64_t reasons)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_X86_USER_SPACE_MSR, .args = {reasons}};

	return h_vm(vm, KVM_ENABLE_CAP, &cap, sizeof(cap));
}

/*
 * kvm_msr_allowed, kvm_get/set_msr_with_filter, kvm_msr_user_space: a
 * denied guest access is #GP, or with KVM_MSR_EXIT_REASON_FILTER an exit
 * whose answer completes the instruction (complete_fast_rdmsr); an MSR not
 * emulated exits for KVM_MSR_EXIT_REASON_UNKNOWN; host accesses bypass the
 * filter; the VMX MSR bitmap passes FS_BASE through only while allowed.
 */
static void test_msr_filter_and_user_space_exits(void)
{
	const struct h_msr_range deny_misc = {KVM_MSR_FILTER_READ, MSR_IA32_MISC_ENABLE, 1, 0};
	const struct h_msr_range deny_fs_read = {KVM_MSR_FILTER_READ, MSR_FS_BASE, 2, 2};
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = {.h.nmsrs = 1, .e.index = MSR_IA32_MISC_ENABLE};
	struct kvm_run *run;
	h_step steps[] = {h_step_rdmsr, step_observe};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_LONG64, 2);
	run = h_run_page(vm, 0);
	/* Passed through until a filter says otherwise; EFER always exits. */
	CHECK(!h_msr_intercepted(vm, 0, MSR_FS_BASE, false) &&
	      !h_msr_intercepted(vm, 0, MSR_FS_BASE, true));
	CHECK(h_msr_intercepted(vm, 0, MSR_IA32_EFER, false) &&
	      h_msr_intercepted(vm, 0, MSR_IA32_EFER, true));
	CHECK_EQ(h_set_msr_filter(vm, KVM_MSR_FILTER_DEFAULT_ALLOW, &deny_fs_read, 1), 0);
	CHECK(h_msr_intercepted(vm, 0, MSR_FS_BASE, false) &&
	      !h_msr_intercepted(vm, 0, MSR_FS_BASE, true));
	CHECK(!h_msr_intercepted(vm, 0, MSR_GS_BASE, false)); /* bit 1 of the range: allowed */

	/* Denied, no user-space exits: #GP; the host still reads it. */
	CHECK_EQ(h_set_msr_filter(vm, KVM_MSR_FILTER_DEFAULT_ALLOW, &deny_misc, 1), 0);
	CHECK(!h_msr_intercepted(vm, 0, MSR_FS_BASE, false));
	CHECK_EQ(msr_insn(vm, h_step_rdmsr, MSR_IA32_MISC_ENABLE, 0), 0);
	CHECK_EQ(h_cpu(vm, 0, KVM_GET_MSRS, &m, sizeof(m)), 1);
	/* With KVM_MSR_EXIT_REASON_FILTER: an exit, answered with data. */
	CHECK_EQ(user_space_msr(vm, 8), -HV_EINVAL);
	CHECK_EQ(user_space_msr(vm, KVM_MSR_EXIT_REASON_FILTER), 0);
	h_msr = MSR_IA32_MISC_ENABLE;
	at_rip0(vm);
	h_steps(steps, 2);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_X86_RDMSR);
	CHECK_EQ(run->msr.reason, KVM_MSR_EXIT_REASON_FILTER);
	CHECK_EQ(run->msr.index, MSR_IA32_MISC_ENABLE);
	CHECK_EQ(run->msr.error, 0);
	run->msr.data = 0x1122334455667788ull;
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(seen.rip, RIP0 + 2);
	CHECK_EQ(seen.rax, 0x55667788);
	CHECK_EQ(seen.rdx, 0x11223344);
	CHECK(!h_delivered[1].valid);
	/* Answered with an error: #GP, RIP stays. */
	at_rip0(vm);
	h_steps(steps, 2);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_X86_RDMSR);
	run->msr.error = 1;
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(h_delivered[1].info, GP_INFO);
	CHECK_EQ(seen.rip, RIP0);
	/* An MSR nobody emulates: UNKNOWN only when asked for. */
	CHECK_EQ(msr_insn(vm, h_step_rdmsr, 0x1234, 0), 0);
	CHECK_EQ(user_space_msr(vm, KVM_MSR_EXIT_REASON_UNKNOWN), 0);
	h_msr = 0x1234;
	at_rip0(vm);
	h_steps(steps, 2);
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_X86_RDMSR);
	CHECK_EQ(run->msr.reason, KVM_MSR_EXIT_REASON_UNKNOWN);
	run->msr.error = 1; /* the next KVM_RUN completes it, as complete_userspace_io */
	CHECK_EQ(run0(vm), 0);
	CHECK_EQ(h_delivered[1].info, GP_INFO);
	/* The filter denied MISC_ENABLE, but FILTER is no longer asked for: #GP. */
	CHECK_EQ(msr_insn(vm, h_step_rdmsr, MSR_IA32_MISC_ENABLE, 0), 0);
	/* Refused filters leave the one in force (and the bitmap) alone. */
	CHECK_EQ(h_set_msr_filter(vm, KVM_MSR_FILTER_DEFAULT_DENY, NULL, 0), -HV_EINVAL);
	CHECK_EQ(h_set_msr_filter(vm, 2, NULL, 0), -HV_EINVAL);
	CHECK_EQ(msr_insn(vm, h_step_rdmsr, MSR_IA32_MISC_ENABLE, 0), 0);
	CHECK_EQ(msr_insn(vm, h_step_rdmsr, MSR_IA32_EFER, 0), 1);
	/* A record cut short is not all there. */
	CHECK_EQ(h_vm(vm, KVM_X86_SET_MSR_FILTER, &m, 16), -HV_EFAULT);
	/* An empty allow-all filter: everything as before. */
	CHECK_EQ(h_set_msr_filter(vm, KVM_MSR_FILTER_DEFAULT_ALLOW, NULL, 0), 0);
	CHECK_EQ(msr_insn(vm, h_step_rdmsr, MSR_IA32_MISC_ENABLE, 0), 1);
	CHECK(!h_msr_intercepted(vm, 0, MSR_FS_BASE, false));
}

/*
 * The guest matrix: MSRs of each kind (passed through when allowed,
 * emulated, unknown, x2APIC without an APIC) x {allowed, denied by the
 * filter} x {user-space exits on, off}: the VMX bitmap bits after each
 * filter change, and what a guest RDMSR gets: its value, #GP, or an exit
 * with the reason kvm_msr_reason() gives (kvm_get_msr_with_filter,
 * kvm_msr_allowed: x2APIC MSRs are never filtered).
 */
static void test_msr_guest_matrix(void)
{
	static const struct {
		uint32_t msr;
		bool passthrough; /* in the bitmap's pass-through set */
		int plain;	  /* without any filter: 1 value, 0 #GP */
		uint32_t reason;  /* the refusal's reason when it is refused unfiltered */
	} m[] = {
	    {MSR_FS_BASE, true, 1, 0},
	    {MSR_IA32_MISC_ENABLE, false, 1, 0},
	    {0x1234, false, 0, KVM_MSR_EXIT_REASON_UNKNOWN},
	    {0x802, false, 0, KVM_MSR_EXIT_REASON_INVAL}, /* x2APIC ID without an APIC */
	};
	struct kvm_run *run;
	h_step steps[] = {h_step_rdmsr, step_observe};
	uint32_t vm;

	h_reset();
	vm = vm_in(H_LONG64, 2);
	run = h_run_page(vm, 0);
	for (unsigned i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		for (int denied = 0; denied < 2; denied++)
			for (int user = 0; user < 2; user++) {
				struct h_msr_range r = {KVM_MSR_FILTER_READ, m[i].msr, 1, !denied};
				bool filtered = denied && m[i].msr != 0x802;
				uint32_t reason =
				    filtered ? KVM_MSR_EXIT_REASON_FILTER : m[i].reason;

				CHECK_EQ(h_set_msr_filter(vm, KVM_MSR_FILTER_DEFAULT_ALLOW, &r, 1),
					 0);
				CHECK_EQ(
				    user_space_msr(vm, user ? KVM_MSR_EXIT_REASON_VALID_MASK : 0),
				    0);
				CHECK_EQ(h_msr_intercepted(vm, 0, m[i].msr, false),
					 !m[i].passthrough || filtered);
				h_msr = m[i].msr;
				at_rip0(vm);
				h_steps(steps, 2);
				CHECK_EQ(run0(vm), 0);
				if (!filtered && m[i].plain) { /* the value, RIP on */
					CHECK_EQ(seen.rip, RIP0 + 2);
					CHECK(!h_delivered[1].valid);
				} else if (!user) { /* #GP */
					CHECK_EQ(h_delivered[1].info, GP_INFO);
					CHECK_EQ(seen.rip, RIP0);
				} else { /* an exit; answered with an error: #GP */
					CHECK_EQ(run->exit_reason, KVM_EXIT_X86_RDMSR);
					CHECK_EQ(run->msr.reason, reason);
					CHECK_EQ(run->msr.index, m[i].msr);
					run->msr.error = 1;
					CHECK_EQ(run0(vm), 0);
					CHECK_EQ(h_delivered[1].info, GP_INFO);
				}
			}
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_cr0_pg_without_pe),
    TEST_ENTRY(test_cr0_nw_without_cd),
    TEST_ENTRY(test_cr0_upper_bits),
    TEST_ENTRY(test_cr0_long_mode_needs_pae),
    TEST_ENTRY(test_cr0_long_mode_refused_with_cs_l),
    TEST_ENTRY(test_cr0_pae_paging_loads_pdptes),
    TEST_ENTRY(test_cr0_lmsw_and_clts),
    TEST_ENTRY(test_cr4_reserved_and_hidden_bits),
    TEST_ENTRY(test_cr4_long_mode_rules),
    TEST_ENTRY(test_cr4_pcide_in_long_mode),
    TEST_ENTRY(test_msr_canonical_bases),
    TEST_ENTRY(test_msr_set_msrs_stops_at_bad_value),
    TEST_ENTRY(test_msr_efer),
    TEST_ENTRY(test_msr_pat_apic_tsc_aux_unknown),
    TEST_ENTRY(test_msr_tsc_aux_without_rdtscp),
    TEST_ENTRY(test_irq_waits_for_if),
    TEST_ENTRY(test_irq_not_injected_in_sti_shadow),
    TEST_ENTRY(test_nmi_blocked_then_window),
    TEST_ENTRY(test_nmi_first_then_irq),
    TEST_ENTRY(test_exception_then_irq_window),
    TEST_ENTRY(test_error_code_delivered_in_protected_mode),
    TEST_ENTRY(test_set_events_refusals_change_nothing),
    TEST_ENTRY(test_idt_vectoring_reinjected),
    TEST_ENTRY(test_io_out),
    TEST_ENTRY(test_io_in_completion),
    TEST_ENTRY(test_string_io),
    TEST_ENTRY(test_cpuid_leaf1),
    TEST_ENTRY(test_xsetbv),
    TEST_ENTRY(test_unknown_exit_and_entry_failure),
    TEST_ENTRY(test_regs_roundtrip),
    TEST_ENTRY(test_sregs_roundtrip),
    TEST_ENTRY(test_sregs_refused_change_nothing),
    TEST_ENTRY(test_no_leak_after_destroy),
    TEST_ENTRY(test_fpu_state_follows_its_vcpu),
    TEST_ENTRY(test_debugregs_follow_their_vcpu),
    TEST_ENTRY(test_int3_exits_to_debugger),
    TEST_ENTRY(test_mmio_write_and_read),
    TEST_ENTRY(test_mmio_emulation_failure),
    TEST_ENTRY(test_sync_regs),
    TEST_ENTRY(test_memory_region_checks),
    TEST_ENTRY(test_vm_and_vcpu_limits),
    TEST_ENTRY(test_vcpu_create_out_of_memory),
    /* Upstream's behaviour, which this hypervisor meets now. */
    TEST_ENTRY(test_no_error_code_in_real_mode),
    TEST_ENTRY(test_error_code_16_bits),
    TEST_ENTRY(test_cr4_pcide_outside_long_mode),
    TEST_ENTRY(test_cr4_pcide_with_cr3_pcid),
    TEST_ENTRY(test_cr0_guest_owned_ts_reported),
    TEST_ENTRY(test_irq_after_nmi_not_delayed),
    TEST_ENTRY(test_duplicate_vcpu_id_leaks_nothing),
    TEST_ENTRY(test_cr0_clear_pg_in_64bit_mode),
    TEST_ENTRY(test_cr0_reserved_low_bits_dropped),
    TEST_ENTRY(test_sregs_accessed_bit),
    TEST_ENTRY(test_debugregs_exact_roundtrip),
    TEST_ENTRY(test_string_io_undefined_address_size),
    TEST_ENTRY(test_nmi_reinjection_clears_blocking),
    TEST_ENTRY(test_contributory_pair_is_double_fault),
    TEST_ENTRY(test_set_cpuid_after_run),
    TEST_ENTRY(test_cpuid_faulting),
    TEST_ENTRY(test_msr_filter_and_user_space_exits),
    TEST_ENTRY(test_msr_guest_matrix),
};

int main(void)
{
	h_machine(FAKE_MODEL_SKYLAKE);
	return check_main(tests, sizeof(tests) / sizeof(tests[0]));
}
