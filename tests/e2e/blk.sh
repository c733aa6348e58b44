#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-guest test of vdm's block device: vdm-vhost-user serves two raw image
# files over vhost-user-blk to a Linux 6.12 guest (QEMU 10, TCG, -smp 2).
#
# Two boots against one daemon (the second boot also checks the daemon takes
# a new front-end on the same sockets):
#   split:  disk a split ring, 2 queues; disk b split ring, 1 queue
#   packed: disk a packed=on,  1 queue;  disk b packed=on,  2 queues
#
# On every disk (N MiB) the guest:
#   - sees the serial, size and queue count (/sys/block/vdX/mq) the host set,
#     and VIRTIO_F_RING_PACKED (feature bit 34) negotiated exactly for packed;
#   - reads MiB N-2, a random pattern the host wrote (md5 compared on the host);
#   - writes MiB N-1 with a nonce pattern the host checks after shutdown;
#   - discards MiB N-4 (blkdiscard), which the host then finds zeroed;
#   - makes an ext2 file system (busybox mke2fs) over MiB 0..N-5, mounts it
#     with the ext4 driver, writes a nonce file and 2 MiB of random data,
#     unmounts, mounts again and checks the data, unmounts (the host reads
#     both files back with debugfs, from e2fsprogs: required);
#   - on a 2-queue disk, reads with O_DIRECT pinned to each vCPU and checks
#     that both queues' interrupts fired (/proc/interrupts virtioN-req.Q).
#
#   tests/e2e/blk.sh --daemon build/examples/vhost-user/vdm-vhost-user
#
# Environment: lib.sh's (VDM_E2E_TIMEOUT, VDM_E2E_KEEP, VDM_E2E_VERBOSE...),
# VDM_VHOST_USER (daemon path), BLK_ROUNDS=N repeats both boots (default 1).

set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

vdm_e2e_require
command -v debugfs >/dev/null ||
	vdm_e2e_die "debugfs missing: install e2fsprogs (tests/e2e/setup.sh does)"
vdm_e2e_daemon_find "$@"

T_ALL=$(vdm_e2e_now)
MIB=1048576
A_MIB=64
B_MIB=48
A_IMG=$VDM_E2E_TMP/a.img
B_IMG=$VDM_E2E_TMP/b.img
A_SOCK=$VDM_E2E_TMP/a.sock
B_SOCK=$VDM_E2E_TMP/b.sock
A_SERIAL=vdm-e2e-disk-a
B_SERIAL=vdm-e2e-disk-b

vdm_e2e_log "daemon $VDM_E2E_DAEMON"
vdm_e2e_log "kernel $(sed -n 's/^KERNEL_RELEASE=//p' "$VDM_E2E_CACHE/versions")"

truncate -s "${A_MIB}M" "$A_IMG"
truncate -s "${B_MIB}M" "$B_IMG"

# writeback=off: every guest write is fdatasync'ed before it completes.
vdm_e2e_daemon_start vu -v \
	--socket "$A_SOCK" --device "blk,file=$A_IMG,serial=$A_SERIAL,writeback=off" \
	--socket "$B_SOCK" --device "blk,file=$B_IMG,serial=$B_SERIAL"

# The guest side; parameters come in /vdm/params.
cat >"$VDM_E2E_TMP/body.sh" <<'EOF'
. /vdm/params

# disk_of SERIAL: the vdX whose serial is SERIAL (waits up to 10 s).
disk_of() {
	i=0
	while [ $i -lt 200 ]; do
		for b in /sys/block/vd*; do
			[ "$(cat "$b/serial" 2>/dev/null)" = "$1" ] && { echo "${b##*/}"; return 0; }
		done
		i=$((i + 1))
		usleep 50000
	done
	return 1
}

