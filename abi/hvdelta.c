// SPDX-License-Identifier: MIT
#include <stddef.h>
#include <string.h>

#include "abi/hvdelta.h"
#include "abi/errno.h"

static int bad_len(size_t len)
{
	return len == 0 || len % 8 || len > HVD_MAX_SET;
}

long hvd_encode(uint8_t *out, size_t cap, const void *base, const void *cur, size_t len)
{
	const uint8_t *b = base, *c = cur;
	size_t bm = HVD_BITMAP_LEN(len), n;

	if (bad_len(len))
		return -HV_EINVAL;
	if (cap < bm)
		return -HV_E2BIG;
	memset(out, 0, bm);
	n = bm;
	for (size_t w = 0; w < len / 8; w++) {
		if (!memcmp(b + 8 * w, c + 8 * w, 8))
			continue;
		if (cap - n < 8)
			return -HV_E2BIG;
		out[w / 8] |= (uint8_t)(1u << (w % 8));
		memcpy(out + n, c + 8 * w, 8);
		n += 8;
	}
	return (long)n;
}

long hvd_apply(void *set, size_t len, const uint8_t *in, size_t in_len)
{
	uint8_t *s = set;
	size_t bm = HVD_BITMAP_LEN(len), need;

	if (bad_len(len) || in_len < bm)
		return -HV_EINVAL;
	/* Bits past the last word must be clear; then every word must be there. */
	if ((len / 8) % 8 && (in[bm - 1] >> ((len / 8) % 8)))
		return -HV_EINVAL;
	need = bm;
	for (size_t i = 0; i < bm; i++)
		need += 8 * (size_t)__builtin_popcount(in[i]);
	if (in_len < need)
		return -HV_EINVAL;
	need = bm;
	for (size_t w = 0; w < len / 8; w++) {
		if (!(in[w / 8] >> (w % 8) & 1))
			continue;
		memcpy(s + 8 * w, in + need, 8);
		need += 8;
	}
	return (long)need;
}

static const struct {
	uint64_t bit;
	size_t off, len;
} sets[] = {
    {KVM_SYNC_X86_REGS, offsetof(struct hv_sync_regs, kvm.regs), sizeof(struct kvm_regs)},
    {KVM_SYNC_X86_SREGS, offsetof(struct hv_sync_regs, kvm.sregs), sizeof(struct kvm_sregs)},
    {KVM_SYNC_X86_EVENTS, offsetof(struct hv_sync_regs, kvm.events),
     sizeof(struct kvm_vcpu_events)},
    {HV_SYNC_X86_DEBUGREGS, offsetof(struct hv_sync_regs, debugregs), sizeof(struct kvm_debugregs)},
    {HV_SYNC_X86_FPU, offsetof(struct hv_sync_regs, fpu), sizeof(struct kvm_fpu)},
    {HV_SYNC_X86_MSRS, offsetof(struct hv_sync_regs, msrs), sizeof(struct hv_sync_msrs)},
};

long hvd_encode_sets(uint8_t *out, size_t cap, uint64_t mask, const void *base_s, const void *cur_s)
{
	size_t n = 0;

	if (mask & ~(uint64_t)HVD_SETS_KNOWN)
		return -HV_EINVAL;
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		long k;

		if (!(mask & sets[i].bit))
			continue;
		k = hvd_encode(out + n, cap - n, (const uint8_t *)base_s + sets[i].off,
			       (const uint8_t *)cur_s + sets[i].off, sets[i].len);
		if (k < 0)
			return k;
		n += (size_t)k;
	}
	return (long)n;
}

long hvd_apply_sets(void *s, uint64_t mask, const uint8_t *in, size_t in_len)
{
	struct hv_sync_regs copy;
	size_t n = 0;

	if (mask & ~(uint64_t)HVD_SETS_KNOWN)
		return -HV_EINVAL;
	memcpy(&copy, s, sizeof(copy));
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		long k;

		if (!(mask & sets[i].bit))
			continue;
		k = hvd_apply((uint8_t *)&copy + sets[i].off, sets[i].len, in + n, in_len - n);
		if (k < 0)
			return k;
		n += (size_t)k;
	}
	memcpy(s, &copy, sizeof(copy));
	return (long)n;
}

void hvd_copy_sets(void *dst, const void *src, uint64_t mask)
{
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		if (mask & sets[i].bit)
			memcpy((uint8_t *)dst + sets[i].off, (const uint8_t *)src + sets[i].off,
			       sets[i].len);
}
