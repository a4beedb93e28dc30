// SPDX-License-Identifier: MIT
#include "abi/hv_exit.h"
#include "drivers/debug_exit.h"
#include "hv/lib/x86.h"

#define QEMU_DEBUG_EXIT_PORT 0xf4   /* -device isa-debug-exit,iobase=0xf4 */
#define BOCHS_SHUTDOWN_PORT  0x8900 /* "Shutdown" written here quits Bochs */

const char *debug_exit_name(uint8_t status)
{
	switch (status) {
	case HV_EXIT_SUCCESS:
		return "HV_EXIT_SUCCESS";
	case HV_EXIT_FAILURE:
		return "HV_EXIT_FAILURE";
	case HV_EXIT_NO_VMX:
		return "HV_EXIT_NO_VMX";
	case HV_EXIT_PANIC:
		return "HV_EXIT_PANIC";
	default:
		return "HV_EXIT_UNKNOWN";
	}
}

void debug_exit(uint8_t status)
{
	static const char bochs_cmd[] = "Shutdown";

	outl(QEMU_DEBUG_EXIT_PORT, status);
	for (const char *p = bochs_cmd; *p; p++)
		outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*p);
}
