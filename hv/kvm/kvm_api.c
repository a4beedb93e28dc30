// SPDX-License-Identifier: MIT
/*
 * ioctl dispatch: one table per target, each row naming the request and
 * its handler; the argument's shape (an integer, a fixed record, a header
 * and its counted entries) and the fds a request is served on come from
 * the list of abi/kvm_ioctls.h. Untrusted arguments arrive as a
 * hypervisor-side copy; handlers copy the fields they use once more into
 * locals before checking them (vm.c / vcpu.c do the same).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "abi/errno.h"
#include "abi/kvm_ioctls.h"
#include "hv/kvm/kvm_api.h"
#include "hv/lib/log.h"
#include "hv/lib/tsc.h"
#include "vmx/irqchip.h"
#include "vmx/vm.h"
#include "vmx/xstate.h"
#include "vmx/msr.h"
#include "vmx/vcpu.h"
#include "vmx/vmx.h"

/* Upstream's three sets and this hypervisor's extension sets (abi/kvm_x86.h). */
#define KVM_SYNC_SUPPORTED                                                                         \
	(KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS | HV_SYNC_X86_DEBUGREGS |    \
	 HV_SYNC_X86_FPU | HV_SYNC_X86_MSRS)
#define VCPU_MMAP_SIZE (VCPU_RUN_PAGES * 4096)

static struct vm *vms[KVM_API_MAX_VMS];
static uint32_t vm_owners[KVM_API_MAX_VMS]; /* kvm_api_vm_owner() */

struct ioctl_ctx {
	struct vm *vm;
	struct vcpu *vcpu;
	void *arg;
	size_t arg_len;
	uint64_t value; /* integer-argument ioctls */
};

typedef long (*ioctl_fn)(struct ioctl_ctx *c);

struct ioctl_row {
	unsigned long nr;
	ioctl_fn fn;
};

/* KVM_GET/SET_MSRS take fewer entries than this (KVM's MAX_IO_MSRS). */
#define KVM_API_MAX_MSRS 256

/* ---- system and VM-level checks ---------------------------------------- */

static long check_extension(uint64_t cap)
{
	if (!vmx_enabled())
		return 0; /* nothing can run here: every capability is absent */
	switch (cap) {
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_IMMEDIATE_EXIT:
	case KVM_CAP_READONLY_MEM:
	case KVM_CAP_SET_GUEST_DEBUG:
	case KVM_CAP_INTERNAL_ERROR_DATA:
	case KVM_CAP_EXT_CPUID:
	case KVM_CAP_VCPU_EVENTS:
	case KVM_CAP_DEBUGREGS:
	case KVM_CAP_XSAVE: /* an FXSAVE image where the CPU has no XSAVE */
	case KVM_CAP_MP_STATE:
	case KVM_CAP_GET_MSR_FEATURES:
	case KVM_CAP_MSR_PLATFORM_INFO:
	case KVM_CAP_IRQCHIP: /* KVM_CREATE_IRQCHIP: LAPICs, IOAPIC, PICs (vmx/irqchip.h) */
	case KVM_CAP_HLT:
	case KVM_CAP_IRQ_INJECT_STATUS:
	case KVM_CAP_SIGNAL_MSI:
	case KVM_CAP_TSC_DEADLINE_TIMER:
	case KVM_CAP_EXIT_ON_EMULATION_FAILURE:
	case KVM_CAP_X86_MSR_FILTER:
		return 1;
	case KVM_CAP_X86_USER_SPACE_MSR: /* kvm_vm_ioctl_check_extension: yes */
		return 1;
	case HV_CAP_MSR_ALLOWLIST: /* this project's: ranges a VM may have */
		return HV_MSR_ALLOWLIST_MAX_RANGES;
	case KVM_CAP_XSAVE2: /* the buffer KVM_GET_XSAVE2 fills: the 4 KiB image */
		return sizeof(struct kvm_xsave);
	/* KVM_CAP_SPLIT_IRQCHIP, KVM_CAP_X2APIC_API: not offered (0, below). */
	case KVM_CAP_GET_TSC_KHZ:
		return tsc_khz != 0;
	case KVM_CAP_TSC_CONTROL:
		return 0; /* no TSC scaling: KVM_SET_TSC_KHZ takes only the host's rate */
	case KVM_CAP_XCRS:
		return xstate_guest_xcr0_mask() != 1; /* boot_cpu_has(X86_FEATURE_XSAVE) */
	case KVM_CAP_NR_MEMSLOTS:
		return VM_MAX_SLOTS;
	/*
	 * vCPUs take turns on the one CPU whatever their number, so the
	 * recommended count is the limit; ids are below it as well (vcpu_create).
	 */
	case KVM_CAP_NR_VCPUS:
	case KVM_CAP_MAX_VCPUS:
	case KVM_CAP_MAX_VCPU_ID:
		return VM_MAX_VCPUS;
	case KVM_CAP_SYNC_REGS:
		return KVM_SYNC_SUPPORTED;
	default:
		return 0;
	}
}

/* kvm_dev_ioctl(): KVM_GET_API_VERSION takes no argument; any is EINVAL. */
static long sys_api_version(struct ioctl_ctx *c)
{
	return c->value ? -HV_EINVAL : KVM_API_VERSION;
}

