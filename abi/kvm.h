/* SPDX-License-Identifier: MIT */
/*
 * The KVM-shaped interface between the remote controller and the hypervisor.
 *
 * Requests carry Linux KVM ioctl numbers and Linux KVM records, byte for
 * byte: sizes, offsets, field widths and constant values are those of the
 * x86-64 Linux 6.1 user API (<linux/kvm.h> with <asm/kvm.h>). Names are
 * Linux's too, so a controller written against KVM reads naturally; the text
 * of this header is the project's own. x86 register and state records are in
 * abi/kvm_x86.h, included below.
 *
 * Works in the freestanding hypervisor (-ffreestanding -nostdinc with newlib:
 * only <stdint.h> and <stddef.h>) and in host programs. It cannot share a
 * translation unit with the system's <linux/kvm.h>: the names collide.
 * tests/unit/test_kvm_abi.c checks every field, constant and ioctl number
 * here against the system headers.
 *
 * Only what the hypervisor implements or reports is defined: the x86 subset,
 * no s390/PowerPC/Arm/RISC-V records and no in-kernel irqchip.
 */
#ifndef ABI_KVM_H
#define ABI_KVM_H

#include <stddef.h>
#include <stdint.h>

#include "kvm_x86.h" /* same directory: works with or without -I. */

/* ---- ioctl number encoding ----
 *
 * A request number packs, from bit 0 up: the command number (8 bits), the
 * interface type (8 bits, KVMIO for KVM), the size of the argument record
 * (14 bits) and the direction of the copy (2 bits; "read" means the caller
 * reads the record back). Project names, so that host programs can include
 * <sys/ioctl.h> alongside; the values and the C types of the results (an
 * unsigned int for HV_IO, an unsigned long once a size is involved) are the
 * same as the Linux macros give.
 */
#define HV_IOC_NRBITS	8
#define HV_IOC_TYPEBITS 8
#define HV_IOC_SIZEBITS 14
#define HV_IOC_DIRBITS	2

#define HV_IOC_NRSHIFT	 0
#define HV_IOC_TYPESHIFT (HV_IOC_NRSHIFT + HV_IOC_NRBITS)     /* 8 */
#define HV_IOC_SIZESHIFT (HV_IOC_TYPESHIFT + HV_IOC_TYPEBITS) /* 16 */
#define HV_IOC_DIRSHIFT	 (HV_IOC_SIZESHIFT + HV_IOC_SIZEBITS) /* 30 */

#define HV_IOC_NRMASK	((1 << HV_IOC_NRBITS) - 1)
#define HV_IOC_TYPEMASK ((1 << HV_IOC_TYPEBITS) - 1)
#define HV_IOC_SIZEMASK ((1 << HV_IOC_SIZEBITS) - 1)
#define HV_IOC_DIRMASK	((1 << HV_IOC_DIRBITS) - 1)

#define HV_IOC_NONE  0U /* no record */
#define HV_IOC_WRITE 1U /* caller -> hypervisor */
#define HV_IOC_READ  2U /* hypervisor -> caller */

#define HV_IOC(dir, type, nr, size)                                                                \
	(((dir) << HV_IOC_DIRSHIFT) | ((type) << HV_IOC_TYPESHIFT) | ((nr) << HV_IOC_NRSHIFT) |    \
	 ((size) << HV_IOC_SIZESHIFT))

#define HV_IO(type, nr)	       HV_IOC(HV_IOC_NONE, (type), (nr), 0)
#define HV_IOR(type, nr, rec)  HV_IOC(HV_IOC_READ, (type), (nr), sizeof(rec))
#define HV_IOW(type, nr, rec)  HV_IOC(HV_IOC_WRITE, (type), (nr), sizeof(rec))
#define HV_IOWR(type, nr, rec) HV_IOC(HV_IOC_READ | HV_IOC_WRITE, (type), (nr), sizeof(rec))

