// SPDX-License-Identifier: MIT
/*
 * VM-exit handlers, indexed by basic exit reason in one const table. A
 * reason without a handler stops the vCPU with KVM_EXIT_INTERNAL_ERROR
 * naming it. A guest fault is answered with an exception into the guest;
 * a hypervisor bug (EPT misconfiguration) dumps the VMCS and ends the vCPU.
 */
#include <string.h>

#include "abi/hv_guest.h"
#include "hv/irqchip/lapic.h"
#include "hv/x86emu/guest_walk.h"
#include "hv/lib/log.h"
#include "hv/lib/mm.h"
#include "hv/lib/msr.h"
#include "hv/lib/x86.h"
#include "vmx/exit.h"
#include "vmx/cpuid.h"
#include "vmx/exit_reasons.h"
#include "vmx/irqchip.h"
#include "vmx/msr.h"
#include "vmx/msr_filter.h"
#include "vmx/vcpu.h"
#include "vmx/xstate.h"
#include "vmx/vmx.h"
#include "vmx/vmx_ops.h"

typedef enum exit_action (*exit_handler)(struct vcpu *v);

#define NAME_ROW(id, nr, name) [nr] = name,
static const char *const exit_reason_names[EXIT_REASON_MAX] = {VMX_EXIT_REASONS(NAME_ROW)};

const char *vmx_exit_reason_name(unsigned reason)
{
	if (reason < EXIT_REASON_MAX && exit_reason_names[reason])
		return exit_reason_names[reason];
	return "unknown";
}

static enum exit_action internal_error(struct vcpu *v, uint32_t suberror, unsigned ndata,
				       const uint64_t *data)
{
	struct kvm_run *run = v->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.ndata = ndata;
	for (unsigned i = 0; i < ndata && i < 16; i++)
		run->internal.data[i] = data[i];
	return EXIT_TO_CONTROLLER;
}

/*
 * An instruction the hypervisor cannot emulate (handle_emulation_failure,
 * prepare_emulation_failure_exit): KVM_INTERNAL_ERROR_EMULATION with the
 * instruction's bytes (flag KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_
 * BYTES, padded with NOPs) and the exit's information (full reason,
 * qualification, IDT-vectoring, interruption information and its error
 * code): ndata 8. Without KVM_CAP_EXIT_ON_EMULATION_FAILURE the guest also
 * gets #UD, and below CPL 0 only that: the run goes on.
 */
static enum exit_action emulation_failure(struct vcpu *v, const uint8_t *insn, size_t len)
{
	const struct vmx_exit_info *x = &v->exit;
	struct kvm_run *run = v->run;

	if (!v->vm->exit_on_emulation_failure) {
		vcpu_queue_exception(v, VEC_UD, false, 0);
		if (vcpu_cpl(v) != 0)
			return EXIT_RESUME;
	}
	if (len > sizeof(run->emulation_failure.insn_bytes))
		len = sizeof(run->emulation_failure.insn_bytes);
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->emulation_failure.flags =
	    len ? KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES : 0;
	run->emulation_failure.insn_size = (uint8_t)len;
	memset(run->emulation_failure.insn_bytes, 0x90, sizeof(run->emulation_failure.insn_bytes));
	memcpy(run->emulation_failure.insn_bytes, insn, len);
	run->internal.data[3] = x->full_reason;
	run->internal.data[4] = x->qual;
	run->internal.data[5] = x->idt_info;
	run->internal.data[6] = x->intr_info;
	run->internal.data[7] = x->intr_error;
	run->emulation_failure.ndata = 8;
	return EXIT_TO_CONTROLLER;
}

static enum exit_action unhandled(struct vcpu *v)
{
	unsigned reason = v->exit.reason;
	uint64_t data[2] = {reason, v->exit.qual};

	log_err("vm %s vcpu %d: unhandled exit %u (%s), qualification 0x%llx, rip 0x%llx",
		v->vm->name, v->id, reason, vmx_exit_reason_name(reason),
		(unsigned long long)data[1], (unsigned long long)vmcs_readl(VMCS_GUEST_RIP));
	return internal_error(v, KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON, 2, data);
}

static enum exit_action inject_ud(struct vcpu *v)
{
	vcpu_queue_exception(v, VEC_UD, false, 0);
	return EXIT_RESUME;
}

static enum exit_action inject_gp(struct vcpu *v)
{
	vcpu_queue_exception(v, VEC_GP, true, 0);
	return EXIT_RESUME;
}

static enum exit_action skip(struct vcpu *v)
{
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}

