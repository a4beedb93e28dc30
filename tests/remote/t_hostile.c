// SPDX-License-Identifier: MIT
/*
 * A hostile controller and hostile guests. Each hostile_<what> case
 * attacks the hypervisor one way: frames whose lengths lie, records whose
 * counts claim more than was sent, corrupt and cut-off frames and line
 * noise, addresses that wrap past 2^64 or lie above MAXPHYADDR, handles of
 * closed VMs and vCPU ids of another VM, requests (and a HELLO, a CLOSE)
 * while a guest spins in KVM_RUN, exit and fault storms, MSR sweeps from
 * the controller and from a guest, triple faults, bad injected events and
 * register state VM entry refuses, hypercall arguments that wrap, a guest
 * writing past its memory, CPUID tables nobody would give, and exhaustion
 * of VMs, vCPUs and memory. No attack sends a well-formed HELLO or BYE:
 * either ends the session, and the sentinel with it (t_session.c and
 * t_channel.c check those).
 *
 * Expectations are those of Linux 6.1's KVM where it defines one (an
 * errno, an exit) and otherwise "a defined answer": an exit the guest
 * caused, KVM_EXIT_FAIL_ENTRY at worst, and a vCPU that works again once
 * its registers are reset. After every attack, whatever its result:
 *  - the hypervisor still answers (a KVM_GET_API_VERSION round trip);
 *  - the sentinel VM made by hostile_sentinel (its own vCPU, a known
 *    pattern in two slots, known registers, segments and control
 *    registers, MSRs, FPU and debug registers, run once to an OUT) reads
 *    back exactly as it was: both slots with MEM_READ, its vCPU whole
 *    through one KVM_RUN with immediate_exit and every sync set valid;
 *  - nothing of an attacker survives it: each VM an attack made is marked
 *    (a page of memory, its vCPUs' MSRs, FPU, debug and general
 *    registers) before it is destroyed, then a new VM's 1 MiB slot must
 *    hold no non-zero page (MEM_CHANGED against all-zero hashes) and its
 *    new vCPU must read back exactly as the first new vCPU of the suite.
 * Every KVM_RUN of an attack goes through a thread and is KICKed if it
 * lasts, so no guest can hang the suite; attack set-ups load registers
 * through the sync sets of the KVM_RUN itself (a round trip costs about
 * 45 ms under Bochs), while "usable again" is checked after
 * KVM_SET_SREGS, KVM_SET_REGS and KVM_SET_VCPU_EVENTS. A case run alone
 * makes the sentinel first. HV_HOSTILE_VERBOSE=1 in the environment
 * prints what each attack saw and cost (the scenario hook passes no -v).
 * An attack "survived" when all three hold; "state lost" counts attacks
 * after which the sentinel or the leak check differed. hostile_summary
 * runs the sentinel once more (its next OUT must carry its EBX), prints
 *	# hostile: N attacks, N survived, N state lost
 * and fails if any state was lost.
 *
 * VM handles are KVM_API_MAX_VMS (64) and the harness keeps up to 7.
 * When a VM cannot be made (ENOSPC) an attack borrows one of the
 * harness's VMs (never the one of its shared vCPU, nor its newest): it is
 * closed, and once the attack and its checks are done a fresh VM set up
 * as vm_new() does takes its place in vms[].
 */
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "abi/hv_guest.h"
#include "abi/hvpack.h"
#include "abi/hvrun.h"
#include "tests/remote/g_hostile.h"
#include "tests/remote/harness.h"

#define ANSWER_MS   60000	      /* an answer that must come */
#define SENT_SIZE   0x1000	      /* each of the sentinel's two slots (adjacent) */
#define SENT_CODE   0x800	      /* the sentinel's code, in its first slot */
#define LEAK_SIZE   0x100000	      /* the zero check's slot */
#define LEAK_UADDR  0x7e0000000000ull /* raw slots: the library never sees them */
#define MAX_AVMS    3
#define MAX_HANDLES 128 /* more than KVM_API_MAX_VMS (64) */
#define PAST_TABLE  65	/* KVM_API_MAX_VMS + 1: never a VM handle */
#define PG	    4096u

#define M_TSC	       0x10
#define M_APIC_BASE    0x1b
#define M_SYSENTER_CS  0x174
#define M_SYSENTER_ESP 0x175
#define M_SYSENTER_EIP 0x176
#define M_MISC_ENABLE  0x1a0
#define M_PAT	       0x277
#define M_MTRR_DEF     0x2ff
#define M_EFER	       0xc0000080
#define M_STAR	       0xc0000081
#define M_LSTAR	       0xc0000082
#define M_CSTAR	       0xc0000083
#define M_FMASK	       0xc0000084
#define M_FS_BASE      0xc0000100
#define M_GS_BASE      0xc0000101
#define M_KGS_BASE     0xc0000102
#define M_TSC_AUX      0xc0000103
#define PAT_RESET      0x0007040600070406ull

#define MARK(v)	  (G_MARK_VEC | (v))
#define LOAD(off) (G_LOAD + (off))

/* ==== counters, and problems a case notes without stopping ==== */

/* -v, or HV_HOSTILE_VERBOSE=1 in the environment (the scenario hook passes no -v). */
static bool chatty(void)
{
	static int env = -1;

	if (env < 0)
		env = getenv("HV_HOSTILE_VERBOSE") != NULL;
	return verbose || env;
}

static unsigned n_attacks, n_survived, n_lost, n_inputs;
static char probs[1536];
static int nprobs;

__attribute__((format(printf, 1, 2))) static void problem(const char *fmt, ...)
{
	size_t n = strlen(probs);
	va_list ap;

	nprobs++;
	if (n + 8 >= sizeof(probs))
		return;
	if (n)
		n += (size_t)snprintf(probs + n, sizeof(probs) - n, "; ");
	va_start(ap, fmt);
	vsnprintf(probs + n, sizeof(probs) - n, fmt, ap);
	va_end(ap);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void put32b(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* ==== frames of our own ==== */

struct reply {
	uint8_t type;
	uint32_t len;	    /* payload bytes, in ans[] */
	int64_t result;	    /* IOCTL_RESP */
	const uint8_t *arg; /* IOCTL_RESP out-argument, in ans[] */
	uint32_t arg_len;
	int32_t err; /* HVW_ERROR: -errno */
};

static uint8_t ans[HVW_MAX_PAYLOAD];
static uint8_t pl[HVW_MAX_PAYLOAD];   /* a request being built */
static uint8_t argb[HVW_MAX_PAYLOAD]; /* an ioctl argument being built */

static const char *reply_str(const struct reply *r)
{
	static char b[96];

	if (r->type == HVW_IOCTL_RESP && r->result < 0)
		snprintf(b, sizeof(b), "IOCTL_RESP -%s", en((int)-r->result));
	else if (r->type == HVW_IOCTL_RESP)
		snprintf(b, sizeof(b), "IOCTL_RESP %lld", (long long)r->result);
	else if (r->type == HVW_ERROR)
		snprintf(b, sizeof(b), "ERROR -%s", en(-r->err));
	else
		snprintf(b, sizeof(b), "%s (%u bytes)", hvw_type_name(r->type), r->len);
	return b;
}

/* Send one frame, wait for its answer; no answer ends the case. */
static int xfer(uint8_t type, const void *p, uint32_t len, struct reply *r, const char *what)
{
	uint32_t seq;
	int n;

	n_inputs++;
	memset(r, 0, sizeof(*r));
	if (hvk_send_frame(H, type, p, len, &seq) < 0)
		return fail("%s: not sent: %s (%s)", what, en(errno), hvk_last_error());
	n = hvk_wait_frame(H, seq, ANSWER_MS, &r->type, ans, sizeof(ans));
	if (n < 0)
		return fail("%s: no answer: %s (%s)", what, en(errno), hvk_last_error());
	r->len = (uint32_t)n;
	if (r->type == HVW_IOCTL_RESP) {
		struct hvw_ioctl_resp resp;

		if (hvw_parse_ioctl_resp(ans, r->len, &resp) < 0)
			return fail("%s: a malformed IOCTL_RESP (%u bytes)", what, r->len);
		r->result = resp.result;
		r->arg = resp.arg;
		r->arg_len = resp.arg_len;
	} else if (r->type == HVW_ERROR) {
		struct hvw_error e;

		if (hvw_parse_error(ans, r->len, &e) < 0)
			return fail("%s: a malformed ERROR (%u bytes)", what, r->len);
		r->err = e.err;
	}
	return T_PASS;
}

/* The answer must be HVW_ERROR -@err (noted, not fatal, when it is not). */
static int want_error(uint8_t type, const void *p, uint32_t len, int err, const char *what)
{
	struct reply r;

	TRY(xfer(type, p, len, &r, what));
	if (r.type != HVW_ERROR || r.err != -err)
		problem("%s: %s, expected ERROR -%s", what, reply_str(&r), en(err));
	return T_PASS;
}

/* The answer must be IOCTL_RESP with @result (a value, or -errno). */
static int want_resp(uint8_t type, const void *p, uint32_t len, int64_t result, const char *what)
{
	struct reply r;

	TRY(xfer(type, p, len, &r, what));
	if (r.type != HVW_IOCTL_RESP || r.result != result) {
		if (result < 0)
			problem("%s: %s, expected IOCTL_RESP -%s", what, reply_str(&r),
				en((int)-result));
		else
			problem("%s: %s, expected IOCTL_RESP %lld", what, reply_str(&r),
				(long long)result);
	}
	return T_PASS;
}

/* An IOCTL_REQ payload in pl[]: the header as given, then @n bytes of @arg. */
static uint32_t ioctl_pl(uint32_t nr, uint16_t target, uint16_t flags, uint32_t vm, uint32_t vcpu,
			 uint32_t arg_len, const void *arg, uint32_t n)
{
	struct hvw_ioctl_req_hdr h = {
	    .nr = nr, .target = target, .flags = flags, .vm = vm, .vcpu = vcpu, .arg_len = arg_len};

	hvw_ioctl_req_hdr_put(pl, &h);
	if (n)
		memmove(pl + HVW_IOCTL_REQ_HDR_LEN, arg, n);
	return HVW_IOCTL_REQ_HDR_LEN + n;
}

/* An honest ioctl frame; an answer other than IOCTL_RESP ends the case. */
static int raw_ioctl(uint32_t nr, uint16_t target, uint32_t vm, uint32_t vcpu, const void *arg,
		     uint32_t len, struct reply *r, const char *what)
{
	uint32_t n = ioctl_pl(nr, target, 0, vm, vcpu, len, arg, len);

	TRY(xfer(HVW_IOCTL_REQ, pl, n, r, what));
	CHECK(r->type == HVW_IOCTL_RESP, "%s: %s, expected IOCTL_RESP", what, reply_str(r));
	return T_PASS;
}

static int want_ioctl(uint32_t nr, uint16_t target, uint32_t vm, uint32_t vcpu, const void *arg,
		      uint32_t len, int64_t result, const char *what)
{
	uint32_t n = ioctl_pl(nr, target, 0, vm, vcpu, len, arg, len);

	return want_resp(HVW_IOCTL_REQ, pl, n, result, what);
}

/* An integer-argument ioctl (8 bytes, or none when @has is false). */
static int want_int_ioctl(uint32_t nr, uint16_t target, uint32_t vm, uint32_t vcpu, bool has,
			  uint64_t val, int64_t result, const char *what)
{
	uint8_t b[8];

	put64(b, val);
	return want_ioctl(nr, target, vm, vcpu, b, has ? 8 : 0, result, what);
}

static int raw_close(uint32_t handle, struct reply *r, const char *what)
{
	uint8_t b[HVW_CLOSE_LEN] = {0};

	put32b(b, handle);
	return xfer(HVW_CLOSE, b, sizeof(b), r, what);
}

static int send_kick(uint32_t vm, uint32_t vcpu, uint32_t len)
{
	uint8_t b[16] = {0};
	uint32_t seq;

	put32b(b, vm);
	put32b(b + 4, vcpu);
	n_inputs++;
	if (hvk_send_frame(H, HVW_KICK, b, len, &seq) < 0)
		return fail("KICK: not sent: %s (%s)", en(errno), hvk_last_error());
	return T_PASS;
}

static int mem_read_pl(uint8_t *b, uint32_t vm, uint32_t len, uint64_t gpa)
{
	put32b(b, vm);
	put32b(b + 4, len);
	put64(b + 8, gpa);
	return HVW_MEM_READ_REQ_LEN;
}

static uint32_t mem_write_pl(uint32_t vm, uint32_t flags, uint64_t gpa, const void *d, uint32_t n)
{
	put32b(pl, vm);
	put32b(pl + 4, flags);
	put64(pl + 8, gpa);
	if (n)
		memmove(pl + HVW_MEM_WRITE_HDR_LEN, d, n);
	return HVW_MEM_WRITE_HDR_LEN + n;
}

static uint32_t mem_changed_pl(uint8_t *b, uint32_t vm, uint32_t flags, uint64_t gpa, uint64_t len)
{
	put32b(b, vm);
	put32b(b + 4, flags);
	put64(b + 8, gpa);
	put64(b + 16, len);
	return HVW_MEM_CHANGED_REQ_LEN;
}

/* MEM_CHANGED over [gpa, gpa + len): the pages it reports, in *@count. */
static int mem_changed(uint32_t vm, uint64_t gpa, uint64_t len, uint32_t *count, uint64_t *first,
		       const char *what)
{
	struct hvw_mem_changed_resp m;
	uint64_t cur = gpa, end = gpa + len;
	uint8_t b[HVW_MEM_CHANGED_REQ_LEN];
	struct reply r;

	*count = 0;
	*first = 0;
	for (int rounds = 0; cur != end && rounds < 64; rounds++) {
		TRY(xfer(HVW_MEM_CHANGED_REQ, b, mem_changed_pl(b, vm, 0, cur, end - cur), &r,
			 what));
		CHECK(r.type == HVW_MEM_CHANGED_RESP, "%s: %s", what, reply_str(&r));
		CHECK(hvw_parse_mem_changed_resp(ans, r.len, &m) == 0, "%s: malformed answer",
		      what);
		if (m.count && !*count) {
			struct hvw_page p;
			uint32_t off = 0;

			if (hvw_mem_changed_entry(&m, &off, &p) == 1)
				*first = p.gpa;
		}
		*count += m.count;
		CHECK(m.next > cur || m.next == end, "%s: next 0x%llx does not advance from 0x%llx",
		      what, (unsigned long long)m.next, (unsigned long long)cur);
		cur = m.next;
	}
	CHECK(cur == end, "%s: the scan never reached the end", what);
	return T_PASS;
}

/* ==== the raw line, for bytes that are not frames ==== */

/* The descriptor the connection uses: the one socket or tty above stderr. */
static int line_fd(void)
{
	static int fd = -2;

	if (fd != -2)
		return fd;
	fd = -1;
	for (int i = 3; i < 1024; i++) {
		struct stat st;

		if (fstat(i, &st) < 0 || !(S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode)))
			continue;
		if (fd >= 0) {
			fd = -1; /* two candidates: do not guess */
			break;
		}
		fd = i;
	}
	return fd;
}

static int line_write(const void *buf, size_t n)
{
	const uint8_t *p = buf;
	int fd = line_fd();

	n_inputs++;
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k < 0 && errno == ENOTSOCK)
			k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return fail("writing %zu raw bytes: %s", n, strerror(errno));
		p += k;
		n -= (size_t)k;
	}
	return T_PASS;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rand64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The hypervisor still answers: KVM_GET_API_VERSION; its time in *@ms. */
static int probe(const char *after, double *ms)
{
	double t0 = now_s();
	int r;

	errno = 0;
	r = ioc_int(KVM, KVM_GET_API_VERSION, 0);
	if (ms)
		*ms = (now_s() - t0) * 1000;
	CHECK(r == KVM_API_VERSION, "KVM_GET_API_VERSION after %s: %s", after,
	      result_str(r, errno));
	return T_PASS;
}

/* ==== VMs: borrowing the harness's when the table is full ==== */

static struct vm *keep_shared, *keep_newest;
static struct vm *borrowed[MAX_VMS];
static int nborrowed;

static bool is_borrowed(const struct vm *vm)
{
	for (int i = 0; i < nborrowed; i++)
		if (borrowed[i] == vm)
			return true;
	return false;
}

/* Close one of the harness's VMs (not the shared vCPU's, not the newest). */
static int borrow_one(void)
{
	for (int i = 0; i < nvms; i++) {
		struct vm *vm = &vms[i];

		if (vm == keep_shared || vm == keep_newest || is_borrowed(vm) || !vm->mem)
			continue;
		hvk_close_fd(H, vm->fd);
		borrowed[nborrowed++] = vm;
		if (chatty())
			fprintf(stderr, "  borrowed the harness's VM in vms[%d]\n", i);
		return 0;
	}
	return -1;
}

/* Put fresh VMs where borrowed ones were, as vm_new() sets one up. */
static int restore_borrowed(void)
{
	while (nborrowed) {
		struct vm *vm = borrowed[nborrowed - 1];
		struct kvm_userspace_memory_region r = {0};
		int fd, rc;

		OK(fd, "KVM_CREATE_VM (giving a VM back to the harness)",
		   ioc_int(KVM, KVM_CREATE_VM, 0));
		memset(vm->mem, 0, G_MEM_SIZE);
		for (uint32_t v = 0; v < G_NR_STUBS; v++)
			put16(vm->mem, v * 4, (uint16_t)(G_VEC + v * G_STUB_SIZE));
		memcpy(vm->mem + G_VEC, BLOB(g_vectors).p, BLOB(g_vectors).n);
		r.memory_size = G_MEM_SIZE;
		r.userspace_addr = (uint64_t)(uintptr_t)vm->mem;
		vm->fd = fd;
		vm->nvcpus = 0;
		nborrowed--;
		OK(rc, "KVM_SET_USER_MEMORY_REGION (a VM given back)",
		   ioc(fd, KVM_SET_USER_MEMORY_REGION, &r));
	}
	return T_PASS;
}

/* KVM_CREATE_VM through the library, borrowing on ENOSPC. */
static int create_vm_fd(void)
{
	for (;;) {
		int fd;

		errno = 0;
		fd = ioc_int(KVM, KVM_CREATE_VM, 0);
		if (fd >= 0 || errno != ENOSPC)
			return fd;
		if (borrow_one() < 0) {
			errno = ENOSPC;
			return -1;
		}
	}
}

/* KVM_CREATE_VM as a frame (the library never knows the VM): its handle. */
static int raw_create_vm(uint32_t *handle, bool may_borrow)
{
	struct reply r;

	for (;;) {
		TRY(raw_ioctl(KVM_CREATE_VM, HVW_TARGET_SYSTEM, 0, 0, NULL, 0, &r,
			      "KVM_CREATE_VM"));
		if (r.result > 0) {
			*handle = (uint32_t)r.result;
			return T_PASS;
		}
		if (r.result != -ENOSPC || !may_borrow || borrow_one() < 0)
			return fail("KVM_CREATE_VM: %s", reply_str(&r));
	}
}

static int raw_region(uint32_t vm, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
		      uint64_t uaddr, struct reply *r, const char *what)
{
	struct kvm_userspace_memory_region m = {.slot = slot,
						.flags = flags,
						.guest_phys_addr = gpa,
						.memory_size = size,
						.userspace_addr = uaddr};

	return raw_ioctl(KVM_SET_USER_MEMORY_REGION, HVW_TARGET_VM, vm, 0, &m, sizeof(m), r, what);
}

/* ==== vCPU state, read whole in one round trip ==== */

/*
 * KVM_RUN with immediate_exit and every sync set in kvm_valid_regs, sent
 * as a frame: the vCPU does not enter the guest (a pending OUT is
 * completed first, as on Linux) and the answer's kvm_run.s holds its
 * registers, segment and control registers, events, debug registers, FPU
 * and the eight MSRs named in s.hv.msrs: one round trip, not seven ioctls.
 */
static const uint32_t snap_msrs[HV_SYNC_REGS_NUM_MSRS] = {
    M_KGS_BASE, M_STAR, M_LSTAR, M_CSTAR, M_FMASK, M_SYSENTER_EIP, M_TSC_AUX, M_PAT,
};
#define SNAP_SETS (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS | HV_SYNC_ALL)

static int snap(uint32_t vm, uint32_t vcpu, struct hv_sync_regs *out, const char *what)
{
	static struct kvm_run kr;
	struct reply r;

	memset(&kr, 0, sizeof(kr));
	kr.immediate_exit = 1;
	kr.kvm_valid_regs = SNAP_SETS;
	kr.s.hv.msrs.nmsrs = HV_SYNC_REGS_NUM_MSRS;
	for (unsigned i = 0; i < HV_SYNC_REGS_NUM_MSRS; i++)
		kr.s.hv.msrs.entries[i].index = snap_msrs[i];
	TRY(raw_ioctl(KVM_RUN, HVW_TARGET_VCPU, vm, vcpu, &kr, sizeof(kr), &r, what));
	CHECK(r.result == -EINTR && r.arg_len >= sizeof(kr),
	      "%s: %s with %u bytes, expected -EINTR and a kvm_run", what, reply_str(&r),
	      r.arg_len);
	memcpy(out, r.arg + offsetof(struct kvm_run, s), sizeof(*out));
	return T_PASS;
}

