// SPDX-License-Identifier: MIT
#include <string.h>

#include "abi/errno.h"
#include "hv/lib/log.h"
#include "hv/lib/mm.h"
#include "vmx/irqchip.h"
#include "vmx/msr.h"
#include "vmx/msr_filter.h"
#include "vmx/vm.h"
#include "hv/lib/x86.h"
#include "vmx/vcpu.h"

static int next_vm_id;

#define VM_PAGES ((sizeof(struct vm) + PAGE_SIZE - 1) / PAGE_SIZE)

int vm_create(const char *name, struct vm **out)
{
	uint64_t pa = pages_alloc_zeroed(VM_PAGES, 1);
	struct vm *vm;

	if (!pa)
		return -HV_ENOMEM;
	vm = phys_to_virt(pa);
	if (ept_init(&vm->ept) < 0) {
		pages_free(pa, VM_PAGES);
		return -HV_ENOMEM;
	}
	/*
	 * The root may be a page an old VM's EPT had as its root: the same
	 * EPTP, and its translations may still be cached. Start clean.
	 */
	ept_flush(&vm->ept);
	vm->id = next_vm_id++;
	vm->guest_can_read_platform_info = true; /* kvm_arch_init_vm */
	strncpy(vm->name, name, sizeof(vm->name) - 1);
	*out = vm;
	return 0;
}

/* Pages holding one 8-byte hash per page of a slot of @size bytes. */
static size_t hash_pages(uint64_t size)
{
	return (size / PAGE_SIZE * sizeof(uint64_t) + PAGE_SIZE - 1) / PAGE_SIZE;
}

/*
 * The slot's pages and hashes back to the allocator: only once no EPT
 * entry and no cached translation (ept_flush) reaches them.
 */
static void slot_free(struct memslot *s)
{
	pages_free(s->hpa, s->size / PAGE_SIZE);
	if (s->hashes)
		pages_free(virt_to_phys(s->hashes), hash_pages(s->size));
	memset(s, 0, sizeof(*s));
}

#define MSR_FILTER_PAGES ((sizeof(struct msr_filter) + PAGE_SIZE - 1) / PAGE_SIZE)

int vm_set_msr_filter(struct vm *vm, const void *rec, size_t len)
{
	uint64_t pa = pages_alloc_zeroed(MSR_FILTER_PAGES, 1);
	struct msr_filter *f;
	int rc;

	if (!pa)
		return -HV_ENOMEM;
	f = phys_to_virt(pa);
	rc = msr_filter_parse(f, rec, len);
	if (rc < 0) {
		pages_free(pa, MSR_FILTER_PAGES);
		return rc;
	}
	if (vm->msr_filter)
		pages_free(virt_to_phys(vm->msr_filter), MSR_FILTER_PAGES);
	vm->msr_filter = f;
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vcpu_msr_bitmap_update(vm->vcpus[i]);
	log_info("vm %s: MSR filter set: %u range(s), default %s", vm->name, f->count,
		 f->default_allow ? "allow" : "deny");
	return 0;
}

#define ALLOWLIST_PAGES ((sizeof(struct msr_allowlist) + PAGE_SIZE - 1) / PAGE_SIZE)

int vm_add_msr_allowlist(struct vm *vm, const void *rec, size_t len)
{
	int rc;

	if (!vm->msr_allowlist) {
		uint64_t pa = pages_alloc_zeroed(ALLOWLIST_PAGES, 1);

		if (!pa)
			return -HV_ENOMEM;
		vm->msr_allowlist = phys_to_virt(pa);
	}
	rc = msr_allowlist_add(vm->msr_allowlist, rec, len);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vcpu_msr_bitmap_update(vm->vcpus[i]);
	log_info("vm %s: MSR allow-list: %u range(s)", vm->name, vm->msr_allowlist->count);
	return 0;
}

void vm_clear_msr_allowlist(struct vm *vm)
{
	if (!vm->msr_allowlist)
		return;
	msr_allowlist_clear(vm->msr_allowlist);
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vcpu_msr_bitmap_update(vm->vcpus[i]);
	log_info("vm %s: MSR allow-lists cleared", vm->name);
}

void vm_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vcpu_destroy(vm->vcpus[i]);
	vm_destroy_irqchip(vm);
	if (vm->msr_filter)
		pages_free(virt_to_phys(vm->msr_filter), MSR_FILTER_PAGES);
	if (vm->msr_allowlist)
		pages_free(virt_to_phys(vm->msr_allowlist), ALLOWLIST_PAGES);
	/* No vCPU is left to use the EPT: drop what the CPU cached of it first. */
	ept_flush(&vm->ept);
	for (unsigned i = 0; i < VM_MAX_SLOTS; i++)
		if (vm->slots[i].used)
			slot_free(&vm->slots[i]);
	ept_destroy(&vm->ept);
	pages_free(virt_to_phys(vm), VM_PAGES);
}

static bool overlaps(const struct memslot *s, uint64_t gpa, uint64_t size)
{
	return s->used && gpa < s->gpa + s->size && s->gpa < gpa + size;
}

static uint64_t slot_prot(uint32_t flags)
{
	return flags & KVM_MEM_READONLY ? EPT_R | EPT_X : EPT_RWX;
}

/* Linux's limit on one user slot (KVM_MEM_MAX_NR_PAGES), in pages. */
#define SLOT_MAX_PAGES ((1ull << 31) - 1)

enum slot_change { SLOT_CREATE, SLOT_MOVE, SLOT_FLAGS };

/* KVM_MR_CREATE: new zeroed pages mapped at r->guest_phys_addr; on failure nothing changed. */
static int slot_create(struct vm *vm, struct memslot *s,
		       const struct kvm_userspace_memory_region *r)
{
	uint64_t npages = r->memory_size / PAGE_SIZE, hpa = 0, hashes;
	int rc;

	/* 2 MiB-aligned backing lets the EPT use 2 MiB pages. */
	if (npages >= 512)
		hpa = pages_alloc_zeroed(npages, 512);
	if (!hpa)
		hpa = pages_alloc_zeroed(npages, 1);
	if (!hpa)
		return -HV_ENOMEM;
	/* Zeroed: every page starts all zero on both sides. */
	hashes = pages_alloc_zeroed(hash_pages(r->memory_size), 1);
	if (!hashes) {
		pages_free(hpa, npages);
		return -HV_ENOMEM;
	}
	rc = ept_map(&vm->ept, r->guest_phys_addr, hpa, r->memory_size, slot_prot(r->flags));
	if (rc < 0) {
		/* ept_map left nothing mapped; tables it made go, then the pages. */
		ept_prune(&vm->ept, r->guest_phys_addr, r->memory_size);
		ept_flush(&vm->ept);
		pages_free(hashes, hash_pages(r->memory_size));
		pages_free(hpa, npages);
		return rc;
	}
	ept_flush(&vm->ept);
	*s = (struct memslot){
	    .used = true,
	    .flags = r->flags,
	    .gpa = r->guest_phys_addr,
	    .size = r->memory_size,
	    .hpa = hpa,
	    .user_addr = r->userspace_addr,
	    .hashes = phys_to_virt(hashes),
	};
	return 0;
}

/* KVM_MR_DELETE: unmapped and flushed before its pages are freed. */
static int slot_delete(struct vm *vm, struct memslot *s)
{
	int rc = ept_unmap(&vm->ept, s->gpa, s->size);

	if (rc < 0)
		return rc; /* nothing was removed (cannot happen for a whole slot) */
	ept_prune(&vm->ept, s->gpa, s->size);
	ept_flush(&vm->ept);
	slot_free(s);
	return 0;
}

/*
 * KVM_MR_MOVE (the new range may overlap the old one): unmap, map at the
 * new place; if that fails, map the old place again, which needs no new
 * table (none was pruned yet), so the slot is exactly as it was.
 */
static int slot_move(struct vm *vm, struct memslot *s, uint64_t gpa, uint32_t flags)
{
	uint64_t old = s->gpa;
	int rc = ept_unmap(&vm->ept, old, s->size);

	if (rc < 0)
		return rc;
	rc = ept_map(&vm->ept, gpa, s->hpa, s->size, slot_prot(flags));
	if (rc < 0) {
		int back = ept_map(&vm->ept, old, s->hpa, s->size, slot_prot(s->flags));

		if (back < 0)
			log_err("vm %s: slot at 0x%llx cannot be mapped back (%d): unreachable "
				"for the guest",
				vm->name, (unsigned long long)old, back);
		ept_prune(&vm->ept, gpa, s->size);
		ept_flush(&vm->ept);
		return rc;
	}
	ept_prune(&vm->ept, old, s->size);
	ept_flush(&vm->ept);
	s->gpa = gpa;
	s->flags = flags;
	return 0;
}

/*
 * The checks and their order are __kvm_set_memory_region's (Linux 6.1),
 * with check_memory_region_flags() first and the address reach of
 * kvm_arch_prepare_memory_region() (last gfn <= kvm_mmu_max_gfn()) after
 * the overlap check.
 */
int vm_set_memory_region(struct vm *vm, const struct kvm_userspace_memory_region *req)
{
	/* Copy once: the request may come from an untrusted controller. */
	struct kvm_userspace_memory_region r = *req;
	const uint32_t valid_flags = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY;
	uint64_t gpa = r.guest_phys_addr, size = r.memory_size;
	enum slot_change change;
	struct memslot *s;
	int rc;

	if (r.flags & ~valid_flags)
		return -HV_EINVAL;
	if ((size | gpa | r.userspace_addr) & ~PAGE_MASK ||
	    r.userspace_addr + size < r.userspace_addr)
		return -HV_EINVAL;
	if (r.slot >= VM_MAX_SLOTS) /* also any address space but 0 (slot >> 16) */
		return -HV_EINVAL;
	if (gpa + size < gpa || size / PAGE_SIZE > SLOT_MAX_PAGES)
		return -HV_EINVAL;
	s = &vm->slots[r.slot];
	if (!size) {
		if (!s->used)
			return -HV_EINVAL; /* no such slot, as Linux */
		log_debug("vm %s: slot %u at 0x%llx deleted", vm->name, r.slot,
			  (unsigned long long)s->gpa);
		vm_apic_access_release(vm);
		return slot_delete(vm, s);
	}
	if (!s->used) {
		change = SLOT_CREATE;
	} else {
		/* Only the place or KVM_MEM_LOG_DIRTY_PAGES may change. */
		if (r.userspace_addr != s->user_addr || size != s->size ||
		    ((r.flags ^ s->flags) & KVM_MEM_READONLY))
			return -HV_EINVAL;
		if (gpa != s->gpa)
			change = SLOT_MOVE;
		else if (r.flags != s->flags)
			change = SLOT_FLAGS;
		else
			return 0;
	}
	if (change != SLOT_FLAGS) {
		for (unsigned i = 0; i < VM_MAX_SLOTS; i++)
			if (i != r.slot && overlaps(&vm->slots[i], gpa, size))
				return -HV_EEXIST;
		/* What the EPT cannot reach would alias a lower address. */
		if (gpa + size > vm->ept.gpa_limit)
			return -HV_EINVAL;
	}
	/* The APIC-access page yields to memory; the next entry looks again. */
	vm_apic_access_release(vm);
	switch (change) {
	case SLOT_CREATE:
		rc = slot_create(vm, s, &r);
		break;
	case SLOT_MOVE:
		rc = slot_move(vm, s, gpa, r.flags);
		break;
	default:
		s->flags = r.flags; /* dirty logging: the EPT permissions stay */
		rc = 0;
		break;
	}
	if (rc < 0)
		return rc;
	log_debug("vm %s: slot %u gpa 0x%llx size 0x%llx at 0x%llx%s", vm->name, r.slot,
		  (unsigned long long)s->gpa, (unsigned long long)s->size,
		  (unsigned long long)s->hpa, s->flags & KVM_MEM_READONLY ? " read-only" : "");
	return 0;
}

