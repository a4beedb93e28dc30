// SPDX-License-Identifier: MIT
/*
 * Decoder of the MMIO forms of MOV/MOVZX/MOVSX/MOVSXD; see insn_decode.h.
 *
 * Layout of an instruction (Intel SDM Vol. 2, chapter 2): legacy prefixes,
 * REX (64-bit mode), opcode (1 or 2 bytes), ModRM, SIB, displacement,
 * immediate. Every byte is read through fetch(), which knows both the
 * readable length and the 15-byte limit.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hv/x86emu/insn_decode.h"
#include "hv/lib/log.h"

#define REX_B 0x1
#define REX_X 0x2
#define REX_R 0x4
#define REX_W 0x8

struct decoder {
	const uint8_t *bytes;
	size_t lim;   /* min(avail, INSN_MAX_LEN) */
	size_t avail; /* as given, for the log line */
	size_t pos;   /* next byte to read */
	enum insn_cpu_mode mode;
	/* Prefix state. */
	bool opsize; /* 66 */
	bool adsize; /* 67 */
	uint8_t rep; /* F2, F3 or 0 */
	bool lock;
	int seg;
	uint8_t rex; /* effective REX byte or 0 */
	/* ModRM. */
	uint8_t mod, reg, rm;
};

static const char *mode_name(enum insn_cpu_mode mode)
{
	switch (mode) {
	case INSN_MODE_16:
		return "16-bit";
	case INSN_MODE_32:
		return "32-bit";
	case INSN_MODE_64:
		return "64-bit";
	}
	return "unknown";
}

/* "aa bb cc" for the first @n (<= INSN_MAX_LEN) bytes; "none" if n == 0. */
static void hex_bytes(char *dst, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (!n) {
		strcpy(dst, "none");
		return;
	}
	for (i = 0; i < n; i++) {
		*dst++ = digits[b[i] >> 4];
		*dst++ = digits[b[i] & 0xf];
		*dst++ = i + 1 < n ? ' ' : '\0';
	}
}

/* One log line about the instruction: @what, then its bytes. */
static int refuse(const struct decoder *d, int err, const char *what)
{
	char hex[3 * INSN_MAX_LEN + 1];

	hex_bytes(hex, d->bytes, d->lim);
	if (err == INSN_ERR_NEED_MORE)
		log_debug("insn: %s (%s mode, %llu bytes available): %s", what, mode_name(d->mode),
			  (unsigned long long)d->avail, hex);
	else
		log_warn("insn: %s (%s mode): %s", what, mode_name(d->mode), hex);
	return err;
}

/*
 * Can @n more bytes be read? 0, or the error to return: past 15 bytes the
 * instruction is invalid whatever is readable; before that, running out of
 * readable bytes means "need more".
 */
static int need(const struct decoder *d, size_t n)
{
	if (d->pos + n > INSN_MAX_LEN)
		return refuse(d, INSN_ERR_INVALID, "instruction longer than 15 bytes");
	if (d->pos + n > d->lim)
		return refuse(d, INSN_ERR_NEED_MORE,
			      "instruction continues past the readable bytes");
	return 0;
}

/* Little-endian value of @n bytes at the current position; advances. */
static uint64_t take(struct decoder *d, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)d->bytes[d->pos + i] << (8 * i);
	d->pos += n;
	return v;
}

static unsigned operand_size(const struct decoder *d)
{
	if (d->mode == INSN_MODE_64 && (d->rex & REX_W))
		return 8;
	if (d->mode == INSN_MODE_16)
		return d->opsize ? 4 : 2;
	return d->opsize ? 2 : 4;
}

static unsigned address_size(const struct decoder *d)
{
	switch (d->mode) {
	case INSN_MODE_16:
		return d->adsize ? 4 : 2;
	case INSN_MODE_32:
		return d->adsize ? 2 : 4;
	default:
		return d->adsize ? 4 : 8;
	}
}

/*
 * Read ModRM and whatever addressing bytes follow it (SIB, displacement).
 * The instruction must have a memory operand.
 */
