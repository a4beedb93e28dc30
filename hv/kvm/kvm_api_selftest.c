// SPDX-License-Identifier: MIT
/*
 * selftest=kvmapi: the KVM API's answers and errors, checked from inside
 * the hypervisor, one "kvmapi: PASS/FAIL <what>" line each. Without VT-x
 * only the system-level answers apply (no VM can be created).
 */
#include <string.h>

#include "abi/errno.h"
#include "hv/kvm/kvm_api.h"
#include "hv/kvm/kvm_api_selftest.h"
#include "hv/lib/log.h"
#include "vmx/vm.h"
#include "vmx/cpuid.h"
#include "vmx/vmx.h"

struct tally {
	unsigned pass, fail;
};

static void expect(struct tally *t, const char *what, long got, long want)
{
	if (got == want) {
		t->pass++;
		log_info("kvmapi: PASS %s", what);
	} else {
		t->fail++;
		log_err("kvmapi: FAIL %s: got %ld, want %ld", what, got, want);
	}
}

static long sys(unsigned long nr, uint64_t value)
{
	return kvm_api_ioctl(KVM_TARGET_SYSTEM, 0, 0, nr, &value, sizeof(value));
}

static long vmio(uint32_t vm, unsigned long nr, void *arg, size_t len)
{
	return kvm_api_ioctl(KVM_TARGET_VM, vm, 0, nr, arg, len);
}

static long region(uint32_t vm, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size)
{
	struct kvm_userspace_memory_region r = {
	    .slot = slot,
	    .flags = flags,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	};

	return vmio(vm, KVM_SET_USER_MEMORY_REGION, &r, sizeof(r));
}

static void system_checks(struct tally *t)
{
	struct kvm_regs regs;

	expect(t, "KVM_GET_API_VERSION is 12", sys(KVM_GET_API_VERSION, 0), 12);
	expect(t, "KVM_GET_VCPU_MMAP_SIZE is 2 pages", sys(KVM_GET_VCPU_MMAP_SIZE, 0), 8192);
	expect(t, "unknown capability is 0", sys(KVM_CHECK_EXTENSION, 100000), 0);
	expect(t, "a non-KVM request on the system is EINVAL, as on /dev/kvm",
	       kvm_api_ioctl(KVM_TARGET_SYSTEM, 0, 0, 0x5401, NULL, 0), -HV_EINVAL);
	expect(t, "a vCPU request on the system is EINVAL",
	       kvm_api_ioctl(KVM_TARGET_SYSTEM, 0, 0, KVM_GET_REGS, &regs, sizeof(regs)),
	       -HV_EINVAL);
	expect(t, "an integer argument over 8 bytes is EINVAL",
	       kvm_api_ioctl(KVM_TARGET_SYSTEM, 0, 0, KVM_CHECK_EXTENSION, &regs, 16), -HV_EINVAL);
	expect(t, "a VM request on a bad handle is EBADF", region(42, 0, 0, 0, 4096), -HV_EBADF);
}

static void no_vmx_checks(struct tally *t)
{
	expect(t, "KVM_CAP_USER_MEMORY absent without VT-x",
	       sys(KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY), 0);
	expect(t, "KVM_CREATE_VM without VT-x is ENODEV", sys(KVM_CREATE_VM, 0), -HV_ENODEV);
}

