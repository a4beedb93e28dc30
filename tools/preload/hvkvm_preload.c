// SPDX-License-Identifier: MIT
/*
 * hvkvm_preload: an LD_PRELOAD shim that gives an unmodified /dev/kvm
 * program the remote hypervisor through libhvkvm.
 *
 *	LD_PRELOAD=build/tools/libhvkvm_preload.so HVKVM_CONNECT=unix:/tmp/hv.sock ./prog
 *
 * What it takes over, and only for the descriptors it made itself:
 *  - open/open64/openat/openat64/__open_2 (and friends), fopen/fopen64 of
 *    "/dev/kvm": the connection named by $HVKVM_CONNECT is opened on the
 *    first call (HELLO client "preload:<program>"), a /dev/kvm pseudo-fd is
 *    taken from libhvkvm, and the program gets a real kernel descriptor (a
 *    memfd, so numbers never collide with the program's own) that stands
 *    for it. Without $HVKVM_CONNECT the open fails with ENOENT and one line
 *    on stderr says why.
 *  - ioctl on those descriptors goes to hvk_ioctl(); the VM and vCPU fds
 *    KVM_CREATE_VM and KVM_CREATE_VCPU return become real descriptors too.
 *    KVM_SET_SIGNAL_MASK on a vCPU is kept here (the hypervisor has no
 *    signals) and applied around each KVM_RUN of it (see run_vcpu()).
 *  - mmap/mmap64 of a vCPU descriptor returns libhvkvm's struct kvm_run
 *    (hvk_mmap(), at the page offset asked for); munmap of it succeeds and
 *    does nothing (the library owns it).
 *  - close, dup/dup2/dup3, fcntl(F_DUPFD, F_DUPFD_CLOEXEC): descriptors are
 *    references to one object, as struct file is on Linux. The object is
 *    closed in libhvkvm (hvk_close_fd) when the last reference goes: every
 *    descriptor, every call in progress on it and, for a VM, every vCPU
 *    (a vCPU holds its VM, so the VM is destroyed only once nothing can
 *    use it, as kvm_put_kvm() does).
 *  - open/fopen of /sys/module/kvm/parameters/NAME and
 *    /sys/module/kvm_intel/parameters/NAME: fixed contents that describe
 *    the hypervisor (see the table below), served from a memfd; a name not
 *    in the table is ENOENT.
 *  - sigaction and signal: a handler the program installs runs behind a
 *    small trampoline that counts, per thread, the signals taken, so that a
 *    signal to a thread waiting in ioctl(KVM_RUN) ends that run with -1/
 *    EINTR and KVM_EXIT_INTR, as on Linux (the way QEMU and kvmtool stop a
 *    vCPU thread); sigaction() reports the program's own handler back. With
 *    a KVM_SET_SIGNAL_MASK mask, a signal pending outside it stops the run
 *    too, whether it was pending before KVM_RUN or came during it.
 * Everything else goes to the next definition (libc) untouched.
 *
 * The fd table is protected by one mutex, never held across a call into
 * libhvkvm, so a KVM_RUN in one thread does not stop another thread's
 * ioctls. A descriptor the program closed behind our back (close_range,
 * say) is recognised by its inode no longer being the memfd's.
 */
#undef _FORTIFY_SOURCE
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abi/kvm.h"
#include "tools/libhvkvm.h"

#define PUBLIC __attribute__((visibility("default")))

#define ENV_CONNECT "HVKVM_CONNECT"
#define MAX_REGIONS 256 /* kvm_run mappings handed out (one per vCPU) */

/* Linux's KVM_SET_SIGNAL_MASK, not in abi/kvm.h: the hypervisor has no signals. */
struct shim_signal_mask {
	uint32_t len;
	uint8_t sigset[]; /* the kernel's sigset_t: bit N-1 for signal N */
};
#define KVM_SET_SIGNAL_MASK HV_IOW(KVMIO, 0x8b, struct shim_signal_mask)
#define KERNEL_SIGSET_SIZE  8 /* sizeof(sigset_t) in the x86_64 kernel */
_Static_assert(KVM_SET_SIGNAL_MASK == 0x4004ae8bUL, "KVM_SET_SIGNAL_MASK");

/* ---- The next definitions (libc) ---- */

