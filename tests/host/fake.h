/* SPDX-License-Identifier: MIT */
/*
 * The fake hardware the hypervisor's VM code runs on in host tests and
 * fuzz targets (built with -Itests/host/fake -I., see tests/host/host.mk):
 *
 *  - a CPU (fake_cpu.c): control, debug and model-specific registers,
 *    CPUID from a model, a TSC that moves only when told to, XCR0 and an
 *    x87/SSE/AVX register file. What real hardware would refuse (a
 *    non-canonical base into WRMSR, a reserved XCR0 bit, an unknown MSR,
 *    a DR6 write with bits 63:32) is a host fault: the program stops with
 *    a message, as the hypervisor would with a #GP in root mode;
 *  - a VMX unit (fake_vmx.c): VMXON, VMCLEAR, VMPTRLD, VMREAD and VMWRITE
 *    on VMCS regions that live in the regions themselves, indexed by field
 *    encoding; INVEPT and INVVPID; VM entry (vmx_enter) with the entry
 *    checks on the event-injection controls and a few on guest state, then
 *    a guest the test supplies, which edits the VMCS and returns an exit;
 *  - page allocation over a fake physical address space (fake_mm.c);
 *  - the console, hv_stop() and the CPU tables (fake_platform.c).
 */
#ifndef TESTS_HOST_FAKE_H
#define TESTS_HOST_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the CPU -------------------------------------------------------- */

/*
 * Only FAKE_MODEL_SAPPHIRE can give guests PKS: its VMX allows the "load
 * IA32_PKRS" VM-entry (bit 22) and VM-exit (bit 29) controls, and only
 * there do the VMCS fields GUEST_IA32_PKRS and HOST_IA32_PKRS exist (on
 * the other models VMREAD/VMWRITE of them is VM-instruction error 12, as
 * on a CPU without the controls). FAKE_MODEL_ICELAKE shows PKS in CPUID
 * and CR4_FIXED1 and has IA32_PKRS, but its VMX lacks both controls: a CPU
 * (or a nested hypervisor's virtual one) that cannot give PKS to guests.
 */
enum fake_model {
	FAKE_MODEL_SKYLAKE,  /* XSAVE (x87, SSE, AVX), no LA57, no PKS */
	FAKE_MODEL_ICELAKE,  /* also LA57, PKU, AVX-512 state; PKS without the PKRS controls */
	FAKE_MODEL_OLD,	     /* FXSAVE only, no RDTSCP, no VPID, no 2 MiB EPT */
	FAKE_MODEL_SAPPHIRE, /* ICELAKE plus the load-IA32_PKRS entry and exit controls */
};

/* The host's IA32_PKRS on the models that have the MSR (a value a test can tell). */
#define FAKE_HOST_PKRS 0x55555554ull

/*
 * Reset the CPU to @model (VMX off, no VMCS current, no guest). Then
 * vmx_init() finds the model's capabilities through the fakes.
 */
void fake_cpu_init(enum fake_model model);
enum fake_model fake_cpu_model(void);

