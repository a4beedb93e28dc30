// SPDX-License-Identifier: MIT
/*
 * Unit tests of the channel's wire codec (abi/hvwire.c): CRC32C, frame
 * encoding, the resynchronising stream decoder and the payload records,
 * with hostile inputs. Expected bytes are written out by hand or computed
 * with a bitwise CRC of our own, never with the code under test.
 *
 * The fuzz target's entry point is linked in: every input committed in
 * tests/fuzz/regressions/ (crashes found by `make fuzz`, once fixed) and
 * every seed in tests/fuzz/seeds/ is replayed through it.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "abi/hvpack.h"
#include "abi/hvwire.h"
#include "abi/errno.h"
#include "tests/unit/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_DIR "tests/fuzz"

/* ---- Helpers independent of the code under test ---- */

static uint32_t crc_bitwise(const void *buf, size_t n)
{
	const uint8_t *p = buf;
	uint32_t c = 0xffffffffu;
	int k;

	while (n--) {
		c ^= *p++;
		for (k = 0; k < 8; k++) {
			if (c & 1)
				c = (c >> 1) ^ 0x82F63B78u;
			else
				c >>= 1;
		}
	}
	return c ^ 0xffffffffu;
}

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void le64(uint8_t *p, uint64_t v)
{
	le32(p, (uint32_t)v);
	le32(p + 4, (uint32_t)(v >> 32));
}

/* A frame built by hand: header fields as given, CRC from crc_bitwise. */
static size_t hand_frame(uint8_t *out, uint8_t version, uint8_t type, uint32_t seq,
			 const void *payload, uint32_t len)
{
	out[0] = 'H';
	out[1] = 'V';
	out[2] = version;
	out[3] = type;
	le32(out + 4, seq);
	le32(out + 8, len);
	if (len)
		memcpy(out + 12, payload, len);
	le32(out + 12 + len, crc_bitwise(out, 12 + len));
	return 16 + len;
}

/* Random bytes that contain no 'H', so they can never start a frame. */
static void garbage(uint8_t *p, size_t n)
{
	while (n--) {
		*p = (uint8_t)check_rng();
		if (*p == 'H')
			*p = 'G';
		p++;
	}
}

/* What a test expects of a frame; payloads compared by bitwise CRC. */
struct want {
	uint8_t type;
	uint32_t seq, len, crc;
};

#define MAX_GOT 256

static struct hvw_decoder dec;
static struct want got[MAX_GOT];
static size_t n_got;

static void collect(void)
{
	struct hvw_frame f;

	while (hvw_decoder_next(&dec, &f) == 1) {
		if (n_got < MAX_GOT) {
			got[n_got].type = f.type;
			got[n_got].seq = f.seq;
			got[n_got].len = f.len;
			got[n_got].crc = crc_bitwise(f.payload, f.len);
		}
		n_got++;
	}
}

/* Set when the decoder, drained, took no byte: it would never progress. */
static bool stuck;

/*
 * Feed @n bytes in chunks of 1..@max bytes (0: all at once), collecting
 * frames; gives up (stuck) if the decoder stops taking bytes.
 */
static void feed_chunks(const uint8_t *s, size_t n, size_t max)
{
	size_t want, took;

	while (n) {
		want = max ? 1 + check_rng() % max : n;
		if (want > n)
			want = n;
		took = hvw_decoder_feed(&dec, s, want);
		if (!took) {
			stuck = true;
			return;
		}
		s += took;
		n -= took;
		collect();
	}
}

static void start(void)
{
	hvw_decoder_init(&dec);
	n_got = 0;
	stuck = false;
}

static bool got_is(size_t i, const struct want *w)
{
	return i < n_got && got[i].type == w->type && got[i].seq == w->seq &&
	       got[i].len == w->len && got[i].crc == w->crc;
}

static struct want want_of(uint8_t type, uint32_t seq, const void *p, uint32_t len)
{
	struct want w = {type, seq, len, crc_bitwise(p, len)};

	return w;
}

/* Big scratch buffers (a stream of several maximum frames fits). */
static uint8_t sbuf[4 * HVW_MAX_FRAME];
static uint8_t pbuf[HVW_MAX_FRAME];
static uint8_t fbuf[HVW_MAX_FRAME];

/*
 * Run a parser on a copy of @p in a heap block of exactly @len bytes, so
 * that ASan reports any read past the payload. Only for checking return
 * values and copied fields: pointers in *@out dangle afterwards.
 */
#define PARSE_EXACT(fn, p, len, out)                                                               \
	({                                                                                         \
		uint32_t l_ = (len);                                                               \
		uint8_t *x_ = malloc(l_);                                                          \
		int r_;                                                                            \
                                                                                                   \
		memcpy(x_, (p), l_);                                                               \
		r_ = fn(x_, l_, (out));                                                            \
		free(x_);                                                                          \
		r_;                                                                                \
	})

/* Decode the one frame in fbuf[0, n) in one go; its payload stays valid. */
static int decode_one(size_t n, struct hvw_frame *f)
{
	start();
	if (hvw_decoder_feed(&dec, fbuf, n) != n)
		return -1;
	if (hvw_decoder_next(&dec, f) != 1)
		return -2;
	if (dec.bytes_discarded)
		return -3;
	return 0;
}

/* ---- CRC ---- */

static void test_crc_known_vector(void)
{
	CHECK_EQ(hvw_crc32c("123456789", 9), 0xE3069283u);
	CHECK_EQ(crc_bitwise("123456789", 9), 0xE3069283u);
	CHECK_EQ(hvw_crc32c("", 0), 0);
	/* 32 zero bytes, 32 bytes of 0xff (values published with iSCSI). */
	memset(pbuf, 0, 32);
	CHECK_EQ(hvw_crc32c(pbuf, 32), 0x8A9136AAu);
	memset(pbuf, 0xff, 32);
	CHECK_EQ(hvw_crc32c(pbuf, 32), 0x62A8AB43u);
}

static void test_crc_matches_bitwise(void)
{
	size_t n, i;
	int round;

	check_rng_seed(1);
	for (round = 0; round < 2000; round++) {
		n = check_rng() % 600;
		for (i = 0; i < n; i++)
			pbuf[i] = (uint8_t)check_rng();
		CHECK_EQ(hvw_crc32c(pbuf, n), crc_bitwise(pbuf, n));
	}
	for (i = 0; i < 256; i++) {
		uint8_t b = (uint8_t)i;

		CHECK_EQ(hvw_crc32c(&b, 1), crc_bitwise(&b, 1));
	}
}

static void test_crc_chained(void)
{
	uint32_t c;
	size_t k;

	check_rng_seed(2);
	for (k = 0; k < 300; k++)
		pbuf[k] = (uint8_t)check_rng();
	for (k = 0; k <= 300; k++) {
		c = hvw_crc32c_update(hvw_crc32c(pbuf, k), pbuf + k, 300 - k);
		CHECK_EQ(c, crc_bitwise(pbuf, 300));
	}
}

/* ---- Encoding ---- */

static void test_encode_layout(void)
{
	static const uint8_t head[12] = {0x48, 0x56, 0x01, 0x03, 0x44, 0x33,
					 0x22, 0x11, 0x03, 0x00, 0x00, 0x00};
	uint8_t out[32];
	size_t n;

	memset(out, 0xee, sizeof(out));
	n = hvw_encode(out, sizeof(out), 3, 0x11223344u, "abc", 3);
	CHECK_EQ(n, 19);
	CHECK(memcmp(out, head, 12) == 0);
	CHECK(memcmp(out + 12, "abc", 3) == 0);
	CHECK_EQ(out[15] | out[16] << 8 | out[17] << 16 | (uint32_t)out[18] << 24,
		 crc_bitwise(out, 15));
	CHECK_EQ(out[19], 0xee); /* nothing past the frame */

	/* The same bytes as the hand-built frame. */
	CHECK_EQ(hand_frame(fbuf, 1, 3, 0x11223344u, "abc", 3), 19);
	CHECK(memcmp(fbuf, out, 19) == 0);
	CHECK_EQ(HVW_FRAME_SIZE(3), 19);
}

static void test_encode_limits(void)
{
	size_t cap;

	for (cap = 0; cap < 19; cap++)
		CHECK_EQ(hvw_encode(fbuf, cap, 3, 1, "abc", 3), 0);
	CHECK_EQ(hvw_encode(fbuf, 19, 3, 1, "abc", 3), 19);
	CHECK_EQ(hvw_encode(NULL, 100, 3, 1, "abc", 3), 0);
	CHECK_EQ(hvw_encode(fbuf, sizeof(fbuf), 3, 1, NULL, 3), 0);
	CHECK_EQ(hvw_encode(fbuf, sizeof(fbuf), 9, 1, NULL, 0), 16);

	memset(pbuf, 0, sizeof(pbuf));
	CHECK_EQ(hvw_encode(fbuf, sizeof(fbuf), 5, 1, pbuf, HVW_MAX_PAYLOAD), HVW_MAX_FRAME);
	CHECK_EQ(hvw_encode(sbuf, sizeof(sbuf), 5, 1, pbuf, HVW_MAX_PAYLOAD + 1), 0);
	CHECK_EQ(hvw_encode(sbuf, sizeof(sbuf), 5, 1, pbuf, 0xffffffffu), 0);
	/* The two lengths are added without wrapping. */
	CHECK_EQ(hvw_encode2(sbuf, sizeof(sbuf), 5, 1, pbuf, 0xffffffffu, pbuf, 1), 0);
	CHECK_EQ(hvw_encode2(sbuf, sizeof(sbuf), 5, 1, pbuf, 1, pbuf, 0xffffffffu), 0);
	CHECK_EQ(hvw_encode2(sbuf, sizeof(sbuf), 5, 1, pbuf, HVW_MAX_PAYLOAD, pbuf, 1), 0);
}

static void test_encode2_parts_and_in_place(void)
{
	uint8_t one[64], two[64];
	size_t n1, n2, k;

	for (k = 0; k < 40; k++)
		pbuf[k] = (uint8_t)(k * 7);
	n1 = hvw_encode(one, sizeof(one), 4, 99, pbuf, 40);
	CHECK_EQ(n1, 56);
	for (k = 0; k <= 40; k++) {
		memset(two, 0, sizeof(two));
		n2 = hvw_encode2(two, sizeof(two), 4, 99, pbuf, (uint32_t)k, pbuf + k,
				 (uint32_t)(40 - k));
		CHECK_EQ(n2, n1);
		CHECK(memcmp(one, two, n1) == 0);
	}
	/* Payload already at out + HVW_HDR_LEN. */
	memset(two, 0, sizeof(two));
	memcpy(two + HVW_HDR_LEN, pbuf, 40);
	CHECK_EQ(hvw_encode(two, sizeof(two), 4, 99, two + HVW_HDR_LEN, 40), n1);
	CHECK(memcmp(one, two, n1) == 0);
}

static void test_put_header_streaming(void)
{
	uint8_t hdr[HVW_HDR_LEN], out[64];
	uint32_t crc;
	size_t n;

	hvw_put_header(hdr, 7, 0xdeadbeefu, 5);
	n = hvw_encode(out, sizeof(out), 7, 0xdeadbeefu, "hello", 5);
	CHECK(memcmp(hdr, out, HVW_HDR_LEN) == 0);
	crc = hvw_crc32c_update(hvw_crc32c(hdr, sizeof(hdr)), "hello", 5);
	CHECK_EQ(crc, out[n - 4] | out[n - 3] << 8 | out[n - 2] << 16 | (uint32_t)out[n - 1] << 24);
}