static void *next_sym(void **slot, const char *name)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (!p) {
		p = dlsym(RTLD_NEXT, name);
		if (!p) {
			fprintf(stderr, "hvkvm_preload: no next definition of %s\n", name);
			abort();
		}
		__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	}
	return p;
}

#define NEXT(name)                                                                                 \
	({                                                                                         \
		static void *slot_;                                                                \
		(__typeof__(&name))next_sym(&slot_, #name);                                        \
	})

/* The fortified opens have no declaration outside glibc's headers' internals. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

/* ---- KVM objects and the fd table ---- */

enum { OBJ_SYSTEM, OBJ_VM, OBJ_VCPU };

struct obj {
	int pseudo; /* the libhvkvm pseudo-fd */
	int kind;   /* OBJ_* */
	int refs;   /* descriptors, calls in progress, vCPUs of a VM */
	dev_t dev;  /* the memfd's inode, to tell a stale entry */
	ino_t ino;
	struct obj *vm; /* a vCPU's VM, which it holds */
	/* A vCPU's KVM_SET_SIGNAL_MASK (vcpu->sigset_active, vcpu->sigset). */
	bool sigset_active;
	sigset_t sigset;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct obj **fdmap; /* real fd -> object */
static int fdmap_len;
static struct {
	uintptr_t start, end;
} regions[MAX_REGIONS]; /* kvm_run mappings: munmap is a no-op there */
static int nregions;

static pthread_mutex_t conn_mu = PTHREAD_MUTEX_INITIALIZER;
static struct hvk *conn;
static pid_t conn_pid; /* the process that opened it */
static bool told_no_env;

/* Call with mu held: make room for @fd. */
static bool fdmap_fit(int fd)
{
	struct obj **n;
	int len;

	if (fd < fdmap_len)
		return true;
	len = fdmap_len ? fdmap_len : 64;
	while (len <= fd)
		len *= 2;
	n = realloc(fdmap, sizeof(*n) * (size_t)len);
	if (!n)
		return false;
	memset(n + fdmap_len, 0, sizeof(*n) * (size_t)(len - fdmap_len));
	fdmap = n;
	fdmap_len = len;
	return true;
}

/* Call with mu held. */
static struct obj *fdmap_take(int fd)
{
	struct obj *o = NULL;

	if (fd >= 0 && fd < fdmap_len) {
		o = fdmap[fd];
		fdmap[fd] = NULL;
	}
	return o;
}

/*
 * A forked child: the connection and the VMs are its parent's. KVM refuses
 * the child's VM and vCPU ioctls (EIO: another mm) and the shim all of
 * them (the one connection cannot serve two processes); the child's close
 * of an inherited descriptor destroys nothing.
 */
static bool in_child(void)
{
	return __atomic_load_n(&conn, __ATOMIC_ACQUIRE) && getpid() != conn_pid;
}

/* Drop a reference; the last one closes the object in libhvkvm. */
static void obj_put(struct obj *o)
{
	int left;

	while (o) {
		struct obj *vm;
		int saved = errno;

		pthread_mutex_lock(&mu);
		left = --o->refs;
		pthread_mutex_unlock(&mu);
		if (left)
			return;
		if (!in_child())
			hvk_close_fd(conn, o->pseudo);
		errno = saved;
		vm = o->vm;
		free(o);
		o = vm; /* the vCPU's hold on its VM */
	}
}

/*
 * The object behind @fd with a reference for the caller, or NULL if @fd is
 * not ours. A stale entry (the descriptor now names another file) is
 * dropped.
 */
static struct obj *obj_get(int fd)
{
	struct obj *o = NULL;
	struct stat st;

	if (fd < 0)
		return NULL;
	pthread_mutex_lock(&mu);
	if (fd < fdmap_len && fdmap[fd]) {
		o = fdmap[fd];
		o->refs++;
	}
	pthread_mutex_unlock(&mu);
	if (!o)
		return NULL;
	if (fstat(fd, &st) == 0 && st.st_dev == o->dev && st.st_ino == o->ino)
		return o;
	/* Closed behind our back, and the number reused (or not open). */
	pthread_mutex_lock(&mu);
	if (fd < fdmap_len && fdmap[fd] == o)
		fdmap[fd] = NULL;
	else
		o = NULL; /* someone else dropped it meanwhile */
	pthread_mutex_unlock(&mu);
	if (o) {
		obj_put(o); /* the descriptor's reference */
		obj_put(o); /* ours */
	}
	return NULL;
}

/* Make @fd (a new real descriptor) a reference to @o, which the caller gave. */
static void fd_install(int fd, struct obj *o)
{
	struct obj *prev = NULL;
	bool ok;

	pthread_mutex_lock(&mu);
	ok = fdmap_fit(fd);
	if (ok) {
		prev = fdmap[fd];
		fdmap[fd] = o;
	}
	pthread_mutex_unlock(&mu);
	obj_put(prev);
	if (!ok)
		obj_put(o); /* out of memory: the fd stays a plain memfd */
}

/*
 * A real descriptor for the new pseudo-fd @pseudo (a vCPU's @parent VM
 * gets a reference from it): -1 with errno, the pseudo-fd closed, on failure.
 */
static int adopt(int pseudo, struct obj *parent, bool cloexec)
{
	int kind = hvk_fd_target(conn, pseudo, NULL, NULL), fd, err;
	const char *name = kind == 1 ? "kvm-vm" : kind == 2 ? "kvm-vcpu" : "kvm";
	struct obj *o = calloc(1, sizeof(*o));
	struct stat st;

	fd = o ? memfd_create(name, cloexec ? MFD_CLOEXEC : 0) : -1;
	if (fd < 0 || fstat(fd, &st) < 0) {
		err = o ? errno : ENOMEM;
		if (fd >= 0)
			NEXT(close)(fd);
		free(o);
		hvk_close_fd(conn, pseudo);
		errno = err;
		return -1;
	}
	o->pseudo = pseudo;
	o->kind = kind == 1 ? OBJ_VM : kind == 2 ? OBJ_VCPU : OBJ_SYSTEM;
	o->refs = 1;
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	if (o->kind == OBJ_VCPU && parent) {
		pthread_mutex_lock(&mu);
		parent->refs++;
		pthread_mutex_unlock(&mu);
		o->vm = parent;
	}
	fd_install(fd, o);
	return fd;
}

/* ---- The connection ---- */

/*
 * A program that exits ends its session (a BYE), so its VMs go now rather
 * than when the next controller says HELLO; one that dies leaves that to
 * the relay or the next HELLO. Not in a forked child: the VMs are the
 * parent's. The answer is awaited at most 5 s; errno stays as it was.
 */
__attribute__((destructor)) static void session_end_at_exit(void)
{
	struct hvk *h = __atomic_load_n(&conn, __ATOMIC_ACQUIRE);
	int saved = errno;

	if (h && conn_pid == getpid()) {
		hvk_set_timeout(h, 5000);
		hvk_end_session(h);
	}
	errno = saved;
}

/* The connection, opened on first use; NULL with errno if there is none. */
static bool run_interrupted(void); /* below, with the signals */

static struct hvk *connection(void)
{
	struct hvk_options opt = {0};
	const char *where;
	char client[32];
	struct hvk *h;
	int err = 0;

	pthread_mutex_lock(&conn_mu);
	h = conn;
	where = getenv(ENV_CONNECT);
	if (!h && (!where || !*where)) {
		if (!told_no_env)
			fprintf(stderr, "hvkvm_preload: /dev/kvm: set " ENV_CONNECT
					" to unix:PATH, tcp:HOST:PORT, fd:N or a serial device "
					"PATH[,BAUD]\n");
		told_no_env = true;
		err = ENOENT;
	} else if (!h) {
		snprintf(client, sizeof(client), "preload:%s", program_invocation_short_name);
		opt.client = client;
		h = hvk_open_with(where, &opt);
		if (h) {
			/* ioctl(KVM_RUN) blocks as long as the guest runs... */
			hvk_set_run_timeout(h, -1);
			/* ...or until its thread takes a signal. */
			hvk_set_run_interrupt_check(h, run_interrupted);
			conn_pid = getpid();
			__atomic_store_n(&conn, h, __ATOMIC_RELEASE);
		} else {
			err = errno;
			fprintf(stderr, "hvkvm_preload: %s=%s: %s\n", ENV_CONNECT, where,
				hvk_last_error());
		}
	}
	pthread_mutex_unlock(&conn_mu);
	if (!h)
		errno = err;
	return h;
}

/* ---- signals: what ends a KVM_RUN ---- */

/*
 * Signals this thread has taken through a trampoline, and the count when
 * its KVM_RUN began. Initial-exec TLS: the trampoline may run at any
 * moment, where a first access to dynamic TLS could allocate.
 */
static __thread unsigned sig_taken __attribute__((tls_model("initial-exec")));
static __thread unsigned sig_at_run __attribute__((tls_model("initial-exec")));
/* In a KVM_RUN under a vCPU signal mask: that mask (see run_vcpu()). */
static __thread const sigset_t *run_sigset __attribute__((tls_model("initial-exec")));

/* The program's own actions, for the signals whose handler we wrap. */
static struct sigaction user_act[_NSIG];
static bool wrapped[_NSIG];

static void trampoline(int sig, siginfo_t *si, void *uc)
{
	const struct sigaction *a = &user_act[sig];

	sig_taken++;
	if (a->sa_flags & SA_SIGINFO)
		a->sa_sigaction(sig, si, uc);
	else if (a->sa_handler != SIG_IGN && a->sa_handler != SIG_DFL)
		a->sa_handler(sig);
}

/*
 * A signal pending for this thread that @mask does not block. Every
 * pending signal is blocked by the thread's mask (else it would have been
 * delivered), so sigpending() reports them all.
 */
static bool pending_unblocked(const sigset_t *mask)
{
	sigset_t p;
	int saved = errno;

	if (sigpending(&p) < 0)
		sigemptyset(&p);
	errno = saved;
	for (int s = 1; s < _NSIG; s++)
		if (sigismember(&p, s) == 1 && sigismember(mask, s) != 1)
			return true;
	return false;
}

/*
 * hvk_set_run_interrupt_check: this thread took a signal since its run
 * began, or, under a vCPU signal mask, one is pending outside that mask.
 */
static bool run_interrupted(void)
{
	return __atomic_load_n(&sig_taken, __ATOMIC_RELAXED) != sig_at_run ||
	       (run_sigset && pending_unblocked(run_sigset));
}

static bool is_handler(const struct sigaction *act)
{
	if (act->sa_flags & SA_SIGINFO)
		return act->sa_sigaction != NULL;
	return act->sa_handler != SIG_IGN && act->sa_handler != SIG_DFL;
}

PUBLIC int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction prev, mine;
	bool was = sig > 0 && sig < _NSIG && wrapped[sig];
	int r;

	if (sig <= 0 || sig >= _NSIG)
		return NEXT(sigaction)(sig, act, old);
	if (was)
		prev = user_act[sig];
	if (act && is_handler(act)) {
		mine = *act;
		mine.sa_flags |= SA_SIGINFO;
		mine.sa_sigaction = trampoline;
		/* The trampoline reads user_act: fill it before the kernel can call it. */
		user_act[sig] = *act;
		r = NEXT(sigaction)(sig, &mine, old);
		if (r == 0)
			wrapped[sig] = true;
		else if (was)
			user_act[sig] = prev;
	} else {
		r = NEXT(sigaction)(sig, act, old);
		if (r == 0 && act)
			wrapped[sig] = false;
	}
	if (r == 0 && old && was) {
		/* What the program installed, not the trampoline. */
		old->sa_flags = prev.sa_flags;
		if (prev.sa_flags & SA_SIGINFO)
			old->sa_sigaction = prev.sa_sigaction;
		else
			old->sa_handler = prev.sa_handler;
	}
	return r;
}

/* glibc's signal(): BSD semantics (SA_RESTART), through the sigaction above. */
PUBLIC sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction act, old;

	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	act.sa_flags = SA_RESTART;
	sigemptyset(&act.sa_mask);
	if (sig > 0 && sig < _NSIG)
		sigaddset(&act.sa_mask, sig);
	if (sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

/* ---- /sys/module/kvm*\/parameters ---- */

/*
 * What the hypervisor is, in KVM's terms (tools/README.md says why each).
 * Booleans read "Y"/"N" as the kernel's param_get_bool() writes them.
 */
static const struct {
	const char *path, *value;
} params[] = {
    {"/sys/module/kvm/parameters/ignore_msrs", "N"},
    {"/sys/module/kvm/parameters/report_ignored_msrs", "Y"},
    {"/sys/module/kvm/parameters/enable_pmu", "N"},
    {"/sys/module/kvm/parameters/enable_vmware_backdoor", "N"},
    {"/sys/module/kvm/parameters/nx_huge_pages", "N"},
    {"/sys/module/kvm/parameters/halt_poll_ns", "0"},
    {"/sys/module/kvm_intel/parameters/nested", "N"},
    {"/sys/module/kvm_intel/parameters/ept", "Y"},
    {"/sys/module/kvm_intel/parameters/unrestricted_guest", "Y"},
    {"/sys/module/kvm_intel/parameters/enable_vpid", "Y"},
    {"/sys/module/kvm_intel/parameters/eptad", "N"},
    {"/sys/module/kvm_intel/parameters/pml", "N"},
    {"/sys/module/kvm_intel/parameters/enable_apicv", "N"},
    {"/sys/module/kvm_intel/parameters/enable_ipiv", "N"},
    {"/sys/module/kvm_intel/parameters/flexpriority", "N"},
    {"/sys/module/kvm_intel/parameters/enable_shadow_vmcs", "N"},
    {"/sys/module/kvm_intel/parameters/emulate_invalid_guest_state", "N"},
    {"/sys/module/kvm_intel/parameters/preemption_timer", "Y"},
    {"/sys/module/kvm_intel/parameters/allow_smaller_maxphyaddr", "N"},
    {"/sys/module/kvm_intel/parameters/sgx", "N"},
    {"/sys/module/kvm_intel/parameters/ple_gap", "0"},
};

enum { PATH_OTHER, PATH_KVM, PATH_PARAM };

static int classify(const char *path)
{
	if (!path)
		return PATH_OTHER;
	if (!strcmp(path, "/dev/kvm"))
		return PATH_KVM;
	if (!strncmp(path, "/sys/module/kvm/parameters/", 27) ||
	    !strncmp(path, "/sys/module/kvm_intel/parameters/", 33))
		return PATH_PARAM;
	return PATH_OTHER;
}

static int open_param(const char *path, int flags)
{
	const char *value = NULL;
	char buf[32];
	int fd, n;

	if (!getenv(ENV_CONNECT)) {
		errno = ENOENT; /* no hypervisor: no kvm module */
		return -1;
	}
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]) && !value; i++)
		if (!strcmp(path, params[i].path))
			value = params[i].value;
	if (!value) {
		errno = ENOENT;
		return -1;
	}
	if ((flags & O_ACCMODE) != O_RDONLY) {
		errno = EACCES;
		return -1;
	}
	fd = memfd_create("kvm-param", flags & O_CLOEXEC ? MFD_CLOEXEC : 0);
	if (fd < 0)
		return -1;
	n = snprintf(buf, sizeof(buf), "%s\n", value);
	if (pwrite(fd, buf, (size_t)n, 0) != n) {
		int err = errno ? errno : EIO;

		NEXT(close)(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static int open_kvm(int flags)
{
	struct hvk *h = connection();
	int p;

	if (!h)
		return -1;
	p = hvk_kvm_fd(h);
	if (p < 0)
		return -1;
	return adopt(p, NULL, flags & O_CLOEXEC);
}

/* Whether @path is ours (else the caller goes on to libc); the result in *@r. */
static bool open_ours(const char *path, int flags, int *r)
{
	switch (classify(path)) {
	case PATH_KVM:
		*r = open_kvm(flags);
		return true;
	case PATH_PARAM:
		*r = open_param(path, flags);
		return true;
	default:
		return false;
	}
}

static bool wants_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define MODE_ARG(flags)                                                                            \
	({                                                                                         \
		mode_t m_ = 0;                                                                     \
		if (wants_mode(flags)) {                                                           \
			va_list ap_;                                                               \
			va_start(ap_, flags);                                                      \
			m_ = va_arg(ap_, mode_t);                                                  \
			va_end(ap_);                                                               \
		}                                                                                  \
		m_;                                                                                \
	})

PUBLIC int open(const char *path, int flags, ...)
{
	mode_t mode = MODE_ARG(flags);
	int r;

	if (open_ours(path, flags, &r))
		return r;
	return NEXT(open)(path, flags, mode);
}

PUBLIC int open64(const char *path, int flags, ...)
{
	mode_t mode = MODE_ARG(flags);
	int r;

	if (open_ours(path, flags, &r))
		return r;
	return NEXT(open64)(path, flags, mode);
}

/* Only absolute paths are ours: a relative one depends on @dirfd. */
PUBLIC int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = MODE_ARG(flags);
	int r;

	if (open_ours(path, flags, &r))
		return r;
	return NEXT(openat)(dirfd, path, flags, mode);
}

PUBLIC int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = MODE_ARG(flags);
	int r;

	if (open_ours(path, flags, &r))
		return r;
	return NEXT(openat64)(dirfd, path, flags, mode);
}