static long sys_check_extension(struct ioctl_ctx *c)
{
	return check_extension(c->value);
}

/* kvm_dev_ioctl(): KVM_GET_VCPU_MMAP_SIZE also refuses an argument. */
static long sys_vcpu_mmap_size(struct ioctl_ctx *c)
{
	return c->value ? -HV_EINVAL : VCPU_MMAP_SIZE;
}

/*
 * KVM_GET_MSR_INDEX_LIST as kvm_arch_dev_ioctl(): nmsrs is rewritten to
 * the number needed; fewer than that is E2BIG, and a claimed room the
 * record does not really have is EFAULT (the copy_to_user that fails).
 */
static long msr_list_answer(struct ioctl_ctx *c, const uint32_t *list, uint32_t count)
{
	struct kvm_msr_list *l = c->arg;
	uint32_t room;

	memcpy(&room, &l->nmsrs, sizeof(room));
	l->nmsrs = count;
	if (room < count)
		return -HV_E2BIG;
	if (c->arg_len < sizeof(*l) + (size_t)count * sizeof(uint32_t))
		return -HV_EFAULT;
	memcpy(l->indices, list, count * sizeof(uint32_t));
	return 0;
}

static long sys_msr_index_list(struct ioctl_ctx *c)
{
	static uint32_t list[VCPU_MSR_LIST_MAX]; /* one request at a time */

	return msr_list_answer(c, list, vcpu_msr_index_list(list));
}

/* KVM_GET_MSR_FEATURE_INDEX_LIST: the same rules (kvm_arch_dev_ioctl). */
static long sys_msr_feature_index_list(struct ioctl_ctx *c)
{
	return msr_list_answer(c, msr_feature_list, msr_feature_count);
}

/* A kvm_cpuid2 record: nent (copied once) entries must fit arg_len. */
static long cpuid_room(struct ioctl_ctx *c, uint32_t *nent)
{
	struct kvm_cpuid2 *t = c->arg;

	memcpy(nent, &t->nent, sizeof(*nent));
	if (*nent > VCPU_CPUID_MAX)
		return -HV_E2BIG;
	if (c->arg_len < sizeof(*t) + (size_t)*nent * sizeof(struct kvm_cpuid_entry2))
		return -HV_EFAULT;
	return 0;
}

/*
 * KVM_GET_SUPPORTED_CPUID as kvm_dev_ioctl_get_cpuid(): nent 0 or too
 * small a table is E2BIG, a larger nent is clamped to the maximum, and
 * entries the record has no room for are EFAULT.
 */
static long sys_supported_cpuid(struct ioctl_ctx *c)
{
	static struct kvm_cpuid_entry2 e[VCPU_CPUID_MAX]; /* one request at a time */
	struct kvm_cpuid2 *t = c->arg;
	uint32_t room;
	int n;

	memcpy(&room, &t->nent, sizeof(room));
	if (room < 1)
		return -HV_E2BIG;
	if (room > VCPU_CPUID_MAX)
		room = VCPU_CPUID_MAX;
	n = cpuid_supported(e, room);
	if (n < 0)
		return n;
	if (c->arg_len < sizeof(*t) + (size_t)n * sizeof(e[0]))
		return -HV_EFAULT;
	memcpy(t->entries, e, (size_t)n * sizeof(e[0]));
	t->nent = (uint32_t)n;
	return 0;
}

static long sys_create_vm(struct ioctl_ctx *c)
{
	char name[VM_NAME_MAX];
	int rc;

	if (!vmx_enabled())
		return -HV_ENODEV; /* no VT-x: no VM can be created */
	if (c->value != 0)
		return -HV_EINVAL; /* only the default machine type */
	for (uint32_t h = 0; h < KVM_API_MAX_VMS; h++) {
		if (vms[h])
			continue;
		snprintf(name, sizeof(name), "vm%u", h + 1);
		rc = vm_create(name, &vms[h]);
		vm_owners[h] = KVM_API_OWNER_BOOT;
		return rc < 0 ? rc : (long)(h + 1);
	}
	return -HV_ENOSPC;
}

static long vm_set_region(struct ioctl_ctx *c)
{
	return vm_set_memory_region(c->vm, c->arg);
}

static long vm_create_vcpu(struct ioctl_ctx *c)
{
	struct vcpu *v;
	int rc;

	if (c->value >= VM_MAX_VCPUS)
		return -HV_EINVAL;
	/* kvm_arch_vcpu_precreate(): below KVM_CAP_MAX_VCPU_ID once it is set. */
	if (c->vm->max_vcpu_ids && c->value >= c->vm->max_vcpu_ids)
		return -HV_EINVAL;
	rc = vcpu_create(c->vm, (int)c->value, &v);
	return rc < 0 ? rc : (long)c->value;
}

/* ---- vCPU ------------------------------------------------------------- */

/*
 * KVM_CAP_SYNC_REGS (Linux 6.1 semantics, plus the extension sets of
 * abi/kvm_x86.h): before entering, load the sets named in kvm_dirty_regs
 * from kvm_run.s; after the exit, store the sets named in kvm_valid_regs.
 * The page is shared with the controller, so each mask and each set is
 * copied out once, and only the copy is checked and used.
 */

