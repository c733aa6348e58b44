#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Prepare a Debian 12 (bookworm) machine for the real-guest e2e tests.
#
#   sudo tests/e2e/setup.sh          # idempotent; re-running is cheap
#
# What it does:
#   1. adds bookworm-backports to apt (scripts/apt-backports: same mirror as the existing sources),
#      file /etc/apt/sources.list.d/vdm-backports.sources;
#   2. installs QEMU 10 (qemu-system-x86, qemu-utils) from backports plus
#      busybox-static, cpio, xz-utils, kmod, and e2fsprogs (the host reads
#      the guest's file systems back with debugfs: tests/e2e/blk.sh);
#   3. downloads (does NOT install) the pinned backports Linux image
#      package (KERNEL_PACKAGE=KERNEL_VERSION below), and fills the cache
#      dir with vmlinuz and the needed modules decompressed, plus a
#      dependency file and a load order;
#   4. builds the guest kernel of our own once (kernel.sh: Debian's has no
#      I2C_VIRTIO / GPIO_VIRTIO), cached outside the tree (i2c.sh, gpio.sh);
#   5. for the arm64 guest (scmi.sh): qemu-system-arm from backports,
#      device-tree-compiler, Debian's busybox-static:arm64 (apt-get download
#      after `dpkg --add-architecture arm64`, unpacked into arm64/, never
#      installed) and the arm64 kernel of our own (kernel-arm64.sh);
#   6. for the vfio-user tests (vfio-user.sh): debootstrap, and the Debian 13
#      chroot with QEMU 11.1 from trixie-backports (trixie.sh), cached under
#      $VDM_E2E_CACHE/trixie/ (~2.5 min and ~260 MB when fresh).
# Every apt-get call waits for the dpkg lock and retries (scripts/apt-retry).
#
# Cache layout (VDM_E2E_CACHE, default /var/cache/vdm-e2e):
#   vmlinuz                 guest kernel (bzImage)
#   vmlinux                 the same kernel decompressed (ELF with a PVH entry
#                           note); QEMU boots it directly, which skips SeaBIOS'
#                           Linux loader and the in-guest decompression (~1.5 s
#                           less per boot under TCG). lib.sh prefers it.
#   modules/NAME.ko         decompressed modules (NAME uses '_' not '-')
#   modules/deps            "NAME DEP1 DEP2..." one line per module
#   modules/order           every cached module, dependencies first
#   versions                kernel / qemu / busybox versions (sourceable)
#   debs/                   downloaded kernel .deb (kept to skip re-download)
#   arm64/busybox           static arm64 busybox (arm64/busybox-version)
#   stamp                   marks a completed setup for this configuration
#
# Environment:
#   VDM_E2E_CACHE           cache dir
#   VDM_E2E_EXTRA_MODULES   extra module names to cache (space separated)
#   VDM_E2E_FORCE=1         ignore the stamp and redo everything
#   VDM_E2E_KERNEL=PKG=VER  another kernel image package and version (the
#                           pin below; part of the stamp). Backports keeps
#                           only its newest kernel: when the pinned one is
#                           gone from the mirror (and not in debs/), setup
#                           fails and says which one is there; move the pin.

set -euo pipefail

