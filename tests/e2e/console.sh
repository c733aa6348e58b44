#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-guest test of the console device (devices/console.c) and the
# daemon's console backends (examples/vhost-user/dev_console.c). QEMU has
# no vhost-user console front-end, so vdm-vhost-user serves the console over
# vfio-user (--vfio-user) and QEMU 11.1's vfio-user-pci (trixie chroot,
# tests/e2e/trixie.sh) puts it in front of a Linux 6.12 guest (our kernel,
# tests/e2e/kernel.sh, CONFIG_VIRTIO_CONSOLE=y), as in vfio-user.sh.
#
# The device: port 0 a console on a pty (pty:LINK), port 1 a generic port
# named $PORT_NAME on a unix socket, cols=100,rows=40: MULTIPORT, SIZE.
# While the guest runs, a host driver (python3, below) follows the guest's
# serial console for its markers and plays the host side:
#   hvc:     the guest puts /dev/hvc0 in raw mode (stty raw -echo) and says
#            so; the host writes $HVC_LEN random bytes into the pty, the
#            guest reads them and writes $HVC_LEN random bytes of its own,
#            which the host reads from the pty. md5 both ways, compared on
#            the host.
#   size:    the guest's `stty size` on hvc0 is the device's 40x100 at
#            first; the host sets the pty's size (`stty -F PTY cols 132
#            rows 50`) and the guest's hvc0 follows (console RESIZE).
#   ports:   /sys/class/virtio-ports/vportNp1/name is $PORT_NAME and
#            /dev/vportNp1 exists.
#   vport:   before the host connects, a read of the port returns at once
#            with nothing (host_connected 0: the driver's EOF); the guest's
#            write of $PORT_LEN random bytes blocks until the host connects
#            to the unix socket (PORT_OPEN 1), which reads them; the host
#            then sends $PORT_LEN random bytes, the guest reads them; the
#            host closes the connection and the guest's next read returns
#            end of file (PORT_OPEN 0). md5 both ways.
#   irq:     the function's interrupts (guest-lib.sh vdm_pci_irq).
#
# Boots (one daemon, one pty, for both; VFU_MODES="msix intx" picks):
#   msix:  MSI-X, the driver's default;
#   intx:  the kernel booted with pci=nomsi: INTx (virtio-pci ISR status
#          read by the driver; VIRTIO 1.4 4.1.4.5 "ISR status capability"),
#          every check above again. The console size at its start is the
#          pty's size as the previous boot left it, and the host resizes
#          to another one.
#
#   tests/e2e/console.sh --daemon build/examples/vhost-user/vdm-vhost-user
#
# Environment: lib.sh's (VDM_E2E_TIMEOUT, VDM_E2E_KEEP, VDM_E2E_VERBOSE...),
# VDM_VHOST_USER (daemon path).

set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

vdm_e2e_require
vdm_e2e_daemon_find "$@"
vdm_e2e_use_trixie
command -v python3 >/dev/null || vdm_e2e_die "python3 missing (the host side of the ports)"
KDIR=$("$VDM_E2E_LIB_DIR/kernel.sh" --path)
[ -f "$KDIR/vmlinux" ] || vdm_e2e_die "guest kernel $KDIR missing (sudo tests/e2e/setup.sh builds it)"
"$VDM_E2E_DAEMON" --help 2>&1 | grep -q -- --vfio-user ||
	vdm_e2e_die "$VDM_E2E_DAEMON has no --vfio-user option"

T_ALL=$(vdm_e2e_now)
NAME=console
HVC_LEN=32768
PORT_LEN=65536
PORT_NAME=org.vdm.e2e.agent
COLS0=100
ROWS0=40
COLS1=132
ROWS1=50
COLS2=120 # the second boot's resize
ROWS2=45
S_VFU=$VDM_E2E_TMP/con.vfu
S_PORT=$VDM_E2E_TMP/port1.sock
PTY=$VDM_E2E_TMP/con.pty
H=$VDM_E2E_TMP/host
mkdir -p "$H"

vdm_e2e_daemon_start vu -v --vfio-user "$S_VFU" --device \
	"console,port0=pty:$PTY,port1=unix:$S_PORT,name1=$PORT_NAME,cols=$COLS0,rows=$ROWS0"
