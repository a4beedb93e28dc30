/* SPDX-License-Identifier: MIT */
/*
 * The ioctl list of abi/kvm_ioctls.h: each row against abi/kvm.h (the
 * request's encoded size is its record's, an integer request has none),
 * against Linux's headers (test_kvm_ioctls_linux.c expands the same list on
 * <linux/kvm.h>: numbers, record sizes, count offsets, widths and entry
 * sizes must all agree), no number twice, and the record lengths
 * kvm_ioctl_record_len() gives, hostile counts and short headers included.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "abi/kvm_ioctls.h"
#include "tests/unit/check.h"

extern const struct kvm_ioctl_desc kvm_ioctls_linux[];
extern const size_t kvm_ioctls_linux_count;

/* A request number no row has: KVMIO, command 0xff, no record. */
#define UNKNOWN_NR HV_IO(KVMIO, 0xff)

/* This project's own requests (HV_IOCTL_LIST) come after Linux's. */
static size_t own_rows(void)
{
	size_t n = 0;

	for (size_t i = 0; i < kvm_ioctls_count; i++)
		n += !strncmp(kvm_ioctls[i].name, "HV_", 3);
	return n;
}

static void test_list_is_not_empty(void)
{
	CHECK(kvm_ioctls_count >= 30);
	CHECK_EQ(own_rows(), 2);
	CHECK_EQ(kvm_ioctls_count, kvm_ioctls_linux_count + own_rows());
}

/* An own request's number is none of the listed Linux requests' (Linux 6.1 has no KVMIO 0xf0/0xf1).
 */
static void test_own_rows_do_not_collide(void)
{
	for (size_t i = kvm_ioctls_linux_count; i < kvm_ioctls_count; i++) {
		CHECK(!strncmp(kvm_ioctls[i].name, "HV_", 3));
		for (size_t j = 0; j < kvm_ioctls_linux_count; j++)
			CHECK(HV_IOC_NR(kvm_ioctls[i].nr) != HV_IOC_NR(kvm_ioctls_linux[j].nr));
	}
	CHECK_EQ(HV_IOC_NR(HV_ADD_MSR_ALLOWLIST), 0xf0);
	CHECK_EQ(HV_IOC_NR(HV_CLEAR_MSR_ALLOWLIST), 0xf1);
}

/* HV_IOC_SIZE(nr) is the size of the row's record (or header); INT has none. */
static void test_sizes_match_records(void)
{
	for (size_t i = 0; i < kvm_ioctls_count; i++) {
		const struct kvm_ioctl_desc *d = &kvm_ioctls[i];

		CHECK_EQ(HV_IOC_TYPE(d->nr), KVMIO);
		CHECK_EQ(HV_IOC_SIZE(d->nr), d->size);
		if (d->shape == HV_SHAPE_INT) {
			CHECK_EQ(HV_IOC_DIR(d->nr), HV_IOC_NONE);
			CHECK_EQ(d->size, 0);
		} else {
			CHECK(HV_IOC_DIR(d->nr) != HV_IOC_NONE);
			CHECK(d->size > 0);
		}
		CHECK_EQ(d->fds & ~(HV_FD_SYSTEM | HV_FD_VM | HV_FD_VCPU), 0);
	}
}

/* A count lies inside its header; only counted rows have one. */
static void test_counted_fields(void)
{
	unsigned counted = 0;

	for (size_t i = 0; i < kvm_ioctls_count; i++) {
		const struct kvm_ioctl_desc *d = &kvm_ioctls[i];

		if (d->shape != HV_SHAPE_COUNTED) {
			CHECK_EQ(d->count_width, 0);
			CHECK_EQ(d->count_off, 0);
			CHECK_EQ(d->entry_size, 0);
			continue;
		}
		counted++;
		CHECK(d->count_width == 1 || d->count_width == 2 || d->count_width == 4 ||
		      d->count_width == 8);
		CHECK(d->count_off + d->count_width <= d->size);
		CHECK(d->entry_size > 0);
	}
	CHECK_EQ(counted, 7);
	CHECK_EQ(kvm_ioctl_find(KVM_GET_MSRS)->count_off, offsetof(struct kvm_msrs, nmsrs));
	CHECK_EQ(kvm_ioctl_find(KVM_GET_MSRS)->entry_size, sizeof(struct kvm_msr_entry));
	CHECK_EQ(kvm_ioctl_find(KVM_SET_CPUID2)->count_off, offsetof(struct kvm_cpuid2, nent));
	CHECK_EQ(kvm_ioctl_find(KVM_SET_CPUID2)->entry_size, sizeof(struct kvm_cpuid_entry2));
	CHECK_EQ(kvm_ioctl_find(KVM_GET_MSR_INDEX_LIST)->entry_size, sizeof(uint32_t));
}

