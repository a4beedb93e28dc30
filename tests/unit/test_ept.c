// SPDX-License-Identifier: MIT
/*
 * Unit tests of the EPT code (vmx/ept.c, compiled into this file) on the
 * host. Table pages come from a fake allocator over host memory (the
 * identity phys_to_virt makes their addresses "physical"); the addresses
 * the EPT maps to are never touched, so any value serves. INVEPT is
 * replaced by a recorder, so the tests can check that no page went back to
 * the allocator before the flush that follows its removal.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"
#include "vmx/vmx_ops.h"

static unsigned invept_calls;
static uint64_t invept_last_type;

static uint32_t test_invept(uint64_t type, uint64_t eptp)
{
	(void)eptp;
	invept_calls++;
	invept_last_type = type;
	return 0;
}

#define invept_safe test_invept
#include "vmx/ept.c"
#undef invept_safe

struct vmx_caps vmx_caps;

void vmx_fail(const char *insn, uint64_t operand, uint32_t err)
{
	fprintf(stderr, "vmx_fail %s 0x%llx %u\n", insn, (unsigned long long)operand, err);
	abort();
}

/* ---- the fake allocator ---- */

#define MAX_PAGES 4096

static void *live[MAX_PAGES];
static unsigned n_live, n_allocs, n_frees;
static int fail_after = -1; /* allocations left before one fails; -1: never */

uint64_t page_alloc_zeroed(void)
{
	void *p;

	if (fail_after == 0)
		return 0;
	if (fail_after > 0)
		fail_after--;
	p = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
	if (!p)
		abort();
	memset(p, 0, PAGE_SIZE);
	for (unsigned i = 0; i < MAX_PAGES; i++)
		if (!live[i]) {
			live[i] = p;
			n_live++;
			n_allocs++;
			return virt_to_phys(p);
		}
	abort();
}

void page_free(uint64_t pa)
{
	for (unsigned i = 0; i < MAX_PAGES; i++)
		if (live[i] == phys_to_virt(pa)) {
			free(live[i]);
			live[i] = NULL;
			n_live--;
			n_frees++;
			return;
		}
	fprintf(stderr, "page_free of 0x%llx: not allocated (double free?)\n",
		(unsigned long long)pa);
	abort();
}

/* A fresh EPT with 2 MiB leaves allowed, a 2^40 reach, counters reset. */
static void setup(struct ept *e)
{
	vmx_caps.ept_vpid = VMX_CAP_EPT_2MB | VMX_CAP_INVEPT | VMX_CAP_INVEPT_SINGLE;
	fail_after = -1;
	invept_calls = 0;
	CHECK_EQ(ept_init(e), 0);
	e->gpa_limit = 1ull << 40;
}

static bool mapped_to(const struct ept *e, uint64_t gpa, uint64_t want_hpa)
{
	uint64_t hpa, prot;

	return ept_lookup(e, gpa, &hpa, &prot) == 0 && hpa == want_hpa;
}

static bool unmapped(const struct ept *e, uint64_t gpa)
{
	uint64_t hpa, prot;

	return ept_lookup(e, gpa, &hpa, &prot) < 0;
}

#define HPA 0x80000000ull /* 2 MiB aligned; never dereferenced */
#define M2  0x200000ull

static void test_map_lookup_4k(void)
{
	struct ept e;
	uint64_t hpa, prot;

	setup(&e);
	CHECK_EQ(ept_map(&e, 0x10000, HPA + 0x5000, 0x3000, EPT_RWX), 0);
	CHECK(mapped_to(&e, 0x10000, HPA + 0x5000));
	CHECK(mapped_to(&e, 0x12000, HPA + 0x7000));
	CHECK(unmapped(&e, 0xf000));
	CHECK(unmapped(&e, 0x13000));
	CHECK_EQ(ept_lookup(&e, 0x11000, &hpa, &prot), 0);
	CHECK_EQ(prot, EPT_RWX);
	CHECK_EQ(e.tables, 4); /* PML4, PDPT, PD, PT */
	ept_destroy(&e);
	CHECK_EQ(n_live, 0);
}