[ -L "$PTY" ] || vdm_e2e_die "the daemon made no pty link $PTY"
vdm_e2e_log "port 0: pty $(readlink "$PTY")"

cat >"$VDM_E2E_TMP/body.sh" <<'BODY'
. /vdm/params
now() { cut -d' ' -f1 /proc/uptime; }

# Port 0: /dev/hvc0, in raw mode, held open on fd 3 for the whole run.
vdm_wait_path /dev/hvc0 || { vdm_fail hvc "no /dev/hvc0"; exit 1; }
exec 3<>/dev/hvc0
stty -F /dev/hvc0 raw -echo || { vdm_fail hvc "stty raw -echo failed"; exit 1; }
vdm_value hvc-stty "$(stty -F /dev/hvc0 -a | tr '\n' ' ')"
vdm_value size0 "$(stty -F /dev/hvc0 size)"
vdm_info hvc-ready
dd bs=$HVC_LEN count=1 iflag=fullblock of=/tmp/hvc-h2g <&3 2>/dev/null
vdm_value hvc-h2g "$(wc -c </tmp/hvc-h2g) $(md5sum </tmp/hvc-h2g | cut -d' ' -f1)"
head -c $HVC_LEN /dev/urandom >/tmp/hvc-g2h
vdm_value hvc-g2h "$(wc -c </tmp/hvc-g2h) $(md5sum </tmp/hvc-g2h | cut -d' ' -f1)"
cat /tmp/hvc-g2h >&3
vdm_pass hvc

