/* SPDX-License-Identifier: MIT */
/*
 * What CPUID tells a guest: a per-vCPU table (KVM_SET_CPUID2), by default
 * the supported set (KVM_GET_SUPPORTED_CPUID): the host's leaves minus what
 * the hypervisor does not virtualise, plus its own leaves at 0x40000000.
 */
#ifndef VMX_CPUID_H
#define VMX_CPUID_H

#include <stdint.h>

#include "abi/kvm.h"
#include "hv/x86.h"

#define VCPU_CPUID_MAX 80

struct cpuid_table {
	uint32_t nent;
	struct kvm_cpuid_entry2 e[VCPU_CPUID_MAX];
};

struct vcpu;

/* Fill out with the supported leaves; the count, or -E2BIG past max. */
int cpuid_supported(struct kvm_cpuid_entry2 *out, uint32_t max);

/* Clear, in place, the features no guest may see (VMX, SMX, PKS, ...). */
void cpuid_mask(struct kvm_cpuid_entry2 *e);

/* The guest's answer for (leaf, subleaf): the table's entry with the
 * per-vCPU fields (APIC ID, OSXSAVE) filled in; zeros where none. */
struct cpuid_regs vcpu_cpuid(struct vcpu *v, uint32_t leaf, uint32_t subleaf);

#endif
