// SPDX-License-Identifier: MIT
/*
 * MSRs and CPUID, checked against Linux 6.1's KVM (each case names the
 * upstream function it follows):
 *  - a guest's WRMSR of a bad value takes #GP and the MSR keeps its value;
 *    nothing reaches a hardware MSR unchecked (the hypervisor keeps
 *    answering), and no value makes the next VM entry fail;
 *  - KVM_SET_MSRS is host-initiated: the same checks but the ones KVM
 *    skips for the host, a refused entry ends the count;
 *  - every MSR of KVM_GET_MSR_INDEX_LIST can be read and written back;
 *  - a new vCPU's MSRs read as after kvm_vcpu_reset();
 *  - KVM_GET_SUPPORTED_CPUID offers no feature the hypervisor does not
 *    implement, KVM_SET_CPUID2 stays within it, and the guest's CPUID
 *    answers exactly what KVM_GET_CPUID2 says.
 *
 * The guest side is two real-mode blobs: g_msr_probe runs a list of
 * RDMSR/WRMSR and records which took #GP (its own #GP handler steps over
 * the instruction), g_msr_cpuid executes CPUID for a list of leaves.
 * Cases that need a brand-new vCPU 0 (reset values) make their own VM and
 * close it.
 */
#include "tests/remote/harness.h"

/* g_msr_probe.S's layout. */
#define GMP_OPS	 (G_DATA + 16)
#define GMP_DONE 0x6d5200d0
/* g_msr_cpuid.S's layout. */
#define GMC_PAIRS (G_DATA + 16)
#define GMC_DONE  0x6d5200c1

#define MAX_STEPS 160
#define MAX_CPUID 256

/* MSR numbers (SDM vol. 4). */
#define M_TSC		0x10
#define M_APIC_BASE	0x1b
#define M_TSC_ADJUST	0x3b
#define M_SPEC_CTRL	0x48
#define M_PRED_CMD	0x49
#define M_UCODE_REV	0x8b
#define M_PLATFORM_INFO 0xce
#define M_MISC_FEATURES 0x140
#define M_MTRRCAP	0xfe
#define M_ARCH_CAPS	0x10a
#define M_SYSENTER_CS	0x174
#define M_SYSENTER_ESP	0x175
#define M_SYSENTER_EIP	0x176
#define M_MCG_CAP	0x179
#define M_MISC_ENABLE	0x1a0
#define M_MTRR_BASE0	0x200
#define M_MTRR_MASK0	0x201
#define M_MTRR_FIX64K	0x250
#define M_MTRR_FIX4K_C0 0x268
#define M_MTRR_FIX4K_F8 0x26f
#define M_PAT		0x277
#define M_MTRR_DEF	0x2ff
#define M_PERF_CAPS	0x345
#define M_TSC_DEADLINE	0x6e0
#define M_X2APIC_ID	0x802
#define M_EFER		0xc0000080
#define M_STAR		0xc0000081
#define M_LSTAR		0xc0000082
#define M_CSTAR		0xc0000083
#define M_FMASK		0xc0000084
#define M_FS_BASE	0xc0000100
#define M_GS_BASE	0xc0000101
#define M_KGS_BASE	0xc0000102
#define M_TSC_AUX	0xc0000103

#define PAT_DEFAULT 0x0007040600070406ull
#define CR4_OSXSAVE (1ull << 18)

/* ---- KVM_GET/SET_MSRS ---- */

/* KVM_SET_MSRS of one MSR: the count (0 refused, 1 done) or -1. */
static int set_msr(struct vcpu *v, uint32_t msr, uint64_t val)
{
	struct kvm_msr_entry e = {.index = msr, .data = val};

	return msrs_ioctl(v, KVM_SET_MSRS, &e, 1);
}

#define GET(v, msr, var) TRY(get_msr((v), (msr), &(var)))

#define SET_OK(v, msr, val)                                                                        \
	do {                                                                                       \
		int r_ = set_msr((v), (msr), (val));                                               \
		if (r_ != 1)                                                                       \
			return fail("KVM_SET_MSRS 0x%x = 0x%llx: %s, expected 1", (msr),           \
				    (unsigned long long)(val), result_str(r_, errno));             \
	} while (0)

#define SET_REFUSED(v, msr, val)                                                                   \
	do {                                                                                       \
		int r_ = set_msr((v), (msr), (val));                                               \
		if (r_ != 0)                                                                       \
			return fail("KVM_SET_MSRS 0x%x = 0x%llx: %s, expected 0 (refused)", (msr), \
				    (unsigned long long)(val), result_str(r_, errno));             \
	} while (0)

#define EXPECT_MSR(v, msr, want)                                                                   \
	do {                                                                                       \
		uint64_t got_;                                                                     \
		GET((v), (msr), got_);                                                             \
		if (got_ != (uint64_t)(want))                                                      \
			return fail("MSR 0x%x reads 0x%llx, expected 0x%llx", (msr),               \
				    (unsigned long long)got_, (unsigned long long)(want));         \
	} while (0)

/* ---- the guest's RDMSR/WRMSR (g_msr_probe) ---- */

enum { RD, WR };

struct step {
	int op; /* RD or WR */
	uint32_t msr;
	uint64_t val; /* WR: the value written */
	bool gp;      /* #GP expected */
	bool check;   /* RD: the value must be want */
	uint64_t want;
};

#define W_OK(m, v) ((struct step){WR, (m), (v), false, false, 0})
#define W_GP(m, v) ((struct step){WR, (m), (v), true, false, 0})
#define R_IS(m, w) ((struct step){RD, (m), 0, false, true, (w)})
#define R_ANY(m)   ((struct step){RD, (m), 0, false, false, 0})
#define R_GP(m)	   ((struct step){RD, (m), 0, true, false, 0})

struct steps {
	unsigned n;
	struct step s[MAX_STEPS];
	uint64_t got[MAX_STEPS]; /* after the run: EDX:EAX of each step */
	bool gp[MAX_STEPS];
};

static void add(struct steps *l, struct step s)
{
	if (l->n < MAX_STEPS)
		l->s[l->n] = s;
	l->n++;
}

static const char *op_str(const struct step *s)
{
	static char buf[64];

	if (s->op == RD)
		snprintf(buf, sizeof(buf), "RDMSR 0x%x", s->msr);
	else
		snprintf(buf, sizeof(buf), "WRMSR 0x%x, 0x%llx", s->msr,
			 (unsigned long long)s->val);
	return buf;
}

/* Run the steps in the guest (g_msr_probe); every expectation must hold. */
static int run_steps(struct vcpu *v, struct steps *l, const char *what)
{
	uint8_t *mem = v->vm->mem;
	uint8_t buf[MAX_STEPS * 16];

	CHECK(l->n <= MAX_STEPS, "%s: %u steps, room for %d", what, l->n, MAX_STEPS);
	put32(mem, G_DATA, l->n);
	for (unsigned i = 0; i < l->n; i++) {
		uint32_t at = GMP_OPS + 16 * i;

		put32(mem, at, l->s[i].op == WR);
		put32(mem, at + 4, l->s[i].msr);
		put32(mem, at + 8, (uint32_t)l->s[i].val);
		put32(mem, at + 12, (uint32_t)(l->s[i].val >> 32));
	}
	load(v, BLOB(g_msr_probe));
	TRY(vcpu_reset(v, 0));
	RUN_EXPECT(v, GMP_DONE, what);
	TRY(read_guest(v, G_RESULT, buf, l->n * 16));
	for (unsigned i = 0; i < l->n; i++) {
		const struct step *s = &l->s[i];

		l->gp[i] = get32(buf + 16 * i) != 0;
		l->got[i] = get32(buf + 16 * i + 4) | (uint64_t)get32(buf + 16 * i + 8) << 32;
		CHECK(l->gp[i] == s->gp, "%s: step %u, %s: %s, expected %s", what, i, op_str(s),
		      l->gp[i] ? "#GP" : "no fault", s->gp ? "#GP" : "no fault");
		CHECK(!s->check || l->got[i] == s->want,
		      "%s: step %u, %s read 0x%llx, expected 0x%llx", what, i, op_str(s),
		      (unsigned long long)l->got[i], (unsigned long long)s->want);
	}
	return T_PASS;
}

/* ---- CPUID tables ---- */

static struct kvm_cpuid2 *cpuid_alloc(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + MAX_CPUID * sizeof(struct kvm_cpuid_entry2));

	if (c)
		c->nent = MAX_CPUID;
	return c;
}

/* KVM_GET_SUPPORTED_CPUID (fd is /dev/kvm) or KVM_GET_CPUID2 (a vCPU) into *out. */
static int get_cpuid(int fd, unsigned long req, struct kvm_cpuid2 **out)
{
	struct kvm_cpuid2 *c = cpuid_alloc();
	int r;

	CHECK(c, "out of memory");
	errno = 0;
	r = ioc(fd, req, c);
	if (r < 0) {
		free(c);
		return fail("%s: -1/%s (%s)",
			    req == KVM_GET_CPUID2 ? "KVM_GET_CPUID2" : "KVM_GET_SUPPORTED_CPUID",
			    en(errno), hvk_last_error());
	}
	*out = c;
	return T_PASS;
}

/* cpuid_entry2_find(). */
static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *c, uint32_t leaf, uint32_t sub)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == leaf &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == sub))
			return e;
	}
	return NULL;
}

enum { EAX, EBX, ECX, EDX };

static uint32_t reg_of(const struct kvm_cpuid_entry2 *e, int reg)
{
	return reg == EAX ? e->eax : reg == EBX ? e->ebx : reg == ECX ? e->ecx : e->edx;
}

static bool has(const struct kvm_cpuid2 *c, uint32_t leaf, uint32_t sub, int reg, unsigned bit)
{
	const struct kvm_cpuid_entry2 *e = find(c, leaf, sub);

	return e && (reg_of(e, reg) >> bit & 1);
}

static unsigned maxphyaddr(const struct kvm_cpuid2 *c)
{
	const struct kvm_cpuid_entry2 *e = find(c, 0x80000000, 0);

	if (!e || e->eax < 0x80000008 || !(e = find(c, 0x80000008, 0)))
		return 36;
	return e->eax & 0xff;
}

