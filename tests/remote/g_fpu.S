/* SPDX-License-Identifier: MIT */
/*
 * Stores the FPU state it was entered with (FCW, MXCSR, XMM0) at
 * G_RESULT, then loads new values from G_DATA (FCW, MXCSR, XMM1) for the
 * program to read back; OUTs GF_DONE and halts. Needs CR4.OSFXSR.
 */
#include "tests/remote/guest.h"

	.code16
	.text
	.globl	_start
_start:
	fnstcw	GF_FCW_AT
	stmxcsr	GF_MXCSR_AT
	movdqu	%xmm0, GF_XMM0_AT
	fldcw	GF_FCW_SRC
	ldmxcsr	GF_MXCSR_SRC
	movdqu	GF_XMM1_SRC, %xmm1
	movw	$G_PORT, %dx
	movl	$GF_DONE, %eax
	outl	%eax, %dx
1:	hlt
	jmp	1b
