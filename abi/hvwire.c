// SPDX-License-Identifier: MIT
/*
 * hvwire: frame codec, streaming decoder and payload records (see
 * abi/hvwire.h). Freestanding: only <stdint.h>, <stddef.h>, <stdbool.h>
 * and <string.h>; no allocation, no floating point, no logging.
 *
 * Wire integers are assembled byte by byte, so the code is right whatever
 * the host's byte order and never reads through a cast pointer.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "abi/hvpack.h"
#include "abi/hvwire.h"
#include "abi/le.h"
#include "abi/errno.h"

/* ---- Names and sequence numbers ---- */

static const char *const type_names[] = {
    [HVW_HELLO_REQ] = "HELLO_REQ",
    [HVW_HELLO_RESP] = "HELLO_RESP",
    [HVW_IOCTL_REQ] = "IOCTL_REQ",
    [HVW_IOCTL_RESP] = "IOCTL_RESP",
    [HVW_MEM_WRITE] = "MEM_WRITE",
    [HVW_MEM_READ_REQ] = "MEM_READ_REQ",
    [HVW_MEM_READ_RESP] = "MEM_READ_RESP",
    [HVW_ERROR] = "ERROR",
    [HVW_POWER_OFF] = "POWER_OFF",
    [HVW_KICK] = "KICK",
    [HVW_CLOSE] = "CLOSE",
    [HVW_MEM_CHANGED_REQ] = "MEM_CHANGED_REQ",
    [HVW_MEM_CHANGED_RESP] = "MEM_CHANGED_RESP",
    [HVW_BYE] = "BYE",
    [HVW_LIST_REQ] = "LIST_REQ",
    [HVW_LIST_RESP] = "LIST_RESP",
};

const char *hvw_type_name(uint8_t type)
{
	if (type < sizeof(type_names) / sizeof(type_names[0]) && type_names[type])
		return type_names[type];
	return "unknown";
}

uint32_t hvw_seq_next(uint32_t *counter)
{
	uint32_t seq = *counter + 1;

	if (seq == 0)
		seq = 1;
	*counter = seq;
	return seq;
}

/* ---- CRC32C ---- */

static uint32_t crc_tab[256];
static int crc_tab_ready;

/*
 * Entry i is the CRC register after shifting the byte i through it (eight
 * steps of the bitwise algorithm). Built on first use; two CPUs racing to
 * build it store the same values.
 */
static const uint32_t *crc_table(void)
{
	uint32_t i, c;
	int k;

	if (__atomic_load_n(&crc_tab_ready, __ATOMIC_ACQUIRE))
		return crc_tab;
	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (HVW_CRC32C_POLY & (0u - (c & 1u)));
		crc_tab[i] = c;
	}
	__atomic_store_n(&crc_tab_ready, 1, __ATOMIC_RELEASE);
	return crc_tab;
}

