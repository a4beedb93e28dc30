// SPDX-License-Identifier: MIT
/*
 * A guest that never ends by itself: it spins with interrupts off. Run with
 * a budget= on its module line, the hypervisor's preemption timer must stop
 * it ("vm <name>: stopped (KVM_EXIT_INTR)") and go on to the next guest.
 */
#include "guest.h"

void guest_main(void)
{
	puts("spinning until the hypervisor stops me");
	for (;;)
		__asm__ volatile("" ::: "memory");
}
