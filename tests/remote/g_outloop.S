/* SPDX-License-Identifier: MIT */
/*
 * OUTs EAX to G_PORT for ever, one exit each: the sync-regs tests load RAX
 * and RIP through kvm_run.s and see the result in the exit's data.
 * OL_SKIP loads OL_SKIPPED into EAX before the OUT at OL_AFTER; starting
 * at OL_AFTER instead skips that instruction.
 */
#include "tests/remote/guest.h"

	.code16
	.text
	.globl	_start
_start:
	movw	$G_PORT, %dx
	jmp	loop
	.org	OL_LOOP, 0x90
loop:
	outl	%eax, %dx
	jmp	loop
	.org	OL_SKIP, 0x90
	movl	$OL_SKIPPED, %eax
	.org	OL_AFTER, 0x90
	outl	%eax, %dx
1:	hlt
	jmp	1b