CACHE="${VDM_E2E_CACHE:-/var/cache/vdm-e2e}"
SUITE="bookworm-backports"
# Bump when the cache layout or the way it is built changes.
LAYOUT=3
# The guest kernel: one exact package version, so every machine boots the
# same kernel and a backports update cannot change a test run silently.
KERNEL_PIN=${VDM_E2E_KERNEL:-linux-image-6.12.95+deb12-amd64=6.12.95-1~bpo12+1}
kpkg=${KERNEL_PIN%%=*}
kver=${KERNEL_PIN#*=}
[ -n "$kpkg" ] && [ -n "$kver" ] && [ "$kpkg" != "$KERNEL_PIN" ] ||
	{ echo "setup: error: VDM_E2E_KERNEL=$KERNEL_PIN: want PACKAGE=VERSION" >&2; exit 1; }
APT="$(cd "$(dirname "$0")/../.." && pwd)/scripts/apt-retry"

# Modules the tests want. Dependencies are resolved from the .ko files
# (modinfo -F depends); names that are built into the kernel are skipped.
WANTED_MODULES=(
	virtio_blk
	virtio-rng
	virtio_input
	evdev
	virtio_net
	virtio_console
	ext4
	crc32c_generic
	vmw_vsock_virtio_transport
	virtio_snd
)
# shellcheck disable=SC2206 # word splitting of the user list is intended
WANTED_MODULES+=(${VDM_E2E_EXTRA_MODULES:-})

# Soft dependencies that modinfo expresses through an alias ("pre: crc32c"),
# which we cannot resolve without modules.alias: NAME -> extra deps.
declare -A SOFT_DEPS=(
	[ext4]="crc32c_generic"
	[jbd2]="crc32c_generic"
)

log() { printf 'setup: %s\n' "$*" >&2; }
die() {
	printf 'setup: error: %s\n' "$*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get install)"

export DEBIAN_FRONTEND=noninteractive

# One setup at a time (parallel test scripts may all call it).
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

T0=$(date +%s)

stamp_key() {
	printf 'layout=%s suite=%s kernel=%s modules=%s\n' "$LAYOUT" "$SUITE" \
		"$kpkg=$kver" "${WANTED_MODULES[*]}"
}

tools_present() {
	command -v qemu-system-x86_64 >/dev/null &&
		command -v qemu-storage-daemon >/dev/null &&
		command -v cpio >/dev/null && command -v xz >/dev/null &&
		command -v modinfo >/dev/null && [ -x /bin/busybox ] &&
		command -v debugfs >/dev/null && command -v gpiomon >/dev/null &&
		qemu_is_backports
}

qemu_is_backports() {
	local v
	v=$(qemu-system-x86_64 --version 2>/dev/null | sed -n '1s/.*version \([0-9]*\)\..*/\1/p')
	[ -n "$v" ] && [ "$v" -ge 10 ]
}

print_versions() {
	[ -f "$CACHE/versions" ] || return 0
	(
		# shellcheck source=/dev/null
		. "$CACHE/versions"
		log "kernel:  $KERNEL_RELEASE ($KERNEL_PACKAGE)"
		log "qemu:    $QEMU_VERSION"
		log "qsd:     $QSD_VERSION"
		log "busybox: $BUSYBOX_VERSION"
		log "modules (load order): $MODULE_ORDER"
	)
}

# The guest kernel of our own (i2c, gpio tests): built once, cached by
# tests/e2e/kernel.sh outside the tree; a few ms when already there.
build_own_kernel() {
	log "own guest kernel: $("$(dirname "$0")/kernel.sh")"
}

# The arm64 guest (scmi.sh): its QEMU, dtc, a static arm64 busybox and the
# arm64 kernel of our own. Idempotent; a few ms when everything is there.
ARM64_BUSYBOX="$CACHE/arm64/busybox"
setup_arm64() {
	local v missing=() added
	v=$(qemu-system-aarch64 --version 2>/dev/null | sed -n '1s/.*version \([0-9]*\)\..*/\1/p')
	if [ -z "$v" ] || [ "$v" -lt 10 ] || ! command -v dtc >/dev/null; then
		added=$("$(dirname "$APT")/apt-backports") || die "adding $SUITE to the apt sources failed"
		[ "$added" = added ] || "$APT" update -qq
		log "installing qemu-system-arm from $SUITE and device-tree-compiler"
		"$APT" install -y -qq --no-install-recommends -t "$SUITE" qemu-system-arm >/dev/null
		"$APT" install -y -qq --no-install-recommends device-tree-compiler >/dev/null
	fi
	if [ ! -f "$ARM64_BUSYBOX" ] || [ ! -f "$CACHE/arm64/busybox-version" ]; then
		# (not a pipe into grep -q: with pipefail, SIGPIPE would read as "absent")
		if [[ " $(dpkg --print-foreign-architectures | tr '\n' ' ') " != *" arm64 "* ]]; then
			log "dpkg --add-architecture arm64 (for apt-get download busybox-static:arm64)"
			dpkg --add-architecture arm64
			"$APT" update -qq
		fi
		apt-cache show busybox-static:arm64 >/dev/null 2>&1 || "$APT" update -qq
		local dl
		dl=$(mktemp -d)
		# apt drops privileges to _apt for downloads; let it write there.
		if id _apt >/dev/null 2>&1; then chown _apt "$dl"; fi
		log "downloading busybox-static:arm64"
		(cd "$dl" && "$APT" download -qq busybox-static:arm64)
		mkdir -p "$dl/x"
		dpkg-deb -x "$dl"/busybox-static_*_arm64.deb "$dl/x"
		[ "$(LC_ALL=C readelf -h "$dl/x/bin/busybox" | grep -c AArch64)" -gt 0 ] ||
			die "busybox-static:arm64 holds no AArch64 /bin/busybox"
		mkdir -p "$CACHE/arm64"
		cp "$dl/x/bin/busybox" "$ARM64_BUSYBOX.tmp"
		mv "$ARM64_BUSYBOX.tmp" "$ARM64_BUSYBOX"
		dpkg-deb -f "$dl"/busybox-static_*_arm64.deb Version >"$CACHE/arm64/busybox-version"
		rm -rf "$dl"
	fi
	for t in qemu-system-aarch64 dtc; do
		command -v "$t" >/dev/null || missing+=("$t")
	done
	[ ${#missing[@]} -eq 0 ] || die "missing after install: ${missing[*]}"
	log "arm64: $(qemu-system-aarch64 --version | sed -n 1p), busybox $(cat "$CACHE/arm64/busybox-version")"
	log "arm64 guest kernel: $("$(dirname "$0")/kernel-arm64.sh")"
}

# The trixie chroot with QEMU 11.1 (vfio-user.sh): debootstrap, then
# trixie.sh (a few ms when the chroot is there).
setup_trixie() {
	if ! command -v debootstrap >/dev/null; then
		log "installing debootstrap"
		"$APT" install -y -qq --no-install-recommends debootstrap >/dev/null ||
			{ "$APT" update -qq && "$APT" install -y -qq --no-install-recommends debootstrap >/dev/null; }
	fi
	command -v debootstrap >/dev/null || die "debootstrap missing after install"
	local d
	d=$(VDM_E2E_FORCE=0 "$(dirname "$0")/trixie.sh") || die "building the trixie chroot failed (tests/e2e/trixie.sh)"
	log "trixie chroot: $d: $(cat "$d/qemu-version"), built in $(cat "$d/build-time") s, $(cat "$d/size-mb") MB"
}

if [ "${VDM_E2E_FORCE:-0}" != 1 ] && [ -f "$CACHE/stamp" ] &&
	[ "$(cat "$CACHE/stamp")" = "$(stamp_key)" ] &&
	[ -f "$CACHE/vmlinuz" ] && [ -f "$CACHE/modules/order" ] && tools_present; then
	log "already set up (stamp $CACHE/stamp); VDM_E2E_FORCE=1 redoes it"
	print_versions
	build_own_kernel
	setup_arm64
	setup_trixie
	exit 0
fi

# ---------------------------------------------------------------- apt source

# Adds the source file when missing and then runs apt-get update (prints
# "added"); the same helper installs qemu-system-arm for scripts/test.d/cross.
updated=0
added=$("$(dirname "$APT")/apt-backports") || die "adding $SUITE to the apt sources failed"
[ "$added" = added ] && updated=1

# ------------------------------------------------------------------ packages

if tools_present && command -v zstd >/dev/null; then
	log "packages already installed"
else
	if [ "$updated" = 0 ]; then
		log "apt-get update"
		"$APT" update -qq
		updated=1
	fi
	log "installing qemu from $SUITE and helpers"
	"$APT" install -y -qq --no-install-recommends -t "$SUITE" \
		qemu-system-x86 qemu-utils >/dev/null
	"$APT" install -y -qq --no-install-recommends \
		busybox-static cpio xz-utils zstd kmod e2fsprogs gpiod >/dev/null
	qemu_is_backports ||
		die "qemu-system-x86_64 is not version >= 10: $(qemu-system-x86_64 --version | sed -n 1p)"
fi

# -------------------------------------------------------------------- kernel

mkdir -p "$CACHE/debs"

# The pinned kernel image package (KERNEL_PIN above).
log "kernel package $kpkg ($kver, pinned)"
kernel_available() { apt-cache show "$kpkg=$kver" >/dev/null 2>&1; }

deb=$(find "$CACHE/debs" -maxdepth 1 -name "${kpkg}_${kver//:/%3a}_*.deb" | sed -n 1p)
if [ -z "$deb" ]; then
	# Remove stale kernels from earlier runs.
	find "$CACHE/debs" -maxdepth 1 -name 'linux-image-*.deb' -delete
	if ! kernel_available && [ "$updated" = 0 ]; then
		"$APT" update -qq
		updated=1
	fi
	kernel_available || die "pinned kernel $kpkg=$kver is not in the apt lists (backports now has: $(apt-cache show "linux-image-amd64/$SUITE" 2>/dev/null | sed -n 's/^Depends: *//p' | sed -n 1p)); move KERNEL_PIN in tests/e2e/setup.sh or set VDM_E2E_KERNEL"
	log "downloading $kpkg=$kver"
	dl=$(mktemp -d)
	# apt drops privileges to _apt for downloads; let it write there.
	if id _apt >/dev/null 2>&1; then chown _apt "$dl"; fi
	(cd "$dl" && "$APT" download -qq "$kpkg=$kver")
	mv "$dl"/*.deb "$CACHE/debs/"
	rmdir "$dl"
	deb=$(find "$CACHE/debs" -maxdepth 1 -name "${kpkg}_${kver//:/%3a}_*.deb" | sed -n 1p)
fi
[ -n "$deb" ] || die "kernel .deb missing"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "extracting $(basename "$deb")"
# Only the kernel image and the module tree are needed.
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" --wildcards \
	'./boot/vmlinuz-*' './usr/lib/modules/*' './lib/modules/*' 2>/dev/null || true
vmlinuz=$(find "$work/boot" -name 'vmlinuz-*' | sed -n 1p)
[ -n "$vmlinuz" ] || die "no vmlinuz in $deb"
uname_r=${vmlinuz##*/vmlinuz-}
moddir=""
for d in "$work/usr/lib/modules/$uname_r" "$work/lib/modules/$uname_r"; do
	[ -d "$d/kernel" ] && moddir=$d && break
done
[ -n "$moddir" ] || die "no module tree in $deb"

norm() { printf '%s' "${1//-/_}"; }

# Index: normalized module name -> compressed file.
declare -A KO=()
while IFS= read -r -d '' f; do
	b=${f##*/}
	b=${b%.xz}
	b=${b%.zst}
	b=${b%.gz}
	b=${b%.ko}
	KO[$(norm "$b")]=$f
done < <(find "$moddir/kernel" -name '*.ko*' -print0)

# builtin: a name in modules.builtin (if shipped) is not a module.
declare -A BUILTIN=()
if [ -f "$moddir/modules.builtin" ]; then
	while IFS= read -r l; do
		b=${l##*/}
		BUILTIN[$(norm "${b%.ko}")]=1
	done <"$moddir/modules.builtin"
fi

stage="$work/stage"
mkdir -p "$stage"
declare -A DEPS=() STATE=()
ORDER=()

# Decompress into the stage dir and record its dependencies.
fetch_module() {
	local n=$1 src=${KO[$1]} dst="$stage/$1.ko"
	case "$src" in
	*.xz) xz -dc "$src" >"$dst" ;;
	*.zst) zstd -qdc "$src" >"$dst" ;;
	*.gz) gzip -dc "$src" >"$dst" ;;
	*) cp "$src" "$dst" ;;
	esac
	local d deps=""
	for d in $(modinfo -F depends "$dst" | tr ',' ' '); do
		deps+=" $(norm "$d")"
	done
	local s
	for s in ${SOFT_DEPS[$n]:-}; do
		[ -n "${KO[$s]:-}" ] && deps+=" $s"
	done
	DEPS[$n]=${deps# }
}

# Depth-first visit: dependencies land in ORDER before their users.
visit() {
	local n
	n=$(norm "$1")
	case "${STATE[$n]:-}" in
	'done') return 0 ;;
	active) die "module dependency cycle at $n" ;;
	esac
	if [ -z "${KO[$n]:-}" ]; then
		if [ -n "${BUILTIN[$n]:-}" ]; then
			log "module $n is built into the kernel"
		else
			log "module $n not found (assumed built in)"
		fi
		STATE[$n]='done'
		return 0
	fi
	STATE[$n]=active
	fetch_module "$n"
	local d
	for d in ${DEPS[$n]}; do
		visit "$d"
	done
	STATE[$n]='done'
	ORDER+=("$n")
}