/* The first difference between two snapshots, or NULL. */
static const char *snap_diff(const struct hv_sync_regs *a, const struct hv_sync_regs *b)
{
	static char d[240];
	const uint64_t *ra = (const uint64_t *)&a->kvm.regs, *rb = (const uint64_t *)&b->kvm.regs;
	const struct kvm_sregs *sa = &a->kvm.sregs, *sb = &b->kvm.sregs;
	static const char *const rn[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi",
					 "rsp", "rbp", "r8",  "r9",  "r10", "r11",
					 "r12", "r13", "r14", "r15", "rip", "rflags"};

	for (unsigned i = 0; i < 18; i++)
		if (ra[i] != rb[i]) {
			snprintf(d, sizeof(d), "%s 0x%llx, was 0x%llx", rn[i],
				 (unsigned long long)ra[i], (unsigned long long)rb[i]);
			return d;
		}
	if (memcmp(sa, sb, sizeof(*sa))) {
		snprintf(d, sizeof(d),
			 "sregs: cr0 0x%llx/0x%llx cr3 0x%llx/0x%llx cr4 0x%llx/0x%llx "
			 "efer 0x%llx/0x%llx fs.base 0x%llx/0x%llx gdt 0x%llx/0x%llx (now/was)",
			 (unsigned long long)sa->cr0, (unsigned long long)sb->cr0,
			 (unsigned long long)sa->cr3, (unsigned long long)sb->cr3,
			 (unsigned long long)sa->cr4, (unsigned long long)sb->cr4,
			 (unsigned long long)sa->efer, (unsigned long long)sb->efer,
			 (unsigned long long)sa->fs.base, (unsigned long long)sb->fs.base,
			 (unsigned long long)sa->gdt.base, (unsigned long long)sb->gdt.base);
		return d;
	}
	if (memcmp(&a->kvm.events, &b->kvm.events, sizeof(a->kvm.events)))
		return "vCPU events differ";
	if (memcmp(&a->debugregs, &b->debugregs, sizeof(a->debugregs))) {
		snprintf(
		    d, sizeof(d),
		    "debug registers: dr0 0x%llx/0x%llx dr3 0x%llx/0x%llx dr6 "
		    "0x%llx/0x%llx dr7 0x%llx/0x%llx (now/was)",
		    (unsigned long long)a->debugregs.db[0], (unsigned long long)b->debugregs.db[0],
		    (unsigned long long)a->debugregs.db[3], (unsigned long long)b->debugregs.db[3],
		    (unsigned long long)a->debugregs.dr6, (unsigned long long)b->debugregs.dr6,
		    (unsigned long long)a->debugregs.dr7, (unsigned long long)b->debugregs.dr7);
		return d;
	}
	if (memcmp(&a->fpu, &b->fpu, sizeof(a->fpu))) {
		snprintf(d, sizeof(d),
			 "FPU: fcw 0x%x/0x%x mxcsr 0x%x/0x%x st0 %02x/%02x xmm0 "
			 "%02x/%02x xmm15 %02x/%02x (now/was)",
			 a->fpu.fcw, b->fpu.fcw, a->fpu.mxcsr, b->fpu.mxcsr, a->fpu.fpr[0][0],
			 b->fpu.fpr[0][0], a->fpu.xmm[0][0], b->fpu.xmm[0][0], a->fpu.xmm[15][15],
			 b->fpu.xmm[15][15]);
		return d;
	}
	for (unsigned i = 0; i < HV_SYNC_REGS_NUM_MSRS; i++)
		if (a->msrs.entries[i].data != b->msrs.entries[i].data ||
		    a->msrs.entries[i].index != b->msrs.entries[i].index) {
			snprintf(d, sizeof(d), "MSR 0x%x = 0x%llx, was 0x%llx",
				 a->msrs.entries[i].index,
				 (unsigned long long)a->msrs.entries[i].data,
				 (unsigned long long)b->msrs.entries[i].data);
			return d;
		}
	return NULL;
}

struct outcome {
	int r, e;
	bool kicked;
	uint32_t exit;
	bool out;      /* an OUT to G_PORT */
	uint32_t data; /* its data */
};

static const char *outcome_str(const struct outcome *o, const struct vcpu *v)
{
	static char b[300];

	snprintf(b, sizeof(b), "KVM_RUN %s%s, %s", o->r < 0 ? "-1/" : "0", o->r < 0 ? en(o->e) : "",
		 exit_str(v->run));
	if (o->kicked)
		snprintf(b + strlen(b), sizeof(b) - strlen(b), " (after KICKs)");
	return b;
}

/* KVM_RUN of @v; KICKed after @ms. */
static int run_bounded(struct vcpu *v, int ms, struct outcome *o)
{
	struct runner rn;

	memset(o, 0, sizeof(*o));
	n_inputs++;
	TRY(runner_start(&rn, v));
	if (!runner_wait(&rn, ms)) {
		o->kicked = true;
		if (!runner_stop(&rn))
			return fail("KVM_RUN did not return in 90 s of KICKs");
	} else {
		runner_stop(&rn);
	}
	o->r = rn.r;
	o->e = rn.e;
	o->exit = v->run->exit_reason;
	if (o->r == 0 && o->exit == KVM_EXIT_IO && v->run->io.direction == KVM_EXIT_IO_OUT &&
	    v->run->io.port == G_PORT && v->run->io.size == 4) {
		o->out = true;
		o->data = get32((const uint8_t *)v->run + v->run->io.data_offset);
	}
	if (chatty())
		fprintf(stderr, "  %s\n", outcome_str(o, v));
	return T_PASS;
}

/* A run that must end in the guest's OUT of @want. */
static int run_want_out(struct vcpu *v, uint32_t want, int ms, const char *what)
{
	struct outcome o;

	TRY(run_bounded(v, ms, &o));
	CHECK(o.out && o.data == want, "%s: %s, expected the guest's OUT 0x%x", what,
	      outcome_str(&o, v), want);
	return T_PASS;
}

/* ==== attacker VMs ==== */

struct avm {
	struct vm vm;
	struct vcpu v[2];
	int nv;
	uint32_t handle;
	bool open;
};

/*
 * The attacker VMs open now, closed by attack() if the case ends early:
 * each case keeps its struct avm in static storage, so these stay valid.
 */
static struct avm *live[MAX_AVMS];
/* Real mode at 0, IVT limit 0x3ff; the rest as a new vCPU has it (hostile_sentinel). */
static struct kvm_sregs real_tmpl;

static void ivt_all(uint8_t *mem)
{
	for (uint32_t v = 0; v < 256; v++) {
		put16(mem, v * 4, (uint16_t)LOAD(HG_STUBS + v * HG_STUB_SIZE));
		put16(mem, v * 4 + 2, 0);
	}
}

static void set_ivt(struct avm *a, unsigned vec, uint32_t entry)
{
	put16(a->vm.mem, vec * 4, (uint16_t)LOAD(entry));
}

/*
 * Real mode at @entry, stack at G_STACK, IF as asked (and, with @events,
 * no event pending), loaded by the next KVM_RUN through the sync sets:
 * no round trip of its own. The run's answer brings the registers back
 * (kvm_valid_regs = KVM_SYNC_X86_REGS).
 */
static void prep(struct vcpu *v, uint32_t entry, bool if_on, bool events)
{
	struct kvm_run *run = v->run;

	memset(&run->s.regs.regs, 0, sizeof(run->s.regs.regs));
	run->s.regs.regs.rip = LOAD(entry);
	run->s.regs.regs.rsp = G_STACK;
	run->s.regs.regs.rflags = RFLAGS_FIXED | (if_on ? RFLAGS_IF : 0);
	run->s.regs.sregs = real_tmpl;
	run->kvm_dirty_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	if (events) {
		memset(&run->s.regs.events, 0, sizeof(run->s.regs.events));
		run->s.regs.events.flags =
		    KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
		run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
	}
	run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	run->immediate_exit = 0;
	run->request_interrupt_window = 0;
}

/* The same state through KVM_SET_SREGS, KVM_SET_REGS and KVM_SET_VCPU_EVENTS. */
static int load_state(struct vcpu *v, uint32_t entry, bool if_on)
{
	struct kvm_vcpu_events ev = {.flags = KVM_VCPUEVENT_VALID_NMI_PENDING |
					      KVM_VCPUEVENT_VALID_SHADOW};
	struct kvm_regs regs = {
	    .rip = LOAD(entry), .rsp = G_STACK, .rflags = RFLAGS_FIXED | (if_on ? RFLAGS_IF : 0)};
	int r;

	OK(r, "KVM_SET_SREGS (real mode)", ioc(v->fd, KVM_SET_SREGS, &real_tmpl));
	OK(r, "KVM_SET_REGS", ioc(v->fd, KVM_SET_REGS, &regs));
	OK(r, "KVM_SET_VCPU_EVENTS (none pending)", ioc(v->fd, KVM_SET_VCPU_EVENTS, &ev));
	v->run->kvm_dirty_regs = 0;
	v->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	v->run->immediate_exit = 0;
	v->run->request_interrupt_window = 0;
	return T_PASS;
}

static int set_rip(struct vcpu *v, uint32_t entry)
{
	struct kvm_regs regs = {0};
	int r;

	OK(r, "KVM_GET_REGS", ioc(v->fd, KVM_GET_REGS, &regs));
	regs.rip = LOAD(entry);
	OK(r, "KVM_SET_REGS", ioc(v->fd, KVM_SET_REGS, &regs));
	v->run->kvm_dirty_regs = 0;
	return T_PASS;
}

/* The vCPU works again once reset with the ioctls: HG_OUT gives its value. */
static int usable(struct vcpu *v, const char *after)
{
	char what[160];

	snprintf(what, sizeof(what), "HG_OUT after %s and KVM_SET_SREGS/REGS", after);
	TRY(load_state(v, HG_OUT, false));
	return run_want_out(v, HG_OUT_VAL, 20000, what);
}

static int avm_open(struct avm *a, int nv)
{
	struct kvm_userspace_memory_region r = {0};
	int fd, rc, slot = -1;

	memset(a, 0, sizeof(*a));
	for (int i = 0; i < MAX_AVMS && slot < 0; i++)
		if (!live[i])
			slot = i;
	CHECK(slot >= 0, "more than %d attacker VMs", MAX_AVMS);
	OK(fd, "KVM_CREATE_VM", create_vm_fd());
	a->vm.fd = fd;
	a->open = true;
	live[slot] = a;
	CHECK(hvk_fd_target(H, fd, &a->handle, NULL) == 1, "hvk_fd_target of a VM");
	a->vm.mem = aligned_alloc(PG, G_MEM_SIZE);
	CHECK(a->vm.mem, "out of memory");
	memset(a->vm.mem, 0, G_MEM_SIZE);
	ivt_all(a->vm.mem);
	memcpy(a->vm.mem + G_LOAD, BLOB(g_hostile).p, BLOB(g_hostile).n);
	r.memory_size = G_MEM_SIZE;
	r.userspace_addr = (uint64_t)(uintptr_t)a->vm.mem;
	OK(rc, "KVM_SET_USER_MEMORY_REGION", ioc(fd, KVM_SET_USER_MEMORY_REGION, &r));
	for (int i = 0; i < nv; i++) {
		struct vcpu *v = &a->v[i];

		OK(fd, "KVM_CREATE_VCPU", ioc_int(a->vm.fd, KVM_CREATE_VCPU, (unsigned long)i));
		v->fd = fd;
		v->id = i;
		v->vm = &a->vm;
		a->vm.nvcpus = ++a->nv;
		v->run = hvk_mmap(H, fd, HVK_RUN_MAP_SIZE);
		CHECK(v->run != MAP_FAILED, "hvk_mmap: %s (%s)", en(errno), hvk_last_error());
		prep(v, HG_OUT, false, true);
	}
	OK(rc, "hvk_sync", hvk_sync(H, a->vm.fd, HVK_SYNC_BEFORE_RUN));
	return T_PASS;
}

struct msr_set {
	uint32_t index;
	uint64_t val;
};

/* KVM_SET_MSRS of a list, in as few calls as the refusals allow: how many were taken. */
static int set_msrs(int fd, const struct msr_set *l, unsigned n)
{
	static struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[64];
	} m;
	unsigned i = 0, taken = 0;

	while (i < n) {
		unsigned k = n - i < 64 ? n - i : 64;
		int r;

		memset(&m, 0, sizeof(m));
		m.h.nmsrs = k;
		for (unsigned j = 0; j < k; j++) {
			m.e[j].index = l[i + j].index;
			m.e[j].data = l[i + j].val;
		}
		n_inputs++;
		r = ioc(fd, KVM_SET_MSRS, &m);
		if (r < 0 || (unsigned)r > k)
			return -1;
		taken += (unsigned)r;
		i += (unsigned)r + ((unsigned)r < k);
	}
	return (int)taken;
}

/*
 * What an attacker leaves in a vCPU, for the leak check never to see:
 * registers, debug registers, FPU and eight MSRs, loaded by one KVM_RUN
 * with immediate_exit through the sync sets (the MSRs last: one refused
 * leaves the others loaded).
 */
static void taint_vcpu(struct vcpu *v)
{
	static const struct kvm_msr_entry t[HV_SYNC_REGS_NUM_MSRS] = {
	    {.index = M_KGS_BASE, .data = 0xffff8888a77acc00ull},
	    {.index = M_STAR, .data = 0xa77a00a7a77a0000ull},
	    {.index = M_LSTAR, .data = 0xffff8888a77ac100ull},
	    {.index = M_CSTAR, .data = 0xffff8888a77ac200ull},
	    {.index = M_FMASK, .data = 0xa77acull},
	    {.index = M_SYSENTER_EIP, .data = 0xa77ac100ull},
	    {.index = M_PAT, .data = 0x0606060606060606ull},
	    {.index = M_TSC_AUX, .data = 0xa7},
	};
	struct kvm_run *run = v->run;

	memset(&run->s.regs.regs, 0xa7, sizeof(run->s.regs.regs));
	run->s.regs.regs.rflags = RFLAGS_FIXED;
	memset(&run->s.hv.debugregs, 0, sizeof(run->s.hv.debugregs));
	for (int i = 0; i < 4; i++)
		run->s.hv.debugregs.db[i] = 0xa77a1000ull + 0x1000ull * (uint64_t)i;
	run->s.hv.debugregs.dr6 = 0xffff0ff0;
	run->s.hv.debugregs.dr7 = 0x400;
	memset(&run->s.hv.fpu, 0xa7, sizeof(run->s.hv.fpu));
	run->s.hv.fpu.fcw = 0x0a7f;
	run->s.hv.fpu.ftwx = 0xff;
	run->s.hv.fpu.mxcsr = 0x1f80;
	run->s.hv.msrs.nmsrs = HV_SYNC_REGS_NUM_MSRS;
	memcpy(run->s.hv.msrs.entries, t, sizeof(t));
	run->kvm_dirty_regs =
	    KVM_SYNC_X86_REGS | HV_SYNC_X86_DEBUGREGS | HV_SYNC_X86_FPU | HV_SYNC_X86_MSRS;
	run->kvm_valid_regs = 0;
	run->immediate_exit = 1;
	hvk_ioctl(H, v->fd, KVM_RUN, 0);
	run->immediate_exit = 0;
}

/* Mark it (errors ignored: the attack may have closed it), then close it. */
static void avm_close(struct avm *a)
{
	static uint8_t page[PG];

	if (!a->open)
		return;
	for (int i = 0; i < a->nv; i++)
		taint_vcpu(&a->v[i]);
	memset(page, 0xa7, sizeof(page));
	hvk_mem_write(H, a->vm.fd, 0x6000, page, sizeof(page));
	for (int i = 0; i < a->nv; i++)
		hvk_close_fd(H, a->v[i].fd);
	hvk_close_fd(H, a->vm.fd);
	a->open = false;
	free(a->vm.mem);
	a->vm.mem = NULL;
	for (int i = 0; i < MAX_AVMS; i++)
		if (live[i] == a)
			live[i] = NULL;
}

static void close_live(void)
{
	for (int i = 0; i < MAX_AVMS; i++)
		if (live[i])
			avm_close(live[i]);
}

/* ==== the sentinel, and the checks after each attack ==== */

static struct {
	bool made;
	struct vm vm;
	struct vcpu v;
	uint32_t handle;
	uint8_t *mem1;
	uint8_t want[2 * SENT_SIZE]; /* both slots, adjacent */
	struct hv_sync_regs st;
} S;

static struct hv_sync_regs fresh; /* a new vCPU, as the suite's first one read */
static bool have_fresh;

static const uint64_t sent_gpr[16] = {
    0x5e471e1000a0a0a0ull,	    0x5e471e1100b1b1b1ull, 0x5e471e1200c2c2c2ull,
    0x5e471e1300000000ull | G_PORT, 0x5e471e1400e4e4e4ull, 0x5e471e1500f5f5f5ull,
    0x0000000000000ff0ull,	    0x5e471e1700070707ull, 0x5e471e1800080808ull,
    0x5e471e1900090909ull,	    0x5e471e1a000a0a0aull, 0x5e471e1b000b0b0bull,
    0x5e471e1c000c0c0cull,	    0x5e471e1d000d0d0dull, 0x5e471e1e000e0e0eull,
    0x5e471e1f000f0f0full,
};

/* Real mode at 0 with an IVT, from a new vCPU's segment registers. */
static void make_real_tmpl(const struct kvm_sregs *reset)
{
	real_tmpl = *reset;
	real_seg(&real_tmpl.cs, 0xb);
	real_seg(&real_tmpl.ds, 0x3);
	real_tmpl.es = real_tmpl.fs = real_tmpl.gs = real_tmpl.ss = real_tmpl.ds;
	real_tmpl.tr = (struct kvm_segment){.limit = 0xffff, .type = 11, .present = 1};
	real_tmpl.ldt = (struct kvm_segment){.limit = 0xffff, .type = 2, .present = 1};
	real_tmpl.gdt.base = 0;
	real_tmpl.gdt.limit = 0xffff;
	real_tmpl.idt.base = 0;
	real_tmpl.idt.limit = 0x3ff;
	real_tmpl.cr0 = (real_tmpl.cr0 & ~(CR0_PE | CR0_PG | CR0_EM | CR0_TS)) | CR0_MP;
	real_tmpl.cr2 = real_tmpl.cr3 = real_tmpl.cr4 = real_tmpl.cr8 = real_tmpl.efer = 0;
	memset(real_tmpl.interrupt_bitmap, 0, sizeof(real_tmpl.interrupt_bitmap));
}

/* The leak check: a new VM's memory is zero, its new vCPU as the first was. */
static int leak_check(char *msg, size_t cap, bool *lost)
{
	struct hv_sync_regs s;
	uint64_t first = 0;
	struct reply r;
	uint32_t h, count = 0;
	const char *d;

	*lost = false;
	TRY(raw_create_vm(&h, true));
	TRY(raw_region(h, 0, 0, 0, LEAK_SIZE, LEAK_UADDR, &r, "leak check: its slot"));
	if (r.result != 0) {
		raw_close(h, &r, "CLOSE");
		return fail("leak check: KVM_SET_USER_MEMORY_REGION of 1 MiB: %s", reply_str(&r));
	}
	TRY(mem_changed(h, 0, LEAK_SIZE, &count, &first, "leak check: MEM_CHANGED"));
	TRY(want_int_ioctl(KVM_CREATE_VCPU, HVW_TARGET_VM, h, 0, true, 0, 0,
			   "leak check: KVM_CREATE_VCPU 0"));
	TRY(snap(h, 0, &s, "leak check: the new vCPU's state"));
	TRY(raw_close(h, &r, "leak check: CLOSE"));
	if (count) {
		*lost = true;
		snprintf(msg, cap,
			 "a new VM's memory is not all zero: %u non-zero page(s), the "
			 "first at 0x%llx",
			 count, (unsigned long long)first);
		return T_PASS;
	}
	if (!have_fresh) {
		fresh = s;
		have_fresh = true;
		make_real_tmpl(&fresh.kvm.sregs);
		return T_PASS;
	}
	d = snap_diff(&s, &fresh);
	if (d) {
		*lost = true;
		snprintf(msg, cap, "a new vCPU does not start as the first did: %s", d);
	}
	return T_PASS;
}

static int sentinel_diff(char *msg, size_t cap, bool *lost)
{
	static uint8_t got[2 * SENT_SIZE];
	struct hv_sync_regs s;
	const char *d;
	int r;

	*lost = false;
	TRY(snap(S.handle, 0, &s, "the sentinel's state"));
	d = snap_diff(&s, &S.st);
	if (d) {
		*lost = true;
		snprintf(msg, cap, "the sentinel's vCPU changed: %s", d);
		return T_PASS;
	}
	OK(r, "hvk_mem_read (sentinel)", hvk_mem_read(H, S.vm.fd, 0, got, sizeof(got)));
	for (uint32_t i = 0; i < sizeof(got); i++)
		if (got[i] != S.want[i]) {
			*lost = true;
			snprintf(msg, cap,
				 "the sentinel's memory changed: gpa 0x%x holds 0x%02x, was "
				 "0x%02x",
				 i, got[i], S.want[i]);
			return T_PASS;
		}
	return T_PASS;
}

