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
# names: a debugging aid, never what ctest runs. VDM_E2E_SCMI_DAEMON_OPTS
# replaces the daemon's "-v" ("-v -v" logs every vhost-user message).

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

# ---- the daemon and its tables --------------------------------------------
# The demo SoC of examples/vhost-user/dev_scmi.c (its header comment):
# sensors in order soc_temp (type 2 temperature), board_temp (type 2),
# vcore (type 5 voltage), all scale -3; clocks cpu (800 MHz at start) and
# uart (48 MHz); power domains gpu (off at start) and dsp (on); reset
# domains gpu_rst and usb_rst; Base vendor "vdm", sub-vendor "demo-soc",
# implementation version 1.
SENSORS=(soc_temp board_temp vcore)
SENSOR_TYPE=(2 2 5)
SENSOR_SCALE=(-3 -3 -3)
VALUES=(51250 -7500 912) # what the guest must read
NOTIFY_SENSOR=0
NEW_VALUE=61750 # written once the guest has subscribed
TRIP=60000      # trip point 1 of soc_temp, crossed upward by NEW_VALUE
declare -A CLOCK=([cpu]=800000000 [uart]=48000000)
declare -A POWER=([gpu]=off-0 [dsp]=on)
VALS=$VDM_E2E_TMP/sensors
printf '# soc_temp board_temp vcore\n%s %s %s\n' "${VALUES[@]}" >"$VALS"
DEVICE=${VDM_E2E_SCMI_DEVICE:-scmi,sensors=$VALS,poll-ms=50}
read -ra dopts <<<"${VDM_E2E_SCMI_DAEMON_OPTS:--v}" # "-v -v": every message
vdm_e2e_daemon_start vu "${dopts[@]}" --socket "$SOCK" --device "$DEVICE"

echo "$MODE" >"$VDM_E2E_TMP/mode"
echo "$NOTIFY_SENSOR $TRIP" >"$VDM_E2E_TMP/notify"
vdm_e2e_build_initramfs --file "$VDM_E2E_TMP/mode:/vdm/mode" \
	--file "$VDM_E2E_TMP/notify:/vdm/notify" \
	"$VDM_E2E_TMP/initrd" "$VDM_E2E_LIB_DIR/scmi-guest.sh"

# hwmon_value TYPE SCALE VALUE: what Linux's scmi-hwmon shows for a sensor
# value: scaled to milli-units (temperature, voltage, current) or
# micro-units (power, energy), i.e. value * 10^(scale + 3 or + 6).
hwmon_value() {
	local e=$2 v=$3
	case $1 in 2 | 5 | 6) e=$((e + 3)) ;; 7 | 8) e=$((e + 6)) ;; esac
	while [ "$e" -gt 0 ]; do v=$((v * 10)) && e=$((e - 1)); done
	while [ "$e" -lt 0 ]; do v=$((v / 10)) && e=$((e + 1)); done
	echo "$v"
}

