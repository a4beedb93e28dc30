// SPDX-License-Identifier: MIT
/*
 * Guest PKS (supervisor protection keys: IA32_PKRS, MSR 0x6e1; CR4.PKS,
 * bit 24; CPUID.7.0:ECX[31]) on the fake VMX unit, through the real KVM
 * API: FAKE_MODEL_SAPPHIRE offers both "load IA32_PKRS" controls, the
 * other models neither (ICELAKE has PKS itself, but not the controls).
 *
 * The rules are those of the KVM PKS series as reviewed (vmx_set_cpu_caps,
 * vmx_get_msr / vmx_set_msr, kvm_pkrs_valid, kvm_init_msr_list,
 * __cr4_reserved_bits, vmx_vcpu_reset, vmx_vcpu_after_set_cpuid) on top of
 * Linux 6.1, where this hypervisor follows upstream; each test names the
 * function or rule it checks. One difference from upstream is by design:
 * a new vCPU's CPUID here is KVM_GET_SUPPORTED_CPUID's table, not empty,
 * so on SAPPHIRE a new vCPU already has PKS.
 */
#include <stdlib.h>
#include <string.h>

#include "abi/errno.h"
#include "abi/kvm_ioctls.h"
#include "hv/irqchip/lapic.h"
#include "hv/kvm/kvm_api.h"
#include "hv/lib/mm.h"
#include "hv/lib/msr.h"
#include "hv/lib/x86.h"
#include "tests/host/harness.h"
#include "tests/unit/check.h"
#include "vmx/exit_reasons.h"
#include "vmx/guest_regs.h"
#include "vmx/vcpu.h"
#include "vmx/vm.h"
#include "vmx/vmx.h"
#include "vmx/vmx_controls.h"
#include "vmx/vmx_ops.h"

#define MEM	  (1u << 20)
#define RIP0	  0x1000ull
#define GP_INFO	  (0x80000000u | 3u << 8 | 13u | 1u << 11)
#define PKS_BIT	  31 /* CPUID.7.0:ECX */
#define APIC_PAGE 0xfee00000u
#define BUDGET	  (20 * 2000000ull) /* host TSC ticks: about 20 halted waits */
#define ICR_INIT  (LAPIC_DM_INIT << 8 | LAPIC_ICR_ASSERT)

static const enum fake_model no_pks_models[] = {FAKE_MODEL_SKYLAKE, FAKE_MODEL_ICELAKE,
						FAKE_MODEL_OLD};
#define N_NO_PKS (sizeof(no_pks_models) / sizeof(no_pks_models[0]))

/* ---- the VM, its vCPUs and their VMCSs -------------------------------------- */

/* A field of vCPU @id's VMCS, current or not (the test's view: no VMREAD). */
static uint64_t field(uint32_t vm, uint32_t id, uint32_t enc)
{
	return fake_vmcs_get_at(h_vcpu(vm, id)->vmcs01.pa, enc);
}

/* vCPU @id (created if @create) in @mode at RIP0, RFLAGS 2. */
static void vcpu_in(uint32_t vm, uint32_t id, enum h_mode mode, bool create)
{
	struct kvm_regs r = {.rip = RIP0, .rflags = 2};
	uint64_t n = id;

	if (create && h_vm(vm, KVM_CREATE_VCPU, &n, sizeof(n)) != (long)id)
		abort();
	if (h_set_mode(vm, id, mode) || h_cpu(vm, id, KVM_SET_REGS, &r, sizeof(r)))
		abort();
}

/* A VM with memory and vCPU 0 in @mode at RIP0. */
static uint32_t vm_in(enum h_mode mode)
{
	uint32_t vm = h_vm_with_vcpu(MEM);

	vcpu_in(vm, 0, mode, false);
	return vm;
}

static void at_rip0(uint32_t vm, uint32_t id)
{
	struct kvm_regs r;

	if (h_cpu(vm, id, KVM_GET_REGS, &r, sizeof(r)))
		abort();
	r.rip = RIP0;
	if (h_cpu(vm, id, KVM_SET_REGS, &r, sizeof(r)))
		abort();
}

/* ---- CPUID ---------------------------------------------------------------- */

static struct {
	struct kvm_cpuid2 h;
	struct kvm_cpuid_entry2 e[VCPU_CPUID_MAX];
} cpuid_buf;

/* The entry (7, 0) of cpuid_buf, or NULL. */
static struct kvm_cpuid_entry2 *leaf7(void)
{
	for (unsigned i = 0; i < cpuid_buf.h.nent && i < VCPU_CPUID_MAX; i++)
		if (cpuid_buf.e[i].function == 7 && cpuid_buf.e[i].index == 0)
			return &cpuid_buf.e[i];
	return NULL;
}

/* CPUID.7.0:ECX[31] in KVM_GET_SUPPORTED_CPUID: 1, 0, or -1 if the call or leaf failed. */
static int supported_pks(void)
{
	cpuid_buf.h.nent = VCPU_CPUID_MAX;
	if (h_sys(KVM_GET_SUPPORTED_CPUID, &cpuid_buf, sizeof(cpuid_buf)) || !leaf7())
		return -1;
	return leaf7()->ecx >> PKS_BIT & 1;
}

/* CPUID.7.0:ECX[31] in vCPU @id's table (KVM_GET_CPUID2). */
static int vcpu_pks(uint32_t vm, uint32_t id)
{
	cpuid_buf.h.nent = VCPU_CPUID_MAX;
	if (h_cpu(vm, id, KVM_GET_CPUID2, &cpuid_buf, sizeof(cpuid_buf)) || !leaf7())
		return -1;
	return leaf7()->ecx >> PKS_BIT & 1;
}

/* KVM_SET_CPUID2: vCPU @id's table with PKS set or cleared. */
static long set_cpuid_pks(uint32_t vm, uint32_t id, bool pks)
{
	struct kvm_cpuid_entry2 *e;

	cpuid_buf.h.nent = VCPU_CPUID_MAX;
	if (h_cpu(vm, id, KVM_GET_CPUID2, &cpuid_buf, sizeof(cpuid_buf)))
		return -1000;
	e = leaf7();
	if (!e)
		return -1001;
	e->ecx = pks ? e->ecx | 1u << PKS_BIT : e->ecx & ~(1u << PKS_BIT);
	return h_cpu(vm, id, KVM_SET_CPUID2, &cpuid_buf,
		     sizeof(cpuid_buf.h) + cpuid_buf.h.nent * sizeof(cpuid_buf.e[0]));
}

/* ---- MSRs ------------------------------------------------------------------ */

/* KVM_GET_MSRS of one MSR: its count (1 read, 0 refused). */
static long host_get(uint32_t vm, uint32_t id, uint32_t msr, uint64_t *val)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = {.h.nmsrs = 1, .e.index = msr, .e.data = 0xfeedull};
	long rc = h_cpu(vm, id, KVM_GET_MSRS, &m, sizeof(m));

	*val = m.e.data;
	return rc;
}

