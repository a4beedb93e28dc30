// SPDX-License-Identifier: MIT
/*
 * Unit tests of the boot-guest loader.
 *
 * Images are synthesized here: ELF32 and ELF64 executables with program
 * headers, multiboot and multiboot2 headers, raw blobs. Each load reads
 * from a heap copy of exactly the image's size (AddressSanitizer reports
 * any read past it) and writes into guest memory followed by a canary
 * region, which must come out of every load untouched. The multiboot2
 * info block the loader builds is read back with the hypervisor's own
 * parser, mb2_parse().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/multiboot2.h"
#include "hv/loader/guest_loader.h"
#include "tests/unit/check.h"

#define MEM_SIZE	 (2ull << 20)
#define MEM_CAP		 (4ull << 20) /* largest guest memory a test uses */
#define CANARY_LEN	 4096
#define CANARY		 0xa5
#define FILL		 0xcc	       /* guest memory before a load */
#define IMG_CAP		 (1024 * 1024) /* raw images up to the EBDA */
#define LOADER_TEST_SEGS 17	       /* one more than the loader tracks */

#define PT_LOAD	  1
#define PT_NOTE	  4
#define HH	  0xffffffff80000000ull /* higher-half link base */
#define MB1_OFF	  0x200
#define MB2_OFF	  0x200
#define MB1_MAGIC 0x1badb002u
#define MB2_MAGIC 0xe85250d6u
#define TAG_OPT	  1 /* multiboot2 header tag "optional" */

static uint8_t guest[MEM_CAP + CANARY_LEN];
static uint8_t fill_ref[MEM_CAP]; /* what untouched guest memory holds */
static struct guest_spec spec;
static struct guest_entry ent;

struct img {
	uint8_t b[IMG_CAP];
	size_t len;
};

static struct img im;

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* ---------------------------------------------------------------------- */
/* Guest memory and loading */

static void mem_reset(uint64_t size)
{
	memset(guest, FILL, size);
	memset(guest + size, CANARY, CANARY_LEN);
}

static bool canary_ok(uint64_t size)
{
	size_t i;

	for (i = 0; i < CANARY_LEN; i++)
		if (guest[size + i] != CANARY)
			return false;
	return true;
}

static bool mem_untouched(uint64_t size)
{
	return memcmp(guest, fill_ref, size) == 0;
}

/* Is [gpa, gpa + n) all zero in guest memory? */
static bool zeroed(uint64_t gpa, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		if (guest[gpa + i])
			return false;
	return true;
}

static void spec_set(enum guest_type type, const char *cmdline)
{
	memset(&spec, 0, sizeof(spec));
	strcpy(spec.name, "t");
	spec.type = type;
	spec.mem_size = MEM_SIZE;
	spec.load = GUEST_RAW_LOAD_DEFAULT;
	strcpy(spec.cmdline, cmdline);
}

/* Load the first @len bytes of @m from an exact-size heap copy. */
static int load_sized(const struct img *m, size_t len, uint64_t mem_size)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, m->b, len);
	mem_reset(mem_size);
	memset(&ent, 0x5a, sizeof(ent));
	rc = guest_load(&spec, copy, len, guest, mem_size, &ent);
	free(copy);
	return rc;
}

static int load(const struct img *m)
{
	return load_sized(m, m->len, MEM_SIZE);
}

/* ---------------------------------------------------------------------- */
/* Image builders */

static void img_init(struct img *m, size_t len)
{
	size_t i;

	memset(m->b, 0, sizeof(m->b));
	for (i = 0; i < len; i++)
		m->b[i] = (uint8_t)(i * 13 + 7 + (i >> 8));
	m->len = len;
}

struct tseg {
	uint32_t type;
	uint64_t off, vaddr, paddr, filesz, memsz;
};

static void elf_hdr(struct img *m, bool is64, uint16_t machine, uint64_t entry, uint64_t phoff,
		    uint16_t phnum)
{
	uint8_t *b = m->b;

	memset(b, 0, is64 ? 64 : 52);
	memcpy(b, "\177ELF", 4);
	b[4] = is64 ? 2 : 1;
	b[5] = 1;
	b[6] = 1;
	put16(b + 16, 2);
	put16(b + 18, machine);
	put32(b + 20, 1);
	if (is64) {
		put64(b + 24, entry);
		put64(b + 32, phoff);
		put16(b + 52, 64);
		put16(b + 54, 56);
		put16(b + 56, phnum);
	} else {
		put32(b + 24, (uint32_t)entry);
		put32(b + 28, (uint32_t)phoff);
		put16(b + 40, 52);
		put16(b + 42, 32);
		put16(b + 44, phnum);
	}
}

static void elf_phdr(struct img *m, bool is64, uint64_t phoff, unsigned i, const struct tseg *s)
{
	if (is64) {
		uint8_t *p = m->b + phoff + i * 56;

		put32(p, s->type);
		put32(p + 4, 5);
		put64(p + 8, s->off);
		put64(p + 16, s->vaddr);
		put64(p + 24, s->paddr);
		put64(p + 32, s->filesz);
		put64(p + 40, s->memsz);
		put64(p + 48, 0x1000);
	} else {
		uint8_t *p = m->b + phoff + i * 32;

		put32(p, s->type);
		put32(p + 4, (uint32_t)s->off);
		put32(p + 8, (uint32_t)s->vaddr);
		put32(p + 12, (uint32_t)s->paddr);
		put32(p + 16, (uint32_t)s->filesz);
		put32(p + 20, (uint32_t)s->memsz);
		put32(p + 24, 5);
		put32(p + 28, 0x1000);
	}
}

static void elf_build_at(struct img *m, bool is64, uint64_t entry, uint64_t phoff,
			 const struct tseg *s, unsigned n)
{
	unsigned i;

	elf_hdr(m, is64, is64 ? 62 : 3, entry, phoff, (uint16_t)n);
	for (i = 0; i < n; i++)
		elf_phdr(m, is64, phoff, i, &s[i]);
}

static void elf_build(struct img *m, bool is64, uint64_t entry, const struct tseg *s, unsigned n)
{
	elf_build_at(m, is64, entry, 64, s, n);
}

static void mb1_hdr(struct img *m, size_t off, uint32_t flags)
{
	put32(m->b + off, MB1_MAGIC);
	put32(m->b + off + 4, flags);
	put32(m->b + off + 8, (uint32_t) - (MB1_MAGIC + flags));
}

static void mb1_addr(struct img *m, size_t off, uint32_t header_addr, uint32_t load_addr,
		     uint32_t load_end, uint32_t bss_end, uint32_t entry)
{
	put32(m->b + off + 12, header_addr);
	put32(m->b + off + 16, load_addr);
	put32(m->b + off + 20, load_end);
	put32(m->b + off + 24, bss_end);
	put32(m->b + off + 28, entry);
}

/* Multiboot2 header under construction. */
static size_t mb2_at, mb2_pos;

static void mb2_begin(struct img *m, size_t off)
{
	mb2_at = off;
	mb2_pos = off + 16;
	put32(m->b + off, MB2_MAGIC);
	put32(m->b + off + 4, 0);
}

static void mb2_tag(struct img *m, uint16_t type, uint16_t flags, const void *payload, size_t n)
{
	size_t padded = (8 + n + 7) & ~(size_t)7;

	memset(m->b + mb2_pos, 0, padded);
	put16(m->b + mb2_pos, type);
	put16(m->b + mb2_pos + 2, flags);
	put32(m->b + mb2_pos + 4, (uint32_t)(8 + n));
	if (n)
		memcpy(m->b + mb2_pos + 8, payload, n);
	mb2_pos += padded;
}

static void mb2_tag32(struct img *m, uint16_t type, uint16_t flags, const uint32_t *v, unsigned n)
{
	mb2_tag(m, type, flags, v, 4 * (size_t)n);
}

/* Recompute the checksum from the fields as they are now. */
static void mb2_resum(struct img *m, size_t off)
{
	uint32_t s = get32(m->b + off) + get32(m->b + off + 4) + get32(m->b + off + 8);

	put32(m->b + off + 12, (uint32_t)-s);
}

static void mb2_finish(struct img *m)
{
	mb2_tag(m, 0, 0, NULL, 0);
	put32(m->b + mb2_at + 8, (uint32_t)(mb2_pos - mb2_at));
	mb2_resum(m, mb2_at);
}

static const uint32_t std_request[] = {1, 2, 4, 6};

/* The header a typical kernel carries; every tag is one we honour. */
static void mb2_std_tags(struct img *m)
{
	mb2_tag32(m, 1, 0, std_request, 4);
	mb2_tag32(m, 4, TAG_OPT, (const uint32_t[]){2}, 1);
	mb2_tag32(m, 5, TAG_OPT, (const uint32_t[]){1024, 768, 32}, 3);
	mb2_tag(m, 6, 0, NULL, 0);
	mb2_tag32(m, 10, TAG_OPT, (const uint32_t[]){0x100000, 0x1000000, 0x1000, 0}, 4);
}

/*
 * mb1: ELF32, text [0x100000, 0x101000) from file offset 0x1000, a note,
 * data [0x102000, 0x102100) from 0x2000 with bss up to 0x103000.
 */
static const struct tseg mb1_segs[] = {
    {PT_LOAD, 0x1000, 0x100000, 0x100000, 0x1000, 0x1000},
    {PT_NOTE, 0x2080, 0, 0, 0x20, 0x20},
    {PT_LOAD, 0x2000, 0x102000, 0x102000, 0x100, 0x1000},
};

static void build_mb1_elf(struct img *m)
{
	img_init(m, 0x2100);
	elf_build(m, false, 0x100010, mb1_segs, 3);
	mb1_hdr(m, MB1_OFF, 0x3);
}

/*
 * mb2: ELF64 linked in the top 2 GiB and loaded at 1 MiB:
 * [0x100000, 0x102000) from 0x1000 with bss to 0x103000, and
 * [0x104000, 0x104800) from 0x3000; entry HH + 0x100040.
 */
