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
 * Then the QEMU way without immediate_exit: SIGUSR1 blocked in the thread
 * and unblocked for KVM_RUN alone by KVM_SET_SIGNAL_MASK (len 8, else
 * EINVAL; NULL clears it). A signal left pending between two runs makes
 * the next KVM_RUN return -EINTR with KVM_EXIT_INTR at once, after it has
 * completed the last exit's IN (Documentation/virt/kvm/api.rst: "The
 * kernel side will first finish incomplete operations and then check for
 * pending signals"); one sent during the run stops it. Either way the
 * signal is not delivered, as the thread's own mask is back when the call
 * returns ("the signal will only be delivered if not blocked by the
 * original signal mask"): it stays pending until unblocked or taken with
 * sigtimedwait() (QEMU's kvm_eat_signals()).
 *
 * The real-mode guest spins at 0x1000 (jmp .); at 0x1010 it OUTs 'Z' to
 * COM1 and halts; at 0x1020 it INs from COM1 and spins. Each check prints
 * PASS/FAIL; the last line is "N passed, N failed", the exit status 1 if
 * anything failed.
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
#define IN_GPA	 0x1020
#define IN_NEXT	 (IN_GPA + 4) /* the jmp after the IN */
#define WAIT_MS	 120000	      /* for a stopped run to come back */

static const uint8_t spin[] = {0xeb, 0xfe};		       /* jmp . */
static const uint8_t out_hlt[] = {0xba, 0xf8, 0x03, 0xb0, 'Z', /* mov $0x3f8,%dx; mov $'Z',%al */
				  0xee, 0xf4};		       /* out %al,(%dx); hlt */
static const uint8_t in_spin[] = {0xba, 0xf8, 0x03,	       /* mov $0x3f8,%dx */
				  0xec, 0xeb, 0xfe};	       /* in (%dx),%al; jmp . */

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
	int eat; /* take a pending SIGUSR1 after the run, as kvm_eat_signals() */
	int r, err;
	int pending, eaten, handled_in_run;
	volatile int done;
};

static int usr1_pending(void)
{
	sigset_t p;

	return sigpending(&p) == 0 && sigismember(&p, SIGUSR1) == 1;
}

static void *run_main(void *p)
{
	struct runner *rn = p;
	struct timespec zero = {0, 0};
	sigset_t usr1;
	int before = handled;

	errno = 0;
	rn->r = ioctl(rn->vcpu, KVM_RUN, 0);
	rn->err = errno;
	if (rn->eat) {
		rn->handled_in_run = handled - before;
		rn->pending = usr1_pending();
		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		rn->eaten = sigtimedwait(&usr1, NULL, &zero) == SIGUSR1;
	}
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

/*
 * One spinning KVM_RUN in a thread, stopped by SIGUSR1 to that thread.
 * With @masked, the thread has SIGUSR1 blocked and the vCPU's signal mask
 * unblocks it: the handler does not run, the signal stays pending.
 */
static void stop_by_signal(int vcpu, struct kvm_run *run, const char *how, int masked)
{
	struct runner rn = {.vcpu = vcpu, .eat = masked};
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
	if (!masked) {
		snprintf(name, sizeof(name), "%s: the handler ran once", how);
		check(name, handled == before + 1, "%d times", handled - before);
		return;
	}
	snprintf(name, sizeof(name), "%s: the handler did not run, SIGUSR1 stays pending", how);
	check(name, rn.handled_in_run == 0 && handled == before && rn.pending,
	      "handler ran %d times in KVM_RUN, %d in all; pending %d", rn.handled_in_run,
	      handled - before, rn.pending);
	snprintf(name, sizeof(name), "%s: sigtimedwait() takes it", how);
	check(name, rn.eaten, "it did not");
}

/* Linux's sigset_t as KVM_SET_SIGNAL_MASK takes it: 8 bytes, bit N-1 for signal N. */
static int set_signal_mask(int vcpu, const sigset_t *set, uint32_t len)
{
	union {
		struct kvm_signal_mask m;
		uint8_t b[sizeof(struct kvm_signal_mask) + 8];
	} u;
	uint64_t bits = 0;

	for (int s = 1; s <= 64; s++)
		if (sigismember(set, s) == 1)
			bits |= 1ULL << (s - 1);
	u.m.len = len;
	memcpy(u.m.sigset, &bits, sizeof(bits));
	return ioctl(vcpu, KVM_SET_SIGNAL_MASK, &u.m);
}

static int same_mask(const sigset_t *a, const sigset_t *b)
{
	for (int s = 1; s < NSIG; s++)
		if (sigismember(a, s) != sigismember(b, s))
			return 0;
	return 1;
}

/* KVM_SET_SIGNAL_MASK: SIGUSR1 blocked outside KVM_RUN, unblocked in it. */
static void signal_mask(int vcpu, struct kvm_run *run)
{
	sigset_t usr1, orig, blocked, vmask, now;
	struct kvm_regs regs;
	int r, before;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, &orig);
	pthread_sigmask(SIG_BLOCK, NULL, &blocked);
	vmask = blocked;
	sigdelset(&vmask, SIGUSR1);

	errno = 0;
	r = set_signal_mask(vcpu, &vmask, 4);
	check("KVM_SET_SIGNAL_MASK with len 4: EINVAL", r == -1 && errno == EINVAL, "r %d (%s)", r,
	      strerror(errno));
	r = set_signal_mask(vcpu, &vmask, 8);
	if (!check("KVM_SET_SIGNAL_MASK without SIGUSR1", r == 0, "%s", strerror(errno)))
		goto out;

	/* An IN exit, left for the next KVM_RUN to complete. */
	set_rip(vcpu, IN_GPA);
	r = ioctl(vcpu, KVM_RUN, 0);
	if (!check("KVM_RUN under the mask: KVM_EXIT_IO IN",
		   r == 0 && run->exit_reason == KVM_EXIT_IO &&
		       run->io.direction == KVM_EXIT_IO_IN && run->io.port == 0x3f8 &&
		       run->io.size == 1,
		   "r %d (%s), exit_reason %u", r, strerror(errno), run->exit_reason))
		goto out;
	*((uint8_t *)run + run->io.data_offset) = 'Q';

	/* A kick between two runs: pending, blocked by the thread's mask. */
	before = handled;
	pthread_kill(pthread_self(), SIGUSR1);
	check("SIGUSR1 sent outside KVM_RUN is pending", usr1_pending() && handled == before,
	      "pending %d, handler ran %d times", usr1_pending(), handled - before);
	errno = 0;
	r = ioctl(vcpu, KVM_RUN, 0);
	check("pending SIGUSR1: KVM_RUN -1 EINTR, KVM_EXIT_INTR",
	      r == -1 && errno == EINTR && run->exit_reason == KVM_EXIT_INTR,
	      "r %d (%s), exit_reason %u", r, strerror(errno), run->exit_reason);
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	check("the thread's signal mask after KVM_RUN is the one before", same_mask(&now, &blocked),
	      "SIGUSR1 blocked %d", sigismember(&now, SIGUSR1));
	check("pending SIGUSR1: not delivered by KVM_RUN, still pending",
	      handled == before && usr1_pending(), "handler ran %d times, pending %d",
	      handled - before, usr1_pending());
	r = ioctl(vcpu, KVM_GET_REGS, &regs);
	check("pending SIGUSR1: the IN was completed first",
	      r == 0 && (regs.rax & 0xff) == 'Q' && regs.rip == IN_NEXT,
	      "r %d, al 0x%llx, rip 0x%llx", r, (unsigned long long)(regs.rax & 0xff),
	      (unsigned long long)regs.rip);
	pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	check("pending SIGUSR1: unblocking it runs the handler once", handled == before + 1,
	      "%d times", handled - before);

	/* The signal is gone: the guest runs. */
	set_rip(vcpu, OUT_GPA);
	r = ioctl(vcpu, KVM_RUN, 0);
	check("KVM_RUN after it: KVM_EXIT_IO 'Z'",
	      r == 0 && run->exit_reason == KVM_EXIT_IO && run->io.port == 0x3f8 &&
		  *((uint8_t *)run + run->io.data_offset) == 'Z' && handled == before + 1,
	      "r %d (%s), exit_reason %u, handler %d times", r, strerror(errno), run->exit_reason,
	      handled - before);

	/* A kick during the run, to a thread that blocks SIGUSR1 (it inherits the mask). */
	stop_by_signal(vcpu, run, "KVM_SET_SIGNAL_MASK", 1);

	/* NULL clears the mask: the thread's, which blocks SIGUSR1, applies. */
	r = ioctl(vcpu, KVM_SET_SIGNAL_MASK, NULL);
	check("KVM_SET_SIGNAL_MASK NULL", r == 0, "%s", strerror(errno));
	before = handled;
	pthread_kill(pthread_self(), SIGUSR1);
	set_rip(vcpu, OUT_GPA);
	r = ioctl(vcpu, KVM_RUN, 0);
	check("without the mask a blocked pending SIGUSR1 stops nothing: KVM_EXIT_IO 'Z'",
	      r == 0 && run->exit_reason == KVM_EXIT_IO &&
		  *((uint8_t *)run + run->io.data_offset) == 'Z' && handled == before &&
		  usr1_pending(),
	      "r %d (%s), exit_reason %u, handler %d times, pending %d", r, strerror(errno),
	      run->exit_reason, handled - before, usr1_pending());
out:
	pthread_sigmask(SIG_SETMASK, &orig, NULL); /* delivers what is still pending */
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
	memcpy(mem + IN_GPA, in_spin, sizeof(in_spin));
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
	stop_by_signal(vcpu, run, "no SA_RESTART", 0);

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
	stop_by_signal(vcpu, run, "SA_RESTART", 0);
	signal_mask(vcpu, run);

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
