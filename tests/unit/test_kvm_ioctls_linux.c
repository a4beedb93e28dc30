/* SPDX-License-Identifier: MIT */
/*
 * The reference half of test_kvm_ioctls: the list of abi/kvm_ioctls.h
 * expanded on the system's Linux KVM headers, so that every number, record
 * size, count offset and width and entry size in this table is Linux's.
 */
#include <linux/kvm.h>

#define ABI_KVM_IOCTLS_NO_KVM_H
#include "abi/kvm_ioctls.h"

extern const struct kvm_ioctl_desc kvm_ioctls_linux[];
extern const size_t kvm_ioctls_linux_count;

const struct kvm_ioctl_desc kvm_ioctls_linux[] = {
    KVM_IOCTL_LIST(KVM_IOCTL_DESC_INT, KVM_IOCTL_DESC_REC, KVM_IOCTL_DESC_ARR)};

const size_t kvm_ioctls_linux_count = sizeof(kvm_ioctls_linux) / sizeof(kvm_ioctls_linux[0]);
