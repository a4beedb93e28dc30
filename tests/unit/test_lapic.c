// SPDX-License-Identifier: MIT
/*
 * Unit tests of the local APIC model (hv/irqchip/lapic.c) on a fake clock
 * and a fake IPI router. Each test names the upstream function of Linux's
 * arch/x86/kvm/lapic.c (or the SDM rule) whose behaviour it checks.
 */
#include <stdint.h>
#include <string.h>

#include "hv/irqchip/lapic.h"
#include "tests/unit/check.h"

#define TSC_HZ 2000000000ull /* two TSC ticks per bus cycle at 1 GHz */
#define BUS_HZ 1000000000ull

static uint64_t fake_tsc;
static struct lapic apics[2];
static struct lapic_ipi ipis[16];
static unsigned nipis;
static int eoi_vector;
static bool eoi_level;
static unsigned neois;

static uint64_t fake_now(void *ctx)
{
	(void)ctx;
	return fake_tsc;
}

/* Records the IPI and, like the hypervisor's router, delivers it. */
static void fake_deliver(void *ctx, const struct lapic_ipi *ipi)
{
	struct lapic *src = ctx;
	int i;

	if (nipis < sizeof(ipis) / sizeof(ipis[0]))
		ipis[nipis] = *ipi;
	nipis++;
	for (i = 0; i < 2; i++)
		if (lapic_ipi_match(&apics[i], ipi, &apics[i] == src))
			lapic_ipi_accept(&apics[i], ipi);
}

static void fake_eoi(void *ctx, uint8_t vector, bool level)
{
	(void)ctx;
	eoi_vector = vector;
	eoi_level = level;
	neois++;
}

static void setup_cfg(uint32_t id, bool tsc_deadline)
{
	struct lapic_config cfg = {
	    .vcpu_id = id,
	    .tsc_hz = TSC_HZ,
	    .bus_hz = BUS_HZ,
	    .x2apic = true,
	    .tsc_deadline = tsc_deadline,
	    .now = fake_now,
	    .deliver = fake_deliver,
	    .eoi = fake_eoi,
	    .ctx = &apics[id],
	};

	lapic_init(&apics[id], &cfg);
}

/* Two vCPUs, both APICs software-enabled unless @enable is false. */
static struct lapic *setup(bool enable)
{
	fake_tsc = 1000;
	nipis = 0;
	neois = 0;
	eoi_vector = -1;
	eoi_level = false;
	setup_cfg(0, true);
	setup_cfg(1, true);
	if (enable) {
		lapic_mmio_write(&apics[0], LAPIC_SPIV, 4, 0x1ff);
		lapic_mmio_write(&apics[1], LAPIC_SPIV, 4, 0x1ff);
	}
	return &apics[0];
}

static uint32_t rd(struct lapic *a, uint32_t off)
{
	uint32_t v = 0xdeadbeef;

	if (lapic_mmio_read(a, off, 4, &v))
		return 0xdeadbeef;
	return v;
}

static void wr(struct lapic *a, uint32_t off, uint32_t v)
{
	lapic_mmio_write(a, off, 4, v);
}

static bool to_x2apic(struct lapic *a)
{
	return lapic_set_base(a, LAPIC_DEFAULT_PHYS_BASE | LAPIC_BASE_ENABLE | LAPIC_BASE_X2APIC,
			      false) == 0;
}

/* kvm_lapic_reset (RESET), kvm_apic_set_version, kvm_create_lapic */
static void test_reset_values(void)
{
	struct lapic *a = setup(false);
	int i;

	CHECK_EQ(a->apic_base, 0xfee00000ull | LAPIC_BASE_ENABLE | LAPIC_BASE_BSP);
	CHECK_EQ(apics[1].apic_base, 0xfee00000ull | LAPIC_BASE_ENABLE);
	CHECK_EQ(rd(a, LAPIC_ID), 0);
	CHECK_EQ(rd(&apics[1], LAPIC_ID), 1u << 24);
	CHECK_EQ(rd(a, LAPIC_LVR), 0x50014);
	CHECK_EQ(rd(a, LAPIC_TASKPRI), 0);
	CHECK_EQ(rd(a, LAPIC_PROCPRI), 0);
	CHECK_EQ(rd(a, LAPIC_LDR), 0);
	CHECK_EQ(rd(a, LAPIC_DFR), 0xffffffffu);
	CHECK_EQ(rd(a, LAPIC_SPIV), 0xff);
	CHECK(!lapic_sw_enabled(a));
	for (i = 0; i < LAPIC_NR_LVT; i++)
		CHECK_EQ(rd(a, LAPIC_LVTT + 0x10 * i), LAPIC_LVT_MASKED);
	CHECK_EQ(rd(a, LAPIC_ICR), 0);
	CHECK_EQ(rd(a, LAPIC_ICR2), 0);
	CHECK_EQ(rd(a, LAPIC_ESR), 0);
	for (i = 0; i < 8; i++) {
		CHECK_EQ(rd(a, LAPIC_ISR + 0x10 * i), 0);
		CHECK_EQ(rd(a, LAPIC_TMR + 0x10 * i), 0);
		CHECK_EQ(rd(a, LAPIC_IRR + 0x10 * i), 0);
	}
	CHECK_EQ(rd(a, LAPIC_TDCR), 0);
	CHECK_EQ(rd(a, LAPIC_TMICT), 0);
	CHECK_EQ(rd(a, LAPIC_TMCCT), 0);
	CHECK_EQ(a->timer.divide, 2);
	CHECK_EQ(lapic_timer_next(a, fake_tsc), UINT64_MAX);
	CHECK_EQ(lapic_has_interrupt(a), -1);
}

/* kvm_lapic_reset: INIT keeps ID and IA32_APIC_BASE; the LINT0 quirk. */
static void test_reset_init_and_quirk(void)
{
	struct lapic *a = setup(true);
	struct lapic_config cfg = a->cfg;

	wr(a, LAPIC_ID, 0x07000000);
	wr(a, LAPIC_TASKPRI, 0x20);
	lapic_accept_irq(a, 0x40, false);
	lapic_reset(a, true);
	CHECK_EQ(rd(a, LAPIC_ID), 0x07000000);
	CHECK_EQ(rd(a, LAPIC_TASKPRI), 0);
	CHECK_EQ(rd(a, LAPIC_IRR + 0x20), 0);
	CHECK_EQ(rd(a, LAPIC_SPIV), 0xff);
	lapic_reset(a, false);
	CHECK_EQ(rd(a, LAPIC_ID), 0);

	cfg.lint0_reenabled = true;
	lapic_init(a, &cfg);
	CHECK_EQ(rd(a, LAPIC_LVT0), 0x700);
	CHECK_EQ(rd(a, LAPIC_LVT1), LAPIC_LVT_MASKED);
}

