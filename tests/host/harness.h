/* SPDX-License-Identifier: MIT */
/*
 * Helpers for host tests of the VM code: KVM API calls, VMs with memory,
 * vCPUs put in a CPU mode, and a guest made of steps (one per VM entry).
 */
#ifndef TESTS_HOST_HARNESS_H
#define TESTS_HOST_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/kvm.h"
#include "tests/host/fake.h"

struct vcpu;

long h_sys(unsigned long nr, void *arg, size_t len);
long h_vm(uint32_t vm, unsigned long nr, void *arg, size_t len);
long h_cpu(uint32_t vm, uint32_t id, unsigned long nr, void *arg, size_t len);

/* Boot @model if it is not the one running; destroy every VM. */
void h_machine(enum fake_model model);
/* Every VM destroyed, no guest steps, counters cleared. */
void h_reset(void);
/* Pages the fake machine holds beyond those of the boot (0 when no VM lives). */
int64_t h_pages_held(void);

/* A VM with one slot of @mem bytes at GPA 0 and one vCPU (id 0): its handle. */
uint32_t h_vm_with_vcpu(uint64_t mem);
struct kvm_run *h_run_page(uint32_t vm, uint32_t id);
/* @vm's vCPU with id @id (the test stops when there is none). */
struct vcpu *h_vcpu(uint32_t vm, uint32_t id);

enum h_mode { H_REAL, H_PROT32, H_PAE32, H_LONG64 };
/* KVM_SET_SREGS for a flat @mode (paging modes point CR3 at 0x10000). */
long h_set_mode(uint32_t vm, uint32_t id, enum h_mode mode);

/* The guest: steps run one per VM entry, then HLT exits. */
typedef uint32_t (*h_step)(struct fake_guest *g);
void h_steps(const h_step *steps, unsigned n);
/* Entries taken by the steps so far. */
unsigned h_steps_done(void);
/* What each entry delivered, by step (up to 16). */
extern struct fake_event h_delivered[16];

/* Exit helpers for steps: set the exit-information fields and return the reason. */
uint32_t h_exit_insn(uint32_t reason, unsigned len);
uint32_t h_exit_cr(unsigned cr, unsigned type, unsigned reg, unsigned lmsw_src);
uint32_t h_exit_io(uint16_t port, unsigned size, bool in, bool string, bool rep, unsigned len);

/* Steps for a 2-byte WRMSR of h_msr_val to h_msr, and an RDMSR of h_msr (EDX:EAX preset
 * 0xbeef:0xdead, so a result that did not land shows). */
extern uint32_t h_msr;
extern uint64_t h_msr_val;
uint32_t h_step_wrmsr(struct fake_guest *g);
uint32_t h_step_rdmsr(struct fake_guest *g);

/* The VMX MSR bitmap's intercept bit of @msr in vCPU @id, reads (@write false) or writes. */
bool h_msr_intercepted(uint32_t vm, uint32_t id, uint32_t msr, bool write);

/* One KVM_X86_SET_MSR_FILTER range: flags, base, nmsrs, and the bit of every MSR it
 * allows (bit i: MSR base + i; ranges of at most 64 MSRs). */
struct h_msr_range {
	uint32_t flags, base, nmsrs;
	uint64_t allow;
};
/* KVM_X86_SET_MSR_FILTER with the marshalled record (abi/kvm_ioctls.h). */
long h_set_msr_filter(uint32_t vm, uint32_t flags, const struct h_msr_range *r, unsigned n);

#endif