/* ---- Round trips, one per type ---- */

static void test_rt_hello(void)
{
	struct hvw_hello_req q = {1, 3, "controller 0.1"}, q2;
	struct hvw_hello_resp r = {1, 0x5, "hv-minivisor 1.0", 0x0123456789abcdefull}, r2;
	struct hvw_frame f;
	size_t n;

	n = hvw_encode_hello_req(fbuf, sizeof(fbuf), 10, &q);
	CHECK_EQ(n, HVW_FRAME_SIZE(HVW_HELLO_REQ_LEN));
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, HVW_HELLO_REQ);
	CHECK_EQ(f.seq, 10);
	CHECK_EQ(f.len, 40);
	/* Wire layout: u32, u32, char[32] zero-padded. */
	CHECK_EQ(f.payload[0], 1);
	CHECK_EQ(f.payload[4], 3);
	CHECK(memcmp(f.payload + 8, "controller 0.1", 15) == 0);
	CHECK_EQ(f.payload[39], 0);
	memset(&q2, 0xaa, sizeof(q2));
	CHECK_EQ(hvw_parse_hello_req(f.payload, f.len, &q2), 0);
	CHECK_EQ(q2.min_version, 1);
	CHECK_EQ(q2.max_version, 3);
	CHECK_STR(q2.client, "controller 0.1");
	CHECK_EQ(hvw_hello_version(&q2), 1);

	n = hvw_encode_hello_resp(fbuf, sizeof(fbuf), 10, &r);
	CHECK_EQ(n, HVW_FRAME_SIZE(HVW_HELLO_RESP_LEN));
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, HVW_HELLO_RESP);
	CHECK_EQ(f.len, 80);
	CHECK_EQ(f.payload[72], 0xef); /* caps, little-endian, after identity */
	CHECK_EQ(f.payload[79], 0x01);
	CHECK_EQ(hvw_parse_hello_resp(f.payload, f.len, &r2), 0);
	CHECK_EQ(r2.version, 1);
	CHECK_EQ(r2.flags, 5);
	CHECK_EQ(r2.caps, 0x0123456789abcdefull);
	CHECK_STR(r2.identity, "hv-minivisor 1.0");
}

static void test_rt_ioctl_req(void)
{
	/* KVM_SET_USER_MEMORY_REGION = _IOW(0xAE, 0x46, 32 bytes) */
	struct hvw_ioctl_req_hdr h = {0x4020ae46u, HVW_TARGET_VM, 0, 3, 0, 32};
	struct hvw_ioctl_req q;
	struct hvw_frame f;
	uint8_t arg[32];
	size_t n, k;

	for (k = 0; k < sizeof(arg); k++)
		arg[k] = (uint8_t)(0xa0 + k);
	n = hvw_encode_ioctl_req(fbuf, sizeof(fbuf), 0x12345, &h, arg);
	CHECK_EQ(n, HVW_FRAME_SIZE(52));
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, HVW_IOCTL_REQ);
	CHECK_EQ(f.seq, 0x12345);
	CHECK_EQ(hvw_parse_ioctl_req(f.payload, f.len, &q), 0);
	CHECK_EQ(q.hdr.nr, 0x4020ae46u);
	CHECK_EQ(q.hdr.target, HVW_TARGET_VM);
	CHECK_EQ(q.hdr.flags, 0);
	CHECK_EQ(q.hdr.vm, 3);
	CHECK_EQ(q.hdr.vcpu, 0);
	CHECK_EQ(q.hdr.arg_len, 32);
	CHECK(q.arg == f.payload + 20);
	CHECK(memcmp(q.arg, arg, 32) == 0);

	/* No argument (KVM_RUN on a vCPU). */
	h = (struct hvw_ioctl_req_hdr){0xae80, HVW_TARGET_VCPU, 0, 1, 2, 0};
	n = hvw_encode_ioctl_req(fbuf, sizeof(fbuf), 1, &h, NULL);
	CHECK_EQ(n, HVW_FRAME_SIZE(20));
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(hvw_parse_ioctl_req(f.payload, f.len, &q), 0);
	CHECK_EQ(q.hdr.target, HVW_TARGET_VCPU);
	CHECK_EQ(q.hdr.vm, 1);
	CHECK_EQ(q.hdr.vcpu, 2);
	CHECK_EQ(q.hdr.arg_len, 0);

	/* The largest argument. */
	memset(pbuf, 0x5a, HVW_MAX_ARG);
	h = (struct hvw_ioctl_req_hdr){0xc008ae88u, HVW_TARGET_VCPU, 0, 1, 0, HVW_MAX_ARG};
	n = hvw_encode_ioctl_req(fbuf, sizeof(fbuf), 2, &h, pbuf);
	CHECK_EQ(n, HVW_FRAME_SIZE(20 + HVW_MAX_ARG));
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(hvw_parse_ioctl_req(f.payload, f.len, &q), 0);
	CHECK_EQ(q.hdr.arg_len, HVW_MAX_ARG);
	CHECK(memcmp(q.arg, pbuf, HVW_MAX_ARG) == 0);
}

static void test_rt_ioctl_resp(void)
{
	struct hvw_ioctl_resp r = {12, NULL, 0}, r2;
	struct hvw_frame f;
	uint8_t regs[144];
	size_t n, k;

	n = hvw_encode_ioctl_resp(fbuf, sizeof(fbuf), 5, &r);
	CHECK_EQ(n, HVW_FRAME_SIZE(8));
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, HVW_IOCTL_RESP);
	CHECK_EQ(hvw_parse_ioctl_resp(f.payload, f.len, &r2), 0);
	CHECK_EQ(r2.result, 12);
	CHECK_EQ(r2.arg_len, 0);

	/* A negative errno, sign-extended on the wire. */
	r.result = -HV_ENOTTY;
	n = hvw_encode_ioctl_resp(fbuf, sizeof(fbuf), 6, &r);
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.payload[0], 0xe7);
	CHECK_EQ(f.payload[7], 0xff);
	CHECK_EQ(hvw_parse_ioctl_resp(f.payload, f.len, &r2), 0);
	CHECK_EQ(r2.result, -HV_ENOTTY);

	/* Out-argument bytes (KVM_GET_REGS' record). */
	for (k = 0; k < sizeof(regs); k++)
		regs[k] = (uint8_t)k;
	r = (struct hvw_ioctl_resp){0, regs, sizeof(regs)};
	n = hvw_encode_ioctl_resp(fbuf, sizeof(fbuf), 7, &r);
	CHECK_EQ(n, HVW_FRAME_SIZE(8 + sizeof(regs)));
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.seq, 7);
	CHECK_EQ(hvw_parse_ioctl_resp(f.payload, f.len, &r2), 0);
	CHECK_EQ(r2.result, 0);
	CHECK_EQ(r2.arg_len, sizeof(regs));
	CHECK(memcmp(r2.arg, regs, sizeof(regs)) == 0);
}

static void test_rt_mem_write(void)
{
	struct hvw_mem_write w = {2, 0x100000, NULL, 0, 0}, w2;
	struct hvw_frame f;
	size_t n, k;

	for (k = 0; k < 1000; k++)
		pbuf[k] = (uint8_t)(k ^ 0x5a);
	w.data = pbuf;
	w.len = 1000;
	n = hvw_encode_mem_write(fbuf, sizeof(fbuf), 8, &w);
	CHECK_EQ(n, HVW_FRAME_SIZE(16 + 1000));
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, HVW_MEM_WRITE);
	CHECK_EQ(f.payload[0], 2);     /* vm */
	CHECK_EQ(f.payload[4], 0);     /* reserved */
	CHECK_EQ(f.payload[10], 0x10); /* gpa 0x100000, little-endian */
	CHECK_EQ(hvw_parse_mem_write(f.payload, f.len, &w2), 0);
	CHECK_EQ(w2.vm, 2);
	CHECK_EQ(w2.gpa, 0x100000);
	CHECK_EQ(w2.len, 1000);
	CHECK(memcmp(w2.data, pbuf, 1000) == 0);
}

static void test_rt_mem_read(void)
{
	struct hvw_mem_read_req r = {4, 4096, 0xfffff000ull}, r2;
	struct hvw_frame f;
	size_t n;

	n = hvw_encode_mem_read_req(fbuf, sizeof(fbuf), 9, &r);
	CHECK_EQ(n, HVW_FRAME_SIZE(16));
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, HVW_MEM_READ_REQ);
	CHECK_EQ(f.payload[5], 0x10); /* len 4096 */
	CHECK_EQ(hvw_parse_mem_read_req(f.payload, f.len, &r2), 0);
	CHECK_EQ(r2.vm, 4);
	CHECK_EQ(r2.len, 4096);
	CHECK_EQ(r2.gpa, 0xfffff000ull);

	/* The answer is the bytes, nothing else. */
	memset(pbuf, 0xc3, 4096);
	n = hvw_encode(fbuf, sizeof(fbuf), HVW_MEM_READ_RESP, 9, pbuf, 4096);
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, HVW_MEM_READ_RESP);
	CHECK_EQ(f.seq, 9);
	CHECK_EQ(f.len, 4096);
	CHECK(memcmp(f.payload, pbuf, 4096) == 0);
}

static void test_rt_error(void)
{
	struct hvw_error e;
	struct hvw_frame f;
	size_t n;

	n = hvw_encode_error(fbuf, sizeof(fbuf), 0, -HV_ENOTTY, "unknown frame type 0x42");
	CHECK_EQ(n, HVW_FRAME_SIZE(4 + 23));
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, HVW_ERROR);
	CHECK_EQ(f.seq, 0);
	CHECK_EQ(f.payload[0], 0xe7); /* -25 */
	CHECK_EQ(f.payload[3], 0xff);
	CHECK_EQ(hvw_parse_error(f.payload, f.len, &e), 0);
	CHECK_EQ(e.err, -HV_ENOTTY);
	CHECK_STR(e.text, "unknown frame type 0x42");

	n = hvw_encode_error(fbuf, sizeof(fbuf), 3, -HV_EINVAL, NULL);
	CHECK_EQ(n, HVW_FRAME_SIZE(4));
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(hvw_parse_error(f.payload, f.len, &e), 0);
	CHECK_EQ(e.err, -HV_EINVAL);
	CHECK_STR(e.text, "");
}

static void test_rt_power_off_and_unknown_type(void)
{
	struct hvw_frame f;
	size_t n;

	n = hvw_encode(fbuf, sizeof(fbuf), HVW_POWER_OFF, 77, NULL, 0);
	CHECK_EQ(n, 16);
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, HVW_POWER_OFF);
	CHECK_EQ(f.seq, 77);
	CHECK_EQ(f.len, 0);

	/* Unknown types are decoded, for the receiver to answer. */
	n = hvw_encode(fbuf, sizeof(fbuf), 0x42, 78, "xyz", 3);
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, 0x42);
	CHECK_EQ(f.len, 3);
	n = hvw_encode(fbuf, sizeof(fbuf), 0, 79, NULL, 0);
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, 0);
	n = hvw_encode(fbuf, sizeof(fbuf), 0xff, 80, NULL, 0);
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, 0xff);
	CHECK_EQ(dec.frames, 1);
}

