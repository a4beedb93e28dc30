// SPDX-License-Identifier: MIT
/*
 * hv_pks_test: guest supervisor protection keys (PKS) on this hypervisor.
 *
 * Written for this project against Linux 6.1's KVM selftests library (it is
 * built in that tree by scripts/kvm-selftests.sh and runs through the
 * preload shim like Linux's own tests). The rules come from the Intel SDM
 * (vol. 3A 4.6.2 "Protection Keys", 4.7 "Page-Fault Exceptions") and the
 * KVM PKS series as its review corrected it (seed 003): CPUID.7.0:ECX[31]
 * only with EPT and both load-IA32_PKRS controls (vmx_set_cpu_caps), the
 * MSR refused without PKS in the guest's CPUID (vmx_{get,set}_msr), bits
 * 63:32 reserved (kvm_pkrs_valid), PKRS cleared by INIT (kvm_vcpu_reset),
 * listed by KVM_GET_MSR_INDEX_LIST only when offered (kvm_init_msr_list).
 *
 * With PKS offered:
 *  - CR4.PKS = 0: no key is checked even with every PKRS bit set;
 *  - CR4.PKS = 1: for keys 1, 5 and 15 on supervisor pages, every AD/WD pair
 *    x CR0.WP x read/write, done by the CPU (MOV) and by the hypervisor's
 *    own page walker (OUTSB reads memory, INSB writes it: the string I/O
 *    the hypervisor emulates), with the other keys' bits all set: the
 *    access faults exactly when the SDM says, with error code P|PK (|W);
 *  - WRMSR with bits 63:32 is #GP and changes nothing;
 *  - PKRS survives an exit to the controller, an exit handled inside the
 *    hypervisor (CPUID), KVM_GET/SET_MSRS and running another vCPU; INIT
 *    (an x2APIC INIT IPI from vCPU 0) makes vCPU 1's PKRS 0;
 *  - a second VM whose CPUID lacks PKS: CR4.PKS and the MSR are #GP in the
 *    guest, while the controller still reads and writes the MSR.
 * Without PKS (Bochs tigerlake): CPUID has no PKS, CR4.PKS and the MSR are
 * #GP, KVM_GET/SET_MSRS refuse it and the index list lacks it.
 *
 * HV_SELFTEST_PLATFORM (set by tests/selftests.py) says which to expect:
 * bochs-spr must offer PKS and bochs-tgl must not; elsewhere the test
 * checks whichever the hypervisor reports.
 *
 * Every page the guest touches is a supervisor page (the library maps none
 * with U/S = 1), so Bochs 3.0's key-register choice by CPL instead of the
 * page's U/S bit (../shared/nested-vmx-notes.md A.4) is never exercised.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apic.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#ifndef MSR_IA32_PKRS
#define MSR_IA32_PKRS 0x000006e1
#endif
#define CR4_PKS	   (1ul << 24)
#define PF_P	   (1u << 0)
#define PF_W	   (1u << 1)
#define PF_PK	   (1u << 5)
#define PKEY_SHIFT 59 /* leaf entry bits 62:59 */
#define IO_PORT	   0x3e0
#define NR_KEYS	   3

/* Host side: both values printed when they differ (6.1 has no TEST_ASSERT_EQ). */
#define CHECK_EQ(a, b)                                                                             \
	TEST_ASSERT((uint64_t)(a) == (uint64_t)(b), "%s == %s: 0x%lx, 0x%lx", #a, #b,              \
		    (uint64_t)(a), (uint64_t)(b))

/* Shared with the guest (sync_global_to_guest). */
static vm_vaddr_t key_page[NR_KEYS];
static const unsigned keys[NR_KEYS] = {1, 5, 15};

/* Guest: the last #PF (the handler resumes at the address in R11). */
static volatile uint64_t pf_count, pf_error, pf_addr;

static void guest_pf_handler(struct ex_regs *regs)
{
	uint64_t cr2;

	__asm__ __volatile__("mov %%cr2, %0" : "=r"(cr2));
	pf_count++;
	pf_error = regs->error_code;
	pf_addr = cr2;
	regs->rip = regs->r11;
}