/*
 * The MSR set's count and entries, copied once. The count is read before
 * and after the entries are copied: a controller that changed it meanwhile
 * gets EINVAL rather than a mix of two lists.
 */
static long sync_msrs_copy(const struct kvm_run *run, struct hv_sync_msrs *m, bool loading)
{
	const volatile uint32_t *live = &run->s.hv.msrs.nmsrs;
	uint32_t n = *live;

	if (n > HV_SYNC_REGS_NUM_MSRS)
		return -HV_E2BIG;
	if (loading && n == 0)
		return -HV_EINVAL;
	memcpy(m->entries, (const void *)run->s.hv.msrs.entries, n * sizeof(m->entries[0]));
	__asm__ volatile("" ::: "memory");
	if (*live != n)
		return -HV_EINVAL;
	m->nmsrs = n;
	return 0;
}

/* All of a load, or nothing run: the first MSR that cannot be set is EINVAL. */
static long sync_msrs_load(struct vcpu *v, const struct hv_sync_msrs *m)
{
	for (uint32_t i = 0; i < m->nmsrs; i++) {
		if (vcpu_msr_write(v, m->entries[i].index, m->entries[i].data, true) < 0) {
			log_warn("vm %s vcpu %d: sync regs: MSR 0x%x cannot be set to 0x%llx",
				 v->vm->name, v->id, m->entries[i].index,
				 (unsigned long long)m->entries[i].data);
			return -HV_EINVAL;
		}
	}
	return 0;
}

/*
 * sync_regs(): each set named in kvm_dirty_regs is loaded in turn and its
 * dirty bit cleared as it is; the first set that cannot be loaded ends
 * KVM_RUN with EINVAL, leaving its bit and the later ones set.
 */
static long sync_regs_in(struct vcpu *v, struct kvm_run *run, const struct hv_sync_msrs *msrs)
{
	uint64_t dirty = *(volatile uint64_t *)&run->kvm_dirty_regs;
	long rc = 0;

	vcpu_load(v);
	if (dirty & KVM_SYNC_X86_REGS) {
		struct kvm_regs regs;

		memcpy(&regs, &run->s.regs.regs, sizeof(regs));
		if (vcpu_set_regs(v, &regs) < 0)
			return -HV_EINVAL;
		run->kvm_dirty_regs &= ~(uint64_t)KVM_SYNC_X86_REGS;
	}
	if (dirty & KVM_SYNC_X86_SREGS) {
		struct kvm_sregs sregs;

		memcpy(&sregs, &run->s.regs.sregs, sizeof(sregs));
		if (vcpu_set_sregs(v, &sregs) < 0)
			return -HV_EINVAL;
		run->kvm_dirty_regs &= ~(uint64_t)KVM_SYNC_X86_SREGS;
	}
	if (dirty & KVM_SYNC_X86_EVENTS) {
		struct kvm_vcpu_events events;

		memcpy(&events, &run->s.regs.events, sizeof(events));
		if (vcpu_set_events(v, &events) < 0)
			return -HV_EINVAL;
		run->kvm_dirty_regs &= ~(uint64_t)KVM_SYNC_X86_EVENTS;
	}
	if (dirty & HV_SYNC_X86_DEBUGREGS) {
		struct kvm_debugregs d;

		memcpy(&d, &run->s.hv.debugregs, sizeof(d));
		if (vcpu_set_debugregs(v, &d) < 0)
			return -HV_EINVAL;
		run->kvm_dirty_regs &= ~(uint64_t)HV_SYNC_X86_DEBUGREGS;
	}
	if (dirty & HV_SYNC_X86_FPU) {
		struct kvm_fpu f;

		memcpy(&f, &run->s.hv.fpu, sizeof(f));
		if (vcpu_set_fpu(v, &f) < 0)
			return -HV_EINVAL;
		run->kvm_dirty_regs &= ~(uint64_t)HV_SYNC_X86_FPU;
	}
	if (dirty & HV_SYNC_X86_MSRS) {
		rc = sync_msrs_load(v, msrs);
		if (rc < 0)
			return rc;
		run->kvm_dirty_regs &= ~(uint64_t)HV_SYNC_X86_MSRS;
	}
	return 0;
}

/* The MSR set stores the entries named when the run began. */
static void sync_regs_out(struct vcpu *v, struct kvm_run *run, const struct hv_sync_msrs *msrs,
			  bool msrs_ok)
{
	uint64_t valid = *(volatile uint64_t *)&run->kvm_valid_regs;

	/* A refused MSR list stays as the caller wrote it. */
	if (!msrs_ok)
		valid &= ~(uint64_t)HV_SYNC_X86_MSRS;

	if (valid & KVM_SYNC_X86_REGS)
		vcpu_get_regs(v, &run->s.regs.regs);
	if (valid & KVM_SYNC_X86_SREGS)
		vcpu_get_sregs(v, &run->s.regs.sregs);
	if (valid & KVM_SYNC_X86_EVENTS)
		vcpu_get_events(v, &run->s.regs.events);
	if (valid & HV_SYNC_X86_DEBUGREGS)
		vcpu_get_debugregs(v, &run->s.hv.debugregs);
	if (valid & HV_SYNC_X86_FPU)
		vcpu_get_fpu(v, &run->s.hv.fpu);
	if (valid & HV_SYNC_X86_MSRS) {
		struct hv_sync_msrs out = *msrs;

		for (uint32_t i = 0; i < out.nmsrs; i++)
			if (vcpu_msr_read(v, out.entries[i].index, &out.entries[i].data, true) < 0)
				out.entries[i].data = 0;
		memcpy(&run->s.hv.msrs, &out, sizeof(out));
	}
}

