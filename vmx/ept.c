// SPDX-License-Identifier: MIT
#include <string.h>

#include "hv/log.h"
#include "hv/mm.h"
#include "vmx/ept.h"
#include "vmx/vmx.h"
#include "vmx/vmx_controls.h"
#include "vmx/vmx_ops.h"

#define EPT_LEVELS 4
#define EPT_MEMTYPE_WB (6ull << 3)   /* leaf entries, bits 5:3 */
#define EPT_LARGE (1ull << 7)        /* a leaf at level 2 (2 MiB) */
#define EPT_ADDR_MASK 0x000ffffffffff000ull
#define EPTP_WB 6ull
#define EPTP_WALK_4 (3ull << 3)      /* page-walk length minus one */

static uint64_t *table(uint64_t pa)
{
	return phys_to_virt(pa);
}

static unsigned index_at(uint64_t gpa, int level)
{
	return (gpa >> (12 + 9 * (level - 1))) & 511;
}

int ept_init(struct ept *e)
{
	memset(e, 0, sizeof(*e));
	e->pml4 = page_alloc_zeroed();
	if (!e->pml4)
		return -1;
	e->tables = 1;
	e->eptp = e->pml4 | EPTP_WALK_4 | EPTP_WB;
	e->large_2m = vmx_caps.ept_vpid & VMX_CAP_EPT_2MB;
	return 0;
}

/* The table one level below entry *pte, created when absent. */
static uint64_t *next_table(struct ept *e, uint64_t *pte)
{
	if (!(*pte & EPT_RWX)) {
		uint64_t pa = page_alloc_zeroed();

		if (!pa)
			return NULL;
		e->tables++;
		/* Non-leaf: full permissions; the leaf decides. */
		*pte = pa | EPT_RWX;
	}
	return table(*pte & EPT_ADDR_MASK);
}

static int map_one(struct ept *e, uint64_t gpa, uint64_t hpa, int leaf_level, uint64_t prot)
{
	uint64_t *t = table(e->pml4);

	for (int level = EPT_LEVELS; level > leaf_level; level--) {
		uint64_t *pte = &t[index_at(gpa, level)];

		if (*pte & EPT_LARGE) {
			log_err("ept: 0x%llx already mapped by a large page", (unsigned long long)gpa);
			return -1;
		}
		t = next_table(e, pte);
		if (!t)
			return -1;
	}
	uint64_t *leaf = &t[index_at(gpa, leaf_level)];

	if (*leaf & EPT_RWX) {
		log_err("ept: 0x%llx already mapped", (unsigned long long)gpa);
		return -1;
	}
	*leaf = hpa | prot | EPT_MEMTYPE_WB | (leaf_level == 2 ? EPT_LARGE : 0);
	return 0;
}

int ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, uint64_t prot)
{
	const uint64_t two_mb = 2ull << 20;

	if ((gpa | hpa | size) & ~PAGE_MASK)
		return -1;
	while (size) {
		bool large = e->large_2m && !(gpa & (two_mb - 1)) &&
			     !(hpa & (two_mb - 1)) && size >= two_mb;
		uint64_t step = large ? two_mb : PAGE_SIZE;

		if (map_one(e, gpa, hpa, large ? 2 : 1, prot) < 0)
			return -1;
		gpa += step;
		hpa += step;
		size -= step;
	}
	return 0;
}

void ept_unmap(struct ept *e, uint64_t gpa, uint64_t size)
{
	uint64_t end = gpa + size;

	while (gpa < end) {
		uint64_t *t = table(e->pml4);
		int level = EPT_LEVELS;

		/* Walk to the leaf (a 2 MiB or 4 KiB entry) and clear it. */
		for (; level > 1; level--) {
			uint64_t pte = t[index_at(gpa, level)];

			if (!(pte & EPT_RWX) || (pte & EPT_LARGE))
				break;
			t = table(pte & EPT_ADDR_MASK);
		}
		t[index_at(gpa, level)] = 0;
		gpa += level == 2 ? 2ull << 20 : PAGE_SIZE;
	}
}

static void free_level(struct ept *e, uint64_t pa, int level)
{
	uint64_t *t = table(pa);

	if (level > 1)
		for (int i = 0; i < 512; i++)
			if ((t[i] & EPT_RWX) && !(t[i] & EPT_LARGE))
				free_level(e, t[i] & EPT_ADDR_MASK, level - 1);
	page_free(pa);
	e->tables--;
}

void ept_destroy(struct ept *e)
{
	if (e->pml4)
		free_level(e, e->pml4, EPT_LEVELS);
	e->pml4 = 0;
}

void ept_flush(const struct ept *e)
{
	uint32_t err;

	if (vmx_caps.ept_vpid & VMX_CAP_INVEPT_SINGLE)
		err = invept_safe(INVEPT_SINGLE_CONTEXT, e->eptp);
	else
		err = invept_safe(INVEPT_ALL_CONTEXT, 0);
	if (err)
		vmx_fail("invept", e->eptp, err);
}
