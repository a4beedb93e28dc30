// SPDX-License-Identifier: MIT
/*
 * The in-hypervisor irqchip as a multiboot guest sees it (module line
 * `name=irqchip type=mb1 mem=4M irqchip=1`):
 *
 *  - tables: the MP floating pointer and configuration table and the ACPI
 *    RSDP -> RSDT/XSDT -> MADT the loader wrote (checksums, one processor
 *    entry per vCPU, the ISA bus, the IOAPIC, ISA IRQs 0-15 on IOAPIC pins
 *    0-15), inside a range the memory map calls reserved; the LAPIC and
 *    IOAPIC addresses used below come from them;
 *  - local APIC: IA32_APIC_BASE, ID, version, software enable; the timer in
 *    one-shot, periodic and TSC-deadline modes (TMCCT counts down, periodic
 *    repeats, masked LVT stays quiet); self-IPIs through ICR; priority (the
 *    highest pending vector first, a lower class waits for the EOI of a
 *    higher one); TPR and CR8 hold back vectors at or below their class;
 *    EOI clears ISR; x2APIC mode (MSRs, SELF_IPI) when CPUID offers it;
 *  - IOAPIC: redirection entries, an edge pin, a level pin with remote IRR
 *    and EOI, masking; lines are raised with the HC_IRQ_LINE hypercall;
 *  - 8259 PICs: ICW initialisation, IMR, a master and a slave IRQ through
 *    LINT0 (ExtINT), ISR and non-specific EOI;
 *  - last, HLT with a timer armed: the vCPU waits in the hypervisor and the
 *    interrupt wakes it.
 */
#include "guest.h"

/* ---- registers ----------------------------------------------------------- */

#define LAPIC_DEFAULT  HV_GUEST_LAPIC_ADDR
#define IOAPIC_DEFAULT HV_GUEST_IOAPIC_ADDR

#define MSR_APIC_BASE	 0x1bu
#define APIC_BASE_BSP	 (1u << 8)
#define APIC_BASE_EXTD	 (1u << 10)
#define APIC_BASE_EN	 (1u << 11)
#define MSR_TSC_DEADLINE 0x6e0u
#define MSR_X2APIC_ICR	 0x830u
#define MSR_X2APIC_SELF	 0x83fu
#define X2APIC_MSR(reg)	 (0x800u + ((reg) >> 4))

#define APIC_ID	     0x020u
#define APIC_LVR     0x030u
#define APIC_TPR     0x080u
#define APIC_PPR     0x0a0u
#define APIC_EOI     0x0b0u
#define APIC_LDR     0x0d0u
#define APIC_SPIV    0x0f0u
#define APIC_ISR     0x100u
#define APIC_TMR     0x180u
#define APIC_IRR     0x200u
#define APIC_ICR     0x300u
#define APIC_ICR2    0x310u
#define APIC_LVTT    0x320u
#define APIC_LVT0    0x350u
#define APIC_LVTERR  0x370u
#define APIC_TMICT   0x380u
#define APIC_TMCCT   0x390u
#define APIC_TDCR    0x3e0u
#define SPIV_ENABLE  (1u << 8)
#define LVT_MASKED   (1u << 16)
#define LVTT_PERIOD  (1u << 17)
#define LVTT_TSCDL   (2u << 17)
#define LVT_EXTINT   (7u << 8)
#define ICR_PENDING  (1u << 12)
#define ICR_ASSERT   (1u << 14)
#define ICR_SELF     (1u << 18)
#define ICR_ALL_INCL (2u << 18)
#define TDCR_DIV1    0xbu

#define IOAPIC_SEL     0x00u
#define IOAPIC_WIN     0x10u
#define IOAPIC_REDTBL  0x10u
#define RTE_LEVEL      (1u << 15)
#define RTE_REMOTE_IRR (1u << 14)
#define RTE_MASKED     (1u << 16)
#define IOAPIC_NR_PINS 24u

#define PIC1_CMD 0x20
#define PIC1_DAT 0x21
#define PIC2_CMD 0xa0
#define PIC2_DAT 0xa1
#define PIC_EOI	 0x20
#define OCW3_IRR 0x0a
#define OCW3_ISR 0x0b

#define CPUID1_ECX_X2APIC (1u << 21)
#define CPUID1_ECX_TSCDL  (1u << 24)
#define CPUID1_EDX_APIC	  (1u << 9)

/* ---- vectors ------------------------------------------------------------- */

#define V_PIC1	   0x30 /* master IRQ 0-7 */
#define V_PIC2	   0x38 /* slave IRQ 8-15 */
#define V_TIMER	   0x40
#define V_IO_EDGE  0x68 /* IOAPIC pin 4 */
#define V_IO_LEVEL 0x69 /* IOAPIC pin 9 */
#define V_ERROR	   0xfe
#define V_SPURIOUS 0xff

#define PIN_EDGE  4
#define PIN_LEVEL 9
#define IRQ_PIC1  3  /* master input */
#define IRQ_PIC2  10 /* slave input */

/*
 * Waits are bounded in TSC ticks. A wait for an interrupt that must come
 * ends as soon as it does; WAIT_SHORT is how long a window stays open for
 * interrupts that must not come (they would arrive at the first
 * instruction boundary with IF=1, or at the next timer expiry).
 */
#define WAIT_LONG  400000000ull
#define WAIT_SHORT 3000000ull

/* Timer counts with the divider at 1. */
#define ONESHOT_COUNT 1000000u
#define PERIOD_COUNT  500000u
#define MASKED_COUNT  100000u
#define PERIODS	      5u

/* ---- IDT and the interrupt log ------------------------------------------ */

enum eoi_kind { EOI_LAPIC, EOI_NONE, EOI_PIC };

struct event {
	uint8_t vec;
	bool isr, irr, tmr; /* this vector's LAPIC bits in the handler */
	uint8_t pic_isr;    /* the PIC's ISR in the handler (PIC vectors) */
	uint32_t ppr;
	uint64_t tsc;
};

#define EV_MAX 64

static struct event events[EV_MAX];
static volatile unsigned n_events;
static volatile uint32_t vcount[256];
static uint8_t eoi_how[256];

static uint32_t lapic = LAPIC_DEFAULT;
static uint32_t ioapic = IOAPIC_DEFAULT;
static uint8_t ioapic_id_tables = 0xff; /* from the MP table, 0xff: not seen */
static volatile bool x2apic;
static uint32_t my_apic_id;
static uint64_t oneshot_tsc; /* measured TSC ticks of ONESHOT_COUNT */

void irq_dispatch(uint32_t vec);

static void sti(void)
{
	asm volatile("sti" ::: "memory");
}

static void cli(void)
{
	asm volatile("cli" ::: "memory");
}

static void pause(void)
{
	asm volatile("pause" ::: "memory");
}

/* ---- LAPIC access (xAPIC MMIO or x2APIC MSRs) ----------------------------- */

static uint32_t apic_read(uint32_t reg)
{
	if (x2apic)
		return (uint32_t)rdmsr(X2APIC_MSR(reg));
	return mmio_read32(lapic + reg);
}

