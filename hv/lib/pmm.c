// SPDX-License-Identifier: MIT
/*
 * Physical page allocator.
 *
 * Sanitizing the map: rather than sorting and merging a copy (which would
 * need scratch memory before there is an allocator), pmm_init sweeps the
 * raw map upwards and asks, at each point, "where does the next usable
 * run start and end?". A point is usable when some available entry covers
 * it (entries rounded inward to pages) and no blocker does (non-available
 * entries and reserved ranges, rounded outward). This gives sorted,
 * overlap-free runs in which the more restrictive type always wins, at a
 * cost of O(n^2) over a map of at most a few hundred entries, once.
 */
#include <stdbool.h>
#include <string.h>

#include "hv/lib/log.h"
#include "hv/lib/pmm.h"

#define PAGE_MASK (PMM_PAGE_SIZE - 1)
#define MIB	  (1024ull * 1024ull)

/* How many overlaps are listed one by one before a summary line. */
#define OVERLAPS_LISTED 4

/* The bounds within which usable memory may lie, page aligned. */
struct sweep {
	const struct pmm_config *cfg;
	uint64_t lo;
	uint64_t hi;
};

static uint64_t round_down(uint64_t a)
{
	return a & ~PAGE_MASK;
}

/* Round up, saturating at the last page boundary instead of wrapping. */
static uint64_t round_up_sat(uint64_t a)
{
	if (a > UINT64_MAX - PAGE_MASK)
		return round_down(UINT64_MAX);
	return (a + PAGE_MASK) & ~PAGE_MASK;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static bool wraps(const struct mb2_region *r)
{
	return r->base > UINT64_MAX - r->len;
}

/* Extent of a map entry; a wrapping entry is clamped at the top. */
static uint64_t region_end(const struct mb2_region *r)
{
	return wraps(r) ? UINT64_MAX : r->base + r->len;
}

/* Available entry @i rounded inward and clipped to the sweep bounds. */
static bool avail_span(const struct sweep *sw, unsigned i, struct phys_range *s)
{
	const struct mb2_region *r = &sw->cfg->regions[i];

	if (r->type != MB2_MEM_AVAILABLE || !r->len)
		return false;
	s->base = max_u64(round_up_sat(r->base), sw->lo);
	s->end = min_u64(round_down(region_end(r)), sw->hi);
	return s->base < s->end;
}

/*
 * Blocker @i rounded outward: the map's non-available entries first, then
 * the caller's reserved ranges. An inverted reserved range is taken with
 * its ends swapped: blocking too much is safe, blocking nothing is not.
 */
static bool block_span(const struct sweep *sw, unsigned i, struct phys_range *s)
{
	const struct pmm_config *cfg = sw->cfg;
	uint64_t b, e;

	if (i < cfg->n_regions) {
		const struct mb2_region *r = &cfg->regions[i];

		if (r->type == MB2_MEM_AVAILABLE || !r->len)
			return false;
		b = r->base;
		e = region_end(r);
	} else {
		const struct phys_range *rr = &cfg->reserved[i - cfg->n_regions];

		b = min_u64(rr->base, rr->end);
		e = max_u64(rr->base, rr->end);
		if (b == e)
			return false;
	}
	s->base = round_down(b);
	s->end = round_up_sat(e);
	return true;
}

static unsigned n_blockers(const struct sweep *sw)
{
	return sw->cfg->n_regions + sw->cfg->n_reserved;
}

/* Lowest available address >= @from, or false if there is none. */
static bool next_available(const struct sweep *sw, uint64_t from, uint64_t *at)
{
	struct phys_range s;
	bool found = false;
	unsigned i;

	for (i = 0; i < sw->cfg->n_regions; i++) {
		if (!avail_span(sw, i, &s) || s.end <= from)
			continue;
		if (!found || max_u64(s.base, from) < *at)
			*at = max_u64(s.base, from);
		found = true;
	}
	return found;
}

/* End of the furthest blocker covering @a, or 0 if none covers it. */
static uint64_t blocked_until(const struct sweep *sw, uint64_t a)
{
	struct phys_range s;
	uint64_t until = 0;
	unsigned i;

	for (i = 0; i < n_blockers(sw); i++)
		if (block_span(sw, i, &s) && s.base <= a && a < s.end)
			until = max_u64(until, s.end);
	return until;
}

/* End of the available coverage that starts at @a (chaining entries). */
static uint64_t available_until(const struct sweep *sw, uint64_t a)
{
	struct phys_range s;
	uint64_t end = a;
	bool grew = true;
	unsigned i;

	while (grew) {
		grew = false;
		for (i = 0; i < sw->cfg->n_regions; i++) {
			if (avail_span(sw, i, &s) && s.base <= end && s.end > end) {
				end = s.end;
				grew = true;
			}
		}
	}
	return end;
}

/* First blocker start inside (a, end), else end. */
static uint64_t clip_at_blocker(const struct sweep *sw, uint64_t a, uint64_t end)
{
	struct phys_range s;
	unsigned i;

	for (i = 0; i < n_blockers(sw); i++)
		if (block_span(sw, i, &s) && s.base > a && s.base < end)
			end = s.base;
	return end;
}

/* The next usable run starting at or after @from. */
static bool next_usable(const struct sweep *sw, uint64_t from, struct phys_range *run)
{
	uint64_t a = from, until;

	for (;;) {
		if (!next_available(sw, a, &a))
			return false;
		until = blocked_until(sw, a);
		if (!until)
			break;
		a = until; /* strictly greater: the sweep always advances */
	}
	run->base = a;
	run->end = clip_at_blocker(sw, a, available_until(sw, a));
	return true;
}

/*
 * Keep zones sorted; once the table is full, the smallest run (new or
 * old) is the one given up, so the memory lost is as little as possible.
 */
static void add_zone(struct pmm *p, const struct phys_range *run, uint64_t *dropped)
{
	uint64_t npages = (run->end - run->base) >> PMM_PAGE_SHIFT;
	struct pmm_zone *z = p->zones;
	unsigned i, s = 0;

	if (p->n_zones == PMM_MAX_ZONES) {
		for (i = 1; i < p->n_zones; i++)
			if (z[i].npages < z[s].npages)
				s = i;
		if (z[s].npages >= npages) {
			*dropped += npages;
			return;
		}
		*dropped += z[s].npages;
		memmove(&z[s], &z[s + 1], (p->n_zones - s - 1) * sizeof(*z));
		p->n_zones--;
	}
	z = &p->zones[p->n_zones++];
	z->base = run->base;
	z->npages = npages;
}

static void build_zones(struct pmm *p, const struct sweep *sw)
{
	struct phys_range run;
	uint64_t from = sw->lo, dropped = 0;

	while (from < sw->hi && next_usable(sw, from, &run)) {
		/* Cannot happen; but a stuck sweep would hang the boot. */
		if (run.end <= run.base || run.base < from) {
			log_err("pmm: map sweep stalled at 0x%lx (bug)", (unsigned long)from);
			break;
		}
		add_zone(p, &run, &dropped);
		from = run.end;
	}
	if (dropped)
		log_warn(
		    "pmm: more than %u usable runs; %lu pages in the smallest runs left unused",
		    PMM_MAX_ZONES, (unsigned long)dropped);
}

/* Log what the sweep silently fixes, so a broken firmware map is visible. */
static void report_region(const struct sweep *sw, const struct mb2_region *r)
{
	if (!r->len) {
		log_debug("pmm: zero-length region at 0x%lx (type %u) dropped",
			  (unsigned long)r->base, r->type);
		return;
	}
	if (wraps(r))
		log_warn("pmm: region 0x%lx + 0x%lx (type %u) wraps past 2^64; clamped",
			 (unsigned long)r->base, (unsigned long)r->len, r->type);
	if (r->type != MB2_MEM_AVAILABLE || region_end(r) <= sw->hi)
		return;
	/* Past 2^52 the map is wrong; below it the caller chose a limit. */
	if (region_end(r) > PMM_PHYS_LIMIT)
		log_warn("pmm: available region [0x%lx-0x%lx) reaches past the 52-bit physical "
			 "limit; the excess is ignored",
			 (unsigned long)r->base, (unsigned long)region_end(r));
	else
		log_info("pmm: available memory [0x%lx-0x%lx) above max_addr 0x%lx ignored",
			 (unsigned long)max_u64(r->base, sw->hi), (unsigned long)region_end(r),
			 (unsigned long)sw->hi);
}

static bool overlap(const struct mb2_region *a, const struct mb2_region *b)
{
	return a->len && b->len && a->base < region_end(b) && b->base < region_end(a);
}

static void report_overlaps(const struct pmm_config *cfg)
{
	const struct mb2_region *a, *b;
	unsigned i, j, n = 0;

	for (i = 0; i < cfg->n_regions; i++) {
		a = &cfg->regions[i];
		if (a->type != MB2_MEM_AVAILABLE)
			continue;
		for (j = 0; j < cfg->n_regions; j++) {
			b = &cfg->regions[j];
			if (b->type == MB2_MEM_AVAILABLE || !overlap(a, b))
				continue;
			if (n++ < OVERLAPS_LISTED)
				log_warn("pmm: available [0x%lx-0x%lx) overlaps %s [0x%lx-0x%lx); "
					 "%s wins",
					 (unsigned long)a->base, (unsigned long)region_end(a),
					 mb2_region_type_name(b->type), (unsigned long)b->base,
					 (unsigned long)region_end(b),
					 mb2_region_type_name(b->type));
		}
	}
	if (n > OVERLAPS_LISTED)
		log_warn("pmm: %u more overlaps of available memory not listed",
			 n - OVERLAPS_LISTED);
}

static void report_map(const struct sweep *sw)
{
	const struct pmm_config *cfg = sw->cfg;
	unsigned i;

	for (i = 0; i < cfg->n_regions; i++)
		report_region(sw, &cfg->regions[i]);
	report_overlaps(cfg);
	for (i = 0; i < cfg->n_reserved; i++)
		if (cfg->reserved[i].end < cfg->reserved[i].base)
			log_err("pmm: reserved range %u is inverted [0x%lx-0x%lx); reserving "
				"[0x%lx-0x%lx)",
				i, (unsigned long)cfg->reserved[i].base,
				(unsigned long)cfg->reserved[i].end,
				(unsigned long)cfg->reserved[i].end,
				(unsigned long)cfg->reserved[i].base);
}

static uint64_t zone_words(uint64_t npages)
{
	return (npages + 63) / 64;
}

static uint64_t bitmap_bytes(const struct pmm *p)
{
	uint64_t words = 0;
	unsigned i;

	for (i = 0; i < p->n_zones; i++)
		words += zone_words(p->zones[i].npages);
	return words * 8;
}

/* Give up memory above what PMM_MAX_BITMAP_BYTES can describe. */
static void cap_bitmap(struct pmm *p)
{
	uint64_t budget = PMM_MAX_BITMAP_BYTES / 8, lost = 0, words;
	unsigned i, keep = p->n_zones;

	for (i = 0; i < p->n_zones; i++) {
		struct pmm_zone *z = &p->zones[i];

		if (i >= keep) {
			lost += z->npages;
			continue;
		}
		words = zone_words(z->npages);
		if (words <= budget) {
			budget -= words;
			continue;
		}
		lost += z->npages - budget * 64;
		z->npages = budget * 64;
		keep = z->npages ? i + 1 : i;
	}
	if (!lost)
		return;
	p->n_zones = keep;
	log_warn("pmm: bitmap capped at %lu MiB; %lu pages above 0x%lx left unmanaged",
		 (unsigned long)(PMM_MAX_BITMAP_BYTES / MIB), (unsigned long)lost,
		 (unsigned long)(keep ? p->zones[keep - 1].base +
					    (p->zones[keep - 1].npages << PMM_PAGE_SHIFT)
				      : 0));
}

static void remove_zone(struct pmm *p, unsigned i)
{
	memmove(&p->zones[i], &p->zones[i + 1], (p->n_zones - i - 1) * sizeof(p->zones[0]));
	p->n_zones--;
}

/*
 * Take the bitmap's pages from the start of the lowest zone that can hold
 * them, so they are outside every zone: never allocated, never freeable.
 */
static bool place_bitmap(struct pmm *p, uint64_t bytes)
{
	uint64_t need = (bytes + PAGE_MASK) >> PMM_PAGE_SHIFT;
	unsigned i;

	for (i = 0; i < p->n_zones; i++) {
		struct pmm_zone *z = &p->zones[i];

		if (z->npages < need)
			continue;
		p->bitmap_pa = z->base;
		p->bitmap_bytes = bytes;
		z->base += need << PMM_PAGE_SHIFT;
		z->npages -= need;
		if (!z->npages)
			remove_zone(p, i);
		return true;
	}
	log_err("pmm: no usable run holds the %lu-page bitmap", (unsigned long)need);
	return false;
}

/* Point each zone at its slice; all pages free, padding bits "allocated". */
static void layout_bitmap(struct pmm *p, uint64_t *bits)
{
	unsigned i;

	for (i = 0; i < p->n_zones; i++) {
		struct pmm_zone *z = &p->zones[i];
		uint64_t words = zone_words(z->npages);
		unsigned tail = z->npages % 64;

		z->bits = bits;
		z->nfree = z->npages;
		z->hint = 0;
		memset(bits, 0, words * 8);
		if (tail)
			bits[words - 1] = ~0ull << tail;
		bits += words;
		p->total_pages += z->npages;
	}
	p->free_pages = p->total_pages;
}

static int init_fail(struct pmm *p)
{
	memset(p, 0, sizeof(*p));
	return -1;
}

int pmm_init(struct pmm *p, const struct pmm_config *cfg)
{
	struct sweep sw = {.cfg = cfg};
	uint64_t bytes;
	void *bits;

	memset(p, 0, sizeof(*p));
	/* Page 0 is never handed out: 0 is the allocator's failure value. */
	sw.lo = max_u64(round_up_sat(cfg->min_addr), PMM_PAGE_SIZE);
	sw.hi = PMM_PHYS_LIMIT;
	if (cfg->max_addr && cfg->max_addr < sw.hi)
		sw.hi = round_down(cfg->max_addr);

	report_map(&sw);
	build_zones(p, &sw);
	if (!p->n_zones) {
		log_err("pmm: no usable memory in [0x%lx-0x%lx) after reservations",
			(unsigned long)sw.lo, (unsigned long)sw.hi);
		return init_fail(p);
	}
	cap_bitmap(p);
	bytes = bitmap_bytes(p);
	if (!place_bitmap(p, bytes))
		return init_fail(p);
	if (!p->n_zones) {
		log_err("pmm: no usable memory left after the bitmap");
		return init_fail(p);
	}
	bits = cfg->phys_to_virt ? cfg->phys_to_virt(p->bitmap_pa) : NULL;
	if (!bits) {
		log_err("pmm: bitmap at 0x%lx is not mapped", (unsigned long)p->bitmap_pa);
		return init_fail(p);
	}
	layout_bitmap(p, bits);
	return 0;
}

static bool test_bit(const struct pmm_zone *z, uint64_t i)
{
	return z->bits[i / 64] & (1ull << (i % 64));
}

static void set_used(struct pmm *p, struct pmm_zone *z, uint64_t i)
{
	z->bits[i / 64] |= 1ull << (i % 64);
	z->nfree--;
	p->free_pages--;
}

static void set_free(struct pmm *p, struct pmm_zone *z, uint64_t i)
{
	z->bits[i / 64] &= ~(1ull << (i % 64));
	z->nfree++;
	p->free_pages++;
}

static uint64_t page_addr(const struct pmm_zone *z, uint64_t i)
{
	return z->base + (i << PMM_PAGE_SHIFT);
}

/* Index of a free page in @z (which has one), starting at the hint word. */
static uint64_t zone_find_free(struct pmm_zone *z)
{
	uint64_t nw = zone_words(z->npages), k, w;

	for (k = 0; k < nw; k++) {
		w = (z->hint + k) % nw;
		if (z->bits[w] != ~0ull) {
			z->hint = w;
			/* Padding bits are set, so this index is < npages. */
			return w * 64 + (uint64_t)__builtin_ctzll(~z->bits[w]);
		}
	}
	return z->npages; /* unreachable while nfree is right */
}

uint64_t pmm_alloc_page(struct pmm *p)
{
	unsigned i;

	for (i = 0; i < p->n_zones; i++) {
		struct pmm_zone *z = &p->zones[i];
		uint64_t idx;

		if (!z->nfree)
			continue;
		idx = zone_find_free(z);
		if (idx >= z->npages)
			continue;
		set_used(p, z, idx);
		return page_addr(z, idx);
	}
	return 0;
}

/* First allocated page in [i, i + n) of @z, or i + n if all are free. */
static uint64_t first_used(const struct pmm_zone *z, uint64_t i, uint64_t n)
{
	uint64_t j;

	for (j = i; j < i + n; j++)
		if (test_bit(z, j))
			return j;
	return i + n;
}

/* Smallest index >= @i whose physical page number is a multiple of @align. */
static uint64_t align_index(const struct pmm_zone *z, uint64_t i, uint64_t align)
{
	uint64_t pfn = (z->base >> PMM_PAGE_SHIFT) + i;

	return ((pfn + align - 1) & ~(align - 1)) - (z->base >> PMM_PAGE_SHIFT);
}

/* Start index of a free aligned run of @n pages in @z, or z->npages. */
static uint64_t zone_find_run(const struct pmm_zone *z, uint64_t n, uint64_t align)
{
	uint64_t i = align_index(z, 0, align), j;

	while (i < z->npages && n <= z->npages - i) {
		j = first_used(z, i, n);
		if (j == i + n)
			return i;
		/* Nothing starting at or before j can work: skip past it. */
		i = align_index(z, j + 1, align);
	}
	return z->npages;
}

uint64_t pmm_alloc_contig(struct pmm *p, size_t npages, size_t align_pages)
{
	uint64_t align = align_pages ? align_pages : 1, i, k;
	unsigned zi;

	if (!npages) {
		log_warn("pmm: contiguous allocation of 0 pages refused");
		return 0;
	}
	if (align & (align - 1) || align > (PMM_PHYS_LIMIT >> PMM_PAGE_SHIFT)) {
		log_warn("pmm: contiguous allocation alignment of %lu pages invalid (power of two "
			 "up to 2^40); refused",
			 (unsigned long)align_pages);
		return 0;
	}
	for (zi = 0; zi < p->n_zones; zi++) {
		struct pmm_zone *z = &p->zones[zi];

		if (z->nfree < npages)
			continue;
		i = zone_find_run(z, npages, align);
		if (i >= z->npages)
			continue;
		for (k = 0; k < npages; k++)
			set_used(p, z, i + k);
		return page_addr(z, i);
	}
	log_debug("pmm: no run of %lu free pages aligned to %lu pages", (unsigned long)npages,
		  (unsigned long)align);
	return 0;
}

/* Zone holding @pa (binary search: zones are sorted and disjoint). */
static struct pmm_zone *zone_of(struct pmm *p, uint64_t pa)
{
	unsigned lo = 0, hi = p->n_zones;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		struct pmm_zone *z = &p->zones[mid];

		if (pa < z->base)
			hi = mid;
		else if (pa - z->base >= z->npages << PMM_PAGE_SHIFT)
			lo = mid + 1;
		else
			return z;
	}
	return NULL;
}

