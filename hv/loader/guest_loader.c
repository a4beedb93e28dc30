// SPDX-License-Identifier: MIT
/*
 * Boot-guest loader: module command line, raw / multiboot / multiboot2
 * images, and the boot information a multiboot guest is handed.
 *
 * The image is whatever sat next to the hypervisor on the boot medium;
 * nothing in it is trusted. Rules this file keeps:
 *  - every header field is copied out of the image once, with memcpy, and
 *    only the validated copy is used afterwards;
 *  - ranges are checked by subtraction (off <= limit && n <= limit - off),
 *    never by an addition that could wrap;
 *  - a load is planned completely (segments, entry, info block position)
 *    before the first byte is written, so a refused image leaves guest
 *    memory exactly as it was;
 *  - every write into guest memory goes through one bounds-checked helper,
 *    so even a planning mistake cannot write outside it;
 *  - every refusal logs one error line "loader: <name>: ..." with values.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "boot/multiboot2.h"
#include "abi/errno.h"
#include "hv/loader/guest_loader.h"
#include "hv/lib/log.h"
#include "hv/lib/unaligned.h"

#define KIB 1024ull
#define MIB (1024ull * 1024ull)

/* The guest's physical layout below 1 MiB (see guest_e820()). */
#define LOW_MEM_END    0x9fc00ull /* end of available low memory */
#define EBDA_END       0xa0000ull
#define BIOS_START     0xf0000ull
#define HIGH_MEM       0x100000ull
#define INFO_LOW_START 0x1000ull /* page 0 stays free for the guest */

/* Multiboot (0.6.96) image header. */
#define MB1_HDR_MAGIC	 0x1badb002u
#define MB1_SEARCH	 8192u
#define MB1_HDR_MIN	 12u /* magic, flags, checksum */
#define MB1_HDR_ADDR_LEN 32u /* ... through entry_addr */
#define MB1_F_PAGE_ALIGN (1u << 0)
#define MB1_F_MEMINFO	 (1u << 1)
#define MB1_F_VIDEO	 (1u << 2)
#define MB1_F_ADDRESS	 (1u << 16)
#define MB1_F_REQUIRED	 0xffffu /* bits a loader must honour or refuse */

/* Multiboot information structure: offsets of the fields we fill. */
#define MB1_INFO_LEN	     116u
#define MB1_INFO_FLAGS	     0u
#define MB1_INFO_MEM_LOWER   4u
#define MB1_INFO_MEM_UPPER   8u
#define MB1_INFO_CMDLINE     16u
#define MB1_INFO_MODS_COUNT  20u
#define MB1_INFO_MODS_ADDR   24u
#define MB1_INFO_MMAP_LENGTH 44u
#define MB1_INFO_MMAP_ADDR   48u
#define MB1_INFO_LOADER_NAME 64u
#define MB1_INFO_F_MEM	     (1u << 0)
#define MB1_INFO_F_CMDLINE   (1u << 2)
#define MB1_INFO_F_MODS	     (1u << 3)
#define MB1_INFO_F_MMAP	     (1u << 6)
#define MB1_INFO_F_LOADER    (1u << 9)
#define MB1_MMAP_ENTRY_LEN   24u /* size prefix + base + length + type */
#define MB1_MOD_ENTRY_LEN    16u /* mod_start, mod_end, string, reserved */

/* Multiboot2 image header and its tags. */
#define MB2_HDR_MAGIC	     0xe85250d6u
#define MB2_SEARCH	     32768u
#define MB2_HDR_FIXED	     16u /* magic, architecture, length, checksum */
#define MB2_ARCH_I386	     0u
#define MB2_HTAG_OPTIONAL    1u /* tag flags bit 0 */
#define MB2_CONSOLE_REQUIRED 1u /* console flags bit 0 */
#define MB2_MMAP_ENTRY_LEN   24u

/* ACPI RSDP: v1 is 20 bytes, v2 (revision 2) 36; the revision is byte 15. */
#define ACPI_RSDP_V1_LEN   20u
#define ACPI_RSDP_V2_LEN   36u
#define ACPI_RSDP_MAX	   64u
#define ACPI_RSDP_REVISION 15

enum mb2_htag {
	MB2H_END = 0,
	MB2H_INFO_REQUEST = 1,
	MB2H_ADDRESS = 2,
	MB2H_ENTRY = 3,
	MB2H_CONSOLE = 4,
	MB2H_FRAMEBUFFER = 5,
	MB2H_MODULE_ALIGN = 6,
	MB2H_EFI_BS = 7,
	MB2H_ENTRY_EFI32 = 8,
	MB2H_ENTRY_EFI64 = 9,
	MB2H_RELOCATABLE = 10,
	MB2H_NR_KNOWN
};

/* ELF, as much of it as loading by program headers needs. */
#define EI_CLASS       4
#define EI_DATA	       5
#define EI_VERSION     6
#define EI_NIDENT      16
#define ELFCLASS32     1
#define ELFCLASS64     2
#define ELFDATA2LSB    1
#define ET_EXEC	       2
#define EM_386	       3
#define EM_X86_64      62
#define PT_LOAD	       1
#define ELF32_EHDR_LEN 52u
#define ELF64_EHDR_LEN 64u
#define ELF32_PHDR_LEN 32u
#define ELF64_PHDR_LEN 56u

/*
 * Real kernels have a handful of program headers; a table of thousands
 * is a broken or hostile image, and a bound keeps the walk cheap.
 */
#define ELF_PHNUM_MAX  64u
#define LOADER_SEG_MAX 16u

/* Longest piece of a bad command-line word quoted back in an error. */
#define ECHO_MAX 64

#define LOADER_NAME "hv"

_Static_assert(GUEST_MB2_BOOT_MAGIC == MB2_BOOTLOADER_MAGIC, "multiboot2 magic");
_Static_assert(GUEST_MEM_AVAILABLE == MB2_MEM_AVAILABLE && GUEST_MEM_RESERVED == MB2_MEM_RESERVED,
	       "memory types");

/* One load in progress: what every helper needs to check and to log. */
struct ld {
	const char *name;
	const struct guest_spec *spec;
	const uint8_t *img;
	uint64_t len;
	uint8_t *mem;
	uint64_t mem_size;
	const struct guest_boot_extra *extra; /* never NULL: an empty one */
};

#define ld_err(l, fmt, ...)   log_err("loader: %s: " fmt, (l)->name, ##__VA_ARGS__)
#define ld_debug(l, fmt, ...) log_debug("loader: %s: " fmt, (l)->name, ##__VA_ARGS__)

/* A piece of the image placed at [paddr, paddr + memsz), zero past filesz. */
struct seg {
	uint64_t paddr;
	uint64_t vaddr; /* ELF: where the image was linked to run */
	uint64_t off;	/* in the image */
	uint64_t filesz;
	uint64_t memsz;
};

struct plan {
	struct seg seg[LOADER_SEG_MAX];
	unsigned nseg;
	bool entry_is_phys; /* from a header field, else the ELF e_entry */
	uint64_t entry;	    /* as given; physical after plan_entry() */
	uint64_t info_addr;
	uint64_t info_len;
	uint64_t mod_addr[GUEST_MODULES_MAX]; /* where each module goes */
	uint64_t mod_len[GUEST_MODULES_MAX];
	unsigned nmod;
};

/* Address fields shared by the multiboot a.out kludge and the mb2 tag. */
struct addr_fields {
	uint32_t header_addr;
	uint32_t load_addr;
	uint32_t load_end_addr;
	uint32_t bss_end_addr;
};

