// SPDX-License-Identifier: MIT
/*
 * Unit tests of the multiboot2 parser. Every block is parsed from a heap
 * copy of exactly its own size, so AddressSanitizer reports any read past
 * the end the parser was given.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/multiboot2.h"
#include "tests/unit/check.h"

#define INFO_PHYS 0x10000ull
#define BLK_CAP	  (64 * 1024)

/* A boot-information block under construction. */
struct blk {
	uint8_t buf[BLK_CAP];
	size_t len;
};

static struct blk blk;
static struct mb2_info mb;

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void b_init(struct blk *b)
{
	memset(b->buf, 0, sizeof(b->buf));
	b->len = 8;
}

/* A tag whose header claims @size, followed by @n payload bytes. */
static void b_tag_sized(struct blk *b, uint32_t type, uint32_t size, const void *payload, size_t n)
{
	put32(b->buf + b->len, type);
	put32(b->buf + b->len + 4, size);
	if (n)
		memcpy(b->buf + b->len + 8, payload, n);
	b->len += (8 + n + 7) & ~(size_t)7;
}

static void b_tag(struct blk *b, uint32_t type, const void *payload, size_t n)
{
	b_tag_sized(b, type, (uint32_t)(8 + n), payload, n);
}

static void b_str(struct blk *b, uint32_t type, const char *s)
{
	b_tag(b, type, s, strlen(s) + 1);
}

static void b_end(struct blk *b)
{
	b_tag(b, MB2_TAG_END, NULL, 0);
}

/* Seal total_size to the current length. */
static void b_seal(struct blk *b)
{
	put32(b->buf, (uint32_t)b->len);
}

static void b_module(struct blk *b, uint32_t start, uint32_t end, const char *cmd)
{
	uint8_t p[512];
	size_t n = strlen(cmd) + 1;

	put32(p, start);
	put32(p + 4, end);
	memcpy(p + 8, cmd, n);
	b_tag(b, MB2_TAG_MODULE, p, 8 + n);
}

struct ent {
	uint64_t base, len;
	uint32_t type;
};

/* Memory map with the given entry size (>= 24); extra bytes are 0xee. */
static void b_mmap_esize(struct blk *b, const struct ent *e, unsigned n, uint32_t esize)
{
	static uint8_t p[16 + 300 * 64];
	unsigned i;

	memset(p, 0xee, sizeof(p));
	put32(p, esize);
	put32(p + 4, 0);
	for (i = 0; i < n; i++) {
		uint8_t *q = p + 8 + (size_t)i * esize;

		put64(q, e[i].base);
		put64(q + 8, e[i].len);
		put32(q + 16, e[i].type);
		put32(q + 20, 0);
	}
	b_tag(b, MB2_TAG_MMAP, p, 8 + (size_t)n * esize);
}

static void b_mmap(struct blk *b, const struct ent *e, unsigned n)
{
	b_mmap_esize(b, e, n, 24);
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* A valid RSDP of @ver (1: 20 bytes, 2: 36 bytes) in r[]. */
static size_t make_rsdp(uint8_t *r, unsigned ver, uint32_t rsdt, uint64_t xsdt)
{
	size_t n = ver == 1 ? 20 : 36;

	memset(r, 0, 36);
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "TESTOE", 6);
	r[15] = ver == 1 ? 0 : 2;
	put32(r + 16, rsdt);
	if (ver == 2) {
		put32(r + 20, 36);
		put64(r + 24, xsdt);
	}
	r[8] = (uint8_t)-sum8(r, 20);
	if (ver == 2)
		r[32] = (uint8_t)-sum8(r, 36);
	return n;
}

/* Parse a heap copy of exactly @len bytes (ASan guards the end). */
static int parse_len(const struct blk *b, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, b->buf, len);
	rc = mb2_parse(copy, len, INFO_PHYS, &mb);
	free(copy);
	return rc;
}

static int parse(const struct blk *b)
{
	return parse_len(b, b->len);
}

static const struct ent std_map[] = {
    {0x0, 0x9fc00, MB2_MEM_AVAILABLE},		{0x9fc00, 0x400, MB2_MEM_RESERVED},
    {0xf0000, 0x10000, MB2_MEM_RESERVED},	{0x100000, 0x7ee0000, MB2_MEM_AVAILABLE},
    {0x7fe0000, 0x20000, MB2_MEM_ACPI_RECLAIM}, {0xfffc0000, 0x40000, MB2_MEM_RESERVED},
};

