// SPDX-License-Identifier: MIT
/*
 * KVM_CREATE_IRQCHIP wired into the VM code (vmx/irqchip.c, vmx/vcpu.c,
 * vmx/exit.c, vmx/msr.c, hv/kvm/kvm_api.c) on the fake VMX unit: the
 * ioctls with and without an irqchip, and guests made of steps
 * (tests/host/harness.h) that halt, touch the APIC page, the IOAPIC
 * window, the PIC ports and the APIC MSRs. Expectations are upstream
 * KVM's (Linux 6.1, arch/x86/kvm/x86.c, lapic.c, irq_comm.c, ioapic.c,
 * i8259.c and Documentation/virt/kvm/api.rst); each test names the
 * function it follows.
 *
 * A vCPU that halts with an irqchip waits in the hypervisor: every run
 * here has a budget (vcpu->tsc_deadline, as the boot loader sets one) so
 * that the wait ends with -EINTR and KVM_EXIT_INTR, and the fake's
 * sti_hlt_cli() moves the TSC on by a host tick per wait.
 */
#include <stdlib.h>
#include <string.h>

#include "abi/errno.h"
#include "hv/irqchip/ioapic.h"
#include "hv/irqchip/lapic.h"
#include "hv/kvm/kvm_api.h"
#include "hv/lib/msr.h"
#include "hv/lib/x86.h"
#include "tests/host/harness.h"
#include "tests/unit/check.h"
#include "vmx/cpuid.h"
#include "vmx/exit_reasons.h"
#include "vmx/guest_regs.h"
#include "vmx/vcpu.h"
#include "vmx/vm.h"
#include "vmx/vmx.h"
#include "vmx/vmx_ops.h"

#define MEM	   (1u << 20)
#define RIP0	   0x1000ull
#define INFO_VALID 0x80000000u
#define GP_INFO	   (0x80000000u | 3u << 8 | 13u | 1u << 11)
#define APIC_PAGE  0xfee00000u
#define BUDGET	   (20 * 2000000ull) /* host TSC ticks: about 20 halted waits */

/* ---- set-up --------------------------------------------------------------- */

/* @vm's vCPU @id in flat 32-bit protected mode at RIP0 with RFLAGS @rflags. */
static void prot32_at_rip0(uint32_t vm, uint32_t id, uint64_t rflags)
{
	struct kvm_regs r = {.rip = RIP0, .rflags = rflags};

	if (h_set_mode(vm, id, H_PROT32) || h_cpu(vm, id, KVM_SET_REGS, &r, sizeof(r))) {
		fprintf(stderr, "test_irqchip: vcpu %u: cannot set 32-bit mode\n", id);
		abort();
	}
}

/*
 * A VM with 1 MiB of memory at GPA 0, an irqchip when @irqchip (made before
 * any vCPU, as KVM requires), then @n vCPUs (ids 0..n-1), each in 32-bit
 * protected mode at RIP0 with RFLAGS @rflags.
 */
static uint32_t make_vm(bool irqchip, unsigned n, uint64_t rflags)
{
	struct kvm_userspace_memory_region r = {.slot = 0, .memory_size = MEM};
	long vm = h_sys(KVM_CREATE_VM, NULL, 0);

	if (vm <= 0 || h_vm((uint32_t)vm, KVM_SET_USER_MEMORY_REGION, &r, sizeof(r)))
		abort();
	if (irqchip && h_vm((uint32_t)vm, KVM_CREATE_IRQCHIP, NULL, 0))
		abort();
	for (unsigned i = 0; i < n; i++) {
		uint64_t id = i;

		long rc = h_vm((uint32_t)vm, KVM_CREATE_VCPU, &id, sizeof(id));

		if (rc != (long)i) {
			fprintf(stderr, "test_irqchip: KVM_CREATE_VCPU %u: %ld\n", i, rc);
			abort();
		}
		prot32_at_rip0((uint32_t)vm, i, rflags);
	}
	return (uint32_t)vm;
}

/* KVM_RUN of vCPU @id with a run budget: a halted vCPU comes back with -EINTR. */
static long run_id(uint32_t vm, uint32_t id)
{
	h_vcpu(vm, id)->tsc_deadline = rdtsc() + BUDGET;
	return h_cpu(vm, id, KVM_RUN, NULL, 0);
}

static long run0(uint32_t vm)
{
	return run_id(vm, 0);
}

/* The run ended in the hypervisor's halt: the budget, as a signal would. */
static bool ended_halted(uint32_t vm, uint32_t id, long rc)
{
	return rc == -HV_EINTR && h_run_page(vm, id)->exit_reason == KVM_EXIT_INTR;
}

static uint32_t mp_state_of(uint32_t vm, uint32_t id)
{
	struct kvm_mp_state m = {.mp_state = 0xdead};

	if (h_cpu(vm, id, KVM_GET_MP_STATE, &m, sizeof(m)))
		return 0xbad;
	return m.mp_state;
}

static long set_mp_state(uint32_t vm, uint32_t id, uint32_t state)
{
	struct kvm_mp_state m = {.mp_state = state};

	return h_cpu(vm, id, KVM_SET_MP_STATE, &m, sizeof(m));
}

static struct kvm_lapic_state lapic_of(uint32_t vm, uint32_t id)
{
	struct kvm_lapic_state s;

	if (h_cpu(vm, id, KVM_GET_LAPIC, &s, sizeof(s)))
		abort();
	return s;
}

static uint32_t reg(const struct kvm_lapic_state *s, uint32_t off)
{
	uint32_t v;

	memcpy(&v, s->regs + off, 4);
	return v;
}

static void set_reg(struct kvm_lapic_state *s, uint32_t off, uint32_t v)
{
	memcpy(s->regs + off, &v, 4);
}

static bool vec_set(const struct kvm_lapic_state *s, uint32_t base, uint8_t v)
{
	return reg(s, base + 0x10 * (v / 32)) >> (v % 32) & 1;
}

/* KVM_GET_LAPIC, @fn on the page, KVM_SET_LAPIC. */
static void edit_lapic(uint32_t vm, uint32_t id, void (*fn)(struct kvm_lapic_state *))
{
	struct kvm_lapic_state s = lapic_of(vm, id);

	fn(&s);
	if (h_cpu(vm, id, KVM_SET_LAPIC, &s, sizeof(s)))
		abort();
}

static void sw_enable(struct kvm_lapic_state *s)
{
	set_reg(s, LAPIC_SPIV, 0x1ff);
}

static struct kvm_irqchip chip_of(uint32_t vm, uint32_t chip_id)
{
	struct kvm_irqchip c;

	memset(&c, 0, sizeof(c));
	c.chip_id = chip_id;
	if (h_vm(vm, KVM_GET_IRQCHIP, &c, sizeof(c)))
		abort();
	return c;
}

static void set_chip(uint32_t vm, const struct kvm_irqchip *c)
{
	if (h_vm(vm, KVM_SET_IRQCHIP, (void *)c, sizeof(*c)))
		abort();
}

/* One MSR through KVM_GET_MSRS (host-initiated): 1 if read. */
static long host_rdmsr(uint32_t vm, uint32_t id, uint32_t msr, uint64_t *val)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = {.h = {.nmsrs = 1}, .e = {.index = msr}};
	long rc = h_cpu(vm, id, KVM_GET_MSRS, &m, sizeof(m));

	*val = m.e.data;
	return rc;
}

/* ---- guest steps ---------------------------------------------------------- */

static struct {
	uint64_t rip, rax, rbx, rdx, rflags, cs_base, preempt;
	uint16_t cs_sel;
} seen;

static uint32_t step_observe(struct fake_guest *g)
{
	seen.rip = fake_vmcs_get(VMCS_GUEST_RIP);
	seen.rflags = fake_vmcs_get(VMCS_GUEST_RFLAGS);
	seen.cs_sel = (uint16_t)fake_vmcs_get(VMCS_GUEST_CS_SEL);
	seen.cs_base = fake_vmcs_get(VMCS_GUEST_CS_BASE);
	seen.preempt = fake_vmcs_get(VMCS_PREEMPTION_TIMER_VALUE);
	seen.rax = g->gpr[GPR_RAX];
	seen.rbx = g->gpr[GPR_RBX];
	seen.rdx = g->gpr[GPR_RDX];
	return h_exit_insn(EXIT_REASON_PAUSE, 2);
}

/* STI; HLT: IF = 1, then the HLT exits (no STI shadow left after it). */
static uint32_t step_sti_hlt(struct fake_guest *g)
{
	(void)g;
	fake_vmcs_set(VMCS_GUEST_RFLAGS, fake_vmcs_get(VMCS_GUEST_RFLAGS) | RFLAGS_IF);
	return h_exit_insn(EXIT_REASON_HLT, 1);
}

static uint32_t step_hlt(struct fake_guest *g)
{
	(void)g;
	return h_exit_insn(EXIT_REASON_HLT, 1);
}

/*
 * MMIO: the guest runs the instruction at its RIP (written there by
 * put_code), which faults on the GPA of the mm[] entry in turn, with RAX
 * as the entry says.
 */
static struct {
	uint32_t gpa;
	bool write;
	uint64_t rax;
	uint64_t rax_before; /* what the previous instruction left in RAX */
} mm[8];
static unsigned mm_next;

static uint32_t step_mmio(struct fake_guest *g)
{
	unsigned i = mm_next++ % 8;

	mm[i].rax_before = g->gpr[GPR_RAX];
	g->gpr[GPR_RAX] = mm[i].rax;
	fake_vmcs_set(VMCS_GUEST_PHYSICAL_ADDRESS, mm[i].gpa);
	fake_vmcs_set(VMCS_GUEST_LINEAR_ADDRESS, mm[i].gpa);
	fake_vmcs_set(VMCS_EXIT_QUALIFICATION, (mm[i].write ? 2 : 1) | 0x80);
	return EXIT_REASON_EPT_VIOLATION;
}

/* mov [gpa], eax (store) or mov eax, [gpa] (load), 6 bytes each, from RIP0 on. */
static void put_mmio(uint32_t vm, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t insn[6] = {mm[i].write ? 0x89 : 0x8b, 0x05};

		memcpy(insn + 2, &mm[i].gpa, 4);
		if (vm_write_gpa(kvm_api_vm(vm), RIP0 + 6 * i, insn, sizeof(insn)))
			abort();
	}
	mm_next = 0;
}

static void mmio_w(unsigned i, uint32_t gpa, uint32_t val)
{
	mm[i].gpa = gpa;
	mm[i].write = true;
	mm[i].rax = val;
}

static void mmio_r(unsigned i, uint32_t gpa)
{
	mm[i].gpa = gpa;
	mm[i].write = false;
	mm[i].rax = 0xaaaaaaaa55555555ull;
}

/* Port I/O: the io[] entries in turn; RAX as the previous one left it is kept. */
static struct {
	uint16_t port;
	unsigned size;
	bool in;
	uint32_t val;	     /* what an OUT writes */
	uint64_t rax_before; /* RAX when the instruction came */
} io[8];
static unsigned io_next;

static uint32_t step_io(struct fake_guest *g)
{
	unsigned i = io_next++ % 8;

	io[i].rax_before = g->gpr[GPR_RAX];
	if (io[i].in)
		g->gpr[GPR_RAX] = 0x1122334455667788ull;
	else
		g->gpr[GPR_RAX] = 0x1234567800000000ull | io[i].val;
	return h_exit_io(io[i].port, io[i].size, io[i].in, false, false, 1);
}

/* ---- KVM_CREATE_IRQCHIP and the capabilities -------------------------------- */

