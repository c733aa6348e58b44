#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-guest test of vdm's input device: vdm-vhost-user serves a keyboard
# (profile=keyboard) with an events file to a Linux 6.12 guest through
# QEMU 10's vhost-user-input-pci (TCG, i8042=off so that the only keyboard
# is ours). The guest:
#   - finds the device by name ("vdm keyboard") under /sys/class/input and
#     reports its ids and capabilities (ev, key, led bitmaps), which the host
#     compares with the keyboard profile (devices/input.c);
#   - opens its /dev/input/eventN, writes EV_REP REP_DELAY (so the kernel's
#     soft autorepeat cannot add events: a status event the host then finds
#     in the daemon's log) and EV_LED LED_SCROLLL 1, the status event the
#     events file waits for (wait-status) before it injects anything;
#   - reads the 24-byte struct input_event records (busybox dd + od) until it
#     has the expected number of events, and prints type/code/value of each.
# The host compares that sequence with the one the events file describes
# (EV_LED/EV_REP echoes of the guest's own writes and SYN_REPORTs that end
# an empty packet are dropped first).
#
# With --frontend vfio-user the daemon serves the keyboard with --vfio-user
# instead, through vdm's own virtio-pci transport, to QEMU 11.1's
# vfio-user-pci (the trixie chroot, daemon-lib.sh), on the kernel of our
# own (tests/e2e/kernel.sh: virtio_input and evdev built in), booted twice
# against the same daemon: MSI-X, and pci=nomsi (INTx); each boot also
# checks that the function (0x1af4:0x1052) interrupts that way
# (guest-lib.sh vdm_pci_irq).
#
#   tests/e2e/input.sh --daemon build/examples/vhost-user/vdm-vhost-user
#   tests/e2e/input.sh --daemon ... --frontend vfio-user
#
# Environment: lib.sh's (VDM_E2E_TIMEOUT, VDM_E2E_KEEP, VDM_E2E_VERBOSE...),
# VDM_VHOST_USER (daemon path), INPUT_ROUNDS=N boots N times over vhost-user
# (default 1), VFU_MODES="msix intx" (the vfio-user boots).

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

T_ALL=$(vdm_e2e_now)
SOCK=$VDM_E2E_TMP/kbd.sock
EVENTS=$VDM_E2E_TMP/events
REP_DELAY=30000 # ms; written by the guest, seen by the daemon

# What the daemon injects once the guest's reader is ready...
cat >"$EVENTS" <<'EOF'
# input.sh: released by the guest's reader (EV_LED LED_SCROLLL 1)
wait-status EV_LED LED_SCROLLL 1
key KEY_V
key KEY_D
key KEY_M
sleep 20
EV_KEY KEY_LEFTSHIFT 1       # shift + 1
syn
key KEY_1
EV_KEY KEY_LEFTSHIFT 0
syn
EV_KEY 28 1                  # numbers: KEY_ENTER
EV_SYN 0 0
0x01 0x1c 0
syn
key KEY_F12
key KEY_RIGHTMETA
EOF
# ...and what the guest must read, "TYPE CODE VALUE" (EV_KEY 1, EV_SYN 0).
EXPECT="1 47 1;0 0 0;1 47 0;0 0 0
1 32 1;0 0 0;1 32 0;0 0 0
1 50 1;0 0 0;1 50 0;0 0 0
1 42 1;0 0 0
1 2 1;0 0 0;1 2 0;0 0 0
1 42 0;0 0 0
1 28 1;0 0 0;1 28 0;0 0 0
1 88 1;0 0 0;1 88 0;0 0 0
1 126 1;0 0 0;1 126 0;0 0 0"
EXPECT=$(tr ';' '\n' <<<"$EXPECT")
NEVENTS=$(wc -l <<<"$EXPECT")

# The keyboard profile (devices/input.c): EV_SYN, EV_KEY, EV_LED, EV_REP;
# keys 1-83, 86-88, 96-100, 102-111, 119, 125-127; LEDs NUML, CAPSL,
# SCROLLL; BUS_VIRTUAL (6), vendor 0, product 1, version 1.
WANT_NAME="vdm keyboard"
WANT_EV=120003
WANT_KEY="e080ffdf01cfffff fffffffffffffffe"
WANT_LED=7
WANT_ID="0006 0000 0001 0001"

