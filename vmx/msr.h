/* SPDX-License-Identifier: MIT */
/*
 * Guest MSR emulation shared by the exit handlers (the guest's RDMSR and
 * WRMSR) and the KVM API (KVM_GET/SET_MSRS and the MSRS sync set, which
 * are host-initiated), after Linux 6.1's __kvm_set_msr, vmx_{get,set}_msr
 * and kvm_{get,set}_msr_common.
 */
#ifndef VMX_MSR_H
#define VMX_MSR_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

#define VCPU_MTRR_VAR	8  /* variable-range pairs (KVM_NR_VAR_MTRR) */
#define VCPU_MTRR_FIXED 11 /* 64K_00000, 16K_80000, 16K_A0000, 4K_C0000 .. 4K_F8000 */

/* The MSR state of a vCPU that neither the VMCS nor struct vcpu's syscall fields hold. */
struct vcpu_msrs {
	uint64_t misc_enable;
	uint64_t tsc_adjust;
	uint64_t ucode_rev;
	uint64_t power_ctl; /* MSR_IA32_POWER_CTL: kept, nothing else (kvm_set_msr_common) */
	uint64_t platform_info, misc_features; /* MSR_PLATFORM_INFO, MSR_MISC_FEATURES_ENABLES */
	uint32_t star_low;	       /* IA32_STAR[31:0]: the guest's, kept out of the CPU */
	uint64_t arch_caps, perf_caps; /* host-written only: the guest cannot see them */
	uint64_t mtrr_def_type;
	uint64_t mtrr_fixed[VCPU_MTRR_FIXED];
	uint64_t mtrr_var[2 * VCPU_MTRR_VAR]; /* PHYSBASE0, PHYSMASK0, PHYSBASE1, ... */
	/* The vCPU's last TSC synchronisation (creation, or a host write): */
	uint64_t tsc_sync_gen; /* 0: none yet */
	uint64_t tsc_sync_offset;
};

/*
 * Every MSR KVM_GET_MSRS / KVM_SET_MSRS know (KVM_GET_MSR_INDEX_LIST),
 * IA32_TSC first. Each can be read by the host and written back with the
 * value read (IA32_MTRRCAP, read-only, is readable by number but not
 * listed, as upstream's lists do not hold it).
 */
extern const uint32_t vcpu_msr_list[];
extern const unsigned vcpu_msr_count;
/*
 * KVM_GET_MSR_INDEX_LIST: the MSRs of vcpu_msr_list this CPU can give a
 * vCPU (IA32_PKRS only with guest PKS), into @out (room for
 * VCPU_MSR_LIST_MAX); returns how many.
 */
#define VCPU_MSR_LIST_MAX 64
unsigned vcpu_msr_index_list(uint32_t *out);

/*
 * CPUID faulting is on (MSR_MISC_FEATURES_ENABLES): CPUID at CPL > 0 is
 * #GP. Inline: it is asked at every CPUID exit. Needs vmx/vcpu.h.
 */
#define vcpu_cpuid_faulting(v) (((v)->msrs.misc_features & MISC_FEATURES_CPUID_FAULT) != 0)

/*
 * KVM_GET_MSR_FEATURE_INDEX_LIST: the MSRs that describe what a vCPU can be
 * given (kvm_get_msr_feature); KVM_GET_MSRS on /dev/kvm reads them with
 * msr_feature_read(): 0, or -1 for an MSR that is not one of them.
 */
extern const uint32_t msr_feature_list[];
extern const unsigned msr_feature_count;
int msr_feature_read(uint32_t msr, uint64_t *val);

/*
 * 0, or negative where the access is refused: #GP for the guest's
 * RDMSR/WRMSR (host false), the end of the count for KVM_GET/SET_MSRS
 * (host true, KVM's host_initiated). MSR_UNKNOWN for an MSR not emulated
 * at all (KVM_MSR_RET_INVALID), MSR_REFUSED for one refused for this
 * access or value (KVM's 1). No value reaches a hardware MSR unchecked.
 * The vCPU must be loaded (vcpu_load). The MSR filter is the caller's
 * (exit.c): host accesses bypass it.
 */
#define MSR_REFUSED  (-1)
#define MSR_UNKNOWN  (-2)
#define MSR_FILTERED (-3) /* denied by the VM's MSR filter (KVM_MSR_RET_FILTERED) */
int vcpu_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val, bool host);
int vcpu_msr_write(struct vcpu *v, uint32_t msr, uint64_t val, bool host);

/*
 * The MSRs' power-on values (kvm_vcpu_reset and vmx_vcpu_reset at vCPU
 * creation; kvm_lapic_reset for IA32_APIC_BASE; kvm_synchronize_tsc for
 * the TSC, which joins the TSC of the VM's other vCPUs). Call it once the
 * vCPU is loaded and its registers are reset (after KVM_SET_SREGS's
 * apic_base), before it is added to its VM's vcpus[].
 */
void vcpu_msr_reset(struct vcpu *v);

/*
 * The VMX MSR bitmap of @v, computed in one place from its VM's MSR
 * filter and allow-lists and its CPUID: an MSR the CPU keeps in the VMCS
 * guest state and checks as we would (FS_BASE, GS_BASE, and IA32_PKRS when
 * the guest has PKS) is passed through for each access the filter allows;
 * every other MSR, and every access the filter denies, exits. At vCPU
 * creation, on KVM_SET_CPUID2 and whenever the filter or the allow-lists
 * change.
 */
void vcpu_msr_bitmap_update(struct vcpu *v);

#endif
