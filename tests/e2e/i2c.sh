#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-guest test of vdm's I2C adapter: vdm-vhost-user serves a virtual bus
# to Linux's i2c-virtio driver through QEMU 10's vhost-user-i2c-pci, on the
# guest kernel of our own (tests/e2e/kernel.sh: Debian's kernel has no
# I2C_VIRTIO). The bus holds:
#   0x50  a 24c02 EEPROM backed by a file of 256 random bytes
#   0x48  an LM75 whose temperature is a file (25.5 degrees)
#   0x49  an LM75 whose temperature a script prints (-5 degrees)
# The guest:
#   - finds the adapter; busybox i2cdetect -q (SMBus Quick: zero-length
#     writes) sees exactly 0x48, 0x49 and 0x50;
#   - i2cget / i2cset / i2ctransfer against the sensor's registers;
#   - binds the kernel's at24 driver (new_device) and reads the eeprom file:
#     the daemon's backing bytes exactly; writes 16 bytes through it, which
#     the host then finds in the daemon's file;
#   - binds the kernel's lm75 driver (hwmon) to both sensors: temp1_input is
#     25500 and -5000.
#
# With --frontend vfio-user the daemon serves the bus with --vfio-user
# instead, through vdm's own virtio-pci transport, to QEMU 11.1's
# vfio-user-pci (the trixie chroot, daemon-lib.sh), in two boots with a
# daemon each: MSI-X, and pci=nomsi (INTx); each also checks that the
# function (0x1af4:0x1062) interrupts that way (guest-lib.sh vdm_pci_irq).
#
#   tests/e2e/i2c.sh --daemon build/examples/vhost-user/vdm-vhost-user
#   tests/e2e/i2c.sh --daemon ... --frontend vfio-user
#
# Environment: lib.sh's (VDM_E2E_TIMEOUT, VDM_E2E_KEEP, VDM_E2E_VERBOSE...),
# VDM_VHOST_USER (daemon path), VFU_MODES="msix intx" (the vfio-user boots).

set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

vdm_e2e_frontend_parse "$@"
vdm_e2e_require
vdm_e2e_daemon_find "${VDM_E2E_ARGS[@]}"
vdm_e2e_frontend_setup ours
KDIR=$("$VDM_E2E_LIB_DIR/kernel.sh" --path)
[ -f "$KDIR/vmlinux" ] || vdm_e2e_die "guest kernel $KDIR missing (sudo tests/e2e/setup.sh builds it)"

T_ALL=$(vdm_e2e_now)
EE=$VDM_E2E_TMP/eeprom.bin
ORIG=$VDM_E2E_TMP/eeprom.orig
TEMP=$VDM_E2E_TMP/temp
SCRIPT=$VDM_E2E_TMP/temp.sh
head -c 256 /dev/urandom >"$ORIG"
echo 25500 >"$TEMP"
printf '#!/bin/sh\necho -5000\n' >"$SCRIPT"
chmod 755 "$SCRIPT"