/* KVM_SET_MSRS of one MSR: its count (1 written, 0 refused). */
static long host_set(uint32_t vm, uint32_t id, uint32_t msr, uint64_t val)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = {.h.nmsrs = 1, .e = {.index = msr, .data = val}};

	return h_cpu(vm, id, KVM_SET_MSRS, &m, sizeof(m));
}

/* How many times KVM_GET_MSR_INDEX_LIST lists @msr (-1 if the call fails). */
static int index_list_count(uint32_t msr)
{
	static struct {
		struct kvm_msr_list h;
		uint32_t idx[256];
	} l;
	int n = 0;

	l.h.nmsrs = 256;
	if (h_sys(KVM_GET_MSR_INDEX_LIST, &l, sizeof(l)))
		return -1;
	for (unsigned i = 0; i < l.h.nmsrs && i < 256; i++)
		n += l.idx[i] == msr;
	return n;
}

/* Both PKRS bits of vCPU 0: 2 both intercepted, 0 both passed, 1 read / -1 write only. */
static int pkrs_bitmap(uint32_t vm)
{
	bool r = h_msr_intercepted(vm, 0, MSR_IA32_PKRS, false),
	     w = h_msr_intercepted(vm, 0, MSR_IA32_PKRS, true);

	return r && w ? 2 : r ? 1 : w ? -1 : 0;
}

/* HV_ADD_MSR_ALLOWLIST: @flags for the one MSR @msr. */
static long add_allowlist(uint32_t vm, uint32_t flags, uint32_t msr)
{
	struct {
		struct hv_msr_allowlist h;
		uint8_t bitmap[8];
	} a = {.h = {.flags = flags, .nmsrs = 1, .base = msr}, .bitmap = {1}};

	return h_vm(vm, HV_ADD_MSR_ALLOWLIST, &a, sizeof(a.h) + 1);
}

/* ---- guest steps -------------------------------------------------------------- */

static uint64_t t_val;

static struct {
	uint64_t rip, cr4, cr4_shadow, rax, rdx;
	uint64_t cpu_pkrs; /* the CPU's IA32_PKRS while the guest ran */
} seen;

static uint32_t step_observe(struct fake_guest *g)
{
	seen.rip = fake_vmcs_get(VMCS_GUEST_RIP);
	seen.cr4 = fake_vmcs_get(VMCS_GUEST_CR4);
	seen.cr4_shadow = fake_vmcs_get(VMCS_CR4_READ_SHADOW);
	seen.rax = g->gpr[GPR_RAX];
	seen.rdx = g->gpr[GPR_RDX];
	seen.cpu_pkrs =
	    fake_cpu_model() == FAKE_MODEL_SAPPHIRE ? fake_msr_value(MSR_IA32_PKRS) : ~0ull;
	return h_exit_insn(EXIT_REASON_HLT, 1);
}

static uint32_t step_mov_cr4(struct fake_guest *g)
{
	g->gpr[GPR_RAX] = t_val;
	return h_exit_cr(4, 0, GPR_RAX, 0);
}

/* A WRMSR the MSR bitmap passed through: no exit, the guest's PKRS is t_val. */
static uint32_t step_pkrs_passthrough(struct fake_guest *g)
{
	seen.cpu_pkrs = fake_msr_value(MSR_IA32_PKRS);
	fake_vmcs_set(VMCS_GUEST_IA32_PKRS, t_val);
	return h_exit_insn(EXIT_REASON_HLT, 1);
}

/* KVM_RUN of vCPU @id, no irqchip: the HLT exits to user space. */
static long run_id(uint32_t vm, uint32_t id)
{
	long rc = h_cpu(vm, id, KVM_RUN, NULL, 0);

	return rc ? rc : h_run_page(vm, id)->exit_reason == KVM_EXIT_HLT ? 0 : -1000;
}

/* The steps mov (to CR4) then observe: 1 if the write took, 0 if #GP(0) came instead. */
static int cr4_write(uint32_t vm, uint64_t val)
{
	h_step steps[] = {step_mov_cr4, step_observe};

	t_val = val;
	at_rip0(vm, 0);
	h_steps(steps, 2);
	if (run_id(vm, 0))
		return -1;
	if (!h_delivered[1].valid && seen.rip == RIP0 + 3)
		return 1;
	if (h_delivered[1].valid && h_delivered[1].info == GP_INFO && h_delivered[1].error == 0 &&
	    seen.rip == RIP0)
		return 0;
	return -2;
}

/* 1: the WRMSR/RDMSR of vCPU @id took, 0: #GP(0). */
static int msr_insn(uint32_t vm, uint32_t id, h_step step, uint32_t msr, uint64_t val)
{
	h_step steps[] = {step, step_observe};

	h_msr_val = val;
	h_msr = msr;
	at_rip0(vm, id);
	h_steps(steps, 2);
	if (run_id(vm, id))
		return -1;
	if (!h_delivered[1].valid && seen.rip == RIP0 + 2)
		return 1;
	if (h_delivered[1].valid && h_delivered[1].info == GP_INFO && seen.rip == RIP0)
		return 0;
	return -2;
}

static long set_cr4(uint32_t vm, uint64_t cr4)
{
	struct kvm_sregs s;

	if (h_cpu(vm, 0, KVM_GET_SREGS, &s, sizeof(s)))
		return -1000;
	s.cr4 = cr4;
	return h_cpu(vm, 0, KVM_SET_SREGS, &s, sizeof(s));
}

static uint64_t cr4_of(uint32_t vm)
{
	struct kvm_sregs s;

	if (h_cpu(vm, 0, KVM_GET_SREGS, &s, sizeof(s)))
		abort();
	return s.cr4;
}

/* ---- 1. capabilities and the VMCS ------------------------------------------------- */

/*
 * vmx_set_cpu_caps (PKS series): PKS needs EPT and both "load IA32_PKRS"
 * controls; setup_vmcs_config then keeps VM_ENTRY_LOAD_IA32_PKRS and
 * VM_EXIT_LOAD_IA32_PKRS in every VMCS; vmx_set_constant_host_state writes
 * HOST_IA32_PKRS with the host's PKRS; vmx_vcpu_reset zeroes
 * GUEST_IA32_PKRS. The entry controls keep bit 22 when the IA-32e mode
 * bit follows EFER.LMA, and every entry then passes the fake's checks.
 */
