#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-guest test of the balloon device (devices/balloon.c) and of the
# daemon's balloon back end (examples/vhost-user/dev_balloon.c). QEMU has no
# vhost-user balloon front end, so the daemon serves the device over
# vfio-user (--vfio-user PATH --device balloon,...) and QEMU 11.1's
# vfio-user-pci (trixie chroot, tests/e2e/trixie.sh) puts it in front of the
# guest kernel of our own (tests/e2e/kernel.sh: VIRTIO_BALLOON and
# PAGE_REPORTING built in); TCG, q35, 512 MiB of memfd guest memory shared
# with the daemon.
#
# Host-side measure of memory given back: the blocks allocated to the guest
# memory file, as the daemon sees it: stat(2) st_blocks of
# /proc/DAEMON/map_files/<its mapping of memfd:mem> (the daemon punches holes
# in that file with madvise(MADV_REMOVE); QEMU's mapping is of the same
# file). The daemon's RSS says nothing here: it touches almost none of the
# guest's pages.
#
# The host drives the guest through the balloon's target (target file +
# SIGUSR1) and watches the guest's console; the guest watches MemTotal in
# /proc/meminfo (deflate-on-oom is off, so the Linux driver takes inflated
# pages out of MemTotal, 4 KiB for 4 KiB).
#
# Boots (one daemon each):
#   inflate: balloon with stats, no free page reporting. The guest first
#     dirties all but ~24 MiB of its free memory (a tmpfs file, then removed)
#     so the pages the balloon gets are backed on the host. Target 64 MiB:
#     the guest's MemTotal drops by exactly 64 MiB, the daemon logs actual
#     16384 pages, the memory file loses at least BAL_MIN_MIB MiB of blocks,
#     the stats file's total equals the guest's MemTotal in bytes. Target 0:
#     MemTotal is back to the boot value exactly, actual 0, stats total
#     again equal. Target 1 MiB is the host's "done" to the guest.
#   report: balloon with stats and free page reporting (its queue then
#     follows the stats queue). The guest dirties its free memory again,
#     frees it; the memory file loses at least REP_MIN_MIB MiB of blocks
#     while the balloon is empty (the driver reported the free pages, the
#     daemon punched them out); target 1 MiB is the "done", which also
#     proves inflation beside the reporting queue.
#   intx: the kernel booted with pci=nomsi, so the function interrupts
#     through INTx and the driver reads the ISR status (VIRTIO 1.4 4.1.4.5
#     "ISR status capability"; 4.1.5.3/4.1.5.5 used buffer and
#     configuration change notifications, the balloon's target arrives as a
#     configuration change). A short inflate boot without the dirtying:
#     target 64 MiB, MemTotal drops by exactly 65536 kB, the daemon logs
#     actual 16384 pages and the stats total equals MemTotal; target 0,
#     MemTotal back exactly; the "done". About 20 s.
# The intx boot checks the function's interrupt mode (guest-lib.sh
# vdm_pci_irq).
#
#   tests/e2e/balloon.sh --daemon build/examples/vhost-user/vdm-vhost-user
#
# Environment: lib.sh's (VDM_E2E_TIMEOUT, VDM_E2E_KEEP, VDM_E2E_VERBOSE...),
# VDM_VHOST_USER (daemon path), BAL_MODES="inflate report intx" (the boots).

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
KDIR=$("$VDM_E2E_LIB_DIR/kernel.sh" --path)
[ -f "$KDIR/vmlinux" ] || vdm_e2e_die "guest kernel $KDIR missing (sudo tests/e2e/kernel.sh builds it)"
grep -qx CONFIG_VIRTIO_BALLOON=y "$KDIR/config" || vdm_e2e_die "guest kernel $KDIR has no VIRTIO_BALLOON"
grep -qx CONFIG_PAGE_REPORTING=y "$KDIR/config" || vdm_e2e_die "guest kernel $KDIR has no PAGE_REPORTING"
"$VDM_E2E_DAEMON" --help 2>&1 | grep -q -- --vfio-user ||
	vdm_e2e_die "$VDM_E2E_DAEMON has no --vfio-user option"

T_ALL=$(vdm_e2e_now)
MIB=1048576
BAL_MIB=64     # the inflation target
ACK_MIB=1      # the host's "done" to the guest
BAL_MIN_MIB=32 # blocks the inflation must free at least (see the inflate boot)
REP_MIN_MIB=128
WAIT=60 # seconds for each step on either side

