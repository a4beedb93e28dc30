// SPDX-License-Identifier: MIT
/* The harness of the remote KVM tests (see harness.h). */
#include "tests/remote/harness.h"
#include <unistd.h>

/* ---- the connection and the VMs ---- */

struct hvk *H;
int KVM;
bool VMX;
bool verbose;
struct vm vms[MAX_VMS];
int nvms;
struct vcpu last_vcpu; /* reused when no new vCPU can be made */
bool have_last_vcpu;
char why[1024];

/* ---- results ---- */

int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return T_FAIL;
}

int skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return T_SKIP;
}

const char *en(int e)
{
	return hvk_errno_name(e);
}

/* A check inside a case: on failure the case ends with the message. */

/* An ioctl (or library call) that must succeed: its result in @var. */

/* A call that must fail with -1 and errno @err. */

/* A call (ioctl returning a count, say) that must return exactly @want. */

const char *result_str(int r, int e)
{
	static char buf[64];

	if (r == -1)
		snprintf(buf, sizeof(buf), "-1/%s", en(e));
	else
		snprintf(buf, sizeof(buf), "returned %d", r);
	return buf;
}

int ioc(int fd, unsigned long req, const void *arg)
{
	return hvk_ioctl(H, fd, req, arg);
}

int ioc_int(int fd, unsigned long req, unsigned long arg)
{
	return hvk_ioctl(H, fd, req, arg);
}

/* ---- guest set-up ---- */

void put16(uint8_t *mem, uint32_t gpa, uint16_t v)
{
	memcpy(mem + gpa, &v, sizeof(v));
}

void put32(uint8_t *mem, uint32_t gpa, uint32_t v)
{
	memcpy(mem + gpa, &v, sizeof(v));
}

uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* A VM with one slot of local memory at GPA 0: IVT and vector stubs in place. */
/* The VM new vCPUs go into, and the one holding the shared vCPU (kept). */
static struct vm *newest_vm, *shared_vm;
static int next_victim;
/* vcpu_shared()'s vCPU, once made. */
static struct vcpu shared;
static bool shared_made;

/*
 * A slot for a new VM: a free one, else the oldest VM other than the
 * shared vCPU's and the newest, closed (HVW_CLOSE) so the hypervisor's
 * VM table never fills up however many cases run.
 */
static int vm_slot(struct vm **out)
{
	struct vm *vm;

	if (nvms < MAX_VMS) {
		*out = &vms[nvms++];
		return T_PASS;
	}
	for (int tries = 0; tries < MAX_VMS; tries++) {
		vm = &vms[next_victim];
		next_victim = (next_victim + 1) % MAX_VMS;
		if (vm == shared_vm || vm == newest_vm)
			continue;
		if (hvk_close_fd(H, vm->fd) < 0)
			return fail("closing VM fd %d to make room: -1/%s (%s)", vm->fd, en(errno),
				    hvk_last_error());
		free(vm->mem);
		memset(vm, 0, sizeof(*vm));
		*out = vm;
		return T_PASS;
	}
	return fail("no VM can be closed to make room (%d made)", nvms);
}

int vm_new(struct vm **out)
{
	struct kvm_userspace_memory_region r = {0};
	struct vm *vm = NULL;
	int fd;

	TRY(vm_slot(&vm));
	OK(fd, "KVM_CREATE_VM", ioc_int(KVM, KVM_CREATE_VM, 0));
	vm->fd = fd;
	vm->mem = aligned_alloc(4096, G_MEM_SIZE);
	if (!vm->mem)
		return fail("out of memory");
	memset(vm->mem, 0, G_MEM_SIZE);
	for (uint32_t v = 0; v < G_NR_STUBS; v++) {
		put16(vm->mem, v * 4, (uint16_t)(G_VEC + v * G_STUB_SIZE)); /* offset */
		put16(vm->mem, v * 4 + 2, 0);				    /* segment */
	}
	memcpy(vm->mem + G_VEC, BLOB(g_vectors).p, BLOB(g_vectors).n);
	r.slot = 0;
	r.guest_phys_addr = 0;
	r.memory_size = G_MEM_SIZE;
	r.userspace_addr = (uint64_t)(uintptr_t)vm->mem;
	OK(fd, "KVM_SET_USER_MEMORY_REGION slot 0", ioc(vm->fd, KVM_SET_USER_MEMORY_REGION, &r));
	newest_vm = vm;
	*out = vm;
	return T_PASS;
}

