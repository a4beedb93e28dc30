// SPDX-License-Identifier: MIT
/*
 * Unit tests of the IOAPIC model (hv/irqchip/ioapic.c) on a fake LAPIC
 * router. Each test is named after the function of Linux 6.1's
 * arch/x86/kvm/ioapic.c whose behaviour it checks.
 */
#include <stdint.h>
#include <string.h>

#include "abi/errno.h"
#include "hv/irqchip/ioapic.h"
#include "tests/unit/check.h"

#define MAXREC 64

static struct ioapic io;
static struct lapic_ipi msgs[MAXREC];
static unsigned nmsgs;
static int deliver_ret;
static unsigned acked[MAXREC];
static unsigned nacked;

static int fake_deliver(void *ctx, const struct lapic_ipi *m)
{
	(void)ctx;
	if (nmsgs < MAXREC)
		msgs[nmsgs] = *m;
	nmsgs++;
	return deliver_ret;
}

static void fake_acked(void *ctx, unsigned pin)
{
	(void)ctx;
	if (nacked < MAXREC)
		acked[nacked] = pin;
	nacked++;
}

static void setup(void)
{
	struct ioapic_config cfg = {.deliver = fake_deliver, .acked = fake_acked, .ctx = &io};

	nmsgs = 0;
	nacked = 0;
	deliver_ret = 1;
	ioapic_init(&io, &cfg);
}

static void sel(uint32_t reg)
{
	ioapic_mmio_write(&io, IOAPIC_REG_SELECT, 4, reg);
}

static uint32_t rd(uint32_t reg)
{
	uint64_t v = 0xdead;

	sel(reg);
	ioapic_mmio_read(&io, IOAPIC_REG_WINDOW, 4, &v);
	return (uint32_t)v;
}

static void wr(uint32_t reg, uint32_t v)
{
	sel(reg);
	ioapic_mmio_write(&io, IOAPIC_REG_WINDOW, 4, v);
}

static uint64_t get_rte(unsigned pin)
{
	return ((uint64_t)rd(0x11 + 2 * pin) << 32) | rd(0x10 + 2 * pin);
}

/* High half first, so that an unmask in the low half comes last. */
static void set_rte(unsigned pin, uint64_t e)
{
	wr(0x11 + 2 * pin, (uint32_t)(e >> 32));
	wr(0x10 + 2 * pin, (uint32_t)e);
}

#define EDGE(vec)  ((uint64_t)(vec))
#define LEVEL(vec) ((uint64_t)(vec) | IOAPIC_RTE_LEVEL)

static void t_reset(void)
{
	unsigned i;

	setup();
	CHECK_EQ(io.base_address, IOAPIC_DEFAULT_BASE);
	for (i = 0; i < IOAPIC_NUM_PINS; i++)
		CHECK_EQ(get_rte(i), IOAPIC_RTE_MASKED);
	CHECK_EQ(rd(IOAPIC_INDEX_ID), 0);
	/* A reset keeps the other entry bits but masks and zeroes the rest. */
	set_rte(3, LEVEL(0x40) | (5ull << 56));
	wr(IOAPIC_INDEX_ID, 0x0a000000);
	ioapic_reset(&io);
	CHECK_EQ(get_rte(3), LEVEL(0x40) | (5ull << 56) | IOAPIC_RTE_MASKED);
	CHECK_EQ(rd(IOAPIC_INDEX_ID), 0);
	CHECK_EQ(io.ioregsel, IOAPIC_INDEX_ID); /* rd() selected it again */
}

static void t_version(void)
{
	setup();
	CHECK_EQ(rd(IOAPIC_INDEX_VERSION), 0x00170011);
	wr(IOAPIC_INDEX_VERSION, 0);
	CHECK_EQ(rd(IOAPIC_INDEX_VERSION), 0x00170011);
}

static void t_id_arb(void)
{
	setup();
	wr(IOAPIC_INDEX_ID, 0xffffffff);
	CHECK_EQ(io.id, 0xf);
	CHECK_EQ(rd(IOAPIC_INDEX_ID), 0x0f000000);
	CHECK_EQ(rd(IOAPIC_INDEX_ARB), 0x0f000000);
	wr(IOAPIC_INDEX_ARB, 0x03000000);
	CHECK_EQ(rd(IOAPIC_INDEX_ID), 0x0f000000);
	wr(IOAPIC_INDEX_ID, 0x05000000);
	CHECK_EQ(rd(IOAPIC_INDEX_ARB), 0x05000000);
}

