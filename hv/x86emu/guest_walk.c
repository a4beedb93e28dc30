// SPDX-License-Identifier: MIT
/*
 * Software walk of the guest's page tables; see guest_walk.h.
 *
 * Facts used (Intel SDM Vol. 3A, chapter 4): entry formats and reserved
 * bits per paging mode (4.3, 4.4.2, 4.5.4), access rights (4.6: R/W and
 * U/S combine by AND over all levels, XD by OR; CR0.WP, SMEP, SMAP),
 * protection keys (4.6.2), and the #PF error code (4.7: P, W/R, U/S, RSVD,
 * I/D, PK).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hv/x86emu/guest_walk.h"

#define G_CR0_WP   (1ull << 16)
#define G_CR0_PG   (1ull << 31)
#define G_CR4_PSE  (1ull << 4)
#define G_CR4_PAE  (1ull << 5)
#define G_CR4_LA57 (1ull << 12)
#define G_CR4_SMEP (1ull << 20)
#define G_CR4_SMAP (1ull << 21)
#define G_CR4_PKE  (1ull << 22)
#define G_CR4_PKS  (1ull << 24)
#define G_EFER_LMA (1ull << 10)
#define G_EFER_NXE (1ull << 11)

#define PTE_P  (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_PS (1ull << 7)
#define PTE_XD (1ull << 63)

/* The protection key: bits 62:59 of a 4/5-level leaf entry. */
#define PTE_PKEY(e) ((unsigned)((e) >> 59) & 0xf)
/* PKRU / IA32_PKRS: two bits per key i, AD at bit 2i and WD at 2i + 1. */
#define PKR_AD 1u
#define PKR_WD 2u

#define PAGE_4K 0x1000ull

/* Bits @hi..@lo (inclusive) set; 0 if hi < lo. */
static uint64_t bits(unsigned hi, unsigned lo)
{
	uint64_t top;

	if (hi < lo || lo > 63)
		return 0;
	top = hi >= 63 ? ~0ull : (1ull << (hi + 1)) - 1;
	return top & ~((1ull << lo) - 1);
}

static unsigned maxphyaddr(const struct guest_walk_ctx *ctx)
{
	unsigned m = ctx->maxphyaddr ? ctx->maxphyaddr : 52;

	if (m < 32)
		m = 32;
	if (m > 52)
		m = 52;
	return m;
}

enum guest_paging_mode guest_paging_mode(const struct guest_walk_ctx *ctx)
{
	bool lma = ctx->efer & G_EFER_LMA;

	if (!(ctx->cr0 & G_CR0_PG))
		return lma ? GUEST_PAGING_BAD : GUEST_PAGING_NONE;
	if (!(ctx->cr4 & G_CR4_PAE))
		return lma ? GUEST_PAGING_BAD : GUEST_PAGING_32;
	if (!lma)
		return GUEST_PAGING_PAE;
	return (ctx->cr4 & G_CR4_LA57) ? GUEST_PAGING_5LEVEL : GUEST_PAGING_4LEVEL;
}

/* The state of one walk. */
struct walk {
	const struct guest_walk_ctx *ctx;
	enum guest_paging_mode mode;
	uint64_t la;
	unsigned access;
	unsigned m; /* MAXPHYADDR */
	bool nxe;   /* XD bits are in use (never in 32-bit paging) */
	/* Rights accumulated over the levels walked so far. */
	bool rw, us, xd;
	struct guest_walk_result *res;
};

static int fail(struct walk *w, int status, unsigned level)
{
	w->res->status = status;
	w->res->level = (uint8_t)level;
	return status;
}

/* A #PF: @bits (P, RSVD) plus what the access was. */
static int page_fault(struct walk *w, uint32_t bits_, unsigned level)
{
	const struct guest_walk_ctx *ctx = w->ctx;
	uint32_t ec = bits_ | (w->access & (PF_ERR_W | PF_ERR_U));

	/* I/D is reported only when SMEP or (PAE-style paging and NXE). */
	if ((w->access & WALK_FETCH) &&
	    ((ctx->cr4 & G_CR4_SMEP) || (w->mode != GUEST_PAGING_32 && (ctx->efer & G_EFER_NXE))))
		ec |= PF_ERR_ID;
	w->res->error_code = ec;
	w->res->gpa = 0;
	return fail(w, WALK_PAGE_FAULT, level);
}