cat >"$VDM_E2E_TMP/body.sh" <<'BODY'
. /vdm/params
memtotal() { sed -n 's/^MemTotal: *\([0-9]*\) kB$/\1/p' /proc/meminfo; }
memfree() { sed -n 's/^MemFree: *\([0-9]*\) kB$/\1/p' /proc/meminfo; }
# Wait (up to WAIT s) until MemTotal is $1 kB.
wait_total() {
	i=0
	while [ "$(memtotal)" != "$1" ]; do
		i=$((i + 1))
		[ $i -lt $((WAIT * 5)) ] || { vdm_fail "$2" "MemTotal $(memtotal) kB, want $1 kB"; exit 1; }
		usleep 200000
	done
	vdm_value "$2-memtotal" "$1"
}
# Dirty all but ~24 MiB of the free memory (a tmpfs file), then free it.
dirty() {
	mkdir -p /fill
	mount -t tmpfs -o size=100% fill /fill
	n=$(($(memfree) / 1024 - 24))
	vdm_info "dirtying $n MiB"
	dd if=/dev/zero of=/fill/f bs=1048576 count=$n 2>/dev/null || true
	vdm_value "dirtied-$1" "$(($(wc -c </fill/f) / 1048576))"
	[ -n "${2:-}" ] && { vdm_info "phase $2"; sleep 3; }
	rm /fill/f
	umount /fill
}

