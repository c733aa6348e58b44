#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Smoke test of the e2e harness with a vhost-user peer that exists today:
# qemu-storage-daemon exports a raw image as vhost-user-blk; a Linux guest
# reads a pattern the host wrote and writes one the host checks afterwards.
# A second vhost-user-blk disk gets an ext2 file system the guest mounts with
# the ext4 driver (proving the cached module chain loads). Runs once with a
# split ring and once with packed=on.
#
#   tests/e2e/setup.sh && tests/e2e/smoke.sh
#
# Environment: see lib.sh (VDM_E2E_TIMEOUT, VDM_E2E_KEEP, VDM_E2E_VERBOSE...),
# plus SMOKE_ROUNDS=N to repeat both variants N times (default 1).

set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

vdm_e2e_require
command -v qemu-storage-daemon >/dev/null ||
	vdm_e2e_die "qemu-storage-daemon missing (run tests/e2e/setup.sh)"

T_ALL=$(vdm_e2e_now)
MIB=1048576
IMG="$VDM_E2E_TMP/disk.img"
SOCK="$VDM_E2E_TMP/vhost-user-blk.sock"
FSIMG="$VDM_E2E_TMP/fs.img"
FSSOCK="$VDM_E2E_TMP/vhost-user-blk-fs.sock"
SMP=2
QUEUES=2

vdm_e2e_log "$(vdm_e2e_qemu_version)"
vdm_e2e_log "$(qemu-storage-daemon --version | sed -n 1p)"
vdm_e2e_log "kernel $(sed -n 's/^KERNEL_RELEASE=//p' "$VDM_E2E_CACHE/versions")"

# Disk: 64 MiB; MiB 0 holds a random pattern the guest reads, MiB 1 is where
# the guest writes its pattern.
truncate -s 64M "$IMG"
head -c "$MIB" /dev/urandom >"$VDM_E2E_TMP/read.pat"
dd if="$VDM_E2E_TMP/read.pat" of="$IMG" bs="$MIB" count=1 conv=notrunc status=none
READ_MD5=$(md5sum <"$VDM_E2E_TMP/read.pat" | cut -d' ' -f1)

# The guest side. Parameters arrive in /vdm/params (a sourceable file).
cat >"$VDM_E2E_TMP/body.sh" <<'EOF'
. /vdm/params
# Every module in the initramfs was loaded by /init, deps first.
while read -r m; do
	[ -d "/sys/module/$m" ] || { vdm_fail modules "$m not loaded"; exit 1; }