/* Read a 4- or 8-byte entry; 0, or a WALK_UNBACKED failure. */
static int read_entry(struct walk *w, uint64_t gpa, size_t size, unsigned level, uint64_t *entry)
{
	const struct guest_walk_ctx *ctx = w->ctx;
	uint8_t b[8] = {0};
	size_t i;

	if (!ctx->read_phys || ctx->read_phys(ctx->opaque, gpa, b, size) < 0) {
		w->res->gpa = gpa;
		return fail(w, WALK_UNBACKED, level);
	}
	*entry = 0;
	for (i = 0; i < size; i++)
		*entry |= (uint64_t)b[i] << (8 * i);
	return 0;
}

static void accumulate(struct walk *w, uint64_t e)
{
	w->rw = w->rw && (e & PTE_RW);
	w->us = w->us && (e & PTE_US);
	if (w->nxe && (e & PTE_XD))
		w->xd = true;
}

/* SDM 4.6: may this access use a page with the accumulated rights? */
static bool allowed(const struct walk *w)
{
	const struct guest_walk_ctx *ctx = w->ctx;
	bool user = w->access & WALK_USER;
	bool write = w->access & WALK_WRITE;

	if (w->access & WALK_FETCH) {
		if (w->xd)
			return false;
		if (user)
			return w->us;
		/* SMEP: no supervisor fetch from a user page. */
		return !(w->us && (ctx->cr4 & G_CR4_SMEP));
	}
	if (user)
		return w->us && (!write || w->rw);
	/* SMAP: no supervisor data access to a user page unless AC = 1. */
	if (w->us && (ctx->cr4 & G_CR4_SMAP) && !(w->access & WALK_AC))
		return false;
	/* Supervisor writes ignore R/W unless CR0.WP = 1. */
	return !(write && !w->rw && (ctx->cr0 & G_CR0_WP));
}

/*
 * SDM 4.6.2: do the protection keys forbid this access to the page mapped
 * by the leaf entry @e? Keys exist only with 4/5-level paging and apply
 * only to data accesses; the key is bits 62:59 of the leaf. A user-mode
 * address (U/S = 1 at every level) is checked against PKRU if CR4.PKE = 1,
 * a supervisor-mode address against IA32_PKRS if CR4.PKS = 1, whatever
 * the CPL of the access. AD_i forbids every data access; WD_i forbids
 * writes by user-mode accesses, and by supervisor-mode ones if CR0.WP = 1
 * (KVM's update_pkru_bitmask(); for PKS, update_pkr_bitmask() of the KVM
 * PKS series). The register is read only when the answer can matter.
 */
static bool pkey_denies(const struct walk *w, uint64_t e)
{
	const struct guest_walk_ctx *ctx = w->ctx;
	uint32_t (*read_pkr)(void *opaque);
	uint32_t pkr;

	if ((w->access & WALK_FETCH) ||
	    (w->mode != GUEST_PAGING_4LEVEL && w->mode != GUEST_PAGING_5LEVEL))
		return false;
	if (!(ctx->cr4 & (w->us ? G_CR4_PKE : G_CR4_PKS)))
		return false;
	read_pkr = w->us ? ctx->read_pkru : ctx->read_pkrs;
	if (!read_pkr)
		return false;
	pkr = read_pkr(ctx->opaque) >> (2 * PTE_PKEY(e));
	if (pkr & PKR_AD)
		return true;
	return (pkr & PKR_WD) && (w->access & WALK_WRITE) &&
	       ((w->access & WALK_USER) || (ctx->cr0 & G_CR0_WP));
}

