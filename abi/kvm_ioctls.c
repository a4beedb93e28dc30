// SPDX-License-Identifier: MIT
/*
 * The list of abi/kvm_ioctls.h as a table, and the record lengths it
 * implies. Built into the hypervisor and into the host tools alike.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "abi/kvm_ioctls.h"

const struct kvm_ioctl_desc kvm_ioctls[] = {
    KVM_IOCTL_LIST(KVM_IOCTL_DESC_INT, KVM_IOCTL_DESC_REC, KVM_IOCTL_DESC_ARR)
	HV_IOCTL_LIST(KVM_IOCTL_DESC_INT, KVM_IOCTL_DESC_REC, KVM_IOCTL_DESC_ARR)};

const size_t kvm_ioctls_count = sizeof(kvm_ioctls) / sizeof(kvm_ioctls[0]);

const struct kvm_ioctl_desc *kvm_ioctl_find(unsigned long nr)
{
	for (size_t i = 0; i < kvm_ioctls_count; i++)
		if (kvm_ioctls[i].nr == nr)
			return &kvm_ioctls[i];
	return NULL;
}

const char *kvm_ioctl_name(unsigned long nr)
{
	const struct kvm_ioctl_desc *d = kvm_ioctl_find(nr);

	return d ? d->name : NULL;
}

/* The count of @d's header at @rec, whatever its width. */
static uint64_t read_count(const struct kvm_ioctl_desc *d, const uint8_t *rec)
{
	const uint8_t *p = rec + d->count_off;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	switch (d->count_width) {
	case 1:
		memcpy(&u8, p, sizeof(u8));
		return u8;
	case 2:
		memcpy(&u16, p, sizeof(u16));
		return u16;
	case 4:
		memcpy(&u32, p, sizeof(u32));
		return u32;
	default:
		memcpy(&u64, p, sizeof(u64));
		return u64;
	}
}

size_t kvm_ioctl_counted_len(const struct kvm_ioctl_desc *d, const void *rec, size_t avail)
{
	uint64_t n;

	if (avail < d->size || d->count_off + d->count_width > d->size)
		return d->size;
	n = read_count(d, rec);
	if (d->entry_size && n > (SIZE_MAX - d->size) / d->entry_size)
		return SIZE_MAX;
	return d->size + (size_t)n * d->entry_size;
}

size_t kvm_ioctl_record_len(unsigned long nr, const void *rec, size_t avail)
{
	const struct kvm_ioctl_desc *d = kvm_ioctl_find(nr);
	struct kvm_msr_filter f;

	if (d && d->shape == HV_SHAPE_COUNTED)
		return kvm_ioctl_counted_len(d, rec, avail);
	if (nr == KVM_X86_SET_MSR_FILTER && avail >= sizeof(f)) {
		memcpy(&f, rec, sizeof(f));
		return kvm_msr_filter_wire_len(&f);
	}
	if (nr == HV_ADD_MSR_ALLOWLIST && avail >= sizeof(struct hv_msr_allowlist)) {
		struct hv_msr_allowlist a;

		memcpy(&a, rec, sizeof(a));
		return hv_msr_allowlist_len(&a);
	}
	return HV_IOC_SIZE(nr);
}

size_t kvm_msr_filter_bitmap_len(uint32_t nmsrs)
{
	if (!nmsrs || nmsrs > KVM_MSR_FILTER_MAX_BITMAP_SIZE * 8)
		return 0;
	return ((size_t)nmsrs + 63) / 64 * 8;
}

size_t kvm_msr_filter_wire_len(const struct kvm_msr_filter *f)
{
	size_t len = sizeof(*f);

	for (unsigned i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++)
		len += kvm_msr_filter_bitmap_len(f->ranges[i].nmsrs);
	return len;
}

size_t hv_msr_allowlist_len(const struct hv_msr_allowlist *a)
{
	return sizeof(*a) + ((size_t)a->nmsrs + 7) / 8;
}
