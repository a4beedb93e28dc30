/* SPDX-License-Identifier: MIT */
/* Ending a run under an emulator with a status the test runner can read. */
#ifndef DRIVERS_DEBUG_EXIT_H
#define DRIVERS_DEBUG_EXIT_H

#include <stdint.h>

/* Name of an HV_EXIT_* value from abi/hv_exit.h. */
const char *debug_exit_name(uint8_t status);

/*
 * Tell QEMU (isa-debug-exit at 0xf4) and Bochs (shutdown port 0x8900) to
 * end the run. Returns on real hardware, where neither device exists.
 */
void debug_exit(uint8_t status);

#endif
