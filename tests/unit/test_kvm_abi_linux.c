/* SPDX-License-Identifier: MIT */
/*
 * The reference half of test_kvm_abi: the fact table of the list in
 * kvm_abi_fields.h, measured on the system's Linux KVM headers.
 */
#include <linux/kvm.h>

#define KVM_ABI_TABLE	  kvm_abi_linux
#define KVM_ABI_TABLE_LEN kvm_abi_linux_len
#define KVM_ABI_LINUX	  1
#include "tests/unit/kvm_abi_fields.h"
