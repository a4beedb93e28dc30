// SPDX-License-Identifier: MIT
/*
 * The fake CPU behind tests/host/fake/hv/x86.h: registers, MSRs and CPUID
 * of a model, with real hardware's refusals turned into host faults.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/lib/msr.h"
#include "hv/lib/x86.h"
#include "tests/host/fake.h"
#include "vmx/vmx_controls.h"

#define XCR0_PKRU	(1ull << 9) /* XCR0_X87..XCR0_AVX512: hv/lib/x86.h */
#define CR4_OSFXSR	(1ul << 9)
#define CR4_OSXSAVE_BIT (1ul << 18)

static enum fake_model model;

static struct {
	uint64_t cr0, cr2, cr3, cr4, xcr0;
	uint64_t dr[4], dr6;
	uint64_t tsc;
	uint64_t xinuse; /* components not in their initial state */
	/* The register file in XSAVE's standard form (legacy, header, components). */
	uint8_t fpu[4096] __attribute__((aligned(64)));
} cpu;

struct fake_wrmsr_log fake_wrmsr_log;

/* ---- faults ---------------------------------------------------------- */

void fake_host_fault(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fake CPU: host fault: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

/* ---- MSRs -------------------------------------------------------------- */

struct msr_row {
	uint32_t index;
	uint64_t value;
	bool writable;
};

#define MAX_MSRS 48
static struct msr_row msrs[MAX_MSRS];
static unsigned n_msrs;

static void msr_add(uint32_t index, uint64_t value, bool writable)
{
	if (n_msrs == MAX_MSRS)
		fake_host_fault("fake CPU: MSR table full");
	msrs[n_msrs++] = (struct msr_row){index, value, writable};
}

static struct msr_row *msr_find(uint32_t index)
{
	for (unsigned i = 0; i < n_msrs; i++)
		if (msrs[i].index == index)
			return &msrs[i];
	return NULL;
}

static bool canonical48(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

static bool canonical57(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 7) >> 7) == a;
}

/* Canonical for the model's linear-address width (LA57 counts only when on). */
static bool canonical(uint64_t a)
{
	return (cpu.cr4 & CR4_LA57) ? canonical57(a) : canonical48(a);
}

static bool has_rdtscp(void)
{
	return model != FAKE_MODEL_OLD;
}

/* Ice Lake's features (LA57, PKU, AVX-512, PKS in CPUID): ICELAKE and SAPPHIRE. */
static bool icelake_class(void)
{
	return model == FAKE_MODEL_ICELAKE || model == FAKE_MODEL_SAPPHIRE;
}

uint64_t rdmsr(uint32_t msr)
{
	struct msr_row *r = msr_find(msr);

	if (!r)
		fake_host_fault("rdmsr 0x%x: no such MSR on this CPU", msr);
	if (msr == MSR_IA32_TSC)
		return cpu.tsc;
	return r->value;
}

