// SPDX-License-Identifier: MIT
/*
 * Unit tests of the guest page-table walk (hv/x86emu/guest_walk.c).
 *
 * Guest-physical memory is a 4 MiB buffer; anything above it is "not RAM"
 * (read_phys fails). Tables are written entry by entry with hand-computed
 * indexes, so each expectation is independent of the walker.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/x86emu/guest_walk.h"
#include "tests/unit/check.h"

#define MEM_SIZE (4u << 20)

#define CR0_PE	 (1ull << 0)
#define CR0_WP	 (1ull << 16)
#define CR0_PG	 (1ull << 31)
#define CR4_PSE	 (1ull << 4)
#define CR4_PAE	 (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define CR4_PKE	 (1ull << 22)
#define CR4_PKS	 (1ull << 24)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define P  0x1ull
#define RW 0x2ull
#define US 0x4ull
#define PS 0x80ull
#define XD (1ull << 63)

struct fake_mem {
	uint8_t *bytes;
	unsigned reads;
	/* PKRU and IA32_PKRS, and how many times the walk read each. */
	uint32_t pkru, pkrs;
	unsigned pkru_reads, pkrs_reads;
};

static struct fake_mem fm;

static int read_phys(void *opaque, uint64_t gpa, void *buf, size_t len)
{
	struct fake_mem *m = opaque;

	m->reads++;
	if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa)
		return -1;
	memcpy(buf, m->bytes + gpa, len);
	return 0;
}

static uint32_t read_pkru(void *opaque)
{
	struct fake_mem *m = opaque;

	m->pkru_reads++;
	return m->pkru;
}

static uint32_t read_pkrs(void *opaque)
{
	struct fake_mem *m = opaque;

	m->pkrs_reads++;
	return m->pkrs;
}

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(fm.bytes + gpa, &v, 8);
}

static void put32(uint64_t gpa, uint32_t v)
{
	memcpy(fm.bytes + gpa, &v, 4);
}

/* Fresh zeroed memory and a context in the given mode. */
static struct guest_walk_ctx setup(uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer)
{
	struct guest_walk_ctx c;

	if (!fm.bytes)
		fm.bytes = malloc(MEM_SIZE);
	memset(fm.bytes, 0, MEM_SIZE);
	fm.reads = 0;
	fm.pkru = fm.pkrs = 0;
	fm.pkru_reads = fm.pkrs_reads = 0;
	memset(&c, 0, sizeof(c));
	c.cr0 = cr0;
	c.cr3 = cr3;
	c.cr4 = cr4;
	c.efer = efer;
	c.read_phys = read_phys;
	c.opaque = &fm;
	return c;
}

#define LONG_CR0  (CR0_PE | CR0_PG)
#define LONG_EFER (EFER_LME | EFER_LMA)

/*
 * 4-level tables for LA_4K = 0x0000008080604567: PML4 index 1, PDPT
 * index 2, PD index 3, PT index 4, offset 0x567. PML4 at 0x1000, PDPT at
 * 0x2000, PD at 0x3000, PT at 0x4000, data frame 0x9000.
 */
#define LA_4K 0x0000008080604567ull
static void map_long_4k(uint64_t pml4e, uint64_t pdpte, uint64_t pde, uint64_t pte)
{
	put64(0x1000 + 1 * 8, pml4e);
	put64(0x2000 + 2 * 8, pdpte);
	put64(0x3000 + 3 * 8, pde);
	put64(0x4000 + 4 * 8, pte);
}

static void map_long_default(void)
{
	map_long_4k(0x2000 | P | RW | US, 0x3000 | P | RW | US, 0x4000 | P | RW | US,
		    0x9000 | P | RW | US);
}

static void test_mode_select(void)
{
	struct guest_walk_ctx c = setup(0, 0, 0, 0);

	CHECK_EQ(guest_paging_mode(&c), GUEST_PAGING_NONE);
	c.cr0 = CR0_PE | CR0_PG;
	CHECK_EQ(guest_paging_mode(&c), GUEST_PAGING_32);
	c.cr4 = CR4_PAE;
	CHECK_EQ(guest_paging_mode(&c), GUEST_PAGING_PAE);
	c.efer = LONG_EFER;
	CHECK_EQ(guest_paging_mode(&c), GUEST_PAGING_4LEVEL);
	c.cr4 |= CR4_LA57;
	CHECK_EQ(guest_paging_mode(&c), GUEST_PAGING_5LEVEL);
	c.cr4 = 0;
	CHECK_EQ(guest_paging_mode(&c), GUEST_PAGING_BAD);
	c.cr0 = CR0_PE;
	CHECK_EQ(guest_paging_mode(&c), GUEST_PAGING_BAD);
}

static void test_bad_state(void)
{
	struct guest_walk_ctx c = setup(LONG_CR0, 0x1000, 0, LONG_EFER);
	struct guest_walk_result r;

	CHECK_EQ(guest_walk(&c, 0x1000, WALK_READ, &r), WALK_BAD_STATE);
	CHECK_EQ(r.status, WALK_BAD_STATE);
	CHECK_EQ(fm.reads, 0);
}

