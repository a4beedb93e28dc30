// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "hv/lib/console.h"
#include "hv/lib/halt.h"
#include "hv/lib/log.h"
#include "hv/lib/mm.h"
#include "hv/lib/msr.h"
#include "hv/lib/x86.h"
#include "vmx/vmx.h"
#include "vmx/xstate.h"
#include "vmx/vmx_controls.h"
#include "vmx/vmx_ops.h"
#include "abi/hv_exit.h"

struct vmx_caps vmx_caps;
struct vmx_config vmx_config;
static bool vmx_on;
static uint64_t vmxon_region;

/* SDM vol. 3C, 31.4 "VM Instruction Error Numbers". */
static const char *const vmx_error_names[] = {
    [1] = "VMCALL executed in VMX root operation",
    [2] = "VMCLEAR with invalid physical address",
    [3] = "VMCLEAR with VMXON pointer",
    [4] = "VMLAUNCH with non-clear VMCS",
    [5] = "VMRESUME with non-launched VMCS",
    [6] = "VMRESUME after VMXOFF",
    [7] = "VM entry with invalid control field(s)",
    [8] = "VM entry with invalid host-state field(s)",
    [9] = "VMPTRLD with invalid physical address",
    [10] = "VMPTRLD with VMXON pointer",
    [11] = "VMPTRLD with incorrect VMCS revision identifier",
    [12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
    [13] = "VMWRITE to read-only VMCS component",
    [15] = "VMXON executed in VMX root operation",
    [16] = "VM entry with invalid executive-VMCS pointer",
    [17] = "VM entry with non-launched executive VMCS",
    [18] = "VM entry with executive-VMCS pointer not VMXON pointer",
    [19] = "VMCALL with non-clear VMCS",
    [20] = "VMCALL with invalid VM-exit control fields",
    [22] = "VMCALL with incorrect MSEG revision identifier",
    [23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
    [24] = "VMCALL with invalid SMM-monitor features",
    [25] = "VM entry with invalid VM-execution control fields in executive VMCS",
    [26] = "VM entry with events blocked by MOV SS",
    [28] = "invalid operand to INVEPT/INVVPID",
};

const char *vmx_error_name(uint32_t err)
{
	if (err == VMX_ERR_FAIL_INVALID)
		return "VMfailInvalid (no current VMCS)";
	if (err < sizeof(vmx_error_names) / sizeof(vmx_error_names[0]) && vmx_error_names[err])
		return vmx_error_names[err];
	return "?";
}

void vmx_fail(const char *insn, uint64_t operand, uint32_t err)
{
	console_printf("PANIC: %s 0x%llx failed: VM-instruction error %u (%s)\n", insn,
		       (unsigned long long)operand, err, vmx_error_name(err));
	if (err != VMX_ERR_FAIL_INVALID)
		vmcs_dump();
	hv_stop(HV_EXIT_PANIC);
}

bool vmx_enabled(void)
{
	return vmx_on;
}

/* Names of the bits of a control group, for the refusal message. */
static void name_bits(char *buf, size_t len, uint32_t bits, const char *const *names)
{
	size_t n = 0;

	buf[0] = 0;
	for (unsigned b = 0; b < 32 && n < len; b++)
		if (bits & (1u << b))
			n += snprintf(buf + n, len - n, " %s", names[b] ? names[b] : "?");
}

#define NAME_ROW(id, bit, name) [bit] = name,
static const char *const pin_names[32] = {VMX_PIN_CONTROLS(NAME_ROW)};
static const char *const proc_names[32] = {VMX_PROC_CONTROLS(NAME_ROW)};
static const char *const proc2_names[32] = {VMX_PROC2_CONTROLS(NAME_ROW)};
static const char *const exit_names[32] = {VMX_EXIT_CONTROLS(NAME_ROW)};
static const char *const entry_names[32] = {VMX_ENTRY_CONTROLS(NAME_ROW)};

/*
 * One control field: the bits the CPU forces to 1, plus the required bits
 * (all must be allowed), plus the optional bits the CPU allows.
 */
static int adjust(const char *what, struct vmx_ctl_msr cap, uint32_t required, uint32_t optional,
		  const char *const *names, uint32_t *out)
{
	uint32_t missing = required & ~cap.may1;

	if (missing) {
		char buf[256];

		name_bits(buf, sizeof(buf), missing, names);
		log_err("vmx: %s controls: this CPU cannot set the required%s", what, buf);
		return -1;
	}
	*out = (required | (optional & cap.may1)) | cap.must1;
	return 0;
}

static int negotiate_controls(void)
{
	struct vmx_caps *c = &vmx_caps;
	struct vmx_config *v = &vmx_config;
	int bad = 0;

	if (!c->has_proc2) {
		log_err("vmx: secondary processor-based controls are required (EPT, unrestricted "
			"guest) but not offered");
		return -1;
	}
	bad |= adjust("pin-based", c->pin, VMX_PIN_EXT_INTR_EXITING | VMX_PIN_NMI_EXITING,
		      VMX_PIN_VIRTUAL_NMIS | VMX_PIN_PREEMPTION_TIMER, pin_names, &v->pin);
	bad |= adjust("processor-based", c->proc,
		      VMX_PROC_HLT_EXITING | VMX_PROC_IO_BITMAPS | VMX_PROC_MSR_BITMAPS |
			  VMX_PROC_SECONDARY_CONTROLS | VMX_PROC_TSC_OFFSETTING |
			  /* CPUID hides MONITOR/MWAIT: they raise #UD (exit.c) */
			  VMX_PROC_MWAIT_EXITING | VMX_PROC_MONITOR_EXITING |
			  /* CR8 is per vCPU (no TPR shadow without a local APIC) */
			  VMX_PROC_CR8_LOAD_EXITING | VMX_PROC_CR8_STORE_EXITING,
		      0, proc_names, &v->proc);
	bad |=
	    adjust("secondary", c->proc2, VMX_PROC2_EPT | VMX_PROC2_UNRESTRICTED_GUEST,
		   VMX_PROC2_VPID | VMX_PROC2_RDTSCP | VMX_PROC2_INVPCID | VMX_PROC2_WBINVD_EXITING,
		   proc2_names, &v->proc2);
	bad |= adjust("VM-exit", c->exit,
		      VMX_EXIT_HOST_ADDR_SPACE_SIZE | VMX_EXIT_SAVE_EFER | VMX_EXIT_LOAD_EFER |
			  VMX_EXIT_SAVE_PAT | VMX_EXIT_LOAD_PAT | VMX_EXIT_SAVE_DEBUG_CONTROLS,
		      0, exit_names, &v->exit);
	bad |= adjust("VM-entry", c->entry,
		      VMX_ENTRY_LOAD_EFER | VMX_ENTRY_LOAD_PAT | VMX_ENTRY_LOAD_DEBUG_CONTROLS, 0,
		      entry_names, &v->entry);
	if (bad)
		return -1;
	/* Windows are switched on only while an event waits for one. */
	if (!(c->proc.may1 & VMX_PROC_INTR_WINDOW_EXITING) ||
	    !(c->proc.may1 & VMX_PROC_NMI_WINDOW_EXITING)) {
		log_err("vmx: interrupt-window and NMI-window exiting are required for event "
			"injection");
		return -1;
	}
	/* EPT: 4-level walk, write-back tables, INVEPT. */
	if (!(c->ept_vpid & VMX_CAP_EPT_PWL4) || !(c->ept_vpid & VMX_CAP_EPT_WB) ||
	    !(c->ept_vpid & VMX_CAP_INVEPT)) {
		log_err("vmx: EPT lacks a 4-level walk, write-back paging structures or INVEPT "
			"(caps 0x%llx)",
			(unsigned long long)c->ept_vpid);
		return -1;
	}
	v->vpid = (v->proc2 & VMX_PROC2_VPID) && (c->ept_vpid & VMX_CAP_INVVPID);
	if (!v->vpid)
		v->proc2 &= ~VMX_PROC2_VPID;
	v->preemption_timer = v->pin & VMX_PIN_PREEMPTION_TIMER;
	v->timer_rate = c->misc & 0x1f;
	v->apicv = (c->proc.may1 & VMX_PROC_TPR_SHADOW) &&
		   (c->proc2.may1 & VMX_APICV_PROC2) == VMX_APICV_PROC2 &&
		   (v->pin & VMX_PIN_EXT_INTR_EXITING);
	/*
	 * EPT is always on here; PKS needs the CPU's PKS (and so its
	 * IA32_PKRS) and both PKRS controls, or it is not offered at all.
	 */
	v->pks = (cpuid(7, 0).ecx & CPUID_7_ECX_PKS) && (c->entry.may1 & VMX_ENTRY_LOAD_PKRS) &&
		 (c->exit.may1 & VMX_EXIT_LOAD_PKRS);
	if (v->pks) {
		v->entry |= VMX_ENTRY_LOAD_PKRS;
		v->exit |= VMX_EXIT_LOAD_PKRS;
	}
	log_info("vmx: controls pin 0x%08x proc 0x%08x proc2 0x%08x exit 0x%08x entry 0x%08x, VPID "
		 "%s, preemption timer %s, APIC virtualisation %s, guest PKS %s",
		 v->pin, v->proc, v->proc2, v->exit, v->entry, v->vpid ? "on" : "off",
		 v->preemption_timer ? "on" : "off", v->apicv ? "available" : "absent",
		 v->pks ? "offered" : "absent");
	return 0;
}

/*
 * CR0/CR4 must satisfy the VMX fixed bits before VMXON (SDM 24.8). CR0.NE
 * (native x87 error reporting) is required by every VMX CPU and harmless
 * to the hypervisor, which uses no x87, so it is set here first.
 */
static int check_fixed_bits(void)
{
	write_cr0(read_cr0() | CR0_NE);
	uint64_t cr0 = read_cr0(), cr4 = read_cr4() | CR4_VMXE;
	uint64_t bad0 = (~cr0 & vmx_caps.cr0_fixed0) | (cr0 & ~vmx_caps.cr0_fixed1);
	uint64_t bad4 = (~cr4 & vmx_caps.cr4_fixed0) | (cr4 & ~vmx_caps.cr4_fixed1);

	if (bad0 || bad4) {
		log_err("vmx: CR0=0x%llx CR4=0x%llx violate the VMX fixed bits (CR0 bits 0x%llx, "
			"CR4 bits 0x%llx)",
			(unsigned long long)cr0, (unsigned long long)cr4, (unsigned long long)bad0,
			(unsigned long long)bad4);
		return -1;
	}
	return 0;
}

int vmx_init(void)
{
	uint32_t err;

	vmx_caps_read(&vmx_caps);
	vmx_caps_report(&vmx_caps);
	if (negotiate_controls() < 0 || check_fixed_bits() < 0)
		return -1;
	vmxon_region = page_alloc_zeroed();
	if (!vmxon_region) {
		log_err("vmx: no memory for the VMXON region");
		return -1;
	}
	*(uint32_t *)phys_to_virt(vmxon_region) = (uint32_t)vmx_caps.basic & 0x7fffffff;
	/* Guests may use XSAVE: the host must be able to switch XCR0. */
	if (cpuid(1, 0).ecx & (1u << 26))
		write_cr4(read_cr4() | CR4_OSXSAVE);
	xstate_init();
	write_cr4(read_cr4() | CR4_VMXE);
	err = vmxon_safe(vmxon_region);
	if (err) {
		log_err("vmx: VMXON failed: %s", vmx_error_name(err));
		write_cr4(read_cr4() & ~CR4_VMXE);
		page_free(vmxon_region);
		return -1;
	}
	vmx_on = true;
	log_info("vmx: VMX root operation on CPU 0 (VMXON region 0x%llx)",
		 (unsigned long long)vmxon_region);
	return 0;
}

void vmx_disable_apicv(void)
{
	if (vmx_config.apicv)
		log_info("vmx: APIC virtualisation off (apicv=off): APIC accesses are emulated");
	vmx_config.apicv = false;
}

#define DUMP_ROW(name, enc) {#name, enc},
static const struct {
	const char *name;
	uint32_t enc;
} vmcs_field_names[] = {VMCS_FIELDS(DUMP_ROW)};

void vmcs_dump(void)
{
	console_printf("VMCS dump (current VMCS):\n");
	for (size_t i = 0; i < sizeof(vmcs_field_names) / sizeof(vmcs_field_names[0]); i++) {
		uint64_t v;

		if (vmcs_read_safe(vmcs_field_names[i].enc, &v))
			continue;
		console_printf("  %-28s %016llx\n", vmcs_field_names[i].name,
			       (unsigned long long)v);
	}
}
