#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-kernel test of the daemon's spidev passthrough (`spi,dev=/dev/spidevB.C`,
# examples/vhost-user/dev_spi.c), which the host cannot run (no SPI
# controller): everything runs inside a guest on the kernel of our own
# (tests/e2e/kernel.sh: SPI and SPI_SPIDEV built in) with our loopback SPI
# controller module (tests/e2e/spi-loop/spi_vdm_loop.c, built by kernel.sh
# with the kernel): MOSI looped to MISO, a fixed pattern (0xa5 ^ index) when
# there is no tx, the last transfer's fields, a transfer count and a chip
# select log in /sys/module/spi_vdm_loop/parameters/, a transfer of
# fail_len bytes failing with -EIO. Its spidev devices sit on chip selects 0
# (max 20 MHz) and 1 (10 MHz); it does CPHA, CPOL, CS_HIGH, LSB_FIRST and
# DUAL, 4..16 and 32 bits per word, not LOOP, QUAD or OCTAL. One daemon
# serves spidevB.0 (front-end a) and spidevB.1 (b); the front-ends are
# vdm-e2e-vu-cmd's virtio-spi drivers (vu_spi.c).
#
# Every result line is compared on the host with what the spec says
# (VIRTIO 1.4 "SPI Controller Device"), byte for byte:
#  - Device configuration layout: the fields say what the controller does
#    (one chip select, cs_change supported, DUAL only, word sizes 4..16 and
#    32, modes CPHA/CPOL 0 and 1 + CS_HIGH + LSB_FIRST without LOOP,
#    max_freq_hz the spidev node's, word delay and cs hold only).
#  - Device Operation: Request Queue / Operation Status: full-duplex
#    transfers of 1, 32 and 4096 random bytes (4096 = spidev's bufsiz, the
#    longest it takes; one in two descriptors per buffer) come back
#    byte-exact; half-duplex write (the controller sees no rx) and read (the
#    controller's pattern); a transfer of no words. The head's fields reach
#    the controller: mode CPHA/CPOL/CS_HIGH/LSB_FIRST, freq (0 = the node's
#    default), bits_per_word 4, 16, 32, tx/rx_nbits DUAL, word delay and cs
#    hold (in us, rounded up), chip select (front-end b on chip select 1).
#    cs_change 0 keeps chip select asserted into the next transfer, 1
#    deasserts it (the controller's chip select log).
#  - Device requirements: Device Operation: requests the configuration
#    forbids are answered VIRTIO_SPI_PARAM_ERR and never reach the
#    controller (its count stays): chip select 1 on a (cs_max_number 1),
#    LOOP, an undefined mode bit, freq above max_freq_hz, a word size
#    outside the mask, a length not a whole number of words, QUAD and an
#    n-bit value of 3, a setup or inactive delay (max 0), a word delay above
#    the maximum, a reserved byte set, tx and rx of different lengths, 4097
#    bytes; tx_buf is never changed (checked on every request).
#  - VIRTIO_SPI_TRANS_ERR: "the parameters are all valid but the transfer
#    process failed": the controller failing a transfer (fail_len).
#
#   tests/e2e/spi.sh --daemon build/examples/vhost-user/vdm-vhost-user \
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
grep -qx CONFIG_SPI_SPIDEV=y "$KDIR/config" || vdm_e2e_die "$KDIR has no spidev (CONFIG_SPI_SPIDEV=y in kernel.config)"
[ -f "$KDIR/modules/spi_vdm_loop.ko" ] || vdm_e2e_die "$KDIR has no spi_vdm_loop.ko (kernel.sh builds it from spi-loop/)"

T_ALL=$(vdm_e2e_now)
rnd() { head -c "$1" /dev/urandom | od -An -v -tx1 | tr -d ' \n'; }
# The controller's pattern for a transfer without tx: byte i = 0xa5 ^ i.
pattern() {
	local i
	for ((i = 0; i < $1; i++)); do printf '%02x' $(((0xa5 ^ i) & 0xff)); done
}
M=/sys/module/spi_vdm_loop/parameters

