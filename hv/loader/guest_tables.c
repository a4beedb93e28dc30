// SPDX-License-Identifier: MIT
/*
 * MP and ACPI tables for boot guests with an irqchip (guest_tables.h).
 * Layouts: Intel MultiProcessor Specification 1.4, chapter 4; ACPI 6.x,
 * sections 5.2.5 (RSDP), 5.2.7 (RSDT), 5.2.8 (XSDT), 5.2.12 (MADT).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "abi/errno.h"
#include "hv/lib/log.h"
#include "hv/loader/guest_tables.h"

/* MP floating pointer and configuration table. */
#define MP_FP_LEN	  16u
#define MP_HDR_LEN	  44u
#define MP_SPEC_REV	  4 /* 1.4 */
#define MP_PROC_LEN	  20u
#define MP_ENTRY_LEN	  8u
#define MP_PROCESSOR	  0
#define MP_BUS		  1
#define MP_IOAPIC	  2
#define MP_IOINT	  3
#define MP_LINT		  4
#define MP_CPU_EN	  0x01
#define MP_CPU_BP	  0x02
#define MP_IOAPIC_EN	  0x01
#define MP_INT		  0 /* vectored interrupt from the IOAPIC */
#define MP_NMI		  1
#define MP_EXTINT	  3
#define MP_ISA_BUS_ID	  0
#define MP_ISA_IRQS	  16
#define MP_ALL_LAPICS	  0xff
#define LAPIC_VERSION_ID  0x14
#define IOAPIC_VERSION_ID 0x11

/* ACPI. */
#define SDT_HDR_LEN	 36u
#define RSDP_V1_LEN	 20u
#define MADT_FIXED_LEN	 44u /* header, local APIC address, flags */
#define MADT_LAPIC	 0
#define MADT_IOAPIC	 1
#define MADT_LAPIC_NMI	 4
#define MADT_LAPIC_LEN	 8u
#define MADT_IOAPIC_LEN	 12u
#define MADT_NMI_LEN	 6u
#define MADT_PCAT_COMPAT 1u
#define MADT_LAPIC_EN	 1u
#define ACPI_ALL_CPUS	 0xff
#define ACPI_OEM_ID	 "HVMINI"	/* 6 bytes */
#define ACPI_OEM_TABLE	 "HVGUEST "	/* 8 bytes */
#define ACPI_CREATOR	 "HV  "		/* 4 bytes */
#define MP_OEM_ID	 "HV      "	/* 8 bytes */
#define MP_PRODUCT_ID	 "MINIVISOR   " /* 12 bytes */

/* Bytes from GUEST_TABLES_BASE, written through bounds-checked helpers. */
struct tw {
	uint8_t *area; /* mem + GUEST_TABLES_BASE */
	uint32_t pos;
	uint32_t cap;
	bool ok;
};

static void put(struct tw *t, uint32_t at, const void *src, uint32_t n)
{
	if (!t->ok || at > t->cap || n > t->cap - at) {
		t->ok = false;
		return;
	}
	memcpy(t->area + at, src, n);
}

static void put8(struct tw *t, uint32_t at, uint8_t v)
{
	put(t, at, &v, 1);
}

static void put16(struct tw *t, uint32_t at, uint16_t v)
{
	put(t, at, &v, 2);
}

static void put32(struct tw *t, uint32_t at, uint32_t v)
{
	put(t, at, &v, 4);
}

static void put64(struct tw *t, uint32_t at, uint64_t v)
{
	put(t, at, &v, 8);
}

/* Reserve @n bytes at the next @align boundary: their offset. */
static uint32_t take(struct tw *t, uint32_t n, uint32_t align)
{
	uint32_t at = (t->pos + align - 1) & ~(align - 1);

	if (at > t->cap || n > t->cap - at) {
		t->ok = false;
		return 0;
	}
	t->pos = at + n;
	return at;
}

/* Set byte @sum_at so that [at, at + n) sums to 0. */
static void checksum(struct tw *t, uint32_t at, uint32_t n, uint32_t sum_at)
{
	uint8_t s = 0;

	if (!t->ok || at > t->cap || n > t->cap - at)
		return;
	t->area[sum_at] = 0;
	for (uint32_t i = 0; i < n; i++)
		s += t->area[at + i];
	t->area[sum_at] = (uint8_t)-s;
}

static uint32_t gpa(uint32_t at)
{
	return GUEST_TABLES_BASE + at;
}

/* ---- MP ------------------------------------------------------------------ */

static void mp_entry8(struct tw *t, uint32_t *at, const uint8_t e[MP_ENTRY_LEN])
{
	put(t, *at, e, MP_ENTRY_LEN);
	*at += MP_ENTRY_LEN;
}

