// SPDX-License-Identifier: MIT
/*
 * Unit tests of the VM's MSR filter (vmx/msr_filter.c): parsing the
 * marshalled KVM_X86_SET_MSR_FILTER record and deciding accesses. Each test
 * names the function of Linux 6.1's arch/x86/kvm/x86.c whose rule it
 * checks (kvm_vm_ioctl_set_msr_filter, kvm_add_msr_filter,
 * kvm_msr_allowed).
 */
#include <stdint.h>
#include <string.h>

#include "abi/errno.h"
#include "abi/kvm_ioctls.h"
#include "tests/unit/check.h"
#include "vmx/msr_filter.h"

#define R  KVM_MSR_FILTER_READ
#define W  KVM_MSR_FILTER_WRITE
#define RW (R | W)

#define MAX_NMSRS (KVM_MSR_FILTER_MAX_BITMAP_SIZE * 8)
#define REC_MAX                                                                                    \
	(sizeof(struct kvm_msr_filter) +                                                           \
	 KVM_MSR_FILTER_MAX_RANGES * KVM_MSR_FILTER_MAX_BITMAP_SIZE + 16)

static uint8_t rec[REC_MAX];
static struct msr_filter filt, saved;

/*
 * Marshal @h as abi/kvm_ioctls.h says: the header, then for each range in
 * order kvm_msr_filter_bitmap_len(nmsrs) bytes of its bitmap (zeros when
 * the pointer is NULL). Returns the record's length.
 */
static size_t marshal(uint8_t *buf, const struct kvm_msr_filter *h)
{
	size_t off = sizeof(*h), n;
	unsigned i;

	memcpy(buf, h, sizeof(*h));
	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
		n = kvm_msr_filter_bitmap_len(h->ranges[i].nmsrs);
		if (h->ranges[i].bitmap)
			memcpy(buf + off, h->ranges[i].bitmap, n);
		else
			memset(buf + off, 0, n);
		off += n;
	}
	return off;
}

/* Marshal @h and parse it into filt. */
static int parse(const struct kvm_msr_filter *h)
{
	return msr_filter_parse(&filt, rec, marshal(rec, h));
}

static bool rd(uint32_t msr)
{
	return msr_filter_allowed(&filt, msr, R);
}

static bool wr(uint32_t msr)
{
	return msr_filter_allowed(&filt, msr, W);
}

/* kvm_msr_allowed: bit i of the bitmap decides MSR base + i. */
static void test_allow_deny_by_bit(void)
{
	uint8_t bm[8] = {0x05, 0x80};
	struct kvm_msr_filter h = {
	    .ranges = {{.flags = RW, .nmsrs = 16, .base = 0x10, .bitmap = bm}}};

	CHECK_EQ(parse(&h), 0);
	CHECK(filt.default_allow);
	CHECK_EQ(filt.count, 1);
	CHECK_EQ(filt.ranges[0].base, 0x10);
	CHECK_EQ(filt.ranges[0].nmsrs, 16);
	CHECK_EQ(filt.ranges[0].flags, RW);
	CHECK(rd(0x10) && wr(0x10));
	CHECK(!rd(0x11) && !wr(0x11));
	CHECK(rd(0x12));
	CHECK(!rd(0x13) && !rd(0x1e));
	CHECK(rd(0x1f) && wr(0x1f));
	/* Outside the range: the default. */
	CHECK(rd(0x0f) && rd(0x20) && wr(0));
}

/* kvm_vm_ioctl_set_msr_filter: default_allow = !(flags & DEFAULT_DENY). */
static void test_default_allow_vs_deny(void)
{
	uint8_t bm[8] = {0x01};
	struct kvm_msr_filter h = {
	    .ranges = {{.flags = RW, .nmsrs = 2, .base = 0x100, .bitmap = bm}}};

	CHECK_EQ(parse(&h), 0);
	CHECK(filt.default_allow);
	CHECK(rd(0x100) && !rd(0x101) && rd(0x102) && wr(0xc0000080));
	h.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	CHECK_EQ(parse(&h), 0);
	CHECK(!filt.default_allow);
	CHECK(rd(0x100) && !rd(0x101));
	CHECK(!rd(0x102) && !wr(0xc0000080) && !rd(0) && !wr(0xffffffff));
}

