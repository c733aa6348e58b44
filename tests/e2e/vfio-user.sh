#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-guest test of vdm's own virtio-pci transport through vfio-user:
# vdm-vhost-user serves an entropy device and a block device over vfio-user
# sockets (--vfio-user PATH --device TYPE,...), and QEMU 11.1's vfio-user
# client (-device vfio-user-pci, from the trixie chroot: tests/e2e/trixie.sh)
# puts them in front of a Linux 6.12 guest (the kernel of our own,
# tests/e2e/kernel.sh; TCG, q35, memfd guest memory shared with the daemon).
# Every PCI register the guest's virtio-pci driver touches (configuration
# space, capabilities, common/notify/ISR/device BAR, MSI-X) is then vdm's.
#
# Boots (one daemon for all of them):
#   msix:  MSI-X (the driver's default)
#   intx:  the kernel booted with pci=nomsi: the driver falls back to INTx
# In each the guest:
#   - finds both functions (vendor 0x1af4, modern ids 0x1044 rng and 0x1042
#     blk) bound to virtio-pci (their ids, subsystem, revision and class are
#     printed; QEMU's own virtio-pci also uses subsystem 0x1100);
#   - sees MSI-X (PCI-MSIX lines) or INTx (IO-APIC lines, no MSI) for both
#     devices in /proc/interrupts, with interrupts counted;
#   - rng: reads 3 KiB from /dev/hwrng, which the host must find byte for
#     byte in the daemon's 1000-byte source pattern repeated;
#   - blk: size and serial as the host set them, reads MiB 2 (random bytes
#     the host wrote; md5 compared on the host), writes MiB 5 with a nonce
#     pattern the host checks in the image after the run;
#   - resets both devices by unbinding virtio-pci from each function and
#     binding it again (status 0 then a fresh initialisation through vdm's
#     transport), then repeats the rng and blk checks on the new instances.
#
# With --frontend vhost-user the same guest checks run on the same daemon
# serving vhost-user sockets, under the same QEMU 11.1 (QEMU's virtio-pci
# transport then): proof that the chroot's QEMU runs our devices, without
# the vfio-user part (ctest e2e/qemu11).
#
#   tests/e2e/vfio-user.sh --daemon build/examples/vhost-user/vdm-vhost-user
#   tests/e2e/vfio-user.sh --daemon ... --frontend vhost-user
#
# Environment: lib.sh's (VDM_E2E_TIMEOUT, VDM_E2E_KEEP, VDM_E2E_VERBOSE...),
# VDM_VHOST_USER (daemon path), VFU_MODES="msix intx" (the boots to run).

set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

FRONTEND=vfio-user
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--frontend) FRONTEND=$2 && shift 2 ;;
	--frontend=*) FRONTEND=${1#--frontend=} && shift ;;
	*) args+=("$1") && shift ;;
	esac
done
case "$FRONTEND" in
vfio-user | vhost-user) ;;
*) vdm_e2e_die "--frontend wants vfio-user or vhost-user, got $FRONTEND" ;;
esac

vdm_e2e_require
vdm_e2e_daemon_find "${args[@]}"
vdm_e2e_use_trixie
KDIR=$("$VDM_E2E_LIB_DIR/kernel.sh" --path)
[ -f "$KDIR/vmlinux" ] || vdm_e2e_die "guest kernel $KDIR missing (sudo tests/e2e/setup.sh builds it)"
if [ "$FRONTEND" = vfio-user ]; then
	"$VDM_E2E_DAEMON" --help 2>&1 | grep -q -- --vfio-user ||
		vdm_e2e_die "$VDM_E2E_DAEMON has no --vfio-user option (the daemon side of issue 15 is missing)"
fi

T_ALL=$(vdm_e2e_now)
MIB=1048576
PAT=$VDM_E2E_TMP/pattern.bin
PAT_LEN=1024 # a multiple of 64: see the note in README.md (short answers)
READ_LEN=3072 # a multiple of the hwrng core's 64-byte chunks (rng.sh)
IMG=$VDM_E2E_TMP/disk.img
IMG_MIB=8
SERIAL=vdm-e2e-vfu-disk
R_MIB=2 # the guest reads it
W_MIB=5 # the guest writes it
S_RNG=$VDM_E2E_TMP/rng.sock
S_BLK=$VDM_E2E_TMP/blk.sock