static void set_cr0(uint64_t val)
{
	__asm__ __volatile__("mov %0, %%cr0" : : "r"(val) : "memory");
}

static uint8_t set_cr4_safe(uint64_t val)
{
	return kvm_asm_safe("mov %[v], %%cr4", [v] "r"(val));
}

/* Each access returns the #PF error code it raised, or -1 for none. */
static int64_t pf_result(uint64_t before, uint64_t addr)
{
	if (pf_count == before)
		return -1;
	GUEST_ASSERT_2(pf_count == before + 1 && pf_addr == addr, pf_count - before, pf_addr);
	return (int64_t)pf_error;
}

static int64_t mov_read(uint64_t addr)
{
	uint64_t before = pf_count, v;

	__asm__ __volatile__("lea 1f(%%rip), %%r11\n\t"
			     "movq (%[p]), %[v]\n"
			     "1:"
			     : [v] "=r"(v)
			     : [p] "r"(addr)
			     : "r11", "memory");
	return pf_result(before, addr);
}

static int64_t mov_write(uint64_t addr)
{
	uint64_t before = pf_count;

	__asm__ __volatile__("lea 1f(%%rip), %%r11\n\t"
			     "movq %[v], (%[p])\n"
			     "1:"
			     :
			     : [p] "r"(addr), [v] "r"(0x5a5aull)
			     : "r11", "memory");
	return pf_result(before, addr);
}

/* OUTSB reads the byte at RSI: the hypervisor walks the guest's tables for it. */
static int64_t outs_read(uint64_t addr)
{
	uint64_t before = pf_count, p = addr;

	__asm__ __volatile__("lea 1f(%%rip), %%r11\n\t"
			     "outsb\n"
			     "1:"
			     : "+S"(p)
			     : "d"((uint16_t)IO_PORT)
			     : "r11", "memory");
	return pf_result(before, addr);
}

/* INSB writes the byte at RDI. */
static int64_t ins_write(uint64_t addr)
{
	uint64_t before = pf_count, p = addr;

	__asm__ __volatile__("lea 1f(%%rip), %%r11\n\t"
			     "insb\n"
			     "1:"
			     : "+D"(p)
			     : "d"((uint16_t)IO_PORT)
			     : "r11", "memory");
	return pf_result(before, addr);
}

/* PKRS with AD/WD @adwd for @key and both bits for every other key but 0. */
static uint32_t pkrs_for(unsigned key, unsigned adwd)
{
	uint32_t v = 0;

	for (unsigned k = 1; k < 16; k++)
		v |= (k == key ? adwd : 3u) << (2 * k);
	return v;
}

/* An access's result (#PF error code or -1) against the SDM's; the case in the report. */
#define check_access(what, got, fault, ec, pkrs, wp)                                               \
	__GUEST_ASSERT((got) == ((fault) ? (int64_t)(ec) : -1),                                    \
		       what ": #PF error code (or -1), expected, PKRS, CR0.WP", 4, (got),          \
		       (fault) ? (int64_t)(ec) : -1, (pkrs), (wp))

static void guest_no_pks(void)
{
	uint64_t v;

	GUEST_ASSERT(!this_cpu_has(X86_FEATURE_PKS));
	GUEST_ASSERT_EQ(set_cr4_safe(get_cr4() | CR4_PKS), GP_VECTOR);
	GUEST_ASSERT(!(get_cr4() & CR4_PKS));
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_IA32_PKRS, &v), GP_VECTOR);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_IA32_PKRS, 0), GP_VECTOR);
	GUEST_DONE();
}

