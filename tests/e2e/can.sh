#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-kernel test of the daemon's SocketCAN backend (`can,if=IFNAME`),
# which the host cannot run (no vcan in its kernel): everything runs inside
# a guest on the kernel of our own (tests/e2e/kernel.sh: CAN, CAN_RAW,
# CAN_VCAN built in). The guest makes vcan0 with busybox
# `ip link add dev vcan0 type vcan` and runs two daemons on it: daemon 1
# serves front-end a, daemon 2 serves b and c (c offers no LATE_TX_ACK and
# its front-end drops CAN_FD). The front-ends are vdm-e2e-vu-cmd's virtio-can
# drivers (vu_can.c), one process, which also holds "wire", a raw CAN
# socket of our own that sees and makes the frames on vcan0 (vcan hands a
# frame sent on one socket to every other socket of the interface).
#
# Every result line is compared on the host with what the spec says
# (VIRTIO 1.4 "CAN Device"), byte for byte:
#  - Controller Mode: the controller starts STOPPED; a frame sent then is
#    answered NOT_OK and never reaches the wire; a stopped controller
#    receives nothing; START and STOP answer OK.
#  - CAN Message Transmission / Reception: classic frames with 11- and
#    29-bit ids and 0..8 bytes, 8 bytes with DLC 9..15
#    (reserved_classic_dlc), RTR frames, FD frames of 12 and 64 bytes go
#    a -> wire, b (in order, bit-exact) and c (without the FD ones: "the
#    maximal possible sdu length is 8" without CAN_FD); then b -> a.
#  - Frames a plain SocketCAN peer sends (FD with BRS and ESI, which virtio
#    has no bits for; an FD length no DLC encodes, which reaches the driver
#    padded to the next one) reach a; c gets the classic ones.
#  - Refused and not scheduled (NOT_OK; the wire sees none): FD without
#    CAN_FD negotiated; a standard id above 0x7ff, an extended id above
#    29 bits, RTR with FD, a classic frame of 9 bytes, an FD length no DLC
#    encodes ("out of range").
#  - Interface down: a frame is answered NOT_OK ("the CAN controller is in
#    an invalid state"), and START fails (NOT_OK); up again, START and
#    traffic work.
#  - 24 frames to b's 16 Rxq buffers: all arrive, in order.
#  - BusOff Indication: a bus-off error frame on vcan0 sets
#    VIRTIO_CAN_S_CTRL_BUSOFF and stops the controllers (NOT_OK); START
#    clears it.
#
#   tests/e2e/can.sh --daemon build/examples/vhost-user/vdm-vhost-user \
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
grep -qx CONFIG_CAN_VCAN=y "$KDIR/config" || vdm_e2e_die "$KDIR has no vcan (CONFIG_CAN_VCAN=y in kernel.config)"

T_ALL=$(vdm_e2e_now)
rnd() { head -c "$1" /dev/urandom | od -An -v -tx1 | tr -d ' \n'; }

# ---- the script and what each line must print ---------------------------
cmds=()
want=()
step() { # COMMAND EXPECTED-OUTPUT
	cmds+=("$1")
	want+=("$2")
}
# Frames a sends (virtio syntax = what b and the wire must print).
A=("123#" "7ff#$(rnd 1)" "000#$(rnd 8)" "1abcdef0#$(rnd 3)" "1fffffff#$(rnd 8)"
	"00000000#" "456#$(rnd 8)_c" "0123abcd#$(rnd 8)_f" "321#R" "12345678#R8"
	"7ff#R3" "234##0$(rnd 64)" "1bcdef01##0$(rnd 12)" "345##0")
A_CLASSIC=()
for f in "${A[@]}"; do
	case "$f" in *"##"*) ;; *) A_CLASSIC+=("$f") ;; esac
done
# Frames b sends back.
B=("111#$(rnd 2)" "1b000000##0$(rnd 48)" "10000000#R" "222#$(rnd 8)")
B_CLASSIC=("${B[0]}" "${B[2]}" "${B[3]}")
# Frames the wire sends: FD with BRS, with BRS+ESI, an FD length of 13
# (delivered as 16, zero-padded), classic.
W64=$(rnd 64)
W13=$(rnd 13)
W=("321##1$W64" "0abc0def##3$(rnd 20)" "456##0$W13" "7ff#R8" "000#")
W_A=("321##0$W64" "0abc0def##0${W[1]#0abc0def##3}" "456##0${W13}000000"
	"7ff#R8" "000#")

