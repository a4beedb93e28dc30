// SPDX-License-Identifier: MIT
/*
 * libhvkvm: pseudo-fds and ioctls. The fd table, requests forwarded as
 * they are, KVM_CREATE_VM/VCPU and KVM_SET_USER_MEMORY_REGION with their
 * local side, KVM_RUN (plain and compact).
 */
#include "tools/libhvkvm/internal.h"

/* ---- Requests ---- */

static int ioctl_exchange(struct hvk *h, const struct hvw_ioctl_req_hdr *hdr, const void *arg,
			  int timeout_ms, bool unlocked, struct hvw_ioctl_resp *resp,
			  const char *what)
{
	uint32_t seq = hvki_next_seq(h);
	size_t n = hvw_encode_ioctl_req(h->tx, sizeof(h->tx), seq, hdr, arg);
	struct hvw_frame f;
	int r;

	r = hvki_transact(h, n, seq, HVW_IOCTL_RESP, timeout_ms, unlocked, &f, what);
	if (r < 0)
		return r;
	if (hvw_parse_ioctl_resp(f.payload, f.len, resp) < 0)
		return fail(EPROTO, "%s: malformed IOCTL answer", what);
	return 0;
}

/* ---- Little-endian integer argument ---- */

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- Pseudo file descriptors ---- */

static void target_of(const struct hvk_fd *e, struct hvw_ioctl_req_hdr *hdr);

bool hvk_is_pseudo_fd(int fd)
{
	return fd >= HVK_FD_BASE && fd < HVK_FD_BASE + HVK_FD_MAX;
}

struct hvk_fd *hvki_fd_get(struct hvk *h, int fd)
{
	struct hvk_fd *e;

	if (!hvk_is_pseudo_fd(fd))
		return NULL;
	e = &h->fds[fd - HVK_FD_BASE];
	return e->kind == FD_FREE ? NULL : e;
}

/* A free pseudo-fd number, or -1. */
static int fd_free(struct hvk *h)
{
	for (int i = 0; i < HVK_FD_MAX; i++)
		if (h->fds[i].kind == FD_FREE)
			return HVK_FD_BASE + i;
	return -1;
}

int hvk_kvm_fd(struct hvk *h)
{
	int fd;

	pthread_mutex_lock(&h->lock);
	fd = fd_free(h);
	if (fd >= 0)
		h->fds[fd - HVK_FD_BASE].kind = FD_SYSTEM;
	pthread_mutex_unlock(&h->lock);
	if (fd < 0)
		return ret_errno(fail(EMFILE, "/dev/kvm: all %d pseudo-fds in use", HVK_FD_MAX));
	return fd;
}

/* Local side of a closed VM: its slots and shadows go, its vCPU fds die. */
static void vm_forget(struct hvk_vm *vm)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (vm->slots[i].used)
			munmap(vm->slots[i].shadow, vm->slots[i].size);
	memset(vm->slots, 0, sizeof(vm->slots));
	vm->closed = true;
}

void hvki_forget_vms(struct hvk *h)
{
	for (struct hvk_vm *vm = h->vms; vm; vm = vm->next)
		if (!vm->closed)
			vm_forget(vm);
}

/* CLOSE @handle: 0, or a negative errno (EBADF: the hypervisor has no such VM). */
static int close_remote(struct hvk *h, uint32_t handle)
{
	struct hvw_close c = {.vm = handle};
	struct hvw_ioctl_resp resp;
	struct hvw_frame f;
	uint32_t seq;
	size_t n;
	char what[40];
	int r;

	snprintf(what, sizeof(what), "CLOSE vm %u", handle);
	if (!(h->hello.caps & HVW_CAP_CLOSE))
		return fail(EOPNOTSUPP, "%s: the hypervisor cannot close a VM", what);
	seq = hvki_next_seq(h);
	n = hvw_encode_close(h->tx, sizeof(h->tx), seq, &c);
	r = hvki_transact(h, n, seq, HVW_IOCTL_RESP, h->timeout_ms, false, &f, what);
	if (r < 0)
		return r;
	if (hvw_parse_ioctl_resp(f.payload, f.len, &resp) < 0)
		return fail(EPROTO, "%s: malformed answer", what);
	r = hvki_ioctl_result(resp.result, what);
	if (r == 0)
		h->st.closes++;
	return r < 0 ? r : 0;
}

