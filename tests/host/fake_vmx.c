// SPDX-License-Identifier: MIT
/*
 * The fake VMX unit behind tests/host/fake/vmx/vmx_ops.h and vmx_enter().
 *
 * A VMCS lives in its own region, as on hardware: after the revision
 * identifier and abort indicator come a marker, the launch state, a bitmap
 * of the fields ever written and one 64-bit slot per field of the
 * hypervisor's list (vmx/vmcs_fields.h); any other encoding is an
 * unsupported component (VM-instruction error 12), and so are the
 * GUEST_IA32_PKRS and HOST_IA32_PKRS fields of a CPU without the matching
 * "load IA32_PKRS" control (SDM appendix B); a write to a read-only field
 * is error 13 (IA32_VMX_MISC[29] is clear in every model).
 */
#include <stdio.h>
#include <string.h>

#include "hv/lib/mm.h"
#include "hv/lib/msr.h"
#include "hv/lib/x86.h"
#include "tests/host/fake.h"
#include "vmx/exit_reasons.h"
#include "vmx/guest_regs.h"
#include "vmx/vmx_controls.h"
#include "vmx/vmx_ops.h"

#define REGION_MARK	0x53434d56u /* "VMCS" */
#define LAUNCH_CLEAR	0
#define LAUNCH_LAUNCHED 1

#define FIELD_ROW(name, enc) enc,
static const uint32_t field_enc[] = {VMCS_FIELDS(FIELD_ROW)};
#undef FIELD_ROW
#define N_FIELDS (sizeof(field_enc) / sizeof(field_enc[0]))

struct region {
	uint32_t revision;
	uint32_t abort;
	uint32_t mark;
	uint32_t launch;
	uint64_t written[(N_FIELDS + 63) / 64];
	uint64_t value[N_FIELDS];
};
_Static_assert(sizeof(struct region) <= 4096, "the fake VMCS must fit its region");

/* Field index + 1 by encoding (encodings are below 0x8000); 0: unsupported. */
static uint16_t field_slot[0x8000];

static uint64_t current = ~0ull; /* ~0: no current VMCS (SDM's FFFFFFFF_FFFFFFFF) */
static uint64_t vmxon_pa;
static bool vmx_on;

fake_guest_fn fake_guest;
void *fake_guest_opaque;
struct fake_vmx_stats fake_vmx_stats;

static void build_slots(void)
{
	if (field_slot[field_enc[0]])
		return;
	for (unsigned i = 0; i < N_FIELDS; i++)
		field_slot[field_enc[i] & 0x7fff] = (uint16_t)(i + 1);
}

static int slot_of(uint32_t enc)
{
	if (enc >= 0x8000)
		return -1;
	return (int)field_slot[enc] - 1;
}

/* The model may set the "load IA32_PKRS" VM-entry control (bit 22). */
static bool cpu_loads_guest_pkrs(void)
{
	return rdmsr(MSR_IA32_VMX_TRUE_ENTRY_CTLS) >> 32 & VMX_ENTRY_LOAD_PKRS;
}

/* The model may set the "load IA32_PKRS" VM-exit control (bit 29). */
static bool cpu_loads_host_pkrs(void)
{
	return rdmsr(MSR_IA32_VMX_TRUE_EXIT_CTLS) >> 32 & VMX_EXIT_LOAD_PKRS;
}

/* The slot of a field this CPU's VMCS has, or -1 (VM-instruction error 12). */
static int cpu_slot_of(uint32_t enc)
{
	if ((enc == VMCS_GUEST_IA32_PKRS && !cpu_loads_guest_pkrs()) ||
	    (enc == VMCS_HOST_IA32_PKRS && !cpu_loads_host_pkrs()))
		return -1;
	return slot_of(enc);
}

static uint64_t width_mask(uint32_t enc)
{
	switch (VMCS_WIDTH(enc)) {
	case VMCS_W16:
		return 0xffff;
	case VMCS_W32:
		return 0xffffffff;
	default:
		return ~0ull;
	}
}