/* A block like GRUB builds for a BIOS boot, plus EFI and firmware tags. */
static void build_full(struct blk *b)
{
	uint8_t p[64];

	b_init(b);
	b_str(b, MB2_TAG_CMDLINE, "loglevel=debug console=com1");
	b_str(b, MB2_TAG_LOADER_NAME, "GRUB 2.06-13+deb12u1");
	b_module(b, 0x200000, 0x280000, "guest.bin role=guest");
	b_module(b, 0x300000, 0x300800, "initrd");
	put32(p, 639);
	put32(p + 4, 130048);
	b_tag(b, MB2_TAG_BASIC_MEMINFO, p, 8);
	put32(p, 0x80);
	put32(p + 4, 0xffffffff);
	put32(p + 8, 0xffffffff);
	b_tag(b, MB2_TAG_BOOTDEV, p, 12);
	b_mmap(b, std_map, 6);
	make_rsdp(p, 1, 0x7fe1000, 0);
	b_tag(b, MB2_TAG_ACPI_OLD, p, 20);
	make_rsdp(p, 2, 0x7fe1000, 0x7fe2000);
	b_tag(b, MB2_TAG_ACPI_NEW, p, 36);
	put64(p, 0x7f9e018ull);
	b_tag(b, MB2_TAG_EFI64_SYSTAB, p, 8);
	put64(p, 0x7e1b298ull);
	b_tag(b, MB2_TAG_EFI64_IH, p, 8);
	b_tag(b, MB2_TAG_EFI_BS, NULL, 0);
	put32(p, 0x200000);
	b_tag(b, MB2_TAG_LOAD_BASE, p, 4);
	/* 1024x768x32 RGB framebuffer with colour info. */
	memset(p, 0, sizeof(p));
	put64(p, 0xfd000000ull);
	put32(p + 8, 4096);
	put32(p + 12, 1024);
	put32(p + 16, 768);
	p[20] = 32;
	p[21] = MB2_FB_RGB;
	p[24] = 16;
	p[25] = 8;
	p[26] = 8;
	p[27] = 8;
	p[28] = 0;
	p[29] = 8;
	b_tag(b, MB2_TAG_FRAMEBUFFER, p, 30);
	b_end(b);
	b_seal(b);
}

static void test_magic(void)
{
	CHECK_EQ(MB2_BOOTLOADER_MAGIC, 0x36d76289u);
}

static void test_full_block(void)
{
	build_full(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_NO_WARNINGS();
	CHECK_EQ(mb.problems, 0);
	CHECK_EQ(mb.info_phys, INFO_PHYS);
	CHECK_EQ(mb.total_size, blk.len);
	CHECK(mb.has_cmdline);
	CHECK_STR(mb.cmdline, "loglevel=debug console=com1");
	CHECK_STR(mb.loader_name, "GRUB 2.06-13+deb12u1");
	CHECK(mb.has_meminfo);
	CHECK_EQ(mb.mem_lower_kib, 639);
	CHECK_EQ(mb.mem_upper_kib, 130048);
	CHECK(mb.has_mmap);
	CHECK_EQ(mb.n_regions, 6);
	CHECK_EQ(mb.regions[3].base, 0x100000);
	CHECK_EQ(mb.regions[3].len, 0x7ee0000);
	CHECK_EQ(mb.regions[3].type, MB2_MEM_AVAILABLE);
	CHECK_EQ(mb.regions[5].base, 0xfffc0000u);
	CHECK_EQ(mb.regions[5].type, MB2_MEM_RESERVED);
	CHECK_EQ(mb.n_modules, 2);
	CHECK_EQ(mb.modules[0].start, 0x200000);
	CHECK_EQ(mb.modules[0].end, 0x280000);
	CHECK_STR(mb.modules[0].cmdline, "guest.bin role=guest");
	CHECK_STR(mb.modules[1].cmdline, "initrd");
	CHECK_EQ(mb.rsdp_version, 2);
	CHECK_EQ(mb.rsdp_len, 36);
	CHECK_EQ(mb.rsdt_addr, 0x7fe1000);
	CHECK_EQ(mb.xsdt_addr, 0x7fe2000);
	CHECK(memcmp(mb.rsdp, "RSD PTR ", 8) == 0);
	CHECK(mb.has_efi64_systab);
	CHECK_EQ(mb.efi64_systab, 0x7f9e018);
	CHECK(mb.has_efi64_ih);
	CHECK_EQ(mb.efi64_ih, 0x7e1b298);
	CHECK(!mb.has_efi32_systab);
	CHECK(mb.efi_bs_not_terminated);
	CHECK(mb.has_load_base);
	CHECK_EQ(mb.load_base, 0x200000);
	CHECK(mb.fb.present);
	CHECK_EQ(mb.fb.addr, 0xfd000000u);
	CHECK_EQ(mb.fb.pitch, 4096);
	CHECK_EQ(mb.fb.width, 1024);
	CHECK_EQ(mb.fb.height, 768);
	CHECK_EQ(mb.fb.bpp, 32);
	CHECK_EQ(mb.fb.red_pos, 16);
	CHECK_EQ(mb.fb.blue_size, 8);
}

/* The smallest legal block: header and end tag. */
static void test_minimal_block(void)
{
	b_init(&blk);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(blk.len, 16);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.problems, 0);
	CHECK(!mb.has_cmdline && !mb.has_mmap);
	CHECK_EQ(mb.n_modules, 0);
	CHECK_EQ(mb.rsdp_version, 0);
	CHECK_STR(mb.cmdline, "");
}

static void test_null_and_tiny(void)
{
	memset(&mb, 0x5a, sizeof(mb));
	CHECK(mb2_parse(NULL, 4096, INFO_PHYS, &mb) < 0);
	CHECK_EQ(mb.n_regions, 0); /* @out is initialised even on failure */
	CHECK_LOGGED(LOG_ERROR, "mb2: ", "4096");
	b_init(&blk);
	b_end(&blk);
	b_seal(&blk);
	CHECK(parse_len(&blk, 4) < 0);
	CHECK(parse_len(&blk, 0) < 0);
}