static void test_pks_caps_sapphire(void)
{
	uint32_t vm;

	h_machine(FAKE_MODEL_SAPPHIRE);
	h_reset();
	CHECK(vmx_config.pks);
	CHECK(vmx_config.entry & VMX_ENTRY_LOAD_PKRS);
	CHECK(vmx_config.exit & VMX_EXIT_LOAD_PKRS);
	vm = h_vm_with_vcpu(MEM);
	CHECK(field(vm, 0, VMCS_ENTRY_CONTROLS) & VMX_ENTRY_LOAD_PKRS);
	CHECK(field(vm, 0, VMCS_EXIT_CONTROLS) & VMX_EXIT_LOAD_PKRS);
	CHECK_EQ(fake_msr_value(MSR_IA32_PKRS), FAKE_HOST_PKRS);
	CHECK_EQ(field(vm, 0, VMCS_HOST_IA32_PKRS), FAKE_HOST_PKRS);
	CHECK_EQ(field(vm, 0, VMCS_GUEST_IA32_PKRS), 0);
	/* A second vCPU's VMCS likewise. */
	vcpu_in(vm, 1, H_PROT32, true);
	CHECK(field(vm, 1, VMCS_ENTRY_CONTROLS) & VMX_ENTRY_LOAD_PKRS);
	CHECK(field(vm, 1, VMCS_EXIT_CONTROLS) & VMX_EXIT_LOAD_PKRS);
	CHECK_EQ(field(vm, 1, VMCS_HOST_IA32_PKRS), FAKE_HOST_PKRS);
	CHECK_EQ(field(vm, 1, VMCS_GUEST_IA32_PKRS), 0);
	/* Long mode sets the IA-32e mode entry control; bit 22 stays. */
	CHECK_EQ(h_set_mode(vm, 0, H_LONG64), 0);
	CHECK(field(vm, 0, VMCS_ENTRY_CONTROLS) & VMX_ENTRY_IA32E_MODE_GUEST);
	CHECK(field(vm, 0, VMCS_ENTRY_CONTROLS) & VMX_ENTRY_LOAD_PKRS);
	CHECK_EQ(h_set_mode(vm, 0, H_PROT32), 0);
	CHECK(!(field(vm, 0, VMCS_ENTRY_CONTROLS) & VMX_ENTRY_IA32E_MODE_GUEST));
	CHECK(field(vm, 0, VMCS_ENTRY_CONTROLS) & VMX_ENTRY_LOAD_PKRS);
	/* Entries pass (the PKRS fields are written, bits 63:32 clear). */
	{
		h_step steps[] = {step_observe};

		at_rip0(vm, 0);
		h_steps(steps, 1);
		CHECK_EQ(run_id(vm, 0), 0);
		CHECK_EQ(fake_vmx_stats.entries, 1);
	}
	CHECK_EQ(fake_vmx_stats.fail_controls + fake_vmx_stats.fail_host_state +
		     fake_vmx_stats.fail_guest_state,
		 0);
}

/*
 * vmx_set_cpu_caps: without the controls, no PKS. SKYLAKE and OLD lack
 * PKS altogether; ICELAKE has it in CPUID, CR4_FIXED1 and IA32_PKRS, but
 * not the controls. Neither control is set, neither PKRS field written
 * (they do not exist on these CPUs: a VMREAD or VMWRITE would fail), and
 * entries pass.
 */
static void test_pks_absent_without_controls(void)
{
	for (unsigned i = 0; i < N_NO_PKS; i++) {
		h_step steps[] = {step_observe};
		uint32_t vm;

		h_machine(no_pks_models[i]);
		h_reset();
		CHECK(!vmx_config.pks);
		CHECK(!(vmx_config.entry & VMX_ENTRY_LOAD_PKRS));
		CHECK(!(vmx_config.exit & VMX_EXIT_LOAD_PKRS));
		vm = vm_in(H_PROT32);
		CHECK(!(field(vm, 0, VMCS_ENTRY_CONTROLS) & VMX_ENTRY_LOAD_PKRS));
		CHECK(!(field(vm, 0, VMCS_EXIT_CONTROLS) & VMX_EXIT_LOAD_PKRS));
		CHECK_EQ(field(vm, 0, VMCS_GUEST_IA32_PKRS), FAKE_VMCS_UNSET);
		CHECK_EQ(field(vm, 0, VMCS_HOST_IA32_PKRS), FAKE_VMCS_UNSET);
		h_steps(steps, 1);
		CHECK_EQ(run_id(vm, 0), 0);
		CHECK_EQ(fake_vmx_stats.fail_controls + fake_vmx_stats.fail_host_state +
			     fake_vmx_stats.fail_guest_state,
			 0);
	}
	/* ICELAKE: the CPU has PKS, the guest cannot. */
	h_machine(FAKE_MODEL_ICELAKE);
	CHECK(cpuid(7, 0).ecx >> PKS_BIT & 1);
	CHECK(vmx_caps.cr4_fixed1 & CR4_PKS);
}

/* The SAPPHIRE model booted with some of its PKRS controls taken away; true if booted. */
static bool boot_sapphire_without(uint32_t entry_bits, uint32_t exit_bits)
{
	static const uint32_t entry_msrs[] = {MSR_IA32_VMX_ENTRY_CTLS,
					      MSR_IA32_VMX_TRUE_ENTRY_CTLS};
	static const uint32_t exit_msrs[] = {MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS};

	fake_cpu_init(FAKE_MODEL_SAPPHIRE);
	for (unsigned i = 0; i < 2; i++) {
		fake_msr_set(entry_msrs[i],
			     fake_msr_value(entry_msrs[i]) & ~((uint64_t)entry_bits << 32));
		fake_msr_set(exit_msrs[i],
			     fake_msr_value(exit_msrs[i]) & ~((uint64_t)exit_bits << 32));
	}
	return vmx_init() == 0;
}

/* One of the two controls offered: checked on the machine boot_sapphire_without() made. */
static void one_control_only(void)
{
	h_step steps[] = {step_observe};
	uint32_t vm;

	CHECK(!vmx_config.pks);
	CHECK(!(vmx_config.entry & VMX_ENTRY_LOAD_PKRS));
	CHECK(!(vmx_config.exit & VMX_EXIT_LOAD_PKRS));
	CHECK_EQ(supported_pks(), 0);
	CHECK_EQ(index_list_count(MSR_IA32_PKRS), 0);
	vm = vm_in(H_LONG64);
	CHECK(!(field(vm, 0, VMCS_ENTRY_CONTROLS) & VMX_ENTRY_LOAD_PKRS));
	CHECK(!(field(vm, 0, VMCS_EXIT_CONTROLS) & VMX_EXIT_LOAD_PKRS));
	CHECK_EQ(field(vm, 0, VMCS_HOST_IA32_PKRS), FAKE_VMCS_UNSET);
	CHECK_EQ(set_cr4(vm, CR4_PAE | CR4_PKS), -HV_EINVAL);
	CHECK_EQ(pkrs_bitmap(vm), 2);
	h_steps(steps, 1);
	CHECK_EQ(run_id(vm, 0), 0);
	CHECK_EQ(fake_vmx_stats.fail_controls + fake_vmx_stats.fail_host_state +
		     fake_vmx_stats.fail_guest_state,
		 0);
	/* The host's PKRS was never touched. */
	CHECK_EQ(fake_msr_value(MSR_IA32_PKRS), FAKE_HOST_PKRS);
}

