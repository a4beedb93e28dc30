// SPDX-License-Identifier: MIT
/* abi/hvdelta.c: changed-word encoding of register sets. */
#include <stdint.h>

#include "abi/hvdelta.h"
#include "abi/kvm.h"
#include "hv/errno.h"
#include "tests/unit/check.h"

static void test_unchanged_is_bitmap_only(void)
{
	struct kvm_regs a = { .rax = 1, .rip = 0x1000 }, b = a;
	uint8_t out[HVD_MAX_ENCODED(sizeof(a))];
	long n = hvd_encode(out, sizeof(out), &a, &b, sizeof(a));

	CHECK_EQ(n, 3); /* 18 words: 3 bitmap bytes */
	CHECK_EQ(out[0] | out[1] | out[2], 0);
	CHECK_EQ(hvd_apply(&a, sizeof(a), out, (size_t)n), 3);
	CHECK(!memcmp(&a, &b, sizeof(a)));
}

static void test_rip_rax_round_trip(void)
{
	struct kvm_regs base = { .rax = 1, .rcx = 7, .rip = 0x1000, .rflags = 2 }, cur = base, back = base;
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
	uint8_t a[16] = { 0 }, b[16] = { 1 }, out[64];

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
	in[0] = 0x7; /* three words claimed */
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

static const struct check_test tests[] = {
	TEST_ENTRY(test_unchanged_is_bitmap_only),
	TEST_ENTRY(test_rip_rax_round_trip),
	TEST_ENTRY(test_every_word_changed),
	TEST_ENTRY(test_encode_refuses),
	TEST_ENTRY(test_apply_refuses),
	TEST_ENTRY(test_random_round_trips),
	TEST_ENTRY(test_sets),
};

CHECK_MAIN(tests)