/* ---- Decoder ---- */

/*
 * A stream of @nframes random frames (payload lengths up to @maxlen) with
 * up to @maxgap bytes of garbage before each and after the last; the
 * frames are described in w[]. Returns the stream's length.
 */
static size_t make_stream(uint8_t *s, size_t cap, struct want *w, size_t nframes, uint32_t maxlen,
			  size_t maxgap, size_t *gap_total)
{
	size_t len = 0, i, g, k;
	uint32_t plen;

	*gap_total = 0;
	for (i = 0; i <= nframes; i++) {
		g = maxgap ? check_rng() % (maxgap + 1) : 0;
		garbage(s + len, g);
		len += g;
		*gap_total += g;
		if (i == nframes)
			break;
		plen = maxlen ? check_rng() % (maxlen + 1) : 0;
		for (k = 0; k < plen; k++)
			pbuf[k] = (uint8_t)check_rng();
		w[i] = want_of((uint8_t)check_rng(), check_rng(), pbuf, plen);
		k = hvw_encode(s + len, cap - len, w[i].type, w[i].seq, pbuf, plen);
		if (!k)
			return 0;
		len += k;
	}
	return len;
}

static void test_decoder_byte_by_byte(void)
{
	struct want w[8];
	size_t n, gaps, i;

	check_rng_seed(3);
	n = make_stream(sbuf, sizeof(sbuf), w, 8, 300, 0, &gaps);
	CHECK(n > 0);
	start();
	feed_chunks(sbuf, n, 1);
	CHECK(!stuck);
	CHECK_EQ(n_got, 8);
	for (i = 0; i < 8; i++)
		CHECK(got_is(i, &w[i]));
	CHECK_EQ(dec.frames, 8);
	CHECK_EQ(dec.bytes_discarded, 0);
	CHECK_EQ(hvw_decoder_buffered(&dec), 0);
}

static void test_decoder_random_chunks(void)
{
	static const size_t maxchunk[] = {2, 3, 17, 100, 4096, 70000, 0};
	struct want w[40];
	size_t n, gaps, i, c;
	int round;

	for (round = 0; round < 4; round++) {
		for (c = 0; c < sizeof(maxchunk) / sizeof(maxchunk[0]); c++) {
			check_rng_seed(100 + round * 10 + c);
			n = make_stream(sbuf, sizeof(sbuf), w, 40, round == 3 ? 5000 : 500, 0,
					&gaps);
			CHECK(n > 0);
			start();
			feed_chunks(sbuf, n, maxchunk[c]);
			CHECK(!stuck);
			CHECK_EQ(n_got, 40);
			for (i = 0; i < 40; i++)
				CHECK(got_is(i, &w[i]));
			CHECK_EQ(dec.bytes_discarded, 0);
		}
	}
}

static void test_decoder_garbage_before_between(void)
{
	struct want w[20];
	size_t n, gaps, i, c;

	for (c = 0; c < 4; c++) {
		check_rng_seed(200 + c);
		n = make_stream(sbuf, sizeof(sbuf), w, 20, 200, 300, &gaps);
		CHECK(n > 0);
		CHECK(gaps > 0);
		start();
		feed_chunks(sbuf, n, c == 0 ? 1 : c * 50);
		CHECK(!stuck);
		CHECK_EQ(n_got, 20);
		for (i = 0; i < 20; i++)
			CHECK(got_is(i, &w[i]));
		CHECK_EQ(dec.bytes_discarded, gaps);
		CHECK_EQ(dec.crc_errors, 0);
		CHECK_EQ(hvw_decoder_buffered(&dec), 0);
	}
}

static void test_decoder_split_every_offset(void)
{
	struct want w[2];
	size_t n, cut, took;

	check_rng_seed(4);
	n = hvw_encode(sbuf, sizeof(sbuf), HVW_IOCTL_REQ, 1,
		       "0123456789abcdefghij"
		       "klmnopqrstuvwxyz",
		       36);
	w[0] = want_of(HVW_IOCTL_REQ, 1, "0123456789abcdefghijklmnopqrstuvwxyz", 36);
	n += hvw_encode(sbuf + n, sizeof(sbuf) - n, HVW_POWER_OFF, 2, NULL, 0);
	w[1] = want_of(HVW_POWER_OFF, 2, NULL, 0);
	CHECK_EQ(n, 52 + 16);
	for (cut = 0; cut <= n; cut++) {
		start();
		took = hvw_decoder_feed(&dec, sbuf, cut);
		CHECK_EQ(took, cut);
		collect();
		CHECK_EQ(n_got, cut >= 52 ? (cut == n ? 2 : 1) : 0);
		took = hvw_decoder_feed(&dec, sbuf + cut, n - cut);
		CHECK_EQ(took, n - cut);
		collect();
		CHECK_EQ(n_got, 2);
		CHECK(got_is(0, &w[0]));
		CHECK(got_is(1, &w[1]));
		CHECK_EQ(dec.bytes_discarded, 0);
	}
}

/* Frame A damaged at byte @at (bit 0 flipped), then frame B: B is found. */
static void corrupt_then_good(size_t at, size_t *found, uint64_t *errors, uint64_t *discarded,
			      size_t *a_size)
{
	static const uint8_t pa[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	struct want wb = want_of(HVW_IOCTL_RESP, 6, "\0\0\0\0\0\0\0\0", 8);
	size_t n;

	n = hand_frame(sbuf, 1, HVW_IOCTL_REQ, 5, pa, sizeof(pa));
	*a_size = n;
	sbuf[at] ^= 1;
	n += hand_frame(sbuf + n, 1, HVW_IOCTL_RESP, 6, "\0\0\0\0\0\0\0\0", 8);
	start();
	feed_chunks(sbuf, n, 0);
	*found = !stuck && n_got == 1 && got_is(0, &wb);
	*errors = dec.crc_errors;
	*discarded = dec.bytes_discarded;
}

static void test_decoder_bad_crc(void)
{
	size_t found, a_size;
	uint64_t errors, discarded;
	size_t at;

	/* Damage the type, seq, each payload byte and each CRC byte in turn. */
	for (at = 3; at < 26; at++) {
		if (at >= 8 && at < 12)
			continue; /* the length: other tests */
		corrupt_then_good(at, &found, &errors, &discarded, &a_size);
		CHECK(found);
		CHECK_EQ(errors, 1);
		CHECK_EQ(discarded, a_size);
		CHECK_EQ(dec.frames, 1);
	}
	/* A length that grew by one: the CRC no longer matches either. */
	corrupt_then_good(8, &found, &errors, &discarded, &a_size);
	CHECK(found);
	CHECK_EQ(errors, 1);
	CHECK_EQ(discarded, a_size);
}

static void test_decoder_false_magic_in_garbage(void)
{
	static const uint8_t pl[24] = "payload with no marker.";
	struct want w = want_of(HVW_MEM_WRITE, 0x33, pl, sizeof(pl));
	uint8_t frame[64];
	size_t fn, n;

	fn = hand_frame(frame, 1, HVW_MEM_WRITE, 0x33, pl, sizeof(pl));

	/* "H" then the frame: the lone H goes. */
	start();
	sbuf[0] = 'H';
	memcpy(sbuf + 1, frame, fn);
	feed_chunks(sbuf, 1 + fn, 1);
	CHECK(!stuck);
	CHECK_EQ(n_got, 1);
	CHECK(got_is(0, &w));
	CHECK_EQ(dec.bytes_discarded, 1);

	/* "HV" then the frame: 'H' reads as a version, one byte goes, then 'V'. */
	start();
	memcpy(sbuf, "HV", 2);
	memcpy(sbuf + 2, frame, fn);
	feed_chunks(sbuf, 2 + fn, 0);
	CHECK(!stuck);
	CHECK_EQ(n_got, 1);
	CHECK(got_is(0, &w));
	CHECK_EQ(dec.bad_version, 1);
	CHECK_EQ(dec.bytes_discarded, 2);

	/*
	 * Garbage with a whole false header (version 1, length 30) whose
	 * "payload" runs into the real frame: the CRC fails, the scan
	 * resumes one byte later and finds the frame inside.
	 */
	start();
	n = 0;
	memcpy(sbuf, "\x01\x02xyHV\x01\x03\x00\x00\x00\x00\x1e\x00\x00\x00", 16);
	n = 16;
	memcpy(sbuf + n, frame, fn);
	n += fn;
	feed_chunks(sbuf, n, 5);
	CHECK(!stuck);
	CHECK_EQ(n_got, 1);
	CHECK(got_is(0, &w));
	CHECK_EQ(dec.crc_errors, 1);
	CHECK_EQ(dec.bytes_discarded, 16);
}

static void test_decoder_false_length_resync(void)
{
	static const uint8_t pl[4] = {1, 2, 3, 4};
	struct want w = want_of(HVW_HELLO_REQ, 1, pl, sizeof(pl));
	size_t n;

	/* A false header claiming 60000 bytes, then a real frame, then silence. */
	start();
	memcpy(sbuf, "HV\x01\x01\x00\x00\x00\x00\x60\xea\x00\x00", 12);
	n = 12 + hand_frame(sbuf + 12, 1, HVW_HELLO_REQ, 1, pl, sizeof(pl));
	feed_chunks(sbuf, n, 0);
	CHECK(!stuck);
	CHECK_EQ(n_got, 0);
	CHECK_EQ(hvw_decoder_buffered(&dec), n);
	/* The caller's idle timeout: give up on the candidate. */
	hvw_decoder_resync(&dec);
	collect();
	CHECK_EQ(n_got, 1);
	CHECK(got_is(0, &w));
	CHECK_EQ(dec.bytes_discarded, 12);
	CHECK_EQ(hvw_decoder_buffered(&dec), 0);
	/* Nothing left: resync is a no-op. */
	hvw_decoder_resync(&dec);
	CHECK_EQ(dec.bytes_discarded, 12);
}

static void test_decoder_oversize(void)
{
	static const uint32_t lens[] = {HVW_MAX_PAYLOAD + 1, 0x7fffffffu, 0xffffffffu};
	struct want w = want_of(HVW_POWER_OFF, 2, NULL, 0);
	size_t n, i;

	for (i = 0; i < 3; i++) {
		start();
		memcpy(sbuf, "HV\x01\x05\x01\x00\x00\x00", 8);
		le32(sbuf + 8, lens[i]);
		n = 12 + hand_frame(sbuf + 12, 1, HVW_POWER_OFF, 2, NULL, 0);
		/* Refused on sight, without waiting for the bytes it claims. */
		feed_chunks(sbuf, n, 0);
		CHECK(!stuck);
		CHECK_EQ(n_got, 1);
		CHECK(got_is(0, &w));
		CHECK_EQ(dec.oversize, 1);
		CHECK_EQ(dec.bytes_discarded, 12);
	}
}

static void test_decoder_bad_version(void)
{
	static const uint8_t pl[6] = "abcde";
	struct want w = want_of(HVW_IOCTL_REQ, 9, pl, sizeof(pl));
	static const uint8_t versions[] = {0, 2, 0xff};
	size_t n, a, i;

	for (i = 0; i < sizeof(versions); i++) {
		start();
		/* A well-formed frame (CRC right) of another version. */
		a = hand_frame(sbuf, versions[i], HVW_IOCTL_REQ, 8, pl, sizeof(pl));
		n = a + hand_frame(sbuf + a, 1, HVW_IOCTL_REQ, 9, pl, sizeof(pl));
		feed_chunks(sbuf, n, 3);
		CHECK(!stuck);
		CHECK_EQ(n_got, 1);
		CHECK(got_is(0, &w));
		CHECK_EQ(dec.bad_version, 1);
		CHECK_EQ(dec.bytes_discarded, a);
	}
}

static void test_decoder_max_frame_and_full_buffer(void)
{
	struct want w1, w2;
	size_t n1, n2, took;

	check_rng_seed(5);
	garbage(pbuf, HVW_MAX_PAYLOAD);
	w1 = want_of(HVW_MEM_WRITE, 1, pbuf, HVW_MAX_PAYLOAD);
	n1 = hvw_encode(sbuf, sizeof(sbuf), HVW_MEM_WRITE, 1, pbuf, HVW_MAX_PAYLOAD);
	CHECK_EQ(n1, HVW_MAX_FRAME);
	n2 = hvw_encode(sbuf + n1, sizeof(sbuf) - n1, HVW_MEM_READ_RESP, 2, pbuf, 100);
	w2 = want_of(HVW_MEM_READ_RESP, 2, pbuf, 100);

	start();
	took = hvw_decoder_feed(&dec, sbuf, n1 + n2);
	CHECK_EQ(took, HVW_MAX_FRAME); /* exactly one maximum frame fits */
	collect();
	CHECK_EQ(n_got, 1);
	CHECK(got_is(0, &w1));
	/* The rest goes in once the frame is released. */
	feed_chunks(sbuf + took, n1 + n2 - took, 0);
	CHECK(!stuck);
	CHECK_EQ(n_got, 2);
	CHECK(got_is(1, &w2));
	CHECK_EQ(dec.bytes_discarded, 0);

	/* With a byte of garbage first, the frame still fits after it goes. */
	start();
	sbuf[0] = 'x';
	n1 = hvw_encode(sbuf + 1, sizeof(sbuf) - 1, HVW_MEM_WRITE, 1, pbuf, HVW_MAX_PAYLOAD);
	feed_chunks(sbuf, 1 + n1, 30000);
	CHECK(!stuck);
	CHECK_EQ(n_got, 1);
	CHECK(got_is(0, &w1));
	CHECK_EQ(dec.bytes_discarded, 1);
}

static void test_decoder_payload_stable_across_feed(void)
{
	struct hvw_frame f;
	size_t a, b;

	start();
	a = hvw_encode(sbuf, sizeof(sbuf), HVW_ERROR, 0,
		       "\xe7\xff\xff\xff"
		       "boom",
		       8);
	b = hvw_encode(sbuf + a, sizeof(sbuf) - a, HVW_POWER_OFF, 1, NULL, 0);
	CHECK_EQ(hvw_decoder_feed(&dec, sbuf, a), a);
	CHECK_EQ(hvw_decoder_next(&dec, &f), 1);
	CHECK_EQ(hvw_decoder_feed(&dec, sbuf + a, b), b);
	/* Feeding did not move or overwrite the frame handed out. */
	CHECK(memcmp(f.payload,
		     "\xe7\xff\xff\xff"
		     "boom",
		     8) == 0);
	CHECK_EQ(hvw_decoder_next(&dec, &f), 1);
	CHECK_EQ(f.type, HVW_POWER_OFF);
	CHECK_EQ(hvw_decoder_next(&dec, &f), 0);
	CHECK_EQ(hvw_decoder_next(&dec, &f), 0);
	CHECK_EQ(dec.frames, 2);
}

/* ---- IOCTL records ---- */

static void test_ioctl_req_hdr_layout(void)
{
	static const uint8_t wire[20] = {
	    0x46, 0xae, 0x20, 0x40, /* nr */
	    0x02, 0x00,		    /* target */
	    0x00, 0x00,		    /* flags */
	    0x01, 0x02, 0x03, 0x04, /* vm */
	    0x05, 0x06, 0x07, 0x08, /* vcpu */
	    0x20, 0x00, 0x00, 0x00, /* arg_len */
	};
	struct hvw_ioctl_req_hdr h = {0x4020ae46u, 2, 0, 0x04030201u, 0x08070605u, 32}, h2;
	uint8_t out[20];

	hvw_ioctl_req_hdr_put(out, &h);
	CHECK(memcmp(out, wire, 20) == 0);
	memset(&h2, 0, sizeof(h2));
	hvw_ioctl_req_hdr_get(&h2, wire);
	CHECK_EQ(h2.nr, h.nr);
	CHECK_EQ(h2.target, h.target);
	CHECK_EQ(h2.flags, h.flags);
	CHECK_EQ(h2.vm, h.vm);
	CHECK_EQ(h2.vcpu, h.vcpu);
	CHECK_EQ(h2.arg_len, h.arg_len);
}

/* An ioctl request payload in pbuf with @arg_len bytes of argument. */
static uint32_t ioctl_payload(uint32_t nr, uint16_t target, uint16_t flags, uint32_t vm,
			      uint32_t vcpu, uint32_t arg_len_field, uint32_t arg_len)
{
	le32(pbuf, nr);
	pbuf[4] = (uint8_t)target;
	pbuf[5] = (uint8_t)(target >> 8);
	pbuf[6] = (uint8_t)flags;
	pbuf[7] = (uint8_t)(flags >> 8);
	le32(pbuf + 8, vm);
	le32(pbuf + 12, vcpu);
	le32(pbuf + 16, arg_len_field);
	memset(pbuf + 20, 0x11, arg_len);
	return 20 + arg_len;
}

static void test_ioctl_req_hostile(void)
{
	struct hvw_ioctl_req q;
	struct hvw_ioctl_req_hdr h;
	uint32_t len, k;

	/* The well-formed base case passes. */
	len = ioctl_payload(0xae01, HVW_TARGET_VCPU, 0, 1, 1, 8, 8);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, len, &q), 0);

	/* Shorter than the header, even when arg_len says 0. */
	ioctl_payload(0xae01, HVW_TARGET_SYSTEM, 0, 0, 0, 0, 0);
	for (k = 0; k < 20; k++)
		CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, k, &q), -HV_EINVAL);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, 20, &q), 0);

	/* arg_len one more, one less than what follows. */
	len = ioctl_payload(0xae01, HVW_TARGET_VCPU, 0, 1, 1, 9, 8);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, len, &q), -HV_EINVAL);
	len = ioctl_payload(0xae01, HVW_TARGET_VCPU, 0, 1, 1, 7, 8);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, len, &q), -HV_EINVAL);

	/* Huge arg_len: refused before anything is compared or copied. */
	len = ioctl_payload(0xae01, HVW_TARGET_VCPU, 0, 1, 1, 0xffffffffu, 8);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, len, &q), -HV_E2BIG);
	len = ioctl_payload(0xae01, HVW_TARGET_VCPU, 0, 1, 1, 0xffffffecu, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, len, &q), -HV_E2BIG);
	/* Over the maximum even though the payload really has the bytes. */
	len = ioctl_payload(0xae01, HVW_TARGET_VCPU, 0, 1, 1, HVW_MAX_ARG + 1, HVW_MAX_ARG + 1);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, len, &q), -HV_E2BIG);
	len = ioctl_payload(0xae01, HVW_TARGET_VCPU, 0, 1, 1, HVW_MAX_ARG, HVW_MAX_ARG);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, len, &q), 0);

	/* Targets out of range. */
	len = ioctl_payload(0xae01, 3, 0, 1, 1, 0, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, len, &q), -HV_EINVAL);
	len = ioctl_payload(0xae01, 0xffff, 0, 1, 1, 0, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, len, &q), -HV_EINVAL);
	len = ioctl_payload(0xae01, 0x100, 0, 0, 0, 0, 0); /* a byte-swapped VM */
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, len, &q), -HV_EINVAL);

	/* Handles the target does not use must be 0. */
	len = ioctl_payload(0xae01, HVW_TARGET_SYSTEM, 0, 1, 0, 0, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, len, &q), -HV_EINVAL);
	len = ioctl_payload(0xae01, HVW_TARGET_SYSTEM, 0, 0, 1, 0, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, len, &q), -HV_EINVAL);
	len = ioctl_payload(0xae01, HVW_TARGET_VM, 0, 5, 1, 0, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, len, &q), -HV_EINVAL);
	len = ioctl_payload(0xae01, HVW_TARGET_VM, 0, 5, 0, 0, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, len, &q), 0);

	/* Flags other than HVW_IOCTL_COMPACT_RUN and HVW_IOCTL_PACKED are refused. */
	len = ioctl_payload(0xae01, HVW_TARGET_VM, HVW_IOCTL_PACKED, 5, 0, 0, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, len, &q), 0);
	CHECK_EQ(q.hdr.flags, HVW_IOCTL_PACKED);
	len = ioctl_payload(0xae01, HVW_TARGET_VM, 4, 5, 0, 0, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, len, &q), -HV_EINVAL);
	len = ioctl_payload(0xae01, HVW_TARGET_VM, 0x8000, 5, 0, 0, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_req, pbuf, len, &q), -HV_EINVAL);

	/* The encoder refuses what the parser would. */
	h = (struct hvw_ioctl_req_hdr){0xae01, 3, 0, 0, 0, 0};
	CHECK_EQ(hvw_encode_ioctl_req(fbuf, sizeof(fbuf), 1, &h, NULL), 0);
	h = (struct hvw_ioctl_req_hdr){0xae01, HVW_TARGET_SYSTEM, 0, 1, 0, 0};
	CHECK_EQ(hvw_encode_ioctl_req(fbuf, sizeof(fbuf), 1, &h, NULL), 0);
	h = (struct hvw_ioctl_req_hdr){0xae01, HVW_TARGET_VCPU, 4, 1, 0, 0};
	CHECK_EQ(hvw_encode_ioctl_req(fbuf, sizeof(fbuf), 1, &h, NULL), 0);
	h = (struct hvw_ioctl_req_hdr){0xae01, HVW_TARGET_VCPU, 0, 1, 0, HVW_MAX_ARG + 1};
	CHECK_EQ(hvw_encode_ioctl_req(sbuf, sizeof(sbuf), 1, &h, pbuf), 0);
}

static void test_ioctl_req_copied_once(void)
{
	struct hvw_ioctl_req q;
	uint32_t len;

	len = ioctl_payload(0xc008ae88u, HVW_TARGET_VCPU, 0, 7, 3, 8, 8);
	CHECK_EQ(hvw_parse_ioctl_req(pbuf, len, &q), 0);
	/* The sender's buffer changes afterwards: the record does not. */
	memset(pbuf, 0xff, 20);
	CHECK_EQ(q.hdr.nr, 0xc008ae88u);
	CHECK_EQ(q.hdr.target, HVW_TARGET_VCPU);
	CHECK_EQ(q.hdr.vm, 7);
	CHECK_EQ(q.hdr.vcpu, 3);
	CHECK_EQ(q.hdr.arg_len, 8);
	CHECK(q.arg == pbuf + 20);
}

