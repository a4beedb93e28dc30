// SPDX-License-Identifier: MIT
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "abi/hvpack.h"
#include "abi/errno.h"

#define MIN_MATCH 4
#define MAX_OFF	  65535u

/* Bytes of the varint of v (v < 2^21). */
static size_t vlen(size_t v)
{
	return v < (1u << 7) ? 1 : v < (1u << 14) ? 2 : 3;
}

static size_t put_varint(uint8_t *p, size_t v)
{
	size_t n = 0;

	for (; v >= 0x80; v >>= 7)
		p[n++] = (uint8_t)(v | 0x80);
	p[n++] = (uint8_t)v;
	return n;
}

/* A canonical varint of at most 3 bytes at in[*ip, in_len) into *v. */
static int get_varint(const uint8_t *in, size_t in_len, size_t *ip, size_t *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < 3; i++) {
		uint8_t b;

		if (*ip >= in_len)
			return -HV_EINVAL;
		b = in[(*ip)++];
		*v |= (size_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80))
			return i && !b ? -HV_EINVAL : 0; /* a final 0 is overlong */
	}
	return -HV_EINVAL;
}

static uint32_t hash4(const uint8_t *p)
{
	uint32_t w = p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;

	return (w * 2654435761u) >> (32 - HVP_HASH_BITS);
}

/*
 * Append at out[o] one sequence: nlit literals from lit, then (mlen != 0)
 * a match of mlen bytes at off back. Returns the new size or -HV_E2BIG.
 */
static long put_seq(uint8_t *out, size_t cap, size_t o, const uint8_t *lit, size_t nlit, size_t off,
		    size_t mlen)
{
	size_t ml = mlen ? mlen - MIN_MATCH : 0;
	size_t need = 1 + nlit + (nlit >= 15 ? vlen(nlit - 15) : 0);

	if (mlen)
		need += 2 + (ml >= 15 ? vlen(ml - 15) : 0);
	if (need > cap - o)
		return -HV_E2BIG;
	out[o++] = (uint8_t)((nlit < 15 ? nlit : 15) << 4 | (ml < 15 ? ml : 15));
	if (nlit >= 15)
		o += put_varint(out + o, nlit - 15);
	if (nlit)
		memcpy(out + o, lit, nlit);
	o += nlit;
	if (mlen) {
		out[o++] = (uint8_t)off;
		out[o++] = (uint8_t)(off >> 8);
		if (ml >= 15)
			o += put_varint(out + o, ml - 15);
	}
	return (long)o;
}

long hvp_pack(uint8_t *out, size_t cap, const void *in, size_t len, struct hvp_scratch *s)
{
	const uint8_t *p = in;
	size_t i = 0, anchor = 0, o, m, cand;
	long r;

	if (len > HVP_MAX_LEN)
		return -HV_EINVAL;
	if (cap < vlen(len))
		return -HV_E2BIG;
	o = put_varint(out, len);
	memset(s->table, 0, sizeof(s->table));
	/* Positions below len - 3 fit the table (len <= 65536), as do offsets. */
	for (; i + MIN_MATCH <= len; i++) {
		uint32_t h = hash4(p + i);

		cand = s->table[h];
		s->table[h] = (uint16_t)i;
		if (i == 0 || i - cand > MAX_OFF || memcmp(p + cand, p + i, MIN_MATCH))
			continue;
		for (m = MIN_MATCH; i + m < len && p[cand + m] == p[i + m]; m++)
			;
		r = put_seq(out, cap, o, p + anchor, i - anchor, i - cand, m);
		if (r < 0)
			return r;
		o = (size_t)r;
		/* Remember a position near the match's end, for what follows. */
		if (i + m - 2 + MIN_MATCH <= len)
			s->table[hash4(p + i + m - 2)] = (uint16_t)(i + m - 2);
		i += m - 1;
		anchor = i + 1;
	}
	if (anchor < len) {
		r = put_seq(out, cap, o, p + anchor, len - anchor, 0, 0);
		if (r < 0)
			return r;
		o = (size_t)r;
	}
	return (long)o;
}

long hvp_unpacked_len(const uint8_t *in, size_t in_len)
{
	size_t ip = 0, n;

	if (get_varint(in, in_len, &ip, &n) || n > HVP_MAX_LEN)
		return -HV_EINVAL;
	return (long)n;
}

long hvp_unpack(void *out, size_t cap, const uint8_t *in, size_t in_len)
{
	uint8_t *o = out;
	size_t ip = 0, op = 0, n, lit, m, off, ext;
	uint8_t tok;

	if (get_varint(in, in_len, &ip, &n) || n > HVP_MAX_LEN)
		return -HV_EINVAL;
	if (n > cap)
		return -HV_E2BIG;
	while (op < n) {
		if (ip >= in_len)
			return -HV_EINVAL;
		tok = in[ip++];
		lit = tok >> 4;
		if (lit == 15) {
			if (get_varint(in, in_len, &ip, &ext))
				return -HV_EINVAL;
			lit += ext;
		}
		if (lit > n - op || lit > in_len - ip)
			return -HV_EINVAL;
		if (lit)
			memcpy(o + op, in + ip, lit);
		op += lit;
		ip += lit;
		if (op == n) {
			if (tok & 15)
				return -HV_EINVAL;
			break;
		}
		if (in_len - ip < 2)
			return -HV_EINVAL;
		off = in[ip] | (size_t)in[ip + 1] << 8;
		ip += 2;
		if (off == 0 || off > op)
			return -HV_EINVAL;
		m = (tok & 15) + MIN_MATCH;
		if ((tok & 15) == 15) {
			if (get_varint(in, in_len, &ip, &ext))
				return -HV_EINVAL;
			m += ext;
		}
		if (m > n - op)
			return -HV_EINVAL;
		for (; m; m--, op++)
			o[op] = o[op - off];
	}
	return ip == in_len ? (long)n : -HV_EINVAL;
}