PUBLIC int __open_2(const char *path, int flags)
{
	int r;

	if (open_ours(path, flags, &r))
		return r;
	return NEXT(__open_2)(path, flags);
}

PUBLIC int __open64_2(const char *path, int flags)
{
	int r;

	if (open_ours(path, flags, &r))
		return r;
	return NEXT(__open64_2)(path, flags);
}

PUBLIC int __openat_2(int dirfd, const char *path, int flags)
{
	int r;

	if (open_ours(path, flags, &r))
		return r;
	return NEXT(__openat_2)(dirfd, path, flags);
}

PUBLIC int __openat64_2(int dirfd, const char *path, int flags)
{
	int r;

	if (open_ours(path, flags, &r))
		return r;
	return NEXT(__openat64_2)(dirfd, path, flags);
}

/* fopen() opens with libc's internal open: the parameter files need this. */
static FILE *fopen_ours(const char *path, const char *mode, bool *ours)
{
	int flags = O_RDONLY, fd;
	FILE *f;

	*ours = classify(path) != PATH_OTHER;
	if (!*ours)
		return NULL;
	if (mode[0] != 'r' || strchr(mode, '+'))
		flags = O_RDWR;
	if (strchr(mode, 'e'))
		flags |= O_CLOEXEC;
	if (!open_ours(path, flags, &fd) || fd < 0)
		return NULL;
	f = fdopen(fd, mode);
	if (!f) {
		int err = errno;

		close(fd);
		errno = err;
	}
	return f;
}

