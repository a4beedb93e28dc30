// SPDX-License-Identifier: MIT
/*
 * The local APIC model of lapic.h. Facts from Linux's arch/x86/kvm/lapic.c
 * (each rule names the upstream function it follows) and the Intel SDM
 * vol. 3A; the code is this project's own.
 *
 * Where upstream (Linux 6.1) and the SDM disagree, upstream is followed:
 *   - vectors 0-15 are not illegal: a fixed interrupt with one goes into
 *     IRR (__apic_accept_irq) and a fixed IPI with one is sent
 *     (kvm_apic_send_ipi); such a vector is never above PPR, so it stays
 *     in IRR (apic_has_interrupt_for_ppr);
 *   - ESR is never set: no error is recorded, an ESR write stores nothing
 *     and ESR reads 0 (kvm_lapic_reg_write, APIC_ESR);
 *   - in x2APIC mode only ICR (kvm_x2apic_icr_write), SELF_IPI (bits
 *     31:8) and ESR (any bit) refuse reserved bits with #GP; other
 *     registers drop them as in xAPIC mode (kvm_lapic_reg_write), and
 *     bits 63:32 of any register but ICR are #GP (kvm_lapic_msr_write);
 *   - a TDCR write that changes the divisor restarts the count even
 *     after a one-shot expired: with no time left, it fires again at once
 *     (update_target_expiration, restart_apic_timer, start_sw_period).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "hv/irqchip/lapic.h"

/* Writable bits of each LVT (apic_lvt_mask), the timer's mode bits apart. */
#define LVT_MASK (LAPIC_LVT_MASKED | LAPIC_SEND_PENDING | LAPIC_VECTOR_MASK)
#define LINT_MASK                                                                                  \
	(LVT_MASK | LAPIC_MODE_MASK | LAPIC_INPUT_POLARITY | LAPIC_LVT_REMOTE_IRR | LAPIC_LVT_LEVEL)

static const uint32_t lvt_mask[LAPIC_NR_LVT] = {
    LVT_MASK,			/* timer: mode bits added per vCPU */
    LVT_MASK | LAPIC_MODE_MASK, /* thermal */
    LVT_MASK | LAPIC_MODE_MASK, /* performance counters */
    LINT_MASK,			/* LINT0 */
    LINT_MASK,			/* LINT1 */
    LVT_MASK,			/* error */
};

#define SPIV_MASK	       0x3ffu
#define TDCR_MASK	       0xbu
#define ID_LDR_MASK	       0xff000000u
#define X2APIC_ICR_RESERVED    0xfff32000ull /* bits 31:20, 17:16, 13 */
#define MIN_TIMER_PERIOD_US    200	     /* upstream's min_timer_period_us */
#define DEFAULT_BUS_HZ	       1000000000ull
#define MAX_HZ		       (1ull << 40) /* rates are clamped to 1 THz */
#define X2APIC_BROADCAST       0xffffffffu
#define XAPIC_BROADCAST	       0xffu
#define LVT_INDEX(off)	       (((off)-LAPIC_LVTT) >> 4)
#define LVT_OFFSET(i)	       (LAPIC_LVTT + 0x10 * (uint32_t)(i))
#define VEC_REG(base, v)       ((base) + 0x10 * ((uint32_t)(v) >> 5))
#define VEC_BIT(v)	       (1u << ((v)&31))
#define TIMER_MODE(lvtt)       ((lvtt)&LAPIC_TIMER_MODE_MASK)
#define APIC_BASE_RESERVED_LOW 0x2ffull

uint32_t lapic_get_reg(const struct lapic *apic, uint32_t offset)
{
	uint32_t v;

	memcpy(&v, apic->regs + (offset & 0x3f0), sizeof(v));
	return v;
}

static void set_reg(struct lapic *apic, uint32_t offset, uint32_t v)
{
	memcpy(apic->regs + (offset & 0x3f0), &v, sizeof(v));
	if ((offset & 0x3f0) >= LAPIC_ISR && (offset & 0x3f0) < LAPIC_ESR)
		apic->vectors_changed = true;
}

bool lapic_hw_enabled(const struct lapic *apic)
{
	return apic->apic_base & LAPIC_BASE_ENABLE;
}

bool lapic_sw_enabled(const struct lapic *apic)
{
	return lapic_get_reg(apic, LAPIC_SPIV) & LAPIC_SPIV_ENABLED;
}

bool lapic_x2apic_mode(const struct lapic *apic)
{
	return (apic->apic_base & (LAPIC_BASE_ENABLE | LAPIC_BASE_X2APIC)) ==
	       (LAPIC_BASE_ENABLE | LAPIC_BASE_X2APIC);
}

/* apic_enabled: hardware- and software-enabled. */
static bool apic_enabled(const struct lapic *apic)
{
	return lapic_hw_enabled(apic) && lapic_sw_enabled(apic);
}

static uint64_t clock_now(const struct lapic *apic)
{
	return apic->cfg.now ? apic->cfg.now(apic->cfg.ctx) : 0;
}

