// SPDX-License-Identifier: MIT
/* abi/hvdelta.c (changed-word encoding of register sets) and abi/hvrun.c
 * (the compact KVM_RUN built on it). */
#include <stdint.h>

#include "abi/hvdelta.h"
#include "abi/hvrun.h"
#include "abi/kvm.h"
#include "abi/errno.h"
#include "tests/unit/check.h"

static void test_unchanged_is_bitmap_only(void)
{
	struct kvm_regs a = {.rax = 1, .rip = 0x1000}, b = a;
	uint8_t out[HVD_MAX_ENCODED(sizeof(a))];
	long n = hvd_encode(out, sizeof(out), &a, &b, sizeof(a));

	CHECK_EQ(n, 3); /* 18 words: 3 bitmap bytes */
	CHECK_EQ(out[0] | out[1] | out[2], 0);
	CHECK_EQ(hvd_apply(&a, sizeof(a), out, (size_t)n), 3);
	CHECK(!memcmp(&a, &b, sizeof(a)));
}

static void test_rip_rax_round_trip(void)
{
	struct kvm_regs base = {.rax = 1, .rcx = 7, .rip = 0x1000, .rflags = 2}, cur = base,
			back = base;
	uint8_t out[HVD_MAX_ENCODED(sizeof(base))];
	long n;

	cur.rax = 0x55;
	cur.rip = 0x1002;
	n = hvd_encode(out, sizeof(out), &base, &cur, sizeof(base));
	CHECK_EQ(n, 3 + 16);
	CHECK_EQ(hvd_apply(&back, sizeof(back), out, (size_t)n), n);
	CHECK(!memcmp(&back, &cur, sizeof(cur)));
}

static void test_every_word_changed(void)
{
	uint8_t base[144], cur[144], back[144], out[HVD_MAX_ENCODED(144)];
	long n;

	for (int i = 0; i < 144; i++) {
		base[i] = (uint8_t)i;
		cur[i] = (uint8_t)(i ^ 0xff);
	}
	memcpy(back, base, sizeof(back));
	n = hvd_encode(out, sizeof(out), base, cur, sizeof(base));
	CHECK_EQ(n, (long)HVD_MAX_ENCODED(144));
	CHECK_EQ(hvd_apply(back, sizeof(back), out, (size_t)n), n);
	CHECK(!memcmp(back, cur, sizeof(cur)));
}

static void test_encode_refuses(void)
{
	uint8_t a[16] = {0}, b[16] = {1}, out[64];

	CHECK_EQ(hvd_encode(out, sizeof(out), a, b, 12), -HV_EINVAL);
	CHECK_EQ(hvd_encode(out, sizeof(out), a, b, 0), -HV_EINVAL);
	CHECK_EQ(hvd_encode(out, sizeof(out), a, b, HVD_MAX_SET + 8), -HV_EINVAL);
	CHECK_EQ(hvd_encode(out, 0, a, b, 16), -HV_E2BIG);
	CHECK_EQ(hvd_encode(out, 4, a, b, 16), -HV_E2BIG); /* bitmap fits, the word does not */
}

/* A hostile encoding changes nothing and is refused. */
static void test_apply_refuses(void)
{
	uint8_t set[24], keep[24], in[32];

	memset(set, 0x11, sizeof(set));
	memcpy(keep, set, sizeof(keep));
	memset(in, 0, sizeof(in));
	in[0] = 0x7;						       /* three words claimed */
	CHECK_EQ(hvd_apply(set, sizeof(set), in, 1 + 16), -HV_EINVAL); /* one word short */
	CHECK(!memcmp(set, keep, sizeof(set)));
	in[0] = 0x9; /* bit 3: past the last of 3 words */
	CHECK_EQ(hvd_apply(set, sizeof(set), in, sizeof(in)), -HV_EINVAL);
	CHECK(!memcmp(set, keep, sizeof(set)));
	CHECK_EQ(hvd_apply(set, sizeof(set), in, 0), -HV_EINVAL);
	CHECK_EQ(hvd_apply(set, 20, in, sizeof(in)), -HV_EINVAL);
	in[0] = 0x2;
	CHECK_EQ(hvd_apply(set, sizeof(set), in, 9), 9); /* one word, trailing bytes left */
	CHECK_EQ(set[8], 0);
}

/* Random sets, random changes: apply(encode(x)) is x, and sizes add up. */
static void test_random_round_trips(void)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	for (int round = 0; round < 2000; round++) {
		uint8_t base[520], cur[520], back[520], out[HVD_MAX_ENCODED(520)];
		size_t len = 8 * (1 + (size_t)(seed % 65));
		int changed = 0;
		long n;

		for (size_t i = 0; i < len; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			base[i] = (uint8_t)(seed >> 56);
			cur[i] = (seed >> 40 & 7) == 0 ? (uint8_t)(seed >> 32) : base[i];
		}
		for (size_t w = 0; w < len / 8; w++)
			changed += !!memcmp(base + 8 * w, cur + 8 * w, 8);
		memcpy(back, base, len);
		n = hvd_encode(out, sizeof(out), base, cur, len);
		CHECK_EQ(n, (long)(HVD_BITMAP_LEN(len) + 8 * (size_t)changed));
		CHECK_EQ(hvd_apply(back, len, out, (size_t)n), n);
		CHECK(!memcmp(back, cur, len));
	}
}

