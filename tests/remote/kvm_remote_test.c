// SPDX-License-Identifier: MIT
/*
 * kvm_remote_test: the hypervisor's KVM interface, end to end over the
 * channel, in the manner of Linux's KVM selftests.
 *
 * The program is an ordinary KVM user built on libhvkvm: it connects
 * (-c fd:N from the scenario hook, or any WHERE hvk_open() takes), creates
 * VMs whose memory is a local page-aligned buffer registered with
 * KVM_SET_USER_MEMORY_REGION, loads small real-mode guest blobs
 * (tests/remote/g_*.S, linked in by blobs.S) at 0:G_LOAD and checks what
 * the guest does and what each ioctl answers. Every case prints one line,
 *
 *	PASS name
 *	FAIL name: why
 *	SKIP name: reason
 *
 * and the run ends with "N passed, N failed, N skipped" (exit status 1 if
 * anything failed). Without VT-x (HVW_HELLO_FLAG_VMX clear) the system
 * cases run and every VM-level case is skipped.
 *
 * Every KVM_RUN is a round trip on the channel, so the cases keep their
 * runs few and turn off the library's whole-memory pull after each run
 * (hvk_set_sync(HVK_SYNC_BEFORE_RUN)); the guest's results are read with
 * hvk_mem_read(). Only the memory-coherence case pulls everything.
 *
 * Expected answers are Linux's (6.1 for KVM_CAP_SYNC_REGS; the CR0 rules
 * of KVM_SET_SREGS are those Linux enforces since 6.5) and this
 * hypervisor's documented extension sets (abi/kvm_x86.h).
 *
 * --bench N runs the I/O-emulation and MSR benchmarks instead (see bench()).
 */
#include <errno.h>
#include <fnmatch.h>
#include <fnmatch.h>
#include <getopt.h>
#include <time.h>

#include "tests/remote/harness.h"

static int t_handshake(void)
{
	const char *id = hvk_identity(H);
	uint64_t caps = hvk_caps(H);

	CHECK(hvk_protocol_version(H) == HVW_VERSION, "protocol version %u, expected %u",
	      hvk_protocol_version(H), HVW_VERSION);
	CHECK(id && *id, "empty identity");
	CHECK(caps & HVW_CAP_KVM_IOCTL, "caps 0x%" PRIx64 " lack HVW_CAP_KVM_IOCTL", caps);
	CHECK(caps & HVW_CAP_MEMORY, "caps 0x%" PRIx64 " lack HVW_CAP_MEMORY", caps);
	printf("# identity '%s', flags 0x%x (VT-x %s), caps 0x%" PRIx64 "\n", id, hvk_flags(H),
	       VMX ? "present" : "absent", caps);
	return T_PASS;
}

static int t_api_version(void)
{
	int kvm2 = hvk_kvm_fd(H);

	EQUALS("KVM_GET_API_VERSION", ioc_int(KVM, KVM_GET_API_VERSION, 0), KVM_API_VERSION);
	CHECK(kvm2 >= 0, "a second hvk_kvm_fd: %s", en(errno));
	EQUALS("KVM_GET_API_VERSION (second /dev/kvm fd)", ioc_int(kvm2, KVM_GET_API_VERSION, 0),
	       KVM_API_VERSION);
	hvk_close_fd(H, kvm2);
	return T_PASS;
}

static int t_check_extension(void)
{
	int r;

	OK(r, "KVM_CHECK_EXTENSION 0x7fff", ioc_int(KVM, KVM_CHECK_EXTENSION, 0x7fff));
	CHECK(r == 0, "KVM_CHECK_EXTENSION of an unknown capability: %d, expected 0", r);
	OK(r, "KVM_CHECK_EXTENSION(USER_MEMORY)",
	   ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY));
	CHECK(r == (VMX ? 1 : 0), "KVM_CAP_USER_MEMORY = %d, expected %d", r, VMX ? 1 : 0);
	if (!VMX) {
		/* Documented: every capability reads 0 where nothing can run. */
		OK(r, "KVM_CHECK_EXTENSION(SYNC_REGS)",
		   ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS));
		CHECK(r == 0, "KVM_CAP_SYNC_REGS = %d without VT-x, expected 0", r);
		OK(r, "KVM_CHECK_EXTENSION(IMMEDIATE_EXIT)",
		   ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT));
		CHECK(r == 0, "KVM_CAP_IMMEDIATE_EXIT = %d without VT-x, expected 0", r);
		return T_PASS;
	}
	OK(r, "KVM_CHECK_EXTENSION(IMMEDIATE_EXIT)",
	   ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT));
	CHECK(r == 1, "KVM_CAP_IMMEDIATE_EXIT = %d, expected 1", r);
	OK(r, "KVM_CHECK_EXTENSION(NR_MEMSLOTS)",
	   ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS));
	CHECK(r >= 1, "KVM_CAP_NR_MEMSLOTS = %d", r);
	OK(r, "KVM_CHECK_EXTENSION(MAX_VCPUS)",
	   ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS));
	CHECK(r >= 1, "KVM_CAP_MAX_VCPUS = %d", r);
	return T_PASS;
}

/* Upstream's sets: with VT-x REGS, SREGS and EVENTS; without, 0. */
static int t_cap_sync_regs(void)
{
	int r;

	OK(r, "KVM_CHECK_EXTENSION(SYNC_REGS)",
	   ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS));
	printf("# KVM_CAP_SYNC_REGS = 0x%x\n", r);
	if (!VMX) {
		CHECK(r == 0, "KVM_CAP_SYNC_REGS = 0x%x without VT-x, expected 0", r);
		return T_PASS;
	}
	CHECK((r & KVM_SYNC_X86_VALID_FIELDS) == KVM_SYNC_X86_VALID_FIELDS,
	      "KVM_CAP_SYNC_REGS = 0x%x lacks 0x%lx of upstream's REGS|SREGS|EVENTS (0x%lx)", r,
	      KVM_SYNC_X86_VALID_FIELDS & ~(unsigned long)r, KVM_SYNC_X86_VALID_FIELDS);
	CHECK(!(r & ~(KVM_SYNC_X86_VALID_FIELDS | HV_SYNC_ALL)),
	      "KVM_CAP_SYNC_REGS = 0x%x has bits no set is defined for", r);
	return T_PASS;
}

static int t_cap_sync_regs_hv(void)
{
	int r;

	OK(r, "KVM_CHECK_EXTENSION(SYNC_REGS)",
	   ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS));
	CHECK((r & HV_SYNC_ALL) == HV_SYNC_ALL,
	      "KVM_CAP_SYNC_REGS = 0x%x lacks extension bits 0x%lx (DEBUGREGS 1<<16, FPU 1<<17, "
	      "MSRS 1<<18)",
	      r, HV_SYNC_ALL & ~(unsigned long)r);
	return T_PASS;
}

static int t_vcpu_mmap_size(void)
{
	int r;

	OK(r, "KVM_GET_VCPU_MMAP_SIZE", ioc_int(KVM, KVM_GET_VCPU_MMAP_SIZE, 0));
	CHECK(r % 4096 == 0, "KVM_GET_VCPU_MMAP_SIZE = %d, not whole pages", r);
	CHECK(r >= (KVM_PIO_PAGE_OFFSET + 1) * 4096,
	      "KVM_GET_VCPU_MMAP_SIZE = %d leaves no room for the PIO page (page %d)", r,
	      KVM_PIO_PAGE_OFFSET);
	CHECK(r <= HVK_RUN_MAP_SIZE, "KVM_GET_VCPU_MMAP_SIZE = %d, more than hvk_mmap maps (%d)", r,
	      HVK_RUN_MAP_SIZE);
	return T_PASS;
}

static int t_create_vm_nodev(void)
{
	ERRNO("KVM_CREATE_VM without VT-x", ioc_int(KVM, KVM_CREATE_VM, 0), ENODEV);
	return T_PASS;
}

/* ==== VM-level cases ==== */

static int t_create_vm(void)
{
	struct vm *vm;
	int r;

	TRY(vm_new(&vm));
	CHECK(hvk_is_pseudo_fd(vm->fd), "KVM_CREATE_VM returned %d, not a pseudo-fd", vm->fd);
	OK(r, "KVM_CHECK_EXTENSION on the VM fd",
	   ioc_int(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY));
	CHECK(r == 1, "KVM_CHECK_EXTENSION(USER_MEMORY) on the VM fd = %d, expected 1", r);
	return T_PASS;
}

/* ---- KVM_CAP_SYNC_REGS, upstream sets ---- */

/* The lowest bit above EVENTS that the supported mask lacks. */
static uint64_t unsupported_bit(void)
{
	uint64_t m = sync_mask();

	for (int b = 3; b < 64; b++)
		if (!(m & (1ull << b)))
			return 1ull << b;
	return 0;
}

static int t_sync_bad_valid(void)
{
	struct vcpu v;
	uint64_t bad = unsupported_bit();

	SHARED_VCPU(&v, g_outloop, 0);
	v.run->kvm_valid_regs = bad;
	RUN_REFUSED(&v, EINVAL, "KVM_RUN, kvm_valid_regs with an unsupported bit");
	v.run->kvm_valid_regs = KVM_SYNC_X86_REGS | (1ull << 63);
	RUN_REFUSED(&v, EINVAL, "KVM_RUN, kvm_valid_regs REGS | bit 63");
	v.run->kvm_valid_regs = 0;
	RUN_EXPECT(&v, 0, "KVM_RUN after clearing kvm_valid_regs");
	return T_PASS;
}

static int t_sync_bad_dirty(void)
{
	struct vcpu v;
	uint64_t bad = unsupported_bit();

	SHARED_VCPU(&v, g_outloop, 0);
	v.run->kvm_dirty_regs = bad;
	RUN_REFUSED(&v, EINVAL, "KVM_RUN, kvm_dirty_regs with an unsupported bit");
	v.run->kvm_dirty_regs = KVM_SYNC_X86_REGS | (1ull << 63);
	RUN_REFUSED(&v, EINVAL, "KVM_RUN, kvm_dirty_regs REGS | bit 63");
	v.run->kvm_dirty_regs = 0;
	return T_PASS;
}

static int t_sync_store_regs(void)
{
	struct kvm_regs regs;
	struct vcpu v;
	int r;

	NEW_VCPU(&v, g_outloop, 0);
	OK(r, "KVM_GET_REGS", ioc(v.fd, KVM_GET_REGS, &regs));
	regs.rax = 0x1234abcd;
	regs.rbx = 0xb0b0b0b0;
	OK(r, "KVM_SET_REGS", ioc(v.fd, KVM_SET_REGS, &regs));
	v.run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	RUN_EXPECT(&v, 0x1234abcd, "KVM_RUN, valid REGS");
	OK(r, "KVM_GET_REGS", ioc(v.fd, KVM_GET_REGS, &regs));
	CHECK(v.run->s.regs.regs.rip == regs.rip, "s.regs.regs.rip 0x%llx, KVM_GET_REGS 0x%llx",
	      (unsigned long long)v.run->s.regs.regs.rip, (unsigned long long)regs.rip);
	CHECK(v.run->s.regs.regs.rax == 0x1234abcd, "s.regs.regs.rax 0x%llx, expected 0x1234abcd",
	      (unsigned long long)v.run->s.regs.regs.rax);
	CHECK(v.run->s.regs.regs.rbx == 0xb0b0b0b0, "s.regs.regs.rbx 0x%llx, expected 0xb0b0b0b0",
	      (unsigned long long)v.run->s.regs.regs.rbx);
	CHECK(!memcmp(&v.run->s.regs.regs, &regs, sizeof(regs)),
	      "s.regs.regs differs from KVM_GET_REGS");
	return T_PASS;
}

