// SPDX-License-Identifier: MIT
/*
 * libhvkvm: KVM-shaped calls carried to a remote hypervisor in hvwire
 * frames (see libhvkvm.h for the model, abi/hvwire.h for the frames).
 *
 * Internal functions return 0 (or a value) on success and a negative
 * errno on failure, after recording a message with fail(); the public
 * entry points turn that into -1 and errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "abi/hvrun.h"
#include "abi/hvwire.h"
#include "abi/kvm.h"
#include "tools/libhvkvm.h"

#define PAGE_SIZE	4096u
#define CHUNK		HVW_MAX_ARG			/* bytes per MEM_* frame */
#define CHUNK_PAGES	(CHUNK / PAGE_SIZE)
#define MAX_SLOTS	32	/* tracked per VM; the hypervisor has fewer */
#define IDLE_RESYNC_MS	1000	/* a silent line ends a false frame start */
#define HELLO_RETRY_MS	2000
#define MAX_HELLOS	64
#define KICK_SEND_MS	1000	/* a KICK that cannot leave in this time fails */

struct hvk_slot {
	bool used;
	uint32_t id;
	uint32_t flags;		/* KVM_MEM_* */
	uint64_t gpa, size;
	uint8_t *mem;		/* the program's memory (userspace_addr) */
	uint8_t *shadow;	/* what the hypervisor holds, as far as we know */
};

struct hvk_vm {
	uint32_t handle;
	bool closed;		/* CLOSE sent: its vCPU fds are dead */
	struct hvk_slot slots[MAX_SLOTS];
	struct hvk_vm *next;
};

struct hvk_vcpu {
	struct hvk_vm *vm;
	uint32_t id;
	bool in_run;		/* a thread is in its KVM_RUN (h->lock, h->run_cv) */
	struct kvm_run *run;	/* HVK_RUN_MAP_SIZE bytes */
	/* The last exit was an IN: these bytes go with the next KVM_RUN. */
	bool in_pending;
	uint32_t in_len;
	uint32_t in_off;
	/*
	 * Compact KVM_RUN (abi/hvrun.h): the register sets as the hypervisor
	 * holds them; until the first compact run succeeds (and after any
	 * failure), the next one goes out with HVR_FRESH.
	 */
	struct hv_sync_regs shadow;
	bool shadow_ok;
	/* KICK state, read by hvk_kick() without the lock (RUN_*). */
	int run_state;
	int kick_early;		/* kicked before the KVM_RUN frame left */
	struct hvk_vcpu *next;
};

enum { RUN_IDLE, RUN_PREP, RUN_SENT };

enum fd_kind { FD_FREE, FD_SYSTEM, FD_VM, FD_VCPU };

struct hvk_fd {
	enum fd_kind kind;
	struct hvk_vm *vm;
	struct hvk_vcpu *vcpu;
};

/*
 * A request waiting for its answer: on the stack of the thread that waits,
 * or (hvk_send_frame) on the heap until hvk_wait_frame() collects it. The
 * thread that reads the line hands each answer to the waiter of its seq.
 */
struct hvk_waiter {
	const uint32_t *seqs;	/* the answer is for one of these */
	unsigned int nseq;
	uint32_t own_seq;	/* seqs points here for a single request */
	bool async;		/* hvk_send_frame: kept until collected */
	bool done;
	int err;		/* done, but the answer could not be kept */
	uint8_t type;
	uint32_t seq;
	uint8_t *payload;	/* malloc'd copy of the answer's payload */
	uint32_t len;
	struct hvk_waiter *next;
};

struct hvk {
	/*
	 * Every call holds lock for what it does, except while a KVM_RUN
	 * waits for its answer: other threads' requests then go out and are
	 * answered (the hypervisor queues them until the run ends).
	 */
	pthread_mutex_t lock;
	pthread_cond_t run_cv;	/* a vCPU left KVM_RUN (with lock) */
	/*
	 * The line's receiving side: one thread at a time reads it (reading)
	 * and hands each answer to its waiter; the others sleep on rx_cv.
	 * rx_mu guards the waiter list, reading and the receive statistics;
	 * the reader alone touches dec and in[] (dropping rx_mu while it
	 * waits on the line).
	 */
	pthread_mutex_t rx_mu;
	pthread_cond_t rx_cv;
	bool reading;
	struct hvk_waiter *waiters;
	int fd;
	bool own_fd;
	bool is_socket;
	unsigned long baud;	/* a serial device's speed; 0 otherwise */
	int timeout_ms, run_timeout_ms, idle_ms;
	bool run_timeout_set;
	unsigned int sync;
	uint32_t seq;		/* atomic: next_seq() */
	struct hvw_hello_resp hello;
	struct hvk_stats st;
	struct hvk_fd fds[HVK_FD_MAX];
	struct hvk_vm *vms;
	struct hvk_vcpu *vcpus;
	/* Bytes read but not yet fed to the decoder (the reader's). */
	uint8_t in[4096];
	size_t in_off, in_len;
	uint8_t tx[HVW_MAX_FRAME];
	uint8_t scratch[HVW_MAX_ARG];
	struct hvw_decoder dec;
	/*
	 * Whoever writes to the line holds the write token (1), taken with an
	 * atomic exchange, never waited for in hvk_kick(): a kick that finds it
	 * taken leaves its bit in kick_pending (one per pseudo-fd) and the
	 * holder sends it before letting go.
	 */
	int wtoken;
	uint64_t kick_pending[HVK_FD_MAX / 64];
	uint64_t kicks_sent, kicks_early, kick_bytes;	/* atomic */
};

/* ---- Errors ---- */

static __thread char last_error[512];

const char *hvk_last_error(void)
{
	return last_error;
}

__attribute__((format(printf, 2, 3)))
static int fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return -err;
}