static void msr_checks(struct tally *t, long vm)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[3];
	} m = {.hdr.nmsrs = 3};
	struct {
		struct kvm_msr_list hdr;
		uint32_t idx[64];
	} list = {.hdr.nmsrs = 2};
	const size_t size = sizeof(m.hdr) + 3 * sizeof(m.e[0]);

	expect(t, "KVM_GET_MSR_INDEX_LIST too small is E2BIG",
	       kvm_api_ioctl(KVM_TARGET_SYSTEM, 0, 0, KVM_GET_MSR_INDEX_LIST, &list, sizeof(list)),
	       -HV_E2BIG);
	expect(t, "... and says how many", list.hdr.nmsrs > 2, 1);
	list.hdr.nmsrs = 64;
	expect(t, "KVM_GET_MSR_INDEX_LIST",
	       kvm_api_ioctl(KVM_TARGET_SYSTEM, 0, 0, KVM_GET_MSR_INDEX_LIST, &list, sizeof(list)),
	       0);
	expect(t, "... lists IA32_TSC first", list.idx[0], 0x10);

	m.e[0] = (struct kvm_msr_entry){.index = 0x174, .data = 0x10}; /* SYSENTER_CS */
	m.e[1] = (struct kvm_msr_entry){.index = 0xc0000082, .data = 0xffff800000001000ull};
	m.e[2] = (struct kvm_msr_entry){.index = 0x12345678, .data = 1};
	expect(t, "KVM_SET_MSRS stops at the unknown MSR",
	       kvm_api_ioctl(KVM_TARGET_VCPU, vm, 1, KVM_SET_MSRS, &m, size), 2);
	m.e[0].data = m.e[1].data = 0;
	expect(t, "KVM_GET_MSRS stops at the unknown MSR",
	       kvm_api_ioctl(KVM_TARGET_VCPU, vm, 1, KVM_GET_MSRS, &m, size), 2);
	expect(t, "... SYSENTER_CS read back", (long)m.e[0].data, 0x10);
	expect(t, "... LSTAR read back", m.e[1].data == 0xffff800000001000ull, 1);
	m.e[0] = (struct kvm_msr_entry){.index = 0xc0000082, .data = 0x8000000000000000ull};
	m.hdr.nmsrs = 1;
	expect(
	    t, "KVM_SET_MSRS non-canonical LSTAR does 0",
	    kvm_api_ioctl(KVM_TARGET_VCPU, vm, 1, KVM_SET_MSRS, &m, sizeof(m.hdr) + sizeof(m.e[0])),
	    0);
	m.hdr.nmsrs = 3;
	expect(t, "KVM_GET_MSRS count larger than the record is EFAULT",
	       kvm_api_ioctl(KVM_TARGET_VCPU, vm, 1, KVM_GET_MSRS, &m, sizeof(m.hdr) + 16),
	       -HV_EFAULT);
	m.hdr.nmsrs = 100000;
	expect(t, "KVM_GET_MSRS absurd count is E2BIG",
	       kvm_api_ioctl(KVM_TARGET_VCPU, vm, 1, KVM_GET_MSRS, &m, size), -HV_E2BIG);
}

static struct {
	struct kvm_cpuid2 hdr;
	struct kvm_cpuid_entry2 e[VCPU_CPUID_MAX];
} cpuid_buf;

static const struct kvm_cpuid_entry2 *find_leaf(uint32_t leaf)
{
	for (uint32_t i = 0; i < cpuid_buf.hdr.nent; i++)
		if (cpuid_buf.e[i].function == leaf)
			return &cpuid_buf.e[i];
	return NULL;
}

