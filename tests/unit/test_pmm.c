// SPDX-License-Identifier: MIT
/*
 * Unit tests of the physical page allocator. Physical memory is not
 * touched except for the bitmap, which phys_to_virt maps into a host
 * buffer ("the window"); any other translation is a test failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/lib/pmm.h"
#include "tests/unit/check.h"

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define TIB (1024ull * GIB)
#define PG  PMM_PAGE_SIZE

/* The host buffer standing in for physical [win_base, win_base + win_size). */
static uint8_t *win;
static uint64_t win_base, win_size;
static unsigned p2v_calls, p2v_misses;

static void set_window(uint64_t base, uint64_t size)
{
	free(win);
	win = malloc(size);
	win_base = base;
	win_size = size;
	p2v_calls = 0;
	p2v_misses = 0;
}

static void *test_p2v(uint64_t pa)
{
	p2v_calls++;
	if (pa < win_base || pa - win_base >= win_size) {
		p2v_misses++;
		return NULL;
	}
	return win + (pa - win_base);
}

static struct pmm pm;

/* The map of a small PC: 640 KiB low memory, 31 MiB above 1 MiB. */
static const struct mb2_region std_map[] = {
    {0x0, 0x9fc00, MB2_MEM_AVAILABLE},		 {0x9fc00, 0x400, MB2_MEM_RESERVED},
    {0xf0000, 0x10000, MB2_MEM_RESERVED},	 {0x100000, 0x1f00000, MB2_MEM_AVAILABLE},
    {0x2000000, 0x100000, MB2_MEM_ACPI_RECLAIM}, {0xfffc0000, 0x40000, MB2_MEM_RESERVED},
};

#define IMAGE_BASE  0x100000ull
#define IMAGE_END   0x180000ull
#define MODULE_BASE 0x400000ull
#define MODULE_END  0x480000ull

/* Image, one module, the info block (below 1 MiB, but listed anyway). */
static const struct phys_range std_reserved[] = {
    {IMAGE_BASE, IMAGE_END},
    {MODULE_BASE, MODULE_END},
    {0x10000, 0x10800},
};

static struct pmm_config cfg_of(const struct mb2_region *r, unsigned nr,
				const struct phys_range *res, unsigned nres)
{
	struct pmm_config c = {
	    .regions = r,
	    .n_regions = nr,
	    .reserved = res,
	    .n_reserved = nres,
	    .min_addr = 1 * MIB,
	    .phys_to_virt = test_p2v,
	};
	return c;
}

static int init_std(void)
{
	struct pmm_config c = cfg_of(std_map, 6, std_reserved, 3);

	set_window(0, 16 * MIB);
	return pmm_init(&pm, &c);
}

static bool overlaps(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	return a < d && c < b;
}

/*
 * Is the page at @pa one the allocator may hand out under @c: inside an
 * available entry, outside every other entry, every reservation, the
 * bitmap, and at or above min_addr?
 */
