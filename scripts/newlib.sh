#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build newlib's libc for the freestanding x86-64 hypervisor, from Debian's
# newlib-source package, into a cache keyed by version and build revision:
#
#   ${HV_CACHE:-~/.cache/hv}/newlib-3.3.0-v2/include/   all newlib headers
#   ${HV_CACHE:-~/.cache/hv}/newlib-3.3.0-v2/lib/libc.a
#
# Idempotent: when lib/libc.a is already there it only says so. The build
# runs in a scratch directory under the cache and installs into a staging
# prefix that is renamed into place at the end, so an interrupted build never
# leaves a half-filled cache. Bump NEWLIB_REV whenever the flags, the
# configure options or the source edits below change.
set -euo pipefail

NEWLIB_VER=3.3.0
NEWLIB_REV=v2
TARBALL=/usr/src/newlib/newlib-$NEWLIB_VER.tar.xz
CACHE=${HV_CACHE:-$HOME/.cache/hv}
NAME=newlib-$NEWLIB_VER-$NEWLIB_REV
PREFIX=$CACHE/$NAME
work=$CACHE/$NAME.build # scratch dir, see below
TARGET=x86_64-elf

# The hypervisor's own code-generation flags. -mgeneral-regs-only keeps every
# x87/MMX/SSE/AVX instruction out of libc, so the guest's FPU/vector state
# survives a VM exit untouched (the hypervisor never saves or restores it).
TARGET_CFLAGS="-O2 -g -ffreestanding -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only -fno-stack-protector -fno-omit-frame-pointer -mcmodel=small"
# For x86_64-elf, configure.host falls into its default case, which adds
# -DMISSING_SYSCALL_NAMES: libc's reentrant wrappers would then call the
# plain names write, sbrk, fstat, ... Undoing it (the -U comes after the -D
# on newlib's command lines) makes them call _write, _sbrk, _fstat, ... as
# hv/lib/libc_glue.c provides, keeping open/close/read/write/kill/stat free for
# the hypervisor's own use. _exit is called _exit either way.
# -Wa,--noexecstack marks the assembly files (memcpy.S, memset.S, setjmp.S)
# as not needing an executable stack, as the C files already are; without
# it every link that pulls them in warns about an executable stack.
# The -ffile-prefix-map options keep the scratch paths out of debug info
# and __FILE__ strings (assert messages), so libc.a comes out byte for byte
# the same whatever HV_CACHE is.
NEWLIB_CFLAGS="$TARGET_CFLAGS -UMISSING_SYSCALL_NAMES -Wa,--noexecstack"
NEWLIB_CFLAGS+=" -ffile-prefix-map=$work/src=newlib-$NEWLIB_VER -ffile-prefix-map=$work/obj=newlib-build"

log() { printf 'newlib: %s\n' "$*"; }
die() { printf 'newlib: %s\n' "$*" >&2; exit 1; }

if [ -f "$PREFIX/lib/libc.a" ]; then
	log "cached at $PREFIX"
	exit 0
fi

[ -f "$TARBALL" ] || die "$TARBALL not found (install newlib-source, see scripts/deps.sh)"
for tool in gcc ar as ld nm objdump objcopy ranlib readelf strip make tar flock; do
	command -v "$tool" >/dev/null || die "host tool '$tool' not found (see scripts/deps.sh)"
done

mkdir -p "$CACHE"
# Two builds started at once (parallel make) must not share a scratch dir:
# the second waits, then finds the cache filled.
exec 9>"$CACHE/$NAME.lock"
flock 9
if [ -f "$PREFIX/lib/libc.a" ]; then
	log "cached at $PREFIX"
	exit 0
fi

# Scratch layout: src/ (unpacked tarball), obj/ (build tree), bin/ (tool
# wrappers), stage/ (install prefix, renamed to $PREFIX on success).
# A leftover from an interrupted or failed run is simply wiped here.
rm -rf "$work"
mkdir -p "$work/src" "$work/obj" "$work/bin" "$work/stage"
buildlog=$work/build.log
: >"$buildlog"

# On failure: the end of the log without the (very long) compiler command
# lines, which the full log keeps; the scratch dir stays for inspection.
fail() {
	printf 'newlib: %s failed; end of %s:\n' "$1" "$buildlog" >&2
	grep -v "^$TARGET-gcc " "$buildlog" | tail -n 20 | cut -c1-300 >&2
	exit 1
}

# x86_64-elf-* wrappers around the host tools: newlib's build system looks
# for target-prefixed tools. The host gcc and binutils already produce
# x86-64 ELF code; the freestanding flags come with CFLAGS_FOR_TARGET.
for tool in gcc cc ar as ld nm objdump objcopy ranlib readelf strip; do
	host=$tool
	[ "$tool" = cc ] && host=gcc
	printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v "$host")" >"$work/bin/$TARGET-$tool"
	chmod +x "$work/bin/$TARGET-$tool"
done
export PATH=$work/bin:$PATH

