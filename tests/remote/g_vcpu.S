/* SPDX-License-Identifier: MIT */
/*
 * vCPU behaviour as KVM's (t_vcpu.c): each entry point at a fixed offset
 * (g_vcpu.h) exercises one rule: port I/O completion, the interrupt
 * window, single-step after an emulated instruction, guest-owned CR0
 * bits, CR4.PCIDE outside long mode, a fault during event delivery.
 */
#include "tests/remote/guest.h"
#include "tests/remote/g_vcpu.h"

	.code16
	.text
	.globl	_start
_start:
	movw	$G_PORT, %dx
	movl	$VC_EAX0, %eax
	.org	VC_IN_AT, 0x90
	inl	%dx, %eax
	outl	%eax, %dx
	hlt

	.org	VC_ALT, 0x90
	outl	%eax, %dx
	hlt

	.org	VC_WIN, 0x90
	movw	$G_PORT, %dx
	sti
	nop
	movl	$VC_NOWIN, %eax
	outl	%eax, %dx
	hlt

	.org	VC_TF, 0x90
	movw	$G_PORT, %dx
	xorl	%eax, %eax
	pushfl
	orl	$0x100, (%esp)
	popfl
	cpuid				/* the single-step trap comes after this */
tf_after:
	nop
	movw	$G_PORT, %dx
	movl	$VC_NOTRAP, %eax
	outl	%eax, %dx
	hlt

	.org	VC_CR0TS, 0x90
	movw	$G_PORT, %dx
	movl	%cr0, %eax
	orl	$8, %eax		/* TS */
	movl	%eax, %cr0
	movl	%cr0, %eax
	outl	%eax, %dx
	hlt

	.org	VC_PCIDE, 0x90
	movw	$G_PORT, %dx
	movl	%cr4, %eax
	orl	$0x20000, %eax		/* PCIDE */
	movl	%eax, %cr4
	movl	$VC_NOGP, %eax
	outl	%eax, %dx
	hlt

	.org	VC_DELIV, 0x90
	movw	$0x1000, %ax		/* SS base 0x10000: beyond the slot */
	movw	%ax, %ss
	movw	$0x100, %sp
	int	$G_IRQ_VECTOR
	hlt

	.org	VC_SPIN, 0x90
	movw	$G_PORT, %dx
	movl	$1, %eax
	outl	%eax, %dx
1:	jmp	1b

	.code32
	.org	VC_PM32, 0x90
	outl	%eax, %dx
	hlt

	.code16
	.org	VC_INS, 0x90
	cld
	movw	$0x80, %dx
	movl	$VC_INS_BUF, %edi	/* ES = 0 */
	rep insb
	movw	$G_PORT, %dx
	movl	%ecx, %eax
	outl	%eax, %dx
	movl	%edi, %eax
	outl	%eax, %dx
	hlt