/* Public return convention: -1 and errno for a negative @r. */
static int ret_errno(int r)
{
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

const char *hvk_errno_name(int err)
{
	static __thread char buf[16];

	switch (err) {
#define N(e)                                                                                       \
	case e:                                                                                    \
		return #e
		N(EPERM);
		N(ENOENT);
		N(ESRCH);
		N(EINTR);
		N(EIO);
		N(ENXIO);
		N(E2BIG);
		N(ENOEXEC);
		N(EBADF);
		N(EAGAIN);
		N(ENOMEM);
		N(EACCES);
		N(EFAULT);
		N(EBUSY);
		N(EEXIST);
		N(EXDEV);
		N(ENODEV);
		N(ENOTDIR);
		N(EISDIR);
		N(EINVAL);
		N(ENFILE);
		N(EMFILE);
		N(ENOTTY);
		N(EFBIG);
		N(ENOSPC);
		N(ESPIPE);
		N(EROFS);
		N(EPIPE);
		N(EDOM);
		N(ERANGE);
		N(EDEADLK);
		N(ENAMETOOLONG);
		N(ENOSYS);
		N(ENOTSUP);
		N(EPROTO);
		N(EOVERFLOW);
		N(EMSGSIZE);
		N(ECONNRESET);
		N(ECONNREFUSED);
		N(ETIMEDOUT);
		N(EHOSTUNREACH);
		N(ENOTCONN);
		N(EADDRNOTAVAIL);
		N(ENETUNREACH);
#undef N
	}
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

const char *hvk_exit_name(uint32_t reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO",
		[KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG",
		[KVM_EXIT_HLT] = "HLT",
		[KVM_EXIT_MMIO] = "MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[KVM_EXIT_INTR] = "INTR",
		[KVM_EXIT_SET_TPR] = "SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
		[KVM_EXIT_NMI] = "NMI",
		[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
		[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
		[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
		[KVM_EXIT_X86_BUS_LOCK] = "X86_BUS_LOCK",
		[KVM_EXIT_NOTIFY] = "NOTIFY",
	};

	if (reason < sizeof(names) / sizeof(names[0]))
		return names[reason];
	return NULL;
}

const char *hvk_ioctl_name(unsigned long request)
{
	static const struct {
		unsigned long nr;
		const char *name;
	} names[] = {
#define N(r) { r, #r }
		N(KVM_GET_API_VERSION),
		N(KVM_CREATE_VM),
		N(KVM_GET_MSR_INDEX_LIST),
		N(KVM_CHECK_EXTENSION),
		N(KVM_GET_VCPU_MMAP_SIZE),
		N(KVM_GET_SUPPORTED_CPUID),
		N(KVM_GET_MSR_FEATURE_INDEX_LIST),
		N(KVM_CREATE_VCPU),
		N(KVM_SET_USER_MEMORY_REGION),
		N(KVM_X86_SET_MSR_FILTER),
		N(KVM_RUN),
		N(KVM_GET_REGS),
		N(KVM_SET_REGS),
		N(KVM_GET_SREGS),
		N(KVM_SET_SREGS),
		N(KVM_INTERRUPT),
		N(KVM_SET_GUEST_DEBUG),
		N(KVM_GET_MSRS),
		N(KVM_SET_MSRS),
		N(KVM_GET_FPU),
		N(KVM_SET_FPU),
		N(KVM_SET_CPUID2),
		N(KVM_GET_CPUID2),
		N(KVM_GET_MP_STATE),
		N(KVM_SET_MP_STATE),
		N(KVM_NMI),
		N(KVM_GET_VCPU_EVENTS),
		N(KVM_SET_VCPU_EVENTS),
		N(KVM_GET_DEBUGREGS),
		N(KVM_SET_DEBUGREGS),
		N(KVM_ENABLE_CAP),
		N(KVM_GET_NESTED_STATE),
		N(KVM_SET_NESTED_STATE),
#undef N
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].nr == request)
			return names[i].name;
	return NULL;
}

/* ---- Little-endian integer argument ---- */

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- Transport ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A deadline @ms from now; -1 (none) for @ms <= 0. */
static int64_t deadline_in(int ms)
{
	return ms > 0 ? now_ms() + ms : -1;
}

/*
 * Wait for @events, at most until @deadline (-1: none) and at most @cap
 * ms (-1: no cap). 1: ready; 0: the wait ran out; negative errno.
 */
static int wait_fd(struct hvk *h, short events, int64_t deadline, int cap)
{
	struct pollfd p = { .fd = h->fd, .events = events };
	int ms = cap;
	int r;

	if (deadline >= 0) {
		int64_t left = deadline - now_ms();

		if (left <= 0)
			return 0;
		if (ms < 0 || left < ms)
			ms = (int)left;
	}
	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r > 0;
}

static int send_bytes(struct hvk *h, const uint8_t *p, size_t n, int64_t deadline,
		      const char *what)
{
	while (n) {
		ssize_t w;

		if (h->is_socket)
			w = send(h->fd, p, n, MSG_NOSIGNAL);
		else
			w = write(h->fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			__atomic_add_fetch(&h->st.bytes_out, (uint64_t)w, __ATOMIC_RELAXED);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = wait_fd(h, POLLOUT, deadline, -1);

			if (r == 0) {
				__atomic_add_fetch(&h->st.timeouts, 1, __ATOMIC_RELAXED);
				return fail(ETIMEDOUT, "%s: could not send: the channel is stuck",
					    what);
			}
			if (r < 0)
				return fail(-r, "%s: poll: %s", what, strerror(-r));
			continue;
		}
		if (w == 0)
			errno = EIO;
		return fail(errno, "%s: send: %s", what, strerror(errno));
	}
	return 0;
}

/* ---- The write token and KICKs ---- */

static void wtoken_acquire(struct hvk *h)
{
	int zero = 0;

	while (!__atomic_compare_exchange_n(&h->wtoken, &zero, 1, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST)) {
		zero = 0;
		sched_yield();
	}
}

static bool kicks_pending(struct hvk *h)
{
	for (size_t i = 0; i < HVK_FD_MAX / 64; i++)
		if (__atomic_load_n(&h->kick_pending[i], __ATOMIC_SEQ_CST))
			return true;
	return false;
}

/* A small frame, async-signal-safe (no lock, no allocation, no message). */
static int kick_write(struct hvk *h, const uint8_t *p, size_t n)
{
	int64_t deadline = -1;

	while (n) {
		ssize_t w = h->is_socket ? send(h->fd, p, n, MSG_NOSIGNAL) : write(h->fd, p, n);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			__atomic_add_fetch(&h->kick_bytes, (uint64_t)w, __ATOMIC_RELAXED);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pf = { .fd = h->fd, .events = POLLOUT };
			struct timespec ts;
			int64_t now;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
			if (deadline < 0)
				deadline = now + KICK_SEND_MS;
			if (now >= deadline)
				return -ETIMEDOUT;
			poll(&pf, 1, (int)(deadline - now));
			continue;
		}
		return w < 0 ? -errno : -EIO;
	}
	return 0;
}

/*
 * With the token held: act on the pending kicks. A vCPU whose KVM_RUN
 * frame has left gets a KICK frame; one whose run is still being prepared
 * (pages pushed) gets immediate_exit in the frame it is about to send; a
 * vCPU not in KVM_RUN is left alone, as a signal would leave it.
 */
static int flush_kicks(struct hvk *h)
{
	int r = 0;

	for (size_t w = 0; w < HVK_FD_MAX / 64; w++) {
		uint64_t bits = __atomic_exchange_n(&h->kick_pending[w], 0, __ATOMIC_SEQ_CST);

		while (bits) {
			unsigned int b = (unsigned int)__builtin_ctzll(bits);
			const struct hvk_fd *e = &h->fds[w * 64 + b];
			struct hvk_vcpu *v;
			uint8_t frame[HVW_FRAME_SIZE(HVW_KICK_LEN)];
			struct hvw_kick k;
			int state, e2;
			size_t n;

			bits &= bits - 1;
			if (e->kind != FD_VCPU)
				continue;
			v = e->vcpu;
			state = __atomic_load_n(&v->run_state, __ATOMIC_SEQ_CST);
			if (state == RUN_PREP) {
				__atomic_store_n(&v->kick_early, 1, __ATOMIC_SEQ_CST);
			} else if (state == RUN_SENT) {
				k.vm = v->vm->handle;
				k.vcpu = v->id;
				n = hvw_encode_kick(frame, sizeof(frame), 0, &k);
				e2 = kick_write(h, frame, n);
				if (e2 < 0 && !r)
					r = e2;
				else if (!e2)
					__atomic_add_fetch(&h->kicks_sent, 1, __ATOMIC_RELAXED);
			}
		}
	}
	return r;
}

/* Let go of the token, sending first what kicks came meanwhile. */
static int wtoken_release(struct hvk *h)
{
	int r = 0, e, zero;

	for (;;) {
		e = flush_kicks(h);
		if (e < 0 && !r)
			r = e;
		__atomic_store_n(&h->wtoken, 0, __ATOMIC_SEQ_CST);
		if (!kicks_pending(h))
			return r;
		zero = 0;
		if (!__atomic_compare_exchange_n(&h->wtoken, &zero, 1, false, __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST))
			return r; /* its holder sends them */
	}
}

int hvk_kick(struct hvk *h, int vcpu_fd)
{
	int saved = errno, idx, zero = 0, r;
	const struct hvk_fd *e;

	if (!hvk_is_pseudo_fd(vcpu_fd)) {
		errno = EBADF;
		return -1;
	}
	idx = vcpu_fd - HVK_FD_BASE;
	e = &h->fds[idx];
	if (e->kind != FD_VCPU || e->vcpu->vm->closed) {
		errno = EBADF;
		return -1;
	}
	if (!(h->hello.caps & HVW_CAP_KICK)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	__atomic_fetch_or(&h->kick_pending[idx / 64], 1ull << (idx % 64), __ATOMIC_SEQ_CST);
	if (!__atomic_compare_exchange_n(&h->wtoken, &zero, 1, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST)) {
		errno = saved;
		return 0; /* the writer sends it when its frame is out */
	}
	r = wtoken_release(h);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	errno = saved;
	return 0;
}

/* send_bytes with the write token held. */
static int send_frame(struct hvk *h, const uint8_t *p, size_t n, int64_t deadline,
		      const char *what)
{
	int r;

	wtoken_acquire(h);
	r = send_bytes(h, p, n, deadline, what);
	wtoken_release(h);
	return r;
}

static bool seq_in(uint32_t seq, const uint32_t *seqs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (seqs[i] == seq)
			return true;
	return false;
}

/* A fresh request seq, never 0 (as hvw_seq_next(), but for any thread). */
static uint32_t next_seq(struct hvk *h)
{
	uint32_t s;

	do
		s = __atomic_add_fetch(&h->seq, 1, __ATOMIC_SEQ_CST);
	while (!s);
	return s;
}

/* ---- Waiting for answers ---- */

/* The answer a thread last received: valid until its next request. */
static pthread_key_t answer_key;
static pthread_once_t answer_once = PTHREAD_ONCE_INIT;

static void answer_key_init(void)
{
	pthread_key_create(&answer_key, free);
}

static void keep_answer(uint8_t *payload)
{
	pthread_once(&answer_once, answer_key_init);
	free(pthread_getspecific(answer_key));
	pthread_setspecific(answer_key, payload);
}

/*
 * Register @w for an answer to one of @seqs, before the request goes out
 * (so that its answer cannot come first).
 */
static void waiter_add(struct hvk *h, struct hvk_waiter *w, const uint32_t *seqs,
		       unsigned int nseq)
{
	w->seqs = seqs;
	w->nseq = nseq;
	w->done = false;
	w->err = 0;
	w->payload = NULL;
	pthread_mutex_lock(&h->rx_mu);
	w->next = h->waiters;
	h->waiters = w;
	pthread_mutex_unlock(&h->rx_mu);
}

static void waiter_unlink(struct hvk *h, struct hvk_waiter *w)
{
	for (struct hvk_waiter **p = &h->waiters; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			return;
		}
}

/* A waiter that will not wait after all (its request did not go out). */
static void waiter_cancel(struct hvk *h, struct hvk_waiter *w)
{
	pthread_mutex_lock(&h->rx_mu);
	waiter_unlink(h, w);
	pthread_mutex_unlock(&h->rx_mu);
	free(w->payload);
	w->payload = NULL;
}

/* A decoded frame to its waiter (rx_mu held). */
static void dispatch(struct hvk *h, const struct hvw_frame *f)
{
	if (f->seq == 0 && f->type == HVW_ERROR) {
		h->st.unsolicited_errors++;
		return;
	}
	for (struct hvk_waiter *w = h->waiters; w; w = w->next) {
		if (w->done || !seq_in(f->seq, w->seqs, w->nseq))
			continue;
		w->payload = malloc(f->len ? f->len : 1);
		if (w->payload)
			memcpy(w->payload, f->payload, f->len);
		else
			w->err = ENOMEM;
		w->type = f->type;
		w->seq = f->seq;
		w->len = f->len;
		w->done = true;
		h->st.responses++;
		pthread_cond_broadcast(&h->rx_cv);
		return;
	}
	h->st.stale_frames++;
}

static void sync_decoder_stats(struct hvk *h)
{
	h->st.garbage_bytes = h->dec.bytes_discarded;
	h->st.crc_errors = h->dec.crc_errors;
}

/*
 * The reader: read the line and dispatch frames until @w is answered (0),
 * until @deadline (-ETIMEDOUT, no message), or a failure (negative errno,
 * with a message). Called and returns with rx_mu held; drops it while it
 * waits on the line.
 */
static int read_until(struct hvk *h, struct hvk_waiter *w, int64_t deadline, const char *what)
{
	int64_t last_rx = now_ms();
	struct hvw_frame f;
	ssize_t n;
	int r, err;

	for (;;) {
		while (!w->done && hvw_decoder_next(&h->dec, &f) == 1)
			dispatch(h, &f);
		sync_decoder_stats(h);
		if (w->done)
			return 0;
		if (h->in_off < h->in_len) {
			h->in_off += hvw_decoder_feed(&h->dec, h->in + h->in_off,
						      h->in_len - h->in_off);
			continue;
		}
		pthread_mutex_unlock(&h->rx_mu);
		r = wait_fd(h, POLLIN, deadline, h->idle_ms);
		n = 0;
		err = 0;
		if (r > 0) {
			n = h->is_socket ? recv(h->fd, h->in, sizeof(h->in), 0)
					 : read(h->fd, h->in, sizeof(h->in));
			err = errno;
		}
		pthread_mutex_lock(&h->rx_mu);
		if (r < 0)
			return fail(-r, "%s: poll: %s", what, strerror(-r));
		if (r == 0) {
			if (deadline >= 0 && now_ms() >= deadline)
				return -ETIMEDOUT;
			if (now_ms() - last_rx < h->idle_ms)
				continue;
			/*
			 * The line is idle with a partial frame candidate
			 * buffered: a false start in garbage whose length
			 * field promised more. Give up on it, byte by byte,
			 * and look at what follows.
			 */
			while (hvw_decoder_buffered(&h->dec)) {
				hvw_decoder_resync(&h->dec);
				h->st.idle_resyncs++;
				while (hvw_decoder_next(&h->dec, &f) == 1)
					dispatch(h, &f);
			}
			continue;
		}
		if (n == 0)
			return fail(ECONNRESET, "%s: the connection was closed", what);
		if (n < 0) {
			if (err == EINTR || err == EAGAIN || err == EWOULDBLOCK)
				continue;
			return fail(err, "%s: receive: %s", what, strerror(err));
		}
		h->st.bytes_in += (uint64_t)n;
		h->in_off = 0;
		h->in_len = (size_t)n;
		last_rx = now_ms();
	}
}

static void deadline_ts(int64_t deadline, struct timespec *ts)
{
	ts->tv_sec = (time_t)(deadline / 1000);
	ts->tv_nsec = (long)(deadline % 1000) * 1000000;
}

/*
 * Wait until @deadline for @w's answer, reading the line ourselves when
 * nobody else does. 0: done (check w->err); -ETIMEDOUT without a
 * message; another negative errno with one. On anything but a timeout of
 * an async waiter (@keep), @w is unlinked. rx_mu is taken here.
 */
static int waiter_wait(struct hvk *h, struct hvk_waiter *w, int64_t deadline, bool keep,
		       const char *what)
{
	int r = 0;

	pthread_mutex_lock(&h->rx_mu);
	while (!w->done) {
		if (!h->reading) {
			h->reading = true;
			r = read_until(h, w, deadline, what);
			h->reading = false;
			/* Someone else may read now (and our buffer may hold their answer). */
			pthread_cond_broadcast(&h->rx_cv);
			if (r < 0)
				break;
			continue;
		}
		if (deadline < 0) {
			pthread_cond_wait(&h->rx_cv, &h->rx_mu);
		} else {
			struct timespec ts;

			deadline_ts(deadline, &ts);
			if (pthread_cond_timedwait(&h->rx_cv, &h->rx_mu, &ts) == ETIMEDOUT &&
			    !w->done) {
				r = -ETIMEDOUT;
				break;
			}
		}
	}
	if (w->done)
		r = 0;
	if (!(keep && r == -ETIMEDOUT))
		waiter_unlink(h, w);
	pthread_mutex_unlock(&h->rx_mu);
	return r;
}

/*
 * The answer in @w as the frame *@f (its payload is the thread's until its
 * next request) if it is a @want; else the request's failure (an HVW_ERROR
 * answer, a wrong type) as a negative errno with a message.
 */
static int take_answer(struct hvk *h, struct hvk_waiter *w, uint8_t want, struct hvw_frame *f,
		       const char *what)
{
	struct hvw_error e;

	if (w->err)
		return fail(w->err, "%s: no memory for the answer", what);
	keep_answer(w->payload);
	f->type = w->type;
	f->seq = w->seq;
	f->len = w->len;
	f->payload = w->payload;
	w->payload = NULL;
	if (f->type == want)
		return 0;
	if (f->type == HVW_ERROR) {
		__atomic_add_fetch(&h->st.error_answers, 1, __ATOMIC_RELAXED);
		if (hvw_parse_error(f->payload, f->len, &e) < 0)
			return fail(EPROTO, "%s: malformed ERROR answer", what);
		return fail(-e.err, "%s: refused by the hypervisor: %s (%s, %s)", what, e.text,
			    hvk_errno_name(-e.err), strerror(-e.err));
	}
	return fail(EPROTO, "%s: answered with %s, expected %s", what, hvw_type_name(f->type),
		    hvw_type_name(want));
}

/*
 * Wait until @deadline for the answer to one of @seqs (@w registered with
 * waiter_add before the request went out): 0 with the frame in *@f,
 * -ETIMEDOUT without a message, or another negative errno with one.
 */
static int await(struct hvk *h, struct hvk_waiter *w, uint8_t want, int64_t deadline,
		 struct hvw_frame *f, const char *what)
{
	int r = waiter_wait(h, w, deadline, false, what);

	if (r < 0) {
		free(w->payload);
		w->payload = NULL;
		return r;
	}
	return take_answer(h, w, want, f, what);
}

/*
 * Send the @n-byte frame in h->tx (its seq is @seq) and wait for its @want
 * answer for @timeout_ms (<= 0: for ever). On a serial line the time the
 * request and the largest answer take to cross it is added. With
 * @unlocked, h->lock (held by the caller) is dropped while it waits: for
 * requests whose answer touches no library state, so that other threads'
 * requests go out meanwhile.
 */
static int transact(struct hvk *h, size_t n, uint32_t seq, uint8_t want, int timeout_ms,
		    bool unlocked, struct hvw_frame *f, const char *what)
{
	int64_t deadline = deadline_in(timeout_ms);
	struct hvk_waiter w = { .own_seq = seq };
	int r;

	if (deadline >= 0 && h->baud)
		deadline += (int64_t)((n + HVW_MAX_FRAME) * 10 * 1000 / h->baud);

	if (!n)
		return fail(EINVAL, "%s: the request does not fit a frame", what);
	waiter_add(h, &w, &w.own_seq, 1);
	r = send_frame(h, h->tx, n, deadline, what);
	if (r < 0) {
		waiter_cancel(h, &w);
		return r;
	}
	__atomic_add_fetch(&h->st.requests, 1, __ATOMIC_RELAXED);
	if (unlocked)
		pthread_mutex_unlock(&h->lock);
	r = await(h, &w, want, deadline, f, what);
	if (unlocked)
		pthread_mutex_lock(&h->lock);
	if (r == -ETIMEDOUT) {
		__atomic_add_fetch(&h->st.timeouts, 1, __ATOMIC_RELAXED);
		return fail(ETIMEDOUT, "%s: no answer within %d ms", what, timeout_ms);
	}
	return r;
}

/* ---- Requests ---- */

static int ioctl_exchange(struct hvk *h, const struct hvw_ioctl_req_hdr *hdr, const void *arg,
			  int timeout_ms, bool unlocked, struct hvw_ioctl_resp *resp,
			  const char *what)
{
	uint32_t seq = next_seq(h);
	size_t n = hvw_encode_ioctl_req(h->tx, sizeof(h->tx), seq, hdr, arg);
	struct hvw_frame f;
	int r;

	r = transact(h, n, seq, HVW_IOCTL_RESP, timeout_ms, unlocked, &f, what);
	if (r < 0)
		return r;
	if (hvw_parse_ioctl_resp(f.payload, f.len, resp) < 0)
		return fail(EPROTO, "%s: malformed IOCTL answer", what);
	return 0;
}

/* MEM_WRITE of @len bytes (at most CHUNK) at @gpa. */
static int mem_write_chunk(struct hvk *h, uint32_t vm, uint64_t gpa, const void *buf,
			   uint32_t len, uint32_t flags, bool unlocked)
{
	struct hvw_mem_write w = { .vm = vm, .gpa = gpa, .data = buf, .len = len, .flags = flags };
	uint32_t seq = next_seq(h);
	size_t n = hvw_encode_mem_write(h->tx, sizeof(h->tx), seq, &w);
	struct hvw_ioctl_resp resp;
	struct hvw_frame f;
	char what[64];
	int r;

	snprintf(what, sizeof(what), "MEM_WRITE gpa 0x%llx+0x%x", (unsigned long long)gpa, len);
	r = transact(h, n, seq, HVW_IOCTL_RESP, h->timeout_ms, unlocked, &f, what);
	if (r < 0)
		return r;
	if (hvw_parse_ioctl_resp(f.payload, f.len, &resp) < 0)
		return fail(EPROTO, "%s: malformed answer", what);
	if (resp.result < 0)
		return fail((int)-resp.result, "%s: %s (%s)", what,
			    hvk_errno_name((int)-resp.result), strerror((int)-resp.result));
	return 0;
}

/*
 * MEM_READ of @len bytes (at most CHUNK) at @gpa; the bytes are in
 * *@out (in the decoder) until the next request.
 */
static int mem_read_chunk(struct hvk *h, uint32_t vm, uint64_t gpa, uint32_t len,
			  bool unlocked, const uint8_t **out)
{
	struct hvw_mem_read_req rq = { .vm = vm, .len = len, .gpa = gpa };
	uint32_t seq = next_seq(h);
	size_t n = hvw_encode_mem_read_req(h->tx, sizeof(h->tx), seq, &rq);
	struct hvw_frame f;
	char what[64];
	int r;

	snprintf(what, sizeof(what), "MEM_READ gpa 0x%llx+0x%x", (unsigned long long)gpa, len);
	r = transact(h, n, seq, HVW_MEM_READ_RESP, h->timeout_ms, unlocked, &f, what);
	if (r < 0)
		return r;
	if (f.len != len)
		return fail(EPROTO, "%s: %u bytes came back", what, f.len);
	*out = f.payload;
	return 0;
}

/* ---- Connecting ---- */

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int connect_tcp(const char *spec, int *fdp)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	unsigned long port;
	size_t hl;
	int fd = -1, err = 0, r, one = 1;

	if (!colon || parse_uint(colon + 1, 65535, &port) < 0)
		return fail(EINVAL, "tcp:%s: expected tcp:HOST:PORT", spec);
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (!hl || hl >= sizeof(host))
		return fail(EINVAL, "tcp:%s: expected tcp:HOST:PORT", spec);
	memcpy(host, spec, hl);
	host[hl] = 0;
	r = getaddrinfo(host, colon + 1, &hints, &res);
	if (r)
		return fail(r == EAI_SYSTEM ? errno : EHOSTUNREACH, "tcp:%s:%s: %s", host,
			    colon + 1, gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return fail(err, "tcp:%s:%s: connect: %s", host, colon + 1, strerror(err));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	*fdp = fd;
	return 0;
}

static int connect_unix(const char *path, int *fdp)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, err;

	if (!*path || strlen(path) >= sizeof(a.sun_path))
		return fail(EINVAL, "unix:%s: bad socket path", path);
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(errno, "unix:%s: socket: %s", path, strerror(errno));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		err = errno;
		close(fd);
		return fail(err, "unix:%s: connect: %s", path, strerror(err));
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	*fdp = fd;
	return 0;
}

static const struct {
	unsigned long baud;
	speed_t speed;
} bauds[] = {
	{ 1200, B1200 },       { 2400, B2400 },       { 4800, B4800 },
	{ 9600, B9600 },       { 19200, B19200 },     { 38400, B38400 },
	{ 57600, B57600 },     { 115200, B115200 },   { 230400, B230400 },
	{ 460800, B460800 },   { 500000, B500000 },   { 576000, B576000 },
	{ 921600, B921600 },   { 1000000, B1000000 }, { 1152000, B1152000 },
	{ 1500000, B1500000 }, { 2000000, B2000000 }, { 2500000, B2500000 },
	{ 3000000, B3000000 }, { 3500000, B3500000 }, { 4000000, B4000000 },
};

static int open_serial(const char *spec, int *fdp, unsigned long *baudp)
{
	char path[512];
	const char *comma = strrchr(spec, ',');
	unsigned long baud = 115200;
	speed_t speed = 0;
	struct termios t;
	size_t pl = comma ? (size_t)(comma - spec) : strlen(spec);
	int fd, err;

	if (comma && parse_uint(comma + 1, 100000000, &baud) < 0)
		return fail(EINVAL, "%s: expected DEVICE[,BAUD]", spec);
	for (size_t i = 0; i < sizeof(bauds) / sizeof(bauds[0]); i++)
		if (bauds[i].baud == baud)
			speed = bauds[i].speed;
	if (!speed)
		return fail(EINVAL, "%s: %lu baud is not a speed the terminal driver knows", spec,
			    baud);
	if (!pl || pl >= sizeof(path))
		return fail(EINVAL, "%s: expected DEVICE[,BAUD]", spec);
	memcpy(path, spec, pl);
	path[pl] = 0;
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "%s: %s", path, strerror(errno));
	if (tcgetattr(fd, &t) < 0) {
		err = errno;
		close(fd);
		return fail(err, "%s: not a serial device (%s)", path, strerror(err));
	}
	cfmakeraw(&t);
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB | CRTSCTS);
	t.c_cflag |= CS8 | CLOCAL | CREAD;
	t.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	cfsetispeed(&t, speed);
	cfsetospeed(&t, speed);
	if (tcsetattr(fd, TCSANOW, &t) < 0) {
		err = errno;
		close(fd);
		return fail(err, "%s: cannot set %lu baud 8N1: %s", path, baud, strerror(err));
	}
	tcflush(fd, TCIOFLUSH);
	*fdp = fd;
	*baudp = baud;
	return 0;
}

static int handshake(struct hvk *h, const char *client, int retry_ms)
{
	struct hvw_hello_req rq = { .min_version = HVW_VERSION, .max_version = HVW_VERSION };
	int64_t deadline = deadline_in(h->timeout_ms);
	uint32_t seqs[MAX_HELLOS];
	unsigned int nseq = 0;
	struct hvw_frame f;
	int r;

	snprintf(rq.client, sizeof(rq.client), "%s", client);
	for (char *c = rq.client; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	for (;;) {
		struct hvk_waiter w = { 0 };
		int64_t until = deadline;
		size_t n;

		if (nseq == MAX_HELLOS)
			memmove(seqs, seqs + 1, sizeof(seqs[0]) * --nseq);
		seqs[nseq] = next_seq(h);
		n = hvw_encode_hello_req(h->tx, sizeof(h->tx), seqs[nseq], &rq);
		nseq++;
		waiter_add(h, &w, seqs, nseq);
		r = send_frame(h, h->tx, n, deadline, "HELLO");
		if (r < 0) {
			waiter_cancel(h, &w);
			return r;
		}
		__atomic_add_fetch(&h->st.requests, 1, __ATOMIC_RELAXED);
		if (retry_ms > 0) {
			until = now_ms() + retry_ms;
			if (deadline >= 0 && deadline < until)
				until = deadline;
		}
		r = await(h, &w, HVW_HELLO_RESP, until, &f, "HELLO");
		if (r == -EBUSY) {
			/* Its queue is full (a run in progress): ask again later. */
			int64_t left = until >= 0 ? until - now_ms() : 100;

			if (left > 0)
				usleep((useconds_t)left * 1000);
			r = -ETIMEDOUT;
		}
		if (r == -ETIMEDOUT && (deadline < 0 || now_ms() < deadline))
			continue;
		if (r == -ETIMEDOUT) {
			__atomic_add_fetch(&h->st.timeouts, 1, __ATOMIC_RELAXED);
			return fail(ETIMEDOUT, "HELLO: no answer within %d ms", h->timeout_ms);
		}
		if (r < 0)
			return r;
		break;
	}
	if (hvw_parse_hello_resp(f.payload, f.len, &h->hello) < 0)
		return fail(EPROTO, "HELLO: malformed answer");
	if (h->hello.version != HVW_VERSION)
		return fail(EPROTO, "HELLO: the hypervisor chose protocol version %u, we speak %u",
			    h->hello.version, HVW_VERSION);
	return 0;
}

struct hvk *hvk_open_with(const char *where, const struct hvk_options *o)
{
	struct hvk_options def = { 0 };
	struct hvk *h;
	unsigned long n, baud = 0;
	int fd = -1, r;
	bool own = true;
	struct stat sb;

	if (!o)
		o = &def;
	if (!where || !*where) {
		errno = -fail(EINVAL, "no connection given");
		return NULL;
	}
	if (!strncmp(where, "tcp:", 4)) {
		r = connect_tcp(where + 4, &fd);
	} else if (!strncmp(where, "unix:", 5)) {
		r = connect_unix(where + 5, &fd);
	} else if (!strncmp(where, "fd:", 3)) {
		r = 0;
		own = false;
		if (parse_uint(where + 3, INT32_MAX, &n) < 0)
			r = fail(EINVAL, "%s: expected fd:N", where);
		else if (fstat((int)n, &sb) < 0)
			r = fail(errno, "%s: %s", where, strerror(errno));
		else
			fd = (int)n;
	} else {
		r = open_serial(where, &fd, &baud);
	}
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		if (own)
			close(fd);
		errno = -fail(ENOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->rx_mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&h->rx_cv, &ca);
		pthread_cond_init(&h->run_cv, NULL);
		pthread_condattr_destroy(&ca);
	}
	h->fd = fd;
	h->own_fd = own;
	h->is_socket = fstat(fd, &sb) == 0 && S_ISSOCK(sb.st_mode);
	h->baud = baud;
	h->timeout_ms = o->timeout_ms ? o->timeout_ms : HVK_DEFAULT_TIMEOUT_MS;
	h->run_timeout_ms = h->timeout_ms;
	h->idle_ms = IDLE_RESYNC_MS;
	h->sync = HVK_SYNC_BEFORE_RUN | HVK_SYNC_AFTER_RUN;
	hvw_decoder_init(&h->dec);
	r = handshake(h, o->client ? o->client : "libhvkvm",
		      o->hello_retry_ms ? o->hello_retry_ms : HELLO_RETRY_MS);
	if (r < 0) {
		hvk_close(h);
		errno = -r;
		return NULL;
	}
	return h;
}

struct hvk *hvk_open(const char *where)
{
	return hvk_open_with(where, NULL);
}

void hvk_close(struct hvk *h)
{
	if (!h)
		return;
	while (h->vms) {
		struct hvk_vm *vm = h->vms;

		for (int i = 0; i < MAX_SLOTS; i++)
			if (vm->slots[i].used)
				munmap(vm->slots[i].shadow, vm->slots[i].size);
		h->vms = vm->next;
		free(vm);
	}
	while (h->vcpus) {
		struct hvk_vcpu *v = h->vcpus;

		h->vcpus = v->next;
		free(v->run);
		free(v);
	}
	while (h->waiters) {
		struct hvk_waiter *w = h->waiters;

		/* Only uncollected hvk_send_frame() requests are left. */
		h->waiters = w->next;
		free(w->payload);
		if (w->async)
			free(w);
	}
	if (h->own_fd)
		close(h->fd);
	pthread_cond_destroy(&h->run_cv);
	pthread_cond_destroy(&h->rx_cv);
	pthread_mutex_destroy(&h->rx_mu);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

const char *hvk_identity(const struct hvk *h)
{
	return h->hello.identity;
}

uint32_t hvk_protocol_version(const struct hvk *h)
{
	return h->hello.version;
}

uint32_t hvk_flags(const struct hvk *h)
{
	return h->hello.flags;
}

uint64_t hvk_caps(const struct hvk *h)
{
	return h->hello.caps;
}

void hvk_set_timeout(struct hvk *h, int ms)
{
	pthread_mutex_lock(&h->lock);
	h->timeout_ms = ms;
	if (!h->run_timeout_set)
		h->run_timeout_ms = ms;
	pthread_mutex_unlock(&h->lock);
}

void hvk_set_run_timeout(struct hvk *h, int ms)
{
	pthread_mutex_lock(&h->lock);
	h->run_timeout_ms = ms;
	h->run_timeout_set = true;
	pthread_mutex_unlock(&h->lock);
}

void hvk_set_sync(struct hvk *h, unsigned int dirs)
{
	pthread_mutex_lock(&h->lock);
	h->sync = dirs & (HVK_SYNC_BEFORE_RUN | HVK_SYNC_AFTER_RUN | HVK_SYNC_FULL_PULL |
			  HVK_SYNC_PLAIN_RUN);
	pthread_mutex_unlock(&h->lock);
}

unsigned int hvk_get_sync(const struct hvk *h)
{
	return h->sync;
}

void hvk_stats(struct hvk *h, struct hvk_stats *out)
{
	pthread_mutex_lock(&h->lock);
	pthread_mutex_lock(&h->rx_mu);
	sync_decoder_stats(h);
	*out = h->st;
	pthread_mutex_unlock(&h->rx_mu);
	out->kicks = __atomic_load_n(&h->kicks_sent, __ATOMIC_RELAXED);
	out->kicks_early = __atomic_load_n(&h->kicks_early, __ATOMIC_RELAXED);
	out->bytes_out += __atomic_load_n(&h->kick_bytes, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&h->lock);
}

void hvk_set_idle_resync_ms(struct hvk *h, int ms)
{
	pthread_mutex_lock(&h->lock);
	h->idle_ms = ms > 0 ? ms : IDLE_RESYNC_MS;
	pthread_mutex_unlock(&h->lock);
}

/* ---- Pseudo file descriptors ---- */

static void target_of(const struct hvk_fd *e, struct hvw_ioctl_req_hdr *hdr);

bool hvk_is_pseudo_fd(int fd)
{
	return fd >= HVK_FD_BASE && fd < HVK_FD_BASE + HVK_FD_MAX;
}

static struct hvk_fd *fd_get(struct hvk *h, int fd)
{
	struct hvk_fd *e;

	if (!hvk_is_pseudo_fd(fd))
		return NULL;
	e = &h->fds[fd - HVK_FD_BASE];
	return e->kind == FD_FREE ? NULL : e;
}

/* A free pseudo-fd number, or -1. */
static int fd_free(struct hvk *h)
{
	for (int i = 0; i < HVK_FD_MAX; i++)
		if (h->fds[i].kind == FD_FREE)
			return HVK_FD_BASE + i;
	return -1;
}

int hvk_kvm_fd(struct hvk *h)
{
	int fd;

	pthread_mutex_lock(&h->lock);
	fd = fd_free(h);
	if (fd >= 0)
		h->fds[fd - HVK_FD_BASE].kind = FD_SYSTEM;
	pthread_mutex_unlock(&h->lock);
	if (fd < 0)
		return ret_errno(fail(EMFILE, "/dev/kvm: all %d pseudo-fds in use", HVK_FD_MAX));
	return fd;
}

static int ioctl_result(int64_t result, const char *what);

/* Local side of a closed VM: its slots and shadows go, its vCPU fds die. */
static void vm_forget(struct hvk_vm *vm)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (vm->slots[i].used)
			munmap(vm->slots[i].shadow, vm->slots[i].size);
	memset(vm->slots, 0, sizeof(vm->slots));
	vm->closed = true;
}

/* CLOSE @handle: 0, or a negative errno (EBADF: the hypervisor has no such VM). */
static int close_remote(struct hvk *h, uint32_t handle)
{
	struct hvw_close c = { .vm = handle };
	struct hvw_ioctl_resp resp;
	struct hvw_frame f;
	uint32_t seq;
	size_t n;
	char what[40];
	int r;

	snprintf(what, sizeof(what), "CLOSE vm %u", handle);
	if (!(h->hello.caps & HVW_CAP_CLOSE))
		return fail(EOPNOTSUPP, "%s: the hypervisor cannot close a VM", what);
	seq = next_seq(h);
	n = hvw_encode_close(h->tx, sizeof(h->tx), seq, &c);
	r = transact(h, n, seq, HVW_IOCTL_RESP, h->timeout_ms, false, &f, what);
	if (r < 0)
		return r;
	if (hvw_parse_ioctl_resp(f.payload, f.len, &resp) < 0)
		return fail(EPROTO, "%s: malformed answer", what);
	r = ioctl_result(resp.result, what);
	if (r == 0)
		h->st.closes++;
	return r < 0 ? r : 0;
}

int hvk_close_fd(struct hvk *h, int fd)
{
	struct hvk_fd *e;
	int r = 0;

	pthread_mutex_lock(&h->lock);
	e = fd_get(h, fd);
	if (!e) {
		r = fail(EBADF, "close %d: not an open pseudo-fd", fd);
	} else {
		/* The VM fd is the last reference: the VM goes, in the hypervisor too. */
		if (e->kind == FD_VM && !e->vm->closed) {
			if (h->hello.caps & HVW_CAP_CLOSE)
				r = close_remote(h, e->vm->handle);
			vm_forget(e->vm);
		}
		memset(e, 0, sizeof(*e));
	}
	pthread_mutex_unlock(&h->lock);
	return ret_errno(r);
}

int hvk_close_vm_handle(struct hvk *h, uint32_t handle)
{
	int r;

	pthread_mutex_lock(&h->lock);
	r = close_remote(h, handle);
	if (r == 0)
		for (struct hvk_vm *vm = h->vms; vm; vm = vm->next)
			if (vm->handle == handle && !vm->closed)
				vm_forget(vm);
	pthread_mutex_unlock(&h->lock);
	return ret_errno(r);
}

int hvk_fd_target(struct hvk *h, int fd, uint32_t *vm, uint32_t *vcpu)
{
	struct hvw_ioctl_req_hdr hdr;
	struct hvk_fd *e;

	pthread_mutex_lock(&h->lock);
	e = fd_get(h, fd);
	if (e)
		target_of(e, &hdr);
	pthread_mutex_unlock(&h->lock);
	if (!e)
		return ret_errno(fail(EBADF, "%d is not an open pseudo-fd", fd));
	if (vm)
		*vm = hdr.vm;
	if (vcpu)
		*vcpu = hdr.vcpu;
	return hdr.target;
}

void *hvk_mmap(struct hvk *h, int vcpu_fd, size_t len)
{
	struct hvk_fd *e;
	void *p = MAP_FAILED;
	int r = 0;

	pthread_mutex_lock(&h->lock);
	e = fd_get(h, vcpu_fd);
	if (!e)
		r = fail(EBADF, "mmap %d: not an open pseudo-fd", vcpu_fd);
	else if (e->kind != FD_VCPU)
		r = fail(ENODEV, "mmap %d: not a vCPU", vcpu_fd);
	else if (!len || len > HVK_RUN_MAP_SIZE)
		r = fail(EINVAL, "mmap %d: %zu bytes, the vCPU mapping has %u", vcpu_fd, len,
			 HVK_RUN_MAP_SIZE);
	else
		p = e->vcpu->run;
	pthread_mutex_unlock(&h->lock);
	if (r < 0)
		errno = -r;
	return p;
}

/* ---- Guest memory coherence ---- */

static bool page_differs(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, PAGE_SIZE) != 0;
}

