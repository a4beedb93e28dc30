/* SPDX-License-Identifier: MIT */
/*
 * hvwire: the frames the remote controller and the hypervisor exchange over
 * the channel (a serial port or a virtio console).
 *
 * One C implementation (abi/hvwire.c) serves both ends: it builds
 * freestanding into the hypervisor (no allocation, no floating point, no
 * logging: functions return counts or negative errnos from abi/errno.h and
 * the caller logs) and on the host into tools and tests.
 *
 * Frame, every integer little-endian:
 *
 *	off   size  field
 *	0     2     magic 'H' 'V' (0x48 0x56), the start marker
 *	2     1     version, HVW_VERSION
 *	3     1     type, enum hvw_type (unknown values are still decoded)
 *	4     4     seq, matches a response to its request
 *	8     4     payload length N, at most HVW_MAX_PAYLOAD
 *	12    N     payload
 *	12+N  4     CRC32C (Castagnoli) of bytes [0, 12+N)
 *
 * Requests and responses: the sender of a request picks its seq with
 * hvw_seq_next() (never 0); the answer (the matching *_RESP type, or
 * HVW_ERROR) carries the request's seq. The hypervisor sends nothing
 * unsolicited except HVW_ERROR with seq 0 (for example about a frame it
 * could not attribute). A received frame of an unknown type is answered
 * with HVW_ERROR -ENOTTY and the frame's seq; HVW_POWER_OFF is answered
 * with HVW_IOCTL_RESP result 0, then the hypervisor ends its run.
 *
 * HVW_KICK is the one request that is never answered: the controller sends
 * it with seq 0 (the hypervisor ignores its seq), at any time, even while
 * an answer to another request is outstanding. While a KVM_RUN of that vCPU
 * is in progress the hypervisor acts on it at once: the run returns
 * -EINTR with exit_reason KVM_EXIT_INTR, as ioctl(KVM_RUN) does when a
 * signal arrives. Outside such a run it is ignored (a signal outside
 * KVM_RUN does not affect the next run either). A malformed KICK gets an
 * HVW_ERROR with seq 0 (or, during a run, a log line).
 *
 * During a run the hypervisor keeps decoding frames. A HELLO stops the run
 * (a new controller) and a CLOSE of the running VM stops it too; both are
 * then served after the run's answer. Other requests (a second KVM_RUN of
 * the vCPU included) wait in a queue of 8 and are served, oldest first,
 * once the run has returned; a request that finds the queue full is
 * answered at once with HVW_ERROR -EBUSY and its seq. Answers may thus
 * come in another order than the requests: match them by seq.
 *
 * HVW_CLOSE destroys a VM (its vCPUs, memory slots and EPT), answered with
 * HVW_IOCTL_RESP result 0, or -EBADF for a handle that names no VM.
 *
 * Sessions (HVW_CAP_SESSION): the line carries one controller at a time,
 * and every VM made with KVM_CREATE_VM over the channel belongs to the
 * session of the controller that made it. A session ends when a HELLO
 * arrives (a new controller took the line: the one before it would not
 * say HELLO again) or with HVW_BYE; its VMs are then destroyed, as Linux
 * destroys a program's VMs when its last fd closes. VMs the hypervisor's
 * own boot controller made (GRUB modules) belong to no session
 * (HVW_OWNER_BOOT) and are never reclaimed that way. Sessions are
 * numbered from 1; the session after the one that ended has the next
 * number, and requests after a BYE (without a HELLO) belong to it.
 *
 * HVW_BYE ends the sender's session: its VMs are destroyed, then it is
 * answered with HVW_IOCTL_RESP, the number of VMs destroyed as result. A
 * BYE with seq 0 is not answered (a relay that speaks for a controller
 * that left: nobody is there to read an answer), except a malformed one,
 * which gets an HVW_ERROR with seq 0 as a malformed KICK does. A malformed
 * BYE ends nothing; a BYE when the session has already ended destroys
 * nothing and answers 0. During a KVM_RUN a BYE stops the run, as a HELLO
 * does, and is served after the run's answer.
 *
 * HVW_LIST_REQ asks for the live VMs, answered with HVW_LIST_RESP: the
 * caller's session number, the limits, the allocator's free pages and
 * one entry per VM in ascending handle order (owner HVW_OWNER_BOOT, or
 * the session number that made it). It changes nothing.
 *
 * HVW_MEM_CHANGED_REQ asks for the pages of a range that differ from the
 * controller's copy. The hypervisor keeps, per memory slot page, a 64-bit
 * hash of the controller's copy: 0 (all zero) when the slot is created,
 * set by a MEM_WRITE with HVW_MEM_WRITE_TRACK (the whole pages it covers,
 * as they are after the write) and by every page a MEM_CHANGED_RESP
 * carries. The answer lists, in ascending gpa, each backed page of the
 * range whose hash differs, with its bytes or, for a page that is now all
 * zero, the HVW_PAGE_ZERO flag alone; pages that did not change and zero
 * pages the controller knows are zero are not sent. An answer holds at
 * most HVW_MAX_ARG payload bytes; "next" says where the scan stopped, so
 * the controller asks again from there until next reaches the range's end.
 *
 * Payloads (offsets from the start of the payload):
 *
 *	HELLO_REQ      u32 min_version, u32 max_version, char client[32]
 *	HELLO_RESP     u32 version, u32 flags, char identity[64], u64 caps
 *	IOCTL_REQ      struct hvw_ioctl_req_hdr (20 bytes), arg_len bytes
 *	IOCTL_RESP     i64 result (>= 0, or -errno as ioctl(2) reports it),
 *	               then the out-argument bytes
 *	MEM_WRITE      u32 vm, u32 flags (HVW_MEM_WRITE_*), u64 gpa, the bytes
 *	MEM_READ_REQ   u32 vm, u32 len, u64 gpa
 *	MEM_READ_RESP  the len bytes read
 *	ERROR          i32 -errno, then text (not NUL-terminated)
 *	POWER_OFF      empty
 *	KICK           u32 vm, u32 vcpu
 *	CLOSE          u32 vm, u32 reserved (0)
 *	MEM_CHANGED_REQ   u32 vm, u32 flags (HVW_MEM_CHANGED_*), u64 gpa, u64 len (both
 *	               multiples of HVW_PAGE_SIZE, the range not wrapping)
 *	MEM_CHANGED_RESP  u64 next, u32 count, u32 reserved (0), then count
 *	               entries: u64 gpa, u32 flags (HVW_PAGE_*), u32 reserved
 *	               (0; with HVW_PAGE_PACKED the length of the packed bytes
 *	               that follow), followed by HVW_PAGE_SIZE bytes unless the
 *	               flags have HVW_PAGE_ZERO or HVW_PAGE_PACKED; gpas
 *	               page-aligned, ascending, below next
 *	BYE            u32 reason (HVW_BYE_*), u32 reserved (0)
 *	LIST_REQ       u32 flags (0), u32 reserved (0)
 *	LIST_RESP      u32 count, u32 session (the caller's), u32 max_vms,
 *	               u32 max_vcpus (per VM), u64 free_pages (4 KiB pages
 *	               the hypervisor's allocator has free), then count
 *	               entries: u32 handle, u32 owner (HVW_OWNER_BOOT or a
 *	               session), u32 vcpus, u32 reserved (0), u64 memory
 *	               (bytes of guest memory in its slots), char name[32];
 *	               handles ascending, none 0
 *
 * Strings in fixed fields hold a NUL within the field and printable ASCII
 * before it; parsers refuse anything else. Parsers read untrusted bytes:
 * each field is read once into the output structure, then checked; on an
 * error (negative return) the output structure is meaningless.
 */
