/* SPDX-License-Identifier: MIT */
/*
 * x86 register and vCPU-state records of the KVM interface.
 *
 * The controller drives us with the same byte layouts a Linux/KVM user
 * program would use, so every record here has the size, field offsets and
 * field widths of the x86-64 Linux 6.1 user API ("asm/kvm.h"). Only the
 * record and constant names are Linux's; the header is written for this
 * project and compiles in the freestanding hypervisor (only <stdint.h> and
 * <stddef.h>) as well as in host programs. tests/unit/test_kvm_abi.c
 * compares every field and constant against the system's own headers.
 *
 * Include "abi/kvm.h" rather than this file; it pulls this one in.
 * This header and the system's <linux/kvm.h> define the same names, so a
 * translation unit can use only one of them.
 *
 * Layout rules followed throughout: fixed-width integer types only, every
 * hole the compiler would otherwise leave is spelled out as a named pad
 * field except where Linux leaves it implicit (noted below), and sizes that
 * ride in ioctl numbers are pinned by _Static_assert at the end.
 */
#ifndef ABI_KVM_X86_H
#define ABI_KVM_X86_H

#include <stddef.h>
#include <stdint.h>

#ifndef __x86_64__
#error                                                                                             \
    "abi/kvm_x86.h describes the x86-64 layouts (a 32-bit build would align uint64_t differently)"
#endif

#if defined(_ASM_X86_KVM_H) || defined(__LINUX_KVM_H)
#error "abi/kvm_x86.h and the system's KVM headers define the same names; include only one"
#endif

/* Offset, in pages of the vCPU mapping, of the port-I/O data page. */
#define KVM_PIO_PAGE_OFFSET 1

/* Interrupt vectors an x86 CPU has (size of kvm_sregs.interrupt_bitmap). */
#define KVM_NR_INTERRUPTS 256

/* kvm_run.flags bits on x86. */
#define KVM_RUN_X86_SMM	     (1 << 0) /* the vCPU was in SMM at exit */
#define KVM_RUN_X86_BUS_LOCK (1 << 1) /* a bus lock was detected */

/* ---- General-purpose registers (KVM_GET_REGS / KVM_SET_REGS) ---- */

struct kvm_regs {
	uint64_t rax;
	uint64_t rbx;
	uint64_t rcx;
	uint64_t rdx;
	uint64_t rsi;
	uint64_t rdi;
	uint64_t rsp;
	uint64_t rbp;
	uint64_t r8;
	uint64_t r9;
	uint64_t r10;
	uint64_t r11;
	uint64_t r12;
	uint64_t r13;
	uint64_t r14;
	uint64_t r15;
	uint64_t rip;
	uint64_t rflags;
};

/* ---- Segment and system registers (KVM_GET_SREGS / KVM_SET_SREGS) ---- */

/*
 * One segment register, descriptor cache unpacked into one byte per
 * attribute (type is the 4-bit descriptor type, s the code/data bit,
 * db the default-size bit, l the 64-bit bit, g granularity).
 */
struct kvm_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type;
	uint8_t present;
	uint8_t dpl;
	uint8_t db;
	uint8_t s;
	uint8_t l;
	uint8_t g;
	uint8_t avl;
	uint8_t unusable; /* VMX "segment unusable" access-rights bit */
	uint8_t padding;
};

/* GDTR or IDTR. */
struct kvm_dtable {
	uint64_t base;
	uint16_t limit;
	uint16_t padding[3];
};

struct kvm_sregs {
	struct kvm_segment cs;
	struct kvm_segment ds;
	struct kvm_segment es;
	struct kvm_segment fs;
	struct kvm_segment gs;
	struct kvm_segment ss;
	struct kvm_segment tr;
	struct kvm_segment ldt;
	struct kvm_dtable gdt;
	struct kvm_dtable idt;
	uint64_t cr0;
	uint64_t cr2;
	uint64_t cr3;
	uint64_t cr4;
	uint64_t cr8;
	uint64_t efer;
	uint64_t apic_base;
	/* One bit per vector: the external interrupt waiting for injection. */
	uint64_t interrupt_bitmap[(KVM_NR_INTERRUPTS + 63) / 64];
};