struct mask_case {
	uint32_t off;
	uint32_t ones; /* read back after writing all ones */
	uint32_t zero; /* read back after writing zero */
};

/* kvm_lapic_reg_write (apic_lvt_mask, SPIV 0x3ff, TDCR 0xb, DFR, ID, LDR) */
static void test_writable_masks(void)
{
	static const struct mask_case cases[] = {
	    {LAPIC_ID, 0xff000000u, 0},	   {LAPIC_TASKPRI, 0xff, 0},
	    {LAPIC_LDR, 0xff000000u, 0},   {LAPIC_DFR, 0xffffffffu, 0x0fffffffu},
	    {LAPIC_ICR2, 0xff000000u, 0},  {LAPIC_LVTT, 0x710ffu, 0},
	    {LAPIC_LVTTHMR, 0x117ffu, 0},  {LAPIC_LVTPC, 0x117ffu, 0},
	    {LAPIC_LVT0, 0x1f7ffu, 0},	   {LAPIC_LVT1, 0x1f7ffu, 0},
	    {LAPIC_LVTERR, 0x110ffu, 0},   {LAPIC_TDCR, 0xb, 0},
	    {LAPIC_TMICT, 0xffffffffu, 0},
	};
	static const uint32_t read_only[] = {LAPIC_LVR,	       LAPIC_PROCPRI, LAPIC_ISR,
					     LAPIC_TMR + 0x70, LAPIC_IRR,     LAPIC_TMCCT,
					     LAPIC_ARBPRI};
	struct lapic *a = setup(true);
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* The TSC-deadline mode would ignore TMICT: start from one-shot. */
		wr(a, LAPIC_LVTT, 0);
		wr(a, cases[i].off, 0xffffffffu);
		CHECK_EQ(rd(a, cases[i].off), cases[i].ones);
		wr(a, cases[i].off, 0);
		CHECK_EQ(rd(a, cases[i].off), cases[i].zero);
	}
	for (i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
		uint32_t before = rd(a, read_only[i]);

		wr(a, read_only[i], 0xffffffffu);
		CHECK_EQ(rd(a, read_only[i]), before);
	}
	/* SPIV: bits 0-9; the write of zero software-disables and masks. */
	wr(a, LAPIC_SPIV, 0xffffffffu);
	CHECK_EQ(rd(a, LAPIC_SPIV), 0x3ff);
	/* ICR: delivery status reads 0 (mode 7 is dropped, nothing sent). */
	wr(a, LAPIC_ICR, 0xffffffffu);
	CHECK_EQ(rd(a, LAPIC_ICR), 0xffffefffu);
	CHECK_EQ(nipis, 0);
	/* EOI and the remote read register read as 0. */
	CHECK_EQ(rd(a, LAPIC_EOI), 0);
	CHECK_EQ(rd(a, LAPIC_RRR), 0);
	/* ESR (kvm_lapic_reg_write, APIC_ESR): an xAPIC write stores nothing. */
	wr(a, LAPIC_ESR, 0xffffffffu);
	CHECK_EQ(rd(a, LAPIC_ESR), 0);

	/* Without TSC-deadline in CPUID only the periodic bit is writable. */
	setup_cfg(1, false);
	wr(&apics[1], LAPIC_SPIV, 0x1ff);
	wr(&apics[1], LAPIC_LVTT, 0xffffffffu);
	CHECK_EQ(rd(&apics[1], LAPIC_LVTT), 0x310ffu);
}

/* kvm_x2apic_msr_read/write, kvm_lapic_msr_read/write, __kvm_x2apic_icr_write */
static void test_x2apic_msrs(void)
{
	static const uint32_t no_read[] = {0x800, 0x801, 0x804, 0x807, 0x809, 0x80b,
					   0x80c, 0x80e, 0x82f, 0x831, 0x83a, 0x83d,
					   0x83f, 0x840, 0x8ff, 0x7ff, 0x900};
	static const uint32_t read_only[] = {0x802, 0x803, 0x80a, 0x80d, 0x810,
					     0x818, 0x820, 0x827, 0x839};
	struct lapic *a = setup(true);
	uint32_t v32;
	uint64_t v;
	size_t i;

	/* Not in x2APIC mode: every x2APIC MSR is #GP. */
	CHECK_EQ(lapic_x2apic_msr_read(a, 0x808, &v), -1);
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x808, 0), -1);

	CHECK(to_x2apic(&apics[1]));
	a = &apics[1];
	CHECK(lapic_x2apic_mode(a));
	CHECK_EQ(lapic_mmio_read(a, LAPIC_ID, 4, &v32), -1);
	CHECK_EQ(lapic_mmio_write(a, LAPIC_TASKPRI, 4, 0x20), -1);

	CHECK_EQ(lapic_x2apic_msr_read(a, 0x802, &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(lapic_x2apic_msr_read(a, 0x80d, &v), 0);
	CHECK_EQ(v, (0u << 16) | (1u << 1));
	CHECK_EQ(lapic_x2apic_msr_read(a, 0x803, &v), 0);
	CHECK_EQ(v, 0x50014);

	for (i = 0; i < sizeof(no_read) / sizeof(no_read[0]); i++)
		CHECK_EQ(lapic_x2apic_msr_read(a, no_read[i], &v), -1);
	for (i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++)
		CHECK_EQ(lapic_x2apic_msr_write(a, read_only[i], 0), -1);
	/* DFR, ICR2 and ARBPRI do not exist in x2APIC mode. */
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x80e, 0xffffffffu), -1);
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x831, 0), -1);
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x809, 0), -1);

	/*
	 * Reserved bits that are #GP: 63:32 of all but ICR (kvm_lapic_msr_write),
	 * any ESR bit and SELF_IPI bits 31:8 (kvm_lapic_reg_write), ICR's
	 * (kvm_x2apic_icr_write).
	 */
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x808, 1ull << 32), -1);
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x828, 1), -1);
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x828, 1ull << 31), -1);
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x83f, 0x100), -1);
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x83f, 0x80000040u), -1);
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x830, 1ull << 13), -1);
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x830, 1ull << 16), -1);
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x830, 1ull << 20), -1);
	CHECK_EQ(nipis, 0);
	/* kvm_lapic_reg_write: other registers drop reserved bits, no #GP. */
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x808, 0x120), 0);
	CHECK_EQ(lapic_x2apic_msr_read(a, 0x808, &v), 0);
	CHECK_EQ(v, 0x20);
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x80f, 0x5ff), 0);
	CHECK_EQ(lapic_x2apic_msr_read(a, 0x80f, &v), 0);
	CHECK_EQ(v, 0x1ff);
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x80b, 1), 0); /* EOI: any value */
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x832, 0x80130), 0);
	CHECK_EQ(lapic_x2apic_msr_read(a, 0x832, &v), 0);
	CHECK_EQ(v, 0x30);
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x835, 0x8ff), 0);
	CHECK_EQ(lapic_x2apic_msr_read(a, 0x835, &v), 0);
	CHECK_EQ(v, 0xff);
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x83e, 0x7), 0);
	CHECK_EQ(lapic_x2apic_msr_read(a, 0x83e, &v), 0);
	CHECK_EQ(v, 0x3);
	CHECK_EQ(nipis, 0);
	/* ESR: zero is accepted, stores nothing and reads 0. */
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x828, 0), 0);
	CHECK_EQ(lapic_x2apic_msr_read(a, 0x828, &v), 0);
	CHECK_EQ(v, 0);

	/* Valid writes. */
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x808, 0x20), 0);
	CHECK_EQ(lapic_x2apic_msr_read(a, 0x808, &v), 0);
	CHECK_EQ(v, 0x20);
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x80b, 0), 0);
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x828, 0), 0);
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x838, 0xffffffffu), 0);
	CHECK_EQ(lapic_x2apic_msr_read(a, 0x838, &v), 0);
	CHECK_EQ(v, 0xffffffffu);
	/* The busy bit is dropped silently; ICR reads as one 64-bit value. */
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x830, 0x0000000500001040ull), 0);
	CHECK_EQ(lapic_x2apic_msr_read(a, 0x830, &v), 0);
	CHECK_EQ(v, 0x0000000500000040ull);
	CHECK_EQ(nipis, 1);
	CHECK_EQ(ipis[0].dest, 5);
	CHECK(ipis[0].x2apic);
	/* Level trigger and assert (bits 15, 14) are not reserved. */
	CHECK_EQ(lapic_x2apic_msr_write(a, 0x830, 0x000000050000c500ull), 0);
	CHECK_EQ(nipis, 2);
	CHECK_EQ(ipis[1].delivery_mode, LAPIC_DM_INIT);
	CHECK(ipis[1].level_trigger && ipis[1].assert);
}