/* Several sets back to back, in bit order; a bad mask or a cut changes nothing. */
static void test_sets(void)
{
	static struct hv_sync_regs base, cur, back;
	uint8_t out[4096];
	uint64_t mask = KVM_SYNC_X86_REGS | HV_SYNC_X86_FPU | HV_SYNC_X86_MSRS;
	long n;

	memset(&base, 0, sizeof(base));
	cur = base;
	cur.kvm.regs.rip = 0x1234;
	cur.fpu.mxcsr = 0x1f80;
	cur.msrs.nmsrs = 1;
	cur.msrs.entries[0].index = 0x174;
	cur.kvm.sregs.cr0 = 1; /* not in the mask: not sent */
	back = base;
	n = hvd_encode_sets(out, sizeof(out), mask, &base, &cur);
	CHECK(n > 0);
	CHECK_EQ(hvd_apply_sets(&back, mask, out, (size_t)n), n);
	CHECK_EQ(back.kvm.regs.rip, 0x1234);
	CHECK_EQ(back.fpu.mxcsr, 0x1f80);
	CHECK_EQ(back.msrs.entries[0].index, 0x174);
	CHECK_EQ(back.kvm.sregs.cr0, 0);
	back = base;
	CHECK_EQ(hvd_apply_sets(&back, mask, out, (size_t)n - 1), -HV_EINVAL);
	CHECK(!memcmp(&back, &base, sizeof(base)));
	CHECK_EQ(hvd_apply_sets(&back, 1ull << 9, out, (size_t)n), -HV_EINVAL);
	CHECK_EQ(hvd_encode_sets(out, sizeof(out), 1ull << 9, &base, &cur), -HV_EINVAL);
	CHECK_EQ(hvd_encode_sets(out, 10, mask, &base, &cur), -HV_E2BIG);
}

/* ---- abi/hvrun.c: the compact KVM_RUN, both ends ---- */

#define MAP 8192

struct run_map {
	union {
		struct kvm_run run;
		uint8_t bytes[MAP];
	};
};

static struct run_map user, hv;
static struct hv_sync_regs shadow;

/* The hypervisor side of one exchange; returns the answer's length. */
static long hv_exchange(const uint8_t *req, long req_len, uint8_t *resp, size_t cap,
			void (*run_guest)(void))
{
	struct hv_sync_regs base;
	uint32_t flags;
	long rc = hvr_apply_request(&hv.run, MAP, req, (size_t)req_len, &flags);

	if (rc < 0)
		return rc;
	memcpy(&base, &hv.run.s.hv, sizeof(base));
	run_guest();
	return hvr_encode_response(resp, cap, &hv.run, MAP, &base);
}

static uint8_t seen_in; /* the PIO byte as the guest found it */

static void guest_outs_0x42(void)
{
	seen_in = hv.bytes[4096];
	hv.run.kvm_dirty_regs = 0;
	hv.run.exit_reason = KVM_EXIT_IO;
	hv.run.io.direction = KVM_EXIT_IO_OUT;
	hv.run.io.size = 1;
	hv.run.io.count = 1;
	hv.run.io.port = 0x10;
	hv.run.io.data_offset = 4096;
	hv.bytes[4096] = 0x42;
	hv.run.s.regs.regs.rip += 2;
}

static void guest_ins(void)
{
	hv.run.kvm_dirty_regs = 0;
	hv.run.io.direction = KVM_EXIT_IO_IN;
	hv.run.io.port = 0x11;
	hv.run.s.regs.regs.rip += 1;
	hv.run.s.regs.regs.rcx = 9;
}

