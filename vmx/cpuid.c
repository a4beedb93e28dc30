// SPDX-License-Identifier: MIT
/*
 * CPUID for guests. The supported set follows KVM's kvm_set_cpu_caps() and
 * __do_cpuid_func() (Linux 6.1): every feature register is cut to a list of
 * flags this hypervisor implements (an instruction that runs natively in
 * VMX non-root operation, or an MSR vmx/msr.c emulates), leaves that only
 * describe hidden features read as zeros, and the fields that follow the
 * vCPU's state (kvm_update_cpuid_runtime) are filled in when the guest
 * asks and when KVM_GET_CPUID2 copies the table out, so both agree.
 */
#include <string.h>

#include "abi/hv_guest.h"
#include "abi/errno.h"
#include "vmx/cpuid.h"
#include "vmx/vcpu.h"
#include "vmx/vmx.h"
#include "vmx/vmx_controls.h"
#include "vmx/vmx_ops.h"
#include "vmx/xstate.h"

#define B(n) (1u << (n))

/* CPUID.1:ECX */
#define C1_SSE3	      B(0)
#define C1_PCLMULQDQ  B(1)
#define C1_SSSE3      B(9)
#define C1_FMA	      B(12)
#define C1_CX16	      B(13)
#define C1_PCID	      B(17)
#define C1_SSE41      B(19)
#define C1_SSE42      B(20)
#define C1_MOVBE      B(22)
#define C1_POPCNT     B(23)
#define C1_AES	      B(25)
#define C1_XSAVE      B(26)
#define C1_OSXSAVE    B(27)
#define C1_AVX	      B(28)
#define C1_F16C	      B(29)
#define C1_RDRAND     B(30)
#define C1_HYPERVISOR B(31)
/* CPUID.1:EDX */
#define D1_APIC B(9)
/* CPUID.7.0:EBX */
#define B7_FSGSBASE   B(0)
#define B7_TSC_ADJUST B(1)
#define B7_AVX2	      B(5)
#define B7_SMEP	      B(7)
#define B7_INVPCID    B(10)
#define B7_AVX512F    B(16)
#define B7_AVX512DQ   B(17)
#define B7_SMAP	      B(20)
#define B7_AVX512IFMA B(21)
#define B7_AVX512PF   B(26)
#define B7_AVX512ER   B(27)
#define B7_AVX512CD   B(28)
#define B7_AVX512BW   B(30)
#define B7_AVX512VL   B(31)
/* CPUID.7.0:ECX */
#define C7_AVX512VBMI	   B(1)
#define C7_UMIP		   B(2)
#define C7_PKU		   B(3)
#define C7_OSPKE	   B(4)
#define C7_AVX512VBMI2	   B(6)
#define C7_VAES		   B(9)
#define C7_VPCLMULQDQ	   B(10)
#define C7_AVX512VNNI	   B(11)
#define C7_AVX512BITALG	   B(12)
#define C7_AVX512VPOPCNTDQ B(14)
#define C7_LA57		   B(16)
#define C7_PKS		   CPUID_7_ECX_PKS
#define C7_RDPID	   B(22)
/* CPUID.7.0:EDX */
#define D7_AVX512_4VNNIW       B(2)
#define D7_AVX512_4FMAPS       B(3)
#define D7_AVX512_VP2INTERSECT B(8)
#define D7_AVX512_FP16	       B(23)
/* CPUID.7.1:EAX */
#define A71_AVX_VNNI	B(4)
#define A71_AVX512_BF16 B(5)
/* CPUID.0xD.1:EAX */
#define AD1_XSAVEC B(1)
#define AD1_XSAVES B(3)
/* CPUID.80000001H:EDX */
#define D81_RDTSCP B(27)

