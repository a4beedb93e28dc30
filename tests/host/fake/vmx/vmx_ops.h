/* SPDX-License-Identifier: MIT */
/*
 * Host build: vmx/vmx_ops.h on the fake VMX unit (tests/host/fake_vmx.c).
 * The real header is included with its instruction wrappers renamed out of
 * the way, so its field list, width checks (vmcs_read16() and friends) and
 * constants are the real ones; the wrappers are then declared again under
 * their own names. The *_safe() ones are the fake instructions; the
 * checked ones keep the real contract (a failure is vmx_fail()).
 */
#ifndef TESTS_HOST_FAKE_VMX_VMX_OPS_H
#define TESTS_HOST_FAKE_VMX_VMX_OPS_H

#define vmx_read_error	   hvreal_vmx_read_error
#define vmx_result	   hvreal_vmx_result
#define vmxon		   hvreal_vmxon
#define vmxon_safe	   hvreal_vmxon_safe
#define vmclear		   hvreal_vmclear
#define vmclear_safe	   hvreal_vmclear_safe
#define vmptrld		   hvreal_vmptrld
#define vmptrld_safe	   hvreal_vmptrld_safe
#define vmcs_read_safe	   hvreal_vmcs_read_safe
#define vmcs_write_safe	   hvreal_vmcs_write_safe
#define vmcs_read_checked  hvreal_vmcs_read_checked
#define vmcs_write_checked hvreal_vmcs_write_checked
#define invept_safe	   hvreal_invept_safe
#define invvpid_safe	   hvreal_invvpid_safe

#include_next "vmx/vmx_ops.h"

#undef vmx_read_error
#undef vmx_result
#undef vmxon
#undef vmxon_safe
#undef vmclear
#undef vmclear_safe
#undef vmptrld
#undef vmptrld_safe
#undef vmcs_read_safe
#undef vmcs_write_safe
#undef vmcs_read_checked
#undef vmcs_write_checked
#undef invept_safe
#undef invvpid_safe

uint32_t vmx_read_error(void);
uint32_t vmxon_safe(uint64_t pa);
uint32_t vmclear_safe(uint64_t pa);
uint32_t vmptrld_safe(uint64_t pa);
uint32_t vmcs_read_safe(uint32_t enc, uint64_t *val);
uint32_t vmcs_write_safe(uint32_t enc, uint64_t val);
uint32_t invept_safe(uint64_t type, uint64_t eptp);
uint32_t invvpid_safe(uint64_t type, uint16_t vpid);

#define FAKE_VMX_CHECKED_PA(name)                                                                  \
	static inline void name(uint64_t pa)                                                       \
	{                                                                                          \
		uint32_t err = name##_safe(pa);                                                    \
		if (err)                                                                           \
			vmx_fail(#name, pa, err);                                                  \
	}
FAKE_VMX_CHECKED_PA(vmxon)
FAKE_VMX_CHECKED_PA(vmclear)
FAKE_VMX_CHECKED_PA(vmptrld)
#undef FAKE_VMX_CHECKED_PA

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

#endif
