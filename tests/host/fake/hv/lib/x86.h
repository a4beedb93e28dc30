/* SPDX-License-Identifier: MIT */
/*
 * Host build: hv/lib/x86.h with its instructions replaced by the fake CPU
 * (tests/host/fake_cpu.c). The real header is included first, with every
 * accessor renamed out of the way (its register bits and structures are
 * used as they are), then each accessor is declared again under its own
 * name and implemented by the fake. An accessor added to the real header
 * later and not listed here stays the real instruction: a privileged one
 * faults at once on the host, which shows what to add. PAUSE is harmless
 * in user mode and stays real.
 */
#ifndef TESTS_HOST_FAKE_HV_X86_H
#define TESTS_HOST_FAKE_HV_X86_H

#define cpuid	    hvreal_cpuid
#define rdmsr	    hvreal_rdmsr
#define wrmsr	    hvreal_wrmsr
#define rdtsc	    hvreal_rdtsc
#define outb	    hvreal_outb
#define inb	    hvreal_inb
#define outl	    hvreal_outl
#define read_cr0    hvreal_read_cr0
#define read_cr2    hvreal_read_cr2
#define read_cr3    hvreal_read_cr3
#define read_cr4    hvreal_read_cr4
#define write_cr0   hvreal_write_cr0
#define write_cr2   hvreal_write_cr2
#define write_cr4   hvreal_write_cr4
#define read_rflags hvreal_read_rflags
#define cli	    hvreal_cli
#define hlt	    hvreal_hlt
#define lgdt	    hvreal_lgdt
#define lidt	    hvreal_lidt
#define sgdt	    hvreal_sgdt
#define sidt	    hvreal_sidt
#define read_dr0    hvreal_read_dr0
#define read_dr1    hvreal_read_dr1
#define read_dr2    hvreal_read_dr2
#define read_dr3    hvreal_read_dr3
#define read_dr6    hvreal_read_dr6
#define write_dr0   hvreal_write_dr0
#define write_dr1   hvreal_write_dr1
#define write_dr2   hvreal_write_dr2
#define write_dr3   hvreal_write_dr3
#define write_dr6   hvreal_write_dr6
#define xsetbv	    hvreal_xsetbv
#define sti_nop_cli hvreal_sti_nop_cli
#define sti_hlt_cli hvreal_sti_hlt_cli
#define ltr	    hvreal_ltr

#include_next "hv/lib/x86.h"

#undef cpuid
#undef rdmsr
#undef wrmsr
#undef rdtsc
#undef outb
#undef inb
#undef outl
#undef read_cr0
#undef read_cr2
#undef read_cr3
#undef read_cr4
#undef write_cr0
#undef write_cr2
#undef write_cr4
#undef read_rflags
#undef cli
#undef hlt
#undef lgdt
#undef lidt
#undef sgdt
#undef sidt
#undef read_dr0
#undef read_dr1
#undef read_dr2
#undef read_dr3
#undef read_dr6
#undef write_dr0
#undef write_dr1
#undef write_dr2
#undef write_dr3
#undef write_dr6
#undef xsetbv
#undef sti_nop_cli
#undef sti_hlt_cli
#undef ltr

struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf);
uint64_t rdmsr(uint32_t msr);
void wrmsr(uint32_t msr, uint64_t val);
uint64_t rdtsc(void);
void outb(uint16_t port, uint8_t val);
uint8_t inb(uint16_t port);
void outl(uint16_t port, uint32_t val);
uint64_t read_cr0(void);
uint64_t read_cr2(void);
uint64_t read_cr3(void);
uint64_t read_cr4(void);
void write_cr0(uint64_t v);
void write_cr2(uint64_t v);
void write_cr4(uint64_t v);
uint64_t read_rflags(void);
void cli(void);
void hlt(void);
void lgdt(const struct desc_ptr *p);
void lidt(const struct desc_ptr *p);
struct desc_ptr sgdt(void);
struct desc_ptr sidt(void);
uint64_t read_dr0(void);
uint64_t read_dr1(void);
uint64_t read_dr2(void);
uint64_t read_dr3(void);
uint64_t read_dr6(void);
void write_dr0(uint64_t v);
void write_dr1(uint64_t v);
void write_dr2(uint64_t v);
void write_dr3(uint64_t v);
void write_dr6(uint64_t v);
void xsetbv(uint32_t index, uint64_t val);
void sti_nop_cli(void);
void sti_hlt_cli(void);
void ltr(uint16_t sel);

#endif
