// SPDX-License-Identifier: MIT
/*
 * Exception handling. Any CPU exception in the hypervisor is a hypervisor
 * bug: print the vector, error code, every register and a symbolised stack
 * backtrace on the console, then stop (hv_stop: halt, or report
 * HV_EXIT_PANIC to the emulator). Interrupt vectors are only logged for now.
 */
#include <stdint.h>
#include <string.h>

#include "abi/hv_exit.h"
#include "boot/trap.h"
#include "drivers/pic8259.h"
#include "drivers/pit8254.h"
#include "hv/lib/console.h"
#include "hv/lib/halt.h"
#include "hv/lib/symbols.h"
#include "hv/lib/x86.h"

#define BACKTRACE_MAX 32

_Static_assert(__builtin_offsetof(struct trap_frame, vector) == 15 * 8,
	       "struct trap_frame must match the pushes in boot/isr.S");
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap frame size");

static const char *const exception_names[32][2] = {
    [0] = {"DE", "divide error"},
    [1] = {"DB", "debug"},
    [2] = {"NMI", "non-maskable interrupt"},
    [3] = {"BP", "breakpoint"},
    [4] = {"OF", "overflow"},
    [5] = {"BR", "bound range exceeded"},
    [6] = {"UD", "invalid opcode"},
    [7] = {"NM", "device not available"},
    [8] = {"DF", "double fault"},
    [9] = {"CSO", "coprocessor segment overrun"},
    [10] = {"TS", "invalid TSS"},
    [11] = {"NP", "segment not present"},
    [12] = {"SS", "stack-segment fault"},
    [13] = {"GP", "general protection"},
    [14] = {"PF", "page fault"},
    [16] = {"MF", "x87 floating-point error"},
    [17] = {"AC", "alignment check"},
    [18] = {"MC", "machine check"},
    [19] = {"XM", "SIMD floating-point"},
    [20] = {"VE", "virtualization exception"},
    [21] = {"CP", "control protection"},
    [28] = {"HV", "hypervisor injection"},
    [29] = {"VC", "VMM communication"},
    [30] = {"SX", "security exception"},
};

extern char _image_start[], _image_end[];

static void print_symbol(unsigned idx, uint64_t addr)
{
	uint64_t off;
	const char *name = sym_lookup(addr, &off);

	if (name)
		console_printf("  #%-2u 0x%016llx %s+0x%llx\n", idx, (unsigned long long)addr, name,
			       (unsigned long long)off);
	else
		console_printf("  #%-2u 0x%016llx ?\n", idx, (unsigned long long)addr);
}

/*
 * Walk the frame-pointer chain (the hypervisor is built with
 * -fno-omit-frame-pointer). Every frame must be aligned, inside the image
 * (all stacks live in its .bss) and above the previous one, so a corrupt
 * chain ends the walk instead of faulting.
 */
static void backtrace(uint64_t rip, uint64_t rbp)
{
	uint64_t lo = (uint64_t)_image_start, hi = (uint64_t)_image_end;

	console_printf("backtrace:\n");
	print_symbol(0, rip);
	for (unsigned i = 1; i < BACKTRACE_MAX; i++) {
		if (rbp & 7 || rbp < lo || rbp + 16 > hi)
			break;
		uint64_t next = ((uint64_t *)rbp)[0];
		uint64_t ret = ((uint64_t *)rbp)[1];

		if (!ret)
			break;
		print_symbol(i, ret);
		if (next <= rbp)
			break;
		rbp = next;
	}
}

static void dump_frame(const struct trap_frame *f)
{
	unsigned v = (unsigned)f->vector;
	const char *mn = v < 32 && exception_names[v][0] ? exception_names[v][0] : "??";
	const char *desc = v < 32 && exception_names[v][1] ? exception_names[v][1] : "reserved";

	console_printf("\nEXCEPTION #%s (%s, vector %u) error code 0x%llx on CPU 0\n", mn, desc, v,
		       (unsigned long long)f->error_code);
	if (v == 14)
		console_printf("page fault at 0x%016llx: %s, %s, %s mode%s%s\n",
			       (unsigned long long)read_cr2(),
			       f->error_code & 1 ? "protection violation" : "not present",
			       f->error_code & 2 ? "write" : "read",
			       f->error_code & 4 ? "user" : "supervisor",
			       f->error_code & 8 ? ", reserved bit set" : "",
			       f->error_code & 16 ? ", instruction fetch" : "");
	console_printf("RIP=%016llx CS=%04llx RFLAGS=%016llx\n", (unsigned long long)f->rip,
		       (unsigned long long)f->cs, (unsigned long long)f->rflags);
	console_printf("RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n",
		       (unsigned long long)f->rax, (unsigned long long)f->rbx,
		       (unsigned long long)f->rcx, (unsigned long long)f->rdx);
	console_printf("RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n",
		       (unsigned long long)f->rsi, (unsigned long long)f->rdi,
		       (unsigned long long)f->rbp, (unsigned long long)f->rsp);
	console_printf("R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n",
		       (unsigned long long)f->r8, (unsigned long long)f->r9,
		       (unsigned long long)f->r10, (unsigned long long)f->r11);
	console_printf("R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n",
		       (unsigned long long)f->r12, (unsigned long long)f->r13,
		       (unsigned long long)f->r14, (unsigned long long)f->r15);
	console_printf("CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx SS=%04llx\n",
		       (unsigned long long)read_cr0(), (unsigned long long)read_cr2(),
		       (unsigned long long)read_cr3(), (unsigned long long)read_cr4(),
		       (unsigned long long)f->ss);
	backtrace(f->rip, f->rbp);
}