uint32_t hvw_crc32c_update(uint32_t crc, const void *buf, size_t n)
{
	const uint32_t *t = crc_table();
	const uint8_t *p = buf;
	uint32_t c = ~crc;

	while (n--)
		c = t[(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}

uint32_t hvw_crc32c(const void *buf, size_t n)
{
	return hvw_crc32c_update(0, buf, n);
}

/* ---- Encoding ---- */

void hvw_put_header(uint8_t hdr[HVW_HDR_LEN], uint8_t type, uint32_t seq, uint32_t len)
{
	hdr[0] = HVW_MAGIC0;
	hdr[1] = HVW_MAGIC1;
	hdr[2] = HVW_VERSION;
	hdr[3] = type;
	put_le32(hdr + 4, seq);
	put_le32(hdr + 8, len);
}

size_t hvw_encode2(uint8_t *out, size_t cap, uint8_t type, uint32_t seq, const void *head,
		   uint32_t head_len, const void *data, uint32_t data_len)
{
	uint64_t n = (uint64_t)head_len + data_len;
	uint32_t len;

	if (n > HVW_MAX_PAYLOAD || !out || cap < HVW_FRAME_SIZE(n))
		return 0;
	if ((head_len && !head) || (data_len && !data))
		return 0;
	len = (uint32_t)n;
	/* memmove: either part may already be in place. */
	if (head_len)
		memmove(out + HVW_HDR_LEN, head, head_len);
	if (data_len)
		memmove(out + HVW_HDR_LEN + head_len, data, data_len);
	hvw_put_header(out, type, seq, len);
	put_le32(out + HVW_HDR_LEN + len, hvw_crc32c(out, HVW_HDR_LEN + len));
	return HVW_FRAME_SIZE(len);
}

size_t hvw_encode(uint8_t *out, size_t cap, uint8_t type, uint32_t seq, const void *payload,
		  uint32_t len)
{
	return hvw_encode2(out, cap, type, seq, payload, len, NULL, 0);
}

/* ---- Decoder ---- */

void hvw_decoder_init(struct hvw_decoder *d)
{
	d->frames = 0;
	d->bytes_discarded = 0;
	d->crc_errors = 0;
	d->oversize = 0;
	d->bad_version = 0;
	d->head = 0;
	d->len = 0;
	d->done = 0;
}

size_t hvw_decoder_feed(struct hvw_decoder *d, const uint8_t *bytes, size_t n)
{
	size_t room = sizeof(d->buf) - d->len;

	if (n > room)
		n = room;
	if (n) {
		memcpy(d->buf + d->len, bytes, n);
		d->len += (uint32_t)n;
	}
	return n;
}

size_t hvw_decoder_buffered(const struct hvw_decoder *d)
{
	return d->len - d->head;
}

static void discard(struct hvw_decoder *d, uint32_t n)
{
	d->head += n;
	d->bytes_discarded += n;
}

/* Forget the frame returned last: its payload pointer is now stale. */
static void drop_returned(struct hvw_decoder *d)
{
	d->head += d->done;
	d->done = 0;
}

void hvw_decoder_resync(struct hvw_decoder *d)
{
	drop_returned(d);
	if (d->len > d->head)
		discard(d, 1);
}

int hvw_decoder_next(struct hvw_decoder *d, struct hvw_frame *out)
{
	const uint8_t *p, *m;
	uint32_t avail, n;

	drop_returned(d);
	for (;;) {
		p = d->buf + d->head;
		avail = d->len - d->head;
		if (avail && p[0] != HVW_MAGIC0) {
			m = memchr(p, HVW_MAGIC0, avail);
			discard(d, m ? (uint32_t)(m - p) : avail);
			continue;
		}
		if (avail < 2)
			break;
		if (p[1] != HVW_MAGIC1) {
			discard(d, 1);
			continue;
		}
		if (avail < HVW_HDR_LEN)
			break;
		if (p[2] != HVW_VERSION) {
			d->bad_version++;
			discard(d, 1);
			continue;
		}
		n = get_le32(p + 8);
		if (n > HVW_MAX_PAYLOAD) {
			d->oversize++;
			discard(d, 1);
			continue;
		}
		if (avail < HVW_FRAME_SIZE(n))
			break;
		if (hvw_crc32c(p, HVW_HDR_LEN + n) != get_le32(p + HVW_HDR_LEN + n)) {
			d->crc_errors++;
			discard(d, 1);
			continue;
		}
		out->type = p[3];
		out->seq = get_le32(p + 4);
		out->len = n;
		out->payload = p + HVW_HDR_LEN;
		d->done = (uint32_t)HVW_FRAME_SIZE(n);
		d->frames++;
		return 1;
	}
	/* Keep the partial candidate at the start: room for the rest. */
	if (d->head) {
		memmove(d->buf, d->buf + d->head, d->len - d->head);
		d->len -= d->head;
		d->head = 0;
	}
	return 0;
}

/* ---- Fixed string fields ---- */

/* A NUL within @n bytes and printable ASCII before it. */
static bool field_str_ok(const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == 0)
			return true;
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	}
	return false;
}

/* Copy a checked field: the string, then zeros. */
static void field_str_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n && src[i]; i++)
		dst[i] = src[i];
	memset(dst + i, 0, n - i);
}

/* ---- HELLO ---- */

