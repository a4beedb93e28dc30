// SPDX-License-Identifier: MIT
/*
 * abi/hvpack.c (the LZ77 packer of the channel): round trips of zeros, a
 * lapic-like record, random bytes, text and x86 code, the size figures
 * the channel counts on, and hostile packed forms written out by hand.
 * Buffers are allocated to their exact size, so that ASan catches a read
 * or write one byte outside them.
 */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/hvpack.h"
#include "abi/kvm.h"
#include "abi/errno.h"
#include "tests/unit/check.h"

static struct hvp_scratch scratch;
static uint8_t buf[HVP_MAX_LEN];

/*
 * Pack in[0, len) into an exact-sized buffer and unpack it into another;
 * returns the packed size, or -1 (after recording why) if the round trip
 * failed. Also: a cap one byte short refuses, and the header says len.
 */
static long round_trip(const void *in, size_t len)
{
	uint8_t *packed = malloc(HVP_BOUND(len)), *back = malloc(len ? len : 1), *small;
	long n, ret = -1;

	n = hvp_pack(packed, HVP_BOUND(len), in, len, &scratch);
	if (n <= 0 || (size_t)n > HVP_BOUND(len)) {
		check_fail(__FILE__, __LINE__, "hvp_pack failed or went past HVP_BOUND");
		goto out;
	}
	small = malloc((size_t)n);
	if (hvp_pack(small, (size_t)n - 1, in, len, &scratch) != -HV_E2BIG ||
	    hvp_pack(small, (size_t)n, in, len, &scratch) != n ||
	    memcmp(small, packed, (size_t)n)) {
		free(small);
		check_fail(__FILE__, __LINE__, "a cap of the packed size (less one) misbehaved");
		goto out;
	}
	free(small);
	if (hvp_unpacked_len(packed, (size_t)n) != (long)len ||
	    hvp_unpack(back, len, packed, (size_t)n) != (long)len ||
	    (len && memcmp(back, in, len))) {
		check_fail(__FILE__, __LINE__, "hvp_unpack did not give the input back");
		goto out;
	}
	if (len && hvp_unpack(back, len - 1, packed, (size_t)n) != -HV_E2BIG) {
		check_fail(__FILE__, __LINE__, "unpacking into a cap one short did not refuse");
		goto out;
	}
	ret = n;
out:
	free(packed);
	free(back);
	return ret;
}

static const size_t lens[] = {0, 1, 3, 4, 5, 15, 16, 19, 270, 4096, 65536};

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	check_rng_seed(seed);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)check_rng();
}

/* 1024 bytes, zero but for 20 registers (4 bytes every 16) as a LAPIC has. */
static void fill_lapic(struct kvm_lapic_state *l)
{
	static const uint16_t regs[20] = {0x20,	 0x30,	0x80,  0xd0,  0xe0,  0xf0,  0x100,
					  0x180, 0x200, 0x280, 0x300, 0x310, 0x320, 0x330,
					  0x340, 0x350, 0x360, 0x370, 0x380, 0x3e0};

	memset(l, 0, sizeof(*l));
	check_rng_seed(7);
	for (int i = 0; i < 20; i++) {
		uint32_t v = check_rng() | 1;

		memcpy(l->regs + regs[i], &v, 4);
	}
}

static void test_round_trips(void)
{
	static uint8_t src[HVP_MAX_LEN];

	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		memset(src, 0, lens[k]);
		CHECK(round_trip(src, lens[k]) >= 0);
		fill_random(src, lens[k], lens[k]);
		CHECK(round_trip(src, lens[k]) >= 0);
		for (size_t i = 0; i < lens[k]; i++) /* runs, repeats and noise */
			src[i] = (uint8_t)(i % 7 == 0 ? check_rng() : (i / 64) % 3 ? i % 13 : 0);
		CHECK(round_trip(src, lens[k]) >= 0);
	}
	/* Every length up to 300 on mixed bytes, every cut of a long match. */
	for (size_t len = 0; len <= 300; len++) {
		for (size_t i = 0; i < len; i++)
			src[i] = (uint8_t)(i < len / 2 ? check_rng() % 4 : 0xaa);
		CHECK(round_trip(src, len) >= 0);
	}
	/* A full lapic-like record: a 4-byte register every 16 bytes. */
	memset(src, 0, 1024);
	for (size_t i = 0; i < 1024; i += 16)
		src[i] = (uint8_t)check_rng(), src[i + 1] = (uint8_t)(i >> 4), src[i + 3] = 0x80;
	CHECK(round_trip(src, 1024) >= 0);
	CHECK(round_trip(NULL, 0) == 1);
}