/* ---- exceptions, interrupts, windows ---------------------------------- */

static enum exit_action handle_exception_nmi(struct vcpu *v)
{
	const struct vmx_exit_info *x = &v->exit;
	uint32_t info = x->intr_info;
	uint8_t vector = exit_event_vector(info);

	if (exit_event_type(info) == INTR_TYPE_NMI) {
		/* A host NMI arrived while the guest ran; nothing to forward. */
		log_warn("vm %s vcpu %d: host NMI during guest execution", v->vm->name, v->id);
		return EXIT_RESUME;
	}
	/*
	 * An intercepted exception other than #PF while another event was
	 * being delivered: two events at once, which handle_exception_nmi()
	 * reports as KVM_INTERNAL_ERROR_SIMUL_EX.
	 */
	if (exit_event_valid(x->idt_info) && vector != VEC_PF) {
		uint64_t data[4] = {x->idt_info, info, x->intr_error, 0};

		v->inject.valid = false; /* reported, not re-injected */
		log_err("vm %s vcpu %d: exception %u while delivering event 0x%x", v->vm->name,
			v->id, vector, x->idt_info);
		return internal_error(v, KVM_INTERNAL_ERROR_SIMUL_EX, 4, data);
	}
	if (vector == VEC_BP && (v->guest_debug & KVM_GUESTDBG_USE_SW_BP)) {
		v->bp_len = (uint8_t)x->insn_len;
		vcpu_debug_exit(v, VEC_BP, 0);
		return EXIT_TO_CONTROLLER;
	}
	/*
	 * A single step or a hardware breakpoint for the debugger: the
	 * qualification holds DR6's bits (handle_exception_nmi, DB_VECTOR).
	 */
	if (vector == VEC_DB &&
	    (v->guest_debug & (KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_HW_BP))) {
		vcpu_debug_exit(v, VEC_DB, x->qual);
		return EXIT_TO_CONTROLLER;
	}
	if (vector == VEC_MC) {
		log_err("vm %s vcpu %d: machine check while the guest ran", v->vm->name, v->id);
		return unhandled(v);
	}
	/* Intercepted guest exception: give it back to the guest. */
	vcpu_queue_exception(v, vector, info & INTR_INFO_DELIVER_ERROR, x->intr_error);
	return EXIT_RESUME;
}

static enum exit_action handle_external_interrupt(struct vcpu *v)
{
	/* Not acknowledged on exit: let the host's IDT take it now. */
	sti_nop_cli();
	/* The channel's interrupt, perhaps: what it brought is served now. */
	vcpu_serve_channel(v);
	return EXIT_RESUME;
}

/*
 * Exits whose work vcpu_run does before the next entry: an interrupt or
 * NMI window opened (inject_events injects and clears the window). A
 * preemption-timer slice's end (handle_preemption_timer) likewise brings a
 * guest that never exits back to have stop requests and its budget
 * checked.
 */
static enum exit_action resume(struct vcpu *v)
{
	return EXIT_RESUME;
}

static enum exit_action handle_preemption_timer(struct vcpu *v)
{
	vcpu_serve_channel(v);
	return EXIT_RESUME;
}

static enum exit_action handle_triple_fault(struct vcpu *v)
{
	log_info("vm %s vcpu %d: triple fault at rip 0x%llx", v->vm->name, v->id,
		 (unsigned long long)vmcs_readl(VMCS_GUEST_RIP));
	v->run->exit_reason = KVM_EXIT_SHUTDOWN;
	return EXIT_TO_CONTROLLER;
}

static enum exit_action handle_init(struct vcpu *v)
{
	/* INIT: wait for a SIPI (SDM 9.4); the BSP of a boot guest never gets one. */
	vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, 3);
	return EXIT_RESUME;
}

static enum exit_action handle_sipi(struct vcpu *v)
{
	uint8_t vector = exit_sipi_vector(&v->exit);

	vmcs_write16(VMCS_GUEST_CS_SEL, (uint16_t)vector << 8);
	vmcs_writel(VMCS_GUEST_CS_BASE, (uint64_t)vector << 12);
	vmcs_writel(VMCS_GUEST_RIP, 0);
	vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, 0);
	return EXIT_RESUME;
}

static enum exit_action handle_task_switch(struct vcpu *v)
{
	uint64_t data[2] = {EXIT_REASON_TASK_SWITCH, v->exit.qual};