/* The guest's CPUID for each (leaf, subleaf) of pairs (g_msr_cpuid); out gets n entries. */
static int guest_cpuid(struct vcpu *v, const struct kvm_cpuid_entry2 *pairs, uint32_t n,
		       uint32_t xcr0, uint64_t cr4, struct kvm_cpuid_entry2 *out, const char *what)
{
	uint8_t *mem = v->vm->mem, *buf;

	CHECK(n <= MAX_CPUID, "%u leaves", n);
	buf = malloc(n * 16 + 1);
	CHECK(buf, "out of memory");
	put32(mem, G_DATA, n);
	put32(mem, G_DATA + 4, xcr0);
	for (uint32_t i = 0; i < n; i++) {
		put32(mem, GMC_PAIRS + 8 * i, pairs[i].function);
		put32(mem, GMC_PAIRS + 8 * i + 4, pairs[i].index);
	}
	load(v, BLOB(g_msr_cpuid));
	if (vcpu_reset(v, cr4) != T_PASS || run_expect(v, GMC_DONE, what) != T_PASS ||
	    read_guest(v, G_RESULT, buf, n * 16) != T_PASS) {
		free(buf);
		return T_FAIL;
	}
	for (uint32_t i = 0; i < n; i++) {
		out[i] = pairs[i];
		out[i].eax = get32(buf + 16 * i);
		out[i].ebx = get32(buf + 16 * i + 4);
		out[i].ecx = get32(buf + 16 * i + 8);
		out[i].edx = get32(buf + 16 * i + 12);
	}
	free(buf);
	return T_PASS;
}

/* ---- a VM of the case's own (a fresh vCPU 0) ---- */

struct own_vm {
	struct vm vm;
	bool open;
};

static int own_vm_open(struct own_vm *o)
{
	struct kvm_userspace_memory_region r = {0};
	int fd;

	memset(o, 0, sizeof(*o));
	OK(fd, "KVM_CREATE_VM", ioc_int(KVM, KVM_CREATE_VM, 0));
	o->vm.fd = fd;
	o->open = true;
	o->vm.mem = aligned_alloc(4096, G_MEM_SIZE);
	CHECK(o->vm.mem, "out of memory");
	memset(o->vm.mem, 0, G_MEM_SIZE);
	for (uint32_t i = 0; i < G_NR_STUBS; i++) {
		put16(o->vm.mem, i * 4, (uint16_t)(G_VEC + i * G_STUB_SIZE));
		put16(o->vm.mem, i * 4 + 2, 0);
	}
	memcpy(o->vm.mem + G_VEC, BLOB(g_vectors).p, BLOB(g_vectors).n);
	r.memory_size = G_MEM_SIZE;
	r.userspace_addr = (uint64_t)(uintptr_t)o->vm.mem;
	OK(fd, "KVM_SET_USER_MEMORY_REGION", ioc(o->vm.fd, KVM_SET_USER_MEMORY_REGION, &r));
	return T_PASS;
}

static int own_vcpu(struct own_vm *o, int id, struct vcpu *v)
{
	int fd, size;

	OK(fd, "KVM_CREATE_VCPU", ioc_int(o->vm.fd, KVM_CREATE_VCPU, (unsigned long)id));
	v->fd = fd;
	v->id = id;
	v->vm = &o->vm;
	o->vm.nvcpus++;
	OK(size, "KVM_GET_VCPU_MMAP_SIZE", ioc_int(KVM, KVM_GET_VCPU_MMAP_SIZE, 0));
	if (size > HVK_RUN_MAP_SIZE)
		size = HVK_RUN_MAP_SIZE;
	v->run = hvk_mmap(H, fd, (size_t)size);
	CHECK(v->run != MAP_FAILED, "hvk_mmap: %s (%s)", en(errno), hvk_last_error());
	return T_PASS;
}

static void own_vm_close(struct own_vm *o)
{
	if (o->open)
		hvk_close_fd(H, o->vm.fd);
	free(o->vm.mem);
	memset(o, 0, sizeof(*o));
}

/* Round trips, so that one vCPU is clearly older than the next. */
static int delay(struct vcpu *v, int n)
{
	uint64_t x;

	for (int i = 0; i < n; i++)
		GET(v, M_SYSENTER_CS, x);
	return T_PASS;
}

/* ==== the cases ==== */

/*
 * MSR_PLATFORM_INFO (kvm_get_msr_common / kvm_set_msr_common): a new vCPU
 * has CPUID_FAULT (bit 31, kvm_arch_vcpu_create); the guest may read it
 * while KVM_CAP_MSR_PLATFORM_INFO allows (at VM creation it does) and
 * never write it. MSR_MISC_FEATURES_ENABLES takes bit 0 only while
 * MSR_PLATFORM_INFO offers CPUID faulting, which then cannot be taken away.
 */
static int t_platform_info(void)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_MSR_PLATFORM_INFO};
	struct steps l = {0};
	struct vcpu v;
	int r;

	CHECK(ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_MSR_PLATFORM_INFO) == 1,
	      "KVM_CAP_MSR_PLATFORM_INFO is not 1");
	NEW_VCPU(&v, g_msr_probe, 0);
	EXPECT_MSR(&v, M_PLATFORM_INFO, 0x80000000ull);
	add(&l, R_IS(M_PLATFORM_INFO, 0x80000000ull));
	add(&l, W_GP(M_PLATFORM_INFO, 0x80000000ull));
	add(&l, R_IS(M_MISC_FEATURES, 0));
	add(&l, W_GP(M_MISC_FEATURES, 2));
	TRY(run_steps(&v, &l, "MSR_PLATFORM_INFO readable"));
	cap.args[0] = 0;
	OK(r, "KVM_ENABLE_CAP(MSR_PLATFORM_INFO, 0)", ioc(v.vm->fd, KVM_ENABLE_CAP, &cap));
	memset(&l, 0, sizeof(l));
	add(&l, R_GP(M_PLATFORM_INFO));
	TRY(run_steps(&v, &l, "MSR_PLATFORM_INFO hidden"));
	EXPECT_MSR(&v, M_PLATFORM_INFO, 0x80000000ull); /* the host still reads it */
	cap.args[0] = 1;
	OK(r, "KVM_ENABLE_CAP(MSR_PLATFORM_INFO, 1)", ioc(v.vm->fd, KVM_ENABLE_CAP, &cap));
	SET_OK(&v, M_MISC_FEATURES, 1);
	SET_REFUSED(&v, M_PLATFORM_INFO, 0); /* faulting is on: it must stay offered */
	SET_OK(&v, M_MISC_FEATURES, 0);
	SET_OK(&v, M_PLATFORM_INFO, 0);
	SET_REFUSED(&v, M_MISC_FEATURES, 1); /* no longer offered */
	return T_PASS;
}

/*
 * KVM_GET_MSR_FEATURE_INDEX_LIST follows KVM_GET_MSR_INDEX_LIST's rules
 * (kvm_arch_dev_ioctl: nmsrs rewritten, fewer is E2BIG) and KVM_GET_MSRS
 * on /dev/kvm reads those MSRs (do_get_msr_feature), stopping at the first
 * other one; their values are what a new vCPU reports.
 */
static int t_feature_msrs(void)
{
	struct {
		struct kvm_msr_list h;
		uint32_t idx[64];
	} l;
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[2];
	} m;
	bool ucode = false;
	uint64_t vcpu_val = 0;
	struct vcpu v;
	int r;

	CHECK(ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_GET_MSR_FEATURES) == 1,
	      "KVM_CAP_GET_MSR_FEATURES is not 1");
	memset(&l, 0, sizeof(l));
	errno = 0;
	r = ioc(KVM, KVM_GET_MSR_FEATURE_INDEX_LIST, &l);
	CHECK(r == -1 && errno == E2BIG && l.h.nmsrs > 0,
	      "KVM_GET_MSR_FEATURE_INDEX_LIST with nmsrs 0: %s, nmsrs %u (Linux: -1/E2BIG, the "
	      "count)",
	      result_str(r, errno), l.h.nmsrs);
	l.h.nmsrs = 64;
	OK(r, "KVM_GET_MSR_FEATURE_INDEX_LIST", ioc(KVM, KVM_GET_MSR_FEATURE_INDEX_LIST, &l));
	for (uint32_t i = 0; i < l.h.nmsrs && i < 64; i++)
		ucode |= l.idx[i] == M_UCODE_REV;
	CHECK(ucode, "IA32_UCODE_REV is not a feature MSR (%u listed)", l.h.nmsrs);
	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 2;
	m.e[0].index = M_UCODE_REV;
	m.e[1].index = M_TSC; /* not a feature MSR: the count stops before it */
	EQUALS("KVM_GET_MSRS on /dev/kvm", ioc(KVM, KVM_GET_MSRS, &m), 1);
	NEW_VCPU(&v, g_msr_probe, 0);
	TRY(get_msr(&v, M_UCODE_REV, &vcpu_val));
	CHECK(m.e[0].data == vcpu_val, "feature IA32_UCODE_REV 0x%llx, a new vCPU's 0x%llx",
	      (unsigned long long)m.e[0].data, (unsigned long long)vcpu_val);
	return T_PASS;
}

/*
 * KVM_GET_MSR_INDEX_LIST (kvm_init_msr_list: msrs_to_save and
 * emulated_msrs, as far as implemented): it holds the MSRs KVM saves,
 * each can be read with KVM_GET_MSRS (do_get_msr) and written back with
 * KVM_SET_MSRS (do_set_msr), as Linux's state_test does with all of them.
 * IA32_MTRRCAP, read-only, is not in the list (nor in upstream's).
 */
static int t_index_list(void)
{
	static const uint32_t want[] = {
	    M_SYSENTER_CS, M_SYSENTER_ESP, M_SYSENTER_EIP, M_STAR,	  M_CSTAR,     M_KGS_BASE,
	    M_FMASK,	   M_LSTAR,	   M_TSC,	   M_PAT,	  M_TSC_AUX,   M_SPEC_CTRL,
	    M_TSC_ADJUST,  M_ARCH_CAPS,	   M_PERF_CAPS,	   M_MISC_ENABLE, M_UCODE_REV, M_MTRR_DEF,
	};
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + 256 * sizeof(uint32_t));
	struct kvm_msr_entry *e = calloc(256, sizeof(*e));
	struct vcpu v;
	uint32_t n, back = 0;
	int r, rc = T_FAIL;

	if (!l || !e)
		goto out;
	l->nmsrs = 256;
	if ((r = ioc(KVM, KVM_GET_MSR_INDEX_LIST, l)) != 0) {
		fail("KVM_GET_MSR_INDEX_LIST: %s", result_str(r, errno));
		goto out;
	}
	n = l->nmsrs;
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		bool found = false;

		for (uint32_t j = 0; j < n; j++)
			found |= l->indices[j] == want[i];
		if (!found) {
			fail("KVM_GET_MSR_INDEX_LIST (%u MSRs) lacks 0x%x", n, want[i]);
			goto out;
		}
	}
	for (uint32_t j = 0; j < n; j++)
		if (l->indices[j] == M_MTRRCAP) {
			fail("KVM_GET_MSR_INDEX_LIST lists IA32_MTRRCAP, which KVM_SET_MSRS "
			     "refuses");
			goto out;
		}
	if ((rc = vcpu_new(&v, BLOB(g_msr_probe), 0)) != T_PASS)
		goto out;
	rc = T_FAIL;
	for (uint32_t j = 0; j < n; j++)
		e[j].index = l->indices[j];
	if ((r = msrs_ioctl(&v, KVM_GET_MSRS, e, n)) != (int)n) {
		fail("KVM_GET_MSRS of the %u listed MSRs: %s (stops at 0x%x)", n,
		     result_str(r, errno), r >= 0 && (uint32_t)r < n ? e[r].index : 0);
		goto out;
	}
	/* Written back as read, every one (state_test's vcpu_load_state). */
	back = n;
	if ((r = msrs_ioctl(&v, KVM_SET_MSRS, e, back)) != (int)back) {
		fail("KVM_SET_MSRS of the %u values read: %s (stops at 0x%x = 0x%llx)", back,
		     result_str(r, errno), r >= 0 && (uint32_t)r < back ? e[r].index : 0,
		     r >= 0 && (uint32_t)r < back ? (unsigned long long)e[r].data : 0ull);
		goto out;
	}
	rc = T_PASS;
