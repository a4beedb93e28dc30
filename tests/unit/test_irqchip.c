// SPDX-License-Identifier: MIT
/*
 * Unit tests of the irqchip platform (hv/irqchip/irqchip.c): KVM's default
 * GSI routing over the PIC and IOAPIC models, MSI decoding and
 * KVM_GET/SET_IRQCHIP, on a fake LAPIC router (and once on the real LAPIC
 * model). Each test is named after the Linux 6.1 function whose behaviour
 * it checks (arch/x86/kvm/irq_comm.c, virt/kvm/irqchip.c, arch/x86/kvm/x86.c).
 */
#include <stdint.h>
#include <string.h>

#include "abi/errno.h"
#include "hv/irqchip/irqchip.h"
#include "tests/unit/check.h"

#define MAXREC 64

static struct irqchip chip;
static struct lapic_ipi msgs[MAXREC];
static unsigned nmsgs;
static int deliver_ret;
static bool pic_level;
static unsigned npic;
static unsigned acked[MAXREC];
static unsigned nacked;
static struct lapic apic;
static bool use_apic;

static int fake_deliver(void *ctx, const struct lapic_ipi *m)
{
	(void)ctx;
	if (nmsgs < MAXREC)
		msgs[nmsgs] = *m;
	nmsgs++;
	if (use_apic) {
		if (!lapic_ipi_match(&apic, m, false))
			return -1;
		return lapic_ipi_accept(&apic, m) == LAPIC_EVENT_IRQ;
	}
	return deliver_ret;
}

static void fake_pic_output(void *ctx, bool level)
{
	(void)ctx;
	pic_level = level;
	npic++;
}

static void fake_acked(void *ctx, unsigned gsi)
{
	(void)ctx;
	if (nacked < MAXREC)
		acked[nacked] = gsi;
	nacked++;
}

static void apic_eoi(void *ctx, uint8_t vector, bool level)
{
	irqchip_eoi(ctx, vector, level);
}

static void setup(void)
{
	struct irqchip_config cfg = {
	    .deliver = fake_deliver,
	    .pic_output = fake_pic_output,
	    .acked = fake_acked,
	    .ctx = &chip,
	};

	nmsgs = 0;
	deliver_ret = 1;
	pic_level = false;
	npic = 0;
	nacked = 0;
	use_apic = false;
	irqchip_init(&chip, &cfg);
}

static void outb(uint16_t port, uint8_t v)
{
	pic_ioport_write(&chip.pic, port, 1, v);
}

static void ioapic_wr(uint32_t reg, uint32_t v)
{
	ioapic_mmio_write(&chip.ioapic, IOAPIC_REG_SELECT, 4, reg);
	ioapic_mmio_write(&chip.ioapic, IOAPIC_REG_WINDOW, 4, v);
}

static void set_rte(unsigned pin, uint64_t e)
{
	ioapic_wr(0x11 + 2 * pin, (uint32_t)(e >> 32));
	ioapic_wr(0x10 + 2 * pin, (uint32_t)e);
}

/* Both PICs programmed as SeaBIOS does, everything unmasked. */
static void init_pics(void)
{
	outb(0x20, 0x11);
	outb(0x21, 0x08);
	outb(0x21, 0x04);
	outb(0x21, 0x01);
	outb(0xa0, 0x11);
	outb(0xa1, 0x70);
	outb(0xa1, 0x02);
	outb(0xa1, 0x01);
}

static void t_legacy_both(void)
{
	uint32_t gsi;

	setup();
	init_pics();
	for (gsi = 0; gsi < 16; gsi++)
		set_rte(gsi, 0x30 + gsi);
	for (gsi = 0; gsi < 16; gsi++) {
		nmsgs = 0;
		CHECK_EQ(irqchip_set_irq(&chip, gsi, IRQCHIP_USERSPACE_SOURCE_ID, true), 2);
		CHECK_EQ(nmsgs, 1);
		CHECK_EQ(msgs[0].vector, 0x30 + gsi);
		CHECK(chip.pic.chips[gsi >> 3].irr & (1u << (gsi & 7)));
		CHECK_EQ(chip.pic.irq_states[gsi], 1);
		CHECK_EQ(chip.ioapic.irq_states[gsi], 1);
		CHECK_EQ(irqchip_set_irq(&chip, gsi, IRQCHIP_USERSPACE_SOURCE_ID, false), 2);
	}
	CHECK(pic_level);
}

