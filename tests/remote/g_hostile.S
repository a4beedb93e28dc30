/* SPDX-License-Identifier: MIT */
/*
 * The hostile guest of t_hostile.c: entry points at fixed offsets
 * (g_hostile.h) that storm the hypervisor with exits it handles itself,
 * fault in a loop, sweep the MSR space, scribble over their memory, and
 * 256 vector stubs so any event a bad injection delivers is named. Real
 * mode, loaded at G_LOAD, every segment base 0. Addresses of its own code
 * are written as G_LOAD + (label - _start): no relocation.
 */
#include "tests/remote/guest.h"
#include "tests/remote/g_hostile.h"

#define ABS(label)	(G_LOAD + ((label) - _start))

	.code16
	.text
	.globl	_start
_start:
	.org	HG_SPIN, 0x90
1:	jmp	1b

	.org	HG_OUT, 0x90
out_entry:
	movw	$G_PORT, %dx
	movl	$HG_OUT_VAL, %eax
	outl	%eax, %dx
2:	hlt
	jmp	2b

	.org	HG_UD, 0x90
	ud2

	.org	HG_IRET, 0x90
	iret

	.org	HG_NMI_IRET, 0x90
	pushfw
	pushw	%cs
	pushw	$ABS(out_entry)
	iret

	.org	HG_VMCALL, 0x90
	vmcall
	movw	$G_PORT, %dx
	outl	%eax, %dx
3:	hlt
	jmp	3b

	.org	HG_STORM, 0x90
	testl	%esi, %esi
	jz	5f
4:	xorl	%eax, %eax
	cpuid
	decl	%esi
	jnz	4b
5:	testl	%edi, %edi
	jz	7f
6:	xorl	%eax, %eax			/* HC_NOP */
	vmcall
	decl	%edi
	jnz	6b
7:	testl	%ebp, %ebp
	jz	9f
8:	pause
	decl	%ebp
	jnz	8b
9:	movw	$G_PORT, %dx
	movl	$HG_STORM_DONE, %eax
	outl	%eax, %dx
10:	hlt
	jmp	10b

	.org	HG_GP_STORM, 0x90
11:	rdmsr
	decl	%esi
	jnz	11b
	movl	HG_GP_COUNT, %eax
	movw	$G_PORT, %dx
	outl	%eax, %dx
12:	hlt
	jmp	12b

	/* #GP in real mode pushes no error code: count, skip RDMSR/WRMSR (2 bytes). */
	.org	HG_GP_SKIP, 0x90
	pushw	%bp
	movw	%sp, %bp
	addw	$2, 2(%bp)
	incl	HG_GP_COUNT
	popw	%bp
	iret

	/*
	 * For each index of each range: RDMSR; if it did not fault, WRMSR
	 * each value in turn, then the value read (all may fault).
	 */
	.org	HG_SWEEP, 0x90
	movw	$(G_DATA + HGS_RANGES), %si
	movw	G_DATA + HGS_NRANGES, %bp
range_loop:
	testw	%bp, %bp
	jz	sweep_done
	movl	(%si), %ecx
	movl	4(%si), %edi
idx_loop:
	testl	%edi, %edi
	jz	range_next
	incl	G_RESULT + HGR_INDICES
	movl	HG_GP_COUNT, %ebx
	rdmsr
	cmpl	HG_GP_COUNT, %ebx
	jne	idx_next
	incl	G_RESULT + HGR_READS
	movl	%eax, G_RESULT + HGR_TMP_LO
	movl	%edx, G_RESULT + HGR_TMP_HI
	movw	$(G_DATA + HGS_VALS), %bx
val_loop:
	cmpw	G_DATA + HGS_VALS_END, %bx
	jae	vals_done
	movl	(%bx), %eax
	movl	4(%bx), %edx
	wrmsr
	incl	G_RESULT + HGR_WRITES
	addw	$8, %bx
	jmp	val_loop
vals_done:
	movl	G_RESULT + HGR_TMP_LO, %eax
	movl	G_RESULT + HGR_TMP_HI, %edx
	wrmsr
	incl	G_RESULT + HGR_WRITES
idx_next:
	incl	%ecx
	decl	%edi
	jmp	idx_loop
range_next:
	addw	$8, %si
	decw	%bp
	jmp	range_loop
sweep_done:
	movw	$G_PORT, %dx
	movl	$HG_SWEEP_DONE, %eax
	outl	%eax, %dx
13:	hlt
	jmp	13b

	.org	HG_SCRIBBLE, 0x90
	cld
	movw	$HG_SCRIBBLE_FROM, %di
	movw	$HG_SCRIBBLE_DWORDS, %cx
	rep stosl				/* ES:DI, ES base 0 */
	movl	%eax, 0x8000			/* past the slot: an MMIO write exit */
	movw	$G_PORT, %dx
	movl	$HG_SCRIBBLE_DONE, %eax
	outl	%eax, %dx
14:	hlt
	jmp	14b

	.org	HG_CPUID_SWEEP, 0x90
17:	movl	%edi, %eax
	movl	%esi, %ecx
	cpuid
	addl	%ebp, %edi
	decl	%esi
	jnz	17b
	movw	$G_PORT, %dx
	movl	$HG_STORM_DONE, %eax
	outl	%eax, %dx
18:	hlt
	jmp	18b

	.org	HG_SENTINEL, 0x90
	outl	%eax, %dx
	movl	%ebx, %eax
	outl	%eax, %dx
15:	hlt
	jmp	15b
	.org	HG_SENTINEL + HG_SENTINEL_LEN, 0x90

stub_common:				/* the vector is on the stack */
	popw	%ax
	movzwl	%ax, %eax
	orl	$G_MARK_VEC, %eax
	movw	$G_PORT, %dx
	outl	%eax, %dx
16:	hlt
	jmp	16b

	.org	HG_STUBS, 0x90
	.set	v, 0
	.rept	256
	.org	HG_STUBS + v * HG_STUB_SIZE, 0x90
	pushw	$v
	jmp	stub_common
	.set	v, v + 1
	.endr
	.org	HG_BLOB_MAX, 0x90