# check_disk TAG SERIAL MIB NONCE
check_disk() {
	tag=$1 serial=$2 mib=$3 nonce=$4
	dev=$(disk_of "$serial") || { vdm_fail "$tag-found" "no disk with serial $serial: $(ls /sys/block)"; return 1; }
	vdm_pass "$tag-found"
	sys=/sys/block/$dev
	nq=$(ls "$sys/mq" | wc -l)
	vdm_value "$tag-dev" "$dev"
	vdm_value "$tag-sectors" "$(cat "$sys/size")"
	vdm_value "$tag-queues" "$nq"
	vdm_value "$tag-features" "$(cat "$sys/device/features")"
	vdm_value "$tag-discard-max" "$(cat "$sys/queue/discard_max_bytes")"

	# The host's pattern.
	vdm_value "$tag-read-md5" "$(dd if=/dev/$dev bs=1M skip=$((mib - 2)) count=1 2>/dev/null | md5sum | cut -d' ' -f1)"
	vdm_pass "$tag-read"

	# Ours, for the host.
	yes "$nonce" | head -c 1048576 >/tmp/$tag.pat
	dd if=/tmp/$tag.pat of=/dev/$dev bs=1M seek=$((mib - 1)) count=1 conv=fsync 2>/dev/null
	vdm_value "$tag-write-md5" "$(md5sum </tmp/$tag.pat | cut -d' ' -f1)"
	rm /tmp/$tag.pat
	vdm_pass "$tag-write"

	# Discard one MiB the host filled.
	blkdiscard -o $(((mib - 4) * 1048576)) -l 1048576 /dev/$dev
	vdm_pass "$tag-discard"

	# A file system, written, remounted, read back.
	mke2fs -q -b 4096 /dev/$dev $(((mib - 4) * 1024))
	mkdir -p /mnt/$tag
	mount -t ext4 /dev/$dev /mnt/$tag
	echo "$nonce" >/mnt/$tag/nonce
	dd if=/dev/urandom of=/mnt/$tag/big bs=64k count=32 2>/dev/null
	big=$(md5sum </mnt/$tag/big | cut -d' ' -f1)
	umount /mnt/$tag
	mount -t ext4 -o ro /dev/$dev /mnt/$tag
	got=$(md5sum </mnt/$tag/big | cut -d' ' -f1)
	[ "$got" = "$big" ] || { vdm_fail "$tag-ext4" "big file md5 $got after remount, wrote $big"; return 1; }
	[ "$(cat /mnt/$tag/nonce)" = "$nonce" ] || { vdm_fail "$tag-ext4" "nonce differs after remount"; return 1; }
	umount /mnt/$tag
	vdm_value "$tag-big-md5" "$big"
	vdm_pass "$tag-ext4"

	# Both queues in use: O_DIRECT reads pinned to each vCPU (blk-mq maps
	# CPU n to queue n); each queue's MSI-X vector (virtioN-req.Q in
	# /proc/interrupts) must have fired, i.e. the device completed requests
	# on both.
	if [ "$nq" -ge 2 ]; then
		vdev=$(basename "$(readlink "$sys/device")")
		before=$(irqs "$vdev")
		for cpu in 0 1; do
			taskset -c $cpu dd if=/dev/$dev of=/dev/null bs=4k count=64 \
				skip=$((cpu * 256)) iflag=direct 2>/dev/null
		done
		after=$(irqs "$vdev")
		vdm_value "$tag-irqs" "$vdev before $before after $after"
		set -- $before $after
		if [ "$3" -gt "$1" ] && [ "$4" -gt "$2" ]; then
			vdm_pass "$tag-mq"
		else
			vdm_fail "$tag-mq" "interrupts per queue before $before, after $after"
			return 1
		fi
	fi
}

# irqs virtioN: interrupt counts (all CPUs) of its req.0 and req.1 vectors.
irqs() {
	for q in 0 1; do
		awk -v n="$1-req.$q" '$NF == n { s = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; else break; print s; f = 1 }
			END { if (!f) print "none" }' /proc/interrupts
	done | tr '\n' ' '
}

