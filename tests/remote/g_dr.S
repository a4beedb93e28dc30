/* SPDX-License-Identifier: MIT */
/*
 * OUTs DR0 (loaded by the program), writes GD_DR1_VAL to DR1 (for the
 * program to read back), OUTs DR7; halts.
 */
#include "tests/remote/guest.h"

	.code16
	.text
	.globl	_start
_start:
	movw	$G_PORT, %dx
	movl	%dr0, %eax
	outl	%eax, %dx
	movl	$GD_DR1_VAL, %eax
	movl	%eax, %dr1
	movl	%dr7, %eax
	outl	%eax, %dx
1:	hlt
	jmp	1b