	log_err("vm %s vcpu %d: hardware task switch (selector 0x%llx) is not emulated",
		v->vm->name, v->id, (unsigned long long)(data[1] & 0xffff));
	return internal_error(v, KVM_INTERNAL_ERROR_EMULATION, 2, data);
}

/* ---- instructions ------------------------------------------------------ */

static enum exit_action handle_cpuid(struct vcpu *v)
{
	struct cpuid_regs r;

	/* kvm_emulate_cpuid(): with CPUID faulting on, CPL > 0 gets #GP. */
	if (vcpu_cpuid_faulting(v) && vcpu_cpl(v) != 0)
		return inject_gp(v);
	r = vcpu_cpuid(v, (uint32_t)v->gpr[GPR_RAX], (uint32_t)v->gpr[GPR_RCX]);

	v->gpr[GPR_RAX] = r.eax;
	v->gpr[GPR_RBX] = r.ebx;
	v->gpr[GPR_RCX] = r.ecx;
	v->gpr[GPR_RDX] = r.edx;
	return skip(v);
}

/*
 * HLT: with an in-kernel irqchip the vCPU halts in the hypervisor until an
 * interrupt or event wakes it (kvm_emulate_halt, kvm_vcpu_halt); without
 * one the controller sees KVM_EXIT_HLT.
 */
static enum exit_action handle_hlt(struct vcpu *v)
{
	vcpu_skip_instruction(v);
	if (v->apic) {
		v->mp_state = KVM_MP_STATE_HALTED;
		return EXIT_RESUME;
	}
	v->run->exit_reason = KVM_EXIT_HLT;
	return EXIT_TO_CONTROLLER;
}

static int64_t hypercall_puts(struct vcpu *v, uint64_t gpa, uint64_t len)
{
	char buf[HV_HC_PUTS_MAX + 1];

	if (len > HV_HC_PUTS_MAX)
		return -HC_EINVAL;
	if (vm_read_gpa(v->vm, gpa, buf, len) < 0)
		return -HC_EFAULT;
	buf[len] = 0;
	for (uint64_t i = 0; i < len; i++)
		if ((buf[i] < 0x20 && buf[i] != '\n') || buf[i] == 0x7f)
			buf[i] = '?';
	/*
	 * One log line per guest line, each with the VM's prefix: a guest
	 * cannot start a console line that looks like the hypervisor's own.
	 */
	for (char *line = buf, *end; *line; line = end + 1) {
		end = strchr(line, '\n');
		if (!end) {
			log_info("[%s] %s", v->vm->name, line);
			break;
		}
		*end = 0;
		log_info("[%s] %s", v->vm->name, line);
	}
	return (int64_t)len;
}

static int64_t hypercall_inject(struct vcpu *v, uint64_t vector)
{
	if (vector == VEC_NMI) {
		vcpu_queue_nmi(v);
		return 0;
	}
	if (vector < 32 || vector > 255)
		return -HC_EINVAL;
	return vcpu_interrupt(v, (uint32_t)vector) < 0 ? -HC_EINVAL : 0;
}

static enum exit_action handle_vmcall(struct vcpu *v)
{
	uint64_t nr = v->gpr[GPR_RAX];
	int64_t ret;

	if (vcpu_cpl(v) != 0) {
		ret = -1; /* -EPERM, as KVM answers user-mode hypercalls */
	} else {
		switch (nr) {
		case HC_NOP:
			ret = 0;
			break;
		case HC_VERSION:
			ret = HV_HYPERCALL_ABI_VERSION;
			break;
		case HC_PUTS:
			ret = hypercall_puts(v, v->gpr[GPR_RBX], v->gpr[GPR_RCX]);
			break;
		case HC_INJECT:
			ret = hypercall_inject(v, v->gpr[GPR_RBX]);
			break;
		case HC_IRQ_LINE: /* KVM_IRQ_LINE_STATUS's status, or an error */
			if (v->gpr[GPR_RBX] > UINT32_MAX || v->gpr[GPR_RCX] > 1)
				ret = -HC_EINVAL;
			else
				ret =
				    vm_irq_line(v->vm, (uint32_t)v->gpr[GPR_RBX], v->gpr[GPR_RCX]);
			if (ret < -1 && ret != -HC_ENXIO) /* -ENXIO: the VM has no irqchip */
				ret = -HC_EINVAL;
			break;
		default:
			log_debug("vm %s vcpu %d: unknown hypercall %llu", v->vm->name, v->id,
				  (unsigned long long)nr);
			ret = -HC_ENOSYS;
		}
	}
	v->gpr[GPR_RAX] = (uint64_t)ret;
	return skip(v);
}