static const struct tseg mb2_segs[] = {
    {PT_LOAD, 0x1000, HH + 0x100000, 0x100000, 0x2000, 0x3000},
    {PT_LOAD, 0x3000, HH + 0x104000, 0x104000, 0x800, 0x800},
};

static void build_mb2_elf(struct img *m)
{
	img_init(m, 0x3800);
	elf_build(m, true, HH + 0x100040, mb2_segs, 2);
	mb2_begin(m, MB2_OFF);
	mb2_std_tags(m);
	mb2_finish(m);
}

/* a.out-style mb1: the whole file at 0x100000, bss to 0x104000. */
static void build_mb1_aout(struct img *m)
{
	img_init(m, 0x1800);
	mb1_hdr(m, 0x40, 0x10003);
	mb1_addr(m, 0x40, 0x100040, 0x100000, 0x101800, 0x104000, 0x100080);
}

/* mb2 with address and entry tags: the whole file at 0x100000, bss to 0x103000. */
static void build_mb2_aout(struct img *m, uint32_t load_addr)
{
	img_init(m, 0x1800);
	mb2_begin(m, 0x40);
	mb2_tag32(m, 1, 0, std_request, 4);
	mb2_tag32(m, 2, 0, (const uint32_t[]){0x100040, load_addr, 0, 0x103000}, 4);
	mb2_tag32(m, 3, 0, (const uint32_t[]){0x100100}, 1);
	mb2_finish(m);
}

/* ---------------------------------------------------------------------- */
/* Module command line */

static void test_spec_full(void)
{
	CHECK_EQ(
	    guest_spec_parse("name=web-1.a_B type=mb2 mem=64M -- console=ttyS0  quiet", 3, &spec),
	    0);
	CHECK_NO_WARNINGS();
	CHECK_STR(spec.name, "web-1.a_B");
	CHECK_EQ(spec.type, GUEST_TYPE_MB2);
	CHECK_EQ(spec.mem_size, 64ull << 20);
	CHECK_STR(spec.cmdline, "console=ttyS0  quiet");
}

static void test_spec_defaults(void)
{
	memset(&spec, 0x5a, sizeof(spec));
	CHECK_EQ(guest_spec_parse("type=raw", 7, &spec), 0);
	CHECK_STR(spec.name, "guest7");
	CHECK_EQ(spec.type, GUEST_TYPE_RAW);
	CHECK_EQ(spec.mem_size, 16ull << 20);
	CHECK_EQ(spec.load, 0x7c00);
	CHECK_STR(spec.cmdline, "");

	memset(&spec, 0x5a, sizeof(spec));
	CHECK_EQ(guest_spec_parse(NULL, 0, &spec), 0);
	CHECK_STR(spec.name, "guest0");
	CHECK_EQ(spec.type, GUEST_TYPE_AUTO);
	CHECK_EQ(guest_spec_parse("  \t ", 4294967295u, &spec), 0);
	CHECK_STR(spec.name, "guest4294967295");
	CHECK_EQ(spec.type, GUEST_TYPE_AUTO);
	CHECK_NO_WARNINGS();
}

static void test_spec_sizes(void)
{
	static const struct {
		const char *line;
		uint64_t bytes;
	} t[] = {
	    {"mem=1M", 1ull << 20},
	    {"mem=1m", 1ull << 20},
	    {"mem=4096K", 4ull << 20},
	    {"mem=1G", 1ull << 30},
	    {"mem=1048576", 1ull << 20},
	    {"mem=0x200000", 2ull << 20},
	    {"mem=0X300000", 3ull << 20},
	    {"mem=0x400k", 1ull << 20},
	    {"mem=1052672", (1ull << 20) + 4096},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK_EQ(guest_spec_parse(t[i].line, 0, &spec), 0);
		CHECK_EQ(spec.mem_size, t[i].bytes);
	}
	CHECK_NO_WARNINGS();
}

static void test_spec_type_and_load(void)
{
	CHECK_EQ(guest_spec_parse("type=MB1", 0, &spec), 0);
	CHECK_EQ(spec.type, GUEST_TYPE_MB1);
	CHECK_EQ(guest_spec_parse("load=0x1000 type=raw", 0, &spec), 0);
	CHECK_EQ(spec.type, GUEST_TYPE_RAW);
	CHECK_EQ(spec.load, 0x1000);
	CHECK_EQ(guest_spec_parse("type=raw load=1280", 0, &spec), 0);
	CHECK_EQ(spec.load, 0x500);
	CHECK_EQ(guest_spec_parse("type=raw load=0xffff", 0, &spec), 0);
	CHECK_EQ(spec.load, 0xffff);
	CHECK_NO_WARNINGS();
}

static void test_spec_path_word(void)
{
	CHECK_EQ(guest_spec_parse("/boot/guest.elf name=g type=mb1", 0, &spec), 0);
	CHECK_STR(spec.name, "g");
	CHECK_EQ(spec.type, GUEST_TYPE_MB1);
	CHECK_EQ(guest_spec_parse("(hd0,1)/g.bin type=raw", 2, &spec), 0);
	CHECK_STR(spec.name, "guest2");
	CHECK_NO_WARNINGS();
	/* Only the first word may be a path. */
	CHECK(guest_spec_parse("type=raw /boot/x", 0, &spec) < 0);
	CHECK_LOGGED(LOG_ERROR, "loader: guest0: '/boot/x' is not key=value");
}

static void test_spec_budget(void)
{
	CHECK_EQ(guest_spec_parse("type=mb1", 0, &spec), 0);
	CHECK_EQ(spec.tsc_budget, 0);
	CHECK_EQ(guest_spec_parse("name=s type=mb1 budget=500000000", 0, &spec), 0);
	CHECK_EQ(spec.tsc_budget, 500000000ull);
	CHECK_EQ(guest_spec_parse("name=s type=mb1 budget=0x10", 0, &spec), 0);
	CHECK_EQ(spec.tsc_budget, 16ull);
	CHECK_NO_WARNINGS();
	CHECK(guest_spec_parse("name=s type=mb1 budget=0", 0, &spec) < 0);
	CHECK_LOGGED(LOG_ERROR, "loader: s: bad budget= value '0'");
	CHECK(guest_spec_parse("name=s type=mb1 budget=5s", 0, &spec) < 0);
	CHECK_LOGGED(LOG_ERROR, "loader: s: bad budget= value '5s'");
	CHECK(guest_spec_parse("name=s budget=1 budget=2", 0, &spec) < 0);
	CHECK_LOGGED(LOG_ERROR, "loader: s: budget= given twice");
}

static void test_spec_guest_cmdline(void)
{
	char line[400], want[300];

	CHECK_EQ(guest_spec_parse("type=mb1 --", 0, &spec), 0);
	CHECK_STR(spec.cmdline, "");
	CHECK_EQ(guest_spec_parse("type=mb1 --\t a=1  -- b name=x", 0, &spec), 0);
	CHECK_STR(spec.cmdline, "a=1  -- b name=x");
	CHECK_STR(spec.name, "guest0"); /* name= after -- is the guest's */
	CHECK_EQ(guest_spec_parse("-- only", 1, &spec), 0);
	CHECK_STR(spec.cmdline, "only");
	CHECK_EQ(spec.type, GUEST_TYPE_AUTO);

	/* 255 bytes fit, 256 do not. */
	memset(want, 'c', 255);
	want[255] = '\0';
	snprintf(line, sizeof(line), "name=lc type=mb2 -- %s", want);
	CHECK_EQ(guest_spec_parse(line, 0, &spec), 0);
	CHECK_STR(spec.cmdline, want);
	CHECK_NO_WARNINGS();
	snprintf(line, sizeof(line), "name=lc type=mb2 -- %sd", want);
	CHECK(guest_spec_parse(line, 0, &spec) < 0);
	CHECK_LOGGED(LOG_ERROR,
		     "loader: lc: guest command line after -- is 256 bytes (at most 255)");
}

static void test_spec_name_limits(void)
{
	CHECK_EQ(guest_spec_parse("name=abcdefghijabcdefghijabcdefghijk type=raw", 0, &spec), 0);
	CHECK_STR(spec.name, "abcdefghijabcdefghijabcdefghijk");
	CHECK_EQ(strlen(spec.name), 31);
	CHECK(guest_spec_parse("name=abcdefghijabcdefghijabcdefghijkl type=raw", 5, &spec) < 0);
	CHECK_LOGGED(LOG_ERROR,
		     "loader: module 5: bad name= value 'abcdefghijabcdefghijabcdefghijkl'",
		     "1..31 characters");
}