#ifndef ABI_HVWIRE_H
#define ABI_HVWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HVW_MAGIC0  0x48 /* 'H' */
#define HVW_MAGIC1  0x56 /* 'V' */
#define HVW_VERSION 1

#define HVW_HDR_LEN	12
#define HVW_CRC_LEN	4
#define HVW_OVERHEAD	(HVW_HDR_LEN + HVW_CRC_LEN)
#define HVW_MAX_ARG	65536u /* ioctl argument, memory access */
#define HVW_MAX_PAYLOAD (HVW_MAX_ARG + 64u)
#define HVW_MAX_FRAME	(HVW_OVERHEAD + HVW_MAX_PAYLOAD)
/* Bytes of a frame whose payload is @n bytes long. */
#define HVW_FRAME_SIZE(n) ((size_t)HVW_OVERHEAD + (n))

/* The largest error number a negative result may carry (as in Linux). */
#define HVW_MAX_ERRNO 4095

enum hvw_type {
	HVW_HELLO_REQ = 1,
	HVW_HELLO_RESP = 2,
	HVW_IOCTL_REQ = 3,
	HVW_IOCTL_RESP = 4,
	HVW_MEM_WRITE = 5,
	HVW_MEM_READ_REQ = 6,
	HVW_MEM_READ_RESP = 7,
	HVW_ERROR = 8,
	HVW_POWER_OFF = 9,
	HVW_KICK = 10,
	HVW_CLOSE = 11,
	HVW_MEM_CHANGED_REQ = 12,
	HVW_MEM_CHANGED_RESP = 13,
	HVW_BYE = 14,
	HVW_LIST_REQ = 15,
	HVW_LIST_RESP = 16,
};