static void test_paging_off(void)
{
	struct guest_walk_ctx c = setup(CR0_PE, 0xdead000, 0, 0);
	struct guest_walk_result r;
	uint8_t buf[4];

	CHECK_EQ(guest_walk(&c, 0x12345678, WALK_WRITE | WALK_USER, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x12345678);
	CHECK_EQ(r.level, 0);
	/* Linear addresses are 32 bits wide. */
	CHECK_EQ(guest_walk(&c, 0x100001000ull, WALK_READ, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x1000);
	CHECK_EQ(fm.reads, 0);

	memcpy(fm.bytes + 0x7ffe, "\x11\x22\x33\x44", 4);
	CHECK_EQ(guest_read_linear(&c, 0x7ffe, buf, 4, WALK_FETCH), 4);
	CHECK(memcmp(buf, "\x11\x22\x33\x44", 4) == 0);
	/* Running off the end of RAM: the bytes before it, then unbacked. */
	memcpy(fm.bytes + MEM_SIZE - 2, "\x55\x66", 2);
	CHECK_EQ(guest_read_linear_res(&c, MEM_SIZE - 2, buf, 4, WALK_FETCH, &r), 2);
	CHECK_EQ(r.status, WALK_UNBACKED);
	CHECK_EQ(r.gpa, MEM_SIZE);
	CHECK(memcmp(buf, "\x55\x66", 2) == 0);
}

/* ---- 32-bit paging ------------------------------------------------------ */

/*
 * LA 0x00c05678: PD index 3, PT index 5. PD at 0x1000, PT at 0x2000,
 * frame 0x7000.
 */
static void test_32bit_4k(void)
{
	struct guest_walk_ctx c = setup(CR0_PE | CR0_PG, 0x1000, 0, 0);
	struct guest_walk_result r;

	put32(0x1000 + 3 * 4, 0x2000 | P | RW | US);
	put32(0x2000 + 5 * 4, 0x7000 | P | RW | US);
	CHECK_EQ(guest_walk(&c, 0x00c05678, WALK_WRITE | WALK_USER, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x7678);
	CHECK_EQ(r.page_size, 0x1000);
	CHECK_EQ(r.level, 1);
	/* Upper linear bits are dropped; CR3's low 12 bits are not an address. */
	c.cr3 = 0x1fff;
	CHECK_EQ(guest_walk(&c, 0xab00c05678ull, WALK_READ, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x7678);

	/* Not present: PTE, then PDE. */
	put32(0x2000 + 5 * 4, 0x7000 | RW | US);
	CHECK_EQ(guest_walk(&c, 0x00c05678, WALK_WRITE, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_W);
	CHECK_EQ(r.la, 0x00c05678);
	CHECK_EQ(r.level, 1);
	put32(0x1000 + 3 * 4, 0);
	CHECK_EQ(guest_walk(&c, 0x00c05678, WALK_USER, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_U);
	CHECK_EQ(r.level, 2);
}

static void test_32bit_rights(void)
{
	struct guest_walk_ctx c = setup(CR0_PE | CR0_PG, 0x1000, 0, 0);
	struct guest_walk_result r;

	/* Read-only at the PTE, user at both levels. */
	put32(0x1000 + 3 * 4, 0x2000 | P | RW | US);
	put32(0x2000 + 5 * 4, 0x7000 | P | US);
	CHECK_EQ(guest_walk(&c, 0x00c05678, WALK_WRITE | WALK_USER, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_W | PF_ERR_U);
	/* Supervisor write: allowed unless CR0.WP. */
	CHECK_EQ(guest_walk(&c, 0x00c05678, WALK_WRITE, &r), WALK_OK);
	c.cr0 |= CR0_WP;
	CHECK_EQ(guest_walk(&c, 0x00c05678, WALK_WRITE, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_W);

	/* Supervisor at the PDE only: a user read faults. */
	put32(0x1000 + 3 * 4, 0x2000 | P | RW);
	put32(0x2000 + 5 * 4, 0x7000 | P | RW | US);
	CHECK_EQ(guest_walk(&c, 0x00c05678, WALK_USER, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_U);
	/* A user fetch too; no NX in 32-bit paging: I/D only with SMEP. */
	c.efer = EFER_NXE;
	CHECK_EQ(guest_walk(&c, 0x00c05678, WALK_FETCH | WALK_USER, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_U);
	c.cr4 = CR4_SMEP;
	CHECK_EQ(guest_walk(&c, 0x00c05678, WALK_FETCH | WALK_USER, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_U | PF_ERR_ID);
	/* Bit 63 does not exist in a 4-byte entry: a supervisor fetch works. */
	CHECK_EQ(guest_walk(&c, 0x00c05678, WALK_FETCH, &r), WALK_OK);
}

/* LA 0x01400abc: PD index 5, 4 MiB page. */
static void test_32bit_4m(void)
{
	struct guest_walk_ctx c = setup(CR0_PE | CR0_PG, 0x1000, CR4_PSE, 0);
	struct guest_walk_result r;

	put32(0x1000 + 5 * 4, 0x00800000 | PS | P | RW);
	CHECK_EQ(guest_walk(&c, 0x01400abc, WALK_READ, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x00800abc);
	CHECK_EQ(r.page_size, 4u << 20);
	CHECK_EQ(r.level, 2);

	/* Without CR4.PSE the PS bit is ignored: 0x800000 is a page table,
	 * outside RAM, PT index 0. */
	c.cr4 = 0;
	CHECK_EQ(guest_walk(&c, 0x01400abc, WALK_READ, &r), WALK_UNBACKED);
	CHECK_EQ(r.gpa, 0x00800000);

	/* PSE-36: bits 16:13 give physical bits 35:32 (MAXPHYADDR 36). */
	c.cr4 = CR4_PSE;
	c.maxphyaddr = 36;
	put32(0x1000 + 5 * 4, 0x00800000 | (0x5u << 13) | PS | P);
	CHECK_EQ(guest_walk(&c, 0x01400abc, WALK_READ, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x500800abcull);
	/* Bit 17 is reserved with MAXPHYADDR 36 ... */
	put32(0x1000 + 5 * 4, 0x00800000 | (1u << 17) | PS | P);
	CHECK_EQ(guest_walk(&c, 0x01400abc, WALK_READ, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_RSVD);
	CHECK_EQ(r.level, 2);
	/* ... and physical bit 36 with 40 (which is also the PSE-36 limit). */
	c.maxphyaddr = 46;
	CHECK_EQ(guest_walk(&c, 0x01400abc, WALK_READ, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x1000800abcull);
	/* Bit 21 is always reserved. */
	put32(0x1000 + 5 * 4, 0x00800000 | (1u << 21) | PS | P);
	CHECK_EQ(guest_walk(&c, 0x01400abc, WALK_WRITE | WALK_USER, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_RSVD | PF_ERR_W | PF_ERR_U);
}

/* Outside IA-32e mode linear addresses wrap at 4 GiB. */
static void test_32bit_wrap_read(void)
{
	struct guest_walk_ctx c = setup(CR0_PE | CR0_PG, 0x1000, 0, 0);
	struct guest_walk_result r;
	uint8_t buf[4];

	/* 0xfffff000: PD 0x3ff, PT 0x3ff -> 0xa000; 0: PD 0, PT 0 -> 0xb000. */
	put32(0x1000 + 0x3ff * 4, 0x2000 | P);
	put32(0x2000 + 0x3ff * 4, 0xa000 | P);
	put32(0x1000, 0x3000 | P);
	put32(0x3000, 0xb000 | P);
	memcpy(fm.bytes + 0xaffe, "\xa1\xa2", 2);
	memcpy(fm.bytes + 0xb000, "\xb1\xb2", 2);
	CHECK_EQ(guest_read_linear_res(&c, 0xfffffffe, buf, 4, WALK_FETCH, &r), 4);
	CHECK(memcmp(buf, "\xa1\xa2\xb1\xb2", 4) == 0);
	CHECK_EQ(r.status, WALK_OK);
	CHECK_EQ(r.gpa, 0xaffe);
}

/* ---- PAE paging --------------------------------------------------------- */

/*
 * LA 0xc0605678: PDPTE 3, PD index 3, PT index 5. PDPT at CR3 = 0x1000,
 * PD at 0x2000, PT at 0x3000, frame 0x8000.
 */
#define PAE_CR0 (CR0_PE | CR0_PG)
static void map_pae(uint64_t pdpt, uint64_t pdpte, uint64_t pde, uint64_t pte)
{
	put64(pdpt + 3 * 8, pdpte);
	put64(0x2000 + 3 * 8, pde);
	put64(0x3000 + 5 * 8, pte);
}

static void test_pae_4k_2m(void)
{
	struct guest_walk_ctx c = setup(PAE_CR0, 0x1000, CR4_PAE, 0);
	struct guest_walk_result r;

	map_pae(0x1000, 0x2000 | P, 0x3000 | P | RW | US, 0x8000 | P | RW | US);
	CHECK_EQ(guest_walk(&c, 0xc0605678, WALK_WRITE | WALK_USER, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x8678);
	CHECK_EQ(r.level, 1);

	/* The PDPT is 32-byte aligned: CR3[31:5]. */
	c.cr3 = 0x1020;
	CHECK_EQ(guest_walk(&c, 0xc0605678, WALK_READ, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, 0);
	CHECK_EQ(r.level, 3);
	put64(0x1020 + 3 * 8, 0x2000 | P);
	CHECK_EQ(guest_walk(&c, 0xc0605678, WALK_READ, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x8678);

	/* 2 MiB page: LA 0xc0805678 is PD index 4; PS always works in PAE. */
	put64(0x2000 + 4 * 8, 0x00400000 | PS | P | RW);
	CHECK_EQ(guest_walk(&c, 0xc0805678, WALK_WRITE, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x00405678);
	CHECK_EQ(r.page_size, 2u << 20);
	CHECK_EQ(r.level, 2);
	/* Bits 20:13 of a 2 MiB PDE are reserved (bit 12 is PAT). */
	put64(0x2000 + 4 * 8, 0x00400000 | (1u << 12) | PS | P | RW);
	CHECK_EQ(guest_walk(&c, 0xc0805678, WALK_WRITE, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x00405678);
	put64(0x2000 + 4 * 8, 0x00400000 | (1u << 13) | PS | P | RW);
	CHECK_EQ(guest_walk(&c, 0xc0805678, WALK_WRITE, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_W | PF_ERR_RSVD);
}

static void test_pae_faults(void)
{
	struct guest_walk_ctx c = setup(PAE_CR0, 0x1000, CR4_PAE, 0);
	struct guest_walk_result r;

	/* PDPTE reserved bits 2:1 (no R/W or U/S there). */
	map_pae(0x1000, 0x2000 | P | RW, 0x3000 | P | RW | US, 0x8000 | P | RW | US);
	CHECK_EQ(guest_walk(&c, 0xc0605678, WALK_READ, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_RSVD);
	CHECK_EQ(r.level, 3);

	/* XD without EFER.NXE is a reserved bit ... */
	map_pae(0x1000, 0x2000 | P, 0x3000 | P | RW | US, XD | 0x8000 | P | RW | US);
	CHECK_EQ(guest_walk(&c, 0xc0605678, WALK_READ, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_RSVD);
	CHECK_EQ(r.level, 1);
	/* ... with it, a fetch faults (I/D set) and a read works. */
	c.efer = EFER_NXE;
	CHECK_EQ(guest_walk(&c, 0xc0605678, WALK_FETCH, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_ID);
	CHECK_EQ(guest_walk(&c, 0xc0605678, WALK_READ, &r), WALK_OK);

	/* Bits 62:M are reserved in PAE entries (unlike 4-level paging). */
	map_pae(0x1000, 0x2000 | P, 0x3000 | P | RW | US, (1ull << 55) | 0x8000 | P | RW | US);
	CHECK_EQ(guest_walk(&c, 0xc0605678, WALK_READ, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_RSVD);
	/* Physical bit 40: reserved with MAXPHYADDR 36, fine with 52. */
	map_pae(0x1000, 0x2000 | P, 0x3000 | P | RW | US, (1ull << 40) | 0x8000 | P | RW | US);
	CHECK_EQ(guest_walk(&c, 0xc0605678, WALK_READ, &r), WALK_OK);
	CHECK_EQ(r.gpa, (1ull << 40) | 0x8678);
	c.maxphyaddr = 36;
	CHECK_EQ(guest_walk(&c, 0xc0605678, WALK_READ, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_RSVD);

	/* A not-present fetch: I/D since PAE paging with NXE ... */
	c.maxphyaddr = 0;
	map_pae(0x1000, 0x2000 | P, 0, 0);
	CHECK_EQ(guest_walk(&c, 0xc0605678, WALK_FETCH, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_ID);
	CHECK_EQ(r.level, 2);
	/* ... not without NXE or SMEP. */
	c.efer = 0;
	CHECK_EQ(guest_walk(&c, 0xc0605678, WALK_FETCH, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, 0);
}

/* With EPT the CPU uses the PDPTE registers, not memory at CR3. */
static void test_pae_pdpte_registers(void)
{
	struct guest_walk_ctx c = setup(PAE_CR0, 0x1000, CR4_PAE, 0);
	struct guest_walk_result r;
	uint64_t regs[4] = {0, 0, 0, 0x2000 | P};
	unsigned reads;

	map_pae(0x1000, 0, 0x3000 | P | RW | US, 0x8000 | P | RW | US);
	CHECK_EQ(guest_walk(&c, 0xc0605678, WALK_READ, &r), WALK_PAGE_FAULT);
	c.pdptes = regs;
	reads = fm.reads;
	CHECK_EQ(guest_walk(&c, 0xc0605678, WALK_READ, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x8678);
	CHECK_EQ(fm.reads - reads, 2); /* PDE and PTE only */
	regs[3] = 0;
	put64(0x1000 + 3 * 8, 0x2000 | P);
	CHECK_EQ(guest_walk(&c, 0xc0605678, WALK_READ, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.level, 3);
}

/* ---- 4-level and 5-level paging ----------------------------------------- */

static void test_long_4k(void)
{
	struct guest_walk_ctx c = setup(LONG_CR0, 0x1000, CR4_PAE, LONG_EFER);
	struct guest_walk_result r;

	map_long_default();
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_WRITE | WALK_USER, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x9567);
	CHECK_EQ(r.page_size, 0x1000);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(r.la, LA_4K);
	/* CR3 bits 11:0 (PCID or PWT/PCD) are not part of the address. */
	c.cr3 = 0x1fff;
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_READ, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x9567);
	/* Bits 62:52 of an entry are ignored in 4-level paging. */
	put64(0x4000 + 4 * 8, (0x7ffull << 52) | 0x9000 | P | RW | US);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_READ, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x9567);
}

static void test_long_large_pages(void)
{
	struct guest_walk_ctx c = setup(LONG_CR0, 0x1000, CR4_PAE, LONG_EFER);
	struct guest_walk_result r;

	map_long_default();
	/* 2 MiB: LA 0x8080a12345 is PD index 5 (offset 0x012345). */
	put64(0x3000 + 5 * 8, 0x40000000 | PS | P | RW | US);
	CHECK_EQ(guest_walk(&c, 0x8080a12345ull, WALK_READ, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x40012345);
	CHECK_EQ(r.page_size, 2u << 20);
	CHECK_EQ(r.level, 2);
	/* 1 GiB: LA 0x80c1234567 is PDPT index 3 (offset 0x01234567). */
	put64(0x2000 + 3 * 8, 0x140000000ull | PS | P | RW | US);
	CHECK_EQ(guest_walk(&c, 0x80c1234567ull, WALK_WRITE, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x141234567ull);
	CHECK_EQ(r.page_size, 1u << 30);
	CHECK_EQ(r.level, 3);
	/* PAT (bit 12) is fine in a 1 GiB entry; bits 29:13 are reserved. */
	put64(0x2000 + 3 * 8, 0x140000000ull | (1u << 12) | PS | P | RW | US);
	CHECK_EQ(guest_walk(&c, 0x80c1234567ull, WALK_READ, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x141234567ull);
	put64(0x2000 + 3 * 8, 0x140000000ull | (1u << 29) | PS | P | RW | US);
	CHECK_EQ(guest_walk(&c, 0x80c1234567ull, WALK_READ, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_RSVD);
	CHECK_EQ(r.level, 3);
	/* Bit 20 of a 2 MiB entry is reserved. */
	put64(0x3000 + 5 * 8, 0x40000000 | (1u << 20) | PS | P | RW | US);
	CHECK_EQ(guest_walk(&c, 0x8080a12345ull, WALK_READ, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_RSVD);
	CHECK_EQ(r.level, 2);
	/* PS in a PML4E is reserved. */
	put64(0x1000 + 1 * 8, 0x2000 | PS | P | RW | US);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_READ, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_RSVD);
	CHECK_EQ(r.level, 4);
}

static void test_long_not_present(void)
{
	struct guest_walk_ctx c = setup(LONG_CR0, 0x1000, CR4_PAE, LONG_EFER | EFER_NXE);
	struct guest_walk_result r;

	map_long_default();
	put64(0x4000 + 4 * 8, 0x9000 | RW | US);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_FETCH, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_ID);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(r.la, LA_4K);
	put64(0x3000 + 3 * 8, 0);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_USER, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_U);
	CHECK_EQ(r.level, 2);
	put64(0x2000 + 2 * 8, 0x3000 | RW | US);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_WRITE, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_W);
	CHECK_EQ(r.level, 3);
	put64(0x1000 + 1 * 8, 0);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_WRITE | WALK_USER, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_W | PF_ERR_U);
	CHECK_EQ(r.level, 4);
	CHECK_EQ(r.gpa, 0);
}

static void test_long_reserved(void)
{
	struct guest_walk_ctx c = setup(LONG_CR0, 0x1000, CR4_PAE, LONG_EFER);
	struct guest_walk_result r;

	map_long_default();
	c.maxphyaddr = 46;
	/* Address bit 46 in the PD pointer (a PDPTE): reserved at level 3. */
	put64(0x2000 + 2 * 8, (1ull << 46) | 0x3000 | P | RW | US);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_READ, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_RSVD);
	CHECK_EQ(r.level, 3);
	/* ... not with MAXPHYADDR 52: then the PD is at 2^46 + 0x3000, not RAM. */
	c.maxphyaddr = 52;
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_READ, &r), WALK_UNBACKED);
	CHECK_EQ(r.gpa, (1ull << 46) + 0x3000 + 3 * 8);
	/* Reserved beats a not-present entry further down. */
	c.maxphyaddr = 46;
	put64(0x2000 + 2 * 8, 0x3000 | P | RW | US);
	put64(0x3000 + 3 * 8, (1ull << 51) | 0x4000 | P | RW | US);
	put64(0x4000 + 4 * 8, 0);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_USER | WALK_WRITE, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_RSVD | PF_ERR_U | PF_ERR_W);
	CHECK_EQ(r.level, 2);
	/* XD without NXE is reserved at any level. */
	map_long_default();
	put64(0x1000 + 1 * 8, XD | 0x2000 | P | RW | US);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_READ, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_RSVD);
	CHECK_EQ(r.level, 4);
}

static void test_long_rights(void)
{
	struct guest_walk_ctx c = setup(LONG_CR0, 0x1000, CR4_PAE, LONG_EFER);
	struct guest_walk_result r;

	/* Read-only at the PDPT level only. */
	map_long_4k(0x2000 | P | RW | US, 0x3000 | P | US, 0x4000 | P | RW | US,
		    0x9000 | P | RW | US);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_READ | WALK_USER, &r), WALK_OK);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_WRITE | WALK_USER, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_W | PF_ERR_U);
	CHECK_EQ(r.la, LA_4K);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_WRITE, &r), WALK_OK);
	c.cr0 |= CR0_WP;
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_WRITE, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_W);

	/* Supervisor at the PTE only. */
	map_long_4k(0x2000 | P | RW | US, 0x3000 | P | RW | US, 0x4000 | P | RW | US,
		    0x9000 | P | RW);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_USER, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_U);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_WRITE, &r), WALK_OK);

	/* The upper half: PML4 index 256, supervisor; PDPT etc. shared. */
	map_long_default();
	put64(0x1000 + 256 * 8, 0x2000 | P | RW);
	CHECK_EQ(guest_walk(&c, 0xffff800080604567ull, WALK_READ, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x9567);
	CHECK_EQ(guest_walk(&c, 0xffff800080604567ull, WALK_USER, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_U);
	CHECK_EQ(r.la, 0xffff800080604567ull);
}

static void test_long_nx_smep_smap(void)
{
	struct guest_walk_ctx c = setup(LONG_CR0, 0x1000, CR4_PAE, LONG_EFER | EFER_NXE);
	struct guest_walk_result r;

	/* XD at the PD level. */
	map_long_4k(0x2000 | P | RW | US, 0x3000 | P | RW | US, XD | 0x4000 | P | RW | US,
		    0x9000 | P | RW | US);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_READ, &r), WALK_OK);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_FETCH, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_ID);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_FETCH | WALK_USER, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_ID | PF_ERR_U);

	/* SMEP: supervisor fetch from a user page. */
	map_long_default();
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_FETCH, &r), WALK_OK);
	c.cr4 |= CR4_SMEP;
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_FETCH, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_ID);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_FETCH | WALK_USER, &r), WALK_OK);
	/* SMEP leaves data accesses alone. */
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_READ, &r), WALK_OK);

	/* SMAP: supervisor data access to a user page, unless AC = 1. */
	c.cr4 = CR4_PAE | CR4_SMAP;
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_READ, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_WRITE, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_W);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_READ | WALK_AC, &r), WALK_OK);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_READ | WALK_USER, &r), WALK_OK);
	/* ... and not fetches. */
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_FETCH, &r), WALK_OK);
}

