// SPDX-License-Identifier: MIT
/*
 * libhvkvm against a fake hypervisor: a thread on the other end of a
 * socketpair (or of a TCP / Unix socket) that decodes the library's frames
 * with abi/hvwire.c and answers them, and can misbehave on request
 * (silence, late answers, garbage, false frame starts, bad CRCs, stray
 * sequence numbers, unsolicited errors, a closed line). Like the real
 * hypervisor it queues the requests that come while a KVM_RUN spins and
 * answers them after it, -EBUSY beyond its queue.
 *
 * Prints "PASS name" / "FAIL name: why" per test, then "N passed, N failed".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "abi/hvpack.h"
#include "abi/hvwire.h"
#include "abi/kvm.h"
#include "abi/kvm_ioctls.h"
#include "tools/libhvkvm.h"

/* ---- A tiny test framework ---- */

static char why[512];

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			snprintf(why, sizeof(why), "%s:%d: %s", __FILE__, __LINE__, #c);           \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_) {                                                                    \
			snprintf(why, sizeof(why),                                                 \
				 "%s:%d: %s == %s (%lld vs %lld, 0x%llx vs 0x%llx)", __FILE__,     \
				 __LINE__, #a, #b, a_, b_, a_, b_);                                \
			return;                                                                    \
		}                                                                                  \
	} while (0)

/* A failing call: -1 and this errno. */
#define CHECK_ERR(call, err)                                                                       \
	do {                                                                                       \
		errno = 0;                                                                         \
		long r_ = (long)(call);                                                            \
		int e_ = errno;                                                                    \
		if (r_ != -1 || e_ != (err)) {                                                     \
			snprintf(why, sizeof(why), "%s:%d: %s gave %ld errno %s, expected -1 %s",  \
				 __FILE__, __LINE__, #call, r_, hvk_errno_name(e_),                \
				 hvk_errno_name(err));                                             \
			return;                                                                    \
		}                                                                                  \
	} while (0)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- The fake hypervisor ---- */

#define PEER_VM	   3		 /* the VM handle it gives out */
#define PEER_MEM   (1024 * 1024) /* the most guest memory it backs */
#define RUN_SIZE   ((uint32_t)sizeof(struct kvm_run))
#define MAX_WRITES 64
#define PEER_QUEUE 8 /* requests held while a run spins */

struct peer {
	int fd, listen_fd;
	pthread_t th;
	pthread_mutex_t mu;

	/* Set up before hvk_open(). */
	bool novmx;
	bool legacy;		/* only the version-1 caps: no KICK, CLOSE, MEM_CHANGED */
	bool sessions;		/* HVW_CAP_SESSION: BYE and LIST */
	bool packed;		/* HVW_CAP_PACKED: takes packed ioctl records (answers none) */
	uint32_t hello_version; /* answered version; 0: HVW_VERSION */
	int drop_hellos;	/* leave the first N HELLOs unanswered */

	/* One-shot misbehaviour for the next answer (test thread sets). */
	int silent;	   /* do not answer */
	int delay_ms;	   /* answer late */
	int garbage;	   /* that many junk bytes first */
	bool false_start;  /* a frame header whose length never arrives */
	bool bad_crc;	   /* a copy with a broken CRC first */
	bool wrong_seq;	   /* a copy with another seq first */
	bool unsolicited;  /* an HVW_ERROR with seq 0 first */
	bool error_answer; /* HVW_ERROR -EINVAL instead of the answer */
	bool close_conn;   /* close the line instead of answering */

	/* KVM_RUN does not return until a KICK for its vCPU (test thread sets). */
	bool spin;
	bool spinning;
	uint32_t spin_seq, spin_vcpu;
	/* Requests that came while it spun, served after (as the hypervisor does). */
	int queue_max; /* beyond: -EBUSY at once; 0: PEER_QUEUE */
	unsigned int nqueued;
	struct {
		uint8_t type;
		uint32_t seq, len;
		uint8_t *payload;
	} queued[PEER_QUEUE];
	unsigned int queued_total, busy_total;
	unsigned int runs_overlapping; /* a KVM_RUN of the spinning vCPU came */
	int touch_page;		       /* >= 0: each later run fills this page ... */
	uint8_t touch_val;	       /* ... with this byte (0: zeroes it) */

	/* What it saw. */
	char client[HVW_HELLO_CLIENT_LEN];
	unsigned int hellos, ioctls, mem_writes, mem_reads, runs, power_offs;
	unsigned int kicks, kicks_stray, closes, changed_reqs, tracked_writes;
	unsigned int byes, lists, vms_made; /* vms_made: KVM_CREATE_VMs since the last BYE */
	unsigned int packed_ioctls;	    /* last and last_arg hold them unpacked */
	uint32_t last_close;
	struct hvw_ioctl_req_hdr last;
	uint8_t last_arg[HVW_MAX_ARG];
	struct {
		uint64_t gpa;
		uint32_t len;
	} writes[MAX_WRITES];
	struct kvm_run run_in;	 /* the caller's kvm_run of the last KVM_RUN */
	uint8_t run_extra[4096]; /* the bytes after it */
	uint32_t run_extra_len;

	/* Its state. */
	bool slot_used;
	uint64_t slot_gpa, slot_size;
	uint8_t mem[PEER_MEM];
	uint8_t known[PEER_MEM]; /* the controller's copy, as tracked */
	int run_step;
	_Alignas(8) uint8_t vrun[HVK_RUN_MAP_SIZE]; /* the vCPU's kvm_run and I/O page */

	struct hvw_decoder dec;
	uint8_t rx[4096];
	uint8_t tx[HVW_MAX_FRAME];
	uint8_t extra[HVW_MAX_FRAME];
	_Alignas(8) uint8_t arg[HVW_MAX_ARG];
	uint8_t unpacked[HVW_MAX_ARG];
};

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = (v << 8) | p[n];
	return v;
}

