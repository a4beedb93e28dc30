// SPDX-License-Identifier: MIT
/*
 * Exit round trips measured with RDTSC: for each operation, ROUNDS samples
 * after WARMUP runs; the minimum, the median and the minimum's ratio to the
 * VMCALL HC_NOP floor (x100, integer arithmetic). One line each:
 *   bench: <name> <min cycles>
 *   bench: <name> median <cycles>
 *   bench: <name> ratio <x.yy>
 * The times include the RDTSC pair itself ("bench: empty" measures it).
 *
 * With an irqchip (module option irqchip=1) two interrupt paths follow, as
 * a ratio to the CPUID exit too ("bench: <name> per_cpuid <x.yy>"):
 *   self_ipi      ICR write (a self-IPI by xAPIC MMIO) until the handler
 *                 has run and written EOI (two MMIO exits and an injection);
 *   lapic_timer   TMICT write of a one-shot count of 1 until the handler's
 *                 first instruction (the timer's expiry on the preemption
 *                 timer, and the injection).
 */
#include "guest.h"

#define WARMUP		20
#define ROUNDS		200
#define PORT_UNASSIGNED 0x510
#define MMIO_HOLE	0xfeb00000u

/* The xAPIC page and the registers used (SDM vol. 3A, table 11-1). */
#define LAPIC	     0xfee00000u
#define APIC_LVR     0x030u
#define APIC_EOI     0x0b0u
#define APIC_SPIV    0x0f0u
#define APIC_ICR     0x300u
#define APIC_LVTT    0x320u
#define APIC_TMICT   0x380u
#define APIC_TDCR    0x3e0u
#define ICR_SELF     (1u << 18)
#define ICR_ASSERT   (1u << 14)
#define BENCH_VECTOR 0x40u
#define APIC_VERSION 0x00050014u /* KVM's LAPIC version register */

struct result {
	const char *name;
	uint64_t min, median;
};

static uint64_t samples[ROUNDS];
static bool use_lfence;
static unsigned bad_results;

static inline uint64_t tsc(void)
{
	if (use_lfence)
		asm volatile("lfence" ::: "memory");
	return rdtsc();
}

static void sort(uint64_t *a, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		uint64_t v = a[i];
		unsigned j = i;

		for (; j > 0 && a[j - 1] > v; j--)
			a[j] = a[j - 1];
		a[j] = v;
	}
}

static void summarize(struct result *r, const char *name)
{
	sort(samples, ROUNDS);
	r->name = name;
	r->min = samples[0];
	r->median = samples[ROUNDS / 2];
	printf("bench: %s %llu\n", name, r->min);
	printf("bench: %s median %llu\n", name, r->median);
}

#define MEASURE(res, name, stmt)                                                                   \
	do {                                                                                       \
		for (unsigned i_ = 0; i_ < WARMUP + ROUNDS; i_++) {                                \
			uint64_t t0_ = tsc();                                                      \
			stmt;                                                                      \
			uint64_t t1_ = tsc();                                                      \
			if (i_ >= WARMUP)                                                          \
				samples[i_ - WARMUP] = t1_ - t0_;                                  \
		}                                                                                  \
		summarize(res, name);                                                              \
	} while (0)

static void nop_probe(void *arg)
{
	*(long *)arg = vmcall(HC_NOP);
}

static void print_ratio_as(const struct result *r, const struct result *floor, const char *what)
{
	uint32_t rem;
	uint64_t x100;

	if (!floor->min)
		return;
	x100 = div_u64_rem(r->min * 100 + floor->min / 2, (uint32_t)floor->min, NULL);
	x100 = div_u64_rem(x100, 100, &rem);
	printf("bench: %s %s %llu.%02u\n", r->name, what, x100, rem);
}

static void print_ratio(const struct result *r, const struct result *floor)
{
	print_ratio_as(r, floor, "ratio");
}

/* ---- interrupt paths (with an irqchip) ---- */

static volatile uint64_t irq_tsc;
static volatile unsigned irq_count;

static void bench_irq(uint32_t vec)
{
	irq_tsc = tsc();
	if (vec == BENCH_VECTOR)
		irq_count++;
	mmio_write32(LAPIC + APIC_EOI, 0);
}

