/* SPDX-License-Identifier: MIT */
/*
 * Memory-slot probe (t_memory.c): for ever, read the 32-bit guest-physical
 * address stored at G_DATA, load the dword there through FS and OUT it to
 * G_PORT, one exit per read. The program gives FS base 0 and a 4 GiB limit
 * with KVM_SET_SREGS (real mode keeps that limit while FS is not
 * reloaded), so any address below 4 GiB can be read; it changes the
 * address at G_DATA between runs. A read where no slot is mapped is an
 * MMIO exit; its completion data is what the next OUT shows.
 */
#include "tests/remote/guest.h"

	.code16
	.text
	.globl	_start
_start:
	movw	$G_PORT, %dx
1:	movl	G_DATA, %ebx
	addr32 movl %fs:(%ebx), %eax
	outl	%eax, %dx
	jmp	1b
