// SPDX-License-Identifier: MIT
/*
 * The IOAPIC model of ioapic.h. Facts from Linux 6.1's
 * arch/x86/kvm/ioapic.c (each rule names the upstream function it follows)
 * and the Intel 82093AA datasheet; the code is this project's own.
 *
 * Upstream behaviours kept on purpose, although they differ from the
 * datasheet:
 *   - IOREGSEL 0x03-0x0f and beyond the last redirection register read
 *     all ones; writes to them are dropped (ioapic_read_indirect);
 *   - the ID register stores bits 27:24 only; ARB reads the same as ID;
 *   - a level-triggered delivery that no LAPIC accepted (deliver() < 0)
 *     still sets remote IRR (ioapic_service: "ret && level");
 *   - the EOI broadcast clears remote IRR of every pin with that vector
 *     when the LAPIC's TMR bit was set, whatever the pin's own trigger
 *     mode (kvm_ioapic_update_eoi_one).
 * Not modelled: the RTC (pin 8) EOI tracking that KVM_IRQ_LINE_STATUS
 * uses to report coalesced RTC interrupts (pin 8 coalesces as any edge
 * pin), APICv's lazy EOI, mask notifiers and the irqfd resampler.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "hv/irqchip/ioapic.h"

#define PIN_BIT(pin) (1u << (pin))

static bool rte_level(uint64_t e)
{
	return e & IOAPIC_RTE_LEVEL;
}

static bool rte_masked(uint64_t e)
{
	return e & IOAPIC_RTE_MASKED;
}

void ioapic_rte_to_ipi(uint64_t rte, struct lapic_ipi *msg)
{
	uint8_t mode = (uint8_t)((rte & IOAPIC_RTE_DM_MASK) >> IOAPIC_RTE_DM_SHIFT);

	memset(msg, 0, sizeof(*msg));
	msg->dest = (uint32_t)(rte >> IOAPIC_RTE_DEST_SHIFT);
	msg->vector = (uint8_t)(rte & IOAPIC_RTE_VECTOR_MASK);
	msg->logical = rte & IOAPIC_RTE_DEST_LOGICAL;
	msg->level_trigger = rte_level(rte);
	msg->assert = true; /* the message always asserts (irqe.level = 1) */
	msg->shorthand = LAPIC_SH_NONE;
	if (mode == LAPIC_DM_LOWEST) {
		msg->lowest_priority = true;
		mode = LAPIC_DM_FIXED;
	}
	msg->delivery_mode = mode;
}

/* ioapic_service: send pin @pin's message unless masked or awaiting EOI. */
static int service(struct ioapic *io, unsigned pin)
{
	uint64_t *e = &io->redirtbl[pin];
	struct lapic_ipi msg;
	int ret;

	if (rte_masked(*e) || (rte_level(*e) && (*e & IOAPIC_RTE_REMOTE_IRR)))
		return -1;
	ioapic_rte_to_ipi(*e, &msg);
	if (!rte_level(*e))
		io->irr_delivered |= PIN_BIT(pin);
	ret = io->cfg.deliver ? io->cfg.deliver(io->cfg.ctx, &msg) : -1;
	/* Any answer but 0 (none matched: -1 too) waits for the EOI. */
	if (ret && msg.level_trigger)
		io->redirtbl[pin] |= IOAPIC_RTE_REMOTE_IRR;
	return ret;
}

/* ioapic_set_irq (the static one): the pin's combined level changed to @level. */
static int set_pin(struct ioapic *io, unsigned pin, bool level)
{
	uint32_t old_irr = io->irr;

	if (!level) {
		io->irr &= ~PIN_BIT(pin);
		return 1;
	}
	io->irr |= PIN_BIT(pin);
	if (!rte_level(io->redirtbl[pin])) {
		io->irr_delivered &= ~PIN_BIT(pin);
		/* An edge still pending in IRR (masked pin) is coalesced. */
		if (old_irr == io->irr)
			return 0;
	}
	return service(io, pin);
}

static bool source_ok(int irq_source_id)
{
	return irq_source_id >= 0 && irq_source_id <= IOAPIC_MAX_SOURCE_ID;
}

/* kvm_ioapic_set_irq with __kvm_irq_line_state's OR of the sources. */
int ioapic_set_irq(struct ioapic *io, unsigned pin, int irq_source_id, bool level)
{
	uint64_t bit;

	if (pin >= IOAPIC_NUM_PINS || !source_ok(irq_source_id))
		return -1;
	bit = 1ull << irq_source_id;
	if (level)
		io->irq_states[pin] |= bit;
	else
		io->irq_states[pin] &= ~bit;
	return set_pin(io, pin, io->irq_states[pin] != 0);
}