PUBLIC FILE *fopen(const char *path, const char *mode)
{
	bool ours;
	FILE *f = fopen_ours(path, mode, &ours);

	return ours ? f : NEXT(fopen)(path, mode);
}

PUBLIC FILE *fopen64(const char *path, const char *mode)
{
	bool ours;
	FILE *f = fopen_ours(path, mode, &ours);

	return ours ? f : NEXT(fopen64)(path, mode);
}

/* ---- ioctl ---- */

/*
 * KVM_SET_SIGNAL_MASK on a vCPU, by kvm_vcpu_ioctl()'s rules: a NULL
 * argument clears the mask; else len must be the kernel's sizeof(sigset_t)
 * (8 on x86_64; EINVAL), and the mask less SIGKILL and SIGSTOP
 * (kvm_vcpu_ioctl_set_sigmask()) is the one every later KVM_RUN of the
 * vCPU runs under. glibc's two internal signals cannot be in a sigset_t
 * here; glibc never lets them be blocked anyway.
 */
static int set_sigmask(struct obj *o, const struct shim_signal_mask *m)
{
	int saved = errno; /* sigaddset() refuses glibc's own signals */
	uint64_t bits;
	sigset_t set;

	sigemptyset(&set);
	if (m) {
		if (m->len != KERNEL_SIGSET_SIZE) {
			errno = EINVAL;
			return -1;
		}
		memcpy(&bits, m->sigset, sizeof(bits));
		for (int s = 1; s <= 64; s++)
			if ((bits >> (s - 1)) & 1)
				sigaddset(&set, s);
		sigdelset(&set, SIGKILL);
		sigdelset(&set, SIGSTOP);
	}
	pthread_mutex_lock(&mu);
	o->sigset_active = m != NULL;
	o->sigset = set;
	pthread_mutex_unlock(&mu);
	errno = saved;
	return 0;
}

