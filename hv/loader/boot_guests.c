// SPDX-License-Identifier: MIT
#include <string.h>

#include "abi/hv_guest.h"
#include "hv/loader/boot_guests.h"
#include "hv/loader/guest_loader.h"
#include "hv/loader/guest_tables.h"
#include "hv/kvm/kvm_api.h"
#include "hv/lib/log.h"
#include "hv/lib/mm.h"
#include "vmx/vm.h"
#include "hv/lib/x86.h"
#include "vmx/vcpu.h"

/* Guest COM1: enough of a 16550 for drivers that probe and program it. */
#define COM_THR		 0
#define COM_LCR		 3
#define COM_LSR		 5
#define COM_LCR_DLAB	 0x80
#define COM_LSR_IDLE	 0x60 /* transmitter empty: a guest never waits */
#define LOG_NOISE_LIMIT	 8    /* unassigned accesses logged per guest */
#define CONSOLE_LINE_MAX 200

extern const uint8_t demo_guest_start[], demo_guest_end[];

struct guest_run {
	uint32_t handle; /* the VM, as KVM_CREATE_VM returned it */
	struct vm *vm;
	struct kvm_run *run;	/* vCPU 0's kvm_run ("mmap" of the vCPU) */
	uint8_t com_regs[8];	/* last value written per register */
	uint8_t com_divisor[2]; /* DLL, DLM: offsets 0 and 1 while DLAB is set */
	char line[CONSOLE_LINE_MAX + 1];
	unsigned line_len;
	unsigned noise;
	unsigned breakpoints;
	bool done;
};