step "open a /tmp/a.sock" "features 0xf"
step "open b /tmp/b.sock" "features 0xf"
step "open c /tmp/c.sock 0x2" "features 0x5"
step "wire open vcan0" "ok"
step "a post 16" "posted 16"
step "b post 16" "posted 16"
step "c post 16" "posted 16"
# Controller Mode: "Initially the CAN controller is in the STOPPED state";
# "In the STOPPED state the device marks messages received from the Txq as
# used with result VIRTIO_CAN_RESULT_NOT_OK without transmitting them".
step "a send 123#11" "notok"
step "wire recv 300" "none"
step "a start" "ok"
step "b start" "ok"
step "c start" "ok"
step "a status" "status 0"
# a -> b, c, wire: in order, bit-exact; c has no CAN_FD.
step "a send ${A[*]:0:7}" "ok ok ok ok ok ok ok"
step "a send ${A[*]:7}" "ok ok ok ok ok ok ok"
step "b recv 5000 ${#A[@]}" "${A[*]}"
step "wire recv 5000 ${#A[@]}" "${A[*]}"
step "c recv 5000 ${#A_CLASSIC[@]}" "${A_CLASSIC[*]}"
step "c recv 200" "none"
# b -> a (the reverse), c and the wire.
step "b send ${B[*]}" "ok ok ok ok"
step "a recv 5000 ${#B[@]}" "${B[*]}"
step "wire recv 5000 ${#B[@]}" "${B[*]}"
step "c recv 5000 ${#B_CLASSIC[@]}" "${B_CLASSIC[*]}"
# A plain SocketCAN peer's frames.
step "wire send ${W[*]}" "ok ok ok ok ok"
step "a recv 5000 ${#W[@]}" "${W_A[*]}"
step "b recv 5000 ${#W[@]}" "${W_A[*]}"
step "c recv 5000 2" "7ff#R8 000#"
# Refused, never scheduled for transmission (CAN Message Transmission).
step "c send 123##0$(rnd 8) 1abcdef0##0" "notok notok"
step "a send 800#11 20000000#22 123##0R 123#$(rnd 9) 124##0$(rnd 13)" \
	"notok notok notok notok notok"
step "wire recv 300" "none"
step "b recv 100" "none"
# Without LATE_TX_ACK (c) a frame is used once handed to the interface.
step "c send 555#c0ffee" "ok"
step "a recv 5000 1" "555#c0ffee"
step "b recv 5000 1" "555#c0ffee"
step "wire recv 5000 1" "555#c0ffee"
# Interface down: "the CAN controller is in an invalid state" -> NOT_OK.
step "sh ip link set vcan0 down" "sh 0"
step "a send 123#01 1abcdef0##0$(rnd 16)" "notok notok"
step "b recv 300" "none"
step "a stop" "ok"
step "a start" "notok"
step "sh ip link set vcan0 up" "sh 0"
step "a start" "ok"
step "a send 123#02" "ok"
step "b recv 5000 1" "123#02"
step "c recv 5000 1" "123#02"
step "wire recv 5000 1" "123#02"
# More frames than b has Rxq buffers (16): the rest wait in the daemon and
# follow, in order, as the driver adds buffers again.
M=()
for i in $(seq 0 23); do M+=("$(printf '%03x' $((0x600 + i)))#$(rnd 4)"); done
step "a send ${M[*]:0:8}" "ok ok ok ok ok ok ok ok"
step "a send ${M[*]:8:8}" "ok ok ok ok ok ok ok ok"
step "a send ${M[*]:16:8}" "ok ok ok ok ok ok ok ok"
step "b recv 5000 24" "${M[*]}"
step "c recv 5000 24" "${M[*]}"
step "wire recv 5000 24" "${M[*]}"
# BusOff Indication: the error frame a controller driver reports reaches
# every daemon's socket: VIRTIO_CAN_S_CTRL_BUSOFF set, "the CAN controller
# is in STOPPED state" (NOT_OK); a START clears it.
step "wire busoff" "ok"
step "sleep 200" "slept"
step "a status" "status 1"
step "c status" "status 1"
step "a send 126#05" "notok"
step "a start" "ok"
step "a status" "status 0"
step "c start" "ok"
step "a send 127#06" "ok"
step "c recv 5000 1" "127#06"
step "wire recv 5000 1" "127#06"
# STOP: a stopped controller is off the bus both ways (b is bus-off, so
# START it first).
step "b start" "ok"
step "b stop" "ok"
step "a send 124#03" "ok"
step "wire recv 5000 1" "124#03"
step "b recv 300" "none"
step "b send 125#04" "notok"
step "wire recv 300" "none"
step "a status" "status 0"

printf '%s\n' "${cmds[@]}" >"$VDM_E2E_TMP/can.cmd"