/* The walk reached the present leaf @e, mapping @gpa. */
static int leaf(struct walk *w, uint64_t e, uint64_t gpa, uint64_t page_size, unsigned level)
{
	/*
	 * As KVM's permission_fault(): PK is set whenever the key forbids the
	 * access, even if the ordinary rights (R/W, U/S, SMEP, SMAP, XD) do
	 * too; either one faults.
	 */
	uint32_t pk = pkey_denies(w, e) ? PF_ERR_PK : 0;

	if (pk || !allowed(w))
		return page_fault(w, PF_ERR_P | pk, level);
	w->res->gpa = gpa;
	w->res->page_size = page_size;
	w->res->level = (uint8_t)level;
	w->res->status = WALK_OK;
	return WALK_OK;
}

/* 32-bit paging: 4-byte entries, 10+10+12 bits; 4 MiB pages with PSE. */
static int walk_32(struct walk *w)
{
	const struct guest_walk_ctx *ctx = w->ctx;
	uint64_t pde, pte;
	int err;

	err = read_entry(w, (ctx->cr3 & 0xfffff000u) | ((w->la >> 20) & 0xffc), 4, 2, &pde);
	if (err)
		return err;
	if (!(pde & PTE_P))
		return page_fault(w, 0, 2);
	accumulate(w, pde);

	if ((pde & PTE_PS) && (ctx->cr4 & G_CR4_PSE)) {
		/* PSE-36: PDE bits (M-19):13 are physical bits (M-1):32. */
		unsigned m = w->m < 40 ? w->m : 40;
		uint64_t high = (pde >> 13) & ((1ull << (m - 32)) - 1);

		if (pde & bits(21, m - 19))
			return page_fault(w, PF_ERR_P | PF_ERR_RSVD, 2);
		return leaf(w, pde, (pde & 0xffc00000u) | (high << 32) | (w->la & 0x3fffff),
			    4ull << 20, 2);
	}

	err = read_entry(w, (pde & 0xfffff000u) | ((w->la >> 10) & 0xffc), 4, 1, &pte);
	if (err)
		return err;
	if (!(pte & PTE_P))
		return page_fault(w, 0, 1);
	accumulate(w, pte);
	return leaf(w, pte, (pte & 0xfffff000u) | (w->la & 0xfff), PAGE_4K, 1);
}

/*
 * 8-byte entries, 9 bits per level, from @top down to the PTE, the table
 * at @table. @rsvd: reserved bits of every entry at these levels.
 */
static int walk_tables(struct walk *w, uint64_t table, unsigned top, uint64_t rsvd)
{
	uint64_t addr_mask = bits(w->m - 1, 12);
	unsigned level;
	int err;

	for (level = top; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		uint64_t e, r = rsvd;
		bool is_leaf;

		err = read_entry(w, table + ((w->la >> shift) & 0x1ff) * 8, 8, level, &e);
		if (err)
			return err;
		if (!(e & PTE_P))
			return page_fault(w, 0, level);
		/* PS must be 0 in a PML4E or PML5E. */
		if (level >= 4)
			r |= PTE_PS;
		is_leaf = level == 1 || ((level == 2 || level == 3) && (e & PTE_PS));
		/* A large page's address is aligned: bits below it but PAT. */
		if (is_leaf && level > 1)
			r |= bits(shift - 1, 13);
		if (e & r)
			return page_fault(w, PF_ERR_P | PF_ERR_RSVD, level);
		accumulate(w, e);
		if (is_leaf) {
			uint64_t size = 1ull << shift;

			return leaf(w, e, (e & bits(w->m - 1, shift)) | (w->la & (size - 1)), size,
				    level);
		}
		table = e & addr_mask;
	}
	return page_fault(w, 0, 1); /* not reached */
}