/*
 * vmx_set_cpu_caps: "if (!cpu_has_load_ia32_pkrs()) kvm_cpu_cap_clear
 * (X86_FEATURE_PKS)", where cpu_has_load_ia32_pkrs() needs the entry AND
 * the exit control: one alone gives no PKS, and neither control is set.
 */
static void test_pks_needs_both_controls(void)
{
	static const uint32_t taken[2][2] = {{VMX_ENTRY_LOAD_PKRS, 0}, {0, VMX_EXIT_LOAD_PKRS}};

	for (unsigned i = 0; i < 2; i++) {
		/* The harness's machine is SKYLAKE, with no VM; it is booted again after. */
		h_machine(FAKE_MODEL_SKYLAKE);
		h_reset();
		if (boot_sapphire_without(taken[i][0], taken[i][1]))
			one_control_only(); /* its CHECKs return here, not from the test */
		else
			check_fail(__FILE__, __LINE__,
				   "vmx_init refused SAPPHIRE with one control");
		h_reset();
		fake_machine_boot(FAKE_MODEL_SKYLAKE);
		if (check_why[0])
			return;
	}
}

/* ---- 2. KVM_GET_SUPPORTED_CPUID ------------------------------------------------------ */

/*
 * kvm_set_cpu_caps: CPUID.7.0:ECX[31] is in the F() mask; vmx_set_cpu_caps
 * clears it without the controls. On SAPPHIRE it is reported, and a new
 * vCPU's table (here the supported one) has it; ICELAKE's CPU has PKS but
 * the bit is not reported, nor on SKYLAKE or OLD.
 */
static void test_pks_supported_cpuid(void)
{
	uint32_t vm;

	h_machine(FAKE_MODEL_SAPPHIRE);
	h_reset();
	CHECK_EQ(supported_pks(), 1);
	vm = h_vm_with_vcpu(MEM);
	CHECK_EQ(vcpu_pks(vm, 0), 1);
	for (unsigned i = 0; i < N_NO_PKS; i++) {
		h_machine(no_pks_models[i]);
		h_reset();
		CHECK_EQ(supported_pks(), 0);
		vm = h_vm_with_vcpu(MEM);
		CHECK_EQ(vcpu_pks(vm, 0), 0);
		/* A table that claims PKS anyway does not give it (cpuid_mask). */
		CHECK_EQ(set_cpuid_pks(vm, 0, true), 0);
		CHECK_EQ(vcpu_pks(vm, 0), 0);
	}
}

/* ---- 3. CR4.PKS ---------------------------------------------------------------------- */

/*
 * kvm_is_valid_sregs -> kvm_is_valid_cr4 -> __cr4_reserved_bits: CR4.PKS
 * is reserved unless kvm_cpu_cap_has(X86_FEATURE_PKS) and the vCPU's CPUID
 * has PKS. KVM_SET_SREGS with it (long-mode state) is EINVAL after
 * KVM_SET_CPUID2 without PKS, and on ICELAKE and SKYLAKE whatever the
 * table says; accepted on SAPPHIRE with PKS in the table (a new vCPU's),
 * where it reaches the read shadow and GUEST_CR4 and the entry passes
 * (CR4_FIXED1 has PKS).
 */
static void test_pks_cr4_set_sregs(void)
{
	h_step steps[] = {step_observe};
	uint32_t vm;

	h_machine(FAKE_MODEL_SAPPHIRE);
	h_reset();
	vm = vm_in(H_LONG64);
	CHECK_EQ(set_cpuid_pks(vm, 0, false), 0);
	CHECK_EQ(vcpu_pks(vm, 0), 0);
	CHECK_EQ(set_cr4(vm, CR4_PAE | CR4_PKS), -HV_EINVAL);
	CHECK_EQ(cr4_of(vm), CR4_PAE);
	CHECK_EQ(set_cpuid_pks(vm, 0, true), 0);
	CHECK_EQ(set_cr4(vm, CR4_PAE | CR4_PKS), 0);
	CHECK_EQ(cr4_of(vm), CR4_PAE | CR4_PKS);
	CHECK_EQ(field(vm, 0, VMCS_CR4_READ_SHADOW), CR4_PAE | CR4_PKS);
	CHECK_EQ(field(vm, 0, VMCS_GUEST_CR4), CR4_PAE | CR4_PKS | CR4_VMXE);
	h_steps(steps, 1);
	CHECK_EQ(run_id(vm, 0), 0);
	CHECK_EQ(seen.cr4, CR4_PAE | CR4_PKS | CR4_VMXE);
	CHECK_EQ(fake_vmx_stats.fail_guest_state, 0);
	/* A new vCPU's table has PKS: accepted at once. */
	vm = vm_in(H_LONG64);
	CHECK_EQ(set_cr4(vm, CR4_PAE | CR4_PKS), 0);

	for (unsigned i = 0; i < N_NO_PKS; i++) {
		h_machine(no_pks_models[i]);
		h_reset();
		vm = vm_in(H_LONG64);
		CHECK_EQ(set_cr4(vm, CR4_PAE | CR4_PKS), -HV_EINVAL);
		CHECK_EQ(set_cpuid_pks(vm, 0, true), 0);
		CHECK_EQ(set_cr4(vm, CR4_PAE | CR4_PKS), -HV_EINVAL);
		CHECK_EQ(cr4_of(vm), CR4_PAE);
		CHECK_EQ(field(vm, 0, VMCS_CR4_READ_SHADOW), CR4_PAE);
	}
}

/*
 * kvm_set_cr4 -> kvm_is_valid_cr4: a guest MOV to CR4 setting PKS is #GP
 * where KVM_SET_SREGS would refuse it (no PKS in the vCPU's CPUID; ICELAKE)
 * and taken where allowed: the read shadow and GUEST_CR4 have it, and it
 * can be cleared again. CR4.PKS may be set outside long mode too (it only
 * acts with 4/5-level paging).
 */