# le_int HEX OFFSET BYTES: the little-endian signed integer at byte OFFSET
# of the hex string HEX (two digits a byte).
le_int() {
	local hex=$1 off=$2 n=$3 i v=0
	for ((i = n - 1; i >= 0; i--)); do
		v=$(((v << 8) | 16#${hex:$(((off + i) * 2)):2}))
	done
	[ "$n" -ge 8 ] || [ $((v >> (n * 8 - 1))) -eq 0 ] || v=$((v - (1 << (n * 8))))
	echo "$v"
}

# le_str HEX OFFSET BYTES: the NUL-terminated string in that field.
le_str() {
	local hex=${1:$(($2 * 2)):$(($3 * 2))} out="" i c
	for ((i = 0; i < ${#hex}; i += 2)); do
		c=${hex:i:2}
		[ "$c" != 00 ] || break
		out+=$(printf '%b' "\\x$c")
	done
	echo "$out"
}

# The guest subscribes, prints "notify-armed", then waits for the
# notification: change the value only then (the file is replaced whole).
notifier() {
	local i
	for ((i = 0; i < 1800; i++)); do
		if tr -d '\r' <"$LOG" | grep -qx 'VDM-E2E: INFO notify-armed'; then
			local v=("${VALUES[@]}")
			v[NOTIFY_SENSOR]=$NEW_VALUE
			printf '%s %s %s\n' "${v[@]}" >"$VALS.tmp"
			mv "$VALS.tmp" "$VALS"
			echo "notifier: wrote ${v[*]}"
			return 0
		fi
		sleep 0.1
	done
	echo "notifier: the guest never armed"
	return 1
}
[ "$MODE" = wire ] || vdm_e2e_spawn notifier notifier

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
[ "$MODE" = wire ] || expect+=(--expect hwmon --expect clocks --expect power --expect reset --expect notify)
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
	if [ "$MODE" != wire ]; then
		# VIRTIO_SCMI_F_P2A_CHANNELS (bit 0) and VIRTIO_F_VERSION_1 (32).
		f=$(vdm_e2e_value virtio-features)
		check feature-p2a "${f:0:1}" 1
		check feature-version-1 "${f:32:1}" 1
		check base "$(vdm_e2e_value base)" "v2.0 'vdm:demo-soc' Firmware version 0x1"
		check hwmon-count "$(vdm_e2e_value hwmon-count)" ${#SENSORS[@]}
		for i in "${!SENSORS[@]}"; do
			check "hwmon ${SENSORS[i]}" "$(vdm_e2e_value "hwmon-${SENSORS[i]}" || true)" \
				"$(hwmon_value "${SENSOR_TYPE[i]}" "${SENSOR_SCALE[i]}" "${VALUES[i]}")"
		done
		for c in "${!CLOCK[@]}"; do
			check "clock $c" "$(vdm_e2e_value "clk-$c" || true)" "${CLOCK[$c]}"
		done
		check pd-count "$(vdm_e2e_value pd-count)" ${#POWER[@]}
		for p in "${!POWER[@]}"; do
			check "power domain $p" "$(vdm_e2e_value "pd-$p" || true)" "${POWER[$p]}"
		done
		# RESET_DOMAIN_ATTRIBUTES of domain 1: header (message 3, protocol
		# 0x16, token 2), SUCCESS, attributes, latency, name[16]; RESET:
		# SUCCESS.
		r=$(vdm_e2e_value reset-attr)
		check reset-attr-header "${r:0:8}" 03580800
		check reset-attr-status "$(le_int "$r" 4 4)" 0
		check reset-attr-name "$(le_str "$r" 16 16)" usb_rst
		r=$(vdm_e2e_value reset)
		check reset-header "${r:0:8}" 04580c00
		check reset-status "$(le_int "$r" 4 4)" 0
		# SENSOR_CONTINUOUS_UPDATE_NOTIFY: its header (message 0xb, protocol
		# 0x15, token 1) and SUCCESS.
		r=$(vdm_e2e_value notify-subscribe)
		check subscribe-header "${r:0:8}" 0b540400
		check subscribe-status "$(le_int "$r" 4 4)" 0
		# SENSOR_TRIP_POINT_NOTIFY (token 4), SENSOR_TRIP_POINT_CONFIG
		# (token 5): SUCCESS.
		r=$(vdm_e2e_value trip-notify)
		check trip-notify-header "${r:0:8}" 04541000
		check trip-notify-status "$(le_int "$r" 4 4)" 0
		r=$(vdm_e2e_value trip-config)
		check trip-config-header "${r:0:8}" 05541400
		check trip-config-status "$(le_int "$r" 4 4)" 0
		# SENSOR_UPDATE (notification 1 of protocol 0x15: header 0x5701):
		# agent_id, sensor_id, then the reading (value low, high).
		r=$(vdm_e2e_value notification1)
		check notify-header "${r:0:8}" 01570000
		check notify-sensor "$(le_int "$r" 8 4)" "$NOTIFY_SENSOR"
		check notify-value "$(le_int "$r" 12 8)" "$NEW_VALUE"
		# SENSOR_TRIP_POINT_EVENT (notification 0: header 0x5700): agent_id,
		# sensor_id, trip_point_desc (bits 15:0 the trip point id, bit 16
		# set for an ascending crossing).
		r=$(vdm_e2e_value notification2)
		check trip-header "${r:0:8}" 00570000
		check trip-sensor "$(le_int "$r" 8 4)" "$NOTIFY_SENSOR"
		check trip-desc "$(printf '0x%x' "$(le_int "$r" 12 4)")" 0x10001
		check "hwmon ${SENSORS[NOTIFY_SENSOR]} after" \
			"$(vdm_e2e_value "after-${SENSORS[NOTIFY_SENSOR]}" || true)" \
			"$(hwmon_value "${SENSOR_TYPE[NOTIFY_SENSOR]}" "${SENSOR_SCALE[NOTIFY_SENSOR]}" "$NEW_VALUE")"
	fi
else
	failed=$((failed + 1))
fi
vdm_e2e_daemon_alive vu || failed=$((failed + 1))
vdm_e2e_daemon_check_log vu || failed=$((failed + 1))
[ "$failed" -eq 0 ] || vdm_e2e_daemon_log vu
vdm_e2e_log "total $(vdm_e2e_since "$T_ALL") s (guest $VDM_E2E_LAST_SECS s)"
echo "scmi: $([ "$failed" -eq 0 ] && echo PASS || echo "FAIL ($failed)")"
[ "$failed" -eq 0 ]