static uint64_t read_gpr(struct vcpu *v, unsigned reg)
{
	return reg == GPR_RSP ? vmcs_readl(VMCS_GUEST_RSP) : v->gpr[reg];
}

static void write_gpr(struct vcpu *v, unsigned reg, uint64_t val)
{
	if (reg == GPR_RSP)
		vmcs_writel(VMCS_GUEST_RSP, val);
	else
		v->gpr[reg] = val;
}

/*
 * MOV to/from CR8 (the TPR, 64-bit mode only): exits are on, so each
 * vCPU has its own. Without an in-kernel APIC, lowering the TPR ends the
 * run with KVM_EXIT_SET_TPR (handle_cr() in vmx.c): the controller may
 * have an interrupt waiting for it. Only the low byte of the source
 * register is taken, and bits 7:4 of it are reserved (kvm_set_cr8).
 */
static enum exit_action cr8_write(struct vcpu *v, uint64_t val)
{
	uint8_t old = vcpu_get_cr8(v), cr8 = (uint8_t)val;

	if (cr8 & ~0xfu)
		return inject_gp(v);
	vcpu_set_cr8(v, cr8);
	vcpu_skip_instruction(v);
	/* With an in-kernel APIC the next entry sees what the TPR unmasked. */
	if (cr8 >= old || v->apic)
		return EXIT_RESUME;
	v->run->exit_reason = KVM_EXIT_SET_TPR;
	return EXIT_TO_CONTROLLER;
}

static enum exit_action handle_cr_access(struct vcpu *v)
{
	const struct vmx_exit_info *x = &v->exit;
	unsigned cr = exit_cr_number(x), reg = exit_cr_gpr(x);
	uint64_t cr0 = vmcs_readl(VMCS_CR0_READ_SHADOW);
	uint64_t val = read_gpr(v, reg);
	int err = 0;

	/* Outside 64-bit mode MOV to CR takes the low 32 bits. */
	if (vcpu_code_mode(v) != INSN_MODE_64)
		val &= 0xffffffff;
	switch (exit_cr_type(x)) {
	case CR_MOV_TO:
		if (cr == 0)
			err = vcpu_set_cr0(v, val);
		else if (cr == 4)
			err = vcpu_set_cr4(v, val);
		else if (cr == 3)
			vmcs_writel(VMCS_GUEST_CR3, val);
		else if (cr == 8)
			return cr8_write(v, val);
		else
			return unhandled(v);
		break;
	case CR_MOV_FROM:
		if (cr == 3)
			write_gpr(v, reg, vmcs_readl(VMCS_GUEST_CR3));
		else if (cr == 8)
			write_gpr(v, reg, vcpu_get_cr8(v));
		else
			return unhandled(v);
		break;
	case CR_CLTS:
		err = vcpu_set_cr0(v, cr0 & ~CR0_TS);
		break;
	case CR_LMSW: /* loads PE, MP, EM, TS; cannot clear PE */
		err =
		    vcpu_set_cr0(v, (cr0 & ~0xeull) | (exit_lmsw_source(x) & 0xf) | (cr0 & CR0_PE));
		break;
	}
	if (err)
		return inject_gp(v);
	return skip(v);
}

/* The common part of every KVM_EXIT_IO: data sits in the PIO page. */
static enum exit_action io_exit(struct vcpu *v, bool in, uint8_t size, uint32_t count)
{
	struct kvm_run *run = v->run;

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = size;
	run->io.port = exit_io_port(&v->exit);
	run->io.count = count;
	run->io.data_offset = VCPU_PIO_OFFSET;
	return EXIT_TO_CONTROLLER;
}

#define RFLAGS_DF (1ul << 10)

/*
 * INS/OUTS, with or without REP: one exit moves as many elements as fit in
 * the rest of the guest page (all of them for a descending copy: one), so
 * the data always fits the PIO page. The exit gives the linear address.
 * OUTS is done at the exit (its data is read now, as upstream's emulator
 * writes back at the exit); INS waits for the controller's data.
 */
static enum exit_action handle_string_io(struct vcpu *v, uint8_t size, bool in)
{
	const struct vmx_exit_info *x = &v->exit;
	uint8_t asz = exit_io_addr_size(x);
	uint64_t mask = asz == 8 ? ~0ull : (1ull << (asz * 8)) - 1;
	uint64_t la = x->gla;
	bool rep = exit_io_rep(x), down = vmcs_readl(VMCS_GUEST_RFLAGS) & RFLAGS_DF;
	uint8_t len = (uint8_t)x->insn_len;
	uint64_t count = rep ? v->gpr[GPR_RCX] & mask : 1;
	uint64_t room = (PAGE_SIZE - (la & (PAGE_SIZE - 1))) / size;
	uint8_t *pio = (uint8_t *)v->run + VCPU_PIO_OFFSET;