head -c "$PAT_LEN" /dev/urandom >"$PAT"
truncate -s "${IMG_MIB}M" "$IMG"
head -c "$MIB" /dev/urandom >"$VDM_E2E_TMP/read.bin"
dd if="$VDM_E2E_TMP/read.bin" of="$IMG" bs="$MIB" seek="$R_MIB" conv=notrunc status=none
READ_MD5=$(md5sum <"$VDM_E2E_TMP/read.bin" | cut -d' ' -f1)

if [ "$FRONTEND" = vfio-user ]; then
	sockopt=--vfio-user
else
	sockopt=--socket
fi
vdm_e2e_daemon_start vu -v \
	"$sockopt" "$S_RNG" --device "rng,source=$PAT" \
	"$sockopt" "$S_BLK" --device "blk,file=$IMG,serial=$SERIAL,writeback=off"

if [ "$FRONTEND" = vfio-user ]; then
	DEVS=(-device "{\"driver\":\"vfio-user-pci\",\"id\":\"rng0\",\"socket\":{\"type\":\"unix\",\"path\":\"$S_RNG\"}}"
		-device "{\"driver\":\"vfio-user-pci\",\"id\":\"blk0\",\"socket\":{\"type\":\"unix\",\"path\":\"$S_BLK\"}}")
else
	DEVS=(-chardev "socket,id=c0,path=$S_RNG" -device "vhost-user-rng-pci,chardev=c0,vectors=2"
		-chardev "socket,id=c1,path=$S_BLK" -device "vhost-user-blk-pci,chardev=c1,disable-legacy=on")
fi

cat >"$VDM_E2E_TMP/body.sh" <<'BODY'
. /vdm/params
hw=/sys/class/misc/hw_random

# The two functions: vendor 0x1af4, modern device ids, bound to virtio-pci.
find_fn() { # DEVICE-ID -> bdf
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat $d/vendor)" = 0x1af4 ] && [ "$(cat $d/device)" = "$1" ] && { echo "${d##*/}"; return 0; }
	done
	return 1
}
rng_fn=$(find_fn 0x1044) || { vdm_fail pci "no virtio-rng function (0x1af4:0x1044)"; exit 1; }
blk_fn=$(find_fn 0x1042) || { vdm_fail pci "no virtio-blk function (0x1af4:0x1042)"; exit 1; }
for f in $rng_fn $blk_fn; do
	d=/sys/bus/pci/devices/$f
	vdm_value "pci-$f" "$(cat $d/vendor):$(cat $d/device) subsys $(cat $d/subsystem_vendor):$(cat $d/subsystem_device) rev $(cat $d/revision) class $(cat $d/class) irq $(cat $d/irq) driver $(basename "$(readlink $d/driver)")"
	[ "$(basename "$(readlink $d/driver)")" = virtio-pci ] || { vdm_fail pci "$f not bound to virtio-pci"; exit 1; }
done
vdm_pass pci

# ROUND: rng bytes and blk read/write, on whatever instances are bound now.
round() {
	r=$1
	vdm_wait_path /dev/hwrng
	i=0
	until grep -q virtio_rng $hw/rng_available 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { vdm_fail "rng-$r" "rng_available: $(cat $hw/rng_available)"; exit 1; }
		usleep 50000
	done
	rng=$(tr ' ' '\n' <$hw/rng_available | grep virtio_rng | head -n 1)
	echo "$rng" >$hw/rng_current
	vdm_info "round $r: reading $READ_LEN bytes from $rng"
	dd if=/dev/hwrng of=/tmp/p bs=$READ_LEN count=1 iflag=fullblock 2>/dev/null
	[ "$(wc -c </tmp/p)" = "$READ_LEN" ] || { vdm_fail "rng-$r" "short read $(wc -c </tmp/p)"; exit 1; }
	vdm_value "rng-hex-$r" "$(od -An -v -tx1 /tmp/p | tr -d ' \n')"
	vdm_pass "rng-$r"

	vdm_wait_path /dev/vda
	vdm_info "round $r: blk"
	vdm_value "blk-size-$r" "$(cat /sys/block/vda/size)"
	vdm_value "blk-serial-$r" "$(cat /sys/block/vda/serial)"
	vdm_value "blk-read-$r" "$(dd if=/dev/vda bs=1048576 skip=$R_MIB count=1 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)"
	yes "vdm-vfio-user $NONCE $r" | head -c 1048576 >/tmp/w
	dd if=/tmp/w of=/dev/vda bs=1048576 seek=$((W_MIB + r)) count=1 oflag=direct conv=fsync 2>/dev/null
	vdm_value "blk-back-$r" "$(dd if=/dev/vda bs=1048576 skip=$((W_MIB + r)) count=1 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)"
	vdm_value "blk-wrote-$r" "$(md5sum </tmp/w | cut -d' ' -f1)"
	vdm_pass "blk-$r"
}
round 0