static void t_bad_index(void)
{
	uint32_t r;

	setup();
	for (r = 0x03; r < 0x10; r++)
		CHECK_EQ(rd(r), 0xffffffff);
	CHECK_EQ(rd(0x40), 0xffffffff); /* pin 24 would be here */
	CHECK_EQ(rd(0xff), 0xffffffff);
	wr(0x03, 0);
	wr(0x40, 0);
	wr(0x0f, 0);
	for (r = 0; r < IOAPIC_NUM_PINS; r++)
		CHECK_EQ(get_rte(r), IOAPIC_RTE_MASKED);
	CHECK_EQ(nmsgs, 0);
}

static void t_regsel_8bit(void)
{
	uint64_t v;

	setup();
	ioapic_mmio_write(&io, IOAPIC_REG_SELECT, 4, 0x12345611);
	CHECK_EQ(io.ioregsel, 0x11);
	CHECK_EQ(ioapic_mmio_read(&io, IOAPIC_REG_SELECT, 4, &v), 0);
	CHECK_EQ(v, 0x11);
}

static void t_rte_writable(void)
{
	setup();
	/* Everything but remote IRR and delivery status is stored, reserved bits too. */
	set_rte(7, 0xfffffffffffeffffull);
	CHECK_EQ(get_rte(7),
		 0xfffffffffffeffffull & ~(IOAPIC_RTE_REMOTE_IRR | IOAPIC_RTE_DELIVERY_STATUS));
	CHECK_EQ(nmsgs, 0); /* level pin but IRR clear: nothing sent */
}

static void t_rte_readonly(void)
{
	setup();
	set_rte(4, LEVEL(0x44));
	CHECK_EQ(ioapic_set_irq(&io, 4, 0, true), 1);
	CHECK(get_rte(4) & IOAPIC_RTE_REMOTE_IRR);
	/* Writing 0 to remote IRR / delivery status changes neither. */
	wr(0x10 + 8, (uint32_t)LEVEL(0x45));
	CHECK_EQ(get_rte(4), LEVEL(0x45) | IOAPIC_RTE_REMOTE_IRR);
	/* Writing 1 to them on a clean entry sets neither. */
	set_rte(5, LEVEL(0x50) | IOAPIC_RTE_REMOTE_IRR | IOAPIC_RTE_DELIVERY_STATUS |
		       IOAPIC_RTE_MASKED);
	CHECK_EQ(get_rte(5), LEVEL(0x50) | IOAPIC_RTE_MASKED);
}

static void t_edge_drops_remote_irr(void)
{
	setup();
	set_rte(4, LEVEL(0x44));
	ioapic_set_irq(&io, 4, 0, true);
	CHECK(get_rte(4) & IOAPIC_RTE_REMOTE_IRR);
	wr(0x10 + 8, (uint32_t)EDGE(0x44) | IOAPIC_RTE_MASKED);
	CHECK_EQ(get_rte(4), EDGE(0x44) | IOAPIC_RTE_MASKED);
}

