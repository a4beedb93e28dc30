/* SPDX-License-Identifier: MIT */
/*
 * Extended page tables: a VM's guest-physical address space. Only what a
 * VM's memory slots map is present; every other access is an EPT
 * violation, which the exit engine turns into an MMIO exit.
 *
 * Memory types: guest RAM is mapped write-back (EPT memory type 6) with
 * "ignore PAT" clear, so the guest's own PAT and MTRR-free page attributes
 * combine with WB exactly as on bare metal with all-WB MTRRs (SDM 29.3.7).
 * There is no device memory passed through yet, so nothing is UC.
 *
 * Invalidation (SDM 29.4): the CPU caches guest-physical and combined
 * translations and EPT paging-structure entries, tagged with the EPTP
 * (and VPID); changing an entry does not drop them. So every unmap is
 * followed by ept_flush() (INVEPT) before a page it reached is freed or
 * reused, and before the guest runs again. Table pages taken out of the
 * tree (ept_prune) are not freed at once either: ept_flush() frees them
 * after its INVEPT. ept_map/ept_unmap/ept_prune never free a page.
 *
 * Reach: a 4-level walk translates bits 47:0; the CPU cannot produce a
 * guest-physical address at or above its MAXPHYADDR. gpa_limit is the
 * lower of 2^48 and 2^MAXPHYADDR; nothing at or above it is ever mapped
 * (it would alias an address below 2^48).
 */
#ifndef VMX_EPT_H
#define VMX_EPT_H

#include <stdbool.h>
#include <stdint.h>

#define EPT_R	(1ull << 0)
#define EPT_W	(1ull << 1)
#define EPT_X	(1ull << 2)
#define EPT_RWX (EPT_R | EPT_W | EPT_X)

struct ept {
	uint64_t pml4;	    /* physical address of the root table */
	uint64_t eptp;	    /* the VMCS EPT pointer */
	uint64_t gpa_limit; /* first guest-physical address that cannot be mapped */
	uint64_t retired;   /* table pages out of the tree, freed by ept_flush (list) */
	uint32_t tables;    /* table pages in the tree, root included */
	uint32_t n_retired;
	bool large_2m; /* 2 MiB leaves allowed (capability) */
};

/* min(2^48, 2^MAXPHYADDR) of this CPU (CPUID 0x80000008, 36 bits without it). */
uint64_t ept_cpu_gpa_limit(void);

/* 0 or -HV_ENOMEM. The caller flushes the new EPTP (ept_flush) before use. */
int ept_init(struct ept *e);

/*
 * Map [gpa, gpa + size) to [hpa, ...) with prot (R, RX, RW, RWX; X alone
 * if the CPU allows it), 2 MiB leaves where gpa and hpa are aligned and no
 * table is in the way. All or nothing:
 *	-HV_EINVAL	not page-aligned, wraps, reaches gpa_limit, bad prot
 *	-HV_EEXIST	part of the range is already mapped
 *	-HV_ENOMEM	no page for a table (tables made on the way stay,
 *			empty, for ept_prune)
 * size 0 maps nothing and returns 0.
 */
int ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, uint64_t prot);

/*
 * Remove every translation in [gpa, gpa + size) and nothing else: a 2 MiB
 * leaf the range covers only in part is first split into 4 KiB leaves
 * (same translations), which needs a page (-HV_ENOMEM: nothing removed).
 * Addresses at or above gpa_limit map nothing. -HV_EINVAL if not
 * page-aligned or wrapping. Tables stay (ept_prune); flush before reuse.
 */
int ept_unmap(struct ept *e, uint64_t gpa, uint64_t size);

/*
 * Take the tables under [gpa, gpa + size) that map nothing out of the
 * tree (the root stays); ept_flush frees them. Translations do not change.
 */
void ept_prune(struct ept *e, uint64_t gpa, uint64_t size);

/*
 * The translation of @gpa: 0 with *hpa and *prot (EPT_R/W/X) set, or -1
 * if nothing maps it.
 */
int ept_lookup(const struct ept *e, uint64_t gpa, uint64_t *hpa, uint64_t *prot);

/*
 * INVEPT of this EPTP (single-context, or all-context where single is not
 * offered) on this CPU, the only one that runs guests; then the retired
 * table pages go back to the allocator.
 */
void ept_flush(struct ept *e);

/*
 * Flush, then free every table. No vCPU may use the EPT any more; pages
 * the EPT mapped may be freed by the caller once it has flushed.
 */
void ept_destroy(struct ept *e);

#endif
