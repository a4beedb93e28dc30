/* SPDX-License-Identifier: MIT */
/*
 * Firmware tables for a boot guest with an irqchip (module option
 * irqchip=1): what a PC BIOS leaves for a kernel to find its interrupt
 * controllers, written into guest memory where kernels search for them.
 *
 *  - an Intel MultiProcessor Specification 1.4 floating pointer and
 *    configuration table: a processor entry per vCPU (APIC ID = vCPU id,
 *    vCPU 0 the BSP), the ISA bus, the IOAPIC, an I/O interrupt entry for
 *    each ISA IRQ 0-15 on the IOAPIC pin of the same number, and LINT0 =
 *    ExtINT, LINT1 = NMI;
 *  - ACPI: an RSDP (revision 2) naming an RSDT and an XSDT, each listing
 *    one MADT: a Processor Local APIC entry per vCPU, the IOAPIC with GSI
 *    base 0, a Local APIC NMI on LINT1, PCAT_COMPAT set (8259s present).
 *    There is no interrupt source override: the KVM irqchip's default
 *    routing sends GSI i to IOAPIC pin i (and PIC input i below 16), so
 *    ISA IRQ i is GSI i. There is no FADT or DSDT.
 *
 * Everything sits from GUEST_TABLES_BASE (in 0xf0000-0xfffff, which
 * guest_e820() reports reserved; both the MP and the RSDP searches cover
 * it), every checksum right.
 *
 * Pure logic: builds freestanding and on the host.
 */
#ifndef HV_GUEST_TABLES_H
#define HV_GUEST_TABLES_H

#include <stdint.h>

#include "abi/hv_guest.h"

#define GUEST_LAPIC_ADDR      HV_GUEST_LAPIC_ADDR
#define GUEST_IOAPIC_ADDR     HV_GUEST_IOAPIC_ADDR
#define GUEST_IOAPIC_ID	      0 /* KVM's IOAPIC ID register at reset */
#define GUEST_IOAPIC_PINS     24
#define GUEST_TABLES_BASE     0xf0000u
#define GUEST_TABLES_END      0x100000u
#define GUEST_TABLES_MAX_CPUS 64
#define GUEST_RSDP_LEN	      36u

struct guest_tables_cfg {
	unsigned ncpus;		/* 1..GUEST_TABLES_MAX_CPUS */
	uint32_t cpu_signature; /* CPUID.1:EAX, for the MP processor entries */
	uint32_t cpu_features;	/* CPUID.1:EDX */
};

/* Where each table went (guest-physical), and the RSDP's bytes. */
struct guest_tables {
	uint32_t mp_pointer, mp_table, rsdp, rsdt, xsdt, madt, end;
	uint8_t rsdp_copy[GUEST_RSDP_LEN];
};

/*
 * Write the tables into guest memory @mem (@mem_size bytes, at least
 * GUEST_TABLES_END) and describe them in @out. Returns 0, or a negative
 * errno value after logging why (nothing is written then).
 */
int guest_tables_write(uint8_t *mem, uint64_t mem_size, const struct guest_tables_cfg *cfg,
		       struct guest_tables *out);

#endif