static void cpuid_checks(struct tally *t, long vm)
{
	const struct kvm_cpuid_entry2 *e;
	const size_t full = sizeof(cpuid_buf);

	cpuid_buf.hdr.nent = 2;
	expect(t, "KVM_GET_SUPPORTED_CPUID too small is E2BIG",
	       kvm_api_ioctl(KVM_TARGET_SYSTEM, 0, 0, KVM_GET_SUPPORTED_CPUID, &cpuid_buf, full),
	       -HV_E2BIG);
	cpuid_buf.hdr.nent = VCPU_CPUID_MAX;
	expect(t, "KVM_GET_SUPPORTED_CPUID",
	       kvm_api_ioctl(KVM_TARGET_SYSTEM, 0, 0, KVM_GET_SUPPORTED_CPUID, &cpuid_buf, full),
	       0);
	e = find_leaf(1);
	expect(t, "... leaf 1 hides VMX", e && !(e->ecx & (1u << 5)), 1);
	e = find_leaf(0x40000000);
	expect(t, "... has the signature leaf", e && !memcmp(&e->ebx, "hv-m", 4), 1);
	/* A table with leaf 1 offering VMX: the bit is masked, the rest kept. */
	cpuid_buf.hdr.nent = 1;
	cpuid_buf.e[0] =
	    (struct kvm_cpuid_entry2){.function = 1, .ecx = (1u << 5) | (1u << 0), .edx = 0x1234};
	expect(t, "KVM_SET_CPUID2",
	       kvm_api_ioctl(KVM_TARGET_VCPU, vm, 1, KVM_SET_CPUID2, &cpuid_buf, full), 0);
	cpuid_buf.hdr.nent = VCPU_CPUID_MAX;
	expect(t, "KVM_GET_CPUID2",
	       kvm_api_ioctl(KVM_TARGET_VCPU, vm, 1, KVM_GET_CPUID2, &cpuid_buf, full), 0);
	expect(t, "... one entry back", cpuid_buf.hdr.nent, 1);
	expect(t, "... VMX masked, SSE3 and EDX kept",
	       cpuid_buf.e[0].ecx == ((1u << 0) | (1u << 31)) && cpuid_buf.e[0].edx == 0x1234, 1);
	cpuid_buf.hdr.nent = VCPU_CPUID_MAX + 1;
	expect(t, "KVM_SET_CPUID2 over the limit is E2BIG",
	       kvm_api_ioctl(KVM_TARGET_VCPU, vm, 1, KVM_SET_CPUID2, &cpuid_buf, full), -HV_E2BIG);
	cpuid_buf.hdr.nent = 10;
	expect(t, "KVM_SET_CPUID2 count past the record is EFAULT",
	       kvm_api_ioctl(KVM_TARGET_VCPU, vm, 1, KVM_SET_CPUID2, &cpuid_buf,
			     sizeof(cpuid_buf.hdr) + 2 * sizeof(cpuid_buf.e[0])),
	       -HV_EFAULT);
}

static long vcpu_io(uint32_t vm, uint32_t id, unsigned long nr, void *arg, size_t len)
{
	return kvm_api_ioctl(KVM_TARGET_VCPU, vm, id, nr, arg, len);
}