/* kvm_msr_allowed: a range decides only accesses its flags name. */
static void test_read_only_range(void)
{
	uint8_t none[8] = {0}, one[8] = {0x01};
	struct kvm_msr_filter h = {
	    .ranges = {{.flags = R, .nmsrs = 8, .base = 0x200, .bitmap = none}},
	};

	CHECK_EQ(parse(&h), 0);
	CHECK(!rd(0x200) && wr(0x200)); /* write: default allow */
	h.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	CHECK_EQ(parse(&h), 0);
	CHECK(!rd(0x200) && !wr(0x200)); /* write: default deny */
	/* A later WRITE range decides the writes the READ range passes over. */
	h.ranges[1] =
	    (struct kvm_msr_filter_range){.flags = W, .nmsrs = 8, .base = 0x200, .bitmap = one};
	CHECK_EQ(parse(&h), 0);
	CHECK(!rd(0x200) && wr(0x200));
	CHECK(!rd(0x201) && !wr(0x201));
	/* A READ|WRITE type matches either flag (upstream's flags & type). */
	CHECK(!msr_filter_allowed(&filt, 0x200, RW));
}

/* kvm_msr_allowed: the first matching range in order wins. */
static void test_first_match_wins(void)
{
	uint8_t none[8] = {0}, all[8];
	struct kvm_msr_filter h = {
	    .ranges = {{.flags = RW, .nmsrs = 4, .base = 0x300, .bitmap = none},
		       {.flags = RW, .nmsrs = 64, .base = 0x300, .bitmap = all}},
	};

	memset(all, 0xff, sizeof(all));
	CHECK_EQ(parse(&h), 0);
	CHECK(!rd(0x300) && !wr(0x303));
	CHECK(rd(0x304) && wr(0x33f));
	h.ranges[0].bitmap = all;
	h.ranges[1].bitmap = none;
	CHECK_EQ(parse(&h), 0);
	CHECK(rd(0x300) && wr(0x303));
	CHECK(!rd(0x304) && !wr(0x33f));
}

/* kvm_msr_allowed: "x2APIC MSRs do not support filtering". */
static void test_x2apic_unfiltered(void)
{
	uint8_t none[0x40] = {0};
	struct kvm_msr_filter h = {
	    .flags = KVM_MSR_FILTER_DEFAULT_DENY,
	    .ranges = {{.flags = RW, .nmsrs = 0x200, .base = 0x7f0, .bitmap = none}},
	};

	CHECK_EQ(parse(&h), 0);
	CHECK(rd(0x800) && wr(0x800) && rd(0x8ff) && wr(0x8ff) && rd(0x830));
	CHECK(!rd(0x7ff) && !wr(0x900));
	/* No range covering them: still allowed under DEFAULT_DENY. */
	h.ranges[0].base = 0x10;
	CHECK_EQ(parse(&h), 0);
	CHECK(rd(0x800) && wr(0x80b) && rd(0x8ff));
	CHECK(!rd(0x7ff) && !rd(0x900));
}

/* kvm_msr_allowed: no filter set allows everything. */
static void test_null_filter(void)
{
	CHECK(msr_filter_allowed(NULL, 0, R));
	CHECK(msr_filter_allowed(NULL, 0x10, W));
	CHECK(msr_filter_allowed(NULL, 0xc0000080, R));
	CHECK(msr_filter_allowed(NULL, 0xffffffff, W));
}

/* kvm_add_msr_filter: BITS_TO_LONGS(1) longs copied; only bit 0 used. */
static void test_one_msr_reads_a_long(void)
{
	uint8_t bm[8] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	struct kvm_msr_filter h = {
	    .ranges = {{.flags = RW, .nmsrs = 1, .base = 0x40, .bitmap = bm}}};
	size_t len = marshal(rec, &h);

	CHECK_EQ(len, sizeof(h) + 8);
	CHECK_EQ(msr_filter_parse(&filt, rec, len), 0);
	CHECK(!rd(0x40));
	h.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	CHECK_EQ(parse(&h), 0);
	CHECK(!rd(0x40) && !rd(0x41) && !rd(0x47) && !wr(0x7f)); /* bits 1..63 unused */
	bm[0] = 0x01;
	memset(bm + 1, 0, 7);
	h.flags = 0;
	CHECK_EQ(parse(&h), 0);
	CHECK(rd(0x40) && rd(0x41));
	/* One bitmap byte is not the record. */
	CHECK_EQ(msr_filter_parse(&filt, rec, sizeof(h) + 1), -HV_EINVAL);
}