/* CR4 bits (vcpu_cpuid_cr4_reserved), named apart from hv/lib/x86.h's. */
#define G_CR4(n)       (1ull << (n))
#define G_CR4_UMIP     G_CR4(11)
#define G_CR4_FSGSBASE G_CR4(16)
#define G_CR4_SMAP     G_CR4(21)
#define G_CR4_PKE      G_CR4(22)
/* Bits KVM never lets a guest set (CR4_RESERVED_BITS, x86.h). */
#define G_CR4_KNOWN                                                                                \
	(G_CR4(0) | G_CR4(1) | G_CR4(2) | G_CR4(3) | G_CR4(4) | G_CR4(5) | G_CR4(6) | G_CR4(7) |   \
	 G_CR4(8) | G_CR4(9) | G_CR4(10) | G_CR4_UMIP | G_CR4(12) | G_CR4(13) | G_CR4_FSGSBASE |   \
	 G_CR4(17) | G_CR4(18) | G_CR4(20) | G_CR4_SMAP | G_CR4_PKE | CR4_PKS)

/*
 * The flags a guest may see, register by register: kvm_set_cpu_caps()'s
 * lists less what this hypervisor does not implement (named with each).
 */

/*
 * Not: DTES64, MONITOR (MWAIT exits to #UD), DS-CPL, VMX, SMX, EST, TM2,
 * CNXT-ID, SDBG, xTPR, PDCM (no IA32_PERF_CAPABILITIES), DCA. x2APIC and
 * TSC-deadline are the in-hypervisor APIC's (vmx/irqchip.c): without an
 * irqchip their MSRs #GP, as with KVM. OSXSAVE follows CR4.
 */
#define OK_1_ECX                                                                                   \
	(C1_SSE3 | C1_PCLMULQDQ | C1_SSSE3 | C1_FMA | C1_CX16 | C1_PCID | C1_SSE41 | C1_SSE42 |    \
	 C1_MOVBE | C1_POPCNT | C1_AES | C1_XSAVE | C1_AVX | C1_F16C | C1_RDRAND | C1_HYPERVISOR | \
	 B(21) /* x2APIC */ | B(24) /* TSC-deadline */)

/* Not: MCE and MCA (no machine-check MSRs), PSN, DS, ACPI, HTT, TM, PBE. */
#define OK_1_EDX                                                                                   \
	(B(0) /* FPU */ | B(1) /* VME */ | B(2) /* DE */ | B(3) /* PSE */ | B(4) /* TSC */ |       \
	 B(5) /* MSR */ | B(6) /* PAE */ | B(8) /* CX8 */ | D1_APIC | B(11) /* SEP */ |            \
	 B(12) /* MTRR */ | B(13) /* PGE */ | B(15) /* CMOV */ | B(16) /* PAT */ |                 \
	 B(17) /* PSE36 */ | B(19) /* CLFSH */ | B(23) /* MMX */ | B(24) /* FXSR */ |              \
	 B(25) /* SSE */ | B(26) /* SSE2 */ | B(27) /* SS */)

/* Not: SGX, the FPU CS/DS flags, PQM, MPX, PQE, PCOMMIT, Intel PT. */
#define OK_7_EBX                                                                                   \
	(B7_FSGSBASE | B7_TSC_ADJUST | B(3) /* BMI1 */ | B(4) /* HLE */ | B7_AVX2 | B7_SMEP |      \
	 B(8) /* BMI2 */ | B(9) /* ERMS */ | B7_INVPCID | B(11) /* RTM */ | B7_AVX512F |           \
	 B7_AVX512DQ | B(18) /* RDSEED */ | B(19) /* ADX */ | B7_SMAP | B7_AVX512IFMA |            \
	 B(23) /* CLFLUSHOPT */ | B(24) /* CLWB */ | B7_AVX512PF | B7_AVX512ER | B7_AVX512CD |     \
	 B(29) /* SHA */ | B7_AVX512BW | B7_AVX512VL)

/*
 * Not: WAITPKG (no user-wait control), CET, TME, LA57 (4-level paging
 * only), Key Locker, bus-lock detection (no IA32_DEBUGCTL MSR), ENQCMD,
 * SGX-LC. OSPKE follows CR4. PKS only with vmx_config.pks (filter()).
 */
