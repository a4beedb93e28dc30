// SPDX-License-Identifier: MIT
/*
 * Unit tests of the MMIO instruction decoder (hv/x86emu/insn_decode.c).
 *
 * Every encoding below was produced with the host assembler (GNU as,
 * `.code16` / `.code32` / `.code64`); the comment above each row is the
 * source that was assembled. Expectations (size, direction, register,
 * immediate, extension, segment, address size) were written by hand from
 * the instruction's meaning; the length is the assembler's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/x86emu/insn_decode.h"
#include "tests/unit/check.h"

#define M16 INSN_MODE_16
#define M32 INSN_MODE_32
#define M64 INSN_MODE_64

struct dcase {
	enum insn_cpu_mode mode;
	uint8_t len;
	uint8_t b[INSN_MAX_LEN];
	uint8_t size;
	enum mmio_kind kind;
	uint8_t reg;
	bool high_byte;
	uint64_t imm;
	enum mmio_ext ext;
	uint8_t dst_size;
	int seg;
	uint8_t addr_size;
	bool lock;
};

/*
 * Notes on particular rows: in 64-bit mode ES/CS/SS/DS overrides have no
 * effect and are reported as -1; a REX followed by another prefix (48 66)
 * is ignored; of two REX prefixes only the last counts; REX.W wins over 66
 * (C7 keeps its imm32, A1 its 8-byte moffs).
 */
