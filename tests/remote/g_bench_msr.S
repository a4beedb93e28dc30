/* SPDX-License-Identifier: MIT */
/*
 * The MSR benchmark (kvm_remote_test --bench, bench_msr()). On entry CX = N
 * (1 to 65535); the minimum TSC deltas go to GBM_* at G_RESULT.
 *
 *  (a) N times an empty RDTSC pair (GBM_MIN_EMPTY), then N times an RDTSC
 *      pair around one RDMSR of FS_BASE, which the VMX MSR bitmap passes
 *      through while no filter denies it: no exit (GBM_MIN_PASS). OUT that
 *      minimum to G_PORT: the controller installs a filter denying the read.
 *  (b) The same RDMSRs, now denied: an exit and a #GP, which the vector-13
 *      handler below counts (GBM_GP_COUNT) and steps over, so the delta
 *      covers exit + #GP delivery + handler + IRET (GBM_MIN_DENIED). OUT it
 *      to G_PORT: the controller enables KVM_CAP_X86_USER_SPACE_MSR(FILTER).
 *  (c) N RDMSRs of FS_BASE, each a KVM_EXIT_X86_RDMSR the controller
 *      answers with msr.data = k at the k-th; EBX sums EAX, N(N+1)/2 if
 *      every answer landed. Then HLT.
 */
#include "tests/remote/guest.h"

	.code16
	.text
	.globl	_start
_start:
	SET_IVT	13, gp
	movw	%cx, %si			/* N */
	movl	$0, GBM_GP_COUNT

	/* (a) the RDTSC pair alone, then around a passed-through RDMSR */
	movw	%si, %bp
	movl	$-1, %edi
2:	rdtsc
	movl	%eax, %ebx
	rdtsc
	subl	%ebx, %eax
	cmpl	%edi, %eax
	jae	3f
	movl	%eax, %edi
3:	decw	%bp
	jnz	2b
	movl	%edi, GBM_MIN_EMPTY
	call	measure
	movl	%edi, GBM_MIN_PASS
	movl	%edi, %eax
	movw	$G_PORT, %dx
	outl	%eax, %dx

	/* (b) the RDMSR denied by the filter: exit, #GP, handler */
	call	measure
	movl	%edi, GBM_MIN_DENIED
	movl	%edi, %eax
	movw	$G_PORT, %dx
	outl	%eax, %dx

	/* (c) the RDMSR exits to the controller, which answers it */
	xorl	%ebx, %ebx
	movw	%si, %bp
4:	movl	$MSR_FS_BASE, %ecx
	rdmsr
	addl	%eax, %ebx
	decw	%bp
	jnz	4b
5:	hlt
	jmp	5b

/* SI times RDTSC; RDMSR FS_BASE; RDTSC: the minimum delta in EDI. */
measure:
	movw	%si, %bp
	movl	$-1, %edi
1:	movl	$MSR_FS_BASE, %ecx
	rdtsc
	movl	%eax, %ebx
	rdmsr
	rdtsc
	subl	%ebx, %eax
	cmpl	%edi, %eax
	jae	2f
	movl	%eax, %edi
2:	decw	%bp
	jnz	1b
	ret

/* #GP (real mode: no error code): count it, return past the 2-byte RDMSR. */
gp:
	incl	GBM_GP_COUNT
	pushw	%bp
	movw	%sp, %bp
	addw	$2, 2(%bp)
	popw	%bp
	iret