static void guest_matrix(void)
{
	uint64_t cr0 = get_cr0();

	for (unsigned wp = 0; wp < 2; wp++) {
		set_cr0(wp ? cr0 | X86_CR0_WP : cr0 & ~X86_CR0_WP);
		for (unsigned i = 0; i < NR_KEYS; i++) {
			uint64_t page = key_page[i];

			for (unsigned adwd = 0; adwd < 4; adwd++) {
				bool ad = adwd & 1, wd = adwd & 2;
				bool rfault = ad, wfault = ad || (wd && wp);

				uint32_t pkrs = pkrs_for(keys[i], adwd);

				wrmsr(MSR_IA32_PKRS, pkrs);
				check_access("mov read", mov_read(page), rfault, PF_P | PF_PK, pkrs,
					     wp);
				check_access("mov write", mov_write(page + 8), wfault,
					     PF_P | PF_W | PF_PK, pkrs, wp);
				check_access("outsb", outs_read(page + 16), rfault, PF_P | PF_PK,
					     pkrs, wp);
				check_access("insb", ins_write(page + 24), wfault,
					     PF_P | PF_W | PF_PK, pkrs, wp);
			}
		}
	}
	set_cr0(cr0 | X86_CR0_WP);
	wrmsr(MSR_IA32_PKRS, 0);
}

static void guest_code(void)
{
	uint32_t eax, ebx, ecx, edx;
	uint64_t v;

	if (!this_cpu_has(X86_FEATURE_PKS))
		guest_no_pks();

	/* CR4.PKS = 0: PKRS is not consulted at all. */
	GUEST_ASSERT(!(get_cr4() & CR4_PKS));
	wrmsr(MSR_IA32_PKRS, 0xffffffffu);
	for (unsigned i = 0; i < NR_KEYS; i++) {
		GUEST_ASSERT_EQ(mov_read(key_page[i]), -1);
		GUEST_ASSERT_EQ(mov_write(key_page[i]), -1);
		GUEST_ASSERT_EQ(outs_read(key_page[i]), -1);
	}
	wrmsr(MSR_IA32_PKRS, 0);
	set_cr4(get_cr4() | CR4_PKS);
	GUEST_ASSERT(get_cr4() & CR4_PKS);
	guest_matrix();
	GUEST_SYNC(1);

	/* Reserved bits: #GP, the value stays. */
	wrmsr(MSR_IA32_PKRS, 0x12345678);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_IA32_PKRS, 1ull << 32), GP_VECTOR);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_IA32_PKRS, 0xffffffff00000000ull), GP_VECTOR);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_PKRS), 0x12345678);

	/* Across an exit to the controller, which reads it and writes another. */
	wrmsr(MSR_IA32_PKRS, 0x55555554);
	GUEST_SYNC(2);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_PKRS), 0xaaaaaaa8);
	/* An exit the hypervisor handles itself. */
	cpuid(1, &eax, &ebx, &ecx, &edx);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_PKRS), 0xaaaaaaa8);
	/* The keys still act with the value the controller wrote (WD for key 5, WP = 1). */
	GUEST_ASSERT_EQ(mov_read(key_page[1]), -1);
	GUEST_ASSERT_EQ(mov_write(key_page[1]), PF_P | PF_W | PF_PK);

	/* vCPU 1 runs with its own value in between. */
	GUEST_SYNC(3);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_PKRS), 0xaaaaaaa8);
	GUEST_ASSERT(rdmsr_safe(MSR_IA32_PKRS, &v) == 0 && v == 0xaaaaaaa8);

	/* INIT to vCPU 1 (x2APIC ID 1). */
	x2apic_enable();
	x2apic_write_reg(APIC_ICR,
			 (1ull << 32) | APIC_DEST_PHYSICAL | APIC_DM_INIT | APIC_INT_ASSERT);
	GUEST_SYNC(4);
	wrmsr(MSR_IA32_PKRS, 0);
	GUEST_DONE();
}

/* vCPU 1: its own PKRS, then it waits to be INITed. */
static void guest_code_vcpu1(void)
{
	wrmsr(MSR_IA32_PKRS, 0x00000c30);
	GUEST_SYNC(10);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_PKRS), 0x00000c30);
	GUEST_SYNC(11);
	for (;;)
		asm volatile("hlt");
}

/* KVM_GET_MSRS / KVM_SET_MSRS of one MSR: the number of entries processed. */
static int get_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t *val)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} b = {.h.nmsrs = 1, .e.index = index};
	int r = __vcpu_ioctl(vcpu, KVM_GET_MSRS, &b.h);

	*val = b.e.data;
	return r;
}

