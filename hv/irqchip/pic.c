// SPDX-License-Identifier: MIT
/*
 * The 8259A pair of pic.h. Facts from Linux 6.1's arch/x86/kvm/i8259.c (each
 * rule names the upstream function it follows) and the Intel 8259A
 * datasheet; the code is this project's own.
 *
 * Upstream behaviours kept on purpose, although they differ from the
 * datasheet:
 *   - ICW1 keeps ISR, the vector base, poll and rotate-on-auto-EOI; it
 *     drops edge requests from IRR (and, when some vCPU accepts PIC
 *     interrupts, clears their ISR bits) but keeps level ones
 *     (kvm_pic_reset); ICW1's single-mode and level bits are ignored;
 *   - ICW3 is always expected (cascade), its value ignored; of ICW4 only
 *     auto-EOI and special fully nested mode count;
 *   - OCW3's special mask mode is recorded but does not change priority;
 *   - a poll read returns the bare IRQ number (no "interrupt present" bit
 *     7), or 7 when nothing is pending (pic_poll_read);
 *   - the ELCR write mask is part of the state KVM_SET_IRQCHIP replaces.
 * Not modelled: mask notifiers.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "abi/errno.h"
#include "hv/irqchip/pic.h"

#define MASTER 0
#define SLAVE  1

/* ---- Output ---- */

static void set_output(struct pic *p, bool level)
{
	bool old = p->output;

	p->output = level;
	if (old != level && p->cfg.output)
		p->cfg.output(p->cfg.ctx, level);
}

/* ---- One chip ---- */

/* pic_set_irq1: IRR edge/level detection on one chip's input @irq (0-7). */
static int set_irq1(struct kvm_pic_state *s, unsigned irq, bool level)
{
	uint8_t mask = (uint8_t)(1u << irq);
	int ret = 1;

	if (s->elcr & mask) {
		/* Level-triggered: IRR follows the line. */
		if (level) {
			ret = !(s->irr & mask);
			s->irr |= mask;
			s->last_irr |= mask;
		} else {
			s->irr &= (uint8_t)~mask;
			s->last_irr &= (uint8_t)~mask;
		}
	} else if (level) {
		/* Edge-triggered: only a rising edge requests. */
		if (!(s->last_irr & mask)) {
			ret = !(s->irr & mask);
			s->irr |= mask;
		}
		s->last_irr |= mask;
	} else {
		s->last_irr &= (uint8_t)~mask;
	}
	return (s->imr & mask) ? -1 : ret;
}

/* get_priority: 0 (highest) .. 7 of the best bit in @mask after rotation; 8 if none. */
static unsigned get_priority(const struct kvm_pic_state *s, uint8_t mask)
{
	unsigned prio = 0;

	if (!mask)
		return 8;
	while (!(mask & (1u << ((prio + s->priority_add) & 7))))
		prio++;
	return prio;
}

/* pic_get_irq: the IRQ (0-7) chip @c wants to raise above what it serves, or -1. */
static int get_irq(const struct pic *p, unsigned c)
{
	const struct kvm_pic_state *s = &p->chips[c];
	unsigned prio = get_priority(s, s->irr & (uint8_t)~s->imr);
	uint8_t in_service = s->isr;

	if (prio == 8)
		return -1;
	/* Special fully nested: the slave's own priority nests under IRQ2. */
	if (s->special_fully_nested_mode && c == MASTER)
		in_service &= (uint8_t) ~(1u << 2);
	if (prio < get_priority(s, in_service))
		return (int)((prio + s->priority_add) & 7);
	return -1;
}

/* pic_update_irq: cascade the slave into master IRQ2, then the output. */
static void update(struct pic *p)
{
	if (get_irq(p, SLAVE) >= 0) {
		/* A pulse on IRQ2: the master sees an edge. */
		set_irq1(&p->chips[MASTER], 2, true);
		set_irq1(&p->chips[MASTER], 2, false);
	}
	set_output(p, get_irq(p, MASTER) >= 0);
}

void pic_update(struct pic *p)
{
	update(p);
}

/* pic_clear_isr: retire @irq on chip @c and tell the ack notifiers. */
static void clear_isr(struct pic *p, unsigned c, unsigned irq)
{
	p->chips[c].isr &= (uint8_t) ~(1u << irq);
	if (p->cfg.acked)
		p->cfg.acked(p->cfg.ctx, irq + 8 * c);
}

/* pic_intack */
static void intack(struct pic *p, unsigned c, unsigned irq)
{
	struct kvm_pic_state *s = &p->chips[c];

	s->isr |= (uint8_t)(1u << irq);
	/* A level request stays in IRR while its line is high. */
	if (!(s->elcr & (1u << irq)))
		s->irr &= (uint8_t) ~(1u << irq);
	if (s->auto_eoi) {
		if (s->rotate_on_auto_eoi)
			s->priority_add = (irq + 1) & 7;
		clear_isr(p, c, irq);
	}
}