static void t_high_ioapic_only(void)
{
	uint32_t gsi;

	setup();
	init_pics();
	for (gsi = 16; gsi < 24; gsi++) {
		set_rte(gsi, 0x50 + gsi);
		nmsgs = 0;
		CHECK_EQ(irqchip_set_irq(&chip, gsi, 0, true), 1);
		CHECK_EQ(nmsgs, 1);
		CHECK_EQ(msgs[0].vector, 0x50 + gsi);
	}
	CHECK_EQ(chip.pic.chips[0].irr | chip.pic.chips[1].irr, 0);
	CHECK_EQ(npic, 0);
}

static void t_no_route(void)
{
	setup();
	init_pics();
	CHECK_EQ(irqchip_set_irq(&chip, 24, 0, true), -1);
	CHECK_EQ(irqchip_set_irq(&chip, 0xffffffffu, 0, true), -1);
	CHECK_EQ(irqchip_set_irq(&chip, 1u << 31, 0, false), -1);
	CHECK_EQ(nmsgs, 0);
	CHECK_EQ(chip.ioapic.irr, 0);
	CHECK_EQ(chip.pic.chips[0].irr, 0);
}

static void t_gsi0_pin0(void)
{
	setup();
	set_rte(0, 0x30);
	set_rte(2, 0x32);
	irqchip_set_irq(&chip, 0, 0, true);
	CHECK_EQ(nmsgs, 1);
	CHECK_EQ(msgs[0].vector, 0x30);
	CHECK_EQ(chip.ioapic.irr, 1);
	CHECK_EQ(chip.pic.chips[0].irr, 1);
}

static void t_combine(void)
{
	setup();
	init_pics();
	/* IOAPIC pin masked (-1), PIC delivers (1). */
	CHECK_EQ(irqchip_set_irq(&chip, 4, 0, true), 1);
	/* Both masked. */
	outb(0x21, 0x20);
	CHECK_EQ(irqchip_set_irq(&chip, 5, 0, true), -1);
	/* De-assert: 1 from each chip. */
	CHECK_EQ(irqchip_set_irq(&chip, 4, 0, false), 2);
	/* New edge while the PIC's IRR is still set: coalesced (0), IOAPIC masked (-1). */
	CHECK_EQ(irqchip_set_irq(&chip, 4, 0, true), 0);
	/* Router answers 3 and the PIC 1: 4. */
	set_rte(6, 0x46);
	deliver_ret = 3;
	CHECK_EQ(irqchip_set_irq(&chip, 6, 0, true), 4);
	/* De-assert: IOAPIC 1, masked PIC -1. */
	outb(0x21, 0x40);
	CHECK_EQ(irqchip_set_irq(&chip, 6, 0, false), 1);
	/* Router says nobody (-1), PIC masked (-1): -1. */
	deliver_ret = -1;
	CHECK_EQ(irqchip_set_irq(&chip, 6, 0, true), -1);
}

static void t_deassert_masked(void)
{
	setup();
	init_pics();
	outb(0x21, 0xff);
	/* A de-assert is 1 from the IOAPIC (masked or not), -1 from a masked PIC. */
	CHECK_EQ(irqchip_set_irq(&chip, 3, 0, false), 1);
	CHECK_EQ(irqchip_set_irq(&chip, 20, 0, false), 1);
}