/* kvm_add_msr_filter: bitmap size up to KVM_MSR_FILTER_MAX_BITMAP_SIZE. */
static void test_max_size(void)
{
	static uint8_t bm[KVM_MSR_FILTER_MAX_BITMAP_SIZE + 8];
	struct kvm_msr_filter h = {
	    .ranges = {{.flags = RW, .nmsrs = MAX_NMSRS, .base = 0x1000, .bitmap = bm}}};
	size_t len;

	memset(bm, 0, sizeof(bm));
	bm[KVM_MSR_FILTER_MAX_BITMAP_SIZE - 1] = 0x80;
	len = marshal(rec, &h);
	CHECK_EQ(len, sizeof(h) + KVM_MSR_FILTER_MAX_BITMAP_SIZE);
	CHECK_EQ(msr_filter_parse(&filt, rec, len), 0);
	CHECK(rd(0x1000 + MAX_NMSRS - 1));
	CHECK(!rd(0x1000 + MAX_NMSRS - 2) && !rd(0x1000));
	CHECK(rd(0x1000 + MAX_NMSRS)); /* past the range: default */
	/* Sixteen maximal ranges fill the storage exactly. */
	for (int i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++)
		h.ranges[i] = (struct kvm_msr_filter_range){
		    .flags = RW, .nmsrs = MAX_NMSRS, .base = 0x100000u * i, .bitmap = bm};
	len = marshal(rec, &h);
	CHECK_EQ(len, sizeof(h) + sizeof(filt.bits));
	CHECK_EQ(msr_filter_parse(&filt, rec, len), 0);
	CHECK_EQ(filt.count, KVM_MSR_FILTER_MAX_RANGES);
	CHECK(rd(0xf00000 + MAX_NMSRS - 1) && !rd(0xf00000));
	/* One MSR more: refused, with or without a bitmap sent. */
	memset(&h, 0, sizeof(h));
	h.ranges[0] = (struct kvm_msr_filter_range){.flags = RW, .nmsrs = MAX_NMSRS + 1};
	CHECK_EQ(kvm_msr_filter_wire_len(&h), sizeof(h));
	memcpy(rec, &h, sizeof(h));
	CHECK_EQ(msr_filter_parse(&filt, rec, sizeof(h)), -HV_EINVAL);
	CHECK_EQ(msr_filter_parse(&filt, rec, sizeof(h) + KVM_MSR_FILTER_MAX_BITMAP_SIZE + 8),
		 -HV_EINVAL);
}

/* Every -EINVAL of kvm_vm_ioctl_set_msr_filter and kvm_add_msr_filter. */
static void test_einval_rules(void)
{
	uint8_t bm[8] = {0xff};
	struct kvm_msr_filter ok = {
	    .ranges = {{.flags = RW, .nmsrs = 8, .base = 0x10, .bitmap = bm}}};
	struct kvm_msr_filter h;
	static const uint32_t bad_filter_flags[] = {2, 3, 0x80000000u, 0xffffffffu};
	static const uint32_t bad_range_flags[] = {0, 4, R | 4, RW | 0x80000000u, 0xffffffffu};
	static const uint32_t bad_nmsrs[] = {MAX_NMSRS + 1, MAX_NMSRS + 64, 0x10000000u,
					     0xffffffc1u, 0xffffffffu};

	CHECK_EQ(parse(&ok), 0);
	/* kvm_vm_ioctl_set_msr_filter: flags outside KVM_MSR_FILTER_VALID_MASK. */
	for (unsigned i = 0; i < sizeof(bad_filter_flags) / sizeof(bad_filter_flags[0]); i++) {
		h = ok;
		h.flags = bad_filter_flags[i];
		CHECK_EQ(parse(&h), -HV_EINVAL);
	}
	/* An empty filter with DEFAULT_DENY; empty with DEFAULT_ALLOW is fine. */
	memset(&h, 0, sizeof(h));
	h.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	h.ranges[3].flags = 0xffffffffu; /* ranges with nmsrs 0 count as empty */
	CHECK_EQ(parse(&h), -HV_EINVAL);
	h.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
	CHECK_EQ(parse(&h), 0);
	CHECK_EQ(filt.count, 0);
	CHECK(filt.default_allow && rd(0x10) && wr(0));
	/* kvm_add_msr_filter: range flags outside READ|WRITE, or none. */
	for (unsigned i = 0; i < sizeof(bad_range_flags) / sizeof(bad_range_flags[0]); i++) {
		h = ok;
		h.ranges[0].flags = bad_range_flags[i];
		CHECK_EQ(parse(&h), -HV_EINVAL);
		/* Also as a later range, after a good one. */
		h = ok;
		h.ranges[5] = (struct kvm_msr_filter_range){
		    .flags = bad_range_flags[i], .nmsrs = 1, .base = 0x20, .bitmap = bm};
		CHECK_EQ(parse(&h), -HV_EINVAL);
	}
	/* kvm_add_msr_filter: bitmap size over the limit (or 0 when it wraps). */
	for (unsigned i = 0; i < sizeof(bad_nmsrs) / sizeof(bad_nmsrs[0]); i++) {
		h = ok;
		h.ranges[2] = (struct kvm_msr_filter_range){.flags = R, .nmsrs = bad_nmsrs[i]};
		CHECK_EQ(parse(&h), -HV_EINVAL);
		h.flags = KVM_MSR_FILTER_DEFAULT_DENY;
		CHECK_EQ(parse(&h), -HV_EINVAL);
	}
}

