/* SPDX-License-Identifier: MIT */

/* clang-format off: the list below is data, laid out by hand. */
// clang-format off
/*
 * One list of every record, field, constant and ioctl number of abi/kvm.h,
 * turned into a table of measured facts (sizes, offsets, alignments, kinds,
 * values, C types of constants). tests/unit/test_kvm_abi_linux.c builds the
 * table against the system's <linux/kvm.h>, tests/unit/test_kvm_abi_ours.c
 * against "abi/kvm.h"; tests/unit/test_kvm_abi.c compares them row by row.
 * The two headers define the same names, hence one translation unit each.
 *
 * Without KVM_ABI_TABLE defined this file only declares the row type and
 * the two tables. With KVM_ABI_TABLE and KVM_ABI_TABLE_LEN set to names, it
 * also defines that table and its length from the list (KVM_ABI_LINUX
 * selects the Linux spelling of the rows whose names differ).
 *
 * Rows of the list:
 *   S(T)           struct T: size and alignment; starts T's group
 *   F(T, m)        member m (a path, e.g. io.port) of T: offset, size,
 *                  alignment, kind (signed/unsigned/char/pointer/aggregate)
 *   A(T, m)        array member: as F, plus element size and element kind
 *   X(T, m)        flexible array member: offset, element size and kind
 *   HB(T, m, n)    n bytes of compiler padding just before member m
 *   HA(T, m, n)    n bytes of compiler padding just after member m
 *   C(g, N)        constant N in group g: value and C type
 *   C2(g, O, L)    a value spelled O here and L in Linux's headers
 *
 * List every member, and every hole the compiler leaves: test_kvm_abi.c
 * also checks that the listed members and holes of each struct (and of each
 * nested aggregate that has members listed) cover every byte of it.
 */
#ifndef TESTS_UNIT_KVM_ABI_FIELDS_DECLS
#define TESTS_UNIT_KVM_ABI_FIELDS_DECLS

#include <stddef.h>

struct kvm_abi_row {
	const char *group; /* "struct kvm_run", "exit reasons", ... */
	const char *name;  /* "kvm_run.io.port", "KVM_EXIT_IO", ... */
	char what;         /* 'S', 'F', 'A', 'X', 'C' as in the list, 'H' hole */
	/* Facts; those a row kind does not have are 0. */
	unsigned long long off, size, align, kind, esize, ekind, value, ctype;
};

extern const struct kvm_abi_row kvm_abi_linux[];
extern const size_t kvm_abi_linux_len;
extern const struct kvm_abi_row kvm_abi_ours[];
extern const size_t kvm_abi_ours_len;

/* What a pointer to a member points at: 'u'/'s' integer of that
 * signedness, 'c' plain char, 'p' pointer, 'a' anything else. Width is
 * checked separately through sizeof, so uint64_t (unsigned long) and
 * Linux's __u64 (unsigned long long) are the same kind. */
#define KVM_ABI_KIND(p)							\
	_Generic((p),							\
		char *: 'c',						\
		signed char *: 's', unsigned char *: 'u',		\
		short *: 's', unsigned short *: 'u',			\
		int *: 's', unsigned int *: 'u',			\
		long *: 's', unsigned long *: 'u',			\
		long long *: 's', unsigned long long *: 'u',		\
		void **: 'p', char **: 'p', unsigned char **: 'p',	\
		default: 'a')

/* The C type of a constant expression. */
#define KVM_ABI_CTYPE(x)						\
	_Generic((x), int: 1, unsigned int: 2, long: 3,			\
		 unsigned long: 4, long long: 5,			\
		 unsigned long long: 6, default: 0)

#define KVM_ABI_CTYPE_NAME(c)						\
	((c) == 1 ? "int" : (c) == 2 ? "unsigned int" :			\
	 (c) == 3 ? "long" : (c) == 4 ? "unsigned long" :		\
	 (c) == 5 ? "long long" : (c) == 6 ? "unsigned long long" : "other")

#endif /* TESTS_UNIT_KVM_ABI_FIELDS_DECLS */

#ifdef KVM_ABI_TABLE

#define KVM_ABI_M(T, m) (((struct T *)0)->m)

#define S(T)								\
	{ "struct " #T, #T, 'S', 0, sizeof(struct T),			\
	  _Alignof(struct T), 0, 0, 0, 0, 0 },
#define F(T, m)								\
	{ "struct " #T, #T "." #m, 'F', offsetof(struct T, m),		\
	  sizeof(KVM_ABI_M(T, m)), __alignof__(KVM_ABI_M(T, m)),	\
	  KVM_ABI_KIND(&KVM_ABI_M(T, m)), 0, 0, 0, 0 },
