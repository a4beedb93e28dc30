// SPDX-License-Identifier: MIT
/*
 * Memory slots under a hostile controller: what KVM_SET_USER_MEMORY_REGION,
 * MEM_WRITE and MEM_READ must never do (issue "Safety, must never happen").
 *
 * Each case makes its own VM (slot 0 as the harness lays it out, one vCPU
 * running g_mem_loop, which reads the dword at the 32-bit guest-physical
 * address held at G_DATA and OUTs it, for ever) and closes it at the end,
 * so a full run needs one free VM handle. The guest's view is the point:
 *  - after a slot is deleted or moved away, a read of its old place is an
 *    MMIO exit at that address, never the old data (a stale EPT/VPID
 *    translation would still reach a page that went back to the allocator);
 *  - a refused request (EINVAL, EEXIST) leaves every slot where it was,
 *    mapped, with its contents;
 *  - a guest-physical address the EPT cannot map (>= 2^48, or at or above
 *    the CPU's MAXPHYADDR) is refused with EINVAL as Linux does
 *    (kvm_arch_prepare_memory_region against kvm_mmu_max_gfn()) and does
 *    not alias low memory;
 *  - a MEM_WRITE or MEM_READ that is not backed from end to end fails with
 *    EFAULT and writes nothing.
 * Around every case a sentinel (a 2 MiB slot of the harness's first VM,
 * slot SENT_SLOT, a few marked words) is read back: nothing done to the
 * victim VM may reach another VM's memory.
 *
 * Expected errnos are Linux 6.1's (__kvm_set_memory_region): deleting a
 * slot that does not exist is EINVAL; a move or flags change may not change
 * the size, userspace_addr or KVM_MEM_READONLY (EINVAL); a move may land
 * on the slot's own old range; same place and flags is a no-op.
 */
#include "tests/remote/harness.h"

#define PG ((uint64_t)0x1000)

/* Slot memory stays zero but for the words probed, so syncs stay small. */
#define MAX_BUFS 8

struct mvm {
	struct vm vm; /* harness shape: fd, slot 0 memory */
	struct vcpu v;
	bool open;
	uint8_t *bufs[MAX_BUFS];
	size_t nbufs;
};

/* Completion data given to an MMIO read, seen in the guest's next OUT. */
#define MMIO_FILL 0x3c3c3c3cu

static int set_region(int vm_fd, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
		      const void *mem)
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

/* Zeroed, page-aligned local memory for a slot of @m, freed with it. */
static uint8_t *slot_mem(struct mvm *m, size_t size)
{
	uint8_t *p;

	if (m->nbufs == MAX_BUFS)
		return NULL;
	p = aligned_alloc(PG, size);
	if (p) {
		memset(p, 0, size);
		m->bufs[m->nbufs++] = p;
	}
	return p;
}

static void mvm_close(struct mvm *m)
{
	if (m->open) {
		hvk_close_fd(H, m->v.fd);
		hvk_close_fd(H, m->vm.fd); /* CLOSE: the hypervisor destroys the VM */
	}
	m->open = false;
	for (size_t i = 0; i < m->nbufs; i++)
		free(m->bufs[i]);
	m->nbufs = 0;
	free(m->vm.mem);
	m->vm.mem = NULL;
}

/* A VM of our own: slot 0 as the harness makes it, one vCPU in g_mem_loop. */
static int mvm_open(struct mvm *m)
{
	struct kvm_sregs sr;
	int fd, r;

	memset(m, 0, sizeof(*m));
	OK(fd, "KVM_CREATE_VM", ioc_int(KVM, KVM_CREATE_VM, 0));
	m->vm.fd = fd;
	m->open = true;
	m->vm.mem = aligned_alloc(PG, G_MEM_SIZE);
	CHECK(m->vm.mem, "out of memory");
	memset(m->vm.mem, 0, G_MEM_SIZE);
	for (uint32_t v = 0; v < G_NR_STUBS; v++)
		put16(m->vm.mem, v * 4, (uint16_t)(G_VEC + v * G_STUB_SIZE));
	memcpy(m->vm.mem + G_VEC, BLOB(g_vectors).p, BLOB(g_vectors).n);
	OK(r, "slot 0", set_region(m->vm.fd, 0, 0, 0, G_MEM_SIZE, m->vm.mem));
	OK(fd, "KVM_CREATE_VCPU 0", ioc_int(m->vm.fd, KVM_CREATE_VCPU, 0));
	m->v.fd = fd;
	m->v.id = 0;
	m->v.vm = &m->vm;
	m->vm.nvcpus = 1;
	m->v.run = hvk_mmap(H, fd, HVK_RUN_MAP_SIZE);
	CHECK(m->v.run != MAP_FAILED, "hvk_mmap: %s (%s)", en(errno), hvk_last_error());
	load(&m->v, BLOB(g_mem_loop));
	TRY(vcpu_reset(&m->v, 0));
	/* FS: base 0, 4 GiB limit, so the guest reaches any 32-bit address. */
	OK(r, "KVM_GET_SREGS", ioc(m->v.fd, KVM_GET_SREGS, &sr));
	sr.fs.base = 0;
	sr.fs.limit = 0xffffffff;
	sr.fs.g = 1;
	OK(r, "KVM_SET_SREGS (FS 4 GiB)", ioc(m->v.fd, KVM_SET_SREGS, &sr));
	return T_PASS;
}