static void apic_write(uint32_t reg, uint32_t val)
{
	if (x2apic)
		wrmsr(X2APIC_MSR(reg), val);
	else
		mmio_write32(lapic + reg, val);
}

static bool apic_vec_bit(uint32_t base, uint8_t vec)
{
	return (apic_read(base + (vec / 32u) * 0x10u) >> (vec % 32u)) & 1;
}

static void apic_icr(uint32_t dest, uint32_t lo)
{
	if (x2apic) {
		wrmsr(MSR_X2APIC_ICR, (uint64_t)dest << 32 | lo);
	} else {
		mmio_write32(lapic + APIC_ICR2, dest << 24);
		mmio_write32(lapic + APIC_ICR, lo);
	}
}

static void self_ipi(uint8_t vec)
{
	apic_icr(0, ICR_SELF | ICR_ASSERT | vec);
}

static void apic_eoi(void)
{
	apic_write(APIC_EOI, 0);
}

static bool isr_empty(void)
{
	for (uint32_t i = 0; i < 8; i++)
		if (apic_read(APIC_ISR + i * 0x10))
			return false;
	return true;
}

static bool irr_empty(void)
{
	for (uint32_t i = 1; i < 8; i++) /* vectors 0-31 are never pending */
		if (apic_read(APIC_IRR + i * 0x10))
			return false;
	return true;
}

/* ---- 8259 and IOAPIC access ------------------------------------------------ */

static uint8_t pic_read(uint8_t cmd_port, uint8_t ocw3)
{
	uint8_t v;

	outb(cmd_port, ocw3);
	v = inb(cmd_port);
	outb(cmd_port, OCW3_IRR);
	return v;
}

static uint32_t ioapic_read(uint32_t index)
{
	mmio_write32(ioapic + IOAPIC_SEL, index);
	return mmio_read32(ioapic + IOAPIC_WIN);
}

static void ioapic_write(uint32_t index, uint32_t val)
{
	mmio_write32(ioapic + IOAPIC_SEL, index);
	mmio_write32(ioapic + IOAPIC_WIN, val);
}

static void ioapic_set_pin(unsigned pin, uint32_t low, uint32_t dest)
{
	ioapic_write(IOAPIC_REDTBL + 2 * pin, RTE_MASKED);
	ioapic_write(IOAPIC_REDTBL + 2 * pin + 1, dest << 24);
	ioapic_write(IOAPIC_REDTBL + 2 * pin, low);
}

static long irq_line(uint32_t gsi, uint32_t level)
{
	return vmcall4(HC_IRQ_LINE, gsi, level, 0, 0);
}

/* ---- the handler ------------------------------------------------------------ */

void irq_dispatch(uint32_t vec)
{
	struct event *e = &events[n_events < EV_MAX ? n_events : EV_MAX - 1];

	e->vec = (uint8_t)vec;
	e->tsc = rdtsc();
	if (eoi_how[vec] == EOI_PIC) {
		e->pic_isr = pic_read(vec >= V_PIC2 ? PIC2_CMD : PIC1_CMD, OCW3_ISR);
		e->isr = e->irr = e->tmr = false;
		e->ppr = 0;
	} else {
		e->isr = apic_vec_bit(APIC_ISR, (uint8_t)vec);
		e->irr = apic_vec_bit(APIC_IRR, (uint8_t)vec);
		e->tmr = apic_vec_bit(APIC_TMR, (uint8_t)vec);
		e->ppr = apic_read(APIC_PPR);
		e->pic_isr = 0;
	}
	if (n_events < EV_MAX)
		n_events++;
	vcount[vec]++;
	switch (eoi_how[vec]) {
	case EOI_LAPIC:
		apic_eoi();
		break;
	case EOI_PIC:
		if (vec >= V_PIC2)
			outb(PIC2_CMD, PIC_EOI);
		outb(PIC1_CMD, PIC_EOI);
		break;
	default:
		break;
	}
}

static void clear_log(void)
{
	n_events = 0;
}

/* IF=1 for @ticks TSC ticks: whatever is deliverable arrives. */
static void open_window(uint64_t ticks)
{
	uint64_t end = rdtsc() + ticks;

	sti();
	while (rdtsc() < end)
		pause();
	cli();
}

/* IF=1 until vector @vec has been taken @want times in all, or @ticks. */
static bool wait_count(uint8_t vec, uint32_t want, uint64_t ticks)
{
	uint64_t end = rdtsc() + ticks;

	sti();
	while (vcount[vec] < want && rdtsc() < end)
		pause();
	cli();
	return vcount[vec] >= want;
}

/* The vectors logged since clear_log() equal @want (n of them)? */
static bool log_is(const char *name, const uint8_t *want, unsigned n)
{
	char got[EV_MAX * 5 + 1], *p = got;
	bool ok = n_events == n;

	for (unsigned i = 0; i < n_events && i < EV_MAX; i++) {
		if (i < n && events[i].vec != want[i])
			ok = false;
		p += snprintf(p, 6, " 0x%02x", events[i].vec);
	}
	*p = 0;
	return reportf(name, ok, "vectors taken:%s", n_events ? got : " none");
}

/* ---- tables ----------------------------------------------------------------- */

static uint8_t sum8(const void *p, uint32_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (n--)
		s += *b++;
	return s;
}

static uint16_t ld16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t ld32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t ld64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* First 16-byte aligned @sig in [start, start + len) whose @sum_len bytes sum to 0. */
static const uint8_t *scan(uint32_t start, uint32_t len, const char *sig, uint32_t sum_len)
{
	for (uint32_t a = start; a + sum_len <= start + len; a += 16) {
		const uint8_t *p = (const uint8_t *)a;

		if (!memcmp(p, sig, strlen(sig)) && sum8(p, sum_len) == 0)
			return p;
	}
	return NULL;
}

/* Where BIOSes put them: the EBDA's first KiB, the last KiB of base memory, the BIOS. */
static const uint8_t *scan_bios(const char *sig, uint32_t sum_len, uint32_t bios_start)
{
	uint32_t ebda = (uint32_t)ld16((const void *)0x40e) << 4;
	const uint8_t *p = NULL;

	if (ebda >= 0x80000 && ebda < 0xa0000)
		p = scan(ebda, 1024, sig, sum_len);
	if (!p)
		p = scan(0x9fc00, 1024, sig, sum_len);
	if (!p)
		p = scan(bios_start, 0x100000 - bios_start, sig, sum_len);
	return p;
}

/* Does the multiboot memory map call [base, base + len) reserved? */
static bool mmap_reserved(uint32_t base, uint32_t len)
{
	const uint8_t *mbi = (const uint8_t *)entry_ebx;
	uint32_t mlen, maddr;

	if (entry_eax != MB1_BOOTLOADER_MAGIC || !(ld32(mbi) & (1u << 6)))
		return false;
	mlen = ld32(mbi + 44);
	maddr = ld32(mbi + 48);
	for (uint32_t off = 0; off + 24 <= mlen; off += ld32((const void *)(maddr + off)) + 4) {
		const uint8_t *e = (const uint8_t *)(maddr + off);
		uint64_t b = ld64(e + 4), l = ld64(e + 12);

		if (base >= b && base + (uint64_t)len <= b + l)
			return ld32(e + 20) != 1;
	}
	return false;
}

