// SPDX-License-Identifier: MIT
#include <string.h>

#include "abi/errno.h"
#include "hv/lib/log.h"
#include "hv/lib/mm.h"
#include "hv/lib/x86.h"
#include "vmx/ept.h"
#include "vmx/vmx.h"
#include "vmx/vmx_controls.h"
#include "vmx/vmx_ops.h"

#define EPT_LEVELS     4
#define EPT_MEMTYPE_WB (6ull << 3) /* leaf entries, bits 5:3 */
#define EPT_LARGE      (1ull << 7) /* a leaf at level 2 (2 MiB) */
#define EPT_ADDR_MASK  0x000ffffffffff000ull
#define EPTP_WB	       6ull
#define EPTP_WALK_4    (3ull << 3) /* page-walk length minus one */
#define EPT_WALK_BITS  48	   /* what a 4-level walk translates */
#define SIZE_2M	       (2ull << 20)

/* Bytes one entry of a level-@level table covers (1: 4 KiB ... 4: 512 GiB). */
#define LEVEL_SIZE(level) (1ull << (12 + 9 * ((level)-1)))

static uint64_t *table(uint64_t pa)
{
	return phys_to_virt(pa);
}

static unsigned index_at(uint64_t gpa, int level)
{
	return (gpa >> (12 + 9 * (level - 1))) & 511;
}

static bool present(uint64_t pte)
{
	return pte & EPT_RWX;
}

uint64_t ept_cpu_gpa_limit(void)
{
	unsigned bits = 36;

	if (cpuid(0x80000000, 0).eax >= 0x80000008)
		bits = cpuid(0x80000008, 0).eax & 0xff;
	if (bits < 32 || bits > EPT_WALK_BITS)
		bits = bits < 32 ? 36 : EPT_WALK_BITS;
	return 1ull << bits;
}

int ept_init(struct ept *e)
{
	memset(e, 0, sizeof(*e));
	e->pml4 = page_alloc_zeroed();
	if (!e->pml4)
		return -HV_ENOMEM;
	e->tables = 1;
	e->eptp = e->pml4 | EPTP_WALK_4 | EPTP_WB;
	e->large_2m = vmx_caps.ept_vpid & VMX_CAP_EPT_2MB;
	e->gpa_limit = ept_cpu_gpa_limit();
	return 0;
}

/*
 * The entry that decides @gpa: a leaf (present, at level 1 or with
 * EPT_LARGE) or the first absent entry on the way down; *level is its
 * level. @gpa must be below gpa_limit (the walk ignores higher bits).
 */
static uint64_t *walk(const struct ept *e, uint64_t gpa, int *level)
{
	uint64_t *t = table(e->pml4);

	for (int l = EPT_LEVELS;; l--) {
		uint64_t *pte = &t[index_at(gpa, l)];

		if (l == 1 || !present(*pte) || (*pte & EPT_LARGE)) {
			*level = l;
			return pte;
		}
		t = table(*pte & EPT_ADDR_MASK);
	}
}

int ept_lookup(const struct ept *e, uint64_t gpa, uint64_t *hpa, uint64_t *prot)
{
	uint64_t *pte;
	int level;

	if (gpa >= e->gpa_limit)
		return -1;
	pte = walk(e, gpa, &level);
	if (!present(*pte))
		return -1;
	*hpa = (*pte & EPT_ADDR_MASK & ~(LEVEL_SIZE(level) - 1)) +
	       (gpa & (LEVEL_SIZE(level) - 1) & ~(PAGE_SIZE - 1));
	*prot = *pte & EPT_RWX;
	return 0;
}

/* Nothing in [gpa, end) is mapped (absent subtrees are skipped whole). */
static bool range_free(const struct ept *e, uint64_t gpa, uint64_t end)
{
	while (gpa < end) {
		int level;
		uint64_t *pte = walk(e, gpa, &level);

		if (present(*pte))
			return false;
		gpa = (gpa & ~(LEVEL_SIZE(level) - 1)) + LEVEL_SIZE(level);
	}
	return true;
}

