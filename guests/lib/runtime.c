// SPDX-License-Identifier: MIT
/*
 * Runtime of the guest test programs: IDT, exception dispatch, results and
 * the final report on port 0xf4.
 */
#include "guest.h"

/* The frame trap_common (trap.S) builds: PUSHAL, then vector and error code. */
struct trap_frame {
	uint32_t edi, esi, ebp, esp_at_pushal, ebx, edx, ecx, eax;
	uint32_t vector, error_code;
	uint32_t eip, cs, eflags; /* pushed by the CPU */
};

#define IDT_VECTORS 32

extern const uint32_t trap_stubs[IDT_VECTORS];
extern uint32_t catch_armed;
void catch_resume(int vector) __noreturn;
void trap_dispatch(struct trap_frame *f);
void guest_start(void) __noreturn;

static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(8)));

struct trap_record last_trap = {.vector = NO_EXCEPTION};
unsigned guest_passed, guest_failed;

static const char *const vector_names[IDT_VECTORS] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
    "#NP", "#SS", "#GP", "#PF", "15",  "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

static const char *vector_name(int v)
{
	if (v >= 0 && v < IDT_VECTORS && vector_names[v])
		return vector_names[v];
	return "?";
}

static void idt_init(void)
{
	struct table_desc d = {.limit = sizeof(idt) - 1, .base = (uint32_t)idt};

	for (int i = 0; i < IDT_VECTORS; i++) {
		idt[i].offset_lo = trap_stubs[i] & 0xffff;
		idt[i].offset_hi = trap_stubs[i] >> 16;
		idt[i].selector = SEL_CODE32;
		idt[i].zero = 0;
		idt[i].type_attr = GATE_INTERRUPT_32;
	}
	asm volatile("lidt %0" ::"m"(d));
}

void trap_dispatch(struct trap_frame *f)
{
	last_trap.vector = (int)f->vector;
	last_trap.error_code = f->error_code;
	last_trap.eip = f->eip;
	last_trap.cs = f->cs;
	last_trap.eflags = f->eflags;
	last_trap.cr2 = f->vector == VEC_PF ? read_cr2() : 0;

	if (catch_armed) {
		catch_armed = 0;
		catch_resume((int)f->vector);
	}
	guest_failed++;
	printf("FAIL unexpected exception %u (%s): error 0x%x, eip 0x%x, cs 0x%x, eflags 0x%x, "
	       "cr2 0x%x\n",
	       f->vector, vector_name((int)f->vector), f->error_code, f->eip, f->cs, f->eflags,
	       last_trap.cr2);
	printf("  eax 0x%08x ebx 0x%08x ecx 0x%08x edx 0x%08x\n", f->eax, f->ebx, f->ecx, f->edx);
	printf("  esi 0x%08x edi 0x%08x ebp 0x%08x cr0 0x%08x\n", f->esi, f->edi, f->ebp,
	       read_cr0());
	done();
}

bool expect_exception(const char *name, int vector, uint32_t ec, const void *eip,
		      void (*fn)(void *), void *arg)
{
	int got = catch_exception(fn, arg);

	if (got == NO_EXCEPTION)
		return reportf(name, false, "no exception, want %s", vector_name(vector));
	if (got != vector)
		return reportf(name, false, "got %s (vector %d, error 0x%x, eip 0x%x), want %s",
			       vector_name(got), got, last_trap.error_code, last_trap.eip,
			       vector_name(vector));
	if (ec != ANY_ERROR_CODE && last_trap.error_code != ec)
		return reportf(name, false, "%s error code 0x%x, want 0x%x", vector_name(got),
			       last_trap.error_code, ec);
	if (eip && last_trap.eip != (uint32_t)eip)
		return reportf(name, false, "%s reported eip 0x%x, want 0x%x", vector_name(got),
			       last_trap.eip, (uint32_t)eip);
	return report(name, true);
}

bool expect_no_exception(const char *name, void (*fn)(void *), void *arg)
{
	int got = catch_exception(fn, arg);

	if (got == NO_EXCEPTION)
		return report(name, true);
	return reportf(name, false, "%s (vector %d, error 0x%x, eip 0x%x)", vector_name(got), got,
		       last_trap.error_code, last_trap.eip);
}

bool report(const char *name, bool ok)
{
	if (ok) {
		guest_passed++;
		printf("PASS %s\n", name);
	} else {
		guest_failed++;
		printf("FAIL %s\n", name);
	}
	return ok;
}

bool reportf(const char *name, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return report(name, true);
	guest_failed++;
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return false;
}

bool check_u32(const char *name, uint32_t got, uint32_t want)
{
	return reportf(name, got == want, "got 0x%x, want 0x%x", got, want);
}

bool check_u64(const char *name, uint64_t got, uint64_t want)
{
	return reportf(name, got == want, "got 0x%llx, want 0x%llx", got, want);
}

void skip(const char *name, const char *why)
{
	printf("SKIP %s: %s\n", name, why);
}

void done_with(uint32_t result)
{
	outl(HV_GUEST_RESULT_PORT, result);
	for (;;)
		cli_hlt();
}

void done(void)
{
	printf("done: %u checks passed, %u failed\n", guest_passed, guest_failed);
	done_with(guest_failed);
}

const struct mb1_info *mb1_info(void)
{
	if (entry_eax != MB1_BOOTLOADER_MAGIC)
		return NULL;
	return (const struct mb1_info *)entry_ebx;
}

const char *mb1_cmdline(void)
{
	const struct mb1_info *mbi = mb1_info();

	if (!mbi || !(mbi->flags & MB1_INFO_CMDLINE) || !mbi->cmdline)
		return "";
	return (const char *)mbi->cmdline;
}

void guest_start(void)
{
	serial_init();
	idt_init();
	guest_main();
	done();
}
