/* SPDX-License-Identifier: MIT */
/*
 * hello16: a flat real-mode test guest for `hvctl run-flat`.
 *
 * Built with `gcc -c` and `objcopy -O binary` (tools/tools.mk), without a
 * link: the code is position independent (it finds its message from its
 * own IP) and holds no relocation, so it runs at whatever CS:IP it is
 * started; it needs a few bytes of stack at the SS:SP it is given
 * (run-flat gives 0:<load address>).
 *
 * It writes "hello from a remote guest\n" to COM1 with plain OUTs (no
 * LSR polling), reads the unassigned port 0x510 (which must read all ones;
 * it says so on COM1 when not), stores 0x5a at physical 0x2000 (for the
 * controller to check memory coherence), then halts.
 */
	.set	COM1, 0x3f8
	.set	PROBE_PORT, 0x510
	.set	MARK_ADDR, 0x2000
	.set	MARK, 0x5a

	.code16
	.text
	.globl	_start
_start:
	cli
	cld
	movw	%cs, %ax
	movw	%ax, %ds		/* the message is addressed from CS */
	xorw	%ax, %ax
	movw	%ax, %es		/* ES = 0: physical addresses below 64 KiB */
	call	1f
1:	popw	%si
	addw	$(msg - 1b), %si
	call	puts

	movw	$PROBE_PORT, %dx
	inb	%dx, %al
	cmpb	$0xff, %al
	je	2f
	call	1f
1:	popw	%si
	addw	$(msg_probe - 1b), %si
	call	puts

2:	movb	$MARK, %es:MARK_ADDR
3:	hlt
	jmp	3b

/* Write the NUL-terminated string at DS:SI to COM1. */
puts:
	movw	$COM1, %dx
1:	lodsb
	testb	%al, %al
	jz	2f
	outb	%al, %dx
	jmp	1b
2:	ret

msg:
	.asciz	"hello from a remote guest\n"
msg_probe:
	.asciz	"port 0x510 did not read all ones\n"
