// SPDX-License-Identifier: MIT
/*
 * vCPU behaviour as Linux 6.1's KVM shows it to a program (arch/x86/kvm/
 * x86.c and vmx/vmx.c): when RIP moves past port I/O, what immediate_exit
 * leaves in kvm_run, the interrupt window, kvm_run.cr8, single-step after
 * an emulated instruction, failed VM entries, event delivery that faults,
 * reset state, and the KVM_SET_SREGS / KVM_INTERRUPT checks. Each case
 * names the upstream function whose behaviour it expects.
 */
#include "tests/remote/harness.h"
#include "tests/remote/g_vcpu.h"

DECLARE_BLOB(g_vcpu);
DECLARE_BLOB(g_long);

#define CR0_ET		   (1ull << 4)
#define CR4_PCIDE	   (1ull << 17)
#define DR6_BS		   (1ull << 14)
#define MSR_IA32_TSC	   0x10
#define MSR_GS_BASE	   0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102

static int set_rip(struct vcpu *v, uint64_t rip)
{
	struct kvm_regs regs = {0};
	int r;

	OK(r, "KVM_GET_REGS", ioc(v->fd, KVM_GET_REGS, &regs));
	regs.rip = rip;
	OK(r, "KVM_SET_REGS", ioc(v->fd, KVM_SET_REGS, &regs));
	return T_PASS;
}

static int get_regs(struct vcpu *v, struct kvm_regs *regs)
{
	int r;

	OK(r, "KVM_GET_REGS", ioc(v->fd, KVM_GET_REGS, regs));
	return T_PASS;
}

/* KVM_RUN expecting exit @reason (any other exit fails the case). */
static int run_exit(struct vcpu *v, uint32_t reason, const char *what)
{
	errno = 0;
	if (hvk_ioctl(H, v->fd, KVM_RUN, 0) < 0)
		return fail("%s: KVM_RUN: -1/%s (%s)", what, en(errno), hvk_last_error());
	if (v->run->exit_reason != reason)
		return fail("%s: %s, expected exit %s", what, exit_str(v->run),
			    hvk_exit_name(reason) ?: "?");
	return T_PASS;
}

static int set_msr(struct vcpu *v, uint32_t index, uint64_t val)
{
	struct kvm_msr_entry e = {.index = index, .data = val};

	EQUALS("KVM_SET_MSRS", msrs_ioctl(v, KVM_SET_MSRS, &e, 1), 1);
	return T_PASS;
}

/* ---- port I/O completion (complete_fast_pio_out / _in) ---- */

/*
 * kvm_fast_pio_out() leaves RIP on the OUT until the next KVM_RUN
 * (complete_fast_pio_out skips it then): KVM_GET_REGS at the exit shows
 * the OUT's own address.
 */
static int t_io_out_rip(void)
{
	struct kvm_regs regs = {0};
	struct vcpu v;

	NEW_VCPU(&v, g_outloop, 0);
	RUN_EXPECT(&v, 0, "first OUT");
	TRY(get_regs(&v, &regs));
	CHECK(regs.rip == G_LOAD + OL_LOOP,
	      "RIP 0x%llx at the OUT exit, expected the OUT itself at 0x%x (Linux moves RIP on "
	      "the next KVM_RUN)",
	      (unsigned long long)regs.rip, G_LOAD + OL_LOOP);
	RUN_EXPECT(&v, 0, "second OUT");
	TRY(get_regs(&v, &regs));
	CHECK(regs.rip == G_LOAD + OL_LOOP, "RIP 0x%llx at the second exit, expected 0x%x",
	      (unsigned long long)regs.rip, G_LOAD + OL_LOOP);
	return T_PASS;
}

/*
 * complete_fast_pio_out() does not skip the OUT when the program moved RIP
 * at the exit: the guest goes on where the program put it.
 */
static int t_io_out_rip_moved(void)
{
	struct vcpu v;

	NEW_VCPU(&v, g_outloop, 0);
	RUN_EXPECT(&v, 0, "first OUT");
	TRY(set_rip(&v, G_LOAD + OL_SKIP));
	RUN_EXPECT(&v, OL_SKIPPED, "KVM_RUN after moving RIP to the MOV at OL_SKIP");
	return T_PASS;
}

/* The IN's data lands in EAX and RIP moves past it on the next KVM_RUN. */
static int t_io_in_complete(void)
{
	struct kvm_regs regs = {0};
	struct vcpu v;
	uint32_t data = 0x12345678;

	NEW_VCPU(&v, g_vcpu, 0);
	TRY(run_exit(&v, KVM_EXIT_IO, "the IN"));
	CHECK(v.run->io.direction == KVM_EXIT_IO_IN && v.run->io.size == 4,
	      "%s, expected a 4-byte IN", exit_str(v.run));
	TRY(get_regs(&v, &regs));
	CHECK(regs.rip == G_LOAD + VC_IN_AT, "RIP 0x%llx at the IN exit, expected 0x%x",
	      (unsigned long long)regs.rip, G_LOAD + VC_IN_AT);
	memcpy((uint8_t *)v.run + v.run->io.data_offset, &data, 4);
	RUN_EXPECT(&v, data, "OUT of what the IN read");
	return T_PASS;
}

/*
 * complete_fast_pio_in(): a program that moved RIP at the IN exit drops
 * the completion: EAX keeps its value and the guest runs from the new RIP.
 */
static int t_io_in_rip_moved(void)
{
	struct vcpu v;
	uint32_t data = 0x12345678;

	NEW_VCPU(&v, g_vcpu, 0);
	TRY(run_exit(&v, KVM_EXIT_IO, "the IN"));
	memcpy((uint8_t *)v.run + v.run->io.data_offset, &data, 4);
	TRY(set_rip(&v, G_LOAD + VC_ALT));
	RUN_EXPECT(&v, VC_EAX0, "OUT at the new RIP, EAX untouched by the dropped IN");
	return T_PASS;
}

/* ---- kvm_run fields (kvm_arch_vcpu_ioctl_run, post_kvm_run_save) ---- */

/*
 * immediate_exit: -EINTR after the pending OUT is completed (the
 * completion runs first), exit_reason as the last exit left it, and
 * kvm_run's flags filled in as on every return.
 */
static int t_immediate_exit_keeps_exit(void)
{
	struct kvm_regs regs = {0};
	struct vcpu v;

	NEW_VCPU(&v, g_outloop, 0);
	RUN_EXPECT(&v, 0, "first OUT");
	v.run->immediate_exit = 1;
	v.run->if_flag = 1;
	v.run->ready_for_interrupt_injection = 1;
	ERRNO("KVM_RUN with immediate_exit", hvk_ioctl(H, v.fd, KVM_RUN, 0), EINTR);
	v.run->immediate_exit = 0;
	CHECK(v.run->exit_reason == KVM_EXIT_IO,
	      "exit_reason %u (%s) after immediate_exit, "
	      "expected the last exit's KVM_EXIT_IO",
	      v.run->exit_reason, hvk_exit_name(v.run->exit_reason) ?: "?");
	CHECK(!v.run->if_flag && !v.run->ready_for_interrupt_injection,
	      "if_flag %u ready_for_interrupt_injection %u with IF=0 after the -EINTR return",
	      v.run->if_flag, v.run->ready_for_interrupt_injection);
	TRY(get_regs(&v, &regs));
	CHECK(regs.rip == G_LOAD + OL_LOOP + 2,
	      "RIP 0x%llx after the -EINTR run, expected 0x%x: the OUT's completion runs before "
	      "immediate_exit is looked at",
	      (unsigned long long)regs.rip, G_LOAD + OL_LOOP + 2);
	return T_PASS;
}