int new_session(void)
{
	int r = hvk_end_session(H);

	for (int i = 0; i < nvms; i++)
		free(vms[i].mem);
	memset(vms, 0, sizeof(vms));
	nvms = 0;
	newest_vm = shared_vm = NULL;
	next_victim = 0;
	have_last_vcpu = false;
	shared_made = false;
	return r;
}

/* The first VM, made if there is none yet (NULL, with why set, if it cannot be). */
struct vm *first_vm(void)
{
	struct vm *vm;

	if (nvms)
		return &vms[0];
	return vm_new(&vm) == T_PASS ? vm : NULL;
}

void real_seg(struct kvm_segment *s, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
}

/*
 * Real mode at 0:G_LOAD, stack at 0:G_STACK, IF clear, the given CR4, no
 * sync sets, no immediate exit.
 */
int vcpu_reset(struct vcpu *v, uint64_t cr4)
{
	struct kvm_sregs sr;
	struct kvm_regs regs;
	int r;

	OK(r, "KVM_GET_SREGS", ioc(v->fd, KVM_GET_SREGS, &sr));
	real_seg(&sr.cs, 0xb);
	real_seg(&sr.ds, 0x3);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	sr.cr0 &= ~(CR0_PE | CR0_PG | CR0_EM | CR0_TS);
	sr.cr0 |= CR0_MP;
	sr.cr4 = cr4;
	sr.efer = 0;
	sr.cr2 = 0;
	OK(r, "KVM_SET_SREGS (real mode)", ioc(v->fd, KVM_SET_SREGS, &sr));
	memset(&regs, 0, sizeof(regs));
	regs.rip = G_LOAD;
	regs.rsp = G_STACK;
	regs.rflags = RFLAGS_FIXED;
	OK(r, "KVM_SET_REGS", ioc(v->fd, KVM_SET_REGS, &regs));
	v->run->kvm_valid_regs = 0;
	v->run->kvm_dirty_regs = 0;
	v->run->immediate_exit = 0;
	v->run->request_interrupt_window = 0;
	return T_PASS;
}

void load(struct vcpu *v, struct blob b)
{
	memset(v->vm->mem + G_LOAD, 0, G_LOAD_MAX);
	memcpy(v->vm->mem + G_LOAD, b.p, b.n);
}

/*
 * A fresh vCPU, reset, with @b loaded: in the newest VM while it has fewer
 * than 4 (a spread over VMs; a VM holds up to KVM_CAP_MAX_VCPUS), else in
 * a new VM; when no more can be made, the last one again.
 */
int vcpu_new(struct vcpu *v, struct blob b, uint64_t cr4)
{
	struct vm *vm = newest_vm;
	int fd, size, rc;

	if (!vm || vm->nvcpus == 4) {
		rc = vm_new(&vm);
		if (rc != T_PASS)
			return rc;
	}
	fd = ioc_int(vm->fd, KVM_CREATE_VCPU, (unsigned long)vm->nvcpus);
	if (fd < 0) {
		if (!have_last_vcpu)
			return fail("KVM_CREATE_VCPU %d: -1/%s (%s)", vm->nvcpus, en(errno),
				    hvk_last_error());
		*v = last_vcpu;
		goto reset;
	}
	v->fd = fd;
	v->id = vm->nvcpus++;
	v->vm = vm;
	OK(size, "KVM_GET_VCPU_MMAP_SIZE", ioc_int(KVM, KVM_GET_VCPU_MMAP_SIZE, 0));
	if (size > HVK_RUN_MAP_SIZE)
		size = HVK_RUN_MAP_SIZE;
	v->run = hvk_mmap(H, fd, (size_t)size);
	if (v->run == MAP_FAILED)
		return fail("hvk_mmap: %s (%s)", en(errno), hvk_last_error());
	last_vcpu = *v;
	have_last_vcpu = true;
reset:
	load(v, b);
	return vcpu_reset(v, cr4);
}

