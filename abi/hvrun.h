/* SPDX-License-Identifier: MIT */
/*
 * hvrun: the compact KVM_RUN of the channel. The plain form sends the
 * whole struct kvm_run (2352 bytes) each way; this one sends what the run
 * needs: the caller's few fields, the data completing a pending IN or MMIO
 * load, and the register sets of kvm_valid_regs / kvm_dirty_regs as the
 * 8-byte words that changed (abi/hvdelta.h) since the copy both ends hold.
 *
 * Both ends keep that copy per vCPU as a struct hv_sync_regs: the
 * hypervisor in its own kvm_run.s, the controller in a shadow next to its
 * local kvm_run. A set is in step once it has been sent either way; a
 * request with HVR_FRESH says the controller holds nothing (a new
 * connection, a new mapping): its dirty sets are encoded against zeroes,
 * and both ends take zeroes for every set not sent, so the copies are
 * equal again.
 *
 * Request (the ioctl argument, every integer little-endian):
 *	0   1  request_interrupt_window
 *	1   1  immediate_exit
 *	2   2  data_len: completion data that follows the header
 *	4   4  flags, HVR_FRESH, HVR_CR8; other bits must be 0
 *	8   8  kvm_valid_regs
 *	16  8  kvm_dirty_regs
 *	24  8  kvm_run.cr8, only with HVR_CR8 (without it, cr8 is 0)
 *	..  .. data_len bytes: an IN's data (placed at io.data_offset), an
 *	       MMIO load's (mmio.data) or the 24-byte kvm_run.msr answering a
 *	       KVM_EXIT_X86_RDMSR/WRMSR, for the exit the last run reported
 *	..  .. the sets of kvm_dirty_regs, and HV_SYNC_X86_MSRS when it is in
 *	       kvm_valid_regs (its entries name the MSRs to store), known bits
 *	       only, hvdelta-encoded
 *
 * Response (the ioctl answer's argument):
 *	0   4  exit_reason
 *	4   1  ready_for_interrupt_injection
 *	5   1  if_flag
 *	6   2  flags
 *	8   8  cr8
 *	16  8  apic_base
 *	24  2  union_len: bytes of the exit union sent (its trailing zero
 *	       bytes are not)
 *	26  2  data_len: an OUT's data (KVM_EXIT_IO, direction out)
 *	28  4  0
 *	32  8  kvm_valid_regs
 *	40  8  kvm_dirty_regs (0 once loaded)
 *	48  .. union_len bytes, data_len bytes, then the sets of
 *	       kvm_valid_regs (known bits only), hvdelta-encoded
 *
 * An exit that moves RIP and one register costs about 80 bytes of request
 * and 110 of answer with KVM_SYNC_X86_REGS, frames included.
 */
#ifndef ABI_HVRUN_H
#define ABI_HVRUN_H

#include <stddef.h>
#include <stdint.h>

#include "abi/kvm.h"

#define HVR_FRESH	 (1u << 0)
#define HVR_CR8		 (1u << 1) /* kvm_run.cr8 follows the header; absent: 0 */
#define HVR_REQ_HDR_LEN	 24
#define HVR_RESP_HDR_LEN 48
#define HVR_MAX_DATA	 4096 /* the port I/O data page */

/* ---- controller side ---- */

/*
 * Encode the request for a run with the caller's kvm_run @run (whose
 * PIO data, if any, is at run + io.data_offset inside @map_len bytes);
 * @shadow is updated for the dirty sets sent. Returns the length or a
 * negative errno.
 */
long hvr_encode_request(uint8_t *out, size_t cap, const struct kvm_run *run, size_t map_len,
			struct hv_sync_regs *shadow, uint32_t flags);

/*
 * Apply the answer to the caller's kvm_run (header, exit union, OUT data,
 * the valid sets through @shadow). -HV_EINVAL for a malformed answer; run
 * and shadow are then unchanged.
 */
long hvr_apply_response(struct kvm_run *run, size_t map_len, struct hv_sync_regs *shadow,
			const uint8_t *in, size_t len);

/* ---- hypervisor side ---- */

/*
 * Take a request into the vCPU's own kvm_run @run (@map_len bytes with its
 * PIO page): the caller's fields, the completion data, the dirty sets
 * applied to run->s. All or nothing: -HV_EINVAL for a malformed request.
 * *@flags receives the request's flags.
 */
long hvr_apply_request(struct kvm_run *run, size_t map_len, const uint8_t *in, size_t len,
		       uint32_t *flags);

/*
 * Encode the answer after the run: @base is the copy of the sets the
 * controller holds, run->s as hvr_apply_request left it.
 */
long hvr_encode_response(uint8_t *out, size_t cap, const struct kvm_run *run, size_t map_len,
			 const struct hv_sync_regs *base);

#endif