struct mp_found {
	unsigned cpus, cpus_enabled, bsps, buses, isa_bus, ioapics, ioints, lints;
	uint8_t bsp_id;
	uint32_t lapic, ioapic;
	uint8_t ioapic_id;
	uint16_t irq_to_pin; /* bit i: ISA IRQ i goes to pin i of that IOAPIC */
	bool bad_entry;
};

static void mp_entries(const uint8_t *t, uint32_t len, uint16_t count, struct mp_found *f)
{
	uint32_t off = 44;
	uint8_t isa_id = 0xff;

	for (uint16_t i = 0; i < count && !f->bad_entry; i++) {
		const uint8_t *e = t + off;
		uint32_t elen = e[0] == 0 ? 20 : 8;

		if (off + elen > len || e[0] > 4) {
			f->bad_entry = true;
			break;
		}
		switch (e[0]) {
		case 0: /* processor */
			f->cpus++;
			if (e[3] & 1)
				f->cpus_enabled++;
			if (e[3] & 2) {
				f->bsps++;
				f->bsp_id = e[1];
			}
			break;
		case 1: /* bus */
			f->buses++;
			if (!memcmp(e + 2, "ISA   ", 6)) {
				f->isa_bus++;
				isa_id = e[1];
			}
			break;
		case 2: /* IOAPIC */
			f->ioapics++;
			if (e[3] & 1) {
				f->ioapic_id = e[1];
				f->ioapic = ld32(e + 4);
			}
			break;
		case 3: /* I/O interrupt assignment */
			f->ioints++;
			if (e[1] == 0 && e[4] == isa_id && e[5] < 16 && e[6] == f->ioapic_id &&
			    e[7] == e[5])
				f->irq_to_pin |= (uint16_t)(1u << e[5]);
			break;
		case 4:
			f->lints++;
			break;
		}
		off += elen;
	}
}

static void tables_mp(void)
{
	const uint8_t *fp = scan_bios("_MP_", 16, 0xf0000);
	const uint8_t *t;
	struct mp_found f = {0};
	uint32_t len;

	if (!reportf("tables mp floating pointer found", fp != NULL,
		     "no '_MP_' with a good checksum in the EBDA, 639K-640K or 0xf0000-0xfffff"))
		return;
	printf("irqchip: MP floating pointer at 0x%x, spec 1.%u\n", (uint32_t)fp, fp[9]);
	check_u32("tables mp floating pointer length 1", fp[8], 1);
	check_u32("tables mp config table present (feature 1 = 0)", fp[11], 0);
	t = (const uint8_t *)ld32(fp + 4);
	if (!reportf("tables mp config table signature", t && !memcmp(t, "PCMP", 4), "pointer 0x%x",
		     (uint32_t)t))
		return;
	len = ld16(t + 4);
	reportf("tables mp config table checksum", len >= 44 && sum8(t, len) == 0,
		"length %u, sum 0x%x", len, sum8(t, len));
	check_u32("tables mp spec revision 1.4", t[6], 4);
	f.lapic = ld32(t + 36);
	mp_entries(t, len, ld16(t + 34), &f);
	report("tables mp entries well formed", !f.bad_entry);
	check_u32("tables mp lapic address", f.lapic, LAPIC_DEFAULT);
	reportf("tables mp one enabled processor per vcpu, one bsp",
		f.cpus >= 1 && f.cpus_enabled == f.cpus && f.bsps == 1,
		"%u processors, %u enabled, %u BSP", f.cpus, f.cpus_enabled, f.bsps);
	check_u32("tables mp bsp apic id is ours", f.bsp_id, my_apic_id);
	check_u32("tables mp one isa bus", f.isa_bus, 1);
	check_u32("tables mp one ioapic", f.ioapics, 1);
	check_u32("tables mp ioapic address", f.ioapic, IOAPIC_DEFAULT);
	check_u32("tables mp isa irqs 0-15 on ioapic pins 0-15", f.irq_to_pin, 0xffff);
	printf("irqchip: MP table at 0x%x: %u cpu(s), lapic 0x%x, ioapic id %u at 0x%x, %u io "
	       "interrupt entries, %u local\n",
	       (uint32_t)t, f.cpus, f.lapic, f.ioapic_id, f.ioapic, f.ioints, f.lints);
	reportf("tables mp area reserved in the memory map",
		mmap_reserved((uint32_t)fp, 16) && mmap_reserved((uint32_t)t, len),
		"floating pointer 0x%x or table 0x%x in available RAM", (uint32_t)fp, (uint32_t)t);
	if (f.ioapic)
		ioapic = f.ioapic;
	if (f.lapic)
		lapic = f.lapic;
	ioapic_id_tables = f.ioapic_id;
}

/* An SDT with its signature and checksum, or NULL. */
static const uint8_t *sdt(uint64_t addr, const char *sig)
{
	const uint8_t *h = (const uint8_t *)(uint32_t)addr;

	if (!addr || addr >= 0x100000000ull || memcmp(h, sig, 4) || ld32(h + 4) < 36 ||
	    sum8(h, ld32(h + 4)))
		return NULL;
	return h;
}

static void tables_madt(const uint8_t *madt)
{
	uint32_t len = ld32(madt + 4), off = 44;
	unsigned lapics = 0, ioapics = 0, overrides = 0, mine = 0;
	uint32_t io_addr = 0, io_gsi = 0xffffffff;
	bool bad = false;

	while (off + 2 <= len) {
		const uint8_t *e = madt + off;

		if (e[1] < 2 || off + e[1] > len) {
			bad = true;
			break;
		}
		switch (e[0]) {
		case 0:
			if (e[1] >= 8 && (ld32(e + 4) & 1)) {
				lapics++;
				if (e[3] == my_apic_id)
					mine++;
			}
			break;
		case 1:
			if (e[1] >= 12) {
				ioapics++;
				io_addr = ld32(e + 4);
				io_gsi = ld32(e + 8);
			}
			break;
		case 2:
			overrides++;
			printf("irqchip: MADT override: bus %u irq %u -> gsi %u\n", e[2], e[3],
			       ld32(e + 4));
			break;
		}
		off += e[1];
	}
	report("tables madt entries well formed", !bad);
	check_u32("tables madt lapic address", ld32(madt + 36), LAPIC_DEFAULT);
	check_u32("tables madt pcat_compat (8259s present)", ld32(madt + 40) & 1, 1);
	reportf("tables madt enabled lapic entry with our apic id", lapics >= 1 && mine == 1,
		"%u enabled lapic entries, %u with id %u", lapics, mine, my_apic_id);
	check_u32("tables madt one ioapic", ioapics, 1);
	check_u32("tables madt ioapic address", io_addr, IOAPIC_DEFAULT);
	check_u32("tables madt ioapic gsi base 0", io_gsi, 0);
	check_u32("tables madt no interrupt source override (identity routing)", overrides, 0);
	printf("irqchip: MADT at 0x%x: %u lapic(s), ioapic at 0x%x gsi base %u\n", (uint32_t)madt,
	       lapics, io_addr, io_gsi);
}