# Interrupts: MSI-X or INTx, and counted.
vdm_value irqs "$(grep virtio /proc/interrupts | tr -s ' ' | tr '\n' ';')"
total=$(grep virtio /proc/interrupts | awk '{ for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }')
vdm_value irq-total "$total"
[ "$total" -gt 0 ] || { vdm_fail irq "no virtio interrupt counted"; exit 1; }
msix=$(grep virtio /proc/interrupts | grep -c 'PCI-MSIX' || true)
ioapic=$(grep virtio /proc/interrupts | grep -c 'IO-APIC' || true)
vdm_value irq-kinds "msix $msix ioapic $ioapic"
for f in $rng_fn $blk_fn; do
	n=$(ls /sys/bus/pci/devices/$f/msi_irqs 2>/dev/null | wc -l)
	vdm_value "msi-$f" "$n"
	case "$IRQ" in
	msix) [ "$n" -ge 2 ] || { vdm_fail irq "$f: $n MSI-X vectors in use, want >= 2"; exit 1; } ;;
	intx) [ "$n" = 0 ] || { vdm_fail irq "$f: $n MSI vectors in use under pci=nomsi"; exit 1; } ;;
	esac
done
case "$IRQ" in
msix) [ "$msix" -ge 4 ] && [ "$ioapic" = 0 ] || { vdm_fail irq "want MSI-X only: msix $msix ioapic $ioapic"; exit 1; } ;;
intx) [ "$msix" = 0 ] && [ "$ioapic" -ge 1 ] || { vdm_fail irq "want INTx only: msix $msix ioapic $ioapic"; exit 1; } ;;
esac
vdm_pass irq

# Reset: unbind virtio-pci from both functions, bind it again.
drv=/sys/bus/pci/drivers/virtio-pci
for f in $rng_fn $blk_fn; do echo "$f" >$drv/unbind; done
[ ! -e /dev/vda ] || { vdm_fail rebind "/dev/vda still there after unbind"; exit 1; }
for f in $rng_fn $blk_fn; do echo "$f" >$drv/bind; done
vdm_pass rebind
round 1
BODY

passed=0
failed=0
TIMES=()

fail() {
	vdm_e2e_log "$1"
	return 1
}

# The pattern, repeated to cover any start offset; prints the offset of HEX
# in it or -1.
PATHEX=$(for _ in $(seq $((READ_LEN / PAT_LEN + 2))); do cat "$PAT"; done | od -An -v -tx1 | tr -d ' \n')
pattern_offset() {
	awk -v h="$PATHEX" -v n="$1" 'BEGIN {
		for (i = 1; i <= 2 * '"$PAT_LEN"'; i += 2) if (substr(h, i, length(n)) == n) { print (i - 1) / 2; exit }
		print -1 }'
}

