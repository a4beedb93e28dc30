// SPDX-License-Identifier: MIT
/*
 * Event injection: an external interrupt queued while IF=0 must wait for
 * the interrupt window and arrive on STI; an NMI must arrive at once, IF
 * or not. Events are queued with the HC_INJECT test hypercall, which uses
 * the hypervisor's KVM_INTERRUPT / NMI path.
 */
#include "guest.h"

#define IRQ_VECTOR 0x40
#define NMI_VECTOR 2

volatile uint32_t irq_count, nmi_count;
static struct idt_gate idt[256] __attribute__((aligned(8)));

void irq_stub(void);
void nmi_stub(void);
asm(".pushsection .text\n"
    "irq_stub: lock incl irq_count\n\tiret\n"
    "nmi_stub: lock incl nmi_count\n\tiret\n"
    ".popsection");

static void set_gate(unsigned vec, void (*fn)(void), uint16_t cs)
{
	uint32_t a = (uint32_t)fn;

	idt[vec] = (struct idt_gate){a & 0xffff, cs, 0, GATE_INTERRUPT_32, a >> 16};
}

/* A larger IDT: the runtime's 32 exception gates plus ours. */
static void install_idt(void)
{
	struct table_desc old, new = {sizeof(idt) - 1, (uint32_t)idt};
	uint16_t cs;

	asm volatile("sidt %0" : "=m"(old));
	asm volatile("mov %%cs, %0" : "=r"(cs));
	memcpy(idt, (void *)old.base, old.limit + 1u);
	set_gate(IRQ_VECTOR, irq_stub, cs);
	set_gate(NMI_VECTOR, nmi_stub, cs);
	asm volatile("lidt %0" ::"m"(new));
}

void guest_main(void)
{
	long r;

	install_idt();
	asm volatile("cli");
	r = vmcall4(HC_INJECT, IRQ_VECTOR, 0, 0, 0);
	check_u32("irq inject hypercall returns 0", (uint32_t)r, 0);
	for (volatile int i = 0; i < 100; i++)
		;
	check_u32("irq held while IF=0", irq_count, 0);
	asm volatile("sti; nop; cli" ::: "memory");
	check_u32("irq delivered once IF=1", irq_count, 1);

	r = vmcall4(HC_INJECT, NMI_VECTOR, 0, 0, 0);
	check_u32("nmi inject hypercall returns 0", (uint32_t)r, 0);
	check_u32("nmi delivered with IF=0", nmi_count, 1);
	check_u32("no extra irq", irq_count, 1);

	r = vmcall4(HC_INJECT, 5, 0, 0, 0);
	check_u32("inject vector 5 refused", (uint32_t)r, (uint32_t)-HC_EINVAL);
	done();
}