/*
 * KVM_RUN of a vCPU. With a KVM_SET_SIGNAL_MASK mask, Linux swaps it in
 * for the run (kvm_sigset_activate()) and the thread's own back before
 * returning (kvm_sigset_deactivate()). kvm_arch_vcpu_ioctl_run() first
 * completes the last exit's I/O (complete_userspace_io), then returns
 * -EINTR on immediate_exit, else vcpu_run() ends with -EINTR and
 * KVM_EXIT_INTR as soon as a signal is pending and not blocked
 * (xfer_to_guest_mode_handle_work(), kvm_handle_signal_exit()), before
 * any guest entry if it was pending at the start. Such a signal is not
 * delivered on the way out when the thread's own mask blocks it: it stays
 * pending (api.rst: "the signal will only be delivered if not blocked by
 * the original signal mask"; QEMU's kvm_eat_signals() takes it with
 * sigtimedwait()).
 *
 * In user space unblocking delivers at once, so the shim never unblocks:
 * for the run it blocks what the vCPU mask blocks on top of the thread's
 * mask, and takes a signal pending outside the vCPU mask for one Linux
 * would see pending and unblocked. One pending at the start sends the run
 * with immediate_exit set, which the hypervisor answers as Linux would
 * (the last exit's I/O completed, no guest entry: vmx/vcpu.c vcpu_run()),
 * and the -1/EINTR answer gets KVM_EXIT_INTR (if the program had set
 * immediate_exit itself, Linux returns before looking at signals and
 * leaves exit_reason alone, and so does the hypervisor). One arriving
 * during the run is seen by run_interrupted() at its next check. A
 * handled signal blocked by neither mask is counted by the trampoline as
 * without a mask. Restoring the thread's mask delivers what the vCPU mask
 * held back and the thread's does not, as Linux's return to user space
 * does. While a forced run is out, a write of immediate_exit by another
 * thread is overwritten with the 0 it had.
 */
