// SPDX-License-Identifier: MIT
/*
 * The MSRs a guest may read and write, emulated in one place: used by the
 * RDMSR/WRMSR exits and by KVM_GET_MSRS / KVM_SET_MSRS. Guest-state MSRs
 * live in the VMCS; the SYSCALL MSRs, KERNEL_GS_BASE and TSC_AUX are kept
 * per vCPU and loaded into the CPU while it runs (vcpu_load). Any other MSR
 * is refused (#GP for the guest, a short count for the API).
 */
#include <stdbool.h>

#include "hv/msr.h"
#include "hv/x86.h"
#include "vmx/msr.h"
#include "vmx/vcpu.h"
#include "vmx/vmx_ops.h"

const uint32_t vcpu_msr_list[] = {
	MSR_IA32_TSC, MSR_IA32_APIC_BASE, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP,
	MSR_IA32_SYSENTER_EIP, MSR_IA32_MISC_ENABLE, MSR_IA32_PAT, MSR_IA32_EFER,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_FMASK, MSR_FS_BASE, MSR_GS_BASE,
	MSR_KERNEL_GS_BASE, MSR_TSC_AUX,
};
const unsigned vcpu_msr_count = sizeof(vcpu_msr_list) / sizeof(vcpu_msr_list[0]);


static bool canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

static bool valid_pat(uint64_t pat)
{
	for (int i = 0; i < 8; i++) {
		uint8_t t = pat >> (8 * i) & 0xff;

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

static bool has_rdtscp(void)
{
	return cpuid(0x80000001, 0).edx & (1u << 27);
}

int vcpu_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	switch (msr) {
	case MSR_IA32_EFER: *val = vmcs_read64(VMCS_GUEST_IA32_EFER); break;
	case MSR_IA32_PAT: *val = vmcs_read64(VMCS_GUEST_IA32_PAT); break;
	case MSR_IA32_SYSENTER_CS: *val = vmcs_read32(VMCS_GUEST_SYSENTER_CS); break;
	case MSR_IA32_SYSENTER_ESP: *val = vmcs_readl(VMCS_GUEST_SYSENTER_ESP); break;
	case MSR_IA32_SYSENTER_EIP: *val = vmcs_readl(VMCS_GUEST_SYSENTER_EIP); break;
	case MSR_FS_BASE: *val = vmcs_readl(VMCS_GUEST_FS_BASE); break;
	case MSR_GS_BASE: *val = vmcs_readl(VMCS_GUEST_GS_BASE); break;
	case MSR_KERNEL_GS_BASE: *val = v->kernel_gs_base; break;
	case MSR_STAR: *val = v->star; break;
	case MSR_LSTAR: *val = v->lstar; break;
	case MSR_CSTAR: *val = v->cstar; break;
	case MSR_FMASK: *val = v->fmask; break;
	case MSR_TSC_AUX:
		if (!has_rdtscp())
			return -1;
		*val = v->tsc_aux;
		break;
	case MSR_IA32_TSC: *val = rdtsc() + vmcs_read64(VMCS_TSC_OFFSET); break;
	case MSR_IA32_APIC_BASE: *val = v->apic_base; break;
	/* Fast strings on; branch-trace and PEBS unavailable. */
	case MSR_IA32_MISC_ENABLE: *val = 1 | 1u << 11 | 1u << 12; break;
	default: return -1;
	}
	return 0;
}

int vcpu_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	switch (msr) {
	case MSR_IA32_EFER: {
		uint64_t old = vmcs_read64(VMCS_GUEST_IA32_EFER);

		if (val & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
			return -1;
		/* LME cannot change while paging is on; LMA is read-only. */
		if (((val ^ old) & EFER_LME) && (vmcs_readl(VMCS_CR0_READ_SHADOW) & CR0_PG))
			return -1;
		vcpu_sync_long_mode(v, (val & ~EFER_LMA) | (old & EFER_LMA));
		break;
	}
	case MSR_IA32_PAT:
		if (!valid_pat(val))
			return -1;
		vmcs_write64(VMCS_GUEST_IA32_PAT, val);
		break;
	case MSR_IA32_SYSENTER_CS: vmcs_write32(VMCS_GUEST_SYSENTER_CS, val); break;
	case MSR_IA32_SYSENTER_ESP: vmcs_writel(VMCS_GUEST_SYSENTER_ESP, val); break;
	case MSR_IA32_SYSENTER_EIP: vmcs_writel(VMCS_GUEST_SYSENTER_EIP, val); break;
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_LSTAR:
	case MSR_CSTAR:
		if (!canonical(val))
			return -1;
		if (msr == MSR_FS_BASE)
			vmcs_writel(VMCS_GUEST_FS_BASE, val);
		else if (msr == MSR_GS_BASE)
			vmcs_writel(VMCS_GUEST_GS_BASE, val);
		else if (msr == MSR_KERNEL_GS_BASE)
			v->kernel_gs_base = val;
		else if (msr == MSR_LSTAR)
			v->lstar = val;
		else
			v->cstar = val;
		if (msr != MSR_FS_BASE && msr != MSR_GS_BASE)
			wrmsr(msr, val);
		break;
	case MSR_STAR: v->star = val; wrmsr(msr, val); break;
	case MSR_FMASK: v->fmask = val; wrmsr(msr, val); break;
	case MSR_TSC_AUX:
		if (!has_rdtscp() || val >> 32)
			return -1;
		v->tsc_aux = val;
		wrmsr(msr, val);
		break;
	case MSR_IA32_TSC: vmcs_write64(VMCS_TSC_OFFSET, val - rdtsc()); break;
	case MSR_IA32_APIC_BASE:
		/* Only the BSP flag's keeper: no local APIC is emulated yet. */
		if (val & ~0xfffffffff900ull)
			return -1;
		v->apic_base = val;
		break;
	case MSR_IA32_MISC_ENABLE: break; /* writes ignored */
	default: return -1;
	}
	return 0;
}
