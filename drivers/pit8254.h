/* SPDX-License-Identifier: MIT */
/* The 8254 programmable interval timer: the hypervisor's periodic tick. */
#ifndef DRIVERS_PIT8254_H
#define DRIVERS_PIT8254_H

#include <stdint.h>

#define PIT_IRQ 0

/* Channel 0 as a rate generator at hz ticks per second on IRQ 0. */
void pit_start(unsigned hz);

/*
 * TSC ticks per millisecond, measured over 10 ms of channel 2 (gated by
 * port 0x61, polled, interrupts not needed); 0 if channel 2 never ends.
 */
uint64_t pit_measure_tsc_khz(void);

/* Ticks taken so far (counted by the IRQ 0 handler). */
uint64_t pit_ticks(void);
void pit_tick(void);

#endif