static void send_all(struct peer *p, const uint8_t *b, size_t n)
{
	while (n && p->fd >= 0) {
		ssize_t w = send(p->fd, b, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		b += w;
		n -= (size_t)w;
	}
}

/* Re-seal a frame copy after changing it. */
static void reseal(uint8_t *f, size_t n)
{
	put32(f + n - HVW_CRC_LEN, hvw_crc32c(f, n - HVW_CRC_LEN));
}

/* Send the @n-byte answer in p->tx, misbehaving as asked. Lock held. */
static void emit(struct peer *p, size_t n)
{
	static uint32_t lcg = 12345;
	uint8_t junk[64];
	size_t m;

	if (p->close_conn) {
		p->close_conn = false;
		shutdown(p->fd, SHUT_RDWR);
		close(p->fd);
		p->fd = -1;
		return;
	}
	if (p->silent) {
		p->silent--;
		return;
	}
	if (p->delay_ms) {
		int ms = p->delay_ms;

		p->delay_ms = 0;
		pthread_mutex_unlock(&p->mu);
		usleep((useconds_t)ms * 1000);
		pthread_mutex_lock(&p->mu);
	}
	if (p->error_answer) {
		uint32_t seq = (uint32_t)get_le(p->tx + 4, 4);

		p->error_answer = false;
		n = hvw_encode_error(p->tx, sizeof(p->tx), seq, -EINVAL, "refused on purpose");
	}
	if (p->unsolicited) {
		p->unsolicited = false;
		m = hvw_encode_error(p->extra, sizeof(p->extra), 0, -EIO, "unsolicited");
		send_all(p, p->extra, m);
	}
	while (p->garbage > 0) {
		m = p->garbage < (int)sizeof(junk) ? (size_t)p->garbage : sizeof(junk);
		for (size_t i = 0; i < m; i++) {
			lcg = lcg * 1103515245u + 12345u;
			junk[i] = (uint8_t)(lcg >> 16);
			if (junk[i] == HVW_MAGIC1)
				junk[i] = 0x55; /* an 'H' may occur, never "HV" */
		}
		send_all(p, junk, m);
		p->garbage -= (int)m;
	}
	if (p->bad_crc) {
		p->bad_crc = false;
		memcpy(p->extra, p->tx, n);
		p->extra[n - 1] ^= 0x5a;
		send_all(p, p->extra, n);
	}
	if (p->wrong_seq) {
		p->wrong_seq = false;
		memcpy(p->extra, p->tx, n);
		put32(p->extra + 4, (uint32_t)get_le(p->tx + 4, 4) + 777);
		reseal(p->extra, n);
		send_all(p, p->extra, n);
	}
	if (p->false_start) {
		uint8_t hdr[HVW_HDR_LEN];

		p->false_start = false;
		hvw_put_header(hdr, HVW_IOCTL_RESP, 99, 2000);
		send_all(p, hdr, sizeof(hdr));
	}
	send_all(p, p->tx, n);
}

static size_t answer_result(struct peer *p, uint32_t seq, int64_t result, const void *out,
			    uint32_t len)
{
	struct hvw_ioctl_resp r = {.result = result, .arg = out, .arg_len = len};

	return hvw_encode_ioctl_resp(p->tx, sizeof(p->tx), seq, &r);
}

static size_t peer_run(struct peer *p, uint32_t seq, const uint8_t *arg, uint32_t len)
{
	struct kvm_run *run = (struct kvm_run *)p->vrun;
	uint32_t out = RUN_SIZE;
	int64_t result = 0;

	p->runs++;
	if (len < RUN_SIZE)
		return answer_result(p, seq, -EFAULT, NULL, 0);
	memcpy(&p->run_in, arg, RUN_SIZE);
	p->run_extra_len = len - RUN_SIZE;
	memcpy(p->run_extra, arg + RUN_SIZE, p->run_extra_len);
	run->request_interrupt_window = p->run_in.request_interrupt_window;
	run->immediate_exit = p->run_in.immediate_exit;
	memset(&run->padding, 0, sizeof(run->padding));
	if (p->spin) {
		/* Answered when the KICK comes (peer_kick). */
		p->spinning = true;
		p->spin_seq = seq;
		p->spin_vcpu = p->last.vcpu;
		return 0;
	}
	if (p->touch_page >= 0 && p->slot_used &&
	    (uint64_t)(p->touch_page + 1) * 4096 <= p->slot_size)
		memset(p->mem + p->touch_page * 4096, p->touch_val, 4096);
	switch (p->run_step++) {
	case 0: /* OUT "abc" to COM1 as string I/O */
		run->exit_reason = KVM_EXIT_IO;
		run->io.direction = KVM_EXIT_IO_OUT;
		run->io.size = 1;
		run->io.port = 0x3f8;
		run->io.count = 3;
		run->io.data_offset = 4096;
		memcpy(p->vrun + 4096, "abc", 3);
		out += 3;
		break;
	case 1: /* IN of two words */
		run->exit_reason = KVM_EXIT_IO;
		run->io.direction = KVM_EXIT_IO_IN;
		run->io.size = 2;
		run->io.port = 0x510;
		run->io.count = 2;
		run->io.data_offset = 4096;
		break;
	case 2: /* the guest writes page 3, then halts */
		if (p->slot_used && p->slot_size > 4 * 4096)
			memset(p->mem + 3 * 4096, 0xa5, 4096);
		run->exit_reason = KVM_EXIT_HLT;
		break;
	default:
		if (p->run_in.immediate_exit) {
			run->exit_reason = KVM_EXIT_INTR;
			result = -EINTR;
		} else {
			run->exit_reason = KVM_EXIT_HLT;
		}
		break;
	}
	memcpy(p->arg, p->vrun, RUN_SIZE);
	if (out > RUN_SIZE)
		memcpy(p->arg + RUN_SIZE, p->vrun + run->io.data_offset, out - RUN_SIZE);
	return answer_result(p, seq, result, p->arg, out);
}

static bool in_slot(struct peer *p, uint64_t gpa, uint64_t len);
static size_t peer_handle(struct peer *p, const struct hvw_frame *f);

/* A KICK: the spinning run returns EINTR with KVM_EXIT_INTR; never answered. */
static size_t peer_kick(struct peer *p, const struct hvw_frame *f)
{
	struct kvm_run *run = (struct kvm_run *)p->vrun;
	struct hvw_kick k;

	if (hvw_parse_kick(f->payload, f->len, &k) < 0 || f->seq != 0)
		return hvw_encode_error(p->tx, sizeof(p->tx), 0, -EINVAL, "malformed KICK");
	if (!p->spinning || k.vm != PEER_VM || k.vcpu != p->spin_vcpu) {
		p->kicks_stray++;
		return 0;
	}
	p->kicks++;
	p->spinning = false;
	p->spin = false;
	run->exit_reason = KVM_EXIT_INTR;
	memcpy(p->arg, p->vrun, RUN_SIZE);
	return answer_result(p, p->spin_seq, -EINTR, p->arg, RUN_SIZE);
}

/* MEM_CHANGED: pages of the slot that differ from the tracked copy. */
static size_t peer_mem_changed(struct peer *p, const struct hvw_frame *f)
{
	struct hvw_mem_changed_req r;
	uint8_t *body = p->tx + HVW_HDR_LEN + HVW_MEM_CHANGED_HEAD_LEN;
	uint32_t used = HVW_MEM_CHANGED_HEAD_LEN, count = 0;
	uint64_t gpa;
	static const uint8_t zero[4096];

	if (hvw_parse_mem_changed_req(f->payload, f->len, &r) < 0)
		return hvw_encode_error(p->tx, sizeof(p->tx), f->seq, -EINVAL, "mem_changed");
	if (r.vm != PEER_VM)
		return hvw_encode_error(p->tx, sizeof(p->tx), f->seq, -EBADF, "no such VM");
	p->changed_reqs++;
	for (gpa = r.gpa; gpa < r.gpa + r.len; gpa += 4096) {
		uint8_t *m, *k;
		bool z;

		if (!in_slot(p, gpa, 4096))
			continue;
		m = p->mem + (gpa - p->slot_gpa);
		k = p->known + (gpa - p->slot_gpa);
		if (!memcmp(m, k, 4096))
			continue;
		z = !memcmp(m, zero, 4096);
		if (used + 16 + (z ? 0 : 4096) > HVW_MAX_ARG)
			break;
		hvw_mem_changed_put_entry(body, gpa, z ? HVW_PAGE_ZERO : 0, 0);
		if (!z)
			memcpy(body + 16, m, 4096);
		body += 16 + (z ? 0 : 4096);
		used += 16 + (z ? 0 : 4096);
		count++;
		memcpy(k, m, 4096);
	}
	hvw_mem_changed_put_head(p->tx + HVW_HDR_LEN, gpa < r.gpa + r.len ? gpa : r.gpa + r.len,
				 count);
	return hvw_encode(p->tx, sizeof(p->tx), HVW_MEM_CHANGED_RESP, f->seq, p->tx + HVW_HDR_LEN,
			  used);
}

static size_t peer_ioctl(struct peer *p, const struct hvw_frame *f)
{
	struct hvw_ioctl_req rq;
	const struct hvw_ioctl_req_hdr *h = &rq.hdr;
	uint64_t v;
	int err = hvw_parse_ioctl_req(f->payload, f->len, &rq);

	if (err < 0)
		return hvw_encode_error(p->tx, sizeof(p->tx), f->seq, err, "malformed IOCTL");
	if (rq.hdr.flags & HVW_IOCTL_PACKED) {
		long n = hvp_unpack(p->unpacked, sizeof(p->unpacked), rq.arg, rq.hdr.arg_len);

		if (!p->packed || n < 0)
			return hvw_encode_error(p->tx, sizeof(p->tx), f->seq, -EINVAL, "packed");
		p->packed_ioctls++;
		rq.arg = p->unpacked;
		rq.hdr.arg_len = (uint32_t)n;
		rq.hdr.flags &= ~HVW_IOCTL_PACKED;
	}
	p->ioctls++;
	p->last = rq.hdr;
	memcpy(p->last_arg, rq.arg, h->arg_len);
	memcpy(p->arg, rq.arg, h->arg_len);
	v = h->arg_len <= 8 ? get_le(rq.arg, h->arg_len) : 0;

	if (h->nr == KVM_RUN && h->target == HVW_TARGET_VCPU)
		return peer_run(p, f->seq, rq.arg, h->arg_len);
	switch (h->nr) {
	case KVM_GET_API_VERSION:
		return answer_result(p, f->seq, KVM_API_VERSION, NULL, 0);
	case KVM_CHECK_EXTENSION:
		return answer_result(p, f->seq, v == KVM_CAP_USER_MEMORY ? 1 : 0, NULL, 0);
	case KVM_GET_VCPU_MMAP_SIZE:
		return answer_result(p, f->seq, HVK_RUN_MAP_SIZE, NULL, 0);
	case KVM_CREATE_VM:
		if (!p->novmx)
			p->vms_made++;
		return answer_result(p, f->seq, p->novmx ? -ENODEV : PEER_VM, NULL, 0);
	case KVM_CREATE_VCPU:
		if (h->target != HVW_TARGET_VM || h->vm != PEER_VM)
			return answer_result(p, f->seq, -EBADF, NULL, 0);
		return answer_result(p, f->seq, (int64_t)v, NULL, 0);
	case KVM_SET_USER_MEMORY_REGION: {
		struct kvm_userspace_memory_region m;

		if (h->arg_len != kvm_ioctl_record_len(h->nr, rq.arg, h->arg_len))
			return answer_result(p, f->seq, -EFAULT, NULL, 0);
		memcpy(&m, rq.arg, sizeof(m));
		if (m.memory_size > PEER_MEM || m.slot != 0)
			return answer_result(p, f->seq, -EINVAL, NULL, 0);
		p->slot_used = m.memory_size != 0;
		p->slot_gpa = m.guest_phys_addr;
		p->slot_size = m.memory_size;
		return answer_result(p, f->seq, 0, NULL, 0);
	}
	case KVM_X86_SET_MSR_FILTER: /* the struct and its bitmaps, as marshalled */
		if (h->arg_len != kvm_ioctl_record_len(h->nr, rq.arg, h->arg_len))
			return answer_result(p, f->seq, -EFAULT, NULL, 0);
		return answer_result(p, f->seq, 0, NULL, 0);
	case KVM_GET_REGS: {
		struct kvm_regs r = {.rip = 0x1234, .rax = 0xfeed};

		return answer_result(p, f->seq, 0, &r, sizeof(r));
	}
	case KVM_SET_REGS:
		return answer_result(p, f->seq, 0, NULL, 0);
	case KVM_GET_MSRS: {
		struct kvm_msrs *m = (struct kvm_msrs *)p->arg;

		if (h->arg_len != kvm_ioctl_record_len(h->nr, p->arg, h->arg_len))
			return answer_result(p, f->seq, -EFAULT, NULL, 0);
		for (uint32_t i = 0; i < m->nmsrs; i++)
			m->entries[i].data = m->entries[i].index * 2ull;
		return answer_result(p, f->seq, m->nmsrs, p->arg, h->arg_len);
	}
	case KVM_GET_SUPPORTED_CPUID: {
		struct kvm_cpuid2 *c = (struct kvm_cpuid2 *)p->arg;

		if (c->nent < 2) {
			c->nent = 2;
			return answer_result(p, f->seq, -E2BIG, p->arg, h->arg_len);
		}
		c->nent = 2;
		c->entries[0].function = 0;
		c->entries[1].function = 1;
		return answer_result(p, f->seq, 0, p->arg, h->arg_len);
	}
	default:
		/* Unknown: ENOTTY, with the record back if it is read. */
		if (HV_IOC_DIR(h->nr) & HV_IOC_READ)
			return answer_result(p, f->seq, -ENOTTY, p->arg, h->arg_len);
		return answer_result(p, f->seq, -ENOTTY, NULL, 0);
	}
}

static bool in_slot(struct peer *p, uint64_t gpa, uint64_t len)
{
	return p->slot_used && gpa >= p->slot_gpa && len <= p->slot_size &&
	       gpa - p->slot_gpa <= p->slot_size - len;
}

static size_t peer_handle(struct peer *p, const struct hvw_frame *f)
{
	struct hvw_hello_req hq;
	struct hvw_hello_resp hr = {0};
	struct hvw_mem_write w;
	struct hvw_mem_read_req r;

	switch (f->type) {
	case HVW_HELLO_REQ:
		if (hvw_parse_hello_req(f->payload, f->len, &hq) < 0)
			return hvw_encode_error(p->tx, sizeof(p->tx), f->seq, -EINVAL, "hello");
		p->hellos++;
		memcpy(p->client, hq.client, sizeof(p->client));
		if (p->drop_hellos > 0) {
			p->drop_hellos--;
			return 0;
		}
		hr.version = p->hello_version ? p->hello_version : HVW_VERSION;
		hr.flags = p->novmx ? 0 : HVW_HELLO_FLAG_VMX;
		hr.caps = HVW_CAP_KVM_IOCTL | HVW_CAP_MEMORY;
		if (!p->legacy)
			hr.caps |= HVW_CAP_KICK | HVW_CAP_CLOSE | HVW_CAP_MEM_CHANGED;
		if (p->sessions)
			hr.caps |= HVW_CAP_SESSION;
		if (p->packed)
			hr.caps |= HVW_CAP_PACKED;
		snprintf(hr.identity, sizeof(hr.identity), "fake hv vmx=%s",
			 p->novmx ? "no" : "yes");
		return hvw_encode_hello_resp(p->tx, sizeof(p->tx), f->seq, &hr);
	case HVW_IOCTL_REQ:
		return peer_ioctl(p, f);
	case HVW_MEM_WRITE:
		if (hvw_parse_mem_write(f->payload, f->len, &w) < 0)
			return hvw_encode_error(p->tx, sizeof(p->tx), f->seq, -EINVAL, "mem_write");
		if (w.vm != PEER_VM)
			return answer_result(p, f->seq, -EBADF, NULL, 0);
		if (!in_slot(p, w.gpa, w.len))
			return answer_result(p, f->seq, -EFAULT, NULL, 0);
		memcpy(p->mem + (w.gpa - p->slot_gpa), w.data, w.len);
		if (w.flags & HVW_MEM_WRITE_TRACK) {
			memcpy(p->known + (w.gpa - p->slot_gpa), w.data, w.len);
			p->tracked_writes++;
		}
		if (p->mem_writes < MAX_WRITES) {
			p->writes[p->mem_writes].gpa = w.gpa;
			p->writes[p->mem_writes].len = w.len;
		}
		p->mem_writes++;
		return answer_result(p, f->seq, 0, NULL, 0);
	case HVW_MEM_READ_REQ:
		if (hvw_parse_mem_read_req(f->payload, f->len, &r) < 0)
			return hvw_encode_error(p->tx, sizeof(p->tx), f->seq, -EINVAL, "mem_read");
		if (r.vm != PEER_VM)
			return hvw_encode_error(p->tx, sizeof(p->tx), f->seq, -EBADF, "no such VM");
		if (!in_slot(p, r.gpa, r.len))
			return hvw_encode_error(p->tx, sizeof(p->tx), f->seq, -EFAULT, "no slot");
		p->mem_reads++;
		return hvw_encode(p->tx, sizeof(p->tx), HVW_MEM_READ_RESP, f->seq,
				  p->mem + (r.gpa - p->slot_gpa), r.len);
	case HVW_POWER_OFF:
		p->power_offs++;
		return answer_result(p, f->seq, 0, NULL, 0);
	case HVW_KICK:
		return peer_kick(p, f);
	case HVW_CLOSE: {
		struct hvw_close c;

		if (hvw_parse_close(f->payload, f->len, &c) < 0)
			return hvw_encode_error(p->tx, sizeof(p->tx), f->seq, -EINVAL, "close");
		p->closes++;
		p->last_close = c.vm;
		if (c.vm != PEER_VM)
			return answer_result(p, f->seq, -EBADF, NULL, 0);
		p->slot_used = false;
		memset(p->mem, 0, sizeof(p->mem));
		memset(p->known, 0, sizeof(p->known));
		return answer_result(p, f->seq, 0, NULL, 0);
	}
	case HVW_MEM_CHANGED_REQ:
		return peer_mem_changed(p, f);
	case HVW_BYE: {
		struct hvw_bye b;
		unsigned int n = p->vms_made;

		if (!p->sessions || hvw_parse_bye(f->payload, f->len, &b) < 0)
			return hvw_encode_error(p->tx, sizeof(p->tx), f->seq, -EINVAL, "bye");
		p->byes++;
		p->vms_made = 0;
		p->slot_used = false;
		return answer_result(p, f->seq, n, NULL, 0);
	}
	case HVW_LIST_REQ: {
		static uint8_t body[HVW_LIST_ENTRY_LEN];
		struct hvw_vm_entry e = {.handle = PEER_VM, .owner = 7, .vcpus = 2, .memory = 4096};
		struct hvw_list_resp r = {
		    .session = 7, .max_vms = 64, .max_vcpus = 64, .body = body};
		struct hvw_list_req q;

		if (!p->sessions || hvw_parse_list_req(f->payload, f->len, &q) < 0)
			return hvw_encode_error(p->tx, sizeof(p->tx), f->seq, -EINVAL, "list");
		p->lists++;
		snprintf(e.name, sizeof(e.name), "vm%u", PEER_VM);
		hvw_list_put_entry(body, &e);
		r.count = p->vms_made ? 1 : 0;
		r.free_pages = 1000;
		return hvw_encode_list_resp(p->tx, sizeof(p->tx), f->seq, &r);
	}
	default:
		return hvw_encode_error(p->tx, sizeof(p->tx), f->seq, -ENOTTY, "unknown type");
	}
}

/* A frame that came while a run spins: held for later, or -EBUSY at once. */
static size_t peer_hold(struct peer *p, const struct hvw_frame *f)
{
	struct hvw_ioctl_req rq;
	struct hvw_close c;
	int max = p->queue_max ? p->queue_max : PEER_QUEUE;

	if (f->type == HVW_IOCTL_REQ && hvw_parse_ioctl_req(f->payload, f->len, &rq) == 0 &&
	    rq.hdr.nr == KVM_RUN && rq.hdr.vcpu == p->spin_vcpu)
		p->runs_overlapping++;
	if ((int)p->nqueued >= max) {
		p->busy_total++;
		return hvw_encode_error(p->tx, sizeof(p->tx), f->seq, -EBUSY, "queue full");
	}
	p->queued[p->nqueued].type = f->type;
	p->queued[p->nqueued].seq = f->seq;
	p->queued[p->nqueued].len = f->len;
	p->queued[p->nqueued].payload = malloc(f->len ? f->len : 1);
	memcpy(p->queued[p->nqueued].payload, f->payload, f->len);
	p->nqueued++;
	p->queued_total++;
	/* A CLOSE of the VM stops its run, as a KICK would; it is served after. */
	if (f->type == HVW_CLOSE && hvw_parse_close(f->payload, f->len, &c) == 0 &&
	    c.vm == PEER_VM) {
		struct hvw_kick k = {.vm = PEER_VM, .vcpu = p->spin_vcpu};
		uint8_t kf[HVW_FRAME_SIZE(HVW_KICK_LEN)];
		struct hvw_frame kick = {
		    .type = HVW_KICK, .len = HVW_KICK_LEN, .payload = kf + HVW_HDR_LEN};

		hvw_encode_kick(kf, sizeof(kf), 0, &k);
		return peer_kick(p, &kick);
	}
	return 0;
}

/* Serve the held requests, oldest first, until one starts spinning again. */
static void peer_drain(struct peer *p)
{
	while (p->nqueued && !p->spinning && p->fd >= 0) {
		struct hvw_frame f = {.type = p->queued[0].type,
				      .seq = p->queued[0].seq,
				      .len = p->queued[0].len,
				      .payload = p->queued[0].payload};
		uint8_t *mem = p->queued[0].payload;
		size_t m;

		p->nqueued--;
		memmove(&p->queued[0], &p->queued[1], p->nqueued * sizeof(p->queued[0]));
		m = peer_handle(p, &f);
		free(mem);
		if (m)
			emit(p, m);
	}
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	struct hvw_frame f;
	ssize_t n;
	size_t off, m;

	if (p->listen_fd >= 0) {
		p->fd = accept(p->listen_fd, NULL, NULL);
		if (p->fd < 0)
			return NULL;
	}
	for (;;) {
		n = recv(p->fd, p->rx, sizeof(p->rx), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		pthread_mutex_lock(&p->mu);
		for (off = 0; off < (size_t)n && p->fd >= 0;) {
			off += hvw_decoder_feed(&p->dec, p->rx + off, (size_t)n - off);
			while (p->fd >= 0 && hvw_decoder_next(&p->dec, &f) == 1) {
				if (p->spinning && f.type != HVW_KICK)
					m = peer_hold(p, &f);
				else
					m = peer_handle(p, &f);
				if (m)
					emit(p, m);
				peer_drain(p);
			}
		}
		pthread_mutex_unlock(&p->mu);
		if (p->fd < 0)
			break;
	}
	for (unsigned int i = 0; i < p->nqueued; i++)
		free(p->queued[i].payload);
	p->nqueued = 0;
	return NULL;
}

/* ---- Fixture: one peer and one connection per test ---- */

static struct peer *P;
static struct hvk *H;
static int client_fd = -1;

static struct peer *peer_new(void)
{
	struct peer *p = calloc(1, sizeof(*p));

	if (!p)
		abort();
	p->fd = -1;
	p->listen_fd = -1;
	p->touch_page = -1;
	pthread_mutex_init(&p->mu, NULL);
	hvw_decoder_init(&p->dec);
	return p;
}

/* Start the peer on a socketpair; @p is configured by the caller. */
static void peer_start_pair(struct peer *p)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	p->fd = sv[1];
	client_fd = sv[0];
	P = p;
	if (pthread_create(&p->th, NULL, peer_main, p))
		abort();
}

static struct hvk *open_pair(const struct hvk_options *o)
{
	char where[32];

	snprintf(where, sizeof(where), "fd:%d", client_fd);
	H = hvk_open_with(where, o);
	return H;
}

/* The usual start: a peer, a connection, and its /dev/kvm pseudo-fd. */
static int start(bool novmx)
{
	struct peer *p = peer_new();

	p->novmx = novmx;
	peer_start_pair(p);
	if (!open_pair(NULL))
		return -1;
	return hvk_kvm_fd(H);
}

/* A hypervisor of protocol version 1 as first shipped: no KICK, CLOSE, MEM_CHANGED. */
static int start_legacy(void)
{
	struct peer *p = peer_new();

	p->legacy = true;
	peer_start_pair(p);
	if (!open_pair(NULL))
		return -1;
	return hvk_kvm_fd(H);
}

static void fixture_end(void)
{
	if (H)
		hvk_close(H);
	H = NULL;
	if (client_fd >= 0) {
		shutdown(client_fd, SHUT_RDWR);
		close(client_fd);
	}
	client_fd = -1;
	if (P) {
		if (P->listen_fd >= 0)
			shutdown(P->listen_fd, SHUT_RDWR);
		pthread_join(P->th, NULL);
		if (P->fd >= 0)
			close(P->fd);
		if (P->listen_fd >= 0)
			close(P->listen_fd);
		free(P);
	}
	P = NULL;
}

/* Read a peer field under its lock. */
#define PEEK(field)                                                                                \
	({                                                                                         \
		pthread_mutex_lock(&P->mu);                                                        \
		__typeof__(P->field) v_ = P->field;                                                \
		pthread_mutex_unlock(&P->mu);                                                      \
		v_;                                                                                \
	})

#define ARM(field, value)                                                                          \
	do {                                                                                       \
		pthread_mutex_lock(&P->mu);                                                        \
		P->field = (value);                                                                \
		pthread_mutex_unlock(&P->mu);                                                      \
	} while (0)

/* ---- Tests: connecting ---- */

static void test_handshake(void)
{
	struct hvk_options o = {.client = "unit test"};

	peer_start_pair(peer_new());
	CHECK(open_pair(&o));
	CHECK(!strcmp(hvk_identity(H), "fake hv vmx=yes"));
	CHECK_EQ(hvk_protocol_version(H), 1);
	CHECK_EQ(hvk_flags(H), HVW_HELLO_FLAG_VMX);
	CHECK_EQ(hvk_caps(H), HVW_CAP_KVM_IOCTL | HVW_CAP_MEMORY | HVW_CAP_KICK | HVW_CAP_CLOSE |
				  HVW_CAP_MEM_CHANGED);
	CHECK(!strcmp(P->client, "unit test"));
	CHECK_EQ(PEEK(hellos), 1);
	CHECK_EQ(hvk_get_sync(H), HVK_SYNC_BEFORE_RUN | HVK_SYNC_AFTER_RUN);
}

static void test_handshake_bad_version(void)
{
	struct peer *p = peer_new();

	p->hello_version = 2;
	peer_start_pair(p);
	errno = 0;
	CHECK(!open_pair(NULL));
	CHECK_EQ(errno, EPROTO);
	CHECK(strstr(hvk_last_error(), "version 2"));
}

static void test_handshake_retry(void)
{
	struct hvk_options o = {.timeout_ms = 3000, .hello_retry_ms = 100};
	struct peer *p = peer_new();

	p->drop_hellos = 2;
	peer_start_pair(p);
	CHECK(open_pair(&o));
	CHECK_EQ(PEEK(hellos), 3);
}

static void test_handshake_timeout(void)
{
	struct hvk_options o = {.timeout_ms = 300, .hello_retry_ms = -1};
	struct peer *p = peer_new();
	int64_t t0 = now_ms(), dt;

	p->drop_hellos = 100;
	peer_start_pair(p);
	errno = 0;
	CHECK(!open_pair(&o));
	CHECK_EQ(errno, ETIMEDOUT);
	dt = now_ms() - t0;
	CHECK(dt >= 280 && dt < 3000);
	CHECK_EQ(PEEK(hellos), 1);
}

static void test_where_errors(void)
{
	errno = 0;
	CHECK(!hvk_open("tcp:nohostnoport"));
	CHECK_EQ(errno, EINVAL);
	CHECK(!hvk_open("fd:twelve"));
	CHECK_EQ(errno, EINVAL);
	CHECK(!hvk_open("fd:987654"));
	CHECK_EQ(errno, EBADF);
	CHECK(!hvk_open("unix:/nonexistent/hv.sock"));
	CHECK_EQ(errno, ENOENT);
	CHECK(!hvk_open("/nonexistent/ttyS9,115200"));
	CHECK_EQ(errno, ENOENT);
	CHECK(!hvk_open("/dev/null,12345"));
	CHECK_EQ(errno, EINVAL);
	CHECK(!hvk_open("/dev/null"));
	CHECK_EQ(errno, ENOTTY);
	CHECK(strstr(hvk_last_error(), "not a serial device"));
	CHECK(!hvk_open(""));
	CHECK_EQ(errno, EINVAL);
}

static void test_tcp(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	struct peer *p = peer_new();
	char where[64];
	int kvm;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	P = p;
	CHECK(p->listen_fd >= 0);
	CHECK(!bind(p->listen_fd, (struct sockaddr *)&a, sizeof(a)));
	CHECK(!listen(p->listen_fd, 1));
	CHECK(!getsockname(p->listen_fd, (struct sockaddr *)&a, &al));
	CHECK(!pthread_create(&p->th, NULL, peer_main, p));
	snprintf(where, sizeof(where), "tcp:127.0.0.1:%u", ntohs(a.sin_port));
	H = hvk_open(where);
	CHECK(H);
	kvm = hvk_kvm_fd(H);
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), 12);
}