out:
	free(l);
	free(e);
	return rc;
}

/*
 * A new vCPU's MSRs (kvm_arch_vcpu_create, kvm_vcpu_reset, vmx_vcpu_reset
 * and __vmx_vcpu_reset, kvm_lapic_reset): IA32_MISC_ENABLE only BTS and
 * PEBS unavailable, PAT at its power-on value, the APIC enabled at
 * 0xfee00000 with BSP on vCPU 0 only, microcode 0x100000000, all else 0.
 */
static int reset_body(struct own_vm *o)
{
	static const uint32_t zero[] = {
	    M_EFER,	     M_SYSENTER_CS,   M_SYSENTER_ESP,	 M_SYSENTER_EIP,    M_STAR,
	    M_LSTAR,	     M_CSTAR,	      M_FMASK,		 M_KGS_BASE,	    M_FS_BASE,
	    M_GS_BASE,	     M_TSC_AUX,	      M_TSC_ADJUST,	 M_SPEC_CTRL,	    M_MTRR_DEF,
	    M_MTRR_BASE0,    M_MTRR_MASK0,    M_MTRR_BASE0 + 14, M_MTRR_BASE0 + 15, M_MTRR_FIX64K,
	    M_MTRR_FIX4K_C0, M_MTRR_FIX4K_F8,
	};
	struct vcpu v[2];
	struct kvm_sregs sr;
	int r;

	TRY(own_vm_open(o));
	TRY(own_vcpu(o, 0, &v[0]));
	TRY(own_vcpu(o, 1, &v[1]));
	for (int i = 0; i < 2; i++) {
		uint64_t apic = 0xfee00800ull | (i == 0 ? 0x100 : 0);

		for (unsigned j = 0; j < sizeof(zero) / sizeof(zero[0]); j++)
			EXPECT_MSR(&v[i], zero[j], 0);
		EXPECT_MSR(&v[i], M_PAT, PAT_DEFAULT);
		EXPECT_MSR(&v[i], M_MISC_ENABLE, 0x1800);
		EXPECT_MSR(&v[i], M_APIC_BASE, apic);
		EXPECT_MSR(&v[i], M_UCODE_REV, 0x100000000ull);
		EXPECT_MSR(&v[i], M_MTRRCAP, 0x508);
		OK(r, "KVM_GET_SREGS", ioc(v[i].fd, KVM_GET_SREGS, &sr));
		CHECK(sr.apic_base == apic && sr.efer == 0,
		      "vCPU %d: KVM_GET_SREGS apic_base 0x%llx efer 0x%llx, expected 0x%llx and 0",
		      i, (unsigned long long)sr.apic_base, (unsigned long long)sr.efer,
		      (unsigned long long)apic);
	}
	return T_PASS;
}

static int t_reset_values(void)
{
	struct own_vm o;
	int rc = reset_body(&o);

	own_vm_close(&o);
	return rc;
}

/*
 * The TSC of a new vCPU (kvm_arch_vcpu_postcreate: kvm_synchronize_tsc(vcpu,
 * 0)) starts at 0 when its VM's first vCPU is made, and a later vCPU of the
 * VM joins the TSC its siblings share; the host's write of 0 joins it too.
 */
static int tsc_body(struct own_vm *o)
{
	struct vcpu old, a0, a1;
	uint64_t t_old, t0, t1, t1b;

	SHARED_VCPU(&old, g_msr_probe, 0);
	TRY(delay(&old, 20));
	TRY(own_vm_open(o));
	TRY(own_vcpu(o, 0, &a0));
	TRY(delay(&a0, 20));
	TRY(own_vcpu(o, 1, &a1));
	GET(&old, M_TSC, t_old);
	GET(&a0, M_TSC, t0);
	GET(&a1, M_TSC, t1);
	CHECK(t0 < t_old,
	      "a new VM's vCPU 0 reads TSC 0x%llx, an older vCPU 0x%llx: it did not start at 0",
	      (unsigned long long)t0, (unsigned long long)t_old);
	CHECK(t1 >= t0,
	      "vCPU 1, made later, reads TSC 0x%llx after vCPU 0 read 0x%llx: not the VM's TSC",
	      (unsigned long long)t1, (unsigned long long)t0);
	/* A host write of 0 is "synchronize with the VM", not "set to 0". */
	SET_OK(&a1, M_TSC, 0);
	GET(&a0, M_TSC, t0);
	GET(&a1, M_TSC, t1b);
	CHECK(t1b >= t0, "after KVM_SET_MSRS TSC = 0, vCPU 1 reads 0x%llx, vCPU 0 0x%llx before it",
	      (unsigned long long)t1b, (unsigned long long)t0);
	return T_PASS;
}

static int t_reset_tsc(void)
{
	struct own_vm o = {0};
	int rc = tsc_body(&o);

	own_vm_close(&o);
	return rc;
}

/*
 * kvm_set_msr_common, MSR_IA32_TSC and MSR_IA32_TSC_ADJUST: the host's
 * write sets the TSC (kvm_synchronize_tsc) and leaves TSC_ADJUST; the
 * guest's write moves TSC_ADJUST by as much as the TSC
 * (adjust_tsc_offset_guest); the guest's TSC_ADJUST write moves the TSC,
 * the host's does not.
 */
#define TSC_SLACK (1ull << 36) /* ticks a few round trips may take */

static int t_tsc_adjust(void)
{
	struct steps *l = calloc(1, sizeof(*l));
	struct vcpu v;
	uint64_t adj0, t, x = 1ull << 40, y = 1ull << 41, d = 1ull << 40;
	int rc = T_FAIL;

	CHECK(l, "out of memory");
	NEW_VCPU(&v, g_msr_probe, 0);
	GET(&v, M_TSC_ADJUST, adj0);
	SET_OK(&v, M_TSC, x);
	GET(&v, M_TSC, t);
	CHECK(t >= x && t - x < TSC_SLACK, "after KVM_SET_MSRS TSC = 0x%llx it reads 0x%llx",
	      (unsigned long long)x, (unsigned long long)t);
	EXPECT_MSR(&v, M_TSC_ADJUST, adj0);
	add(l, R_ANY(M_TSC));
	add(l, W_OK(M_TSC, y));
	add(l, R_ANY(M_TSC));
	add(l, R_ANY(M_TSC_ADJUST));
	if (run_steps(&v, l, "guest WRMSR TSC") != T_PASS)
		goto out;
	{
		uint64_t before = l->got[0], after = l->got[2], adj = l->got[3];
		uint64_t moved = adj - adj0;

		if (!(after >= y && after - y < TSC_SLACK) ||
		    !(moved <= y - before && y - before - moved < TSC_SLACK)) {
			rc = fail("guest TSC 0x%llx, WRMSR TSC 0x%llx, then TSC 0x%llx and "
				  "TSC_ADJUST 0x%llx (was 0x%llx)",
				  (unsigned long long)before, (unsigned long long)y,
				  (unsigned long long)after, (unsigned long long)adj,
				  (unsigned long long)adj0);
			goto out;
		}
		l->n = 0;
		add(l, W_OK(M_TSC_ADJUST, adj + d));
		add(l, R_ANY(M_TSC));
		add(l, R_IS(M_TSC_ADJUST, adj + d));
		if (run_steps(&v, l, "guest WRMSR TSC_ADJUST") != T_PASS)
			goto out;
		if (!(l->got[1] >= after + d && l->got[1] - after - d < TSC_SLACK)) {
			rc = fail("guest TSC_ADJUST += 0x%llx: TSC 0x%llx then 0x%llx",
				  (unsigned long long)d, (unsigned long long)after,
				  (unsigned long long)l->got[1]);
			goto out;
		}
		after = l->got[1];
		if (set_msr(&v, M_TSC_ADJUST, 5) != 1) {
			rc = fail("KVM_SET_MSRS TSC_ADJUST = 5 refused");
			goto out;
		}
		if ((rc = get_msr(&v, M_TSC, &t)) != T_PASS)
			goto out;
		rc = T_FAIL;
		if (!(t >= after && t - after < TSC_SLACK)) {
			rc = fail("the host's TSC_ADJUST write moved the TSC: 0x%llx then 0x%llx",
				  (unsigned long long)after, (unsigned long long)t);
			goto out;
		}
		if ((rc = get_msr(&v, M_TSC_ADJUST, &t)) != T_PASS)
			goto out;
		rc = t == 5 ? T_PASS
			    : fail("TSC_ADJUST reads 0x%llx after the host wrote 5",
				   (unsigned long long)t);
	}
out:
	free(l);
	return rc;
}

/*
 * __kvm_set_msr: FS/GS base, KERNEL_GS_BASE, LSTAR and CSTAR must be
 * canonical (#GP, the MSR unchanged); SYSENTER_ESP/EIP are made canonical
 * instead, so VM entry never sees a bad value.
 */