#define A(T, m)								\
	{ "struct " #T, #T "." #m, 'A', offsetof(struct T, m),		\
	  sizeof(KVM_ABI_M(T, m)), __alignof__(KVM_ABI_M(T, m)),	\
	  0, sizeof(KVM_ABI_M(T, m)[0]),				\
	  KVM_ABI_KIND(&KVM_ABI_M(T, m)[0]), 0, 0 },
#define X(T, m)								\
	{ "struct " #T, #T "." #m, 'X', offsetof(struct T, m), 0,	\
	  __alignof__(KVM_ABI_M(T, m)[0]), 0,				\
	  sizeof(KVM_ABI_M(T, m)[0]),					\
	  KVM_ABI_KIND(&KVM_ABI_M(T, m)[0]), 0, 0 },
#define HB(T, m, n)							\
	{ "struct " #T, #T "." #m " (hole before)", 'H',		\
	  offsetof(struct T, m) - (n), (n), 0, 0, 0, 0, 0, 0 },
#define HA(T, m, n)							\
	{ "struct " #T, #T "." #m " (hole after)", 'H',		\
	  offsetof(struct T, m) + sizeof(KVM_ABI_M(T, m)), (n),	\
	  0, 0, 0, 0, 0, 0 },
#define C(g, N)								\
	{ g, #N, 'C', 0, 0, 0, 0, 0, 0, (unsigned long long)(N),	\
	  KVM_ABI_CTYPE(N) },
#ifdef KVM_ABI_LINUX
#define C2(g, O, L)							\
	{ g, #O, 'C', 0, 0, 0, 0, 0, 0, (unsigned long long)(L),	\
	  KVM_ABI_CTYPE(L) },
#else
#define C2(g, O, L)							\
	{ g, #O, 'C', 0, 0, 0, 0, 0, 0, (unsigned long long)(O),	\
	  KVM_ABI_CTYPE(O) },
#endif

