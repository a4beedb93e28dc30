// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "hv/lib/log.h"
#include "hv/lib/msr.h"
#include "hv/lib/x86.h"
#include "vmx/vmx_caps.h"
#include "vmx/vmx_controls.h"

#define CPUID1_ECX_VMX (1u << 5)
#define CPUID1_ECX_SMX (1u << 6)

#define BASIC_REVISION(b)  ((uint32_t)(b)&0x7fffffff)
#define BASIC_VMCS_SIZE(b) ((uint32_t)((b) >> 32) & 0x1fff)
#define BASIC_MEMTYPE(b)   ((uint32_t)((b) >> 50) & 0xf)
#define BASIC_INSOUTS_INFO (1ull << 54)
#define BASIC_TRUE_CTLS	   (1ull << 55)

/* Existence of the optional capability MSRs (SDM app. A). */
#define PROC_MAY1_SECONDARY (1u << 31) /* IA32_VMX_PROCBASED_CTLS2 */
#define PROC_MAY1_TERTIARY  (1u << 17) /* IA32_VMX_PROCBASED_CTLS3 */

enum vmx_availability vmx_probe(void)
{
	uint32_t ecx = cpuid(1, 0).ecx;
	uint64_t fc;

	if (!(ecx & CPUID1_ECX_VMX)) {
		log_info("vmx: VT-x unavailable: CPUID.1:ECX.VMX[bit 5] is 0 "
			 "(this CPU or emulator does not offer VMX)");
		return VMX_NOT_IN_CPUID;
	}
	fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCK)) {
		uint64_t want = fc | FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCK;

		if (ecx & CPUID1_ECX_SMX)
			want |= FEATURE_CONTROL_VMX_IN_SMX;
		wrmsr(MSR_IA32_FEATURE_CONTROL, want);
		log_info("vmx: IA32_FEATURE_CONTROL was unlocked (0x%llx); set VMX outside SMX and "
			 "locked it (0x%llx)",
			 (unsigned long long)fc, (unsigned long long)want);
		fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	}
	if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
		log_info("vmx: VT-x disabled by firmware: IA32_FEATURE_CONTROL=0x%llx is locked "
			 "with VMX-outside-SMX off; enable VT-x in the firmware setup",
			 (unsigned long long)fc);
		return VMX_FIRMWARE_DISABLED;
	}
	log_info("vmx: VMX supported, IA32_FEATURE_CONTROL=0x%llx", (unsigned long long)fc);
	return VMX_AVAILABLE;
}

static struct vmx_ctl_msr read_ctl(uint32_t msr)
{
	uint64_t v = rdmsr(msr);

	return (struct vmx_ctl_msr){.must1 = (uint32_t)v, .may1 = (uint32_t)(v >> 32)};
}

void vmx_caps_read(struct vmx_caps *c)
{
	memset(c, 0, sizeof(*c));
	c->basic = rdmsr(MSR_IA32_VMX_BASIC);
	c->true_ctls = c->basic & BASIC_TRUE_CTLS;
	c->misc = rdmsr(MSR_IA32_VMX_MISC);
	c->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	c->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	c->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	c->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	c->vmcs_enum = rdmsr(MSR_IA32_VMX_VMCS_ENUM);
	c->pin =
	    read_ctl(c->true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS);
	c->proc =
	    read_ctl(c->true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS);
	c->exit = read_ctl(c->true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS);
	c->entry = read_ctl(c->true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS);

	c->has_proc2 = c->proc.may1 & PROC_MAY1_SECONDARY;
	c->has_proc3 = c->proc.may1 & PROC_MAY1_TERTIARY;
	if (c->has_proc2)
		c->proc2 = read_ctl(MSR_IA32_VMX_PROCBASED_CTLS2);
	if (c->has_proc3)
		c->proc3 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS3);
	/* EPT/VPID caps exist if either may be enabled; VMFUNC likewise. */
	c->has_ept_vpid = c->proc2.may1 & (VMX_PROC2_EPT | VMX_PROC2_VPID);
	c->has_vmfunc = c->proc2.may1 & VMX_PROC2_VMFUNC;
	if (c->has_ept_vpid)
		c->ept_vpid = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	if (c->has_vmfunc)
		c->vmfunc = rdmsr(MSR_IA32_VMX_VMFUNC);
}

struct named_bit {
	unsigned bit;
	const char *name;
};