static void t_msi_decode(void)
{
	struct lapic_ipi m;

	CHECK_EQ(irqchip_msi_decode(0xfee01004, 0xffffffff, 0x80c1, false, &m), 0);
	CHECK_EQ(m.dest, 0x01);
	CHECK(m.logical);
	CHECK_EQ(m.vector, 0xc1);
	CHECK_EQ(m.delivery_mode, LAPIC_DM_FIXED);
	CHECK(!m.lowest_priority);
	CHECK(m.level_trigger);
	CHECK(m.assert);
	CHECK_EQ(m.shorthand, LAPIC_SH_NONE);
	CHECK_EQ(m.source_id, 0);
	/* Lowest priority arrives as fixed + lowest_priority. */
	CHECK_EQ(irqchip_msi_decode(0xfeeff000, 0, 0x0141, false, &m), 0);
	CHECK_EQ(m.dest, 0xff);
	CHECK(!m.logical);
	CHECK_EQ(m.delivery_mode, LAPIC_DM_FIXED);
	CHECK(m.lowest_priority);
	CHECK(!m.level_trigger);
	/* The redirection hint asks for lowest-priority arbitration too. */
	CHECK_EQ(irqchip_msi_decode(0xfee00008, 0, 0x0041, false, &m), 0);
	CHECK(m.lowest_priority);
	CHECK_EQ(m.delivery_mode, LAPIC_DM_FIXED);
	/* Other modes pass through; bits 11, 14 and the address base are not checked. */
	CHECK_EQ(irqchip_msi_decode(0x12345678, 0, 0x4c00, false, &m), 0);
	CHECK_EQ(m.delivery_mode, LAPIC_DM_NMI);
	CHECK_EQ(m.dest, 0x45);
	CHECK_EQ(m.vector, 0);
	CHECK_EQ(irqchip_msi_decode(0, 0, 0x700, false, &m), 0);
	CHECK_EQ(m.delivery_mode, LAPIC_DM_EXTINT);
}

static void t_msi_x2apic_format(void)
{
	struct lapic_ipi m;

	CHECK_EQ(irqchip_msi_decode(0xfee34000, 0x00012300, 0x30, true, &m), 0);
	CHECK_EQ(m.dest, 0x00012334);
	CHECK_EQ(irqchip_msi_decode(0xfee34000, 0x00000001, 0x30, true, &m), -HV_EINVAL);
	CHECK_EQ(irqchip_msi_decode(0xfee34000, 0x000000ff, 0x30, false, &m), 0);
	CHECK_EQ(m.dest, 0x34);
}

static void t_msi_flags(void)
{
	struct kvm_msi msi = {.address_lo = 0xfee00000, .data = 0x31};
	struct lapic_ipi m;

	CHECK_EQ(irqchip_msi_to_ipi(&msi, &m), 0);
	msi.flags = KVM_MSI_VALID_DEVID;
	msi.devid = 0x1234;
	CHECK_EQ(irqchip_msi_to_ipi(&msi, &m), 0);
	CHECK_EQ(m.vector, 0x31);
	msi.flags = 2;
	CHECK_EQ(irqchip_msi_to_ipi(&msi, &m), -HV_EINVAL);
	msi.flags = 0x80000001u;
	CHECK_EQ(irqchip_msi_to_ipi(&msi, &m), -HV_EINVAL);
	/* Without KVM_CAP_X2APIC_API, address_hi is ignored entirely. */
	msi.flags = 0;
	msi.address_hi = 0xffffffff;
	CHECK_EQ(irqchip_msi_to_ipi(&msi, &m), 0);
	CHECK_EQ(m.dest, 0);
}

static void t_signal_msi(void)
{
	struct kvm_msi msi = {.address_lo = 0xfee02000, .data = 0x45};

	setup();
	deliver_ret = 2;
	CHECK_EQ(irqchip_signal_msi(&chip, &msi), 2);
	CHECK_EQ(nmsgs, 1);
	CHECK_EQ(msgs[0].dest, 2);
	deliver_ret = -1;
	CHECK_EQ(irqchip_signal_msi(&chip, &msi), -1);
	msi.flags = 4;
	CHECK_EQ(irqchip_signal_msi(&chip, &msi), -HV_EINVAL);
	CHECK_EQ(nmsgs, 2);
	irqchip_init(&chip, NULL);
	msi.flags = 0;
	CHECK_EQ(irqchip_signal_msi(&chip, &msi), -1);
}