#define OK_7_ECX                                                                                   \
	(C7_AVX512VBMI | C7_UMIP | C7_PKU | C7_AVX512VBMI2 | B(8) /* GFNI */ | C7_VAES |           \
	 C7_VPCLMULQDQ | C7_AVX512VNNI | C7_AVX512BITALG | C7_AVX512VPOPCNTDQ | C7_RDPID |         \
	 B(25) /* CLDEMOTE */ | B(27) /* MOVDIRI */ | B(28) /* MOVDIR64B */ | C7_PKS)

/*
 * Not: IBRS/IBPB, STIBP, SSBD (IA32_SPEC_CTRL and IA32_PRED_CMD: the
 * guest's value is not switched at VM entry and exit), L1D flush
 * (IA32_FLUSH_CMD), IA32_ARCH_CAPABILITIES, IA32_CORE_CAPABILITIES, SRBDS
 * control, TSX force-abort, hybrid, PCONFIG, arch LBR, CET-IBT, AMX (no XFD).
 */
#define OK_7_EDX                                                                                   \
	(D7_AVX512_4VNNIW | D7_AVX512_4FMAPS | B(4) /* FSRM */ | D7_AVX512_VP2INTERSECT |          \
	 B(10) /* MD_CLEAR */ | B(14) /* SERIALIZE */ | B(16) /* TSXLDTRK */ | D7_AVX512_FP16)

#define OK_7_1_EAX (A71_AVX_VNNI | A71_AVX512_BF16)

/* Not: XSAVES (no IA32_XSS; XSAVES raises #UD), XFD. */
#define OK_D_1_EAX (B(0) /* XSAVEOPT */ | AD1_XSAVEC | B(2) /* XGETBV1 */)

/* Not: SVM, ExtApicSpace, OSVW (no OSVW MSRs), IBS, SKINIT, WDT, LWP, PERFCTR_CORE. */
#define OK_81_ECX                                                                                  \
	(B(0) /* LAHF_LM */ | B(1) /* CMP_LEGACY */ | B(4) /* CR8_LEGACY */ | B(5) /* ABM */ |     \
	 B(6) /* SSE4A */ | B(7) /* MISALIGNSSE */ | B(8) /* PREFETCHW */ | B(11) /* XOP */ |      \
	 B(16) /* FMA4 */ | B(21) /* TBM */ | B(22) /* TOPOEXT */)

/* Leaf 1's EDX flags AMD repeats here; not FFXSR (EFER.FFXSR is reserved). */
#define OK_81_EDX                                                                                  \
	((OK_1_EDX & 0x0183f3ff) | B(11) /* SYSCALL */ | B(20) /* NX */ | B(22) /* MMXEXT */ |     \
	 B(26) /* 1 GiB pages */ | D81_RDTSCP | B(29) /* LM */ | B(30) /* 3DNOWEXT */ |            \
	 B(31) /* 3DNOW */)

/* Not: the AMD speculation-control flags (IA32_SPEC_CTRL, IA32_PRED_CMD). */
#define OK_88_EBX (B(0) /* CLZERO */ | B(2) /* XSAVEERPTR */ | B(9) /* WBNOINVD */)

/* Leaves whose subleaf (ECX) selects the answer (KVM's do_host_cpuid). */
static bool indexed(uint32_t leaf)
{
	switch (leaf) {
	case 4:
	case 7:
	case 0xb:
	case 0xd:
	case 0xf:
	case 0x10:
	case 0x12:
	case 0x14:
	case 0x17:
	case 0x18:
	case 0x1f:
		return true;
	default:
		return false;
	}
}

/* The state components a guest's XCR0 may hold; 1 (x87) without XSAVE. */
static uint64_t held_xcr0(void)
{
	return xstate_guest_xcr0_mask();
}

/* xstate_required_size(): the XSAVE area for xcr0, standard or compacted. */
static uint32_t xsave_size(uint64_t xcr0, bool compacted)
{
	uint32_t size = 512 + 64; /* legacy region and header */

	for (unsigned i = 2; i < 64; i++) {
		struct cpuid_regs c;

		if (!(xcr0 >> i & 1))
			continue;
		c = cpuid(0xd, i);
		if (compacted) {
			if (c.ecx & 2) /* 64-byte aligned in the compacted form */
				size = (size + 63) & ~63u;
			size += c.eax;
		} else if (c.ebx + c.eax > size) {
			size = c.ebx + c.eax;
		}
	}
	return size;
}

