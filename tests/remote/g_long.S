/* SPDX-License-Identifier: MIT */
/*
 * 64-bit guest code for t_vcpu.c (the program builds the page tables,
 * GDT and IDT, g_vcpu.h): 32 exception stubs, each OUTing G_MARK_VEC | v
 * to G_PORT, then entry points for CR8 and SWAPGS.
 */
#include "tests/remote/guest.h"
#include "tests/remote/g_vcpu.h"

	.code64
	.text
	.globl	_start
_start:
	.set	v, 0
	.rept	VL_NR_STUBS
	.org	v * VL_STUB_SIZE, 0x90
	movl	$(G_MARK_VEC + v), %eax		/* 5 bytes */
	movw	$G_PORT, %dx			/* 4 */
	outl	%eax, %dx			/* 1 */
1:	hlt					/* 1 */
	jmp	1b				/* 2 */
	.set	v, v + 1
	.endr

	.org	VL_CR8, 0x90
	movw	$G_PORT, %dx
	movq	%rbx, %cr8
	movq	%cr8, %rax
	outl	%eax, %dx
	hlt

	.org	VL_CR8_LOWER, 0x90
	movw	$G_PORT, %dx
	movl	$7, %eax
	movq	%rax, %cr8
	movl	$3, %eax
	movq	%rax, %cr8
	movq	%cr8, %rax
	outl	%eax, %dx
	hlt

	.org	VL_SWAPGS, 0x90
	movw	$G_PORT, %dx
	swapgs
	movl	$1, %eax
	outl	%eax, %dx
	hlt

	.org	VL_RDCR8, 0x90
	movw	$G_PORT, %dx
	movq	%cr8, %rax
	outl	%eax, %dx
	hlt