/* kvm_apic_set_base, __kvm_apic_set_base */
static void test_apic_base(void)
{
	struct lapic *a = setup(true);
	uint64_t en = LAPIC_DEFAULT_PHYS_BASE | LAPIC_BASE_ENABLE;

	a = &apics[1];
	CHECK_EQ(lapic_set_base(a, en | 0x1, false), -1);
	CHECK_EQ(lapic_set_base(a, en | (1ull << 52), false), -1);
	CHECK_EQ(lapic_set_base(a, LAPIC_DEFAULT_PHYS_BASE | LAPIC_BASE_X2APIC, true), -1);
	/* xAPIC -> x2APIC -> xAPIC: the guest may not go back directly. */
	CHECK_EQ(lapic_set_base(a, en | LAPIC_BASE_X2APIC, false), 0);
	CHECK_EQ(lapic_set_base(a, en, false), -1);
	/* Disable, then enable: xAPIC with the reset ID again. */
	CHECK_EQ(lapic_set_base(a, LAPIC_DEFAULT_PHYS_BASE, false), 0);
	CHECK(!lapic_hw_enabled(a));
	CHECK_EQ(lapic_set_base(a, en | LAPIC_BASE_X2APIC, false), -1);
	CHECK_EQ(lapic_set_base(a, en, false), 0);
	CHECK_EQ(rd(a, LAPIC_ID), 1u << 24);
	/* The host may do what the guest may not. */
	CHECK_EQ(lapic_set_base(a, en | LAPIC_BASE_X2APIC, true), 0);
	CHECK_EQ(lapic_set_base(a, en, true), 0);
	CHECK_EQ(rd(a, LAPIC_ID), 1u << 24);

	/* No x2APIC in CPUID: the bit is reserved. */
	a->cfg.x2apic = false;
	CHECK_EQ(lapic_set_base(a, en | LAPIC_BASE_X2APIC, true), -1);
}

/* apic_update_ppr, apic_has_interrupt_for_ppr, kvm_lapic_set_tpr */
static void test_priority_tpr(void)
{
	struct lapic *a = setup(true);

	CHECK(lapic_accept_irq(a, 0x45, false));
	CHECK_EQ(rd(a, LAPIC_IRR + 0x20), 1u << 5);
	wr(a, LAPIC_TASKPRI, 0x50);
	CHECK_EQ(rd(a, LAPIC_PROCPRI), 0x50);
	CHECK_EQ(lapic_has_interrupt(a), -1);
	/* Same class as TPR: still masked. */
	wr(a, LAPIC_TASKPRI, 0x40);
	CHECK_EQ(lapic_has_interrupt(a), -1);
	wr(a, LAPIC_TASKPRI, 0x3f);
	CHECK_EQ(lapic_has_interrupt(a), 0x45);
	/* CR8 is TPR[7:4]. */
	lapic_set_cr8(a, 0x5);
	CHECK_EQ(rd(a, LAPIC_TASKPRI), 0x50);
	CHECK_EQ(lapic_get_cr8(a), 5);
	CHECK_EQ(lapic_has_interrupt(a), -1);
	lapic_set_cr8(a, 0);
	CHECK_EQ(lapic_ack_interrupt(a), 0x45);
	/* PPR is ISRV's class while TPR is lower, TPR when it is higher. */
	CHECK_EQ(rd(a, LAPIC_PROCPRI), 0x40);
	wr(a, LAPIC_TASKPRI, 0x47);
	CHECK_EQ(rd(a, LAPIC_PROCPRI), 0x47);
	wr(a, LAPIC_TASKPRI, 0x52);
	CHECK_EQ(rd(a, LAPIC_PROCPRI), 0x52);
}

/* kvm_get_apic_interrupt, apic_set_eoi: nested vectors. */
static void test_irr_isr_eoi_nested(void)
{
	struct lapic *a = setup(true);

	CHECK(lapic_accept_irq(a, 0x30, false));
	CHECK_EQ(lapic_ack_interrupt(a), 0x30);
	CHECK_EQ(rd(a, LAPIC_ISR + 0x10), 1u << 16);
	CHECK_EQ(rd(a, LAPIC_IRR + 0x10), 0);
	CHECK_EQ(rd(a, LAPIC_PROCPRI), 0x30);
	/* Same class as the one in service: waits. */
	CHECK(lapic_accept_irq(a, 0x31, false));
	CHECK_EQ(lapic_has_interrupt(a), -1);
	/* A higher class nests. */
	CHECK(lapic_accept_irq(a, 0x50, false));
	CHECK_EQ(lapic_ack_interrupt(a), 0x50);
	CHECK_EQ(rd(a, LAPIC_PROCPRI), 0x50);
	CHECK_EQ(lapic_ack_interrupt(a), -1);
	/* EOI retires the highest in service first. */
	wr(a, LAPIC_EOI, 0);
	CHECK_EQ(eoi_vector, 0x50);
	CHECK_EQ(rd(a, LAPIC_PROCPRI), 0x30);
	CHECK_EQ(lapic_has_interrupt(a), -1);
	wr(a, LAPIC_EOI, 0);
	CHECK_EQ(eoi_vector, 0x30);
	CHECK_EQ(rd(a, LAPIC_PROCPRI), 0);
	CHECK_EQ(lapic_ack_interrupt(a), 0x31);
	CHECK_EQ(lapic_eoi(a, NULL), 0x31);
	/* Nothing in service: no EOI reported. */
	neois = 0;
	CHECK_EQ(lapic_eoi(a, NULL), -1);
	wr(a, LAPIC_EOI, 0);
	CHECK_EQ(neois, 0);
}

