// SPDX-License-Identifier: MIT
/*
 * External-interrupt vectors 32-255 for guest test programs: an IDT copied
 * from the one crt0 set up (its exception gates kept), with one 16-byte
 * stub per vector that saves the registers and calls the handler given to
 * intr_install() with the vector number, then IRETs.
 */
#include "guest.h"

static struct idt_gate idt[256] __attribute__((aligned(8)));
static void (*handler)(uint32_t vec);

void intr_dispatch(uint32_t vec);

void intr_dispatch(uint32_t vec)
{
	if (handler)
		handler(vec);
}

extern const char intr_stubs[];
asm(".pushsection .text\n"
    ".balign 16\n"
    ".globl intr_stubs\n"
    "intr_stubs:\n"
    ".set intr_vec, 32\n"
    ".rept 224\n"
    "\t.balign 16\n"
    "\tpushl $intr_vec\n"
    "\tjmp intr_common\n"
    "\t.set intr_vec, intr_vec + 1\n"
    ".endr\n"
    "intr_common:\n"
    "\tcld\n"
    "\tpushal\n"
    "\tpushl 32(%esp)\n"
    "\tcall intr_dispatch\n"
    "\taddl $4, %esp\n"
    "\tpopal\n"
    "\taddl $4, %esp\n"
    "\tiret\n"
    ".popsection");

void intr_install(void (*fn)(uint32_t vec))
{
	struct table_desc old, new = {sizeof(idt) - 1, (uint32_t)idt};
	uint16_t cs;

	handler = fn;
	asm volatile("sidt %0" : "=m"(old));
	asm volatile("mov %%cs, %0" : "=r"(cs));
	memcpy(idt, (void *)old.base, old.limit + 1u);
	for (unsigned v = 32; v < 256; v++) {
		uint32_t a = (uint32_t)intr_stubs + 16 * (v - 32);

		idt[v] = (struct idt_gate){a & 0xffff, cs, 0, GATE_INTERRUPT_32, a >> 16};
	}
	asm volatile("lidt %0" ::"m"(new));
}