static void test_pks_cr4_mov(void)
{
	uint32_t vm;

	h_machine(FAKE_MODEL_SAPPHIRE);
	h_reset();
	vm = vm_in(H_LONG64);
	CHECK_EQ(set_cpuid_pks(vm, 0, false), 0);
	CHECK_EQ(cr4_write(vm, CR4_PAE | CR4_PKS), 0);
	CHECK_EQ(cr4_of(vm), CR4_PAE);

	vm = vm_in(H_LONG64); /* PKS in the table */
	CHECK_EQ(cr4_write(vm, CR4_PAE | CR4_PKS), 1);
	CHECK_EQ(seen.cr4_shadow, CR4_PAE | CR4_PKS);
	CHECK_EQ(seen.cr4, CR4_PAE | CR4_PKS | CR4_VMXE);
	CHECK_EQ(cr4_of(vm), CR4_PAE | CR4_PKS);
	CHECK_EQ(cr4_write(vm, CR4_PAE), 1);
	CHECK_EQ(seen.cr4_shadow, CR4_PAE);
	CHECK_EQ(seen.cr4, CR4_PAE | CR4_VMXE);
	CHECK_EQ(fake_vmx_stats.fail_guest_state, 0);

	vm = vm_in(H_PROT32);
	CHECK_EQ(cr4_write(vm, CR4_PKS), 1);
	CHECK_EQ(seen.cr4_shadow, CR4_PKS);

	h_machine(FAKE_MODEL_ICELAKE);
	h_reset();
	vm = vm_in(H_LONG64);
	CHECK_EQ(set_cpuid_pks(vm, 0, true), 0);
	CHECK_EQ(cr4_write(vm, CR4_PAE | CR4_PKS), 0);
	CHECK_EQ(cr4_of(vm), CR4_PAE);
	CHECK_EQ(seen.cr4, CR4_PAE | CR4_VMXE);
}

/* ---- 4. IA32_PKRS --------------------------------------------------------------------- */

/*
 * vmx_get_msr / vmx_set_msr (PKS series), guest side: #GP unless
 * kvm_cpu_cap_has(X86_FEATURE_PKS) and guest_cpuid_has(X86_FEATURE_PKS);
 * kvm_pkrs_valid(): bits 63:32 reserved (#GP, the value stays). The value
 * is GUEST_IA32_PKRS.
 */
static void test_pks_msr_guest(void)
{
	struct kvm_run *run;
	h_step steps[] = {h_step_rdmsr, step_observe};
	uint32_t vm;

	h_machine(FAKE_MODEL_ICELAKE);
	h_reset();
	vm = vm_in(H_LONG64);
	CHECK_EQ(msr_insn(vm, 0, h_step_rdmsr, MSR_IA32_PKRS, 0), 0);
	CHECK_EQ(msr_insn(vm, 0, h_step_wrmsr, MSR_IA32_PKRS, 0), 0);
	CHECK_EQ(msr_insn(vm, 0, h_step_wrmsr, MSR_IA32_PKRS, 0xc), 0);

	h_machine(FAKE_MODEL_SAPPHIRE);
	h_reset();
	vm = vm_in(H_LONG64);
	CHECK_EQ(vcpu_pks(vm, 0), 1);
	CHECK_EQ(msr_insn(vm, 0, h_step_wrmsr, MSR_IA32_PKRS, 0x0000000c), 1);
	CHECK_EQ(field(vm, 0, VMCS_GUEST_IA32_PKRS), 0xc);
	CHECK_EQ(msr_insn(vm, 0, h_step_rdmsr, MSR_IA32_PKRS, 0), 1);
	CHECK_EQ(seen.rax, 0xc);
	CHECK_EQ(seen.rdx, 0);
	CHECK_EQ(msr_insn(vm, 0, h_step_wrmsr, MSR_IA32_PKRS, 1ull << 32 | 0xc0), 0);
	CHECK_EQ(field(vm, 0, VMCS_GUEST_IA32_PKRS), 0xc);
	CHECK_EQ(msr_insn(vm, 0, h_step_wrmsr, MSR_IA32_PKRS, 0xffffffff00000000ull), 0);
	CHECK_EQ(field(vm, 0, VMCS_GUEST_IA32_PKRS), 0xc);
	CHECK_EQ(msr_insn(vm, 0, h_step_wrmsr, MSR_IA32_PKRS, 0xffffffff), 1);
	CHECK_EQ(field(vm, 0, VMCS_GUEST_IA32_PKRS), 0xffffffff);
	CHECK_EQ(msr_insn(vm, 0, h_step_rdmsr, MSR_IA32_PKRS, 0), 1);
	CHECK_EQ(seen.rax, 0xffffffff);
	CHECK_EQ(seen.rdx, 0);
	CHECK_EQ(fake_vmx_stats.fail_guest_state, 0);

	/* Without PKS in the guest's CPUID: #GP both ways, the field untouched. */
	vm = vm_in(H_LONG64);
	CHECK_EQ(set_cpuid_pks(vm, 0, false), 0);
	CHECK_EQ(msr_insn(vm, 0, h_step_wrmsr, MSR_IA32_PKRS, 0x4), 0);
	CHECK_EQ(msr_insn(vm, 0, h_step_rdmsr, MSR_IA32_PKRS, 0), 0);
	CHECK_EQ(field(vm, 0, VMCS_GUEST_IA32_PKRS), 0);
	/* kvm_msr_reason(): the refusal (vmx_get_msr's 1) is KVM_MSR_EXIT_REASON_INVAL. */
	{
		struct kvm_enable_cap cap = {.cap = KVM_CAP_X86_USER_SPACE_MSR,
					     .args = {KVM_MSR_EXIT_REASON_INVAL}};

		CHECK_EQ(h_vm(vm, KVM_ENABLE_CAP, &cap, sizeof(cap)), 0);
	}
	run = h_run_page(vm, 0);
	h_msr = MSR_IA32_PKRS;
	at_rip0(vm, 0);
	h_steps(steps, 2);
	CHECK_EQ(h_cpu(vm, 0, KVM_RUN, NULL, 0), 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_X86_RDMSR);
	CHECK_EQ(run->msr.reason, KVM_MSR_EXIT_REASON_INVAL);
	CHECK_EQ(run->msr.index, MSR_IA32_PKRS);
}

/*
 * vmx_get_msr / vmx_set_msr, host side (msr_info->host_initiated): only
 * kvm_cpu_cap_has(X86_FEATURE_PKS) is needed, not the guest's CPUID;
 * kvm_pkrs_valid() still applies, and KVM_SET_MSRS (__msr_io) stops at the
 * entry it refuses, returning how many came before. Without PKS (ICELAKE)
 * KVM_GET_MSRS and KVM_SET_MSRS of 0x6e1 do 0 entries.
 */