static void test_unix(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct peer *p = peer_new();
	char where[128];

	snprintf(a.sun_path, sizeof(a.sun_path), "/tmp/test_libhvkvm.%d.sock", (int)getpid());
	unlink(a.sun_path);
	p->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	P = p;
	CHECK(p->listen_fd >= 0);
	CHECK(!bind(p->listen_fd, (struct sockaddr *)&a, sizeof(a)));
	CHECK(!listen(p->listen_fd, 1));
	CHECK(!pthread_create(&p->th, NULL, peer_main, p));
	snprintf(where, sizeof(where), "unix:%s", a.sun_path);
	H = hvk_open(where);
	unlink(a.sun_path);
	CHECK(H);
	CHECK(!strcmp(hvk_identity(H), "fake hv vmx=yes"));
}

/* ---- Tests: ioctls ---- */

static void test_ioctl_integers(void)
{
	int kvm = start(false);

	CHECK(kvm >= 0);
	CHECK(hvk_is_pseudo_fd(kvm));
	CHECK(!hvk_is_pseudo_fd(0));
	CHECK(!hvk_is_pseudo_fd(1000));
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), 12);
	CHECK_EQ(P->last.target, HVW_TARGET_SYSTEM);
	CHECK_EQ(P->last.arg_len, 0);
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY), 1);
	CHECK_EQ(P->last.arg_len, 8);
	CHECK_EQ(get_le(P->last_arg, 8), KVM_CAP_USER_MEMORY);
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS), 0);
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_CHECK_EXTENSION, 0x123456789abcul), 0);
	CHECK_EQ(get_le(P->last_arg, 8), 0x123456789abcul);
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_GET_VCPU_MMAP_SIZE, 0), 8192);
}