/* Common checks of a free; returns the zone and page index, or NULL. */
static struct pmm_zone *free_target(struct pmm *p, uint64_t pa, size_t n, uint64_t *idx)
{
	struct pmm_zone *z;

	if (pa & PAGE_MASK) {
		log_warn("pmm: free of unaligned address 0x%lx ignored", (unsigned long)pa);
		return NULL;
	}
	z = zone_of(p, pa);
	if (!z) {
		log_warn("pmm: free of 0x%lx ignored: not an allocatable page (reserved, bitmap or "
			 "outside memory)",
			 (unsigned long)pa);
		return NULL;
	}
	*idx = (pa - z->base) >> PMM_PAGE_SHIFT;
	if (n > z->npages - *idx) {
		log_warn("pmm: free of %lu pages at 0x%lx ignored: runs past the usable run ending "
			 "0x%lx",
			 (unsigned long)n, (unsigned long)pa,
			 (unsigned long)page_addr(z, z->npages));
		return NULL;
	}
	return z;
}

void pmm_free_page(struct pmm *p, uint64_t pa)
{
	struct pmm_zone *z;
	uint64_t idx;

	z = free_target(p, pa, 1, &idx);
	if (!z)
		return;
	if (!test_bit(z, idx)) {
		log_warn("pmm: double free of 0x%lx ignored", (unsigned long)pa);
		return;
	}
	set_free(p, z, idx);
}