/* FPU, debug registers, events and ENABLE_CAP, on two vCPUs of one VM. */
static void state_checks(struct tally *t, long vm)
{
	struct kvm_fpu f, g;
	struct kvm_debugregs d;
	struct kvm_vcpu_events e;
	struct kvm_enable_cap cap = {.cap = KVM_CAP_SYNC_REGS};
	uint64_t id = 2;

	expect(t, "KVM_CREATE_VCPU 2", vmio(vm, KVM_CREATE_VCPU, &id, sizeof(id)), 2);
	expect(t, "KVM_GET_FPU", vcpu_io(vm, 1, KVM_GET_FPU, &f, sizeof(f)), 0);
	expect(t, "a new vCPU's FCW is 0x37f", f.fcw, 0x37f);
	expect(t, "a new vCPU's MXCSR is 0x1f80", f.mxcsr, 0x1f80);
	f.fcw = 0x27f;
	f.mxcsr = 0x1f00;
	memset(f.xmm[5], 0xa5, 16);
	expect(t, "KVM_SET_FPU", vcpu_io(vm, 1, KVM_SET_FPU, &f, sizeof(f)), 0);
	g = f;
	g.fcw = 0x37b;
	memset(g.xmm[5], 0x5a, 16);
	expect(t, "KVM_SET_FPU on another vCPU", vcpu_io(vm, 2, KVM_SET_FPU, &g, sizeof(g)), 0);
	memset(&g, 0, sizeof(g));
	expect(t, "KVM_GET_FPU again", vcpu_io(vm, 1, KVM_GET_FPU, &g, sizeof(g)), 0);
	expect(t, "... FCW kept across a vCPU switch", g.fcw, 0x27f);
	expect(t, "... MXCSR kept", g.mxcsr, 0x1f00);
	expect(t, "... XMM5 kept, not the other vCPU's", g.xmm[5][7], 0xa5);
	f.mxcsr = 1u << 31; /* reserved */
	expect(t, "KVM_SET_FPU with a reserved MXCSR bit is EINVAL",
	       vcpu_io(vm, 1, KVM_SET_FPU, &f, sizeof(f)), -HV_EINVAL);

	expect(t, "KVM_GET_DEBUGREGS", vcpu_io(vm, 1, KVM_GET_DEBUGREGS, &d, sizeof(d)), 0);
	expect(t, "a new vCPU's DR7 is 0x400", d.dr7, 0x400);
	d.db[0] = 0x1000;
	d.db[3] = 0xdead000;
	d.dr7 = 0x401; /* L0 */
	expect(t, "KVM_SET_DEBUGREGS", vcpu_io(vm, 1, KVM_SET_DEBUGREGS, &d, sizeof(d)), 0);
	memset(&d, 0, sizeof(d));
	d.db[0] = 0x2000;
	expect(t, "KVM_SET_DEBUGREGS on another vCPU",
	       vcpu_io(vm, 2, KVM_SET_DEBUGREGS, &d, sizeof(d)), 0);
	expect(t, "KVM_GET_DEBUGREGS again", vcpu_io(vm, 1, KVM_GET_DEBUGREGS, &d, sizeof(d)), 0);
	expect(t, "... DR0 kept across a vCPU switch", d.db[0], 0x1000);
	expect(t, "... DR3 kept", d.db[3], 0xdead000);
	expect(t, "... DR7 kept", d.dr7, 0x401);
	d.flags = 1;
	expect(t, "KVM_SET_DEBUGREGS with flags is EINVAL",
	       vcpu_io(vm, 1, KVM_SET_DEBUGREGS, &d, sizeof(d)), -HV_EINVAL);
	d.flags = 0;
	d.dr7 = 1ull << 40;
	expect(t, "KVM_SET_DEBUGREGS with DR7 bits above 31 is EINVAL",
	       vcpu_io(vm, 1, KVM_SET_DEBUGREGS, &d, sizeof(d)), -HV_EINVAL);

	expect(t, "KVM_GET_VCPU_EVENTS", vcpu_io(vm, 1, KVM_GET_VCPU_EVENTS, &e, sizeof(e)), 0);
	expect(t, "a new vCPU has no event",
	       e.exception.injected | e.interrupt.injected | e.nmi.pending, 0);
	e.exception.injected = 1;
	e.exception.nr = 13;
	e.exception.has_error_code = 1;
	e.exception.error_code = 0x18;
	e.nmi.pending = 1;
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	expect(t, "KVM_SET_VCPU_EVENTS", vcpu_io(vm, 1, KVM_SET_VCPU_EVENTS, &e, sizeof(e)), 0);
	memset(&e, 0, sizeof(e));
	expect(t, "KVM_GET_VCPU_EVENTS again", vcpu_io(vm, 1, KVM_GET_VCPU_EVENTS, &e, sizeof(e)),
	       0);
	expect(t, "... #GP(0x18) injected",
	       e.exception.injected && e.exception.nr == 13 && e.exception.has_error_code &&
		   e.exception.error_code == 0x18,
	       1);
	expect(t, "... NMI pending", e.nmi.pending, 1);
	e.exception.nr = 2;
	expect(t, "KVM_SET_VCPU_EVENTS with exception 2 (NMI) is EINVAL",
	       vcpu_io(vm, 1, KVM_SET_VCPU_EVENTS, &e, sizeof(e)), -HV_EINVAL);
	e.exception.nr = 13;
	e.flags = KVM_VCPUEVENT_VALID_PAYLOAD;
	expect(t, "KVM_SET_VCPU_EVENTS with a payload (not enabled) is EINVAL",
	       vcpu_io(vm, 1, KVM_SET_VCPU_EVENTS, &e, sizeof(e)), -HV_EINVAL);
	memset(&e, 0, sizeof(e));
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	expect(t, "KVM_SET_VCPU_EVENTS clearing everything",
	       vcpu_io(vm, 1, KVM_SET_VCPU_EVENTS, &e, sizeof(e)), 0);

	expect(t, "KVM_ENABLE_CAP on a vCPU is EINVAL",
	       vcpu_io(vm, 1, KVM_ENABLE_CAP, &cap, sizeof(cap)), -HV_EINVAL);
	expect(t, "KVM_ENABLE_CAP on a VM is EINVAL", vmio(vm, KVM_ENABLE_CAP, &cap, sizeof(cap)),
	       -HV_EINVAL);
}

