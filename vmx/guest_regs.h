/* SPDX-License-Identifier: MIT */
/*
 * Guest general-purpose registers as saved by vmx/vmentry.S: an array
 * indexed by the architectural register number (the number exit
 * qualifications and instruction decoding use), so the stub and C share
 * one definition and no struct offsets are kept by hand. RSP lives in the
 * VMCS; its slot is unused.
 */
#ifndef VMX_GUEST_REGS_H
#define VMX_GUEST_REGS_H

#define GPR_RAX	  0
#define GPR_RCX	  1
#define GPR_RDX	  2
#define GPR_RBX	  3
#define GPR_RSP	  4
#define GPR_RBP	  5
#define GPR_RSI	  6
#define GPR_RDI	  7
#define GPR_R8	  8
#define GPR_R9	  9
#define GPR_R10	  10
#define GPR_R11	  11
#define GPR_R12	  12
#define GPR_R13	  13
#define GPR_R14	  14
#define GPR_R15	  15
#define GPR_COUNT 16

#ifndef __ASSEMBLER__
#include <stdint.h>

/*
 * Enter the guest with the current VMCS: VMLAUNCH if !launched, else
 * VMRESUME. Returns 0 after a VM exit (guest registers saved in gpr), or
 * 1 if the instruction failed (VMfail; the VMCS says why).
 */
int vmx_enter(uint64_t gpr[GPR_COUNT], int launched);
#endif

#endif