static bool page_allowed(const struct pmm_config *c, uint64_t pa)
{
	bool in_avail = false;
	unsigned i;

	if (pa % PG || pa < c->min_addr || pa == 0)
		return false;
	if (overlaps(pa, pa + PG, pm.bitmap_pa,
		     pm.bitmap_pa + ((pm.bitmap_bytes + PG - 1) & ~(PG - 1))))
		return false;
	for (i = 0; i < c->n_regions; i++) {
		const struct mb2_region *r = &c->regions[i];
		uint64_t end = r->base + r->len < r->base ? UINT64_MAX : r->base + r->len;

		if (!r->len)
			continue;
		if (r->type == MB2_MEM_AVAILABLE) {
			if (r->base <= pa && pa + PG <= end)
				in_avail = true;
		} else if (overlaps(pa, pa + PG, r->base, end)) {
			return false;
		}
	}
	for (i = 0; i < c->n_reserved; i++)
		if (overlaps(pa, pa + PG, c->reserved[i].base, c->reserved[i].end))
			return false;
	return in_avail;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Allocate until exhausted; every page must be allowed and distinct and
 * the count must equal the free count. Pages are returned in @out (the
 * caller frees it) and their number in @n. Returns a failure text or NULL.
 */
static const char *drain(const struct pmm_config *c, uint64_t **out, uint64_t *n)
{
	uint64_t want = pmm_free_pages(&pm), i, pa;
	uint64_t *pages = malloc((want + 1) * sizeof(*pages));

	*out = pages;
	*n = 0;
	while ((pa = pmm_alloc_page(&pm)) != 0) {
		if (*n == want)
			return "more pages allocated than were free";
		if (!page_allowed(c, pa))
			return "a forbidden page was handed out";
		pages[(*n)++] = pa;
	}
	if (*n != want)
		return "allocation stopped before the free count was used up";
	if (pmm_free_pages(&pm) != 0)
		return "free count not zero after exhaustion";
	qsort(pages, *n, sizeof(*pages), cmp_u64);
	for (i = 1; i < *n; i++)
		if (pages[i] == pages[i - 1])
			return "a page was handed out twice";
	return NULL;
}

#define CHECK_DRAIN(c, pages, n)                                                                   \
	do {                                                                                       \
		const char *why_ = drain((c), &(pages), &(n));                                     \
		if (why_) {                                                                        \
			free(pages);                                                               \
			check_fail(__FILE__, __LINE__, why_);                                      \
			return;                                                                    \
		}                                                                                  \
	} while (0)

static void test_std_layout(void)
{
	CHECK_EQ(init_std(), 0);
	CHECK_NO_WARNINGS();
	CHECK_EQ(p2v_calls, 1);
	CHECK_EQ(p2v_misses, 0);
	/* Usable: [0x180000,0x400000) 640 pages + [0x480000,0x2000000) 7040. */
	CHECK_EQ(pm.n_zones, 2);
	CHECK_EQ(pm.bitmap_pa, 0x180000);
	CHECK_EQ(pm.bitmap_bytes, (10 + 110) * 8);
	CHECK_EQ(pm.zones[0].base, 0x181000);
	CHECK_EQ(pm.zones[0].npages, 639);
	CHECK_EQ(pm.zones[1].base, 0x480000);
	CHECK_EQ(pm.zones[1].npages, 7040);
	CHECK_EQ(pmm_total_pages(&pm), 639 + 7040);
	CHECK_EQ(pmm_free_pages(&pm), 639 + 7040);
	CHECK_EQ(pmm_alloc_page(&pm), 0x181000);
	CHECK_EQ(pmm_alloc_page(&pm), 0x182000);
	CHECK_EQ(pmm_free_pages(&pm), 639 + 7040 - 2);
}

/* Exhaust, free all, exhaust again: the same set of pages comes back. */
static void test_exhaust_free_realloc(void)
{
	struct pmm_config c = cfg_of(std_map, 6, std_reserved, 3);
	uint64_t *a = NULL, *b = NULL, na, nb, i;

	set_window(0, 16 * MIB);
	CHECK_EQ(pmm_init(&pm, &c), 0);
	CHECK_DRAIN(&c, a, na);
	CHECK_EQ(na, 7679);
	CHECK_EQ(pmm_alloc_page(&pm), 0);
	CHECK_EQ(pmm_alloc_contig(&pm, 1, 1), 0);
	for (i = 0; i < na; i++)
		pmm_free_page(&pm, a[i]);
	CHECK_NO_WARNINGS();
	CHECK_EQ(pmm_free_pages(&pm), na);
	CHECK_DRAIN(&c, b, nb);
	CHECK_EQ(nb, na);
	CHECK(memcmp(a, b, na * sizeof(*a)) == 0);
	free(a);
	free(b);
}

static void test_double_free(void)
{
	uint64_t pa, before;

	CHECK_EQ(init_std(), 0);
	pa = pmm_alloc_page(&pm);
	pmm_free_page(&pm, pa);
	before = pmm_free_pages(&pm);
	pmm_free_page(&pm, pa);
	CHECK_EQ(pmm_free_pages(&pm), before);
	CHECK_LOGGED(LOG_WARN, "pmm: double free of 0x181000 ignored");
	/* A page never allocated is rejected the same way. */
	pmm_free_page(&pm, 0x1000000);
	CHECK_EQ(pmm_free_pages(&pm), before);
	CHECK_LOGGED(LOG_WARN, "double free of 0x1000000");
	/* The page is still handed out exactly once afterwards. */
	CHECK_EQ(pmm_alloc_page(&pm), pa);
	CHECK(pmm_alloc_page(&pm) != pa);
}

static void test_free_foreign(void)
{
	uint64_t before;

	CHECK_EQ(init_std(), 0);
	before = pmm_free_pages(&pm);
	pmm_free_page(&pm, IMAGE_BASE);
	CHECK_LOGGED(LOG_WARN, "free of 0x100000 ignored", "not an allocatable page");
	pmm_free_page(&pm, MODULE_BASE + 0x10000);
	CHECK_LOGGED(LOG_WARN, "free of 0x410000 ignored");
	pmm_free_page(&pm, pm.bitmap_pa);
	CHECK_LOGGED(LOG_WARN, "free of 0x180000 ignored");
	pmm_free_page(&pm, 0);
	CHECK_LOGGED(LOG_WARN, "free of 0x0 ignored");
	pmm_free_page(&pm, 0x9f000);
	pmm_free_page(&pm, 0x2000000); /* ACPI */
	pmm_free_page(&pm, 0x7000000000ull);
	pmm_free_page(&pm, 0x181800);
	CHECK_LOGGED(LOG_WARN, "unaligned address 0x181800");
	CHECK_EQ(logcap_count(LOG_WARN), 8);
	CHECK_EQ(pmm_free_pages(&pm), before);
	CHECK(logcap_all_prefixed("pmm: "));
}

/* Nothing reserved, image, module, info, bitmap or below 1 MiB, ever. */
static void test_never_forbidden(void)
{
	struct pmm_config c = cfg_of(std_map, 6, std_reserved, 3);
	uint64_t *pages = NULL, n, i;

	set_window(0, 16 * MIB);
	CHECK_EQ(pmm_init(&pm, &c), 0);
	CHECK_DRAIN(&c, pages, n);
	for (i = 0; i < n; i++) {
		if (pages[i] < 1 * MIB ||
		    overlaps(pages[i], pages[i] + PG, IMAGE_BASE, IMAGE_END) ||
		    overlaps(pages[i], pages[i] + PG, MODULE_BASE, MODULE_END) ||
		    pages[i] >= 0x2000000) {
			free(pages);
			CHECK(!"forbidden page");
		}
	}
	CHECK_EQ(pages[0], 0x181000);
	CHECK_EQ(pages[n - 1], 0x1fff000);
	free(pages);
}

/* A module overlapping the image: the union stays unallocatable. */
static void test_module_overlaps_image(void)
{
	static const struct phys_range res[] = {
	    {0x200000, 0x300000}, /* image */
	    {0x280000, 0x380800}, /* module, unaligned end */
	};
	struct pmm_config c = cfg_of(std_map, 6, res, 2);
	uint64_t *pages = NULL, n, i;

	set_window(0, 16 * MIB);
	CHECK_EQ(pmm_init(&pm, &c), 0);
	/* [1M,2M) 256 pages, [0x381000, 32M) */
	CHECK_EQ(pm.n_zones, 2);
	CHECK_EQ(pm.zones[1].base, 0x381000);
	CHECK_DRAIN(&c, pages, n);
	for (i = 0; i < n; i++) {
		if (overlaps(pages[i], pages[i] + PG, 0x200000, 0x381000)) {
			free(pages);
			CHECK(!"page inside the image or module handed out");
		}
	}
	free(pages);
}

/* Unsorted, overlapping, duplicated entries; reserved types win. */
static void test_overlapping_unsorted(void)
{
	static const struct mb2_region map[] = {
	    {0x3000000, 0x1000000, MB2_MEM_AVAILABLE}, /* 48-64M */
	    {0x1800000, 0x100000, MB2_MEM_RESERVED},   /* hole at 24M */
	    {0x100000, 0x2000000, MB2_MEM_AVAILABLE},  /* 1-33M */
	    {0x1000000, 0x1000000, MB2_MEM_AVAILABLE}, /* dup 16-32M */
	    {0x2fff000, 0x3000, MB2_MEM_ACPI_NVS},     /* straddles 48M */
	    {0x3400000, 0x10, MB2_MEM_BAD},	       /* 16 bytes bad */
	    {0x500000, 0, MB2_MEM_RESERVED},	       /* zero length */
	    {0x600000, 0x1000, 77},		       /* unknown type */
	};
	struct pmm_config c = cfg_of(map, 8, NULL, 0);
	uint64_t *pages = NULL, n;

	set_window(0, 16 * MIB);
	CHECK_EQ(pmm_init(&pm, &c), 0);
	CHECK_LOGGED(LOG_WARN, "overlaps reserved", "reserved wins");
	CHECK_LOGGED(LOG_WARN, "overlaps ACPI NVS");
	CHECK_LOGGED(LOG_DEBUG, "zero-length region at 0x500000");
	/*
	 * Usable: [1M,6M) [6M+4K,24M) [25M,33M) [48M+8K,52M) [52M+4K,64M).
	 * The bitmap takes the first page at 1 MiB.
	 */
	CHECK_EQ(pm.n_zones, 5);
	CHECK_EQ(pm.bitmap_pa, 0x100000);
	CHECK_EQ(pm.zones[0].base, 0x101000);
	CHECK_EQ(pm.zones[1].base, 0x601000);
	CHECK_EQ(pm.zones[1].npages, (0x1800000 - 0x601000) / PG);
	CHECK_EQ(pm.zones[2].base, 0x1900000);
	CHECK_EQ(pm.zones[2].npages, (0x2100000 - 0x1900000) / PG);
	CHECK_EQ(pm.zones[3].base, 0x3002000);
	CHECK_EQ(pm.zones[4].base, 0x3401000);
	CHECK_EQ(pm.zones[4].npages, (0x4000000 - 0x3401000) / PG);
	CHECK_DRAIN(&c, pages, n);
	CHECK_EQ(n, pmm_total_pages(&pm));
	free(pages);
}

/* Available rounds inward, reserved rounds outward. */
static void test_rounding(void)
{
	static const struct mb2_region map[] = {
	    {0x100800, 0x102000, MB2_MEM_AVAILABLE}, /* to 0x202800 */
	    {0x150800, 0x100, MB2_MEM_RESERVED},
	};
	static const struct phys_range res[] = {{0x1a0fff, 0x1a1001}};
	struct pmm_config c = cfg_of(map, 2, res, 1);
	uint64_t *pages = NULL, n;

	set_window(0, 16 * MIB);
	CHECK_EQ(pmm_init(&pm, &c), 0);
	/* [0x101000,0x150000) [0x151000,0x1a0000) [0x1a2000,0x202000) */
	CHECK_EQ(pm.n_zones, 3);
	CHECK_EQ(pm.bitmap_pa, 0x101000);
	CHECK_EQ(pm.zones[0].base, 0x102000);
	CHECK_EQ(pm.zones[0].npages, (0x150000 - 0x102000) / PG);
	CHECK_EQ(pm.zones[1].base, 0x151000);
	CHECK_EQ(pm.zones[1].npages, (0x1a0000 - 0x151000) / PG);
	CHECK_EQ(pm.zones[2].base, 0x1a2000);
	CHECK_EQ(pm.zones[2].npages, (0x202000 - 0x1a2000) / PG);
	CHECK_DRAIN(&c, pages, n);
	free(pages);
}

/* Entries wrapping past 2^64 are clamped and logged, never trusted. */
static void test_wrap_around(void)
{
	static const struct mb2_region map[] = {
	    {0x100000, UINT64_MAX, MB2_MEM_AVAILABLE},		/* wraps */
	    {0x2000000, UINT64_MAX - 0x1000, MB2_MEM_RESERVED}, /* wraps */
	    {0xfffffffffffff000ull, 0x2000, MB2_MEM_AVAILABLE}, /* wraps */
	};
	struct pmm_config c = cfg_of(map, 3, NULL, 0);
	uint64_t *pages = NULL, n;

	set_window(0, 16 * MIB);
	CHECK_EQ(pmm_init(&pm, &c), 0);
	CHECK_LOGGED(LOG_WARN,
		     "pmm: region 0x100000 + 0xffffffffffffffff (type 1) wraps past 2^64");
	CHECK_LOGGED(LOG_WARN, "region 0x2000000", "(type 2) wraps");
	CHECK_LOGGED(LOG_WARN, "region 0xfffffffffffff000", "wraps");
	CHECK_EQ(pm.n_zones, 1);
	CHECK_EQ(pm.bitmap_pa, 0x100000);
	CHECK_EQ(pm.zones[0].base, 0x101000);
	CHECK_EQ(pm.zones[0].npages, (0x2000000 - 0x101000) / PG);
	CHECK_DRAIN(&c, pages, n);
	free(pages);
}

static void test_zero_length_regions(void)
{
	static const struct mb2_region map[] = {
	    {0x100000, 0, MB2_MEM_AVAILABLE},
	    {0x200000, 0x100000, MB2_MEM_AVAILABLE},
	    {0x250000, 0, MB2_MEM_RESERVED},
	};
	struct pmm_config c = cfg_of(map, 3, NULL, 0);

	set_window(0, 16 * MIB);
	CHECK_EQ(pmm_init(&pm, &c), 0);
	CHECK_EQ(pm.n_zones, 1);
	CHECK_EQ(pmm_total_pages(&pm), 255);
	CHECK_NO_WARNINGS();
}

static void check_empty_pmm(void)
{
	CHECK_EQ(pmm_total_pages(&pm), 0);
	CHECK_EQ(pmm_free_pages(&pm), 0);
	CHECK_EQ(pmm_alloc_page(&pm), 0);
	CHECK_EQ(pmm_alloc_contig(&pm, 1, 1), 0);
	pmm_free_page(&pm, 0x200000); /* logged, harmless */
}

static void test_no_usable_memory(void)
{
	static const struct mb2_region map[] = {
	    {0x0, 0x9fc00, MB2_MEM_AVAILABLE}, /* below 1 MiB */
	    {0x100000, 0x1000000, MB2_MEM_RESERVED},
	    {0x2000000, 0x800, MB2_MEM_AVAILABLE},  /* < 1 page */
	    {0x3000800, 0x1000, MB2_MEM_AVAILABLE}, /* no whole page */
	};
	struct pmm_config c = cfg_of(map, 4, NULL, 0);

	set_window(0, 16 * MIB);
	memset(&pm, 0x5a, sizeof(pm));
	CHECK(pmm_init(&pm, &c) < 0);
	CHECK_LOGGED(LOG_ERROR, "pmm: no usable memory");
	CHECK_EQ(p2v_calls, 0);
	check_empty_pmm();
	if (check_why[0])
		return;

	c = cfg_of(NULL, 0, NULL, 0);
	CHECK(pmm_init(&pm, &c) < 0);
	check_empty_pmm();
}

/* Reservations covering all available memory leave nothing. */
static void test_all_reserved(void)
{
	static const struct phys_range res[] = {{0, 0x2000000}};
	struct pmm_config c = cfg_of(std_map, 6, res, 1);

	set_window(0, 16 * MIB);
	CHECK(pmm_init(&pm, &c) < 0);
	check_empty_pmm();
}

/* One usable page would be eaten by its own bitmap. */
static void test_only_bitmap_fits(void)
{
	static const struct mb2_region map[] = {
	    {0x100000, 0x1000, MB2_MEM_AVAILABLE},
	};
	struct pmm_config c = cfg_of(map, 1, NULL, 0);

	set_window(0, 16 * MIB);
	CHECK(pmm_init(&pm, &c) < 0);
	CHECK_LOGGED(LOG_ERROR, "no usable memory left after the bitmap");
	check_empty_pmm();
}

static void test_p2v_unmapped(void)
{
	struct pmm_config c = cfg_of(std_map, 6, std_reserved, 3);

	set_window(64 * MIB, 1 * MIB);
	CHECK(pmm_init(&pm, &c) < 0);
	CHECK_LOGGED(LOG_ERROR, "bitmap at 0x180000 is not mapped");
	check_empty_pmm();
	c.phys_to_virt = NULL;
	CHECK(pmm_init(&pm, &c) < 0);
	check_empty_pmm();
}

/* min_addr is honoured and page 0 is excluded even with min_addr 0. */
static void test_min_addr_and_page0(void)
{
	static const struct mb2_region map[] = {
	    {0x0, 0x9fc00, MB2_MEM_AVAILABLE},
	    {0x100000, 0x100000, MB2_MEM_AVAILABLE},
	};
	struct pmm_config c = cfg_of(map, 2, NULL, 0);
	uint64_t *pages = NULL, n;

	c.min_addr = 0;
	set_window(0, 16 * MIB);
	CHECK_EQ(pmm_init(&pm, &c), 0);
	CHECK_EQ(pm.bitmap_pa, 0x1000);
	CHECK_EQ(pm.zones[0].base, 0x2000);
	CHECK_DRAIN(&c, pages, n);
	CHECK_EQ(pages[0], 0x2000);
	free(pages);

	c.min_addr = 0x180001; /* rounds up to 0x181000 */
	CHECK_EQ(pmm_init(&pm, &c), 0);
	CHECK_EQ(pm.bitmap_pa, 0x181000);
	CHECK_EQ(pm.zones[0].base, 0x182000);
	CHECK_EQ(pmm_total_pages(&pm), (0x200000 - 0x182000) / PG);
}

static void test_max_addr(void)
{
	struct pmm_config c = cfg_of(std_map, 6, std_reserved, 3);

	c.max_addr = 0x1000800; /* rounds down to 16 MiB */
	set_window(0, 16 * MIB);
	CHECK_EQ(pmm_init(&pm, &c), 0);
	CHECK_EQ(pm.zones[pm.n_zones - 1].base + pm.zones[pm.n_zones - 1].npages * PG, 0x1000000);
	CHECK_EQ(pmm_total_pages(&pm), 639 + (0x1000000 - 0x480000) / PG);
	CHECK_LOGGED(LOG_INFO, "above max_addr 0x1000000 ignored");
	CHECK_NO_WARNINGS();
}

/* The bitmap goes to the first run big enough, after reservations. */
static void test_bitmap_placement(void)
{
	static const struct mb2_region map[] = {
	    {0x100000, 0x1000, MB2_MEM_AVAILABLE}, /* 1 page */
	    {0x1000000, 40000 * PG, MB2_MEM_AVAILABLE},
	};
	static const struct phys_range res[] = {{0x1000000, 0x1002000}};
	struct pmm_config c = cfg_of(map, 2, res, 1);

	set_window(0, 32 * MIB);
	CHECK_EQ(pmm_init(&pm, &c), 0);
	/* 1 + 625 words = 5008 bytes: 2 pages, too big for the 1-page run. */
	CHECK_EQ(pm.bitmap_bytes, 626 * 8);
	CHECK_EQ(pm.bitmap_pa, 0x1002000);
	CHECK_EQ(pm.n_zones, 2);
	CHECK_EQ(pm.zones[0].base, 0x100000);
	CHECK_EQ(pm.zones[1].base, 0x1004000);
	CHECK_EQ(pmm_total_pages(&pm), 1 + 40000 - 2 - 2);
}

/* A sparse map reaching 2^52 costs bitmap for usable pages only. */
static void test_sparse_high_region(void)
{
	static const struct mb2_region map[] = {
	    {0x100000, 0x700000, MB2_MEM_AVAILABLE},
	    {PMM_PHYS_LIMIT - 64 * MIB, 64 * MIB, MB2_MEM_AVAILABLE},
	    {PMM_PHYS_LIMIT, 64 * MIB, MB2_MEM_AVAILABLE}, /* beyond */
	};
	struct pmm_config c = cfg_of(map, 3, NULL, 0);
	uint64_t pa, n = 0, last = 0;

	set_window(0, 16 * MIB);
	CHECK_EQ(pmm_init(&pm, &c), 0);
	CHECK_LOGGED(LOG_WARN, "52-bit physical limit");
	CHECK_EQ(pm.n_zones, 2);
	CHECK_EQ(pm.bitmap_bytes, (1792 / 64 + 16384 / 64) * 8);
	CHECK_EQ(pmm_total_pages(&pm), 1792 + 16384 - 1);
	while ((pa = pmm_alloc_page(&pm)) != 0) {
		CHECK(pa > last);
		CHECK(pa < PMM_PHYS_LIMIT);
		last = pa;
		n++;
	}
	CHECK_EQ(n, 1792 + 16384 - 1);
	CHECK_EQ(last, PMM_PHYS_LIMIT - PG);
}

/* More usable runs than zones: the smallest are given up. */
static void test_too_many_runs(void)
{
	static struct mb2_region map[150];
	struct pmm_config c;
	unsigned i;

	for (i = 0; i < 150; i++) {
		map[i].base = 0x100000 + (uint64_t)i * 0x10000;
		map[i].len = (i < 22 ? 1 : 4) * PG;
		map[i].type = MB2_MEM_AVAILABLE;
	}
	c = cfg_of(map, 150, NULL, 0);
	set_window(0, 16 * MIB);
	CHECK_EQ(pmm_init(&pm, &c), 0);
	CHECK_LOGGED(LOG_WARN, "more than 128 usable runs", "22 pages");
	CHECK_EQ(pm.n_zones, PMM_MAX_ZONES);
	CHECK_EQ(pm.bitmap_pa, map[22].base);
	CHECK_EQ(pm.zones[0].base, map[22].base + PG);
	CHECK_EQ(pmm_total_pages(&pm), 128 * 4 - 1);
}

/* More usable memory than the bitmap cap describes: the top is left out. */
static void test_bitmap_cap(void)
{
	static const struct mb2_region map[] = {
	    {0x100000, 3 * TIB, MB2_MEM_AVAILABLE},
	};
	struct pmm_config c = cfg_of(map, 1, NULL, 0);
	uint64_t cap_pages = PMM_MAX_BITMAP_BYTES * 8;

	set_window(1 * MIB, PMM_MAX_BITMAP_BYTES + 1 * MIB);
	CHECK_EQ(pmm_init(&pm, &c), 0);
	CHECK_LOGGED(LOG_WARN, "bitmap capped at 64 MiB");
	CHECK_EQ(pm.bitmap_bytes, PMM_MAX_BITMAP_BYTES);
	CHECK_EQ(pmm_total_pages(&pm), cap_pages - PMM_MAX_BITMAP_BYTES / PG);
	CHECK_EQ(pmm_alloc_page(&pm), 0x100000 + PMM_MAX_BITMAP_BYTES);
	set_window(0, 1);
}

static void test_contig_aligned(void)
{
	uint64_t pa, q, before;
	int i;

	CHECK_EQ(init_std(), 0);
	before = pmm_free_pages(&pm);
	pa = pmm_alloc_contig(&pm, 16, 16);
	CHECK_EQ(pa, 0x190000);
	CHECK_EQ(pmm_free_pages(&pm), before - 16);
	/* Singles fill the gap below and never land inside the run. */
	for (i = 0; i < 15; i++) {
		q = pmm_alloc_page(&pm);
		CHECK_EQ(q, 0x181000 + (uint64_t)i * PG);
	}
	q = pmm_alloc_page(&pm);
	CHECK_EQ(q, 0x1a0000);
	/* Aligned candidates 0x184000..0x1a0000 are taken: skip aligned. */
	CHECK_EQ(pmm_alloc_contig(&pm, 4, 4), 0x1a4000);
	pmm_free_contig(&pm, 0x1a4000, 4);
	pmm_free_contig(&pm, pa, 16);
	CHECK_NO_WARNINGS();
	CHECK_EQ(pmm_alloc_contig(&pm, 16, 16), pa);
	/* 2 MiB aligned 2 MiB run: first fit is at 2 MiB. */
	CHECK_EQ(pmm_alloc_contig(&pm, 512, 512), 0x200000);
	/* Too big for zone 0, so from zone 1. */
	CHECK_EQ(pmm_alloc_contig(&pm, 700, 0), 0x480000);
	CHECK_EQ(pmm_alloc_contig(&pm, 1, 1024), 0x800000);
	/* Impossible sizes. */
	CHECK_EQ(pmm_alloc_contig(&pm, 8000, 1), 0);
	CHECK_EQ(pmm_alloc_contig(&pm, SIZE_MAX, 1), 0);
	CHECK_EQ(pmm_alloc_contig(&pm, 1, (size_t)1 << 41), 0);
}

static void test_contig_bad_args(void)
{
	uint64_t before;

	CHECK_EQ(init_std(), 0);
	before = pmm_free_pages(&pm);
	CHECK_EQ(pmm_alloc_contig(&pm, 0, 1), 0);
	CHECK_LOGGED(LOG_WARN, "allocation of 0 pages refused");
	CHECK_EQ(pmm_alloc_contig(&pm, 4, 3), 0);
	CHECK_LOGGED(LOG_WARN, "alignment of 3 pages invalid");
	CHECK_EQ(pmm_free_pages(&pm), before);
}

static void test_contig_fragmented(void)
{
	struct pmm_config c = cfg_of(std_map, 6, std_reserved, 3);
	uint64_t *pages = NULL, n, i;

	set_window(0, 16 * MIB);
	CHECK_EQ(pmm_init(&pm, &c), 0);
	CHECK_DRAIN(&c, pages, n);
	for (i = 0; i < n; i += 2)
		pmm_free_page(&pm, pages[i]);
	CHECK_EQ(pmm_free_pages(&pm), (n + 1) / 2);
	CHECK_EQ(pmm_alloc_contig(&pm, 2, 1), 0);
	/* Zone 1 starts at list index 639 (odd): 0x481000 and 0x483000 are free. */
	pmm_free_page(&pm, 0x482000);
	CHECK_NO_WARNINGS();
	free(pages);
	CHECK_EQ(pmm_alloc_contig(&pm, 3, 1), 0x481000);
	CHECK_EQ(pmm_alloc_contig(&pm, 2, 1), 0);
}

static void test_free_contig_checks(void)
{
	uint64_t pa, before;

	CHECK_EQ(init_std(), 0);
	pa = pmm_alloc_contig(&pm, 8, 1);
	CHECK_EQ(pa, 0x181000);
	pmm_free_page(&pm, pa + 3 * PG);
	before = pmm_free_pages(&pm);
	pmm_free_contig(&pm, pa, 8);
	CHECK_LOGGED(LOG_WARN, "page 0x184000 is not allocated");
	CHECK_EQ(pmm_free_pages(&pm), before);
	pmm_free_contig(&pm, 0x3ff000, 2); /* runs past zone 0 */
	CHECK_LOGGED(LOG_WARN, "runs past the usable run ending 0x400000");
	pmm_free_contig(&pm, pa, 0);
	CHECK_LOGGED(LOG_WARN, "free of 0 pages");
	pmm_free_contig(&pm, pa, 3);
	CHECK_EQ(pmm_free_pages(&pm), before + 3);
	pmm_free_contig(&pm, pa + 4 * PG, 4);
	CHECK_EQ(pmm_free_pages(&pm), before + 7);
}

/* Random alloc/free against a shadow model, fixed seed. */
static void test_random_stress(void)
{
	static uint64_t live[8192];
	uint64_t state = 12345, pa, total;
	unsigned n = 0, it, k;

	CHECK_EQ(init_std(), 0);
	total = pmm_total_pages(&pm);
	for (it = 0; it < 200000; it++) {
		state = state * 6364136223846793005ull + 1442695040888963407ull;
		k = (unsigned)(state >> 33);
		if (k % 3 != 0 || n == 0) {
			pa = pmm_alloc_page(&pm);
			if (n == total) {
				CHECK_EQ(pa, 0);
				continue;
			}
			CHECK(pa != 0);
			CHECK(pa >= 0x181000 && pa < 0x2000000);
			CHECK(!overlaps(pa, pa + PG, MODULE_BASE, MODULE_END));
			live[n++] = pa;
		} else {
			k = (k / 3) % n;
			pmm_free_page(&pm, live[k]);
			live[k] = live[--n];
		}
		CHECK_EQ(pmm_free_pages(&pm), total - n);
	}
	CHECK_NO_WARNINGS();
	/* Everything live is distinct. */
	qsort(live, n, sizeof(live[0]), cmp_u64);
	for (k = 1; k < n; k++)
		CHECK(live[k] != live[k - 1]);
}

static void test_collect_mb2_reserved(void)
{
	static struct mb2_info mb;
	struct phys_range r[PMM_MAX_ZONES];
	unsigned n;

	memset(&mb, 0, sizeof(mb));
	mb.info_phys = 0x10000;
	mb.total_size = 0x868;
	mb.n_modules = 2;
	mb.modules[0].start = 0x400000;
	mb.modules[0].end = 0x480000;
	mb.modules[1].start = 0x500000;
	mb.modules[1].end = 0x500123;
	mb.fb.present = true;
	mb.fb.addr = 0xfd000000;
	mb.fb.pitch = 4096;
	mb.fb.height = 768;
	n = pmm_collect_mb2_reserved(&mb, r, PMM_MAX_ZONES);
	CHECK_EQ(n, 4);
	CHECK_EQ(r[0].base, 0x10000);
	CHECK_EQ(r[0].end, 0x10868);
	CHECK_EQ(r[1].base, 0x400000);
	CHECK_EQ(r[1].end, 0x480001);
	CHECK_EQ(r[2].end, 0x500124);
	CHECK_EQ(r[3].base, 0xfd000000u);
	CHECK_EQ(r[3].end, 0xfd000000u + 4096 * 768);
	CHECK_NO_WARNINGS();
	n = pmm_collect_mb2_reserved(&mb, r, 2);
	CHECK_EQ(n, 2);
	CHECK_LOGGED(LOG_ERROR, "pmm: no room to reserve a module");
}

/* End to end: boot info, modules and image never come back. */
static void test_collect_then_allocate(void)
{
	static struct mb2_info mb;
	struct phys_range r[8];
	struct pmm_config c;
	uint64_t *pages = NULL, n, i;
	unsigned nr;

	memset(&mb, 0, sizeof(mb));
	mb.info_phys = 0x1ff0f8; /* straddles a page boundary */
	mb.total_size = 0x1000;
	mb.n_modules = 1;
	mb.modules[0].start = 0x300000;
	mb.modules[0].end = 0x301000; /* page-aligned exclusive end */
	nr = pmm_collect_mb2_reserved(&mb, r, 7);
	r[nr].base = IMAGE_BASE;
	r[nr].end = IMAGE_END;
	nr++;
	c = cfg_of(std_map, 6, r, nr);
	set_window(0, 16 * MIB);
	CHECK_EQ(pmm_init(&pm, &c), 0);
	CHECK_DRAIN(&c, pages, n);
	for (i = 0; i < n; i++) {
		if (overlaps(pages[i], pages[i] + PG, 0x1ff000, 0x201000) ||
		    overlaps(pages[i], pages[i] + PG, 0x300000, 0x302000) || pages[i] < IMAGE_END) {
			free(pages);
			CHECK(!"boot data handed out");
		}
	}
	free(pages);
}

static void test_inverted_reserved(void)
{
	static const struct phys_range res[] = {{0x500000, 0x400000}};
	struct pmm_config c = cfg_of(std_map, 6, res, 1);
	uint64_t *pages = NULL, n, i;

	set_window(0, 16 * MIB);
	CHECK_EQ(pmm_init(&pm, &c), 0);
	CHECK_LOGGED(LOG_ERROR, "reserved range 0 is inverted");
	CHECK_DRAIN(&c, pages, n);
	for (i = 0; i < n; i++) {
		if (overlaps(pages[i], pages[i] + PG, 0x400000, 0x500000)) {
			free(pages);
			CHECK(!"page inside an inverted reservation");
		}
	}
	free(pages);
}

static void test_dump(void)
{
	CHECK_EQ(init_std(), 0);
	pmm_alloc_page(&pm);
	logcap_reset();
	pmm_dump(&pm);
	CHECK(logcap_all_prefixed("pmm: "));
	CHECK_EQ(logcap_count(LOG_INFO), 3);
	CHECK_LOGGED(LOG_INFO, "usable [0x181000-0x400000) 639 pages, 638 free");
	CHECK_LOGGED(LOG_INFO, "usable [0x480000-0x2000000) 7040 pages");
	CHECK_LOGGED(LOG_INFO, "7678 of 7679 pages free", "in 2 runs",
		     "bitmap at 0x180000, 960 bytes");
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_std_layout),
    TEST_ENTRY(test_exhaust_free_realloc),
    TEST_ENTRY(test_double_free),
    TEST_ENTRY(test_free_foreign),
    TEST_ENTRY(test_never_forbidden),
    TEST_ENTRY(test_module_overlaps_image),
    TEST_ENTRY(test_overlapping_unsorted),
    TEST_ENTRY(test_rounding),
    TEST_ENTRY(test_wrap_around),
    TEST_ENTRY(test_zero_length_regions),
    TEST_ENTRY(test_no_usable_memory),
    TEST_ENTRY(test_all_reserved),
    TEST_ENTRY(test_only_bitmap_fits),
    TEST_ENTRY(test_p2v_unmapped),
    TEST_ENTRY(test_min_addr_and_page0),
    TEST_ENTRY(test_max_addr),
    TEST_ENTRY(test_bitmap_placement),
    TEST_ENTRY(test_sparse_high_region),
    TEST_ENTRY(test_too_many_runs),
    TEST_ENTRY(test_bitmap_cap),
    TEST_ENTRY(test_contig_aligned),
    TEST_ENTRY(test_contig_bad_args),
    TEST_ENTRY(test_contig_fragmented),
    TEST_ENTRY(test_free_contig_checks),
    TEST_ENTRY(test_random_stress),
    TEST_ENTRY(test_collect_mb2_reserved),
    TEST_ENTRY(test_collect_then_allocate),
    TEST_ENTRY(test_inverted_reserved),
    TEST_ENTRY(test_dump),
};

CHECK_MAIN(tests)
