#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-guest test of back-end restart with inflight I/O tracking (vhost-user
# "Inflight I/O tracking", VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD): QEMU 10's
# vhost-user-blk-pci (num-queues=2) on a socket chardev with reconnect-ms
# talks to vdm-vhost-user; while the guest (x86, our kernel, -smp 2) writes
# checksummed data with O_DIRECT on both queues, the daemon dies by SIGKILL
# in the middle of a write request it took from the ring (its blk test knob
# crash-after-writes=N: deterministic, the request is in flight; the test
# sends SIGKILL itself if that never happens) and the test starts a new one
# on the same socket. QEMU reconnects and hands the new daemon the inflight
# region (SET_INFLIGHT_FD); the daemon resubmits what the dead one left in
# flight (asserted: its log says so), and the guest's I/O completes.
#
# Two boots: split ring, and packed=on. In each, the guest:
#   - writes 2 MiB of random data per vCPU (taskset 0 and 1: blk-mq maps
#     vCPU n to queue n) in 64 KiB O_DIRECT writes, two passes (the crash
#     lands during them);
#   - reads all of it back with O_DIRECT and compares md5 sums;
# and the host compares the image's bytes with the guest's md5 sums, checks
# that QEMU reconnected (the second daemon served the rings) and that no
# daemon logged an error.
#
#   tests/e2e/reconnect.sh --daemon build/examples/vhost-user/vdm-vhost-user

set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

vdm_e2e_require
vdm_e2e_daemon_find "$@"

T_ALL=$(vdm_e2e_now)
MIB=1048576
IMG_MIB=16
IMG=$VDM_E2E_TMP/disk.img
SOCK=$VDM_E2E_TMP/blk.sock
SERIAL=vdm-e2e-reconnect
# the first daemon dies on its 40th write (of 128: 2 x 2 x 32)
CRASH_AT=40

vdm_e2e_log "daemon $VDM_E2E_DAEMON"
# the restarted daemons are not in VDM_E2E_PIDS: stop them at exit too
vdm_e2e_on_exit 'for f in "$VDM_E2E_TMP"/daemon2-*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done'