static void test_pks_msr_host(void)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[3];
	} m = {.h.nmsrs = 3};
	unsigned writes;
	uint64_t val;
	uint32_t vm;

	h_machine(FAKE_MODEL_SAPPHIRE);
	h_reset();
	vm = vm_in(H_LONG64);
	CHECK_EQ(set_cpuid_pks(vm, 0, false), 0);
	CHECK_EQ(host_get(vm, 0, MSR_IA32_PKRS, &val), 1);
	CHECK_EQ(val, 0);
	CHECK_EQ(host_set(vm, 0, MSR_IA32_PKRS, 0x0000000c), 1);
	CHECK_EQ(field(vm, 0, VMCS_GUEST_IA32_PKRS), 0xc);
	CHECK_EQ(host_get(vm, 0, MSR_IA32_PKRS, &val), 1);
	CHECK_EQ(val, 0xc);
	CHECK_EQ(host_set(vm, 0, MSR_IA32_PKRS, 1ull << 32), 0);
	CHECK_EQ(host_set(vm, 0, MSR_IA32_PKRS, 0x8000000000000003ull), 0);
	CHECK_EQ(field(vm, 0, VMCS_GUEST_IA32_PKRS), 0xc);
	/* PAT, PKRS with bit 32, STAR: one done, STAR not reached. */
	m.e[0] = (struct kvm_msr_entry){.index = MSR_IA32_PAT, .data = 0x0606060606060606ull};
	m.e[1] = (struct kvm_msr_entry){.index = MSR_IA32_PKRS, .data = 1ull << 32 | 0x30};
	m.e[2] = (struct kvm_msr_entry){.index = MSR_STAR, .data = 0x0023001000000000ull};
	writes = fake_wrmsr_log.count;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_MSRS, &m, sizeof(m)), 1);
	CHECK_EQ(field(vm, 0, VMCS_GUEST_IA32_PAT), 0x0606060606060606ull);
	CHECK_EQ(field(vm, 0, VMCS_GUEST_IA32_PKRS), 0xc);
	CHECK_EQ(fake_wrmsr_log.count, writes); /* STAR never reached the CPU */
	/* The same list with a valid PKRS: all three. */
	m.e[1].data = 0x30;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_MSRS, &m, sizeof(m)), 3);
	CHECK_EQ(field(vm, 0, VMCS_GUEST_IA32_PKRS), 0x30);
	/* The host's own PKRS is never the guest's. */
	CHECK_EQ(fake_msr_value(MSR_IA32_PKRS), FAKE_HOST_PKRS);
	CHECK_EQ(field(vm, 0, VMCS_HOST_IA32_PKRS), FAKE_HOST_PKRS);

	for (unsigned i = 0; i < N_NO_PKS; i++) {
		h_machine(no_pks_models[i]);
		h_reset();
		vm = vm_in(H_LONG64);
		CHECK_EQ(host_set(vm, 0, MSR_IA32_PKRS, 0), 0);
		CHECK_EQ(host_set(vm, 0, MSR_IA32_PKRS, 0xc), 0);
		CHECK_EQ(host_get(vm, 0, MSR_IA32_PKRS, &val), 0);
		/* KVM_SET_MSRS stops there: PAT, PKRS, STAR does one. */
		m.e[1].data = 0;
		CHECK_EQ(h_cpu(vm, 0, KVM_SET_MSRS, &m, sizeof(m)), 1);
	}
}

/* ---- 5. KVM_GET_MSR_INDEX_LIST ------------------------------------------------------ */

/*
 * kvm_init_msr_list (PKS series): MSR_IA32_PKRS is in msrs_to_save_all and
 * kept only if kvm_cpu_cap_has(X86_FEATURE_PKS): listed once on SAPPHIRE,
 * never on the others; where listed, KVM_GET_MSRS reads it.
 */
static void test_pks_msr_index_list(void)
{
	uint64_t val;
	uint32_t vm;

	h_machine(FAKE_MODEL_SAPPHIRE);
	h_reset();
	CHECK_EQ(index_list_count(MSR_IA32_PKRS), 1);
	vm = h_vm_with_vcpu(MEM);
	CHECK_EQ(host_get(vm, 0, MSR_IA32_PKRS, &val), 1);
	for (unsigned i = 0; i < N_NO_PKS; i++) {
		h_machine(no_pks_models[i]);
		h_reset();
		CHECK_EQ(index_list_count(MSR_IA32_PKRS), 0);
		CHECK(index_list_count(MSR_FS_BASE) == 1); /* the list itself is there */
	}
}

/* ---- 6. INIT ---------------------------------------------------------------------- */

/* The irqchip VM's guest: MMIO stores of RAX to the APIC page, one per step. */
static struct {
	uint32_t gpa, val;
} mm[3];
static unsigned mm_next;

static uint32_t step_mmio(struct fake_guest *g)
{
	unsigned i = mm_next++ % 3;

	g->gpr[GPR_RAX] = mm[i].val;
	fake_vmcs_set(VMCS_GUEST_PHYSICAL_ADDRESS, mm[i].gpa);
	fake_vmcs_set(VMCS_GUEST_LINEAR_ADDRESS, mm[i].gpa);
	fake_vmcs_set(VMCS_EXIT_QUALIFICATION, 2 | 0x80);
	return EXIT_REASON_EPT_VIOLATION;
}

/* mov [gpa], eax (6 bytes) for each mm[] entry, from RIP0 on. */
static void put_mmio(uint32_t vm, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t insn[6] = {0x89, 0x05};

		memcpy(insn + 2, &mm[i].gpa, 4);
		if (vm_write_gpa(kvm_api_vm(vm), RIP0 + 6 * i, insn, sizeof(insn)))
			abort();
	}
	mm_next = 0;
}

static uint32_t mp_state_of(uint32_t vm, uint32_t id)
{
	struct kvm_mp_state m = {.mp_state = 0xdead};

	if (h_cpu(vm, id, KVM_GET_MP_STATE, &m, sizeof(m)))
		return 0xbad;
	return m.mp_state;
}

/*
 * "PKRS is cleared on INIT" (vmx_vcpu_reset with init_event, PKS series
 * review): an INIT IPI from vCPU 0 to vCPU 1 through the in-kernel APIC,
 * taken when KVM_GET_MP_STATE runs kvm_apic_accept_events: vCPU 1's
 * GUEST_IA32_PKRS is 0 again, the controls and HOST_IA32_PKRS are kept,
 * and vCPU 0's PKRS is untouched.
 */