static void test_total_size_too_small(void)
{
	b_init(&blk);
	b_end(&blk);
	put32(blk.buf, 12);
	CHECK(parse(&blk) < 0);
	CHECK_LOGGED(LOG_ERROR, "mb2: total_size 12", "minimum 16");
	put32(blk.buf, 0);
	CHECK(parse(&blk) < 0);
	CHECK_LOGGED(LOG_ERROR, "total_size 0");
}

static void test_total_size_past_buffer(void)
{
	build_full(&blk);
	put32(blk.buf, (uint32_t)blk.len + 8);
	CHECK(parse(&blk) < 0);
	CHECK_LOGGED(LOG_ERROR, "exceeds", "readable");
	put32(blk.buf, 0xffffffffu);
	CHECK(parse(&blk) < 0);
	CHECK_LOGGED(LOG_ERROR, "total_size 4294967295");
}

static void test_phys_wrap(void)
{
	uint8_t *copy;

	build_full(&blk);
	copy = malloc(blk.len);
	memcpy(copy, blk.buf, blk.len);
	CHECK(mb2_parse(copy, blk.len, UINT64_MAX - 64, &mb) < 0);
	free(copy);
	CHECK_LOGGED(LOG_ERROR, "wraps");
}

static void test_unaligned_block(void)
{
	uint8_t *raw;
	int rc;

	build_full(&blk);
	raw = malloc(blk.len + 1);
	memcpy(raw + 1, blk.buf, blk.len);
	rc = mb2_parse(raw + 1, blk.len, INFO_PHYS, &mb);
	free(raw);
	CHECK_EQ(rc, 0);
	CHECK_EQ(mb.problems, 0);
	CHECK_EQ(mb.n_regions, 6);
	CHECK_EQ(mb.regions[3].len, 0x7ee0000);
	CHECK_EQ(mb.xsdt_addr, 0x7fe2000);
	CHECK_STR(mb.modules[0].cmdline, "guest.bin role=guest");
}

static void test_unaligned_phys_warns(void)
{
	uint8_t *copy;

	b_init(&blk);
	b_end(&blk);
	b_seal(&blk);
	copy = malloc(blk.len);
	memcpy(copy, blk.buf, blk.len);
	CHECK_EQ(mb2_parse(copy, blk.len, INFO_PHYS + 4, &mb), 0);
	free(copy);
	CHECK_EQ(mb.problems, 1);
	CHECK_LOGGED(LOG_WARN, "not 8-byte aligned");
}

/* A tag whose size runs past total_size: earlier tags survive. */
static void test_tag_past_total(void)
{
	b_init(&blk);
	b_str(&blk, MB2_TAG_CMDLINE, "a=b");
	b_tag_sized(&blk, MB2_TAG_LOADER_NAME, 200, "GRUB", 5);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_STR(mb.cmdline, "a=b");
	CHECK(!mb.has_loader_name);
	CHECK_EQ(mb.problems, 1);
	CHECK_LOGGED(LOG_WARN, "mb2: tag type 2", "size 200", "runs past");
}

/* A truncated block: the buffer ends in the middle of a tag header. */
static void test_truncated_tag_header(void)
{
	b_init(&blk);
	b_str(&blk, MB2_TAG_CMDLINE, "x");
	put32(blk.buf + blk.len, MB2_TAG_MODULE);
	blk.len += 4;
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_STR(mb.cmdline, "x");
	CHECK_EQ(mb.n_modules, 0);
	CHECK_LOGGED(LOG_WARN, "no end tag");
}

static void test_tag_size_below_header(void)
{
	b_init(&blk);
	b_tag_sized(&blk, MB2_TAG_CMDLINE, 4, NULL, 0);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK(!mb.has_cmdline);
	CHECK_EQ(mb.problems, 1);
	CHECK_LOGGED(LOG_WARN, "tag type 1", "size 4 < 8");
}

/* Size 0 would make a naive walker loop forever on the same tag. */
static void test_zero_length_tag(void)
{
	b_init(&blk);
	b_str(&blk, MB2_TAG_CMDLINE, "keep");
	b_tag_sized(&blk, MB2_TAG_MODULE, 0, NULL, 0);
	b_str(&blk, MB2_TAG_LOADER_NAME, "unseen");
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_STR(mb.cmdline, "keep");
	CHECK(!mb.has_loader_name);
	CHECK_LOGGED(LOG_WARN, "size 0 < 8");
}

/* An empty-payload tag (size 8) is legal and must not stop the walk. */
static void test_empty_payload_tags(void)
{
	b_init(&blk);
	b_tag(&blk, MB2_TAG_CMDLINE, NULL, 0);
	b_tag(&blk, 77, NULL, 0);
	b_str(&blk, MB2_TAG_LOADER_NAME, "L");
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK(mb.has_cmdline);
	CHECK_STR(mb.cmdline, "");
	CHECK_STR(mb.loader_name, "L");
	CHECK_LOGGED(LOG_WARN, "cmdline not NUL-terminated", "0 bytes");
}

