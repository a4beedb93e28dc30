/* SPDX-License-Identifier: MIT */
/*
 * The VM's MSR filter (KVM_X86_SET_MSR_FILTER), after Linux 6.1's
 * kvm_vm_ioctl_set_msr_filter, kvm_add_msr_filter and kvm_msr_allowed
 * (arch/x86/kvm/x86.c). Pure logic: the parser takes the marshalled record
 * of abi/kvm_ioctls.h and the lookup answers for one MSR access; the
 * callers decide what a denied access does.
 */
#ifndef VMX_MSR_FILTER_H
#define VMX_MSR_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/kvm.h"

/* One kept range (upstream's struct msr_bitmap_range). */
struct msr_filter_range {
	uint32_t flags; /* KVM_MSR_FILTER_READ and/or _WRITE */
	uint32_t base;
	uint32_t nmsrs;
	const uint8_t *bitmap; /* into the filter's own storage */
};

/*
 * Upstream's struct kvm_x86_msr_filter with the bitmaps inside. The range
 * bitmaps point into @bits of the same object: do not copy one by
 * assignment (parse again instead).
 */
struct msr_filter {
	bool default_allow;
	unsigned count; /* ranges kept (those with nmsrs != 0), in the caller's order */
	struct msr_filter_range ranges[KVM_MSR_FILTER_MAX_RANGES];
	/* bitmaps, packed one after another */
	uint8_t bits[KVM_MSR_FILTER_MAX_RANGES * KVM_MSR_FILTER_MAX_BITMAP_SIZE];
};

/*
 * Build @out from the marshalled KVM_X86_SET_MSR_FILTER record rec[0, len)
 * (abi/kvm_ioctls.h: the struct kvm_msr_filter, then the bitmaps). The
 * header is copied once and only the copy is used. Rules, in upstream's
 * order (kvm_vm_ioctl_set_msr_filter, kvm_add_msr_filter):
 *  - flags other than KVM_MSR_FILTER_DEFAULT_DENY: -HV_EINVAL;
 *  - every range's nmsrs 0 together with DEFAULT_DENY: -HV_EINVAL;
 *  - for each range in order: nmsrs 0 is skipped (not kept); flags with
 *    bits other than READ|WRITE, or flags 0: -HV_EINVAL; bitmap size
 *    (kvm_msr_filter_bitmap_len) 0 or over KVM_MSR_FILTER_MAX_BITMAP_SIZE:
 *    -HV_EINVAL;
 *  - @len other than kvm_msr_filter_wire_len(header), or too short for the
 *    header: -HV_EINVAL (upstream's copy_from_user EFAULT has no wire form).
 * 0 on success. On any error @out is left unchanged.
 */
int msr_filter_parse(struct msr_filter *out, const void *rec, size_t len);

/*
 * kvm_msr_allowed(): may the guest access @msr for @type
 * (KVM_MSR_FILTER_READ or KVM_MSR_FILTER_WRITE)? x2APIC MSRs 0x800-0x8ff
 * always; a NULL filter allows everything; otherwise the first range, in
 * order, that covers @msr and whose flags include @type decides by its bit,
 * and default_allow when none does.
 */
bool msr_filter_allowed(const struct msr_filter *f, uint32_t msr, uint32_t type);

/* ---- MSR allow-lists (HV_ADD_MSR_ALLOWLIST, abi/kvm_x86.h) ---- */

struct msr_allowlist_range {
	uint32_t flags; /* HV_MSR_ALLOW_READ and/or _WRITE */
	uint32_t base;
	uint32_t nmsrs;
	uint32_t off; /* of its bitmap in @bits */
};

struct msr_allowlist {
	unsigned count;
	uint32_t used; /* bytes of @bits taken */
	struct msr_allowlist_range ranges[HV_MSR_ALLOWLIST_MAX_RANGES];
	uint8_t bits[HV_MSR_ALLOWLIST_MAX_RANGES * HV_MSR_ALLOWLIST_MAX_BITMAP];
};

/*
 * HV_ADD_MSR_ALLOWLIST: the record rec[0, len) (header, bitmap inline)
 * added to @l with abi/kvm_x86.h's rules: 0, -HV_EINVAL or -HV_E2BIG; on
 * an error @l is unchanged.
 */
int msr_allowlist_add(struct msr_allowlist *l, const void *rec, size_t len);
/* HV_CLEAR_MSR_ALLOWLIST. */
void msr_allowlist_clear(struct msr_allowlist *l);

/*
 * The guest's access to @msr for @type (KVM_MSR_FILTER_READ or _WRITE,
 * the same bits as HV_MSR_ALLOW_*) as the filter and the allow-lists
 * together decide: both must allow it. A NULL or empty allow-list allows
 * everything; x2APIC MSRs are always allowed.
 */
bool msr_access_allowed(const struct msr_filter *f, const struct msr_allowlist *l, uint32_t msr,
			uint32_t type);

#endif
