/* SPDX-License-Identifier: MIT */
/*
 * libhvkvm: KVM-shaped calls carried to a remote hypervisor in hvwire
 * frames (see libhvkvm.h for the model, abi/hvwire.h for the frames).
 * What the library's files share: the connection's state, the error
 * convention and the functions one file gives the others.
 *
 * Internal functions return 0 (or a value) on success and a negative
 * errno on failure, after recording a message with fail(); the public
 * entry points turn that into -1 and errno.
 *
 * Functions shared between the files are prefixed hvki_: they are external
 * symbols of the archive, and a program's own names (a test harness's
 * fail(), say) must not collide with them.
 */
#ifndef TOOLS_LIBHVKVM_INTERNAL_H
#define TOOLS_LIBHVKVM_INTERNAL_H

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
#include <sys/uio.h> /* process_vm_readv */
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "abi/hvpack.h"
#include "abi/hvrun.h"
#include "abi/hvwire.h"
#include "abi/kvm.h"
#include "abi/kvm_ioctls.h"
#include "tools/libhvkvm.h"

#define PAGE_SIZE      4096u
#define CHUNK	       HVW_MAX_ARG /* bytes per MEM_* frame */
#define CHUNK_PAGES    (CHUNK / PAGE_SIZE)
#define MAX_SLOTS      32   /* tracked per VM; the hypervisor has fewer */
#define IDLE_RESYNC_MS 1000 /* a silent line ends a false frame start */
#define HELLO_RETRY_MS 2000
#define MAX_HELLOS     64
#define KICK_SEND_MS   1000 /* a KICK that cannot leave in this time fails */
#define BYE_MS	       5000 /* hvk_close() waits at most this for its BYE's answer */

struct hvk_slot {
	bool used;
	uint32_t id;
	uint32_t flags; /* KVM_MEM_* */
	uint64_t gpa, size;
	uint8_t *mem;	 /* the program's memory (userspace_addr) */
	uint8_t *shadow; /* what the hypervisor holds, as far as we know */
};

struct hvk_vm {
	uint32_t handle;
	bool closed; /* CLOSE sent: its vCPU fds are dead */
	struct hvk_slot slots[MAX_SLOTS];
	struct hvk_vm *next;
};

struct hvk_vcpu {
	struct hvk_vm *vm;
	uint32_t id;
	bool in_run;	     /* a thread is in its KVM_RUN (h->lock, h->run_cv) */
	struct kvm_run *run; /* HVK_RUN_MAP_SIZE bytes */
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
	int kick_early; /* kicked before the KVM_RUN frame left */
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
	const uint32_t *seqs; /* the answer is for one of these */
	unsigned int nseq;
	uint32_t own_seq; /* seqs points here for a single request */
	bool async;	  /* hvk_send_frame: kept until collected */
	bool done;
	int err; /* done, but the answer could not be kept */
	uint8_t type;
	uint32_t seq;
	uint8_t *payload; /* malloc'd copy of the answer's payload */
	uint32_t len;
	/* A KVM_RUN's wait: kick vCPU kick_fd once interrupted() says so. */
	bool (*interrupted)(void);
	int kick_fd;
	bool kicked;
	struct hvk_waiter *next;
};

