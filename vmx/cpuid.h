/* SPDX-License-Identifier: MIT */
/*
 * What CPUID tells a guest: a per-vCPU table (KVM_SET_CPUID2), by default
 * the supported set (KVM_GET_SUPPORTED_CPUID): the host's leaves reduced
 * to the features this hypervisor implements (KVM's kvm_set_cpu_caps and
 * __do_cpuid_func), plus its own leaves at 0x40000000.
 */
#ifndef VMX_CPUID_H
#define VMX_CPUID_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/kvm.h"
#include "hv/lib/x86.h"

#define VCPU_CPUID_MAX 80

struct cpuid_table {
	uint32_t nent;
	struct kvm_cpuid_entry2 e[VCPU_CPUID_MAX];
};

struct vcpu;

/* One feature flag: CPUID.(leaf, subleaf).reg[bit]. */
enum cpuid_reg { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };
struct cpuid_feature {
	uint32_t leaf, sub;
	enum cpuid_reg reg;
	unsigned bit;
};
#define CPUID_FEATURE(l, s, r, b) ((struct cpuid_feature){(l), (s), (r), (b)})

/* The flags the MSR emulation asks about (vmx/msr.c). */
#define FEAT_MTRR	  CPUID_FEATURE(1, 0, CPUID_EDX, 12)
#define FEAT_PDCM	  CPUID_FEATURE(1, 0, CPUID_ECX, 15)
#define FEAT_X2APIC	  CPUID_FEATURE(1, 0, CPUID_ECX, 21)
#define FEAT_TSC_DEADLINE CPUID_FEATURE(1, 0, CPUID_ECX, 24)
#define FEAT_TSC_ADJUST	  CPUID_FEATURE(7, 0, CPUID_EBX, 1)
#define FEAT_RDPID	  CPUID_FEATURE(7, 0, CPUID_ECX, 22)
#define FEAT_PKS	  CPUID_FEATURE(7, 0, CPUID_ECX, 31)
#define FEAT_SPEC_CTRL	  CPUID_FEATURE(7, 0, CPUID_EDX, 26)
#define FEAT_INTEL_STIBP  CPUID_FEATURE(7, 0, CPUID_EDX, 27)
#define FEAT_ARCH_CAPS	  CPUID_FEATURE(7, 0, CPUID_EDX, 29)
#define FEAT_SSBD	  CPUID_FEATURE(7, 0, CPUID_EDX, 31)
#define FEAT_NX		  CPUID_FEATURE(0x80000001, 0, CPUID_EDX, 20)
#define FEAT_RDTSCP	  CPUID_FEATURE(0x80000001, 0, CPUID_EDX, 27)
#define FEAT_LM		  CPUID_FEATURE(0x80000001, 0, CPUID_EDX, 29)
#define FEAT_AMD_IBPB	  CPUID_FEATURE(0x80000008, 0, CPUID_EBX, 12)
#define FEAT_AMD_IBRS	  CPUID_FEATURE(0x80000008, 0, CPUID_EBX, 14)
#define FEAT_AMD_STIBP	  CPUID_FEATURE(0x80000008, 0, CPUID_EBX, 15)
#define FEAT_AMD_SSBD	  CPUID_FEATURE(0x80000008, 0, CPUID_EBX, 24)

/* Fill out with the supported leaves; the count, or -E2BIG past max. */
int cpuid_supported(struct kvm_cpuid_entry2 *out, uint32_t max);

/*
 * Clear, in place, every feature flag outside the supported set, and empty
 * the leaves that describe features no guest may see (KVM_SET_CPUID2 uses
 * it on each entry, so the table stays within KVM_GET_SUPPORTED_CPUID).
 * Values that are not feature flags (vendor, family, cache and topology
 * descriptions) are left as given.
 */
void cpuid_mask(struct kvm_cpuid_entry2 *e);

/*
 * kvm_check_cpuid(): a table KVM_SET_CPUID2 may take. Leaf 0x80000008's
 * linear-address width (EAX[15:8]) must be 0, 48 or 57.
 */
bool cpuid_table_valid(const struct kvm_cpuid_entry2 *e, uint32_t nent);

/*
 * kvm_cpuid_check_equal(): whether @e (as KVM_SET_CPUID2 would store it,
 * per-vCPU fields filled in) is the vCPU's table, entry for entry. After
 * the first KVM_RUN only an equal table may be set again.
 */
bool vcpu_cpuid_equal(struct vcpu *v, const struct kvm_cpuid_entry2 *e, uint32_t nent);

/*
 * The guest's answer for (leaf, subleaf), as kvm_cpuid(): the table's
 * entry, or for an out-of-range leaf of an Intel guest the highest basic
 * leaf's, with the fields that follow the vCPU's state filled in (APIC ID,
 * OSXSAVE, OSPKE, the APIC flag, the XSAVE sizes of leaf 0xD); zeros where
 * none. Reads the VMCS: the vCPU must be loaded.
 */
struct cpuid_regs vcpu_cpuid(struct vcpu *v, uint32_t leaf, uint32_t subleaf);

/*
 * KVM_GET_CPUID2: the table's nent entries into out, with the same per-vCPU
 * fields vcpu_cpuid() fills in (so an entry equals the guest's CPUID for
 * its leaf and subleaf). Loads the vCPU.
 */
void vcpu_cpuid_get_table(struct vcpu *v, struct kvm_cpuid_entry2 *out);

/* guest_cpuid_has(): the flag in the vCPU's table, as set (no per-vCPU fields). */
bool vcpu_cpuid_has(const struct vcpu *v, struct cpuid_feature f);

/* cpuid_query_maxphyaddr(): CPUID.80000008H:EAX[7:0] of the table, 36 without it. */
unsigned vcpu_cpuid_maxphyaddr(const struct vcpu *v);

/*
 * kvm_vcpu_reserved_gpa_bits_raw(): rsvd_bits(maxphyaddr, 63), safe for
 * any MAXPHYADDR the table holds (64 and above reserve nothing).
 */
uint64_t vcpu_reserved_gpa_bits(const struct vcpu *v);

/* guest_cpuid_is_intel(): the table's vendor string is GenuineIntel. */
bool vcpu_cpuid_is_intel(const struct vcpu *v);

/*
 * __cr4_reserved_bits(guest_cpuid_has): CR4 bits whose feature the vCPU's
 * table lacks (OSXSAVE, SMEP, SMAP, FSGSBASE, PKE, LA57, UMIP, VMXE, PCIDE),
 * for MOV to CR4 and KVM_SET_SREGS to refuse.
 */
uint64_t vcpu_cpuid_cr4_reserved(const struct vcpu *v);

#endif