static void test_ioctl_errnos(void)
{
	int kvm = start(true);
	struct hvk_stats st;

	CHECK(kvm >= 0);
	CHECK_EQ(hvk_flags(H), 0);
	CHECK_ERR(hvk_ioctl(H, kvm, KVM_CREATE_VM, 0), ENODEV);
	CHECK(!strcmp(hvk_last_error(), "KVM_CREATE_VM: ENODEV (No such device)"));
	/* Answered by the hypervisor: a request it does not have. */
	CHECK_ERR(hvk_ioctl(H, kvm, KVM_NMI, 0), ENOTTY);
	/* Refused locally, nothing sent. */
	unsigned int before = PEEK(ioctls);
	CHECK_ERR(hvk_ioctl(H, 0, KVM_GET_API_VERSION, 0), EBADF);
	CHECK_ERR(hvk_ioctl(H, kvm + 1, KVM_GET_API_VERSION, 0), EBADF);
	CHECK_ERR(hvk_ioctl(H, kvm, 0x5401 /* TCGETS */, 0), ENOTTY);
	CHECK_ERR(hvk_ioctl(H, kvm, KVM_GET_MSR_INDEX_LIST, NULL), EFAULT);
	CHECK_EQ(PEEK(ioctls), before);
	/* An HVW_ERROR answer is the request's errno. */
	ARM(error_answer, true);
	CHECK_ERR(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), EINVAL);
	CHECK(strstr(hvk_last_error(), "refused on purpose"));
	hvk_stats(H, &st);
	CHECK_EQ(st.error_answers, 1);
	/* And the connection goes on. */
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), 12);
	/* A closed pseudo-fd is gone. */
	CHECK_EQ(hvk_close_fd(H, kvm), 0);
	CHECK_ERR(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), EBADF);
	CHECK_ERR(hvk_close_fd(H, kvm), EBADF);
}

static void test_pseudo_fds(void)
{
	int kvm = start(false), vm, vcpu, kvm2;
	uint32_t hvm = 0, hvcpu = 0;
	struct kvm_regs regs = {.rbx = 7};
	void *run;

	CHECK(kvm >= 0);
	vm = hvk_ioctl(H, kvm, KVM_CREATE_VM, 0);
	CHECK(hvk_is_pseudo_fd(vm));
	CHECK(vm != kvm);
	CHECK_EQ(hvk_fd_target(H, vm, &hvm, NULL), HVW_TARGET_VM);
	CHECK_EQ(hvm, PEER_VM);
	vcpu = hvk_ioctl(H, vm, KVM_CREATE_VCPU, 2);
	CHECK(hvk_is_pseudo_fd(vcpu));
	CHECK(vcpu != vm && vcpu != kvm);
	CHECK_EQ(P->last.target, HVW_TARGET_VM);
	CHECK_EQ(P->last.vm, PEER_VM);
	CHECK_EQ(hvk_fd_target(H, vcpu, &hvm, &hvcpu), HVW_TARGET_VCPU);
	CHECK_EQ(hvm, PEER_VM);
	CHECK_EQ(hvcpu, 2);
	CHECK_EQ(hvk_fd_target(H, kvm, NULL, NULL), HVW_TARGET_SYSTEM);

	/* A record in: its bytes, exactly. */
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_SET_REGS, &regs), 0);
	CHECK_EQ(P->last.target, HVW_TARGET_VCPU);
	CHECK_EQ(P->last.vcpu, 2);
	CHECK_EQ(P->last.arg_len, sizeof(regs));
	CHECK(!memcmp(P->last_arg, &regs, sizeof(regs)));
	/* A record out: what the hypervisor left in it. */
	memset(&regs, 0xcc, sizeof(regs));
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_GET_REGS, &regs), 0);
	CHECK_EQ(P->last.arg_len, sizeof(regs));
	CHECK_EQ(regs.rip, 0x1234);
	CHECK_EQ(regs.rax, 0xfeed);
	CHECK_EQ(regs.rbx, 0);

	run = hvk_mmap(H, vcpu, 8192);
	CHECK(run != MAP_FAILED);
	CHECK_EQ((uintptr_t)run % 4096, 0);
	CHECK(hvk_mmap(H, vcpu, 4096) == run);
	errno = 0;
	CHECK(hvk_mmap(H, vcpu, 8193) == MAP_FAILED && errno == EINVAL);
	CHECK(hvk_mmap(H, vm, 8192) == MAP_FAILED && errno == ENODEV);
	CHECK(hvk_mmap(H, 5, 8192) == MAP_FAILED && errno == EBADF);

	/* Each /dev/kvm open is its own fd; closing one leaves the rest. */
	kvm2 = hvk_kvm_fd(H);
	CHECK(kvm2 >= 0 && kvm2 != kvm && kvm2 != vm && kvm2 != vcpu);
	CHECK_EQ(hvk_close_fd(H, kvm), 0);
	CHECK_EQ(hvk_ioctl(H, kvm2, KVM_GET_API_VERSION, 0), 12);
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_GET_REGS, &regs), 0);
	CHECK_EQ(hvk_fd_target(H, kvm, NULL, NULL), -1);
}

static void test_counted_records(void)
{
	int kvm = start(false), vm, vcpu;
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[3];
	} msrs = {.h.nmsrs = 3, .e = {{.index = 0x10}, {.index = 0x1b}, {.index = 0x3a}}};
	struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[4];
	} cpuid = {.h.nent = 1};

	CHECK(kvm >= 0);
	vm = hvk_ioctl(H, kvm, KVM_CREATE_VM, 0);
	vcpu = hvk_ioctl(H, vm, KVM_CREATE_VCPU, 0);
	CHECK(vcpu >= 0);
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_GET_MSRS, &msrs), 3);
	CHECK_EQ(P->last.arg_len, 8 + 3 * 16);
	CHECK_EQ(msrs.e[1].data, 0x36);
	CHECK_EQ(msrs.e[2].data, 0x74);

	/* E2BIG still brings the record back: the count needed. */
	CHECK_ERR(hvk_ioctl(H, kvm, KVM_GET_SUPPORTED_CPUID, &cpuid), E2BIG);
	CHECK_EQ(P->last.arg_len, 8 + 40);
	CHECK_EQ(cpuid.h.nent, 2);
	cpuid.h.nent = 4;
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_GET_SUPPORTED_CPUID, &cpuid), 0);
	CHECK_EQ(P->last.arg_len, 8 + 4 * 40);
	CHECK_EQ(cpuid.h.nent, 2);
	CHECK_EQ(cpuid.e[1].function, 1);

	/* A count that cannot fit a frame is refused before sending. */
	msrs.h.nmsrs = 100000;
	CHECK_ERR(hvk_ioctl(H, vcpu, KVM_GET_MSRS, &msrs), E2BIG);
}

/*
 * KVM_X86_SET_MSR_FILTER holds pointers: the struct goes as it is, then the
 * bitmap of each range of 1 to 0x600 * 8 MSRs (8 bytes a 64 MSRs), read
 * from the program's memory; an unreadable one is EFAULT, nothing sent.
 */
static void msr_filter_checks(bool packed)
{
	struct peer *pr = peer_new();
	int kvm, vm;
	static uint8_t b1[8], b64[8], big[KVM_MSR_FILTER_MAX_BITMAP_SIZE];
	const uint32_t hdr = sizeof(struct kvm_msr_filter);
	uint8_t *gone, *half;
	struct kvm_msr_filter f;
	unsigned int before;

	pr->packed = packed;
	peer_start_pair(pr);
	CHECK(open_pair(NULL));
	kvm = hvk_kvm_fd(H);
	vm = hvk_ioctl(H, kvm, KVM_CREATE_VM, 0);
	CHECK(vm >= 0);
	for (unsigned int i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 1);
	memset(b1, 0x01, sizeof(b1));
	memset(b64, 0xa5, sizeof(b64));
	/* A page that was mapped and is no more; one whose second half is gone. */
	gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	half = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(gone != MAP_FAILED && half != MAP_FAILED);
	CHECK_EQ(munmap(gone, 4096), 0);
	CHECK_EQ(munmap(half + 4096, 4096), 0);
	memset(half + 4096 - 8, 0x5c, 8);

	/* Three ranges with bitmaps, an empty one (never read) in between. */
	memset(&f, 0, sizeof(f));
	f.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	f.ranges[0] = (struct kvm_msr_filter_range){KVM_MSR_FILTER_READ, 1, 0x10, b1};
	f.ranges[1] = (struct kvm_msr_filter_range){KVM_MSR_FILTER_WRITE, 64, 0x100, b64};
	f.ranges[2] = (struct kvm_msr_filter_range){KVM_MSR_FILTER_READ, 0, 0x200, gone};
	f.ranges[3] =
	    (struct kvm_msr_filter_range){KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
					  KVM_MSR_FILTER_MAX_BITMAP_SIZE * 8, 0xc0000000, big};
	CHECK_EQ(hvk_ioctl(H, vm, KVM_X86_SET_MSR_FILTER, &f), 0);
	CHECK_EQ(P->last.nr, KVM_X86_SET_MSR_FILTER);
	CHECK_EQ(P->last.target, HVW_TARGET_VM);
	CHECK_EQ(P->last.arg_len, hdr + 8 + 8 + 0x600);
	CHECK(!memcmp(P->last_arg, &f, hdr));
	CHECK(!memcmp(P->last_arg + hdr, b1, 8));
	CHECK(!memcmp(P->last_arg + hdr + 8, b64, 8));
	CHECK(!memcmp(P->last_arg + hdr + 16, big, sizeof(big)));
	CHECK_EQ(PEEK(packed_ioctls), packed ? 1 : 0);

	/* A range over the limit sends no bitmap (its pointer is not read). */
	f.ranges[1].nmsrs = KVM_MSR_FILTER_MAX_BITMAP_SIZE * 8 + 1;
	f.ranges[1].bitmap = gone;
	f.ranges[3].nmsrs = 65; /* 16 bytes */
	CHECK_EQ(hvk_ioctl(H, vm, KVM_X86_SET_MSR_FILTER, &f), 0);
	CHECK_EQ(P->last.arg_len, hdr + 8 + 16);
	CHECK(!memcmp(P->last_arg, &f, hdr));
	CHECK(!memcmp(P->last_arg + hdr, b1, 8));
	CHECK(!memcmp(P->last_arg + hdr + 8, big, 16));

	/* NULL, unmapped, partly mapped: EFAULT, nothing sent. */
	before = PEEK(ioctls);
	f.ranges[1] = (struct kvm_msr_filter_range){KVM_MSR_FILTER_READ, 8, 0x100, NULL};
	CHECK_ERR(hvk_ioctl(H, vm, KVM_X86_SET_MSR_FILTER, &f), EFAULT);
	CHECK(strstr(hvk_last_error(), "range 1"));
	f.ranges[1].bitmap = gone;
	CHECK_ERR(hvk_ioctl(H, vm, KVM_X86_SET_MSR_FILTER, &f), EFAULT);
	f.ranges[1].nmsrs = 128; /* 16 bytes, the last 8 unmapped */
	f.ranges[1].bitmap = half + 4096 - 8;
	CHECK_ERR(hvk_ioctl(H, vm, KVM_X86_SET_MSR_FILTER, &f), EFAULT);
	CHECK_EQ(PEEK(ioctls), before);
	/* The same 8 bytes alone are fine. */
	f.ranges[1].nmsrs = 64;
	CHECK_EQ(hvk_ioctl(H, vm, KVM_X86_SET_MSR_FILTER, &f), 0);
	CHECK_EQ(P->last.arg_len, hdr + 8 + 8 + 16);
	CHECK(!memcmp(P->last_arg + hdr + 8, half + 4096 - 8, 8));
	CHECK_EQ(PEEK(ioctls), before + 1);
	munmap(half, 4096);
}