int hvw_parse_hello_req(const uint8_t *p, uint32_t len, struct hvw_hello_req *out)
{
	if (len != HVW_HELLO_REQ_LEN)
		return -HV_EINVAL;
	out->min_version = get_le32(p);
	out->max_version = get_le32(p + 4);
	memcpy(out->client, p + 8, HVW_HELLO_CLIENT_LEN);
	if (out->min_version > out->max_version)
		return -HV_EINVAL;
	if (!field_str_ok((const uint8_t *)out->client, HVW_HELLO_CLIENT_LEN))
		return -HV_EINVAL;
	return 0;
}

int hvw_parse_hello_resp(const uint8_t *p, uint32_t len, struct hvw_hello_resp *out)
{
	if (len != HVW_HELLO_RESP_LEN)
		return -HV_EINVAL;
	out->version = get_le32(p);
	out->flags = get_le32(p + 4);
	memcpy(out->identity, p + 8, HVW_HELLO_IDENTITY_LEN);
	out->caps = get_le64(p + 8 + HVW_HELLO_IDENTITY_LEN);
	if (!field_str_ok((const uint8_t *)out->identity, HVW_HELLO_IDENTITY_LEN))
		return -HV_EINVAL;
	return 0;
}

int hvw_hello_version(const struct hvw_hello_req *r)
{
	if (r->min_version <= HVW_VERSION && HVW_VERSION <= r->max_version)
		return HVW_VERSION;
	return -HV_EINVAL;
}

size_t hvw_encode_hello_req(uint8_t *out, size_t cap, uint32_t seq, const struct hvw_hello_req *r)
{
	uint8_t b[HVW_HELLO_REQ_LEN];

	if (r->min_version > r->max_version ||
	    !field_str_ok((const uint8_t *)r->client, HVW_HELLO_CLIENT_LEN))
		return 0;
	put_le32(b, r->min_version);
	put_le32(b + 4, r->max_version);
	field_str_copy(b + 8, (const uint8_t *)r->client, HVW_HELLO_CLIENT_LEN);
	return hvw_encode(out, cap, HVW_HELLO_REQ, seq, b, sizeof(b));
}

size_t hvw_encode_hello_resp(uint8_t *out, size_t cap, uint32_t seq, const struct hvw_hello_resp *r)
{
	uint8_t b[HVW_HELLO_RESP_LEN];

	if (!field_str_ok((const uint8_t *)r->identity, HVW_HELLO_IDENTITY_LEN))
		return 0;
	put_le32(b, r->version);
	put_le32(b + 4, r->flags);
	field_str_copy(b + 8, (const uint8_t *)r->identity, HVW_HELLO_IDENTITY_LEN);
	put_le64(b + 8 + HVW_HELLO_IDENTITY_LEN, r->caps);
	return hvw_encode(out, cap, HVW_HELLO_RESP, seq, b, sizeof(b));
}

/* ---- IOCTL ---- */

void hvw_ioctl_req_hdr_put(uint8_t out[HVW_IOCTL_REQ_HDR_LEN], const struct hvw_ioctl_req_hdr *h)
{
	put_le32(out, h->nr);
	put_le16(out + 4, h->target);
	put_le16(out + 6, h->flags);
	put_le32(out + 8, h->vm);
	put_le32(out + 12, h->vcpu);
	put_le32(out + 16, h->arg_len);
}

void hvw_ioctl_req_hdr_get(struct hvw_ioctl_req_hdr *h, const uint8_t in[HVW_IOCTL_REQ_HDR_LEN])
{
	h->nr = get_le32(in);
	h->target = get_le16(in + 4);
	h->flags = get_le16(in + 6);
	h->vm = get_le32(in + 8);
	h->vcpu = get_le32(in + 12);
	h->arg_len = get_le32(in + 16);
}

/* Everything about a header except whether arg_len matches a payload. */
static int ioctl_req_hdr_check(const struct hvw_ioctl_req_hdr *h)
{
	switch (h->target) {
	case HVW_TARGET_SYSTEM:
		if (h->vm || h->vcpu)
			return -HV_EINVAL;
		break;
	case HVW_TARGET_VM:
		if (h->vcpu)
			return -HV_EINVAL;
		break;
	case HVW_TARGET_VCPU:
		break;
	default:
		return -HV_EINVAL;
	}
	if (h->flags & ~HVW_IOCTL_FLAGS_KNOWN)
		return -HV_EINVAL;
	if (h->arg_len > HVW_MAX_ARG)
		return -HV_E2BIG;
	return 0;
}

