#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-kernel test of the daemon's evdev passthrough (`input,evdev=PATH`,
# vdm-vhost-user-input --evdev-path=PATH --no-grab), which the host cannot
# run (no /dev/uinput): everything runs inside a guest on the kernel of our
# own (tests/e2e/kernel.sh: INPUT_EVDEV, INPUT_UINPUT built in; no VT, so no
# keyboard handler touches the devices' LEDs). vdm-e2e-vu-cmd (vu_input.c)
# makes two uinput devices, a keyboard (keys, MSC_SCAN, LEDs, a sound,
# autorepeat) and a multi-touch screen (INPUT_PROP_DIRECT, BTN_TOUCH, six
# axes, ten slots); daemon 1 (multi-device form) passes the keyboard
# through with the grab (the default), daemon 2 (vdm-vhost-user-input,
# the program form) the touch screen with --no-grab; vu-cmd's virtio-input
# drivers a and b drive them as the spec says.
#
# Compared on the host, byte for byte (VIRTIO 1.4 "Input Device"):
#  - Device configuration layout: every select/subsel answer (ID_NAME,
#    ID_SERIAL, ID_DEVIDS, PROP_BITS, EV_BITS of every event type,
#    ABS_INFO of every axis and of one not there) equals what was given
#    to uinput: the name, no serial (uinput sets none), the ids, bitmaps
#    ending at their last set byte (EV_REP: REP_DELAY and REP_PERIOD),
#    min/max/fuzz/flat/res; unknown selects and non-zero subsel: size 0.
#  - Device Operation: the events written to uinput come out of the eventq
#    in order with their SYN_REPORT framing, more than the 16 buffers the
#    driver has (buffers are added back as they return).
#  - "A device SHOULD either buffer or drop the entire sequence": 80
#    four-event updates while the driver has no buffer: the first 64 (the
#    daemon's 256-event ring) arrive whole, then SYN_DROPPED + SYN_REPORT,
#    nothing of the rest (the daemon logs the loss).
#  - statusq: EV_LED, EV_SND and EV_REP events of the driver reach the
#    uinput device (read on its fd) and come back on the eventq as every
#    evdev reader sees them; an EV_KEY status event goes nowhere.
#  - grab: a second reader of the grabbed keyboard gets nothing, a second
#    daemon asking for the grab fails at start (EBUSY); a second reader of
#    the touch screen (--no-grab) gets exactly what the driver gets.
#  - the host kernel's SYN_DROPPED (the daemon stopped while 1101 events
#    come): the driver gets SYN_DROPPED + SYN_REPORT, then whole updates.
#  - no driver: updates written while the front-end is away are dropped;
#    the next front-end gets only later ones.
#  - removal: the keyboard's uinput device is destroyed mid-run: the daemon
#    logs it, keeps running, still answers config and the statusq.
#
#   tests/e2e/evdev.sh --daemon build/examples/vhost-user/vdm-vhost-user \
#       --front build/tests/e2e/vdm-e2e-vu-cmd

set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

FRONT=${VDM_E2E_VU_CMD:-}
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--front) FRONT=${2:-} && shift 2 ;;
	*) args+=("$1") && shift ;;
	esac
done
vdm_e2e_require
vdm_e2e_daemon_find "${args[@]}"
if [ -z "$FRONT" ] || [ ! -x "$FRONT" ]; then
	vdm_e2e_die "no front-end: pass --front PATH-TO-vdm-e2e-vu-cmd (ctest does)"
fi
KDIR=$("$VDM_E2E_LIB_DIR/kernel.sh" --path)
[ -f "$KDIR/vmlinux" ] || vdm_e2e_die "guest kernel $KDIR missing (sudo tests/e2e/setup.sh builds it)"
for o in CONFIG_INPUT_UINPUT=y CONFIG_INPUT_EVDEV=y; do
	grep -qx "$o" "$KDIR/config" || vdm_e2e_die "$KDIR has no $o (kernel.config)"
done

T_ALL=$(vdm_e2e_now)