/* "IOCTL_REQ" and so on, or "unknown". */
const char *hvw_type_name(uint8_t type);

/*
 * The next request seq after *@counter, skipping 0 (reserved for the
 * hypervisor's unsolicited HVW_ERROR); stores it back and returns it.
 */
uint32_t hvw_seq_next(uint32_t *counter);

/* ---- CRC32C: Castagnoli, reflected, init ~0, final xor ~0 ---- */

#define HVW_CRC32C_POLY 0x82F63B78u

/*
 * Continue a CRC32C over @n more bytes; @crc is a previous result (0 to
 * start), so hvw_crc32c_update(hvw_crc32c_update(0, a, x), b, y) is the
 * CRC of a followed by b. The lookup table is built on first use.
 */
uint32_t hvw_crc32c_update(uint32_t crc, const void *buf, size_t n);
uint32_t hvw_crc32c(const void *buf, size_t n);

/* ---- Encoding ----
 *
 * Each encoder writes one whole frame to @out and returns its size, or 0
 * when it does not fit in @cap bytes, the payload would exceed
 * HVW_MAX_PAYLOAD or a typed record is invalid (what its parser refuses).
 * The payload may already sit in place at out + HVW_HDR_LEN.
 */
size_t hvw_encode(uint8_t *out, size_t cap, uint8_t type, uint32_t seq, const void *payload,
		  uint32_t len);

/* The payload in two parts, @head then @data: a fixed record and its bytes. */
size_t hvw_encode2(uint8_t *out, size_t cap, uint8_t type, uint32_t seq, const void *head,
		   uint32_t head_len, const void *data, uint32_t data_len);

/*
 * Just the 12 header bytes, for a sender that streams a frame without
 * assembling it: header, payload, then the little-endian CRC32C of both
 * (hvw_crc32c_update over the header, then the payload).
 */
void hvw_put_header(uint8_t hdr[HVW_HDR_LEN], uint8_t type, uint32_t seq, uint32_t len);

/* ---- Streaming decoder ----
 *
 * Bytes go in with hvw_decoder_feed(), frames come out of
 * hvw_decoder_next(). The decoder looks for the magic; a candidate with a
 * bad version, a length over HVW_MAX_PAYLOAD or a CRC mismatch loses only
 * its first byte and the scan resumes right after it, so a frame that
 * starts inside garbage (or inside a damaged frame) is still found.
 *
 * A false start whose length field is plausible holds the bytes after it
 * until that many have arrived. When the line goes idle with bytes still
 * buffered, the caller may call hvw_decoder_resync() to give up on that
 * candidate.
 */
struct hvw_frame {
	uint8_t type;
	uint32_t seq;
	uint32_t len;
	const uint8_t *payload; /* in the decoder; valid until its next call */
};

