/* SPDX-License-Identifier: MIT */
/*
 * VM entry and exit. The only state switched here is what the VMCS does not
 * switch: the guest's general-purpose registers. HOST_RSP points at this
 * frame, so on a VM exit the saved gpr pointer is at the top of the stack.
 */
#include "vmx/guest_regs.h"

#define VMCS_HOST_RSP_ENC 0x6c14

	.text
	.code64
	.globl vmx_enter, vmx_exit_entry

/* int vmx_enter(uint64_t gpr[16] (rdi), int launched (esi)) */
vmx_enter:
	pushq %rbp
	movq %rsp, %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdi			/* the gpr array, found again on exit */

	movq $VMCS_HOST_RSP_ENC, %rax
	vmwrite %rsp, %rax
	jbe .Lfail_early

	testl %esi, %esi		/* flags survive the movs below */
	movq GPR_RAX*8(%rdi), %rax
	movq GPR_RCX*8(%rdi), %rcx
	movq GPR_RDX*8(%rdi), %rdx
	movq GPR_RBX*8(%rdi), %rbx
	movq GPR_RBP*8(%rdi), %rbp
	movq GPR_RSI*8(%rdi), %rsi
	movq GPR_R8*8(%rdi), %r8
	movq GPR_R9*8(%rdi), %r9
	movq GPR_R10*8(%rdi), %r10
	movq GPR_R11*8(%rdi), %r11
	movq GPR_R12*8(%rdi), %r12
	movq GPR_R13*8(%rdi), %r13
	movq GPR_R14*8(%rdi), %r14
	movq GPR_R15*8(%rdi), %r15
	movq GPR_RDI*8(%rdi), %rdi
	jnz 1f
	vmlaunch
	jmp .Lfail
1:	vmresume
.Lfail:
	/* VMfail: guest registers were loaded; restore ours from the stack. */
	popq %rdi
.Lfail_early_popped:
	movl $1, %eax
	jmp .Lreturn
.Lfail_early:
	popq %rdi
	jmp .Lfail_early_popped

vmx_exit_entry:
	pushq %rdi			/* guest RDI; the gpr pointer is above it */
	movq 8(%rsp), %rdi
	movq %rax, GPR_RAX*8(%rdi)
	movq %rcx, GPR_RCX*8(%rdi)
	movq %rdx, GPR_RDX*8(%rdi)
	movq %rbx, GPR_RBX*8(%rdi)
	movq %rbp, GPR_RBP*8(%rdi)
	movq %rsi, GPR_RSI*8(%rdi)
	movq %r8, GPR_R8*8(%rdi)
	movq %r9, GPR_R9*8(%rdi)
	movq %r10, GPR_R10*8(%rdi)
	movq %r11, GPR_R11*8(%rdi)
	movq %r12, GPR_R12*8(%rdi)
	movq %r13, GPR_R13*8(%rdi)
	movq %r14, GPR_R14*8(%rdi)
	movq %r15, GPR_R15*8(%rdi)
	popq %rax
	movq %rax, GPR_RDI*8(%rdi)
	addq $8, %rsp			/* the gpr pointer */
	xorl %eax, %eax
.Lreturn:
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