/* kvm_arch_vm_ioctl(KVM_CREATE_IRQCHIP): -EEXIST when irqchip_in_kernel(). */
static void test_create_irqchip_twice(void)
{
	long vm;

	h_reset();
	vm = h_sys(KVM_CREATE_VM, NULL, 0);
	CHECK(vm > 0);
	CHECK_EQ(h_vm(vm, KVM_CREATE_IRQCHIP, NULL, 0), 0);
	CHECK_EQ(h_vm(vm, KVM_CREATE_IRQCHIP, NULL, 0), -HV_EEXIST);
	CHECK_EQ(fake_mm_bad_frees, 0);
	CHECK_EQ(kvm_api_destroy_vm(vm), 0);
	CHECK_EQ(h_pages_held(), 0);
}

/* kvm_arch_vm_ioctl(KVM_CREATE_IRQCHIP): -EINVAL once kvm->created_vcpus. */
static void test_create_irqchip_after_vcpu(void)
{
	struct kvm_irqchip c = {.chip_id = 0};
	struct kvm_irq_level l = {.irq = 4, .level = 1};
	uint32_t vm;

	h_reset();
	vm = h_vm_with_vcpu(MEM);
	CHECK_EQ(h_vm(vm, KVM_CREATE_IRQCHIP, NULL, 0), -HV_EINVAL);
	/* Nothing was made: the VM still has no irqchip. */
	CHECK_EQ(h_vm(vm, KVM_GET_IRQCHIP, &c, sizeof(c)), -HV_ENXIO);
	CHECK_EQ(h_vm(vm, KVM_IRQ_LINE, &l, sizeof(l)), -HV_ENXIO);
	CHECK(h_vcpu(vm, 0)->apic == NULL);
}

/*
 * kvm_vm_ioctl_check_extension (and kvm_vm_ioctl_check_extension_generic),
 * the same on /dev/kvm and on a VM. SPLIT_IRQCHIP and X2APIC_API are not
 * offered here (upstream has them); XSAVE2 is the size KVM_GET_XSAVE2
 * fills, sizeof(struct kvm_xsave) at least.
 */
static void test_check_extension(void)
{
	static const struct {
		uint64_t cap;
		long want;
	} caps[] = {
	    {KVM_CAP_IRQCHIP, 1},
	    {KVM_CAP_HLT, 1},
	    {KVM_CAP_IRQ_INJECT_STATUS, 1},
	    {KVM_CAP_SIGNAL_MSI, 1},
	    {KVM_CAP_TSC_DEADLINE_TIMER, 1},
	    {KVM_CAP_SPLIT_IRQCHIP, 0},
	    {KVM_CAP_X2APIC_API, 0},
	    {KVM_CAP_XSAVE2, 4096},
	};
	long vm;

	h_reset();
	vm = h_sys(KVM_CREATE_VM, NULL, 0);
	CHECK(vm > 0);
	for (unsigned i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		uint64_t cap = caps[i].cap;

		CHECK_EQ(h_sys(KVM_CHECK_EXTENSION, &cap, sizeof(cap)), caps[i].want);
		CHECK_EQ(h_vm(vm, KVM_CHECK_EXTENSION, &cap, sizeof(cap)), caps[i].want);
	}
	/* And KVM_GET_XSAVE2 takes that many bytes, as KVM_GET_XSAVE does. */
	{
		uint32_t v = h_vm_with_vcpu(MEM);
		static struct kvm_xsave a, b;

		CHECK_EQ(h_cpu(v, 0, KVM_GET_XSAVE2, &a, sizeof(a)), 0);
		CHECK_EQ(h_cpu(v, 0, KVM_GET_XSAVE, &b, sizeof(b)), 0);
		CHECK(!memcmp(&a, &b, sizeof(a)));
	}
}

/* ---- without an irqchip ----------------------------------------------------- */

/*
 * kvm_vm_ioctl_irq_line: -ENXIO without irqchip_in_kernel(), for
 * KVM_IRQ_LINE and KVM_IRQ_LINE_STATUS; kvm_arch_vm_ioctl(KVM_GET_IRQCHIP,
 * KVM_SET_IRQCHIP): -ENXIO without irqchip_kernel().
 */
static void test_no_irqchip_vm_ioctls(void)
{
	struct kvm_irq_level l = {.irq = 4, .level = 1};
	struct kvm_irqchip c;
	uint32_t vm;

	h_reset();
	vm = h_vm_with_vcpu(MEM);
	CHECK_EQ(h_vm(vm, KVM_IRQ_LINE, &l, sizeof(l)), -HV_ENXIO);
	CHECK_EQ(h_vm(vm, KVM_IRQ_LINE_STATUS, &l, sizeof(l)), -HV_ENXIO);
	CHECK_EQ(l.irq, 4); /* no status written */
	for (uint32_t id = 0; id < 3; id++) {
		memset(&c, 0, sizeof(c));
		c.chip_id = id;
		CHECK_EQ(h_vm(vm, KVM_GET_IRQCHIP, &c, sizeof(c)), -HV_ENXIO);
		CHECK_EQ(h_vm(vm, KVM_SET_IRQCHIP, &c, sizeof(c)), -HV_ENXIO);
	}
}

/* kvm_send_userspace_msi: -EINVAL when !irqchip_in_kernel() (not -ENXIO). */
static void test_no_irqchip_signal_msi(void)
{
	struct kvm_msi msi = {.address_lo = APIC_PAGE, .data = 0x40};
	uint32_t vm;

	h_reset();
	vm = h_vm_with_vcpu(MEM);
	CHECK_EQ(h_vm(vm, KVM_SIGNAL_MSI, &msi, sizeof(msi)), -HV_EINVAL);
}

/*
 * kvm_arch_vcpu_ioctl(KVM_GET_LAPIC / KVM_SET_LAPIC): "r = -EINVAL; if
 * (!lapic_in_kernel(vcpu)) goto out;" (not -ENXIO).
 */
static void test_no_irqchip_lapic(void)
{
	struct kvm_lapic_state s;
	uint32_t vm;

	h_reset();
	vm = h_vm_with_vcpu(MEM);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(h_cpu(vm, 0, KVM_GET_LAPIC, &s, sizeof(s)), -HV_EINVAL);
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_LAPIC, &s, sizeof(s)), -HV_EINVAL);
}

/*
 * kvm_arch_vcpu_ioctl_set_mpstate: without lapic_in_kernel() only
 * RUNNABLE; UNINITIALIZED, HALTED, AP_RESET_HOLD, INIT_RECEIVED and
 * SIPI_RECEIVED are -EINVAL, as is any other value.
 * kvm_arch_vcpu_ioctl_get_mpstate: RUNNABLE (kvm_arch_vcpu_create).
 */
static void test_no_irqchip_mp_state(void)
{
	static const uint32_t refused[] = {KVM_MP_STATE_UNINITIALIZED,
					   KVM_MP_STATE_INIT_RECEIVED,
					   KVM_MP_STATE_HALTED,
					   KVM_MP_STATE_SIPI_RECEIVED,
					   KVM_MP_STATE_AP_RESET_HOLD,
					   KVM_MP_STATE_STOPPED,
					   11,
					   0xffffffffu};
	uint32_t vm;

	h_reset();
	vm = h_vm_with_vcpu(MEM);
	CHECK_EQ(mp_state_of(vm, 0), KVM_MP_STATE_RUNNABLE);
	for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		CHECK_EQ(set_mp_state(vm, 0, refused[i]), -HV_EINVAL);
	CHECK_EQ(set_mp_state(vm, 0, KVM_MP_STATE_RUNNABLE), 0);
	CHECK_EQ(mp_state_of(vm, 0), KVM_MP_STATE_RUNNABLE);
}

/*
 * kvm_vcpu_halt (via kvm_emulate_halt): without lapic_in_kernel() HLT is
 * KVM_EXIT_HLT for the controller, and KVM_INTERRUPT queues an interrupt
 * (kvm_vcpu_ioctl_interrupt, !irqchip_in_kernel()). The APIC's MSRs have
 * no APIC behind them: the x2APIC range is #GP (kvm_x2apic_msr_read,
 * !lapic_in_kernel()), IA32_TSC_DEADLINE reads 0 and drops writes
 * (kvm_get/set_lapic_tscdeadline_msr, !kvm_apic_present()).
 */
static void test_no_irqchip_hlt_and_msrs(void)
{
	struct kvm_interrupt irq = {.irq = 0x30};
	h_step hlt[] = {step_sti_hlt};
	h_step msr[] = {h_step_wrmsr, h_step_rdmsr, step_observe};
	h_step x2[] = {h_step_rdmsr, step_observe};
	uint32_t vm;

	h_reset();
	vm = make_vm(false, 1, 2);
	h_steps(hlt, 1);
	CHECK_EQ(h_cpu(vm, 0, KVM_RUN, NULL, 0), 0);
	CHECK_EQ(h_run_page(vm, 0)->exit_reason, KVM_EXIT_HLT);
	CHECK_EQ(h_steps_done(), 1);
	CHECK_EQ(mp_state_of(vm, 0), KVM_MP_STATE_RUNNABLE);
	CHECK_EQ(h_cpu(vm, 0, KVM_INTERRUPT, &irq, sizeof(irq)), 0);

	vm = make_vm(false, 1, 2);
	h_msr = LAPIC_MSR_TSC_DEADLINE;
	h_msr_val = 0x123456789ull;
	h_steps(msr, 3);
	CHECK_EQ(h_cpu(vm, 0, KVM_RUN, NULL, 0), 0);
	CHECK(!h_delivered[1].valid && !h_delivered[2].valid);
	CHECK_EQ(seen.rip, RIP0 + 4);
	CHECK_EQ(seen.rax, 0);

	vm = make_vm(false, 1, 2);
	h_msr = 0x802;
	h_steps(x2, 2);
	CHECK_EQ(h_cpu(vm, 0, KVM_RUN, NULL, 0), 0);
	CHECK_EQ(h_delivered[1].info, GP_INFO);
	CHECK_EQ(seen.rip, RIP0);
}

/* ---- with an irqchip: the ioctls ---------------------------------------------- */

/*
 * kvm_vcpu_ioctl_interrupt: irq >= KVM_NR_INTERRUPTS is -EINVAL first,
 * then "if (pic_in_kernel(vcpu->kvm)) return -ENXIO".
 */
static void test_irqchip_interrupt_enxio(void)
{
	struct kvm_interrupt irq = {.irq = 0x30};
	uint32_t vm;

	h_reset();
	vm = make_vm(true, 1, 2);
	CHECK_EQ(h_cpu(vm, 0, KVM_INTERRUPT, &irq, sizeof(irq)), -HV_ENXIO);
	irq.irq = 256;
	CHECK_EQ(h_cpu(vm, 0, KVM_INTERRUPT, &irq, sizeof(irq)), -HV_EINVAL);
}

/*
 * kvm_arch_vcpu_ioctl_set_mpstate with lapic_in_kernel(): RUNNABLE,
 * UNINITIALIZED, HALTED, AP_RESET_HOLD, INIT_RECEIVED taken (and read back
 * by kvm_arch_vcpu_ioctl_get_mpstate); STOPPED..LOAD (s390), SUSPENDED
 * and unknown values are -EINVAL and change nothing. The BSP starts
 * RUNNABLE (kvm_arch_vcpu_create: kvm_vcpu_is_reset_bsp()).
 */