static void tables_acpi(void)
{
	const uint8_t *rsdp = scan_bios("RSD PTR ", 20, 0xe0000);
	const uint8_t *rsdt, *xsdt = NULL, *madt = NULL, *xmadt = NULL;

	if (!reportf("tables acpi rsdp found", rsdp != NULL,
		     "no 'RSD PTR ' with a good checksum in the EBDA or 0xe0000-0xfffff"))
		return;
	printf("irqchip: RSDP at 0x%x, revision %u\n", (uint32_t)rsdp, rsdp[15]);
	if (rsdp[15] >= 2) {
		uint32_t len = ld32(rsdp + 20);

		reportf("tables acpi rsdp extended checksum", len >= 36 && sum8(rsdp, len) == 0,
			"length %u", len);
		xsdt = sdt(ld64(rsdp + 24), "XSDT");
		report("tables acpi xsdt signature and checksum", xsdt != NULL);
	}
	rsdt = sdt(ld32(rsdp + 16), "RSDT");
	if (!report("tables acpi rsdt signature and checksum", rsdt != NULL))
		return;
	for (uint32_t off = 36; off + 4 <= ld32(rsdt + 4); off += 4)
		if (!madt)
			madt = sdt(ld32(rsdt + off), "APIC");
	if (xsdt) {
		for (uint32_t off = 36; off + 8 <= ld32(xsdt + 4); off += 8)
			if (!xmadt)
				xmadt = sdt(ld64(xsdt + off), "APIC");
		reportf("tables acpi xsdt and rsdt name the same madt", xmadt == madt,
			"0x%x and 0x%x", (uint32_t)xmadt, (uint32_t)madt);
	}
	if (!report("tables acpi madt signature and checksum", madt != NULL))
		return;
	tables_madt(madt);
	reportf("tables acpi area reserved in the memory map",
		mmap_reserved((uint32_t)rsdp, 20) &&
		    mmap_reserved((uint32_t)rsdt, ld32(rsdt + 4)) &&
		    mmap_reserved((uint32_t)madt, ld32(madt + 4)),
		"rsdp 0x%x, rsdt 0x%x or madt 0x%x in available RAM", (uint32_t)rsdp,
		(uint32_t)rsdt, (uint32_t)madt);
}

/* ---- local APIC basics -------------------------------------------------------- */

static void lapic_basics(void)
{
	struct cpuid_regs c1 = cpuid(1, 0);
	uint64_t base = rdmsr(MSR_APIC_BASE);
	uint32_t lvr;

	report("lapic cpuid.1:edx.apic", c1.edx & CPUID1_EDX_APIC);
	check_u64("lapic ia32_apic_base address", base & ~0xfffull, LAPIC_DEFAULT);
	reportf("lapic ia32_apic_base enabled, bsp, xapic",
		(base & (APIC_BASE_EN | APIC_BASE_BSP | APIC_BASE_EXTD)) ==
		    (APIC_BASE_EN | APIC_BASE_BSP),
		"0x%llx", base);
	my_apic_id = apic_read(APIC_ID) >> 24;
	check_u32("lapic id matches cpuid.1:ebx[31:24]", my_apic_id, c1.ebx >> 24);
	lvr = apic_read(APIC_LVR);
	reportf("lapic version integrated, >= 5 lvt entries",
		(lvr & 0xff) >= 0x10 && (lvr & 0xff) <= 0x15 && ((lvr >> 16) & 0xff) >= 4,
		"version register 0x%x", lvr);
	apic_write(APIC_SPIV, SPIV_ENABLE | V_SPURIOUS);
	check_u32("lapic spiv software enable reads back", apic_read(APIC_SPIV) & 0x1ff,
		  SPIV_ENABLE | V_SPURIOUS);
	apic_write(APIC_LVTERR, V_ERROR);
	apic_write(APIC_TPR, 0);
	check_u32("lapic tpr 0", apic_read(APIC_TPR), 0);
	report("lapic isr empty", isr_empty());
	report("lapic irr empty", irr_empty());
}

/* ---- timer ------------------------------------------------------------------- */

static void timer_oneshot(void)
{
	uint32_t c1, c2;
	uint64_t t0;

	apic_write(APIC_TDCR, TDCR_DIV1);
	apic_write(APIC_LVTT, V_TIMER);
	clear_log();
	t0 = rdtsc();
	apic_write(APIC_TMICT, ONESHOT_COUNT);
	c1 = apic_read(APIC_TMCCT);
	for (volatile int i = 0; i < 1000; i++)
		;
	c2 = apic_read(APIC_TMCCT);
	reportf("timer one-shot tmcct counts down from tmict",
		c1 <= ONESHOT_COUNT && c1 > 0 && c2 < c1, "tmict %u, then tmcct %u, %u",
		ONESHOT_COUNT, c1, c2);
	if (!reportf("timer one-shot fires", wait_count(V_TIMER, 1, WAIT_LONG), "no interrupt"))
		return;
	oneshot_tsc = events[0].tsc - t0;
	printf("irqchip: one-shot of %u counts took %llu TSC ticks\n", ONESHOT_COUNT, oneshot_tsc);
	report("timer vector in ISR while handled", events[0].isr && !events[0].irr);
	report("timer edge (tmr clear)", !events[0].tmr);
	check_u32("timer one-shot tmcct 0 after expiry", apic_read(APIC_TMCCT), 0);
	open_window(2 * oneshot_tsc + WAIT_SHORT);
	check_u32("timer one-shot fires once", vcount[V_TIMER], 1);
	report("timer eoi clears isr", isr_empty());
}

static void timer_periodic(void)
{
	uint32_t before = vcount[V_TIMER], after, c;
	uint64_t expect = oneshot_tsc / (ONESHOT_COUNT / PERIOD_COUNT), gap_min = ~0ull;

	clear_log();
	apic_write(APIC_LVTT, V_TIMER | LVTT_PERIOD);
	apic_write(APIC_TMICT, PERIOD_COUNT);
	if (!reportf("timer periodic repeats", wait_count(V_TIMER, before + PERIODS, WAIT_LONG),
		     "%u interrupts, want %u", vcount[V_TIMER] - before, PERIODS))
		goto stop;
	for (unsigned i = 1; i < PERIODS && i < n_events; i++) {
		uint64_t gap = events[i].tsc - events[i - 1].tsc;

		if (gap < gap_min)
			gap_min = gap;
	}
	printf("irqchip: periodic: shortest of %u gaps %llu TSC ticks (one period ~%llu)\n",
	       PERIODS - 1, gap_min, expect);
	reportf("timer periodic interval not shorter than half a period", gap_min >= expect / 2,
		"gap %llu, period ~%llu", gap_min, expect);
	c = apic_read(APIC_TMCCT);
	reportf("timer periodic tmcct reloads", c > 0 && c <= PERIOD_COUNT, "tmcct %u", c);
stop:
	apic_write(APIC_TMICT, 0);
	/* An expiry may have come while IF was 0: that one is still taken. */
	open_window(WAIT_SHORT);
	after = vcount[V_TIMER];
	open_window(4 * expect + WAIT_SHORT);
	check_u32("timer periodic stops when tmict is 0", vcount[V_TIMER] - after, 0);
	apic_write(APIC_LVTT, LVT_MASKED | V_TIMER);
}

