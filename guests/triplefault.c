// SPDX-License-Identifier: MIT
/*
 * An empty IDT (limit 0) turns int3 into #GP, #DF and then a triple fault:
 * the hypervisor must stop the VM with KVM_EXIT_SHUTDOWN. Reaching the code
 * after int3 is a failure.
 */
#include "guest.h"

void guest_main(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) empty = {0, 0};

	puts("triple fault next");
	asm volatile("lidt %0\n\tint3" ::"m"(empty) : "memory");
	/* Only a broken CPU model gets here: the IDT is gone, so do not fault. */
	reportf("triple fault", false, "execution continued after int3 with an empty IDT");
	done();
}
