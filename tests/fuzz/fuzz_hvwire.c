// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the hvwire codec (abi/hvwire.c).
 *
 * Input: byte 0 chooses the mode and the chunk sizes, byte 1 seeds them,
 * the rest is the stream. In raw mode (bit 7 of byte 0 clear) the rest is
 * fed to a decoder as it is. In script mode (bit 7 set) the rest is a
 * little program that builds the stream from valid frames, typed records,
 * garbage, damaged, truncated and false headers, so that short inputs
 * reach large frames and a full decoder buffer; the harness then knows
 * where every valid frame it wrote starts.
 *
 * Checked, besides what ASan and UBSan catch:
 * - feeding always makes progress once hvw_decoder_next() returned 0;
 * - every frame returned is exactly the bytes at its place in the stream
 *   (re-encoding it gives them back), frames do not overlap, and bytes fed
 *   = bytes discarded + bytes in frames;
 * - script mode: every valid frame written is returned, unless a frame
 *   returned earlier covers its start;
 * - every parser, run on every payload and on the raw input, returns 0 or
 *   a known errno; what it accepts re-encodes to the same payload (or to
 *   one that parses to the same record, for string fields);
 * - the table CRC equals a bitwise CRC;
 * - hvpack (abi/hvpack.c): the raw input, taken as a packed form, unpacks
 *   to the length its header announces (hvp_unpacked_len) or is refused
 *   with -HV_EINVAL, even into a buffer of exactly that length (ASan
 *   watches its end); what it unpacks to packs and unpacks back the same;
 *   and the raw input itself (its first HVP_MAX_LEN bytes) packs within
 *   HVP_BOUND and unpacks to itself.
 *
 * The same entry point replays tests/fuzz/regressions/ and the seeds in
 * the unit tests (tests/unit/test_hvwire.c). A failed check prints what
 * failed and aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/hvpack.h"
#include "abi/hvrun.h"
#include "abi/hvwire.h"
#include "abi/errno.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(c)                                                                                \
	do {                                                                                       \
		if (!(c))                                                                          \
			fz_fail(__FILE__, __LINE__, #c);                                           \
	} while (0)

static void fz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "fuzz_hvwire: %s:%d: check failed: %s\n", file, line, what);
	abort();
}

#define STREAM_CAP (256u << 10)
#define MAX_SPANS  (STREAM_CAP / HVW_OVERHEAD + 1)

struct span {
	size_t off, size;
};

static struct hvw_decoder dec, dec2;
static uint8_t stream[STREAM_CAP];
static uint8_t enc[HVW_MAX_FRAME];
/* hvpack's buffers: unpacked, repacked, packed. */
static uint8_t pk_out[HVP_MAX_LEN], pk_back[HVP_MAX_LEN], pk_packed[HVP_BOUND(HVP_MAX_LEN)];
/* A page of a MEM_CHANGED answer, and the packer's table for the ones built here. */
static uint8_t page[HVW_PAGE_SIZE];
static struct hvp_scratch pack_ws;
static struct span expected[MAX_SPANS], returned[MAX_SPANS];
static size_t n_expected, n_returned;

/* ---- Reference CRC and parsers ---- */

static uint32_t crc_bitwise(const uint8_t *p, size_t n)
{
	uint32_t c = ~0u;
	int k;

	while (n--) {
		c ^= *p++;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ HVW_CRC32C_POLY : c >> 1;
	}
	return ~c;
}

static void check_errno(int ret)
{
	FZ_CHECK(ret == 0 || ret == -HV_EINVAL || ret == -HV_E2BIG);
}

/* Decode the single frame in enc[0, n) with a fresh decoder. */
static struct hvw_frame redecode(size_t n)
{
	struct hvw_frame f;

	hvw_decoder_init(&dec2);
	FZ_CHECK(hvw_decoder_feed(&dec2, enc, n) == n);
	FZ_CHECK(hvw_decoder_next(&dec2, &f) == 1);
	FZ_CHECK(dec2.bytes_discarded == 0);
	FZ_CHECK(hvw_decoder_next(&dec2, &f) == 0);
	FZ_CHECK(hvw_decoder_next(&dec2, &f) == 0 && hvw_decoder_buffered(&dec2) == 0);
	/* Decode again to hand back a frame whose payload is still valid. */
	hvw_decoder_init(&dec2);
	hvw_decoder_feed(&dec2, enc, n);
	hvw_decoder_next(&dec2, &f);
	return f;
}

