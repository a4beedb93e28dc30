// SPDX-License-Identifier: MIT
/*
 * Multiboot2 boot-information parser.
 *
 * Rules this file keeps, because the block comes from outside the
 * hypervisor and tests feed it deliberately broken data:
 *  - every field is loaded once, with memcpy, into a local (the block may
 *    be unaligned, and a value checked is the value used);
 *  - nothing is read beyond min(avail, total_size), nor beyond a tag's own
 *    size for that tag's payload;
 *  - every rejection or clamp logs exactly one line naming the values and
 *    bumps mb2_info.problems, so callers can tell a clean boot from a
 *    patched-up one.
 */
#include <string.h>

#include "boot/multiboot2.h"
#include "hv/lib/log.h"
#include "hv/lib/unaligned.h"

/* Size of the block header (total_size, reserved) and of a tag header. */
#define HDR_LEN	    8u
#define TAG_HDR_LEN 8u
#define MIN_TOTAL   (HDR_LEN + TAG_HDR_LEN) /* header + end tag */

#define KIB 1024ull
#define MIB (1024ull * 1024ull)

/* A warning that also counts as a problem in the parse result. */
#define mb2_warn(mb, fmt, ...)                                                                     \
	do {                                                                                       \
		(mb)->problems++;                                                                  \
		log_warn("mb2: " fmt, ##__VA_ARGS__);                                              \
	} while (0)

/* A tag as located by the walker: its payload is [p, p + len). */
struct tag {
	uint32_t type;
	uint32_t off; /* offset of the tag header in the block */
	const uint8_t *p;
	uint32_t len;
};

/*
 * Keep loader strings printable: they end up on the serial console, where
 * an embedded escape sequence could garble or spoof later log lines.
 * Whitespace becomes a plain space so the option parser still splits on it.
 */
static char sanitize_char(char c, unsigned *replaced)
{
	unsigned char u = (unsigned char)c;

	if (c == '\t' || c == '\n' || c == '\r')
		return ' ';
	if (u < 0x20 || u == 0x7f) {
		(*replaced)++;
		return '?';
	}
	return c;
}

/*
 * Copy the string occupying [src, src + len) into dst[cap]. Each source
 * byte is read once. A missing NUL clamps the string at the tag end; a
 * string longer than the buffer is truncated. Both are logged.
 */
static void copy_string(struct mb2_info *mb, char *dst, size_t cap, const uint8_t *src,
			uint32_t len, const char *what)
{
	uint32_t i;
	size_t n = 0;
	bool terminated = false;
	unsigned replaced = 0;

	for (i = 0; i < len; i++) {
		char c = (char)src[i];

		if (c == '\0') {
			terminated = true;
			break;
		}
		if (n + 1 < cap)
			dst[n++] = sanitize_char(c, &replaced);
	}
	dst[n] = '\0';

	if (!terminated)
		mb2_warn(mb, "%s not NUL-terminated within its tag; clamped at %u bytes", what,
			 len);
	if (i > n)
		mb2_warn(mb, "%s truncated from %u to %u bytes", what, i, (unsigned)n);
	if (replaced)
		mb2_warn(mb, "%s: %u control characters replaced by '?'", what, replaced);
}

static bool tag_cmdline(struct mb2_info *mb, const struct tag *t)
{
	copy_string(mb, mb->cmdline, sizeof(mb->cmdline), t->p, t->len, "cmdline");
	mb->has_cmdline = true;
	return true;
}

static bool tag_loader_name(struct mb2_info *mb, const struct tag *t)
{
	copy_string(mb, mb->loader_name, sizeof(mb->loader_name), t->p, t->len, "loader name");
	mb->has_loader_name = true;
	return true;
}

static bool tag_module(struct mb2_info *mb, const struct tag *t)
{
	uint32_t start = ld32(t->p);
	uint32_t end = ld32(t->p + 4);
	struct mb2_module *m;

	if (end < start) {
		mb2_warn(mb, "module at offset %u: end 0x%x < start 0x%x; ignored", t->off, end,
			 start);
		return false;
	}
	if (mb->n_modules >= MB2_MAX_MODULES) {
		/* One summary line at the end of the parse, not one per tag. */
		mb->modules_dropped++;
		return false;
	}
	m = &mb->modules[mb->n_modules++];
	m->start = start;
	m->end = end;
	copy_string(mb, m->cmdline, sizeof(m->cmdline), t->p + 8, t->len - 8, "module cmdline");
	return true;
}

static bool tag_meminfo(struct mb2_info *mb, const struct tag *t)
{
	mb->mem_lower_kib = ld32(t->p);
	mb->mem_upper_kib = ld32(t->p + 4);
	mb->has_meminfo = true;
	return true;
}

static void add_region(struct mb2_info *mb, const uint8_t *e)
{
	struct mb2_region *r;

	if (mb->n_regions >= MB2_MAX_REGIONS) {
		mb->regions_dropped++;
		return;
	}
	r = &mb->regions[mb->n_regions++];
	r->base = ld64(e);
	r->len = ld64(e + 8);
	r->type = ld32(e + 16);
}

static bool tag_mmap(struct mb2_info *mb, const struct tag *t)
{
	uint32_t esize = ld32(t->p);
	uint32_t version = ld32(t->p + 4);
	uint32_t body = t->len - 8;
	uint32_t count, rest, i;

	/*
	 * The entry size is the loader's promise about the stride; it must
	 * hold the 24 bytes we read and keep entries 8-byte aligned.
	 */
	if (esize < 24 || esize % 8) {
		mb2_warn(
		    mb, "memory map entry_size %u invalid (need >= 24, multiple of 8); map ignored",
		    esize);
		return false;
	}
	if (version != 0)
		log_debug("mb2: memory map entry_version %u (expected 0); parsing by entry_size %u",
			  version, esize);

	count = body / esize;
	rest = body % esize;
	if (rest)
		mb2_warn(mb, "memory map: %u trailing bytes after %u entries of %u bytes ignored",
			 rest, count, esize);
	if (count == 0)
		mb2_warn(mb, "memory map has no entries");

	for (i = 0; i < count; i++)
		add_region(mb, t->p + 8 + (size_t)i * esize);
	mb->has_mmap = true;
	return true;
}

static bool tag_framebuffer(struct mb2_info *mb, const struct tag *t)
{
	struct mb2_framebuffer fb = {.present = true};
	uint64_t bytes;

	fb.addr = ld64(t->p);
	fb.pitch = ld32(t->p + 8);
	fb.width = ld32(t->p + 12);
	fb.height = ld32(t->p + 16);
	fb.bpp = t->p[20];
	fb.type = t->p[21];

	if (!fb.pitch || !fb.width || !fb.height || !fb.bpp) {
		mb2_warn(mb, "framebuffer %ux%u bpp %u pitch %u has a zero field; ignored",
			 fb.width, fb.height, fb.bpp, fb.pitch);
		return false;
	}
	if ((uint64_t)fb.width * fb.bpp > (uint64_t)fb.pitch * 8) {
		mb2_warn(mb, "framebuffer pitch %u too small for %u pixels of %u bits; ignored",
			 fb.pitch, fb.width, fb.bpp);
		return false;
	}
	bytes = (uint64_t)fb.pitch * fb.height;
	if (fb.addr > UINT64_MAX - bytes) {
		mb2_warn(mb, "framebuffer at 0x%lx (%lu bytes) wraps the address space; ignored",
			 (unsigned long)fb.addr, (unsigned long)bytes);
		return false;
	}
	if (fb.type == MB2_FB_RGB) {
		if (t->len >= 30) {
			fb.red_pos = t->p[24];
			fb.red_size = t->p[25];
			fb.green_pos = t->p[26];
			fb.green_size = t->p[27];
			fb.blue_pos = t->p[28];
			fb.blue_size = t->p[29];
		} else {
			mb2_warn(mb, "RGB framebuffer tag has no colour info (%u bytes)", t->len);
		}
	}
	mb->fb = fb;
	return true;
}

static uint8_t byte_sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* Checks shared by both RSDP versions, on our private copy. */
static bool rsdp_v1_ok(struct mb2_info *mb, const uint8_t *r, unsigned ver)
{
	uint8_t sum;

	if (memcmp(r, "RSD PTR ", 8) != 0) {
		mb2_warn(mb, "ACPI v%u RSDP has a bad signature; ignored", ver);
		return false;
	}
	sum = byte_sum(r, MB2_RSDP_V1_LEN);
	if (sum != 0) {
		mb2_warn(mb, "ACPI v%u RSDP checksum over 20 bytes is 0x%02x (want 0); ignored",
			 ver, sum);
		return false;
	}
	return true;
}

static void store_rsdp(struct mb2_info *mb, const uint8_t *r, unsigned len, unsigned ver)
{
	memcpy(mb->rsdp, r, len);
	mb->rsdp_len = len;
	mb->rsdp_version = ver;
	mb->rsdt_addr = ld32(r + 16);
	mb->xsdt_addr = ver >= 2 ? ld64(r + 24) : 0;
}

static bool tag_acpi_old(struct mb2_info *mb, const struct tag *t)
{
	uint8_t r[MB2_RSDP_V1_LEN];

	memcpy(r, t->p, sizeof(r));
	if (t->len != MB2_RSDP_V1_LEN)
		log_debug("mb2: ACPI v1 RSDP tag carries %u bytes; using the first 20", t->len);
	if (!rsdp_v1_ok(mb, r, 1))
		return false;
	if (mb->rsdp_version == 2) {
		log_debug("mb2: ACPI v1 RSDP ignored; the v2 RSDP wins");
		return true;
	}
	store_rsdp(mb, r, sizeof(r), 1);
	return true;
}

static bool tag_acpi_new(struct mb2_info *mb, const struct tag *t)
{
	uint8_t r[MB2_RSDP_MAX];
	uint32_t n = t->len < sizeof(r) ? t->len : sizeof(r);
	uint32_t length;
	uint8_t sum;

	memcpy(r, t->p, n);
	length = ld32(r + 20);
	if (length < MB2_RSDP_V2_LEN || length > t->len || length > sizeof(r)) {
		mb2_warn(mb, "ACPI v2 RSDP length %u invalid (need %u..%u, tag holds %u); ignored",
			 length, MB2_RSDP_V2_LEN, (unsigned)sizeof(r), t->len);
		return false;
	}
	if (!rsdp_v1_ok(mb, r, 2))
		return false;
	sum = byte_sum(r, length);
	if (sum != 0) {
		mb2_warn(mb,
			 "ACPI v2 RSDP extended checksum over %u bytes is 0x%02x (want 0); ignored",
			 length, sum);
		return false;
	}
	if (mb->rsdp_version == 1)
		log_debug("mb2: ACPI v2 RSDP replaces the v1 RSDP");
	store_rsdp(mb, r, length, 2);
	return true;
}

static bool tag_efi32_systab(struct mb2_info *mb, const struct tag *t)
{
	mb->efi32_systab = ld32(t->p);
	mb->has_efi32_systab = true;
	return true;
}

static bool tag_efi64_systab(struct mb2_info *mb, const struct tag *t)
{
	mb->efi64_systab = ld64(t->p);
	mb->has_efi64_systab = true;
	return true;
}

static bool tag_efi32_ih(struct mb2_info *mb, const struct tag *t)
{
	mb->efi32_ih = ld32(t->p);
	mb->has_efi32_ih = true;
	return true;
}

static bool tag_efi64_ih(struct mb2_info *mb, const struct tag *t)
{
	mb->efi64_ih = ld64(t->p);
	mb->has_efi64_ih = true;
	return true;
}

static bool tag_efi_bs(struct mb2_info *mb, const struct tag *t)
{
	(void)t;
	mb->efi_bs_not_terminated = true;
	return true;
}

static bool tag_efi_mmap(struct mb2_info *mb, const struct tag *t)
{
	uint32_t dsize = ld32(t->p);
	uint32_t dvers = ld32(t->p + 4);
	uint32_t body = t->len - 8;

	if (dsize < MB2_EFI_DESC_MIN || dsize % 8) {
		mb2_warn(mb,
			 "EFI memory map descriptor size %u invalid (need >= %u, multiple of 8); "
			 "ignored",
			 dsize, MB2_EFI_DESC_MIN);
		return false;
	}
	if (body % dsize)
		mb2_warn(mb, "EFI memory map: %u trailing bytes after %u descriptors ignored",
			 body % dsize, body / dsize);
	mb->efi_mmap_desc_size = dsize;
	mb->efi_mmap_desc_version = dvers;
	mb->efi_mmap_count = body / dsize;
	mb->efi_mmap_phys = mb->info_phys + t->off + TAG_HDR_LEN + 8;
	mb->has_efi_mmap = true;
	return true;
}

static bool tag_load_base(struct mb2_info *mb, const struct tag *t)
{
	mb->load_base = ld32(t->p);
	mb->has_load_base = true;
	return true;
}

/*
 * What we know about each tag type. min_len is the payload the handler
 * reads unconditionally; the walker enforces it so handlers need not.
 * A NULL handler means "known, not needed by the hypervisor".
 */
struct tag_kind {
	const char *name;
	uint32_t min_len;
	bool multiple; /* several instances are normal */
	bool (*handle)(struct mb2_info *mb, const struct tag *t);
};

static const struct tag_kind tag_kinds[MB2_TAG_NR_KNOWN] = {
    [MB2_TAG_END] = {"end", 0, false, NULL},
    [MB2_TAG_CMDLINE] = {"cmdline", 0, false, tag_cmdline},
    [MB2_TAG_LOADER_NAME] = {"loader name", 0, false, tag_loader_name},
    [MB2_TAG_MODULE] = {"module", 8, true, tag_module},
    [MB2_TAG_BASIC_MEMINFO] = {"basic meminfo", 8, false, tag_meminfo},
    [MB2_TAG_BOOTDEV] = {"boot device", 0, false, NULL},
    [MB2_TAG_MMAP] = {"memory map", 8, false, tag_mmap},
    [MB2_TAG_VBE] = {"VBE", 0, false, NULL},
    [MB2_TAG_FRAMEBUFFER] = {"framebuffer", 24, false, tag_framebuffer},
    [MB2_TAG_ELF_SECTIONS] = {"ELF sections", 0, false, NULL},
    [MB2_TAG_APM] = {"APM", 0, false, NULL},
    [MB2_TAG_EFI32_SYSTAB] = {"EFI32 system table", 4, false, tag_efi32_systab},
    [MB2_TAG_EFI64_SYSTAB] = {"EFI64 system table", 8, false, tag_efi64_systab},
    [MB2_TAG_SMBIOS] = {"SMBIOS", 0, true, NULL},
    [MB2_TAG_ACPI_OLD] = {"ACPI v1 RSDP", MB2_RSDP_V1_LEN, false, tag_acpi_old},
    [MB2_TAG_ACPI_NEW] = {"ACPI v2 RSDP", MB2_RSDP_V2_LEN, false, tag_acpi_new},
    [MB2_TAG_NETWORK] = {"network", 0, true, NULL},
    [MB2_TAG_EFI_MMAP] = {"EFI memory map", 8, false, tag_efi_mmap},
    [MB2_TAG_EFI_BS] = {"EFI boot services", 0, false, tag_efi_bs},
    [MB2_TAG_EFI32_IH] = {"EFI32 image handle", 4, false, tag_efi32_ih},
    [MB2_TAG_EFI64_IH] = {"EFI64 image handle", 8, false, tag_efi64_ih},
    [MB2_TAG_LOAD_BASE] = {"load base", 4, false, tag_load_base},
};

/*
 * Hand one tag to its handler. @accepted tracks, per type, whether a
 * valid instance was already taken: the first valid tag of a single-
 * instance type wins and later ones are reported and ignored.
 */
static void dispatch(struct mb2_info *mb, const struct tag *t, uint32_t *accepted)
{
	const struct tag_kind *k;

	if (t->type >= MB2_TAG_NR_KNOWN) {
		log_debug("mb2: unknown tag type %u (%u bytes) at offset %u skipped", t->type,
			  t->len, t->off);
		return;
	}
	k = &tag_kinds[t->type];
	if (!k->handle) {
		log_debug("mb2: %s tag (%u bytes) not used", k->name, t->len);
		return;
	}
	if (t->len < k->min_len) {
		mb2_warn(mb, "%s tag at offset %u too short (%u payload bytes, need %u); ignored",
			 k->name, t->off, t->len, k->min_len);
		return;
	}
	if (!k->multiple && (*accepted & (1u << t->type))) {
		mb2_warn(mb, "duplicate %s tag at offset %u ignored; the first one wins", k->name,
			 t->off);
		return;
	}
	if (k->handle(mb, t))
		*accepted |= 1u << t->type;
}

/* Check the 8-byte header; returns total_size, or 0 if the block is unusable. */
static uint32_t check_header(const uint8_t *b, size_t avail, uint64_t phys)
{
	uint32_t total;

	if (!b || avail < HDR_LEN) {
		log_err("mb2: no readable boot information block (%lu bytes available)",
			(unsigned long)avail);
		return 0;
	}
	total = ld32(b);
	if (total < MIN_TOTAL) {
		log_err("mb2: total_size %u below the minimum %u; block unusable", total,
			MIN_TOTAL);
		return 0;
	}
	if (total > avail) {
		log_err("mb2: total_size %u exceeds the %lu readable bytes; block unusable", total,
			(unsigned long)avail);
		return 0;
	}
	if (phys > UINT64_MAX - total) {
		log_err("mb2: block at 0x%lx with total_size %u wraps the address space; unusable",
			(unsigned long)phys, total);
		return 0;
	}
	return total;
}

/* Walk the tags of a block whose header passed check_header(). */
static void walk_tags(struct mb2_info *mb, const uint8_t *b, uint32_t total)
{
	uint32_t accepted = 0;
	uint64_t off = HDR_LEN;

	for (;;) {
		struct tag t;
		uint32_t size;

		if (total - off < TAG_HDR_LEN) {
			mb2_warn(mb, "no end tag within total_size %u (tags stop at offset %lu)",
				 total, (unsigned long)off);
			return;
		}
		t.off = (uint32_t)off;
		t.type = ld32(b + off);
		size = ld32(b + off + 4);
		if (t.type == MB2_TAG_END) {
			if (size != TAG_HDR_LEN)
				mb2_warn(mb, "end tag at offset %u has size %u (expected 8)", t.off,
					 size);
			return;
		}
		if (size < TAG_HDR_LEN) {
			mb2_warn(mb, "tag type %u at offset %u has size %u < 8; parsing stopped",
				 t.type, t.off, size);
			return;
		}
		if (size > total - off) {
			mb2_warn(mb,
				 "tag type %u at offset %u (size %u) runs past total_size %u; "
				 "parsing stopped",
				 t.type, t.off, size, total);
			return;
		}
		t.p = b + off + TAG_HDR_LEN;
		t.len = size - TAG_HDR_LEN;
		dispatch(mb, &t, &accepted);
		/* Tags start 8-byte aligned; the size excludes the padding. */
		off += ((uint64_t)size + 7) & ~7ull;
		if (off > total) {
			mb2_warn(mb, "no end tag within total_size %u (last tag ends at %lu)",
				 total, (unsigned long)off);
			return;
		}
	}
}

int mb2_parse(const void *info, size_t avail, uint64_t info_phys, struct mb2_info *out)
{
	const uint8_t *b = info;
	uint32_t total;

	memset(out, 0, sizeof(*out));
	out->info_phys = info_phys;

	total = check_header(b, avail, info_phys);
	if (!total)
		return -1;
	out->total_size = total;
	if (info_phys % 8)
		mb2_warn(out, "block at 0x%lx is not 8-byte aligned", (unsigned long)info_phys);

	walk_tags(out, b, total);

	if (out->regions_dropped)
		mb2_warn(out, "memory map: %u entries beyond the first %u dropped",
			 out->regions_dropped, MB2_MAX_REGIONS);
	if (out->modules_dropped)
		mb2_warn(out, "%u modules beyond the first %u dropped", out->modules_dropped,
			 MB2_MAX_MODULES);
	return 0;
}

const char *mb2_region_type_name(uint32_t type)
{
	switch (type) {
	case MB2_MEM_AVAILABLE:
		return "available";
	case MB2_MEM_RESERVED:
		return "reserved";
	case MB2_MEM_ACPI_RECLAIM:
		return "ACPI reclaimable";
	case MB2_MEM_ACPI_NVS:
		return "ACPI NVS";
	case MB2_MEM_BAD:
		return "bad RAM";
	default:
		return "unknown";
	}
}

/* Express a byte count in the largest of B/KiB/MiB that keeps it >= 1. */
static unsigned long size_value(uint64_t len, const char **unit)
{
	if (len >= MIB) {
		*unit = "MiB";
		return (unsigned long)(len / MIB);
	}
	if (len >= KIB) {
		*unit = "KiB";
		return (unsigned long)(len / KIB);
	}
	*unit = "B";
	return (unsigned long)len;
}

/* End address of [base, base + len), saturated instead of wrapping. */
static uint64_t sat_end(uint64_t base, uint64_t len)
{
	return base > UINT64_MAX - len ? UINT64_MAX : base + len;
}

static void dump_regions(const struct mb2_info *mb)
{
	unsigned i;

	if (!mb->has_mmap) {
		log_info("mb2: no memory map");
		return;
	}
	log_info("mb2: memory map: %u regions (%u dropped)", mb->n_regions, mb->regions_dropped);
	for (i = 0; i < mb->n_regions; i++) {
		const struct mb2_region *r = &mb->regions[i];
		const char *unit;
		unsigned long v = size_value(r->len, &unit);

		log_info("mb2:   [0x%016lx-0x%016lx) %lu %s %s (type %u)", (unsigned long)r->base,
			 (unsigned long)sat_end(r->base, r->len), v, unit,
			 mb2_region_type_name(r->type), r->type);
	}
}

static void dump_modules(const struct mb2_info *mb)
{
	unsigned i;

	for (i = 0; i < mb->n_modules; i++) {
		const struct mb2_module *m = &mb->modules[i];
		const char *unit;
		unsigned long v = size_value(m->end - m->start, &unit);

		log_info("mb2: module %u: [0x%lx-0x%lx) %lu %s '%s'", i, (unsigned long)m->start,
			 (unsigned long)m->end, v, unit, m->cmdline);
	}
}

static void dump_firmware(const struct mb2_info *mb)
{
	if (mb->rsdp_version)
		log_info("mb2: ACPI RSDP v%u (%u bytes): RSDT 0x%x XSDT 0x%lx", mb->rsdp_version,
			 mb->rsdp_len, mb->rsdt_addr, (unsigned long)mb->xsdt_addr);
	else
		log_info("mb2: no ACPI RSDP");
	if (mb->has_efi32_systab)
		log_info("mb2: EFI32 system table 0x%x", mb->efi32_systab);
	if (mb->has_efi64_systab)
		log_info("mb2: EFI64 system table 0x%lx", (unsigned long)mb->efi64_systab);
	if (mb->has_efi32_ih)
		log_info("mb2: EFI32 image handle 0x%x", mb->efi32_ih);
	if (mb->has_efi64_ih)
		log_info("mb2: EFI64 image handle 0x%lx", (unsigned long)mb->efi64_ih);
	if (mb->has_efi_mmap)
		log_info("mb2: EFI memory map at 0x%lx: %u descriptors of %u bytes (version %u)",
			 (unsigned long)mb->efi_mmap_phys, mb->efi_mmap_count,
			 mb->efi_mmap_desc_size, mb->efi_mmap_desc_version);
	if (mb->efi_bs_not_terminated)
		log_info("mb2: EFI boot services not terminated");
}

static void dump_framebuffer(const struct mb2_framebuffer *fb)
{
	static const char *const types[] = {"indexed", "RGB", "EGA text"};

	if (!fb->present)
		return;
	log_info("mb2: framebuffer at 0x%lx: %ux%u, %u bpp, pitch %u, %s", (unsigned long)fb->addr,
		 fb->width, fb->height, fb->bpp, fb->pitch,
		 fb->type < 3 ? types[fb->type] : "unknown type");
}

void mb2_dump(const struct mb2_info *mb)
{
	log_info("mb2: boot information at 0x%lx, %u bytes, %u problems",
		 (unsigned long)mb->info_phys, mb->total_size, mb->problems);
	log_info("mb2: loader '%s'", mb->has_loader_name ? mb->loader_name : "(not given)");
	log_info("mb2: cmdline '%s'", mb->has_cmdline ? mb->cmdline : "");
	if (mb->has_meminfo)
		log_info("mb2: basic meminfo: lower %u KiB, upper %u KiB", mb->mem_lower_kib,
			 mb->mem_upper_kib);
	dump_regions(mb);
	dump_modules(mb);
	dump_firmware(mb);
	dump_framebuffer(&mb->fb);
	if (mb->has_load_base)
		log_info("mb2: image load base 0x%x", mb->load_base);
}