static int run_vcpu(struct obj *o)
{
	struct kvm_run *run = NULL;
	sigset_t vmask, saved;
	bool masked;
	int r, err;

	pthread_mutex_lock(&mu);
	masked = o->sigset_active;
	vmask = o->sigset;
	pthread_mutex_unlock(&mu);
	if (!masked) {
		sig_at_run = sig_taken;
		return hvk_ioctl(conn, o->pseudo, KVM_RUN, 0);
	}
	pthread_sigmask(SIG_BLOCK, &vmask, &saved);
	sig_at_run = sig_taken;
	if (pending_unblocked(&vmask)) {
		run = hvk_mmap(conn, o->pseudo, sizeof(*run));
		if (run == MAP_FAILED || run->immediate_exit)
			run = NULL;
		else
			run->immediate_exit = 1;
	} else {
		run_sigset = &vmask;
	}
	r = hvk_ioctl(conn, o->pseudo, KVM_RUN, 0);
	err = errno;
	run_sigset = NULL;
	if (run) {
		run->immediate_exit = 0;
		if (r < 0 && err == EINTR)
			run->exit_reason = KVM_EXIT_INTR;
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	errno = err;
	return r;
}

PUBLIC int ioctl(int fd, unsigned long request, ...)
{
	unsigned long arg;
	struct obj *o;
	va_list ap;
	int r, err;

	va_start(ap, request);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	o = obj_get(fd);
	if (!o)
		return NEXT(ioctl)(fd, request, arg);
	if (in_child()) {
		obj_put(o);
		errno = EIO;
		return -1;
	}
	if (o->kind == OBJ_VCPU && request == KVM_RUN) {
		r = run_vcpu(o);
	} else if (o->kind == OBJ_VCPU && request == KVM_SET_SIGNAL_MASK) {
		r = set_sigmask(o, (const struct shim_signal_mask *)arg);
	} else {
		if (request == KVM_RUN)
			sig_at_run = sig_taken;
		r = hvk_ioctl(conn, o->pseudo, request, arg);
	}
	err = errno;
	if (r >= 0 && ((o->kind == OBJ_SYSTEM && request == KVM_CREATE_VM) ||
		       (o->kind == OBJ_VM && request == KVM_CREATE_VCPU))) {
		/* Linux gives both with O_CLOEXEC. */
		r = adopt(r, o, true);
		err = errno;
	}
	obj_put(o);
	errno = err;
	return r;
}

/* ---- mmap, munmap ---- */

static void *mmap_ours(struct obj *o, size_t len, int flags, off_t off)
{
	uint8_t *p;
	int err = 0;

	if (o->kind != OBJ_VCPU)
		err = ENODEV;
	else if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))
		err = EINVAL; /* the kvm_run lives where libhvkvm put it */
	else if (off < 0 || (off & 4095) || !len || (uint64_t)off + len > HVK_RUN_MAP_SIZE)
		err = EINVAL;
	if (err) {
		obj_put(o);
		errno = err;
		return MAP_FAILED;
	}
	p = hvk_mmap(conn, o->pseudo, (size_t)off + len);
	err = errno;
	if (p != MAP_FAILED) {
		uintptr_t s = (uintptr_t)p, e = s + HVK_RUN_MAP_SIZE;
		int i;

		pthread_mutex_lock(&mu);
		for (i = 0; i < nregions && regions[i].start != s; i++)
			;
		if (i == nregions && nregions < MAX_REGIONS) {
			regions[i].start = s;
			regions[i].end = e;
			nregions++;
		}
		pthread_mutex_unlock(&mu);
		p += off;
	}
	obj_put(o);
	errno = err;
	return p;
}