static void test_long_canonical(void)
{
	struct guest_walk_ctx c = setup(LONG_CR0, 0x1000, CR4_PAE, LONG_EFER);
	struct guest_walk_result r;

	CHECK_EQ(guest_walk(&c, 0x0000800000000000ull, WALK_READ, &r), WALK_NONCANONICAL);
	CHECK_EQ(r.la, 0x0000800000000000ull);
	CHECK_EQ(guest_walk(&c, 0xffff7fffffffffffull, WALK_READ, &r), WALK_NONCANONICAL);
	CHECK_EQ(guest_walk(&c, 0x0001008080604567ull, WALK_READ, &r), WALK_NONCANONICAL);
	CHECK_EQ(fm.reads, 0);
	/* Canonical but unmapped: a #PF, not #GP. */
	CHECK_EQ(guest_walk(&c, 0xffff800000000000ull, WALK_READ, &r), WALK_PAGE_FAULT);
}

/* 5-level: PML5 at 0x5000, index 1 (LA bit 48) -> the 4-level tables. */
static void test_5level(void)
{
	struct guest_walk_ctx c = setup(LONG_CR0, 0x5000, CR4_PAE | CR4_LA57, LONG_EFER);
	struct guest_walk_result r;

	map_long_default();
	put64(0x5000 + 1 * 8, 0x1000 | P | RW | US);
	CHECK_EQ(guest_walk(&c, 0x0001008080604567ull, WALK_WRITE | WALK_USER, &r), WALK_OK);
	CHECK_EQ(r.gpa, 0x9567);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_READ, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.level, 5);
	CHECK_EQ(r.error_code, 0);
	/* Canonical means bits 63:56 equal bit 56 now. */
	CHECK_EQ(guest_walk(&c, 0x0100000000000000ull, WALK_READ, &r), WALK_NONCANONICAL);
	CHECK_EQ(guest_walk(&c, 0xff00000000000000ull, WALK_READ, &r), WALK_PAGE_FAULT);
	/* User bit clear at level 5 only. */
	put64(0x5000 + 1 * 8, 0x1000 | P | RW);
	CHECK_EQ(guest_walk(&c, 0x0001008080604567ull, WALK_USER, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_U);
	/* PS in a PML5E is reserved. */
	put64(0x5000 + 1 * 8, 0x1000 | PS | P | RW);
	CHECK_EQ(guest_walk(&c, 0x0001008080604567ull, WALK_READ, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_RSVD);
	CHECK_EQ(r.level, 5);
}

static void test_unbacked_tables(void)
{
	struct guest_walk_ctx c = setup(LONG_CR0, 0x1000, CR4_PAE, LONG_EFER);
	struct guest_walk_result r;

	map_long_default();
	/* The PD pointer leads outside RAM. */
	put64(0x2000 + 2 * 8, 0x7ff00000 | P | RW | US);
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_READ, &r), WALK_UNBACKED);
	CHECK_EQ(r.status, WALK_UNBACKED);
	CHECK_EQ(r.gpa, 0x7ff00000 + 3 * 8);
	CHECK_EQ(r.level, 2);
	/* So does CR3. */
	c.cr3 = 0x80000000;
	CHECK_EQ(guest_walk(&c, LA_4K, WALK_READ, &r), WALK_UNBACKED);
	CHECK_EQ(r.gpa, 0x80000000 + 1 * 8);
	CHECK_EQ(r.level, 4);
	/* And a PAE PDPT. */
	c = setup(PAE_CR0, 0x7fffffe0, CR4_PAE, 0);
	CHECK_EQ(guest_walk(&c, 0xc0605678, WALK_READ, &r), WALK_UNBACKED);
	CHECK_EQ(r.gpa, 0x7fffffe0 + 3 * 8);
}

