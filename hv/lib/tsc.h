/* SPDX-License-Identifier: MIT */
/*
 * The TSC's rate, found once at boot: CPUID leaf 0x15 (crystal clock and
 * ratio) where the CPU gives it, else measured against the PIT.
 */
#ifndef HV_LIB_TSC_H
#define HV_LIB_TSC_H

#include <stdint.h>

/* kHz; 0 when it could not be found. */
extern uint32_t tsc_khz;

void tsc_init(void);

#endif