check_disk a "$A_SERIAL" "$A_MIB" "$A_NONCE" &
pa=$!
check_disk b "$B_SERIAL" "$B_MIB" "$B_NONCE" &
pb=$!
ra=0 rb=0
wait $pa || ra=$?
wait $pb || rb=$?
if [ $ra != 0 ] || [ $rb != 0 ]; then
	vdm_fail disks "disk a status $ra, disk b status $rb"
	exit 1
fi
sync
EOF

passed=0
failed=0
TIMES=()

# fail MSG: log and return 1 (for `|| return 1` chains).
fail() {
	vdm_e2e_log "$1"
	return 1
}

# prep_img IMG MIB TAG: fill the read pattern (MiB N-2) and the discard area
# (MiB N-4), zero the write area (MiB N-1) so a stale pattern cannot pass.
prep_img() {
	local img=$1 mib=$2 tag=$3
	head -c "$MIB" /dev/urandom >"$VDM_E2E_TMP/$tag.read.pat"
	dd if="$VDM_E2E_TMP/$tag.read.pat" of="$img" bs="$MIB" seek=$((mib - 2)) conv=notrunc status=none
	dd if=/dev/zero of="$img" bs="$MIB" seek=$((mib - 1)) count=1 conv=notrunc status=none
	vdm_e2e_repeat discard-me "$MIB" | dd of="$img" bs="$MIB" seek=$((mib - 4)) conv=notrunc status=none
}