static void poke(uint8_t *p, uint64_t off, uint32_t val)
{
	memcpy(p + off, &val, sizeof(val));
}

/* The guest reads the dword at @gpa (pushed to G_DATA before the run): it must be @want. */
static int probe(struct mvm *m, uint64_t gpa, uint32_t want, const char *what)
{
	char buf[160];

	put32(m->vm.mem, G_DATA, (uint32_t)gpa);
	snprintf(buf, sizeof(buf), "%s: guest read at 0x%" PRIx64, what, gpa);
	return run_expect(&m->v, want, buf);
}

/*
 * The guest's read at @gpa must be an MMIO exit there (no slot maps it);
 * it is completed with MMIO_FILL, which the guest then OUTs.
 */
static int probe_mmio(struct mvm *m, uint64_t gpa, const char *what)
{
	struct kvm_run *run = m->v.run;
	char buf[160];

	put32(m->vm.mem, G_DATA, (uint32_t)gpa);
	errno = 0;
	if (hvk_ioctl(H, m->v.fd, KVM_RUN, 0) < 0)
		return fail("%s: KVM_RUN: -1/%s (%s)", what, en(errno), hvk_last_error());
	if (verbose)
		fprintf(stderr, "  %s: read at 0x%" PRIx64 ": %s\n", what, gpa, exit_str(run));
	if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
	    run->io.port == G_PORT)
		return fail("%s: the guest read 0x%x at 0x%" PRIx64 " where no slot is: it still "
			    "reaches memory it was given up (stale EPT/TLB entry or a leftover "
			    "mapping)",
			    what, get32((const uint8_t *)run + run->io.data_offset), gpa);
	if (run->exit_reason != KVM_EXIT_MMIO)
		return fail("%s: %s, expected an MMIO read exit at 0x%" PRIx64, what, exit_str(run),
			    gpa);
	if (run->mmio.phys_addr != gpa || run->mmio.len != 4 || run->mmio.is_write)
		return fail("%s: MMIO exit at 0x%llx len %u write %u, expected a 4-byte read at "
			    "0x%" PRIx64,
			    what, (unsigned long long)run->mmio.phys_addr, run->mmio.len,
			    run->mmio.is_write, gpa);
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	memcpy(run->mmio.data, &(uint32_t){MMIO_FILL}, 4);
	snprintf(buf, sizeof(buf), "%s: after the MMIO read at 0x%" PRIx64, what, gpa);
	return run_expect(&m->v, MMIO_FILL, buf);
}

/* The hypervisor's copy of the dword at @gpa (MEM_READ) must be @want. */
static int host_word(struct mvm *m, uint64_t gpa, uint32_t want, const char *what)
{
	uint8_t b[4];
	int r;

	OK(r, what, hvk_mem_read(H, m->vm.fd, gpa, b, sizeof(b)));
	CHECK(get32(b) == want, "%s: MEM_READ at 0x%" PRIx64 " gives 0x%x, expected 0x%x", what,
	      gpa, get32(b), want);
	return T_PASS;
}

#define PROBE(m, gpa, want, what)     TRY(probe((m), (gpa), (want), (what)))
#define PROBE_MMIO(m, gpa, what)      TRY(probe_mmio((m), (gpa), (what)))
#define HOST_WORD(m, gpa, want, what) TRY(host_word((m), (gpa), (want), (what)))
#define REGION_OK(what, call)                                                                      \
	do {                                                                                       \
		int r_;                                                                            \
		OK(r_, (what), (call));                                                            \
	} while (0)