static void test_ioctl_resp_hostile(void)
{
	struct hvw_ioctl_resp r;
	uint32_t k;

	memset(pbuf, 0, 8);
	for (k = 0; k < 8; k++)
		CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_resp, pbuf, k, &r), -HV_EINVAL);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_resp, pbuf, 8, &r), 0);

	le64(pbuf, (uint64_t)-4095);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_resp, pbuf, 8, &r), 0);
	CHECK_EQ(r.result, -4095);
	le64(pbuf, (uint64_t)-4096);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_resp, pbuf, 8, &r), -HV_EINVAL);
	le64(pbuf, 0x8000000000000000ull);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_resp, pbuf, 8, &r), -HV_EINVAL);
	le64(pbuf, 0x7fffffffffffffffull);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_resp, pbuf, 8, &r), 0);
	CHECK_EQ(r.result, INT64_MAX);

	le64(pbuf, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_resp, pbuf, 8 + HVW_MAX_ARG + 1, &r), -HV_E2BIG);
	CHECK_EQ(PARSE_EXACT(hvw_parse_ioctl_resp, pbuf, 8 + HVW_MAX_ARG, &r), 0);
	CHECK_EQ(r.arg_len, HVW_MAX_ARG);

	r = (struct hvw_ioctl_resp){-4096, NULL, 0};
	CHECK_EQ(hvw_encode_ioctl_resp(fbuf, sizeof(fbuf), 1, &r), 0);
	r = (struct hvw_ioctl_resp){0, pbuf, HVW_MAX_ARG + 1};
	CHECK_EQ(hvw_encode_ioctl_resp(sbuf, sizeof(sbuf), 1, &r), 0);
}

/* ---- HELLO records ---- */

static void hello_req_payload(uint32_t min, uint32_t max, const char *client, size_t n)
{
	memset(pbuf, 0, 40);
	le32(pbuf, min);
	le32(pbuf + 4, max);
	memcpy(pbuf + 8, client, n);
}

static void test_hello_hostile(void)
{
	struct hvw_hello_req q;
	struct hvw_hello_resp r;
	uint32_t k;

	hello_req_payload(1, 1, "ctl", 3);
	CHECK_EQ(PARSE_EXACT(hvw_parse_hello_req, pbuf, 40, &q), 0);
	for (k = 0; k < 80; k++)
		if (k != 40)
			CHECK_EQ(PARSE_EXACT(hvw_parse_hello_req, pbuf, k, &q), -HV_EINVAL);

	/* A client name filling its field: no NUL. */
	hello_req_payload(1, 1, "0123456789abcdef0123456789abcdef", 32);
	CHECK_EQ(PARSE_EXACT(hvw_parse_hello_req, pbuf, 40, &q), -HV_EINVAL);
	/* 31 characters and the NUL: the longest that fits. */
	hello_req_payload(1, 1, "0123456789abcdef0123456789abcde", 31);
	CHECK_EQ(PARSE_EXACT(hvw_parse_hello_req, pbuf, 40, &q), 0);
	CHECK_STR(q.client, "0123456789abcdef0123456789abcde");
	/* Empty is fine. */
	hello_req_payload(1, 1, "", 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_hello_req, pbuf, 40, &q), 0);
	CHECK_STR(q.client, "");
	/* A newline or other control byte would break a log line. */
	hello_req_payload(1, 1, "evil\nline", 9);
	CHECK_EQ(PARSE_EXACT(hvw_parse_hello_req, pbuf, 40, &q), -HV_EINVAL);
	hello_req_payload(1, 1, "\x1b[2J", 4);
	CHECK_EQ(PARSE_EXACT(hvw_parse_hello_req, pbuf, 40, &q), -HV_EINVAL);
	hello_req_payload(1, 1, "caf\xc3\xa9", 5);
	CHECK_EQ(PARSE_EXACT(hvw_parse_hello_req, pbuf, 40, &q), -HV_EINVAL);
	/* Bytes after the NUL do not matter; the copy stops at it. */
	hello_req_payload(1, 1, "ok\0\x01\x02zz", 7);
	CHECK_EQ(PARSE_EXACT(hvw_parse_hello_req, pbuf, 40, &q), 0);
	CHECK_STR(q.client, "ok");
	/* A backwards version range. */
	hello_req_payload(3, 2, "ctl", 3);
	CHECK_EQ(PARSE_EXACT(hvw_parse_hello_req, pbuf, 40, &q), -HV_EINVAL);

	/* Version negotiation. */
	q = (struct hvw_hello_req){0, 5, ""};
	CHECK_EQ(hvw_hello_version(&q), HVW_VERSION);
	q = (struct hvw_hello_req){2, 3, ""};
	CHECK_EQ(hvw_hello_version(&q), -HV_EINVAL);
	q = (struct hvw_hello_req){0, 0, ""};
	CHECK_EQ(hvw_hello_version(&q), -HV_EINVAL);

	/* The response's identity: 64 bytes without a NUL. */
	memset(pbuf, 'A', 80);
	le32(pbuf, 1);
	le32(pbuf + 4, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_hello_resp, pbuf, 80, &r), -HV_EINVAL);
	pbuf[8 + 63] = 0;
	CHECK_EQ(PARSE_EXACT(hvw_parse_hello_resp, pbuf, 80, &r), 0);
	CHECK_EQ(strlen(r.identity), 63);
	CHECK_EQ(PARSE_EXACT(hvw_parse_hello_resp, pbuf, 79, &r), -HV_EINVAL);
	CHECK_EQ(PARSE_EXACT(hvw_parse_hello_resp, pbuf, 81, &r), -HV_EINVAL);
	pbuf[8] = '\t';
	CHECK_EQ(PARSE_EXACT(hvw_parse_hello_resp, pbuf, 80, &r), -HV_EINVAL);

	/* The encoders refuse strings without a NUL, and bad ranges. */
	memset(&q, 'x', sizeof(q));
	q.min_version = q.max_version = 1;
	CHECK_EQ(hvw_encode_hello_req(fbuf, sizeof(fbuf), 1, &q), 0);
	q = (struct hvw_hello_req){2, 1, "ctl"};
	CHECK_EQ(hvw_encode_hello_req(fbuf, sizeof(fbuf), 1, &q), 0);
	memset(&r, 'x', sizeof(r));
	CHECK_EQ(hvw_encode_hello_resp(fbuf, sizeof(fbuf), 1, &r), 0);
	/* Junk after the NUL goes out as zeros. */
	q = (struct hvw_hello_req){1, 1, "ab"};
	memset(q.client + 3, 'j', sizeof(q.client) - 3);
	CHECK_EQ(hvw_encode_hello_req(fbuf, sizeof(fbuf), 1, &q), HVW_FRAME_SIZE(40));
	for (k = 2; k < 32; k++)
		CHECK_EQ(fbuf[12 + 8 + k], 0);
}

/* ---- Memory records ---- */

static uint32_t mem_payload(uint32_t vm, uint32_t mid, uint64_t gpa, uint32_t data)
{
	le32(pbuf, vm);
	le32(pbuf + 4, mid);
	le64(pbuf + 8, gpa);
	memset(pbuf + 16, 0x77, data);
	return 16 + data;
}

/*
 * HVW_MEM_WRITE_PACKED: the range is checked once the bytes are unpacked.
 * Parsed in place (w.data points into pbuf), not through PARSE_EXACT's copy.
 */
static void test_mem_write_packed(void)
{
	static uint8_t page[4096], out[HVW_MAX_ARG];
	static struct hvp_scratch ws;
	struct hvw_mem_write w;
	uint32_t len;
	long k;

	for (unsigned i = 0; i < sizeof(page); i++)
		page[i] = (uint8_t)(i / 64);
	k = hvp_pack(pbuf + 16, sizeof(pbuf) - 16, page, sizeof(page), &ws);
	CHECK(k > 0 && k < (long)sizeof(page));
	le32(pbuf, 1);
	le32(pbuf + 4, HVW_MEM_WRITE_PACKED | HVW_MEM_WRITE_TRACK);
	le64(pbuf + 8, 0x3000);
	len = 16 + (uint32_t)k;
	CHECK_EQ(hvw_parse_mem_write(pbuf, len, &w), 0);
	CHECK_EQ(w.len, (uint32_t)k);
	CHECK_EQ(hvw_mem_write_unpack(&w, out, sizeof(out)), 0);
	CHECK_EQ(w.len, sizeof(page));
	CHECK(w.data == out && !memcmp(out, page, sizeof(page)));
	CHECK_EQ(w.flags, HVW_MEM_WRITE_TRACK);
	/* Unpacked again: nothing to do. */
	CHECK_EQ(hvw_mem_write_unpack(&w, out, sizeof(out)), 0);
	CHECK_EQ(w.len, sizeof(page));
	/* A small cap: E2BIG; bytes cut short: EINVAL. */
	CHECK_EQ(hvw_parse_mem_write(pbuf, len, &w), 0);
	CHECK_EQ(hvw_mem_write_unpack(&w, out, sizeof(page) - 1), -HV_E2BIG);
	CHECK_EQ(hvw_parse_mem_write(pbuf, len - 1, &w), 0);
	CHECK_EQ(hvw_mem_write_unpack(&w, out, sizeof(out)), -HV_EINVAL);
	/* 4 KiB at 2^64 - 16: fine as packed bytes, wraps once unpacked. */
	le64(pbuf + 8, UINT64_MAX - 15);
	CHECK_EQ(hvw_parse_mem_write(pbuf, len, &w), 0);
	CHECK_EQ(hvw_mem_write_unpack(&w, out, sizeof(out)), -HV_EINVAL);
	/* The encoder leaves a packed write's range to the receiver too. */
	w = (struct hvw_mem_write){1, UINT64_MAX - 15, pbuf + 16, (uint32_t)k,
				   HVW_MEM_WRITE_PACKED};
	CHECK(hvw_encode_mem_write(fbuf, sizeof(fbuf), 1, &w) > 0);
}