/* __apic_accept_irq (TMR), apic_set_eoi -> kvm_ioapic_send_eoi trigger mode */
static void test_level_eoi(void)
{
	struct lapic *a = setup(true);
	bool level = false;

	CHECK(lapic_accept_irq(a, 0x60, true));
	CHECK_EQ(rd(a, LAPIC_TMR + 0x30), 1);
	CHECK_EQ(lapic_ack_interrupt(a), 0x60);
	wr(a, LAPIC_EOI, 0);
	CHECK_EQ(neois, 1);
	CHECK_EQ(eoi_vector, 0x60);
	CHECK(eoi_level);
	/* The same vector edge-triggered clears TMR. */
	CHECK(lapic_accept_irq(a, 0x60, false));
	CHECK_EQ(rd(a, LAPIC_TMR + 0x30), 0);
	CHECK_EQ(lapic_ack_interrupt(a), 0x60);
	CHECK_EQ(lapic_eoi(a, &level), 0x60);
	CHECK(!level);
	CHECK(!eoi_level);
}

/*
 * Vectors 0-15 (__apic_accept_irq, kvm_apic_send_ipi): accepted and sent
 * like any other; ESR stays 0 (kvm_lapic_reg_write, APIC_ESR); such a
 * vector is never above PPR (apic_has_interrupt_for_ppr).
 */
static void test_low_vectors_esr(void)
{
	struct lapic *a = setup(true);

	wr(a, LAPIC_LVTERR, 0xe3);
	CHECK(lapic_accept_irq(a, 5, true));
	CHECK_EQ(rd(a, LAPIC_IRR), 1u << 5);
	CHECK_EQ(rd(a, LAPIC_TMR), 1u << 5);
	CHECK_EQ(lapic_has_interrupt(a), -1);
	CHECK_EQ(lapic_ack_interrupt(a), -1);
	CHECK_EQ(rd(a, LAPIC_ESR), 0);
	wr(a, LAPIC_ESR, 0);
	CHECK_EQ(rd(a, LAPIC_ESR), 0);
	/* Nothing signalled through LVT Error. */
	CHECK_EQ(rd(a, LAPIC_IRR + 0x70), 0);
	/* A fixed IPI with vector 15 leaves and lands in the target's IRR. */
	wr(a, LAPIC_ICR2, 1u << 24);
	wr(a, LAPIC_ICR, 0x0000400f);
	CHECK_EQ(nipis, 1);
	CHECK_EQ(ipis[0].vector, 0x0f);
	CHECK_EQ(ipis[0].delivery_mode, LAPIC_DM_FIXED);
	CHECK_EQ(rd(&apics[1], LAPIC_IRR), 1u << 15);
	CHECK_EQ(lapic_has_interrupt(&apics[1]), -1);
	wr(a, LAPIC_ESR, 0);
	CHECK_EQ(rd(a, LAPIC_ESR), 0);
	CHECK_EQ(rd(&apics[1], LAPIC_ESR), 0);
	/* Lowest priority with vector 0 and a self-IPI with vector 1 too. */
	wr(a, LAPIC_ICR, 0x00004100);
	CHECK_EQ(nipis, 2);
	CHECK(ipis[1].lowest_priority);
	CHECK_EQ(rd(&apics[1], LAPIC_IRR), (1u << 15) | 1u);
	wr(a, LAPIC_ICR, 0x00044001);
	CHECK_EQ(nipis, 3);
	CHECK_EQ(rd(a, LAPIC_IRR), (1u << 5) | (1u << 1));
	/* x2APIC SELF_IPI with vector 2. */
	CHECK(to_x2apic(&apics[1]));
	CHECK_EQ(lapic_x2apic_msr_write(&apics[1], 0x83f, 2), 0);
	CHECK_EQ(nipis, 4);
	CHECK_EQ(lapic_get_reg(&apics[1], LAPIC_IRR), (1u << 15) | (1u << 2) | 1u);
}

/* apic_enabled in __apic_accept_irq; APIC_SPIV and LVT writes; kvm_apic_present */
static void test_software_disable(void)
{
	struct lapic *a = setup(false);
	uint32_t v;
	int i;

	CHECK(!lapic_accept_irq(a, 0x40, false));
	CHECK_EQ(lapic_has_interrupt(a), -1);
	/* LVT writes keep the mask while software-disabled. */
	wr(a, LAPIC_LVT0, 0x40);
	CHECK_EQ(rd(a, LAPIC_LVT0), LAPIC_LVT_MASKED | 0x40);
	wr(a, LAPIC_SPIV, 0x1ff);
	CHECK(lapic_sw_enabled(a));
	wr(a, LAPIC_LVT0, 0x40);
	wr(a, LAPIC_LVTT, 0x41);
	CHECK_EQ(rd(a, LAPIC_LVT0), 0x40);
	CHECK(lapic_accept_irq(a, 0x40, false));
	/* Disabling masks every LVT; what is pending stays. */
	wr(a, LAPIC_SPIV, 0xff);
	for (i = 0; i < LAPIC_NR_LVT; i++)
		CHECK(rd(a, LAPIC_LVTT + 0x10 * i) & LAPIC_LVT_MASKED);
	CHECK_EQ(rd(a, LAPIC_LVTT), LAPIC_LVT_MASKED | 0x41);
	CHECK(!lapic_accept_irq(a, 0x50, false));
	CHECK_EQ(lapic_has_interrupt(a), 0x40);
	/* Hardware-disabled: no interrupts, no MMIO page. */
	CHECK_EQ(lapic_set_base(a, LAPIC_DEFAULT_PHYS_BASE, false), 0);
	CHECK_EQ(lapic_has_interrupt(a), -1);
	CHECK_EQ(lapic_mmio_read(a, LAPIC_ID, 4, &v), -1);
	CHECK_EQ(v, 0);
	CHECK_EQ(lapic_mmio_write(a, LAPIC_SPIV, 4, 0x1ff), -1);
}