/* kvm_pic_read_irq */
int pic_read_irq(struct pic *p)
{
	bool was_high = p->output;
	int irq, irq2, vector;

	p->output = false;
	irq = get_irq(p, MASTER);
	if (irq < 0) {
		/* Spurious on the master. */
		vector = p->chips[MASTER].irq_base + 7;
	} else {
		intack(p, MASTER, (unsigned)irq);
		if (irq == 2) {
			irq2 = get_irq(p, SLAVE);
			if (irq2 >= 0)
				intack(p, SLAVE, (unsigned)irq2);
			else
				irq2 = 7; /* spurious on the slave */
			vector = p->chips[SLAVE].irq_base + irq2;
		} else {
			vector = p->chips[MASTER].irq_base + irq;
		}
	}
	update(p);
	/* update() saw a low output; tell the withdrawal it could not see. */
	if (was_high && !p->output && p->cfg.output)
		p->cfg.output(p->cfg.ctx, false);
	return vector & 0xff;
}

/* kvm_pic_reset: what ICW1 does to chip @c. */
static void icw1_reset(struct pic *p, unsigned c)
{
	struct kvm_pic_state *s = &p->chips[c];
	uint8_t edge_irr = s->irr & (uint8_t)~s->elcr;
	unsigned irq;

	s->last_irr = 0;
	s->irr &= s->elcr;
	s->imr = 0;
	s->priority_add = 0;
	s->special_mask = 0;
	s->read_reg_select = 0;
	if (!s->init4) {
		s->special_fully_nested_mode = 0;
		s->auto_eoi = 0;
	}
	s->init_state = 1;
	if (p->cfg.accepts_intr && !p->cfg.accepts_intr(p->cfg.ctx))
		return;
	for (irq = 0; irq < 8; irq++)
		if (edge_irr & (1u << irq))
			clear_isr(p, c, irq);
}

/* OCW2 (pic_ioport_write, command port, bits 4:3 = 00). */
static void ocw2(struct pic *p, unsigned c, uint8_t val)
{
	struct kvm_pic_state *s = &p->chips[c];
	unsigned cmd = val >> 5, prio, irq;

	switch (cmd) {
	case 0: /* rotate in auto-EOI mode: clear */
	case 4: /* rotate in auto-EOI mode: set */
		s->rotate_on_auto_eoi = cmd >> 2;
		break;
	case 1: /* non-specific EOI */
	case 5: /* rotate on non-specific EOI */
		prio = get_priority(s, s->isr);
		if (prio == 8)
			break;
		irq = (prio + s->priority_add) & 7;
		if (cmd == 5)
			s->priority_add = (irq + 1) & 7;
		clear_isr(p, c, irq);
		update(p);
		break;
	case 3: /* specific EOI */
		clear_isr(p, c, val & 7);
		update(p);
		break;
	case 6: /* set priority: IRQ val & 7 becomes the lowest */
		s->priority_add = (val + 1) & 7;
		update(p);
		break;
	case 7: /* rotate on specific EOI */
		irq = val & 7;
		s->priority_add = (irq + 1) & 7;
		clear_isr(p, c, irq);
		update(p);
		break;
	default: /* 2: no operation */
		break;
	}
}

/* pic_ioport_write */
static void chip_write(struct pic *p, unsigned c, unsigned addr, uint8_t val)
{
	struct kvm_pic_state *s = &p->chips[c];

	if (!(addr & 1)) {
		if (val & 0x10) {
			/* ICW1 */
			s->init4 = val & 1;
			icw1_reset(p, c);
		} else if (val & 0x08) {
			/* OCW3 */
			if (val & 0x04)
				s->poll = 1;
			if (val & 0x02)
				s->read_reg_select = val & 1;
			if (val & 0x40)
				s->special_mask = (val >> 5) & 1;
		} else {
			ocw2(p, c, val);
		}
		return;
	}
	switch (s->init_state) {
	case 0: /* OCW1: the mask */
		s->imr = val;
		update(p);
		break;
	case 1: /* ICW2: the vector base */
		s->irq_base = val & 0xf8;
		s->init_state = 2;
		break;
	case 2: /* ICW3: cascade wiring, ignored */
		s->init_state = s->init4 ? 3 : 0;
		break;
	case 3: /* ICW4 */
		s->special_fully_nested_mode = (val >> 4) & 1;
		s->auto_eoi = (val >> 1) & 1;
		s->init_state = 0;
		break;
	default: /* only a KVM_SET_IRQCHIP state gets here: ignored */
		break;
	}
}

/* pic_poll_read: poll mode acknowledges the best request as INTA would. */
static uint8_t poll_read(struct pic *p, unsigned c)
{
	struct kvm_pic_state *s = &p->chips[c];
	int irq = get_irq(p, c);

	if (irq < 0) {
		update(p);
		return 7;
	}
	if (c == SLAVE) {
		p->chips[MASTER].isr &= (uint8_t) ~(1u << 2);
		p->chips[MASTER].irr &= (uint8_t) ~(1u << 2);
	}
	s->irr &= (uint8_t) ~(1u << irq);
	clear_isr(p, c, (unsigned)irq);
	if (c == SLAVE || irq != 2)
		update(p);
	return (uint8_t)irq;
}