vdm_e2e_daemon_start vu -v "$VDM_E2E_SOCKOPT" "$SOCK" --device "input,profile=keyboard,events=$EVENTS"

cat >"$VDM_E2E_TMP/body.sh" <<'EOF'
. /vdm/params
ev=$(vdm_input_dev "$WANT_NAME" 20) || { vdm_fail found "no input device named '$WANT_NAME': $(cat /sys/class/input/*/name 2>/dev/null | tr '\n' ,)"; exit 1; }
in=/sys/class/input/${ev##*/}/device
vdm_value node "$ev"
vdm_value name "$(cat $in/name)"
vdm_value ev "$(cat $in/capabilities/ev)"
vdm_value key "$(cat $in/capabilities/key)"
vdm_value led "$(cat $in/capabilities/led)"
vdm_value id "$(cat $in/id/bustype) $(cat $in/id/vendor) $(cat $in/id/product) $(cat $in/id/version)"
vdm_value inputs "$(cat /sys/class/input/input*/name | tr '\n' ,)"
vdm_pass found

# struct input_event on x86-64: 16 bytes of time, u16 type, u16 code, s32 value.
z='\0\0\0\0\0\0\0\0'
ev_rec() { printf "$z$z\\$1\\0\\$2\\0\\$3\\$4\\0\\0"; } # octal TYPE CODE VALUE-LO VALUE-HI

exec 3<>"$ev"
dd bs=24 <&3 >/tmp/events 2>/dev/null &
reader=$!
# EV_REP REP_DELAY (octal 24, 0, value lo/hi bytes), EV_LED LED_SCROLLL 1,
# SYN_REPORT, in one write.
{
	ev_rec 024 000 "$REP_LO" "$REP_HI"
	ev_rec 021 002 001 000
	ev_rec 000 000 000 000
} >&3
vdm_pass released

# Keep EV_KEY/EV_SYN (and anything else but EV_LED/EV_REP echoes), drop a
# SYN_REPORT that closes an empty packet.
events() {
	od -An -v -w24 -tu2 /tmp/events | awk '
		NF >= 12 { t = $9; c = $10; v = $11 + $12 * 65536; if (v >= 2147483648) v -= 4294967296
			if (t == 17 || t == 20) next
			if (t == 0 && (n == 0 || last == 0)) next
			print t, c, v; n++; last = t }'
}
i=0
while [ "$(events | wc -l)" -lt "$NEVENTS" ]; do
	i=$((i + 1))
	if [ $i -gt 600 ]; then
		vdm_fail events "$(events | wc -l) of $NEVENTS events after 30 s"
		events | sed 's/^/VDM-E2E: INFO got /'
		exit 1
	fi
	usleep 50000
done
usleep 200000 # anything extra?
kill $reader
vdm_value raw-events "$(($(wc -c </tmp/events) / 24))"
events | sed 's/^/VDM-E2E: VALUE event /'
vdm_pass events
[ "$MODE" = vhost ] || vdm_pci_irq 0x1052 "$MODE" 3
EOF

passed=0
failed=0
TIMES=()

fail() {
	vdm_e2e_log "$1"
	return 1
}

boot() { # NAME MODE (vhost, msix or intx)
	local name=$1 mode=$2 t0 t_build got mark expect=() mods=(--module virtio_input --module evdev)
	mark=$(wc -l <"$VDM_E2E_TMP/vu.log")
	local lo=$((REP_DELAY & 255)) hi=$(((REP_DELAY >> 8) & 255))
	{
		printf 'WANT_NAME=%q\nNEVENTS=%s\n' "$WANT_NAME" "$NEVENTS"
		printf 'REP_LO=%03o\nREP_HI=%03o\nMODE=%s\n' "$lo" "$hi" "$mode"
	} >"$VDM_E2E_TMP/params"
	# The kernel of our own (vfio-user) has the drivers built in.
	[ "$mode" = vhost ] || { mods=(--no-autoload) && expect=(--expect irq); }
	vdm_e2e_frontend_device "$mode" "$SOCK" vhost-user-input-pci
	t0=$(vdm_e2e_now)
	vdm_e2e_build_initramfs "${mods[@]}" \
		--file "$VDM_E2E_TMP/params:/vdm/params" \
		"$VDM_E2E_TMP/initrd" "$VDM_E2E_TMP/body.sh"
	t_build=$(vdm_e2e_since "$t0")

	vdm_e2e_run_qemu --name "$name" --initrd "$VDM_E2E_TMP/initrd" \
		--machine-opts i8042=off ${VDM_E2E_APPEND:+--append "$VDM_E2E_APPEND"} \
		--expect found --expect released --expect events "${expect[@]}" -- \
		"${VDM_E2E_DEVARGS[@]}" || return 1
	vdm_e2e_daemon_alive vu || return 1

	[ "$(vdm_e2e_value name)" = "$WANT_NAME" ] || fail "name '$(vdm_e2e_value name)'" || return 1
	got=$(vdm_e2e_value ev)
	[ "$got" = "$WANT_EV" ] || fail "capabilities/ev $got, want $WANT_EV" || return 1
	got=$(vdm_e2e_value key)
	[ "$got" = "$WANT_KEY" ] || fail "capabilities/key '$got', want '$WANT_KEY'" || return 1
	got=$(vdm_e2e_value led)
	[ "$got" = "$WANT_LED" ] || fail "capabilities/led $got, want $WANT_LED" || return 1
	got=$(vdm_e2e_value id)
	[ "$got" = "$WANT_ID" ] || fail "id (bustype vendor product version) '$got', want '$WANT_ID'" || return 1

	got=$(tr -d '\r' <"$VDM_E2E_LAST_LOG" | sed -n 's/^VDM-E2E: VALUE event //p')
	if [ "$got" != "$EXPECT" ]; then
		vdm_e2e_log "events differ (< expected, > read by the guest):"
		diff <(echo "$EXPECT") <(echo "$got") | sed 's/^/  /' >&2 || true
		return 1
	fi
	# The guest's status events reached the device (this boot's log lines).
	tail -n +$((mark + 1)) "$VDM_E2E_TMP/vu.log" >"$VDM_E2E_TMP/vu.boot.log"
	grep -q "driver status event type 20 code 0 value $REP_DELAY\$" "$VDM_E2E_TMP/vu.boot.log" ||
		fail "the daemon did not see the guest's EV_REP REP_DELAY $REP_DELAY" || return 1
	grep -q "driver status event type 17 code 2 value 1\$" "$VDM_E2E_TMP/vu.boot.log" ||
		fail "the daemon did not see the guest's EV_LED LED_SCROLLL 1" || return 1
	[ "$mode" = vhost ] || vdm_e2e_log "$name: $(vdm_e2e_value pci); $(vdm_e2e_value irq-kinds), $(vdm_e2e_value msi) MSI vectors, $(vdm_e2e_value irq-total) virtio interrupts"
	TIMES+=("$(printf '%-11s initramfs %ss, qemu run %ss (%s)' "$name" "$t_build" \
		"$VDM_E2E_LAST_SECS" "$VDM_E2E_LAST_TIMES")")
	vdm_e2e_log "$name: PASS: '$WANT_NAME' at $(vdm_e2e_value node), ev=$WANT_EV led=$WANT_LED, $NEVENTS events in order ($(vdm_e2e_value raw-events) records read)"
}

boots=()
if [ "$VDM_E2E_FRONTEND" = vhost-user ]; then
	for ((r = 1; r <= ${INPUT_ROUNDS:-1}; r++)); do
		boots+=("input$r:vhost")
	done
else
	vdm_e2e_log "QEMU: $(vdm_e2e_qemu_version) (chroot $VDM_E2E_TRIXIE)"
	for m in $VDM_E2E_MODES; do
		boots+=("input-$m:$m")
	done
fi
for b in "${boots[@]}"; do
	if boot "${b%%:*}" "${b#*:}"; then
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
echo "input ($VDM_E2E_FRONTEND): $passed boots passed, $failed failed"
[ "$failed" -eq 0 ]
