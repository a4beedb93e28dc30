/* SPDX-License-Identifier: MIT */
/*
 * Multiboot2 header and the 32-bit entry point.
 *
 * GRUB enters _start32 in 32-bit protected mode with paging off, EAX holding
 * the multiboot2 magic and EBX the physical address of the boot information.
 * We build an identity map of the first 4 GiB with 2 MiB pages, enter long
 * mode and call hv_main(magic, info) in C. Everything else is done in C.
 */
#define MB2_HEADER_MAGIC 0xe85250d6
#define MB2_ARCH_I386    0
#define MB2_TAG_OPTIONAL 1

#define CR0_PE   (1 << 0)
#define CR0_PG   (1 << 31)
#define CR4_PAE  (1 << 5)
#define EFER_MSR 0xc0000080
#define EFER_LME (1 << 8)
#define PTE_P    (1 << 0)
#define PTE_W    (1 << 1)
#define PTE_PS   (1 << 7)

#define BOOT_STACK_SIZE 16384

	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long MB2_HEADER_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))

	/* Information request: what we parse. Optional, so any GRUB boots us. */
	.balign 8
1:	.word 1, MB2_TAG_OPTIONAL
	.long 2f - 1b
	.long 1, 3, 6, 14, 15, 12, 17, 8
2:
	/* Page-align modules: guests are loaded from them later. */
	.balign 8
	.word 6, 0
	.long 8

	.balign 8
	.word 0, 0
	.long 8
mb2_header_end:

	.section .text.boot32, "ax"
	.code32
	.globl _start32
_start32:
	cli
	cld
	movl $boot_stack_top, %esp
	movl %eax, %edi			/* magic: first C argument */
	movl %ebx, %esi			/* info: second C argument */

	/* Boot timestamp: the ready line reports time since hand-off. */
	rdtsc
	movl %eax, boot_tsc
	movl %edx, boot_tsc + 4

	/* Long mode available? (CPUID 0x80000001:EDX[29]) */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	btl $29, %edx
	jnc no_long_mode

	/* PML4[0] -> PDPT; PDPT[0..3] -> four page directories of 2 MiB pages. */
	movl $boot_pdpt + (PTE_P | PTE_W), boot_pml4
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $12, %eax
	addl $boot_pd + (PTE_P | PTE_W), %eax
	movl %eax, boot_pdpt(, %ecx, 8)
	incl %ecx
	cmpl $4, %ecx
	jne 1b

	xorl %ecx, %ecx			/* 2048 entries cover 4 GiB */
1:	movl %ecx, %eax
	shll $21, %eax
	orl $(PTE_P | PTE_W | PTE_PS), %eax
	movl %eax, boot_pd(, %ecx, 8)
	movl %ecx, %eax
	shrl $11, %eax			/* bits 32+ of the address */
	movl %eax, boot_pd + 4(, %ecx, 8)
	incl %ecx
	cmpl $2048, %ecx
	jne 1b

	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $EFER_MSR, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0

	lgdt boot_gdt_ptr
	ljmp $0x08, $start64

/* No long mode: say so on COM1 (polled, 115200 8N1 set by the firmware or not) and stop. */
no_long_mode:
	movl $no_lm_msg, %esi
1:	movb (%esi), %al
	testb %al, %al
	jz 3f
	movw $0x3fd, %dx
2:	inb %dx, %al
	testb $0x20, %al
	jz 2b
	movb (%esi), %al
	movw $0x3f8, %dx
	outb %al, %dx
	incl %esi
	jmp 1b
3:	cli
	hlt
	jmp 3b

	.code64
start64:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorl %eax, %eax
	movw %ax, %fs
	movw %ax, %gs
	movq $boot_stack_top, %rsp
	xorl %ebp, %ebp			/* ends the backtrace */
	call hv_main
1:	cli
	hlt
	jmp 1b

	.section .rodata
no_lm_msg:
	.asciz "hv: this CPU has no 64-bit long mode; halting\r\n"

	/* Temporary GDT for the jump to 64-bit code; boot/gdt.c replaces it. */
	.balign 8
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
boot_gdt_ptr:
	.word boot_gdt_ptr - boot_gdt - 1
	.long boot_gdt

	.data
	.balign 8
	.globl boot_tsc
boot_tsc:
	.quad 0

	.section .bss.pagetables, "aw", @nobits
	.balign 4096
	.globl boot_pml4
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pd:	.skip 4096 * 4

	.section .bss
	.balign 16
	.globl boot_stack_bottom, boot_stack_top
boot_stack_bottom:
	.skip BOOT_STACK_SIZE
boot_stack_top:
