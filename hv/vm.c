// SPDX-License-Identifier: MIT
#include <string.h>

#include "hv/errno.h"
#include "hv/log.h"
#include "hv/mm.h"
#include "hv/vm.h"
#include "hv/x86.h"
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
	vm->id = next_vm_id++;
	strncpy(vm->name, name, sizeof(vm->name) - 1);
	*out = vm;
	return 0;
}

/* Pages holding one 8-byte hash per page of a slot of @size bytes. */
static size_t hash_pages(uint64_t size)
{
	return (size / PAGE_SIZE * sizeof(uint64_t) + PAGE_SIZE - 1) / PAGE_SIZE;
}

static void slot_release(struct vm *vm, struct memslot *s)
{
	ept_unmap(&vm->ept, s->gpa, s->size);
	pages_free(s->hpa, s->size / PAGE_SIZE);
	if (s->hashes)
		pages_free(virt_to_phys(s->hashes), hash_pages(s->size));
	memset(s, 0, sizeof(*s));
}

void vm_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vcpu_destroy(vm->vcpus[i]);
	for (unsigned i = 0; i < VM_MAX_SLOTS; i++)
		if (vm->slots[i].used)
			slot_release(vm, &vm->slots[i]);
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

int vm_set_memory_region(struct vm *vm, const struct kvm_userspace_memory_region *req)
{
	/* Copy once: the request may come from an untrusted controller. */
	struct kvm_userspace_memory_region r = *req;
	struct memslot *s;
	uint64_t hpa;

	if (r.slot >= VM_MAX_SLOTS || (r.flags & ~(uint32_t)(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)) ||
	    (r.guest_phys_addr | r.memory_size) & ~PAGE_MASK ||
	    r.guest_phys_addr + r.memory_size < r.guest_phys_addr)
		return -HV_EINVAL;
	s = &vm->slots[r.slot];
	if (!r.memory_size) {
		if (s->used)
			slot_release(vm, s);
		return 0;
	}
	for (unsigned i = 0; i < VM_MAX_SLOTS; i++)
		if (i != r.slot && overlaps(&vm->slots[i], r.guest_phys_addr, r.memory_size))
			return -HV_EEXIST;
	if (s->used) {
		/* Only a move (same size) or a flags change is allowed, as in KVM. */
		if (s->size != r.memory_size)
			return -HV_EINVAL;
		ept_unmap(&vm->ept, s->gpa, s->size);
	} else {
		s->hpa = pages_alloc_zeroed(r.memory_size / PAGE_SIZE, 512);
		if (!s->hpa)
			s->hpa = pages_alloc_zeroed(r.memory_size / PAGE_SIZE, 1);
		if (!s->hpa)
			return -HV_ENOMEM;
		/* Zeroed: every page starts all zero on both sides. */
		hpa = pages_alloc_zeroed(hash_pages(r.memory_size), 1);
		if (!hpa) {
			pages_free(s->hpa, r.memory_size / PAGE_SIZE);
			s->hpa = 0;
			return -HV_ENOMEM;
		}
		s->hashes = phys_to_virt(hpa);
		s->used = true;
		s->size = r.memory_size;
	}
	s->gpa = r.guest_phys_addr;
	s->flags = r.flags;
	s->user_addr = r.userspace_addr;
	if (ept_map(&vm->ept, s->gpa, s->hpa, s->size, slot_prot(s->flags)) < 0) {
		slot_release(vm, s);
		return -HV_ENOMEM;
	}
	ept_flush(&vm->ept);
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

/* Page by page, so a range may span adjacent slots. */
static int copy_gpa(struct vm *vm, uint64_t gpa, void *buf, uint64_t len, bool write)
{
	uint8_t *p = buf;

	while (len) {
		uint64_t chunk = PAGE_SIZE - (gpa & (PAGE_SIZE - 1));
		void *hva;

		if (chunk > len)
			chunk = len;
		hva = vm_gpa_to_hva(vm, gpa, chunk);
		if (!hva)
			return -HV_EFAULT;
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