	if (!asz) {
		uint64_t data[2] = {EXIT_REASON_IO_INSTRUCTION, x->insn_info};

		log_err("vm %s vcpu %d: string I/O exit with undefined address size (info 0x%x)",
			v->vm->name, v->id, (unsigned)x->insn_info);
		return internal_error(v, KVM_INTERNAL_ERROR_EMULATION, 2, data);
	}
	if (!count)
		return skip(v); /* REP with RCX = 0 does nothing */
	if (down || !room)
		room = 1;
	if (count > room)
		count = room;
	if (!in) {
		struct guest_walk_ctx ctx;
		struct guest_walk_result res;
		uint64_t pdptes[4];
		size_t got;

		vcpu_walk_ctx(v, &ctx, pdptes);
		got = guest_read_linear_res(&ctx, la, pio, count * size, vcpu_walk_user(v), &res);
		if (got < size) {
			uint64_t data[2] = {EXIT_REASON_IO_INSTRUCTION, la};

			if (res.status == WALK_PAGE_FAULT) {
				v->cr2 = res.la;
				vcpu_queue_exception(v, VEC_PF, true, res.error_code);
				return EXIT_RESUME;
			}
			log_err("vm %s vcpu %d: OUTS from 0x%llx, which is not RAM", v->vm->name,
				v->id, (unsigned long long)la);
			return internal_error(v, KVM_INTERNAL_ERROR_EMULATION, 2, data);
		}
		count = got / size;
		vcpu_string_io_done(v, GPR_RSI, count, size, asz, rep, down, len);
	} else {
		vcpu_wait_ins(v, size, len);
		v->ins.la = la;
		v->ins.count = count;
		v->ins.addr_size = asz;
		v->ins.rep = rep;
		v->ins.down = down;
	}
	return io_exit(v, in, size, (uint32_t)count);
}

/*
 * IN and OUT: the instruction completes on the next KVM_RUN
 * (complete_fast_pio_in / complete_fast_pio_out), so at the exit RIP
 * still points at it, as KVM_GET_REGS shows on Linux.
 */
static enum exit_action handle_io(struct vcpu *v)
{
	const struct vmx_exit_info *x = &v->exit;
	uint8_t size = exit_io_size(x);
	bool in = exit_io_in(x);

	if (exit_io_string(x))
		return handle_string_io(v, size, in);
	if (v->apic && vcpu_irqchip_pio(v, exit_io_port(x), size, in, &v->gpr[GPR_RAX]) == 0) {
		vcpu_skip_instruction(v);
		return EXIT_RESUME;
	}
	if (in) {
		vcpu_wait_in(v, size, (uint8_t)x->insn_len);
	} else {
		memcpy((uint8_t *)v->run + VCPU_PIO_OFFSET, &v->gpr[GPR_RAX], size);
		vcpu_wait_out(v, size, (uint8_t)x->insn_len);
	}
	return io_exit(v, in, size, 1);
}

/* ---- MSRs (emulated in vmx/msr.c) ----------------------------------- */

/*
 * A guest RDMSR/WRMSR refused with @r (MSR_*): to the controller when
 * KVM_CAP_X86_USER_SPACE_MSR asked for that reason (kvm_msr_user_space,
 * kvm_msr_reason), which answers in kvm_run.msr for the next KVM_RUN;
 * else #GP.
 */
static enum exit_action msr_refused(struct vcpu *v, uint32_t exit_reason, uint32_t msr,
				    uint64_t data, int r)
{
	struct kvm_run *run = v->run;
	uint32_t reason = r == MSR_FILTERED  ? KVM_MSR_EXIT_REASON_FILTER
			  : r == MSR_UNKNOWN ? KVM_MSR_EXIT_REASON_UNKNOWN
					     : KVM_MSR_EXIT_REASON_INVAL;

	if (!(v->vm->user_space_msr_mask & reason)) {
		log_debug("vm %s vcpu %d: %s 0x%x: #GP (%d)", v->vm->name, v->id,
			  exit_reason == KVM_EXIT_X86_RDMSR ? "rdmsr" : "wrmsr", msr, r);
		return inject_gp(v);
	}
	run->exit_reason = exit_reason;
	memset(&run->msr, 0, sizeof(run->msr));
	run->msr.reason = reason;
	run->msr.index = msr;
	run->msr.data = data;
	vcpu_wait_msr(v, (uint8_t)v->exit.insn_len);
	return EXIT_TO_CONTROLLER;
}

