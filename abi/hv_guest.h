/* SPDX-License-Identifier: MIT */
/*
 * The platform a boot guest sees (shared by the hypervisor and the guest
 * programs in guests/). Everything here is what the in-hypervisor boot
 * controller offers; a remote controller may offer more.
 *
 * - COM1 (0x3f8..0x3ff): bytes written to THR appear on the hypervisor
 *   console as lines prefixed "[<guest name>] ". LSR reads 0x60 (transmitter
 *   empty), other registers read 0 and ignore writes.
 * - Port 0xf4 (HV_GUEST_RESULT_PORT): a write ends the guest with that value
 *   as its result; 0 means the guest's own checks passed. Logged as
 *   "vm <name>: result 0x<v> (pass|FAIL)".
 * - Every other port reads all-ones and ignores writes; every guest-physical
 *   address outside the guest's memory likewise (MMIO exit).
 * - HLT ends the guest ("vm <name>: halted"): there are no interrupt
 *   sources yet.
 * - CPUID leaf 0x40000000 returns HV_CPUID_MAX_LEAF in EAX and the 12-byte
 *   signature in EBX, ECX, EDX; leaf 1 has ECX[31] (hypervisor) set and
 *   ECX[5] (VMX) clear.
 * - VMCALL: RAX = hypercall number, RBX, RCX, RDX, RSI = arguments; the
 *   result comes back in RAX, a negative errno value on failure.
 */
#ifndef ABI_HV_GUEST_H
#define ABI_HV_GUEST_H

#define HV_GUEST_COM1_PORT   0x3f8
#define HV_GUEST_RESULT_PORT 0xf4
#define HV_GUEST_RESULT_PASS 0

#define HV_CPUID_SIGNATURE_LEAF 0x40000000u
#define HV_CPUID_MAX_LEAF	0x40000001u
#define HV_CPUID_SIGNATURE	"hv-minivisor" /* exactly 12 bytes */

/* Hypercall numbers (RAX). */
#define HC_NOP	   0 /* returns 0 doing the least possible work (benchmark floor) */
#define HC_VERSION 1 /* returns HV_HYPERCALL_ABI_VERSION */
#define HC_PUTS	   2 /* RBX = guest-physical address, RCX = length (<= 4096): console output */
/*
 * Test aid: queue an event for the calling vCPU through the same path as
 * KVM_INTERRUPT / KVM_NMI. RBX = 2: an NMI; RBX = 32..255: an external
 * interrupt with that vector, delivered once RFLAGS.IF and the STI/MOV SS
 * shadows allow (interrupt-window exiting until then).
 */
#define HC_INJECT 3

#define HV_HYPERCALL_ABI_VERSION 1
#define HV_HC_PUTS_MAX		 4096

/* Hypercall errors (negated in RAX), Linux errno values. */
#define HC_EFAULT 14
#define HC_EINVAL 22
#define HC_ENOSYS 38

#endif