static void t_get_irqchip(void)
{
	struct kvm_irqchip c;
	unsigned i;

	setup();
	init_pics();
	outb(0xa1, 0x5a);
	set_rte(3, 0x43 | (7ull << 56));
	ioapic_wr(0, 0x0b000000);

	memset(&c, 0xaa, sizeof(c));
	c.chip_id = KVM_IRQCHIP_PIC_MASTER;
	CHECK_EQ(irqchip_get(&chip, &c), 0);
	CHECK_EQ(c.chip.pic.irq_base, 0x08);
	CHECK_EQ(c.chip.pic.elcr_mask, 0xf8);
	CHECK_EQ(c.pad, 0xaaaaaaaa); /* only the chip record is written */
	for (i = sizeof(struct kvm_pic_state); i < sizeof(c.chip.dummy); i++)
		CHECK_EQ((uint8_t)c.chip.dummy[i], 0xaa);

	c.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	CHECK_EQ(irqchip_get(&chip, &c), 0);
	CHECK_EQ(c.chip.pic.irq_base, 0x70);
	CHECK_EQ(c.chip.pic.imr, 0x5a);

	memset(&c, 0xaa, sizeof(c));
	c.chip_id = KVM_IRQCHIP_IOAPIC;
	CHECK_EQ(irqchip_get(&chip, &c), 0);
	CHECK_EQ(c.chip.ioapic.base_address, IOAPIC_DEFAULT_BASE);
	CHECK_EQ(c.chip.ioapic.id, 0xb);
	CHECK_EQ(c.chip.ioapic.redirtbl[3].bits, 0x43 | (7ull << 56));
	for (i = sizeof(struct kvm_ioapic_state); i < sizeof(c.chip.dummy); i++)
		CHECK_EQ((uint8_t)c.chip.dummy[i], 0xaa);

	memset(&c, 0xaa, sizeof(c));
	c.chip_id = 3;
	CHECK_EQ(irqchip_get(&chip, &c), -HV_EINVAL);
	c.chip_id = 0xffffffffu;
	CHECK_EQ(irqchip_get(&chip, &c), -HV_EINVAL);
	for (i = 0; i < sizeof(c.chip.dummy); i++)
		CHECK_EQ((uint8_t)c.chip.dummy[i], 0xaa);
}

static void t_set_irqchip(void)
{
	struct kvm_irqchip saved[3], c;
	struct irqchip_config cfg;
	unsigned i;

	setup();
	init_pics();
	outb(0x4d1, 0x0c);
	set_rte(9, 0x49 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED);
	irqchip_set_irq(&chip, 9, 0, true);
	for (i = 0; i < 3; i++) {
		memset(&saved[i], 0, sizeof(saved[i]));
		saved[i].chip_id = i;
		CHECK_EQ(irqchip_get(&chip, &saved[i]), 0);
	}
	cfg = chip.cfg;
	irqchip_init(&chip, &cfg);
	for (i = 0; i < 3; i++)
		CHECK_EQ(irqchip_set(&chip, &saved[i]), 0);
	for (i = 0; i < 3; i++) {
		memset(&c, 0, sizeof(c));
		c.chip_id = i;
		CHECK_EQ(irqchip_get(&chip, &c), 0);
		CHECK(memcmp(&c, &saved[i], sizeof(c)) == 0);
	}
	/* The slave's pending IRQ9 raised the PIC output on restore. */
	CHECK(pic_output(&chip.pic));

	c.chip_id = 3;
	CHECK_EQ(irqchip_set(&chip, &c), -HV_EINVAL);
	c.chip_id = 0x80000000u;
	CHECK_EQ(irqchip_set(&chip, &c), -HV_EINVAL);
}