static void test_pks_init_clears_pkrs(void)
{
	struct kvm_userspace_memory_region r = {.slot = 0, .memory_size = MEM};
	struct kvm_mp_state runnable = {.mp_state = KVM_MP_STATE_RUNNABLE};
	h_step bsp[] = {step_mmio, step_mmio};
	uint64_t val;
	long vm, rc;

	h_machine(FAKE_MODEL_SAPPHIRE);
	h_reset();
	vm = h_sys(KVM_CREATE_VM, NULL, 0);
	CHECK(vm > 0);
	CHECK_EQ(h_vm((uint32_t)vm, KVM_SET_USER_MEMORY_REGION, &r, sizeof(r)), 0);
	CHECK_EQ(h_vm((uint32_t)vm, KVM_CREATE_IRQCHIP, NULL, 0), 0);
	vcpu_in((uint32_t)vm, 0, H_PROT32, true);
	vcpu_in((uint32_t)vm, 1, H_PROT32, true);
	CHECK_EQ(h_cpu((uint32_t)vm, 1, KVM_SET_MP_STATE, &runnable, sizeof(runnable)), 0);
	CHECK_EQ(host_set((uint32_t)vm, 0, MSR_IA32_PKRS, 0x50), 1);
	CHECK_EQ(host_set((uint32_t)vm, 1, MSR_IA32_PKRS, 0x30), 1);
	CHECK_EQ(field((uint32_t)vm, 1, VMCS_GUEST_IA32_PKRS), 0x30);
	/* vCPU 0: ICR2 = APIC 1, then ICR = INIT (assert). */
	mm[0].gpa = APIC_PAGE + LAPIC_ICR2;
	mm[0].val = 1u << 24;
	mm[1].gpa = APIC_PAGE + LAPIC_ICR;
	mm[1].val = ICR_INIT;
	put_mmio((uint32_t)vm, 2);
	h_steps(bsp, 2);
	h_vcpu((uint32_t)vm, 0)->tsc_deadline = rdtsc() + BUDGET;
	rc = h_cpu((uint32_t)vm, 0, KVM_RUN, NULL, 0);
	CHECK_EQ(rc, -HV_EINTR); /* vCPU 0 halted after the stores */
	CHECK_EQ(h_steps_done(), 3);
	CHECK_EQ(mp_state_of((uint32_t)vm, 1), KVM_MP_STATE_INIT_RECEIVED);
	CHECK_EQ(field((uint32_t)vm, 1, VMCS_GUEST_IA32_PKRS), 0);
	CHECK_EQ(host_get((uint32_t)vm, 1, MSR_IA32_PKRS, &val), 1);
	CHECK_EQ(val, 0);
	CHECK(field((uint32_t)vm, 1, VMCS_ENTRY_CONTROLS) & VMX_ENTRY_LOAD_PKRS);
	CHECK(field((uint32_t)vm, 1, VMCS_EXIT_CONTROLS) & VMX_EXIT_LOAD_PKRS);
	CHECK_EQ(field((uint32_t)vm, 1, VMCS_HOST_IA32_PKRS), FAKE_HOST_PKRS);
	CHECK_EQ(host_get((uint32_t)vm, 0, MSR_IA32_PKRS, &val), 1);
	CHECK_EQ(val, 0x50);
	CHECK_EQ(fake_vmx_stats.fail_controls + fake_vmx_stats.fail_host_state +
		     fake_vmx_stats.fail_guest_state,
		 0);
}

/* ---- 7. the MSR bitmap ------------------------------------------------------------- */

/*
 * vmx_vcpu_after_set_cpuid -> vmx_set_intercept_for_msr(MSR_IA32_PKRS)
 * (PKS series): PKRS is passed through only with kvm_cpu_cap_has(PKS) and
 * guest_cpuid_has(PKS), and, as every pass-through, only for the accesses
 * the VM's MSR filter allows (vmx_msr_filter_changed). Recomputed on
 * KVM_SET_CPUID2 and on each filter change; FS_BASE is unaffected.
 */
static void test_pks_msr_bitmap(void)
{
	const struct h_msr_range deny_write = {KVM_MSR_FILTER_WRITE, MSR_IA32_PKRS, 1, 0};
	const struct h_msr_range allow_fs = {KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
					     MSR_FS_BASE, 1, 1};
	uint32_t vm;

	/* Not offered: intercepted whatever the table and the filter say. */
	for (unsigned i = 0; i < N_NO_PKS; i++) {
		h_machine(no_pks_models[i]);
		h_reset();
		vm = vm_in(H_LONG64);
		CHECK_EQ(pkrs_bitmap(vm), 2);
		CHECK_EQ(set_cpuid_pks(vm, 0, true), 0);
		CHECK_EQ(pkrs_bitmap(vm), 2);
		CHECK_EQ(h_set_msr_filter(vm, KVM_MSR_FILTER_DEFAULT_ALLOW, NULL, 0), 0);
		CHECK_EQ(pkrs_bitmap(vm), 2);
		CHECK(!h_msr_intercepted(vm, 0, MSR_FS_BASE, false));
	}

	h_machine(FAKE_MODEL_SAPPHIRE);
	h_reset();
	vm = vm_in(H_LONG64);
	/* A new vCPU's table has PKS (see the top of this file): passed through. */
	CHECK_EQ(vcpu_pks(vm, 0), 1);
	CHECK_EQ(pkrs_bitmap(vm), 0);
	CHECK_EQ(set_cpuid_pks(vm, 0, false), 0);
	CHECK_EQ(pkrs_bitmap(vm), 2);
	/* A filter change does not open it while the table lacks PKS. */
	CHECK_EQ(h_set_msr_filter(vm, KVM_MSR_FILTER_DEFAULT_ALLOW, NULL, 0), 0);
	CHECK_EQ(pkrs_bitmap(vm), 2);
	CHECK_EQ(set_cpuid_pks(vm, 0, true), 0);
	CHECK_EQ(pkrs_bitmap(vm), 0);
	/* Writes denied: only the write bit. */
	CHECK_EQ(h_set_msr_filter(vm, KVM_MSR_FILTER_DEFAULT_ALLOW, &deny_write, 1), 0);
	CHECK_EQ(pkrs_bitmap(vm), -1);
	CHECK(!h_msr_intercepted(vm, 0, MSR_FS_BASE, false) &&
	      !h_msr_intercepted(vm, 0, MSR_FS_BASE, true));
	/* Default deny, no range for 0x6e1: both. */
	CHECK_EQ(h_set_msr_filter(vm, KVM_MSR_FILTER_DEFAULT_DENY, &allow_fs, 1), 0);
	CHECK_EQ(pkrs_bitmap(vm), 2);
	CHECK(!h_msr_intercepted(vm, 0, MSR_FS_BASE, false) &&
	      !h_msr_intercepted(vm, 0, MSR_FS_BASE, true));
	/* The filter removed (allow all, no range): both passed through again. */
	CHECK_EQ(h_set_msr_filter(vm, KVM_MSR_FILTER_DEFAULT_ALLOW, NULL, 0), 0);
	CHECK_EQ(pkrs_bitmap(vm), 0);
	/* The denied write, taken by the exit: #GP; the read is the guest's. */
	CHECK_EQ(h_set_msr_filter(vm, KVM_MSR_FILTER_DEFAULT_ALLOW, &deny_write, 1), 0);
	CHECK_EQ(msr_insn(vm, 0, h_step_wrmsr, MSR_IA32_PKRS, 0x4), 0);
	CHECK_EQ(msr_insn(vm, 0, h_step_rdmsr, MSR_IA32_PKRS, 0), 1);
	CHECK_EQ(seen.rax, 0);
	CHECK_EQ(field(vm, 0, VMCS_GUEST_IA32_PKRS), 0);
}

/*
 * The allow-lists (HV_ADD_MSR_ALLOWLIST, abi/kvm_x86.h) count as the
 * filter does: a list allowing only reads of 0x6e1 leaves the write bit
 * set; one without 0x6e1 closes both; HV_CLEAR_MSR_ALLOWLIST opens them.
 */