boot() {
	local irq=$1 name="$FRONTEND-$1" t0 t_build nonce append="" r hex off w
	nonce=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
	[ "$irq" = msix ] || append="pci=nomsi"
	printf 'READ_LEN=%s\nR_MIB=%s\nW_MIB=%s\nNONCE=%s\nIRQ=%s\n' \
		"$READ_LEN" "$R_MIB" "$W_MIB" "$nonce" "$irq" >"$VDM_E2E_TMP/params"
	t0=$(vdm_e2e_now)
	vdm_e2e_build_initramfs --no-autoload --file "$VDM_E2E_TMP/params:/vdm/params" \
		"$VDM_E2E_TMP/initrd" "$VDM_E2E_TMP/body.sh"
	t_build=$(vdm_e2e_since "$t0")

	vdm_e2e_run_qemu --name "$name" --kernel "$KDIR/vmlinux" --initrd "$VDM_E2E_TMP/initrd" \
		--append "rng_core.default_quality=0${append:+ $append}" \
		--expect pci --expect rng-0 --expect blk-0 --expect irq --expect rebind \
		--expect rng-1 --expect blk-1 -- "${DEVS[@]}" || return 1
	vdm_e2e_daemon_alive vu || return 1

	for r in 0 1; do
		hex=$(vdm_e2e_value "rng-hex-$r")
		[ "${#hex}" = $((READ_LEN * 2)) ] || fail "$name: rng round $r: ${#hex} hex digits, want $((READ_LEN * 2))" || return 1
		off=$(pattern_offset "$hex")
		[ "$off" -ge 0 ] || fail "$name: rng round $r: the guest's bytes are not the daemon's pattern (first 32: ${hex:0:64})" || return 1
		[ "$(vdm_e2e_value "blk-size-$r")" = $((IMG_MIB * 2048)) ] ||
			fail "$name: blk round $r: size $(vdm_e2e_value "blk-size-$r") sectors, want $((IMG_MIB * 2048))" || return 1
		[ "$(vdm_e2e_value "blk-serial-$r")" = "$SERIAL" ] ||
			fail "$name: blk round $r: serial '$(vdm_e2e_value "blk-serial-$r")'" || return 1
		[ "$(vdm_e2e_value "blk-read-$r")" = "$READ_MD5" ] ||
			fail "$name: blk round $r: MiB $R_MIB read back as $(vdm_e2e_value "blk-read-$r"), host wrote $READ_MD5" || return 1
		# The host's image holds the guest's write, byte for byte.
		w=$(vdm_e2e_repeat "vdm-vfio-user $nonce $r" "$MIB" | md5sum | cut -d' ' -f1)
		[ "$(vdm_e2e_value "blk-wrote-$r")" = "$w" ] && [ "$(vdm_e2e_value "blk-back-$r")" = "$w" ] ||
			fail "$name: blk round $r: the guest wrote $(vdm_e2e_value "blk-wrote-$r"), read back $(vdm_e2e_value "blk-back-$r"), want $w" || return 1
		[ "$(dd if="$IMG" bs="$MIB" skip=$((W_MIB + r)) count=1 status=none | md5sum | cut -d' ' -f1)" = "$w" ] ||
			fail "$name: blk round $r: MiB $((W_MIB + r)) of the image is not what the guest wrote" || return 1
		vdm_e2e_log "$name: round $r: rng at pattern offset $off, blk read and write verified on the host"
	done
	# The rest of the image is untouched.
	[ "$(dd if="$IMG" bs="$MIB" skip="$R_MIB" count=1 status=none | md5sum | cut -d' ' -f1)" = "$READ_MD5" ] ||
		fail "$name: MiB $R_MIB of the image changed" || return 1
	TIMES+=("$(printf '%-16s initramfs %ss, qemu run %ss (%s)' "$name" "$t_build" \
		"$VDM_E2E_LAST_SECS" "$VDM_E2E_LAST_TIMES")")
	vdm_e2e_log "$name: PASS: $(vdm_e2e_value irq-kinds), $(vdm_e2e_value irq-total) virtio interrupts"
}

vdm_e2e_log "QEMU: $(vdm_e2e_qemu_version) (chroot $VDM_E2E_TRIXIE)"
for irq in ${VFU_MODES:-msix intx}; do
	if boot "$irq"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		vdm_e2e_daemon_log vu
		vdm_e2e_daemon_alive vu || break
	fi
done

vdm_e2e_daemon_check_log vu || failed=$((failed + 1))
vdm_e2e_log "timings:"
for t in "${TIMES[@]}"; do
	vdm_e2e_log "  $t"
done
vdm_e2e_log "total $(vdm_e2e_since "$T_ALL") s"
echo "vfio-user ($FRONTEND): $passed boots passed, $failed failed"
[ "$failed" -eq 0 ]