static void console_byte(struct guest_run *g, uint8_t c)
{
	if (c == '\r')
		return;
	if (c != '\n' && g->line_len < CONSOLE_LINE_MAX) {
		g->line[g->line_len++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		return;
	}
	g->line[g->line_len] = 0;
	log_info("[%s] %s", g->vm->name, g->line);
	g->line_len = 0;
}

static void noise(struct guest_run *g, const char *what, uint64_t addr, bool write, uint64_t val)
{
	if (g->noise++ >= LOG_NOISE_LIMIT) {
		if (g->noise == LOG_NOISE_LIMIT + 1)
			log_info("vm %s: further unassigned accesses not logged", g->vm->name);
	} else if (write) {
		log_info("vm %s: %s 0x%llx write 0x%llx ignored (unassigned)", g->vm->name, what,
			 (unsigned long long)addr, (unsigned long long)val);
	} else {
		log_info("vm %s: %s 0x%llx read as all ones (unassigned)", g->vm->name, what,
			 (unsigned long long)addr);
	}
}

static bool is_com1(uint16_t port)
{
	return port >= HV_GUEST_COM1_PORT && port < HV_GUEST_COM1_PORT + 8;
}

static void com1_write(struct guest_run *g, unsigned reg, uint8_t val)
{
	bool dlab = g->com_regs[COM_LCR] & COM_LCR_DLAB;

	if (dlab && reg < 2)
		g->com_divisor[reg] = val;
	else if (reg == COM_THR)
		console_byte(g, val);
	else
		g->com_regs[reg] = val;
}

static uint8_t com1_read(struct guest_run *g, unsigned reg)
{
	if (g->com_regs[COM_LCR] & COM_LCR_DLAB && reg < 2)
		return g->com_divisor[reg];
	if (reg == COM_LSR)
		return COM_LSR_IDLE;
	if (reg == COM_THR)
		return 0; /* nothing is ever received */
	return g->com_regs[reg];
}

/* One element of a port access (count > 1 for INS/OUTS). */
static void io_element(struct guest_run *g, bool out, uint16_t port, uint8_t *data, uint8_t size)
{
	uint32_t val = 0;

	memcpy(&val, data, size);
	if (out) {
		if (is_com1(port)) {
			com1_write(g, port - HV_GUEST_COM1_PORT, (uint8_t)val);
		} else if (port == HV_GUEST_RESULT_PORT) {
			log_info("vm %s: result 0x%x (%s)", g->vm->name, val,
				 val == HV_GUEST_RESULT_PASS ? "pass" : "FAIL");
			g->done = true;
		} else {
			noise(g, "port", port, true, val);
		}
		return;
	}
	if (is_com1(port)) {
		memset(data, 0, size);
		data[0] = com1_read(g, port - HV_GUEST_COM1_PORT);
	} else {
		memset(data, 0xff, size);
		noise(g, "port", port, false, 0);
	}
}

static void handle_io(struct guest_run *g)
{
	struct kvm_run *run = g->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	for (uint32_t i = 0; i < run->io.count && !g->done; i++)
		io_element(g, run->io.direction == KVM_EXIT_IO_OUT, run->io.port,
			   data + (size_t)i * run->io.size, run->io.size);
}

static void handle_mmio(struct guest_run *g)
{
	struct kvm_run *run = g->run;
	uint64_t val = 0;

	if (run->mmio.is_write) {
		memcpy(&val, run->mmio.data, run->mmio.len);
		noise(g, "mmio", run->mmio.phys_addr, true, val);
	} else {
		memset(run->mmio.data, 0xff, run->mmio.len);
		noise(g, "mmio", run->mmio.phys_addr, false, 0);
	}
}

/* One KVM_RUN result: false when the guest has ended. */
static long vcpu_ioctl(struct guest_run *g, unsigned long nr, void *arg, size_t len)
{
	return kvm_api_ioctl(KVM_TARGET_VCPU, g->handle, 0, nr, arg, len);
}

static bool handle_exit(struct guest_run *g, long rc)
{
	struct kvm_run *run = g->run;
	const char *name = g->vm->name;

	if (rc < 0 && run->exit_reason != KVM_EXIT_INTR) {
		log_err("vm %s: KVM_RUN failed: %ld", name, rc);
		return false;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(g);
		return !g->done;
	case KVM_EXIT_MMIO:
		handle_mmio(g);
		return true;
	case KVM_EXIT_HLT:
		log_info("vm %s: halted (KVM_EXIT_HLT)", name);
		return false;
	case KVM_EXIT_SHUTDOWN:
		log_info("vm %s: triple fault (KVM_EXIT_SHUTDOWN)", name);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		log_info("vm %s: VM entry failed (KVM_EXIT_FAIL_ENTRY), hardware reason 0x%llx",
			 name, (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		log_info("vm %s: internal error (KVM_EXIT_INTERNAL_ERROR) suberror %u, data 0x%llx "
			 "0x%llx",
			 name, run->internal.suberror,
			 (unsigned long long)(run->internal.ndata > 0 ? run->internal.data[0] : 0),
			 (unsigned long long)(run->internal.ndata > 1 ? run->internal.data[1] : 0));
		return false;
	case KVM_EXIT_INTR:
		log_info("vm %s: stopped (KVM_EXIT_INTR)", name);
		return false;
	case KVM_EXIT_DEBUG: {
		/* No breakpoints of our own: every INT3 is the guest's. */
		struct kvm_guest_debug dbg = {
		    .control =
			KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP | KVM_GUESTDBG_INJECT_BP,
		};

		if (g->breakpoints++ < LOG_NOISE_LIMIT)
			log_info("vm %s: breakpoint at 0x%llx (KVM_EXIT_DEBUG), handed back to the "
				 "guest",
				 name, (unsigned long long)run->debug.arch.pc);
		else if (g->breakpoints == LOG_NOISE_LIMIT + 1)
			log_info("vm %s: further breakpoints not logged", name);
		return vcpu_ioctl(g, KVM_SET_GUEST_DEBUG, &dbg, sizeof(dbg)) == 0;
	}
	default:
		log_info("vm %s: unexpected exit reason %u", name, run->exit_reason);
		return false;
	}
}

/*
 * The loader's entry state: segments and CR0 through KVM_SET_SREGS, the
 * registers through kvm_run.s (KVM_CAP_SYNC_REGS), loaded by the first
 * KVM_RUN.
 */
static long set_entry_state(struct guest_run *g, const struct guest_entry *e)
{
	struct kvm_sregs s;
	struct kvm_regs *r = &g->run->s.regs.regs;
	long rc = vcpu_ioctl(g, KVM_GET_SREGS, &s, sizeof(s));

	if (rc < 0)
		return rc;
	if (e->mode == GUEST_MODE_PROTECTED32) {
		struct kvm_segment code = {.base = 0,
					   .limit = 0xffffffff,
					   .selector = 0x08,
					   .type = 11,
					   .present = 1,
					   .s = 1,
					   .db = 1,
					   .g = 1};
		struct kvm_segment data = code;

		data.selector = 0x10;
		data.type = 3;
		s.cs = code;
		s.ds = s.es = s.fs = s.gs = s.ss = data;
		s.cr0 = 0x11; /* PE | ET */
	} else {
		struct kvm_segment seg = {.limit = 0xffff, .type = 3, .present = 1, .s = 1};

		s.ds = s.es = s.fs = s.gs = s.ss = seg;
		seg.type = 11;
		seg.selector = e->cs;
		seg.base = (uint64_t)e->cs << 4;
		s.cs = seg;
		s.cr0 = 0x10; /* ET */
	}
	rc = vcpu_ioctl(g, KVM_SET_SREGS, &s, sizeof(s));
	if (rc < 0)
		return rc;
	memset(r, 0, sizeof(*r));
	r->rip = e->rip;
	r->rsp = e->rsp;
	r->rax = e->rax;
	r->rbx = e->rbx;
	r->rflags = 2;
	g->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	return 0;
}

/*
 * KVM_CREATE_VM, one RAM slot at guest-physical 0, KVM_CREATE_IRQCHIP when
 * asked (before any vCPU, as KVM requires), vCPU 0: the controller's part
 * of every VM it starts. On failure g->handle says what to close.
 */
static long open_vm(struct guest_run *g, const char *name, uint64_t mem_size, bool irqchip)
{
	struct kvm_userspace_memory_region ram = {.slot = 0, .memory_size = mem_size};
	uint64_t vcpu_id = 0;
	long rc = kvm_api_ioctl(KVM_TARGET_SYSTEM, 0, 0, KVM_CREATE_VM, NULL, 0);

	if (rc < 0)
		return rc;
	g->handle = (uint32_t)rc;
	g->vm = kvm_api_vm(g->handle);
	strncpy(g->vm->name, name, sizeof(g->vm->name) - 1);
	rc = kvm_api_ioctl(KVM_TARGET_VM, g->handle, 0, KVM_SET_USER_MEMORY_REGION, &ram,
			   sizeof(ram));
	if (rc == 0 && irqchip) {
		rc = kvm_api_ioctl(KVM_TARGET_VM, g->handle, 0, KVM_CREATE_IRQCHIP, NULL, 0);
		if (rc < 0)
			log_err("vm %s: KVM_CREATE_IRQCHIP failed: %ld", name, rc);
	}
	if (rc == 0)
		rc = kvm_api_ioctl(KVM_TARGET_VM, g->handle, 0, KVM_CREATE_VCPU, &vcpu_id,
				   sizeof(vcpu_id));
	if (rc == 0)
		g->run = kvm_api_run_page(g->handle, 0);
	return rc;
}

/*
 * With an irqchip, the MP and ACPI tables that tell the guest about it.
 * The MP processor entries carry the CPU's own signature and feature
 * flags (informational: kernels read CPUID themselves).
 */
static long write_tables(const struct guest_spec *spec, uint8_t *mem,
			 struct guest_boot_extra *extra, struct guest_tables *t)
{
	struct cpuid_regs id = cpuid(1, 0);
	struct guest_tables_cfg cfg = {.ncpus = 1, .cpu_signature = id.eax, .cpu_features = id.edx};
	long rc = guest_tables_write(mem, spec->mem_size, &cfg, t);

	if (rc < 0)
		return rc;
	extra->rsdp = t->rsdp_copy;
	extra->rsdp_len = sizeof(t->rsdp_copy);
	log_info("vm %s: irqchip: LAPIC at 0x%x, IOAPIC at 0x%x; MP table at 0x%x (pointer "
		 "0x%x), ACPI RSDP at 0x%x, MADT at 0x%x",
		 spec->name, GUEST_LAPIC_ADDR, GUEST_IOAPIC_ADDR, t->mp_table, t->mp_pointer,
		 t->rsdp, t->madt);
	return 0;
}

/* VM, memory and vCPU through the KVM API, then the image into memory. */
static long create_guest(struct guest_run *g, const struct guest_spec *spec, const uint8_t *image,
			 size_t len, const struct guest_module *mods, unsigned n_mods)
{
	/* Every INT3 exits first, so KVM_EXIT_DEBUG is seen and logged. */
	struct kvm_guest_debug dbg = {.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP};
	struct guest_boot_extra extra = {.mods = mods, .n_mods = n_mods};
	struct guest_tables tables;
	struct guest_entry entry;
	uint8_t *mem = NULL;
	long rc = open_vm(g, spec->name, spec->mem_size, spec->irqchip);

	if (rc == 0)
		mem = vm_gpa_to_hva(g->vm, 0, spec->mem_size);
	if (rc == 0 && spec->irqchip)
		rc = write_tables(spec, mem, &extra, &tables);
	if (rc == 0)
		rc = guest_load_extra(spec, image, len, &extra, mem, spec->mem_size, &entry);
	if (rc < 0)
		return rc;
	rc = set_entry_state(g, &entry);
	if (rc == 0)
		rc = vcpu_ioctl(g, KVM_SET_GUEST_DEBUG, &dbg, sizeof(dbg));
	if (rc == 0 && spec->tsc_budget)
		g->vm->vcpus[0]->tsc_deadline = rdtsc() + spec->tsc_budget;
	if (rc == 0)
		log_info("vm %s: started, %llu MiB, entry 0x%llx", spec->name,
			 (unsigned long long)(spec->mem_size >> 20), (unsigned long long)entry.rip);
	return rc;
}

static int run_guest(const struct guest_spec *spec, const uint8_t *image, size_t len,
		     const struct guest_module *mods, unsigned n_mods)
{
	struct guest_run g = {0};
	long rc = create_guest(&g, spec, image, len, mods, n_mods);

	if (rc < 0) {
		log_err("vm %s: not started (%ld)", spec->name, rc);
		if (g.handle)
			kvm_api_destroy_vm(g.handle);
		return (int)rc;
	}
	while (handle_exit(&g, vcpu_ioctl(&g, KVM_RUN, NULL, 0)))
		;
	if (g.line_len)
		console_byte(&g, '\n');
	vm_print_stats(g.vm);
	kvm_api_destroy_vm(g.handle);
	return 0;
}

unsigned boot_guests_run(const struct mb2_info *mb)
{
	unsigned failed = 0;
	struct guest_spec spec;

	if (!mb->n_modules) {
		log_info("hv: no guest modules: running the built-in demo guest");
		if (guest_spec_parse("name=demo type=mb1 mem=4M", 0, &spec) < 0 ||
		    run_guest(&spec, demo_guest_start, demo_guest_end - demo_guest_start, NULL, 0) <
			0)
			failed++;
		return failed;
	}
	for (unsigned i = 0; i < mb->n_modules; i++) {
		const struct mb2_module *m = &mb->modules[i];
		struct guest_module mods[GUEST_MODULES_MAX];
		unsigned n = 0;
		int rc = guest_spec_parse(m->cmdline, i, &spec);

		/* modules=N: the next N GRUB modules are this guest's, not guests. */
		for (; rc == 0 && n < spec.n_modules && i + 1 + n < mb->n_modules; n++) {
			const struct mb2_module *d = &mb->modules[i + 1 + n];

			mods[n] = (struct guest_module){.data = phys_to_virt(d->start),
							.len = d->end - d->start,
							.string = d->cmdline};
		}
		if (rc == 0 && n < spec.n_modules) {
			log_err("vm %s: modules=%u but only %u GRUB module%s follow%s", spec.name,
				spec.n_modules, n, n == 1 ? "" : "s", n == 1 ? "s" : "");
			rc = -1;
		}
		if (rc == 0)
			rc = run_guest(&spec, phys_to_virt(m->start), m->end - m->start, mods, n);
		if (rc < 0) {
			log_err("hv: module %u ('%s') not run; carrying on", i, m->cmdline);
			failed++;
		}
		i += n;
	}
	return failed;
}

int boot_guests_entry_failure_selftest(void)
{
	struct guest_run g = {0};
	struct kvm_sregs s;
	long rc = open_vm(&g, "entryfail", 1 << 20, false);

	if (rc == 0)
		rc = vcpu_ioctl(&g, KVM_GET_SREGS, &s, sizeof(s));
	if (rc == 0) {
		/*
		 * An available TSS where a busy one must be (SDM 26.3.1.2); not
		 * a type that KVM_SET_SREGS's accessed bit would make valid.
		 */
		s.tr.type = 9;
		rc = vcpu_ioctl(&g, KVM_SET_SREGS, &s, sizeof(s));
	}
	if (rc == 0) {
		log_info("hv: selftest: entering a VM whose TR has type 9 (available TSS); the CPU "
			 "must refuse it");
		handle_exit(&g, vcpu_ioctl(&g, KVM_RUN, NULL, 0));
		rc = g.run->exit_reason == KVM_EXIT_FAIL_ENTRY ? 0 : -1;
	}
	if (rc < 0)
		log_err("hv: selftest: the invalid VM was not refused at VM entry (%ld)", rc);
	if (g.vm)
		vm_print_stats(g.vm);
	if (g.handle)
		kvm_api_destroy_vm(g.handle);
	return (int)rc;
}
