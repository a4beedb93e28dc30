/* SPDX-License-Identifier: MIT */
/* Guest MSR emulation shared by the exit handlers and the KVM API. */
#ifndef VMX_MSR_H
#define VMX_MSR_H

#include <stdint.h>

struct vcpu;

/* The MSRs emulated (KVM_GET_MSR_INDEX_LIST), in one list. */
extern const uint32_t vcpu_msr_list[];
extern const unsigned vcpu_msr_count;

/* 0, or -1 where the guest would get #GP. The vCPU must be loaded. */
int vcpu_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val);
int vcpu_msr_write(struct vcpu *v, uint32_t msr, uint64_t val);

#endif
