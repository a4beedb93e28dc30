// SPDX-License-Identifier: MIT
/*
 * hvctl: talk to the hypervisor over its controller channel.
 *
 *	hvctl [-c WHERE] [-t SECONDS] [-v] COMMAND [ARGS]
 *
 * WHERE is what hvk_open() takes (tcp:HOST:PORT, unix:PATH, fd:N, or a
 * serial device PATH[,BAUD]); $HVCTL_CONNECT when -c is not given. Every
 * failure is one line on stderr naming the request and the errno, and
 * exit status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>

#include "abi/hvwire.h"
#include "abi/kvm.h"
#include "tools/libhvkvm.h"

#define COM1	  0x3f8
#define COM1_LSR  (COM1 + 5)
#define LSR_IDLE  0x60 /* THR empty, transmitter empty */
#define PAGE_SIZE 4096u
#define MAX_PEEKS 16

static int verbose;

static void usage(FILE *f)
{
	fprintf(f, "usage: hvctl [-c WHERE] [-t SECONDS] [-v] COMMAND [ARGS]\n"
		   "\n"
		   "WHERE: tcp:HOST:PORT, unix:PATH, fd:N or a serial device PATH[,BAUD]\n"
		   "       (default $HVCTL_CONNECT); -t: request timeout (default 30)\n"
		   "\n"
		   "commands:\n"
		   "  hello       the hypervisor's identity, protocol version, flags, caps\n"
		   "  version     KVM_GET_API_VERSION\n"
		   "  caps        KVM_CHECK_EXTENSION for each capability it has a name for\n"
		   "  create-vm   try KVM_CREATE_VM (the VM is hvctl's: it goes when hvctl ends)\n"
		   "  run-flat IMAGE [--mem SIZE] [--load ADDR] [--rip ADDR] [--real|--prot32]\n"
		   "           [--max-exits N] [--peek ADDR[:LEN]]... [--sync-each]\n"
		   "           [--full-pull] [--kick-after MS]\n"
		   "              run a flat binary in a new VM, one line per exit; COM1 output\n"
		   "              is printed as [guest] lines, IN from other ports reads all\n"
		   "              ones; ends at HLT, SHUTDOWN, FAIL_ENTRY, INTERNAL_ERROR or\n"
		   "              after N exits (default 100000). --peek prints guest memory\n"
		   "              (default 0x2000) after the run from the local copy; the VM\n"
		   "              is closed at the end. --kick-after stops the running vCPU\n"
		   "              from a SIGALRM handler after MS ms (the run ends with exit\n"
		   "              INTR, status 0); so does SIGINT (status 1). --full-pull\n"
		   "              reads all of memory back instead of the changed pages.\n"
		   "  vm-cycle N [--mem SIZE]\n"
		   "              N times: create a VM with a slot and a vCPU, then close it\n"
		   "  close-vm HANDLE\n"
		   "              destroy a VM by its hypervisor handle\n"
		   "  ls          the live VMs, one line each: handle, name, vCPUs, memory\n"
		   "              and owner (boot, or the controller session that made it);\n"
		   "              -v adds the limits and the free memory on stderr\n"
		   "  power-off   end the hypervisor's run\n");
}

/* "hvctl: " and the library's account of the last failure. */
static int failed(void)
{
	fprintf(stderr, "hvctl: %s\n", hvk_last_error());
	return 1;
}