static void test_spec_bad(void)
{
	static const struct {
		const char *line;
		const char *want1, *want2;
	} t[] = {
	    {"name= type=raw", "bad name= value ''", "1..31"},
	    {"name=a/b type=raw", "bad name= value 'a/b'", "A-Z a-z 0-9 _ . -"},
	    {"name=x\x01y", "bad name= value", "allowed"},
	    {"name=g type=elf", "loader: g: bad type= value 'elf'", "raw, mb1 or mb2"},
	    {"type=", "bad type= value ''", "raw"},
	    {"type=mb", "bad type= value 'mb'", "raw"},
	    {"mem=0", "bad mem= value '0'", "1M..1G"},
	    {"mem=512K", "bad mem= value '512K'", "1M..1G"},
	    {"mem=2G", "bad mem= value '2G'", "1M..1G"},
	    {"mem=1073745920", "bad mem= value '1073745920'", "1M..1G"},
	    {"mem=1000000", "bad mem= value '1000000'", "1M..1G"},
	    {"mem=1048577", "bad mem= value '1048577'", "multiple of 4K"},
	    {"mem=12X", "bad mem= value '12X'", "unknown suffix"},
	    {"mem=16MB", "bad mem= value '16MB'", "junk after"},
	    {"mem=", "bad mem= value ''", "expected a size"},
	    {"mem=M", "bad mem= value 'M'", "expected a size"},
	    {"mem=0x", "bad mem= value '0x'", "unknown suffix"},
	    {"mem=99999999999999999999", "bad mem= value '99999999999999999999'",
	     "expected a size"},
	    {"mem=17179869184G", "bad mem= value '17179869184G'", "too large"},
	    {"mem=-1M", "bad mem= value '-1M'", "expected a size"},
	    {"foo=1", "unknown key 'foo' in 'foo=1'", "keys: name type mem load"},
	    {"=1", "unknown key '' in '=1'", "keys"},
	    {"bareword type=raw", "'bareword' is not key=value", "--"},
	    {"type=raw --x", "'--x' is not key=value", "--"},
	    {"name=a name=b", "loader: a: name= given twice (again as 'name=b')", "twice"},
	    {"type=raw type=mb1", "type= given twice", "type=mb1"},
	    {"mem=2M mem=2M", "mem= given twice", "mem=2M"},
	    {"type=mb1 load=0x1000", "load=0x1000 applies to type=raw only (type=mb1)", "raw"},
	    {"load=0x1000", "load=0x1000 applies to type=raw only (type=auto)", "raw"},
	    {"type=raw load=0x4ff", "bad load= value '0x4ff'", "0x500..0xffff"},
	    {"type=raw load=0x10000", "bad load= value '0x10000'", "0x500..0xffff"},
	    {"type=raw load=abc", "bad load= value 'abc'", "expected an address"},
	    {"type=raw load=0x7c00x", "bad load= value '0x7c00x'", "expected an address"},
	    {"type=raw load=", "bad load= value ''", "expected an address"},
	    {"name=zz mem=3", "loader: zz: bad mem= value '3'", "1M..1G"},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		logcap_reset();
		if (guest_spec_parse(t[i].line, 0, &spec) >= 0) {
			char m[160];

			snprintf(m, sizeof(m), "'%s' was accepted", t[i].line);
			check_fail(__FILE__, __LINE__, m);
			return;
		}
		if (!logcap_find(LOG_ERROR, t[i].want1, t[i].want2, (const char *)0)) {
			char m[300];

			snprintf(m, sizeof(m), "'%s': no error with '%s' and '%s' (got '%s')",
				 t[i].line, t[i].want1, t[i].want2,
				 logcap_first_at_most(LOG_ERROR));
			check_fail(__FILE__, __LINE__, m);
			return;
		}
		CHECK_EQ(logcap_count(LOG_ERROR), 1);
		CHECK(logcap_all_prefixed("loader: "));
	}
}

/* Quoted values are shortened: a huge word cannot flood the console. */
static void test_spec_echo_clamped(void)
{
	char line[600], want[100];

	strcpy(line, "type=");
	memset(line + 5, 'x', 500);
	line[505] = '\0';
	CHECK(guest_spec_parse(line, 0, &spec) < 0);
	strcpy(want, "value '");
	memset(want + 7, 'x', 64);
	strcpy(want + 71, "':"); /* 64 characters, then the quote */
	CHECK_LOGGED(LOG_ERROR, "bad type= ", want);
	CHECK(strlen(logcap_first_at_most(LOG_ERROR)) < 200);
}

/* ---------------------------------------------------------------------- */
/* Memory map */

static void test_e820(void)
{
	struct guest_e820_entry map[GUEST_E820_MAX];

	CHECK_EQ(guest_e820(MEM_SIZE, map), 4);
	CHECK_EQ(map[0].base, 0);
	CHECK_EQ(map[0].len, 0x9fc00);
	CHECK_EQ(map[0].type, GUEST_MEM_AVAILABLE);
	CHECK_EQ(map[1].base, 0x9fc00);
	CHECK_EQ(map[1].len, 0x400);
	CHECK_EQ(map[1].type, GUEST_MEM_RESERVED);
	CHECK_EQ(map[2].base, 0xf0000);
	CHECK_EQ(map[2].len, 0x10000);
	CHECK_EQ(map[2].type, GUEST_MEM_RESERVED);
	CHECK_EQ(map[3].base, 0x100000);
	CHECK_EQ(map[3].len, 0x100000);
	CHECK_EQ(map[3].type, GUEST_MEM_AVAILABLE);
	/* Exactly 1 MiB: no memory above 1 MiB, so no fourth entry. */
	CHECK_EQ(guest_e820(1ull << 20, map), 3);
	CHECK_EQ(map[2].base, 0xf0000);
	CHECK_EQ(guest_e820(1ull << 30, map), 4);
	CHECK_EQ(map[3].len, (1ull << 30) - 0x100000);
	CHECK_EQ(guest_e820(0x80000, map), 1);
	CHECK_EQ(map[0].len, 0x80000);
}

/* ---------------------------------------------------------------------- */
/* Loading valid images */

static void check_mb1_info(uint64_t at, const char *cmdline, uint32_t mem_upper)
{
	const uint8_t *i = guest + at;
	uint32_t mmap = get32(i + 48), cmd = get32(i + 16), name = get32(i + 64);
	const uint8_t *e;

	CHECK_EQ(get32(i), 0x245); /* mem, cmdline, mmap, loader name */
	CHECK_EQ(get32(i + 4), 639);
	CHECK_EQ(get32(i + 8), mem_upper);
	CHECK_EQ(get32(i + 20), 0); /* no modules */
	CHECK_EQ(get32(i + 44), 4 * 24);
	CHECK_EQ(mmap, at + 120);
	CHECK_STR((const char *)guest + name, "hv");
	CHECK_STR((const char *)guest + cmd, cmdline);
	e = guest + mmap;
	CHECK_EQ(get32(e), 20);
	CHECK_EQ(get64(e + 4), 0);
	CHECK_EQ(get64(e + 12), 0x9fc00);
	CHECK_EQ(get32(e + 20), 1);
	e += 24;
	CHECK_EQ(get32(e), 20);
	CHECK_EQ(get64(e + 4), 0x9fc00);
	CHECK_EQ(get64(e + 12), 0x400);
	CHECK_EQ(get32(e + 20), 2);
	e += 24;
	CHECK_EQ(get64(e + 4), 0xf0000);
	CHECK_EQ(get64(e + 12), 0x10000);
	CHECK_EQ(get32(e + 20), 2);
	e += 24;
	CHECK_EQ(get64(e + 4), 0x100000);
	CHECK_EQ(get64(e + 12), (uint64_t)mem_upper * 1024);
	CHECK_EQ(get32(e + 20), 1);
}

static void test_mb1_elf32(void)
{
	build_mb1_elf(&im);
	spec_set(GUEST_TYPE_MB1, "console=ttyS0 x=1");
	CHECK_EQ(load(&im), 0);
	CHECK_NO_WARNINGS();
	CHECK(canary_ok(MEM_SIZE));
	CHECK_EQ(ent.mode, GUEST_MODE_PROTECTED32);
	CHECK_EQ(ent.rip, 0x100010);
	CHECK_EQ(ent.rax, 0x2badb002);
	CHECK_EQ(ent.rbx, 0x1000);
	CHECK_EQ(ent.rsp, 0);
	CHECK_EQ(ent.cs, 0);
	CHECK(memcmp(guest + 0x100000, im.b + 0x1000, 0x1000) == 0);
	CHECK_EQ(guest[0x100005], im.b[0x1005]);
	CHECK(memcmp(guest + 0x102000, im.b + 0x2000, 0x100) == 0);
	CHECK(zeroed(0x102100, 0xf00));	 /* bss */
	CHECK_EQ(guest[0x101000], FILL); /* gap between segments */
	CHECK_EQ(guest[0x103000], FILL); /* after bss */
	CHECK_EQ(guest[0xfff], FILL);	 /* before the info block */
	check_mb1_info(0x1000, "console=ttyS0 x=1", 1024);
	if (check_why[0])
		return;
	CHECK_LOGGED(LOG_INFO, "loader: t: mb1 image 8448 bytes, entry 0x100010, 2 segments, info "
			       "block at 0x1000, memory 2 MiB");
}

static void test_mb1_aout(void)
{
	build_mb1_aout(&im);
	spec_set(GUEST_TYPE_MB1, "");
	CHECK_EQ(load(&im), 0);
	CHECK_NO_WARNINGS();
	CHECK(canary_ok(MEM_SIZE));
	CHECK_EQ(ent.rip, 0x100080);
	CHECK_EQ(ent.rax, 0x2badb002);
	CHECK_EQ(ent.rbx, 0x1000);
	CHECK(memcmp(guest + 0x100000, im.b, 0x1800) == 0);
	CHECK(zeroed(0x101800, 0x2800));
	CHECK_EQ(guest[0x104000], FILL);
	CHECK_EQ(guest[0xfffff], FILL);
	check_mb1_info(0x1000, "", 1024);
	if (check_why[0])
		return;

	/* load_addr after the file start: loading begins at file offset 0x20. */
	mb1_addr(&im, 0x40, 0x100040, 0x100020, 0x101000, 0, 0x100020);
	CHECK_EQ(load(&im), 0);
	CHECK(memcmp(guest + 0x100020, im.b + 0x20, 0xfe0) == 0);
	CHECK_EQ(guest[0x10001f], FILL);
	CHECK_EQ(guest[0x101000], FILL); /* no bss */
	CHECK_EQ(ent.rip, 0x100020);

	/* load_end_addr 0: the rest of the file. */
	mb1_addr(&im, 0x40, 0x100040, 0x100000, 0, 0, 0x100000);
	CHECK_EQ(load(&im), 0);
	CHECK(memcmp(guest + 0x100000, im.b, 0x1800) == 0);
	CHECK_EQ(guest[0x101800], FILL);
}