/* Read-only data fields: type bits 11:10 = 1. */
static bool read_only(uint32_t enc)
{
	return (enc >> 10 & 3) == 1;
}

static struct region *region_at(uint64_t pa)
{
	if (!pa || (pa & 0xfff) || !fake_mm_valid(pa, 4096))
		fake_host_fault("VMCS region at 0x%llx is not allocated memory",
				(unsigned long long)pa);
	return phys_to_virt(pa);
}

static struct region *cur(void)
{
	return current == ~0ull ? NULL : region_at(current);
}

static uint64_t get(struct region *r, int slot)
{
	if (!(r->written[slot / 64] >> (slot % 64) & 1))
		return FAKE_VMCS_UNSET;
	return r->value[slot];
}

static void put(struct region *r, int slot, uint64_t v)
{
	r->written[slot / 64] |= 1ull << (slot % 64);
	r->value[slot] = v & width_mask(field_enc[slot]);
}

/* VMfailValid(err) with a current VMCS, VMfailInvalid without. */
static uint32_t fail(uint32_t err)
{
	struct region *r = cur();

	if (!r)
		return VMX_ERR_FAIL_INVALID;
	put(r, slot_of(VMCS_VM_INSTRUCTION_ERROR), err);
	return err;
}

static bool bad_pa(uint64_t pa)
{
	return !pa || (pa & 0xfff) || (pa >> 46);
}

/* ---- instructions -------------------------------------------------------- */

uint32_t vmx_read_error(void)
{
	struct region *r = cur();

	return r ? (uint32_t)get(r, slot_of(VMCS_VM_INSTRUCTION_ERROR)) : 0;
}

uint32_t vmxon_safe(uint64_t pa)
{
	build_slots();
	if (!(read_cr4() & CR4_VMXE))
		fake_host_fault("vmxon with CR4.VMXE clear (#UD)");
	if (vmx_on)
		return fail(15);
	if (bad_pa(pa) || region_at(pa)->revision != (uint32_t)rdmsr(MSR_IA32_VMX_BASIC))
		return VMX_ERR_FAIL_INVALID;
	vmxon_pa = pa;
	vmx_on = true;
	return 0;
}

static void need_vmx(const char *insn)
{
	if (!vmx_on)
		fake_host_fault("%s outside VMX operation (#UD)", insn);
}

uint32_t vmclear_safe(uint64_t pa)
{
	struct region *r;

	need_vmx("vmclear");
	if (bad_pa(pa))
		return fail(2);
	if (pa == vmxon_pa)
		return fail(3);
	r = region_at(pa);
	r->mark = REGION_MARK;
	r->launch = LAUNCH_CLEAR;
	if (pa == current)
		current = ~0ull;
	return 0;
}

uint32_t vmptrld_safe(uint64_t pa)
{
	struct region *r;

	need_vmx("vmptrld");
	if (bad_pa(pa))
		return fail(9);
	if (pa == vmxon_pa)
		return fail(10);
	r = region_at(pa);
	if (r->revision != (uint32_t)rdmsr(MSR_IA32_VMX_BASIC))
		return fail(11);
	if (r->mark != REGION_MARK) {
		/* Never VMCLEARed: hardware takes it as it is; so do we, marked. */
		r->mark = REGION_MARK;
		r->launch = LAUNCH_CLEAR;
	}
	current = pa;
	return 0;
}

uint32_t vmcs_read_safe(uint32_t enc, uint64_t *val)
{
	struct region *r;
	int s;

	need_vmx("vmread");
	r = cur();
	*val = 0;
	if (!r)
		return VMX_ERR_FAIL_INVALID;
	s = cpu_slot_of(enc);
	if (s < 0)
		return fail(12);
	*val = get(r, s) & width_mask(enc);
	return 0;
}