/* The first IVT entry of slot 0 (offset G_VEC, segment 0), as the guest reads it. */
#define IVT0 ((uint32_t)G_VEC)

/* ---- the sentinel: another VM's memory nothing here may touch ---- */

#define SENT_SLOT 7
#define SENT_GPA  ((uint64_t)0x40000000)
#define SENT_SIZE 0x200000ull /* one 2 MiB page where the EPT allows it */
#define SENT_LEN  64

static uint8_t *sent_mem;
static int sent_fd = -1;
static const uint64_t sent_offs[] = {0, PG, SENT_SIZE / 2, SENT_SIZE - SENT_LEN};

static int sentinel_check(const char *when)
{
	uint8_t got[SENT_LEN];
	int r;

	if (sent_fd < 0) {
		struct vm *vm;

		VM0(vm);
		sent_mem = aligned_alloc(PG, SENT_SIZE);
		CHECK(sent_mem, "out of memory");
		memset(sent_mem, 0, SENT_SIZE);
		for (size_t i = 0; i < sizeof(sent_offs) / sizeof(sent_offs[0]); i++)
			for (int j = 0; j < SENT_LEN; j++)
				sent_mem[sent_offs[i] + j] = (uint8_t)(0xa5 ^ (i * 37 + j));
		OK(r, "sentinel slot in the first VM",
		   set_region(vm->fd, SENT_SLOT, 0, SENT_GPA, SENT_SIZE, sent_mem));
		/* The local copy holds the same bytes: a later push changes nothing. */
		for (size_t i = 0; i < sizeof(sent_offs) / sizeof(sent_offs[0]); i++)
			OK(r, "sentinel MEM_WRITE",
			   hvk_mem_write(H, vm->fd, SENT_GPA + sent_offs[i],
					 sent_mem + sent_offs[i], SENT_LEN));
		sent_fd = vm->fd;
	}
	for (size_t i = 0; i < sizeof(sent_offs) / sizeof(sent_offs[0]); i++) {
		OK(r, "sentinel MEM_READ",
		   hvk_mem_read(H, sent_fd, SENT_GPA + sent_offs[i], got, SENT_LEN));
		CHECK(!memcmp(got, sent_mem + sent_offs[i], SENT_LEN),
		      "%s: the sentinel VM's memory at 0x%" PRIx64 " changed", when,
		      SENT_GPA + sent_offs[i]);
	}
	return T_PASS;
}

/* Sentinel, a fresh VM, the case, the VM closed, sentinel again. */
static int with_mvm(int (*body)(struct mvm *))
{
	struct mvm m;
	int rc;

	TRY(sentinel_check("before the case"));
	rc = mvm_open(&m);
	if (rc == T_PASS)
		rc = body(&m);
	mvm_close(&m);
	if (rc == T_PASS)
		rc = sentinel_check("after the case");
	return rc;
}

/* ---- the cases ---- */

/* A deleted slot is gone for the guest at once; a new slot at its place shows its own data. */
static int delete_unmaps(struct mvm *m)
{
	uint8_t *b1 = slot_mem(m, PG), *b2 = slot_mem(m, PG), tmp[4];
	int fd = m->vm.fd;

	CHECK(b1 && b2, "out of memory");
	poke(b1, 0, 0x5107a001);
	poke(b2, 0, 0x5107a002);
	REGION_OK("slot 1 at 0x10000", set_region(fd, 1, 0, 0x10000, PG, b1));
	PROBE(m, 0x10000, 0x5107a001, "slot 1");
	PROBE(m, 0x10000, 0x5107a001, "slot 1, again (its translation cached)");
	REGION_OK("deleting slot 1", set_region(fd, 1, 0, 0, 0, NULL));
	PROBE_MMIO(m, 0x10000, "slot 1 deleted");
	ERRNO("hvk_mem_read of the deleted slot", hvk_mem_read(H, fd, 0x10000, tmp, 4), EFAULT);
	ERRNO("deleting slot 1 again (no such slot)", set_region(fd, 1, 0, 0, 0, NULL), EINVAL);
	ERRNO("deleting slot 5 (never made)", set_region(fd, 5, 0, 0x10000, 0, NULL), EINVAL);
	REGION_OK("slot 2 at 0x10000", set_region(fd, 2, 0, 0x10000, PG, b2));
	PROBE(m, 0x10000, 0x5107a002, "slot 2 where slot 1 was");
	HOST_WORD(m, 0x10000, 0x5107a002, "slot 2");
	PROBE(m, 0, IVT0, "slot 0 untouched");
	return T_PASS;
}

