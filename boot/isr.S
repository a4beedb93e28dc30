/* SPDX-License-Identifier: MIT */
/*
 * Interrupt and exception entry stubs, one per vector. Each pushes a zero
 * where the CPU pushes no error code, then the vector number, and joins
 * isr_common, which saves the general-purpose registers in the order of
 * struct trap_frame (boot/trap.h) and calls trap_dispatch(frame).
 */
	.text
	.code64

/* Vectors for which the CPU pushes an error code. */
#define HAS_ERRCODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || \
			(v) == 21 || (v) == 29 || (v) == 30)

	.macro isr_stub v
	.balign 16
isr_\v:
	.if !HAS_ERRCODE(\v)
	pushq $0
	.endif
	pushq $\v
	jmp isr_common
	.endm

	.altmacro
	.macro isr_stubs from, to
	isr_stub \from
	.if \to - \from
	isr_stubs %(\from + 1), \to
	.endif
	.endm

	isr_stubs 0, 63
	isr_stubs 64, 127
	isr_stubs 128, 191
	isr_stubs 192, 255

isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	cld
	call trap_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp			/* vector and error code */
	iretq

/* Table of stub addresses for boot/idt.c. */
	.section .rodata
	.balign 8
	.globl isr_stub_table
	.macro isr_addr v
	.quad isr_\v
	.endm
	.macro isr_addrs from, to
	isr_addr \from
	.if \to - \from
	isr_addrs %(\from + 1), \to
	.endif
	.endm
isr_stub_table:
	isr_addrs 0, 63
	isr_addrs 64, 127
	isr_addrs 128, 191
	isr_addrs 192, 255