/* The record is the header plus exactly the bitmaps it announces. */
static void test_wrong_length(void)
{
	uint8_t bm[16] = {0x0f};
	struct kvm_msr_filter h = {
	    .ranges = {{.flags = RW, .nmsrs = 65, .base = 0x10, .bitmap = bm}},
	};
	size_t len = marshal(rec, &h);

	CHECK_EQ(len, sizeof(h) + 16);
	CHECK_EQ(msr_filter_parse(&filt, rec, len - 1), -HV_EINVAL);
	CHECK_EQ(msr_filter_parse(&filt, rec, len + 1), -HV_EINVAL);
	CHECK_EQ(msr_filter_parse(&filt, rec, sizeof(h)), -HV_EINVAL);
	CHECK_EQ(msr_filter_parse(&filt, rec, sizeof(h) - 1), -HV_EINVAL);
	CHECK_EQ(msr_filter_parse(&filt, rec, 0), -HV_EINVAL);
	CHECK_EQ(msr_filter_parse(&filt, NULL, 0), -HV_EINVAL);
	CHECK_EQ(msr_filter_parse(&filt, rec, len), 0);
	CHECK(rd(0x13) && !rd(0x14));
	/* An empty filter's record is the header alone. */
	memset(&h, 0, sizeof(h));
	memcpy(rec, &h, sizeof(h));
	CHECK_EQ(msr_filter_parse(&filt, rec, sizeof(h) + 1), -HV_EINVAL);
	CHECK_EQ(msr_filter_parse(&filt, rec, sizeof(h)), 0);
}

/* kvm_add_msr_filter: a range with nmsrs 0 is skipped, whatever else it says. */
static void test_empty_ranges_skipped(void)
{
	uint8_t a[8] = {0x01}, b[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0x02}, c[8] = {0x04};
	struct kvm_msr_filter h = {.flags = KVM_MSR_FILTER_DEFAULT_DENY};

	h.ranges[0] =
	    (struct kvm_msr_filter_range){.flags = R, .nmsrs = 3, .base = 0x10, .bitmap = a};
	h.ranges[1] = (struct kvm_msr_filter_range){.flags = 0xffffffffu, .base = 0x10};
	h.ranges[4] =
	    (struct kvm_msr_filter_range){.flags = W, .nmsrs = 70, .base = 0x100, .bitmap = b};
	h.ranges[9] = (struct kvm_msr_filter_range){.flags = 0, .base = 0x100};
	h.ranges[15] =
	    (struct kvm_msr_filter_range){.flags = RW, .nmsrs = 3, .base = 0x20, .bitmap = c};
	CHECK_EQ(kvm_msr_filter_wire_len(&h), sizeof(h) + 8 + 16 + 8);
	CHECK_EQ(parse(&h), 0);
	CHECK_EQ(filt.count, 3);
	CHECK_EQ(filt.ranges[0].base, 0x10);
	CHECK_EQ(filt.ranges[1].base, 0x100);
	CHECK_EQ(filt.ranges[1].flags, W);
	CHECK_EQ(filt.ranges[1].nmsrs, 70);
	CHECK_EQ(filt.ranges[2].base, 0x20);
	/* Bitmaps packed in order in the filter's own storage. */
	CHECK(filt.ranges[0].bitmap == filt.bits);
	CHECK(filt.ranges[1].bitmap == filt.bits + 8);
	CHECK(filt.ranges[2].bitmap == filt.bits + 24);
	CHECK(rd(0x10) && !rd(0x11) && !wr(0x10));
	CHECK(wr(0x141) && !wr(0x140) && !rd(0x141));
	CHECK(rd(0x22) && wr(0x22) && !rd(0x21));
}

