/* SPDX-License-Identifier: MIT */
/*
 * Multiboot 1 header and the 32-bit entry of every guest test program.
 *
 * The loader enters _start in 32-bit protected mode with paging off,
 * EAX = 0x2BADB002 and EBX = the information block; nothing else (not even
 * ESP or the GDT) may be relied on. The header also carries the load
 * addresses (flag 16), so the same image loads from the ELF program
 * headers or as a flat binary (objcopy -O binary).
 */
	.set MB1_MAGIC, 0x1badb002
	.set MB1_FLAG_ADDRESSES, 1 << 16
	.set MB1_FLAGS, MB1_FLAG_ADDRESSES

	.set SEL_CODE32, 0x08
	.set SEL_DATA32, 0x10

	.section .multiboot, "a"
	.balign 4
mb1_header:
	.long MB1_MAGIC
	.long MB1_FLAGS
	.long -(MB1_MAGIC + MB1_FLAGS)
	.long mb1_header		/* header_addr */
	.long __image_start		/* load_addr */
	.long __load_end		/* load_end_addr */
	.long __bss_end			/* bss_end_addr */
	.long _start			/* entry_addr */

	.section .data
	.balign 4
	.globl entry_eax, entry_ebx, entry_cr0, entry_eflags
entry_eax:	.long 0
entry_ebx:	.long 0
entry_cr0:	.long 0
entry_eflags:	.long 0

/*
 * Flat 32-bit code and data, a 64-bit code segment for tests that enter
 * long mode, and a not-present data segment (for #NP). Accessed bits are
 * preset so loading a selector never writes the table.
 */
	.balign 8
	.globl gdt
gdt:
	.quad 0				/* 0x00 null */
	.quad 0x00cf9b000000ffff	/* 0x08 code, 32-bit, base 0, 4 GiB */
	.quad 0x00cf93000000ffff	/* 0x10 data, 32-bit, base 0, 4 GiB */
	.quad 0x00af9b000000ffff	/* 0x18 code, 64-bit (L=1) */
	.quad 0x00cf13000000ffff	/* 0x20 data, P=0 */
gdt_end:
	.balign 4
	.word 0
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.section .bss
	.balign 16
stack:
	.skip 16384
	.globl stack_top
stack_top:

	.section .text
	.globl _start
	.type _start, @function
_start:
	movl	%eax, entry_eax
	movl	%ebx, entry_ebx
	movl	$stack_top, %esp	/* in .bss: not cleared yet, but unused */
	pushfl
	popl	entry_eflags
	cli
	movl	%cr0, %eax
	movl	%eax, entry_cr0

	lgdt	gdt_desc
	ljmp	$SEL_CODE32, $1f
1:	movw	$SEL_DATA32, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	movw	%ax, %ss

	/* The loader clears .bss too; do not depend on it. */
	cld
	movl	$__bss_start, %edi
	movl	$__bss_end, %ecx
	subl	%edi, %ecx
	xorl	%eax, %eax
	rep stosb

	movl	$stack_top, %esp
	xorl	%ebp, %ebp
	call	guest_start		/* does not return */
2:	cli
	hlt
	jmp	2b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