/*
 * request_interrupt_window: once the guest can take an interrupt, KVM_RUN
 * ends with KVM_EXIT_IRQ_WINDOW_OPEN (vcpu_run's
 * dm_request_for_irq_injection check) with if_flag and
 * ready_for_interrupt_injection set; the interrupt then given with
 * KVM_INTERRUPT is taken at once.
 */
static int t_irq_window_open(void)
{
	struct vcpu v;
	struct kvm_interrupt irq = {.irq = G_IRQ_VECTOR};
	int r;

	NEW_VCPU(&v, g_vcpu, 0);
	TRY(set_rip(&v, G_LOAD + VC_WIN));
	v.run->request_interrupt_window = 1;
	errno = 0;
	if (hvk_ioctl(H, v.fd, KVM_RUN, 0) < 0)
		return fail("KVM_RUN: -1/%s (%s)", en(errno), hvk_last_error());
	CHECK(v.run->exit_reason == KVM_EXIT_IRQ_WINDOW_OPEN,
	      "%s, expected KVM_EXIT_IRQ_WINDOW_OPEN after STI; NOP", exit_str(v.run));
	CHECK(v.run->if_flag == 1 && v.run->ready_for_interrupt_injection == 1,
	      "if_flag %u ready_for_interrupt_injection %u at the window", v.run->if_flag,
	      v.run->ready_for_interrupt_injection);
	v.run->request_interrupt_window = 0;
	OK(r, "KVM_INTERRUPT", ioc(v.fd, KVM_INTERRUPT, &irq));
	RUN_EXPECT(&v, G_MARK_VEC | G_IRQ_VECTOR, "the interrupt at the open window");
	return T_PASS;
}

/*
 * The NMI and interrupt windows are independent (inject_pending_event):
 * an NMI that must wait (NMIs masked) does not hold back an interrupt
 * the guest can take.
 */
static int t_irq_with_blocked_nmi(void)
{
	struct kvm_vcpu_events ev = {0};
	struct kvm_interrupt irq = {.irq = G_IRQ_VECTOR};
	struct vcpu v;
	int r;

	NEW_VCPU(&v, g_vcpu, 0);
	TRY(set_rip(&v, G_LOAD + VC_WIN));
	OK(r, "KVM_GET_VCPU_EVENTS", ioc(v.fd, KVM_GET_VCPU_EVENTS, &ev));
	ev.nmi.masked = 1;
	ev.nmi.pending = 1;
	ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	OK(r, "KVM_SET_VCPU_EVENTS (NMI pending, masked)", ioc(v.fd, KVM_SET_VCPU_EVENTS, &ev));
	OK(r, "KVM_INTERRUPT", ioc(v.fd, KVM_INTERRUPT, &irq));
	RUN_EXPECT(&v, G_MARK_VEC | G_IRQ_VECTOR, "the interrupt, though a masked NMI waits");
	return T_PASS;
}

/* kvm_vcpu_ioctl_interrupt(): a second KVM_INTERRUPT while one waits is ENXIO. */
static int t_interrupt_twice(void)
{
	struct kvm_interrupt irq = {.irq = G_IRQ_VECTOR};
	struct vcpu v;
	int r;

	NEW_VCPU(&v, g_outloop, 0);
	OK(r, "KVM_INTERRUPT", ioc(v.fd, KVM_INTERRUPT, &irq));
	ERRNO("a second KVM_INTERRUPT while the first waits", ioc(v.fd, KVM_INTERRUPT, &irq),
	      ENXIO);
	return T_PASS;
}

/*
 * kvm_run.cr8 is loaded before the guest runs and reported after
 * (kvm_set_cr8 in kvm_arch_vcpu_ioctl_run; post_kvm_run_save); a value
 * with bits above 3 is EINVAL. KVM_GET_SREGS shows the same TPR.
 */
static int t_run_cr8(void)
{
	struct kvm_sregs sr = {0};
	struct vcpu v;
	int r;

	NEW_VCPU(&v, g_outloop, 0);
	v.run->cr8 = 5;
	RUN_EXPECT(&v, 0, "KVM_RUN with kvm_run.cr8 = 5");
	CHECK(v.run->cr8 == 5, "kvm_run.cr8 %llu after the run, expected 5",
	      (unsigned long long)v.run->cr8);
	OK(r, "KVM_GET_SREGS", ioc(v.fd, KVM_GET_SREGS, &sr));
	CHECK(sr.cr8 == 5, "KVM_GET_SREGS cr8 %llu, expected 5", (unsigned long long)sr.cr8);
	v.run->cr8 = 16;
	ERRNO("KVM_RUN with kvm_run.cr8 = 16", hvk_ioctl(H, v.fd, KVM_RUN, 0), EINVAL);
	v.run->cr8 = 0;
	return T_PASS;
}

/* ---- emulated instructions ---- */

/*
 * kvm_skip_emulated_instruction() -> kvm_vcpu_do_singlestep(): with
 * RFLAGS.TF set, an instruction the hypervisor emulated (CPUID) traps
 * with #DB right after it, DR6.BS set.
 */
static int t_singlestep_emulated(void)
{
	struct kvm_debugregs dr = {0};
	struct kvm_regs regs = {0};
	uint16_t frame[3];
	struct vcpu v;
	int r;

	NEW_VCPU(&v, g_vcpu, 0);
	TRY(set_rip(&v, G_LOAD + VC_TF));
	RUN_EXPECT(&v, G_MARK_VEC | 1, "the single-step #DB after CPUID");
	TRY(get_regs(&v, &regs));
	TRY(read_guest(&v, regs.rsp & 0xffff, frame, sizeof(frame)));
	CHECK(frame[0] == G_LOAD + VC_TF_AFTER,
	      "#DB pushed IP 0x%x, expected 0x%x (just after the CPUID)", frame[0],
	      G_LOAD + VC_TF_AFTER);
	OK(r, "KVM_GET_DEBUGREGS", ioc(v.fd, KVM_GET_DEBUGREGS, &dr));
	CHECK(dr.dr6 & DR6_BS, "DR6 0x%llx lacks BS after the single step",
	      (unsigned long long)dr.dr6);
	return T_PASS;
}

static int debug_exit_at(struct vcpu *v, uint64_t pc, const char *what)
{
	TRY(run_exit(v, KVM_EXIT_DEBUG, what));
	CHECK(v->run->debug.arch.exception == 1 && v->run->debug.arch.pc == pc &&
		  (v->run->debug.arch.dr6 & DR6_BS),
	      "%s: debug exit exception %u pc 0x%llx dr6 0x%llx, expected #DB at 0x%llx with BS",
	      what, v->run->debug.arch.exception, (unsigned long long)v->run->debug.arch.pc,
	      (unsigned long long)v->run->debug.arch.dr6, (unsigned long long)pc);
	return T_PASS;
}

/*
 * KVM_GUESTDBG_SINGLESTEP: every instruction ends the run with
 * KVM_EXIT_DEBUG (#DB, DR6.BS, pc = the next instruction), including one
 * the hypervisor emulates (kvm_vcpu_do_singlestep), and KVM_GET_REGS does
 * not show the debugger's TF (kvm_get_rflags).
 */