/*
 * One vCPU shared by the cases that leave no state behind (refused runs,
 * refused ioctls): reset, with @b loaded.
 */
int vcpu_shared(struct vcpu *v, struct blob b, uint64_t cr4)
{
	if (!shared_made) {
		int rc = vcpu_new(&shared, b, cr4);

		if (rc != T_PASS)
			return rc;
		shared_made = true;
		shared_vm = shared.vm;
	}
	*v = shared;
	load(v, b);
	return vcpu_reset(v, cr4);
}

/* The cases of an optional sync set fail plainly when it is not offered. */

/* ---- runs and exits ---- */

const char *exit_str(const struct kvm_run *run)
{
	static char buf[256];
	const char *name = hvk_exit_name(run->exit_reason);
	int n;

	n = snprintf(buf, sizeof(buf), "exit %s", name ? name : "?");
	if (!name)
		snprintf(buf + n, sizeof(buf) - n, " (%u)", run->exit_reason);
	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		const uint8_t *d = (const uint8_t *)run + run->io.data_offset;
		uint32_t val = 0;

		if (run->io.size <= 4 && run->io.data_offset + 4 <= HVK_RUN_MAP_SIZE)
			memcpy(&val, d, run->io.size);
		n += snprintf(buf + n, sizeof(buf) - n, " %s port 0x%x size %u count %u",
			      run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.port,
			      run->io.size, run->io.count);
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			n += snprintf(buf + n, sizeof(buf) - n, " data 0x%x", val);
			if ((val & ~0xffu) == G_MARK_VEC)
				snprintf(buf + n, sizeof(buf) - n, " (the guest took vector %u)",
					 val & 0xff);
		}
		break;
	}
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(buf + n, sizeof(buf) - n, " suberror %u", run->internal.suberror);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(buf + n, sizeof(buf) - n, " reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		break;
	}
	return buf;
}

/* KVM_RUN; the guest's 32-bit OUT to G_PORT must be the exit: its data in *data. */
int run_out(struct vcpu *v, uint32_t *data, const char *what)
{
	struct kvm_run *run = v->run;

	errno = 0;
	if (hvk_ioctl(H, v->fd, KVM_RUN, 0) < 0)
		return fail("%s: KVM_RUN: -1/%s (%s)", what, en(errno), hvk_last_error());
	if (verbose)
		fprintf(stderr, "  %s: %s\n", what, exit_str(run));
	if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT ||
	    run->io.port != G_PORT || run->io.size != 4 || run->io.count != 1)
		return fail("%s: %s, expected the guest's OUT to 0x%x", what, exit_str(run),
			    G_PORT);
	*data = get32((const uint8_t *)run + run->io.data_offset);
	return T_PASS;
}

/* KVM_RUN expecting OUT @want. */
int run_expect(struct vcpu *v, uint32_t want, const char *what)
{
	uint32_t got;
	int rc = run_out(v, &got, what);

	if (rc != T_PASS)
		return rc;
	if (got != want)
		return fail("%s: the guest reported 0x%x, expected 0x%x%s", what, got, want,
			    (got & ~0xffu) == G_MARK_VEC ? " (it took an unexpected vector)" : "");
	return T_PASS;
}

int get_rip(struct vcpu *v, uint64_t *rip)
{
	struct kvm_regs regs;
	int r;

	OK(r, "KVM_GET_REGS", ioc(v->fd, KVM_GET_REGS, &regs));
	*rip = regs.rip;
	return T_PASS;
}

/* A KVM_RUN that must fail with @err and leave RIP at G_LOAD. */
int run_refused(struct vcpu *v, int err, const char *what)
{
	uint64_t rip;
	int rc;

	ERRNO(what, hvk_ioctl(H, v->fd, KVM_RUN, 0), err);
	rc = get_rip(v, &rip);
	if (rc != T_PASS)
		return rc;
	CHECK(rip == G_LOAD, "%s: refused, but the guest ran (RIP 0x%" PRIx64 ", not 0x%x)", what,
	      rip, G_LOAD);
	return T_PASS;
}