/*
 * KVM_RUN in kvm_arch_vcpu_ioctl_run()'s order: unknown sync bits are
 * EINVAL, then the dirty sets are loaded, then kvm_run.cr8 (EINVAL if
 * reserved bits are set), then the run. Whatever the result, the valid
 * sets are stored and kvm_run's if_flag, cr8, apic_base and
 * ready_for_interrupt_injection are filled in (store_regs() and
 * post_kvm_run_save() on the way out).
 */
static long vcpu_ioctl_run(struct ioctl_ctx *c)
{
	struct vcpu *v = c->vcpu;
	struct kvm_run *run = v->run;
	uint64_t dirty = *(volatile uint64_t *)&run->kvm_dirty_regs;
	uint64_t valid = *(volatile uint64_t *)&run->kvm_valid_regs;
	struct hv_sync_msrs msrs = {.nmsrs = 0};
	bool msrs_ok = false;
	long rc = 0;

	vcpu_load(v);
	run->flags = 0;
	if ((dirty | valid) & ~(uint64_t)KVM_SYNC_SUPPORTED)
		rc = -HV_EINVAL;
	if (!rc && ((dirty | valid) & HV_SYNC_X86_MSRS)) {
		rc = sync_msrs_copy(run, &msrs, dirty & HV_SYNC_X86_MSRS);
		msrs_ok = rc == 0;
	}
	if (!rc && dirty)
		rc = sync_regs_in(v, run, &msrs);
	if (!rc)
		rc = vcpu_pre_run(v);
	if (!rc)
		rc = vcpu_run(v);
	sync_regs_out(v, run, &msrs, msrs_ok);
	vcpu_post_run_save(v);
	return rc;
}

static long vcpu_ioctl_get_regs(struct ioctl_ctx *c)
{
	return vcpu_get_regs(c->vcpu, c->arg);
}

static long vcpu_ioctl_set_regs(struct ioctl_ctx *c)
{
	return vcpu_set_regs(c->vcpu, c->arg);
}

static long vcpu_ioctl_get_sregs(struct ioctl_ctx *c)
{
	return vcpu_get_sregs(c->vcpu, c->arg);
}

static long vcpu_ioctl_set_sregs(struct ioctl_ctx *c)
{
	return vcpu_set_sregs(c->vcpu, c->arg);
}

/*
 * KVM_GET_MSRS / KVM_SET_MSRS: the count is copied once and must match the
 * bytes supplied; the result is how many entries were done before the
 * first MSR the guest could not access, as in KVM.
 */
static long msr_io(struct ioctl_ctx *c, bool write)
{
	struct kvm_msrs *m = c->arg;
	uint32_t n;
	long done;

	memcpy(&n, &m->nmsrs, sizeof(n));
	if (n >= KVM_API_MAX_MSRS)
		return -HV_E2BIG; /* KVM's MAX_IO_MSRS rule */
	if (c->arg_len != sizeof(*m) + (size_t)n * sizeof(struct kvm_msr_entry))
		return -HV_EFAULT;
	if (c->vcpu)
		vcpu_load(c->vcpu);
	for (done = 0; done < n; done++) {
		struct kvm_msr_entry *e = &m->entries[done];
		uint32_t index = e->index;
		int rc;

		if (!c->vcpu) /* /dev/kvm: the feature MSRs (do_get_msr_feature) */
			rc = msr_feature_read(index, &e->data);
		else if (write)
			rc = vcpu_msr_write(c->vcpu, index, e->data, true);
		else
			rc = vcpu_msr_read(c->vcpu, index, &e->data, true);
		if (rc < 0)
			break;
	}
	return done;
}

static long vcpu_ioctl_get_msrs(struct ioctl_ctx *c)
{
	return msr_io(c, false);
}

static long sys_get_msrs(struct ioctl_ctx *c)
{
	return msr_io(c, false);
}

static long vcpu_ioctl_set_msrs(struct ioctl_ctx *c)
{
	return msr_io(c, true);
}