uint32_t vmcs_write_safe(uint32_t enc, uint64_t val)
{
	struct region *r;
	int s;

	need_vmx("vmwrite");
	r = cur();
	if (!r)
		return VMX_ERR_FAIL_INVALID;
	s = cpu_slot_of(enc);
	if (s < 0)
		return fail(12);
	if (read_only(enc))
		return fail(13);
	put(r, s, val);
	return 0;
}

uint32_t invept_safe(uint64_t type, uint64_t eptp)
{
	uint64_t caps = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);

	need_vmx("invept");
	fake_vmx_stats.invept++;
	if ((type == 1 && !(caps & VMX_CAP_INVEPT_SINGLE)) ||
	    (type == 2 && !(caps & VMX_CAP_INVEPT_ALL)) || type < 1 || type > 2)
		return fail(28);
	if (type == 1 &&
	    (!fake_mm_valid(eptp & ~0xfffull, 4096) || (eptp & 7) != 6 || (eptp >> 3 & 7) != 3))
		return fail(28);
	return 0;
}

uint32_t invvpid_safe(uint64_t type, uint16_t vpid)
{
	uint64_t caps = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);

	need_vmx("invvpid");
	fake_vmx_stats.invvpid++;
	if (!(caps & VMX_CAP_INVVPID) || type < 1 || type > 3 ||
	    (type == 1 && !(caps & VMX_CAP_INVVPID_SINGLE)) ||
	    (type == 2 && !(caps & VMX_CAP_INVVPID_ALL)) || (type == 1 && vpid == 0))
		return fail(28);
	return 0;
}

/* ---- the test's view ------------------------------------------------------- */

uint64_t fake_vmcs_current(void)
{
	return current == ~0ull ? 0 : current;
}

static int slot_or_die(uint32_t enc)
{
	int s = slot_of(enc);

	build_slots();
	s = slot_of(enc);
	if (s < 0)
		fake_host_fault("test: VMCS field 0x%x is not in vmx/vmcs_fields.h", enc);
	return s;
}

uint64_t fake_vmcs_get_at(uint64_t pa, uint32_t enc)
{
	return get(region_at(pa), slot_or_die(enc)) & width_mask(enc);
}

void fake_vmcs_set_at(uint64_t pa, uint32_t enc, uint64_t val)
{
	put(region_at(pa), slot_or_die(enc), val);
}

uint64_t fake_vmcs_get(uint32_t enc)
{
	if (current == ~0ull)
		fake_host_fault("test: no current VMCS");
	return fake_vmcs_get_at(current, enc);
}

void fake_vmcs_set(uint32_t enc, uint64_t val)
{
	if (current == ~0ull)
		fake_host_fault("test: no current VMCS");
	fake_vmcs_set_at(current, enc, val);
}

bool fake_vmcs_written(uint32_t enc)
{
	struct region *r = cur();
	int s = slot_or_die(enc);

	return r && (r->written[s / 64] >> (s % 64) & 1);
}

void fake_vmx_reset(void)
{
	/* A machine reset: the hypervisor's VMXON region goes with it. */
	if (vmxon_pa && fake_mm_valid(vmxon_pa, 4096))
		page_free(vmxon_pa);
	current = ~0ull;
	vmxon_pa = 0;
	vmx_on = false;
	fake_guest = NULL;
	fake_guest_opaque = NULL;
	memset(&fake_vmx_stats, 0, sizeof(fake_vmx_stats));
}

/* sti_hlt_cli()'s waits (tests/host/fake_cpu.c): all, and since the last entry. */
extern unsigned fake_hlts_in_a_row;

void fake_vmx_reset_counters(void)
{
	memset(&fake_vmx_stats, 0, sizeof(fake_vmx_stats));
	fake_hlts = fake_hlts_in_a_row = 0;
}

/* ---- VM entry ------------------------------------------------------------ */

#define INFO_VALID   (1u << 31)
#define INFO_ERR     (1u << 11)
#define INFO_TYPE(i) ((i) >> 8 & 7)
#define INTR_STI     1u
#define INTR_MOVSS   2u
#define INTR_SMI     4u
#define INTR_NMI     8u

