/* SPDX-License-Identifier: MIT */
/*
 * Runs with IF=0: OUTs 1, then STI; NOP (the interrupt shadow ends after
 * the NOP), then OUTs 2 and halts. A queued interrupt must arrive between
 * the two OUTs, never before the first.
 */
#include "tests/remote/guest.h"

	.code16
	.text
	.globl	_start
_start:
	movw	$G_PORT, %dx
	movl	$1, %eax
	outl	%eax, %dx
	sti
	nop
	movl	$2, %eax
	outl	%eax, %dx
1:	hlt
	jmp	1b
