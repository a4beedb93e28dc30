// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <string.h>

#include "abi/errno.h"
#include "hv/lib/log.h"
#include "hv/lib/x86.h"
#include "vmx/xstate.h"

/* The FXSAVE image (SDM Vol. 1, 10.5.1), also XSAVE's legacy region. */
#define FX_FCW	      0
#define FX_FSW	      2
#define FX_FTW	      4
#define FX_FOP	      6
#define FX_FIP	      8
#define FX_FDP	      16
#define FX_MXCSR      24
#define FX_MXCSR_MASK 28
#define FX_ST0	      32
#define FX_XMM0	      160
#define FX_SIZE	      512
#define XSAVE_HEADER  512 /* XSTATE_BV, XCOMP_BV, reserved: 64 bytes */
#define XSAVE_MIN     (XSAVE_HEADER + 64)

#define FCW_RESET	   0x037f
#define MXCSR_RESET	   0x1f80
#define MXCSR_MASK_DEFAULT 0xffbf /* when FXSAVE stores a zero mask */

#define CR4_OSFXSR     (1ul << 9)
#define CR4_OSXMMEXCPT (1ul << 10)

/*
 * Components a save area holds: x87, SSE, AVX, the three AVX-512 parts and
 * PKRU. AMX tile data (and its XFD machinery) is left out, so a guest may
 * not enable it.
 */
#define XCR0_HELD 0x2e7ull

static bool use_xsave;
static uint64_t all_xcr0; /* what XCR0 is set to while an area is moved */
static size_t area_size = FX_SIZE;
static uint32_t mxcsr_mask = MXCSR_MASK_DEFAULT;

__attribute__((noinline)) static void xstate_hw_fxsave(void *area)
{
	__asm__ volatile("fxsave64 %0" : "=m"(*(uint8_t(*)[FX_SIZE])area));
}

__attribute__((noinline)) static void xstate_hw_fxrstor(const void *area)
{
	__asm__ volatile("fxrstor64 %0" ::"m"(*(const uint8_t(*)[FX_SIZE])area));
}

__attribute__((noinline)) static void xstate_hw_xsave(void *area)
{
	__asm__ volatile("xsave64 (%0)" ::"r"(area), "a"(~0u), "d"(~0u) : "memory");
}

__attribute__((noinline)) static void xstate_hw_xrstor(const void *area)
{
	__asm__ volatile("xrstor64 (%0)" ::"r"(area), "a"(~0u), "d"(~0u) : "memory");
}

void xstate_init(void)
{
	uint8_t probe[FX_SIZE] __attribute__((aligned(64)));
	uint32_t mask;

	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	use_xsave = read_cr4() & CR4_OSXSAVE;
	if (use_xsave) {
		struct cpuid_regs d = cpuid(0xd, 0);
		uint64_t supported = ((uint64_t)d.edx << 32) | d.eax;

		all_xcr0 = supported & XCR0_HELD;
		xsetbv(0, all_xcr0);
		area_size = cpuid(0xd, 0).ebx; /* for the XCR0 now in force */
		if (area_size < XSAVE_MIN)
			area_size = XSAVE_MIN;
		xsetbv(0, 1);
	}
	memset(probe, 0, sizeof(probe));
	xstate_hw_fxsave(probe);
	memcpy(&mask, probe + FX_MXCSR_MASK, sizeof(mask));
	if (mask)
		mxcsr_mask = mask;
	log_info("xstate: guest FPU state saved with %s, %zu-byte areas, XCR0 up to 0x%llx, MXCSR "
		 "mask 0x%x",
		 use_xsave ? "XSAVE" : "FXSAVE", area_size, (unsigned long long)all_xcr0,
		 mxcsr_mask);
}

size_t xstate_area_size(void)
{
	return area_size;
}

uint64_t xstate_guest_xcr0_mask(void)
{
	return use_xsave ? all_xcr0 : 1;
}

void xstate_area_reset(void *area)
{
	uint16_t fcw = FCW_RESET;
	uint32_t mxcsr = MXCSR_RESET;

	memset(area, 0, area_size);
	memcpy((uint8_t *)area + FX_FCW, &fcw, sizeof(fcw));
	memcpy((uint8_t *)area + FX_MXCSR, &mxcsr, sizeof(mxcsr));
	/* XSTATE_BV = 0: XRSTOR puts every other component in its init state. */
}

void xstate_save(void *area, uint64_t guest_xcr0)
{
	if (!use_xsave)
		return xstate_hw_fxsave(area);
	/* Everything the area holds, whatever the guest enabled. */
	xsetbv(0, all_xcr0);
	xstate_hw_xsave(area);
	xsetbv(0, guest_xcr0);
}

