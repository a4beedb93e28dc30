// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/kvm_ioctls.h"
#include "hv/kvm/kvm_api.h"
#include "hv/lib/mm.h"
#include "hv/lib/msr.h"
#include "hv/lib/x86.h"
#include "tests/host/harness.h"
#include "vmx/exit_reasons.h"
#include "vmx/guest_regs.h"
#include "vmx/vcpu.h"
#include "vmx/vm.h"
#include "vmx/vmx_ops.h"

static bool booted;
static enum fake_model booted_model;
static uint64_t boot_pages;

long h_sys(unsigned long nr, void *arg, size_t len)
{
	return kvm_api_ioctl(KVM_TARGET_SYSTEM, 0, 0, nr, arg, len);
}

long h_vm(uint32_t vm, unsigned long nr, void *arg, size_t len)
{
	return kvm_api_ioctl(KVM_TARGET_VM, vm, 0, nr, arg, len);
}

long h_cpu(uint32_t vm, uint32_t id, unsigned long nr, void *arg, size_t len)
{
	return kvm_api_ioctl(KVM_TARGET_VCPU, vm, id, nr, arg, len);
}

static void destroy_all(void)
{
	for (uint32_t h = 1; h <= KVM_API_MAX_VMS; h++)
		kvm_api_destroy_vm(h);
}

void h_machine(enum fake_model model)
{
	if (booted && booted_model == model)
		return;
	destroy_all();
	fake_machine_boot(model);
	booted = true;
	booted_model = model;
	boot_pages = fake_mm_pages_in_use();
}

static const h_step *steps;
static unsigned n_steps, step_next;
struct fake_event h_delivered[16];

static uint32_t step_guest(struct fake_guest *g)
{
	if (step_next < 16)
		h_delivered[step_next] = g->injected;
	if (step_next < n_steps)
		return steps[step_next++](g);
	step_next++;
	fake_vmcs_set(VMCS_EXIT_INSTRUCTION_LEN, 1);
	return EXIT_REASON_HLT;
}

void h_steps(const h_step *s, unsigned n)
{
	steps = s;
	n_steps = n;
	step_next = 0;
	memset(h_delivered, 0, sizeof(h_delivered));
	fake_guest = step_guest;
}

unsigned h_steps_done(void)
{
	return step_next;
}

void h_reset(void)
{
	if (!booted)
		h_machine(FAKE_MODEL_SKYLAKE);
	destroy_all();
	h_steps(NULL, 0);
	fake_vmx_reset_counters();
	fake_mm_fail_nth(0);
	fake_mm_set_limit(65536);
	fake_irq_hook = NULL;
	fake_hlt_hook = NULL;
}

int64_t h_pages_held(void)
{
	return (int64_t)fake_mm_pages_in_use() - (int64_t)boot_pages;
}

uint32_t h_vm_with_vcpu(uint64_t mem)
{
	struct kvm_userspace_memory_region r = {.slot = 0, .memory_size = mem};
	long vm = h_sys(KVM_CREATE_VM, NULL, 0);
	uint64_t id = 0;

	if (vm <= 0 || h_vm((uint32_t)vm, KVM_SET_USER_MEMORY_REGION, &r, sizeof(r)) ||
	    h_vm((uint32_t)vm, KVM_CREATE_VCPU, &id, sizeof(id))) {
		fprintf(stderr, "harness: cannot create a VM with memory and a vCPU\n");
		abort();
	}
	return (uint32_t)vm;
}

struct kvm_run *h_run_page(uint32_t vm, uint32_t id)
{
	return kvm_api_run_page(vm, id);
}

static struct kvm_segment seg(uint16_t sel, uint8_t type, bool code64)
{
	return (struct kvm_segment){.selector = sel,
				    .limit = 0xffffffff,
				    .type = type,
				    .s = 1,
				    .present = 1,
				    .db = !code64,
				    .l = code64,
				    .g = 1};
}

