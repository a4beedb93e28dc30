/* SPDX-License-Identifier: MIT */
/*
 * Guest x87/SSE/AVX state. The hypervisor itself never touches it (it is
 * built with -mgeneral-regs-only), so the current vCPU's state simply stays
 * in the CPU across exits; it is saved to the vCPU's area only when another
 * vCPU takes the CPU, or when the controller reads or writes it
 * (KVM_GET/SET_FPU). The instructions that move it live in functions named
 * xstate_hw_*, the only ones scripts/check-no-fpu.sh lets use them.
 */
#ifndef VMX_XSTATE_H
#define VMX_XSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "abi/kvm_x86.h"

/*
 * Once at boot: CR4.OSFXSR/OSXMMEXCPT so FXSAVE covers XMM, and the save
 * area's size. Call after CR4.OSXSAVE is settled.
 */
void xstate_init(void);

/* Bytes a save area needs (64-byte aligned storage). */
size_t xstate_area_size(void);
/* XCR0 bits a guest may enable: the ones a save area holds. */
uint64_t xstate_guest_xcr0_mask(void);

/* The state after RESET/INIT: FCW 0x37f, MXCSR 0x1f80, the rest zero. */
void xstate_area_reset(void *area);
/* CPU -> area and area -> CPU; guest_xcr0 is put back in XCR0 afterwards. */
void xstate_save(void *area, uint64_t guest_xcr0);
void xstate_restore(const void *area, uint64_t guest_xcr0);
/* PKRU as an area holds it: 0 when the area has no PKRU or it is in its init state. */
uint32_t xstate_pkru(const void *area);

/* struct kvm_fpu <-> the legacy (FXSAVE) part of an area. */
void xstate_get_fpu(const void *area, struct kvm_fpu *out);
/* -EINVAL (area untouched) when MXCSR sets a reserved bit. */
int xstate_set_fpu(void *area, const struct kvm_fpu *in);

/*
 * KVM_GET_XSAVE: the area as a standard-format XSAVE image (without XSAVE,
 * the FXSAVE image with XSTATE_BV = x87|SSE, as fpu_copy_guest_fpstate_to_uabi).
 */
void xstate_get_xsave(const void *area, struct kvm_xsave *out);

/*
 * KVM_SET_XSAVE, checked as copy_uabi_to_xstate(): XSTATE_BV only with
 * components the area holds, XCOMP_BV and the reserved header bytes 0, no
 * MXCSR bit outside the mask; -EINVAL and nothing changed otherwise.
 */
int xstate_set_xsave(void *area, const struct kvm_xsave *in);

#endif