/* Send every page of @s that differs from its shadow. */
static int push_slot(struct hvk *h, struct hvk_vm *vm, struct hvk_slot *s)
{
	uint64_t npages = s->size / PAGE_SIZE;
	uint64_t i = 0, j;
	int r;

	while (i < npages) {
		uint64_t off = i * PAGE_SIZE;
		uint32_t len;

		if (!page_differs(s->mem + off, s->shadow + off)) {
			i++;
			continue;
		}
		for (j = i + 1; j < npages && j - i < CHUNK_PAGES; j++)
			if (!page_differs(s->mem + j * PAGE_SIZE, s->shadow + j * PAGE_SIZE))
				break;
		len = (uint32_t)((j - i) * PAGE_SIZE);
		/* One read of the program's memory: sent and remembered alike. */
		memcpy(h->scratch, s->mem + off, len);
		/* Tracked: the hypervisor now knows what our shadow holds. */
		r = mem_write_chunk(h, vm->handle, s->gpa + off, h->scratch, len,
				    h->hello.caps & HVW_CAP_MEM_CHANGED ? HVW_MEM_WRITE_TRACK : 0,
				    false);
		if (r < 0)
			return r;
		memcpy(s->shadow + off, h->scratch, len);
		h->st.push_frames++;
		h->st.pages_pushed += j - i;
		i = j;
	}
	return 0;
}

