/* SPDX-License-Identifier: MIT */
/*
 * The KVM ioctl requests this project knows, in one list: for each, the fds
 * it is served on and the shape of its argument. The hypervisor's dispatcher
 * (hv/kvm/kvm_api.c), the remote library (tools/libhvkvm/) and its fake peer
 * take sizes and names from here instead of knowing them each on their own.
 *
 * Three shapes:
 *   INT      no record: an integer argument of up to 8 bytes, or none
 *            (HV_IOC_DIR is HV_IOC_NONE, HV_IOC_SIZE 0)
 *   REC      a fixed record of HV_IOC_SIZE(nr) bytes
 *   ARR      a header of HV_IOC_SIZE(nr) bytes holding a count, followed by
 *            that many entries (kvm_msrs, kvm_msr_list, kvm_cpuid2)
 *
 * KVM_IOCTL_LIST(INT, REC, ARR) expands one of its three arguments per
 * request, in this order:
 *   INT(name, fds)
 *   REC(name, fds, record type)
 *   ARR(name, fds, header type, count member, entry type)
 * name is the request's macro in abi/kvm.h (Linux's name and number), fds a
 * mask of HV_FD_*: the kinds of fd it is served on. Requests with no fd
 * (HV_FD_NONE) are not served here; they are listed so that they have a
 * name and a known record length on the client side.
 *
 * Define ABI_KVM_IOCTLS_NO_KVM_H before including this header to expand the
 * list against another header that defines the same names (the unit test
 * measures it on Linux's <linux/kvm.h>).
 */
#ifndef ABI_KVM_IOCTLS_H
#define ABI_KVM_IOCTLS_H

#include <stddef.h>
#include <stdint.h>

#ifndef ABI_KVM_IOCTLS_NO_KVM_H
#include "kvm.h" /* same directory: works with or without -I. */
#endif

/* The kinds of fd a request is served on (a mask). */
#define HV_FD_NONE   0x0u /* named, not served */
#define HV_FD_SYSTEM 0x1u /* /dev/kvm */
#define HV_FD_VM     0x2u
#define HV_FD_VCPU   0x4u

enum hv_ioctl_shape {
	HV_SHAPE_INT,
	HV_SHAPE_RECORD,
	HV_SHAPE_COUNTED,
};

