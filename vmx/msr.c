// SPDX-License-Identifier: MIT
/*
 * The MSRs a guest may read and write, emulated in one place: used by the
 * RDMSR/WRMSR exits (the guest) and by KVM_GET_MSRS / KVM_SET_MSRS and the
 * MSRS sync set (the host). The rules are Linux 6.1's: __kvm_set_msr and
 * __kvm_get_msr, vmx_set_msr and vmx_get_msr, kvm_set_msr_common and
 * kvm_get_msr_common, with their host_initiated exceptions.
 *
 * Guest-state MSRs live in the VMCS; the SYSCALL MSRs, KERNEL_GS_BASE and
 * TSC_AUX are kept in struct vcpu and are in the CPU while the vCPU is
 * loaded (vcpu_load), so a write goes to the CPU too, but only once its
 * value has been checked: nothing the guest or the controller writes can
 * make the hypervisor fault or a VM entry fail. The rest (struct
 * vcpu_msrs) is kept for reads. Any other MSR is refused (#GP for the
 * guest, a short count for the API).
 */
#include <stdbool.h>
#include <string.h>

#include "hv/irqchip/lapic.h"
#include "hv/lib/mm.h"
#include "hv/lib/msr.h"
#include "hv/lib/x86.h"
#include "vmx/cpuid.h"
#include "vmx/msr.h"
#include "vmx/msr_filter.h"
#include "vmx/vcpu.h"
#include "vmx/vm.h"
#include "vmx/vmx.h"
#include "vmx/vmx_ops.h"

/* IA32_UCODE_REV of a new vCPU (kvm_vcpu_reset's microcode_version). */
#define UCODE_REV_DEFAULT 0x100000000ull

/* What KVM_GET_MSR_INDEX_LIST reports (msrs_to_save and emulated_msrs, as implemented here). */
const uint32_t vcpu_msr_list[] = {
    MSR_IA32_TSC,
    MSR_IA32_APIC_BASE,
    MSR_IA32_TSC_ADJUST,
    MSR_IA32_SPEC_CTRL,
    MSR_IA32_UCODE_REV,
    MSR_IA32_ARCH_CAPABILITIES,
    MSR_IA32_SYSENTER_CS,
    MSR_IA32_SYSENTER_ESP,
    MSR_IA32_SYSENTER_EIP,
    MSR_IA32_MISC_ENABLE,
    MSR_IA32_POWER_CTL,
    MSR_PLATFORM_INFO,
    MSR_MISC_FEATURES_ENABLES,
    0x200,
    0x201,
    0x202,
    0x203,
    0x204,
    0x205,
    0x206,
    0x207, /* variable MTRRs */
    0x208,
    0x209,
    0x20a,
    0x20b,
    0x20c,
    0x20d,
    0x20e,
    0x20f,
    MSR_MTRR_FIX_64K_00000,
    MSR_MTRR_FIX_16K_80000,
    MSR_MTRR_FIX_16K_A0000,
    0x268,
    0x269,
    0x26a,
    0x26b,
    0x26c,
    0x26d,
    0x26e,
    0x26f, /* fixed 4K MTRRs */
    MSR_IA32_PAT,
    MSR_MTRR_DEF_TYPE,
    MSR_IA32_PERF_CAPABILITIES,
    MSR_IA32_EFER,
    MSR_STAR,
    MSR_LSTAR,
    MSR_CSTAR,
    MSR_FMASK,
    MSR_FS_BASE,
    MSR_GS_BASE,
    MSR_KERNEL_GS_BASE,
    MSR_TSC_AUX,
    MSR_IA32_PKRS,
};
const unsigned vcpu_msr_count = sizeof(vcpu_msr_list) / sizeof(vcpu_msr_list[0]);
_Static_assert(sizeof(vcpu_msr_list) / sizeof(vcpu_msr_list[0]) <= VCPU_MSR_LIST_MAX,
	       "vcpu_msr_index_list()'s callers have room for the whole list");