/* kvm_apic_send_ipi: shorthands and delivery modes reach the router. */
static void test_icr_shorthands_modes(void)
{
	struct lapic *a = setup(true);

	wr(a, LAPIC_ICR2, 0x01000000);
	wr(a, LAPIC_ICR, 0x00001041); /* fixed, physical, busy bit set */
	CHECK_EQ(rd(a, LAPIC_ICR), 0x41);
	CHECK_EQ(nipis, 1);
	CHECK_EQ(ipis[0].dest, 1);
	CHECK_EQ(ipis[0].source_id, 0);
	CHECK_EQ(ipis[0].vector, 0x41);
	CHECK_EQ(ipis[0].delivery_mode, LAPIC_DM_FIXED);
	CHECK_EQ(ipis[0].shorthand, LAPIC_SH_NONE);
	CHECK(!ipis[0].logical);
	CHECK_EQ(lapic_has_interrupt(&apics[1]), 0x41);
	CHECK_EQ(lapic_has_interrupt(a), -1);

	/* Self: through the router back into our own IRR. */
	wr(a, LAPIC_ICR, 0x00040042);
	CHECK_EQ(ipis[1].shorthand, LAPIC_SH_SELF);
	CHECK_EQ(lapic_has_interrupt(a), 0x42);
	CHECK_EQ(lapic_has_interrupt(&apics[1]), 0x41);
	/* All including self, all excluding self. */
	wr(a, LAPIC_ICR, 0x00080050);
	CHECK_EQ(ipis[2].shorthand, LAPIC_SH_ALL_INCL_SELF);
	CHECK_EQ(lapic_has_interrupt(a), 0x50);
	CHECK_EQ(lapic_has_interrupt(&apics[1]), 0x50);
	wr(a, LAPIC_ICR, 0x000c0060);
	CHECK_EQ(ipis[3].shorthand, LAPIC_SH_ALL_EXCL_SELF);
	CHECK_EQ(lapic_has_interrupt(a), 0x50);
	CHECK_EQ(lapic_has_interrupt(&apics[1]), 0x60);
	/* Lowest priority arrives as fixed, flagged. */
	wr(a, LAPIC_ICR, 0x00000170);
	CHECK_EQ(ipis[4].delivery_mode, LAPIC_DM_FIXED);
	CHECK(ipis[4].lowest_priority);
	CHECK_EQ(lapic_has_interrupt(&apics[1]), 0x70);
	/* NMI, INIT (assert), INIT de-assert, SIPI. */
	wr(a, LAPIC_ICR, 0x00004400);
	CHECK_EQ(ipis[5].delivery_mode, LAPIC_DM_NMI);
	CHECK_EQ(lapic_ipi_accept(&apics[1], &ipis[5]), LAPIC_EVENT_NMI);
	wr(a, LAPIC_ICR, 0x0000c500);
	CHECK_EQ(ipis[6].delivery_mode, LAPIC_DM_INIT);
	CHECK(ipis[6].assert &&ipis[6].level_trigger);
	CHECK_EQ(lapic_ipi_accept(&apics[1], &ipis[6]), LAPIC_EVENT_INIT);
	wr(a, LAPIC_ICR, 0x00008500);
	CHECK_EQ(lapic_ipi_accept(&apics[1], &ipis[7]), LAPIC_EVENT_NONE);
	wr(a, LAPIC_ICR, 0x0000069a);
	CHECK_EQ(ipis[8].delivery_mode, LAPIC_DM_SIPI);
	CHECK_EQ(ipis[8].vector, 0x9a);
	CHECK_EQ(lapic_ipi_accept(&apics[1], &ipis[8]), LAPIC_EVENT_SIPI);
	/* SMI, remote read, ExtINT: dropped. */
	wr(a, LAPIC_ICR, 0x00000200);
	wr(a, LAPIC_ICR, 0x00000300);
	wr(a, LAPIC_ICR, 0x00000700);
	CHECK_EQ(nipis, 9);
	/* A fixed level de-assert carries nothing. */
	CHECK(ipis[0].vector == 0x41);
	ipis[0].level_trigger = true;
	ipis[0].assert = false;
	CHECK_EQ(lapic_ipi_accept(&apics[1], &ipis[0]), LAPIC_EVENT_NONE);

	/* x2APIC SELF_IPI: shorthand self through the router. */
	CHECK(to_x2apic(&apics[1]));
	CHECK_EQ(lapic_x2apic_msr_write(&apics[1], 0x83f, 0xee), 0);
	CHECK_EQ(ipis[9].shorthand, LAPIC_SH_SELF);
	CHECK_EQ(ipis[9].source_id, 1);
	CHECK_EQ(lapic_has_interrupt(&apics[1]), 0xee);
}

/* kvm_apic_match_dest, kvm_apic_match_physical_addr, kvm_apic_match_logical_addr */
static void test_ipi_match(void)
{
	struct lapic *a = setup(true), *b = &apics[1];
	struct lapic_ipi ipi;

	memset(&ipi, 0, sizeof(ipi));
	ipi.dest = 1;
	CHECK(lapic_ipi_match(b, &ipi, false));
	CHECK(!lapic_ipi_match(a, &ipi, true));
	ipi.dest = 0xff;
	CHECK(lapic_ipi_match(a, &ipi, true));
	CHECK(lapic_ipi_match(b, &ipi, false));
	/* Flat logical: LDR bit per CPU. */
	wr(a, LAPIC_LDR, 0x01000000);
	wr(b, LAPIC_LDR, 0x02000000);
	ipi.logical = true;
	ipi.dest = 0x02;
	CHECK(!lapic_ipi_match(a, &ipi, true));
	CHECK(lapic_ipi_match(b, &ipi, false));
	ipi.dest = 0x03;
	CHECK(lapic_ipi_match(a, &ipi, true));
	/* Cluster: cluster in the high nibble, members in the low. */
	wr(b, LAPIC_DFR, 0x0fffffff);
	wr(b, LAPIC_LDR, 0x21000000);
	ipi.dest = 0x21;
	CHECK(lapic_ipi_match(b, &ipi, false));
	ipi.dest = 0x31;
	CHECK(!lapic_ipi_match(b, &ipi, false));
	/* x2APIC: 32-bit IDs, cluster in LDR[31:16]. */
	CHECK(to_x2apic(b));
	ipi.x2apic = true;
	ipi.logical = false;
	ipi.dest = 1;
	CHECK(lapic_ipi_match(b, &ipi, false));
	ipi.dest = 0x101;
	CHECK(!lapic_ipi_match(b, &ipi, false));
	ipi.logical = true;
	ipi.dest = 0x00000002;
	CHECK(lapic_ipi_match(b, &ipi, false));
	ipi.dest = 0x00010002;
	CHECK(!lapic_ipi_match(b, &ipi, false));
	/* Hardware-disabled targets take nothing. */
	ipi.shorthand = LAPIC_SH_ALL_INCL_SELF;
	CHECK_EQ(lapic_set_base(a, LAPIC_DEFAULT_PHYS_BASE, false), 0);
	CHECK(!lapic_ipi_match(a, &ipi, true));
}