/* A 4 MiB guest: mem_upper and the last map entry follow the size. */
static void test_mb1_bigger_memory(void)
{
	build_mb1_elf(&im);
	spec_set(GUEST_TYPE_MB1, "m");
	CHECK_EQ(load_sized(&im, im.len, 4ull << 20), 0);
	CHECK(canary_ok(4ull << 20));
	check_mb1_info(0x1000, "m", 3072);
	if (check_why[0])
		return;
	CHECK_LOGGED(LOG_INFO, "memory 4 MiB");
}

static void check_mb2_info(uint64_t at, const char *cmdline, uint32_t mem_upper)
{
	static struct mb2_info mb;
	uint64_t want_total =
	    8 + ((8 + strlen(cmdline) + 1 + 7) & ~7ull) + 16 + 16 + 16 + 4 * 24 + 8;

	CHECK_EQ(at % 8, 0);
	CHECK_EQ(mb2_parse(guest + at, MEM_SIZE - at, at, &mb), 0);
	CHECK_EQ(mb.problems, 0);
	CHECK_EQ(mb.total_size, want_total);
	CHECK_EQ(get32(guest + at + 4), 0);
	CHECK(mb.has_cmdline);
	CHECK_STR(mb.cmdline, cmdline);
	CHECK(mb.has_loader_name);
	CHECK_STR(mb.loader_name, "hv");
	CHECK(mb.has_meminfo);
	CHECK_EQ(mb.mem_lower_kib, 639);
	CHECK_EQ(mb.mem_upper_kib, mem_upper);
	CHECK(mb.has_mmap);
	CHECK_EQ(mb.n_regions, 4);
	CHECK_EQ(mb.regions[0].base, 0);
	CHECK_EQ(mb.regions[0].len, 0x9fc00);
	CHECK_EQ(mb.regions[0].type, MB2_MEM_AVAILABLE);
	CHECK_EQ(mb.regions[1].base, 0x9fc00);
	CHECK_EQ(mb.regions[1].len, 0x400);
	CHECK_EQ(mb.regions[1].type, MB2_MEM_RESERVED);
	CHECK_EQ(mb.regions[2].base, 0xf0000);
	CHECK_EQ(mb.regions[2].len, 0x10000);
	CHECK_EQ(mb.regions[2].type, MB2_MEM_RESERVED);
	CHECK_EQ(mb.regions[3].base, 0x100000);
	CHECK_EQ(mb.regions[3].len, (uint64_t)mem_upper * 1024);
	CHECK_EQ(mb.regions[3].type, MB2_MEM_AVAILABLE);
	CHECK_EQ(mb.n_modules, 0);
	CHECK(!mb.fb.present);
}

static void test_mb2_elf64_higher_half(void)
{
	build_mb2_elf(&im);
	spec_set(GUEST_TYPE_MB2, "root=/dev/vda quiet");
	CHECK_EQ(load(&im), 0);
	CHECK_NO_WARNINGS();
	CHECK(canary_ok(MEM_SIZE));
	CHECK_EQ(ent.mode, GUEST_MODE_PROTECTED32);
	CHECK_EQ(ent.rip, 0x100040); /* e_entry translated to physical */
	CHECK_EQ(ent.rax, 0x36d76289);
	CHECK_EQ(ent.rbx, 0x1000);
	CHECK_EQ(ent.rsp, 0);
	CHECK(memcmp(guest + 0x100000, im.b + 0x1000, 0x2000) == 0);
	CHECK(zeroed(0x102000, 0x1000));
	CHECK_EQ(guest[0x103000], FILL);
	CHECK(memcmp(guest + 0x104000, im.b + 0x3000, 0x800) == 0);
	CHECK_EQ(guest[0x104800], FILL);
	CHECK_LOGGED(LOG_INFO, "loader: t: mb2 image 14336 bytes, entry 0x100040, 2 segments, info "
			       "block at 0x1000, memory 2 MiB");
	check_mb2_info(0x1000, "root=/dev/vda quiet", 1024);
}

static void test_mb2_elf32_and_entry_tag(void)
{
	static const struct tseg s[] = {
	    {PT_LOAD, 0x1000, 0x200000, 0x100000, 0x1000, 0x1000},
	};

	img_init(&im, 0x2000);
	elf_build(&im, false, 0x200000, s, 1);
	mb2_begin(&im, MB2_OFF);
	mb2_tag32(&im, 3, 0, (const uint32_t[]){0x100800}, 1); /* physical */
	mb2_finish(&im);
	spec_set(GUEST_TYPE_MB2, "");
	CHECK_EQ(load(&im), 0);
	CHECK_EQ(ent.rip, 0x100800); /* the tag wins over e_entry */
	CHECK(memcmp(guest + 0x100000, im.b + 0x1000, 0x1000) == 0);
	check_mb2_info(0x1000, "", 1024);
	if (check_why[0])
		return;

	/* Without the tag: e_entry 0x200000 is the link address of 0x100000. */
	img_init(&im, 0x2000);
	elf_build(&im, false, 0x200010, s, 1);
	mb2_begin(&im, MB2_OFF);
	mb2_finish(&im);
	CHECK_EQ(load(&im), 0);
	CHECK_EQ(ent.rip, 0x100010);
}

static void test_mb2_address_tag(void)
{
	build_mb2_aout(&im, 0x100000);
	spec_set(GUEST_TYPE_MB2, "a");
	CHECK_EQ(load(&im), 0);
	CHECK_NO_WARNINGS();
	CHECK_EQ(ent.rip, 0x100100);
	CHECK_EQ(ent.rax, 0x36d76289);
	CHECK(memcmp(guest + 0x100000, im.b, 0x1800) == 0);
	CHECK(zeroed(0x101800, 0x1800));
	CHECK_EQ(guest[0x103000], FILL);
	CHECK_EQ(guest[0xfffff], FILL);
	check_mb2_info(ent.rbx, "a", 1024);
	if (check_why[0])
		return;

	/* load_addr -1: from the file start, placed so the header lands at header_addr. */
	build_mb2_aout(&im, 0xffffffffu);
	CHECK_EQ(load(&im), 0);
	CHECK(memcmp(guest + 0x100000, im.b, 0x1800) == 0);
	CHECK_EQ(guest[0xfffff], FILL);
}

static void test_raw(void)
{
	img_init(&im, 512);
	CHECK_EQ(guest_spec_parse("name=r type=raw", 0, &spec), 0);
	CHECK_EQ(load(&im), 0);
	CHECK_NO_WARNINGS();
	CHECK(canary_ok(MEM_SIZE));
	CHECK_EQ(ent.mode, GUEST_MODE_REAL);
	CHECK_EQ(ent.cs, 0);
	CHECK_EQ(ent.rip, 0x7c00);
	CHECK_EQ(ent.rsp, 0x7c00);
	CHECK_EQ(ent.rax, 0);
	CHECK_EQ(ent.rbx, 0);
	CHECK(memcmp(guest + 0x7c00, im.b, 512) == 0);
	CHECK_EQ(guest[0x7bff], FILL);
	CHECK_EQ(guest[0x7e00], FILL);
	CHECK_EQ(guest[0x1000], FILL); /* no info block */
	CHECK_LOGGED(LOG_INFO, "loader: r: raw image 512 bytes, entry 0x7c00 (CS:IP 0000:7c00)");

	CHECK_EQ(guest_spec_parse("name=r type=raw load=0x500", 0, &spec), 0);
	img_init(&im, 0x9fc00 - 0x500); /* exactly up to the EBDA */
	CHECK_EQ(load(&im), 0);
	CHECK(memcmp(guest + 0x500, im.b, im.len) == 0);
	CHECK_EQ(guest[0x4ff], FILL);
	CHECK_EQ(guest[0x9fc00], FILL);
	CHECK_EQ(ent.rip, 0x500);
}

static void test_raw_refused(void)
{
	img_init(&im, 0x9fc00 - 0x500 + 1);
	CHECK_EQ(guest_spec_parse("name=r type=raw load=0x500", 0, &spec), 0);
	CHECK(load(&im) < 0);
	CHECK_LOGGED(LOG_ERROR,
		     "loader: r: raw image of 653057 bytes at 0x500 would end at 0x9fc01",
		     "0x9fc00");
	CHECK(mem_untouched(MEM_SIZE));

	img_init(&im, 0x98001); /* fits at 0x500, not at 0x7c00 */
	spec_set(GUEST_TYPE_RAW, "");
	CHECK(load(&im) < 0);
	CHECK_LOGGED(LOG_ERROR, "raw image of 622593 bytes at 0x7c00 would end at 0x9fc01");
	img_init(&im, 0x98000);
	CHECK_EQ(load(&im), 0);

	/* A spec not from guest_spec_parse() is checked again. */
	img_init(&im, 16);
	spec.load = 0x4ff;
	CHECK(load(&im) < 0);
	CHECK_LOGGED(LOG_ERROR, "loader: t: raw load address 0x4ff outside [0x500-0x10000)");
	spec.load = 0x10000;
	CHECK(load(&im) < 0);
	CHECK_LOGGED(LOG_ERROR, "raw load address 0x10000");
	CHECK(mem_untouched(MEM_SIZE));
	CHECK(canary_ok(MEM_SIZE));
}

static void test_auto_detect(void)
{
	build_mb2_elf(&im);
	spec_set(GUEST_TYPE_AUTO, "");
	CHECK_EQ(load(&im), 0);
	CHECK_EQ(ent.rax, 0x36d76289);
	CHECK_LOGGED(LOG_INFO, "loader: t: mb2 image");

	build_mb1_elf(&im);
	CHECK_EQ(load(&im), 0);
	CHECK_EQ(ent.rax, 0x2badb002);
	CHECK_LOGGED(LOG_INFO, "loader: t: mb1 image");

	/* Both headers: multiboot2 is preferred. */
	build_mb2_elf(&im);
	mb1_hdr(&im, 0x400, 0x3);
	CHECK_EQ(load(&im), 0);
	CHECK_EQ(ent.rax, 0x36d76289);

	/* Neither: refused, never guessed to be raw. */
	img_init(&im, 4096);
	logcap_reset();
	CHECK(load(&im) < 0);
	CHECK_LOGGED(LOG_ERROR, "loader: t: type= missing");
	CHECK(mem_untouched(MEM_SIZE));

	/* A header with a bad checksum does not count. */
	build_mb1_elf(&im);
	put32(im.b + MB1_OFF + 8, 0);
	CHECK(load(&im) < 0);
	CHECK_LOGGED(LOG_ERROR, "type= missing");
}

