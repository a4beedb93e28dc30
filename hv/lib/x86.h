/* SPDX-License-Identifier: MIT */
/*
 * x86 instruction wrappers and architectural register bits: the one place
 * where the hypervisor spells out CPU instructions in inline assembly.
 */
#ifndef HV_X86_H
#define HV_X86_H

#include <stdint.h>

/* Control-register bits. */
#define CR0_PE (1ul << 0)
#define CR0_MP (1ul << 1)
#define CR0_EM (1ul << 2)
#define CR0_TS (1ul << 3)
#define CR0_ET (1ul << 4)
#define CR0_NE (1ul << 5)
#define CR0_WP (1ul << 16)
#define CR0_AM (1ul << 18)
#define CR0_NW (1ul << 29)
#define CR0_CD (1ul << 30)
#define CR0_PG (1ul << 31)
/* XCR0 bits (SDM 13.3). */
#define XCR0_X87     0x1ull
#define XCR0_SSE     0x2ull
#define XCR0_AVX     0x4ull
#define XCR0_BNDREGS 0x8ull
#define XCR0_BNDCSR  0x10ull
#define XCR0_AVX512  0xe0ull
#define XCR0_XTILE   0x60000ull

/* The CR0 bits that exist (KVM's ~CR0_RESERVED_BITS). */
#define CR0_KNOWN                                                                                  \
	(CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | \
	 CR0_PG)
#define CR4_PSE	    (1ul << 4)
#define CR4_PAE	    (1ul << 5)
#define CR4_PGE	    (1ul << 7)
#define CR4_SMEP    (1ul << 20)
#define CR4_LA57    (1ul << 12)
#define CR4_VMXE    (1ul << 13)
#define CR4_SMXE    (1ul << 14)
#define CR4_PCIDE   (1ul << 17)
#define CR4_OSXSAVE (1ul << 18)
#define CR4_PKS	    (1ul << 24)

/* CPUID.(EAX=7, ECX=0):ECX[31]: supervisor protection keys (IA32_PKRS). */
#define CPUID_7_ECX_PKS (1u << 31)

/* EFLAGS bits. */
#define RFLAGS_TF (1ul << 8)
#define RFLAGS_IF (1ul << 9)

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;

	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t val)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void outb(uint16_t port, uint8_t val)
{
	__asm__ volatile("outb %0, %1" ::"a"(val), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t val;

	__asm__ volatile("inb %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

static inline void outl(uint16_t port, uint32_t val)
{
	__asm__ volatile("outl %0, %1" ::"a"(val), "Nd"(port));
}

#define DEFINE_READ_CR(n)                                                                          \
	static inline uint64_t read_cr##n(void)                                                    \
	{                                                                                          \
		uint64_t v;                                                                        \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                                  \
		return v;                                                                          \
	}
DEFINE_READ_CR(0)
DEFINE_READ_CR(2)
DEFINE_READ_CR(3)
DEFINE_READ_CR(4)
#undef DEFINE_READ_CR

static inline void write_cr0(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr0" ::"r"(v) : "memory");
}

static inline void write_cr4(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory");
}

static inline uint64_t read_rflags(void)
{
	uint64_t v;

	__asm__ volatile("pushfq; popq %0" : "=r"(v));
	return v;
}

static inline void cli(void)
{
	__asm__ volatile("cli" ::: "memory");
}
static inline void hlt(void)
{
	__asm__ volatile("hlt" ::: "memory");
}
static inline void pause(void)
{
	__asm__ volatile("pause");
}

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint64_t base;
};

static inline void lgdt(const struct desc_ptr *p)
{
	__asm__ volatile("lgdt %0" ::"m"(*p));
}

static inline void lidt(const struct desc_ptr *p)
{
	__asm__ volatile("lidt %0" ::"m"(*p));
}

static inline struct desc_ptr sgdt(void)
{
	struct desc_ptr p;

	__asm__ volatile("sgdt %0" : "=m"(p));
	return p;
}

static inline struct desc_ptr sidt(void)
{
	struct desc_ptr p;

	__asm__ volatile("sidt %0" : "=m"(p));
	return p;
}

static inline void write_cr2(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr2" ::"r"(v) : "memory");
}

/* Debug registers 0-3 and 6 (DR7 of a guest lives in its VMCS). */
#define DEFINE_DR(n)                                                                               \
	static inline uint64_t read_dr##n(void)                                                    \
	{                                                                                          \
		uint64_t v;                                                                        \
		__asm__ volatile("mov %%dr" #n ", %0" : "=r"(v));                                  \
		return v;                                                                          \
	}                                                                                          \
	static inline void write_dr##n(uint64_t v)                                                 \
	{                                                                                          \
		__asm__ volatile("mov %0, %%dr" #n ::"r"(v) : "memory");                           \
	}
DEFINE_DR(0)
DEFINE_DR(1)
DEFINE_DR(2)
DEFINE_DR(3)
DEFINE_DR(6)
#undef DEFINE_DR

static inline void xsetbv(uint32_t index, uint64_t val)
{
	__asm__ volatile("xsetbv" ::"c"(index), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)));
}

static inline void sti_nop_cli(void)
{
	/* STI's one-instruction shadow: the NOP lets a pending IRQ in. */
	__asm__ volatile("sti; nop; cli" ::: "memory");
}

/* Wait for the next interrupt with interrupts on, and turn them off again. */
static inline void sti_hlt_cli(void)
{
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}

static inline void ltr(uint16_t sel)
{
	__asm__ volatile("ltr %0" ::"r"(sel));
}

#endif