static int modrm(struct decoder *d, const char *name)
{
	size_t disp = 0;
	uint8_t b;
	int err;

	err = need(d, 1);
	if (err)
		return err;
	b = (uint8_t)take(d, 1);
	d->mod = b >> 6;
	d->reg = (b >> 3) & 7;
	d->rm = b & 7;

	if (d->mod == 3) {
		char what[96];

		/* Built by hand: no snprintf in the freestanding build. */
		strcpy(what, "'");
		strcat(what, name);
		strcat(what, "' with a register operand accesses no memory");
		return refuse(d, INSN_ERR_INVALID, what);
	}

	if (address_size(d) == 2) {
		/* 16-bit forms: [BX+SI] ... [BX], [disp16] for mod 0 rm 6. */
		if (d->mod == 1)
			disp = 1;
		else if (d->mod == 2 || d->rm == 6)
			disp = 2;
	} else {
		/* 32/64-bit forms; REX.B never changes these special cases. */
		if (d->rm == 4) {
			uint8_t sib;

			err = need(d, 1);
			if (err)
				return err;
			sib = (uint8_t)take(d, 1);
			/* Base 101b with mod 0: no base, disp32. */
			if (d->mod == 0 && (sib & 7) == 5)
				disp = 4;
		} else if (d->mod == 0 && d->rm == 5) {
			/* disp32; RIP/EIP-relative in 64-bit mode. */
			disp = 4;
		}
		if (d->mod == 1)
			disp = 1;
		else if (d->mod == 2)
			disp = 4;
	}
	err = need(d, disp);
	if (err)
		return err;
	d->pos += disp;
	return 0;
}

/* ModRM.reg as a register number, extended by REX.R. */
static void reg_operand(const struct decoder *d, unsigned size, struct mmio_insn *out)
{
	unsigned r = d->reg | ((d->rex & REX_R) ? 8 : 0);

	out->high_byte = false;
	/* Without any REX, byte registers 4..7 are AH, CH, DH, BH. */
	if (size == 1 && !d->rex && r >= 4 && r < 8) {
		out->high_byte = true;
		r -= 4;
	}
	out->reg = (uint8_t)r;
}

/* Names of refused instructions, for the log line. */
static const char *const alu_names[8] = {
    "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp",
};
static const char *const grp2_names[8] = {
    "rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar",
};
static const char *const grp3_names[8] = {
    "test", "test", "not", "neg", "mul", "imul", "div", "idiv",
};
static const char *const grp5_names[8] = {
    "inc", "dec", "call", "call far", "jmp", "jmp far", "push", "(undefined)",
};

/* ModRM.reg of the byte at the current position, or -1 if not readable. */
static int peek_reg(const struct decoder *d)
{
	if (d->pos >= d->lim)
		return -1;
	return (d->bytes[d->pos] >> 3) & 7;
}

static const char *group_name(const char *const names[8], int reg, const char *unknown)
{
	return reg < 0 ? unknown : names[reg];
}

/* What a one-byte opcode we do not emulate is; d->pos is past it. */
static const char *one_byte_name(const struct decoder *d, uint8_t op)
{
	int r = peek_reg(d);

	if (op < 0x40 && (op & 7) < 6)
		return alu_names[op >> 3];
	if (op >= 0x40 && op < 0x50)
		return op < 0x48 ? "inc r16/r32" : "dec r16/r32";
	switch (op) {
	case 0x63:
		return "arpl";
	case 0x80:
	case 0x81:
	case 0x83:
		return group_name(alu_names, r, "group 1 alu r/m, imm");
	case 0x84:
	case 0x85:
		return "test";
	case 0x86:
	case 0x87:
		return "xchg";
	case 0x8c:
	case 0x8e:
		return "mov sreg";
	case 0x8f:
		return "pop r/m";
	case 0xa4:
	case 0xa5:
		return "movs";
	case 0xa6:
	case 0xa7:
		return "cmps";
	case 0xaa:
	case 0xab:
		return "stos";
	case 0xac:
	case 0xad:
		return "lods";
	case 0xae:
	case 0xaf:
		return "scas";
	case 0x6c:
	case 0x6d:
		return "ins";
	case 0x6e:
	case 0x6f:
		return "outs";
	case 0xc0:
	case 0xc1:
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3:
		return group_name(grp2_names, r, "shift/rotate");
	case 0xc4:
	case 0xc5:
		return d->mode == INSN_MODE_64 ? "vex-encoded" : "les/lds or vex";
	case 0x62:
		return d->mode == INSN_MODE_64 ? "evex-encoded" : "bound or evex";
	case 0xf6:
	case 0xf7:
		return group_name(grp3_names, r, "group 3");
	case 0xfe:
	case 0xff:
		return group_name(grp5_names, r, "group 4/5");
	}
	if (op >= 0xd8 && op <= 0xdf)
		return "x87";
	return "opcode";
}