static void wait_irq(unsigned before)
{
	while (irq_count == before)
		asm volatile("pause" ::: "memory");
}

static void self_ipi_once(void)
{
	unsigned before = irq_count;

	mmio_write32(LAPIC + APIC_ICR, ICR_SELF | ICR_ASSERT | BENCH_VECTOR);
	wait_irq(before);
}

/* Measured to the handler's first RDTSC, not to the end of the loop. */
static void measure_timer(struct result *r)
{
	for (unsigned i = 0; i < WARMUP + ROUNDS; i++) {
		unsigned before = irq_count;
		uint64_t t0 = tsc();

		mmio_write32(LAPIC + APIC_TMICT, 1);
		wait_irq(before);
		if (i >= WARMUP)
			samples[i - WARMUP] = irq_tsc - t0;
	}
	summarize(r, "lapic_timer");
}

/* Returns whether the irqchip is there (its APIC answers with KVM's version). */
static bool interrupt_paths(const struct result *cpuid_res)
{
	struct result ipi, timer;

	if (mmio_read32(LAPIC + APIC_LVR) != APIC_VERSION)
		return false;
	intr_install(bench_irq);
	mmio_write32(LAPIC + APIC_SPIV, 0x1ff);	       /* software-enabled, spurious 0xff */
	mmio_write32(LAPIC + APIC_TDCR, 0xb);	       /* divide by 1 */
	mmio_write32(LAPIC + APIC_LVTT, BENCH_VECTOR); /* one-shot, unmasked */
	asm volatile("sti" ::: "memory");
	MEASURE(&ipi, "self_ipi", self_ipi_once());
	measure_timer(&timer);
	asm volatile("cli" ::: "memory");
	print_ratio_as(&ipi, cpuid_res, "per_cpuid");
	print_ratio_as(&timer, cpuid_res, "per_cpuid");
	reportf("bench interrupts counted", irq_count == 2 * (WARMUP + ROUNDS),
		"%u interrupts for %u sent", irq_count, 2 * (WARMUP + ROUNDS));
	return true;
}

void guest_main(void)
{
	struct result empty, res[5], *floor = &res[1];
	unsigned n = 0;
	long probe = -1;
	bool have_vmcall;

	use_lfence = cpuid(1, 0).edx & CPUID1_EDX_SSE2;
	have_vmcall = catch_exception(nop_probe, &probe) == NO_EXCEPTION;
	reportf("bench vmcall nop available", have_vmcall && probe == 0,
		have_vmcall ? "HC_NOP returned %ld" : "VMCALL raised vector %ld",
		have_vmcall ? probe : (long)last_trap.vector);

	MEASURE(&empty, "empty", asm volatile("" ::: "memory"));
	MEASURE(&res[n++], "cpuid", cpuid(0, 0));
	if (have_vmcall) {
		MEASURE(&res[n++], "vmcall_nop", bad_results += vmcall(HC_NOP) != 0);
	} else {
		res[n++] = (struct result){"vmcall_nop", 0, 0};
	}
	MEASURE(&res[n++], "pio_out", outb(PORT_UNASSIGNED, 0));
	MEASURE(&res[n++], "rdmsr", rdmsr(MSR_IA32_SYSENTER_CS));
	MEASURE(&res[n++], "mmio_read", bad_results += mmio_read32(MMIO_HOLE) != 0xffffffff);

	for (unsigned i = 0; i < n; i++)
		print_ratio(&res[i], floor);
	if (!interrupt_paths(&res[0]))
		printf(
		    "bench: no irqchip (module option irqchip=1): interrupt paths not measured\n");

	reportf("bench results valid", bad_results == 0,
		"%u HC_NOP or MMIO reads returned a wrong value", bad_results);
	for (unsigned i = 0; i < n; i++) {
		char label[48];

		if (!res[i].min && !res[i].median)
			continue; /* not measured */
		snprintf(label, sizeof(label), "bench %s measured", res[i].name);
		reportf(label, res[i].min > 0 && res[i].min <= res[i].median,
			"min %llu, median %llu", res[i].min, res[i].median);
	}
}