/* ---- x87/SSE state (KVM_GET_FPU / KVM_SET_FPU), FXSAVE-like ---- */

struct kvm_fpu {
	uint8_t fpr[8][16]; /* ST0..ST7, 10 significant bytes each */
	uint16_t fcw;
	uint16_t fsw;
	uint8_t ftwx; /* abridged tag word, as FXSAVE stores it */
	uint8_t pad1;
	uint16_t last_opcode;
	uint64_t last_ip;
	uint64_t last_dp;
	uint8_t xmm[16][16];
	uint32_t mxcsr;
	uint32_t pad2;
};

/* ---- MSRs (KVM_GET_MSRS / KVM_SET_MSRS / KVM_GET_MSR_INDEX_LIST) ---- */

struct kvm_msr_entry {
	uint32_t index;
	uint32_t reserved;
	uint64_t data;
};

/* Header of a variable-length request: nmsrs entries follow. */
struct kvm_msrs {
	uint32_t nmsrs;
	uint32_t pad;
	struct kvm_msr_entry entries[];
};

/* Header of a variable-length list of MSR indices. */
struct kvm_msr_list {
	uint32_t nmsrs;
	uint32_t indices[];
};

/* ---- MSR filter (KVM_X86_SET_MSR_FILTER) ---- */

#define KVM_MSR_FILTER_MAX_BITMAP_SIZE 0x600 /* bytes per range bitmap */
#define KVM_MSR_FILTER_MAX_RANGES      16

/* kvm_msr_filter_range.flags: which accesses the range's bitmap governs. */
#define KVM_MSR_FILTER_READ  (1 << 0)
#define KVM_MSR_FILTER_WRITE (1 << 1)

/* kvm_msr_filter.flags: verdict for MSRs no range covers. */
#define KVM_MSR_FILTER_DEFAULT_ALLOW (0 << 0)
#define KVM_MSR_FILTER_DEFAULT_DENY  (1 << 0)

/*
 * nmsrs consecutive MSRs from base; bit i of the caller's bitmap set means
 * access to MSR base+i is allowed. The pointer is the caller's address;
 * Linux leaves the 4-byte hole before it implicit, and so do we.
 */
struct kvm_msr_filter_range {
	uint32_t flags;
	uint32_t nmsrs;
	uint32_t base;
	uint8_t *bitmap;
};

struct kvm_msr_filter {
	uint32_t flags;
	struct kvm_msr_filter_range ranges[KVM_MSR_FILTER_MAX_RANGES];
};

/*
 * ---- MSR allow-lists: this project's extension (HV_ADD_MSR_ALLOWLIST) ----
 *
 * After the KVM_ADD_MSR_ALLOWLIST draft that preceded KVM_X86_SET_MSR_FILTER,
 * with what its review asked for. On a VM fd:
 *   HV_ADD_MSR_ALLOWLIST   adds one range: nmsrs MSRs from base, a bitmap of
 *                          (nmsrs + 7) / 8 bytes inline after the header,
 *                          bit i set allowing the accesses of flags to MSR
 *                          base + i. EINVAL: flags 0 or unknown, pad not 0,
 *                          nmsrs 0, base + nmsrs past 2^32, a range that
 *                          overlaps one already added, a length that is not
 *                          header + bitmap; E2BIG: a bitmap over
 *                          HV_MSR_ALLOWLIST_MAX_BITMAP bytes, or
 *                          HV_MSR_ALLOWLIST_MAX_RANGES ranges already there.
 *   HV_CLEAR_MSR_ALLOWLIST removes every range (no argument): all MSRs are
 *                          allowed again as far as allow-lists go. To replace
 *                          the set, clear it and add the new ranges.
 * While a VM has at least one range, a guest access is allowed by the
 * allow-lists only if a range covers the MSR, has the access's flag and has
 * its bit set. It is allowed at all only if the allow-lists and the MSR
 * filter (KVM_X86_SET_MSR_FILTER) both allow it; a denial by either counts
 * as KVM_MSR_EXIT_REASON_FILTER for KVM_CAP_X86_USER_SPACE_MSR. As with the
 * filter, x2APIC MSRs (0x800-0x8ff) and host accesses (KVM_GET/SET_MSRS)
 * are never denied. KVM_CHECK_EXTENSION(HV_CAP_MSR_ALLOWLIST) answers
 * HV_MSR_ALLOWLIST_MAX_RANGES.
 */
