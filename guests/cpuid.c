// SPDX-License-Identifier: MIT
/* CPUID as the hypervisor presents it (abi/hv_guest.h). */
#include "guest.h"

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/* The 12 bytes of three registers, NUL-terminated, '?' for unprintables. */
static void regs_string(char out[13], uint32_t a, uint32_t b, uint32_t c, char *raw)
{
	memcpy(raw, &a, 4);
	memcpy(raw + 4, &b, 4);
	memcpy(raw + 8, &c, 4);
	for (int i = 0; i < 12; i++)
		out[i] = raw[i] >= 0x20 && raw[i] <= 0x7e ? raw[i] : '?';
	out[12] = '\0';
}

void guest_main(void)
{
	struct cpuid_regs r;
	char raw[12], str[13];

	r = cpuid(HV_CPUID_SIGNATURE_LEAF, 0);
	regs_string(str, r.ebx, r.ecx, r.edx, raw);
	printf("cpuid: 0x40000000: eax 0x%x signature \"%s\"\n", r.eax, str);
	reportf("cpuid 0x40000000 signature", memcmp(raw, HV_CPUID_SIGNATURE, 12) == 0,
		"\"%s\", want \"%s\"", str, HV_CPUID_SIGNATURE);
	reportf("cpuid 0x40000000 max leaf", r.eax >= HV_CPUID_MAX_LEAF && r.eax < 0x40000100,
		"eax 0x%x, want 0x%x..0x400000ff", r.eax, HV_CPUID_MAX_LEAF);

	r = cpuid(1, 0);
	printf("cpuid: 1: eax 0x%x ebx 0x%x ecx 0x%x edx 0x%x\n", r.eax, r.ebx, r.ecx, r.edx);
	reportf("cpuid 1 ecx[31] hypervisor present", r.ecx & CPUID1_ECX_HYPERVISOR, "ecx 0x%x",
		r.ecx);
	reportf("cpuid 1 ecx[5] vmx hidden", !(r.ecx & CPUID1_ECX_VMX), "ecx 0x%x", r.ecx);
	/* OSXSAVE mirrors CR4.OSXSAVE, which is clear at entry. */
	reportf("cpuid 1 ecx[27] osxsave follows cr4",
		!(r.ecx & (1u << 27)) == !(read_cr4() & (1u << 18)), "ecx 0x%x, cr4 0x%x", r.ecx,
		read_cr4());

	r = cpuid(0, 0);
	regs_string(str, r.ebx, r.edx, r.ecx, raw);
	printf("cpuid: 0: max leaf 0x%x vendor \"%s\"\n", r.eax, str);
	reportf("cpuid 0 vendor printable", printable(raw, 12), "\"%s\"", str);
	reportf("cpuid 0 max leaf", r.eax >= 1 && r.eax < 0x100, "eax 0x%x", r.eax);

	r = cpuid(0x80000000, 0);
	printf("cpuid: 0x80000000: max leaf 0x%x\n", r.eax);
	reportf("cpuid 0x80000000 max leaf", r.eax >= 0x80000001 && r.eax < 0x80000100,
		"eax 0x%x, want 0x80000001..0x800000ff", r.eax);
	r = cpuid(0x80000001, 0);
	reportf("cpuid 0x80000001 edx[29] long mode", r.edx & CPUID81_EDX_LM, "edx 0x%x", r.edx);
}
