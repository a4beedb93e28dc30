/* SPDX-License-Identifier: MIT */
/*
 * MSR probe (t_msr.c): runs the RDMSR/WRMSR list the program wrote at
 * G_DATA and records, for each, whether it raised #GP and EDX:EAX after
 * it; then OUTs GMP_DONE and halts. Its own vector-13 handler notes the
 * #GP and steps over the two-byte instruction (0f 32 / 0f 30), so one
 * run goes through the whole list.
 *
 *	G_DATA + 0	number of operations (counted down as they run)
 *	G_DATA + 16	operations, 16 bytes each: 0 RDMSR / 1 WRMSR, ECX, EAX, EDX
 *	G_RESULT	results, 16 bytes each: #GP (0 or 1), EAX, EDX, 0
 */
#include "tests/remote/guest.h"

#define GMP_OPS		(G_DATA + 16)
#define GMP_DONE	0x6d5200d0

	.code16
	.text
	.globl	_start
_start:
	SET_IVT	13, gp
	movw	$GMP_OPS, %bx
	movw	$G_RESULT, %di
next:
	cmpl	$0, G_DATA
	je	done
	decl	G_DATA
	xorl	%esi, %esi
	movl	4(%bx), %ecx
	movl	8(%bx), %eax
	movl	12(%bx), %edx
	cmpl	$0, (%bx)
	jne	2f
	rdmsr
	jmp	3f
2:	wrmsr
3:	movl	%esi, (%di)
	movl	%eax, 4(%di)
	movl	%edx, 8(%di)
	movl	$0, 12(%di)
	addw	$16, %bx
	addw	$16, %di
	jmp	next
done:
	movl	$GMP_DONE, %eax
	movw	$G_PORT, %dx
	outl	%eax, %dx
4:	hlt
	jmp	4b

/* #GP (real mode: no error code): note it, return past the instruction. */
gp:
	movl	$1, %esi
	pushw	%bp
	movw	%sp, %bp
	addw	$2, 2(%bp)
	popw	%bp
	iret