cat >"$VDM_E2E_TMP/body.sh" <<'BODY'
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
ip link add dev vcan0 type vcan
ip link set vcan0 up
vdm_value vcan "$(cat /sys/class/net/vcan0/type) $(cat /sys/class/net/vcan0/mtu)"
vdm_pass vcan

# ---- two daemons on vcan0 ------------------------------------------------
vdm-vhost-user -v --socket /tmp/a.sock --device can,if=vcan0 >/tmp/vu1.log 2>&1 &
p1=$!
vdm-vhost-user -v --socket /tmp/b.sock --device can,if=vcan0 \
	--socket /tmp/c.sock --device can,if=vcan0,late-ack=off >/tmp/vu2.log 2>&1 &
p2=$!
n=0
while [ "$(cat /tmp/vu1.log /tmp/vu2.log | grep -c 'listening on')" -lt 3 ]; do
	n=$((n + 1))
	if [ $n -gt 200 ] || ! kill -0 $p1 2>/dev/null || ! kill -0 $p2 2>/dev/null; then
		while read -r l; do vdm_info "daemon: $l"; done </tmp/vu1.log
		while read -r l; do vdm_info "daemon: $l"; done </tmp/vu2.log
		vdm_fail daemon "not listening"
		exit 1
	fi
	usleep 50000
done
vdm_pass daemon

t0=$(cut -d' ' -f1 /proc/uptime)
vu-cmd can </vdm/can.cmd >/tmp/can.out 2>/tmp/can.err || true
vdm_value can-secs "$t0 $(cut -d' ' -f1 /proc/uptime)"
i=0
while read -r l; do
	vdm_value "can-$i" "$l"
	i=$((i + 1))
done </tmp/can.out
vdm_value can-lines "$i"
while read -r l; do vdm_info "vu-cmd: $l"; done </tmp/can.err
vdm_pass can

kill $p1 $p2
wait $p1 || true
wait $p2 || true
for f in /tmp/vu1.log /tmp/vu2.log; do
	while read -r l; do vdm_info "daemon: $l"; done <$f
	# Expected: the library logs the refused frames (one line per kind),
	# the daemon the bus-off.
	if grep -E ': (error|warning): ' $f | grep -qvE 'Txq frame refused|bus-off'; then
		vdm_fail daemon-log "$f: the daemon logged errors or warnings"
	fi
done
BODY

files=(--file "$VDM_E2E_DAEMON:/bin/vdm-vhost-user" --file "$FRONT:/bin/vu-cmd"
	--file "$VDM_E2E_TMP/can.cmd:/vdm/can.cmd")
while read -r lib; do
	files+=(--file "$(readlink -f "$lib"):$lib")
done < <(ldd "$VDM_E2E_DAEMON" "$FRONT" | grep -o '/[^ ]*\.so[^ ]*' | sort -u)

vdm_e2e_build_initramfs --no-autoload "${files[@]}" "$VDM_E2E_TMP/initrd" "$VDM_E2E_TMP/body.sh"
failed=0
if vdm_e2e_run_qemu --name can --kernel "$KDIR/vmlinux" \
	--initrd "$VDM_E2E_TMP/initrd" --expect vcan --expect daemon --expect can; then
	# ARPHRD_CAN 280; the CAN FD MTU, so FD frames pass.
	got=$(vdm_e2e_value vcan)
	if [ "$got" = "280 72" ]; then
		vdm_e2e_log "ok: vcan0 type and mtu $got"
	else
		vdm_e2e_log "FAIL: vcan0 type and mtu '$got', want '280 72'"
		failed=$((failed + 1))
	fi
	n=$(vdm_e2e_value can-lines)
	[ "$n" = "${#want[@]}" ] || {
		vdm_e2e_log "FAIL: $n result lines, want ${#want[@]}"
		failed=$((failed + 1))
	}
	for i in "${!want[@]}"; do
		got=$(vdm_e2e_value "can-$i" || echo "(no line)")
		if [ "$got" = "${want[$i]}" ]; then
			vdm_e2e_log "ok: ${cmds[$i]:0:60} -> ${got:0:60}"
		else
			vdm_e2e_log "FAIL: ${cmds[$i]}"
			vdm_e2e_log "   got: $got"
			vdm_e2e_log "  want: ${want[$i]}"
			failed=$((failed + 1))
		fi
	done
	read -r a b <<<"$(vdm_e2e_value can-secs)"
	vdm_e2e_log "front-end commands: $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b - a }') s in the guest"
else
	failed=$((failed + 1))
fi
vdm_e2e_log "total $(vdm_e2e_since "$T_ALL") s (guest $VDM_E2E_LAST_SECS s)"
echo "can: $([ "$failed" -eq 0 ] && echo PASS || echo "FAIL ($failed)")"
[ "$failed" -eq 0 ]
