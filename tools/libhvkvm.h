/* SPDX-License-Identifier: MIT */
/*
 * libhvkvm: the KVM interface of a remote hypervisor, for host programs.
 *
 * The hypervisor runs on another machine (or in an emulator) and is driven
 * over a byte stream with the frames of abi/hvwire.h. This library hides
 * the frames behind calls shaped like the kernel's: a pseudo file
 * descriptor stands for /dev/kvm, KVM_CREATE_VM and KVM_CREATE_VCPU return
 * new ones, hvk_ioctl() takes the same request numbers and argument
 * records as ioctl(2) and fails the same way (-1 and errno), and
 * hvk_mmap() gives a vCPU's struct kvm_run as local memory. A later
 * LD_PRELOAD shim can route an unmodified KVM program through it.
 *
 *	struct hvk *h = hvk_open("tcp:127.0.0.1:4555");
 *	int kvm = hvk_kvm_fd(h);
 *	int vm = hvk_ioctl(h, kvm, KVM_CREATE_VM, 0);
 *	... KVM_SET_USER_MEMORY_REGION with local memory, KVM_CREATE_VCPU ...
 *	struct kvm_run *run = hvk_mmap(h, vcpu, 8192);
 *	hvk_ioctl(h, vcpu, KVM_RUN, 0);
 *
 * Guest memory. The hypervisor owns the guest's memory; the program's
 * memory given to KVM_SET_USER_MEMORY_REGION is a local copy that the
 * library keeps coherent around KVM_RUN:
 *  - before each KVM_RUN (HVK_SYNC_BEFORE_RUN) every page of every slot of
 *    the vCPU's VM that differs from a per-slot shadow copy (what the
 *    hypervisor is known to hold) is sent with MEM_WRITE, consecutive pages
 *    together, up to 64 KiB per frame. The shadow starts all zero, as the
 *    hypervisor's memory does, so pages left zero are never sent;
 *  - after each KVM_RUN (HVK_SYNC_AFTER_RUN) the pages of every writable
 *    slot that differ from the shadow come back, and local memory and
 *    shadow are updated where they differ. With HVW_CAP_MEM_CHANGED the
 *    hypervisor says which: it keeps a hash of each page as we hold it
 *    (pushed pages are sent with MEM_WRITE_TRACK) and MEM_CHANGED answers
 *    with just the pages whose contents differ, zero pages as a flag; a
 *    run that changes one page of a 1 MiB slot costs about 4.2 KB instead
 *    of the whole slot. Without the capability (or with
 *    HVK_SYNC_FULL_PULL) every page is read back with MEM_READ in 64 KiB
 *    chunks: about 91 s per MiB at 115200 baud. A program that only needs
 *    a few results can turn the sync off and fetch what it needs with
 *    hvk_pull(). A failed or interrupted KVM_RUN (EINTR) syncs too.
 * Local scans cost a memcmp of the slots per run; the shadow is anonymous
 * memory the kernel backs lazily, so untouched parts cost nothing.
 * hvk_mem_write()/hvk_mem_read() bypass all of this (a page written with
 * hvk_mem_write() comes back into local memory at the next sync when the
 * hypervisor has MEM_CHANGED, since it differs from what we hold).
 *
 * Threads: calls on one connection may come from any thread. Each holds
 * the connection's lock while it works, except a KVM_RUN while it waits
 * for the guest: meanwhile another thread's request (on another vCPU or
 * VM, a memory access, a system ioctl) goes out at once; the hypervisor
 * queues it while the run lasts and answers it after the run's answer,
 * and the library hands each answer to the thread that waits for its
 * sequence number (whichever thread is reading the line at the time). A
 * second thread's request waits for the lock only while the first is not
 * in a KVM_RUN. Two KVM_RUNs of one vCPU are serialised, as the vCPU's
 * mutex does on Linux: the second starts when the first has returned.
 * hvk_kick() takes no lock and may be called from another thread or a
 * signal handler to stop a KVM_RUN in progress. The hypervisor holds a
 * few requests during a run (8); beyond that it answers -EBUSY, which a
 * call returns as EBUSY.
 */
#ifndef TOOLS_LIBHVKVM_H
#define TOOLS_LIBHVKVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hvk;

/*
 * Pseudo file descriptors: [HVK_FD_BASE, HVK_FD_BASE + HVK_FD_MAX). Real
 * descriptors stay below the process's RLIMIT_NOFILE, which the kernel
 * caps at fs.nr_open (1048576 by default), so the range cannot meet them
 * in practice. Numbers are per connection: two connections hand out the
 * same values.
 */
#define HVK_FD_BASE 0x40000000
#define HVK_FD_MAX  1024

