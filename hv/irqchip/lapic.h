/* SPDX-License-Identifier: MIT */
/*
 * A per-vCPU local APIC model: pure logic, no hardware access.
 *
 * The registers live in a 1 KiB page laid out as Linux's uapi
 * struct kvm_lapic_state (each 32-bit register at its xAPIC MMIO offset),
 * so KVM_GET/SET_LAPIC can be a copy plus checks. Behaviour follows
 * Linux's arch/x86/kvm/lapic.c (the function each rule follows is named
 * where it is implemented) and the Intel SDM vol. 3A, chapter "Advanced
 * Programmable Interrupt Controller (APIC)".
 *
 * The hypervisor provides, through struct lapic_config:
 *   now()     the guest TSC (ticks); every timer computation uses it;
 *   deliver() every IPI the guest sends through ICR or SELF_IPI, self-IPIs
 *             included: the model never sets its own IRR for an IPI. The
 *             router resolves destinations with lapic_ipi_match() (the
 *             sender matches its own self/all-including-self IPIs) and
 *             hands each target the IPI with lapic_ipi_accept();
 *   eoi()     every EOI that retired a vector, with its trigger mode
 *             (TMR), for the IOAPIC's EOI broadcast.
 * Any of the callbacks may be NULL: no clock reads as 0, IPIs and EOIs are
 * then dropped.
 *
 * Timer: lapic_timer_next() says when the next expiry is due (guest TSC),
 * lapic_timer_tick() fires what is due. The hypervisor programs the VMX
 * preemption timer (or its host tick) from the first and calls the second
 * on each exit or wake-up. A TSC-deadline already in the past when written
 * fires at once.
 *
 * No locking: the caller serialises all calls on one struct lapic.
 */
#ifndef HV_IRQCHIP_LAPIC_H
#define HV_IRQCHIP_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

/* Register offsets in the xAPIC page (x2APIC MSR = 0x800 + offset / 16). */
#define LAPIC_ID       0x020
#define LAPIC_LVR      0x030
#define LAPIC_TASKPRI  0x080
#define LAPIC_ARBPRI   0x090
#define LAPIC_PROCPRI  0x0a0
#define LAPIC_EOI      0x0b0
#define LAPIC_RRR      0x0c0
#define LAPIC_LDR      0x0d0
#define LAPIC_DFR      0x0e0
#define LAPIC_SPIV     0x0f0
#define LAPIC_ISR      0x100
#define LAPIC_TMR      0x180
#define LAPIC_IRR      0x200
#define LAPIC_ESR      0x280
#define LAPIC_LVTCMCI  0x2f0
#define LAPIC_ICR      0x300
#define LAPIC_ICR2     0x310
#define LAPIC_LVTT     0x320
#define LAPIC_LVTTHMR  0x330
#define LAPIC_LVTPC    0x340
#define LAPIC_LVT0     0x350
#define LAPIC_LVT1     0x360
#define LAPIC_LVTERR   0x370
#define LAPIC_TMICT    0x380
#define LAPIC_TMCCT    0x390
#define LAPIC_TDCR     0x3e0
#define LAPIC_SELF_IPI 0x3f0 /* x2APIC only */

#define LAPIC_REGS_SIZE 1024
#define LAPIC_NR_LVT	6

/* Version register at reset: version 0x14, max LVT entry 5. */
#define LAPIC_VERSION 0x00050014u

/* IA32_APIC_BASE (MSR 0x1b) bits. */
#define LAPIC_MSR_APIC_BASE	0x1b
#define LAPIC_BASE_BSP		(1ull << 8)
#define LAPIC_BASE_X2APIC	(1ull << 10)
#define LAPIC_BASE_ENABLE	(1ull << 11)
#define LAPIC_BASE_ADDR_MASK	(~0xfffull)
#define LAPIC_DEFAULT_PHYS_BASE 0xfee00000ull

/* x2APIC MSRs and the TSC-deadline MSR. */
#define LAPIC_MSR_X2APIC_FIRST 0x800
#define LAPIC_MSR_X2APIC_LAST  0x8ff
#define LAPIC_MSR_X2APIC_ICR   0x830
#define LAPIC_MSR_TSC_DEADLINE 0x6e0