cat >"$VDM_E2E_TMP/body.sh" <<'BODY'
. /vdm/params
bus=""
for i in $(seq 50); do
	for a in /sys/bus/i2c/devices/i2c-*; do
		[ -e "$a/name" ] || continue
		case "$(cat "$a/name")" in *virtio*) bus=${a##*/i2c-} ;; esac
	done
	[ -n "$bus" ] && break
	usleep 100000
done
[ -n "$bus" ] || { vdm_fail adapter "no virtio i2c adapter"; exit 1; }
vdm_wait_path /dev/i2c-$bus
vdm_value adapter "$(cat /sys/bus/i2c/devices/i2c-$bus/name)"
vdm_pass adapter

# Zero-length requests: SMBus Quick write on every address.
found=$(i2cdetect -y -q "$bus" | sed '1d; s/^[0-9a-f]*://' | tr -s ' ' '\n' | grep -E '^[0-9a-f]{2}$' | tr '\n' ' ')
vdm_value detect "$found"
[ "$found" = "48 49 50 " ] && vdm_pass detect || vdm_fail detect "found: $found"

# Sensor registers by hand: temp (word, LSB first on SMBus), conf, tos.
vdm_value temp-word "$(i2cget -y "$bus" 0x48 0 w)"
i2cset -y "$bus" 0x48 1 0x02
vdm_value conf "$(i2cget -y "$bus" 0x48 1 b)"
vdm_value tos "$(i2ctransfer -y "$bus" w1@0x48 0x03 r2)"
i2cset -y "$bus" 0x48 1 0x00
vdm_pass tools

# at24 on the EEPROM: read it whole, then write 16 bytes at 32.
echo 24c02 0x50 >/sys/bus/i2c/devices/i2c-$bus/new_device
ee=/sys/bus/i2c/devices/$bus-0050/eeprom
vdm_wait_path "$ee"
vdm_value eeprom-hex "$(od -An -v -tx1 "$ee" | tr -d ' \n')"
printf 'vdm-e2e-at24-ok!' | dd of="$ee" bs=16 seek=2 conv=notrunc 2>/dev/null
vdm_value eeprom-back "$(dd if="$ee" bs=16 skip=2 count=1 2>/dev/null)"
vdm_pass at24

# lm75 (hwmon) on both sensors.
echo lm75 0x48 >/sys/bus/i2c/devices/i2c-$bus/new_device
echo lm75 0x49 >/sys/bus/i2c/devices/i2c-$bus/new_device
for a in 0048 0049; do
	d=/sys/bus/i2c/devices/$bus-$a/hwmon
	vdm_wait_path "$d"
	vdm_value "temp-$a" "$(cat "$d"/hwmon*/temp1_input)"
done
vdm_pass lm75
[ "$MODE" = vhost ] || vdm_pci_irq 0x1062 "$MODE"
BODY

failed=0
check() { # NAME GOT WANT
	if [ "$2" = "$3" ]; then
		vdm_e2e_log "ok: $1 = $2"
	else
		vdm_e2e_log "FAIL: $1 = '$2', want '$3'"
		failed=$((failed + 1))
	fi
}

# boot MODE: a daemon (vu-MODE) and a guest; counts failures in $failed.
boot() {
	local mode=$1 name=i2c-$1 sock=$VDM_E2E_TMP/i2c-$1.sock expect=() f0=$failed
	cp "$ORIG" "$EE"
	vdm_e2e_daemon_start "vu-$mode" -v "$VDM_E2E_SOCKOPT" "$sock" \
		--device "i2c,eeprom=0x50:24c02:$EE,lm75=0x48:$TEMP,lm75=0x49:$SCRIPT" ||
		{ failed=$((failed + 1)) && return 0; }
	vdm_e2e_frontend_device "$mode" "$sock" vhost-user-i2c-pci
	[ "$mode" = vhost ] || expect=(--expect irq)
	printf 'MODE=%s\n' "$mode" >"$VDM_E2E_TMP/params"
	vdm_e2e_build_initramfs --no-autoload --file "$VDM_E2E_TMP/params:/vdm/params" \
		"$VDM_E2E_TMP/initrd" "$VDM_E2E_TMP/body.sh"
	if vdm_e2e_run_qemu --name "$name" --kernel "$KDIR/vmlinux" --initrd "$VDM_E2E_TMP/initrd" \
		${VDM_E2E_APPEND:+--append "$VDM_E2E_APPEND"} \
		--expect adapter --expect detect --expect tools --expect at24 --expect lm75 "${expect[@]}" -- \
		"${VDM_E2E_DEVARGS[@]}"; then
		# 25.5 C: 51 half degrees << 7 = 0x1980, on SMBus LSB first.
		check temp-word "$(vdm_e2e_value temp-word)" 0x8019
		check conf "$(vdm_e2e_value conf)" 0x02
		check tos "$(vdm_e2e_value tos)" "0x50 0x00"
		check eeprom-read "$(vdm_e2e_value eeprom-hex)" "$(od -An -v -tx1 "$ORIG" | tr -d ' \n')"
		check eeprom-back "$(vdm_e2e_value eeprom-back)" "vdm-e2e-at24-ok!"
		check eeprom-file "$(dd if="$EE" bs=16 skip=2 count=1 2>/dev/null)" "vdm-e2e-at24-ok!"
		check eeprom-rest "$( (head -c 32 "$EE"; tail -c +49 "$EE") | md5sum)" \
			"$( (head -c 32 "$ORIG"; tail -c +49 "$ORIG") | md5sum)"
		check lm75-file "$(vdm_e2e_value temp-0048)" 25500
		check lm75-script "$(vdm_e2e_value temp-0049)" -5000
		[ "$mode" = vhost ] || vdm_e2e_log "$name: $(vdm_e2e_value pci); $(vdm_e2e_value irq-kinds), $(vdm_e2e_value msi) MSI vectors, $(vdm_e2e_value irq-total) virtio interrupts"
	else
		failed=$((failed + 1))
	fi
	vdm_e2e_daemon_alive "vu-$mode" || failed=$((failed + 1))
	vdm_e2e_stop "vu-$mode"
	vdm_e2e_daemon_check_log "vu-$mode" || failed=$((failed + 1))
	[ "$failed" -eq "$f0" ] || vdm_e2e_daemon_log "vu-$mode"
	vdm_e2e_log "$name: $([ "$failed" -eq "$f0" ] && echo PASS || echo FAIL) (guest ${VDM_E2E_LAST_SECS:-?} s)"
}

[ "$VDM_E2E_FRONTEND" = vhost-user ] || vdm_e2e_log "QEMU: $(vdm_e2e_qemu_version) (chroot $VDM_E2E_TRIXIE)"
for mode in $VDM_E2E_MODES; do
	boot "$mode"
done
vdm_e2e_log "total $(vdm_e2e_since "$T_ALL") s"
echo "i2c ($VDM_E2E_FRONTEND): $([ "$failed" -eq 0 ] && echo PASS || echo "FAIL ($failed)")"
[ "$failed" -eq 0 ]