int hvw_parse_ioctl_req(const uint8_t *p, uint32_t len, struct hvw_ioctl_req *out)
{
	int ret;

	if (len < HVW_IOCTL_REQ_HDR_LEN)
		return -HV_EINVAL;
	/* The one read of the header; only the copy is checked and used. */
	hvw_ioctl_req_hdr_get(&out->hdr, p);
	ret = ioctl_req_hdr_check(&out->hdr);
	if (ret)
		return ret;
	if (out->hdr.arg_len != len - HVW_IOCTL_REQ_HDR_LEN)
		return -HV_EINVAL;
	out->arg = p + HVW_IOCTL_REQ_HDR_LEN;
	return 0;
}

size_t hvw_encode_ioctl_req(uint8_t *out, size_t cap, uint32_t seq,
			    const struct hvw_ioctl_req_hdr *h, const void *arg)
{
	uint8_t b[HVW_IOCTL_REQ_HDR_LEN];

	if (ioctl_req_hdr_check(h))
		return 0;
	hvw_ioctl_req_hdr_put(b, h);
	return hvw_encode2(out, cap, HVW_IOCTL_REQ, seq, b, sizeof(b), arg, h->arg_len);
}

int hvw_parse_ioctl_resp(const uint8_t *p, uint32_t len, struct hvw_ioctl_resp *out)
{
	if (len < HVW_IOCTL_RESP_HDR_LEN)
		return -HV_EINVAL;
	out->result = (int64_t)get_le64(p);
	out->arg_len = len - HVW_IOCTL_RESP_HDR_LEN;
	out->arg = p + HVW_IOCTL_RESP_HDR_LEN;
	if (out->result < -HVW_MAX_ERRNO)
		return -HV_EINVAL;
	if (out->arg_len > HVW_MAX_ARG)
		return -HV_E2BIG;
	return 0;
}

size_t hvw_encode_ioctl_resp(uint8_t *out, size_t cap, uint32_t seq, const struct hvw_ioctl_resp *r)
{
	uint8_t b[HVW_IOCTL_RESP_HDR_LEN];

	if (r->result < -HVW_MAX_ERRNO || r->arg_len > HVW_MAX_ARG)
		return 0;
	put_le64(b, (uint64_t)r->result);
	return hvw_encode2(out, cap, HVW_IOCTL_RESP, seq, b, sizeof(b), r->arg, r->arg_len);
}

/* ---- Guest memory ---- */

/* [gpa, gpa + len) must not wrap: its last byte is at most 2^64 - 1. */
static bool range_wraps(uint64_t gpa, uint32_t len)
{
	return len && gpa > UINT64_MAX - (len - 1);
}

int hvw_parse_mem_write(const uint8_t *p, uint32_t len, struct hvw_mem_write *out)
{
	if (len < HVW_MEM_WRITE_HDR_LEN)
		return -HV_EINVAL;
	out->vm = get_le32(p);
	out->flags = get_le32(p + 4);
	out->gpa = get_le64(p + 8);
	out->len = len - HVW_MEM_WRITE_HDR_LEN;
	out->data = p + HVW_MEM_WRITE_HDR_LEN;
	if (out->flags & ~HVW_MEM_WRITE_FLAGS_KNOWN)
		return -HV_EINVAL;
	if (out->len > HVW_MAX_ARG)
		return -HV_E2BIG;
	/* A packed write's range is known once unpacked (hvw_mem_write_unpack). */
	if (!(out->flags & HVW_MEM_WRITE_PACKED) && range_wraps(out->gpa, out->len))
		return -HV_EINVAL;
	return 0;
}

