#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-guest test of the administration virtqueue (VIRTIO_F_ADMIN_VQ, issue
# 16): vdm-vhost-user serves an entropy device with admin-vq=on over
# vfio-user (vdm's own virtio-pci transport: common configuration
# admin_queue_index / admin_queue_num), QEMU 11.1's vfio-user-pci puts it
# in front of a Linux 6.12 guest (the kernel of our own; TCG, q35, MSI-X).
#
# Linux 6.12's virtio-pci (virtio_pci_modern.c) accepts ADMIN_VQ, sets up
# the queue at admin_queue_index next to the others (an MSI-X vector named
# "avq.N") and at probe sends LIST_QUERY with the SR-IOV group type, which
# vdm, without SR-IOV, answers EINVAL / INVALID_GROUP (spec "Group
# administration commands"); the driver then uses no admin command and the
# device works. The guest:
#   - finds the function (0x1af4:0x1044) bound to virtio-pci, ADMIN_VQ (bit
#     41) negotiated in the virtio device's features;
#   - sees the admin queue's vector in /proc/interrupts ("avq");
#   - reads 3 KiB from /dev/hwrng, which the host finds byte for byte in
#     the daemon's 1000-byte source pattern (rng.sh);
#   - unbinds and binds virtio-pci (status 0, admin queue torn down, a
#     fresh probe with its LIST_QUERY) and does it all again.
# The host: the daemon (-v -v) logged the refused admin command of each
# probe, and no warning or error.
#
#   tests/e2e/admin-vfu.sh --daemon build/examples/vhost-user/vdm-vhost-user
#
# Environment: lib.sh's (VDM_E2E_TIMEOUT, VDM_E2E_KEEP, VDM_E2E_VERBOSE...).

set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

vdm_e2e_require
vdm_e2e_daemon_find "$@"
vdm_e2e_use_trixie
KDIR=$("$VDM_E2E_LIB_DIR/kernel.sh" --path)
[ -f "$KDIR/vmlinux" ] || vdm_e2e_die "guest kernel $KDIR missing (sudo tests/e2e/setup.sh builds it)"

T_ALL=$(vdm_e2e_now)
PAT=$VDM_E2E_TMP/pattern.bin
PAT_LEN=1000
READ_LEN=3072
S_RNG=$VDM_E2E_TMP/rng.sock
head -c "$PAT_LEN" /dev/urandom >"$PAT"

vdm_e2e_daemon_start vu -v -v --vfio-user "$S_RNG" --device "rng,source=$PAT,admin-vq=on"

cat >"$VDM_E2E_TMP/body.sh" <<'BODY'
. /vdm/params
hw=/sys/class/misc/hw_random
fn=""
for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor)" = 0x1af4 ] && [ "$(cat $d/device)" = 0x1044 ] && fn=${d##*/}
done
[ -n "$fn" ] || { vdm_fail pci "no virtio-rng function (0x1af4:0x1044)"; exit 1; }
[ "$(basename "$(readlink /sys/bus/pci/devices/$fn/driver)")" = virtio-pci ] ||
	{ vdm_fail pci "$fn not bound to virtio-pci"; exit 1; }
vdm_pass pci

check() {
	r=$1
	i=0
	until ls -d /sys/bus/pci/devices/$fn/virtio* >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || { vdm_fail "admin-$r" "no virtio device under $fn"; exit 1; }
		usleep 50000
	done
	vd=$(ls -d /sys/bus/pci/devices/$fn/virtio* | head -n 1)
	feat=$(cat $vd/features)
	vdm_value "features-$r" "$feat"
	[ "$(printf '%s' "$feat" | cut -c42)" = 1 ] ||
		{ vdm_fail "admin-$r" "VIRTIO_F_ADMIN_VQ (bit 41) not negotiated: $feat"; exit 1; }
	vdm_value "avq-$r" "$(grep -c avq /proc/interrupts)"
	grep -q "${vd##*/}-avq" /proc/interrupts ||
		{ vdm_fail "admin-$r" "no admin queue vector: $(grep virtio /proc/interrupts | tr -s ' ' | tr '\n' ';')"; exit 1; }
	vdm_pass "admin-$r"

	vdm_wait_path /dev/hwrng
	i=0
	until grep -q virtio_rng $hw/rng_available 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { vdm_fail "rng-$r" "rng_available: $(cat $hw/rng_available)"; exit 1; }
		usleep 50000
	done
	tr ' ' '\n' <$hw/rng_available | grep virtio_rng | head -n 1 >$hw/rng_current
	dd if=/dev/hwrng of=/tmp/p bs=$READ_LEN count=1 iflag=fullblock 2>/dev/null
	[ "$(wc -c </tmp/p)" = "$READ_LEN" ] || { vdm_fail "rng-$r" "short read $(wc -c </tmp/p)"; exit 1; }
	vdm_value "rng-hex-$r" "$(od -An -v -tx1 /tmp/p | tr -d ' \n')"
	vdm_pass "rng-$r"
}
check 0
drv=/sys/bus/pci/drivers/virtio-pci
echo "$fn" >$drv/unbind
echo "$fn" >$drv/bind
vdm_pass rebind
check 1
BODY

printf 'READ_LEN=%s\n' "$READ_LEN" >"$VDM_E2E_TMP/params"
vdm_e2e_build_initramfs --no-autoload --file "$VDM_E2E_TMP/params:/vdm/params" \
	"$VDM_E2E_TMP/initrd" "$VDM_E2E_TMP/body.sh"
failed=0
fail() {
	vdm_e2e_log "FAIL: $*"
	failed=1
	return 1
}
run() {
	vdm_e2e_run_qemu --name admin-vfu --kernel "$KDIR/vmlinux" --initrd "$VDM_E2E_TMP/initrd" \
		--append "rng_core.default_quality=0" \
		--expect pci --expect admin-0 --expect rng-0 --expect rebind --expect admin-1 --expect rng-1 \
		-- -device "{\"driver\":\"vfio-user-pci\",\"id\":\"rng0\",\"socket\":{\"type\":\"unix\",\"path\":\"$S_RNG\"}}" ||
		fail "guest checks" || return 1
	vdm_e2e_daemon_alive vu || fail "daemon died" || return 1
	local r hex off n
	for r in 0 1; do
		hex=$(vdm_e2e_value "rng-hex-$r")
		[ "${#hex}" = $((READ_LEN * 2)) ] || fail "rng round $r: ${#hex} hex digits" || return 1
		off=$(vdm_e2e_rng_offset "$PAT" "$hex")
		off=${off%% *}
		[ "$off" -ge 0 ] || fail "rng round $r: not the daemon's pattern" || return 1
		vdm_e2e_log "round $r: features $(vdm_e2e_value "features-$r"), rng at pattern offset $off"
	done
	# Each probe's LIST_QUERY (SR-IOV group) was answered with an error
	# status: the admin queue carried it.
	n=$(grep -c "^vdm-vhost-user: rng0: debug: admin: command failed" "$VDM_E2E_TMP/vu.log" || true)
	[ "$n" -ge 2 ] || fail "the daemon answered $n admin commands with an error, want one per probe (2)" || return 1
	vdm_e2e_log "admin queue: $n refused commands (Linux's LIST_QUERY with the SR-IOV group, one per probe)"
}
run || vdm_e2e_daemon_log vu
vdm_e2e_daemon_check_log vu || failed=1
vdm_e2e_log "total $(vdm_e2e_since "$T_ALL") s"
[ "$failed" -eq 0 ] && echo "admin-vfu: passed" || { echo "admin-vfu: FAILED"; exit 1; }