/* update_divide_count, start_apic_timer, apic_get_tmcct, apic_timer_expired (one-shot) */
static void test_timer_oneshot_divide(void)
{
	static const uint32_t tdcr[8] = {0xb, 0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xa};
	struct lapic *a = setup(true);
	uint32_t i;

	for (i = 0; i < 8; i++) {
		uint32_t div = 1u << i;
		uint64_t start;

		wr(a, LAPIC_TDCR, tdcr[i]);
		CHECK_EQ(a->timer.divide, div);
		wr(a, LAPIC_LVTT, 0x30);
		start = fake_tsc;
		wr(a, LAPIC_TMICT, 1000);
		CHECK_EQ(lapic_timer_next(a, fake_tsc), start + 1000ull * div * 2);
		CHECK_EQ(rd(a, LAPIC_TMCCT), 1000);
		fake_tsc = start + 500ull * div * 2;
		CHECK_EQ(rd(a, LAPIC_TMCCT), 500);
		fake_tsc = start + 1000ull * div * 2 - 1;
		CHECK(!lapic_timer_tick(a, fake_tsc));
		CHECK_EQ(lapic_has_interrupt(a), -1);
		fake_tsc++;
		CHECK(lapic_timer_tick(a, fake_tsc));
		CHECK_EQ(lapic_ack_interrupt(a), 0x30);
		lapic_eoi(a, NULL);
		CHECK_EQ(rd(a, LAPIC_TMCCT), 0);
		CHECK_EQ(rd(a, LAPIC_TMICT), 1000);
		CHECK_EQ(lapic_timer_next(a, fake_tsc), UINT64_MAX);
		CHECK(!lapic_timer_tick(a, fake_tsc + 100000));
		/* Stopped: else the next TDCR change would fire it again. */
		wr(a, LAPIC_TMICT, 0);
	}
	/* TMICT 0 stops a running count. */
	wr(a, LAPIC_TMICT, 1000);
	wr(a, LAPIC_TMICT, 0);
	CHECK_EQ(lapic_timer_next(a, fake_tsc), UINT64_MAX);
	CHECK_EQ(rd(a, LAPIC_TMCCT), 0);
}

/* APIC_TDCR write with a running count: update_target_expiration */
static void test_timer_divide_change(void)
{
	struct lapic *a = setup(true);
	uint64_t start = fake_tsc;

	wr(a, LAPIC_LVTT, 0x30);
	wr(a, LAPIC_TDCR, 0x0); /* 2 */
	wr(a, LAPIC_TMICT, 1000);
	fake_tsc = start + 2000; /* half way: 2000 ticks left */
	wr(a, LAPIC_TDCR, 0x1);	 /* 4: the rest takes twice as long */
	CHECK_EQ(lapic_timer_next(a, fake_tsc), fake_tsc + 4000);
	CHECK_EQ(rd(a, LAPIC_TMCCT), 500);
	/* The same divisor again changes nothing. */
	wr(a, LAPIC_TDCR, 0x1);
	CHECK_EQ(lapic_timer_next(a, fake_tsc), fake_tsc + 4000);
}

/*
 * APIC_TDCR write after a one-shot expired: update_target_expiration finds
 * no time left and restart_apic_timer / start_sw_period fire it again.
 */
static void test_timer_divide_change_expired(void)
{
	struct lapic *a = setup(true);
	uint64_t start = fake_tsc;

	wr(a, LAPIC_LVTT, 0x30);
	wr(a, LAPIC_TDCR, 0x0); /* 2 */
	wr(a, LAPIC_TMICT, 1000);
	fake_tsc = start + 2000 * 2;
	CHECK(lapic_timer_tick(a, fake_tsc));
	CHECK_EQ(lapic_ack_interrupt(a), 0x30);
	lapic_eoi(a, NULL);
	CHECK_EQ(lapic_timer_next(a, fake_tsc), UINT64_MAX);
	fake_tsc += 100;
	/* Same divisor: nothing happens. */
	wr(a, LAPIC_TDCR, 0x0);
	CHECK_EQ(lapic_has_interrupt(a), -1);
	/* A new divisor: the expired count fires at once and stays stopped. */
	wr(a, LAPIC_TDCR, 0x1); /* 4 */
	CHECK_EQ(lapic_has_interrupt(a), 0x30);
	CHECK_EQ(lapic_ack_interrupt(a), 0x30);
	lapic_eoi(a, NULL);
	CHECK_EQ(lapic_timer_next(a, fake_tsc), UINT64_MAX);
	CHECK_EQ(rd(a, LAPIC_TMCCT), 0);
	CHECK_EQ(rd(a, LAPIC_TMICT), 1000);
	/* And again on each later change, until TMICT stops the count. */
	wr(a, LAPIC_TDCR, 0xb); /* 1 */
	CHECK_EQ(lapic_ack_interrupt(a), 0x30);
	lapic_eoi(a, NULL);
	wr(a, LAPIC_TMICT, 0);
	wr(a, LAPIC_TDCR, 0x0);
	CHECK_EQ(lapic_has_interrupt(a), -1);

	/* Periodic, due but not ticked: fires now, next one a period later. */
	wr(a, LAPIC_TDCR, 0xb); /* 1 */
	wr(a, LAPIC_LVTT, LAPIC_TIMER_PERIODIC | 0x31);
	start = fake_tsc;
	wr(a, LAPIC_TMICT, 1000000); /* 2000000 ticks */
	fake_tsc = start + 2000000 + 10;
	wr(a, LAPIC_TDCR, 0x0); /* 2: period 4000000 */
	CHECK_EQ(lapic_ack_interrupt(a), 0x31);
	lapic_eoi(a, NULL);
	CHECK_EQ(lapic_timer_next(a, fake_tsc), fake_tsc + 4000000);
}