static int bad_args(const char *fmt, const char *arg)
{
	fprintf(stderr, "hvctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return 1;
}

/* A number with an optional K/M/G suffix (powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v, mul = 1;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	if (*end == 'K' || *end == 'k')
		mul = 1ull << 10;
	else if (*end == 'M' || *end == 'm')
		mul = 1ull << 20;
	else if (*end == 'G' || *end == 'g')
		mul = 1ull << 30;
	if (mul != 1)
		end++;
	if (*end || v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/* ---- hello, version, caps, create-vm, power-off ---- */

static int cmd_hello(struct hvk *h)
{
	uint32_t flags = hvk_flags(h);
	uint64_t caps = hvk_caps(h);

	printf("identity: %s\n", hvk_identity(h));
	printf("protocol version: %u\n", hvk_protocol_version(h));
	printf("flags: 0x%x%s\n", flags, flags & HVW_HELLO_FLAG_VMX ? " (vmx)" : " (no vmx)");
	printf("caps: 0x%" PRIx64 "%s%s%s%s%s%s%s%s\n", caps,
	       caps & HVW_CAP_KVM_IOCTL ? " kvm-ioctl" : "", caps & HVW_CAP_MEMORY ? " memory" : "",
	       caps & HVW_CAP_KICK ? " kick" : "", caps & HVW_CAP_CLOSE ? " close" : "",
	       caps & HVW_CAP_MEM_CHANGED ? " mem-changed" : "",
	       caps & HVW_CAP_COMPACT_RUN ? " compact-run" : "",
	       caps & HVW_CAP_SESSION ? " session" : "", caps & HVW_CAP_PACKED ? " packed" : "");
	return 0;
}

static int cmd_version(struct hvk *h)
{
	int kvm = hvk_kvm_fd(h), v;

	if (kvm < 0)
		return failed();
	v = hvk_ioctl(h, kvm, KVM_GET_API_VERSION, 0);
	if (v < 0)
		return failed();
	printf("KVM_GET_API_VERSION = %d\n", v);
	return 0;
}

static const struct {
	int cap;
	const char *name;
} cap_names[] = {
#define C(c)                                                                                       \
	{                                                                                          \
		c, #c                                                                              \
	}
    C(KVM_CAP_USER_MEMORY),	    C(KVM_CAP_EXT_CPUID),	  C(KVM_CAP_NR_VCPUS),
    C(KVM_CAP_NR_MEMSLOTS),	    C(KVM_CAP_MP_STATE),	  C(KVM_CAP_SET_GUEST_DEBUG),
    C(KVM_CAP_INTERNAL_ERROR_DATA), C(KVM_CAP_VCPU_EVENTS),	  C(KVM_CAP_DEBUGREGS),
    C(KVM_CAP_MAX_VCPUS),	    C(KVM_CAP_SYNC_REGS),	  C(KVM_CAP_READONLY_MEM),
    C(KVM_CAP_MAX_VCPU_ID),	    C(KVM_CAP_IMMEDIATE_EXIT),	  C(KVM_CAP_GET_MSR_FEATURES),
    C(KVM_CAP_NESTED_STATE),	    C(KVM_CAP_EXCEPTION_PAYLOAD), C(KVM_CAP_X86_USER_SPACE_MSR),
    C(KVM_CAP_X86_MSR_FILTER),	    C(KVM_CAP_X86_BUS_LOCK_EXIT), C(KVM_CAP_X86_TRIPLE_FAULT_EVENT),
#undef C
};

static int cmd_caps(struct hvk *h)
{
	int kvm = hvk_kvm_fd(h), v;

	if (kvm < 0)
		return failed();
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++) {
		v = hvk_ioctl(h, kvm, KVM_CHECK_EXTENSION, (unsigned long)cap_names[i].cap);
		if (v < 0)
			return failed();
		printf("%s = %d\n", cap_names[i].name, v);
	}
	return 0;
}

