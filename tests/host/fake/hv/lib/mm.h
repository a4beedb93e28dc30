/* SPDX-License-Identifier: MIT */
/*
 * Host build: hv/lib/mm.h on a fake physical address space
 * (tests/host/fake_mm.c). Every allocation is its own host block
 * (aligned_alloc, so AddressSanitizer sees its bounds) at a fake physical
 * address that is never handed out twice; phys_to_virt() and
 * virt_to_phys() translate through the table of live blocks and stop the
 * program on an address no live block holds (a use after free, or a
 * physical address taken for a pointer). 0 translates to NULL and back.
 */
#ifndef TESTS_HOST_FAKE_HV_MM_H
#define TESTS_HOST_FAKE_HV_MM_H

#define phys_to_virt hvreal_phys_to_virt
#define virt_to_phys hvreal_virt_to_phys

#include_next "hv/lib/mm.h"

#undef phys_to_virt
#undef virt_to_phys

void *phys_to_virt(uint64_t pa);
uint64_t virt_to_phys(const void *va);

#endif
