// SPDX-License-Identifier: MIT
/*
 * vmx/xstate.c, built for the host as it is, except for the bodies of its
 * xstate_hw_* functions: each one's single asm statement (FXSAVE64,
 * FXRSTOR64, XSAVE64, XRSTOR64 on its parameter "area") becomes a call to
 * the fake CPU, which moves the state between the area and its own
 * register file and faults where the instruction would (a reserved MXCSR
 * bit, a bad XSAVE header, a misaligned area).
 *
 * How: everything xstate.c includes is included first (so headers keep
 * their real asm), then "__asm__ volatile(args)" is made to read
 * "(void) fake_fpu_insn(#args, area)". A new asm statement in xstate.c of
 * another shape stops this file from building, which is the signal to
 * look here again.
 */
#include <stdbool.h>
#include <string.h>

#include "abi/errno.h"
#include "hv/lib/log.h"
#include "hv/lib/x86.h"
#include "tests/host/fake.h"
#include "vmx/xstate.h"

#define __asm__ (void)
#define volatile(...) fake_fpu_insn(#__VA_ARGS__, area)
#include "vmx/xstate.c"
#undef volatile
#undef __asm__