const struct kvm_abi_row KVM_ABI_TABLE[] = {

/* ---- x86 records ---- */

S(kvm_regs)
F(kvm_regs, rax) F(kvm_regs, rbx) F(kvm_regs, rcx) F(kvm_regs, rdx)
F(kvm_regs, rsi) F(kvm_regs, rdi) F(kvm_regs, rsp) F(kvm_regs, rbp)
F(kvm_regs, r8)  F(kvm_regs, r9)  F(kvm_regs, r10) F(kvm_regs, r11)
F(kvm_regs, r12) F(kvm_regs, r13) F(kvm_regs, r14) F(kvm_regs, r15)
F(kvm_regs, rip) F(kvm_regs, rflags)

S(kvm_segment)
F(kvm_segment, base) F(kvm_segment, limit) F(kvm_segment, selector)
F(kvm_segment, type) F(kvm_segment, present) F(kvm_segment, dpl)
F(kvm_segment, db) F(kvm_segment, s) F(kvm_segment, l) F(kvm_segment, g)
F(kvm_segment, avl) F(kvm_segment, unusable) F(kvm_segment, padding)

S(kvm_dtable)
F(kvm_dtable, base) F(kvm_dtable, limit) A(kvm_dtable, padding)

S(kvm_sregs)
F(kvm_sregs, cs) F(kvm_sregs, ds) F(kvm_sregs, es) F(kvm_sregs, fs)
F(kvm_sregs, gs) F(kvm_sregs, ss) F(kvm_sregs, tr) F(kvm_sregs, ldt)
F(kvm_sregs, gdt) F(kvm_sregs, idt)
F(kvm_sregs, cr0) F(kvm_sregs, cr2) F(kvm_sregs, cr3) F(kvm_sregs, cr4)
F(kvm_sregs, cr8) F(kvm_sregs, efer) F(kvm_sregs, apic_base)
A(kvm_sregs, interrupt_bitmap)

S(kvm_fpu)
A(kvm_fpu, fpr) F(kvm_fpu, fcw) F(kvm_fpu, fsw) F(kvm_fpu, ftwx)
F(kvm_fpu, pad1) F(kvm_fpu, last_opcode) F(kvm_fpu, last_ip)
F(kvm_fpu, last_dp) A(kvm_fpu, xmm) F(kvm_fpu, mxcsr) F(kvm_fpu, pad2)

S(kvm_msr_entry)
F(kvm_msr_entry, index) F(kvm_msr_entry, reserved) F(kvm_msr_entry, data)

S(kvm_msrs)
F(kvm_msrs, nmsrs) F(kvm_msrs, pad) X(kvm_msrs, entries)

S(kvm_msr_list)
F(kvm_msr_list, nmsrs) X(kvm_msr_list, indices)

S(kvm_msr_filter_range)
F(kvm_msr_filter_range, flags) F(kvm_msr_filter_range, nmsrs)
F(kvm_msr_filter_range, base)
HB(kvm_msr_filter_range, bitmap, 4) F(kvm_msr_filter_range, bitmap)

S(kvm_msr_filter)
F(kvm_msr_filter, flags) HB(kvm_msr_filter, ranges, 4)
A(kvm_msr_filter, ranges)

S(kvm_cpuid_entry2)
F(kvm_cpuid_entry2, function) F(kvm_cpuid_entry2, index)
F(kvm_cpuid_entry2, flags) F(kvm_cpuid_entry2, eax)
F(kvm_cpuid_entry2, ebx) F(kvm_cpuid_entry2, ecx)
F(kvm_cpuid_entry2, edx) A(kvm_cpuid_entry2, padding)

S(kvm_cpuid2)
F(kvm_cpuid2, nent) F(kvm_cpuid2, padding) X(kvm_cpuid2, entries)

S(kvm_debug_exit_arch)
F(kvm_debug_exit_arch, exception) F(kvm_debug_exit_arch, pad)
F(kvm_debug_exit_arch, pc) F(kvm_debug_exit_arch, dr6)
F(kvm_debug_exit_arch, dr7)

S(kvm_guest_debug_arch)
A(kvm_guest_debug_arch, debugreg)

S(kvm_guest_debug)
F(kvm_guest_debug, control) F(kvm_guest_debug, pad) F(kvm_guest_debug, arch)

S(kvm_vcpu_events)
F(kvm_vcpu_events, exception)
F(kvm_vcpu_events, exception.injected) F(kvm_vcpu_events, exception.nr)
F(kvm_vcpu_events, exception.has_error_code)
F(kvm_vcpu_events, exception.pending)
F(kvm_vcpu_events, exception.error_code)
F(kvm_vcpu_events, interrupt)
F(kvm_vcpu_events, interrupt.injected) F(kvm_vcpu_events, interrupt.nr)
F(kvm_vcpu_events, interrupt.soft) F(kvm_vcpu_events, interrupt.shadow)
F(kvm_vcpu_events, nmi)
F(kvm_vcpu_events, nmi.injected) F(kvm_vcpu_events, nmi.pending)
F(kvm_vcpu_events, nmi.masked) F(kvm_vcpu_events, nmi.pad)
F(kvm_vcpu_events, sipi_vector) F(kvm_vcpu_events, flags)
F(kvm_vcpu_events, smi)
F(kvm_vcpu_events, smi.smm) F(kvm_vcpu_events, smi.pending)
F(kvm_vcpu_events, smi.smm_inside_nmi) F(kvm_vcpu_events, smi.latched_init)
F(kvm_vcpu_events, triple_fault) F(kvm_vcpu_events, triple_fault.pending)
A(kvm_vcpu_events, reserved)
F(kvm_vcpu_events, exception_has_payload)
F(kvm_vcpu_events, exception_payload)

S(kvm_debugregs)
A(kvm_debugregs, db) F(kvm_debugregs, dr6) F(kvm_debugregs, dr7)
F(kvm_debugregs, flags) A(kvm_debugregs, reserved)

S(kvm_sync_regs)
F(kvm_sync_regs, regs) F(kvm_sync_regs, sregs) F(kvm_sync_regs, events)

S(kvm_vmx_nested_state_hdr)
F(kvm_vmx_nested_state_hdr, vmxon_pa) F(kvm_vmx_nested_state_hdr, vmcs12_pa)
F(kvm_vmx_nested_state_hdr, smm) F(kvm_vmx_nested_state_hdr, smm.flags)
F(kvm_vmx_nested_state_hdr, pad) F(kvm_vmx_nested_state_hdr, flags)
F(kvm_vmx_nested_state_hdr, preemption_timer_deadline)

S(kvm_vmx_nested_state_data)
A(kvm_vmx_nested_state_data, vmcs12)
A(kvm_vmx_nested_state_data, shadow_vmcs12)

S(kvm_svm_nested_state_hdr)
F(kvm_svm_nested_state_hdr, vmcb_pa)

S(kvm_svm_nested_state_data)
A(kvm_svm_nested_state_data, vmcb12)

S(kvm_nested_state)
F(kvm_nested_state, flags) F(kvm_nested_state, format)
F(kvm_nested_state, size)
F(kvm_nested_state, hdr) F(kvm_nested_state, hdr.vmx)
F(kvm_nested_state, hdr.svm) A(kvm_nested_state, hdr.pad)
F(kvm_nested_state, data)
A(kvm_nested_state, data.vmx) A(kvm_nested_state, data.svm)

/* ---- Generic records ---- */

S(kvm_enable_cap)
F(kvm_enable_cap, cap) F(kvm_enable_cap, flags) A(kvm_enable_cap, args)
A(kvm_enable_cap, pad)

S(kvm_userspace_memory_region)
F(kvm_userspace_memory_region, slot) F(kvm_userspace_memory_region, flags)
F(kvm_userspace_memory_region, guest_phys_addr)
F(kvm_userspace_memory_region, memory_size)
F(kvm_userspace_memory_region, userspace_addr)

S(kvm_interrupt)
F(kvm_interrupt, irq)

S(kvm_mp_state)
F(kvm_mp_state, mp_state)
S(kvm_irq_level)
F(kvm_irq_level, irq) F(kvm_irq_level, status) F(kvm_irq_level, level)
S(kvm_msi)
F(kvm_msi, address_lo) F(kvm_msi, address_hi) F(kvm_msi, data)
F(kvm_msi, flags) F(kvm_msi, devid) A(kvm_msi, pad)
S(kvm_pic_state)
F(kvm_pic_state, last_irr) F(kvm_pic_state, irr) F(kvm_pic_state, imr)
F(kvm_pic_state, isr) F(kvm_pic_state, priority_add) F(kvm_pic_state, irq_base)
F(kvm_pic_state, read_reg_select) F(kvm_pic_state, poll)
F(kvm_pic_state, special_mask) F(kvm_pic_state, init_state)
F(kvm_pic_state, auto_eoi) F(kvm_pic_state, rotate_on_auto_eoi)
F(kvm_pic_state, special_fully_nested_mode) F(kvm_pic_state, init4)
F(kvm_pic_state, elcr) F(kvm_pic_state, elcr_mask)
S(kvm_ioapic_state)
F(kvm_ioapic_state, base_address) F(kvm_ioapic_state, ioregsel)
F(kvm_ioapic_state, id) F(kvm_ioapic_state, irr) F(kvm_ioapic_state, pad)
A(kvm_ioapic_state, redirtbl)
S(kvm_irqchip)
F(kvm_irqchip, chip_id) F(kvm_irqchip, pad) F(kvm_irqchip, chip)
F(kvm_irqchip, chip.pic) F(kvm_irqchip, chip.ioapic) A(kvm_irqchip, chip.dummy)
S(kvm_lapic_state)
A(kvm_lapic_state, regs)
S(kvm_xsave)
A(kvm_xsave, region)
S(kvm_xcr)
F(kvm_xcr, xcr) F(kvm_xcr, reserved) F(kvm_xcr, value)
S(kvm_xcrs)
F(kvm_xcrs, nr_xcrs) F(kvm_xcrs, flags) A(kvm_xcrs, xcrs) A(kvm_xcrs, padding)

S(kvm_run)
F(kvm_run, request_interrupt_window) F(kvm_run, immediate_exit)
A(kvm_run, padding1)
F(kvm_run, exit_reason) F(kvm_run, ready_for_interrupt_injection)
F(kvm_run, if_flag) F(kvm_run, flags)
F(kvm_run, cr8) F(kvm_run, apic_base)
F(kvm_run, hw) F(kvm_run, hw.hardware_exit_reason)
F(kvm_run, fail_entry)
F(kvm_run, fail_entry.hardware_entry_failure_reason)
F(kvm_run, fail_entry.cpu) HA(kvm_run, fail_entry.cpu, 4)
F(kvm_run, ex) F(kvm_run, ex.exception) F(kvm_run, ex.error_code)
F(kvm_run, io) F(kvm_run, io.direction) F(kvm_run, io.size)
F(kvm_run, io.port) F(kvm_run, io.count) F(kvm_run, io.data_offset)
F(kvm_run, debug) F(kvm_run, debug.arch)
F(kvm_run, debug.arch.exception) F(kvm_run, debug.arch.pad)
F(kvm_run, debug.arch.pc) F(kvm_run, debug.arch.dr6)
F(kvm_run, debug.arch.dr7)
F(kvm_run, mmio) F(kvm_run, mmio.phys_addr) A(kvm_run, mmio.data)
F(kvm_run, mmio.len) F(kvm_run, mmio.is_write)
HA(kvm_run, mmio.is_write, 3)
F(kvm_run, hypercall) F(kvm_run, hypercall.nr) A(kvm_run, hypercall.args)
F(kvm_run, hypercall.ret) F(kvm_run, hypercall.longmode)
F(kvm_run, hypercall.pad)
F(kvm_run, tpr_access) F(kvm_run, tpr_access.rip)
F(kvm_run, tpr_access.is_write) F(kvm_run, tpr_access.pad)
F(kvm_run, internal) F(kvm_run, internal.suberror)
F(kvm_run, internal.ndata) A(kvm_run, internal.data)
F(kvm_run, emulation_failure) F(kvm_run, emulation_failure.suberror)
F(kvm_run, emulation_failure.ndata) F(kvm_run, emulation_failure.flags)
F(kvm_run, emulation_failure.insn_size)
A(kvm_run, emulation_failure.insn_bytes)
F(kvm_run, system_event) F(kvm_run, system_event.type)
F(kvm_run, system_event.ndata) F(kvm_run, system_event.flags)
A(kvm_run, system_event.data)
F(kvm_run, msr) F(kvm_run, msr.error) A(kvm_run, msr.pad)
F(kvm_run, msr.reason) F(kvm_run, msr.index) F(kvm_run, msr.data)
F(kvm_run, notify) F(kvm_run, notify.flags)
A(kvm_run, padding)
F(kvm_run, kvm_valid_regs) F(kvm_run, kvm_dirty_regs)
F(kvm_run, s) F(kvm_run, s.regs) A(kvm_run, s.padding)

/* ---- Constants ---- */

C("api", KVM_API_VERSION)
C("api", KVMIO)
C("api", KVM_PIO_PAGE_OFFSET)
C("api", KVM_NR_INTERRUPTS)
C("api", SYNC_REGS_SIZE_BYTES)
C("api", KVM_MAX_XCRS)

C("capabilities", KVM_CAP_USER_MEMORY)
C("capabilities", KVM_CAP_IRQCHIP)
C("capabilities", KVM_CAP_HLT)
C("capabilities", KVM_CAP_IRQ_INJECT_STATUS)
C("capabilities", KVM_CAP_TSC_DEADLINE_TIMER)
C("capabilities", KVM_CAP_SIGNAL_MSI)
C("capabilities", KVM_CAP_SPLIT_IRQCHIP)
C("capabilities", KVM_CAP_X2APIC_API)
C("capabilities", KVM_CAP_EXIT_ON_EMULATION_FAILURE)
C("capabilities", KVM_CAP_XSAVE2)
C("capabilities", KVM_CAP_EXT_CPUID)
C("capabilities", KVM_CAP_NR_VCPUS)
C("capabilities", KVM_CAP_NR_MEMSLOTS)
C("capabilities", KVM_CAP_MP_STATE)
C("capabilities", KVM_CAP_SET_GUEST_DEBUG)
C("capabilities", KVM_CAP_INTERNAL_ERROR_DATA)
C("capabilities", KVM_CAP_VCPU_EVENTS)
C("capabilities", KVM_CAP_DEBUGREGS)
C("capabilities", KVM_CAP_XSAVE)
C("capabilities", KVM_CAP_XCRS)
C("capabilities", KVM_CAP_TSC_CONTROL)
C("capabilities", KVM_CAP_GET_TSC_KHZ)
C("capabilities", KVM_CAP_MAX_VCPUS)
C("capabilities", KVM_CAP_SYNC_REGS)
C("capabilities", KVM_CAP_READONLY_MEM)
C("capabilities", KVM_CAP_MAX_VCPU_ID)
C("capabilities", KVM_CAP_MSR_PLATFORM_INFO)
C("capabilities", KVM_CAP_IMMEDIATE_EXIT)
C("capabilities", KVM_CAP_GET_MSR_FEATURES)
C("capabilities", KVM_CAP_NESTED_STATE)
C("capabilities", KVM_CAP_EXCEPTION_PAYLOAD)
C("capabilities", KVM_CAP_X86_USER_SPACE_MSR)
C("capabilities", KVM_CAP_X86_MSR_FILTER)
C("capabilities", KVM_CAP_X86_BUS_LOCK_EXIT)
C("capabilities", KVM_CAP_X86_TRIPLE_FAULT_EVENT)
C("capabilities", KVM_BUS_LOCK_DETECTION_OFF)
C("capabilities", KVM_BUS_LOCK_DETECTION_EXIT)
C("irqchip", KVM_IOAPIC_NUM_PINS)
C("irqchip", KVM_IRQCHIP_PIC_MASTER)
C("irqchip", KVM_IRQCHIP_PIC_SLAVE)
C("irqchip", KVM_IRQCHIP_IOAPIC)
C("irqchip", KVM_NR_IRQCHIPS)
C("irqchip", KVM_APIC_REG_SIZE)
C("irqchip", KVM_MSI_VALID_DEVID)

C("guest debug", KVM_GUESTDBG_ENABLE)
C("guest debug", KVM_GUESTDBG_SINGLESTEP)
C("guest debug", KVM_GUESTDBG_USE_SW_BP)
C("guest debug", KVM_GUESTDBG_USE_HW_BP)
C("guest debug", KVM_GUESTDBG_INJECT_DB)
C("guest debug", KVM_GUESTDBG_INJECT_BP)
C("guest debug", KVM_GUESTDBG_BLOCKIRQ)

C("exit reasons", KVM_EXIT_UNKNOWN)
C("exit reasons", KVM_EXIT_EXCEPTION)
C("exit reasons", KVM_EXIT_IO)
C("exit reasons", KVM_EXIT_HYPERCALL)
C("exit reasons", KVM_EXIT_DEBUG)
C("exit reasons", KVM_EXIT_HLT)
C("exit reasons", KVM_EXIT_MMIO)
C("exit reasons", KVM_EXIT_IRQ_WINDOW_OPEN)
C("exit reasons", KVM_EXIT_SHUTDOWN)
C("exit reasons", KVM_EXIT_FAIL_ENTRY)
C("exit reasons", KVM_EXIT_INTR)
C("exit reasons", KVM_EXIT_SET_TPR)
C("exit reasons", KVM_EXIT_TPR_ACCESS)
C("exit reasons", KVM_EXIT_S390_SIEIC)
C("exit reasons", KVM_EXIT_S390_RESET)
C("exit reasons", KVM_EXIT_DCR)
C("exit reasons", KVM_EXIT_NMI)
C("exit reasons", KVM_EXIT_INTERNAL_ERROR)
C("exit reasons", KVM_EXIT_OSI)
C("exit reasons", KVM_EXIT_PAPR_HCALL)
C("exit reasons", KVM_EXIT_S390_UCONTROL)
C("exit reasons", KVM_EXIT_WATCHDOG)
C("exit reasons", KVM_EXIT_S390_TSCH)
C("exit reasons", KVM_EXIT_EPR)
C("exit reasons", KVM_EXIT_SYSTEM_EVENT)
C("exit reasons", KVM_EXIT_S390_STSI)
C("exit reasons", KVM_EXIT_IOAPIC_EOI)
C("exit reasons", KVM_EXIT_HYPERV)
C("exit reasons", KVM_EXIT_ARM_NISV)
C("exit reasons", KVM_EXIT_X86_RDMSR)
C("exit reasons", KVM_EXIT_X86_WRMSR)
C("exit reasons", KVM_EXIT_DIRTY_RING_FULL)
C("exit reasons", KVM_EXIT_AP_RESET_HOLD)
C("exit reasons", KVM_EXIT_X86_BUS_LOCK)
C("exit reasons", KVM_EXIT_XEN)
C("exit reasons", KVM_EXIT_RISCV_SBI)
C("exit reasons", KVM_EXIT_RISCV_CSR)
C("exit reasons", KVM_EXIT_NOTIFY)

C("exit details", KVM_EXIT_IO_IN)
C("exit details", KVM_EXIT_IO_OUT)
C("exit details", KVM_INTERNAL_ERROR_EMULATION)
C("exit details", KVM_INTERNAL_ERROR_SIMUL_EX)
C("exit details", KVM_INTERNAL_ERROR_DELIVERY_EV)
C("exit details", KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON)
C("exit details", KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)
C("exit details", KVM_MSR_EXIT_REASON_INVAL)
C("exit details", KVM_MSR_EXIT_REASON_UNKNOWN)
C("exit details", KVM_MSR_EXIT_REASON_FILTER)
C("exit details", KVM_SYSTEM_EVENT_SHUTDOWN)
C("exit details", KVM_SYSTEM_EVENT_RESET)
C("exit details", KVM_SYSTEM_EVENT_CRASH)
C("exit details", KVM_SYSTEM_EVENT_WAKEUP)
C("exit details", KVM_SYSTEM_EVENT_SUSPEND)
C("exit details", KVM_SYSTEM_EVENT_SEV_TERM)
C("exit details", KVM_NOTIFY_CONTEXT_INVALID)
C("exit details", KVM_RUN_X86_SMM)
C("exit details", KVM_RUN_X86_BUS_LOCK)

C("sync regs", KVM_SYNC_X86_REGS)
C("sync regs", KVM_SYNC_X86_SREGS)
C("sync regs", KVM_SYNC_X86_EVENTS)
C("sync regs", KVM_SYNC_X86_VALID_FIELDS)

C("memory slots", KVM_MEM_LOG_DIRTY_PAGES)
C("memory slots", KVM_MEM_READONLY)

C("msr filter", KVM_MSR_FILTER_MAX_BITMAP_SIZE)
C("msr filter", KVM_MSR_FILTER_MAX_RANGES)
C("msr filter", KVM_MSR_FILTER_READ)
C("msr filter", KVM_MSR_FILTER_WRITE)
C("msr filter", KVM_MSR_FILTER_DEFAULT_ALLOW)
C("msr filter", KVM_MSR_FILTER_DEFAULT_DENY)

C("cpuid", KVM_CPUID_FLAG_SIGNIFCANT_INDEX)
C("cpuid", KVM_CPUID_FLAG_STATEFUL_FUNC)
C("cpuid", KVM_CPUID_FLAG_STATE_READ_NEXT)

C("vcpu events", KVM_VCPUEVENT_VALID_NMI_PENDING)
C("vcpu events", KVM_VCPUEVENT_VALID_SIPI_VECTOR)
C("vcpu events", KVM_VCPUEVENT_VALID_SHADOW)
C("vcpu events", KVM_VCPUEVENT_VALID_SMM)
C("vcpu events", KVM_VCPUEVENT_VALID_PAYLOAD)
C("vcpu events", KVM_VCPUEVENT_VALID_TRIPLE_FAULT)
C("vcpu events", KVM_X86_SHADOW_INT_MOV_SS)
C("vcpu events", KVM_X86_SHADOW_INT_STI)

C("mp state", KVM_MP_STATE_RUNNABLE)
C("mp state", KVM_MP_STATE_UNINITIALIZED)
C("mp state", KVM_MP_STATE_INIT_RECEIVED)
C("mp state", KVM_MP_STATE_HALTED)
C("mp state", KVM_MP_STATE_SIPI_RECEIVED)
C("mp state", KVM_MP_STATE_STOPPED)
C("mp state", KVM_MP_STATE_CHECK_STOP)
C("mp state", KVM_MP_STATE_OPERATING)
C("mp state", KVM_MP_STATE_LOAD)
C("mp state", KVM_MP_STATE_AP_RESET_HOLD)
C("mp state", KVM_MP_STATE_SUSPENDED)

C("nested state", KVM_STATE_NESTED_FORMAT_VMX)
C("nested state", KVM_STATE_NESTED_FORMAT_SVM)
C("nested state", KVM_STATE_NESTED_GUEST_MODE)
C("nested state", KVM_STATE_NESTED_RUN_PENDING)
C("nested state", KVM_STATE_NESTED_EVMCS)
C("nested state", KVM_STATE_NESTED_MTF_PENDING)
C("nested state", KVM_STATE_NESTED_GIF_SET)
C("nested state", KVM_STATE_NESTED_SMM_GUEST_MODE)
C("nested state", KVM_STATE_NESTED_SMM_VMXON)
C("nested state", KVM_STATE_NESTED_VMX_VMCS_SIZE)
C("nested state", KVM_STATE_NESTED_SVM_VMCB_SIZE)
C("nested state", KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE)

/* The encoding macros, under their two spellings. */
C2("ioctl encoding", HV_IOC_NRBITS, _IOC_NRBITS)
C2("ioctl encoding", HV_IOC_TYPEBITS, _IOC_TYPEBITS)
C2("ioctl encoding", HV_IOC_SIZEBITS, _IOC_SIZEBITS)
C2("ioctl encoding", HV_IOC_DIRBITS, _IOC_DIRBITS)
C2("ioctl encoding", HV_IOC_NRSHIFT, _IOC_NRSHIFT)
C2("ioctl encoding", HV_IOC_TYPESHIFT, _IOC_TYPESHIFT)
C2("ioctl encoding", HV_IOC_SIZESHIFT, _IOC_SIZESHIFT)
C2("ioctl encoding", HV_IOC_DIRSHIFT, _IOC_DIRSHIFT)
C2("ioctl encoding", HV_IOC_NRMASK, _IOC_NRMASK)
C2("ioctl encoding", HV_IOC_TYPEMASK, _IOC_TYPEMASK)
C2("ioctl encoding", HV_IOC_SIZEMASK, _IOC_SIZEMASK)
C2("ioctl encoding", HV_IOC_DIRMASK, _IOC_DIRMASK)
C2("ioctl encoding", HV_IOC_NONE, _IOC_NONE)
C2("ioctl encoding", HV_IOC_WRITE, _IOC_WRITE)
C2("ioctl encoding", HV_IOC_READ, _IOC_READ)
C2("ioctl encoding", HV_IO(0x12, 0x34), _IO(0x12, 0x34))
C2("ioctl encoding", HV_IOR(0xfe, 0xff, struct kvm_sregs),
   _IOR(0xfe, 0xff, struct kvm_sregs))
C2("ioctl encoding", HV_IOW(0x01, 0x80, struct kvm_msr_filter),
   _IOW(0x01, 0x80, struct kvm_msr_filter))
C2("ioctl encoding", HV_IOWR(0xff, 0x00, struct kvm_run),
   _IOWR(0xff, 0x00, struct kvm_run))
C2("ioctl encoding", HV_IOC_DIR(KVM_GET_MSRS), _IOC_DIR(KVM_GET_MSRS))
C2("ioctl encoding", HV_IOC_TYPE(KVM_GET_MSRS), _IOC_TYPE(KVM_GET_MSRS))
C2("ioctl encoding", HV_IOC_NR(KVM_GET_MSRS), _IOC_NR(KVM_GET_MSRS))
C2("ioctl encoding", HV_IOC_SIZE(KVM_GET_MSRS), _IOC_SIZE(KVM_GET_MSRS))
C2("ioctl encoding", HV_IOC_DIR(KVM_SET_NESTED_STATE),
   _IOC_DIR(KVM_SET_NESTED_STATE))
C2("ioctl encoding", HV_IOC_SIZE(KVM_SET_NESTED_STATE),
   _IOC_SIZE(KVM_SET_NESTED_STATE))
C2("ioctl encoding", HV_IOC_DIR(KVM_RUN), _IOC_DIR(KVM_RUN))

C("ioctl numbers", KVM_GET_API_VERSION)
C("ioctl numbers", KVM_CREATE_VM)
C("ioctl numbers", KVM_GET_MSR_INDEX_LIST)
C("ioctl numbers", KVM_CHECK_EXTENSION)
C("ioctl numbers", KVM_GET_VCPU_MMAP_SIZE)
C("ioctl numbers", KVM_GET_SUPPORTED_CPUID)
C("ioctl numbers", KVM_GET_MSR_FEATURE_INDEX_LIST)
C("ioctl numbers", KVM_CREATE_VCPU)
C("ioctl numbers", KVM_SET_USER_MEMORY_REGION)
C("ioctl numbers", KVM_X86_SET_MSR_FILTER)
C("ioctl numbers", KVM_RUN)
C("ioctl numbers", KVM_GET_REGS)
C("ioctl numbers", KVM_SET_REGS)
C("ioctl numbers", KVM_GET_SREGS)
C("ioctl numbers", KVM_SET_SREGS)
C("ioctl numbers", KVM_INTERRUPT)
C("ioctl numbers", KVM_SET_GUEST_DEBUG)
C("ioctl numbers", KVM_GET_MSRS)
C("ioctl numbers", KVM_SET_MSRS)
C("ioctl numbers", KVM_GET_FPU)
C("ioctl numbers", KVM_SET_FPU)
C("ioctl numbers", KVM_SET_CPUID2)
C("ioctl numbers", KVM_GET_CPUID2)
C("ioctl numbers", KVM_GET_MP_STATE)
C("ioctl numbers", KVM_SET_MP_STATE)
C("ioctl numbers", KVM_NMI)
C("ioctl numbers", KVM_GET_VCPU_EVENTS)
C("ioctl numbers", KVM_SET_VCPU_EVENTS)
C("ioctl numbers", KVM_GET_DEBUGREGS)
C("ioctl numbers", KVM_SET_TSC_KHZ)
C("ioctl numbers", KVM_GET_TSC_KHZ)
C("ioctl numbers", KVM_GET_XSAVE)
C("ioctl numbers", KVM_SET_XSAVE)
C("ioctl numbers", KVM_GET_XCRS)
C("ioctl numbers", KVM_CREATE_IRQCHIP)
C("ioctl numbers", KVM_IRQ_LINE)
C("ioctl numbers", KVM_GET_IRQCHIP)
C("ioctl numbers", KVM_SET_IRQCHIP)
C("ioctl numbers", KVM_IRQ_LINE_STATUS)
C("ioctl numbers", KVM_SIGNAL_MSI)
C("ioctl numbers", KVM_GET_LAPIC)
C("ioctl numbers", KVM_SET_LAPIC)
C("ioctl numbers", KVM_GET_XSAVE2)
C("ioctl numbers", KVM_SET_XCRS)
C("ioctl numbers", KVM_SET_DEBUGREGS)
C("ioctl numbers", KVM_ENABLE_CAP)
C("ioctl numbers", KVM_GET_NESTED_STATE)
C("ioctl numbers", KVM_SET_NESTED_STATE)

};

const size_t KVM_ABI_TABLE_LEN = sizeof(KVM_ABI_TABLE) / sizeof(KVM_ABI_TABLE[0]);

#undef S
#undef F
#undef A
#undef X
#undef HB
#undef HA
#undef C
#undef C2
#undef KVM_ABI_M

#endif /* KVM_ABI_TABLE */
// clang-format on