/* An 8-byte read straddling two pages mapped to non-contiguous frames. */
static void test_read_straddle(void)
{
	struct guest_walk_ctx c = setup(LONG_CR0, 0x1000, CR4_PAE, LONG_EFER | EFER_NXE);
	struct guest_walk_result r;
	const uint64_t page = LA_4K & ~0xfffull; /* PT index 4 */
	uint8_t buf[8];

	map_long_default();
	put64(0x4000 + 5 * 8, 0x6000 | P | RW | US); /* next page: lower frame */
	memcpy(fm.bytes + 0x9ffc, "\x01\x02\x03\x04", 4);
	memcpy(fm.bytes + 0x6000, "\x05\x06\x07\x08", 4);
	memcpy(fm.bytes + 0xa000, "\xee\xee\xee\xee", 4); /* contiguous: wrong */

	memset(buf, 0, sizeof(buf));
	CHECK_EQ(guest_read_linear_res(&c, page + 0xffc, buf, 8, WALK_FETCH, &r), 8);
	CHECK(memcmp(buf, "\x01\x02\x03\x04\x05\x06\x07\x08", 8) == 0);
	CHECK_EQ(r.status, WALK_OK);
	CHECK_EQ(r.gpa, 0x9ffc);
	CHECK_EQ(r.la, page + 0xffc);
	CHECK_EQ(guest_read_linear(&c, page + 0xffc, buf, 8, WALK_FETCH), 8);

	/* Second page not present: 4 bytes, #PF at the start of that page. */
	put64(0x4000 + 5 * 8, 0x6000 | RW | US);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(guest_read_linear_res(&c, page + 0xffc, buf, 8, WALK_FETCH, &r), 4);
	CHECK(memcmp(buf, "\x01\x02\x03\x04\0\0\0\0", 8) == 0);
	CHECK_EQ(r.status, WALK_PAGE_FAULT);
	CHECK_EQ(r.la, page + 0x1000);
	CHECK_EQ(r.error_code, PF_ERR_ID);
	CHECK_EQ(guest_read_linear(&c, page + 0xffc, buf, 8, WALK_FETCH), 4);

	/* Second page's frame not RAM. */
	put64(0x4000 + 5 * 8, 0x7ff000000ull | P | RW | US);
	CHECK_EQ(guest_read_linear_res(&c, page + 0xffc, buf, 8, WALK_FETCH, &r), 4);
	CHECK_EQ(r.status, WALK_UNBACKED);
	CHECK_EQ(r.gpa, 0x7ff000000ull);

	/* First page faulting: nothing read. */
	put64(0x4000 + 4 * 8, 0x9000 | P | RW);
	CHECK_EQ(guest_read_linear_res(&c, page + 0xffc, buf, 8, WALK_FETCH | WALK_USER, &r), 0);
	CHECK_EQ(r.status, WALK_PAGE_FAULT);
	CHECK_EQ(r.la, page + 0xffc);
	CHECK_EQ(r.error_code, PF_ERR_P | PF_ERR_U | PF_ERR_ID);

	/* Zero bytes: nothing walked. */
	fm.reads = 0;
	CHECK_EQ(guest_read_linear_res(&c, page, buf, 0, WALK_READ, &r), 0);
	CHECK_EQ(r.status, WALK_OK);
	CHECK_EQ(fm.reads, 0);
}