/* The local vCPU mapping: struct kvm_run, then the port I/O data page. */
#define HVK_RUN_MAP_SIZE 8192

/* hvk_set_sync() directions. */
#define HVK_SYNC_BEFORE_RUN (1u << 0) /* push changed pages */
#define HVK_SYNC_AFTER_RUN  (1u << 1) /* fetch the pages the guest changed */
/* Fetch by reading every page (MEM_READ) even if MEM_CHANGED is there. */
#define HVK_SYNC_FULL_PULL (1u << 2)
/*
 * Send KVM_RUN as a whole struct kvm_run each way even if the hypervisor
 * offers the compact form (HVW_CAP_COMPACT_RUN, abi/hvrun.h: the caller's
 * fields, completion data and the changed words of the register sets).
 */
#define HVK_SYNC_PLAIN_RUN (1u << 3)

#define HVK_DEFAULT_TIMEOUT_MS 30000

struct hvk_options {
	const char *client; /* HELLO client name, default "libhvkvm" */
	int timeout_ms;	    /* per request; 0: default; < 0: none */
	int hello_retry_ms; /* resend HELLO this often; 0: 2000; < 0: never */
};

/*
 * Connect and do the handshake. @where:
 *	tcp:HOST:PORT		(HOST may be [v6addr])
 *	unix:PATH
 *	fd:N			an open socket or tty; not closed by hvk_close()
 *	PATH[,BAUD]		a serial device, raw 8N1, no flow control,
 *				default 115200 baud
 * NULL with errno set on failure (EINVAL: @where not understood;
 * ETIMEDOUT: no answer; EPROTO: no common protocol version or a bad
 * answer; what connect/open said otherwise); hvk_last_error() says more.
 */
struct hvk *hvk_open(const char *where);
struct hvk *hvk_open_with(const char *where, const struct hvk_options *o);
/*
 * Close the connection and free everything. With HVW_CAP_SESSION it first
 * says BYE (at most 5 s), so the hypervisor destroys this connection's VMs
 * at once; nothing else is sent. errno and hvk_last_error() stay as they
 * were.
 */
void hvk_close(struct hvk *h);

/*
 * The last failure of a call in this thread, as one line naming what was
 * attempted; "" if none yet. Valid until the thread's next failing call.
 */
const char *hvk_last_error(void);

/* From the handshake. */
const char *hvk_identity(const struct hvk *h);
uint32_t hvk_protocol_version(const struct hvk *h);
uint32_t hvk_flags(const struct hvk *h); /* HVW_HELLO_FLAG_* */
uint64_t hvk_caps(const struct hvk *h);	 /* HVW_CAP_* */

/*
 * Request timeout in ms (< 0 or 0: wait for ever); default 30 s. On a
 * serial device the time a request and the largest answer (64 KiB) take
 * at its baud rate is added (5.7 s at 115200).
 */
void hvk_set_timeout(struct hvk *h, int ms);
/* Timeout of KVM_RUN alone (a guest may run long); default: the same. */
void hvk_set_run_timeout(struct hvk *h, int ms);
/*
 * How long the line must stay silent, with part of a frame candidate
 * buffered, before the candidate is taken for garbage (a false start
 * whose length field promised more bytes); default 1000 ms.
 */
void hvk_set_idle_resync_ms(struct hvk *h, int ms);
/* HVK_SYNC_* bits; default both. */
void hvk_set_sync(struct hvk *h, unsigned int dirs);
unsigned int hvk_get_sync(const struct hvk *h);

struct hvk_stats {
	uint64_t requests;	/* request frames sent */
	uint64_t responses;	/* answers matched to their request */
	uint64_t error_answers; /* of which HVW_ERROR */
	uint64_t bytes_out, bytes_in;
	uint64_t garbage_bytes;	     /* skipped by the decoder */
	uint64_t crc_errors;	     /* frame candidates with a bad CRC */
	uint64_t idle_resyncs;	     /* candidates dropped after the line went idle */
	uint64_t stale_frames;	     /* frames skipped: not the pending seq */
	uint64_t unsolicited_errors; /* HVW_ERROR with seq 0 */
	uint64_t timeouts;
	uint64_t runs;			    /* KVM_RUN requests */
	uint64_t push_frames, pages_pushed; /* MEM_WRITE by the sync */
	uint64_t pull_frames, pages_pulled; /* MEM_READ by the sync */
	uint64_t pages_pulled_changed;	    /* fetched pages that differed locally */
	uint64_t kicks;			    /* KICK frames sent */
	uint64_t kicks_early;		    /* kicks sent as immediate_exit instead */
	uint64_t closes;		    /* VMs closed in the hypervisor */
	uint64_t changed_frames;	    /* MEM_CHANGED requests by the sync */
	uint64_t pages_changed;		    /* pages they brought back */
	uint64_t zero_pages_changed;	    /* of which now all zero (no bytes sent) */
	uint64_t packed_frames;		    /* records and pages sent or taken packed */
	int64_t packed_saved;		    /* bytes packing kept off the line */
};