#define HV_MSR_ALLOW_READ	    (1 << 0)
#define HV_MSR_ALLOW_WRITE	    (1 << 1)
#define HV_MSR_ALLOWLIST_MAX_RANGES 10
#define HV_MSR_ALLOWLIST_MAX_BITMAP 0x600

struct hv_msr_allowlist {
	uint32_t flags; /* HV_MSR_ALLOW_READ and/or _WRITE */
	uint32_t nmsrs;
	uint32_t base;
	uint32_t pad;	  /* 0 */
	uint8_t bitmap[]; /* (nmsrs + 7) / 8 bytes */
};

/* ---- CPUID (KVM_GET_SUPPORTED_CPUID, KVM_SET_CPUID2, KVM_GET_CPUID2) ---- */

/* kvm_cpuid_entry2.flags ("SIGNIFCANT" is Linux's spelling, kept). */
#define KVM_CPUID_FLAG_SIGNIFCANT_INDEX (1 << 0) /* index (ECX in) matters */
#define KVM_CPUID_FLAG_STATEFUL_FUNC	(1 << 1)
#define KVM_CPUID_FLAG_STATE_READ_NEXT	(1 << 2)

struct kvm_cpuid_entry2 {
	uint32_t function; /* EAX in */
	uint32_t index;	   /* ECX in */
	uint32_t flags;
	uint32_t eax;
	uint32_t ebx;
	uint32_t ecx;
	uint32_t edx;
	uint32_t padding[3];
};

/* Header of a variable-length table: nent entries follow. */
struct kvm_cpuid2 {
	uint32_t nent;
	uint32_t padding;
	struct kvm_cpuid_entry2 entries[];
};

/* ---- Exit details of KVM_EXIT_DEBUG ---- */

struct kvm_debug_exit_arch {
	uint32_t exception; /* vector: 1 (#DB) or 3 (#BP) */
	uint32_t pad;
	uint64_t pc;
	uint64_t dr6;
	uint64_t dr7;
};

/* ---- Guest debugging (KVM_SET_GUEST_DEBUG), x86 part ---- */

/* control bits beyond KVM_GUESTDBG_ENABLE / _SINGLESTEP (kvm.h) */
#define KVM_GUESTDBG_USE_SW_BP 0x00010000 /* INT3 exits with KVM_EXIT_DEBUG */
#define KVM_GUESTDBG_USE_HW_BP 0x00020000
#define KVM_GUESTDBG_INJECT_DB 0x00040000
#define KVM_GUESTDBG_INJECT_BP 0x00080000 /* hand the #BP back to the guest */
#define KVM_GUESTDBG_BLOCKIRQ  0x00100000

struct kvm_guest_debug_arch {
	uint64_t debugreg[8];
};

/* ---- Pending events (KVM_GET_VCPU_EVENTS / KVM_SET_VCPU_EVENTS) ---- */

/* kvm_vcpu_events.flags: which optional parts a SET should apply. */
#define KVM_VCPUEVENT_VALID_NMI_PENDING	 0x00000001
#define KVM_VCPUEVENT_VALID_SIPI_VECTOR	 0x00000002
#define KVM_VCPUEVENT_VALID_SHADOW	 0x00000004
#define KVM_VCPUEVENT_VALID_SMM		 0x00000008
#define KVM_VCPUEVENT_VALID_PAYLOAD	 0x00000010
#define KVM_VCPUEVENT_VALID_TRIPLE_FAULT 0x00000020

/* kvm_vcpu_events.interrupt.shadow bits. */
#define KVM_X86_SHADOW_INT_MOV_SS 0x01
#define KVM_X86_SHADOW_INT_STI	  0x02