void xstate_restore(const void *area, uint64_t guest_xcr0)
{
	if (!use_xsave)
		return xstate_hw_fxrstor(area);
	xsetbv(0, all_xcr0);
	xstate_hw_xrstor(area);
	xsetbv(0, guest_xcr0);
}

#define XCR0_PKRU (1ull << 9)

uint32_t xstate_pkru(const void *area)
{
	const uint8_t *a = area;
	uint64_t xstate_bv;
	uint32_t pkru = 0;

	if (!use_xsave || !(all_xcr0 & XCR0_PKRU))
		return 0;
	memcpy(&xstate_bv, a + XSAVE_HEADER, 8);
	if (xstate_bv & XCR0_PKRU) /* standard format: CPUID.(0xd, 9).EBX is its offset */
		memcpy(&pkru, a + cpuid(0xd, 9).ebx, sizeof(pkru));
	return pkru;
}

void xstate_get_fpu(const void *area, struct kvm_fpu *out)
{
	const uint8_t *a = area;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < 8; i++)
		memcpy(out->fpr[i], a + FX_ST0 + 16 * i, 10);
	memcpy(&out->fcw, a + FX_FCW, 2);
	memcpy(&out->fsw, a + FX_FSW, 2);
	out->ftwx = a[FX_FTW];
	memcpy(&out->last_opcode, a + FX_FOP, 2);
	memcpy(&out->last_ip, a + FX_FIP, 8);
	memcpy(&out->last_dp, a + FX_FDP, 8);
	memcpy(out->xmm, a + FX_XMM0, sizeof(out->xmm));
	memcpy(&out->mxcsr, a + FX_MXCSR, 4);
}

void xstate_get_xsave(const void *area, struct kvm_xsave *out)
{
	uint8_t *o = (uint8_t *)out->region;

	memset(out, 0, sizeof(*out));
	if (!use_xsave) {
		memcpy(o, area, FX_SIZE);
		o[XSAVE_HEADER] = 3; /* XSTATE_BV: x87 and SSE */
		return;
	}
	memcpy(o, area, area_size < sizeof(*out) ? area_size : sizeof(*out));
}

int xstate_set_xsave(void *area, const struct kvm_xsave *in)
{
	const uint8_t *p = (const uint8_t *)in->region;
	uint64_t xstate_bv, xcomp_bv;
	uint32_t mxcsr;

	memcpy(&xstate_bv, p + XSAVE_HEADER, 8);
	memcpy(&xcomp_bv, p + XSAVE_HEADER + 8, 8);
	memcpy(&mxcsr, p + FX_MXCSR, 4);
	/* Without XSAVE the image is FXSAVE's: x87 and SSE, as KVM_GET_XSAVE gives it. */
	if (xstate_bv & ~(use_xsave ? all_xcr0 : 3) || xcomp_bv || (mxcsr & ~mxcsr_mask))
		return -HV_EINVAL;
	for (unsigned i = 16; i < 64; i++)
		if (p[XSAVE_HEADER + i])
			return -HV_EINVAL; /* reserved header bytes */
	if (!use_xsave) {
		memcpy(area, p, FX_SIZE);
		return 0;
	}
	memcpy(area, p, area_size < sizeof(*in) ? area_size : sizeof(*in));
	return 0;
}

int xstate_set_fpu(void *area, const struct kvm_fpu *in)
{
	uint8_t *a = area;
	uint32_t mxcsr = in->mxcsr;

	if (mxcsr & ~mxcsr_mask)
		return -HV_EINVAL; /* FXRSTOR/XRSTOR would fault on it */
	for (int i = 0; i < 8; i++) {
		memcpy(a + FX_ST0 + 16 * i, in->fpr[i], 10);
		memset(a + FX_ST0 + 16 * i + 10, 0, 6);
	}
	memcpy(a + FX_FCW, &in->fcw, 2);
	memcpy(a + FX_FSW, &in->fsw, 2);
	a[FX_FTW] = in->ftwx;
	memcpy(a + FX_FOP, &in->last_opcode, 2);
	memcpy(a + FX_FIP, &in->last_ip, 8);
	memcpy(a + FX_FDP, &in->last_dp, 8);
	memcpy(a + FX_XMM0, in->xmm, sizeof(in->xmm));
	memcpy(a + FX_MXCSR, &mxcsr, 4);
	if (use_xsave)
		a[XSAVE_HEADER] |= 3; /* XSTATE_BV: x87 and SSE come from the area */
	return 0;
}