# ---- encoders: what the device must answer -------------------------------
# hex of a string, without NUL
strhex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
# little-endian 16/32-bit hex of a (possibly negative) number
le16() { printf '%02x%02x' $(($1 & 255)) $((($1 >> 8) & 255)); }
le32() {
	local v=$(($1 & 0xffffffff))
	printf '%02x%02x%02x%02x' $((v & 255)) $(((v >> 8) & 255)) \
		$(((v >> 16) & 255)) $(((v >> 24) & 255))
}
# bitmap of the codes given (comma-separated), up to its last set byte
bitmap() {
	local -a b=()
	local c max=0 i out=""
	IFS=, read -ra cs <<<"$1"
	for c in "${cs[@]}"; do
		c=$((c))
		[ "$c" -gt "$max" ] && max=$c
	done
	for ((i = 0; i <= max / 8; i++)); do b[i]=0; done
	for c in "${cs[@]}"; do
		c=$((c))
		b[c / 8]=$((b[c / 8] | (1 << (c % 8))))
	done
	for ((i = 0; i <= max / 8; i++)); do out+=$(printf '%02x' "${b[i]}"); done
	echo "size $((max / 8 + 1)) $out"
}
ev() { printf '%04x:%04x:%08x' $(($1)) $(($2)) $(($3 & 0xffffffff)); }
SYN=$(ev 0 0 0)

# ---- the devices ---------------------------------------------------------
KBD_NAME="vdm e2e keyboard"
KBD_IDS=(0x0003 0x1234 0x5678 0x0111)
KBD_KEYS="1,28,30,42,48,58,88,96,113,116,125,0x160"
KBD_MSC="4"          # MSC_SCAN
KBD_LED="0,1,2"      # NUML CAPSL SCROLLL
KBD_SND="1"          # SND_BELL
T_NAME="vdm e2e touch"
T_IDS=(0x0006 0x0001 0x0002 0x0003)
T_PROP="1"           # INPUT_PROP_DIRECT
T_KEYS="0x14a"       # BTN_TOUCH
# axis min max fuzz flat res: X, Y, MT_SLOT (10 slots), MT_POSITION_X/Y,
# MT_TRACKING_ID (0..65535: what the kernel's MT core sets for it anyway)
T_ABS=("0 0 1023 0 0 4" "1 0 767 0 0 4" "0x2f 0 9 0 0 0" "0x35 0 1023 0 0 4"
	"0x36 0 767 0 0 4" "0x39 0 65535 0 0 0")
abs_arg() {
	local a out="" x
	for a in "${T_ABS[@]}"; do
		read -ra x <<<"$a"
		out+="${out:+/}$(printf '%x' $((x[0]))):${x[1]}:${x[2]}:${x[3]}:${x[4]}:${x[5]}"
	done
	echo "$out"
}
ids_arg() { printf '%x:%x:%x:%x' $(($1)) $(($2)) $(($3)) $(($4)); }
ids_hex() { echo "size 8 $(le16 "$1")$(le16 "$2")$(le16 "$3")$(le16 "$4")"; }
T_ABSCODES=""
for a in "${T_ABS[@]}"; do T_ABSCODES+="${T_ABSCODES:+,}${a%% *}"; done

# ---- the script and what each line must print ---------------------------
cmds=()
want=()
step() { # COMMAND EXPECTED-OUTPUT
	cmds+=("$1")
	want+=("$2")
}
spawn_wait() { # LOG: wait for the daemon's "listening on"
	echo "sh n=0; while ! grep -q 'listening on' $1; do n=\$((n + 1)); [ \$n -lt 400 ] || exit 1; usleep 50000; done"
}