/* Fields of a request number. */
#define HV_IOC_DIR(req)	 (((req) >> HV_IOC_DIRSHIFT) & HV_IOC_DIRMASK)
#define HV_IOC_TYPE(req) (((req) >> HV_IOC_TYPESHIFT) & HV_IOC_TYPEMASK)
#define HV_IOC_NR(req)	 (((req) >> HV_IOC_NRSHIFT) & HV_IOC_NRMASK)
#define HV_IOC_SIZE(req) (((req) >> HV_IOC_SIZESHIFT) & HV_IOC_SIZEMASK)

/* ---- Versions and capabilities ---- */

#define KVM_API_VERSION 12 /* KVM_GET_API_VERSION's answer */

/* Arguments of KVM_CHECK_EXTENSION / KVM_ENABLE_CAP (a subset). */
#define KVM_CAP_USER_MEMORY	    3
#define KVM_CAP_EXT_CPUID	    7
#define KVM_CAP_NR_VCPUS	    9  /* recommended vCPUs per VM */
#define KVM_CAP_NR_MEMSLOTS	    10 /* memory slots per VM */
#define KVM_CAP_MP_STATE	    14
#define KVM_CAP_SET_GUEST_DEBUG	    23
#define KVM_CAP_INTERNAL_ERROR_DATA 40
#define KVM_CAP_VCPU_EVENTS	    41
#define KVM_CAP_DEBUGREGS	    50
#define KVM_CAP_XSAVE		    55
#define KVM_CAP_XCRS		    56
#define KVM_CAP_TSC_CONTROL	    60
#define KVM_CAP_GET_TSC_KHZ	    61
#define KVM_CAP_MAX_VCPUS	    66 /* hard vCPU limit per VM */
#define KVM_CAP_SYNC_REGS	    74
#define KVM_CAP_READONLY_MEM	    81
#define KVM_CAP_MAX_VCPU_ID	    128
#define KVM_CAP_MSR_PLATFORM_INFO   159
#define KVM_CAP_IMMEDIATE_EXIT	    136
#define KVM_CAP_GET_MSR_FEATURES    153
#define KVM_CAP_NESTED_STATE	    157
#define KVM_CAP_EXCEPTION_PAYLOAD   164
#define KVM_CAP_X86_USER_SPACE_MSR  188
#define KVM_CAP_X86_MSR_FILTER	    189
/* This project's: far above Linux's numbers. */
#define HV_CAP_MSR_ALLOWLIST		  0x48560001
#define KVM_CAP_X86_BUS_LOCK_EXIT	  193
#define KVM_CAP_X86_TRIPLE_FAULT_EVENT	  218
#define KVM_CAP_IRQCHIP			  0
#define KVM_CAP_HLT			  1
#define KVM_CAP_IRQ_INJECT_STATUS	  26
#define KVM_CAP_TSC_DEADLINE_TIMER	  72
#define KVM_CAP_SIGNAL_MSI		  77
#define KVM_CAP_SPLIT_IRQCHIP		  121
#define KVM_CAP_X2APIC_API		  129
#define KVM_CAP_EXIT_ON_EMULATION_FAILURE 204
#define KVM_CAP_XSAVE2			  208

/* KVM_CAP_X86_BUS_LOCK_EXIT modes (KVM_ENABLE_CAP args[0]). */
#define KVM_BUS_LOCK_DETECTION_OFF  (1 << 0)
#define KVM_BUS_LOCK_DETECTION_EXIT (1 << 1)

/* KVM_ENABLE_CAP, on a VM or on a vCPU. */
struct kvm_enable_cap {
	uint32_t cap; /* KVM_CAP_* */
	uint32_t flags;
	uint64_t args[4];
	uint8_t pad[64];
};

/* ---- Guest memory (KVM_SET_USER_MEMORY_REGION) ---- */