int hvk_close_fd(struct hvk *h, int fd)
{
	struct hvk_fd *e;
	int r = 0;

	pthread_mutex_lock(&h->lock);
	e = hvki_fd_get(h, fd);
	if (!e) {
		r = fail(EBADF, "close %d: not an open pseudo-fd", fd);
	} else {
		/* The VM fd is the last reference: the VM goes, in the hypervisor too. */
		if (e->kind == FD_VM && !e->vm->closed) {
			if (h->hello.caps & HVW_CAP_CLOSE)
				r = close_remote(h, e->vm->handle);
			vm_forget(e->vm);
		}
		memset(e, 0, sizeof(*e));
	}
	pthread_mutex_unlock(&h->lock);
	return ret_errno(r);
}

int hvk_close_vm_handle(struct hvk *h, uint32_t handle)
{
	int r;

	pthread_mutex_lock(&h->lock);
	r = close_remote(h, handle);
	if (r == 0)
		for (struct hvk_vm *vm = h->vms; vm; vm = vm->next)
			if (vm->handle == handle && !vm->closed)
				vm_forget(vm);
	pthread_mutex_unlock(&h->lock);
	return ret_errno(r);
}

int hvk_fd_target(struct hvk *h, int fd, uint32_t *vm, uint32_t *vcpu)
{
	struct hvw_ioctl_req_hdr hdr;
	struct hvk_fd *e;

	pthread_mutex_lock(&h->lock);
	e = hvki_fd_get(h, fd);
	if (e)
		target_of(e, &hdr);
	pthread_mutex_unlock(&h->lock);
	if (!e)
		return ret_errno(fail(EBADF, "%d is not an open pseudo-fd", fd));
	if (vm)
		*vm = hdr.vm;
	if (vcpu)
		*vcpu = hdr.vcpu;
	return hdr.target;
}

void *hvk_mmap(struct hvk *h, int vcpu_fd, size_t len)
{
	struct hvk_fd *e;
	void *p = MAP_FAILED;
	int r = 0;

	pthread_mutex_lock(&h->lock);
	e = hvki_fd_get(h, vcpu_fd);
	if (!e)
		r = fail(EBADF, "mmap %d: not an open pseudo-fd", vcpu_fd);
	else if (e->kind != FD_VCPU)
		r = fail(ENODEV, "mmap %d: not a vCPU", vcpu_fd);
	else if (!len || len > HVK_RUN_MAP_SIZE)
		r = fail(EINVAL, "mmap %d: %zu bytes, the vCPU mapping has %u", vcpu_fd, len,
			 HVK_RUN_MAP_SIZE);
	else
		p = e->vcpu->run;
	pthread_mutex_unlock(&h->lock);
	if (r < 0)
		errno = -r;
	return p;
}

/* ---- ioctl ---- */

static void target_of(const struct hvk_fd *e, struct hvw_ioctl_req_hdr *hdr)
{
	memset(hdr, 0, sizeof(*hdr));
	switch (e->kind) {
	case FD_VM:
		hdr->target = HVW_TARGET_VM;
		hdr->vm = e->vm->handle;
		break;
	case FD_VCPU:
		hdr->target = HVW_TARGET_VCPU;
		hdr->vm = e->vcpu->vm->handle;
		hdr->vcpu = e->vcpu->id;
		break;
	default:
		hdr->target = HVW_TARGET_SYSTEM;
		break;
	}
}

/* The hypervisor's result as ioctl(2) returns it. */
int hvki_ioctl_result(int64_t result, const char *what)
{
	if (result < 0)
		return fail((int)-result, "%s: %s (%s)", what, hvk_errno_name((int)-result),
			    strerror((int)-result));
	if (result > INT32_MAX)
		return fail(EOVERFLOW, "%s: result %lld does not fit an int", what,
			    (long long)result);
	return (int)result;
}

/* ---- Packed records (HVW_IOCTL_PACKED) ---- */

/* Records this long or longer go packed when the hypervisor takes them. */
#define PACK_MIN 64

static bool pack_record(const struct hvk *h, unsigned int dir, uint64_t len)
{
	return (h->hello.caps & HVW_CAP_PACKED) && dir != HV_IOC_NONE && len >= PACK_MIN;
}

/*
 * Pack @arg (hdr->arg_len bytes; NULL: zeros, the argument of an ioctl
 * that only reads) into h->packed and mark @hdr.
 */