step "uinput a create ${KBD_NAME// /_} $(ids_arg "${KBD_IDS[@]}") key=$KBD_KEYS msc=$KBD_MSC led=$KBD_LED snd=$KBD_SND rep" "created"
step "uinput b create ${T_NAME// /_} $(ids_arg "${T_IDS[@]}") prop=$T_PROP key=$T_KEYS abs=$(abs_arg)" "created"
step "sh vdm-vhost-user -v --socket /tmp/a.sock --device input,evdev=/tmp/a.evdev >/tmp/vu1.log 2>&1 & echo \$! >/tmp/vu1.pid" "sh 0"
step "sh vdm-vhost-user-input -v --socket-path=/tmp/b.sock --evdev-path=/tmp/b.evdev --no-grab >/tmp/vu2.log 2>&1 & echo \$! >/tmp/vu2.pid" "sh 0"
step "$(spawn_wait /tmp/vu1.log)" "sh 0"
step "$(spawn_wait /tmp/vu2.log)" "sh 0"
# A second daemon cannot grab what daemon 1 holds: it fails at start.
step "sh vdm-vhost-user --socket /tmp/c.sock --device input,evdev=/tmp/a.evdev >/tmp/vu3.log 2>&1" "sh 1"
step "sh grep -q 'evdev /tmp/a.evdev: cannot grab it (Device or resource busy)' /tmp/vu3.log" "sh 0"
step "open a /tmp/a.sock" "ok"
step "open b /tmp/b.sock" "ok"

# Device configuration layout.
cfg_common() { # N NAME IDS...
	local n=$1 name=$2
	shift 2
	step "$n cfg 1 0" "size ${#name} $(strhex "$name")"
	step "$n cfg 1 1" "size 0" # "subsel is zero"
	step "$n cfg 2 0" "size 0" # uinput gives no serial (EVIOCGUNIQ)
	step "$n cfg 3 0" "$(ids_hex "$@")"
	step "$n cfg 0 0" "size 0"    # VIRTIO_INPUT_CFG_UNSET
	step "$n cfg 0x13 0" "size 0" # no such select
}
cfg_common a "$KBD_NAME" "${KBD_IDS[@]}"
step "a cfg 0x10 0" "size 0" # no property
for t in 0 2 3 5 0x15 0x1f; do step "a cfg 0x11 $t" "size 0"; done
step "a cfg 0x11 1" "$(bitmap "$KBD_KEYS")"
step "a cfg 0x11 4" "$(bitmap "$KBD_MSC")"
step "a cfg 0x11 0x11" "$(bitmap "$KBD_LED")"
step "a cfg 0x11 0x12" "$(bitmap "$KBD_SND")"
step "a cfg 0x11 0x14" "$(bitmap 0,1)" # REP_DELAY, REP_PERIOD
step "a cfg 0x12 0" "size 0"
cfg_common b "$T_NAME" "${T_IDS[@]}"
step "b cfg 0x10 0" "$(bitmap "$T_PROP")"
for t in 0 2 4 0x11 0x14; do step "b cfg 0x11 $t" "size 0"; done
step "b cfg 0x11 1" "$(bitmap "$T_KEYS")"
step "b cfg 0x11 3" "$(bitmap "$T_ABSCODES")"
for a in "${T_ABS[@]}"; do
	read -ra x <<<"$a"
	step "b cfg 0x12 ${x[0]}" "size 20 $(le32 "${x[1]}")$(le32 "${x[2]}")$(le32 "${x[3]}")$(le32 "${x[4]}")$(le32 "${x[5]}")"
done
step "b cfg 0x12 2" "size 0" # ABS_Z: not an axis of the device

# Keyboard events: taps (MSC_SCAN, key, SYN) and a shift chord, one
# update per write(); 42 events for a driver with 16 buffers.
KS=()
KMSC=()
tap() { # CODE VALUE
	KS+=("$(ev 4 4 $((0x70000 + $1))) $(ev 1 "$1" "$2") $SYN")
	KMSC+=("$(ev 4 4 $((0x70000 + $1)))")
}
for k in 30 48 28 1 0x160; do
	tap "$k" 1
	tap "$k" 0
done
tap 42 1
tap 48 1
tap 48 0
tap 42 0
KALL=$(printf '%s ' "${KS[@]}")
KALL=${KALL% }
KSEND=$(printf '%s | ' "${KS[@]}")
step "reader a open /tmp/a.evdev" "ok" # grabbed by daemon 1: reads nothing
step "a post 16" "posted 16"
step "uinput a send ${KSEND% | }" "ok"
step "a recv 10000 42" "$KALL"
step "a recv 300" "none"
step "reader a recv 300" "none"
# The kernel hands EV_MSC to the device as well as to its readers
# (INPUT_PASS_TO_ALL): the uinput fd sees the scan codes, nothing else.
step "uinput a recv 5000 ${#KMSC[@]}" "${KMSC[*]}"
step "uinput a recv 300" "none"