static void test_msr_filter(void)
{
	msr_filter_checks(false);
}

/* With HVW_CAP_PACKED the marshalled bytes go packed and unpack the same. */
static void test_msr_filter_packed(void)
{
	msr_filter_checks(true);
}

/* ---- Tests: KVM_RUN ---- */

static void test_run_pio(void)
{
	int kvm = start(false), vm, vcpu;
	struct kvm_run *run;
	uint8_t *page;
	struct hvk_stats st;

	CHECK(kvm >= 0);
	vm = hvk_ioctl(H, kvm, KVM_CREATE_VM, 0);
	vcpu = hvk_ioctl(H, vm, KVM_CREATE_VCPU, 0);
	run = hvk_mmap(H, vcpu, 8192);
	CHECK(run != MAP_FAILED);
	page = (uint8_t *)run;

	/* OUT: the data lands at data_offset in the local mapping. */
	run->request_interrupt_window = 1;
	run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	CHECK_EQ(P->last.arg_len, RUN_SIZE);
	CHECK_EQ(P->last.target, HVW_TARGET_VCPU);
	CHECK_EQ(P->run_in.request_interrupt_window, 1);
	CHECK_EQ(P->run_in.kvm_valid_regs, KVM_SYNC_X86_REGS);
	CHECK_EQ(run->exit_reason, KVM_EXIT_IO);
	CHECK_EQ(run->io.direction, KVM_EXIT_IO_OUT);
	CHECK_EQ(run->io.port, 0x3f8);
	CHECK_EQ(run->io.count, 3);
	CHECK_EQ(run->io.data_offset, 4096);
	CHECK(!memcmp(page + 4096, "abc", 3));
	CHECK_EQ(run->request_interrupt_window, 1);

	/* IN: no data goes with this run; the answer asks for 4 bytes. */
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	CHECK_EQ(P->last.arg_len, RUN_SIZE);
	CHECK_EQ(run->io.direction, KVM_EXIT_IO_IN);
	CHECK_EQ(run->io.size * run->io.count, 4);
	memcpy(page + run->io.data_offset, "\x11\x22\x33\x44", 4);

	/* The next run carries them after the kvm_run. */
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	CHECK_EQ(P->last.arg_len, RUN_SIZE + 4);
	CHECK_EQ(P->run_extra_len, 4);
	CHECK(!memcmp(P->run_extra, "\x11\x22\x33\x44", 4));
	CHECK_EQ(run->exit_reason, KVM_EXIT_HLT);

	/* Only once. */
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	CHECK_EQ(P->last.arg_len, RUN_SIZE);

	/* A failing run still updates kvm_run: immediate_exit gives EINTR. */
	run->immediate_exit = 1;
	CHECK_ERR(hvk_ioctl(H, vcpu, KVM_RUN, 0), EINTR);
	CHECK_EQ(run->exit_reason, KVM_EXIT_INTR);
	CHECK_EQ(P->run_in.immediate_exit, 1);
	hvk_stats(H, &st);
	CHECK_EQ(st.runs, 5);
	/* No slot: no memory traffic at all. */
	CHECK_EQ(PEEK(mem_writes) + PEEK(mem_reads), 0);
}

/* ---- Tests: guest memory ---- */

#define GUEST_PAGES 16

