#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Build (once) the guest kernel of our own for the real-guest tests that
# Debian's kernel cannot serve: I2C_VIRTIO and GPIO_VIRTIO are not enabled
# there (../shared notes: e2e-kernel.md). Source: Debian's linux-source-6.12
# package; config: `make tinyconfig` + tests/e2e/kernel.config.
#
#   sudo tests/e2e/kernel.sh           # build if missing; print the dir
#   tests/e2e/kernel.sh --path         # print the dir, build nothing
#
# The result lives outside the tree, keyed by the source package version and
# a hash of the fragment and of this script's LAYOUT:
#   $VDM_E2E_CACHE/kernel/<pkgversion>-<hash16>/
#     bzImage vmlinux (PVH-bootable ELF) config release source-version
#     build-time (seconds) modules/*.ko (the kernel's and spi_vdm_loop.ko,
#     the out-of-tree module of spi-loop/, whose source is in the hash)
# A second run finds it and returns in milliseconds. The source tree and
# object dir are kept under $VDM_E2E_CACHE/kernel/work (an incremental
# rebuild after a fragment change takes ~3 min instead of ~4.5).
#
# Environment: VDM_E2E_CACHE (default /var/cache/vdm-e2e), VDM_E2E_JOBS
# (make -j, default 2).

set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
CACHE="${VDM_E2E_CACHE:-/var/cache/vdm-e2e}"
FRAGMENT="$here/kernel.config"
LAYOUT=1
JOBS=${VDM_E2E_JOBS:-2}
APT="$here/../../scripts/apt-retry"
PKG=linux-source-6.12

log() { printf 'kernel: %s\n' "$*" >&2; }
die() {
	printf 'kernel: error: %s\n' "$*" >&2
	exit 1
}

pkgver=$(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null || true)
EXTMOD="$here/spi-loop"
hash=$({
	echo "layout=$LAYOUT"
	cat "$FRAGMENT"
	# the out-of-tree module built with the kernel (its source is the key too)
	for f in "$EXTMOD"/*; do
		echo "${f##*/}"
		cat "$f"
	done
} | sha256sum | cut -c1-16)

if [ "${1:-}" = --path ]; then
	[ -n "$pkgver" ] || die "$PKG is not installed (sudo tests/e2e/kernel.sh)"
	echo "$CACHE/kernel/$pkgver-$hash"
	exit 0
fi

if [ -z "$pkgver" ]; then
	[ "$(id -u)" -eq 0 ] || die "$PKG missing; run as root to install it"
	log "installing $PKG and the build tools"
	"$APT" install -y -qq --no-install-recommends "$PKG" bc bison flex \
		libelf-dev libssl-dev cpio xz-utils build-essential >/dev/null
	pkgver=$(dpkg-query -W -f='${Version}' "$PKG")
fi
out="$CACHE/kernel/$pkgver-$hash"
if [ -f "$out/bzImage" ] && [ -f "$out/build-time" ]; then
	echo "$out"
	exit 0
fi
for t in bc bison flex gcc make cpio; do
	command -v "$t" >/dev/null || die "$t missing (install: bc bison flex libelf-dev libssl-dev build-essential)"
done

mkdir -p "$CACHE/kernel"
exec 8>"$CACHE/kernel/.lock"
flock 8
if [ -f "$out/bzImage" ] && [ -f "$out/build-time" ]; then
	echo "$out"
	exit 0
fi

T0=$(date +%s)
work="$CACHE/kernel/work"
src="$work/src-$pkgver"
obj="$work/obj"
mkdir -p "$work"
if [ ! -f "$src/Makefile" ]; then
	tarball=$(find /usr/src -maxdepth 1 -name "$PKG.tar.xz" | sed -n 1p)
	[ -n "$tarball" ] || die "/usr/src/$PKG.tar.xz missing"
	log "unpacking $tarball"
	rm -rf "$work"/src-* "$obj"
	mkdir -p "$src.tmp"
	tar -xf "$tarball" -C "$src.tmp" --strip-components=1
	mv "$src.tmp" "$src"
fi
mkdir -p "$obj"
log "configuring (tinyconfig + $(basename "$FRAGMENT"))"
make -s -C "$src" O="$obj" tinyconfig >/dev/null
(cd "$obj" && "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$FRAGMENT" >/dev/null)
make -s -C "$src" O="$obj" olddefconfig >/dev/null
# Every =y/=m line of the fragment must have survived (a typo or a missing
# dependency would silently drop it).
missing=""
while IFS= read -r l; do
	case "$l" in CONFIG_*=[ym]) grep -qx "$l" "$obj/.config" || missing+=" $l" ;; esac
done <"$FRAGMENT"
[ -z "$missing" ] || die "options lost in olddefconfig:$missing"
log "building bzImage and modules with -j$JOBS"
make -s -C "$src" O="$obj" -j"$JOBS" bzImage modules >/dev/null
# Our own module (spi-loop/, for spi.sh), against this very object dir:
# built from a copy so that the repository stays clean.
log "building the out-of-tree module $(basename "$EXTMOD")"
rm -rf "$work/ext"
mkdir -p "$work/ext"
cp "$EXTMOD"/* "$work/ext/"
make -s -C "$src" O="$obj" M="$work/ext" -j"$JOBS" modules >/dev/null
secs=$(($(date +%s) - T0))

rm -rf "$out.tmp"
mkdir -p "$out.tmp/modules"
cp "$obj/arch/x86/boot/bzImage" "$out.tmp/bzImage"
cp "$obj/vmlinux" "$out.tmp/vmlinux"
strip --strip-debug "$out.tmp/vmlinux" 2>/dev/null || true
cp "$obj/.config" "$out.tmp/config"
find "$obj" "$work/ext" -name '*.ko' -exec cp {} "$out.tmp/modules/" \;
for f in "$out.tmp"/modules/*.ko; do
	[ -e "$f" ] || continue
	b=${f##*/}
	[ "$b" = "${b//-/_}" ] || mv "$f" "$out.tmp/modules/${b//-/_}"
done
make -s -C "$src" O="$obj" kernelrelease >"$out.tmp/release"
echo "$pkgver" >"$out.tmp/source-version"
echo "$secs" >"$out.tmp/build-time"
rm -rf "$out"
mv "$out.tmp" "$out"
log "built in ${secs} s: $out"
echo "$out"