cat >"$VDM_E2E_TMP/body.sh" <<'EOF'
. /vdm/params
i=0
dev=""
while [ $i -lt 200 ] && [ -z "$dev" ]; do
	for b in /sys/block/vd*; do
		[ "$(cat "$b/serial" 2>/dev/null)" = "$SERIAL" ] && dev=${b##*/}
	done
	i=$((i + 1))
	usleep 50000
done
[ -n "$dev" ] || { vdm_fail found "no disk with serial $SERIAL"; exit 1; }
vdm_pass found
vdm_value queues "$(ls /sys/block/$dev/mq | wc -l)"
vdm_value features "$(cat /sys/block/$dev/device/features)"
for cpu in 0 1; do
	head -c 2097152 /dev/urandom >/tmp/pat$cpu
	vdm_value md5-$cpu "$(md5sum </tmp/pat$cpu | cut -d' ' -f1)"
done
# writer CPU: two passes of its 2 MiB (at MiB 2*CPU) in 64 KiB O_DIRECT
# writes, from that vCPU (its queue)
writer() {
	for pass in 1 2; do
		taskset -c $1 dd if=/tmp/pat$1 of=/dev/$dev bs=65536 seek=$((32 * $1)) \
			oflag=direct conv=notrunc 2>/dev/null || return 1
	done
}
vdm_info io-start
writer 0 &
p0=$!
writer 1 &
p1=$!
r0=0 r1=0
wait $p0 || r0=$?
wait $p1 || r1=$?
[ $r0 = 0 ] && [ $r1 = 0 ] || { vdm_fail write "writers exited $r0 $r1"; exit 1; }
vdm_pass write
for cpu in 0 1; do
	got=$(taskset -c $cpu dd if=/dev/$dev bs=65536 skip=$((32 * cpu)) count=32 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)
	want=$(md5sum </tmp/pat$cpu | cut -d' ' -f1)
	[ "$got" = "$want" ] || { vdm_fail readback "cpu $cpu: read $got, wrote $want"; exit 1; }
done
vdm_pass readback
EOF

passed=0
failed=0
TIMES=()

fail() {
	vdm_e2e_log "$1"
	return 1
}

# killer NAME LOG N: once the guest says io-start in console LOG, wait for
# the daemon whose pid is in $VDM_E2E_TMP/cur.pid to die (its knob), SIGKILL
# it after 30 s if not, and start a new one on the same socket (pid in
# daemon2-N.pid, log in daemon2-N.log).
killer() {
	local name=$1 log=$2 n=$3 i pid how="died by its own SIGKILL"
	for ((i = 0; i < 1200; i++)); do
		grep -q 'VDM-E2E: INFO io-start' "$log" 2>/dev/null && break
		sleep 0.05
	done
	pid=$(cat "$VDM_E2E_TMP/cur.pid")
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		how="killed by the test"
	fi
	echo "daemon $pid $how at $(date +%s.%N)" >"$VDM_E2E_TMP/killed-$n"
	"$VDM_E2E_DAEMON" -v -v --socket "$SOCK" --device "blk,file=$IMG,serial=$SERIAL" \
		</dev/null >"$VDM_E2E_TMP/daemon2-$n.log" 2>&1 &
	echo $! >"$VDM_E2E_TMP/daemon2-$n.pid"
	echo $! >"$VDM_E2E_TMP/cur.pid"
}

# boot NAME EXTRA PACKED
boot() {
	local name=$1 extra=$2 wp=$3 t0 features packed=0 got want cpu kpid
	truncate -s 0 "$IMG"
	truncate -s "${IMG_MIB}M" "$IMG"
	printf 'SERIAL=%s\n' "$SERIAL" >"$VDM_E2E_TMP/params"
	vdm_e2e_build_initramfs --module virtio_blk \
		--file "$VDM_E2E_TMP/params:/vdm/params" \
		"$VDM_E2E_TMP/initrd-$name" "$VDM_E2E_TMP/body.sh"

	vdm_e2e_daemon_start "vu-$name" -v --socket "$SOCK" \
		--device "blk,file=$IMG,serial=$SERIAL,crash-after-writes=$CRASH_AT" || return 1
	echo "${VDM_E2E_PIDS[vu-$name]}" >"$VDM_E2E_TMP/cur.pid"
	rm -f "$VDM_E2E_TMP/killed-$name"
	killer "$name" "$VDM_E2E_TMP/$name.console.log" "$name" &
	kpid=$!
	t0=$(vdm_e2e_now)
	vdm_e2e_run_qemu --name "$name" --initrd "$VDM_E2E_TMP/initrd-$name" \
		--smp 2 --expect found --expect write --expect readback -- \
		-chardev "socket,id=c0,path=$SOCK,reconnect-ms=100" \
		-device "vhost-user-blk-pci,chardev=c0,num-queues=2$extra" || {
		kill "$kpid" 2>/dev/null || true
		wait "$kpid" 2>/dev/null || true
		for f in "$VDM_E2E_TMP"/daemon2-"$name".log; do
			[ -f "$f" ] && { vdm_e2e_log "restarted daemon log:"; sed 's/^/  | /' "$f" >&2; }
		done
		return 1
	}
	wait "$kpid" 2>/dev/null || true
	unset "VDM_E2E_PIDS[vu-$name]"
	[ -f "$VDM_E2E_TMP/killed-$name" ] || fail "$name: the daemon was never killed" || return 1
	vdm_e2e_log "$name: $(cat "$VDM_E2E_TMP/killed-$name")"

	got=$(vdm_e2e_value queues)
	[ "$got" = 2 ] || fail "$name: guest has $got queues, want 2" || return 1
	features=$(vdm_e2e_value features)
	if vdm_e2e_has_feature "$features" 34; then packed=1; fi
	[ "$packed" = "$wp" ] || fail "$name: RING_PACKED negotiated=$packed, want $wp" || return 1
	# the image holds what the guest wrote (its md5 sums), byte for byte
	for cpu in 0 1; do
		want=$(vdm_e2e_value "md5-$cpu")
		got=$(dd if="$IMG" bs="$MIB" skip=$((2 * cpu)) count=2 status=none | md5sum | cut -d' ' -f1)
		[ "$got" = "$want" ] || fail "$name: image MiB $((2 * cpu))..$((2 * cpu + 1)) md5 $got, guest wrote $want" || return 1
	done
	# QEMU reconnected to the new daemon, which got the region and ran the rings
	local log2=$VDM_E2E_TMP/daemon2-$name.log
	grep -q 'front-end connected' "$log2" || fail "$name: QEMU never reconnected" || return 1
	grep -q '<- SET_INFLIGHT_FD' "$log2" || fail "$name: QEMU did not hand the region to the new daemon" || return 1
	grep -q 'resubmitting' "$log2" || fail "$name: the new daemon resubmitted nothing" || return 1
	if grep -E ': (error|warning): ' "$log2"; then
		fail "$name: the restarted daemon logged errors or warnings" || return 1
	fi
	kill -TERM "$(cat "$VDM_E2E_TMP/daemon2-$name.pid")" 2>/dev/null || true
	TIMES+=("$(printf '%-7s qemu run %ss (%s)' "$name" "$VDM_E2E_LAST_SECS" "$VDM_E2E_LAST_TIMES")")
	vdm_e2e_log "$name: PASS ($(vdm_e2e_since "$t0") s)"
}

for v in split packed; do
	case $v in
	split) args=(split "" 0) ;;
	packed) args=(packed ",packed=on" 1) ;;
	esac
	if boot "${args[@]}"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done

vdm_e2e_log "timings:"
for t in "${TIMES[@]}"; do
	vdm_e2e_log "  $t"
done
vdm_e2e_log "total $(vdm_e2e_since "$T_ALL") s"
echo "reconnect: $passed boots passed, $failed failed"
[ "$failed" -eq 0 ]