/* Row by row, the same list measured on Linux's headers. */
static void test_matches_linux(void)
{
	for (size_t i = 0; i < kvm_ioctls_linux_count; i++) {
		const struct kvm_ioctl_desc *o = &kvm_ioctls[i], *l = &kvm_ioctls_linux[i];

		CHECK_STR(o->name, l->name);
		CHECK_EQ(o->nr, l->nr);
		CHECK_EQ(o->shape, l->shape);
		CHECK_EQ(o->fds, l->fds);
		CHECK_EQ(o->size, l->size);
		CHECK_EQ(o->count_off, l->count_off);
		CHECK_EQ(o->count_width, l->count_width);
		CHECK_EQ(o->entry_size, l->entry_size);
	}
}

static void test_no_duplicates(void)
{
	for (size_t i = 0; i < kvm_ioctls_count; i++)
		for (size_t j = i + 1; j < kvm_ioctls_count; j++) {
			CHECK(kvm_ioctls[i].nr != kvm_ioctls[j].nr);
			CHECK(strcmp(kvm_ioctls[i].name, kvm_ioctls[j].name) != 0);
		}
}

static void test_find_and_names(void)
{
	for (size_t i = 0; i < kvm_ioctls_count; i++) {
		CHECK(kvm_ioctl_find(kvm_ioctls[i].nr) == &kvm_ioctls[i]);
		CHECK_STR(kvm_ioctl_name(kvm_ioctls[i].nr), kvm_ioctls[i].name);
	}
	CHECK_STR(kvm_ioctl_name(KVM_GET_MSRS), "KVM_GET_MSRS");
	CHECK(kvm_ioctl_find(UNKNOWN_NR) == NULL);
	CHECK(kvm_ioctl_name(UNKNOWN_NR) == NULL);
	/* Bits above the 32 of a request number do not alias a known one. */
	CHECK(kvm_ioctl_find((1ul << 32) | KVM_RUN) == NULL);
	/* Served where Linux serves them. */
	CHECK_EQ(kvm_ioctl_find(KVM_CHECK_EXTENSION)->fds, HV_FD_SYSTEM | HV_FD_VM);
	CHECK_EQ(kvm_ioctl_find(KVM_ENABLE_CAP)->fds, HV_FD_VM | HV_FD_VCPU);
	CHECK_EQ(kvm_ioctl_find(KVM_RUN)->fds, HV_FD_VCPU);
	CHECK_EQ(kvm_ioctl_find(KVM_GET_NESTED_STATE)->fds, HV_FD_NONE);
}

static void test_record_len_fixed(void)
{
	struct kvm_regs regs;

	CHECK_EQ(kvm_ioctl_record_len(KVM_RUN, NULL, 0), 0);
	CHECK_EQ(kvm_ioctl_record_len(KVM_CHECK_EXTENSION, NULL, SIZE_MAX), 0);
	CHECK_EQ(kvm_ioctl_record_len(KVM_GET_REGS, &regs, SIZE_MAX), sizeof(regs));
	/* The record's size whatever is available: the caller compares. */
	CHECK_EQ(kvm_ioctl_record_len(KVM_SET_REGS, &regs, 3), sizeof(regs));
	/* Unknown: what the number encodes. */
	CHECK_EQ(kvm_ioctl_record_len(HV_IOWR(KVMIO, 0xfe, struct kvm_sregs), NULL, 0),
		 sizeof(struct kvm_sregs));
	CHECK_EQ(kvm_ioctl_record_len(UNKNOWN_NR, NULL, 0), 0);
}