static void apply_page(struct hvk *h, uint8_t *mem, uint8_t *sh, const uint8_t *src);

/* Read back pages [first, end) of @s into local memory and shadow. */
static int pull_slot(struct hvk *h, struct hvk_vm *vm, struct hvk_slot *s, uint64_t first,
		     uint64_t end)
{
	const uint8_t *p;
	int r;

	for (uint64_t i = first; i < end;) {
		uint64_t n = end - i < CHUNK_PAGES ? end - i : CHUNK_PAGES;
		uint64_t off = i * PAGE_SIZE;

		r = mem_read_chunk(h, vm->handle, s->gpa + off, (uint32_t)(n * PAGE_SIZE), false,
				   &p);
		if (r < 0)
			return r;
		h->st.pull_frames++;
		h->st.pages_pulled += n;
		/* Write only what changed: untouched zero pages stay unbacked. */
		for (uint64_t k = 0; k < n; k++)
			apply_page(h, s->mem + off + k * PAGE_SIZE, s->shadow + off + k * PAGE_SIZE,
				   p + k * PAGE_SIZE);
		i += n;
	}
	return 0;
}

static const uint8_t zero_page[PAGE_SIZE];

/* One page from the hypervisor into local memory and shadow, where they differ. */
static void apply_page(struct hvk *h, uint8_t *mem, uint8_t *sh, const uint8_t *src)
{
	if (page_differs(mem, src)) {
		memcpy(mem, src, PAGE_SIZE);
		h->st.pages_pulled_changed++;
	}
	if (page_differs(sh, src))
		memcpy(sh, src, PAGE_SIZE);
}

