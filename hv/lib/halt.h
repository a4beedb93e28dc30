/* SPDX-License-Identifier: MIT */
/* Stopping the machine (hv/lib/halt.c): the bottom library, beside log and memory. */
#ifndef HV_LIB_HALT_H
#define HV_LIB_HALT_H

#include <stdbool.h>
#include <stdint.h>

/* Whether hv_stop() tells the emulator to quit (on_done=exit); not at first. */
void hv_set_exit_on_stop(bool on);

/* Stop this CPU for good: interrupts off, halt in a loop. */
void hv_halt(void) __attribute__((noreturn));

/*
 * Finish the run with an HV_EXIT_* status: print "hv: exit NAME (0xNN)",
 * then with on_done=exit tell the emulator to quit; otherwise (or if the
 * emulator did not quit) halt.
 */
void hv_stop(uint8_t status) __attribute__((noreturn));

/* The controller asked to power off: report HV_EXIT_SUCCESS and quit the
 * emulator whatever on_done says; halt where there is no emulator. */
void hv_power_off(void) __attribute__((noreturn));

#endif
