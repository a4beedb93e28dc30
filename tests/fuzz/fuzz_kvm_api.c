// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the KVM API dispatcher (hv/kvm/kvm_api.c) and what it
 * reaches (VMs, memory slots, EPT, vCPUs, MSR and CPUID tables, the exit
 * handlers), built for the host on the fake hardware of tests/host/.
 *
 * Input: byte 0 picks the CPU model and allocation-failure injection; then
 * a sequence of steps, each (kind, VM handle, vCPU id, argument) drawn from
 * the bytes: KVM requests from a table of the known ones (with structured
 * arguments built to be hostile: unaligned and wrapping regions, counts
 * that disagree with the bytes, reserved bits) or a random request number
 * with random bytes of random length; KVM_RUN with a guest that takes its
 * exits from the input (each exit's information architecturally possible,
 * the guest's own state changes arbitrary); guest memory writes; VM
 * destruction; the in-hypervisor irqchip's requests (KVM_CREATE_IRQCHIP,
 * KVM_IRQ_LINE(_STATUS), KVM_SET_IRQCHIP, KVM_SET_LAPIC, KVM_SIGNAL_MSI,
 * KVM_SET_MP_STATE) with arguments mostly plausible, sometimes random.
 * Each KVM_RUN has a budget of host TSC ticks (vcpu->tsc_deadline, as the
 * boot loader gives its guests): a vCPU that halts in the hypervisor (HLT
 * with an irqchip) comes back with -EINTR once it is spent, as on a
 * signal. When the input ends every VM is destroyed.
 *
 * After each step, beyond "no crash" under ASan/UBSan:
 *  - a refused call (negative result; KVM_RUN only when refused for its
 *    sync-register masks) changed nothing observable: the VM record, the
 *    pages held, and for a vCPU its registers, special registers, events,
 *    debug registers, FPU, MSRs, CPUID table and (but after KVM_RUN, which
 *    stores the sync sets on its way out as upstream does) kvm_run page;
 *  - no VM entry failed on the controls the hypervisor writes (VMfailValid
 *    7, launch state; an exception the controller injected with an
 *    error-code bit that does not fit its vector excepted, as upstream
 *    does not check it either), none failed on guest state before the
 *    controller set any (KVM_SET_SREGS, _REGS, _VCPU_EVENTS, _DEBUGREGS,
 *    dirty sync sets), no page was freed that was not allocated, and no
 *    value reached the fake CPU that it refuses (a host fault stops);
 *  - results are >= 0 or a Linux errno;
 * and at the end the pages held are those of the boot: nothing leaked.
 *
 * The same entry point replays tests/fuzz/seeds/kvm_api/ and
 * tests/fuzz/regressions/kvm_api/ in the unit tests (tests/host/replay_main.c).
 * FUZZ_TRACE=1 prints one line per step (request, result, exit reason);
 * tests/fuzz/make_seeds.py writes the seeds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/kvm.h"
#include "abi/errno.h"
#include "abi/kvm_ioctls.h"
#include "hv/kvm/kvm_api.h"
#include "hv/lib/msr.h"
#include "vmx/vm.h"
#include "hv/lib/x86.h"
#include "tests/host/fake.h"
#include "vmx/exit_reasons.h"
#include "vmx/guest_regs.h"
#include "vmx/msr.h"
#include "vmx/vcpu.h"
#include "vmx/vmx_controls.h"
#include "vmx/vmx_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char fuzz_target_name[] = "kvm_api";

#define MAX_STEPS	    48
#define MAX_ENTRIES_PER_RUN 24
#define MEM_LIMIT_PAGES	    2048 /* 8 MiB of fake RAM */
/* A KVM_RUN's budget: a few of the fake's host ticks (sti_hlt_cli). */
#define RUN_BUDGET_TICKS (4 * 2000000ull)

/* ---- input ------------------------------------------------------------- */

static const uint8_t *in_p;
static size_t in_n;

static uint8_t u8(void)
{
	if (!in_n)
		return 0;
	in_n--;
	return *in_p++;
}

/* Little-endian, each byte read in its turn (operand order is unspecified). */
static uint16_t u16(void)
{
	uint16_t lo = u8();

	return (uint16_t)(lo | u8() << 8);
}

static uint32_t u32(void)
{
	uint32_t lo = u16();

	return lo | (uint32_t)u16() << 16;
}

static uint64_t u64(void)
{
	uint64_t lo = u32();

	return lo | (uint64_t)u32() << 32;
}

static void fill(void *buf, size_t len)
{
	size_t n = len < in_n ? len : in_n;

	memcpy(buf, in_p, n);
	memset((uint8_t *)buf + n, 0, len - n);
	in_p += n;
	in_n -= n;
}

/* A 64-bit value that is often interesting: boundaries, canonical edges. */
static uint64_t pick64(void)
{
	static const uint64_t v[] = {
	    0,
	    1,
	    0xfff,
	    0x1000,
	    0x100000,
	    0x200000,
	    0xfffff000,
	    0x100000000ull,
	    0x00007ffffffff000ull,
	    0x0000800000000000ull,
	    0xffff800000000000ull,
	    0x8000000000000000ull,
	    0xfffffffffffff000ull,
	    ~0ull,
	};
	uint8_t k = u8();

	if (k < 2 * sizeof(v) / sizeof(v[0]))
		return v[k % (sizeof(v) / sizeof(v[0]))] + (k & 1 ? 0 : u8());
	return u64();
}

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_kvm_api: invariant broken: %s\n", what);
	abort();
}

/* ---- the guest ----------------------------------------------------------- */

static unsigned run_entries;
static uint32_t run_vm; /* the VM of the KVM_RUN in progress */

/* Write guest-physical memory of the running VM, as the guest's own stores do. */
static void guest_store(uint64_t gpa, const void *buf, size_t len)
{
	struct vm *vm = kvm_api_vm(run_vm);

	if (vm)
		vm_write_gpa(vm, gpa, buf, len);
}

/*
 * Identity-mapped page tables for the three paging modes, and CR3 pointing
 * at the one the guest's mode uses: 4-level at 0x10000 (PDPT 0x11000, PD
 * 0x12000 with 2 MiB pages), PAE at 0x13000 (the same PD), 32-bit at
 * 0x14000 (4 MiB pages).
 */
static void guest_page_tables(void)
{
	uint64_t e, cr4 = fake_vmcs_get(VMCS_GUEST_CR4), efer = fake_vmcs_get(VMCS_GUEST_IA32_EFER);
	uint32_t e32;

	e = 0x11003;
	guest_store(0x10000, &e, 8);
	e = 0x12003;
	guest_store(0x11000, &e, 8);
	for (unsigned i = 0; i < 8; i++) {
		e = (uint64_t)i << 21 | 0x83;
		guest_store(0x12000 + 8 * i, &e, 8);
	}
	e = 0x12001;
	guest_store(0x13000, &e, 8);
	for (unsigned i = 0; i < 4; i++) {
		e32 = i << 22 | 0x83;
		guest_store(0x14000 + 4 * i, &e32, 4);
	}
	fake_vmcs_set(VMCS_GUEST_CR3, efer & EFER_LMA ? 0x10000
				      : cr4 & CR4_PAE ? 0x13000
						      : 0x14000);
}

