// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "boot/cpu.h"
#include "hv/lib/log.h"
#include "hv/lib/x86.h"

struct cpu_feature {
	uint32_t leaf, subleaf;
	char reg; /* 'b', 'c' or 'd' */
	unsigned bit;
	const char *name;
};

/* What a hypervisor reader wants to see at boot (SDM vol. 2, CPUID). */
static const struct cpu_feature features[] = {
    {1, 0, 'c', 5, "vmx"},
    {1, 0, 'c', 6, "smx"},
    {1, 0, 'c', 17, "pcid"},
    {1, 0, 'c', 21, "x2apic"},
    {1, 0, 'c', 26, "xsave"},
    {1, 0, 'c', 31, "hypervisor"},
    {1, 0, 'd', 5, "msr"},
    {1, 0, 'd', 9, "apic"},
    {7, 0, 'b', 0, "fsgsbase"},
    {7, 0, 'b', 7, "smep"},
    {7, 0, 'b', 20, "smap"},
    {7, 0, 'c', 3, "pku"},
    {7, 0, 'c', 7, "cet-ss"},
    {7, 0, 'c', 31, "pks"},
    {0x80000001, 0, 'd', 20, "nx"},
    {0x80000001, 0, 'd', 26, "1gb-pages"},
    {0x80000001, 0, 'd', 29, "long-mode"},
    {0x80000007, 0, 'd', 8, "invariant-tsc"},
};

static uint32_t reg_of(struct cpuid_regs r, char reg)
{
	return reg == 'b' ? r.ebx : reg == 'c' ? r.ecx : r.edx;
}

void cpu_report(void)
{
	struct cpuid_regs r = cpuid(0, 0);
	uint32_t max_basic = r.eax, max_ext = cpuid(0x80000000, 0).eax;
	char vendor[13], brand[49] = "";
	char line[512];
	size_t len = 0;

	memcpy(vendor, &r.ebx, 4);
	memcpy(vendor + 4, &r.edx, 4);
	memcpy(vendor + 8, &r.ecx, 4);
	vendor[12] = 0;

	r = cpuid(1, 0);
	unsigned family = r.eax >> 8 & 0xf, model = r.eax >> 4 & 0xf;
	if (family == 0xf)
		family += r.eax >> 20 & 0xff;
	if (family == 0x6 || family >= 0xf)
		model |= (r.eax >> 16 & 0xf) << 4;

	if (max_ext >= 0x80000004) {
		for (uint32_t i = 0; i < 3; i++) {
			struct cpuid_regs b = cpuid(0x80000002 + i, 0);

			memcpy(brand + 16 * i, &b, 16);
		}
		brand[48] = 0;
	}
	log_info("cpu: vendor %s family 0x%x model 0x%x stepping %u: %s", vendor, family, model,
		 r.eax & 0xf, brand[0] ? brand : "(no brand string)");

	line[0] = 0;
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		const struct cpu_feature *f = &features[i];
		uint32_t max = f->leaf >= 0x80000000 ? max_ext : max_basic;

		if (f->leaf > max || !(reg_of(cpuid(f->leaf, f->subleaf), f->reg) & (1u << f->bit)))
			continue;
		len += snprintf(line + len, sizeof(line) - len, " %s", f->name);
	}
	log_info("cpu: features:%s", line);
	if (max_ext >= 0x80000008) {
		uint32_t a = cpuid(0x80000008, 0).eax;

		log_info("cpu: physical address bits %u, linear address bits %u", a & 0xff,
			 a >> 8 & 0xff);
	}
}