#define KVM_IOCTL_LIST(INT, REC, ARR)                                                              \
	INT(KVM_GET_API_VERSION, HV_FD_SYSTEM)                                                     \
	INT(KVM_CREATE_VM, HV_FD_SYSTEM)                                                           \
	ARR(KVM_GET_MSR_INDEX_LIST, HV_FD_SYSTEM, struct kvm_msr_list, nmsrs, uint32_t)            \
	INT(KVM_CHECK_EXTENSION, HV_FD_SYSTEM | HV_FD_VM)                                          \
	INT(KVM_GET_VCPU_MMAP_SIZE, HV_FD_SYSTEM)                                                  \
	ARR(KVM_GET_SUPPORTED_CPUID, HV_FD_SYSTEM, struct kvm_cpuid2, nent,                        \
	    struct kvm_cpuid_entry2)                                                               \
	ARR(KVM_GET_MSR_FEATURE_INDEX_LIST, HV_FD_SYSTEM, struct kvm_msr_list, nmsrs, uint32_t)    \
	INT(KVM_CREATE_VCPU, HV_FD_VM)                                                             \
	REC(KVM_SET_USER_MEMORY_REGION, HV_FD_VM, struct kvm_userspace_memory_region)              \
	INT(KVM_CREATE_IRQCHIP, HV_FD_VM)                                                          \
	REC(KVM_IRQ_LINE, HV_FD_VM, struct kvm_irq_level)                                          \
	REC(KVM_IRQ_LINE_STATUS, HV_FD_VM, struct kvm_irq_level)                                   \
	REC(KVM_GET_IRQCHIP, HV_FD_VM, struct kvm_irqchip)                                         \
	REC(KVM_SET_IRQCHIP, HV_FD_VM, struct kvm_irqchip)                                         \
	REC(KVM_SIGNAL_MSI, HV_FD_VM, struct kvm_msi)                                              \
	REC(KVM_X86_SET_MSR_FILTER, HV_FD_VM, struct kvm_msr_filter)                               \
	INT(KVM_RUN, HV_FD_VCPU)                                                                   \
	REC(KVM_GET_REGS, HV_FD_VCPU, struct kvm_regs)                                             \
	REC(KVM_SET_REGS, HV_FD_VCPU, struct kvm_regs)                                             \
	REC(KVM_GET_SREGS, HV_FD_VCPU, struct kvm_sregs)                                           \
	REC(KVM_SET_SREGS, HV_FD_VCPU, struct kvm_sregs)                                           \
	REC(KVM_INTERRUPT, HV_FD_VCPU, struct kvm_interrupt)                                       \
	REC(KVM_SET_GUEST_DEBUG, HV_FD_VCPU, struct kvm_guest_debug)                               \
	ARR(KVM_GET_MSRS, HV_FD_SYSTEM | HV_FD_VCPU, struct kvm_msrs, nmsrs, struct kvm_msr_entry) \
	ARR(KVM_SET_MSRS, HV_FD_VCPU, struct kvm_msrs, nmsrs, struct kvm_msr_entry)                \
	REC(KVM_GET_FPU, HV_FD_VCPU, struct kvm_fpu)                                               \
	REC(KVM_SET_FPU, HV_FD_VCPU, struct kvm_fpu)                                               \
	ARR(KVM_SET_CPUID2, HV_FD_VCPU, struct kvm_cpuid2, nent, struct kvm_cpuid_entry2)          \
	ARR(KVM_GET_CPUID2, HV_FD_VCPU, struct kvm_cpuid2, nent, struct kvm_cpuid_entry2)          \
	REC(KVM_GET_MP_STATE, HV_FD_VCPU, struct kvm_mp_state)                                     \
	REC(KVM_SET_MP_STATE, HV_FD_VCPU, struct kvm_mp_state)                                     \
	INT(KVM_NMI, HV_FD_VCPU)                                                                   \
	REC(KVM_GET_VCPU_EVENTS, HV_FD_VCPU, struct kvm_vcpu_events)                               \
	REC(KVM_SET_VCPU_EVENTS, HV_FD_VCPU, struct kvm_vcpu_events)                               \
	REC(KVM_GET_DEBUGREGS, HV_FD_VCPU, struct kvm_debugregs)                                   \
	REC(KVM_SET_DEBUGREGS, HV_FD_VCPU, struct kvm_debugregs)                                   \
	INT(KVM_SET_TSC_KHZ, HV_FD_VCPU)                                                           \
	INT(KVM_GET_TSC_KHZ, HV_FD_VCPU)                                                           \
	REC(KVM_GET_XSAVE, HV_FD_VCPU, struct kvm_xsave)                                           \
	REC(KVM_SET_XSAVE, HV_FD_VCPU, struct kvm_xsave)                                           \
	REC(KVM_GET_XCRS, HV_FD_VCPU, struct kvm_xcrs)                                             \
	REC(KVM_SET_XCRS, HV_FD_VCPU, struct kvm_xcrs)                                             \
	REC(KVM_GET_XSAVE2, HV_FD_VCPU, struct kvm_xsave)                                          \
	REC(KVM_GET_LAPIC, HV_FD_VCPU, struct kvm_lapic_state)                                     \
	REC(KVM_SET_LAPIC, HV_FD_VCPU, struct kvm_lapic_state)                                     \
	REC(KVM_ENABLE_CAP, HV_FD_VM | HV_FD_VCPU, struct kvm_enable_cap)                          \
	REC(KVM_GET_NESTED_STATE, HV_FD_NONE, struct kvm_nested_state)                             \
	REC(KVM_SET_NESTED_STATE, HV_FD_NONE, struct kvm_nested_state)

/* This project's own requests (abi/kvm_x86.h), in the same table after Linux's. */
#define HV_IOCTL_LIST(INT, REC, ARR)                                                               \
	REC(HV_ADD_MSR_ALLOWLIST, HV_FD_VM, struct hv_msr_allowlist)                               \
	INT(HV_CLEAR_MSR_ALLOWLIST, HV_FD_VM)