static uint32_t mp_table_len(unsigned ncpus)
{
	/* processors, the ISA bus, the IOAPIC, 16 I/O interrupts, 2 local ones */
	return MP_HDR_LEN + ncpus * MP_PROC_LEN + (1 + 1 + MP_ISA_IRQS + 2) * MP_ENTRY_LEN;
}

static void mp_write(struct tw *t, const struct guest_tables_cfg *cfg, uint32_t fp, uint32_t tbl)
{
	uint32_t len = mp_table_len(cfg->ncpus), at = tbl + MP_HDR_LEN;
	uint16_t count = 0;

	put(t, fp, "_MP_", 4);
	put32(t, fp + 4, gpa(tbl));
	put8(t, fp + 8, MP_FP_LEN / 16);
	put8(t, fp + 9, MP_SPEC_REV);
	/* feature byte 1 = 0: a configuration table is present; byte 2 = 0: no IMCR */
	checksum(t, fp, MP_FP_LEN, fp + 10);

	put(t, tbl, "PCMP", 4);
	put16(t, tbl + 4, (uint16_t)len);
	put8(t, tbl + 6, MP_SPEC_REV);
	put(t, tbl + 8, MP_OEM_ID, 8);
	put(t, tbl + 16, MP_PRODUCT_ID, 12);
	put32(t, tbl + 36, GUEST_LAPIC_ADDR);

	for (unsigned i = 0; i < cfg->ncpus; i++, count++) {
		uint8_t e[MP_PROC_LEN] = {MP_PROCESSOR, (uint8_t)i, LAPIC_VERSION_ID,
					  (uint8_t)(MP_CPU_EN | (i == 0 ? MP_CPU_BP : 0))};

		memcpy(e + 4, &cfg->cpu_signature, 4);
		memcpy(e + 8, &cfg->cpu_features, 4);
		put(t, at, e, sizeof(e));
		at += MP_PROC_LEN;
	}
	mp_entry8(t, &at, (const uint8_t[]){MP_BUS, MP_ISA_BUS_ID, 'I', 'S', 'A', ' ', ' ', ' '});
	count++;
	{
		uint8_t e[MP_ENTRY_LEN] = {MP_IOAPIC, GUEST_IOAPIC_ID, IOAPIC_VERSION_ID,
					   MP_IOAPIC_EN};
		uint32_t addr = GUEST_IOAPIC_ADDR;

		memcpy(e + 4, &addr, 4);
		mp_entry8(t, &at, e);
		count++;
	}
	/* Flags 0: polarity and trigger as the ISA bus has them (high, edge). */
	for (uint8_t irq = 0; irq < MP_ISA_IRQS; irq++, count++)
		mp_entry8(t, &at,
			  (const uint8_t[]){MP_IOINT, MP_INT, 0, 0, MP_ISA_BUS_ID, irq,
					    GUEST_IOAPIC_ID, irq});
	mp_entry8(t, &at,
		  (const uint8_t[]){MP_LINT, MP_EXTINT, 0, 0, MP_ISA_BUS_ID, 0, MP_ALL_LAPICS, 0});
	mp_entry8(t, &at,
		  (const uint8_t[]){MP_LINT, MP_NMI, 0, 0, MP_ISA_BUS_ID, 0, MP_ALL_LAPICS, 1});
	count += 2;
	if (t->ok && at != tbl + len)
		t->ok = false;
	put16(t, tbl + 34, count);
	checksum(t, tbl, len, tbl + 7);
}

/* ---- ACPI ---------------------------------------------------------------- */

static void sdt_header(struct tw *t, uint32_t at, const char *sig, uint32_t len, uint8_t rev)
{
	put(t, at, sig, 4);
	put32(t, at + 4, len);
	put8(t, at + 8, rev);
	put(t, at + 10, ACPI_OEM_ID, 6);
	put(t, at + 16, ACPI_OEM_TABLE, 8);
	put32(t, at + 24, 1); /* OEM revision */
	put(t, at + 28, ACPI_CREATOR, 4);
	put32(t, at + 32, 1); /* creator revision */
}

static uint32_t madt_len(unsigned ncpus)
{
	return MADT_FIXED_LEN + ncpus * MADT_LAPIC_LEN + MADT_IOAPIC_LEN + MADT_NMI_LEN;
}

