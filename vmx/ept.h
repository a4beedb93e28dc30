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
 */
#ifndef VMX_EPT_H
#define VMX_EPT_H

#include <stdbool.h>
#include <stdint.h>

#define EPT_R (1ull << 0)
#define EPT_W (1ull << 1)
#define EPT_X (1ull << 2)
#define EPT_RWX (EPT_R | EPT_W | EPT_X)

struct ept {
	uint64_t pml4;      /* physical address of the root table */
	uint64_t eptp;      /* the VMCS EPT pointer */
	uint32_t tables;    /* page-table pages in use, root included */
	bool large_2m;      /* 2 MiB leaves allowed (capability) */
};

int ept_init(struct ept *e);
/* Map [gpa, gpa + size) to [hpa, ...) with prot; large pages where aligned. */
int ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, uint64_t prot);
/* Remove [gpa, gpa + size) (splitting nothing: ranges mapped as a whole). */
void ept_unmap(struct ept *e, uint64_t gpa, uint64_t size);
void ept_destroy(struct ept *e);
/* Flush the TLB entries derived from this EPT on this CPU. */
void ept_flush(const struct ept *e);

#endif