/* kvm_emulate_rdmsr: the filter and allow-lists first (kvm_get_msr_with_filter), then the MSR. */
static enum exit_action handle_rdmsr(struct vcpu *v)
{
	uint32_t msr = (uint32_t)v->gpr[GPR_RCX];
	uint64_t val = 0;
	int r =
	    msr_access_allowed(v->vm->msr_filter, v->vm->msr_allowlist, msr, KVM_MSR_FILTER_READ)
		? vcpu_msr_read(v, msr, &val, false)
		: MSR_FILTERED;

	if (r < 0)
		return msr_refused(v, KVM_EXIT_X86_RDMSR, msr, 0, r);
	v->gpr[GPR_RAX] = (uint32_t)val;
	v->gpr[GPR_RDX] = val >> 32;
	return skip(v);
}

/* kvm_emulate_wrmsr: the filter and allow-lists first (kvm_set_msr_with_filter), then the MSR. */
static enum exit_action handle_wrmsr(struct vcpu *v)
{
	uint32_t msr = (uint32_t)v->gpr[GPR_RCX];
	uint64_t val = (v->gpr[GPR_RDX] << 32) | (uint32_t)v->gpr[GPR_RAX];
	int r =
	    msr_access_allowed(v->vm->msr_filter, v->vm->msr_allowlist, msr, KVM_MSR_FILTER_WRITE)
		? vcpu_msr_write(v, msr, val, false)
		: MSR_FILTERED;

	if (r < 0)
		return msr_refused(v, KVM_EXIT_X86_WRMSR, msr, val, r);
	return skip(v);
}

static enum exit_action handle_xsetbv(struct vcpu *v)
{
	uint32_t index = (uint32_t)v->gpr[GPR_RCX];
	uint64_t val = (v->gpr[GPR_RDX] << 32) | (uint32_t)v->gpr[GPR_RAX];

	/* kvm_emulate_xsetbv(): CPL 0, XCR0 only, a value __kvm_set_xcr() takes. */
	if (index != 0 || vcpu_cpl(v) != 0 || !vcpu_xcr0_valid(v, val))
		return inject_gp(v);
	vcpu_set_xcr0(v, val);
	return skip(v);
}

/* ---- EPT ---------------------------------------------------------------- */

/* Fetch the instruction at the guest's RIP through its own page tables. */
static size_t fetch_instruction(struct vcpu *v, uint8_t *buf, size_t max)
{
	struct guest_walk_ctx ctx;
	uint64_t pdptes[4];

	vcpu_walk_ctx(v, &ctx, pdptes);
	return guest_read_linear(&ctx, vcpu_linear_rip(v), buf, max,
				 WALK_FETCH | vcpu_walk_user(v));
}

static bool irqchip_mmio(struct vcpu *v, uint64_t gpa);

/*
 * A guest-physical address no slot backs: MMIO for the controller. During
 * the delivery of an event (the IDT, a stack or a TSS in MMIO) there is no
 * instruction to emulate: KVM_INTERNAL_ERROR_DELIVERY_EV with the
 * vectoring information, exit reason, qualification and address, as
 * __vmx_handle_exit() reports it.
 */
static enum exit_action emulate_mmio(struct vcpu *v, uint64_t gpa);

static enum exit_action handle_ept_violation(struct vcpu *v)
{
	const struct vmx_exit_info *x = &v->exit;
	uint64_t gpa = x->gpa;

	if (exit_event_valid(x->idt_info)) {
		uint64_t data[5] = {x->idt_info, x->full_reason, x->qual, gpa, 0};

		v->inject.valid = false; /* reported, not re-injected */
		log_err(
		    "vm %s vcpu %d: event 0x%x delivery touched 0x%llx, where there is no memory",
		    v->vm->name, v->id, x->idt_info, (unsigned long long)gpa);
		return internal_error(v, KVM_INTERNAL_ERROR_DELIVERY_EV, 5, data);
	}
	/* An IRET that unblocked NMIs faulted: blocking comes back (SDM 27.2.3). */
	if (exit_nmi_unblocked_by_iret(x))
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY,
			     vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) | (1u << 3));
	if (exit_ept_fetch(x)) {
		uint64_t data[2] = {EXIT_REASON_EPT_VIOLATION, gpa};

		log_err("vm %s vcpu %d: instruction fetch from 0x%llx, where there is no memory",
			v->vm->name, v->id, (unsigned long long)gpa);
		return internal_error(v, KVM_INTERNAL_ERROR_EMULATION, 2, data);
	}
	return emulate_mmio(v, gpa);
}