/* Clear every leaf in [gpa, end); a 2 MiB leaf met here lies wholly inside. */
static void clear_range(struct ept *e, uint64_t gpa, uint64_t end)
{
	while (gpa < end) {
		int level;
		uint64_t *pte = walk(e, gpa, &level);

		if (present(*pte))
			*pte = 0;
		gpa = (gpa & ~(LEVEL_SIZE(level) - 1)) + LEVEL_SIZE(level);
	}
}

static uint64_t table_alloc(struct ept *e)
{
	uint64_t pa = page_alloc_zeroed();

	if (pa)
		e->tables++;
	return pa;
}

static int map_one(struct ept *e, uint64_t gpa, uint64_t hpa, int leaf_level, uint64_t prot)
{
	uint64_t *t = table(e->pml4), *leaf;

	for (int level = EPT_LEVELS; level > leaf_level; level--) {
		uint64_t *pte = &t[index_at(gpa, level)];

		if (!present(*pte)) {
			uint64_t pa = table_alloc(e);

			if (!pa)
				return -HV_ENOMEM;
			/* Non-leaf: full permissions; the leaf decides. */
			*pte = pa | EPT_RWX;
		} else if (*pte & EPT_LARGE) {
			return -HV_EEXIST; /* range_free() said otherwise: a bug */
		}
		t = table(*pte & EPT_ADDR_MASK);
	}
	leaf = &t[index_at(gpa, leaf_level)];
	if (present(*leaf))
		return -HV_EEXIST;
	*leaf = hpa | prot | EPT_MEMTYPE_WB | (leaf_level == 2 ? EPT_LARGE : 0);
	return 0;
}

static bool prot_ok(uint64_t prot)
{
	if (!prot || (prot & ~EPT_RWX))
		return false;
	if ((prot & EPT_W) && !(prot & EPT_R))
		return false; /* write without read: an EPT misconfiguration */
	if (!(prot & EPT_R) && !(vmx_caps.ept_vpid & VMX_CAP_EPT_EXEC_ONLY))
		return false;
	return true;
}

int ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, uint64_t prot)
{
	uint64_t done = 0;

	if ((gpa | hpa | size) & ~PAGE_MASK || !prot_ok(prot))
		return -HV_EINVAL;
	if (!size)
		return 0;
	if (gpa + size < gpa || gpa + size > e->gpa_limit || hpa + size < hpa ||
	    ((hpa + size - 1) & ~EPT_ADDR_MASK & ~(PAGE_SIZE - 1)))
		return -HV_EINVAL;
	if (!range_free(e, gpa, gpa + size))
		return -HV_EEXIST;
	while (done < size) {
		uint64_t g = gpa + done, h = hpa + done;
		bool large = false;
		int level, rc;

		if (e->large_2m && !(g & (SIZE_2M - 1)) && !(h & (SIZE_2M - 1)) &&
		    size - done >= SIZE_2M) {
			/* Only where no table hangs from the 2 MiB entry (it may be empty). */
			uint64_t *pte = walk(e, g, &level);

			large = !present(*pte) && level >= 2;
		}
		rc = map_one(e, g, h, large ? 2 : 1, prot);
		if (rc < 0) {
			clear_range(e, gpa, g); /* exactly what this call mapped */
			if (rc == -HV_EEXIST)
				log_err("ept: 0x%llx mapped behind range_free's back",
					(unsigned long long)g);
			return rc;
		}
		done += large ? SIZE_2M : PAGE_SIZE;
	}
	return 0;
}

/*
 * If the leaf deciding @at is a 2 MiB leaf that [start, end) covers only in
 * part, replace it by a table of 512 4 KiB leaves with the same
 * translations and attributes.
 */
static int split_partial(struct ept *e, uint64_t at, uint64_t start, uint64_t end)
{
	uint64_t *pte, *t, base, pa, attrs, hpa;
	int level;

	pte = walk(e, at, &level);
	if (!present(*pte) || level != 2)
		return 0;
	base = at & ~(SIZE_2M - 1);
	if (base >= start && base + SIZE_2M <= end)
		return 0;
	pa = table_alloc(e);
	if (!pa)
		return -HV_ENOMEM;
	t = table(pa);
	hpa = *pte & EPT_ADDR_MASK;
	attrs = *pte & ~EPT_ADDR_MASK & ~EPT_LARGE;
	for (unsigned i = 0; i < 512; i++)
		t[i] = (hpa + i * PAGE_SIZE) | attrs;
	*pte = pa | EPT_RWX;
	return 0;
}