/* Reading across the top of the lower canonical half. */
static void test_read_into_noncanonical(void)
{
	struct guest_walk_ctx c = setup(LONG_CR0, 0x1000, CR4_PAE, LONG_EFER);
	struct guest_walk_result r;
	uint8_t buf[4];

	/* 0x00007ffffffff000: indexes 255, 511, 511, 511. */
	put64(0x1000 + 255 * 8, 0x2000 | P);
	put64(0x2000 + 511 * 8, 0x3000 | P);
	put64(0x3000 + 511 * 8, 0x4000 | P);
	put64(0x4000 + 511 * 8, 0x9000 | P);
	memcpy(fm.bytes + 0x9ffe, "\x90\x91", 2);
	CHECK_EQ(guest_read_linear_res(&c, 0x00007ffffffffffeull, buf, 4, WALK_FETCH, &r), 2);
	CHECK(memcmp(buf, "\x90\x91", 2) == 0);
	CHECK_EQ(r.status, WALK_NONCANONICAL);
	CHECK_EQ(r.la, 0x0000800000000000ull);
}

/* A longer read over three pages, in 4 KiB pieces. */
static void test_read_three_pages(void)
{
	struct guest_walk_ctx c = setup(LONG_CR0, 0x1000, CR4_PAE, LONG_EFER);
	struct guest_walk_result r;
	const uint64_t page = LA_4K & ~0xfffull;
	static uint8_t buf[0x2000];
	size_t i;

	map_long_default();
	put64(0x4000 + 5 * 8, 0x20000 | P);
	put64(0x4000 + 6 * 8, 0x11000 | P);
	for (i = 0; i < 0x1000; i++) {
		fm.bytes[0x9000 + i] = 1;
		fm.bytes[0x20000 + i] = 2;
		fm.bytes[0x11000 + i] = 3;
	}
	CHECK_EQ(guest_read_linear_res(&c, page + 0x800, buf, sizeof(buf), WALK_READ, &r),
		 sizeof(buf));
	CHECK_EQ(buf[0], 1);
	CHECK_EQ(buf[0x7ff], 1);
	CHECK_EQ(buf[0x800], 2);
	CHECK_EQ(buf[0x17ff], 2);
	CHECK_EQ(buf[0x1800], 3);
	CHECK_EQ(buf[0x1fff], 3);
	CHECK_EQ(r.gpa, 0x9800);
}

/* ---- Protection keys ---------------------------------------------------- */

/*
 * SDM 4.6.2 and 4.7; the expectations follow KVM's permission_fault() and
 * update_pkru_bitmask() (update_pkr_bitmask() in the KVM PKS series): the
 * key of the leaf picks 2 bits of PKRU (user-mode address) or IA32_PKRS
 * (supervisor-mode address), AD stops any data access, WD stops writes by
 * user-mode accesses and, with CR0.WP = 1, by supervisor-mode ones; PK is
 * reported even when the ordinary rights fault too.
 */
#define PKEY(k)	     ((uint64_t)(k) << 59)
#define AD	     1u
#define WD	     2u
#define PKR(k, adwd) ((uint32_t)(adwd) << (2 * (k)))
#define PF_P	     PF_ERR_P
#define PF_W	     PF_ERR_W
#define PF_U	     PF_ERR_U
#define PF_PK	     PF_ERR_PK

/* walk_ec() of an access that is allowed. */
#define ALLOWED 0xffffffffu

/* The #PF error code of an access, ALLOWED if it works (~status else). */
static uint32_t walk_ec(const struct guest_walk_ctx *c, uint64_t la, unsigned access)
{
	struct guest_walk_result r;
	int st = guest_walk(c, la, access, &r);

	if (st == WALK_OK)
		return ALLOWED;
	return st == WALK_PAGE_FAULT ? r.error_code : 0xdead0000u | (uint32_t)-st;
}

/* 4-level paging with the register callbacks, CR4.PAE | @cr4, EFER.NXE. */
static struct guest_walk_ctx pk_setup(uint64_t cr0, uint64_t cr4)
{
	struct guest_walk_ctx c =
	    setup(LONG_CR0 | cr0, 0x1000, CR4_PAE | cr4, LONG_EFER | EFER_NXE);

	c.read_pkru = read_pkru;
	c.read_pkrs = read_pkrs;
	return c;
}

/* LA_4K mapped with upper levels P | RW | US and the PTE @pte_flags, key @k. */
static void map_pk(uint64_t pte_flags, unsigned k)
{
	map_long_4k(0x2000 | P | RW | US, 0x3000 | P | RW | US, 0x4000 | P | RW | US,
		    PKEY(k) | 0x9000 | pte_flags);
}

/* One access under a key's AD/WD pair: the error code expected with CR0.WP = 0 and 1. */
struct pk_row {
	unsigned adwd, access;
	uint32_t wp0, wp1;
};

/*
 * For each of @keys mapped on a page with @pte_flags, each row, the other
 * keys' bits all clear then all set, and CR0.WP 0 and 1: the walk's result,
 * one read of the register (*@reg, counted in *@reads) and none of the
 * other (*@other_reads).
 */
static void check_key_matrix(struct guest_walk_ctx *c, uint64_t pte_flags, const unsigned *keys,
			     unsigned nkeys, const struct pk_row *rows, unsigned nrows,
			     uint32_t *reg, unsigned *reads, const unsigned *other_reads)
{
	for (unsigned k = 0; k < nkeys; k++) {
		map_pk(pte_flags, keys[k]);
		for (unsigned others = 0; others < 2; others++)
			for (unsigned i = 0; i < nrows; i++)
				for (unsigned wp = 0; wp < 2; wp++) {
					uint32_t rest = others ? ~PKR(keys[k], 3) : 0;
					unsigned other_before = *other_reads;

					c->cr0 = LONG_CR0 | (wp ? CR0_WP : 0);
					*reg = rest | PKR(keys[k], rows[i].adwd);
					*reads = 0;
					CHECK_EQ(walk_ec(c, LA_4K, rows[i].access),
						 wp ? rows[i].wp1 : rows[i].wp0);
					CHECK_EQ(*reads, 1);
					CHECK_EQ(*other_reads, other_before);
				}
	}
}