/* A segment at physical 0 is allowed: there is no BIOS in the guest. */
static void test_segment_at_zero(void)
{
	static const struct tseg s[] = {{PT_LOAD, 0x1000, 0, 0, 0x800, 0x800}};

	img_init(&im, 0x1800);
	elf_build(&im, false, 0x10, s, 1);
	mb1_hdr(&im, MB1_OFF, 0);
	spec_set(GUEST_TYPE_MB1, "");
	CHECK_EQ(load(&im), 0);
	CHECK_EQ(ent.rip, 0x10);
	CHECK_EQ(ent.rbx, 0x1000);
	CHECK(memcmp(guest, im.b + 0x1000, 0x800) == 0);
}

/* The info block moves out of the image's way, or the image is refused. */
static void test_info_placement(void)
{
	struct tseg s[3] = {
	    {PT_LOAD, 0x1000, 0x1000, 0x1000, 0x100, 0x1000},
	    {PT_LOAD, 0x1000, 0x3000, 0x3000, 0x100, 0x1000},
	};

	/* Pages 0x1000 and 0x3000 taken: the first free one is 0x2000. */
	img_init(&im, 0x1100);
	elf_build(&im, false, 0x1000, s, 2);
	mb1_hdr(&im, MB1_OFF, 0);
	spec_set(GUEST_TYPE_MB1, "c");
	CHECK_EQ(load(&im), 0);
	CHECK_EQ(ent.rbx, 0x2000);
	check_mb1_info(0x2000, "c", 1024);
	if (check_why[0])
		return;

	/* All of low memory and [1M, 1M + 6K) taken: right after, page aligned. */
	s[0] = (struct tseg){PT_LOAD, 0x1000, 0, 0, 0x100, 0x9fc00};
	s[1] = (struct tseg){PT_LOAD, 0x1000, 0x100000, 0x100000, 0x100, 0x1800};
	elf_build(&im, false, 0x100000, s, 2);
	spec_set(GUEST_TYPE_MB2, "d");
	mb2_begin(&im, MB2_OFF);
	mb2_finish(&im);
	CHECK_EQ(load(&im), 0);
	CHECK_EQ(ent.rbx, 0x102000);
	check_mb2_info(0x102000, "d", 1024);
	if (check_why[0])
		return;

	/* Only low memory taken: the block goes to 1 MiB. */
	elf_build(&im, false, 0x10, s, 1);
	CHECK_EQ(load(&im), 0);
	CHECK_EQ(ent.rbx, 0x100000);

	/* Everything taken. */
	s[1].memsz = MEM_SIZE - 0x100000;
	elf_build(&im, false, 0x100000, s, 2);
	CHECK(load(&im) < 0);
	CHECK_LOGGED(LOG_ERROR, "loader: t: no room for the", "info block");
	CHECK(mem_untouched(MEM_SIZE));
	CHECK(canary_ok(MEM_SIZE));
}

/* ---------------------------------------------------------------------- */
/* Hostile and unsupported images */

static void test_empty_image(void)
{
	static const enum guest_type types[] = {GUEST_TYPE_AUTO, GUEST_TYPE_RAW, GUEST_TYPE_MB1,
						GUEST_TYPE_MB2};
	size_t i;

	for (i = 0; i < 4; i++) {
		spec_set(types[i], "");
		mem_reset(MEM_SIZE);
		logcap_reset();
		CHECK(guest_load(&spec, NULL, 0, guest, MEM_SIZE, &ent) < 0);
		CHECK_LOGGED(LOG_ERROR, "loader: t: image is empty (0 bytes)");
		CHECK(guest_load(&spec, im.b, 0, guest, MEM_SIZE, &ent) < 0);
		CHECK(guest_load(&spec, NULL, 100, guest, MEM_SIZE, &ent) < 0);
		CHECK_EQ(logcap_count(LOG_ERROR), 3);
		CHECK(mem_untouched(MEM_SIZE));
	}
}

static void test_bad_arguments(void)
{
	build_mb1_elf(&im);
	spec_set(GUEST_TYPE_MB1, "");
	CHECK(load_sized(&im, im.len, 512 * 1024) < 0);
	CHECK_LOGGED(LOG_ERROR, "loader: t: guest memory of 0x80000 bytes unusable");
	CHECK(load_sized(&im, im.len, (2ull << 20) + 512) < 0);
	CHECK(guest_load(&spec, im.b, im.len, guest, 2ull << 30, &ent) < 0);
	CHECK(guest_load(&spec, im.b, im.len, NULL, MEM_SIZE, &ent) < 0);
	CHECK_LOGGED(LOG_ERROR, "(no buffer)");
	CHECK(guest_load(NULL, im.b, im.len, guest, MEM_SIZE, &ent) < 0);
	CHECK(guest_load(&spec, im.b, im.len, guest, MEM_SIZE, NULL) < 0);
	CHECK_LOGGED(LOG_ERROR, "loader: called without a guest_entry");

	/* Unterminated name and command line in a hand-made spec. */
	memset(spec.name, 'n', sizeof(spec.name));
	memset(spec.cmdline, 'c', sizeof(spec.cmdline));
	CHECK(load(&im) < 0);
	{
		char want[128] = "loader: ";

		memset(want + 8, 'n', GUEST_NAME_MAX - 1); /* clamped to 31 */
		strcpy(want + 8 + GUEST_NAME_MAX - 1, ": guest command line is not NUL-terminated");
		CHECK_LOGGED(LOG_ERROR, want);
	}
	spec_set(99, "");
	CHECK(load(&im) < 0);
	CHECK_LOGGED(LOG_ERROR, "unknown guest type 99");
	CHECK(mem_untouched(MEM_SIZE));
}

/* Load @m as @type expecting a refusal whose error line holds @want. */
#define CHECK_REFUSED(m, len, type, want)                                                          \
	do {                                                                                       \
		spec_set((type), "x");                                                             \
		logcap_reset();                                                                    \
		CHECK(load_sized((m), (len), MEM_SIZE) < 0);                                       \
		CHECK_LOGGED(LOG_ERROR, "loader: t: ", want);                                      \
		CHECK(mem_untouched(MEM_SIZE));                                                    \
		CHECK(canary_ok(MEM_SIZE));                                                        \
	} while (0)

static void test_elf_truncated(void)
{
	/* An ELF64 ident and a multiboot header, but not a whole ELF header. */
	img_init(&im, 48);
	memcpy(im.b, "\177ELF\2\1\1", 7);
	mb1_hdr(&im, 32, 0);
	CHECK_REFUSED(&im, 48, GUEST_TYPE_MB1, "ELF64 header needs 64 bytes; the image has 48");

	/* Program header table cut in the middle. */
	img_init(&im, 0x1100);
	elf_build_at(&im, false, 0x100000, 0x300, mb1_segs, 3);
	mb1_hdr(&im, MB1_OFF, 0);
	CHECK_REFUSED(
	    &im, 0x320, GUEST_TYPE_MB1,
	    "ELF program headers (offset 0x300, 3 x 32 bytes) run past the image end (800 bytes)");

	/* Segment bytes cut off. */
	build_mb1_elf(&im);
	CHECK_REFUSED(&im, 0x2080, GUEST_TYPE_MB1,
		      "program header 2: file bytes at offset 0x2000, 0x100 long, run past the "
		      "image end (8320 bytes)");

	/* Not ELF at all and no address fields. */
	img_init(&im, 0x1000);
	mb1_hdr(&im, 0, 0);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "not an ELF file and the multiboot header has no address fields (flag 16)");
	img_init(&im, 0x1000);
	mb2_begin(&im, 0);
	mb2_finish(&im);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2,
		      "not an ELF file and the multiboot2 header has no address tag");
}

static void test_elf_phdr_table(void)
{
	build_mb1_elf(&im);
	put32(im.b + 28, 0x10000000);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "ELF program headers (offset 0x10000000, 3 x 32 bytes) run past");

	build_mb2_elf(&im);
	put64(im.b + 32, 0xffffffffffffffc0ull); /* phoff + size wraps */
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2,
		      "ELF program headers (offset 0xffffffffffffffc0");

	build_mb1_elf(&im);
	put16(im.b + 44, 0xffff);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1, "ELF has 65535 program headers (need 1..64)");
	put16(im.b + 44, 65);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1, "ELF has 65 program headers");
	put16(im.b + 44, 0);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1, "ELF has 0 program headers");

	build_mb1_elf(&im);
	put16(im.b + 42, 16);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1, "ELF program header size 16 is below 32");
	build_mb2_elf(&im);
	put16(im.b + 54, 32);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2, "ELF program header size 32 is below 56");

	/* A larger entry size is fine: entries are walked by it. */
	{
		struct tseg s = mb1_segs[0];

		img_init(&im, 0x2100);
		elf_hdr(&im, false, 3, 0x100010, 64, 1);
		put16(im.b + 42, 48);
		elf_phdr(&im, false, 64, 0, &s);
		mb1_hdr(&im, MB1_OFF, 0);
		spec_set(GUEST_TYPE_MB1, "");
		CHECK_EQ(load(&im), 0);
		CHECK_EQ(ent.rip, 0x100010);
	}
}

static void test_elf_header_fields(void)
{
	build_mb1_elf(&im);
	im.b[4] = 3;
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1, "ELF class 3 unknown");
	build_mb1_elf(&im);
	im.b[5] = 2;
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1, "ELF data encoding 2 / version 1");
	build_mb1_elf(&im);
	put16(im.b + 16, 3);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1, "ELF type 3: only executables");
	build_mb1_elf(&im);
	put16(im.b + 18, 62);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1, "ELF32 machine 62: expected 3");
	build_mb2_elf(&im);
	put16(im.b + 18, 3);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2, "ELF64 machine 3: expected 62");
}