static const struct dcase cases[] = {
    /* .code64: movl %eax,(%rbx) */
    {M64, 2, {0x89, 0x03}, 4, MMIO_SRC_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 8, false},
    /* .code64: movq %rax,(%rbx) */
    {M64, 3, {0x48, 0x89, 0x03}, 8, MMIO_SRC_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 8, false},
    /* .code64: movw %ax,(%rbx) */
    {M64, 3, {0x66, 0x89, 0x03}, 2, MMIO_SRC_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 8, false},
    /* .code64: movb %al,(%rbx) */
    {M64, 2, {0x88, 0x03}, 1, MMIO_SRC_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 8, false},
    /* .code64: movb %ah,(%rbx) */
    {M64, 2, {0x88, 0x23}, 1, MMIO_SRC_REG, 0, true, 0x0ull, MMIO_EXT_NONE, 0, -1, 8, false},
    /* .code64: movb %bh,(%rcx) */
    {M64, 2, {0x88, 0x39}, 1, MMIO_SRC_REG, 3, true, 0x0ull, MMIO_EXT_NONE, 0, -1, 8, false},
    /* .code64: movb %spl,(%rbx) */
    {M64, 3, {0x40, 0x88, 0x23}, 1, MMIO_SRC_REG, 4, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 8, false},
    /* .code64: movb %dil,0x10(%rax) */
    {M64,
     4,
     {0x40, 0x88, 0x78, 0x10},
     1,
     MMIO_SRC_REG,
     7,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: rex movb %al,(%rbx) */
    {M64, 3, {0x40, 0x88, 0x03}, 1, MMIO_SRC_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 8, false},
    /* .code64: movb %r9b,(%rax) */
    {M64, 3, {0x44, 0x88, 0x08}, 1, MMIO_SRC_REG, 9, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 8, false},
    /* .code64: movl %r15d,0x12345678(%r8) */
    {M64,
     7,
     {0x45, 0x89, 0xb8, 0x78, 0x56, 0x34, 0x12},
     4,
     MMIO_SRC_REG,
     15,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movq %rdx,(%rsp) */
    {M64,
     4,
     {0x48, 0x89, 0x14, 0x24},
     8,
     MMIO_SRC_REG,
     2,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movq %rdx,8(%rsp) */
    {M64,
     5,
     {0x48, 0x89, 0x54, 0x24, 0x08},
     8,
     MMIO_SRC_REG,
     2,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movq %rsi,0x1000(%rax,%rcx,4) */
    {M64,
     8,
     {0x48, 0x89, 0xb4, 0x88, 0x00, 0x10, 0x00, 0x00},
     8,
     MMIO_SRC_REG,
     6,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movl %ecx,0x100(,%rdx,8) */
    {M64,
     7,
     {0x89, 0x0c, 0xd5, 0x00, 0x01, 0x00, 0x00},
     4,
     MMIO_SRC_REG,
     1,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movq %r11,-0x80(%r9,%r10,1) */
    {M64,
     5,
     {0x4f, 0x89, 0x5c, 0x11, 0x80},
     8,
     MMIO_SRC_REG,
     11,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movl %eax,0x10(%rip) */
    {M64,
     6,
     {0x89, 0x05, 0x10, 0x00, 0x00, 0x00},
     4,
     MMIO_SRC_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movl %eax,(%r13) */
    {M64,
     4,
     {0x41, 0x89, 0x45, 0x00},
     4,
     MMIO_SRC_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movl %eax,(%r12) */
    {M64,
     4,
     {0x41, 0x89, 0x04, 0x24},
     4,
     MMIO_SRC_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movl %eax,(%rbp,%r12,2) */
    {M64,
     5,
     {0x42, 0x89, 0x44, 0x65, 0x00},
     4,
     MMIO_SRC_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movl 0x8(%rbp),%eax */
    {M64, 3, {0x8b, 0x45, 0x08}, 4, MMIO_DST_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 4, -1, 8, false},
    /* .code64: movq (%rax),%r10 */
    {M64,
     3,
     {0x4c, 0x8b, 0x10},
     8,
     MMIO_DST_REG,
     10,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     8,
     -1,
     8,
     false},
    /* .code64: movb (%rsi),%al */
    {M64, 2, {0x8a, 0x06}, 1, MMIO_DST_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 1, -1, 8, false},
    /* .code64: movb (%rsi),%ch */
    {M64, 2, {0x8a, 0x2e}, 1, MMIO_DST_REG, 1, true, 0x0ull, MMIO_EXT_NONE, 1, -1, 8, false},
    /* .code64: movb (%rsi),%sil */
    {M64, 3, {0x40, 0x8a, 0x36}, 1, MMIO_DST_REG, 6, false, 0x0ull, MMIO_EXT_NONE, 1, -1, 8, false},
    /* .code64: movb 0x7f(%rsi),%r14b */
    {M64,
     4,
     {0x44, 0x8a, 0x76, 0x7f},
     1,
     MMIO_DST_REG,
     14,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     1,
     -1,
     8,
     false},
    /* .code64: movw (%rdi),%r11w */
    {M64,
     4,
     {0x66, 0x44, 0x8b, 0x1f},
     2,
     MMIO_DST_REG,
     11,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     2,
     -1,
     8,
     false},
    /* .code64: movl 0x12345678,%ecx */
    {M64,
     7,
     {0x8b, 0x0c, 0x25, 0x78, 0x56, 0x34, 0x12},
     4,
     MMIO_DST_REG,
     1,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     4,
     -1,
     8,
     false},
    /* .code64: movq -0x10(%rip),%r15 */
    {M64,
     7,
     {0x4c, 0x8b, 0x3d, 0xf0, 0xff, 0xff, 0xff},
     8,
     MMIO_DST_REG,
     15,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     8,
     -1,
     8,
     false},
    /* .code64: movabs 0x1122334455667788,%eax */
    {M64,
     9,
     {0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11},
     4,
     MMIO_DST_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     4,
     -1,
     8,
     false},
    /* .code64: movabs 0x1122334455667788,%al */
    {M64,
     9,
     {0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11},
     1,
     MMIO_DST_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     1,
     -1,
     8,
     false},
    /* .code64: movabs 0x1122334455667788,%rax */
    {M64,
     10,
     {0x48, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11},
     8,
     MMIO_DST_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     8,
     -1,
     8,
     false},
    /* .code64: movabs %al,0x1122334455667788 */
    {M64,
     9,
     {0xa2, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11},
     1,
     MMIO_SRC_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movw %ax,0x1122334455667788 */
    {M64,
     10,
     {0x66, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11},
     2,
     MMIO_SRC_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movabs %rax,0x1122334455667788 */
    {M64,
     10,
     {0x48, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11},
     8,
     MMIO_SRC_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: addr32 movl 0x12345678,%eax */
    {M64,
     6,
     {0x67, 0xa1, 0x78, 0x56, 0x34, 0x12},
     4,
     MMIO_DST_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     4,
     -1,
     4,
     false},
    /* .code64: addr32 movb %al,0x12345678 */
    {M64,
     6,
     {0x67, 0xa2, 0x78, 0x56, 0x34, 0x12},
     1,
     MMIO_SRC_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     4,
     false},
    /* .code64: movb $0x12,(%rax) */
    {M64,
     3,
     {0xc6, 0x00, 0x12},
     1,
     MMIO_SRC_IMM,
     0,
     false,
     0x12ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movb $0xff,0x80(%rbx) */
    {M64,
     7,
     {0xc6, 0x83, 0x80, 0x00, 0x00, 0x00, 0xff},
     1,
     MMIO_SRC_IMM,
     0,
     false,
     0xffull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movw $0x1234,(%rax) */
    {M64,
     5,
     {0x66, 0xc7, 0x00, 0x34, 0x12},
     2,
     MMIO_SRC_IMM,
     0,
     false,
     0x1234ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movl $0xdeadbeef,(%rax) */
    {M64,
     6,
     {0xc7, 0x00, 0xef, 0xbe, 0xad, 0xde},
     4,
     MMIO_SRC_IMM,
     0,
     false,
     0xdeadbeefull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movq $-1,(%rax) */
    {M64,
     7,
     {0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff},
     8,
     MMIO_SRC_IMM,
     0,
     false,
     0xffffffffffffffffull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movq $0x7fffffff,8(%rax,%rbx,2) */
    {M64,
     9,
     {0x48, 0xc7, 0x44, 0x58, 0x08, 0xff, 0xff, 0xff, 0x7f},
     8,
     MMIO_SRC_IMM,
     0,
     false,
     0x7fffffffull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movq $-0x80000000,(%r8) */
    {M64,
     7,
     {0x49, 0xc7, 0x00, 0x00, 0x00, 0x00, 0x80},
     8,
     MMIO_SRC_IMM,
     0,
     false,
     0xffffffff80000000ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movl $1,0x10(%rip) */
    {M64,
     10,
     {0xc7, 0x05, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00},
     4,
     MMIO_SRC_IMM,
     0,
     false,
     0x1ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movq $-2,0x11223344(%rip) */
    {M64,
     11,
     {0x48, 0xc7, 0x05, 0x44, 0x33, 0x22, 0x11, 0xfe, 0xff, 0xff, 0xff},
     8,
     MMIO_SRC_IMM,
     0,
     false,
     0xfffffffffffffffeull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movw $-3,0x10(%rip) */
    {M64,
     9,
     {0x66, 0xc7, 0x05, 0x10, 0x00, 0x00, 0x00, 0xfd, 0xff},
     2,
     MMIO_SRC_IMM,
     0,
     false,
     0xfffdull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: movb $0x5a,%gs:0x20(%r13) */
    {M64,
     6,
     {0x65, 0x41, 0xc6, 0x45, 0x20, 0x5a},
     1,
     MMIO_SRC_IMM,
     0,
     false,
     0x5aull,
     MMIO_EXT_NONE,
     0,
     INSN_SEG_GS,
     8,
     false},
    /* .code64: movzbl (%rax),%eax */
    {M64, 3, {0x0f, 0xb6, 0x00}, 1, MMIO_DST_REG, 0, false, 0x0ull, MMIO_EXT_ZERO, 4, -1, 8, false},
    /* .code64: movzbw (%rax),%ax */
    {M64,
     4,
     {0x66, 0x0f, 0xb6, 0x00},
     1,
     MMIO_DST_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_ZERO,
     2,
     -1,
     8,
     false},
    /* .code64: movzbq (%rax),%r8 */
    {M64,
     4,
     {0x4c, 0x0f, 0xb6, 0x00},
     1,
     MMIO_DST_REG,
     8,
     false,
     0x0ull,
     MMIO_EXT_ZERO,
     8,
     -1,
     8,
     false},
    /* .code64: movzbl (%rax),%esp */
    {M64, 3, {0x0f, 0xb6, 0x20}, 1, MMIO_DST_REG, 4, false, 0x0ull, MMIO_EXT_ZERO, 4, -1, 8, false},
    /* .code64: movzwl 0x4(%rdx),%ecx */
    {M64,
     4,
     {0x0f, 0xb7, 0x4a, 0x04},
     2,
     MMIO_DST_REG,
     1,
     false,
     0x0ull,
     MMIO_EXT_ZERO,
     4,
     -1,
     8,
     false},
    /* .code64: movzwq (%rax),%rax */
    {M64,
     4,
     {0x48, 0x0f, 0xb7, 0x00},
     2,
     MMIO_DST_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_ZERO,
     8,
     -1,
     8,
     false},
    /* .code64: movsbl (%rax),%eax */
    {M64, 3, {0x0f, 0xbe, 0x00}, 1, MMIO_DST_REG, 0, false, 0x0ull, MMIO_EXT_SIGN, 4, -1, 8, false},
    /* .code64: movsbw (%rax),%dx */
    {M64,
     4,
     {0x66, 0x0f, 0xbe, 0x10},
     1,
     MMIO_DST_REG,
     2,
     false,
     0x0ull,
     MMIO_EXT_SIGN,
     2,
     -1,
     8,
     false},
    /* .code64: movsbq (%rax),%rdi */
    {M64,
     4,
     {0x48, 0x0f, 0xbe, 0x38},
     1,
     MMIO_DST_REG,
     7,
     false,
     0x0ull,
     MMIO_EXT_SIGN,
     8,
     -1,
     8,
     false},
    /* .code64: movswl (%rax),%esi */
    {M64, 3, {0x0f, 0xbf, 0x30}, 2, MMIO_DST_REG, 6, false, 0x0ull, MMIO_EXT_SIGN, 4, -1, 8, false},
    /* .code64: movswq 0x100(%rax),%r14 */
    {M64,
     8,
     {0x4c, 0x0f, 0xbf, 0xb0, 0x00, 0x01, 0x00, 0x00},
     2,
     MMIO_DST_REG,
     14,
     false,
     0x0ull,
     MMIO_EXT_SIGN,
     8,
     -1,
     8,
     false},
    /* .code64: movslq (%rax),%rax */
    {M64, 3, {0x48, 0x63, 0x00}, 4, MMIO_DST_REG, 0, false, 0x0ull, MMIO_EXT_SIGN, 8, -1, 8, false},
    /* .code64: movslq 0x10(%rip),%r9 */
    {M64,
     7,
     {0x4c, 0x63, 0x0d, 0x10, 0x00, 0x00, 0x00},
     4,
     MMIO_DST_REG,
     9,
     false,
     0x0ull,
     MMIO_EXT_SIGN,
     8,
     -1,
     8,
     false},
    /* .code64: movsxd (%rax),%eax */
    {M64, 2, {0x63, 0x00}, 4, MMIO_DST_REG, 0, false, 0x0ull, MMIO_EXT_SIGN, 4, -1, 8, false},
    /* .code64: movzbq %fs:(%r12,%r13,2),%r8 */
    {M64,
     6,
     {0x64, 0x4f, 0x0f, 0xb6, 0x04, 0x6c},
     1,
     MMIO_DST_REG,
     8,
     false,
     0x0ull,
     MMIO_EXT_ZERO,
     8,
     INSN_SEG_FS,
     8,
     false},
    /* .code64: movl %ecx,%fs:(%rax) */
    {M64,
     3,
     {0x64, 0x89, 0x08},
     4,
     MMIO_SRC_REG,
     1,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     INSN_SEG_FS,
     8,
     false},
    /* .code64: movq %gs:0x10,%rax */
    {M64,
     9,
     {0x65, 0x48, 0x8b, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00},
     8,
     MMIO_DST_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     8,
     INSN_SEG_GS,
     8,
     false},
    /* .code64: ds movl %eax,(%rbx) */
    {M64, 3, {0x3e, 0x89, 0x03}, 4, MMIO_SRC_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 8, false},
    /* .code64: movl %eax,%es:(%rbx) */
    {M64, 3, {0x26, 0x89, 0x03}, 4, MMIO_SRC_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 8, false},
    /* .code64: .byte 0xf0; movl %eax,(%rbx) */
    {M64, 3, {0xf0, 0x89, 0x03}, 4, MMIO_SRC_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 8, true},
    /* .code64: movl %eax,(%ebx) */
    {M64, 3, {0x67, 0x89, 0x03}, 4, MMIO_SRC_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 4, false},
    /* .code64: movl %eax,0x10(%eip) */
    {M64,
     7,
     {0x67, 0x89, 0x05, 0x10, 0x00, 0x00, 0x00},
     4,
     MMIO_SRC_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     4,
     false},
    /* .code64: movq %r8,(%r9d) */
    {M64,
     4,
     {0x67, 0x4d, 0x89, 0x01},
     8,
     MMIO_SRC_REG,
     8,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     4,
     false},
    /* .code64: .byte 0x48, 0x66; movl %eax,(%rbx) */
    {M64,
     4,
     {0x48, 0x66, 0x89, 0x03},
     2,
     MMIO_SRC_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: .byte 0x41; rex.W movl %eax,(%rbx) */
    {M64,
     4,
     {0x41, 0x48, 0x89, 0x03},
     8,
     MMIO_SRC_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: .byte 0x66; movq $-1,(%rax) */
    {M64,
     8,
     {0x66, 0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff},
     8,
     MMIO_SRC_IMM,
     0,
     false,
     0xffffffffffffffffull,
     MMIO_EXT_NONE,
     0,
     -1,
     8,
     false},
    /* .code64: .byte 0x66; movabs 0x1122334455667788,%rax */
    {M64,
     11,
     {0x66, 0x48, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11},
     8,
     MMIO_DST_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     8,
     -1,
     8,
     false},
    /* .code64: .byte 0x66,0x66; movq $-1,%fs:0x11223344(%rax,%rbx,8) */
    {M64,
     15,
     {0x66, 0x66, 0x64, 0x48, 0xc7, 0x84, 0xd8, 0x44, 0x33, 0x22, 0x11, 0xff, 0xff, 0xff, 0xff},
     8,
     MMIO_SRC_IMM,
     0,
     false,
     0xffffffffffffffffull,
     MMIO_EXT_NONE,
     0,
     INSN_SEG_FS,
     8,
     false},
    /* .code32: movl %eax,(%ebx) */
    {M32, 2, {0x89, 0x03}, 4, MMIO_SRC_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 4, false},
    /* .code32: movl %eax,0x12345678 */
    {M32,
     5,
     {0xa3, 0x78, 0x56, 0x34, 0x12},
     4,
     MMIO_SRC_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     4,
     false},
    /* .code32: movl 0x12345678,%ecx */
    {M32,
     6,
     {0x8b, 0x0d, 0x78, 0x56, 0x34, 0x12},
     4,
     MMIO_DST_REG,
     1,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     4,
     -1,
     4,
     false},
    /* .code32: movw %ax,(%ebx) */
    {M32, 3, {0x66, 0x89, 0x03}, 2, MMIO_SRC_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 4, false},
    /* .code32: movl %edx,0x10(%esp) */
    {M32,
     4,
     {0x89, 0x54, 0x24, 0x10},
     4,
     MMIO_SRC_REG,
     2,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     4,
     false},
    /* .code32: movl %edi,-0x4(%ebp,%esi,8) */
    {M32,
     4,
     {0x89, 0x7c, 0xf5, 0xfc},
     4,
     MMIO_SRC_REG,
     7,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     4,
     false},
    /* .code32: movl %esi,0x1000(,%eax,4) */
    {M32,
     7,
     {0x89, 0x34, 0x85, 0x00, 0x10, 0x00, 0x00},
     4,
     MMIO_SRC_REG,
     6,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     4,
     false},
    /* .code32: movb $0x5,%es:(%edi) */
    {M32,
     4,
     {0x26, 0xc6, 0x07, 0x05},
     1,
     MMIO_SRC_IMM,
     0,
     false,
     0x5ull,
     MMIO_EXT_NONE,
     0,
     INSN_SEG_ES,
     4,
     false},
    /* .code32: movl $0x12345678,0x1000(%eax) */
    {M32,
     10,
     {0xc7, 0x80, 0x00, 0x10, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12},
     4,
     MMIO_SRC_IMM,
     0,
     false,
     0x12345678ull,
     MMIO_EXT_NONE,
     0,
     -1,
     4,
     false},
    /* .code32: movw $0xabcd,(%eax) */
    {M32,
     5,
     {0x66, 0xc7, 0x00, 0xcd, 0xab},
     2,
     MMIO_SRC_IMM,
     0,
     false,
     0xabcdull,
     MMIO_EXT_NONE,
     0,
     -1,
     4,
     false},
    /* .code32: movl %eax,(%bx,%si) */
    {M32, 3, {0x67, 0x89, 0x00}, 4, MMIO_SRC_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 2, false},
    /* .code32: addr16 movw 0x1234,%ax */
    {M32,
     5,
     {0x67, 0x66, 0xa1, 0x34, 0x12},
     2,
     MMIO_DST_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     2,
     -1,
     2,
     false},
    /* .code32: movzbl %fs:(%eax),%eax */
    {M32,
     4,
     {0x64, 0x0f, 0xb6, 0x00},
     1,
     MMIO_DST_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_ZERO,
     4,
     INSN_SEG_FS,
     4,
     false},
    /* .code32: movswl 0x8(%ebx),%edx */
    {M32,
     4,
     {0x0f, 0xbf, 0x53, 0x08},
     2,
     MMIO_DST_REG,
     2,
     false,
     0x0ull,
     MMIO_EXT_SIGN,
     4,
     -1,
     4,
     false},
    /* .code32: movsbw (%ecx),%bp */
    {M32,
     4,
     {0x66, 0x0f, 0xbe, 0x29},
     1,
     MMIO_DST_REG,
     5,
     false,
     0x0ull,
     MMIO_EXT_SIGN,
     2,
     -1,
     4,
     false},
    /* .code32: movb (%ecx),%dh */
    {M32, 2, {0x8a, 0x31}, 1, MMIO_DST_REG, 2, true, 0x0ull, MMIO_EXT_NONE, 1, -1, 4, false},
    /* .code32: movb 0x12345678,%al */
    {M32,
     5,
     {0xa0, 0x78, 0x56, 0x34, 0x12},
     1,
     MMIO_DST_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     1,
     -1,
     4,
     false},
    /* .code32: movl %gs:0x12345678,%eax */
    {M32,
     6,
     {0x65, 0xa1, 0x78, 0x56, 0x34, 0x12},
     4,
     MMIO_DST_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     4,
     INSN_SEG_GS,
     4,
     false},
    /* .code32: ds movl %eax,(%ebp) */
    {M32,
     4,
     {0x3e, 0x89, 0x45, 0x00},
     4,
     MMIO_SRC_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     INSN_SEG_DS,
     4,
     false},
    /* .code32: movl %eax,%ss:(%ebx) */
    {M32,
     3,
     {0x36, 0x89, 0x03},
     4,
     MMIO_SRC_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     INSN_SEG_SS,
     4,
     false},
    /* .code16: movw %ax,(%bx) */
    {M16, 2, {0x89, 0x07}, 2, MMIO_SRC_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 2, false},
    /* .code16: movw %ax,(%bx,%si) */
    {M16, 2, {0x89, 0x00}, 2, MMIO_SRC_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 2, false},
    /* .code16: movw %cx,0x10(%bp,%di) */
    {M16, 3, {0x89, 0x4b, 0x10}, 2, MMIO_SRC_REG, 1, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 2, false},
    /* .code16: movw %dx,0x1234(%si) */
    {M16,
     4,
     {0x89, 0x94, 0x34, 0x12},
     2,
     MMIO_SRC_REG,
     2,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     2,
     false},
    /* .code16: movw %sp,-0x2(%bp,%si) */
    {M16, 3, {0x89, 0x62, 0xfe}, 2, MMIO_SRC_REG, 4, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 2, false},
    /* .code16: movw 0x1234,%cx */
    {M16,
     4,
     {0x8b, 0x0e, 0x34, 0x12},
     2,
     MMIO_DST_REG,
     1,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     2,
     -1,
     2,
     false},
    /* .code16: movw 0x1234,%ax */
    {M16, 3, {0xa1, 0x34, 0x12}, 2, MMIO_DST_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 2, -1, 2, false},
    /* .code16: movb 0x1234,%al */
    {M16, 3, {0xa0, 0x34, 0x12}, 1, MMIO_DST_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 1, -1, 2, false},
    /* .code16: movl %eax,(%bx) */
    {M16, 3, {0x66, 0x89, 0x07}, 4, MMIO_SRC_REG, 0, false, 0x0ull, MMIO_EXT_NONE, 0, -1, 2, false},
    /* .code16: movl %eax,(%ebx) */
    {M16,
     4,
     {0x67, 0x66, 0x89, 0x03},
     4,
     MMIO_SRC_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     4,
     false},
    /* .code16: movb $0x12,(%bp) */
    {M16,
     4,
     {0xc6, 0x46, 0x00, 0x12},
     1,
     MMIO_SRC_IMM,
     0,
     false,
     0x12ull,
     MMIO_EXT_NONE,
     0,
     -1,
     2,
     false},
    /* .code16: movw $0x1234,(%di) */
    {M16,
     4,
     {0xc7, 0x05, 0x34, 0x12},
     2,
     MMIO_SRC_IMM,
     0,
     false,
     0x1234ull,
     MMIO_EXT_NONE,
     0,
     -1,
     2,
     false},
    /* .code16: movl $0x12345678,(%si) */
    {M16,
     7,
     {0x66, 0xc7, 0x04, 0x78, 0x56, 0x34, 0x12},
     4,
     MMIO_SRC_IMM,
     0,
     false,
     0x12345678ull,
     MMIO_EXT_NONE,
     0,
     -1,
     2,
     false},
    /* .code16: movw $0xbeef,0x1000(%bx,%di) */
    {M16,
     6,
     {0xc7, 0x81, 0x00, 0x10, 0xef, 0xbe},
     2,
     MMIO_SRC_IMM,
     0,
     false,
     0xbeefull,
     MMIO_EXT_NONE,
     0,
     -1,
     2,
     false},
    /* .code16: movzbw (%si),%ax */
    {M16, 3, {0x0f, 0xb6, 0x04}, 1, MMIO_DST_REG, 0, false, 0x0ull, MMIO_EXT_ZERO, 2, -1, 2, false},
    /* .code16: movzbl (%si),%eax */
    {M16,
     4,
     {0x66, 0x0f, 0xb6, 0x04},
     1,
     MMIO_DST_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_ZERO,
     4,
     -1,
     2,
     false},
    /* .code16: movsbw %es:(%di),%dx */
    {M16,
     4,
     {0x26, 0x0f, 0xbe, 0x15},
     1,
     MMIO_DST_REG,
     2,
     false,
     0x0ull,
     MMIO_EXT_SIGN,
     2,
     INSN_SEG_ES,
     2,
     false},
    /* .code16: movb %ah,%cs:(%bx) */
    {M16,
     3,
     {0x2e, 0x88, 0x27},
     1,
     MMIO_SRC_REG,
     0,
     true,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     INSN_SEG_CS,
     2,
     false},
    /* .code16: movw %ax,%ss:0x10(%bx,%si) */
    {M16,
     4,
     {0x36, 0x89, 0x40, 0x10},
     2,
     MMIO_SRC_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     INSN_SEG_SS,
     2,
     false},
    /* .code16: addr32 movl %eax,0x12345678 */
    {M16,
     7,
     {0x67, 0x66, 0xa3, 0x78, 0x56, 0x34, 0x12},
     4,
     MMIO_SRC_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     0,
     -1,
     4,
     false},
    /* .code16: movw 0x10(%esp),%ax */
    {M16,
     5,
     {0x67, 0x8b, 0x44, 0x24, 0x10},
     2,
     MMIO_DST_REG,
     0,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     2,
     -1,
     4,
     false},
    /* .code16: movl 0x12345678(,%ecx,4),%edx */
    {M16,
     9,
     {0x67, 0x66, 0x8b, 0x14, 0x8d, 0x78, 0x56, 0x34, 0x12},
     4,
     MMIO_DST_REG,
     2,
     false,
     0x0ull,
     MMIO_EXT_NONE,
     4,
     -1,
     4,
     false},
    /* .code16: movl $0x12345678,0x11223344(%eax,%ebx,2) */
    {M16,
     13,
     {0x67, 0x66, 0xc7, 0x84, 0x58, 0x44, 0x33, 0x22, 0x11, 0x78, 0x56, 0x34, 0x12},
     4,
     MMIO_SRC_IMM,
     0,
     false,
     0x12345678ull,
     MMIO_EXT_NONE,
     0,
     -1,
     4,
     false},
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* Row @i failed on @what: name the row and its bytes. */
static void row_fail(size_t i, const char *what, unsigned long long got, unsigned long long want)
{
	char m[256];
	int n, k;

	n = snprintf(m, sizeof(m), "row %zu (", i);
	for (k = 0; k < cases[i].len && n < 200; k++)
		n += snprintf(m + n, sizeof(m) - n, "%s%02x", k ? " " : "", cases[i].b[k]);
	snprintf(m + n, sizeof(m) - n, "): %s is 0x%llx, expected 0x%llx", what, got, want);
	check_fail(__FILE__, __LINE__, m);
}

#define ROW_EQ(i, what, got, want)                                                                 \
	do {                                                                                       \
		if ((unsigned long long)(got) != (unsigned long long)(want)) {                     \
			row_fail((i), (what), (unsigned long long)(got),                           \
				 (unsigned long long)(want));                                      \
			return;                                                                    \
		}                                                                                  \
	} while (0)

/* Decode @n bytes copied into a heap block of exactly @n bytes (ASan). */
static int decode_exact(enum insn_cpu_mode mode, const uint8_t *b, size_t n, struct mmio_insn *out)
{
	uint8_t *copy = malloc(n ? n : 1);
	int rc;

	if (n)
		memcpy(copy, b, n);
	rc = insn_decode_mmio(copy, n, mode, out);
	free(copy);
	return rc;
}

static void test_table(void)
{
	size_t i;

	CHECK(N_CASES >= 60);
	for (i = 0; i < N_CASES; i++) {
		const struct dcase *c = &cases[i];
		struct mmio_insn in;
		int rc;

		memset(&in, 0x5a, sizeof(in));
		rc = decode_exact(c->mode, c->b, c->len, &in);
		ROW_EQ(i, "rc", rc, 0);
		ROW_EQ(i, "len", in.len, c->len);
		ROW_EQ(i, "size", in.size, c->size);
		ROW_EQ(i, "kind", in.kind, c->kind);
		ROW_EQ(i, "is_write", in.is_write, c->kind != MMIO_DST_REG);
		ROW_EQ(i, "reg", in.reg, c->reg);
		ROW_EQ(i, "high_byte", in.high_byte, c->high_byte);
		ROW_EQ(i, "imm", in.imm, c->imm);
		ROW_EQ(i, "ext", in.ext, c->ext);
		ROW_EQ(i, "dst_size", in.dst_size, c->dst_size);
		ROW_EQ(i, "seg", in.seg, c->seg);
		ROW_EQ(i, "addr_size", in.addr_size, c->addr_size);
		ROW_EQ(i, "lock", in.lock, c->lock);
	}
	CHECK_NO_WARNINGS();
}

/* Bytes after the instruction never change its length. */
static void test_trailing_bytes(void)
{
	size_t i;

	for (i = 0; i < N_CASES; i++) {
		uint8_t buf[INSN_MAX_LEN];
		struct mmio_insn in;
		int rc;

		memset(buf, 0x0f, sizeof(buf)); /* an escape byte: worst case */
		memcpy(buf, cases[i].b, cases[i].len);
		rc = decode_exact(cases[i].mode, buf, sizeof(buf), &in);
		ROW_EQ(i, "rc with 15 bytes", rc, 0);
		ROW_EQ(i, "len with 15 bytes", in.len, cases[i].len);
		memset(buf + cases[i].len, 0xff, sizeof(buf) - cases[i].len);
		rc = insn_decode_mmio(buf, 64, cases[i].mode, &in);
		ROW_EQ(i, "rc with avail 64", rc, 0);
		ROW_EQ(i, "len with avail 64", in.len, cases[i].len);
	}
	CHECK_NO_WARNINGS();
}

/* Cut anywhere before its end, every instruction asks for more bytes. */
static void test_truncation(void)
{
	size_t i, avail;

	for (i = 0; i < N_CASES; i++) {
		for (avail = 0; avail < cases[i].len; avail++) {
			struct mmio_insn in;
			int rc = decode_exact(cases[i].mode, cases[i].b, avail, &in);

			ROW_EQ(i, "rc when truncated", rc, INSN_ERR_NEED_MORE);
		}
	}
	CHECK_NO_WARNINGS();
	CHECK(logcap_count(LOG_DEBUG) > 0);
	CHECK_LOGGED(LOG_DEBUG, "insn: ", "past the readable bytes", "2 bytes available", "89 05");
}

/* The table exercises every supported opcode in every code size. */
static void test_table_coverage(void)
{
	static const uint16_t ops[] = {
	    0x88, 0x89, 0x8a, 0x8b,   0xc6,   0xc7,   0xa0,   0xa1,
	    0xa2, 0xa3, 0x63, 0x0fb6, 0x0fb7, 0x0fbe, 0x0fbf,
	};
	size_t k, i;
	unsigned modes;

	for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		bool found = false;

		for (i = 0; i < N_CASES && !found; i++) {
			const struct dcase *c = &cases[i];
			size_t p = 0;

			/* Skip legacy prefixes and REX. */
			while (p < c->len &&
			       (strchr("\x66\x67\x26\x2e\x36\x3e\x64\x65\xf0", c->b[p]) ||
				(c->mode == M64 && (c->b[p] & 0xf0) == 0x40)))
				p++;
			if (ops[k] > 0xff)
				found = c->b[p] == 0x0f && c->b[p + 1] == (ops[k] & 0xff);
			else
				found = c->b[p] == ops[k];
		}
		CHECK_EQ(found ? ops[k] : 0, ops[k]);
	}
	modes = 0;
	for (i = 0; i < N_CASES; i++)
		modes |= 1u << cases[i].mode;
	CHECK_EQ(modes, 7);
}

struct bad_case {
	enum insn_cpu_mode mode;
	uint8_t n;
	uint8_t b[INSN_MAX_LEN];
	int err;
	const char *logged; /* substring of the warning */
	const char *hex;    /* the bytes as logged */
};

static const struct bad_case bad[] = {
    /* .code64: addl %eax,(%rbx) */
    {M64, 2, {0x01, 0x03}, INSN_ERR_UNSUPPORTED, "'add'", "01 03"},
    /* .code64: andl $0x1,(%rax) */
    {M64, 3, {0x83, 0x20, 0x01}, INSN_ERR_UNSUPPORTED, "'and'", "83 20 01"},
    /* .code64: orl $0x80000000,0x10(%rdx) */
    {M64,
     7,
     {0x81, 0x4a, 0x10, 0x00, 0x00, 0x00, 0x80},
     INSN_ERR_UNSUPPORTED,
     "'or'",
     "81 4a 10 00 00 00 80"},
    /* .code64: xorb %cl,(%rsi) */
    {M64, 2, {0x30, 0x0e}, INSN_ERR_UNSUPPORTED, "'xor'", "30 0e"},
    /* .code64: cmpl (%rdi),%eax */
    {M64, 2, {0x3b, 0x07}, INSN_ERR_UNSUPPORTED, "'cmp'", "3b 07"},
    /* .code64: testl %eax,(%rbx) */
    {M64, 2, {0x85, 0x03}, INSN_ERR_UNSUPPORTED, "'test'", "85 03"},
    /* .code64: testb $1,(%rax) */
    {M64, 3, {0xf6, 0x00, 0x01}, INSN_ERR_UNSUPPORTED, "'test'", "f6 00 01"},
    /* .code64: negl (%rax) */
    {M64, 2, {0xf7, 0x18}, INSN_ERR_UNSUPPORTED, "'neg'", "f7 18"},
    /* .code64: xchg %eax,(%rbx) */
    {M64, 2, {0x87, 0x03}, INSN_ERR_UNSUPPORTED, "'xchg'", "87 03"},
    /* .code64: lock incl (%rax) */
    {M64, 3, {0xf0, 0xff, 0x00}, INSN_ERR_UNSUPPORTED, "'inc'", "f0 ff 00"},
    /* .code64: shll $3,(%rax) */
    {M64, 3, {0xc1, 0x20, 0x03}, INSN_ERR_UNSUPPORTED, "'shl'", "c1 20 03"},
    /* .code64: popq (%rax) */
    {M64, 2, {0x8f, 0x00}, INSN_ERR_UNSUPPORTED, "'pop r/m'", "8f 00"},
    /* .code64: rep movsb */
    {M64, 2, {0xf3, 0xa4}, INSN_ERR_UNSUPPORTED, "'movs'", "f3 a4"},
    /* .code64: movsl */
    {M64, 1, {0xa5}, INSN_ERR_UNSUPPORTED, "'movs'", "a5"},
    /* .code64: stosl */
    {M64, 1, {0xab}, INSN_ERR_UNSUPPORTED, "'stos'", "ab"},
    /* .code64: rep stosq */
    {M64, 3, {0xf3, 0x48, 0xab}, INSN_ERR_UNSUPPORTED, "'stos'", "f3 48 ab"},
    /* .code16: rep movsw */
    {M16, 2, {0xf3, 0xa5}, INSN_ERR_UNSUPPORTED, "'movs'", "f3 a5"},
    /* .code16: outsb */
    {M16, 1, {0x6e}, INSN_ERR_UNSUPPORTED, "'outs'", "6e"},
    /* .code64: xrelease movl %eax,(%rbx) */
    {M64,
     3,
     {0xf3, 0x89, 0x03},
     INSN_ERR_UNSUPPORTED,
     "rep (f3) prefix on non-string 'mov'",
     "f3 89 03"},
    /* .code64: .byte 0xf2; movzbl (%rax),%eax */
    {M64,
     4,
     {0xf2, 0x0f, 0xb6, 0x00},
     INSN_ERR_UNSUPPORTED,
     "repne (f2) prefix on non-string 'movzx'",
     "f2 0f b6 00"},
    /* .code64: vmovdqu (%rax),%ymm0 */
    {M64, 4, {0xc5, 0xfe, 0x6f, 0x00}, INSN_ERR_UNSUPPORTED, "'vex-encoded'", "c5 fe 6f 00"},
    /* .code64: movdqa (%rax),%xmm0 */
    {M64, 4, {0x66, 0x0f, 0x6f, 0x00}, INSN_ERR_UNSUPPORTED, "'0f opcode'", "66 0f 6f 00"},
    /* .code64: movnti %eax,(%rbx) */
    {M64, 3, {0x0f, 0xc3, 0x03}, INSN_ERR_UNSUPPORTED, "'movnti'", "0f c3 03"},
    /* .code64: cmpxchg %ecx,(%rax) */
    {M64, 3, {0x0f, 0xb1, 0x08}, INSN_ERR_UNSUPPORTED, "'cmpxchg'", "0f b1 08"},
    /* .code64: btsl $1,(%rax) */
    {M64, 4, {0x0f, 0xba, 0x28, 0x01}, INSN_ERR_UNSUPPORTED, "'bt/bts/btr/btc'", "0f ba 28 01"},
    /* .code64: movw %ds,(%rax) */
    {M64, 2, {0x8c, 0x18}, INSN_ERR_UNSUPPORTED, "'mov sreg'", "8c 18"},
    /* .code64: syscall */
    {M64, 2, {0x0f, 0x05}, INSN_ERR_UNSUPPORTED, "'0f opcode'", "0f 05"},
    /* .code32: arpl %ax,(%ebx) */
    {M32, 2, {0x63, 0x03}, INSN_ERR_UNSUPPORTED, "'arpl'", "63 03"},
    /* .code32: bound %eax,(%ebx) */
    {M32, 2, {0x62, 0x03}, INSN_ERR_UNSUPPORTED, "'bound or evex'", "62 03"},
    /* .code32: lesl (%eax),%eax */
    {M32, 2, {0xc4, 0x00}, INSN_ERR_UNSUPPORTED, "'les/lds or vex'", "c4 00"},
    /* .code32: 48 89 03 is "decl %eax; movl %eax,(%ebx)": no REX here */
    {M32, 3, {0x48, 0x89, 0x03}, INSN_ERR_UNSUPPORTED, "'dec r16/r32'", "48 89 03"},
    /* .code64: movl %eax,%ebx (register operand: no memory access) */
    {M64, 2, {0x89, 0xc3}, INSN_ERR_INVALID, "'mov' with a register operand", "89 c3"},
    /* .code64: movzbl %al,%eax */
    {M64, 3, {0x0f, 0xb6, 0xc0}, INSN_ERR_INVALID, "'movzx' with a register operand", "0f b6 c0"},
    /* .code64: .byte 0xc6, 0x08, 0x00 (C6 /1: undefined) */
    {M64, 3, {0xc6, 0x08, 0x00}, INSN_ERR_INVALID, "ModRM.reg != 0", "c6 08 00"},
    /* .code64: .byte 0xc7, 0x38, 0, 0, 0, 0 (C7 /7 with a memory operand) */
    {M64, 6, {0xc7, 0x38, 0, 0, 0, 0}, INSN_ERR_INVALID, "ModRM.reg != 0", "c7 38 00 00 00 00"},
    /* .code16: movw %ax,%bx */
    {M16, 2, {0x89, 0xc3}, INSN_ERR_INVALID, "register operand", "89 c3"},
};

static void test_refused(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mmio_insn in;
		int rc;

		logcap_reset();
		rc = decode_exact(bad[i].mode, bad[i].b, bad[i].n, &in);
		if (rc != bad[i].err) {
			char m[128];

			snprintf(m, sizeof(m), "refused row %zu (%s): rc %d, expected %d", i,
				 bad[i].hex, rc, bad[i].err);
			check_fail(__FILE__, __LINE__, m);
			return;
		}
		if (!logcap_find(LOG_WARN, "insn: ", bad[i].logged, bad[i].hex, (const char *)0)) {
			char m[200];

			snprintf(m, sizeof(m),
				 "refused row %zu: no warning with '%s' and '%s' (got '%.80s')", i,
				 bad[i].logged, bad[i].hex, logcap_first_at_most(LOG_WARN));
			check_fail(__FILE__, __LINE__, m);
			return;
		}
		CHECK_EQ(logcap_count(LOG_WARN), 1);
		CHECK(logcap_all_prefixed("insn: "));
	}
}

/* The mode is named in the log line. */
static void test_refused_names_mode(void)
{
	static const uint8_t b[] = {0x01, 0x03};
	struct mmio_insn in;

	CHECK_EQ(insn_decode_mmio(b, 2, M32, &in), INSN_ERR_UNSUPPORTED);
	CHECK_LOGGED(LOG_WARN, "insn: ", "32-bit mode", "01 03");
}

/* 15 bytes is the limit; one more prefix makes it invalid. */
static void test_length_limit(void)
{
	uint8_t b[20];
	struct mmio_insn in;

	memset(b, 0x66, sizeof(b));
	/* 13 prefixes + 89 03: 15 bytes, valid. */
	b[13] = 0x89;
	b[14] = 0x03;
	CHECK_EQ(decode_exact(M64, b, 15, &in), 0);
	CHECK_EQ(in.len, 15);
	CHECK_EQ(in.size, 2);
	CHECK_NO_WARNINGS();

	/* 14 prefixes + 89 03: 16 bytes. */
	memset(b, 0x66, sizeof(b));
	b[14] = 0x89;
	b[15] = 0x03;
	CHECK_EQ(decode_exact(M64, b, 16, &in), INSN_ERR_INVALID);
	CHECK_EQ(decode_exact(M64, b, 15, &in), INSN_ERR_INVALID);
	CHECK_LOGGED(LOG_WARN, "insn: ", "longer than 15 bytes");
	/* With only 14 readable bytes it could still end in time. */
	CHECK_EQ(decode_exact(M64, b, 14, &in), INSN_ERR_NEED_MORE);

	/* A C7 with 6 prefixes, SIB and disp32: its imm32 would end at 17. */
	memset(b, 0x3e, sizeof(b));
	memcpy(b + 6, "\xc7\x84\x58\x44\x33\x22\x11\x78\x56\x34\x12", 11);
	logcap_reset();
	CHECK_EQ(decode_exact(M32, b, 15, &in), INSN_ERR_INVALID);
	CHECK_LOGGED(LOG_WARN, "insn: ", "longer than 15 bytes");
	/* With 4 prefixes it fits exactly. */
	CHECK_EQ(decode_exact(M32, b + 2, 15, &in), 0);
	CHECK_EQ(in.len, 15);
	CHECK_EQ(in.imm, 0x12345678);
	CHECK_EQ(in.seg, INSN_SEG_DS);
}

/* Decode a row given as bytes; the test fails if it does not decode. */
#define DECODE(mode, in, ...)                                                                      \
	do {                                                                                       \
		static const uint8_t b_[] = {__VA_ARGS__};                                         \
		CHECK_EQ(decode_exact((mode), b_, sizeof(b_), &(in)), 0);                          \
		CHECK_EQ((in).len, sizeof(b_));                                                    \
	} while (0)

static void fill(uint64_t gpr[16])
{
	int i;

	for (i = 0; i < 16; i++)
		gpr[i] = 0x1122334455667788ull;
}

static void test_load_merge_8_16(void)
{
	struct mmio_insn in;
	uint64_t g[16];

	fill(g);
	DECODE(M64, in, 0x8a, 0x06); /* movb (%rsi),%al */
	mmio_complete_load(&in, 0xffffffffffffffabull, g, M64);
	CHECK_EQ(g[0], 0x11223344556677abull);

	fill(g);
	DECODE(M64, in, 0x8a, 0x26); /* movb (%rsi),%ah */
	mmio_complete_load(&in, 0xab, g, M64);
	CHECK_EQ(g[0], 0x112233445566ab88ull);

	fill(g);
	DECODE(M64, in, 0x8a, 0x2e); /* movb (%rsi),%ch */
	mmio_complete_load(&in, 0xab, g, M64);
	CHECK_EQ(g[1], 0x112233445566ab88ull);
	CHECK_EQ(g[5], 0x1122334455667788ull); /* not %bpl */

	fill(g);
	DECODE(M64, in, 0x40, 0x8a, 0x2e); /* movb (%rsi),%bpl */
	mmio_complete_load(&in, 0xab, g, M64);
	CHECK_EQ(g[5], 0x11223344556677abull);
	CHECK_EQ(g[1], 0x1122334455667788ull);

	fill(g);
	DECODE(M32, in, 0x8a, 0x31); /* .code32 movb (%ecx),%dh */
	mmio_complete_load(&in, 0xcd, g, M32);
	CHECK_EQ(g[2], 0x112233445566cd88ull);

	fill(g);
	DECODE(M64, in, 0x66, 0x44, 0x8b, 0x1f); /* movw (%rdi),%r11w */
	mmio_complete_load(&in, 0xffffbeefull, g, M64);
	CHECK_EQ(g[11], 0x112233445566beefull);

	fill(g);
	DECODE(M16, in, 0x8b, 0x0e, 0x34, 0x12); /* .code16 movw 0x1234,%cx */
	mmio_complete_load(&in, 0xbeef, g, M16);
	CHECK_EQ(g[1], 0x112233445566beefull);
}

static void test_load_32_64(void)
{
	struct mmio_insn in;
	uint64_t g[16];

	/* movl 0x8(%rbp),%eax: 64-bit mode zero-extends into 63:32. */
	fill(g);
	DECODE(M64, in, 0x8b, 0x45, 0x08);
	mmio_complete_load(&in, 0xdeadbeef, g, M64);
	CHECK_EQ(g[0], 0x00000000deadbeefull);

	/* The same bytes in 32-bit code keep bits 63:32. */
	fill(g);
	DECODE(M32, in, 0x8b, 0x45, 0x08);
	mmio_complete_load(&in, 0xdeadbeef, g, M32);
	CHECK_EQ(g[0], 0x11223344deadbeefull);

	/* .code16 movl 0x12345678(,%ecx,4),%edx: keeps them too. */
	fill(g);
	DECODE(M16, in, 0x67, 0x66, 0x8b, 0x14, 0x8d, 0x78, 0x56, 0x34, 0x12);
	mmio_complete_load(&in, 0xcafef00d, g, M16);
	CHECK_EQ(g[2], 0x11223344cafef00dull);

	/* movq (%rax),%r10 */
	fill(g);
	DECODE(M64, in, 0x4c, 0x8b, 0x10);
	mmio_complete_load(&in, 0x0102030405060708ull, g, M64);
	CHECK_EQ(g[10], 0x0102030405060708ull);

	/* movabs 0x1122334455667788,%eax; ...,%rax */
	fill(g);
	DECODE(M64, in, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11);
	mmio_complete_load(&in, 0xfedcba9876543210ull, g, M64);
	CHECK_EQ(g[0], 0x76543210ull);
	DECODE(M64, in, 0x48, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11);
	mmio_complete_load(&in, 0xfedcba9876543210ull, g, M64);
	CHECK_EQ(g[0], 0xfedcba9876543210ull);
}

static void test_load_zero_extend(void)
{
	struct mmio_insn in;
	uint64_t g[16];

	fill(g);
	DECODE(M64, in, 0x0f, 0xb6, 0x00); /* movzbl (%rax),%eax */
	mmio_complete_load(&in, 0x1ff, g, M64);
	CHECK_EQ(g[0], 0xffull);

	fill(g);
	DECODE(M32, in, 0x0f, 0xb6, 0x00); /* .code32 movzbl (%eax),%eax */
	mmio_complete_load(&in, 0xff, g, M32);
	CHECK_EQ(g[0], 0x11223344000000ffull);

	fill(g);
	DECODE(M64, in, 0x66, 0x0f, 0xb6, 0x00); /* movzbw (%rax),%ax */
	mmio_complete_load(&in, 0xff, g, M64);
	CHECK_EQ(g[0], 0x11223344556600ffull);

	fill(g);
	DECODE(M64, in, 0x4c, 0x0f, 0xb6, 0x00); /* movzbq (%rax),%r8 */
	mmio_complete_load(&in, 0xff, g, M64);
	CHECK_EQ(g[8], 0xffull);

	fill(g);
	DECODE(M64, in, 0x0f, 0xb7, 0x4a, 0x04); /* movzwl 0x4(%rdx),%ecx */
	mmio_complete_load(&in, 0x1234ffffull, g, M64);
	CHECK_EQ(g[1], 0xffffull);

	fill(g);
	DECODE(M16, in, 0x0f, 0xb6, 0x04); /* .code16 movzbw (%si),%ax */
	mmio_complete_load(&in, 0x80, g, M16);
	CHECK_EQ(g[0], 0x1122334455660080ull);
}

static void test_load_sign_extend(void)
{
	struct mmio_insn in;
	uint64_t g[16];

	fill(g);
	DECODE(M64, in, 0x0f, 0xbe, 0x00); /* movsbl (%rax),%eax */
	mmio_complete_load(&in, 0x80, g, M64);
	CHECK_EQ(g[0], 0x00000000ffffff80ull);

	fill(g);
	DECODE(M32, in, 0x0f, 0xbe, 0x00); /* .code32 movsbl (%eax),%eax */
	mmio_complete_load(&in, 0x80, g, M32);
	CHECK_EQ(g[0], 0x11223344ffffff80ull);

	fill(g);
	DECODE(M64, in, 0x66, 0x0f, 0xbe, 0x10); /* movsbw (%rax),%dx */
	mmio_complete_load(&in, 0x80, g, M64);
	CHECK_EQ(g[2], 0x112233445566ff80ull);

	fill(g);
	DECODE(M64, in, 0x48, 0x0f, 0xbe, 0x38); /* movsbq (%rax),%rdi */
	mmio_complete_load(&in, 0x80, g, M64);
	CHECK_EQ(g[7], 0xffffffffffffff80ull);
	mmio_complete_load(&in, 0xff7f, g, M64); /* only the low byte */
	CHECK_EQ(g[7], 0x7full);

	fill(g);
	DECODE(M64, in, 0x4c, 0x0f, 0xbf, 0xb0, 0x00, 0x01, 0x00, 0x00); /* movswq */
	mmio_complete_load(&in, 0x8000, g, M64);
	CHECK_EQ(g[14], 0xffffffffffff8000ull);

	fill(g);
	DECODE(M64, in, 0x0f, 0xbf, 0x30); /* movswl (%rax),%esi */
	mmio_complete_load(&in, 0xfffe, g, M64);
	CHECK_EQ(g[6], 0x00000000fffffffeull);

	fill(g);
	DECODE(M64, in, 0x48, 0x63, 0x00); /* movslq (%rax),%rax */
	mmio_complete_load(&in, 0x80000000, g, M64);
	CHECK_EQ(g[0], 0xffffffff80000000ull);
	mmio_complete_load(&in, 0x7fffffff, g, M64);
	CHECK_EQ(g[0], 0x7fffffffull);

	fill(g);
	DECODE(M64, in, 0x63, 0x00); /* movsxd (%rax),%eax */
	mmio_complete_load(&in, 0x80000000, g, M64);
	CHECK_EQ(g[0], 0x0000000080000000ull);

	fill(g);
	DECODE(M16, in, 0x26, 0x0f, 0xbe, 0x15); /* .code16 movsbw %es:(%di),%dx */
	mmio_complete_load(&in, 0xfe, g, M16);
	CHECK_EQ(g[2], 0x112233445566fffeull);
}

/* A store leaves the registers alone when "completed". */
static void test_load_ignores_store(void)
{
	struct mmio_insn in;
	uint64_t g[16], h[16];

	fill(g);
	fill(h);
	DECODE(M64, in, 0x48, 0x89, 0x03); /* movq %rax,(%rbx) */
	mmio_complete_load(&in, 0, g, M64);
	CHECK(memcmp(g, h, sizeof(g)) == 0);
	DECODE(M64, in, 0xc6, 0x00, 0x12); /* movb $0x12,(%rax) */
	mmio_complete_load(&in, 0, g, M64);
	CHECK(memcmp(g, h, sizeof(g)) == 0);
}

static void test_store_value(void)
{
	struct mmio_insn in;
	uint64_t g[16];
	int i;

	for (i = 0; i < 16; i++)
		g[i] = 0xa0a1a2a3a4a5a6a7ull + ((uint64_t)i << 56) + (uint64_t)i;

	DECODE(M64, in, 0x88, 0x23); /* movb %ah,(%rbx) */
	CHECK_EQ(mmio_store_value(&in, g), 0xa6);
	DECODE(M64, in, 0x88, 0x39); /* movb %bh,(%rcx) */
	CHECK_EQ(mmio_store_value(&in, g), 0xa6);
	DECODE(M64, in, 0x88, 0x03); /* movb %al,(%rbx) */
	CHECK_EQ(mmio_store_value(&in, g), 0xa7);
	DECODE(M64, in, 0x40, 0x88, 0x23); /* movb %spl,(%rbx) */
	CHECK_EQ(mmio_store_value(&in, g), 0xab);
	DECODE(M64, in, 0x44, 0x88, 0x08); /* movb %r9b,(%rax) */
	CHECK_EQ(mmio_store_value(&in, g), 0xb0);
	DECODE(M64, in, 0x66, 0x89, 0x03); /* movw %ax,(%rbx) */
	CHECK_EQ(mmio_store_value(&in, g), 0xa6a7);
	DECODE(M64, in, 0x45, 0x89, 0xb8, 0x78, 0x56, 0x34, 0x12); /* movl %r15d */
	CHECK_EQ(mmio_store_value(&in, g), 0xa4a5a6b6ull);
	DECODE(M64, in, 0x48, 0x89, 0x14, 0x24); /* movq %rdx,(%rsp) */
	CHECK_EQ(mmio_store_value(&in, g), 0xa2a1a2a3a4a5a6a9ull);
	DECODE(M64, in, 0x48, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11);
	CHECK_EQ(mmio_store_value(&in, g), 0xa0a1a2a3a4a5a6a7ull);
	DECODE(M32, in, 0xa3, 0x78, 0x56, 0x34, 0x12); /* .code32 movl %eax,moffs */
	CHECK_EQ(mmio_store_value(&in, g), 0xa4a5a6a7ull);
	DECODE(M16, in, 0x2e, 0x88, 0x27); /* .code16 movb %ah,%cs:(%bx) */
	CHECK_EQ(mmio_store_value(&in, g), 0xa6);

	/* Immediates: sized, imm32 sign-extended only for a 64-bit store. */
	DECODE(M64, in, 0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff);
	CHECK_EQ(mmio_store_value(&in, g), 0xffffffffffffffffull);
	DECODE(M64, in, 0xc7, 0x00, 0xef, 0xbe, 0xad, 0xde);
	CHECK_EQ(mmio_store_value(&in, g), 0xdeadbeefull);
	DECODE(M64, in, 0x66, 0xc7, 0x05, 0x10, 0x00, 0x00, 0x00, 0xfd, 0xff);
	CHECK_EQ(mmio_store_value(&in, g), 0xfffd);
	DECODE(M64, in, 0xc6, 0x83, 0x80, 0x00, 0x00, 0x00, 0xff);
	CHECK_EQ(mmio_store_value(&in, g), 0xff);

	/* A load stores nothing. */
	DECODE(M64, in, 0x8b, 0x45, 0x08);
	CHECK_EQ(mmio_store_value(&in, g), 0);
}

static void test_cpu_mode_of(void)
{
	const uint64_t pe = 1, lma = 1ull << 10, vm = 1ull << 17;

	CHECK_EQ(insn_cpu_mode_of(0, 0, 0, false, false), INSN_MODE_16);
	CHECK_EQ(insn_cpu_mode_of(0, 0, 0, false, true), INSN_MODE_16);
	CHECK_EQ(insn_cpu_mode_of(pe, 0, 0, false, true), INSN_MODE_32);
	CHECK_EQ(insn_cpu_mode_of(pe, 0, 0, false, false), INSN_MODE_16);
	CHECK_EQ(insn_cpu_mode_of(pe, 0, vm, false, true), INSN_MODE_16);
	CHECK_EQ(insn_cpu_mode_of(pe, lma, 0, true, false), INSN_MODE_64);
	CHECK_EQ(insn_cpu_mode_of(pe, lma, 0, false, true), INSN_MODE_32);
	CHECK_EQ(insn_cpu_mode_of(pe, lma, 0, false, false), INSN_MODE_16);
	/* CS.L outside IA-32e mode means nothing. */
	CHECK_EQ(insn_cpu_mode_of(pe, 0, 0, true, true), INSN_MODE_32);
}

/*
 * Random byte strings, biased towards the supported opcodes: whatever is
 * decoded must be self-consistent, and the decoder must never read past
 * what it was given (ASan watches the exact-size copies).
 */
static void test_fuzz(void)
{
	static const uint8_t pick[] = {
	    0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65,
	    0x40, 0x48, 0x4c, 0x41, 0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xc7, 0xa0,
	    0xa1, 0xa2, 0xa3, 0x0f, 0xb6, 0xb7, 0xbe, 0xbf, 0x63,
	};
	uint32_t seed = 12345;
	unsigned iter, ok = 0;

	for (iter = 0; iter < 200000; iter++) {
		uint8_t b[INSN_MAX_LEN];
		enum insn_cpu_mode mode = (enum insn_cpu_mode)(iter % 3);
		struct mmio_insn a, c;
		size_t i;
		int rc;

		for (i = 0; i < sizeof(b); i++) {
			seed = seed * 1103515245u + 12345u;
			b[i] = (seed >> 16) & 1 ? pick[(seed >> 17) % sizeof(pick)]
						: (uint8_t)(seed >> 20);
		}
		rc = decode_exact(mode, b, sizeof(b), &a);
		CHECK(rc == 0 || rc == INSN_ERR_UNSUPPORTED || rc == INSN_ERR_INVALID);
		if (rc)
			continue;
		ok++;
		CHECK(a.len >= 2 && a.len <= INSN_MAX_LEN);
		CHECK(a.size == 1 || a.size == 2 || a.size == 4 || a.size == 8);
		CHECK(a.reg < 16);
		CHECK(!a.high_byte || (a.size == 1 && a.reg < 4));
		CHECK(a.is_write == (a.kind != MMIO_DST_REG));
		if (a.kind == MMIO_DST_REG)
			CHECK(a.dst_size >= a.size);
		/* Exactly len bytes decode the same; len - 1 need more. */
		CHECK_EQ(decode_exact(mode, b, a.len, &c), 0);
		CHECK(memcmp(&a, &c, sizeof(a)) == 0);
		CHECK_EQ(decode_exact(mode, b, a.len - 1u, &c), INSN_ERR_NEED_MORE);
	}
	/* The bias works: a good share decodes. */
	CHECK(ok > 5000);
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_table),
    TEST_ENTRY(test_trailing_bytes),
    TEST_ENTRY(test_truncation),
    TEST_ENTRY(test_table_coverage),
    TEST_ENTRY(test_refused),
    TEST_ENTRY(test_refused_names_mode),
    TEST_ENTRY(test_length_limit),
    TEST_ENTRY(test_load_merge_8_16),
    TEST_ENTRY(test_load_32_64),
    TEST_ENTRY(test_load_zero_extend),
    TEST_ENTRY(test_load_sign_extend),
    TEST_ENTRY(test_load_ignores_store),
    TEST_ENTRY(test_store_value),
    TEST_ENTRY(test_cpu_mode_of),
    TEST_ENTRY(test_fuzz),
};

CHECK_MAIN(tests)
