// SPDX-License-Identifier: MIT
/*
 * hv_msr_matrix_test: a real guest's RDMSR/WRMSR against the MSR filter and
 * user-space MSR exits, on this hypervisor under Bochs.
 *
 * Written for this project against Linux 6.1's KVM selftests library (built
 * in that tree by scripts/kvm-selftests.sh, run through the preload shim).
 * Four MSRs of four kinds: FS_BASE (the hypervisor can pass it through),
 * IA32_MISC_ENABLE (emulated), 0x1234 (unknown) and 0x802 (x2APIC ID:
 * never filtered; the guest is in x2APIC mode), each read and written in
 * four phases: allowed or denied by KVM_X86_SET_MSR_FILTER (DEFAULT_DENY
 * with ranges whose bits allow them, then DEFAULT_ALLOW with ranges whose
 * bits are clear) x KVM_CAP_X86_USER_SPACE_MSR off or on (INVAL, UNKNOWN
 * and FILTER). The host computes what upstream gives for each access
 * (kvm_msr_allowed: x2APIC MSRs are never filtered; kvm_get/set_msr_with_
 * filter: a denied access is KVM_MSR_RET_FILTERED; kvm_msr_reason: the
 * exit reason; kvm_x2apic_msr_write: the x2APIC ID is read-only): the
 * value read, #GP, or an exit to the controller with the MSR, the reason
 * and the data, answered through kvm_run.msr and completed at the next
 * KVM_RUN (complete_fast_rdmsr / complete_emulated_msr_access). The VMX
 * MSR bitmap behind it is checked bit by bit in tests/host/test_exit.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "apic.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#define MSR_FS_BASE_  0xc0000100
#define MSR_UNKNOWN   0x1234
#define MSR_X2APIC_ID 0x802
#define NR_MSRS	      4
#define MISC_VALUE    0x1801ull		    /* FAST_STRING | BTS_UNAVAIL | PEBS_UNAVAIL */
#define FS_WRITE      0x7000ull		    /* + phase */
#define EXIT_DATA     0xabcd000000000000ull /* + phase: what the controller answers */

#define CHECK_EQ(a, b)                                                                             \
	TEST_ASSERT((uint64_t)(a) == (uint64_t)(b), "%s == %s: 0x%lx, 0x%lx", #a, #b,              \
		    (uint64_t)(a), (uint64_t)(b))

static const uint32_t msrs[NR_MSRS] = {MSR_FS_BASE_, MSR_IA32_MISC_ENABLE, MSR_UNKNOWN,
				       MSR_X2APIC_ID};
static const char *const names[NR_MSRS] = {"FS_BASE", "MISC_ENABLE", "0x1234", "x2APIC ID"};

/* Guest results, per MSR: [0] the read, [1] the write. */
static struct {
	uint8_t vector;
	uint64_t value;
} res[NR_MSRS][2];

/* The position of @msr in msrs[]. */
static unsigned slot(uint32_t msr)
{
	for (unsigned i = 0; i < NR_MSRS; i++)
		if (msrs[i] == msr)
			return i;
	TEST_FAIL("MSR 0x%x is not one of the test's", msr);
	return 0;
}

static uint64_t write_value(unsigned i, unsigned phase)
{
	return i == 0 ? FS_WRITE + phase : i == 1 ? MISC_VALUE : 0;
}

static void guest_code(void)
{
	x2apic_enable(); /* before any filter: it writes IA32_APIC_BASE */
	GUEST_SYNC(0xff);
	for (unsigned phase = 0; phase < 4; phase++) {
		for (unsigned i = 0; i < NR_MSRS; i++) {
			res[i][0].value = 0x5a5a5a5a;
			res[i][0].vector = rdmsr_safe(msrs[i], &res[i][0].value);
			res[i][1].vector = wrmsr_safe(msrs[i], write_value(i, phase));
		}
		GUEST_SYNC(phase);
	}
	GUEST_DONE();
}

/* The filter of a phase: @allow = 1 lets every test MSR through, 0 denies them. */
static void set_filter(struct kvm_vm *vm, bool allow)
{
	static uint8_t ones = 0xff, zeros = 0;
	struct kvm_msr_filter f = {.flags = allow ? KVM_MSR_FILTER_DEFAULT_DENY
						  : KVM_MSR_FILTER_DEFAULT_ALLOW};
	uint8_t *bits = allow ? &ones : &zeros;

	for (unsigned i = 0; i < NR_MSRS; i++)
		f.ranges[i] = (struct kvm_msr_filter_range){
		    .flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
		    .nmsrs = 1,
		    .base = msrs[i],
		    .bitmap = bits,
		};
	vm_ioctl(vm, KVM_X86_SET_MSR_FILTER, &f);
}

enum outcome { VALUE, GP, EXIT };

struct expect {
	enum outcome how;
	uint32_t reason; /* EXIT */
};

/* What upstream gives for access @write to MSR @i in a phase. */
static struct expect expected(unsigned i, bool write, bool denied, bool exits)
{
	uint32_t msr = msrs[i];
	uint32_t reason = 0;

	if (msr != MSR_X2APIC_ID && denied) /* kvm_msr_allowed: x2APIC never filtered */
		reason = KVM_MSR_EXIT_REASON_FILTER;
	else if (msr == MSR_UNKNOWN) /* KVM_MSR_RET_INVALID */
		reason = KVM_MSR_EXIT_REASON_UNKNOWN;
	else if (msr == MSR_X2APIC_ID && write) /* read-only in x2APIC mode: 1 */
		reason = KVM_MSR_EXIT_REASON_INVAL;
	if (!reason)
		return (struct expect){VALUE, 0};
	return exits ? (struct expect){EXIT, reason} : (struct expect){GP, 0};
}