/* A moved slot leaves its old place at once and keeps its contents; so do in-place changes. */
static int move_unmaps(struct mvm *m)
{
	uint8_t *b = slot_mem(m, 2 * PG);
	int fd = m->vm.fd;

	CHECK(b, "out of memory");
	poke(b, 0, 0x3a0e0000);
	poke(b, PG, 0x3a0e0001);
	REGION_OK("slot 1 at 0x10000, 2 pages", set_region(fd, 1, 0, 0x10000, 2 * PG, b));
	PROBE(m, 0x10000, 0x3a0e0000, "slot 1 page 0");
	PROBE(m, 0x11000, 0x3a0e0001, "slot 1 page 1");
	PROBE(m, 0x10000, 0x3a0e0000, "slot 1 page 0, again");
	REGION_OK("moving slot 1 to 0x20000", set_region(fd, 1, 0, 0x20000, 2 * PG, b));
	PROBE_MMIO(m, 0x10000, "slot 1 moved away");
	PROBE_MMIO(m, 0x11000, "slot 1 moved away");
	PROBE(m, 0x20000, 0x3a0e0000, "slot 1 moved to 0x20000");
	PROBE(m, 0x21000, 0x3a0e0001, "slot 1 moved to 0x20000");
	/* A move may land on the slot's own old range. */
	REGION_OK("moving slot 1 up one page, over its old range",
		  set_region(fd, 1, 0, 0x21000, 2 * PG, b));
	PROBE_MMIO(m, 0x20000, "slot 1 moved up one page");
	PROBE(m, 0x21000, 0x3a0e0000, "slot 1 moved up one page");
	PROBE(m, 0x22000, 0x3a0e0001, "slot 1 moved up one page");
	/* The same place and flags: nothing to do (Linux returns 0). */
	REGION_OK("slot 1 again as it is", set_region(fd, 1, 0, 0x21000, 2 * PG, b));
	PROBE(m, 0x21000, 0x3a0e0000, "slot 1 set again as it was");
	/* A flags change in place (dirty logging), then a move that drops it. */
	REGION_OK("slot 1 with KVM_MEM_LOG_DIRTY_PAGES",
		  set_region(fd, 1, KVM_MEM_LOG_DIRTY_PAGES, 0x21000, 2 * PG, b));
	PROBE(m, 0x22000, 0x3a0e0001, "slot 1 after a flags change");
	REGION_OK("moving slot 1 to 0x30000 without KVM_MEM_LOG_DIRTY_PAGES",
		  set_region(fd, 1, 0, 0x30000, 2 * PG, b));
	PROBE_MMIO(m, 0x22000, "slot 1 moved to 0x30000");
	PROBE(m, 0x30000, 0x3a0e0000, "slot 1 moved to 0x30000");
	PROBE(m, 0x31000, 0x3a0e0001, "slot 1 moved to 0x30000");
	HOST_WORD(m, 0x31000, 0x3a0e0001, "slot 1 after its moves");
	PROBE(m, 0, IVT0, "slot 0 untouched");
	return T_PASS;
}