/* An instruction that touches memory, at the guest's RIP (identity-mapped). */
static void guest_mmio_insn(void)
{
	static const uint8_t insns[][8] = {
	    {6, 0x89, 0x05, 0x00, 0x00, 0x20, 0x00}, /* mov [disp32], eax */
	    {6, 0x8b, 0x05, 0x00, 0x00, 0x20, 0x00}, /* mov eax, [disp32] */
	    {2, 0x88, 0x07},			     /* mov [edi], al */
	    {6, 0xc7, 0x00, 0x78, 0x56, 0x34, 0x12}, /* mov dword [eax], imm32 */
	    {3, 0x0f, 0xb6, 0x03},		     /* movzx eax, byte [ebx] */
	    {3, 0x66, 0x89, 0x01},		     /* mov [ecx], ax */
	    {3, 0x48, 0x89, 0x02},		     /* mov [rdx], rax */
	    {5, 0xa3, 0x00, 0x00, 0x20, 0x00},	     /* mov [moffs], eax */
	    {3, 0xc6, 0x00, 0x5a},		     /* mov byte [eax], imm8 */
	    {2, 0x8a, 0x06},			     /* mov al, [esi] */
	    {4, 0x0f, 0xb7, 0x04, 0x24},	     /* movzx eax, word [esp] */
	    {2, 0x87, 0x01},			     /* xchg [ecx], eax */
	};
	const uint8_t *i = insns[u8() % (sizeof(insns) / sizeof(insns[0]))];
	uint64_t rip;

	/* Often the guest has jumped into low memory (CS base 0) first. */
	if (u8() & 1) {
		fake_vmcs_set(VMCS_GUEST_CS_BASE, 0);
		fake_vmcs_set(VMCS_GUEST_CS_SEL, 0);
		fake_vmcs_set(VMCS_GUEST_RIP, 0x1000 + 16 * (uint64_t)u8());
	}
	rip = fake_vmcs_get(VMCS_GUEST_CS_BASE) + fake_vmcs_get(VMCS_GUEST_RIP);
	guest_store(rip & 0xffffffffull, i + 1, i[0]);
}

static const uint32_t msr_pick[] = {
    MSR_IA32_TSC,
    MSR_IA32_APIC_BASE,
    MSR_IA32_SYSENTER_CS,
    MSR_IA32_SYSENTER_ESP,
    MSR_IA32_SYSENTER_EIP,
    MSR_IA32_MISC_ENABLE,
    MSR_IA32_PAT,
    MSR_IA32_EFER,
    MSR_STAR,
    MSR_LSTAR,
    MSR_CSTAR,
    MSR_FMASK,
    MSR_FS_BASE,
    MSR_GS_BASE,
    MSR_KERNEL_GS_BASE,
    MSR_TSC_AUX,
    MSR_IA32_FEATURE_CONTROL,
    0x1b0,
    0x48,
    0x10a,
    0x6e0, /* IA32_TSC_DEADLINE */
    0x802, /* x2APIC ID */
    0x808, /* x2APIC TPR */
    0x80b, /* x2APIC EOI */
    0x830, /* x2APIC ICR */
    0x83f, /* x2APIC SELF_IPI */
};

static uint32_t pick_msr(void)
{
	uint8_t k = u8();

	if (k < 3 * sizeof(msr_pick) / sizeof(msr_pick[0]))
		return msr_pick[k % (sizeof(msr_pick) / sizeof(msr_pick[0]))];
	return u32();
}

static bool has_error_code(unsigned vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
}

/* An event being delivered when the exit came (IDT-vectoring information). */
static void vectoring(void)
{
	uint8_t k = u8(), v = u8();
	bool pe = fake_vmcs_get(VMCS_GUEST_CR0) & CR0_PE;
	uint32_t info = 0x80000000u;

	switch (k % 6) {
	case 0:
		info |= 0u << 8 | (v | 0x20);
		break;
	case 1:
		info |= 2u << 8 | 2;
		break;
	case 2:
		v %= 32;
		if (v == 2)
			v = 13;
		info |= 3u << 8 | v;
		if (pe && has_error_code(v)) {
			info |= 1u << 11;
			fake_vmcs_set(VMCS_IDT_VECTORING_ERROR_CODE, v == 8 ? 0 : u16());
		}
		break;
	case 3:
		info |= 4u << 8 | v;
		break;
	case 4:
		info |= 5u << 8 | 1;
		break;
	default:
		info |= 6u << 8 | (v & 1 ? 3 : 4);
		break;
	}
	if ((k % 6) >= 3)
		fake_vmcs_set(VMCS_EXIT_INSTRUCTION_LEN, 1 + u8() % 15);
	fake_vmcs_set(VMCS_IDT_VECTORING_INFO, info);
	/* An event was being delivered: no STI or MOV SS blocking was left. */
	fake_vmcs_set(VMCS_GUEST_INTERRUPTIBILITY,
		      fake_vmcs_get(VMCS_GUEST_INTERRUPTIBILITY) & ~3ull);
}

/* What the guest may change without an exit. */
static void guest_runs(struct fake_guest *g)
{
	uint8_t what = u8();

	if (what & 1) {
		unsigned r = u8() % GPR_COUNT;

		g->gpr[r] = pick64();
	}
	if (what & 2)
		fake_vmcs_set(VMCS_GUEST_RIP, pick64());
	if (what & 4)
		fake_vmcs_set(VMCS_GUEST_RSP, pick64());
	if (what & 8) {
		/* POPF and friends: any flags but the reserved ones. */
		uint64_t rf = (u32() & 0x3f7fd5) | 2;

		fake_vmcs_set(VMCS_GUEST_RFLAGS, rf);
		if (!(rf & RFLAGS_IF))
			fake_vmcs_set(VMCS_GUEST_INTERRUPTIBILITY,
				      fake_vmcs_get(VMCS_GUEST_INTERRUPTIBILITY) & ~1ull);
	}
	if (what & 16) {
		/* STI / MOV SS / IRET: a consistent interruptibility state. */
		uint32_t intr = u8() & 0xb;
		bool if_set = fake_vmcs_get(VMCS_GUEST_RFLAGS) & RFLAGS_IF;

		if ((intr & 3) == 3)
			intr &= ~1u;
		if (!if_set)
			intr &= ~1u;
		fake_vmcs_set(VMCS_GUEST_INTERRUPTIBILITY, intr);
	}
	if (what & 32) {
		/* Guest-owned CR0 bits (CLTS, MOV CR0 that keeps the owned bits). */
		uint64_t mask = fake_vmcs_get(VMCS_CR0_GUEST_HOST_MASK) | 0xffffffff00000000ull;
		uint64_t cr0 = fake_vmcs_get(VMCS_GUEST_CR0);

		fake_vmcs_set(VMCS_GUEST_CR0, (cr0 & mask) | (u32() & ~mask & 0xe005003e));
	}
	if (what & 64) {
		uint8_t t = u8();

		fake_set_cr2(pick64());
		if (t & 1)
			guest_page_tables();
		else
			fake_vmcs_set(VMCS_GUEST_CR3, u32() & ~0xfffull);
	}
	if (what & 128) {
		/* x87/SSE work: registers change, MXCSR stays valid. */
		uint8_t *fpu = fake_fpu_image_mut();
		uint32_t mxcsr = u16() & 0xffbf;

		fill(fpu + 32, 16);
		memcpy(fpu + 24, &mxcsr, 4);
	}
}