static int set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t val)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} b = {.h.nmsrs = 1, .e.index = index, .e.data = val};

	return __vcpu_ioctl(vcpu, KVM_SET_MSRS, &b.h);
}

static bool index_list_has(uint32_t msr)
{
	const struct kvm_msr_list *l = kvm_get_msr_index_list();

	for (uint32_t i = 0; i < l->nmsrs; i++)
		if (l->indices[i] == msr)
			return true;
	return false;
}

/* Run until the next ucall other than our string I/O, answering that I/O. */
static uint64_t run_to_ucall(struct kvm_vcpu *vcpu, struct ucall *uc, unsigned *io_exits)
{
	for (;;) {
		struct kvm_run *run = vcpu->run;

		vcpu_run(vcpu);
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == IO_PORT) {
			TEST_ASSERT(run->io.size == 1 && run->io.count == 1,
				    "string I/O: size %u count %u", run->io.size, run->io.count);
			if (run->io.direction == KVM_EXIT_IO_IN)
				*((uint8_t *)run + run->io.data_offset) = 0xa5;
			(*io_exits)++;
			continue;
		}
		TEST_ASSERT(run->exit_reason == KVM_EXIT_IO, "exit reason %u (%s)",
			    run->exit_reason, exit_reason_str(run->exit_reason));
		switch (get_ucall(vcpu, uc)) {
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT_4(*uc, "values 0x%lx, 0x%lx, 0x%lx, 0x%lx");
			break;
		case UCALL_SYNC:
		case UCALL_DONE:
			return uc->cmd;
		default:
			TEST_FAIL("unexpected ucall %lu", uc->cmd);
		}
	}
}

static void expect_sync(struct kvm_vcpu *vcpu, uint64_t stage, unsigned *io_exits)
{
	struct ucall uc = {0};

	TEST_ASSERT(run_to_ucall(vcpu, &uc, io_exits) == UCALL_SYNC && uc.args[1] == stage,
		    "vCPU %u: expected GUEST_SYNC(%lu), got ucall %lu stage %lu", vcpu->id, stage,
		    uc.cmd, uc.args[1]);
}

static void expect_done(struct kvm_vcpu *vcpu, unsigned *io_exits)
{
	struct ucall uc = {0};

	TEST_ASSERT(run_to_ucall(vcpu, &uc, io_exits) == UCALL_DONE,
		    "vCPU %u: expected GUEST_DONE, got ucall %lu", vcpu->id, uc.cmd);
}

static struct kvm_vm *create_vm(struct kvm_vcpu **vcpu, bool with_pks_in_cpuid)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, guest_code);

	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(*vcpu);
	vm_install_exception_handler(vm, PF_VECTOR, guest_pf_handler);
	if (!with_pks_in_cpuid)
		vcpu_clear_cpuid_feature(*vcpu, X86_FEATURE_PKS);
	return vm;
}

/* The guest's CPUID lacks PKS: #GP in the guest; the controller per the CPU. */
static void test_without_pks(bool cpu_has_pks)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = create_vm(&vcpu, false);
	unsigned io = 0;
	uint64_t v = 1;

	expect_done(vcpu, &io);
	/* Host accesses need only the CPU's support (host_initiated). */
	CHECK_EQ(set_msr(vcpu, MSR_IA32_PKRS, 0x30), cpu_has_pks ? 1 : 0);
	CHECK_EQ(get_msr(vcpu, MSR_IA32_PKRS, &v), cpu_has_pks ? 1 : 0);
	if (cpu_has_pks)
		CHECK_EQ(v, 0x30);
	printf("without PKS in CPUID: CR4.PKS and IA32_PKRS #GP in the guest; host access %s\n",
	       cpu_has_pks ? "allowed" : "refused");
	kvm_vm_free(vm);
}