static const char *reason_name(uint32_t r)
{
	return r == KVM_MSR_EXIT_REASON_FILTER	  ? "FILTER"
	       : r == KVM_MSR_EXIT_REASON_UNKNOWN ? "UNKNOWN"
	       : r == KVM_MSR_EXIT_REASON_INVAL	  ? "INVAL"
						  : "?";
}

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	unsigned checks = 0, exits_seen = 0;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_MSR_FILTER));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_USER_SPACE_MSR));
	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(vcpu);
	vcpu_set_msr(vcpu, MSR_IA32_MISC_ENABLE, MISC_VALUE);
	{
		struct ucall uc = {0};

		vcpu_run(vcpu);
		TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC && uc.args[1] == 0xff,
			    "expected the guest's first GUEST_SYNC, got ucall %lu", uc.cmd);
	}

	for (unsigned phase = 0; phase < 4; phase++) {
		bool denied = phase & 1, exits = phase & 2;
		uint64_t fs_before, misc_before;
		/* Exits expected in the guest's order: read then write of each MSR. */
		struct {
			uint32_t index, reason;
			bool write;
		} want[2 * NR_MSRS];
		unsigned nwant = 0, got = 0;
		struct ucall uc = {0};

		set_filter(vm, !denied);
		vm_enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR,
			      exits ? KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN |
					  KVM_MSR_EXIT_REASON_FILTER
				    : 0);
		fs_before = vcpu_get_msr(vcpu, MSR_FS_BASE_);
		misc_before = vcpu_get_msr(vcpu, MSR_IA32_MISC_ENABLE);
		for (unsigned i = 0; i < NR_MSRS; i++)
			for (unsigned w = 0; w < 2; w++) {
				struct expect e = expected(i, w, denied, exits);

				if (e.how == EXIT)
					want[nwant++] = (typeof(want[0])){msrs[i], e.reason, w};
			}

		for (;;) {
			struct kvm_run *run = vcpu->run;

			vcpu_run(vcpu);
			if (run->exit_reason == KVM_EXIT_X86_RDMSR ||
			    run->exit_reason == KVM_EXIT_X86_WRMSR) {
				bool w = run->exit_reason == KVM_EXIT_X86_WRMSR;

				TEST_ASSERT(got < nwant,
					    "phase %u: unexpected %s exit for 0x%x (%s)", phase,
					    w ? "WRMSR" : "RDMSR", run->msr.index,
					    reason_name(run->msr.reason));
				TEST_ASSERT(run->msr.index == want[got].index &&
						run->msr.reason == want[got].reason &&
						w == want[got].write,
					    "phase %u: exit %u is %s 0x%x %s, expected %s 0x%x %s",
					    phase, got, w ? "WRMSR" : "RDMSR", run->msr.index,
					    reason_name(run->msr.reason),
					    want[got].write ? "WRMSR" : "RDMSR", want[got].index,
					    reason_name(want[got].reason));
				if (w) /* the value the guest wrote */
					CHECK_EQ(run->msr.data,
						 write_value(slot(run->msr.index), phase));
				run->msr.error = 0;
				run->msr.data = EXIT_DATA + phase;
				got++;
				exits_seen++;
				continue;
			}
			TEST_ASSERT(run->exit_reason == KVM_EXIT_IO,
				    "phase %u: exit reason %u (%s)", phase, run->exit_reason,
				    exit_reason_str(run->exit_reason));
			break;
		}
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			CHECK_EQ(uc.args[1], phase);
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT_2(uc, "values 0x%lx, 0x%lx");
			break;
		default:
			TEST_FAIL("phase %u: unexpected ucall %lu", phase, uc.cmd);
		}
		CHECK_EQ(got, nwant);

		sync_global_from_guest(vm, res);
		for (unsigned i = 0; i < NR_MSRS; i++) {
			for (unsigned w = 0; w < 2; w++) {
				struct expect e = expected(i, w, denied, exits);
				uint8_t vec = res[i][w].vector;

				TEST_ASSERT(
				    vec == (e.how == GP ? GP_VECTOR : 0),
				    "phase %u (%s, user-space exits %s): %s of %s gave vector "
				    "%u, expected %s",
				    phase, denied ? "denied" : "allowed", exits ? "on" : "off",
				    w ? "WRMSR" : "RDMSR", names[i], vec,
				    e.how == GP ? "#GP" : "none");
				checks++;
				if (w || e.how == GP)
					continue;
				if (e.how == EXIT)
					CHECK_EQ(res[i][0].value, EXIT_DATA + phase);
				else if (i == 0)
					CHECK_EQ(res[i][0].value, fs_before);
				else if (i == 1)
					CHECK_EQ(res[i][0].value, misc_before);
				else if (i == 3)
					CHECK_EQ(res[i][0].value, 0); /* vCPU 0's x2APIC ID */
				checks++;
			}
		}
		/* A write that went to user space is the controller's: FS_BASE stays. */
		CHECK_EQ(vcpu_get_msr(vcpu, MSR_FS_BASE_),
			 expected(0, true, denied, exits).how == VALUE ? FS_WRITE + phase
								       : fs_before);
		checks++;
		printf("phase %u: filter %s, user-space exits %s: %u exits, all as upstream\n",
		       phase, denied ? "denies" : "allows", exits ? "on" : "off", got);
	}
	{
		struct ucall uc = {0};

		vcpu_run(vcpu);
		TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_DONE, "expected GUEST_DONE, got %lu",
			    uc.cmd);
	}
	printf("%u checks, %u user-space MSR exits\n", checks, exits_seen);
	kvm_vm_free(vm);
	return 0;
}