static void zero(struct kvm_cpuid_entry2 *e)
{
	e->eax = e->ebx = e->ecx = e->edx = 0;
}

/* The feature lists above applied to one entry (flags only; values are kept). */
static void filter(struct kvm_cpuid_entry2 *e)
{
	uint64_t held = held_xcr0();
	bool xsave = held != 1, ymm = held & 4, zmm = (held & 0xe0) == 0xe0, pkru = held & 0x200;
	bool rdtscp = vmx_config.proc2 & VMX_PROC2_RDTSCP;
	bool invpcid = vmx_config.proc2 & VMX_PROC2_INVPCID;
	uint32_t f = e->function;

	switch (f) {
	case 1:
		e->ecx &= OK_1_ECX;
		if (!xsave)
			e->ecx &= ~C1_XSAVE;
		if (!ymm)
			e->ecx &= ~(C1_AVX | C1_FMA | C1_F16C);
		e->ecx |= C1_HYPERVISOR;
		e->edx &= OK_1_EDX;
		break;
	case 6: /* thermal and power: only ARAT, as KVM */
		e->eax &= 4;
		e->ebx = e->ecx = e->edx = 0;
		break;
	case 7:
		if (e->index == 0) {
			if (e->eax > 1)
				e->eax = 1;
			e->ebx &= OK_7_EBX;
			e->ecx &= OK_7_ECX;
			e->edx &= OK_7_EDX;
			if (!ymm) {
				e->ebx &= ~B7_AVX2;
				e->ecx &= ~(C7_VAES | C7_VPCLMULQDQ);
			}
			if (!zmm) {
				e->ebx &= ~(B7_AVX512F | B7_AVX512DQ | B7_AVX512IFMA | B7_AVX512PF |
					    B7_AVX512ER | B7_AVX512CD | B7_AVX512BW | B7_AVX512VL);
				e->ecx &= ~(C7_AVX512VBMI | C7_AVX512VBMI2 | C7_AVX512VNNI |
					    C7_AVX512BITALG | C7_AVX512VPOPCNTDQ);
				e->edx &= ~(D7_AVX512_4VNNIW | D7_AVX512_4FMAPS |
					    D7_AVX512_VP2INTERSECT | D7_AVX512_FP16);
			}
			if (!pkru)
				e->ecx &= ~C7_PKU;
			/* vmx_set_cpu_caps: PKS with EPT and both PKRS load controls. */
			if (!vmx_config.pks)
				e->ecx &= ~C7_PKS;
			if (!rdtscp)
				e->ecx &= ~C7_RDPID;
			if (!invpcid)
				e->ebx &= ~B7_INVPCID;
		} else if (e->index == 1) {
			e->eax &= OK_7_1_EAX;
			if (!ymm)
				e->eax &= ~A71_AVX_VNNI;
			if (!zmm)
				e->eax &= ~A71_AVX512_BF16;
			e->ebx = e->ecx = e->edx = 0;
		} else {
			zero(e);
		}
		break;
	case 0xd: /* XSAVE: only the components a vCPU's save area holds */
		if (!xsave) {
			zero(e);
		} else if (e->index == 0) {
			e->eax &= (uint32_t)held;
			e->edx &= (uint32_t)(held >> 32);
			e->ecx = xsave_size(((uint64_t)e->edx << 32 | e->eax), false);
		} else if (e->index == 1) {
			e->eax &= OK_D_1_EAX;
			e->ecx = e->edx = 0; /* no IA32_XSS components */
		} else if (e->index < 64 && (held >> e->index & 1)) {
			e->ecx &= ~4u; /* no XFD */
			e->edx = 0;
		} else {
			zero(e);
		}
		break;
	case 0x80000001:
		e->ecx &= OK_81_ECX;
		e->edx &= OK_81_EDX;
		if (!rdtscp)
			e->edx &= ~D81_RDTSCP;
		break;
	case 0x80000007: /* only the invariant TSC */
		e->eax = e->ebx = e->ecx = 0;
		e->edx &= B(8);
		break;
	case 0x80000008:
		e->ebx &= OK_88_EBX;
		e->edx = 0;
		break;
	default:
		/*
		 * Kept as given: descriptions (vendor and maximum leaf, caches,
		 * topology, TSC and core frequencies, brand string) and the
		 * hypervisor's signature. Any other leaf describes features no
		 * guest may see: serial number, MONITOR, DCA, performance
		 * monitoring, RDT, SGX, processor trace, Key Locker, AMX, KVM's
		 * or Hyper-V's paravirtual leaves... (KVM's default: zeros).
		 */
		if (f == 0 || f == 2 || f == 4 || f == 0xb || f == 0x15 || f == 0x16 || f == 0x1f ||
		    f == HV_CPUID_SIGNATURE_LEAF || f == 0x80000000 ||
		    (f >= 0x80000002 && f <= 0x80000006))
			break;
		zero(e);
		break;
	}
}

