#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-guest live migration of vhost-user-blk (issue 16, "Real-guest
# tests"): two QEMU 10 instances on this host, each with vdm-vhost-user
# daemons of its own, the guest writing and reading its disks while the
# source migrates it to the destination over a local unix socket.
#
# What it checks (vhost-user text, /work/shared/protocols: "Migration",
# "Dirty pages logging", VHOST_F_LOG_ALL, VHOST_USER_PROTOCOL_F_LOG_SHMFD,
# SET_LOG_BASE, VHOST_VRING_F_LOG in SET_VRING_ADDR, "Stopping rings"
# (GET_VRING_BASE); VIRTIO 1.4 "Block Device / Device Operation" for the
# requests):
#   - QEMU's source asks the daemons for dirty logging (SET_FEATURES with
#     LOG_ALL, SET_LOG_BASE with the shared log) and the daemons complete
#     requests into guest memory while it is on (their log says how many);
#   - what the device writes into guest memory during the migration
#     reaches the destination: the guest reads blocks into a buffer it does
#     not touch (O_DIRECT: the device writes the guest's pages directly)
#     the whole time, and looks at it only on the destination; every slot
#     must hold the block last read into it. A device write the dirty log
#     does not carry leaves the copy the bulk pass sent (stale slots): with
#     the log marking disabled this test fails;
#   - GET_VRING_BASE returns the ring position only when every request of
#     the ring is completed (docs/drain.md: the daemon drains; its writes
#     are in the file, page cache included, before the source hands over),
#     so the destination's daemon, on the same image file (shared storage)
#     and the ring position from the migration stream, goes on from there:
#     the guest's writers, on both vCPUs (both queues), read back every
#     block they wrote before and during the migration on the destination,
#     write one more generation there, and read that back;
#   - the image file holds, byte for byte, what the guest reports it wrote.
#
# Every block carries its number, a generation and a checksum
# (tests/e2e/migwork.c, a static guest helper; the host runs the same
# binary to rebuild the expected image). One boot, two disks, each with
# num-queues=2 on -smp 2: disk a a split ring, disk b packed=on. Each disk
# has its own daemon on the source and another on the destination, the two
# serving the same image file. The guest learns that the migration is over
# from block 0 of disk a, where the host puts a mark after QMP says
# "completed" (the guest has no other channel in from the host).
#
# The migration is slowed (max-bandwidth 16 MiB/s, downtime-limit 1 ms: it
# cannot converge while the guest writes) until the iterative phase has
# synchronised the dirty bitmap (which pulls in the daemons' logs) 4 times
# and 6 s have passed, then the limits are lifted so that it converges (the
# guest keeps writing).
#
#   tests/e2e/migrate.sh --daemon build/examples/vhost-user/vdm-vhost-user

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
MEM=384M
# layout of each disk, 4 KiB blocks: 0 the control block (disk a), the
# reference region read during the migration, one region per writer (vCPU)
REF_FIRST=16
REF_N=256
W_FIRST=512
W_N=256
SLOTS=2048 # 8 MiB of buffer each reader fills during the migration
SLOW=$((16 << 20))
HOLD=6
TMO=240 # each QEMU's hard limit (the whole test: 12-25 s at load 5-10)

vdm_e2e_log "daemon $VDM_E2E_DAEMON"
${CC:-cc} -static -O2 -o "$VDM_E2E_TMP/migwork" "$VDM_E2E_LIB_DIR/migwork.c" ||
	vdm_e2e_die "cannot build migwork.c (static libc needed)"

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
done
vdm_pass found
salt=1
for t in a b; do
	eval dev=\$dev_$t
	migwork prep /dev/$dev $REF_FIRST $REF_N $salt || { vdm_fail prep "disk $t"; exit 1; }
	salt=$((salt + 1))
done
vdm_pass prep
# per disk: a writer on each vCPU (blk-mq: vCPU n uses queue n), a reader
# on vCPU 0 (disk a) or 1 (disk b); all stop at the go mark on disk a
pids=""
salt=1
rcpu=0
for t in a b; do
	eval dev=\$dev_$t
	for cpu in 0 1; do
		migwork write /dev/$dev $((W_FIRST + cpu * W_N)) $W_N $salt $cpu /dev/$dev_a \
			>/tmp/w-$t-$cpu 2>&1 &
		pids="$pids w-$t-$cpu:$!"
	done
	migwork read /dev/$dev $REF_FIRST $REF_N $salt $rcpu /dev/$dev_a $SLOTS >/tmp/r-$t 2>&1 &
	pids="$pids r-$t:$!"
	salt=$((salt + 1))
	rcpu=1