static int pack_arg(struct hvk *h, struct hvw_ioctl_req_hdr *hdr, const void *arg, const char *what)
{
	long n;

	if (!arg) {
		memset(h->scratch, 0, hdr->arg_len);
		arg = h->scratch;
	}
	n = hvp_pack(h->packed, sizeof(h->packed), arg, hdr->arg_len, &h->pack_ws);
	if (n < 0)
		return fail(EINVAL, "%s: cannot pack %u argument bytes (%ld)", what, hdr->arg_len,
			    n);
	h->st.packed_frames++;
	h->st.packed_saved += (int64_t)hdr->arg_len - n;
	hdr->flags |= HVW_IOCTL_PACKED;
	hdr->arg_len = (uint32_t)n;
	return 0;
}

/* Unpack a packed answer's out-argument into h->scratch; @resp then points there. */
static int unpack_answer(struct hvk *h, struct hvw_ioctl_resp *resp, const char *what)
{
	long n;

	if (!resp->arg_len)
		return 0;
	n = hvp_unpack(h->scratch, sizeof(h->scratch), resp->arg, resp->arg_len);
	if (n < 0)
		return fail(EPROTO, "%s: the packed answer does not unpack (%ld)", what, n);
	h->st.packed_frames++;
	h->st.packed_saved += n - (int64_t)resp->arg_len;
	resp->arg = h->scratch;
	resp->arg_len = (uint32_t)n;
	return 0;
}

/* ---- Records that hold pointers ---- */

_Static_assert(sizeof(struct kvm_msr_filter) +
		       KVM_MSR_FILTER_MAX_RANGES * KVM_MSR_FILTER_MAX_BITMAP_SIZE <=
		   HVW_MAX_ARG,
	       "the largest marshalled KVM_X86_SET_MSR_FILTER fits h->scratch");

/*
 * KVM_X86_SET_MSR_FILTER's wire form (abi/kvm_ioctls.h) built in
 * h->scratch: the struct as the caller holds it, then the bitmap of each
 * range that upstream's kvm_add_msr_filter() would copy with
 * memdup_user(), and no other. As with memdup_user(), a bitmap that cannot
 * be read (NULL, unmapped) is EFAULT, not a crash: it is copied with
 * process_vm_readv() from our own process. The wire length, or a negative
 * errno with nothing sent.
 */
static int marshal_msr_filter(struct hvk *h, const struct kvm_msr_filter *arg, const char *what)
{
	struct kvm_msr_filter f;
	size_t off = sizeof(f);

	memcpy(&f, arg, sizeof(f)); /* one snapshot: the lengths and bytes agree */
	memcpy(h->scratch, &f, sizeof(f));
	for (unsigned int i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
		uint8_t *bitmap = f.ranges[i].bitmap;
		size_t n = kvm_msr_filter_bitmap_len(f.ranges[i].nmsrs);
		struct iovec local = {.iov_base = h->scratch + off, .iov_len = n};
		struct iovec remote = {.iov_base = bitmap, .iov_len = n};
		ssize_t got;

		if (!n)
			continue;
		got = bitmap ? process_vm_readv(getpid(), &local, 1, &remote, 1, 0) : -1;
		if (got != (ssize_t)n)
			return fail(EFAULT,
				    "%s: range %u: cannot read its %zu bitmap bytes at %p (%s)",
				    what, i, n, (void *)bitmap,
				    !bitmap   ? "NULL"
				    : got < 0 ? strerror(errno)
					      : "partly mapped");
		off += n;
	}
	return (int)off;
}

/*
 * A request with no local side: its argument out, its record back. With
 * @unlocked the lock is dropped while it waits (nothing of @e is used
 * after the request has gone out).
 */