/* The host's values turned into the supported ones (__do_cpuid_func), then masked. */
static void supported_entry(struct kvm_cpuid_entry2 *e)
{
	uint64_t held = held_xcr0();

	switch (e->function) {
	case 0:
		if (e->eax > 0x1f)
			e->eax = 0x1f;
		break;
	case 6:
		e->eax = 4; /* ARAT */
		break;
	case 7:
		if (e->index == 0)
			e->ebx |= B7_TSC_ADJUST; /* emulated (vmx/msr.c) */
		break;
	case 0xd:
		if (e->index == 0) {
			filter(e);
			e->ebx = e->ecx; /* per vCPU: the size for its XCR0 */
		} else if (e->index == 1) {
			filter(e);
			e->ebx = e->eax & AD1_XSAVEC ? xsave_size(held, true) : 0;
		}
		break;
	case 0x80000000:
		if (e->eax > 0x8000001f)
			e->eax = 0x8000001f;
		break;
	case 0x80000008:
		/* Guest-physical width as the host's; linear 48 bits (no LA57). */
		e->eax = (e->eax & 0xff) | 48u << 8;
		break;
	}
	filter(e);
}

/* Where the host has (leaf, sub): leaf within its range's maximum. */
static bool host_has_leaf(uint32_t leaf)
{
	uint32_t base = leaf & 0x80000000;

	if (leaf >= 0x40000000 && leaf < 0x80000000)
		return false;
	return leaf <= cpuid(base, 0).eax;
}

/* The registers that hold feature flags, as (leaf, subleaf, register). */
static bool feature_reg(uint32_t leaf, uint32_t sub, int reg)
{
	switch (leaf) {
	case 1:
		return reg == 2 || reg == 3;
	case 6:
		return reg == 0;
	case 7:
		return sub == 0 ? reg != 0 : reg == 0;
	case 0xd:
		return sub == 1 && reg == 0;
	case 0x80000001:
		return reg == 2 || reg == 3;
	case 0x80000007:
		return reg == 3;
	case 0x80000008:
		return reg == 1;
	default:
		return false;
	}
}

void cpuid_mask(struct kvm_cpuid_entry2 *e)
{
	struct kvm_cpuid_entry2 s = {.function = e->function, .index = e->index};
	uint32_t *regs[4] = {&e->eax, &e->ebx, &e->ecx, &e->edx};
	uint32_t sup[4];

	filter(e);
	/* No flag the supported set lacks: also none the host's CPU lacks. */
	if (host_has_leaf(e->function)) {
		struct cpuid_regs r = cpuid(e->function, e->index);

		s.eax = r.eax;
		s.ebx = r.ebx;
		s.ecx = r.ecx;
		s.edx = r.edx;
		supported_entry(&s);
	}
	sup[0] = s.eax;
	sup[1] = s.ebx;
	sup[2] = s.ecx;
	sup[3] = s.edx;
	for (int i = 0; i < 4; i++)
		if (feature_reg(e->function, e->index, i))
			*regs[i] &= sup[i];
}

static int add(struct kvm_cpuid_entry2 *out, uint32_t max, uint32_t *n, uint32_t leaf, uint32_t sub,
	       struct cpuid_regs r, bool host)
{
	struct kvm_cpuid_entry2 *e;