/* PKS: a supervisor page, supervisor accesses, IA32_PKRS AD/WD x WP x R/W. */
static void test_pks_rights(void)
{
	static const struct pk_row rows[] = {
	    {0, WALK_READ, ALLOWED, ALLOWED},
	    {0, WALK_WRITE, ALLOWED, ALLOWED},
	    {WD, WALK_READ, ALLOWED, ALLOWED},
	    {WD, WALK_WRITE, ALLOWED, PF_P | PF_W | PF_PK},
	    {AD, WALK_READ, PF_P | PF_PK, PF_P | PF_PK},
	    {AD, WALK_WRITE, PF_P | PF_W | PF_PK, PF_P | PF_W | PF_PK},
	    {AD | WD, WALK_READ, PF_P | PF_PK, PF_P | PF_PK},
	    {AD | WD, WALK_WRITE, PF_P | PF_W | PF_PK, PF_P | PF_W | PF_PK},
	};
	static const unsigned keys[] = {1, 5, 15};
	struct guest_walk_ctx c = pk_setup(0, CR4_PKS | CR4_PKE);

	fm.pkru = 0xffffffffu; /* not a user-mode address: PKRU is not used */
	fm.pkru_reads = 0;
	check_key_matrix(&c, P | RW, keys, 3, rows, sizeof(rows) / sizeof(rows[0]), &fm.pkrs,
			 &fm.pkrs_reads, &fm.pkru_reads);
	CHECK_EQ(fm.pkru_reads, 0);

	/* The fault: CR2 and the level of the leaf. */
	{
		struct guest_walk_result r;

		fm.pkrs = PKR(15, AD);
		CHECK_EQ(guest_walk(&c, LA_4K, WALK_READ, &r), WALK_PAGE_FAULT);
		CHECK_EQ(r.error_code, PF_P | PF_PK);
		CHECK_EQ(r.la, LA_4K);
		CHECK_EQ(r.level, 1);
		CHECK_EQ(r.gpa, 0);
	}

	/* CR4.PKS = 0: no key checks, even with PKRS all ones. */
	c.cr4 = CR4_PAE | CR4_PKE;
	c.cr0 = LONG_CR0 | CR0_WP;
	fm.pkrs = 0xffffffffu;
	fm.pkrs_reads = 0;
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_READ), ALLOWED);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_WRITE), ALLOWED);
	CHECK_EQ(fm.pkrs_reads, 0);

	/* Instruction fetches are never checked. */
	c.cr4 = CR4_PAE | CR4_PKS;
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_FETCH), ALLOWED);
	CHECK_EQ(fm.pkrs_reads, 0);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_READ), PF_P | PF_PK);
	CHECK_EQ(fm.pkrs_reads, 1);
}

/* PKU: a user page, PKRU AD/WD x user/supervisor access x WP x R/W. */
static void test_pku_rights(void)
{
	static const struct pk_row rows[] = {
	    {0, WALK_READ, ALLOWED, ALLOWED},
	    {0, WALK_WRITE, ALLOWED, ALLOWED},
	    {0, WALK_USER, ALLOWED, ALLOWED},
	    {0, WALK_USER | WALK_WRITE, ALLOWED, ALLOWED},
	    {WD, WALK_READ, ALLOWED, ALLOWED},
	    {WD, WALK_WRITE, ALLOWED, PF_P | PF_W | PF_PK},
	    {WD, WALK_USER, ALLOWED, ALLOWED},
	    {WD, WALK_USER | WALK_WRITE, PF_P | PF_W | PF_U | PF_PK, PF_P | PF_W | PF_U | PF_PK},
	    {AD, WALK_READ, PF_P | PF_PK, PF_P | PF_PK},
	    {AD, WALK_WRITE, PF_P | PF_W | PF_PK, PF_P | PF_W | PF_PK},
	    {AD, WALK_USER, PF_P | PF_U | PF_PK, PF_P | PF_U | PF_PK},
	    {AD, WALK_USER | WALK_WRITE, PF_P | PF_W | PF_U | PF_PK, PF_P | PF_W | PF_U | PF_PK},
	    {AD | WD, WALK_READ, PF_P | PF_PK, PF_P | PF_PK},
	    {AD | WD, WALK_WRITE, PF_P | PF_W | PF_PK, PF_P | PF_W | PF_PK},
	    {AD | WD, WALK_USER, PF_P | PF_U | PF_PK, PF_P | PF_U | PF_PK},
	    {AD | WD, WALK_USER | WALK_WRITE, PF_P | PF_W | PF_U | PF_PK,
	     PF_P | PF_W | PF_U | PF_PK},
	};
	static const unsigned keys[] = {0, 7, 15};
	/* Supervisor accesses to the user page go through PKRU, not PKRS. */
	struct guest_walk_ctx c = pk_setup(0, CR4_PKE | CR4_PKS);

	fm.pkrs = 0xffffffffu;
	fm.pkrs_reads = 0;
	check_key_matrix(&c, P | RW | US, keys, 3, rows, sizeof(rows) / sizeof(rows[0]), &fm.pkru,
			 &fm.pkru_reads, &fm.pkrs_reads);
	CHECK_EQ(fm.pkrs_reads, 0);

	/* CR4.PKE = 0: no check, whatever PKRU and CR4.PKS say. */
	c.cr4 = CR4_PAE | CR4_PKS;
	c.cr0 = LONG_CR0 | CR0_WP;
	fm.pkru = 0xffffffffu;
	fm.pkru_reads = 0;
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_USER | WALK_WRITE), ALLOWED);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_WRITE), ALLOWED);
	CHECK_EQ(fm.pkru_reads, 0);
	CHECK_EQ(fm.pkrs_reads, 0);
	/* Fetches: never. */
	c.cr4 = CR4_PAE | CR4_PKE;
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_FETCH | WALK_USER), ALLOWED);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_FETCH), ALLOWED);
	CHECK_EQ(fm.pkru_reads, 0);
}

/* The key comes from the leaf: a 2 MiB PDE or 1 GiB PDPTE, else the PTE. */
static void test_pkey_leaf_only(void)
{
	struct guest_walk_ctx c = pk_setup(CR0_WP, CR4_PKS);
	struct guest_walk_result r;

	/* Keys 3, 4, 6 in the PML4E, PDPTE and PDE; key 0 in the PTE. */
	map_long_4k(PKEY(3) | 0x2000 | P | RW, PKEY(4) | 0x3000 | P | RW, PKEY(6) | 0x4000 | P | RW,
		    0x9000 | P | RW);
	fm.pkrs = PKR(3, AD) | PKR(4, AD) | PKR(6, AD) | PKR(1, AD);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_WRITE), ALLOWED);
	fm.pkrs = PKR(0, WD);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_WRITE), PF_P | PF_W | PF_PK);

	/* 2 MiB page with key 5 (LA 0x8080a12345: PD index 5), PDPTE key 4. */
	put64(0x3000 + 5 * 8, PKEY(5) | 0x40000000 | PS | P | RW);
	fm.pkrs = ~PKR(5, 3);
	CHECK_EQ(walk_ec(&c, 0x8080a12345ull, WALK_WRITE), ALLOWED);
	fm.pkrs = PKR(5, AD);
	CHECK_EQ(guest_walk(&c, 0x8080a12345ull, WALK_READ, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_P | PF_PK);
	CHECK_EQ(r.level, 2);
	CHECK_EQ(r.la, 0x8080a12345ull);

	/* 1 GiB page with key 12 (LA 0x80c1234567: PDPT index 3), PML4E key 3. */
	put64(0x2000 + 3 * 8, PKEY(12) | 0x140000000ull | PS | P | RW);
	fm.pkrs = ~PKR(12, 3);
	CHECK_EQ(walk_ec(&c, 0x80c1234567ull, WALK_WRITE), ALLOWED);
	fm.pkrs = PKR(12, WD);
	CHECK_EQ(walk_ec(&c, 0x80c1234567ull, WALK_READ), ALLOWED);
	CHECK_EQ(guest_walk(&c, 0x80c1234567ull, WALK_WRITE, &r), WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_P | PF_W | PF_PK);
	CHECK_EQ(r.level, 3);

	/* The same for PKU: a user 2 MiB page with key 9. */
	c.cr4 = CR4_PAE | CR4_PKE;
	map_long_4k(PKEY(3) | 0x2000 | P | RW | US, PKEY(4) | 0x3000 | P | RW | US, 0, 0);
	put64(0x3000 + 5 * 8, PKEY(9) | 0x40000000 | PS | P | RW | US);
	fm.pkru = ~PKR(9, 3);
	CHECK_EQ(walk_ec(&c, 0x8080a12345ull, WALK_USER | WALK_WRITE), ALLOWED);
	fm.pkru = PKR(9, AD);
	CHECK_EQ(walk_ec(&c, 0x8080a12345ull, WALK_USER), PF_P | PF_U | PF_PK);
}