static void test_run_round_trips(void)
{
	uint8_t req[4096], resp[4096];
	long q, a;

	memset(&user, 0, sizeof(user));
	memset(&hv, 0, sizeof(hv));
	memset(&shadow, 0xee, sizeof(shadow)); /* stale: FRESH must not use it */
	user.run.kvm_valid_regs = KVM_SYNC_X86_REGS;
	user.run.kvm_dirty_regs = KVM_SYNC_X86_REGS;
	user.run.s.regs.regs.rip = 0x1000;
	user.run.s.regs.regs.rax = 5;
	q = hvr_encode_request(req, sizeof(req), &user.run, MAP, &shadow, HVR_FRESH);
	CHECK_EQ(q, HVR_REQ_HDR_LEN + 3 + 16);
	a = hv_exchange(req, q, resp, sizeof(resp), guest_outs_0x42);
	CHECK(a > 0);
	CHECK_EQ(hv.run.s.regs.regs.rax, 5);
	CHECK_EQ(hvr_apply_response(&user.run, MAP, &shadow, resp, (size_t)a), a);
	CHECK_EQ(user.run.exit_reason, KVM_EXIT_IO);
	CHECK_EQ(user.run.io.port, 0x10);
	CHECK_EQ(user.bytes[4096], 0x42);
	CHECK_EQ(user.run.s.regs.regs.rip, 0x1002);
	CHECK_EQ(user.run.s.regs.regs.rax, 5);
	CHECK_EQ(user.run.kvm_dirty_regs, 0);
	CHECK(!memcmp(&shadow, &hv.run.s.hv, sizeof(shadow)));
	/* Steady state: RAX changed, an IN exit comes back. */
	user.run.s.regs.regs.rax = 7;
	user.run.kvm_dirty_regs = KVM_SYNC_X86_REGS;
	q = hvr_encode_request(req, sizeof(req), &user.run, MAP, &shadow, 0);
	CHECK_EQ(q, HVR_REQ_HDR_LEN + 3 + 8);
	a = hv_exchange(req, q, resp, sizeof(resp), guest_ins);
	CHECK(a > 0 && a < 100);
	CHECK_EQ(hvr_apply_response(&user.run, MAP, &shadow, resp, (size_t)a), a);
	CHECK_EQ(user.run.io.direction, KVM_EXIT_IO_IN);
	CHECK_EQ(user.run.s.regs.regs.rcx, 9);
	CHECK_EQ(user.run.s.regs.regs.rax, 7);
	/* The IN's data travels with the next request. */
	user.bytes[4096] = 0x99;
	user.run.kvm_dirty_regs = 0;
	q = hvr_encode_request(req, sizeof(req), &user.run, MAP, &shadow, 0);
	CHECK_EQ(q, HVR_REQ_HDR_LEN + 1 + 0);
	a = hv_exchange(req, q, resp, sizeof(resp), guest_outs_0x42);
	CHECK(a > 0);
	CHECK_EQ(seen_in, 0x99); /* the IN's data landed before the guest ran */
	CHECK_EQ(hvr_apply_response(&user.run, MAP, &shadow, resp, (size_t)a), a);
	CHECK(!memcmp(&shadow, &hv.run.s.hv, sizeof(shadow)));
}

/* Malformed requests and answers are refused and change nothing. */
static void test_run_refuses(void)
{
	static struct run_map keep;
	uint8_t req[4096], resp[4096];
	uint32_t flags;
	long q, a;

	memset(&user, 0, sizeof(user));
	memset(&hv, 0, sizeof(hv));
	memset(&shadow, 0, sizeof(shadow));
	user.run.kvm_dirty_regs = KVM_SYNC_X86_REGS;
	user.run.s.regs.regs.rip = 0x2000;
	q = hvr_encode_request(req, sizeof(req), &user.run, MAP, &shadow, HVR_FRESH);
	CHECK(q > 0);
	keep = hv;
	CHECK_EQ(hvr_apply_request(&hv.run, MAP, req, (size_t)q - 1, &flags), -HV_EINVAL);
	CHECK_EQ(hvr_apply_request(&hv.run, MAP, req, 10, &flags), -HV_EINVAL);
	req[q] = 0;
	CHECK_EQ(hvr_apply_request(&hv.run, MAP, req, (size_t)q + 1, &flags), -HV_EINVAL);
	req[4] = 0x80; /* unknown flag */
	CHECK_EQ(hvr_apply_request(&hv.run, MAP, req, (size_t)q, &flags), -HV_EINVAL);
	req[4] = HVR_FRESH;
	req[2] = 4; /* data for an IN that is not pending */
	CHECK_EQ(hvr_apply_request(&hv.run, MAP, req, (size_t)q, &flags), -HV_EINVAL);
	req[2] = 0;
	CHECK(!memcmp(&hv, &keep, sizeof(hv)));
	CHECK_EQ(hvr_apply_request(&hv.run, MAP, req, (size_t)q, &flags), q);

	guest_outs_0x42();
	hv.run.kvm_valid_regs = KVM_SYNC_X86_REGS;
	a = hvr_encode_response(resp, sizeof(resp), &hv.run, MAP, &shadow);
	CHECK(a > 0);
	keep = user;
	CHECK_EQ(hvr_apply_response(&user.run, MAP, &shadow, resp, (size_t)a - 1), -HV_EINVAL);
	CHECK_EQ(hvr_apply_response(&user.run, MAP, &shadow, resp, 20), -HV_EINVAL);
	resp[24] = 0xff; /* union_len 0x1ff-ish: past 256 */
	resp[25] = 0x01;
	CHECK_EQ(hvr_apply_response(&user.run, MAP, &shadow, resp, (size_t)a), -HV_EINVAL);
	CHECK(!memcmp(&user, &keep, sizeof(user)));
	CHECK_EQ(hvr_encode_response(resp, 10, &hv.run, MAP, &shadow), -HV_E2BIG);
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_unchanged_is_bitmap_only),
    TEST_ENTRY(test_rip_rax_round_trip),
    TEST_ENTRY(test_every_word_changed),
    TEST_ENTRY(test_encode_refuses),
    TEST_ENTRY(test_apply_refuses),
    TEST_ENTRY(test_random_round_trips),
    TEST_ENTRY(test_sets),
    TEST_ENTRY(test_run_round_trips),
    TEST_ENTRY(test_run_refuses),
};

CHECK_MAIN(tests)
