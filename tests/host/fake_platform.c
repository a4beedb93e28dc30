// SPDX-License-Identifier: MIT
/* The rest of the machine for host builds: console, stop, CPU tables, boot. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "boot/trap.h"
#include "hv/lib/console.h"
#include "hv/lib/halt.h"
#include "hv/lib/log.h"
#include "hv/lib/tsc.h"
#include "tests/host/fake.h"
#include "vmx/vmx.h"

bool fake_console_quiet = true;

/* hv/lib/tsc.c's answer on the fake machine: a 2 GHz TSC. */
uint32_t tsc_khz = 2000000;
void (*fake_power_off_hook)(void);

static bool loud(void)
{
	const char *v = getenv("VERBOSE");

	return !fake_console_quiet || (v && *v);
}

void console_printf(const char *fmt, ...)
{
	va_list ap;

	if (!loud())
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

void console_write(const char *buf, size_t len)
{
	if (loud())
		fwrite(buf, 1, len, stderr);
}

void console_flush(void)
{
}

void hv_stop(uint8_t status)
{
	fprintf(stderr, "fake: hv_stop(0x%x): the hypervisor stopped (see the line before)\n",
		status);
	abort();
}

void hv_halt(void)
{
	fprintf(stderr, "fake: hv_halt(): the hypervisor stopped\n");
	abort();
}

void hv_power_off(void)
{
	if (fake_power_off_hook)
		fake_power_off_hook();
	fprintf(stderr, "fake: hv_power_off() with no hook\n");
	abort();
}

uint64_t fake_ticks = 1000;

/* The clock of hv/lib/log.h's rate limiter (the PIT tick in the hypervisor). */
uint64_t log_clock_ms(void)
{
	return fake_ticks;
}

uint64_t cpu_tss_base(void)
{
	return 0x12000;
}

void fake_machine_boot(enum fake_model model)
{
	fake_cpu_init(model);
	if (vmx_init() < 0) {
		fprintf(stderr,
			"fake: vmx_init() refused the fake CPU (model %d; %llu pages in %u blocks "
			"held)\n",
			model, (unsigned long long)fake_mm_pages_in_use(), fake_mm_blocks_in_use());
		abort();
	}
}