static trap_handler irq_handlers[16];
static trap_handler tick_handlers[TRAP_MAX_TICK];

void trap_register_irq(unsigned line, trap_handler fn)
{
	if (line < 16 && line != PIT_IRQ)
		irq_handlers[line] = fn;
}

void trap_register_tick(trap_handler fn)
{
	for (unsigned i = 0; i < TRAP_MAX_TICK; i++)
		if (!tick_handlers[i] || tick_handlers[i] == fn) {
			tick_handlers[i] = fn;
			return;
		}
}

void trap_dispatch(struct trap_frame *f)
{
	static int in_exception;

	if (f->vector == PIC_VECTOR_BASE + PIT_IRQ) {
		pit_tick();
		for (unsigned i = 0; i < TRAP_MAX_TICK && tick_handlers[i]; i++)
			tick_handlers[i]();
		pic_eoi(PIT_IRQ);
		return;
	}
	if (f->vector >= PIC_VECTOR_BASE && f->vector < PIC_VECTOR_BASE + 16 &&
	    irq_handlers[f->vector - PIC_VECTOR_BASE]) {
		irq_handlers[f->vector - PIC_VECTOR_BASE]();
		pic_eoi((unsigned)f->vector - PIC_VECTOR_BASE);
		return;
	}
	if (f->vector >= 32) {
		console_printf("hv: unexpected interrupt vector %llu ignored\n",
			       (unsigned long long)f->vector);
		if (f->vector >= PIC_VECTOR_BASE && f->vector < PIC_VECTOR_BASE + 16)
			pic_eoi((unsigned)f->vector - PIC_VECTOR_BASE);
		return;
	}
	if (in_exception++) {
		/* A fault while dumping: print the bare minimum and stop. */
		console_printf(
		    "\nEXCEPTION vector %llu at RIP=%016llx inside the exception handler\n",
		    (unsigned long long)f->vector, (unsigned long long)f->rip);
		hv_halt();
	}
	dump_frame(f);
	console_printf("PANIC: hypervisor fault, stopping\n");
	hv_stop(HV_EXIT_PANIC);
}

void trap_selftest(enum hv_selftest which)
{
	static const char *const names[] = {
	    [HV_SELFTEST_UD] = "UD",
	    [HV_SELFTEST_PF] = "PF",
	    [HV_SELFTEST_GP] = "GP",
	    [HV_SELFTEST_DE] = "DE",
	};
	uint32_t zero = 0;

	if (which == HV_SELFTEST_NONE || which >= sizeof(names) / sizeof(names[0]))
		return;
	console_printf("hv: selftest: raising #%s on purpose\n", names[which]);
	switch (which) {
	case HV_SELFTEST_UD:
		__asm__ volatile("ud2");
		break;
	case HV_SELFTEST_PF:
		/* Above the 4 GiB identity map: not present. */
		(void)*(volatile uint64_t *)0x100000000000ull;
		break;
	case HV_SELFTEST_GP:
		/* A non-canonical address. */
		(void)*(volatile uint64_t *)0x8000000000000000ull;
		break;
	case HV_SELFTEST_DE:
		__asm__ volatile("xorl %%edx, %%edx\n\tdivl %1" : "+a"(zero) : "r"(zero) : "rdx");
		break;
	case HV_SELFTEST_NONE:
	case HV_SELFTEST_VMENTRY: /* not exceptions: hv/loader/boot_guests.c, */
	case HV_SELFTEST_KVMAPI:  /* hv/kvm/kvm_api_selftest.c */
		break;
	}
	console_printf("hv: selftest: #%s did not fault\n", names[which]);
}
