#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-guest test of back-end restart with inflight I/O tracking (vhost-user
# "Inflight I/O tracking", VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD): QEMU 10's
# vhost-user-blk-pci (num-queues=2) on socket chardevs with reconnect-ms
# talks to vdm-vhost-user; while the guest (x86, our kernel, -smp 2) writes
# checksummed data with O_DIRECT on both queues, each daemon dies by SIGKILL
# in the middle of a write request it took from the ring (its blk test knob
# crash-after-writes=N: deterministic, the request is in flight; the test
# sends SIGKILL itself if that never happens) and the test starts a new one
# on the same socket. QEMU reconnects and hands the new daemon the inflight
# region (SET_INFLIGHT_FD); the daemon resubmits what the dead one left in
# flight (asserted: its log says so), and the guest's I/O completes.
#
# One boot, two disks, each served by its own daemon: disk a a split ring,
# disk b packed=on, both num-queues=2. On each disk the guest:
#   - writes 512 KiB of random data per vCPU (taskset 0 and 1: blk-mq maps
#     vCPU n to queue n) in 64 KiB O_DIRECT writes, two passes (each daemon
#     dies during them);
#   - reads all of it back with O_DIRECT and compares md5 sums;
# and the host compares each image's bytes with the guest's md5 sums, and
# checks that QEMU reconnected to each new daemon, handed it the region
# (SET_INFLIGHT_FD), that it resubmitted, and that it logged no error.
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
IMG_MIB=4
# each first daemon dies on its 12th write (of 32: 2 passes x 2 vCPUs x 8)
CRASH_AT=12

vdm_e2e_log "daemon $VDM_E2E_DAEMON"
# the restarted daemons are not in VDM_E2E_PIDS: stop them at exit too
# (eval'd at exit: expanded then)
# shellcheck disable=SC2016
vdm_e2e_on_exit 'for f in "$VDM_E2E_TMP"/daemon2-*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done'

cat >"$VDM_E2E_TMP/body.sh" <<'GUEST'
. /vdm/params
# disk_of SERIAL: the vdX whose serial is SERIAL (waits up to 10 s).
disk_of() {
	i=0
	while [ $i -lt 200 ]; do
		for b in /sys/block/vd*; do
			[ "$(cat "$b/serial" 2>/dev/null)" = "$1" ] && { echo "${b##*/}"; return 0; }
		done
		i=$((i + 1))
		usleep 50000
	done
	return 1
}
for t in a b; do
	eval serial=\$SERIAL_$t
	dev=$(disk_of "$serial") || { vdm_fail found "no disk with serial $serial"; exit 1; }
	eval dev_$t=$dev
	vdm_value $t-queues "$(ls /sys/block/$dev/mq | wc -l)"
	vdm_value $t-features "$(cat /sys/block/$dev/device/features)"
	for cpu in 0 1; do
		head -c 524288 /dev/urandom >/tmp/pat-$t-$cpu
		vdm_value md5-$t-$cpu "$(md5sum </tmp/pat-$t-$cpu | cut -d' ' -f1)"
	done
done
vdm_pass found
# writer DISK CPU: two passes of its 512 KiB (at MiB CPU) in 64 KiB
# O_DIRECT writes, from that vCPU (its queue)
writer() {
	eval dev=\$dev_$1
	for pass in 1 2; do
		taskset -c $2 dd if=/tmp/pat-$1-$2 of=/dev/$dev bs=65536 seek=$((16 * $2)) \
			oflag=direct conv=notrunc 2>/dev/null || return 1
	done
}
vdm_info io-start
pids=""
for t in a b; do
	for cpu in 0 1; do
		writer $t $cpu &
		pids="$pids $!"
	done
done
bad=0
for p in $pids; do
	wait $p || bad=$((bad + 1))
done
[ $bad = 0 ] || { vdm_fail write "$bad writers failed"; exit 1; }
vdm_pass write
for t in a b; do
	eval dev=\$dev_$t
	for cpu in 0 1; do
		got=$(taskset -c $cpu dd if=/dev/$dev bs=65536 skip=$((16 * cpu)) count=8 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)
		want=$(md5sum </tmp/pat-$t-$cpu | cut -d' ' -f1)
		[ "$got" = "$want" ] || { vdm_fail readback "disk $t cpu $cpu: read $got, wrote $want"; exit 1; }
	done
done
vdm_pass readback
GUEST

fail() {
	vdm_e2e_log "$1"
	return 1
}

# restarter T LOG: once the guest says io-start in console LOG, wait for
# disk T's daemon (pid in $VDM_E2E_TMP/first-T.pid) to die (its knob),
# SIGKILL it after 30 s if not, and start a new one on the same socket (pid
# in daemon2-T.pid, log in daemon2-T.log).
restarter() {
	local t=$1 log=$2 i pid how="died by its own SIGKILL"
	for ((i = 0; i < 1200; i++)); do
		grep -q 'VDM-E2E: INFO io-start' "$log" 2>/dev/null && break
		sleep 0.05
	done
	pid=$(cat "$VDM_E2E_TMP/first-$t.pid")
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		how="killed by the test"
	fi
	echo "daemon $pid $how at $(date +%s.%N)" >"$VDM_E2E_TMP/killed-$t"
	"$VDM_E2E_DAEMON" -v -v --socket "$VDM_E2E_TMP/$t.sock" \
		--device "blk,file=$VDM_E2E_TMP/$t.img,serial=vdm-e2e-reconnect-$t" \
		</dev/null >"$VDM_E2E_TMP/daemon2-$t.log" 2>&1 &
	echo $! >"$VDM_E2E_TMP/daemon2-$t.pid"
}

