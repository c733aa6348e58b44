#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-kernel test of the daemon's passthrough backends, which the host
# cannot run (no i2c or gpio support in its kernel): everything runs inside
# a guest on the kernel of our own (tests/e2e/kernel.sh), which has i2c-stub
# (a module: Kconfig allows nothing else) and gpio-sim (configfs). The
# initramfs holds vdm-vhost-user and vdm-e2e-vu-cmd (vu_cmd.c: a front-end
# on the shared tests/driver/vu_front and the driver simulator's rings)
# with their shared libraries. No virtio device is involved: the guest is
# just a Linux with real I2C and GPIO drivers.
#
# I2C: `insmod i2c_stub chip_addr=0x50,0x51`; the daemon serves
# `i2c,adapter=/dev/i2c-N,allow=0x50:0x52` (the stub is SMBus-only, so the
# SMBus mapping runs). Through the front-end: Quick, I2C-block read of bytes
# the guest set with i2cset, byte-data read, I2C-block/byte/word writes then
# read back both ways (front-end and i2cget, byte for byte), byte write
# (pointer) + byte reads; 0x51 (present, not allowed) refused and left
# untouched; 0x52 (allowed, absent) NAKed; a plain 4-byte read (no SMBus
# shape) refused.
#
# GPIO: a gpio-sim chip of 8 lines (4 named) made through configfs; the
# daemon serves `gpio,chip=/dev/gpiochipN`. Through the front-end: config
# and names; an output driven 1 then 0 is what gpio-sim's sysfs value shows;
# an input follows gpio-sim's pull; edges made with the pull come back as
# VALID event buffers for rising and falling types, and an edge of the
# other kind does not; a line out of range is refused.
#
#   tests/e2e/passthrough.sh --daemon build/examples/vhost-user/vdm-vhost-user \
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
[ -f "$KDIR/modules/i2c_stub.ko" ] || vdm_e2e_die "$KDIR has no i2c_stub.ko (CONFIG_I2C_STUB=m in kernel.config)"

T_ALL=$(vdm_e2e_now)
hex() { od -An -v -tx1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }
P=$(head -c 16 /dev/urandom | hex) # set directly at 0x20.., read through vdm
Q=$(head -c 8 /dev/urandom | hex)  # written through vdm at 0x40.., read directly
read -ra pb <<<"$P"
cat >"$VDM_E2E_TMP/params" <<EOF
P="$P"
Q="$Q"
EOF

cat >"$VDM_E2E_TMP/body.sh" <<'BODY'
. /vdm/params
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
joined() { tr '\n' '|' <"$1" | sed 's/|$//'; }

