#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-guest test of vdm's GPU device: vdm-vhost-user serves a 640x480
# display to Linux 6.12's virtio_gpu DRM driver (fbdev emulation) through
# QEMU 10's vhost-user-gpu-pci (TCG, no display: the pixels are read back
# with QMP screendump). The guest kernel is the one of our own (built-in
# DRM_VIRTIO_GPU, FB_DEVICE, no VT so no console draws on the framebuffer).
# The guest:
#   - finds /dev/fb0 and its mode (640x480, 32 bpp, stride 2560);
#   - reads the connector's EDID from sysfs: the host compares it with the
#     bytes the daemon served (DIR/edid0.bin);
#   - writes a known image (gradients, stripes, a pixel in each corner; made
#     by the host) to /dev/fb0, says so and keeps still while the host takes
#     a QMP screendump, which must equal the image pixel for pixel; the
#     daemon's headless picture (DIR/scanout0.ppm) must equal it too;
#   - then sets another mode (800x600) through DRM with a dumb buffer and a
#     64x64 cursor on the cursor plane (drm-helper.c, built static here):
#     the second screendump must equal that picture pixel for pixel, and
#     the cursor must reach the display at the position set.
#
# With --frontend vfio-user the daemon serves the GPU with --vfio-user
# (QEMU 11.1's vfio-user-pci in front of vdm's own virtio-pci transport,
# the kernel of our own) and `out=DIR` as its only display: QEMU shows
# nothing, so the daemon's picture (DIR/scanout0.ppm, rewritten on each
# RESOURCE_FLUSH) stands for the screendump and must equal each image pixel
# for pixel. Two boots against the same daemon: MSI-X, and pci=nomsi (INTx);
# each also checks the GPU function interrupts that way (vdm_pci_irq).
#
#   tests/e2e/gpu.sh --daemon build/examples/vhost-user/vdm-vhost-user
#   tests/e2e/gpu.sh --daemon ... --frontend vfio-user
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
command -v python3 >/dev/null || vdm_e2e_die "python3 missing (QMP and image compare)"
# The guest kernel of our own with virtio-gpu and fbdev built in: the one
# tests/e2e/kernel.sh names, else any cached build that has them.
has_gpu() { [ -f "$1/vmlinux" ] && grep -q '^CONFIG_DRM_VIRTIO_GPU=y' "$1/config" 2>/dev/null &&
	grep -q '^CONFIG_FB_DEVICE=y' "$1/config"; }
KDIR=""
if [ -x "$VDM_E2E_LIB_DIR/kernel.sh" ]; then
	KDIR=$("$VDM_E2E_LIB_DIR/kernel.sh" --path 2>/dev/null || true)
fi
if [ -z "$KDIR" ] || ! has_gpu "$KDIR"; then
	KDIR=""
	for d in "$VDM_E2E_CACHE"/kernel/6.*; do
		has_gpu "$d" && KDIR=$d
	done
fi
[ -n "$KDIR" ] ||
	vdm_e2e_die "no guest kernel with DRM_VIRTIO_GPU=y and FB_DEVICE=y (sudo tests/e2e/setup.sh builds it)"

T_ALL=$(vdm_e2e_now)
W=640
H=480
SOCK=$VDM_E2E_TMP/gpu.sock
QMP=$VDM_E2E_TMP/qmp.sock
OUT=$VDM_E2E_TMP/out
mkdir -p "$OUT"

# The DRM helper: static, against the DRM uapi headers (libdrm-dev's, else
# the cached guest kernel's sources).
W2=800
H2=600
CX=100
CY=120
inc=/usr/include/libdrm
if [ ! -f "$inc/drm_mode.h" ]; then
	src=$(ls -d "$VDM_E2E_CACHE"/kernel/work/src-*/include/uapi/drm 2>/dev/null | head -n 1 || true)
	[ -n "$src" ] || vdm_e2e_die "no DRM headers: install libdrm-dev"
	inc=$VDM_E2E_TMP/inc
	mkdir -p "$inc/drm"
	cp "$src/drm.h" "$src/drm_mode.h" "$inc/drm/"
fi
${CC:-cc} -static -O2 -D__user= -I"$inc" -I"${inc%/libdrm}" -o "$VDM_E2E_TMP/drm-helper" \
	"$VDM_E2E_LIB_DIR/drm-helper.c" || vdm_e2e_die "cannot build drm-helper (static libc needed)"