/* apic_timer_fn / advance_periodic_target_expiration, limit_periodic_timer_frequency */
static void test_timer_periodic(void)
{
	struct lapic *a = setup(true);
	uint64_t start = fake_tsc, period = 2000000; /* 1 ms */
	uint64_t next;

	wr(a, LAPIC_TDCR, 0xb); /* 1 */
	wr(a, LAPIC_LVTT, LAPIC_TIMER_PERIODIC | 0x31);
	wr(a, LAPIC_TMICT, 1000000);
	CHECK_EQ(lapic_timer_next(a, fake_tsc), start + period);
	fake_tsc = start + period;
	CHECK(lapic_timer_tick(a, fake_tsc));
	CHECK_EQ(lapic_ack_interrupt(a), 0x31);
	lapic_eoi(a, NULL);
	CHECK_EQ(lapic_timer_next(a, fake_tsc), start + 2 * period);
	CHECK_EQ(rd(a, LAPIC_TMCCT), 1000000);
	/* Expired but not yet ticked: the count has reloaded. */
	fake_tsc = start + 2 * period + period / 4;
	CHECK_EQ(rd(a, LAPIC_TMCCT), 750000);
	/* A late tick fires once and stays on the period grid. */
	fake_tsc = start + 5 * period + 10;
	CHECK(lapic_timer_tick(a, fake_tsc));
	CHECK_EQ(lapic_ack_interrupt(a), 0x31);
	CHECK_EQ(lapic_ack_interrupt(a), -1);
	lapic_eoi(a, NULL);
	next = lapic_timer_next(a, fake_tsc);
	CHECK_EQ(next, start + 6 * period);
	/* Switching to one-shot keeps the count, which then stops. */
	wr(a, LAPIC_LVTT, 0x31);
	CHECK(lapic_timer_tick(a, next));
	CHECK_EQ(lapic_timer_next(a, next), UINT64_MAX);

	/* Below 200 us the period is raised to 200 us (400000 ticks). */
	wr(a, LAPIC_LVTT, LAPIC_TIMER_PERIODIC | 0x31);
	start = fake_tsc;
	wr(a, LAPIC_TMICT, 10);
	CHECK_EQ(lapic_timer_next(a, fake_tsc), start + 400000);
	CHECK(rd(a, LAPIC_TMCCT) <= 10);
}

/* kvm_apic_local_deliver: a masked timer still counts, reloads, delivers nothing. */
static void test_timer_masked(void)
{
	struct lapic *a = setup(true);
	uint64_t start = fake_tsc;

	wr(a, LAPIC_TDCR, 0xb);
	wr(a, LAPIC_LVTT, LAPIC_LVT_MASKED | LAPIC_TIMER_PERIODIC | 0x32);
	wr(a, LAPIC_TMICT, 1000000);
	fake_tsc = start + 2000000;
	CHECK(lapic_timer_tick(a, fake_tsc));
	CHECK_EQ(lapic_has_interrupt(a), -1);
	CHECK_EQ(rd(a, LAPIC_IRR + 0x10), 0);
	CHECK_EQ(lapic_timer_next(a, fake_tsc), start + 4000000);
	/* Unmasked, the next period delivers. */
	wr(a, LAPIC_LVTT, LAPIC_TIMER_PERIODIC | 0x32);
	fake_tsc = start + 4000000;
	CHECK(lapic_timer_tick(a, fake_tsc));
	CHECK_EQ(lapic_has_interrupt(a), 0x32);
	/* Software disable masks the timer too. */
	lapic_ack_interrupt(a);
	lapic_eoi(a, NULL);
	wr(a, LAPIC_SPIV, 0xff);
	fake_tsc = start + 6000000;
	CHECK(lapic_timer_tick(a, fake_tsc));
	CHECK_EQ(rd(a, LAPIC_IRR + 0x10), 0);
}

/* kvm_set/get_lapic_tscdeadline_msr, start_sw_tscdeadline, apic_update_lvtt */
static void test_timer_tscdeadline(void)
{
	struct lapic *a = setup(true);

	/* Outside TSC-deadline mode: writes ignored, reads 0. */
	lapic_set_tscdeadline(a, 5000);
	CHECK_EQ(lapic_get_tscdeadline(a), 0);
	CHECK_EQ(lapic_timer_next(a, fake_tsc), UINT64_MAX);

	wr(a, LAPIC_LVTT, LAPIC_TIMER_TSCDEADLN | 0x33);
	/* TMICT is ignored, TMCCT reads 0. */
	wr(a, LAPIC_TMICT, 1000);
	CHECK_EQ(rd(a, LAPIC_TMICT), 0);
	CHECK_EQ(rd(a, LAPIC_TMCCT), 0);
	/* Future deadline. */
	lapic_set_tscdeadline(a, 50000);
	CHECK_EQ(lapic_get_tscdeadline(a), 50000);
	CHECK_EQ(lapic_timer_next(a, fake_tsc), 50000);
	CHECK(!lapic_timer_tick(a, 49999));
	fake_tsc = 50000;
	CHECK(lapic_timer_tick(a, fake_tsc));
	CHECK_EQ(lapic_has_interrupt(a), 0x33);
	CHECK_EQ(lapic_get_tscdeadline(a), 0);
	CHECK_EQ(lapic_timer_next(a, fake_tsc), UINT64_MAX);
	lapic_ack_interrupt(a);
	lapic_eoi(a, NULL);
	/* Past deadline: fires at once. */
	lapic_set_tscdeadline(a, 10);
	CHECK_EQ(lapic_has_interrupt(a), 0x33);
	CHECK_EQ(lapic_get_tscdeadline(a), 0);
	lapic_ack_interrupt(a);
	lapic_eoi(a, NULL);
	/* Cancel with 0. */
	lapic_set_tscdeadline(a, 90000);
	lapic_set_tscdeadline(a, 0);
	CHECK_EQ(lapic_timer_next(a, fake_tsc), UINT64_MAX);
	CHECK(!lapic_timer_tick(a, 100000));
	CHECK_EQ(lapic_has_interrupt(a), -1);
	/* Leaving the mode disarms it. */
	lapic_set_tscdeadline(a, 90000);
	wr(a, LAPIC_LVTT, 0x33);
	CHECK_EQ(lapic_timer_next(a, fake_tsc), UINT64_MAX);
	CHECK_EQ(lapic_get_tscdeadline(a), 0);
	/* Entering it stops a one-shot count and clears TMICT. */
	wr(a, LAPIC_TMICT, 1000);
	wr(a, LAPIC_LVTT, LAPIC_TIMER_TSCDEADLN | 0x33);
	CHECK_EQ(rd(a, LAPIC_TMICT), 0);
	CHECK_EQ(lapic_timer_next(a, fake_tsc), UINT64_MAX);
	/* The mode needs TSC-deadline in CPUID: without it bit 18 drops. */
	setup_cfg(1, false);
	wr(&apics[1], LAPIC_SPIV, 0x1ff);
	wr(&apics[1], LAPIC_LVTT, LAPIC_TIMER_TSCDEADLN | 0x33);
	lapic_set_tscdeadline(&apics[1], 90000);
	CHECK_EQ(lapic_get_tscdeadline(&apics[1]), 0);
}

