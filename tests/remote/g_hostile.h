/* SPDX-License-Identifier: MIT */
/*
 * The hostile guest (g_hostile.S) and the layout of the VMs t_hostile.c
 * makes: one slot of G_MEM_SIZE bytes at GPA 0 as guest.h lays it out,
 * except that the IVT has all 256 vectors, each pointing at its own stub
 * inside the blob (HG_STUBS), so any vector a bad event delivers is named
 * by the OUT it makes (G_MARK_VEC | vector). Entry points are offsets from
 * G_LOAD. Plain #defines: included from C and from assembly.
 */
#ifndef TESTS_REMOTE_G_HOSTILE_H
#define TESTS_REMOTE_G_HOSTILE_H

/* Entry points (real mode, IF as the program sets it) */
#define HG_SPIN		 0x000 /* jmp . : no exit at all */
#define HG_OUT		 0x010 /* OUT HG_OUT_VAL to G_PORT, HLT: "the vCPU still works" */
#define HG_OUT_VAL	 0x600dc0de
#define HG_UD		 0x030 /* UD2 (a #UD storm with IVT[6] -> HG_IRET) */
#define HG_IRET		 0x038 /* IRET: back to the faulting instruction */
#define HG_NMI_IRET	 0x040 /* an IRET to HG_OUT (ends NMI blocking) */
#define HG_VMCALL	 0x050 /* VMCALL with the program's registers, OUT EAX, HLT */
#define HG_STORM	 0x060 /* ESI x CPUID, EDI x VMCALL NOP, EBP x PAUSE, OUT HG_STORM_DONE */
#define HG_STORM_DONE	 0x5701d0e5
#define HG_GP_STORM	 0x0b0 /* ESI x RDMSR of ECX, each #GP stepped over; OUT #GP count */
#define HG_GP_SKIP	 0x0d0 /* #GP handler: count it, step over the 2-byte instruction */
#define HG_SWEEP	 0x100 /* RDMSR / WRMSR over the ranges at G_DATA; OUT HG_SWEEP_DONE */
#define HG_SWEEP_DONE	 0x5ee9d0e5
#define HG_SCRIBBLE	 0x200 /* EAX over 0x2000..0x7fff, then a store at 0x8000; OUT done */
#define HG_SCRIBBLE_DONE 0x5c81bb1e
#define HG_CPUID_SWEEP	 0x240 /* ESI x CPUID (leaf EDI += EBP, subleaf ESI); OUT HG_STORM_DONE */
#define HG_SENTINEL	 0x280 /* the sentinel's code: OUT EAX, EAX = EBX, OUT EAX, HLT */
#define HG_SENTINEL_LEN	 0x10
#define HG_STUBS	 0x800 /* stub v at HG_STUBS + v * HG_STUB_SIZE */
#define HG_STUB_SIZE	 8
#define HG_BLOB_MAX	 0x1000 /* the blob fits one page */

/* HG_SWEEP's parameters at G_DATA */
#define HGS_NRANGES  0x00 /* u16: ranges */
#define HGS_VALS_END 0x02 /* u16: address after the last value */
#define HGS_VALS     0x08 /* u64 values written to each readable MSR (at most 8) */
#define HGS_RANGES   0x80 /* u32 first index, u32 count; per range */

/* Results at G_RESULT */
#define HG_GP_COUNT (G_RESULT + 0x00) /* #GPs taken (HG_GP_SKIP) */
#define HGR_READS   0x04	      /* HG_SWEEP: RDMSRs that did not fault */
#define HGR_WRITES  0x08	      /* WRMSRs tried */
#define HGR_INDICES 0x0c	      /* indices visited */
#define HGR_TMP_LO  0x10	      /* scratch */
#define HGR_TMP_HI  0x14

#define HG_SCRIBBLE_FROM   0x2000
#define HG_SCRIBBLE_DWORDS ((G_MEM_SIZE - HG_SCRIBBLE_FROM) / 4)

#endif