static void test_with_pks(void)
{
	struct kvm_vcpu *vcpu, *vcpu1;
	struct kvm_vm *vm = create_vm(&vcpu, true);
	struct kvm_mp_state mp;
	unsigned io = 0, io1 = 0;
	uint64_t v;

	for (unsigned i = 0; i < NR_KEYS; i++) {
		key_page[i] = vm_vaddr_alloc_page(vm);
		uint64_t pte = vm_get_page_table_entry(vm, vcpu, key_page[i]);

		TEST_ASSERT(!(pte & PTE_USER_MASK), "the library maps supervisor pages");
		pte = (pte & ~(0xfull << PKEY_SHIFT)) | (uint64_t)keys[i] << PKEY_SHIFT;
		vm_set_page_table_entry(vm, vcpu, key_page[i], pte);
	}
	sync_global_to_guest(vm, key_page);
	vcpu1 = vm_vcpu_add(vm, 1, guest_code_vcpu1);
	vcpu_init_descriptor_tables(vcpu1);

	expect_sync(vcpu, 1, &io);
	/*
	 * OUTSB reads memory before its exit, so it exits only when the read
	 * is allowed: three times with CR4.PKS = 0, then for the two AD = 0
	 * pairs of each key and WP. INSB exits first and writes at the next
	 * KVM_RUN, where a denied write becomes the #PF (as KVM's emulator
	 * writes back after the port read): it exits every time.
	 */
	printf("key matrix: 2 WP x %d keys x 4 AD/WD x 4 accesses checked, %u string I/O exits\n",
	       NR_KEYS, io);
	CHECK_EQ(io, NR_KEYS + 2 * NR_KEYS * (2 + 4));

	/* Host reads the guest's value and writes another; reserved bits refused. */
	expect_sync(vcpu, 2, &io);
	CHECK_EQ(get_msr(vcpu, MSR_IA32_PKRS, &v), 1);
	CHECK_EQ(v, 0x55555554);
	CHECK_EQ(set_msr(vcpu, MSR_IA32_PKRS, 1ull << 32), 0);
	CHECK_EQ(vcpu_get_msr(vcpu, MSR_IA32_PKRS), 0x55555554);
	vcpu_set_msr(vcpu, MSR_IA32_PKRS, 0xaaaaaaa8);

	/* vCPU 1 in between; each keeps its own. */
	expect_sync(vcpu, 3, &io);
	expect_sync(vcpu1, 10, &io1);
	CHECK_EQ(vcpu_get_msr(vcpu1, MSR_IA32_PKRS), 0x00000c30);
	CHECK_EQ(vcpu_get_msr(vcpu, MSR_IA32_PKRS), 0xaaaaaaa8);
	expect_sync(vcpu1, 11, &io1);

	/* vCPU 0 sends INIT to vCPU 1: its PKRS is 0 (kvm_vcpu_reset(init_event)). */
	expect_sync(vcpu, 4, &io);
	vcpu_mp_state_get(vcpu1, &mp);
	CHECK_EQ(mp.mp_state, KVM_MP_STATE_INIT_RECEIVED);
	CHECK_EQ(vcpu_get_msr(vcpu1, MSR_IA32_PKRS), 0);
	CHECK_EQ(vcpu_get_msr(vcpu, MSR_IA32_PKRS), 0xaaaaaaa8);
	expect_done(vcpu, &io);
	printf("PKRS kept across exits, KVM_GET/SET_MSRS and vCPU switches; INIT cleared it\n");
	kvm_vm_free(vm);
}

int main(int argc, char *argv[])
{
	const char *platform = getenv("HV_SELFTEST_PLATFORM");
	bool pks = kvm_cpu_has(X86_FEATURE_PKS);

	if (platform && !strcmp(platform, "bochs-spr"))
		TEST_ASSERT(pks,
			    "Bochs sapphire_rapids has both PKRS controls: PKS must be offered");
	else if (platform && !strcmp(platform, "bochs-tgl"))
		TEST_ASSERT(!pks, "Bochs tigerlake has no PKS: it must not be offered");
	printf("platform %s: PKS %s\n", platform ? platform : "(not named)",
	       pks ? "offered" : "not offered");

	CHECK_EQ(index_list_has(MSR_IA32_PKRS), pks);
	test_without_pks(pks);
	if (pks)
		test_with_pks();
	return 0;
}
