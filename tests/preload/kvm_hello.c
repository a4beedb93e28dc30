// SPDX-License-Identifier: MIT
/*
 * kvm_hello: a /dev/kvm program written for Linux alone (<linux/kvm.h> and
 * libc, nothing of this repository), run unchanged against real KVM or,
 * through build/tools/libhvkvm_preload.so, against the hypervisor:
 *
 *	./kvm_hello
 *	LD_PRELOAD=$PWD/build/tools/libhvkvm_preload.so HVKVM_CONNECT=... ./kvm_hello
 *
 * A real-mode guest at 0x1000 writes 'A' to COM1, then the byte the
 * program put at 0x2000, stores 0x5a at 0x2001 and halts. Each check
 * prints a line (PASS/FAIL name); the last line is "N passed, N failed"
 * and the exit status is 1 if anything failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MEM_SIZE  0x10000
#define CODE_GPA  0x1000
#define IN_GPA	  0x2000 /* the program writes here, the guest reads it */
#define OUT_GPA	  0x2001 /* the guest writes here */
#define COM1	  0x3f8
#define IN_BYTE	  'B'
#define OUT_BYTE  0x5a
#define OUT1_RIP  0x1005 /* the first OUT */
#define OUT2_RIP  0x1009 /* the second OUT */
#define HLT_AFTER 0x1010 /* past the HLT */

static const uint8_t guest[] = {
    0xba, 0xf8,	    0x03, /* 1000: mov $0x3f8, %dx */
    0xb0, 'A',		  /* 1003: mov $'A', %al */
    0xee,		  /* 1005: out %al, (%dx) */
    0xa0, 0x00,	    0x20, /* 1006: mov 0x2000, %al */
    0xee,		  /* 1009: out %al, (%dx) */
    0xb0, OUT_BYTE,	  /* 100a: mov $0x5a, %al */
    0xa2, 0x01,	    0x20, /* 100c: mov %al, 0x2001 */
    0xf4,		  /* 100f: hlt */
};

static int passed, failed;