done </lib/modules/vdm/order
vdm_pass modules
vdm_wait_path /dev/vda
vdm_wait_path /dev/vdb
# Tell the disks apart by size, not by probe order.
for b in /sys/block/vd*; do
	case "$(cat "$b/size")" in
	"$DATA_SECTORS") DATA=${b##*/} ;;
	"$FS_SECTORS") FS=${b##*/} ;;
	esac
done
[ -n "${DATA:-}" ] && [ -n "${FS:-}" ] || { vdm_fail disks "$(ls /sys/block)"; exit 1; }
vdm_value sectors "$(cat /sys/block/$DATA/size)"
vdm_value queues "$(ls /sys/block/$DATA/mq | wc -l)"
vdm_value features "$(cat /sys/block/$DATA/device/features)"
vdm_value read-md5 "$(dd if=/dev/$DATA bs=1M count=1 2>/dev/null | md5sum | cut -d' ' -f1)"
vdm_pass read
yes "$NONCE" | head -c 1048576 >/tmp/write.pat
dd if=/tmp/write.pat of=/dev/$DATA bs=1M seek=1 count=1 conv=fsync 2>/dev/null
sync
vdm_value write-md5 "$(md5sum </tmp/write.pat | cut -d' ' -f1)"
vdm_pass write
# busybox mke2fs makes ext2; the ext4 driver mounts it.
mke2fs -q /dev/$FS
mkdir -p /mnt
mount -t ext4 /dev/$FS /mnt
echo "$NONCE" >/mnt/nonce
umount /mnt
sync
vdm_pass ext4
EOF

passed=0
failed=0
TIMES=()

# smoke_variant NAME DEVICE_EXTRA: one full round trip; returns non-zero on
# the first mismatch.
smoke_variant() {
	local name=$1 devextra=$2 t0 t_qsd t_build t_boot t_check
	t0=$(vdm_e2e_now)

	local nonce="vdm-e2e-$name-$$-$RANDOM"
	# Clear the write area so a stale pattern cannot pass.
	dd if=/dev/zero of="$IMG" bs="$MIB" seek=1 count=1 conv=notrunc status=none
	rm -f "$FSIMG"
	truncate -s 32M "$FSIMG"
	printf 'NONCE=%s\nDATA_SECTORS=%s\nFS_SECTORS=%s\n' \
		"$nonce" $((64 * MIB / 512)) $((32 * MIB / 512)) >"$VDM_E2E_TMP/params"

	# One daemon, two vhost-user-blk exports.
	rm -f "$SOCK" "$FSSOCK"
	vdm_e2e_spawn qsd qemu-storage-daemon \
		--blockdev "driver=file,node-name=d,filename=$IMG" \
		--export "type=vhost-user-blk,id=e,node-name=d,addr.type=unix,addr.path=$SOCK,writable=on,num-queues=$QUEUES" \
		--blockdev "driver=file,node-name=f,filename=$FSIMG" \
		--export "type=vhost-user-blk,id=ef,node-name=f,addr.type=unix,addr.path=$FSSOCK,writable=on"
	vdm_e2e_wait_socket "$SOCK" 10 qsd
	vdm_e2e_wait_socket "$FSSOCK" 10 qsd
	t_qsd=$(vdm_e2e_since "$t0")

	t0=$(vdm_e2e_now)
	vdm_e2e_build_initramfs --module virtio_blk --module ext4 \
		--file "$VDM_E2E_TMP/params:/vdm/params" \
		"$VDM_E2E_TMP/initrd-$name" "$VDM_E2E_TMP/body.sh"
	t_build=$(vdm_e2e_since "$t0")

	vdm_e2e_run_qemu --name "$name" --initrd "$VDM_E2E_TMP/initrd-$name" \
		--smp "$SMP" --expect modules --expect read --expect write --expect ext4 -- \
		-chardev "socket,id=c0,path=$SOCK" \
		-device "vhost-user-blk-pci,chardev=c0,num-queues=$QUEUES$devextra" \
		-chardev "socket,id=c1,path=$FSSOCK" \
		-device "vhost-user-blk-pci,chardev=c1,num-queues=1$devextra" ||
		return 1
	t_boot=$VDM_E2E_LAST_SECS

	t0=$(vdm_e2e_now)
	vdm_e2e_stop qsd
	local got want features
	got=$(vdm_e2e_value read-md5)
	[ "$got" = "$READ_MD5" ] ||
		{ vdm_e2e_log "$name: guest read md5 $got, host wrote $READ_MD5" && return 1; }
	got=$(vdm_e2e_value queues)
	[ "$got" = "$QUEUES" ] ||
		{ vdm_e2e_log "$name: guest sees $got queues, want $QUEUES" && return 1; }
	got=$(vdm_e2e_value sectors)
	[ "$got" = $((64 * MIB / 512)) ] ||
		{ vdm_e2e_log "$name: guest sees $got sectors" && return 1; }
	# VIRTIO_F_RING_PACKED (bit 34) is only negotiated when the back end
	# offers it too. qemu-storage-daemon (libvhost-user) offers split rings
	# only, so with it packed=on silently falls back to a split ring; set
	# SMOKE_EXPECT_PACKED=1 with a back end that supports packed rings.
	features=$(vdm_e2e_value features)
	local packed=0 want_packed=0
	if vdm_e2e_has_feature "$features" 34; then packed=1; fi
	if [[ "$devextra" == *packed=on* ]]; then want_packed=${SMOKE_EXPECT_PACKED:-}; fi
	if [ -n "$want_packed" ] && [ "$packed" != "$want_packed" ]; then
		vdm_e2e_log "$name: RING_PACKED negotiated=$packed, want $want_packed"
		return 1
	fi
	vdm_e2e_has_feature "$features" 32 ||
		{ vdm_e2e_log "$name: VIRTIO_F_VERSION_1 not negotiated" && return 1; }
	want=$(yes "$nonce" | head -c "$MIB" | md5sum | cut -d' ' -f1)
	got=$(dd if="$IMG" bs="$MIB" skip=1 count=1 status=none | md5sum | cut -d' ' -f1)
	[ "$(vdm_e2e_value write-md5)" = "$want" ] ||
		{ vdm_e2e_log "$name: guest pattern md5 differs from host's" && return 1; }
	[ "$got" = "$want" ] ||
		{ vdm_e2e_log "$name: image has md5 $got after guest write, want $want" && return 1; }
	if command -v debugfs >/dev/null; then
		got=$(debugfs -R 'cat /nonce' "$FSIMG" 2>/dev/null)
		[ "$got" = "$nonce" ] ||
			{ vdm_e2e_log "$name: /nonce on the guest's file system is '$got', want $nonce" && return 1; }
	fi
	t_check=$(vdm_e2e_since "$t0")

	TIMES+=("$(printf '%-7s peer-start %ss, initramfs %ss, qemu run %ss, host-check %ss\n        qemu run = %s' \
		"$name" "$t_qsd" "$t_build" "$t_boot" "$t_check" "$VDM_E2E_LAST_TIMES")")
	vdm_e2e_log "$name: PASS (read md5 $READ_MD5, wrote $want, queues $QUEUES, RING_PACKED negotiated=$packed)"
}

rounds=${SMOKE_ROUNDS:-1}
for ((r = 1; r <= rounds; r++)); do
	for variant in split packed; do
		extra=""
		[ "$variant" = packed ] && extra=",packed=on"
		if smoke_variant "$variant" "$extra"; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
			vdm_e2e_stop qsd
			if [ -f "$VDM_E2E_TMP/qsd.log" ] && [ -s "$VDM_E2E_TMP/qsd.log" ]; then
				vdm_e2e_log "qemu-storage-daemon log:"
				sed 's/^/  qsd| /' "$VDM_E2E_TMP/qsd.log" >&2
			fi
		fi
	done
done

vdm_e2e_log "timings:"
for t in "${TIMES[@]}"; do
	vdm_e2e_log "  $t"
done
vdm_e2e_log "total $(vdm_e2e_since "$T_ALL") s"
echo "smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