static uint32_t exit_insn(uint32_t reason)
{
	fake_vmcs_set(VMCS_EXIT_INSTRUCTION_LEN, 1 + u8() % 15);
	return reason;
}

static uint32_t fuzz_guest(struct fake_guest *g)
{
	uint8_t k;

	if (++run_entries > MAX_ENTRIES_PER_RUN || !in_n)
		return exit_insn(EXIT_REASON_HLT);
	guest_runs(g);
	k = u8();
	/* Exits that can come during event delivery say what was being delivered. */
	if ((k & 0x80) && (k & 0x3f) < 64 &&
	    ((k & 0x3f) == 0 || (k & 0x3f) == 8 || ((k & 0x3f) >= 24 && (k & 0x3f) <= 27)))
		vectoring();
	switch (k & 0x3f) {
	case 0: {
		/* An intercepted exception (in the bitmap) or a host NMI. */
		uint32_t bitmap = (uint32_t)fake_vmcs_get(VMCS_EXCEPTION_BITMAP);
		uint8_t v = u8() % 32;

		if (bitmap & (1u << v)) {
			bool err = has_error_code(v) && (fake_vmcs_get(VMCS_GUEST_CR0) & CR0_PE);

			fake_vmcs_set(VMCS_EXIT_INTR_INFO, 0x80000000u |
							       (v == 3 || v == 4 ? 6u : 3u) << 8 |
							       v | (err ? 1u << 11 : 0));
			if (err)
				fake_vmcs_set(VMCS_EXIT_INTR_ERROR_CODE, u16());
			if (v == 3 || v == 4)
				fake_vmcs_set(VMCS_EXIT_INSTRUCTION_LEN, 1 + u8() % 2);
		} else {
			fake_vmcs_set(VMCS_EXIT_INTR_INFO, 0x80000202u);
		}
		return EXIT_REASON_EXCEPTION_NMI;
	}
	case 1:
	case 2:
		return EXIT_REASON_EXTERNAL_INTERRUPT;
	case 3:
		return EXIT_REASON_TRIPLE_FAULT;
	case 4:
		return EXIT_REASON_INIT;
	case 5:
		fake_vmcs_set(VMCS_EXIT_QUALIFICATION, u8());
		return EXIT_REASON_SIPI;
	case 6:
		return EXIT_REASON_INTERRUPT_WINDOW;
	case 7:
		return EXIT_REASON_NMI_WINDOW;
	case 8:
		fake_vmcs_set(VMCS_EXIT_QUALIFICATION, u32());
		return exit_insn(EXIT_REASON_TASK_SWITCH);
	case 9:
		g->gpr[GPR_RAX] = u8() & 1 ? u32() : u8() % 0x20;
		g->gpr[GPR_RCX] = u8() % 4;
		return exit_insn(EXIT_REASON_CPUID);
	case 10:
	case 11:
		return exit_insn(EXIT_REASON_HLT);
	case 12: {
		/* VMCALL: a hypercall number and its arguments. */
		g->gpr[GPR_RAX] = u8() % 6;
		g->gpr[GPR_RBX] = u8() & 1 ? pick64() : u16();
		g->gpr[GPR_RCX] = u8() & 1 ? pick64() : u8();
		return exit_insn(EXIT_REASON_VMCALL);
	}
	case 13:
	case 14:
	case 15: {
		/* MOV to CR0/CR4 (sometimes CR3/CR8, MOV from, CLTS, LMSW). */
		uint8_t t = u8();
		unsigned cr = t & 4 ? ((t & 8) ? 3 : 8) : ((t & 1) ? 4 : 0);
		unsigned type = t & 0x30 ? (t >> 4 & 3) : 0;
		unsigned reg = u8() % 16;

		g->gpr[reg] = pick64();
		fake_vmcs_set(VMCS_EXIT_QUALIFICATION,
			      cr | type << 4 | reg << 8 | (uint64_t)u16() << 16);
		return exit_insn(EXIT_REASON_CR_ACCESS);
	}
	case 16:
	case 17:
	case 18:
	case 19: {
		/* IN/OUT, INS/OUTS, with REP. */
		uint8_t t = u8();
		unsigned size = t & 1 ? 1 : t & 2 ? 2 : 4;
		uint64_t q = (uint64_t)u16() << 16 | (size - 1) | (t & 4 ? 8 : 0) |
			     (t & 8 ? 16 : 0) | (t & 16 ? 32 : 0);

		fake_vmcs_set(VMCS_EXIT_QUALIFICATION, q);
		if (t & 8) {
			fake_vmcs_set(VMCS_GUEST_LINEAR_ADDRESS, pick64());
			fake_vmcs_set(VMCS_EXIT_INSTRUCTION_INFO, (u8() % 3) << 7);
			if (t & 16)
				g->gpr[GPR_RCX] = u8() & 1 ? pick64() : u16();
		}
		return exit_insn(EXIT_REASON_IO_INSTRUCTION);
	}
	case 20:
	case 21:
		g->gpr[GPR_RCX] = pick_msr();
		return exit_insn(EXIT_REASON_RDMSR);
	case 22:
	case 23:
		g->gpr[GPR_RCX] = pick_msr();
		g->gpr[GPR_RAX] = u32();
		g->gpr[GPR_RDX] = u8() & 1 ? u32() : (u8() & 1 ? 0xffff8000u : 0);
		return exit_insn(EXIT_REASON_WRMSR);
	case 24:
	case 25:
	case 26: {
		/* EPT violation: a GPA (often unbacked) and an access. */
		uint64_t gpa = u8() & 1 ? pick64() & 0xfffffffffull : (uint64_t)u32();

		fake_vmcs_set(VMCS_GUEST_PHYSICAL_ADDRESS, gpa);
		fake_vmcs_set(VMCS_GUEST_LINEAR_ADDRESS, pick64());
		fake_vmcs_set(VMCS_EXIT_QUALIFICATION, (u8() & 7) | 0x80);
		if (u8() & 1)
			guest_mmio_insn();
		return EXIT_REASON_EPT_VIOLATION;
	}
	case 27:
		fake_vmcs_set(VMCS_GUEST_PHYSICAL_ADDRESS, u32());
		return EXIT_REASON_EPT_MISCONFIG;
	case 28:
		g->gpr[GPR_RCX] = u8() & 3 ? 0 : u32();
		g->gpr[GPR_RAX] = u8();
		g->gpr[GPR_RDX] = u8() & 3 ? 0 : u32();
		return exit_insn(EXIT_REASON_XSETBV);
	case 29:
		return EXIT_REASON_PREEMPTION_TIMER;
	case 30:
		return exit_insn(EXIT_REASON_PAUSE);
	case 31: {
		static const uint32_t ud[] = {
		    EXIT_REASON_GETSEC,	 EXIT_REASON_INVD,     EXIT_REASON_RSM,
		    EXIT_REASON_VMCLEAR, EXIT_REASON_VMLAUNCH, EXIT_REASON_VMPTRLD,
		    EXIT_REASON_VMPTRST, EXIT_REASON_VMREAD,   EXIT_REASON_VMRESUME,
		    EXIT_REASON_VMWRITE, EXIT_REASON_VMXOFF,   EXIT_REASON_VMXON,
		    EXIT_REASON_MWAIT,	 EXIT_REASON_MONITOR,  EXIT_REASON_INVEPT,
		    EXIT_REASON_INVVPID, EXIT_REASON_WBINVD,   EXIT_REASON_VMFUNC,
		};

		return exit_insn(ud[u8() % (sizeof(ud) / sizeof(ud[0]))]);
	}
	case 32:
		/* VM-entry failure: invalid guest state, MSR loading, machine check. */
		return 0x80000000u |
		       (u8() & 1 ? EXIT_REASON_INVALID_GUEST_STATE : EXIT_REASON_MSR_LOADING);
	case 33: {
		/* Any other basic reason; those whose information the cases above
		 * build (hardware never leaves it undefined) become unknown ones. */
		uint32_t r = u8();

		if (r == EXIT_REASON_EXCEPTION_NMI || r == EXIT_REASON_SIPI ||
		    r == EXIT_REASON_TASK_SWITCH || r == EXIT_REASON_CR_ACCESS ||
		    r == EXIT_REASON_IO_INSTRUCTION || r == EXIT_REASON_EPT_VIOLATION ||
		    r == EXIT_REASON_EPT_MISCONFIG)
			r = 71;
		fake_vmcs_set(VMCS_EXIT_QUALIFICATION, u64());
		return exit_insn(r);
	}
	default:
		return exit_insn(EXIT_REASON_HLT);
	}
}