struct hvw_decoder {
	/* Counters, for the caller's log lines. */
	uint64_t frames;	  /* valid frames returned */
	uint64_t bytes_discarded; /* bytes skipped, whatever the reason */
	uint64_t crc_errors;	  /* candidates dropped: CRC mismatch */
	uint64_t oversize;	  /* candidates dropped: length over max */
	uint64_t bad_version;	  /* candidates dropped: version */
	/* Private. */
	uint32_t head; /* first unconsumed byte in buf */
	uint32_t len;  /* bytes held in buf */
	uint32_t done; /* size of the frame last returned */
	uint8_t buf[HVW_MAX_FRAME];
};

void hvw_decoder_init(struct hvw_decoder *d);

/*
 * Take up to @n bytes, as many as fit; returns how many were taken. Once
 * hvw_decoder_next() has returned 0, at least one byte fits.
 */
size_t hvw_decoder_feed(struct hvw_decoder *d, const uint8_t *bytes, size_t n);

/*
 * 1: a valid frame is in *@out (its payload points into the decoder and
 * stays valid until the next hvw_decoder_next() or hvw_decoder_resync();
 * feeding does not move it). 0: more bytes are needed.
 */
int hvw_decoder_next(struct hvw_decoder *d, struct hvw_frame *out);

/* Bytes held, including those of the frame last returned. */
size_t hvw_decoder_buffered(const struct hvw_decoder *d);

/* Give up on the buffered candidate: drop its first byte (counted). */
void hvw_decoder_resync(struct hvw_decoder *d);

/* ---- HELLO ---- */

#define HVW_HELLO_CLIENT_LEN   32
#define HVW_HELLO_IDENTITY_LEN 64
#define HVW_HELLO_REQ_LEN      (8 + HVW_HELLO_CLIENT_LEN)	/* 40 */
#define HVW_HELLO_RESP_LEN     (8 + HVW_HELLO_IDENTITY_LEN + 8) /* 80 */

struct hvw_hello_req {
	uint32_t min_version;
	uint32_t max_version;
	char client[HVW_HELLO_CLIENT_LEN]; /* NUL-terminated */
};

struct hvw_hello_resp {
	uint32_t version;
	uint32_t flags;			       /* HVW_HELLO_FLAG_* */
	char identity[HVW_HELLO_IDENTITY_LEN]; /* NUL-terminated */
	uint64_t caps;			       /* HVW_CAP_* */
};

/* hvw_hello_resp.flags */
#define HVW_HELLO_FLAG_VMX (1u << 0) /* VT-x usable: VMs can be created */
/* hvw_hello_resp.caps */
#define HVW_CAP_KVM_IOCTL   (1ull << 0) /* KVM ioctls in IOCTL frames */
#define HVW_CAP_MEMORY	    (1ull << 1) /* MEM_WRITE / MEM_READ */
#define HVW_CAP_KICK	    (1ull << 2) /* KICK stops a running vCPU */
#define HVW_CAP_CLOSE	    (1ull << 3) /* CLOSE destroys a VM */
#define HVW_CAP_MEM_CHANGED (1ull << 4) /* MEM_CHANGED, MEM_WRITE_TRACK */
#define HVW_CAP_COMPACT_RUN (1ull << 5) /* HVW_IOCTL_COMPACT_RUN (abi/hvrun.h) */
#define HVW_CAP_SESSION	    (1ull << 6) /* VMs belong to the session; BYE, LIST */
#define HVW_CAP_PACKED	    (1ull << 7) /* HVW_IOCTL_PACKED, HVW_MEM_WRITE_PACKED */

/* Exactly HVW_HELLO_REQ_LEN bytes, min_version <= max_version, client a string. */
int hvw_parse_hello_req(const uint8_t *p, uint32_t len, struct hvw_hello_req *out);
/* Exactly HVW_HELLO_RESP_LEN bytes, identity a string. */
int hvw_parse_hello_resp(const uint8_t *p, uint32_t len, struct hvw_hello_resp *out);

/* The version to answer with: HVW_VERSION if the range holds it, else -EINVAL. */
int hvw_hello_version(const struct hvw_hello_req *r);

/* The strings must be valid (bytes after their NUL go out as zeros). */
size_t hvw_encode_hello_req(uint8_t *out, size_t cap, uint32_t seq, const struct hvw_hello_req *r);
size_t hvw_encode_hello_resp(uint8_t *out, size_t cap, uint32_t seq,
			     const struct hvw_hello_resp *r);