/* The extension sets' rules that need no guest code. */
static void sync_checks(struct tally *t, long vm)
{
	struct kvm_run *run = kvm_api_run_page(vm, 1);
	struct kvm_regs regs;

	run->immediate_exit = 1;
	run->kvm_valid_regs = HV_SYNC_X86_MSRS;
	run->s.hv.msrs.nmsrs = HV_SYNC_REGS_NUM_MSRS + 1;
	expect(t, "sync regs: 9 MSRs is E2BIG", vcpu_io(vm, 1, KVM_RUN, NULL, 0), -HV_E2BIG);
	run->kvm_valid_regs = 0;
	run->kvm_dirty_regs = HV_SYNC_X86_MSRS;
	run->s.hv.msrs.nmsrs = 0;
	expect(t, "sync regs: loading 0 MSRs is EINVAL", vcpu_io(vm, 1, KVM_RUN, NULL, 0),
	       -HV_EINVAL);
	run->s.hv.msrs.nmsrs = 1;
	run->s.hv.msrs.entries[0].index = 0x174; /* IA32_SYSENTER_CS */
	run->s.hv.msrs.entries[0].data = 0x1234;
	run->kvm_valid_regs = HV_SYNC_X86_MSRS | HV_SYNC_X86_FPU | HV_SYNC_X86_DEBUGREGS |
			      KVM_SYNC_X86_EVENTS | KVM_SYNC_X86_REGS;
	run->s.hv.msrs.entries[0].data = 0x1234;
	expect(t, "sync regs: one MSR loaded and stored", vcpu_io(vm, 1, KVM_RUN, NULL, 0),
	       -HV_EINTR);
	expect(t, "... its value reported", run->s.hv.msrs.entries[0].data, 0x1234);
	expect(t, "... kvm_dirty_regs cleared", run->kvm_dirty_regs, 0);
	expect(t, "... the FPU set stored", run->s.hv.fpu.fcw, 0x27f);
	expect(t, "... the debug set stored", run->s.hv.debugregs.db[0], 0x1000);
	run->s.hv.msrs.entries[0].index = 0xdeadbeef;
	run->kvm_dirty_regs = HV_SYNC_X86_MSRS;
	expect(t, "sync regs: an MSR that cannot be set is EINVAL",
	       vcpu_io(vm, 1, KVM_RUN, NULL, 0), -HV_EINVAL);
	run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	run->kvm_valid_regs = 0;
	run->s.regs.regs.rip = 0x7777;
	run->s.regs.regs.rflags = 2;
	expect(t, "sync regs: RIP loaded", vcpu_io(vm, 1, KVM_RUN, NULL, 0), -HV_EINTR);
	vcpu_io(vm, 1, KVM_GET_REGS, &regs, sizeof(regs));
	expect(t, "... and read back by KVM_GET_REGS", regs.rip, 0x7777);
	run->kvm_dirty_regs = 0;
	run->immediate_exit = 0;
}

