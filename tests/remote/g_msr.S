/* SPDX-License-Identifier: MIT */
/*
 * WRMSR SYSENTER_CS = GM_CS_VAL and SYSENTER_ESP = GM_ESP_VAL (for the
 * MSRS sync set to report), then RDMSR SYSENTER_EIP (which the program
 * loaded through the set) and OUT its low half; halts.
 */
#include "tests/remote/guest.h"

	.code16
	.text
	.globl	_start
_start:
	movl	$MSR_SYSENTER_CS, %ecx
	movl	$GM_CS_VAL, %eax
	xorl	%edx, %edx
	wrmsr
	movl	$MSR_SYSENTER_ESP, %ecx
	movl	$GM_ESP_VAL, %eax
	xorl	%edx, %edx
	wrmsr
	movl	$MSR_SYSENTER_EIP, %ecx
	rdmsr
	movw	$G_PORT, %dx
	outl	%eax, %dx
1:	hlt
	jmp	1b