# ---- the script and what each line must print ---------------------------
cmds=()
want=()
step() { # COMMAND EXPECTED-OUTPUT
	cmds+=("$1")
	want+=("$2")
}
# last FIELDS: the controller's record of the last transfer; the fields not
# given are those of a plain one (cs 0, mode 0, 8 bits, single, no delays).
last() {
	local -A f=([cs]=0 [mode]=0x0 [speed]=20000000 [bpw]=8 [len]=0 [tx]=1 [rx]=1
		[txn]=1 [rxn]=1 [wdelay]=0/0 [delay]=0/0 [cs_change]=0)
	local kv
	for kv in "$@"; do f[${kv%%=*}]=${kv#*=}; done
	echo "cs=${f[cs]} mode=${f[mode]} speed=${f[speed]} bpw=${f[bpw]} len=${f[len]} tx=${f[tx]} rx=${f[rx]} txn=${f[txn]} rxn=${f[rxn]} wdelay=${f[wdelay]} delay=${f[delay]} cs_change=${f[cs_change]}"
}
n=0 # transfers that reached the controller
R1=$(rnd 1) R32=$(rnd 32) R4096=$(rnd 4096) R7=$(rnd 7) R8=$(rnd 8)

step "open a /tmp/a.sock" "ok"
step "open b /tmp/b.sock" "ok"
# Device configuration layout.
step "a config" "cs 1 cs_change 1 tx_nbits 0x1 rx_nbits 0x1 bpw 0x8000fff8 mode 0x3f freq 20000000 word 255000 setup 0 hold 65535000 inactive 0"
step "b config" "cs 1 cs_change 1 tx_nbits 0x1 rx_nbits 0x1 bpw 0x8000fff8 mode 0x3f freq 10000000 word 255000 setup 0 hold 65535000 inactive 0"
step "cat $M/count" "$n"
# Full duplex, byte-exact. virtio cs_change 1 = spidev's 0 (deassert after).
step "a xfer cs_change=1 tx=$R1 rx=1" "ok:$R1"
step "cat $M/last" "$(last len=1)"
step "a xfer cs_change=1 freq=1000000 tx=$R32 rx=32" "ok:$R32"
step "cat $M/last" "$(last len=32 speed=1000000)"
step "a xfer cs_change=1 freq=20000000 split=1000 tx=$R4096 rx=4096" "ok:$R4096"
step "cat $M/last" "$(last len=4096)"
n=$((n + 3))
# Half-duplex write and read; a transfer of no words (Linux runs no
# transfer_one for it: the count stays).
step "a xfer cs_change=1 tx=$R7" "ok"
step "cat $M/last" "$(last len=7 rx=0)"
step "a xfer cs_change=1 rx=16" "ok:$(pattern 16)"
step "cat $M/last" "$(last len=16 tx=0)"
n=$((n + 2))
step "a xfer cs_change=1" "ok"
step "cat $M/count" "$n"
# The head's fields reach the controller: mode (CPHA 1, CPOL 2, CS_HIGH 4,
# LSB_FIRST 8 in both), word size, n-bit modes (Linux SPI_TX_DUAL 0x100,
# SPI_RX_DUAL 0x400), delays (ns -> us rounded up), chip select 1.
for m in 0x1 0x2 0x3 0x4 0x8 0xf; do
	step "a xfer cs_change=1 mode=$m tx=$R8 rx=8" "ok:$R8"
	step "cat $M/last" "$(last len=8 mode=$m)"
	n=$((n + 1))
done
step "a xfer cs_change=1 bpw=16 tx=$R8 rx=8" "ok:$R8"
step "cat $M/last" "$(last len=8 bpw=16)"
step "a xfer cs_change=1 bpw=4 tx=$R7 rx=7" "ok:$R7"
step "cat $M/last" "$(last len=7 bpw=4)"
step "a xfer cs_change=1 bpw=32 tx=$R8 rx=8" "ok:$R8"
step "cat $M/last" "$(last len=8 bpw=32)"
step "a xfer cs_change=1 tx_nbits=2 rx_nbits=2 tx=$R8 rx=8" "ok:$R8"
step "cat $M/last" "$(last len=8 mode=0x500 txn=2 rxn=2)"
step "a xfer cs_change=1 word=3000 hold=1500 tx=$R8 rx=8" "ok:$R8"
step "cat $M/last" "$(last len=8 wdelay=3/0 delay=2/0)"
step "b xfer cs_change=1 freq=0 tx=$R32 rx=32" "ok:$R32"
step "cat $M/last" "$(last cs=1 len=32 speed=10000000)"
n=$((n + 6))
# Refused with VIRTIO_SPI_PARAM_ERR, never at the controller.
step "a xfer cs=1 tx=$R8 rx=8" "param"
step "a xfer mode=0x10 tx=$R8 rx=8" "param"
step "a xfer mode=0x20 tx=$R8 rx=8" "param"
step "a xfer freq=20000001 tx=$R8 rx=8" "param"
step "b xfer freq=10000001 tx=$R8 rx=8" "param"
step "a xfer bpw=24 tx=$R8 rx=8" "param"
step "a xfer bpw=2 tx=$R8 rx=8" "param"
step "a xfer bpw=0 tx=$R8 rx=8" "param"
step "a xfer bpw=16 tx=$R7 rx=7" "param"
step "a xfer tx_nbits=4 tx=$R8 rx=8" "param"
step "a xfer rx_nbits=3 tx=$R8 rx=8" "param"
step "a xfer setup=1 tx=$R8 rx=8" "param"
step "a xfer inactive=1 tx=$R8 rx=8" "param"
step "a xfer word=255001 tx=$R8 rx=8" "param"
step "a xfer res=1 tx=$R8 rx=8" "param"
step "a xfer cs_change=2 tx=$R8 rx=8" "param"
step "a xfer tx=$R8 rx=7" "param"
step "a xfer txfill=4097 rx=4097" "param"
step "a xfer rx=4097" "param"
step "cat $M/count" "$n"
# VIRTIO_SPI_TRANS_ERR: the controller fails a transfer of 13 bytes.
R13=$(rnd 13)
step "write $M/fail_len 13" "ok"
step "a xfer cs_change=1 tx=$R13 rx=13" "trans"
step "a xfer cs_change=1 rx=13" "trans"
step "a xfer cs_change=1 tx=$R8 rx=8" "ok:$R8"
step "write $M/fail_len 0" "ok"
step "a xfer cs_change=1 tx=$R13 rx=13" "ok:$R13"
n=$((n + 4))
step "cat $M/count" "$n"
# cs_change: 0 keeps chip select asserted into the next transfer, 1
# deasserts it after this one; three transfers in one kick, then the same
# active high (the mode change itself deasserts first).
step "write $M/cslog clear" "ok"
step "a xfer tx=aa rx=1 | tx=bb rx=1 | cs_change=1 tx=cc rx=1" "ok:aa ok:bb ok:cc"
step "cat $M/cslog" "0+0-"
step "cat $M/last" "$(last len=1 cs_change=0)"
step "a xfer tx=01 rx=1 | cs_change=1 tx=02 rx=1 | tx=03 rx=1" "ok:01 ok:02 ok:03"
step "cat $M/cslog" "0+0-0+0-0+"
step "cat $M/last" "$(last len=1 cs_change=1)"
step "write $M/cslog clear" "ok"
step "a xfer mode=4 tx=11 rx=1 | mode=4 cs_change=1 tx=22 rx=1" "ok:11 ok:22"
step "cat $M/cslog" "0-0+0-"
n=$((n + 8))
step "cat $M/count" "$n"

printf '%s\n' "${cmds[@]}" >"$VDM_E2E_TMP/spi.cmd"

cat >"$VDM_E2E_TMP/body.sh" <<'BODY'
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
if ! insmod /lib/modules/vdm/spi_vdm_loop.ko; then
	vdm_fail module "insmod spi_vdm_loop.ko failed"
	exit 1
fi
bus=""
for c in /sys/class/spi_master/spi*; do
	[ -e "$c" ] && bus=${c##*/spi}
done
if [ -z "$bus" ] || ! vdm_wait_path /dev/spidev$bus.0 5 || ! vdm_wait_path /dev/spidev$bus.1 5; then
	vdm_fail module "no spidev nodes for the loopback controller"
	exit 1
fi
d0=$(readlink /sys/bus/spi/devices/spi$bus.0/driver)
d1=$(readlink /sys/bus/spi/devices/spi$bus.1/driver)
vdm_value spidev "${d0##*/} ${d1##*/} $(cat /sys/module/spidev/parameters/bufsiz)"
vdm_pass module

vdm-vhost-user -v --socket /tmp/a.sock --device spi,dev=/dev/spidev$bus.0 \
	--socket /tmp/b.sock --device spi,dev=/dev/spidev$bus.1 >/tmp/vu.log 2>&1 &
p=$!
n=0
# (through cat: the shell may not have made /tmp/vu.log yet, and grep -c
# prints nothing for a missing file)
while [ "$(cat /tmp/vu.log 2>/dev/null | grep -c 'listening on')" -lt 2 ]; do
	n=$((n + 1))
	if [ $n -gt 200 ] || ! kill -0 $p 2>/dev/null; then
		while read -r l; do vdm_info "daemon: $l"; done </tmp/vu.log
		vdm_fail daemon "not listening"
		exit 1
	fi
	usleep 50000
done
vdm_pass daemon

t0=$(cut -d' ' -f1 /proc/uptime)
vu-cmd spi </vdm/spi.cmd >/tmp/spi.out 2>/tmp/spi.err || true
vdm_value spi-secs "$t0 $(cut -d' ' -f1 /proc/uptime)"
i=0
while read -r l; do
	vdm_value "spi-$i" "$l"
	i=$((i + 1))
done </tmp/spi.out
vdm_value spi-lines "$i"
while read -r l; do vdm_info "vu-cmd: $l"; done </tmp/spi.err
vdm_pass spi

kill $p
wait $p || true
while read -r l; do vdm_info "daemon: $l"; done </tmp/vu.log
# Expected: the library logs the refused requests (one line per kind), the
# daemon the transfers the controller failed.
if grep -E ': (error|warning): ' /tmp/vu.log | grep -qvE 'transfer refused|spidev transfer: Input/output error'; then
	vdm_fail daemon-log "the daemon logged other errors or warnings"
fi
BODY

files=(--file "$VDM_E2E_DAEMON:/bin/vdm-vhost-user" --file "$FRONT:/bin/vu-cmd"
	--file "$VDM_E2E_TMP/spi.cmd:/vdm/spi.cmd"
	--file "$KDIR/modules/spi_vdm_loop.ko:/lib/modules/vdm/spi_vdm_loop.ko")
while read -r lib; do
	files+=(--file "$(readlink -f "$lib"):$lib")
done < <(ldd "$VDM_E2E_DAEMON" "$FRONT" | grep -o '/[^ ]*\.so[^ ]*' | sort -u)

vdm_e2e_build_initramfs --no-autoload "${files[@]}" "$VDM_E2E_TMP/initrd" "$VDM_E2E_TMP/body.sh"
failed=0
if vdm_e2e_run_qemu --name spi --kernel "$KDIR/vmlinux" \
	--initrd "$VDM_E2E_TMP/initrd" --expect module --expect daemon --expect spi; then
	got=$(vdm_e2e_value spidev)
	if [ "$got" = "spidev spidev 4096" ]; then
		vdm_e2e_log "ok: spidev bound to chip selects 0 and 1, bufsiz 4096"
	else
		vdm_e2e_log "FAIL: drivers and bufsiz '$got', want 'spidev spidev 4096'"
		failed=$((failed + 1))
	fi
	n=$(vdm_e2e_value spi-lines)
	[ "$n" = "${#want[@]}" ] || {
		vdm_e2e_log "FAIL: $n result lines, want ${#want[@]}"
		failed=$((failed + 1))
	}
	for i in "${!want[@]}"; do
		got=$(vdm_e2e_value "spi-$i" || echo "(no line)")
		if [ "$got" = "${want[$i]}" ]; then
			vdm_e2e_log "ok: ${cmds[$i]:0:60} -> ${got:0:60}"
		else
			vdm_e2e_log "FAIL: ${cmds[$i]:0:200}"
			vdm_e2e_log "   got: ${got:0:200}"
			vdm_e2e_log "  want: ${want[$i]:0:200}"
			failed=$((failed + 1))
		fi
	done
	read -r a b <<<"$(vdm_e2e_value spi-secs)"
	vdm_e2e_log "front-end commands: $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b - a }') s in the guest"
else
	failed=$((failed + 1))
fi
vdm_e2e_log "total $(vdm_e2e_since "$T_ALL") s (guest $VDM_E2E_LAST_SECS s)"
echo "spi: $([ "$failed" -eq 0 ] && echo PASS || echo "FAIL ($failed)")"
[ "$failed" -eq 0 ]