static const char *two_byte_name(uint8_t op2)
{
	switch (op2) {
	case 0xc3:
		return "movnti";
	case 0xb0:
	case 0xb1:
		return "cmpxchg";
	case 0xc0:
	case 0xc1:
		return "xadd";
	case 0xa3:
	case 0xab:
	case 0xb3:
	case 0xbb:
	case 0xba:
		return "bt/bts/btr/btc";
	}
	return "0f opcode";
}

/* "unsupported 'name'" in @buf (>= 64 bytes). */
static const char *unsupported_text(char *buf, const char *name)
{
	strcpy(buf, "unsupported instruction '");
	strncat(buf, name, 32);
	strcat(buf, "'");
	return buf;
}

int insn_decode_mmio(const uint8_t *bytes, size_t avail, enum insn_cpu_mode mode,
		     struct mmio_insn *out)
{
	struct decoder d;
	char text[80];
	const char *name;
	uint8_t op, op2 = 0;
	unsigned osz;
	int err;

	memset(&d, 0, sizeof(d));
	d.bytes = bytes;
	d.avail = avail;
	d.lim = avail < INSN_MAX_LEN ? avail : INSN_MAX_LEN;
	d.mode = mode;
	d.seg = -1;
	memset(out, 0, sizeof(*out));

	/* Legacy prefixes in any order; REX counts only right before the opcode. */
	for (;;) {
		uint8_t b;

		err = need(&d, 1);
		if (err)
			return err;
		b = bytes[d.pos];
		if (mode == INSN_MODE_64 && (b & 0xf0) == 0x40) {
			d.rex = b;
			d.pos++;
			continue;
		}
		switch (b) {
		case 0x66:
			d.opsize = true;
			break;
		case 0x67:
			d.adsize = true;
			break;
		case 0xf0:
			d.lock = true;
			break;
		case 0xf2:
		case 0xf3:
			d.rep = b;
			break;
		case 0x26:
		case 0x2e:
		case 0x36:
		case 0x3e:
			/* ES, CS, SS, DS: no effect in 64-bit mode. */
			d.seg = mode == INSN_MODE_64 ? -1 : (b >> 3) & 3;
			break;
		case 0x64:
			d.seg = INSN_SEG_FS;
			break;
		case 0x65:
			d.seg = INSN_SEG_GS;
			break;
		default:
			goto opcode;
		}
		/* A legacy prefix after REX makes the CPU ignore that REX. */
		d.rex = 0;
		d.pos++;
	}

opcode:
	op = (uint8_t)take(&d, 1);
	osz = operand_size(&d);
	out->seg = d.seg;
	out->lock = d.lock;
	out->addr_size = (uint8_t)address_size(&d);

	switch (op) {
	case 0x88:
	case 0x89:
	case 0x8a:
	case 0x8b:
		name = "mov";
		out->size = (uint8_t)((op & 1) ? osz : 1);
		break;
	case 0xc6:
	case 0xc7:
		name = "mov imm";
		out->size = (uint8_t)((op & 1) ? osz : 1);
		break;
	case 0xa0:
	case 0xa1:
	case 0xa2:
	case 0xa3:
		name = "mov moffs";
		out->size = (uint8_t)((op & 1) ? osz : 1);
		break;
	case 0x63:
		if (mode != INSN_MODE_64)
			return refuse(&d, INSN_ERR_UNSUPPORTED, unsupported_text(text, "arpl"));
		name = "movsxd";
		/* REX.W: r64 <- r/m32; else r32 <- r/m32 or r16 <- r/m16. */
		out->size = (uint8_t)(osz == 8 ? 4 : osz);
		break;
	case 0x0f:
		err = need(&d, 1);
		if (err)
			return err;
		op2 = (uint8_t)take(&d, 1);
		switch (op2) {
		case 0xb6:
		case 0xbe:
			name = op2 == 0xb6 ? "movzx" : "movsx";
			out->size = 1;
			break;
		case 0xb7:
		case 0xbf:
			name = op2 == 0xb7 ? "movzx" : "movsx";
			out->size = 2;
			break;
		default:
			return refuse(&d, INSN_ERR_UNSUPPORTED,
				      unsupported_text(text, two_byte_name(op2)));
		}
		break;
	default:
		return refuse(&d, INSN_ERR_UNSUPPORTED,
			      unsupported_text(text, one_byte_name(&d, op)));
	}