static void t_set_bad_id_updates(void)
{
	struct kvm_irqchip c;

	setup();
	/* A request the output has not seen yet... */
	chip.pic.chips[0].irr = 0x01;
	CHECK(!pic_output(&chip.pic));
	memset(&c, 0, sizeof(c));
	c.chip_id = 7;
	/* ...is seen even by a refused KVM_SET_IRQCHIP. */
	CHECK_EQ(irqchip_set(&chip, &c), -HV_EINVAL);
	CHECK(pic_output(&chip.pic));
	CHECK(pic_level);
}

static void t_eoi_with_lapic(void)
{
	struct lapic_config lc = {.vcpu_id = 0, .eoi = apic_eoi, .ctx = &chip};
	bool level;

	setup();
	use_apic = true;
	lapic_init(&apic, &lc);
	lapic_mmio_write(&apic, LAPIC_SPIV, 4, 0x1ff);
	outb(0xa1, 0xff); /* the PIC's part is -1 */
	set_rte(10, 0x5a | IOAPIC_RTE_LEVEL);
	CHECK_EQ(irqchip_set_irq(&chip, 10, 0, true), 1);
	CHECK_EQ(lapic_ack_interrupt(&apic), 0x5a);
	/* EOI with the line high: delivered again through irqchip_eoi. */
	CHECK_EQ(lapic_eoi(&apic, &level), 0x5a);
	CHECK(level);
	CHECK_EQ(nmsgs, 2);
	CHECK_EQ(lapic_ack_interrupt(&apic), 0x5a);
	irqchip_set_irq(&chip, 10, 0, false);
	CHECK_EQ(lapic_eoi(&apic, &level), 0x5a);
	CHECK_EQ(nmsgs, 2);
	CHECK(!(chip.ioapic.redirtbl[10] & IOAPIC_RTE_REMOTE_IRR));
	/* A destination no LAPIC has: -1 from both chips. */
	set_rte(11, 0x5b | (9ull << 56));
	CHECK_EQ(irqchip_set_irq(&chip, 11, 0, true), -1);
}

static void t_acked(void)
{
	setup();
	init_pics();
	set_rte(5, 0x45);
	irqchip_set_irq(&chip, 5, 0, true);
	CHECK_EQ(pic_read_irq(&chip.pic), 0x0d);
	outb(0x20, 0x20);
	CHECK_EQ(nacked, 1);
	CHECK_EQ(acked[0], 5);
	irqchip_eoi(&chip, 0x45, false);
	CHECK_EQ(nacked, 2);
	CHECK_EQ(acked[1], 5);
	irqchip_set_irq(&chip, 12, 0, true);
	CHECK_EQ(pic_read_irq(&chip.pic), 0x74);
	outb(0xa0, 0x20);
	CHECK_EQ(acked[2], 12);
}

static void t_clear_source(void)
{
	setup();
	irqchip_set_irq(&chip, 3, IRQCHIP_PIT_SOURCE_ID, true);
	irqchip_set_irq(&chip, 3, IRQCHIP_USERSPACE_SOURCE_ID, true);
	irqchip_clear_source(&chip, IRQCHIP_PIT_SOURCE_ID);
	CHECK_EQ(chip.pic.irq_states[3], 1);
	CHECK_EQ(chip.ioapic.irq_states[3], 1);
	CHECK_EQ(irqchip_set_irq(&chip, 3, IRQCHIP_MAX_SOURCE_ID + 1, true), -1);
}

