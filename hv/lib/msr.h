/* SPDX-License-Identifier: MIT */
/* Model-specific register numbers (Intel SDM vol. 4) used by the hypervisor. */
#ifndef HV_MSR_H
#define HV_MSR_H

#define MSR_IA32_FEATURE_CONTROL	0x03a
#define FEATURE_CONTROL_LOCK		(1ull << 0)
#define FEATURE_CONTROL_VMX_IN_SMX	(1ull << 1)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ull << 2)

#define MSR_IA32_VMX_BASIC		 0x480
#define MSR_IA32_VMX_PINBASED_CTLS	 0x481
#define MSR_IA32_VMX_PROCBASED_CTLS	 0x482
#define MSR_IA32_VMX_EXIT_CTLS		 0x483
#define MSR_IA32_VMX_ENTRY_CTLS		 0x484
#define MSR_IA32_VMX_MISC		 0x485
#define MSR_IA32_VMX_CR0_FIXED0		 0x486
#define MSR_IA32_VMX_CR0_FIXED1		 0x487
#define MSR_IA32_VMX_CR4_FIXED0		 0x488
#define MSR_IA32_VMX_CR4_FIXED1		 0x489
#define MSR_IA32_VMX_VMCS_ENUM		 0x48a
#define MSR_IA32_VMX_PROCBASED_CTLS2	 0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP	 0x48c
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS	 0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS	 0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS	 0x490
#define MSR_IA32_VMX_VMFUNC		 0x491
#define MSR_IA32_VMX_PROCBASED_CTLS3	 0x492

#define MSR_IA32_TSC		   0x010
#define MSR_IA32_APIC_BASE	   0x01b
#define APIC_BASE_BSP		   (1ull << 8)
#define APIC_BASE_EXTD		   (1ull << 10) /* x2APIC mode */
#define APIC_BASE_ENABLE	   (1ull << 11) /* xAPIC global enable */
#define APIC_BASE_DEFAULT	   0xfee00000ull
#define MSR_IA32_TSC_ADJUST	   0x03b
#define MSR_IA32_SPEC_CTRL	   0x048
#define MSR_IA32_PRED_CMD	   0x049
#define PRED_CMD_IBPB		   (1ull << 0)
#define MSR_IA32_UCODE_REV	   0x08b
#define MSR_IA32_POWER_CTL	   0x1fc
#define MSR_MTRR_CAP		   0x0fe
#define MSR_IA32_ARCH_CAPABILITIES 0x10a
#define MSR_IA32_SYSENTER_CS	   0x174
#define MSR_IA32_SYSENTER_ESP	   0x175
#define MSR_IA32_SYSENTER_EIP	   0x176
#define MSR_IA32_MCG_CAP	   0x179
#define MSR_IA32_MCG_STATUS	   0x17a
#define MSR_IA32_MISC_ENABLE	   0x1a0
#define MSR_PLATFORM_INFO	   0x0ce
#define MSR_MISC_FEATURES_ENABLES  0x140
#define PLATFORM_INFO_CPUID_FAULT  (1ull << 31) /* CPUID faulting is offered */
#define MISC_FEATURES_CPUID_FAULT  (1ull << 0)	/* ... and on: CPUID at CPL > 0 is #GP */
#define MISC_ENABLE_FAST_STRING	   (1ull << 0)
#define MISC_ENABLE_EMON	   (1ull << 7) /* performance monitoring available */
#define MISC_ENABLE_BTS_UNAVAIL	   (1ull << 11)
#define MISC_ENABLE_PEBS_UNAVAIL   (1ull << 12)
#define MSR_MTRR_PHYS_BASE0	   0x200 /* ... base/mask pairs up to 0x2ff */
#define MSR_MTRR_FIX_64K_00000	   0x250
#define MSR_MTRR_FIX_16K_80000	   0x258
#define MSR_MTRR_FIX_16K_A0000	   0x259
#define MSR_MTRR_FIX_4K_C0000	   0x268 /* ... to 0x26f (F8000) */
#define MSR_MTRR_FIX_4K_F8000	   0x26f
#define MSR_IA32_PAT		   0x277
#define PAT_RESET_VALUE		   0x0007040600070406ull
#define MSR_MTRR_DEF_TYPE	   0x2ff
#define MSR_IA32_PERF_CAPABILITIES 0x345
#define MSR_IA32_X2APIC_APICID	   0x802
#define MSR_IA32_TSC_DEADLINE	   0x6e0
#define MSR_IA32_PKRS		   0x6e1 /* supervisor protection keys: 16 AD/WD pairs */

#define MSR_IA32_EFER	   0xc0000080
#define EFER_SCE	   (1ull << 0)
#define EFER_LME	   (1ull << 8)
#define EFER_LMA	   (1ull << 10)
#define EFER_NXE	   (1ull << 11)
#define MSR_STAR	   0xc0000081
#define MSR_LSTAR	   0xc0000082
#define MSR_CSTAR	   0xc0000083
#define MSR_FMASK	   0xc0000084
#define MSR_FS_BASE	   0xc0000100
#define MSR_GS_BASE	   0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX	   0xc0000103

#endif
