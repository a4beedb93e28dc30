/* SPDX-License-Identifier: MIT */
/*
 * Virtual machines, shaped like KVM's: a VM owns guest memory slots (each
 * a guest-physical range backed by hypervisor pages, reachable by the guest
 * only through this VM's EPT) and vCPUs. Guest memory is allocated by the
 * hypervisor: a remote controller's userspace_addr names its own copy.
 */
#ifndef HV_VM_H
#define HV_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/kvm.h"
#include "vmx/ept.h"
#include "vmx/exit_reasons.h"

#define VM_MAX_SLOTS 8
/*
 * vCPUs per VM, and the bound on their ids (KVM_CAP_MAX_VCPUS and
 * KVM_CAP_MAX_VCPU_ID). A vCPU costs about 10 pages (its struct, VMCS,
 * kvm_run, I/O and MSR bitmaps, XSAVE area) and a VPID (16 bits, so
 * VM_MAX_VCPUS * KVM_API_MAX_VMS must stay well below 65535): 64 of them
 * take under 3 MiB. Memory runs out before this limit is reached only
 * with little memory, and that is ENOMEM, as on Linux.
 */
#define VM_MAX_VCPUS 64
#define VM_NAME_MAX  32

struct vcpu;
struct irqchip;
struct msr_filter;
struct msr_allowlist;

struct memslot {
	bool used;
	uint32_t flags; /* KVM_MEM_* */
	uint64_t gpa, size;
	uint64_t hpa;	    /* contiguous backing pages */
	uint64_t user_addr; /* the controller's view, echoed back */
	/*
	 * Per page, vm_page_hash() of the remote controller's copy (see
	 * MEM_CHANGED in abi/hvwire.h); 0 = all zero, as the slot starts.
	 */
	uint64_t *hashes;
};

struct vm {
	int id;
	char name[VM_NAME_MAX];
	struct ept ept;
	struct memslot slots[VM_MAX_SLOTS];
	struct vcpu *vcpus[VM_MAX_VCPUS];
	unsigned n_vcpus;
	/* KVM_ENABLE_CAP state (kvm_vm_ioctl_enable_cap): */
	uint32_t max_vcpu_ids;		   /* KVM_CAP_MAX_VCPU_ID; 0 until set */
	bool guest_can_read_platform_info; /* KVM_CAP_MSR_PLATFORM_INFO; true at creation */
	bool exit_on_emulation_failure;	   /* KVM_CAP_EXIT_ON_EMULATION_FAILURE */
	/*
	 * KVM_X86_SET_MSR_FILTER's filter (NULL: every MSR allowed) and the
	 * KVM_CAP_X86_USER_SPACE_MSR reasons (KVM_MSR_EXIT_REASON_*) for which
	 * a refused guest RDMSR/WRMSR exits to the controller instead of #GP.
	 */
	struct msr_filter *msr_filter;
	struct msr_allowlist *msr_allowlist; /* HV_ADD_MSR_ALLOWLIST's ranges, or NULL */
	uint32_t user_space_msr_mask;
	struct irqchip *irqchip; /* KVM_CREATE_IRQCHIP's PICs and IOAPIC, or NULL */
	/*
	 * APIC virtualisation (vmx/irqchip.c): the APIC-access page (0: none),
	 * whether the EPT maps it at 0xfee00000, and whether that must be
	 * decided again at the next entry.
	 */
	uint64_t apic_access_pa;
	bool apic_access_mapped, apic_access_dirty;
};

/* 0 or a negative errno (ENOMEM). Needs VMX operation (INVEPT). */
int vm_create(const char *name, struct vm **out);
/* vCPUs, then INVEPT, then slot memory and EPT tables go back to the allocator. */
void vm_destroy(struct vm *vm);
/*
 * KVM_X86_SET_MSR_FILTER (kvm_vm_ioctl_set_msr_filter): the marshalled
 * record (abi/kvm_ioctls.h) replaces the VM's filter as a whole, and every
 * vCPU's MSR bitmap follows at once (no vCPU runs meanwhile); -EINVAL for
 * a filter upstream refuses (the old one stays), -ENOMEM.
 */
int vm_set_msr_filter(struct vm *vm, const void *rec, size_t len);
/*
 * HV_ADD_MSR_ALLOWLIST / HV_CLEAR_MSR_ALLOWLIST (abi/kvm_x86.h): one range
 * added (0, -EINVAL, -E2BIG, -ENOMEM), or all removed; the vCPUs' MSR
 * bitmaps follow at once.
 */
int vm_add_msr_allowlist(struct vm *vm, const void *rec, size_t len);
void vm_clear_msr_allowlist(struct vm *vm);
/*
 * KVM_X86_SET_MSR_FILTER (kvm_vm_ioctl_set_msr_filter): the marshalled
 * record (abi/kvm_ioctls.h) replaces the VM's filter as a whole, and every
 * vCPU's MSR bitmap follows before it next enters; -EINVAL for a filter
 * upstream refuses (the old one stays), -ENOMEM.
 */
int vm_set_msr_filter(struct vm *vm, const void *rec, size_t len);
/*
 * HV_ADD_MSR_ALLOWLIST / HV_CLEAR_MSR_ALLOWLIST (abi/kvm_x86.h): one range
 * added (0, -EINVAL, -E2BIG, -ENOMEM), or all removed; the vCPUs' MSR
 * bitmaps follow at once.
 */
int vm_add_msr_allowlist(struct vm *vm, const void *rec, size_t len);
void vm_clear_msr_allowlist(struct vm *vm);

/*
 * KVM_SET_USER_MEMORY_REGION with Linux 6.1's rules: create (size > 0 in
 * an unused slot), delete (size 0; EINVAL if the slot is unused), move (a
 * new gpa) or a KVM_MEM_LOG_DIRTY_PAGES change; size, userspace_addr and
 * KVM_MEM_READONLY of a used slot cannot change (EINVAL), and the same
 * gpa and flags again is a no-op. Overlap with another slot is -EEXIST;
 * bad flags, alignment, slot number, a wrapping range, more than 2^31 - 1
 * pages or a range ending above the EPT's reach (gpa_limit: 2^48 or
 * 2^MAXPHYADDR) -EINVAL; no memory -ENOMEM. Any failure leaves the VM as
 * it was: every slot where it was, mapped, with its contents and hashes.
 * Whatever a slot stops mapping is flushed (INVEPT) before its pages are
 * freed or the guest runs again.
 */
int vm_set_memory_region(struct vm *vm, const struct kvm_userspace_memory_region *r);

/* Hypervisor pointer to [gpa, gpa + len) if one slot backs all of it. */
void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len);

/*
 * Copy to/from guest-physical memory; the range may span adjacent slots.
 * -EFAULT, with nothing copied, unless slots back all of it (a wrapping
 * range never is); len 0 copies nothing and succeeds.
 */
int vm_read_gpa(struct vm *vm, uint64_t gpa, void *buf, uint64_t len);
int vm_write_gpa(struct vm *vm, uint64_t gpa, const void *buf, uint64_t len);

/*
 * A 64-bit keyed hash of one page (general registers only): 0 if and only
 * if the page is all zero.
 */
uint64_t vm_page_hash(const void *page);
/* The slot backing the page at @gpa and its index there, or NULL. */
struct memslot *vm_gpa_slot(struct vm *vm, uint64_t gpa, uint64_t *index);

/* Bytes of guest memory in the VM's slots. */
uint64_t vm_memory_bytes(const struct vm *vm);

/* Log the VM's exit counts per reason (all its vCPUs), one line per reason. */
void vm_print_stats(const struct vm *vm);

#endif