/* kvm_msr_allowed: end = start + nmsrs in u32, wrapping past 0xffffffff. */
static void test_base_near_top(void)
{
	uint8_t all[8], none[8] = {0};
	struct kvm_msr_filter h = {.flags = KVM_MSR_FILTER_DEFAULT_DENY};

	memset(all, 0xff, sizeof(all));
	/* Ends below 2^32: decides as usual. */
	h.ranges[0] = (struct kvm_msr_filter_range){
	    .flags = RW, .nmsrs = 16, .base = 0xffffffe0u, .bitmap = all};
	CHECK_EQ(parse(&h), 0);
	CHECK(rd(0xffffffe0u) && rd(0xffffffefu) && !rd(0xffffffdfu) && !rd(0xfffffff0u));
	/* Ends exactly at 2^32: end is 0, the range never decides. */
	h.ranges[0].base = 0xfffffff0u;
	CHECK_EQ(parse(&h), 0);
	CHECK_EQ(filt.count, 1);
	CHECK(!rd(0xfffffff0u) && !wr(0xffffffffu));
	/* Past 2^32: end wraps below start, the range never decides. */
	h.ranges[0].base = 0xffffffffu;
	h.ranges[0].nmsrs = 1;
	CHECK_EQ(parse(&h), 0);
	CHECK(!rd(0xffffffffu) && !rd(0) && !rd(0xfffffffeu));
	h.ranges[0] = (struct kvm_msr_filter_range){
	    .flags = RW, .nmsrs = 64, .base = 0xfffffff8u, .bitmap = all};
	CHECK_EQ(parse(&h), 0);
	CHECK(!rd(0xfffffff8u) && !rd(0) && !rd(0x37));
	/* A wrapped range also does not hide a later one. */
	h.flags = 0;
	h.ranges[0].bitmap = none;
	h.ranges[1] = (struct kvm_msr_filter_range){
	    .flags = RW, .nmsrs = 7, .base = 0xfffffff8u, .bitmap = none};
	CHECK_EQ(parse(&h), 0);
	CHECK(!rd(0xfffffff8u) && !wr(0xfffffffeu)); /* range 1 denies */
	/* Nothing covers these (no range can cover 0xffffffff): default allow. */
	CHECK(rd(0xffffffffu) && rd(0) && rd(0x37));
}

/* A refused record leaves the previous filter as it was. */
static void test_refusal_keeps_previous(void)
{
	uint8_t bm[8] = {0x5a};
	struct kvm_msr_filter good = {
	    .flags = KVM_MSR_FILTER_DEFAULT_DENY,
	    .ranges = {{.flags = R, .nmsrs = 8, .base = 0x10, .bitmap = bm},
		       {.flags = W, .nmsrs = 8, .base = 0x10, .bitmap = bm}},
	};
	struct kvm_msr_filter h;
	uint8_t other[8] = {0xa5};
	size_t len;

	CHECK_EQ(parse(&good), 0);
	memcpy(&saved, &filt, sizeof(filt));
	/* Refused by the header's rules... */
	h = good;
	h.flags = 2;
	CHECK_EQ(parse(&h), -HV_EINVAL);
	CHECK(!memcmp(&saved, &filt, sizeof(filt)));
	h = good;
	h.ranges[1].flags = 0;
	CHECK_EQ(parse(&h), -HV_EINVAL);
	CHECK(!memcmp(&saved, &filt, sizeof(filt)));
	h = good;
	h.ranges[15] = (struct kvm_msr_filter_range){.flags = R, .nmsrs = MAX_NMSRS + 1};
	CHECK_EQ(parse(&h), -HV_EINVAL);
	CHECK(!memcmp(&saved, &filt, sizeof(filt)));
	/* ...or only by its length, after a header that is all valid. */
	h = good;
	h.flags = 0;
	h.ranges[0].bitmap = other;
	len = marshal(rec, &h);
	CHECK_EQ(msr_filter_parse(&filt, rec, len - 1), -HV_EINVAL);
	CHECK(!memcmp(&saved, &filt, sizeof(filt)));
	CHECK_EQ(msr_filter_parse(&filt, rec, len + 1), -HV_EINVAL);
	CHECK(!memcmp(&saved, &filt, sizeof(filt)));
	CHECK_EQ(msr_filter_parse(&filt, rec, 10), -HV_EINVAL);
	CHECK(!memcmp(&saved, &filt, sizeof(filt)));
	CHECK(!rd(0x10) && rd(0x11) && !rd(0x20));
	/* And an accepted one replaces it. */
	CHECK_EQ(msr_filter_parse(&filt, rec, len), 0);
	CHECK(rd(0x10) && !rd(0x11) && rd(0x20));
}

