/* SPDX-License-Identifier: MIT */
/*
 * Entry points and values of the vCPU-behaviour guests (g_vcpu.S, real
 * and 32-bit protected mode; g_long.S, 64-bit) used by t_vcpu.c. Offsets
 * are from G_LOAD. Plain #defines: included from C and from assembly.
 */
#ifndef TESTS_REMOTE_G_VCPU_H
#define TESTS_REMOTE_G_VCPU_H

/* g_vcpu.S (real mode unless noted) */
#define VC_IN	    0x000 /* EAX = VC_EAX0; IN EAX from G_PORT at VC_IN_AT; OUT EAX; HLT */
#define VC_IN_AT    0x010
#define VC_EAX0	    0xaaaa5555
#define VC_ALT	    0x020 /* OUT EAX; HLT */
#define VC_WIN	    0x030 /* STI; NOP; OUT VC_NOWIN; HLT */
#define VC_NOWIN    0x0b0d0b0d
#define VC_TF	    0x050 /* TF on, CPUID (emulated), NOP, OUT VC_NOTRAP */
#define VC_TF_AFTER 0x065 /* the IP after that CPUID */
#define VC_NOTRAP   0x7e7e7e7e
#define VC_CR0TS    0x080 /* MOV CR0 with TS set (no exit: TS is the guest's), OUT CR0 */
#define VC_PCIDE    0x0a0 /* MOV CR4 with PCIDE set outside long mode: #GP; else OUT VC_NOGP */
#define VC_NOGP	    0x00600d00
#define VC_DELIV    0x0c0 /* SS:SP in unbacked memory, INT 0x30: delivery faults */
#define VC_SPIN	    0x0e0 /* OUT 1, then spin for ever (IF as set) */
#define VC_PM32	    0x100 /* 32-bit code: OUT EAX to G_PORT (DX set by the program); HLT */
/* CLD; REP INSB from port 0x80 to VC_INS_BUF (CX as set); OUT ECX; OUT EDI; HLT */
#define VC_INS	   0x120
#define VC_INS_BUF 0x3000

/* g_long.S (64-bit): 32 exception stubs, then the tests */
#define VL_STUB_SIZE 16 /* stub v: OUT G_MARK_VEC | v to G_PORT, HLT */
#define VL_NR_STUBS  32
#define VL_CR8	     0x200 /* CR8 = RBX; RAX = CR8; OUT EAX */
#define VL_CR8_LOWER 0x220 /* CR8 = 7; CR8 = 3 (lowered: KVM_EXIT_SET_TPR); OUT CR8 */
#define VL_SWAPGS    0x240 /* SWAPGS; OUT 1 */
#define VL_RDCR8     0x260 /* RAX = CR8; OUT EAX */

/* Guest-physical layout of the 64-bit set-up (G_MEM_SIZE bytes at 0) */
#define VL_PML4 0x2000
#define VL_GDT	0x3800
#define VL_IDT	0x3900 /* 32 gates of 16 bytes */
#define VL_PDPT 0x5000
#define VL_PD	0x6000 /* entry 0: a 2 MiB page at 0 */
#define VL_CS	0x08
#define VL_DS	0x10

#endif
