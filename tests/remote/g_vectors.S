/* SPDX-License-Identifier: MIT */
/*
 * Interrupt stubs, loaded at G_VEC: the stub of vector v OUTs
 * G_MARK_VEC | v to G_PORT and halts. The program points IVT entry v at
 * 0:G_VEC + v * G_STUB_SIZE, so an expected event (NMI, an injected
 * exception, KVM_INTERRUPT's vector) and an unexpected fault both show
 * up as an OUT the program can name.
 */
#include "tests/remote/guest.h"

	.code16
	.text
	.globl	_start
_start:
	.set	v, 0
	.rept	G_NR_STUBS
	.org	v * G_STUB_SIZE, 0x90
	movl	$(G_MARK_VEC + v), %eax		/* 6 bytes */
	movw	$G_PORT, %dx			/* 3 */
	outl	%eax, %dx			/* 2 */
1:	hlt					/* 1 */
	jmp	1b				/* 2 */
	.set	v, v + 1
	.endr