/*
 * The instruction at RIP accesses MMIO at @gpa: decoded and done here when
 * the irqchip owns the address, else a KVM_EXIT_MMIO for the controller.
 */
static enum exit_action emulate_mmio(struct vcpu *v, uint64_t gpa)
{
	struct kvm_run *run = v->run;
	uint8_t bytes[15];
	size_t got;
	int err;

	got = fetch_instruction(v, bytes, sizeof(bytes));
	v->mmio_mode = vcpu_code_mode(v);
	err = insn_decode_mmio(bytes, got, v->mmio_mode, &v->mmio);
	if (err < 0) {
		log_err("vm %s vcpu %d: cannot emulate the MMIO access to 0x%llx at rip 0x%llx",
			v->vm->name, v->id, (unsigned long long)gpa,
			(unsigned long long)vmcs_readl(VMCS_GUEST_RIP));
		return emulation_failure(v, bytes, got);
	}
	if (irqchip_mmio(v, gpa))
		return EXIT_RESUME;
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = v->mmio.size;
	run->mmio.is_write = v->mmio.is_write;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (v->mmio.is_write) {
		uint64_t val;

		/* RSP lives in the VMCS; the decoder indexes all 16 registers. */
		v->gpr[GPR_RSP] = vmcs_readl(VMCS_GUEST_RSP);
		val = mmio_store_value(&v->mmio, v->gpr);

		memcpy(run->mmio.data, &val, v->mmio.size);
		/* A store is done at the exit (the emulator writes back at once). */
		vcpu_advance_rip(v, v->mmio.len);
	} else {
		vcpu_wait_mmio_read(v, v->mmio.len);
	}
	return EXIT_TO_CONTROLLER;
}

/*
 * The decoded access (v->mmio) if the in-hypervisor irqchip owns @gpa (the
 * APIC page, the IOAPIC window): done here, RIP moves on. False when the
 * address is not the irqchip's, for the controller.
 */
static bool irqchip_mmio(struct vcpu *v, uint64_t gpa)
{
	uint64_t val;

	if (!v->apic)
		return false;
	if (v->mmio.is_write) {
		v->gpr[GPR_RSP] = vmcs_readl(VMCS_GUEST_RSP);
		val = mmio_store_value(&v->mmio, v->gpr);
		if (vcpu_irqchip_mmio_write(v, gpa, v->mmio.size, val) < 0)
			return false;
	} else {
		if (vcpu_irqchip_mmio_read(v, gpa, v->mmio.size, &val) < 0)
			return false;
		v->gpr[GPR_RSP] = vmcs_readl(VMCS_GUEST_RSP);
		mmio_complete_load(&v->mmio, val, v->gpr, v->mmio_mode);
		vmcs_writel(VMCS_GUEST_RSP, v->gpr[GPR_RSP]);
	}
	vcpu_advance_rip(v, v->mmio.len);
	return true;
}

/* ---- APIC virtualisation (vmx/irqchip.c) ------------------------------ */

/*
 * An APIC-page access the CPU does not virtualise (handle_apic_access): a
 * linear read or write during an instruction is emulated like the MMIO it
 * is; any other kind (event delivery, a fetch) has no instruction to
 * emulate.
 */
static enum exit_action handle_apic_access(struct vcpu *v)
{
	const struct vmx_exit_info *x = &v->exit;
	unsigned type = (x->qual >> 12) & 0xf;
	uint64_t gpa = (v->apic->apic_base & LAPIC_BASE_ADDR_MASK) + (x->qual & 0xfff);

	if (type > 1 || exit_event_valid(x->idt_info)) {
		uint64_t data[4] = {x->idt_info, x->full_reason, x->qual, gpa};

		v->inject.valid = false;
		log_err("vm %s vcpu %d: APIC page access of type %u at 0x%llx cannot be emulated",
			v->vm->name, v->id, type, (unsigned long long)gpa);
		return internal_error(v, KVM_INTERNAL_ERROR_DELIVERY_EV, 4, data);
	}
	return emulate_mmio(v, gpa);
}

/* handle_apic_write: trap-like, the value is in the page, RIP moved on. */
static enum exit_action handle_apic_write(struct vcpu *v)
{
	vcpu_apicv_write(v, (uint32_t)(v->exit.qual & 0xfff));
	return EXIT_RESUME;
}