/* kvm_userspace_memory_region.flags */
#define KVM_MEM_LOG_DIRTY_PAGES (1UL << 0)
#define KVM_MEM_READONLY	(1UL << 1)

/*
 * Map memory_size bytes at guest-physical guest_phys_addr into slot; a
 * size of 0 deletes the slot. userspace_addr is an address in the caller.
 */
struct kvm_userspace_memory_region {
	uint32_t slot;
	uint32_t flags; /* KVM_MEM_* */
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
};

/* ---- Small vCPU records ---- */

/* KVM_INTERRUPT: vector of an external interrupt to queue. */
struct kvm_interrupt {
	uint32_t irq;
};

/* KVM_IRQ_LINE / KVM_IRQ_LINE_STATUS: a GSI's level; status on return. */
struct kvm_irq_level {
	union {
		uint32_t irq;
		int32_t status;
	};
	uint32_t level;
};

/* KVM_GET_IRQCHIP / KVM_SET_IRQCHIP: one of the three chips (KVM_IRQCHIP_*). */
struct kvm_irqchip {
	uint32_t chip_id;
	uint32_t pad;
	union {
		char dummy[512];
		struct kvm_pic_state pic;
		struct kvm_ioapic_state ioapic;
	} chip;
};

/* KVM_SIGNAL_MSI: a message-signalled interrupt (flags 0: no device ID). */
#define KVM_MSI_VALID_DEVID (1U << 0)

struct kvm_msi {
	uint32_t address_lo;
	uint32_t address_hi;
	uint32_t data;
	uint32_t flags;
	uint32_t devid;
	uint8_t pad[12];
};

/* KVM_SET_GUEST_DEBUG */
#define KVM_GUESTDBG_ENABLE	0x00000001
#define KVM_GUESTDBG_SINGLESTEP 0x00000002

struct kvm_guest_debug {
	uint32_t control;
	uint32_t pad;
	struct kvm_guest_debug_arch arch;
};

/* KVM_GET_MP_STATE / KVM_SET_MP_STATE */
#define KVM_MP_STATE_RUNNABLE	   0
#define KVM_MP_STATE_UNINITIALIZED 1
#define KVM_MP_STATE_INIT_RECEIVED 2
#define KVM_MP_STATE_HALTED	   3
#define KVM_MP_STATE_SIPI_RECEIVED 4
#define KVM_MP_STATE_STOPPED	   5
#define KVM_MP_STATE_CHECK_STOP	   6
#define KVM_MP_STATE_OPERATING	   7
#define KVM_MP_STATE_LOAD	   8
#define KVM_MP_STATE_AP_RESET_HOLD 9
#define KVM_MP_STATE_SUSPENDED	   10

struct kvm_mp_state {
	uint32_t mp_state; /* KVM_MP_STATE_* */
};

/* ---- Why KVM_RUN returned: kvm_run.exit_reason ---- */

