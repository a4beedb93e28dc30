/* SPDX-License-Identifier: MIT */
/*
 * VMX instructions in two tiers:
 *  - *_safe() return 0 or a VM-instruction error (VMX_ERR_*), for callers
 *    that can handle a failure (entry checks, user-supplied state);
 *  - the plain ones treat a failure as a hypervisor bug: vmx_fail() names
 *    the instruction, field and error and stops with a dump.
 * VMCS field accessors are width-typed: a constant encoding of the wrong
 * width is a build error, not a silent truncation.
 */
#ifndef VMX_VMX_OPS_H
#define VMX_VMX_OPS_H

#include <stdint.h>

#include "vmx/vmcs_fields.h"

/* VMfailInvalid (CF=1): no current VMCS, so no error number exists. */
#define VMX_ERR_FAIL_INVALID 0xffffffffu

/* The SDM's name for a VM-instruction error number ("?" if unknown). */
const char *vmx_error_name(uint32_t err);

void vmx_fail(const char *insn, uint64_t operand, uint32_t err) __attribute__((noreturn));

/* VMfailValid (ZF=1): the error number is in the current VMCS. */
static inline uint32_t vmx_read_error(void)
{
	uint64_t v = 0;

	__asm__ volatile("vmread %1, %0"
			 : "=rm"(v)
			 : "r"((uint64_t)VMCS_VM_INSTRUCTION_ERROR)
			 : "cc");
	return (uint32_t)v;
}

/* Turn the flags after a VMX instruction into 0 or an error number. */
static inline uint32_t vmx_result(uint8_t cf, uint8_t zf)
{
	if (cf)
		return VMX_ERR_FAIL_INVALID;
	return zf ? vmx_read_error() : 0;
}

#define VMX_INSN_PA(name, mnemonic)                                                                \
	static inline uint32_t name##_safe(uint64_t pa)                                            \
	{                                                                                          \
		uint8_t cf, zf;                                                                    \
		__asm__ volatile(mnemonic " %2" : "=@ccc"(cf), "=@ccz"(zf) : "m"(pa) : "memory");  \
		return vmx_result(cf, zf);                                                         \
	}                                                                                          \
	static inline void name(uint64_t pa)                                                       \
	{                                                                                          \
		uint32_t err = name##_safe(pa);                                                    \
		if (err)                                                                           \
			vmx_fail(mnemonic, pa, err);                                               \
	}
VMX_INSN_PA(vmxon, "vmxon")
VMX_INSN_PA(vmclear, "vmclear")
VMX_INSN_PA(vmptrld, "vmptrld")
#undef VMX_INSN_PA

static inline uint32_t vmcs_read_safe(uint32_t enc, uint64_t *val)
{
	uint8_t cf, zf;
	uint64_t v = 0;

	__asm__ volatile("vmread %3, %0"
			 : "=rm"(v), "=@ccc"(cf), "=@ccz"(zf)
			 : "r"((uint64_t)enc)
			 : "memory");
	*val = v;
	return vmx_result(cf, zf);
}

static inline uint32_t vmcs_write_safe(uint32_t enc, uint64_t val)
{
	uint8_t cf, zf;

	__asm__ volatile("vmwrite %3, %2"
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : "r"((uint64_t)enc), "rm"(val)
			 : "memory");
	return vmx_result(cf, zf);
}

static inline uint64_t vmcs_read_checked(uint32_t enc)
{
	uint64_t v;
	uint32_t err = vmcs_read_safe(enc, &v);

	if (err)
		vmx_fail("vmread", enc, err);
	return v;
}

static inline void vmcs_write_checked(uint32_t enc, uint64_t val)
{
	uint32_t err = vmcs_write_safe(enc, val);

	if (err)
		vmx_fail("vmwrite", enc, err);
}

/* Called (and so failing the link with its message) on a width mismatch. */
extern void vmcs_field_width_mismatch(void)
    __attribute__((error("VMCS field accessed with the wrong width")));

#define VMCS_CHECK_WIDTH(enc, w)                                                                   \
	do {                                                                                       \
		if (__builtin_constant_p(enc) && VMCS_WIDTH(enc) != (w))                           \
			vmcs_field_width_mismatch();                                               \
	} while (0)

#define vmcs_read16(enc)                                                                           \
	({                                                                                         \
		VMCS_CHECK_WIDTH(enc, VMCS_W16);                                                   \
		(uint16_t) vmcs_read_checked(enc);                                                 \
	})
#define vmcs_read32(enc)                                                                           \
	({                                                                                         \
		VMCS_CHECK_WIDTH(enc, VMCS_W32);                                                   \
		(uint32_t) vmcs_read_checked(enc);                                                 \
	})
#define vmcs_read64(enc)                                                                           \
	({                                                                                         \
		VMCS_CHECK_WIDTH(enc, VMCS_W64);                                                   \
		vmcs_read_checked(enc);                                                            \
	})
#define vmcs_readl(enc)                                                                            \
	({                                                                                         \
		VMCS_CHECK_WIDTH(enc, VMCS_WNAT);                                                  \
		vmcs_read_checked(enc);                                                            \
	})
#define vmcs_write16(enc, v)                                                                       \
	do {                                                                                       \
		VMCS_CHECK_WIDTH(enc, VMCS_W16);                                                   \
		vmcs_write_checked(enc, (uint16_t)(v));                                            \
	} while (0)
#define vmcs_write32(enc, v)                                                                       \
	do {                                                                                       \
		VMCS_CHECK_WIDTH(enc, VMCS_W32);                                                   \
		vmcs_write_checked(enc, (uint32_t)(v));                                            \
	} while (0)
#define vmcs_write64(enc, v)                                                                       \
	do {                                                                                       \
		VMCS_CHECK_WIDTH(enc, VMCS_W64);                                                   \
		vmcs_write_checked(enc, (uint64_t)(v));                                            \
	} while (0)
#define vmcs_writel(enc, v)                                                                        \
	do {                                                                                       \
		VMCS_CHECK_WIDTH(enc, VMCS_WNAT);                                                  \
		vmcs_write_checked(enc, (uint64_t)(v));                                            \
	} while (0)

struct invept_desc {
	uint64_t eptp, reserved;
};

struct invvpid_desc {
	uint64_t vpid, gla;
};

#define INVEPT_SINGLE_CONTEXT  1
#define INVEPT_ALL_CONTEXT     2
#define INVVPID_SINGLE_CONTEXT 1
#define INVVPID_ALL_CONTEXT    2

static inline uint32_t invept_safe(uint64_t type, uint64_t eptp)
{
	struct invept_desc d = {eptp, 0};
	uint8_t cf, zf;

	__asm__ volatile("invept %2, %3" : "=@ccc"(cf), "=@ccz"(zf) : "m"(d), "r"(type) : "memory");
	return vmx_result(cf, zf);
}

static inline uint32_t invvpid_safe(uint64_t type, uint16_t vpid)
{
	struct invvpid_desc d = {vpid, 0};
	uint8_t cf, zf;

	__asm__ volatile("invvpid %2, %3"
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : "m"(d), "r"(type)
			 : "memory");
	return vmx_result(cf, zf);
}

#endif
