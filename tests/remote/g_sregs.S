/* SPDX-License-Identifier: MIT */
/*
 * Shows segment and control state the program loaded: OUTs the dword at
 * DS:G_DATA (so a DS base change moves what it reads), then CR2; halts.
 */
#include "tests/remote/guest.h"

	.code16
	.text
	.globl	_start
_start:
	movw	$G_PORT, %dx
	movl	G_DATA, %eax
	outl	%eax, %dx
	movl	%cr2, %eax
	outl	%eax, %dx
1:	hlt
	jmp	1b
