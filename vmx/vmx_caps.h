/* SPDX-License-Identifier: MIT */
/* VMX availability and the VMX capability MSRs, read once at boot. */
#ifndef VMX_VMX_CAPS_H
#define VMX_VMX_CAPS_H

#include <stdbool.h>
#include <stdint.h>

enum vmx_availability {
	VMX_AVAILABLE,
	VMX_NOT_IN_CPUID,      /* CPUID.1:ECX.VMX[5] = 0 (e.g. QEMU TCG) */
	VMX_FIRMWARE_DISABLED, /* IA32_FEATURE_CONTROL locked with VMX off */
};

/*
 * A control MSR: bits 31:0 are the allowed-0 settings (1 = must be 1),
 * bits 63:32 the allowed-1 settings (0 = must be 0).
 */
struct vmx_ctl_msr {
	uint32_t must1, may1;
};

struct vmx_caps {
	uint64_t basic, misc, vmcs_enum;
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	bool true_ctls;				   /* BASIC[55]: the TRUE_* MSRs exist and rule */
	struct vmx_ctl_msr pin, proc, exit, entry; /* TRUE_* where they exist */
	bool has_proc2, has_proc3, has_ept_vpid, has_vmfunc;
	struct vmx_ctl_msr proc2;
	uint64_t proc3; /* allowed-1 bits; all may be 0 */
	uint64_t ept_vpid, vmfunc;
};

/*
 * Is VT-x usable? Sets IA32_FEATURE_CONTROL (VMX outside SMX + lock) when
 * the firmware left it unlocked. Logs what it found and why not.
 */
enum vmx_availability vmx_probe(void);

/* Read the capability MSRs, each only when its existence is advertised. */
void vmx_caps_read(struct vmx_caps *c);

/* Log the capabilities decoded into named features. */
void vmx_caps_report(const struct vmx_caps *c);

#endif