void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < VM_MAX_SLOTS; i++) {
		struct memslot *s = &vm->slots[i];

		if (s->used && gpa >= s->gpa && len <= s->size && gpa - s->gpa <= s->size - len)
			return phys_to_virt(s->hpa + (gpa - s->gpa));
	}
	return NULL;
}

struct memslot *vm_gpa_slot(struct vm *vm, uint64_t gpa, uint64_t *index)
{
	for (unsigned i = 0; i < VM_MAX_SLOTS; i++) {
		struct memslot *s = &vm->slots[i];

		if (s->used && gpa >= s->gpa && gpa - s->gpa < s->size) {
			*index = (gpa - s->gpa) / PAGE_SIZE;
			return s;
		}
	}
	return NULL;
}

/*
 * Multiply-xorshift over 8-byte words, keyed once per boot from the TSC so
 * that a guest cannot pick page contents that collide with a hash it saw.
 */
uint64_t vm_page_hash(const void *page)
{
	static uint64_t key;
	const uint64_t *w = page;
	uint64_t h, any = 0;

	if (!key)
		key = (rdtsc() * 0x9e3779b97f4a7c15ull) | 1;
	h = key;
	for (unsigned i = 0; i < PAGE_SIZE / sizeof(uint64_t); i++) {
		any |= w[i];
		h = (h ^ w[i]) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	if (!any)
		return 0;
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 32;
	return h ? h : 1;
}

/*
 * Every byte of [gpa, gpa + len) lies in some slot (adjacent slots may
 * share a range); len 0 always does. A wrapping range never does.
 */
static bool range_backed(struct vm *vm, uint64_t gpa, uint64_t len)
{
	uint64_t end = gpa + len, index;

	if (end < gpa)
		return false;
	while (gpa < end) {
		struct memslot *s = vm_gpa_slot(vm, gpa, &index);

		if (!s)
			return false;
		gpa = s->gpa + s->size;
	}
	return true;
}

/* Checked whole first, then copied page by page: a failure changes nothing. */
static int copy_gpa(struct vm *vm, uint64_t gpa, void *buf, uint64_t len, bool write)
{
	uint8_t *p = buf;

	if (!range_backed(vm, gpa, len))
		return -HV_EFAULT;
	while (len) {
		uint64_t chunk = PAGE_SIZE - (gpa & (PAGE_SIZE - 1));
		void *hva;

		if (chunk > len)
			chunk = len;
		hva = vm_gpa_to_hva(vm, gpa, chunk);
		if (!hva)
			return -HV_EFAULT; /* range_backed() said otherwise */
		if (write)
			memcpy(hva, p, chunk);
		else
			memcpy(p, hva, chunk);
		gpa += chunk;
		p += chunk;
		len -= chunk;
	}
	return 0;
}

int vm_read_gpa(struct vm *vm, uint64_t gpa, void *buf, uint64_t len)
{
	return copy_gpa(vm, gpa, buf, len, false);
}

int vm_write_gpa(struct vm *vm, uint64_t gpa, const void *buf, uint64_t len)
{
	return copy_gpa(vm, gpa, (void *)buf, len, true);
}

uint64_t vm_memory_bytes(const struct vm *vm)
{
	uint64_t bytes = 0;

	for (unsigned i = 0; i < VM_MAX_SLOTS; i++)
		if (vm->slots[i].used)
			bytes += vm->slots[i].size;
	return bytes;
}

void vm_print_stats(const struct vm *vm)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		const struct vcpu *v = vm->vcpus[i];
		uint64_t vcpu_total = 0;

		for (unsigned r = 0; r < EXIT_REASON_MAX; r++) {
			if (!v->exit_counts[r])
				continue;
			vcpu_total += v->exit_counts[r];
			log_info("vm %s vcpu %d: exits %-24s %llu", vm->name, v->id,
				 vmx_exit_reason_name(r), (unsigned long long)v->exit_counts[r]);
		}
		log_info("vm %s vcpu %d: exits total %llu", vm->name, v->id,
			 (unsigned long long)vcpu_total);
		total += vcpu_total;
	}
	log_info("vm %s: exits total %llu over %u vCPU(s)", vm->name, (unsigned long long)total,
		 vm->n_vcpus);
}
