/* SPDX-License-Identifier: MIT */
/*
 * Memory coherence: OUTs the dword at G_DATA (written by the program
 * before KVM_RUN), copies GMEM_LEN bytes from G_DATA to G_RESULT, stores
 * the complement of the first dword after them, then halts.
 */
#include "tests/remote/guest.h"

	.code16
	.text
	.globl	_start
_start:
	movw	$G_PORT, %dx
	movl	G_DATA, %eax
	outl	%eax, %dx
	cld
	movw	$G_DATA, %si
	movw	$G_RESULT, %di
	movw	$GMEM_LEN, %cx
	rep movsb
	movl	G_DATA, %eax
	notl	%eax
	movl	%eax, G_RESULT + GMEM_LEN
1:	hlt
	jmp	1b
