#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-guest test of vdm's sound device: vdm-vhost-user serves a
# vhost-user-snd-pci device (QEMU 10) to Linux 6.12's virtio_snd driver
# (TCG). Debian's alsa-utils (aplay, arecord, amixer) and their libraries
# are copied into the initramfs. Boot 1 (vdm, real-time pacing):
#   - amixer sees the card's controls, jacks and channel maps; a volume
#     set in the guest reaches the daemon (its log);
#   - aplay -D hw:0,0 plays S16_LE/48 kHz/stereo, U8/8 kHz/mono and
#     S32_LE/44.1 kHz/stereo WAVs: each daemon WAV sink's data chunk equals
#     the source's byte for byte (sha256);
#   - a long WAV is interrupted mid-stream (STOP, RELEASE) and the S16 WAV
#     played again (PREPARE/RELEASE cycles): the interrupted sink is a prefix
#     of its source, the replay exact;
#   - arecord -D hw:0,0 records the daemon's WAV source: same bytes.
# Boot 2 (the differential run): the same S16 WAV through QEMU's in-process
# virtio-sound-pci with -audiodev wav; its output is compared with the
# source and with vdm's sink (what differs is reported).
# The daemon's pacing error (p50/p99 per release) is printed.
#
# With --frontend vfio-user the daemon serves the card with --vfio-user
# instead, through vdm's own virtio-pci transport, to QEMU 11.1's
# vfio-user-pci (the trixie chroot, daemon-lib.sh; Debian's kernel and its
# virtio_snd module, as ours has no sound): boot 1 twice, each with a daemon
# of its own, MSI-X and pci=nomsi (INTx), each also checking that the
# function (0x1af4:0x1059) interrupts that way (guest-lib.sh vdm_pci_irq).
# Boot 2 (QEMU's own device, no vdm code) is e2e/sound's alone.
#
#   tests/e2e/sound.sh --daemon build/examples/vhost-user/vdm-vhost-user
#   tests/e2e/sound.sh --daemon ... --frontend vfio-user

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
vdm_e2e_frontend_setup debian

T_ALL=$(vdm_e2e_now)
T=$VDM_E2E_TMP
for b in aplay amixer; do
	command -v $b >/dev/null || vdm_e2e_die "$b missing: apt-get install alsa-utils"
done