/* ---- IOCTL ---- */

/* Who the ioctl is addressed to; same values as hv/kvm/kvm_api.h's kvm_target. */
enum hvw_target {
	HVW_TARGET_SYSTEM = 0, /* vm and vcpu must be 0 */
	HVW_TARGET_VM = 1,     /* vcpu must be 0 */
	HVW_TARGET_VCPU = 2,
};

/*
 * Request flags; parsers refuse any other bit. HVW_IOCTL_COMPACT_RUN (only
 * on KVM_RUN to a vCPU, only with HVW_CAP_COMPACT_RUN): the argument and
 * the answer's argument are abi/hvrun.h's compact form instead of a whole
 * struct kvm_run.
 *
 * HVW_IOCTL_PACKED (only with HVW_CAP_PACKED): the argument is the packed
 * form of abi/hvpack.h (arg_len counts the packed bytes; it unpacks to at
 * most HVW_MAX_ARG), and the answer's out-argument bytes are packed too.
 * It goes with any ioctl, KVM_RUN's compact form included (the compact
 * bytes are what is packed). An argument that does not unpack is answered
 * with HVW_ERROR -EINVAL. A controller sends zeros as the argument of an
 * ioctl that only reads (_IOR): KVM reads nothing from it, and zeros pack
 * to a few bytes.
 */
#define HVW_IOCTL_COMPACT_RUN (1u << 0)
#define HVW_IOCTL_PACKED      (1u << 1)
#define HVW_IOCTL_FLAGS_KNOWN (HVW_IOCTL_COMPACT_RUN | HVW_IOCTL_PACKED)

#define HVW_IOCTL_REQ_HDR_LEN  20
#define HVW_IOCTL_RESP_HDR_LEN 8

/*
 * The request header. Its C layout has no padding (20 bytes) but it is
 * never cast onto wire bytes: use hvw_ioctl_req_hdr_get/put.
 */
struct hvw_ioctl_req_hdr {
	uint32_t nr;	 /* Linux KVM ioctl number (abi/kvm.h) */
	uint16_t target; /* enum hvw_target */
	uint16_t flags;
	uint32_t vm;
	uint32_t vcpu;
	uint32_t arg_len; /* argument bytes after the header */
};

_Static_assert(sizeof(struct hvw_ioctl_req_hdr) == HVW_IOCTL_REQ_HDR_LEN,
	       "ioctl request header has no padding");

void hvw_ioctl_req_hdr_put(uint8_t out[HVW_IOCTL_REQ_HDR_LEN], const struct hvw_ioctl_req_hdr *h);
void hvw_ioctl_req_hdr_get(struct hvw_ioctl_req_hdr *h, const uint8_t in[HVW_IOCTL_REQ_HDR_LEN]);

struct hvw_ioctl_req {
	struct hvw_ioctl_req_hdr hdr; /* copied out of the payload once */
	const uint8_t *arg;	      /* hdr.arg_len bytes, in the payload */
};

/*
 * -EINVAL: shorter than the header, target out of range, an unused handle
 * not 0, an unknown flag, or arg_len not the rest of the payload;
 * -E2BIG: arg_len over HVW_MAX_ARG.
 */
int hvw_parse_ioctl_req(const uint8_t *p, uint32_t len, struct hvw_ioctl_req *out);

/* The header as given (arg_len included), then h->arg_len bytes of @arg. */
size_t hvw_encode_ioctl_req(uint8_t *out, size_t cap, uint32_t seq,
			    const struct hvw_ioctl_req_hdr *h, const void *arg);

struct hvw_ioctl_resp {
	int64_t result;	    /* >= 0, or -errno (-HVW_MAX_ERRNO..-1) */
	const uint8_t *arg; /* out-argument bytes, in the payload */
	uint32_t arg_len;
};

/* -EINVAL: short, or a result below -HVW_MAX_ERRNO; -E2BIG: arg over max. */
int hvw_parse_ioctl_resp(const uint8_t *p, uint32_t len, struct hvw_ioctl_resp *out);

size_t hvw_encode_ioctl_resp(uint8_t *out, size_t cap, uint32_t seq,
			     const struct hvw_ioctl_resp *r);