static int t_sync_load_regs(void)
{
	struct kvm_regs regs;
	struct vcpu v;
	int r;

	NEW_VCPU(&v, g_outloop, 0);
	v.run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	RUN_EXPECT(&v, 0, "first KVM_RUN");
	v.run->s.regs.regs.rax = 0x5eed0001;
	v.run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	RUN_EXPECT(&v, 0x5eed0001, "KVM_RUN, dirty REGS with RAX 0x5eed0001");
	CHECK(!(v.run->kvm_dirty_regs & KVM_SYNC_X86_REGS),
	      "kvm_dirty_regs still has REGS after the run (0x%llx): Linux clears what it loaded",
	      (unsigned long long)v.run->kvm_dirty_regs);
	OK(r, "KVM_GET_REGS", ioc(v.fd, KVM_GET_REGS, &regs));
	CHECK(regs.rax == 0x5eed0001, "KVM_GET_REGS rax 0x%llx after the dirty load",
	      (unsigned long long)regs.rax);
	/* Loaded without being asked to store: dirty alone works too. */
	v.run->kvm_valid_regs = 0;
	regs.rax = 0;
	memcpy(&v.run->s.regs.regs, &regs, sizeof(regs));
	v.run->s.regs.regs.rax = 0x5eed0002;
	v.run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	RUN_EXPECT(&v, 0x5eed0002, "KVM_RUN, dirty REGS without valid");
	return T_PASS;
}

/* RIP through the sync set: starting at OL_AFTER skips the MOV at OL_SKIP. */
static int t_sync_load_rip(void)
{
	struct kvm_regs regs;
	struct vcpu v;
	int r;

	NEW_VCPU(&v, g_outloop, 0);
	OK(r, "KVM_GET_REGS", ioc(v.fd, KVM_GET_REGS, &regs));
	regs.rip = G_LOAD + OL_SKIP;
	regs.rax = 0x2222;
	regs.rdx = G_PORT;
	memcpy(&v.run->s.regs.regs, &regs, sizeof(regs));
	v.run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	RUN_EXPECT(&v, OL_SKIPPED, "KVM_RUN at OL_SKIP (the MOV runs)");
	/*
	 * The OUT at OL_AFTER waits for its completion; a new RIP loaded
	 * through the sync set drops it (complete_fast_pio_out), so the guest
	 * runs from OL_LOOP with the loaded RAX.
	 */
	regs.rip = G_LOAD + OL_LOOP;
	memcpy(&v.run->s.regs.regs, &regs, sizeof(regs));
	v.run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	RUN_EXPECT(&v, 0x2222, "KVM_RUN with RIP and RAX loaded through kvm_run.s");
	return T_PASS;
}

static int t_sync_store_sregs(void)
{
	struct kvm_sregs sr;
	struct vcpu v;
	int r;

	NEW_VCPU(&v, g_outloop, 0);
	v.run->kvm_valid_regs = KVM_SYNC_X86_SREGS;
	RUN_EXPECT(&v, 0, "KVM_RUN, valid SREGS");
	OK(r, "KVM_GET_SREGS", ioc(v.fd, KVM_GET_SREGS, &sr));
	CHECK(v.run->s.regs.sregs.cr0 == sr.cr0, "s.regs.sregs.cr0 0x%llx, KVM_GET_SREGS 0x%llx",
	      (unsigned long long)v.run->s.regs.sregs.cr0, (unsigned long long)sr.cr0);
	CHECK(v.run->s.regs.sregs.cs.limit == 0xffff && v.run->s.regs.sregs.cs.base == 0,
	      "s.regs.sregs.cs limit 0x%x base 0x%llx, not the real-mode CS set",
	      v.run->s.regs.sregs.cs.limit, (unsigned long long)v.run->s.regs.sregs.cs.base);
	CHECK(!memcmp(&v.run->s.regs.sregs, &sr, sizeof(sr)),
	      "s.regs.sregs differs from KVM_GET_SREGS");
	return T_PASS;
}

static int t_sync_load_sregs(void)
{
	struct kvm_sregs sr;
	struct vcpu v;
	int r;

	NEW_VCPU(&v, g_sregs, 0);
	put32(v.vm->mem, G_DATA, 0xaaaa0001);
	put32(v.vm->mem, G_DATA + 0x100, 0x5151d5d5);
	OK(r, "KVM_GET_SREGS", ioc(v.fd, KVM_GET_SREGS, &sr));
	sr.ds.selector = 0x10;
	sr.ds.base = 0x100;
	sr.cr2 = 0xc2c2f00d;
	memcpy(&v.run->s.regs.sregs, &sr, sizeof(sr));
	v.run->kvm_dirty_regs = KVM_SYNC_X86_SREGS;
	RUN_EXPECT(&v, 0x5151d5d5,
		   "KVM_RUN, dirty SREGS with DS base 0x100 (guest reads DS:G_DATA)");
	CHECK(!(v.run->kvm_dirty_regs & KVM_SYNC_X86_SREGS),
	      "kvm_dirty_regs still has SREGS after the run (0x%llx)",
	      (unsigned long long)v.run->kvm_dirty_regs);
	RUN_EXPECT(&v, 0xc2c2f00d, "second KVM_RUN (guest reads CR2)");
	OK(r, "KVM_GET_SREGS", ioc(v.fd, KVM_GET_SREGS, &sr));
	CHECK(sr.ds.base == 0x100 && sr.ds.selector == 0x10,
	      "KVM_GET_SREGS ds base 0x%llx selector 0x%x after the dirty load",
	      (unsigned long long)sr.ds.base, sr.ds.selector);
	return T_PASS;
}

static int t_sync_store_events(void)
{
	struct kvm_vcpu_events ev;
	struct vcpu v;
	int r;

	NEED_SYNC(KVM_SYNC_X86_EVENTS, "KVM_SYNC_X86_EVENTS");
	NEW_VCPU(&v, g_outloop, 0);
	v.run->kvm_valid_regs = KVM_SYNC_X86_EVENTS;
	RUN_EXPECT(&v, 0, "KVM_RUN, valid EVENTS");
	OK(r, "KVM_GET_VCPU_EVENTS", ioc(v.fd, KVM_GET_VCPU_EVENTS, &ev));
	CHECK(!memcmp(&v.run->s.regs.events, &ev, sizeof(ev)),
	      "s.regs.events differs from KVM_GET_VCPU_EVENTS (flags 0x%x vs 0x%x)",
	      v.run->s.regs.events.flags, ev.flags);
	return T_PASS;
}

/* An NMI made pending through the EVENTS set reaches the guest's vector 2. */
static int t_sync_load_events(void)
{
	struct kvm_vcpu_events ev;
	struct vcpu v;

	NEED_SYNC(KVM_SYNC_X86_EVENTS, "KVM_SYNC_X86_EVENTS");
	NEW_VCPU(&v, g_outloop, 0);
	memset(&ev, 0, sizeof(ev));
	ev.nmi.pending = 1;
	ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	memcpy(&v.run->s.regs.events, &ev, sizeof(ev));
	v.run->kvm_dirty_regs = KVM_SYNC_X86_EVENTS;
	RUN_EXPECT(&v, G_MARK_VEC | 2, "KVM_RUN, dirty EVENTS with an NMI pending");
	return T_PASS;
}

/* ---- this hypervisor's extension sets ---- */

static int t_sync_msrs_load(void)
{
	struct hv_sync_msrs *m;
	struct vcpu v;

	NEED_SYNC(HV_SYNC_X86_MSRS, "HV_SYNC_X86_MSRS");
	NEW_VCPU(&v, g_msr, 0);
	m = &v.run->s.hv.msrs;
	memset(m, 0, sizeof(*m));
	m->nmsrs = 1;
	m->entries[0].index = MSR_SYSENTER_EIP;
	m->entries[0].data = 0xcafe1234;
	v.run->kvm_dirty_regs = HV_SYNC_X86_MSRS;
	RUN_EXPECT(&v, 0xcafe1234, "KVM_RUN, dirty MSRS SYSENTER_EIP 0xcafe1234 (guest RDMSRs it)");
	return T_PASS;
}

static int t_sync_msrs_store(void)
{
	struct kvm_msr_entry *e;
	struct hv_sync_msrs *m;
	struct vcpu v;

	NEED_SYNC(HV_SYNC_X86_MSRS, "HV_SYNC_X86_MSRS");
	NEW_VCPU(&v, g_msr, 0);
	m = &v.run->s.hv.msrs;
	memset(m, 0, sizeof(*m));
	m->nmsrs = 3;
	m->entries[0].index = MSR_SYSENTER_CS;
	m->entries[1].index = MSR_SYSENTER_ESP;
	m->entries[2].index = MSR_SYSENTER_EIP;
	m->entries[2].data = 0x77;
	v.run->kvm_valid_regs = HV_SYNC_X86_MSRS;
	RUN_EXPECT(&v, 0, "KVM_RUN, valid MSRS");
	e = m->entries;
	CHECK(m->nmsrs == 3, "s.hv.msrs.nmsrs %u after the store, expected 3", m->nmsrs);
	CHECK(e[0].index == MSR_SYSENTER_CS && e[1].index == MSR_SYSENTER_ESP &&
		  e[2].index == MSR_SYSENTER_EIP,
	      "the store changed the indices: 0x%x 0x%x 0x%x", e[0].index, e[1].index, e[2].index);
	CHECK(e[0].data == GM_CS_VAL, "SYSENTER_CS reported 0x%llx, the guest wrote 0x%x",
	      (unsigned long long)e[0].data, GM_CS_VAL);
	CHECK(e[1].data == GM_ESP_VAL, "SYSENTER_ESP reported 0x%llx, the guest wrote 0x%x",
	      (unsigned long long)e[1].data, GM_ESP_VAL);
	CHECK(e[2].data == 0, "SYSENTER_EIP reported 0x%llx, expected 0 (never written)",
	      (unsigned long long)e[2].data);
	return T_PASS;
}

static int t_sync_msrs_e2big(void)
{
	struct vcpu v;

	NEED_SYNC(HV_SYNC_X86_MSRS, "HV_SYNC_X86_MSRS");
	SHARED_VCPU(&v, g_msr, 0);
	memset(&v.run->s.hv.msrs, 0, sizeof(v.run->s.hv.msrs));
	v.run->s.hv.msrs.nmsrs = HV_SYNC_REGS_NUM_MSRS + 1;
	for (int i = 0; i < HV_SYNC_REGS_NUM_MSRS; i++)
		v.run->s.hv.msrs.entries[i].index = MSR_SYSENTER_CS;
	v.run->kvm_valid_regs = HV_SYNC_X86_MSRS;
	RUN_REFUSED(&v, E2BIG, "KVM_RUN, valid MSRS with nmsrs 9");
	v.run->kvm_valid_regs = 0;
	v.run->kvm_dirty_regs = HV_SYNC_X86_MSRS;
	RUN_REFUSED(&v, E2BIG, "KVM_RUN, dirty MSRS with nmsrs 9");
	v.run->s.hv.msrs.nmsrs = 0xffffffff;
	RUN_REFUSED(&v, E2BIG, "KVM_RUN, dirty MSRS with nmsrs 0xffffffff");
	v.run->kvm_dirty_regs = 0;
	return T_PASS;
}