static int t_guest_canonical(void)
{
	static const uint32_t msrs[] = {M_LSTAR, M_CSTAR, M_KGS_BASE, M_FS_BASE, M_GS_BASE};
	struct steps *l = calloc(1, sizeof(*l));
	struct vcpu v;
	int rc;

	CHECK(l, "out of memory");
	rc = vcpu_new(&v, BLOB(g_msr_probe), 0);
	for (unsigned i = 0; rc == T_PASS && i < sizeof(msrs) / sizeof(msrs[0]); i++) {
		uint64_t good = 0xffff800000001000ull + i * 0x1000;

		add(l, W_OK(msrs[i], good));
		add(l, W_GP(msrs[i], 0x0000800000000000ull));
		add(l, W_GP(msrs[i], 0x8000000000000000ull));
		add(l, W_GP(msrs[i], 0x7fff000000000000ull));
		add(l, R_IS(msrs[i], good));
	}
	add(l, W_OK(M_SYSENTER_ESP, 0x0000800000002000ull));
	add(l, R_IS(M_SYSENTER_ESP, 0xffff800000002000ull));
	add(l, W_OK(M_SYSENTER_EIP, 0x8000000000000010ull));
	add(l, R_IS(M_SYSENTER_EIP, 0x10));
	add(l, W_OK(M_SYSENTER_EIP, 0x00007fffffff0000ull));
	add(l, R_IS(M_SYSENTER_EIP, 0x00007fffffff0000ull));
	if (rc == T_PASS)
		rc = run_steps(&v, l, "non-canonical WRMSRs");
	free(l);
	if (rc != T_PASS)
		return rc;
	/* The hypervisor still answers, with the values kept. */
	EXPECT_MSR(&v, M_LSTAR, 0xffff800000001000ull);
	EXPECT_MSR(&v, M_SYSENTER_ESP, 0xffff800000002000ull);
	return T_PASS;
}

/*
 * Reserved bits: IA32_FMASK bits 63:32 (KVM's wrmsrl_safe of the user-
 * return MSR faults), IA32_TSC_AUX bits 63:32 on Intel (__kvm_set_msr),
 * EFER beyond SCE/LME/LMA/NXE (set_efer, efer_reserved_bits), PAT types
 * 2, 3 and above 7 (kvm_pat_valid); STAR takes any value; SYSENTER_CS is
 * 32 bits (vmx_set_msr).
 */
static int t_guest_reserved(void)
{
	struct steps *l = calloc(1, sizeof(*l));
	struct kvm_cpuid2 *c = NULL;
	struct vcpu v;
	int rc;

	CHECK(l, "out of memory");
	rc = vcpu_new(&v, BLOB(g_msr_probe), 0);
	if (rc == T_PASS)
		rc = get_cpuid(v.fd, KVM_GET_CPUID2, &c);
	if (rc != T_PASS) {
		free(l);
		return rc;
	}
	add(l, W_OK(M_FMASK, 0x47700));
	add(l, W_GP(M_FMASK, 0x100000000ull));
	add(l, W_GP(M_FMASK, 0xffffffff00047700ull));
	add(l, R_IS(M_FMASK, 0x47700));
	add(l, W_OK(M_STAR, 0xdeadbeefcafef00dull));
	add(l, R_IS(M_STAR, 0xdeadbeefcafef00dull));
	if (has(c, 0x80000001, 0, EDX, 27) || has(c, 7, 0, ECX, 22)) { /* RDTSCP or RDPID */
		add(l, W_OK(M_TSC_AUX, 0x1234));
		add(l, W_GP(M_TSC_AUX, 0x100000000ull));
		add(l, W_GP(M_TSC_AUX, 0xffffffff00001234ull));
		add(l, R_IS(M_TSC_AUX, 0x1234));
	} else {
		add(l, R_GP(M_TSC_AUX));
		add(l, W_GP(M_TSC_AUX, 0));
	}
	add(l, W_OK(M_EFER, 1));	      /* SCE */
	add(l, W_GP(M_EFER, 1 | 2));	      /* bit 1 */
	add(l, W_GP(M_EFER, 1 | 1ull << 12)); /* SVME */
	add(l, W_GP(M_EFER, 1 | 1ull << 14)); /* FFXSR */
	add(l, W_GP(M_EFER, 1 | 1ull << 63));
	add(l, R_IS(M_EFER, 1));
	if (has(c, 0x80000001, 0, EDX, 20)) { /* NX */
		add(l, W_OK(M_EFER, 0x801));
		add(l, R_IS(M_EFER, 0x801));
	}
	if (has(c, 0x80000001, 0, EDX, 29)) { /* LM: LME may change with paging off */
		add(l, W_OK(M_EFER, 0x101));
		add(l, R_IS(M_EFER, 0x101));
	}
	add(l, W_OK(M_EFER, 0));
	add(l, W_OK(M_PAT, 0x0606060606060606ull));
	add(l, W_GP(M_PAT, 0x0007040600070402ull));
	add(l, W_GP(M_PAT, 0x0007040300070406ull));
	add(l, W_GP(M_PAT, 0x0807040600070406ull));
	add(l, R_IS(M_PAT, 0x0606060606060606ull));
	add(l, W_OK(M_SYSENTER_CS, 0xffffffff0000beefull));
	add(l, R_IS(M_SYSENTER_CS, 0xbeef));
	rc = run_steps(&v, l, "reserved-bit WRMSRs");
	free(l);
	free(c);
	if (rc != T_PASS)
		return rc;
	EXPECT_MSR(&v, M_FMASK, 0x47700);
	EXPECT_MSR(&v, M_PAT, 0x0606060606060606ull);
	return T_PASS;
}

/*
 * kvm_set_apic_base: bits 0-7 and 9 and those at or above MAXPHYADDR are
 * reserved, x2APIC mode (bit 10) needs x2APIC in CPUID (hidden here), and
 * x2APIC without the xAPIC enable is invalid; the base and BSP flag move.
 */
static int t_guest_apic_base(void)
{
	struct steps *l = calloc(1, sizeof(*l));
	struct kvm_cpuid2 *c = NULL;
	struct vcpu v;
	uint64_t above;
	int rc;

	CHECK(l, "out of memory");
	rc = vcpu_new(&v, BLOB(g_msr_probe), 0);
	if (rc == T_PASS)
		rc = get_cpuid(v.fd, KVM_GET_CPUID2, &c);
	if (rc != T_PASS) {
		free(l);
		return rc;
	}
	above = 1ull << maxphyaddr(c);
	/* KVM emulates x2APIC whatever the host has: kvm_set_cpu_caps offers it. */
	CHECK(has(c, 1, 0, ECX, 21), "x2APIC is not offered");
	add(l, W_OK(M_APIC_BASE, 0xfed00800));
	add(l, R_IS(M_APIC_BASE, 0xfed00800));
	add(l, W_GP(M_APIC_BASE, 0xfed00801));
	add(l, W_GP(M_APIC_BASE, 0xfed00880));
	add(l, W_GP(M_APIC_BASE, 0xfed00a00));	       /* bit 9 */
	add(l, W_GP(M_APIC_BASE, 0xfed00400));	       /* x2APIC without xAPIC */
	add(l, W_GP(M_APIC_BASE, above | 0xfed00800)); /* at MAXPHYADDR */
	add(l, W_GP(M_APIC_BASE, 1ull << 63 | 0xfed00800));
	add(l, R_IS(M_APIC_BASE, 0xfed00800));
	add(l, W_OK(M_APIC_BASE, 0xfee00900)); /* BSP */
	add(l, R_IS(M_APIC_BASE, 0xfee00900));
	add(l, W_OK(M_APIC_BASE, 0)); /* disabled */
	add(l, R_IS(M_APIC_BASE, 0));
	add(l, W_OK(M_APIC_BASE, 0xfee00800));
	rc = run_steps(&v, l, "IA32_APIC_BASE WRMSRs");
	free(l);
	free(c);
	if (rc != T_PASS)
		return rc;
	EXPECT_MSR(&v, M_APIC_BASE, 0xfee00800);
	return T_PASS;
}

/*
 * kvm_set_msr_common, MSR_IA32_MISC_ENABLE: BTS/PEBS unavailable are
 * read-only for the guest (#GP), EMON ignores its writes, other bits are
 * kept; MSR_IA32_UCODE_REV: the guest's write is ignored.
 */
static int t_guest_misc_enable(void)
{
	struct steps *l = calloc(1, sizeof(*l));
	struct vcpu v;
	uint64_t ucode;
	int rc;

	CHECK(l, "out of memory");
	rc = vcpu_new(&v, BLOB(g_msr_probe), 0);
	if (rc == T_PASS)
		rc = get_msr(&v, M_UCODE_REV, &ucode);
	if (rc != T_PASS) {
		free(l);
		return rc;
	}
	add(l, R_IS(M_MISC_ENABLE, 0x1800));
	add(l, W_OK(M_MISC_ENABLE, 0x1801)); /* fast strings */
	add(l, R_IS(M_MISC_ENABLE, 0x1801));
	add(l, W_GP(M_MISC_ENABLE, 0x0801)); /* clears PEBS unavailable */
	add(l, W_GP(M_MISC_ENABLE, 0x1001)); /* clears BTS unavailable */
	add(l, W_OK(M_MISC_ENABLE, 0x1881)); /* EMON: ignored */
	add(l, R_IS(M_MISC_ENABLE, 0x1801));
	add(l, W_OK(M_UCODE_REV, 0x42));
	add(l, R_IS(M_UCODE_REV, ucode));
	rc = run_steps(&v, l, "IA32_MISC_ENABLE WRMSRs");
	free(l);
	if (rc != T_PASS)
		return rc;
	EXPECT_MSR(&v, M_MISC_ENABLE, 0x1801);
	return T_PASS;
}

/*
 * kvm_mtrr_valid / kvm_mtrr_set_msr / kvm_mtrr_get_msr: MTRRCAP reads
 * 0x508 and is read-only; the default type keeps bits 11:10 and a valid
 * type; fixed ranges hold valid types; variable bases a type and no bits
 * 11:8 or at MAXPHYADDR, masks no bits 10:0 or at MAXPHYADDR; 8 pairs.
 */
