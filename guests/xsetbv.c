// SPDX-License-Identifier: MIT
/*
 * XSETBV always exits; the hypervisor validates the new XCR0 (SDM XSETBV):
 * only XCR0 exists, x87 must stay on, AVX needs SSE, nothing the CPU lacks.
 * Bad values raise #GP in the guest; good ones read back through XGETBV.
 */
#include "guest.h"

#define CR4_OSXSAVE	 (1u << 18)
#define CPUID1_ECX_XSAVE (1u << 26)
#define XCR0_X87	 1u
#define XCR0_SSE	 2u
#define XCR0_AVX	 4u

/* ECX = index, EDX:EAX = value, set by the setup strings. */
GUEST_INSN(xset_sse, "movl $0, %ecx\n\txorl %edx, %edx\n\tmovl $3, %eax", "xsetbv");
GUEST_INSN(xset_x87, "movl $0, %ecx\n\txorl %edx, %edx\n\tmovl $1, %eax", "xsetbv");
GUEST_INSN(xset_no_x87, "movl $0, %ecx\n\txorl %edx, %edx\n\tmovl $2, %eax", "xsetbv");
GUEST_INSN(xset_avx_no_sse, "movl $0, %ecx\n\txorl %edx, %edx\n\tmovl $5, %eax", "xsetbv");
GUEST_INSN(xset_xcr1, "movl $1, %ecx\n\txorl %edx, %edx\n\tmovl $1, %eax", "xsetbv");
GUEST_INSN(xset_reserved, "movl $0, %ecx\n\tmovl $0x80000000, %edx\n\tmovl $1, %eax", "xsetbv");

static uint32_t xgetbv0(void)
{
	uint32_t lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return lo;
}

void guest_main(void)
{
	if (!(cpuid(1, 0).ecx & CPUID1_ECX_XSAVE)) {
		skip("xsetbv", "the CPU has no XSAVE");
		done();
	}
	write_cr4(read_cr4() | CR4_OSXSAVE);
	report("xsetbv cpuid osxsave follows cr4", cpuid(1, 0).ecx & (1u << 27));
	expect_no_exception("xsetbv x87|sse accepted", xset_sse, NULL);
	check_u32("xgetbv reads x87|sse", xgetbv0(), XCR0_X87 | XCR0_SSE);
	expect_exception("xsetbv without x87 #GP", VEC_GP, 0, xset_no_x87_at, xset_no_x87, NULL);
	expect_exception("xsetbv avx without sse #GP", VEC_GP, 0, xset_avx_no_sse_at,
			 xset_avx_no_sse, NULL);
	expect_exception("xsetbv xcr1 #GP", VEC_GP, 0, xset_xcr1_at, xset_xcr1, NULL);
	expect_exception("xsetbv reserved bit #GP", VEC_GP, 0, xset_reserved_at, xset_reserved,
			 NULL);
	check_u32("xgetbv unchanged after #GP", xgetbv0(), XCR0_X87 | XCR0_SSE);
	expect_no_exception("xsetbv back to x87", xset_x87, NULL);
	check_u32("xgetbv reads x87", xgetbv0(), XCR0_X87);
	write_cr4(read_cr4() & ~CR4_OSXSAVE);
	done();
}