static void test_mem_sync(void)
{
	int kvm = start_legacy(), vm, vcpu;
	struct kvm_userspace_memory_region r;
	struct hvk_stats st;
	uint8_t *mem;

	CHECK(kvm >= 0);
	mem = mmap(NULL, GUEST_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	CHECK(mem != MAP_FAILED);
	memset(mem, 1, 4096);		     /* page 0 */
	memset(mem + 5 * 4096, 2, 2 * 4096); /* pages 5, 6 */
	mem[15 * 4096 + 4095] = 3;	     /* the last byte of page 15 */

	vm = hvk_ioctl(H, kvm, KVM_CREATE_VM, 0);
	r = (struct kvm_userspace_memory_region){.slot = 0,
						 .guest_phys_addr = 0x100000,
						 .memory_size = GUEST_PAGES * 4096,
						 .userspace_addr = (uintptr_t)mem};
	CHECK_EQ(hvk_ioctl(H, vm, KVM_SET_USER_MEMORY_REGION, &r), 0);
	vcpu = hvk_ioctl(H, vm, KVM_CREATE_VCPU, 0);
	CHECK(vcpu >= 0);

	/* First run: the non-zero pages only, consecutive ones together. */
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	CHECK_EQ(PEEK(mem_writes), 3);
	CHECK_EQ(P->writes[0].gpa, 0x100000);
	CHECK_EQ(P->writes[0].len, 4096);
	CHECK_EQ(P->writes[1].gpa, 0x105000);
	CHECK_EQ(P->writes[1].len, 8192);
	CHECK_EQ(P->writes[2].gpa, 0x10f000);
	CHECK_EQ(P->writes[2].len, 4096);
	CHECK(!memcmp(P->mem, mem, GUEST_PAGES * 4096));
	/* After it: everything read back (one 64 KiB chunk). */
	CHECK_EQ(PEEK(mem_reads), 1);

	/* Nothing changed: nothing sent. */
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	CHECK_EQ(PEEK(mem_writes), 3);

	/* The third run: the guest writes page 3; the program sees it. */
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	CHECK_EQ(mem[3 * 4096], 0xa5);
	CHECK_EQ(mem[3 * 4096 + 4095], 0xa5);
	hvk_stats(H, &st);
	CHECK_EQ(st.pages_pulled, 3 * GUEST_PAGES);
	CHECK_EQ(st.pages_pulled_changed, 1);

	/* The guest's page is not sent back; a changed page is, and so
	 * is a page the program set back to zero. */
	mem[6 * 4096 + 10] = 9;
	memset(mem, 0, 4096);
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	CHECK_EQ(PEEK(mem_writes), 5);
	CHECK_EQ(P->writes[3].gpa, 0x100000);
	CHECK_EQ(P->writes[3].len, 4096);
	CHECK_EQ(P->writes[4].gpa, 0x106000);
	CHECK_EQ(P->writes[4].len, 4096);
	CHECK(!memcmp(P->mem, mem, GUEST_PAGES * 4096));
	hvk_stats(H, &st);
	CHECK_EQ(st.pages_pushed, 6);
	CHECK_EQ(st.push_frames, 5);
	munmap(mem, GUEST_PAGES * 4096);
}

static void test_mem_sync_off_and_pull(void)
{
	int kvm = start_legacy(), vm, vcpu;
	struct kvm_userspace_memory_region r;
	uint8_t *mem;

	CHECK(kvm >= 0);
	mem = mmap(NULL, GUEST_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	CHECK(mem != MAP_FAILED);
	memset(mem + 4096, 7, 4096);
	vm = hvk_ioctl(H, kvm, KVM_CREATE_VM, 0);
	r = (struct kvm_userspace_memory_region){.memory_size = GUEST_PAGES * 4096,
						 .userspace_addr = (uintptr_t)mem};
	CHECK_EQ(hvk_ioctl(H, vm, KVM_SET_USER_MEMORY_REGION, &r), 0);
	vcpu = hvk_ioctl(H, vm, KVM_CREATE_VCPU, 0);

	/* Before only: one push, no pull. */
	hvk_set_sync(H, HVK_SYNC_BEFORE_RUN);
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	CHECK_EQ(PEEK(mem_writes), 1);
	CHECK_EQ(PEEK(mem_reads), 0);

	/* Neither: nothing, even with a change. */
	hvk_set_sync(H, 0);
	mem[4096] = 8;
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0); /* the guest writes page 3 */
	CHECK_EQ(PEEK(mem_writes), 1);
	CHECK_EQ(PEEK(mem_reads), 0);
	CHECK_EQ(mem[3 * 4096], 0);

	/* hvk_pull reads the page holding the range, and only that. */
	CHECK_EQ(hvk_pull(H, vm, 3 * 4096 + 100, 1), 0);
	CHECK_EQ(PEEK(mem_reads), 1);
	CHECK_EQ(mem[3 * 4096], 0xa5);
	/* Two pages across a boundary, through the vCPU fd. */
	CHECK_EQ(hvk_pull(H, vcpu, 4095, 2), 0);
	CHECK_EQ(PEEK(mem_reads), 2);
	/* The pull overwrote the unsent local change: documented. */
	CHECK_EQ(mem[4096], 7);

	/* hvk_sync on demand. */
	mem[9 * 4096] = 1;
	CHECK_EQ(hvk_sync(H, vm, HVK_SYNC_BEFORE_RUN), 0);
	CHECK_EQ(PEEK(mem_writes), 2);
	CHECK_EQ(P->mem[9 * 4096], 1);
	munmap(mem, GUEST_PAGES * 4096);
}

static void test_mem_region_checks(void)
{
	int kvm = start(false), vm;
	struct kvm_userspace_memory_region r = {.memory_size = 8192};
	uint8_t buf[16];
	void *mem;

	CHECK(kvm >= 0);
	mem = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	vm = hvk_ioctl(H, kvm, KVM_CREATE_VM, 0);
	/* No memory behind the slot, or not whole pages: refused locally. */
	CHECK_ERR(hvk_ioctl(H, vm, KVM_SET_USER_MEMORY_REGION, &r), EINVAL);
	r.userspace_addr = (uintptr_t)mem + 8;
	CHECK_ERR(hvk_ioctl(H, vm, KVM_SET_USER_MEMORY_REGION, &r), EINVAL);
	CHECK_EQ(PEEK(ioctls), 1);
	/* Refused by the hypervisor: not recorded. */
	r.userspace_addr = (uintptr_t)mem;
	r.slot = 5;
	CHECK_ERR(hvk_ioctl(H, vm, KVM_SET_USER_MEMORY_REGION, &r), EINVAL);
	CHECK_EQ(hvk_sync(H, vm, HVK_SYNC_AFTER_RUN), 0);
	CHECK_EQ(PEEK(mem_reads), 0);
	/* Raw access: EFAULT outside the slot, from MEM_WRITE's answer and
	 * from MEM_READ's HVW_ERROR alike. */
	r.slot = 0;
	CHECK_EQ(hvk_ioctl(H, vm, KVM_SET_USER_MEMORY_REGION, &r), 0);
	CHECK_EQ(hvk_mem_write(H, vm, 8, "hello", 5), 0);
	CHECK_EQ(hvk_mem_read(H, vm, 6, buf, 9), 0);
	CHECK(!memcmp(buf, "\0\0hello\0\0", 9));
	CHECK_ERR(hvk_mem_write(H, vm, 8190, "hello", 5), EFAULT);
	CHECK_ERR(hvk_mem_read(H, vm, 0x10000, buf, 4), EFAULT);
	CHECK_ERR(hvk_mem_read(H, kvm, 0, buf, 4), EBADF);
	/* Deleting the slot stops its sync. */
	r.memory_size = 0;
	CHECK_EQ(hvk_ioctl(H, vm, KVM_SET_USER_MEMORY_REGION, &r), 0);
	CHECK_EQ(hvk_sync(H, vm, HVK_SYNC_AFTER_RUN), 0);
	CHECK_EQ(PEEK(mem_reads), 1);
	munmap(mem, 8192);
}

/* ---- Tests: MEM_CHANGED ---- */

/* A VM with one slot of @pages pages at @gpa over @mem, and its vCPU. */
static int vm_with_slot(int kvm, uint8_t *mem, uint64_t pages, uint64_t gpa, int *vcpu)
{
	struct kvm_userspace_memory_region r = {.slot = 0,
						.guest_phys_addr = gpa,
						.memory_size = pages * 4096,
						.userspace_addr = (uintptr_t)mem};
	int vm = hvk_ioctl(H, kvm, KVM_CREATE_VM, 0);

	if (vm < 0 || hvk_ioctl(H, vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -1;
	*vcpu = hvk_ioctl(H, vm, KVM_CREATE_VCPU, 0);
	return *vcpu < 0 ? -1 : vm;
}

static void test_mem_changed(void)
{
	int kvm = start(false), vm, vcpu;
	struct hvk_stats st;
	uint8_t *mem;

	CHECK(kvm >= 0);
	mem = mmap(NULL, GUEST_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	CHECK(mem != MAP_FAILED);
	memset(mem, 1, 4096);
	memset(mem + 5 * 4096, 2, 4096);
	vm = vm_with_slot(kvm, mem, GUEST_PAGES, 0x100000, &vcpu);
	CHECK(vm >= 0);
	ARM(run_step, 3); /* plain HLT exits */

	/* Pushed pages are tracked; nothing changed: one small MEM_CHANGED. */
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	CHECK_EQ(PEEK(tracked_writes), 2);
	CHECK_EQ(PEEK(changed_reqs), 1);
	CHECK_EQ(PEEK(mem_reads), 0);
	hvk_stats(H, &st);
	CHECK_EQ(st.pages_changed, 0);

	/* The guest writes page 3: it alone comes back. */
	ARM(touch_val, 0xa5);
	ARM(touch_page, 3);
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	CHECK_EQ(mem[3 * 4096], 0xa5);
	CHECK_EQ(mem[3 * 4096 + 4095], 0xa5);
	hvk_stats(H, &st);
	CHECK_EQ(st.pages_changed, 1);
	CHECK_EQ(st.zero_pages_changed, 0);
	CHECK_EQ(st.pages_pulled, 0);
	/* Written again with the same bytes: not sent again. */
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	hvk_stats(H, &st);
	CHECK_EQ(st.pages_changed, 1);

	/* The guest zeroes page 0: a flag, no bytes; local memory follows. */
	ARM(touch_val, 0);
	ARM(touch_page, 0);
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	CHECK_EQ(mem[0], 0);
	CHECK_EQ(mem[4095], 0);
	hvk_stats(H, &st);
	CHECK_EQ(st.pages_changed, 2);
	CHECK_EQ(st.zero_pages_changed, 1);
	ARM(touch_page, -1);

	/* A raw write bypasses the local copy; the next sync brings it in. */
	CHECK_EQ(hvk_mem_write(H, vm, 0x107000, "raw", 3), 0);
	CHECK_EQ(mem[7 * 4096], 0);
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	CHECK(!memcmp(mem + 7 * 4096, "raw", 3));

	/* Many changed pages: several answers, each within a frame. */
	pthread_mutex_lock(&P->mu);
	for (int i = 0; i < GUEST_PAGES; i++)
		memset(P->mem + i * 4096, 0x30 + i, 4096);
	pthread_mutex_unlock(&P->mu);
	hvk_stats(H, &st);
	uint64_t frames_before = st.changed_frames;
	CHECK_EQ(hvk_sync(H, vm, HVK_SYNC_AFTER_RUN), 0);
	for (int i = 0; i < GUEST_PAGES; i++)
		CHECK_EQ(mem[i * 4096 + 17], 0x30 + i);
	hvk_stats(H, &st);
	CHECK_EQ(st.changed_frames, frames_before + 2); /* 15 pages fit one answer */
	CHECK_EQ(st.pages_changed, 3 + GUEST_PAGES);

	/* hvk_pull: only what changed in the range. */
	ARM(mem[9 * 4096], 0x77);
	CHECK_EQ(hvk_pull(H, vm, 0x109000, 1), 0);
	CHECK_EQ(mem[9 * 4096], 0x77);
	CHECK_EQ(PEEK(mem_reads), 0);

	/* HVK_SYNC_FULL_PULL: the old way, MEM_READ of everything. */
	hvk_set_sync(H, HVK_SYNC_BEFORE_RUN | HVK_SYNC_AFTER_RUN | HVK_SYNC_FULL_PULL);
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	CHECK_EQ(PEEK(mem_reads), 1);
	munmap(mem, GUEST_PAGES * 4096);
}

/* Wire bytes of one KVM_RUN whose guest changes one page of a 1 MiB slot. */
static void one_page_run_bytes(bool legacy, uint64_t *out, uint64_t *in)
{
	int kvm = legacy ? start_legacy() : start(false), vm, vcpu;
	struct hvk_stats a, b;
	uint8_t *mem;

	*out = *in = 0;
	CHECK(kvm >= 0);
	mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mem != MAP_FAILED);
	mem[0x1000] = 0xf4;
	vm = vm_with_slot(kvm, mem, 256, 0, &vcpu);
	CHECK(vm >= 0);
	ARM(run_step, 3);
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0); /* pushes the code page */
	ARM(touch_val, 0x5a);
	ARM(touch_page, 2);
	hvk_stats(H, &a);
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	hvk_stats(H, &b);
	CHECK_EQ(mem[0x2000], 0x5a);
	*out = b.bytes_out - a.bytes_out;
	*in = b.bytes_in - a.bytes_in;
	munmap(mem, 1 << 20);
}

static void test_mem_changed_bytes(void)
{
	uint64_t lo, li, no, ni;

	one_page_run_bytes(true, &lo, &li);
	if (why[0])
		return;
	fixture_end();
	one_page_run_bytes(false, &no, &ni);
	if (why[0])
		return;
	printf("INFO one KVM_RUN changing 1 page of a 1 MiB slot: full pull %llu bytes out + "
	       "%llu in; MEM_CHANGED %llu out + %llu in\n",
	       (unsigned long long)lo, (unsigned long long)li, (unsigned long long)no,
	       (unsigned long long)ni);
	CHECK(li > (1 << 20));
	CHECK(ni < 2 * 2400 + 4200);
	CHECK(no < 2 * 2400 + 200);
}

/* ---- Tests: KICK and CLOSE ---- */

static int kick_fd = -1;

static void *kick_later(void *arg)
{
	usleep((useconds_t)(uintptr_t)arg * 1000);
	hvk_kick(H, kick_fd);
	return NULL;
}

static pthread_t main_thread;

static void on_sigusr1(int sig)
{
	(void)sig;
	hvk_kick(H, kick_fd);
}

static void *signal_later(void *arg)
{
	usleep((useconds_t)(uintptr_t)arg * 1000);
	pthread_kill(main_thread, SIGUSR1);
	return NULL;
}

static void test_kick_thread(void)
{
	int kvm = start(false), vm, vcpu;
	struct kvm_run *run;
	struct hvk_stats st;
	pthread_t t;
	int64_t t0;

	CHECK(kvm >= 0);
	vm = hvk_ioctl(H, kvm, KVM_CREATE_VM, 0);
	vcpu = hvk_ioctl(H, vm, KVM_CREATE_VCPU, 1);
	run = hvk_mmap(H, vcpu, 8192);
	CHECK(run != MAP_FAILED);
	ARM(run_step, 3);
	ARM(spin, true);
	kick_fd = vcpu;
	t0 = now_ms();
	CHECK(!pthread_create(&t, NULL, kick_later, (void *)(uintptr_t)100));
	CHECK_ERR(hvk_ioctl(H, vcpu, KVM_RUN, 0), EINTR);
	pthread_join(t, NULL);
	CHECK(now_ms() - t0 >= 90);
	CHECK_EQ(run->exit_reason, KVM_EXIT_INTR);
	CHECK_EQ(run->immediate_exit, 0);
	CHECK_EQ(PEEK(kicks), 1);
	hvk_stats(H, &st);
	CHECK_EQ(st.kicks, 1);
	CHECK_EQ(st.stale_frames, 0);
	/* Not sticky: the next run runs. */
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_HLT);
	/* Outside KVM_RUN a kick does nothing and sends nothing. */
	CHECK_EQ(hvk_kick(H, vcpu), 0);
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), 12);
	CHECK_EQ(PEEK(kicks) + PEEK(kicks_stray), 1);
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	/* Only vCPU fds. */
	CHECK_ERR(hvk_kick(H, vm), EBADF);
	CHECK_ERR(hvk_kick(H, kvm), EBADF);
	CHECK_ERR(hvk_kick(H, 3), EBADF);
}

static void test_kick_signal(void)
{
	struct sigaction sa = {.sa_handler = on_sigusr1}, old;
	int kvm = start(false), vm, vcpu;
	struct kvm_run *run;
	pthread_t t;

	CHECK(kvm >= 0);
	vm = hvk_ioctl(H, kvm, KVM_CREATE_VM, 0);
	vcpu = hvk_ioctl(H, vm, KVM_CREATE_VCPU, 0);
	run = hvk_mmap(H, vcpu, 8192);
	CHECK(run != MAP_FAILED);
	ARM(run_step, 3);
	ARM(spin, true);
	kick_fd = vcpu;
	main_thread = pthread_self();
	sigemptyset(&sa.sa_mask);
	CHECK(!sigaction(SIGUSR1, &sa, &old));
	CHECK(!pthread_create(&t, NULL, signal_later, (void *)(uintptr_t)100));
	errno = 0;
	int r = hvk_ioctl(H, vcpu, KVM_RUN, 0);
	int e = errno;
	pthread_join(t, NULL);
	sigaction(SIGUSR1, &old, NULL);
	CHECK_EQ(r, -1);
	CHECK_EQ(e, EINTR);
	CHECK_EQ(run->exit_reason, KVM_EXIT_INTR);
	CHECK_EQ(PEEK(kicks), 1);
}

/* A kick while pages are being pushed: the run goes out with immediate_exit. */
static void test_kick_early(void)
{
	int kvm = start(false), vm, vcpu;
	struct kvm_run *run;
	struct hvk_stats st;
	pthread_t t;
	uint8_t *mem;

	CHECK(kvm >= 0);
	mem = mmap(NULL, GUEST_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	memset(mem, 3, 4096);
	vm = vm_with_slot(kvm, mem, GUEST_PAGES, 0, &vcpu);
	CHECK(vm >= 0);
	run = hvk_mmap(H, vcpu, 8192);
	ARM(run_step, 3);
	ARM(delay_ms, 300); /* the MEM_WRITE's answer */
	kick_fd = vcpu;
	CHECK(!pthread_create(&t, NULL, kick_later, (void *)(uintptr_t)100));
	CHECK_ERR(hvk_ioctl(H, vcpu, KVM_RUN, 0), EINTR);
	pthread_join(t, NULL);
	CHECK_EQ(P->run_in.immediate_exit, 1);
	CHECK_EQ(run->immediate_exit, 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_INTR);
	hvk_stats(H, &st);
	CHECK_EQ(st.kicks_early, 1);
	CHECK_EQ(st.kicks, 0);
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	CHECK_EQ(P->run_in.immediate_exit, 0);
	munmap(mem, GUEST_PAGES * 4096);
}

static void test_kick_legacy(void)
{
	int kvm = start_legacy(), vm, vcpu;

	CHECK(kvm >= 0);
	vm = hvk_ioctl(H, kvm, KVM_CREATE_VM, 0);
	vcpu = hvk_ioctl(H, vm, KVM_CREATE_VCPU, 0);
	CHECK_ERR(hvk_kick(H, vcpu), EOPNOTSUPP);
	/* Closing a VM only forgets it locally. */
	CHECK_EQ(hvk_close_fd(H, vm), 0);
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), 12);
	CHECK_EQ(PEEK(closes), 0);
	CHECK_ERR(hvk_close_vm_handle(H, PEER_VM), EOPNOTSUPP);
}