static int t_guestdbg_singlestep(void)
{
	struct kvm_guest_debug dbg = {.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP};
	struct kvm_regs regs = {0};
	struct vcpu v;
	int r;

	NEW_VCPU(&v, g_outloop, 0);
	OK(r, "KVM_SET_GUEST_DEBUG (single step)", ioc(v.fd, KVM_SET_GUEST_DEBUG, &dbg));
	TRY(debug_exit_at(&v, G_LOAD + 3, "step over MOV DX"));
	TRY(get_regs(&v, &regs));
	CHECK(!(regs.rflags & 0x100), "KVM_GET_REGS shows the debugger's TF (RFLAGS 0x%llx)",
	      (unsigned long long)regs.rflags);
	TRY(debug_exit_at(&v, G_LOAD + OL_LOOP, "step over JMP"));
	TRY(run_exit(&v, KVM_EXIT_IO, "the OUT"));
	TRY(debug_exit_at(&v, G_LOAD + OL_LOOP + 2, "the OUT completed, one step"));
	dbg.control = 0;
	OK(r, "KVM_SET_GUEST_DEBUG (off)", ioc(v.fd, KVM_SET_GUEST_DEBUG, &dbg));
	RUN_EXPECT(&v, 0, "the guest runs on to its OUT");
	TRY(get_regs(&v, &regs));
	CHECK(!(regs.rflags & 0x100), "TF left set after single-stepping (RFLAGS 0x%llx)",
	      (unsigned long long)regs.rflags);
	return T_PASS;
}

/*
 * KVM_GET_SREGS merges the CR0 bits the guest owns (TS here: MOV CR0 that
 * changes only them does not exit) from the guest's CR0
 * (vmx_get_cr0 / kvm_read_cr0_bits).
 */
static int t_sregs_guest_owned_cr0(void)
{
	struct kvm_sregs sr = {0};
	uint32_t cr0;
	struct vcpu v;
	int r;

	NEW_VCPU(&v, g_vcpu, 0);
	TRY(set_rip(&v, G_LOAD + VC_CR0TS));
	RUN_OUT(&v, &cr0, "the guest's CR0 after setting TS");
	CHECK(cr0 & 8, "the guest read CR0 0x%x without the TS it set", cr0);
	OK(r, "KVM_GET_SREGS", ioc(v.fd, KVM_GET_SREGS, &sr));
	CHECK(sr.cr0 & 8, "KVM_GET_SREGS cr0 0x%llx lacks TS, which the guest set (CR0 0x%x)",
	      (unsigned long long)sr.cr0, cr0);
	return T_PASS;
}

/* kvm_set_cr4(): CR4.PCIDE outside long mode is #GP, never a failed VM entry. */
static int t_cr4_pcide_gp(void)
{
	struct vcpu v;

	NEW_VCPU(&v, g_vcpu, 0);
	TRY(set_rip(&v, G_LOAD + VC_PCIDE));
	RUN_EXPECT(&v, G_MARK_VEC | 13, "MOV CR4 with PCIDE in real mode");
	return T_PASS;
}

/* ---- event delivery ---- */

/*
 * A fault while delivering an event into memory no slot backs (here the
 * real-mode stack of an INT) is KVM_INTERNAL_ERROR_DELIVERY_EV with the
 * vectoring information (__vmx_handle_exit), never an MMIO exit decoded
 * from the instruction at RIP.
 */
static int t_delivery_fault(void)
{
	struct vcpu v;

	NEW_VCPU(&v, g_vcpu, 0);
	TRY(set_rip(&v, G_LOAD + VC_DELIV));
	TRY(run_exit(&v, KVM_EXIT_INTERNAL_ERROR, "INT with the stack outside memory"));
	CHECK(v.run->internal.suberror == KVM_INTERNAL_ERROR_DELIVERY_EV,
	      "suberror %u, expected KVM_INTERNAL_ERROR_DELIVERY_EV (%u)", v.run->internal.suberror,
	      KVM_INTERNAL_ERROR_DELIVERY_EV);
	CHECK(v.run->internal.ndata >= 3 &&
		  (v.run->internal.data[0] & 0x800000ff) == (0x80000000u | G_IRQ_VECTOR),
	      "data[0] 0x%llx (ndata %u): expected the vectoring information of INT 0x%x",
	      (unsigned long long)v.run->internal.data[0], v.run->internal.ndata, G_IRQ_VECTOR);
	return T_PASS;
}

/*
 * An exception injected with an error code in real mode is delivered
 * without it (kvm_inject_exception drops it outside protected mode):
 * otherwise VM entry would refuse the event.
 */
static int t_inject_error_code_real_mode(void)
{
	struct kvm_vcpu_events ev = {0};
	struct vcpu v;
	int r;

	NEW_VCPU(&v, g_outloop, 0);
	OK(r, "KVM_GET_VCPU_EVENTS", ioc(v.fd, KVM_GET_VCPU_EVENTS, &ev));
	ev.exception.injected = 1;
	ev.exception.nr = 13;
	ev.exception.has_error_code = 1;
	ev.exception.error_code = 0x10;
	ev.flags = 0;
	OK(r, "KVM_SET_VCPU_EVENTS (#GP with an error code)", ioc(v.fd, KVM_SET_VCPU_EVENTS, &ev));
	RUN_EXPECT(&v, G_MARK_VEC | 13, "the injected #GP in real mode");
	return T_PASS;
}

/*
 * A failed VM entry leaves the vCPU usable: the VMCS was not launched, so
 * once KVM_SET_SREGS fixes the state the next KVM_RUN launches it
 * (vmx_vcpu_run sets "launched" only after an entry that did not fail).
 */
static int t_failed_entry_recovers(void)
{
	struct kvm_sregs sr = {0}, bad = {0};
	struct vcpu v;
	int r;

	NEW_VCPU(&v, g_outloop, 0);
	OK(r, "KVM_GET_SREGS", ioc(v.fd, KVM_GET_SREGS, &sr));
	bad = sr;
	bad.tr.type = 1; /* a 16-bit TSS that is available: VM entry refuses it */
	OK(r, "KVM_SET_SREGS (TR type 1)", ioc(v.fd, KVM_SET_SREGS, &bad));
	TRY(run_exit(&v, KVM_EXIT_FAIL_ENTRY, "KVM_RUN with a bad TR"));
	OK(r, "KVM_SET_SREGS (fixed)", ioc(v.fd, KVM_SET_SREGS, &sr));
	RUN_EXPECT(&v, 0, "KVM_RUN after the state was fixed");
	return T_PASS;
}

/* ---- state ioctls ---- */

/*
 * The state after KVM_CREATE_VCPU, as kvm_vcpu_reset() and
 * vmx_vcpu_reset() leave it; kvm_lapic_reset() sets apic_base even
 * without an in-kernel APIC: 0xfee00800, with the BSP bit for vCPU 0.
 */
