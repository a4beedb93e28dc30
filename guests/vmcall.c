// SPDX-License-Identifier: MIT
/* The hypercalls of abi/hv_guest.h. Without the hypervisor VMCALL is #UD. */
#include "guest.h"

#define HC_UNKNOWN 0x7fffu

#ifndef HV_HC_PUTS_MAX
#define HV_HC_PUTS_MAX 4096
#endif

struct hcall {
	uint32_t nr, a0, a1, a2, a3;
	long ret;
};

static void do_vmcall(void *arg)
{
	struct hcall *h = arg;

	h->ret = vmcall4(h->nr, h->a0, h->a1, h->a2, h->a3);
}

/* Report `name`: the hypercall must return `want`. */
static bool hypercall_returns(const char *name, struct hcall *h, long want)
{
	int vec = catch_exception(do_vmcall, h);

	if (vec != NO_EXCEPTION)
		return reportf(name, false, "VMCALL raised vector %d (no hypervisor?)", vec);
	return reportf(name, h->ret == want, "returned %ld, want %ld", h->ret, want);
}

/*
 * void vmcall_regs(uint32_t out[2]): HC_NOP with known values in EBX, ECX,
 * EDX, ESI, EDI and EBP; out[0] = mask of the registers that changed
 * (bit 0 EBX .. bit 5 EBP), out[1] = EAX.
 */
void vmcall_regs(void *out);
asm(".pushsection .text\n"
    ".globl vmcall_regs\n"
    "vmcall_regs:\n\t"
    "pushl %ebp\n\tpushl %ebx\n\tpushl %esi\n\tpushl %edi\n\t"
    "movl $0x11111111, %ebx\n\tmovl $0x22222222, %ecx\n\tmovl $0x33333333, %edx\n\t"
    "movl $0x44444444, %esi\n\tmovl $0x55555555, %edi\n\tmovl $0x66666666, %ebp\n\t"
    "movl $" __stringify(HC_NOP) ", %eax\n\t"
				 "vmcall\n\t"
				 "pushl %eax\n\t"
				 "xorl %eax, %eax\n\t"
				 "cmpl $0x11111111, %ebx\n\tje 1f\n\torl $1, %eax\n"
				 "1:\tcmpl $0x22222222, %ecx\n\tje 1f\n\torl $2, %eax\n"
				 "1:\tcmpl $0x33333333, %edx\n\tje 1f\n\torl $4, %eax\n"
				 "1:\tcmpl $0x44444444, %esi\n\tje 1f\n\torl $8, %eax\n"
				 "1:\tcmpl $0x55555555, %edi\n\tje 1f\n\torl $16, %eax\n"
				 "1:\tcmpl $0x66666666, %ebp\n\tje 1f\n\torl $32, %eax\n"
				 "1:\tpopl %ecx\n\t"
				 "movl 20(%esp), %edx\n\t"
				 "movl %eax, (%edx)\n\tmovl %ecx, 4(%edx)\n\t"
				 "popl %edi\n\tpopl %esi\n\tpopl %ebx\n\tpopl %ebp\n\t"
				 "ret\n"
				 ".popsection");

static const char puts_msg[] = "hello from HC_PUTS";

void guest_main(void)
{
	struct hcall h = {0};
	uint32_t regs[2];
	int vec;

	h.nr = HC_VERSION;
	hypercall_returns("vmcall version", &h, HV_HYPERCALL_ABI_VERSION);
	h.nr = HC_NOP;
	hypercall_returns("vmcall nop", &h, 0);
	h.nr = HC_UNKNOWN;
	hypercall_returns("vmcall unknown nr enosys", &h, -HC_ENOSYS);

	vec = catch_exception(vmcall_regs, regs);
	if (vec != NO_EXCEPTION)
		reportf("vmcall preserves registers", false, "VMCALL raised vector %d", vec);
	else
		reportf("vmcall preserves registers", regs[0] == 0 && regs[1] == 0,
			"changed mask 0x%x (EBX ECX EDX ESI EDI EBP), eax 0x%x", regs[0], regs[1]);

	h = (struct hcall){.nr = HC_PUTS, .a0 = (uint32_t)puts_msg, .a1 = strlen(puts_msg)};
	vec = catch_exception(do_vmcall, &h);
	if (vec != NO_EXCEPTION)
		reportf("vmcall puts", false, "VMCALL raised vector %d (no hypervisor?)", vec);
	else
		reportf("vmcall puts", h.ret >= 0, "returned %ld", h.ret);

	h = (struct hcall){.nr = HC_PUTS, .a0 = (uint32_t)puts_msg, .a1 = HV_HC_PUTS_MAX + 1};
	hypercall_returns("vmcall puts too long einval", &h, -HC_EINVAL);
	h = (struct hcall){.nr = HC_PUTS, .a0 = 0xfeb00000u, .a1 = 16};
	hypercall_returns("vmcall puts outside ram efault", &h, -HC_EFAULT);
}