PUBLIC void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct obj *o = (flags & MAP_ANONYMOUS) ? NULL : obj_get(fd);

	if (o)
		return mmap_ours(o, len, flags, off);
	return NEXT(mmap)(addr, len, prot, flags, fd, off);
}

PUBLIC void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	struct obj *o = (flags & MAP_ANONYMOUS) ? NULL : obj_get(fd);

	if (o)
		return mmap_ours(o, len, flags, (off_t)off);
	return NEXT(mmap64)(addr, len, prot, flags, fd, off);
}

PUBLIC int munmap(void *addr, size_t len)
{
	uintptr_t s = (uintptr_t)addr;
	bool ours = false;

	pthread_mutex_lock(&mu);
	for (int i = 0; i < nregions && !ours; i++)
		ours = s >= regions[i].start && s < regions[i].end && len <= regions[i].end - s;
	pthread_mutex_unlock(&mu);
	if (ours)
		return 0;
	return NEXT(munmap)(addr, len);
}

/* ---- close, dup ---- */

PUBLIC int close(int fd)
{
	struct obj *o;
	int r, err;

	pthread_mutex_lock(&mu);
	o = fdmap_take(fd);
	pthread_mutex_unlock(&mu);
	r = NEXT(close)(fd);
	err = errno;
	obj_put(o);
	errno = err;
	return r;
}