static int t_sync_msrs_zero(void)
{
	struct vcpu v;

	NEED_SYNC(HV_SYNC_X86_MSRS, "HV_SYNC_X86_MSRS");
	SHARED_VCPU(&v, g_msr, 0);
	memset(&v.run->s.hv.msrs, 0, sizeof(v.run->s.hv.msrs));
	v.run->kvm_dirty_regs = HV_SYNC_X86_MSRS;
	RUN_REFUSED(&v, EINVAL, "KVM_RUN, dirty MSRS with nmsrs 0");
	v.run->kvm_dirty_regs = 0;
	return T_PASS;
}

/* What g_fpu loads from G_DATA, and the XMM patterns. */
#define FPU_FCW_IN	0x027f /* loaded by the program */
#define FPU_MXCSR_IN	0x7f80
#define FPU_FCW_GUEST	0x0f7f /* loaded by the guest */
#define FPU_MXCSR_GUEST 0x3f80

static void xmm_pattern(uint8_t *x, uint8_t base)
{
	for (int i = 0; i < 16; i++)
		x[i] = (uint8_t)(base + i);
}

static void fpu_guest_data(struct vcpu *v)
{
	put16(v->vm->mem, GF_FCW_SRC, FPU_FCW_GUEST);
	put32(v->vm->mem, GF_MXCSR_SRC, FPU_MXCSR_GUEST);
	xmm_pattern(v->vm->mem + GF_XMM1_SRC, 0xc0);
}

static void fpu_state(struct kvm_fpu *f)
{
	memset(f, 0, sizeof(*f));
	f->fcw = FPU_FCW_IN;
	f->mxcsr = FPU_MXCSR_IN;
	xmm_pattern(f->xmm[0], 0xa0);
}

/* The guest stored the state it was entered with at G_RESULT: is it @f's? */
static int fpu_check_stored(struct vcpu *v, const struct kvm_fpu *f, const char *how)
{
	uint8_t res[0x20];
	uint16_t fcw;
	uint32_t mxcsr;

	TRY(read_guest(v, G_RESULT, res, sizeof(res)));
	memcpy(&fcw, res + (GF_FCW_AT - G_RESULT), 2);
	memcpy(&mxcsr, res + (GF_MXCSR_AT - G_RESULT), 4);
	CHECK(fcw == f->fcw, "%s: the guest's FNSTCW stored 0x%x, expected 0x%x", how, fcw, f->fcw);
	CHECK(mxcsr == f->mxcsr, "%s: the guest's STMXCSR stored 0x%x, expected 0x%x", how, mxcsr,
	      f->mxcsr);
	CHECK(!memcmp(res + (GF_XMM0_AT - G_RESULT), f->xmm[0], 16),
	      "%s: the guest's XMM0 differs from the one loaded", how);
	return T_PASS;
}

static int t_sync_fpu_load(void)
{
	struct kvm_fpu f;
	struct vcpu v;

	NEED_SYNC(HV_SYNC_X86_FPU, "HV_SYNC_X86_FPU");
	NEW_VCPU(&v, g_fpu, CR4_OSFXSR);
	fpu_guest_data(&v);
	TRY(clear_guest(&v, G_RESULT, 0x20));
	fpu_state(&f);
	memcpy(&v.run->s.hv.fpu, &f, sizeof(f));
	v.run->kvm_dirty_regs = HV_SYNC_X86_FPU;
	RUN_EXPECT(&v, GF_DONE, "KVM_RUN, dirty FPU");
	return fpu_check_stored(&v, &f, "dirty FPU set");
}

static int t_sync_fpu_store(void)
{
	struct kvm_fpu *f;
	struct vcpu v;
	uint8_t want[16];

	NEED_SYNC(HV_SYNC_X86_FPU, "HV_SYNC_X86_FPU");
	NEW_VCPU(&v, g_fpu, CR4_OSFXSR);
	fpu_guest_data(&v);
	v.run->kvm_valid_regs = HV_SYNC_X86_FPU;
	RUN_EXPECT(&v, GF_DONE, "KVM_RUN, valid FPU");
	f = &v.run->s.hv.fpu;
	xmm_pattern(want, 0xc0);
	CHECK(f->fcw == FPU_FCW_GUEST, "s.hv.fpu.fcw 0x%x, the guest loaded 0x%x", f->fcw,
	      FPU_FCW_GUEST);
	CHECK(f->mxcsr == FPU_MXCSR_GUEST, "s.hv.fpu.mxcsr 0x%x, the guest loaded 0x%x", f->mxcsr,
	      FPU_MXCSR_GUEST);
	CHECK(!memcmp(f->xmm[1], want, 16), "s.hv.fpu.xmm[1] differs from what the guest loaded");
	return T_PASS;
}

static void debugregs_values(struct kvm_debugregs *d)
{
	memset(d, 0, sizeof(*d));
	d->db[0] = 0x11110000;
	d->db[1] = 0x22220000;
	d->db[2] = 0x33330000;
	d->db[3] = 0x44440000;
	d->dr6 = 0xffff0ff0;
	d->dr7 = 0x00d00400; /* RW/LEN fields set, no breakpoint enabled */
}

static int debugregs_compare(const struct kvm_debugregs *got, const struct kvm_debugregs *want,
			     const char *what)
{
	for (int i = 0; i < 4; i++)
		CHECK(got->db[i] == want->db[i], "%s: DR%d 0x%llx, expected 0x%llx", what, i,
		      (unsigned long long)got->db[i], (unsigned long long)want->db[i]);
	CHECK(got->dr7 == want->dr7, "%s: DR7 0x%llx, expected 0x%llx", what,
	      (unsigned long long)got->dr7, (unsigned long long)want->dr7);
	return T_PASS;
}

static int t_sync_debugregs_load(void)
{
	struct kvm_debugregs d, got;
	struct vcpu v;
	int r;

	NEED_SYNC(HV_SYNC_X86_DEBUGREGS, "HV_SYNC_X86_DEBUGREGS");
	NEW_VCPU(&v, g_dr, 0);
	debugregs_values(&d);
	memcpy(&v.run->s.hv.debugregs, &d, sizeof(d));
	v.run->kvm_dirty_regs = HV_SYNC_X86_DEBUGREGS;
	RUN_EXPECT(&v, 0x11110000, "KVM_RUN, dirty DEBUGREGS (guest reads DR0)");
	OK(r, "KVM_GET_DEBUGREGS", ioc(v.fd, KVM_GET_DEBUGREGS, &got));
	return debugregs_compare(&got, &d, "KVM_GET_DEBUGREGS after the dirty load");
}

static int t_sync_debugregs_store(void)
{
	struct kvm_debugregs *d;
	struct vcpu v;
	uint32_t dr7;

	NEED_SYNC(HV_SYNC_X86_DEBUGREGS, "HV_SYNC_X86_DEBUGREGS");
	NEW_VCPU(&v, g_dr, 0);
	v.run->kvm_valid_regs = HV_SYNC_X86_DEBUGREGS;
	RUN_OUT(&v, &dr7, "first KVM_RUN, valid DEBUGREGS (guest reads DR0)");
	RUN_OUT(&v, &dr7, "second KVM_RUN (guest wrote DR1, reads DR7)");
	d = &v.run->s.hv.debugregs;
	CHECK(d->db[1] == GD_DR1_VAL, "s.hv.debugregs.db[1] 0x%llx, the guest wrote 0x%x",
	      (unsigned long long)d->db[1], GD_DR1_VAL);
	CHECK(d->dr7 == dr7, "s.hv.debugregs.dr7 0x%llx, the guest read 0x%x",
	      (unsigned long long)d->dr7, dr7);
	return T_PASS;
}

/* ---- vCPU state ioctls ---- */

static int t_vcpu_events(void)
{
	struct kvm_vcpu_events ev;
	struct vcpu v;
	int r;

	NEW_VCPU(&v, g_outloop, 0);
	OK(r, "KVM_GET_VCPU_EVENTS", ioc(v.fd, KVM_GET_VCPU_EVENTS, &ev));
	CHECK(!ev.exception.injected && !ev.interrupt.injected && !ev.nmi.injected &&
		  !ev.nmi.pending,
	      "a fresh vCPU has events: exception %u interrupt %u nmi %u/%u", ev.exception.injected,
	      ev.interrupt.injected, ev.nmi.injected, ev.nmi.pending);
	OK(r, "KVM_SET_VCPU_EVENTS (what GET said)", ioc(v.fd, KVM_SET_VCPU_EVENTS, &ev));
	/* An injected #UD is delivered through the real-mode IVT at entry. */
	memset(&ev, 0, sizeof(ev));
	ev.exception.injected = 1;
	ev.exception.nr = 6;
	OK(r, "KVM_SET_VCPU_EVENTS (#UD injected)", ioc(v.fd, KVM_SET_VCPU_EVENTS, &ev));
	OK(r, "KVM_GET_VCPU_EVENTS", ioc(v.fd, KVM_GET_VCPU_EVENTS, &ev));
	CHECK(ev.exception.injected && ev.exception.nr == 6,
	      "KVM_GET_VCPU_EVENTS after setting #UD: injected %u nr %u", ev.exception.injected,
	      ev.exception.nr);
	RUN_EXPECT(&v, G_MARK_VEC | 6, "KVM_RUN with #UD injected");
	return T_PASS;
}

static int t_debugregs(void)
{
	struct kvm_debugregs d, got;
	struct vcpu v;
	int r;

	NEW_VCPU(&v, g_dr, 0);
	OK(r, "KVM_GET_DEBUGREGS", ioc(v.fd, KVM_GET_DEBUGREGS, &got));
	CHECK(got.dr7 == 0x400, "a fresh vCPU's DR7 0x%llx, expected 0x400",
	      (unsigned long long)got.dr7);
	debugregs_values(&d);
	OK(r, "KVM_SET_DEBUGREGS", ioc(v.fd, KVM_SET_DEBUGREGS, &d));
	OK(r, "KVM_GET_DEBUGREGS", ioc(v.fd, KVM_GET_DEBUGREGS, &got));
	TRY(debugregs_compare(&got, &d, "KVM_GET_DEBUGREGS"));
	RUN_EXPECT(&v, 0x11110000, "KVM_RUN (guest reads DR0)");
	RUN_EXPECT(&v, 0x00d00400, "second KVM_RUN (guest reads DR7)");
	OK(r, "KVM_GET_DEBUGREGS", ioc(v.fd, KVM_GET_DEBUGREGS, &got));
	CHECK(got.db[1] == GD_DR1_VAL, "KVM_GET_DEBUGREGS DR1 0x%llx, the guest wrote 0x%x",
	      (unsigned long long)got.db[1], GD_DR1_VAL);
	return T_PASS;
}

static int t_fpu(void)
{
	struct kvm_fpu f, got;
	struct vcpu v;
	uint8_t want[16];
	int r;

	NEW_VCPU(&v, g_fpu, CR4_OSFXSR);
	fpu_guest_data(&v);
	TRY(clear_guest(&v, G_RESULT, 0x20));
	fpu_state(&f);
	OK(r, "KVM_SET_FPU", ioc(v.fd, KVM_SET_FPU, &f));
	OK(r, "KVM_GET_FPU", ioc(v.fd, KVM_GET_FPU, &got));
	CHECK(got.fcw == f.fcw && got.mxcsr == f.mxcsr && !memcmp(got.xmm[0], f.xmm[0], 16),
	      "KVM_GET_FPU after KVM_SET_FPU: fcw 0x%x mxcsr 0x%x (set 0x%x 0x%x) or XMM0 differ",
	      got.fcw, got.mxcsr, f.fcw, f.mxcsr);
	RUN_EXPECT(&v, GF_DONE, "KVM_RUN");
	TRY(fpu_check_stored(&v, &f, "KVM_SET_FPU"));
	OK(r, "KVM_GET_FPU", ioc(v.fd, KVM_GET_FPU, &got));
	xmm_pattern(want, 0xc0);
	CHECK(got.fcw == FPU_FCW_GUEST && got.mxcsr == FPU_MXCSR_GUEST &&
		  !memcmp(got.xmm[1], want, 16),
	      "KVM_GET_FPU after the guest's loads: fcw 0x%x mxcsr 0x%x (expected 0x%x 0x%x) or "
	      "XMM1 differ",
	      got.fcw, got.mxcsr, FPU_FCW_GUEST, FPU_MXCSR_GUEST);
	return T_PASS;
}