static void test_elf_segments(void)
{
	struct tseg s[LOADER_TEST_SEGS];
	unsigned i;

	/* Past the end of guest memory. */
	s[0] = (struct tseg){PT_LOAD, 0x1000, 0x1ff000, 0x1ff000, 0x100, 0x2000};
	img_init(&im, 0x1100);
	elf_build(&im, false, 0x1ff000, s, 1);
	mb1_hdr(&im, MB1_OFF, 0);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "segment 0 [0x1ff000-0x201000) is beyond guest memory (2 MiB; see mem=)");
	s[0].paddr = 0xfffff000;
	elf_build(&im, false, 0xfffff000, s, 1);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "segment 0 [0xfffff000-0x100001000) is beyond guest memory");

	/* Wrapping paddr + memsz (ELF64). */
	s[0].paddr = 0xfffffffffffff000ull;
	img_init(&im, 0x1100);
	elf_build(&im, true, 0x1ff000, s, 1);
	mb1_hdr(&im, MB1_OFF, 0);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "segment 0 at 0xfffffffffffff000, 0x2000 bytes, wraps the address space");
	s[0] = (struct tseg){PT_LOAD, 0x1000, 0x100000, 0x100000, 0x100, UINT64_MAX};
	elf_build(&im, true, 0x100000, s, 1);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1, "wraps the address space");

	/* p_filesz > p_memsz. */
	s[0] = (struct tseg){PT_LOAD, 0x1000, 0x100000, 0x100000, 0x100, 0xff};
	elf_build(&im, true, 0x100000, s, 1);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "program header 0: p_filesz 0x100 > p_memsz 0xff");
	s[0].memsz = 0;
	elf_build(&im, true, 0x100000, s, 1);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1, "p_filesz 0x100 > p_memsz 0x0");

	/* p_offset + p_filesz wrapping (ELF32 and ELF64). */
	s[0] = (struct tseg){PT_LOAD, 0xffffffff, 0x100000, 0x100000, 0x10, 0x10};
	elf_build(&im, false, 0x100000, s, 1);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "file bytes at offset 0xffffffff, 0x10 long, run past");
	s[0].off = UINT64_MAX - 8;
	s[0].filesz = s[0].memsz = 0x100;
	elf_build(&im, true, 0x100000, s, 1);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1, "file bytes at offset 0xfffffffffffffff7");

	/* In the hole the memory map reserves, or between its pieces. */
	s[0] = (struct tseg){PT_LOAD, 0x1000, 0x9f000, 0x9f000, 0x100, 0x2000};
	elf_build(&im, false, 0x9f000, s, 1);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "segment 0 [0x9f000-0xa1000) is not in available guest RAM (hole at "
		      "[0x9fc00-0x100000))");
	s[0].paddr = s[0].vaddr = 0xb8000;
	elf_build(&im, false, 0xb8000, s, 1);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "segment 0 [0xb8000-0xba000) is not in available");
	s[0].paddr = s[0].vaddr = 0xff000;
	elf_build(&im, false, 0xff000, s, 1);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "segment 0 [0xff000-0x101000) is not in available");

	/* Overlapping segments. */
	s[0] = (struct tseg){PT_LOAD, 0x1000, 0x100000, 0x100000, 0x100, 0x2000};
	s[1] = (struct tseg){PT_LOAD, 0x1000, 0x101fff, 0x101fff, 0x10, 0x10};
	elf_build(&im, false, 0x100000, s, 2);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "segments 0 [0x100000-0x102000) and 1 [0x101fff-0x10200f) overlap");
	s[1].paddr = 0x102000; /* adjacent is fine */
	elf_build(&im, false, 0x100000, s, 2);
	spec_set(GUEST_TYPE_MB1, "");
	CHECK_EQ(load(&im), 0);

	/* No loadable segment. */
	s[0].type = PT_NOTE;
	s[1] = (struct tseg){PT_LOAD, 0x1000, 0x100000, 0x100000, 0, 0};
	elf_build(&im, false, 0x100000, s, 2);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "ELF has no non-empty PT_LOAD segment among 2 program headers");

	/* More loadable segments than the loader tracks. */
	for (i = 0; i < LOADER_TEST_SEGS; i++)
		s[i] = (struct tseg){PT_LOAD, 0x1000, 0x100000 + i * 0x1000, 0x100000 + i * 0x1000,
				     0x10,    0x10};
	img_init(&im, 0x1100);
	elf_build_at(&im, false, 0x100000, 0x400, s, LOADER_TEST_SEGS);
	mb1_hdr(&im, MB1_OFF, 0);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1, "more than 16 loadable segments");
	elf_build_at(&im, false, 0x100000, 0x400, s, LOADER_TEST_SEGS - 1);
	spec_set(GUEST_TYPE_MB1, "");
	CHECK_EQ(load(&im), 0);
	CHECK_LOGGED(LOG_INFO, "16 segments");
}

static void test_entry_outside(void)
{
	build_mb1_elf(&im);
	put32(im.b + 24, 0x101000); /* the gap between the segments */
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "ELF entry 0x101000 is outside every loaded segment");
	put32(im.b + 24, 0x103000); /* one past the bss */
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1, "ELF entry 0x103000");
	put32(im.b + 24, 0x102fff); /* last bss byte: inside */
	spec_set(GUEST_TYPE_MB1, "");
	CHECK_EQ(load(&im), 0);

	/* Higher-half ELF: the physical address is not a link address. */
	build_mb2_elf(&im);
	put64(im.b + 24, 0x100040);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2, "ELF entry 0x100040 is outside");

	build_mb1_aout(&im);
	mb1_addr(&im, 0x40, 0x100040, 0x100000, 0x101800, 0x104000, 0x104000);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "physical entry 0x104000 is outside every loaded segment");
	build_mb2_aout(&im, 0x100000);
	put32(im.b + 0x40 + 16 + 24 + 24 + 8, 0xfffff);
	mb2_resum(&im, 0x40);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2, "physical entry 0xfffff is outside");
}

static void test_mb1_header_search(void)
{
	/* Bad checksum. */
	build_mb1_elf(&im);
	put32(im.b + MB1_OFF + 8, get32(im.b + MB1_OFF + 8) + 1);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "multiboot header at offset 0x200 has a bad checksum");

	/* The last position entirely inside the first 8192 bytes. */
	build_mb1_elf(&im);
	put32(im.b + MB1_OFF, 0);
	mb1_hdr(&im, 8180, 0x3);
	spec_set(GUEST_TYPE_MB1, "");
	CHECK_EQ(load(&im), 0);

	/* Straddling the window end, or beyond it. */
	build_mb1_elf(&im);
	put32(im.b + MB1_OFF, 0);
	mb1_hdr(&im, 8184, 0x3);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "no multiboot header (magic 0x1badb002) in the first 8192 bytes");
	build_mb1_elf(&im);
	put32(im.b + MB1_OFF, 0);
	mb1_hdr(&im, 8192, 0x3);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1, "no multiboot header");

	/* Not 4-byte aligned. */
	build_mb1_elf(&im);
	put32(im.b + MB1_OFF, 0);
	mb1_hdr(&im, 0x302, 0x3);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1, "no multiboot header");

	/* Shorter than the window: the window is the image. */
	img_init(&im, 100);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "no multiboot header (magic 0x1badb002) in the first 100 bytes");
	CHECK_REFUSED(&im, 1, GUEST_TYPE_MB1, "in the first 1 bytes");

	/* Address fields that do not fit in the window. */
	img_init(&im, 0x2100);
	mb1_hdr(&im, 8172, 0x10000);
	CHECK_REFUSED(
	    &im, im.len, GUEST_TYPE_MB1,
	    "multiboot header at offset 0x1fec: its address fields (flag 16) run past byte 8192");
}

static void test_mb1_flags(void)
{
	build_mb1_elf(&im);
	mb1_hdr(&im, MB1_OFF, 0x7);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "multiboot header flags 0x7 require a video mode (bit 2)");
	mb1_hdr(&im, MB1_OFF, 0x8);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "flags 0x8 have required bits 0x8 this loader does not know");
	mb1_hdr(&im, MB1_OFF, 0x8003);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1, "required bits 0x8000");
	/* Bits 17-31 are optional: ignored. */
	mb1_hdr(&im, MB1_OFF, 0xfffe0003u);
	spec_set(GUEST_TYPE_MB1, "");
	CHECK_EQ(load(&im), 0);
	CHECK_EQ(ent.rip, 0x100010);
}

static void test_mb1_address_fields(void)
{
	build_mb1_aout(&im);
	mb1_addr(&im, 0x40, 0x100040, 0x100041, 0, 0, 0x100080);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "load_addr 0x100041 is above header_addr 0x100040");
	mb1_addr(&im, 0x40, 0x100040, 0xfffff, 0, 0, 0x100080);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "header_addr 0x100040 - load_addr 0xfffff = 0x41 exceeds the header's file "
		      "offset 0x40");
	mb1_addr(&im, 0x40, 0x100040, 0x100000, 0xfffff, 0, 0x100080);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "load_end_addr 0xfffff is below the load address 0x100000");
	mb1_addr(&im, 0x40, 0x100040, 0x100000, 0x101801, 0, 0x100080);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "load_end_addr 0x101801 needs 0x1801 bytes from file offset 0x0; the image "
		      "has 6144 bytes");
	mb1_addr(&im, 0x40, 0x100040, 0x100000, 0x101000, 0x100fff, 0x100080);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "bss_end_addr 0x100fff is below the end of the loaded data 0x101000");
	mb1_addr(&im, 0x40, 0x40, 0, 0, 0, 0x80);
	spec_set(GUEST_TYPE_MB1, "");
	CHECK_EQ(load(&im), 0); /* at 0, info block after it */
	CHECK_EQ(ent.rbx, 0x2000);
	mb1_addr(&im, 0x40, 0x40, 0, 0, 0xa0000, 0x80);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "segment 0 [0x0-0xa0000) is not in available guest RAM");
	mb1_addr(&im, 0x40, 0x40, 0, 0, 0x3ff000, 0x80);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "segment 0 [0x0-0x3ff000) is beyond guest memory");
	mb1_addr(&im, 0x40, 0x100040, 0x100000, 0x100000, 0, 0x100000);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1, "address fields describe nothing to load");
	mb1_addr(&im, 0x40, 0xffffffffu, 0xffffffc0u, 0, 0, 0xffffffc0u);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "segment 0 [0xffffffc0-0x1000017bf) is beyond guest memory");
	mb1_addr(&im, 0x40, 0xffffffffu, 0xffffffc0u, 0, 0xffffffffu, 0xffffffc0u);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB1,
		      "bss_end_addr 0xffffffff is below the end of the loaded data 0x1000017bf");
}

