// SPDX-License-Identifier: MIT
/*
 * The boot CPU's GDT, TSS and IDT. The TSS carries separate IST stacks for
 * the exceptions that must work even when the current stack is bad: double
 * fault, NMI and machine check.
 */
#include <stdint.h>
#include <string.h>

#include "boot/trap.h"
#include "hv/lib/x86.h"

#define IST_STACK_SIZE 8192
enum { IST_DF = 1, IST_NMI = 2, IST_MC = 3, IST_COUNT = 3 };

struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
};

struct __attribute__((packed)) idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
};

_Static_assert(sizeof(struct tss64) == 104, "TSS layout");
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate layout");

static uint64_t gdt[5] __attribute__((aligned(16))) = {
    0,
    0x00af9a000000ffff, /* GDT_CODE64: present, DPL0, long mode */
    0x00cf92000000ffff, /* GDT_DATA: present, DPL0, writable */
    0,
    0, /* GDT_TSS: 16-byte system descriptor, filled below */
};
static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
static uint8_t ist_stacks[IST_COUNT][IST_STACK_SIZE] __attribute__((aligned(16)));

extern const uint64_t isr_stub_table[256];

static void tss_descriptor(uint64_t *slot, uint64_t base, uint32_t limit)
{
	slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
		  (0x89ull << 40) /* present, type 9: available 64-bit TSS */ |
		  ((uint64_t)(limit >> 16 & 0xf) << 48) | ((base >> 24 & 0xff) << 56);
	slot[1] = base >> 32;
}

static void set_gate(unsigned vec, uint64_t handler, uint8_t ist)
{
	struct idt_gate *g = &idt[vec];

	g->offset_lo = handler & 0xffff;
	g->selector = GDT_CODE64;
	g->ist = ist;
	g->type_attr = 0x8e; /* present, DPL0, 64-bit interrupt gate */
	g->offset_mid = handler >> 16 & 0xffff;
	g->offset_hi = handler >> 32;
	g->reserved = 0;
}

uint64_t cpu_tss_base(void)
{
	return (uint64_t)&tss;
}

void cpu_tables_init(void)
{
	struct desc_ptr gdtr = {sizeof(gdt) - 1, (uint64_t)gdt};
	struct desc_ptr idtr = {sizeof(idt) - 1, (uint64_t)idt};

	memset(&tss, 0, sizeof(tss));
	for (int i = 0; i < IST_COUNT; i++)
		tss.ist[i] = (uint64_t)&ist_stacks[i][IST_STACK_SIZE];
	tss.iomap_base = sizeof(tss); /* no I/O permission bitmap */
	tss_descriptor(&gdt[GDT_TSS / 8], (uint64_t)&tss, sizeof(tss) - 1);

	lgdt(&gdtr);
	/* Reload CS through a far return, then the data segments. */
	__asm__ volatile("pushq %0\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w1, %%ds\n\t"
			 "movw %w1, %%es\n\t"
			 "movw %w1, %%ss\n\t"
			 :
			 : "i"(GDT_CODE64), "r"(GDT_DATA)
			 : "rax", "memory");
	ltr(GDT_TSS);

	for (unsigned v = 0; v < 256; v++)
		set_gate(v, isr_stub_table[v], 0);
	idt[2].ist = IST_NMI;
	idt[8].ist = IST_DF;
	idt[18].ist = IST_MC;
	lidt(&idtr);
}