	if (*n >= max)
		return -HV_E2BIG;
	e = &out[(*n)++];
	memset(e, 0, sizeof(*e));
	e->function = leaf;
	e->index = sub;
	e->flags = indexed(leaf) ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
	e->eax = r.eax;
	e->ebx = r.ebx;
	e->ecx = r.ecx;
	e->edx = r.edx;
	if (host)
		supported_entry(e);
	return 0;
}

/* Whether the supported table lists (leaf, sub) of an indexed leaf. */
static bool listed(uint32_t leaf, uint32_t sub)
{
	switch (leaf) {
	case 4: /* until the cache type reads 0 */
		return sub < 8 && (sub == 0 || (cpuid(4, sub).eax & 0x1f));
	case 0xb:
	case 0x1f: /* until the level type reads 0 */
		return sub < 8 && (sub == 0 || (cpuid(leaf, sub).ecx & 0xff00));
	case 7: /* KVM describes subleaves 0 and 1 */
		return sub <= 1 && sub <= cpuid(7, 0).eax;
	case 0xd:
		return sub < 2 || (held_xcr0() >> sub & 1);
	default:
		return sub == 0;
	}
}

int cpuid_supported(struct kvm_cpuid_entry2 *out, uint32_t max)
{
	uint32_t max_basic = cpuid(0, 0).eax, max_ext = cpuid(0x80000000, 0).eax, n = 0;
	struct cpuid_regs sig = {HV_CPUID_MAX_LEAF, 0, 0, 0};

	if (max_basic > 0x1f)
		max_basic = 0x1f;
	if (max_ext > 0x8000001f)
		max_ext = 0x8000001f;
	for (uint32_t leaf = 0; leaf <= max_basic; leaf++)
		for (uint32_t sub = 0; sub < 64; sub++)
			if (listed(leaf, sub) &&
			    add(out, max, &n, leaf, sub, cpuid(leaf, sub), true) < 0)
				return -HV_E2BIG;
	memcpy(&sig.ebx, HV_CPUID_SIGNATURE, 4);
	memcpy(&sig.ecx, HV_CPUID_SIGNATURE + 4, 4);
	memcpy(&sig.edx, HV_CPUID_SIGNATURE + 8, 4);
	if (add(out, max, &n, HV_CPUID_SIGNATURE_LEAF, 0, sig, false) < 0 ||
	    add(out, max, &n, HV_CPUID_MAX_LEAF, 0, (struct cpuid_regs){0, 0, 0, 0}, false) < 0)
		return -HV_E2BIG;
	for (uint32_t leaf = 0x80000000; leaf <= max_ext; leaf++)
		if (add(out, max, &n, leaf, 0, cpuid(leaf, 0), true) < 0)
			return -HV_E2BIG;
	return (int)n;
}

/* cpuid_entry2_find(): the entry for (leaf, sub), the index mattering only where flagged. */
static const struct kvm_cpuid_entry2 *find(const struct vcpu *v, uint32_t leaf, uint32_t sub)
{
	for (uint32_t i = 0; i < v->cpuid.nent && i < VCPU_CPUID_MAX; i++) {
		const struct kvm_cpuid_entry2 *e = &v->cpuid.e[i];

		if (e->function == leaf &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == sub))
			return e;
	}
	return NULL;
}

static bool vendor_is(const struct kvm_cpuid_entry2 *e, const char *name)
{
	char s[12];

	memcpy(s, &e->ebx, 4);
	memcpy(s + 4, &e->edx, 4);
	memcpy(s + 8, &e->ecx, 4);
	return !memcmp(s, name, 12);
}

/*
 * get_out_of_range_cpuid_entry(): on Intel (not AMD or Hygon) a leaf past
 * its class's maximum (basic, hypervisor 0x100-leaf block, extended,
 * Centaur) answers as the highest basic leaf does.
 */