enum { PC_OK, PC_LOST, PC_SILENT };

/* An answer to KVM_GET_API_VERSION within @ms. */
static bool alive(int ms)
{
	uint32_t seq, n = ioctl_pl(KVM_GET_API_VERSION, 0, 0, 0, 0, 0, NULL, 0);
	uint8_t type;

	if (hvk_send_frame(H, HVW_IOCTL_REQ, pl, n, &seq) < 0)
		return false;
	return hvk_wait_frame(H, seq, ms, &type, ans, sizeof(ans)) >= 0 && type == HVW_IOCTL_RESP;
}

/* After an attack: answers, sentinel, leaks. */
static int post_check(char *msg, size_t cap)
{
	bool lost = false;
	int r;

	msg[0] = 0;
	why[0] = 0;
	errno = 0;
	r = ioc_int(KVM, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		snprintf(msg, cap, "the hypervisor no longer answers: KVM_GET_API_VERSION %s (%s)",
			 result_str(r, errno), hvk_last_error());
		return PC_SILENT;
	}
	if (sentinel_diff(msg, cap, &lost) != T_PASS) {
		snprintf(msg, cap, "reading the sentinel: %s", why);
		return PC_SILENT;
	}
	if (lost)
		return PC_LOST;
	if (leak_check(msg, cap, &lost) != T_PASS) {
		snprintf(msg, cap, "the leak check: %s", why);
		return PC_SILENT;
	}
	return lost ? PC_LOST : PC_OK;
}

static int t_sentinel(void);

static int attack(int (*fn)(void))
{
	static char amsg[1024], pmsg[1024];
	struct hvk_stats st0, st1, st2;
	double t0, t1;
	int rc, pc;

	/* Run alone (-t hostile_<what>), a case makes the sentinel first. */
	if (!S.made && t_sentinel() != T_PASS)
		return fail("making the sentinel: %s", why);
	n_attacks++;
	probs[0] = 0;
	nprobs = 0;
	why[0] = 0;
	hvk_stats(H, &st0);
	t0 = now_s();
	rc = fn();
	t1 = now_s();
	hvk_stats(H, &st1);
	if (rc == T_PASS && nprobs)
		rc = fail("%s", probs);
	else if (rc == T_FAIL && nprobs)
		snprintf(why + strlen(why), sizeof(why) - strlen(why), "; %s", probs);
	snprintf(amsg, sizeof(amsg), "%s", why);
	if (!alive(15000)) {
		for (int i = 0; i < MAX_AVMS; i++)
			live[i] = NULL;
		return fail("%s%sthe hypervisor gives no answer 15 s after the attack", amsg,
			    amsg[0] ? "; then " : "");
	}
	close_live();
	pc = post_check(pmsg, sizeof(pmsg));
	if (pc == PC_OK)
		n_survived++;
	else if (pc == PC_LOST)
		n_lost++;
	if (restore_borrowed() != T_PASS && pc == PC_OK) {
		pc = PC_SILENT;
		snprintf(pmsg, sizeof(pmsg), "%s", why);
	}
	hvk_stats(H, &st2);
	if (chatty())
		fprintf(stderr,
			"  attack %.1f s (%llu requests, %llu/%llu bytes out/in), checks "
			"%.1f s (%llu requests, %llu/%llu bytes)\n",
			t1 - t0, (unsigned long long)(st1.requests - st0.requests),
			(unsigned long long)(st1.bytes_out - st0.bytes_out),
			(unsigned long long)(st1.bytes_in - st0.bytes_in), now_s() - t1,
			(unsigned long long)(st2.requests - st1.requests),
			(unsigned long long)(st2.bytes_out - st1.bytes_out),
			(unsigned long long)(st2.bytes_in - st1.bytes_in));
	if (pc != PC_OK)
		return fail("%s%s%s", rc == T_PASS ? "" : amsg, rc == T_PASS ? "" : "; then ",
			    pmsg);
	snprintf(why, sizeof(why), "%s", amsg);
	return rc;
}

/* ==== hostile_sentinel: the VM every attack must leave alone ==== */

static uint8_t pattern(uint32_t i)
{
	return i < SENT_SIZE ? (uint8_t)((i * 7 + 0x5a) ^ (i >> 8))
			     : (uint8_t)((i * 13 + 0xc3) ^ (i >> 5));
}

static void seg(struct kvm_segment *s, uint16_t sel)
{
	real_seg(s, 3);
	s->selector = sel;
	s->base = (uint64_t)sel << 4;
}

static int t_sentinel(void)
{
	static const struct msr_set msrs[] = {
	    {M_SYSENTER_CS, 0x51},
	    {M_SYSENTER_ESP, 0x5e55e550},
	    {M_SYSENTER_EIP, 0x5e1e1e10},
	    {M_STAR, 0x0023001000000000ull},
	    {M_LSTAR, 0xffffffff81a00000ull},
	    {M_CSTAR, 0xffffffff81a00100ull},
	    {M_FMASK, 0x47700},
	    {M_KGS_BASE, 0xffff888012345000ull},
	    {M_PAT, 0x0007010600070106ull},
	    {M_MTRR_DEF, 0xc06},
	    {M_TSC_AUX, 0x5e},
	};
	struct kvm_userspace_memory_region r = {0};
	struct kvm_debugregs d = {
	    .db = {0x1000, 0x2000, 0x3000, 0x4000}, .dr6 = 0xffff0ff1, .dr7 = 0x400};
	struct kvm_sregs sr;
	struct kvm_regs regs;
	struct kvm_fpu f;
	struct vcpu tmp;
	struct vm *nv;
	struct outcome o;
	char msg[300];
	bool lost;
	int fd, rc;

	if (S.made)
		return T_PASS;
	/* Learn which harness VMs must never be borrowed (this makes them if need be). */
	TRY(vcpu_shared(&tmp, BLOB(g_vectors), 0));
	keep_shared = tmp.vm;
	TRY(vm_new(&nv));
	keep_newest = nv;
	/* The reference new vCPU, before any attack (and the real-mode template). */
	TRY(leak_check(msg, sizeof(msg), &lost));
	CHECK(!lost, "before any attack: %s", msg);

	OK(fd, "KVM_CREATE_VM (sentinel)", create_vm_fd());
	S.vm.fd = fd;
	CHECK(hvk_fd_target(H, fd, &S.handle, NULL) == 1, "hvk_fd_target of the sentinel");
	S.vm.mem = aligned_alloc(PG, SENT_SIZE);
	S.mem1 = aligned_alloc(PG, SENT_SIZE);
	CHECK(S.vm.mem && S.mem1, "out of memory");
	for (uint32_t i = 0; i < 2 * SENT_SIZE; i++)
		S.want[i] = pattern(i);
	memcpy(S.want + SENT_CODE, BLOB(g_hostile).p + HG_SENTINEL, HG_SENTINEL_LEN);
	memcpy(S.vm.mem, S.want, SENT_SIZE);
	memcpy(S.mem1, S.want + SENT_SIZE, SENT_SIZE);
	r.memory_size = SENT_SIZE;
	r.userspace_addr = (uint64_t)(uintptr_t)S.vm.mem;
	OK(rc, "KVM_SET_USER_MEMORY_REGION (sentinel slot 0)",
	   ioc(fd, KVM_SET_USER_MEMORY_REGION, &r));
	r.slot = 1;
	r.guest_phys_addr = SENT_SIZE;
	r.userspace_addr = (uint64_t)(uintptr_t)S.mem1;
	OK(rc, "KVM_SET_USER_MEMORY_REGION (sentinel slot 1)",
	   ioc(fd, KVM_SET_USER_MEMORY_REGION, &r));
	OK(fd, "KVM_CREATE_VCPU (sentinel)", ioc_int(S.vm.fd, KVM_CREATE_VCPU, 0));
	S.v.fd = fd;
	S.v.vm = &S.vm;
	S.vm.nvcpus = 1;
	S.v.run = hvk_mmap(H, fd, HVK_RUN_MAP_SIZE);
	CHECK(S.v.run != MAP_FAILED, "hvk_mmap: %s (%s)", en(errno), hvk_last_error());

	sr = real_tmpl;
	seg(&sr.ds, 0x0010);
	seg(&sr.es, 0x0020);
	seg(&sr.fs, 0x1234);
	seg(&sr.gs, 0x0040);
	sr.cr2 = 0xc2c2c2c2;
	sr.cr3 = 0x5000;
	sr.gdt.base = 0xabc000;
	sr.gdt.limit = 0x7ff;
	OK(rc, "KVM_SET_SREGS (sentinel)", ioc(fd, KVM_SET_SREGS, &sr));
	memcpy(&regs, sent_gpr, sizeof(sent_gpr));
	regs.rip = SENT_CODE;
	regs.rflags = 0x8c7; /* CF PF ZF SF OF, IF clear */
	OK(rc, "KVM_SET_REGS (sentinel)", ioc(fd, KVM_SET_REGS, &regs));
	/* What is refused reads back as it is. */
	OK(rc, "KVM_SET_MSRS (sentinel)", set_msrs(fd, msrs, sizeof(msrs) / sizeof(msrs[0])));
	memset(&f, 0, sizeof(f));
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 10; j++)
			f.fpr[i][j] = (uint8_t)(0x31 + i * 16 + j);
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 16; j++)
			f.xmm[i][j] = (uint8_t)(0x80 + i * 16 + j);
	f.fcw = 0x027f;
	f.ftwx = 0xff;
	f.mxcsr = 0x1f80;
	OK(rc, "KVM_SET_FPU (sentinel)", ioc(fd, KVM_SET_FPU, &f));
	OK(rc, "KVM_SET_DEBUGREGS (sentinel)", ioc(fd, KVM_SET_DEBUGREGS, &d));

	TRY(run_bounded(&S.v, 20000, &o));
	CHECK(o.out && o.data == (uint32_t)sent_gpr[0],
	      "the sentinel's first run: %s, expected "
	      "its OUT of 0x%x",
	      outcome_str(&o, &S.v), (uint32_t)sent_gpr[0]);
	/* The first snapshot completes the OUT (RIP moves past it); then nothing moves. */
	TRY(snap(S.handle, 0, &S.st, "the sentinel's state"));
	CHECK(S.st.kvm.regs.rip == SENT_CODE + 2,
	      "the sentinel's RIP 0x%llx after its OUT was completed, expected 0x%x",
	      (unsigned long long)S.st.kvm.regs.rip, SENT_CODE + 2);
	CHECK(S.st.kvm.regs.rbx == sent_gpr[1] && S.st.debugregs.db[3] == 0x4000 &&
		  S.st.fpu.xmm[15][15] == (uint8_t)(0x80 + 255) &&
		  S.st.msrs.entries[0].data == 0xffff888012345000ull,
	      "the sentinel's state did not take (rbx 0x%llx)",
	      (unsigned long long)S.st.kvm.regs.rbx);
	S.made = true;
	TRY(sentinel_diff(msg, sizeof(msg), &lost));
	CHECK(!lost, "straight after it was made: %s", msg);
	TRY(restore_borrowed());
	if (chatty()) {
		double t0 = now_s();

		for (int i = 0; i < 20; i++)
			TRY(probe("nothing", NULL));
		fprintf(stderr,
			"  sentinel: vm handle %u, line fd %d; a round trip takes %.1f ms\n",
			S.handle, line_fd(), (now_s() - t0) * 1000 / 20);
	}
	return T_PASS;
}

/* ==== lying lengths ==== */

static int a_frame_lengths(void)
{
	static struct avm a;
	uint8_t v8[8] = {0};
	uint32_t n, h;

	TRY(avm_open(&a, 1));
	h = a.handle;
	TRY(want_error(HVW_IOCTL_REQ, pl, 0, EINVAL, "IOCTL_REQ with no payload"));
	memset(pl, 0, 19);
	TRY(want_error(HVW_IOCTL_REQ, pl, 19, EINVAL, "IOCTL_REQ of 19 bytes"));
	n = ioctl_pl(KVM_CHECK_EXTENSION, HVW_TARGET_SYSTEM, 0, 0, 0, 100, v8, 8);
	TRY(want_error(HVW_IOCTL_REQ, pl, n, EINVAL, "arg_len 100 with 8 bytes"));
	n = ioctl_pl(KVM_CHECK_EXTENSION, HVW_TARGET_SYSTEM, 0, 0, 0, 4, v8, 8);
	TRY(want_error(HVW_IOCTL_REQ, pl, n, EINVAL, "arg_len 4 with 8 bytes"));
	n = ioctl_pl(KVM_CHECK_EXTENSION, HVW_TARGET_SYSTEM, 0, 0, 0, 0xffffffff, NULL, 0);
	TRY(want_error(HVW_IOCTL_REQ, pl, n, E2BIG, "arg_len 0xffffffff with none"));
	memset(argb, 0, HVW_MAX_ARG + 1);
	n = ioctl_pl(KVM_GET_REGS, HVW_TARGET_VCPU, 0, h, 0, HVW_MAX_ARG + 1, argb,
		     HVW_MAX_ARG + 1);
	TRY(want_error(HVW_IOCTL_REQ, pl, n, E2BIG, "an argument of HVW_MAX_ARG + 1 bytes"));
	n = ioctl_pl(KVM_GET_API_VERSION, 3, 0, 0, 0, 0, NULL, 0);
	TRY(want_error(HVW_IOCTL_REQ, pl, n, EINVAL, "target 3"));
	n = ioctl_pl(KVM_GET_API_VERSION, 0xffff, 0, 0, 0, 0, NULL, 0);
	TRY(want_error(HVW_IOCTL_REQ, pl, n, EINVAL, "target 0xffff"));
	n = ioctl_pl(KVM_GET_API_VERSION, HVW_TARGET_SYSTEM, 0, h, 0, 0, NULL, 0);
	TRY(want_error(HVW_IOCTL_REQ, pl, n, EINVAL, "a system ioctl naming a VM"));
	n = ioctl_pl(KVM_GET_API_VERSION, HVW_TARGET_SYSTEM, 0, 0, 1, 0, NULL, 0);
	TRY(want_error(HVW_IOCTL_REQ, pl, n, EINVAL, "a system ioctl naming a vCPU"));
	n = ioctl_pl(KVM_CHECK_EXTENSION, HVW_TARGET_VM, 0, h, 1, 0, NULL, 0);
	TRY(want_error(HVW_IOCTL_REQ, pl, n, EINVAL, "a VM ioctl naming a vCPU"));
	n = ioctl_pl(KVM_GET_API_VERSION, HVW_TARGET_SYSTEM, 2, 0, 0, 0, NULL, 0);
	TRY(want_error(HVW_IOCTL_REQ, pl, n, EINVAL, "request flag 2"));
	n = ioctl_pl(KVM_GET_API_VERSION, HVW_TARGET_SYSTEM, 0x8000, 0, 0, 0, NULL, 0);
	TRY(want_error(HVW_IOCTL_REQ, pl, n, EINVAL, "request flag 0x8000"));

	/* Integer arguments. */
	memset(argb, 0, 16);
	TRY(want_ioctl(KVM_CHECK_EXTENSION, HVW_TARGET_SYSTEM, 0, 0, argb, 9, -EINVAL,
		       "KVM_CHECK_EXTENSION with 9 argument bytes"));
	TRY(want_int_ioctl(KVM_CHECK_EXTENSION, HVW_TARGET_SYSTEM, 0, 0, true, ~0ull, 0,
			   "KVM_CHECK_EXTENSION(~0)"));
	TRY(want_ioctl(KVM_GET_API_VERSION, HVW_TARGET_SYSTEM, 0, 0, argb, 16, -EINVAL,
		       "KVM_GET_API_VERSION with 16 argument bytes"));
	TRY(want_int_ioctl(KVM_GET_API_VERSION, HVW_TARGET_SYSTEM, 0, 0, true, 0, KVM_API_VERSION,
			   "KVM_GET_API_VERSION(0)"));
	/* kvm_dev_ioctl(): these two take no argument; a non-zero one is EINVAL. */
	TRY(want_int_ioctl(KVM_GET_API_VERSION, HVW_TARGET_SYSTEM, 0, 0, true, 1, -EINVAL,
			   "KVM_GET_API_VERSION(1) (Linux: EINVAL for any argument)"));
	TRY(want_int_ioctl(KVM_GET_VCPU_MMAP_SIZE, HVW_TARGET_SYSTEM, 0, 0, true, 1, -EINVAL,
			   "KVM_GET_VCPU_MMAP_SIZE(1) (Linux: EINVAL for any argument)"));

	/* Records shorter or longer than the number says. */
	TRY(want_ioctl(KVM_GET_REGS, HVW_TARGET_VCPU, h, 0, argb, 0, -EFAULT,
		       "KVM_GET_REGS with no record"));
	TRY(want_ioctl(KVM_GET_REGS, HVW_TARGET_VCPU, h, 0, argb, 8, -EFAULT,
		       "KVM_GET_REGS with 8 bytes"));
	memset(argb, 0, sizeof(struct kvm_regs) + 8);
	TRY(want_ioctl(KVM_GET_REGS, HVW_TARGET_VCPU, h, 0, argb, sizeof(struct kvm_regs) + 8,
		       -EFAULT, "KVM_GET_REGS with 8 bytes too many"));
	TRY(want_ioctl(KVM_SET_USER_MEMORY_REGION, HVW_TARGET_VM, h, 0, argb, 16, -EFAULT,
		       "KVM_SET_USER_MEMORY_REGION with 16 bytes"));
	/* Numbers whose size or direction disagrees with the record: unknown requests. */
	TRY(want_ioctl(HV_IOC(HV_IOC_READ, KVMIO, 0x81, sizeof(struct kvm_regs) + 8),
		       HVW_TARGET_VCPU, h, 0, argb, sizeof(struct kvm_regs) + 8, -EINVAL,
		       "KVM_GET_REGS's number with a size of 152"));
	TRY(want_ioctl(HV_IOC(HV_IOC_READ, KVMIO, 0x82, sizeof(struct kvm_regs)), HVW_TARGET_VCPU,
		       h, 0, argb, sizeof(struct kvm_regs), -EINVAL,
		       "KVM_SET_REGS's number read-only"));
	TRY(want_ioctl(HV_IOC(HV_IOC_WRITE, KVMIO, 0x46, 31), HVW_TARGET_VM, h, 0, argb, 31,
		       -ENOTTY, "KVM_SET_USER_MEMORY_REGION's number with a size of 31"));
	TRY(want_ioctl(HV_IOC(HV_IOC_READ | HV_IOC_WRITE, KVMIO, 0x02, 8), HVW_TARGET_SYSTEM, 0, 0,
		       argb, 8, -EINVAL, "KVM_GET_MSR_INDEX_LIST's number with a size of 8"));
	TRY(want_ioctl(0xffffffff, HVW_TARGET_VCPU, h, 0, argb, 8, -EINVAL,
		       "ioctl number 0xffffffff on a vCPU"));
	TRY(probe("lying IOCTL_REQ frames", NULL));
	avm_close(&a);
	return T_PASS;
}

