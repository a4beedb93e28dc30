#!/usr/bin/env bash
# Build a hybrid (BIOS + UEFI) GRUB ISO that boots the hypervisor.
#   mkiso.sh OUT.iso HV.elf "HV CMDLINE" [MODULE_FILE "MODULE CMDLINE"]...
# GRUB's own menu goes to the serial port (COM1) as well as the screen.
set -euo pipefail
[ $# -ge 3 ] && [ $((($# - 3) % 2)) -eq 0 ] || {
	echo "usage: $0 OUT.iso HV.elf CMDLINE [MODULE MODULE_CMDLINE]..." >&2
	exit 2
}
out=$1 kernel=$2 cmdline=$3
shift 3
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/boot/grub"
cp "$kernel" "$stage/boot/hv.elf"
mods=""
i=0
while [ $# -gt 0 ]; do
	cp "$1" "$stage/boot/mod$i"
	mods+="	module2 /boot/mod$i $2"$'\n'
	i=$((i + 1))
	shift 2
done
cat >"$stage/boot/grub/grub.cfg" <<CFG
serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1
terminal_input serial console
terminal_output serial console
set timeout=0
set default=0
menuentry "hv" {
	multiboot2 /boot/hv.elf $cmdline
$mods	boot
}
CFG
grub-mkrescue -o "$out" "$stage" >"$stage.log" 2>&1 || { cat "$stage.log" >&2; rm -f "$stage.log"; exit 1; }
rm -f "$stage.log"