# Status: LED, sound and repeat go to the device, each echoed to every
# reader (the driver too) with the SYN_REPORT the daemon writes after it.
for s in "0x11 1 1" "0x12 1 1" "0x14 0 500" "0x11 1 0"; do
	read -ra x <<<"$s"
	step "a status ${x[*]}" "ok"
	step "uinput a recv 5000 1" "$(ev "${x[0]}" "${x[1]}" "${x[2]}")"
	step "a recv 5000 2" "$(ev "${x[0]}" "${x[1]}" "${x[2]}") $SYN"
done
# A key from the driver: consumed, never typed on the host.
step "a status 1 30 1" "ok"
step "uinput a recv 300" "none"
step "a recv 300" "none"
step "reader a recv 100" "none"

# Overflow: 80 updates of 4 events (MT_POSITION_X/Y, X, SYN) while driver
# b has no buffer, 10 a write group, 300 ms apart (the daemon's evdev
# buffer never fills).
FLOOD=()
for ((j = 1; j <= 80; j++)); do
	FLOOD+=("$(ev 3 0x35 "$j") $(ev 3 0x36 "$j") $(ev 3 0 "$j") $SYN")
done
for ((g = 0; g < 8; g++)); do
	s=$(printf '%s | ' "${FLOOD[@]:g*10:10}")
	step "uinput b send ${s% | }" "ok"
	step "sleep 300" "slept"
done
step "b post 16" "posted 16"
for ((g = 0; g < 8; g++)); do
	s=$(printf '%s ' "${FLOOD[@]:g*8:8}")
	step "b recv 10000 32" "${s% }"
done
step "b recv 5000 2" "$(ev 0 3 0) $SYN" # SYN_DROPPED, SYN_REPORT
step "b recv 300" "none"

# No grab: a second reader of the touch screen gets what the driver gets.
TS=("$(ev 3 0x39 5) $(ev 3 0x35 100) $(ev 3 0x36 200) $(ev 1 0x14a 1) $(ev 3 0 100) $(ev 3 1 200) $SYN"
	"$(ev 3 0x35 101) $(ev 3 0 101) $SYN"
	"$(ev 3 0x2f 1) $(ev 3 0x39 6) $(ev 3 0x35 500) $(ev 3 0x36 300) $SYN"
	"$(ev 3 0x39 -1) $(ev 3 0x2f 0) $(ev 3 0x39 -1) $(ev 1 0x14a 0) $SYN")
TALL=$(printf '%s ' "${TS[@]}")
TALL=${TALL% }
TN=$(wc -w <<<"$TALL")
TSEND=$(printf '%s | ' "${TS[@]}")
step "reader b open /tmp/b.evdev" "ok"
step "uinput b send ${TSEND% | }" "ok"
step "b recv 10000 $TN" "$TALL"
step "reader b recv 5000 $TN" "$TALL"
step "b recv 300" "none"

# The host kernel's SYN_DROPPED: daemon 2 stopped (SIGSTOP), 367 updates
# (1101 events, more than its evdev buffer holds, 512 for this device) are
# written; the kernel keeps SYN_DROPPED and the newest events. The driver
# gets SYN_DROPPED + SYN_REPORT, then whole updates only: a suffix of what
# was written (checked on the host: FLOOD2 below).
FL2=()
for ((j = 1; j <= 367; j++)); do
	FL2+=("$(ev 3 0 $((300 + j))) $(ev 3 1 $((300 + j))) $SYN")
done
step "sh kill -STOP \$(cat /tmp/vu2.pid)" "sh 0"
for ((g = 0; g < 367; g += 105)); do
	s=""
	for ((k = g; k < g + 105 && k < 367; k += 21)); do
		s+=$(printf '%s ' "${FL2[@]:k:21}")
		s+="| "
	done
	step "uinput b send ${s% | }" "ok"