static const struct kvm_cpuid_entry2 *out_of_range(const struct vcpu *v, uint32_t leaf,
						   uint32_t sub)
{
	const struct kvm_cpuid_entry2 *basic = find(v, 0, 0), *class;

	if (!basic || vendor_is(basic, "AuthenticAMD") || vendor_is(basic, "HygonGenuine"))
		return NULL;
	if (leaf >= 0x40000000 && leaf <= 0x4fffffff)
		class = find(v, leaf & 0xffffff00, 0);
	else if (leaf >= 0xc0000000)
		class = find(v, 0xc0000000, 0);
	else
		class = find(v, leaf & 0x80000000, 0);
	if (class && leaf <= class->eax)
		return NULL;
	return find(v, basic->eax, sub);
}

/* The per-vCPU fields of an entry (kvm_update_cpuid_runtime, and the APIC IDs). */
static void runtime_fields(struct vcpu *v, uint32_t leaf, uint32_t sub, struct cpuid_regs *r)
{
	uint64_t cr4;

	switch (leaf) {
	case 1:
		cr4 = vmcs_readl(VMCS_CR4_READ_SHADOW);
		r->ebx = (r->ebx & 0x00ffffff) | (uint32_t)v->id << 24;
		r->ecx &= ~C1_OSXSAVE;
		if (held_xcr0() != 1 && (cr4 & CR4_OSXSAVE))
			r->ecx |= C1_OSXSAVE;
		r->edx &= ~D1_APIC;
		if (v->apic_base & (1u << 11)) /* the xAPIC global enable */
			r->edx |= D1_APIC;
		break;
	case 7:
		if (sub == 0) {
			cr4 = vmcs_readl(VMCS_CR4_READ_SHADOW);
			r->ecx &= ~C7_OSPKE;
			if ((cpuid(7, 0).ecx & C7_PKU) && (cr4 & G_CR4_PKE))
				r->ecx |= C7_OSPKE;
		}
		break;
	case 0xb:
	case 0x1f: /* the x2APIC ID, as leaf 1's APIC ID */
		r->edx = (uint32_t)v->id;
		break;
	case 0xd:
		if (sub == 0 && r->eax)
			r->ebx = xsave_size(v->xcr0, false);
		else if (sub == 1 && (r->eax & (AD1_XSAVEC | AD1_XSAVES)))
			r->ebx = xsave_size(v->xcr0, true);
		break;
	}
}

struct cpuid_regs vcpu_cpuid(struct vcpu *v, uint32_t leaf, uint32_t subleaf)
{
	const struct kvm_cpuid_entry2 *e = find(v, leaf, subleaf);
	struct cpuid_regs r = {0, 0, 0, 0};

	if (!e)
		e = out_of_range(v, leaf, subleaf);
	if (e) {
		r = (struct cpuid_regs){e->eax, e->ebx, e->ecx, e->edx};
		runtime_fields(v, e->function, subleaf, &r);
	} else if ((leaf == 0xb || leaf == 0x1f) && find(v, leaf, 1)) {
		/* An undefined topology level: ECX[7:0] echoes the subleaf, EDX the x2APIC ID. */
		r.ecx = subleaf & 0xff;
		r.edx = (uint32_t)v->id;
	}
	return r;
}

/* @e masked as KVM_SET_CPUID2 stores it, with the vCPU's runtime fields. */
static struct kvm_cpuid_entry2 as_seen(struct vcpu *v, const struct kvm_cpuid_entry2 *e, bool mask)
{
	struct kvm_cpuid_entry2 out = *e;
	struct cpuid_regs r;

	if (mask)
		cpuid_mask(&out);
	r = (struct cpuid_regs){out.eax, out.ebx, out.ecx, out.edx};
	runtime_fields(v, out.function, out.index, &r);
	out.eax = r.eax;
	out.ebx = r.ebx;
	out.ecx = r.ecx;
	out.edx = r.edx;
	return out;
}

void vcpu_cpuid_get_table(struct vcpu *v, struct kvm_cpuid_entry2 *out)
{
	vcpu_load(v);
	for (uint32_t i = 0; i < v->cpuid.nent && i < VCPU_CPUID_MAX; i++)
		out[i] = as_seen(v, &v->cpuid.e[i], false);
}