/*
 * MEM_CHANGED over pages [first, end) of @s: only the pages whose contents
 * differ from what the hypervisor knows we hold come back (zero pages as
 * a flag), in as many answers as they need.
 */
static int changed_slot(struct hvk *h, struct hvk_vm *vm, struct hvk_slot *s, uint64_t first,
			uint64_t end)
{
	uint64_t gpa = s->gpa + first * PAGE_SIZE, stop = s->gpa + end * PAGE_SIZE;
	struct hvw_mem_changed_resp resp;
	struct hvw_page pg;
	struct hvw_frame f;
	char what[80];
	int r;

	while (gpa < stop) {
		struct hvw_mem_changed_req rq = { .vm = vm->handle, .gpa = gpa, .len = stop - gpa };
		uint32_t seq = next_seq(h), off = 0;
		size_t n = hvw_encode_mem_changed_req(h->tx, sizeof(h->tx), seq, &rq);

		snprintf(what, sizeof(what), "MEM_CHANGED gpa 0x%llx+0x%llx",
			 (unsigned long long)gpa, (unsigned long long)(stop - gpa));
		r = transact(h, n, seq, HVW_MEM_CHANGED_RESP, h->timeout_ms, false, &f, what);
		if (r < 0)
			return r;
		if (hvw_parse_mem_changed_resp(f.payload, f.len, &resp) < 0)
			return fail(EPROTO, "%s: malformed answer", what);
		if (resp.next <= gpa || resp.next > stop)
			return fail(EPROTO, "%s: the answer stops at 0x%llx", what,
				    (unsigned long long)resp.next);
		h->st.changed_frames++;
		while ((r = hvw_mem_changed_entry(&resp, &off, &pg)) == 1) {
			uint64_t o;

			if (pg.gpa < gpa) /* the parser saw them ascending, below next */
				return fail(EPROTO, "%s: page 0x%llx outside the range", what,
					    (unsigned long long)pg.gpa);
			o = pg.gpa - s->gpa;
			apply_page(h, s->mem + o, s->shadow + o, pg.data ? pg.data : zero_page);
			h->st.pages_changed++;
			if (!pg.data)
				h->st.zero_pages_changed++;
		}
		if (r < 0)
			return fail(EPROTO, "%s: malformed answer", what);
		gpa = resp.next;
	}
	return 0;
}