# The image: XRGB8888 rows for /dev/fb0 and the RGB picture it must show.
python3 - "$W" "$H" "$VDM_E2E_TMP/image.raw" "$VDM_E2E_TMP/want.ppm" <<'EOF'
import sys
w, h = int(sys.argv[1]), int(sys.argv[2])
raw, ppm = bytearray(), bytearray(b"P6\n%d %d\n255\n" % (w, h))
for y in range(h):
    for x in range(w):
        r, g, b = x * 255 // (w - 1), y * 255 // (h - 1), (x ^ y) & 0xff
        if 200 <= y < 280:                      # text-like stripes
            r = g = b = 255 if (x // 3 + y // 4) % 2 else 16
        if (x, y) in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)):
            r, g, b = 255, 0, 255               # one pixel in each corner
        raw += bytes((b, g, r, 0))
        ppm += bytes((r, g, b))
open(sys.argv[3], "wb").write(raw)
open(sys.argv[4], "wb").write(ppm)
EOF
# The helper's picture (drm-helper.c pattern2).
python3 - "$W2" "$H2" "$VDM_E2E_TMP/want2.ppm" <<'EOF'
import sys
w, h = int(sys.argv[1]), int(sys.argv[2])
ppm = bytearray(b"P6\n%d %d\n255\n" % (w, h))
for y in range(h):
    for x in range(w):
        r, g, b = (x * 7) & 0xff, (y * 3) & 0xff, (x + y) & 0xff
        if (x // 8 + y // 8) % 2 == 0:
            b ^= 0x80
        ppm += bytes((r, g, b))
open(sys.argv[3], "wb").write(ppm)
EOF

vdm_e2e_daemon_start vu -v "$VDM_E2E_SOCKOPT" "$SOCK" \
	--device "gpu,width=$W,height=$H,out=$OUT"

cat >"$VDM_E2E_TMP/body.sh" <<'EOF'
. /vdm/params
vdm_wait_path /dev/fb0 || {
	for d in /sys/bus/virtio/devices/*; do
		vdm_info "virtio device $(cat $d/device 2>/dev/null) driver $(readlink $d/driver 2>/dev/null) status $(cat $d/status 2>/dev/null) features $(cat $d/features 2>/dev/null)"
	done
	dmesg | tail -n 25 | sed 's/^/VDM-E2E: INFO dmesg /'
	vdm_fail fb "no /dev/fb0"
	exit 1
}
fb=/sys/class/graphics/fb0
vdm_value fb-name "$(cat $fb/name)"
vdm_value fb-size "$(cat $fb/virtual_size)"
vdm_value fb-bpp "$(cat $fb/bits_per_pixel)"
vdm_value fb-stride "$(cat $fb/stride)"
vdm_pass fb
e=$(ls /sys/class/drm/card*-*/edid 2>/dev/null | head -n 1)
[ -n "$e" ] && vdm_value edid "$(od -An -v -tx1 "$e" | tr -d ' \n')"
vdm_value connector "$(cat ${e%/edid}/status 2>/dev/null) $(cat ${e%/edid}/modes 2>/dev/null | head -n 1)"
vdm_pass edid
# No console owns the framebuffer (no VT): setting the mode through sysfs
# makes the fbdev helper commit it (SET_SCANOUT).
cat $fb/modes | head -n 1 >$fb/mode 2>/dev/null
echo 0 >$fb/blank 2>/dev/null
dd if=/vdm/image.raw of=/dev/fb0 bs=1228800 count=1 2>/dev/null || { vdm_fail drawn "dd to /dev/fb0"; exit 1; }
vdm_pass drawn
# Keep still while the host takes its screendump.
sleep "$HOLD"
vdm_pass held
# Another mode through DRM, and a cursor.
drm-helper "$W2" "$H2" "$CX" "$CY" "$HOLD" >/tmp/helper.out 2>&1 &
helper=$!
i=0
while ! grep -q '^cursor' /tmp/helper.out && kill -0 $helper 2>/dev/null && [ $i -lt 200 ]; do
	usleep 50000
	i=$((i + 1))
done
sed 's/^/VDM-E2E: INFO helper /' /tmp/helper.out
grep -q '^cursor' /tmp/helper.out || { vdm_fail mode2 "drm-helper failed"; exit 1; }
vdm_pass mode2
wait $helper && vdm_pass held2 || vdm_fail held2 "drm-helper exit status"
[ "$MODE" = vhost ] || vdm_pci_irq 0x1050 "$MODE" 3
EOF

# QMP: one command, print the answer.
qmp() {
	python3 - "$QMP" "$1" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
json.loads(f.readline())
for cmd in ('{"execute": "qmp_capabilities"}', sys.argv[2]):
    f.write(cmd + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            break
print(json.dumps(r))
EOF
}

# Compare two P6 files; prints the first differences.
ppm_cmp() {
	python3 - "$1" "$2" <<'EOF'
import sys
def load(p):
    d = open(p, "rb").read()
    parts, i = [], 0
    while len(parts) < 4:
        while d[i:i+1].isspace(): i += 1
        j = i
        while not d[j:j+1].isspace(): j += 1
        parts.append(d[i:j]); i = j
    w, h = int(parts[1]), int(parts[2])
    return w, h, d[i + 1:i + 1 + w * h * 3]
wa, ha, a = load(sys.argv[1]); wb, hb, b = load(sys.argv[2])
if (wa, ha) != (wb, hb):
    print("size %dx%d, want %dx%d" % (wa, ha, wb, hb)); sys.exit(1)
bad = [k // 3 for k in range(0, len(a), 3) if a[k:k+3] != b[k:k+3]]
if bad:
    for k in bad[:5]:
        print("pixel (%d,%d): %s, want %s" % (k % wa, k // wa, a[3*k:3*k+3].hex(), b[3*k:3*k+3].hex()))
    print("%d pixels differ" % len(bad)); sys.exit(1)
EOF
}

passed=0
failed=0
TIMES=()
fail() {
	vdm_e2e_log "$1"
	return 1
}

boot() { # NAME MODE (vhost, msix or intx)
	local name=$1 mode=$2 t0 t_build got log shot=$VDM_E2E_TMP/shot.ppm shot2=$VDM_E2E_TMP/shot2.ppm
	local expect=() what="QMP screendump" where="QMP screendump and the daemon's picture" mark
	printf 'HOLD=%s\nW2=%s\nH2=%s\nCX=%s\nCY=%s\nMODE=%s\n' 12 "$W2" "$H2" "$CX" "$CY" "$mode" \
		>"$VDM_E2E_TMP/params"
	[ "$mode" = vhost ] || {
		expect=(--expect irq) && what="daemon's picture" && where="daemon's picture (held and at the end)"
	}
	vdm_e2e_frontend_device "$mode" "$SOCK" vhost-user-gpu-pci
	# This boot's pictures and log lines only (the daemon outlives the boots).
	rm -f "$OUT/scanout0.ppm"
	mark=$(wc -l <"$VDM_E2E_TMP/vu.log")
	t0=$(vdm_e2e_now)
	vdm_e2e_build_initramfs \
		--file "$VDM_E2E_TMP/params:/vdm/params" \
		--file "$VDM_E2E_TMP/image.raw:/vdm/image.raw" \
		--bin "$VDM_E2E_TMP/drm-helper" \
		"$VDM_E2E_TMP/initrd" "$VDM_E2E_TMP/body.sh"
	t_build=$(vdm_e2e_since "$t0")
	log=$VDM_E2E_TMP/$name.console.log
	rm -f "$shot" "$shot2"

	# The screendumps (over vfio-user: copies of the daemon's picture, the
	# only display): after the guest says it has drawn, until the picture
	# matches (the fbdev flush is asynchronous and TCG is slow) or the guest
	# moves on.
	(
		grab() { # FILE
			if [ "$mode" = vhost ]; then
				qmp "{\"execute\": \"screendump\", \"arguments\": {\"filename\": \"$1\"}}" \
					>>"$VDM_E2E_TMP/shot.qmp" 2>&1
			else
				cp "$OUT/scanout0.ppm" "$1" 2>>"$VDM_E2E_TMP/shot.qmp"
			fi
		}
		shoot() { # MARKER UNTIL SHOT WANT
			for ((i = 0; i < 1200; i++)); do
				grep -q "VDM-E2E: PASS $1" "$log" 2>/dev/null && break
				sleep 0.1
			done
			while ! grep -q "VDM-E2E: PASS $2" "$log" 2>/dev/null; do
				sleep 0.3
				grab "$3.tmp" || continue
				ppm_cmp "$3.tmp" "$4" >"$3.why" 2>&1 && { mv "$3.tmp" "$3"; return 0; }
			done
			mv "$3.tmp" "$3" 2>/dev/null
			return 1
		}
		shoot drawn held "$shot" "$VDM_E2E_TMP/want.ppm"
		shoot mode2 held2 "$shot2" "$VDM_E2E_TMP/want2.ppm"
	) &
	local waiter=$!

	vdm_e2e_run_qemu --name "$name" --initrd "$VDM_E2E_TMP/initrd" \
		--kernel "$KDIR/vmlinux" --log "$log" ${VDM_E2E_APPEND:+--append "$VDM_E2E_APPEND"} \
		--expect fb --expect edid --expect drawn --expect held \
		--expect mode2 --expect held2 "${expect[@]}" -- \
		-qmp "unix:$QMP,server=on,wait=off" "${VDM_E2E_DEVARGS[@]}" ||
		{ kill "$waiter" 2>/dev/null; return 1; }
	wait "$waiter" || true
	vdm_e2e_daemon_alive vu || return 1

	[ "$(vdm_e2e_value fb-size)" = "$W,$H" ] || fail "fb size $(vdm_e2e_value fb-size)" || return 1
	[ "$(vdm_e2e_value fb-bpp)" = 32 ] || fail "fb bpp $(vdm_e2e_value fb-bpp)" || return 1
	[ "$(vdm_e2e_value fb-stride)" = $((W * 4)) ] || fail "fb stride $(vdm_e2e_value fb-stride)" || return 1
	got=$(vdm_e2e_value edid)
	[ "$got" = "$(od -An -v -tx1 "$OUT/edid0.bin" | tr -d ' \n')" ] ||
		fail "EDID in sysfs ($got) is not the one the daemon served" || return 1
	[ -s "$shot" ] || fail "no $what: $(cat "$VDM_E2E_TMP/shot.qmp" 2>/dev/null)" || return 1
	ppm_cmp "$shot" "$VDM_E2E_TMP/want.ppm" >&2 ||
		fail "$what differs from the image the guest wrote" || return 1
	ppm_cmp "$OUT/scanout0.ppm" "$VDM_E2E_TMP/want.ppm" >&2 ||
		fail "the daemon's headless picture differs from the image" || return 1
	[ -s "$shot2" ] || fail "no second $what: $(cat "$VDM_E2E_TMP/shot.qmp" 2>/dev/null)" || return 1
	ppm_cmp "$shot2" "$VDM_E2E_TMP/want2.ppm" >&2 ||
		fail "$what after the DRM mode set differs from the helper's picture" || return 1
	tail -n +$((mark + 1)) "$VDM_E2E_TMP/vu.log" >"$VDM_E2E_TMP/vu.boot.log"
	grep -q "cursor 0: $CX,$CY shown" "$VDM_E2E_TMP/vu.boot.log" ||
		fail "the cursor never showed at ($CX,$CY): $(grep 'cursor 0' "$VDM_E2E_TMP/vu.boot.log" | tr '\n' ';')" ||
		return 1
	grep -q "scanout 0: resource [0-9]*, ${W2}x$H2" "$VDM_E2E_TMP/vu.boot.log" ||
		fail "the daemon never showed the ${W2}x$H2 mode" || return 1
	[ "$mode" = vhost ] || vdm_e2e_log "$name: $(vdm_e2e_value pci); $(vdm_e2e_value irq-kinds), $(vdm_e2e_value msi) MSI vectors, $(vdm_e2e_value irq-total) virtio interrupts"
	TIMES+=("$(printf '%-9s initramfs %ss, qemu run %ss (%s)' "$name" "$t_build" \
		"$VDM_E2E_LAST_SECS" "$VDM_E2E_LAST_TIMES")")
	vdm_e2e_log "$name: PASS: ${W}x$H fbdev image pixel-exact in the $where; EDID as served ($(vdm_e2e_value connector)); ${W2}x$H2 DRM mode pixel-exact; cursor at ($CX,$CY)"
}

boots=("gpu1:vhost")
if [ "$VDM_E2E_FRONTEND" = vfio-user ]; then
	vdm_e2e_log "QEMU: $(vdm_e2e_qemu_version) (chroot $VDM_E2E_TRIXIE)"
	boots=()
	for m in $VDM_E2E_MODES; do
		boots+=("gpu-$m:$m")
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
echo "gpu ($VDM_E2E_FRONTEND): $passed boots passed, $failed failed"
[ "$failed" -eq 0 ]