static const char text[] =
    "The hypervisor keeps decoding frames during a run. A HELLO stops the run "
    "(a new controller) and a CLOSE of the running VM stops it too; both are "
    "then served after the run's answer. Other requests (a second KVM_RUN of "
    "the vCPU included) wait in a queue of 8 and are served, oldest first, "
    "once the run has returned; a request that finds the queue full is "
    "answered at once with HVW_ERROR -EBUSY and its seq. Answers may thus "
    "come in another order than the requests: match them by seq.";

/* Up to 4096 bytes of this program's own executable segment. */
static size_t own_code(uint8_t *out, size_t cap)
{
	FILE *f = fopen("/proc/self/exe", "rb");
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	size_t n = 0;

	if (!f)
		return 0;
	if (fread(&eh, sizeof(eh), 1, f) == 1) {
		for (int i = 0; i < eh.e_phnum && !n; i++) {
			if (fseek(f, (long)(eh.e_phoff + (uint64_t)i * eh.e_phentsize), SEEK_SET) ||
			    fread(&ph, sizeof(ph), 1, f) != 1)
				break;
			if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X) || ph.p_filesz < cap)
				continue;
			if (!fseek(f, (long)ph.p_offset, SEEK_SET))
				n = fread(out, 1, cap, f);
		}
	}
	fclose(f);
	return n;
}

static void test_sizes(void)
{
	static uint8_t src[4096];
	struct kvm_lapic_state lapic;
	long zeros, lap, rnd, txt, code;

	CHECK_EQ(sizeof(lapic), 1024);
	memset(src, 0, sizeof(src));
	zeros = round_trip(src, sizeof(src));
	CHECK(zeros > 0 && zeros < 40);
	fill_lapic(&lapic);
	lap = round_trip(&lapic, sizeof(lapic));
	CHECK(lap > 0 && lap < 200);
	/* The same 20 registers back to back, 16 bytes apart. */
	memset(&lapic, 0, sizeof(lapic));
	for (int i = 0; i < 20; i++)
		lapic.regs[0x200 + 16 * i] = (uint8_t)(0x31 + i), lapic.regs[0x202 + 16 * i] = 7;
	CHECK(round_trip(&lapic, sizeof(lapic)) < 200);
	fill_random(src, sizeof(src), 42);
	rnd = round_trip(src, sizeof(src));
	CHECK(rnd > 0 && rnd <= (long)HVP_BOUND(sizeof(src)));
	txt = round_trip(text, sizeof(text));
	CHECK(txt > 0 && txt < (long)sizeof(text));
	CHECK_EQ(own_code(src, sizeof(src)), sizeof(src));
	code = round_trip(src, sizeof(src));
	CHECK(code > 0 && code < (long)sizeof(src) * 9 / 10);
	printf("hvpack: zeros 4096 -> %ld, lapic 1024 -> %ld, random 4096 -> %ld, "
	       "text %zu -> %ld, own code 4096 -> %ld\n",
	       zeros, lap, rnd, sizeof(text), txt, code);
}

/* Random data never packs beyond HVP_BOUND, at any length and seed. */
static void test_bound(void)
{
	static uint8_t src[HVP_MAX_LEN];

	for (int round = 0; round < 200; round++) {
		size_t len = round < 100 ? (size_t)round * 37 : check_rng() % (HVP_MAX_LEN + 1);

		fill_random(src, len, 1000 + (uint64_t)round);
		if (round & 1) /* sparse matches among the noise */
			for (size_t i = 0; i + 200 < len; i += 150 + check_rng() % 50)
				memcpy(src + i, src + i / 2, 4 + check_rng() % 4);
		CHECK(round_trip(src, len) >= 0);
	}
}

static void test_pack_refuses(void)
{
	static uint8_t src[HVP_MAX_LEN + 1];

	CHECK_EQ(hvp_pack(buf, sizeof(buf), src, HVP_MAX_LEN + 1, &scratch), -HV_EINVAL);
	CHECK_EQ(hvp_pack(buf, 0, src, 0, &scratch), -HV_E2BIG);
	CHECK_EQ(hvp_pack(NULL, 0, src, 10, &scratch), -HV_E2BIG);
	CHECK_EQ(hvp_pack(buf, 1, src, 0, &scratch), 1);
	CHECK_EQ(buf[0], 0);
}