/* Records whose count claims more (or less) than the bytes sent. */
static int a_lying_records(void)
{
	struct kvm_msrs *m = (struct kvm_msrs *)argb;
	struct kvm_cpuid2 *c = (struct kvm_cpuid2 *)argb;
	struct kvm_msr_list *l = (struct kvm_msr_list *)argb;
	const uint32_t me = sizeof(struct kvm_msr_entry), ce = sizeof(struct kvm_cpuid_entry2);
	struct reply r;
	static struct avm a;
	uint32_t h, need;

	TRY(avm_open(&a, 1));
	h = a.handle;
	memset(argb, 0, 300 * ce + 64);
	m->nmsrs = 10;
	m->entries[0].index = M_STAR;
	TRY(want_ioctl(KVM_GET_MSRS, HVW_TARGET_VCPU, h, 0, argb, 8 + me, -EFAULT,
		       "KVM_GET_MSRS: nmsrs 10, one entry sent"));
	TRY(want_ioctl(KVM_SET_MSRS, HVW_TARGET_VCPU, h, 0, argb, 8 + me, -EFAULT,
		       "KVM_SET_MSRS: nmsrs 10, one entry sent"));
	m->nmsrs = 1;
	TRY(want_ioctl(KVM_SET_MSRS, HVW_TARGET_VCPU, h, 0, argb, 8 + 3 * me, -EFAULT,
		       "KVM_SET_MSRS: nmsrs 1, three entries sent"));
	m->nmsrs = 0xffffffff;
	TRY(want_ioctl(KVM_GET_MSRS, HVW_TARGET_VCPU, h, 0, argb, 8, -E2BIG,
		       "KVM_GET_MSRS: nmsrs 0xffffffff"));
	m->nmsrs = 256;
	TRY(want_ioctl(KVM_SET_MSRS, HVW_TARGET_VCPU, h, 0, argb, 8 + 256 * me, -E2BIG,
		       "KVM_SET_MSRS: nmsrs 256 (MAX_IO_MSRS)"));
	m->nmsrs = 0;
	TRY(want_ioctl(KVM_GET_MSRS, HVW_TARGET_VCPU, h, 0, argb, 8, 0, "KVM_GET_MSRS: nmsrs 0"));

	memset(argb, 0, 300 * ce + 64);
	c->nent = 5;
	TRY(want_ioctl(KVM_SET_CPUID2, HVW_TARGET_VCPU, h, 0, argb, 8 + ce, -EFAULT,
		       "KVM_SET_CPUID2: nent 5, one entry sent"));
	c->nent = 257;
	TRY(want_ioctl(KVM_SET_CPUID2, HVW_TARGET_VCPU, h, 0, argb, 8, -E2BIG,
		       "KVM_SET_CPUID2: nent 257"));
	c->nent = 0xffffffff;
	TRY(want_ioctl(KVM_SET_CPUID2, HVW_TARGET_VCPU, h, 0, argb, 8, -E2BIG,
		       "KVM_SET_CPUID2: nent 0xffffffff"));
	c->nent = 0;
	TRY(want_ioctl(KVM_GET_CPUID2, HVW_TARGET_VCPU, h, 0, argb, 8, -E2BIG,
		       "KVM_GET_CPUID2: nent 0"));
	c->nent = 1000;
	TRY(want_ioctl(KVM_GET_CPUID2, HVW_TARGET_VCPU, h, 0, argb, 8, -EFAULT,
		       "KVM_GET_CPUID2: nent 1000, no room sent"));
	c->nent = 0;
	TRY(want_ioctl(KVM_GET_SUPPORTED_CPUID, HVW_TARGET_SYSTEM, 0, 0, argb, 8, -E2BIG,
		       "KVM_GET_SUPPORTED_CPUID: nent 0"));
	c->nent = 2;
	TRY(want_ioctl(KVM_GET_SUPPORTED_CPUID, HVW_TARGET_SYSTEM, 0, 0, argb, 8 + 2 * ce, -E2BIG,
		       "KVM_GET_SUPPORTED_CPUID: room for 2"));
	c->nent = 100;
	TRY(want_ioctl(KVM_GET_SUPPORTED_CPUID, HVW_TARGET_SYSTEM, 0, 0, argb, 8, -EFAULT,
		       "KVM_GET_SUPPORTED_CPUID: nent 100, no room sent"));
	/* kvm_dev_ioctl_get_cpuid() clamps nent to 256, then the copy-out faults. */
	c->nent = 300;
	TRY(want_ioctl(KVM_GET_SUPPORTED_CPUID, HVW_TARGET_SYSTEM, 0, 0, argb, 8, -EFAULT,
		       "KVM_GET_SUPPORTED_CPUID: nent 300, no room sent (Linux: EFAULT)"));

	memset(argb, 0, 4096);
	l->nmsrs = 0;
	TRY(raw_ioctl(KVM_GET_MSR_INDEX_LIST, HVW_TARGET_SYSTEM, 0, 0, argb, 4, &r,
		      "KVM_GET_MSR_INDEX_LIST: nmsrs 0"));
	need = r.arg_len >= 4 ? get32(r.arg) : 0;
	if (r.result != -E2BIG || !need)
		problem(
		    "KVM_GET_MSR_INDEX_LIST, nmsrs 0: %s, nmsrs %u back; expected -E2BIG and the "
		    "count",
		    reply_str(&r), need);
	/* kvm_arch_dev_ioctl(): room claimed but not sent is a fault, not E2BIG. */
	l->nmsrs = 1000;
	TRY(want_ioctl(KVM_GET_MSR_INDEX_LIST, HVW_TARGET_SYSTEM, 0, 0, argb, 4, -EFAULT,
		       "KVM_GET_MSR_INDEX_LIST: nmsrs 1000, no room sent (Linux: EFAULT)"));
	TRY(probe("lying records", NULL));
	avm_close(&a);
	return T_PASS;
}

/* ==== corrupt frames and line noise ==== */

static int a_line_noise(void)
{
	static uint8_t buf[16384];
	struct hvk_stats st0, st1;
	struct hvw_ioctl_req_hdr hd = {.nr = KVM_GET_API_VERSION};
	uint8_t hdr[HVW_IOCTL_REQ_HDR_LEN];
	double ms, worst = 0;
	size_t n;

	if (line_fd() < 0)
		return skip("no raw descriptor for the line (not one socket or tty above stderr)");
	hvk_stats(H, &st0);
	hvw_ioctl_req_hdr_put(hdr, &hd);

	/* Noise, with false starts: "HV" with random versions, lengths, CRCs. */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand64();
	for (size_t i = 0; i + 16 < sizeof(buf); i += 97) {
		buf[i] = HVW_MAGIC0;
		buf[i + 1] = HVW_MAGIC1;
		if (i % 3 == 0)
			buf[i + 2] = HVW_VERSION;
	}
	TRY(line_write(buf, sizeof(buf)));
	TRY(probe("16 KiB of line noise", &ms));
	worst = ms > worst ? ms : worst;

	/* A good frame with a bad CRC: dropped, never answered. */
	n = hvw_encode(buf, sizeof(buf), HVW_IOCTL_REQ, 0x7ffffff1, hdr, sizeof(hdr));
	buf[n - 1] ^= 0x5a;
	TRY(line_write(buf, n));
	TRY(probe("a frame with a bad CRC", &ms));
	worst = ms > worst ? ms : worst;
	/* A bad version, then a length over the maximum (both with a good CRC). */
	n = hvw_encode(buf, sizeof(buf), HVW_IOCTL_REQ, 0x7ffffff2, hdr, sizeof(hdr));
	buf[2] = 2;
	put32b(buf + n - 4, hvw_crc32c(buf, n - 4));
	TRY(line_write(buf, n));
	TRY(probe("a frame of version 2", &ms));
	worst = ms > worst ? ms : worst;
	n = hvw_encode(buf, sizeof(buf), HVW_IOCTL_REQ, 0x7ffffff3, hdr, sizeof(hdr));
	put32b(buf + 8, 0x7fffffff);
	TRY(line_write(buf, 32));
	TRY(probe("a header claiming 2 GiB", &ms));
	worst = ms > worst ? ms : worst;
	/* Cut off: a header promising 1000 bytes, 30 sent, then silence. */
	n = hvw_encode(buf, sizeof(buf), HVW_IOCTL_REQ, 0x7ffffff4, hdr, sizeof(hdr));
	put32b(buf + 8, 1000);
	TRY(line_write(buf, 30));
	sleep_ms(400);
	TRY(probe("a frame cut off after 30 of 1012 bytes, then 400 ms of silence", &ms));
	worst = ms > worst ? ms : worst;
	/* Cut off, and the next request follows at once. */
	TRY(line_write("HV\x01", 3));
	TRY(probe("three bytes of a header", &ms));
	worst = ms > worst ? ms : worst;
	n = hvw_encode(buf, sizeof(buf), HVW_IOCTL_REQ, 0x7ffffff5, hdr, sizeof(hdr));
	put32b(buf + 8, HVW_MAX_PAYLOAD);
	TRY(line_write(buf, 40));
	TRY(probe("a header promising the largest payload, 28 bytes of it", &ms));
	worst = ms > worst ? ms : worst;
	/* A frame whose payload holds a whole valid frame: only the inner one is real. */
	n = hvw_encode(buf + 12, sizeof(buf) - 12, HVW_IOCTL_REQ, 0x7ffffff6, hdr, sizeof(hdr));
	memcpy(buf, "HV\x01\x03\xf7\xff\xff\x7f", 8);
	put32b(buf + 8, (uint32_t)n);
	put32b(buf + 12 + n, 0xdeadbeef);
	TRY(line_write(buf, 16 + n));
	TRY(probe("a frame with a frame inside and a bad CRC", &ms));
	worst = ms > worst ? ms : worst;

	hvk_stats(H, &st1);
	/* Only the inner frame (seq 0x7ffffff6) may have been answered: one stale frame. */
	if (st1.stale_frames - st0.stale_frames > 1)
		problem("%llu answers came to frames that were corrupt",
			(unsigned long long)(st1.stale_frames - st0.stale_frames - 1));
	if (chatty())
		fprintf(stderr, "  line noise: slowest answer after it %.0f ms, %llu stale\n",
			worst, (unsigned long long)(st1.stale_frames - st0.stale_frames));
	return T_PASS;
}

/* Frame types the hypervisor does not serve, HELLOs, KICKs and CLOSEs gone wrong. */
static int a_frame_types(void)
{
	static const uint8_t resp_types[] = {HVW_HELLO_RESP,
					     HVW_IOCTL_RESP,
					     HVW_MEM_READ_RESP,
					     HVW_ERROR,
					     HVW_MEM_CHANGED_RESP,
					     0,
					     0x77,
					     0xff};
	struct hvk_stats st0, st1;
	struct reply r;
	uint8_t b[64];
	char what[80];

	for (unsigned i = 0; i < sizeof(resp_types); i++) {
		memset(pl, 0x41, 100);
		snprintf(what, sizeof(what), "a frame of type %u (%s)", resp_types[i],
			 hvw_type_name(resp_types[i]));
		TRY(want_error(resp_types[i], pl, 100, ENOTTY, what));
	}
	memset(pl, 0x5a, HVW_MAX_PAYLOAD);
	TRY(want_error(0x78, pl, HVW_MAX_PAYLOAD, ENOTTY,
		       "an unknown type with the largest payload"));

	/* HELLO */
	memset(b, 0, sizeof(b));
	put32b(b, 1);
	put32b(b + 4, 1);
	memcpy(b + 8, "hostile", 7);
	TRY(want_error(HVW_HELLO_REQ, b, HVW_HELLO_REQ_LEN - 1, EINVAL, "HELLO of 39 bytes"));
	TRY(want_error(HVW_HELLO_REQ, b, HVW_HELLO_REQ_LEN + 1, EINVAL, "HELLO of 41 bytes"));
	put32b(b, 2);
	TRY(want_error(HVW_HELLO_REQ, b, HVW_HELLO_REQ_LEN, EINVAL, "HELLO versions 2..1"));
	put32b(b + 4, 5);
	TRY(want_error(HVW_HELLO_REQ, b, HVW_HELLO_REQ_LEN, EINVAL, "HELLO versions 2..5"));
	put32b(b, 1);
	memset(b + 8, 'A', HVW_HELLO_CLIENT_LEN);
	TRY(want_error(HVW_HELLO_REQ, b, HVW_HELLO_REQ_LEN, EINVAL, "HELLO client without a NUL"));
	memcpy(b + 8, "host\x01le", 8);
	TRY(want_error(HVW_HELLO_REQ, b, HVW_HELLO_REQ_LEN, EINVAL, "HELLO client with \\x01"));
	/* (A well-formed HELLO would end the session: t_session.c sends those.) */

	/* BYE and LIST gone wrong: refused, and the session (the sentinel) stays. */
	memset(b, 0, sizeof(b));
	TRY(want_error(HVW_BYE, b, 0, EINVAL, "BYE of 0 bytes"));
	TRY(want_error(HVW_BYE, b, HVW_BYE_LEN - 1, EINVAL, "BYE of 7 bytes"));
	TRY(want_error(HVW_BYE, b, HVW_BYE_LEN + 1, EINVAL, "BYE of 9 bytes"));
	TRY(want_error(HVW_LIST_REQ, b, 0, EINVAL, "LIST of 0 bytes"));
	TRY(want_error(HVW_LIST_REQ, b, HVW_LIST_REQ_LEN + 8, EINVAL, "LIST of 16 bytes"));
	put32b(b, HVW_BYE_REASON_MAX + 1);
	TRY(want_error(HVW_BYE, b, HVW_BYE_LEN, EINVAL, "BYE with an unknown reason"));
	TRY(want_error(HVW_LIST_REQ, b, HVW_LIST_REQ_LEN, EINVAL, "LIST with flags"));
	put32b(b, 0);
	put32b(b + 4, 0x80000000u);
	TRY(want_error(HVW_BYE, b, HVW_BYE_LEN, EINVAL, "BYE with reserved bits"));
	TRY(want_error(HVW_LIST_REQ, b, HVW_LIST_REQ_LEN, EINVAL, "LIST with reserved bits"));
	put32b(b + 4, 0);
	for (int i = 0; i < 3; i++) {
		TRY(xfer(HVW_LIST_REQ, b, HVW_LIST_REQ_LEN, &r, "LIST"));
		if (r.type != HVW_LIST_RESP)
			problem("LIST: %s, expected LIST_RESP", reply_str(&r));
	}

	/* KICK: malformed ones get an ERROR with seq 0; good ones nothing. */
	hvk_stats(H, &st0);
	TRY(send_kick(0, 0, 4));
	TRY(send_kick(0, 0, 12));
	TRY(send_kick(0x77, 0, 8));
	TRY(send_kick(S.handle, 0, 8)); /* the sentinel, not running: ignored */
	TRY(send_kick(S.handle, 9, 8));
	TRY(probe("KICKs", NULL));
	hvk_stats(H, &st1);
	if (st1.unsolicited_errors - st0.unsolicited_errors != 2)
		problem("%llu unsolicited ERRORs after two malformed KICKs and three good ones",
			(unsigned long long)(st1.unsolicited_errors - st0.unsolicited_errors));

	/* CLOSE */
	memset(b, 0, sizeof(b));
	TRY(want_error(HVW_CLOSE, b, 4, EINVAL, "CLOSE of 4 bytes"));
	put32b(b, 0x77);
	put32b(b + 4, 1);
	TRY(want_error(HVW_CLOSE, b, HVW_CLOSE_LEN, EINVAL, "CLOSE with reserved 1"));
	put32b(b, S.handle);
	TRY(want_error(HVW_CLOSE, b, HVW_CLOSE_LEN, EINVAL, "CLOSE of the sentinel, reserved 1"));
	put32b(b + 4, 0);
	put32b(b, 0);
	TRY(want_resp(HVW_CLOSE, b, HVW_CLOSE_LEN, -EBADF, "CLOSE of handle 0"));
	put32b(b, 0xffffffff);
	TRY(want_resp(HVW_CLOSE, b, HVW_CLOSE_LEN, -EBADF, "CLOSE of handle 0xffffffff"));
	return T_PASS;
}

/* ==== packed frames (HVW_CAP_PACKED, abi/hvpack.h) ==== */

static struct hvp_scratch pack_ws;

/* @n bytes of @d packed into argb; the packed size. */
static uint32_t packed_arg(const void *d, uint32_t n)
{
	long k = hvp_pack(argb, sizeof(argb), d, n, &pack_ws);

	return k < 0 ? 0 : (uint32_t)k;
}

static int a_packed(void)
{
	static uint8_t page[2 * PG], got[2 * PG], bad[16];
	struct kvm_regs regs, pregs;
	struct reply r;
	static struct avm a;
	uint32_t h, n, k;
	int rc;

	CHECK(hvk_caps(H) & HVW_CAP_PACKED, "the hypervisor does not offer HVW_CAP_PACKED");
	TRY(avm_open(&a, 1));
	h = a.handle;

	/* An honest packed MEM_WRITE lands as the bytes it unpacks to. */
	for (uint32_t i = 0; i < sizeof(page); i++)
		page[i] = i % 97 < 40 ? 0 : (uint8_t)(i * 7);
	k = packed_arg(page, sizeof(page));
	CHECK(k && k < sizeof(page), "two pages packed to %u bytes", k);
	TRY(want_resp(HVW_MEM_WRITE, pl, mem_write_pl(h, HVW_MEM_WRITE_PACKED, 0x2000, argb, k), 0,
		      "a packed MEM_WRITE of two pages"));
	OK(rc, "hvk_mem_read", hvk_mem_read(H, a.vm.fd, 0x2000, got, sizeof(got)));
	CHECK(!memcmp(got, page, sizeof(page)), "a packed MEM_WRITE wrote other bytes");

	/* Packed bytes that do not unpack, or unpack to a bad range. */
	memset(bad, 0x5c, sizeof(bad));
	TRY(want_error(HVW_MEM_WRITE, pl, mem_write_pl(h, HVW_MEM_WRITE_PACKED, 0x2000, bad, 16),
		       EINVAL, "a packed MEM_WRITE of 16 bytes of 0x5c"));
	TRY(want_error(HVW_MEM_WRITE, pl, mem_write_pl(h, HVW_MEM_WRITE_PACKED, 0x2000, NULL, 0),
		       EINVAL, "a packed MEM_WRITE of nothing"));
	TRY(want_error(HVW_MEM_WRITE, pl,
		       mem_write_pl(h, HVW_MEM_WRITE_PACKED, 0x2000, argb, k - 1), EINVAL,
		       "a packed MEM_WRITE cut one byte short"));
	k = packed_arg(page, 16);
	TRY(want_error(HVW_MEM_WRITE, pl, mem_write_pl(h, HVW_MEM_WRITE_PACKED, 0ull - 8, argb, k),
		       EINVAL, "a packed MEM_WRITE unpacking to 16 bytes at 2^64 - 8"));
	k = packed_arg(page, sizeof(page));
	TRY(want_resp(HVW_MEM_WRITE, pl,
		      mem_write_pl(h, HVW_MEM_WRITE_PACKED, G_MEM_SIZE - PG, argb, k), -EFAULT,
		      "a packed MEM_WRITE straddling the slot's end"));
	/* Announcing 64 KiB + 1 (LEB128 0x81 0x80 0x04), then nothing. */
	bad[0] = 0x81, bad[1] = 0x80, bad[2] = 0x04;
	TRY(want_error(HVW_MEM_WRITE, pl, mem_write_pl(h, HVW_MEM_WRITE_PACKED, 0x2000, bad, 3),
		       EINVAL, "a packed MEM_WRITE announcing HVW_MAX_ARG + 1 bytes"));
	OK(rc, "hvk_mem_read", hvk_mem_read(H, a.vm.fd, 0x2000, got, sizeof(got)));
	CHECK(!memcmp(got, page, sizeof(page)), "a refused packed MEM_WRITE changed memory");

	/* A packed ioctl: the same record back as the plain one, packed. */
	OK(rc, "KVM_GET_REGS", ioc(a.v[0].fd, KVM_GET_REGS, &regs));
	memset(&pregs, 0, sizeof(pregs));
	k = packed_arg(&pregs, sizeof(pregs));
	n = ioctl_pl(KVM_GET_REGS, HVW_TARGET_VCPU, HVW_IOCTL_PACKED, h, 0, k, argb, k);
	TRY(xfer(HVW_IOCTL_REQ, pl, n, &r, "a packed KVM_GET_REGS"));
	CHECK(r.type == HVW_IOCTL_RESP && !r.result, "a packed KVM_GET_REGS: %s", reply_str(&r));
	CHECK(hvp_unpack(&pregs, sizeof(pregs), r.arg, r.arg_len) == sizeof(pregs),
	      "the packed KVM_GET_REGS answer (%u bytes) does not unpack to a kvm_regs", r.arg_len);
	CHECK(!memcmp(&regs, &pregs, sizeof(regs)), "packed and plain KVM_GET_REGS differ");
	/* ... and its errors as the plain form's. */
	TRY(want_error(HVW_IOCTL_REQ, pl,
		       ioctl_pl(KVM_GET_REGS, HVW_TARGET_VCPU, HVW_IOCTL_PACKED, h, 0, 16, bad, 16),
		       EINVAL, "a packed KVM_GET_REGS of 16 bytes of garbage"));
	k = packed_arg(&pregs, 8);
	n = ioctl_pl(KVM_GET_REGS, HVW_TARGET_VCPU, HVW_IOCTL_PACKED, h, 0, k, argb, k);
	TRY(xfer(HVW_IOCTL_REQ, pl, n, &r, "a packed KVM_GET_REGS unpacking to 8 bytes"));
	CHECK(r.type == HVW_IOCTL_RESP && r.result < 0,
	      "a packed KVM_GET_REGS unpacking to 8 bytes: %s, expected an error", reply_str(&r));
	k = packed_arg(&regs, sizeof(regs));
	n = ioctl_pl(KVM_GET_REGS, HVW_TARGET_VCPU, HVW_IOCTL_PACKED, h, 7, k, argb, k);
	TRY(want_resp(HVW_IOCTL_REQ, pl, n, -EBADF, "a packed KVM_GET_REGS of vCPU 7"));
	/* Packed and compact KVM_RUN with garbage: refused, the guest not run. */
	n = ioctl_pl(KVM_RUN, HVW_TARGET_VCPU, HVW_IOCTL_PACKED | HVW_IOCTL_COMPACT_RUN, h, 0, 16,
		     bad, 16);
	TRY(want_error(HVW_IOCTL_REQ, pl, n, EINVAL, "a packed compact KVM_RUN of garbage"));
	OK(rc, "KVM_GET_REGS", ioc(a.v[0].fd, KVM_GET_REGS, &pregs));
	CHECK(pregs.rip == regs.rip, "a refused packed KVM_RUN moved RIP to 0x%llx",
	      (unsigned long long)pregs.rip);
	return T_PASS;
}

