// SPDX-License-Identifier: MIT
/*
 * The built-in demo guest (make run): a short tour of what the hypervisor
 * offers a guest, then HLT, which ends it.
 */
#include "guest.h"

#define PORT_UNASSIGNED 0x510

static long hc_ret;

static void hc_version(void *arg)
{
	hc_ret = vmcall(HC_VERSION);
}

void guest_main(void)
{
	struct cpuid_regs r = cpuid(HV_CPUID_SIGNATURE_LEAF, 0);
	char sig[13];
	const char *args = mb1_cmdline();

	puts("Hello from the demo guest: 32-bit protected mode, multiboot 1, running in a VMX VM.");
	if (*args)
		printf("My command line: \"%s\"\n", args);

	memcpy(sig, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	sig[12] = '\0';
	for (int i = 0; i < 12; i++)
		if (sig[i] < 0x20 || sig[i] > 0x7e)
			sig[i] = '?';
	printf("CPUID 0x40000000: hypervisor signature \"%s\", max leaf 0x%x\n", sig, r.eax);

	if (catch_exception(hc_version, NULL) == NO_EXCEPTION)
		printf("VMCALL HC_VERSION: hypercall ABI version %ld\n", hc_ret);
	else
		printf("VMCALL HC_VERSION: raised vector %d (not under the hypervisor?)\n",
		       last_trap.vector);

	printf("IN from unassigned port 0x%x: 0x%x\n", PORT_UNASSIGNED, inb(PORT_UNASSIGNED));
	printf("RDMSR IA32_EFER: 0x%llx\n", rdmsr(MSR_EFER));
	puts("Goodbye! Halting now (HLT ends this guest).");
	cli_hlt();
	done();
}