static void timer_masked(void)
{
	uint32_t before = vcount[V_TIMER];
	uint64_t end = rdtsc() + WAIT_LONG;

	apic_write(APIC_LVTT, LVT_MASKED | V_TIMER);
	apic_write(APIC_TMICT, MASKED_COUNT);
	sti();
	while (apic_read(APIC_TMCCT) && rdtsc() < end)
		pause();
	cli();
	check_u32("timer masked: tmcct reaches 0", apic_read(APIC_TMCCT), 0);
	open_window(WAIT_SHORT);
	check_u32("timer masked lvt does not fire", vcount[V_TIMER] - before, 0);
	report("timer masked: nothing pending", !apic_vec_bit(APIC_IRR, V_TIMER));
}

static void timer_tsc_deadline(void)
{
	uint32_t before;
	uint64_t d, span = oneshot_tsc ? oneshot_tsc : 1000000;

	if (!(cpuid(1, 0).ecx & CPUID1_ECX_TSCDL)) {
		skip("timer tsc-deadline", "CPUID.1:ECX[24] clear");
		return;
	}
	apic_write(APIC_LVTT, V_TIMER | LVTT_TSCDL);
	check_u32("timer tsc-deadline mode in lvtt", apic_read(APIC_LVTT) & (3u << 17), LVTT_TSCDL);
	check_u64("timer tsc-deadline msr disarmed", rdmsr(MSR_TSC_DEADLINE), 0);

	before = vcount[V_TIMER];
	clear_log();
	d = rdtsc() + span;
	wrmsr(MSR_TSC_DEADLINE, d);
	check_u64("timer tsc-deadline msr reads back", rdmsr(MSR_TSC_DEADLINE), d);
	if (reportf("timer tsc-deadline fires", wait_count(V_TIMER, before + 1, WAIT_LONG),
		    "no interrupt")) {
		reportf("timer tsc-deadline not before the deadline", events[0].tsc >= d,
			"taken at %llu, deadline %llu", events[0].tsc, d);
		check_u64("timer tsc-deadline msr 0 after firing", rdmsr(MSR_TSC_DEADLINE), 0);
	}

	before = vcount[V_TIMER];
	wrmsr(MSR_TSC_DEADLINE, rdtsc() - 1000);
	reportf("timer tsc-deadline in the past fires at once",
		wait_count(V_TIMER, before + 1, WAIT_SHORT), "no interrupt");

	before = vcount[V_TIMER];
	wrmsr(MSR_TSC_DEADLINE, rdtsc() + span);
	wrmsr(MSR_TSC_DEADLINE, 0);
	open_window(3 * span + WAIT_SHORT);
	check_u32("timer tsc-deadline write 0 disarms", vcount[V_TIMER] - before, 0);

	before = vcount[V_TIMER];
	apic_write(APIC_TMICT, MASKED_COUNT);
	open_window(3 * span + WAIT_SHORT);
	check_u32("timer tsc-deadline mode ignores tmict", vcount[V_TIMER] - before, 0);
	apic_write(APIC_LVTT, LVT_MASKED | V_TIMER);
}

/* ---- IPIs, priority, TPR ----------------------------------------------------- */

#define V_A 0x61
#define V_B 0x62
#define V_C 0x81
#define V_D 0x85
#define V_E 0x91
#define V_F 0x92
#define V_G 0x75
#define V_H 0x65
#define V_I 0x95
#define V_J 0xa1
#define V_K 0xa2
#define V_L 0xa5

/* Each test counts its own IPIs from 0. */
static void zero_ipi_counts(void)
{
	for (unsigned v = V_H & 0xf0; v <= (V_L | 0xf); v++)
		vcount[v] = 0;
}

static void self_ipis(void)
{
	zero_ipi_counts();
	clear_log();
	self_ipi(V_A);
	report("ipi self: pending in irr while if=0", apic_vec_bit(APIC_IRR, V_A));
	check_u32("ipi icr delivery status idle", apic_read(APIC_ICR) & ICR_PENDING, 0);
	check_u32("ipi self: not taken while if=0", vcount[V_A], 0);
	open_window(WAIT_SHORT);
	check_u32("ipi self (shorthand) delivered", vcount[V_A], 1);
	if (n_events) {
		report("ipi in isr, out of irr while handled", events[0].isr && !events[0].irr);
		check_u32("ipi ppr holds its class while handled", events[0].ppr & 0xf0,
			  V_A & 0xf0);
	}
	report("ipi eoi clears isr", isr_empty());
	check_u32("ipi ppr 0 after eoi", apic_read(APIC_PPR), 0);

	apic_icr(my_apic_id, ICR_ASSERT | V_B);
	open_window(WAIT_SHORT);
	check_u32("ipi to own physical apic id delivered", vcount[V_B], 1);
	apic_icr(0, ICR_ALL_INCL | ICR_ASSERT | V_B);
	open_window(WAIT_SHORT);
	check_u32("ipi all-including-self delivered", vcount[V_B], 2);
	report("ipi isr and irr empty", isr_empty() && irr_empty());
}

static void priority(void)
{
	static const uint8_t order2[] = {V_F, V_B};
	static const uint8_t nest[] = {V_C, V_E};

	/* Auto-EOI: two pending, the higher first. */
	zero_ipi_counts();
	clear_log();
	self_ipi(V_B);
	self_ipi(V_F);
	open_window(WAIT_SHORT);
	log_is("priority two pending: highest first", order2, 2);

	/* No EOI in the handlers: what is in service holds back its class and below. */
	eoi_how[V_A] = eoi_how[V_C] = eoi_how[V_D] = eoi_how[V_E] = EOI_NONE;
	clear_log();
	self_ipi(V_A);
	self_ipi(V_C);
	open_window(WAIT_SHORT);
	check_u32("priority higher class taken first", n_events ? events[0].vec : 0, V_C);
	check_u32("priority lower class waits for eoi", vcount[V_A], 0);
	report("priority lower class still in irr", apic_vec_bit(APIC_IRR, V_A));
	check_u32("priority ppr is the in-service class", apic_read(APIC_PPR) & 0xf0, V_C & 0xf0);

	self_ipi(V_D);
	open_window(WAIT_SHORT);
	check_u32("priority same class as in service waits", vcount[V_D], 0);
	self_ipi(V_E);
	open_window(WAIT_SHORT);
	log_is("priority higher class nests", nest, 2);
	report("priority both in isr", apic_vec_bit(APIC_ISR, V_C) && apic_vec_bit(APIC_ISR, V_E));

	apic_eoi();
	report("priority eoi retires the highest in service",
	       !apic_vec_bit(APIC_ISR, V_E) && apic_vec_bit(APIC_ISR, V_C));
	open_window(WAIT_SHORT);
	check_u32("priority same class still waits", vcount[V_D], 0);
	apic_eoi();
	open_window(WAIT_SHORT);
	check_u32("priority after eoi: next class taken", vcount[V_D], 1);
	check_u32("priority after eoi: lower class still waits", vcount[V_A], 0);
	apic_eoi();
	open_window(WAIT_SHORT);
	check_u32("priority last eoi: lowest taken", vcount[V_A], 1);
	apic_eoi();
	report("priority all retired: isr and irr empty", isr_empty() && irr_empty());
	eoi_how[V_A] = eoi_how[V_C] = eoi_how[V_D] = eoi_how[V_E] = EOI_LAPIC;
}

