/* SPDX-License-Identifier: MIT */
/*
 * The channel tests' guest (t_channel.c): at its first byte it loops for
 * ever without an exit (IF as the test loads it: with IF=0 only the end of
 * a preemption-timer slice brings the hypervisor back, under Bochs); at
 * GC_OUT it OUTs GC_OUT_VAL to G_PORT once, then halts. Position
 * independent: the tests also run it elsewhere than G_LOAD.
 */
#include "tests/remote/guest.h"

#define GC_OUT		0x10	/* t_channel.c */
#define GC_OUT_VAL	0xc0ffee

	.code16
	.text
	.globl	_start
_start:
1:	jmp	1b
	.org	GC_OUT, 0x90
	movw	$G_PORT, %dx
	movl	$GC_OUT_VAL, %eax
	outl	%eax, %dx
2:	hlt
	jmp	2b
