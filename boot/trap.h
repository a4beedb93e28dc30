/* SPDX-License-Identifier: MIT */
/* CPU tables (GDT, TSS, IDT) and the exception entry frame. */
#ifndef BOOT_TRAP_H
#define BOOT_TRAP_H

#include <stdint.h>

#include "hv/lib/cmdline.h"

#define GDT_CODE64 0x08
#define GDT_DATA   0x10
#define GDT_TSS	   0x18

/* Saved by boot/isr.S, lowest address first (the order of its pushes, reversed). */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	/* pushed by the CPU */
	uint64_t rip, cs, rflags, rsp, ss;
};

void cpu_tables_init(void);
/* The boot CPU's TSS, for the VMCS host state. */
uint64_t cpu_tss_base(void);
void trap_dispatch(struct trap_frame *f);

/*
 * Interrupt handlers, registered by the drivers and services that own the
 * line (called with interrupts off; the dispatcher sends the EOI): one per
 * legacy PIC line, and up to TRAP_MAX_TICK functions run at every timer
 * tick after the PIT's own bookkeeping.
 */
typedef void (*trap_handler)(void);
#define TRAP_MAX_TICK 4
void trap_register_irq(unsigned line, trap_handler fn);
void trap_register_tick(trap_handler fn);

/* Raise the exception named by selftest= to show the exception dump. */
void trap_selftest(enum hv_selftest which);

#endif