/* Room for a kvm_msrs with @n entries. */
static struct kvm_msrs *msrs_alloc(uint32_t n)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(struct kvm_msr_entry));

	if (m)
		m->nmsrs = n;
	return m;
}

static int t_msrs(void)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[3];
	} m;
	struct vcpu v;

	NEW_VCPU(&v, g_msr, 0);
	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 3;
	m.e[0] = (struct kvm_msr_entry){.index = MSR_SYSENTER_CS, .data = 0x10};
	m.e[1] = (struct kvm_msr_entry){.index = MSR_SYSENTER_ESP, .data = 0x7000};
	m.e[2] = (struct kvm_msr_entry){.index = MSR_SYSENTER_EIP, .data = 0xfeed0000};
	EQUALS("KVM_SET_MSRS of 3", ioc(v.fd, KVM_SET_MSRS, &m), 3);
	for (int i = 0; i < 3; i++)
		m.e[i].data = 0;
	EQUALS("KVM_GET_MSRS of 3", ioc(v.fd, KVM_GET_MSRS, &m), 3);
	CHECK(m.e[0].data == 0x10 && m.e[1].data == 0x7000 && m.e[2].data == 0xfeed0000,
	      "KVM_GET_MSRS read 0x%llx 0x%llx 0x%llx", (unsigned long long)m.e[0].data,
	      (unsigned long long)m.e[1].data, (unsigned long long)m.e[2].data);
	/* The guest sees SYSENTER_EIP as set, and its WRMSRs show in GET_MSRS. */
	RUN_EXPECT(&v, 0xfeed0000, "KVM_RUN (guest RDMSRs SYSENTER_EIP)");
	m.h.nmsrs = 2;
	EQUALS("KVM_GET_MSRS of 2", ioc(v.fd, KVM_GET_MSRS, &m), 2);
	CHECK(m.e[0].data == GM_CS_VAL && m.e[1].data == GM_ESP_VAL,
	      "KVM_GET_MSRS after the guest's WRMSRs: 0x%llx 0x%llx",
	      (unsigned long long)m.e[0].data, (unsigned long long)m.e[1].data);
	return T_PASS;
}

static int t_interrupt_if0(void)
{
	struct kvm_interrupt irq = {.irq = G_IRQ_VECTOR};
	struct vcpu v;
	int r;

	NEW_VCPU(&v, g_irq, 0);
	OK(r, "KVM_INTERRUPT with IF=0", ioc(v.fd, KVM_INTERRUPT, &irq));
	RUN_EXPECT(&v, 1, "KVM_RUN with IF=0 and an interrupt queued (must not be delivered)");
	CHECK(!v.run->if_flag, "kvm_run.if_flag %u with IF=0", v.run->if_flag);
	CHECK(!v.run->ready_for_interrupt_injection,
	      "ready_for_interrupt_injection %u with IF=0 and an interrupt queued",
	      v.run->ready_for_interrupt_injection);
	RUN_EXPECT(&v, G_MARK_VEC | G_IRQ_VECTOR, "KVM_RUN after STI (the interrupt arrives)");
	return T_PASS;
}

static int t_immediate_exit(void)
{
	uint64_t rip;
	struct vcpu v;

	NEW_VCPU(&v, g_outloop, 0);
	v.run->immediate_exit = 1;
	v.run->exit_reason = KVM_EXIT_UNKNOWN;
	ERRNO("KVM_RUN with immediate_exit", hvk_ioctl(H, v.fd, KVM_RUN, 0), EINTR);
	/* kvm_arch_vcpu_ioctl_run(): -EINTR, exit_reason as it was. */
	CHECK(v.run->exit_reason == KVM_EXIT_UNKNOWN, "exit_reason %u (%s) after immediate_exit",
	      v.run->exit_reason, hvk_exit_name(v.run->exit_reason) ?: "?");
	TRY(get_rip(&v, &rip));
	CHECK(rip == G_LOAD, "the guest ran despite immediate_exit (RIP 0x%" PRIx64 ")", rip);
	v.run->immediate_exit = 0;
	RUN_EXPECT(&v, 0, "KVM_RUN after clearing immediate_exit");
	return T_PASS;
}

/*
 * Both directions, with the library's full sync: what the program writes
 * locally before KVM_RUN is what the guest reads; what the guest writes is
 * in local memory when KVM_RUN returns. Twice, with new data the second
 * time (only changed pages are pushed).
 */
static int t_memory_coherence(void)
{
	unsigned int saved = hvk_get_sync(H);
	struct vcpu v;
	uint8_t *mem;
	int rc = T_PASS;

	NEW_VCPU(&v, g_mem, 0);
	mem = v.vm->mem;
	hvk_set_sync(H, HVK_SYNC_BEFORE_RUN | HVK_SYNC_AFTER_RUN);
	for (int round = 0; round < 2 && rc == T_PASS; round++) {
		uint32_t first, want_not;
		char what[64];

		for (int i = 0; i < GMEM_LEN; i++)
			mem[G_DATA + i] = (uint8_t)(i * 7 + 0x31 + round * 0x55);
		first = get32(mem + G_DATA);
		memset(mem + G_RESULT, 0xee, GMEM_LEN + 4); /* the guest's stores overwrite it */
		if (round) {
			struct kvm_regs regs = {
			    .rip = G_LOAD, .rsp = G_STACK, .rflags = RFLAGS_FIXED};

			if (hvk_ioctl(H, v.fd, KVM_SET_REGS, &regs) < 0) {
				rc = fail("KVM_SET_REGS: %s", en(errno));
				break;
			}
		}
		snprintf(what, sizeof(what), "round %d: KVM_RUN (guest reads G_DATA)", round + 1);
		rc = run_expect(&v, first, what);
		if (rc != T_PASS)
			break;
		errno = 0;
		if (hvk_ioctl(H, v.fd, KVM_RUN, 0) < 0) {
			rc = fail("round %d: second KVM_RUN: -1/%s", round + 1, en(errno));
			break;
		}
		if (v.run->exit_reason != KVM_EXIT_HLT) {
			rc = fail("round %d: %s, expected HLT", round + 1, exit_str(v.run));
			break;
		}
		if (memcmp(mem + G_RESULT, mem + G_DATA, GMEM_LEN)) {
			int i = 0;

			while (mem[G_RESULT + i] == mem[G_DATA + i])
				i++;
			rc =
			    fail("round %d: local G_RESULT+0x%x is 0x%02x after the run, the guest "
				 "copied 0x%02x",
				 round + 1, i, mem[G_RESULT + i], mem[G_DATA + i]);
			break;
		}
		want_not = ~first;
		if (get32(mem + G_RESULT + GMEM_LEN) != want_not)
			rc =
			    fail("round %d: local dword at G_RESULT+0x%x is 0x%x, the guest stored "
				 "0x%x",
				 round + 1, GMEM_LEN, get32(mem + G_RESULT + GMEM_LEN), want_not);
	}
	hvk_set_sync(H, saved);
	return rc;
}

/* ---- errnos ---- */

static int t_err_bad_fd(void)
{
	int kvm2 = hvk_kvm_fd(H);

	ERRNO("KVM_GET_API_VERSION on fd 5 (not a pseudo-fd)", ioc_int(5, KVM_GET_API_VERSION, 0),
	      EBADF);
	ERRNO("KVM_GET_API_VERSION on an unopened pseudo-fd",
	      ioc_int(HVK_FD_BASE + HVK_FD_MAX - 1, KVM_GET_API_VERSION, 0), EBADF);
	hvk_close_fd(H, kvm2);
	ERRNO("KVM_GET_API_VERSION on a closed pseudo-fd", ioc_int(kvm2, KVM_GET_API_VERSION, 0),
	      EBADF);
	ERRNO("KVM_RUN on -1", ioc_int(-1, KVM_RUN, 0), EBADF);
	return T_PASS;
}

#define KVM_UNKNOWN_IOCTL HV_IO(KVMIO, 0xfe)

/* Linux: kvm_arch_dev_ioctl answers EINVAL for what it does not know. */
static int t_err_unknown_ioctl_system(void)
{
	ERRNO("unknown _IO(KVMIO, 0xfe) on /dev/kvm", ioc_int(KVM, KVM_UNKNOWN_IOCTL, 0), EINVAL);
	return T_PASS;
}

/* Linux: kvm_arch_vm_ioctl answers ENOTTY. */
static int t_err_unknown_ioctl_vm(void)
{
	struct vm *vm;

	VM0(vm);
	ERRNO("unknown _IO(KVMIO, 0xfe) on a VM", ioc_int(vm->fd, KVM_UNKNOWN_IOCTL, 0), ENOTTY);
	return T_PASS;
}

/* Linux: kvm_arch_vcpu_ioctl answers EINVAL. */
static int t_err_unknown_ioctl_vcpu(void)
{
	struct vcpu v;

	SHARED_VCPU(&v, g_outloop, 0);
	ERRNO("unknown _IO(KVMIO, 0xfe) on a vCPU", ioc_int(v.fd, KVM_UNKNOWN_IOCTL, 0), EINVAL);
	return T_PASS;
}

static int t_err_not_kvm_ioctl(void)
{
	/* TCGETS: not a KVM request at all; the library refuses it (ENOTTY). */
	ERRNO("TCGETS (0x5401) on /dev/kvm", ioc_int(KVM, 0x5401, 0), ENOTTY);
	return T_PASS;
}

/* Requests sent to the wrong kind of fd, with Linux's answers. */
static int t_err_wrong_target_system(void)
{
	struct kvm_regs regs = {0};

	ERRNO("KVM_GET_REGS on /dev/kvm", ioc(KVM, KVM_GET_REGS, &regs), EINVAL);
	ERRNO("KVM_CREATE_VCPU on /dev/kvm", ioc_int(KVM, KVM_CREATE_VCPU, 0), EINVAL);
	return T_PASS;
}

static int t_err_wrong_target_vm(void)
{
	struct kvm_regs regs;
	struct vm *vm;

	VM0(vm);
	ERRNO("KVM_RUN on a VM", ioc_int(vm->fd, KVM_RUN, 0), ENOTTY);
	ERRNO("KVM_GET_REGS on a VM", ioc(vm->fd, KVM_GET_REGS, &regs), ENOTTY);
	ERRNO("KVM_CREATE_VM on a VM", ioc_int(vm->fd, KVM_CREATE_VM, 0), ENOTTY);
	ERRNO("hvk_mmap of a VM fd", hvk_mmap(H, vm->fd, HVK_RUN_MAP_SIZE) == MAP_FAILED ? -1 : 0,
	      ENODEV);
	return T_PASS;
}

