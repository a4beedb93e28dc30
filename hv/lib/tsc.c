// SPDX-License-Identifier: MIT
#include "drivers/pit8254.h"
#include "hv/lib/log.h"
#include "hv/lib/tsc.h"
#include "hv/lib/x86.h"

uint32_t tsc_khz;

/* CPUID.15H: TSC = crystal Hz * EBX / EAX, when all three are given. */
static uint64_t cpuid_tsc_khz(void)
{
	if (cpuid(0, 0).eax < 0x15)
		return 0;
	struct cpuid_regs r = cpuid(0x15, 0);

	if (!r.eax || !r.ebx || !r.ecx)
		return 0;
	return (uint64_t)r.ecx * r.ebx / r.eax / 1000;
}

void tsc_init(void)
{
	uint64_t khz = cpuid_tsc_khz();
	const char *how = "CPUID leaf 0x15";

	if (!khz) {
		khz = pit_measure_tsc_khz();
		how = "measured against the PIT";
	}
	tsc_khz = khz > UINT32_MAX ? 0 : (uint32_t)khz;
	if (tsc_khz)
		log_info("hv: TSC %u.%03u MHz (%s)", tsc_khz / 1000, tsc_khz % 1000, how);
	else
		log_warn("hv: TSC rate unknown (no CPUID leaf 0x15, PIT channel 2 silent)");
}