/* Bits of LVT entries, SPIV and ICR. */
#define LAPIC_VECTOR_MASK     0xffu
#define LAPIC_MODE_MASK	      0x700u
#define LAPIC_DEST_LOGICAL    0x800u
#define LAPIC_SEND_PENDING    0x1000u
#define LAPIC_INPUT_POLARITY  0x2000u
#define LAPIC_LVT_REMOTE_IRR  0x4000u
#define LAPIC_LVT_LEVEL	      0x8000u
#define LAPIC_ICR_ASSERT      0x4000u
#define LAPIC_ICR_LEVEL	      0x8000u
#define LAPIC_LVT_MASKED      0x10000u
#define LAPIC_TIMER_MODE_MASK 0x60000u
#define LAPIC_TIMER_ONESHOT   0x00000u
#define LAPIC_TIMER_PERIODIC  0x20000u
#define LAPIC_TIMER_TSCDEADLN 0x40000u
#define LAPIC_SHORTHAND_SHIFT 18
#define LAPIC_SPIV_ENABLED    0x100u

/* Delivery modes (ICR and LVT bits 8-10). */
enum lapic_delivery_mode {
	LAPIC_DM_FIXED = 0,
	LAPIC_DM_LOWEST = 1,
	LAPIC_DM_SMI = 2,
	LAPIC_DM_NMI = 4,
	LAPIC_DM_INIT = 5,
	LAPIC_DM_SIPI = 6,
	LAPIC_DM_EXTINT = 7,
};

/* Destination shorthand (ICR bits 18-19). */
enum lapic_shorthand {
	LAPIC_SH_NONE = 0,
	LAPIC_SH_SELF = 1,
	LAPIC_SH_ALL_INCL_SELF = 2,
	LAPIC_SH_ALL_EXCL_SELF = 3,
};

/* One IPI as decoded from ICR (kvm_apic_send_ipi). */
struct lapic_ipi {
	/* Sender's APIC ID: 8-bit xAPIC ID, or the 32-bit x2APIC ID. */
	uint32_t source_id;
	/* ICR2[31:24] from an xAPIC sender, ICR[63:32] from an x2APIC one. */
	uint32_t dest;
	uint8_t vector;
	/* LAPIC_DM_FIXED (lowest priority arrives as fixed), NMI, INIT, SIPI. */
	uint8_t delivery_mode;
	uint8_t shorthand;
	/* The guest asked for lowest priority: the router may pick one. */
	bool lowest_priority;
	bool logical;
	bool assert;	    /* ICR bit 14 */
	bool level_trigger; /* ICR bit 15 */
	bool x2apic;	    /* sender in x2APIC mode: 32-bit destinations */
};

/* What a target must do with an IPI (lapic_ipi_accept). */
enum lapic_event {
	LAPIC_EVENT_NONE = 0, /* refused or ignored */
	LAPIC_EVENT_IRQ,      /* set in IRR: re-evaluate lapic_has_interrupt() */
	LAPIC_EVENT_NMI,
	LAPIC_EVENT_INIT,
	LAPIC_EVENT_SIPI, /* vector in ipi->vector */
};

struct lapic_config {
	uint32_t vcpu_id;
	/* Guest TSC rate and APIC timer input clock, in Hz (0: 1 GHz, as KVM). */
	uint64_t tsc_hz;
	uint64_t bus_hz;
	/* Guest MAXPHYADDR for IA32_APIC_BASE checks; 0 means 52. */
	uint8_t maxphyaddr;
	/* CPUID.1:ECX offers x2APIC / TSC-deadline to the guest. */
	bool x2apic;
	bool tsc_deadline;
	/* KVM_X86_QUIRK_LINT0_REENABLED: the BSP's LVT0 is ExtINT at reset. */
	bool lint0_reenabled;
	uint64_t (*now)(void *ctx);
	void (*deliver)(void *ctx, const struct lapic_ipi *ipi);
	void (*eoi)(void *ctx, uint8_t vector, bool level);
	void *ctx;
};

struct lapic_timer {
	uint32_t mode;	      /* LVTT bits 17-18 as last applied */
	uint32_t divide;      /* 1..128, from TDCR */
	uint64_t period;      /* TMICT in TSC ticks; 0: not counting */
	uint64_t target;      /* next expiry in guest TSC; 0: none */
	uint64_t tscdeadline; /* IA32_TSC_DEADLINE; 0: disarmed */
};

struct lapic {
	uint8_t regs[LAPIC_REGS_SIZE] __attribute__((aligned(16)));
	uint64_t apic_base;
	bool irr_pending; /* IRR may be non-empty (false: it is empty) */
	/*
	 * The model changed ISR, TMR or IRR since the caller last cleared
	 * this: with virtual-interrupt delivery, RVI, SVI and the EOI-exit
	 * bitmap must follow (the CPU keeps them in step with its own changes).
	 */
	bool vectors_changed;
	struct lapic_timer timer;
	struct lapic_config cfg;
};

