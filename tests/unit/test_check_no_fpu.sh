#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Self-test of scripts/check-no-fpu.sh: builds tiny objects with gcc in a
# temporary directory and checks the script's verdict on each. Prints one
# PASS/FAIL line per check and closes with "N passed, N failed".
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
check=$root/scripts/check-no-fpu.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass=0
fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); }

# The hypervisor's code-generation flags (see scripts/newlib.sh).
HVFLAGS=(-O2 -ffreestanding -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only -fno-stack-protector)

# build NAME FLAGS... < C source: compile to $tmp/NAME.o; a failure to
# compile is itself a FAIL line (and the checks on it fail too).
build() {
	local name=$1
	shift
	if ! gcc "$@" -c -x c -o "$tmp/$name.o" - 2>"$tmp/$name.err"; then
		ko "compile $name: $(head -n 3 "$tmp/$name.err" | tr '\n' ' ')"
	fi
}

# expect DESC WANT_RC REGEX FILE: run the checker on FILE; its exit status
# must be WANT_RC and its output (stdout + stderr) must match REGEX.
expect() {
	local desc=$1 want=$2 regex=$3 file=$4 rc=0
	"$check" "$file" >"$tmp/out" 2>&1 || rc=$?
	if [ "$rc" -eq "$want" ] && grep -Eq -- "$regex" "$tmp/out"; then
		ok "$desc"
	else
		ko "$desc (exit $rc, want $want; output: $(head -c 400 "$tmp/out" | tr '\n' '|'))"
	fi
}

# 1. Plain integer code built with the hypervisor's flags.
build clean "${HVFLAGS[@]}" <<'EOF'
#include <stddef.h>
unsigned long sum(const unsigned long *a, size_t n)
{
	unsigned long s = 0;
	for (size_t i = 0; i < n; i++)
		s += a[i] * 3 + (a[i] >> 2);
	return s;
}
EOF
expect "integer code is clean" 0 "^no-fpu: .*clean \([0-9]+ instructions checked\)$" "$tmp/clean.o"

# 2. Floating point compiled without -mgeneral-regs-only: SSE.
build sse -O2 -fno-pic <<'EOF'
double scale(double x, double y) { return x * y + 1.0; }
EOF
expect "SSE arithmetic is caught" 1 "mulsd .*%xmm" "$tmp/sse.o"
expect "SSE report names the function" 1 "\(in scale\)" "$tmp/sse.o"

# 3. long double: x87.
build x87 -O2 -fno-pic <<'EOF'
long double lmul(long double a, long double b) { return a * b; }
EOF
expect "x87 arithmetic is caught" 1 "fmul|fld" "$tmp/x87.o"

# 4. Functions and data whose names look like x87/SSE mnemonics or
#    registers; their names appear only inside <...> and # comments.
build names "${HVFLAGS[@]}" <<'EOF'
int fstp_table[4];
int xmm0;
__attribute__((noinline)) int fld(int x) { return x + fstp_table[x & 3]; }
__attribute__((noinline)) int fninit(int x) { return fld(x) * 3 + xmm0; }
__attribute__((noinline)) int format_foo(int x) { return fninit(x) - 1; }
__attribute__((noinline)) int emms(int x) { return format_foo(x) ^ 5; }
__attribute__((noinline)) int xsave_area(int x) { return emms(x) + 7; }
__attribute__((noinline)) int fls(int x) { return x ? 32 - __builtin_clz(x) : 0; }
int st(int x) { return xsave_area(x) + fls(x); }
EOF
expect "mnemonic-like symbol names are not flagged" 0 "clean" "$tmp/names.o"

# 5. Instructions a hypervisor uses that touch no FPU/vector state: VMX and
#    SVM, verw, xgetbv/xsetbv, fences, prefetch, movnti, crc32, popcnt,
#    segment and rep prefixes, multi-byte nop padding.
build integer_asm "${HVFLAGS[@]}" <<'EOF'
void f(unsigned long *p, unsigned long v)
{
	__asm__ volatile(
		"vmcall\n vmlaunch\n vmresume\n vmxoff\n vmread %%rax, %%rbx\n"
		"vmwrite %%rbx, %%rax\n vmptrld (%%rdi)\n vmclear (%%rdi)\n"
		"vmrun\n vmload\n vmsave\n vmmcall\n invept (%%rdi), %%rax\n"
		"verw (%%rdi)\n xgetbv\n xsetbv\n sfence\n lfence\n mfence\n"
		"prefetchnta (%%rdi)\n movnti %%rsi, (%%rdi)\n crc32q %%rsi, %%rax\n"
		"popcnt %%rsi, %%rax\n mov %%fs:0x28, %%rax\n rep stosb\n"
		"lock incq (%%rdi)\n .byte 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0\n"
		"pause\n rdrand %%rax\n wbinvd\n cpuid\n"
		: : "D"(p), "S"(v) : "rax", "rbx", "rcx", "rdx", "memory");
}
EOF
expect "VMX/SVM and other integer instructions are clean" 0 "clean" "$tmp/integer_asm.o"

