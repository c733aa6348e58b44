# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash
#
# Guest-side helpers (busybox ash), installed as /vdm/lib.sh in the e2e
# initramfs and sourced before the test body. Markers go to the console,
# where the host-side vdm_e2e_run_qemu (lib.sh) reads them.

vdm_pass() { echo "VDM-E2E: PASS $1"; }

vdm_fail() {
	_vdm_n=$1
	shift
	echo "VDM-E2E: FAIL $_vdm_n $*"
}

vdm_value() {
	_vdm_k=$1
	shift
	echo "VDM-E2E: VALUE $_vdm_k $*"
}

vdm_info() { echo "VDM-E2E: INFO $*"; }

# vdm_modprobe NAME...: insmod each module (from /lib/modules/vdm) after its
# dependencies; modules already present in /sys/module are skipped.
vdm_modprobe() {
	local m d
	for m in "$@"; do
		m=$(echo "$m" | tr - _)
		[ -d "/sys/module/$m" ] && continue
		# shellcheck disable=SC2013 # deps are words on one line
		for d in $(sed -n "s/^$m //p" /lib/modules/vdm/deps); do
			vdm_modprobe "$d" || return 1
		done
		if [ ! -f "/lib/modules/vdm/$m.ko" ]; then
			echo "vdm_modprobe: $m is not in the initramfs" >&2
			return 1
		fi
		insmod "/lib/modules/vdm/$m.ko" || return 1
	done
}

# vdm_wait_path PATH [SECS]: wait until PATH exists (default 10 s).
vdm_wait_path() {
	local i=0 n=$((${2:-10} * 20))
	while [ ! -e "$1" ]; do
		i=$((i + 1))
		if [ "$i" -gt "$n" ]; then
			echo "vdm_wait_path: $1 did not appear" >&2
			return 1
		fi
		usleep 50000
	done
}

# vdm_input_dev NAME [SECS]: print the /dev/input/eventN node of the input
# device called NAME (e.g. "QEMU Virtio Keyboard"), waiting up to SECS (10).
# Do not assume event0: q35 has a PS/2 keyboard too (unless i8042=off).
vdm_input_dev() {
	local i=0 n=$((${2:-10} * 20)) e
	while :; do
		for e in /sys/class/input/event*; do
			[ -e "$e/device/name" ] || continue
			if [ "$(cat "$e/device/name")" = "$1" ]; then
				vdm_wait_path "/dev/input/${e##*/}" 5 || return 1
				echo "/dev/input/${e##*/}"
				return 0
			fi
		done
		i=$((i + 1))
		if [ "$i" -gt "$n" ]; then
			echo "vdm_input_dev: no input device named '$1'" >&2
			return 1
		fi
		usleep 50000
	done
}

# vdm_check NAME CMD [ARGS...]: PASS NAME if CMD succeeds, else FAIL NAME and
# return 1 (which ends a `sh -e` body; append `|| true` to go on).
vdm_check() {
	local n="$1"
	shift
	if "$@"; then
		vdm_pass "$n"
	else
		vdm_fail "$n" "command failed: $*"
		return 1
	fi
}

# vdm_pci_irq DEVICE-ID MODE [MIN-VECTORS]: check the one virtio function
# with vendor 0x1af4 and DEVICE-ID (modern id, e.g. 0x1052) is bound to
# virtio-pci and interrupts the way MODE says: msix (at least MIN-VECTORS,
# default 2, MSI-X vectors in use, only PCI-MSIX virtio lines in
# /proc/interrupts) or intx (no MSI vector, only IO-APIC lines). Some virtio
# interrupt must have been counted, so call it after the device did work.
# Prints VALUEs pci, irqs, irq-total, irq-kinds, msi; PASS or FAIL irq.
vdm_pci_irq() {
	local id=$1 mode=$2 min=${3:-2} d f="" n total msix ioapic
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = "$id" ] && f=$d
	done
	[ -n "$f" ] || { vdm_fail irq "no virtio function 0x1af4:$id"; return 1; }
	vdm_value pci "${f##*/} $(cat "$f/vendor"):$(cat "$f/device") subsys $(cat "$f/subsystem_vendor"):$(cat "$f/subsystem_device") rev $(cat "$f/revision") class $(cat "$f/class") driver $(basename "$(readlink "$f/driver")")"
	[ "$(basename "$(readlink "$f/driver")")" = virtio-pci ] ||
		{ vdm_fail irq "${f##*/} not bound to virtio-pci"; return 1; }
	vdm_value irqs "$(grep virtio /proc/interrupts | tr -s ' ' | tr '\n' ';')"
	total=$(grep virtio /proc/interrupts | awk '{ for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }')
	vdm_value irq-total "$total"
	msix=$(grep virtio /proc/interrupts | grep -c 'PCI-MSIX' || true)
	ioapic=$(grep virtio /proc/interrupts | grep -c 'IO-APIC' || true)
	vdm_value irq-kinds "msix $msix ioapic $ioapic"
	n=0
	for d in "$f"/msi_irqs/*; do
		[ ! -e "$d" ] || n=$((n + 1))
	done
	vdm_value msi "$n"
	[ "$total" -gt 0 ] || { vdm_fail irq "no virtio interrupt counted"; return 1; }
	case "$mode" in
	msix)
		if [ "$n" -lt "$min" ] || [ "$msix" -lt "$min" ] || [ "$ioapic" != 0 ]; then
			vdm_fail irq "want MSI-X only, >= $min vectors: msi_irqs $n, msix $msix ioapic $ioapic"
			return 1
		fi ;;
	intx)
		if [ "$n" != 0 ] || [ "$msix" != 0 ] || [ "$ioapic" -lt 1 ]; then
			vdm_fail irq "want INTx only: msi_irqs $n, msix $msix ioapic $ioapic"
			return 1
		fi ;;
	*) vdm_fail irq "mode $mode"; return 1 ;;
	esac
	vdm_pass irq
}