/* ---- Guest memory ---- */

#define HVW_MEM_WRITE_HDR_LEN 16
#define HVW_MEM_READ_REQ_LEN  16

/* hvw_mem_write.flags (the field was "reserved, 0" before HVW_CAP_MEM_CHANGED) */
#define HVW_MEM_WRITE_TRACK (1u << 0) /* the controller keeps these bytes as its copy */
/*
 * HVW_CAP_PACKED: the bytes after the header are the packed form of
 * abi/hvpack.h; the write covers the bytes they unpack to (at most
 * HVW_MAX_ARG). Receivers call hvw_mem_write_unpack() before using them.
 */
#define HVW_MEM_WRITE_PACKED	  (1u << 1)
#define HVW_MEM_WRITE_FLAGS_KNOWN (HVW_MEM_WRITE_TRACK | HVW_MEM_WRITE_PACKED)

struct hvw_mem_write {
	uint32_t vm;
	uint64_t gpa;
	const uint8_t *data; /* in the payload */
	uint32_t len;	     /* at most HVW_MAX_ARG */
	uint32_t flags;	     /* HVW_MEM_WRITE_*; send only with HVW_CAP_MEM_CHANGED */
};

struct hvw_mem_read_req {
	uint32_t vm;
	uint32_t len; /* at most HVW_MAX_ARG */
	uint64_t gpa;
};

/*
 * -EINVAL: short, an unknown flag, or [gpa, gpa + len) wraps past 2^64;
 * -E2BIG: more than HVW_MAX_ARG bytes.
 */
int hvw_parse_mem_write(const uint8_t *p, uint32_t len, struct hvw_mem_write *out);
/* -EINVAL: not exactly 16 bytes, or the range wraps; -E2BIG: len over max. */
int hvw_parse_mem_read_req(const uint8_t *p, uint32_t len, struct hvw_mem_read_req *out);

size_t hvw_encode_mem_write(uint8_t *out, size_t cap, uint32_t seq, const struct hvw_mem_write *w);

/*
 * For a parsed MEM_WRITE with HVW_MEM_WRITE_PACKED: unpack its bytes into
 * buf (cap bytes) and make w describe them (data = buf, len, the flag
 * cleared). Does nothing to one without the flag. -EINVAL: the bytes do
 * not unpack, or the unpacked range wraps; -E2BIG: over cap.
 */
int hvw_mem_write_unpack(struct hvw_mem_write *w, uint8_t *buf, size_t cap);
size_t hvw_encode_mem_read_req(uint8_t *out, size_t cap, uint32_t seq,
			       const struct hvw_mem_read_req *r);

/* ---- KICK, CLOSE ---- */

#define HVW_KICK_LEN  8
#define HVW_CLOSE_LEN 8

struct hvw_kick {
	uint32_t vm;
	uint32_t vcpu;
};

struct hvw_close {
	uint32_t vm;
};

/* -EINVAL: not exactly HVW_KICK_LEN bytes. */
int hvw_parse_kick(const uint8_t *p, uint32_t len, struct hvw_kick *out);
/* -EINVAL: not exactly HVW_CLOSE_LEN bytes, or reserved not 0. */
int hvw_parse_close(const uint8_t *p, uint32_t len, struct hvw_close *out);

/* A KICK goes out with seq 0; the frame is HVW_FRAME_SIZE(HVW_KICK_LEN) bytes. */
size_t hvw_encode_kick(uint8_t *out, size_t cap, uint32_t seq, const struct hvw_kick *k);
size_t hvw_encode_close(uint8_t *out, size_t cap, uint32_t seq, const struct hvw_close *c);

/* ---- MEM_CHANGED ---- */

#define HVW_PAGE_SIZE		  4096u
#define HVW_MEM_CHANGED_REQ_LEN	  24
#define HVW_MEM_CHANGED_HEAD_LEN  16 /* the answer's head */
#define HVW_MEM_CHANGED_ENTRY_LEN 16 /* an entry, without its page */
/*
 * hvw_mem_changed_req.flags: HVW_MEM_CHANGED_PACKED (only with
 * HVW_CAP_PACKED) lets the answer carry pages packed (HVW_PAGE_PACKED).
 */