/* Read back pages [first, end) of @s: only the changed ones if the hypervisor can say. */
static int fetch_slot(struct hvk *h, struct hvk_vm *vm, struct hvk_slot *s, uint64_t first,
		      uint64_t end)
{
	if ((h->hello.caps & HVW_CAP_MEM_CHANGED) && !(h->sync & HVK_SYNC_FULL_PULL))
		return changed_slot(h, vm, s, first, end);
	return pull_slot(h, vm, s, first, end);
}

static int sync_vm(struct hvk *h, struct hvk_vm *vm, unsigned int dirs)
{
	int r;

	if ((dirs & (HVK_SYNC_BEFORE_RUN | HVK_SYNC_AFTER_RUN)) &&
	    !(h->hello.caps & HVW_CAP_MEMORY))
		for (int i = 0; i < MAX_SLOTS; i++)
			if (vm->slots[i].used)
				return fail(EOPNOTSUPP,
					    "memory sync: the hypervisor has no MEM_WRITE/MEM_READ");
	for (int i = 0; i < MAX_SLOTS; i++) {
		struct hvk_slot *s = &vm->slots[i];

		if (!s->used)
			continue;
		if (dirs & HVK_SYNC_BEFORE_RUN) {
			r = push_slot(h, vm, s);
			if (r < 0)
				return r;
		}
		/* The guest cannot write a read-only slot. */
		if ((dirs & HVK_SYNC_AFTER_RUN) && !(s->flags & KVM_MEM_READONLY)) {
			r = fetch_slot(h, vm, s, 0, s->size / PAGE_SIZE);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static struct hvk_vm *fd_vm(const struct hvk_fd *e)
{
	if (!e)
		return NULL;
	if (e->kind == FD_VM)
		return e->vm;
	if (e->kind == FD_VCPU && !e->vcpu->vm->closed)
		return e->vcpu->vm;
	return NULL;
}

int hvk_sync(struct hvk *h, int fd, unsigned int dirs)
{
	struct hvk_vm *vm;
	int r;

	pthread_mutex_lock(&h->lock);
	vm = fd_vm(fd_get(h, fd));
	if (!vm)
		r = fail(EBADF, "sync: %d is not a VM or vCPU pseudo-fd", fd);
	else
		r = sync_vm(h, vm, dirs);
	pthread_mutex_unlock(&h->lock);
	return ret_errno(r);
}

int hvk_pull(struct hvk *h, int fd, uint64_t gpa, uint64_t len)
{
	struct hvk_vm *vm;
	uint64_t end = gpa + len;
	int r = 0;

	pthread_mutex_lock(&h->lock);
	vm = fd_vm(fd_get(h, fd));
	if (!vm)
		r = fail(EBADF, "pull: %d is not a VM or vCPU pseudo-fd", fd);
	else if (end < gpa)
		r = fail(EINVAL, "pull: the range wraps");
	for (int i = 0; vm && !r && len && i < MAX_SLOTS; i++) {
		struct hvk_slot *s = &vm->slots[i];
		uint64_t lo, hi;

		if (!s->used || gpa >= s->gpa + s->size || end <= s->gpa)
			continue;
		lo = gpa > s->gpa ? gpa - s->gpa : 0;
		hi = end - s->gpa < s->size ? end - s->gpa : s->size;
		r = fetch_slot(h, vm, s, lo / PAGE_SIZE, (hi + PAGE_SIZE - 1) / PAGE_SIZE);
	}
	pthread_mutex_unlock(&h->lock);
	return ret_errno(r);
}

/* hvk_mem_*: no library state; the lock is dropped while each chunk waits. */
static int raw_mem(struct hvk *h, int vm_fd, uint64_t gpa, void *buf, size_t len, bool write)
{
	struct hvk_fd *e;
	const uint8_t *p;
	uint32_t handle = 0;
	int r = 0;

	pthread_mutex_lock(&h->lock);
	e = fd_get(h, vm_fd);
	if (!e || e->kind != FD_VM)
		r = fail(EBADF, "%s: %d is not a VM pseudo-fd", write ? "MEM_WRITE" : "MEM_READ",
			 vm_fd);
	else if (gpa + len < gpa)
		r = fail(EINVAL, "%s: the range wraps", write ? "MEM_WRITE" : "MEM_READ");
	else
		handle = e->vm->handle;
	while (!r && len) {
		uint32_t n = len < CHUNK ? (uint32_t)len : CHUNK;

		if (write) {
			r = mem_write_chunk(h, handle, gpa, buf, n, 0, true);
		} else {
			r = mem_read_chunk(h, handle, gpa, n, true, &p);
			if (!r)
				memcpy(buf, p, n);
		}
		buf = (uint8_t *)buf + n;
		gpa += n;
		len -= n;
	}
	pthread_mutex_unlock(&h->lock);
	return ret_errno(r);
}

int hvk_mem_write(struct hvk *h, int vm_fd, uint64_t gpa, const void *buf, size_t len)
{
	return raw_mem(h, vm_fd, gpa, (void *)buf, len, true);
}

int hvk_mem_read(struct hvk *h, int vm_fd, uint64_t gpa, void *buf, size_t len)
{
	return raw_mem(h, vm_fd, gpa, buf, len, false);
}

/* ---- ioctl ---- */

static void target_of(const struct hvk_fd *e, struct hvw_ioctl_req_hdr *hdr)
{
	memset(hdr, 0, sizeof(*hdr));
	switch (e->kind) {
	case FD_VM:
		hdr->target = HVW_TARGET_VM;
		hdr->vm = e->vm->handle;
		break;
	case FD_VCPU:
		hdr->target = HVW_TARGET_VCPU;
		hdr->vm = e->vcpu->vm->handle;
		hdr->vcpu = e->vcpu->id;
		break;
	default:
		hdr->target = HVW_TARGET_SYSTEM;
		break;
	}
}

/* Bytes of the record @req names at @p: counted records include their entries. */
static uint64_t record_len(unsigned long req, const void *p)
{
	switch (req) {
	case KVM_GET_MSRS:
	case KVM_SET_MSRS:
		return sizeof(struct kvm_msrs) +
		       (uint64_t)((const struct kvm_msrs *)p)->nmsrs * sizeof(struct kvm_msr_entry);
	case KVM_GET_MSR_INDEX_LIST:
	case KVM_GET_MSR_FEATURE_INDEX_LIST:
		return sizeof(struct kvm_msr_list) +
		       (uint64_t)((const struct kvm_msr_list *)p)->nmsrs * sizeof(uint32_t);
	case KVM_GET_SUPPORTED_CPUID:
	case KVM_SET_CPUID2:
	case KVM_GET_CPUID2:
		return sizeof(struct kvm_cpuid2) + (uint64_t)((const struct kvm_cpuid2 *)p)->nent *
							   sizeof(struct kvm_cpuid_entry2);
	default:
		return HV_IOC_SIZE(req);
	}
}

/* The hypervisor's result as ioctl(2) returns it. */
static int ioctl_result(int64_t result, const char *what)
{
	if (result < 0)
		return fail((int)-result, "%s: %s (%s)", what, hvk_errno_name((int)-result),
			    strerror((int)-result));
	if (result > INT32_MAX)
		return fail(EOVERFLOW, "%s: result %lld does not fit an int", what,
			    (long long)result);
	return (int)result;
}

/*
 * A request with no local side: its argument out, its record back. With
 * @unlocked the lock is dropped while it waits (nothing of @e is used
 * after the request has gone out).
 */
static int forward(struct hvk *h, const struct hvk_fd *e, unsigned long req, unsigned long arg,
		   bool unlocked, const char *what, int64_t *result)
{
	struct hvw_ioctl_req_hdr hdr;
	struct hvw_ioctl_resp resp;
	uint8_t intarg[8];
	const void *p = NULL;
	unsigned int dir = HV_IOC_DIR(req);
	uint64_t len = 0;
	int r;

	target_of(e, &hdr);
	hdr.nr = (uint32_t)req;
	if (dir == HV_IOC_NONE) {
		if (arg) {
			put_le64(intarg, arg);
			p = intarg;
			len = sizeof(intarg);
		}
	} else {
		if (!arg)
			return fail(EFAULT, "%s: no argument record", what);
		p = (const void *)arg;
		len = record_len(req, p);
		if (len > HVW_MAX_ARG)
			return fail(E2BIG, "%s: %llu argument bytes, at most %u go in a frame",
				    what, (unsigned long long)len, HVW_MAX_ARG);
	}
	hdr.arg_len = (uint32_t)len;
	r = ioctl_exchange(h, &hdr, p, h->timeout_ms, unlocked, &resp, what);
	if (r < 0)
		return r;
	if (dir & HV_IOC_READ) {
		/* Back even with an error: E2BIG answers say the count needed. */
		if (resp.arg_len == len)
			memcpy((void *)arg, resp.arg, len);
		else if (resp.result >= 0 || resp.arg_len)
			return fail(EPROTO, "%s: %u record bytes came back, %llu expected", what,
				    resp.arg_len, (unsigned long long)len);
	}
	*result = resp.result;
	return 0;
}

static int do_create_vm(struct hvk *h, struct hvk_fd *e, unsigned long arg, const char *what)
{
	struct hvk_vm *vm;
	int64_t res;
	int fd = fd_free(h), r;

	if (fd < 0)
		return fail(EMFILE, "%s: all %d pseudo-fds in use", what, HVK_FD_MAX);
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return fail(ENOMEM, "%s: out of memory", what);
	r = forward(h, e, KVM_CREATE_VM, arg, false, what, &res);
	if (r >= 0)
		r = ioctl_result(res, what);
	if (r == 0)
		r = fail(EPROTO, "%s: the hypervisor answered handle 0", what);
	if (r < 0) {
		free(vm);
		return r;
	}
	vm->handle = (uint32_t)r;
	vm->next = h->vms;
	h->vms = vm;
	h->fds[fd - HVK_FD_BASE] = (struct hvk_fd){ .kind = FD_VM, .vm = vm };
	return fd;
}

static int do_create_vcpu(struct hvk *h, struct hvk_fd *e, unsigned long arg, const char *what)
{
	struct hvk_vcpu *v;
	int64_t res;
	int fd = fd_free(h), r;

	if (fd < 0)
		return fail(EMFILE, "%s: all %d pseudo-fds in use", what, HVK_FD_MAX);
	v = calloc(1, sizeof(*v));
	if (v)
		v->run = aligned_alloc(PAGE_SIZE, HVK_RUN_MAP_SIZE);
	if (!v || !v->run) {
		free(v);
		return fail(ENOMEM, "%s: out of memory", what);
	}
	memset(v->run, 0, HVK_RUN_MAP_SIZE);
	r = forward(h, e, KVM_CREATE_VCPU, arg, false, what, &res);
	if (r >= 0)
		r = ioctl_result(res, what);
	if (r < 0) {
		free(v->run);
		free(v);
		return r;
	}
	v->vm = e->vm;
	v->id = (uint32_t)r;
	v->next = h->vcpus;
	h->vcpus = v;
	h->fds[fd - HVK_FD_BASE] = (struct hvk_fd){ .kind = FD_VCPU, .vcpu = v };
	return fd;
}

static struct hvk_slot *slot_find(struct hvk_vm *vm, uint32_t id)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (vm->slots[i].used && vm->slots[i].id == id)
			return &vm->slots[i];
	return NULL;
}

static int do_set_region(struct hvk *h, struct hvk_fd *e, unsigned long arg, const char *what)
{
	struct kvm_userspace_memory_region m;
	struct hvk_slot *s, *fresh = NULL;
	uint8_t *shadow = NULL;
	int64_t res;
	int r;

	if (!arg)
		return fail(EFAULT, "%s: no argument record", what);
	memcpy(&m, (const void *)arg, sizeof(m));
	s = slot_find(e->vm, m.slot);
	if (m.memory_size) {
		if (!m.userspace_addr || (m.userspace_addr & (PAGE_SIZE - 1)) ||
		    (m.memory_size & (PAGE_SIZE - 1)) ||
		    m.userspace_addr + m.memory_size < m.userspace_addr)
			return fail(EINVAL, "%s: slot %u: memory must be whole pages", what,
				    m.slot);
		if (!s || s->size != m.memory_size) {
			/* All zero, as the hypervisor's new memory is. */
			shadow = mmap(NULL, m.memory_size, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			if (shadow == MAP_FAILED)
				return fail(ENOMEM, "%s: slot %u: no memory for its shadow", what,
					    m.slot);
		}
		if (!s) {
			for (int i = 0; i < MAX_SLOTS && !fresh; i++)
				if (!e->vm->slots[i].used)
					fresh = &e->vm->slots[i];
			if (!fresh) {
				munmap(shadow, m.memory_size);
				return fail(ENOSPC, "%s: more than %d slots", what, MAX_SLOTS);
			}
		}
	}
	r = forward(h, e, KVM_SET_USER_MEMORY_REGION, (unsigned long)&m, false, what, &res);
	if (r >= 0)
		r = ioctl_result(res, what);
	if (r < 0) {
		if (shadow)
			munmap(shadow, m.memory_size);
		return r;
	}
	if (!m.memory_size) {
		if (s) {
			munmap(s->shadow, s->size);
			memset(s, 0, sizeof(*s));
		}
		return r;
	}
	if (!s)
		s = fresh;
	if (shadow) {
		if (s->used)
			munmap(s->shadow, s->size);
		s->shadow = shadow;
	}
	s->used = true;
	s->id = m.slot;
	s->flags = m.flags;
	s->gpa = m.guest_phys_addr;
	s->size = m.memory_size;
	s->mem = (uint8_t *)(uintptr_t)m.userspace_addr;
	return r;
}

/* Where the data of an I/O exit sits in the mapping; false if it does not fit. */
static bool io_data_ok(const struct kvm_run *run, uint32_t *off, uint32_t *len)
{
	uint64_t n = (uint64_t)run->io.size * run->io.count;

	if (run->io.data_offset < sizeof(struct kvm_run) ||
	    run->io.data_offset > HVK_RUN_MAP_SIZE || n > HVK_RUN_MAP_SIZE - run->io.data_offset)
		return false;
	*off = (uint32_t)run->io.data_offset;
	*len = (uint32_t)n;
	return true;
}

/*
 * Send the KVM_RUN in h->scratch and wait for its answer. The frame is
 * built with the write token held, so that a kick either finds the run
 * still being prepared (it then goes out with immediate_exit set) or
 * finds its frame gone (a KICK frame follows it). The wait is done
 * without h->lock, so that other threads' requests go out meanwhile (the
 * hypervisor answers them when the run has ended); the caller's vCPU is
 * marked in_run, so no other KVM_RUN of it starts.
 */
static int run_exchange(struct hvk *h, struct hvk_vcpu *v, const struct hvw_ioctl_req_hdr *hdr,
			struct hvw_ioctl_resp *resp, const char *what)
{
	uint32_t seq = next_seq(h);
	int64_t deadline = deadline_in(h->run_timeout_ms);
	struct hvk_waiter w = { .own_seq = seq };
	struct hvw_frame f;
	size_t n;
	int r;

	if (deadline >= 0 && h->baud)
		deadline += (int64_t)((HVW_FRAME_SIZE(hdr->arg_len) + HVW_MAX_FRAME) * 10 * 1000 /
				      h->baud);
	waiter_add(h, &w, &w.own_seq, 1);
	wtoken_acquire(h);
	if (__atomic_exchange_n(&v->kick_early, 0, __ATOMIC_SEQ_CST)) {
		h->scratch[offsetof(struct kvm_run, immediate_exit)] = 1;
		__atomic_add_fetch(&h->kicks_early, 1, __ATOMIC_RELAXED);
	}
	n = hvw_encode_ioctl_req(h->tx, sizeof(h->tx), seq, hdr, h->scratch);
	r = n ? send_bytes(h, h->tx, n, deadline, what)
	      : fail(EINVAL, "%s: the request does not fit a frame", what);
	__atomic_store_n(&v->run_state, RUN_SENT, __ATOMIC_SEQ_CST);
	wtoken_release(h);
	if (r < 0) {
		waiter_cancel(h, &w);
		return r;
	}
	__atomic_add_fetch(&h->st.requests, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&h->lock);
	r = await(h, &w, HVW_IOCTL_RESP, deadline, &f, what);
	pthread_mutex_lock(&h->lock);
	if (r == -ETIMEDOUT) {
		__atomic_add_fetch(&h->st.timeouts, 1, __ATOMIC_RELAXED);
		return fail(ETIMEDOUT, "%s: no answer within %d ms", what, h->run_timeout_ms);
	}
	if (r < 0)
		return r;
	if (hvw_parse_ioctl_resp(f.payload, f.len, resp) < 0)
		return fail(EPROTO, "%s: malformed IOCTL answer", what);
	return 0;
}

/* The compact KVM_RUN, when the hypervisor offers it and nobody said no. */
static bool compact_run(const struct hvk *h)
{
	return (h->hello.caps & HVW_CAP_COMPACT_RUN) && !(h->sync & HVK_SYNC_PLAIN_RUN);
}

static int do_run(struct hvk *h, struct hvk_fd *e, const char *what)
{
	struct hvk_vcpu *v = e->vcpu;
	struct kvm_run *run = v->run;
	struct hvw_ioctl_req_hdr hdr;
	struct hvw_ioctl_resp resp;
	uint32_t len = sizeof(struct kvm_run), off, n;
	uint8_t immediate_exit = run->immediate_exit;
	int r;

	if (v->vm->closed)
		return fail(EBADF, "%s: the vCPU's VM was closed", what);
	/* From here a kick stops this run (see flush_kicks). */
	__atomic_store_n(&v->kick_early, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&v->run_state, RUN_PREP, __ATOMIC_SEQ_CST);
	if (h->sync & HVK_SYNC_BEFORE_RUN) {
		r = sync_vm(h, v->vm, HVK_SYNC_BEFORE_RUN);
		if (r < 0) {
			__atomic_store_n(&v->run_state, RUN_IDLE, __ATOMIC_SEQ_CST);
			return r;
		}
	}
	target_of(e, &hdr);
	hdr.nr = KVM_RUN;
	if (compact_run(h)) {
		long k = hvr_encode_request(h->scratch, sizeof(h->scratch), run, HVK_RUN_MAP_SIZE,
					    &v->shadow, v->shadow_ok ? 0 : HVR_FRESH);

		if (k < 0) {
			__atomic_store_n(&v->run_state, RUN_IDLE, __ATOMIC_SEQ_CST);
			return fail(EINVAL, "%s: cannot encode the compact run (%ld)", what, k);
		}
		hdr.flags = HVW_IOCTL_COMPACT_RUN;
		len = (uint32_t)k;
		v->shadow_ok = false; /* until the answer is in */
	} else {
		memcpy(h->scratch, run, len);
		if (v->in_pending) {
			memcpy(h->scratch + len, (uint8_t *)run + v->in_off, v->in_len);
			len += v->in_len;
		}
	}
	hdr.arg_len = len;
	h->st.runs++;
	r = run_exchange(h, v, &hdr, &resp, what);
	__atomic_store_n(&v->run_state, RUN_IDLE, __ATOMIC_SEQ_CST);
	if (r < 0)
		return r;
	if (hdr.flags & HVW_IOCTL_COMPACT_RUN) {
		if (resp.arg_len && hvr_apply_response(run, HVK_RUN_MAP_SIZE, &v->shadow, resp.arg,
						       resp.arg_len) < 0)
			return fail(EPROTO, "%s: malformed compact KVM_RUN answer (%u bytes)", what,
				    resp.arg_len);
		if (!resp.arg_len && resp.result >= 0)
			return fail(EPROTO, "%s: a successful run came back without its exit",
				    what);
		v->shadow_ok = resp.arg_len != 0;
		run->immediate_exit = immediate_exit;
	} else if (resp.arg_len >= sizeof(struct kvm_run)) {
		uint32_t extra = resp.arg_len - (uint32_t)sizeof(struct kvm_run);

		memcpy(run, resp.arg, sizeof(struct kvm_run));
		/* The program's own field, whatever a kick sent in its place. */
		run->immediate_exit = immediate_exit;
		if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT) {
			if (!io_data_ok(run, &off, &n) || n != extra)
				return fail(EPROTO,
					    "%s: OUT exit with %u data bytes, size %u count %u "
					    "offset %llu",
					    what, extra, run->io.size, run->io.count,
					    (unsigned long long)run->io.data_offset);
			memcpy((uint8_t *)run + off, resp.arg + sizeof(struct kvm_run), n);
		} else if (extra) {
			return fail(EPROTO, "%s: %u unexpected bytes after the kvm_run", what,
				    extra);
		}
	} else if (resp.arg_len || resp.result >= 0) {
		return fail(EPROTO, "%s: %u bytes came back, not a kvm_run", what, resp.arg_len);
	}
	/*
	 * A failed run (-EINTR from immediate_exit, say) may not have
	 * completed a pending IN: its data goes again with the next run.
	 */
	if (resp.result >= 0) {
		v->in_pending = false;
		if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_IN) {
			if (!io_data_ok(run, &off, &n))
				return fail(EPROTO, "%s: IN exit of size %u count %u at offset %llu",
					    what, run->io.size, run->io.count,
					    (unsigned long long)run->io.data_offset);
			v->in_pending = true;
			v->in_off = off;
			v->in_len = n;
		}
	}
	if (h->sync & HVK_SYNC_AFTER_RUN) {
		r = sync_vm(h, v->vm, HVK_SYNC_AFTER_RUN);
		if (r < 0)
			return r;
	}
	return ioctl_result(resp.result, what);
}

/*
 * KVM_RUN of one vCPU at a time, as the vCPU's mutex makes it on Linux: a
 * second thread's KVM_RUN of the same vCPU waits for the first to return
 * (h->lock is dropped while a run waits for its answer).
 */
static int run_serialised(struct hvk *h, struct hvk_fd *e, const char *what)
{
	struct hvk_vcpu *v = e->vcpu;
	int r;

	while (v->in_run)
		pthread_cond_wait(&h->run_cv, &h->lock);
	if (v->vm->closed)
		return fail(EBADF, "%s: the vCPU's VM was closed", what);
	v->in_run = true;
	r = do_run(h, e, what);
	v->in_run = false;
	pthread_cond_broadcast(&h->run_cv);
	return r;
}

int hvk_ioctl(struct hvk *h, int fd, unsigned long request, ...)
{
	char what[48];
	const char *name = hvk_ioctl_name(request);
	struct hvk_fd *e;
	unsigned long arg;
	int64_t res;
	va_list ap;
	int r;

	va_start(ap, request);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (name)
		snprintf(what, sizeof(what), "%s", name);
	else
		snprintf(what, sizeof(what), "ioctl 0x%lx", request);

	pthread_mutex_lock(&h->lock);
	e = fd_get(h, fd);
	if (!e)
		r = fail(EBADF, "%s: %d is not an open pseudo-fd", what, fd);
	else if (HV_IOC_TYPE(request) != KVMIO || request > UINT32_MAX)
		r = fail(ENOTTY, "%s: not a KVM request", what);
	else if (e->kind == FD_VCPU && e->vcpu->vm->closed)
		r = fail(EBADF, "%s: %d is a vCPU of a closed VM", what, fd);
	else if (e->kind == FD_VCPU && request == KVM_RUN)
		r = run_serialised(h, e, what);
	else if (e->kind == FD_SYSTEM && request == KVM_CREATE_VM)
		r = do_create_vm(h, e, arg, what);
	else if (e->kind == FD_VM && request == KVM_CREATE_VCPU)
		r = do_create_vcpu(h, e, arg, what);
	else if (e->kind == FD_VM && request == KVM_SET_USER_MEMORY_REGION)
		r = do_set_region(h, e, arg, what);
	else if ((r = forward(h, e, request, arg, true, what, &res)) >= 0)
		r = ioctl_result(res, what);
	pthread_mutex_unlock(&h->lock);
	return ret_errno(r);
}

/* ---- Frames without waiting ---- */

int hvk_send_frame(struct hvk *h, uint8_t type, const void *payload, uint32_t len,
		   uint32_t *seq_out)
{
	struct hvk_waiter *w = NULL;
	uint32_t seq = 0;
	uint8_t *frame;
	size_t n;
	int r;

	if (len > HVW_MAX_PAYLOAD)
		return ret_errno(fail(E2BIG, "send %s: %u payload bytes, at most %u",
				      hvw_type_name(type), len, HVW_MAX_PAYLOAD));
	frame = malloc(HVW_FRAME_SIZE(len));
	if (type != HVW_KICK)
		w = calloc(1, sizeof(*w));
	if (!frame || (type != HVW_KICK && !w)) {
		free(frame);
		free(w);
		return ret_errno(fail(ENOMEM, "send %s: out of memory", hvw_type_name(type)));
	}
	/* A KICK is never answered and goes out with seq 0. */
	if (w) {
		seq = next_seq(h);
		w->own_seq = seq;
		w->async = true;
		waiter_add(h, w, &w->own_seq, 1);
	}
	n = hvw_encode(frame, HVW_FRAME_SIZE(len), type, seq, payload, len);
	r = send_frame(h, frame, n, deadline_in(h->timeout_ms), hvw_type_name(type));
	free(frame);
	if (r < 0) {
		if (w) {
			waiter_cancel(h, w);
			free(w);
		}
		return ret_errno(r);
	}
	if (w)
		__atomic_add_fetch(&h->st.requests, 1, __ATOMIC_RELAXED);
	if (seq_out)
		*seq_out = seq;
	return 0;
}

int hvk_wait_frame(struct hvk *h, uint32_t seq, int timeout_ms, uint8_t *type, void *buf,
		   uint32_t cap)
{
	struct hvk_waiter *w = NULL;
	char what[48];
	uint32_t len;
	int r;

	snprintf(what, sizeof(what), "answer to seq %u", seq);
	pthread_mutex_lock(&h->rx_mu);
	for (struct hvk_waiter *p = h->waiters; p && !w; p = p->next)
		if (p->async && p->own_seq == seq)
			w = p;
	pthread_mutex_unlock(&h->rx_mu);
	if (!w || !seq)
		return ret_errno(fail(ENOENT, "%s: no such request waiting", what));
	if (timeout_ms < 0)
		timeout_ms = h->timeout_ms;
	/* 0: what has already arrived (a moment's poll of the line). */
	r = waiter_wait(h, w, deadline_in(timeout_ms ? timeout_ms : 1), true, what);
	if (r == -ETIMEDOUT)
		return ret_errno(fail(ETIMEDOUT, "%s: not yet (waited %d ms)", what, timeout_ms));
	if (r < 0) {
		/* The line failed: the request is gone with it. */
		free(w->payload);
		free(w);
		return ret_errno(r);
	}
	if (w->err) {
		r = w->err;
		free(w);
		return ret_errno(fail(r, "%s: no memory for the answer", what));
	}
	len = w->len;
	if (type)
		*type = w->type;
	memcpy(buf, w->payload, len < cap ? len : cap);
	free(w->payload);
	free(w);
	if (len > cap)
		return ret_errno(fail(EMSGSIZE, "%s: %u payload bytes, room for %u", what, len, cap));
	return (int)len;
}

int hvk_power_off(struct hvk *h)
{
	struct hvw_ioctl_resp resp;
	struct hvw_frame f;
	uint32_t seq;
	size_t n;
	int r;

	pthread_mutex_lock(&h->lock);
	seq = next_seq(h);
	n = hvw_encode(h->tx, sizeof(h->tx), HVW_POWER_OFF, seq, NULL, 0);
	r = transact(h, n, seq, HVW_IOCTL_RESP, h->timeout_ms, false, &f, "POWER_OFF");
	if (r == -ECONNRESET)
		r = 0; /* gone, as asked, before it could answer */
	else if (!r && hvw_parse_ioctl_resp(f.payload, f.len, &resp) < 0)
		r = fail(EPROTO, "POWER_OFF: malformed answer");
	else if (!r)
		r = ioctl_result(resp.result, "POWER_OFF");
	pthread_mutex_unlock(&h->lock);
	return ret_errno(r < 0 ? r : 0);
}