/* KVM_SET_CPUID2: the table is copied once, then masked, then used. */
static long vcpu_ioctl_set_cpuid2(struct ioctl_ctx *c)
{
	struct kvm_cpuid2 *t = c->arg;
	struct cpuid_table *tab = &c->vcpu->cpuid;
	uint32_t n;
	long rc = cpuid_room(c, &n);

	if (rc < 0)
		return rc;
	/* kvm_set_cpuid(): after the first KVM_RUN only the same table again. */
	if (c->vcpu->has_run)
		return vcpu_cpuid_equal(c->vcpu, t->entries, n) ? 0 : -HV_EINVAL;
	if (!cpuid_table_valid(t->entries, n))
		return -HV_EINVAL; /* kvm_check_cpuid() */
	memcpy(tab->e, t->entries, n * sizeof(tab->e[0]));
	tab->nent = n;
	for (uint32_t i = 0; i < n; i++)
		cpuid_mask(&tab->e[i]);
	vcpu_apic_cpuid_changed(c->vcpu);
	/* kvm_vcpu_after_set_cpuid -> vmx_vcpu_after_set_cpuid: the MSR bitmap follows. */
	vcpu_msr_bitmap_update(c->vcpu);
	return 0;
}

/*
 * kvm_vcpu_ioctl_get_cpuid2(): any nent at least the table's is fine; a
 * smaller one is E2BIG (nent is then left as it was, as upstream).
 */
static long vcpu_ioctl_get_cpuid2(struct ioctl_ctx *c)
{
	struct kvm_cpuid2 *t = c->arg;
	const struct cpuid_table *tab = &c->vcpu->cpuid;
	uint32_t room;

	memcpy(&room, &t->nent, sizeof(room));
	if (room < tab->nent)
		return -HV_E2BIG;
	if (c->arg_len < sizeof(*t) + (size_t)tab->nent * sizeof(struct kvm_cpuid_entry2))
		return -HV_EFAULT;
	t->nent = tab->nent;
	vcpu_cpuid_get_table(c->vcpu, t->entries); /* with the per-vCPU fields */
	return 0;
}

static long vcpu_ioctl_get_fpu(struct ioctl_ctx *c)
{
	return vcpu_get_fpu(c->vcpu, c->arg);
}

static long vcpu_ioctl_set_fpu(struct ioctl_ctx *c)
{
	return vcpu_set_fpu(c->vcpu, c->arg);
}

/* KVM_GET_TSC_KHZ: vcpu->arch.virtual_tsc_khz, the host's rate here. */
static long vcpu_ioctl_get_tsc_khz(struct ioctl_ctx *c)
{
	return tsc_khz;
}

/*
 * KVM_SET_TSC_KHZ without TSC scaling (kvm_set_tsc_khz, set_tsc_khz): 0
 * means the host's rate; a rate within tsc_tolerance_ppm (250) of it is
 * taken as it; any other rate is EINVAL.
 */
static long vcpu_ioctl_set_tsc_khz(struct ioctl_ctx *c)
{
	uint64_t khz = c->value, tol = (uint64_t)tsc_khz * 250 / 1000000;

	if (!tsc_khz || khz >= UINT32_MAX)
		return -HV_EINVAL;
	if (khz == 0 || (khz + tol >= tsc_khz && khz <= tsc_khz + tol))
		return 0;
	return -HV_EINVAL;
}

static long vcpu_ioctl_get_xsave(struct ioctl_ctx *c)
{
	return vcpu_get_xsave(c->vcpu, c->arg);
}

static long vcpu_ioctl_set_xsave(struct ioctl_ctx *c)
{
	return vcpu_set_xsave(c->vcpu, c->arg);
}

static long vcpu_ioctl_get_xcrs(struct ioctl_ctx *c)
{
	return vcpu_get_xcrs(c->vcpu, c->arg);
}

static long vcpu_ioctl_set_xcrs(struct ioctl_ctx *c)
{
	return vcpu_set_xcrs(c->vcpu, c->arg);
}

static long vcpu_ioctl_get_mp_state(struct ioctl_ctx *c)
{
	return vcpu_get_mp_state(c->vcpu, c->arg);
}

static long vcpu_ioctl_set_mp_state(struct ioctl_ctx *c)
{
	return vcpu_set_mp_state(c->vcpu, c->arg);
}

static long vcpu_ioctl_get_debugregs(struct ioctl_ctx *c)
{
	return vcpu_get_debugregs(c->vcpu, c->arg);
}

static long vcpu_ioctl_set_debugregs(struct ioctl_ctx *c)
{
	return vcpu_set_debugregs(c->vcpu, c->arg);
}

static long vcpu_ioctl_get_events(struct ioctl_ctx *c)
{
	return vcpu_get_events(c->vcpu, c->arg);
}

static long vcpu_ioctl_set_events(struct ioctl_ctx *c)
{
	return vcpu_set_events(c->vcpu, c->arg);
}

/*
 * KVM_ENABLE_CAP. flags must be 0 (KVM's rule). No capability here needs
 * enabling (KVM_CAP_SYNC_REGS works without it, as upstream), so every
 * other cap is EINVAL, on a VM and on a vCPU alike, as KVM answers for
 * one it does not know.
 */
/*
 * KVM_ENABLE_CAP on a VM (kvm_vm_ioctl_enable_cap): flags must be 0;
 * KVM_CAP_MAX_VCPU_ID takes a limit up to KVM_MAX_VCPU_IDS once (the same
 * value again is fine); KVM_CAP_MSR_PLATFORM_INFO says whether the guest
 * may read MSR_PLATFORM_INFO; KVM_CAP_EXIT_ON_EMULATION_FAILURE (0 or 1)
 * whether an instruction the hypervisor cannot emulate always exits
 * instead of giving the guest #UD. On a vCPU nothing can be enabled here. Any
 * other capability is EINVAL, as upstream for one it does not know.
 */