static void test_map_refuses(void)
{
	struct ept e;

	setup(&e);
	CHECK_EQ(ept_map(&e, 0x10800, HPA, 0x1000, EPT_RWX), -HV_EINVAL);
	CHECK_EQ(ept_map(&e, 0x10000, HPA, 0x1000, EPT_W), -HV_EINVAL);
	CHECK_EQ(ept_map(&e, 0x10000, HPA, 0x1000, EPT_X), -HV_EINVAL); /* no execute-only */
	CHECK_EQ(ept_map(&e, 0x10000, HPA, 0x1000, 0), -HV_EINVAL);
	CHECK_EQ(ept_map(&e, 0xfffffffffffff000ull, HPA, 0x2000, EPT_RWX), -HV_EINVAL);
	CHECK_EQ(ept_map(&e, 0x10000, HPA, 0, EPT_RWX), 0);
	CHECK(unmapped(&e, 0x10000));
	ept_destroy(&e);
	CHECK_EQ(n_live, 0);
}

/* Nothing at or above gpa_limit: it would alias an address below 2^48. */
static void test_reach(void)
{
	struct ept e;

	setup(&e);
	CHECK_EQ(ept_map(&e, 0, HPA, 0x1000, EPT_RWX), 0);
	CHECK_EQ(ept_map(&e, 1ull << 40, HPA + 0x1000, 0x1000, EPT_RWX), -HV_EINVAL);
	CHECK_EQ(ept_map(&e, (1ull << 40) - 0x1000, HPA + 0x1000, 0x2000, EPT_RWX), -HV_EINVAL);
	CHECK_EQ(ept_map(&e, 1ull << 48, HPA + 0x1000, 0x1000, EPT_RWX), -HV_EINVAL);
	CHECK_EQ(ept_map(&e, (1ull << 40) - 0x1000, HPA + 0x1000, 0x1000, EPT_RWX), 0);
	CHECK(mapped_to(&e, (1ull << 40) - 0x1000, HPA + 0x1000));
	/* An unmap up there must not clear gpa 0 through the index alias. */
	CHECK_EQ(ept_unmap(&e, 1ull << 48, 0x1000), 0);
	CHECK_EQ(ept_unmap(&e, 1ull << 40, 0x1000), 0);
	CHECK(mapped_to(&e, 0, HPA));
	CHECK(unmapped(&e, 1ull << 48));
	ept_destroy(&e);
	CHECK_EQ(n_live, 0);
}

static void test_large_leaves(void)
{
	struct ept e;

	setup(&e);
	CHECK_EQ(ept_map(&e, M2, HPA, 2 * M2, EPT_RWX), 0);
	CHECK_EQ(e.tables, 3); /* no PT: two 2 MiB leaves */
	CHECK(mapped_to(&e, M2 + 0x1ff000, HPA + 0x1ff000));
	CHECK(mapped_to(&e, 2 * M2 + 0x1000, HPA + M2 + 0x1000));
	/* Unaligned host address: 4 KiB leaves. */
	CHECK_EQ(ept_map(&e, 4 * M2, HPA + 0x1000, M2, EPT_RWX), 0);
	CHECK_EQ(e.tables, 4);
	ept_destroy(&e);
	CHECK_EQ(n_live, 0);
}

/* One page out of the middle of a 2 MiB leaf: the rest stays, and so does the next leaf. */
static void test_unmap_inside_large(void)
{
	struct ept e;

	setup(&e);
	CHECK_EQ(ept_map(&e, M2, HPA, 2 * M2, EPT_RWX), 0);
	CHECK_EQ(ept_unmap(&e, M2 + 0x1000, 0x1000), 0);
	CHECK(mapped_to(&e, M2, HPA));
	CHECK(unmapped(&e, M2 + 0x1000));
	CHECK(mapped_to(&e, M2 + 0x2000, HPA + 0x2000));
	CHECK(mapped_to(&e, M2 + 0x1ff000, HPA + 0x1ff000));
	CHECK(mapped_to(&e, 2 * M2, HPA + M2));
	CHECK(mapped_to(&e, 3 * M2 - 0x1000, HPA + 2 * M2 - 0x1000));
	ept_destroy(&e);
	CHECK_EQ(n_live, 0);
}

/* A range from inside one 2 MiB leaf into the next: exactly that range goes. */
static void test_unmap_across_large(void)
{
	struct ept e;

	setup(&e);
	CHECK_EQ(ept_map(&e, M2, HPA, 2 * M2, EPT_R | EPT_X), 0);
	CHECK_EQ(ept_unmap(&e, 2 * M2 - 0x1000, 0x2000), 0);
	CHECK(mapped_to(&e, 2 * M2 - 0x2000, HPA + M2 - 0x2000));
	CHECK(unmapped(&e, 2 * M2 - 0x1000));
	CHECK(unmapped(&e, 2 * M2));
	CHECK(mapped_to(&e, 2 * M2 + 0x1000, HPA + M2 + 0x1000));
	CHECK(mapped_to(&e, M2, HPA));
	CHECK(mapped_to(&e, 3 * M2 - 0x1000, HPA + 2 * M2 - 0x1000));
	{
		uint64_t hpa, prot;

		CHECK_EQ(ept_lookup(&e, 2 * M2 + 0x1000, &hpa, &prot), 0);
		CHECK_EQ(prot, EPT_R | EPT_X); /* the split kept the permissions */
	}
	ept_destroy(&e);
	CHECK_EQ(n_live, 0);
}