/* handle_apic_eoi_induced: a level-triggered vector's EOI, already done by the CPU. */
static enum exit_action handle_virtualized_eoi(struct vcpu *v)
{
	vcpu_apicv_eoi(v, (uint8_t)(v->exit.qual & 0xff));
	return EXIT_RESUME;
}

static enum exit_action handle_ept_misconfig(struct vcpu *v)
{
	uint64_t data[2] = {EXIT_REASON_EPT_MISCONFIG, v->exit.gpa};

	log_err("vm %s vcpu %d: EPT misconfiguration at 0x%llx: a hypervisor bug", v->vm->name,
		v->id, (unsigned long long)data[1]);
	vmcs_dump();
	return internal_error(v, KVM_INTERNAL_ERROR_EMULATION, 2, data);
}

static const exit_handler handlers[EXIT_REASON_MAX] = {
    [EXIT_REASON_EXCEPTION_NMI] = handle_exception_nmi,
    [EXIT_REASON_EXTERNAL_INTERRUPT] = handle_external_interrupt,
    [EXIT_REASON_TRIPLE_FAULT] = handle_triple_fault,
    [EXIT_REASON_INIT] = handle_init,
    [EXIT_REASON_SIPI] = handle_sipi,
    [EXIT_REASON_INTERRUPT_WINDOW] = resume,
    [EXIT_REASON_NMI_WINDOW] = resume,
    [EXIT_REASON_TASK_SWITCH] = handle_task_switch,
    [EXIT_REASON_CPUID] = handle_cpuid,
    [EXIT_REASON_GETSEC] = inject_ud,
    [EXIT_REASON_HLT] = handle_hlt,
    [EXIT_REASON_INVD] = skip,
    [EXIT_REASON_RSM] = inject_ud,
    [EXIT_REASON_VMCALL] = handle_vmcall,
    [EXIT_REASON_VMCLEAR] = inject_ud,
    [EXIT_REASON_VMLAUNCH] = inject_ud,
    [EXIT_REASON_VMPTRLD] = inject_ud,
    [EXIT_REASON_VMPTRST] = inject_ud,
    [EXIT_REASON_VMREAD] = inject_ud,
    [EXIT_REASON_VMRESUME] = inject_ud,
    [EXIT_REASON_VMWRITE] = inject_ud,
    [EXIT_REASON_VMXOFF] = inject_ud,
    [EXIT_REASON_VMXON] = inject_ud,
    [EXIT_REASON_CR_ACCESS] = handle_cr_access,
    [EXIT_REASON_IO_INSTRUCTION] = handle_io,
    [EXIT_REASON_RDMSR] = handle_rdmsr,
    [EXIT_REASON_WRMSR] = handle_wrmsr,
    [EXIT_REASON_MWAIT] = inject_ud,
    [EXIT_REASON_MONITOR] = inject_ud,
    [EXIT_REASON_PAUSE] = skip,
    [EXIT_REASON_APIC_ACCESS] = handle_apic_access,
    [EXIT_REASON_VIRTUALIZED_EOI] = handle_virtualized_eoi,
    [EXIT_REASON_APIC_WRITE] = handle_apic_write,
    [EXIT_REASON_EPT_VIOLATION] = handle_ept_violation,
    [EXIT_REASON_EPT_MISCONFIG] = handle_ept_misconfig,
    [EXIT_REASON_INVEPT] = inject_ud,
    [EXIT_REASON_PREEMPTION_TIMER] = handle_preemption_timer,
    [EXIT_REASON_INVVPID] = inject_ud,
    [EXIT_REASON_WBINVD] = skip,
    [EXIT_REASON_XSETBV] = handle_xsetbv,
    [EXIT_REASON_VMFUNC] = inject_ud,
};

/*
 * Where nested VMX will decide whether an exit of an L2 guest goes to its
 * L1 hypervisor (KVM's nested_vmx_reflect_vmexit). No vCPU runs an L2
 * guest yet (loaded_vmcs is always vmcs01), so every exit is ours.
 */
static bool reflect_to_l1(struct vcpu *v)
{
	return false;
}

enum exit_action vmx_handle_exit(struct vcpu *v)
{
	unsigned reason = v->exit.reason;

	if (reflect_to_l1(v))
		return EXIT_RESUME;
	if (reason >= EXIT_REASON_MAX || !handlers[reason])
		return unhandled(v);
	return handlers[reason](v);
}