static void vm_checks(struct tally *t)
{
	struct kvm_sregs sregs;
	struct kvm_run *run;
	uint64_t id;
	long vm;

	expect(t, "KVM_CAP_USER_MEMORY", sys(KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY), 1);
	expect(t, "KVM_CAP_NR_MEMSLOTS", sys(KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS),
	       VM_MAX_SLOTS);
	expect(t, "KVM_CAP_SYNC_REGS is the three upstream sets and the three extensions",
	       sys(KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS),
	       KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS |
		   HV_SYNC_X86_DEBUGREGS | HV_SYNC_X86_FPU | HV_SYNC_X86_MSRS);
	expect(t, "KVM_CAP_VCPU_EVENTS", sys(KVM_CHECK_EXTENSION, KVM_CAP_VCPU_EVENTS), 1);
	expect(t, "KVM_CAP_DEBUGREGS", sys(KVM_CHECK_EXTENSION, KVM_CAP_DEBUGREGS), 1);
	expect(t, "KVM_CREATE_VM type 1 is EINVAL", sys(KVM_CREATE_VM, 1), -HV_EINVAL);
	vm = sys(KVM_CREATE_VM, 0);
	expect(t, "KVM_CREATE_VM gives a handle", vm > 0, 1);
	if (vm <= 0)
		return;
	expect(t, "memory slot 0 created", region(vm, 0, 0, 0, 1 << 20), 0);
	expect(t, "overlapping slot is EEXIST", region(vm, 1, 0, 0x80000, 1 << 20), -HV_EEXIST);
	expect(t, "unaligned slot is EINVAL", region(vm, 1, 0, 0x200100, 4096), -HV_EINVAL);
	expect(t, "slot number out of range is EINVAL", region(vm, VM_MAX_SLOTS, 0, 0x400000, 4096),
	       -HV_EINVAL);
	expect(t, "unknown slot flag is EINVAL", region(vm, 1, 0x80, 0x400000, 4096), -HV_EINVAL);
	expect(t, "wrapping slot is EINVAL", region(vm, 1, 0, ~0xfffull, 0x2000), -HV_EINVAL);
	expect(t, "read-only slot created", region(vm, 1, KVM_MEM_READONLY, 0x400000, 4096), 0);
	expect(t, "resizing a slot is EINVAL", region(vm, 1, 0, 0x400000, 8192), -HV_EINVAL);
	/* __kvm_set_memory_region(): READONLY cannot change on a move. */
	expect(t, "moving a read-only slot without the flag is EINVAL",
	       region(vm, 1, 0, 0x500000, 4096), -HV_EINVAL);
	expect(t, "moving a slot", region(vm, 1, KVM_MEM_READONLY, 0x500000, 4096), 0);
	expect(t, "deleting a slot", region(vm, 1, 0, 0, 0), 0);
	expect(t, "a short record is EFAULT",
	       kvm_api_ioctl(KVM_TARGET_VM, vm, 0, KVM_SET_USER_MEMORY_REGION, &sregs, 8),
	       -HV_EFAULT);
	id = VM_MAX_VCPUS;
	expect(t, "vCPU id out of range is EINVAL", vmio(vm, KVM_CREATE_VCPU, &id, sizeof(id)),
	       -HV_EINVAL);
	id = 1;
	expect(t, "KVM_CREATE_VCPU 1", vmio(vm, KVM_CREATE_VCPU, &id, sizeof(id)), 1);
	expect(t, "the same vCPU twice is EEXIST", vmio(vm, KVM_CREATE_VCPU, &id, sizeof(id)),
	       -HV_EEXIST);
	expect(t, "a request on a missing vCPU is EBADF",
	       kvm_api_ioctl(KVM_TARGET_VCPU, vm, 3, KVM_GET_SREGS, &sregs, sizeof(sregs)),
	       -HV_EBADF);
	expect(t, "KVM_GET_SREGS",
	       kvm_api_ioctl(KVM_TARGET_VCPU, vm, 1, KVM_GET_SREGS, &sregs, sizeof(sregs)), 0);
	sregs.cr4 |= 1u << 13; /* VMXE: hidden from guests */
	expect(t, "KVM_SET_SREGS with CR4.VMXE is EINVAL",
	       kvm_api_ioctl(KVM_TARGET_VCPU, vm, 1, KVM_SET_SREGS, &sregs, sizeof(sregs)),
	       -HV_EINVAL);
	sregs.cr4 &= ~(1u << 13);
	sregs.cs.l = 1;
	expect(t, "KVM_SET_SREGS with CS.L outside long mode is EINVAL",
	       kvm_api_ioctl(KVM_TARGET_VCPU, vm, 1, KVM_SET_SREGS, &sregs, sizeof(sregs)),
	       -HV_EINVAL);
	sregs.cs.l = 0;
	sregs.efer |= 1u << 10; /* LMA */
	expect(t, "KVM_SET_SREGS with EFER.LMA and paging off is EINVAL",
	       kvm_api_ioctl(KVM_TARGET_VCPU, vm, 1, KVM_SET_SREGS, &sregs, sizeof(sregs)),
	       -HV_EINVAL);
	sregs.efer |= 1u << 8;	 /* LME */
	sregs.cr0 |= 0x80000001; /* PG, PE */
	expect(t, "KVM_SET_SREGS in long mode without CR4.PAE is EINVAL",
	       kvm_api_ioctl(KVM_TARGET_VCPU, vm, 1, KVM_SET_SREGS, &sregs, sizeof(sregs)),
	       -HV_EINVAL);
	sregs.efer &= ~(1u << 10 | 1u << 8);
	sregs.cr0 = (sregs.cr0 & ~0xe0000000ull) | 1u << 29; /* NW without CD */
	expect(t, "KVM_SET_SREGS with CR0.NW but not CD is EINVAL",
	       kvm_api_ioctl(KVM_TARGET_VCPU, vm, 1, KVM_SET_SREGS, &sregs, sizeof(sregs)),
	       -HV_EINVAL);
	expect(t, "an unknown VM request is ENOTTY, as on a VM fd",
	       kvm_api_ioctl(KVM_TARGET_VM, vm, 0, KVM_GET_REGS, &sregs, sizeof(struct kvm_regs)),
	       -HV_ENOTTY);
	expect(t, "an unknown vCPU request is EINVAL, as on a vCPU fd",
	       kvm_api_ioctl(KVM_TARGET_VCPU, vm, 1, KVM_CREATE_VM, &id, sizeof(id)), -HV_EINVAL);
	run = kvm_api_run_page(vm, 1);
	run->kvm_dirty_regs = 1u << 3; /* not offered */
	expect(t, "KVM_RUN with unsupported kvm_dirty_regs is EINVAL",
	       kvm_api_ioctl(KVM_TARGET_VCPU, vm, 1, KVM_RUN, NULL, 0), -HV_EINVAL);
	run->kvm_dirty_regs = 0;
	run->immediate_exit = 1;
	run->exit_reason = KVM_EXIT_HLT;
	expect(t, "KVM_RUN with immediate_exit is EINTR",
	       kvm_api_ioctl(KVM_TARGET_VCPU, vm, 1, KVM_RUN, NULL, 0), -HV_EINTR);
	/* kvm_arch_vcpu_ioctl_run() returns -EINTR without writing exit_reason. */
	expect(t, "... and exit reason untouched", run->exit_reason, KVM_EXIT_HLT);
	msr_checks(t, vm);
	cpuid_checks(t, vm);
	state_checks(t, vm);
	sync_checks(t, vm);
	expect(t, "closing the VM", kvm_api_destroy_vm(vm), 0);
	expect(t, "the closed handle is EBADF", region(vm, 0, 0, 0, 4096), -HV_EBADF);
}

int kvm_api_selftest(void)
{
	struct tally t = {0, 0};

	system_checks(&t);
	if (vmx_enabled())
		vm_checks(&t);
	else
		no_vmx_checks(&t);
	log_info("kvmapi: %u passed, %u failed", t.pass, t.fail);
	return t.fail ? -1 : 0;
}
