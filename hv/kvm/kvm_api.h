/* SPDX-License-Identifier: MIT */
/*
 * The KVM API inside the hypervisor: ioctl requests with Linux's numbers
 * and argument records, addressed to the system, a VM or a vCPU by handle
 * (the hypervisor's stand-in for file descriptors). The in-hypervisor boot
 * controller and, through the channel, a remote controller both use this
 * one entry point, so both get the same checks and the same errors.
 */
#ifndef HV_KVM_API_H
#define HV_KVM_API_H

#include <stddef.h>
#include <stdint.h>

#include "abi/kvm.h"

enum kvm_target {
	KVM_TARGET_SYSTEM,
	KVM_TARGET_VM,
	KVM_TARGET_VCPU,
};

/*
 * VM handles are 1..KVM_API_MAX_VMS (the channel carries them as they
 * are). An idle VM costs two pages (its struct and EPT root); the bound is
 * the table, not memory: each of them may still take VM_MAX_VCPUS vCPUs
 * (vmx/vm.h) while memory lasts.
 */
#define KVM_API_MAX_VMS 64

/* kvm_api_vm_owner() of a VM the in-hypervisor boot controller made. */
#define KVM_API_OWNER_BOOT 0

struct vm;
struct kvm_run;

/*
 * One ioctl. arg/arg_len hold the argument record (copied by the caller
 * into hypervisor memory, at most HV_IOC_SIZE(nr) bytes for fixed records);
 * results of read ioctls are written back there. Ioctls whose argument is a
 * plain integer (KVM_CHECK_EXTENSION, KVM_CREATE_VCPU, KVM_CREATE_VM) take
 * it as an 8-byte value, or 0 when arg_len is 0. Returns >= 0, or a
 * negative Linux errno exactly as ioctl(2) would report it.
 */
long kvm_api_ioctl(enum kvm_target target, uint32_t vm, uint32_t vcpu, unsigned long nr, void *arg,
		   size_t arg_len);

/* Closing a VM handle: the VM, its vCPUs and memory go away. */
int kvm_api_destroy_vm(uint32_t vm);

/* The in-hypervisor controller's "mmap": a vCPU's kvm_run, a VM's memory. */
struct kvm_run *kvm_api_run_page(uint32_t vm, uint32_t vcpu);
struct vm *kvm_api_vm(uint32_t vm);

/*
 * Who a VM belongs to: KVM_API_OWNER_BOOT when made (the boot controller
 * calls kvm_api_ioctl() directly), or what the creator set afterwards
 * (the channel: its session number). 0 for a handle that names no VM.
 */
uint32_t kvm_api_vm_owner(uint32_t vm);
/* 0, or -EBADF for a handle that names no VM. */
int kvm_api_set_vm_owner(uint32_t vm, uint32_t owner);

#endif
