/* SPDX-License-Identifier: MIT */
/*
 * The guest blobs, flat binaries assembled from g_*.S (remote.mk), linked
 * into the test program as blob_<name> .. blob_<name>_end. The assembler
 * finds them on its include path (-Wa,-I$(REMOTE_OUT)).
 */
	.section .rodata
	.macro	BLOB name
	.globl	blob_\name
	.globl	blob_\name\()_end
	.balign	16
blob_\name:
	.incbin	"\name\().bin"
blob_\name\()_end:
	.endm

	BLOB	g_vectors
	BLOB	g_outloop
	BLOB	g_sregs
	BLOB	g_msr
	BLOB	g_fpu
	BLOB	g_dr
	BLOB	g_irq
	BLOB	g_mem
	BLOB	g_bench
	BLOB	g_bench_msr
	BLOB	g_msr_probe
	BLOB	g_msr_cpuid
	BLOB	g_vcpu
	BLOB	g_long
	BLOB	g_mem_loop
	BLOB	g_channel_spin
	BLOB	g_hostile

	.section .note.GNU-stack, "", @progbits