static void test_missing_end_tag(void)
{
	b_init(&blk);
	b_str(&blk, MB2_TAG_CMDLINE, "on_done=exit");
	b_mmap(&blk, std_map, 6);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_STR(mb.cmdline, "on_done=exit");
	CHECK_EQ(mb.n_regions, 6);
	CHECK_EQ(mb.problems, 1);
	CHECK_LOGGED(LOG_WARN, "no end tag");
}

static void test_end_tag_bad_size(void)
{
	b_init(&blk);
	b_tag_sized(&blk, MB2_TAG_END, 16, "\0\0\0\0\0\0\0", 8);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.problems, 1);
	CHECK_LOGGED(LOG_WARN, "end tag", "size 16");
}

/* Tags after the end tag are never looked at. */
static void test_data_after_end_ignored(void)
{
	b_init(&blk);
	b_end(&blk);
	b_str(&blk, MB2_TAG_CMDLINE, "hidden");
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK(!mb.has_cmdline);
	CHECK_EQ(mb.problems, 0);
}

static void test_cmdline_without_nul(void)
{
	b_init(&blk);
	b_tag(&blk, MB2_TAG_CMDLINE, "loglevel=warn", 13);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_STR(mb.cmdline, "loglevel=warn");
	CHECK_EQ(mb.problems, 1);
	CHECK_LOGGED(LOG_WARN, "mb2: cmdline not NUL-terminated", "13 bytes");
}

static void test_cmdline_too_long(void)
{
	char s[2001];

	memset(s, 'a', 2000);
	s[2000] = '\0';
	b_init(&blk);
	b_str(&blk, MB2_TAG_CMDLINE, s);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(strlen(mb.cmdline), MB2_CMDLINE_MAX - 1);
	CHECK_EQ(mb.cmdline[1022], 'a');
	CHECK_LOGGED(LOG_WARN, "cmdline truncated from 2000 to 1023 bytes");
}

/* Exactly fitting: 1023 characters plus NUL is not truncated. */
static void test_cmdline_exact_fit(void)
{
	char s[MB2_CMDLINE_MAX];

	memset(s, 'b', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	b_init(&blk);
	b_str(&blk, MB2_TAG_CMDLINE, s);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.problems, 0);
	CHECK_STR(mb.cmdline, s);
}

static void test_loader_name_too_long(void)
{
	char s[200];

	memset(s, 'G', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	b_init(&blk);
	b_str(&blk, MB2_TAG_LOADER_NAME, s);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(strlen(mb.loader_name), MB2_LOADER_NAME_MAX - 1);
	CHECK_LOGGED(LOG_WARN, "loader name truncated from 199 to 63");
}

static void test_control_chars_replaced(void)
{
	b_init(&blk);
	b_str(&blk, MB2_TAG_CMDLINE, "a=1\tb=2\x1b[2Jc");
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_STR(mb.cmdline, "a=1 b=2?[2Jc");
	CHECK_LOGGED(LOG_WARN, "1 control characters");
}

static void test_mmap_entry_size_small(void)
{
	uint8_t p[8 + 20 * 2];

	memset(p, 0, sizeof(p));
	put32(p, 20);
	b_init(&blk);
	b_tag(&blk, MB2_TAG_MMAP, p, sizeof(p));
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK(!mb.has_mmap);
	CHECK_EQ(mb.n_regions, 0);
	CHECK_LOGGED(LOG_WARN, "entry_size 20 invalid");
}

static void test_mmap_entry_size_odd(void)
{
	b_init(&blk);
	b_mmap_esize(&blk, std_map, 2, 28);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK(!mb.has_mmap);
	CHECK_LOGGED(LOG_WARN, "entry_size 28 invalid");
	b_init(&blk);
	b_mmap_esize(&blk, std_map, 2, 25);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_LOGGED(LOG_WARN, "entry_size 25 invalid");
	b_init(&blk);
	b_mmap_esize(&blk, std_map, 0, 0);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_LOGGED(LOG_WARN, "entry_size 0 invalid");
}

/* A larger entry_size must be honoured as the stride. */
static void test_mmap_entry_size_large(void)
{
	b_init(&blk);
	b_mmap_esize(&blk, std_map, 6, 40);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.problems, 0);
	CHECK_EQ(mb.n_regions, 6);
	CHECK_EQ(mb.regions[4].base, 0x7fe0000);
	CHECK_EQ(mb.regions[4].len, 0x20000);
	CHECK_EQ(mb.regions[4].type, MB2_MEM_ACPI_RECLAIM);
	CHECK_EQ(mb.regions[5].base, 0xfffc0000u);
}

/* Entries running past the tag: the partial one is dropped. */
static void test_mmap_partial_entry(void)
{
	uint8_t p[8 + 24 * 3];

	memset(p, 0, sizeof(p));
	put32(p, 24);
	put64(p + 8, 0x100000);
	put64(p + 16, 0x100000);
	put32(p + 24, 1);
	put64(p + 32, 0x300000);
	put64(p + 40, 0x1000);
	put32(p + 48, 2);
	b_init(&blk);
	b_tag(&blk, MB2_TAG_MMAP, p, 8 + 24 * 2 + 10);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.n_regions, 2);
	CHECK_EQ(mb.regions[1].base, 0x300000);
	CHECK_LOGGED(LOG_WARN, "10 trailing bytes", "2 entries");
}