/* Changes Linux refuses change nothing; a read-only slot moves like any other. */
static int modify_refused(struct mvm *m)
{
	uint8_t *b = slot_mem(m, 2 * PG), *other = slot_mem(m, 2 * PG), *ro = slot_mem(m, PG);
	uint8_t *spare = slot_mem(m, PG);
	int fd = m->vm.fd, nslots;

	CHECK(b && other && ro && spare, "out of memory");
	poke(b, 0, 0x7e5e0000);
	poke(b, PG, 0x7e5e0001);
	poke(ro, 0, 0x7e5e00ff);
	REGION_OK("slot 1 at 0x10000, 2 pages", set_region(fd, 1, 0, 0x10000, 2 * PG, b));
	PROBE(m, 0x10000, 0x7e5e0000, "slot 1");
	ERRNO("slot 1 resized", set_region(fd, 1, 0, 0x10000, PG, b), EINVAL);
	ERRNO("slot 1 moved and resized", set_region(fd, 1, 0, 0x20000, 3 * PG, b), EINVAL);
	ERRNO("slot 1 moved with another userspace_addr",
	      set_region(fd, 1, 0, 0x20000, 2 * PG, other), EINVAL);
	ERRNO("slot 1 made read-only", set_region(fd, 1, KVM_MEM_READONLY, 0x10000, 2 * PG, b),
	      EINVAL);
	ERRNO("slot 1 moved and made read-only",
	      set_region(fd, 1, KVM_MEM_READONLY, 0x20000, 2 * PG, b), EINVAL);
	ERRNO("slot 1 moved over slot 0's end", set_region(fd, 1, 0, 0x7000, 2 * PG, b), EEXIST);
	ERRNO("slot 1 moved to an unaligned address", set_region(fd, 1, 0, 0x20800, 2 * PG, b),
	      EINVAL);
	ERRNO("slot 1 moved to the end of the address space (wraps)",
	      set_region(fd, 1, 0, 0xfffffffffffff000ull, 2 * PG, b), EINVAL);
	PROBE_MMIO(m, 0x20000, "no refused move took place");
	PROBE(m, 0x10000, 0x7e5e0000, "slot 1 after refused changes");
	PROBE(m, 0x11000, 0x7e5e0001, "slot 1 after refused changes");
	HOST_WORD(m, 0x11000, 0x7e5e0001, "slot 1 after refused changes");
	/* A read-only slot may move (its flags unchanged). */
	REGION_OK("slot 2 read-only at 0x40000",
		  set_region(fd, 2, KVM_MEM_READONLY, 0x40000, PG, ro));
	PROBE(m, 0x40000, 0x7e5e00ff, "read-only slot 2");
	REGION_OK("moving read-only slot 2 to 0x50000",
		  set_region(fd, 2, KVM_MEM_READONLY, 0x50000, PG, ro));
	PROBE_MMIO(m, 0x40000, "read-only slot 2 moved away");
	PROBE(m, 0x50000, 0x7e5e00ff, "read-only slot 2 moved to 0x50000");
	ERRNO("slot 2 made writable", set_region(fd, 2, 0, 0x50000, PG, ro), EINVAL);
	PROBE(m, 0x50000, 0x7e5e00ff, "read-only slot 2 after a refused change");
	/* Slot numbers: another address space, or past the last slot. */
	OK(nslots, "KVM_CAP_NR_MEMSLOTS", ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS));
	ERRNO("slot 0x10003 (address space 1)", set_region(fd, 0x10003, 0, 0x60000, PG, spare),
	      EINVAL);
	ERRNO("slot KVM_CAP_NR_MEMSLOTS", set_region(fd, (uint32_t)nslots, 0, 0x60000, PG, spare),
	      EINVAL);
	PROBE_MMIO(m, 0x60000, "no refused slot was made");
	PROBE(m, 0x10000, 0x7e5e0000, "slot 1 at the end");
	return T_PASS;
}

/* Host MAXPHYADDR, as KVM_GET_SUPPORTED_CPUID passes leaf 0x80000008 on (36 without it). */
static unsigned host_phys_bits(void)
{
	const uint32_t n = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
	unsigned bits = 36;

	if (!c)
		return bits;
	c->nent = n;
	if (ioc(KVM, KVM_GET_SUPPORTED_CPUID, c) == 0)
		for (uint32_t i = 0; i < c->nent && i < n; i++)
			if (c->entries[i].function == 0x80000008 && (c->entries[i].eax & 0xff))
				bits = c->entries[i].eax & 0xff;
	free(c);
	return bits;
}

