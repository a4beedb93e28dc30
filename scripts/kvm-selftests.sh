#!/usr/bin/env bash
# Build Linux 6.1's own KVM selftests from Debian's linux-source-6.1, cached.
#   kvm-selftests.sh [build|path]     (default: build)
#  build: download linux-source-6.1 with apt-get, unpack only what the
#         selftests need, `make ARCH=x86_64 headers`, build the tests named in
#         tests/selftests.list with gcc; print the directory holding them.
#         The project's own tests written against the selftests' library
#         (tests/selftests-ours/x86_64/hv_*.c) are copied into the tree's
#         x86_64/ first and built the same way (the list names them too).
#  path:  print that directory (nothing is built or checked).
# The cache is ${HV_CACHE:-~/.cache/hv}/kvm-selftests-<package version>,
# reused when the build there is complete for the same list of tests: a
# second run only prints the path. KSELFTEST_VER picks another version of
# the package (the default is the one this was written against).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${HV_CACHE:-$HOME/.cache/hv}
PKG=linux-source-6.1
VER=${KSELFTEST_VER:-6.1.192-3}
PREFIX=$CACHE/kvm-selftests-$VER
SRC=$PREFIX/$PKG
KVMDIR=$SRC/tools/testing/selftests/kvm
LIST=$ROOT/tests/selftests.list
OURS=$ROOT/tests/selftests-ours
STAMP=$PREFIX/built.list

log() { printf 'kvm-selftests: %s\n' "$*" >&2; }
die() { printf 'kvm-selftests: %s\n' "$*" >&2; exit 1; }

# The tests, one per line in tests/selftests.list (a '#' starts a comment),
# as the selftests' Makefile names them: x86_64/NAME or a top-level NAME.
# A line NAME@PLATFORM runs NAME on another platform: one program either way.
tests_list() {
	[ -f "$LIST" ] || die "no $LIST"
	sed -e 's/#.*//' -e 's/@.*//' -e 's/[[:space:]]*$//' -e 's/^[[:space:]]*//' "$LIST" |
		grep -v '^$' | awk '!seen[$0]++'
}

# Our own sources, copied into the tree; their digest is part of the stamp.
ours_digest() {
	cat "$OURS"/x86_64/hv_*.c 2>/dev/null | sha256sum | cut -c1-16
}

# Only these parts of the tarball are needed (../shared/platform-notes.md).
MEMBERS=(tools include/uapi arch/x86/include arch/x86/tools arch/x86/entry/syscalls
	 scripts Makefile Kbuild Kconfig usr arch/x86/Makefile arch/x86/Kbuild arch/x86/Kconfig)

unpack_source() {
	[ -f "$SRC/.unpacked" ] && return
	local dl=$PREFIX/dl
	rm -rf "$dl" "$SRC" && mkdir -p "$dl"
	log "downloading $PKG=$VER from Debian's archive"
	(cd "$dl" && apt-get download "$PKG=$VER" >"$dl/apt.log" 2>&1) ||
		die "apt-get download $PKG=$VER failed: $(grep -m1 '^E:' "$dl/apt.log" || tail -n1 "$dl/apt.log")
  (whole output in $dl/apt.log; apt-cache policy $PKG lists the versions, KSELFTEST_VER=... picks one)"
	local debs=("$dl/${PKG}_"*.deb)
	local deb=${debs[0]}
	[ -f "$deb" ] || die "apt-get download left no .deb in $dl"
	dpkg-deb -x "$deb" "$dl/root" || die "dpkg-deb -x $deb failed"
	local tarball=$dl/root/usr/src/$PKG.tar.xz
	[ -f "$tarball" ] || die "$deb holds no usr/src/$PKG.tar.xz"
	log "unpacking the parts the selftests need"
	tar -C "$PREFIX" -xJf "$tarball" "${MEMBERS[@]/#/$PKG/}" ||
		die "tar could not unpack ${MEMBERS[*]} from $tarball"
	rm -rf "$dl"
	touch "$SRC/.unpacked"
}

build() {
	local want
	want=$(tests_list | tr '\n' ' ' | sed 's/ $//')
	[ -n "$want" ] || die "$LIST names no test"
	local stamp
	stamp="$want ours:$(ours_digest)"
	if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$stamp" ]; then
		echo "$KVMDIR"
		return
	fi
	command -v gcc >/dev/null || die "gcc is missing (scripts/deps.sh packages installs it)"
	mkdir -p "$PREFIX"
	unpack_source
	if [ ! -f "$SRC/.headers" ]; then
		log "make ARCH=x86_64 headers"
		make -C "$SRC" ARCH=x86_64 headers >"$PREFIX/headers.log" 2>&1 ||
			die "make headers failed; see $PREFIX/headers.log"
		touch "$SRC/.headers"
	fi
	log "building $(echo "$want" | wc -w) tests with gcc"
	rm -f "$STAMP"
	local f
	for f in "$OURS"/x86_64/hv_*.c; do
		[ -f "$f" ] && cp "$f" "$KVMDIR/x86_64/"
	done
	# A program the list no longer names stays from an earlier build; the
	# runner only looks for the listed ones. OUTPUT is given: the selftests'
	# lib.mk derives it from the directory only at MAKELEVEL 0, and under
	# `make test` it would be empty (programs and objects written to /).
	make -C "$KVMDIR" -j"$(nproc)" ARCH=x86_64 CC=gcc OUTPUT="$KVMDIR" \
		TEST_GEN_PROGS_x86_64="$want" TEST_GEN_PROGS_EXTENDED_x86_64= \
		TEST_PROGS_x86_64= all >"$PREFIX/build.log" 2>&1 ||
		die "building the selftests failed; see $PREFIX/build.log"
	local t missing=()
	for t in $want; do [ -x "$KVMDIR/$t" ] || missing+=("$t"); done
	[ ${#missing[@]} -eq 0 ] || die "not built: ${missing[*]} (see $PREFIX/build.log)"
	echo "$stamp" >"$STAMP"
	log "built in $KVMDIR"
	echo "$KVMDIR"
}

case "${1:-build}" in
build)
	mkdir -p "$CACHE"
	# Two builds at once (two checkouts, one cache) take turns.
	exec 9>"$PREFIX.lock"
	flock 9
	build
	;;
path) echo "$KVMDIR" ;;
*) echo "usage: $0 [build|path]" >&2; exit 2 ;;
esac