/* Unpack the bytes given into an exact-sized copy; cap as given. */
static long unpack_bytes(size_t cap, const uint8_t *in, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1), *out = malloc(cap ? cap : 1);
	long r, l;

	if (n)
		memcpy(copy, in, n);
	r = hvp_unpack(out, cap, copy, n);
	l = hvp_unpacked_len(copy, n);
	/* The header check alone agrees with the whole when it fails. */
	if ((l < 0 && r != l) || (r >= 0 && r != l))
		r = -1000;
	free(copy);
	free(out);
	return r;
}

#define UNPACK(cap, ...)                                                                           \
	unpack_bytes((cap), (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

static void test_hand_made(void)
{
	/* The forms the format describes, accepted. */
	CHECK_EQ(UNPACK(0, 0x00), 0);
	CHECK_EQ(UNPACK(2, 0x02, 0x20, 'h', 'i'), 2);
	CHECK_EQ(UNPACK(8, 0x08, 0x40, 'a', 'b', 'c', 'd', 0x04, 0x00), 8);
	CHECK_EQ(UNPACK(9, 0x09, 0x40, 'a', 'b', 'c', 'd', 0x01, 0x00, 0x10, 'e'), 9);
	/* 0x81 0x01 = 129: one literal, then offset 1 for 15 + 4 + 109. */
	CHECK_EQ(UNPACK(129, 0x81, 0x01, 0x1f, 0, 0x01, 0x00, 109), 129);
	CHECK_EQ(UNPACK(200, 0x81, 0x01, 0x1f, 0, 0x01, 0x00, 109), 129);
	/* 15 literals need the extension, even when it is 0. */
	CHECK_EQ(UNPACK(15, 15, 0xf0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 15);

	/* Empty, truncated or overlong header; announced length too big. */
	CHECK_EQ(unpack_bytes(16, NULL, 0), -HV_EINVAL);
	CHECK_EQ(UNPACK(16, 0x80), -HV_EINVAL);
	CHECK_EQ(UNPACK(16, 0x84, 0x00, 0x40, 'a', 'b', 'c', 'd'), -HV_EINVAL);
	CHECK_EQ(UNPACK(16, 0x80, 0x80, 0x80, 0x00), -HV_EINVAL);
	CHECK_EQ(UNPACK(1u << 20, 0x80, 0x80, 0x80, 0x01), -HV_EINVAL);
	CHECK_EQ(UNPACK(3, 0x04, 0x40, 'a', 'b', 'c', 'd'), -HV_E2BIG);
	/* 65536 is the most; 65537 is refused however big the cap. */
	CHECK_EQ(hvp_unpacked_len((const uint8_t[]){0x80, 0x80, 0x04}, 3), 65536);
	CHECK_EQ(UNPACK(1u << 17, 0x81, 0x80, 0x04, 0x00), -HV_EINVAL);
	CHECK_EQ(hvp_unpacked_len((const uint8_t[]){0x81, 0x80, 0x04}, 3), -HV_EINVAL);

	/* Literals: cut short, past the announced length, overlong extension. */
	CHECK_EQ(UNPACK(16, 0x05, 0x50, 'a', 'b'), -HV_EINVAL);
	CHECK_EQ(UNPACK(16, 0x02, 0x30, 'a', 'b', 'c'), -HV_EINVAL);
	CHECK_EQ(UNPACK(64, 16, 0xf0, 0x81, 0x00, 'a'), -HV_EINVAL);
	CHECK_EQ(UNPACK(64, 16, 0xf0), -HV_EINVAL);
	CHECK_EQ(UNPACK(16, 0x02), -HV_EINVAL); /* no token */

	/* Offsets: 0, beyond the bytes produced, cut short. */
	CHECK_EQ(UNPACK(16, 0x08, 0x40, 'a', 'b', 'c', 'd', 0x00, 0x00), -HV_EINVAL);
	CHECK_EQ(UNPACK(16, 0x08, 0x40, 'a', 'b', 'c', 'd', 0x05, 0x00), -HV_EINVAL);
	CHECK_EQ(UNPACK(16, 0x08, 0x40, 'a', 'b', 'c', 'd', 0x04, 0x01), -HV_EINVAL);
	CHECK_EQ(UNPACK(16, 0x04, 0x00, 0x01, 0x00), -HV_EINVAL); /* nothing produced */
	CHECK_EQ(UNPACK(16, 0x08, 0x40, 'a', 'b', 'c', 'd', 0x01), -HV_EINVAL);
	CHECK_EQ(UNPACK(16, 0x08, 0x40, 'a', 'b', 'c', 'd'), -HV_EINVAL);

	/* Matches: past the announced length, cut-short or overlong extension. */
	CHECK_EQ(UNPACK(16, 0x07, 0x40, 'a', 'b', 'c', 'd', 0x01, 0x00), -HV_EINVAL);
	CHECK_EQ(UNPACK(200, 0x81, 0x01, 0x1f, 0, 0x01, 0x00, 110), -HV_EINVAL);
	CHECK_EQ(UNPACK(200, 0x81, 0x01, 0x1f, 0, 0x01, 0x00), -HV_EINVAL);
	CHECK_EQ(UNPACK(200, 0x81, 0x01, 0x1f, 0, 0x01, 0x00, 0xed, 0x00), -HV_EINVAL);

	/* The end: a match nibble on the last literals, trailing bytes. */
	CHECK_EQ(UNPACK(16, 0x02, 0x21, 'h', 'i'), -HV_EINVAL);
	CHECK_EQ(UNPACK(16, 0x02, 0x20, 'h', 'i', 0x00), -HV_EINVAL);
	CHECK_EQ(UNPACK(16, 0x02, 0x20, 'h', 'i', 0x10, 'x'), -HV_EINVAL);
	CHECK_EQ(UNPACK(16, 0x08, 0x40, 'a', 'b', 'c', 'd', 0x04, 0x00, 0x00), -HV_EINVAL);
	CHECK_EQ(UNPACK(16, 0x00, 0x00), -HV_EINVAL);
}

/*
 * Random bytes as a packed form: a length or a refusal, never a crash. A
 * quarter of the forms are pure noise, a quarter noise with small fields,
 * the rest real packed forms with a byte or two changed, cut or added.
 */
static void test_random_packed_forms(void)
{
	uint8_t in[64], src[48], *back;
	size_t n, cap;
	long r;
	int ok = 0;

	check_rng_seed(99);
	for (int round = 0; round < 200000; round++) {
		n = check_rng() % 40;
		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)check_rng();
		if (round % 4 == 1 && n) {
			in[0] = (uint8_t)(check_rng() % 64);
			for (size_t i = 1; i < n; i++)
				in[i] &= check_rng() % 2 ? 0x33 : 0xff;
		} else if (round % 4 >= 2) {
			size_t len = check_rng() % sizeof(src);

			for (size_t i = 0; i < len; i++)
				src[i] = (uint8_t)(i > 8 && check_rng() % 4
						       ? src[i - 1 - check_rng() % 8]
						       : check_rng() % 4);
			n = (size_t)hvp_pack(in, sizeof(in) - 1, src, len, &scratch);
			for (int k = (int)(check_rng() % 3); k > 0; k--)
				in[check_rng() % n] ^= (uint8_t)(1u << check_rng() % 8);
			if (check_rng() % 8 == 0)
				n = check_rng() % 2 ? n - check_rng() % n : n + 1;
		}
		cap = check_rng() % 4 ? 64 : check_rng() % 64;
		r = unpack_bytes(cap, in, n);
		CHECK(r == -HV_EINVAL || r == -HV_E2BIG || (r >= 0 && (size_t)r <= cap));
		if (r < 0)
			continue;
		ok++;
		CHECK_EQ(hvp_unpacked_len(in, n), r);
		CHECK_EQ(hvp_unpack(buf, sizeof(buf), in, n), r);
		back = malloc((size_t)r + 1);
		memcpy(back, buf, (size_t)r);
		r = round_trip(back, (size_t)r);
		free(back);
		CHECK(r >= 0);
	}
	CHECK(ok > 10000);
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_round_trips),  TEST_ENTRY(test_sizes),     TEST_ENTRY(test_bound),
    TEST_ENTRY(test_pack_refuses), TEST_ENTRY(test_hand_made), TEST_ENTRY(test_random_packed_forms),
};

CHECK_MAIN(tests)