/* Guest-physical addresses the EPT cannot map are EINVAL and alias nothing. */
static int region_limits(struct mvm *m)
{
	uint8_t *b = slot_mem(m, 2 * PG), tmp[4] = {1, 2, 3, 4};
	unsigned bits = host_phys_bits(), lim = bits < 48 ? bits : 48;
	const uint64_t top = 1ull << lim, above = 1ull << 48;
	int fd = m->vm.fd;

	CHECK(b, "out of memory");
	if (verbose)
		fprintf(stderr, "  MAXPHYADDR %u: slots must end at or below 0x%" PRIx64 "\n", bits,
			top);
	poke(b, 0, 0x11a50000);
	ERRNO("slot 1 at 2^48 + 0x10000", set_region(fd, 1, 0, above + 0x10000, PG, b), EINVAL);
	ERRNO("MEM_WRITE at 2^48 + 0x10000", hvk_mem_write(H, fd, above + 0x10000, tmp, 4), EFAULT);
	PROBE_MMIO(m, 0x10000, "the slot refused at 2^48 + 0x10000 is not at 0x10000");
	ERRNO("slot 1 at 2^48 (slot 0's alias)", set_region(fd, 1, 0, above, PG, b), EINVAL);
	PROBE(m, 0, IVT0, "slot 0 after a slot was refused at its alias");
	ERRNO("slot 1 at 2^MAXPHYADDR", set_region(fd, 1, 0, top, PG, b), EINVAL);
	ERRNO("slot 1 across 2^MAXPHYADDR", set_region(fd, 1, 0, top - PG, 2 * PG, b), EINVAL);
	ERRNO("slot 1 at 2^52 - 4 KiB", set_region(fd, 1, 0, (1ull << 52) - PG, PG, b), EINVAL);
	ERRNO("slot 1 at 2^63", set_region(fd, 1, 0, 1ull << 63, PG, b), EINVAL);
	ERRNO("slot 1 in the last 8 KiB of 2^64", set_region(fd, 1, 0, 0 - 2 * PG, 2 * PG, b),
	      EINVAL);
	PROBE(m, 0, IVT0, "slot 0 after the refused slots");
	/* The last page below the limit is a slot like any other. */
	REGION_OK("slot 1 in the last page below 2^MAXPHYADDR",
		  set_region(fd, 1, 0, top - PG, PG, b));
	PROBE(m, 0, IVT0, "slot 0 with a slot at the top"); /* the run pushes slot 1 */
	HOST_WORD(m, top - PG, 0x11a50000, "slot 1 at the top");
	REGION_OK("deleting slot 1", set_region(fd, 1, 0, 0, 0, NULL));
	PROBE_MMIO(m, 0x10000, "nothing at 0x10000 after all that");
	return T_PASS;
}

/* A refused create or move leaves every existing mapping and its contents. */
static int failed_create_keeps(struct mvm *m)
{
	uint8_t *b1 = slot_mem(m, PG), *b2 = slot_mem(m, PG);
	const uint64_t above = 1ull << 48;
	int fd = m->vm.fd;

	CHECK(b1 && b2, "out of memory");
	poke(b1, 0, 0x6007d001);
	poke(b2, 0, 0x6007d002);
	REGION_OK("slot 1 at 0x10000", set_region(fd, 1, 0, 0x10000, PG, b1));
	PROBE(m, 0x10000, 0x6007d001, "slot 1");
	ERRNO("slot 2 at 2^48 + 0x10000 (slot 1's alias)",
	      set_region(fd, 2, 0, above + 0x10000, PG, b2), EINVAL);
	PROBE(m, 0x10000, 0x6007d001, "slot 1 after slot 2 was refused at its alias");
	ERRNO("slot 2 over slot 1's start", set_region(fd, 2, 0, 0xf000, 2 * PG, b2), EEXIST);
	ERRNO("slot 2 on slot 1", set_region(fd, 2, 0, 0x10000, PG, b2), EEXIST);
	PROBE(m, 0x10000, 0x6007d001, "slot 1 after overlapping slots were refused");
	ERRNO("moving slot 1 to 2^48 + 0x10000", set_region(fd, 1, 0, above + 0x10000, PG, b1),
	      EINVAL);
	HOST_WORD(m, 0x10000, 0x6007d001, "slot 1 still at 0x10000 after a refused move");
	ERRNO("moving slot 1 to 2^48 (slot 0's alias)", set_region(fd, 1, 0, above, PG, b1),
	      EINVAL);
	PROBE(m, 0, IVT0, "slot 0 after slot 1 was refused at its alias");
	PROBE(m, 0x10000, 0x6007d001, "slot 1 after its refused moves");
	HOST_WORD(m, 0x10000, 0x6007d001, "slot 1 after its refused moves");
	REGION_OK("slot 2 at 0x20000", set_region(fd, 2, 0, 0x20000, PG, b2));
	PROBE(m, 0x20000, 0x6007d002, "slot 2");
	PROBE(m, 0x10000, 0x6007d001, "slot 1 at the end");
	return T_PASS;
}

static int all_bytes(const uint8_t *p, size_t n, uint8_t v, size_t *at)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v) {
			*at = i;
			return 0;
		}
	return 1;
}