void hvk_stats(struct hvk *h, struct hvk_stats *out);

/* ---- The KVM interface ---- */

/* A new pseudo-fd standing for an open /dev/kvm; -1 (EMFILE) if full. */
int hvk_kvm_fd(struct hvk *h);
/* Whether @fd is in the pseudo-fd range (it may still be closed). */
bool hvk_is_pseudo_fd(int fd);

/*
 * ioctl(2) on a pseudo-fd: the result, or -1 with errno (EBADF for a
 * pseudo-fd that is not open, the hypervisor's errno, or a transport
 * failure: ETIMEDOUT, ECONNRESET, EPROTO, EIO). The third argument is an
 * integer for requests without a record, a pointer otherwise.
 * KVM_CREATE_VM and KVM_CREATE_VCPU return new pseudo-fds.
 */
int hvk_ioctl(struct hvk *h, int fd, unsigned long request, ...);

/*
 * The vCPU's struct kvm_run (HVK_RUN_MAP_SIZE bytes, page aligned, owned
 * by the library until hvk_close()); @len at most HVK_RUN_MAP_SIZE.
 * MAP_FAILED with errno (EBADF, ENODEV: not a vCPU, EINVAL) otherwise.
 */
void *hvk_mmap(struct hvk *h, int vcpu_fd, size_t len);

/*
 * What a pseudo-fd stands for: 0 (system), 1 (VM), 2 (vCPU), with the
 * hypervisor's VM handle and vCPU id in *@vm and *@vcpu (either may be
 * NULL); -1 (EBADF) if it is not open.
 */
int hvk_fd_target(struct hvk *h, int fd, uint32_t *vm, uint32_t *vcpu);

/*
 * Close a pseudo-fd. Closing a VM's fd destroys the VM in the hypervisor
 * (HVW_CLOSE: its vCPUs, memory slots and EPT go), as dropping the last
 * reference does on Linux, and frees its slots' shadows; its vCPU fds stay
 * open but every call on them fails with EBADF (their kvm_run mappings
 * stay valid until hvk_close()). Closing a /dev/kvm or vCPU fd sends
 * nothing. Without HVW_CAP_CLOSE the VM is only forgotten locally. The fd
 * is closed even when the hypervisor's answer is an error (-1 with errno,
 * as close(2) does).
 */
int hvk_close_fd(struct hvk *h, int fd);

/*
 * HVW_CLOSE for a VM handle (one left by an earlier connection, say);
 * EBADF if the hypervisor has no such VM, EOPNOTSUPP without HVW_CAP_CLOSE.
 */
int hvk_close_vm_handle(struct hvk *h, uint32_t handle);

/* ---- Sessions (HVW_CAP_SESSION) ----
 *
 * Every VM a connection makes belongs to its session in the hypervisor,
 * which destroys them when the session ends: hvk_close() (a BYE), or when
 * the next controller says HELLO if this one died without closing.
 */

/*
 * End the session now (HVW_BYE): the hypervisor destroys every VM it
 * made, and the library forgets them (their fds fail with EBADF, as after
 * hvk_close_fd() of the VM). The connection stays open; what follows
 * belongs to a new session. The number of VMs destroyed, or -1 with errno
 * (EOPNOTSUPP without HVW_CAP_SESSION, or a transport failure).
 */
int hvk_end_session(struct hvk *h);

struct hvw_vm_entry; /* abi/hvwire.h */

struct hvk_vm_list {
	uint32_t session;    /* this connection's */
	uint32_t max_vms;    /* the hypervisor's VM table */
	uint32_t max_vcpus;  /* per VM (KVM_CAP_MAX_VCPUS) */
	uint64_t free_pages; /* 4 KiB pages its allocator has free */
};

/*
 * The hypervisor's live VMs (HVW_LIST_REQ): the first @max entries, in
 * handle order, into @vms (owner HVW_OWNER_BOOT, or the session that made
 * it), and the head into *@info (may be NULL). Returns how many VMs there
 * are (which may be more than @max), or -1 with errno (EOPNOTSUPP without
 * HVW_CAP_SESSION).
 */
int hvk_list_vms(struct hvk *h, struct hvk_vm_list *info, struct hvw_vm_entry *vms,
		 unsigned int max);