/* ---- randomized: against a direct reading of kvm_msr_allowed ---- */

static uint8_t ref_bits[KVM_MSR_FILTER_MAX_RANGES][KVM_MSR_FILTER_MAX_BITMAP_SIZE];

/* The caller's view: the header's ranges with 64-bit bounds, its own bitmaps. */
static bool ref_allowed(const struct kvm_msr_filter *h, uint32_t msr, uint32_t type)
{
	if (msr >= 0x800 && msr <= 0x8ff)
		return true;
	for (unsigned i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
		const struct kvm_msr_filter_range *r = &h->ranges[i];
		uint64_t end = (uint64_t)r->base + r->nmsrs;

		if (!r->nmsrs || !(r->flags & type))
			continue;
		if (end >= (1ull << 32))
			continue; /* upstream's u32 end wraps: never matches */
		if (msr >= r->base && msr < end) {
			uint32_t bit = msr - r->base;

			return (h->ranges[i].bitmap[bit / 8] >> (bit % 8)) & 1;
		}
	}
	return !(h->flags & KVM_MSR_FILTER_DEFAULT_DENY);
}

static uint32_t rand_base(void)
{
	switch (check_rng() % 5) {
	case 0:
		return check_rng() % 0x40;
	case 1:
		return 0x7c0 + check_rng() % 0x180; /* around the x2APIC MSRs */
	case 2:
		return 0xffffffffu - check_rng() % 0x400; /* near the top */
	case 3:
		return 0xc0000000u + check_rng() % 0x100;
	default:
		return check_rng() % 0x200;
	}
}

static void rand_filter(struct kvm_msr_filter *h)
{
	memset(h, 0, sizeof(*h));
	h->flags = check_rng() % 2 ? KVM_MSR_FILTER_DEFAULT_DENY : 0;
	for (unsigned i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
		struct kvm_msr_filter_range *r = &h->ranges[i];
		uint32_t k = check_rng() % 8;

		if (k < 3)
			continue; /* nmsrs 0 */
		r->nmsrs = k == 7 ? 1 + check_rng() % MAX_NMSRS : 1 + check_rng() % 150;
		r->base = rand_base();
		r->flags = 1 + check_rng() % 3;
		for (size_t j = 0; j < kvm_msr_filter_bitmap_len(r->nmsrs); j++)
			ref_bits[i][j] = (uint8_t)check_rng();
		r->bitmap = ref_bits[i];
	}
}

static uint32_t rand_msr(const struct kvm_msr_filter *h)
{
	const struct kvm_msr_filter_range *r = &h->ranges[check_rng() % KVM_MSR_FILTER_MAX_RANGES];

	switch (check_rng() % 4) {
	case 0:
		return check_rng() ^ (check_rng() << 16);
	case 1:
		return rand_base();
	default: /* in or just around a range */
		return r->base + check_rng() % (r->nmsrs + 8) - 4;
	}
}

static void test_random_vs_reference(void)
{
	struct kvm_msr_filter h;

	check_rng_seed(0x6d7366);
	for (int iter = 0; iter < 2000; iter++) {
		rand_filter(&h);
		if (kvm_msr_filter_wire_len(&h) == sizeof(h))
			h.flags = 0; /* an empty filter must allow by default */
		CHECK_EQ(parse(&h), 0);
		for (int n = 0; n < 200; n++) {
			uint32_t msr = rand_msr(&h);
			uint32_t type = check_rng() % 2 ? R : W;

			if (msr_filter_allowed(&filt, msr, type) != ref_allowed(&h, msr, type)) {
				char m[128];

				snprintf(m, sizeof(m), "iter %d msr 0x%x type %u", iter, msr, type);
				check_fail(__FILE__, __LINE__, m);
				return;
			}
		}
	}
}

