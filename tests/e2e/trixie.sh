#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Build (once) a Debian 13 (trixie) chroot holding QEMU 11.1 from
# trixie-backports, for the real-guest tests that need a QEMU newer than the
# host's Debian 12 can run: the vfio-user client (`-device vfio-user-pci,
# socket=...`, tests/e2e/vfio-user.sh) is in QEMU 11.1 only, and that package
# needs a trixie userland (../shared notes: e2e-facts.md). QEMU runs from the
# chroot through tests/e2e/trixie-run (lib.sh: vdm_e2e_use_trixie).
#
#   sudo tests/e2e/trixie.sh           # build if missing; print the dir
#   tests/e2e/trixie.sh --path         # print the dir, build nothing
#
# How: debootstrap --variant=minbase trixie from the mirror this machine's
# apt already uses (the bookworm entry of /etc/apt/sources.list.d/*.sources
# or sources.list), then trixie-backports is added inside and
# `apt-get install --no-install-recommends -t trixie-backports
# qemu-system-x86` runs there; apt's lists and downloaded packages are
# removed afterwards. The QEMU must be 11.1 or newer and list a
# vfio-user-pci device, or the build fails.
#
# The result lives outside the tree, keyed by a hash of LAYOUT, the mirror
# and the package list:
#   $VDM_E2E_CACHE/trixie/<hash16>/
#     root/               the chroot (QEMU: root/usr/bin/qemu-system-x86_64)
#     qemu-version        `qemu-system-x86_64 --version`, first line
#     qemu-package        the qemu-system-x86 package version
#     vfio-user-pci.help  `-device vfio-user-pci,help` (the options)
#     build-time          seconds (debootstrap + apt), size-mb   du of root/
# A second run finds it and returns in milliseconds. Other <hash> dirs are
# removed after a build (stale layouts).
#
# Environment: VDM_E2E_CACHE (default /var/cache/vdm-e2e),
# VDM_E2E_TRIXIE_MIRROR (a Debian mirror URI instead of the machine's),
# VDM_E2E_TRIXIE_QEMU=VERSION (install that exact qemu-system-x86 version),
# VDM_E2E_FORCE=1 (rebuild).

set -euo pipefail

CACHE="${VDM_E2E_CACHE:-/var/cache/vdm-e2e}"
# Bump when the way the chroot is built changes.
LAYOUT=1
SUITE=trixie
PACKAGES="qemu-system-x86"
QEMU_MIN_MAJOR=11
QEMU_MIN_MINOR=1
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

log() { printf 'trixie: %s\n' "$*" >&2; }
die() {
	printf 'trixie: error: %s\n' "$*" >&2
	exit 1
}