static int forward(struct hvk *h, const struct hvk_fd *e, unsigned long req, unsigned long arg,
		   bool unlocked, const char *what, int64_t *result)
{
	struct hvw_ioctl_req_hdr hdr;
	struct hvw_ioctl_resp resp;
	uint8_t intarg[8];
	const void *p = NULL;
	unsigned int dir = HV_IOC_DIR(req);
	uint64_t len = 0;
	int r;

	target_of(e, &hdr);
	hdr.nr = (uint32_t)req;
	if (dir == HV_IOC_NONE) {
		if (arg) {
			put_le64(intarg, arg);
			p = intarg;
			len = sizeof(intarg);
		}
	} else {
		if (!arg)
			return fail(EFAULT, "%s: no argument record", what);
		if (req == KVM_X86_SET_MSR_FILTER) {
			/* Pointers inside: its wire form, from h->scratch. */
			r = marshal_msr_filter(h, (const struct kvm_msr_filter *)arg, what);
			if (r < 0)
				return r;
			p = h->scratch;
			len = (uint64_t)r;
		} else {
			p = (const void *)arg;
			/* Counted records include their entries (abi/kvm_ioctls.h). */
			len = kvm_ioctl_record_len(req, p, SIZE_MAX);
		}
		if (len > HVW_MAX_ARG)
			return fail(E2BIG, "%s: %llu argument bytes, at most %u go in a frame",
				    what, (unsigned long long)len, HVW_MAX_ARG);
	}
	hdr.arg_len = (uint32_t)len;
	if (pack_record(h, dir, len)) {
		r = pack_arg(h, &hdr, dir == HV_IOC_READ ? NULL : p, what);
		if (r < 0)
			return r;
		p = h->packed;
	}
	r = ioctl_exchange(h, &hdr, p, h->timeout_ms, unlocked, &resp, what);
	if (r < 0)
		return r;
	if (hdr.flags & HVW_IOCTL_PACKED) {
		r = unpack_answer(h, &resp, what);
		if (r < 0)
			return r;
	}
	if (dir & HV_IOC_READ) {
		/* Back even with an error: E2BIG answers say the count needed. */
		if (resp.arg_len == len)
			memcpy((void *)arg, resp.arg, len);
		else if (resp.result >= 0 || resp.arg_len)
			return fail(EPROTO, "%s: %u record bytes came back, %llu expected", what,
				    resp.arg_len, (unsigned long long)len);
	}
	*result = resp.result;
	return 0;
}

static int do_create_vm(struct hvk *h, struct hvk_fd *e, unsigned long arg, const char *what)
{
	struct hvk_vm *vm;
	int64_t res;
	int fd = fd_free(h), r;

	if (fd < 0)
		return fail(EMFILE, "%s: all %d pseudo-fds in use", what, HVK_FD_MAX);
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return fail(ENOMEM, "%s: out of memory", what);
	r = forward(h, e, KVM_CREATE_VM, arg, false, what, &res);
	if (r >= 0)
		r = hvki_ioctl_result(res, what);
	if (r == 0)
		r = fail(EPROTO, "%s: the hypervisor answered handle 0", what);
	if (r < 0) {
		free(vm);
		return r;
	}
	vm->handle = (uint32_t)r;
	vm->next = h->vms;
	h->vms = vm;
	h->fds[fd - HVK_FD_BASE] = (struct hvk_fd){.kind = FD_VM, .vm = vm};
	return fd;
}

static int do_create_vcpu(struct hvk *h, struct hvk_fd *e, unsigned long arg, const char *what)
{
	struct hvk_vcpu *v;
	int64_t res;
	int fd = fd_free(h), r;

	if (fd < 0)
		return fail(EMFILE, "%s: all %d pseudo-fds in use", what, HVK_FD_MAX);
	v = calloc(1, sizeof(*v));
	if (v)
		v->run = aligned_alloc(PAGE_SIZE, HVK_RUN_MAP_SIZE);
	if (!v || !v->run) {
		free(v);
		return fail(ENOMEM, "%s: out of memory", what);
	}
	memset(v->run, 0, HVK_RUN_MAP_SIZE);
	r = forward(h, e, KVM_CREATE_VCPU, arg, false, what, &res);
	if (r >= 0)
		r = hvki_ioctl_result(res, what);
	if (r < 0) {
		free(v->run);
		free(v);
		return r;
	}
	v->vm = e->vm;
	v->id = (uint32_t)r;
	v->next = h->vcpus;
	h->vcpus = v;
	h->fds[fd - HVK_FD_BASE] = (struct hvk_fd){.kind = FD_VCPU, .vcpu = v};
	return fd;
}

static struct hvk_slot *slot_find(struct hvk_vm *vm, uint32_t id)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (vm->slots[i].used && vm->slots[i].id == id)
			return &vm->slots[i];
	return NULL;
}

static int do_set_region(struct hvk *h, struct hvk_fd *e, unsigned long arg, const char *what)
{
	struct kvm_userspace_memory_region m;
	struct hvk_slot *s, *fresh = NULL;
	uint8_t *shadow = NULL;
	int64_t res;
	int r;

	if (!arg)
		return fail(EFAULT, "%s: no argument record", what);
	memcpy(&m, (const void *)arg, sizeof(m));
	s = slot_find(e->vm, m.slot);
	if (m.memory_size) {
		if (!m.userspace_addr || (m.userspace_addr & (PAGE_SIZE - 1)) ||
		    (m.memory_size & (PAGE_SIZE - 1)) ||
		    m.userspace_addr + m.memory_size < m.userspace_addr)
			return fail(EINVAL, "%s: slot %u: memory must be whole pages", what,
				    m.slot);
		if (!s || s->size != m.memory_size) {
			/* All zero, as the hypervisor's new memory is. */
			shadow = mmap(NULL, m.memory_size, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			if (shadow == MAP_FAILED)
				return fail(ENOMEM, "%s: slot %u: no memory for its shadow", what,
					    m.slot);
		}
		if (!s) {
			for (int i = 0; i < MAX_SLOTS && !fresh; i++)
				if (!e->vm->slots[i].used)
					fresh = &e->vm->slots[i];
			if (!fresh) {
				munmap(shadow, m.memory_size);
				return fail(ENOSPC, "%s: more than %d slots", what, MAX_SLOTS);
			}
		}
	}
	r = forward(h, e, KVM_SET_USER_MEMORY_REGION, (unsigned long)&m, false, what, &res);
	if (r >= 0)
		r = hvki_ioctl_result(res, what);
	if (r < 0) {
		if (shadow)
			munmap(shadow, m.memory_size);
		return r;
	}
	if (!m.memory_size) {
		if (s) {
			munmap(s->shadow, s->size);
			memset(s, 0, sizeof(*s));
		}
		return r;
	}
	if (!s)
		s = fresh;
	if (shadow) {
		if (s->used)
			munmap(s->shadow, s->size);
		s->shadow = shadow;
	}
	s->used = true;
	s->id = m.slot;
	s->flags = m.flags;
	s->gpa = m.guest_phys_addr;
	s->size = m.memory_size;
	s->mem = (uint8_t *)(uintptr_t)m.userspace_addr;
	return r;
}

/* Where the data of an I/O exit sits in the mapping; false if it does not fit. */
static bool io_data_ok(const struct kvm_run *run, uint32_t *off, uint32_t *len)
{
	uint64_t n = (uint64_t)run->io.size * run->io.count;

	if (run->io.data_offset < sizeof(struct kvm_run) ||
	    run->io.data_offset > HVK_RUN_MAP_SIZE || n > HVK_RUN_MAP_SIZE - run->io.data_offset)
		return false;
	*off = (uint32_t)run->io.data_offset;
	*len = (uint32_t)n;
	return true;
}

/*
 * Send the KVM_RUN in h->scratch and wait for its answer. The frame is
 * built with the write token held, so that a kick either finds the run
 * still being prepared (it then goes out with immediate_exit set) or
 * finds its frame gone (a KICK frame follows it). The wait is done
 * without h->lock, so that other threads' requests go out meanwhile (the
 * hypervisor answers them when the run has ended); the caller's vCPU is
 * marked in_run, so no other KVM_RUN of it starts.
 */
static int run_exchange(struct hvk *h, struct hvk_vcpu *v, int vcpu_fd,
			const struct hvw_ioctl_req_hdr *hdr, struct hvw_ioctl_resp *resp,
			const char *what)
{
	uint32_t seq = hvki_next_seq(h);
	int64_t deadline = deadline_in(h->run_timeout_ms);
	struct hvk_waiter w = {
	    .own_seq = seq, .interrupted = h->run_interrupt_check, .kick_fd = vcpu_fd};
	struct hvw_frame f;
	size_t n;
	int r;

	if (deadline >= 0 && h->baud)
		deadline +=
		    (int64_t)((HVW_FRAME_SIZE(hdr->arg_len) + HVW_MAX_FRAME) * 10 * 1000 / h->baud);
	hvki_waiter_add(h, &w, &w.own_seq, 1);
	hvki_wtoken_acquire(h);
	if (__atomic_exchange_n(&v->kick_early, 0, __ATOMIC_SEQ_CST)) {
		h->scratch[offsetof(struct kvm_run, immediate_exit)] = 1;
		__atomic_add_fetch(&h->kicks_early, 1, __ATOMIC_RELAXED);
	}
	n = hvw_encode_ioctl_req(h->tx, sizeof(h->tx), seq, hdr, h->scratch);
	r = n ? hvki_send_bytes(h, h->tx, n, deadline, what)
	      : fail(EINVAL, "%s: the request does not fit a frame", what);
	__atomic_store_n(&v->run_state, RUN_SENT, __ATOMIC_SEQ_CST);
	hvki_wtoken_release(h);
	if (r < 0) {
		hvki_waiter_cancel(h, &w);
		return r;
	}
	__atomic_add_fetch(&h->st.requests, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&h->lock);
	r = hvki_await(h, &w, HVW_IOCTL_RESP, deadline, &f, what);
	pthread_mutex_lock(&h->lock);
	if (r == -ETIMEDOUT) {
		__atomic_add_fetch(&h->st.timeouts, 1, __ATOMIC_RELAXED);
		return fail(ETIMEDOUT, "%s: no answer within %d ms", what, h->run_timeout_ms);
	}
	if (r < 0)
		return r;
	if (hvw_parse_ioctl_resp(f.payload, f.len, resp) < 0)
		return fail(EPROTO, "%s: malformed IOCTL answer", what);
	return 0;
}

/* The compact KVM_RUN, when the hypervisor offers it and nobody said no. */
static bool compact_run(const struct hvk *h)
{
	return (h->hello.caps & HVW_CAP_COMPACT_RUN) && !(h->sync & HVK_SYNC_PLAIN_RUN);
}

static int do_run(struct hvk *h, struct hvk_fd *e, const char *what)
{
	struct hvk_vcpu *v = e->vcpu;
	struct kvm_run *run = v->run;
	struct hvw_ioctl_req_hdr hdr;
	struct hvw_ioctl_resp resp;
	uint32_t len = sizeof(struct kvm_run), off, n;
	uint8_t immediate_exit = run->immediate_exit;
	int r;

	if (v->vm->closed)
		return fail(EBADF, "%s: the vCPU's VM was closed", what);
	/* From here a kick stops this run (see flush_kicks). */
	__atomic_store_n(&v->kick_early, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&v->run_state, RUN_PREP, __ATOMIC_SEQ_CST);
	if (h->sync & HVK_SYNC_BEFORE_RUN) {
		r = hvki_sync_vm(h, v->vm, HVK_SYNC_BEFORE_RUN);
		if (r < 0) {
			__atomic_store_n(&v->run_state, RUN_IDLE, __ATOMIC_SEQ_CST);
			return r;
		}
	}
	target_of(e, &hdr);
	hdr.nr = KVM_RUN;
	if (compact_run(h)) {
		long k = hvr_encode_request(h->scratch, sizeof(h->scratch), run, HVK_RUN_MAP_SIZE,
					    &v->shadow, v->shadow_ok ? 0 : HVR_FRESH);

		if (k < 0) {
			__atomic_store_n(&v->run_state, RUN_IDLE, __ATOMIC_SEQ_CST);
			return fail(EINVAL, "%s: cannot encode the compact run (%ld)", what, k);
		}
		hdr.flags = HVW_IOCTL_COMPACT_RUN;
		len = (uint32_t)k;
		v->shadow_ok = false; /* until the answer is in */
	} else {
		memcpy(h->scratch, run, len);
		if (v->in_pending) {
			memcpy(h->scratch + len, (uint8_t *)run + v->in_off, v->in_len);
			len += v->in_len;
		}
	}
	hdr.arg_len = len;
	h->st.runs++;
	r = run_exchange(h, v, HVK_FD_BASE + (int)(e - h->fds), &hdr, &resp, what);
	__atomic_store_n(&v->run_state, RUN_IDLE, __ATOMIC_SEQ_CST);
	if (r < 0)
		return r;
	if (hdr.flags & HVW_IOCTL_COMPACT_RUN) {
		if (resp.arg_len && hvr_apply_response(run, HVK_RUN_MAP_SIZE, &v->shadow, resp.arg,
						       resp.arg_len) < 0)
			return fail(EPROTO, "%s: malformed compact KVM_RUN answer (%u bytes)", what,
				    resp.arg_len);
		if (!resp.arg_len && resp.result >= 0)
			return fail(EPROTO, "%s: a successful run came back without its exit",
				    what);
		v->shadow_ok = resp.arg_len != 0;
		run->immediate_exit = immediate_exit;
	} else if (resp.arg_len >= sizeof(struct kvm_run)) {
		uint32_t extra = resp.arg_len - (uint32_t)sizeof(struct kvm_run);

		memcpy(run, resp.arg, sizeof(struct kvm_run));
		/* The program's own field, whatever a kick sent in its place. */
		run->immediate_exit = immediate_exit;
		if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT) {
			if (!io_data_ok(run, &off, &n) || n != extra)
				return fail(EPROTO,
					    "%s: OUT exit with %u data bytes, size %u count %u "
					    "offset %llu",
					    what, extra, run->io.size, run->io.count,
					    (unsigned long long)run->io.data_offset);
			memcpy((uint8_t *)run + off, resp.arg + sizeof(struct kvm_run), n);
		} else if (extra) {
			return fail(EPROTO, "%s: %u unexpected bytes after the kvm_run", what,
				    extra);
		}
	} else if (resp.arg_len || resp.result >= 0) {
		return fail(EPROTO, "%s: %u bytes came back, not a kvm_run", what, resp.arg_len);
	}
	/*
	 * A failed run (-EINTR from immediate_exit, say) may not have
	 * completed a pending IN: its data goes again with the next run.
	 */
	if (resp.result >= 0) {
		v->in_pending = false;
		if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_IN) {
			if (!io_data_ok(run, &off, &n))
				return fail(EPROTO,
					    "%s: IN exit of size %u count %u at offset %llu", what,
					    run->io.size, run->io.count,
					    (unsigned long long)run->io.data_offset);
			v->in_pending = true;
			v->in_off = off;
			v->in_len = n;
		}
	}
	if (h->sync & HVK_SYNC_AFTER_RUN) {
		r = hvki_sync_vm(h, v->vm, HVK_SYNC_AFTER_RUN);
		if (r < 0)
			return r;
	}
	return hvki_ioctl_result(resp.result, what);
}

/*
 * KVM_RUN of one vCPU at a time, as the vCPU's mutex makes it on Linux: a
 * second thread's KVM_RUN of the same vCPU waits for the first to return
 * (h->lock is dropped while a run waits for its answer).
 */
static int run_serialised(struct hvk *h, struct hvk_fd *e, const char *what)
{
	struct hvk_vcpu *v = e->vcpu;
	int r;

	while (v->in_run)
		pthread_cond_wait(&h->run_cv, &h->lock);
	if (v->vm->closed)
		return fail(EBADF, "%s: the vCPU's VM was closed", what);
	v->in_run = true;
	r = do_run(h, e, what);
	v->in_run = false;
	pthread_cond_broadcast(&h->run_cv);
	return r;
}

int hvk_ioctl(struct hvk *h, int fd, unsigned long request, ...)
{
	char what[48];
	const char *name = hvk_ioctl_name(request);
	struct hvk_fd *e;
	unsigned long arg;
	int64_t res;
	va_list ap;
	int r;

	va_start(ap, request);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (name)
		snprintf(what, sizeof(what), "%s", name);
	else
		snprintf(what, sizeof(what), "ioctl 0x%lx", request);

	pthread_mutex_lock(&h->lock);
	e = hvki_fd_get(h, fd);
	if (!e)
		r = fail(EBADF, "%s: %d is not an open pseudo-fd", what, fd);
	else if (HV_IOC_TYPE(request) != KVMIO || request > UINT32_MAX)
		r = fail(ENOTTY, "%s: not a KVM request", what);
	else if (e->kind == FD_VCPU && e->vcpu->vm->closed)
		r = fail(EBADF, "%s: %d is a vCPU of a closed VM", what, fd);
	else if (e->kind == FD_VM && e->vm->closed)
		r = fail(EBADF, "%s: %d is a closed VM (its handle may name another VM now)", what,
			 fd);
	else if (e->kind == FD_VCPU && request == KVM_RUN)
		r = run_serialised(h, e, what);
	else if (e->kind == FD_SYSTEM && request == KVM_CREATE_VM)
		r = do_create_vm(h, e, arg, what);
	else if (e->kind == FD_VM && request == KVM_CREATE_VCPU)
		r = do_create_vcpu(h, e, arg, what);
	else if (e->kind == FD_VM && request == KVM_SET_USER_MEMORY_REGION)
		r = do_set_region(h, e, arg, what);
	else if ((r = forward(h, e, request, arg, true, what, &res)) >= 0)
		r = hvki_ioctl_result(res, what);
	pthread_mutex_unlock(&h->lock);
	return ret_errno(r);
}
