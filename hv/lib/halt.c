// SPDX-License-Identifier: MIT
/* Stopping the machine: halt, stop with a status, power off (hv/lib/halt.h). */
#include <stdbool.h>
#include <stdio.h>

#include "abi/hv_exit.h"
#include "drivers/debug_exit.h"
#include "hv/lib/console.h"
#include "hv/lib/halt.h"
#include "hv/lib/x86.h"

static bool exit_emulator;

void hv_set_exit_on_stop(bool on)
{
	exit_emulator = on;
}

void hv_halt(void)
{
	for (;;) {
		cli();
		hlt();
	}
}

void hv_stop(uint8_t status)
{
	if (status != HV_EXIT_PANIC)
		fflush(stdout); /* not after a fault: stdio may be what broke */
	console_printf("hv: exit %s (0x%02x)\n", debug_exit_name(status), status);
	if (exit_emulator) {
		console_flush(); /* the emulator quits at once */
		debug_exit(status);
	}
	console_printf("hv: halted\n");
	hv_halt();
}

void hv_power_off(void)
{
	console_printf("hv: exit %s (0x%02x)\n", debug_exit_name(HV_EXIT_SUCCESS), HV_EXIT_SUCCESS);
	console_flush();
	debug_exit(HV_EXIT_SUCCESS);
	console_printf("hv: halted\n");
	hv_halt();
}
