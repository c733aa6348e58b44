#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Build (once) the arm64 guest kernel for the SCMI real-guest test
# (tests/e2e/scmi.sh): SCMI over virtio exists only on arm64 and attaches
# through a device-tree node (../shared notes: e2e-kernel.md). Source:
# Debian's linux-source-6.12 package, cross-compiled with
# gcc-aarch64-linux-gnu; config: `make ARCH=arm64 tinyconfig` +
# tests/e2e/kernel-arm64.config. The x86 kernel (kernel.sh) and its object
# dir are not touched.
#
#   sudo tests/e2e/kernel-arm64.sh      # build if missing; print the dir
#   tests/e2e/kernel-arm64.sh --path    # print the dir, build nothing
#
# The result lives outside the tree, keyed by the source package version and
# a hash of the fragment and of this script's LAYOUT:
#   $VDM_E2E_CACHE/kernel-arm64/<pkgversion>-<hash16>/
#     Image config release source-version build-time (seconds)
# A second run finds it and returns in milliseconds. The source tree and the
# object dir stay under $VDM_E2E_CACHE/kernel-arm64/work (an incremental
# rebuild after a fragment change is much faster than a clean one).
#
# Environment: VDM_E2E_CACHE (default /var/cache/vdm-e2e), VDM_E2E_JOBS
# (make -j, default 2).

set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
CACHE="${VDM_E2E_CACHE:-/var/cache/vdm-e2e}"
FRAGMENT="$here/kernel-arm64.config"
LAYOUT=1
JOBS=${VDM_E2E_JOBS:-2}
APT="$here/../../scripts/apt-retry"
PKG=linux-source-6.12
CROSS=aarch64-linux-gnu-
KMAKE=(make -s ARCH=arm64 CROSS_COMPILE="$CROSS")

log() { printf 'kernel-arm64: %s\n' "$*" >&2; }
die() {
	printf 'kernel-arm64: error: %s\n' "$*" >&2
	exit 1
}

pkgver=$(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null || true)
hash=$({
	echo "layout=$LAYOUT arch=arm64"
	cat "$FRAGMENT"
} | sha256sum | cut -c1-16)

if [ "${1:-}" = --path ]; then
	[ -n "$pkgver" ] || die "$PKG is not installed (sudo tests/e2e/kernel-arm64.sh)"
	echo "$CACHE/kernel-arm64/$pkgver-$hash"
	exit 0
fi

need=()
[ -n "$pkgver" ] || need+=("$PKG")
command -v "${CROSS}gcc" >/dev/null || need+=(gcc-aarch64-linux-gnu)
for t in bc bison flex make cpio; do
	command -v "$t" >/dev/null || need+=("$t")
done
if [ ${#need[@]} -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || die "missing: ${need[*]}; run as root to install them"
	log "installing ${need[*]} and the build tools"
	export DEBIAN_FRONTEND=noninteractive
	"$APT" install -y -qq --no-install-recommends "$PKG" gcc-aarch64-linux-gnu \
		binutils-aarch64-linux-gnu bc bison flex libelf-dev libssl-dev cpio \
		xz-utils build-essential >/dev/null
	pkgver=$(dpkg-query -W -f='${Version}' "$PKG")
fi
out="$CACHE/kernel-arm64/$pkgver-$hash"
if [ -f "$out/Image" ] && [ -f "$out/build-time" ]; then
	echo "$out"
	exit 0
fi

mkdir -p "$CACHE/kernel-arm64"
exec 8>"$CACHE/kernel-arm64/.lock"
flock 8
if [ -f "$out/Image" ] && [ -f "$out/build-time" ]; then
	echo "$out"
	exit 0
fi

T0=$(date +%s)
work="$CACHE/kernel-arm64/work"
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
log "configuring (arm64 tinyconfig + $(basename "$FRAGMENT"))"
"${KMAKE[@]}" -C "$src" O="$obj" tinyconfig >/dev/null
(cd "$obj" && ARCH=arm64 "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$FRAGMENT" >/dev/null)
"${KMAKE[@]}" -C "$src" O="$obj" olddefconfig >/dev/null
# Every =y line of the fragment must have survived (a typo or a missing
# dependency would silently drop it), and every "is not set" stay unset.
missing=""
while IFS= read -r l; do
	case "$l" in
	CONFIG_*=[ym]) grep -qx "$l" "$obj/.config" || missing+=" $l" ;;
	'# CONFIG_'*' is not set')
		o=${l#\# }
		o=${o%% *}
		if grep -q "^$o=" "$obj/.config"; then missing+=" $o(unset)"; fi
		;;
	esac
done <"$FRAGMENT"
[ -z "$missing" ] || die "options lost in olddefconfig:$missing"
log "building Image with -j$JOBS"
"${KMAKE[@]}" -C "$src" O="$obj" -j"$JOBS" Image >/dev/null
secs=$(($(date +%s) - T0))

rm -rf "$out.tmp"
mkdir -p "$out.tmp"
cp "$obj/arch/arm64/boot/Image" "$out.tmp/Image"
cp "$obj/.config" "$out.tmp/config"
"${KMAKE[@]}" -C "$src" O="$obj" kernelrelease >"$out.tmp/release"
echo "$pkgver" >"$out.tmp/source-version"
echo "$secs" >"$out.tmp/build-time"
rm -rf "$out"
mv "$out.tmp" "$out"
log "built in ${secs} s: $out"
echo "$out"