/* Zero @len bytes of guest memory at @gpa in the hypervisor (results area). */
int clear_guest(struct vcpu *v, uint64_t gpa, size_t len)
{
	static const uint8_t zero[256];
	int r;

	/* In pieces of the zero block: never past its end. */
	for (size_t done = 0, n; done < len; done += n) {
		n = len - done < sizeof(zero) ? len - done : sizeof(zero);
		OK(r, "hvk_mem_write", hvk_mem_write(H, v->vm->fd, gpa + done, zero, n));
	}
	return T_PASS;
}

int read_guest(struct vcpu *v, uint64_t gpa, void *buf, size_t len)
{
	int r;

	OK(r, "hvk_mem_read", hvk_mem_read(H, v->vm->fd, gpa, buf, len));
	return T_PASS;
}

uint64_t sync_mask(void)
{
	int r = ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);

	return r < 0 ? 0 : (uint64_t)r;
}

/* ==== system-level cases (with or without VT-x) ==== */
/* ---- KVM_RUN in a thread ---- */

void sleep_ms(int ms)
{
	usleep((useconds_t)ms * 1000);
}

static void *runner_main(void *p)
{
	struct runner *rn = p;

	errno = 0;
	rn->r = hvk_ioctl(H, rn->v->fd, KVM_RUN, 0);
	rn->e = errno;
	__atomic_store_n(&rn->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

uint64_t requests_sent(void)
{
	struct hvk_stats st;

	hvk_stats(H, &st);
	return st.requests;
}

int runner_start(struct runner *rn, struct vcpu *v)
{
	uint64_t before = requests_sent();

	memset(rn, 0, sizeof(*rn));
	rn->v = v;
	if (pthread_create(&rn->t, NULL, runner_main, rn))
		return fail("pthread_create: %s", strerror(errno));
	rn->started = true;
	for (int i = 0; i < 12000; i++) {
		if (requests_sent() > before || __atomic_load_n(&rn->done, __ATOMIC_SEQ_CST))
			return T_PASS;
		sleep_ms(5);
	}
	return fail("the KVM_RUN frame did not go out in 60 s");
}

bool runner_wait(struct runner *rn, int ms)
{
	for (int i = 0; i < ms / 5 + 1; i++) {
		if (__atomic_load_n(&rn->done, __ATOMIC_SEQ_CST))
			return true;
		sleep_ms(5);
	}
	return __atomic_load_n(&rn->done, __ATOMIC_SEQ_CST);
}

void runner_join(struct runner *rn)
{
	if (!rn->started)
		return;
	pthread_join(rn->t, NULL);
	rn->started = false;
}

bool runner_stop(struct runner *rn)
{
	bool ended = true;

	if (!rn->started)
		return true;
	for (int i = 0; !runner_wait(rn, 200); i++) {
		if (i == 450) {
			ended = false;
			break;
		}
		hvk_kick(H, rn->v->fd);
	}
	if (ended)
		pthread_join(rn->t, NULL);
	else
		pthread_detach(rn->t); /* the library's timeout will end it */
	rn->started = false;
	return ended;
}

/* ---- KVM_GET/SET_MSRS ---- */

int msrs_ioctl(struct vcpu *v, unsigned long req, struct kvm_msr_entry *e, uint32_t n)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(*e));
	int r;

	if (!m)
		return -1;
	m->nmsrs = n;
	memcpy(m->entries, e, n * sizeof(*e));
	r = ioc(v->fd, req, m);
	if (r >= 0)
		memcpy(e, m->entries, n * sizeof(*e));
	free(m);
	return r;
}

/* KVM_GET_MSRS of one MSR, which must be read. */
int get_msr(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	struct kvm_msr_entry e = {.index = msr};
	int r = msrs_ioctl(v, KVM_GET_MSRS, &e, 1);

	if (r != 1)
		return fail("KVM_GET_MSRS of 0x%x: %s, expected 1", msr, result_str(r, errno));
	*val = e.data;
	return T_PASS;
}