static long ioctl_enable_cap(struct ioctl_ctx *c)
{
	struct kvm_enable_cap cap;
	struct vm *vm = c->vm;

	memcpy(&cap, c->arg, sizeof(cap));
	if (cap.flags)
		return -HV_EINVAL;
	if (!c->vcpu && cap.cap == KVM_CAP_MAX_VCPU_ID) {
		if (cap.args[0] > VM_MAX_VCPUS)
			return -HV_EINVAL;
		if (vm->max_vcpu_ids && vm->max_vcpu_ids != cap.args[0])
			return -HV_EINVAL;
		vm->max_vcpu_ids = (uint32_t)cap.args[0];
		return 0;
	}
	if (!c->vcpu && cap.cap == KVM_CAP_MSR_PLATFORM_INFO) {
		vm->guest_can_read_platform_info = cap.args[0] != 0;
		return 0;
	}
	/* kvm_vm_ioctl_enable_cap: the reasons a refused guest MSR access exits for. */
	if (!c->vcpu && cap.cap == KVM_CAP_X86_USER_SPACE_MSR) {
		if (cap.args[0] & ~(uint64_t)KVM_MSR_EXIT_REASON_VALID_MASK)
			return -HV_EINVAL;
		vm->user_space_msr_mask = (uint32_t)cap.args[0];
		return 0;
	}
	if (!c->vcpu && cap.cap == KVM_CAP_EXIT_ON_EMULATION_FAILURE) {
		if (cap.args[0] & ~1ull)
			return -HV_EINVAL;
		vm->exit_on_emulation_failure = cap.args[0];
		return 0;
	}
	log_info("vm %s: KVM_ENABLE_CAP %u refused: not a capability that can be enabled here",
		 vm->name, cap.cap);
	return -HV_EINVAL;
}

/* KVM_X86_SET_MSR_FILTER: the marshalled record (abi/kvm_ioctls.h), checked in vmx/msr_filter.c. */
static long vm_ioctl_set_msr_filter(struct ioctl_ctx *c)
{
	return vm_set_msr_filter(c->vm, c->arg, c->arg_len);
}

/* HV_ADD_MSR_ALLOWLIST / HV_CLEAR_MSR_ALLOWLIST: this project's allow-lists (abi/kvm_x86.h). */
static long vm_ioctl_add_msr_allowlist(struct ioctl_ctx *c)
{
	return vm_add_msr_allowlist(c->vm, c->arg, c->arg_len);
}

static long vm_ioctl_clear_msr_allowlist(struct ioctl_ctx *c)
{
	vm_clear_msr_allowlist(c->vm);
	return 0;
}

static long vcpu_ioctl_interrupt(struct ioctl_ctx *c)
{
	struct kvm_interrupt irq;

	memcpy(&irq, c->arg, sizeof(irq));
	return vcpu_interrupt(c->vcpu, irq.irq);
}

/* ---- the in-hypervisor irqchip (vmx/irqchip.h) ------------------------ */

static long vm_ioctl_create_irqchip(struct ioctl_ctx *c)
{
	return vm_create_irqchip(c->vm);
}

/*
 * KVM_IRQ_LINE / KVM_IRQ_LINE_STATUS (kvm_vm_ioctl_irq_line): the level
 * of a GSI; the _STATUS form writes kvm_set_irq's result back in status.
 */
static long irq_line(struct ioctl_ctx *c, bool status)
{
	struct kvm_irq_level l;
	int rc;

	memcpy(&l, c->arg, sizeof(l));
	rc = vm_irq_line(c->vm, l.irq, l.level != 0);
	if (rc == -HV_ENXIO)
		return rc;
	if (status) {
		l.status = rc;
		memcpy(c->arg, &l, sizeof(l));
	}
	return 0;
}

static long vm_ioctl_irq_line(struct ioctl_ctx *c)
{
	return irq_line(c, false);
}

static long vm_ioctl_irq_line_status(struct ioctl_ctx *c)
{
	return irq_line(c, true);
}

static long vm_ioctl_get_irqchip(struct ioctl_ctx *c)
{
	struct kvm_irqchip chip;
	int rc;

	memcpy(&chip, c->arg, sizeof(chip));
	rc = vm_get_irqchip(c->vm, &chip);
	if (rc == 0)
		memcpy(c->arg, &chip, sizeof(chip));
	return rc;
}

static long vm_ioctl_set_irqchip(struct ioctl_ctx *c)
{
	struct kvm_irqchip chip;

	memcpy(&chip, c->arg, sizeof(chip));
	return vm_set_irqchip(c->vm, &chip);
}

static long vm_ioctl_signal_msi(struct ioctl_ctx *c)
{
	struct kvm_msi msi;

	memcpy(&msi, c->arg, sizeof(msi));
	return vm_signal_msi(c->vm, &msi);
}

static long vcpu_ioctl_get_lapic(struct ioctl_ctx *c)
{
	return vcpu_get_lapic(c->vcpu, c->arg);
}