long h_set_mode(uint32_t vm, uint32_t id, enum h_mode mode)
{
	struct kvm_sregs s;
	long rc = h_cpu(vm, id, KVM_GET_SREGS, &s, sizeof(s));

	if (rc)
		return rc;
	if (mode == H_REAL)
		return 0;
	s.cs = seg(0x8, 11, mode == H_LONG64);
	s.ds = s.es = s.fs = s.gs = s.ss = seg(0x10, 3, false);
	s.tr = (struct kvm_segment){.selector = 0x18, .limit = 0x67, .type = 11, .present = 1};
	s.ldt = (struct kvm_segment){.unusable = 1};
	s.cr0 = CR0_PE | CR0_ET | CR0_NE;
	s.cr4 = 0;
	s.efer = 0;
	s.cr3 = 0x10000;
	if (mode == H_PAE32) {
		s.cr0 |= CR0_PG;
		s.cr4 = CR4_PAE;
	} else if (mode == H_LONG64) {
		s.cr0 |= CR0_PG | CR0_WP;
		s.cr4 = CR4_PAE;
		s.efer = EFER_LME | EFER_LMA | EFER_SCE | EFER_NXE;
	}
	return h_cpu(vm, id, KVM_SET_SREGS, &s, sizeof(s));
}

uint32_t h_exit_insn(uint32_t reason, unsigned len)
{
	fake_vmcs_set(VMCS_EXIT_INSTRUCTION_LEN, len);
	return reason;
}

uint32_t h_exit_cr(unsigned cr, unsigned type, unsigned reg, unsigned lmsw_src)
{
	fake_vmcs_set(VMCS_EXIT_QUALIFICATION, cr | type << 4 | reg << 8 | lmsw_src << 16);
	return h_exit_insn(EXIT_REASON_CR_ACCESS, 3);
}

uint32_t h_exit_io(uint16_t port, unsigned size, bool in, bool string, bool rep, unsigned len)
{
	fake_vmcs_set(VMCS_EXIT_QUALIFICATION, (uint64_t)port << 16 | (size - 1) | (in ? 8 : 0) |
						   (string ? 16 : 0) | (rep ? 32 : 0));
	return h_exit_insn(EXIT_REASON_IO_INSTRUCTION, len);
}

struct vcpu *h_vcpu(uint32_t vm, uint32_t id)
{
	struct vm *v = kvm_api_vm(vm);

	for (unsigned i = 0; v && i < v->n_vcpus; i++)
		if (v->vcpus[i]->id == (int)id)
			return v->vcpus[i];
	fprintf(stderr, "host test: no vcpu %u in vm %u\n", id, vm);
	abort();
}

/* ---- MSRs ---------------------------------------------------------------- */

uint32_t h_msr;
uint64_t h_msr_val;

uint32_t h_step_wrmsr(struct fake_guest *g)
{
	g->gpr[GPR_RCX] = h_msr;
	g->gpr[GPR_RAX] = (uint32_t)h_msr_val;
	g->gpr[GPR_RDX] = h_msr_val >> 32;
	return h_exit_insn(EXIT_REASON_WRMSR, 2);
}

uint32_t h_step_rdmsr(struct fake_guest *g)
{
	g->gpr[GPR_RCX] = h_msr;
	g->gpr[GPR_RAX] = 0xdead;
	g->gpr[GPR_RDX] = 0xbeef;
	return h_exit_insn(EXIT_REASON_RDMSR, 2);
}

bool h_msr_intercepted(uint32_t vm, uint32_t id, uint32_t msr, bool write)
{
	const uint8_t *b = phys_to_virt(h_vcpu(vm, id)->msr_bitmap);
	uint32_t off = msr >= 0xc0000000 ? 1024 + (msr - 0xc0000000) / 8 : msr / 8;

	return b[off + (write ? 2048 : 0)] & (1u << (msr & 7));
}

long h_set_msr_filter(uint32_t vm, uint32_t flags, const struct h_msr_range *r, unsigned n)
{
	static uint8_t rec[sizeof(struct kvm_msr_filter) + KVM_MSR_FILTER_MAX_RANGES * 8];
	struct kvm_msr_filter f = {.flags = flags};
	size_t len = sizeof(f);

	for (unsigned i = 0; i < n; i++) {
		f.ranges[i].flags = r[i].flags;
		f.ranges[i].base = r[i].base;
		f.ranges[i].nmsrs = r[i].nmsrs;
	}
	memcpy(rec, &f, sizeof(f));
	for (unsigned i = 0; i < n; i++)
		if (kvm_msr_filter_bitmap_len(r[i].nmsrs) == 8) {
			memcpy(rec + len, &r[i].allow, 8);
			len += 8;
		}
	return h_vm(vm, KVM_X86_SET_MSR_FILTER, rec, len);
}
