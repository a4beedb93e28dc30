/* SPDX-License-Identifier: MIT */
/*
 * The built-in demo guest (guests/demo.c, a multiboot1 ELF), linked into
 * the image so that `make run` has something to run with no module given.
 */
	.section .rodata
	.balign 16
	.globl demo_guest_start, demo_guest_end
demo_guest_start:
	.incbin DEMO_GUEST_ELF
demo_guest_end:
