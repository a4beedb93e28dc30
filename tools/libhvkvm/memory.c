// SPDX-License-Identifier: MIT
/*
 * libhvkvm: guest memory. MEM_WRITE/MEM_READ chunks, the slots' local
 * copies kept coherent with the hypervisor's (push, pull, MEM_CHANGED),
 * hvk_sync(), hvk_pull() and hvk_mem_*().
 */
#include "tools/libhvkvm/internal.h"

/* ---- Requests ---- */

/* MEM_WRITE of @len bytes (at most CHUNK) at @gpa. */
static int mem_write_chunk(struct hvk *h, uint32_t vm, uint64_t gpa, const void *buf, uint32_t len,
			   uint32_t flags, bool unlocked)
{
	struct hvw_mem_write w = {.vm = vm, .gpa = gpa, .data = buf, .len = len, .flags = flags};
	uint32_t seq = hvki_next_seq(h);
	struct hvw_ioctl_resp resp;
	struct hvw_frame f;
	char what[64];
	size_t n;
	long k;
	int r;

	/* Packed when the hypervisor takes it and it comes out shorter. */
	if (h->hello.caps & HVW_CAP_PACKED) {
		k = hvp_pack(h->packed, sizeof(h->packed), buf, len, &h->pack_ws);
		if (k > 0 && k < (long)len) {
			h->st.packed_frames++;
			h->st.packed_saved += (int64_t)len - k;
			w.data = h->packed;
			w.len = (uint32_t)k;
			w.flags |= HVW_MEM_WRITE_PACKED;
		}
	}
	n = hvw_encode_mem_write(h->tx, sizeof(h->tx), seq, &w);

	snprintf(what, sizeof(what), "MEM_WRITE gpa 0x%llx+0x%x", (unsigned long long)gpa, len);
	r = hvki_transact(h, n, seq, HVW_IOCTL_RESP, h->timeout_ms, unlocked, &f, what);
	if (r < 0)
		return r;
	if (hvw_parse_ioctl_resp(f.payload, f.len, &resp) < 0)
		return fail(EPROTO, "%s: malformed answer", what);
	if (resp.result < 0)
		return fail((int)-resp.result, "%s: %s (%s)", what,
			    hvk_errno_name((int)-resp.result), strerror((int)-resp.result));
	return 0;
}

/*
 * MEM_READ of @len bytes (at most CHUNK) at @gpa; the bytes are in
 * *@out (in the decoder) until the next request.
 */
static int mem_read_chunk(struct hvk *h, uint32_t vm, uint64_t gpa, uint32_t len, bool unlocked,
			  const uint8_t **out)
{
	struct hvw_mem_read_req rq = {.vm = vm, .len = len, .gpa = gpa};
	uint32_t seq = hvki_next_seq(h);
	size_t n = hvw_encode_mem_read_req(h->tx, sizeof(h->tx), seq, &rq);
	struct hvw_frame f;
	char what[64];
	int r;

	snprintf(what, sizeof(what), "MEM_READ gpa 0x%llx+0x%x", (unsigned long long)gpa, len);
	r = hvki_transact(h, n, seq, HVW_MEM_READ_RESP, h->timeout_ms, unlocked, &f, what);
	if (r < 0)
		return r;
	if (f.len != len)
		return fail(EPROTO, "%s: %u bytes came back", what, f.len);
	*out = f.payload;
	return 0;
}

/* ---- Guest memory coherence ---- */

static bool page_differs(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, PAGE_SIZE) != 0;
}

/* Send every page of @s that differs from its shadow. */
static int push_slot(struct hvk *h, struct hvk_vm *vm, struct hvk_slot *s)
{
	uint64_t npages = s->size / PAGE_SIZE;
	uint64_t i = 0, j;
	int r;

	while (i < npages) {
		uint64_t off = i * PAGE_SIZE;
		uint32_t len;

		if (!page_differs(s->mem + off, s->shadow + off)) {
			i++;
			continue;
		}
		for (j = i + 1; j < npages && j - i < CHUNK_PAGES; j++)
			if (!page_differs(s->mem + j * PAGE_SIZE, s->shadow + j * PAGE_SIZE))
				break;
		len = (uint32_t)((j - i) * PAGE_SIZE);
		/* One read of the program's memory: sent and remembered alike. */
		memcpy(h->scratch, s->mem + off, len);
		/* Tracked: the hypervisor now knows what our shadow holds. */
		r = mem_write_chunk(h, vm->handle, s->gpa + off, h->scratch, len,
				    h->hello.caps & HVW_CAP_MEM_CHANGED ? HVW_MEM_WRITE_TRACK : 0,
				    false);
		if (r < 0)
			return r;
		memcpy(s->shadow + off, h->scratch, len);
		h->st.push_frames++;
		h->st.pages_pushed += j - i;
		i = j;
	}
	return 0;
}

static void apply_page(struct hvk *h, uint8_t *mem, uint8_t *sh, const uint8_t *src);

/* Read back pages [first, end) of @s into local memory and shadow. */
static int pull_slot(struct hvk *h, struct hvk_vm *vm, struct hvk_slot *s, uint64_t first,
		     uint64_t end)
{
	const uint8_t *p;
	int r;

	for (uint64_t i = first; i < end;) {
		uint64_t n = end - i < CHUNK_PAGES ? end - i : CHUNK_PAGES;
		uint64_t off = i * PAGE_SIZE;

		r = mem_read_chunk(h, vm->handle, s->gpa + off, (uint32_t)(n * PAGE_SIZE), false,
				   &p);
		if (r < 0)
			return r;
		h->st.pull_frames++;
		h->st.pages_pulled += n;
		/* Write only what changed: untouched zero pages stay unbacked. */
		for (uint64_t k = 0; k < n; k++)
			apply_page(h, s->mem + off + k * PAGE_SIZE, s->shadow + off + k * PAGE_SIZE,
				   p + k * PAGE_SIZE);
		i += n;
	}
	return 0;
}

/* One page from the hypervisor into local memory and shadow, where they differ. */
static void apply_page(struct hvk *h, uint8_t *mem, uint8_t *sh, const uint8_t *src)
{
	if (page_differs(mem, src)) {
		memcpy(mem, src, PAGE_SIZE);
		h->st.pages_pulled_changed++;
	}
	if (page_differs(sh, src))
		memcpy(sh, src, PAGE_SIZE);
}

/*
 * MEM_CHANGED over pages [first, end) of @s: only the pages whose contents
 * differ from what the hypervisor knows we hold come back (zero pages as
 * a flag), in as many answers as they need.
 */
static int changed_slot(struct hvk *h, struct hvk_vm *vm, struct hvk_slot *s, uint64_t first,
			uint64_t end)
{
	uint64_t gpa = s->gpa + first * PAGE_SIZE, stop = s->gpa + end * PAGE_SIZE;
	struct hvw_mem_changed_resp resp;
	struct hvw_page pg;
	struct hvw_frame f;
	char what[80];
	int r;

	while (gpa < stop) {
		struct hvw_mem_changed_req rq = {
		    .vm = vm->handle,
		    .flags = h->hello.caps & HVW_CAP_PACKED ? HVW_MEM_CHANGED_PACKED : 0,
		    .gpa = gpa,
		    .len = stop - gpa};
		uint32_t seq = hvki_next_seq(h), off = 0;
		size_t n = hvw_encode_mem_changed_req(h->tx, sizeof(h->tx), seq, &rq);

		snprintf(what, sizeof(what), "MEM_CHANGED gpa 0x%llx+0x%llx",
			 (unsigned long long)gpa, (unsigned long long)(stop - gpa));
		r = hvki_transact(h, n, seq, HVW_MEM_CHANGED_RESP, h->timeout_ms, false, &f, what);
		if (r < 0)
			return r;
		if (hvw_parse_mem_changed_resp(f.payload, f.len, &resp) < 0)
			return fail(EPROTO, "%s: malformed answer", what);
		if (resp.next <= gpa || resp.next > stop)
			return fail(EPROTO, "%s: the answer stops at 0x%llx", what,
				    (unsigned long long)resp.next);
		h->st.changed_frames++;
		while ((r = hvw_mem_changed_entry(&resp, &off, &pg)) == 1) {
			uint64_t o;

			if (pg.gpa < gpa) /* the parser saw them ascending, below next */
				return fail(EPROTO, "%s: page 0x%llx outside the range", what,
					    (unsigned long long)pg.gpa);
			o = pg.gpa - s->gpa;
			if (hvw_page_bytes(&pg, h->page) < 0)
				return fail(EPROTO, "%s: page 0x%llx does not unpack", what,
					    (unsigned long long)pg.gpa);
			apply_page(h, s->mem + o, s->shadow + o, h->page);
			h->st.pages_changed++;
			if (pg.flags & HVW_PAGE_ZERO)
				h->st.zero_pages_changed++;
			if (pg.flags & HVW_PAGE_PACKED) {
				h->st.packed_frames++;
				h->st.packed_saved += (int64_t)HVW_PAGE_SIZE - pg.len;
			}
		}
		if (r < 0)
			return fail(EPROTO, "%s: malformed answer", what);
		gpa = resp.next;
	}
	return 0;
}

/* Read back pages [first, end) of @s: only the changed ones if the hypervisor can say. */
static int fetch_slot(struct hvk *h, struct hvk_vm *vm, struct hvk_slot *s, uint64_t first,
		      uint64_t end)
{
	if ((h->hello.caps & HVW_CAP_MEM_CHANGED) && !(h->sync & HVK_SYNC_FULL_PULL))
		return changed_slot(h, vm, s, first, end);
	return pull_slot(h, vm, s, first, end);
}

int hvki_sync_vm(struct hvk *h, struct hvk_vm *vm, unsigned int dirs)
{
	int r;

	if ((dirs & (HVK_SYNC_BEFORE_RUN | HVK_SYNC_AFTER_RUN)) &&
	    !(h->hello.caps & HVW_CAP_MEMORY))
		for (int i = 0; i < MAX_SLOTS; i++)
			if (vm->slots[i].used)
				return fail(
				    EOPNOTSUPP,
				    "memory sync: the hypervisor has no MEM_WRITE/MEM_READ");
	for (int i = 0; i < MAX_SLOTS; i++) {
		struct hvk_slot *s = &vm->slots[i];

		if (!s->used)
			continue;
		if (dirs & HVK_SYNC_BEFORE_RUN) {
			r = push_slot(h, vm, s);
			if (r < 0)
				return r;
		}
		/* The guest cannot write a read-only slot. */
		if ((dirs & HVK_SYNC_AFTER_RUN) && !(s->flags & KVM_MEM_READONLY)) {
			r = fetch_slot(h, vm, s, 0, s->size / PAGE_SIZE);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static struct hvk_vm *fd_vm(const struct hvk_fd *e)
{
	if (!e)
		return NULL;
	if (e->kind == FD_VM)
		return e->vm;
	if (e->kind == FD_VCPU && !e->vcpu->vm->closed)
		return e->vcpu->vm;
	return NULL;
}

int hvk_sync(struct hvk *h, int fd, unsigned int dirs)
{
	struct hvk_vm *vm;
	int r;

	pthread_mutex_lock(&h->lock);
	vm = fd_vm(hvki_fd_get(h, fd));
	if (!vm)
		r = fail(EBADF, "sync: %d is not a VM or vCPU pseudo-fd", fd);
	else
		r = hvki_sync_vm(h, vm, dirs);
	pthread_mutex_unlock(&h->lock);
	return ret_errno(r);
}

int hvk_pull(struct hvk *h, int fd, uint64_t gpa, uint64_t len)
{
	struct hvk_vm *vm;
	uint64_t end = gpa + len;
	int r = 0;

	pthread_mutex_lock(&h->lock);
	vm = fd_vm(hvki_fd_get(h, fd));
	if (!vm)
		r = fail(EBADF, "pull: %d is not a VM or vCPU pseudo-fd", fd);
	else if (end < gpa)
		r = fail(EINVAL, "pull: the range wraps");
	for (int i = 0; vm && !r && len && i < MAX_SLOTS; i++) {
		struct hvk_slot *s = &vm->slots[i];
		uint64_t lo, hi;

		if (!s->used || gpa >= s->gpa + s->size || end <= s->gpa)
			continue;
		lo = gpa > s->gpa ? gpa - s->gpa : 0;
		hi = end - s->gpa < s->size ? end - s->gpa : s->size;
		r = fetch_slot(h, vm, s, lo / PAGE_SIZE, (hi + PAGE_SIZE - 1) / PAGE_SIZE);
	}
	pthread_mutex_unlock(&h->lock);
	return ret_errno(r);
}

/* hvk_mem_*: no library state; the lock is dropped while each chunk waits. */
static int raw_mem(struct hvk *h, int vm_fd, uint64_t gpa, void *buf, size_t len, bool write)
{
	struct hvk_fd *e;
	const uint8_t *p;
	uint32_t handle = 0;
	int r = 0;

	pthread_mutex_lock(&h->lock);
	e = hvki_fd_get(h, vm_fd);
	if (!e || e->kind != FD_VM)
		r = fail(EBADF, "%s: %d is not a VM pseudo-fd", write ? "MEM_WRITE" : "MEM_READ",
			 vm_fd);
	else if (gpa + len < gpa)
		r = fail(EINVAL, "%s: the range wraps", write ? "MEM_WRITE" : "MEM_READ");
	else
		handle = e->vm->handle;
	while (!r && len) {
		uint32_t n = len < CHUNK ? (uint32_t)len : CHUNK;

		if (write) {
			r = mem_write_chunk(h, handle, gpa, buf, n, 0, true);
		} else {
			r = mem_read_chunk(h, handle, gpa, n, true, &p);
			if (!r)
				memcpy(buf, p, n);
		}
		buf = (uint8_t *)buf + n;
		gpa += n;
		len -= n;
	}
	pthread_mutex_unlock(&h->lock);
	return ret_errno(r);
}

int hvk_mem_write(struct hvk *h, int vm_fd, uint64_t gpa, const void *buf, size_t len)
{
	return raw_mem(h, vm_fd, gpa, (void *)buf, len, true);
}

int hvk_mem_read(struct hvk *h, int vm_fd, uint64_t gpa, void *buf, size_t len)
{
	return raw_mem(h, vm_fd, gpa, buf, len, false);
}