static int t_reset_state(void)
{
	struct kvm_cpuid2 *cpuid;
	struct kvm_debugregs dr = {0};
	struct kvm_sregs sr = {0};
	struct kvm_regs regs = {0};
	struct kvm_fpu fpu = {0};
	int fd, r, id;
	uint32_t rdx = 0x600;
	uint64_t apic_base;
	struct vm *vm;

	VM0(vm);
	/* A vCPU straight from KVM_CREATE_VCPU: a VM with room for one. */
	vm = NULL;
	for (int i = 0; i < nvms && !vm; i++)
		if (vms[i].nvcpus < 4)
			vm = &vms[i];
	if (!vm && vm_new(&vm) != T_PASS)
		return T_FAIL;
	id = vm->nvcpus;
	OK(fd, "KVM_CREATE_VCPU", ioc_int(vm->fd, KVM_CREATE_VCPU, (unsigned long)id));
	vm->nvcpus++;
	apic_base = 0xfee00800ull | (id == 0 ? 0x100 : 0);
	OK(r, "KVM_GET_REGS", ioc(fd, KVM_GET_REGS, &regs));
	OK(r, "KVM_GET_SREGS", ioc(fd, KVM_GET_SREGS, &sr));
	OK(r, "KVM_GET_DEBUGREGS", ioc(fd, KVM_GET_DEBUGREGS, &dr));
	OK(r, "KVM_GET_FPU", ioc(fd, KVM_GET_FPU, &fpu));
	cpuid = calloc(1, sizeof(*cpuid) + 100 * sizeof(cpuid->entries[0]));
	if (!cpuid)
		return fail("out of memory");
	cpuid->nent = 100;
	r = ioc(fd, KVM_GET_CPUID2, cpuid);
	for (uint32_t i = 0; r >= 0 && i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 1)
			rdx = cpuid->entries[i].eax;
	free(cpuid);
	CHECK(r >= 0, "KVM_GET_CPUID2: -1/%s", en(errno));
	CHECK(regs.rip == 0xfff0 && regs.rflags == 2, "RIP 0x%llx RFLAGS 0x%llx",
	      (unsigned long long)regs.rip, (unsigned long long)regs.rflags);
	CHECK(regs.rdx == rdx, "RDX 0x%llx, expected CPUID.1:EAX 0x%x",
	      (unsigned long long)regs.rdx, rdx);
	CHECK(!regs.rax && !regs.rbx && !regs.rcx && !regs.rsp && !regs.rsi && !regs.rdi &&
		  !regs.rbp && !regs.r8 && !regs.r15,
	      "a general register is not 0 after reset");
	CHECK(sr.cs.selector == 0xf000 && sr.cs.base == 0xffff0000 && sr.cs.limit == 0xffff &&
		  sr.cs.type == 11 && sr.cs.present && sr.cs.s,
	      "CS %x base 0x%llx limit 0x%x type %u", sr.cs.selector,
	      (unsigned long long)sr.cs.base, sr.cs.limit, sr.cs.type);
	CHECK(sr.ds.selector == 0 && sr.ds.base == 0 && sr.ds.limit == 0xffff && sr.ds.type == 3,
	      "DS %x base 0x%llx limit 0x%x type %u", sr.ds.selector,
	      (unsigned long long)sr.ds.base, sr.ds.limit, sr.ds.type);
	CHECK(sr.tr.type == 11 && sr.ldt.type == 2 && sr.gdt.limit == 0xffff &&
		  sr.idt.limit == 0xffff,
	      "TR type %u LDT type %u GDT limit 0x%x IDT limit 0x%x", sr.tr.type, sr.ldt.type,
	      sr.gdt.limit, sr.idt.limit);
	CHECK(sr.cr0 == (CR0_ET | CR0_NW | CR0_CD), "CR0 0x%llx, expected 0x60000010",
	      (unsigned long long)sr.cr0);
	CHECK(!sr.cr2 && !sr.cr3 && !sr.cr4 && !sr.cr8 && !sr.efer,
	      "CR2 %llx CR3 %llx CR4 %llx CR8 %llx EFER %llx", (unsigned long long)sr.cr2,
	      (unsigned long long)sr.cr3, (unsigned long long)sr.cr4, (unsigned long long)sr.cr8,
	      (unsigned long long)sr.efer);
	CHECK(sr.apic_base == apic_base, "apic_base 0x%llx of vCPU %d, expected 0x%llx",
	      (unsigned long long)sr.apic_base, id, (unsigned long long)apic_base);
	CHECK(dr.dr6 == 0xffff0ff0 && dr.dr7 == 0x400 && !dr.db[0] && !dr.db[3],
	      "DR6 0x%llx DR7 0x%llx", (unsigned long long)dr.dr6, (unsigned long long)dr.dr7);
	CHECK(fpu.fcw == 0x37f && fpu.mxcsr == 0x1f80, "FCW 0x%x MXCSR 0x%x", fpu.fcw, fpu.mxcsr);
	return T_PASS;
}

/*
 * The guest's TSC starts near 0 when a VM's first vCPU is made
 * (kvm_synchronize_tsc with 0 from kvm_arch_vcpu_postcreate; later vCPUs
 * of that VM join its offset): the first vCPU of a VM made later reads a
 * smaller TSC than a vCPU of a VM made earlier.
 */
static int t_tsc_starts_near_zero(void)
{
	struct vcpu a;
	struct vm *vm = NULL;
	uint64_t ta, tb;
	int fd;

	NEW_VCPU(&a, g_outloop, 0);
	RUN_EXPECT(&a, 0, "a few runs of the older vCPU");
	RUN_EXPECT(&a, 0, "a few runs of the older vCPU");
	TRY(vm_new(&vm));
	OK(fd, "KVM_CREATE_VCPU 0 of a new VM", ioc_int(vm->fd, KVM_CREATE_VCPU, 0));
	vm->nvcpus = 1;
	/* The older first: without the offset the later read is the larger. */
	TRY(get_msr(&a, MSR_IA32_TSC, &ta));
	TRY(get_msr(&(struct vcpu){.fd = fd, .vm = vm}, MSR_IA32_TSC, &tb));
	CHECK(tb < ta, "the new VM's TSC 0x%llx is not below the older VM's 0x%llx",
	      (unsigned long long)tb, (unsigned long long)ta);
	return T_PASS;
}

/*
 * KVM_SET_SREGS checks apic_base as kvm_set_apic_base() does for the host
 * (reserved bits 0-7 and 9, x2APIC without the enable bit) and, in long
 * mode, CR3 above MAXPHYADDR (kvm_is_valid_sregs).
 */
static int t_err_sregs_apic_base_cr3(void)
{
	struct kvm_sregs sr = {0}, s = {0};
	struct vcpu v;
	int r;

	SHARED_VCPU(&v, g_outloop, 0);
	OK(r, "KVM_GET_SREGS", ioc(v.fd, KVM_GET_SREGS, &sr));
	s = sr;
	s.apic_base = 0xfee00000 | 1;
	ERRNO("apic_base with reserved bit 0", ioc(v.fd, KVM_SET_SREGS, &s), EINVAL);
	s.apic_base = 0xfee00000 | (1u << 10);
	ERRNO("apic_base with x2APIC but not enabled", ioc(v.fd, KVM_SET_SREGS, &s), EINVAL);
	s.apic_base = 1ull << 63;
	ERRNO("apic_base above MAXPHYADDR", ioc(v.fd, KVM_SET_SREGS, &s), EINVAL);
	s = sr;
	s.cr0 |= CR0_PE | CR0_PG;
	s.cr4 |= CR4_PAE;
	s.efer |= EFER_LME | EFER_LMA;
	s.cs.l = 1;
	s.cr3 = 1ull << 62;
	ERRNO("long mode with CR3 above MAXPHYADDR", ioc(v.fd, KVM_SET_SREGS, &s), EINVAL);
	s = sr;
	s.apic_base = 0xfee00000 | (1u << 11) | (1u << 8);
	OK(r, "KVM_SET_SREGS with a valid apic_base", ioc(v.fd, KVM_SET_SREGS, &s));
	OK(r, "KVM_SET_SREGS back", ioc(v.fd, KVM_SET_SREGS, &sr));
	return T_PASS;
}