static void test_irqchip_mp_state(void)
{
	static const uint32_t taken[] = {KVM_MP_STATE_UNINITIALIZED, KVM_MP_STATE_INIT_RECEIVED,
					 KVM_MP_STATE_HALTED, KVM_MP_STATE_AP_RESET_HOLD,
					 KVM_MP_STATE_RUNNABLE};
	static const uint32_t refused[] = {5,  6,     7,	  8, KVM_MP_STATE_SUSPENDED,
					   11, 0x100, 0xffffffffu};
	uint32_t vm;

	h_reset();
	vm = make_vm(true, 1, 2);
	CHECK_EQ(mp_state_of(vm, 0), KVM_MP_STATE_RUNNABLE);
	for (unsigned i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		CHECK_EQ(set_mp_state(vm, 0, taken[i]), 0);
		CHECK_EQ(mp_state_of(vm, 0), taken[i]);
	}
	/* SIPI_RECEIVED is INIT_RECEIVED with the SIPI pending, which
	 * KVM_GET_MP_STATE accepts (kvm_apic_accept_events): RUNNABLE. */
	CHECK_EQ(set_mp_state(vm, 0, KVM_MP_STATE_SIPI_RECEIVED), 0);
	CHECK_EQ(mp_state_of(vm, 0), KVM_MP_STATE_RUNNABLE);
	CHECK_EQ(set_mp_state(vm, 0, KVM_MP_STATE_HALTED), 0);
	for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		CHECK_EQ(set_mp_state(vm, 0, refused[i]), -HV_EINVAL);
		CHECK_EQ(mp_state_of(vm, 0), KVM_MP_STATE_HALTED);
	}
}

/*
 * kvm_arch_vcpu_create: "if (!irqchip_in_kernel(vcpu->kvm) ||
 * kvm_vcpu_is_reset_bsp(vcpu)) mp_state = RUNNABLE; else mp_state =
 * UNINITIALIZED": an AP of a VM with an irqchip waits for INIT/SIPI.
 */
static void test_ap_starts_uninitialized(void)
{
	uint32_t vm;

	h_reset();
	vm = make_vm(true, 2, 2);
	CHECK_EQ(mp_state_of(vm, 0), KVM_MP_STATE_RUNNABLE);
	CHECK_EQ(mp_state_of(vm, 1), KVM_MP_STATE_UNINITIALIZED);
}

/*
 * kvm_lapic_reset(RESET) at KVM_CREATE_VCPU: xAPIC ID = vcpu_id << 24
 * (kvm_apic_set_xapic_id), version 0x50014 (kvm_apic_set_version: 0x14,
 * six LVTs, no directed EOI with the in-kernel IOAPIC), every LVT masked
 * but the BSP's LVT0, ExtINT (KVM_X86_QUIRK_LINT0_REENABLED), DFR all
 * ones, SPIV 0xff (software-disabled), TPR/LDR/ICR/TMICT/IRR/ISR/TMR 0;
 * IA32_APIC_BASE 0xfee00000 | ENABLE (| BSP on the BSP).
 */
static void test_lapic_reset_values(void)
{
	static const uint32_t lvts[] = {LAPIC_LVTT, LAPIC_LVTTHMR, LAPIC_LVTPC, LAPIC_LVT1,
					LAPIC_LVTERR};
	struct kvm_lapic_state s;
	uint64_t base;
	uint32_t vm;

	h_reset();
	vm = make_vm(true, 3, 2);
	for (uint32_t id = 0; id < 3; id += 2) {
		s = lapic_of(vm, id);
		CHECK_EQ(reg(&s, LAPIC_ID), id << 24);
		CHECK_EQ(reg(&s, LAPIC_LVR), 0x50014);
		CHECK_EQ(reg(&s, LAPIC_SPIV), 0xff);
		CHECK_EQ(reg(&s, LAPIC_DFR), 0xffffffffu);
		CHECK_EQ(reg(&s, LAPIC_TASKPRI), 0);
		CHECK_EQ(reg(&s, LAPIC_LDR), 0);
		CHECK_EQ(reg(&s, LAPIC_ICR), 0);
		CHECK_EQ(reg(&s, LAPIC_TMICT), 0);
		CHECK_EQ(reg(&s, LAPIC_TMCCT), 0);
		for (unsigned i = 0; i < sizeof(lvts) / sizeof(lvts[0]); i++)
			CHECK_EQ(reg(&s, lvts[i]), LAPIC_LVT_MASKED);
		CHECK_EQ(reg(&s, LAPIC_LVT0), id == 0 ? 0x700 : LAPIC_LVT_MASKED);
		for (uint32_t r = 0; r < 8; r++) {
			CHECK_EQ(reg(&s, LAPIC_IRR + 0x10 * r), 0);
			CHECK_EQ(reg(&s, LAPIC_ISR + 0x10 * r), 0);
			CHECK_EQ(reg(&s, LAPIC_TMR + 0x10 * r), 0);
		}
		CHECK_EQ(host_rdmsr(vm, id, MSR_IA32_APIC_BASE, &base), 1);
		CHECK_EQ(base, 0xfee00800ull | (id == 0 ? 0x100 : 0));
	}
}

static void lapic_pending_0x40_tpr_timer(struct kvm_lapic_state *s)
{
	sw_enable(s);
	set_reg(s, LAPIC_IRR + 0x10 * (0x40 / 32), 1u << (0x40 % 32));
	set_reg(s, LAPIC_TASKPRI, 0x20);
	set_reg(s, LAPIC_LVTT, 0xef); /* one-shot, unmasked */
	set_reg(s, LAPIC_TDCR, 0xb);  /* divide by 1 */
	set_reg(s, LAPIC_TMICT, 1000000);
	set_reg(s, LAPIC_TMCCT, 0x12345678); /* not the caller's to set */
}

/*
 * kvm_apic_set_state / kvm_apic_get_state: the page goes in whole (IRR,
 * TPR and the rest stay), TMCCT is computed from the running timer on the
 * way out (__apic_read(APIC_TMCCT)), never taken from the caller.
 */
static void test_lapic_set_get_roundtrip(void)
{
	struct kvm_lapic_state s;
	uint32_t vm;

	h_reset();
	vm = make_vm(true, 1, 2);
	edit_lapic(vm, 0, lapic_pending_0x40_tpr_timer);
	s = lapic_of(vm, 0);
	CHECK(vec_set(&s, LAPIC_IRR, 0x40));
	CHECK_EQ(reg(&s, LAPIC_TASKPRI), 0x20);
	CHECK_EQ(reg(&s, LAPIC_SPIV), 0x1ff);
	CHECK_EQ(reg(&s, LAPIC_LVTT), 0xef);
	CHECK_EQ(reg(&s, LAPIC_TMICT), 1000000);
	CHECK(reg(&s, LAPIC_TMCCT) > 0 && reg(&s, LAPIC_TMCCT) <= 1000000);
	/* The timer counts down as the TSC moves on. */
	fake_tsc_advance(100000);
	{
		struct kvm_lapic_state t = lapic_of(vm, 0);

		CHECK(reg(&t, LAPIC_TMCCT) < reg(&s, LAPIC_TMCCT));
	}
}

static void lapic_bad_version(struct kvm_lapic_state *s)
{
	set_reg(s, LAPIC_LVR, 0x12345678);
}

/* kvm_apic_set_state calls kvm_apic_set_version(): LVR is KVM's, not the caller's. */
static void test_lapic_set_keeps_version(void)
{
	struct kvm_lapic_state s;
	uint32_t vm;

	h_reset();
	vm = make_vm(true, 1, 2);
	edit_lapic(vm, 0, lapic_bad_version);
	s = lapic_of(vm, 0);
	CHECK_EQ(reg(&s, LAPIC_LVR), 0x50014);
}

/*
 * kvm_vm_ioctl_get_irqchip / kvm_vm_ioctl_set_irqchip: chip 0 (PIC
 * master), 1 (slave), 2 (IOAPIC, kvm_get_ioapic); any other chip_id is
 * -EINVAL. At creation the IOAPIC is at 0xfec00000 with every pin masked
 * (kvm_ioapic_reset), the PICs as kvm_pic_init leaves them (ELCR masks
 * 0xf8 / 0xde).
 */
static void test_get_set_irqchip(void)
{
	struct kvm_irqchip c;
	uint32_t vm;

	h_reset();
	vm = make_vm(true, 1, 2);
	c = chip_of(vm, KVM_IRQCHIP_PIC_MASTER);
	CHECK_EQ(c.chip.pic.elcr_mask, 0xf8);
	CHECK_EQ(c.chip.pic.imr, 0);
	c = chip_of(vm, KVM_IRQCHIP_PIC_SLAVE);
	CHECK_EQ(c.chip.pic.elcr_mask, 0xde);
	c = chip_of(vm, KVM_IRQCHIP_IOAPIC);
	CHECK_EQ(c.chip.ioapic.base_address, 0xfec00000ull);
	CHECK_EQ(c.chip.ioapic.id, 0);
	for (unsigned pin = 0; pin < KVM_IOAPIC_NUM_PINS; pin++)
		CHECK(c.chip.ioapic.redirtbl[pin].bits & IOAPIC_RTE_MASKED);
	/* A round trip. */
	c = chip_of(vm, KVM_IRQCHIP_PIC_MASTER);
	c.chip.pic.imr = 0x5a;
	c.chip.pic.irq_base = 0x20;
	set_chip(vm, &c);
	c = chip_of(vm, KVM_IRQCHIP_PIC_MASTER);
	CHECK_EQ(c.chip.pic.imr, 0x5a);
	CHECK_EQ(c.chip.pic.irq_base, 0x20);
	/* Unknown chips. */
	memset(&c, 0, sizeof(c));
	c.chip_id = 3;
	CHECK_EQ(h_vm(vm, KVM_GET_IRQCHIP, &c, sizeof(c)), -HV_EINVAL);
	CHECK_EQ(h_vm(vm, KVM_SET_IRQCHIP, &c, sizeof(c)), -HV_EINVAL);
	c.chip_id = 0xffffffffu;
	CHECK_EQ(h_vm(vm, KVM_GET_IRQCHIP, &c, sizeof(c)), -HV_EINVAL);
	CHECK_EQ(h_vm(vm, KVM_SET_IRQCHIP, &c, sizeof(c)), -HV_EINVAL);
	c.chip_id = 0x80000002u;
	CHECK_EQ(h_vm(vm, KVM_GET_IRQCHIP, &c, sizeof(c)), -HV_EINVAL);
	/* The refused set changed nothing. */
	c = chip_of(vm, KVM_IRQCHIP_PIC_MASTER);
	CHECK_EQ(c.chip.pic.imr, 0x5a);
}

/*
 * kvm_vm_ioctl_irq_line + kvm_set_irq: the ioctl succeeds and
 * KVM_IRQ_LINE_STATUS writes kvm_set_irq's sum back: GSI 4 reaches the
 * unmasked PIC (1) while its IOAPIC pin is masked (-1, skipped): 1. A GSI
 * with no route is -1 (no entry in the default routing). KVM_IRQ_LINE
 * writes nothing back.
 */