/* pic_ioport_read */
static uint8_t chip_read(struct pic *p, unsigned c, unsigned addr)
{
	struct kvm_pic_state *s = &p->chips[c];
	uint8_t ret;

	if (s->poll) {
		ret = poll_read(p, c);
		s->poll = 0;
		return ret;
	}
	if (addr & 1)
		return s->imr;
	return s->read_reg_select ? s->isr : s->irr;
}

/* ---- Port I/O ---- */

/*
 * Which of the three two-port devices (kvm_pic_init) takes the access:
 * the port must be one of the six and the access must end inside the
 * device's range (kvm_io_bus). -1: not the PIC's.
 */
static int port_device(uint16_t port, unsigned len)
{
	uint64_t base;

	switch (port) {
	case PIC_MASTER_CMD:
	case PIC_MASTER_DATA:
	case PIC_SLAVE_CMD:
	case PIC_SLAVE_DATA:
	case PIC_ELCR_MASTER:
	case PIC_ELCR_SLAVE:
		base = port & ~1u;
		break;
	default:
		return -1;
	}
	if ((uint64_t)port + len > base + 2)
		return -1;
	return 0;
}

/* picdev_read */
int pic_ioport_read(struct pic *p, uint16_t port, unsigned len, uint32_t *val)
{
	if (port_device(port, len) < 0)
		return -1;
	*val = 0;
	if (len != 1)
		return 0;
	if (port == PIC_ELCR_MASTER || port == PIC_ELCR_SLAVE)
		*val = p->chips[port & 1].elcr; /* elcr_ioport_read */
	else
		*val = chip_read(p, port >> 7, port);
	return 0;
}

/* picdev_write */
int pic_ioport_write(struct pic *p, uint16_t port, unsigned len, uint32_t val)
{
	struct kvm_pic_state *s;

	if (port_device(port, len) < 0)
		return -1;
	if (len != 1)
		return 0;
	if (port == PIC_ELCR_MASTER || port == PIC_ELCR_SLAVE) {
		/* elcr_ioport_write */
		s = &p->chips[port & 1];
		s->elcr = (uint8_t)val & s->elcr_mask;
	} else {
		chip_write(p, port >> 7, port, (uint8_t)val);
	}
	return 0;
}

/* ---- Lines, life cycle, state ---- */

static bool source_ok(int irq_source_id)
{
	return irq_source_id >= 0 && irq_source_id <= PIC_MAX_SOURCE_ID;
}

/* kvm_pic_set_irq with __kvm_irq_line_state's OR of the sources. */
int pic_set_irq(struct pic *p, unsigned irq, int irq_source_id, bool level)
{
	uint64_t bit;
	int ret;

	if (irq >= PIC_NUM_PINS || !source_ok(irq_source_id))
		return -1;
	bit = 1ull << irq_source_id;
	if (level)
		p->irq_states[irq] |= bit;
	else
		p->irq_states[irq] &= ~bit;
	ret = set_irq1(&p->chips[irq >> 3], irq & 7, p->irq_states[irq] != 0);
	update(p);
	return ret;
}

/* kvm_pic_clear_all */
void pic_clear_source(struct pic *p, int irq_source_id)
{
	unsigned i;

	if (!source_ok(irq_source_id))
		return;
	for (i = 0; i < PIC_NUM_PINS; i++)
		p->irq_states[i] &= ~(1ull << irq_source_id);
}

bool pic_output(const struct pic *p)
{
	return p->output;
}

void pic_reset(struct pic *p)
{
	memset(p->chips, 0, sizeof(p->chips));
	memset(p->irq_states, 0, sizeof(p->irq_states));
	p->chips[MASTER].elcr_mask = PIC_ELCR_MASK_MASTER;
	p->chips[SLAVE].elcr_mask = PIC_ELCR_MASK_SLAVE;
	set_output(p, false);
}

/* kvm_pic_init */
void pic_init(struct pic *p, const struct pic_config *cfg)
{
	memset(p, 0, sizeof(*p));
	if (cfg)
		p->cfg = *cfg;
	pic_reset(p);
}

/* kvm_vm_ioctl_get_irqchip, PIC chips */
void pic_get_state(const struct pic *p, unsigned chip, struct kvm_pic_state *s)
{
	if (chip > SLAVE) {
		memset(s, 0, sizeof(*s));
		return;
	}
	*s = p->chips[chip];
}

/* kvm_vm_ioctl_set_irqchip, PIC chips (then kvm_pic_update_irq) */
int pic_set_state(struct pic *p, unsigned chip, const struct kvm_pic_state *s)
{
	if (chip > SLAVE)
		return -HV_EINVAL;
	p->chips[chip] = *s;
	update(p);
	return 0;
}