static void test_mem_hostile(void)
{
	struct hvw_mem_write w;
	struct hvw_mem_read_req r;
	uint32_t k, len;

	/* MEM_WRITE: short, reserved, size, wrap. */
	mem_payload(1, 0, 0x1000, 0);
	for (k = 0; k < 16; k++)
		CHECK_EQ(PARSE_EXACT(hvw_parse_mem_write, pbuf, k, &w), -HV_EINVAL);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_write, pbuf, 16, &w), 0);
	CHECK_EQ(w.len, 0);
	/* Flags: TRACK and PACKED are known, any other bit is not. */
	len = mem_payload(1, HVW_MEM_WRITE_TRACK, 0x1000, 4);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_write, pbuf, len, &w), 0);
	CHECK_EQ(w.flags, HVW_MEM_WRITE_TRACK);
	len = mem_payload(1, 4, 0x1000, 4);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_write, pbuf, len, &w), -HV_EINVAL);
	len = mem_payload(1, 0x80000001u, 0x1000, 4);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_write, pbuf, len, &w), -HV_EINVAL);
	w = (struct hvw_mem_write){1, 0, pbuf, 4, 4};
	CHECK_EQ(hvw_encode_mem_write(fbuf, sizeof(fbuf), 1, &w), 0);
	len = mem_payload(1, 0, 0x1000, HVW_MAX_ARG + 1);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_write, pbuf, len, &w), -HV_E2BIG);
	len = mem_payload(1, 0, 0x1000, HVW_MAX_ARG);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_write, pbuf, len, &w), 0);
	/* The last byte of the address space is writable; one past it is not. */
	len = mem_payload(1, 0, UINT64_MAX, 1);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_write, pbuf, len, &w), 0);
	len = mem_payload(1, 0, UINT64_MAX, 2);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_write, pbuf, len, &w), -HV_EINVAL);
	len = mem_payload(1, 0, UINT64_MAX - 15, 16);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_write, pbuf, len, &w), 0);
	len = mem_payload(1, 0, UINT64_MAX - 14, 16);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_write, pbuf, len, &w), -HV_EINVAL);
	len = mem_payload(1, 0, UINT64_MAX, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_write, pbuf, len, &w), 0);

	test_mem_write_packed();

	/* MEM_READ_REQ: exact size, len limit, wrap. */
	mem_payload(1, 16, 0x1000, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_read_req, pbuf, 16, &r), 0);
	CHECK_EQ(r.len, 16);
	for (k = 0; k < 40; k++)
		if (k != 16)
			CHECK_EQ(PARSE_EXACT(hvw_parse_mem_read_req, pbuf, k, &r), -HV_EINVAL);
	mem_payload(1, HVW_MAX_ARG + 1, 0x1000, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_read_req, pbuf, 16, &r), -HV_E2BIG);
	mem_payload(1, 0xffffffffu, 0, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_read_req, pbuf, 16, &r), -HV_E2BIG);
	mem_payload(1, HVW_MAX_ARG, 0x1000, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_read_req, pbuf, 16, &r), 0);
	mem_payload(1, 0x1000, UINT64_MAX - 0xffe, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_read_req, pbuf, 16, &r), -HV_EINVAL);
	mem_payload(1, 0x1000, UINT64_MAX - 0xfff, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_read_req, pbuf, 16, &r), 0);

	/* The encoders refuse the same. */
	w = (struct hvw_mem_write){1, UINT64_MAX, pbuf, 2, 0};
	CHECK_EQ(hvw_encode_mem_write(fbuf, sizeof(fbuf), 1, &w), 0);
	w = (struct hvw_mem_write){1, 0, pbuf, HVW_MAX_ARG + 1, 0};
	CHECK_EQ(hvw_encode_mem_write(sbuf, sizeof(sbuf), 1, &w), 0);
	r = (struct hvw_mem_read_req){1, HVW_MAX_ARG + 1, 0};
	CHECK_EQ(hvw_encode_mem_read_req(fbuf, sizeof(fbuf), 1, &r), 0);
	r = (struct hvw_mem_read_req){1, 2, UINT64_MAX};
	CHECK_EQ(hvw_encode_mem_read_req(fbuf, sizeof(fbuf), 1, &r), 0);
}

/* ---- ERROR ---- */

static void test_error_hostile(void)
{
	struct hvw_error e;
	char text[400];
	uint32_t k;
	size_t n;

	le32(pbuf, (uint32_t)-HV_EIO);
	for (k = 0; k < 4; k++)
		CHECK_EQ(PARSE_EXACT(hvw_parse_error, pbuf, k, &e), -HV_EINVAL);
	/* Not negative errnos. */
	le32(pbuf, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_error, pbuf, 4, &e), -HV_EINVAL);
	le32(pbuf, 5);
	CHECK_EQ(PARSE_EXACT(hvw_parse_error, pbuf, 4, &e), -HV_EINVAL);
	le32(pbuf, (uint32_t)-4096);
	CHECK_EQ(PARSE_EXACT(hvw_parse_error, pbuf, 4, &e), -HV_EINVAL);
	le32(pbuf, 0x80000000u);
	CHECK_EQ(PARSE_EXACT(hvw_parse_error, pbuf, 4, &e), -HV_EINVAL);

	/* Control bytes, NUL and high bytes become '?'. */
	le32(pbuf, (uint32_t)-HV_EIO);
	memcpy(pbuf + 4, "a\nb\0c\xff\x7f", 7);
	CHECK_EQ(PARSE_EXACT(hvw_parse_error, pbuf, 11, &e), 0);
	CHECK_EQ(e.err, -HV_EIO);
	CHECK_STR(e.text, "a?b?c??");

	/* Long text is cut, on both sides. */
	memset(pbuf + 4, 'z', 300);
	CHECK_EQ(PARSE_EXACT(hvw_parse_error, pbuf, 304, &e), 0);
	CHECK_EQ(strlen(e.text), HVW_ERROR_TEXT_MAX);
	memset(text, 'y', sizeof(text) - 1);
	text[sizeof(text) - 1] = 0;
	n = hvw_encode_error(fbuf, sizeof(fbuf), 1, -HV_EIO, text);
	CHECK_EQ(n, HVW_FRAME_SIZE(4 + HVW_ERROR_TEXT_MAX));

	CHECK_EQ(hvw_encode_error(fbuf, sizeof(fbuf), 1, 0, "x"), 0);
	CHECK_EQ(hvw_encode_error(fbuf, sizeof(fbuf), 1, 22, "x"), 0);
	CHECK_EQ(hvw_encode_error(fbuf, sizeof(fbuf), 1, -4096, "x"), 0);
}

/* ---- Small helpers ---- */

static void test_seq_next(void)
{
	uint32_t c = 0;

	CHECK_EQ(hvw_seq_next(&c), 1);
	CHECK_EQ(hvw_seq_next(&c), 2);
	CHECK_EQ(c, 2);
	c = 0xfffffffeu;
	CHECK_EQ(hvw_seq_next(&c), 0xffffffffu);
	CHECK_EQ(hvw_seq_next(&c), 1); /* 0 is never a request's seq */
	CHECK_EQ(c, 1);
}

static void test_type_names(void)
{
	CHECK_STR(hvw_type_name(HVW_HELLO_REQ), "HELLO_REQ");
	CHECK_STR(hvw_type_name(HVW_HELLO_RESP), "HELLO_RESP");
	CHECK_STR(hvw_type_name(HVW_IOCTL_REQ), "IOCTL_REQ");
	CHECK_STR(hvw_type_name(HVW_IOCTL_RESP), "IOCTL_RESP");
	CHECK_STR(hvw_type_name(HVW_MEM_WRITE), "MEM_WRITE");
	CHECK_STR(hvw_type_name(HVW_MEM_READ_REQ), "MEM_READ_REQ");
	CHECK_STR(hvw_type_name(HVW_MEM_READ_RESP), "MEM_READ_RESP");
	CHECK_STR(hvw_type_name(HVW_ERROR), "ERROR");
	CHECK_STR(hvw_type_name(HVW_POWER_OFF), "POWER_OFF");
	CHECK_STR(hvw_type_name(HVW_KICK), "KICK");
	CHECK_STR(hvw_type_name(HVW_CLOSE), "CLOSE");
	CHECK_STR(hvw_type_name(HVW_MEM_CHANGED_REQ), "MEM_CHANGED_REQ");
	CHECK_STR(hvw_type_name(HVW_MEM_CHANGED_RESP), "MEM_CHANGED_RESP");
	CHECK_STR(hvw_type_name(HVW_BYE), "BYE");
	CHECK_STR(hvw_type_name(HVW_LIST_REQ), "LIST_REQ");
	CHECK_STR(hvw_type_name(HVW_LIST_RESP), "LIST_RESP");
	CHECK_STR(hvw_type_name(0), "unknown");
	CHECK_STR(hvw_type_name(17), "unknown");
	CHECK_STR(hvw_type_name(255), "unknown");
}

/* ---- Fuzz inputs ---- */

/*
 * Call @fn on each regular file in @dir; returns how many, or -1 if the
 * directory does not exist. Files are read whole.
 */
static long for_each_file(const char *dir, int (*fn)(const char *, const uint8_t *, size_t))
{
	char path[512];
	struct dirent *de;
	struct stat st;
	uint8_t *data;
	long count = 0;
	FILE *f;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		data = malloc(st.st_size ? (size_t)st.st_size : 1);
		f = fopen(path, "rb");
		if (!data || !f || fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
			if (f)
				fclose(f);
			free(data);
			closedir(d);
			return -2;
		}
		fclose(f);
		if (fn(path, data, (size_t)st.st_size)) {
			free(data);
			closedir(d);
			return -3;
		}
		free(data);
		count++;
	}
	closedir(d);
	return count;
}

static int replay(const char *path, const uint8_t *data, size_t n)
{
	/* A failed check in the harness aborts and names itself. */
	fprintf(stderr, "replay %s (%zu bytes)\n", path, n);
	return LLVMFuzzerTestOneInput(data, n);
}

static size_t seed_frames;

/* A raw-mode seed is two control bytes and then whole, valid frames. */
static int seed_is_clean(const char *path, const uint8_t *data, size_t n)
{
	(void)path;
	if (n < 2)
		return 1;
	if (data[0] & 0x80)
		return 0; /* script mode: checked by replay */
	start();
	feed_chunks(data + 2, n - 2, 0);
	if (stuck || n_got == 0 || dec.bytes_discarded || hvw_decoder_buffered(&dec))
		return 1;
	seed_frames += n_got;
	return 0;
}

static void test_fuzz_seeds(void)
{
	long n;

	seed_frames = 0;
	n = for_each_file(FUZZ_DIR "/seeds", seed_is_clean);
	CHECK(n > 0);
	CHECK(seed_frames > 0);
	CHECK_EQ(for_each_file(FUZZ_DIR "/seeds", replay), n);
}

static void test_fuzz_regressions(void)
{
	long n = for_each_file(FUZZ_DIR "/regressions", replay);

	/* No directory: nothing has been found yet. */
	CHECK(n >= -1);
	printf("hvwire: %ld fuzz regression input(s) replayed\n", n < 0 ? 0 : n);
}

/* ---- KICK, CLOSE, MEM_CHANGED ---- */

static void test_rt_kick_close(void)
{
	struct hvw_kick k = {7, 3}, k2;
	struct hvw_close c = {9}, c2;
	struct hvw_frame f;
	size_t n;
	uint32_t i;

	n = hvw_encode_kick(fbuf, sizeof(fbuf), 0, &k);
	CHECK_EQ(n, HVW_FRAME_SIZE(8));
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, HVW_KICK);
	CHECK_EQ(f.seq, 0);
	CHECK_EQ(f.payload[0], 7);
	CHECK_EQ(f.payload[4], 3);
	CHECK_EQ(hvw_parse_kick(f.payload, f.len, &k2), 0);
	CHECK_EQ(k2.vm, 7);
	CHECK_EQ(k2.vcpu, 3);
	CHECK_STR(hvw_type_name(HVW_KICK), "KICK");

	n = hvw_encode_close(fbuf, sizeof(fbuf), 12, &c);
	CHECK_EQ(n, HVW_FRAME_SIZE(8));
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, HVW_CLOSE);
	CHECK_EQ(f.seq, 12);
	CHECK_EQ(hvw_parse_close(f.payload, f.len, &c2), 0);
	CHECK_EQ(c2.vm, 9);
	CHECK_STR(hvw_type_name(HVW_CLOSE), "CLOSE");

	/* Hostile: any size but 8, reserved bits in CLOSE. */
	memset(pbuf, 0, 16);
	for (i = 0; i < 16; i++) {
		CHECK_EQ(PARSE_EXACT(hvw_parse_kick, pbuf, i, &k2), i == 8 ? 0 : -HV_EINVAL);
		CHECK_EQ(PARSE_EXACT(hvw_parse_close, pbuf, i, &c2), i == 8 ? 0 : -HV_EINVAL);
	}
	pbuf[7] = 0x80;
	CHECK_EQ(PARSE_EXACT(hvw_parse_close, pbuf, 8, &c2), -HV_EINVAL);
	CHECK_EQ(PARSE_EXACT(hvw_parse_kick, pbuf, 8, &k2), 0);
	CHECK_EQ(k2.vcpu, 0x80000000u);
}

