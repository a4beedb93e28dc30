/* SPDX-License-Identifier: MIT */
/*
 * The project half of test_kvm_abi: the fact table of the list in
 * kvm_abi_fields.h, measured on abi/kvm.h.
 */
#include "abi/kvm.h"

#define KVM_ABI_TABLE	  kvm_abi_ours
#define KVM_ABI_TABLE_LEN kvm_abi_ours_len
#include "tests/unit/kvm_abi_fields.h"