/*
 * Stop the KVM_RUN of @vcpu_fd in progress, as a signal stops ioctl(KVM_RUN)
 * on Linux: that call returns -1 with errno EINTR and exit_reason
 * KVM_EXIT_INTR. Callable from any thread and from a signal handler: it
 * takes no lock, allocates nothing, leaves errno alone on success and sends
 * one small HVW_KICK frame (seq 0, never answered), or hands it to the
 * thread writing to the line at that moment. A kick while the KVM_RUN is
 * still pushing pages makes the run start with immediate_exit; a kick while
 * the vCPU is not in KVM_RUN does nothing (as on Linux: use immediate_exit
 * for that race). A kick that arrives after the run ended for another
 * reason is dropped. 0, or -1 with errno: EBADF (not an open vCPU fd, or
 * its VM was closed), EOPNOTSUPP (no HVW_CAP_KICK), or the write's errno.
 * Do not close the vCPU fd while another thread may kick it. Sets no
 * hvk_last_error() message.
 */
int hvk_kick(struct hvk *h, int vcpu_fd);

/*
 * A thread waiting in KVM_RUN calls @fn (from that thread, about every
 * HVK_RUN_CHECK_MS ms and whenever its wait wakes) and kicks its own run
 * once @fn returns true: the way a signal to the thread ends ioctl(KVM_RUN)
 * on Linux (-1/EINTR, KVM_EXIT_INTR, unless the run returned first). NULL
 * (the default) turns it off. The preload shim counts the signals each
 * thread takes.
 */
#define HVK_RUN_CHECK_MS 20
void hvk_set_run_interrupt_check(struct hvk *h, bool (*fn)(void));

/* ---- Guest memory ---- */

/*
 * The coherence steps KVM_RUN performs, on demand: @dirs HVK_SYNC_* for
 * the VM of @fd (a VM or vCPU pseudo-fd). 0 or -1 with errno.
 */
int hvk_sync(struct hvk *h, int fd, unsigned int dirs);
/*
 * Read back the slot pages overlapping [gpa, gpa + len) into local memory
 * and the shadow (with MEM_CHANGED: only those that differ from the
 * shadow, so local changes not pushed yet stay); parts no slot covers are
 * skipped. 0 or -1 with errno.
 */
int hvk_pull(struct hvk *h, int fd, uint64_t gpa, uint64_t len);

/* Raw MEM_WRITE / MEM_READ (split in 64 KiB frames); no local copies. */
int hvk_mem_write(struct hvk *h, int vm_fd, uint64_t gpa, const void *buf, size_t len);
int hvk_mem_read(struct hvk *h, int vm_fd, uint64_t gpa, void *buf, size_t len);

/* ---- Frames, without waiting ---- */

/*
 * For programs (tests, tools) that speak abi/hvwire.h themselves and want
 * several requests in flight: hvk_send_frame() sends one frame of @type
 * with @len payload bytes under a fresh seq, stores the seq in *@seq (if
 * not NULL) and returns without waiting; the answer is kept for
 * hvk_wait_frame(). A KICK goes out with seq 0 and nothing is kept (it is
 * never answered). Frames go out whole, between the library's own, and
 * their answers are told apart by seq. 0, or -1 with errno.
 *
 * hvk_wait_frame() waits up to @timeout_ms (< 0: the request timeout; 0:
 * only what has arrived already) for the answer to @seq, then copies its
 * type to *@type and up to @cap payload bytes to @buf and forgets the
 * request: the payload length, or -1 with errno: ETIMEDOUT (no answer
 * yet; the request is still kept, ask again), ENOENT (no such request),
 * EMSGSIZE (the answer was longer than @cap: cut), or the line's failure.
 * One thread collects a given seq. Uncollected answers are freed by
 * hvk_close().
 */
int hvk_send_frame(struct hvk *h, uint8_t type, const void *payload, uint32_t len, uint32_t *seq);
int hvk_wait_frame(struct hvk *h, uint32_t seq, int timeout_ms, uint8_t *type, void *buf,
		   uint32_t cap);

/* HVW_POWER_OFF: the hypervisor ends its run. 0 or -1 with errno. */
int hvk_power_off(struct hvk *h);

/* ---- Names, for messages ---- */

/* "ENODEV" for 19; "E<n>" for a value it does not know. */
const char *hvk_errno_name(int err);
/* "IO", "HLT", ... for KVM_EXIT_*; NULL for a value it does not know. */
const char *hvk_exit_name(uint32_t reason);
/* "KVM_RUN" etc. for the request numbers abi/kvm.h defines; else NULL. */
const char *hvk_ioctl_name(unsigned long request);

#endif