#define SAME(m, gpa, len, v, what)                                                                 \
	do {                                                                                       \
		uint8_t got_[0x100];                                                               \
		size_t at_ = 0;                                                                    \
		int r_;                                                                            \
		OK(r_, (what), hvk_mem_read(H, (m)->vm.fd, (gpa), got_, (len)));                   \
		CHECK(all_bytes(got_, (len), (v), &at_),                                           \
		      "%s: byte at 0x%" PRIx64 " is 0x%02x, expected 0x%02x", (what),              \
		      (uint64_t)(gpa) + at_, got_[at_], (v));                                      \
	} while (0)

/* MEM_WRITE/MEM_READ not backed from end to end: EFAULT, nothing written. */
static int mem_span(struct mvm *m)
{
	uint8_t *b1 = slot_mem(m, PG), *b2 = slot_mem(m, PG), *big;
	uint8_t buf[0x100];
	int fd = m->vm.fd, r;

	CHECK(b1 && b2, "out of memory");
	REGION_OK("slot 1 at 0x10000", set_region(fd, 1, 0, 0x10000, PG, b1));
	REGION_OK("slot 2 at 0x11000, after slot 1", set_region(fd, 2, 0, 0x11000, PG, b2));
	memset(buf, 0xaa, sizeof(buf));
	OK(r, "MEM_WRITE 0x7f00", hvk_mem_write(H, fd, 0x7f00, buf, 0x100));
	memset(buf, 0xbb, sizeof(buf));
	OK(r, "MEM_WRITE 0x11f00", hvk_mem_write(H, fd, 0x11f00, buf, 0x100));
	memset(buf, 0x55, sizeof(buf));
	ERRNO("MEM_WRITE across slot 0's end", hvk_mem_write(H, fd, 0x7ff0, buf, 0x20), EFAULT);
	SAME(m, 0x7f00, 0x100, 0xaa, "slot 0's end after the refused MEM_WRITE");
	ERRNO("MEM_WRITE across slot 2's end", hvk_mem_write(H, fd, 0x11ff0, buf, 0x20), EFAULT);
	SAME(m, 0x11f00, 0x100, 0xbb, "slot 2's end after the refused MEM_WRITE");
	ERRNO("MEM_WRITE from a hole into slot 1", hvk_mem_write(H, fd, 0xfff0, buf, 0x20), EFAULT);
	SAME(m, 0x10000, 0x10, 0, "slot 1's start after the refused MEM_WRITE");
	big = malloc(0x8000);
	CHECK(big, "out of memory");
	memset(big, 0x77, 0x8000);
	errno = 0;
	r = hvk_mem_write(H, fd, 0x4000, big, 0x8000);
	free(big);
	CHECK(r == -1 && errno == EFAULT, "MEM_WRITE [0x4000, 0xc000): %s, expected -1/EFAULT",
	      result_str(r, errno));
	SAME(m, 0x7f00, 0x100, 0xaa, "slot 0 after a refused 32 KiB MEM_WRITE");
	ERRNO("MEM_READ across slot 0's end", hvk_mem_read(H, fd, 0x7ff0, buf, 0x20), EFAULT);
	ERRNO("MEM_READ across slot 2's end", hvk_mem_read(H, fd, 0x11ff0, buf, 0x20), EFAULT);
	/* Adjacent slots back a range together. */
	memset(buf, 0x66, sizeof(buf));
	OK(r, "MEM_WRITE across slots 1 and 2", hvk_mem_write(H, fd, 0x10ff0, buf, 0x20));
	SAME(m, 0x10fe0, 0x10, 0, "before the MEM_WRITE across slots 1 and 2");
	SAME(m, 0x10ff0, 0x20, 0x66, "the MEM_WRITE across slots 1 and 2");
	SAME(m, 0x11010, 0x10, 0, "after the MEM_WRITE across slots 1 and 2");
	PROBE(m, 0x7ffc, 0xaaaaaaaa, "slot 0's last word");
	PROBE(m, 0x11ffc, 0xbbbbbbbb, "slot 2's last word");
	PROBE(m, 0x10ffc, 0x66666666, "slot 1's last word");
	PROBE(m, 0x11000, 0x66666666, "slot 2's first word");
	return T_PASS;
}