/* Fixed-seed xorshift64* so a failure replays. */
static uint64_t rng = 0x13198a2e03707344ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static void t_fuzz(void)
{
	struct kvm_irqchip c;
	struct kvm_msi msi;
	struct lapic_ipi m;
	unsigned i, j;
	uint64_t v;
	uint32_t v32;

	setup();
	for (i = 0; i < 100000; i++) {
		deliver_ret = (int)(rnd() % 4) - 1;
		switch (rnd() % 9) {
		case 0:
			irqchip_set_irq(&chip, (uint32_t)((rnd() & 1) ? rnd() % 30 : rnd()),
					(int)(rnd() % 70) - 2, rnd() & 1);
			break;
		case 1:
			v = rnd();
			memcpy(&msi, &v, 8);
			v = rnd();
			memcpy((char *)&msi + 8, &v, 8);
			msi.flags &= (rnd() & 1) ? 1 : 0xffffffffu;
			irqchip_signal_msi(&chip, &msi);
			irqchip_msi_decode((uint32_t)rnd(), (uint32_t)rnd(), (uint32_t)rnd(),
					   rnd() & 1, &m);
			break;
		case 2:
			c.chip_id = (uint32_t)(rnd() % 5);
			irqchip_get(&chip, &c);
			break;
		case 3:
			if (rnd() % 8)
				break;
			for (j = 0; j < sizeof(c); j += 8) {
				v = rnd();
				memcpy((char *)&c + j, &v, 8);
			}
			c.chip_id = (uint32_t)((rnd() & 1) ? rnd() % 4 : rnd());
			if (rnd() & 1)
				c.chip.ioapic.base_address = IOAPIC_DEFAULT_BASE;
			irqchip_set(&chip, &c);
			break;
		case 4:
			irqchip_eoi(&chip, (uint8_t)rnd(), rnd() & 1);
			break;
		case 5:
			pic_read_irq(&chip.pic);
			break;
		case 6:
			pic_ioport_write(&chip.pic,
					 (uint16_t)((rnd() & 1) ? 0x20 + (rnd() & 0x81) : rnd()),
					 (rnd() % 4) ? 1 : (unsigned)rnd(), (uint32_t)rnd());
			pic_ioport_read(&chip.pic, (uint16_t)(0x4d0 + (rnd() & 3)), 1, &v32);
			break;
		default:
			ioapic_mmio_write(&chip.ioapic, rnd() % 0x120, (rnd() % 4) ? 4 : 8, rnd());
			ioapic_mmio_read(&chip.ioapic, rnd() & 0x1f, 4, &v);
			break;
		}
		CHECK_EQ(pic_level, pic_output(&chip.pic));
	}
}

static const struct check_test tests[] = {
    {"kvm_setup_default_irq_routing: GSI 0-15 drive IOAPIC pin and PIC IRQ", t_legacy_both},
    {"kvm_setup_default_irq_routing: GSI 16-23 drive the IOAPIC only", t_high_ioapic_only},
    {"kvm_set_irq: a GSI >= 24 has no route (-1, nothing done)", t_no_route},
    {"kvm_setup_default_irq_routing: GSI 0 is IOAPIC pin 0 (no pin 2 override)", t_gsi0_pin0},
    {"kvm_set_irq: per-chip results combined (negatives skipped, others summed)", t_combine},
    {"kvm_set_irq: de-assert results", t_deassert_masked},
    {"kvm_set_msi_irq: address and data fields", t_msi_decode},
    {"kvm_msi_route_invalid: x2APIC format destination bits and refusal", t_msi_x2apic_format},
    {"kvm_send_userspace_msi: flags other than VALID_DEVID are EINVAL", t_msi_flags},
    {"kvm_set_msi: KVM_SIGNAL_MSI returns the delivery count", t_signal_msi},
    {"kvm_vm_ioctl_get_irqchip: chips 0, 1, 2; bad id EINVAL; rest of union kept", t_get_irqchip},
    {"kvm_vm_ioctl_set_irqchip: round trip of the three chips; bad id EINVAL", t_set_irqchip},
    {"kvm_vm_ioctl_set_irqchip: PIC output re-evaluated even for a bad id", t_set_bad_id_updates},
    {"kvm_ioapic_send_eoi: a LAPIC EOI of a level vector reaches the IOAPIC", t_eoi_with_lapic},
    {"kvm_notify_acked_irq: PIC and IOAPIC acks name the GSI", t_acked},
    {"kvm_free_irq_source_id: a source dropped from both chips", t_clear_source},
    {"fuzz: random lines, MSIs, irqchip states, ports and MMIO (fixed seed)", t_fuzz},
};

CHECK_MAIN(tests)