/* ---- observable state -------------------------------------------------- */

#define VIEW_MSRS  64
#define VIEW_CPUID 128

struct vcpu_view {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events events;
	struct kvm_debugregs dregs;
	struct kvm_fpu fpu;
	uint64_t msrs[(sizeof(struct kvm_msrs) + VIEW_MSRS * sizeof(struct kvm_msr_entry)) / 8];
	uint64_t
	    cpuid[(sizeof(struct kvm_cpuid2) + VIEW_CPUID * sizeof(struct kvm_cpuid_entry2) + 7) /
		  8];
	uint8_t run[sizeof(struct kvm_run)];
};

static long vcpu_io(uint32_t vm, uint32_t id, unsigned long nr, void *arg, size_t len)
{
	return kvm_api_ioctl(KVM_TARGET_VCPU, vm, id, nr, arg, len);
}

/* Everything KVM_GET_* tells about a vCPU (TSC aside: it moves). */
static bool view_vcpu(uint32_t vm, uint32_t id, struct vcpu_view *v)
{
	struct kvm_run *run = kvm_api_run_page(vm, id);
	struct kvm_msrs *m = (struct kvm_msrs *)v->msrs;
	struct kvm_cpuid2 *c = (struct kvm_cpuid2 *)v->cpuid;
	unsigned n = 0;

	if (!run)
		return false;
	memset(v, 0, sizeof(*v));
	for (unsigned i = 0; i < vcpu_msr_count && n < VIEW_MSRS; i++)
		if (vcpu_msr_list[i] != MSR_IA32_TSC)
			m->entries[n++].index = vcpu_msr_list[i];
	m->nmsrs = n;
	c->nent = VIEW_CPUID;
	if (vcpu_io(vm, id, KVM_GET_REGS, &v->regs, sizeof(v->regs)) ||
	    vcpu_io(vm, id, KVM_GET_SREGS, &v->sregs, sizeof(v->sregs)) ||
	    vcpu_io(vm, id, KVM_GET_VCPU_EVENTS, &v->events, sizeof(v->events)) ||
	    vcpu_io(vm, id, KVM_GET_DEBUGREGS, &v->dregs, sizeof(v->dregs)) ||
	    vcpu_io(vm, id, KVM_GET_FPU, &v->fpu, sizeof(v->fpu)) ||
	    vcpu_io(vm, id, KVM_GET_CPUID2, c,
		    sizeof(*c) + VIEW_CPUID * sizeof(struct kvm_cpuid_entry2)))
		fail("a KVM_GET_* on a live vCPU failed");
	if (vcpu_io(vm, id, KVM_GET_MSRS, m, sizeof(*m) + n * sizeof(m->entries[0])) < 0)
		fail("KVM_GET_MSRS of the index list failed");
	memcpy(v->run, run, sizeof(v->run));
	return true;
}

struct world {
	bool vm_live[KVM_API_MAX_VMS + 1];
	uint8_t vm[KVM_API_MAX_VMS + 1][sizeof(struct vm)];
	uint64_t pages;
};

static void view_world(struct world *w)
{
	memset(w, 0, sizeof(*w));
	for (uint32_t h = 1; h <= KVM_API_MAX_VMS; h++) {
		struct vm *vm = kvm_api_vm(h);

		w->vm_live[h] = vm != NULL;
		if (vm)
			memcpy(w->vm[h], vm, sizeof(struct vm));
	}
	w->pages = fake_mm_pages_in_use();
}

/* ---- steps ------------------------------------------------------------- */

enum kind {
	K_SYS_RANDOM,
	K_VM_RANDOM,
	K_VCPU_RANDOM,
	K_CREATE_VM,
	K_SET_REGION,
	K_CREATE_VCPU,
	K_SET_MSRS,
	K_GET_MSRS,
	K_SET_CPUID,
	K_GET_CPUID,
	K_SUPPORTED_CPUID,
	K_MSR_LIST,
	K_SET_SREGS,
	K_SET_REGS,
	K_SET_EVENTS,
	K_SET_DEBUGREGS,
	K_SET_FPU,
	K_GUEST_DEBUG,
	K_INTERRUPT,
	K_NMI,
	K_ENABLE_CAP,
	K_CHECK_EXT,
	K_RUN,
	K_RUN_B,
	K_RUN_C,
	K_MEM_WRITE,
	K_DESTROY,
	K_GET_ANY,
	/* The irqchip's (appended: the seeds' kind bytes keep their meaning). */
	K_CREATE_IRQCHIP,
	K_IRQ_LINE,
	K_SET_IRQCHIP,
	K_SET_LAPIC,
	K_SIGNAL_MSI,
	K_SET_MP_STATE,
	/* MSR policy (appended as well). */
	K_MSR_FILTER,
	K_COUNT
};

static const unsigned long known_requests[] = {
    KVM_GET_API_VERSION,
    KVM_CREATE_VM,
    KVM_GET_MSR_INDEX_LIST,
    KVM_CHECK_EXTENSION,
    KVM_GET_VCPU_MMAP_SIZE,
    KVM_GET_SUPPORTED_CPUID,
    KVM_CREATE_VCPU,
    KVM_SET_USER_MEMORY_REGION,
    KVM_RUN,
    KVM_GET_REGS,
    KVM_SET_REGS,
    KVM_GET_SREGS,
    KVM_SET_SREGS,
    KVM_INTERRUPT,
    KVM_SET_GUEST_DEBUG,
    KVM_GET_MSRS,
    KVM_SET_MSRS,
    KVM_GET_FPU,
    KVM_SET_FPU,
    KVM_SET_CPUID2,
    KVM_GET_CPUID2,
    KVM_NMI,
    KVM_GET_VCPU_EVENTS,
    KVM_SET_VCPU_EVENTS,
    KVM_GET_DEBUGREGS,
    KVM_SET_DEBUGREGS,
    KVM_ENABLE_CAP,
    KVM_GET_MP_STATE,
    KVM_SET_MP_STATE,
    KVM_X86_SET_MSR_FILTER,
    KVM_GET_NESTED_STATE,
    KVM_SET_NESTED_STATE,
    KVM_GET_MSR_FEATURE_INDEX_LIST,
    KVM_GET_XSAVE,
    KVM_SET_XSAVE,
    KVM_GET_XCRS,
    KVM_SET_XCRS,
    KVM_GET_TSC_KHZ,
    KVM_SET_TSC_KHZ,
    KVM_CREATE_IRQCHIP,
    KVM_IRQ_LINE,
    KVM_IRQ_LINE_STATUS,
    KVM_GET_IRQCHIP,
    KVM_SET_IRQCHIP,
    KVM_SIGNAL_MSI,
    KVM_GET_LAPIC,
    KVM_SET_LAPIC,
    KVM_GET_XSAVE2,
};