/*
 * With APIC virtualisation the CPU reads and writes the register page
 * itself (IRR, ISR, PPR, TPR on interrupt delivery and EOI; the value of a
 * virtualised write): the page stays the one copy of the registers.
 *   lapic_highest_irr/isr   RVI and SVI for the VMCS (-1: none);
 *   lapic_eoi_accelerated   an EOI the CPU did (ISR already cleared) that
 *                           exits for its broadcast (kvm_apic_set_eoi_accelerated);
 *   lapic_write_nodecode    a write the CPU stored, for its side effects
 *                           (kvm_apic_write_nodecode).
 */
int lapic_highest_irr(const struct lapic *apic);
int lapic_highest_isr(const struct lapic *apic);
void lapic_eoi_accelerated(struct lapic *apic, uint8_t vector);
void lapic_write_nodecode(struct lapic *apic, uint32_t offset);

/* Set up from @cfg (copied) and do a power-on reset. */
void lapic_init(struct lapic *apic, const struct lapic_config *cfg);
/* RESET (@init_event false: IA32_APIC_BASE too) or INIT (kvm_lapic_reset). */
void lapic_reset(struct lapic *apic, bool init_event);

/* Plain register page access (no side effects). */
uint32_t lapic_get_reg(const struct lapic *apic, uint32_t offset);

/* Modes from IA32_APIC_BASE. */
bool lapic_hw_enabled(const struct lapic *apic);
bool lapic_sw_enabled(const struct lapic *apic);
bool lapic_x2apic_mode(const struct lapic *apic);

/* IA32_APIC_BASE write with KVM's checks (kvm_apic_set_base): 0, or -1 (#GP). */
int lapic_set_base(struct lapic *apic, uint64_t value, bool host_initiated);

/*
 * xAPIC MMIO at @offset in the 4 KiB page. -1 when the page is not the
 * APIC's now (hardware-disabled or x2APIC): the caller treats the access
 * as an ordinary MMIO hole. Otherwise 0: bad sizes, unaligned or reserved
 * registers read 0 and writes to them (or to read-only ones) are dropped.
 */
int lapic_mmio_read(struct lapic *apic, uint32_t offset, uint32_t len, uint32_t *val);
int lapic_mmio_write(struct lapic *apic, uint32_t offset, uint32_t len, uint32_t val);

/* x2APIC MSRs 0x800-0x8ff: 0, or -1 for #GP. */
int lapic_x2apic_msr_read(struct lapic *apic, uint32_t msr, uint64_t *val);
int lapic_x2apic_msr_write(struct lapic *apic, uint32_t msr, uint64_t val);

/* IA32_TSC_DEADLINE (kvm_get/set_lapic_tscdeadline_msr). */
uint64_t lapic_get_tscdeadline(struct lapic *apic);
void lapic_set_tscdeadline(struct lapic *apic, uint64_t deadline);

/* CR8 <-> TPR[7:4] (kvm_lapic_set_tpr, kvm_lapic_get_cr8). */
void lapic_set_cr8(struct lapic *apic, uint64_t cr8);
uint64_t lapic_get_cr8(const struct lapic *apic);

/* Accept a fixed interrupt into IRR (and TMR when @level): true if taken. */
bool lapic_accept_irq(struct lapic *apic, uint8_t vector, bool level);
/* Highest deliverable vector above PPR, or -1 (kvm_apic_has_interrupt). */
int lapic_has_interrupt(struct lapic *apic);
/* Move the deliverable vector IRR -> ISR and return it, or -1. */
int lapic_ack_interrupt(struct lapic *apic);
/* EOI: clear the highest ISR bit; its vector or -1, and its TMR bit. */
int lapic_eoi(struct lapic *apic, bool *level);

/* Does @target take @ipi (kvm_apic_match_dest)? */
bool lapic_ipi_match(const struct lapic *target, const struct lapic_ipi *ipi,
		     bool target_is_source);
/* Hand @ipi to a matching @target (__apic_accept_irq). */
enum lapic_event lapic_ipi_accept(struct lapic *target, const struct lapic_ipi *ipi);

/* KVM_GET_LAPIC / KVM_SET_LAPIC (kvm_apic_get_state, kvm_apic_set_state). */
void lapic_get_state(const struct lapic *apic, uint8_t regs[LAPIC_REGS_SIZE]);
void lapic_set_state(struct lapic *apic, const uint8_t regs[LAPIC_REGS_SIZE]);

/* Guest TSC of the next timer expiry, or UINT64_MAX when none is armed. */
uint64_t lapic_timer_next(const struct lapic *apic, uint64_t now);
/* Fire the timer if it is due at @now; true if it expired. */
bool lapic_timer_tick(struct lapic *apic, uint64_t now);

#endif