/* apic_mmio_read/write, kvm_lapic_reg_read alignment: hostile input never crashes. */
static void test_hostile_inputs(void)
{
	struct lapic *a = setup(true);
	uint32_t off, len, v;
	uint64_t v64;
	int round;

	/* Sub-register reads inside one register, as upstream allows. */
	CHECK_EQ(lapic_mmio_read(a, LAPIC_LVR + 2, 1, &v), 0);
	CHECK_EQ(v, 0x05);
	CHECK_EQ(lapic_mmio_read(a, LAPIC_LVR + 2, 4, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(lapic_mmio_read(a, 0x400, 4, &v), 0);
	CHECK_EQ(v, 0);
	/* Unaligned or short writes do nothing. */
	lapic_mmio_write(a, LAPIC_TASKPRI + 1, 4, 0xffffffffu);
	lapic_mmio_write(a, LAPIC_TASKPRI, 2, 0xffffffffu);
	CHECK_EQ(rd(a, LAPIC_TASKPRI), 0);

	for (round = 0; round < 2; round++) {
		for (off = 0; off < 0x1010; off++) {
			for (len = 0; len <= 8; len++) {
				lapic_mmio_read(a, off, len, &v);
				lapic_mmio_write(a, off, len, 0xffffffffu);
			}
			lapic_mmio_read(a, 0xffffffffu - off, 4, &v);
			lapic_mmio_write(a, 0xffffffffu - off, 4, 0xffffffffu);
		}
		for (off = 0x700; off < 0x1000; off++) {
			lapic_x2apic_msr_read(a, off, &v64);
			lapic_x2apic_msr_write(a, off, ~0ull);
			lapic_x2apic_msr_write(a, off, 0xffffffffu);
		}
		lapic_set_tscdeadline(a, ~0ull);
		fake_tsc = ~0ull - 5;
		lapic_timer_tick(a, fake_tsc);
		lapic_timer_tick(a, ~0ull);
		lapic_timer_next(a, fake_tsc);
		while (lapic_ack_interrupt(a) >= 0)
			;
		while (lapic_eoi(a, NULL) >= 0)
			;
		CHECK(to_x2apic(a) || lapic_x2apic_mode(a));
	}
	/* Extreme clock rates do not overflow into nonsense. */
	a->cfg.tsc_hz = ~0ull;
	a->cfg.bus_hz = 1;
	lapic_set_base(a, LAPIC_DEFAULT_PHYS_BASE | LAPIC_BASE_ENABLE | LAPIC_BASE_X2APIC, true);
	lapic_x2apic_msr_write(a, 0x80f, 0x1ff);
	lapic_x2apic_msr_write(a, 0x832, LAPIC_TIMER_PERIODIC | 0x40);
	lapic_x2apic_msr_write(a, 0x838, 0xffffffffu);
	lapic_x2apic_msr_read(a, 0x839, &v64);
	lapic_timer_tick(a, fake_tsc);
	CHECK(lapic_x2apic_mode(a));
}

/*
 * APIC virtualisation: the CPU works on the page, the model answers what
 * it leaves (kvm_apic_write_nodecode, kvm_apic_set_eoi_accelerated).
 */
static void test_apicv_hooks(void)
{
	struct lapic *a = setup(true);
	uint32_t *page = (uint32_t *)a->regs;

	CHECK_EQ(lapic_highest_irr(a), -1);
	CHECK_EQ(lapic_highest_isr(a), -1);
	lapic_accept_irq(a, 0x41, false);
	lapic_accept_irq(a, 0x92, true);
	CHECK_EQ(lapic_highest_irr(a), 0x92);
	CHECK_EQ(lapic_ack_interrupt(a), 0x92);
	CHECK_EQ(lapic_highest_isr(a), 0x92);
	CHECK_EQ(lapic_highest_irr(a), 0x41);

	/* The CPU did the EOI of level vector 0x92: only the broadcast is left. */
	page[(LAPIC_ISR + 0x10 * (0x92 / 32)) / 4] &= ~(1u << (0x92 % 32));
	lapic_eoi_accelerated(a, 0x92);
	CHECK_EQ(neois, 1);
	CHECK_EQ(eoi_vector, 0x92);
	CHECK(eoi_level);
	CHECK_EQ(lapic_highest_isr(a), -1);
	CHECK_EQ(rd(a, LAPIC_PROCPRI), 0);

	/* A stored ICR write sends its IPI: a self-IPI lands in IRR. */
	nipis = 0;
	page[LAPIC_ICR / 4] = 0x40000 | 0x4000 | 0x63 | LAPIC_SEND_PENDING;
	lapic_write_nodecode(a, LAPIC_ICR);
	CHECK_EQ(nipis, 1);
	CHECK_EQ(ipis[0].vector, 0x63);
	CHECK_EQ(lapic_highest_irr(a), 0x63);
	CHECK_EQ(rd(a, LAPIC_ICR) & LAPIC_SEND_PENDING, 0);
	/* An LVT write keeps only its defined bits; an ESR write stores nothing. */
	page[LAPIC_LVT0 / 4] = 0xffffffffu;
	lapic_write_nodecode(a, LAPIC_LVT0 | 0xc);
	CHECK_EQ(rd(a, LAPIC_LVT0), 0x1f7ff);
	page[LAPIC_ESR / 4] = 0x55;
	lapic_write_nodecode(a, LAPIC_ESR);
	CHECK_EQ(page[LAPIC_ESR / 4], 0);
	/* Disabling through SPIV masks the LVTs, as a decoded write does. */
	page[LAPIC_SPIV / 4] = 0xff;
	lapic_write_nodecode(a, LAPIC_SPIV);
	CHECK(rd(a, LAPIC_LVTT) & LAPIC_LVT_MASKED);
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_reset_values),
    TEST_ENTRY(test_reset_init_and_quirk),
    TEST_ENTRY(test_writable_masks),
    TEST_ENTRY(test_x2apic_msrs),
    TEST_ENTRY(test_apic_base),
    TEST_ENTRY(test_priority_tpr),
    TEST_ENTRY(test_irr_isr_eoi_nested),
    TEST_ENTRY(test_level_eoi),
    TEST_ENTRY(test_low_vectors_esr),
    TEST_ENTRY(test_software_disable),
    TEST_ENTRY(test_icr_shorthands_modes),
    TEST_ENTRY(test_ipi_match),
    TEST_ENTRY(test_timer_oneshot_divide),
    TEST_ENTRY(test_timer_divide_change),
    TEST_ENTRY(test_timer_divide_change_expired),
    TEST_ENTRY(test_timer_periodic),
    TEST_ENTRY(test_timer_masked),
    TEST_ENTRY(test_timer_tscdeadline),
    TEST_ENTRY(test_hostile_inputs),
    TEST_ENTRY(test_apicv_hooks),
};

CHECK_MAIN(tests)