/* No page for the split: nothing is removed. */
static void test_unmap_split_nomem(void)
{
	struct ept e;

	setup(&e);
	CHECK_EQ(ept_map(&e, M2, HPA, 2 * M2, EPT_RWX), 0);
	fail_after = 1; /* the first split succeeds, the second does not */
	CHECK_EQ(ept_unmap(&e, M2 + 0x1000, M2), -HV_ENOMEM);
	fail_after = -1;
	for (uint64_t g = M2; g < 3 * M2; g += 0x1000)
		CHECK(mapped_to(&e, g, HPA + (g - M2)));
	ept_destroy(&e);
	CHECK_EQ(n_live, 0);
}

/* A range partly mapped already: EEXIST and nothing new. */
static void test_map_overlap(void)
{
	struct ept e;

	setup(&e);
	CHECK_EQ(ept_map(&e, 0x12000, HPA, 0x1000, EPT_RWX), 0);
	CHECK_EQ(ept_map(&e, 0x10000, HPA + 0x10000, 0x4000, EPT_RWX), -HV_EEXIST);
	CHECK(unmapped(&e, 0x10000));
	CHECK(unmapped(&e, 0x11000));
	CHECK(mapped_to(&e, 0x12000, HPA));
	CHECK(unmapped(&e, 0x13000));
	/* Over a 2 MiB leaf. */
	CHECK_EQ(ept_map(&e, M2, HPA, M2, EPT_RWX), 0);
	CHECK_EQ(ept_map(&e, M2 + 0x5000, HPA, 0x1000, EPT_RWX), -HV_EEXIST);
	CHECK_EQ(ept_map(&e, M2 - 0x1000, HPA, 0x2000, EPT_RWX), -HV_EEXIST);
	CHECK(unmapped(&e, M2 - 0x1000));
	ept_destroy(&e);
	CHECK_EQ(n_live, 0);
}

/* A table allocation failing half-way: nothing of the range stays mapped. */
static void test_map_nomem_rolls_back(void)
{
	struct ept e;

	setup(&e);
	CHECK_EQ(ept_map(&e, 0, HPA, 0x1000, EPT_RWX), 0); /* PDPT, PD, PT exist */
	/* [2 MiB - 8 KiB, 2 MiB + 8 KiB): the second PT cannot be had. */
	fail_after = 0;
	CHECK_EQ(ept_map(&e, M2 - 0x2000, HPA + 0x10000, 0x4000, EPT_RWX), -HV_ENOMEM);
	fail_after = -1;
	CHECK(unmapped(&e, M2 - 0x2000));
	CHECK(unmapped(&e, M2 - 0x1000));
	CHECK(unmapped(&e, M2));
	CHECK(mapped_to(&e, 0, HPA));
	ept_destroy(&e);
	CHECK_EQ(n_live, 0);
}

/* Emptied tables are not freed before the INVEPT that ept_flush does. */
static void test_prune_then_flush(void)
{
	struct ept e;
	unsigned before;

	setup(&e);
	CHECK_EQ(ept_map(&e, 0x10000, HPA, 0x1000, EPT_RWX), 0);
	CHECK_EQ(ept_map(&e, 1ull << 39, HPA, 0x1000, EPT_RWX), 0); /* another PML4 entry */
	CHECK_EQ(e.tables, 7);
	CHECK_EQ(ept_unmap(&e, 0x10000, 0x1000), 0);
	before = n_frees;
	ept_prune(&e, 0x10000, 0x1000);
	CHECK_EQ(e.tables, 4);
	CHECK_EQ(e.n_retired, 3);
	CHECK_EQ(n_frees, before); /* nothing freed yet */
	invept_calls = 0;
	ept_flush(&e);
	CHECK_EQ(invept_calls, 1);
	CHECK_EQ(invept_last_type, INVEPT_SINGLE_CONTEXT);
	CHECK_EQ(n_frees, before + 3);
	CHECK_EQ(e.n_retired, 0);
	CHECK(mapped_to(&e, 1ull << 39, HPA));
	/* Pruning a range that still maps something keeps its tables. */
	ept_prune(&e, 1ull << 39, M2);
	CHECK_EQ(e.tables, 4);
	ept_destroy(&e);
	CHECK_EQ(n_live, 0);
}