/*
 * PAE paging under EPT: KVM_SET_SREGS loads the PDPTEs from guest memory
 * (__set_sregs -> load_pdptrs), so a guest started that way runs.
 */
static int t_sregs_pae_pdptes(void)
{
	struct kvm_sregs sr = {0};
	struct kvm_regs regs = {0};
	struct vcpu v;
	uint64_t pdpte = VL_PD | 1, pde = 0x83; /* PD; a 2 MiB page at 0, P|RW|PS */
	uint64_t zero = 0;
	int r;

	NEW_VCPU(&v, g_vcpu, 0);
	/* PDPT at VL_PML4 (32-byte aligned), PD at VL_PD. */
	memcpy(v.vm->mem + VL_PML4, &pdpte, 8);
	for (int i = 1; i < 4; i++)
		memcpy(v.vm->mem + VL_PML4 + 8 * i, &zero, 8);
	memcpy(v.vm->mem + VL_PD, &pde, 8);
	OK(r, "hvk_mem_write (tables)",
	   hvk_mem_write(H, v.vm->fd, VL_PML4, v.vm->mem + VL_PML4, 32));
	OK(r, "hvk_mem_write (PD)", hvk_mem_write(H, v.vm->fd, VL_PD, v.vm->mem + VL_PD, 8));
	OK(r, "KVM_GET_SREGS", ioc(v.fd, KVM_GET_SREGS, &sr));
	sr.cs.db = 1;
	sr.cs.limit = 0xffffffff;
	sr.cs.g = 1;
	sr.ds.db = sr.ss.db = 1;
	sr.ds.limit = sr.ss.limit = 0xffffffff;
	sr.ds.g = sr.ss.g = 1;
	sr.es = sr.fs = sr.gs = sr.ds;
	sr.cr0 = CR0_PE | CR0_PG | CR0_ET | CR0_MP;
	sr.cr4 = CR4_PAE;
	sr.cr3 = VL_PML4;
	sr.efer = 0;
	OK(r, "KVM_SET_SREGS (32-bit PAE paging)", ioc(v.fd, KVM_SET_SREGS, &sr));
	TRY(get_regs(&v, &regs));
	regs.rip = G_LOAD + VC_PM32;
	regs.rdx = G_PORT;
	regs.rax = 0x4e4e4e4e;
	OK(r, "KVM_SET_REGS", ioc(v.fd, KVM_SET_REGS, &regs));
	RUN_EXPECT(&v, 0x4e4e4e4e, "a 32-bit PAE guest's OUT");
	return T_PASS;
}

/* ---- 64-bit guests: CR8 and SWAPGS ---- */

static void put64(uint8_t *mem, uint32_t gpa, uint64_t v)
{
	memcpy(mem + gpa, &v, sizeof(v));
}

/*
 * 64-bit mode at G_LOAD + @entry: identity map of the first 2 MiB, a GDT
 * with a 64-bit code segment, an IDT whose 32 gates lead to g_long's
 * exception stubs.
 */
static int vcpu_long(struct vcpu *v, uint32_t entry)
{
	struct kvm_sregs sr = {0};
	struct kvm_regs regs = {0};
	uint8_t *m = v->vm->mem;
	int r;

	put64(m, VL_PML4, VL_PDPT | 3);
	put64(m, VL_PDPT, VL_PD | 3);
	put64(m, VL_PD, 0x83);
	put64(m, VL_GDT, 0);
	put64(m, VL_GDT + VL_CS, 0x00af9b000000ffffull);
	put64(m, VL_GDT + VL_DS, 0x00cf93000000ffffull);
	for (int i = 0; i < VL_NR_STUBS; i++) {
		uint64_t h = G_LOAD + (uint64_t)i * VL_STUB_SIZE;

		put64(m, VL_IDT + 16 * i,
		      (h & 0xffff) | ((uint64_t)VL_CS << 16) | (0x8eull << 40) |
			  ((h >> 16 & 0xffff) << 48));
		put64(m, VL_IDT + 16 * i + 8, h >> 32);
	}
	OK(r, "hvk_mem_write (PML4)", hvk_mem_write(H, v->vm->fd, VL_PML4, m + VL_PML4, 8));
	OK(r, "hvk_mem_write (PDPT)", hvk_mem_write(H, v->vm->fd, VL_PDPT, m + VL_PDPT, 8));
	OK(r, "hvk_mem_write (PD)", hvk_mem_write(H, v->vm->fd, VL_PD, m + VL_PD, 8));
	OK(r, "hvk_mem_write (GDT, IDT)",
	   hvk_mem_write(H, v->vm->fd, VL_GDT, m + VL_GDT, VL_IDT + 16 * VL_NR_STUBS - VL_GDT));
	OK(r, "KVM_GET_SREGS", ioc(v->fd, KVM_GET_SREGS, &sr));
	memset(&sr.cs, 0, sizeof(sr.cs));
	sr.cs.selector = VL_CS;
	sr.cs.limit = 0xffffffff;
	sr.cs.type = 11;
	sr.cs.s = sr.cs.present = sr.cs.l = sr.cs.g = 1;
	memset(&sr.ds, 0, sizeof(sr.ds));
	sr.ds.selector = VL_DS;
	sr.ds.limit = 0xffffffff;
	sr.ds.type = 3;
	sr.ds.s = sr.ds.present = sr.ds.db = sr.ds.g = 1;
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	sr.tr.type = 11;
	sr.gdt.base = VL_GDT;
	sr.gdt.limit = 0x17;
	sr.idt.base = VL_IDT;
	sr.idt.limit = 16 * VL_NR_STUBS - 1;
	sr.cr0 = CR0_PE | CR0_PG | CR0_ET | CR0_MP;
	sr.cr3 = VL_PML4;
	sr.cr4 = CR4_PAE;
	sr.efer = EFER_LME | EFER_LMA;
	OK(r, "KVM_SET_SREGS (64-bit)", ioc(v->fd, KVM_SET_SREGS, &sr));
	memset(&regs, 0, sizeof(regs));
	regs.rip = G_LOAD + entry;
	regs.rsp = G_STACK;
	regs.rflags = RFLAGS_FIXED;
	OK(r, "KVM_SET_REGS", ioc(v->fd, KVM_SET_REGS, &regs));
	return T_PASS;
}

/*
 * CR8 belongs to each vCPU (CR8 exits without an in-kernel APIC, as
 * vmx.c asks for when lapic_in_kernel() is false): what one vCPU writes
 * another does not read, and kvm_run.cr8 / KVM_GET_SREGS report it.
 */
static int t_cr8_per_vcpu(void)
{
	struct kvm_regs regs = {0};
	struct kvm_sregs sr = {0};
	struct vcpu a, b;
	uint32_t got;
	int r;

	NEW_VCPU(&a, g_long, 0);
	NEW_VCPU(&b, g_long, 0);
	if (a.fd == b.fd)
		return skip("no room for a second vCPU");
	TRY(vcpu_long(&a, VL_CR8));
	TRY(get_regs(&a, &regs));
	regs.rbx = 9;
	OK(r, "KVM_SET_REGS", ioc(a.fd, KVM_SET_REGS, &regs));
	RUN_OUT(&a, &got, "MOV CR8 = 9, then read it");
	CHECK(got == 9, "the guest read CR8 %u after writing 9", got);
	CHECK(a.run->cr8 == 9, "kvm_run.cr8 %llu, expected 9", (unsigned long long)a.run->cr8);
	OK(r, "KVM_GET_SREGS", ioc(a.fd, KVM_GET_SREGS, &sr));
	CHECK(sr.cr8 == 9, "KVM_GET_SREGS cr8 %llu, expected 9", (unsigned long long)sr.cr8);
	TRY(vcpu_long(&b, VL_RDCR8));
	RUN_OUT(&b, &got, "another vCPU reads CR8");
	CHECK(got == 0, "another vCPU read CR8 %u: the TPR is shared", got);
	return T_PASS;
}