static int t_guest_mtrr(void)
{
	struct steps *l = calloc(1, sizeof(*l));
	struct kvm_cpuid2 *c = NULL;
	struct vcpu v;
	uint64_t above;
	int rc;

	CHECK(l, "out of memory");
	rc = vcpu_new(&v, BLOB(g_msr_probe), 0);
	if (rc == T_PASS)
		rc = get_cpuid(v.fd, KVM_GET_CPUID2, &c);
	if (rc != T_PASS) {
		free(l);
		return rc;
	}
	above = 1ull << maxphyaddr(c);
	CHECK(has(c, 1, 0, EDX, 12), "CPUID.1:EDX.MTRR is not offered");
	add(l, R_IS(M_MTRRCAP, 0x508));
	add(l, W_GP(M_MTRRCAP, 0x508));
	add(l, W_OK(M_MTRR_DEF, 0xc06));
	add(l, W_GP(M_MTRR_DEF, 0x1006));
	add(l, W_GP(M_MTRR_DEF, 0xc02));
	add(l, W_GP(M_MTRR_DEF, 0xc07));
	add(l, R_IS(M_MTRR_DEF, 0xc06));
	add(l, W_OK(M_MTRR_BASE0, 0x80000006));
	add(l, W_GP(M_MTRR_BASE0, 0x80000106));
	add(l, W_GP(M_MTRR_BASE0, 0x80000003));
	add(l, W_GP(M_MTRR_BASE0, above | 6));
	add(l, R_IS(M_MTRR_BASE0, 0x80000006));
	add(l, W_OK(M_MTRR_MASK0, 0xff0000800ull));
	add(l, W_GP(M_MTRR_MASK0, 0xff0000c00ull));
	add(l, W_GP(M_MTRR_MASK0, above | 0x800));
	add(l, R_IS(M_MTRR_MASK0, 0xff0000800ull));
	add(l, W_OK(M_MTRR_BASE0 + 15, 0x800));
	add(l, R_IS(M_MTRR_BASE0 + 15, 0x800));
	add(l, R_GP(M_MTRR_BASE0 + 16));
	add(l, W_GP(M_MTRR_BASE0 + 16, 0));
	add(l, W_OK(M_MTRR_FIX64K, 0x0606060606060606ull));
	add(l, W_GP(M_MTRR_FIX64K, 0x0206060606060606ull));
	add(l, R_IS(M_MTRR_FIX64K, 0x0606060606060606ull));
	add(l, W_OK(M_MTRR_FIX4K_F8, 0x0504010006050401ull));
	add(l, W_GP(M_MTRR_FIX4K_F8, 0x0504010006050407ull));
	add(l, R_IS(M_MTRR_FIX4K_F8, 0x0504010006050401ull));
	add(l, R_GP(M_MTRR_FIX64K + 1));
	rc = run_steps(&v, l, "MTRR WRMSRs");
	free(l);
	free(c);
	if (rc != T_PASS)
		return rc;
	EXPECT_MSR(&v, M_MTRR_DEF, 0xc06);
	EXPECT_MSR(&v, M_MTRR_MASK0, 0xff0000800ull);
	return T_PASS;
}

/*
 * msr_io / __msr_io: KVM_SET_MSRS stops at the first value refused and
 * returns how many were set before it; host_initiated does not relax any
 * of these checks (__kvm_set_msr, set_efer, kvm_set_apic_base,
 * kvm_mtrr_valid, the user-return MSRs' wrmsrl_safe, vmx_set_msr).
 */
static int t_host_bad_values(void)
{
	struct {
		uint32_t msr;
		uint64_t good, bad;
	} cases[] = {
	    {M_LSTAR, 0xffff800000003000ull, 0x0000800000000000ull},
	    {M_CSTAR, 0x1000, 0x8000000000000000ull},
	    {M_KGS_BASE, 0x2000, 0x00ff000000000000ull},
	    {M_FS_BASE, 0x3000, 0x0001000000000000ull},
	    {M_GS_BASE, 0x4000, 0xfffe000000000000ull},
	    {M_FMASK, 0x700, 0x100000000ull},
	    {M_EFER, 0, 2},
	    {M_EFER, 0, 1ull << 14},
	    {M_PAT, PAT_DEFAULT, 0x0007040600070402ull},
	    {M_APIC_BASE, 0xfee00800, 0xfee00801},
	    {M_APIC_BASE, 0xfee00800, 0xfee00a00},
	    {M_APIC_BASE, 0xfee00800, 0xfee00c01}, /* x2APIC with a reserved bit */
	    {M_APIC_BASE, 0xfee00800, 0xfee00400},
	    {M_APIC_BASE, 0xfee00800, 0}, /* bad: set below from MAXPHYADDR */
	    {M_MTRR_DEF, 0x806, 0x1806},
	    {M_MTRR_BASE0, 0x6, 0x2},
	    {M_MTRR_MASK0, 0x800, 0x801},
	    {M_TSC_AUX, 0x5, 0x100000000ull},
	    {M_SPEC_CTRL, 0, 1},
	    {M_PERF_CAPS, 0, 1},
	    {M_MTRRCAP, 0x508, 0x508},
	    {M_PRED_CMD, 0, 2},
	};
	struct kvm_cpuid2 *c = NULL;
	struct vcpu v;

	NEW_VCPU(&v, g_msr_probe, 0);
	TRY(get_cpuid(v.fd, KVM_GET_CPUID2, &c));
	cases[13].bad = 1ull << maxphyaddr(c) | 0xfee00800;
	free(c);
	SET_OK(&v, M_STAR, 3);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kvm_msr_entry e[3] = {
		    {.index = M_SYSENTER_CS, .data = 0x10 + i},
		    {.index = cases[i].msr, .data = cases[i].bad},
		    {.index = M_STAR, .data = 7},
		};
		int r;

		/* Write-only PRED_CMD and read-only MTRRCAP have no good value to set first. */
		if (cases[i].msr != M_MTRRCAP && cases[i].msr != M_PRED_CMD)
			SET_OK(&v, cases[i].msr, cases[i].good);
		r = msrs_ioctl(&v, KVM_SET_MSRS, e, 3);
		CHECK(r == 1, "KVM_SET_MSRS {SYSENTER_CS, 0x%x = 0x%llx, STAR}: %s, expected 1",
		      cases[i].msr, (unsigned long long)cases[i].bad, result_str(r, errno));
		if (cases[i].msr != M_PRED_CMD)
			EXPECT_MSR(&v, cases[i].msr, cases[i].good);
		EXPECT_MSR(&v, M_SYSENTER_CS, 0x10 + i);
		EXPECT_MSR(&v, M_STAR, 3);
	}
	return T_PASS;
}

/* SET_CPUID2 with flags cleared from the vCPU's table. */
static int clear_cpuid_flags(struct vcpu *v, const uint32_t (*flags)[4], unsigned n)
{
	struct kvm_cpuid2 *c = NULL;
	int r;

	TRY(get_cpuid(v->fd, KVM_GET_CPUID2, &c));
	for (unsigned i = 0; i < n; i++)
		for (uint32_t j = 0; j < c->nent; j++) {
			struct kvm_cpuid_entry2 *e = &c->entries[j];

			if (e->function != flags[i][0] || e->index != flags[i][1])
				continue;
			if (flags[i][2] == EAX)
				e->eax &= ~(1u << flags[i][3]);
			else if (flags[i][2] == EBX)
				e->ebx &= ~(1u << flags[i][3]);
			else if (flags[i][2] == ECX)
				e->ecx &= ~(1u << flags[i][3]);
			else
				e->edx &= ~(1u << flags[i][3]);
		}
	errno = 0;
	r = ioc(v->fd, KVM_SET_CPUID2, c);
	free(c);
	CHECK(r == 0, "KVM_SET_CPUID2: %s", result_str(r, errno));
	return T_PASS;
}

/*
 * The host_initiated exceptions: MSRs whose feature the guest does not
 * see are refused to the guest and still saved and restored by the host
 * (IA32_SPEC_CTRL with 0 as vmx_set_msr allows; IA32_ARCH_CAPABILITIES and
 * IA32_PERF_CAPABILITIES written by the host only, kvm_set_msr_common;
 * IA32_PRED_CMD's 0), IA32_TSC_AUX and EFER's LME/NXE without RDTSCP/RDPID,
 * LM or NX in the guest's CPUID (__kvm_set_msr, __kvm_get_msr, set_efer),
 * IA32_MISC_ENABLE's read-only bits and IA32_UCODE_REV by the host only.
 */
static int t_host_initiated(void)
{
	static const uint32_t hide[][4] = {
	    {0x80000001, 0, EDX, 27}, /* RDTSCP */
	    {7, 0, ECX, 22},	      /* RDPID */
	    {0x80000001, 0, EDX, 29}, /* LM */
	    {0x80000001, 0, EDX, 20}, /* NX */
	    {7, 0, EBX, 1},	      /* TSC_ADJUST */
	};
	struct steps *l = calloc(1, sizeof(*l));
	struct kvm_cpuid2 *s = NULL;
	struct vcpu v, w;
	uint64_t aux, efer, adjust;
	bool nx;
	int rc;

	CHECK(l, "out of memory");
	rc = vcpu_new(&v, BLOB(g_msr_probe), 0);
	if (rc == T_PASS)
		rc = get_cpuid(KVM, KVM_GET_SUPPORTED_CPUID, &s);
	if (rc != T_PASS) {
		free(l);
		return rc;
	}
	nx = has(s, 0x80000001, 0, EDX, 20);
	free(s);
	EXPECT_MSR(&v, M_SPEC_CTRL, 0);
	SET_OK(&v, M_SPEC_CTRL, 0);
	SET_OK(&v, M_ARCH_CAPS, 0x2b);
	EXPECT_MSR(&v, M_ARCH_CAPS, 0x2b);
	SET_OK(&v, M_PERF_CAPS, 0);
	SET_OK(&v, M_PRED_CMD, 0);
	/* An IBPB: done where the CPU has one (vmx_set_msr), refused elsewhere; never a fault. */
	{
		int r = set_msr(&v, M_PRED_CMD, 1);

		CHECK(r == 0 || r == 1, "KVM_SET_MSRS PRED_CMD = 1: %s", result_str(r, errno));
	}
	SET_OK(&v, M_UCODE_REV, 0x4200000000ull);
	EXPECT_MSR(&v, M_UCODE_REV, 0x4200000000ull);
	SET_OK(&v, M_MISC_ENABLE, 0x80); /* the host may change the read-only bits */
	EXPECT_MSR(&v, M_MISC_ENABLE, 0x80);
	add(l, R_GP(M_SPEC_CTRL));
	add(l, W_GP(M_SPEC_CTRL, 0));
	add(l, W_GP(M_SPEC_CTRL, 1));
	add(l, R_GP(M_ARCH_CAPS));
	add(l, W_GP(M_ARCH_CAPS, 0x2b));
	add(l, R_GP(M_PERF_CAPS));
	add(l, W_GP(M_PERF_CAPS, 0));
	add(l, W_GP(M_PRED_CMD, 1));
	add(l, R_GP(M_PRED_CMD));
	add(l, R_IS(M_UCODE_REV, 0x4200000000ull));
	add(l, W_OK(M_MISC_ENABLE, 0x1)); /* EMON stays */
	add(l, R_IS(M_MISC_ENABLE, 0x81));
	add(l, W_GP(M_MISC_ENABLE, 0x1881)); /* sets the read-only bits */
	rc = run_steps(&v, l, "hidden MSRs from the guest");
	if (rc != T_PASS)
		goto out;
	/* A vCPU whose CPUID lacks RDTSCP, RDPID, LM, NX and TSC_ADJUST. */
	if ((rc = vcpu_new(&w, BLOB(g_msr_probe), 0)) != T_PASS ||
	    (rc = clear_cpuid_flags(&w, hide, sizeof(hide) / sizeof(hide[0]))) != T_PASS)
		goto out;
	l->n = 0;
	add(l, R_GP(M_TSC_AUX));
	add(l, W_GP(M_TSC_AUX, 0));
	add(l, W_GP(M_EFER, 0x100));   /* LME without LM */
	add(l, W_GP(M_EFER, 0x800));   /* NXE without NX */
	add(l, W_OK(M_TSC_ADJUST, 5)); /* ignored without the flag */
	add(l, R_IS(M_TSC_ADJUST, 0));
	if ((rc = run_steps(&w, l, "WRMSRs without their CPUID flags")) != T_PASS)
		goto out;
	rc = T_FAIL;
	if (set_msr(&w, M_TSC_AUX, 0x77) != 1 || set_msr(&w, M_EFER, nx ? 0x900 : 0x100) != 1 ||
	    set_msr(&w, M_TSC_ADJUST, 9) != 1) {
		rc = fail("the host's TSC_AUX, EFER (LME%s) or TSC_ADJUST write was refused",
			  nx ? "|NXE" : "");
		goto out;
	}
	if ((rc = get_msr(&w, M_TSC_AUX, &aux)) != T_PASS ||
	    (rc = get_msr(&w, M_EFER, &efer)) != T_PASS ||
	    (rc = get_msr(&w, M_TSC_ADJUST, &adjust)) != T_PASS)
		goto out;
	if (aux != 0x77 || efer != (nx ? 0x900u : 0x100u) || adjust != 0)
		rc = fail("after the host's writes TSC_AUX 0x%llx, EFER 0x%llx, TSC_ADJUST 0x%llx",
			  (unsigned long long)aux, (unsigned long long)efer,
			  (unsigned long long)adjust);
out:
	free(l);
	return rc;
}

