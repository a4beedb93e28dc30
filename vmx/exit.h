/* SPDX-License-Identifier: MIT */
/*
 * The VM-exit engine: one handler per basic exit reason, reading the exit
 * through the decoded record of struct vcpu (v->exit, filled once per exit
 * by vcpu_run) and the accessors below; no handler shifts qualification
 * bits itself.
 */
#ifndef VMX_EXIT_H
#define VMX_EXIT_H

#include <stdbool.h>
#include <stdint.h>

#include "vmx/vcpu.h"

enum exit_action {
	EXIT_RESUME,	    /* handled: enter the guest again */
	EXIT_TO_CONTROLLER, /* kvm_run is filled: KVM_RUN returns */
};

enum exit_action vmx_handle_exit(struct vcpu *v);

/* ---- I/O instruction (SDM table 28-5) ---- */
static inline uint8_t exit_io_size(const struct vmx_exit_info *x)
{
	return (uint8_t)((x->qual & 7) + 1);
}
static inline bool exit_io_in(const struct vmx_exit_info *x)
{
	return x->qual >> 3 & 1;
}
static inline bool exit_io_string(const struct vmx_exit_info *x)
{
	return x->qual >> 4 & 1;
}
static inline bool exit_io_rep(const struct vmx_exit_info *x)
{
	return x->qual >> 5 & 1;
}
static inline uint16_t exit_io_port(const struct vmx_exit_info *x)
{
	return (uint16_t)(x->qual >> 16);
}
/*
 * INS/OUTS address size from the instruction information: 2, 4 or 8;
 * 0 for the encodings the SDM leaves undefined (3-7), which no CPU gives.
 */
static inline uint8_t exit_io_addr_size(const struct vmx_exit_info *x)
{
	unsigned enc = x->insn_info >> 7 & 7;

	return enc <= 2 ? (uint8_t)(2u << enc) : 0;
}

/* ---- control-register access (SDM table 28-3) ---- */
enum cr_access_type { CR_MOV_TO = 0, CR_MOV_FROM = 1, CR_CLTS = 2, CR_LMSW = 3 };

static inline unsigned exit_cr_number(const struct vmx_exit_info *x)
{
	return x->qual & 15;
}
static inline enum cr_access_type exit_cr_type(const struct vmx_exit_info *x)
{
	return (enum cr_access_type)(x->qual >> 4 & 3);
}
static inline unsigned exit_cr_gpr(const struct vmx_exit_info *x)
{
	return x->qual >> 8 & 15;
}
static inline uint16_t exit_lmsw_source(const struct vmx_exit_info *x)
{
	return (uint16_t)(x->qual >> 16);
}

/* ---- EPT violation (SDM table 28-7) ---- */
static inline bool exit_ept_read(const struct vmx_exit_info *x)
{
	return x->qual & 1;
}
static inline bool exit_ept_write(const struct vmx_exit_info *x)
{
	return x->qual >> 1 & 1;
}
static inline bool exit_ept_fetch(const struct vmx_exit_info *x)
{
	return x->qual >> 2 & 1;
}
/* The access was part of an IRET that unblocked NMIs (bit 12). */
static inline bool exit_nmi_unblocked_by_iret(const struct vmx_exit_info *x)
{
	return x->qual >> 12 & 1;
}

/* ---- interruption information (exit and IDT-vectoring) ---- */
static inline bool exit_event_valid(uint32_t info)
{
	return info >> 31 & 1;
}
static inline uint8_t exit_event_vector(uint32_t info)
{
	return (uint8_t)info;
}
static inline uint32_t exit_event_type(uint32_t info)
{
	return info & (7u << 8);
}

/* SIPI: the start vector. */
static inline uint8_t exit_sipi_vector(const struct vmx_exit_info *x)
{
	return (uint8_t)x->qual;
}

#endif
