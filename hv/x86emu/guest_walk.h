/* SPDX-License-Identifier: MIT */
/*
 * Guest linear -> guest-physical translation through the guest's own page
 * tables (Intel SDM Vol. 3A, chapter 4), in software: used to fetch the
 * bytes of the instruction behind an exit (CS base + RIP) and to reach the
 * memory operands of the instructions the hypervisor emulates.
 *
 * Modes, chosen from CR0.PG, CR4.PAE, EFER.LMA and CR4.LA57:
 *   paging off   linear = physical (32-bit linear addresses);
 *   32-bit       CR3[31:12] -> PDE -> PTE; 4 MiB pages when CR4.PSE = 1,
 *                with PSE-36 address bits up to min(MAXPHYADDR, 40);
 *   PAE          four PDPTEs (CR3[31:5], or the PDPTE registers the
 *                caller passes) -> PDE -> PTE; 2 MiB pages;
 *   4-level      PML4 -> PDPT -> PD -> PT; 1 GiB and 2 MiB pages;
 *   5-level      (CR4.LA57) PML5 first.
 * Checked on the way, with the fault a CPU would report as #PF: present
 * bits, reserved bits (address bits at and above MAXPHYADDR, PS in a
 * PML4E/PML5E, the low bits of large-page addresses, XD without EFER.NXE,
 * PAE PDPTE reserved bits), R/W with CR0.WP, U/S, XD, SMEP, SMAP, and
 * protection keys (4/5-level paging, data accesses: PKRU for user-mode
 * addresses with CR4.PKE, IA32_PKRS for supervisor-mode ones with CR4.PKS).
 *
 * Not modelled: accessed/dirty bits are not set (the walk only reads guest
 * memory), shadow-stack accesses, the absence of 1 GiB-page support (PS in
 * a PDPTE is always allowed), and the TLB: the walk sees the tables as
 * they are now. A PAE PDPTE with reserved bits set, which a CPU refuses
 * when loading it (#GP on MOV to CR3, failed VM entry), is reported as a
 * reserved-bit #PF.
 */
#ifndef HV_GUEST_WALK_H
#define HV_GUEST_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Read @len bytes of guest-physical memory at @gpa into @buf; negative if
 * any of them is not guest RAM (MMIO, unmapped). Called with 4- or 8-byte
 * reads for paging-structure entries and with chunks that never cross a
 * 4 KiB boundary for data.
 */
typedef int (*guest_read_phys_fn)(void *opaque, uint64_t gpa, void *buf, size_t len);

/* Guest state the walk depends on. */
struct guest_walk_ctx {
	uint64_t cr0, cr3, cr4, efer;
	/* Guest MAXPHYADDR (CPUID 80000008H:EAX[7:0]); 0 means 52. */
	uint8_t maxphyaddr;
	/*
	 * PAE paging only: the four PDPTE registers (with EPT, the VMCS
	 * guest PDPTE0..3 fields), or NULL to read them at CR3[31:5].
	 */
	const uint64_t *pdptes;
	guest_read_phys_fn read_phys;
	/*
	 * Protection keys (optional; NULL reads as 0): the guest's PKRU and
	 * the low 32 bits of its IA32_PKRS. Called at most once per walk,
	 * only when the value decides the outcome: a data access with
	 * 4/5-level paging that reached a present leaf, PKRU for a user-mode
	 * address with CR4.PKE = 1, PKRS for a supervisor-mode address with
	 * CR4.PKS = 1.
	 */
	uint32_t (*read_pkru)(void *opaque);
	uint32_t (*read_pkrs)(void *opaque);
	void *opaque; /* passed to read_phys, read_pkru and read_pkrs */
};

/* Access flags, at the bit positions of the #PF error code. */
#define WALK_READ  0u
#define WALK_WRITE (1u << 1) /* a write (else a read) */
#define WALK_USER  (1u << 2) /* CPL 3 (else supervisor) */
#define WALK_FETCH (1u << 4) /* an instruction fetch */
/*
 * RFLAGS.AC = 1 for an explicit supervisor data access: SMAP lets it touch
 * user pages. Leave it clear for implicit supervisor accesses.
 */
#define WALK_AC (1u << 8)

/* #PF error-code bits. */
#define PF_ERR_P    (1u << 0) /* protection violation (else not present) */
#define PF_ERR_W    (1u << 1)
#define PF_ERR_U    (1u << 2)
#define PF_ERR_RSVD (1u << 3)
#define PF_ERR_ID   (1u << 4)
#define PF_ERR_PK   (1u << 5) /* the protection key forbids the access */

enum guest_paging_mode {
	GUEST_PAGING_NONE, /* CR0.PG = 0 */
	GUEST_PAGING_32,
	GUEST_PAGING_PAE,
	GUEST_PAGING_4LEVEL,
	GUEST_PAGING_5LEVEL,
	GUEST_PAGING_BAD, /* EFER.LMA with CR0.PG or CR4.PAE clear: impossible */
};

enum guest_walk_status {
	WALK_OK = 0,
	/* Inject #PF: error code in @error_code, CR2 = @la. */
	WALK_PAGE_FAULT = -1,
	/* A paging-structure entry (or, for guest_read_linear, the data) at
	 * @gpa is not guest RAM. */
	WALK_UNBACKED = -2,
	/* 64-bit linear address not canonical: #GP (#SS for the stack). */
	WALK_NONCANONICAL = -3,
	/* Register state no CPU can be in (GUEST_PAGING_BAD). */
	WALK_BAD_STATE = -4,
};

struct guest_walk_result {
	int status; /* enum guest_walk_status */
	/* The translation (WALK_OK); the unbacked address (WALK_UNBACKED). */
	uint64_t gpa;
	/* The linear address translated or faulting (CR2 for a #PF); for
	 * modes other than 4/5-level, truncated to 32 bits. */
	uint64_t la;
	uint64_t page_size;  /* WALK_OK: 4 KiB, 2 MiB, 4 MiB or 1 GiB */
	uint32_t error_code; /* WALK_PAGE_FAULT: PF_ERR_* */
	/* Paging level that ended the walk: 1 = PTE .. 5 = PML5E; 0 when
	 * paging is off or the walk did not start. */
	uint8_t level;
};

enum guest_paging_mode guest_paging_mode(const struct guest_walk_ctx *ctx);

/*
 * Translate @la for an access of kind @access (WALK_* flags). Returns the
 * status, also stored in @res->status.
 */
int guest_walk(const struct guest_walk_ctx *ctx, uint64_t la, unsigned access,
	       struct guest_walk_result *res);

/*
 * Read @len bytes at linear address @la (which may cross pages mapped to
 * unrelated frames), translating each 4 KiB piece. Returns how many bytes
 * were read before a page fault, an unbacked page or a non-canonical
 * address; @res (may be NULL) tells which: for a #PF, @res->la is the first
 * address of the page that faulted. When all @len bytes were read,
 * @res->status is WALK_OK and @res describes the translation of @la.
 * Linear addresses wrap at 4 GiB outside 4/5-level paging.
 */
size_t guest_read_linear_res(const struct guest_walk_ctx *ctx, uint64_t la, void *buf, size_t len,
			     unsigned access, struct guest_walk_result *res);

/* guest_read_linear_res() without the result. */
size_t guest_read_linear(const struct guest_walk_ctx *ctx, uint64_t la, void *buf, size_t len,
			 unsigned access);

#endif