static uint64_t f(uint32_t enc)
{
	return get(cur(), slot_of(enc)) & width_mask(enc);
}

static void set(uint32_t enc, uint64_t v)
{
	put(cur(), slot_of(enc), v);
}

static bool check_fail(enum fake_check which, const char *fmt, unsigned long long a,
		       unsigned long long b)
{
	fake_vmx_stats.last_failure_check = which;
	snprintf(fake_vmx_stats.last_failure, sizeof(fake_vmx_stats.last_failure), fmt, a, b);
	return false;
}

/* The control fields: must1/may1 of each control, then event injection (SDM 26.2.1). */
static bool controls_ok(void)
{
	static const struct {
		uint32_t field, msr;
	} ctls[] = {
	    {VMCS_PIN_CONTROLS, MSR_IA32_VMX_TRUE_PINBASED_CTLS},
	    {VMCS_PROC_CONTROLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS},
	    {VMCS_EXIT_CONTROLS, MSR_IA32_VMX_TRUE_EXIT_CTLS},
	    {VMCS_ENTRY_CONTROLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS},
	    {VMCS_PROC2_CONTROLS, MSR_IA32_VMX_PROCBASED_CTLS2},
	};
	uint32_t info = (uint32_t)f(VMCS_ENTRY_INTR_INFO);
	uint32_t type = INFO_TYPE(info), vec = info & 0xff;
	uint64_t cr0 = f(VMCS_GUEST_CR0);
	bool ug = f(VMCS_PROC2_CONTROLS) & VMX_PROC2_UNRESTRICTED_GUEST;

	for (unsigned i = 0; i < sizeof(ctls) / sizeof(ctls[0]); i++) {
		uint64_t cap = rdmsr(ctls[i].msr);
		uint32_t v = (uint32_t)f(ctls[i].field);

		if ((v & (uint32_t)cap) != (uint32_t)cap || (v & ~(uint32_t)(cap >> 32)))
			return check_fail(FAKE_CHECK_CONTROLS,
					  "control field 0x%llx = 0x%llx not allowed",
					  ctls[i].field, v);
	}
	if (!(info & INFO_VALID))
		return true;
	if (type == 1 || type == 7)
		return check_fail(FAKE_CHECK_INTR_TYPE, "interruption info 0x%llx: type %llu", info,
				  type);
	if ((type == 2 && vec != 2) || (type == 3 && vec > 31))
		return check_fail(FAKE_CHECK_INTR_VECTOR, "interruption info 0x%llx: vector %llu",
				  info, vec);
	if (info & 0x7ffff000)
		return check_fail(FAKE_CHECK_INTR_RESERVED, "interruption info 0x%llx%.0llx", info,
				  0);
	{
		bool want_err = (!ug || (cr0 & CR0_PE)) && type == 3 &&
				(vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21);

		if (!!(info & INFO_ERR) != want_err)
			return check_fail(
			    FAKE_CHECK_ERROR_CODE_BIT,
			    "interruption info 0x%llx: deliver-error-code with guest CR0 0x%llx",
			    info, cr0);
	}
	if ((info & INFO_ERR) && (f(VMCS_ENTRY_EXCEPTION_ERROR_CODE) >> 16))
		return check_fail(FAKE_CHECK_ERROR_CODE_WIDTH,
				  "exception error code 0x%llx has bits 31:16 (info 0x%llx)",
				  f(VMCS_ENTRY_EXCEPTION_ERROR_CODE), info);
	if (type == 4 || type == 5 || type == 6) {
		uint64_t len = f(VMCS_ENTRY_INSTRUCTION_LEN);
		bool zero_ok = rdmsr(MSR_IA32_VMX_MISC) >> 30 & 1;

		if (len > 15 || (len == 0 && !zero_ok))
			return check_fail(FAKE_CHECK_INSN_LEN,
					  "soft event 0x%llx with instruction length %llu", info,
					  len);
	}
	return true;
}