# Resize: the host sets the pty's size once it has our bytes.
i=0
while s=$(stty -F /dev/hvc0 size) && [ "$s" = "$(echo $SIZE0)" ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || break
	usleep 100000
done
vdm_value size1 "$s"
vdm_pass size

# The named port.
vp=""
for p in /sys/class/virtio-ports/*; do
	vdm_value "sysfs-${p##*/}" "name '$(cat $p/name 2>/dev/null)'"
	[ "$(cat $p/name 2>/dev/null)" = "$PORT_NAME" ] && vp=${p##*/}
done
[ -n "$vp" ] || { vdm_fail ports "no port named $PORT_NAME"; exit 1; }
vdm_value port "$vp"
vdm_wait_path /dev/$vp || { vdm_fail ports "no /dev/$vp"; exit 1; }
vdm_pass ports

# Host not connected: a read returns at once with nothing.
t0=$(now)
rc=0
timeout 10 dd if=/dev/$vp of=/tmp/closed bs=1 count=1 2>/dev/null || rc=$?
n=$(wc -c </tmp/closed)
vdm_value closed-read "$n bytes, status $rc, in $(awk -v a=$t0 -v b=$(now) 'BEGIN { printf "%.2f", b - a }') s"
[ "$n" = 0 ] && [ "$rc" = 0 ] || { vdm_fail vport "read before the host connected: $n bytes, status $rc (124: blocked)"; exit 1; }
head -c $PORT_LEN /dev/urandom >/tmp/port-g2h
vdm_value port-g2h "$(wc -c </tmp/port-g2h) $(md5sum </tmp/port-g2h | cut -d' ' -f1)"
exec 4<>/dev/$vp
vdm_info port-ready
# Blocks until the host connects (the driver writes only to an open host).
t0=$(now)
cat /tmp/port-g2h >&4
w=$(awk -v a=$t0 -v b=$(now) 'BEGIN { printf "%.2f", b - a }')
vdm_value port-wait "$w"
# The host waits 1 s after port-ready before it connects.
awk -v w=$w 'BEGIN { exit !(w >= 0.5) }' || { vdm_fail vport "the write did not wait for the host ($w s)"; exit 1; }
dd bs=$PORT_LEN count=1 iflag=fullblock of=/tmp/port-h2g <&4 2>/dev/null
vdm_value port-h2g "$(wc -c </tmp/port-h2g) $(md5sum </tmp/port-h2g | cut -d' ' -f1)"
vdm_info port-got
# The host closes: the read returns end of file.
t0=$(now)
rc=0
timeout 20 dd of=/tmp/eof bs=1 count=1 <&4 2>/dev/null || rc=$?
n=$(wc -c </tmp/eof)
vdm_value port-eof "$n bytes, status $rc, after $(awk -v a=$t0 -v b=$(now) 'BEGIN { printf "%.2f", b - a }') s"
[ "$n" = 0 ] && [ "$rc" = 0 ] || { vdm_fail vport "read after the host closed: $n bytes, status $rc (124: blocked)"; exit 1; }
exec 4>&-
vdm_pass vport
exec 3>&-
vdm_pci_irq 0x1043 "$IRQ" 2 || exit 1
BODY

# The host side, concurrent with the guest: follows the serial log.
cat >"$H/drive.py" <<'EOF'
import os, socket, subprocess, sys, time
log, pty, sock, h, cols, rows, hvc_len, port_len = sys.argv[1:9]
hvc_len, port_len = int(hvc_len), int(port_len)
T0 = time.monotonic()

def say(m):
    print("%7.2f %s" % (time.monotonic() - T0, m), flush=True)

def marker(m, secs=90):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            with open(log, "rb") as f:
                if ("VDM-E2E: INFO " + m).encode() in f.read():
                    say("guest: " + m)
                    return
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    sys.exit("no '%s' from the guest in %d s" % (m, secs))

def read_n(rd, n, secs=60):
    out = bytearray()
    end = time.monotonic() + secs
    while len(out) < n:
        if time.monotonic() > end:
            sys.exit("read %d of %d bytes in %d s" % (len(out), n, secs))
        b = rd(n - len(out))
        if not b:
            break
        out += b
    return bytes(out)

marker("hvc-ready")
fd = os.open(pty, os.O_RDWR | os.O_NOCTTY)
data = open(h + "/hvc-h2g", "rb").read()
off = 0
while off < len(data):
    off += os.write(fd, data[off:])
say("pty: wrote %d bytes" % off)
got = read_n(lambda k: os.read(fd, k), hvc_len)
open(h + "/hvc-g2h", "wb").write(got)
say("pty: read %d bytes" % len(got))
subprocess.run(["stty", "-F", os.path.realpath(pty), "cols", cols, "rows", rows], check=True)
say("pty: stty cols %s rows %s" % (cols, rows))

marker("port-ready")
time.sleep(1)  # the guest's write waits for us meanwhile
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(sock)
c.settimeout(60)
say("port: connected")
got = read_n(c.recv, port_len)
open(h + "/port-g2h", "wb").write(got)
say("port: read %d bytes" % len(got))
c.sendall(open(h + "/port-h2g", "rb").read())
say("port: wrote %d bytes" % port_len)
marker("port-got")
c.close()
say("port: closed")
os.close(fd)
EOF

failed=0
fail() {
	vdm_e2e_log "$NAME: $1"
	failed=$((failed + 1))
}
md5() { printf '%s %s' "$(wc -c <"$1")" "$(md5sum <"$1" | cut -d' ' -f1)"; }

# boot MODE SIZE0 COLS ROWS: one guest; SIZE0 the console size ("ROWS
# COLS") it must find at first, COLS x ROWS the host's resize.
boot() {
	local mode=$1 size0=$2 cols=$3 rows=$4 name="$NAME-$1" t0 t_build host_pid host_rc=0 f0=$failed
	local append="" log
	[ "$mode" = msix ] || append=pci=nomsi
	log=$VDM_E2E_TMP/$name.console.log
	head -c "$HVC_LEN" /dev/urandom >"$H/hvc-h2g"
	head -c "$PORT_LEN" /dev/urandom >"$H/port-h2g"
	rm -f "$H/hvc-g2h" "$H/port-g2h"
	printf 'HVC_LEN=%s\nPORT_LEN=%s\nPORT_NAME=%s\nSIZE0="%s"\nIRQ=%s\n' \
		"$HVC_LEN" "$PORT_LEN" "$PORT_NAME" "$size0" "$mode" >"$VDM_E2E_TMP/params"
	t0=$(vdm_e2e_now)
	vdm_e2e_build_initramfs --no-autoload --file "$VDM_E2E_TMP/params:/vdm/params" \
		"$VDM_E2E_TMP/initrd" "$VDM_E2E_TMP/body.sh"
	t_build=$(vdm_e2e_since "$t0")

	: >"$log"
	vdm_e2e_spawn host python3 "$H/drive.py" "$log" "$PTY" "$S_PORT" "$H" \
		"$cols" "$rows" "$HVC_LEN" "$PORT_LEN"
	host_pid=${VDM_E2E_PIDS[host]}

	vdm_e2e_run_qemu --name "$name" --log "$log" --kernel "$KDIR/vmlinux" --initrd "$VDM_E2E_TMP/initrd" \
		${append:+--append "$append"} \
		--expect hvc --expect size --expect ports --expect vport --expect irq -- \
		-device "{\"driver\":\"vfio-user-pci\",\"id\":\"con0\",\"socket\":{\"type\":\"unix\",\"path\":\"$S_VFU\"}}" ||
		failed=$((failed + 1))
	wait "$host_pid" || host_rc=$?
	unset "VDM_E2E_PIDS[host]"
	sed 's/^/  host| /' "$VDM_E2E_TMP/host.log" >&2
	[ "$host_rc" = 0 ] || fail "$mode: the host side failed (status $host_rc)"
	vdm_e2e_daemon_alive vu || failed=$((failed + 1))

	if [ "$failed" = "$f0" ]; then
		# Host to guest: what the guest read is what the host wrote.
		[ "$(vdm_e2e_value hvc-h2g)" = "$(md5 "$H/hvc-h2g")" ] ||
			fail "$mode: hvc0: the guest read $(vdm_e2e_value hvc-h2g), the host wrote $(md5 "$H/hvc-h2g")"
		[ "$(vdm_e2e_value port-h2g)" = "$(md5 "$H/port-h2g")" ] ||
			fail "$mode: port: the guest read $(vdm_e2e_value port-h2g), the host wrote $(md5 "$H/port-h2g")"
		# Guest to host.
		[ "$(vdm_e2e_value hvc-g2h)" = "$(md5 "$H/hvc-g2h")" ] ||
			fail "$mode: hvc0: the guest wrote $(vdm_e2e_value hvc-g2h), the host read $(md5 "$H/hvc-g2h")"
		[ "$(vdm_e2e_value port-g2h)" = "$(md5 "$H/port-g2h")" ] ||
			fail "$mode: port: the guest wrote $(vdm_e2e_value port-g2h), the host read $(md5 "$H/port-g2h")"
		# Sizes: `stty size` prints rows then columns.
		[ "$(vdm_e2e_value size0)" = "$size0" ] ||
			fail "$mode: hvc0 size at start '$(vdm_e2e_value size0)', want '$size0'"
		[ "$(vdm_e2e_value size1)" = "$rows $cols" ] ||
			fail "$mode: hvc0 size after the host's stty '$(vdm_e2e_value size1)', want '$rows $cols'"
		[ "$(vdm_e2e_value "sysfs-$(vdm_e2e_value port)")" = "name '$PORT_NAME'" ] ||
			fail "$mode: port $(vdm_e2e_value port): sysfs $(vdm_e2e_value "sysfs-$(vdm_e2e_value port)")"
		vdm_e2e_log "$name: $(vdm_e2e_value irq-kinds), $(vdm_e2e_value irq-total) virtio interrupts, msi_irqs $(vdm_e2e_value msi)"
	fi
	vdm_e2e_log "$name: initramfs ${t_build}s, qemu run ${VDM_E2E_LAST_SECS:-?}s (${VDM_E2E_LAST_TIMES:-})"
}

size="$ROWS0 $COLS0"
k=0
for mode in ${VFU_MODES:-msix intx}; do
	if [ $k = 0 ]; then
		boot "$mode" "$size" "$COLS1" "$ROWS1"
		size="$ROWS1 $COLS1"
	else
		boot "$mode" "$size" "$COLS2" "$ROWS2"
		size="$ROWS2 $COLS2"
	fi
	k=$((k + 1))
	vdm_e2e_daemon_alive vu || break
done
vdm_e2e_daemon_check_log vu || failed=$((failed + 1))
[ "$failed" = 0 ] || vdm_e2e_daemon_log vu
vdm_e2e_log "total $(vdm_e2e_since "$T_ALL") s"
if [ "$failed" = 0 ]; then
	echo "console: PASS ($k boots: ${VFU_MODES:-msix intx}; hvc0 $HVC_LEN bytes each way, port $PORT_NAME $PORT_LEN bytes each way, open/close, resize)"
else
	echo "console: $failed failures"
fi
[ "$failed" -eq 0 ]