# Test WAVs (deterministic tones plus a counter so any slip shows) and the
# capture source. Lengths are whole aplay periods (1024 frames): aplay pads
# a last partial period with silence.
python3 - "$T" <<'EOF'
import math, struct, sys
t = sys.argv[1]
def wav(name, rate, ch, bits, frames, fmt):
    out = bytearray()
    for i in range(frames):
        for c in range(ch):
            v = math.sin(2 * math.pi * 440 * (c + 1) * i / rate)
            if fmt == 'u8':
                out += bytes([int(128 + 100 * v) & 0xff ^ (i & 1)])
            elif bits == 16:
                out += struct.pack('<h', int(20000 * v) ^ (i & 7))
            else:
                out += struct.pack('<i', int(1.5e9 * v) ^ (i & 0xff))
    hdr = b'RIFF' + struct.pack('<I', 36 + len(out)) + b'WAVEfmt ' + struct.pack(
        '<IHHIIHH', 16, 1, ch, rate, rate * ch * bits // 8, ch * bits // 8, bits)
    open(f'{t}/{name}', 'wb').write(hdr + b'data' + struct.pack('<I', len(out)) + out)
wav('s16.wav', 48000, 2, 16, 24 * 1024, 's16')
wav('u8.wav', 8000, 1, 8, 6 * 1024, 'u8')
wav('s32.wav', 44100, 2, 32, 22 * 1024, 's32')
wav('long.wav', 48000, 2, 16, 120 * 1024, 's16')
wav('in.wav', 48000, 2, 16, 16 * 1024, 's16')
EOF

# sha256 of a WAV's data chunk (first "data" chunk).
wav_data() {
	python3 - "$1" <<'EOF'
import struct, sys
b = open(sys.argv[1], 'rb').read()
i = 12
while i + 8 <= len(b):
    n = struct.unpack('<I', b[i + 4:i + 8])[0]
    if b[i:i + 4] == b'data':
        sys.stdout.buffer.write(b[i + 8:i + 8 + n]); break
    i += 8 + n + (n & 1)
EOF
}
wav_sha() { wav_data "$1" | sha256sum | cut -d' ' -f1; }
wav_len() { wav_data "$1" | wc -c; }

# alsa-utils with its libraries and configuration for the guest.
mapfile -t alsa_files < <(vdm_e2e_alsa_files /usr/bin/aplay /usr/bin/amixer)

cat >"$T/body.sh" <<'EOF'
. /vdm/params
ln -s /usr/bin/aplay /usr/bin/arecord
export PATH=/usr/bin:$PATH
vdm_wait_path /dev/snd/pcmC0D0p 20
vdm_wait_path /dev/snd/controlC0 5
vdm_pass probe
vdm_value card "$(cat /proc/asound/cards | head -1)"
# Controls, jacks, channel maps as amixer sees them.
amixer -D hw:0 controls >/tmp/ctl 2>&1 || true
vdm_value controls "$(tr '\n' ';' </tmp/ctl)"
vdm_check set-volume amixer -q -D hw:0 cset "name=Master Playback Volume" 42,43
vdm_value volume "$(amixer -D hw:0 cget 'name=Master Playback Volume' | grep ': values=' | tr -d ' ')"
vdm_check set-source amixer -q -D hw:0 cset "name=Capture Source" Line
P="-D hw:0,0 -q --period-size=1024 --buffer-size=4096"
vdm_check play-s16 aplay $P /vdm/s16.wav
vdm_check play-u8 aplay $P /vdm/u8.wav
vdm_check play-s32 aplay $P /vdm/s32.wav
# Stop mid-stream, then play again.
aplay $P /vdm/long.wav &
pid=$!
sleep 1
kill -INT $pid
wait $pid || true
vdm_check replay-s16 aplay $P /vdm/s16.wav
vdm_check record arecord $P -f S16_LE -c 2 -r 48000 -s 16384 /tmp/cap.wav
vdm_value capture "$(tail -c +45 /tmp/cap.wav | sha256sum | cut -d' ' -f1) $(tail -c +45 /tmp/cap.wav | wc -c)"
[ "$MODE" = vhost ] || vdm_pci_irq 0x1059 "$MODE" 5
EOF

cat >"$T/body2.sh" <<'EOF'
export PATH=/usr/bin:$PATH
vdm_wait_path /dev/snd/pcmC0D0p 20
vdm_check play-qemu aplay -D hw:0,0 -q --period-size=1024 --buffer-size=4096 /vdm/s16.wav
EOF

files=("${alsa_files[@]}")
for w in s16 u8 s32 long; do files+=(--file "$T/$w.wav:/vdm/$w.wav"); done
APPEND="virtio_snd.msg_timeout_ms=20000 ${SOUND_APPEND:-}"

failed=0
fail() {
	vdm_e2e_log "FAIL: $*"
	failed=$((failed + 1))
}

# boot MODE: boot 1 with a daemon of its own (vu-MODE).
boot() {
	local mode=$1 name=sound-$1 sock=$T/snd-$1.sock LOG=$T/vu-$1.log f0=$failed expect=() ctls want n cap
	rm -f "$T"/out-*.wav
	local vv=()
	[ -z "${SOUND_DAEMON_V:-}" ] || vv=("$SOUND_DAEMON_V")
	vdm_e2e_daemon_start "vu-$mode" -v "${vv[@]}" "$VDM_E2E_SOCKOPT" "$sock" --device \
		"sound,playback=$T/out-%d.wav,capture=$T/in.wav" || { fail "daemon start" && return 0; }
	vdm_e2e_frontend_device "$mode" "$sock" vhost-user-snd-pci
	[ "$mode" != vhost ] || VDM_E2E_DEVARGS[3]+=",controls=on"
	[ "$mode" = vhost ] || expect=(--expect irq)
	printf 'MODE=%s\n' "$mode" >"$T/params"
	t0=$(vdm_e2e_now)
	vdm_e2e_build_initramfs --module virtio_snd "${files[@]}" --file "$T/params:/vdm/params" \
		"$T/initrd" "$T/body.sh"
	t_build=$(vdm_e2e_since "$t0")

	vdm_e2e_run_qemu --name "$name" --initrd "$T/initrd" --append "$APPEND${VDM_E2E_APPEND:+ $VDM_E2E_APPEND}" \
		--expect probe --expect set-volume --expect play-s16 --expect play-u8 \
		--expect play-s32 --expect replay-s16 --expect record "${expect[@]}" -- \
		"${VDM_E2E_DEVARGS[@]}" || fail "$name: guest run"
	t_vdm=$VDM_E2E_LAST_SECS
	vdm_e2e_daemon_alive "vu-$mode" || fail "$name: daemon died"
	vdm_e2e_stop "vu-$mode"
	ctls=$(vdm_e2e_value controls || true)
	vdm_e2e_log "card: $(vdm_e2e_value card || true)"
	vdm_e2e_log "controls: $ctls"
	for want in "Master Playback Volume" "Master Playback Switch" "Capture Source" \
		"Headphone Jack" "Mic Jack" "Playback Channel Map" "Capture Channel Map"; do
		[[ "$ctls" == *"$want"* ]] || fail "amixer does not list '$want'"
	done
	grep -q "control 0 (Master Playback Volume) = 42,43" "$LOG" ||
		fail "the guest's volume change did not reach the daemon"
	grep -q "control 2 (Capture Source) = Line" "$LOG" ||
		fail "the guest's capture source change did not reach the daemon"

	# Sinks: out-0 s16, out-1 u8, out-2 s32, out-3 long (interrupted), out-4 s16.
	check_exact() {
		local sink=$T/out-$1.wav src=$T/$2.wav
		[ -f "$sink" ] || { fail "$2: no sink $sink"; return; }
		if [ "$(wav_sha "$sink")" = "$(wav_sha "$src")" ]; then
			vdm_e2e_log "$2 -> out-$1.wav: $(wav_len "$src") bytes, sha256 equal"
		else
			fail "$2 -> out-$1.wav: $(wav_len "$sink") bytes vs $(wav_len "$src"), sha256 differ"
		fi
	}
	check_exact 0 s16
	check_exact 1 u8
	check_exact 2 s32
	check_exact 4 s16
	if [ -f "$T/out-3.wav" ]; then
		n=$(wav_len "$T/out-3.wav")
		if [ "$n" -gt 0 ] && [ "$n" -lt "$(wav_len "$T/long.wav")" ] &&
			[ "$(wav_data "$T/out-3.wav" | sha256sum)" = "$(wav_data "$T/long.wav" | head -c "$n" | sha256sum)" ]; then
			vdm_e2e_log "long.wav stopped after $n bytes: a prefix of the source"
		else
			fail "interrupted play: $n bytes, not a strict prefix of long.wav"
		fi
	else
		fail "no sink for the interrupted play"
	fi
	[ ! -f "$T/out-5.wav" ] || fail "more PREPARE/RELEASE cycles than plays"
	cap=$(vdm_e2e_value capture || true)
	want="$(wav_data "$T/in.wav" | sha256sum | cut -d' ' -f1) $(wav_len "$T/in.wav")"
	if [ "$cap" = "$want" ]; then
		vdm_e2e_log "capture: $want: equal"
	else
		fail "capture: guest recorded '$cap', source '$want'"
	fi
	grep -E "pacing stream" "$LOG" | sed 's/^/e2e: /' >&2 || true
	[ "$mode" = vhost ] || vdm_e2e_log "$name: $(vdm_e2e_value pci); $(vdm_e2e_value irq-kinds), $(vdm_e2e_value msi) MSI vectors, $(vdm_e2e_value irq-total) virtio interrupts"
	vdm_e2e_daemon_check_log "vu-$mode" || failed=$((failed + 1))
	[ "$failed" -eq "$f0" ] || vdm_e2e_daemon_log "vu-$mode"
	vdm_e2e_log "$name: $([ "$failed" -eq "$f0" ] && echo PASS || echo FAIL): initramfs ${t_build}s, vdm run ${t_vdm}s"
}

[ "$VDM_E2E_FRONTEND" = vhost-user ] || vdm_e2e_log "QEMU: $(vdm_e2e_qemu_version) (chroot $VDM_E2E_TRIXIE)"
for mode in $VDM_E2E_MODES; do
	boot "$mode"
done

if [ "$VDM_E2E_FRONTEND" = vhost-user ]; then
	# Boot 2: QEMU's own virtio-sound-pci, -audiodev wav.
	vdm_e2e_build_initramfs --module virtio_snd "${alsa_files[@]}" \
		--file "$T/s16.wav:/vdm/s16.wav" "$T/initrd2" "$T/body2.sh"
	vdm_e2e_run_qemu --name qemu-snd --initrd "$T/initrd2" --append "$APPEND" \
		--expect play-qemu -- \
		-audiodev "wav,id=a0,path=$T/qemu.wav,out.frequency=48000,out.channels=2,out.format=s16,out.fixed-settings=on" \
		-device virtio-sound-pci,audiodev=a0 || fail "QEMU virtio-sound-pci run"
	t_qemu=$VDM_E2E_LAST_SECS
	if [ -f "$T/qemu.wav" ]; then
		python3 - "$T/s16.wav" "$T/qemu.wav" "$T/out-0.wav" >"$T/diff.txt" <<'EOF' || fail "differential: $(cat "$T/diff.txt")"
import struct, sys
def data(p):
    b = open(p, 'rb').read(); i = 12
    while i + 8 <= len(b):
        n = struct.unpack('<I', b[i + 4:i + 8])[0]
        if b[i:i + 4] == b'data': return b[i + 8:i + 8 + n]
        i += 8 + n + (n & 1)
    return b''
src, q, v = (data(p) for p in sys.argv[1:4])
# QEMU pads with silence where its audio timer ran dry and may stop before
# the stream's last frames: find where the source starts, then how much of
# it follows byte for byte.
at = q.find(src[:4096])
k = 0
if at >= 0:
    while k < len(src) and at + k < len(q) and src[k] == q[at + k]: k += 1
extra = q[at + k:] if at >= 0 else q
print(f"QEMU virtio-sound-pci + -audiodev wav: {len(q)} bytes; the source ({len(src)} bytes) "
      f"starts at byte {at} and matches for {k} bytes ({len(src) - k} missing at the end, "
      f"{len(extra)} bytes after it); vdm: {len(v)} bytes, identical to the source: {v == src}")
sys.exit(0 if at >= 0 and k >= len(src) * 9 // 10 and v == src else 1)
EOF
		vdm_e2e_log "differential: $(cat "$T/diff.txt")"
	else
		fail "QEMU wrote no $T/qemu.wav"
	fi
fi

vdm_e2e_log "timings: qemu run ${t_qemu:-?}s, total $(vdm_e2e_since "$T_ALL") s"
echo "sound ($VDM_E2E_FRONTEND): $failed failures"
[ "$failed" -eq 0 ]
