/* SPDX-License-Identifier: MIT */
/* The 8254 programmable interval timer: the hypervisor's periodic tick. */
#ifndef DRIVERS_PIT8254_H
#define DRIVERS_PIT8254_H

#include <stdint.h>

#define PIT_IRQ 0

/* Channel 0 as a rate generator at hz ticks per second on IRQ 0. */
void pit_start(unsigned hz);

/* Ticks taken so far (counted by the IRQ 0 handler). */
uint64_t pit_ticks(void);
void pit_tick(void);

#endif