for m in "${WANTED_MODULES[@]}"; do
	visit "$m"
done

for n in "${ORDER[@]}"; do
	# Drop deps that turned out to be built in.
	kept=""
	for d in ${DEPS[$n]}; do
		[ -f "$stage/$d.ko" ] && kept+=" $d"
	done
	printf '%s%s\n' "$n" "$kept" >>"$stage/deps"
	printf '%s\n' "$n" >>"$stage/order"
done

# Decompress the bzImage payload (like the kernel's scripts/extract-vmlinux):
# try each compression magic found in the file until one yields an ELF.
extract_vmlinux() {
	local img=$1 out=$2 magic tool off
	for magic in '\x28\xb5\x2f\xfd:zstd -qdc' '\xfd\x37\x7a\x58\x5a\x00:xz -qdc' \
		'\x1f\x8b\x08:gzip -qdc'; do
		tool=${magic#*:}
		command -v "${tool%% *}" >/dev/null || continue
		while read -r off; do
			# shellcheck disable=SC2086 # $tool is a command with options
			tail -c +$((off + 1)) "$img" | $tool >"$out" 2>/dev/null || true
			if [ "$(head -c 4 "$out" | od -An -c | tr -d ' ')" = '177ELF' ]; then
				return 0
			fi
		# Only the offsets: the matched bytes can upset `read`.
		done < <(LC_ALL=C grep -obUaP "${magic%%:*}" "$img" | cut -d: -f1 || true)
	done
	rm -f "$out"
	return 1
}

has_pvh_note() {
	# XEN_ELFNOTE_PHYS32_ENTRY (18): the PVH entry point QEMU looks for.
	# grep -c reads everything: grep -q could SIGPIPE readelf (pipefail).
	[ "$(LC_ALL=C readelf -n "$1" 2>/dev/null | grep -c 'Xen.*0x00000012')" -gt 0 ]
}

vmlinux="$work/vmlinux"
if extract_vmlinux "$vmlinuz" "$vmlinux" && { ! command -v readelf >/dev/null || has_pvh_note "$vmlinux"; }; then
	log "extracted vmlinux ($(du -m "$vmlinux" | cut -f1) MiB) for direct PVH boot"
else
	log "no PVH-bootable vmlinux could be extracted; guests boot the bzImage"
	rm -f "$vmlinux"
fi

# Swap the new cache content in.
rm -rf "$CACHE/modules" "$CACHE/vmlinuz" "$CACHE/vmlinux"
mkdir -p "$CACHE"
mv "$stage" "$CACHE/modules"
cp "$vmlinuz" "$CACHE/vmlinuz"
if [ -f "$vmlinux" ]; then mv "$vmlinux" "$CACHE/vmlinux"; fi

qemu_v=$(qemu-system-x86_64 --version | sed -n 1p)
qsd_v=$(qemu-storage-daemon --version | sed -n 1p)
bb_v=$(/bin/busybox 2>&1 | sed -n '1s/ multi-call.*//p')
{
	printf 'KERNEL_RELEASE=%q\n' "$uname_r"
	printf 'KERNEL_PACKAGE=%q\n' "$kpkg=$kver"
	printf 'QEMU_VERSION=%q\n' "$qemu_v"
	printf 'QSD_VERSION=%q\n' "$qsd_v"
	printf 'BUSYBOX_VERSION=%q\n' "$bb_v"
	printf 'MODULE_ORDER=%q\n' "$(tr '\n' ' ' <"$CACHE/modules/order" | sed 's/ $//')"
} >"$CACHE/versions"

stamp_key >"$CACHE/stamp"
print_versions
build_own_kernel
setup_arm64
setup_trixie
log "module deps:"
sed 's/^/setup:   /' "$CACHE/modules/deps" >&2
log "done in $(($(date +%s) - T0)) s; cache $CACHE"
