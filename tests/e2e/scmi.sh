#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-guest test of vdm's SCMI device (virtio-scmi + the SCMI platform
# module) on an arm64 guest: vdm-vhost-user --device scmi serves QEMU 10's
# vhost-user-scmi (virtio-mmio on qemu-system-aarch64 -M virt, TCG) and
# Linux's SCMI stack (tests/e2e/kernel-arm64.sh: arm,scmi-virtio transport,
# scmi-hwmon, clk-scmi, the SCMI power-domain and reset drivers, debugfs
# with the SCMI raw interface) talks to it. The device tree is QEMU's own
# (dumpdtb) plus a /firmware/scmi node with the protocol subnodes 0x11,
# 0x14, 0x15 and 0x16 (Linux's arm,scmi.yaml binding).
# The guest (scmi-guest.sh) prints, and the host compares with the daemon's
# tables:
#   - the virtio device (id 32) bound to scmi-virtio, with P2A_CHANNELS;
#   - every hwmon input of "scmi_sensors" = the sensor values file, scaled
#     the way scmi-hwmon scales (milli-units; micro for power and energy);
#   - every clock rate (debugfs clk/NAME/clk_rate) and every power domain
#     state (debugfs pm_genpd/NAME/current_state);
#   - after the guest subscribes to SENSOR_UPDATE (SCMI raw message
#     SENSOR_CONTINUOUS_UPDATE_NOTIFY) the host writes a new value into the
#     values file: the notification reaches the guest's raw notification
#     queue with that value, and hwmon reads it.
#
#   tests/e2e/scmi.sh --daemon build/examples/vhost-user/vdm-vhost-user
#
# VDM_E2E_SCMI_MODE=wire only proves the boot path (the device is bound and
# the SCMI core probes it), with whatever daemon device VDM_E2E_SCMI_DEVICE
# names: a debugging aid, never what ctest runs.

set -euo pipefail

VDM_E2E_ARCH=aarch64
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

vdm_e2e_require
vdm_e2e_daemon_find "$@"
KDIR=$("$VDM_E2E_LIB_DIR/kernel-arm64.sh" --path)
[ -f "$KDIR/Image" ] || vdm_e2e_die "arm64 guest kernel $KDIR missing (sudo tests/e2e/setup.sh builds it)"
MODE=${VDM_E2E_SCMI_MODE:-full}

T_ALL=$(vdm_e2e_now)
SOCK=$VDM_E2E_TMP/scmi.sock
LOG=$VDM_E2E_TMP/scmi.console.log

# ---- device tree: QEMU's virt tree plus the SCMI node --------------------
DTB=$VDM_E2E_TMP/scmi.dtb
vdm_e2e_dump_dtb "$VDM_E2E_TMP/virt.dtb"
dtc -q -I dtb -O dts -o "$VDM_E2E_TMP/virt.dts" "$VDM_E2E_TMP/virt.dtb"
grep -q 'arm,scmi' "$VDM_E2E_TMP/virt.dts" && vdm_e2e_die "QEMU's tree already has an SCMI node"
cat >>"$VDM_E2E_TMP/virt.dts" <<'EOF'

/ {
	firmware {
		scmi {
			compatible = "arm,scmi-virtio";
			#address-cells = <1>;
			#size-cells = <0>;

			protocol@11 {
				reg = <0x11>;
				#power-domain-cells = <1>;
			};

			protocol@14 {
				reg = <0x14>;
				#clock-cells = <1>;
			};

			protocol@15 {
				reg = <0x15>;
				#thermal-sensor-cells = <1>;
			};

			protocol@16 {
				reg = <0x16>;
				#reset-cells = <1>;
			};
		};
	};
};
EOF
dtc -q -I dts -O dtb -o "$DTB" "$VDM_E2E_TMP/virt.dts"

# ---- the daemon ------------------------------------------------------------
DEVICE=${VDM_E2E_SCMI_DEVICE:-scmi}
vdm_e2e_daemon_start vu -v --socket "$SOCK" --device "$DEVICE"

echo "$MODE" >"$VDM_E2E_TMP/mode"
echo 0 >"$VDM_E2E_TMP/notify-sensor"
vdm_e2e_build_initramfs --file "$VDM_E2E_TMP/mode:/vdm/mode" \
	--file "$VDM_E2E_TMP/notify-sensor:/vdm/notify-sensor" \
	"$VDM_E2E_TMP/initrd" "$VDM_E2E_LIB_DIR/scmi-guest.sh"

failed=0
check() { # NAME GOT WANT
	if [ "$2" = "$3" ]; then
		vdm_e2e_log "ok: $1 = $2"
	else
		vdm_e2e_log "FAIL: $1 = '$2', want '$3'"
		failed=$((failed + 1))
	fi
}

expect=(--expect virtio --expect probe)
[ "$MODE" = wire ] || expect+=(--expect hwmon --expect clocks --expect power --expect notify)
# virtio-mmio.force-legacy=false: QEMU's virtio-mmio is legacy (version 1)
# by default, and Linux's SCMI transport wants VIRTIO_F_VERSION_1.
# pd_ignore_unused: genpd would otherwise switch off every domain no device
# uses at late boot, and the states read would not be the daemon's table.
if vdm_e2e_run_qemu --name scmi --kernel "$KDIR/Image" --dtb "$DTB" --log "$LOG" \
	--initrd "$VDM_E2E_TMP/initrd" --timeout 180 --append pd_ignore_unused "${expect[@]}" -- \
	-global virtio-mmio.force-legacy=false \
	-chardev "socket,id=c0,path=$SOCK" -device vhost-user-scmi,chardev=c0; then
	check virtio-driver "$(vdm_e2e_value virtio-driver)" scmi-virtio
	check transport "$(vdm_e2e_value transport)" arm,scmi-virtio
else
	failed=$((failed + 1))
fi
vdm_e2e_daemon_alive vu || failed=$((failed + 1))
vdm_e2e_daemon_check_log vu || failed=$((failed + 1))
[ "$failed" -eq 0 ] || vdm_e2e_daemon_log vu
vdm_e2e_log "total $(vdm_e2e_since "$T_ALL") s (guest $VDM_E2E_LAST_SECS s)"
echo "scmi: $([ "$failed" -eq 0 ] && echo PASS || echo "FAIL ($failed)")"
[ "$failed" -eq 0 ]