static int t_err_wrong_target_vcpu(void)
{
	struct kvm_userspace_memory_region r = {0};
	struct vcpu v;

	SHARED_VCPU(&v, g_outloop, 0);
	ERRNO("KVM_CREATE_VCPU on a vCPU", ioc_int(v.fd, KVM_CREATE_VCPU, 1), EINVAL);
	ERRNO("KVM_CREATE_VM on a vCPU", ioc_int(v.fd, KVM_CREATE_VM, 0), EINVAL);
	ERRNO("KVM_SET_USER_MEMORY_REGION on a vCPU", ioc(v.fd, KVM_SET_USER_MEMORY_REGION, &r),
	      EINVAL);
	return T_PASS;
}

static int region(int vm_fd, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size, void *mem)
{
	struct kvm_userspace_memory_region r = {
	    .slot = slot,
	    .flags = flags,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uint64_t)(uintptr_t)mem,
	};

	return ioc(vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

static uint8_t *scratch_mem(void)
{
	static uint8_t *p;

	if (!p) {
		p = aligned_alloc(4096, 0x10000);
		if (p)
			memset(p, 0, 0x10000);
	}
	return p;
}

static int t_err_region_unaligned(void)
{
	struct vm *vm0;
	uint8_t *m = scratch_mem();
	int vm;

	VM0(vm0);
	vm = vm0->fd;

	CHECK(m, "out of memory");
	ERRNO("slot 1, guest_phys_addr 0x10800", region(vm, 1, 0, 0x10800, 0x1000, m), EINVAL);
	ERRNO("slot 1, memory_size 0x1800", region(vm, 1, 0, 0x10000, 0x1800, m), EINVAL);
	ERRNO("slot 1, userspace_addr not page aligned", region(vm, 1, 0, 0x10000, 0x1000, m + 16),
	      EINVAL);
	ERRNO("slot 1, guest_phys_addr + memory_size wraps",
	      region(vm, 1, 0, 0xfffffffffffff000ull, 0x2000, m), EINVAL);
	return T_PASS;
}

static int t_err_region_flags(void)
{
	struct vm *vm0;
	uint8_t *m = scratch_mem();
	int vm;

	VM0(vm0);
	vm = vm0->fd;

	CHECK(m, "out of memory");
	ERRNO("slot 1, flags 1<<7", region(vm, 1, 1u << 7, 0x10000, 0x1000, m), EINVAL);
	ERRNO("slot 1, flags 1<<31", region(vm, 1, 1u << 31, 0x10000, 0x1000, m), EINVAL);
	return T_PASS;
}

static int t_err_region_overlap(void)
{
	struct vm *vm0;
	uint8_t *m = scratch_mem();
	int vm;

	VM0(vm0);
	vm = vm0->fd;

	CHECK(m, "out of memory");
	ERRNO("slot 2 over slot 0 ([0x4000, 0xc000) against [0, 0x8000))",
	      region(vm, 2, 0, 0x4000, 0x8000, m), EEXIST);
	ERRNO("slot 2 inside slot 0", region(vm, 2, 0, 0x1000, 0x1000, m), EEXIST);
	return T_PASS;
}

static int t_err_region_slot(void)
{
	uint8_t *m = scratch_mem();
	struct vm *vm;

	VM0(vm);
	CHECK(m, "out of memory");
	ERRNO("slot 40000", region(vm->fd, 40000, 0, 0x100000, 0x1000, m), EINVAL);
	return T_PASS;
}

static int t_err_region_resize(void)
{
	uint8_t *m = scratch_mem();
	struct vm *vm;

	VM0(vm);
	CHECK(m, "out of memory");
	ERRNO("slot 0 again with another size", region(vm->fd, 0, 0, 0, 0x10000, m), EINVAL);
	return T_PASS;
}

/* In a VM with room for more vCPUs (a full one answers EINVAL first, as Linux). */
static int t_err_create_vcpu_dup(void)
{
	struct vm *vm = NULL;
	int fd;

	for (int i = 0; i < nvms && !vm; i++)
		if (vms[i].nvcpus > 0 && vms[i].nvcpus < 4)
			vm = &vms[i];
	if (!vm) {
		TRY(vm_new(&vm));
		OK(fd, "KVM_CREATE_VCPU 0", ioc_int(vm->fd, KVM_CREATE_VCPU, 0));
		vm->nvcpus = 1;
	}
	ERRNO("KVM_CREATE_VCPU 0 again", ioc_int(vm->fd, KVM_CREATE_VCPU, 0), EEXIST);
	return T_PASS;
}

static int t_err_create_vcpu_id(void)
{
	struct vm *vm;

	VM0(vm);
	ERRNO("KVM_CREATE_VCPU 0x7fffffff", ioc_int(vm->fd, KVM_CREATE_VCPU, 0x7fffffffu), EINVAL);
	return T_PASS;
}

static int t_err_create_vm_type(void)
{
	ERRNO("KVM_CREATE_VM type 99", ioc_int(KVM, KVM_CREATE_VM, 99), EINVAL);
	return T_PASS;
}

static int t_err_cpuid2_e2big(void)
{
	const uint32_t n = 257; /* KVM_MAX_CPUID_ENTRIES is 256 */
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
	struct vcpu v;
	int rc;

	CHECK(c, "out of memory");
	rc = vcpu_shared(&v, BLOB(g_outloop), 0);
	if (rc == T_PASS) {
		c->nent = n;
		errno = 0;
		if (ioc(v.fd, KVM_SET_CPUID2, c) != -1 || errno != E2BIG)
			rc = fail("KVM_SET_CPUID2 with 257 entries: %s, expected -1/E2BIG",
				  errno ? en(errno) : "success");
	}
	free(c);
	return rc;
}

static int t_err_msr_index_list(void)
{
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + 256 * sizeof(uint32_t));
	bool found = false;
	uint32_t need;
	int r, e;

	CHECK(l, "out of memory");
	l->nmsrs = 1;
	errno = 0;
	r = ioc(KVM, KVM_GET_MSR_INDEX_LIST, l);
	e = errno;
	need = l->nmsrs;
	if (r != -1 || e != E2BIG) {
		free(l);
		return fail("KVM_GET_MSR_INDEX_LIST with nmsrs 1: %s, expected -1/E2BIG",
			    result_str(r, e));
	}
	if (need <= 1 || need > 256) {
		free(l);
		return fail("KVM_GET_MSR_INDEX_LIST: E2BIG, but nmsrs %u is not the count needed",
			    need);
	}
	l->nmsrs = need;
	errno = 0;
	r = ioc(KVM, KVM_GET_MSR_INDEX_LIST, l);
	e = errno;
	for (uint32_t i = 0; r == 0 && i < l->nmsrs; i++)
		found |= l->indices[i] == MSR_SYSENTER_CS;
	free(l);
	CHECK(r == 0, "KVM_GET_MSR_INDEX_LIST with nmsrs %u: %s", need, result_str(r, e));
	CHECK(found, "KVM_GET_MSR_INDEX_LIST: IA32_SYSENTER_CS (0x174) missing from %u indices",
	      need);
	return T_PASS;
}

static int t_err_set_msrs_unknown(void)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[3];
	} m;
	struct vcpu v;

	SHARED_VCPU(&v, g_msr, 0);
	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 2;
	m.e[0] = (struct kvm_msr_entry){.index = MSR_SYSENTER_CS, .data = 0x5555};
	m.e[1] = (struct kvm_msr_entry){.index = MSR_SYSENTER_ESP, .data = 0x5555};
	EQUALS("KVM_SET_MSRS {0x174, 0x175}", ioc(v.fd, KVM_SET_MSRS, &m), 2);
	m.h.nmsrs = 3;
	m.e[0] = (struct kvm_msr_entry){.index = MSR_SYSENTER_CS, .data = 0x20};
	m.e[1] = (struct kvm_msr_entry){.index = 0xc0de0001, .data = 1};
	m.e[2] = (struct kvm_msr_entry){.index = MSR_SYSENTER_ESP, .data = 0x1};
	EQUALS("KVM_SET_MSRS {0x174, unknown 0xc0de0001, 0x175}", ioc(v.fd, KVM_SET_MSRS, &m), 1);
	m.e[1].index = MSR_SYSENTER_ESP;
	m.h.nmsrs = 2;
	m.e[0].data = m.e[1].data = 0xdead;
	EQUALS("KVM_GET_MSRS {0x174, 0x175}", ioc(v.fd, KVM_GET_MSRS, &m), 2);
	CHECK(m.e[0].data == 0x20, "SYSENTER_CS 0x%llx, set to 0x20 before the unknown MSR",
	      (unsigned long long)m.e[0].data);
	CHECK(m.e[1].data == 0x5555,
	      "SYSENTER_ESP 0x%llx: written after the unknown MSR stopped it",
	      (unsigned long long)m.e[1].data);
	m.e[1].index = 0xc0de0001;
	EQUALS("KVM_GET_MSRS {0x174, unknown}", ioc(v.fd, KVM_GET_MSRS, &m), 1);
	return T_PASS;
}

static int t_err_msrs_e2big(void)
{
	struct kvm_msrs *m = msrs_alloc(256); /* Linux: nmsrs >= MAX_IO_MSRS (256) */
	struct vcpu v;
	int rc, r, e;

	CHECK(m, "out of memory");
	rc = vcpu_shared(&v, BLOB(g_outloop), 0);
	for (uint32_t i = 0; rc == T_PASS && i < 256; i++)
		m->entries[i].index = MSR_SYSENTER_CS;
	if (rc == T_PASS) {
		errno = 0;
		r = ioc(v.fd, KVM_SET_MSRS, m);
		e = errno;
		if (r != -1 || e != E2BIG)
			rc = fail("KVM_SET_MSRS with nmsrs 256: %s, expected -1/E2BIG",
				  result_str(r, e));
	}
	if (rc == T_PASS) {
		errno = 0;
		r = ioc(v.fd, KVM_GET_MSRS, m);
		e = errno;
		if (r != -1 || e != E2BIG)
			rc = fail("KVM_GET_MSRS with nmsrs 256: %s, expected -1/E2BIG",
				  result_str(r, e));
	}
	free(m);
	return rc;
}

static int t_err_interrupt_range(void)
{
	struct kvm_interrupt irq = {.irq = 256};
	struct vcpu v;

	SHARED_VCPU(&v, g_outloop, 0);
	ERRNO("KVM_INTERRUPT 256", ioc(v.fd, KVM_INTERRUPT, &irq), EINVAL);
	irq.irq = 0xffffffff;
	ERRNO("KVM_INTERRUPT 0xffffffff", ioc(v.fd, KVM_INTERRUPT, &irq), EINVAL);
	return T_PASS;
}

/* KVM_SET_SREGS with @edit applied must be EINVAL and change nothing. */
static int sregs_refused(void (*edit)(struct kvm_sregs *), const char *what)
{
	struct kvm_sregs sr, after;
	struct vcpu v;
	int r;

	SHARED_VCPU(&v, g_outloop, 0);
	OK(r, "KVM_GET_SREGS", ioc(v.fd, KVM_GET_SREGS, &sr));
	edit(&sr);
	ERRNO(what, ioc(v.fd, KVM_SET_SREGS, &sr), EINVAL);
	OK(r, "KVM_GET_SREGS", ioc(v.fd, KVM_GET_SREGS, &after));
	CHECK(!(after.cr0 & CR0_PE) && after.efer == 0 && !after.cs.l,
	      "%s: refused, but state changed (cr0 0x%llx efer 0x%llx cs.l %u)", what,
	      (unsigned long long)after.cr0, (unsigned long long)after.efer, after.cs.l);
	return T_PASS;
}

static void edit_pg_no_pe(struct kvm_sregs *s)
{
	s->cr0 = (s->cr0 | CR0_PG) & ~CR0_PE;
}

