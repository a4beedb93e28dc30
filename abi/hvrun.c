// SPDX-License-Identifier: MIT
#include <string.h>

#include "abi/hvdelta.h"
#include "abi/hvrun.h"
#include "abi/le.h"
#include "abi/errno.h"

#define UNION_OFF offsetof(struct kvm_run, hw)
#define UNION_LEN 256

/*
 * The sets a request carries: those to load, and the MSR set whenever it
 * is to be stored too (its nmsrs and indices say which MSRs to store).
 */
static uint64_t request_sets(uint64_t valid, uint64_t dirty)
{
	return (dirty | (valid & HV_SYNC_X86_MSRS)) & HVD_SETS_KNOWN;
}

/*
 * Where the data of the run's last exit lives in the mapping, and how
 * long it is: an IN or OUT's bytes at io.data_offset, an MMIO access's in
 * mmio.data, a user-space MSR exit's struct (the controller's error and
 * data). *guest_wrote is 1 for data the guest wrote (OUT, MMIO store).
 */
static uint8_t *exit_data(const struct kvm_run *run, size_t map_len, size_t *len, int *guest_wrote)
{
	*len = 0;
	*guest_wrote = 0;
	if (run->exit_reason == KVM_EXIT_IO) {
		uint64_t off = run->io.data_offset, n = (uint64_t)run->io.size * run->io.count;

		if (off < sizeof(*run) || off > map_len || n > map_len - off || n > HVR_MAX_DATA)
			return NULL;
		*len = (size_t)n;
		*guest_wrote = run->io.direction == KVM_EXIT_IO_OUT;
		return (uint8_t *)run + off;
	}
	if (run->exit_reason == KVM_EXIT_MMIO) {
		*len = run->mmio.len <= 8 ? run->mmio.len : 8;
		*guest_wrote = run->mmio.is_write;
		return (uint8_t *)run->mmio.data;
	}
	/* A user-space MSR exit: the controller's msr.error and msr.data answer it. */
	if (run->exit_reason == KVM_EXIT_X86_RDMSR || run->exit_reason == KVM_EXIT_X86_WRMSR) {
		*len = sizeof(run->msr);
		return (uint8_t *)&run->msr;
	}
	return NULL;
}

long hvr_encode_request(uint8_t *out, size_t cap, const struct kvm_run *run, size_t map_len,
			struct hv_sync_regs *shadow, uint32_t flags)
{
	static const struct hv_sync_regs zero;
	struct hv_sync_regs sent;
	uint64_t dirty = run->kvm_dirty_regs;
	size_t dlen = 0, n;
	int guest_wrote;
	const uint8_t *data = exit_data(run, map_len, &dlen, &guest_wrote);
	long k;

	uint64_t cr8 = run->cr8;
	size_t head = HVR_REQ_HDR_LEN + (cr8 ? 8 : 0);

	if (!data || guest_wrote)
		dlen = 0;
	if (cap < head + dlen)
		return -HV_E2BIG;
	flags &= HVR_FRESH;
	if (cr8)
		flags |= HVR_CR8;
	memset(out, 0, HVR_REQ_HDR_LEN);
	out[0] = run->request_interrupt_window;
	out[1] = run->immediate_exit;
	put_le16(out + 2, (uint16_t)dlen);
	put_le32(out + 4, flags);
	put_le64(out + 8, run->kvm_valid_regs);
	put_le64(out + 16, dirty);
	if (cr8)
		put_le64(out + HVR_REQ_HDR_LEN, cr8);
	if (dlen)
		memcpy(out + head, data, dlen);
	n = head + dlen;
	memcpy(&sent, &run->s.hv, sizeof(sent));
	k = hvd_encode_sets(out + n, cap - n, request_sets(run->kvm_valid_regs, dirty),
			    flags & HVR_FRESH ? &zero : shadow, &sent);
	if (k < 0)
		return k;
	/* What was sent is what the hypervisor now holds. */
	if (flags & HVR_FRESH)
		memset(shadow, 0, sizeof(*shadow));
	hvd_apply_sets(shadow, request_sets(run->kvm_valid_regs, dirty), out + n, (size_t)k);
	return (long)(n + (size_t)k);
}

long hvr_apply_request(struct kvm_run *run, size_t map_len, const uint8_t *in, size_t len,
		       uint32_t *flags)
{
	struct hv_sync_regs s;
	uint64_t dirty, cr8 = 0;
	size_t dlen, room = 0, head = HVR_REQ_HDR_LEN;
	int guest_wrote;
	uint8_t *dst;
	long k;

	if (len < HVR_REQ_HDR_LEN)
		return -HV_EINVAL;
	dlen = get_le16(in + 2);
	*flags = get_le32(in + 4);
	dirty = get_le64(in + 16);
	if (*flags & ~(HVR_FRESH | HVR_CR8))
		return -HV_EINVAL;
	if (*flags & HVR_CR8) {
		if (len < HVR_REQ_HDR_LEN + 8)
			return -HV_EINVAL;
		cr8 = get_le64(in + HVR_REQ_HDR_LEN);
		head += 8;
	}
	if (dlen > len - head || dlen > HVR_MAX_DATA)
		return -HV_EINVAL;
	dst = exit_data(run, map_len, &room, &guest_wrote);
	if (dlen && (!dst || guest_wrote || dlen > room))
		return -HV_EINVAL; /* data for no pending load */
	if (*flags & HVR_FRESH)
		memset(&s, 0, sizeof(s));
	else
		memcpy(&s, &run->s.hv, sizeof(s));
	k = hvd_apply_sets(&s, request_sets(get_le64(in + 8), dirty), in + head + dlen,
			   len - head - dlen);
	if (k < 0)
		return k;
	if (head + dlen + (size_t)k != len)
		return -HV_EINVAL; /* trailing bytes */
	/* Checked: now take it. */
	run->request_interrupt_window = in[0];
	run->immediate_exit = in[1];
	run->kvm_valid_regs = get_le64(in + 8);
	run->kvm_dirty_regs = dirty;
	run->cr8 = cr8;
	if (dlen)
		memcpy(dst, in + head, dlen);
	memcpy(&run->s.hv, &s, sizeof(s));
	return (long)len;
}