static uint8_t argbuf[70000] __attribute__((aligned(16)));

/* A sync-register mask: mostly known sets, sometimes anything. */
static uint64_t sync_mask(void)
{
	uint8_t k = u8();

	if (k & 0x80)
		return u64();
	return k & 0x7 ? (uint64_t)(k & 7) | (uint64_t)(u8() & 7) << 16 : 0;
}

static size_t arg_region(void)
{
	struct kvm_userspace_memory_region *r = (void *)argbuf;
	static const uint64_t sizes[] = {0,	   0x1000,   0x2000,   0x10000,
					 0x200000, 0x201000, 0x400000, 0x1000000000ull};
	uint8_t k = u8();

	r->slot = k & 0x80 ? u32() : k % 10;
	r->flags = k & 0x40 ? u32() : u8() & 3;
	r->guest_phys_addr = pick64();
	if (u8() & 1)
		r->guest_phys_addr &= ~0xfffull;
	r->memory_size = u8() & 0x80 ? pick64() : sizes[u8() % (sizeof(sizes) / sizeof(sizes[0]))];
	r->userspace_addr = u64();
	return sizeof(*r);
}

static size_t arg_msrs(void)
{
	struct kvm_msrs *m = (void *)argbuf;
	uint8_t k = u8();
	uint32_t n = k & 0x80 ? u16() : k % 9;
	size_t len = sizeof(*m) + (size_t)(n < 300 ? n : 300) * sizeof(struct kvm_msr_entry);

	m->nmsrs = n;
	for (uint32_t i = 0; i < n && i < 300; i++) {
		m->entries[i].index = pick_msr();
		m->entries[i].reserved = 0;
		m->entries[i].data = pick64();
	}
	if (k & 0x40)
		len = u16() % sizeof(argbuf); /* bytes that disagree with the count */
	return len;
}

static size_t arg_cpuid(void)
{
	struct kvm_cpuid2 *t = (void *)argbuf;
	uint8_t k = u8();
	uint32_t n = k & 0x80 ? u16() : k % 90;
	size_t len = sizeof(*t) + (size_t)(n < 300 ? n : 300) * sizeof(struct kvm_cpuid_entry2);

	t->nent = n;
	for (uint32_t i = 0; i < n && i < 300; i++) {
		struct kvm_cpuid_entry2 *e = &t->entries[i];

		e->function = u8() & 1 ? u8() % 0x20 : u8() & 1 ? 0x80000000u | u8() % 9 : u32();
		e->index = u8() % 4;
		e->flags = u8() & 1;
		e->eax = u32();
		e->ebx = u32();
		e->ecx = u32();
		e->edx = u32();
	}
	if (k & 0x40)
		len = u16() % sizeof(argbuf);
	return len;
}

/* KVM_SET_SREGS: the vCPU's own, with a few fields changed. */
static size_t arg_sregs(uint32_t vm, uint32_t id)
{
	struct kvm_sregs *s = (void *)argbuf;
	uint8_t k = u8();

	if (vcpu_io(vm, id, KVM_GET_SREGS, s, sizeof(*s)) || (k & 0x80))
		fill(s, sizeof(*s));
	if (k & 1)
		s->cr0 ^= (uint64_t)1 << (u8() % 64);
	if (k & 2)
		s->cr4 ^= (uint64_t)1 << (u8() % 64);
	if (k & 4)
		s->efer ^= (uint64_t)1 << (u8() % 16);
	if (k & 8)
		s->cr3 = pick64();
	if (k & 16) {
		struct kvm_segment *seg = &s->cs + u8() % 8;

		fill(seg, sizeof(*seg));
	}
	if (k & 32) {
		unsigned w = u8() % 4;

		s->interrupt_bitmap[w] = u64();
	}
	if (k & 64)
		s->apic_base = pick64();
	return sizeof(*s);
}

static size_t arg_events(void)
{
	struct kvm_vcpu_events *e = (void *)argbuf;
	uint8_t k = u8();

	memset(e, 0, sizeof(*e));
	if (k & 0x80) {
		fill(e, sizeof(*e));
		return sizeof(*e);
	}
	e->exception.injected = k & 1;
	e->exception.nr = u8() % 34;
	e->exception.has_error_code = k >> 1 & 1;
	e->exception.error_code = u8() & 1 ? u32() : u16();
	e->interrupt.injected = k >> 2 & 1;
	e->interrupt.nr = u8();
	e->interrupt.soft = k >> 3 & 1;
	e->interrupt.shadow = u8() & 3;
	e->nmi.injected = k >> 4 & 1;
	e->nmi.pending = k >> 5 & 1;
	e->nmi.masked = k >> 6 & 1;
	e->flags = u8() & 0x1f;
	return sizeof(*e);
}

static size_t arg_fpu(void)
{
	struct kvm_fpu *f = (void *)argbuf;

	fill(f, sizeof(*f));
	if (u8() & 1)
		f->mxcsr &= 0xffbf;
	return sizeof(*f);
}

static size_t arg_debugregs(void)
{
	struct kvm_debugregs *d = (void *)argbuf;

	memset(d, 0, sizeof(*d));
	for (int i = 0; i < 4; i++)
		d->db[i] = pick64();
	d->dr6 = u8() & 1 ? pick64() : u32();
	d->dr7 = u8() & 1 ? pick64() : u32();
	d->flags = u8() & 0x80 ? u32() : 0;
	return sizeof(*d);
}

/* KVM_SET_IRQCHIP: a chip's own state with a few bytes changed, or anything. */
static size_t arg_irqchip(uint32_t vm)
{
	struct kvm_irqchip *c = (void *)argbuf;
	uint8_t k = u8();

	memset(c, 0, sizeof(*c));
	c->chip_id = k & 0x80 ? u32() : k % 4;
	if (kvm_api_ioctl(KVM_TARGET_VM, vm, 0, KVM_GET_IRQCHIP, c, sizeof(*c)) || (k & 0x40))
		fill(&c->chip, sizeof(c->chip));
	for (unsigned n = k >> 3 & 7; n; n--) {
		uint16_t off = u16() % sizeof(c->chip);

		((uint8_t *)&c->chip)[off] = u8();
	}
	return sizeof(*c);
}