/* A 2 MiB-aligned map over an emptied (not yet pruned) table: 4 KiB leaves under it. */
static void test_map_over_empty_table(void)
{
	struct ept e;

	setup(&e);
	CHECK_EQ(ept_map(&e, M2 + 0x1000, HPA + 0x1000, 0x1000, EPT_RWX), 0);
	CHECK_EQ(ept_unmap(&e, M2 + 0x1000, 0x1000), 0);
	CHECK_EQ(ept_map(&e, M2, HPA, 2 * M2, EPT_RWX), 0);
	CHECK(mapped_to(&e, M2, HPA));
	CHECK(mapped_to(&e, M2 + 0x1ff000, HPA + 0x1ff000));
	CHECK(mapped_to(&e, 2 * M2 + 0x1000, HPA + M2 + 0x1000));
	ept_destroy(&e);
	CHECK_EQ(n_live, 0);
}

/* Unmapping a huge absent range skips empty subtrees (this would take hours page by page). */
static void test_unmap_sparse_fast(void)
{
	struct ept e;

	setup(&e);
	CHECK_EQ(ept_map(&e, (1ull << 40) - 0x1000, HPA, 0x1000, EPT_RWX), 0);
	CHECK_EQ(ept_unmap(&e, 0, 1ull << 40), 0);
	CHECK(unmapped(&e, (1ull << 40) - 0x1000));
	ept_prune(&e, 0, 1ull << 40);
	CHECK_EQ(e.tables, 1);
	ept_destroy(&e);
	CHECK_EQ(n_live, 0);
}

/*
 * What vm.c does for a move that fails: unmap the old range, the new map
 * runs out of pages, the old range is mapped again, which must need no
 * page at all (its tables are all still there).
 */
static void test_move_rollback_needs_no_page(void)
{
	struct ept e;

	setup(&e);
	/* Old: 2 MiB leaf plus 4 KiB leaves after it. */
	CHECK_EQ(ept_map(&e, M2, HPA, M2 + 0x3000, EPT_RWX), 0);
	CHECK_EQ(ept_unmap(&e, M2, M2 + 0x3000), 0);
	/* New overlaps the old range, unaligned: a PT lands on the old leaf's entry. */
	fail_after = 1;
	CHECK_EQ(ept_map(&e, M2 + 0x1000, HPA, 1ull << 30, EPT_RWX), -HV_ENOMEM);
	CHECK(unmapped(&e, M2 + 0x1000));
	fail_after = 0; /* no page at all from here */
	CHECK_EQ(ept_map(&e, M2, HPA, M2 + 0x3000, EPT_RWX), 0);
	fail_after = -1;
	CHECK(mapped_to(&e, M2, HPA));
	CHECK(mapped_to(&e, M2 + 0x1ff000, HPA + 0x1ff000));
	CHECK(mapped_to(&e, 2 * M2 + 0x2000, HPA + M2 + 0x2000));
	CHECK(unmapped(&e, 2 * M2 + 0x3000));
	ept_prune(&e, M2 + 0x1000, 1ull << 30);
	CHECK(mapped_to(&e, M2 + 0x1000, HPA + 0x1000));
	ept_destroy(&e);
	CHECK_EQ(n_live, 0);
}

/* Without single-context INVEPT, all-context is used. */
static void test_flush_all_context(void)
{
	struct ept e;

	setup(&e);
	vmx_caps.ept_vpid &= ~(uint64_t)VMX_CAP_INVEPT_SINGLE;
	ept_flush(&e);
	CHECK_EQ(invept_last_type, INVEPT_ALL_CONTEXT);
	ept_destroy(&e);
	CHECK_EQ(n_live, 0);
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_map_lookup_4k),
    TEST_ENTRY(test_map_refuses),
    TEST_ENTRY(test_reach),
    TEST_ENTRY(test_large_leaves),
    TEST_ENTRY(test_unmap_inside_large),
    TEST_ENTRY(test_unmap_across_large),
    TEST_ENTRY(test_unmap_split_nomem),
    TEST_ENTRY(test_map_overlap),
    TEST_ENTRY(test_map_nomem_rolls_back),
    TEST_ENTRY(test_prune_then_flush),
    TEST_ENTRY(test_map_over_empty_table),
    TEST_ENTRY(test_unmap_sparse_fast),
    TEST_ENTRY(test_move_rollback_needs_no_page),
    TEST_ENTRY(test_flush_all_context),
};

CHECK_MAIN(tests)
