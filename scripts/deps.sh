#!/usr/bin/env bash
# Install everything the build and the tests need, idempotently.
#   deps.sh [all|packages|bochs|bochs-path]     (default: all)
#  packages:   Debian packages (only those missing are installed).
#  bochs:      Bochs 3.x built from Debian's source package into a cache keyed
#              by version and recipe (~/.cache/hv/bochs-<ver>+<recipe>),
#              reused when present.
#  bochs-path: print the path of that Bochs binary (the Makefile asks).
# newlib is built by scripts/newlib.sh (it needs only newlib-source).
set -euo pipefail

CACHE=${HV_CACHE:-$HOME/.cache/hv}
BOCHS_VER=3.0+dfsg-1
BOCHS_TARBALL=bochs_3.0+dfsg.orig.tar.xz
BOCHS_SHA256=78f6c73d4a6472d5130a87ab9dc306d02c7c71ed8e25b3a8ef642e2a7acd282b
# Bump BOCHS_RECIPE whenever the configure flags or the patches in
# scripts/bochs-patches/ change: it is part of the cache key, so every
# machine rebuilds once.
#   hv2: --disable-show-ips. Bochs' once-a-second SIGALRM "ips =" report logs
#        from the signal handler and takes the log mutex; when the alarm
#        lands while the simulator thread is itself logging (a guest that
#        faults in a loop logs "prefetch: EIP > CS.limit" thousands of times
#        a second) the process deadlocks for good. Seen as a scenario that
#        stops mid-run about once in 30 runs.
#   hv3: scripts/bochs-patches/pkrs-wrmsr-reserved.patch: WRMSR IA32_PKRS
#        with bits 63:32 set raises #GP (SDM vol. 4, IA32_PKRS); Bochs 3.0
#        took the value. Guest PKS passes the MSR through, so the guest's
#        reserved-bit check is the CPU's (tests/selftests-ours/hv_pks_test).
BOCHS_RECIPE=hv3
BOCHS_PATCHES=$(cd "$(dirname "$0")" && pwd)/bochs-patches
BOCHS_PREFIX=$CACHE/bochs-$BOCHS_VER+$BOCHS_RECIPE

PKGS=(grub-pc-bin grub-efi-amd64-bin grub-common xorriso mtools
      qemu-system-x86 ovmf seabios bochsbios vgabios newlib-source
      linux-libc-dev build-essential binutils clang llvm clang-format-14
      libclang-rt-14-dev python3 xz-utils patch debian-archive-keyring ca-certificates)

log() { printf 'deps: %s\n' "$*"; }

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_packages() {
	local missing=()
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		log "Debian packages present"
		return
	fi
	log "installing: ${missing[*]}"
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The archive address the system already uses for bookworm; the private
# trixie source list reuses it, so nothing here names a host.
archive_uri() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' "$f"
	done | head -n1
	if [ -f /etc/apt/sources.list ]; then
		awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list
	fi
	return 0
}

fetch_bochs_source() {
	local dir=$CACHE/apt-trixie
	local tarball=$CACHE/src/$BOCHS_TARBALL
	if [ -f "$tarball" ] && echo "$BOCHS_SHA256  $tarball" | sha256sum -c --quiet - 2>/dev/null; then
		return
	fi
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/parts" "$CACHE/src"
	local uri
	uri=$(archive_uri | sed -n 1p)
	[ -n "$uri" ] || { echo "deps: no Debian archive in the system's apt sources" >&2; exit 1; }
	cat >"$dir/parts/trixie.sources" <<SRC
Types: deb deb-src
URIs: $uri
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	local aptopt=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$dir/parts"
		-o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache" -o APT::Sandbox::User=root)
	log "fetching bochs $BOCHS_VER source"
	apt-get "${aptopt[@]}" update -qq
	# apt may fail on the .dsc (404); the tarball's checksum is what counts.
	(cd "$CACHE/src" && apt-get "${aptopt[@]}" source --download-only "bochs=$BOCHS_VER" >/dev/null 2>&1) || true
	[ -f "$tarball" ] || { echo "deps: $BOCHS_TARBALL was not downloaded" >&2; exit 1; }
	if ! echo "$BOCHS_SHA256  $tarball" | sha256sum -c --quiet -; then
		echo "deps: $BOCHS_TARBALL checksum mismatch; removing it" >&2
		rm -f "$tarball"
		exit 1
	fi
	log "bochs tarball sha256 verified"
}

build_bochs() {
	if [ -x "$BOCHS_PREFIX/bin/bochs" ]; then
		log "bochs $BOCHS_VER cached at $BOCHS_PREFIX"
		return
	fi
	fetch_bochs_source
	local build=$CACHE/build/bochs-$BOCHS_VER
	rm -rf "$build" && mkdir -p "$build"
	tar -C "$build" --strip-components=1 -xf "$CACHE/src/$BOCHS_TARBALL"
	local p
	for p in "$BOCHS_PATCHES"/*.patch; do
		[ -f "$p" ] || continue
		patch -d "$build" -p1 --forward --quiet <"$p" || {
			echo "deps: $p does not apply to bochs $BOCHS_VER" >&2
			exit 1
		}
		log "bochs: applied $(basename "$p")"
	done
	log "building bochs (about 70 s)"
	(cd "$build" && ./configure --prefix="$BOCHS_PREFIX" \
		--enable-x86-64 --enable-vmx=2 --enable-svm --enable-cpu-level=6 \
		--enable-all-optimizations --enable-avx --enable-evex \
		--enable-protection-keys --enable-cet --enable-memtype \
		--enable-long-phy-address --enable-pci --enable-smp \
		--enable-monitor-mwait --enable-debugger --disable-debugger-gui \
		--disable-show-ips --with-nogui >"$build/configure.log" 2>&1 \
		&& make -j"$(nproc)" >"$build/make.log" 2>&1 \
		&& make install >"$build/install.log" 2>&1) || {
		echo "deps: bochs build failed; see $build/*.log" >&2
		exit 1
	}
	rm -rf "$build"
	log "bochs installed at $BOCHS_PREFIX"
}

case "${1:-all}" in
packages) install_packages ;;
bochs) install_packages; build_bochs ;;
bochs-path) echo "$BOCHS_PREFIX/bin/bochs" ;;
all) install_packages; build_bochs ;;
*) echo "usage: $0 [all|packages|bochs|bochs-path]" >&2; exit 2 ;;
esac