struct kvm_vcpu_events {
	struct {
		uint8_t injected;
		uint8_t nr;
		uint8_t has_error_code;
		uint8_t pending;
		uint32_t error_code;
	} exception;
	struct {
		uint8_t injected;
		uint8_t nr;
		uint8_t soft;
		uint8_t shadow; /* KVM_X86_SHADOW_INT_* */
	} interrupt;
	struct {
		uint8_t injected;
		uint8_t pending;
		uint8_t masked;
		uint8_t pad;
	} nmi;
	uint32_t sipi_vector;
	uint32_t flags; /* KVM_VCPUEVENT_VALID_* */
	struct {
		uint8_t smm;
		uint8_t pending;
		uint8_t smm_inside_nmi;
		uint8_t latched_init;
	} smi;
	struct {
		uint8_t pending;
	} triple_fault;
	uint8_t reserved[26];
	uint8_t exception_has_payload;
	uint64_t exception_payload; /* CR2 of a #PF, DR6 bits of a #DB */
};

/* ---- Debug registers (KVM_GET_DEBUGREGS / KVM_SET_DEBUGREGS) ---- */

struct kvm_debugregs {
	uint64_t db[4]; /* DR0..DR3 */
	uint64_t dr6;
	uint64_t dr7;
	uint64_t flags;
	uint64_t reserved[9];
};

/* ---- In-kernel irqchip state (KVM_GET/SET_IRQCHIP, KVM_GET/SET_LAPIC) ---- */

/* One 8259 as KVM_GET_IRQCHIP reports it (chip 0: master, 1: slave). */
struct kvm_pic_state {
	uint8_t last_irr; /* edge detection */
	uint8_t irr;
	uint8_t imr;
	uint8_t isr;
	uint8_t priority_add; /* the lowest-priority IRQ + 1 */
	uint8_t irq_base;     /* ICW2 */
	uint8_t read_reg_select;
	uint8_t poll;
	uint8_t special_mask;
	uint8_t init_state;
	uint8_t auto_eoi;
	uint8_t rotate_on_auto_eoi;
	uint8_t special_fully_nested_mode;
	uint8_t init4; /* ICW4 expected */
	uint8_t elcr;  /* edge/level control (ports 0x4d0/0x4d1) */
	uint8_t elcr_mask;
};

#define KVM_IOAPIC_NUM_PINS 24

/* The IOAPIC (chip 2); redirtbl entries are the 64-bit redirection registers. */
struct kvm_ioapic_state {
	uint64_t base_address;
	uint32_t ioregsel;
	uint32_t id;
	uint32_t irr;
	uint32_t pad;
	union {
		uint64_t bits;
		struct {
			uint8_t vector;
			uint8_t delivery_mode : 3;
			uint8_t dest_mode : 1;
			uint8_t delivery_status : 1;
			uint8_t polarity : 1;
			uint8_t remote_irr : 1;
			uint8_t trig_mode : 1;
			uint8_t mask : 1;
			uint8_t reserve : 7;
			uint8_t reserved[4];
			uint8_t dest_id;
		} fields;
	} redirtbl[KVM_IOAPIC_NUM_PINS];
};

#define KVM_IRQCHIP_PIC_MASTER 0
#define KVM_IRQCHIP_PIC_SLAVE  1
#define KVM_IRQCHIP_IOAPIC     2
#define KVM_NR_IRQCHIPS	       3

/* The local APIC's register page: each register at its xAPIC MMIO offset. */
#define KVM_APIC_REG_SIZE 0x400

struct kvm_lapic_state {
	char regs[KVM_APIC_REG_SIZE];
};

/* ---- Extended state (KVM_GET_XSAVE / KVM_SET_XSAVE): an XSAVE image ---- */

/* The standard (not compacted) XSAVE layout, 4 KiB: legacy region, header, components. */
struct kvm_xsave {
	uint32_t region[1024];
};

/* ---- Extended control registers (KVM_GET_XCRS / KVM_SET_XCRS) ---- */

#define KVM_MAX_XCRS 16

struct kvm_xcr {
	uint32_t xcr; /* 0: XCR0 */
	uint32_t reserved;
	uint64_t value;
};

struct kvm_xcrs {
	uint32_t nr_xcrs;
	uint32_t flags;
	struct kvm_xcr xcrs[KVM_MAX_XCRS];
	uint64_t padding[16];
};