/*
 * handle_cr() for CR8 without an in-kernel APIC: lowering the TPR exits
 * with KVM_EXIT_SET_TPR; a value with bits above 3 is #GP (kvm_set_cr8).
 */
static int t_cr8_set_tpr_exit(void)
{
	struct kvm_regs regs = {0};
	struct vcpu v;
	uint32_t got;
	int r;

	NEW_VCPU(&v, g_long, 0);
	TRY(vcpu_long(&v, VL_CR8_LOWER));
	TRY(run_exit(&v, KVM_EXIT_SET_TPR, "CR8 lowered from 7 to 3"));
	CHECK(v.run->cr8 == 3, "kvm_run.cr8 %llu at KVM_EXIT_SET_TPR, expected 3",
	      (unsigned long long)v.run->cr8);
	RUN_OUT(&v, &got, "the rest of the guest");
	CHECK(got == 3, "CR8 read back %u, expected 3", got);
	TRY(vcpu_long(&v, VL_CR8));
	TRY(get_regs(&v, &regs));
	regs.rbx = 16;
	OK(r, "KVM_SET_REGS", ioc(v.fd, KVM_SET_REGS, &regs));
	RUN_EXPECT(&v, G_MARK_VEC | 13, "MOV CR8 = 16");
	return T_PASS;
}

/*
 * SWAPGS exchanges GS.base with KERNEL_GS_BASE without an exit; the MSR
 * read back afterwards is the guest's new value (vmx_get_msr reads the
 * live MSR while the vCPU's state is loaded).
 */
static int t_swapgs_kernel_gs_base(void)
{
	uint64_t gs, kgs;
	struct vcpu v, other;

	NEW_VCPU(&v, g_long, 0);
	TRY(vcpu_long(&v, VL_SWAPGS));
	TRY(set_msr(&v, MSR_GS_BASE, 0x1111000));
	TRY(set_msr(&v, MSR_KERNEL_GS_BASE, 0x2222000));
	RUN_EXPECT(&v, 1, "SWAPGS");
	TRY(get_msr(&v, MSR_GS_BASE, &gs));
	TRY(get_msr(&v, MSR_KERNEL_GS_BASE, &kgs));
	CHECK(gs == 0x2222000 && kgs == 0x1111000,
	      "GS.base 0x%llx KERNEL_GS_BASE 0x%llx after SWAPGS, expected 0x2222000 0x1111000",
	      (unsigned long long)gs, (unsigned long long)kgs);
	/* Another vCPU takes the CPU; the value must survive the switch. */
	NEW_VCPU(&other, g_outloop, 0);
	RUN_EXPECT(&other, 0, "another vCPU runs");
	TRY(get_msr(&v, MSR_KERNEL_GS_BASE, &kgs));
	CHECK(kgs == 0x1111000, "KERNEL_GS_BASE 0x%llx after a vCPU switch, expected 0x1111000",
	      (unsigned long long)kgs);
	return T_PASS;
}

/* ---- XSAVE, XCRs and MP state (kvm_vcpu_ioctl_x86_{get,set}_{xsave,xcrs}) ---- */

/* A refused ioctl: -1 with @err. */
static int refused(int fd, unsigned long req, void *arg, int err, const char *what)
{
	int r;

	errno = 0;
	r = ioc(fd, req, arg);
	CHECK(r == -1 && errno == err, "%s: %s, expected -1/%s", what, result_str(r, errno),
	      en(err));
	return T_PASS;
}

/*
 * KVM_GET_XCRS gives XCR0 (1 after reset); KVM_SET_XCRS takes what
 * __kvm_set_xcr() takes and refuses flags, more than KVM_MAX_XCRS, no x87,
 * AVX without SSE; an XCR other than 0 is skipped.
 */
static int t_xcrs(void)
{
	struct kvm_xcrs x, out;
	struct vcpu v;
	int r;

	if (ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) != 1)
		return skip("KVM_CAP_XCRS is 0: the CPU has no XSAVE");
	NEW_VCPU(&v, g_outloop, 0);
	memset(&out, 0xaa, sizeof(out));
	OK(r, "KVM_GET_XCRS", ioc(v.fd, KVM_GET_XCRS, &out));
	CHECK(out.nr_xcrs == 1 && out.flags == 0 && out.xcrs[0].xcr == 0 && out.xcrs[0].value == 1,
	      "KVM_GET_XCRS after reset: nr %u flags %u xcr %u value 0x%llx, expected 1 0 0 0x1",
	      out.nr_xcrs, out.flags, out.xcrs[0].xcr, (unsigned long long)out.xcrs[0].value);
	memset(&x, 0, sizeof(x));
	x.nr_xcrs = 2;
	x.xcrs[0].xcr = 5; /* not XCR0: skipped */
	x.xcrs[0].value = 0xdead;
	x.xcrs[1].xcr = 0;
	x.xcrs[1].value = 3; /* x87 | SSE */
	OK(r, "KVM_SET_XCRS of XCR0 = 3", ioc(v.fd, KVM_SET_XCRS, &x));
	OK(r, "KVM_GET_XCRS", ioc(v.fd, KVM_GET_XCRS, &out));
	CHECK(out.xcrs[0].value == 3, "XCR0 0x%llx after KVM_SET_XCRS of 3",
	      (unsigned long long)out.xcrs[0].value);
	x.nr_xcrs = 1;
	x.xcrs[0].xcr = 0;
	x.xcrs[0].value = 2;
	TRY(refused(v.fd, KVM_SET_XCRS, &x, EINVAL, "XCR0 without x87"));
	x.xcrs[0].value = 5;
	TRY(refused(v.fd, KVM_SET_XCRS, &x, EINVAL, "XCR0 with AVX but not SSE"));
	x.xcrs[0].value = 1ull << 62;
	TRY(refused(v.fd, KVM_SET_XCRS, &x, EINVAL, "XCR0 bit 62"));
	x.xcrs[0].value = 3;
	x.flags = 1;
	TRY(refused(v.fd, KVM_SET_XCRS, &x, EINVAL, "flags 1"));
	x.flags = 0;
	x.nr_xcrs = 17;
	TRY(refused(v.fd, KVM_SET_XCRS, &x, EINVAL, "nr_xcrs 17"));
	OK(r, "KVM_GET_XCRS", ioc(v.fd, KVM_GET_XCRS, &out));
	CHECK(out.xcrs[0].value == 3, "XCR0 0x%llx after refused sets, expected 3 kept",
	      (unsigned long long)out.xcrs[0].value);
	return T_PASS;
}

/*
 * KVM_GET_XSAVE is the XSAVE image; what KVM_SET_XSAVE loads is what
 * KVM_GET_XSAVE and KVM_GET_FPU then show. copy_uabi_to_xstate() refuses
 * XSTATE_BV bits the vCPU cannot hold, XCOMP_BV, reserved header bytes
 * and MXCSR reserved bits, and a refusal changes nothing.
 */