/* The accept/refuse decision against the rules written out directly. */
static bool ref_valid(const struct kvm_msr_filter *h)
{
	bool empty = true;

	if (h->flags > 1)
		return false;
	for (unsigned i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
		const struct kvm_msr_filter_range *r = &h->ranges[i];

		if (!r->nmsrs)
			continue;
		empty = false;
		if (r->flags < 1 || r->flags > 3 || r->nmsrs > MAX_NMSRS)
			return false;
	}
	return !(empty && h->flags);
}

static void test_random_validation(void)
{
	static const uint32_t flags[] = {0, 1, 2, 3, 4, 5, 0x80000000u, 0xffffffffu};
	static const uint32_t nmsrs[] = {
	    0,		 1,	      63,	   64, 65, MAX_NMSRS - 1, MAX_NMSRS, MAX_NMSRS + 1,
	    0x7fffffffu, 0xffffffc0u, 0xffffffffu, 0};
	struct kvm_msr_filter h;
	size_t len;
	int want, got;

	check_rng_seed(0x76616c);
	for (int iter = 0; iter < 5000; iter++) {
		memset(&h, 0, sizeof(h));
		h.flags = check_rng() % 4 ? check_rng() % 2 : flags[check_rng() % 8];
		for (unsigned i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
			if (check_rng() % 3)
				continue;
			h.ranges[i].nmsrs = nmsrs[check_rng() % 12];
			h.ranges[i].flags =
			    check_rng() % 3 ? 1 + check_rng() % 3 : flags[check_rng() % 8];
			h.ranges[i].base = check_rng();
		}
		len = marshal(rec, &h);
		switch (check_rng() % 4) {
		case 0:
			len--;
			break;
		case 1:
			len++;
			break;
		}
		want = ref_valid(&h) && len == kvm_msr_filter_wire_len(&h) ? 0 : -HV_EINVAL;
		memcpy(&saved, &filt, sizeof(filt));
		got = msr_filter_parse(&filt, rec, len);
		CHECK_EQ(got, want);
		if (got)
			CHECK(!memcmp(&saved, &filt, sizeof(filt)));
	}
}

/* ---- allow-lists (abi/kvm_x86.h, this project's extension) ---- */

static long add_range(struct msr_allowlist *l, uint32_t flags, uint32_t base, uint32_t nmsrs,
		      uint64_t bits, size_t extra)
{
	static uint8_t rec[sizeof(struct hv_msr_allowlist) + HV_MSR_ALLOWLIST_MAX_BITMAP + 16];
	struct hv_msr_allowlist h = {.flags = flags, .nmsrs = nmsrs, .base = base};
	size_t bytes = ((size_t)nmsrs + 7) / 8;

	memset(rec, 0, sizeof(rec));
	memcpy(rec, &h, sizeof(h));
	memcpy(rec + sizeof(h), &bits, bytes < 8 ? bytes : 8);
	return msr_allowlist_add(
	    l, rec, sizeof(h) + (bytes <= HV_MSR_ALLOWLIST_MAX_BITMAP ? bytes : 0) + extra);
}

