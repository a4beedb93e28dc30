/* SPDX-License-Identifier: MIT */
/*
 * Exception stubs for vectors 0-31 and the catch/resume pair behind
 * catch_exception(). Each stub pushes a zero error code when the CPU does
 * not push one, then the vector, so trap_dispatch() always sees the same
 * frame (struct trap_frame in runtime.c).
 */
	.set SEL_DATA32, 0x10

	.section .text

	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.balign 8
trap_stub_\vec:
	.if (\vec == 8) | ((\vec >= 10) & (\vec <= 14)) | (\vec == 17) | (\vec == 21) | (\vec == 29) | (\vec == 30)
	pushl	$\vec			/* the CPU pushed an error code */
	.else
	pushl	$0
	pushl	$\vec
	.endif
	jmp	trap_common
	.endr

trap_common:
	cld
	pushal
	pushl	%esp			/* struct trap_frame * */
	call	trap_dispatch
	addl	$4, %esp
	popal
	addl	$8, %esp		/* vector, error code */
	iret

/*
 * int catch_exception(void (*fn)(void *), void *arg)
 * Saves the callee-saved registers and ESP, calls fn(arg) and returns
 * NO_EXCEPTION (-1); catch_resume(vector) unwinds back to here instead.
 */
	.globl catch_exception
	.type catch_exception, @function
catch_exception:
	pushl	%ebp
	pushl	%ebx
	pushl	%esi
	pushl	%edi
	movl	%esp, catch_esp
	movl	20(%esp), %eax		/* fn */
	movl	24(%esp), %ecx		/* arg */
	pushl	%ecx
	movl	$1, catch_armed
	call	*%eax
	movl	$0, catch_armed
	addl	$4, %esp
	movl	$-1, %eax
	jmp	1f

/* void catch_resume(int vector): called by trap_dispatch, never returns. */
	.globl catch_resume
	.type catch_resume, @function
catch_resume:
	movl	4(%esp), %eax
	movw	$SEL_DATA32, %cx
	movw	%cx, %ds
	movw	%cx, %es
	movw	%cx, %fs
	movw	%cx, %gs
	movw	%cx, %ss
	movl	catch_esp, %esp
1:	popl	%edi
	popl	%esi
	popl	%ebx
	popl	%ebp
	ret
	.size catch_exception, . - catch_exception

	.section .data
	.balign 4
	.globl catch_armed
catch_armed:	.long 0
catch_esp:	.long 0

	.section .rodata
	.balign 4
	.globl trap_stubs
trap_stubs:
	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.long	trap_stub_\vec
	.endr

	.section .note.GNU-stack, "", @progbits