/* (a * b) / c without overflow of the product, saturating at UINT64_MAX. */
static uint64_t mul_div(uint64_t a, uint64_t b, uint64_t c)
{
	unsigned __int128 p = (unsigned __int128)a * b;
	uint64_t hi = (uint64_t)(p >> 64), lo = (uint64_t)p, q = 0;
	int i;

	if (!c)
		return UINT64_MAX;
	if (!hi)
		return lo / c;
	if (hi >= c)
		return UINT64_MAX;
	/* Shift-subtract long division: the quotient fits in 64 bits. */
	for (i = 0; i < 64; i++) {
		bool carry = hi >> 63;

		hi = (hi << 1) | (lo >> 63);
		lo <<= 1;
		q <<= 1;
		if (carry || hi >= c) {
			hi -= c;
			q |= 1;
		}
	}
	return q;
}

/* ---- Vectors and priority ---- */

static bool test_vec(const struct lapic *apic, uint32_t base, uint8_t v)
{
	return lapic_get_reg(apic, VEC_REG(base, v)) & VEC_BIT(v);
}

static void set_vec(struct lapic *apic, uint32_t base, uint8_t v)
{
	set_reg(apic, VEC_REG(base, v), lapic_get_reg(apic, VEC_REG(base, v)) | VEC_BIT(v));
	if (base == LAPIC_IRR)
		apic->irr_pending = true;
}

static void clear_vec(struct lapic *apic, uint32_t base, uint8_t v)
{
	set_reg(apic, VEC_REG(base, v), lapic_get_reg(apic, VEC_REG(base, v)) & ~VEC_BIT(v));
}

