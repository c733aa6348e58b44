#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash
#
# /init of the e2e initramfs (busybox ash). Built by vdm_e2e_build_initramfs
# in lib.sh: mounts the basics, loads the modules, runs /vdm/body.sh with
# `sh -e`, prints "VDM-E2E: DONE RC" and powers the machine off.

export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/ TERM=dumb
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm

# shellcheck source=/dev/null
. /vdm/lib.sh
echo "VDM-E2E: TIME init $(cut -d' ' -f1 /proc/uptime)"

if [ "$(cat /vdm/autoload)" = 1 ]; then
	while read -r m; do
		vdm_modprobe "$m" || vdm_fail modules "insmod $m failed"
	done </lib/modules/vdm/order
fi

echo "VDM-E2E: TIME body $(cut -d' ' -f1 /proc/uptime)"
/bin/sh -e -c '. /vdm/lib.sh; . /vdm/body.sh'
rc=$?
echo "VDM-E2E: TIME end $(cut -d' ' -f1 /proc/uptime)"
if [ "$rc" -ne 0 ]; then
	echo "VDM-E2E: FAIL body exited with status $rc"
fi
echo "VDM-E2E: DONE $rc"
sync
poweroff -f
# Not reached; if it were, init exiting panics and panic=-1 + -no-reboot
# stops QEMU.
sleep 5