static void tpr(void)
{
	static const uint8_t held[] = {V_D};
	static const uint8_t released[] = {V_G, V_H};

	zero_ipi_counts();
	apic_write(APIC_TPR, 0x70);
	check_u32("tpr reads back", apic_read(APIC_TPR), 0x70);
	check_u32("tpr ppr follows tpr", apic_read(APIC_PPR), 0x70);
	clear_log();
	self_ipi(V_G); /* class 7: at the TPR class */
	self_ipi(V_H); /* class 6: below */
	self_ipi(V_D); /* class 8: above */
	open_window(WAIT_SHORT);
	log_is("tpr holds back vectors at or below its class", held, 1);
	report("tpr held vectors in irr",
	       apic_vec_bit(APIC_IRR, V_G) && apic_vec_bit(APIC_IRR, V_H));
	clear_log();
	apic_write(APIC_TPR, 0);
	open_window(WAIT_SHORT);
	log_is("tpr lowered: held vectors taken, highest first", released, 2);
	report("tpr isr and irr empty", isr_empty() && irr_empty());
}

/* ---- CR8 (64-bit mode only) ----------------------------------------------------- */

static uint64_t lm_pml4[512] __attribute__((aligned(4096)));
static uint64_t lm_pdpt[512] __attribute__((aligned(4096)));
static uint64_t lm_pd[512] __attribute__((aligned(4096)));

/*
 * uint32_t cr8_trip(uint32_t new_cr8): into 64-bit mode (CR3 set by the
 * caller, IF=0), read CR8, write @new_cr8 to it, back to 32-bit protected
 * mode without paging. Returns the CR8 it read.
 */
uint32_t cr8_trip(uint32_t new_cr8);
asm(".pushsection .text\n"
    ".globl cr8_trip\n"
    "cr8_trip:\n\t"
    "pushl %ebx\n\t"
    "movl 8(%esp), %ebx\n\t"
    "movl %cr4, %eax\n\torl $0x20, %eax\n\tmovl %eax, %cr4\n\t"
    "movl $0xc0000080, %ecx\n\trdmsr\n\torl $0x100, %eax\n\twrmsr\n\t"
    "movl %cr0, %eax\n\torl $0x80000000, %eax\n\tmovl %eax, %cr0\n\t"
    "ljmp $" __stringify(
	SEL_CODE64) ", $1f\n"
		    ".code64\n"
		    "1:\tmovl %esp, %esp\n\t"
		    "movq %cr8, %rdx\n\t"
		    "movl %ebx, %ebx\n\t"
		    "movq %rbx, %cr8\n\t"
		    "pushq $" __stringify(
			SEL_CODE32) "\n\t"
				    "movl $2f, %eax\n\t"
				    "pushq %rax\n\t"
				    "lretq\n"
				    ".code32\n"
				    "2:\tmovl %cr0, %eax\n\tandl $0x7fffffff, %eax\n\tmovl %eax, "
				    "%cr0\n\t"
				    "movl %edx, %ebx\n\t"
				    "movl $0xc0000080, %ecx\n\trdmsr\n\tandl $~0x100, "
				    "%eax\n\twrmsr\n\t"
				    "movl %cr4, %eax\n\tandl $~0x20, %eax\n\tmovl %eax, %cr4\n\t"
				    "movl %ebx, %eax\n\t"
				    "popl %ebx\n\t"
				    "ret\n"
				    ".popsection");

static uint32_t cr8_swap(uint32_t v)
{
	uint32_t cr3 = read_cr3(), old;

	write_cr3((uint32_t)lm_pml4);
	old = cr8_trip(v);
	write_cr3(cr3);
	return old;
}

static void cr8(void)
{
	static const uint8_t held[] = {V_I};
	static const uint8_t released[] = {V_D, V_G};

	if (!(cpuid(0x80000001, 0).edx & CPUID81_EDX_LM)) {
		skip("cr8", "no long mode (CPUID.80000001:EDX.LM clear): CR8 needs 64-bit mode");
		return;
	}
	for (uint32_t i = 0; i < 512; i++)
		lm_pd[i] = (uint64_t)i << 21 | 0x83;
	lm_pdpt[0] = (uint32_t)lm_pd | 3;
	lm_pml4[0] = (uint32_t)lm_pdpt | 3;

	zero_ipi_counts();
	apic_write(APIC_TPR, 0x50);
	check_u32("cr8 reads tpr[7:4]", cr8_swap(8), 5);
	check_u32("cr8 write sets tpr", apic_read(APIC_TPR), 0x80);
	clear_log();
	self_ipi(V_D); /* class 8: at the CR8 class */
	self_ipi(V_G); /* class 7: below */
	self_ipi(V_I); /* class 9: above */
	open_window(WAIT_SHORT);
	log_is("cr8 holds back vectors at or below its class", held, 1);
	clear_log();
	check_u32("cr8 reads back", cr8_swap(0), 8);
	open_window(WAIT_SHORT);
	log_is("cr8 lowered: held vectors taken, highest first", released, 2);
	check_u32("cr8 0: tpr 0", apic_read(APIC_TPR), 0);
	report("cr8 isr and irr empty", isr_empty() && irr_empty());
}

/* ---- IOAPIC ------------------------------------------------------------------------ */