static void test_mmap_too_many(void)
{
	static struct ent e[200];
	unsigned i;

	for (i = 0; i < 200; i++) {
		e[i].base = (uint64_t)i << 20;
		e[i].len = 1 << 20;
		e[i].type = 1 + i % 2;
	}
	b_init(&blk);
	b_mmap(&blk, e, 200);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.n_regions, MB2_MAX_REGIONS);
	CHECK_EQ(mb.regions_dropped, 72);
	CHECK_EQ(mb.regions[127].base, 127ull << 20);
	CHECK_EQ(mb.problems, 1);
	CHECK_LOGGED(LOG_WARN, "72 entries beyond the first 128");
}

static void test_mmap_header_too_short(void)
{
	b_init(&blk);
	b_tag(&blk, MB2_TAG_MMAP, "\x18\0\0", 4);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK(!mb.has_mmap);
	CHECK_LOGGED(LOG_WARN, "memory map tag", "too short", "4 payload");
}

static void test_modules_too_many(void)
{
	char name[32];
	unsigned i;

	b_init(&blk);
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "mod%u", i);
		b_module(&blk, 0x1000000 + i * 0x1000, 0x1000000 + i * 0x1000 + 0x800, name);
	}
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.n_modules, MB2_MAX_MODULES);
	CHECK_EQ(mb.modules_dropped, 8);
	CHECK_STR(mb.modules[31].cmdline, "mod31");
	CHECK_LOGGED(LOG_WARN, "8 modules beyond the first 32");
}

static void test_module_end_before_start(void)
{
	b_init(&blk);
	b_module(&blk, 0x400000, 0x3ff000, "bad");
	b_module(&blk, 0x500000, 0x500000, "empty");
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.n_modules, 1);
	CHECK_STR(mb.modules[0].cmdline, "empty");
	CHECK_LOGGED(LOG_WARN, "end 0x3ff000 < start 0x400000");
}

static void test_module_cmdline_long(void)
{
	char s[400];

	memset(s, 'm', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	b_init(&blk);
	b_module(&blk, 0x400000, 0x401000, s);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.n_modules, 1);
	CHECK_EQ(strlen(mb.modules[0].cmdline), MB2_MODULE_CMDLINE_MAX - 1);
	CHECK_LOGGED(LOG_WARN, "module cmdline truncated from 399 to 255");
}

static void test_module_too_short(void)
{
	b_init(&blk);
	b_tag(&blk, MB2_TAG_MODULE, "\0\0\x40\0", 4);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.n_modules, 0);
	CHECK_LOGGED(LOG_WARN, "module tag", "4 payload bytes, need 8");
}

static void test_rsdp_v1_valid(void)
{
	uint8_t r[36];

	make_rsdp(r, 1, 0xe0000, 0);
	b_init(&blk);
	b_tag(&blk, MB2_TAG_ACPI_OLD, r, 20);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.problems, 0);
	CHECK_EQ(mb.rsdp_version, 1);
	CHECK_EQ(mb.rsdp_len, 20);
	CHECK_EQ(mb.rsdt_addr, 0xe0000);
	CHECK_EQ(mb.xsdt_addr, 0);
}

static void test_rsdp_v1_bad_checksum(void)
{
	uint8_t r[36];

	make_rsdp(r, 1, 0xe0000, 0);
	r[8] ^= 1;
	b_init(&blk);
	b_tag(&blk, MB2_TAG_ACPI_OLD, r, 20);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.rsdp_version, 0);
	CHECK_LOGGED(LOG_WARN, "v1 RSDP checksum");
}

static void test_rsdp_v1_short(void)
{
	uint8_t r[36];

	make_rsdp(r, 1, 0xe0000, 0);
	b_init(&blk);
	b_tag(&blk, MB2_TAG_ACPI_OLD, r, 16);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.rsdp_version, 0);
	CHECK_LOGGED(LOG_WARN, "ACPI v1 RSDP tag", "16 payload bytes, need 20");
}

static void test_rsdp_bad_signature(void)
{
	uint8_t r[36];

	make_rsdp(r, 2, 1, 2);
	r[0] = 'X';
	r[8] -= 'X' - 'R'; /* both checksums still come to zero */
	b_init(&blk);
	b_tag(&blk, MB2_TAG_ACPI_NEW, r, 36);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.rsdp_version, 0);
	CHECK_LOGGED(LOG_WARN, "v2 RSDP has a bad signature");
}

static void test_rsdp_v2_bad_ext_checksum(void)
{
	uint8_t r[36];

	make_rsdp(r, 2, 0xe0000, 0x7fe2000);
	r[32] ^= 0x40;
	b_init(&blk);
	b_tag(&blk, MB2_TAG_ACPI_NEW, r, 36);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.rsdp_version, 0);
	CHECK_LOGGED(LOG_WARN, "extended checksum over 36 bytes");
}