/* ---- BYE, LIST ---- */

static void test_rt_bye_list_req(void)
{
	struct hvw_bye b = {HVW_BYE_GONE}, b2;
	struct hvw_list_req l = {0}, l2;
	struct hvw_frame f;
	size_t n;
	uint32_t i;

	n = hvw_encode_bye(fbuf, sizeof(fbuf), 0, &b);
	CHECK_EQ(n, HVW_FRAME_SIZE(8));
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, HVW_BYE);
	CHECK_EQ(f.seq, 0);
	CHECK_EQ(hvw_parse_bye(f.payload, f.len, &b2), 0);
	CHECK_EQ(b2.reason, HVW_BYE_GONE);
	b.reason = HVW_BYE_REASON_MAX + 1;
	CHECK_EQ(hvw_encode_bye(fbuf, sizeof(fbuf), 1, &b), 0);

	n = hvw_encode_list_req(fbuf, sizeof(fbuf), 3, &l);
	CHECK_EQ(n, HVW_FRAME_SIZE(8));
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, HVW_LIST_REQ);
	CHECK_EQ(hvw_parse_list_req(f.payload, f.len, &l2), 0);
	l.flags = 1;
	CHECK_EQ(hvw_encode_list_req(fbuf, sizeof(fbuf), 3, &l), 0);

	/* Hostile: any size but 8, a reason past the last, reserved bits, flags. */
	memset(pbuf, 0, 16);
	for (i = 0; i < 16; i++) {
		CHECK_EQ(PARSE_EXACT(hvw_parse_bye, pbuf, i, &b2), i == 8 ? 0 : -HV_EINVAL);
		CHECK_EQ(PARSE_EXACT(hvw_parse_list_req, pbuf, i, &l2), i == 8 ? 0 : -HV_EINVAL);
	}
	pbuf[0] = HVW_BYE_REASON_MAX + 1;
	CHECK_EQ(PARSE_EXACT(hvw_parse_bye, pbuf, 8, &b2), -HV_EINVAL);
	CHECK_EQ(PARSE_EXACT(hvw_parse_list_req, pbuf, 8, &l2), -HV_EINVAL);
	pbuf[0] = 0;
	pbuf[6] = 1;
	CHECK_EQ(PARSE_EXACT(hvw_parse_bye, pbuf, 8, &b2), -HV_EINVAL);
	CHECK_EQ(PARSE_EXACT(hvw_parse_list_req, pbuf, 8, &l2), -HV_EINVAL);
}

static void test_rt_list_resp(void)
{
	static uint8_t body[3 * HVW_LIST_ENTRY_LEN];
	struct hvw_vm_entry e = {.handle = 2, .owner = 7, .vcpus = 64, .memory = 1 << 20};
	struct hvw_list_resp r = {.count = 3,
				  .session = 7,
				  .max_vms = 64,
				  .max_vcpus = 64,
				  .free_pages = 1234567,
				  .body = body},
			     r2;
	struct hvw_vm_entry got;
	struct hvw_frame f;
	uint32_t len;
	size_t n;

	hvw_list_put_entry(body, &e);
	e.handle = 5;
	e.owner = HVW_OWNER_BOOT;
	memcpy(e.name, "a\x01name-that-is-longer-than-thirty-one-bytes", 32);
	hvw_list_put_entry(body + HVW_LIST_ENTRY_LEN, &e);
	e.handle = 64;
	memcpy(e.name, "vm64", 5);
	hvw_list_put_entry(body + 2 * HVW_LIST_ENTRY_LEN, &e);
	n = hvw_encode_list_resp(fbuf, sizeof(fbuf), 9, &r);
	CHECK_EQ(n, HVW_FRAME_SIZE(HVW_LIST_HEAD_LEN + 3 * HVW_LIST_ENTRY_LEN));
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, HVW_LIST_RESP);
	CHECK_EQ(hvw_parse_list_resp(f.payload, f.len, &r2), 0);
	CHECK_EQ(r2.count, 3);
	CHECK_EQ(r2.session, 7);
	CHECK_EQ(r2.max_vms, 64);
	CHECK_EQ(r2.max_vcpus, 64);
	CHECK_EQ(r2.free_pages, 1234567);
	hvw_list_entry(&r2, 0, &got);
	CHECK_EQ(got.handle, 2);
	CHECK_EQ(got.owner, 7);
	CHECK_EQ(got.vcpus, 64);
	CHECK_EQ(got.memory, 1 << 20);
	CHECK_STR(got.name, "");
	hvw_list_entry(&r2, 1, &got);
	CHECK_EQ(got.owner, HVW_OWNER_BOOT);
	/* The builder cuts and cleans the name: 31 bytes, '?' for \x01. */
	CHECK_STR(got.name, "a?name-that-is-longer-than-thir");
	hvw_list_entry(&r2, 2, &got);
	CHECK_STR(got.name, "vm64");

	/* Hostile answers. */
	len = f.len;
	memcpy(pbuf, f.payload, len);
	CHECK_EQ(PARSE_EXACT(hvw_parse_list_resp, pbuf, len, &r2), 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_list_resp, pbuf, HVW_LIST_HEAD_LEN - 1, &r2), -HV_EINVAL);
	CHECK_EQ(PARSE_EXACT(hvw_parse_list_resp, pbuf, len - 1, &r2), -HV_EINVAL);
	CHECK_EQ(PARSE_EXACT(hvw_parse_list_resp, pbuf, len - HVW_LIST_ENTRY_LEN, &r2), -HV_EINVAL);
	pbuf[0] = 2; /* count 2, three entries' bytes */
	CHECK_EQ(PARSE_EXACT(hvw_parse_list_resp, pbuf, len, &r2), -HV_EINVAL);
	CHECK_EQ(PARSE_EXACT(hvw_parse_list_resp, pbuf, len - HVW_LIST_ENTRY_LEN, &r2), 0);
	le32(pbuf, 0xffffffff);
	CHECK_EQ(PARSE_EXACT(hvw_parse_list_resp, pbuf, len, &r2), -HV_E2BIG);
	le32(pbuf, 3);
	le32(pbuf + HVW_LIST_HEAD_LEN + HVW_LIST_ENTRY_LEN, 2); /* handles 2, 2, 64 */
	CHECK_EQ(PARSE_EXACT(hvw_parse_list_resp, pbuf, len, &r2), -HV_EINVAL);
	le32(pbuf + HVW_LIST_HEAD_LEN + HVW_LIST_ENTRY_LEN, 5);
	pbuf[HVW_LIST_HEAD_LEN + 12] = 1; /* reserved */
	CHECK_EQ(PARSE_EXACT(hvw_parse_list_resp, pbuf, len, &r2), -HV_EINVAL);
	pbuf[HVW_LIST_HEAD_LEN + 12] = 0;
	memset(pbuf + HVW_LIST_HEAD_LEN + 24, 'x', HVW_VM_NAME_LEN); /* no NUL */
	CHECK_EQ(PARSE_EXACT(hvw_parse_list_resp, pbuf, len, &r2), -HV_EINVAL);
	pbuf[HVW_LIST_HEAD_LEN + 24] = 0;
	le32(pbuf + HVW_LIST_HEAD_LEN, 0); /* handle 0 */
	CHECK_EQ(PARSE_EXACT(hvw_parse_list_resp, pbuf, len, &r2), -HV_EINVAL);
	/* An empty list is a head alone. */
	le32(pbuf, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_list_resp, pbuf, HVW_LIST_HEAD_LEN, &r2), 0);
	r.count = HVW_LIST_MAX + 1;
	CHECK_EQ(hvw_encode_list_resp(fbuf, sizeof(fbuf), 1, &r), 0);
}

static void test_rt_mem_changed_req(void)
{
	struct hvw_mem_changed_req r = {4, 0x100000, 0x100000, 1}, r2;
	struct hvw_frame f;
	size_t n;

	n = hvw_encode_mem_changed_req(fbuf, sizeof(fbuf), 5, &r);
	CHECK_EQ(n, HVW_FRAME_SIZE(24));
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, HVW_MEM_CHANGED_REQ);
	CHECK_EQ(hvw_parse_mem_changed_req(f.payload, f.len, &r2), 0);
	CHECK_EQ(r2.vm, 4);
	CHECK_EQ(r2.gpa, 0x100000);
	CHECK_EQ(r2.len, 0x100000);
	CHECK_EQ(r2.flags, HVW_MEM_CHANGED_PACKED);

	/* Alignment, wrap, flags, size. */
	r = (struct hvw_mem_changed_req){1, 0x1001, 0x1000, 0};
	CHECK_EQ(hvw_encode_mem_changed_req(fbuf, sizeof(fbuf), 5, &r), 0);
	r = (struct hvw_mem_changed_req){1, 0x1000, 0x1800, 0};
	CHECK_EQ(hvw_encode_mem_changed_req(fbuf, sizeof(fbuf), 5, &r), 0);
	r = (struct hvw_mem_changed_req){1, 0xfffffffffffff000ull, 0x2000, 0};
	CHECK_EQ(hvw_encode_mem_changed_req(fbuf, sizeof(fbuf), 5, &r), 0);
	r = (struct hvw_mem_changed_req){1, 0xfffffffffffff000ull, 0x1000, 0};
	CHECK(hvw_encode_mem_changed_req(fbuf, sizeof(fbuf), 5, &r) > 0);
	r = (struct hvw_mem_changed_req){1, 0x5000, 0, 0};
	CHECK(hvw_encode_mem_changed_req(fbuf, sizeof(fbuf), 5, &r) > 0);

	memset(pbuf, 0, 32);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_req, pbuf, 24, &r2), 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_req, pbuf, 23, &r2), -HV_EINVAL);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_req, pbuf, 25, &r2), -HV_EINVAL);
	pbuf[4] = 1; /* flags: HVW_MEM_CHANGED_PACKED */
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_req, pbuf, 24, &r2), 0);
	CHECK_EQ(r2.flags, HVW_MEM_CHANGED_PACKED);
	pbuf[4] = 2; /* an unknown flag */
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_req, pbuf, 24, &r2), -HV_EINVAL);
	r = (struct hvw_mem_changed_req){1, 0x1000, 0x1000, 2};
	CHECK_EQ(hvw_encode_mem_changed_req(fbuf, sizeof(fbuf), 5, &r), 0);
	pbuf[4] = 0;
	pbuf[8] = 8; /* gpa 8 */
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_req, pbuf, 24, &r2), -HV_EINVAL);
	pbuf[8] = 0;
	pbuf[17] = 0x08; /* len 0x800 */
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_req, pbuf, 24, &r2), -HV_EINVAL);
	memset(pbuf + 8, 0xff, 8);
	pbuf[8] = 0; /* gpa 0xffff...ff00: not aligned */
	pbuf[9] = 0xf0;
	pbuf[17] = 0x20; /* len 0x2000 wraps */
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_req, pbuf, 24, &r2), -HV_EINVAL);
}