static void test_allowlist_rules(void)
{
	static struct msr_allowlist l;

	msr_allowlist_clear(&l);
	/* Empty: no say. */
	CHECK(msr_access_allowed(NULL, &l, 0x10, KVM_MSR_FILTER_READ));
	CHECK(msr_access_allowed(NULL, NULL, 0x10, KVM_MSR_FILTER_WRITE));
	CHECK_EQ(add_range(&l, HV_MSR_ALLOW_READ | HV_MSR_ALLOW_WRITE, 0x174, 3, 3, 0), 0);
	CHECK_EQ(add_range(&l, HV_MSR_ALLOW_READ, 0x277, 1, 1, 0), 0);
	CHECK(msr_access_allowed(NULL, &l, 0x174, KVM_MSR_FILTER_WRITE));
	CHECK(msr_access_allowed(NULL, &l, 0x175, KVM_MSR_FILTER_READ));
	CHECK(!msr_access_allowed(NULL, &l, 0x176, KVM_MSR_FILTER_READ)); /* bit clear */
	CHECK(msr_access_allowed(NULL, &l, 0x277, KVM_MSR_FILTER_READ));
	CHECK(!msr_access_allowed(NULL, &l, 0x277, KVM_MSR_FILTER_WRITE)); /* flag missing */
	CHECK(!msr_access_allowed(NULL, &l, 0x10, KVM_MSR_FILTER_READ));   /* no range */
	CHECK(msr_access_allowed(NULL, &l, 0x830, KVM_MSR_FILTER_WRITE));  /* x2APIC */
	/* Refusals leave the list as it was. */
	CHECK_EQ(add_range(&l, 0, 0x10, 1, 1, 0), -HV_EINVAL);
	CHECK_EQ(add_range(&l, 8, 0x10, 1, 1, 0), -HV_EINVAL);
	CHECK_EQ(add_range(&l, 1, 0x10, 0, 1, 0), -HV_EINVAL);
	CHECK_EQ(add_range(&l, 1, 0xffffffff, 2, 3, 0), -HV_EINVAL);
	CHECK_EQ(add_range(&l, 1, 0x176, 1, 1, 0), -HV_EINVAL);	   /* overlaps */
	CHECK_EQ(add_range(&l, 1, 0x100, 0x75, 1, 0), -HV_EINVAL); /* ends inside one */
	CHECK_EQ(add_range(&l, 1, 0x10, 1, 1, 1), -HV_EINVAL);	   /* a byte too many */
	CHECK_EQ(add_range(&l, 1, 0x1000, HV_MSR_ALLOWLIST_MAX_BITMAP * 8 + 1, 1, 0), -HV_E2BIG);
	CHECK_EQ(add_range(&l, 1, 0xffffffff, 1, 1, 0), 0); /* the last MSR fits */
	CHECK_EQ(l.count, 3);
	for (uint32_t k = 3; k < HV_MSR_ALLOWLIST_MAX_RANGES; k++)
		CHECK_EQ(add_range(&l, 1, 0x40000000 + 8 * k, 8, 0xff, 0), 0);
	CHECK_EQ(add_range(&l, 1, 0x50000000, 1, 1, 0), -HV_E2BIG);
	CHECK_EQ(add_range(&l, 1, 0x40000000 + 8 * 9, 8 * 100, 1, 0), -HV_E2BIG);
	CHECK(msr_access_allowed(NULL, &l, 0xffffffff, KVM_MSR_FILTER_READ));
	/* Both must allow: a filter denying 0x174 writes wins over the list. */
	uint8_t none[8] = {0};
	struct kvm_msr_filter h = {.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
				   .ranges = {{KVM_MSR_FILTER_WRITE, 1, 0x174, none}}};

	CHECK_EQ(parse(&h), 0);
	CHECK(!msr_access_allowed(&filt, &l, 0x174, KVM_MSR_FILTER_WRITE));
	CHECK(msr_access_allowed(&filt, &l, 0x174, KVM_MSR_FILTER_READ));
	msr_allowlist_clear(&l);
	CHECK_EQ(l.count, 0);
	CHECK(msr_access_allowed(NULL, &l, 0x10, KVM_MSR_FILTER_READ));
	CHECK(!msr_access_allowed(&filt, &l, 0x174, KVM_MSR_FILTER_WRITE));
	/* Cleared, a range that overlapped the old ones fits. */
	CHECK_EQ(add_range(&l, 1, 0x176, 1, 1, 0), 0);
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_allowlist_rules),
    TEST_ENTRY(test_allow_deny_by_bit),
    TEST_ENTRY(test_default_allow_vs_deny),
    TEST_ENTRY(test_read_only_range),
    TEST_ENTRY(test_first_match_wins),
    TEST_ENTRY(test_x2apic_unfiltered),
    TEST_ENTRY(test_null_filter),
    TEST_ENTRY(test_one_msr_reads_a_long),
    TEST_ENTRY(test_max_size),
    TEST_ENTRY(test_einval_rules),
    TEST_ENTRY(test_wrong_length),
    TEST_ENTRY(test_empty_ranges_skipped),
    TEST_ENTRY(test_base_near_top),
    TEST_ENTRY(test_refusal_keeps_previous),
    TEST_ENTRY(test_random_vs_reference),
    TEST_ENTRY(test_random_validation),
};

CHECK_MAIN(tests)