static int t_xsave(void)
{
	static struct kvm_xsave x, y;
	struct kvm_fpu fpu;
	uint8_t *b = (uint8_t *)x.region;
	uint64_t bv;
	struct vcpu v;
	int r;

	CHECK(ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) == 1, "KVM_CAP_XSAVE is not 1");
	NEW_VCPU(&v, g_outloop, 0);
	OK(r, "KVM_GET_XSAVE", ioc(v.fd, KVM_GET_XSAVE, &x));
	CHECK(b[0] == 0x7f && b[1] == 0x03 && x.region[6] == 0x1f80,
	      "reset image: FCW 0x%02x%02x MXCSR 0x%x, expected 0x37f 0x1f80", b[1], b[0],
	      x.region[6]);
	for (int i = 0; i < 16; i++)
		b[160 + i] = (uint8_t)(0xa0 + i); /* XMM0 */
	memcpy(&bv, b + 512, 8);
	bv |= 3; /* x87 and SSE from the image */
	memcpy(b + 512, &bv, 8);
	OK(r, "KVM_SET_XSAVE", ioc(v.fd, KVM_SET_XSAVE, &x));
	OK(r, "KVM_GET_XSAVE", ioc(v.fd, KVM_GET_XSAVE, &y));
	CHECK(!memcmp((uint8_t *)y.region + 160, b + 160, 16), "XMM0 not kept by KVM_SET_XSAVE");
	OK(r, "KVM_GET_FPU", ioc(v.fd, KVM_GET_FPU, &fpu));
	CHECK(!memcmp(fpu.xmm[0], b + 160, 16), "KVM_GET_FPU does not show XMM0 as set");

	y = x;
	bv |= 1ull << 62;
	memcpy((uint8_t *)y.region + 512, &bv, 8);
	y.region[40] ^= 1; /* XMM0, to see that nothing is taken */
	TRY(refused(v.fd, KVM_SET_XSAVE, &y, EINVAL, "XSTATE_BV bit 62"));
	y = x;
	y.region[(512 + 8) / 4] = 1; /* XCOMP_BV */
	TRY(refused(v.fd, KVM_SET_XSAVE, &y, EINVAL, "XCOMP_BV 1"));
	y = x;
	y.region[(512 + 40) / 4] = 1; /* reserved header bytes */
	TRY(refused(v.fd, KVM_SET_XSAVE, &y, EINVAL, "a reserved header byte"));
	y = x;
	y.region[6] = 0xffffffff; /* MXCSR */
	TRY(refused(v.fd, KVM_SET_XSAVE, &y, EINVAL, "MXCSR 0xffffffff"));
	OK(r, "KVM_GET_XSAVE", ioc(v.fd, KVM_GET_XSAVE, &y));
	CHECK(!memcmp((uint8_t *)y.region + 160, b + 160, 16),
	      "a refused KVM_SET_XSAVE changed XMM0");
	return T_PASS;
}

/*
 * Without an in-kernel irqchip the vCPU is RUNNABLE and only RUNNABLE may
 * be set (kvm_arch_vcpu_ioctl_set_mpstate).
 */
static int t_mp_state(void)
{
	struct kvm_mp_state m = {0xaa};
	struct vcpu v;
	int r;

	CHECK(ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_MP_STATE) == 1,
	      "KVM_CAP_MP_STATE is not 1");
	NEW_VCPU(&v, g_outloop, 0);
	OK(r, "KVM_GET_MP_STATE", ioc(v.fd, KVM_GET_MP_STATE, &m));
	CHECK(m.mp_state == KVM_MP_STATE_RUNNABLE, "mp_state %u, expected RUNNABLE", m.mp_state);
	m.mp_state = KVM_MP_STATE_RUNNABLE;
	OK(r, "KVM_SET_MP_STATE RUNNABLE", ioc(v.fd, KVM_SET_MP_STATE, &m));
	m.mp_state = KVM_MP_STATE_HALTED;
	TRY(refused(v.fd, KVM_SET_MP_STATE, &m, EINVAL, "KVM_SET_MP_STATE HALTED without irqchip"));
	m.mp_state = KVM_MP_STATE_INIT_RECEIVED;
	TRY(refused(v.fd, KVM_SET_MP_STATE, &m, EINVAL, "KVM_SET_MP_STATE INIT_RECEIVED"));
	m.mp_state = 0xffff;
	TRY(refused(v.fd, KVM_SET_MP_STATE, &m, EINVAL, "KVM_SET_MP_STATE 0xffff"));
	RUN_EXPECT(&v, 0, "the vCPU runs");
	return T_PASS;
}

/*
 * KVM_GET_TSC_KHZ is the TSC's rate (vcpu->arch.virtual_tsc_khz); without
 * TSC scaling (KVM_CAP_TSC_CONTROL 0) KVM_SET_TSC_KHZ takes 0 or a rate
 * within 250 ppm of it and refuses others (kvm_set_tsc_khz, set_tsc_khz).
 */
static int t_tsc_khz(void)
{
	struct vcpu v;
	int khz, r;

	if (ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_GET_TSC_KHZ) != 1)
		return skip("KVM_CAP_GET_TSC_KHZ is 0: the TSC rate is unknown here");
	CHECK(ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_TSC_CONTROL) == 0,
	      "KVM_CAP_TSC_CONTROL is not 0, yet there is no TSC scaling");
	NEW_VCPU(&v, g_outloop, 0);
	OK(khz, "KVM_GET_TSC_KHZ", ioc_int(v.fd, KVM_GET_TSC_KHZ, 0));
	CHECK(khz >= 10000 && khz <= 10000000, "KVM_GET_TSC_KHZ %d: not between 10 MHz and 10 GHz",
	      khz);
	OK(r, "KVM_SET_TSC_KHZ 0 (the host's rate)", ioc_int(v.fd, KVM_SET_TSC_KHZ, 0));
	OK(r, "KVM_SET_TSC_KHZ of its own rate",
	   ioc_int(v.fd, KVM_SET_TSC_KHZ, (unsigned long)khz));
	errno = 0;
	r = ioc_int(v.fd, KVM_SET_TSC_KHZ, (unsigned long)khz * 2);
	CHECK(r == -1 && errno == EINVAL,
	      "KVM_SET_TSC_KHZ of twice the rate: %s (Linux: -1/EINVAL)", result_str(r, errno));
	errno = 0;
	r = ioc_int(v.fd, KVM_SET_TSC_KHZ, (unsigned long)khz / 2);
	CHECK(r == -1 && errno == EINVAL, "KVM_SET_TSC_KHZ of half the rate: %s (Linux: -1/EINVAL)",
	      result_str(r, errno));
	EQUALS("KVM_GET_TSC_KHZ after the refusals", ioc_int(v.fd, KVM_GET_TSC_KHZ, 0), khz);
	return T_PASS;
}

/*
 * KVM_CAP_MAX_VCPU_ID (kvm_vm_ioctl_enable_cap, kvm_arch_vcpu_precreate):
 * above what KVM_CHECK_EXTENSION reports is EINVAL; set once, the same
 * value again is fine and another is EINVAL; a vCPU id at or above it is
 * EINVAL. The steps of Linux's max_vcpuid_cap_test.
 */