/* ---- Registers mirrored in kvm_run.s (KVM_CAP_SYNC_REGS) ---- */

/* Bits of kvm_run.kvm_valid_regs / kvm_dirty_regs. */
#define KVM_SYNC_X86_REGS	  (1UL << 0)
#define KVM_SYNC_X86_SREGS	  (1UL << 1)
#define KVM_SYNC_X86_EVENTS	  (1UL << 2)
#define KVM_SYNC_X86_VALID_FIELDS (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS)

/*
 * The caller can rewrite this page while we read it: copy a set out once
 * and validate the copy, never the shared original.
 */
struct kvm_sync_regs {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events events;
};

/*
 * This hypervisor's extension sets (not in Linux): the debug registers, the
 * FPU and up to HV_SYNC_REGS_NUM_MSRS chosen MSRs. They live in kvm_run.s
 * right after upstream's struct kvm_sync_regs, so a client built against
 * Linux's headers sees an identical layout; KVM_CHECK_EXTENSION
 * (KVM_CAP_SYNC_REGS) reports them in its mask. Bits 16 and up stay clear of
 * any set Linux may add.
 *
 *  HV_SYNC_X86_DEBUGREGS  s.hv.debugregs, as KVM_GET/SET_DEBUGREGS
 *  HV_SYNC_X86_FPU        s.hv.fpu, as KVM_GET/SET_FPU
 *  HV_SYNC_X86_MSRS       s.hv.msrs: nmsrs entries, as KVM_GET/SET_MSRS.
 *                         nmsrs above 8 is E2BIG, 0 when loading is EINVAL,
 *                         and a count that changed while the entries were
 *                         copied is EINVAL; a store fills the data of the
 *                         entries the caller named.
 */
#define HV_SYNC_X86_DEBUGREGS (1UL << 16)
#define HV_SYNC_X86_FPU	      (1UL << 17)
#define HV_SYNC_X86_MSRS      (1UL << 18)
#define HV_SYNC_REGS_NUM_MSRS 8

struct hv_sync_msrs {
	uint32_t nmsrs;
	uint32_t pad;
	struct kvm_msr_entry entries[HV_SYNC_REGS_NUM_MSRS];
};

struct hv_sync_regs {
	struct kvm_sync_regs kvm; /* upstream's sets, at offset 0 */
	struct kvm_debugregs debugregs;
	struct kvm_fpu fpu;
	struct hv_sync_msrs msrs;
};

/* ---- Nested virtualisation state (KVM_GET/SET_NESTED_STATE) ---- */

/* kvm_nested_state.format */
#define KVM_STATE_NESTED_FORMAT_VMX 0
#define KVM_STATE_NESTED_FORMAT_SVM 1

/* kvm_nested_state.flags */
#define KVM_STATE_NESTED_GUEST_MODE  0x00000001 /* L2 was running */
#define KVM_STATE_NESTED_RUN_PENDING 0x00000002 /* VM entry to L2 not done */
#define KVM_STATE_NESTED_EVMCS	     0x00000004
#define KVM_STATE_NESTED_MTF_PENDING 0x00000008
#define KVM_STATE_NESTED_GIF_SET     0x00000100

/* kvm_vmx_nested_state_hdr.smm.flags */
#define KVM_STATE_NESTED_SMM_GUEST_MODE 0x00000001
#define KVM_STATE_NESTED_SMM_VMXON	0x00000002

/* Bytes of one VMCS12 image, and of one VMCB12 image. */
#define KVM_STATE_NESTED_VMX_VMCS_SIZE 0x1000
#define KVM_STATE_NESTED_SVM_VMCB_SIZE 0x1000

/* kvm_vmx_nested_state_hdr.flags */
#define KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE 0x00000001

struct kvm_vmx_nested_state_hdr {
	uint64_t vmxon_pa;  /* all ones: L1 is not in VMX operation */
	uint64_t vmcs12_pa; /* all ones: no current VMCS */
	struct {
		uint16_t flags; /* KVM_STATE_NESTED_SMM_* */
	} smm;
	uint16_t pad;
	uint32_t flags; /* KVM_STATE_VMX_* */
	uint64_t preemption_timer_deadline;
};

