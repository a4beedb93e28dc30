/* SPDX-License-Identifier: MIT */
/*
 * Layout shared by the remote KVM test program (kvm_remote_test.c) and its
 * flat real-mode guest blobs (g_*.S). Plain #defines only: this file is
 * included from C and from assembly.
 *
 * Guest memory is one slot of G_MEM_SIZE bytes at GPA 0; every segment
 * base is 0 (CS:IP = 0:G_LOAD, SS:SP = 0:G_STACK).
 *
 *	0x0000	IVT: vector v (< G_NR_STUBS) -> 0:G_VEC + v * G_STUB_SIZE
 *	0x0800	g_vectors.bin: a 16-byte stub per vector, each OUTs G_MARK_VEC | v to
 *		G_PORT and halts, so an unexpected exception is named
 *	0x1000	the test's blob (g_<name>.bin), entry at its first byte
 *	0x3000	G_DATA: bytes the program writes for the guest to read
 *	0x4000	G_RESULT: where the guest stores what the program checks
 *	0x7000	top of the stack
 */
#ifndef TESTS_REMOTE_GUEST_H
#define TESTS_REMOTE_GUEST_H

#define G_MEM_SIZE 0x8000
#define G_VEC	   0x0800
#define G_LOAD	   0x1000
#define G_LOAD_MAX 0x0800 /* room for a blob */
#define G_DATA	   0x3000
#define G_RESULT   0x4000
#define G_STACK	   0x7000

#define G_PORT	     0x520 /* the guest reports with a 32-bit OUT here */
#define G_BENCH_PORT 0x70  /* the benchmark's I/O port */

#define G_NR_STUBS   64
#define G_STUB_SIZE  16
#define G_MARK_VEC   0xe0000000 /* | vector: the stub of that vector ran */
#define G_IRQ_VECTOR 0x30	/* KVM_INTERRUPT's vector in the tests */

/* g_outloop: offsets from G_LOAD. */
#define OL_LOOP	   0x10 /* 1: out eax; jmp 1b */
#define OL_SKIP	   0x20 /* mov $OL_SKIPPED, %eax (6 bytes) */
#define OL_AFTER   0x28 /* out eax; hlt */
#define OL_SKIPPED 0x1111

/* g_msr: the values the guest writes, and the MSRs. */
#define MSR_SYSENTER_CS	 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define GM_CS_VAL	 0xbeef
#define GM_ESP_VAL	 0x6000

/* g_fpu: what it stores where, and the marker of its OUT. */
#define GF_FCW_AT    (G_RESULT + 0x00) /* FNSTCW of the loaded state */
#define GF_MXCSR_AT  (G_RESULT + 0x04) /* STMXCSR */
#define GF_XMM0_AT   (G_RESULT + 0x10) /* MOVDQU %xmm0 */
#define GF_FCW_SRC   (G_DATA + 0x00)   /* FLDCW from here */
#define GF_MXCSR_SRC (G_DATA + 0x04)   /* LDMXCSR from here */
#define GF_XMM1_SRC  (G_DATA + 0x10)   /* MOVDQU into %xmm1 */
#define GF_DONE	     0xf0f0d0e1

/* g_dr: the value it writes to DR1. */
#define GD_DR1_VAL 0x5a5a0000

/* g_mem: bytes copied from G_DATA to G_RESULT; ~dword at G_RESULT + GMEM_LEN. */
#define GMEM_LEN 0x100

/* g_bench_msr: the MSR it reads, and where it keeps its minimum TSC deltas. */
#define MSR_FS_BASE    0xc0000100
#define GBM_MIN_EMPTY  (G_RESULT + 0x00) /* RDTSC pair alone */
#define GBM_MIN_PASS   (G_RESULT + 0x04) /* around an RDMSR passed through */
#define GBM_MIN_DENIED (G_RESULT + 0x08) /* around an RDMSR the filter denies (#GP) */
#define GBM_GP_COUNT   (G_RESULT + 0x0c) /* #GPs its handler took */

#ifdef __ASSEMBLER__
/* IVT[vec] = 0:handler, wherever the flat blob runs (it is never relocated). Clobbers AX. */
/* clang-format off */
.macro SET_IVT vec, handler
	call	991f
991:	popw	%ax
	addw	$(\handler - 991b), %ax
	movw	%ax, \vec * 4
	movw	$0, \vec * 4 + 2
.endm
/* clang-format on */
#endif

#endif
