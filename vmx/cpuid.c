// SPDX-License-Identifier: MIT
#include <string.h>

#include "abi/hv_guest.h"
#include "hv/errno.h"
#include "vmx/cpuid.h"
#include "vmx/xstate.h"
#include "vmx/vcpu.h"
#include "vmx/vmx_ops.h"

#define CPUID1_ECX_MONITOR (1u << 3)
#define CPUID1_ECX_VMX (1u << 5)
#define CPUID1_ECX_SMX (1u << 6)
#define CPUID1_ECX_PDCM (1u << 15)
#define CPUID1_ECX_X2APIC (1u << 21)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID1_ECX_OSXSAVE (1u << 27)
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID7_EBX_SGX (1u << 2)
#define CPUID7_ECX_WAITPKG (1u << 5)
#define CPUID7_ECX_PKS (1u << 31)
#define CPUIDD1_EAX_XSAVES (1u << 3)

/* Leaves whose subleaf (ECX) selects the answer. */
static int indexed(uint32_t leaf)
{
	return leaf == 4 || leaf == 7 || leaf == 0xb || leaf == 0xd || leaf == 0x1f;
}

void cpuid_mask(struct kvm_cpuid_entry2 *e)
{
	switch (e->function) {
	case 1:
		e->ecx &= ~(CPUID1_ECX_VMX | CPUID1_ECX_SMX | CPUID1_ECX_MONITOR | CPUID1_ECX_PDCM |
			    CPUID1_ECX_X2APIC | CPUID1_ECX_TSC_DEADLINE);
		e->ecx |= CPUID1_ECX_HYPERVISOR;
		break;
	case 7:
		if (e->index == 0) {
			e->ebx &= ~CPUID7_EBX_SGX;
			e->ecx &= ~(CPUID7_ECX_PKS | CPUID7_ECX_WAITPKG);
		}
		break;
	case 0xd: /* XSAVE: only the components a vCPU's save area holds */
		if (e->index == 0) {
			uint64_t held = xstate_guest_xcr0_mask();

			e->eax &= (uint32_t)held;
			e->edx &= (uint32_t)(held >> 32);
			e->ecx = (uint32_t)xstate_area_size();
		} else if (e->index == 1) {
			e->eax &= ~CPUIDD1_EAX_XSAVES; /* no IA32_XSS, XSAVES not enabled */
			e->ebx = e->ecx = e->edx = 0;
		} else if (e->index < 64 && !(xstate_guest_xcr0_mask() >> e->index & 1)) {
			e->eax = e->ebx = e->ecx = e->edx = 0;
		}
		break;
	case 5:   /* MONITOR/MWAIT: hidden */
	case 0xa: /* performance monitoring: not virtualised */
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	}
}

static int add(struct kvm_cpuid_entry2 *out, uint32_t max, uint32_t *n, uint32_t leaf,
	       uint32_t sub, struct cpuid_regs r)
{
	struct kvm_cpuid_entry2 *e;

	if (*n >= max)
		return -HV_E2BIG;
	e = &out[(*n)++];
	memset(e, 0, sizeof(*e));
	e->function = leaf;
	e->index = sub;
	e->flags = indexed(leaf) ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
	e->eax = r.eax;
	e->ebx = r.ebx;
	e->ecx = r.ecx;
	e->edx = r.edx;
	cpuid_mask(e);
	return 0;
}

/* How many subleaves of an indexed leaf to list. */
static uint32_t subleaves(uint32_t leaf)
{
	switch (leaf) {
	case 4:
	case 0xb:
	case 0x1f: {
		uint32_t n = 0;

		/* Until the level/cache type field reads 0. */
		while (n < 8 && (leaf == 4 ? cpuid(leaf, n).eax & 0x1f : cpuid(leaf, n).ecx & 0xff00))
			n++;
		return n ? n : 1;
	}
	case 7:
		return (cpuid(7, 0).eax & 3) + 1;
	case 0xd:
		return 2 + (63 - __builtin_clzll((cpuid(0xd, 0).eax | 3ull)) - 1);
	default:
		return 1;
	}
}

int cpuid_supported(struct kvm_cpuid_entry2 *out, uint32_t max)
{
	uint32_t max_basic = cpuid(0, 0).eax, max_ext = cpuid(0x80000000, 0).eax, n = 0;
	struct cpuid_regs sig = { HV_CPUID_MAX_LEAF, 0, 0, 0 };

	if (max_basic > 0x20)
		max_basic = 0x20;
	if (max_ext > 0x80000020)
		max_ext = 0x80000020;
	for (uint32_t leaf = 0; leaf <= max_basic; leaf++)
		for (uint32_t sub = 0; sub < subleaves(leaf); sub++)
			if (add(out, max, &n, leaf, sub, cpuid(leaf, sub)) < 0)
				return -HV_E2BIG;
	memcpy(&sig.ebx, HV_CPUID_SIGNATURE, 4);
	memcpy(&sig.ecx, HV_CPUID_SIGNATURE + 4, 4);
	memcpy(&sig.edx, HV_CPUID_SIGNATURE + 8, 4);
	if (add(out, max, &n, HV_CPUID_SIGNATURE_LEAF, 0, sig) < 0 ||
	    add(out, max, &n, HV_CPUID_MAX_LEAF, 0, (struct cpuid_regs){ 0, 0, 0, 0 }) < 0)
		return -HV_E2BIG;
	for (uint32_t leaf = 0x80000000; leaf <= max_ext; leaf++)
		if (add(out, max, &n, leaf, 0, cpuid(leaf, 0)) < 0)
			return -HV_E2BIG;
	return (int)n;
}

struct cpuid_regs vcpu_cpuid(struct vcpu *v, uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r = { 0, 0, 0, 0 };

	for (uint32_t i = 0; i < v->cpuid.nent; i++) {
		const struct kvm_cpuid_entry2 *e = &v->cpuid.e[i];

		if (e->function != leaf ||
		    ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != subleaf))
			continue;
		r = (struct cpuid_regs){ e->eax, e->ebx, e->ecx, e->edx };
		break;
	}
	if (leaf == 0xd && subleaf == 0 && r.eax)
		r.ebx = cpuid(0xd, 0).ebx; /* the size for the guest's XCR0, now in force */
	if (leaf == 1) {
		r.ebx = (r.ebx & 0x00ffffff) | (uint32_t)v->id << 24;
		r.ecx &= ~CPUID1_ECX_OSXSAVE;
		if (vmcs_readl(VMCS_CR4_READ_SHADOW) & CR4_OSXSAVE)
			r.ecx |= CPUID1_ECX_OSXSAVE;
	}
	return r;
}
