#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check-no-fpu.sh IMAGE
#
# Fail if the ELF image (an executable, object or archive) contains any
# instruction that touches x87, MMX, SSE, AVX, AVX-512 or AMX state. The
# hypervisor never saves or restores that state around VM exits, so it must
# not use it (it is built with -mgeneral-regs-only; this checks the result,
# hand-written assembly and libraries included).
#
# Flagged: any x87/MMX/SSE/AVX/AVX-512/AMX register operand (%st, %st(N),
# %mmN, %xmmN, %ymmN, %zmmN, %kN, %tmmN); every mnemonic beginning with 'f'
# (x87, fwait, fxsave/fxrstor, femms: no other x86 mnemonic starts with 'f');
# emms; ldmxcsr/stmxcsr and their v-forms; xsave*/xrstor*; vzeroupper and
# vzeroall; AMX tile configuration. Not flagged, as they leave that state
# alone: VMX/SVM instructions (vmread, vmlaunch, vmrun, ...), verr/verw,
# xgetbv/xsetbv, fences, prefetches, movnti, crc32, popcnt.
#
# objdump decodes every code section as 64-bit, .code32 boot code included;
# that code then reads as slightly different instructions (no false
# positive seen on a typical multiboot2 trampoline, but keep it small).
#
# One exception: functions whose names begin with xstate_hw_ (vmx/xstate.c)
# may use the state-moving instructions fxsave/fxrstor/xsave/xrstor (and
# their 64-bit forms), which save and restore a guest's state without
# computing with it. Anything else in them is flagged as usual.
#
# Exit status: 0 clean, 1 offending instructions found, 2 usage or objdump
# error. On success prints one line:
#   no-fpu: IMAGE clean (N instructions checked)
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 IMAGE" >&2
	exit 2
fi
image=$1
[ -f "$image" ] || { echo "no-fpu: $image: no such file" >&2; exit 2; }

dis=$(mktemp)
trap 'rm -f "$dis" "$dis.err"' EXIT
# AT&T syntax, no raw bytes (so no continuation lines), one line each.
if ! LC_ALL=C objdump -d -w -M att --no-show-raw-insn "$image" >"$dis" 2>"$dis.err"; then
	echo "no-fpu: objdump failed on $image:" >&2
	cat "$dis.err" >&2
	exit 2
fi

LC_ALL=C awk -v image="$image" '
# "foo.o:     file format elf64-x86-64" starts an archive member.
/^[^ \t].*:[ \t]+file format / {
	member = $1
	sub(/:$/, "", member)
	nmembers++
	next
}
# "0000000000101000 <name>:" starts a function; remember it for the report.
/^[0-9a-f]+ <.*>:$/ {
	fn = $0
	sub(/^[0-9a-f]+ </, "", fn)
	sub(/>:$/, "", fn)
	next
}
# Instruction lines: "  101004:<TAB>mnemonic operands  # comment <sym>".
/^ *[0-9a-f]+:\t/ {
	addr = $0
	sub(/:\t.*/, "", addr)
	gsub(/ /, "", addr)
	insn = $0
	sub(/^ *[0-9a-f]+:\t/, "", insn)
	# Drop what objdump adds after the instruction: symbolic targets
	# "<name+0x10>" and "# address <name>" comments. Symbol names are
	# never inspected, so a function called fld_table or format_x cannot
	# trip the check.
	text = insn
	gsub(/<[^>]*>/, "", text)
	sub(/#.*/, "", text)
	if (text ~ /^[ \t]*$/)
		next
	n++
	# The mnemonic is the first word that is not a prefix.
	nw = split(text, w, /[ \t]+/)
	mn = ""
	for (i = 1; i <= nw; i++) {
		if (w[i] == "")
			continue
		if (w[i] ~ /^(lock|rep|repz|repe|repnz|repne|data16|data32|addr16|addr32|cs|ds|es|fs|gs|ss|notrack|bnd|xacquire|xrelease|rex|rex64|rex\.[WRXB]+|\{[a-z0-9]+\})$/)
			continue
		mn = w[i]
		break
	}
	ops = ""
	for (i = i + 1; i <= nw; i++)
		ops = ops " " w[i]
	bad = 0
	if (fn ~ /^xstate_hw_/ && mn ~ /^(fxsave|fxrstor|xsave|xrstor)(64)?$/)
		bad = 0		# the guest-state save/restore functions
	else if (mn ~ /^f/)
		bad = 1		# x87, fwait, fxsave, fxrstor, femms
	else if (mn ~ /^(emms|vzeroupper|vzeroall|ldtilecfg|sttilecfg|tilerelease|tilezero)$/)
		bad = 1
	else if (mn ~ /mxcsr$/ || mn ~ /^(xsave|xrstor)/)
		bad = 1		# [v]ldmxcsr [v]stmxcsr xsave* xrstor*
	else if (ops ~ /%[xyz]mm[0-9]|%mm[0-7]|%tmm[0-7]|%st([^a-z0-9]|$)|%k[0-7]([^0-9]|$)/)
		bad = 1		# vector, MMX, x87, opmask or tile register operand
	if (bad) {
		nbad++
		if (nbad <= 20) {
			gsub(/[ \t]+/, " ", insn)
			sub(/ +$/, "", insn)
			where[nbad] = (nmembers > 1 ? member ":" : "") fn
			shown[nbad] = sprintf("  %s: %s", addr, insn)
		}
	}
}
END {
	if (n == 0) {
		printf "no-fpu: %s: no instructions found\n", image > "/dev/stderr"
		exit 2
	}
	if (nbad > 0) {
		printf "no-fpu: %s: %d x87/MMX/SSE/AVX instruction(s) in %d checked:\n", image, nbad, n > "/dev/stderr"
		for (i = 1; i <= nbad && i <= 20; i++)
			printf "%s   (in %s)\n", shown[i], where[i] > "/dev/stderr"
		if (nbad > 20)
			printf "  ... and %d more\n", nbad - 20 > "/dev/stderr"
		exit 1
	}
	printf "no-fpu: %s clean (%d instructions checked)\n", image, n
}
' "$dis"