#define KVM_EXIT_UNKNOWN	 0
#define KVM_EXIT_EXCEPTION	 1
#define KVM_EXIT_IO		 2
#define KVM_EXIT_HYPERCALL	 3
#define KVM_EXIT_DEBUG		 4
#define KVM_EXIT_HLT		 5
#define KVM_EXIT_MMIO		 6
#define KVM_EXIT_IRQ_WINDOW_OPEN 7
#define KVM_EXIT_SHUTDOWN	 8
#define KVM_EXIT_FAIL_ENTRY	 9
#define KVM_EXIT_INTR		 10
#define KVM_EXIT_SET_TPR	 11
#define KVM_EXIT_TPR_ACCESS	 12
#define KVM_EXIT_S390_SIEIC	 13
#define KVM_EXIT_S390_RESET	 14
#define KVM_EXIT_DCR		 15
#define KVM_EXIT_NMI		 16
#define KVM_EXIT_INTERNAL_ERROR	 17
#define KVM_EXIT_OSI		 18
#define KVM_EXIT_PAPR_HCALL	 19
#define KVM_EXIT_S390_UCONTROL	 20
#define KVM_EXIT_WATCHDOG	 21
#define KVM_EXIT_S390_TSCH	 22
#define KVM_EXIT_EPR		 23
#define KVM_EXIT_SYSTEM_EVENT	 24
#define KVM_EXIT_S390_STSI	 25
#define KVM_EXIT_IOAPIC_EOI	 26
#define KVM_EXIT_HYPERV		 27
#define KVM_EXIT_ARM_NISV	 28
#define KVM_EXIT_X86_RDMSR	 29
#define KVM_EXIT_X86_WRMSR	 30
#define KVM_EXIT_DIRTY_RING_FULL 31
#define KVM_EXIT_AP_RESET_HOLD	 32
#define KVM_EXIT_X86_BUS_LOCK	 33
#define KVM_EXIT_XEN		 34
#define KVM_EXIT_RISCV_SBI	 35
#define KVM_EXIT_RISCV_CSR	 36
#define KVM_EXIT_NOTIFY		 37

/* kvm_run.internal.suberror for KVM_EXIT_INTERNAL_ERROR */
#define KVM_INTERNAL_ERROR_EMULATION		  1 /* could not emulate */
#define KVM_INTERNAL_ERROR_SIMUL_EX		  2 /* fault while delivering a fault */
#define KVM_INTERNAL_ERROR_DELIVERY_EV		  3 /* exit while delivering an event */
#define KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON 4 /* exit we cannot handle */

/* kvm_run.emulation_failure.flags: insn_size/insn_bytes are filled in. */
#define KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES (1ULL << 0)

/* kvm_run.io.direction */
#define KVM_EXIT_IO_IN	0
#define KVM_EXIT_IO_OUT 1

/* kvm_run.msr.reason, also the KVM_CAP_X86_USER_SPACE_MSR args[0] mask. */
#define KVM_MSR_EXIT_REASON_INVAL   (1 << 0) /* MSR the vCPU does not have */
#define KVM_MSR_EXIT_REASON_UNKNOWN (1 << 1) /* MSR we do not emulate */
#define KVM_MSR_EXIT_REASON_FILTER  (1 << 2) /* denied by the MSR filter */
/* Not in the uapi header: x86.c's mask of the reasons above. */
#define KVM_MSR_EXIT_REASON_VALID_MASK                                                             \
	(KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_FILTER)

/* kvm_run.system_event.type */
#define KVM_SYSTEM_EVENT_SHUTDOWN 1
#define KVM_SYSTEM_EVENT_RESET	  2
#define KVM_SYSTEM_EVENT_CRASH	  3
#define KVM_SYSTEM_EVENT_WAKEUP	  4
#define KVM_SYSTEM_EVENT_SUSPEND  5
#define KVM_SYSTEM_EVENT_SEV_TERM 6

/* kvm_run.notify.flags */
#define KVM_NOTIFY_CONTEXT_INVALID (1 << 0)

/* Bytes reserved for kvm_run.s, whatever kvm_sync_regs needs today. */
#define SYNC_REGS_SIZE_BYTES 2048

/* ---- The shared vCPU page (KVM_RUN) ----
 *
 * Read and written by both sides around every KVM_RUN. The exit union is
 * 256 bytes whatever it holds; only the x86 members are declared (the
 * other architectures' members fit in the same 256 bytes and are never
 * produced here). kvm_run.s holds the KVM_SYNC_X86_* register sets named in
 * kvm_valid_regs (filled on exit) and kvm_dirty_regs (taken on entry).
 */
struct kvm_run {
	/* caller -> hypervisor */
	uint8_t request_interrupt_window;
	uint8_t immediate_exit;
	uint8_t padding1[6];

