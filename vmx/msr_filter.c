// SPDX-License-Identifier: MIT
/*
 * The VM's MSR filter: KVM_X86_SET_MSR_FILTER's record parsed into a
 * self-contained filter, and the per-access lookup, with Linux 6.1's rules
 * (arch/x86/kvm/x86.c: kvm_vm_ioctl_set_msr_filter, kvm_add_msr_filter,
 * kvm_msr_allowed). The record arrives marshalled (abi/kvm_ioctls.h): the
 * struct kvm_msr_filter, whose bitmap pointers are ignored, then each
 * range's bitmap in range order.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "abi/errno.h"
#include "abi/kvm_ioctls.h"
#include "vmx/msr_filter.h"

#define MSR_FILTER_RANGE_VALID_MASK (KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE)

/* x2APIC MSRs do not support filtering (kvm_msr_allowed). */
#define X2APIC_MSR_FIRST 0x800
#define X2APIC_MSR_LAST	 0x8ff

/*
 * kvm_add_msr_filter's checks of a range with nmsrs != 0. Upstream's size
 * is BITS_TO_LONGS(nmsrs) * sizeof(long); kvm_msr_filter_bitmap_len gives
 * the same and 0 for any nmsrs whose size would be over the limit, so "0"
 * stands for both of upstream's refusals.
 */
static int msr_filter_check_range(const struct kvm_msr_filter_range *r)
{
	size_t size;

	if (r->flags & ~MSR_FILTER_RANGE_VALID_MASK)
		return -HV_EINVAL;
	if (!r->flags)
		return -HV_EINVAL;
	size = kvm_msr_filter_bitmap_len(r->nmsrs);
	if (!size || size > KVM_MSR_FILTER_MAX_BITMAP_SIZE)
		return -HV_EINVAL;
	return 0;
}

/* kvm_vm_ioctl_set_msr_filter's checks, then kvm_add_msr_filter's per range. */
static int msr_filter_check(const struct kvm_msr_filter *h)
{
	bool empty = true;
	unsigned i;
	int r;

	if (h->flags & ~KVM_MSR_FILTER_DEFAULT_DENY)
		return -HV_EINVAL;
	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++)
		empty &= !h->ranges[i].nmsrs;
	if (empty && (h->flags & KVM_MSR_FILTER_DEFAULT_DENY))
		return -HV_EINVAL;
	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
		if (!h->ranges[i].nmsrs)
			continue; /* kvm_add_msr_filter: not kept */
		r = msr_filter_check_range(&h->ranges[i]);
		if (r)
			return r;
	}
	return 0;
}

/*
 * Fill @out from the checked header @h and the bitmaps at @bitmaps (as many
 * bytes as kvm_msr_filter_wire_len(h) leaves after the header). The wire
 * packs the kept ranges' bitmaps exactly as @out->bits does.
 */
static void msr_filter_fill(struct msr_filter *out, const struct kvm_msr_filter *h,
			    const uint8_t *bitmaps)
{
	size_t off = 0, n;
	unsigned i;

	memset(out, 0, sizeof(*out));
	out->default_allow = !(h->flags & KVM_MSR_FILTER_DEFAULT_DENY);
	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
		if (!h->ranges[i].nmsrs)
			continue;
		n = kvm_msr_filter_bitmap_len(h->ranges[i].nmsrs);
		memcpy(out->bits + off, bitmaps + off, n);
		out->ranges[out->count++] = (struct msr_filter_range){
		    .flags = h->ranges[i].flags,
		    .base = h->ranges[i].base,
		    .nmsrs = h->ranges[i].nmsrs,
		    .bitmap = out->bits + off,
		};
		off += n;
	}
}

int msr_filter_parse(struct msr_filter *out, const void *rec, size_t len)
{
	struct kvm_msr_filter h;
	int r;

	if (len < sizeof(h))
		return -HV_EINVAL;
	memcpy(&h, rec, sizeof(h)); /* read once: only the copy is used */
	r = msr_filter_check(&h);
	if (r)
		return r;
	if (len != kvm_msr_filter_wire_len(&h))
		return -HV_EINVAL;
	msr_filter_fill(out, &h, (const uint8_t *)rec + sizeof(h));
	return 0;
}

