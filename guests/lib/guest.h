/* SPDX-License-Identifier: MIT */
/*
 * The guest runtime (guests/lib): what every test program can use.
 *
 * A program defines guest_main(); crt0 calls it after setting up the GDT,
 * the IDT and COM1, then calls done(), which reports the number of failed
 * checks on port 0xf4 (0 = pass) and halts.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/hv_guest.h"
#include "x86.h"

#define __noreturn	 __attribute__((noreturn))
#define __printf(a, b)	 __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a)	 (sizeof(a) / sizeof((a)[0]))
#define __stringify_1(x) #x
#define __stringify(x)	 __stringify_1(x)

/* The program's entry point. */
void guest_main(void);

/* ---- console (COM1) ------------------------------------------------------ */

void serial_init(void);
void serial_putc(char c);
int putchar(int c);
int puts(const char *s); /* adds a newline */
int printf(const char *fmt, ...) __printf(1, 2);
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* ---- results ------------------------------------------------------------- */

extern unsigned guest_passed, guest_failed;

/* "PASS name" or "FAIL name"; returns ok. */
bool report(const char *name, bool ok);
/* "PASS name" or "FAIL name: <details>"; returns ok. */
bool reportf(const char *name, bool ok, const char *fmt, ...) __printf(3, 4);
/* Equality checks that print both values when they differ. */
bool check_u32(const char *name, uint32_t got, uint32_t want);
bool check_u64(const char *name, uint64_t got, uint64_t want);
/* "SKIP name: why" (not a failure: the CPU lacks what the check needs). */
void skip(const char *name, const char *why);

/* Print the totals, write guest_failed to port 0xf4, then cli; hlt forever. */
void done(void) __noreturn;
/* Write `result` to port 0xf4, then cli; hlt forever. */
void done_with(uint32_t result) __noreturn;

/* ---- exceptions ---------------------------------------------------------- */

#define NO_EXCEPTION   (-1)
#define ANY_ERROR_CODE 0xffffffffu

/* The last exception the IDT stubs saw. */
struct trap_record {
	int vector;
	uint32_t error_code; /* 0 for vectors without one */
	uint32_t eip;	     /* as pushed: the faulting instruction, after it for traps */
	uint32_t cs;
	uint32_t eflags;
	uint32_t cr2; /* read in the handler for #PF, else 0 */
};

extern struct trap_record last_trap;

/*
 * Call fn(arg). If it raises an exception (vectors 0-31), the handler
 * records it in last_trap and unwinds straight back here: fn is abandoned
 * and the registers this function must preserve are restored, as with
 * longjmp. Returns the vector, or NO_EXCEPTION when fn returned normally.
 * An exception outside catch_exception() is a failure that ends the program.
 * Not nestable: fn must not call catch_exception() itself.
 */
int catch_exception(void (*fn)(void *), void *arg);

/*
 * Vectors 32-255 call fn(vector) with every register saved (guests/lib/
 * intr.c); the exception vectors stay as crt0 set them. IF is the caller's.
 */
void intr_install(void (*fn)(uint32_t vec));

/*
 * Report `name`: passes when fn(arg) raised `vector`, with error code `ec`
 * (unless ANY_ERROR_CODE) at `eip` (unless NULL).
 */
bool expect_exception(const char *name, int vector, uint32_t ec, const void *eip,
		      void (*fn)(void *), void *arg);

/* Report `name`: passes when fn(arg) returned without an exception. */
bool expect_no_exception(const char *name, void (*fn)(void *), void *arg);

/*
 * GUEST_INSN(name, setup, insn) defines void name(void *) that runs the
 * instructions `setup`, then `insn` at label name##_at, then returns from
 * label name##_end: the addresses an exception must report (a fault the
 * former, a trap the latter). Both strings may clobber EAX, ECX and EDX only.
 */
#define GUEST_INSN(name, setup, insn)                                                              \
	void name(void *);                                                                         \
	extern const char name##_at[], name##_end[];                                               \
	asm(".pushsection .text\n"                                                                 \
	    ".globl " #name ", " #name "_at, " #name "_end\n"                                      \
	    ".type " #name ", @function\n" #name ":\n\t" setup "\n" #name "_at:\n\t" insn          \
	    "\n" #name "_end:\n\tret\n"                                                            \
	    ".size " #name ", . - " #name "\n"                                                     \
	    ".popsection")

/* ---- entry state and multiboot ------------------------------------------ */

#define MB1_BOOTLOADER_MAGIC 0x2badb002u
#define MB1_INFO_MEMORY	     (1u << 0)
#define MB1_INFO_CMDLINE     (1u << 2)

struct mb1_info {
	uint32_t flags;
	uint32_t mem_lower; /* KiB below 1 MiB */
	uint32_t mem_upper; /* KiB from 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline;
	/* more fields follow; the tests do not use them */
};

/* Saved by crt0 before anything else ran. */
extern uint32_t entry_eax, entry_ebx, entry_cr0, entry_eflags;

/* The multiboot information, or NULL when EAX did not hold the magic. */
const struct mb1_info *mb1_info(void);
/* The command line from the multiboot information, or "". */
const char *mb1_cmdline(void);

/* ---- paging (32-bit, 4 KiB pages, identity map of the first 4 MiB) ------- */

#define PTE_P (1u << 0)
#define PTE_W (1u << 1)
#define PTE_A (1u << 5) /* preset by paging_set_flags() */
#define PTE_D (1u << 6) /* preset by paging_set_flags() */

/* A page-aligned page of the image that tests may unmap or write-protect. */
extern uint8_t scratch_page[4096];

void paging_on(void);  /* builds the identity map (P|W everywhere), sets CR3, CR0.PG */
void paging_off(void); /* clears CR0.PG */
/* Give the page holding `va` the flags P/W, plus A and D (identity address). */
void paging_set_flags(uint32_t va, uint32_t flags);

/* ---- small helpers ------------------------------------------------------- */

void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

/* 64-bit by 32-bit unsigned division without libgcc; returns the quotient. */
uint64_t div_u64_rem(uint64_t n, uint32_t d, uint32_t *rem);

/* A 32-bit IDT gate and the IDTR/GDTR image (the guests that build their own IDT). */
struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t zero;
	uint8_t type_attr;
	uint16_t offset_hi;
} __attribute__((packed));

struct table_desc {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

#define GATE_INTERRUPT_32 0x8e /* present, DPL 0, 32-bit interrupt gate */

#endif