	/* hypervisor -> caller */
	uint32_t exit_reason; /* KVM_EXIT_* */
	uint8_t ready_for_interrupt_injection;
	uint8_t if_flag;
	uint16_t flags; /* KVM_RUN_X86_* */

	/* both ways */
	uint64_t cr8;
	uint64_t apic_base;

	union {
		struct { /* KVM_EXIT_UNKNOWN */
			uint64_t hardware_exit_reason;
		} hw;
		struct { /* KVM_EXIT_FAIL_ENTRY */
			uint64_t hardware_entry_failure_reason;
			uint32_t cpu;
		} fail_entry;
		struct { /* KVM_EXIT_EXCEPTION */
			uint32_t exception;
			uint32_t error_code;
		} ex;
		struct {		   /* KVM_EXIT_IO */
			uint8_t direction; /* KVM_EXIT_IO_* */
			uint8_t size;	   /* bytes per access: 1, 2 or 4 */
			uint16_t port;
			uint32_t count;	      /* accesses (string I/O) */
			uint64_t data_offset; /* of the data, from the start of kvm_run */
		} io;
		struct { /* KVM_EXIT_DEBUG */
			struct kvm_debug_exit_arch arch;
		} debug;
		struct { /* KVM_EXIT_MMIO */
			uint64_t phys_addr;
			uint8_t data[8];
			uint32_t len;
			uint8_t is_write;
		} mmio;
		struct { /* KVM_EXIT_HYPERCALL */
			uint64_t nr;
			uint64_t args[6];
			uint64_t ret;
			uint32_t longmode;
			uint32_t pad;
		} hypercall;
		struct { /* KVM_EXIT_TPR_ACCESS */
			uint64_t rip;
			uint32_t is_write;
			uint32_t pad;
		} tpr_access;
		struct {		   /* KVM_EXIT_INTERNAL_ERROR */
			uint32_t suberror; /* KVM_INTERNAL_ERROR_* */
			uint32_t ndata;	   /* valid words in data */
			uint64_t data[16];
		} internal;
		/* Same exit, suberror KVM_INTERNAL_ERROR_EMULATION: the start of
		 * internal.data read as flags plus the failing instruction. */
		struct {
			uint32_t suberror;
			uint32_t ndata;
			uint64_t flags; /* KVM_INTERNAL_ERROR_EMULATION_FLAG_* */
			uint8_t insn_size;
			uint8_t insn_bytes[15];
		} emulation_failure;
		struct {	       /* KVM_EXIT_SYSTEM_EVENT */
			uint32_t type; /* KVM_SYSTEM_EVENT_* */
			uint32_t ndata;
			union {
				uint64_t flags;
				uint64_t data[16];
			};
		} system_event;
		struct {	       /* KVM_EXIT_X86_RDMSR, KVM_EXIT_X86_WRMSR */
			uint8_t error; /* set by the caller: inject #GP */
			uint8_t pad[7];
			uint32_t reason; /* KVM_MSR_EXIT_REASON_* */
			uint32_t index;
			uint64_t data; /* WRMSR value, or RDMSR result from the caller */
		} msr;
		struct {		/* KVM_EXIT_NOTIFY */
			uint32_t flags; /* KVM_NOTIFY_CONTEXT_* */
		} notify;
		char padding[256];
	};

	uint64_t kvm_valid_regs; /* KVM_SYNC_X86_* */
	uint64_t kvm_dirty_regs; /* KVM_SYNC_X86_* */
	union {
		struct kvm_sync_regs regs;
		struct hv_sync_regs hv; /* regs plus this hypervisor's extension sets */
		char padding[SYNC_REGS_SIZE_BYTES];
	} s;
};

/* ---- Request numbers ---- */

#define KVMIO 0xAE

