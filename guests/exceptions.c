// SPDX-License-Identifier: MIT
/*
 * The guest's own IDT catches what its instructions raise, with the vector,
 * error code, reported EIP (the instruction for faults, the next one for
 * traps) and CR2 the architecture defines.
 */
#include "guest.h"

#define SEL_BEYOND_GDT 0x1000u
#define IDT_ERROR(vec) ((vec) << 3 | 2) /* error code: IDT entry `vec` */

GUEST_INSN(insn_div0, "xorl %edx, %edx\n\tmovl $1, %eax\n\txorl %ecx, %ecx", "divl %ecx");
GUEST_INSN(insn_idiv_overflow, "movl $0x80000000, %eax\n\tcltd\n\tmovl $-1, %ecx", "idivl %ecx");
GUEST_INSN(insn_ud2, "", "ud2");
/* CPUID says no MONITOR/MWAIT: both must fault, never sleep. */
GUEST_INSN(insn_monitor, "movl $scratch_page, %eax\n\txorl %ecx, %ecx\n\txorl %edx, %edx",
	   "monitor");
GUEST_INSN(insn_mwait, "xorl %eax, %eax\n\txorl %ecx, %ecx", "mwait");
GUEST_INSN(insn_int3, "", "int3");
GUEST_INSN(insn_int_3, "", ".byte 0xcd, 0x03"); /* int $3, the two-byte form */
GUEST_INSN(insn_single_step, "pushfl\n\torl $0x100, (%esp)\n\tpopfl", "nop");
GUEST_INSN(insn_bad_selector, "movl $" __stringify(SEL_BEYOND_GDT) ", %eax", "movw %ax, %ds");
GUEST_INSN(insn_not_present, "movl $" __stringify(SEL_NOTPRESENT) ", %eax", "movw %ax, %es");
GUEST_INSN(insn_int_80, "", "int $0x80");
GUEST_INSN(insn_pf_read, "movl $scratch_page, %ecx", "movl (%ecx), %eax");
GUEST_INSN(insn_pf_write, "movl $scratch_page, %ecx", "movl %eax, (%ecx)");

static void page_faults(void)
{
	uint32_t page = (uint32_t)scratch_page;

	paging_on();
	paging_set_flags(page, 0); /* not present */
	if (expect_exception("exceptions #PF read not-present", VEC_PF, 0, insn_pf_read_at,
			     insn_pf_read, NULL))
		check_u32("exceptions #PF read cr2", last_trap.cr2, page);
	if (expect_exception("exceptions #PF write not-present", VEC_PF, 2, insn_pf_write_at,
			     insn_pf_write, NULL))
		check_u32("exceptions #PF write cr2", last_trap.cr2, page);
	paging_set_flags(page, PTE_P | PTE_W);
	expect_no_exception("exceptions page present again", insn_pf_read, NULL);
	paging_off();
}

void guest_main(void)
{
	expect_exception("exceptions #DE div by 0", VEC_DE, 0, insn_div0_at, insn_div0, NULL);
	expect_exception("exceptions #DE idiv overflow", VEC_DE, 0, insn_idiv_overflow_at,
			 insn_idiv_overflow, NULL);
	expect_exception("exceptions #UD ud2", VEC_UD, 0, insn_ud2_at, insn_ud2, NULL);
	expect_exception("exceptions #UD monitor", VEC_UD, 0, insn_monitor_at, insn_monitor, NULL);
	expect_exception("exceptions #UD mwait", VEC_UD, 0, insn_mwait_at, insn_mwait, NULL);
	expect_exception("exceptions #BP int3", VEC_BP, 0, insn_int3_end, insn_int3, NULL);
	expect_exception("exceptions #BP int $3", VEC_BP, 0, insn_int_3_end, insn_int_3, NULL);
	expect_exception("exceptions #DB single step", VEC_DB, 0, insn_single_step_end,
			 insn_single_step, NULL);
	reportf("exceptions handler cleared TF", !(read_eflags() & EFLAGS_TF), "eflags 0x%x",
		read_eflags());
	expect_exception("exceptions #GP selector beyond gdt", VEC_GP, SEL_BEYOND_GDT,
			 insn_bad_selector_at, insn_bad_selector, NULL);
	expect_exception("exceptions #NP not-present segment", VEC_NP, SEL_NOTPRESENT,
			 insn_not_present_at, insn_not_present, NULL);
	expect_exception("exceptions #GP int 0x80 beyond idt", VEC_GP, IDT_ERROR(0x80),
			 insn_int_80_at, insn_int_80, NULL);
	check_u32("exceptions frame cs", last_trap.cs & 0xffff, SEL_CODE32);
	page_faults();
}