bool vcpu_cpuid_equal(struct vcpu *v, const struct kvm_cpuid_entry2 *e, uint32_t nent)
{
	if (nent != v->cpuid.nent)
		return false;
	vcpu_load(v);
	for (uint32_t i = 0; i < nent && i < VCPU_CPUID_MAX; i++) {
		struct kvm_cpuid_entry2 a = as_seen(v, &e[i], true);
		struct kvm_cpuid_entry2 b = as_seen(v, &v->cpuid.e[i], false);

		if (a.function != b.function || a.index != b.index || a.flags != b.flags ||
		    a.eax != b.eax || a.ebx != b.ebx || a.ecx != b.ecx || a.edx != b.edx)
			return false;
	}
	return true;
}

bool vcpu_cpuid_has(const struct vcpu *v, struct cpuid_feature f)
{
	const struct kvm_cpuid_entry2 *e = find(v, f.leaf, f.sub);
	uint32_t r;

	if (!e)
		return false;
	r = f.reg == CPUID_EAX	 ? e->eax
	    : f.reg == CPUID_EBX ? e->ebx
	    : f.reg == CPUID_ECX ? e->ecx
				 : e->edx;
	return r >> f.bit & 1;
}

unsigned vcpu_cpuid_maxphyaddr(const struct vcpu *v)
{
	const struct kvm_cpuid_entry2 *e = find(v, 0x80000000, 0);

	if (!e || e->eax < 0x80000008)
		return 36;
	e = find(v, 0x80000008, 0);
	return e ? e->eax & 0xff : 36;
}

bool cpuid_table_valid(const struct kvm_cpuid_entry2 *e, uint32_t nent)
{
	for (uint32_t i = 0; i < nent; i++) {
		unsigned vaddr_bits = (e[i].eax >> 8) & 0xff;

		if (e[i].function != 0x80000008 ||
		    ((e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e[i].index != 0))
			continue; /* the entry cpuid_entry2_find() would return */
		return vaddr_bits == 0 || vaddr_bits == 48 || vaddr_bits == 57;
	}
	return true;
}

uint64_t vcpu_reserved_gpa_bits(const struct vcpu *v)
{
	unsigned maxphyaddr = vcpu_cpuid_maxphyaddr(v);

	return maxphyaddr >= 64 ? 0 : ~0ull << maxphyaddr;
}

bool vcpu_cpuid_is_intel(const struct vcpu *v)
{
	const struct kvm_cpuid_entry2 *e = find(v, 0, 0);

	return e && vendor_is(e, "GenuineIntel");
}

uint64_t vcpu_cpuid_cr4_reserved(const struct vcpu *v)
{
	static const struct {
		struct cpuid_feature f;
		uint64_t cr4;
	} gated[] = {
	    {CPUID_FEATURE(1, 0, CPUID_ECX, 26), CR4_OSXSAVE},
	    {CPUID_FEATURE(7, 0, CPUID_EBX, 7), G_CR4(20) /* SMEP */},
	    {CPUID_FEATURE(7, 0, CPUID_EBX, 20), G_CR4_SMAP},
	    {CPUID_FEATURE(7, 0, CPUID_EBX, 0), G_CR4_FSGSBASE},
	    {CPUID_FEATURE(7, 0, CPUID_ECX, 3), G_CR4_PKE},
	    {FEAT_PKS, CR4_PKS},
	    {CPUID_FEATURE(7, 0, CPUID_ECX, 16), CR4_LA57},
	    {CPUID_FEATURE(7, 0, CPUID_ECX, 2), G_CR4_UMIP},
	    {CPUID_FEATURE(1, 0, CPUID_ECX, 5), CR4_VMXE},
	    {CPUID_FEATURE(1, 0, CPUID_ECX, 17), CR4_PCIDE},
	};
	uint64_t rsvd = ~(uint64_t)G_CR4_KNOWN;

	for (unsigned i = 0; i < sizeof(gated) / sizeof(gated[0]); i++)
		if (!vcpu_cpuid_has(v, gated[i].f))
			rsvd |= gated[i].cr4;
	return rsvd;
}