static int check(const char *name, int ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int check(const char *name, int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("PASS %s\n", name);
		passed++;
	} else {
		printf("FAIL %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
		failed++;
	}
	fflush(stdout);
	return ok;
}

static const char *err(void)
{
	return strerror(errno);
}

static int done(void)
{
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

/* The first byte of a module parameter file, or 0. */
static char read_param(const char *path)
{
	char c = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return 0;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c;
}

static int io_ok(const struct kvm_run *run, uint8_t want)
{
	const uint8_t *data = (const uint8_t *)run + run->io.data_offset;

	return run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
	       run->io.port == COM1 && run->io.size == 1 && run->io.count == 1 && *data == want;
}

static void io_why(const struct kvm_run *run, char *buf, size_t len)
{
	snprintf(buf, len, "exit %u dir %u port 0x%x size %u count %u data 0x%02x",
		 run->exit_reason, run->io.direction, run->io.port, run->io.size, run->io.count,
		 run->exit_reason == KVM_EXIT_IO ? *((const uint8_t *)run + run->io.data_offset)
						 : 0);
}

static uint64_t rip_of(int vcpu)
{
	struct kvm_regs regs;

	if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0)
		return ~0ull;
	return regs.rip;
}

int main(void)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	uint8_t *mem;
	char why[160], c;
	int kvm, vm, vcpu, dupfd, dupfd2, r, size, status = 0;
	pid_t child;
	uint64_t rip;

	setvbuf(stdout, NULL, _IOLBF, 0);
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (!check("open /dev/kvm", kvm >= 0, "%s", err()))
		return done();
	r = ioctl(kvm, KVM_GET_API_VERSION, 0);
	check("KVM_GET_API_VERSION is 12", r == 12, "%d (%s)", r, err());
	r = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);
	check("KVM_CHECK_EXTENSION(KVM_CAP_USER_MEMORY)", r > 0, "%d (%s)", r, err());
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (!check("KVM_CREATE_VM", vm >= 0, "%s", err()))
		return done();

	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!check("mmap guest memory", mem != MAP_FAILED, "%s", err()))
		return done();
	memcpy(mem + CODE_GPA, guest, sizeof(guest));
	mem[IN_GPA] = IN_BYTE;
	region = (struct kvm_userspace_memory_region){
	    .slot = 0,
	    .guest_phys_addr = 0,
	    .memory_size = MEM_SIZE,
	    .userspace_addr = (uintptr_t)mem,
	};
	r = ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region);
	check("KVM_SET_USER_MEMORY_REGION", r == 0, "%s", err());

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (!check("KVM_CREATE_VCPU", vcpu >= 0, "%s", err()))
		return done();
	size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	check("KVM_GET_VCPU_MMAP_SIZE holds a kvm_run", size >= (int)sizeof(*run), "%d (%s)", size,
	      err());
	if (size < (int)sizeof(*run))
		return done();
	run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (!check("mmap the vCPU's kvm_run", run != MAP_FAILED, "%s", err()))
		return done();

	r = ioctl(vcpu, KVM_GET_SREGS, &sregs);
	if (r == 0) {
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
		r = ioctl(vcpu, KVM_SET_SREGS, &sregs);
	}
	check("KVM_GET_SREGS/KVM_SET_SREGS: CS 0", r == 0, "%s", err());
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_GPA;
	regs.rflags = 2;
	r = ioctl(vcpu, KVM_SET_REGS, &regs);
	check("KVM_SET_REGS: RIP 0x1000", r == 0, "%s", err());

	/* 1: OUT 'A' */
	r = ioctl(vcpu, KVM_RUN, 0);
	io_why(run, why, sizeof(why));
	check("KVM_RUN: KVM_EXIT_IO, OUT 1 byte 'A' to 0x3f8", r == 0 && io_ok(run, 'A'),
	      "r %d (%s), %s", r, err(), why);
	rip = rip_of(vcpu);
	check("RIP still at the OUT after its exit", rip == OUT1_RIP, "0x%llx, want 0x%x",
	      (unsigned long long)rip, OUT1_RIP);

	/* 2: immediate_exit completes the OUT, then returns EINTR */
	run->immediate_exit = 1;
	errno = 0;
	r = ioctl(vcpu, KVM_RUN, 0);
	check("immediate_exit: -1 EINTR", r == -1 && errno == EINTR, "r %d (%s)", r, err());
	check("immediate_exit: exit_reason unchanged", run->exit_reason == KVM_EXIT_IO, "exit %u",
	      run->exit_reason);
	run->immediate_exit = 0;
	rip = rip_of(vcpu);
	check("RIP past the OUT after the next KVM_RUN", rip == OUT1_RIP + 1, "0x%llx, want 0x%x",
	      (unsigned long long)rip, OUT1_RIP + 1);

	/* 3: OUT of the byte the program wrote */
	r = ioctl(vcpu, KVM_RUN, 0);
	io_why(run, why, sizeof(why));
	check("KVM_RUN: OUT of the byte the program wrote", r == 0 && io_ok(run, IN_BYTE),
	      "r %d (%s), %s", r, err(), why);
	rip = rip_of(vcpu);
	check("RIP at the second OUT", rip == OUT2_RIP, "0x%llx, want 0x%x",
	      (unsigned long long)rip, OUT2_RIP);

	/* 4: HLT, and what the guest wrote */
	r = ioctl(vcpu, KVM_RUN, 0);
	check("KVM_RUN: KVM_EXIT_HLT", r == 0 && run->exit_reason == KVM_EXIT_HLT,
	      "r %d (%s), exit %u", r, err(), run->exit_reason);
	check("the guest's store is in the program's memory", mem[OUT_GPA] == OUT_BYTE,
	      "0x%02x at 0x%x, want 0x%02x", mem[OUT_GPA], OUT_GPA, OUT_BYTE);

	/* 5: duplicates of the vCPU fd */
	dupfd = dup(vcpu);
	rip = dupfd >= 0 ? rip_of(dupfd) : 0;
	check("dup(vcpu): KVM_GET_REGS, RIP past the HLT", dupfd >= 0 && rip == HLT_AFTER,
	      "fd %d (%s), rip 0x%llx", dupfd, err(), (unsigned long long)rip);
	dupfd2 = fcntl(vcpu, F_DUPFD_CLOEXEC, 100);
	rip = dupfd2 >= 100 ? rip_of(dupfd2) : 0;
	check("fcntl(F_DUPFD_CLOEXEC): KVM_GET_REGS", dupfd2 >= 100 && rip == HLT_AFTER,
	      "fd %d (%s), rip 0x%llx", dupfd2, err(), (unsigned long long)rip);
	r = close(dupfd);
	rip = rip_of(vcpu);
	check("close(dup) leaves the vCPU open", r == 0 && rip == HLT_AFTER, "r %d, rip 0x%llx", r,
	      (unsigned long long)rip);
	close(dupfd2);

	/*
	 * 6: a forked child: its KVM ioctls fail with EIO (kvm_vm_ioctl and
	 * kvm_vcpu_ioctl refuse another mm), and its close of the inherited
	 * descriptors leaves the parent's VM and vCPU alone.
	 */
	fflush(stdout);
	child = fork();
	if (child == 0) {
		struct kvm_regs cr;
		int bad = 0;

		errno = 0;
		if (ioctl(vcpu, KVM_GET_REGS, &cr) != -1 || errno != EIO)
			bad |= 1;
		errno = 0;
		if (ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) != -1 || errno != EIO)
			bad |= 2;
		close(vcpu);
		close(vm);
		_exit(bad);
	}
	r = child > 0 ? waitpid(child, &status, 0) : -1;
	check("a forked child's KVM_GET_REGS (vCPU) and KVM_CHECK_EXTENSION (VM) fail with EIO",
	      r == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "fork %d, wait %d, status 0x%x (1: the vCPU ioctl, 2: the VM ioctl)", child, r,
	      status);
	rip = rip_of(vcpu);
	check("the child's close leaves the parent's vCPU", rip == HLT_AFTER, "rip 0x%llx (%s)",
	      (unsigned long long)rip, err());

	/* 7: what KVM says about itself */
	c = read_param("/sys/module/kvm_intel/parameters/unrestricted_guest");
	check("kvm_intel unrestricted_guest is Y", c == 'Y', "'%c'", c ? c : '?');

	r = munmap(run, (size_t)size);
	check("munmap kvm_run", r == 0, "%s", err());
	check("close vcpu, vm, /dev/kvm", !close(vcpu) && !close(vm) && !close(kvm), "%s", err());
	munmap(mem, MEM_SIZE);
	return done();
}