struct hvk {
	/*
	 * Every call holds lock for what it does, except while a KVM_RUN
	 * waits for its answer: other threads' requests then go out and are
	 * answered (the hypervisor queues them until the run ends).
	 */
	pthread_mutex_t lock;
	pthread_cond_t run_cv; /* a vCPU left KVM_RUN (with lock) */
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
	/*
	 * A TCP peer such as Bochs' socket-server UART writes a byte at a time
	 * with Nagle on: each read sets TCP_QUICKACK again, so that its
	 * segments are acknowledged at once instead of at the 40 ms delayed-ACK
	 * timer (which made every round trip about 44 ms).
	 */
	bool is_tcp;
	unsigned long baud; /* a serial device's speed; 0 otherwise */
	int timeout_ms, run_timeout_ms, idle_ms;
	bool (*run_interrupt_check)(void); /* hvk_set_run_interrupt_check */
	bool run_timeout_set;
	unsigned int sync;
	uint32_t seq; /* atomic: hvki_next_seq() */
	struct hvw_hello_resp hello;
	/* The handshake succeeded and neither BYE nor POWER_OFF has ended it. */
	bool in_session;
	struct hvk_stats st;
	struct hvk_fd fds[HVK_FD_MAX];
	struct hvk_vm *vms;
	struct hvk_vcpu *vcpus;
	/* Bytes read but not yet fed to the decoder (the reader's). */
	uint8_t in[4096];
	size_t in_off, in_len;
	uint8_t tx[HVW_MAX_FRAME];
	uint8_t scratch[HVW_MAX_ARG];
	/* A request's argument or pages in the packed form, and the packer's table. */
	uint8_t packed[HVP_BOUND(HVW_MAX_ARG)];
	struct hvp_scratch pack_ws;
	uint8_t page[HVW_PAGE_SIZE]; /* a page of a MEM_CHANGED answer */
	struct hvw_decoder dec;
	/*
	 * Whoever writes to the line holds the write token (1), taken with an
	 * atomic exchange, never waited for in hvk_kick(): a kick that finds it
	 * taken leaves its bit in kick_pending (one per pseudo-fd) and the
	 * holder sends it before letting go.
	 */
	int wtoken;
	uint64_t kick_pending[HVK_FD_MAX / 64];
	uint64_t kicks_sent, kicks_early, kick_bytes; /* atomic */
};

/* ---- Errors (names.c) ---- */

extern __thread char hvki_last_error[512];

__attribute__((format(printf, 2, 3))) static inline int fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(hvki_last_error, sizeof(hvki_last_error), fmt, ap);
	va_end(ap);
	return -err;
}

/* Public return convention: -1 and errno for a negative @r. */
static inline int ret_errno(int r)
{
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

/* ---- Time ---- */

static inline int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A deadline @ms from now; -1 (none) for @ms <= 0. */
static inline int64_t deadline_in(int ms)
{
	return ms > 0 ? now_ms() + ms : -1;
}

/* ---- The line (link.c) ---- */

int hvki_wait_fd(struct hvk *h, short events, int64_t deadline, int cap);
int hvki_send_bytes(struct hvk *h, const uint8_t *p, size_t n, int64_t deadline, const char *what);
void hvki_wtoken_acquire(struct hvk *h);
int hvki_wtoken_release(struct hvk *h);
int hvki_send_frame(struct hvk *h, const uint8_t *p, size_t n, int64_t deadline, const char *what);
int hvki_parse_uint(const char *s, unsigned long max, unsigned long *out);
int hvki_connect_tcp(const char *spec, int *fdp);
int hvki_connect_unix(const char *path, int *fdp);
int hvki_open_serial(const char *spec, int *fdp, unsigned long *baudp);

/* ---- Frames (frames.c) ---- */

uint32_t hvki_next_seq(struct hvk *h);
void hvki_waiter_add(struct hvk *h, struct hvk_waiter *w, const uint32_t *seqs, unsigned int nseq);
void hvki_waiter_cancel(struct hvk *h, struct hvk_waiter *w);
void hvki_sync_decoder_stats(struct hvk *h);
int hvki_await(struct hvk *h, struct hvk_waiter *w, uint8_t want, int64_t deadline,
	       struct hvw_frame *f, const char *what);
int hvki_transact(struct hvk *h, size_t n, uint32_t seq, uint8_t want, int timeout_ms,
		  bool unlocked, struct hvw_frame *f, const char *what);

/* ---- Guest memory (memory.c) ---- */

int hvki_sync_vm(struct hvk *h, struct hvk_vm *vm, unsigned int dirs);

/* ---- Pseudo-fds and ioctls (ioctl.c) ---- */

struct hvk_fd *hvki_fd_get(struct hvk *h, int fd);
/* Every VM the library made is gone in the hypervisor: forget them all. */
void hvki_forget_vms(struct hvk *h);
int hvki_ioctl_result(int64_t result, const char *what);

#endif