# ---- I2C: i2c-stub with two chips --------------------------------------
insmod /lib/modules/vdm/i2c_stub.ko chip_addr=0x50,0x51
bus=""
for a in /sys/bus/i2c/devices/i2c-*; do
	case "$(cat "$a/name")" in *stub*) bus=${a##*/i2c-} ;; esac
done
[ -n "$bus" ] || { vdm_fail stub "no i2c-stub adapter"; exit 1; }
vdm_wait_path /dev/i2c-$bus
r=32
for b in $P; do
	i2cset -y "$bus" 0x50 "$(printf 0x%02x $r)" "0x$b"
	r=$((r + 1))
done
i2cset -y "$bus" 0x51 0 0x5a
vdm_pass stub

# ---- GPIO: a gpio-sim chip through configfs ----------------------------
mount -t configfs none /sys/kernel/config
c=/sys/kernel/config/gpio-sim/vdm
mkdir $c $c/bank0
echo 8 >$c/bank0/num_lines
for i in 0 1 2 3; do
	mkdir $c/bank0/line$i
	echo SIM$i >$c/bank0/line$i/name
done
echo 1 >$c/live
chip=$(cat $c/bank0/chip_name)
sim=/sys/devices/platform/$(cat $c/dev_name)/$chip
vdm_wait_path /dev/$chip
vdm_wait_path $sim/sim_gpio3/pull
vdm_value chip "$chip"
vdm_pass gpio-sim

# ---- the daemon ----------------------------------------------------------
vdm-vhost-user -v --socket /tmp/i2c.sock \
	--device "i2c,adapter=/dev/i2c-$bus,allow=0x50:0x52" \
	--socket /tmp/gpio.sock --device "gpio,chip=/dev/$chip" >/tmp/vu.log 2>&1 &
n=0
while c=$(grep -c 'listening on' /tmp/vu.log 2>/dev/null || true) && [ "${c:-0}" -lt 2 ]; do
	n=$((n + 1))
	if [ $n -gt 200 ] || ! kill -0 $! 2>/dev/null; then
		while read -r l; do vdm_info "daemon: $l"; done </tmp/vu.log
		vdm_fail daemon "not listening"
		exit 1
	fi
	usleep 50000
done
vdm_pass daemon

# ---- I2C requests --------------------------------------------------------
cat >/tmp/i2c.cmd <<EOF
q 0x50
wr 0x50 0x20 : 16
wr 0x50 0x21 : 1
w 0x50 0x40 $(for b in $Q; do printf '0x%s ' $b; done)
wr 0x50 0x40 : 8
w 0x50 0x30 0xa5
w 0x50 0x31 0x34 0x12
wr 0x50 0x31 : 2
w 0x50 0x22
r 0x50 1
r 0x50 1
q 0x51
wr 0x51 0x00 : 1
w 0x51 0x00 0x77
q 0x52
r 0x50 4
EOF
vu-cmd /tmp/i2c.sock i2c </tmp/i2c.cmd >/tmp/i2c.out
while read -r l; do vdm_info "i2c: $l"; done </tmp/i2c.out
vdm_value i2c "$(joined /tmp/i2c.out)"
d=""
for r in 0x40 0x41 0x42 0x43 0x44 0x45 0x46 0x47 0x30; do
	d="$d $(i2cget -y "$bus" 0x50 $r)"
done
d="$d $(i2cget -y "$bus" 0x50 0x31 w) $(i2cget -y "$bus" 0x51 0)"
vdm_value i2c-direct "${d# }"
vdm_pass i2c

# ---- GPIO requests -------------------------------------------------------
cat >/tmp/gpio.cmd <<EOF
config
names
getdir 1
setdir 1 1 1
sh cat $sim/sim_gpio1/value
set 1 0
sh cat $sim/sim_gpio1/value
get 1
getdir 1
setdir 2 2
sh echo pull-up >$sim/sim_gpio2/pull
get 2
sh echo pull-down >$sim/sim_gpio2/pull
get 2
setdir 3 2
irq 3 1
arm 3
event 3 200
sh echo pull-up >$sim/sim_gpio3/pull
event 3 3000
arm 3
sh echo pull-down >$sim/sim_gpio3/pull
event 3 300
irq 3 2
sh echo pull-up >$sim/sim_gpio3/pull
event 3 300
sh echo pull-down >$sim/sim_gpio3/pull
event 3 3000
irq 3 0
get 8
setdir 1 0
EOF
vu-cmd /tmp/gpio.sock gpio </tmp/gpio.cmd >/tmp/gpio.out
while read -r l; do vdm_info "gpio: $l"; done </tmp/gpio.out
vdm_value gpio "$(joined /tmp/gpio.out)"
vdm_pass gpio

kill $!
wait $! || true
while read -r l; do vdm_info "daemon: $l"; done </tmp/vu.log
# One warning is expected: the library logs the out-of-range line.
if grep -E ': (error|warning): ' /tmp/vu.log | grep -qv 'line number out of range'; then
	vdm_fail daemon-log "the daemon logged errors or warnings"
fi
BODY

files=(--file "$VDM_E2E_DAEMON:/bin/vdm-vhost-user" --file "$FRONT:/bin/vu-cmd"
	--file "$KDIR/modules/i2c_stub.ko:/lib/modules/vdm/i2c_stub.ko"
	--file "$VDM_E2E_TMP/params:/vdm/params")
while read -r lib; do
	files+=(--file "$(readlink -f "$lib"):$lib")
done < <(ldd "$VDM_E2E_DAEMON" "$FRONT" | grep -o '/[^ ]*\.so[^ ]*' | sort -u)

vdm_e2e_build_initramfs --no-autoload "${files[@]}" "$VDM_E2E_TMP/initrd" "$VDM_E2E_TMP/body.sh"
failed=0
check() { # NAME GOT WANT
	if [ "$2" = "$3" ]; then
		vdm_e2e_log "ok: $1 = $2"
	else
		vdm_e2e_log "FAIL: $1 = '$2', want '$3'"
		failed=$((failed + 1))
	fi
}
if vdm_e2e_run_qemu --name passthrough --kernel "$KDIR/vmlinux" \
	--initrd "$VDM_E2E_TMP/initrd" --expect stub --expect gpio-sim \
	--expect daemon --expect i2c --expect gpio; then
	exp="ok|ok $P|ok ${pb[1]}|ok|ok $Q|ok|ok|ok 34 12|ok|ok ${pb[2]}|ok ${pb[3]}"
	exp+="|err|err|err|err|err"
	check i2c "$(vdm_e2e_value i2c)" "$exp"
	check i2c-direct "$(vdm_e2e_value i2c-direct)" \
		"$(for b in $Q; do printf '0x%s ' "$b"; done)0xa5 0x1234 0x5a"
	# ngpio 8, names block "SIM0".."SIM3" + 4 empty names = 24 bytes.
	exp="8 24|ok SIM0 SIM1 SIM2 SIM3 - - - -|ok 0|ok|1|sh 0|ok|0|sh 0|ok 0|ok 1"
	exp+="|ok|sh 0|ok 1|sh 0|ok 0"
	exp+="|ok|ok|armed|none|sh 0|valid|armed|sh 0|none"
	exp+="|ok|sh 0|none|sh 0|valid|ok|err|ok"
	check gpio "$(vdm_e2e_value gpio)" "$exp"
else
	failed=$((failed + 1))
fi
vdm_e2e_log "total $(vdm_e2e_since "$T_ALL") s (guest $VDM_E2E_LAST_SECS s)"
echo "passthrough: $([ "$failed" -eq 0 ] && echo PASS || echo "FAIL ($failed)")"
[ "$failed" -eq 0 ]