static void edit_cr0_high(struct kvm_sregs *s)
{
	s->cr0 |= 1ull << 32;
}

static void edit_nw_no_cd(struct kvm_sregs *s)
{
	s->cr0 = (s->cr0 | CR0_NW) & ~CR0_CD;
}

static void edit_lme_pg_no_pae(struct kvm_sregs *s)
{
	s->cr0 |= CR0_PE | CR0_PG;
	s->cr4 &= ~CR4_PAE;
	s->efer = EFER_LME | EFER_LMA;
}

static void edit_lma_no_pg(struct kvm_sregs *s)
{
	s->cr0 |= CR0_PE;
	s->cr0 &= ~CR0_PG;
	s->efer = EFER_LME | EFER_LMA;
}

static void edit_cs_l_no_lma(struct kvm_sregs *s)
{
	s->cs.l = 1;
	s->efer = 0;
}

static int t_err_sregs_pg_no_pe(void)
{
	return sregs_refused(edit_pg_no_pe, "KVM_SET_SREGS CR0.PG without CR0.PE");
}

static int t_err_sregs_cr0_high(void)
{
	return sregs_refused(edit_cr0_high, "KVM_SET_SREGS CR0 bit 32");
}

static int t_err_sregs_nw_no_cd(void)
{
	return sregs_refused(edit_nw_no_cd, "KVM_SET_SREGS CR0.NW without CR0.CD");
}

static int t_err_sregs_lme_no_pae(void)
{
	return sregs_refused(edit_lme_pg_no_pae,
			     "KVM_SET_SREGS EFER.LME|LMA, CR0.PG, CR4.PAE clear");
}

static int t_err_sregs_lma_no_pg(void)
{
	return sregs_refused(edit_lma_no_pg, "KVM_SET_SREGS EFER.LMA with CR0.PG clear");
}

static int t_err_sregs_cs_l(void)
{
	return sregs_refused(edit_cs_l_no_lma, "KVM_SET_SREGS CS.L outside long mode");
}

static int t_err_guest_debug(void)
{
	struct kvm_guest_debug dbg;
	struct vcpu v;

	SHARED_VCPU(&v, g_outloop, 0);
	memset(&dbg, 0, sizeof(dbg));
	dbg.control = KVM_GUESTDBG_ENABLE | (1u << 30);
	ERRNO("KVM_SET_GUEST_DEBUG control bit 30", ioc(v.fd, KVM_SET_GUEST_DEBUG, &dbg), EINVAL);
	return T_PASS;
}

static int t_err_vcpu_events(void)
{
	struct kvm_vcpu_events ev;
	struct vcpu v;

	SHARED_VCPU(&v, g_outloop, 0);
	memset(&ev, 0, sizeof(ev));
	ev.flags = 1u << 31;
	ERRNO("KVM_SET_VCPU_EVENTS flags bit 31", ioc(v.fd, KVM_SET_VCPU_EVENTS, &ev), EINVAL);
	memset(&ev, 0, sizeof(ev));
	ev.exception.injected = 1;
	ev.exception.nr = 32;
	ERRNO("KVM_SET_VCPU_EVENTS exception 32", ioc(v.fd, KVM_SET_VCPU_EVENTS, &ev), EINVAL);
	ev.exception.nr = 2;
	ERRNO("KVM_SET_VCPU_EVENTS exception 2 (NMI is not an exception)",
	      ioc(v.fd, KVM_SET_VCPU_EVENTS, &ev), EINVAL);
	return T_PASS;
}

static int t_err_debugregs(void)
{
	struct kvm_debugregs d;
	struct vcpu v;

	SHARED_VCPU(&v, g_outloop, 0);
	debugregs_values(&d);
	d.flags = 1;
	ERRNO("KVM_SET_DEBUGREGS flags 1", ioc(v.fd, KVM_SET_DEBUGREGS, &d), EINVAL);
	debugregs_values(&d);
	d.dr6 |= 1ull << 32;
	ERRNO("KVM_SET_DEBUGREGS DR6 bit 32", ioc(v.fd, KVM_SET_DEBUGREGS, &d), EINVAL);
	debugregs_values(&d);
	d.dr7 |= 1ull << 32;
	ERRNO("KVM_SET_DEBUGREGS DR7 bit 32", ioc(v.fd, KVM_SET_DEBUGREGS, &d), EINVAL);
	return T_PASS;
}

static int t_err_enable_cap_vcpu(void)
{
	struct kvm_enable_cap cap;
	struct vcpu v;

	SHARED_VCPU(&v, g_outloop, 0);
	memset(&cap, 0, sizeof(cap));
	cap.cap = 0x7fff;
	ERRNO("KVM_ENABLE_CAP (vCPU) unknown capability 0x7fff", ioc(v.fd, KVM_ENABLE_CAP, &cap),
	      EINVAL);
	cap.cap = KVM_CAP_SYNC_REGS;
	cap.flags = 1;
	ERRNO("KVM_ENABLE_CAP (vCPU) flags 1", ioc(v.fd, KVM_ENABLE_CAP, &cap), EINVAL);
	return T_PASS;
}

static int t_err_enable_cap_vm(void)
{
	struct kvm_enable_cap cap;

	struct vm *vm;

	VM0(vm);
	memset(&cap, 0, sizeof(cap));
	cap.cap = 0x7fff;
	ERRNO("KVM_ENABLE_CAP (VM) unknown capability 0x7fff", ioc(vm->fd, KVM_ENABLE_CAP, &cap),
	      EINVAL);
	cap.cap = KVM_CAP_X86_TRIPLE_FAULT_EVENT;
	cap.flags = 1;
	ERRNO("KVM_ENABLE_CAP (VM) flags 1", ioc(vm->fd, KVM_ENABLE_CAP, &cap), EINVAL);
	return T_PASS;
}

static int t_err_mem_unbacked(void)
{
	uint8_t buf[16];
	struct vm *vm;

	VM0(vm);
	ERRNO("hvk_mem_read at GPA 0x100000 (no slot)",
	      hvk_mem_read(H, vm->fd, 0x100000, buf, sizeof(buf)), EFAULT);
	return T_PASS;
}

/* ==== the list ==== */

static const struct test base_tests[] = {
    {"handshake", t_handshake, ANY},
    {"api_version", t_api_version, ANY},
    {"check_extension", t_check_extension, ANY},
    {"cap_sync_regs", t_cap_sync_regs, ANY},
    {"cap_sync_regs_hv", t_cap_sync_regs_hv, NEEDS_VMX},
    {"vcpu_mmap_size", t_vcpu_mmap_size, ANY},
    {"err_bad_fd", t_err_bad_fd, ANY},
    {"err_unknown_ioctl_system", t_err_unknown_ioctl_system, ANY},
    {"err_not_kvm_ioctl", t_err_not_kvm_ioctl, ANY},
    {"err_msr_index_list", t_err_msr_index_list, NEEDS_VMX},
    {"create_vm_nodev", t_create_vm_nodev, NO_VMX},
    {"create_vm", t_create_vm, NEEDS_VMX},
    /* KVM_CAP_SYNC_REGS, upstream sets */
    {"sync_bad_valid", t_sync_bad_valid, NEEDS_VMX},
    {"sync_bad_dirty", t_sync_bad_dirty, NEEDS_VMX},
    {"sync_store_regs", t_sync_store_regs, NEEDS_VMX},
    {"sync_load_regs", t_sync_load_regs, NEEDS_VMX},
    {"sync_load_rip", t_sync_load_rip, NEEDS_VMX},
    {"sync_store_sregs", t_sync_store_sregs, NEEDS_VMX},
    {"sync_load_sregs", t_sync_load_sregs, NEEDS_VMX},
    {"sync_store_events", t_sync_store_events, NEEDS_VMX},
    {"sync_load_events", t_sync_load_events, NEEDS_VMX},
    /* the extension sets */
    {"sync_msrs_load", t_sync_msrs_load, NEEDS_VMX},
    {"sync_msrs_store", t_sync_msrs_store, NEEDS_VMX},
    {"sync_msrs_e2big", t_sync_msrs_e2big, NEEDS_VMX},
    {"sync_msrs_zero", t_sync_msrs_zero, NEEDS_VMX},
    {"sync_fpu_load", t_sync_fpu_load, NEEDS_VMX},
    {"sync_fpu_store", t_sync_fpu_store, NEEDS_VMX},
    {"sync_debugregs_load", t_sync_debugregs_load, NEEDS_VMX},
    {"sync_debugregs_store", t_sync_debugregs_store, NEEDS_VMX},
    /* vCPU state */
    {"vcpu_events", t_vcpu_events, NEEDS_VMX},
    {"debugregs", t_debugregs, NEEDS_VMX},
    {"fpu", t_fpu, NEEDS_VMX},
    {"msrs", t_msrs, NEEDS_VMX},
    {"interrupt_if0", t_interrupt_if0, NEEDS_VMX},
    {"immediate_exit", t_immediate_exit, NEEDS_VMX},
    {"memory_coherence", t_memory_coherence, NEEDS_VMX},
    /* errnos */
    {"err_unknown_ioctl_vm", t_err_unknown_ioctl_vm, NEEDS_VMX},
    {"err_unknown_ioctl_vcpu", t_err_unknown_ioctl_vcpu, NEEDS_VMX},
    {"err_wrong_target_system", t_err_wrong_target_system, NEEDS_VMX},
    {"err_wrong_target_vm", t_err_wrong_target_vm, NEEDS_VMX},
    {"err_wrong_target_vcpu", t_err_wrong_target_vcpu, NEEDS_VMX},
    {"err_region_unaligned", t_err_region_unaligned, NEEDS_VMX},
    {"err_region_flags", t_err_region_flags, NEEDS_VMX},
    {"err_region_overlap", t_err_region_overlap, NEEDS_VMX},
    {"err_region_slot", t_err_region_slot, NEEDS_VMX},
    {"err_region_resize", t_err_region_resize, NEEDS_VMX},
    {"err_create_vcpu_dup", t_err_create_vcpu_dup, NEEDS_VMX},
    {"err_create_vcpu_id", t_err_create_vcpu_id, NEEDS_VMX},
    {"err_create_vm_type", t_err_create_vm_type, NEEDS_VMX},
    {"err_cpuid2_e2big", t_err_cpuid2_e2big, NEEDS_VMX},
    {"err_set_msrs_unknown", t_err_set_msrs_unknown, NEEDS_VMX},
    {"err_msrs_e2big", t_err_msrs_e2big, NEEDS_VMX},
    {"err_interrupt_range", t_err_interrupt_range, NEEDS_VMX},
    {"err_sregs_pg_no_pe", t_err_sregs_pg_no_pe, NEEDS_VMX},
    {"err_sregs_cr0_high", t_err_sregs_cr0_high, NEEDS_VMX},
    {"err_sregs_nw_no_cd", t_err_sregs_nw_no_cd, NEEDS_VMX},
    {"err_sregs_lme_no_pae", t_err_sregs_lme_no_pae, NEEDS_VMX},
    {"err_sregs_lma_no_pg", t_err_sregs_lma_no_pg, NEEDS_VMX},
    {"err_sregs_cs_l", t_err_sregs_cs_l, NEEDS_VMX},
    {"err_guest_debug", t_err_guest_debug, NEEDS_VMX},
    {"err_vcpu_events", t_err_vcpu_events, NEEDS_VMX},
    {"err_debugregs", t_err_debugregs, NEEDS_VMX},
    {"err_enable_cap_vcpu", t_err_enable_cap_vcpu, NEEDS_VMX},
    {"err_enable_cap_vm", t_err_enable_cap_vm, NEEDS_VMX},
    {"err_mem_unbacked", t_err_mem_unbacked, NEEDS_VMX},
    TEST_END,
};