/*
 * kvm_set_cpu_caps / __do_cpuid_func: the supported set offers no feature
 * whose MSR or behaviour the hypervisor lacks (machine check, x2APIC,
 * TSC deadline, PDCM, LA57, the speculation-control MSRs, ARCH_CAPABILITIES,
 * VMX, SMX, MONITOR, WAITPKG, XSAVES, PMU, SGX, PT), offers TSC_ADJUST
 * (emulated), leaf 6 is ARAT only and 0x80000007 the invariant TSC only.
 * PKS depends on the CPU's PKRS controls: hv_pks_test checks it per platform.
 */
static int t_cpuid_supported_hidden(void)
{
	static const struct {
		uint32_t leaf, sub;
		int reg;
		unsigned bit;
		const char *name;
	} hidden[] = {
	    {1, 0, ECX, 3, "MONITOR"},
	    {1, 0, ECX, 5, "VMX"},
	    {1, 0, ECX, 6, "SMX"},
	    {1, 0, ECX, 15, "PDCM"},
	    {1, 0, ECX, 27, "OSXSAVE"},
	    {1, 0, EDX, 7, "MCE"},
	    {1, 0, EDX, 14, "MCA"},
	    {1, 0, EDX, 21, "DS"},
	    {1, 0, EDX, 22, "ACPI"},
	    {7, 0, EBX, 2, "SGX"},
	    {7, 0, EBX, 25, "Intel PT"},
	    {7, 0, ECX, 4, "OSPKE"},
	    {7, 0, ECX, 5, "WAITPKG"},
	    {7, 0, ECX, 16, "LA57"},
	    {7, 0, ECX, 24, "bus-lock detection"},
	    {7, 0, EDX, 26, "IBRS/IBPB (SPEC_CTRL)"},
	    {7, 0, EDX, 27, "STIBP"},
	    {7, 0, EDX, 28, "L1D_FLUSH"},
	    {7, 0, EDX, 29, "ARCH_CAPABILITIES"},
	    {7, 0, EDX, 30, "CORE_CAPABILITIES"},
	    {7, 0, EDX, 31, "SSBD"},
	    {0xd, 1, EAX, 3, "XSAVES"},
	    {0x80000008, 0, EBX, 12, "AMD IBPB"},
	};
	struct kvm_cpuid2 *s = NULL;
	const struct kvm_cpuid_entry2 *e;
	int rc = T_PASS;

	TRY(get_cpuid(KVM, KVM_GET_SUPPORTED_CPUID, &s));
	for (unsigned i = 0; rc == T_PASS && i < sizeof(hidden) / sizeof(hidden[0]); i++)
		if (has(s, hidden[i].leaf, hidden[i].sub, hidden[i].reg, hidden[i].bit))
			rc = fail("KVM_GET_SUPPORTED_CPUID offers %s (0x%x.%u bit %u)",
				  hidden[i].name, hidden[i].leaf, hidden[i].sub, hidden[i].bit);
	if (rc == T_PASS && !has(s, 1, 0, ECX, 31))
		rc = fail("the hypervisor flag (CPUID.1:ECX[31]) is not offered");
	if (rc == T_PASS && find(s, 7, 0) && !has(s, 7, 0, EBX, 1))
		rc = fail("TSC_ADJUST (emulated) is not offered");
	if (rc == T_PASS && (e = find(s, 6, 0)) && (e->eax & ~4u || e->ebx || e->ecx || e->edx))
		rc = fail("leaf 6 is 0x%x 0x%x 0x%x 0x%x, expected ARAT at most", e->eax, e->ebx,
			  e->ecx, e->edx);
	if (rc == T_PASS && (e = find(s, 0xa, 0)) && (e->eax || e->ebx || e->ecx || e->edx))
		rc = fail("leaf 0xa (performance monitoring) is not empty: eax 0x%x", e->eax);
	if (rc == T_PASS && (e = find(s, 5, 0)) && (e->eax || e->ebx || e->ecx || e->edx))
		rc = fail("leaf 5 (MONITOR) is not empty");
	if (rc == T_PASS && (e = find(s, 0x80000007, 0)) &&
	    (e->eax || e->ebx || e->ecx || e->edx & ~0x100u))
		rc = fail("leaf 0x80000007 has more than the invariant TSC: edx 0x%x", e->edx);
	if (rc == T_PASS && (e = find(s, 0x80000008, 0)) && (e->eax >> 8 & 0xff) != 48)
		rc = fail("leaf 0x80000008 offers %u-bit linear addresses, expected 48 (no LA57)",
			  e->eax >> 8 & 0xff);
	if (rc == T_PASS && (e = find(s, 7, 0)) && e->eax > 1)
		rc = fail("leaf 7 says subleaves up to %u, KVM describes 0 and 1", e->eax);
	free(s);
	return rc;
}

/* The feature registers (leaf, subleaf, register) and the flags that follow the vCPU. */
static const struct {
	uint32_t leaf, sub;
	int reg;
	uint32_t runtime; /* flags the vCPU's state sets */
} feature_regs[] = {
    {1, 0, ECX, 1u << 27},   {1, 0, EDX, 1u << 9},    {7, 0, EBX, 0},
    {7, 0, ECX, 1u << 4},    {7, 0, EDX, 0},	      {7, 1, EAX, 0},
    {0xd, 1, EAX, 0},	     {0x80000001, 0, ECX, 0}, {0x80000001, 0, EDX, 0},
    {0x80000007, 0, EDX, 0}, {0x80000008, 0, EBX, 0},
};

static void set_reg(struct kvm_cpuid_entry2 *e, int reg, uint32_t val)
{
	if (reg == EAX)
		e->eax = val;
	else if (reg == EBX)
		e->ebx = val;
	else if (reg == ECX)
		e->ecx = val;
	else
		e->edx = val;
}

/*
 * KVM_GET_SUPPORTED_CPUID is the superset KVM_SET_CPUID2 accepts: a table
 * claiming every flag and filling hidden leaves comes back (KVM_GET_CPUID2)
 * with no flag outside the supported set and those leaves empty.
 */
static int t_cpuid_set_masked(void)
{
	static const uint32_t hidden_leaves[3] = {0xa, 0x14, 0x40000001};
	struct kvm_cpuid2 *s = NULL, *c = NULL, *g = NULL;
	const struct kvm_cpuid_entry2 *e;
	struct vcpu v;
	int r, rc = T_FAIL;

	NEW_VCPU(&v, g_msr_cpuid, 0);
	TRY(get_cpuid(KVM, KVM_GET_SUPPORTED_CPUID, &s));
	c = cpuid_alloc();
	if (!c) {
		free(s);
		return fail("out of memory");
	}
	memcpy(c->entries, s->entries, s->nent * sizeof(s->entries[0]));
	c->nent = s->nent;
	for (uint32_t i = 0; i < c->nent; i++)
		for (unsigned k = 0; k < sizeof(feature_regs) / sizeof(feature_regs[0]); k++)
			if (c->entries[i].function == feature_regs[k].leaf &&
			    c->entries[i].index == feature_regs[k].sub)
				set_reg(&c->entries[i], feature_regs[k].reg, ~0u);
	/* Leaves that describe hidden features (PMU, PT, KVM's PV features), filled in. */
	for (unsigned k = 0; k < 3; k++) {
		struct kvm_cpuid_entry2 *n = &c->entries[c->nent++];

		memset(n, 0, sizeof(*n));
		n->function = hidden_leaves[k];
		n->eax = n->ebx = n->ecx = n->edx = ~0u;
	}
	errno = 0;
	r = ioc(v.fd, KVM_SET_CPUID2, c);
	if (r != 0) {
		rc = fail("KVM_SET_CPUID2 of an all-flags table: %s", result_str(r, errno));
		goto out;
	}
	if (get_cpuid(v.fd, KVM_GET_CPUID2, &g) != T_PASS)
		goto out;
	for (unsigned k = 0; k < sizeof(feature_regs) / sizeof(feature_regs[0]); k++) {
		const struct kvm_cpuid_entry2 *want =
		    find(s, feature_regs[k].leaf, feature_regs[k].sub);
		const struct kvm_cpuid_entry2 *got =
		    find(g, feature_regs[k].leaf, feature_regs[k].sub);
		uint32_t extra;

		if (!want || !got)
			continue;
		extra = reg_of(got, feature_regs[k].reg) & ~reg_of(want, feature_regs[k].reg) &
			~feature_regs[k].runtime;
		if (extra) {
			rc = fail("KVM_SET_CPUID2 kept flags 0x%x of 0x%x.%u reg %d, outside "
				  "KVM_GET_SUPPORTED_CPUID",
				  extra, feature_regs[k].leaf, feature_regs[k].sub,
				  feature_regs[k].reg);
			goto out;
		}
	}
	for (unsigned k = 0; k < 3; k++) {
		e = find(g, hidden_leaves[k], 0);
		if (e && (e->eax || e->ebx || e->ecx || e->edx)) {
			rc = fail("KVM_SET_CPUID2 kept leaf 0x%x (eax 0x%x), a hidden feature's",
				  hidden_leaves[k], e->eax);
			goto out;
		}
	}
	rc = T_PASS;
out:
	free(s);
	free(c);
	free(g);
	return rc;
}