/* An answer in @b: @n entries at gpa 0x1000 * (i + 1), every third one zero. */
static uint32_t changed_answer_in(uint8_t *pbuf, uint64_t next, uint32_t n)
{
	uint32_t off = HVW_MEM_CHANGED_HEAD_LEN;

	hvw_mem_changed_put_head(pbuf, next, n);
	for (uint32_t i = 0; i < n; i++) {
		bool zero = i % 3 == 2;

		hvw_mem_changed_put_entry(pbuf + off, 0x1000ull * (i + 1), zero ? HVW_PAGE_ZERO : 0,
					  0);
		off += HVW_MEM_CHANGED_ENTRY_LEN;
		if (!zero) {
			memset(pbuf + off, 0x40 + (int)i, HVW_PAGE_SIZE);
			off += HVW_PAGE_SIZE;
		}
	}
	return off;
}

#define changed_answer(next, n) changed_answer_in(pbuf, next, n)

/* HVW_PAGE_PACKED entries: the bytes that follow are a page's packed form. */
static void test_mem_changed_packed(void)
{
	static uint8_t page[HVW_PAGE_SIZE], got[HVW_PAGE_SIZE], small[100];
	static struct hvp_scratch ws;
	struct hvw_mem_changed_resp r;
	struct hvw_page pg;
	uint32_t off = HVW_MEM_CHANGED_HEAD_LEN, len, k;
	uint8_t packed[HVP_BOUND(HVW_PAGE_SIZE)];

	for (unsigned i = 0; i < sizeof(page); i++)
		page[i] = i % 512 < 8 ? (uint8_t)(i + 1) : 0;
	k = (uint32_t)hvp_pack(packed, sizeof(packed), page, sizeof(page), &ws);
	CHECK(k > 0 && k < 200);
	hvw_mem_changed_put_head(pbuf, 0x3000, 2);
	hvw_mem_changed_put_entry(pbuf + off, 0x1000, HVW_PAGE_PACKED, k);
	memcpy(pbuf + off + HVW_MEM_CHANGED_ENTRY_LEN, packed, k);
	off += HVW_MEM_CHANGED_ENTRY_LEN + k;
	hvw_mem_changed_put_entry(pbuf + off, 0x2000, HVW_PAGE_ZERO, 0);
	len = off + HVW_MEM_CHANGED_ENTRY_LEN;
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, len, &r), 0);
	CHECK_EQ(hvw_parse_mem_changed_resp(pbuf, len, &r), 0);
	off = 0;
	CHECK_EQ(hvw_mem_changed_entry(&r, &off, &pg), 1);
	CHECK_EQ(pg.flags, HVW_PAGE_PACKED);
	CHECK_EQ(pg.len, k);
	CHECK_EQ(hvw_page_bytes(&pg, got), 0);
	CHECK(!memcmp(got, page, sizeof(page)));
	CHECK_EQ(hvw_mem_changed_entry(&r, &off, &pg), 1);
	memset(got, 1, sizeof(got));
	CHECK_EQ(hvw_page_bytes(&pg, got), 0);
	CHECK(got[0] == 0 && got[HVW_PAGE_SIZE - 1] == 0);
	CHECK_EQ(hvw_mem_changed_entry(&r, &off, &pg), 0);

	/* Hostile: length 0, over a page, past the body; ZERO and PACKED at once. */
	le32(pbuf + HVW_MEM_CHANGED_HEAD_LEN + 12, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, len, &r), -HV_EINVAL);
	le32(pbuf + HVW_MEM_CHANGED_HEAD_LEN + 12, HVW_PAGE_SIZE + 1);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, len, &r), -HV_EINVAL);
	le32(pbuf + HVW_MEM_CHANGED_HEAD_LEN + 12, k + 1);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, len, &r), -HV_EINVAL);
	le32(pbuf + HVW_MEM_CHANGED_HEAD_LEN + 12, k);
	le32(pbuf + HVW_MEM_CHANGED_HEAD_LEN + 8, HVW_PAGE_PACKED | HVW_PAGE_ZERO);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, len, &r), -HV_EINVAL);
	/* Well framed, but the bytes are not a page: refused when unpacked. */
	k = (uint32_t)hvp_pack(packed, sizeof(packed), small, sizeof(small), &ws);
	hvw_mem_changed_put_head(pbuf, 0x2000, 1);
	hvw_mem_changed_put_entry(pbuf + HVW_MEM_CHANGED_HEAD_LEN, 0x1000, HVW_PAGE_PACKED, k);
	memcpy(pbuf + HVW_MEM_CHANGED_HEAD_LEN + HVW_MEM_CHANGED_ENTRY_LEN, packed, k);
	len = HVW_MEM_CHANGED_HEAD_LEN + HVW_MEM_CHANGED_ENTRY_LEN + k;
	CHECK_EQ(hvw_parse_mem_changed_resp(pbuf, len, &r), 0);
	off = 0;
	CHECK_EQ(hvw_mem_changed_entry(&r, &off, &pg), 1);
	CHECK_EQ(hvw_page_bytes(&pg, got), -HV_EINVAL);
	pbuf[len - 1] ^= 0xff;
	CHECK_EQ(hvw_page_bytes(&pg, got), -HV_EINVAL);
}

static void test_rt_mem_changed_resp(void)
{
	struct hvw_mem_changed_resp r, r2;
	struct hvw_page pg;
	struct hvw_frame f;
	uint32_t len, off = 0, i = 0;
	size_t n;
	int ret;

	len = changed_answer(0x10000, 5);
	CHECK_EQ(len, 16 + 5 * 16 + 4 * 4096);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, len, &r), 0);
	CHECK_EQ(hvw_parse_mem_changed_resp(pbuf, len, &r), 0);
	CHECK_EQ(r.next, 0x10000);
	CHECK_EQ(r.count, 5);
	while ((ret = hvw_mem_changed_entry(&r, &off, &pg)) == 1) {
		CHECK_EQ(pg.gpa, 0x1000ull * (i + 1));
		if (i % 3 == 2) {
			CHECK_EQ(pg.flags, HVW_PAGE_ZERO);
			CHECK(pg.data == NULL);
		} else {
			CHECK_EQ(pg.flags, 0);
			CHECK_EQ(pg.data[4095], 0x40 + i);
		}
		i++;
	}
	CHECK_EQ(ret, 0);
	CHECK_EQ(i, 5);

	/* Round trip through the encoder. */
	n = hvw_encode_mem_changed_resp(fbuf, sizeof(fbuf), 6, &r);
	CHECK_EQ(n, HVW_FRAME_SIZE(len));
	CHECK_EQ(decode_one(n, &f), 0);
	CHECK_EQ(f.type, HVW_MEM_CHANGED_RESP);
	CHECK(memcmp(f.payload, pbuf, len) == 0);
	CHECK_EQ(hvw_parse_mem_changed_resp(f.payload, f.len, &r2), 0);

	/* Empty: nothing changed up to next. */
	len = changed_answer(0x5000, 0);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, len, &r), 0);

	/* Hostile: short head, count beyond the bytes, bytes left over,
	 * a cut page, next not above the last gpa, descending gpas, flags,
	 * reserved fields, an unaligned gpa, too big. */
	len = changed_answer(0x10000, 3);
	for (uint32_t k = 0; k < 16; k++)
		CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, k, &r), -HV_EINVAL);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, len - 1, &r), -HV_EINVAL);
	pbuf[len] = 0;
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, len + 1, &r), -HV_EINVAL);
	le32(pbuf + 8, 4);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, len, &r), -HV_EINVAL);
	le32(pbuf + 8, 0xffffffffu);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, len, &r), -HV_EINVAL);
	len = changed_answer(0x3000, 3); /* the last gpa is 0x3000 */
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, len, &r), -HV_EINVAL);
	len = changed_answer(0x10000, 2);
	le64(pbuf + 16 + 16 + 4096, 0x1000); /* second gpa == first */
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, len, &r), -HV_EINVAL);
	len = changed_answer(0x10000, 2);
	le32(pbuf + 16 + 8, 4); /* unknown page flag */
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, len, &r), -HV_EINVAL);
	len = changed_answer(0x10000, 2);
	le32(pbuf + 16 + 12, 1); /* entry reserved */
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, len, &r), -HV_EINVAL);
	len = changed_answer(0x10000, 2);
	le32(pbuf + 12, 1); /* head reserved */
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, len, &r), -HV_EINVAL);
	len = changed_answer(0x10000, 2);
	le64(pbuf + 16, 0x1008);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, len, &r), -HV_EINVAL);
	len = changed_answer(0x100000, 21); /* 14 pages: fits */
	CHECK(len <= HVW_MAX_ARG);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, pbuf, len, &r), 0);
	len = changed_answer_in(sbuf, 0x100000, 24); /* 16 pages: does not */
	CHECK(len > HVW_MAX_ARG);
	CHECK_EQ(PARSE_EXACT(hvw_parse_mem_changed_resp, sbuf, len, &r), -HV_E2BIG);
	r.body_len = HVW_MAX_ARG;
	CHECK_EQ(hvw_encode_mem_changed_resp(fbuf, sizeof(fbuf), 1, &r), 0);
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_crc_known_vector),
    TEST_ENTRY(test_crc_matches_bitwise),
    TEST_ENTRY(test_crc_chained),
    TEST_ENTRY(test_encode_layout),
    TEST_ENTRY(test_encode_limits),
    TEST_ENTRY(test_encode2_parts_and_in_place),
    TEST_ENTRY(test_put_header_streaming),
    TEST_ENTRY(test_rt_hello),
    TEST_ENTRY(test_rt_ioctl_req),
    TEST_ENTRY(test_rt_ioctl_resp),
    TEST_ENTRY(test_rt_mem_write),
    TEST_ENTRY(test_rt_mem_read),
    TEST_ENTRY(test_rt_error),
    TEST_ENTRY(test_rt_power_off_and_unknown_type),
    TEST_ENTRY(test_rt_kick_close),
    TEST_ENTRY(test_rt_bye_list_req),
    TEST_ENTRY(test_rt_list_resp),
    TEST_ENTRY(test_rt_mem_changed_req),
    TEST_ENTRY(test_rt_mem_changed_resp),
    TEST_ENTRY(test_mem_changed_packed),
    TEST_ENTRY(test_decoder_byte_by_byte),
    TEST_ENTRY(test_decoder_random_chunks),
    TEST_ENTRY(test_decoder_garbage_before_between),
    TEST_ENTRY(test_decoder_split_every_offset),
    TEST_ENTRY(test_decoder_bad_crc),
    TEST_ENTRY(test_decoder_false_magic_in_garbage),
    TEST_ENTRY(test_decoder_false_length_resync),
    TEST_ENTRY(test_decoder_oversize),
    TEST_ENTRY(test_decoder_bad_version),
    TEST_ENTRY(test_decoder_max_frame_and_full_buffer),
    TEST_ENTRY(test_decoder_payload_stable_across_feed),
    TEST_ENTRY(test_ioctl_req_hdr_layout),
    TEST_ENTRY(test_ioctl_req_hostile),
    TEST_ENTRY(test_ioctl_req_copied_once),
    TEST_ENTRY(test_ioctl_resp_hostile),
    TEST_ENTRY(test_hello_hostile),
    TEST_ENTRY(test_mem_hostile),
    TEST_ENTRY(test_error_hostile),
    TEST_ENTRY(test_seq_next),
    TEST_ENTRY(test_type_names),
    TEST_ENTRY(test_fuzz_seeds),
    TEST_ENTRY(test_fuzz_regressions),
};

CHECK_MAIN(tests)