struct kvm_vmx_nested_state_data {
	uint8_t vmcs12[KVM_STATE_NESTED_VMX_VMCS_SIZE];
	uint8_t shadow_vmcs12[KVM_STATE_NESTED_VMX_VMCS_SIZE];
};

/* AMD forms, present so the header union has its ABI size. */
struct kvm_svm_nested_state_hdr {
	uint64_t vmcb_pa;
};

struct kvm_svm_nested_state_data {
	uint8_t vmcb12[KVM_STATE_NESTED_SVM_VMCB_SIZE];
};

/*
 * A fixed 128-byte header; the format-specific data follows it, and size
 * counts header plus data. The data member is a zero-length array so the
 * header's sizeof (and so the ioctl numbers) stays 128.
 */
struct kvm_nested_state {
	uint16_t flags;	 /* KVM_STATE_NESTED_* */
	uint16_t format; /* KVM_STATE_NESTED_FORMAT_* */
	uint32_t size;
	union {
		struct kvm_vmx_nested_state_hdr vmx;
		struct kvm_svm_nested_state_hdr svm;
		uint8_t pad[120];
	} hdr;
	__extension__ union {
		struct kvm_vmx_nested_state_data vmx[0];
		struct kvm_svm_nested_state_data svm[0];
	} data;
};

/* ---- Sizes that are part of the ABI ---- */

_Static_assert(sizeof(struct kvm_regs) == 144, "kvm_regs");
_Static_assert(sizeof(struct kvm_segment) == 24, "kvm_segment");
_Static_assert(sizeof(struct kvm_dtable) == 16, "kvm_dtable");
_Static_assert(sizeof(struct kvm_sregs) == 312, "kvm_sregs");
_Static_assert(offsetof(struct kvm_sregs, cr0) == 224, "kvm_sregs.cr0");
_Static_assert(sizeof(struct kvm_fpu) == 416, "kvm_fpu");
_Static_assert(offsetof(struct kvm_fpu, xmm) == 152, "kvm_fpu.xmm");
_Static_assert(sizeof(struct kvm_msr_entry) == 16, "kvm_msr_entry");
_Static_assert(sizeof(struct kvm_msrs) == 8, "kvm_msrs");
_Static_assert(sizeof(struct kvm_msr_list) == 4, "kvm_msr_list");
_Static_assert(sizeof(struct kvm_msr_filter_range) == 24, "kvm_msr_filter_range");
_Static_assert(sizeof(struct kvm_msr_filter) == 392, "kvm_msr_filter");
_Static_assert(sizeof(struct kvm_cpuid_entry2) == 40, "kvm_cpuid_entry2");
_Static_assert(sizeof(struct kvm_cpuid2) == 8, "kvm_cpuid2");
_Static_assert(sizeof(struct kvm_debug_exit_arch) == 32, "kvm_debug_exit_arch");
_Static_assert(sizeof(struct kvm_vcpu_events) == 64, "kvm_vcpu_events");
_Static_assert(offsetof(struct kvm_vcpu_events, exception_payload) == 56,
	       "kvm_vcpu_events.exception_payload");
_Static_assert(sizeof(struct kvm_debugregs) == 128, "kvm_debugregs");
_Static_assert(sizeof(struct kvm_sync_regs) == 520, "kvm_sync_regs");
_Static_assert(__builtin_offsetof(struct hv_sync_regs, debugregs) == 520, "hv_sync_regs");
_Static_assert(sizeof(struct hv_sync_regs) == 520 + 128 + 416 + 136, "hv_sync_regs");
_Static_assert(sizeof(struct kvm_vmx_nested_state_hdr) == 32, "kvm_vmx_nested_state_hdr");
_Static_assert(sizeof(struct kvm_vmx_nested_state_data) == 8192, "kvm_vmx_nested_state_data");
_Static_assert(sizeof(struct kvm_nested_state) == 128, "kvm_nested_state");
_Static_assert(offsetof(struct kvm_nested_state, data) == 128, "kvm_nested_state.data");

#endif