static void test_irq_line_status(void)
{
	struct kvm_irq_level l;
	uint32_t vm;

	h_reset();
	vm = make_vm(true, 1, 2);
	l = (struct kvm_irq_level){.irq = 4, .level = 1};
	CHECK_EQ(h_vm(vm, KVM_IRQ_LINE_STATUS, &l, sizeof(l)), 0);
	CHECK_EQ(l.status, 1);
	l = (struct kvm_irq_level){.irq = 4, .level = 0};
	CHECK_EQ(h_vm(vm, KVM_IRQ_LINE, &l, sizeof(l)), 0);
	CHECK_EQ(l.irq, 4);
	l = (struct kvm_irq_level){.irq = 24, .level = 1};
	CHECK_EQ(h_vm(vm, KVM_IRQ_LINE_STATUS, &l, sizeof(l)), 0);
	CHECK_EQ(l.status, -1);
	l = (struct kvm_irq_level){.irq = 0xffffffffu, .level = 1};
	CHECK_EQ(h_vm(vm, KVM_IRQ_LINE_STATUS, &l, sizeof(l)), 0);
	CHECK_EQ(l.status, -1);
}

/*
 * kvm_send_userspace_msi: flags other than KVM_MSI_VALID_DEVID are
 * -EINVAL (devid is ignored on x86); then kvm_set_msi ->
 * kvm_irq_delivery_to_apic: the number of APICs that took it, the vector
 * in IRR (address 0xfee00000: physical destination 0; data: fixed, edge).
 */
static void test_signal_msi(void)
{
	struct kvm_msi msi = {.address_lo = APIC_PAGE, .data = 0x40};
	struct kvm_lapic_state s;
	uint32_t vm;

	h_reset();
	vm = make_vm(true, 1, 2);
	msi.flags = 2;
	CHECK_EQ(h_vm(vm, KVM_SIGNAL_MSI, &msi, sizeof(msi)), -HV_EINVAL);
	msi.flags = 0x80000000u;
	CHECK_EQ(h_vm(vm, KVM_SIGNAL_MSI, &msi, sizeof(msi)), -HV_EINVAL);
	edit_lapic(vm, 0, sw_enable);
	msi.flags = 0;
	CHECK_EQ(h_vm(vm, KVM_SIGNAL_MSI, &msi, sizeof(msi)), 1);
	msi.flags = KVM_MSI_VALID_DEVID;
	msi.devid = 7;
	msi.data = 0x41;
	CHECK_EQ(h_vm(vm, KVM_SIGNAL_MSI, &msi, sizeof(msi)), 1);
	s = lapic_of(vm, 0);
	CHECK(vec_set(&s, LAPIC_IRR, 0x40));
	CHECK(vec_set(&s, LAPIC_IRR, 0x41));
}

/*
 * api.rst (KVM_SIGNAL_MSI): ">0 on delivery, 0 if guest blocked the MSI".
 * kvm_irq_delivery_to_apic(_fast): r = 0 once the destination was looked
 * up, then += kvm_apic_set_irq() per target, and __apic_accept_irq takes
 * no fixed interrupt while the APIC is software-disabled (SPIV 0xff at
 * reset): 0, not -1 (-EPERM). A physical destination no APIC has is 0 as
 * well (kvm_apic_map_get_dest_lapic: bitmap 0, return true).
 */
static void test_signal_msi_blocked_is_zero(void)
{
	struct kvm_msi msi = {.address_lo = APIC_PAGE, .data = 0x40};
	struct kvm_lapic_state s;
	uint32_t vm;

	h_reset();
	vm = make_vm(true, 1, 2);
	CHECK_EQ(h_vm(vm, KVM_SIGNAL_MSI, &msi, sizeof(msi)), 0);
	s = lapic_of(vm, 0);
	CHECK(!vec_set(&s, LAPIC_IRR, 0x40));
	edit_lapic(vm, 0, sw_enable);
	msi.address_lo = APIC_PAGE | 5u << 12; /* APIC ID 5: none */
	CHECK_EQ(h_vm(vm, KVM_SIGNAL_MSI, &msi, sizeof(msi)), 0);
}

/* ---- with an irqchip: guests ---------------------------------------------------- */

/*
 * kvm_emulate_halt -> kvm_vcpu_halt with lapic_in_kernel(): mp_state
 * HALTED and no exit to user space; vcpu_block waits, and a signal (here
 * the run budget, or a kick) ends KVM_RUN with -EINTR and
 * KVM_EXIT_INTR. immediate_exit is -EINTR at once (kvm_arch_vcpu_ioctl_run).
 */
static uint32_t kick_vm;

static void kick(void)
{
	if (fake_hlts == 3)
		h_vcpu(kick_vm, 0)->stop_request = true;
}

static uint64_t rip_of(uint32_t vm, uint32_t id)
{
	struct kvm_regs r;

	if (h_cpu(vm, id, KVM_GET_REGS, &r, sizeof(r)))
		abort();
	return r.rip;
}

static void set_rip(uint32_t vm, uint32_t id, uint64_t rip)
{
	struct kvm_regs r;

	if (h_cpu(vm, id, KVM_GET_REGS, &r, sizeof(r)))
		abort();
	r.rip = rip;
	if (h_cpu(vm, id, KVM_SET_REGS, &r, sizeof(r)))
		abort();
}

static void test_hlt_stays_in_hypervisor(void)
{
	h_step steps[] = {step_sti_hlt};
	struct kvm_run *run;
	uint32_t vm;
	long rc;

	h_reset();
	vm = make_vm(true, 1, 2);
	run = h_run_page(vm, 0);
	h_steps(steps, 1);
	rc = run0(vm);
	CHECK(ended_halted(vm, 0, rc));
	CHECK_EQ(h_steps_done(), 1); /* no entry after the HLT */
	CHECK(fake_hlts > 1);	     /* it waited */
	CHECK_EQ(mp_state_of(vm, 0), KVM_MP_STATE_HALTED);
	CHECK_EQ(rip_of(vm, 0), RIP0 + 1);
	/* immediate_exit: -EINTR at once, still halted. */
	run->immediate_exit = 1;
	CHECK_EQ(h_cpu(vm, 0, KVM_RUN, NULL, 0), -HV_EINTR);
	run->immediate_exit = 0;
	CHECK_EQ(h_steps_done(), 1);
	/* A kick (what the channel does for KVM_RUN's signal) while it waits. */
	fake_vmx_reset_counters();
	kick_vm = vm;
	fake_hlt_hook = kick;
	h_vcpu(vm, 0)->tsc_deadline = 0;
	rc = h_cpu(vm, 0, KVM_RUN, NULL, 0);
	fake_hlt_hook = NULL;
	CHECK_EQ(rc, -HV_EINTR);
	CHECK_EQ(run->exit_reason, KVM_EXIT_INTR);
	CHECK_EQ(fake_hlts, 3);
	CHECK_EQ(h_steps_done(), 1);
	CHECK_EQ(fake_vmx_stats.entries, 0);
	CHECK_EQ(mp_state_of(vm, 0), KVM_MP_STATE_HALTED);
	/* kvm_vcpu_ready_for_interrupt_injection: 1 with an in-kernel PIC. */
	CHECK_EQ(run->ready_for_interrupt_injection, 1);
}

static void lapic_irr_0x40(struct kvm_lapic_state *s)
{
	sw_enable(s);
	set_reg(s, LAPIC_IRR + 0x10 * (0x40 / 32), 1u << (0x40 % 32));
}

/*
 * kvm_vcpu_has_events / kvm_arch_vcpu_runnable: a halted vCPU wakes for
 * an interrupt it can take (kvm_arch_interrupt_allowed: IF=1) that the
 * APIC has (kvm_cpu_has_interrupt); then kvm_check_and_inject_events
 * injects it: VM-entry interruption info valid | external | vector, and
 * the vector moves IRR -> ISR (kvm_get_apic_interrupt). With IF=0 it
 * stays halted.
 */
static void test_hlt_wakes_for_pending_irr(void)
{
	h_step hlt_if0[] = {step_hlt};
	h_step sti_hlt[] = {step_sti_hlt, step_observe};
	struct kvm_lapic_state s;
	uint32_t vm;
	long rc;

	h_reset();
	vm = make_vm(true, 1, 2);
	edit_lapic(vm, 0, lapic_irr_0x40);
	/* IF=0: HLT does not wake, the vector waits in IRR. */
	h_steps(hlt_if0, 1);
	rc = run0(vm);
	CHECK(ended_halted(vm, 0, rc));
	CHECK_EQ(h_steps_done(), 1);
	CHECK(!h_delivered[0].valid);
	CHECK_EQ(mp_state_of(vm, 0), KVM_MP_STATE_HALTED);
	s = lapic_of(vm, 0);
	CHECK(vec_set(&s, LAPIC_IRR, 0x40));
	/* STI; HLT: the HLT wakes at once and the next entry delivers 0x40. */
	CHECK_EQ(set_mp_state(vm, 0, KVM_MP_STATE_RUNNABLE), 0);
	set_rip(vm, 0, RIP0);
	h_steps(sti_hlt, 2);
	rc = run0(vm);
	CHECK(ended_halted(vm, 0, rc));
	CHECK(!h_delivered[0].valid);
	CHECK(h_delivered[1].valid);
	CHECK_EQ(h_delivered[1].info, INFO_VALID | 0x40);
	CHECK_EQ(seen.rip, RIP0 + 1); /* delivered after the HLT */
	s = lapic_of(vm, 0);
	CHECK(!vec_set(&s, LAPIC_IRR, 0x40));
	CHECK(vec_set(&s, LAPIC_ISR, 0x40));
	CHECK_EQ(fake_vmx_stats.fail_controls + fake_vmx_stats.fail_guest_state, 0);
}

/*
 * apic_mmio_write -> kvm_lapic_reg_write: SPIV (apic_set_spiv) and ICR
 * (kvm_apic_send_ipi) by the guest's stores to the APIC page, decoded on
 * the EPT-violation path: a fixed self-IPI (shorthand self) lands in the
 * sender's IRR and is injected at the next entry. No KVM_EXIT_MMIO.
 */
static void test_self_ipi_by_mmio(void)
{
	h_step steps[] = {step_mmio, step_mmio, step_observe};
	struct kvm_lapic_state s;
	uint32_t vm;
	long rc;

	h_reset();
	vm = make_vm(true, 1, 0x202);
	mmio_w(0, APIC_PAGE + LAPIC_SPIV, 0x1ff);
	mmio_w(1, APIC_PAGE + LAPIC_ICR, LAPIC_SH_SELF << LAPIC_SHORTHAND_SHIFT | 0x50);
	put_mmio(vm, 2);
	h_steps(steps, 3);
	rc = run0(vm);
	CHECK(ended_halted(vm, 0, rc));
	CHECK(!h_delivered[1].valid);
	CHECK_EQ(h_delivered[2].info, INFO_VALID | 0x50);
	CHECK_EQ(seen.rip, RIP0 + 12);
	s = lapic_of(vm, 0);
	CHECK_EQ(reg(&s, LAPIC_SPIV), 0x1ff);
	CHECK_EQ(reg(&s, LAPIC_ICR), LAPIC_SH_SELF << LAPIC_SHORTHAND_SHIFT | 0x50);
	CHECK(vec_set(&s, LAPIC_ISR, 0x50));
	CHECK_EQ(fake_vmx_stats.fail_controls + fake_vmx_stats.fail_guest_state, 0);
}

/*
 * apic_mmio_read -> kvm_lapic_reg_read(APIC_LVR): 0x50014 in the load's
 * destination; ioapic_mmio_write/read of IOREGSEL and IOWIN
 * (ioapic_read_indirect, IOAPIC_REG_VERSION: 0x11 | 23 << 16). All in the
 * hypervisor: the run ends halted, not with KVM_EXIT_MMIO.
 */