/* 5-level paging has keys too. */
static void test_pkey_5level(void)
{
	struct guest_walk_ctx c = pk_setup(0, CR4_LA57 | CR4_PKS | CR4_PKE);

	c.cr3 = 0x5000;
	map_pk(P | RW, 15);
	put64(0x5000 + 1 * 8, 0x1000 | P | RW | US);
	fm.pkrs = PKR(15, AD);
	CHECK_EQ(walk_ec(&c, 0x0001008080604567ull, WALK_READ), PF_P | PF_PK);
	map_pk(P | RW | US, 15);
	CHECK_EQ(walk_ec(&c, 0x0001008080604567ull, WALK_READ), ALLOWED);
	fm.pkru = PKR(15, WD);
	CHECK_EQ(walk_ec(&c, 0x0001008080604567ull, WALK_USER | WALK_WRITE),
		 PF_P | PF_W | PF_U | PF_PK);
	CHECK_EQ(fm.pkrs_reads, 1);
	CHECK_EQ(fm.pkru_reads, 2);
}

/* Only IA-32e paging has keys: 32-bit and PAE paging ignore CR4.PKE/PKS. */
static void test_pkey_legacy_modes(void)
{
	struct guest_walk_ctx c = setup(CR0_PE | CR0_PG | CR0_WP, 0x1000, CR4_PKE | CR4_PKS, 0);

	c.read_pkru = read_pkru;
	c.read_pkrs = read_pkrs;
	fm.pkru = fm.pkrs = 0xffffffffu;

	/* 32-bit: a user PTE and a supervisor PDE (4-byte entries, no keys). */
	put32(0x1000 + 3 * 4, 0x2000 | P | RW | US);
	put32(0x2000 + 5 * 4, 0x7000 | P | RW | US);
	CHECK_EQ(walk_ec(&c, 0x00c05678, WALK_USER | WALK_WRITE), ALLOWED);
	CHECK_EQ(walk_ec(&c, 0x00c05678, WALK_WRITE), ALLOWED);
	put32(0x1000 + 3 * 4, 0x2000 | P | RW);
	CHECK_EQ(walk_ec(&c, 0x00c05678, WALK_WRITE), ALLOWED);
	CHECK_EQ(fm.pkru_reads, 0);
	CHECK_EQ(fm.pkrs_reads, 0);

	/* PAE: a supervisor page and a user page, all keys AD and WD. */
	c = setup(PAE_CR0 | CR0_WP, 0x1000, CR4_PAE | CR4_PKE | CR4_PKS, EFER_NXE);
	c.read_pkru = read_pkru;
	c.read_pkrs = read_pkrs;
	fm.pkru = fm.pkrs = 0xffffffffu;
	map_pae(0x1000, 0x2000 | P, 0x3000 | P | RW | US, 0x8000 | P | RW);
	CHECK_EQ(walk_ec(&c, 0xc0605678, WALK_READ), ALLOWED);
	CHECK_EQ(walk_ec(&c, 0xc0605678, WALK_WRITE), ALLOWED);
	map_pae(0x1000, 0x2000 | P, 0x3000 | P | RW | US, 0x8000 | P | RW | US);
	CHECK_EQ(walk_ec(&c, 0xc0605678, WALK_USER | WALK_WRITE), ALLOWED);
	/* Bits 62:59 are reserved there, not a key. */
	map_pae(0x1000, 0x2000 | P, 0x3000 | P | RW | US, PKEY(1) | 0x8000 | P | RW);
	CHECK_EQ(walk_ec(&c, 0xc0605678, WALK_READ), PF_P | PF_ERR_RSVD);
	CHECK_EQ(fm.pkru_reads, 0);
	CHECK_EQ(fm.pkrs_reads, 0);

	/* Paging off. */
	c = setup(CR0_PE | CR0_WP, 0, CR4_PKE | CR4_PKS, 0);
	c.read_pkru = read_pkru;
	c.read_pkrs = read_pkrs;
	fm.pkru = fm.pkrs = 0xffffffffu;
	CHECK_EQ(walk_ec(&c, 0x1000, WALK_WRITE), ALLOWED);
	CHECK_EQ(walk_ec(&c, 0x1000, WALK_USER | WALK_WRITE), ALLOWED);

	CHECK_EQ(fm.pkru_reads, 0);
	CHECK_EQ(fm.pkrs_reads, 0);
}

/* The registers are read only when they decide something (a VMREAD). */
static void test_pkey_register_reads(void)
{
	struct guest_walk_ctx c = pk_setup(CR0_WP, CR4_PKE | CR4_PKS);

	/* Needed: exactly one read, of the register of the address kind. */
	map_pk(P | RW, 2);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_WRITE), ALLOWED);
	CHECK_EQ(fm.pkrs_reads, 1);
	CHECK_EQ(fm.pkru_reads, 0);
	map_pk(P | RW | US, 2);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_WRITE), ALLOWED);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_USER), ALLOWED);
	CHECK_EQ(fm.pkrs_reads, 1);
	CHECK_EQ(fm.pkru_reads, 2);

	/* Not needed: fetches ... */
	fm.pkru_reads = fm.pkrs_reads = 0;
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_FETCH | WALK_USER), ALLOWED);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_FETCH), ALLOWED);
	map_pk(P | RW, 2);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_FETCH), ALLOWED);
	/* ... not-present, reserved-bit and non-canonical faults ... */
	map_pk(RW | US, 2);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_USER), PF_U);
	put64(0x3000 + 3 * 8, 0);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_WRITE), PF_W);
	c.maxphyaddr = 46;
	map_pk((1ull << 50) | P | RW, 2);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_READ), PF_P | PF_ERR_RSVD);
	c.maxphyaddr = 0;
	CHECK_EQ(walk_ec(&c, 0x0000800000000000ull, WALK_READ), 0xdead0000u | 3);
	/* ... the other address kind's bit clear (PKRS for a user page) ... */
	c.cr4 = CR4_PAE | CR4_PKS;
	map_pk(P | RW | US, 2);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_USER | WALK_WRITE), ALLOWED);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_WRITE), ALLOWED);
	c.cr4 = CR4_PAE | CR4_PKE;
	map_pk(P | RW, 2);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_WRITE), ALLOWED);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_USER), PF_P | PF_U);
	/* ... both bits clear ... */
	c.cr4 = CR4_PAE;
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_WRITE), ALLOWED);
	CHECK_EQ(fm.pkru_reads, 0);
	CHECK_EQ(fm.pkrs_reads, 0);
	/* ... and outside IA-32e mode. */
	c = setup(PAE_CR0, 0x1000, CR4_PAE | CR4_PKE | CR4_PKS, 0);
	c.read_pkru = read_pkru;
	c.read_pkrs = read_pkrs;
	map_pae(0x1000, 0x2000 | P, 0x3000 | P | RW | US, 0x8000 | P | RW);
	CHECK_EQ(walk_ec(&c, 0xc0605678, WALK_READ), ALLOWED);
	CHECK_EQ(fm.pkru_reads, 0);
	CHECK_EQ(fm.pkrs_reads, 0);

	/* No callback: the register reads as 0. */
	c = pk_setup(CR0_WP, CR4_PKE | CR4_PKS);
	c.read_pkru = NULL;
	c.read_pkrs = NULL;
	fm.pkru = fm.pkrs = 0xffffffffu;
	map_pk(P | RW, 2);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_WRITE), ALLOWED);
	map_pk(P | RW | US, 2);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_USER | WALK_WRITE), ALLOWED);
}