/* test_bit() on the byte array: bit @i of byte @i / 8 (little-endian longs). */
static bool msr_filter_bit(const uint8_t *bitmap, uint32_t i)
{
	return (bitmap[i / 8] >> (i % 8)) & 1;
}

bool msr_filter_allowed(const struct msr_filter *f, uint32_t msr, uint32_t type)
{
	unsigned i;

	if (msr >= X2APIC_MSR_FIRST && msr <= X2APIC_MSR_LAST)
		return true;
	if (!f)
		return true;
	for (i = 0; i < f->count; i++) {
		const struct msr_filter_range *r = &f->ranges[i];
		uint32_t start = r->base;
		/*
		 * kvm_msr_allowed's u32 arithmetic. When base + nmsrs passes
		 * 2^32, end wraps to at most start - 1 (0 when the range would
		 * end exactly at 2^32), so no index is both >= start and < end:
		 * such a range is kept but never decides (nor can any range
		 * cover MSR 0xffffffff). When it does match, msr - start <
		 * nmsrs, so the bit read is within the range's bitmap.
		 */
		uint32_t end = start + r->nmsrs;

		if (msr >= start && msr < end && (r->flags & type))
			return msr_filter_bit(r->bitmap, msr - start);
	}
	return f->default_allow;
}

/* ---- MSR allow-lists ---------------------------------------------------- */

_Static_assert(HV_MSR_ALLOW_READ == KVM_MSR_FILTER_READ &&
		   HV_MSR_ALLOW_WRITE == KVM_MSR_FILTER_WRITE,
	       "one access-type encoding for filter and allow-lists");

/* [base, base + nmsrs) and [b, b + n) share an MSR (both end at most at 2^32). */
static bool ranges_overlap(uint32_t base, uint32_t nmsrs, uint32_t b, uint32_t n)
{
	return (uint64_t)base < (uint64_t)b + n && (uint64_t)b < (uint64_t)base + nmsrs;
}

int msr_allowlist_add(struct msr_allowlist *l, const void *rec, size_t len)
{
	struct hv_msr_allowlist h;
	size_t bytes;

	if (len < sizeof(h))
		return -HV_EINVAL;
	memcpy(&h, rec, sizeof(h));
	if (!h.flags || (h.flags & ~(uint32_t)(HV_MSR_ALLOW_READ | HV_MSR_ALLOW_WRITE)) || h.pad ||
	    !h.nmsrs || (uint64_t)h.base + h.nmsrs > 0x100000000ull)
		return -HV_EINVAL;
	bytes = ((size_t)h.nmsrs + 7) / 8;
	if (bytes > HV_MSR_ALLOWLIST_MAX_BITMAP || l->count == HV_MSR_ALLOWLIST_MAX_RANGES)
		return -HV_E2BIG;
	if (len != sizeof(h) + bytes)
		return -HV_EINVAL;
	for (unsigned i = 0; i < l->count; i++)
		if (ranges_overlap(h.base, h.nmsrs, l->ranges[i].base, l->ranges[i].nmsrs))
			return -HV_EINVAL;
	memcpy(l->bits + l->used, (const uint8_t *)rec + sizeof(h), bytes);
	l->ranges[l->count++] = (struct msr_allowlist_range){
	    .flags = h.flags, .base = h.base, .nmsrs = h.nmsrs, .off = l->used};
	l->used += (uint32_t)bytes;
	return 0;
}

void msr_allowlist_clear(struct msr_allowlist *l)
{
	l->count = 0;
	l->used = 0;
}

static bool allowlist_allowed(const struct msr_allowlist *l, uint32_t msr, uint32_t type)
{
	if (!l || !l->count)
		return true;
	for (unsigned i = 0; i < l->count; i++) {
		const struct msr_allowlist_range *r = &l->ranges[i];

		if (msr >= r->base && msr - r->base < r->nmsrs)
			return (r->flags & type) && msr_filter_bit(l->bits + r->off, msr - r->base);
	}
	return false; /* no range covers it */
}

bool msr_access_allowed(const struct msr_filter *f, const struct msr_allowlist *l, uint32_t msr,
			uint32_t type)
{
	if (msr >= X2APIC_MSR_FIRST && msr <= X2APIC_MSR_LAST)
		return true;
	return msr_filter_allowed(f, msr, type) && allowlist_allowed(l, msr, type);
}