/* The checks on host state that a model can fail (SDM 26.2.2): VMfailValid 8. */
static bool host_ok(void)
{
	uint32_t exit = (uint32_t)f(VMCS_EXIT_CONTROLS);

	if ((exit & VMX_EXIT_LOAD_PKRS) && (f(VMCS_HOST_IA32_PKRS) >> 32))
		return check_fail(FAKE_CHECK_HOST_PKRS,
				  "host IA32_PKRS 0x%llx, exit controls 0x%llx",
				  f(VMCS_HOST_IA32_PKRS), exit);
	return true;
}

/* Some of the checks on guest state (SDM 26.3.1). */
static bool guest_ok(void)
{
	uint64_t cr0 = f(VMCS_GUEST_CR0), cr4 = f(VMCS_GUEST_CR4), efer = f(VMCS_GUEST_IA32_EFER);
	uint64_t rflags = f(VMCS_GUEST_RFLAGS);
	uint32_t entry = (uint32_t)f(VMCS_ENTRY_CONTROLS),
		 intr = (uint32_t)f(VMCS_GUEST_INTERRUPTIBILITY);
	uint32_t info = (uint32_t)f(VMCS_ENTRY_INTR_INFO);
	bool ug = f(VMCS_PROC2_CONTROLS) & VMX_PROC2_UNRESTRICTED_GUEST;
	uint64_t fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0), fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	bool ia32e = entry & VMX_ENTRY_IA32E_MODE_GUEST;

	if (ug)
		fixed0 &= ~(CR0_PE | CR0_PG);
	if ((cr0 & fixed0) != fixed0 || (cr0 & ~fixed1) || ((cr0 & CR0_PG) && !(cr0 & CR0_PE)))
		return check_fail(FAKE_CHECK_GUEST_CR, "guest CR0 0x%llx%.0llx", cr0, 0);
	if ((cr4 & rdmsr(MSR_IA32_VMX_CR4_FIXED0)) != rdmsr(MSR_IA32_VMX_CR4_FIXED0) ||
	    (cr4 & ~rdmsr(MSR_IA32_VMX_CR4_FIXED1)))
		return check_fail(FAKE_CHECK_GUEST_CR, "guest CR4 0x%llx%.0llx", cr4, 0);
	if (ia32e && (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE)))
		return check_fail(FAKE_CHECK_GUEST_EFER,
				  "IA-32e mode guest with CR0 0x%llx CR4 0x%llx", cr0, cr4);
	if (!ia32e && (cr4 & CR4_PCIDE))
		return check_fail(FAKE_CHECK_GUEST_CR,
				  "CR4.PCIDE outside IA-32e mode (CR4 0x%llx)%.0llx", cr4, 0);
	if ((entry & VMX_ENTRY_LOAD_EFER) &&
	    ((efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)) ||
	     !!(efer & EFER_LMA) != ia32e || ((cr0 & CR0_PG) && !!(efer & EFER_LME) != ia32e)))
		return check_fail(FAKE_CHECK_GUEST_EFER, "guest EFER 0x%llx, entry controls 0x%llx",
				  efer, entry);
	if ((rflags & ~0x3f7fd7ull) || !(rflags & 2))
		return check_fail(FAKE_CHECK_GUEST_RFLAGS, "guest RFLAGS 0x%llx%.0llx", rflags, 0);
	if ((intr & ~0x1full) || (intr & 3) == 3 || ((intr & INTR_STI) && !(rflags & RFLAGS_IF)) ||
	    (intr & INTR_SMI))
		return check_fail(FAKE_CHECK_GUEST_INTR, "interruptibility 0x%llx, RFLAGS 0x%llx",
				  intr, rflags);
	if ((info & INFO_VALID) && INFO_TYPE(info) == 0 && (intr & 3))
		return check_fail(
		    FAKE_CHECK_GUEST_INTR,
		    "external interrupt 0x%llx injected under STI/MOV SS blocking 0x%llx", info,
		    intr);
	if ((info & INFO_VALID) && INFO_TYPE(info) == 2 && (intr & INTR_MOVSS))
		return check_fail(FAKE_CHECK_GUEST_INTR,
				  "NMI 0x%llx injected under MOV SS blocking 0x%llx", info, intr);
	if ((info & INFO_VALID) && INFO_TYPE(info) == 2 && (intr & INTR_NMI) &&
	    (f(VMCS_PIN_CONTROLS) & VMX_PIN_VIRTUAL_NMIS))
		return check_fail(FAKE_CHECK_GUEST_INTR,
				  "NMI 0x%llx injected under NMI blocking 0x%llx", info, intr);
	if (f(VMCS_GUEST_ACTIVITY_STATE) > 3)
		return check_fail(FAKE_CHECK_GUEST_ACTIVITY, "activity state %llu%.0llx",
				  f(VMCS_GUEST_ACTIVITY_STATE), 0);
	if ((entry & VMX_ENTRY_LOAD_PKRS) && (f(VMCS_GUEST_IA32_PKRS) >> 32))
		return check_fail(FAKE_CHECK_GUEST_PKRS,
				  "guest IA32_PKRS 0x%llx, entry controls 0x%llx",
				  f(VMCS_GUEST_IA32_PKRS), entry);
	return true;
}

