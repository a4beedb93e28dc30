/* SPDX-License-Identifier: MIT */
/*
 * A virtual CPU: its VMCS, guest registers, the struct kvm_run its
 * controller sees, and the events waiting to be injected.
 */
#ifndef VMX_VCPU_H
#define VMX_VCPU_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/kvm.h"
#include "hv/x86emu/insn_decode.h"
#include "vmx/vm.h"
#include "vmx/cpuid.h"
#include "vmx/guest_regs.h"
#include "vmx/msr.h"

/* KVM's layout: the PIO data page follows struct kvm_run. */
#define VCPU_RUN_PAGES	2
#define VCPU_PIO_OFFSET 4096

/*
 * One VMCS: a vCPU owns vmcs01 (its own guest); a later nested-VMX issue
 * adds the VMCS of an L2 guest, and a VMCS may link a shadow VMCS.
 */
struct vmcs {
	uint64_t pa;	     /* physical address of the 4 KiB region */
	bool launched;	     /* VMLAUNCH succeeded since the last VMCLEAR */
	int cpu;	     /* the CPU it is active on, or -1 */
	struct vmcs *shadow; /* a linked shadow VMCS, or NULL */
};

/*
 * What a VM exit reported, read from the VMCS once per exit (vcpu_run)
 * and read by the handlers through the accessors in vmx/exit.h.
 */
struct vmx_exit_info {
	uint32_t reason;		/* basic exit reason (bits 15:0) */
	uint32_t full_reason;		/* with the entry-failure and other flags */
	uint64_t qual;			/* exit qualification */
	uint32_t intr_info, intr_error; /* VM-exit interruption information */
	uint32_t idt_info, idt_error;	/* IDT-vectoring information */
	uint32_t insn_len, insn_info;
	uint64_t gla, gpa; /* guest-linear and guest-physical address */
};

/*
 * An exit that waits on the controller is finished by the next KVM_RUN:
 * complete_io is called first (KVM's complete_userspace_io). It returns
 * 0 to go on entering the guest.
 */
typedef void (*vcpu_completion)(struct vcpu *v);

struct vcpu {
	struct vm *vm;
	int id;
	uint64_t gpr[GPR_COUNT];
	struct vmcs vmcs01;	  /* the vCPU's own guest */
	struct vmcs *loaded_vmcs; /* the one VM entries use */
	uint16_t vpid;
	struct kvm_run *run; /* VCPU_RUN_PAGES pages */
	uint64_t io_bitmap_a, io_bitmap_b, msr_bitmap;
	uint32_t proc_ctls, entry_ctls; /* cached: they change at run time */
	struct vmx_exit_info exit;	/* the last exit, decoded once */

	/* What the next KVM_RUN completes before entering the guest. */
	vcpu_completion complete_io;
	uint64_t io_rip;     /* linear RIP of the instruction that waits */
	uint8_t pending_len; /* instruction length to skip */
	uint8_t io_size;
	struct { /* an INS waiting for its data */
		uint64_t la, count;
		uint8_t addr_size; /* 2, 4 or 8 bytes */
		bool rep, down;
	} ins;
	struct mmio_insn mmio;
	enum insn_cpu_mode mmio_mode;

	/* Next VM entry's event: an exception or a re-injected delivery. */
	struct {
		bool valid;
		bool reinject; /* from IDT-vectoring information */
		uint32_t info, error, len;
	} inject;
	bool irq_pending, nmi_pending;
	uint8_t irq_vector;
	bool triple_fault; /* the next KVM_RUN return is KVM_EXIT_SHUTDOWN */
	uint8_t cr8;	   /* the task-priority register (CR8 exits) */

	/*
	 * State the VMCS does not switch: in the CPU while this vCPU is
	 * current (vcpu_load), saved here when another one takes the CPU.
	 */
	uint64_t star, lstar, cstar, fmask, kernel_gs_base, tsc_aux;
	uint64_t apic_base, xcr0, cr2;
	uint64_t db[4], dr6; /* DR7 is in the VMCS */
	/*
	 * DR6/DR7 as KVM_SET_DEBUGREGS gave them, and what the hardware got
	 * (fixed bits added): KVM_GET_DEBUGREGS returns the given values until
	 * the guest changes the registers, as KVM keeps vcpu->arch.dr6/dr7.
	 */
	struct {
		uint64_t dr6, dr7, dr6_hw, dr7_hw;
	} dbg_set;
	void *xstate; /* x87/SSE/AVX save area (vmx/xstate.h) */

	uint32_t guest_debug; /* KVM_GUESTDBG_* in force */
	struct {	      /* KVM_GUESTDBG_USE_HW_BP */
		bool on;
		uint64_t db[4];	    /* the debugger's DR0-3, in the CPU while on */
		uint64_t guest_dr7; /* the guest's DR7, back in the VMCS when off */
	} hwbp;
	bool tf_by_debugger;  /* RFLAGS.TF is set for KVM_GUESTDBG_SINGLESTEP */
	bool has_run;	      /* a VM entry succeeded once (kvm_vcpu_has_run) */
	bool singlestep_exit; /* an emulated instruction stepped: KVM_EXIT_DEBUG */
	uint8_t bp_len;	      /* length of the INT3 that last exited */