static void test_mmio_reads(void)
{
	h_step steps[] = {step_mmio, step_mmio, step_mmio, step_observe};
	uint32_t vm;
	long rc;

	h_reset();
	vm = make_vm(true, 1, 2);
	mmio_r(0, APIC_PAGE + LAPIC_LVR);
	mmio_w(1, IOAPIC_DEFAULT_BASE + IOAPIC_REG_SELECT, IOAPIC_INDEX_VERSION);
	mmio_r(2, IOAPIC_DEFAULT_BASE + IOAPIC_REG_WINDOW);
	put_mmio(vm, 3);
	h_steps(steps, 4);
	rc = run0(vm);
	CHECK(ended_halted(vm, 0, rc));
	CHECK_EQ((uint32_t)mm[1].rax_before, 0x50014);
	CHECK_EQ((uint32_t)seen.rax, 0x170011);
	CHECK_EQ(seen.rip, RIP0 + 18);
}

/* Long mode at RIP0, identity-mapped 2 MiB page 0 (tables at 0x10000). */
static void long_mode_at_rip0(uint32_t vm)
{
	uint64_t pml4e = 0x11003, pdpte = 0x12003, pde = 0x83;
	struct kvm_regs r = {.rip = RIP0, .rflags = 2};

	if (h_set_mode(vm, 0, H_LONG64) || h_cpu(vm, 0, KVM_SET_REGS, &r, sizeof(r)) ||
	    vm_write_gpa(kvm_api_vm(vm), 0x10000, &pml4e, 8) ||
	    vm_write_gpa(kvm_api_vm(vm), 0x11000, &pdpte, 8) ||
	    vm_write_gpa(kvm_api_vm(vm), 0x12000, &pde, 8))
		abort();
}

static uint32_t step_cr8_to_rbx(struct fake_guest *g)
{
	(void)g;
	return h_exit_cr(8, 1, GPR_RBX, 0); /* mov rbx, cr8 */
}

static uint32_t step_rcx_to_cr8(struct fake_guest *g)
{
	seen.rbx = g->gpr[GPR_RBX];
	g->gpr[GPR_RCX] = 3;
	return h_exit_cr(8, 0, GPR_RCX, 0); /* mov cr8, rcx */
}

/*
 * apic_set_tpr by an MMIO store to APIC_TASKPRI, seen as CR8 = TPR >> 4
 * (kvm_lapic_get_cr8) by MOV from CR8, KVM_GET_SREGS and kvm_run.cr8; MOV
 * to CR8 sets TPR = CR8 << 4 (kvm_lapic_set_tpr) and, with
 * lapic_in_kernel(), never exits with KVM_EXIT_SET_TPR (handle_cr).
 * KVM_SET_SREGS' cr8 goes to the APIC too (kvm_set_cr8).
 */
static void test_tpr_mmio_and_cr8(void)
{
	static const uint8_t store[] = {0x89, 0x04, 0x25, 0x80, 0x00, 0xe0, 0xfe};
	h_step steps[] = {step_mmio, step_cr8_to_rbx, step_rcx_to_cr8, step_observe};
	struct kvm_lapic_state s;
	struct kvm_sregs sr;
	uint32_t vm;
	long rc;

	h_reset();
	vm = make_vm(true, 1, 2);
	long_mode_at_rip0(vm);
	CHECK_EQ(vm_write_gpa(kvm_api_vm(vm), RIP0, store, sizeof(store)), 0);
	mmio_w(0, APIC_PAGE + LAPIC_TASKPRI, 0x5c);
	mm_next = 0;
	h_steps(steps, 4);
	rc = run0(vm);
	CHECK(ended_halted(vm, 0, rc));
	CHECK_EQ(seen.rbx, 5);
	CHECK_EQ(seen.rip, RIP0 + 7 + 3 + 3);
	s = lapic_of(vm, 0);
	CHECK_EQ(reg(&s, LAPIC_TASKPRI), 0x30);
	CHECK_EQ(h_run_page(vm, 0)->cr8, 3);
	CHECK_EQ(h_cpu(vm, 0, KVM_GET_SREGS, &sr, sizeof(sr)), 0);
	CHECK_EQ(sr.cr8, 3);
	sr.cr8 = 9;
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_SREGS, &sr, sizeof(sr)), 0);
	s = lapic_of(vm, 0);
	CHECK_EQ(reg(&s, LAPIC_TASKPRI), 0x90);
}

/*
 * 1: WRMSR/RDMSR @msr took (RIP past it, nothing injected), 0: #GP(0).
 * The vCPU is made runnable first (it halts after each call).
 */
static int msr_insn(uint32_t vm, uint32_t id, h_step step, uint32_t msr, uint64_t val)
{
	h_step steps[] = {step, step_observe};

	h_msr = msr;
	h_msr_val = val;
	if (set_mp_state(vm, id, KVM_MP_STATE_RUNNABLE))
		return -3;
	set_rip(vm, id, RIP0);
	h_steps(steps, 2);
	if (!ended_halted(vm, id, run_id(vm, id)))
		return -1;
	if (!h_delivered[1].valid && seen.rip == RIP0 + 2)
		return 1;
	if (h_delivered[1].info == GP_INFO && seen.rip == RIP0)
		return 0;
	return -2;
}

/*
 * kvm_x2apic_msr_read / kvm_x2apic_msr_write: "if (!lapic_in_kernel(vcpu)
 * || !apic_x2apic_mode(apic)) return 1": #GP in xAPIC mode.
 */
static void test_x2apic_msrs_gp_in_xapic_mode(void)
{
	uint32_t vm;

	h_reset();
	vm = make_vm(true, 1, 2);
	CHECK_EQ(msr_insn(vm, 0, h_step_rdmsr, 0x802, 0), 0);
	CHECK_EQ(msr_insn(vm, 0, h_step_rdmsr, 0x803, 0), 0);
	CHECK_EQ(msr_insn(vm, 0, h_step_wrmsr, 0x808, 0x10), 0);
	CHECK_EQ(msr_insn(vm, 0, h_step_rdmsr, 0x8ff, 0), 0);
}

/*
 * kvm_set_apic_base (the guest's WRMSR): EN -> EN|EXTD is allowed when
 * CPUID has x2APIC; kvm_lapic_set_base then kvm_apic_set_x2apic_id: the
 * x2APIC ID is the vcpu_id (MSR 0x802), the LDR derived from it (0x80d:
 * (id >> 4) << 16 | 1 << (id & 0xf)); the version is 0x50014 (0x803).
 * KVM_GET_LAPIC shows the ID at bits 31:24 (kvm_apic_state_fixup without
 * KVM_CAP_X2APIC_API). Disabled -> x2APIC and x2APIC -> xAPIC are #GP.
 */
static void test_x2apic_enable_reads_id(void)
{
	struct kvm_lapic_state s;
	uint64_t base;
	uint32_t vm;

	h_reset();
	vm = make_vm(true, 2, 2);
	CHECK_EQ(set_mp_state(vm, 1, KVM_MP_STATE_RUNNABLE), 0);
	CHECK_EQ(msr_insn(vm, 1, h_step_wrmsr, MSR_IA32_APIC_BASE, 0xfee00c00), 1);
	CHECK_EQ(msr_insn(vm, 1, h_step_rdmsr, 0x802, 0), 1);
	CHECK_EQ(seen.rax, 1);
	CHECK_EQ(seen.rdx, 0);
	CHECK_EQ(msr_insn(vm, 1, h_step_rdmsr, 0x803, 0), 1);
	CHECK_EQ(seen.rax, 0x50014);
	CHECK_EQ(msr_insn(vm, 1, h_step_rdmsr, 0x80d, 0), 1);
	CHECK_EQ(seen.rax, 2);
	CHECK_EQ(host_rdmsr(vm, 1, MSR_IA32_APIC_BASE, &base), 1);
	CHECK_EQ(base, 0xfee00c00);
	s = lapic_of(vm, 1);
	CHECK_EQ(reg(&s, LAPIC_ID), 1u << 24);
	/* kvm_apic_state_fixup(set): the ID comes back from bits 31:24. */
	CHECK_EQ(h_cpu(vm, 1, KVM_SET_LAPIC, &s, sizeof(s)), 0);
	CHECK_EQ(msr_insn(vm, 1, h_step_rdmsr, 0x802, 0), 1);
	CHECK_EQ(seen.rax, 1);
	/* x2APIC -> xAPIC directly: #GP; -> disabled: fine; disabled -> x2APIC: #GP. */
	CHECK_EQ(msr_insn(vm, 1, h_step_wrmsr, MSR_IA32_APIC_BASE, 0xfee00800), 0);
	CHECK_EQ(msr_insn(vm, 1, h_step_wrmsr, MSR_IA32_APIC_BASE, 0xfee00000), 1);
	CHECK_EQ(msr_insn(vm, 1, h_step_wrmsr, MSR_IA32_APIC_BASE, 0xfee00c00), 0);
	CHECK_EQ(msr_insn(vm, 1, h_step_wrmsr, MSR_IA32_APIC_BASE, 0xfee00800), 1);
	CHECK_EQ(msr_insn(vm, 1, h_step_rdmsr, 0x802, 0), 0);
}

/*
 * apic_mmio_read / apic_mmio_write with KVM_X86_QUIRK_LAPIC_MMIO_HOLE (on
 * by default): while the APIC is in x2APIC mode or hardware-disabled, its
 * page is still KVM's: reads give all ones ("memset(data, 0xff, len)"),
 * writes are dropped, nothing goes to user space as KVM_EXIT_MMIO.
 */
static void test_xapic_page_in_x2apic_mode(void)
{
	static const uint8_t code[] = {0x0f, 0x30, 0x8b, 0x05, 0x30, 0x00, 0xe0, 0xfe};
	h_step steps[] = {h_step_wrmsr, step_mmio, step_observe};
	struct kvm_run *run;
	uint32_t vm;
	long rc;

	h_reset();
	vm = make_vm(true, 1, 2);
	run = h_run_page(vm, 0);
	CHECK_EQ(vm_write_gpa(kvm_api_vm(vm), RIP0, code, sizeof(code)), 0);
	h_msr = MSR_IA32_APIC_BASE;
	h_msr_val = 0xfee00d00; /* EN | EXTD | BSP */
	mmio_r(0, APIC_PAGE + LAPIC_LVR);
	mm_next = 0;
	h_steps(steps, 3);
	rc = run0(vm);
	CHECK_EQ(run->exit_reason, KVM_EXIT_INTR); /* not KVM_EXIT_MMIO */
	CHECK(ended_halted(vm, 0, rc));
	CHECK_EQ((uint32_t)seen.rax, 0xffffffffu);
	CHECK_EQ(seen.rip, RIP0 + 8);
}

static void lapic_tsc_deadline_mode(struct kvm_lapic_state *s)
{
	sw_enable(s);
	set_reg(s, LAPIC_LVTT, LAPIC_TIMER_TSCDEADLN | 0x60);
}

/*
 * kvm_set_lapic_tscdeadline_msr / kvm_get_lapic_tscdeadline_msr: dropped
 * and 0 unless LVTT is in TSC-deadline mode; then the guest's WRMSR arms
 * the timer, RDMSR reads it back, the VMX preemption timer is set to
 * fire by then (arm_preemption_timer here, KVM's hv timer), and at the
 * deadline apic_timer_expired() wakes the halted vCPU: LVTT's vector is
 * injected and IA32_TSC_DEADLINE reads 0 again
 * (kvm_apic_inject_pending_timer_irqs).
 */