/* ==== memory frames: bad lengths, wrapping and straddling ranges ==== */

static int a_mem_frames(void)
{
	uint8_t b[32], got[16];
	struct reply r;
	static struct avm a;
	uint32_t h, n, count;
	uint64_t first;
	int rc;

	TRY(avm_open(&a, 0));
	h = a.handle;
	memset(argb, 0x5c, HVW_MAX_ARG + 8);
	/* MEM_WRITE */
	TRY(want_error(HVW_MEM_WRITE, pl, mem_write_pl(h, 0, 0x2000, NULL, 0) - 1, EINVAL,
		       "MEM_WRITE of 15 bytes"));
	TRY(want_error(HVW_MEM_WRITE, pl, mem_write_pl(h, 4, 0x2000, argb, 8), EINVAL,
		       "MEM_WRITE flag 4"));
	TRY(want_error(HVW_MEM_WRITE, pl, mem_write_pl(h, 0x80000000, 0x2000, argb, 8), EINVAL,
		       "MEM_WRITE flag 0x80000000"));
	TRY(want_error(HVW_MEM_WRITE, pl, mem_write_pl(h, 0, 0ull - 8, argb, 16), EINVAL,
		       "MEM_WRITE of 16 bytes at 2^64 - 8"));
	TRY(want_resp(HVW_MEM_WRITE, pl, mem_write_pl(h, 0, 0ull - 16, argb, 16), -EFAULT,
		      "MEM_WRITE of the last 16 bytes below 2^64"));
	TRY(want_error(HVW_MEM_WRITE, pl, mem_write_pl(h, 0, 0x2000, argb, HVW_MAX_ARG + 1), E2BIG,
		       "MEM_WRITE of HVW_MAX_ARG + 1 bytes"));
	TRY(want_resp(HVW_MEM_WRITE, pl, mem_write_pl(h, 0, G_MEM_SIZE - 4, argb, 8), -EFAULT,
		      "MEM_WRITE straddling the slot's end"));
	TRY(want_resp(HVW_MEM_WRITE, pl, mem_write_pl(h, 0, 0, argb, HVW_MAX_ARG), -EFAULT,
		      "MEM_WRITE of 64 KiB into a 32 KiB slot"));
	TRY(want_resp(HVW_MEM_WRITE, pl, mem_write_pl(h, 0, 0x50000, argb, 8), -EFAULT,
		      "MEM_WRITE where no slot is"));
	TRY(want_resp(HVW_MEM_WRITE, pl, mem_write_pl(h, 0, 0x50000, argb, 0), 0,
		      "MEM_WRITE of 0 bytes where no slot is"));
	TRY(want_resp(HVW_MEM_WRITE, pl, mem_write_pl(0, 0, 0x2000, argb, 8), -EBADF,
		      "MEM_WRITE to VM 0"));
	TRY(want_resp(HVW_MEM_WRITE, pl, mem_write_pl(0xffffffff, 0, 0x2000, argb, 8), -EBADF,
		      "MEM_WRITE to VM 0xffffffff"));
	/* The refused writes left the slot's end and start as they were (zero). */
	OK(rc, "hvk_mem_read", hvk_mem_read(H, a.vm.fd, G_MEM_SIZE - 16, got, 16));
	for (int i = 0; i < 16; i++)
		if (got[i]) {
			problem("a refused MEM_WRITE changed gpa 0x%x", G_MEM_SIZE - 16 + i);
			break;
		}
	OK(rc, "hvk_mem_read", hvk_mem_read(H, a.vm.fd, 0x2000, got, 16));
	for (int i = 0; i < 16; i++)
		if (got[i]) {
			problem("a refused MEM_WRITE changed gpa 0x%x", 0x2000 + i);
			break;
		}

	/* MEM_READ */
	n = (uint32_t)mem_read_pl(b, h, 16, 0x2000);
	TRY(want_error(HVW_MEM_READ_REQ, b, n - 1, EINVAL, "MEM_READ of 15 bytes"));
	TRY(want_error(HVW_MEM_READ_REQ, b, n + 1, EINVAL, "MEM_READ of 17 bytes"));
	mem_read_pl(b, h, HVW_MAX_ARG + 1, 0);
	TRY(want_error(HVW_MEM_READ_REQ, b, n, E2BIG, "MEM_READ of HVW_MAX_ARG + 1 bytes"));
	mem_read_pl(b, h, 2, ~0ull);
	TRY(want_error(HVW_MEM_READ_REQ, b, n, EINVAL, "MEM_READ of 2 bytes at 2^64 - 1"));
	mem_read_pl(b, h, PG, 0ull - PG);
	TRY(want_error(HVW_MEM_READ_REQ, b, n, EFAULT, "MEM_READ of the last page below 2^64"));
	mem_read_pl(b, h, 8, G_MEM_SIZE - 4);
	TRY(want_error(HVW_MEM_READ_REQ, b, n, EFAULT, "MEM_READ straddling the slot's end"));
	mem_read_pl(b, h, HVW_MAX_ARG, 0);
	TRY(want_error(HVW_MEM_READ_REQ, b, n, EFAULT, "MEM_READ of 64 KiB from a 32 KiB slot"));
	mem_read_pl(b, 0, 8, 0);
	TRY(want_error(HVW_MEM_READ_REQ, b, n, EBADF, "MEM_READ from VM 0"));
	mem_read_pl(b, h, 0, 0x50000);
	TRY(xfer(HVW_MEM_READ_REQ, b, n, &r, "MEM_READ of 0 bytes where no slot is"));
	if (r.type != HVW_MEM_READ_RESP || r.len)
		problem("MEM_READ of 0 bytes: %s, expected an empty MEM_READ_RESP", reply_str(&r));

	/* MEM_CHANGED */
	n = mem_changed_pl(b, h, 0, 0, PG);
	TRY(want_error(HVW_MEM_CHANGED_REQ, b, n - 1, EINVAL, "MEM_CHANGED of 23 bytes"));
	TRY(want_error(HVW_MEM_CHANGED_REQ, b, n + 1, EINVAL, "MEM_CHANGED of 25 bytes"));
	mem_changed_pl(b, h, 2, 0, PG);
	TRY(want_error(HVW_MEM_CHANGED_REQ, b, n, EINVAL, "MEM_CHANGED flags 2"));
	mem_changed_pl(b, h, 0, 1, PG);
	TRY(want_error(HVW_MEM_CHANGED_REQ, b, n, EINVAL, "MEM_CHANGED at gpa 1"));
	mem_changed_pl(b, h, 0, 0, 1);
	TRY(want_error(HVW_MEM_CHANGED_REQ, b, n, EINVAL, "MEM_CHANGED of 1 byte"));
	mem_changed_pl(b, h, 0, 0ull - PG, 2 * PG);
	TRY(want_error(HVW_MEM_CHANGED_REQ, b, n, EINVAL, "MEM_CHANGED wrapping past 2^64"));
	mem_changed_pl(b, 0, 0, 0, PG);
	TRY(want_error(HVW_MEM_CHANGED_REQ, b, n, EBADF, "MEM_CHANGED of VM 0"));
	TRY(mem_changed(h, 0ull - PG, PG, &count, &first, "MEM_CHANGED of the last page"));
	if (count)
		problem("MEM_CHANGED of the last page below 2^64 reported %u pages", count);
	TRY(mem_changed(h, 0x8000, 0ull - PG - 0x8000, &count, &first,
			"MEM_CHANGED from 0x8000 to 2^64 - 4 KiB"));
	if (count)
		problem("MEM_CHANGED above the only slot reported %u pages", count);
	mem_changed_pl(b, h, 0, 0x3000, 0);
	TRY(xfer(HVW_MEM_CHANGED_REQ, b, n, &r, "MEM_CHANGED of 0 bytes"));
	if (r.type != HVW_MEM_CHANGED_RESP || r.len < 16 || get64(ans) != 0x3000 || get32(ans + 8))
		problem("MEM_CHANGED of 0 bytes at 0x3000: %s, expected next 0x3000, no pages",
			reply_str(&r));
	/* The sentinel's handle, a range it does not have: refused, nothing touched. */
	mem_read_pl(b, S.handle, 8, 2 * SENT_SIZE - 4);
	TRY(want_error(HVW_MEM_READ_REQ, b, 16, EFAULT, "MEM_READ past the sentinel's slots"));
	avm_close(&a);
	return T_PASS;
}

/* ==== memory slots: wrapping, above MAXPHYADDR, absurd sizes ==== */

static unsigned phys_bits(void)
{
	struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[128];
	} t;
	unsigned bits = 36;

	memset(&t, 0, sizeof(t));
	t.h.nent = 128;
	if (ioc(KVM, KVM_GET_SUPPORTED_CPUID, &t) < 0)
		return bits;
	for (uint32_t i = 0; i < t.h.nent && i < 128; i++)
		if (t.e[i].function == 0x80000008)
			bits = t.e[i].eax & 0xff;
	return bits;
}

static int a_region_wrap(void)
{
	unsigned bits = phys_bits(), lim = bits < 48 ? bits : 48;
	const uint64_t top = 1ull << lim, U = LEAK_UADDR;
	uint8_t b[16], got[4];
	struct reply r;
	static struct avm a;
	uint32_t h, n;
	int rc;

	TRY(avm_open(&a, 0));
	h = a.handle;
	struct {
		uint32_t slot, flags;
		uint64_t gpa, size, uaddr;
		int err;
		const char *what;
	} bad[] = {
	    {1, 0, 0ull - PG, 2 * PG, U, EINVAL, "gpa 2^64 - 4 KiB, 8 KiB (wraps)"},
	    {1, 0, 0ull - PG, PG, U, EINVAL, "the last page below 2^64"},
	    {1, 0, 1ull << 52, PG, U, EINVAL, "gpa 2^52"},
	    {1, 0, top, PG, U, EINVAL, "gpa 2^MAXPHYADDR"},
	    {1, 0, top - PG, 2 * PG, U, EINVAL, "across 2^MAXPHYADDR"},
	    {1, 0, 0x100000, 1ull << 63, U, EINVAL, "2^63 bytes"},
	    {1, 0, 0x100000, 2 * PG, 0ull - PG, EINVAL, "userspace_addr wrapping"},
	    {1, 0, 0x100000, PG + 1, U, EINVAL, "size 4097"},
	    {1, 0, 0x100001, PG, U, EINVAL, "gpa 0x100001"},
	    {1, 0, 0x100000, PG, U + 1, EINVAL, "userspace_addr not aligned"},
	    {0x10001, 0, 0x100000, PG, U, EINVAL, "slot 1 of address space 1"},
	    {0xffffffff, 0, 0x100000, PG, U, EINVAL, "slot 0xffffffff"},
	    {8, 0, 0x100000, PG, U, EINVAL, "slot 8"},
	    {1, 4, 0x100000, PG, U, EINVAL, "flag 4"},
	    {1, 0x80000000, 0x100000, PG, U, EINVAL, "flag 0x80000000"},
	    {1, 0, G_MEM_SIZE - PG, 2 * PG, U, EEXIST, "over slot 0's last page"},
	    {5, 0, 0, 0, 0, EINVAL, "deleting slot 5, which is not there"},
	    {0, 0, 0, G_MEM_SIZE * 2, U, EINVAL, "resizing slot 0"},
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kvm_userspace_memory_region m = {bad[i].slot, bad[i].flags, bad[i].gpa,
							bad[i].size, bad[i].uaddr};
		char what[120];

		snprintf(what, sizeof(what), "KVM_SET_USER_MEMORY_REGION: %s", bad[i].what);
		TRY(want_ioctl(KVM_SET_USER_MEMORY_REGION, HVW_TARGET_VM, h, 0, &m, sizeof(m),
			       -bad[i].err, what));
	}
	/* The last page below the limit is a slot like any other. */
	TRY(raw_region(h, 1, 0, top - PG, PG, U, &r, "slot 1 in the last page"));
	if (r.result)
		problem("a slot in the last page below 2^%u: %s", lim, reply_str(&r));
	TRY(want_resp(HVW_MEM_WRITE, pl, mem_write_pl(h, 0, top - 4, "\x11\x22\x33\x44", 4), 0,
		      "MEM_WRITE to the last 4 bytes below the limit"));
	n = (uint32_t)mem_read_pl(b, h, 4, top - 4);
	TRY(xfer(HVW_MEM_READ_REQ, b, n, &r, "MEM_READ of them"));
	memcpy(got, ans, 4);
	if (r.type != HVW_MEM_READ_RESP || r.len != 4 || memcmp(got, "\x11\x22\x33\x44", 4))
		problem("MEM_READ of the last 4 bytes below the limit: %s", reply_str(&r));
	TRY(want_ioctl(KVM_SET_USER_MEMORY_REGION, HVW_TARGET_VM, h, 0,
		       &(struct kvm_userspace_memory_region){.slot = 1}, 32, 0, "deleting slot 1"));
	/* 1 GiB (Linux backs it lazily; here ENOMEM is the honest answer). */
	TRY(raw_region(h, 2, 0, 1ull << 32, 1ull << 30, U, &r, "a 1 GiB slot"));
	if (r.result != 0 && r.result != -ENOMEM)
		problem("a 1 GiB slot: %s, expected 0 or -ENOMEM", reply_str(&r));
	if (r.result == 0)
		TRY(want_ioctl(KVM_SET_USER_MEMORY_REGION, HVW_TARGET_VM, h, 0,
			       &(struct kvm_userspace_memory_region){.slot = 2}, 32, 0,
			       "deleting the 1 GiB slot"));
	/* Slot 0 is as it was: the blob reads back. */
	OK(rc, "hvk_mem_read", hvk_mem_read(H, a.vm.fd, G_LOAD, argb, HG_BLOB_MAX));
	if (memcmp(argb, BLOB(g_hostile).p, HG_BLOB_MAX))
		problem("slot 0 changed under the refused slots");
	if (chatty())
		fprintf(stderr, "  MAXPHYADDR %u, slots end at or below 0x%llx\n", bits,
			(unsigned long long)top);
	avm_close(&a);
	return T_PASS;
}

/* ==== handles: closed, never made, another VM's vCPU ids ==== */

static int a_handles(void)
{
	static const uint32_t bad_vm[] = {0, PAST_TABLE, 0x80000001, 0xffffffff};
	struct kvm_regs regs = {0};
	static struct avm a, b;
	struct reply r;
	uint8_t m[32];
	uint32_t ha, hb, hc, n;
	char what[100];
	int rc, max;

	OK(max, "KVM_CHECK_EXTENSION(KVM_CAP_MAX_VCPUS)",
	   ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS));
	TRY(avm_open(&a, 2));
	TRY(avm_open(&b, 1));
	ha = a.handle;
	hb = b.handle;
	memset(argb, 0, 512);
	TRY(want_ioctl(KVM_GET_REGS, HVW_TARGET_VCPU, hb, 1, argb, sizeof(regs), -EBADF,
		       "VM B's handle with VM A's vCPU id 1"));
	TRY(want_ioctl(KVM_GET_REGS, HVW_TARGET_VCPU, ha, 1, argb, sizeof(regs), 0,
		       "VM A's vCPU 1"));
	TRY(want_ioctl(KVM_GET_REGS, HVW_TARGET_VCPU, ha, 4, argb, sizeof(regs), -EBADF,
		       "vCPU id 4"));
	TRY(want_ioctl(KVM_GET_REGS, HVW_TARGET_VCPU, ha, 1000, argb, sizeof(regs), -EBADF,
		       "vCPU id 1000"));
	TRY(want_ioctl(KVM_GET_REGS, HVW_TARGET_VCPU, ha, 0xffffffff, argb, sizeof(regs), -EBADF,
		       "vCPU id 0xffffffff"));
	for (unsigned i = 0; i < sizeof(bad_vm) / sizeof(bad_vm[0]); i++) {
		snprintf(what, sizeof(what), "KVM_CHECK_EXTENSION on VM handle 0x%x", bad_vm[i]);
		TRY(want_int_ioctl(KVM_CHECK_EXTENSION, HVW_TARGET_VM, bad_vm[i], 0, true, 3,
				   -EBADF, what));
		snprintf(what, sizeof(what), "KVM_GET_REGS on VM handle 0x%x vCPU 0", bad_vm[i]);
		TRY(want_ioctl(KVM_GET_REGS, HVW_TARGET_VCPU, bad_vm[i], 0, argb, sizeof(regs),
			       -EBADF, what));
	}
	TRY(want_int_ioctl(KVM_CREATE_VCPU, HVW_TARGET_VM, ha, 0, true, (uint64_t)max, -EINVAL,
			   "KVM_CREATE_VCPU KVM_CAP_MAX_VCPUS"));
	TRY(want_int_ioctl(KVM_CREATE_VCPU, HVW_TARGET_VM, ha, 0, true, 0xffffffff, -EINVAL,
			   "KVM_CREATE_VCPU 0xffffffff"));
	TRY(want_int_ioctl(KVM_CREATE_VCPU, HVW_TARGET_VM, ha, 0, true, 1ull << 32, -EINVAL,
			   "KVM_CREATE_VCPU 2^32"));
	TRY(want_int_ioctl(KVM_CREATE_VCPU, HVW_TARGET_VM, ha, 0, true, ~0ull, -EINVAL,
			   "KVM_CREATE_VCPU -1"));
	TRY(want_int_ioctl(KVM_CREATE_VCPU, HVW_TARGET_VM, ha, 0, true, 1, -EEXIST,
			   "KVM_CREATE_VCPU 1 again"));

	/* B closed: its handle and its vCPU are gone for every kind of request. */
	CHECK(hvk_close_fd(H, b.vm.fd) == 0, "closing VM B: %s (%s)", en(errno), hvk_last_error());
	TRY(want_int_ioctl(KVM_CHECK_EXTENSION, HVW_TARGET_VM, hb, 0, true, 3, -EBADF,
			   "KVM_CHECK_EXTENSION on closed VM B"));
	TRY(want_ioctl(KVM_GET_REGS, HVW_TARGET_VCPU, hb, 0, argb, sizeof(regs), -EBADF,
		       "KVM_GET_REGS on closed VM B's vCPU 0"));
	TRY(want_ioctl(KVM_RUN, HVW_TARGET_VCPU, hb, 0, argb, sizeof(struct kvm_run), -EBADF,
		       "KVM_RUN of closed VM B's vCPU 0"));
	TRY(want_int_ioctl(KVM_CREATE_VCPU, HVW_TARGET_VM, hb, 0, true, 1, -EBADF,
			   "KVM_CREATE_VCPU in closed VM B"));
	n = (uint32_t)mem_read_pl(m, hb, 8, 0);
	TRY(want_error(HVW_MEM_READ_REQ, m, n, EBADF, "MEM_READ of closed VM B"));
	TRY(want_resp(HVW_MEM_WRITE, pl, mem_write_pl(hb, 0, 0, "x", 1), -EBADF,
		      "MEM_WRITE to closed VM B"));
	n = mem_changed_pl(m, hb, 0, 0, PG);
	TRY(want_error(HVW_MEM_CHANGED_REQ, m, n, EBADF, "MEM_CHANGED of closed VM B"));
	TRY(raw_close(hb, &r, "CLOSE of closed VM B"));
	if (r.type != HVW_IOCTL_RESP || r.result != -EBADF)
		problem("CLOSE of closed VM B: %s, expected -EBADF", reply_str(&r));
	TRY(send_kick(hb, 0, 8));
	ERRNO("the library's KVM_GET_REGS on closed VM B's vCPU fd",
	      ioc(b.v[0].fd, KVM_GET_REGS, &regs), EBADF);
	hvk_close_fd(H, b.v[0].fd);
	b.open = false;
	free(b.vm.mem);
	for (int i = 0; i < MAX_AVMS; i++)
		if (live[i] == &b)
			live[i] = NULL;

	/* A new VM (maybe B's handle again) has none of B's vCPUs or memory. */
	TRY(raw_create_vm(&hc, true));
	TRY(want_ioctl(KVM_GET_REGS, HVW_TARGET_VCPU, hc, 0, argb, sizeof(regs), -EBADF,
		       "vCPU 0 of a VM made after B was closed"));
	n = (uint32_t)mem_read_pl(m, hc, 8, 0);
	TRY(want_error(HVW_MEM_READ_REQ, m, n, EFAULT, "MEM_READ of a new VM without slots"));
	TRY(raw_close(hc, &r, "CLOSE"));
	OK(rc, "VM A's vCPU 0 still answers", ioc(a.v[0].fd, KVM_GET_REGS, &regs));
	if (chatty())
		fprintf(stderr, "  handles: A %u, B %u (closed), new %u\n", ha, hb, hc);
	avm_close(&a);
	return T_PASS;
}

/* ==== requests during a run ==== */