name=reconnect
printf 'SERIAL_a=vdm-e2e-reconnect-a\nSERIAL_b=vdm-e2e-reconnect-b\n' >"$VDM_E2E_TMP/params"
vdm_e2e_build_initramfs --module virtio_blk \
	--file "$VDM_E2E_TMP/params:/vdm/params" \
	"$VDM_E2E_TMP/initrd" "$VDM_E2E_TMP/body.sh"
qargs=()
rpids=()
for t in a b; do
	truncate -s "${IMG_MIB}M" "$VDM_E2E_TMP/$t.img"
	vdm_e2e_daemon_start "vu-$t" -v --socket "$VDM_E2E_TMP/$t.sock" \
		--device "blk,file=$VDM_E2E_TMP/$t.img,serial=vdm-e2e-reconnect-$t,crash-after-writes=$CRASH_AT"
	echo "${VDM_E2E_PIDS[vu-$t]}" >"$VDM_E2E_TMP/first-$t.pid"
	restarter "$t" "$VDM_E2E_TMP/$name.console.log" &
	rpids+=($!)
	extra=""
	[ "$t" = b ] && extra=",packed=on"
	qargs+=(-chardev "socket,id=c$t,path=$VDM_E2E_TMP/$t.sock,reconnect-ms=100"
		-device "vhost-user-blk-pci,chardev=c$t,num-queues=2$extra")
done
ok=1
# (about 20 s on an idle 2-core machine; the timeout leaves room for a
# loaded one)
vdm_e2e_run_qemu --name "$name" --initrd "$VDM_E2E_TMP/initrd" --smp 2 --timeout 240 \
	--expect found --expect write --expect readback -- "${qargs[@]}" || ok=0
for p in "${rpids[@]}"; do
	kill "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
done
# the first daemons normally died (their own SIGKILL); one that did not (a
# failed run) is stopped at exit with the others (VDM_E2E_PIDS)

# check T PACKED: disk T's results
check() {
	local t=$1 wp=$2 features packed=0 got want cpu log2=$VDM_E2E_TMP/daemon2-$1.log
	[ -f "$VDM_E2E_TMP/killed-$t" ] || fail "disk $t: its daemon never died" || return 1
	vdm_e2e_log "disk $t: $(cat "$VDM_E2E_TMP/killed-$t")"
	got=$(vdm_e2e_value "$t-queues")
	[ "$got" = 2 ] || fail "disk $t: guest has $got queues, want 2" || return 1
	features=$(vdm_e2e_value "$t-features")
	if vdm_e2e_has_feature "$features" 34; then packed=1; fi
	[ "$packed" = "$wp" ] || fail "disk $t: RING_PACKED negotiated=$packed, want $wp" || return 1
	# the image holds what the guest wrote (its md5 sums), byte for byte
	for cpu in 0 1; do
		want=$(vdm_e2e_value "md5-$t-$cpu")
		got=$(dd if="$VDM_E2E_TMP/$t.img" bs=65536 skip=$((16 * cpu)) count=8 status=none | md5sum | cut -d' ' -f1)
		[ "$got" = "$want" ] || fail "disk $t: image at MiB $cpu (512 KiB) md5 $got, guest wrote $want" || return 1
	done
	# QEMU reconnected to the new daemon, which got the region back and
	# resubmitted what the dead one had taken
	grep -q 'front-end connected' "$log2" || fail "disk $t: QEMU never reconnected" || return 1
	grep -q '<- SET_INFLIGHT_FD' "$log2" || fail "disk $t: QEMU did not hand the region to the new daemon" || return 1
	grep -q 'resubmitting' "$log2" || fail "disk $t: the new daemon resubmitted nothing" || return 1
	if grep -E ': (error|warning): ' "$log2" "$VDM_E2E_TMP/vu-$t.log" >&2; then
		fail "disk $t: a daemon logged errors or warnings" || return 1
	fi
	vdm_e2e_log "disk $t: ok (RING_PACKED=$packed, 2 queues, guest data and image verified)"
}
if [ "$ok" = 1 ]; then
	check a 0 || ok=0
	check b 1 || ok=0
fi
if [ "$ok" = 0 ]; then
	for t in a b; do
		[ ! -f "$VDM_E2E_TMP/daemon2-$t.log" ] || vdm_e2e_daemon_log "daemon2-$t"
	done
fi
vdm_e2e_log "qemu run ${VDM_E2E_LAST_SECS:-?} s (${VDM_E2E_LAST_TIMES:-})"
vdm_e2e_log "total $(vdm_e2e_since "$T_ALL") s"
if [ "$ok" = 1 ]; then
	echo "reconnect: PASS (split and packed, 2 queues each)"
else
	echo "reconnect: FAIL"
	exit 1
fi