int hvw_mem_write_unpack(struct hvw_mem_write *w, uint8_t *buf, size_t cap)
{
	long n;

	if (!(w->flags & HVW_MEM_WRITE_PACKED))
		return 0;
	n = hvp_unpack(buf, cap < HVW_MAX_ARG ? cap : HVW_MAX_ARG, w->data, w->len);
	if (n < 0)
		return (int)n;
	if (range_wraps(w->gpa, (uint32_t)n))
		return -HV_EINVAL;
	w->data = buf;
	w->len = (uint32_t)n;
	w->flags &= ~HVW_MEM_WRITE_PACKED;
	return 0;
}

int hvw_parse_mem_read_req(const uint8_t *p, uint32_t len, struct hvw_mem_read_req *out)
{
	if (len != HVW_MEM_READ_REQ_LEN)
		return -HV_EINVAL;
	out->vm = get_le32(p);
	out->len = get_le32(p + 4);
	out->gpa = get_le64(p + 8);
	if (out->len > HVW_MAX_ARG)
		return -HV_E2BIG;
	if (range_wraps(out->gpa, out->len))
		return -HV_EINVAL;
	return 0;
}

size_t hvw_encode_mem_write(uint8_t *out, size_t cap, uint32_t seq, const struct hvw_mem_write *w)
{
	uint8_t b[HVW_MEM_WRITE_HDR_LEN];

	if (w->len > HVW_MAX_ARG || (w->flags & ~HVW_MEM_WRITE_FLAGS_KNOWN) ||
	    (!(w->flags & HVW_MEM_WRITE_PACKED) && range_wraps(w->gpa, w->len)))
		return 0;
	put_le32(b, w->vm);
	put_le32(b + 4, w->flags);
	put_le64(b + 8, w->gpa);
	return hvw_encode2(out, cap, HVW_MEM_WRITE, seq, b, sizeof(b), w->data, w->len);
}

size_t hvw_encode_mem_read_req(uint8_t *out, size_t cap, uint32_t seq,
			       const struct hvw_mem_read_req *r)
{
	uint8_t b[HVW_MEM_READ_REQ_LEN];

	if (r->len > HVW_MAX_ARG || range_wraps(r->gpa, r->len))
		return 0;
	put_le32(b, r->vm);
	put_le32(b + 4, r->len);
	put_le64(b + 8, r->gpa);
	return hvw_encode(out, cap, HVW_MEM_READ_REQ, seq, b, sizeof(b));
}

/* ---- KICK, CLOSE ---- */

int hvw_parse_kick(const uint8_t *p, uint32_t len, struct hvw_kick *out)
{
	if (len != HVW_KICK_LEN)
		return -HV_EINVAL;
	out->vm = get_le32(p);
	out->vcpu = get_le32(p + 4);
	return 0;
}

int hvw_parse_close(const uint8_t *p, uint32_t len, struct hvw_close *out)
{
	if (len != HVW_CLOSE_LEN)
		return -HV_EINVAL;
	out->vm = get_le32(p);
	if (get_le32(p + 4))
		return -HV_EINVAL;
	return 0;
}

size_t hvw_encode_kick(uint8_t *out, size_t cap, uint32_t seq, const struct hvw_kick *k)
{
	uint8_t b[HVW_KICK_LEN];

	put_le32(b, k->vm);
	put_le32(b + 4, k->vcpu);
	return hvw_encode(out, cap, HVW_KICK, seq, b, sizeof(b));
}

size_t hvw_encode_close(uint8_t *out, size_t cap, uint32_t seq, const struct hvw_close *c)
{
	uint8_t b[HVW_CLOSE_LEN];

	put_le32(b, c->vm);
	put_le32(b + 4, 0);
	return hvw_encode(out, cap, HVW_CLOSE, seq, b, sizeof(b));
}

/* ---- MEM_CHANGED ---- */

static bool page_aligned(uint64_t v)
{
	return (v & (HVW_PAGE_SIZE - 1)) == 0;
}

/* [gpa, gpa + len) for a 64-bit len: its last byte is at most 2^64 - 1. */
static bool range64_wraps(uint64_t gpa, uint64_t len)
{
	return len && gpa > UINT64_MAX - (len - 1);
}