#define HVW_MEM_CHANGED_PACKED	    (1u << 0)
#define HVW_MEM_CHANGED_FLAGS_KNOWN HVW_MEM_CHANGED_PACKED
/*
 * hvw_page.flags. HVW_PAGE_PACKED (answers to HVW_MEM_CHANGED_PACKED
 * only): the entry's last field is not reserved but the length n of the
 * bytes that follow (0 < n <= HVW_PAGE_SIZE), the packed form of
 * abi/hvpack.h of the page; hvw_page_bytes() unpacks it.
 */
#define HVW_PAGE_ZERO	     (1u << 0) /* all zero; no bytes follow */
#define HVW_PAGE_PACKED	     (1u << 1)
#define HVW_PAGE_FLAGS_KNOWN (HVW_PAGE_ZERO | HVW_PAGE_PACKED)

struct hvw_mem_changed_req {
	uint32_t vm;
	uint64_t gpa;
	uint64_t len;
	uint32_t flags; /* HVW_MEM_CHANGED_* */
};

/* The answer: its head, and the entries still in the payload. */
struct hvw_mem_changed_resp {
	uint64_t next;	     /* the scan covered [request gpa, next) */
	uint32_t count;	     /* entries */
	const uint8_t *body; /* the entries, in the payload */
	uint32_t body_len;
};

/* One entry of an answer. */
struct hvw_page {
	uint64_t gpa;
	uint32_t flags;	     /* HVW_PAGE_* */
	const uint8_t *data; /* len bytes; NULL with HVW_PAGE_ZERO */
	uint32_t len;	     /* HVW_PAGE_SIZE, the packed length, or 0 */
};

/*
 * The page an entry stands for, into out: zeros, its bytes, or its packed
 * bytes unpacked. -EINVAL: packed bytes that are not a page's packed form.
 */
int hvw_page_bytes(const struct hvw_page *pg, uint8_t out[HVW_PAGE_SIZE]);

/*
 * -EINVAL: not exactly HVW_MEM_CHANGED_REQ_LEN bytes, an unknown flag, gpa or
 * len not page-aligned, or the range wraps past 2^64 (len 0 is allowed).
 */
int hvw_parse_mem_changed_req(const uint8_t *p, uint32_t len, struct hvw_mem_changed_req *out);
size_t hvw_encode_mem_changed_req(uint8_t *out, size_t cap, uint32_t seq,
				  const struct hvw_mem_changed_req *r);

/*
 * Checks the whole answer: -EINVAL: short head, reserved bits, an entry
 * cut short or with an unknown flag, a gpa not page-aligned, not above
 * the previous one or not below next, bytes left after count entries;
 * -E2BIG: more than HVW_MAX_ARG bytes.
 */
int hvw_parse_mem_changed_resp(const uint8_t *p, uint32_t len, struct hvw_mem_changed_resp *out);

/*
 * Entry @*off of a parsed answer's body into *@pg, advancing *@off; 1 while
 * there is one, 0 at the end (-EINVAL on a body the parser did not accept).
 */
int hvw_mem_changed_entry(const struct hvw_mem_changed_resp *r, uint32_t *off, struct hvw_page *pg);

/* Builders, for a sender that writes the answer in place. */
void hvw_mem_changed_put_head(uint8_t p[HVW_MEM_CHANGED_HEAD_LEN], uint64_t next, uint32_t count);
/* @packed_len: the length of a HVW_PAGE_PACKED entry's bytes, else 0. */
void hvw_mem_changed_put_entry(uint8_t p[HVW_MEM_CHANGED_ENTRY_LEN], uint64_t gpa, uint32_t flags,
			       uint32_t packed_len);
/* The head, then r->body_len bytes of r->body (entries, as parsed). */
size_t hvw_encode_mem_changed_resp(uint8_t *out, size_t cap, uint32_t seq,
				   const struct hvw_mem_changed_resp *r);

/* ---- Sessions: BYE, LIST ---- */