/* find_highest_vector: the highest bit set in a 256-bit register, or -1. */
static int highest_vec(const struct lapic *apic, uint32_t base)
{
	int i;

	for (i = 7; i >= 0; i--) {
		uint32_t w = lapic_get_reg(apic, base + 0x10 * (uint32_t)i);

		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

/* __apic_update_ppr: PPR is TPR, or ISRV's class when that is higher. */
static uint32_t update_ppr(struct lapic *apic)
{
	int isr = highest_vec(apic, LAPIC_ISR);
	uint32_t isrv = isr < 0 ? 0 : (uint32_t)isr;
	uint32_t tpr = lapic_get_reg(apic, LAPIC_TASKPRI);
	uint32_t ppr = (tpr & 0xf0) >= (isrv & 0xf0) ? tpr & 0xff : isrv & 0xf0;

	set_reg(apic, LAPIC_PROCPRI, ppr);
	return ppr;
}

/* apic_set_tpr */
static void set_tpr(struct lapic *apic, uint32_t tpr)
{
	set_reg(apic, LAPIC_TASKPRI, tpr);
	update_ppr(apic);
}

void lapic_set_cr8(struct lapic *apic, uint64_t cr8)
{
	/* kvm_lapic_set_tpr */
	set_tpr(apic, (uint32_t)(cr8 & 0xf) << 4);
}

uint64_t lapic_get_cr8(const struct lapic *apic)
{
	/* kvm_lapic_get_cr8 */
	return (lapic_get_reg(apic, LAPIC_TASKPRI) & 0xf0) >> 4;
}

/* ---- Local delivery and errors ---- */

static bool accept_fixed(struct lapic *apic, uint8_t vector, bool level);

/* kvm_apic_local_deliver: an unmasked LVT's vector into IRR (fixed mode). */
static bool local_deliver(struct lapic *apic, uint32_t lvt_off)
{
	uint32_t lvt = lapic_get_reg(apic, lvt_off);

	if (!lapic_hw_enabled(apic) || (lvt & LAPIC_LVT_MASKED))
		return false;
	/* Only fixed delivery is modelled for local sources. */
	if (lvt & LAPIC_MODE_MASK)
		return false;
	return accept_fixed(apic, lvt & LAPIC_VECTOR_MASK, lvt & LAPIC_LVT_LEVEL);
}

/*
 * __apic_accept_irq, APIC_DM_FIXED: IRR, and TMR set or cleared by @level.
 * Any vector, 0-15 included (no ESR error).
 */
static bool accept_fixed(struct lapic *apic, uint8_t vector, bool level)
{
	if (!apic_enabled(apic))
		return false;
	if (level)
		set_vec(apic, LAPIC_TMR, vector);
	else
		clear_vec(apic, LAPIC_TMR, vector);
	set_vec(apic, LAPIC_IRR, vector);
	return true;
}

bool lapic_accept_irq(struct lapic *apic, uint8_t vector, bool level)
{
	return accept_fixed(apic, vector, level);
}

/* kvm_apic_has_interrupt, apic_has_interrupt_for_ppr */
int lapic_has_interrupt(struct lapic *apic)
{
	uint32_t ppr;
	int irr;

	/* apic->irr_pending: an empty IRR is not scanned (the entry path's common case). */
	if (!apic->irr_pending || !lapic_hw_enabled(apic))
		return -1;
	irr = highest_vec(apic, LAPIC_IRR);
	if (irr < 0) {
		apic->irr_pending = false;
		return -1;
	}
	ppr = update_ppr(apic);
	if (((uint32_t)irr & 0xf0) <= ppr)
		return -1;
	return irr;
}

/* kvm_get_apic_interrupt: IRR -> ISR, PPR raised. */
int lapic_ack_interrupt(struct lapic *apic)
{
	int v = lapic_has_interrupt(apic);

	if (v < 0)
		return -1;
	clear_vec(apic, LAPIC_IRR, (uint8_t)v);
	set_vec(apic, LAPIC_ISR, (uint8_t)v);
	update_ppr(apic);
	return v;
}

/* apic_set_eoi (and kvm_ioapic_send_eoi's trigger mode from TMR). */
int lapic_eoi(struct lapic *apic, bool *level)
{
	int v = highest_vec(apic, LAPIC_ISR);
	bool lvl;

	if (level)
		*level = false;
	if (v < 0)
		return -1;
	clear_vec(apic, LAPIC_ISR, (uint8_t)v);
	update_ppr(apic);
	lvl = test_vec(apic, LAPIC_TMR, (uint8_t)v);
	if (level)
		*level = lvl;
	if (apic->cfg.eoi)
		apic->cfg.eoi(apic->cfg.ctx, (uint8_t)v, lvl);
	return v;
}

/* ---- APIC virtualisation (the CPU works on this register page) ---- */

int lapic_highest_irr(const struct lapic *apic)
{
	return highest_vec(apic, LAPIC_IRR);
}

int lapic_highest_isr(const struct lapic *apic)
{
	return highest_vec(apic, LAPIC_ISR);
}

/*
 * kvm_apic_set_eoi_accelerated: the CPU already took @vector out of ISR
 * (EOI virtualisation); what is left is the EOI's broadcast, with the
 * trigger mode from TMR as kvm_ioapic_send_eoi takes it.
 */
void lapic_eoi_accelerated(struct lapic *apic, uint8_t vector)
{
	update_ppr(apic);
	if (apic->cfg.eoi)
		apic->cfg.eoi(apic->cfg.ctx, vector, test_vec(apic, LAPIC_TMR, vector));
}

/* ---- IPIs ---- */

static uint32_t apic_id(const struct lapic *apic)
{
	uint32_t id = lapic_get_reg(apic, LAPIC_ID);

	return lapic_x2apic_mode(apic) ? id : id >> 24;
}

/* kvm_apic_send_ipi: decode ICR and hand the IPI to the router. */
static void send_ipi(struct lapic *apic, uint32_t icr_low, uint32_t icr_high)
{
	struct lapic_ipi ipi;
	uint8_t mode = (icr_low & LAPIC_MODE_MASK) >> 8;

	memset(&ipi, 0, sizeof(ipi));
	ipi.source_id = apic_id(apic);
	ipi.x2apic = lapic_x2apic_mode(apic);
	ipi.dest = ipi.x2apic ? icr_high : icr_high >> 24;
	ipi.vector = icr_low & LAPIC_VECTOR_MASK;
	ipi.shorthand = (icr_low >> LAPIC_SHORTHAND_SHIFT) & 3;
	ipi.logical = icr_low & LAPIC_DEST_LOGICAL;
	ipi.assert = icr_low & LAPIC_ICR_ASSERT;
	ipi.level_trigger = icr_low & LAPIC_ICR_LEVEL;

	switch (mode) {
	case LAPIC_DM_LOWEST:
		ipi.lowest_priority = true;
		mode = LAPIC_DM_FIXED;
		/* fallthrough */
	case LAPIC_DM_FIXED: /* any vector, 0-15 included */
	case LAPIC_DM_NMI:
	case LAPIC_DM_INIT:
	case LAPIC_DM_SIPI:
		break;
	default:
		/* SMI (no SMM), remote read, ExtINT and reserved: dropped. */
		return;
	}
	ipi.delivery_mode = mode;
	if (apic->cfg.deliver)
		apic->cfg.deliver(apic->cfg.ctx, &ipi);
}

/* kvm_apic_match_physical_addr */
static bool match_physical(const struct lapic *t, const struct lapic_ipi *ipi)
{
	if (lapic_x2apic_mode(t))
		return ipi->dest == X2APIC_BROADCAST || ipi->dest == apic_id(t);
	if (ipi->dest == (ipi->x2apic ? X2APIC_BROADCAST : XAPIC_BROADCAST))
		return true;
	return ipi->dest == apic_id(t);
}

/* kvm_apic_match_logical_addr */
static bool match_logical(const struct lapic *t, const struct lapic_ipi *ipi)
{
	uint32_t ldr = lapic_get_reg(t, LAPIC_LDR);
	uint32_t mda = ipi->dest, id;

	if (lapic_x2apic_mode(t)) {
		if (mda == X2APIC_BROADCAST)
			return true;
		return (ldr >> 16) == (mda >> 16) && (ldr & mda & 0xffff);
	}
	if (mda == XAPIC_BROADCAST || mda == X2APIC_BROADCAST)
		return true;
	if (mda > 0xff)
		return false;
	id = ldr >> 24;
	switch (lapic_get_reg(t, LAPIC_DFR)) {
	case 0xffffffffu: /* flat */
		return id & mda;
	case 0x0fffffffu: /* cluster */
		return (id >> 4) == (mda >> 4) && (id & mda & 0xf);
	default:
		return false;
	}
}

/* kvm_apic_match_dest */
bool lapic_ipi_match(const struct lapic *target, const struct lapic_ipi *ipi, bool target_is_source)
{
	if (!lapic_hw_enabled(target))
		return false;
	switch (ipi->shorthand) {
	case LAPIC_SH_NONE:
		return ipi->logical ? match_logical(target, ipi) : match_physical(target, ipi);
	case LAPIC_SH_SELF:
		return target_is_source;
	case LAPIC_SH_ALL_INCL_SELF:
		return true;
	default:
		return !target_is_source;
	}
}

/* __apic_accept_irq */
enum lapic_event lapic_ipi_accept(struct lapic *target, const struct lapic_ipi *ipi)
{
	switch (ipi->delivery_mode) {
	case LAPIC_DM_FIXED:
	case LAPIC_DM_LOWEST:
		/* A level-triggered de-assert carries no interrupt. */
		if (ipi->level_trigger && !ipi->assert)
			return LAPIC_EVENT_NONE;
		return accept_fixed(target, ipi->vector, ipi->level_trigger) ? LAPIC_EVENT_IRQ
									     : LAPIC_EVENT_NONE;
	case LAPIC_DM_NMI:
		return LAPIC_EVENT_NMI;
	case LAPIC_DM_INIT:
		/* INIT level de-assert is ignored. */
		if (!ipi->level_trigger || ipi->assert)
			return LAPIC_EVENT_INIT;
		return LAPIC_EVENT_NONE;
	case LAPIC_DM_SIPI:
		return LAPIC_EVENT_SIPI;
	default:
		return LAPIC_EVENT_NONE;
	}
}

/* ---- Timer ---- */

static bool lvtt_tscdeadline(const struct lapic *apic)
{
	return apic->timer.mode == LAPIC_TIMER_TSCDEADLN;
}

static bool lvtt_periodic(const struct lapic *apic)
{
	return apic->timer.mode == LAPIC_TIMER_PERIODIC;
}

static bool lvtt_oneshot(const struct lapic *apic)
{
	return apic->timer.mode == LAPIC_TIMER_ONESHOT;
}

static uint64_t clamp_hz(uint64_t hz)
{
	if (!hz)
		return DEFAULT_BUS_HZ;
	return hz > MAX_HZ ? MAX_HZ : hz;
}

static uint64_t tsc_hz(const struct lapic *apic)
{
	return clamp_hz(apic->cfg.tsc_hz);
}

static uint64_t bus_hz(const struct lapic *apic)
{
	return clamp_hz(apic->cfg.bus_hz);
}

/* update_divide_count: TDCR bits 0, 1, 3 encode 2, 4, ... 128, then 1. */
static void update_divide(struct lapic *apic)
{
	uint32_t tdcr = lapic_get_reg(apic, LAPIC_TDCR);
	uint32_t code = ((tdcr & 3) | ((tdcr & 8) >> 1)) + 1;

	apic->timer.divide = 1u << (code & 7);
}

/* tmict_to_ns, in TSC ticks: TMICT * divide bus cycles. */
static uint64_t count_to_tsc(const struct lapic *apic, uint64_t count)
{
	return mul_div(count * apic->timer.divide, tsc_hz(apic), bus_hz(apic));
}

/* limit_periodic_timer_frequency: no periodic timer below 200 us. */
static void limit_period(struct lapic *apic)
{
	uint64_t min = mul_div(MIN_TIMER_PERIOD_US, tsc_hz(apic), 1000000);

	if (lvtt_periodic(apic) && apic->timer.period && apic->timer.period < min)
		apic->timer.period = min;
}

/* cancel_apic_timer */
static void cancel_timer(struct lapic *apic)
{
	apic->timer.target = 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* start_apic_timer / set_target_expiration, for one-shot and periodic. */
static void start_timer(struct lapic *apic)
{
	apic->timer.period = count_to_tsc(apic, lapic_get_reg(apic, LAPIC_TMICT));
	if (!apic->timer.period || !(lvtt_oneshot(apic) || lvtt_periodic(apic))) {
		apic->timer.period = 0;
		cancel_timer(apic);
		return;
	}
	limit_period(apic);
	apic->timer.target = add_sat(clock_now(apic), apic->timer.period);
}

/* apic_update_lvtt: leaving or entering TSC-deadline mode stops the timer. */
static void update_lvtt(struct lapic *apic)
{
	uint32_t mode = TIMER_MODE(lapic_get_reg(apic, LAPIC_LVTT));

	if (mode == apic->timer.mode)
		return;
	if (lvtt_tscdeadline(apic) != (mode == LAPIC_TIMER_TSCDEADLN)) {
		cancel_timer(apic);
		set_reg(apic, LAPIC_TMICT, 0);
		apic->timer.period = 0;
		apic->timer.tscdeadline = 0;
	}
	apic->timer.mode = mode;
	limit_period(apic);
}

/*
 * apic_timer_expired, kvm_apic_inject_pending_timer_irqs and
 * advance_periodic_target_expiration, for a timer due at its target: the
 * LVT vector goes into IRR unless masked; periodic reloads (once, however
 * late), one-shot and TSC-deadline stop.
 */
static void timer_expire(struct lapic *apic, uint64_t now)
{
	struct lapic_timer *t = &apic->timer;

	local_deliver(apic, LAPIC_LVTT);
	if (lvtt_periodic(apic) && t->period) {
		uint64_t late = (now - t->target) / t->period + 1;

		if (late > (UINT64_MAX - t->target) / t->period)
			t->target = UINT64_MAX;
		else
			t->target += late * t->period;
	} else {
		t->target = 0;
		if (lvtt_tscdeadline(apic))
			t->tscdeadline = 0;
	}
}

/*
 * APIC_TDCR write that changes the divisor of a started count
 * (period != 0): update_target_expiration scales the time left, none if
 * the target passed or a one-shot already fired (its target is cleared);
 * restart_apic_timer then re-arms it, and start_sw_period fires at once
 * what has no time left, an expired one-shot included.
 */
static void change_divide(struct lapic *apic, uint32_t old_divide)
{
	uint64_t now = clock_now(apic), remaining = 0;

	apic->timer.period = count_to_tsc(apic, lapic_get_reg(apic, LAPIC_TMICT));
	limit_period(apic);
	if (apic->timer.target > now)
		remaining = mul_div(apic->timer.target - now, apic->timer.divide, old_divide);
	if (!apic->timer.period)
		return;
	if (remaining) {
		apic->timer.target = add_sat(now, remaining);
		return;
	}
	apic->timer.target = now;
	timer_expire(apic, now);
}

/* apic_get_tmcct: the count left, from the time left until the target. */
static uint32_t timer_tmcct(const struct lapic *apic)
{
	uint32_t tmict = lapic_get_reg(apic, LAPIC_TMICT);
	uint64_t now, remaining, count;

	if (!tmict || !apic->timer.period || !apic->timer.target)
		return 0;
	now = clock_now(apic);
	if (now < apic->timer.target)
		remaining = apic->timer.target - now;
	else if (lvtt_periodic(apic))
		/* Expired but not yet ticked: the reloaded count runs on. */
		remaining = apic->timer.period - (now - apic->timer.target) % apic->timer.period;
	else
		return 0;
	if (remaining > apic->timer.period)
		remaining = apic->timer.period;
	count = mul_div(remaining, bus_hz(apic), tsc_hz(apic) * apic->timer.divide);
	return count > tmict ? tmict : (uint32_t)count;
}

uint64_t lapic_timer_next(const struct lapic *apic, uint64_t now)
{
	(void)now;
	return apic->timer.target ? apic->timer.target : UINT64_MAX;
}

/* The timer's expiry when due (timer_expire). */
bool lapic_timer_tick(struct lapic *apic, uint64_t now)
{
	if (!apic->timer.target || now < apic->timer.target)
		return false;
	timer_expire(apic, now);
	return true;
}

/* kvm_get_lapic_tscdeadline_msr */
uint64_t lapic_get_tscdeadline(struct lapic *apic)
{
	if (!lapic_hw_enabled(apic) || !lvtt_tscdeadline(apic))
		return 0;
	return apic->timer.tscdeadline;
}

/* kvm_set_lapic_tscdeadline_msr, start_sw_tscdeadline: past fires now. */
void lapic_set_tscdeadline(struct lapic *apic, uint64_t deadline)
{
	if (!lapic_hw_enabled(apic) || !lvtt_tscdeadline(apic))
		return;
	apic->timer.tscdeadline = deadline;
	apic->timer.target = deadline;
	if (deadline)
		lapic_timer_tick(apic, clock_now(apic));
}

/* ---- Registers ---- */

static bool is_lvt(uint32_t off)
{
	return off >= LAPIC_LVTT && off <= LAPIC_LVTERR;
}

/* kvm_lapic_reg_read's valid_reg_mask */
static bool reg_readable(const struct lapic *apic, uint32_t off)
{
	if (off > 0x3f0 || (off & 0xf))
		return false;
	if (off >= LAPIC_ISR && off < LAPIC_ESR)
		return true; /* ISR, TMR, IRR */
	if (is_lvt(off))
		return true;
	switch (off) {
	case LAPIC_ID:
	case LAPIC_LVR:
	case LAPIC_TASKPRI:
	case LAPIC_PROCPRI:
	case LAPIC_LDR:
	case LAPIC_SPIV:
	case LAPIC_ESR:
	case LAPIC_ICR:
	case LAPIC_TMICT:
	case LAPIC_TMCCT:
	case LAPIC_TDCR:
		return true;
	case LAPIC_ARBPRI:
	case LAPIC_DFR:
	case LAPIC_ICR2:
		return !lapic_x2apic_mode(apic);
	default:
		return false;
	}
}

/* __apic_read: registers computed on read. */
static int reg_read(struct lapic *apic, uint32_t off, uint32_t *val)
{
	if (!reg_readable(apic, off))
		return -1;
	switch (off) {
	case LAPIC_ARBPRI:
		*val = 0;
		break;
	case LAPIC_TMCCT:
		*val = lvtt_tscdeadline(apic) ? 0 : timer_tmcct(apic);
		break;
	case LAPIC_PROCPRI:
		*val = update_ppr(apic);
		break;
	default:
		*val = lapic_get_reg(apic, off);
		break;
	}
	return 0;
}

/* APIC_SPIV write (apic_set_spiv): disabling masks every LVT. */
static void write_spiv(struct lapic *apic, uint32_t val)
{
	int i;

	set_reg(apic, LAPIC_SPIV, val & SPIV_MASK);
	if (val & LAPIC_SPIV_ENABLED)
		return;
	for (i = 0; i < LAPIC_NR_LVT; i++)
		set_reg(apic, LVT_OFFSET(i), lapic_get_reg(apic, LVT_OFFSET(i)) | LAPIC_LVT_MASKED);
	update_lvtt(apic);
}

/* kvm_lapic_reg_write: 0, or -1 when the write is refused. */
static int reg_write(struct lapic *apic, uint32_t off, uint32_t val)
{
	bool x2 = lapic_x2apic_mode(apic);

	/* Reserved bits are dropped, but for ESR and SELF_IPI (below). */
	if (is_lvt(off)) {
		uint32_t m = lvt_mask[LVT_INDEX(off)];

		if (!lapic_sw_enabled(apic))
			val |= LAPIC_LVT_MASKED;
		if (off == LAPIC_LVTT)
			m |= apic->cfg.tsc_deadline ? LAPIC_TIMER_MODE_MASK : LAPIC_TIMER_PERIODIC;
		set_reg(apic, off, val & m);
		if (off == LAPIC_LVTT)
			update_lvtt(apic);
		return 0;
	}
	switch (off) {
	case LAPIC_ID:
		if (x2)
			return -1;
		set_reg(apic, LAPIC_ID, val & ID_LDR_MASK);
		return 0;
	case LAPIC_TASKPRI:
		set_tpr(apic, val & 0xff);
		return 0;
	case LAPIC_EOI:
		lapic_eoi(apic, 0);
		return 0;
	case LAPIC_LDR:
		if (x2)
			return -1;
		set_reg(apic, LAPIC_LDR, val & ID_LDR_MASK);
		return 0;
	case LAPIC_DFR:
		if (x2)
			return -1;
		set_reg(apic, LAPIC_DFR, val | 0x0fffffffu);
		return 0;
	case LAPIC_SPIV:
		write_spiv(apic, val);
		return 0;
	case LAPIC_ESR:
		/* Nothing is stored; x2APIC refuses a non-zero value. */
		return x2 && val ? -1 : 0;
	case LAPIC_ICR:
		if (x2)
			return -1; /* the 64-bit MSR path handles it */
		val &= ~LAPIC_SEND_PENDING;
		set_reg(apic, LAPIC_ICR, val);
		send_ipi(apic, val, lapic_get_reg(apic, LAPIC_ICR2));
		return 0;
	case LAPIC_ICR2:
		if (x2)
			return -1;
		set_reg(apic, LAPIC_ICR2, val & ID_LDR_MASK);
		return 0;
	case LAPIC_TMICT:
		if (lvtt_tscdeadline(apic))
			return 0;
		cancel_timer(apic);
		set_reg(apic, LAPIC_TMICT, val);
		start_timer(apic);
		return 0;
	case LAPIC_TDCR: {
		uint32_t old = apic->timer.divide;

		set_reg(apic, LAPIC_TDCR, val & TDCR_MASK);
		update_divide(apic);
		if (apic->timer.divide != old && apic->timer.period)
			change_divide(apic, old);
		return 0;
	}
	case LAPIC_SELF_IPI:
		/* x2APIC only; bits 31:8 are reserved. */
		if (!x2 || (val & ~LAPIC_VECTOR_MASK))
			return -1;
		send_ipi(apic, (LAPIC_SH_SELF << LAPIC_SHORTHAND_SHIFT) | val, 0);
		return 0;
	default:
		return -1;
	}
}

/* apic_mmio_read: up to 4 bytes inside one 16-byte aligned register. */
int lapic_mmio_read(struct lapic *apic, uint32_t offset, uint32_t len, uint32_t *val)
{
	uint32_t align = offset & 0xf, reg;

	*val = 0;
	if (!lapic_hw_enabled(apic) || lapic_x2apic_mode(apic))
		return -1;
	if (offset >= 0x1000 || len == 0 || len > 4 || align + len > 4)
		return 0;
	if (reg_read(apic, offset & ~0xfu, &reg))
		return 0;
	reg >>= 8 * align;
	*val = len == 4 ? reg : reg & ((1u << (8 * len)) - 1);
	return 0;
}

/* apic_mmio_write: only aligned 32-bit stores reach a register. */
/*
 * kvm_apic_write_nodecode: the CPU stored a 32-bit write at @offset in the
 * page (APIC-register virtualisation) and left its effects to us.
 */
void lapic_write_nodecode(struct lapic *apic, uint32_t offset)
{
	offset &= 0xff0;
	reg_write(apic, offset, lapic_get_reg(apic, offset));
	/* A write to ESR stores nothing (reg_write): the CPU's copy goes too. */
	if (offset == LAPIC_ESR)
		set_reg(apic, LAPIC_ESR, 0);
}

int lapic_mmio_write(struct lapic *apic, uint32_t offset, uint32_t len, uint32_t val)
{
	if (!lapic_hw_enabled(apic) || lapic_x2apic_mode(apic))
		return -1;
	if (offset >= 0x1000 || len != 4 || (offset & 0xf))
		return 0;
	if (offset == LAPIC_SELF_IPI)
		return 0; /* xAPIC has no SELF_IPI */
	reg_write(apic, offset, val);
	return 0;
}

/* kvm_x2apic_msr_read, kvm_lapic_msr_read */
int lapic_x2apic_msr_read(struct lapic *apic, uint32_t msr, uint64_t *val)
{
	uint32_t off = (msr - LAPIC_MSR_X2APIC_FIRST) << 4, low;

	*val = 0;
	if (!lapic_x2apic_mode(apic) || msr < LAPIC_MSR_X2APIC_FIRST || msr > LAPIC_MSR_X2APIC_LAST)
		return -1;
	if (off == LAPIC_ICR) {
		*val = (uint64_t)lapic_get_reg(apic, LAPIC_ICR2) << 32 |
		       lapic_get_reg(apic, LAPIC_ICR);
		return 0;
	}
	if (reg_read(apic, off, &low))
		return -1;
	*val = low;
	return 0;
}

/* kvm_x2apic_msr_write, kvm_lapic_msr_write, kvm_x2apic_icr_write */
int lapic_x2apic_msr_write(struct lapic *apic, uint32_t msr, uint64_t val)
{
	uint32_t off = (msr - LAPIC_MSR_X2APIC_FIRST) << 4;

	if (!lapic_x2apic_mode(apic) || msr < LAPIC_MSR_X2APIC_FIRST || msr > LAPIC_MSR_X2APIC_LAST)
		return -1;
	if (off == LAPIC_ICR) {
		if (val & X2APIC_ICR_RESERVED)
			return -1;
		val &= ~(uint64_t)LAPIC_SEND_PENDING;
		/* Kept in the uapi layout: ICR low at 0x300, high at 0x310. */
		set_reg(apic, LAPIC_ICR, (uint32_t)val);
		set_reg(apic, LAPIC_ICR2, (uint32_t)(val >> 32));
		send_ipi(apic, (uint32_t)val, (uint32_t)(val >> 32));
		return 0;
	}
	if (val >> 32)
		return -1;
	return reg_write(apic, off, (uint32_t)val);
}

/* ---- IA32_APIC_BASE and reset ---- */

/* kvm_apic_set_xapic_id / kvm_apic_set_x2apic_id (with its derived LDR) */
static void set_xapic_id(struct lapic *apic)
{
	set_reg(apic, LAPIC_ID, (apic->cfg.vcpu_id & 0xff) << 24);
}

static void set_x2apic_id(struct lapic *apic)
{
	uint32_t id = apic->cfg.vcpu_id;

	set_reg(apic, LAPIC_ID, id);
	set_reg(apic, LAPIC_LDR, ((id >> 4) << 16) | (1u << (id & 0xf)));
}

/* __kvm_apic_set_base */
static void apply_base(struct lapic *apic, uint64_t value)
{
	uint64_t old = apic->apic_base;

	apic->apic_base = value;
	if (((old ^ value) & LAPIC_BASE_ENABLE) && (value & LAPIC_BASE_ENABLE))
		set_xapic_id(apic);
	if ((old ^ value) & LAPIC_BASE_X2APIC) {
		if (value & LAPIC_BASE_X2APIC)
			set_x2apic_id(apic);
		else if (value & LAPIC_BASE_ENABLE)
			set_xapic_id(apic);
	}
}

/* kvm_apic_set_base: reserved bits, the invalid mode, forbidden moves. */
int lapic_set_base(struct lapic *apic, uint64_t value, bool host_initiated)
{
	uint8_t maxphy = apic->cfg.maxphyaddr ? apic->cfg.maxphyaddr : 52;
	uint64_t reserved = APIC_BASE_RESERVED_LOW;
	uint64_t both = LAPIC_BASE_ENABLE | LAPIC_BASE_X2APIC;
	uint64_t old_mode = apic->apic_base & both, new_mode = value & both;

	if (value == apic->apic_base)
		return 0;
	if (maxphy < 64)
		reserved |= ~0ull << maxphy;
	if (!apic->cfg.x2apic)
		reserved |= LAPIC_BASE_X2APIC;
	if ((value & reserved) || new_mode == LAPIC_BASE_X2APIC)
		return -1;
	if (!host_initiated) {
		if (old_mode == both && new_mode == LAPIC_BASE_ENABLE)
			return -1;
		if (old_mode == 0 && new_mode == both)
			return -1;
	}
	apply_base(apic, value);
	return 0;
}

void lapic_reset(struct lapic *apic, bool init_event)
{
	int i;

	if (!init_event) {
		uint64_t base = LAPIC_DEFAULT_PHYS_BASE | LAPIC_BASE_ENABLE;

		if (apic->cfg.vcpu_id == 0)
			base |= LAPIC_BASE_BSP;
		apply_base(apic, base);
		/* The xAPIC ID is set at RESET even if the APIC was enabled. */
		set_xapic_id(apic);
	}
	memset(&apic->timer, 0, sizeof(apic->timer));
	set_reg(apic, LAPIC_LVR, LAPIC_VERSION);
	for (i = 0; i < LAPIC_NR_LVT; i++)
		set_reg(apic, LVT_OFFSET(i), LAPIC_LVT_MASKED);
	if (apic->cfg.lint0_reenabled && apic->cfg.vcpu_id == 0)
		set_reg(apic, LAPIC_LVT0, LAPIC_DM_EXTINT << 8);
	set_reg(apic, LAPIC_DFR, 0xffffffffu);
	set_reg(apic, LAPIC_SPIV, 0xff);
	set_reg(apic, LAPIC_TASKPRI, 0);
	if (!lapic_x2apic_mode(apic))
		set_reg(apic, LAPIC_LDR, 0);
	set_reg(apic, LAPIC_ESR, 0);
	set_reg(apic, LAPIC_ICR, 0);
	set_reg(apic, LAPIC_ICR2, 0);
	set_reg(apic, LAPIC_TDCR, 0);
	set_reg(apic, LAPIC_TMICT, 0);
	for (i = 0; i < 8; i++) {
		set_reg(apic, LAPIC_IRR + 0x10 * (uint32_t)i, 0);
		set_reg(apic, LAPIC_ISR + 0x10 * (uint32_t)i, 0);
		set_reg(apic, LAPIC_TMR + 0x10 * (uint32_t)i, 0);
	}
	update_divide(apic);
	apic->timer.mode = TIMER_MODE(lapic_get_reg(apic, LAPIC_LVTT));
	update_ppr(apic);
}

/*
 * kvm_apic_get_state with kvm_apic_state_fixup (no KVM_CAP_X2APIC_API): the
 * page as it is, TMCCT as the guest would read it now, and in x2APIC mode
 * the ID in the legacy place (bits 31:24).
 */
void lapic_get_state(const struct lapic *apic, uint8_t regs[LAPIC_REGS_SIZE])
{
	uint32_t v;

	memcpy(regs, apic->regs, LAPIC_REGS_SIZE);
	v = lvtt_tscdeadline(apic) ? 0 : timer_tmcct(apic);
	memcpy(regs + LAPIC_TMCCT, &v, 4);
	if (lapic_x2apic_mode(apic)) {
		memcpy(&v, regs + LAPIC_ID, 4);
		v <<= 24;
		memcpy(regs + LAPIC_ID, &v, 4);
	}
}

/*
 * kvm_apic_set_state: IA32_APIC_BASE stays, the page is taken whole (in
 * x2APIC mode the ID from bits 31:24 and the LDR derived from it), then
 * everything derived from the registers is computed again: PPR, the timer mode and divisor, and the
 * timer restarted from TMICT.
 */
void lapic_set_state(struct lapic *apic, const uint8_t regs[LAPIC_REGS_SIZE])
{
	memcpy(apic->regs, regs, LAPIC_REGS_SIZE);
	apic->vectors_changed = true;
	/* kvm_apic_set_version: no directed EOI with an in-kernel IOAPIC. */
	set_reg(apic, LAPIC_LVR, LAPIC_VERSION);
	apic->irr_pending = true; /* rescanned at the next lapic_has_interrupt() */
	if (lapic_x2apic_mode(apic)) {
		uint32_t id = lapic_get_reg(apic, LAPIC_ID) >> 24;

		set_reg(apic, LAPIC_ID, id);
		set_reg(apic, LAPIC_LDR, ((id >> 4) << 16) | (1u << (id & 0xf)));
	}
	memset(&apic->timer, 0, sizeof(apic->timer));
	update_divide(apic);
	apic->timer.mode = TIMER_MODE(lapic_get_reg(apic, LAPIC_LVTT));
	start_timer(apic);
	update_ppr(apic);
}

/* kvm_create_lapic + kvm_lapic_reset(RESET) */
void lapic_init(struct lapic *apic, const struct lapic_config *cfg)
{
	memset(apic, 0, sizeof(*apic));
	apic->cfg = *cfg;
	lapic_reset(apic, false);
}