# check_img TAG IMG MIB NONCE WANT_QUEUES WANT_PACKED SERIAL
check_img() {
	local tag=$1 img=$2 mib=$3 nonce=$4 wq=$5 wp=$6 serial=$7 got want features packed=0
	got=$(vdm_e2e_value "$tag-sectors")
	[ "$got" = $((mib * MIB / 512)) ] || fail "disk $tag: guest sees $got sectors, want $((mib * MIB / 512))" || return 1
	got=$(vdm_e2e_value "$tag-queues")
	[ "$got" = "$wq" ] || fail "disk $tag: guest has $got queues in /sys/block/*/mq, want $wq" || return 1
	features=$(vdm_e2e_value "$tag-features")
	vdm_e2e_has_feature "$features" 32 || fail "disk $tag: VIRTIO_F_VERSION_1 not negotiated" || return 1
	if vdm_e2e_has_feature "$features" 34; then packed=1; fi
	[ "$packed" = "$wp" ] || fail "disk $tag: VIRTIO_F_RING_PACKED negotiated=$packed, want $wp ($features)" || return 1
	got=$(vdm_e2e_value "$tag-discard-max")
	[ "$got" -gt 0 ] || fail "disk $tag: guest sees no discard support" || return 1

	want=$(md5sum <"$VDM_E2E_TMP/$tag.read.pat" | cut -d' ' -f1)
	got=$(vdm_e2e_value "$tag-read-md5")
	[ "$got" = "$want" ] || fail "disk $tag: guest read md5 $got, host wrote $want" || return 1

	want=$(vdm_e2e_repeat "$nonce" "$MIB" | md5sum | cut -d' ' -f1)
	[ "$(vdm_e2e_value "$tag-write-md5")" = "$want" ] || fail "disk $tag: guest's pattern md5 differs from the host's" || return 1
	got=$(dd if="$img" bs="$MIB" skip=$((mib - 1)) count=1 status=none | md5sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "disk $tag: image has md5 $got where the guest wrote $want" || return 1

	want=$(head -c "$MIB" /dev/zero | md5sum | cut -d' ' -f1)
	got=$(dd if="$img" bs="$MIB" skip=$((mib - 4)) count=1 status=none | md5sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "disk $tag: discarded MiB $((mib - 4)) is not zero" || return 1

	# The file system the guest wrote, read back on the host (mandatory:
	# setup.sh installs e2fsprogs, and the run starts only with debugfs).
	got=$(debugfs -R 'cat /nonce' "$img" 2>/dev/null)
	[ "$got" = "$nonce" ] || fail "disk $tag: /nonce in the guest's file system is '$got', want $nonce" || return 1
	rm -f "$VDM_E2E_TMP/$tag.big"
	debugfs -R "dump /big $VDM_E2E_TMP/$tag.big" "$img" >/dev/null 2>&1
	[ -s "$VDM_E2E_TMP/$tag.big" ] || fail "disk $tag: debugfs could not dump /big from the image" || return 1
	got=$(md5sum <"$VDM_E2E_TMP/$tag.big" | cut -d' ' -f1)
	[ "$got" = "$(vdm_e2e_value "$tag-big-md5")" ] || fail "disk $tag: /big read on the host has md5 $got" || return 1
	vdm_e2e_log "disk $tag ($serial): ok: $mib MiB, $wq queue(s), RING_PACKED=$packed, read/write/discard/ext4 verified"
}

# boot NAME QUEUES_A QUEUES_B DEVICE_EXTRA PACKED
boot() {
	local name=$1 qa=$2 qb=$3 extra=$4 wp=$5 t0 t_build
	local na="a-$name-$$-$RANDOM" nb="b-$name-$$-$RANDOM"
	prep_img "$A_IMG" "$A_MIB" a
	prep_img "$B_IMG" "$B_MIB" b
	printf 'A_SERIAL=%s\nB_SERIAL=%s\nA_MIB=%s\nB_MIB=%s\nA_NONCE=%s\nB_NONCE=%s\n' \
		"$A_SERIAL" "$B_SERIAL" "$A_MIB" "$B_MIB" "$na" "$nb" >"$VDM_E2E_TMP/params"

	t0=$(vdm_e2e_now)
	vdm_e2e_build_initramfs --module virtio_blk --module ext4 \
		--file "$VDM_E2E_TMP/params:/vdm/params" \
		"$VDM_E2E_TMP/initrd-$name" "$VDM_E2E_TMP/body.sh"
	t_build=$(vdm_e2e_since "$t0")

	local expect=() t
	for t in a b; do
		expect+=(--expect "$t-found" --expect "$t-read" --expect "$t-write"
			--expect "$t-discard" --expect "$t-ext4")
	done
	[ "$qa" -ge 2 ] && expect+=(--expect a-mq)
	[ "$qb" -ge 2 ] && expect+=(--expect b-mq)
	vdm_e2e_run_qemu --name "$name" --initrd "$VDM_E2E_TMP/initrd-$name" \
		--smp 2 "${expect[@]}" -- \
		-chardev "socket,id=ca,path=$A_SOCK" \
		-device "vhost-user-blk-pci,chardev=ca,num-queues=$qa$extra" \
		-chardev "socket,id=cb,path=$B_SOCK" \
		-device "vhost-user-blk-pci,chardev=cb,num-queues=$qb$extra" || return 1

	vdm_e2e_daemon_alive vu || return 1
	check_img a "$A_IMG" "$A_MIB" "$na" "$qa" "$wp" "$A_SERIAL" || return 1
	check_img b "$B_IMG" "$B_MIB" "$nb" "$qb" "$wp" "$B_SERIAL" || return 1
	TIMES+=("$(printf '%-7s initramfs %ss, qemu run %ss (%s)' "$name" "$t_build" \
		"$VDM_E2E_LAST_SECS" "$VDM_E2E_LAST_TIMES")")
	vdm_e2e_log "$name: PASS"
}

rounds=${BLK_ROUNDS:-1}
for ((r = 1; r <= rounds; r++)); do
	for v in split packed; do
		case $v in
		split) args=(split 2 1 "" 0) ;;
		packed) args=(packed 1 2 ",packed=on" 1) ;;
		esac
		if boot "${args[@]}"; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
			vdm_e2e_daemon_log vu
			vdm_e2e_daemon_alive vu || break 2
		fi
	done
done

vdm_e2e_daemon_check_log vu || failed=$((failed + 1))
vdm_e2e_log "timings:"
for t in "${TIMES[@]}"; do
	vdm_e2e_log "  $t"
done
vdm_e2e_log "total $(vdm_e2e_since "$T_ALL") s"
echo "blk: $passed boots passed, $failed failed"
[ "$failed" -eq 0 ]