static int a_run_requests(void)
{
	uint32_t seqs[20], nseq = 0, hseq, n;
	enum kind {
		K_EXT,
		K_REGS_RUNNING,
		K_REGS_SENTINEL,
		K_READ_SENTINEL,
		K_BAD,
		K_TYPE
	} kinds[20];
	struct kvm_regs regs = {0};
	struct runner rn;
	static struct avm a;
	struct reply r;
	uint8_t b[64], garbage[512];
	unsigned busy = 0, done_ok = 0;
	uint64_t cap = KVM_CAP_USER_MEMORY;

	TRY(avm_open(&a, 1));
	prep(&a.v[0], HG_SPIN, false, true);
	TRY(runner_start(&rn, &a.v[0]));
	sleep_ms(200);
#define SEND(k, type, p, len)                                                                      \
	do {                                                                                       \
		kinds[nseq] = (k);                                                                 \
		n_inputs++;                                                                        \
		if (hvk_send_frame(H, (type), (p), (len), &seqs[nseq]) < 0) {                      \
			runner_stop(&rn);                                                          \
			return fail("sending during the run: %s", hvk_last_error());               \
		}                                                                                  \
		nseq++;                                                                            \
	} while (0)
	for (int i = 0; i < 3; i++) {
		n = ioctl_pl(KVM_CHECK_EXTENSION, HVW_TARGET_SYSTEM, 0, 0, 0, 8, &cap, 8);
		SEND(K_EXT, HVW_IOCTL_REQ, pl, n);
	}
	n = ioctl_pl(KVM_GET_REGS, HVW_TARGET_VCPU, 0, a.handle, 0, sizeof(regs), &regs,
		     sizeof(regs));
	SEND(K_REGS_RUNNING, HVW_IOCTL_REQ, pl, n);
	n = ioctl_pl(KVM_GET_REGS, HVW_TARGET_VCPU, 0, S.handle, 0, sizeof(regs), &regs,
		     sizeof(regs));
	SEND(K_REGS_SENTINEL, HVW_IOCTL_REQ, pl, n);
	n = (uint32_t)mem_read_pl(b, S.handle, 64, 0);
	SEND(K_READ_SENTINEL, HVW_MEM_READ_REQ, b, n);
	n = ioctl_pl(KVM_CHECK_EXTENSION, HVW_TARGET_SYSTEM, 0, 0, 0, 100, &cap, 8);
	SEND(K_BAD, HVW_IOCTL_REQ, pl, n);
	SEND(K_TYPE, 0x66, b, 8);
	/*
	 * The running vCPU's own ioctls wait for its run (the others above
	 * may be answered during it): these fill the queue of 8.
	 */
	for (int i = 0; i < 7; i++) {
		n = ioctl_pl(KVM_GET_REGS, HVW_TARGET_VCPU, 0, a.handle, 0, sizeof(regs), &regs,
			     sizeof(regs));
		SEND(K_REGS_RUNNING, HVW_IOCTL_REQ, pl, n);
	}
	if (line_fd() >= 0) {
		for (size_t i = 0; i < sizeof(garbage); i++)
			garbage[i] = (uint8_t)rand64();
		if (line_write(garbage, sizeof(garbage)) != T_PASS) {
			runner_stop(&rn);
			return T_FAIL;
		}
	}
	if (send_kick(0, 0, 4) != T_PASS || send_kick(0x77, 0, 8) != T_PASS ||
	    send_kick(a.handle, 3, 8) != T_PASS) {
		runner_stop(&rn);
		return T_FAIL;
	}
	sleep_ms(300);
	if (runner_wait(&rn, 0)) {
		problem("the spinning run ended by itself (%s) while requests queued",
			result_str(rn.r, rn.e));
	}
	/*
	 * A malformed BYE: it ends no session, so it stops no run (a good one
	 * would, as a HELLO would, and take the sentinel with the session).
	 * Answered after the run, or -EBUSY with the queue full. KICKs end it.
	 */
	memset(b, 0, sizeof(b));
	put32b(b, HVW_BYE_REASON_MAX + 7);
	n_inputs++;
	if (hvk_send_frame(H, HVW_BYE, b, HVW_BYE_LEN, &hseq) < 0) {
		runner_stop(&rn);
		return fail("sending BYE: %s", hvk_last_error());
	}
	if (runner_wait(&rn, 1000))
		problem("a malformed BYE stopped the run: %s", result_str(rn.r, rn.e));
	if (!runner_stop(&rn))
		return fail("the run did not end even with KICKs");
	if (!(rn.r == -1 && rn.e == EINTR && a.v[0].run->exit_reason == KVM_EXIT_INTR))
		problem("the run stopped by a KICK: %s %s, expected -1/EINTR, exit INTR",
			result_str(rn.r, rn.e), exit_str(a.v[0].run));
	for (uint32_t i = 0; i < nseq; i++) {
		uint8_t type;
		int len = hvk_wait_frame(H, seqs[i], ANSWER_MS, &type, ans, sizeof(ans));
		struct hvw_ioctl_resp resp;
		struct hvw_error e;

		CHECK(len >= 0, "request %u sent during the run: no answer (%s)", i,
		      hvk_last_error());
		if (type == HVW_ERROR && hvw_parse_error(ans, (uint32_t)len, &e) == 0 &&
		    e.err == -EBUSY) {
			busy++;
			continue;
		}
		switch (kinds[i]) {
		case K_EXT:
			if (type != HVW_IOCTL_RESP ||
			    hvw_parse_ioctl_resp(ans, (uint32_t)len, &resp) < 0 || resp.result != 1)
				problem("KVM_CHECK_EXTENSION %u queued in the run: wrong answer",
					i);
			break;
		case K_REGS_RUNNING:
		case K_REGS_SENTINEL:
			if (type != HVW_IOCTL_RESP ||
			    hvw_parse_ioctl_resp(ans, (uint32_t)len, &resp) < 0 || resp.result ||
			    resp.arg_len != sizeof(regs)) {
				problem("KVM_GET_REGS %u queued in the run: wrong answer", i);
				break;
			}
			memcpy(&regs, resp.arg, sizeof(regs));
			if (kinds[i] == K_REGS_SENTINEL &&
			    memcmp(&regs, &S.st.kvm.regs, sizeof(regs)))
				problem("the sentinel's registers, read during a run, differ");
			if (kinds[i] == K_REGS_RUNNING && regs.rip != LOAD(HG_SPIN))
				problem("the spinning vCPU's RIP 0x%llx",
					(unsigned long long)regs.rip);
			break;
		case K_READ_SENTINEL:
			if (type != HVW_MEM_READ_RESP || len != 64 || memcmp(ans, S.want, 64))
				problem("MEM_READ of the sentinel queued in the run: wrong answer");
			break;
		case K_BAD:
			if (type != HVW_ERROR || hvw_parse_error(ans, (uint32_t)len, &e) ||
			    e.err != -EINVAL)
				problem("a lying IOCTL_REQ queued in the run: not ERROR -EINVAL");
			break;
		case K_TYPE:
			if (type != HVW_ERROR || hvw_parse_error(ans, (uint32_t)len, &e) ||
			    e.err != -ENOTTY)
				problem("frame type 0x66 queued in the run: not ERROR -ENOTTY");
			break;
		}
		done_ok++;
	}
	TRY(xfer(HVW_IOCTL_REQ, pl, ioctl_pl(KVM_GET_API_VERSION, 0, 0, 0, 0, 0, NULL, 0), &r,
		 "KVM_GET_API_VERSION after the run"));
	{
		uint8_t type;
		int len = hvk_wait_frame(H, hseq, ANSWER_MS, &type, ans, sizeof(ans));

		struct hvw_error e;

		CHECK(len >= 0, "the malformed BYE sent during the run: no answer");
		if (type != HVW_ERROR || hvw_parse_error(ans, (uint32_t)len, &e) ||
		    (e.err != -EINVAL && e.err != -EBUSY))
			problem("the malformed BYE sent during the run: answered %s, expected "
				"ERROR -EINVAL",
				hvw_type_name(type));
	}
	if (!busy)
		problem("%u requests during a run, none answered -EBUSY (queue of 8)", nseq);
	if (chatty())
		fprintf(stderr, "  during the run: %u requests, %u answered after it, %u -EBUSY\n",
			nseq, done_ok, busy);

	/* CLOSE of the running VM: the run ends first, then the VM goes. */
	prep(&a.v[0], HG_SPIN, false, true);
	TRY(runner_start(&rn, &a.v[0]));
	sleep_ms(200);
	memset(b, 0, 8);
	put32b(b, a.handle);
	n_inputs++;
	if (hvk_send_frame(H, HVW_CLOSE, b, HVW_CLOSE_LEN, &hseq) < 0) {
		runner_stop(&rn);
		return fail("sending CLOSE: %s", hvk_last_error());
	}
	if (!runner_wait(&rn, 20000))
		problem("a CLOSE of the running VM did not stop its run within 20 s");
	if (!runner_stop(&rn))
		return fail("the run did not end even with KICKs");
	if (!(rn.r == -1 && rn.e == EINTR))
		problem("the run stopped by CLOSE: %s, expected -1/EINTR", result_str(rn.r, rn.e));
	{
		uint8_t type;
		int len = hvk_wait_frame(H, hseq, ANSWER_MS, &type, ans, sizeof(ans));
		struct hvw_ioctl_resp resp;

		CHECK(len >= 0, "the CLOSE sent during the run: no answer");
		if (type != HVW_IOCTL_RESP || hvw_parse_ioctl_resp(ans, (uint32_t)len, &resp) ||
		    resp.result)
			problem("the CLOSE sent during the run: not IOCTL_RESP 0");
	}
	TRY(want_ioctl(KVM_GET_REGS, HVW_TARGET_VCPU, a.handle, 0, argb, sizeof(regs), -EBADF,
		       "the closed VM's vCPU"));
	avm_close(&a);
#undef SEND
	return T_PASS;
}

/* ==== KVM_RUN records that lie ==== */

static int a_run_records(void)
{
	struct kvm_run *kr = (struct kvm_run *)argb;
	const uint32_t KR = sizeof(struct kvm_run);
	struct kvm_regs regs = {0};
	struct reply r;
	static struct avm a;
	uint32_t h, n;
	uint8_t *c = argb;
	int rc;

	TRY(avm_open(&a, 1));
	h = a.handle;
	TRY(load_state(&a.v[0], HG_OUT, false));
#define PLAIN(len, res, what)                                                                      \
	TRY(want_ioctl(KVM_RUN, HVW_TARGET_VCPU, h, 0, argb, (len), (res), (what)))
	memset(argb, 0, KR + PG + 8);
	PLAIN(0, -EFAULT, "KVM_RUN with no kvm_run");
	PLAIN(100, -EFAULT, "KVM_RUN with 100 bytes of kvm_run");
	PLAIN(KR + PG + 1, -EFAULT, "KVM_RUN with kvm_run and 4097 bytes of I/O data");
	kr->kvm_valid_regs = 1ull << 40;
	PLAIN(KR, -EINVAL, "KVM_RUN: kvm_valid_regs bit 40");
	kr->kvm_valid_regs = 0;
	kr->kvm_dirty_regs = 1ull << 63;
	PLAIN(KR, -EINVAL, "KVM_RUN: kvm_dirty_regs bit 63");
	kr->kvm_dirty_regs = KVM_SYNC_X86_SREGS;
	kr->s.regs.sregs.cr0 = CR0_PG; /* paging without protection */
	PLAIN(KR, -EINVAL, "KVM_RUN: dirty sregs with CR0.PG and no PE");
	kr->kvm_dirty_regs = HV_SYNC_X86_MSRS;
	kr->s.hv.msrs.nmsrs = HV_SYNC_REGS_NUM_MSRS + 1;
	PLAIN(KR, -E2BIG, "KVM_RUN: nine sync MSRs");
	kr->s.hv.msrs.nmsrs = 0;
	PLAIN(KR, -EINVAL, "KVM_RUN: loading zero sync MSRs");
	kr->s.hv.msrs.nmsrs = 1;
	kr->s.hv.msrs.entries[0].index = 0x12345678;
	PLAIN(KR, -EINVAL, "KVM_RUN: loading an unknown sync MSR");
	memset(argb, 0, KR);
	kr->cr8 = 16;
	PLAIN(KR, -EINVAL, "KVM_RUN: cr8 16");
	kr->cr8 = 0;
	kr->immediate_exit = 1;
	PLAIN(KR, -EINTR, "KVM_RUN: immediate_exit");
	kr->immediate_exit = 0;
	OK(rc, "KVM_GET_REGS", ioc(a.v[0].fd, KVM_GET_REGS, &regs));
	if (regs.rip != LOAD(HG_OUT))
		problem("a refused KVM_RUN ran the guest: RIP 0x%llx",
			(unsigned long long)regs.rip);

	if (hvk_caps(H) & HVW_CAP_COMPACT_RUN) {
		struct {
			uint32_t len;
			uint32_t flags;
			uint16_t dlen;
			uint64_t dirty;
			const char *what;
		} bad[] = {
		    {0, 0, 0, 0, "compact KVM_RUN of 0 bytes"},
		    {HVR_REQ_HDR_LEN - 1, 0, 0, 0, "compact KVM_RUN of 23 bytes"},
		    {HVR_REQ_HDR_LEN, 0x80, 0, 0, "compact KVM_RUN flag 0x80"},
		    {HVR_REQ_HDR_LEN, 0, 100, 0, "compact KVM_RUN: 100 data bytes promised"},
		    {HVR_REQ_HDR_LEN + 4, 0, 4, 0, "compact KVM_RUN: IN data, no IN pending"},
		    {HVR_REQ_HDR_LEN + 1, 0, 0, 0, "compact KVM_RUN: a trailing byte"},
		    {HVR_REQ_HDR_LEN + 40, 0, 0, KVM_SYNC_X86_REGS,
		     "compact KVM_RUN: dirty regs as 40 bytes of 0xff"},
		    {HVR_REQ_HDR_LEN + 8, HVR_CR8, 0, 0, "compact KVM_RUN: cr8 ~0"},
		};
		for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			memset(c, 0, 128);
			put32b(c + 4, bad[i].flags);
			memcpy(c + 2, &bad[i].dlen, 2);
			put64(c + 16, bad[i].dirty);
			if (bad[i].dirty || (bad[i].flags & HVR_CR8))
				memset(c + HVR_REQ_HDR_LEN, 0xff, 40);
			n = ioctl_pl(KVM_RUN, HVW_TARGET_VCPU, HVW_IOCTL_COMPACT_RUN, h, 0,
				     bad[i].len, c, bad[i].len);
			TRY(xfer(HVW_IOCTL_REQ, pl, n, &r, bad[i].what));
			if (r.type != HVW_IOCTL_RESP || r.result >= 0)
				problem("%s: %s, expected an error", bad[i].what, reply_str(&r));
		}
		OK(rc, "KVM_GET_REGS", ioc(a.v[0].fd, KVM_GET_REGS, &regs));
		if (regs.rip != LOAD(HG_OUT))
			problem("a refused compact KVM_RUN ran the guest: RIP 0x%llx",
				(unsigned long long)regs.rip);
	}
	/* The compact flag on another ioctl: a defined answer, whatever it is. */
	n = ioctl_pl(KVM_GET_REGS, HVW_TARGET_VCPU, HVW_IOCTL_COMPACT_RUN, h, 0, sizeof(regs),
		     &regs, sizeof(regs));
	TRY(xfer(HVW_IOCTL_REQ, pl, n, &r, "KVM_GET_REGS with the compact-run flag"));
	if (chatty())
		fprintf(stderr, "  KVM_GET_REGS with the compact-run flag: %s\n", reply_str(&r));
	/* An honest plain run still works: the guest's OUT comes back in the kvm_run. */
	memset(argb, 0, KR);
	TRY(raw_ioctl(KVM_RUN, HVW_TARGET_VCPU, h, 0, argb, KR, &r, "a plain KVM_RUN frame"));
	if (r.result || r.arg_len < KR ||
	    ((const struct kvm_run *)r.arg)->exit_reason != KVM_EXIT_IO)
		problem("an honest plain KVM_RUN after the lies: %s", reply_str(&r));
#undef PLAIN
	avm_close(&a);
	return T_PASS;
}

/* ==== storms ==== */

static int a_exit_storm(void)
{
	const uint32_t ncpuid = 20000, nvmcall = 5000, npause = 5000;
	static struct avm a;
	double t0;

	TRY(avm_open(&a, 1));
	prep(&a.v[0], HG_STORM, false, true);
	a.v[0].run->s.regs.regs.rsi = ncpuid;
	a.v[0].run->s.regs.regs.rdi = nvmcall;
	a.v[0].run->s.regs.regs.rbp = npause;
	t0 = now_s();
	TRY(run_want_out(&a.v[0], HG_STORM_DONE, 120000, "CPUID/VMCALL/PAUSE storm"));
	if (chatty())
		fprintf(stderr, "  %u CPUID + %u VMCALL + %u PAUSE exits in %.2f s\n", ncpuid,
			nvmcall, npause, now_s() - t0);
	TRY(usable(&a.v[0], "the exit storm"));
	avm_close(&a);
	return T_PASS;
}

static int a_fault_storm(void)
{
	const uint32_t ngp = 3000;
	struct kvm_regs regs;
	struct outcome o;
	static struct avm a;
	int rc;

	TRY(avm_open(&a, 1));
	/* #UD in a loop with no exit at all: only a KICK ends it. */
	set_ivt(&a, 6, HG_IRET);
	set_ivt(&a, 13, HG_GP_SKIP);
	prep(&a.v[0], HG_UD, false, true);
	TRY(run_bounded(&a.v[0], 1000, &o));
	if (!(o.kicked && o.r == -1 && o.e == EINTR))
		problem("the #UD storm: %s, expected it to run until KICKed (-1/EINTR)",
			outcome_str(&o, &a.v[0]));
	OK(rc, "KVM_GET_REGS", ioc(a.v[0].fd, KVM_GET_REGS, &regs));
	if (regs.rip != LOAD(HG_UD) && regs.rip != LOAD(HG_IRET))
		problem("the #UD storm stopped at RIP 0x%llx", (unsigned long long)regs.rip);
	/* #GP injected by the hypervisor for each RDMSR of an unknown MSR. */
	prep(&a.v[0], HG_GP_STORM, false, true);
	a.v[0].run->s.regs.regs.rcx = 0x12345678;
	a.v[0].run->s.regs.regs.rsi = ngp;
	TRY(run_want_out(&a.v[0], ngp, 120000, "RDMSR #GP storm (the count of #GPs)"));
	TRY(usable(&a.v[0], "the fault storms"));
	avm_close(&a);
	return T_PASS;
}

/* ==== MSRs ==== */