static void ioapic_tests(void)
{
	uint32_t ver = ioapic_read(1), id = (ioapic_read(0) >> 24) & 0xf, low;
	bool all_masked = true;
	long r;

	check_u32("ioapic version 0x11", ver & 0xff, 0x11);
	check_u32("ioapic 24 pins", ((ver >> 16) & 0xff) + 1, IOAPIC_NR_PINS);
	if (ioapic_id_tables != 0xff)
		check_u32("ioapic id as in the mp table", id, ioapic_id_tables);
	for (unsigned pin = 0; pin < IOAPIC_NR_PINS; pin++)
		if (!(ioapic_read(IOAPIC_REDTBL + 2 * pin) & RTE_MASKED))
			all_masked = false;
	report("ioapic every pin masked at reset", all_masked);
	ioapic_set_pin(PIN_EDGE, RTE_MASKED | V_IO_EDGE, my_apic_id);
	check_u32("ioapic redirection entry reads back",
		  ioapic_read(IOAPIC_REDTBL + 2 * PIN_EDGE) & 0x1ffff, RTE_MASKED | V_IO_EDGE);
	check_u32("ioapic redirection destination reads back",
		  ioapic_read(IOAPIC_REDTBL + 2 * PIN_EDGE + 1) >> 24, my_apic_id);

	/* Edge. */
	ioapic_set_pin(PIN_EDGE, V_IO_EDGE, my_apic_id);
	clear_log();
	r = irq_line(PIN_EDGE, 1);
	reportf("ioapic irq line hypercall accepted",
		r != -HC_EINVAL && r != -HC_ENXIO && r != -HC_ENOSYS, "returned %ld", r);
	irq_line(PIN_EDGE, 0);
	reportf("ioapic edge pin delivers its vector", wait_count(V_IO_EDGE, 1, WAIT_LONG),
		"no vector 0x%x", V_IO_EDGE);
	if (n_events)
		report("ioapic edge: tmr clear, in isr", !events[0].tmr && events[0].isr);
	irq_line(PIN_EDGE, 1);
	irq_line(PIN_EDGE, 0);
	reportf("ioapic edge pin delivers again on the next edge",
		wait_count(V_IO_EDGE, 2, WAIT_LONG), "%u deliveries", vcount[V_IO_EDGE]);
	ioapic_set_pin(PIN_EDGE, RTE_MASKED | V_IO_EDGE, my_apic_id);
	irq_line(PIN_EDGE, 1);
	irq_line(PIN_EDGE, 0);
	open_window(WAIT_SHORT);
	check_u32("ioapic masked pin delivers nothing", vcount[V_IO_EDGE], 2);
	check_u32("ioapic irq line: level 2 refused", (uint32_t)irq_line(PIN_EDGE, 2),
		  (uint32_t)-HC_EINVAL);

	/* Level, active high: remote IRR until EOI, re-sent while the line stays high. */
	eoi_how[V_IO_LEVEL] = EOI_NONE;
	ioapic_set_pin(PIN_LEVEL, RTE_LEVEL | V_IO_LEVEL, my_apic_id);
	clear_log();
	irq_line(PIN_LEVEL, 1);
	if (!reportf("ioapic level pin delivers its vector", wait_count(V_IO_LEVEL, 1, WAIT_LONG),
		     "no vector 0x%x", V_IO_LEVEL))
		goto out;
	report("ioapic level: tmr set, in isr", events[0].tmr && events[0].isr);
	low = ioapic_read(IOAPIC_REDTBL + 2 * PIN_LEVEL);
	reportf("ioapic level: remote irr set until eoi", low & RTE_REMOTE_IRR, "entry 0x%x", low);
	open_window(WAIT_SHORT);
	check_u32("ioapic level: not sent again before eoi", vcount[V_IO_LEVEL], 1);
	apic_eoi();
	reportf("ioapic level: eoi with the line high sends it again",
		wait_count(V_IO_LEVEL, 2, WAIT_LONG), "%u deliveries", vcount[V_IO_LEVEL]);
	irq_line(PIN_LEVEL, 0);
	apic_eoi();
	low = ioapic_read(IOAPIC_REDTBL + 2 * PIN_LEVEL);
	reportf("ioapic level: eoi clears remote irr", !(low & RTE_REMOTE_IRR), "entry 0x%x", low);
	open_window(WAIT_SHORT);
	check_u32("ioapic level: line low, nothing more", vcount[V_IO_LEVEL], 2);

	ioapic_set_pin(PIN_LEVEL, RTE_MASKED | RTE_LEVEL | V_IO_LEVEL, my_apic_id);
	irq_line(PIN_LEVEL, 1);
	open_window(WAIT_SHORT);
	check_u32("ioapic level: masked pin held", vcount[V_IO_LEVEL], 2);
	ioapic_write(IOAPIC_REDTBL + 2 * PIN_LEVEL, RTE_LEVEL | V_IO_LEVEL);
	reportf("ioapic level: unmasking an asserted pin delivers",
		wait_count(V_IO_LEVEL, 3, WAIT_LONG), "%u deliveries", vcount[V_IO_LEVEL]);
	irq_line(PIN_LEVEL, 0);
	if (vcount[V_IO_LEVEL] == 3)
		apic_eoi();
out:
	irq_line(PIN_LEVEL, 0);
	ioapic_set_pin(PIN_LEVEL, RTE_MASKED | RTE_LEVEL | V_IO_LEVEL, my_apic_id);
	eoi_how[V_IO_LEVEL] = EOI_LAPIC;
	report("ioapic isr and irr empty", isr_empty() && irr_empty());
}

/* ---- 8259 PICs -------------------------------------------------------------------- */

static void pic_init(uint8_t master_base, uint8_t slave_base)
{
	outb(PIC1_CMD, 0x11); /* ICW1: edge, cascade, ICW4 follows */
	outb(PIC1_DAT, master_base);
	outb(PIC1_DAT, 0x04); /* ICW3: slave on IR2 */
	outb(PIC1_DAT, 0x01); /* ICW4: 8086 mode, normal EOI */
	outb(PIC2_CMD, 0x11);
	outb(PIC2_DAT, slave_base);
	outb(PIC2_DAT, 0x02); /* ICW3: slave id 2 */
	outb(PIC2_DAT, 0x01);
	outb(PIC1_DAT, 0xff);
	outb(PIC2_DAT, 0xff);
}

static void pic_tests(void)
{
	uint8_t v1 = V_PIC1 + IRQ_PIC1, v2 = V_PIC2 + IRQ_PIC2 - 8;

	for (unsigned v = V_PIC1; v < V_PIC1 + 16; v++)
		eoi_how[v] = EOI_PIC;
	pic_init(V_PIC1, V_PIC2);
	check_u32("pic master imr reads back", inb(PIC1_DAT), 0xff);
	check_u32("pic slave imr reads back", inb(PIC2_DAT), 0xff);
	apic_write(APIC_LVT0, LVT_EXTINT);

	clear_log();
	outb(PIC1_DAT, (uint8_t) ~(1u << IRQ_PIC1));
	irq_line(IRQ_PIC1, 1);
	irq_line(IRQ_PIC1, 0);
	if (reportf("pic master irq delivers icw2 base + irq", wait_count(v1, 1, WAIT_LONG),
		    "no vector 0x%x", v1)) {
		check_u32("pic isr bit set while handled", events[0].pic_isr, 1u << IRQ_PIC1);
		check_u32("pic eoi clears isr", pic_read(PIC1_CMD, OCW3_ISR), 0);
		report("pic extint leaves lapic isr empty", isr_empty());
	}

	outb(PIC1_DAT, 0xff);
	irq_line(IRQ_PIC1, 1);
	irq_line(IRQ_PIC1, 0);
	open_window(WAIT_SHORT);
	check_u32("pic imr masks the irq", vcount[v1], 1);
	check_u32("pic masked irq latched in irr", pic_read(PIC1_CMD, OCW3_IRR) & (1u << IRQ_PIC1),
		  1u << IRQ_PIC1);
	outb(PIC1_DAT, (uint8_t) ~(1u << IRQ_PIC1));
	reportf("pic unmasking delivers the latched irq", wait_count(v1, 2, WAIT_LONG),
		"%u deliveries", vcount[v1]);
	outb(PIC1_DAT, 0xff);

	clear_log();
	outb(PIC1_DAT, (uint8_t) ~(1u << 2));
	outb(PIC2_DAT, (uint8_t) ~(1u << (IRQ_PIC2 - 8)));
	irq_line(IRQ_PIC2, 1);
	irq_line(IRQ_PIC2, 0);
	if (reportf("pic slave irq delivers through the cascade", wait_count(v2, 1, WAIT_LONG),
		    "no vector 0x%x", v2)) {
		check_u32("pic slave isr bit set while handled", events[0].pic_isr,
			  1u << (IRQ_PIC2 - 8));
		check_u32("pic slave and master eoi clear isr",
			  pic_read(PIC2_CMD, OCW3_ISR) | pic_read(PIC1_CMD, OCW3_ISR), 0);
	}
	outb(PIC1_DAT, 0xff);
	outb(PIC2_DAT, 0xff);
	apic_write(APIC_LVT0, LVT_MASKED | LVT_EXTINT);
}