static long vcpu_ioctl_set_lapic(struct ioctl_ctx *c)
{
	struct kvm_lapic_state s;

	memcpy(&s, c->arg, sizeof(s));
	return vcpu_set_lapic(c->vcpu, &s);
}

static long vcpu_ioctl_nmi(struct ioctl_ctx *c)
{
	vcpu_queue_nmi(c->vcpu);
	return 0;
}

static long vcpu_ioctl_guest_debug(struct ioctl_ctx *c)
{
	return vcpu_set_guest_debug(c->vcpu, c->arg);
}

/* ---- tables ------------------------------------------------------------ */

static const struct ioctl_row system_ioctls[] = {
    {.nr = KVM_GET_API_VERSION, .fn = sys_api_version},
    {.nr = KVM_CHECK_EXTENSION, .fn = sys_check_extension},
    {.nr = KVM_GET_VCPU_MMAP_SIZE, .fn = sys_vcpu_mmap_size},
    {.nr = KVM_CREATE_VM, .fn = sys_create_vm},
    {.nr = KVM_GET_MSR_INDEX_LIST, .fn = sys_msr_index_list},
    {.nr = KVM_GET_SUPPORTED_CPUID, .fn = sys_supported_cpuid},
    {.nr = KVM_GET_MSR_FEATURE_INDEX_LIST, .fn = sys_msr_feature_index_list},
    {.nr = KVM_GET_MSRS, .fn = sys_get_msrs},
};

static const struct ioctl_row vm_ioctls[] = {
    {.nr = KVM_CHECK_EXTENSION, .fn = sys_check_extension},
    {.nr = KVM_X86_SET_MSR_FILTER, .fn = vm_ioctl_set_msr_filter},
    {.nr = HV_ADD_MSR_ALLOWLIST, .fn = vm_ioctl_add_msr_allowlist},
    {.nr = HV_CLEAR_MSR_ALLOWLIST, .fn = vm_ioctl_clear_msr_allowlist},
    {.nr = KVM_SET_USER_MEMORY_REGION, .fn = vm_set_region},
    {.nr = KVM_CREATE_VCPU, .fn = vm_create_vcpu},
    {.nr = KVM_ENABLE_CAP, .fn = ioctl_enable_cap},
    {.nr = KVM_CREATE_IRQCHIP, .fn = vm_ioctl_create_irqchip},
    {.nr = KVM_IRQ_LINE, .fn = vm_ioctl_irq_line},
    {.nr = KVM_IRQ_LINE_STATUS, .fn = vm_ioctl_irq_line_status},
    {.nr = KVM_GET_IRQCHIP, .fn = vm_ioctl_get_irqchip},
    {.nr = KVM_SET_IRQCHIP, .fn = vm_ioctl_set_irqchip},
    {.nr = KVM_SIGNAL_MSI, .fn = vm_ioctl_signal_msi},
};

static const struct ioctl_row vcpu_ioctls[] = {
    {.nr = KVM_RUN, .fn = vcpu_ioctl_run},
    {.nr = KVM_GET_REGS, .fn = vcpu_ioctl_get_regs},
    {.nr = KVM_SET_REGS, .fn = vcpu_ioctl_set_regs},
    {.nr = KVM_GET_SREGS, .fn = vcpu_ioctl_get_sregs},
    {.nr = KVM_SET_SREGS, .fn = vcpu_ioctl_set_sregs},
    {.nr = KVM_INTERRUPT, .fn = vcpu_ioctl_interrupt},
    {.nr = KVM_NMI, .fn = vcpu_ioctl_nmi},
    {.nr = KVM_SET_GUEST_DEBUG, .fn = vcpu_ioctl_guest_debug},
    {.nr = KVM_GET_MSRS, .fn = vcpu_ioctl_get_msrs},
    {.nr = KVM_SET_MSRS, .fn = vcpu_ioctl_set_msrs},
    {.nr = KVM_SET_CPUID2, .fn = vcpu_ioctl_set_cpuid2},
    {.nr = KVM_GET_CPUID2, .fn = vcpu_ioctl_get_cpuid2},
    {.nr = KVM_GET_FPU, .fn = vcpu_ioctl_get_fpu},
    {.nr = KVM_SET_FPU, .fn = vcpu_ioctl_set_fpu},
    {.nr = KVM_GET_DEBUGREGS, .fn = vcpu_ioctl_get_debugregs},
    {.nr = KVM_SET_DEBUGREGS, .fn = vcpu_ioctl_set_debugregs},
    {.nr = KVM_GET_TSC_KHZ, .fn = vcpu_ioctl_get_tsc_khz},
    {.nr = KVM_SET_TSC_KHZ, .fn = vcpu_ioctl_set_tsc_khz},
    {.nr = KVM_GET_XSAVE, .fn = vcpu_ioctl_get_xsave},
    {.nr = KVM_SET_XSAVE, .fn = vcpu_ioctl_set_xsave},
    {.nr = KVM_GET_XSAVE2, .fn = vcpu_ioctl_get_xsave},
    {.nr = KVM_GET_LAPIC, .fn = vcpu_ioctl_get_lapic},
    {.nr = KVM_SET_LAPIC, .fn = vcpu_ioctl_set_lapic},
    {.nr = KVM_GET_XCRS, .fn = vcpu_ioctl_get_xcrs},
    {.nr = KVM_SET_XCRS, .fn = vcpu_ioctl_set_xcrs},
    {.nr = KVM_GET_MP_STATE, .fn = vcpu_ioctl_get_mp_state},
    {.nr = KVM_SET_MP_STATE, .fn = vcpu_ioctl_set_mp_state},
    {.nr = KVM_GET_VCPU_EVENTS, .fn = vcpu_ioctl_get_events},
    {.nr = KVM_SET_VCPU_EVENTS, .fn = vcpu_ioctl_set_events},
    {.nr = KVM_ENABLE_CAP, .fn = ioctl_enable_cap},
};