/* Every table of cases, in the order they run (each t_*.c adds one). */
static const struct test *const test_tables[] = {
    base_tests, vcpu_tests, memory_tests, msr_tests, channel_tests, hostile_tests, session_tests,
};

#define NTABLES (sizeof(test_tables) / sizeof(test_tables[0]))

/* ==== the benchmark ==== */

struct bench_result {
	unsigned long exits;
	double secs;
	struct hvk_stats d;    /* deltas */
	struct hvk_stats regs; /* of which the KVM_GET_REGS+KVM_SET_REGS pairs (mode (a)) */
	uint64_t rbx;
};

/* The MSR benchmark (bench_msr()): g_bench_msr's minimum TSC deltas, the exit loop. */
struct bench_msr_result {
	uint32_t min_empty, min_pass, min_denied, gps;
	struct bench_result x; /* (d): the user-space MSR exits */
};

static void stats_delta(const struct hvk_stats *a, const struct hvk_stats *b, struct hvk_stats *d)
{
	d->requests = b->requests - a->requests;
	d->responses = b->responses - a->responses;
	d->bytes_in = b->bytes_in - a->bytes_in;
	d->bytes_out = b->bytes_out - a->bytes_out;
	d->runs = b->runs - a->runs;
	d->push_frames = b->push_frames - a->push_frames;
	d->pull_frames = b->pull_frames - a->pull_frames;
}