tar -C "$work/src" --strip-components=1 -xf "$TARBALL"
src=$work/src
[ -d "$src/newlib/libc/stdlib" ] || die "unexpected layout in $TARBALL"

# These sources take, return or compute floating-point values, which GCC
# refuses under -mgeneral-regs-only ("SSE register return with SSE
# disabled"); the list was found with make -k over the whole of libc:
#   stdlib: strtod.c wcstod.c (strtod/strtof, wcstod/wcstof), atof.c atoff.c,
#           dtoa.c mprec.c __adjust.c __exp10.c __ten_mu.c (their helpers),
#           ecvtbuf.c efgcvt.c (ecvt fcvt gcvt ecvtbuf fcvtbuf),
#           drand48.c erand48.c
#   time:   difftime.c
# The hypervisor needs none of them, and printf/scanf are built without
# float support (--disable-newlib-io-float), so no other part of libc calls
# them. Each is replaced by an empty translation unit before configuring,
# which leaves the makefiles untouched and the result the same every time;
# code that still calls one of these functions fails at link time with an
# undefined reference, never silently. libm is not built at all (see below).
EMPTIED="stdlib/strtod.c stdlib/wcstod.c stdlib/atof.c stdlib/atoff.c
	stdlib/dtoa.c stdlib/mprec.c stdlib/__adjust.c stdlib/__exp10.c
	stdlib/__ten_mu.c stdlib/ecvtbuf.c stdlib/efgcvt.c stdlib/drand48.c
	stdlib/erand48.c time/difftime.c"
for f in $EMPTIED; do
	[ -f "$src/newlib/libc/$f" ] || die "expected source libc/$f is missing"
	printf '/* Emptied by scripts/newlib.sh: floating point, not buildable with -mgeneral-regs-only. */\n' \
		>"$src/newlib/libc/$f"
done

# Configure options beyond the usual: no syscall stubs from newlib (they
# come from hv/lib/libc_glue.c), no floating point in printf/scanf, the small
# reentrancy structure, and the full integer printf with the ll, z, j, t
# and hh length modifiers. (The "nano" printf knows only h, l and L: it
# prints "%llx" literally without consuming the argument, shifting every
# later one; a later %s may then fault. It saves only ~26 KB.)
log "configuring"
(cd "$work/obj" && "$src/configure" \
	--target=$TARGET \
	--prefix="$work/stage" \
	--disable-multilib \
	--disable-nls \
	--disable-newlib-supplied-syscalls \
	--disable-newlib-io-float \
	--enable-newlib-io-long-long \
	--enable-newlib-io-c99-formats \
	--disable-newlib-io-long-double \
	--enable-newlib-reent-small \
	CC_FOR_TARGET=$TARGET-gcc \
	AR_FOR_TARGET=$TARGET-ar \
	AS_FOR_TARGET=$TARGET-as \
	LD_FOR_TARGET=$TARGET-ld \
	NM_FOR_TARGET=$TARGET-nm \
	OBJDUMP_FOR_TARGET=$TARGET-objdump \
	OBJCOPY_FOR_TARGET=$TARGET-objcopy \
	RANLIB_FOR_TARGET=$TARGET-ranlib \
	READELF_FOR_TARGET=$TARGET-readelf \
	STRIP_FOR_TARGET=$TARGET-strip \
	CFLAGS_FOR_TARGET="$NEWLIB_CFLAGS" \
	&& make configure-target-newlib) >>"$buildlog" 2>&1 || fail "configure"

# Build only libc. newlib's top-level "all" also builds libm (which, like the
# files above, cannot be compiled without SSE) and then merges a few libm
# objects (frexp, ldexp, isnan, ...) into its final libc.a. libc/libc.a is
# the library proper, without those float helpers. AR_FLAGS is what the
# parent makefile would hand down when it recurses into libc.
log "building"
nl=$work/obj/$TARGET/newlib
(make -C "$nl" -j"$(nproc)" stmp-targ-include \
	&& make -C "$nl/libc" -j"$(nproc)" AR_FLAGS=rc) >>"$buildlog" 2>&1 || fail "build"
[ -f "$nl/libc/libc.a" ] || fail "build (no libc.a)"

# Install the way newlib's own install-data-local does for this target: the
# generic headers, then the two generated by configure (the source tree only
# holds placeholders of newlib.h and _newlib_version.h). x86_64-elf has no
# sys_dir and libc/machine/x86_64 ships no headers, so nothing else applies.
stage=$work/stage
mkdir -p "$stage/include" "$stage/lib"
(cd "$src/newlib/libc/include" && find . -name '*.h' -print0 |
	xargs -0 cp --parents -t "$stage/include") >>"$buildlog" 2>&1 || fail "install"
cp "$nl/newlib.h" "$nl/_newlib_version.h" "$stage/include/" || fail "install"
cp "$nl/libc/libc.a" "$stage/lib/libc.a" || fail "install"
ranlib "$stage/lib/libc.a"

rm -rf "$PREFIX" # only ever a stray non-cache dir: a complete one exits above
mv -T "$stage" "$PREFIX"
rm -rf "$work"
log "installed at $PREFIX"