/* A VM closed with live slots: its successor (maybe the same EPT root) sees none of them. */
static int close_reuse(struct mvm *m)
{
	uint8_t *b = slot_mem(m, PG);

	CHECK(b, "out of memory");
	poke(b, 0, 0xc105e001);
	REGION_OK("slot 1 at 0x10000", set_region(m->vm.fd, 1, 0, 0x10000, PG, b));
	PROBE(m, 0x10000, 0xc105e001, "slot 1 of the first VM");
	PROBE(m, 0x10000, 0xc105e001, "slot 1 of the first VM, again");
	mvm_close(m);
	TRY(mvm_open(m));
	PROBE_MMIO(m, 0x10000, "a new VM after CLOSE has no slot 1");
	b = slot_mem(m, PG);
	CHECK(b, "out of memory");
	poke(b, 0, 0xc105e002);
	REGION_OK("slot 1 at 0x10000 of the new VM", set_region(m->vm.fd, 1, 0, 0x10000, PG, b));
	PROBE(m, 0x10000, 0xc105e002, "slot 1 of the new VM");
	return T_PASS;
}

/* 2 MiB EPT pages: moves between aligned and unaligned places, then delete. */
static const uint64_t big_offs[] = {0, 0x1ff000, 0x200000, 0x3ffffc};
#define BIG_SIZE 0x400000ull

static int probe_big(struct mvm *m, uint64_t gpa, bool mapped, const char *what)
{
	for (size_t i = 0; i < sizeof(big_offs) / sizeof(big_offs[0]); i++) {
		int rc = mapped ? probe(m, gpa + big_offs[i], 0xb19a0000 + (uint32_t)i, what)
				: probe_mmio(m, gpa + big_offs[i], what);

		if (rc != T_PASS)
			return rc;
	}
	return T_PASS;
}

static int large_pages(struct mvm *m)
{
	uint8_t *b = slot_mem(m, BIG_SIZE);
	int fd = m->vm.fd;

	CHECK(b, "out of memory");
	for (size_t i = 0; i < sizeof(big_offs) / sizeof(big_offs[0]); i++)
		poke(b, big_offs[i], 0xb19a0000 + (uint32_t)i);
	REGION_OK("slot 1, 4 MiB at 2 MiB", set_region(fd, 1, 0, 0x200000, BIG_SIZE, b));
	TRY(probe_big(m, 0x200000, true, "4 MiB slot at 2 MiB"));
	REGION_OK("moving it to 8 MiB", set_region(fd, 1, 0, 0x800000, BIG_SIZE, b));
	TRY(probe_big(m, 0x200000, false, "4 MiB slot moved from 2 MiB"));
	TRY(probe_big(m, 0x800000, true, "4 MiB slot moved to 8 MiB"));
	REGION_OK("moving it to 16 MiB + 4 KiB", set_region(fd, 1, 0, 0x1001000, BIG_SIZE, b));
	TRY(probe_big(m, 0x800000, false, "4 MiB slot moved from 8 MiB"));
	TRY(probe_big(m, 0x1001000, true, "4 MiB slot at 16 MiB + 4 KiB"));
	REGION_OK("moving it to 18 MiB, over its old range",
		  set_region(fd, 1, 0, 0x1200000, BIG_SIZE, b));
	PROBE_MMIO(m, 0x1001000, "4 MiB slot moved from 16 MiB + 4 KiB");
	TRY(probe_big(m, 0x1200000, true, "4 MiB slot at 18 MiB"));
	REGION_OK("deleting it", set_region(fd, 1, 0, 0, 0, NULL));
	TRY(probe_big(m, 0x1200000, false, "4 MiB slot deleted"));
	PROBE(m, 0, IVT0, "slot 0 untouched");
	return T_PASS;
}

#define CASE(name)                                                                                 \
	static int t_mem_##name(void)                                                              \
	{                                                                                          \
		return with_mvm(name);                                                             \
	}
CASE(delete_unmaps)
CASE(move_unmaps)
CASE(modify_refused)
CASE(region_limits)
CASE(failed_create_keeps)
CASE(mem_span)
CASE(close_reuse)
CASE(large_pages)

const struct test memory_tests[] = {
    {"mem_delete_unmaps", t_mem_delete_unmaps, NEEDS_VMX},
    {"mem_move_unmaps", t_mem_move_unmaps, NEEDS_VMX},
    {"mem_modify_refused", t_mem_modify_refused, NEEDS_VMX},
    {"mem_region_limits", t_mem_region_limits, NEEDS_VMX},
    {"mem_failed_create_keeps", t_mem_failed_create_keeps, NEEDS_VMX},
    {"mem_span", t_mem_mem_span, NEEDS_VMX},
    {"mem_close_reuse", t_mem_close_reuse, NEEDS_VMX},
    {"mem_large_pages", t_mem_large_pages, NEEDS_VMX},
    TEST_END,
};