/* On the system handle. */
#define KVM_GET_API_VERSION    HV_IO(KVMIO, 0x00)
#define KVM_CREATE_VM	       HV_IO(KVMIO, 0x01)
#define KVM_GET_MSR_INDEX_LIST HV_IOWR(KVMIO, 0x02, struct kvm_msr_list)
/* Also valid on a VM handle (answers for that VM). */
#define KVM_CHECK_EXTENSION	       HV_IO(KVMIO, 0x03)
#define KVM_GET_VCPU_MMAP_SIZE	       HV_IO(KVMIO, 0x04)
#define KVM_GET_SUPPORTED_CPUID	       HV_IOWR(KVMIO, 0x05, struct kvm_cpuid2)
#define KVM_GET_MSR_FEATURE_INDEX_LIST HV_IOWR(KVMIO, 0x0a, struct kvm_msr_list)

/* On a VM handle. */
#define KVM_CREATE_VCPU	   HV_IO(KVMIO, 0x41)
#define KVM_CREATE_IRQCHIP HV_IO(KVMIO, 0x60)
#define KVM_IRQ_LINE	   HV_IOW(KVMIO, 0x61, struct kvm_irq_level)
#define KVM_GET_IRQCHIP	   HV_IOWR(KVMIO, 0x62, struct kvm_irqchip)
/* _IOR although it is an input: Linux's historic number. */
#define KVM_SET_IRQCHIP		   HV_IOR(KVMIO, 0x63, struct kvm_irqchip)
#define KVM_IRQ_LINE_STATUS	   HV_IOWR(KVMIO, 0x67, struct kvm_irq_level)
#define KVM_SIGNAL_MSI		   HV_IOW(KVMIO, 0xa5, struct kvm_msi)
#define KVM_SET_USER_MEMORY_REGION HV_IOW(KVMIO, 0x46, struct kvm_userspace_memory_region)
#define KVM_X86_SET_MSR_FILTER	   HV_IOW(KVMIO, 0xc6, struct kvm_msr_filter)
/* This project's MSR allow-lists (abi/kvm_x86.h); numbers Linux does not use. */
#define HV_ADD_MSR_ALLOWLIST   HV_IOW(KVMIO, 0xf0, struct hv_msr_allowlist)
#define HV_CLEAR_MSR_ALLOWLIST HV_IO(KVMIO, 0xf1)