static int cmd_create_vm(struct hvk *h)
{
	int kvm = hvk_kvm_fd(h), vm;
	uint32_t handle;

	if (kvm < 0)
		return failed();
	vm = hvk_ioctl(h, kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return failed();
	hvk_fd_target(h, vm, &handle, NULL);
	printf("KVM_CREATE_VM = VM handle %u\n", handle);
	return 0;
}

static int cmd_close_vm(struct hvk *h, const char *arg)
{
	uint64_t handle;

	if (parse_size(arg, &handle) < 0 || handle > UINT32_MAX)
		return bad_args("close-vm %s: not a VM handle", arg);
	if (hvk_close_vm_handle(h, (uint32_t)handle) < 0)
		return failed();
	printf("close-vm: VM handle %" PRIu64 " closed\n", handle);
	return 0;
}

/* @bytes as parse_size() reads it back: 16M, 64K, or plain bytes. */
static const char *size_str(uint64_t bytes, char *buf, size_t len)
{
	if (bytes && !(bytes % (1ull << 30)))
		snprintf(buf, len, "%" PRIu64 "G", bytes >> 30);
	else if (bytes && !(bytes % (1ull << 20)))
		snprintf(buf, len, "%" PRIu64 "M", bytes >> 20);
	else if (bytes && !(bytes % (1ull << 10)))
		snprintf(buf, len, "%" PRIu64 "K", bytes >> 10);
	else
		snprintf(buf, len, "%" PRIu64, bytes);
	return buf;
}

/*
 * ls: a line per live VM. This connection is a session of its own, so
 * what an earlier controller left is already gone (reclaimed at its BYE,
 * or at this HELLO): what remains is the boot controller's.
 */
static int cmd_ls(struct hvk *h)
{
	static struct hvw_vm_entry vms[HVW_LIST_MAX];
	struct hvk_vm_list info;
	char mem[32], owner[32];
	int n = hvk_list_vms(h, &info, vms, HVW_LIST_MAX);

	if (n < 0)
		return failed();
	for (int i = 0; i < n && i < (int)HVW_LIST_MAX; i++) {
		if (vms[i].owner == HVW_OWNER_BOOT)
			snprintf(owner, sizeof(owner), "boot");
		else
			snprintf(owner, sizeof(owner), "session %u", vms[i].owner);
		printf("vm %u name %s vcpus %u mem %s owner %s\n", vms[i].handle, vms[i].name,
		       vms[i].vcpus, size_str(vms[i].memory, mem, sizeof(mem)), owner);
	}
	if (verbose)
		fprintf(stderr,
			"hvctl: %d of %u VMs, up to %u vCPUs each; %" PRIu64
			" KiB free; this is session %u\n",
			n, info.max_vms, info.max_vcpus, info.free_pages * 4, info.session);
	return 0;
}

/* N times: a VM with one slot of @mem bytes and a vCPU, then closed. */
static int cmd_vm_cycle(struct hvk *h, unsigned long n, uint64_t mem_size)
{
	struct kvm_userspace_memory_region region;
	int kvm = hvk_kvm_fd(h), vm, vcpu;
	uint32_t handle;
	uint8_t *mem;

	if (kvm < 0)
		return failed();
	mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		fprintf(stderr, "hvctl: vm-cycle: %s\n", strerror(errno));
		return 1;
	}
	mem[0] = 0xf4; /* one non-zero page to push */
	for (unsigned long i = 0; i < n; i++) {
		vm = hvk_ioctl(h, kvm, KVM_CREATE_VM, 0);
		if (vm < 0)
			return failed();
		region = (struct kvm_userspace_memory_region){
		    .slot = 0,
		    .memory_size = mem_size,
		    .userspace_addr = (uintptr_t)mem,
		};
		if (hvk_ioctl(h, vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
			return failed();
		vcpu = hvk_ioctl(h, vm, KVM_CREATE_VCPU, 0);
		if (vcpu < 0 || hvk_sync(h, vcpu, HVK_SYNC_BEFORE_RUN) < 0)
			return failed();
		hvk_fd_target(h, vm, &handle, NULL);
		if (hvk_close_fd(h, vcpu) < 0 || hvk_close_fd(h, vm) < 0)
			return failed();
		printf("vm-cycle: %lu: VM handle %u created and closed\n", i + 1, handle);
	}
	printf("vm-cycle: %lu VMs created and closed\n", n);
	munmap(mem, mem_size);
	return 0;
}

static int cmd_power_off(struct hvk *h)
{
	if (hvk_power_off(h) < 0)
		return failed();
	printf("power-off: done\n");
	return 0;
}

/* ---- run-flat ---- */

struct flat_opts {
	const char *image;
	uint64_t mem, load, rip;
	bool rip_set, prot32, sync_each, full_pull;
	unsigned long kick_after_ms;
	unsigned long max_exits;
	unsigned int npeeks;
	uint64_t peek_addr[MAX_PEEKS];
	uint64_t peek_len[MAX_PEEKS];
};

/* One line for the exit just taken (I/O and MMIO data included). */
static void print_data(const uint8_t *p, uint32_t n)
{
	if (n == 1 && p[0] >= 0x20 && p[0] < 0x7f && p[0] != '\'' && p[0] != '\\') {
		printf(" data '%c'", p[0]);
		return;
	}
	if (n == 1 && p[0] == '\n') {
		printf(" data '\\n'");
		return;
	}
	printf(" data");
	for (uint32_t i = 0; i < n && i < 32; i++)
		printf(" %02x", p[i]);
	if (n > 32)
		printf(" ...");
}

struct guest_line {
	char buf[256];
	size_t len;
};

static void guest_flush(struct guest_line *g)
{
	if (!g->len)
		return;
	printf("[guest] %.*s\n", (int)g->len, g->buf);
	g->len = 0;
}

static void guest_putc(struct guest_line *g, uint8_t c)
{
	if (c == '\n') {
		guest_flush(g);
		return;
	}
	if (c == '\r')
		return;
	if (g->len == sizeof(g->buf))
		guest_flush(g);
	g->buf[g->len++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
}

static void handle_io(struct kvm_run *run, struct guest_line *g)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t n = run->io.size * run->io.count;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;

	printf("exit IO %s port 0x%x size %u count %u", out ? "out" : "in", run->io.port,
	       run->io.size, run->io.count);
	if (out) {
		print_data(data, n);
		printf("\n");
		if (run->io.port == COM1)
			for (uint32_t i = 0; i < n; i += run->io.size)
				guest_putc(g, data[i]);
		return;
	}
	/* IN: COM1 says it is idle, every other port reads all ones. */
	if (run->io.port == COM1_LSR)
		memset(data, LSR_IDLE, n);
	else if (run->io.port > COM1 && run->io.port <= COM1 + 7)
		memset(data, 0, n);
	else
		memset(data, 0xff, n);
	printf(" ->");
	print_data(data, n);
	printf("\n");
}

static void handle_mmio(struct kvm_run *run)
{
	uint32_t len = run->mmio.len <= 8 ? run->mmio.len : 8;

	printf("exit MMIO %s gpa 0x%" PRIx64 " len %u", run->mmio.is_write ? "write" : "read",
	       run->mmio.phys_addr, run->mmio.len);
	if (run->mmio.is_write) {
		print_data(run->mmio.data, len);
		printf("\n");
		return;
	}
	memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
	printf(" ->");
	print_data(run->mmio.data, len);
	printf("\n");
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code32)
{
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->db = code32;
	s->s = 1;
	s->l = 0;
	s->g = 1;
	s->avl = 0;
	s->unusable = 0;
}

static void set_real_seg(struct kvm_segment *s)
{
	s->base = 0;
	s->selector = 0;
	s->limit = 0xffff;
	s->present = 1;
	s->s = 1;
	s->dpl = 0;
	s->db = 0;
	s->l = 0;
	s->g = 0;
	s->unusable = 0;
}

static int setup_cpu(struct hvk *h, int vcpu, const struct flat_opts *o)
{
	struct kvm_sregs sr;
	struct kvm_regs regs;

	if (hvk_ioctl(h, vcpu, KVM_GET_SREGS, &sr) < 0)
		return -1;
	if (o->prot32) {
		/* Flat 32-bit protected mode, paging off, as a multiboot entry. */
		set_seg(&sr.cs, 0x08, 0xb, true);
		set_seg(&sr.ds, 0x10, 0x3, true);
		sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
		sr.cr0 = (sr.cr0 | 0x11) & ~0x80000000ull; /* PE, ET; PG off */
		sr.efer = 0;
	} else {
		/* Real mode, every segment 0. */
		set_real_seg(&sr.cs);
		sr.cs.type = 0xb;
		set_real_seg(&sr.ds);
		sr.ds.type = 0x3;
		sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
		sr.cr0 &= ~0x80000001ull;
		sr.efer = 0;
	}
	if (hvk_ioctl(h, vcpu, KVM_SET_SREGS, &sr) < 0)
		return -1;
	memset(&regs, 0, sizeof(regs));
	regs.rip = o->rip;
	regs.rflags = 0x2;
	regs.rsp = o->load; /* the stack grows down below the image */
	if (hvk_ioctl(h, vcpu, KVM_SET_REGS, &regs) < 0)
		return -1;
	return 0;
}

static void print_regs(const struct kvm_regs *r)
{
	printf("regs: rax %016" PRIx64 " rbx %016" PRIx64 " rcx %016" PRIx64 " rdx %016" PRIx64
	       "\n",
	       r->rax, r->rbx, r->rcx, r->rdx);
	printf("regs: rsi %016" PRIx64 " rdi %016" PRIx64 " rsp %016" PRIx64 " rbp %016" PRIx64
	       "\n",
	       r->rsi, r->rdi, r->rsp, r->rbp);
	printf("regs: r8  %016" PRIx64 " r9  %016" PRIx64 " r10 %016" PRIx64 " r11 %016" PRIx64
	       "\n",
	       r->r8, r->r9, r->r10, r->r11);
	printf("regs: r12 %016" PRIx64 " r13 %016" PRIx64 " r14 %016" PRIx64 " r15 %016" PRIx64
	       "\n",
	       r->r12, r->r13, r->r14, r->r15);
	printf("regs: rip %016" PRIx64 " rflags %016" PRIx64 "\n", r->rip, r->rflags);
}

static int read_image(const char *path, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 0, n = 0, got;
	uint8_t *p = NULL, *q;

	if (!f) {
		fprintf(stderr, "hvctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			q = realloc(p, cap);
			if (!q) {
				fprintf(stderr, "hvctl: %s: out of memory\n", path);
				free(p);
				fclose(f);
				return -1;
			}
			p = q;
		}
		got = fread(p + n, 1, cap - n, f);
		n += got;
	} while (got);
	if (ferror(f)) {
		fprintf(stderr, "hvctl: %s: read error\n", path);
		free(p);
		fclose(f);
		return -1;
	}
	fclose(f);
	*data = p;
	*len = n;
	return 0;
}

/* What the signal handlers kick. */
static struct hvk *kick_hvk;
static volatile sig_atomic_t kick_vcpu = -1, kicked_by;

static void on_kick_signal(int sig)
{
	kicked_by = sig;
	if (kick_vcpu >= 0)
		hvk_kick(kick_hvk, kick_vcpu);
}

static void arm_kicks(struct hvk *h, int vcpu, unsigned long after_ms)
{
	struct sigaction sa = {.sa_handler = on_kick_signal};
	struct itimerval it = {.it_value = {.tv_sec = (time_t)(after_ms / 1000),
					    .tv_usec = (suseconds_t)(after_ms % 1000) * 1000}};

	kick_hvk = h;
	kick_vcpu = vcpu;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND; /* a second ^C ends hvctl */
	sigaction(SIGINT, &sa, NULL);
	if (after_ms) {
		sa.sa_flags = 0;
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
	}
}

static void disarm_kicks(void)
{
	struct itimerval off = {{0, 0}, {0, 0}};

	setitimer(ITIMER_REAL, &off, NULL);
	kick_vcpu = -1;
	signal(SIGINT, SIG_DFL);
}

static int run_flat(struct hvk *h, const struct flat_opts *o, uint8_t *image, size_t image_len)
{
	unsigned long counts[64] = {0}, other = 0, exits = 0;
	struct kvm_userspace_memory_region region;
	struct guest_line g = {.len = 0};
	struct kvm_regs regs;
	struct kvm_run *run;
	struct hvk_stats st;
	uint8_t *mem;
	const char *why = NULL;
	int kvm, vm, vcpu, mmap_size, rc = 0;
	bool ended = false;

	if (o->load > o->mem || image_len > o->mem - o->load) {
		fprintf(stderr,
			"hvctl: %s: %zu bytes at 0x%" PRIx64 " do not fit in %" PRIu64
			" bytes of guest memory\n",
			o->image, image_len, o->load, o->mem);
		free(image);
		return 1;
	}
	mem = mmap(NULL, o->mem, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		fprintf(stderr, "hvctl: %" PRIu64 " bytes of guest memory: %s\n", o->mem,
			strerror(errno));
		free(image);
		return 1;
	}
	memcpy(mem + o->load, image, image_len);
	free(image);

	/* Push before each run (only what changed); pull on request. */
	hvk_set_sync(h, HVK_SYNC_BEFORE_RUN | (o->sync_each ? HVK_SYNC_AFTER_RUN : 0) |
			    (o->full_pull ? HVK_SYNC_FULL_PULL : 0));
	kvm = hvk_kvm_fd(h);
	if (kvm < 0)
		return failed();
	vm = hvk_ioctl(h, kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return failed();
	region = (struct kvm_userspace_memory_region){
	    .slot = 0,
	    .guest_phys_addr = 0,
	    .memory_size = o->mem,
	    .userspace_addr = (uintptr_t)mem,
	};
	if (hvk_ioctl(h, vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return failed();
	vcpu = hvk_ioctl(h, vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return failed();
	mmap_size = hvk_ioctl(h, kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size < 0)
		return failed();
	if ((size_t)mmap_size < sizeof(*run) || mmap_size > HVK_RUN_MAP_SIZE) {
		fprintf(stderr, "hvctl: KVM_GET_VCPU_MMAP_SIZE = %d, not a size we can map\n",
			mmap_size);
		return 1;
	}
	run = hvk_mmap(h, vcpu, (size_t)mmap_size);
	if (run == MAP_FAILED)
		return failed();
	if (setup_cpu(h, vcpu, o) < 0)
		return failed();
	printf("run-flat: %s, %zu bytes at 0x%" PRIx64 ", rip 0x%" PRIx64 ", %s mode, %" PRIu64
	       " KiB\n",
	       o->image, image_len, o->load, o->rip, o->prot32 ? "32-bit protected" : "real",
	       o->mem >> 10);
	fflush(stdout);

	arm_kicks(h, vcpu, o->kick_after_ms);
	while (!ended && exits < o->max_exits) {
		if (hvk_ioctl(h, vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR && run->exit_reason == KVM_EXIT_INTR) {
				/* Kicked: what ioctl(KVM_RUN) does after a signal. */
				exits++;
				counts[KVM_EXIT_INTR]++;
				printf("exit INTR (KVM_RUN: EINTR, kicked by %s)\n",
				       kicked_by == SIGALRM  ? "--kick-after"
				       : kicked_by == SIGINT ? "SIGINT"
							     : "immediate_exit");
				if (kicked_by != SIGALRM)
					why = "interrupted";
				ended = true;
				continue;
			}
			guest_flush(&g);
			return failed();
		}
		exits++;
		if (run->exit_reason < sizeof(counts) / sizeof(counts[0]))
			counts[run->exit_reason]++;
		else
			other++;
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(run, &g);
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(run);
			break;
		case KVM_EXIT_HLT:
			if (hvk_ioctl(h, vcpu, KVM_GET_REGS, &regs) < 0)
				return failed();
			printf("exit HLT at rip 0x%" PRIx64 "\n", regs.rip);
			ended = true;
			break;
		case KVM_EXIT_SHUTDOWN:
			printf("exit SHUTDOWN (triple fault)\n");
			why = "SHUTDOWN";
			ended = true;
			break;
		case KVM_EXIT_FAIL_ENTRY:
			printf("exit FAIL_ENTRY hardware reason 0x%" PRIx64 " cpu %u\n",
			       run->fail_entry.hardware_entry_failure_reason, run->fail_entry.cpu);
			why = "FAIL_ENTRY";
			ended = true;
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			printf("exit INTERNAL_ERROR suberror %u", run->internal.suberror);
			for (uint32_t i = 0; i < run->internal.ndata && i < 16; i++)
				printf(" 0x%" PRIx64, run->internal.data[i]);
			printf("\n");
			why = "INTERNAL_ERROR";
			ended = true;
			break;
		case KVM_EXIT_DEBUG:
			printf("exit DEBUG exception %u pc 0x%" PRIx64 "\n",
			       run->debug.arch.exception, run->debug.arch.pc);
			break;
		case KVM_EXIT_EXCEPTION:
			printf("exit EXCEPTION vector %u error code 0x%x\n", run->ex.exception,
			       run->ex.error_code);
			break;
		default:
			if (hvk_exit_name(run->exit_reason))
				printf("exit %s\n", hvk_exit_name(run->exit_reason));
			else
				printf("exit %u (unknown)\n", run->exit_reason);
			break;
		}
		fflush(stdout);
	}
	disarm_kicks();
	guest_flush(&g);
	if (!ended) {
		printf("run-flat: stopped after %lu exits (--max-exits)\n", exits);
		why = "no HLT within the exit limit";
	}

	if (hvk_ioctl(h, vcpu, KVM_GET_REGS, &regs) < 0)
		return failed();
	print_regs(&regs);
	printf("exits:");
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		const char *name = hvk_exit_name((uint32_t)i);

		if (!counts[i])
			continue;
		if (name)
			printf(" %s %lu,", name, counts[i]);
		else
			printf(" %zu %lu,", i, counts[i]);
	}
	if (other)
		printf(" other %lu,", other);
	printf(" total %lu\n", exits);

	for (unsigned int i = 0; i < o->npeeks; i++) {
		uint64_t a = o->peek_addr[i], n = o->peek_len[i];

		if (a > o->mem || n > o->mem - a) {
			fprintf(stderr, "hvctl: --peek 0x%" PRIx64 ": outside guest memory\n", a);
			rc = 1;
			continue;
		}
		/* Read back into the local copy, then print from it. */
		if (hvk_pull(h, vm, a, n) < 0)
			return failed();
		printf("mem[0x%" PRIx64 "] =", a);
		if (n == 1)
			printf(" 0x%02x", mem[a]);
		else
			for (uint64_t k = 0; k < n; k++)
				printf(" %02x", mem[a + k]);
		printf("\n");
	}
	if (verbose) {
		hvk_stats(h, &st);
		printf("channel: %" PRIu64 " requests, %" PRIu64 " bytes out, %" PRIu64
		       " bytes in, %" PRIu64 " pages pushed in %" PRIu64 " frames, %" PRIu64
		       " pages pulled, %" PRIu64 " changed pages in %" PRIu64
		       " MEM_CHANGED (%" PRIu64 " zero), %" PRIu64 " kicks, %" PRIu64
		       " garbage bytes, %" PRIu64 " stale frames\n",
		       st.requests, st.bytes_out, st.bytes_in, st.pages_pushed, st.push_frames,
		       st.pages_pulled, st.pages_changed, st.changed_frames, st.zero_pages_changed,
		       st.kicks + st.kicks_early, st.garbage_bytes, st.stale_frames);
	}
	/* The VM fd is its last reference: the hypervisor destroys it. */
	if (hvk_close_fd(h, vm) < 0)
		return failed();
	if (why) {
		fprintf(stderr, "hvctl: run-flat: the guest did not halt: %s\n", why);
		rc = 1;
	}
	return rc;
}

static int timeout_ms = HVK_DEFAULT_TIMEOUT_MS;

static struct hvk *connect_to(const char *where)
{
	struct hvk_options o = {.client = "hvctl", .timeout_ms = timeout_ms};

	return hvk_open_with(where, &o);
}

static int cmd_run_flat(struct hvk **hp, const char *where, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"mem", required_argument, NULL, 'm'},
	    {"load", required_argument, NULL, 'l'},
	    {"rip", required_argument, NULL, 'r'},
	    {"real", no_argument, NULL, 'R'},
	    {"prot32", no_argument, NULL, 'P'},
	    {"max-exits", required_argument, NULL, 'x'},
	    {"peek", required_argument, NULL, 'p'},
	    {"sync-each", no_argument, NULL, 's'},
	    {"full-pull", no_argument, NULL, 'F'},
	    {"kick-after", required_argument, NULL, 'k'},
	    {NULL, 0, NULL, 0},
	};
	struct flat_opts o = {.mem = 1u << 20, .load = 0x1000, .max_exits = 100000};
	uint8_t *image;
	size_t image_len;
	uint64_t v;
	char *colon;
	int c;

	/* Options and the image in any order ("-": operands come as 1). */
	optind = 0;
	while ((c = getopt_long(argc, argv, "-", longopts, NULL)) != -1) {
		switch (c) {
		case 1:
			if (o.image)
				return bad_args("run-flat: one image only ('%s' is another)",
						optarg);
			o.image = optarg;
			break;
		case 'm':
			if (parse_size(optarg, &o.mem) < 0 || !o.mem || o.mem % PAGE_SIZE)
				return bad_args("--mem %s: a size in whole pages, e.g. 1M", optarg);
			break;
		case 'l':
			if (parse_size(optarg, &o.load) < 0)
				return bad_args("--load %s: not an address", optarg);
			break;
		case 'r':
			if (parse_size(optarg, &o.rip) < 0)
				return bad_args("--rip %s: not an address", optarg);
			o.rip_set = true;
			break;
		case 'R':
			o.prot32 = false;
			break;
		case 'P':
			o.prot32 = true;
			break;
		case 'x':
			if (parse_size(optarg, &v) < 0 || !v || v > ULONG_MAX)
				return bad_args("--max-exits %s: not a count", optarg);
			o.max_exits = (unsigned long)v;
			break;
		case 'p':
			if (o.npeeks == MAX_PEEKS)
				return bad_args("--peek %s: too many", optarg);
			colon = strchr(optarg, ':');
			if (colon)
				*colon = 0;
			if (parse_size(optarg, &o.peek_addr[o.npeeks]) < 0)
				return bad_args("--peek %s: not an address", optarg);
			o.peek_len[o.npeeks] = 1;
			if (colon && (parse_size(colon + 1, &o.peek_len[o.npeeks]) < 0 ||
				      !o.peek_len[o.npeeks] || o.peek_len[o.npeeks] > 4096))
				return bad_args("--peek LEN %s: 1 to 4096 bytes", colon + 1);
			o.npeeks++;
			break;
		case 's':
			o.sync_each = true;
			break;
		case 'F':
			o.full_pull = true;
			break;
		case 'k':
			if (parse_size(optarg, &v) < 0 || !v || v > 86400000)
				return bad_args("--kick-after %s: milliseconds", optarg);
			o.kick_after_ms = (unsigned long)v;
			break;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (!o.image || optind != argc) {
		usage(stderr);
		return 1;
	}
	if (!o.rip_set)
		o.rip = o.load;
	if (!o.npeeks) {
		o.peek_addr[0] = 0x2000;
		o.peek_len[0] = 1;
		o.npeeks = 1;
	}
	if (read_image(o.image, &image, &image_len) < 0)
		return 1;
	*hp = connect_to(where);
	if (!*hp) {
		free(image);
		return failed();
	}
	return run_flat(*hp, &o, image, image_len);
}

int main(int argc, char **argv)
{
	const char *where = getenv("HVCTL_CONNECT");
	struct hvk *h = NULL;
	const char *cmd;
	uint64_t secs;
	int c, rc;

	while ((c = getopt(argc, argv, "+c:t:vh")) != -1) {
		switch (c) {
		case 'c':
			where = optarg;
			break;
		case 't':
			if (parse_size(optarg, &secs) < 0 || secs > 86400)
				return bad_args("-t %s: seconds (0: wait for ever)", optarg);
			timeout_ms = secs ? (int)secs * 1000 : -1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	if (!where || !*where) {
		fprintf(stderr, "hvctl: no connection: give -c WHERE or set HVCTL_CONNECT\n");
		return 1;
	}
	cmd = argv[optind];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "run-flat")) {
		rc = cmd_run_flat(&h, where, argc - optind, argv + optind);
	} else if (!strcmp(cmd, "vm-cycle") || !strcmp(cmd, "close-vm")) {
		uint64_t n = 0, mem_size = 64 << 10;

		if (!strcmp(cmd, "vm-cycle")) {
			if (optind + 2 != argc &&
			    !(optind + 4 == argc && !strcmp(argv[optind + 2], "--mem")))
				return bad_args("usage: %s N [--mem SIZE]", cmd);
			if (parse_size(argv[optind + 1], &n) < 0 || !n || n > 100000)
				return bad_args("vm-cycle %s: a count", argv[optind + 1]);
			if (optind + 4 == argc && (parse_size(argv[optind + 3], &mem_size) < 0 ||
						   !mem_size || mem_size % PAGE_SIZE))
				return bad_args("--mem %s: a size in whole pages",
						argv[optind + 3]);
		} else if (optind + 2 != argc) {
			return bad_args("usage: %s HANDLE", cmd);
		}
		h = connect_to(where);
		if (!h)
			return failed();
		if (!strcmp(cmd, "vm-cycle"))
			rc = cmd_vm_cycle(h, (unsigned long)n, mem_size);
		else
			rc = cmd_close_vm(h, argv[optind + 1]);
	} else {
		if (optind + 1 != argc) {
			usage(stderr);
			return 1;
		}
		if (strcmp(cmd, "hello") && strcmp(cmd, "version") && strcmp(cmd, "caps") &&
		    strcmp(cmd, "create-vm") && strcmp(cmd, "ls") && strcmp(cmd, "power-off"))
			return bad_args("unknown command '%s' (hvctl -h lists them)", cmd);
		h = connect_to(where);
		if (!h)
			return failed();
		if (!strcmp(cmd, "hello"))
			rc = cmd_hello(h);
		else if (!strcmp(cmd, "version"))
			rc = cmd_version(h);
		else if (!strcmp(cmd, "caps"))
			rc = cmd_caps(h);
		else if (!strcmp(cmd, "create-vm"))
			rc = cmd_create_vm(h);
		else if (!strcmp(cmd, "ls"))
			rc = cmd_ls(h);
		else
			rc = cmd_power_off(h);
	}
	if (h && verbose) {
		struct hvk_stats st;

		hvk_stats(h, &st);
		fprintf(stderr,
			"hvctl: %" PRIu64 " requests, %" PRIu64 " answers, %" PRIu64
			" garbage bytes, %" PRIu64 " stale frames, %" PRIu64 " timeouts\n",
			st.requests, st.responses, st.garbage_bytes, st.stale_frames, st.timeouts);
	}
	hvk_close(h);
	return rc;
}
