# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash
#
# Guest body of tests/e2e/scmi.sh (busybox ash on the arm64 guest, sourced
# after /vdm/lib.sh by /init with `sh -e`). /vdm/mode says how far to go:
#   wire   the virtio device (id 32) is bound to Linux's scmi-virtio driver
#          and the SCMI core probed it (the boot path, whatever answers);
#   full   also: the SCMI Base answer, every hwmon reading of the
#          scmi_sensors device, every clock rate, every power domain state,
#          and one sensor notification through the SCMI raw interface.
# Markers (VDM-E2E: VALUE KEY ...) are compared by the host.

mode=$(cat /vdm/mode)
# key NAME: NAME as one marker word (anything but [A-Za-z0-9._-] becomes _).
key() { printf '%s' "$1" | tr -c 'A-Za-z0-9._-' '_'; }

# -- the virtio device and its driver ---------------------------------------
dev=""
for _ in $(seq 100); do
	for d in /sys/bus/virtio/devices/virtio*; do
		[ -e "$d/device" ] || continue
		[ "$(cat "$d/device")" = 0x0020 ] && dev=$d
	done
	[ -n "$dev" ] && [ -e "$dev/driver" ] && break
	usleep 100000
done
[ -n "$dev" ] || {
	vdm_fail virtio "no virtio device with id 32 (SCMI)"
	exit 1
}
vdm_value virtio-driver "$(basename "$(readlink "$dev/driver")")"
vdm_value virtio-features "$(cat "$dev/features")"
vdm_pass virtio

mount -t debugfs debugfs /sys/kernel/debug
# The SCMI core probes the platform device of the /firmware/scmi node once
# the transport device exists; its debugfs dir appears then.
vdm_wait_path /sys/kernel/debug/scmi/0/raw/message 20 || {
	vdm_fail probe "SCMI instance 0 (raw interface) did not appear"
	dmesg | grep -i scmi | tail -20
	exit 1
}
vdm_value transport "$(cat /sys/kernel/debug/scmi/0/transport/type)"
vdm_pass probe
if [ "$mode" = wire ]; then
	dmesg | grep -i scmi | sed 's/^/guest-dmesg: /' | tail -20
	exit 0
fi

# -- Base protocol: the agent's view of the platform ------------------------
vdm_value base "$(dmesg | sed -n "s/.*SCMI Protocol \(v[0-9.]* '.*' Firmware version 0x[0-9a-f]*\).*/\1/p" | sed -n 1p)"

# -- sensors: hwmon device "scmi_sensors" -----------------------------------
hw=""
for _ in $(seq 100); do
	for h in /sys/class/hwmon/hwmon*; do
		[ "$(cat "$h/name" 2>/dev/null)" = scmi_sensors ] && hw=$h
	done
	[ -n "$hw" ] && break
	usleep 100000
done
[ -n "$hw" ] || {
	vdm_fail hwmon "no hwmon device named scmi_sensors"
	exit 1
}
n=0
for f in "$hw"/*_input; do
	[ -e "$f" ] || continue
	c=${f##*/}
	c=${c%_input}
	vdm_value "hwmon-$(key "$(cat "$hw/${c}_label")")" "$(cat "$f")"
	n=$((n + 1))
done
vdm_value hwmon-count "$n"
vdm_pass hwmon

# -- clocks: one debugfs dir per clock --------------------------------------
n=0
for d in /sys/kernel/debug/clk/*/; do
	[ -f "$d/clk_rate" ] || continue
	c=${d%/}
	vdm_value "clk-$(key "${c##*/}")" "$(cat "$d/clk_rate")"
	n=$((n + 1))
done
vdm_value clk-count "$n"
vdm_pass clocks

# -- power domains: one debugfs dir per genpd -------------------------------
n=0
for d in /sys/kernel/debug/pm_genpd/*/; do
	[ -f "$d/current_state" ] || continue
	c=${d%/}
	vdm_value "pd-$(key "${c##*/}")" "$(cat "$d/current_state")"
	n=$((n + 1))
done
vdm_value pd-count "$n"
vdm_pass power

# -- reset domains and a sensor notification, through the SCMI raw interface -
# Raw messages are bare SCMI: le32 header (message id | protocol << 10 |
# token << 18) and le32 parameters. Replies come back from the same file.
R=/sys/kernel/debug/scmi/0/raw
le32() {
	# shellcheck disable=SC2059 # the format is the escaped bytes
	printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($1 & 255)) $((($1 >> 8) & 255)) \
		$((($1 >> 16) & 255)) $((($1 >> 24) & 255)))"
}
# raw_cmd MSG PROTO TOKEN PARAM...: send one command, print the reply as
# hex (header, status, return values).
raw_cmd() {
	_m=$1 _p=$2 _t=$3
	shift 3
	{
		le32 $((_m | (_p << 10) | (_t << 18)))
		for _a in "$@"; do le32 "$_a"; done
	} >/tmp/raw.msg
	dd if=/tmp/raw.msg of=$R/message bs=128 count=1 2>/dev/null
	timeout 10 dd if=$R/message bs=128 count=1 2>/dev/null | od -An -v -tx1 | tr -d ' \n'
}
# Reset protocol (0x16): RESET_DOMAIN_ATTRIBUTES (3) of domain 1, then
# RESET (4) of domain 0: flags 1 (autonomous), reset_state 0 (cold reset).
vdm_value reset-attr "$(raw_cmd 3 0x16 2 1)"
vdm_value reset "$(raw_cmd 4 0x16 3 0 1 0)"
vdm_pass reset

read -r sensor trip </vdm/notify
# SENSOR_CONTINUOUS_UPDATE_NOTIFY (0xb): sensor_id, notify_enable = 1.
vdm_value notify-subscribe "$(raw_cmd 11 0x15 1 "$sensor" 1)"
# SENSOR_TRIP_POINT_NOTIFY (4): sensor_id, event_control = 1; then
# SENSOR_TRIP_POINT_CONFIG (5): sensor_id, trip_point_ev_ctrl = trip point 1
# (bits 11:4) on an ascending crossing (bits 1:0 = 1), the value (low, high).
vdm_value trip-notify "$(raw_cmd 4 0x15 4 "$sensor" 1)"
vdm_value trip-config "$(raw_cmd 5 0x15 5 "$sensor" $(((1 << 4) | 1)) "$trip" 0)"
# The host raises the sensor's value above the trip point once it sees this
# line: a SENSOR_UPDATE and a SENSOR_TRIP_POINT_EVENT follow.
echo "VDM-E2E: INFO notify-armed"
for n in 1 2; do
	note=$(timeout 30 dd if=$R/notification bs=128 count=1 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
	vdm_value "notification$n" "$note"
	if [ -z "$note" ]; then
		vdm_fail notify "notification $n did not come within 30 s"
		exit 1
	fi
done
vdm_pass notify
# hwmon reads the new value too.
for f in "$hw"/*_input; do
	c=${f##*/}
	c=${c%_input}
	vdm_value "after-$(key "$(cat "$hw/${c}_label")")" "$(cat "$f")"
done
