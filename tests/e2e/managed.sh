#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-guest test of the vhost-user "Backend program conventions"
# (examples/vhost-user/README.md, "Managed back-end programs"): this script
# plays the management layer. It binds and listens on the vhost-user socket
# itself and starts vdm-vhost-user-blk with the socket as --fd=N (the
# program never learns the path); QEMU 10 (TCG) connects to the path. Two
# boots on the one handed-over socket:
#   1. the guest reads MiB 0 (a random pattern the host wrote: md5 compared)
#      and writes a nonce pattern over MiB 1 (the host then compares the
#      image byte for byte);
#   2. a new QEMU, served on the same socket: the guest reads MiB 1 back
#      (md5 of what boot 1 wrote) and sees the size the host set.
# Then SIGTERM ends the program within a second with status 0.
#
#   tests/e2e/managed.sh --daemon build/examples/vhost-user/vdm-vhost-user
#
# The program is the vdm-vhost-user-blk symlink next to the daemon (the
# build makes it). Needs perl (perl-base: binds the socket).

set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR
# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

vdm_e2e_require
vdm_e2e_daemon_find "$@"
PROG=$(dirname "$VDM_E2E_DAEMON")/vdm-vhost-user-blk
[ -x "$PROG" ] || vdm_e2e_die "$PROG missing (the vdm-vhost-user target makes it)"
command -v perl >/dev/null || vdm_e2e_die "perl missing (perl-base)"

T_ALL=$(vdm_e2e_now)
MIB=1048576
DISK_MIB=16
IMG=$VDM_E2E_TMP/disk.img
SOCK=$VDM_E2E_TMP/vu.sock
NONCE=managed-$$-$RANDOM

truncate -s "${DISK_MIB}M" "$IMG"
head -c "$MIB" /dev/urandom >"$VDM_E2E_TMP/read.pat"
dd if="$VDM_E2E_TMP/read.pat" of="$IMG" bs="$MIB" conv=notrunc status=none
vdm_e2e_repeat "$NONCE" "$MIB" >"$VDM_E2E_TMP/write.pat"

# The management layer's part: socket(), bind(), listen(), then exec the
# program with that descriptor ($^F: descriptors up to it survive exec).
# shellcheck disable=SC2016 # perl code, not shell
vdm_e2e_spawn vu perl -e '
	use strict;
	use Socket;
	$^F = 1023;
	my ($path, @cmd) = @ARGV;
	socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die "socket: $!\n";
	bind($s, pack_sockaddr_un($path)) or die "bind $path: $!\n";
	listen($s, 4) or die "listen: $!\n";
	exec(@cmd, "--fd=" . fileno($s)) or die "exec $cmd[0]: $!\n";
' "$SOCK" "$PROG" "--blk-file=$IMG" -v
for ((i = 0; i < 400; i++)); do
	grep -q '^vdm-vhost-user: listening on fd [0-9]*$' "$VDM_E2E_TMP/vu.log" && break
	vdm_e2e_daemon_alive vu || exit 1
	sleep 0.05
done
grep -q '^vdm-vhost-user: listening on fd [0-9]*$' "$VDM_E2E_TMP/vu.log" ||
	{ vdm_e2e_daemon_log vu; vdm_e2e_die "vdm-vhost-user-blk did not take the socket in 20 s"; }
vdm_e2e_log "$(grep '^vdm-vhost-user: listening on fd' "$VDM_E2E_TMP/vu.log")"

cat >"$VDM_E2E_TMP/body.sh" <<'EOF'
. /vdm/params
vdm_wait_path /dev/vda
vdm_value sectors "$(cat /sys/block/vda/size)"
if [ "$MODE" = write ]; then
	vdm_value read-md5 "$(dd if=/dev/vda bs=1M count=1 2>/dev/null | md5sum | cut -d' ' -f1)"
	yes "$NONCE" | head -c 1048576 >/tmp/pat
	dd if=/tmp/pat of=/dev/vda bs=1M seek=1 count=1 conv=fsync 2>/dev/null
	vdm_value write-md5 "$(md5sum </tmp/pat | cut -d' ' -f1)"
	vdm_pass write
else
	vdm_value readback-md5 "$(dd if=/dev/vda bs=1M skip=1 count=1 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)"
	vdm_pass readback
fi
EOF

# boot MODE: one guest run on the handed-over socket.
boot() {
	printf 'MODE=%s\nNONCE=%s\n' "$1" "$NONCE" >"$VDM_E2E_TMP/params"
	vdm_e2e_build_initramfs --module virtio_blk \
		--file "$VDM_E2E_TMP/params:/vdm/params" \
		"$VDM_E2E_TMP/initrd-$1" "$VDM_E2E_TMP/body.sh"
	vdm_e2e_run_qemu --name "$1" --initrd "$VDM_E2E_TMP/initrd-$1" --expect "$1" -- \
		-chardev "socket,id=c0,path=$SOCK" \
		-device vhost-user-blk-pci,chardev=c0,num-queues=1
	[ "$(vdm_e2e_value sectors)" = $((DISK_MIB * MIB / 512)) ] ||
		vdm_e2e_die "$1: guest sees $(vdm_e2e_value sectors) sectors, want $((DISK_MIB * MIB / 512))"
	vdm_e2e_daemon_alive vu || exit 1
}

boot write
md5_want=$(md5sum <"$VDM_E2E_TMP/read.pat" | cut -d' ' -f1)
[ "$(vdm_e2e_value read-md5)" = "$md5_want" ] || vdm_e2e_die "guest read md5 $(vdm_e2e_value read-md5), host wrote $md5_want"
md5_want=$(md5sum <"$VDM_E2E_TMP/write.pat" | cut -d' ' -f1)
[ "$(vdm_e2e_value write-md5)" = "$md5_want" ] || vdm_e2e_die "guest's pattern md5 differs from the host's"
dd if="$IMG" bs="$MIB" skip=1 count=1 status=none | cmp -s - "$VDM_E2E_TMP/write.pat" ||
	vdm_e2e_die "image MiB 1 differs from the pattern the guest wrote"
vdm_e2e_log "boot 1: read MiB 0 and wrote MiB 1, byte for byte"

boot readback
[ "$(vdm_e2e_value readback-md5)" = "$md5_want" ] ||
	vdm_e2e_die "boot 2 read back md5 $(vdm_e2e_value readback-md5), boot 1 wrote $md5_want"
vdm_e2e_log "boot 2: a new front-end on the same socket read back what boot 1 wrote"

# SIGTERM: out within a second, status 0.
pid=${VDM_E2E_PIDS[vu]}
t0=$(vdm_e2e_now)
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
took=$(vdm_e2e_since "$t0")
unset "VDM_E2E_PIDS[vu]"
[ "$rc" = 0 ] || { vdm_e2e_daemon_log vu; vdm_e2e_die "vdm-vhost-user-blk exited with status $rc on SIGTERM"; }
awk -v t="$took" 'BEGIN { exit !(t < 1.0) }' || vdm_e2e_die "SIGTERM to exit took $took s (limit 1 s)"
vdm_e2e_daemon_check_log vu || exit 1
vdm_e2e_log "SIGTERM: exited with status 0 in $took s"
vdm_e2e_log "PASS managed ($(vdm_e2e_since "$T_ALL") s)"