static void test_pks_msr_bitmap_allowlist(void)
{
	uint32_t vm;

	h_machine(FAKE_MODEL_SAPPHIRE);
	h_reset();
	vm = vm_in(H_LONG64);
	CHECK_EQ(pkrs_bitmap(vm), 0);
	CHECK_EQ(add_allowlist(vm, HV_MSR_ALLOW_READ, MSR_IA32_PKRS), 0);
	CHECK_EQ(pkrs_bitmap(vm), -1);
	CHECK_EQ(h_vm(vm, HV_CLEAR_MSR_ALLOWLIST, NULL, 0), 0);
	CHECK_EQ(pkrs_bitmap(vm), 0);
	CHECK_EQ(add_allowlist(vm, HV_MSR_ALLOW_READ | HV_MSR_ALLOW_WRITE, MSR_FS_BASE), 0);
	CHECK_EQ(pkrs_bitmap(vm), 2);
	CHECK(!h_msr_intercepted(vm, 0, MSR_FS_BASE, false));
	CHECK_EQ(h_vm(vm, HV_CLEAR_MSR_ALLOWLIST, NULL, 0), 0);
	CHECK_EQ(pkrs_bitmap(vm), 0);
	/* Without PKS in the table the lists change nothing. */
	CHECK_EQ(set_cpuid_pks(vm, 0, false), 0);
	CHECK_EQ(add_allowlist(vm, HV_MSR_ALLOW_READ | HV_MSR_ALLOW_WRITE, MSR_IA32_PKRS), 0);
	CHECK_EQ(pkrs_bitmap(vm), 2);
}

/* ---- 8. per-vCPU values, and the hardware's swap -------------------------------------- */

/*
 * GUEST_IA32_PKRS is per VMCS: two vCPUs keep their own values through
 * KVM_SET_MSRS, KVM_GET_MSRS, guest RDMSR exits and runs in turn.
 */
static void test_pks_two_vcpus(void)
{
	uint64_t a, b;
	uint32_t vm;

	h_machine(FAKE_MODEL_SAPPHIRE);
	h_reset();
	vm = vm_in(H_LONG64);
	vcpu_in(vm, 1, H_LONG64, true);
	CHECK_EQ(host_set(vm, 0, MSR_IA32_PKRS, 0x11), 1);
	CHECK_EQ(host_set(vm, 1, MSR_IA32_PKRS, 0x22), 1);
	CHECK_EQ(host_get(vm, 0, MSR_IA32_PKRS, &a), 1);
	CHECK_EQ(host_get(vm, 1, MSR_IA32_PKRS, &b), 1);
	CHECK_EQ(a, 0x11);
	CHECK_EQ(b, 0x22);
	CHECK_EQ(field(vm, 0, VMCS_GUEST_IA32_PKRS), 0x11);
	CHECK_EQ(field(vm, 1, VMCS_GUEST_IA32_PKRS), 0x22);
	CHECK_EQ(msr_insn(vm, 0, h_step_rdmsr, MSR_IA32_PKRS, 0), 1);
	CHECK_EQ(seen.rax, 0x11);
	CHECK_EQ(seen.cpu_pkrs, 0x11);
	CHECK_EQ(msr_insn(vm, 1, h_step_rdmsr, MSR_IA32_PKRS, 0), 1);
	CHECK_EQ(seen.rax, 0x22);
	CHECK_EQ(seen.cpu_pkrs, 0x22);
	CHECK_EQ(msr_insn(vm, 1, h_step_wrmsr, MSR_IA32_PKRS, 0x33), 1);
	CHECK_EQ(msr_insn(vm, 0, h_step_rdmsr, MSR_IA32_PKRS, 0), 1);
	CHECK_EQ(seen.rax, 0x11);
	CHECK_EQ(host_get(vm, 0, MSR_IA32_PKRS, &a), 1);
	CHECK_EQ(host_get(vm, 1, MSR_IA32_PKRS, &b), 1);
	CHECK_EQ(a, 0x11);
	CHECK_EQ(b, 0x33);
	CHECK_EQ(fake_msr_value(MSR_IA32_PKRS), FAKE_HOST_PKRS);
}

/*
 * The load controls at work (SDM 26.3.2.1, 27.3.1, 27.5.1): the guest runs
 * with its PKRS in the CPU's MSR, a WRMSR passed through by the bitmap
 * (no exit) is saved at the exit and read back on demand from the VMCS
 * (KVM_GET_MSRS, RDMSR), and the host has its own PKRS back after every
 * exit.
 */
static void test_pks_passthrough_write_saved(void)
{
	h_step steps[] = {step_pkrs_passthrough};
	uint64_t val;
	uint32_t vm;

	h_machine(FAKE_MODEL_SAPPHIRE);
	h_reset();
	vm = vm_in(H_LONG64);
	CHECK_EQ(pkrs_bitmap(vm), 0);
	CHECK_EQ(host_set(vm, 0, MSR_IA32_PKRS, 0x5), 1);
	t_val = 0xfffffffc;
	h_steps(steps, 1);
	CHECK_EQ(run_id(vm, 0), 0);
	CHECK_EQ(seen.cpu_pkrs, 0x5);
	CHECK_EQ(fake_msr_value(MSR_IA32_PKRS), FAKE_HOST_PKRS);
	CHECK_EQ(host_get(vm, 0, MSR_IA32_PKRS, &val), 1);
	CHECK_EQ(val, 0xfffffffc);
	CHECK_EQ(msr_insn(vm, 0, h_step_rdmsr, MSR_IA32_PKRS, 0), 1);
	CHECK_EQ(seen.rax, 0xfffffffc);
	CHECK_EQ(seen.cpu_pkrs, 0xfffffffc);
	CHECK_EQ(fake_msr_value(MSR_IA32_PKRS), FAKE_HOST_PKRS);
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_pks_caps_sapphire),	      TEST_ENTRY(test_pks_absent_without_controls),
    TEST_ENTRY(test_pks_needs_both_controls), TEST_ENTRY(test_pks_supported_cpuid),
    TEST_ENTRY(test_pks_cr4_set_sregs),	      TEST_ENTRY(test_pks_cr4_mov),
    TEST_ENTRY(test_pks_msr_guest),	      TEST_ENTRY(test_pks_msr_host),
    TEST_ENTRY(test_pks_msr_index_list),      TEST_ENTRY(test_pks_init_clears_pkrs),
    TEST_ENTRY(test_pks_msr_bitmap),	      TEST_ENTRY(test_pks_msr_bitmap_allowlist),
    TEST_ENTRY(test_pks_two_vcpus),	      TEST_ENTRY(test_pks_passthrough_write_saved),
};

int main(void)
{
	h_machine(FAKE_MODEL_SAPPHIRE);
	return check_main(tests, sizeof(tests) / sizeof(tests[0]));
}