int hvw_parse_mem_changed_req(const uint8_t *p, uint32_t len, struct hvw_mem_changed_req *out)
{
	if (len != HVW_MEM_CHANGED_REQ_LEN)
		return -HV_EINVAL;
	out->vm = get_le32(p);
	out->flags = get_le32(p + 4);
	out->gpa = get_le64(p + 8);
	out->len = get_le64(p + 16);
	if (out->flags & ~HVW_MEM_CHANGED_FLAGS_KNOWN)
		return -HV_EINVAL;
	if (!page_aligned(out->gpa) || !page_aligned(out->len) || range64_wraps(out->gpa, out->len))
		return -HV_EINVAL;
	return 0;
}

size_t hvw_encode_mem_changed_req(uint8_t *out, size_t cap, uint32_t seq,
				  const struct hvw_mem_changed_req *r)
{
	uint8_t b[HVW_MEM_CHANGED_REQ_LEN];

	if (!page_aligned(r->gpa) || !page_aligned(r->len) || range64_wraps(r->gpa, r->len) ||
	    (r->flags & ~HVW_MEM_CHANGED_FLAGS_KNOWN))
		return 0;
	put_le32(b, r->vm);
	put_le32(b + 4, r->flags);
	put_le64(b + 8, r->gpa);
	put_le64(b + 16, r->len);
	return hvw_encode(out, cap, HVW_MEM_CHANGED_REQ, seq, b, sizeof(b));
}

void hvw_mem_changed_put_head(uint8_t p[HVW_MEM_CHANGED_HEAD_LEN], uint64_t next, uint32_t count)
{
	put_le64(p, next);
	put_le32(p + 8, count);
	put_le32(p + 12, 0);
}

void hvw_mem_changed_put_entry(uint8_t p[HVW_MEM_CHANGED_ENTRY_LEN], uint64_t gpa, uint32_t flags,
			       uint32_t packed_len)
{
	put_le64(p, gpa);
	put_le32(p + 8, flags);
	put_le32(p + 12, packed_len);
}

/* The entry at body[*off], read once into *pg and checked; advances *off. */
static int changed_entry(const uint8_t *body, uint32_t body_len, uint32_t *off, struct hvw_page *pg)
{
	const uint8_t *e;
	uint32_t left = body_len - *off;

	if (left < HVW_MEM_CHANGED_ENTRY_LEN)
		return -HV_EINVAL;
	e = body + *off;
	pg->gpa = get_le64(e);
	pg->flags = get_le32(e + 8);
	pg->len = get_le32(e + 12);
	if ((pg->flags & ~HVW_PAGE_FLAGS_KNOWN) || !page_aligned(pg->gpa) ||
	    (pg->flags & HVW_PAGE_ZERO && pg->flags & HVW_PAGE_PACKED))
		return -HV_EINVAL;
	left -= HVW_MEM_CHANGED_ENTRY_LEN;
	if (pg->flags & HVW_PAGE_PACKED) {
		if (!pg->len || pg->len > HVW_PAGE_SIZE)
			return -HV_EINVAL;
	} else if (pg->len) {
		return -HV_EINVAL; /* reserved */
	} else if (!(pg->flags & HVW_PAGE_ZERO)) {
		pg->len = HVW_PAGE_SIZE;
	}
	if (left < pg->len)
		return -HV_EINVAL;
	pg->data = pg->len ? e + HVW_MEM_CHANGED_ENTRY_LEN : NULL;
	*off += HVW_MEM_CHANGED_ENTRY_LEN + pg->len;
	return 0;
}

int hvw_page_bytes(const struct hvw_page *pg, uint8_t out[HVW_PAGE_SIZE])
{
	if (pg->flags & HVW_PAGE_ZERO)
		memset(out, 0, HVW_PAGE_SIZE);
	else if (!(pg->flags & HVW_PAGE_PACKED))
		memcpy(out, pg->data, HVW_PAGE_SIZE);
	else if (hvp_unpack(out, HVW_PAGE_SIZE, pg->data, pg->len) != HVW_PAGE_SIZE)
		return -HV_EINVAL;
	return 0;
}