/* KVM_SET_LAPIC: the vCPU's page with registers changed, or anything. */
static size_t arg_lapic(uint32_t vm, uint32_t id)
{
	static const uint16_t regs[] = {0x020, 0x080, 0x0d0, 0x0e0, 0x0f0, 0x100, 0x180, 0x200,
					0x300, 0x310, 0x320, 0x350, 0x360, 0x370, 0x380, 0x3e0};
	struct kvm_lapic_state *s = (void *)argbuf;
	uint8_t k = u8();

	if (vcpu_io(vm, id, KVM_GET_LAPIC, s, sizeof(*s)) || (k & 0x80)) {
		fill(s, sizeof(*s));
		return sizeof(*s);
	}
	for (unsigned n = k & 7; n; n--) {
		uint32_t v, off;

		if (u8() & 1) {
			v = u32();
		} else {
			v = u8();			    /* a vector, */
			v |= (uint32_t)(u8() & 0x17) << 12; /* delivery status, mask, timer mode */
		}
		off = regs[u8() % 16];
		/* the other words of ISR, TMR and IRR (only theirs: 0x3e0 + 0x70 is past 1 KiB) */
		if ((k & 0x40) && (off == 0x100 || off == 0x180 || off == 0x200))
			off += 0x10 * (u8() % 8);
		memcpy(s->regs + off, &v, 4);
	}
	return sizeof(*s);
}

/* KVM_SIGNAL_MSI: mostly a message for the APICs (0xfee00000), any data. */
/*
 * A KVM_X86_SET_MSR_FILTER record as the wire carries it: a few ranges
 * around the MSRs the guest steps use, random flags, sizes near the
 * limits, bitmaps of random bytes; sometimes one byte short or long.
 */
static size_t arg_msr_filter(void)
{
	struct kvm_msr_filter f;
	size_t len;

	memset(&f, 0, sizeof(f));
	f.flags = u8() & 0x40 ? u32() : u8() & 1;
	for (unsigned i = 0, n = u8() % 5; i < n; i++) {
		struct kvm_msr_filter_range *r = &f.ranges[u8() % KVM_MSR_FILTER_MAX_RANGES];

		r->flags = u8() & 0x40 ? u32() : u8() % 4;
		r->base = u8() & 1 ? pick_msr() : u32();
		r->nmsrs =
		    u8() & 0x40 ? u32() : (uint32_t)(u8() % 3 ? u8() : 0x3000 + u8() % 3 - 1);
	}
	memcpy(argbuf, &f, sizeof(f));
	len = kvm_msr_filter_wire_len(&f);
	if (len > sizeof(argbuf))
		len = sizeof(argbuf);
	fill(argbuf + sizeof(f), len - sizeof(f));
	if (u8() % 16 == 0)
		len += u8() & 1 ? 1 : (size_t)-1;
	return len;
}

static size_t arg_msi(void)
{
	struct kvm_msi *m = (void *)argbuf;
	uint8_t k = u8();

	memset(m, 0, sizeof(*m));
	if (k & 0x80) {
		m->address_lo = u32();
	} else {
		m->address_lo = 0xfee00000u | (uint32_t)u8() << 12; /* destination */
		m->address_lo |= u8() & 0xc;			    /* logical, redirection hint */
	}
	m->address_hi = k & 0x40 ? u32() : 0;
	if (k & 0x20) {
		m->data = u32();
	} else {
		m->data = u8();			       /* vector */
		m->data |= (uint32_t)(u8() & 7) << 8;  /* delivery mode */
		m->data |= (uint32_t)(u8() & 1) << 15; /* level */
	}
	m->flags = k & 0x10 ? u32() : k & 1;
	m->devid = u32();
	return sizeof(*m);
}

/* Give the vCPU's next KVM_RUN its budget (it may halt in the hypervisor). */
static void run_budget(uint32_t vm, uint32_t id)
{
	struct vm *v = kvm_api_vm(vm);

	for (unsigned i = 0; v && i < v->n_vcpus; i++)
		if (v->vcpus[i]->id == (int)id)
			v->vcpus[i]->tsc_deadline = rdtsc() + RUN_BUDGET_TICKS;
}

/* The request number for a random step: known ones, near misses, anything. */
static unsigned long random_request(void)
{
	uint8_t k = u8();
	unsigned long nr =
	    known_requests[u8() % (sizeof(known_requests) / sizeof(known_requests[0]))];

	if (k < 128)
		return nr;
	if (k < 192)
		return nr ^ (1ul << (u8() % 32)); /* wrong direction, size or number */
	return u32();
}

static void prepare_run(uint32_t vm, uint32_t id)
{
	struct kvm_run *run = kvm_api_run_page(vm, id);
	uint8_t k;

	if (!run)
		return;
	k = u8();
	run->immediate_exit = k & 1;
	run->request_interrupt_window = k >> 1 & 1;
	if (k & 4) {
		run->kvm_valid_regs = sync_mask();
		run->kvm_dirty_regs = sync_mask();
	}
	if (k & 8) {
		/* Sync sets as the controller edits them: some bytes anywhere. */
		unsigned n = u8() % 8;

		for (unsigned i = 0; i < n; i++) {
			uint16_t off = u16() % sizeof(run->s);

			((uint8_t *)&run->s)[off] = u8();
		}
	}
	if (k & 16) {
		/* Data for an IN or MMIO load the exit left waiting. */
		fill((uint8_t *)run + 4096, 8);
		fill(run->mmio.data, 8);
	}
}

/*
 * An exception the controller injected whose error-code bit does not fit its
 * vector fails VM entry as on upstream KVM (which does not check it either):
 * after one is accepted, such a failure is the controller's, not a bug.
 */
static bool events_tainted;

static void note_events(const struct kvm_vcpu_events *e)
{
	if (e->exception.injected &&
	    (!!e->exception.has_error_code != has_error_code(e->exception.nr) ||
	     e->exception.nr == 3 || e->exception.nr == 4))
		events_tainted = true;
}

/*
 * Guest state only the controller can make invalid (KVM_SET_SREGS and
 * friends, as on upstream KVM, fail VM entry later): until one of those
 * calls succeeds, every VM entry that fails on guest state is the
 * hypervisor's doing (its reset state, or an exit handler's update).
 */
static bool state_tainted;

static struct vcpu_view before_v, after_v;
static struct world before_w, after_w;
static uint32_t peek_vm, peek_id;
static bool had_vcpu;

/* The "before" views of the world and of the vCPU the step names. */
static void snap_before(void)
{
	view_world(&before_w);
	had_vcpu = view_vcpu(peek_vm, peek_id, &before_v);
}