/* PAE: four PDPTEs, then PD and PT with 8-byte entries. */
static int walk_pae(struct walk *w)
{
	const struct guest_walk_ctx *ctx = w->ctx;
	unsigned idx = (w->la >> 30) & 3;
	uint64_t pdpte, rsvd;
	int err;

	if (ctx->pdptes) {
		pdpte = ctx->pdptes[idx];
	} else {
		err = read_entry(w, (ctx->cr3 & 0xffffffe0u) + idx * 8, 8, 3, &pdpte);
		if (err)
			return err;
	}
	if (!(pdpte & PTE_P))
		return page_fault(w, 0, 3);
	/* PDPTE: bits 2:1, 8:5 and 63:M reserved; no R/W, U/S or XD. */
	if (pdpte & (bits(63, w->m) | bits(8, 5) | bits(2, 1)))
		return page_fault(w, PF_ERR_P | PF_ERR_RSVD, 3);

	rsvd = bits(62, w->m) | (w->nxe ? 0 : PTE_XD);
	return walk_tables(w, pdpte & bits(w->m - 1, 12), 2, rsvd);
}

int guest_walk(const struct guest_walk_ctx *ctx, uint64_t la, unsigned access,
	       struct guest_walk_result *res)
{
	struct walk w;
	uint64_t top;

	memset(res, 0, sizeof(*res));
	memset(&w, 0, sizeof(w));
	w.ctx = ctx;
	w.mode = guest_paging_mode(ctx);
	w.access = access;
	w.m = maxphyaddr(ctx);
	w.nxe = w.mode != GUEST_PAGING_32 && (ctx->efer & G_EFER_NXE);
	w.rw = true;
	w.us = true;
	w.res = res;

	switch (w.mode) {
	case GUEST_PAGING_NONE:
		res->la = la & 0xffffffffu;
		res->gpa = res->la;
		res->page_size = PAGE_4K;
		res->status = WALK_OK;
		return WALK_OK;
	case GUEST_PAGING_32:
		w.la = res->la = la & 0xffffffffu;
		return walk_32(&w);
	case GUEST_PAGING_PAE:
		w.la = res->la = la & 0xffffffffu;
		return walk_pae(&w);
	case GUEST_PAGING_4LEVEL:
	case GUEST_PAGING_5LEVEL:
		w.la = res->la = la;
		/* Canonical: bits 63:47 (63:56 with LA57) all equal. */
		top = w.mode == GUEST_PAGING_5LEVEL ? la >> 56 : la >> 47;
		if (top != 0 && top != (w.mode == GUEST_PAGING_5LEVEL ? 0xffull : 0x1ffffull))
			return fail(&w, WALK_NONCANONICAL, 0);
		{
			uint64_t rsvd = bits(51, w.m) | (w.nxe ? 0 : PTE_XD);

			return walk_tables(&w, ctx->cr3 & bits(w.m - 1, 12),
					   w.mode == GUEST_PAGING_5LEVEL ? 5 : 4, rsvd);
		}
	case GUEST_PAGING_BAD:
		break;
	}
	res->la = la;
	return fail(&w, WALK_BAD_STATE, 0);
}

size_t guest_read_linear_res(const struct guest_walk_ctx *ctx, uint64_t la, void *buf, size_t len,
			     unsigned access, struct guest_walk_result *res)
{
	enum guest_paging_mode mode = guest_paging_mode(ctx);
	bool wide = mode == GUEST_PAGING_4LEVEL || mode == GUEST_PAGING_5LEVEL;
	struct guest_walk_result tmp, first;
	uint8_t *dst = buf;
	size_t done = 0;

	if (!res)
		res = &tmp;
	memset(&first, 0, sizeof(first));
	first.la = wide ? la : la & 0xffffffffu;
	while (done < len) {
		uint64_t cur = la + done;
		size_t chunk;

		if (!wide)
			cur &= 0xffffffffu;
		if (guest_walk(ctx, cur, access, res) != WALK_OK)
			return done;
		if (!done)
			first = *res;
		chunk = PAGE_4K - (cur & (PAGE_4K - 1));
		if (chunk > len - done)
			chunk = len - done;
		if (ctx->read_phys(ctx->opaque, res->gpa, dst + done, chunk) < 0) {
			res->status = WALK_UNBACKED;
			return done;
		}
		done += chunk;
	}
	*res = first;
	return done;
}

size_t guest_read_linear(const struct guest_walk_ctx *ctx, uint64_t la, void *buf, size_t len,
			 unsigned access)
{
	struct guest_walk_result res;

	return guest_read_linear_res(ctx, la, buf, len, access, &res);
}