#define HVW_BYE_LEN	   8
#define HVW_LIST_REQ_LEN   8
#define HVW_LIST_HEAD_LEN  24 /* the answer's head */
#define HVW_LIST_ENTRY_LEN 56
#define HVW_VM_NAME_LEN	   32
/* Entries one answer can hold. */
#define HVW_LIST_MAX ((HVW_MAX_ARG - HVW_LIST_HEAD_LEN) / HVW_LIST_ENTRY_LEN)

/* hvw_bye.reason: for the hypervisor's log line only */
#define HVW_BYE_CLOSING	   0 /* the controller closes its connection */
#define HVW_BYE_GONE	   1 /* a relay saw the controller's connection end */
#define HVW_BYE_REASON_MAX HVW_BYE_GONE

/* hvw_vm_entry.owner of a VM made by the hypervisor's boot controller */
#define HVW_OWNER_BOOT 0

struct hvw_bye {
	uint32_t reason;
};

struct hvw_list_req {
	uint32_t flags; /* none defined: 0 */
};

/* One VM of a LIST answer. */
struct hvw_vm_entry {
	uint32_t handle;
	uint32_t owner; /* HVW_OWNER_BOOT, or the session that made it */
	uint32_t vcpus;
	uint64_t memory;	    /* bytes */
	char name[HVW_VM_NAME_LEN]; /* NUL-terminated */
};

/* The answer: its head, and the entries still in the payload. */
struct hvw_list_resp {
	uint32_t count;
	uint32_t session; /* the caller's */
	uint32_t max_vms, max_vcpus;
	uint64_t free_pages;
	const uint8_t *body; /* count * HVW_LIST_ENTRY_LEN bytes, in the payload */
};

/* -EINVAL: not exactly HVW_BYE_LEN bytes, an unknown reason, reserved not 0. */
int hvw_parse_bye(const uint8_t *p, uint32_t len, struct hvw_bye *out);
size_t hvw_encode_bye(uint8_t *out, size_t cap, uint32_t seq, const struct hvw_bye *b);

/* -EINVAL: not exactly HVW_LIST_REQ_LEN bytes, or flags or reserved not 0. */
int hvw_parse_list_req(const uint8_t *p, uint32_t len, struct hvw_list_req *out);
size_t hvw_encode_list_req(uint8_t *out, size_t cap, uint32_t seq, const struct hvw_list_req *r);

/*
 * Checks the whole answer: -EINVAL: short head, length not head + count
 * entries, an entry with reserved bits, handle 0, a handle not above the
 * previous one or a name that is not a string; -E2BIG: count over
 * HVW_LIST_MAX.
 */
int hvw_parse_list_resp(const uint8_t *p, uint32_t len, struct hvw_list_resp *out);
/* Entry @i (< count) of an answer the parser accepted. */
void hvw_list_entry(const struct hvw_list_resp *r, uint32_t i, struct hvw_vm_entry *out);

/* Builders, for a sender that writes the answer in place. */
void hvw_list_put_head(uint8_t p[HVW_LIST_HEAD_LEN], const struct hvw_list_resp *r);
/* The name is cut to 31 bytes; bytes that are not printable ASCII become '?'. */
void hvw_list_put_entry(uint8_t p[HVW_LIST_ENTRY_LEN], const struct hvw_vm_entry *e);
/* The head, then r->count entries from r->body (as built or parsed). */
size_t hvw_encode_list_resp(uint8_t *out, size_t cap, uint32_t seq, const struct hvw_list_resp *r);

/* ---- ERROR ---- */

#define HVW_ERROR_TEXT_MAX 256 /* text bytes kept, by both sides */

struct hvw_error {
	int32_t err;			   /* -HVW_MAX_ERRNO..-1 */
	char text[HVW_ERROR_TEXT_MAX + 1]; /* NUL-terminated */
};

/*
 * -EINVAL: shorter than 4 bytes or err not a negative errno. The text is
 * cut to HVW_ERROR_TEXT_MAX bytes, and any byte that is not printable
 * ASCII becomes '?', so it can go into a log line as it is.
 */
int hvw_parse_error(const uint8_t *p, uint32_t len, struct hvw_error *out);

/* @text is a C string; at most HVW_ERROR_TEXT_MAX bytes of it are sent. */
size_t hvw_encode_error(uint8_t *out, size_t cap, uint32_t seq, int32_t err, const char *text);

#endif