static long do_step(uint32_t *vm_out, uint32_t *id_out, unsigned long *nr_out, bool *checked)
{
	uint8_t kind = u8() % K_COUNT;
	uint32_t vm = u8() % (KVM_API_MAX_VMS + 2), id = u8() % 6;
	enum kvm_target target = KVM_TARGET_VCPU;
	unsigned long nr = 0;
	size_t len = 0;
	uint64_t value;

	*checked = true;
	switch (kind) {
	case K_SYS_RANDOM:
	case K_VM_RANDOM:
	case K_VCPU_RANDOM:
		target = kind == K_SYS_RANDOM  ? KVM_TARGET_SYSTEM
			 : kind == K_VM_RANDOM ? KVM_TARGET_VM
					       : KVM_TARGET_VCPU;
		if (u8() == 0xff)
			target = (enum kvm_target)u8();
		nr = random_request();
		if (nr == KVM_RUN || nr == KVM_CREATE_VM || nr == KVM_CREATE_VCPU)
			*checked = false; /* no refusal rule for what may succeed */
		len = u16() % 5000;
		fill(argbuf, len);
		break;
	case K_CREATE_VM:
		target = KVM_TARGET_SYSTEM;
		nr = KVM_CREATE_VM;
		value = u8() < 240 ? 0 : u64();
		len = u8() & 1 ? 8 : 0;
		memcpy(argbuf, &value, 8);
		break;
	case K_SET_REGION:
		target = KVM_TARGET_VM;
		nr = KVM_SET_USER_MEMORY_REGION;
		len = arg_region();
		break;
	case K_CREATE_VCPU:
		target = KVM_TARGET_VM;
		nr = KVM_CREATE_VCPU;
		value = u8() < 240 ? u8() % 6 : u64();
		len = u8() < 250 ? 8 : u8() % 9;
		memcpy(argbuf, &value, 8);
		break;
	case K_SET_MSRS:
	case K_GET_MSRS:
		nr = kind == K_SET_MSRS ? KVM_SET_MSRS : KVM_GET_MSRS;
		len = arg_msrs();
		break;
	case K_SET_CPUID:
	case K_GET_CPUID:
		nr = kind == K_SET_CPUID ? KVM_SET_CPUID2 : KVM_GET_CPUID2;
		len = arg_cpuid();
		break;
	case K_SUPPORTED_CPUID:
		target = KVM_TARGET_SYSTEM;
		nr = KVM_GET_SUPPORTED_CPUID;
		len = arg_cpuid();
		break;
	case K_MSR_LIST:
		target = KVM_TARGET_SYSTEM;
		nr = KVM_GET_MSR_INDEX_LIST;
		((struct kvm_msr_list *)argbuf)->nmsrs = u8();
		len = sizeof(struct kvm_msr_list) + (u8() % 40) * 4;
		break;
	case K_SET_SREGS:
		nr = KVM_SET_SREGS;
		len = arg_sregs(vm, id);
		break;
	case K_SET_REGS:
		nr = KVM_SET_REGS;
		len = sizeof(struct kvm_regs);
		fill(argbuf, len);
		break;
	case K_SET_EVENTS:
		nr = KVM_SET_VCPU_EVENTS;
		len = arg_events();
		break;
	case K_SET_DEBUGREGS:
		nr = KVM_SET_DEBUGREGS;
		len = arg_debugregs();
		break;
	case K_SET_FPU:
		nr = KVM_SET_FPU;
		len = arg_fpu();
		break;
	case K_GUEST_DEBUG:
		nr = KVM_SET_GUEST_DEBUG;
		len = sizeof(struct kvm_guest_debug);
		memset(argbuf, 0, len);
		((struct kvm_guest_debug *)argbuf)->control = u8() & 1 ? u32() : u8() & 7;
		break;
	case K_INTERRUPT:
		nr = KVM_INTERRUPT;
		len = 4;
		value = u8() & 1 ? u32() : u8();
		memcpy(argbuf, &value, 4);
		break;
	case K_NMI:
		nr = KVM_NMI;
		break;
	case K_ENABLE_CAP:
		target = u8() & 1 ? KVM_TARGET_VM : KVM_TARGET_VCPU;
		nr = KVM_ENABLE_CAP;
		len = sizeof(struct kvm_enable_cap);
		fill(argbuf, len);
		break;
	case K_CHECK_EXT:
		target = u8() & 1 ? KVM_TARGET_SYSTEM : KVM_TARGET_VM;
		nr = KVM_CHECK_EXTENSION;
		value = u8() & 1 ? u8() : u64();
		len = u8() % 10;
		memcpy(argbuf, &value, 8);
		break;
	case K_RUN:
	case K_RUN_B:
	case K_RUN_C:
		nr = KVM_RUN;
		run_vm = vm;
		prepare_run(vm, id);
		run_budget(vm, id);
		if (kvm_api_run_page(vm, id) &&
		    (kvm_api_run_page(vm, id)->kvm_dirty_regs & KVM_SYNC_X86_EVENTS))
			events_tainted = true; /* whatever kvm_run.s holds goes in */
		if (kvm_api_run_page(vm, id) && kvm_api_run_page(vm, id)->kvm_dirty_regs)
			state_tainted = true;
		snap_before(); /* the run page as the caller left it */
		run_entries = 0;
		*checked = false;
		break;
	case K_MEM_WRITE: {
		/* What the channel's MEM_WRITE does: code and data for the guest. */
		struct vm *v = kvm_api_vm(vm);
		uint64_t gpa = u8() & 1 ? u16() : pick64();

		len = u8() % 64;
		fill(argbuf, len);
		if (v)
			vm_write_gpa(v, gpa, argbuf, len);
		*checked = false;
		*vm_out = vm;
		*nr_out = 0;
		return 0;
	}
	case K_DESTROY:
		*checked = false;
		*vm_out = vm;
		*nr_out = 0;
		return kvm_api_destroy_vm(vm);
	case K_GET_ANY: {
		static const unsigned long gets[] = {KVM_GET_REGS, KVM_GET_SREGS,
						     KVM_GET_VCPU_EVENTS, KVM_GET_DEBUGREGS,
						     KVM_GET_FPU};

		nr = gets[u8() % 5];
		len = u8() < 250 ? HV_IOC_SIZE(nr) : u8();
		break;
	}
	case K_CREATE_IRQCHIP:
		target = KVM_TARGET_VM;
		nr = KVM_CREATE_IRQCHIP;
		len = u8() < 250 ? 0 : u8() % 9;
		fill(argbuf, len);
		break;
	case K_IRQ_LINE: {
		struct kvm_irq_level *l = (void *)argbuf;
		uint8_t k = u8();

		target = KVM_TARGET_VM;
		nr = k & 1 ? KVM_IRQ_LINE_STATUS : KVM_IRQ_LINE;
		l->irq = k & 0x80 ? u32() : u8() % 26;
		l->level = k & 0x40 ? u32() : k >> 1 & 1;
		len = sizeof(*l);
		break;
	}
	case K_SET_IRQCHIP:
		target = KVM_TARGET_VM;
		nr = KVM_SET_IRQCHIP;
		len = arg_irqchip(vm);
		break;
	case K_SET_LAPIC:
		nr = KVM_SET_LAPIC;
		len = arg_lapic(vm, id);
		break;
	case K_SIGNAL_MSI:
		target = KVM_TARGET_VM;
		nr = KVM_SIGNAL_MSI;
		len = arg_msi();
		break;
	case K_SET_MP_STATE:
		nr = KVM_SET_MP_STATE;
		value = u8() & 0x80 ? u32() : u8() % 12;
		memcpy(argbuf, &value, 4);
		len = 4;
		break;
	case K_MSR_FILTER:
		target = KVM_TARGET_VM;
		nr = KVM_X86_SET_MSR_FILTER;
		len = arg_msr_filter();
		break;
	}
	*vm_out = vm;
	*id_out = id;
	*nr_out = nr;
	if (target == KVM_TARGET_SYSTEM)
		*vm_out = 0;
	return kvm_api_ioctl(target, vm, id, nr, argbuf, len);
}