/* Each entry of the vCPU's table against the guest's CPUID for it. */
static int compare_table(struct vcpu *v, uint32_t xcr0, uint64_t cr4, const char *what)
{
	struct kvm_cpuid2 *before = NULL, *after = NULL;
	struct kvm_cpuid_entry2 *seen = calloc(MAX_CPUID, sizeof(*seen));
	int rc = T_FAIL;

	if (!seen)
		return fail("out of memory");
	if (get_cpuid(v->fd, KVM_GET_CPUID2, &before) != T_PASS ||
	    guest_cpuid(v, before->entries, before->nent, xcr0, cr4, seen, what) != T_PASS ||
	    get_cpuid(v->fd, KVM_GET_CPUID2, &after) != T_PASS)
		goto out;
	if (after->nent != before->nent) {
		rc = fail("%s: KVM_GET_CPUID2 had %u entries, then %u", what, before->nent,
			  after->nent);
		goto out;
	}
	for (uint32_t i = 0; i < after->nent; i++) {
		const struct kvm_cpuid_entry2 *t = &after->entries[i], *g = &seen[i];

		if (t->eax != g->eax || t->ebx != g->ebx || t->ecx != g->ecx || t->edx != g->edx) {
			rc = fail("%s: CPUID 0x%x.%u in the guest 0x%x 0x%x 0x%x 0x%x, "
				  "KVM_GET_CPUID2 0x%x 0x%x 0x%x 0x%x",
				  what, t->function, t->index, g->eax, g->ebx, g->ecx, g->edx,
				  t->eax, t->ebx, t->ecx, t->edx);
			goto out;
		}
	}
	rc = T_PASS;
out:
	free(before);
	free(after);
	free(seen);
	return rc;
}

/*
 * kvm_cpuid against kvm_vcpu_ioctl_get_cpuid2: for every leaf and subleaf
 * of the table the guest's CPUID returns the entry KVM_GET_CPUID2 gives,
 * including what follows the vCPU's state (kvm_update_cpuid_runtime:
 * OSXSAVE with CR4.OSXSAVE, leaf 0xD's sizes with XCR0, the APIC flag with
 * IA32_APIC_BASE's enable; the APIC IDs).
 */
static int t_cpuid_guest_matches(void)
{
	struct kvm_cpuid2 *c = NULL;
	const struct kvm_cpuid_entry2 *d;
	struct vcpu v;
	uint32_t xcr0 = 0;
	uint64_t cr4 = 0;

	NEW_VCPU(&v, g_msr_cpuid, 0);
	TRY(get_cpuid(v.fd, KVM_GET_CPUID2, &c));
	if (has(c, 1, 0, ECX, 26)) { /* XSAVE: run with CR4.OSXSAVE and a wider XCR0 */
		cr4 = CR4_OSXSAVE;
		xcr0 = 3;
		d = find(c, 0xd, 0);
		if (d && (d->eax & 4))
			xcr0 |= 4;
	}
	free(c);
	TRY(compare_table(&v, xcr0, cr4, "with the state after reset"));
	/* The APIC flag follows IA32_APIC_BASE's enable bit. */
	SET_OK(&v, M_APIC_BASE, 0xfee00000);
	TRY(compare_table(&v, 0, cr4, "with the APIC disabled"));
	TRY(get_cpuid(v.fd, KVM_GET_CPUID2, &c));
	d = find(c, 1, 0);
	CHECK(d && !(d->edx & (1u << 9)), "CPUID.1:EDX.APIC still set with the APIC disabled");
	CHECK(!cr4 || (d->ecx & (1u << 27)), "CPUID.1:ECX.OSXSAVE clear with CR4.OSXSAVE set");
	free(c);
	return T_PASS;
}

/*
 * get_out_of_range_cpuid_entry: for an Intel guest a leaf past its class's
 * maximum answers as the highest basic leaf; for AMD it reads zeros.
 */
static int t_cpuid_out_of_range(void)
{
	struct kvm_cpuid2 *c = cpuid_alloc(), *g = NULL;
	struct kvm_cpuid_entry2 pairs[5], seen[5];
	const struct kvm_cpuid_entry2 *top;
	struct vcpu v;
	int r, rc = T_FAIL;

	CHECK(c, "out of memory");
	c->nent = 4;
	c->entries[0] = (struct kvm_cpuid_entry2){.function = 0, .eax = 1};
	memcpy(&c->entries[0].ebx, "Genu", 4);
	memcpy(&c->entries[0].edx, "ineI", 4);
	memcpy(&c->entries[0].ecx, "ntel", 4);
	c->entries[1] = (struct kvm_cpuid_entry2){
	    .function = 1, .eax = 0x806f8, .ebx = 0x10800, .ecx = 0x80000201, .edx = 0x11};
	c->entries[2] = (struct kvm_cpuid_entry2){.function = 0x80000000, .eax = 0x80000001};
	c->entries[3] = (struct kvm_cpuid_entry2){.function = 0x40000000, .eax = 0x40000000};
	pairs[0] = (struct kvm_cpuid_entry2){.function = 1};
	pairs[1] = (struct kvm_cpuid_entry2){.function = 2};
	pairs[2] = (struct kvm_cpuid_entry2){.function = 0x80000002};
	pairs[3] = (struct kvm_cpuid_entry2){.function = 0x40000001};
	pairs[4] = (struct kvm_cpuid_entry2){.function = 0x1000};
	if ((rc = vcpu_new(&v, BLOB(g_msr_cpuid), 0)) != T_PASS)
		goto out;
	rc = T_FAIL;
	errno = 0;
	if ((r = ioc(v.fd, KVM_SET_CPUID2, c)) != 0) {
		rc = fail("KVM_SET_CPUID2: %s", result_str(r, errno));
		goto out;
	}
	if (guest_cpuid(&v, pairs, 5, 0, 0, seen, "out-of-range leaves") != T_PASS ||
	    get_cpuid(v.fd, KVM_GET_CPUID2, &g) != T_PASS)
		goto out;
	top = find(g, 1, 0);
	if (!top) {
		rc = fail("KVM_GET_CPUID2 lost leaf 1");
		goto out;
	}
	for (int i = 0; i < 5; i++)
		if (seen[i].eax != top->eax || seen[i].ebx != top->ebx || seen[i].ecx != top->ecx ||
		    seen[i].edx != top->edx) {
			rc = fail("CPUID 0x%x: 0x%x 0x%x 0x%x 0x%x, expected leaf 1's 0x%x 0x%x "
				  "0x%x 0x%x",
				  pairs[i].function, seen[i].eax, seen[i].ebx, seen[i].ecx,
				  seen[i].edx, top->eax, top->ebx, top->ecx, top->edx);
			goto out;
		}
	/* AMD: zeros. A new vCPU: after KVM_RUN the table may not change (kvm_set_cpuid). */
	memcpy(&c->entries[0].ebx, "Auth", 4);
	memcpy(&c->entries[0].edx, "enti", 4);
	memcpy(&c->entries[0].ecx, "cAMD", 4);
	if ((rc = vcpu_new(&v, BLOB(g_msr_cpuid), 0)) != T_PASS)
		goto out;
	rc = T_FAIL;
	errno = 0;
	if ((r = ioc(v.fd, KVM_SET_CPUID2, c)) != 0) {
		rc = fail("KVM_SET_CPUID2 (AMD): %s", result_str(r, errno));
		goto out;
	}
	if (guest_cpuid(&v, pairs + 1, 4, 0, 0, seen, "out-of-range leaves, AMD") != T_PASS)
		goto out;
	for (int i = 0; i < 4; i++)
		if (seen[i].eax || seen[i].ebx || seen[i].ecx || seen[i].edx) {
			rc = fail("AMD guest: CPUID 0x%x is 0x%x 0x%x 0x%x 0x%x, expected zeros",
				  pairs[i + 1].function, seen[i].eax, seen[i].ebx, seen[i].ecx,
				  seen[i].edx);
			goto out;
		}
	rc = T_PASS;
out:
	free(c);
	free(g);
	return rc;
}

/*
 * Every MSR whose feature the vCPU's CPUID offers can be read by the guest
 * (no #GP); where KVM checks guest_cpuid_has (TSC_AUX, SPEC_CTRL,
 * ARCH_CAPABILITIES, PERF_CAPABILITIES) and where nothing is emulated
 * (machine check, x2APIC, TSC deadline), a hidden feature's MSR is #GP.
 */
static int t_cpuid_msr_features(void)
{
	static const struct {
		uint32_t leaf, sub;
		int reg;
		unsigned bit;
		uint32_t msr;
		bool gated; /* #GP when the flag is clear */
	} pairs[] = {
	    {1, 0, EDX, 4, M_TSC, false},	   /* TSC */
	    {1, 0, EDX, 9, M_APIC_BASE, false},	   /* APIC */
	    {1, 0, EDX, 11, M_SYSENTER_CS, false}, /* SEP */
	    {1, 0, EDX, 11, M_SYSENTER_ESP, false},
	    {1, 0, EDX, 11, M_SYSENTER_EIP, false},
	    {1, 0, EDX, 12, M_MTRRCAP, false}, /* MTRR */
	    {1, 0, EDX, 12, M_MTRR_DEF, false},
	    {1, 0, EDX, 12, M_MTRR_BASE0, false},
	    {1, 0, EDX, 12, M_MTRR_FIX64K, false},
	    {1, 0, EDX, 16, M_PAT, false},	       /* PAT */
	    {7, 0, EBX, 1, M_TSC_ADJUST, false},       /* TSC_ADJUST */
	    {0x80000001, 0, EDX, 27, M_TSC_AUX, true}, /* RDTSCP */
	    {0x80000001, 0, EDX, 29, M_EFER, false},   /* LM */
	    {0x80000001, 0, EDX, 11, M_STAR, false},   /* SYSCALL */
	    {0x80000001, 0, EDX, 29, M_LSTAR, false},
	    {0x80000001, 0, EDX, 29, M_CSTAR, false},
	    {0x80000001, 0, EDX, 29, M_FMASK, false},
	    {0x80000001, 0, EDX, 29, M_KGS_BASE, false},
	    {0x80000001, 0, EDX, 29, M_FS_BASE, false},
	    {0x80000001, 0, EDX, 29, M_GS_BASE, false},
	    {7, 0, EDX, 26, M_SPEC_CTRL, true},	   /* IBRS/IBPB */
	    {7, 0, EDX, 29, M_ARCH_CAPS, true},	   /* ARCH_CAPABILITIES */
	    {1, 0, ECX, 15, M_PERF_CAPS, true},	   /* PDCM */
	    {1, 0, EDX, 7, M_MCG_CAP, true},	   /* MCE */
	    {1, 0, EDX, 14, M_MCG_CAP, true},	   /* MCA */
	    {1, 0, ECX, 24, M_TSC_DEADLINE, true}, /* TSC deadline */
	};
	struct steps *l = calloc(1, sizeof(*l));
	struct kvm_cpuid2 *c = NULL;
	struct vcpu v;
	int rc;

	CHECK(l, "out of memory");
	rc = vcpu_new(&v, BLOB(g_msr_probe), 0);
	if (rc == T_PASS)
		rc = get_cpuid(v.fd, KVM_GET_CPUID2, &c);
	if (rc != T_PASS) {
		free(l);
		return rc;
	}
	add(l, R_ANY(M_MISC_ENABLE)); /* architectural on Intel */
	for (unsigned i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		bool on = has(c, pairs[i].leaf, pairs[i].sub, pairs[i].reg, pairs[i].bit);

		if (pairs[i].msr == M_TSC_AUX)
			on |= has(c, 7, 0, ECX, 22); /* or RDPID */
		if (on)
			add(l, R_ANY(pairs[i].msr));
		else if (pairs[i].gated)
			add(l, R_GP(pairs[i].msr));
	}
	rc = run_steps(&v, l, "RDMSR of each offered feature's MSR");
	free(l);
	free(c);
	return rc;
}

