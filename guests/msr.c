// SPDX-License-Identifier: MIT
/* RDMSR/WRMSR: the MSRs the hypervisor keeps for the guest, and #GP where due. */
#include "guest.h"

#define MSR_BOGUS 0xdeadbeefu /* not an architectural or model-specific MSR */

struct msr_op {
	uint32_t msr;
	uint64_t val;
};

static void do_rdmsr(void *arg)
{
	struct msr_op *op = arg;

	op->val = rdmsr(op->msr);
}

static void do_wrmsr(void *arg)
{
	struct msr_op *op = arg;

	wrmsr(op->msr, op->val);
}

/* Write, read back, compare; both accesses must not fault. */
static void write_read(const char *name, uint32_t msr, uint64_t val)
{
	struct msr_op op = {msr, val};

	if (catch_exception(do_wrmsr, &op) != NO_EXCEPTION) {
		reportf(name, false, "wrmsr 0x%x, 0x%llx raised vector %d", msr, val,
			last_trap.vector);
		return;
	}
	op.val = ~val;
	if (catch_exception(do_rdmsr, &op) != NO_EXCEPTION) {
		reportf(name, false, "rdmsr 0x%x raised vector %d", msr, last_trap.vector);
		return;
	}
	reportf(name, op.val == val, "wrote 0x%llx, read 0x%llx", val, op.val);
}

void guest_main(void)
{
	struct cpuid_regs f1 = cpuid(1, 0), f81 = cpuid(0x80000001, 0);
	struct msr_op op;
	uint64_t pat, efer, t0, t1;

	write_read("msr sysenter_cs", MSR_IA32_SYSENTER_CS, 0x10);
	write_read("msr sysenter_esp", MSR_IA32_SYSENTER_ESP, 0x12345678);
	write_read("msr sysenter_eip", MSR_IA32_SYSENTER_EIP, 0x87654320);
	write_read("msr sysenter_cs zero", MSR_IA32_SYSENTER_CS, 0);

	if (f1.edx & CPUID1_EDX_PAT) {
		pat = rdmsr(MSR_IA32_PAT);
		printf("msr: IA32_PAT 0x%llx\n", pat);
		/* WB, WT, UC-, UC, WC, WP, UC-, WB: every valid type once. */
		write_read("msr pat", MSR_IA32_PAT, 0x0607050100070406ull);
		op.msr = MSR_IA32_PAT;
		op.val = 0x0007040600070206ull; /* type 2 is reserved */
		expect_exception("msr pat reserved type 2 #GP", VEC_GP, 0, NULL, do_wrmsr, &op);
		op.val = 0x0007040600070408ull; /* type 8 is reserved */
		expect_exception("msr pat reserved type 8 #GP", VEC_GP, 0, NULL, do_wrmsr, &op);
		check_u64("msr pat unchanged after #GP", rdmsr(MSR_IA32_PAT),
			  0x0607050100070406ull);
		wrmsr(MSR_IA32_PAT, pat);
	} else {
		skip("msr pat", "CPUID.1:EDX.PAT clear");
	}

	efer = rdmsr(MSR_EFER);
	printf("msr: EFER 0x%llx\n", efer);
	reportf("msr efer legacy mode", !(efer & (EFER_LME | EFER_LMA)),
		"0x%llx: LME or LMA set in 32-bit protected mode", efer);
	reportf("msr efer known bits",
		!(efer & ~(uint64_t)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)), "0x%llx", efer);
	if (f81.edx & CPUID81_EDX_NX) {
		write_read("msr efer nxe set", MSR_EFER, efer | EFER_NXE);
		write_read("msr efer nxe clear", MSR_EFER, efer & ~(uint64_t)EFER_NXE);
	} else {
		skip("msr efer nxe", "CPUID.80000001:EDX.NX clear");
	}
	op.msr = MSR_EFER;
	op.val = efer | (1u << 1); /* reserved */
	expect_exception("msr efer reserved bit #GP", VEC_GP, 0, NULL, do_wrmsr, &op);

	op.msr = MSR_BOGUS;
	expect_exception("msr rdmsr 0xdeadbeef #GP", VEC_GP, 0, NULL, do_rdmsr, &op);
	op.val = 0;
	expect_exception("msr wrmsr 0xdeadbeef #GP", VEC_GP, 0, NULL, do_wrmsr, &op);

	/* IA32_TSC reads the same clock as RDTSC. */
	t0 = rdtsc();
	op.msr = MSR_IA32_TSC;
	op.val = 0;
	if (catch_exception(do_rdmsr, &op) != NO_EXCEPTION) {
		reportf("msr ia32_tsc", false, "rdmsr 0x10 raised vector %d", last_trap.vector);
	} else {
		t1 = rdtsc();
		reportf("msr ia32_tsc", t0 <= op.val && op.val <= t1,
			"rdtsc 0x%llx, then rdmsr 0x%llx, then rdtsc 0x%llx", t0, op.val, t1);
	}
}