/*
 * IA32_PKRS at a VM exit (SDM 27.3.1, 27.5.1): unless the entry failed,
 * a CPU with the "load IA32_PKRS" entry control saves the MSR into the
 * guest-state field, the guest's value if the entry loaded it (the fake
 * guest's last word on it is the field), else the host's it ran with;
 * then the exit control loads the host's value.
 */
static void exit_pkrs(bool entered)
{
	if (entered && cpu_loads_guest_pkrs()) {
		if (f(VMCS_ENTRY_CONTROLS) & VMX_ENTRY_LOAD_PKRS)
			fake_msr_set(MSR_IA32_PKRS, f(VMCS_GUEST_IA32_PKRS));
		set(VMCS_GUEST_IA32_PKRS, rdmsr(MSR_IA32_PKRS));
	}
	if (f(VMCS_EXIT_CONTROLS) & VMX_EXIT_LOAD_PKRS)
		fake_msr_set(MSR_IA32_PKRS, f(VMCS_HOST_IA32_PKRS));
}

static void exit_info_reset(void)
{
	set(VMCS_EXIT_QUALIFICATION, 0);
	set(VMCS_EXIT_INTR_INFO, 0);
	set(VMCS_IDT_VECTORING_INFO, 0);
	set(VMCS_EXIT_INTR_ERROR_CODE, FAKE_VMCS_UNDEFINED);
	set(VMCS_IDT_VECTORING_ERROR_CODE, FAKE_VMCS_UNDEFINED);
	set(VMCS_EXIT_INSTRUCTION_LEN, FAKE_VMCS_UNDEFINED);
	set(VMCS_EXIT_INSTRUCTION_INFO, FAKE_VMCS_UNDEFINED);
	set(VMCS_GUEST_LINEAR_ADDRESS, FAKE_VMCS_UNDEFINED);
	set(VMCS_GUEST_PHYSICAL_ADDRESS, FAKE_VMCS_UNDEFINED);
}

/* The guest when a test sets none: one HLT. */
static uint32_t default_guest(struct fake_guest *g)
{
	(void)g;
	fake_vmcs_set(VMCS_EXIT_INSTRUCTION_LEN, 1);
	return EXIT_REASON_HLT;
}