static void test_tsc_deadline_timer(void)
{
	h_step steps[] = {h_step_wrmsr, h_step_rdmsr, step_observe, step_sti_hlt, step_observe};
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = {.h = {.nmsrs = 1}, .e = {.index = LAPIC_MSR_TSC_DEADLINE, .data = 0x1234}};
	uint64_t tsc, deadline, val;
	uint32_t vm;
	long rc;

	h_reset();
	vm = make_vm(true, 1, 2);
	/* One-shot mode (reset): the write is dropped. */
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_MSRS, &m, sizeof(m)), 1);
	CHECK_EQ(host_rdmsr(vm, 0, LAPIC_MSR_TSC_DEADLINE, &val), 1);
	CHECK_EQ(val, 0);
	edit_lapic(vm, 0, lapic_tsc_deadline_mode);
	CHECK_EQ(host_rdmsr(vm, 0, MSR_IA32_TSC, &tsc), 1);
	deadline = tsc + 5000000; /* 2.5 ms at the fake's 2 GHz */
	h_msr = LAPIC_MSR_TSC_DEADLINE;
	h_msr_val = deadline;
	h_steps(steps, 5);
	rc = run0(vm);
	CHECK(ended_halted(vm, 0, rc));
	CHECK(!h_delivered[1].valid && !h_delivered[2].valid && !h_delivered[3].valid);
	CHECK_EQ(h_delivered[4].info, INFO_VALID | 0x60);
	CHECK_EQ(seen.rip, RIP0 + 2 + 2 + 2 + 1); /* woken after the HLT */
	/* RDMSR gave the deadline back (EDX:EAX, still there). */
	CHECK_EQ(seen.rdx << 32 | (uint32_t)seen.rax, deadline);
	CHECK_EQ(host_rdmsr(vm, 0, LAPIC_MSR_TSC_DEADLINE, &val), 1);
	CHECK_EQ(val, 0);
}

/* The same, stopping before the HLT: RDMSR gives the deadline back. */
static void test_tsc_deadline_msr_roundtrip(void)
{
	h_step steps[] = {h_step_wrmsr, h_step_rdmsr, step_observe};
	uint64_t tsc, val;
	uint32_t vm;
	long rc;

	h_reset();
	vm = make_vm(true, 1, 2);
	edit_lapic(vm, 0, lapic_tsc_deadline_mode);
	CHECK_EQ(host_rdmsr(vm, 0, MSR_IA32_TSC, &tsc), 1);
	h_msr = LAPIC_MSR_TSC_DEADLINE;
	h_msr_val = tsc + 1000000000000ull; /* far away */
	h_steps(steps, 3);
	rc = run0(vm);
	CHECK(ended_halted(vm, 0, rc));
	CHECK(!h_delivered[1].valid && !h_delivered[2].valid);
	CHECK_EQ(seen.rdx << 32 | (uint32_t)seen.rax, h_msr_val);
	CHECK_EQ(host_rdmsr(vm, 0, LAPIC_MSR_TSC_DEADLINE, &val), 1);
	CHECK_EQ(val, h_msr_val);
	if (vmx_config.preemption_timer)
		CHECK_EQ(seen.preempt, 1u << 22); /* the slice: the deadline is further */
}

/*
 * The VMX preemption timer follows the APIC timer (KVM's
 * kvm_lapic_hv_timer / here arm_preemption_timer): armed for a deadline
 * sooner than the slice, its value is the TSC ticks left >> the timer
 * rate (IA32_VMX_MISC[4:0]).
 */
static void test_preemption_timer_follows_deadline(void)
{
	h_step steps[] = {h_step_wrmsr, step_observe};
	uint64_t tsc;
	uint32_t vm;
	long rc;

	h_reset();
	if (!vmx_config.preemption_timer)
		return;
	vm = make_vm(true, 1, 2);
	edit_lapic(vm, 0, lapic_tsc_deadline_mode);
	CHECK_EQ(host_rdmsr(vm, 0, MSR_IA32_TSC, &tsc), 1);
	h_msr = LAPIC_MSR_TSC_DEADLINE;
	h_msr_val = tsc + 5000000;
	h_steps(steps, 2);
	rc = run0(vm);
	CHECK(rc == 0 || rc == -HV_EINTR);
	CHECK(seen.preempt > 0);
	CHECK(seen.preempt <= 5000000u >> vmx_config.timer_rate);
	CHECK(seen.preempt >= (5000000u >> vmx_config.timer_rate) - 100);
}

/*
 * picdev_write / picdev_read (i8259.c): the PIC's ports are the
 * hypervisor's: OUT 0x21 with no ICW sequence is OCW1 (IMR), IN 0x21
 * reads IMR into AL (the rest of RAX kept); ELCR 0x4d0 keeps only the
 * bits elcr_mask allows (elcr_ioport_write). No KVM_EXIT_IO for them;
 * port 0x40 (no in-kernel PIT here) still exits to user space.
 */
static void test_pic_ports_in_hypervisor(void)
{
	h_step steps[] = {step_io, step_io, step_io, step_io, step_io};
	struct kvm_irqchip c;
	struct kvm_run *run;
	uint32_t vm;
	long rc;

	h_reset();
	vm = make_vm(true, 1, 2);
	run = h_run_page(vm, 0);
	memset(io, 0, sizeof(io));
	io[0].port = 0x21, io[0].size = 1, io[0].val = 0xfb;
	io[1].port = 0x21, io[1].size = 1, io[1].in = true;
	io[2].port = 0x4d0, io[2].size = 1, io[2].val = 0xff;
	io[3].port = 0x4d0, io[3].size = 1, io[3].in = true;
	io[4].port = 0x40, io[4].size = 1, io[4].val = 0x34;
	io_next = 0;
	h_steps(steps, 5);
	rc = h_cpu(vm, 0, KVM_RUN, NULL, 0);
	CHECK_EQ(rc, 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_IO);
	CHECK_EQ(run->io.port, 0x40);
	CHECK_EQ(run->io.direction, KVM_EXIT_IO_OUT);
	CHECK_EQ(h_steps_done(), 5);
	CHECK_EQ(io[2].rax_before, 0x11223344556677fbull);
	CHECK_EQ(io[4].rax_before, 0x11223344556677f8ull);
	c = chip_of(vm, KVM_IRQCHIP_PIC_MASTER);
	CHECK_EQ(c.chip.pic.imr, 0xfb);
	CHECK_EQ(c.chip.pic.elcr, 0xf8);
}

static void lapic_lvt0_masked(struct kvm_lapic_state *s)
{
	set_reg(s, LAPIC_LVT0, 0x10700);
}

/*
 * kvm_pic_set_irq -> pic_update_irq, then kvm_cpu_has_extint /
 * kvm_cpu_get_interrupt on the BSP, whose LVT0 is ExtINT
 * (kvm_apic_accept_pic_intr): the vector irq_base + irq is injected and
 * the IRQ moves IRR -> ISR (pic_intack). With LVT0 masked it is not
 * taken.
 */
static void test_pic_irq_reaches_bsp(void)
{
	h_step steps[] = {step_observe};
	struct kvm_irq_level l = {.irq = 4, .level = 1};
	struct kvm_irqchip c;
	uint32_t vm;
	long rc;

	h_reset();
	for (int masked = 0; masked < 2; masked++) {
		vm = make_vm(true, 1, 0x202);
		if (masked)
			edit_lapic(vm, 0, lapic_lvt0_masked);
		c = chip_of(vm, KVM_IRQCHIP_PIC_MASTER);
		c.chip.pic.irq_base = 0x20;
		c.chip.pic.imr = 0xef;
		set_chip(vm, &c);
		CHECK_EQ(h_vm(vm, KVM_IRQ_LINE_STATUS, &l, sizeof(l)), 0);
		CHECK_EQ(l.status, 1);
		l.irq = 4;
		h_steps(steps, 1);
		rc = run0(vm);
		CHECK(ended_halted(vm, 0, rc));
		c = chip_of(vm, KVM_IRQCHIP_PIC_MASTER);
		if (masked) {
			CHECK(!h_delivered[0].valid);
			CHECK_EQ(c.chip.pic.irr & 0x10, 0x10);
			CHECK_EQ(c.chip.pic.isr, 0);
		} else {
			CHECK_EQ(h_delivered[0].info, INFO_VALID | 0x24);
			CHECK_EQ(c.chip.pic.irr & 0x10, 0);
			CHECK_EQ(c.chip.pic.isr, 0x10);
		}
	}
}

static void mask_pics(uint32_t vm)
{
	for (uint32_t id = 0; id < 2; id++) {
		struct kvm_irqchip c = chip_of(vm, id);

		c.chip.pic.imr = 0xff;
		set_chip(vm, &c);
	}
}

/*
 * ioapic_service -> kvm_irq_delivery_to_apic: an unmasked level pin sends
 * its vector to the LAPIC (KVM_IRQ_LINE_STATUS: 1, delivered to one APIC),
 * the guest gets it; its EOI (APIC_EOI store, apic_set_eoi ->
 * kvm_ioapic_send_eoi) reaches the IOAPIC (kvm_ioapic_update_eoi_one):
 * remote IRR is cleared and, the line still high, the pin is delivered
 * again.
 */
static void test_ioapic_to_lapic_and_eoi(void)
{
	h_step steps[] = {step_mmio, step_observe};
	struct kvm_irq_level l = {.irq = 10, .level = 1};
	struct kvm_lapic_state s;
	struct kvm_irqchip c;
	uint32_t vm;
	long rc;

	h_reset();
	vm = make_vm(true, 1, 0x202);
	edit_lapic(vm, 0, sw_enable);
	mask_pics(vm);
	c = chip_of(vm, KVM_IRQCHIP_IOAPIC);
	c.chip.ioapic.redirtbl[10].bits = IOAPIC_RTE_LEVEL | 0x71; /* fixed, physical, dest 0 */
	set_chip(vm, &c);
	CHECK_EQ(h_vm(vm, KVM_IRQ_LINE_STATUS, &l, sizeof(l)), 0);
	CHECK_EQ(l.status, 1);
	mmio_w(0, APIC_PAGE + LAPIC_EOI, 0);
	put_mmio(vm, 1);
	h_steps(steps, 2);
	rc = run0(vm);
	CHECK(ended_halted(vm, 0, rc));
	CHECK_EQ(h_delivered[0].info, INFO_VALID | 0x71);
	CHECK_EQ(h_delivered[1].info, INFO_VALID | 0x71);
	c = chip_of(vm, KVM_IRQCHIP_IOAPIC);
	CHECK(c.chip.ioapic.redirtbl[10].bits & IOAPIC_RTE_REMOTE_IRR);
	s = lapic_of(vm, 0);
	CHECK(vec_set(&s, LAPIC_ISR, 0x71));
	CHECK(vec_set(&s, LAPIC_TMR, 0x71));
	CHECK(!vec_set(&s, LAPIC_IRR, 0x71));
}

/* vCPU 0 stores ICR2 (destination APIC 1), then ICR: @icr_a, then @icr_b. */
static void ipi_code(uint32_t vm, uint32_t icr_a, uint32_t icr_b)
{
	mmio_w(0, APIC_PAGE + LAPIC_ICR2, 1u << 24);
	mmio_w(1, APIC_PAGE + LAPIC_ICR, icr_a);
	mmio_w(2, APIC_PAGE + LAPIC_ICR, icr_b);
	put_mmio(vm, 3);
}

#define ICR_INIT (LAPIC_DM_INIT << 8 | LAPIC_ICR_ASSERT)
#define ICR_SIPI (LAPIC_DM_SIPI << 8 | LAPIC_ICR_ASSERT)

