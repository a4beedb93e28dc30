/* SPDX-License-Identifier: MIT */
/*
 * CPUID probe (t_msr.c): optionally loads XCR0 (XSETBV; the program
 * starts the vCPU with CR4.OSXSAVE for that), then executes CPUID for
 * each (leaf, subleaf) the program wrote at G_DATA and stores the four
 * registers; then OUTs GMC_DONE and halts.
 *
 *	G_DATA + 0	number of (leaf, subleaf) pairs (counted down)
 *	G_DATA + 4	XCR0 to load first, 0 for none
 *	G_DATA + 16	pairs, 8 bytes each: EAX, ECX
 *	G_RESULT	results, 16 bytes each: EAX, EBX, ECX, EDX
 */
#include "tests/remote/guest.h"

#define GMC_PAIRS	(G_DATA + 16)
#define GMC_DONE	0x6d5200c1

	.code16
	.text
	.globl	_start
_start:
	movl	G_DATA + 4, %eax
	testl	%eax, %eax
	jz	1f
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	xsetbv
1:	movw	$GMC_PAIRS, %si
	movw	$G_RESULT, %di
next:
	cmpl	$0, G_DATA
	je	done
	decl	G_DATA
	movl	(%si), %eax
	movl	4(%si), %ecx
	cpuid
	movl	%eax, (%di)
	movl	%ebx, 4(%di)
	movl	%ecx, 8(%di)
	movl	%edx, 12(%di)
	addw	$8, %si
	addw	$16, %di
	jmp	next
done:
	movl	$GMC_DONE, %eax
	movw	$G_PORT, %dx
	outl	%eax, %dx
2:	hlt
	jmp	2b