#define ROWS(t) t, sizeof(t) / sizeof(t[0])

static const struct ioctl_row *find(const struct ioctl_row *rows, size_t n, unsigned long nr)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].nr == nr)
			return &rows[i];
	return NULL;
}

static struct vcpu *find_vcpu(struct vm *vm, uint32_t id)
{
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		if ((uint32_t)vm->vcpus[i]->id == id)
			return vm->vcpus[i];
	return NULL;
}

struct vm *kvm_api_vm(uint32_t h)
{
	return h >= 1 && h <= KVM_API_MAX_VMS ? vms[h - 1] : NULL;
}

struct kvm_run *kvm_api_run_page(uint32_t h, uint32_t id)
{
	struct vm *vm = kvm_api_vm(h);
	struct vcpu *v = vm ? find_vcpu(vm, id) : NULL;

	return v ? v->run : NULL;
}

int kvm_api_destroy_vm(uint32_t h)
{
	struct vm *vm = kvm_api_vm(h);

	if (!vm)
		return -HV_EBADF;
	vm_destroy(vm);
	vms[h - 1] = NULL;
	vm_owners[h - 1] = KVM_API_OWNER_BOOT;
	return 0;
}

/*
 * The shape of @nr from abi/kvm_ioctls.h. The last answer is kept: a
 * controller mostly repeats KVM_RUN (requests are served one at a time).
 */
static const struct kvm_ioctl_desc *shape_of(unsigned long nr)
{
	static const struct kvm_ioctl_desc *last;

	if (!last || last->nr != nr)
		last = kvm_ioctl_find(nr);
	return last;
}

long kvm_api_ioctl(enum kvm_target target, uint32_t vm, uint32_t vcpu, unsigned long nr, void *arg,
		   size_t arg_len)
{
	struct ioctl_ctx c = {.arg = arg, .arg_len = arg_len};
	const struct kvm_ioctl_desc *d = shape_of(nr);
	const struct ioctl_row *row;
	unsigned int fd_kind;

	/*
	 * An unknown request is what Linux answers on that kind of fd: EINVAL
	 * on /dev/kvm and on a vCPU, ENOTTY on a VM.
	 */
	switch (target) {
	case KVM_TARGET_SYSTEM:
		fd_kind = HV_FD_SYSTEM;
		row = find(ROWS(system_ioctls), nr);
		break;
	case KVM_TARGET_VM:
		fd_kind = HV_FD_VM;
		c.vm = kvm_api_vm(vm);
		if (!c.vm)
			return -HV_EBADF;
		row = find(ROWS(vm_ioctls), nr);
		break;
	case KVM_TARGET_VCPU:
		fd_kind = HV_FD_VCPU;
		c.vm = kvm_api_vm(vm);
		c.vcpu = c.vm ? find_vcpu(c.vm, vcpu) : NULL;
		if (!c.vcpu)
			return -HV_EBADF;
		row = find(ROWS(vcpu_ioctls), nr);
		break;
	default:
		return -HV_EBADF;
	}
	if (!row || !d || !(d->fds & fd_kind))
		return target == KVM_TARGET_VM ? -HV_ENOTTY : -HV_EINVAL;
	switch (d->shape) {
	case HV_SHAPE_INT:
		/* Integer argument: up to 8 bytes, little-endian. */
		if (arg_len > sizeof(c.value))
			return -HV_EINVAL;
		if (arg_len)
			memcpy(&c.value, arg, arg_len);
		break;
	case HV_SHAPE_COUNTED:
		/* The header at least; the handler checks the entries its count names. */
		if (arg_len < d->size)
			return -HV_EFAULT; /* the record is not all there */
		break;
	default:
		/* KVM_X86_SET_MSR_FILTER's bitmaps follow it (abi/kvm_ioctls.h). */
		if (arg_len < d->size || arg_len != kvm_ioctl_record_len(nr, arg, arg_len))
			return -HV_EFAULT; /* the record is not all there */
		break;
	}
	return row->fn(&c);
}

uint32_t kvm_api_vm_owner(uint32_t h)
{
	return kvm_api_vm(h) ? vm_owners[h - 1] : 0;
}

int kvm_api_set_vm_owner(uint32_t h, uint32_t owner)
{
	if (!kvm_api_vm(h))
		return -HV_EBADF;
	vm_owners[h - 1] = owner;
	return 0;
}
