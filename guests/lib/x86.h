/* SPDX-License-Identifier: MIT */
/*
 * Instruction wrappers for the 32-bit guest programs. Memory-mapped accesses
 * use plain MOV forms only, so an MMIO exit needs no exotic decoding.
 */
#ifndef GUEST_X86_H
#define GUEST_X86_H

#include <stdbool.h>
#include <stdint.h>

#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)
#define CR0_PG (1u << 31)

#define CR4_PSE	   (1u << 4)
#define CR4_PAE	   (1u << 5)
#define CR4_PGE	   (1u << 7)
#define CR4_OSFXSR (1u << 9)
#define CR4_VMXE   (1u << 13)

#define EFLAGS_TF (1u << 8)
#define EFLAGS_IF (1u << 9)
#define EFLAGS_VM (1u << 17)

#define MSR_IA32_TSC	      0x10u
#define MSR_IA32_SYSENTER_CS  0x174u
#define MSR_IA32_SYSENTER_ESP 0x175u
#define MSR_IA32_SYSENTER_EIP 0x176u
#define MSR_IA32_PAT	      0x277u
#define MSR_EFER	      0xc0000080u

#define EFER_SCE (1u << 0)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)
#define EFER_NXE (1u << 11)

/* CPUID feature bits used by the tests. */
#define CPUID1_ECX_VMX	      (1u << 5)
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID1_EDX_PSE	      (1u << 3)
#define CPUID1_EDX_TSC	      (1u << 4)
#define CPUID1_EDX_MSR	      (1u << 5)
#define CPUID1_EDX_PAE	      (1u << 6)
#define CPUID1_EDX_PGE	      (1u << 13)
#define CPUID1_EDX_PAT	      (1u << 16)
#define CPUID1_EDX_FXSR	      (1u << 24)
#define CPUID1_EDX_SSE2	      (1u << 26)
#define CPUID81_EDX_NX	      (1u << 20)
#define CPUID81_EDX_LM	      (1u << 29)

/* Exception vectors. */
#define VEC_DE 0
#define VEC_DB 1
#define VEC_BP 3
#define VEC_UD 6
#define VEC_DF 8
#define VEC_NP 11
#define VEC_GP 13
#define VEC_PF 14

/* Selectors of the runtime's GDT (guests/lib/crt0.S). */
#define SEL_CODE32     0x08
#define SEL_DATA32     0x10
#define SEL_CODE64     0x18
#define SEL_NOTPRESENT 0x20 /* a data segment with P=0 (for #NP) */
#define GDT_ENTRIES    5

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;

	asm volatile("cpuid"
		     : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
		     : "a"(leaf), "c"(subleaf));
	return r;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t val)
{
	asm volatile("wrmsr" ::"c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)) : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void outb(uint16_t port, uint8_t val)
{
	asm volatile("outb %0, %1" ::"a"(val), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t val)
{
	asm volatile("outw %0, %1" ::"a"(val), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t val)
{
	asm volatile("outl %0, %1" ::"a"(val), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t val;

	asm volatile("inb %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t val;

	asm volatile("inw %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t val;

	asm volatile("inl %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

/* MMIO: one MOV each (opcodes 8A/8B/88/89), never a read-modify-write. */
static inline uint8_t mmio_read8(uint32_t addr)
{
	uint8_t val;

	asm volatile("movb (%1), %0" : "=q"(val) : "r"(addr) : "memory");
	return val;
}

static inline uint16_t mmio_read16(uint32_t addr)
{
	uint16_t val;

	asm volatile("movw (%1), %0" : "=r"(val) : "r"(addr) : "memory");
	return val;
}

static inline uint32_t mmio_read32(uint32_t addr)
{
	uint32_t val;

	asm volatile("movl (%1), %0" : "=r"(val) : "r"(addr) : "memory");
	return val;
}

static inline void mmio_write32(uint32_t addr, uint32_t val)
{
	asm volatile("movl %0, (%1)" ::"r"(val), "r"(addr) : "memory");
}

static inline uint32_t read_cr0(void)
{
	uint32_t v;

	asm volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline void write_cr0(uint32_t v)
{
	asm volatile("mov %0, %%cr0" ::"r"(v) : "memory");
}

static inline uint32_t read_cr2(void)
{
	uint32_t v;

	asm volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline uint32_t read_cr3(void)
{
	uint32_t v;

	asm volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline void write_cr3(uint32_t v)
{
	asm volatile("mov %0, %%cr3" ::"r"(v) : "memory");
}

static inline uint32_t read_cr4(void)
{
	uint32_t v;

	asm volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline void write_cr4(uint32_t v)
{
	asm volatile("mov %0, %%cr4" ::"r"(v) : "memory");
}

static inline uint32_t read_eflags(void)
{
	uint32_t v;

	asm volatile("pushfl; popl %0" : "=r"(v));
	return v;
}

static inline void invlpg(uint32_t addr)
{
	asm volatile("invlpg (%0)" ::"r"(addr) : "memory");
}

static inline void cli_hlt(void)
{
	asm volatile("cli; hlt" ::: "memory");
}

/*
 * VMCALL with the ABI of abi/hv_guest.h: number in EAX, arguments in EBX,
 * ECX, EDX, ESI, result in EAX. Other registers are preserved by contract.
 */
static inline long vmcall4(uint32_t nr, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3)
{
	long ret;

	asm volatile("vmcall" : "=a"(ret) : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
	return ret;
}

static inline long vmcall(uint32_t nr)
{
	return vmcall4(nr, 0, 0, 0, 0);
}

#endif
