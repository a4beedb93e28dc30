/* SPDX-License-Identifier: MIT */
/*
 * The I/O-emulation benchmark: CX times, OUT EAX to G_BENCH_PORT (one
 * exit; the controller answers by setting EAX) and add EAX to EBX; then
 * halt. With EAX = k at the k-th exit, EBX ends as CX(CX+1)/2, which the
 * program checks, so every register edit must have landed.
 */
#include "tests/remote/guest.h"

	.code16
	.text
	.globl	_start
_start:
	movw	$G_BENCH_PORT, %dx
1:	outl	%eax, %dx
	addl	%eax, %ebx
	loop	1b
2:	hlt
	jmp	2b