/* A host fault (what would be a #GP or #UD in root mode): stop. */
void fake_host_fault(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* The host TSC moves only through this (and one tick per rdtsc()). */
void fake_tsc_advance(uint64_t ticks);

/* MSR writes that reached the CPU, counted; the last one remembered. */
struct fake_wrmsr_log {
	unsigned count;
	uint32_t last_msr;
	uint64_t last_val;
};
extern struct fake_wrmsr_log fake_wrmsr_log;
/* The CPU's current value of an MSR the model has (host fault if none). */
uint64_t fake_msr_value(uint32_t msr);
/*
 * Set an MSR the model has (host fault if none) as the CPU itself does
 * (the IA32_PKRS loads of VM entry and exit), or as a test does to change
 * the model between fake_cpu_init() and vmx_init(), e.g. a capability
 * MSR: no check, not counted in fake_wrmsr_log.
 */
void fake_msr_set(uint32_t msr, uint64_t val);

/* The CPU registers the hypervisor switches per vCPU. */
uint64_t fake_dr(unsigned n); /* 0-3, 6 */
uint64_t fake_cr2(void);
void fake_set_cr2(uint64_t v);
uint64_t fake_xcr0(void);

/* The x87/SSE image (FXSAVE layout) the fake CPU holds. */
const uint8_t *fake_fpu_image(void);
uint8_t *fake_fpu_image_mut(void);

/* xstate_host.c: a save/restore instruction of vmx/xstate.c on @area. */
void fake_fpu_insn(const char *text, const void *area);

/* ---- the VMX unit -------------------------------------------------- */

/* Fields never written read as this (truncated to the field's width). */
#define FAKE_VMCS_UNSET 0x0bad0bad0bad0badull
/* Exit-information fields the exit did not define read as this. */
#define FAKE_VMCS_UNDEFINED 0x0dd00dd00dd00dd0ull

/* The current VMCS (0: none). */
uint64_t fake_vmcs_current(void);
/* Read/write a field of the current VMCS, whatever its type (a test's
 * view: no VMX instruction, no check). */
uint64_t fake_vmcs_get(uint32_t enc);
void fake_vmcs_set(uint32_t enc, uint64_t val);
bool fake_vmcs_written(uint32_t enc);
/* Same, of the VMCS in the region at @pa (current or not). */
uint64_t fake_vmcs_get_at(uint64_t pa, uint32_t enc);
void fake_vmcs_set_at(uint64_t pa, uint32_t enc, uint64_t val);

/* What VM entry delivered to the guest. */
struct fake_event {
	bool valid;
	uint32_t info, error, len;
};

struct fake_guest;
/*
 * The guest: called once per successful VM entry with the registers
 * vmx_enter() was given; it edits them and the current VMCS (guest state
 * and the exit-information fields it wants), and returns the exit reason
 * (bit 31 for a VM-entry failure). fake_vmx has already cleared or marked
 * undefined every exit-information field.
 *
 * IA32_PKRS (SDM 26.3.2.1, 27.3.1, 27.5.1): an entry with the "load
 * IA32_PKRS" control puts GUEST_IA32_PKRS in the CPU's MSR, which the guest
 * sees while it runs (fake_msr_value); what the guest leaves in that field
 * is its PKRS at the exit (a WRMSR passed through). Every exit on a CPU
 * with the entry control saves the MSR into the field (without the control
 * that is the host's value), then the "load IA32_PKRS" exit control puts
 * HOST_IA32_PKRS back in the MSR.
 */
typedef uint32_t (*fake_guest_fn)(struct fake_guest *g);

struct fake_guest {
	uint64_t *gpr;		    /* GPR_* indices; RSP is in the VMCS */
	struct fake_event injected; /* delivered by this entry */
	unsigned entry;		    /* entries since fake_vmx_reset_counters() */
	void *opaque;
};

extern fake_guest_fn fake_guest;
extern void *fake_guest_opaque;

/*
 * VM entries refused by the entry checks. A control-field failure
 * (VMfailValid 7) is the hypervisor's bug; a guest-state failure (exit
 * reason 33 with bit 31) may be the controller's doing.
 */
struct fake_vmx_stats {
	unsigned entries; /* successful ones */
	unsigned launches, resumes;
	unsigned fail_launch_state; /* VMfailValid 4 or 5 */
	unsigned fail_controls;	    /* VMfailValid 7 */
	unsigned fail_host_state;   /* VMfailValid 8 */
	unsigned fail_guest_state;  /* exit reason 33 */
	unsigned window_exits;	    /* interrupt/NMI window exits made by the fake */
	unsigned invept, invvpid;
	char last_failure[160];	     /* which check, and the values */
	uint32_t last_failure_check; /* FAKE_CHECK_* of the last failure */
};
extern struct fake_vmx_stats fake_vmx_stats;
void fake_vmx_reset_counters(void);
/* VMX off (VMXON region freed), no current VMCS, no guest, counters cleared
 * (fake_cpu_init does it). */
void fake_vmx_reset(void);

/* Entry checks, numbered so a harness can tell a known failure. */
enum fake_check {
	FAKE_CHECK_NONE,
	FAKE_CHECK_INTR_TYPE,	     /* reserved interruption type */
	FAKE_CHECK_INTR_VECTOR,	     /* vector wrong for the type */
	FAKE_CHECK_INTR_RESERVED,    /* bits 30:12 */
	FAKE_CHECK_ERROR_CODE_BIT,   /* deliver-error-code where none is, or the reverse */
	FAKE_CHECK_ERROR_CODE_WIDTH, /* bits 31:16 of the error code */
	FAKE_CHECK_INSN_LEN,	     /* soft event length not 1..15 */
	FAKE_CHECK_CONTROLS,	     /* a control bit the CPU does not allow */
	FAKE_CHECK_GUEST_CR,	     /* CR0/CR4 fixed bits, PG without PE */
	FAKE_CHECK_GUEST_EFER,	     /* LMA/LME against IA-32e mode, PAE */
	FAKE_CHECK_GUEST_RFLAGS,     /* reserved bits */
	FAKE_CHECK_GUEST_INTR,	     /* interruptibility against IF and the event */
	FAKE_CHECK_GUEST_ACTIVITY,
	FAKE_CHECK_GUEST_PKRS, /* load IA32_PKRS with bits 63:32 of the field set */
	FAKE_CHECK_HOST_PKRS,  /* VMfailValid 8: likewise, the host-state field */
};

/* ---- memory -------------------------------------------------------- */

/* Pages allocated and not freed; blocks likewise. */
uint64_t fake_mm_pages_in_use(void);
unsigned fake_mm_blocks_in_use(void);
/* Frees of something not allocated (or not as allocated), logged. */
extern unsigned fake_mm_bad_frees;
/* Memory the fake machine has, in pages (allocations beyond fail). */
void fake_mm_set_limit(uint64_t pages);
/* The n-th allocation from now fails (0: none fails). */
void fake_mm_fail_nth(unsigned n);
/* Is [pa, pa + len) inside one live block? */
bool fake_mm_valid(uint64_t pa, uint64_t len);

/* ---- the platform --------------------------------------------------- */

/* hv_stop()/hv_halt()/hv_power_off(): abort() unless a hook is set. */
extern void (*fake_power_off_hook)(void);
/* sti_nop_cli(): an interrupt waiting for the window is taken. */
extern void (*fake_irq_hook)(void);
extern unsigned fake_sti_windows;
/*
 * sti_hlt_cli(): the CPU waits for the next interrupt (a halted vCPU of a VM
 * with an irqchip). Each wait moves the TSC on by fake_hlt_ticks (the host
 * tick; 1 ms at the fake's 2 GHz unless set), then calls fake_hlt_hook (what
 * that interrupt brings: a kick, an IRQ line). More than FAKE_HLT_LIMIT
 * waits with no VM entry between them is a host fault: nothing would ever
 * wake the CPU. fake_hlts counts the waits since fake_vmx_reset_counters().
 */
#define FAKE_HLT_LIMIT 100000u
extern void (*fake_hlt_hook)(void);
extern uint64_t fake_hlt_ticks;
extern unsigned fake_hlts;
/* Milliseconds for log_clock_ms() (and a fake PIT): they move only when set. */
extern uint64_t fake_ticks;
/* Quiet the console (vmx_fail's dump) unless VERBOSE is set. */
extern bool fake_console_quiet;

/* ---- one-call set-up for tests and fuzz targets ---------------------- */

/*
 * fake_cpu_init(@model), then the real vmx_init(); dies if that fails.
 * Again later for another model, once every VM is gone (the previous
 * VMXON region is freed: a machine reset).
 */
void fake_machine_boot(enum fake_model model);

#endif