static void madt_write(struct tw *t, const struct guest_tables_cfg *cfg, uint32_t madt)
{
	uint32_t len = madt_len(cfg->ncpus), at = madt + MADT_FIXED_LEN;

	sdt_header(t, madt, "APIC", len, 1);
	put32(t, madt + 36, GUEST_LAPIC_ADDR);
	put32(t, madt + 40, MADT_PCAT_COMPAT);
	for (unsigned i = 0; i < cfg->ncpus; i++) {
		uint8_t e[MADT_LAPIC_LEN] = {MADT_LAPIC, MADT_LAPIC_LEN, (uint8_t)i, (uint8_t)i,
					     MADT_LAPIC_EN};

		put(t, at, e, sizeof(e));
		at += MADT_LAPIC_LEN;
	}
	{
		uint8_t e[MADT_IOAPIC_LEN] = {MADT_IOAPIC, MADT_IOAPIC_LEN, GUEST_IOAPIC_ID, 0};
		uint32_t addr = GUEST_IOAPIC_ADDR, gsi_base = 0;

		memcpy(e + 4, &addr, 4);
		memcpy(e + 8, &gsi_base, 4);
		put(t, at, e, sizeof(e));
		at += MADT_IOAPIC_LEN;
	}
	/* Flags 0 (as the bus conforms), on LINT1 of every processor. */
	put(t, at, (const uint8_t[]){MADT_LAPIC_NMI, MADT_NMI_LEN, ACPI_ALL_CPUS, 0, 0, 1},
	    MADT_NMI_LEN);
	at += MADT_NMI_LEN;
	if (t->ok && at != madt + len)
		t->ok = false;
	checksum(t, madt, len, madt + 9);
}

static void acpi_write(struct tw *t, const struct guest_tables_cfg *cfg, uint32_t rsdp,
		       uint32_t rsdt, uint32_t xsdt, uint32_t madt)
{
	madt_write(t, cfg, madt);

	sdt_header(t, rsdt, "RSDT", SDT_HDR_LEN + 4, 1);
	put32(t, rsdt + SDT_HDR_LEN, gpa(madt));
	checksum(t, rsdt, SDT_HDR_LEN + 4, rsdt + 9);

	sdt_header(t, xsdt, "XSDT", SDT_HDR_LEN + 8, 1);
	put64(t, xsdt + SDT_HDR_LEN, gpa(madt));
	checksum(t, xsdt, SDT_HDR_LEN + 8, xsdt + 9);

	put(t, rsdp, "RSD PTR ", 8);
	put(t, rsdp + 9, ACPI_OEM_ID, 6);
	put8(t, rsdp + 15, 2); /* revision: ACPI 2.0+, XSDT present */
	put32(t, rsdp + 16, gpa(rsdt));
	put32(t, rsdp + 20, GUEST_RSDP_LEN);
	put64(t, rsdp + 24, gpa(xsdt));
	checksum(t, rsdp, RSDP_V1_LEN, rsdp + 8);
	checksum(t, rsdp, GUEST_RSDP_LEN, rsdp + 32);
}

int guest_tables_write(uint8_t *mem, uint64_t mem_size, const struct guest_tables_cfg *cfg,
		       struct guest_tables *out)
{
	struct tw t = {.cap = GUEST_TABLES_END - GUEST_TABLES_BASE, .ok = true};
	uint32_t fp, rsdp, tbl, rsdt, xsdt, madt;

	if (!mem || !cfg || !out || mem_size < GUEST_TABLES_END) {
		log_err("tables: need guest memory up to 0x%x (have 0x%llx)", GUEST_TABLES_END,
			(unsigned long long)mem_size);
		return -HV_EINVAL;
	}
	if (cfg->ncpus < 1 || cfg->ncpus > GUEST_TABLES_MAX_CPUS) {
		log_err("tables: %u vCPUs (1..%u)", cfg->ncpus, GUEST_TABLES_MAX_CPUS);
		return -HV_EINVAL;
	}
	/* Plan first: nothing is written unless all of it fits. */
	fp = take(&t, MP_FP_LEN, 16);
	rsdp = take(&t, GUEST_RSDP_LEN, 16);
	tbl = take(&t, mp_table_len(cfg->ncpus), 16);
	rsdt = take(&t, SDT_HDR_LEN + 4, 16);
	xsdt = take(&t, SDT_HDR_LEN + 8, 16);
	madt = take(&t, madt_len(cfg->ncpus), 16);
	if (!t.ok) {
		log_err("tables: %u bytes do not fit in [0x%x-0x%x)", t.pos, GUEST_TABLES_BASE,
			GUEST_TABLES_END);
		return -HV_ENOSPC;
	}
	t.area = mem + GUEST_TABLES_BASE;
	memset(t.area, 0, t.pos);
	mp_write(&t, cfg, fp, tbl);
	acpi_write(&t, cfg, rsdp, rsdt, xsdt, madt);
	if (!t.ok) {
		log_err("tables: internal error: a table overran its space");
		memset(t.area, 0, t.pos);
		return -HV_EINVAL;
	}
	*out = (struct guest_tables){.mp_pointer = gpa(fp),
				     .mp_table = gpa(tbl),
				     .rsdp = gpa(rsdp),
				     .rsdt = gpa(rsdt),
				     .xsdt = gpa(xsdt),
				     .madt = gpa(madt),
				     .end = gpa(t.pos)};
	memcpy(out->rsdp_copy, t.area + rsdp, GUEST_RSDP_LEN);
	return 0;
}