static void test_close(void)
{
	int kvm = start(false), vm, vcpu;
	uint8_t *mem;

	CHECK(kvm >= 0);
	mem = mmap(NULL, GUEST_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	mem[0] = 1;
	vm = vm_with_slot(kvm, mem, GUEST_PAGES, 0, &vcpu);
	CHECK(vm >= 0);
	ARM(run_step, 3);
	CHECK_EQ(hvk_ioctl(H, vcpu, KVM_RUN, 0), 0);
	/* A vCPU fd: nothing remote. */
	int vcpu2 = hvk_ioctl(H, vm, KVM_CREATE_VCPU, 1);
	CHECK_EQ(hvk_close_fd(H, vcpu2), 0);
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), 12);
	CHECK_EQ(PEEK(closes), 0);
	/* The VM fd: CLOSE with its handle; its vCPU fds are dead. */
	CHECK_EQ(hvk_close_fd(H, vm), 0);
	CHECK_EQ(PEEK(closes), 1);
	CHECK_EQ(PEEK(last_close), PEER_VM);
	CHECK_ERR(hvk_ioctl(H, vcpu, KVM_RUN, 0), EBADF);
	CHECK_ERR(hvk_ioctl(H, vcpu, KVM_GET_REGS, &(struct kvm_regs){0}), EBADF);
	CHECK_ERR(hvk_kick(H, vcpu), EBADF);
	CHECK_ERR(hvk_sync(H, vcpu, HVK_SYNC_BEFORE_RUN), EBADF);
	CHECK_ERR(hvk_ioctl(H, vm, KVM_CREATE_VCPU, 0), EBADF);
	CHECK_EQ(hvk_close_fd(H, vcpu), 0);
	/* A handle the hypervisor does not know. */
	CHECK_ERR(hvk_close_vm_handle(H, 99), EBADF);
	CHECK(strstr(hvk_last_error(), "CLOSE vm 99: EBADF"));
	CHECK_EQ(PEEK(last_close), 99);
	/* 20 in a row: every one closed, nothing left behind locally. */
	for (int i = 0; i < 20; i++) {
		vm = vm_with_slot(kvm, mem, GUEST_PAGES, 0, &vcpu);
		CHECK(vm >= 0);
		CHECK_EQ(hvk_sync(H, vm, HVK_SYNC_BEFORE_RUN), 0);
		CHECK_EQ(hvk_close_fd(H, vcpu), 0);
		CHECK_EQ(hvk_close_fd(H, vm), 0);
	}
	CHECK_EQ(PEEK(closes), 22);
	/* A refused CLOSE still closes the fd, as close(2) does. */
	vm = hvk_ioctl(H, kvm, KVM_CREATE_VM, 0);
	ARM(error_answer, true);
	CHECK_ERR(hvk_close_fd(H, vm), EINVAL);
	CHECK_ERR(hvk_close_fd(H, vm), EBADF);
	munmap(mem, GUEST_PAGES * 4096);
}

/*
 * Sessions: LIST parsed; hvk_end_session() says BYE and forgets the VMs
 * (their fds fail without a frame); hvk_close() says BYE and keeps errno;
 * without HVW_CAP_SESSION both calls are EOPNOTSUPP and nothing is sent.
 */
static void test_sessions(void)
{
	struct peer *p = peer_new();
	struct hvw_vm_entry e[4];
	struct kvm_regs regs;
	struct hvk_vm_list l;
	unsigned int ioctls;
	int kvm, vm, vcpu;

	p->sessions = true;
	peer_start_pair(p);
	CHECK(open_pair(NULL));
	kvm = hvk_kvm_fd(H);
	CHECK_EQ(hvk_list_vms(H, &l, e, 4), 0);
	vm = hvk_ioctl(H, kvm, KVM_CREATE_VM, 0);
	vcpu = hvk_ioctl(H, vm, KVM_CREATE_VCPU, 0);
	CHECK(vm >= 0 && vcpu >= 0);
	CHECK_EQ(hvk_list_vms(H, &l, e, 4), 1);
	CHECK_EQ(l.session, 7);
	CHECK_EQ(l.max_vms, 64);
	CHECK_EQ(l.max_vcpus, 64);
	CHECK_EQ(l.free_pages, 1000);
	CHECK_EQ(e[0].handle, PEER_VM);
	CHECK_EQ(e[0].owner, 7);
	CHECK_EQ(e[0].vcpus, 2);
	CHECK_EQ(e[0].memory, 4096);
	CHECK(!strcmp(e[0].name, "vm3"));
	CHECK_EQ(hvk_list_vms(H, NULL, NULL, 0), 1);
	CHECK_EQ(PEEK(lists), 3);
	/* BYE: the VM is gone, here too; its fds fail and send nothing. */
	CHECK_EQ(hvk_end_session(H), 1);
	CHECK_EQ(PEEK(byes), 1);
	ioctls = PEEK(ioctls);
	CHECK_ERR(hvk_ioctl(H, vm, KVM_CHECK_EXTENSION, 0), EBADF);
	CHECK_ERR(hvk_ioctl(H, vcpu, KVM_GET_REGS, &regs), EBADF);
	CHECK_EQ(PEEK(ioctls), ioctls);
	CHECK_EQ(hvk_close_fd(H, vm), 0);
	CHECK_EQ(PEEK(closes), 0);
	/* The connection goes on, in a new session. */
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), 12);
	vm = hvk_ioctl(H, kvm, KVM_CREATE_VM, 0);
	CHECK(vm >= 0);
	/* hvk_close() says BYE (so the VM goes at once) and leaves errno alone. */
	errno = EDOM;
	hvk_close(H);
	H = NULL;
	CHECK_EQ(errno, EDOM);
	CHECK_EQ(PEEK(byes), 2);
	CHECK_EQ(PEEK(vms_made), 0);
}

static void test_sessions_legacy(void)
{
	int kvm = start(false);

	CHECK(kvm >= 0);
	CHECK_ERR(hvk_end_session(H), EOPNOTSUPP);
	CHECK_ERR(hvk_list_vms(H, NULL, NULL, 0), EOPNOTSUPP);
	hvk_close(H);
	H = NULL;
	CHECK_EQ(PEEK(byes), 0);
}

/* ---- Tests: threads during a run ---- */

struct run_arg {
	int fd;
	int r, e;
	int64_t t_end;
};

static void *run_thread(void *arg)
{
	struct run_arg *a = arg;

	errno = 0;
	a->r = hvk_ioctl(H, a->fd, KVM_RUN, 0);
	a->e = errno;
	a->t_end = now_ms();
	return NULL;
}

/* Wait (up to 5 s) until the peer spins a run. */
static bool wait_spinning(void)
{
	for (int i = 0; i < 500; i++) {
		if (PEEK(spinning))
			return true;
		usleep(10000);
	}
	return false;
}

/* A vCPU in a VM of the peer, its run spinning in another thread. */
static int spin_in_thread(int kvm, int *vm, int *vcpu_a, int *vcpu_b, pthread_t *t,
			  struct run_arg *a)
{
	*vm = hvk_ioctl(H, kvm, KVM_CREATE_VM, 0);
	*vcpu_a = hvk_ioctl(H, *vm, KVM_CREATE_VCPU, 0);
	*vcpu_b = hvk_ioctl(H, *vm, KVM_CREATE_VCPU, 1);
	if (*vm < 0 || *vcpu_a < 0 || *vcpu_b < 0 || hvk_mmap(H, *vcpu_a, 8192) == MAP_FAILED)
		return -1;
	ARM(run_step, 3);
	ARM(spin, true);
	a->fd = *vcpu_a;
	if (pthread_create(t, NULL, run_thread, a))
		return -1;
	return wait_spinning() ? 0 : -1;
}

/*
 * One thread in KVM_RUN, another asks for a vCPU's registers: the request
 * goes out during the run (the peer holds it) and its answer, which comes
 * after the run's, reaches the thread that asked.
 */
static void test_request_during_run(void)
{
	int kvm = start(false), vm, a, b;
	struct run_arg ra = {0};
	struct kvm_regs regs = {0};
	struct hvk_stats st;
	pthread_t t, k;
	int64_t t0;

	CHECK(kvm >= 0);
	CHECK(!spin_in_thread(kvm, &vm, &a, &b, &t, &ra));
	kick_fd = a;
	t0 = now_ms();
	CHECK(!pthread_create(&k, NULL, kick_later, (void *)(uintptr_t)300));
	CHECK_EQ(hvk_ioctl(H, b, KVM_GET_REGS, &regs), 0);
	pthread_join(k, NULL);
	pthread_join(t, NULL);
	/* Answered after the kick ended the run, as the peer serves it then. */
	CHECK(now_ms() - t0 >= 250);
	CHECK_EQ(regs.rip, 0x1234);
	CHECK_EQ(regs.rax, 0xfeed);
	CHECK_EQ(ra.r, -1);
	CHECK_EQ(ra.e, EINTR);
	/* It went out while the run spun: the peer held it. */
	CHECK_EQ(PEEK(queued_total), 1);
	CHECK_EQ(PEEK(last.vcpu), 1);
	hvk_stats(H, &st);
	CHECK_EQ(st.stale_frames, 0);
	CHECK_EQ(st.kicks, 1);
	/* And the line is as before. */
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), 12);
}

/* Several threads' requests during one run, each answered to its own thread. */
struct req_arg {
	int fd;
	unsigned long cap;
	int r;
};

static void *check_ext_thread(void *arg)
{
	struct req_arg *q = arg;

	q->r = hvk_ioctl(H, q->fd, KVM_CHECK_EXTENSION, q->cap);
	return NULL;
}

/* Checks come after the threads are joined: a failure leaves none running. */
static void test_threads_during_run(void)
{
	int kvm = start(false), vm, a, b;
	struct run_arg ra = {0};
	struct req_arg q[4];
	unsigned int held = 0;
	pthread_t t, rt[4];

	CHECK(kvm >= 0);
	CHECK(!spin_in_thread(kvm, &vm, &a, &b, &t, &ra));
	for (int i = 0; i < 4; i++) {
		q[i] = (struct req_arg){
		    .fd = kvm, .cap = i % 2 ? KVM_CAP_USER_MEMORY : 0x7fff, .r = -7};
		if (pthread_create(&rt[i], NULL, check_ext_thread, &q[i]))
			abort();
	}
	/* All four are held by the peer before the run ends. */
	for (int i = 0; i < 300 && (held = PEEK(queued_total)) < 4; i++)
		usleep(10000);
	hvk_kick(H, a);
	for (int i = 0; i < 4; i++)
		pthread_join(rt[i], NULL);
	pthread_join(t, NULL);
	CHECK_EQ(held, 4);
	CHECK_EQ(ra.e, EINTR);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(q[i].r, i % 2 ? 1 : 0);
}

/* Two KVM_RUNs of one vCPU: the second goes out when the first has returned. */
static void test_same_vcpu_serialised(void)
{
	int kvm = start(false), vm, a, b;
	struct run_arg r1 = {0}, r2 = {0};
	unsigned int runs, overlapping;
	pthread_t t1, t2;

	CHECK(kvm >= 0);
	CHECK(!spin_in_thread(kvm, &vm, &a, &b, &t1, &r1));
	r2.fd = a;
	if (pthread_create(&t2, NULL, run_thread, &r2))
		abort();
	usleep(200000);
	/* Not sent: the peer saw no second run of the spinning vCPU. */
	runs = PEEK(runs);
	overlapping = PEEK(runs_overlapping);
	hvk_kick(H, a);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK_EQ(runs, 1);
	CHECK_EQ(overlapping, 0);
	CHECK_EQ(r1.r, -1);
	CHECK_EQ(r1.e, EINTR);
	/* The second ran after it (the peer's kick ended the spin: it halts). */
	CHECK_EQ(r2.r, 0);
	CHECK(r2.t_end >= r1.t_end);
	CHECK_EQ(PEEK(runs), 2);
	CHECK_EQ(PEEK(runs_overlapping), 0);
}

