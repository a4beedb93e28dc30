// SPDX-License-Identifier: MIT
/*
 * String port I/O (INS/OUTS, with and without REP): one KVM_EXIT_IO carries
 * several elements (count > 1). Checks the data moved and the registers:
 * ESI/EDI advance by the bytes moved, ECX counts down to 0, and a REP with
 * ECX = 0 does nothing.
 */
#include "guest.h"

#define UNASSIGNED_PORT 0x510
#define COM1_LSR	(HV_GUEST_COM1_PORT + 5)

static const char line[] = "string I/O: this line came through REP OUTSB\n";
static uint8_t buf[64];

struct regs {
	uint32_t si, di, cx;
};

static struct regs rep_outsb(uint16_t port, const void *src, uint32_t n)
{
	struct regs r;

	asm volatile("cld; rep outsb"
		     : "=S"(r.si), "=c"(r.cx)
		     : "d"(port), "S"(src), "c"(n)
		     : "memory");
	r.di = 0;
	return r;
}

static struct regs rep_insb(uint16_t port, void *dst, uint32_t n)
{
	struct regs r;

	asm volatile("cld; rep insb"
		     : "=D"(r.di), "=c"(r.cx)
		     : "d"(port), "D"(dst), "c"(n)
		     : "memory");
	r.si = 0;
	return r;
}

void guest_main(void)
{
	uint32_t n = sizeof(line) - 1;
	struct regs r;
	uint16_t words[4] = {1, 2, 3, 4};
	uint32_t si;

	r = rep_outsb(HV_GUEST_COM1_PORT, line, n);
	check_u32("rep outsb ecx reaches 0", r.cx, 0);
	check_u32("rep outsb esi advanced", r.si, (uint32_t)line + n);

	asm volatile("cld; rep outsw"
		     : "=S"(si)
		     : "d"(UNASSIGNED_PORT), "S"(words), "c"(4)
		     : "memory");
	check_u32("rep outsw esi advanced", si, (uint32_t)words + 8);

	memset(buf, 0x11, sizeof(buf));
	r = rep_insb(UNASSIGNED_PORT, buf, 40);
	check_u32("rep insb ecx reaches 0", r.cx, 0);
	check_u32("rep insb edi advanced", r.di, (uint32_t)buf + 40);
	check_u32("rep insb unassigned all-ones (first)", buf[0], 0xff);
	check_u32("rep insb unassigned all-ones (last)", buf[39], 0xff);
	check_u32("rep insb stops at ecx", buf[40], 0x11);

	r = rep_insb(COM1_LSR, buf, 2);
	check_u32("insb com1 lsr", buf[0] | buf[1] << 8, 0x6060);

	r = rep_insb(UNASSIGNED_PORT, buf + 50, 0);
	check_u32("rep insb ecx=0 moves nothing", buf[50], 0x11);
	check_u32("rep insb ecx=0 edi unchanged", r.di, (uint32_t)buf + 50);

	asm volatile("insb" : "=D"(r.di) : "d"(UNASSIGNED_PORT), "D"(buf + 60) : "memory");
	check_u32("insb without rep", buf[60], 0xff);
	check_u32("insb without rep edi + 1", r.di, (uint32_t)buf + 61);
	done();
}