	struct cpuid_table cpuid; /* KVM_SET_CPUID2; the supported set at first */
	struct vcpu_msrs msrs;	  /* other MSR state (vmx/msr.c, vcpu_msr_reset) */

	/*
	 * The in-hypervisor local APIC (vmx/irqchip.h), NULL without an
	 * irqchip; then also the MP state and the INIT/SIPI it received.
	 */
	struct lapic *apic;
	/*
	 * APIC virtualisation for this vCPU (vmx/irqchip.c): its register page
	 * is the virtual-APIC page; the secondary controls and EOI-exit bitmap
	 * as last written; whether its APIC was an enabled xAPIC at 0xfee00000
	 * and whether KVM_GUESTDBG_BLOCKIRQ held RVI at 0, at the last entry.
	 */
	bool apicv, apicv_xapic, apicv_blockirq;
	uint32_t proc2_ctls;
	uint64_t eoi_exit[4];
	uint32_t mp_state; /* KVM_MP_STATE_* */
	bool init_pending, sipi_pending;
	uint8_t sipi_vector;
	uint64_t tsc_offset;	   /* VMCS_TSC_OFFSET, also while not loaded */
	uint32_t preemption_timer; /* the value last written to the VMCS */

	volatile bool stop_request; /* KVM_RUN returns KVM_EXIT_INTR */
	uint64_t tsc_deadline;	    /* 0, or stop once the TSC passes it (checked
				     * before each entry; the preemption timer
				     * makes sure entries keep coming) */
	uint64_t exit_counts[EXIT_REASON_MAX];
};

int vcpu_create(struct vm *vm, int id, struct vcpu **out);
void vcpu_destroy(struct vcpu *v);

/*
 * Called at the end of every preemption-timer slice while a vCPU runs (the
 * controller channel reads its link there), or NULL.
 */
extern void (*vcpu_slice_hook)(void);
/*
 * Between two VM entries of @v: run vcpu_slice_hook, which may answer
 * other vCPUs' ioctls (loading their VMCS), then load @v's VMCS again.
 */
void vcpu_serve_channel(struct vcpu *v);

/* KVM_RUN: enter the guest until an exit its controller must see. */
int vcpu_run(struct vcpu *v);

int vcpu_get_regs(struct vcpu *v, struct kvm_regs *r);
int vcpu_set_regs(struct vcpu *v, const struct kvm_regs *r);
int vcpu_get_sregs(struct vcpu *v, struct kvm_sregs *s);
int vcpu_set_sregs(struct vcpu *v, const struct kvm_sregs *s);

/*
 * KVM_SET_GUEST_DEBUG: KVM_GUESTDBG_USE_SW_BP makes INT3 exit with
 * KVM_EXIT_DEBUG; KVM_GUESTDBG_INJECT_BP hands that #BP back to the guest.
 * Other controls: -EINVAL.
 */
int vcpu_set_guest_debug(struct vcpu *v, const struct kvm_guest_debug *dbg);

/* KVM_GET/SET_FPU, KVM_GET/SET_DEBUGREGS, KVM_GET/SET_VCPU_EVENTS. */
int vcpu_get_fpu(struct vcpu *v, struct kvm_fpu *f);
int vcpu_set_fpu(struct vcpu *v, const struct kvm_fpu *f);
int vcpu_get_debugregs(struct vcpu *v, struct kvm_debugregs *d);
/* KVM_GET/SET_XSAVE (kvm_vcpu_ioctl_x86_get/set_xsave). */
int vcpu_get_xsave(struct vcpu *v, struct kvm_xsave *x);
int vcpu_set_xsave(struct vcpu *v, const struct kvm_xsave *x);
/* KVM_GET/SET_XCRS (kvm_vcpu_ioctl_x86_get/set_xcrs): XCR0 only. */
int vcpu_get_xcrs(struct vcpu *v, struct kvm_xcrs *x);
int vcpu_set_xcrs(struct vcpu *v, const struct kvm_xcrs *x);
/*
 * __kvm_set_xcr(): whether @xcr0 may be XCR0 of this vCPU (x87 always, AVX
 * with SSE, AVX-512 whole and with AVX, only what its CPUID leaf 0xD offers).
 */
bool vcpu_xcr0_valid(struct vcpu *v, uint64_t xcr0);
/* Set XCR0 (already checked), in the CPU too when the vCPU is loaded. */
void vcpu_set_xcr0(struct vcpu *v, uint64_t xcr0);
/*
 * KVM_GET/SET_MP_STATE without an in-kernel irqchip: always RUNNABLE, and
 * only RUNNABLE may be set (kvm_arch_vcpu_ioctl_set_mpstate).
 */
int vcpu_get_mp_state(struct vcpu *v, struct kvm_mp_state *m);
int vcpu_set_mp_state(struct vcpu *v, const struct kvm_mp_state *m);
int vcpu_set_debugregs(struct vcpu *v, const struct kvm_debugregs *d);
int vcpu_get_events(struct vcpu *v, struct kvm_vcpu_events *e);
int vcpu_set_events(struct vcpu *v, const struct kvm_vcpu_events *e);