/* kvm_ioapic_clear_all */
void ioapic_clear_source(struct ioapic *io, int irq_source_id)
{
	unsigned i;

	if (!source_ok(irq_source_id))
		return;
	for (i = 0; i < IOAPIC_NUM_PINS; i++)
		io->irq_states[i] &= ~(1ull << irq_source_id);
}

/* kvm_ioapic_update_eoi_one, for one pin whose vector was EOIed. */
static void eoi_pin(struct ioapic *io, unsigned pin, bool level)
{
	uint64_t *e = &io->redirtbl[pin];

	if (io->cfg.acked)
		io->cfg.acked(io->cfg.ctx, pin);
	if (!level)
		return;
	*e &= ~IOAPIC_RTE_REMOTE_IRR;
	if (rte_masked(*e) || !(io->irr & PIN_BIT(pin))) {
		io->irq_eoi[pin] = 0;
		return;
	}
	/* A line still asserted at EOI: deliver again, unless it looks like
	 * an interrupt storm; then the hypervisor retries later. */
	if (++io->irq_eoi[pin] >= IOAPIC_SUCCESSIVE_IRQ_MAX_COUNT) {
		io->irq_eoi[pin] = 0;
		io->eoi_inject_pending = true;
		return;
	}
	service(io, pin);
}

/* kvm_ioapic_update_eoi */
void ioapic_eoi(struct ioapic *io, uint8_t vector, bool level)
{
	unsigned i;

	for (i = 0; i < IOAPIC_NUM_PINS; i++)
		if ((io->redirtbl[i] & IOAPIC_RTE_VECTOR_MASK) == vector)
			eoi_pin(io, i, level);
}

bool ioapic_eoi_inject_pending(const struct ioapic *io)
{
	return io->eoi_inject_pending;
}

/* kvm_ioapic_eoi_inject_work */
void ioapic_eoi_inject(struct ioapic *io)
{
	unsigned i;

	io->eoi_inject_pending = false;
	for (i = 0; i < IOAPIC_NUM_PINS; i++) {
		uint64_t e = io->redirtbl[i];

		if (rte_level(e) && (io->irr & PIN_BIT(i)) && !(e & IOAPIC_RTE_REMOTE_IRR))
			service(io, i);
	}
}

/* ---- Registers ---- */

/* Redirection table index selected by IOREGSEL, or -1 (unsigned wrap as upstream). */
static int redir_index(uint32_t ioregsel)
{
	uint32_t index = (ioregsel - IOAPIC_INDEX_REDTBL) >> 1;

	return index < IOAPIC_NUM_PINS ? (int)index : -1;
}

/* ioapic_read_indirect */
static uint32_t read_indirect(const struct ioapic *io)
{
	uint64_t rte = ~0ull;
	int index;

	switch (io->ioregsel) {
	case IOAPIC_INDEX_VERSION:
		return ((uint32_t)(IOAPIC_NUM_PINS - 1) << 16) | IOAPIC_VERSION_ID;
	case IOAPIC_INDEX_ID:
	case IOAPIC_INDEX_ARB:
		return (io->id & 0xf) << 24;
	default:
		index = redir_index(io->ioregsel);
		if (index >= 0)
			rte = io->redirtbl[index];
		return (uint32_t)((io->ioregsel & 1) ? rte >> 32 : rte);
	}
}

/* ioapic_write_indirect */
static void write_indirect(struct ioapic *io, uint32_t val)
{
	const uint64_t keep = IOAPIC_RTE_REMOTE_IRR | IOAPIC_RTE_DELIVERY_STATUS;
	uint64_t old, e;
	int index;

	switch (io->ioregsel) {
	case IOAPIC_INDEX_VERSION:
	case IOAPIC_INDEX_ARB:
		return; /* read-only */
	case IOAPIC_INDEX_ID:
		io->id = (val >> 24) & 0xf;
		return;
	default:
		break;
	}
	index = redir_index(io->ioregsel);
	if (index < 0)
		return;
	old = io->redirtbl[index];
	if (io->ioregsel & 1)
		e = (old & 0xffffffffull) | ((uint64_t)val << 32);
	else
		e = (old & ~0xffffffffull) | val;
	/* Remote IRR and delivery status are read-only. */
	e = (e & ~keep) | (old & keep);
	/* Software relies on an edge entry dropping remote IRR (it stands
	 * in for the EOI register this version lacks). */
	if (!rte_level(e))
		e &= ~IOAPIC_RTE_REMOTE_IRR;
	io->redirtbl[index] = e;
	/* A level line still asserted is delivered once unmasked. */
	if (rte_level(e) && (io->irr & PIN_BIT(index)))
		service(io, (unsigned)index);
}

bool ioapic_in_range(const struct ioapic *io, uint64_t gpa)
{
	/* Registered window (kvm_io_bus) and the current base (ioapic_in_range). */
	return gpa >= IOAPIC_DEFAULT_BASE && gpa - IOAPIC_DEFAULT_BASE < IOAPIC_MMIO_SIZE &&
	       gpa >= io->base_address && gpa - io->base_address < IOAPIC_MMIO_SIZE;
}

