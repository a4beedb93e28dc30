/* SPDX-License-Identifier: MIT */
/*
 * Unaligned little-endian loads from untrusted byte buffers (boot
 * information, guest images): memcpy makes each one defined single read.
 */
#ifndef HV_UNALIGNED_H
#define HV_UNALIGNED_H

#include <stdint.h>
#include <string.h>

static inline uint16_t ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

#endif