/*
 * A key fault together with an ordinary one: as in KVM's permission_fault(),
 * PK is set whenever the key forbids the access, and either one faults.
 */
static void test_pkey_with_rights_fault(void)
{
	struct guest_walk_ctx c = pk_setup(0, CR4_PKE | CR4_PKS);

	/* User access to a supervisor page: checked against PKRS. */
	map_pk(P | RW, 4);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_USER), PF_P | PF_U);
	fm.pkrs = PKR(4, AD);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_USER), PF_P | PF_U | PF_PK);
	/* WD stops user-mode writes even with CR0.WP = 0 (update_pkr_bitmask). */
	fm.pkrs = PKR(4, WD);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_USER), PF_P | PF_U);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_USER | WALK_WRITE), PF_P | PF_W | PF_U | PF_PK);
	CHECK_EQ(fm.pkru_reads, 0);
	/* PKRU does not apply to a supervisor-mode address. */
	c.cr4 = CR4_PAE | CR4_PKE;
	fm.pkru = 0xffffffffu;
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_USER | WALK_WRITE), PF_P | PF_W | PF_U);
	CHECK_EQ(fm.pkru_reads, 0);

	/* Write to a read-only user page. */
	c.cr4 = CR4_PAE | CR4_PKE;
	c.cr0 = LONG_CR0 | CR0_WP;
	map_pk(P | US, 4);
	fm.pkru = 0;
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_WRITE), PF_P | PF_W);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_USER | WALK_WRITE), PF_P | PF_W | PF_U);
	fm.pkru = PKR(4, WD);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_WRITE), PF_P | PF_W | PF_PK);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_USER | WALK_WRITE), PF_P | PF_W | PF_U | PF_PK);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_USER), ALLOWED);
	fm.pkru = PKR(4, AD);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_USER | WALK_WRITE), PF_P | PF_W | PF_U | PF_PK);
	/* WP = 0: a supervisor write ignores R/W and WD; AD still stops it. */
	c.cr0 = LONG_CR0;
	fm.pkru = PKR(4, WD);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_WRITE), ALLOWED);
	fm.pkru = PKR(4, AD);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_WRITE), PF_P | PF_W | PF_PK);

	/* Write to a read-only supervisor page, WP = 1, PKRS WD. */
	c.cr4 = CR4_PAE | CR4_PKS;
	c.cr0 = LONG_CR0 | CR0_WP;
	map_pk(P, 4);
	fm.pkrs = PKR(4, WD);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_WRITE), PF_P | PF_W | PF_PK);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_READ), ALLOWED);

	/* SMAP: a supervisor read of a user page, AC = 0. */
	c.cr4 = CR4_PAE | CR4_PKE | CR4_SMAP;
	map_pk(P | RW | US, 4);
	fm.pkru = 0;
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_READ), PF_P);
	fm.pkru = PKR(4, AD);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_READ), PF_P | PF_PK);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_READ | WALK_AC), PF_P | PF_PK);
	fm.pkru = PKR(4, WD);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_READ), PF_P);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_READ | WALK_AC), ALLOWED);

	/* A fetch from an XD page: no PK, the keys are not looked at. */
	c.cr4 = CR4_PAE | CR4_PKE | CR4_PKS;
	map_pk(XD | P | RW | US, 4);
	fm.pkru = fm.pkrs = 0xffffffffu;
	fm.pkru_reads = fm.pkrs_reads = 0;
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_FETCH | WALK_USER), PF_P | PF_U | PF_ERR_ID);
	CHECK_EQ(fm.pkru_reads, 0);
	/* A reserved bit in the leaf: RSVD, no PK. */
	c.maxphyaddr = 40;
	map_pk((1ull << 45) | P | RW | US, 4);
	CHECK_EQ(walk_ec(&c, LA_4K, WALK_USER), PF_P | PF_U | PF_ERR_RSVD);
	CHECK_EQ(fm.pkru_reads, 0);
}

/* guest_read_linear_res() stops at a page its key forbids. */
static void test_pkey_read_linear(void)
{
	struct guest_walk_ctx c = pk_setup(CR0_WP, CR4_PKS);
	struct guest_walk_result r;
	const uint64_t page = LA_4K & ~0xfffull; /* PT index 4, then 5 */
	uint8_t buf[8];

	map_pk(P | RW, 0);
	put64(0x4000 + 5 * 8, PKEY(7) | 0x6000 | P | RW);
	memcpy(fm.bytes + 0x9ffc, "\x01\x02\x03\x04", 4);
	memcpy(fm.bytes + 0x6000, "\x05\x06\x07\x08", 4);

	fm.pkrs = PKR(7, AD);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(guest_read_linear_res(&c, page + 0xffc, buf, 8, WALK_READ, &r), 4);
	CHECK(memcmp(buf, "\x01\x02\x03\x04\0\0\0\0", 8) == 0);
	CHECK_EQ(r.status, WALK_PAGE_FAULT);
	CHECK_EQ(r.error_code, PF_P | PF_PK);
	CHECK_EQ(r.la, page + 0x1000);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(fm.pkrs_reads, 2); /* one walk per page */
	CHECK_EQ(guest_read_linear(&c, page + 0xffc, buf, 8, WALK_READ), 4);
	/* Fetches are not subject to keys. */
	CHECK_EQ(guest_read_linear_res(&c, page + 0xffc, buf, 8, WALK_FETCH, &r), 8);
	CHECK(memcmp(buf, "\x01\x02\x03\x04\x05\x06\x07\x08", 8) == 0);
	CHECK_EQ(r.status, WALK_OK);

	/* WD: reads go through, a write access stops (CR0.WP = 1). */
	fm.pkrs = PKR(7, WD);
	CHECK_EQ(guest_read_linear_res(&c, page + 0xffc, buf, 8, WALK_READ, &r), 8);
	CHECK_EQ(r.status, WALK_OK);
	CHECK_EQ(r.gpa, 0x9ffc);
	CHECK_EQ(guest_read_linear_res(&c, page + 0xffc, buf, 8, WALK_WRITE, &r), 4);
	CHECK_EQ(r.error_code, PF_P | PF_W | PF_PK);
	CHECK_EQ(r.la, page + 0x1000);
	/* The first page forbidden: nothing read, CR2 is the address itself. */
	fm.pkrs = PKR(0, AD);
	CHECK_EQ(guest_read_linear_res(&c, page + 0xffc, buf, 8, WALK_READ, &r), 0);
	CHECK_EQ(r.error_code, PF_P | PF_PK);
	CHECK_EQ(r.la, page + 0xffc);
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_mode_select),
    TEST_ENTRY(test_bad_state),
    TEST_ENTRY(test_paging_off),
    TEST_ENTRY(test_32bit_4k),
    TEST_ENTRY(test_32bit_rights),
    TEST_ENTRY(test_32bit_4m),
    TEST_ENTRY(test_32bit_wrap_read),
    TEST_ENTRY(test_pae_4k_2m),
    TEST_ENTRY(test_pae_faults),
    TEST_ENTRY(test_pae_pdpte_registers),
    TEST_ENTRY(test_long_4k),
    TEST_ENTRY(test_long_large_pages),
    TEST_ENTRY(test_long_not_present),
    TEST_ENTRY(test_long_reserved),
    TEST_ENTRY(test_long_rights),
    TEST_ENTRY(test_long_nx_smep_smap),
    TEST_ENTRY(test_long_canonical),
    TEST_ENTRY(test_5level),
    TEST_ENTRY(test_unbacked_tables),
    TEST_ENTRY(test_read_straddle),
    TEST_ENTRY(test_read_into_noncanonical),
    TEST_ENTRY(test_read_three_pages),
    TEST_ENTRY(test_pks_rights),
    TEST_ENTRY(test_pku_rights),
    TEST_ENTRY(test_pkey_leaf_only),
    TEST_ENTRY(test_pkey_5level),
    TEST_ENTRY(test_pkey_legacy_modes),
    TEST_ENTRY(test_pkey_register_reads),
    TEST_ENTRY(test_pkey_with_rights_fault),
    TEST_ENTRY(test_pkey_read_linear),
};

CHECK_MAIN(tests)
