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
 * - A guest started with irqchip=1 has KVM_CREATE_IRQCHIP's platform
 *   instead: a local APIC at HV_GUEST_LAPIC_ADDR, an IOAPIC at
 *   HV_GUEST_IOAPIC_ADDR, the two 8259 PICs, an MP table and an ACPI MADT
 *   in 0xf0000-0xfffff describing them; HLT waits for an interrupt, and
 *   HC_IRQ_LINE raises and lowers its interrupt lines.
 * - CPUID leaf 0x40000000 returns HV_CPUID_MAX_LEAF in EAX and the 12-byte
 *   signature in EBX, ECX, EDX; leaf 1 has ECX[31] (hypervisor) set and
 *   ECX[5] (VMX) clear.
 * - VMCALL: RAX = hypercall number, RBX, RCX, RDX, RSI = arguments; the
 *   result comes back in RAX, a negative errno value on failure.
 */
#ifndef ABI_HV_GUEST_H
#define ABI_HV_GUEST_H

#define HV_GUEST_COM1_PORT   0x3f8
#define HV_GUEST_LAPIC_ADDR  0xfee00000u
#define HV_GUEST_IOAPIC_ADDR 0xfec00000u
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
/*
 * Test aid for guests started with an irqchip (module option irqchip=1):
 * RBX = GSI, RCX = level (0 or 1). Sets that interrupt line through the
 * path of KVM_IRQ_LINE_STATUS (GSI i is IOAPIC pin i, and PIC input i for
 * 0..15) and returns its status: > 0 delivered to that many local APICs,
 * 0 coalesced, -1 ignored (masked or not routed). -HC_EINVAL for a level
 * other than 0 and 1 or a GSI above 32 bits; -HC_ENXIO without an irqchip.
 * An edge-triggered input sees an edge only from 0 to 1: raise, then lower.
 */
#define HC_IRQ_LINE 4

#define HV_HYPERCALL_ABI_VERSION 1
#define HV_HC_PUTS_MAX		 4096

/* Hypercall errors (negated in RAX), Linux errno values. */
#define HC_ENXIO  6
#define HC_EFAULT 14
#define HC_EINVAL 22
#define HC_ENOSYS 38

#endif