static void test_record_len_counted(void)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[3];
	} msrs = {.h.nmsrs = 3};
	struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[2];
	} cpuid = {.h.nent = 2};
	struct kvm_msr_list list = {.nmsrs = 5};

	CHECK_EQ(kvm_ioctl_record_len(KVM_GET_MSRS, &msrs, sizeof(msrs)), sizeof(msrs));
	CHECK_EQ(kvm_ioctl_record_len(KVM_SET_MSRS, &msrs, SIZE_MAX), 8 + 3 * 16);
	CHECK_EQ(kvm_ioctl_record_len(KVM_SET_CPUID2, &cpuid, sizeof(cpuid)), sizeof(cpuid));
	CHECK_EQ(kvm_ioctl_record_len(KVM_GET_MSR_INDEX_LIST, &list, sizeof(list)), 4 + 5 * 4);
	/* More entries named than there are bytes: longer than avail. */
	msrs.h.nmsrs = 4;
	CHECK(kvm_ioctl_record_len(KVM_GET_MSRS, &msrs, sizeof(msrs)) > sizeof(msrs));
	/* The largest 32-bit count, computed without truncation. */
	msrs.h.nmsrs = UINT32_MAX;
	CHECK_EQ(kvm_ioctl_record_len(KVM_GET_MSRS, &msrs, sizeof(msrs)),
		 (uint64_t)8 + (uint64_t)UINT32_MAX * 16);
	cpuid.h.nent = UINT32_MAX;
	CHECK_EQ(kvm_ioctl_record_len(KVM_GET_CPUID2, &cpuid, sizeof(cpuid)),
		 (uint64_t)8 + (uint64_t)UINT32_MAX * 40);
}

/* A header shorter than avail: its size comes back, and the count is not read. */
static void test_record_len_short_header(void)
{
	/* Heap bytes, so that AddressSanitizer sees a read past them. */
	uint8_t *p = malloc(7);

	CHECK(p);
	memset(p, 0xff, 7);
	CHECK_EQ(kvm_ioctl_record_len(KVM_GET_MSRS, p, 7), sizeof(struct kvm_msrs));
	CHECK_EQ(kvm_ioctl_record_len(KVM_GET_SUPPORTED_CPUID, p, 0), sizeof(struct kvm_cpuid2));
	CHECK_EQ(kvm_ioctl_record_len(KVM_GET_MSR_INDEX_LIST, p, 3), sizeof(struct kvm_msr_list));
	free(p);
}

/* A count whose entries do not fit a size_t: SIZE_MAX, never a wrapped size. */
static void test_record_len_overflow(void)
{
	const struct kvm_ioctl_desc wide = {
	    .nr = UNKNOWN_NR,
	    .name = "WIDE",
	    .shape = HV_SHAPE_COUNTED,
	    .size = 16,
	    .count_off = 8,
	    .count_width = 8,
	    .entry_size = 40,
	};
	const struct kvm_ioctl_desc bad = {
	    .nr = UNKNOWN_NR,
	    .name = "BAD",
	    .shape = HV_SHAPE_COUNTED,
	    .size = 8,
	    .count_off = 6,
	    .count_width = 4,
	    .entry_size = 4,
	};
	uint64_t hdr[2] = {0, UINT64_MAX};
	uint64_t fits = (SIZE_MAX - 16) / 40;

	CHECK_EQ(kvm_ioctl_counted_len(&wide, hdr, sizeof(hdr)), SIZE_MAX);
	hdr[1] = fits + 1;
	CHECK_EQ(kvm_ioctl_counted_len(&wide, hdr, sizeof(hdr)), SIZE_MAX);
	hdr[1] = fits;
	CHECK_EQ(kvm_ioctl_counted_len(&wide, hdr, sizeof(hdr)), 16 + fits * 40);
	hdr[1] = 2;
	CHECK_EQ(kvm_ioctl_counted_len(&wide, hdr, sizeof(hdr)), 16 + 2 * 40);
	CHECK_EQ(kvm_ioctl_counted_len(&wide, hdr, 15), 16);
	/* A count that would straddle the header's end is not read. */
	CHECK_EQ(kvm_ioctl_counted_len(&bad, hdr, sizeof(hdr)), 8);
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_list_is_not_empty),	  TEST_ENTRY(test_own_rows_do_not_collide),
    TEST_ENTRY(test_sizes_match_records), TEST_ENTRY(test_counted_fields),
    TEST_ENTRY(test_matches_linux),	  TEST_ENTRY(test_no_duplicates),
    TEST_ENTRY(test_find_and_names),	  TEST_ENTRY(test_record_len_fixed),
    TEST_ENTRY(test_record_len_counted),  TEST_ENTRY(test_record_len_short_header),
    TEST_ENTRY(test_record_len_overflow),
};

CHECK_MAIN(tests)
