/* SPDX-License-Identifier: MIT */
/*
 * A raw real-mode image (type=raw, loaded and entered at 0000:7c00) that
 * climbs real mode -> 32-bit protected mode -> 64-bit long mode, printing on
 * COM1 at each step, then writes its number of failed checks to port 0xf4
 * (0 = pass). It fits in 510 bytes and carries the 0xaa55 signature, so the
 * same file also boots from a BIOS disk (used to check it without the
 * hypervisor). No IDT: an exception here is a triple fault.
 */
	.set COM1, 0x3f8
	.set COM1_LSR, COM1 + 5
	.set RESULT_PORT, 0xf4
	.set SEL_CODE32, 0x08
	.set SEL_DATA32, 0x10
	.set SEL_CODE64, 0x18
	.set PML4, 0x10000		/* then PDPT at +0x1000, PD at +0x2000 */
	.set MSR_EFER, 0xc0000080
	.set EFER_LME, 1 << 8
	.set EFER_LMA, 1 << 10

	.section .text
	.code16
	.globl _start
_start:
	cli
	cld
	movw	%cs, %bx		/* the loader's CS, checked below */
	xorw	%ax, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	$0x7c00, %sp
	ljmp	$0, $real		/* CS:IP = 0000:7cxx whatever the loader used */
real:
	/* 115200 8N1: a BIOS may leave the UART at 5 data bits. */
	movw	$COM1 + 3, %dx
	movb	$0x80, %al		/* DLAB */
	outb	%al, %dx
	movw	$COM1, %dx
	movb	$1, %al			/* divisor 1 */
	outb	%al, %dx
	incw	%dx
	xorb	%al, %al
	outb	%al, %dx
	movw	$COM1 + 3, %dx
	movb	$3, %al			/* 8N1, DLAB off */
	outb	%al, %dx

	movw	$msg_ok, %di
	smsw	%ax			/* real mode: PE clear */
	testb	$1, %al
	jnz	1f
	testw	%bx, %bx		/* entered with CS = 0 */
	jz	2f
1:	incb	failures
	movw	$msg_fail, %di
2:	movw	$msg_prefix, %si
	call	print16
	movw	$msg_real, %si
	call	print16
	movw	%di, %si
	call	print16

	lgdt	gdt_desc
	movl	%cr0, %eax
	orb	$1, %al
	movl	%eax, %cr0
	ljmp	$SEL_CODE32, $pm32

/* Print the NUL-terminated string at DS:SI. */
print16:
	lodsb
	testb	%al, %al
	jz	2f
	movb	%al, %ah
	movw	$COM1_LSR, %dx
1:	inb	%dx, %al
	testb	$0x20, %al
	jz	1b
	movb	%ah, %al
	movw	$COM1, %dx
	outb	%al, %dx
	jmp	print16
2:	ret

	.code32
pm32:
	movw	$SEL_DATA32, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movl	$0x7c00, %esp
	movl	$msg_prefix, %esi
	call	print
	movl	$msg_pm, %esi
	call	print
	movl	$msg_ok, %esi
	call	print

	/* Identity map of the first 2 MiB: PML4 -> PDPT -> PD with one 2 MiB page. */
	movl	$PML4, %edi
	movl	$3 * 1024, %ecx
	xorl	%eax, %eax
	rep stosl
	movl	$PML4 + 0x1003, PML4
	movl	$PML4 + 0x2003, PML4 + 0x1000
	movl	$0x83, PML4 + 0x2000
	movl	$PML4, %eax
	movl	%eax, %cr3
	movl	%cr4, %eax
	orl	$0x20, %eax		/* PAE */
	movl	%eax, %cr4
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$0x80000000, %eax	/* PG: IA-32e mode, compatibility mode */
	movl	%eax, %cr0
	ljmp	$SEL_CODE64, $lm64

/*
 * Print the string at ESI (RSI). The same bytes work in 32-bit and in
 * 64-bit mode: nothing here depends on the operand or address size.
 */
print:
	lodsb
	testb	%al, %al
	jz	2f
	movb	%al, %ah
	movw	$COM1_LSR, %dx
1:	inb	%dx, %al
	testb	$0x20, %al
	jz	1b
	movb	%ah, %al
	movw	$COM1, %dx
	outb	%al, %dx
	jmp	print
2:	ret

	.code64
lm64:
	movl	%esp, %esp		/* zero-extend RSP */
	movl	$MSR_EFER, %ecx
	rdmsr
	movl	$msg_ok, %edi
	testl	$EFER_LMA, %eax
	jz	1f
	movabsq	$0x0123456789abcdef, %rax
	shrq	$32, %rax		/* 64-bit operand size, or garbage */
	cmpl	$0x01234567, %eax
	je	2f
1:	movl	$failures, %ecx		/* no absolute disp32 in 64-bit code */
	incb	(%rcx)
	movl	$msg_fail, %edi
2:	movl	$msg_prefix, %esi
	call	print
	movl	$msg_lm, %esi
	call	print
	movl	%edi, %esi
	call	print

	movl	$failures, %ecx
	movzbl	(%rcx), %eax
	movw	$RESULT_PORT, %dx
	outl	%eax, %dx
3:	cli
	hlt
	jmp	3b

	.balign 8
gdt:
	.quad 0
	.quad 0x00cf9b000000ffff	/* 0x08 code, 32-bit */
	.quad 0x00cf93000000ffff	/* 0x10 data */
	.quad 0x00af9b000000ffff	/* 0x18 code, 64-bit */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

failures:	.byte 0
msg_prefix:	.asciz "modes: "
msg_real:	.asciz "real mode"
msg_pm:		.asciz "protected mode"
msg_lm:		.asciz "long mode"
msg_ok:		.asciz " ok\r\n"
msg_fail:	.asciz " FAIL\r\n"

	.section .note.GNU-stack, "", @progbits