static bool canonical48(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/*
 * KVM_SET_MSRS / KVM_GET_MSRS over every MSR the hypervisor lists and some
 * it does not, with values nothing should take. Each call stops at the
 * first refusal, so the list is sent again from the entry after it.
 */
static int a_msr_host_sweep(void)
{
	static const uint32_t extra[] = {0x0,	     0x3a,	 0x49,	     0x1d9,
					 0x480,	     0x491,	 0x40000000, 0x4b564d00,
					 0xc0000104, 0x12345678, 0xffffffff};
	static const uint64_t vals[] = {~0ull, 0x0000800000000000ull};
	static struct msr_set l[2 * 300];
	static struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[300];
	} g;
	struct {
		struct kvm_msr_list h;
		uint32_t i[256];
	} il;
	unsigned nidx = 0, n = 0, got = 0, refused = 0;
	uint32_t idx[300];
	struct outcome o;
	static struct avm a;
	int rc, taken;

	TRY(avm_open(&a, 1));
	memset(&il, 0, sizeof(il));
	il.h.nmsrs = 256;
	OK(rc, "KVM_GET_MSR_INDEX_LIST", ioc(KVM, KVM_GET_MSR_INDEX_LIST, &il));
	/* The MTRRs are the guest sweep's: here they would cost a round trip each. */
	for (uint32_t i = 0; i < il.h.nmsrs && i < 256; i++)
		if (il.i[i] < 0x200 || il.i[i] > 0x2fe || il.i[i] == M_PAT)
			idx[nidx++] = il.i[i];
	for (unsigned i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		idx[nidx++] = extra[i];
	for (unsigned v = 0; v < sizeof(vals) / sizeof(vals[0]); v++)
		for (unsigned i = 0; i < nidx; i++)
			l[n++] = (struct msr_set){idx[i], vals[v]};
	taken = set_msrs(a.v[0].fd, l, n);
	CHECK(taken >= 0, "KVM_SET_MSRS during the sweep: -1/%s (%s)", en(errno), hvk_last_error());
	/* Read everything back the same way. */
	for (unsigned i = 0; i < nidx;) {
		unsigned k = nidx - i;

		memset(&g, 0, sizeof(g));
		g.h.nmsrs = k;
		for (unsigned j = 0; j < k; j++)
			g.e[j].index = idx[i + j];
		n_inputs++;
		OK(rc, "KVM_GET_MSRS during the sweep", ioc(a.v[0].fd, KVM_GET_MSRS, &g));
		CHECK((unsigned)rc <= k, "KVM_GET_MSRS of %u returned %d", k, rc);
		for (int j = 0; j < rc; j++) {
			uint32_t m = g.e[j].index;
			uint64_t d = g.e[j].data;

			if ((m == M_KGS_BASE || m == M_LSTAR || m == M_CSTAR || m == M_FS_BASE ||
			     m == M_GS_BASE || m == M_SYSENTER_EIP || m == M_SYSENTER_ESP) &&
			    !canonical48(d))
				problem("MSR 0x%x reads 0x%llx after the sweep: not canonical", m,
					(unsigned long long)d);
			if (m == M_EFER && (d & ~0xd01ull))
				problem("EFER reads 0x%llx after the sweep", (unsigned long long)d);
		}
		got += (unsigned)rc;
		refused += (unsigned)rc < k;
		i += (unsigned)rc + ((unsigned)rc < k);
	}
	if (chatty())
		fprintf(stderr,
			"  host sweep: %u MSRs x %zu values: %d taken; %u readable, %u not\n", nidx,
			sizeof(vals) / sizeof(vals[0]), taken, got, refused);
	/* Run with whatever that left; then put back what real mode needs and run again. */
	TRY(set_rip(&a.v[0], HG_OUT));
	TRY(run_bounded(&a.v[0], 5000, &o));
	if (chatty())
		fprintf(stderr, "  after the sweep: %s\n", outcome_str(&o, &a.v[0]));
	{
		const struct msr_set back[] = {{M_PAT, PAT_RESET}, {M_EFER, 0}};

		set_msrs(a.v[0].fd, back, 2);
	}
	TRY(usable(&a.v[0], "the host MSR sweep"));
	avm_close(&a);
	return T_PASS;
}

/* The guest reads and writes 1800 MSR indices; every #GP must be its own. */
static int a_msr_guest_sweep(void)
{
	static const uint32_t ranges[][2] = {
	    {0x0, 0x200},	 {0x200, 0x100},     {0x400, 0x100},	  {0x800, 0x100},
	    {0xc0000000, 0x104}, {0xc0010000, 0x20}, {0x40000000, 0x100}, {0x4b564d00, 0x10},
	};
	static const uint64_t vals[] = {~0ull, 0x0000800000000000ull, 0xff, 0};
	uint32_t nr = 0, total = 0, res[4];
	struct outcome o;
	static struct avm a;
	uint8_t *d;
	int rc;

	TRY(avm_open(&a, 1));
	d = a.vm.mem + G_DATA;
	set_ivt(&a, 13, HG_GP_SKIP);
	for (unsigned i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++, nr++) {
		put32(d, HGS_RANGES + nr * 8, ranges[i][0]);
		put32(d, HGS_RANGES + nr * 8 + 4, ranges[i][1]);
		total += ranges[i][1];
	}
	for (unsigned i = 0; i < 24; i++, nr++) {
		put32(d, HGS_RANGES + nr * 8, (uint32_t)rand64());
		put32(d, HGS_RANGES + nr * 8 + 4, 1);
		total++;
	}
	put16(d, HGS_NRANGES, (uint16_t)nr);
	for (unsigned i = 0; i < 4; i++)
		memcpy(d + HGS_VALS + i * 8, &vals[i], 8);
	put16(d, HGS_VALS_END, (uint16_t)(G_DATA + HGS_VALS + 4 * 8));
	prep(&a.v[0], HG_SWEEP, false, true);
	TRY(run_bounded(&a.v[0], 180000, &o));
	CHECK(o.out && o.data == HG_SWEEP_DONE, "the guest's MSR sweep: %s",
	      outcome_str(&o, &a.v[0]));
	OK(rc, "hvk_mem_read", hvk_mem_read(H, a.vm.fd, G_RESULT, res, sizeof(res)));
	if (res[HGR_INDICES / 4] != total)
		problem("the guest visited %u MSR indices of %u", res[HGR_INDICES / 4], total);
	if (res[0] < total - res[HGR_READS / 4])
		problem("%u #GPs for %u refused reads", res[0], total - res[HGR_READS / 4]);
	if (chatty())
		fprintf(stderr, "  guest sweep: %u indices, %u readable, %u WRMSRs, %u #GPs\n",
			total, res[HGR_READS / 4], res[HGR_WRITES / 4], res[0]);
	{
		const struct msr_set back[] = {{M_PAT, PAT_RESET}};

		set_msrs(a.v[0].fd, back, 1);
	}
	TRY(usable(&a.v[0], "the guest's MSR sweep"));
	avm_close(&a);
	return T_PASS;
}

/* ==== triple faults ==== */

static void pm_sregs(struct kvm_sregs *sr)
{
	struct kvm_segment code = {.base = 0,
				   .limit = 0xffffffff,
				   .selector = 8,
				   .type = 0xb,
				   .present = 1,
				   .db = 1,
				   .s = 1,
				   .g = 1};
	struct kvm_segment data = code;

	data.selector = 0x10;
	data.type = 3;
	sr->cs = code;
	sr->ds = sr->es = sr->fs = sr->gs = sr->ss = data;
	sr->tr = (struct kvm_segment){.limit = 0x67, .selector = 0x18, .type = 11, .present = 1};
	sr->cr0 = (sr->cr0 | CR0_PE) & ~(CR0_PG | CR0_EM | CR0_TS);
	sr->gdt.base = 0x3800;
	sr->gdt.limit = 0x1f;
	sr->idt.base = 0;
	sr->idt.limit = 0;
}

/* prep(), in real mode or flat 32-bit protected mode, with an IDT/IVT limit of 0. */
static void no_idt(struct vcpu *v, uint32_t entry, bool pm, bool events)
{
	prep(v, entry, false, events);
	if (pm)
		pm_sregs(&v->run->s.regs.sregs);
	v->run->s.regs.sregs.idt.limit = 0;
}

static int a_triple_fault(void)
{
	struct kvm_vcpu_events ev = {.flags = KVM_VCPUEVENT_VALID_NMI_PENDING |
					      KVM_VCPUEVENT_VALID_SHADOW};
	struct outcome o;
	static struct avm a;
	int rc;

	TRY(avm_open(&a, 1));
	for (int pm = 0; pm < 2; pm++) {
		const char *mode = pm ? "protected mode" : "real mode";

		no_idt(&a.v[0], HG_UD, pm, true);
		TRY(run_bounded(&a.v[0], 10000, &o));
		if (!(o.r == 0 && o.exit == KVM_EXIT_SHUTDOWN))
			problem("UD2 with IDT limit 0 (%s): %s, expected KVM_EXIT_SHUTDOWN", mode,
				outcome_str(&o, &a.v[0]));
		/* Again, without a reset: a defined answer (Linux: the shutdown again). */
		a.v[0].run->kvm_dirty_regs = 0;
		TRY(run_bounded(&a.v[0], 10000, &o));
		if (o.kicked)
			problem("a run after the triple fault (%s) had to be KICKed: %s", mode,
				outcome_str(&o, &a.v[0]));
		TRY(usable(&a.v[0], "a triple fault"));
	}
	/* #DF injected into protected mode with no IDT: its delivery shuts down. */
	no_idt(&a.v[0], HG_OUT, true, false);
	ev.exception.injected = 1;
	ev.exception.nr = 8;
	ev.exception.has_error_code = 1;
	OK(rc, "KVM_SET_VCPU_EVENTS (#DF)", ioc(a.v[0].fd, KVM_SET_VCPU_EVENTS, &ev));
	TRY(run_bounded(&a.v[0], 10000, &o));
	if (!(o.r == 0 && (o.exit == KVM_EXIT_SHUTDOWN || o.exit == KVM_EXIT_FAIL_ENTRY)))
		problem("#DF injected with no IDT: %s, expected KVM_EXIT_SHUTDOWN",
			outcome_str(&o, &a.v[0]));
	TRY(usable(&a.v[0], "an injected #DF with no IDT"));
	avm_close(&a);
	return T_PASS;
}

/* ==== bad injected events ==== */

enum { OK_FAIL_ENTRY = 1, OK_SHUTDOWN = 2, OK_MARK_ANY = 4 };

/*
 * KVM_SET_VCPU_EVENTS @e on @v (prepared at @entry, real mode or protected
 * mode without an IDT, IF as asked), then a run: the OUT of @want, or what
 * @also allows. The events always say NMI_PENDING and SHADOW, so they
 * replace whatever the last try left. A vCPU whose run did not end in an
 * OUT must work again after KVM_SET_SREGS/REGS.
 */
static int event_try(struct vcpu *v, const struct kvm_vcpu_events *e, bool pm, bool if_on,
		     uint32_t want, unsigned also, const char *what)
{
	struct kvm_vcpu_events ev = *e;
	struct outcome o;
	bool good;

	if (pm)
		no_idt(v, HG_OUT, true, false);
	else
		prep(v, e->nmi.injected ? HG_NMI_IRET : HG_OUT, if_on, false);
	ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	n_inputs++;
	errno = 0;
	if (ioc(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0) {
		problem("%s: KVM_SET_VCPU_EVENTS -1/%s", what, en(errno));
		return T_PASS;
	}
	TRY(run_bounded(v, 10000, &o));
	good = (o.out && o.data == want) ||
	       (o.out && (also & OK_MARK_ANY) && (o.data & ~0xffu) == G_MARK_VEC) ||
	       (o.r == 0 && o.exit == KVM_EXIT_FAIL_ENTRY && (also & OK_FAIL_ENTRY)) ||
	       (o.r == 0 && o.exit == KVM_EXIT_SHUTDOWN && (also & OK_SHUTDOWN));
	if (!good)
		problem("%s: %s, expected OUT 0x%x%s%s", what, outcome_str(&o, v), want,
			also & OK_FAIL_ENTRY ? " or FAIL_ENTRY" : "",
			also & OK_SHUTDOWN ? " or SHUTDOWN" : "");
	if (!o.out)
		TRY(usable(v, what));
	return T_PASS;
}

static int a_bad_events(void)
{
	static const struct {
		uint8_t nr;
		uint32_t flags;
		uint8_t smm;
		const char *what;
	} refused[] = {
	    {2, 0, 0, "exception 2 (NMI)"},
	    {32, 0, 0, "exception 32"},
	    {255, 0, 0, "exception 255"},
	    {0, 0x80000000, 0, "flag 0x80000000"},
	    {0, KVM_VCPUEVENT_VALID_TRIPLE_FAULT, 0, "a triple fault event (not enabled)"},
	    {0, KVM_VCPUEVENT_VALID_SMM, 1, "SMM (this hypervisor has none)"},
	};
	struct kvm_vcpu_events e;
	struct kvm_interrupt irq;
	struct vcpu *v;
	static struct avm a;
	int rc;

	TRY(avm_open(&a, 1));
	v = &a.v[0];
#define EV0() memset(&e, 0, sizeof(e))
	EV0();
	e.exception.injected = 1;
	e.exception.nr = 8;
	TRY(event_try(v, &e, false, false, MARK(8), 0, "#DF without an error code, real mode"));
	TRY(event_try(v, &e, true, false, 0, OK_FAIL_ENTRY | OK_SHUTDOWN,
		      "#DF without an error code, protected mode"));
	EV0();
	e.exception.injected = 1;
	e.exception.nr = 31;
	e.exception.has_error_code = 1;
	e.exception.error_code = 0xffffffff;
	TRY(event_try(v, &e, false, false, MARK(31), 0,
		      "exception 31 with an error code, real mode"));
	TRY(event_try(v, &e, true, false, 0, OK_FAIL_ENTRY | OK_SHUTDOWN,
		      "exception 31 with an error code, protected mode"));
	EV0();
	e.exception.injected = 1;
	e.exception.nr = 14;
	e.exception.has_error_code = 1;
	e.exception.error_code = 0xffff;
	TRY(event_try(v, &e, false, false, MARK(14), 0, "#PF with an error code, real mode"));
	EV0();
	e.interrupt.injected = 1;
	e.interrupt.soft = 1;
	e.interrupt.nr = 255;
	TRY(event_try(v, &e, false, false, MARK(255), 0, "soft interrupt 255"));
	EV0();
	e.nmi.injected = 1;
	e.nmi.masked = 1;
	TRY(event_try(v, &e, false, false, MARK(2), OK_FAIL_ENTRY,
		      "an NMI injected while NMIs are masked, then IRET"));
	EV0();
	e.interrupt.shadow = KVM_X86_SHADOW_INT_MOV_SS | KVM_X86_SHADOW_INT_STI;
	TRY(event_try(v, &e, false, false, HG_OUT_VAL, OK_FAIL_ENTRY,
		      "both interrupt shadows, IF=0"));
	e.exception.injected = 1;
	e.exception.nr = 1;
	TRY(event_try(v, &e, false, false, MARK(1), OK_FAIL_ENTRY,
		      "#DB with both interrupt shadows"));
	EV0();
	e.exception.injected = 1;
	e.exception.nr = 13;
	e.nmi.pending = 1;
	e.interrupt.injected = 1;
	e.interrupt.nr = 0x41;
	TRY(event_try(v, &e, false, true, MARK(13), OK_FAIL_ENTRY | OK_MARK_ANY,
		      "#GP, an NMI and interrupt 0x41 at once"));

	/* Refused outright (kvm_vcpu_ioctl_x86_set_vcpu_events' checks). */
	for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char what[96];

		EV0();
		e.flags = refused[i].flags;
		e.smi.smm = refused[i].smm;
		if (refused[i].nr) {
			e.exception.injected = 1;
			e.exception.nr = refused[i].nr;
		}
		if (refused[i].flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT)
			e.triple_fault.pending = 1;
		snprintf(what, sizeof(what), "KVM_SET_VCPU_EVENTS: %s", refused[i].what);
		n_inputs++;
		ERRNO(what, ioc(v->fd, KVM_SET_VCPU_EVENTS, &e), EINVAL);
	}
	prep(v, HG_OUT, false, true);
	TRY(run_want_out(v, HG_OUT_VAL, 10000, "HG_OUT after refused events"));

	/* KVM_INTERRUPT and KVM_NMI */
	prep(v, HG_OUT, true, false);
	irq.irq = 256;
	ERRNO("KVM_INTERRUPT 256", ioc(v->fd, KVM_INTERRUPT, &irq), EINVAL);
	irq.irq = 0xffffffff;
	ERRNO("KVM_INTERRUPT 0xffffffff", ioc(v->fd, KVM_INTERRUPT, &irq), EINVAL);
	irq.irq = 255;
	OK(rc, "KVM_INTERRUPT 255", ioc(v->fd, KVM_INTERRUPT, &irq));
	TRY(run_want_out(v, MARK(255), 10000, "KVM_INTERRUPT 255 with IF=1"));
	prep(v, HG_OUT, false, false);
	for (int i = 0; i < 10; i++) {
		n_inputs++;
		OK(rc, "KVM_NMI", ioc_int(v->fd, KVM_NMI, 0));
	}
	TRY(run_want_out(v, MARK(2), 10000, "10 x KVM_NMI"));
	TRY(usable(v, "bad events"));
#undef EV0
	avm_close(&a);
	return T_PASS;
}

/* ==== register state VM entry refuses, or that makes no sense ==== */

static int a_bad_state(void)
{
	struct kvm_debugregs d;
	struct kvm_sregs sr;
	struct kvm_regs regs;
	struct kvm_fpu f;
	struct outcome o;
	struct vcpu *v;
	static struct avm a;
	int rc;

	TRY(avm_open(&a, 1));
	v = &a.v[0];
	/* Each: one thing changed from real mode at HG_OUT; a defined answer, whatever it is. */
	for (int k = 0; k < 9; k++) {
		const char *what = "?";

		sr = real_tmpl;
		memset(&regs, 0, sizeof(regs));
		regs.rip = LOAD(HG_OUT);
		regs.rsp = G_STACK;
		regs.rflags = RFLAGS_FIXED;
		switch (k) {
		case 0:
			what = "FS base 0x8000000000000000 (not canonical)";
			sr.fs.base = 0x8000000000000000ull;
			break;
		case 1:
			what = "GDTR base 2^64 - 8";
			sr.gdt.base = 0ull - 8;
			break;
		case 2:
			what = "TR unusable";
			sr.tr.unusable = 1;
			sr.tr.present = 0;
			break;
		case 3:
			what = "protected mode, SS.DPL 3 under CS.DPL 0";
			pm_sregs(&sr);
			sr.idt.limit = 0x3ff;
			sr.ss.dpl = 3;
			break;
		case 4:
			what = "CS a data segment";
			sr.cs.type = 3;
			break;
		case 5:
			what = "paging on, page tables where no memory is";
			pm_sregs(&sr);
			sr.cr0 |= CR0_PG;
			sr.cr3 = 0x100000;
			break;
		case 6:
			what = "RFLAGS all ones (VM, TF, reserved bits)";
			regs.rflags = ~0ull;
			break;
		case 7:
			what = "RIP 2^64 - 16 in real mode";
			regs.rip = 0ull - 16;
			break;
		case 8:
			what = "CR8 0xff, APIC base with reserved bits";
			sr.cr8 = 0xff;
			sr.apic_base = 0xfee00fffull;
			break;
		}
		n_inputs++;
		errno = 0;
		if (ioc(v->fd, KVM_SET_SREGS, &sr) < 0 && chatty())
			fprintf(stderr, "  %s: KVM_SET_SREGS -1/%s\n", what, en(errno));
		errno = 0;
		if (ioc(v->fd, KVM_SET_REGS, &regs) < 0)
			problem("%s: KVM_SET_REGS -1/%s", what, en(errno));
		v->run->kvm_dirty_regs = 0;
		TRY(run_bounded(v, 10000, &o));
		if (!((o.out && (o.data == HG_OUT_VAL || (o.data & ~0xffu) == G_MARK_VEC)) ||
		      (o.r == 0 && (o.exit == KVM_EXIT_FAIL_ENTRY || o.exit == KVM_EXIT_SHUTDOWN ||
				    o.exit == KVM_EXIT_INTERNAL_ERROR || o.exit == KVM_EXIT_MMIO))))
			problem("%s: %s", what, outcome_str(&o, v));
		else if (chatty())
			fprintf(stderr, "  %s: %s\n", what, outcome_str(&o, v));
	}
	TRY(usable(v, "odd segment and control registers"));
	/* FPU and debug registers nobody would write. */
	memset(&f, 0xff, sizeof(f));
	n_inputs++;
	errno = 0;
	rc = ioc(v->fd, KVM_SET_FPU, &f);
	if (chatty())
		fprintf(stderr, "  KVM_SET_FPU of all ones (MXCSR too): %s\n",
			result_str(rc, errno));
	f.fcw = 0;
	f.fsw = 0xffff;
	f.ftwx = 0x5a;
	f.mxcsr = 0x1f80;
	OK(rc, "KVM_SET_FPU of NaNs with every exception unmasked", ioc(v->fd, KVM_SET_FPU, &f));
	memset(&d, 0, sizeof(d));
	d.db[0] = ~0ull;
	d.db[1] = 0x8000000000000000ull;
	d.db[2] = LOAD(HG_OUT);
	d.db[3] = 0x0000800000000000ull;
	d.dr6 = 0xffffffff;
	d.dr7 = 0xffffffff;
	n_inputs++;
	errno = 0;
	rc = ioc(v->fd, KVM_SET_DEBUGREGS, &d);
	if (chatty())
		fprintf(stderr, "  KVM_SET_DEBUGREGS with every DR6/DR7 bit: %s\n",
			result_str(rc, errno));
	d.dr6 = 0xffff0ff0;
	d.dr7 = 0x400 | 0xff; /* every breakpoint enabled: execute, one byte */
	OK(rc, "KVM_SET_DEBUGREGS (breakpoints at odd addresses and at the guest's code)",
	   ioc(v->fd, KVM_SET_DEBUGREGS, &d));
	TRY(set_rip(v, HG_OUT));
	TRY(run_bounded(v, 10000, &o));
	if (!o.out && !(o.r == 0 && o.exit == KVM_EXIT_FAIL_ENTRY))
		problem("a run with odd FPU and debug registers: %s", outcome_str(&o, v));
	else if (chatty())
		fprintf(stderr, "  odd FPU and debug registers: %s\n", outcome_str(&o, v));
	memset(&d, 0, sizeof(d));
	d.dr6 = 0xffff0ff0;
	d.dr7 = 0x400;
	OK(rc, "KVM_SET_DEBUGREGS (reset)", ioc(v->fd, KVM_SET_DEBUGREGS, &d));
	TRY(usable(v, "odd FPU and debug registers"));
	avm_close(&a);
	return T_PASS;
}

/* ==== hypercalls with hostile arguments ==== */

static int a_hypercalls(void)
{
	static const struct {
		uint64_t rax, rbx, rcx;
		int64_t want;
		const char *what;
	} hc[] = {
	    {HC_VERSION, 0, 0, HV_HYPERCALL_ABI_VERSION, "VERSION"},
	    {HC_PUTS, G_DATA, HV_HC_PUTS_MAX + 1, -HC_EINVAL, "PUTS of 4097 bytes"},
	    {HC_PUTS, 0ull - 16, 32, -HC_EFAULT, "PUTS wrapping past 2^64"},
	    {HC_PUTS, 0x100000, 16, -HC_EFAULT, "PUTS where no memory is"},
	    {HC_PUTS, G_MEM_SIZE - 8, 16, -HC_EFAULT, "PUTS straddling the slot's end"},
	    {HC_PUTS, G_DATA, 1ull << 63, -HC_EINVAL, "PUTS of 2^63 bytes"},
	    {HC_PUTS, G_DATA, 0, 0, "PUTS of nothing"},
	    {HC_INJECT, 0, 0, -HC_EINVAL, "INJECT vector 0"},
	    {HC_INJECT, 31, 0, -HC_EINVAL, "INJECT vector 31"},
	    {HC_INJECT, 256, 0, -HC_EINVAL, "INJECT vector 256"},
	    {HC_INJECT, ~0ull, 0, -HC_EINVAL, "INJECT vector ~0"},
	    {5, 0, 0, -HC_ENOSYS, "hypercall 5"},
	    {~0ull, 0, 0, -HC_ENOSYS, "hypercall ~0"},
	};
	struct outcome o;
	static struct avm a;

	TRY(avm_open(&a, 1));
	for (unsigned i = 0; i < sizeof(hc) / sizeof(hc[0]); i++) {
		prep(&a.v[0], HG_VMCALL, false, true);
		a.v[0].run->s.regs.regs.rax = hc[i].rax;
		a.v[0].run->s.regs.regs.rbx = hc[i].rbx;
		a.v[0].run->s.regs.regs.rcx = hc[i].rcx;
		TRY(run_bounded(&a.v[0], 10000, &o));
		if (!o.out) {
			problem("hypercall %s: %s", hc[i].what, outcome_str(&o, &a.v[0]));
			continue;
		}
		/* RAX in full, from the sync set the run brought back. */
		if ((int64_t)a.v[0].run->s.regs.regs.rax != hc[i].want)
			problem("hypercall %s returned %lld, expected %lld", hc[i].what,
				(long long)a.v[0].run->s.regs.regs.rax, (long long)hc[i].want);
	}
	TRY(usable(&a.v[0], "hostile hypercalls"));
	avm_close(&a);
	return T_PASS;
}

/* ==== a guest writing all it has, and past it ==== */

static int a_scribble(void)
{
	const uint32_t mark = 0xa77acc01;
	uint32_t got[4], count;
	uint64_t first;
	struct outcome o;
	static struct avm a, b;
	int rc;

	TRY(avm_open(&a, 1));
	TRY(avm_open(&b, 1));
	prep(&a.v[0], HG_SCRIBBLE, false, true);
	a.v[0].run->s.regs.regs.rax = mark;
	TRY(run_bounded(&a.v[0], 20000, &o));
	if (!(o.r == 0 && o.exit == KVM_EXIT_MMIO && a.v[0].run->mmio.is_write &&
	      a.v[0].run->mmio.phys_addr == G_MEM_SIZE && a.v[0].run->mmio.len == 4 &&
	      get32(a.v[0].run->mmio.data) == mark))
		problem("the store past the slot: %s, expected an MMIO write of 0x%x at 0x%x",
			outcome_str(&o, &a.v[0]), mark, G_MEM_SIZE);
	a.v[0].run->kvm_dirty_regs = 0;
	TRY(run_bounded(&a.v[0], 20000, &o));
	if (!(o.out && o.data == HG_SCRIBBLE_DONE))
		problem("after the MMIO write: %s", outcome_str(&o, &a.v[0]));
	OK(rc, "hvk_mem_read", hvk_mem_read(H, a.vm.fd, G_MEM_SIZE - 16, got, 16));
	if (got[0] != mark || got[3] != mark)
		problem("the guest's own memory does not hold its marker (0x%x)", got[3]);
	/* B: only what the library pushed; not a byte of A's. */
	TRY(mem_changed(b.handle, 0, G_MEM_SIZE, &count, &first, "MEM_CHANGED of VM B"));
	if (count)
		problem("VM B has %u page(s) nobody wrote, the first at 0x%llx", count,
			(unsigned long long)first);
	OK(rc, "hvk_mem_read", hvk_mem_read(H, b.vm.fd, G_MEM_SIZE - 16, got, 16));
	if (got[0] || got[3])
		problem("VM B's memory holds 0x%x after VM A scribbled", got[3]);
	TRY(usable(&a.v[0], "scribbling"));
	avm_close(&b);
	avm_close(&a);
	return T_PASS;
}

/* ==== CPUID tables nobody would give ==== */

struct cpuid_tab {
	struct kvm_cpuid2 h;
	struct kvm_cpuid_entry2 e[80];
};

static struct kvm_cpuid_entry2 *cpuid_find(struct cpuid_tab *t, uint32_t fn)
{
	for (uint32_t i = 0; i < t->h.nent; i++)
		if (t->e[i].function == fn)
			return &t->e[i];
	return NULL;
}

/* ESI CPUIDs from leaf @first in steps of @stride, each with its own subleaf. */
static int cpuid_sweep(struct vcpu *v, uint32_t first, uint32_t stride, uint32_t n,
		       const char *what)
{
	prep(v, HG_CPUID_SWEEP, false, true);
	v->run->s.regs.sregs.apic_base = 0; /* legal whatever MAXPHYADDR says */
	v->run->s.regs.regs.rdi = first;
	v->run->s.regs.regs.rbp = stride;
	v->run->s.regs.regs.rsi = n;
	return run_want_out(v, HG_STORM_DONE, 60000, what);
}

static int a_cpuid_table(void)
{
	static struct cpuid_tab sup, t;
	struct kvm_cpuid_entry2 *e;
	struct kvm_sregs sr;
	static struct avm a, b;
	struct vcpu *v;
	int rc;

	/*
	 * Each table goes to a vCPU that has not run yet: after the first
	 * KVM_RUN only the same table may be set again (kvm_set_cpuid).
	 */
	TRY(avm_open(&a, 2));
	v = &a.v[0];
	memset(&sup, 0, sizeof(sup));
	sup.h.nent = 80;
	OK(rc, "KVM_GET_SUPPORTED_CPUID", ioc(KVM, KVM_GET_SUPPORTED_CPUID, &sup));

	/* 80 entries of noise: a defined answer, then a guest asking every sort of leaf. */
	memset(&t, 0, sizeof(t));
	t.h.nent = 80;
	for (unsigned i = 0; i < 80; i++) {
		uint64_t r1 = rand64(), r2 = rand64(), r3 = rand64();

		t.e[i].function = i < 30 ? (uint32_t)r1 : i < 55 ? i - 30 : 0x80000000 + i - 55;
		t.e[i].index = (uint32_t)(r1 >> 32) & 3;
		t.e[i].flags = (uint32_t)r2 & 7;
		t.e[i].eax = (uint32_t)(r2 >> 32);
		t.e[i].ebx = (uint32_t)r3;
		t.e[i].ecx = (uint32_t)(r3 >> 32);
		t.e[i].edx = (uint32_t)rand64();
	}
	n_inputs++;
	errno = 0;
	rc = ioc(v->fd, KVM_SET_CPUID2, &t);
	if (rc < 0 && errno != EINVAL)
		problem("KVM_SET_CPUID2 of noise: -1/%s", en(errno));
	if (chatty())
		fprintf(stderr, "  KVM_SET_CPUID2 of 80 random entries: %s\n",
			result_str(rc, errno));
	TRY(cpuid_sweep(v, 0, 1, 64, "CPUID of leaves 0..63 under a table of noise"));
	TRY(cpuid_sweep(v, 0x80000000, 1, 64, "CPUID of leaves 0x80000000.. under noise"));
	TRY(cpuid_sweep(v, 0x3ffffff0, 0x01234567, 1000, "1000 CPUIDs all over the leaf space"));
	TRY(usable(v, "a CPUID table of noise"));

	/* kvm_cpuid_check_equal(): after a run, its own table again is fine, another EINVAL. */
	memset(&t, 0, sizeof(t));
	t.h.nent = 80;
	OK(rc, "KVM_GET_CPUID2 after a run", ioc(v->fd, KVM_GET_CPUID2, &t));
	n_inputs += 2;
	errno = 0;
	rc = ioc(v->fd, KVM_SET_CPUID2, &t);
	if (rc)
		problem("KVM_SET_CPUID2 of its own table after KVM_RUN: %s (Linux: 0)",
			result_str(rc, errno));
	t.e[0].index ^= 1; /* compared as it is, never masked */
	errno = 0;
	rc = ioc(v->fd, KVM_SET_CPUID2, &t);
	if (rc != -1 || errno != EINVAL)
		problem("KVM_SET_CPUID2 of a changed table after KVM_RUN: %s (Linux: -1/EINVAL)",
			result_str(rc, errno));

	/* kvm_check_cpuid(): linear-address width other than 0, 48 or 57 is EINVAL. */
	v = &a.v[1];
	t = sup;
	e = cpuid_find(&t, 0x80000008);
	CHECK(e, "no leaf 0x80000008 in KVM_GET_SUPPORTED_CPUID");
	e->eax = (e->eax & ~0xff00u) | (40u << 8);
	n_inputs++;
	errno = 0;
	rc = ioc(v->fd, KVM_SET_CPUID2, &t);
	if (rc != -1 || errno != EINVAL)
		problem("KVM_SET_CPUID2 with 40 linear-address bits: %s (Linux: -1/EINVAL)",
			result_str(rc, errno));

	/*
	 * MAXPHYADDR 64: no guest-physical address bit is reserved
	 * (rsvd_bits(64, 63) is 0), so the usual APIC base and any CR3 are
	 * legal for KVM_SET_SREGS, as KVM_SET_MSRS already agrees.
	 */
	t = sup;
	e = cpuid_find(&t, 0x80000008);
	e->eax = (e->eax & ~0xffu) | 64;
	OK(rc, "KVM_SET_CPUID2 with MAXPHYADDR 64", ioc(v->fd, KVM_SET_CPUID2, &t));
	{
		const struct msr_set apic[] = {{M_APIC_BASE, 0xfee00900ull}};

		if (set_msrs(v->fd, apic, 1) != 1)
			problem("MAXPHYADDR 64: KVM_SET_MSRS of APIC base 0xfee00900 refused");
	}
	sr = real_tmpl;
	sr.apic_base = 0xfee00900ull;
	n_inputs++;
	errno = 0;
	rc = ioc(v->fd, KVM_SET_SREGS, &sr);
	if (rc)
		problem("MAXPHYADDR 64: KVM_SET_SREGS with APIC base 0xfee00900: %s (Linux: 0)",
			result_str(rc, errno));
	sr = real_tmpl;
	sr.cr0 |= CR0_PE | CR0_PG;
	sr.cr4 = CR4_PAE;
	sr.efer = EFER_LME | EFER_LMA;
	sr.cr3 = 0x2000;
	n_inputs++;
	errno = 0;
	rc = ioc(v->fd, KVM_SET_SREGS, &sr);
	if (rc)
		problem(
		    "MAXPHYADDR 64: KVM_SET_SREGS into long mode with CR3 0x2000: %s (Linux: 0)",
		    result_str(rc, errno));
	TRY(usable(v, "MAXPHYADDR 64"));
	avm_close(&a);
	/* MAXPHYADDR 0 and 255: whatever they make legal, nothing may break. */
	TRY(avm_open(&b, 2));
	for (unsigned i = 0; i < 2; i++) {
		v = &b.v[i];
		t = sup;
		e = cpuid_find(&t, 0x80000008);
		e->eax = (e->eax & ~0xffu) | (i ? 255 : 0);
		n_inputs++;
		ioc(v->fd, KVM_SET_CPUID2, &t);
		/* The sweep runs with apic_base 0: MAXPHYADDR 0 reserves every other. */
		TRY(cpuid_sweep(v, 0x80000000, 1, 16,
				"extended CPUID leaves, MAXPHYADDR 0 or 255"));
	}
	avm_close(&b);
	return T_PASS;
}

/* ==== exhaustion: the VM table, vCPUs, memory ==== */

static int a_exhaust(void)
{
	uint32_t hv[MAX_HANDLES], nvm = 0, h, slots = 0;
	uint64_t gpa = 0, bytes = 0, size;
	int64_t max_vcpus;
	uint8_t cap[8];
	struct reply r;
	double t0 = now_s();

	/* VMs until the table is full (without borrowing: what is free now). */
	for (;;) {
		TRY(raw_ioctl(KVM_CREATE_VM, HVW_TARGET_SYSTEM, 0, 0, NULL, 0, &r,
			      "KVM_CREATE_VM"));
		if (r.result <= 0)
			break;
		CHECK(nvm < MAX_HANDLES, "more VMs than the table can hold");
		hv[nvm++] = (uint32_t)r.result;
	}
	if (r.result != -ENOSPC)
		problem("KVM_CREATE_VM with the table full: %s, expected -ENOSPC", reply_str(&r));
	TRY(want_int_ioctl(KVM_CREATE_VM, HVW_TARGET_SYSTEM, 0, 0, false, 0, -ENOSPC,
			   "KVM_CREATE_VM again"));
	TRY(probe("a full VM table", NULL));
	for (uint32_t i = 0; i < nvm; i++)
		TRY(raw_close(hv[i], &r, "CLOSE"));

	/* vCPUs: KVM_CAP_MAX_VCPUS, then none more. */
	put64(cap, KVM_CAP_MAX_VCPUS);
	TRY(raw_ioctl(KVM_CHECK_EXTENSION, HVW_TARGET_SYSTEM, 0, 0, cap, 8, &r,
		      "KVM_CHECK_EXTENSION(KVM_CAP_MAX_VCPUS)"));
	max_vcpus = r.result;
	CHECK(max_vcpus >= 1 && max_vcpus <= 4096, "KVM_CAP_MAX_VCPUS %lld", (long long)max_vcpus);
	TRY(raw_create_vm(&h, true));
	for (uint64_t id = 0; id < (uint64_t)max_vcpus; id++)
		TRY(want_int_ioctl(KVM_CREATE_VCPU, HVW_TARGET_VM, h, 0, true, id, (int64_t)id,
				   "KVM_CREATE_VCPU"));
	/* kvm_vm_ioctl_create_vcpu(): a full VM is EINVAL before a duplicate id is EEXIST. */
	TRY(want_int_ioctl(KVM_CREATE_VCPU, HVW_TARGET_VM, h, 0, true, (uint64_t)max_vcpus - 1,
			   -EINVAL, "KVM_CREATE_VCPU of the last id in a full VM"));
	/* Memory: slots of shrinking size until nothing more fits (or 8 slots). */
	TRY(raw_region(h, 0, 0, 1ull << 40, 1ull << 36, LEAK_UADDR, &r, "a 64 GiB slot"));
	if (r.result != -ENOMEM && r.result != -EINVAL)
		problem("a 64 GiB slot: %s, expected -ENOMEM", reply_str(&r));
	for (size = 64ull << 20; size >= (1ull << 20) && slots < 8;) {
		TRY(raw_region(h, slots, 0, gpa, size, LEAK_UADDR + gpa, &r, "a big slot"));
		if (r.result == 0) {
			slots++;
			gpa += size;
			bytes += size;
			continue;
		}
		if (r.result != -ENOMEM)
			problem("a slot of %llu MiB: %s", (unsigned long long)(size >> 20),
				reply_str(&r));
		size >>= 1;
	}
	if (chatty())
		fprintf(stderr, "  exhaust: %u VMs free, %u slots took %llu MiB (%.1f s)\n", nvm,
			slots, (unsigned long long)(bytes >> 20), now_s() - t0);
	/* Nearly nothing left: these must fail cleanly or work. */
	TRY(raw_ioctl(KVM_CREATE_VM, HVW_TARGET_SYSTEM, 0, 0, NULL, 0, &r,
		      "KVM_CREATE_VM, memory short"));
	if (r.result > 0) {
		uint32_t h2 = (uint32_t)r.result;

		TRY(raw_ioctl(KVM_CREATE_VCPU, HVW_TARGET_VM, h2, 0, NULL, 0, &r,
			      "KVM_CREATE_VCPU, memory short"));
		if (r.result != 0 && r.result != -ENOMEM && r.result != -ENOSPC)
			problem("KVM_CREATE_VCPU with memory short: %s", reply_str(&r));
		TRY(raw_close(h2, &r, "CLOSE"));
	} else if (r.result != -ENOMEM && r.result != -ENOSPC) {
		problem("KVM_CREATE_VM with memory short: %s", reply_str(&r));
	}
	if (slots)
		TRY(want_resp(HVW_MEM_WRITE, pl, mem_write_pl(h, 0, gpa - 8, "exhaust!", 8), 0,
			      "MEM_WRITE to the end of the last big slot"));
	TRY(probe("memory exhaustion", NULL));
	for (uint32_t s = 0; s < slots; s++) {
		struct kvm_userspace_memory_region m = {.slot = s};

		TRY(want_ioctl(KVM_SET_USER_MEMORY_REGION, HVW_TARGET_VM, h, 0, &m, sizeof(m), 0,
			       "deleting a big slot"));
	}
	TRY(raw_close(h, &r, "CLOSE"));
	if (r.type != HVW_IOCTL_RESP || r.result)
		problem("CLOSE of the exhausting VM: %s", reply_str(&r));
	return T_PASS;
}

#define ATTACK(name)                                                                               \
	static int t_##name(void)                                                                  \
	{                                                                                          \
		return attack(a_##name);                                                           \
	}
ATTACK(frame_lengths)
ATTACK(lying_records)
ATTACK(line_noise)
ATTACK(frame_types)
ATTACK(mem_frames)
ATTACK(packed)
ATTACK(region_wrap)
ATTACK(handles)
ATTACK(run_requests)
ATTACK(run_records)
ATTACK(exit_storm)
ATTACK(fault_storm)
ATTACK(msr_host_sweep)
ATTACK(msr_guest_sweep)
ATTACK(triple_fault)
ATTACK(bad_events)
ATTACK(bad_state)
ATTACK(hypercalls)
ATTACK(scribble)
ATTACK(cpuid_table)
ATTACK(exhaust)

/* ==== hostile_summary ==== */

static int t_summary(void)
{
	struct hv_sync_regs s;
	struct outcome o;
	int bad = 0;

	if (S.made) {
		/* Its next instruction moves EBX to EAX and OUTs it; the KICKs it got do not count.
		 */
		S.v.run->kvm_valid_regs = 0;
		S.v.run->kvm_dirty_regs = 0;
		if (run_bounded(&S.v, 20000, &o) != T_PASS || !o.out ||
		    o.data != (uint32_t)sent_gpr[1]) {
			printf("# hostile: the sentinel's last run: %s, expected its OUT of 0x%x\n",
			       outcome_str(&o, &S.v), (uint32_t)sent_gpr[1]);
			bad = 1;
		} else if (snap(S.handle, 0, &s, "the sentinel's state") == T_PASS) {
			for (int i = 1; i < 16; i++)
				if (((uint64_t *)&s.kvm.regs)[i] != sent_gpr[i]) {
					printf(
					    "# hostile: the sentinel's register %d changed in its "
					    "last run\n",
					    i);
					bad = 1;
				}
		}
		hvk_close_fd(H, S.v.fd);
		hvk_close_fd(H, S.vm.fd);
		S.made = false;
	}
	printf("# hostile: %u attacks, %u survived, %u state lost (%u hostile inputs)\n", n_attacks,
	       n_survived, n_lost, n_inputs);
	CHECK(!n_lost, "%u attacks lost state", n_lost);
	CHECK(!bad, "the sentinel's last run went wrong");
	return T_PASS;
}

const struct test hostile_tests[] = {
    {"hostile_sentinel", t_sentinel, NEEDS_VMX},
    {"hostile_frame_lengths", t_frame_lengths, NEEDS_VMX},
    {"hostile_lying_records", t_lying_records, NEEDS_VMX},
    {"hostile_line_noise", t_line_noise, NEEDS_VMX},
    {"hostile_frame_types", t_frame_types, NEEDS_VMX},
    {"hostile_mem_frames", t_mem_frames, NEEDS_VMX},
    {"hostile_packed", t_packed, NEEDS_VMX},
    {"hostile_region_wrap", t_region_wrap, NEEDS_VMX},
    {"hostile_handles", t_handles, NEEDS_VMX},
    {"hostile_run_requests", t_run_requests, NEEDS_VMX},
    {"hostile_run_records", t_run_records, NEEDS_VMX},
    {"hostile_exit_storm", t_exit_storm, NEEDS_VMX},
    {"hostile_fault_storm", t_fault_storm, NEEDS_VMX},
    {"hostile_msr_host_sweep", t_msr_host_sweep, NEEDS_VMX},
    {"hostile_msr_guest_sweep", t_msr_guest_sweep, NEEDS_VMX},
    {"hostile_triple_fault", t_triple_fault, NEEDS_VMX},
    {"hostile_bad_events", t_bad_events, NEEDS_VMX},
    {"hostile_bad_state", t_bad_state, NEEDS_VMX},
    {"hostile_hypercalls", t_hypercalls, NEEDS_VMX},
    {"hostile_scribble", t_scribble, NEEDS_VMX},
    {"hostile_cpuid_table", t_cpuid_table, NEEDS_VMX},
    {"hostile_exhaust", t_exhaust, NEEDS_VMX},
    {"hostile_summary", t_summary, ANY},
    TEST_END,
};
