/* SPDX-License-Identifier: MIT */
/*
 * hvdelta: a register set sent as the 8-byte words that changed since the
 * last copy both ends agree on (the "base"). Used by the compact KVM_RUN
 * form of abi/hvwire.h so that an exit that moves RIP and RAX costs a few
 * dozen bytes on the wire, not the whole struct kvm_run.
 *
 * Encoding of a set of len bytes (len a multiple of 8, at most
 * HVD_MAX_SET bytes), words numbered from 0 at the set's start:
 *
 *	ceil(len / 64) bytes   bitmap, bit i of byte i/8 = word i changed
 *	8 bytes per set bit    the new word, little-endian, in word order
 *
 * One C implementation for both ends (freestanding, no allocation).
 */
#ifndef ABI_HVDELTA_H
#define ABI_HVDELTA_H

#include <stddef.h>
#include <stdint.h>

#include "abi/kvm.h"

#define HVD_MAX_SET	    4096
#define HVD_BITMAP_LEN(len) (((len) / 8 + 7) / 8)
/* The most an encoding of a len-byte set can take. */
#define HVD_MAX_ENCODED(len) (HVD_BITMAP_LEN(len) + (len))

/*
 * Encode cur against base into out. Returns the bytes written, or
 * -HV_EINVAL (bad len) / -HV_E2BIG (cap too small).
 */
long hvd_encode(uint8_t *out, size_t cap, const void *base, const void *cur, size_t len);

/*
 * Apply an encoding at in[0, in_len) to set (len bytes, the base on entry,
 * the new value on return). Returns the bytes of in consumed, or -HV_EINVAL
 * for a bad len or an encoding cut short; set is then unchanged.
 */
long hvd_apply(void *set, size_t len, const uint8_t *in, size_t in_len);

/*
 * The register sets of kvm_run.s (struct hv_sync_regs), by their
 * KVM_SYNC_X86_* / HV_SYNC_X86_* bit. The *_sets calls walk the bits of a
 * mask in ascending order, one encoding per set, back to back.
 */
#define HVD_SETS_KNOWN                                                                             \
	(KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS | HV_SYNC_X86_DEBUGREGS |    \
	 HV_SYNC_X86_FPU | HV_SYNC_X86_MSRS)

/* Encode the sets of mask, cur_s against base_s (both struct hv_sync_regs). */
long hvd_encode_sets(uint8_t *out, size_t cap, uint64_t mask, const void *base_s,
		     const void *cur_s);
/*
 * Apply the encodings of mask's sets to s (struct hv_sync_regs): all of
 * them or, on -HV_EINVAL (a bit outside HVD_SETS_KNOWN, an encoding cut
 * short), none. Returns the bytes consumed.
 */
long hvd_apply_sets(void *s, uint64_t mask, const uint8_t *in, size_t in_len);
/* Copy the sets of mask (known bits) from src to dst (struct hv_sync_regs). */
void hvd_copy_sets(void *dst, const void *src, uint64_t mask);

#endif
