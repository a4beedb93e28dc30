// SPDX-License-Identifier: MIT
/*
 * Exit round trips measured with RDTSC: for each operation, ROUNDS samples
 * after WARMUP runs; the minimum, the median and the minimum's ratio to the
 * VMCALL HC_NOP floor (x100, integer arithmetic). One line each:
 *   bench: <name> <min cycles>
 *   bench: <name> median <cycles>
 *   bench: <name> ratio <x.yy>
 * The times include the RDTSC pair itself ("bench: empty" measures it).
 */
#include "guest.h"

#define WARMUP		20
#define ROUNDS		200
#define PORT_UNASSIGNED 0x510
#define MMIO_HOLE	0xfeb00000u

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

static void print_ratio(const struct result *r, const struct result *floor)
{
	uint32_t rem;
	uint64_t x100;

	if (!floor->min)
		return;
	x100 = div_u64_rem(r->min * 100 + floor->min / 2, (uint32_t)floor->min, NULL);
	x100 = div_u64_rem(x100, 100, &rem);
	printf("bench: %s ratio %llu.%02u\n", r->name, x100, rem);
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