/* ==== MSR allow-lists (HV_ADD_MSR_ALLOWLIST, abi/kvm_x86.h) ==== */

/* One range with a bitmap of up to 64 MSRs (bit i: base + i allowed). */
static long add_allowlist(struct vm *vm, uint32_t flags, uint32_t base, uint32_t nmsrs,
			  uint32_t pad, uint64_t bits)
{
	static uint8_t rec[sizeof(struct hv_msr_allowlist) + HV_MSR_ALLOWLIST_MAX_BITMAP + 8];
	struct hv_msr_allowlist h = {.flags = flags, .nmsrs = nmsrs, .base = base, .pad = pad};

	memset(rec, 0xff, sizeof(rec));
	memcpy(rec, &h, sizeof(h));
	memcpy(rec + sizeof(h), &bits, sizeof(bits));
	return ioc(vm->fd, HV_ADD_MSR_ALLOWLIST, rec);
}

#define ADD_ERR(vm, err, flags, base, n, pad, what)                                                \
	do {                                                                                       \
		errno = 0;                                                                         \
		CHECK(add_allowlist((vm), (flags), (base), (n), (pad), ~0ull) == -1 &&             \
			  errno == (err),                                                          \
		      "%s: errno %s, expected %s", (what), en(errno), en(err));                    \
	} while (0)

/*
 * The allow-list rules of abi/kvm_x86.h: only covered MSRs with their bit
 * and flag set are allowed once a range exists; at most 10 ranges (E2BIG),
 * bitmaps at most 0x600 bytes (E2BIG), no overlap, flags and pad checked
 * (EINVAL); HV_CLEAR_MSR_ALLOWLIST removes them all; the MSR filter and
 * the allow-lists must both allow an access; host accesses bypass both.
 */
static int t_allowlist(void)
{
	struct steps *l = calloc(1, sizeof(*l));
	struct kvm_msr_filter f = {.flags = KVM_MSR_FILTER_DEFAULT_ALLOW};
	uint64_t deny = 0;
	struct vcpu v = {0};
	int rc, r;

	CHECK(l, "out of memory");
	rc = vm_new(&v.vm); /* a VM of its own; the next tests share it, cleaned up at the end */
	if (rc == T_PASS)
		rc = vcpu_new(&v, BLOB(g_msr_probe), 0);
	if (rc != T_PASS)
		goto out;
	rc = T_FAIL;
	OK(r, "KVM_CHECK_EXTENSION(HV_CAP_MSR_ALLOWLIST)",
	   ioc_int(v.vm->fd, KVM_CHECK_EXTENSION, HV_CAP_MSR_ALLOWLIST));
	CHECK(r == HV_MSR_ALLOWLIST_MAX_RANGES, "HV_CAP_MSR_ALLOWLIST is %d", r);
	/* SYSENTER_CS and _ESP allowed both ways, _EIP not; reads only for MISC_ENABLE. */
	OK(r, "HV_ADD_MSR_ALLOWLIST 0x174+3",
	   add_allowlist(v.vm, HV_MSR_ALLOW_READ | HV_MSR_ALLOW_WRITE, M_SYSENTER_CS, 3, 0, 3));
	OK(r, "HV_ADD_MSR_ALLOWLIST PAT read",
	   add_allowlist(v.vm, HV_MSR_ALLOW_READ, M_PAT, 1, 0, 1));
	ADD_ERR(v.vm, EINVAL, 0, 0x10, 1, 0, "flags 0");
	ADD_ERR(v.vm, EINVAL, 4, 0x10, 1, 0, "flags 4");
	ADD_ERR(v.vm, EINVAL, 1, 0x10, 1, 1, "pad 1");
	ADD_ERR(v.vm, EINVAL, 1, 0x10, 0, 0, "nmsrs 0");
	ADD_ERR(v.vm, EINVAL, 1, 0xffffffff, 2, 0, "a range past 2^32");
	ADD_ERR(v.vm, EINVAL, 1, M_SYSENTER_EIP, 1, 0, "a range inside another");
	ADD_ERR(v.vm, EINVAL, 1, 0x170, 5, 0, "a range overlapping another's start");
	ADD_ERR(v.vm, E2BIG, 1, 0x1000, HV_MSR_ALLOWLIST_MAX_BITMAP * 8 + 1, 0,
		"0x601 bitmap bytes");
	add(l, W_OK(M_SYSENTER_CS, 0x10));
	add(l, R_IS(M_SYSENTER_CS, 0x10));
	add(l, W_OK(M_SYSENTER_ESP, 0x2000));
	add(l, W_GP(M_SYSENTER_EIP, 0x3000));
	add(l, R_GP(M_SYSENTER_EIP));
	add(l, R_IS(M_PAT, PAT_DEFAULT));
	add(l, W_GP(M_PAT, PAT_DEFAULT)); /* the range allows reads only */
	add(l, R_GP(M_MISC_ENABLE));	  /* no range covers it */
	if (run_steps(&v, l, "guest MSRs under allow-lists") != T_PASS)
		goto out;
	/* The host is not held back. */
	if (set_msr(&v, M_SYSENTER_EIP, 0x4000) != 1) {
		rc = fail("KVM_SET_MSRS SYSENTER_EIP refused under an allow-list");
		goto out;
	}
	/* Ten ranges at most. */
	for (uint32_t k = 0; k < HV_MSR_ALLOWLIST_MAX_RANGES - 2; k++)
		OK(r, "HV_ADD_MSR_ALLOWLIST", add_allowlist(v.vm, 1, 0x40000000 + 8 * k, 8, 0, 0));
	ADD_ERR(v.vm, E2BIG, 1, 0x50000000, 8, 0, "an eleventh range");
	/* The filter denies SYSENTER_CS reads: the allow-list's yes is not enough. */
	f.ranges[0] = (struct kvm_msr_filter_range){.flags = KVM_MSR_FILTER_READ,
						    .nmsrs = 1,
						    .base = M_SYSENTER_CS,
						    .bitmap = (uint8_t *)&deny};
	OK(r, "KVM_X86_SET_MSR_FILTER", ioc(v.vm->fd, KVM_X86_SET_MSR_FILTER, &f));
	l->n = 0;
	add(l, R_GP(M_SYSENTER_CS));
	add(l, R_IS(M_PAT, PAT_DEFAULT));
	if (run_steps(&v, l, "filter and allow-lists together") != T_PASS)
		goto out;
	/* Cleared: the allow-lists allow everything, the filter still says no. */
	OK(r, "HV_CLEAR_MSR_ALLOWLIST", ioc_int(v.vm->fd, HV_CLEAR_MSR_ALLOWLIST, 0));
	l->n = 0;
	add(l, R_GP(M_SYSENTER_CS));
	add(l, R_IS(M_SYSENTER_EIP, 0x4000));
	add(l, R_ANY(M_MISC_ENABLE));
	add(l, W_OK(M_PAT, PAT_DEFAULT));
	if (run_steps(&v, l, "after HV_CLEAR_MSR_ALLOWLIST") != T_PASS)
		goto out;
	/* And a new set replaces it: a range the old set refused for overlap now fits. */
	OK(r, "HV_ADD_MSR_ALLOWLIST 0x175", add_allowlist(v.vm, 3, M_SYSENTER_ESP, 1, 0, 1));
	l->n = 0;
	add(l, R_IS(M_SYSENTER_ESP, 0x2000));
	add(l, R_GP(M_SYSENTER_EIP));
	rc = run_steps(&v, l, "a new allow-list");
out:
	/* Leave the VM as it was for the tests that share it. */
	if (v.vm) {
		memset(&f, 0, sizeof(f));
		ioc_int(v.vm->fd, HV_CLEAR_MSR_ALLOWLIST, 0);
		ioc(v.vm->fd, KVM_X86_SET_MSR_FILTER, &f);
	}
	free(l);
	return rc;
}

const struct test msr_tests[] = {{"msr_allowlist", t_allowlist, NEEDS_VMX},
				 {"msr_index_list", t_index_list, NEEDS_VMX},
				 {"msr_feature_msrs", t_feature_msrs, NEEDS_VMX},
				 {"msr_platform_info", t_platform_info, NEEDS_VMX},
				 {"msr_reset_values", t_reset_values, NEEDS_VMX},
				 {"msr_reset_tsc", t_reset_tsc, NEEDS_VMX},
				 {"msr_tsc_adjust", t_tsc_adjust, NEEDS_VMX},
				 {"msr_guest_canonical", t_guest_canonical, NEEDS_VMX},
				 {"msr_guest_reserved", t_guest_reserved, NEEDS_VMX},
				 {"msr_guest_apic_base", t_guest_apic_base, NEEDS_VMX},
				 {"msr_guest_misc_enable", t_guest_misc_enable, NEEDS_VMX},
				 {"msr_guest_mtrr", t_guest_mtrr, NEEDS_VMX},
				 {"msr_host_bad_values", t_host_bad_values, NEEDS_VMX},
				 {"msr_host_initiated", t_host_initiated, NEEDS_VMX},
				 {"cpuid_supported_hidden", t_cpuid_supported_hidden, NEEDS_VMX},
				 {"cpuid_set_masked", t_cpuid_set_masked, NEEDS_VMX},
				 {"cpuid_guest_matches", t_cpuid_guest_matches, NEEDS_VMX},
				 {"cpuid_out_of_range", t_cpuid_out_of_range, NEEDS_VMX},
				 {"cpuid_msr_features", t_cpuid_msr_features, NEEDS_VMX},
				 TEST_END};