long hvr_encode_response(uint8_t *out, size_t cap, const struct kvm_run *run, size_t map_len,
			 const struct hv_sync_regs *base)
{
	const uint8_t *u = (const uint8_t *)run + UNION_OFF;
	size_t ulen = UNION_LEN, dlen = 0, n;
	int guest_wrote;
	const uint8_t *data = exit_data(run, map_len, &dlen, &guest_wrote);
	long k;

	if (!data || !guest_wrote || run->exit_reason != KVM_EXIT_IO)
		dlen = 0; /* an MMIO store's data is in the union already */
	while (ulen && !u[ulen - 1])
		ulen--;
	if (cap < HVR_RESP_HDR_LEN + ulen + dlen)
		return -HV_E2BIG;
	memset(out, 0, HVR_RESP_HDR_LEN);
	put_le32(out, run->exit_reason);
	out[4] = run->ready_for_interrupt_injection;
	out[5] = run->if_flag;
	put_le16(out + 6, run->flags);
	put_le64(out + 8, run->cr8);
	put_le64(out + 16, run->apic_base);
	put_le16(out + 24, (uint16_t)ulen);
	put_le16(out + 26, (uint16_t)dlen);
	put_le64(out + 32, run->kvm_valid_regs);
	put_le64(out + 40, run->kvm_dirty_regs);
	n = HVR_RESP_HDR_LEN;
	memcpy(out + n, u, ulen);
	n += ulen;
	if (dlen)
		memcpy(out + n, data, dlen);
	n += dlen;
	k = hvd_encode_sets(out + n, cap - n, run->kvm_valid_regs & HVD_SETS_KNOWN, base,
			    &run->s.hv);
	if (k < 0)
		return k;
	return (long)(n + (size_t)k);
}

long hvr_apply_response(struct kvm_run *run, size_t map_len, struct hv_sync_regs *shadow,
			const uint8_t *in, size_t len)
{
	struct kvm_run head;
	struct hv_sync_regs s;
	size_t ulen, dlen, room = 0, n;
	uint64_t valid;
	int guest_wrote;
	uint8_t *dst;
	long k;

	if (len < HVR_RESP_HDR_LEN)
		return -HV_EINVAL;
	ulen = get_le16(in + 24);
	dlen = get_le16(in + 26);
	valid = get_le64(in + 32);
	if (ulen > UNION_LEN || dlen > HVR_MAX_DATA || HVR_RESP_HDR_LEN + ulen + dlen > len)
		return -HV_EINVAL;
	/* The new exit, in a scratch header first: it says where the data goes. */
	memset(&head, 0, offsetof(struct kvm_run, kvm_valid_regs));
	head.exit_reason = get_le32(in);
	memcpy((uint8_t *)&head + UNION_OFF, in + HVR_RESP_HDR_LEN, ulen);
	dst = exit_data(&head, map_len, &room, &guest_wrote);
	if (dlen && (!dst || !guest_wrote || dlen != room || head.exit_reason != KVM_EXIT_IO))
		return -HV_EINVAL;
	memcpy(&s, shadow, sizeof(s));
	n = HVR_RESP_HDR_LEN + ulen + dlen;
	k = hvd_apply_sets(&s, valid & HVD_SETS_KNOWN, in + n, len - n);
	if (k < 0 || n + (size_t)k != len)
		return -HV_EINVAL;
	/* Checked: now take it. */
	run->exit_reason = head.exit_reason;
	run->ready_for_interrupt_injection = in[4];
	run->if_flag = in[5];
	run->flags = get_le16(in + 6);
	run->cr8 = get_le64(in + 8);
	run->apic_base = get_le64(in + 16);
	memcpy((uint8_t *)run + UNION_OFF, (uint8_t *)&head + UNION_OFF, UNION_LEN);
	if (dlen)
		memcpy((uint8_t *)run + run->io.data_offset, in + HVR_RESP_HDR_LEN + ulen, dlen);
	run->kvm_valid_regs = valid;
	run->kvm_dirty_regs = get_le64(in + 40);
	memcpy(shadow, &s, sizeof(s));
	/* Only the sets received are copied out to the caller's page. */
	hvd_copy_sets(&run->s.hv, &s, valid & HVD_SETS_KNOWN);
	return (long)len;
}
