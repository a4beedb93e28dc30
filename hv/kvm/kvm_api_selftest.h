/* SPDX-License-Identifier: MIT */
#ifndef HV_KVM_API_SELFTEST_H
#define HV_KVM_API_SELFTEST_H

/* selftest=kvmapi: check the KVM API's answers; 0 when all passed. */
int kvm_api_selftest(void);

#endif