/* Name the part of two vCPU views that differs, and where. */
static void explain(const struct vcpu_view *a, const struct vcpu_view *b)
{
	static const struct {
		const char *name;
		size_t off, len;
	} parts[] = {
#define PART(f) {#f, offsetof(struct vcpu_view, f), sizeof(((struct vcpu_view *)0)->f)}
	    PART(regs), PART(sregs), PART(events), PART(dregs),
	    PART(fpu),	PART(msrs),  PART(cpuid),  PART(run),
#undef PART
	};

	for (unsigned i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		const uint8_t *x = (const uint8_t *)a + parts[i].off,
			      *y = (const uint8_t *)b + parts[i].off;

		for (size_t j = 0; j < parts[i].len; j++)
			if (x[j] != y[j]) {
				fprintf(stderr, "  %s differs from byte %zu: 0x%02x -> 0x%02x\n",
					parts[i].name, j, x[j], y[j]);
				break;
			}
	}
}

static void check_invariants(long rc, uint32_t vm, uint32_t id, unsigned long nr, bool checked,
			     bool had_vcpu)
{
	if (rc < -4095)
		fail("a result below -4095 is not an errno");
	if (fake_mm_bad_frees)
		fail("a page was freed that was not allocated (see the log)");
	if (fake_vmx_stats.fail_controls &&
	    !(events_tainted && fake_vmx_stats.last_failure_check == FAKE_CHECK_ERROR_CODE_BIT))
		fail(fake_vmx_stats.last_failure);
	if (fake_vmx_stats.fail_launch_state)
		fail("VMLAUNCH/VMRESUME did not match the VMCS launch state");
	if (fake_vmx_stats.fail_guest_state && !state_tainted)
		fail(fake_vmx_stats.last_failure);
	if (rc >= 0 || !checked)
		return;
	/* Refused: nothing observable changed. */
	view_world(&after_w);
	if (memcmp(&before_w, &after_w, sizeof(before_w))) {
		fprintf(stderr, "request 0x%lx refused with %ld\n", nr, rc);
		fail("a refused call changed a VM record or the pages held");
	}
	if (had_vcpu) {
		if (!view_vcpu(vm, id, &after_v))
			fail("a refused call destroyed a vCPU");
		/* A refused KVM_RUN still stores the sync sets and the run fields
		 * (upstream's "out:" path); the vCPU itself must not change. */
		if (nr == KVM_RUN)
			memcpy(after_v.run, before_v.run, sizeof(after_v.run));
		if (memcmp(&before_v, &after_v, sizeof(before_v))) {
			fprintf(stderr, "request 0x%lx refused with %ld: vm %u vcpu %u changed\n",
				nr, rc, vm, id);
			explain(&before_v, &after_v);
			fail("a refused call changed a vCPU's state");
		}
	}
}

/* The fake CPU models an input can pick: SKYLAKE, ICELAKE, OLD, SAPPHIRE (PKS). */
#define FUZZ_MODELS 4
static enum fake_model booted = (enum fake_model) - 1;
static uint64_t sync_supported;
static bool trace; /* FUZZ_TRACE set: one line per step on stderr */
static uint64_t boot_pages;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t cfg;

	in_p = data;
	in_n = size;
	trace = getenv("FUZZ_TRACE") != NULL;
	cfg = u8();
	if ((enum fake_model)(cfg % FUZZ_MODELS) != booted) {
		for (uint32_t h = 1; h <= KVM_API_MAX_VMS; h++)
			kvm_api_destroy_vm(h);
		fake_machine_boot((enum fake_model)(cfg % FUZZ_MODELS));
		booted = (enum fake_model)(cfg % FUZZ_MODELS);
		boot_pages = fake_mm_pages_in_use();
	}
	fake_mm_set_limit(boot_pages + MEM_LIMIT_PAGES);
	fake_mm_fail_nth((cfg & 0xe0) == 0xe0 ? 1 + u8() : 0);
	fake_mm_bad_frees = 0;
	events_tainted = false;
	state_tainted = false;
	fake_vmx_reset_counters();
	fake_guest = fuzz_guest;
	{
		uint64_t cap = KVM_CAP_SYNC_REGS;

		sync_supported = (uint64_t)kvm_api_ioctl(KVM_TARGET_SYSTEM, 0, 0,
							 KVM_CHECK_EXTENSION, &cap, sizeof(cap));
	}

	for (unsigned step = 0; step < MAX_STEPS && in_n; step++) {
		const uint8_t *peek = in_p;
		size_t peek_n = in_n;
		uint32_t vm = 0, id = 0;
		unsigned long nr = 0;
		bool checked;
		long rc;

		/* Look ahead at the step's handles to take the "before" view. */
		(void)u8();
		peek_vm = u8() % (KVM_API_MAX_VMS + 2);
		peek_id = u8() % 6;
		in_p = peek;
		in_n = peek_n;
		snap_before();
		fake_vmx_reset_counters();
		rc = do_step(&vm, &id, &nr, &checked);
		if (nr == KVM_SET_VCPU_EVENTS && rc == 0)
			note_events((const struct kvm_vcpu_events *)argbuf);
		if (rc >= 0 && (nr == KVM_SET_SREGS || nr == KVM_SET_REGS ||
				nr == KVM_SET_VCPU_EVENTS || nr == KVM_SET_DEBUGREGS))
			state_tainted = true;
		if (nr == KVM_RUN && rc == -HV_EINVAL) {
			/* Unknown sync-register bits: refused before anything. */
			struct kvm_run *run = kvm_api_run_page(vm, id);

			checked =
			    run && ((run->kvm_valid_regs | run->kvm_dirty_regs) & ~sync_supported);
		}
		if (trace)
			fprintf(stderr, "kvm_api: step %u: request 0x%lx vm %u vcpu %u -> %ld%s\n",
				step, nr, vm, id, rc,
				nr == KVM_RUN && kvm_api_run_page(vm, id) ? " (see exit_reason)"
									  : "");
		if (trace && nr == KVM_RUN && kvm_api_run_page(vm, id))
			fprintf(stderr,
				"kvm_api:   exit_reason %u after %u entries (data 0x%llx 0x%llx "
				"0x%llx 0x%llx)\n",
				kvm_api_run_page(vm, id)->exit_reason, run_entries,
				(unsigned long long)kvm_api_run_page(vm, id)->internal.data[0],
				(unsigned long long)kvm_api_run_page(vm, id)->internal.data[1],
				(unsigned long long)kvm_api_run_page(vm, id)->internal.data[2],
				(unsigned long long)kvm_api_run_page(vm, id)->internal.data[3]);
		check_invariants(rc, peek_vm, peek_id, nr, checked, had_vcpu);
	}
	for (uint32_t h = 1; h <= KVM_API_MAX_VMS; h++)
		kvm_api_destroy_vm(h);
	if (fake_mm_pages_in_use() != boot_pages) {
		fprintf(stderr, "fuzz_kvm_api: %lld pages held after every VM was destroyed\n",
			(long long)(fake_mm_pages_in_use() - boot_pages));
		fail("pages leaked");
	}
	if (fake_mm_bad_frees)
		fail("a page was freed that was not allocated");
	fake_mm_fail_nth(0);
	return 0;
}