static void test_mb2_header_search(void)
{
	build_mb2_elf(&im);
	put32(im.b + MB2_OFF + 12, get32(im.b + MB2_OFF + 12) ^ 0x100);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2,
		      "multiboot2 header at offset 0x200 has a bad checksum");

	/* Beyond the 32 KiB window. */
	img_init(&im, 0x8100);
	elf_build(&im, true, HH + 0x100040, mb2_segs, 2);
	mb2_begin(&im, 0x8000);
	mb2_finish(&im);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2,
		      "no multiboot2 header (magic 0xe85250d6) in the first 32768 bytes");
	/* Last position where a minimal header fits. */
	put32(im.b + 0x8000, 0);
	mb2_begin(&im, 0x8000 - 24);
	mb2_finish(&im);
	spec_set(GUEST_TYPE_MB2, "");
	CHECK_EQ(load(&im), 0);
	/* Found, but its length runs past the window. */
	put32(im.b + 0x8000 - 24, 0);
	mb2_begin(&im, 0x8000 - 16);
	mb2_finish(&im);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2,
		      "multiboot2 header at offset 0x7ff0, header_length 24, runs past byte 32768");
	/* Only 4-byte aligned. */
	build_mb2_elf(&im);
	put32(im.b + MB2_OFF, 0);
	mb2_begin(&im, 0x404);
	mb2_finish(&im);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2, "no multiboot2 header");
}

static void test_mb2_header_fields(void)
{
	build_mb2_elf(&im);
	put32(im.b + MB2_OFF + 4, 4); /* MIPS */
	mb2_resum(&im, MB2_OFF);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2, "multiboot2 header architecture 4: only 0");

	build_mb2_elf(&im);
	put32(im.b + MB2_OFF + 8, 16);
	mb2_resum(&im, MB2_OFF);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2, "multiboot2 header_length 16 is too small");

	build_mb2_elf(&im);
	put32(im.b + MB2_OFF + 8, 0xfffffff0u);
	mb2_resum(&im, MB2_OFF);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2,
		      "header_length 4294967280, runs past byte 14336");

	/* header_length ends before the end tag. */
	build_mb2_elf(&im);
	put32(im.b + MB2_OFF + 8, 16 + 24 + 16);
	mb2_resum(&im, MB2_OFF);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2,
		      "multiboot2 header has no end tag within header_length 56");

	/* A tag size below 8, or past header_length. */
	build_mb2_elf(&im);
	put32(im.b + MB2_OFF + 16 + 4, 4);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2,
		      "multiboot2 header tag type 1 at offset 0x210 has size 4");
	build_mb2_elf(&im);
	put32(im.b + MB2_OFF + 16 + 4, 0x1000);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2, "has size 4096 (must be 8..");

	/* A known tag shorter than its fields. */
	img_init(&im, 0x1800);
	mb2_begin(&im, 0x40);
	mb2_tag32(&im, 2, 0, (const uint32_t[]){0x100040, 0x100000}, 2);
	mb2_finish(&im);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2,
		      "multiboot2 header tag type 2 has size 16; it needs 24");

	/* Address tag without an entry, duplicate tags. */
	img_init(&im, 0x1800);
	mb2_begin(&im, 0x40);
	mb2_tag32(&im, 2, 0, (const uint32_t[]){0x100040, 0x100000, 0, 0}, 4);
	mb2_finish(&im);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2, "address tag without an entry address tag");
	img_init(&im, 0x1800);
	mb2_begin(&im, 0x40);
	mb2_tag32(&im, 3, 0, (const uint32_t[]){0x100100}, 1);
	mb2_tag32(&im, 3, 0, (const uint32_t[]){0x100100}, 1);
	mb2_finish(&im);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2, "two entry address tags");
	img_init(&im, 0x1800);
	mb2_begin(&im, 0x40);
	mb2_tag32(&im, 2, 0, (const uint32_t[]){0x100040, 0x100000, 0, 0}, 4);
	mb2_tag32(&im, 2, 0, (const uint32_t[]){0x100040, 0x100000, 0, 0}, 4);
	mb2_finish(&im);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2, "two address tags");

	/* load_addr -1 with a header_addr below the header's file offset. */
	build_mb2_aout(&im, 0xffffffffu);
	put32(im.b + 0x40 + 16 + 24 + 8, 0x20);
	mb2_resum(&im, 0x40);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2,
		      "header_addr 0x20 is below the header's file offset 0x40");
}

/* Build an mb2 ELF image whose header has @tags inserted before the end. */
static void build_mb2_with(struct img *m, uint16_t type, uint16_t flags, const uint32_t *v,
			   unsigned n)
{
	img_init(m, 0x3800);
	elf_build(m, true, HH + 0x100040, mb2_segs, 2);
	mb2_begin(m, MB2_OFF);
	mb2_tag32(m, type, flags, v, n);
	mb2_finish(m);
}

static void test_mb2_requirements(void)
{
	static const uint32_t fb[] = {8};
	static const uint32_t many[] = {1, 2, 4, 6, 3, 21};

	/* Information requests: what we give, what we do not. */
	build_mb2_with(&im, 1, 0, fb, 1);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2,
		      "multiboot2 header requires boot information tag 8 (framebuffer)");
	build_mb2_with(&im, 1, 0, many, 6);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2, "requires boot information tag 3 (module)");
	build_mb2_with(&im, 1, 0, (const uint32_t[]){99}, 1);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2, "requires boot information tag 99 (unknown)");
	build_mb2_with(&im, 1, TAG_OPT, many, 6);
	spec_set(GUEST_TYPE_MB2, "");
	logcap_reset();
	CHECK_EQ(load(&im), 0);
	CHECK_NO_WARNINGS();

	/* Framebuffer. */
	build_mb2_with(&im, 5, 0, (const uint32_t[]){800, 600, 32}, 3);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2,
		      "multiboot2 header requires a framebuffer (800x600x32)");
	build_mb2_with(&im, 5, TAG_OPT, (const uint32_t[]){800, 600, 32}, 3);
	spec_set(GUEST_TYPE_MB2, "");
	CHECK_EQ(load(&im), 0);

	/* Console flags: console_required can only be met optionally. */
	build_mb2_with(&im, 4, 0, (const uint32_t[]){3}, 1);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2,
		      "requires a console described in the boot information (console flags 0x3)");
	build_mb2_with(&im, 4, TAG_OPT, (const uint32_t[]){1}, 1);
	spec_set(GUEST_TYPE_MB2, "");
	CHECK_EQ(load(&im), 0);
	build_mb2_with(&im, 4, 0, (const uint32_t[]){2}, 1);
	CHECK_EQ(load(&im), 0);

	/* EFI boot services. */
	build_mb2_with(&im, 7, 0, NULL, 0);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2, "requires EFI boot services (tag 7)");
	build_mb2_with(&im, 7, TAG_OPT, NULL, 0);
	spec_set(GUEST_TYPE_MB2, "");
	CHECK_EQ(load(&im), 0);
	build_mb2_with(&im, 9, 0, (const uint32_t[]){0x100000}, 1);
	CHECK_EQ(load(&im), 0);
	CHECK_EQ(ent.rip, 0x100040); /* the EFI entry is not used */

	/* Unknown tags. */
	build_mb2_with(&im, 42, 0, (const uint32_t[]){1}, 1);
	CHECK_REFUSED(&im, im.len, GUEST_TYPE_MB2,
		      "multiboot2 header tag type 42 is required and not supported");
	build_mb2_with(&im, 42, TAG_OPT, (const uint32_t[]){1}, 1);
	spec_set(GUEST_TYPE_MB2, "");
	CHECK_EQ(load(&im), 0);
}

/* A late refusal (after all the parsing) still leaves memory untouched. */
static void test_refusal_writes_nothing(void)
{
	struct tseg s[2] = {
	    {PT_LOAD, 0x1000, 0, 0, 0x100, 0x9fc00},
	    {PT_LOAD, 0x1000, 0x100000, 0x100000, 0x100, MEM_SIZE - 0x100000},
	};

	img_init(&im, 0x1100);
	elf_build(&im, false, 0x100000, s, 2);
	mb1_hdr(&im, MB1_OFF, 0);
	spec_set(GUEST_TYPE_MB1, "");
	mem_reset(MEM_SIZE);
	CHECK(load(&im) < 0);
	CHECK(mem_untouched(MEM_SIZE));
	CHECK(canary_ok(MEM_SIZE));
	CHECK_EQ(ent.mode, 0); /* the entry is cleared, not left stale */
	CHECK_EQ(ent.rip, 0);
}

/* ---------------------------------------------------------------------- */
/* Seeded mutation fuzzing */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static const uint64_t interesting[] = {
    0,		1,	    8,	      0xff,	  0x1000,	  0x9fc00,
    0xa0000,	0x100000,   0x1fffff, 0x200000,	  0x7fffffff,	  0x80000000,
    0xfffffff8, 0xffffffff, HH,	      UINT64_MAX, UINT64_MAX - 7,
};