int vmx_enter(uint64_t gpr[GPR_COUNT], int launched)
{
	struct region *r = cur();
	struct fake_guest g = {.gpr = gpr, .opaque = fake_guest_opaque};
	uint32_t info, reason;
	uint32_t proc, intr;
	uint64_t rflags;

	need_vmx(launched ? "vmresume" : "vmlaunch");
	if (!r)
		return 1; /* VMfailInvalid */
	if (launched ? r->launch != LAUNCH_LAUNCHED : r->launch != LAUNCH_CLEAR) {
		fake_vmx_stats.fail_launch_state++;
		fail(launched ? 5 : 4);
		return 1;
	}
	if (!controls_ok()) {
		fake_vmx_stats.fail_controls++;
		fail(7);
		return 1;
	}
	if (!host_ok()) {
		fake_vmx_stats.fail_host_state++;
		fail(8);
		return 1;
	}
	launched ? fake_vmx_stats.resumes++ : fake_vmx_stats.launches++;
	info = (uint32_t)f(VMCS_ENTRY_INTR_INFO);
	if (!guest_ok()) {
		/* Guest-state failure: an exit with bit 31, nothing delivered. */
		fake_vmx_stats.fail_guest_state++;
		exit_info_reset();
		set(VMCS_EXIT_REASON, 0x80000000u | EXIT_REASON_INVALID_GUEST_STATE);
		set(VMCS_ENTRY_INTR_INFO, info & ~INFO_VALID);
		exit_pkrs(false);
		return 0;
	}
	r->launch = LAUNCH_LAUNCHED;
	fake_vmx_stats.entries++;
	if (f(VMCS_ENTRY_CONTROLS) & VMX_ENTRY_LOAD_PKRS)
		fake_msr_set(MSR_IA32_PKRS, f(VMCS_GUEST_IA32_PKRS));
	fake_hlts_in_a_row = 0;
	g.entry = fake_vmx_stats.entries;
	if (info & INFO_VALID) {
		g.injected.valid = true;
		g.injected.info = info;
		g.injected.error =
		    info & INFO_ERR ? (uint32_t)f(VMCS_ENTRY_EXCEPTION_ERROR_CODE) : 0;
		g.injected.len = (uint32_t)f(VMCS_ENTRY_INSTRUCTION_LEN);
		/* Delivering an NMI blocks the next one (virtual NMIs). */
		if (INFO_TYPE(info) == 2 && (f(VMCS_PIN_CONTROLS) & VMX_PIN_VIRTUAL_NMIS))
			set(VMCS_GUEST_INTERRUPTIBILITY, f(VMCS_GUEST_INTERRUPTIBILITY) | INTR_NMI);
	}
	/* VM exits clear the valid bit of the entry's event (SDM 27.2). */
	set(VMCS_ENTRY_INTR_INFO, info & ~INFO_VALID);
	exit_info_reset();
	fake_tsc_advance(100);

	/* A window that is open before the first instruction exits at once. */
	proc = (uint32_t)f(VMCS_PROC_CONTROLS);
	intr = (uint32_t)f(VMCS_GUEST_INTERRUPTIBILITY);
	rflags = f(VMCS_GUEST_RFLAGS);
	if (!g.injected.valid && (proc & VMX_PROC_NMI_WINDOW_EXITING) && !(intr & 0xb)) {
		fake_vmx_stats.window_exits++;
		set(VMCS_EXIT_REASON, EXIT_REASON_NMI_WINDOW);
		exit_pkrs(true);
		return 0;
	}
	if (!g.injected.valid && (proc & VMX_PROC_INTR_WINDOW_EXITING) && (rflags & RFLAGS_IF) &&
	    !(intr & 3)) {
		fake_vmx_stats.window_exits++;
		set(VMCS_EXIT_REASON, EXIT_REASON_INTERRUPT_WINDOW);
		exit_pkrs(true);
		return 0;
	}
	reason = (fake_guest ? fake_guest : default_guest)(&g);
	if (cur() != r)
		fake_host_fault("the fake guest changed the current VMCS");
	/* A guest that reports a VM-entry failure (bit 31): the entry did not
	 * happen after all, so the launch state is what it was. */
	if (reason & 0x80000000u)
		r->launch = launched ? LAUNCH_LAUNCHED : LAUNCH_CLEAR;
	exit_pkrs(!(reason & 0x80000000u));
	set(VMCS_EXIT_REASON, reason);
	return 0;
}

/* HOST_RIP of every VMCS: vmx/vmentry.S's label, never jumped to here. */
char vmx_exit_entry[1];