done
vdm_info io-start
bad=0
for p in $pids; do
	n=${p%%:*}
	if wait ${p#*:}; then
		vdm_value $n "$(cat /tmp/$n)"
		vdm_pass $n
	else
		vdm_fail $n "$(cat /tmp/$n | tr '\n' ';')"
		bad=1
	fi
done
[ $bad = 0 ] || exit 1
GUEST

# The expected image of disk T (salt S, writers' final generations G0 G1):
# control block (disk a: the go mark), reference region, writer regions,
# zeros elsewhere.
expected_image() {
	local t=$1 salt=$2 g0=$3 g1=$4 out=$5
	truncate -s 0 "$out"
	truncate -s "${IMG_MIB}M" "$out"
	if [ "$t" = a ]; then
		"$VDM_E2E_TMP/migwork" ctl | dd of="$out" conv=notrunc status=none
	fi
	"$VDM_E2E_TMP/migwork" expect $REF_FIRST $REF_N "$salt" 0 |
		dd of="$out" bs=4096 seek=$REF_FIRST conv=notrunc status=none
	"$VDM_E2E_TMP/migwork" expect $W_FIRST $W_N "$salt" "$g0" |
		dd of="$out" bs=4096 seek=$W_FIRST conv=notrunc status=none
	"$VDM_E2E_TMP/migwork" expect $((W_FIRST + W_N)) $W_N "$salt" "$g1" |
		dd of="$out" bs=4096 seek=$((W_FIRST + W_N)) conv=notrunc status=none
}

fail() {
	vdm_e2e_log "$1"
	return 1
}

{
	printf 'SERIAL_a=vdm-e2e-migrate-a\nSERIAL_b=vdm-e2e-migrate-b\n'
	printf 'REF_FIRST=%s\nREF_N=%s\nW_FIRST=%s\nW_N=%s\nSLOTS=%s\n' \
		$REF_FIRST $REF_N $W_FIRST $W_N $SLOTS
} >"$VDM_E2E_TMP/params"
vdm_e2e_build_initramfs --module virtio_blk \
	--bin "$VDM_E2E_TMP/migwork" \
	--file "$VDM_E2E_TMP/params:/vdm/params" \
	"$VDM_E2E_TMP/initrd" "$VDM_E2E_TMP/body.sh"

# daemons: src-T and dst-T for each disk T, on the same image
for t in a b; do
	truncate -s "${IMG_MIB}M" "$VDM_E2E_TMP/$t.img"
	for side in src dst; do
		vdm_e2e_daemon_start "$side-$t" -v --socket "$VDM_E2E_TMP/$side-$t.sock" \
			--device "blk,file=$VDM_E2E_TMP/$t.img,serial=vdm-e2e-migrate-$t,num-queues=2"
	done
done

# the kernel vdm_e2e_run_qemu would boot (the ELF boots faster under TCG)
KERNEL=${VDM_E2E_KERNEL:-$VDM_E2E_CACHE/vmlinux}
[ -f "$KERNEL" ] || KERNEL=$VDM_E2E_CACHE/vmlinuz

# qemu_cmd SIDE: the command line of SIDE (src or dst) in QCMD; the two
# differ only in their sockets, console and -incoming
qemu_cmd() {
	local side=$1 t extra
	_vdm_e2e_machine "$MEM" 2 ""
	QCMD=("$VDM_E2E_QEMU" -nodefaults -no-user-config -nographic -no-reboot -accel tcg
		"${VDM_E2E_MACHINE_ARGS[@]}"
		-kernel "$KERNEL" -initrd "$VDM_E2E_TMP/initrd"
		-append "console=ttyS0 panic=-1 quiet no_timer_check ${VDM_E2E_BOOT_ARGS-cryptomgr.notests=1 rodata=off}"
		-serial "file:$VDM_E2E_TMP/$side.console.log"
		-qmp "unix:$VDM_E2E_TMP/$side.qmp,server=on,wait=off")
	for t in a b; do
		extra=""
		[ "$t" = b ] && extra=",packed=on"
		QCMD+=(-chardev "socket,id=c$t,path=$VDM_E2E_TMP/$side-$t.sock"
			-device "vhost-user-blk-pci,id=blk$t,chardev=c$t,num-queues=2$extra")
	done
	[ "$side" = src ] || QCMD+=(-incoming "unix:$VDM_E2E_TMP/mig.sock")
}

# start_qemu SIDE: run it in the background (pid in VDM_E2E_PIDS[qemu-SIDE])
start_qemu() {
	qemu_cmd "$1"
	: >"$VDM_E2E_TMP/$1.console.log"
	vdm_e2e_log "$1: ${QCMD[*]}"
	timeout -k 5 "$TMO" "${QCMD[@]}" </dev/null >"$VDM_E2E_TMP/$1.qemu.log" 2>&1 &
	VDM_E2E_PIDS["qemu-$1"]=$!
}

# markers SIDE: the VDM-E2E lines of SIDE's console
markers() { tr -d '\r' <"$VDM_E2E_TMP/$1.console.log" | grep -o 'VDM-E2E: .*' || true; }

vdm_e2e_log "$(vdm_e2e_qemu_version)"
T_QEMU=$(vdm_e2e_now)
start_qemu dst
start_qemu src
ok=1
# wait for the guest's workload (boot, prep: ~10 s idle)
for ((i = 0; i < 2400; i++)); do
	markers src | grep -q 'INFO io-start' && break
	markers src | grep -q 'FAIL' && break
	kill -0 "${VDM_E2E_PIDS[qemu-src]}" 2>/dev/null || break
	sleep 0.05
done
if ! markers src | grep -q 'INFO io-start'; then
	ok=0
	fail "the guest never started its I/O on the source"
fi
MIGSTAT=""
if [ "$ok" = 1 ]; then
	T_MIG=$(vdm_e2e_now)
	vdm_e2e_log "migrating ($(vdm_e2e_since "$T_QEMU") s after start)"
	if MIGSTAT=$(python3 "$VDM_E2E_LIB_DIR/qmp.py" "$VDM_E2E_TMP/src.qmp" migrate \
		"unix:$VDM_E2E_TMP/mig.sock" --slow "$SLOW" --hold "$HOLD" --timeout 180); then
		vdm_e2e_log "migration: $MIGSTAT ($(vdm_e2e_since "$T_MIG") s)"
	else
		ok=0
		fail "migration failed: $MIGSTAT"
	fi
fi
if [ "$ok" = 1 ]; then
	# the destination runs the guest now: tell it (block 0 of disk a)
	"$VDM_E2E_TMP/migwork" ctl |
		dd of="$VDM_E2E_TMP/a.img" bs=4096 conv=notrunc oflag=direct status=none
	# the destination runs the guest (QEMU starts it once it has loaded
	# the stream, which may be a moment after the source says completed)
	for ((i = 0; i < 300; i++)); do
		python3 "$VDM_E2E_LIB_DIR/qmp.py" "$VDM_E2E_TMP/dst.qmp" cmd query-status \
			>"$VDM_E2E_TMP/dst.status" 2>&1 || true
		grep -q '"status": "running"' "$VDM_E2E_TMP/dst.status" && break
		sleep 0.2
	done
	vdm_e2e_log "destination: $(cat "$VDM_E2E_TMP/dst.status")"
	grep -q '"status": "running"' "$VDM_E2E_TMP/dst.status" ||
		fail "the destination does not run the guest after the migration" || ok=0
	python3 "$VDM_E2E_LIB_DIR/qmp.py" "$VDM_E2E_TMP/src.qmp" cmd quit >/dev/null || true
fi
# the source ends (quit, or its guest ended without migrating)
if [ "$ok" = 0 ]; then
	kill "${VDM_E2E_PIDS[qemu-src]}" 2>/dev/null || true
	kill "${VDM_E2E_PIDS[qemu-dst]}" 2>/dev/null || true
fi
rc=0
wait "${VDM_E2E_PIDS[qemu-src]}" || rc=$?
unset "VDM_E2E_PIDS[qemu-src]"
[ "$ok" = 0 ] || [ "$rc" = 0 ] || fail "source QEMU exited with status $rc" || ok=0
# the guest finishes on the destination and powers off
rc=0
wait "${VDM_E2E_PIDS[qemu-dst]}" || rc=$?
unset "VDM_E2E_PIDS[qemu-dst]"
vdm_e2e_log "qemu run $(vdm_e2e_since "$T_QEMU") s"
if [ "$ok" = 1 ]; then
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		fail "destination timed out after $TMO s" || ok=0
	elif [ "$rc" != 0 ]; then
		fail "destination QEMU exited with status $rc" || ok=0
	fi
fi
# the console of the whole run: the source's, then the destination's
cat "$VDM_E2E_TMP/src.console.log" "$VDM_E2E_TMP/dst.console.log" >"$VDM_E2E_TMP/migrate.console.log"
VDM_E2E_LAST_LOG=$VDM_E2E_TMP/migrate.console.log
all=$(markers src; markers dst)
if [ "$ok" = 1 ]; then
	if grep -q '^VDM-E2E: FAIL' <<<"$all"; then
		fail "guest reported: $(grep '^VDM-E2E: FAIL' <<<"$all" | head -6 | tr '\n' ';')" || ok=0
	elif ! grep -qx 'VDM-E2E: DONE 0' <<<"$(markers dst)"; then
		fail "no 'DONE 0' on the destination's console" || ok=0
	fi
	for e in found prep w-a-0 w-a-1 r-a w-b-0 w-b-1 r-b; do
		grep -qx "VDM-E2E: PASS $e" <<<"$all" || fail "expected PASS $e is missing" || ok=0
	done
	# the guest's work after the go mark ran on the destination
	for e in w-a-0 w-a-1 r-a w-b-0 w-b-1 r-b; do
		grep -qx "VDM-E2E: PASS $e" <<<"$(markers dst)" ||
			fail "PASS $e not on the destination's console" || ok=0
	done
fi
[ "$ok" = 1 ] && grep -E '^VDM-E2E: (PASS|INFO|VALUE)' <<<"$all" | sed 's/^/e2e: migrate: /' >&2

# check T SALT PACKED: disk T's results
check() {
	local t=$1 salt=$2 wp=$3 features packed=0 got g0 g1 v s side n
	got=$(vdm_e2e_value "$t-queues")
	[ "$got" = 2 ] || fail "disk $t: guest has $got queues, want 2" || return 1
	features=$(vdm_e2e_value "$t-features")
	if vdm_e2e_has_feature "$features" 34; then packed=1; fi
	[ "$packed" = "$wp" ] || fail "disk $t: RING_PACKED negotiated=$packed, want $wp" || return 1
	# writes happened before the go mark (during the migration)
	for cpu in 0 1; do
		v=$(vdm_e2e_value "w-$t-$cpu")
		read -r _ g _ s _ <<<"$v"
		[ "$s" -ge 1 ] 2>/dev/null || fail "disk $t cpu $cpu: no whole generation before the go mark ($v)" ||
			return 1
		eval "g$cpu=$g"
	done
	v=$(vdm_e2e_value "r-$t")
	read -r _ n _ _ _ s _ <<<"$v"
	[ "$n" -ge 1 ] 2>/dev/null || fail "disk $t: the reader did not finish one round ($v)" || return 1
	# the image holds what the guest wrote, byte for byte
	expected_image "$t" "$salt" "$g0" "$g1" "$VDM_E2E_TMP/$t.want"
	cmp "$VDM_E2E_TMP/$t.img" "$VDM_E2E_TMP/$t.want" >&2 ||
		fail "disk $t: the image differs from what the guest wrote (generations $g0 $g1)" || return 1
	# the source's daemon logged for the migration, the destination's took over
	for side in src dst; do
		vdm_e2e_daemon_check_log "$side-$t" || return 1
	done
	grep -q 'dirty logging on' "$VDM_E2E_TMP/src-$t.log" ||
		fail "disk $t: the source's daemon never logged dirty pages" || return 1
	# it took reads (data into guest memory) and writes while logging
	v=$(sed -n 's/.*dirty logging: \([0-9]*\) requests taken while on (\([0-9]*\) reads.*/\1 \2/p' \
		"$VDM_E2E_TMP/src-$t.log" | tail -n 1)
	read -r n s <<<"${v:-0 0}"
	[ "$s" -gt 0 ] && [ "$n" -gt "$s" ] ||
		fail "disk $t: the source's daemon took no reads or no writes while logging ($v)" || return 1
	grep -q 'front-end connected' "$VDM_E2E_TMP/dst-$t.log" ||
		fail "disk $t: the destination never connected to its daemon" || return 1
	vdm_e2e_log "disk $t: ok (RING_PACKED=$packed, 2 queues, final generations $g0 $g1," \
		"$(grep -o 'dirty logging: .*' "$VDM_E2E_TMP/src-$t.log" | tail -n 1))"
}
if [ "$ok" = 1 ]; then
	check a 1 0 || ok=0
	check b 2 1 || ok=0
fi
if [ "$ok" = 0 ]; then
	for side in src dst; do
		vdm_e2e_log "$side qemu stderr:"
		sed 's/^/  | /' "$VDM_E2E_TMP/$side.qemu.log" >&2 || true
		vdm_e2e_log "$side console (last 40 lines):"
		tr -d '\r' <"$VDM_E2E_TMP/$side.console.log" | tail -n 40 | sed 's/^/  | /' >&2 || true
		for t in a b; do
			vdm_e2e_daemon_log "$side-$t"
		done
	done
fi
vdm_e2e_log "total $(vdm_e2e_since "$T_ALL") s"
if [ "$ok" = 1 ]; then
	echo "migrate: PASS (split and packed, 2 queues each)"
else
	echo "migrate: FAIL"
	exit 1
fi
