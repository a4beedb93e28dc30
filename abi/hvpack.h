/* SPDX-License-Identifier: MIT */
/*
 * hvpack: a small byte-oriented LZ77 packer for the channel, to shrink
 * what crosses a slow serial line: ioctl records that are mostly zero (a
 * 1024-byte struct kvm_lapic_state with a few dozen registers set) and
 * 4 KiB guest pages (x86 code, tables, zero fill).
 *
 * Packed form of n bytes (n at most HVP_MAX_LEN):
 *
 *	header      n as a LEB128 varint (7 bits a byte, low first, bit 7 =
 *	            more follows), 1 to 3 bytes, canonical (no final 0x00
 *	            byte after the first)
 *	sequences   until the output holds n bytes, each:
 *	  token     1 byte: high nibble L = literal count, low nibble
 *	            M = match length - 4
 *	  L ext     if L == 15: a varint (canonical, at most 3 bytes) added
 *	            to the 15
 *	  literals  L bytes, copied to the output
 *	  then, unless the output now holds n bytes (M must then be 0 and the
 *	  packed form ends here):
 *	  offset    2 bytes little-endian, 1 to the bytes produced so far:
 *	            the match starts that far back in the output
 *	  M ext     if M == 15: a varint as for L, added to 15 + 4
 *
 * A match copies byte by byte, so it may overlap the bytes it produces:
 * offset 1 repeats the last byte, and a page of zeros packs to 8 bytes.
 * The shortest match is 4 bytes. The stream ends exactly when n bytes are
 * out: a sequence after that (trailing bytes) is malformed, as is a literal
 * run or match that would go past n, an offset of 0 or before the start
 * of the output, a cut-short field or a non-canonical varint.
 *
 * The packer is greedy: it hashes the next 4 bytes into a table of recent
 * positions (struct hvp_scratch, the caller's, so it is reentrant) and
 * takes the longest match from the one candidate found there.
 *
 * One C implementation for both ends (freestanding, no allocation, no
 * logging): functions return sizes or negative errnos from abi/errno.h.
 * hvp_unpack reads untrusted bytes and never reads or writes outside the
 * buffers it is given.
 */
#ifndef ABI_HVPACK_H
#define ABI_HVPACK_H

#include <stddef.h>
#include <stdint.h>

#define HVP_MAX_LEN   65536u /* the most bytes a packed form expands to */
#define HVP_HASH_BITS 12

/* Workspace of hvp_pack (8 KiB); it needs no initialisation. */
struct hvp_scratch {
	uint16_t table[1u << HVP_HASH_BITS];
};

/*
 * The most bytes hvp_pack writes for len input bytes: a 3-byte header, a
 * last token with a 3-byte extension, the bytes themselves, and one byte
 * per 128 for sequences whose literal extension outweighs their match.
 */
#define HVP_BOUND(len) ((len) + (len) / 128 + 7)

/*
 * Pack in[0, len) (len <= HVP_MAX_LEN) into out. Returns the packed size,
 * or -HV_EINVAL (len too big) / -HV_E2BIG (cap too small; out is then
 * meaningless). cap >= HVP_BOUND(len) always suffices.
 */
long hvp_pack(uint8_t *out, size_t cap, const void *in, size_t len, struct hvp_scratch *s);

/*
 * The unpacked length announced by the header of in[0, in_len), or
 * -HV_EINVAL if the header is cut short, not canonical or over HVP_MAX_LEN.
 */
long hvp_unpacked_len(const uint8_t *in, size_t in_len);

/*
 * Unpack in[0, in_len) into out. Returns the unpacked length, -HV_E2BIG if
 * the header announces more than cap bytes, or -HV_EINVAL for any
 * malformed input (out is then meaningless).
 */
long hvp_unpack(void *out, size_t cap, const uint8_t *in, size_t in_len);

#endif