void pmm_free_contig(struct pmm *p, uint64_t pa, size_t npages)
{
	struct pmm_zone *z;
	uint64_t idx, k;

	if (!npages) {
		log_warn("pmm: free of 0 pages at 0x%lx ignored", (unsigned long)pa);
		return;
	}
	z = free_target(p, pa, npages, &idx);
	if (!z)
		return;
	for (k = 0; k < npages; k++) {
		if (!test_bit(z, idx + k)) {
			log_warn(
			    "pmm: free of %lu pages at 0x%lx ignored: page 0x%lx is not allocated",
			    (unsigned long)npages, (unsigned long)pa,
			    (unsigned long)page_addr(z, idx + k));
			return;
		}
	}
	for (k = 0; k < npages; k++)
		set_free(p, z, idx + k);
}

uint64_t pmm_free_pages(const struct pmm *p)
{
	return p->free_pages;
}

uint64_t pmm_total_pages(const struct pmm *p)
{
	return p->total_pages;
}

void pmm_dump(const struct pmm *p)
{
	unsigned i;

	for (i = 0; i < p->n_zones; i++) {
		const struct pmm_zone *z = &p->zones[i];

		log_info("pmm: usable [0x%lx-0x%lx) %lu pages, %lu free", (unsigned long)z->base,
			 (unsigned long)page_addr(z, z->npages), (unsigned long)z->npages,
			 (unsigned long)z->nfree);
	}
	log_info(
	    "pmm: %lu of %lu pages free (%lu of %lu MiB) in %u runs; bitmap at 0x%lx, %lu bytes",
	    (unsigned long)p->free_pages, (unsigned long)p->total_pages,
	    (unsigned long)(p->free_pages >> (20 - PMM_PAGE_SHIFT)),
	    (unsigned long)(p->total_pages >> (20 - PMM_PAGE_SHIFT)), p->n_zones,
	    (unsigned long)p->bitmap_pa, (unsigned long)p->bitmap_bytes);
}