static void st32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* Is [off, off + n) inside [0, limit)? Nothing here can wrap. */
static bool in_range(uint64_t off, uint64_t n, uint64_t limit)
{
	return off <= limit && n <= limit - off;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static unsigned long long ull(uint64_t v)
{
	return (unsigned long long)v;
}

static size_t bounded_len(const char *s, size_t cap)
{
	size_t n = 0;

	while (n < cap && s[n])
		n++;
	return n;
}

/*
 * The only way anything reaches guest memory. After planning these
 * checks cannot fail; they are here so that a mistake in the planning
 * becomes a refused guest rather than a write into the hypervisor.
 */
static bool mem_put(const struct ld *l, uint64_t gpa, const void *src, uint64_t n)
{
	if (!in_range(gpa, n, l->mem_size)) {
		ld_err(l, "internal error: %llu-byte write at 0x%llx outside guest memory", ull(n),
		       ull(gpa));
		return false;
	}
	if (n)
		memcpy(l->mem + gpa, src, (size_t)n);
	return true;
}

static bool mem_zero(const struct ld *l, uint64_t gpa, uint64_t n)
{
	if (!in_range(gpa, n, l->mem_size)) {
		ld_err(l, "internal error: %llu-byte clear at 0x%llx outside guest memory", ull(n),
		       ull(gpa));
		return false;
	}
	if (n)
		memset(l->mem + gpa, 0, (size_t)n);
	return true;
}

/*
 * Sequential writer for an info block reserved at [base, base + cap).
 * With mem == NULL it only measures, so the size used for placement and
 * the bytes written come from the same code.
 */
struct writer {
	const struct ld *l;
	uint64_t base;
	uint64_t pos; /* offset from base */
	uint64_t cap;
	bool measure;
	bool ok;
};

static void w_put(struct writer *w, const void *src, uint64_t n)
{
	if (!w->ok)
		return;
	if (!w->measure) {
		if (!in_range(w->pos, n, w->cap)) {
			ld_err(w->l, "internal error: info block overflows its %llu bytes",
			       ull(w->cap));
			w->ok = false;
			return;
		}
		w->ok = mem_put(w->l, w->base + w->pos, src, n);
	}
	w->pos += n;
}

static void w_u32(struct writer *w, uint32_t v)
{
	w_put(w, &v, sizeof(v));
}

static void w_u64(struct writer *w, uint64_t v)
{
	w_put(w, &v, sizeof(v));
}

/* Padding is left as the zeroes the block was cleared to. */
static void w_align(struct writer *w, uint64_t a)
{
	w->pos = align_up(w->pos, a);
}

static uint32_t w_addr(const struct writer *w)
{
	return (uint32_t)(w->base + w->pos);
}

/* ---------------------------------------------------------------------- */
/* Memory map */

unsigned guest_e820(uint64_t mem_size, struct guest_e820_entry map[GUEST_E820_MAX])
{
	static const struct guest_e820_entry layout[GUEST_E820_MAX] = {
	    {0, LOW_MEM_END, GUEST_MEM_AVAILABLE},
	    {LOW_MEM_END, EBDA_END - LOW_MEM_END, GUEST_MEM_RESERVED},
	    {BIOS_START, HIGH_MEM - BIOS_START, GUEST_MEM_RESERVED},
	    {HIGH_MEM, 0, GUEST_MEM_AVAILABLE}, /* up to mem_size */
	};
	unsigned i, n = 0;

	for (i = 0; i < GUEST_E820_MAX; i++) {
		uint64_t base = layout[i].base;
		uint64_t end = layout[i].len ? base + layout[i].len : mem_size;

		if (end > mem_size)
			end = mem_size;
		if (base >= end)
			continue;
		map[n].base = base;
		map[n].len = end - base;
		map[n].type = layout[i].type;
		n++;
	}
	return n;
}

/* Does [base, base + len) lie inside one available range of the map? */
static bool in_available_ram(uint64_t mem_size, uint64_t base, uint64_t len)
{
	struct guest_e820_entry map[GUEST_E820_MAX];
	unsigned i, n = guest_e820(mem_size, map);

	for (i = 0; i < n; i++)
		if (map[i].type == GUEST_MEM_AVAILABLE && base >= map[i].base &&
		    in_range(base - map[i].base, len, map[i].len))
			return true;
	return false;
}

/* ---------------------------------------------------------------------- */
/* Module command line */

const char *guest_type_name(enum guest_type type)
{
	switch (type) {
	case GUEST_TYPE_AUTO:
		return "auto";
	case GUEST_TYPE_RAW:
		return "raw";
	case GUEST_TYPE_MB1:
		return "mb1";
	case GUEST_TYPE_MB2:
		return "mb2";
	}
	return "?";
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Next blank-separated word of *s as [*w, *w + *n); false at the end. */
static bool next_word(const char **s, const char **w, size_t *n)
{
	const char *p = *s;

	while (is_space(*p))
		p++;
	if (!*p)
		return false;
	*w = p;
	while (*p && !is_space(*p))
		p++;
	*n = (size_t)(p - *w);
	*s = p;
	return true;
}

static int echo_len(size_t n)
{
	return n > ECHO_MAX ? ECHO_MAX : (int)n;
}

static bool starts_with(const char *w, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && memcmp(w, prefix, k) == 0;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* "guest<index>" without snprintf: this file only uses <string.h>. */
static void default_name(char *dst, unsigned index)
{
	char digits[12];
	unsigned n = 0;

	do {
		digits[n++] = (char)('0' + index % 10);
		index /= 10;
	} while (index);
	memcpy(dst, "guest", 5);
	dst += 5;
	while (n)
		*dst++ = digits[--n];
	*dst = '\0';
}

/*
 * Unsigned number, decimal or 0x-hex, from the start of [v, v + n).
 * Returns the digits used (0: no number or overflow).
 */
static size_t parse_number(const char *v, size_t n, uint64_t *out)
{
	unsigned base = 10;
	size_t i = 0, start;
	uint64_t x = 0;

	if (n > 2 && v[0] == '0' && lower(v[1]) == 'x') {
		base = 16;
		i = 2;
	}
	start = i;
	for (; i < n; i++) {
		char c = lower(v[i]);
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			break;
		if (x > (UINT64_MAX - d) / base)
			return 0;
		x = x * base + d;
	}
	if (i == start)
		return 0;
	*out = x;
	return i;
}

static int bad_value(const struct guest_spec *s, const char *key, const char *v, size_t n,
		     const char *why)
{
	log_err("loader: %s: bad %s= value '%.*s': %s", s->name, key, echo_len(n), v, why);
	return -HV_EINVAL;
}

static int parse_type(struct guest_spec *s, const char *v, size_t n)
{
	static const enum guest_type types[] = {GUEST_TYPE_RAW, GUEST_TYPE_MB1, GUEST_TYPE_MB2};
	size_t i, k;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const char *t = guest_type_name(types[i]);

		if (strlen(t) != n)
			continue;
		for (k = 0; k < n && lower(v[k]) == t[k]; k++)
			;
		if (k == n) {
			s->type = types[i];
			return 0;
		}
	}
	return bad_value(s, "type", v, n, "expected raw, mb1 or mb2");
}

static int parse_mem(struct guest_spec *s, const char *v, size_t n)
{
	uint64_t x;
	size_t used = parse_number(v, n, &x);
	unsigned shift = 0;

	if (!used)
		return bad_value(s, "mem", v, n, "expected a size such as 64M, 0x400000 or 1G");
	if (used < n) {
		switch (lower(v[used])) {
		case 'k':
			shift = 10;
			break;
		case 'm':
			shift = 20;
			break;
		case 'g':
			shift = 30;
			break;
		default:
			return bad_value(s, "mem", v, n, "unknown suffix (K, M or G)");
		}
		if (used + 1 != n)
			return bad_value(s, "mem", v, n, "junk after the suffix");
		if (x > (UINT64_MAX >> shift))
			return bad_value(s, "mem", v, n, "too large");
		x <<= shift;
	}
	if (x < GUEST_MEM_MIN || x > GUEST_MEM_MAX)
		return bad_value(s, "mem", v, n, "must be 1M..1G");
	if (x % GUEST_PAGE_SIZE)
		return bad_value(s, "mem", v, n, "must be a multiple of 4K");
	s->mem_size = x;
	return 0;
}

static int parse_load(struct guest_spec *s, const char *v, size_t n)
{
	uint64_t x;
	size_t used = parse_number(v, n, &x);

	if (!used || used != n)
		return bad_value(s, "load", v, n, "expected an address such as 0x7c00");
	if (x < GUEST_RAW_LOAD_MIN || x >= GUEST_RAW_LOAD_LIMIT)
		return bad_value(s, "load", v, n,
				 "must be 0x500..0xffff (entry is CS:IP 0:load in real mode)");
	s->load = (uint32_t)x;
	return 0;
}

static int parse_budget(struct guest_spec *s, const char *v, size_t n)
{
	uint64_t x;
	size_t used = parse_number(v, n, &x);

	if (!used || used != n || !x)
		return bad_value(s, "budget", v, n, "expected a TSC tick count such as 500000000");
	s->tsc_budget = x;
	return 0;
}

static int parse_irqchip(struct guest_spec *s, const char *v, size_t n)
{
	if (n != 1 || (v[0] != '0' && v[0] != '1'))
		return bad_value(s, "irqchip", v, n, "expected 0 or 1");
	s->irqchip = v[0] == '1';
	return 0;
}

static int parse_modules(struct guest_spec *s, const char *v, size_t n)
{
	uint64_t x;
	size_t used = parse_number(v, n, &x);

	if (!used || used != n || x > GUEST_MODULES_MAX)
		return bad_value(s, "modules", v, n, "expected a count 0..8");
	_Static_assert(GUEST_MODULES_MAX == 8, "the message above");
	s->n_modules = (unsigned)x;
	return 0;
}

/* Returns 0 when [v, v + n) is an acceptable name= value, else logs. */
static int check_name(unsigned index, const char *v, size_t n)
{
	size_t i;

	if (n == 0 || n >= GUEST_NAME_MAX) {
		log_err("loader: module %u: bad name= value '%.*s': must be 1..%u characters",
			index, echo_len(n), v, GUEST_NAME_MAX - 1);
		return -HV_EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (!name_char_ok(v[i])) {
			log_err("loader: module %u: bad name= value '%.*s': only A-Z a-z 0-9 _ . - "
				"allowed",
				index, echo_len(n), v);
			return -HV_EINVAL;
		}
	}
	return 0;
}

/* The guest command line: everything after "--", leading blanks dropped. */
static int take_guest_cmdline(struct guest_spec *s, const char *rest)
{
	size_t n;

	while (is_space(*rest))
		rest++;
	n = strlen(rest);
	if (n >= GUEST_CMDLINE_MAX) {
		log_err("loader: %s: guest command line after -- is %llu bytes (at most %u)",
			s->name, ull(n), GUEST_CMDLINE_MAX - 1);
		return -HV_EINVAL;
	}
	memcpy(s->cmdline, rest, n + 1);
	return 0;
}

int guest_spec_parse(const char *modline, unsigned index, struct guest_spec *out)
{
	static const char *const keys[] = {"name",   "type",	"mem",	  "load",
					   "budget", "irqchip", "modules"};
	const char *s, *w;
	size_t n;
	unsigned seen = 0, nword = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	default_name(out->name, index);
	out->type = GUEST_TYPE_AUTO;
	out->mem_size = GUEST_MEM_DEFAULT;
	out->load = GUEST_RAW_LOAD_DEFAULT;
	if (!modline)
		modline = "";

	/* The name first, so that every later error can carry it. */
	for (s = modline; next_word(&s, &w, &n);) {
		if (n == 2 && !memcmp(w, "--", 2))
			break;
		if (starts_with(w, n, "name=")) {
			rc = check_name(index, w + 5, n - 5);
			if (rc)
				return rc;
			memcpy(out->name, w + 5, n - 5);
			out->name[n - 5] = '\0';
			break;
		}
	}

	for (s = modline; next_word(&s, &w, &n); nword++) {
		const char *eq = memchr(w, '=', n);
		size_t klen, vlen, k;
		const char *v;

		if (n == 2 && !memcmp(w, "--", 2)) {
			rc = take_guest_cmdline(out, s);
			if (rc)
				return rc;
			break;
		}
		/* GRUB may put the module's own path first; it is not an option. */
		if (nword == 0 && (w[0] == '/' || w[0] == '(')) {
			log_debug("loader: %s: module file '%.*s'", out->name, echo_len(n), w);
			continue;
		}
		if (!eq) {
			log_err("loader: %s: '%.*s' is not key=value (keys: name type mem load "
				"budget irqchip modules; '--' starts the guest command line)",
				out->name, echo_len(n), w);
			return -HV_EINVAL;
		}
		klen = (size_t)(eq - w);
		v = eq + 1;
		vlen = n - klen - 1;
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (strlen(keys[k]) == klen && !memcmp(w, keys[k], klen))
				break;
		if (k == sizeof(keys) / sizeof(keys[0])) {
			log_err("loader: %s: unknown key '%.*s' in '%.*s' (keys: name type mem "
				"load budget irqchip modules)",
				out->name, echo_len(klen), w, echo_len(n), w);
			return -HV_EINVAL;
		}
		if (seen & (1u << k)) {
			log_err("loader: %s: %s= given twice (again as '%.*s')", out->name, keys[k],
				echo_len(n), w);
			return -HV_EINVAL;
		}
		seen |= 1u << k;
		switch (k) {
		case 0:
			rc = 0; /* taken in the first pass */
			break;
		case 1:
			rc = parse_type(out, v, vlen);
			break;
		case 2:
			rc = parse_mem(out, v, vlen);
			break;
		case 3:
			rc = parse_load(out, v, vlen);
			break;
		case 4:
			rc = parse_budget(out, v, vlen);
			break;
		case 5:
			rc = parse_irqchip(out, v, vlen);
			break;
		default:
			rc = parse_modules(out, v, vlen);
			break;
		}
		if (rc)
			return rc;
	}

	/* Only a raw image has no header of its own to say where it goes. */
	if ((seen & (1u << 3)) && out->type != GUEST_TYPE_RAW) {
		log_err("loader: %s: load=0x%x applies to type=raw only (type=%s)", out->name,
			out->load, guest_type_name(out->type));
		return -HV_EINVAL;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Planning: segments, entry point, info block */

static int plan_add(const struct ld *l, struct plan *p, const struct seg *s)
{
	if (p->nseg >= LOADER_SEG_MAX) {
		ld_err(l, "more than %u loadable segments", LOADER_SEG_MAX);
		return -HV_EINVAL;
	}
	p->seg[p->nseg++] = *s;
	return 0;
}

/*
 * Every segment inside guest memory, inside RAM the memory map calls
 * available (so the guest never finds its own code in a range it was
 * told is firmware), and no two overlapping: with an overlap the result
 * would depend on the order segments are copied, which is a broken link.
 */
static int plan_check_segments(const struct ld *l, const struct plan *p)
{
	unsigned i, j;

	for (i = 0; i < p->nseg; i++) {
		const struct seg *s = &p->seg[i];

		if (s->paddr > UINT64_MAX - s->memsz) {
			ld_err(l, "segment %u at 0x%llx, 0x%llx bytes, wraps the address space", i,
			       ull(s->paddr), ull(s->memsz));
			return -HV_EINVAL;
		}
		if (!in_range(s->paddr, s->memsz, l->mem_size)) {
			ld_err(l,
			       "segment %u [0x%llx-0x%llx) is beyond guest memory (%llu MiB; see "
			       "mem=)",
			       i, ull(s->paddr), ull(s->paddr + s->memsz), ull(l->mem_size / MIB));
			return -HV_ENOSPC;
		}
		if (!in_available_ram(l->mem_size, s->paddr, s->memsz)) {
			ld_err(l,
			       "segment %u [0x%llx-0x%llx) is not in available guest RAM (hole at "
			       "[0x%llx-0x%llx))",
			       i, ull(s->paddr), ull(s->paddr + s->memsz), ull(LOW_MEM_END),
			       ull(HIGH_MEM));
			return -HV_EINVAL;
		}
		for (j = 0; j < i; j++) {
			const struct seg *t = &p->seg[j];

			if (ranges_overlap(s->paddr, s->memsz, t->paddr, t->memsz)) {
				ld_err(l,
				       "segments %u [0x%llx-0x%llx) and %u [0x%llx-0x%llx) overlap",
				       j, ull(t->paddr), ull(t->paddr + t->memsz), i, ull(s->paddr),
				       ull(s->paddr + s->memsz));
				return -HV_EINVAL;
			}
		}
	}
	return 0;
}

/*
 * The entry must be inside something we loaded: jumping anywhere else
 * runs zeroes or leftovers. An ELF e_entry is a link-time (virtual)
 * address; higher-half kernels link at one address and load at another,
 * so it is translated through the segment containing it.
 */
static int plan_entry(const struct ld *l, struct plan *p)
{
	unsigned i;

	for (i = 0; i < p->nseg; i++) {
		const struct seg *s = &p->seg[i];
		uint64_t from = p->entry_is_phys ? s->paddr : s->vaddr;

		if (p->entry >= from && p->entry - from < s->memsz) {
			p->entry = p->entry - from + s->paddr;
			p->entry_is_phys = true;
			return 0;
		}
	}
	ld_err(l, "%s entry 0x%llx is outside every loaded segment",
	       p->entry_is_phys ? "physical" : "ELF", ull(p->entry));
	return -HV_EINVAL;
}

static bool range_clear(const struct plan *p, uint64_t base, uint64_t len)
{
	unsigned i;

	for (i = 0; i < p->nseg; i++)
		if (ranges_overlap(base, len, p->seg[i].paddr, p->seg[i].memsz))
			return false;
	for (i = 0; i < p->nmod; i++)
		if (ranges_overlap(base, len, p->mod_addr[i], p->mod_len[i]))
			return false;
	return true;
}

/* The end of the highest loaded segment. */
static uint64_t plan_seg_top(const struct plan *p)
{
	uint64_t top = 0;
	unsigned i;

	for (i = 0; i < p->nseg; i++)
		if (p->seg[i].paddr + p->seg[i].memsz > top)
			top = p->seg[i].paddr + p->seg[i].memsz;
	return top;
}

/*
 * Modules, as GRUB places them for a kernel: page-aligned, one after the
 * other, above the image (and never below 1 MiB, where the low info block
 * and the firmware ranges are). Above 1 MiB every byte up to mem_size is
 * available RAM, so staying inside guest memory is the only check left.
 */
static int plan_modules(const struct ld *l, struct plan *p)
{
	uint64_t a = plan_seg_top(p);
	unsigned i;

	if (l->extra->n_mods > GUEST_MODULES_MAX) {
		ld_err(l, "%u modules; at most %u", l->extra->n_mods, GUEST_MODULES_MAX);
		return -HV_EINVAL;
	}
	if (a < HIGH_MEM)
		a = HIGH_MEM;
	a = align_up(a, GUEST_PAGE_SIZE);
	for (i = 0; i < l->extra->n_mods; i++) {
		const struct guest_module *m = &l->extra->mods[i];
		const char *str = m->string ? m->string : "";

		if (!m->data && m->len) {
			ld_err(l, "module %u has %llu bytes and no buffer", i, ull(m->len));
			return -HV_EINVAL;
		}
		if (bounded_len(str, GUEST_CMDLINE_MAX) == GUEST_CMDLINE_MAX) {
			ld_err(l, "module %u: its string is longer than %u bytes", i,
			       GUEST_CMDLINE_MAX - 1);
			return -HV_EINVAL;
		}
		if (!in_range(a, m->len, l->mem_size)) {
			ld_err(
			    l,
			    "module %u ('%.*s', %llu bytes) does not fit at 0x%llx: guest memory "
			    "is %llu MiB (see mem=)",
			    i, echo_len(strlen(str)), str, ull(m->len), ull(a),
			    ull(l->mem_size / MIB));
			return -HV_ENOSPC;
		}
		p->mod_addr[i] = a;
		p->mod_len[i] = m->len;
		p->nmod = i + 1;
		a = align_up(a + m->len, GUEST_PAGE_SIZE);
	}
	return 0;
}

/* Copy the planned modules into guest memory. */
static bool load_modules(const struct ld *l, const struct plan *p)
{
	unsigned i;

	for (i = 0; i < p->nmod; i++) {
		const struct guest_module *m = &l->extra->mods[i];

		log_info("loader: %s: module %u '%s' %llu bytes at [0x%llx-0x%llx)", l->name, i,
			 m->string ? m->string : "", ull(m->len), ull(p->mod_addr[i]),
			 ull(p->mod_addr[i] + m->len));
		if (!mem_put(l, p->mod_addr[i], m->data, m->len))
			return false;
	}
	return true;
}

/*
 * Low memory first: it is what a multiboot loader normally uses, and it
 * keeps the info block out of the way of whatever the guest later
 * allocates above its image. Failing that, the page after the image.
 */
static int plan_info(const struct ld *l, struct plan *p, uint64_t len)
{
	uint64_t a, top = plan_seg_top(p);
	unsigned i;

	for (a = INFO_LOW_START; in_range(a, len, LOW_MEM_END); a += GUEST_PAGE_SIZE) {
		if (range_clear(p, a, len))
			goto found;
	}
	for (i = 0; i < p->nmod; i++)
		if (p->mod_addr[i] + p->mod_len[i] > top)
			top = p->mod_addr[i] + p->mod_len[i];
	a = align_up(top, GUEST_PAGE_SIZE);
	if (a < HIGH_MEM)
		a = HIGH_MEM;
	if (in_range(a, len, l->mem_size) && range_clear(p, a, len))
		goto found;
	ld_err(l,
	       "no room for the %llu-byte info block: [0x%llx-0x%llx) is taken and nothing is free "
	       "from 0x%llx to the end of guest memory (%llu MiB)",
	       ull(len), ull(INFO_LOW_START), ull(LOW_MEM_END), ull(a), ull(l->mem_size / MIB));
	return -HV_ENOSPC;
found:
	p->info_addr = a;
	p->info_len = len;
	return 0;
}

/*
 * Header-described load (multiboot flag 16, multiboot2 address tag): one
 * contiguous piece of the file at load_addr, then bss.
 * @from_start: multiboot2's load_addr of -1, "load from the file start".
 */
static int plan_from_addresses(const struct ld *l, uint64_t hdr_off, const struct addr_fields *a,
			       bool from_start, struct plan *p)
{
	struct seg s = {0};
	uint64_t gap;

	if (from_start) {
		if (a->header_addr < hdr_off) {
			ld_err(l,
			       "header_addr 0x%x is below the header's file offset 0x%llx: loading "
			       "from the file start would begin below 0",
			       a->header_addr, ull(hdr_off));
			return -HV_EINVAL;
		}
		s.paddr = a->header_addr - hdr_off;
		s.off = 0;
	} else {
		if (a->load_addr > a->header_addr) {
			ld_err(l, "load_addr 0x%x is above header_addr 0x%x", a->load_addr,
			       a->header_addr);
			return -HV_EINVAL;
		}
		gap = a->header_addr - a->load_addr;
		if (gap > hdr_off) {
			ld_err(l,
			       "header_addr 0x%x - load_addr 0x%x = 0x%llx exceeds the header's "
			       "file offset 0x%llx",
			       a->header_addr, a->load_addr, ull(gap), ull(hdr_off));
			return -HV_EINVAL;
		}
		s.paddr = a->load_addr;
		s.off = hdr_off - gap;
	}

	if (a->load_end_addr == 0) {
		s.filesz = l->len - s.off;
	} else {
		if (a->load_end_addr < s.paddr) {
			ld_err(l, "load_end_addr 0x%x is below the load address 0x%llx",
			       a->load_end_addr, ull(s.paddr));
			return -HV_EINVAL;
		}
		s.filesz = a->load_end_addr - s.paddr;
		if (!in_range(s.off, s.filesz, l->len)) {
			ld_err(l,
			       "load_end_addr 0x%x needs 0x%llx bytes from file offset 0x%llx; the "
			       "image has %llu bytes",
			       a->load_end_addr, ull(s.filesz), ull(s.off), ull(l->len));
			return -HV_EINVAL;
		}
	}
	/* Keeps every sum below 2^33 from here on. */
	if (s.filesz > l->mem_size) {
		ld_err(l, "address fields load %llu bytes, more than the guest's %llu MiB",
		       ull(s.filesz), ull(l->mem_size / MIB));
		return -HV_ENOSPC;
	}
	if (a->bss_end_addr == 0) {
		s.memsz = s.filesz;
	} else {
		if (a->bss_end_addr < s.paddr + s.filesz) {
			ld_err(l, "bss_end_addr 0x%x is below the end of the loaded data 0x%llx",
			       a->bss_end_addr, ull(s.paddr + s.filesz));
			return -HV_EINVAL;
		}
		s.memsz = a->bss_end_addr - s.paddr;
	}
	if (s.memsz == 0) {
		ld_err(l, "address fields describe nothing to load");
		return -HV_EINVAL;
	}
	s.vaddr = s.paddr;
	return plan_add(l, p, &s);
}

/* ELF executable: every non-empty PT_LOAD at its p_paddr. */
static int plan_from_elf(const struct ld *l, struct plan *p, const char *no_addr)
{
	uint8_t id[EI_NIDENT];
	bool is64;
	uint16_t type, machine, want_machine, phentsize, phnum;
	uint32_t ehdr_len, phdr_min;
	uint64_t phoff, i;
	int rc;

	if (l->len < EI_NIDENT || memcmp(l->img, "\177ELF", 4) != 0) {
		ld_err(l, "not an ELF file and %s: nothing says where to load it", no_addr);
		return -HV_EINVAL;
	}
	memcpy(id, l->img, sizeof(id));
	if (id[EI_CLASS] != ELFCLASS32 && id[EI_CLASS] != ELFCLASS64) {
		ld_err(l, "ELF class %u unknown (1 = 32-bit, 2 = 64-bit)", id[EI_CLASS]);
		return -HV_EINVAL;
	}
	if (id[EI_DATA] != ELFDATA2LSB || id[EI_VERSION] != 1) {
		ld_err(l, "ELF data encoding %u / version %u: only little-endian version 1",
		       id[EI_DATA], id[EI_VERSION]);
		return -HV_EINVAL;
	}
	is64 = id[EI_CLASS] == ELFCLASS64;
	ehdr_len = is64 ? ELF64_EHDR_LEN : ELF32_EHDR_LEN;
	phdr_min = is64 ? ELF64_PHDR_LEN : ELF32_PHDR_LEN;
	want_machine = is64 ? EM_X86_64 : EM_386;
	if (l->len < ehdr_len) {
		ld_err(l, "ELF%u header needs %u bytes; the image has %llu", is64 ? 64 : 32,
		       ehdr_len, ull(l->len));
		return -HV_EINVAL;
	}
	type = ld16(l->img + 16);
	machine = ld16(l->img + 18);
	if (is64) {
		p->entry = ld64(l->img + 24);
		phoff = ld64(l->img + 32);
		phentsize = ld16(l->img + 54);
		phnum = ld16(l->img + 56);
	} else {
		p->entry = ld32(l->img + 24);
		phoff = ld32(l->img + 28);
		phentsize = ld16(l->img + 42);
		phnum = ld16(l->img + 44);
	}
	p->entry_is_phys = false;
	if (type != ET_EXEC) {
		ld_err(l, "ELF type %u: only executables (type 2) can be loaded", type);
		return -HV_EINVAL;
	}
	if (machine != want_machine) {
		ld_err(l, "ELF%u machine %u: expected %u", is64 ? 64 : 32, machine, want_machine);
		return -HV_EINVAL;
	}
	if (phnum == 0 || phnum > ELF_PHNUM_MAX) {
		ld_err(l, "ELF has %u program headers (need 1..%u)", phnum, ELF_PHNUM_MAX);
		return -HV_EINVAL;
	}
	if (phentsize < phdr_min) {
		ld_err(l, "ELF program header size %u is below %u", phentsize, phdr_min);
		return -HV_EINVAL;
	}
	if (!in_range(phoff, (uint64_t)phnum * phentsize, l->len)) {
		ld_err(l,
		       "ELF program headers (offset 0x%llx, %u x %u bytes) run past the image end "
		       "(%llu bytes)",
		       ull(phoff), phnum, phentsize, ull(l->len));
		return -HV_EINVAL;
	}

	for (i = 0; i < phnum; i++) {
		const uint8_t *ph = l->img + phoff + i * phentsize;
		struct seg s;
		uint32_t ptype = ld32(ph);

		if (ptype != PT_LOAD)
			continue;
		if (is64) {
			s.off = ld64(ph + 8);
			s.vaddr = ld64(ph + 16);
			s.paddr = ld64(ph + 24);
			s.filesz = ld64(ph + 32);
			s.memsz = ld64(ph + 40);
		} else {
			s.off = ld32(ph + 4);
			s.vaddr = ld32(ph + 8);
			s.paddr = ld32(ph + 12);
			s.filesz = ld32(ph + 16);
			s.memsz = ld32(ph + 20);
		}
		if (s.filesz > s.memsz) {
			ld_err(l, "program header %llu: p_filesz 0x%llx > p_memsz 0x%llx", ull(i),
			       ull(s.filesz), ull(s.memsz));
			return -HV_EINVAL;
		}
		if (s.memsz == 0) {
			ld_debug(l, "program header %llu: empty PT_LOAD skipped", ull(i));
			continue;
		}
		if (s.filesz && !in_range(s.off, s.filesz, l->len)) {
			ld_err(l,
			       "program header %llu: file bytes at offset 0x%llx, 0x%llx long, run "
			       "past the image end (%llu bytes)",
			       ull(i), ull(s.off), ull(s.filesz), ull(l->len));
			return -HV_EINVAL;
		}
		rc = plan_add(l, p, &s);
		if (rc)
			return rc;
	}
	if (p->nseg == 0) {
		ld_err(l, "ELF has no non-empty PT_LOAD segment among %u program headers", phnum);
		return -HV_EINVAL;
	}
	return 0;
}

/* Write the planned segments: file bytes, then zeroes up to memsz. */
static bool load_segments(const struct ld *l, const struct plan *p)
{
	unsigned i;

	for (i = 0; i < p->nseg; i++) {
		const struct seg *s = &p->seg[i];

		ld_debug(l, "segment %u: [0x%llx-0x%llx), 0x%llx bytes from file offset 0x%llx", i,
			 ull(s->paddr), ull(s->paddr + s->memsz), ull(s->filesz), ull(s->off));
		if (!mem_put(l, s->paddr, l->img + s->off, s->filesz) ||
		    !mem_zero(l, s->paddr + s->filesz, s->memsz - s->filesz))
			return false;
	}
	return true;
}

static void log_loaded(const struct ld *l, const char *type, const struct plan *p)
{
	log_info("loader: %s: %s image %llu bytes, entry 0x%llx, %u segments, info block at "
		 "0x%llx, memory %llu MiB",
		 l->name, type, ull(l->len), ull(p->entry), p->nseg, ull(p->info_addr),
		 ull(l->mem_size / MIB));
	if (p->nmod)
		log_info("loader: %s: %u module%s listed in the %s information", l->name, p->nmod,
			 p->nmod == 1 ? "" : "s", type);
}

/*
 * Everything after the image-specific planning: check the segments and
 * entry, place the info block (measured by a dry run of @build), then
 * write segments and info block and set the protected-mode entry state.
 */
static int finish_multiboot(const struct ld *l, struct plan *p, const char *type,
			    void (*build)(const struct ld *l, const struct plan *p,
					  struct writer *w),
			    uint32_t magic, struct guest_entry *entry)
{
	struct writer w = {.l = l, .measure = true, .ok = true};
	int rc;

	rc = plan_check_segments(l, p);
	if (!rc)
		rc = plan_entry(l, p);
	if (!rc)
		rc = plan_modules(l, p);
	if (rc)
		return rc;
	build(l, p, &w);
	rc = plan_info(l, p, w.pos);
	if (rc)
		return rc;

	if (!load_segments(l, p) || !load_modules(l, p) || !mem_zero(l, p->info_addr, p->info_len))
		return -HV_EINVAL;
	w = (struct writer){.l = l, .base = p->info_addr, .cap = p->info_len, .ok = true};
	build(l, p, &w);
	if (!w.ok)
		return -HV_EINVAL;

	entry->mode = GUEST_MODE_PROTECTED32;
	entry->rip = p->entry;
	entry->rax = magic;
	entry->rbx = p->info_addr;
	log_loaded(l, type, p);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Multiboot */

enum find_result { FIND_NONE, FIND_BAD_SUM, FIND_OK };

/*
 * A header is its magic at a 4-byte aligned offset with the checksum
 * right; a magic with a wrong checksum is remembered only so that the
 * error can say so (it may just be the constant in the image's code).
 */
static enum find_result mb1_find(const struct ld *l, uint64_t *at)
{
	uint64_t window = l->len < MB1_SEARCH ? l->len : MB1_SEARCH;
	enum find_result r = FIND_NONE;
	uint64_t off;

	for (off = 0; in_range(off, MB1_HDR_MIN, window); off += 4) {
		uint32_t magic = ld32(l->img + off);

		if (magic != MB1_HDR_MAGIC)
			continue;
		if ((uint32_t)(magic + ld32(l->img + off + 4) + ld32(l->img + off + 8)) == 0) {
			*at = off;
			return FIND_OK;
		}
		if (r == FIND_NONE) {
			r = FIND_BAD_SUM;
			*at = off;
		}
	}
	return r;
}

/* The strings of the modules, one after the other, each with its NUL. */
static const char *mod_string(const struct ld *l, unsigned i)
{
	const char *str = l->extra->mods[i].string;

	return str ? str : "";
}

static void mb1_build_info(const struct ld *l, const struct plan *p, struct writer *w)
{
	struct guest_e820_entry map[GUEST_E820_MAX];
	unsigned i, n = guest_e820(l->mem_size, map);
	size_t clen = strlen(l->spec->cmdline);
	uint32_t mmap_addr = (uint32_t)(w->base + align_up(MB1_INFO_LEN, 8));
	uint32_t name_addr = mmap_addr + n * MB1_MMAP_ENTRY_LEN;
	uint32_t cmd_addr = name_addr + (uint32_t)align_up(sizeof(LOADER_NAME), 8);
	uint32_t mods_addr = cmd_addr + (uint32_t)align_up(clen + 1, 8);
	uint32_t str_addr = mods_addr + p->nmod * MB1_MOD_ENTRY_LEN;
	uint32_t flags = MB1_INFO_F_MEM | MB1_INFO_F_CMDLINE | MB1_INFO_F_MMAP | MB1_INFO_F_LOADER;
	uint8_t info[MB1_INFO_LEN];

	memset(info, 0, sizeof(info));
	if (p->nmod) {
		flags |= MB1_INFO_F_MODS;
		st32(info + MB1_INFO_MODS_COUNT, p->nmod);
		st32(info + MB1_INFO_MODS_ADDR, mods_addr);
	}
	st32(info + MB1_INFO_FLAGS, flags);
	st32(info + MB1_INFO_MEM_LOWER, (uint32_t)(LOW_MEM_END / KIB));
	st32(info + MB1_INFO_MEM_UPPER, (uint32_t)((l->mem_size - HIGH_MEM) / KIB));
	st32(info + MB1_INFO_CMDLINE, cmd_addr);
	st32(info + MB1_INFO_MMAP_LENGTH, n * MB1_MMAP_ENTRY_LEN);
	st32(info + MB1_INFO_MMAP_ADDR, mmap_addr);
	st32(info + MB1_INFO_LOADER_NAME, name_addr);
	w_put(w, info, sizeof(info));
	w_align(w, 8);

	/* Each entry starts with its size, not counting the size field. */
	for (i = 0; i < n; i++) {
		w_u32(w, MB1_MMAP_ENTRY_LEN - 4);
		w_u64(w, map[i].base);
		w_u64(w, map[i].len);
		w_u32(w, map[i].type);
	}
	w_put(w, LOADER_NAME, sizeof(LOADER_NAME));
	w_align(w, 8);
	if (w->ok && !w->measure && w_addr(w) != cmd_addr) {
		ld_err(l, "internal error: multiboot info layout");
		w->ok = false;
	}
	w_put(w, l->spec->cmdline, clen + 1);
	if (!p->nmod)
		return;

	w_align(w, 8);
	for (i = 0; i < p->nmod; i++) {
		w_u32(w, (uint32_t)p->mod_addr[i]);
		w_u32(w, (uint32_t)(p->mod_addr[i] + p->mod_len[i]));
		w_u32(w, str_addr);
		w_u32(w, 0);
		str_addr += (uint32_t)strlen(mod_string(l, i)) + 1;
	}
	for (i = 0; i < p->nmod; i++)
		w_put(w, mod_string(l, i), strlen(mod_string(l, i)) + 1);
	if (w->ok && !w->measure && w_addr(w) != str_addr) {
		ld_err(l, "internal error: multiboot module list layout");
		w->ok = false;
	}
}

static int load_mb1(const struct ld *l, struct guest_entry *entry)
{
	uint64_t off, window = l->len < MB1_SEARCH ? l->len : MB1_SEARCH;
	struct plan p = {0};
	uint32_t flags, unsupported;
	int rc;

	switch (mb1_find(l, &off)) {
	case FIND_NONE:
		ld_err(l, "no multiboot header (magic 0x%x) in the first %llu bytes", MB1_HDR_MAGIC,
		       ull(window));
		return -HV_EINVAL;
	case FIND_BAD_SUM:
		ld_err(l, "multiboot header at offset 0x%llx has a bad checksum", ull(off));
		return -HV_EINVAL;
	case FIND_OK:
		break;
	}
	flags = ld32(l->img + off + 4);
	/*
	 * Bits 0-15 are requirements: a loader that cannot meet one must not
	 * boot the image. Modules are always page-aligned and memory
	 * information is always given; video modes are not.
	 */
	if (flags & MB1_F_VIDEO) {
		ld_err(l,
		       "multiboot header flags 0x%x require a video mode (bit 2); guests have no "
		       "display",
		       flags);
		return -HV_EINVAL;
	}
	unsupported = flags & MB1_F_REQUIRED & ~(MB1_F_PAGE_ALIGN | MB1_F_MEMINFO);
	if (unsupported) {
		ld_err(
		    l,
		    "multiboot header flags 0x%x have required bits 0x%x this loader does not know",
		    flags, unsupported);
		return -HV_EINVAL;
	}

	if (flags & MB1_F_ADDRESS) {
		struct addr_fields a;

		if (!in_range(off, MB1_HDR_ADDR_LEN, window)) {
			ld_err(l,
			       "multiboot header at offset 0x%llx: its address fields (flag 16) "
			       "run past byte %llu",
			       ull(off), ull(window));
			return -HV_EINVAL;
		}
		a.header_addr = ld32(l->img + off + 12);
		a.load_addr = ld32(l->img + off + 16);
		a.load_end_addr = ld32(l->img + off + 20);
		a.bss_end_addr = ld32(l->img + off + 24);
		rc = plan_from_addresses(l, off, &a, false, &p);
		p.entry = ld32(l->img + off + 28);
		p.entry_is_phys = true;
	} else {
		rc = plan_from_elf(l, &p, "the multiboot header has no address fields (flag 16)");
	}
	if (rc)
		return rc;
	return finish_multiboot(l, &p, "mb1", mb1_build_info, GUEST_MB1_BOOT_MAGIC, entry);
}

/* ---------------------------------------------------------------------- */
/* Multiboot2 */

/* What the header's tags asked for, copied out of the image. */
struct mb2_hdr {
	bool has_addr;
	struct addr_fields addr;
	bool has_entry;
	uint32_t entry;
};

static enum find_result mb2_find(const struct ld *l, uint64_t *at)
{
	uint64_t window = l->len < MB2_SEARCH ? l->len : MB2_SEARCH;
	enum find_result r = FIND_NONE;
	uint64_t off;

	for (off = 0; in_range(off, MB2_HDR_FIXED, window); off += 8) {
		uint32_t magic = ld32(l->img + off);
		uint32_t sum;

		if (magic != MB2_HDR_MAGIC)
			continue;
		sum = magic + ld32(l->img + off + 4) + ld32(l->img + off + 8) +
		      ld32(l->img + off + 12);
		if (sum == 0) {
			*at = off;
			return FIND_OK;
		}
		if (r == FIND_NONE) {
			r = FIND_BAD_SUM;
			*at = off;
		}
	}
	return r;
}

/* An RSDP of revision 2 or later: GRUB's "new ACPI" tag. */
static bool mb2_has_acpi_new(const struct ld *l)
{
	const struct guest_boot_extra *x = l->extra;

	return x->rsdp && x->rsdp_len >= ACPI_RSDP_V2_LEN && x->rsdp_len <= ACPI_RSDP_MAX &&
	       x->rsdp[ACPI_RSDP_REVISION] >= 2;
}

/*
 * Boot-information tags a multiboot2 guest gets: always these, a module
 * tag per module when it has modules (modules=), and the ACPI RSDP tags
 * when it has tables (irqchip=1).
 */
static bool mb2_info_provided(const struct ld *l, uint32_t type)
{
	if (type == MB2_TAG_ACPI_OLD)
		return l->extra->rsdp != NULL;
	if (type == MB2_TAG_ACPI_NEW)
		return mb2_has_acpi_new(l);
	if (type == MB2_TAG_MODULE)
		return l->extra->n_mods > 0;
	return type == MB2_TAG_CMDLINE || type == MB2_TAG_LOADER_NAME ||
	       type == MB2_TAG_BASIC_MEMINFO || type == MB2_TAG_MMAP;
}

static const char *mb2_info_name(uint32_t type)
{
	static const char *const names[MB2_TAG_NR_KNOWN] = {
	    "end",
	    "cmdline",
	    "loader name",
	    "module",
	    "basic meminfo",
	    "boot device",
	    "memory map",
	    "VBE",
	    "framebuffer",
	    "ELF sections",
	    "APM",
	    "EFI32 system table",
	    "EFI64 system table",
	    "SMBIOS",
	    "ACPI v1 RSDP",
	    "ACPI v2 RSDP",
	    "network",
	    "EFI memory map",
	    "EFI boot services",
	    "EFI32 image handle",
	    "EFI64 image handle",
	    "load base",
	};

	return type < MB2_TAG_NR_KNOWN ? names[type] : "unknown";
}

/* Smallest size of each header tag we read fields from. */
static const uint32_t mb2_htag_min[MB2H_NR_KNOWN] = {
    [MB2H_END] = 8,	     [MB2H_INFO_REQUEST] = 8, [MB2H_ADDRESS] = 24,     [MB2H_ENTRY] = 12,
    [MB2H_CONSOLE] = 12,     [MB2H_FRAMEBUFFER] = 20, [MB2H_MODULE_ALIGN] = 8, [MB2H_EFI_BS] = 8,
    [MB2H_ENTRY_EFI32] = 12, [MB2H_ENTRY_EFI64] = 12, [MB2H_RELOCATABLE] = 24,
};

static int mb2_info_request(const struct ld *l, const uint8_t *t, uint32_t size, bool optional)
{
	uint32_t k, n = (size - 8) / 4;

	for (k = 0; k < n; k++) {
		uint32_t want = ld32(t + 8 + 4 * k);

		if (mb2_info_provided(l, want))
			continue;
		if (optional) {
			ld_debug(l, "optional request for boot information tag %u (%s) not met",
				 want, mb2_info_name(want));
			continue;
		}
		ld_err(l,
		       "multiboot2 header requires boot information tag %u (%s); guests get only "
		       "cmdline, loader name, basic meminfo, memory map, modules (with "
		       "modules=) and ACPI RSDP (with irqchip=1)",
		       want, mb2_info_name(want));
		return -HV_EINVAL;
	}
	return 0;
}

/* One header tag (not the end tag) of @size bytes at @t. */
static int mb2_header_tag(const struct ld *l, struct mb2_hdr *h, const uint8_t *t, uint16_t type,
			  bool optional, uint32_t size)
{
	uint32_t v;

	if (type < MB2H_NR_KNOWN && size < mb2_htag_min[type]) {
		ld_err(l, "multiboot2 header tag type %u has size %u; it needs %u", type, size,
		       mb2_htag_min[type]);
		return -HV_EINVAL;
	}
	switch (type) {
	case MB2H_INFO_REQUEST:
		return mb2_info_request(l, t, size, optional);
	case MB2H_ADDRESS:
		if (h->has_addr) {
			ld_err(l, "multiboot2 header has two address tags");
			return -HV_EINVAL;
		}
		h->has_addr = true;
		h->addr.header_addr = ld32(t + 8);
		h->addr.load_addr = ld32(t + 12);
		h->addr.load_end_addr = ld32(t + 16);
		h->addr.bss_end_addr = ld32(t + 20);
		return 0;
	case MB2H_ENTRY:
		if (h->has_entry) {
			ld_err(l, "multiboot2 header has two entry address tags");
			return -HV_EINVAL;
		}
		h->has_entry = true;
		h->entry = ld32(t + 8);
		return 0;
	case MB2H_CONSOLE:
		v = ld32(t + 8);
		if ((v & MB2_CONSOLE_REQUIRED) && !optional) {
			ld_err(l,
			       "multiboot2 header requires a console described in the boot "
			       "information (console flags 0x%x); guests get none",
			       v);
			return -HV_EINVAL;
		}
		return 0;
	case MB2H_FRAMEBUFFER:
		if (!optional) {
			ld_err(l,
			       "multiboot2 header requires a framebuffer (%ux%ux%u); guests have "
			       "no display",
			       ld32(t + 8), ld32(t + 12), ld32(t + 16));
			return -HV_EINVAL;
		}
		ld_debug(l, "optional framebuffer request ignored");
		return 0;
	case MB2H_MODULE_ALIGN:
		return 0; /* modules are always page-aligned */
	case MB2H_EFI_BS:
		/* Required, it says the image can only start under EFI. */
		if (!optional) {
			ld_err(l, "multiboot2 header requires EFI boot services (tag 7); guests "
				  "start without firmware");
			return -HV_EINVAL;
		}
		return 0;
	case MB2H_ENTRY_EFI32:
	case MB2H_ENTRY_EFI64:
		/* Only used when boot services are kept running, never here. */
		ld_debug(l, "EFI entry address 0x%x (tag %u) ignored", ld32(t + 8), type);
		return 0;
	case MB2H_RELOCATABLE:
		/* Loading at the linked address is always one of its choices. */
		ld_debug(l, "relocatable [0x%x-0x%x] align 0x%x: loaded at its linked address",
			 ld32(t + 8), ld32(t + 12), ld32(t + 16));
		return 0;
	default:
		if (!optional) {
			ld_err(l, "multiboot2 header tag type %u is required and not supported",
			       type);
			return -HV_EINVAL;
		}
		ld_debug(l, "optional multiboot2 header tag type %u ignored", type);
		return 0;
	}
}

static int mb2_header(const struct ld *l, uint64_t off, struct mb2_hdr *h)
{
	uint64_t window = l->len < MB2_SEARCH ? l->len : MB2_SEARCH;
	uint32_t arch = ld32(l->img + off + 4);
	uint32_t hlen = ld32(l->img + off + 8);
	uint64_t pos, end;
	int rc;

	if (arch != MB2_ARCH_I386) {
		ld_err(l,
		       "multiboot2 header architecture %u: only 0 (i386 protected mode) runs here",
		       arch);
		return -HV_EINVAL;
	}
	if (hlen < MB2_HDR_FIXED + 8) {
		ld_err(l, "multiboot2 header_length %u is too small for a header and an end tag",
		       hlen);
		return -HV_EINVAL;
	}
	if (!in_range(off, hlen, window)) {
		ld_err(l,
		       "multiboot2 header at offset 0x%llx, header_length %u, runs past byte %llu",
		       ull(off), hlen, ull(window));
		return -HV_EINVAL;
	}
	pos = off + MB2_HDR_FIXED;
	end = off + hlen;
	for (;;) {
		const uint8_t *t = l->img + pos;
		uint16_t type, tflags;
		uint32_t size;
		uint64_t step;

		if (end - pos < 8) {
			ld_err(l, "multiboot2 header has no end tag within header_length %u", hlen);
			return -HV_EINVAL;
		}
		type = ld16(t);
		tflags = ld16(t + 2);
		size = ld32(t + 4);
		if (type == MB2H_END)
			return 0;
		if (size < 8 || size > end - pos) {
			ld_err(l,
			       "multiboot2 header tag type %u at offset 0x%llx has size %u (must "
			       "be 8..%llu)",
			       type, ull(pos), size, ull(end - pos));
			return -HV_EINVAL;
		}
		rc = mb2_header_tag(l, h, t, type, tflags & MB2_HTAG_OPTIONAL, size);
		if (rc)
			return rc;
		/* Tags are 8-byte aligned; the size does not count the padding. */
		step = align_up(size, 8);
		pos = step > end - pos ? end : pos + step;
	}
}

static void mb2_tag(struct writer *w, uint32_t type, uint32_t size)
{
	w_align(w, 8);
	w_u32(w, type);
	w_u32(w, size);
}

static void mb2_build_info(const struct ld *l, const struct plan *p, struct writer *w)
{
	struct guest_e820_entry map[GUEST_E820_MAX];
	unsigned i, n = guest_e820(l->mem_size, map);
	size_t clen = strlen(l->spec->cmdline);
	uint32_t total;

	w_u32(w, 0); /* total_size, patched below */
	w_u32(w, 0);

	mb2_tag(w, MB2_TAG_CMDLINE, (uint32_t)(8 + clen + 1));
	w_put(w, l->spec->cmdline, clen + 1);

	mb2_tag(w, MB2_TAG_LOADER_NAME, 8 + sizeof(LOADER_NAME));
	w_put(w, LOADER_NAME, sizeof(LOADER_NAME));

	mb2_tag(w, MB2_TAG_BASIC_MEMINFO, 16);
	w_u32(w, (uint32_t)(LOW_MEM_END / KIB));
	w_u32(w, (uint32_t)((l->mem_size - HIGH_MEM) / KIB));

	mb2_tag(w, MB2_TAG_MMAP, 16 + n * MB2_MMAP_ENTRY_LEN);
	w_u32(w, MB2_MMAP_ENTRY_LEN);
	w_u32(w, 0); /* entry_version */
	for (i = 0; i < n; i++) {
		w_u64(w, map[i].base);
		w_u64(w, map[i].len);
		w_u32(w, map[i].type);
		w_u32(w, 0);
	}

	for (i = 0; i < p->nmod; i++) {
		const char *str = mod_string(l, i);

		mb2_tag(w, MB2_TAG_MODULE, (uint32_t)(16 + strlen(str) + 1));
		w_u32(w, (uint32_t)p->mod_addr[i]);
		w_u32(w, (uint32_t)(p->mod_addr[i] + p->mod_len[i]));
		w_put(w, str, strlen(str) + 1);
	}

	/* As GRUB: the RSDP copied, v1's 20 bytes, and the whole v2 structure. */
	if (l->extra->rsdp) {
		mb2_tag(w, MB2_TAG_ACPI_OLD, 8 + ACPI_RSDP_V1_LEN);
		w_put(w, l->extra->rsdp, ACPI_RSDP_V1_LEN);
	}
	if (mb2_has_acpi_new(l)) {
		mb2_tag(w, MB2_TAG_ACPI_NEW, 8 + l->extra->rsdp_len);
		w_put(w, l->extra->rsdp, l->extra->rsdp_len);
	}

	mb2_tag(w, MB2_TAG_END, 8);

	total = (uint32_t)w->pos;
	if (!w->measure && w->ok)
		w->ok = mem_put(l, w->base, &total, sizeof(total));
}

static int load_mb2(const struct ld *l, struct guest_entry *entry)
{
	uint64_t off, window = l->len < MB2_SEARCH ? l->len : MB2_SEARCH;
	struct mb2_hdr h = {0};
	struct plan p = {0};
	int rc;

	switch (mb2_find(l, &off)) {
	case FIND_NONE:
		ld_err(l, "no multiboot2 header (magic 0x%x) in the first %llu bytes",
		       MB2_HDR_MAGIC, ull(window));
		return -HV_EINVAL;
	case FIND_BAD_SUM:
		ld_err(l, "multiboot2 header at offset 0x%llx has a bad checksum", ull(off));
		return -HV_EINVAL;
	case FIND_OK:
		break;
	}
	rc = mb2_header(l, off, &h);
	if (rc)
		return rc;

	if (h.has_addr) {
		if (!h.has_entry) {
			ld_err(
			    l,
			    "multiboot2 address tag without an entry address tag: no entry point");
			return -HV_EINVAL;
		}
		rc = plan_from_addresses(l, off, &h.addr, h.addr.load_addr == UINT32_MAX, &p);
	} else {
		rc = plan_from_elf(l, &p, "the multiboot2 header has no address tag");
	}
	if (rc)
		return rc;
	if (h.has_entry) {
		p.entry = h.entry;
		p.entry_is_phys = true;
	}
	return finish_multiboot(l, &p, "mb2", mb2_build_info, GUEST_MB2_BOOT_MAGIC, entry);
}

/* ---------------------------------------------------------------------- */
/* Raw */

static int load_raw(const struct ld *l, struct guest_entry *entry)
{
	uint32_t load = l->spec->load;

	if (l->extra->n_mods) {
		ld_err(l, "%u modules for a raw image: only multiboot guests get modules",
		       l->extra->n_mods);
		return -HV_EINVAL;
	}
	if (load < GUEST_RAW_LOAD_MIN || load >= GUEST_RAW_LOAD_LIMIT) {
		ld_err(l, "raw load address 0x%x outside [0x%x-0x%x)", load, GUEST_RAW_LOAD_MIN,
		       GUEST_RAW_LOAD_LIMIT);
		return -HV_EINVAL;
	}
	/* Real-mode code sees only the first MiB; the top of it is firmware's. */
	if (l->len > LOW_MEM_END - load) {
		ld_err(l,
		       "raw image of %llu bytes at 0x%x would end at 0x%llx, past the end of low "
		       "memory 0x%llx",
		       ull(l->len), load, ull(load + l->len), ull(LOW_MEM_END));
		return -HV_ENOSPC;
	}
	if (!mem_put(l, load, l->img, l->len))
		return -HV_EINVAL;
	entry->mode = GUEST_MODE_REAL;
	entry->cs = 0;
	entry->rip = load;
	/* The stack grows down from just below the image, as is customary. */
	entry->rsp = load;
	log_info("loader: %s: raw image %llu bytes, entry 0x%x (CS:IP 0000:%04x), 1 segment, no "
		 "info block, memory %llu MiB",
		 l->name, ull(l->len), load, load, ull(l->mem_size / MIB));
	return 0;
}

/* ---------------------------------------------------------------------- */

static int detect_type(const struct ld *l, enum guest_type *type)
{
	uint64_t off;

	if (mb2_find(l, &off) == FIND_OK) {
		ld_debug(l, "no type=: multiboot2 header at offset 0x%llx", ull(off));
		*type = GUEST_TYPE_MB2;
		return 0;
	}
	if (mb1_find(l, &off) == FIND_OK) {
		ld_debug(l, "no type=: multiboot header at offset 0x%llx", ull(off));
		*type = GUEST_TYPE_MB1;
		return 0;
	}
	ld_err(l, "type= missing and the image has no valid multiboot2 or multiboot header; give "
		  "type=raw, mb1 or mb2");
	return -HV_EINVAL;
}

int guest_load(const struct guest_spec *spec, const uint8_t *image, size_t image_len, uint8_t *mem,
	       uint64_t mem_size, struct guest_entry *entry)
{
	return guest_load_extra(spec, image, image_len, NULL, mem, mem_size, entry);
}

int guest_load_extra(const struct guest_spec *spec, const uint8_t *image, size_t image_len,
		     const struct guest_boot_extra *extra, uint8_t *mem, uint64_t mem_size,
		     struct guest_entry *entry)
{
	static const struct guest_boot_extra none = {0};
	char name[GUEST_NAME_MAX];
	enum guest_type type;
	struct ld l;
	int rc;

	if (!spec || !entry) {
		log_err("loader: called without a %s", spec ? "guest_entry" : "guest_spec");
		return -HV_EINVAL;
	}
	memset(entry, 0, sizeof(*entry));
	/* A hand-made spec may lack the NUL; never print past the array. */
	memcpy(name, spec->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	l = (struct ld){.name = name,
			.spec = spec,
			.img = image,
			.len = image_len,
			.mem = mem,
			.mem_size = mem_size,
			.extra = extra ? extra : &none};

	if (!mem || mem_size < GUEST_MEM_MIN || mem_size > GUEST_MEM_MAX ||
	    mem_size % GUEST_PAGE_SIZE) {
		ld_err(&l,
		       "guest memory of 0x%llx bytes%s unusable (need 1 MiB..1 GiB, a multiple of "
		       "4 KiB)",
		       ull(mem_size), mem ? "" : " (no buffer)");
		return -HV_EINVAL;
	}
	if (!image || image_len == 0) {
		ld_err(&l, "image is empty (0 bytes)");
		return -HV_EINVAL;
	}
	if (bounded_len(spec->cmdline, GUEST_CMDLINE_MAX) == GUEST_CMDLINE_MAX) {
		ld_err(&l, "guest command line is not NUL-terminated within %u bytes",
		       GUEST_CMDLINE_MAX);
		return -HV_EINVAL;
	}
	if (l.extra->n_mods && !l.extra->mods) {
		ld_err(&l, "%u modules and no module list", l.extra->n_mods);
		return -HV_EINVAL;
	}
	if (l.extra->rsdp &&
	    (l.extra->rsdp_len < ACPI_RSDP_V1_LEN || l.extra->rsdp_len > ACPI_RSDP_MAX)) {
		ld_err(&l, "ACPI RSDP of %u bytes (%u..%u)", l.extra->rsdp_len, ACPI_RSDP_V1_LEN,
		       ACPI_RSDP_MAX);
		return -HV_EINVAL;
	}

	type = spec->type;
	if (type == GUEST_TYPE_AUTO) {
		rc = detect_type(&l, &type);
		if (rc)
			return rc;
	}
	switch (type) {
	case GUEST_TYPE_RAW:
		return load_raw(&l, entry);
	case GUEST_TYPE_MB1:
		return load_mb1(&l, entry);
	case GUEST_TYPE_MB2:
		return load_mb2(&l, entry);
	default:
		ld_err(&l, "unknown guest type %d", (int)type);
		return -HV_EINVAL;
	}
}