# The URI of the machine's main Debian suite (deb822 sources first, then the
# one-line format); deb.debian.org when there is none.
host_mirror() {
	local f uri=""
	for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		uri=$(awk '
			function flush() {
				if (types ~ /(^|[ \t])deb([ \t]|$)/ && (" " suites " ") ~ / (bookworm|trixie) / && uri == "")
					uri = uris
				types = ""; suites = ""; uris = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			{
				field = tolower($0); sub(/:.*/, "", field)
				val = $0; sub(/^[^:]*:[ \t]*/, "", val)
				if (field == "types") types = val
				else if (field == "suites") suites = val
				else if (field == "uris") { split(val, u, /[ \t]+/); uris = u[1] }
			}
			END { flush(); if (uri != "") print uri }' "$f")
		[ -n "$uri" ] && break
	done
	if [ -z "$uri" ]; then
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] || continue
			uri=$(awk '/^[ \t]*#/ { next }
				$1 == "deb" {
					i = 2
					if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
					if ($(i + 1) ~ /^(bookworm|trixie)$/) { print $i; exit }
				}' "$f")
			[ -n "$uri" ] && break
		done
	fi
	printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

MIRROR=${VDM_E2E_TRIXIE_MIRROR:-$(host_mirror)}
hash=$(printf 'layout=%s suite=%s mirror=%s packages=%s qemu=%s\n' "$LAYOUT" "$SUITE" \
	"$MIRROR" "$PACKAGES" "${VDM_E2E_TRIXIE_QEMU:-newest}" | sha256sum | cut -c1-16)
out="$CACHE/trixie/$hash"

complete() { [ -x "$out/root/usr/bin/qemu-system-x86_64" ] && [ -f "$out/build-time" ]; }

if [ "${1:-}" = --path ]; then
	echo "$out"
	exit 0
fi
[ $# -eq 0 ] || die "usage: $0 [--path]"

if [ "${VDM_E2E_FORCE:-0}" != 1 ] && complete; then
	echo "$out"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || die "the trixie chroot $out is missing; run as root to build it (sudo $0)"
command -v debootstrap >/dev/null || die "debootstrap missing (sudo tests/e2e/setup.sh installs it)"
[ -f /usr/share/debootstrap/scripts/$SUITE ] || die "this debootstrap has no $SUITE script (want >= 1.0.128)"
[ -f "$KEYRING" ] || die "$KEYRING missing (debian-archive-keyring)"

mkdir -p "$CACHE/trixie"
exec 8>"$CACHE/trixie/.lock"
flock 8
if [ "${VDM_E2E_FORCE:-0}" != 1 ] && complete; then
	echo "$out"
	exit 0
fi

tmp="$out.tmp"
# A build interrupted with the chroot's /proc or /dev mounted must not make
# rm -rf walk into the host's.
unmount_all() {
	local m
	for m in dev/pts dev proc sys; do
		if mountpoint -q "$tmp/root/$m" 2>/dev/null; then umount -l "$tmp/root/$m" || true; fi
	done
}
unmount_all
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'unmount_all; rm -rf "$tmp"' EXIT

export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
T0=$(date +%s)
log "debootstrap --variant=minbase $SUITE from $MIRROR"
if ! debootstrap --variant=minbase --keyring="$KEYRING" "$SUITE" "$tmp/root" "$MIRROR" \
	>"$tmp/debootstrap.log" 2>&1; then
	tail -n 30 "$tmp/debootstrap.log" | sed 's/^/  | /' >&2
	[ ! -f "$tmp/root/debootstrap/debootstrap.log" ] ||
		tail -n 30 "$tmp/root/debootstrap/debootstrap.log" | sed 's/^/  | /' >&2
	die "debootstrap failed"
fi
T1=$(date +%s)

root="$tmp/root"
# deb822 sources: the suite, its updates and backports, same mirror.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
# Written by vdm tests/e2e/trixie.sh
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates $SUITE-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cat >"$root/etc/apt/apt.conf.d/90vdm" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
# No daemons start inside the chroot during the install.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mount -t proc proc "$root/proc"

in_root() { chroot "$root" "$@"; }
# apt-get inside, retried like scripts/apt-retry (mirror hiccups).
apt_in_root() {
	local i
	for i in 1 2 3; do
		in_root apt-get -q -y "$@" >>"$tmp/apt.log" 2>&1 && return 0
		[ "$i" -lt 3 ] || break
		log "apt-get $1 failed, retry $i/2 in 20 s"
		sleep 20
	done
	tail -n 30 "$tmp/apt.log" | sed 's/^/  | /' >&2
	die "apt-get $* failed inside the chroot"
}
log "apt-get update; install $PACKAGES from $SUITE-backports"
apt_in_root update
want=$PACKAGES
[ -z "${VDM_E2E_TRIXIE_QEMU:-}" ] || want="qemu-system-x86=$VDM_E2E_TRIXIE_QEMU"
# shellcheck disable=SC2086 # package list
apt_in_root install -t "$SUITE-backports" $want
in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
rm -f "$root/usr/sbin/policy-rc.d"
T2=$(date +%s)

# Check the result: QEMU >= 11.1, and it has the vfio-user client device.
qv=$(in_root qemu-system-x86_64 --version | sed -n 1p)
# shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
pkgv=$(in_root dpkg-query -W -f='${Version}' qemu-system-x86)
major=$(sed -n 's/.*version \([0-9]*\)\.\([0-9]*\).*/\1/p' <<<"$qv")
minor=$(sed -n 's/.*version \([0-9]*\)\.\([0-9]*\).*/\2/p' <<<"$qv")
[ -n "$major" ] || die "cannot read the QEMU version: $qv"
if [ "$major" -lt "$QEMU_MIN_MAJOR" ] ||
	{ [ "$major" -eq "$QEMU_MIN_MAJOR" ] && [ "$minor" -lt "$QEMU_MIN_MINOR" ]; }; then
	die "$SUITE-backports gave $qv ($pkgv); want >= $QEMU_MIN_MAJOR.$QEMU_MIN_MINOR"
fi
in_root qemu-system-x86_64 -device vfio-user-pci,help >"$tmp/vfio-user-pci.help" 2>&1 ||
	die "qemu-system-x86_64 $pkgv has no vfio-user-pci device: $(head -3 "$tmp/vfio-user-pci.help")"
grep -q 'socket=' "$tmp/vfio-user-pci.help" ||
	die "vfio-user-pci has no socket option: $(cat "$tmp/vfio-user-pci.help")"
umount "$root/proc"

secs=$((T2 - T0))
size=$(du -sm "$root" | cut -f1)
echo "$qv" >"$tmp/qemu-version"
echo "$pkgv" >"$tmp/qemu-package"
echo "$secs" >"$tmp/build-time"
echo "$size" >"$tmp/size-mb"
printf 'debootstrap %s s, apt %s s, %s packages\n' "$((T1 - T0))" "$((T2 - T1))" \
	"$(in_root dpkg-query -W -f='.\n' | wc -l)" >"$tmp/build-detail"
rm -f "$tmp/debootstrap.log" "$tmp/apt.log"
trap - EXIT
rm -rf "$out"
mv "$tmp" "$out"
# Stale chroots of other layouts, mirrors or pins.
for d in "$CACHE"/trixie/*; do
	[ "$d" = "$out" ] || [ ! -d "$d" ] || rm -rf "$d"
done
log "built in ${secs} s ($(cat "$out/build-detail")), ${size} MB: $qv ($pkgv)"
echo "$out"