static int t_max_vcpu_id(void)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_MAX_VCPU_ID};
	int max, fd, r, vmfd;

	OK(max, "KVM_CHECK_EXTENSION(KVM_CAP_MAX_VCPU_ID)",
	   ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID));
	CHECK(max >= 2, "KVM_CAP_MAX_VCPU_ID %d, expected at least 2", max);
	OK(vmfd, "KVM_CREATE_VM", ioc_int(KVM, KVM_CREATE_VM, 0));
	cap.args[0] = (uint64_t)max + 1;
	errno = 0;
	r = ioc(vmfd, KVM_ENABLE_CAP, &cap);
	CHECK(r == -1 && errno == EINVAL, "KVM_CAP_MAX_VCPU_ID %d + 1: %s (Linux: -1/EINVAL)", max,
	      result_str(r, errno));
	cap.args[0] = 1;
	OK(r, "KVM_ENABLE_CAP(KVM_CAP_MAX_VCPU_ID, 1)", ioc(vmfd, KVM_ENABLE_CAP, &cap));
	OK(r, "the same KVM_CAP_MAX_VCPU_ID again", ioc(vmfd, KVM_ENABLE_CAP, &cap));
	cap.args[0] = 2;
	errno = 0;
	r = ioc(vmfd, KVM_ENABLE_CAP, &cap);
	CHECK(r == -1 && errno == EINVAL, "a second KVM_CAP_MAX_VCPU_ID: %s (Linux: -1/EINVAL)",
	      result_str(r, errno));
	errno = 0;
	r = ioc_int(vmfd, KVM_CREATE_VCPU, 1);
	CHECK(r == -1 && errno == EINVAL,
	      "KVM_CREATE_VCPU 1 with the limit 1: %s (Linux: -1/EINVAL)", result_str(r, errno));
	OK(fd, "KVM_CREATE_VCPU 0", ioc_int(vmfd, KVM_CREATE_VCPU, 0));
	hvk_close_fd(H, fd);
	hvk_close_fd(H, vmfd);
	return T_PASS;
}

/*
 * REP INS with the count changed at the exit, as Linux's userspace_io_test
 * does: lowered to 1, one element is stored and the instruction ends
 * (RCX 0, RDI + 1); raised, the instruction goes on with more exits until
 * the new count is done (complete_emulated_pio re-runs the instruction
 * with the registers KVM_SET_REGS gave).
 */
static int ins_case(struct vcpu *v, uint32_t first, uint32_t then, const char *what)
{
	struct kvm_regs regs = {0};
	uint8_t buf[512];
	int exits = 0;

	TRY(clear_guest(v, VC_INS_BUF, sizeof(buf)));
	TRY(get_regs(v, &regs));
	regs.rip = G_LOAD + VC_INS;
	regs.rcx = first;
	OK(exits, "KVM_SET_REGS", ioc(v->fd, KVM_SET_REGS, &regs));
	exits = 0;
	for (;;) {
		errno = 0;
		if (hvk_ioctl(H, v->fd, KVM_RUN, 0) < 0)
			return fail("%s: KVM_RUN: -1/%s", what, en(errno));
		if (v->run->exit_reason != KVM_EXIT_IO || v->run->io.port != 0x80)
			break;
		CHECK(++exits < 100, "%s: more than 100 INS exits", what);
		memset((uint8_t *)v->run + v->run->io.data_offset, 0xaa,
		       (size_t)v->run->io.count * v->run->io.size);
		if (exits == 1) {
			TRY(get_regs(v, &regs));
			CHECK(regs.rcx == first, "%s: RCX 0x%llx at the first exit, expected %u",
			      what, (unsigned long long)regs.rcx, first);
			regs.rcx = then;
			int r;
			OK(r, "KVM_SET_REGS", ioc(v->fd, KVM_SET_REGS, &regs));
		}
	}
	CHECK(v->run->exit_reason == KVM_EXIT_IO && v->run->io.port == G_PORT,
	      "%s: %s, expected the OUT of ECX", what, exit_str(v->run));
	CHECK(get32((uint8_t *)v->run + v->run->io.data_offset) == 0,
	      "%s: ECX 0x%x after the REP INS, expected 0", what,
	      get32((uint8_t *)v->run + v->run->io.data_offset));
	RUN_EXPECT(v, VC_INS_BUF + then, what);
	TRY(read_guest(v, VC_INS_BUF, buf, sizeof(buf)));
	for (uint32_t i = 0; i < sizeof(buf); i++)
		CHECK(buf[i] == (i < then ? 0xaa : 0), "%s: byte %u is 0x%02x, expected 0x%02x",
		      what, i, buf[i], i < then ? 0xaa : 0);
	return T_PASS;
}

static int t_rep_ins_count_changed(void)
{
	struct vcpu v;

	NEW_VCPU(&v, g_vcpu, 0);
	TRY(ins_case(&v, 2, 1, "REP INSB with CX 2 lowered to 1"));
	TRY(ins_case(&v, 3, 300, "REP INSB with CX 3 raised to 300"));
	return T_PASS;
}

const struct test vcpu_tests[] = {
    {"vcpu_io_out_rip", t_io_out_rip, NEEDS_VMX},
    {"vcpu_io_out_rip_moved", t_io_out_rip_moved, NEEDS_VMX},
    {"vcpu_io_in_complete", t_io_in_complete, NEEDS_VMX},
    {"vcpu_io_in_rip_moved", t_io_in_rip_moved, NEEDS_VMX},
    {"vcpu_rep_ins_count_changed", t_rep_ins_count_changed, NEEDS_VMX},
    {"vcpu_immediate_exit_keeps_exit", t_immediate_exit_keeps_exit, NEEDS_VMX},
    {"vcpu_irq_window_open", t_irq_window_open, NEEDS_VMX},
    {"vcpu_irq_with_blocked_nmi", t_irq_with_blocked_nmi, NEEDS_VMX},
    {"vcpu_interrupt_twice", t_interrupt_twice, NEEDS_VMX},
    {"vcpu_run_cr8", t_run_cr8, NEEDS_VMX},
    {"vcpu_singlestep_emulated", t_singlestep_emulated, NEEDS_VMX},
    {"vcpu_guestdbg_singlestep", t_guestdbg_singlestep, NEEDS_VMX},
    {"vcpu_sregs_guest_owned_cr0", t_sregs_guest_owned_cr0, NEEDS_VMX},
    {"vcpu_cr4_pcide_gp", t_cr4_pcide_gp, NEEDS_VMX},
    {"vcpu_delivery_fault", t_delivery_fault, NEEDS_VMX},
    {"vcpu_inject_error_code_real_mode", t_inject_error_code_real_mode, NEEDS_VMX},
    {"vcpu_failed_entry_recovers", t_failed_entry_recovers, NEEDS_VMX},
    {"vcpu_reset_state", t_reset_state, NEEDS_VMX},
    {"vcpu_tsc_starts_near_zero", t_tsc_starts_near_zero, NEEDS_VMX},
    {"vcpu_err_sregs_apic_base_cr3", t_err_sregs_apic_base_cr3, NEEDS_VMX},
    {"vcpu_sregs_pae_pdptes", t_sregs_pae_pdptes, NEEDS_VMX},
    {"vcpu_cr8_per_vcpu", t_cr8_per_vcpu, NEEDS_VMX},
    {"vcpu_cr8_set_tpr_exit", t_cr8_set_tpr_exit, NEEDS_VMX},
    {"vcpu_swapgs_kernel_gs_base", t_swapgs_kernel_gs_base, NEEDS_VMX},
    {"vcpu_xcrs", t_xcrs, NEEDS_VMX},
    {"vcpu_xsave", t_xsave, NEEDS_VMX},
    {"vcpu_mp_state", t_mp_state, NEEDS_VMX},
    {"vcpu_tsc_khz", t_tsc_khz, NEEDS_VMX},
    {"vcpu_max_vcpu_id", t_max_vcpu_id, NEEDS_VMX},
    TEST_END,
};