/* Closing the VM whose vCPU runs: the run ends (EINTR) and the VM goes. */
static void test_close_during_run(void)
{
	int kvm = start(false), vm, a, b, r;
	struct run_arg ra = {0};
	pthread_t t;

	CHECK(kvm >= 0);
	CHECK(!spin_in_thread(kvm, &vm, &a, &b, &t, &ra));
	r = hvk_close_fd(H, vm);
	if (r)
		hvk_kick(H, a);
	pthread_join(t, NULL);
	CHECK_EQ(r, 0);
	CHECK_EQ(ra.r, -1);
	CHECK_EQ(ra.e, EINTR);
	CHECK_EQ(PEEK(closes), 1);
	CHECK_EQ(PEEK(kicks), 1);
	CHECK_ERR(hvk_ioctl(H, a, KVM_RUN, 0), EBADF);
}

static uint32_t ioctl_frame(uint8_t *payload, uint32_t nr, uint16_t target, uint32_t vm,
			    uint32_t vcpu, const void *arg, uint32_t len)
{
	struct hvw_ioctl_req_hdr h = {
	    .nr = nr, .target = target, .vm = vm, .vcpu = vcpu, .arg_len = len};

	hvw_ioctl_req_hdr_put(payload, &h);
	memcpy(payload + HVW_IOCTL_REQ_HDR_LEN, arg, len);
	return HVW_IOCTL_REQ_HDR_LEN + len;
}

/* Frames sent without waiting, collected in any order; -EBUSY beyond the peer's queue. */
static void test_send_frame(void)
{
	int kvm = start(false), vm, a, b, sent = 0, busy[5], early[2], errs[2];
	struct run_arg ra = {0};
	uint8_t pl[64], buf[64], type;
	uint64_t cap = KVM_CAP_USER_MEMORY;
	uint32_t seq[5], n;
	struct hvw_ioctl_resp resp;
	struct hvw_error e;
	pthread_t t;

	CHECK(kvm >= 0);
	CHECK(!spin_in_thread(kvm, &vm, &a, &b, &t, &ra));
	ARM(queue_max, 3);
	n = ioctl_frame(pl, KVM_CHECK_EXTENSION, HVW_TARGET_SYSTEM, 0, 0, &cap, 8);
	for (int i = 0; i < 5; i++)
		sent += hvk_send_frame(H, HVW_IOCTL_REQ, pl, n, &seq[i]) == 0;
	/* The two beyond the queue are refused at once, the others wait for the run. */
	for (int i = 3; i < 5 && sent == 5; i++) {
		int r = hvk_wait_frame(H, seq[i], 5000, &type, buf, sizeof(buf));

		busy[i] = r >= 4 && type == HVW_ERROR && hvw_parse_error(buf, (uint32_t)r, &e) == 0
			      ? e.err
			      : 0;
	}
	for (int i = 0; i < 2 && sent == 5; i++) {
		early[i] = hvk_wait_frame(H, seq[i], i ? 100 : 0, &type, buf, sizeof(buf));
		errs[i] = errno;
	}
	hvk_kick(H, a);
	pthread_join(t, NULL);
	CHECK_EQ(sent, 5);
	CHECK_EQ(busy[3], -EBUSY);
	CHECK_EQ(busy[4], -EBUSY);
	CHECK_EQ(early[0], -1);
	CHECK_EQ(errs[0], ETIMEDOUT);
	CHECK_EQ(early[1], -1);
	CHECK_EQ(errs[1], ETIMEDOUT);
	CHECK_EQ(ra.e, EINTR);
	for (int i = 2; i >= 0; i--) {
		int r = hvk_wait_frame(H, seq[i], 5000, &type, buf, sizeof(buf));

		CHECK(r > 0);
		CHECK_EQ(type, HVW_IOCTL_RESP);
		CHECK_EQ(hvw_parse_ioctl_resp(buf, (uint32_t)r, &resp), 0);
		CHECK_EQ(resp.result, 1);
	}
	/* Collected: gone. Never sent: unknown. */
	CHECK_ERR(hvk_wait_frame(H, seq[0], 0, &type, buf, sizeof(buf)), ENOENT);
	CHECK_ERR(hvk_wait_frame(H, 12345, 0, &type, buf, sizeof(buf)), ENOENT);
	/* An answer longer than the room: cut, and said so. */
	CHECK_EQ(hvk_send_frame(H, HVW_IOCTL_REQ, pl, n, &seq[0]), 0);
	CHECK_ERR(hvk_wait_frame(H, seq[0], 5000, &type, buf, 4), EMSGSIZE);
	/* A KICK has seq 0 and no answer; a blocking call still works after all this. */
	CHECK_EQ(hvk_send_frame(H, HVW_KICK, pl, HVW_KICK_LEN, &seq[0]), 0);
	CHECK_EQ(seq[0], 0);
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), 12);
	/* An uncollected answer is freed by hvk_close (the fixture). */
	CHECK_EQ(hvk_send_frame(H, HVW_IOCTL_REQ, pl, n, &seq[0]), 0);
}

/* A blocking call that finds the queue full fails with EBUSY. */
static void test_busy_errno(void)
{
	int kvm = start(false), vm, a, b, r, e, sent;
	struct run_arg ra = {0};
	uint8_t pl[64];
	uint64_t cap = 0;
	uint32_t n, seq;
	pthread_t t;

	CHECK(kvm >= 0);
	CHECK(!spin_in_thread(kvm, &vm, &a, &b, &t, &ra));
	ARM(queue_max, 1);
	n = ioctl_frame(pl, KVM_CHECK_EXTENSION, HVW_TARGET_SYSTEM, 0, 0, &cap, 8);
	sent = hvk_send_frame(H, HVW_IOCTL_REQ, pl, n, &seq);
	errno = 0;
	r = hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0);
	e = errno;
	hvk_kick(H, a);
	pthread_join(t, NULL);
	CHECK_EQ(sent, 0);
	CHECK_EQ(r, -1);
	CHECK_EQ(e, EBUSY);
	CHECK(strstr(hvk_last_error(), "queue full"));
	CHECK_EQ(ra.e, EINTR);
}

/* ---- Tests: a bad line ---- */

static void test_timeout(void)
{
	int kvm = start(false);
	struct hvk_stats st;
	int64_t t0, dt;

	CHECK(kvm >= 0);
	hvk_set_timeout(H, 200);
	ARM(silent, 1);
	t0 = now_ms();
	CHECK_ERR(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), ETIMEDOUT);
	dt = now_ms() - t0;
	CHECK(dt >= 190 && dt < 2000);
	CHECK(strstr(hvk_last_error(), "KVM_GET_API_VERSION: no answer within 200 ms"));
	hvk_stats(H, &st);
	CHECK_EQ(st.timeouts, 1);
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), 12);
}

static void test_late_answer(void)
{
	int kvm = start(false);
	struct hvk_stats st;

	CHECK(kvm >= 0);
	hvk_set_timeout(H, 150);
	ARM(delay_ms, 400);
	CHECK_ERR(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), ETIMEDOUT);
	/* The late answer arrives first and is skipped by its seq. */
	hvk_set_timeout(H, 2000);
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY), 1);
	hvk_stats(H, &st);
	CHECK_EQ(st.stale_frames, 1);
}

static void test_garbage_before_answer(void)
{
	int kvm = start(false);
	struct hvk_stats st;

	CHECK(kvm >= 0);
	ARM(garbage, 1000);
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), 12);
	hvk_stats(H, &st);
	CHECK_EQ(st.garbage_bytes, 1000);
	CHECK_EQ(st.responses, 2); /* HELLO and this one */
}

static void test_stray_frames(void)
{
	int kvm = start(false);
	struct hvk_stats st;

	CHECK(kvm >= 0);
	ARM(bad_crc, true);
	ARM(wrong_seq, true);
	ARM(unsolicited, true);
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), 12);
	hvk_stats(H, &st);
	CHECK_EQ(st.crc_errors, 1);
	CHECK_EQ(st.stale_frames, 1);
	CHECK_EQ(st.unsolicited_errors, 1);
	CHECK(st.garbage_bytes > 0);
}

static void test_false_start(void)
{
	int kvm = start(false);
	struct hvk_stats st;
	int64_t t0, dt;

	CHECK(kvm >= 0);
	hvk_set_idle_resync_ms(H, 100);
	ARM(false_start, true);
	t0 = now_ms();
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), 12);
	dt = now_ms() - t0;
	CHECK(dt >= 90);
	hvk_stats(H, &st);
	CHECK(st.idle_resyncs >= 1);
	CHECK_EQ(st.garbage_bytes, HVW_HDR_LEN);
	/* The line is clean again. */
	t0 = now_ms();
	CHECK_EQ(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), 12);
	CHECK(now_ms() - t0 < 90);
}

static void test_closed_line(void)
{
	int kvm = start(false);

	CHECK(kvm >= 0);
	ARM(close_conn, true);
	CHECK_ERR(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0), ECONNRESET);
	CHECK(strstr(hvk_last_error(), "closed"));
	/* Sending on it now fails too (and raises no SIGPIPE). */
	errno = 0;
	CHECK(hvk_ioctl(H, kvm, KVM_GET_API_VERSION, 0) == -1);
	CHECK(errno == EPIPE || errno == ECONNRESET);
}

static void test_power_off(void)
{
	int kvm = start(false);

	CHECK(kvm >= 0);
	CHECK_EQ(hvk_power_off(H), 0);
	CHECK_EQ(PEEK(power_offs), 1);
	/* A hypervisor that goes away without answering is fine too. */
	ARM(close_conn, true);
	CHECK_EQ(hvk_power_off(H), 0);
}

static void test_names(void)
{
	CHECK(!strcmp(hvk_errno_name(ENODEV), "ENODEV"));
	CHECK(!strcmp(hvk_errno_name(E2BIG), "E2BIG"));
	CHECK(!strcmp(hvk_errno_name(4000), "E4000"));
	CHECK(!strcmp(hvk_exit_name(KVM_EXIT_HLT), "HLT"));
	CHECK(!strcmp(hvk_exit_name(KVM_EXIT_INTERNAL_ERROR), "INTERNAL_ERROR"));
	CHECK(!hvk_exit_name(13));
	CHECK(!hvk_exit_name(1000));
	CHECK(!strcmp(hvk_ioctl_name(KVM_SET_USER_MEMORY_REGION), "KVM_SET_USER_MEMORY_REGION"));
	CHECK(!hvk_ioctl_name(0x5401));
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
#define T(f)                                                                                       \
	{                                                                                          \
#f, f                                                                              \
	}
    T(test_handshake),
    T(test_handshake_bad_version),
    T(test_handshake_retry),
    T(test_handshake_timeout),
    T(test_where_errors),
    T(test_tcp),
    T(test_unix),
    T(test_ioctl_integers),
    T(test_ioctl_errnos),
    T(test_pseudo_fds),
    T(test_counted_records),
    T(test_msr_filter),
    T(test_msr_filter_packed),
    T(test_run_pio),
    T(test_mem_sync),
    T(test_mem_sync_off_and_pull),
    T(test_mem_region_checks),
    T(test_mem_changed),
    T(test_mem_changed_bytes),
    T(test_kick_thread),
    T(test_kick_signal),
    T(test_kick_early),
    T(test_kick_legacy),
    T(test_close),
    T(test_sessions),
    T(test_sessions_legacy),
    T(test_request_during_run),
    T(test_threads_during_run),
    T(test_same_vcpu_serialised),
    T(test_close_during_run),
    T(test_send_frame),
    T(test_busy_errno),
    T(test_timeout),
    T(test_late_answer),
    T(test_garbage_before_answer),
    T(test_stray_frames),
    T(test_false_start),
    T(test_closed_line),
    T(test_power_off),
    T(test_names),
#undef T
};

int main(void)
{
	unsigned int passed = 0, failed = 0;

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		why[0] = 0;
		tests[i].fn();
		fixture_end();
		if (why[0]) {
			printf("FAIL %s: %s\n", tests[i].name, why);
			failed++;
		} else {
			printf("PASS %s\n", tests[i].name);
			passed++;
		}
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