int hvw_parse_mem_changed_resp(const uint8_t *p, uint32_t len, struct hvw_mem_changed_resp *out)
{
	struct hvw_page pg;
	uint64_t prev = 0;
	uint32_t off = 0, i;
	int ret;

	if (len < HVW_MEM_CHANGED_HEAD_LEN)
		return -HV_EINVAL;
	out->next = get_le64(p);
	out->count = get_le32(p + 8);
	out->body = p + HVW_MEM_CHANGED_HEAD_LEN;
	out->body_len = len - HVW_MEM_CHANGED_HEAD_LEN;
	if (get_le32(p + 12))
		return -HV_EINVAL;
	if (len > HVW_MAX_ARG)
		return -HV_E2BIG;
	/* Each entry takes at least HVW_MEM_CHANGED_ENTRY_LEN bytes. */
	if (out->count > out->body_len / HVW_MEM_CHANGED_ENTRY_LEN)
		return -HV_EINVAL;
	for (i = 0; i < out->count; i++) {
		ret = changed_entry(out->body, out->body_len, &off, &pg);
		if (ret < 0)
			return ret;
		if ((i && pg.gpa <= prev) || pg.gpa >= out->next)
			return -HV_EINVAL;
		prev = pg.gpa;
	}
	if (off != out->body_len)
		return -HV_EINVAL;
	return 0;
}

int hvw_mem_changed_entry(const struct hvw_mem_changed_resp *r, uint32_t *off, struct hvw_page *pg)
{
	if (*off >= r->body_len)
		return 0;
	return changed_entry(r->body, r->body_len, off, pg) < 0 ? -HV_EINVAL : 1;
}

size_t hvw_encode_mem_changed_resp(uint8_t *out, size_t cap, uint32_t seq,
				   const struct hvw_mem_changed_resp *r)
{
	uint8_t b[HVW_MEM_CHANGED_HEAD_LEN];

	if ((uint64_t)r->body_len + HVW_MEM_CHANGED_HEAD_LEN > HVW_MAX_ARG)
		return 0;
	hvw_mem_changed_put_head(b, r->next, r->count);
	return hvw_encode2(out, cap, HVW_MEM_CHANGED_RESP, seq, b, sizeof(b), r->body, r->body_len);
}

/* ---- Sessions: BYE, LIST ---- */

int hvw_parse_bye(const uint8_t *p, uint32_t len, struct hvw_bye *out)
{
	if (len != HVW_BYE_LEN)
		return -HV_EINVAL;
	out->reason = get_le32(p);
	if (out->reason > HVW_BYE_REASON_MAX || get_le32(p + 4))
		return -HV_EINVAL;
	return 0;
}

size_t hvw_encode_bye(uint8_t *out, size_t cap, uint32_t seq, const struct hvw_bye *b)
{
	uint8_t buf[HVW_BYE_LEN];

	if (b->reason > HVW_BYE_REASON_MAX)
		return 0;
	put_le32(buf, b->reason);
	put_le32(buf + 4, 0);
	return hvw_encode(out, cap, HVW_BYE, seq, buf, sizeof(buf));
}

int hvw_parse_list_req(const uint8_t *p, uint32_t len, struct hvw_list_req *out)
{
	if (len != HVW_LIST_REQ_LEN)
		return -HV_EINVAL;
	out->flags = get_le32(p);
	if (out->flags || get_le32(p + 4))
		return -HV_EINVAL;
	return 0;
}

size_t hvw_encode_list_req(uint8_t *out, size_t cap, uint32_t seq, const struct hvw_list_req *r)
{
	uint8_t buf[HVW_LIST_REQ_LEN];

	if (r->flags)
		return 0;
	put_le32(buf, 0);
	put_le32(buf + 4, 0);
	return hvw_encode(out, cap, HVW_LIST_REQ, seq, buf, sizeof(buf));
}

void hvw_list_entry(const struct hvw_list_resp *r, uint32_t i, struct hvw_vm_entry *out)
{
	const uint8_t *e = r->body + (size_t)i * HVW_LIST_ENTRY_LEN;

	out->handle = get_le32(e);
	out->owner = get_le32(e + 4);
	out->vcpus = get_le32(e + 8);
	out->memory = get_le64(e + 16);
	memcpy(out->name, e + 24, HVW_VM_NAME_LEN);
}