static bool push_range(struct phys_range *out, unsigned max, unsigned *n, uint64_t base,
		       uint64_t end, const char *what)
{
	if (*n >= max) {
		log_err("pmm: no room to reserve %s [0x%lx-0x%lx) (list of %u full)", what,
			(unsigned long)base, (unsigned long)end, max);
		return false;
	}
	out[*n].base = base;
	out[*n].end = end;
	(*n)++;
	return true;
}

unsigned pmm_collect_mb2_reserved(const struct mb2_info *mb, struct phys_range *out, unsigned max)
{
	const struct mb2_framebuffer *fb = &mb->fb;
	unsigned n = 0, i;

	if (mb->total_size && !push_range(out, max, &n, mb->info_phys,
					  mb->info_phys + mb->total_size, "the boot information"))
		return n;
	for (i = 0; i < mb->n_modules; i++) {
		const struct mb2_module *m = &mb->modules[i];

		/*
		 * GRUB's end is exclusive, but the spec does not say so:
		 * keeping the byte at end too costs at most one page and is
		 * right under either reading.
		 */
		if (!push_range(out, max, &n, m->start, m->end + 1, "a module"))
			return n;
	}
	if (fb->present)
		push_range(out, max, &n, fb->addr, fb->addr + (uint64_t)fb->pitch * fb->height,
			   "the framebuffer");
	return n;
}