# 6. State-touching instructions without a vector register operand, plus
#    one of each register family: exactly 16 must be reported. (The nops
#    keep objdump from showing fwait + fninit as the single "finit".)
build state_asm "${HVFLAGS[@]}" <<'EOF'
void g(void *p)
{
	__asm__ volatile(
		"emms\n ldmxcsr (%%rdi)\n stmxcsr (%%rdi)\n vldmxcsr (%%rdi)\n"
		"xsave (%%rdi)\n xrstor (%%rdi)\n xsaveopt (%%rdi)\n fxsave (%%rdi)\n"
		"vzeroupper\n fninit\n nop\n fwait\n nop\n"
		"movq %%mm0, %%rax\n movd %%eax, %%xmm3\n vmovdqa %%ymm1, %%ymm2\n"
		"kmovw %%k1, %%eax\n fstp %%st(1)\n"
		: : "D"(p) : "rax", "memory");
}
EOF
expect "state-touching instructions are all counted" 1 ": 16 x87/MMX/SSE/AVX instruction" "$tmp/state_asm.o"
for m in emms ldmxcsr stmxcsr vldmxcsr xsave xrstor xsaveopt fxsave vzeroupper fwait fninit "%mm0" "%xmm3" "%ymm1" "%k1" "%st\(1\)"; do
	expect "reports $m" 1 "$m" "$tmp/state_asm.o"
done

# 6b. The one exception: xstate_hw_* functions may move guest state with
#     fxsave/fxrstor/xsave/xrstor (64-bit forms too), nothing else; the same
#     instructions elsewhere are still flagged.
build xstate_ok "${HVFLAGS[@]}" <<'EOF'
void xstate_hw_save(void *p) { __asm__ volatile("fxsave64 (%0)\n xsave64 (%0)" : : "r"(p) : "memory"); }
void xstate_hw_load(void *p) { __asm__ volatile("fxrstor64 (%0)\n xrstor (%0)" : : "r"(p) : "memory"); }
EOF
expect "xstate_hw_* may save and restore state" 0 "clean" "$tmp/xstate_ok.o"
build xstate_bad "${HVFLAGS[@]}" <<'EOF'
void xstate_hw_sneaky(void *p) { __asm__ volatile("fxsave64 (%0)\n stmxcsr (%0)\n fninit" : : "r"(p) : "memory"); }
void save_elsewhere(void *p) { __asm__ volatile("xsave64 (%0)" : : "r"(p) : "memory"); }
EOF
expect "xstate_hw_*: other state instructions still flagged" 1 ": 3 x87/MMX/SSE/AVX instruction" "$tmp/xstate_bad.o"
expect "xsave outside xstate_hw_* is flagged" 1 "xsave64.*\(in save_elsewhere\)" "$tmp/xstate_bad.o"

# 7. More than 20 offenders: 20 lines are shown, the rest counted.
{
	echo 'void h(void) { __asm__ volatile('
	for _ in $(seq 1 25); do printf '%s\n' '"pxor %xmm0, %xmm0\n"'; done
	echo '); }'
} | build many "${HVFLAGS[@]}"
expect "25 offenders: count reported" 1 ": 25 x87/MMX/SSE/AVX instruction" "$tmp/many.o"
expect "25 offenders: the list stops at 20" 1 "\.\.\. and 5 more" "$tmp/many.o"

# 8. A linked ELF image and an archive.
if gcc -nostdlib -static -no-pie -Wl,-e,sum -Wl,-Ttext=0x100000 -o "$tmp/image.elf" "$tmp/clean.o" "$tmp/names.o" 2>"$tmp/link.err"; then
	expect "linked clean image" 0 "^no-fpu: .*image.elf clean" "$tmp/image.elf"
else
	ko "link image.elf: $(head -n 3 "$tmp/link.err" | tr '\n' ' ')"
fi
if gcc -nostdlib -static -no-pie -Wl,-e,scale -Wl,-Ttext=0x100000 -o "$tmp/bad.elf" "$tmp/clean.o" "$tmp/sse.o" 2>"$tmp/link.err"; then
	expect "linked image with SSE shows the address" 1 "^  10[0-9a-f]{4}: mulsd" "$tmp/bad.elf"
else
	ko "link bad.elf: $(head -n 3 "$tmp/link.err" | tr '\n' ' ')"
fi
ar rc "$tmp/lib.a" "$tmp/clean.o" "$tmp/x87.o"
expect "archive: offender's member is named" 1 "\(in x87\.o:lmul\)" "$tmp/lib.a"

# 9. Bad input.
echo "not an object" >"$tmp/text"
expect "non-ELF input is an error" 2 "objdump failed" "$tmp/text"
expect "missing file is an error" 2 "no such file" "$tmp/nonexistent.o"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