/*
 * The guest-physical address of an access at @offset from base_address, if
 * the access is the IOAPIC's: inside base_address's 0x100 bytes
 * (ioapic_in_range) and wholly inside the window KVM registered at the
 * default base (kvm_io_bus range match).
 */
static bool mmio_ours(const struct ioapic *io, uint64_t offset, unsigned len, uint64_t *gpa)
{
	if (offset >= IOAPIC_MMIO_SIZE)
		return false;
	*gpa = io->base_address + offset;
	if (*gpa < IOAPIC_DEFAULT_BASE || *gpa - IOAPIC_DEFAULT_BASE >= IOAPIC_MMIO_SIZE)
		return false;
	return (uint64_t)len <= IOAPIC_DEFAULT_BASE + IOAPIC_MMIO_SIZE - *gpa;
}

/* ioapic_mmio_read */
int ioapic_mmio_read(struct ioapic *io, uint64_t offset, unsigned len, uint64_t *val)
{
	uint32_t result;
	uint64_t gpa;

	if (!mmio_ours(io, offset, len, &gpa))
		return -1;
	switch (gpa & 0xff) {
	case IOAPIC_REG_SELECT:
		result = io->ioregsel;
		break;
	case IOAPIC_REG_WINDOW:
		result = read_indirect(io);
		break;
	default:
		result = 0;
		break;
	}
	switch (len) {
	case 1:
		*val = result & 0xff;
		break;
	case 2:
		*val = result & 0xffff;
		break;
	case 4:
	case 8:
		*val = result;
		break;
	default:
		*val = 0;
		break;
	}
	return 0;
}

/* ioapic_mmio_write */
int ioapic_mmio_write(struct ioapic *io, uint64_t offset, unsigned len, uint64_t val)
{
	uint32_t data;
	uint64_t gpa;

	if (!mmio_ours(io, offset, len, &gpa))
		return -1;
	switch (len) {
	case 1:
		data = (uint32_t)(val & 0xff);
		break;
	case 2:
		data = (uint32_t)(val & 0xffff);
		break;
	case 4:
	case 8:
		data = (uint32_t)val;
		break;
	default:
		return 0; /* unsupported size: dropped */
	}
	switch (gpa & 0xff) {
	case IOAPIC_REG_SELECT:
		io->ioregsel = data & 0xff;
		break;
	case IOAPIC_REG_WINDOW:
		write_indirect(io, data);
		break;
	default:
		break;
	}
	return 0;
}

/* ---- Life cycle and state ---- */

/* kvm_ioapic_reset */
void ioapic_reset(struct ioapic *io)
{
	unsigned i;

	for (i = 0; i < IOAPIC_NUM_PINS; i++)
		io->redirtbl[i] |= IOAPIC_RTE_MASKED;
	io->base_address = IOAPIC_DEFAULT_BASE;
	io->ioregsel = 0;
	io->irr = 0;
	io->irr_delivered = 0;
	io->id = 0;
	memset(io->irq_eoi, 0, sizeof(io->irq_eoi));
	io->eoi_inject_pending = false;
}

/* kvm_ioapic_init: a zeroed chip, then reset. */
void ioapic_init(struct ioapic *io, const struct ioapic_config *cfg)
{
	memset(io, 0, sizeof(*io));
	if (cfg)
		io->cfg = *cfg;
	ioapic_reset(io);
}

/* kvm_get_ioapic */
void ioapic_get_state(const struct ioapic *io, struct kvm_ioapic_state *s)
{
	unsigned i;

	memset(s, 0, sizeof(*s));
	s->base_address = io->base_address;
	s->ioregsel = io->ioregsel;
	s->id = io->id;
	s->irr = io->irr & ~io->irr_delivered;
	s->pad = io->pad;
	for (i = 0; i < IOAPIC_NUM_PINS; i++)
		s->redirtbl[i].bits = io->redirtbl[i];
}

/* kvm_set_ioapic (with kvm_ioapic_inject_all) */
int ioapic_set_state(struct ioapic *io, const struct kvm_ioapic_state *s)
{
	uint32_t irr = s->irr;
	unsigned i;

	io->base_address = s->base_address;
	io->ioregsel = s->ioregsel;
	io->id = s->id;
	io->pad = s->pad;
	for (i = 0; i < IOAPIC_NUM_PINS; i++)
		io->redirtbl[i] = s->redirtbl[i].bits;
	io->irr = 0;
	io->irr_delivered = 0;
	for (i = 0; i < IOAPIC_NUM_PINS; i++)
		if (irr & PIN_BIT(i))
			set_pin(io, i, true);
	return 0;
}