/* KVM_INTERRUPT: an external interrupt, injected when the guest allows. */
int vcpu_interrupt(struct vcpu *v, uint32_t vector);
void vcpu_queue_nmi(struct vcpu *v);

/* For exit handlers (vmx/exit.c). */
struct guest_walk_ctx;
/* The guest's paging state for walks; pdptes is storage for PAE. */
void vcpu_walk_ctx(struct vcpu *v, struct guest_walk_ctx *ctx, uint64_t pdptes[4]);
/* Walk-access flags for the current CPL (WALK_USER at CPL 3). */
unsigned vcpu_walk_user(struct vcpu *v);
/* String I/O: advance RSI or RDI and RCX after count elements, then RIP
 * unless a REP has more to do. */
void vcpu_string_io_done(struct vcpu *v, unsigned index_reg, uint64_t count, uint8_t size,
			 uint8_t addr_size, bool rep, bool down, uint8_t insn_len);
void vcpu_load(struct vcpu *v);
/*
 * An exit the controller completes: the next KVM_RUN finishes the
 * instruction (OUT: RIP moves on; IN, INS, MMIO load: the data goes in),
 * unless the controller moved RIP meanwhile.
 */
void vcpu_wait_out(struct vcpu *v, uint8_t size, uint8_t insn_len);
void vcpu_wait_in(struct vcpu *v, uint8_t size, uint8_t insn_len);
void vcpu_wait_ins(struct vcpu *v, uint8_t size, uint8_t insn_len);
/* A user-space MSR exit (KVM_EXIT_X86_RDMSR/WRMSR) waits for the controller's msr.error/data. */
void vcpu_wait_msr(struct vcpu *v, uint8_t insn_len);
void vcpu_wait_mmio_read(struct vcpu *v, uint8_t insn_len);
/*
 * An instruction the hypervisor emulated is done: RIP moves past it (@len
 * bytes), the STI/MOV-SS shadow ends, and with RFLAGS.TF set a single-step
 * #DB follows, as kvm_skip_emulated_instruction does.
 */
void vcpu_advance_rip(struct vcpu *v, uint64_t len);
void vcpu_skip_instruction(struct vcpu *v);
void vcpu_queue_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error);
unsigned vcpu_cpl(struct vcpu *v);
enum insn_cpu_mode vcpu_code_mode(struct vcpu *v);
/* The guest's linear RIP (CS base + RIP, truncated outside 64-bit mode). */
uint64_t vcpu_linear_rip(struct vcpu *v);
/* Fill kvm_run for KVM_EXIT_DEBUG: the exception, linear RIP, DR6 and DR7. */
void vcpu_debug_exit(struct vcpu *v, uint8_t vector, uint64_t dr6);
/* kvm_run's if_flag, ready_for_interrupt_injection, cr8, apic_base, flags. */
void vcpu_post_run_save(struct vcpu *v);
/* KVM_RUN's checks of kvm_run before the guest runs: cr8 (-EINVAL). */
int vcpu_pre_run(struct vcpu *v);
int vcpu_set_cr0(struct vcpu *v, uint64_t val);
int vcpu_set_cr4(struct vcpu *v, uint64_t val);
void vcpu_set_proc_ctls(struct vcpu *v, uint32_t ctls);
/* The TPR as CR8 sees it: the APIC's with an irqchip, else the vCPU's own. */
uint8_t vcpu_get_cr8(struct vcpu *v);
void vcpu_set_cr8(struct vcpu *v, uint8_t cr8);
/* INIT (kvm_vcpu_reset with init_event) and a SIPI's start (kvm_vcpu_deliver_sipi_vector). */
void vcpu_init_event(struct vcpu *v);
void vcpu_deliver_sipi(struct vcpu *v, uint8_t vector);
/* The VMCS TSC offset (vcpu->tsc_offset mirrors it). */
void vcpu_set_tsc_offset(struct vcpu *v, uint64_t offset);
void vcpu_sync_long_mode(struct vcpu *v, uint64_t efer);

#define INTR_INFO_VALID		    (1u << 31)
#define INTR_INFO_DELIVER_ERROR	    (1u << 11)
#define INTR_TYPE_EXT_INTR	    (0u << 8)
#define INTR_TYPE_NMI		    (2u << 8)
#define INTR_TYPE_HW_EXCEPTION	    (3u << 8)
#define INTR_TYPE_SW_INTR	    (4u << 8)
#define INTR_TYPE_PRIV_SW_EXCEPTION (5u << 8)
#define INTR_TYPE_SW_EXCEPTION	    (6u << 8)
#define INTR_TYPE_MASK		    (7u << 8)

#define VEC_DE	0
#define VEC_DB	1
#define VEC_NMI 2
#define VEC_BP	3
#define VEC_UD	6
#define VEC_DF	8
#define VEC_GP	13
#define VEC_PF	14
#define VEC_MC	18

#endif