#define NAMED_BIT(id, bit, name) {bit, name},
static const struct named_bit pin_names[] = {VMX_PIN_CONTROLS(NAMED_BIT)};
static const struct named_bit proc_names[] = {VMX_PROC_CONTROLS(NAMED_BIT)};
static const struct named_bit proc2_names[] = {VMX_PROC2_CONTROLS(NAMED_BIT)};
static const struct named_bit proc3_names[] = {VMX_PROC3_CONTROLS(NAMED_BIT)};
static const struct named_bit exit_names[] = {VMX_EXIT_CONTROLS(NAMED_BIT)};
static const struct named_bit entry_names[] = {VMX_ENTRY_CONTROLS(NAMED_BIT)};
static const struct named_bit cap_names[] = {VMX_EPT_VPID_CAPS(NAMED_BIT)};
#define NAMES(t) t, sizeof(t) / sizeof(t[0])

/* One line: the named features whose bit is set in bits. */
static void report_bits(const char *what, uint64_t bits, const struct named_bit *names, unsigned n)
{
	char line[768];
	size_t len = 0;

	line[0] = 0;
	for (unsigned i = 0; i < n && len < sizeof(line); i++)
		if (bits & (1ull << names[i].bit))
			len += snprintf(line + len, sizeof(line) - len, " %s", names[i].name);
	log_info("vmx: %s:%s", what, len ? line : " (none)");
}

static const char *yes(bool b)
{
	return b ? "yes" : "no";
}

void vmx_caps_report(const struct vmx_caps *c)
{
	log_info("vmx: basic: VMCS revision 0x%x, region %u bytes, memory type %u (%s), true "
		 "controls %s, INS/OUTS info %s",
		 BASIC_REVISION(c->basic), BASIC_VMCS_SIZE(c->basic), BASIC_MEMTYPE(c->basic),
		 BASIC_MEMTYPE(c->basic) == 6 ? "WB" : "UC", yes(c->true_ctls),
		 yes(c->basic & BASIC_INSOUTS_INFO));
	report_bits("pin-based may be 1", c->pin.may1, NAMES(pin_names));
	report_bits("processor-based may be 1", c->proc.may1, NAMES(proc_names));
	if (c->has_proc2)
		report_bits("secondary may be 1", c->proc2.may1, NAMES(proc2_names));
	else
		log_info("vmx: secondary controls: not offered");
	if (c->has_proc3)
		report_bits("tertiary may be 1", c->proc3, NAMES(proc3_names));
	report_bits("exit may be 1", c->exit.may1, NAMES(exit_names));
	report_bits("entry may be 1", c->entry.may1, NAMES(entry_names));
	if (c->has_ept_vpid)
		report_bits("EPT/VPID", c->ept_vpid, NAMES(cap_names));
	log_info("vmx: misc: preemption timer = TSC >> %u, %u CR3 targets, MSR lists up to %u, "
		 "activity states 0x%x, VMWRITE any field %s",
		 (unsigned)(c->misc & 0x1f), (unsigned)(c->misc >> 16 & 0x1ff),
		 512u * ((unsigned)(c->misc >> 25 & 7) + 1), (unsigned)(c->misc >> 6 & 7),
		 yes(c->misc & (1ull << 29)));
	log_info("vmx: CR0 fixed0 0x%llx fixed1 0x%llx, CR4 fixed0 0x%llx fixed1 0x%llx, highest "
		 "VMCS index 0x%x",
		 (unsigned long long)c->cr0_fixed0, (unsigned long long)c->cr0_fixed1,
		 (unsigned long long)c->cr4_fixed0, (unsigned long long)c->cr4_fixed1,
		 (unsigned)(c->vmcs_enum >> 1 & 0x3ff));
	log_info(
	    "vmx: unrestricted guest %s, EPT %s, VPID %s, VMCS shadowing %s, preemption timer %s",
	    yes(c->proc2.may1 & VMX_PROC2_UNRESTRICTED_GUEST), yes(c->proc2.may1 & VMX_PROC2_EPT),
	    yes(c->proc2.may1 & VMX_PROC2_VPID), yes(c->proc2.may1 & VMX_PROC2_VMCS_SHADOWING),
	    yes(c->pin.may1 & VMX_PIN_PREEMPTION_TIMER));
	log_info("vmx: PKRS load controls: entry %s, exit %s",
		 yes(c->entry.may1 & VMX_ENTRY_LOAD_PKRS), yes(c->exit.may1 & VMX_EXIT_LOAD_PKRS));
}