/*
 * kvm_apic_accept_events: an INIT then a SIPI sent to an AP: its next run
 * starts at the SIPI vector in real mode, CS = vector << 8, base vector
 * << 12, IP 0 (kvm_vcpu_deliver_sipi_vector); KVM_GET_MP_STATE accepts the
 * events first (kvm_arch_vcpu_ioctl_get_mpstate), so it says RUNNABLE.
 */
static void test_init_sipi_start_ap(void)
{
	h_step bsp[] = {step_mmio, step_mmio, step_mmio};
	h_step ap[] = {step_observe};
	uint32_t vm;
	long rc;

	h_reset();
	vm = make_vm(true, 2, 2);
	ipi_code(vm, ICR_INIT, ICR_SIPI | 0x10);
	h_steps(bsp, 3);
	rc = run0(vm);
	CHECK(ended_halted(vm, 0, rc));
	CHECK_EQ(h_steps_done(), 4);
	CHECK_EQ(mp_state_of(vm, 1), KVM_MP_STATE_RUNNABLE);
	h_steps(ap, 1);
	rc = run_id(vm, 1);
	CHECK_EQ(h_steps_done(), 2);
	CHECK_EQ(seen.cs_sel, 0x1000);
	CHECK_EQ(seen.cs_base, 0x10000);
	CHECK_EQ(seen.rip, 0);
	CHECK_EQ(fake_vmx_stats.fail_controls + fake_vmx_stats.fail_guest_state, 0);
}

/*
 * kvm_arch_vcpu_ioctl_get_mpstate calls kvm_apic_accept_events() first:
 * after an INIT IPI, an AP reports INIT_RECEIVED (the BSP would be
 * RUNNABLE again) without having run.
 */
static void test_get_mp_state_accepts_init(void)
{
	h_step bsp[] = {step_mmio, step_mmio};
	uint32_t vm;
	long rc;

	h_reset();
	vm = make_vm(true, 2, 2);
	CHECK_EQ(set_mp_state(vm, 1, KVM_MP_STATE_RUNNABLE), 0);
	ipi_code(vm, ICR_INIT, 0);
	h_steps(bsp, 2);
	rc = run0(vm);
	CHECK(ended_halted(vm, 0, rc));
	CHECK_EQ(mp_state_of(vm, 1), KVM_MP_STATE_INIT_RECEIVED);
}

/*
 * An INIT alone, to an AP that was running: kvm_apic_accept_events puts it
 * in INIT_RECEIVED and it does not enter the guest until a SIPI comes
 * (vcpu_enter_guest: "if (vcpu->arch.mp_state == KVM_MP_STATE_INIT_RECEIVED)
 * goto out"; kvm_vcpu_running() is false); the SIPI then starts it at the
 * vector (a SIPI is taken only in INIT_RECEIVED).
 */
static void test_init_then_later_sipi(void)
{
	h_step bsp_init[] = {step_mmio, step_mmio, step_hlt};
	h_step bsp_sipi[] = {step_mmio};
	h_step ap[] = {step_observe};
	unsigned entries;
	uint32_t vm;
	long rc;

	h_reset();
	vm = make_vm(true, 2, 2);
	CHECK_EQ(set_mp_state(vm, 1, KVM_MP_STATE_RUNNABLE), 0);
	ipi_code(vm, ICR_INIT, ICR_SIPI | 0x10);
	h_steps(bsp_init, 3);
	rc = run0(vm);
	CHECK(ended_halted(vm, 0, rc));
	/* The AP waits: no VM entry. */
	entries = fake_vmx_stats.entries;
	h_steps(ap, 1);
	rc = run_id(vm, 1);
	CHECK(ended_halted(vm, 1, rc));
	CHECK_EQ(fake_vmx_stats.entries, entries);
	/* The SIPI: the BSP goes on with its third store. */
	CHECK_EQ(set_mp_state(vm, 0, KVM_MP_STATE_RUNNABLE), 0);
	set_rip(vm, 0, RIP0 + 12);
	mm_next = 2;
	h_steps(bsp_sipi, 1);
	rc = run0(vm);
	CHECK(ended_halted(vm, 0, rc));
	h_steps(ap, 1);
	rc = run_id(vm, 1);
	CHECK(ended_halted(vm, 1, rc));
	CHECK_EQ(h_steps_done(), 2);
	CHECK_EQ(seen.cs_sel, 0x1000);
	CHECK_EQ(seen.cs_base, 0x10000);
	CHECK_EQ(seen.rip, 0);
}

/*
 * kvm_vcpu_has_events: a pending NMI wakes a halted vCPU whatever IF
 * (KVM_NMI, kvm_inject_nmi), and it is injected (inject_pending_event).
 */
static void test_hlt_wakes_for_nmi(void)
{
	h_step steps[] = {step_hlt, step_observe};
	uint32_t vm;
	long rc;

	h_reset();
	vm = make_vm(true, 1, 2);
	h_steps(steps, 2);
	rc = run0(vm);
	CHECK(ended_halted(vm, 0, rc));
	CHECK_EQ(h_steps_done(), 1);
	CHECK_EQ(h_cpu(vm, 0, KVM_NMI, NULL, 0), 0);
	rc = run0(vm);
	CHECK(ended_halted(vm, 0, rc));
	CHECK_EQ(h_delivered[1].info, INFO_VALID | 2u << 8 | 2);
	CHECK_EQ(seen.rip, RIP0 + 1);
}

static uint32_t line_vm;

static void raise_gsi4(void)
{
	struct kvm_irq_level l = {.irq = 4, .level = 1};

	if (fake_hlts == 2 && h_vm(line_vm, KVM_IRQ_LINE, &l, sizeof(l)))
		abort();
}

/*
 * A device model raising a line while the vCPU waits in HLT
 * (kvm_vm_ioctl_irq_line from another thread; kvm_pic_set_irq ->
 * pic_update_irq -> kvm_vcpu_kick): the wait ends (kvm_vcpu_has_events)
 * and the PIC's vector is injected; and the same after a kick, as user
 * space does without another thread (run ends with KVM_EXIT_INTR,
 * KVM_IRQ_LINE, KVM_RUN again). KVM_RUN's request_interrupt_window is
 * ignored with an in-kernel PIC (dm_request_for_irq_injection).
 */
static void test_irq_line_wakes_halted_vcpu(void)
{
	h_step steps[] = {step_hlt, step_observe};
	struct kvm_irq_level l = {.irq = 4, .level = 1};
	struct kvm_irqchip c;
	uint32_t vm;
	long rc;

	h_reset();
	for (int threaded = 1; threaded >= 0; threaded--) {
		vm = make_vm(true, 1, 0x202);
		h_run_page(vm, 0)->request_interrupt_window = 1;
		c = chip_of(vm, KVM_IRQCHIP_PIC_MASTER);
		c.chip.pic.irq_base = 0x20;
		set_chip(vm, &c);
		h_steps(steps, 2);
		fake_vmx_reset_counters();
		line_vm = vm;
		fake_hlt_hook = threaded ? raise_gsi4 : NULL;
		rc = run0(vm);
		fake_hlt_hook = NULL;
		CHECK(ended_halted(vm, 0, rc));
		if (!threaded) {
			CHECK_EQ(h_steps_done(), 1);
			CHECK_EQ(h_vm(vm, KVM_IRQ_LINE, &l, sizeof(l)), 0);
			rc = run0(vm);
			CHECK(ended_halted(vm, 0, rc));
		}
		CHECK_EQ(h_delivered[1].info, INFO_VALID | 0x24);
		CHECK_EQ(seen.rip, RIP0 + 1);
		CHECK_EQ(kvm_api_destroy_vm(vm), 0);
	}
}

/*
 * kvm_lapic_set_base moves apic->base_address with IA32_APIC_BASE (KVM
 * only warns that relocation is unsupported): the APIC answers at the new
 * base (apic_mmio_in_range), the old page is an ordinary MMIO hole.
 */
static void test_apic_base_relocation(void)
{
	static const uint8_t code[] = {0x0f, 0x30, 0x8b, 0x05, 0x30, 0x00, 0xd0,
				       0xfe, 0x8b, 0x05, 0x30, 0x00, 0xe0, 0xfe};
	h_step steps[] = {h_step_wrmsr, step_mmio, step_mmio};
	struct kvm_run *run;
	uint32_t vm;
	long rc;

	h_reset();
	vm = make_vm(true, 1, 2);
	run = h_run_page(vm, 0);
	CHECK_EQ(vm_write_gpa(kvm_api_vm(vm), RIP0, code, sizeof(code)), 0);
	h_msr = MSR_IA32_APIC_BASE;
	h_msr_val = 0xfed00900;
	mmio_r(0, 0xfed00030);
	mmio_r(1, APIC_PAGE + LAPIC_LVR);
	mm_next = 0;
	h_steps(steps, 3);
	rc = h_cpu(vm, 0, KVM_RUN, NULL, 0);
	CHECK_EQ(rc, 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_MMIO);
	CHECK_EQ(run->mmio.phys_addr, APIC_PAGE + LAPIC_LVR);
	CHECK_EQ((uint32_t)mm[1].rax_before, 0x50014);
}

static uint32_t t_msr2;
static uint64_t t_val2;

static uint32_t step_wrmsr2(struct fake_guest *g)
{
	g->gpr[GPR_RCX] = t_msr2;
	g->gpr[GPR_RAX] = (uint32_t)t_val2;
	g->gpr[GPR_RDX] = t_val2 >> 32;
	return h_exit_insn(EXIT_REASON_WRMSR, 2);
}

/*
 * kvm_x2apic_msr_write(APIC_SELF_IPI) -> kvm_lapic_reg_write ->
 * kvm_apic_send_ipi with shorthand self: the vector is injected next.
 */
static void test_x2apic_self_ipi(void)
{
	h_step steps[] = {h_step_wrmsr, step_wrmsr2, step_observe};
	uint32_t vm;
	long rc;

	h_reset();
	vm = make_vm(true, 1, 0x202);
	edit_lapic(vm, 0, sw_enable);
	h_msr = MSR_IA32_APIC_BASE;
	h_msr_val = 0xfee00d00;
	t_msr2 = 0x800 + LAPIC_SELF_IPI / 16;
	t_val2 = 0x55;
	h_steps(steps, 3);
	rc = run0(vm);
	CHECK(ended_halted(vm, 0, rc));
	CHECK(!h_delivered[1].valid);
	CHECK_EQ(h_delivered[2].info, INFO_VALID | 0x55);
	CHECK_EQ(seen.rip, RIP0 + 4);
}

/*
 * kvm_irq_delivery_to_apic: r = 0 once a destination APIC matched, then +=
 * kvm_apic_set_irq() (0 from a software-disabled APIC); ioapic_service
 * sets remote IRR only "if (ret && level)". So a level pin asserted while
 * its APIC is software-disabled reports status 0 and leaves remote IRR
 * clear, and once the APIC is enabled the next assertion is delivered
 * (ioapic_set_irq -> ioapic_service). A -1 there would set remote IRR
 * with no EOI ever to come: the pin would be dead.
 */