int hvw_parse_list_resp(const uint8_t *p, uint32_t len, struct hvw_list_resp *out)
{
	struct hvw_vm_entry e;
	uint32_t prev = 0;

	if (len < HVW_LIST_HEAD_LEN)
		return -HV_EINVAL;
	out->count = get_le32(p);
	out->session = get_le32(p + 4);
	out->max_vms = get_le32(p + 8);
	out->max_vcpus = get_le32(p + 12);
	out->free_pages = get_le64(p + 16);
	out->body = p + HVW_LIST_HEAD_LEN;
	if (out->count > HVW_LIST_MAX)
		return -HV_E2BIG;
	if (len - HVW_LIST_HEAD_LEN != out->count * HVW_LIST_ENTRY_LEN)
		return -HV_EINVAL;
	for (uint32_t i = 0; i < out->count; i++) {
		const uint8_t *raw = out->body + (size_t)i * HVW_LIST_ENTRY_LEN;

		hvw_list_entry(out, i, &e);
		if (get_le32(raw + 12) || e.handle <= prev ||
		    !field_str_ok((const uint8_t *)e.name, HVW_VM_NAME_LEN))
			return -HV_EINVAL;
		prev = e.handle;
	}
	return 0;
}

void hvw_list_put_head(uint8_t p[HVW_LIST_HEAD_LEN], const struct hvw_list_resp *r)
{
	put_le32(p, r->count);
	put_le32(p + 4, r->session);
	put_le32(p + 8, r->max_vms);
	put_le32(p + 12, r->max_vcpus);
	put_le64(p + 16, r->free_pages);
}

void hvw_list_put_entry(uint8_t p[HVW_LIST_ENTRY_LEN], const struct hvw_vm_entry *e)
{
	uint8_t *name = p + 24;
	size_t i;

	put_le32(p, e->handle);
	put_le32(p + 4, e->owner);
	put_le32(p + 8, e->vcpus);
	put_le32(p + 12, 0);
	put_le64(p + 16, e->memory);
	for (i = 0; i < HVW_VM_NAME_LEN - 1 && e->name[i]; i++) {
		uint8_t c = (uint8_t)e->name[i];

		name[i] = c >= 0x20 && c <= 0x7e ? c : '?';
	}
	memset(name + i, 0, HVW_VM_NAME_LEN - i);
}

size_t hvw_encode_list_resp(uint8_t *out, size_t cap, uint32_t seq, const struct hvw_list_resp *r)
{
	uint8_t b[HVW_LIST_HEAD_LEN];

	if (r->count > HVW_LIST_MAX)
		return 0;
	hvw_list_put_head(b, r);
	return hvw_encode2(out, cap, HVW_LIST_RESP, seq, b, sizeof(b), r->body,
			   r->count * HVW_LIST_ENTRY_LEN);
}

/* ---- ERROR ---- */

static bool is_errno(int64_t err)
{
	return err < 0 && err >= -HVW_MAX_ERRNO;
}

int hvw_parse_error(const uint8_t *p, uint32_t len, struct hvw_error *out)
{
	uint32_t i, n;

	if (len < 4)
		return -HV_EINVAL;
	out->err = (int32_t)get_le32(p);
	if (!is_errno(out->err))
		return -HV_EINVAL;
	n = len - 4;
	if (n > HVW_ERROR_TEXT_MAX)
		n = HVW_ERROR_TEXT_MAX;
	for (i = 0; i < n; i++) {
		uint8_t c = p[4 + i];

		out->text[i] = (c >= 0x20 && c <= 0x7e) ? (char)c : '?';
	}
	out->text[n] = '\0';
	return 0;
}

size_t hvw_encode_error(uint8_t *out, size_t cap, uint32_t seq, int32_t err, const char *text)
{
	uint8_t b[4];
	uint32_t n = 0;

	if (!is_errno(err))
		return 0;
	if (text)
		while (n < HVW_ERROR_TEXT_MAX && text[n])
			n++;
	put_le32(b, (uint32_t)err);
	return hvw_encode2(out, cap, HVW_ERROR, seq, b, sizeof(b), text, n);
}