int ept_unmap(struct ept *e, uint64_t gpa, uint64_t size)
{
	uint64_t end = gpa + size;
	int rc;

	if ((gpa | size) & ~PAGE_MASK || end < gpa)
		return -HV_EINVAL;
	if (end > e->gpa_limit)
		end = e->gpa_limit; /* nothing is mapped up there */
	if (gpa >= end)
		return 0;
	/* Only the first and the last leaf can stick out of the range. */
	rc = split_partial(e, gpa, gpa, end);
	if (!rc)
		rc = split_partial(e, end - PAGE_SIZE, gpa, end);
	if (rc < 0)
		return rc; /* a split alone changes no translation */
	clear_range(e, gpa, end);
	return 0;
}

/* Out of the tree; ept_flush frees it after its INVEPT. */
static void retire(struct ept *e, uint64_t pa)
{
	*table(pa) = e->retired;
	e->retired = pa;
	e->tables--;
	e->n_retired++;
}

/*
 * The table *pte points to, of level @level, covering from @base: prune
 * below it within [start, end), then retire it if it maps nothing.
 */
static void prune_table(struct ept *e, uint64_t *pte, int level, uint64_t base, uint64_t start,
			uint64_t end)
{
	uint64_t *t = table(*pte & EPT_ADDR_MASK), span = LEVEL_SIZE(level);
	unsigned first = start > base ? (unsigned)((start - base) / span) : 0;
	unsigned last = (unsigned)((end - 1 - base) / span);

	if (last > 511)
		last = 511;
	if (level > 1)
		for (unsigned i = first; i <= last; i++)
			if (present(t[i]) && !(t[i] & EPT_LARGE))
				prune_table(e, &t[i], level - 1, base + i * span, start, end);
	for (unsigned i = 0; i < 512; i++)
		if (t[i])
			return;
	retire(e, *pte & EPT_ADDR_MASK);
	*pte = 0;
}

void ept_prune(struct ept *e, uint64_t gpa, uint64_t size)
{
	uint64_t end = gpa + size, *root = table(e->pml4), span = LEVEL_SIZE(EPT_LEVELS);

	if (end < gpa || end > e->gpa_limit)
		end = e->gpa_limit;
	if (gpa >= end)
		return;
	for (unsigned i = index_at(gpa, EPT_LEVELS); i <= index_at(end - 1, EPT_LEVELS); i++)
		if (present(root[i]))
			prune_table(e, &root[i], EPT_LEVELS - 1, i * span, gpa, end);
}

static void free_level(struct ept *e, uint64_t pa, int level)
{
	uint64_t *t = table(pa);

	if (level > 1)
		for (int i = 0; i < 512; i++)
			if (present(t[i]) && !(t[i] & EPT_LARGE))
				free_level(e, t[i] & EPT_ADDR_MASK, level - 1);
	page_free(pa);
	e->tables--;
}

void ept_flush(struct ept *e)
{
	uint32_t err;

	if (vmx_caps.ept_vpid & VMX_CAP_INVEPT_SINGLE)
		err = invept_safe(INVEPT_SINGLE_CONTEXT, e->eptp);
	else
		err = invept_safe(INVEPT_ALL_CONTEXT, 0);
	if (err)
		vmx_fail("invept", e->eptp, err);
	/* No cached entry can reach them now. */
	while (e->retired) {
		uint64_t pa = e->retired;

		e->retired = *table(pa);
		page_free(pa);
		e->n_retired--;
	}
}

void ept_destroy(struct ept *e)
{
	if (!e->pml4)
		return;
	ept_flush(e);
	free_level(e, e->pml4, EPT_LEVELS);
	e->pml4 = 0;
}