static bool valid_pat(uint64_t pat)
{
	for (int i = 0; i < 8; i++) {
		uint8_t t = pat >> (8 * i) & 0xff;

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

void wrmsr(uint32_t msr, uint64_t val)
{
	struct msr_row *r = msr_find(msr);

	if (!r || !r->writable)
		fake_host_fault("wrmsr 0x%x = 0x%llx: MSR %s", msr, (unsigned long long)val,
				r ? "is read-only" : "does not exist");
	switch (msr) {
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_LSTAR:
	case MSR_CSTAR:
		if (!canonical(val))
			fake_host_fault("wrmsr 0x%x = 0x%llx: not canonical (#GP)", msr,
					(unsigned long long)val);
		break;
	case MSR_TSC_AUX:
		if (val >> 32)
			fake_host_fault("wrmsr TSC_AUX = 0x%llx: bits 63:32 set (#GP)",
					(unsigned long long)val);
		break;
	case MSR_IA32_PKRS:
		if (val >> 32)
			fake_host_fault("wrmsr IA32_PKRS = 0x%llx: bits 63:32 set (#GP)",
					(unsigned long long)val);
		break;
	case MSR_IA32_PAT:
		if (!valid_pat(val))
			fake_host_fault("wrmsr PAT = 0x%llx: reserved memory type (#GP)",
					(unsigned long long)val);
		break;
	case MSR_IA32_EFER:
		if (val & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
			fake_host_fault("wrmsr EFER = 0x%llx: reserved bits (#GP)",
					(unsigned long long)val);
		break;
	case MSR_IA32_FEATURE_CONTROL:
		if (r->value & FEATURE_CONTROL_LOCK)
			fake_host_fault("wrmsr IA32_FEATURE_CONTROL while locked (#GP)");
		break;
	case MSR_IA32_TSC:
		cpu.tsc = val;
		break;
	}
	r->value = val;
	fake_wrmsr_log.count++;
	fake_wrmsr_log.last_msr = msr;
	fake_wrmsr_log.last_val = val;
}

uint64_t fake_msr_value(uint32_t msr)
{
	return rdmsr(msr);
}

void fake_msr_set(uint32_t msr, uint64_t val)
{
	struct msr_row *r = msr_find(msr);

	if (!r)
		fake_host_fault("fake_msr_set 0x%x: no such MSR on this CPU", msr);
	if (msr == MSR_IA32_TSC)
		cpu.tsc = val;
	r->value = val;
}

/* ---- CPUID ------------------------------------------------------------- */

static uint64_t xcr0_supported(void)
{
	switch (model) {
	case FAKE_MODEL_ICELAKE:
	case FAKE_MODEL_SAPPHIRE:
		return XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_AVX512 | XCR0_PKRU;
	case FAKE_MODEL_SKYLAKE:
		return XCR0_X87 | XCR0_SSE | XCR0_AVX;
	default:
		return 0;
	}
}

/* XSAVE component layout (standard form): offset and size, by bit. */
static const struct {
	uint32_t offset, size;
} xcomp[10] = {
    [2] = {576, 256}, [5] = {1088, 64}, [6] = {1152, 512}, [7] = {1664, 1024}, [9] = {2688, 8},
};

static uint32_t xsave_size(uint64_t xcr0)
{
	uint32_t end = 576;

	for (unsigned i = 2; i < 10; i++)
		if ((xcr0 >> i & 1) && xcomp[i].size && xcomp[i].offset + xcomp[i].size > end)
			end = xcomp[i].offset + xcomp[i].size;
	return end;
}

struct cpuid_regs cpuid(uint32_t leaf, uint32_t sub)
{
	struct cpuid_regs r = {0, 0, 0, 0};
	bool old = model == FAKE_MODEL_OLD, ice = icelake_class();
	uint32_t max_basic = old ? 0xb : 0x16;

	if (leaf < 0x80000000 && leaf > max_basic)
		return r;
	switch (leaf) {
	case 0:
		r.eax = max_basic;
		memcpy(&r.ebx, "Genu", 4);
		memcpy(&r.edx, "ineI", 4);
		memcpy(&r.ecx, "ntel", 4);
		break;
	case 1:
		r.eax = model == FAKE_MODEL_SAPPHIRE ? 0x000806f8 : ice ? 0x000706e5 : 0x000506e3;
		r.ebx = 0x00100800;
		/* SSE3 PCLMUL MONITOR VMX SMX SSSE3 CX16 PDCM PCID SSE4.1/4.2 x2APIC
		 * MOVBE POPCNT TSC-deadline AES, and XSAVE/AVX/F16C/RDRAND past old. */
		r.ecx = 0x1 | 0x2 | 0x8 | 0x20 | 0x40 | 0x200 | 0x2000 | 0x8000 | 0x20000 |
			0x80000 | 0x100000 | 0x200000 | 0x400000 | 0x800000 | 0x1000000 | 0x2000000;
		if (!old)
			r.ecx |= (1u << 26) | (1u << 28) | (1u << 29) | (1u << 30);
		if (!old && (cpu.cr4 & CR4_OSXSAVE_BIT))
			r.ecx |= 1u << 27;
		r.edx = 0xbfebfbff;
		break;
	case 4:
		if (sub < 4) {
			static const uint32_t eax[4] = {0x1c004121, 0x1c004122, 0x1c004143,
							0x1c03c163};
			r.eax = eax[sub];
			r.ebx = 0x01c0003f;
			r.ecx = 0x3f;
		}
		break;
	case 7:
		if (sub == 0) {
			r.ebx = 0x1 | 0x4 | 0x8 | 0x20 | 0x80 | 0x100 | 0x200 | 0x400;
			if (ice) { /* PKU WAITPKG LA57 PKS */
				r.ecx = (1u << 3) | (1u << 5) | (1u << 16) | (1u << 31);
				r.ebx |= 1u << 16; /* AVX512F */
			}
		}
		break;
	case 0xb:
		if (sub == 0) {
			r.eax = 1;
			r.ebx = 2;
			r.ecx = 0x100;
		} else if (sub == 1) {
			r.eax = 4;
			r.ebx = 8;
			r.ecx = 0x201;
		} else {
			r.ecx = sub;
		}
		break;
	case 0xd:
		if (old)
			break;
		if (sub == 0) {
			r.eax = (uint32_t)xcr0_supported();
			r.edx = (uint32_t)(xcr0_supported() >> 32);
			r.ebx = xsave_size(cpu.xcr0);
			r.ecx = xsave_size(xcr0_supported());
		} else if (sub == 1) {
			r.eax = 0xf;
		} else if (sub < 10 && (xcr0_supported() >> sub & 1) && xcomp[sub].size) {
			r.eax = xcomp[sub].size;
			r.ebx = xcomp[sub].offset;
		}
		break;
	case 0x80000000:
		r.eax = 0x80000008;
		break;
	case 0x80000001:
		r.ecx = 0x1 | 0x20 | 0x100;
		r.edx = (1u << 11) | (1u << 20) | (1u << 26) | (1u << 29);
		if (has_rdtscp())
			r.edx |= 1u << 27;
		break;
	case 0x80000008:
		r.eax = ice ? 0x392e : 0x3027;
		break;
	}
	return r;
}

/* ---- control, debug and other registers -------------------------------- */

static uint64_t cr4_supported(void)
{
	/* VME..OSXMMEXCPT, VMXE, SMXE, FSGSBASE, PCIDE, OSXSAVE, SMEP, SMAP */
	uint64_t s =
	    0x7ff | CR4_VMXE | CR4_SMXE | (1ul << 16) | CR4_PCIDE | (1ul << 20) | (1ul << 21);

	if (model != FAKE_MODEL_OLD)
		s |= CR4_OSXSAVE_BIT;
	if (icelake_class()) /* LA57 UMIP PKE PKS */
		s |= CR4_LA57 | (1ul << 11) | (1ul << 22) | CR4_PKS;
	return s;
}

uint64_t read_cr0(void)
{
	return cpu.cr0;
}
uint64_t read_cr2(void)
{
	return cpu.cr2;
}
uint64_t read_cr3(void)
{
	return cpu.cr3;
}
uint64_t read_cr4(void)
{
	return cpu.cr4;
}

void write_cr0(uint64_t v)
{
	if ((v >> 32) || ((v & CR0_NW) && !(v & CR0_CD)) || ((v & CR0_PG) && !(v & CR0_PE)))
		fake_host_fault("mov cr0, 0x%llx (#GP)", (unsigned long long)v);
	cpu.cr0 = v;
}

void write_cr2(uint64_t v)
{
	cpu.cr2 = v;
}

void write_cr4(uint64_t v)
{
	if (v & ~cr4_supported())
		fake_host_fault("mov cr4, 0x%llx: unsupported bits 0x%llx (#GP)",
				(unsigned long long)v, (unsigned long long)(v & ~cr4_supported()));
	if ((cpu.cr4 & CR4_VMXE) && !(v & CR4_VMXE) && fake_vmcs_current() != 0)
		fake_host_fault("mov cr4: clearing VMXE in VMX operation (#GP)");
	cpu.cr4 = v;
}

uint64_t read_rflags(void)
{
	return 0x2;
}
void cli(void)
{
}
void hlt(void)
{
	fake_host_fault("hlt: the host would stop here");
}

void lgdt(const struct desc_ptr *p)
{
	(void)p;
}
void lidt(const struct desc_ptr *p)
{
	(void)p;
}

struct desc_ptr sgdt(void)
{
	return (struct desc_ptr){.limit = 0x27, .base = 0x10000};
}

struct desc_ptr sidt(void)
{
	return (struct desc_ptr){.limit = 0xfff, .base = 0x11000};
}

void ltr(uint16_t sel)
{
	(void)sel;
}

uint64_t read_dr0(void)
{
	return cpu.dr[0];
}
uint64_t read_dr1(void)
{
	return cpu.dr[1];
}
uint64_t read_dr2(void)
{
	return cpu.dr[2];
}
uint64_t read_dr3(void)
{
	return cpu.dr[3];
}
uint64_t read_dr6(void)
{
	return cpu.dr6;
}
void write_dr0(uint64_t v)
{
	cpu.dr[0] = v;
}
void write_dr1(uint64_t v)
{
	cpu.dr[1] = v;
}
void write_dr2(uint64_t v)
{
	cpu.dr[2] = v;
}
void write_dr3(uint64_t v)
{
	cpu.dr[3] = v;
}

void write_dr6(uint64_t v)
{
	if (v >> 32)
		fake_host_fault("mov dr6, 0x%llx: bits 63:32 set (#GP)", (unsigned long long)v);
	/* Bits that read as 1 whatever is written (RTM's bit 16 aside). */
	cpu.dr6 = v | 0xfffe0ff0ull;
}

uint64_t fake_dr(unsigned n)
{
	return n < 4 ? cpu.dr[n] : cpu.dr6;
}

uint64_t fake_cr2(void)
{
	return cpu.cr2;
}
void fake_set_cr2(uint64_t v)
{
	cpu.cr2 = v;
}
uint64_t fake_xcr0(void)
{
	return cpu.xcr0;
}

void xsetbv(uint32_t index, uint64_t val)
{
	uint64_t ok = xcr0_supported();

	if (!(cpu.cr4 & CR4_OSXSAVE_BIT))
		fake_host_fault("xsetbv with CR4.OSXSAVE clear (#UD)");
	if (index != 0 || !(val & XCR0_X87) || (val & ~ok) ||
	    ((val & XCR0_AVX) && !(val & XCR0_SSE)) ||
	    ((val & XCR0_AVX512) && (val & XCR0_AVX512) != XCR0_AVX512) ||
	    ((val & XCR0_AVX512) && !(val & XCR0_AVX)))
		fake_host_fault("xsetbv %u, 0x%llx (#GP)", index, (unsigned long long)val);
	cpu.xcr0 = val;
}

unsigned fake_sti_windows;
void (*fake_irq_hook)(void);

void sti_nop_cli(void)
{
	fake_sti_windows++;
	if (fake_irq_hook)
		fake_irq_hook();
}

void (*fake_hlt_hook)(void);
uint64_t fake_hlt_ticks = 2000000;
unsigned fake_hlts, fake_hlts_in_a_row;

void sti_hlt_cli(void)
{
	fake_hlts++;
	if (++fake_hlts_in_a_row > FAKE_HLT_LIMIT)
		fake_host_fault("sti; hlt %u times with no VM entry: nothing wakes the CPU",
				fake_hlts_in_a_row);
	cpu.tsc += fake_hlt_ticks;
	if (fake_hlt_hook)
		fake_hlt_hook();
}

uint64_t rdtsc(void)
{
	return cpu.tsc++;
}

void fake_tsc_advance(uint64_t ticks)
{
	cpu.tsc += ticks;
}

void outb(uint16_t port, uint8_t val)
{
	fake_host_fault("outb 0x%x, 0x%x: no device", port, val);
}

uint8_t inb(uint16_t port)
{
	fake_host_fault("inb 0x%x: no device", port);
}

void outl(uint16_t port, uint32_t val)
{
	fake_host_fault("outl 0x%x, 0x%x: no device", port, val);
}

/* ---- x87/SSE/AVX ----------------------------------------------------- */

#define FX_MXCSR      24
#define FX_MXCSR_MASK 28
#define XHDR	      512

const uint8_t *fake_fpu_image(void)
{
	return cpu.fpu;
}

uint8_t *fake_fpu_image_mut(void)
{
	cpu.xinuse |= XCR0_X87 | XCR0_SSE;
	return cpu.fpu;
}

static uint32_t mxcsr_mask(void)
{
	uint32_t m;

	memcpy(&m, cpu.fpu + FX_MXCSR_MASK, 4);
	return m;
}

static void fpu_reset(void)
{
	uint16_t fcw = 0x37f;
	uint32_t mxcsr = 0x1f80, mask = 0xffff;

	memset(cpu.fpu, 0, sizeof(cpu.fpu));
	memcpy(cpu.fpu, &fcw, 2);
	memcpy(cpu.fpu + FX_MXCSR, &mxcsr, 4);
	memcpy(cpu.fpu + FX_MXCSR_MASK, &mask, 4);
	cpu.xinuse = 0;
}

/* Loading MXCSR: reserved bits fault (FXRSTOR, XRSTOR). */
static void load_mxcsr(const uint8_t *area, const char *insn)
{
	uint32_t v;

	memcpy(&v, area + FX_MXCSR, 4);
	if (v & ~mxcsr_mask())
		fake_host_fault("%s: MXCSR 0x%x sets reserved bits (#GP)", insn, v);
	memcpy(cpu.fpu + FX_MXCSR, &v, 4);
}

void fake_fpu_insn(const char *text, const void *carea)
{
	uint8_t *area = (uint8_t *)(uintptr_t)carea;
	uint64_t bv, comp, rfbm = cpu.xcr0;
	uint32_t keep_mask = mxcsr_mask();

	if ((uintptr_t)area & 15)
		fake_host_fault("%s: area %p not 16-byte aligned (#GP)", text, (void *)area);
	if (!strncmp(text, "\"fxsave64", 9)) {
		memcpy(area, cpu.fpu, 416);
	} else if (!strncmp(text, "\"fxrstor64", 10)) {
		load_mxcsr(area, "fxrstor");
		memcpy(cpu.fpu, area, 24);
		memcpy(cpu.fpu + 32, area + 32, 416 - 32);
		cpu.xinuse |= XCR0_X87 | XCR0_SSE;
	} else if (!strncmp(text, "\"xsave64", 8)) {
		if (!(cpu.cr4 & CR4_OSXSAVE_BIT))
			fake_host_fault("xsave with CR4.OSXSAVE clear (#UD)");
		if ((uintptr_t)area & 63)
			fake_host_fault("xsave: area %p not 64-byte aligned (#GP)", (void *)area);
		memcpy(area, cpu.fpu, 416);
		memcpy(&bv, area + XHDR, 8);
		bv = (bv & ~rfbm) | (cpu.xinuse & rfbm);
		memcpy(area + XHDR, &bv, 8);
		for (unsigned i = 2; i < 10; i++)
			if ((rfbm >> i & 1) && xcomp[i].size)
				memcpy(area + xcomp[i].offset, cpu.fpu + xcomp[i].offset,
				       xcomp[i].size);
	} else if (!strncmp(text, "\"xrstor64", 9)) {
		static const uint8_t zero[48];

		if (!(cpu.cr4 & CR4_OSXSAVE_BIT))
			fake_host_fault("xrstor with CR4.OSXSAVE clear (#UD)");
		if ((uintptr_t)area & 63)
			fake_host_fault("xrstor: area %p not 64-byte aligned (#GP)", (void *)area);
		memcpy(&bv, area + XHDR, 8);
		memcpy(&comp, area + XHDR + 8, 8);
		if ((bv & ~cpu.xcr0) || comp || memcmp(area + XHDR + 16, zero, 48))
			fake_host_fault(
			    "xrstor: bad header (XSTATE_BV 0x%llx, XCOMP_BV 0x%llx) (#GP)",
			    (unsigned long long)bv, (unsigned long long)comp);
		if (rfbm & (XCR0_SSE | XCR0_AVX))
			load_mxcsr(area, "xrstor");
		if (rfbm & XCR0_X87) {
			if (bv & XCR0_X87) {
				memcpy(cpu.fpu, area, 24);
				memcpy(cpu.fpu + 32, area + 32, 128);
			} else {
				uint16_t fcw = 0x37f;

				memset(cpu.fpu, 0, 24);
				memset(cpu.fpu + 32, 0, 128);
				memcpy(cpu.fpu, &fcw, 2);
			}
		}
		if (rfbm & XCR0_SSE) {
			if (bv & XCR0_SSE)
				memcpy(cpu.fpu + 160, area + 160, 256);
			else
				memset(cpu.fpu + 160, 0, 256);
		}
		for (unsigned i = 2; i < 10; i++)
			if ((rfbm >> i & 1) && xcomp[i].size) {
				if (bv >> i & 1)
					memcpy(cpu.fpu + xcomp[i].offset, area + xcomp[i].offset,
					       xcomp[i].size);
				else
					memset(cpu.fpu + xcomp[i].offset, 0, xcomp[i].size);
			}
		cpu.xinuse = (cpu.xinuse & ~rfbm) | (bv & rfbm);
	} else {
		fake_host_fault("unknown FPU instruction %s", text);
	}
	memcpy(cpu.fpu + FX_MXCSR_MASK, &keep_mask, 4);
}

/* ---- models ------------------------------------------------------------ */

static uint64_t ctl(uint32_t must1, uint32_t may1)
{
	return (uint64_t)may1 << 32 | must1;
}

void fake_cpu_init(enum fake_model m)
{
	bool old = m == FAKE_MODEL_OLD, pks = m == FAKE_MODEL_SAPPHIRE;
	/* The load-IA32_PKRS controls, SAPPHIRE's alone: VM-exit bit 29, VM-entry bit 22. */
	uint32_t exit_pkrs = pks ? VMX_EXIT_LOAD_PKRS : 0,
		 entry_pkrs = pks ? VMX_ENTRY_LOAD_PKRS : 0;
	uint64_t ept = VMX_CAP_EPT_EXEC_ONLY | VMX_CAP_EPT_PWL4 | VMX_CAP_EPT_UC | VMX_CAP_EPT_WB |
		       VMX_CAP_INVEPT | VMX_CAP_INVEPT_ALL;
	uint32_t proc2 = VMX_PROC2_EPT | VMX_PROC2_UNRESTRICTED_GUEST | VMX_PROC2_WBINVD_EXITING |
			 VMX_PROC2_DESC_TABLE_EXITING | VMX_PROC2_VIRT_APIC_ACCESSES;

	model = m;
	fake_vmx_reset();
	memset(&cpu, 0, sizeof(cpu));
	n_msrs = 0;
	memset(&fake_wrmsr_log, 0, sizeof(fake_wrmsr_log));
	cpu.cr0 = 0x80050033; /* PG AM WP NE ET MP PE */
	cpu.cr4 = CR4_PSE | CR4_PAE | CR4_PGE;
	cpu.cr3 = 0x1000;
	cpu.dr6 = 0xffff0ff0;
	cpu.tsc = 1000000;
	fpu_reset();
	if (!old) {
		ept |= VMX_CAP_EPT_2MB | VMX_CAP_EPT_1GB | VMX_CAP_INVEPT_SINGLE | VMX_CAP_EPT_AD |
		       VMX_CAP_INVVPID | VMX_CAP_INVVPID_ADDR | VMX_CAP_INVVPID_SINGLE |
		       VMX_CAP_INVVPID_ALL | VMX_CAP_INVVPID_SINGLE_GLOBALS;
		proc2 |= VMX_PROC2_RDTSCP | VMX_PROC2_VPID | VMX_PROC2_INVPCID | VMX_PROC2_XSAVES |
			 VMX_PROC2_PML;
	}
	if (m == FAKE_MODEL_ICELAKE || pks)
		ept |= VMX_CAP_EPT_PWL5;

	/* Revision 4, 4 KiB regions, write-back, INS/OUTS information, TRUE_* MSRs. */
	msr_add(MSR_IA32_VMX_BASIC, 4 | 0x1000ull << 32 | 6ull << 50 | 1ull << 54 | 1ull << 55,
		false);
	msr_add(MSR_IA32_VMX_PINBASED_CTLS, ctl(0x16, 0xff), false);
	msr_add(MSR_IA32_VMX_TRUE_PINBASED_CTLS, ctl(0x16, 0xff), false);
	msr_add(MSR_IA32_VMX_PROCBASED_CTLS, ctl(0x0401e172, 0xfff9fffe), false);
	msr_add(MSR_IA32_VMX_TRUE_PROCBASED_CTLS, ctl(0x04006172, 0xfff9fffe), false);
	msr_add(MSR_IA32_VMX_EXIT_CTLS, ctl(0x00036dff, 0x007fffff | exit_pkrs), false);
	msr_add(MSR_IA32_VMX_TRUE_EXIT_CTLS, ctl(0x00036dfb, 0x007fffff | exit_pkrs), false);
	msr_add(MSR_IA32_VMX_ENTRY_CTLS, ctl(0x000011ff, 0x0003ffff | entry_pkrs), false);
	msr_add(MSR_IA32_VMX_TRUE_ENTRY_CTLS, ctl(0x000011fb, 0x0003ffff | entry_pkrs), false);
	/* Preemption timer every 2^5 ticks, HLT/shutdown/wait-for-SIPI, zero-length injection. */
	msr_add(MSR_IA32_VMX_MISC, 5 | 7u << 6 | 1ull << 30, false);
	msr_add(MSR_IA32_VMX_CR0_FIXED0, 0x80000021, false);
	msr_add(MSR_IA32_VMX_CR0_FIXED1, 0xffffffff, false);
	msr_add(MSR_IA32_VMX_CR4_FIXED0, CR4_VMXE, false);
	msr_add(MSR_IA32_VMX_CR4_FIXED1, cr4_supported(), false);
	msr_add(MSR_IA32_VMX_VMCS_ENUM, 0x2e, false);
	msr_add(MSR_IA32_VMX_PROCBASED_CTLS2, ctl(0, proc2), false);
	msr_add(MSR_IA32_VMX_EPT_VPID_CAP, ept, false);
	msr_add(MSR_IA32_VMX_VMFUNC, 0, false);
	msr_add(MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX,
		true);
	msr_add(MSR_IA32_TSC, 0, true);
	msr_add(MSR_IA32_PAT, 0x0007040600070406ull, true);
	msr_add(MSR_IA32_EFER, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE, true);
	msr_add(MSR_STAR, 0, true);
	msr_add(MSR_LSTAR, 0, true);
	msr_add(MSR_CSTAR, 0, true);
	msr_add(MSR_FMASK, 0, true);
	msr_add(MSR_FS_BASE, 0, true);
	msr_add(MSR_GS_BASE, 0, true);
	msr_add(MSR_KERNEL_GS_BASE, 0, true);
	if (has_rdtscp())
		msr_add(MSR_TSC_AUX, 0, true);
	/* CPUID.7.0:ECX[31] (PKS): the supervisor protection-key rights. */
	if (icelake_class())
		msr_add(MSR_IA32_PKRS, FAKE_HOST_PKRS, true);
}

enum fake_model fake_cpu_model(void)
{
	return model;
}