static void t_mmio_lengths(void)
{
	uint64_t v;

	setup();
	set_rte(0, 0x8765432100000000ull | IOAPIC_RTE_MASKED | 0x31);
	sel(0x10);
	CHECK_EQ(ioapic_mmio_read(&io, 0x10, 1, &v), 0);
	CHECK_EQ(v, 0x31);
	CHECK_EQ(ioapic_mmio_read(&io, 0x10, 2, &v), 0);
	CHECK_EQ(v, 0x0031);
	CHECK_EQ(ioapic_mmio_read(&io, 0x10, 8, &v), 0);
	CHECK_EQ(v, 0x00010031);
	sel(0x11);
	CHECK_EQ(ioapic_mmio_read(&io, 0x10, 4, &v), 0);
	CHECK_EQ(v, 0x87654321);
	v = 0x55;
	CHECK_EQ(ioapic_mmio_read(&io, 0x10, 3, &v), 0);
	CHECK_EQ(v, 0);
	/* Byte write to IOWIN replaces the whole low half with the byte. */
	sel(0x10);
	CHECK_EQ(ioapic_mmio_write(&io, 0x10, 1, 0x1ff), 0);
	CHECK_EQ(get_rte(0) & 0xffffffff, 0xff);
	/* 8-byte write: low 32 bits. Odd sizes: dropped. */
	sel(0x10);
	CHECK_EQ(ioapic_mmio_write(&io, 0x10, 8, 0xffffffff00010040ull), 0);
	CHECK_EQ(get_rte(0) & 0xffffffff, 0x00010040);
	sel(0x10);
	CHECK_EQ(ioapic_mmio_write(&io, 0x10, 3, 0x99), 0);
	CHECK_EQ(get_rte(0) & 0xffffffff, 0x00010040);
	/* Other offsets read 0; unaligned IOWIN is another offset. */
	CHECK_EQ(ioapic_mmio_read(&io, 0x20, 4, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(ioapic_mmio_read(&io, 0x11, 1, &v), 0);
	CHECK_EQ(v, 0);
}

static void t_no_eoi_register(void)
{
	uint64_t v = 1;

	setup();
	set_rte(2, LEVEL(0x62));
	ioapic_set_irq(&io, 2, 0, true);
	ioapic_set_irq(&io, 2, 0, false);
	CHECK_EQ(ioapic_mmio_write(&io, IOAPIC_REG_EOI, 4, 0x62), 0);
	CHECK(get_rte(2) & IOAPIC_RTE_REMOTE_IRR);
	CHECK_EQ(ioapic_mmio_read(&io, IOAPIC_REG_EOI, 4, &v), 0);
	CHECK_EQ(v, 0);
}

static void t_window(void)
{
	struct kvm_ioapic_state s;
	uint64_t v;

	setup();
	CHECK(ioapic_in_range(&io, IOAPIC_DEFAULT_BASE));
	CHECK(ioapic_in_range(&io, IOAPIC_DEFAULT_BASE + 0xff));
	CHECK(!ioapic_in_range(&io, IOAPIC_DEFAULT_BASE + 0x100));
	CHECK(!ioapic_in_range(&io, IOAPIC_DEFAULT_BASE - 1));
	CHECK_EQ(ioapic_mmio_read(&io, 0x100, 4, &v), -1);
	CHECK_EQ(ioapic_mmio_read(&io, 0xfc, 8, &v), -1); /* runs past the end */
	CHECK_EQ(ioapic_mmio_read(&io, 0xf8, 8, &v), 0);
	CHECK_EQ(ioapic_mmio_write(&io, UINT64_MAX, 4, 0), -1);
	CHECK_EQ(ioapic_mmio_read(&io, 0, 0xffffffffu, &v), -1);
	/* KVM_SET_IRQCHIP may move base_address; the device stays registered
	 * at the default window, so only the overlap answers. Offsets are
	 * from the current base; the register is the address's low byte. */
	ioapic_get_state(&io, &s);
	s.base_address = IOAPIC_DEFAULT_BASE + 0x10;
	ioapic_set_state(&io, &s);
	CHECK(!ioapic_in_range(&io, IOAPIC_DEFAULT_BASE));
	CHECK(ioapic_in_range(&io, IOAPIC_DEFAULT_BASE + 0x10));
	CHECK(!ioapic_in_range(&io, IOAPIC_DEFAULT_BASE + 0x100));
	CHECK_EQ(ioapic_mmio_write(&io, 0xf0, 4, 0), -1); /* past the window */
	CHECK_EQ(ioapic_mmio_read(&io, 0xec, 4, &v), 0);
	CHECK_EQ(ioapic_mmio_write(&io, 0x00, 4, 0x01), 0); /* gpa 0x..10: IOWIN */
	CHECK_EQ(io.ioregsel, 0);			    /* wrote ID, not IOREGSEL */
	s.base_address = IOAPIC_DEFAULT_BASE - 0xf0;
	ioapic_set_state(&io, &s);
	CHECK_EQ(ioapic_mmio_write(&io, 0x00, 4, 0), -1);
	CHECK_EQ(ioapic_mmio_write(&io, 0xf0, 4, 0x01), 0); /* gpa 0x..00: IOREGSEL */
	CHECK_EQ(io.ioregsel, 1);
	CHECK_EQ(ioapic_mmio_read(&io, 0xef, 1, &v), -1); /* below the window */
	/* Only the start is checked against the base (ioapic_in_range). */
	CHECK_EQ(ioapic_mmio_read(&io, 0xfc, 8, &v), 0);
	s.base_address = 0xfed00000;
	ioapic_set_state(&io, &s);
	CHECK_EQ(ioapic_mmio_write(&io, 0x10, 4, 0), -1);
	CHECK(!ioapic_in_range(&io, 0xfed00000));
	s.base_address = UINT64_MAX; /* base + offset wraps */
	ioapic_set_state(&io, &s);
	CHECK_EQ(ioapic_mmio_read(&io, 0x10, 4, &v), -1);
}

static void t_edge_delivery(void)
{
	setup();
	set_rte(9, 0x39 | (1ull << 8) | IOAPIC_RTE_DEST_LOGICAL | (0x03ull << 56));
	deliver_ret = 2;
	CHECK_EQ(ioapic_set_irq(&io, 9, 0, true), 2);
	CHECK_EQ(nmsgs, 1);
	CHECK_EQ(msgs[0].vector, 0x39);
	CHECK_EQ(msgs[0].dest, 0x03);
	CHECK(msgs[0].logical);
	CHECK(msgs[0].lowest_priority);
	CHECK_EQ(msgs[0].delivery_mode, LAPIC_DM_FIXED);
	CHECK(!msgs[0].level_trigger);
	CHECK(msgs[0].assert);
	CHECK_EQ(msgs[0].shorthand, LAPIC_SH_NONE);
	CHECK(!msgs[0].x2apic);
	/* Held high: no new edge, coalesced. */
	CHECK_EQ(ioapic_set_irq(&io, 9, 0, true), 0);
	CHECK_EQ(nmsgs, 1);
	CHECK_EQ(ioapic_set_irq(&io, 9, 0, false), 1);
	CHECK_EQ(ioapic_set_irq(&io, 9, 0, true), 2);
	CHECK_EQ(nmsgs, 2);
	/* Edge deliveries never set remote IRR. */
	CHECK(!(get_rte(9) & IOAPIC_RTE_REMOTE_IRR));
}

static void t_modes_passed_through(void)
{
	unsigned dm;

	setup();
	for (dm = 0; dm < 8; dm++) {
		nmsgs = 0;
		set_rte(1, 0x21 | ((uint64_t)dm << 8) | (0xffull << 56));
		ioapic_set_irq(&io, 1, 0, true);
		ioapic_set_irq(&io, 1, 0, false);
		CHECK_EQ(nmsgs, 1);
		CHECK_EQ(msgs[0].delivery_mode, dm == 1 ? LAPIC_DM_FIXED : dm);
		CHECK_EQ(msgs[0].lowest_priority, dm == 1);
		CHECK_EQ(msgs[0].dest, 0xff);
		CHECK(!msgs[0].logical);
	}
}

static void t_masked_edge(void)
{
	struct kvm_ioapic_state s;

	setup();
	set_rte(5, EDGE(0x35) | IOAPIC_RTE_MASKED);
	CHECK_EQ(ioapic_set_irq(&io, 5, 0, true), -1); /* masked */
	CHECK_EQ(nmsgs, 0);
	CHECK_EQ(ioapic_set_irq(&io, 5, 0, true), 0); /* still pending: coalesced */
	/* The pending edge shows in the saved IRR... */
	ioapic_get_state(&io, &s);
	CHECK_EQ(s.irr, 1u << 5);
	/* ...but unmasking an edge pin does not send it (only level pins). */
	set_rte(5, EDGE(0x35));
	CHECK_EQ(nmsgs, 0);
	CHECK_EQ(ioapic_set_irq(&io, 5, 0, true), 0);
	CHECK_EQ(ioapic_set_irq(&io, 5, 0, false), 1);
	CHECK_EQ(ioapic_set_irq(&io, 5, 0, true), 1);
	CHECK_EQ(nmsgs, 1);
	ioapic_get_state(&io, &s);
	CHECK_EQ(s.irr, 0); /* delivered edges are hidden */
}

static void t_level_remote_irr(void)
{
	setup();
	set_rte(10, LEVEL(0x5a) | (1ull << 56));
	CHECK_EQ(ioapic_set_irq(&io, 10, 0, true), 1);
	CHECK_EQ(nmsgs, 1);
	CHECK(msgs[0].level_trigger);
	CHECK(msgs[0].assert);
	CHECK(get_rte(10) & IOAPIC_RTE_REMOTE_IRR);
	/* Waiting for the EOI: not sent again. */
	CHECK_EQ(ioapic_set_irq(&io, 10, 0, true), -1);
	CHECK_EQ(ioapic_set_irq(&io, 10, 0, false), 1);
	CHECK_EQ(ioapic_set_irq(&io, 10, 0, true), -1);
	CHECK_EQ(nmsgs, 1);
}

static void t_level_eoi_redeliver(void)
{
	setup();
	set_rte(10, LEVEL(0x5a));
	ioapic_set_irq(&io, 10, 0, true);
	CHECK_EQ(nmsgs, 1);
	/* EOI with the line still high: sent again, remote IRR set again. */
	ioapic_eoi(&io, 0x5a, true);
	CHECK_EQ(nmsgs, 2);
	CHECK(get_rte(10) & IOAPIC_RTE_REMOTE_IRR);
	CHECK_EQ(nacked, 1);
	CHECK_EQ(acked[0], 10);
	/* Line low, then EOI: remote IRR clear, nothing sent. */
	ioapic_set_irq(&io, 10, 0, false);
	ioapic_eoi(&io, 0x5a, true);
	CHECK_EQ(nmsgs, 2);
	CHECK(!(get_rte(10) & IOAPIC_RTE_REMOTE_IRR));
	/* Other vectors do not touch it. */
	ioapic_set_irq(&io, 10, 0, true);
	CHECK_EQ(nmsgs, 3);
	ioapic_eoi(&io, 0x5b, true);
	CHECK(get_rte(10) & IOAPIC_RTE_REMOTE_IRR);
}

static void t_edge_eoi(void)
{
	setup();
	set_rte(10, LEVEL(0x5a));
	set_rte(11, EDGE(0x5a));
	ioapic_set_irq(&io, 10, 0, true);
	/* TMR clear (edge EOI): acks both pins, clears no remote IRR. */
	ioapic_eoi(&io, 0x5a, false);
	CHECK(get_rte(10) & IOAPIC_RTE_REMOTE_IRR);
	CHECK_EQ(nacked, 2);
	CHECK_EQ(acked[0], 10);
	CHECK_EQ(acked[1], 11);
	CHECK_EQ(nmsgs, 1);
}

static void t_eoi_masked(void)
{
	setup();
	set_rte(3, LEVEL(0x43));
	ioapic_set_irq(&io, 3, 0, true);
	set_rte(3, LEVEL(0x43) | IOAPIC_RTE_MASKED);
	ioapic_eoi(&io, 0x43, true);
	CHECK(!(get_rte(3) & IOAPIC_RTE_REMOTE_IRR));
	CHECK_EQ(nmsgs, 1);
	/* Unmasking a level pin whose line is high sends it. */
	set_rte(3, LEVEL(0x43));
	CHECK_EQ(nmsgs, 2);
	CHECK(get_rte(3) & IOAPIC_RTE_REMOTE_IRR);
}

static void t_undeliverable_level(void)
{
	setup();
	deliver_ret = -1;
	set_rte(6, LEVEL(0x46));
	CHECK_EQ(ioapic_set_irq(&io, 6, 0, true), -1);
	CHECK_EQ(nmsgs, 1);
	CHECK(get_rte(6) & IOAPIC_RTE_REMOTE_IRR);
	/* deliver() == 0 (matched, none took it) leaves remote IRR clear. */
	deliver_ret = 0;
	set_rte(7, LEVEL(0x47));
	CHECK_EQ(ioapic_set_irq(&io, 7, 0, true), 0);
	CHECK(!(get_rte(7) & IOAPIC_RTE_REMOTE_IRR));
	/* No router at all behaves as "no LAPIC matched". */
	ioapic_init(&io, NULL);
	set_rte(8, EDGE(0x48));
	CHECK_EQ(ioapic_set_irq(&io, 8, 0, true), -1);
}

static void t_sources_ored(void)
{
	setup();
	set_rte(12, LEVEL(0x4c));
	CHECK_EQ(ioapic_set_irq(&io, 12, 0, true), 1);
	CHECK_EQ(ioapic_set_irq(&io, 12, 2, true), -1);	 /* remote IRR */
	CHECK_EQ(ioapic_set_irq(&io, 12, 0, false), -1); /* source 2 still high */
	CHECK_EQ(io.irr, 1u << 12);
	CHECK_EQ(ioapic_set_irq(&io, 12, 2, false), 1);
	CHECK_EQ(io.irr, 0);
	ioapic_eoi(&io, 0x4c, true);
	CHECK_EQ(nmsgs, 1);
	CHECK_EQ(ioapic_set_irq(&io, 12, 63, true), 1);
	CHECK_EQ(io.irq_states[12], 1ull << 63);
}

static void t_bad_pin_source(void)
{
	setup();
	set_rte(0, EDGE(0x20));
	CHECK_EQ(ioapic_set_irq(&io, 24, 0, true), -1);
	CHECK_EQ(ioapic_set_irq(&io, 0xffffffffu, 0, true), -1);
	CHECK_EQ(ioapic_set_irq(&io, 0, 64, true), -1);
	CHECK_EQ(ioapic_set_irq(&io, 0, -1, true), -1);
	CHECK_EQ(nmsgs, 0);
	CHECK_EQ(io.irr, 0);
	ioapic_clear_source(&io, 64);
	ioapic_clear_source(&io, -5);
}

static void t_clear_source(void)
{
	setup();
	ioapic_set_irq(&io, 1, 3, true);
	ioapic_set_irq(&io, 2, 3, true);
	ioapic_set_irq(&io, 2, 0, true);
	ioapic_clear_source(&io, 3);
	CHECK_EQ(io.irq_states[1], 0);
	CHECK_EQ(io.irq_states[2], 1);
	CHECK_EQ(io.irr, 0x6); /* IRR itself untouched */
}

static void t_eoi_storm(void)
{
	unsigned i;

	setup();
	set_rte(10, LEVEL(0x5a));
	ioapic_set_irq(&io, 10, 0, true);
	for (i = 1; i < IOAPIC_SUCCESSIVE_IRQ_MAX_COUNT; i++)
		ioapic_eoi(&io, 0x5a, true);
	CHECK_EQ(nmsgs, IOAPIC_SUCCESSIVE_IRQ_MAX_COUNT);
	CHECK(!ioapic_eoi_inject_pending(&io));
	/* The 10000th successive re-delivery is deferred. */
	ioapic_eoi(&io, 0x5a, true);
	CHECK_EQ(nmsgs, IOAPIC_SUCCESSIVE_IRQ_MAX_COUNT);
	CHECK(ioapic_eoi_inject_pending(&io));
	CHECK(!(get_rte(10) & IOAPIC_RTE_REMOTE_IRR));
	ioapic_eoi_inject(&io);
	CHECK_EQ(nmsgs, IOAPIC_SUCCESSIVE_IRQ_MAX_COUNT + 1);
	CHECK(!ioapic_eoi_inject_pending(&io));
	/* An EOI with the line low restarts the count. */
	ioapic_set_irq(&io, 10, 0, false);
	ioapic_eoi(&io, 0x5a, true);
	CHECK_EQ(io.irq_eoi[10], 0);
}

static void t_state_roundtrip(void)
{
	struct kvm_ioapic_state s, t;
	unsigned i;

	setup();
	wr(IOAPIC_INDEX_ID, 0x07000000);
	set_rte(0, EDGE(0x30) | (2ull << 56));
	set_rte(1, LEVEL(0x31) | IOAPIC_RTE_MASKED);
	ioapic_set_irq(&io, 1, 0, true);
	sel(0x13);
	ioapic_get_state(&io, &s);
	CHECK_EQ(s.base_address, IOAPIC_DEFAULT_BASE);
	CHECK_EQ(s.ioregsel, 0x13);
	CHECK_EQ(s.id, 7);
	CHECK_EQ(s.irr, 1u << 1);
	CHECK_EQ(s.pad, 0);
	CHECK_EQ(s.redirtbl[0].fields.vector, 0x30);
	CHECK_EQ(s.redirtbl[0].fields.dest_id, 2);
	CHECK_EQ(s.redirtbl[1].fields.trig_mode, 1);
	CHECK_EQ(s.redirtbl[1].fields.mask, 1);
	for (i = 2; i < IOAPIC_NUM_PINS; i++)
		CHECK_EQ(s.redirtbl[i].bits, IOAPIC_RTE_MASKED);

	/* Into a fresh chip: the same state comes back. */
	setup();
	CHECK_EQ(ioapic_set_state(&io, &s), 0);
	ioapic_get_state(&io, &t);
	CHECK(memcmp(&s, &t, sizeof(s)) == 0);
	CHECK_EQ(nmsgs, 0); /* pin 1 is masked */
	CHECK_EQ(rd(IOAPIC_INDEX_ID), 0x07000000);
}

static void t_state_irr_reinjected(void)
{
	struct kvm_ioapic_state s;

	setup();
	ioapic_get_state(&io, &s);
	s.redirtbl[4].bits = EDGE(0x44);
	s.redirtbl[5].bits = LEVEL(0x45);
	s.redirtbl[6].bits = LEVEL(0x46) | IOAPIC_RTE_REMOTE_IRR;
	s.irr = 0xff000070; /* bits 24-31 are beyond the pins */
	CHECK_EQ(ioapic_set_state(&io, &s), 0);
	/* Pins 4 and 5 sent, 6 waits for its EOI. */
	CHECK_EQ(nmsgs, 2);
	CHECK_EQ(msgs[0].vector, 0x44);
	CHECK_EQ(msgs[1].vector, 0x45);
	CHECK_EQ(io.irr, 0x70);
	CHECK_EQ(io.irr_delivered, 0x10);
	ioapic_get_state(&io, &s);
	CHECK_EQ(s.irr, 0x60);
	/* The line states are not part of the record: an EOI of pin 6
	 * re-delivers because IRR says the line is high. */
	ioapic_eoi(&io, 0x46, true);
	CHECK_EQ(nmsgs, 3);
}

static void t_state_hostile(void)
{
	struct kvm_ioapic_state s;
	uint64_t v;

	setup();
	memset(&s, 0xff, sizeof(s));
	CHECK_EQ(ioapic_set_state(&io, &s), 0); /* upstream checks nothing */
	CHECK_EQ(nmsgs, 0);			/* every pin masked */
	CHECK_EQ(io.id, 0xffffffff);
	/* base_address all ones: no MMIO reaches the chip any more. */
	CHECK_EQ(ioapic_mmio_read(&io, 0, 4, &v), -1);
	ioapic_get_state(&io, &s);
	CHECK_EQ(s.pad, 0xffffffff);
	CHECK_EQ(s.ioregsel, 0xffffffff);
	CHECK_EQ(s.irr, 0x00ffffff);
	/* ioregsel 0xffffffff through a base that answers. */
	s.base_address = IOAPIC_DEFAULT_BASE;
	ioapic_set_state(&io, &s);
	CHECK_EQ(ioapic_mmio_read(&io, IOAPIC_REG_WINDOW, 4, &v), 0);
	CHECK_EQ(v, 0xffffffff);
	CHECK_EQ(ioapic_mmio_write(&io, IOAPIC_REG_WINDOW, 4, 0), 0);
	CHECK_EQ(rd(IOAPIC_INDEX_ID), 0x0f000000);
}

/* Fixed-seed xorshift64* so a failure replays. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint64_t pick_offset(void)
{
	switch (rnd() % 4) {
	case 0:
		return rnd();
	case 1:
		return rnd() % 0x110;
	default:
		return (rnd() % 2) ? IOAPIC_REG_WINDOW : IOAPIC_REG_SELECT;
	}
}

static unsigned pick_len(void)
{
	static const unsigned lens[] = {0, 1, 2, 3, 4, 5, 8, 16, 0xffffffffu};

	return (rnd() % 4) ? 4 : lens[rnd() % (sizeof(lens) / sizeof(lens[0]))];
}

static void t_fuzz(void)
{
	struct kvm_ioapic_state s;
	unsigned i, j;
	uint64_t v;

	setup();
	for (i = 0; i < 200000; i++) {
		deliver_ret = (int)(rnd() % 4) - 1;
		switch (rnd() % 8) {
		case 0:
		case 1:
			ioapic_mmio_read(&io, pick_offset(), pick_len(), &v);
			break;
		case 2:
		case 3:
			ioapic_mmio_write(&io, pick_offset(), pick_len(), rnd());
			break;
		case 4:
			ioapic_set_irq(&io, (unsigned)(rnd() % 30), (int)(rnd() % 70) - 2,
				       rnd() & 1);
			break;
		case 5:
			ioapic_eoi(&io, (uint8_t)rnd(), rnd() & 1);
			if (ioapic_eoi_inject_pending(&io))
				ioapic_eoi_inject(&io);
			break;
		case 6:
			if (rnd() % 16)
				break;
			for (j = 0; j < sizeof(s); j += 8) {
				v = rnd();
				memcpy((char *)&s + j, &v, sizeof(s) - j < 8 ? sizeof(s) - j : 8);
			}
			if (rnd() & 1)
				s.base_address = IOAPIC_DEFAULT_BASE;
			ioapic_set_state(&io, &s);
			break;
		default:
			ioapic_get_state(&io, &s);
			CHECK_EQ(s.irr >> IOAPIC_NUM_PINS, 0);
			break;
		}
		CHECK_EQ(io.irr >> IOAPIC_NUM_PINS, 0);
		CHECK_EQ(io.irr_delivered >> IOAPIC_NUM_PINS, 0);
	}
}

static const struct check_test tests[] = {
    {"kvm_ioapic_reset: pins masked, default base, ID 0", t_reset},
    {"ioapic_read_indirect: VERSION is 0x11 with 24 pins, read-only", t_version},
    {"ioapic_write_indirect: ID keeps bits 27:24, ARB reads as ID, read-only", t_id_arb},
    {"ioapic_read_indirect: IOREGSEL outside the registers reads ones, writes dropped",
     t_bad_index},
    {"ioapic_mmio_write: IOREGSEL is 8 bits", t_regsel_8bit},
    {"ioapic_write_indirect: every bit but remote IRR and delivery status is stored",
     t_rte_writable},
    {"ioapic_write_indirect: remote IRR and delivery status are read-only", t_rte_readonly},
    {"ioapic_write_indirect: an edge entry drops remote IRR", t_edge_drops_remote_irr},
    {"ioapic_mmio_read/write: access lengths and other offsets", t_mmio_lengths},
    {"ioapic_mmio_write: version 0x11 has no EOI register", t_no_eoi_register},
    {"ioapic_in_range: 0x100-byte window, base moved by KVM_SET_IRQCHIP", t_window},
    {"ioapic_service: edge message fields, one delivery per rising edge", t_edge_delivery},
    {"ioapic_service: delivery modes reach the router (lowest priority as fixed)",
     t_modes_passed_through},
    {"kvm_ioapic_set_irq: a masked edge pin is coalesced and not sent on unmask", t_masked_edge},
    {"ioapic_service: level delivery sets remote IRR, blocks until EOI", t_level_remote_irr},
    {"kvm_ioapic_update_eoi_one: EOI clears remote IRR, re-delivers a high line",
     t_level_eoi_redeliver},
    {"kvm_ioapic_update_eoi_one: an edge EOI only acks", t_edge_eoi},
    {"ioapic_write_indirect: unmasking a high level pin sends it", t_eoi_masked},
    {"ioapic_service: a level message nobody took still sets remote IRR", t_undeliverable_level},
    {"__kvm_irq_line_state: the sources of a pin are OR-ed", t_sources_ored},
    {"kvm_ioapic_set_irq: bad pin or source id does nothing", t_bad_pin_source},
    {"kvm_ioapic_clear_all: drops one source from every pin", t_clear_source},
    {"kvm_ioapic_update_eoi_one: EOI storm deferred after 10000 re-deliveries", t_eoi_storm},
    {"kvm_get_ioapic/kvm_set_ioapic: round trip", t_state_roundtrip},
    {"kvm_set_ioapic: IRR re-injected pin by pin (kvm_ioapic_inject_all)", t_state_irr_reinjected},
    {"kvm_set_ioapic: any state is taken and stays harmless", t_state_hostile},
    {"fuzz: random MMIO, lines, EOIs and states (fixed seed)", t_fuzz},
};

CHECK_MAIN(tests)