static void test_ioapic_level_to_disabled_apic(void)
{
	struct kvm_irq_level l = {.irq = 10, .level = 1};
	struct kvm_lapic_state s;
	struct kvm_irqchip c;
	uint32_t vm;

	h_reset();
	vm = make_vm(true, 1, 2);
	mask_pics(vm);
	c = chip_of(vm, KVM_IRQCHIP_IOAPIC);
	c.chip.ioapic.redirtbl[10].bits = IOAPIC_RTE_LEVEL | 0x72;
	set_chip(vm, &c);
	CHECK_EQ(h_vm(vm, KVM_IRQ_LINE_STATUS, &l, sizeof(l)), 0);
	CHECK_EQ(l.status, 0);
	c = chip_of(vm, KVM_IRQCHIP_IOAPIC);
	CHECK(!(c.chip.ioapic.redirtbl[10].bits & IOAPIC_RTE_REMOTE_IRR));
	edit_lapic(vm, 0, sw_enable);
	l = (struct kvm_irq_level){.irq = 10, .level = 1};
	CHECK_EQ(h_vm(vm, KVM_IRQ_LINE_STATUS, &l, sizeof(l)), 0);
	CHECK_EQ(l.status, 1);
	s = lapic_of(vm, 0);
	CHECK(vec_set(&s, LAPIC_IRR, 0x72));
	c = chip_of(vm, KVM_IRQCHIP_IOAPIC);
	CHECK(c.chip.ioapic.redirtbl[10].bits & IOAPIC_RTE_REMOTE_IRR);
}

static void lapic_lvt0_extint(struct kvm_lapic_state *s)
{
	set_reg(s, LAPIC_LVT0, 0x700);
}

/*
 * kvm_cpu_has_extint / kvm_apic_accept_pic_intr: any vCPU whose LVT0 is
 * ExtINT and unmasked (or whose APIC is hardware-disabled) takes the
 * PIC's interrupt; nothing ties it to the BSP (vCPU 0 here has LVT0
 * masked).
 */
static void test_pic_irq_to_ap_with_extint(void)
{
	h_step steps[] = {step_observe};
	struct kvm_irq_level l = {.irq = 4, .level = 1};
	struct kvm_irqchip c;
	uint32_t vm;
	long rc;

	h_reset();
	vm = make_vm(true, 2, 0x202);
	CHECK_EQ(set_mp_state(vm, 1, KVM_MP_STATE_RUNNABLE), 0);
	edit_lapic(vm, 0, lapic_lvt0_masked);
	edit_lapic(vm, 1, lapic_lvt0_extint);
	c = chip_of(vm, KVM_IRQCHIP_PIC_MASTER);
	c.chip.pic.irq_base = 0x20;
	set_chip(vm, &c);
	CHECK_EQ(h_vm(vm, KVM_IRQ_LINE, &l, sizeof(l)), 0);
	h_steps(steps, 1);
	rc = run_id(vm, 1);
	CHECK(ended_halted(vm, 1, rc));
	CHECK_EQ(h_delivered[0].info, INFO_VALID | 0x24);
}

/*
 * kvm_set_apic_base: X2APIC_ENABLE is a reserved bit unless
 * guest_cpuid_has(X86_FEATURE_X2APIC): after KVM_SET_CPUID2 without
 * x2APIC, the guest's EN|EXTD write is #GP.
 */
static void test_x2apic_needs_cpuid(void)
{
	static struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[VCPU_CPUID_MAX];
	} t;
	uint32_t vm;

	h_reset();
	vm = make_vm(true, 1, 2);
	t.h.nent = VCPU_CPUID_MAX;
	CHECK_EQ(h_cpu(vm, 0, KVM_GET_CPUID2, &t, sizeof(t)), 0);
	for (uint32_t i = 0; i < t.h.nent; i++)
		if (t.e[i].function == 1)
			t.e[i].ecx &= ~(1u << 21);
	CHECK_EQ(h_cpu(vm, 0, KVM_SET_CPUID2, &t, sizeof(t.h) + t.h.nent * sizeof(t.e[0])), 0);
	CHECK_EQ(msr_insn(vm, 0, h_step_wrmsr, MSR_IA32_APIC_BASE, 0xfee00d00), 0);
	CHECK_EQ(msr_insn(vm, 0, h_step_rdmsr, 0x802, 0), 0);
}

/* ---- hostile input ------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void rnd_fill(void *buf, size_t len)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)rnd();
}

/*
 * Random bytes into KVM_SET_IRQCHIP, KVM_SET_LAPIC, KVM_IRQ_LINE(_STATUS),
 * KVM_SIGNAL_MSI, KVM_SET_MP_STATE and IA32_APIC_BASE (KVM_SET_MSRS), with
 * runs between them (budgeted): nothing crashes under ASan/UBSan, every
 * result is 0 or an errno, and the VM stays usable: KVM_GET_IRQCHIP,
 * KVM_GET_LAPIC and KVM_GET_MP_STATE keep working; nothing leaks.
 */
static void test_hostile_input(void)
{
	static const uint32_t modes[] = {KVM_MP_STATE_RUNNABLE,	     KVM_MP_STATE_UNINITIALIZED,
					 KVM_MP_STATE_INIT_RECEIVED, KVM_MP_STATE_HALTED,
					 KVM_MP_STATE_SIPI_RECEIVED, KVM_MP_STATE_AP_RESET_HOLD};
	uint32_t vm;

	h_reset();
	rng = 0x9e3779b97f4a7c15ull;
	vm = make_vm(true, 2, 0x202);
	for (unsigned it = 0; it < 4000; it++) {
		uint32_t id = (uint32_t)(rnd() & 1);
		long rc = 0;

		switch (rnd() % 7) {
		case 0: {
			struct kvm_irqchip c;

			rnd_fill(&c, sizeof(c));
			if (rnd() & 3)
				c.chip_id %= 4;
			if ((rnd() & 3) && c.chip_id == KVM_IRQCHIP_IOAPIC)
				c.chip.ioapic.base_address = IOAPIC_DEFAULT_BASE;
			rc = h_vm(vm, KVM_SET_IRQCHIP, &c, sizeof(c));
			break;
		}
		case 1: {
			struct kvm_lapic_state s;

			if (rnd() & 1) {
				s = lapic_of(vm, id);
				for (unsigned n = rnd() % 16; n; n--)
					s.regs[rnd() % sizeof(s.regs)] = (char)rnd();
			} else {
				rnd_fill(&s, sizeof(s));
			}
			rc = h_cpu(vm, id, KVM_SET_LAPIC, &s, sizeof(s));
			break;
		}
		case 2: {
			struct kvm_irq_level l;

			rnd_fill(&l, sizeof(l));
			if (rnd() & 3)
				l.irq %= 26;
			if (rnd() & 1)
				l.level &= 1;
			rc =
			    h_vm(vm, rnd() & 1 ? KVM_IRQ_LINE : KVM_IRQ_LINE_STATUS, &l, sizeof(l));
			break;
		}
		case 3: {
			struct kvm_msi msi;

			rnd_fill(&msi, sizeof(msi));
			if (rnd() & 3) {
				msi.flags &= 1;
				msi.address_lo = APIC_PAGE | (msi.address_lo & 0xffff);
			}
			rc = h_vm(vm, KVM_SIGNAL_MSI, &msi, sizeof(msi));
			break;
		}
		case 4: {
			uint32_t m = rnd() & 3 ? modes[rnd() % 6] : (uint32_t)rnd();

			rc = set_mp_state(vm, id, m);
			break;
		}
		case 5: {
			struct {
				struct kvm_msrs h;
				struct kvm_msr_entry e;
			} m = {.h = {.nmsrs = 1}, .e = {.index = MSR_IA32_APIC_BASE}};

			m.e.data = rnd() & 1 ? rnd() : 0xfee00000ull | (rnd() & 0xd00);
			if (rnd() & 1)
				m.e.index =
				    rnd() & 1 ? LAPIC_MSR_TSC_DEADLINE : 0x800 + rnd() % 0x40;
			rc = h_cpu(vm, id, KVM_SET_MSRS, &m, sizeof(m));
			break;
		}
		case 6:
			if (it % 8)
				break;
			h_steps(NULL, 0);
			rc = run_id(vm, id);
			if (rc == -HV_EINTR)
				rc = 0;
			break;
		}
		CHECK(rc >= -4095);
		{
			struct kvm_irqchip c = {.chip_id = (uint32_t)(rnd() % 3)};
			struct kvm_lapic_state s;
			struct kvm_mp_state m;

			CHECK_EQ(h_vm(vm, KVM_GET_IRQCHIP, &c, sizeof(c)), 0);
			CHECK_EQ(h_cpu(vm, id, KVM_GET_LAPIC, &s, sizeof(s)), 0);
			CHECK_EQ(h_cpu(vm, id, KVM_GET_MP_STATE, &m, sizeof(m)), 0);
		}
	}
	CHECK_EQ(fake_mm_bad_frees, 0);
	CHECK_EQ(kvm_api_destroy_vm(vm), 0);
	CHECK_EQ(h_pages_held(), 0);
}

/* ---- the list ------------------------------------------------------------------ */

static const struct check_test tests[] = {
    TEST_ENTRY(test_create_irqchip_twice),
    TEST_ENTRY(test_create_irqchip_after_vcpu),
    TEST_ENTRY(test_check_extension),
    TEST_ENTRY(test_no_irqchip_vm_ioctls),
    TEST_ENTRY(test_no_irqchip_signal_msi),
    TEST_ENTRY(test_no_irqchip_lapic),
    TEST_ENTRY(test_no_irqchip_mp_state),
    TEST_ENTRY(test_no_irqchip_hlt_and_msrs),
    TEST_ENTRY(test_irqchip_interrupt_enxio),
    TEST_ENTRY(test_irqchip_mp_state),
    TEST_ENTRY(test_ap_starts_uninitialized),
    TEST_ENTRY(test_lapic_reset_values),
    TEST_ENTRY(test_lapic_set_get_roundtrip),
    TEST_ENTRY(test_lapic_set_keeps_version),
    TEST_ENTRY(test_get_set_irqchip),
    TEST_ENTRY(test_irq_line_status),
    TEST_ENTRY(test_signal_msi),
    TEST_ENTRY(test_signal_msi_blocked_is_zero),
    TEST_ENTRY(test_hlt_stays_in_hypervisor),
    TEST_ENTRY(test_hlt_wakes_for_pending_irr),
    TEST_ENTRY(test_self_ipi_by_mmio),
    TEST_ENTRY(test_mmio_reads),
    TEST_ENTRY(test_tpr_mmio_and_cr8),
    TEST_ENTRY(test_x2apic_msrs_gp_in_xapic_mode),
    TEST_ENTRY(test_x2apic_enable_reads_id),
    TEST_ENTRY(test_xapic_page_in_x2apic_mode),
    TEST_ENTRY(test_tsc_deadline_timer),
    TEST_ENTRY(test_tsc_deadline_msr_roundtrip),
    TEST_ENTRY(test_preemption_timer_follows_deadline),
    TEST_ENTRY(test_pic_ports_in_hypervisor),
    TEST_ENTRY(test_pic_irq_reaches_bsp),
    TEST_ENTRY(test_ioapic_to_lapic_and_eoi),
    TEST_ENTRY(test_init_sipi_start_ap),
    TEST_ENTRY(test_get_mp_state_accepts_init),
    TEST_ENTRY(test_init_then_later_sipi),
    TEST_ENTRY(test_hlt_wakes_for_nmi),
    TEST_ENTRY(test_irq_line_wakes_halted_vcpu),
    TEST_ENTRY(test_apic_base_relocation),
    TEST_ENTRY(test_x2apic_self_ipi),
    TEST_ENTRY(test_ioapic_level_to_disabled_apic),
    TEST_ENTRY(test_pic_irq_to_ap_with_extint),
    TEST_ENTRY(test_x2apic_needs_cpuid),
    TEST_ENTRY(test_hostile_input),
};

int main(void)
{
	h_machine(FAKE_MODEL_SKYLAKE);
	return check_main(tests, sizeof(tests) / sizeof(tests[0]));
}