/* One request of the list, as a value. */
struct kvm_ioctl_desc {
	unsigned long nr;
	const char *name;    /* "KVM_GET_MSRS" */
	uint8_t fds;	     /* HV_FD_* */
	uint8_t shape;	     /* enum hv_ioctl_shape */
	uint8_t count_width; /* ARR: bytes of the count (1, 2, 4 or 8) */
	uint16_t size;	     /* sizeof the record or the header: HV_IOC_SIZE(nr) */
	uint16_t count_off;  /* ARR: offset of the count in the header */
	uint32_t entry_size; /* ARR: bytes of one entry */
};

/* The row of each shape as a struct kvm_ioctl_desc initialiser. */
#define KVM_IOCTL_DESC_INT(n, f) {.nr = (n), .name = #n, .fds = (f), .shape = HV_SHAPE_INT},
#define KVM_IOCTL_DESC_REC(n, f, rec)                                                              \
	{.nr = (n), .name = #n, .fds = (f), .shape = HV_SHAPE_RECORD, .size = sizeof(rec)},
#define KVM_IOCTL_DESC_ARR(n, f, hdr, count, entry)                                                \
	{.nr = (n),                                                                                \
	 .name = #n,                                                                               \
	 .fds = (f),                                                                               \
	 .shape = HV_SHAPE_COUNTED,                                                                \
	 .count_width = sizeof(((hdr *)0)->count),                                                 \
	 .size = sizeof(hdr),                                                                      \
	 .count_off = offsetof(hdr, count),                                                        \
	 .entry_size = sizeof(entry)},

/* The list, in its order (abi/kvm_ioctls.c). */
extern const struct kvm_ioctl_desc kvm_ioctls[];
extern const size_t kvm_ioctls_count;

/* The row of request @nr, or NULL for one the list does not know. */
const struct kvm_ioctl_desc *kvm_ioctl_find(unsigned long nr);

/* "KVM_GET_MSRS" for KVM_GET_MSRS; NULL for a request the list does not know. */
const char *kvm_ioctl_name(unsigned long nr);

/*
 * Bytes of a counted record @d (an ARR row) whose first @avail bytes are at
 * @rec: the header and as many entries as its count says. The count is
 * read only when the header is all within @avail; when it is not, the
 * header's size is returned (more than @avail: the record is not all
 * there). SIZE_MAX when the count makes the size overflow.
 */
size_t kvm_ioctl_counted_len(const struct kvm_ioctl_desc *d, const void *rec, size_t avail);

/*
 * Bytes of the argument record of request @nr whose first @avail bytes are
 * at @rec (SIZE_MAX for @avail: as many as the record says): a counted
 * record as kvm_ioctl_counted_len() says, anything else HV_IOC_SIZE(nr)
 * (0 for an integer argument; for a request the list does not know, what
 * its number says). A result above @avail means the record is not all
 * there.
 */
size_t kvm_ioctl_record_len(unsigned long nr, const void *rec, size_t avail);

/*
 * KVM_X86_SET_MSR_FILTER's record holds pointers: it travels marshalled,
 * as the struct kvm_msr_filter the caller holds (its bitmap pointers mean
 * nothing to the receiver) followed, for each range in order whose nmsrs
 * is 1 to KVM_MSR_FILTER_MAX_BITMAP_SIZE * 8, by that range's bitmap as
 * Linux copies it (kvm_add_msr_filter: BITS_TO_LONGS(nmsrs) longs):
 * kvm_msr_filter_bitmap_len(nmsrs) bytes. A range outside those limits
 * sends no bitmap (the receiver refuses it before it would read one).
 * kvm_ioctl_record_len() gives the marshalled length for this request.
 */
struct kvm_msr_filter;
struct hv_msr_allowlist;
size_t kvm_msr_filter_bitmap_len(uint32_t nmsrs);
/* HV_ADD_MSR_ALLOWLIST: the header, then (nmsrs + 7) / 8 bitmap bytes inline. */
size_t hv_msr_allowlist_len(const struct hv_msr_allowlist *a);
size_t kvm_msr_filter_wire_len(const struct kvm_msr_filter *f);

#endif
