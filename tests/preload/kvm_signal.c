// SPDX-License-Identifier: MIT
/*
 * kvm_signal: a /dev/kvm program written for Linux alone (<linux/kvm.h>,
 * libc and pthreads), run unchanged against real KVM or, through
 * build/tools/libhvkvm_preload.so, against the hypervisor. It stops a
 * vCPU thread the way QEMU and kvmtool do: a signal to the thread in
 * ioctl(KVM_RUN). Linux's kvm_arch_vcpu_ioctl_run() then returns -EINTR
 * with exit_reason KVM_EXIT_INTR (with SA_RESTART too: -EINTR is not
 * restarted), and the vCPU runs on at the next KVM_RUN.
 *
 * The real-mode guest spins at 0x1000 (jmp .); at 0x1010 it OUTs 'Z' to
 * COM1 and halts. Each check prints PASS/FAIL; the last line is
 * "N passed, N failed", the exit status 1 if anything failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE 0x10000
#define SPIN_GPA 0x1000
#define OUT_GPA	 0x1010
#define WAIT_MS	 120000 /* for a stopped run to come back */

static const uint8_t spin[] = {0xeb, 0xfe};		       /* jmp . */
static const uint8_t out_hlt[] = {0xba, 0xf8, 0x03, 0xb0, 'Z', /* mov $0x3f8,%dx; mov $'Z',%al */
				  0xee, 0xf4};		       /* out %al,(%dx); hlt */

static int passed, failed;
static volatile sig_atomic_t handled;

static int check(const char *name, int ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int check(const char *name, int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("PASS %s\n", name);
		passed++;
		return 1;
	}
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failed++;
	return 0;
}

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

struct runner {
	int vcpu;
	int r, err;
	volatile int done;
};

static void *run_main(void *p)
{
	struct runner *rn = p;

	errno = 0;
	rn->r = ioctl(rn->vcpu, KVM_RUN, 0);
	rn->err = errno;
	__atomic_store_n(&rn->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static int set_rip(int vcpu, uint64_t rip)
{
	struct kvm_regs regs;

	memset(&regs, 0, sizeof(regs));
	regs.rip = rip;
	regs.rflags = 2;
	return ioctl(vcpu, KVM_SET_REGS, &regs);
}

/* One spinning KVM_RUN in a thread, stopped by SIGUSR1 to that thread. */
static void stop_by_signal(int vcpu, struct kvm_run *run, const char *how)
{
	struct runner rn = {.vcpu = vcpu};
	char name[96];
	pthread_t t;
	int before = handled, waited = 0;

	set_rip(vcpu, SPIN_GPA);
	if (pthread_create(&t, NULL, run_main, &rn)) {
		check("pthread_create", 0, "%s", strerror(errno));
		return;
	}
	sleep_ms(500);
	snprintf(name, sizeof(name), "%s: the spinning KVM_RUN is still in the guest", how);
	check(name, !rn.done, "it returned %d (%s)", rn.r, strerror(rn.err));
	pthread_kill(t, SIGUSR1);
	while (!__atomic_load_n(&rn.done, __ATOMIC_SEQ_CST) && waited < WAIT_MS) {
		sleep_ms(10);
		waited += 10;
	}
	snprintf(name, sizeof(name), "%s: the signal ends KVM_RUN", how);
	if (!check(name, rn.done, "still running %d ms after the signal", WAIT_MS)) {
		/* Leave it: exit() ends the process. */
		pthread_detach(t);
		return;
	}
	pthread_join(t, NULL);
	snprintf(name, sizeof(name), "%s: -1 EINTR, KVM_EXIT_INTR", how);
	check(name, rn.r == -1 && rn.err == EINTR && run->exit_reason == KVM_EXIT_INTR,
	      "r %d (%s), exit_reason %u", rn.r, strerror(rn.err), run->exit_reason);
	snprintf(name, sizeof(name), "%s: the handler ran once", how);
	check(name, handled == before + 1, "%d times", handled - before);
}

int main(void)
{
	struct kvm_userspace_memory_region region;
	struct sigaction act, old;
	struct kvm_sregs sregs;
	struct kvm_run *run;
	uint8_t *mem;
	int kvm, vm, vcpu, r, size;

	setvbuf(stdout, NULL, _IOLBF, 0);
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (!check("open /dev/kvm", kvm >= 0, "%s", strerror(errno)))
		return 1;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (!check("KVM_CREATE_VM", vm >= 0, "%s", strerror(errno)))
		return 1;
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!check("mmap guest memory", mem != MAP_FAILED, "%s", strerror(errno)))
		return 1;
	memcpy(mem + SPIN_GPA, spin, sizeof(spin));
	memcpy(mem + OUT_GPA, out_hlt, sizeof(out_hlt));
	region = (struct kvm_userspace_memory_region){
	    .slot = 0, .memory_size = MEM_SIZE, .userspace_addr = (uintptr_t)mem};
	r = ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region);
	check("KVM_SET_USER_MEMORY_REGION", r == 0, "%s", strerror(errno));
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (!check("KVM_CREATE_VCPU", vcpu >= 0, "%s", strerror(errno)))
		return 1;
	size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (!check("mmap the vCPU's kvm_run", run != MAP_FAILED, "%s", strerror(errno)))
		return 1;
	r = ioctl(vcpu, KVM_GET_SREGS, &sregs);
	if (r == 0) {
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
		r = ioctl(vcpu, KVM_SET_SREGS, &sregs);
	}
	check("KVM_SET_SREGS: CS 0", r == 0, "%s", strerror(errno));

	memset(&act, 0, sizeof(act));
	act.sa_handler = on_usr1;
	sigemptyset(&act.sa_mask);
	r = sigaction(SIGUSR1, &act, NULL);
	check("sigaction(SIGUSR1)", r == 0, "%s", strerror(errno));
	r = sigaction(SIGUSR1, NULL, &old);
	check("sigaction reports the handler installed", r == 0 && old.sa_handler == on_usr1,
	      "r %d, handler %p", r, (void *)old.sa_handler);
	stop_by_signal(vcpu, run, "no SA_RESTART");

	/* The vCPU runs on: the OUT, then HLT. */
	set_rip(vcpu, OUT_GPA);
	r = ioctl(vcpu, KVM_RUN, 0);
	check("KVM_RUN after the signal: KVM_EXIT_IO 'Z'",
	      r == 0 && run->exit_reason == KVM_EXIT_IO && run->io.port == 0x3f8 &&
		  *((uint8_t *)run + run->io.data_offset) == 'Z',
	      "r %d (%s), exit_reason %u", r, strerror(errno), run->exit_reason);

	act.sa_flags = SA_RESTART;
	r = sigaction(SIGUSR1, &act, NULL);
	check("sigaction(SIGUSR1, SA_RESTART)", r == 0, "%s", strerror(errno));
	stop_by_signal(vcpu, run, "SA_RESTART");

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