static void test_rsdp_v2_bad_length(void)
{
	uint8_t r[48];

	/* length field 30 < 36 */
	make_rsdp(r, 2, 1, 2);
	put32(r + 20, 30);
	b_init(&blk);
	b_tag(&blk, MB2_TAG_ACPI_NEW, r, 36);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.rsdp_version, 0);
	CHECK_LOGGED(LOG_WARN, "v2 RSDP length 30 invalid");

	/* length field 44 > the 36 bytes in the tag */
	make_rsdp(r, 2, 1, 2);
	put32(r + 20, 44);
	b_init(&blk);
	b_tag(&blk, MB2_TAG_ACPI_NEW, r, 36);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.rsdp_version, 0);
	CHECK_LOGGED(LOG_WARN, "length 44 invalid", "tag holds 36");

	/* tag shorter than a v2 RSDP */
	b_init(&blk);
	b_tag(&blk, MB2_TAG_ACPI_NEW, r, 20);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_LOGGED(LOG_WARN, "ACPI v2 RSDP tag", "20 payload bytes, need 36");
}

/* A future, longer RSDP: the extended checksum covers all of length. */
static void test_rsdp_v2_longer(void)
{
	uint8_t r[44];

	memset(r, 0, sizeof(r));
	make_rsdp(r, 2, 0x1000, 0x2000);
	put32(r + 20, 44);
	r[40] = 0x77;
	r[8] = 0;
	r[8] = (uint8_t)-sum8(r, 20);
	r[32] = 0;
	r[32] = (uint8_t)-sum8(r, 44);
	b_init(&blk);
	b_tag(&blk, MB2_TAG_ACPI_NEW, r, 44);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.problems, 0);
	CHECK_EQ(mb.rsdp_version, 2);
	CHECK_EQ(mb.rsdp_len, 44);
	CHECK_EQ(mb.rsdp[40], 0x77);
}

/* v2 wins over v1 whatever the order; an invalid v2 leaves v1 in place. */
static void test_rsdp_v2_beats_v1(void)
{
	uint8_t r1[36], r2[36];

	make_rsdp(r1, 1, 0x1111, 0);
	make_rsdp(r2, 2, 0x2222, 0x3333);
	b_init(&blk);
	b_tag(&blk, MB2_TAG_ACPI_NEW, r2, 36);
	b_tag(&blk, MB2_TAG_ACPI_OLD, r1, 20);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.rsdp_version, 2);
	CHECK_EQ(mb.rsdt_addr, 0x2222);

	r2[32] ^= 1;
	b_init(&blk);
	b_tag(&blk, MB2_TAG_ACPI_OLD, r1, 20);
	b_tag(&blk, MB2_TAG_ACPI_NEW, r2, 36);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.rsdp_version, 1);
	CHECK_EQ(mb.rsdt_addr, 0x1111);
}

static void test_duplicate_tags_first_wins(void)
{
	uint8_t p[8];

	b_init(&blk);
	b_str(&blk, MB2_TAG_CMDLINE, "first");
	b_str(&blk, MB2_TAG_CMDLINE, "second");
	put32(p, 1);
	put32(p + 4, 2);
	b_tag(&blk, MB2_TAG_BASIC_MEMINFO, p, 8);
	put32(p, 3);
	b_tag(&blk, MB2_TAG_BASIC_MEMINFO, p, 8);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_STR(mb.cmdline, "first");
	CHECK_EQ(mb.mem_lower_kib, 1);
	CHECK_EQ(mb.problems, 2);
	CHECK_LOGGED(LOG_WARN, "duplicate cmdline tag", "first one wins");
	CHECK_LOGGED(LOG_WARN, "duplicate basic meminfo tag");
}

/* An invalid first map does not block a valid second one. */
static void test_duplicate_after_invalid(void)
{
	b_init(&blk);
	b_mmap_esize(&blk, std_map, 2, 12);
	b_mmap(&blk, std_map, 6);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK(mb.has_mmap);
	CHECK_EQ(mb.n_regions, 6);
	CHECK_EQ(mb.problems, 1);
}

static void test_unknown_tag_skipped(void)
{
	uint8_t junk[13] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};

	b_init(&blk);
	b_tag(&blk, 99, junk, sizeof(junk));
	b_tag(&blk, 0xffffffffu, junk, 3);
	b_str(&blk, MB2_TAG_CMDLINE, "after");
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.problems, 0);
	CHECK_STR(mb.cmdline, "after");
	CHECK_LOGGED(LOG_DEBUG, "unknown tag type 99", "13 bytes");
	CHECK_NO_WARNINGS();
}

static void test_efi_tags(void)
{
	uint8_t p[8 + 48 * 3];

	memset(p, 0, sizeof(p));
	put32(p, 48);
	put32(p + 4, 1);
	b_init(&blk);
	b_tag(&blk, MB2_TAG_EFI_MMAP, p, sizeof(p));
	put32(p, 0xdeadb000);
	b_tag(&blk, MB2_TAG_EFI32_SYSTAB, p, 4);
	put32(p, 0x1234);
	b_tag(&blk, MB2_TAG_EFI32_IH, p, 4);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK_EQ(mb.problems, 0);
	CHECK(mb.has_efi_mmap);
	CHECK_EQ(mb.efi_mmap_desc_size, 48);
	CHECK_EQ(mb.efi_mmap_desc_version, 1);
	CHECK_EQ(mb.efi_mmap_count, 3);
	CHECK_EQ(mb.efi_mmap_phys, INFO_PHYS + 8 + 8 + 8);
	CHECK_EQ(mb.efi32_systab, 0xdeadb000u);
	CHECK_EQ(mb.efi32_ih, 0x1234);
	CHECK(!mb.efi_bs_not_terminated);
}