/* ---- x2APIC ------------------------------------------------------------------------ */

GUEST_INSN(read_x2apic_id, "movl $0x802, %ecx", "rdmsr");

static void set_apic_base(void *arg)
{
	wrmsr(MSR_APIC_BASE, *(uint64_t *)arg);
}

static void x2apic_tests(void)
{
	static const uint8_t tpr_released[] = {V_L, V_J};
	uint64_t base = rdmsr(MSR_APIC_BASE) & ~(uint64_t)(APIC_BASE_EXTD);
	uint64_t x2 = base | APIC_BASE_EN | APIC_BASE_EXTD, off = base & ~(uint64_t)APIC_BASE_EN;
	uint64_t xapic = base | APIC_BASE_EN;
	uint32_t lvr = apic_read(APIC_LVR);

	if (!(cpuid(1, 0).ecx & CPUID1_ECX_X2APIC)) {
		skip("x2apic", "CPUID.1:ECX[21] clear");
		return;
	}
	expect_exception("x2apic msr #GP in xapic mode", VEC_GP, 0, read_x2apic_id_at,
			 read_x2apic_id, NULL);
	if (!expect_no_exception("x2apic enable (ia32_apic_base extd)", set_apic_base, &x2))
		return;
	x2apic = true;
	zero_ipi_counts();
	reportf("x2apic mode in ia32_apic_base", rdmsr(MSR_APIC_BASE) & APIC_BASE_EXTD, "0x%llx",
		rdmsr(MSR_APIC_BASE));
	check_u32("x2apic id msr", apic_read(APIC_ID), my_apic_id);
	check_u32("x2apic version msr as xapic's", apic_read(APIC_LVR), lvr);
	check_u32("x2apic ldr derived from the id", apic_read(APIC_LDR),
		  (my_apic_id >> 4) << 16 | 1u << (my_apic_id & 0xf));
	check_u32("x2apic spiv kept", apic_read(APIC_SPIV) & 0x1ff, SPIV_ENABLE | V_SPURIOUS);
	check_u32("x2apic xapic mmio page gone (reads all ones)", mmio_read32(lapic + APIC_ID),
		  0xffffffff);

	clear_log();
	wrmsr(MSR_X2APIC_SELF, V_J);
	report("x2apic self_ipi msr: pending while if=0", apic_vec_bit(APIC_IRR, V_J));
	open_window(WAIT_SHORT);
	check_u32("x2apic self_ipi msr delivers", vcount[V_J], 1);
	if (n_events)
		report("x2apic in isr while handled (isr msrs)", events[0].isr);
	report("x2apic eoi msr clears isr", isr_empty());
	wrmsr(MSR_X2APIC_ICR, ICR_SELF | ICR_ASSERT | V_K);
	open_window(WAIT_SHORT);
	check_u32("x2apic icr msr self ipi delivers", vcount[V_K], 1);

	apic_write(APIC_TPR, 0xa0);
	clear_log();
	wrmsr(MSR_X2APIC_SELF, V_J); /* class 0xa: at the TPR class */
	wrmsr(MSR_X2APIC_SELF, V_L);
	open_window(WAIT_SHORT);
	check_u32("x2apic tpr msr holds back its class", n_events, 0);
	apic_write(APIC_TPR, 0x90);
	open_window(WAIT_SHORT);
	log_is("x2apic tpr lowered: held vectors taken, highest first", tpr_released, 2);
	clear_log();
	wrmsr(MSR_X2APIC_SELF, V_I); /* class 9: at the TPR class again */
	open_window(WAIT_SHORT);
	check_u32("x2apic tpr 0x90 holds back class 9", vcount[V_I], 0);
	apic_write(APIC_TPR, 0);
	open_window(WAIT_SHORT);
	check_u32("x2apic tpr 0 releases it", vcount[V_I], 1);
	report("x2apic isr and irr empty", isr_empty() && irr_empty());

	expect_exception("x2apic -> xapic directly is #GP", VEC_GP, 0, NULL, set_apic_base, &xapic);
	if (expect_no_exception("x2apic disable", set_apic_base, &off))
		x2apic = false;
	if (expect_no_exception("xapic re-enable after disable", set_apic_base, &xapic)) {
		x2apic = false;
		check_u32("xapic mmio back after re-enable", apic_read(APIC_ID) >> 24, my_apic_id);
		apic_write(APIC_SPIV, SPIV_ENABLE | V_SPURIOUS);
	}
}

/* ---- HLT in the hypervisor -------------------------------------------------------- */

static void hlt_wakes(void)
{
	uint32_t before = vcount[V_TIMER];

	apic_write(APIC_LVTT, V_TIMER);
	apic_write(APIC_TMICT, ONESHOT_COUNT);
	asm volatile("sti; hlt; cli" ::: "memory");
	check_u32("hlt: the timer interrupt wakes the vcpu", vcount[V_TIMER] - before, 1);
}

void guest_main(void)
{
	for (unsigned v = 0; v < 256; v++)
		eoi_how[v] = EOI_LAPIC;
	eoi_how[V_SPURIOUS] = EOI_NONE;
	intr_install(irq_dispatch);
	printf("irqchip: guest with an irqchip; cpuid.1 ecx 0x%x edx 0x%x\n", cpuid(1, 0).ecx,
	       cpuid(1, 0).edx);

	/* The PIC first, so that a raised line cannot reach LINT0 unprogrammed. */
	pic_init(V_PIC1, V_PIC2);
	lapic_basics();
	tables_mp();
	tables_acpi();
	timer_oneshot();
	timer_periodic();
	timer_masked();
	timer_tsc_deadline();
	self_ipis();
	priority();
	tpr();
	cr8();
	ioapic_tests();
	pic_tests();
	x2apic_tests();
	check_u32("no spurious interrupt", vcount[V_SPURIOUS], 0);
	check_u32("no apic error interrupt", vcount[V_ERROR], 0);
	hlt_wakes();
	done();
}