bal=""
for d in /sys/bus/virtio/devices/*; do
	[ "$(cat $d/device)" = 0x0005 ] && bal=$d
done
[ -n "$bal" ] || { vdm_fail probe "no virtio device 5 (balloon)"; exit 1; }
drv=$(basename "$(readlink $bal/driver)")
vdm_value features "$(cat $bal/features)"
vdm_value driver "$drv"
[ "$drv" = virtio_balloon ] || { vdm_fail probe "bound to '$drv'"; exit 1; }
vdm_value pci-id "$(cat $bal/../vendor):$(cat $bal/../device)"
vdm_pass probe

M0=$(memtotal)
vdm_value memtotal0 "$M0"
if [ "$MODE" = inflate ] || [ "$MODE" = intx ]; then
	[ "$MODE" = intx ] || dirty inflate
	vdm_info "phase ready"
	wait_total $((M0 - BAL_MIB * 1024)) inflate
	vdm_info "phase inflated"
	vdm_pass inflate
	wait_total "$M0" deflate
	vdm_info "phase deflated"
	vdm_pass deflate
else
	dirty report filled
	vdm_info "phase freed"
	vdm_pass freed
fi
# The host's "done": a small inflation.
wait_total $((M0 - ACK_MIB * 1024)) ack
vdm_pass ack
[ "$IRQ" != intx ] || vdm_pci_irq 0x1045 intx || exit 1
BODY

# Watcher (runs beside QEMU): host side of one boot. Writes KEY VALUE lines
# and at most one "FAIL why" line to $VDM_E2E_TMP/host-MODE.
console_has() { tr -d '\r' <"$1" 2>/dev/null | grep -qx "VDM-E2E: $2"; }
wait_for() { # SECS DESCRIPTION COMMAND...: poll COMMAND every 0.1 s
	local n=$(($1 * 10)) what=$2 i
	shift 2
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	echo "FAIL timed out waiting for $what"
	return 1
}
mem_bytes() { # DAEMON-PID: bytes allocated to the guest memory file
	local line st
	line=$(grep -m1 'memfd:mem' "/proc/$1/maps") || return 1
	st=$(stat -L -c '%b %B' "/proc/$1/map_files/${line%% *}") || return 1
	echo $((${st% *} * ${st#* }))
}
set_target() { # DAEMON-PID MIB
	echo "$2" >"$VDM_E2E_TMP/target"
	kill -USR1 "$1"
}
daemon_said() { grep -qF "$2" "$VDM_E2E_TMP/$1.log"; }
daemon_said_after() { # NAME EARLIER LATER: LATER on a line after one with EARLIER
	awk -v a="$2" -v b="$3" 'index($0, a) { s = 1; next } s && index($0, b) { f = 1 } END { exit !f }' \
		"$VDM_E2E_TMP/$1.log"
}
stats_total_is() { grep -qx "total $1" "$VDM_E2E_TMP/stats" 2>/dev/null; }
memfd_dropped() { # DAEMON-PID FROM MIB
	local b
	b=$(mem_bytes "$1") || return 1
	[ $(($2 - b)) -ge $(($3 * MIB)) ]
}

watch_inflate() {
	local pid=$1 log=$2 name=$3 m0 b0 b1
	wait_for "$WAIT" "the guest to dirty its memory" console_has "$log" "INFO phase ready" || return 1
	m0=$(vdm_e2e_value memtotal0 "$log")
	b0=$(mem_bytes "$pid") || { echo "FAIL no memfd:mem mapping in the daemon"; return 1; }
	echo "blocks-before $b0"
	set_target "$pid" "$BAL_MIB"
	wait_for "$WAIT" "actual $((BAL_MIB * 256)) pages" daemon_said "$name" "actual $((BAL_MIB * 256)) pages" || return 1
	wait_for "$WAIT" "the guest's MemTotal to drop" console_has "$log" "INFO phase inflated" || return 1
	b1=$(mem_bytes "$pid") || { echo "FAIL the memfd:mem mapping went away"; return 1; }
	echo "blocks-inflated $b1"
	wait_for 15 "stats total $(((m0 - BAL_MIB * 1024) * 1024))" stats_total_is $(((m0 - BAL_MIB * 1024) * 1024)) || return 1
	echo "stats-inflated $(tr '\n' ' ' <"$VDM_E2E_TMP/stats")"
	set_target "$pid" 0
	wait_for "$WAIT" "actual 0 pages" daemon_said_after "$name" "actual $((BAL_MIB * 256)) pages" "actual 0 pages" || return 1
	wait_for "$WAIT" "the guest's MemTotal to come back" console_has "$log" "INFO phase deflated" || return 1
	wait_for 15 "stats total $((m0 * 1024))" stats_total_is $((m0 * 1024)) || return 1
	echo "stats-deflated $(tr '\n' ' ' <"$VDM_E2E_TMP/stats")"
	set_target "$pid" "$ACK_MIB"
}

# The INTx boot's host side: watch_inflate's steps without the memory file.
watch_intx() {
	local pid=$1 log=$2 name=$3 m0
	wait_for "$WAIT" "the guest to start" console_has "$log" "INFO phase ready" || return 1
	m0=$(vdm_e2e_value memtotal0 "$log")
	set_target "$pid" "$BAL_MIB"
	wait_for "$WAIT" "actual $((BAL_MIB * 256)) pages" daemon_said "$name" "actual $((BAL_MIB * 256)) pages" || return 1
	wait_for "$WAIT" "the guest's MemTotal to drop" console_has "$log" "INFO phase inflated" || return 1
	wait_for 15 "stats total $(((m0 - BAL_MIB * 1024) * 1024))" stats_total_is $(((m0 - BAL_MIB * 1024) * 1024)) || return 1
	echo "stats-inflated $(tr '\n' ' ' <"$VDM_E2E_TMP/stats")"
	set_target "$pid" 0
	wait_for "$WAIT" "actual 0 pages" daemon_said_after "$name" "actual $((BAL_MIB * 256)) pages" "actual 0 pages" || return 1
	wait_for "$WAIT" "the guest's MemTotal to come back" console_has "$log" "INFO phase deflated" || return 1
	set_target "$pid" "$ACK_MIB"
}

watch_report() {
	local pid=$1 log=$2 b0 b1
	wait_for "$WAIT" "the guest to dirty its memory" console_has "$log" "INFO phase filled" || return 1
	b0=$(mem_bytes "$pid") || { echo "FAIL no memfd:mem mapping in the daemon"; return 1; }
	echo "blocks-filled $b0"
	wait_for "$WAIT" "the guest to free its memory" console_has "$log" "INFO phase freed" || return 1
	wait_for "$WAIT" "the memory file to lose $REP_MIN_MIB MiB" memfd_dropped "$pid" "$b0" "$REP_MIN_MIB" || {
		echo "blocks-end $(mem_bytes "$pid")"
		return 1
	}
	sleep 2 # reporting comes in rounds: take what the next one does too
	b1=$(mem_bytes "$pid") || { echo "FAIL the memfd:mem mapping went away"; return 1; }
	echo "blocks-reported $b1"
	set_target "$pid" "$ACK_MIB"
}

passed=0
failed=0
TIMES=()

fail() {
	vdm_e2e_log "$1"
	return 1
}

host_value() { sed -n "s/^$2 //p" "$VDM_E2E_TMP/host-$1" | tail -n 1; }

boot() {
	local mode=$1 name="balloon-$1" sock="$VDM_E2E_TMP/$1.sock" opts pid t0 t_build wpid feat m0 st v
	local irq=msix append="" # append: pci=nomsi, and the irq check
	opts="balloon,target-mib=0,target-file=$VDM_E2E_TMP/target,stats-file=$VDM_E2E_TMP/stats,stats-ms=1000,deflate-on-oom=off"
	[ "$mode" = report ] || opts+=",reporting=off"
	[ "$mode" != intx ] || { irq=intx; append=pci=nomsi; }
	echo 0 >"$VDM_E2E_TMP/target"
	rm -f "$VDM_E2E_TMP/stats"
	vdm_e2e_daemon_start "$name" -v --vfio-user "$sock" --device "$opts" || return 1
	pid=${VDM_E2E_PIDS[$name]}
	printf 'MODE=%s\nBAL_MIB=%s\nACK_MIB=%s\nWAIT=%s\nIRQ=%s\n' "$mode" "$BAL_MIB" "$ACK_MIB" "$WAIT" "$irq" \
		>"$VDM_E2E_TMP/params"
	t0=$(vdm_e2e_now)
	vdm_e2e_build_initramfs --no-autoload --file "$VDM_E2E_TMP/params:/vdm/params" \
		"$VDM_E2E_TMP/initrd" "$VDM_E2E_TMP/body.sh"
	t_build=$(vdm_e2e_since "$t0")

	: >"$VDM_E2E_TMP/$name.console.log"
	"watch_$mode" "$pid" "$VDM_E2E_TMP/$name.console.log" "$name" >"$VDM_E2E_TMP/host-$mode" 2>&1 &
	wpid=$!
	local rc=0
	vdm_e2e_run_qemu --name "$name" --kernel "$KDIR/vmlinux" --initrd "$VDM_E2E_TMP/initrd" \
		--timeout 300 --expect probe --expect ack ${append:+--expect irq --append "$append"} \
		-- -device "{\"driver\":\"vfio-user-pci\",\"id\":\"bal0\",\"socket\":{\"type\":\"unix\",\"path\":\"$sock\"}}" || rc=1
	kill "$wpid" 2>/dev/null || true
	wait "$wpid" 2>/dev/null || true
	vdm_e2e_log "$name: host side: $(tr '\n' ';' <"$VDM_E2E_TMP/host-$mode")"
	if grep -q '^FAIL' "$VDM_E2E_TMP/host-$mode"; then
		fail "$name: host side: $(grep '^FAIL' "$VDM_E2E_TMP/host-$mode")" || rc=1
	fi
	vdm_e2e_daemon_alive "$name" || rc=1
	[ "$rc" = 0 ] || { vdm_e2e_daemon_log "$name"; vdm_e2e_stop "$name"; return 1; }

	feat=$(vdm_e2e_value features)
	m0=$(vdm_e2e_value memtotal0)
	# VERSION_1, STATS_VQ, no DEFLATE_ON_OOM; REPORTING as offered.
	vdm_e2e_has_feature "$feat" 32 && vdm_e2e_has_feature "$feat" 1 && ! vdm_e2e_has_feature "$feat" 2 ||
		fail "$name: negotiated features $feat" || return 1
	if [ "$mode" = report ]; then
		vdm_e2e_has_feature "$feat" 5 || fail "$name: REPORTING not negotiated ($feat)" || return 1
	else
		! vdm_e2e_has_feature "$feat" 5 || fail "$name: REPORTING negotiated though not offered" || return 1
	fi
	[ "$(vdm_e2e_value pci-id)" = 0x1af4:0x1045 ] || fail "$name: PCI id $(vdm_e2e_value pci-id)" || return 1
	[ "$(vdm_e2e_value ack-memtotal)" = $((m0 - ACK_MIB * 1024)) ] || fail "$name: ack MemTotal" || return 1
	wait_for 10 "actual $((ACK_MIB * 256)) pages" daemon_said "$name" "actual $((ACK_MIB * 256)) pages" >/dev/null ||
		fail "$name: the daemon never logged actual $((ACK_MIB * 256)) pages" || return 1

	if [ "$mode" = intx ]; then
		[ "$(vdm_e2e_value msi)" = 0 ] || fail "$name: no INTx check" || return 1
		[ "$(vdm_e2e_value inflate-memtotal)" = $((m0 - BAL_MIB * 1024)) ] &&
			[ "$(vdm_e2e_value deflate-memtotal)" = "$m0" ] || fail "$name: MemTotal values" || return 1
		vdm_e2e_log "$name: PASS: MemTotal $m0 -> $(vdm_e2e_value inflate-memtotal) -> $(vdm_e2e_value deflate-memtotal) kB;" \
			"stats total = MemTotal inflated; $(vdm_e2e_value irq-kinds), $(vdm_e2e_value irq-total) virtio interrupts"
	elif [ "$mode" = inflate ]; then
		local b0 b1 freed rel
		b0=$(host_value inflate blocks-before)
		b1=$(host_value inflate blocks-inflated)
		freed=$(((b0 - b1) / MIB))
		[ "$(vdm_e2e_value inflate-memtotal)" = $((m0 - BAL_MIB * 1024)) ] &&
			[ "$(vdm_e2e_value deflate-memtotal)" = "$m0" ] || fail "$name: MemTotal values" || return 1
		[ "$freed" -ge "$BAL_MIN_MIB" ] && [ "$freed" -le "$BAL_MIB" ] ||
			fail "$name: inflating $BAL_MIB MiB freed $freed MiB of the guest memory file, want $BAL_MIN_MIB..$BAL_MIB" || return 1
		# The daemon's own count: exactly the balloon, nothing else.
		rel=$(grep -o "actual $((BAL_MIB * 256)) pages.*released [0-9]* MiB" "$VDM_E2E_TMP/$name.log" | tail -n 1 | sed 's/.*released \([0-9]*\) MiB/\1/')
		[ "$rel" = "$BAL_MIB" ] || fail "$name: the daemon released $rel MiB for a $BAL_MIB MiB balloon" || return 1
		for st in inflated deflated; do
			v=$(host_value inflate "stats-$st")
			# The tags Linux sends without VM_EVENT_COUNTERS (our kernel has
			# none: no swap or fault counts), each a part of total.
			awk -v s="$v" 'BEGIN { n = split(s, a, " "); for (i = 1; i < n; i += 2) x[a[i]] = a[i + 1];
				exit !(("caches" in x) && x["free"] > 0 && x["free"] <= x["total"] &&
					x["available"] > 0 && x["available"] <= x["total"] && x["caches"] <= x["total"]) }' ||
				fail "$name: implausible stats ($st): $v" || return 1
		done
		vdm_e2e_log "$name: PASS: MemTotal $m0 -> $(vdm_e2e_value inflate-memtotal) -> $(vdm_e2e_value deflate-memtotal) kB;" \
			"memory file $((b0 / MIB)) -> $((b1 / MIB)) MiB allocated ($freed MiB given back by a $BAL_MIB MiB balloon," \
			"$(vdm_e2e_value dirtied-inflate) MiB dirtied first); stats total = MemTotal both times"
	else
		local b0 b1
		b0=$(host_value report blocks-filled)
		b1=$(host_value report blocks-reported)
		grep -q "stats:.* total=$((m0 * 1024))" "$VDM_E2E_TMP/$name.log" || fail "$name: no stats with total=$((m0 * 1024))" || return 1
		vdm_e2e_log "$name: PASS: $(vdm_e2e_value dirtied-report) MiB dirtied then freed; memory file" \
			"$((b0 / MIB)) -> $((b1 / MIB)) MiB allocated with an empty balloon (free page reporting)"
	fi
	# Linux's virtio_balloon primes the statsq in probe, before the driver
	# core sets DRIVER_OK, and kicks it: the device core warns once and
	# ignores the kick, the device takes the buffer at DRIVER_OK (the stats
	# checked above came through it). Any other warning or error fails.
	v=$(grep -E ': (error|warning): ' "$VDM_E2E_TMP/$name.log" || true)
	[ "$(grep -c . <<<"$v")" -le 1 ] && { [ -z "$v" ] || [[ "$v" == *": warning: notify before DRIVER_OK ignored" ]]; } ||
		fail "$name: the daemon logged: ${v//$'\n'/; }" || return 1
	vdm_e2e_stop "$name"
	TIMES+=("$(printf '%-16s initramfs %ss, qemu run %ss (%s)' "$name" "$t_build" \
		"$VDM_E2E_LAST_SECS" "$VDM_E2E_LAST_TIMES")")
}

vdm_e2e_log "QEMU: $(vdm_e2e_qemu_version) (chroot $VDM_E2E_TRIXIE)"
for mode in ${BAL_MODES:-inflate report intx}; do
	if boot "$mode"; then
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
echo "balloon: $passed boots passed, $failed failed"
[ "$failed" -eq 0 ]