static void test_efi_mmap_bad_desc_size(void)
{
	uint8_t p[8 + 64];

	memset(p, 0, sizeof(p));
	put32(p, 36);
	b_init(&blk);
	b_tag(&blk, MB2_TAG_EFI_MMAP, p, sizeof(p));
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK(!mb.has_efi_mmap);
	CHECK_LOGGED(LOG_WARN, "descriptor size 36 invalid");
}

static void test_framebuffer_invalid(void)
{
	uint8_t p[32];

	memset(p, 0, sizeof(p));
	b_init(&blk);
	b_tag(&blk, MB2_TAG_FRAMEBUFFER, p, 16);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK(!mb.fb.present);
	CHECK_LOGGED(LOG_WARN, "framebuffer tag", "16 payload bytes, need 24");

	put64(p, 0xfd000000u);
	put32(p + 8, 100); /* pitch too small for 1024 x 32 bpp */
	put32(p + 12, 1024);
	put32(p + 16, 768);
	p[20] = 32;
	p[21] = MB2_FB_INDEXED;
	b_init(&blk);
	b_tag(&blk, MB2_TAG_FRAMEBUFFER, p, 24);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK(!mb.fb.present);
	CHECK_LOGGED(LOG_WARN, "pitch 100 too small");

	put64(p, UINT64_MAX - 4096);
	put32(p + 8, 4096);
	b_init(&blk);
	b_tag(&blk, MB2_TAG_FRAMEBUFFER, p, 24);
	b_end(&blk);
	b_seal(&blk);
	CHECK_EQ(parse(&blk), 0);
	CHECK(!mb.fb.present);
	CHECK_LOGGED(LOG_WARN, "framebuffer", "wraps");
}

static void test_region_type_names(void)
{
	CHECK_STR(mb2_region_type_name(1), "available");
	CHECK_STR(mb2_region_type_name(2), "reserved");
	CHECK_STR(mb2_region_type_name(3), "ACPI reclaimable");
	CHECK_STR(mb2_region_type_name(4), "ACPI NVS");
	CHECK_STR(mb2_region_type_name(5), "bad RAM");
	CHECK_STR(mb2_region_type_name(0), "unknown");
	CHECK_STR(mb2_region_type_name(0xffffffffu), "unknown");
}

static void test_dump(void)
{
	build_full(&blk);
	CHECK_EQ(parse(&blk), 0);
	logcap_reset();
	mb2_dump(&mb);
	CHECK(logcap_all_prefixed("mb2: "));
	CHECK_NO_WARNINGS();
	CHECK_LOGGED(LOG_INFO, "loader 'GRUB 2.06-13+deb12u1'");
	CHECK_LOGGED(LOG_INFO, "cmdline 'loglevel=debug console=com1'");
	CHECK_LOGGED(LOG_INFO, "0x0000000000000000-0x000000000009fc00", "639 KiB", "available");
	CHECK_LOGGED(LOG_INFO, "0x0000000000100000-0x0000000007fe0000", "126 MiB", "available");
	CHECK_LOGGED(LOG_INFO, "1 KiB reserved");
	CHECK_LOGGED(LOG_INFO, "ACPI reclaimable");
	CHECK_LOGGED(LOG_INFO, "module 0", "512 KiB", "'guest.bin role=guest'");
	CHECK_LOGGED(LOG_INFO, "module 1", "2 KiB", "'initrd'");
	CHECK_LOGGED(LOG_INFO, "RSDP v2", "RSDT 0x7fe1000", "XSDT 0x7fe2000");
	CHECK_LOGGED(LOG_INFO, "EFI64 system table 0x7f9e018");
	CHECK_LOGGED(LOG_INFO, "EFI boot services not terminated");
	CHECK_LOGGED(LOG_INFO, "framebuffer at 0xfd000000", "1024x768", "32 bpp");
	CHECK_LOGGED(LOG_INFO, "load base 0x200000");
}

/* A cheap deterministic generator so failures reproduce exactly. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* Invariants any parse result must satisfy, whatever the input. */
static bool info_sane(const struct mb2_info *m)
{
	unsigned i;

	if (m->n_regions > MB2_MAX_REGIONS || m->n_modules > MB2_MAX_MODULES)
		return false;
	if (!memchr(m->cmdline, 0, sizeof(m->cmdline)) ||
	    !memchr(m->loader_name, 0, sizeof(m->loader_name)))
		return false;
	for (i = 0; i < m->n_modules; i++) {
		if (!memchr(m->modules[i].cmdline, 0, MB2_MODULE_CMDLINE_MAX))
			return false;
		if (m->modules[i].end < m->modules[i].start)
			return false;
	}
	if (m->rsdp_version > 2 || m->rsdp_len > MB2_RSDP_MAX)
		return false;
	return m->rsdp_version == 0 || sum8(m->rsdp, m->rsdp_len) == 0;
}

