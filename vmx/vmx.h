/* SPDX-License-Identifier: MIT */
/* VMX root operation on the boot CPU and the controls every VMCS starts from. */
#ifndef VMX_VMX_H
#define VMX_VMX_H

#include <stdbool.h>
#include <stdint.h>

#include "vmx/vmx_caps.h"

extern struct vmx_caps vmx_caps;

/* Controls negotiated once at start-up (vmx_init) from the capability MSRs. */
struct vmx_config {
	uint32_t pin, proc, proc2, exit, entry;
	bool vpid; /* VPIDs tag guest TLB entries */
	bool preemption_timer;
	unsigned timer_rate; /* the timer counts down every 2^rate TSC ticks */
	/*
	 * APIC virtualisation for vCPUs with an in-hypervisor APIC
	 * (vmx/irqchip.c): TPR shadow plus VMX_APICV_PROC2, all or nothing.
	 */
	bool apicv;
	/*
	 * Guest PKS (vmx_set_cpu_caps: EPT plus both load-IA32_PKRS
	 * controls): the controls are then always set, GUEST_IA32_PKRS and
	 * HOST_IA32_PKRS swap the register at every entry and exit, and
	 * CPUID.7.0:ECX[31] is offered.
	 */
	bool pks;
};

#define VMX_APICV_PROC2                                                                            \
	(VMX_PROC2_VIRT_APIC_ACCESSES | VMX_PROC2_APIC_REG_VIRT | VMX_PROC2_VIRT_INTR_DELIVERY)

extern struct vmx_config vmx_config;

/*
 * Check the fixed CR0/CR4 bits and IA32_FEATURE_CONTROL, negotiate the
 * controls, and enter VMX root operation. Logs each reason it cannot.
 */
int vmx_init(void);
/* The apicv=off boot option: every APIC access is emulated. */
void vmx_disable_apicv(void);
bool vmx_enabled(void);

/* Log every field of the current VMCS that the hypervisor uses. */
void vmcs_dump(void);

#endif