/* On a vCPU handle. */
#define KVM_RUN		    HV_IO(KVMIO, 0x80)
#define KVM_GET_REGS	    HV_IOR(KVMIO, 0x81, struct kvm_regs)
#define KVM_SET_REGS	    HV_IOW(KVMIO, 0x82, struct kvm_regs)
#define KVM_GET_SREGS	    HV_IOR(KVMIO, 0x83, struct kvm_sregs)
#define KVM_SET_SREGS	    HV_IOW(KVMIO, 0x84, struct kvm_sregs)
#define KVM_INTERRUPT	    HV_IOW(KVMIO, 0x86, struct kvm_interrupt)
#define KVM_SET_GUEST_DEBUG HV_IOW(KVMIO, 0x9b, struct kvm_guest_debug)
#define KVM_GET_MSRS	    HV_IOWR(KVMIO, 0x88, struct kvm_msrs)
#define KVM_SET_MSRS	    HV_IOW(KVMIO, 0x89, struct kvm_msrs)
#define KVM_GET_FPU	    HV_IOR(KVMIO, 0x8c, struct kvm_fpu)
#define KVM_SET_FPU	    HV_IOW(KVMIO, 0x8d, struct kvm_fpu)
#define KVM_SET_CPUID2	    HV_IOW(KVMIO, 0x90, struct kvm_cpuid2)
#define KVM_GET_CPUID2	    HV_IOWR(KVMIO, 0x91, struct kvm_cpuid2)
#define KVM_GET_MP_STATE    HV_IOR(KVMIO, 0x98, struct kvm_mp_state)
#define KVM_SET_MP_STATE    HV_IOW(KVMIO, 0x99, struct kvm_mp_state)
#define KVM_NMI		    HV_IO(KVMIO, 0x9a)
#define KVM_GET_VCPU_EVENTS HV_IOR(KVMIO, 0x9f, struct kvm_vcpu_events)
#define KVM_SET_VCPU_EVENTS HV_IOW(KVMIO, 0xa0, struct kvm_vcpu_events)
#define KVM_GET_DEBUGREGS   HV_IOR(KVMIO, 0xa1, struct kvm_debugregs)
#define KVM_SET_DEBUGREGS   HV_IOW(KVMIO, 0xa2, struct kvm_debugregs)
#define KVM_SET_TSC_KHZ	    HV_IO(KVMIO, 0xa2)
#define KVM_GET_TSC_KHZ	    HV_IO(KVMIO, 0xa3)
#define KVM_GET_XSAVE	    HV_IOR(KVMIO, 0xa4, struct kvm_xsave)
#define KVM_SET_XSAVE	    HV_IOW(KVMIO, 0xa5, struct kvm_xsave)
#define KVM_GET_XCRS	    HV_IOR(KVMIO, 0xa6, struct kvm_xcrs)
#define KVM_GET_LAPIC	    HV_IOR(KVMIO, 0x8e, struct kvm_lapic_state)
#define KVM_SET_LAPIC	    HV_IOW(KVMIO, 0x8f, struct kvm_lapic_state)
/* As KVM_GET_XSAVE, for an area of KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2) bytes. */
#define KVM_GET_XSAVE2 HV_IOR(KVMIO, 0xcf, struct kvm_xsave)
#define KVM_SET_XCRS   HV_IOW(KVMIO, 0xa7, struct kvm_xcrs)
/* Also valid on a VM handle. */
#define KVM_ENABLE_CAP	     HV_IOW(KVMIO, 0xa3, struct kvm_enable_cap)
#define KVM_GET_NESTED_STATE HV_IOWR(KVMIO, 0xbe, struct kvm_nested_state)
#define KVM_SET_NESTED_STATE HV_IOW(KVMIO, 0xbf, struct kvm_nested_state)

/* ---- Sizes that are part of the ABI ---- */

_Static_assert(sizeof(struct kvm_enable_cap) == 104, "kvm_enable_cap");
_Static_assert(sizeof(struct kvm_userspace_memory_region) == 32, "kvm_userspace_memory_region");
_Static_assert(sizeof(struct kvm_interrupt) == 4, "kvm_interrupt");
_Static_assert(sizeof(struct kvm_mp_state) == 4, "kvm_mp_state");
_Static_assert(sizeof(struct kvm_irqchip) == 520, "kvm_irqchip");
_Static_assert(sizeof(struct kvm_ioapic_state) == 216, "kvm_ioapic_state");
_Static_assert(sizeof(struct kvm_msi) == 32, "kvm_msi");
_Static_assert(sizeof(struct hv_sync_regs) <= SYNC_REGS_SIZE_BYTES,
	       "kvm_sync_regs must fit in kvm_run.s");
_Static_assert(offsetof(struct kvm_run, exit_reason) == 8, "kvm_run.exit_reason");
_Static_assert(offsetof(struct kvm_run, hw) == 32, "kvm_run exit union");
_Static_assert(sizeof(((struct kvm_run *)0)->padding) == 256, "kvm_run exit union size");
_Static_assert(offsetof(struct kvm_run, kvm_valid_regs) == 288, "kvm_run.kvm_valid_regs");
_Static_assert(offsetof(struct kvm_run, s) == 304, "kvm_run.s");
_Static_assert(sizeof(struct kvm_run) == 2352, "kvm_run");
/* Every record an ioctl number names must fit its 14-bit size field. */
_Static_assert(sizeof(struct kvm_msr_filter) <= HV_IOC_SIZEMASK, "ioctl size field");
_Static_assert(sizeof(struct kvm_sregs) <= HV_IOC_SIZEMASK, "ioctl size field");

#endif