static void test_fuzz_random_blocks(void)
{
	unsigned it, i;
	size_t len;
	uint8_t *p;

	for (it = 0; it < 5000; it++) {
		len = rnd() % 512;
		p = malloc(len ? len : 1);
		for (i = 0; i < len; i++)
			p[i] = (uint8_t)rnd();
		/* Often give it a plausible header so the walker runs. */
		if (len >= 8 && it % 4 != 0) {
			uint32_t ts = (uint32_t)(it % 8 ? len : rnd() % (len + 64));

			memcpy(p, &ts, 4);
		}
		/* Small tag types and sizes reach the handlers. */
		for (i = 8; i + 8 <= len && it % 2; i += 8 * (1 + rnd() % 4)) {
			uint32_t ty = rnd() % 24, sz = rnd() % 96;

			memcpy(p + i, &ty, 4);
			memcpy(p + i + 4, &sz, 4);
		}
		logcap_reset();
		(void)mb2_parse(p, len, INFO_PHYS, &mb);
		free(p);
		CHECK(info_sane(&mb));
	}
}

static void test_fuzz_mutated_blocks(void)
{
	unsigned it, k, nmut;
	uint8_t *p;
	size_t len;
	int rc;

	build_full(&blk);
	for (it = 0; it < 5000; it++) {
		/* Sometimes cut the block short, keeping total_size. */
		len = it % 5 == 0 ? rnd() % (blk.len + 1) : blk.len;
		p = malloc(len ? len : 1);
		memcpy(p, blk.buf, len);
		nmut = 1 + rnd() % 8;
		for (k = 0; k < nmut && len; k++) {
			size_t at = rnd() % len;

			switch (rnd() % 4) {
			case 0:
				p[at] = (uint8_t)rnd();
				break;
			case 1:
				p[at] ^= (uint8_t)(1u << (rnd() % 8));
				break;
			case 2: { /* an aligned, size-like word */
				uint32_t v = rnd() % 4 ? rnd() % 64 : rnd();
				size_t a = at & ~(size_t)3;

				if (a + 4 <= len)
					memcpy(p + a, &v, 4);
				break;
			}
			default:
				p[at] = 0;
				break;
			}
		}
		logcap_reset();
		rc = mb2_parse(p, len, INFO_PHYS, &mb);
		free(p);
		CHECK(rc == 0 || rc < 0);
		CHECK(info_sane(&mb));
		if (rc == 0)
			CHECK(mb.total_size <= len);
		mb2_dump(&mb);
	}
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_magic),
    TEST_ENTRY(test_full_block),
    TEST_ENTRY(test_minimal_block),
    TEST_ENTRY(test_null_and_tiny),
    TEST_ENTRY(test_total_size_too_small),
    TEST_ENTRY(test_total_size_past_buffer),
    TEST_ENTRY(test_phys_wrap),
    TEST_ENTRY(test_unaligned_block),
    TEST_ENTRY(test_unaligned_phys_warns),
    TEST_ENTRY(test_tag_past_total),
    TEST_ENTRY(test_truncated_tag_header),
    TEST_ENTRY(test_tag_size_below_header),
    TEST_ENTRY(test_zero_length_tag),
    TEST_ENTRY(test_empty_payload_tags),
    TEST_ENTRY(test_missing_end_tag),
    TEST_ENTRY(test_end_tag_bad_size),
    TEST_ENTRY(test_data_after_end_ignored),
    TEST_ENTRY(test_cmdline_without_nul),
    TEST_ENTRY(test_cmdline_too_long),
    TEST_ENTRY(test_cmdline_exact_fit),
    TEST_ENTRY(test_loader_name_too_long),
    TEST_ENTRY(test_control_chars_replaced),
    TEST_ENTRY(test_mmap_entry_size_small),
    TEST_ENTRY(test_mmap_entry_size_odd),
    TEST_ENTRY(test_mmap_entry_size_large),
    TEST_ENTRY(test_mmap_partial_entry),
    TEST_ENTRY(test_mmap_too_many),
    TEST_ENTRY(test_mmap_header_too_short),
    TEST_ENTRY(test_modules_too_many),
    TEST_ENTRY(test_module_end_before_start),
    TEST_ENTRY(test_module_cmdline_long),
    TEST_ENTRY(test_module_too_short),
    TEST_ENTRY(test_rsdp_v1_valid),
    TEST_ENTRY(test_rsdp_v1_bad_checksum),
    TEST_ENTRY(test_rsdp_v1_short),
    TEST_ENTRY(test_rsdp_bad_signature),
    TEST_ENTRY(test_rsdp_v2_bad_ext_checksum),
    TEST_ENTRY(test_rsdp_v2_bad_length),
    TEST_ENTRY(test_rsdp_v2_longer),
    TEST_ENTRY(test_rsdp_v2_beats_v1),
    TEST_ENTRY(test_duplicate_tags_first_wins),
    TEST_ENTRY(test_duplicate_after_invalid),
    TEST_ENTRY(test_unknown_tag_skipped),
    TEST_ENTRY(test_efi_tags),
    TEST_ENTRY(test_efi_mmap_bad_desc_size),
    TEST_ENTRY(test_framebuffer_invalid),
    TEST_ENTRY(test_region_type_names),
    TEST_ENTRY(test_dump),
    TEST_ENTRY(test_fuzz_random_blocks),
    TEST_ENTRY(test_fuzz_mutated_blocks),
};

CHECK_MAIN(tests)
