/* SPDX-License-Identifier: MIT */
/*
 * The in-hypervisor controller: runs the guests GRUB loaded as modules (or
 * the built-in demo guest) through the same VM/vCPU interface a remote
 * controller uses, and gives them the platform of abi/hv_guest.h.
 */
#ifndef HV_BOOT_GUESTS_H
#define HV_BOOT_GUESTS_H

#include "boot/multiboot2.h"

/* Run every guest in turn; returns how many could not be started. */
unsigned boot_guests_run(const struct mb2_info *mb);

/*
 * selftest=vmentry: a VM whose KVM_SET_SREGS state (TR with an LDT type)
 * passes our checks but not the CPU's; its KVM_RUN must return
 * KVM_EXIT_FAIL_ENTRY. Returns 0 when it did.
 */
int boot_guests_entry_failure_selftest(void);

#endif
