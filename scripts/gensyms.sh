#!/usr/bin/env bash
# gensyms.sh HV.elf > syms.S: the hypervisor's text symbols, sorted by
# address, as the .hvsyms table hv/lib/symbols.c searches. With no argument,
# writes the empty table used by the first link.
set -euo pipefail
echo '	.section .hvsyms, "a"'
echo '	.balign 8'
echo '	.globl hv_symtab, hv_symtab_count'
if [ $# -eq 0 ]; then
	echo 'hv_symtab_count: .quad 0'
	echo 'hv_symtab:'
	exit 0
fi
nm -n --defined-only "$1" | awk '
	$2 ~ /^[tTwW]$/ && $3 !~ /^\./ { addr[n] = $1; name[n] = $3; n++ }
	END {
		printf "hv_symtab_count: .quad %d\nhv_symtab:\n", n
		for (i = 0; i < n; i++) printf "\t.quad 0x%s, .Lname%d\n", addr[i], i
		for (i = 0; i < n; i++) printf ".Lname%d: .asciz \"%s\"\n", i, name[i]
	}'