done
step "sh kill -CONT \$(cat /tmp/vu2.pid)" "sh 0"
step "b recv 3000" "FLOOD2"
FLOOD2_STEP=$((${#cmds[@]} - 1))

# Events while no driver runs are discarded: b goes away, updates come,
# a new b gets only what comes after it.
step "close b" "closed"
step "sleep 300" "slept"
step "uinput b send $(ev 3 0 700) $(ev 3 1 700) $SYN | $(ev 3 0 701) $SYN" "ok"
step "sleep 300" "slept"
step "open b /tmp/b.sock" "ok"
step "b post 16" "posted 16"
step "uinput b send $(ev 3 0 710) $(ev 3 1 710) $SYN | $(ev 3 0 711) $SYN" "ok"
step "b recv 5000 5" "$(ev 3 0 710) $(ev 3 1 710) $SYN $(ev 3 0 711) $SYN"
step "b recv 300" "none"

# Removal: the keyboard goes; daemon 1 logs it and serves on.
step "uinput a destroy" "ok"
step "sh n=0; while ! grep -q 'the device is gone' /tmp/vu1.log; do n=\$((n + 1)); [ \$n -lt 200 ] || exit 1; usleep 50000; done" "sh 0"
step "sh kill -0 \$(cat /tmp/vu1.pid)" "sh 0"
step "a cfg 1 0" "size ${#KBD_NAME} $(strhex "$KBD_NAME")"
step "a status 0x11 0 1" "ok"
step "a recv 300" "none"
step "sh kill -0 \$(cat /tmp/vu1.pid)" "sh 0"

printf '%s\n' "${cmds[@]}" >"$VDM_E2E_TMP/evdev.cmd"

cat >"$VDM_E2E_TMP/body.sh" <<'BODY'
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
[ -c /dev/uinput ] && vdm_pass uinput || vdm_fail uinput "no /dev/uinput"
t0=$(cut -d' ' -f1 /proc/uptime)
vu-cmd input </vdm/evdev.cmd >/tmp/evdev.out 2>/tmp/evdev.err || true
vdm_value evdev-secs "$t0 $(cut -d' ' -f1 /proc/uptime)"
i=0
while read -r l; do
	vdm_value "evdev-$i" "$l"
	i=$((i + 1))
done </tmp/evdev.out
vdm_value evdev-lines "$i"
while read -r l; do vdm_info "vu-cmd: $l"; done </tmp/evdev.err
vdm_pass evdev

for n in 1 2; do
	if [ -f /tmp/vu$n.pid ]; then
		p=$(cat /tmp/vu$n.pid)
		if kill -0 "$p" 2>/dev/null; then
			vdm_value alive-$n yes
			kill "$p"
		else
			vdm_value alive-$n no
		fi
	fi
done
sleep 1
for n in 1 2; do
	[ -f /tmp/vu$n.log ] || continue
	while read -r l; do vdm_info "daemon $n: $l"; done </tmp/vu$n.log
	# Expected: daemon 1 logs the removal and the driver's EV_KEY, daemon
	# 2 the overflows (at most once a second) and, as vu-cmd ends, the
	# removal of its device.
	n_bad=$(grep -E ': (error|warning): ' /tmp/vu$n.log |
		grep -cvE 'the device is gone|status event of type 1 ignored|events dropped|host kernel dropped' || true)
	vdm_value bad-log-$n "$n_bad"
	vdm_value gone-$n "$(grep -c 'the device is gone' /tmp/vu$n.log || true)"
	vdm_value dropped-$n "$(grep -c 'events dropped' /tmp/vu$n.log || true)"
	vdm_value host-dropped-$n "$(grep -c 'host kernel dropped' /tmp/vu$n.log || true)"
done
BODY

files=(--file "$VDM_E2E_DAEMON:/bin/vdm-vhost-user"
	--file "$VDM_E2E_DAEMON:/bin/vdm-vhost-user-input"
	--file "$FRONT:/bin/vu-cmd" --file "$VDM_E2E_TMP/evdev.cmd:/vdm/evdev.cmd")
while read -r lib; do
	files+=(--file "$(readlink -f "$lib"):$lib")
done < <(ldd "$VDM_E2E_DAEMON" "$FRONT" | grep -o '/[^ ]*\.so[^ ]*' | sort -u)

vdm_e2e_build_initramfs --no-autoload "${files[@]}" "$VDM_E2E_TMP/initrd" "$VDM_E2E_TMP/body.sh"
failed=0
# The driver's events after the host kernel dropped: SYN_DROPPED,
# SYN_REPORT, then the last M updates written, whole (0 < M < 367).
flood2_check() {
	local got=$1 head tail m all
	head="$(ev 0 3 0) $SYN"
	tail=${got#"$head "}
	if [ "$tail" = "$got" ]; then
		vdm_e2e_log "FAIL: host SYN_DROPPED: the events do not start with SYN_DROPPED, SYN_REPORT: ${got:0:200}"
		failed=$((failed + 1))
		return
	fi
	m=$(($(wc -w <<<"$tail") / 3))
	all=$(printf '%s ' "${FL2[@]:367-m:m}")
	if [ "$m" -ge 1 ] && [ "$m" -lt 367 ] && [ "$tail" = "${all% }" ]; then
		vdm_e2e_log "ok: host SYN_DROPPED passed on, then the last $m updates whole"
	else
		vdm_e2e_log "FAIL: host SYN_DROPPED: after the marker, not the last whole updates ($m): ${tail:0:300}"
		failed=$((failed + 1))
	fi
}
check() { # WHAT GOT WANT
	if [ "$2" = "$3" ]; then
		vdm_e2e_log "ok: $1 = $2"
	else
		vdm_e2e_log "FAIL: $1 = '$2', want '$3'"
		failed=$((failed + 1))
	fi
}
if vdm_e2e_run_qemu --name evdev --kernel "$KDIR/vmlinux" \
	--initrd "$VDM_E2E_TMP/initrd" --expect uinput --expect evdev; then
	n=$(vdm_e2e_value evdev-lines)
	check "result lines" "$n" "${#want[@]}"
	for i in "${!want[@]}"; do
		got=$(vdm_e2e_value "evdev-$i" || echo "(no line)")
		if [ "$i" = "$FLOOD2_STEP" ]; then
			flood2_check "$got"
			continue
		fi
		if [ "$got" = "${want[$i]}" ]; then
			vdm_e2e_log "ok: ${cmds[$i]:0:60} -> ${got:0:60}"
		else
			vdm_e2e_log "FAIL: ${cmds[$i]:0:300}"
			vdm_e2e_log "   got: $got"
			vdm_e2e_log "  want: ${want[$i]}"
			failed=$((failed + 1))
		fi
	done
	check "daemon 1 alive at the end" "$(vdm_e2e_value alive-1 || echo '?')" yes
	check "daemon 2 alive at the end" "$(vdm_e2e_value alive-2 || echo '?')" yes
	check "daemon 1 removal logged" "$(vdm_e2e_value gone-1 || echo '?')" 1
	got=$(vdm_e2e_value dropped-2 || echo 0)
	check "daemon 2 overflow logged" "$([ "$got" -ge 1 ] && echo yes || echo "no ($got)")" yes
	check "daemon 2 host SYN_DROPPED logged" "$(vdm_e2e_value host-dropped-2 || echo '?')" 1
	check "daemon 1 other warnings" "$(vdm_e2e_value bad-log-1 || echo '?')" 0
	check "daemon 2 other warnings" "$(vdm_e2e_value bad-log-2 || echo '?')" 0
	read -r a b <<<"$(vdm_e2e_value evdev-secs)"
	vdm_e2e_log "front-end commands: $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b - a }') s in the guest"
else
	failed=$((failed + 1))
fi
vdm_e2e_log "total $(vdm_e2e_since "$T_ALL") s (guest $VDM_E2E_LAST_SECS s)"
echo "evdev: $([ "$failed" -eq 0 ] && echo PASS || echo "FAIL ($failed)")"
[ "$failed" -eq 0 ]