/* kvm_init_msr_list(): an MSR of the list this CPU lets a vCPU have. */
static bool msr_offered(uint32_t msr)
{
	return msr != MSR_IA32_PKRS || vmx_config.pks;
}

unsigned vcpu_msr_index_list(uint32_t *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < vcpu_msr_count; i++)
		if (msr_offered(vcpu_msr_list[i]))
			out[n++] = vcpu_msr_list[i];
	return n;
}

/*
 * IA32_PKRS (the PKS series' vmx_{get,set}_msr): the CPU must offer PKS and
 * a guest access needs PKS in the guest's CPUID. It lives in the VMCS
 * (GUEST_IA32_PKRS, swapped by the load controls) and is read from there
 * when asked, never at every exit.
 */
static bool pkrs_usable(struct vcpu *v, bool host)
{
	return vmx_config.pks && (host || vcpu_cpuid_has(v, FEAT_PKS));
}

/* __kvm_set_msr's checks use 48-bit linear addresses: LA57 is never offered. */
static bool canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* kvm_pat_valid(): every entry UC, WC, WT, WP, WB or UC-. */
static bool valid_pat(uint64_t pat)
{
	for (int i = 0; i < 8; i++) {
		uint8_t t = pat >> (8 * i) & 0xff;

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

/* kvm_is_supported_user_return_msr(MSR_TSC_AUX): the CPU has RDTSCP or RDPID. */
static bool host_has_tsc_aux(void)
{
	return (cpuid(0x80000001, 0).edx & (1u << 27)) ||
	       (cpuid(0, 0).eax >= 7 && (cpuid(7, 0).ecx & (1u << 22)));
}

static bool host_has_nx(void)
{
	return cpuid(0x80000001, 0).edx & (1u << 20);
}

/* boot_cpu_has(X86_FEATURE_IBPB): Intel's IBRS/IBPB flag or AMD's IBPB. */
static bool host_has_ibpb(void)
{
	return (cpuid(0, 0).eax >= 7 && (cpuid(7, 0).edx & (1u << 26))) ||
	       (cpuid(0x80000000, 0).eax >= 0x80000008 && (cpuid(0x80000008, 0).ebx & (1u << 12)));
}

/* guest_has_spec_ctrl_msr() and guest_has_pred_cmd_msr(). */
static bool guest_has_spec_ctrl(const struct vcpu *v)
{
	return vcpu_cpuid_has(v, FEAT_SPEC_CTRL) || vcpu_cpuid_has(v, FEAT_AMD_STIBP) ||
	       vcpu_cpuid_has(v, FEAT_AMD_IBRS) || vcpu_cpuid_has(v, FEAT_AMD_SSBD);
}

static bool guest_has_pred_cmd(const struct vcpu *v)
{
	return vcpu_cpuid_has(v, FEAT_SPEC_CTRL) || vcpu_cpuid_has(v, FEAT_AMD_IBPB);
}

static bool paging(void)
{
	return vmcs_readl(VMCS_CR0_READ_SHADOW) & CR0_PG;
}

/* ---- EFER: set_efer(), __kvm_valid_efer() ---------------------------- */

static int set_efer(struct vcpu *v, uint64_t val, bool host)
{
	uint64_t old = vmcs_read64(VMCS_GUEST_IA32_EFER);
	uint64_t known = EFER_SCE | EFER_LME | EFER_LMA | (host_has_nx() ? EFER_NXE : 0);

	if (val & ~known) /* efer_reserved_bits, for the host too */
		return -1;
	if (!host) {
		if ((val & (EFER_LME | EFER_LMA)) && !vcpu_cpuid_has(v, FEAT_LM))
			return -1;
		if ((val & EFER_NXE) && !vcpu_cpuid_has(v, FEAT_NX))
			return -1;
		if (paging() && ((val ^ old) & EFER_LME))
			return -1;
	}
	/* LMA is the CPU's: neither the guest nor the host sets it. */
	val = (val & ~EFER_LMA) | (old & EFER_LMA);
	/*
	 * KVM lets the host change LME while paging is on and keeps LME out
	 * of the CPU's EFER until LMA follows; here the VMCS holds the
	 * architectural EFER, which VM entry refuses with CR0.PG = 1 and
	 * LME != LMA (SDM 26.3.1.1), so that one host write is refused as
	 * KVM_SET_SREGS refuses it. A guest cannot reach it (LME is fixed
	 * while paging).
	 */
	if (paging() && !(val & EFER_LME) != !(val & EFER_LMA))
		return -1;
	vcpu_sync_long_mode(v, val);
	return 0;
}

/* ---- IA32_APIC_BASE: kvm_set_apic_base() ------------------------------ */

enum apic_mode { APIC_DISABLED, APIC_INVALID, APIC_XAPIC, APIC_X2APIC };

static enum apic_mode apic_mode(uint64_t base)
{
	return (enum apic_mode)((base & APIC_BASE_ENABLE ? 2 : 0) |
				(base & APIC_BASE_EXTD ? 1 : 0));
}

static int set_apic_base(struct vcpu *v, uint64_t val, bool host)
{
	enum apic_mode old = apic_mode(v->apic_base), new = apic_mode(val);
	uint64_t reserved = vcpu_reserved_gpa_bits(v) | 0x2ff |
			    (vcpu_cpuid_has(v, FEAT_X2APIC) ? 0 : APIC_BASE_EXTD);

	if ((val & reserved) || new == APIC_INVALID)
		return -1;
	if (!host) {
		if (old == APIC_X2APIC && new == APIC_XAPIC)
			return -1;
		if (old == APIC_DISABLED && new == APIC_X2APIC)
			return -1;
	}
	v->apic_base = val;
	/* The checks above are kvm_set_apic_base's; the APIC applies the move. */
	if (v->apic)
		lapic_set_base(v->apic, val, true);
	return 0;
}

/* ---- IA32_MISC_ENABLE (kvm_set_msr_common) ---------------------------- */

static int set_misc_enable(struct vcpu *v, uint64_t val, bool host)
{
	uint64_t old = v->msrs.misc_enable;

	if (!host) {
		/* BTS and PEBS unavailable are read-only; EMON ignores writes. */
		if ((old ^ val) & (MISC_ENABLE_BTS_UNAVAIL | MISC_ENABLE_PEBS_UNAVAIL))
			return -1;
		val = (val & ~MISC_ENABLE_EMON) | (old & MISC_ENABLE_EMON);
	}
	/* With KVM's default quirks every other bit is stored as written. */
	v->msrs.misc_enable = val;
	return 0;
}

/* ---- MTRRs: kvm_mtrr_valid(), kvm_mtrr_get_msr(), kvm_mtrr_set_msr() --- */

#define MTRR_CAP_VALUE (0x500ull | VCPU_MTRR_VAR) /* WC and fixed ranges, 8 variable */

/* UC, WC, WT, WP, WB; 2, 3 and 7 and above are reserved. */
static bool mtrr_type_ok(unsigned t)
{
	return t < 8 && ((1u << t) & 0x73);
}

/* The storage of an MTRR MSR, or NULL for any other MSR. */
static uint64_t *mtrr_slot(struct vcpu *v, uint32_t msr)
{
	if (msr >= MSR_MTRR_PHYS_BASE0 && msr < MSR_MTRR_PHYS_BASE0 + 2 * VCPU_MTRR_VAR)
		return &v->msrs.mtrr_var[msr - MSR_MTRR_PHYS_BASE0];
	if (msr == MSR_MTRR_FIX_64K_00000)
		return &v->msrs.mtrr_fixed[0];
	if (msr == MSR_MTRR_FIX_16K_80000 || msr == MSR_MTRR_FIX_16K_A0000)
		return &v->msrs.mtrr_fixed[1 + msr - MSR_MTRR_FIX_16K_80000];
	if (msr >= MSR_MTRR_FIX_4K_C0000 && msr <= MSR_MTRR_FIX_4K_F8000)
		return &v->msrs.mtrr_fixed[3 + msr - MSR_MTRR_FIX_4K_C0000];
	if (msr == MSR_MTRR_DEF_TYPE)
		return &v->msrs.mtrr_def_type;
	return NULL;
}

static bool mtrr_valid(const struct vcpu *v, uint32_t msr, uint64_t val)
{
	if (msr == MSR_MTRR_DEF_TYPE)
		return !(val & ~0xcffull) && mtrr_type_ok(val & 0xff);
	if (msr >= MSR_MTRR_FIX_64K_00000 && msr <= MSR_MTRR_FIX_4K_F8000) {
		for (int i = 0; i < 8; i++)
			if (!mtrr_type_ok(val >> (8 * i) & 0xff))
				return false;
		return true;
	}
	if (!(msr & 1)) /* PHYSBASE: type, then the base below MAXPHYADDR */
		return mtrr_type_ok(val & 0xff) && !(val & (vcpu_reserved_gpa_bits(v) | 0xf00));
	return !(val & (vcpu_reserved_gpa_bits(v) | 0x7ff)); /* PHYSMASK */
}

/* ---- the TSC: kvm_synchronize_tsc(), adjust_tsc_offset_guest() -------- */

static uint64_t tsc_sync_count;

/* The VM's vCPU that synchronised its TSC last (KVM's cur_tsc_offset), or NULL. */
static const struct vcpu *tsc_last_sync(const struct vcpu *v)
{
	const struct vcpu *last = v->msrs.tsc_sync_gen ? v : NULL;

	for (unsigned i = 0; i < v->vm->n_vcpus; i++) {
		const struct vcpu *o = v->vm->vcpus[i];

		if (o && o->msrs.tsc_sync_gen &&
		    (!last || o->msrs.tsc_sync_gen > last->msrs.tsc_sync_gen))
			last = o;
	}
	return last;
}

/*
 * A host write of the TSC (and vCPU creation, with 0). As in KVM, a write
 * of 0 joins the TSC the VM's vCPUs share (vCPU creation and hotplug);
 * any other value sets this vCPU's TSC. (KVM also matches values within
 * a second of the VM's TSC; without the TSC frequency that is left out.)
 */
static void tsc_synchronize(struct vcpu *v, uint64_t val)
{
	const struct vcpu *last = tsc_last_sync(v);
	uint64_t offset = val == 0 && last ? last->msrs.tsc_sync_offset : val - rdtsc();

	v->msrs.tsc_sync_gen = ++tsc_sync_count;
	v->msrs.tsc_sync_offset = offset;
	vcpu_set_tsc_offset(v, offset);
}

/* adjust_tsc_offset_guest(): the guest's writes move this vCPU's TSC by delta. */
static void tsc_adjust_guest(struct vcpu *v, uint64_t delta)
{
	vcpu_set_tsc_offset(v, v->tsc_offset + delta);
}

/* ---- reads -------------------------------------------------------------- */

/*
 * The feature MSRs (msr_based_features_all without the AMD and nested VMX
 * ones): what a new vCPU holds. ARCH_CAPABILITIES and PERF_CAPABILITIES
 * are 0 (no mitigation bits claimed, no PMU); IA32_UCODE_REV is the value
 * a new vCPU reports (KVM's microcode_version default), not the host's.
 */
const uint32_t msr_feature_list[] = {MSR_IA32_ARCH_CAPABILITIES, MSR_IA32_PERF_CAPABILITIES,
				     MSR_IA32_UCODE_REV};
const unsigned msr_feature_count = sizeof(msr_feature_list) / sizeof(msr_feature_list[0]);

int msr_feature_read(uint32_t msr, uint64_t *val)
{
	switch (msr) {
	case MSR_IA32_ARCH_CAPABILITIES:
	case MSR_IA32_PERF_CAPABILITIES:
		*val = 0;
		return 0;
	case MSR_IA32_UCODE_REV:
		*val = UCODE_REV_DEFAULT;
		return 0;
	default:
		return -1;
	}
}

int vcpu_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val, bool host)
{
	uint64_t *mtrr;

	/* kvm_x2apic_msr_read: #GP without an in-kernel APIC in x2APIC mode. */
	if (msr >= LAPIC_MSR_X2APIC_FIRST && msr <= LAPIC_MSR_X2APIC_LAST)
		return v->apic ? lapic_x2apic_msr_read(v->apic, msr, val) : -1;
	switch (msr) {
	case LAPIC_MSR_TSC_DEADLINE: /* kvm_get_lapic_tscdeadline_msr */
		*val = v->apic ? lapic_get_tscdeadline(v->apic) : 0;
		break;
	case MSR_IA32_EFER:
		*val = vmcs_read64(VMCS_GUEST_IA32_EFER);
		break;
	case MSR_IA32_PAT:
		*val = vmcs_read64(VMCS_GUEST_IA32_PAT);
		break;
	case MSR_IA32_SYSENTER_CS:
		*val = vmcs_read32(VMCS_GUEST_SYSENTER_CS);
		break;
	case MSR_IA32_SYSENTER_ESP:
		*val = vmcs_readl(VMCS_GUEST_SYSENTER_ESP);
		break;
	case MSR_IA32_SYSENTER_EIP:
		*val = vmcs_readl(VMCS_GUEST_SYSENTER_EIP);
		break;
	case MSR_FS_BASE:
		*val = vmcs_readl(VMCS_GUEST_FS_BASE);
		break;
	case MSR_GS_BASE:
		*val = vmcs_readl(VMCS_GUEST_GS_BASE);
		break;
	case MSR_KERNEL_GS_BASE:
		/* The vCPU is loaded: the CPU has it, SWAPGS included (no exit). */
		*val = rdmsr(MSR_KERNEL_GS_BASE);
		break;
	case MSR_STAR:
		*val = v->star | v->msrs.star_low;
		break;
	case MSR_LSTAR:
		*val = v->lstar;
		break;
	case MSR_CSTAR:
		*val = v->cstar;
		break;
	case MSR_FMASK:
		*val = v->fmask;
		break;
	case MSR_IA32_PKRS:
		if (!pkrs_usable(v, host))
			return -1;
		*val = vmcs_read64(VMCS_GUEST_IA32_PKRS);
		break;
	case MSR_TSC_AUX:
		/* __kvm_get_msr: the guest needs RDTSCP or RDPID in its CPUID. */
		if (!host && (!host_has_tsc_aux() ||
			      (!vcpu_cpuid_has(v, FEAT_RDTSCP) && !vcpu_cpuid_has(v, FEAT_RDPID))))
			return -1;
		*val = v->tsc_aux;
		break;
	case MSR_IA32_TSC:
		*val = rdtsc() + vmcs_read64(VMCS_TSC_OFFSET);
		break;
	case MSR_IA32_TSC_ADJUST:
		*val = v->msrs.tsc_adjust;
		break;
	case MSR_IA32_APIC_BASE:
		*val = v->apic_base;
		break;
	case MSR_IA32_MISC_ENABLE:
		*val = v->msrs.misc_enable;
		break;
	case MSR_IA32_UCODE_REV:
		*val = v->msrs.ucode_rev;
		break;
	case MSR_IA32_POWER_CTL:
		*val = v->msrs.power_ctl;
		break;
	case MSR_PLATFORM_INFO:
		if (!host && !v->vm->guest_can_read_platform_info)
			return -1;
		*val = v->msrs.platform_info;
		break;
	case MSR_MISC_FEATURES_ENABLES:
		*val = v->msrs.misc_features;
		break;
	case MSR_MTRR_CAP:
		*val = MTRR_CAP_VALUE;
		break;
	case MSR_IA32_SPEC_CTRL:
		/* vmx_get_msr: hidden from the guest; the host reads 0. */
		if (!host && !guest_has_spec_ctrl(v))
			return -1;
		*val = 0;
		break;
	case MSR_IA32_ARCH_CAPABILITIES:
		if (!host && !vcpu_cpuid_has(v, FEAT_ARCH_CAPS))
			return -1;
		*val = v->msrs.arch_caps;
		break;
	case MSR_IA32_PERF_CAPABILITIES:
		if (!host && !vcpu_cpuid_has(v, FEAT_PDCM))
			return -1;
		*val = v->msrs.perf_caps;
		break;
	default:
		mtrr = mtrr_slot(v, msr);
		if (!mtrr) /* PRED_CMD is write-only; the rest is unknown */
			return msr == MSR_IA32_PRED_CMD ? MSR_REFUSED : MSR_UNKNOWN;
		*val = *mtrr;
		break;
	}
	return 0;
}

/* ---- writes ------------------------------------------------------------- */

int vcpu_msr_write(struct vcpu *v, uint32_t msr, uint64_t val, bool host)
{
	uint64_t *mtrr;

	/* kvm_x2apic_msr_write */
	if (msr >= LAPIC_MSR_X2APIC_FIRST && msr <= LAPIC_MSR_X2APIC_LAST)
		return v->apic ? lapic_x2apic_msr_write(v->apic, msr, val) : -1;
	switch (msr) {
	case LAPIC_MSR_TSC_DEADLINE: /* kvm_set_lapic_tscdeadline_msr: dropped without an APIC */
		if (v->apic)
			lapic_set_tscdeadline(v->apic, val);
		break;
	case MSR_IA32_EFER:
		return set_efer(v, val, host);
	case MSR_IA32_PAT:
		if (!valid_pat(val))
			return -1;
		vmcs_write64(VMCS_GUEST_IA32_PAT, val);
		break;
	case MSR_IA32_SYSENTER_CS:
		vmcs_write32(VMCS_GUEST_SYSENTER_CS, (uint32_t)val);
		break;
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		/*
		 * __kvm_set_msr makes these canonical rather than refusing
		 * them (AMD ignores bits 63:32), so VM entry never sees a
		 * non-canonical value.
		 */
		val = (uint64_t)((int64_t)(val << 16) >> 16);
		if (msr == MSR_IA32_SYSENTER_ESP)
			vmcs_writel(VMCS_GUEST_SYSENTER_ESP, val);
		else
			vmcs_writel(VMCS_GUEST_SYSENTER_EIP, val);
		break;
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_LSTAR:
	case MSR_CSTAR:
		/* __kvm_set_msr: non-canonical is refused, host-initiated or not. */
		if (!canonical(val))
			return -1;
		if (msr == MSR_FS_BASE) {
			vmcs_writel(VMCS_GUEST_FS_BASE, val);
			break;
		}
		if (msr == MSR_GS_BASE) {
			vmcs_writel(VMCS_GUEST_GS_BASE, val);
			break;
		}
		if (msr == MSR_KERNEL_GS_BASE)
			v->kernel_gs_base = val;
		else if (msr == MSR_LSTAR)
			v->lstar = val;
		else
			v->cstar = val;
		wrmsr(msr, val); /* canonical: the CPU takes it */
		break;
	case MSR_STAR:
		/*
		 * Any value reads back (KVM hands it to the CPU). Intel marks
		 * bits 31:0 reserved (SYSCALL's 32-bit target on AMD) and
		 * SYSCALL/SYSRET ignore them, so only bits 63:32 go to the CPU.
		 */
		v->star = val & ~0xffffffffull;
		v->msrs.star_low = (uint32_t)val;
		wrmsr(msr, v->star);
		break;
	case MSR_FMASK:
		/* Bits 63:32 are reserved: the CPU's #GP (KVM's wrmsrl_safe) is the guest's. */
		if (val >> 32)
			return -1;
		v->fmask = val;
		wrmsr(msr, val);
		break;
	case MSR_IA32_PKRS:
		/* kvm_pkrs_valid(): bits 63:32 are reserved (#GP, or a short count). */
		if (!pkrs_usable(v, host) || (val >> 32))
			return -1;
		vmcs_write64(VMCS_GUEST_IA32_PKRS, val);
		break;
	case MSR_TSC_AUX:
		if (!host_has_tsc_aux()) {
			/* Not in the CPU: only the host's 0 is taken (the list stays the same). */
			if (!host || val)
				return -1;
			v->tsc_aux = 0;
			break;
		}
		if (!host && !vcpu_cpuid_has(v, FEAT_RDTSCP) && !vcpu_cpuid_has(v, FEAT_RDPID))
			return -1;
		/* Bits 63:32 are reserved on Intel; elsewhere they are dropped. */
		if (vcpu_cpuid_is_intel(v) && (val >> 32))
			return -1;
		v->tsc_aux = (uint32_t)val;
		wrmsr(msr, v->tsc_aux);
		break;
	case MSR_IA32_TSC:
		if (host) {
			tsc_synchronize(v, val);
		} else {
			uint64_t delta = val - rdtsc() - vmcs_read64(VMCS_TSC_OFFSET);

			tsc_adjust_guest(v, delta);
			v->msrs.tsc_adjust += delta;
		}
		break;
	case MSR_IA32_TSC_ADJUST:
		/* Without the CPUID flag, KVM ignores the write (no #GP). */
		if (vcpu_cpuid_has(v, FEAT_TSC_ADJUST)) {
			if (!host)
				tsc_adjust_guest(v, val - v->msrs.tsc_adjust);
			v->msrs.tsc_adjust = val;
		}
		break;
	case MSR_IA32_APIC_BASE:
		return set_apic_base(v, val, host);
	case MSR_IA32_MISC_ENABLE:
		return set_misc_enable(v, val, host);
	case MSR_IA32_UCODE_REV:
		if (host) /* the guest's writes are ignored */
			v->msrs.ucode_rev = val;
		break;
	case MSR_IA32_POWER_CTL:
		v->msrs.power_ctl = val;
		break;
	case MSR_PLATFORM_INFO:
		/* Host only; CPUID faulting cannot be taken away while it is on. */
		if (!host || (!(val & PLATFORM_INFO_CPUID_FAULT) && vcpu_cpuid_faulting(v)))
			return -1;
		v->msrs.platform_info = val;
		break;
	case MSR_MISC_FEATURES_ENABLES:
		if ((val & ~MISC_FEATURES_CPUID_FAULT) ||
		    ((val & MISC_FEATURES_CPUID_FAULT) &&
		     !(v->msrs.platform_info & PLATFORM_INFO_CPUID_FAULT)))
			return -1;
		v->msrs.misc_features = val;
		break;
	case MSR_IA32_SPEC_CTRL:
		/*
		 * Hidden from guests (the value would have to be switched at
		 * every VM entry and exit); the host may write 0, the value
		 * the guest runs with.
		 */
		if ((!host && !guest_has_spec_ctrl(v)) || val)
			return -1;
		break;
	case MSR_IA32_PRED_CMD:
		if (!host && !guest_has_pred_cmd(v))
			return -1;
		if (val & ~PRED_CMD_IBPB)
			return -1;
		if (!val)
			break;
		if (!host_has_ibpb())
			return -1;
		wrmsr(MSR_IA32_PRED_CMD, PRED_CMD_IBPB);
		break;
	case MSR_IA32_ARCH_CAPABILITIES:
		if (!host) /* read-only for the guest */
			return -1;
		v->msrs.arch_caps = val;
		break;
	case MSR_IA32_PERF_CAPABILITIES:
		/* Host only, and only what the (absent) PMU supports: 0. */
		if (!host || val)
			return -1;
		v->msrs.perf_caps = val;
		break;
	default:
		mtrr = mtrr_slot(v, msr);
		if (!mtrr) /* MTRRCAP is read-only; the rest is unknown */
			return msr == MSR_MTRR_CAP ? MSR_REFUSED : MSR_UNKNOWN;
		if (!mtrr_valid(v, msr, val))
			return MSR_REFUSED;
		*mtrr = val;
		break;
	}
	return 0;
}

/* ---- the VMX MSR bitmap (SDM 25.6.9) ------------------------------------ */

/*
 * MSRs safe to pass through: the CPU keeps them in the VMCS guest state,
 * and its own checks on a guest WRMSR (#GP for a non-canonical base, for
 * PKRS bits 63:32) are the ones vcpu_msr_write() makes. SYSENTER_ESP/EIP
 * stay emulated: KVM takes a non-canonical value there (and makes it
 * canonical), the CPU would raise #GP. PKRS only where the guest may have
 * it at all (pkrs_usable): else the exit gives the guest its #GP.
 */
static const uint32_t passthrough_msrs[] = {MSR_FS_BASE, MSR_GS_BASE, MSR_IA32_PKRS};

/* An MSR of passthrough_msrs that this vCPU may touch without an exit. */
static bool passthrough_possible(struct vcpu *v, uint32_t msr)
{
	return msr != MSR_IA32_PKRS || pkrs_usable(v, false);
}

/* The read bit of @msr (write bits are 2 KiB further), or NULL outside the bitmap's ranges. */
static uint8_t *bitmap_byte(uint8_t *bitmap, uint32_t msr, unsigned *bit)
{
	*bit = msr & 7;
	if (msr <= 0x1fff)
		return bitmap + msr / 8;
	if (msr >= 0xc0000000 && msr <= 0xc0001fff)
		return bitmap + 1024 + (msr - 0xc0000000) / 8;
	return NULL;
}

void vcpu_msr_bitmap_update(struct vcpu *v)
{
	uint8_t *bitmap = phys_to_virt(v->msr_bitmap);

	memset(bitmap, 0xff, PAGE_SIZE);
	for (unsigned i = 0; i < sizeof(passthrough_msrs) / sizeof(passthrough_msrs[0]); i++) {
		uint32_t msr = passthrough_msrs[i];
		unsigned bit;
		uint8_t *b = bitmap_byte(bitmap, msr, &bit);

		if (!passthrough_possible(v, msr))
			continue;
		if (msr_access_allowed(v->vm->msr_filter, v->vm->msr_allowlist, msr,
				       KVM_MSR_FILTER_READ))
			b[0] &= (uint8_t) ~(1u << bit);
		if (msr_access_allowed(v->vm->msr_filter, v->vm->msr_allowlist, msr,
				       KVM_MSR_FILTER_WRITE))
			b[2048] &= (uint8_t) ~(1u << bit);
	}
}

void vcpu_msr_reset(struct vcpu *v)
{
	memset(&v->msrs, 0, sizeof(v->msrs));
	/* kvm_vcpu_reset */
	v->msrs.misc_enable = MISC_ENABLE_PEBS_UNAVAIL | MISC_ENABLE_BTS_UNAVAIL;
	/* __vmx_vcpu_reset */
	v->msrs.ucode_rev = UCODE_REV_DEFAULT;
	v->msrs.platform_info = PLATFORM_INFO_CPUID_FAULT; /* kvm_arch_vcpu_create */
	v->msrs.misc_features = 0;
	/* kvm_lapic_reset: the default base, enabled; the BSP flag on vCPU 0. */
	v->apic_base = APIC_BASE_DEFAULT | APIC_BASE_ENABLE | (v->id == 0 ? APIC_BASE_BSP : 0);
	/* vmx_vcpu_reset and kvm_arch_vcpu_create (PAT); the others start at 0. */
	vcpu_sync_long_mode(v, 0);
	vmcs_write64(VMCS_GUEST_IA32_PAT, PAT_RESET_VALUE);
	vmcs_write32(VMCS_GUEST_SYSENTER_CS, 0);
	vmcs_writel(VMCS_GUEST_SYSENTER_ESP, 0);
	vmcs_writel(VMCS_GUEST_SYSENTER_EIP, 0);
	v->star = v->lstar = v->cstar = v->fmask = v->kernel_gs_base = v->tsc_aux = 0;
	wrmsr(MSR_STAR, 0);
	wrmsr(MSR_LSTAR, 0);
	wrmsr(MSR_CSTAR, 0);
	wrmsr(MSR_FMASK, 0);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
	if (host_has_tsc_aux())
		wrmsr(MSR_TSC_AUX, 0);
	/* kvm_arch_vcpu_postcreate: kvm_synchronize_tsc(vcpu, 0). */
	tsc_synchronize(v, 0);
}