static void mutate(uint8_t *p, size_t len, size_t hdr_off, size_t hdr_len)
{
	unsigned k, nmut = 1 + rnd() % 6;

	for (k = 0; k < nmut; k++) {
		size_t at;
		unsigned where = rnd() % 10;

		if (where < 4)
			at = rnd() % 0x140; /* ELF header, program headers */
		else if (where < 8)
			at = hdr_off + rnd() % hdr_len; /* multiboot header */
		else
			at = rnd() % len;
		if (at >= len)
			continue;
		switch (rnd() % 4) {
		case 0:
			p[at] = (uint8_t)rnd();
			break;
		case 1:
			p[at] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 2: {
			size_t a = at & ~(size_t)3;
			uint32_t v = (uint32_t)interesting[rnd() % (sizeof(interesting) / 8)];

			if (rnd() % 2)
				v += rnd() % 32 - 16;
			if (a + 4 <= len)
				memcpy(p + a, &v, 4);
			break;
		}
		default: {
			size_t a = at & ~(size_t)7;
			uint64_t v = interesting[rnd() % (sizeof(interesting) / 8)];

			if (a + 8 <= len)
				memcpy(p + a, &v, 8);
			break;
		}
		}
	}
}

/* Make the header's checksum right again, so later checks get exercised. */
static void fix_checksum(uint8_t *p, size_t len, size_t off, bool mb2)
{
	if (mb2 && off + 16 <= len) {
		uint32_t s = get32(p + off) + get32(p + off + 4) + get32(p + off + 8);

		put32(p + off + 12, (uint32_t)-s);
	} else if (!mb2 && off + 12 <= len) {
		put32(p + off + 8, (uint32_t) - (get32(p + off) + get32(p + off + 4)));
	}
}

static void fuzz(const struct img *base, enum guest_type type, size_t hdr_off, size_t hdr_len,
		 unsigned iters, uint64_t seed)
{
	static struct mb2_info mb;
	unsigned it, ok = 0, refused = 0;
	bool mb2 = type == GUEST_TYPE_MB2;

	rng_state = seed;
	for (it = 0; it < iters; it++) {
		size_t len = it % 8 == 7 ? rnd() % (base->len + 1) : base->len;
		uint8_t *p = malloc(len ? len : 1);
		int rc;

		memcpy(p, base->b, len);
		mutate(p, len, hdr_off, hdr_len);
		if (rnd() % 4)
			fix_checksum(p, len, hdr_off, mb2);
		spec_set(rnd() % 4 ? type : GUEST_TYPE_AUTO, it % 2 ? "fuzz cmdline" : "");
		mem_reset(MEM_SIZE);
		logcap_reset();
		memset(&ent, 0x5a, sizeof(ent));
		rc = guest_load(&spec, p, len, guest, MEM_SIZE, &ent);
		free(p);

		CHECK(canary_ok(MEM_SIZE));
		CHECK(logcap_all_prefixed("loader: "));
		if (rc < 0) {
			refused++;
			CHECK_EQ(logcap_count(LOG_ERROR), 1);
			CHECK_EQ(logcap_count(LOG_INFO), 0);
			CHECK_EQ(ent.rip, 0);
			if (it % 8 == 0)
				CHECK(mem_untouched(MEM_SIZE));
			continue;
		}
		ok++;
		CHECK_EQ(logcap_count(LOG_ERROR), 0);
		CHECK_EQ(logcap_count(LOG_INFO), 1);
		CHECK_EQ(ent.mode, GUEST_MODE_PROTECTED32);
		CHECK(ent.rip < MEM_SIZE);
		CHECK(ent.rbx >= 0x1000 && ent.rbx + 512 <= MEM_SIZE);
		CHECK_EQ(ent.rbx % 4096, 0);
		if (ent.rax == 0x36d76289) {
			CHECK_EQ(mb2_parse(guest + ent.rbx, MEM_SIZE - ent.rbx, ent.rbx, &mb), 0);
			CHECK_EQ(mb.problems, 0);
			CHECK_STR(mb.loader_name, "hv");
			CHECK_STR(mb.cmdline, spec.cmdline);
			CHECK_EQ(mb.n_regions, 4);
		} else {
			CHECK_EQ(ent.rax, 0x2badb002);
			CHECK_EQ(get32(guest + ent.rbx), 0x245);
			CHECK_STR((const char *)guest + get32(guest + ent.rbx + 16), spec.cmdline);
		}
	}
	if (getenv("VERBOSE") && *getenv("VERBOSE"))
		fprintf(stderr, "fuzz: %u loaded, %u refused\n", ok, refused);
	/* Both outcomes must be common, or the fuzzing proves little. */
	CHECK(ok > iters / 20);
	CHECK(refused > iters / 20);
}

static void test_fuzz_mb1_elf(void)
{
	build_mb1_elf(&im);
	fuzz(&im, GUEST_TYPE_MB1, MB1_OFF, 12, 5000, 0x9e3779b97f4a7c15ull);
}

static void test_fuzz_mb2_elf(void)
{
	build_mb2_elf(&im);
	fuzz(&im, GUEST_TYPE_MB2, MB2_OFF, mb2_pos - MB2_OFF, 5000, 0x2545f4914f6cdd1dull);
}

static void test_fuzz_mb1_aout(void)
{
	build_mb1_aout(&im);
	fuzz(&im, GUEST_TYPE_MB1, 0x40, 32, 2000, 0xd1b54a32d192ed03ull);
}

static void test_fuzz_mb2_aout(void)
{
	build_mb2_aout(&im, 0x100000);
	fuzz(&im, GUEST_TYPE_MB2, 0x40, mb2_pos - 0x40, 2000, 0x8cb92ba72f3d8dd7ull);
}

/* Any command line: no crash, and a refusal always says why. */
static void test_fuzz_spec(void)
{
	static const char *const words[] = {
	    "name=", "type=", "mem=", "load=",	"--",	    "raw",    "mb1", "mb2",
	    "0x",    "1",     "7c00", "M",	"K",	    "G",      "=",   " ",
	    "\t",    "/p",    "x",    "name=a", "type=raw", "mem=4M",
	};
	char line[GUEST_CMDLINE_MAX + 64];
	unsigned it;

	rng_state = 0x123456789abcdefull;
	for (it = 0; it < 5000; it++) {
		size_t n = 0;
		int rc;

		while (n < GUEST_CMDLINE_MAX && rnd() % 12) {
			const char *w = words[rnd() % (sizeof(words) / sizeof(words[0]))];
			size_t k = strlen(w);

			memcpy(line + n, w, k);
			n += k;
		}
		line[n] = '\0';
		logcap_reset();
		rc = guest_spec_parse(line, it, &spec);
		CHECK(memchr(spec.name, '\0', sizeof(spec.name)) != NULL);
		CHECK(memchr(spec.cmdline, '\0', sizeof(spec.cmdline)) != NULL);
		if (rc < 0) {
			CHECK_EQ(logcap_count(LOG_ERROR), 1);
		} else {
			CHECK_EQ(logcap_count(LOG_ERROR), 0);
			CHECK(spec.mem_size >= (1ull << 20) && spec.mem_size <= (1ull << 30));
			CHECK_EQ(spec.mem_size % 4096, 0);
			CHECK(spec.load >= 0x500 && spec.load < 0x10000);
			CHECK(spec.name[0] != '\0');
		}
	}
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_spec_full),
    TEST_ENTRY(test_spec_defaults),
    TEST_ENTRY(test_spec_sizes),
    TEST_ENTRY(test_spec_type_and_load),
    TEST_ENTRY(test_spec_path_word),
    TEST_ENTRY(test_spec_budget),
    TEST_ENTRY(test_spec_guest_cmdline),
    TEST_ENTRY(test_spec_name_limits),
    TEST_ENTRY(test_spec_bad),
    TEST_ENTRY(test_spec_echo_clamped),
    TEST_ENTRY(test_e820),
    TEST_ENTRY(test_mb1_elf32),
    TEST_ENTRY(test_mb1_aout),
    TEST_ENTRY(test_mb1_bigger_memory),
    TEST_ENTRY(test_mb2_elf64_higher_half),
    TEST_ENTRY(test_mb2_elf32_and_entry_tag),
    TEST_ENTRY(test_mb2_address_tag),
    TEST_ENTRY(test_raw),
    TEST_ENTRY(test_raw_refused),
    TEST_ENTRY(test_auto_detect),
    TEST_ENTRY(test_segment_at_zero),
    TEST_ENTRY(test_info_placement),
    TEST_ENTRY(test_empty_image),
    TEST_ENTRY(test_bad_arguments),
    TEST_ENTRY(test_elf_truncated),
    TEST_ENTRY(test_elf_phdr_table),
    TEST_ENTRY(test_elf_header_fields),
    TEST_ENTRY(test_elf_segments),
    TEST_ENTRY(test_entry_outside),
    TEST_ENTRY(test_mb1_header_search),
    TEST_ENTRY(test_mb1_flags),
    TEST_ENTRY(test_mb1_address_fields),
    TEST_ENTRY(test_mb2_header_search),
    TEST_ENTRY(test_mb2_header_fields),
    TEST_ENTRY(test_mb2_requirements),
    TEST_ENTRY(test_refusal_writes_nothing),
    TEST_ENTRY(test_fuzz_mb1_elf),
    TEST_ENTRY(test_fuzz_mb2_elf),
    TEST_ENTRY(test_fuzz_mb1_aout),
    TEST_ENTRY(test_fuzz_mb2_aout),
    TEST_ENTRY(test_fuzz_spec),
};

int main(void)
{
	memset(fill_ref, FILL, sizeof(fill_ref));
	return check_main(tests, sizeof(tests) / sizeof(tests[0]));
}