static void stats_add(struct hvk_stats *sum, const struct hvk_stats *a, const struct hvk_stats *b)
{
	struct hvk_stats d;

	stats_delta(a, b, &d);
	sum->requests += d.requests;
	sum->responses += d.responses;
	sum->bytes_in += d.bytes_in;
	sum->bytes_out += d.bytes_out;
	sum->runs += d.runs;
	sum->push_frames += d.push_frames;
	sum->pull_frames += d.pull_frames;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * One mode of the I/O-emulation loop: the guest OUTs N times; at the k-th
 * exit the controller answers by setting the guest's EAX to k, either
 * with KVM_GET_REGS + KVM_SET_REGS (@sync false) or through kvm_run.s
 * (valid and dirty REGS, @sync true). The guest sums what it got in EBX.
 */
/* A vCPU of @b at its load address in real mode, CX = @n, the blob pushed (no push in the loop). */
static int bench_vcpu(struct vcpu *v, struct blob b, unsigned long n)
{
	struct kvm_regs regs = {.rip = G_LOAD, .rsp = G_STACK, .rflags = RFLAGS_FIXED, .rcx = n};
	int r;

	TRY(vcpu_new(v, b, 0));
	OK(r, "KVM_SET_REGS", ioc(v->fd, KVM_SET_REGS, &regs));
	OK(r, "hvk_sync", hvk_sync(H, v->fd, HVK_SYNC_BEFORE_RUN));
	return T_PASS;
}

/* Checks the exit @k (1..n) of @v and answers it for the next KVM_RUN. */
typedef int (*bench_answer)(struct vcpu *v, unsigned long k, void *ctx);

/*
 * Run @v until it halts, @answer taking every other exit, at most @n of
 * them (@what names one in messages); the exits, the time and the stats
 * delta go to @res.
 */
static int bench_loop(struct vcpu *v, unsigned long n, const char *what, bench_answer answer,
		      void *ctx, struct bench_result *res)
{
	struct hvk_stats s0, s1;
	double t0;

	hvk_stats(H, &s0);
	t0 = now_s();
	for (unsigned long k = 1;; k++) {
		errno = 0;
		if (hvk_ioctl(H, v->fd, KVM_RUN, 0) < 0)
			return fail("%s %lu: KVM_RUN: -1/%s (%s)", what, k, en(errno),
				    hvk_last_error());
		if (v->run->exit_reason == KVM_EXIT_HLT)
			break;
		if (k > n)
			return fail("more than %lu %ss: %s", n, what, exit_str(v->run));
		TRY(answer(v, k, ctx));
		res->exits = k;
	}
	res->secs = now_s() - t0;
	hvk_stats(H, &s1);
	stats_delta(&s0, &s1, &res->d);
	return T_PASS;
}

struct io_answer {
	bool sync;
	struct bench_result *res;
};

/* Mode (a) or (b): EAX = k, through KVM_GET/SET_REGS or sync regs. */
static int answer_io(struct vcpu *v, unsigned long k, void *ctx)
{
	struct io_answer *a = ctx;
	struct hvk_stats p0, p1;
	struct kvm_regs regs;
	int r;

	if (v->run->exit_reason != KVM_EXIT_IO || v->run->io.port != G_BENCH_PORT)
		return fail("exit %lu: %s", k, exit_str(v->run));
	if (a->sync) {
		v->run->s.regs.regs.rax = k;
		v->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
		return T_PASS;
	}
	hvk_stats(H, &p0);
	OK(r, "KVM_GET_REGS", ioc(v->fd, KVM_GET_REGS, &regs));
	regs.rax = k;
	OK(r, "KVM_SET_REGS", ioc(v->fd, KVM_SET_REGS, &regs));
	hvk_stats(H, &p1);
	stats_add(&a->res->regs, &p0, &p1);
	return T_PASS;
}

static int bench_mode(bool sync, unsigned long n, struct bench_result *res)
{
	struct io_answer a = {sync, res};
	struct kvm_regs regs;
	struct vcpu v;
	int r;

	TRY(bench_vcpu(&v, BLOB(g_bench), n));
	v.run->kvm_valid_regs = sync ? KVM_SYNC_X86_REGS : 0;
	TRY(bench_loop(&v, n, "I/O exit", answer_io, &a, res));
	OK(r, "KVM_GET_REGS", ioc(v.fd, KVM_GET_REGS, &regs));
	res->rbx = regs.rbx;
	CHECK(res->exits == n, "%lu I/O exits, expected %lu", res->exits, n);
	CHECK((uint32_t)regs.rbx == (uint32_t)(n * (n + 1) / 2),
	      "the guest summed 0x%llx, expected 0x%lx: a register edit was lost",
	      (unsigned long long)regs.rbx, n * (n + 1) / 2);
	return T_PASS;
}

static void bench_print(const char *tag, const char *label, const struct bench_result *r)
{
	double ex = (double)r->exits + 1; /* the I/O exits and the final HLT */

	printf("bench: %s %-34s %5.0f exits  %5.2f requests/exit  %7.1f bytes/exit (out %.1f + in "
	       "%.1f)  %6.2f exits/s\n",
	       tag, label, ex, (double)r->d.requests / ex,
	       (double)(r->d.bytes_in + r->d.bytes_out) / ex, (double)r->d.bytes_out / ex,
	       (double)r->d.bytes_in / ex, ex / r->secs);
}

/* Mode (d): a KVM_EXIT_X86_RDMSR of FS_BASE for the filter, answered with k. */
static int answer_msr(struct vcpu *v, unsigned long k, void *ctx)
{
	(void)ctx;
	if (v->run->exit_reason != KVM_EXIT_X86_RDMSR)
		return fail("MSR exit %lu: %s, expected KVM_EXIT_X86_RDMSR", k, exit_str(v->run));
	if (v->run->msr.index != MSR_FS_BASE || v->run->msr.reason != KVM_MSR_EXIT_REASON_FILTER)
		return fail("MSR exit %lu: index 0x%x reason 0x%x, expected 0x%x 0x%x", k,
			    v->run->msr.index, v->run->msr.reason, MSR_FS_BASE,
			    KVM_MSR_EXIT_REASON_FILTER);
	v->run->msr.data = k;
	v->run->msr.error = 0;
	return T_PASS;
}

/*
 * The MSR benchmark (tests/remote/g_bench_msr.S), on a VM of its own (the
 * filter and the capability belong to the VM). The guest measures N RDMSRs
 * of FS_BASE passed through (no filter: the VMX MSR bitmap lets them by),
 * OUTs; the program installs a filter denying FS_BASE reads; the guest
 * measures them again (exit, #GP to the guest, its handler skips the
 * RDMSR), OUTs; the program enables KVM_CAP_X86_USER_SPACE_MSR(FILTER),
 * and each of the guest's next N RDMSRs is a KVM_EXIT_X86_RDMSR answered
 * with msr.data = k through the compact KVM_RUN, REGS kept in sync regs as
 * in mode (b) (one request per exit). The guest sums EAX in EBX.
 */
static int bench_msr(unsigned long n, struct bench_msr_result *m)
{
	static uint8_t deny[8]; /* one MSR: 8 bytes of bitmap, its bit clear */
	struct kvm_msr_filter f = {.flags = KVM_MSR_FILTER_DEFAULT_ALLOW};
	struct kvm_enable_cap cap = {.cap = KVM_CAP_X86_USER_SPACE_MSR};
	struct bench_result *x = &m->x;
	uint32_t res[4];
	struct vm *vm;
	struct vcpu v;
	int r;

	TRY(vm_new(&vm));
	TRY(bench_vcpu(&v, BLOB(g_bench_msr), n)); /* the newest VM: this one */
	CHECK(v.vm == vm, "the vCPU is not in the benchmark's own VM");
	TRY(run_out(&v, &m->min_pass, "MSR phase (a), FS_BASE passed through"));

	f.ranges[0] = (struct kvm_msr_filter_range){KVM_MSR_FILTER_READ, 1, MSR_FS_BASE, deny};
	OK(r, "KVM_X86_SET_MSR_FILTER (deny reads of FS_BASE)",
	   ioc(vm->fd, KVM_X86_SET_MSR_FILTER, &f));
	TRY(run_out(&v, &m->min_denied, "MSR phase (b), FS_BASE denied"));

	cap.args[0] = KVM_MSR_EXIT_REASON_FILTER;
	OK(r, "KVM_ENABLE_CAP(X86_USER_SPACE_MSR, FILTER)", ioc(vm->fd, KVM_ENABLE_CAP, &cap));
	v.run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	TRY(bench_loop(&v, n, "RDMSR exit", answer_msr, NULL, x));
	x->rbx = v.run->s.regs.regs.rbx; /* REGS is valid: the HLT's */
	TRY(read_guest(&v, GBM_MIN_EMPTY, res, sizeof(res)));
	m->min_empty = res[0];
	m->gps = res[3];
	CHECK(res[1] == m->min_pass && res[2] == m->min_denied,
	      "the guest OUT %u and %u but kept %u and %u", m->min_pass, m->min_denied, res[1],
	      res[2]);
	CHECK(m->gps == n, "%u #GPs in phase (b), expected %lu: the filter did not deny every read",
	      m->gps, n);
	CHECK(x->exits == n, "%lu RDMSR exits, expected %lu", x->exits, n);
	CHECK((uint32_t)x->rbx == (uint32_t)(n * (n + 1) / 2),
	      "the guest summed 0x%llx, expected 0x%lx: an RDMSR answer was lost",
	      (unsigned long long)x->rbx, n * (n + 1) / 2);
	return T_PASS;
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static int bench(unsigned long n)
{
	struct bench_msr_result m = {0};
	struct bench_result a = {0}, b = {0};
	size_t run = sizeof(struct kvm_run);
	size_t req = HVW_FRAME_SIZE(HVW_IOCTL_REQ_HDR_LEN + run);
	size_t resp = HVW_FRAME_SIZE(HVW_IOCTL_RESP_HDR_LEN + run + 4);
	double ea, eb, ed, bpe_b, rpe_b;
	int rc;

	if (!VMX) {
		printf("bench: SKIP: no VT-x\n");
		return 0;
	}
	hvk_set_sync(H, HVK_SYNC_BEFORE_RUN);
	rc = bench_mode(false, n, &a);
	if (rc == T_PASS)
		rc = bench_mode(true, n, &b);
	if (rc == T_PASS)
		rc = bench_msr(n, &m);
	if (rc != T_PASS) {
		printf("bench: FAIL: %s\n", why);
		return 1;
	}
	ea = (double)a.exits + 1;
	eb = (double)b.exits + 1;
	bpe_b = (double)(b.d.bytes_in + b.d.bytes_out) / eb;
	rpe_b = (double)b.d.requests / eb;
	printf("bench: remote I/O-emulation loop over the channel, %lu OUT exits + 1 HLT per mode, "
	       "guest sums checked\n",
	       n);
	bench_print("(a)", "KVM_GET_REGS+KVM_SET_REGS per exit", &a);
	bench_print("(b)", "sync regs (valid/dirty REGS)", &b);
	printf("bench: ratio b/a: requests/exit %.2f, bytes/exit %.2f, exits/s %.2f\n",
	       rpe_b / ((double)a.d.requests / ea),
	       bpe_b / ((double)(a.d.bytes_in + a.d.bytes_out) / ea),
	       (eb / b.secs) / (ea / a.secs));
	printf("bench: on a real 115200-baud 8N1 line (11520 bytes/s, latency ignored) the bytes "
	       "alone allow (a) %.2f, (b) %.2f exits/s; Bochs's emulated line ran faster\n",
	       11520.0 / ((double)(a.d.bytes_in + a.d.bytes_out) / ea), 11520.0 / bpe_b);
	printf("bench: goal one round trip per exit with sync regs: %s (%.2f)\n",
	       rpe_b <= 1.0 + 1e-9 ? "met" : "NOT met", rpe_b);
	printf("bench: goal under 256 bytes per exit: %s (%.0f)\n", bpe_b < 256 ? "met" : "NOT met",
	       bpe_b);
	if (bpe_b > (double)(req + resp) - 16 && bpe_b < (double)(req + resp) + 16) {
		printf(
		    "bench: where a KVM_RUN's bytes go: request frame %zu = %d frame header + %d "
		    "ioctl header + %zu struct kvm_run (%zu fixed + %d kvm_run.s) + %d CRC; answer "
		    "frame %zu = %d + %d result + %zu kvm_run + 4 OUT data + %d\n",
		    req, HVW_HDR_LEN, HVW_IOCTL_REQ_HDR_LEN, run, run - SYNC_REGS_SIZE_BYTES,
		    SYNC_REGS_SIZE_BYTES, HVW_CRC_LEN, resp, HVW_HDR_LEN, HVW_IOCTL_RESP_HDR_LEN,
		    run, HVW_CRC_LEN);
		printf("bench: of kvm_run.s (%d bytes each way) the REGS set uses %zu; the other "
		       "%zu cross the wire unused, twice per exit\n",
		       SYNC_REGS_SIZE_BYTES, sizeof(struct kvm_regs),
		       SYNC_REGS_SIZE_BYTES - sizeof(struct kvm_regs));
	} else {
		printf(
		    "bench: KVM_RUN frames average %.1f bytes out + %.1f in, less than the whole "
		    "struct kvm_run (%zu + %zu): a compact form is in use\n",
		    (double)b.d.bytes_out / eb, (double)b.d.bytes_in / eb, req, resp);
	}
	if (!(hvk_caps(H) & HVW_CAP_PACKED)) {
		printf("bench: (a) adds per exit KVM_GET_REGS (%zu out, the %zu-byte record sent "
		       "though the kernel would only write it, + %zu in) and KVM_SET_REGS (%zu out "
		       "+ %zu in)\n",
		       HVW_FRAME_SIZE(HVW_IOCTL_REQ_HDR_LEN + sizeof(struct kvm_regs)),
		       sizeof(struct kvm_regs),
		       HVW_FRAME_SIZE(HVW_IOCTL_RESP_HDR_LEN + sizeof(struct kvm_regs)),
		       HVW_FRAME_SIZE(HVW_IOCTL_REQ_HDR_LEN + sizeof(struct kvm_regs)),
		       HVW_FRAME_SIZE(HVW_IOCTL_RESP_HDR_LEN));
	} else {
		double na = (double)a.exits;

		printf("bench: (a) adds per exit a KVM_GET_REGS+KVM_SET_REGS pair, records packed "
		       "(HVW_CAP_PACKED): measured %.1f requests, %.1f bytes (out %.1f + in %.1f); "
		       "(a) - (b) per exit %.1f bytes, less: (a)'s KVM_RUNs carry no REGS set\n",
		       ratio((double)a.regs.requests, na),
		       ratio((double)(a.regs.bytes_out + a.regs.bytes_in), na),
		       ratio((double)a.regs.bytes_out, na), ratio((double)a.regs.bytes_in, na),
		       (double)(a.d.bytes_in + a.d.bytes_out) / ea - bpe_b);
	}

	/* The MSR part. */
	printf("bench: MSR (c) RDMSR FS_BASE passed through: %u ticks; denied by the filter (exit, "
	       "#GP to the guest): %u ticks (ratio %.1f)\n",
	       m.min_pass, m.min_denied, ratio(m.min_denied, m.min_pass));
	printf("bench: MSR (c) TSC ticks under Bochs, the minimum of %lu RDTSC pairs around each; "
	       "the pair alone takes %u, so the RDMSR itself %d and %d\n",
	       n, m.min_empty, (int)(m.min_pass - m.min_empty), (int)(m.min_denied - m.min_empty));
	ed = (double)m.x.exits + 1;
	bench_print("(d)", "user-space MSR exit (sync regs)", &m.x);
	printf("bench: (d) %lu KVM_EXIT_X86_RDMSR (FILTER), each answered with msr.data in the %s "
	       "KVM_RUN, + 1 HLT, guest sum checked; ratio d/b: requests/exit %.2f, bytes/exit "
	       "%.2f, exits/s %.2f\n",
	       m.x.exits, hvk_caps(H) & HVW_CAP_COMPACT_RUN ? "compact" : "plain",
	       ratio((double)m.x.d.requests / ed, rpe_b),
	       ratio((double)(m.x.d.bytes_in + m.x.d.bytes_out) / ed, bpe_b),
	       ratio(ed / m.x.secs, eb / b.secs));
	return 0;
}

/* ==== main ==== */

static void usage(FILE *f)
{
	fprintf(f, "usage: kvm_remote_test -c WHERE [-v] [-P] [-t GLOB]... [-l]\n"
		   "       kvm_remote_test -c WHERE --bench N [-P]\n"
		   "       kvm_remote_test -c WHERE --power-off\n"
		   "  -c WHERE      what hvk_open() takes: fd:N, tcp:HOST:PORT, unix:PATH, device\n"
		   "  -t GLOB       run only the cases whose name matches (repeatable)\n"
		   "  -l            list the cases\n"
		   "  -P            ask the hypervisor to power off at the end\n"
		   "  -T SECONDS    request timeout (default 60)\n"
		   "  -v            print every exit on stderr\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"bench", required_argument, NULL, 'B'},
	    {"power-off", no_argument, NULL, 'O'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *where = NULL, *globs[64];
	int nglobs = 0, c, passed = 0, failed = 0, skipped = 0, timeout_s = 60;
	bool list = false, power_off = false, power_off_only = false;
	unsigned long bench_n = 0;
	struct hvk_options o = {.client = "kvm_remote_test"};
	struct hvk_stats st;
	double t0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "c:t:lPT:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			where = optarg;
			break;
		case 't':
			if (nglobs < 64)
				globs[nglobs++] = optarg;
			break;
		case 'l':
			list = true;
			break;
		case 'P':
			power_off = true;
			break;
		case 'T':
			timeout_s = atoi(optarg);
			break;
		case 'v':
			verbose = true;
			break;
		case 'B':
			bench_n = strtoul(optarg, NULL, 0);
			if (!bench_n || bench_n > 65535) {
				fprintf(stderr, "--bench: 1 to 65535 exits\n");
				return 2;
			}
			break;
		case 'O':
			power_off_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (list) {
		for (size_t k = 0; k < NTABLES; k++)
			for (const struct test *t = test_tables[k]; t->name; t++)
				printf("%s\n", t->name);
		return 0;
	}
	if (!where || optind != argc) {
		usage(stderr);
		return 2;
	}
	o.timeout_ms = timeout_s * 1000;
	H = hvk_open_with(where, &o);
	if (!H) {
		printf("FAIL connect: %s\n0 passed, 1 failed, 0 skipped\n", hvk_last_error());
		return 1;
	}
	if (power_off_only) {
		c = hvk_power_off(H);
		printf("power-off: %s\n", c < 0 ? hvk_last_error() : "done");
		hvk_close(H);
		return c < 0;
	}
	VMX = hvk_flags(H) & HVW_HELLO_FLAG_VMX;
	KVM = hvk_kvm_fd(H);
	/* Results are read with hvk_mem_read; the coherence case turns the pull on. */
	hvk_set_sync(H, HVK_SYNC_BEFORE_RUN);
	t0 = now_s();

	if (bench_n) {
		c = bench(bench_n);
		hvk_stats(H, &st);
		printf("# %.1f s, %" PRIu64 " requests, %" PRIu64 " bytes out, %" PRIu64
		       " bytes in\n",
		       now_s() - t0, st.requests, st.bytes_out, st.bytes_in);
		if (power_off && hvk_power_off(H) < 0)
			printf("FAIL power-off: %s\n", hvk_last_error());
		hvk_close(H);
		return c;
	}

	for (size_t k = 0; k < NTABLES; k++)
		for (const struct test *t = test_tables[k]; t->name; t++) {
			bool match = !nglobs;
			int rc;

			for (int g = 0; g < nglobs && !match; g++)
				match = !fnmatch(globs[g], t->name, 0);
			if (!match)
				continue;
			why[0] = 0;
			if (t->need == NEEDS_VMX && !VMX)
				rc = skip("no VT-x (HELLO flags lack HVW_HELLO_FLAG_VMX; "
					  "KVM_CREATE_VM is "
					  "ENODEV)");
			else if (t->need == NO_VMX && VMX)
				rc = skip("VT-x present");
			else
				rc = t->fn();
			switch (rc) {
			case T_PASS:
				printf("PASS %s\n", t->name);
				passed++;
				break;
			case T_SKIP:
				printf("SKIP %s: %s\n", t->name, why);
				skipped++;
				break;
			default:
				printf("FAIL %s: %s\n", t->name, why);
				failed++;
				break;
			}
		}
	hvk_stats(H, &st);
	printf("# %.1f s, %d VMs, %" PRIu64 " requests (%" PRIu64 " KVM_RUN), %" PRIu64
	       " bytes out, %" PRIu64 " bytes in, %" PRIu64 " pages pushed, %" PRIu64
	       " pulled, %" PRIu64 " garbage bytes, %" PRIu64 " timeouts\n",
	       now_s() - t0, nvms, st.requests, st.runs, st.bytes_out, st.bytes_in, st.pages_pushed,
	       st.pages_pulled, st.garbage_bytes, st.timeouts);
	if (power_off) {
		if (hvk_power_off(H) < 0) {
			printf("FAIL power-off: %s\n", hvk_last_error());
			failed++;
		} else {
			printf("# power-off: done\n");
		}
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	hvk_close(H);
	return failed ? 1 : 0;
}