	if (d.rep) {
		strcpy(text, d.rep == 0xf3 ? "rep (f3)" : "repne (f2)");
		strcat(text, " prefix on non-string '");
		strcat(text, name);
		strcat(text, "' refused");
		return refuse(&d, INSN_ERR_UNSUPPORTED, text);
	}

	if (op >= 0xa0 && op <= 0xa3) {
		/* moffs: an offset as wide as the address size, no ModRM. */
		err = need(&d, out->addr_size);
		if (err)
			return err;
		d.pos += out->addr_size;
		out->reg = 0;
		out->is_write = op >= 0xa2;
		out->kind = out->is_write ? MMIO_SRC_REG : MMIO_DST_REG;
	} else {
		err = modrm(&d, name);
		if (err)
			return err;
		switch (op) {
		case 0x88:
		case 0x89:
			out->is_write = true;
			out->kind = MMIO_SRC_REG;
			reg_operand(&d, out->size, out);
			break;
		case 0x8a:
		case 0x8b:
			out->kind = MMIO_DST_REG;
			reg_operand(&d, out->size, out);
			break;
		case 0xc6:
		case 0xc7: {
			unsigned n = out->size == 1 ? 1 : out->size == 2 ? 2 : 4;

			if (d.reg != 0)
				/* C6/C7 /1../7 are #UD (F8 forms need mod 3). */
				return refuse(&d, INSN_ERR_INVALID,
					      "c6/c7 with ModRM.reg != 0 is undefined");
			err = need(&d, n);
			if (err)
				return err;
			out->imm = take(&d, n);
			/* imm32 is sign-extended to a 64-bit operand. */
			if (out->size == 8 && (out->imm & 0x80000000u))
				out->imm |= 0xffffffff00000000ull;
			out->is_write = true;
			out->kind = MMIO_SRC_IMM;
			break;
		}
		default:
			/* 63, 0F B6/B7/BE/BF: loads into a full register. */
			out->kind = MMIO_DST_REG;
			reg_operand(&d, osz, out);
			out->dst_size = (uint8_t)osz;
			if (op == 0x63 || op2 == 0xbe || op2 == 0xbf)
				out->ext = MMIO_EXT_SIGN;
			else
				out->ext = MMIO_EXT_ZERO;
			break;
		}
	}
	if (out->kind == MMIO_DST_REG && !out->dst_size) {
		out->dst_size = out->size;
		out->ext = MMIO_EXT_NONE;
	}
	out->len = (uint8_t)d.pos;
	return 0;
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

uint64_t mmio_store_value(const struct mmio_insn *in, const uint64_t gpr[16])
{
	uint64_t v;

	switch (in->kind) {
	case MMIO_SRC_REG:
		v = gpr[in->reg & 15];
		if (in->high_byte)
			v >>= 8;
		break;
	case MMIO_SRC_IMM:
		v = in->imm;
		break;
	default:
		return 0;
	}
	return v & size_mask(in->size);
}

void mmio_complete_load(const struct mmio_insn *in, uint64_t data, uint64_t gpr[16],
			enum insn_cpu_mode mode)
{
	uint64_t *r, v;

	if (in->kind != MMIO_DST_REG)
		return;
	r = &gpr[in->reg & 15];
	v = data & size_mask(in->size);
	if (in->ext == MMIO_EXT_SIGN && in->size < 8) {
		uint64_t sign = 1ull << (8 * in->size - 1);

		v = (v ^ sign) - sign;
	}
	switch (in->dst_size) {
	case 1:
		if (in->high_byte)
			*r = (*r & ~0xff00ull) | ((v & 0xff) << 8);
		else
			*r = (*r & ~0xffull) | (v & 0xff);
		break;
	case 2:
		*r = (*r & ~0xffffull) | (v & 0xffff);
		break;
	case 4:
		if (mode == INSN_MODE_64)
			*r = v & 0xffffffffull;
		else
			*r = (*r & ~0xffffffffull) | (v & 0xffffffffull);
		break;
	case 8:
		*r = v;
		break;
	}
}

enum insn_cpu_mode insn_cpu_mode_of(uint64_t cr0, uint64_t efer, uint64_t rflags, bool cs_l,
				    bool cs_d)
{
	const uint64_t cr0_pe = 1ull << 0, efer_lma = 1ull << 10;
	const uint64_t rflags_vm = 1ull << 17;

	if (!(cr0 & cr0_pe) || (rflags & rflags_vm))
		return INSN_MODE_16;
	if ((efer & efer_lma) && cs_l)
		return INSN_MODE_64;
	return cs_d ? INSN_MODE_32 : INSN_MODE_16;
}