/* The frame just encoded in enc carries exactly @p/@len as its payload. */
static void check_same_payload(size_t n, uint8_t type, const uint8_t *p, uint32_t len)
{
	struct hvw_frame f;

	FZ_CHECK(n == HVW_FRAME_SIZE(len));
	f = redecode(n);
	FZ_CHECK(f.type == type && f.seq == 77 && f.len == len);
	FZ_CHECK(memcmp(f.payload, p, len) == 0);
}

static bool str_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i]; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return i < n;
}

static void parse_all(const uint8_t *p, uint32_t len)
{
	struct hvw_hello_req hq, hq2;
	struct hvw_hello_resp hr, hr2;
	struct hvw_ioctl_req iq;
	struct hvw_ioctl_resp ir;
	struct hvw_mem_write mw;
	struct hvw_mem_read_req mr;
	struct hvw_error e, e2;
	struct hvw_kick k;
	struct hvw_close c;
	struct hvw_bye by;
	struct hvw_list_req lq;
	struct hvw_list_resp lr;
	struct hvw_vm_entry ve;
	struct hvw_mem_changed_req cq;
	struct hvw_mem_changed_resp cr;
	struct hvw_page pg;
	struct hvw_frame f;
	uint64_t prev;
	uint32_t off, i;
	size_t n;
	int ret;

	ret = hvw_parse_hello_req(p, len, &hq);
	check_errno(ret);
	if (ret == 0) {
		FZ_CHECK(len == HVW_HELLO_REQ_LEN);
		FZ_CHECK(hq.min_version <= hq.max_version);
		FZ_CHECK(str_ok(hq.client, sizeof(hq.client)));
		ret = hvw_hello_version(&hq);
		FZ_CHECK(ret == HVW_VERSION || ret == -HV_EINVAL);
		n = hvw_encode_hello_req(enc, sizeof(enc), 77, &hq);
		FZ_CHECK(n == HVW_FRAME_SIZE(HVW_HELLO_REQ_LEN));
		f = redecode(n);
		FZ_CHECK(f.type == HVW_HELLO_REQ);
		FZ_CHECK(hvw_parse_hello_req(f.payload, f.len, &hq2) == 0);
		FZ_CHECK(hq2.min_version == hq.min_version);
		FZ_CHECK(hq2.max_version == hq.max_version);
		FZ_CHECK(strcmp(hq2.client, hq.client) == 0);
	}

	ret = hvw_parse_hello_resp(p, len, &hr);
	check_errno(ret);
	if (ret == 0) {
		FZ_CHECK(len == HVW_HELLO_RESP_LEN);
		FZ_CHECK(str_ok(hr.identity, sizeof(hr.identity)));
		n = hvw_encode_hello_resp(enc, sizeof(enc), 77, &hr);
		FZ_CHECK(n == HVW_FRAME_SIZE(HVW_HELLO_RESP_LEN));
		f = redecode(n);
		FZ_CHECK(f.type == HVW_HELLO_RESP);
		FZ_CHECK(hvw_parse_hello_resp(f.payload, f.len, &hr2) == 0);
		FZ_CHECK(hr2.version == hr.version && hr2.flags == hr.flags);
		FZ_CHECK(hr2.caps == hr.caps);
		FZ_CHECK(strcmp(hr2.identity, hr.identity) == 0);
	}

	ret = hvw_parse_ioctl_req(p, len, &iq);
	check_errno(ret);
	if (ret == 0) {
		FZ_CHECK(iq.hdr.target <= HVW_TARGET_VCPU);
		FZ_CHECK(iq.hdr.arg_len <= HVW_MAX_ARG);
		FZ_CHECK(iq.arg == p + HVW_IOCTL_REQ_HDR_LEN);
		FZ_CHECK(iq.hdr.arg_len == len - HVW_IOCTL_REQ_HDR_LEN);
		n = hvw_encode_ioctl_req(enc, sizeof(enc), 77, &iq.hdr, iq.arg);
		check_same_payload(n, HVW_IOCTL_REQ, p, len);
	}

	ret = hvw_parse_ioctl_resp(p, len, &ir);
	check_errno(ret);
	if (ret == 0) {
		FZ_CHECK(ir.result >= -HVW_MAX_ERRNO);
		FZ_CHECK(ir.arg == p + HVW_IOCTL_RESP_HDR_LEN);
		FZ_CHECK(ir.arg_len == len - HVW_IOCTL_RESP_HDR_LEN);
		n = hvw_encode_ioctl_resp(enc, sizeof(enc), 77, &ir);
		check_same_payload(n, HVW_IOCTL_RESP, p, len);
	}

	ret = hvw_parse_mem_write(p, len, &mw);
	check_errno(ret);
	if (ret == 0) {
		FZ_CHECK(mw.len == len - HVW_MEM_WRITE_HDR_LEN);
		/* A packed write's range is checked once unpacked (below). */
		FZ_CHECK(mw.len == 0 || (mw.flags & HVW_MEM_WRITE_PACKED) ||
			 mw.gpa + (mw.len - 1) >= mw.gpa);
		n = hvw_encode_mem_write(enc, sizeof(enc), 77, &mw);
		check_same_payload(n, HVW_MEM_WRITE, p, len);
		ret = hvw_mem_write_unpack(&mw, pk_out, sizeof(pk_out));
		FZ_CHECK(ret == 0 || ret == -HV_EINVAL || ret == -HV_E2BIG);
		if (ret == 0) {
			FZ_CHECK(!(mw.flags & HVW_MEM_WRITE_PACKED));
			FZ_CHECK(mw.len == 0 || mw.gpa + (mw.len - 1) >= mw.gpa);
		}
	}

	ret = hvw_parse_mem_read_req(p, len, &mr);
	check_errno(ret);
	if (ret == 0) {
		FZ_CHECK(mr.len <= HVW_MAX_ARG);
		n = hvw_encode_mem_read_req(enc, sizeof(enc), 77, &mr);
		check_same_payload(n, HVW_MEM_READ_REQ, p, len);
	}

	ret = hvw_parse_kick(p, len, &k);
	check_errno(ret);
	if (ret == 0) {
		FZ_CHECK(len == HVW_KICK_LEN);
		n = hvw_encode_kick(enc, sizeof(enc), 77, &k);
		check_same_payload(n, HVW_KICK, p, len);
	}

	ret = hvw_parse_close(p, len, &c);
	check_errno(ret);
	if (ret == 0) {
		FZ_CHECK(len == HVW_CLOSE_LEN);
		n = hvw_encode_close(enc, sizeof(enc), 77, &c);
		check_same_payload(n, HVW_CLOSE, p, len);
	}

	ret = hvw_parse_bye(p, len, &by);
	check_errno(ret);
	if (ret == 0) {
		FZ_CHECK(len == HVW_BYE_LEN && by.reason <= HVW_BYE_REASON_MAX);
		n = hvw_encode_bye(enc, sizeof(enc), 77, &by);
		check_same_payload(n, HVW_BYE, p, len);
	}

	ret = hvw_parse_list_req(p, len, &lq);
	check_errno(ret);
	if (ret == 0) {
		FZ_CHECK(len == HVW_LIST_REQ_LEN && lq.flags == 0);
		n = hvw_encode_list_req(enc, sizeof(enc), 77, &lq);
		check_same_payload(n, HVW_LIST_REQ, p, len);
	}

	ret = hvw_parse_list_resp(p, len, &lr);
	check_errno(ret);
	if (ret == 0) {
		FZ_CHECK(lr.count <= HVW_LIST_MAX && lr.body == p + HVW_LIST_HEAD_LEN);
		FZ_CHECK(len == HVW_LIST_HEAD_LEN + lr.count * HVW_LIST_ENTRY_LEN);
		prev = 0;
		for (i = 0; i < lr.count; i++) {
			hvw_list_entry(&lr, i, &ve);
			FZ_CHECK(ve.handle > prev && str_ok(ve.name, sizeof(ve.name)));
			prev = ve.handle;
		}
		n = hvw_encode_list_resp(enc, sizeof(enc), 77, &lr);
		check_same_payload(n, HVW_LIST_RESP, p, len);
	}

	ret = hvw_parse_mem_changed_req(p, len, &cq);
	check_errno(ret);
	if (ret == 0) {
		FZ_CHECK(len == HVW_MEM_CHANGED_REQ_LEN);
		FZ_CHECK(cq.gpa % HVW_PAGE_SIZE == 0 && cq.len % HVW_PAGE_SIZE == 0);
		FZ_CHECK(cq.len == 0 || cq.gpa + (cq.len - 1) >= cq.gpa);
		n = hvw_encode_mem_changed_req(enc, sizeof(enc), 77, &cq);
		check_same_payload(n, HVW_MEM_CHANGED_REQ, p, len);
	}

	ret = hvw_parse_mem_changed_resp(p, len, &cr);
	check_errno(ret);
	if (ret == 0) {
		/* Every entry walks out as the parser saw it, and nothing else. */
		FZ_CHECK(cr.body == p + HVW_MEM_CHANGED_HEAD_LEN);
		off = 0;
		prev = 0;
		for (i = 0; (ret = hvw_mem_changed_entry(&cr, &off, &pg)) == 1; i++) {
			FZ_CHECK(pg.gpa % HVW_PAGE_SIZE == 0 && pg.gpa < cr.next);
			FZ_CHECK(i == 0 || pg.gpa > prev);
			FZ_CHECK(!(pg.flags & ~HVW_PAGE_FLAGS_KNOWN));
			FZ_CHECK((pg.data == NULL) == !!(pg.flags & HVW_PAGE_ZERO));
			/* A page, or -EINVAL for packed bytes that are not one. */
			ret = hvw_page_bytes(&pg, page);
			FZ_CHECK(ret == 0 || (ret == -HV_EINVAL && (pg.flags & HVW_PAGE_PACKED)));
			prev = pg.gpa;
		}
		FZ_CHECK(ret == 0 && i == cr.count && off == cr.body_len);
		n = hvw_encode_mem_changed_resp(enc, sizeof(enc), 77, &cr);
		check_same_payload(n, HVW_MEM_CHANGED_RESP, p, len);
	}

	ret = hvw_parse_error(p, len, &e);
	check_errno(ret);
	if (ret == 0) {
		FZ_CHECK(e.err < 0 && e.err >= -HVW_MAX_ERRNO);
		FZ_CHECK(strlen(e.text) ==
			 (len - 4 > HVW_ERROR_TEXT_MAX ? HVW_ERROR_TEXT_MAX : len - 4));
		FZ_CHECK(str_ok(e.text, sizeof(e.text)));
		n = hvw_encode_error(enc, sizeof(enc), 77, e.err, e.text);
		FZ_CHECK(n == HVW_FRAME_SIZE(4 + strlen(e.text)));
		f = redecode(n);
		FZ_CHECK(f.type == HVW_ERROR);
		FZ_CHECK(hvw_parse_error(f.payload, f.len, &e2) == 0);
		FZ_CHECK(e2.err == e.err && strcmp(e2.text, e.text) == 0);
	}
}