/*
 * After a dup whose result is @r (or -1): @r refers to @o (NULL: not ours,
 * but whatever @r named before is gone).
 */
static int dup_done(int r, struct obj *o)
{
	int err = errno;

	if (r < 0) {
		obj_put(o);
	} else if (o) {
		fd_install(r, o);
	} else {
		pthread_mutex_lock(&mu);
		o = fdmap_take(r);
		pthread_mutex_unlock(&mu);
		obj_put(o);
	}
	errno = err;
	return r;
}

PUBLIC int dup(int fd)
{
	struct obj *o = obj_get(fd);

	return dup_done(NEXT(dup)(fd), o);
}

PUBLIC int dup2(int fd, int fd2)
{
	struct obj *o;

	if (fd == fd2)
		return NEXT(dup2)(fd, fd2);
	o = obj_get(fd);
	return dup_done(NEXT(dup2)(fd, fd2), o);
}

PUBLIC int dup3(int fd, int fd2, int flags)
{
	struct obj *o;

	if (fd == fd2)
		return NEXT(dup3)(fd, fd2, flags);
	o = obj_get(fd);
	return dup_done(NEXT(dup3)(fd, fd2, flags), o);
}

static int fcntl_common(int fd, int cmd, unsigned long arg, bool is64)
{
	struct obj *o;
	int r;

	if (cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC)
		return is64 ? NEXT(fcntl64)(fd, cmd, arg) : NEXT(fcntl)(fd, cmd, arg);
	o = obj_get(fd);
	r = is64 ? NEXT(fcntl64)(fd, cmd, arg) : NEXT(fcntl)(fd, cmd, arg);
	return dup_done(r, o);
}

PUBLIC int fcntl(int fd, int cmd, ...)
{
	unsigned long arg;
	va_list ap;

	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	return fcntl_common(fd, cmd, arg, false);
}

PUBLIC int fcntl64(int fd, int cmd, ...)
{
	unsigned long arg;
	va_list ap;

	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	return fcntl_common(fd, cmd, arg, true);
}
