/* SPDX-License-Identifier: MIT */
/*
 * Decoding of the guest instruction behind an MMIO exit.
 *
 * An EPT violation on a guest-physical address with nothing behind it says
 * whether the access was a read or a write, but neither its size nor the
 * register or value involved. insn_decode_mmio() decodes the faulting
 * instruction into what a KVM_EXIT_MMIO needs (length, direction, value)
 * and, for a load, what mmio_complete_load() needs to put the data into the
 * destination register later. The length is exact (prefixes, ModRM, SIB,
 * displacement, immediate, moffs): the caller advances RIP by it.
 *
 * Supported (every prefix combination below, all ModRM/SIB forms of the
 * three address sizes, RIP/EIP-relative included):
 *   88 /r  MOV r/m8, r8          89 /r  MOV r/m16/32/64, r
 *   8A /r  MOV r8, r/m8          8B /r  MOV r, r/m16/32/64
 *   C6 /0  MOV r/m8, imm8        C7 /0  MOV r/m, imm16/32 (imm32
 *                                        sign-extended with REX.W)
 *   A0/A1  MOV AL/eAX, moffs     A2/A3  MOV moffs, AL/eAX (moffs is 2, 4
 *                                        or 8 bytes: the address size)
 *   0F B6/B7  MOVZX r, r/m8/16   0F BE/BF  MOVSX r, r/m8/16
 *   63 /r  MOVSXD r, r/m32 (64-bit mode only; ARPL elsewhere, refused)
 * Prefixes: 66, 67, segment overrides (reported in @seg), REX (64-bit mode
 * only, ignored unless it is the last prefix, as the CPU does), LOCK
 * (accepted; a CPU raises #UD for LOCK MOV before any access, so it can
 * only be seen if the code changed under the exit).
 *
 * Refused with INSN_ERR_UNSUPPORTED and a warning naming the bytes:
 * read-modify-write and flag-setting forms (ADD/OR/ADC/SBB/AND/SUB/XOR/CMP,
 * TEST, XCHG, group 1/2/3 ...), string instructions (MOVS, STOS, LODS,
 * CMPS, SCAS, INS, OUTS, with or without REP), F2/F3 on any supported
 * opcode (XACQUIRE/XRELEASE included), MOV to/from segment registers,
 * MOVNTI, VEX/EVEX and every SSE/AVX/x87 form, and anything else.
 */
#ifndef HV_INSN_DECODE_H
#define HV_INSN_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Architectural limit: a longer instruction raises #GP. */
#define INSN_MAX_LEN 15

/* Default operand/address size of the code being run. */
enum insn_cpu_mode {
	INSN_MODE_16, /* real mode, virtual-8086, or CS.D = 0 */
	INSN_MODE_32, /* protected mode with CS.D = 1, or compat. mode */
	INSN_MODE_64, /* IA-32e mode with CS.L = 1 */
};

/* Errors of insn_decode_mmio() (it returns 0 on success). */
enum insn_err {
	/* A valid instruction this decoder does not emulate. */
	INSN_ERR_UNSUPPORTED = -1,
	/* The bytes ran out before the instruction ended: fetch more. */
	INSN_ERR_NEED_MORE = -2,
	/*
	 * Not an instruction that can access memory: register operand
	 * (ModRM.mod = 3), an encoding that raises #UD, longer than 15 bytes.
	 */
	INSN_ERR_INVALID = -3,
};

/* Segment-override numbers (the SDM's Sreg encoding). */
enum insn_seg {
	INSN_SEG_ES = 0,
	INSN_SEG_CS = 1,
	INSN_SEG_SS = 2,
	INSN_SEG_DS = 3,
	INSN_SEG_FS = 4,
	INSN_SEG_GS = 5,
};

enum mmio_kind {
	MMIO_SRC_REG, /* store of a register (@reg, @high_byte) */
	MMIO_SRC_IMM, /* store of an immediate (@imm) */
	MMIO_DST_REG, /* load into a register (@reg, @high_byte, @ext) */
};

/* How a load's @size bytes become the @dst_size bytes written. */
enum mmio_ext {
	MMIO_EXT_NONE, /* plain MOV: @dst_size == @size */
	MMIO_EXT_ZERO, /* MOVZX */
	MMIO_EXT_SIGN, /* MOVSX, MOVSXD */
};

struct mmio_insn {
	uint8_t len;   /* total instruction length in bytes */
	uint8_t size;  /* memory access size: 1, 2, 4 or 8 */
	bool is_write; /* guest stores to memory */
	enum mmio_kind kind;
	/*
	 * Architectural register number 0..15 (RAX=0, RCX, RDX, RBX, RSP,
	 * RBP, RSI, RDI, R8..R15). For AH/CH/DH/BH it is the register that
	 * holds them (0..3) and @high_byte is set (bits 15:8).
	 */
	uint8_t reg;
	bool high_byte;
	uint64_t imm;	  /* MMIO_SRC_IMM: the value, @size bytes */
	uint8_t ext;	  /* enum mmio_ext (loads) */
	uint8_t dst_size; /* loads: bytes written to the register; 0 for stores */
	/*
	 * Segment override (enum insn_seg) or -1. In 64-bit mode ES/CS/SS/DS
	 * overrides have no effect and are reported as -1; the last of several
	 * overrides wins.
	 */
	int seg;
	uint8_t addr_size; /* effective address size: 2, 4 or 8 */
	bool lock;	   /* an F0 prefix was present */
};

/*
 * Decode the instruction at @bytes, of which @avail are readable (an
 * instruction straddling into an unreadable page gives fewer than 15).
 * Never reads at or past @bytes[@avail], nor past 15 bytes.
 * Returns 0 and fills @out, or an enum insn_err with one log line ("insn:
 * ...") naming the bytes: a warning for UNSUPPORTED/INVALID, a debug line
 * for NEED_MORE. @out is undefined after an error.
 */
int insn_decode_mmio(const uint8_t *bytes, size_t avail, enum insn_cpu_mode mode,
		     struct mmio_insn *out);

/*
 * The value a store writes (@size bytes, upper bits zero), from the guest
 * registers; 0 for a load.
 */
uint64_t mmio_store_value(const struct mmio_insn *in, const uint64_t gpr[16]);

/*
 * Put a load's @data (its low @size bytes are used) into the destination
 * register with x86 semantics: MOVZX/MOVSX extension to @dst_size, 8- and
 * 16-bit writes merge (AH..BH write bits 15:8), a 32-bit write zeroes bits
 * 63:32 in 64-bit mode and keeps them otherwise (they are undefined outside
 * IA-32e mode; keeping them is what the CPU does), a 64-bit write replaces.
 * Does nothing for a store.
 */
void mmio_complete_load(const struct mmio_insn *in, uint64_t data, uint64_t gpr[16],
			enum insn_cpu_mode mode);

/*
 * The code mode from guest state: CR0.PE = 0 or RFLAGS.VM = 1 gives 16;
 * EFER.LMA = 1 with CS.L = 1 gives 64; otherwise CS.D picks 32 or 16.
 */
enum insn_cpu_mode insn_cpu_mode_of(uint64_t cr0, uint64_t efer, uint64_t rflags, bool cs_l,
				    bool cs_d);

#endif