/* ---- Decoding a stream ---- */

static void take_frame(const uint8_t *s, size_t fed, const struct hvw_frame *f)
{
	size_t size = HVW_FRAME_SIZE(f->len), off;
	size_t n;

	FZ_CHECK(f->len <= HVW_MAX_PAYLOAD);
	FZ_CHECK(hvw_decoder_buffered(&dec) >= size);
	off = fed - hvw_decoder_buffered(&dec);
	FZ_CHECK(f->payload == dec.buf + dec.head + HVW_HDR_LEN);
	if (n_returned) {
		const struct span *prev = &returned[n_returned - 1];

		FZ_CHECK(off >= prev->off + prev->size);
	}
	FZ_CHECK(n_returned < MAX_SPANS);
	returned[n_returned].off = off;
	returned[n_returned].size = size;
	n_returned++;

	/* The frame is the stream's bytes: re-encoding gives them back. */
	n = hvw_encode(enc, sizeof(enc), f->type, f->seq, f->payload, f->len);
	FZ_CHECK(n == size);
	FZ_CHECK(memcmp(enc, s + off, size) == 0);
	FZ_CHECK(hvw_type_name(f->type) != NULL);

	parse_all(f->payload, f->len);
}

static uint32_t xorshift(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static const size_t chunk_max[8] = {1, 2, 7, 64, 1000, 4096, 70000, SIZE_MAX};

static void decode_stream(const uint8_t *s, size_t n, uint8_t ctl, uint8_t seed)
{
	size_t fed = 0, in_frames = 0, want, took, i, j;
	size_t max = chunk_max[ctl & 7];
	uint32_t rng = 0x9e3779b9u ^ ((uint32_t)seed << 8) ^ ctl;
	struct hvw_frame f;

	hvw_decoder_init(&dec);
	n_returned = 0;
	while (fed < n) {
		want = n - fed;
		if (max != SIZE_MAX && want > 1)
			want = 1 + xorshift(&rng) % (want < max ? want : max);
		took = hvw_decoder_feed(&dec, s + fed, want);
		/* The decoder was drained: it has room. */
		FZ_CHECK(took > 0 && took <= want);
		fed += took;
		while (hvw_decoder_next(&dec, &f) == 1) {
			take_frame(s, fed, &f);
			in_frames += HVW_FRAME_SIZE(f.len);
		}
		FZ_CHECK(hvw_decoder_buffered(&dec) < HVW_MAX_FRAME);
	}
	/* The line went idle: give up on what is left, one byte at a time. */
	while (hvw_decoder_buffered(&dec)) {
		uint64_t before = dec.bytes_discarded;

		hvw_decoder_resync(&dec);
		FZ_CHECK(dec.bytes_discarded == before + 1);
		while (hvw_decoder_next(&dec, &f) == 1) {
			take_frame(s, fed, &f);
			in_frames += HVW_FRAME_SIZE(f.len);
		}
	}
	FZ_CHECK(dec.frames == n_returned);
	FZ_CHECK(dec.bytes_discarded + in_frames == n);
	FZ_CHECK(dec.crc_errors + dec.oversize + dec.bad_version <= dec.bytes_discarded);

	/* Each frame written is returned, or a returned frame covers its start. */
	for (i = 0, j = 0; i < n_expected; i++) {
		const struct span *e = &expected[i];

		while (j + 1 < n_returned && returned[j + 1].off <= e->off)
			j++;
		FZ_CHECK(n_returned > 0 && returned[j].off <= e->off);
		FZ_CHECK((returned[j].off == e->off && returned[j].size == e->size) ||
			 returned[j].off + returned[j].size > e->off);
	}
}

/* ---- Script mode ---- */

struct reader {
	const uint8_t *p;
	size_t n;
};

static uint8_t rd8(struct reader *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static uint16_t rd16(struct reader *r)
{
	uint16_t lo = rd8(r);

	return (uint16_t)(lo | (rd8(r) << 8));
}

static uint32_t rd32(struct reader *r)
{
	uint32_t lo = rd16(r);

	return lo | ((uint32_t)rd16(r) << 16);
}

static uint64_t rd64(struct reader *r)
{
	uint64_t lo = rd32(r);

	return lo | ((uint64_t)rd32(r) << 32);
}

/* Up to @n bytes of input (fewer if it runs out), returned in place. */
static const uint8_t *rdbytes(struct reader *r, size_t *n)
{
	const uint8_t *p = r->p;

	if (*n > r->n)
		*n = r->n;
	r->p += *n;
	r->n -= *n;
	return p;
}

static void rdstr(struct reader *r, char *dst, size_t cap)
{
	size_t n = rd8(r) % cap, i;

	for (i = 0; i < n; i++)
		dst[i] = (char)(0x20 + rd8(r) % 0x5f);
	memset(dst + i, 0, cap - i);
}

struct builder {
	size_t len;
	size_t last_off, last_size; /* the last valid frame written */
};

static void add_valid(struct builder *b, size_t size)
{
	if (!size)
		return;
	FZ_CHECK(n_expected < MAX_SPANS);
	expected[n_expected].off = b->len;
	expected[n_expected].size = size;
	n_expected++;
	b->last_off = b->len;
	b->last_size = size;
	b->len += size;
}

static void add_typed(struct builder *b, struct reader *r, uint8_t *out, size_t cap)
{
	struct hvw_hello_req hq;
	struct hvw_hello_resp hr;
	struct hvw_ioctl_req_hdr ih;
	struct hvw_ioctl_resp ir;
	struct hvw_mem_write mw;
	struct hvw_mem_read_req mr;
	struct hvw_kick kk;
	struct hvw_close cc;
	struct hvw_mem_changed_req cq;
	uint8_t body[HVW_MEM_CHANGED_HEAD_LEN + 4 * (HVW_MEM_CHANGED_ENTRY_LEN + HVW_PAGE_SIZE)];
	char text[HVW_ERROR_TEXT_MAX + 1];
	const uint8_t *arg;
	uint32_t seq = rd32(r), cnt, used;
	uint64_t gpa;
	size_t n = 0, k;

	switch (rd8(r) % 12) {
	case 0:
		hq.min_version = rd8(r) % 3;
		hq.max_version = hq.min_version + rd8(r) % 3;
		rdstr(r, hq.client, sizeof(hq.client));
		n = hvw_encode_hello_req(out, cap, seq, &hq);
		break;
	case 1:
		hr.version = rd32(r);
		hr.flags = rd32(r);
		hr.caps = rd64(r);
		rdstr(r, hr.identity, sizeof(hr.identity));
		n = hvw_encode_hello_resp(out, cap, seq, &hr);
		break;
	case 2:
		ih.nr = rd32(r);
		ih.target = rd8(r) % 3;
		ih.flags = 0;
		ih.vm = ih.target >= HVW_TARGET_VM ? rd32(r) : 0;
		ih.vcpu = ih.target == HVW_TARGET_VCPU ? rd32(r) : 0;
		k = rd8(r);
		arg = rdbytes(r, &k);
		ih.arg_len = (uint32_t)k;
		n = hvw_encode_ioctl_req(out, cap, seq, &ih, arg);
		break;
	case 3:
		ir.result = (int64_t)rd64(r) % (HVW_MAX_ERRNO + 1);
		k = rd8(r);
		ir.arg = rdbytes(r, &k);
		ir.arg_len = (uint32_t)k;
		n = hvw_encode_ioctl_resp(out, cap, seq, &ir);
		break;
	case 4:
		mw.vm = rd32(r);
		mw.flags = rd8(r) & HVW_MEM_WRITE_TRACK;
		mw.gpa = rd64(r);
		k = rd8(r);
		mw.data = rdbytes(r, &k);
		mw.len = (uint32_t)k;
		n = hvw_encode_mem_write(out, cap, seq, &mw);
		break;
	case 5:
		mr.vm = rd32(r);
		mr.len = rd32(r) % (HVW_MAX_ARG + 2);
		mr.gpa = rd64(r);
		n = hvw_encode_mem_read_req(out, cap, seq, &mr);
		break;
	case 6:
		rdstr(r, text, sizeof(text));
		n = hvw_encode_error(out, cap, seq, -(int32_t)(rd16(r) % 5000), text);
		break;
	case 8:
		kk.vm = rd32(r);
		kk.vcpu = rd32(r);
		n = hvw_encode_kick(out, cap, seq, &kk);
		break;
	case 9:
		cc.vm = rd32(r);
		n = hvw_encode_close(out, cap, seq, &cc);
		break;
	case 10:
		cq.vm = rd32(r);
		cq.gpa = rd64(r) & ~(uint64_t)(HVW_PAGE_SIZE - 1);
		cq.len = (uint64_t)rd16(r) * HVW_PAGE_SIZE;
		cq.flags = rd8(r) & HVW_MEM_CHANGED_PACKED;
		n = hvw_encode_mem_changed_req(out, cap, seq, &cq);
		break;
	case 11: /* up to 4 entries: zero, a page of one byte, or that page packed */
		cnt = rd8(r) % 5;
		gpa = (uint64_t)rd16(r) * HVW_PAGE_SIZE;
		used = HVW_MEM_CHANGED_HEAD_LEN;
		for (uint32_t i = 0; i < cnt; i++) {
			uint8_t fill = rd8(r);
			long k = 0;

			gpa += (uint64_t)(1 + rd8(r) % 4) * HVW_PAGE_SIZE;
			if (fill & 1) {
				memset(page, fill, HVW_PAGE_SIZE);
				k = hvp_pack(body + used + HVW_MEM_CHANGED_ENTRY_LEN, HVW_PAGE_SIZE,
					     page, HVW_PAGE_SIZE, &pack_ws);
				FZ_CHECK(k > 0);
			}
			hvw_mem_changed_put_entry(body + used, gpa,
						  k	 ? HVW_PAGE_PACKED
						  : fill ? 0
							 : HVW_PAGE_ZERO,
						  (uint32_t)k);
			used += HVW_MEM_CHANGED_ENTRY_LEN;
			if (k) {
				used += (uint32_t)k;
			} else if (fill) {
				memset(body + used, fill, HVW_PAGE_SIZE);
				used += HVW_PAGE_SIZE;
			}
		}
		hvw_mem_changed_put_head(body, gpa + HVW_PAGE_SIZE, cnt);
		n = hvw_encode(out, cap, HVW_MEM_CHANGED_RESP, seq, body, used);
		break;
	default:
		n = hvw_encode(out, cap, HVW_POWER_OFF, seq, NULL, 0);
		break;
	}
	add_valid(b, n);
}

/*
 * Each step: one op byte (low 3 bits: what, the rest: a parameter), then
 * its operands. Operands past the end of the input read as zeros.
 */
static size_t build_stream(const uint8_t *in, size_t n)
{
	struct reader r = {in, n};
	struct builder b = {0, 0, 0};
	const uint8_t *src;
	uint8_t *out;
	size_t cap, k, i;
	uint32_t len, seq;
	uint8_t op, fill, type;

	n_expected = 0;
	while (r.n) {
		out = stream + b.len;
		cap = STREAM_CAP - b.len;
		if (cap < HVW_MAX_FRAME)
			break;
		op = rd8(&r);
		switch (op & 7) {
		case 0: /* garbage from the input */
			k = (size_t)(op >> 3) * 8 + 1;
			src = rdbytes(&r, &k);
			memcpy(out, src, k);
			b.len += k;
			break;
		case 1: /* a frame whose payload comes from the input */
			k = rd8(&r);
			if (op & 8)
				k = k * 256 + rd8(&r);
			len = (uint32_t)k;
			type = rd8(&r);
			src = rdbytes(&r, &k);
			memcpy(out + HVW_HDR_LEN, src, k);
			memset(out + HVW_HDR_LEN + k, HVW_MAGIC0, len - k);
			add_valid(&b, hvw_encode(out, cap, type, rd32(&r), out + HVW_HDR_LEN, len));
			break;
		case 2: /* a large frame of one repeated byte */
			len = rd16(&r) | (uint32_t)(op & 8) << 13;
			if (len > HVW_MAX_PAYLOAD)
				len = HVW_MAX_PAYLOAD - (len & 63);
			fill = rd8(&r);
			memset(out + HVW_HDR_LEN, fill, len);
			add_valid(&b,
				  hvw_encode(out, cap, op >> 4, rd32(&r), out + HVW_HDR_LEN, len));
			break;
		case 3: /* a typed record through its encoder */
			add_typed(&b, &r, out, cap);
			break;
		case 4: /* the last valid frame with one bit flipped */
		case 5: /* the start of the last valid frame */
			if (!b.last_size)
				break;
			k = b.last_size;
			memmove(out, stream + b.last_off, k);
			i = rd32(&r) % (k * 8);
			if ((op & 7) == 4)
				out[i / 8] ^= (uint8_t)(1u << (i % 8));
			else
				k = i / 8;
			b.len += k;
			break;
		case 6: /* a bare header: bad version, oversize or a false length */
			type = rd8(&r);
			seq = rd32(&r);
			len = rd32(&r);
			hvw_put_header(out, type, seq, len);
			if (op & 8)
				out[2] = rd8(&r);
			if (op & 16) {
				len = HVW_MAX_PAYLOAD + 1 + rd8(&r);
				out[8] = (uint8_t)len;
				out[9] = (uint8_t)(len >> 8);
				out[10] = (uint8_t)(len >> 16);
				out[11] = (uint8_t)(len >> 24);
			}
			b.len += HVW_HDR_LEN;
			break;
		default: /* the last valid frame again */
			if (!b.last_size)
				break;
			memmove(out, stream + b.last_off, b.last_size);
			add_valid(&b, b.last_size);
			break;
		}
	}
	return b.len;
}

/*
 * The compact KVM_RUN (abi/hvrun.c) on hostile bytes, both ends: a refused
 * request or answer leaves the run page and the shadow as they were; an
 * accepted one consumed every byte.
 */
static union {
	struct kvm_run run;
	uint8_t bytes[8192];
} fz_page, fz_keep;
static struct hv_sync_regs fz_shadow, fz_shadow_keep;

static void fuzz_hvrun(const uint8_t *p, size_t n, uint8_t ctl)
{
	uint32_t flags;
	long r;

	memset(&fz_page, 0, sizeof(fz_page));
	/* Sometimes a pending IN or MMIO load, so completion data is taken. */
	if (ctl & 1) {
		fz_page.run.exit_reason = KVM_EXIT_IO;
		fz_page.run.io.direction = ctl & 2 ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
		fz_page.run.io.size = 1 + (ctl >> 2 & 3);
		fz_page.run.io.count = 1 + (ctl >> 4);
		fz_page.run.io.data_offset = 4096;
	} else if (ctl & 2) {
		fz_page.run.exit_reason = KVM_EXIT_MMIO;
		fz_page.run.mmio.len = ctl >> 4;
	}
	fz_keep = fz_page;
	r = hvr_apply_request(&fz_page.run, sizeof(fz_page), p, n, &flags);
	FZ_CHECK(r < 0 ? !memcmp(&fz_page, &fz_keep, sizeof(fz_page)) : (size_t)r == n);
	fz_page = fz_keep;
	memset(&fz_shadow, ctl, sizeof(fz_shadow));
	fz_shadow_keep = fz_shadow;
	r = hvr_apply_response(&fz_page.run, sizeof(fz_page), &fz_shadow, p, n);
	FZ_CHECK(r < 0 ? !memcmp(&fz_page, &fz_keep, sizeof(fz_page)) &&
			     !memcmp(&fz_shadow, &fz_shadow_keep, sizeof(fz_shadow))
		       : (size_t)r == n);
}

/* ... and on the argument of an IOCTL request or answer the input frames. */
static void fuzz_hvrun_framed(const uint8_t *p, size_t n, uint8_t ctl)
{
	static struct hvw_decoder d;
	struct hvw_frame f;
	struct hvw_ioctl_req q;
	struct hvw_ioctl_resp a;

	hvw_decoder_init(&d);
	hvw_decoder_feed(&d, p, n < HVW_MAX_FRAME ? n : HVW_MAX_FRAME);
	if (hvw_decoder_next(&d, &f) != 1)
		return;
	if (f.type == HVW_IOCTL_REQ && hvw_parse_ioctl_req(f.payload, f.len, &q) == 0)
		fuzz_hvrun(q.arg, q.hdr.arg_len, ctl);
	else if (f.type == HVW_IOCTL_RESP && hvw_parse_ioctl_resp(f.payload, f.len, &a) == 0)
		fuzz_hvrun(a.arg, a.arg_len, ctl);
}

/* ---- hvpack ---- */

static struct hvp_scratch pk_scratch;

/* p[0, n) packs within HVP_BOUND(n) and unpacks to itself. */
static void check_packs(const uint8_t *p, size_t n)
{
	long k = hvp_pack(pk_packed, sizeof(pk_packed), p, n, &pk_scratch);

	FZ_CHECK(k > 0 && (size_t)k <= HVP_BOUND(n));
	FZ_CHECK(hvp_pack(pk_packed, (size_t)k - 1, p, n, &pk_scratch) == -HV_E2BIG);
	FZ_CHECK(hvp_pack(pk_packed, (size_t)k, p, n, &pk_scratch) == k);
	FZ_CHECK(hvp_unpacked_len(pk_packed, (size_t)k) == (long)n);
	FZ_CHECK(hvp_unpack(pk_back, n, pk_packed, (size_t)k) == (long)n);
	FZ_CHECK(n == 0 || memcmp(pk_back, p, n) == 0);
}

static void fuzz_hvpack(const uint8_t *p, size_t n)
{
	long len = hvp_unpacked_len(p, n), r;
	uint8_t *end;

	r = hvp_unpack(pk_out, sizeof(pk_out), p, n);
	FZ_CHECK(r == -HV_EINVAL || (r >= 0 && r == len));
	FZ_CHECK(len >= 0 || r == len);
	if (len >= 0) {
		/* Again with the output flush against the buffer's end. */
		end = pk_out + sizeof(pk_out) - len;
		FZ_CHECK(hvp_unpack(end, (size_t)len, p, n) == r);
		if (len)
			FZ_CHECK(hvp_unpack(pk_out, (size_t)len - 1, p, n) == -HV_E2BIG);
		if (r >= 0)
			check_packs(end, (size_t)r);
	}
	check_packs(p, n < HVP_MAX_LEN ? n : HVP_MAX_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t ctl, seed;
	size_t n, k;

	fuzz_hvpack(data, size);
	if (size < 2)
		return 0;
	ctl = data[0];
	seed = data[1];

	/* The table CRC against the bitwise one, whole and in two parts. */
	n = size < 4096 ? size : 4096;
	k = seed % (n + 1);
	FZ_CHECK(hvw_crc32c(data, n) == crc_bitwise(data, n));
	FZ_CHECK(hvw_crc32c_update(hvw_crc32c(data, k), data + k, n - k) == crc_bitwise(data, n));

	/* Every parser on the raw input. */
	parse_all(data + 2, (uint32_t)((size - 2) > UINT32_MAX ? UINT32_MAX : size - 2));
	fuzz_hvrun(data + 2, size - 2 < 16384 ? size - 2 : 16384, ctl);
	fuzz_hvrun_framed(data + 2, size - 2, ctl);

	if (ctl & 0x80) {
		n = build_stream(data + 2, size - 2);
		decode_stream(stream, n, ctl, seed);
	} else {
		n_expected = 0;
		decode_stream(data + 2, size - 2, ctl, seed);
	}
	return 0;
}
