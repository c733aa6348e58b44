#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real-guest test of vdm's GPIO device: vdm-vhost-user serves 8 simulated
# lines (names, directions and values in a state file, input changes from an
# events file) to Linux's gpio-virtio driver through QEMU 10's
# vhost-user-gpio-pci, on the guest kernel of our own (tests/e2e/kernel.sh:
# Debian's kernel has no GPIO_VIRTIO). Guest tools: libgpiod's gpioinfo,
# gpioget, gpioset, gpiomon (the host's, copied with their libraries).
# The guest:
#   - gpioinfo shows the daemon's names and directions (Linux shows an
#     unused line, direction NONE, as an input);
#   - gpioset drives LED1 low; the daemon, waiting for exactly that, raises
#     the input ACK, which gpioget then reads (a round trip through both
#     directions); the state file shows what the guest drove;
#   - gpiomon counts the edges the daemon injects, exactly: 6 rising on one
#     line, 6 falling on another, 12 on a both-edges line (each edge is an
#     interrupt: SET_IRQ_TYPE, one event buffer per line, returned VALID,
#     queued again by the driver). The daemon makes each interrupting edge
#     only once the driver has queued the line's buffer again (wait-armed):
#     the spec latches one event while masked, and Linux reads the line to
#     tell rising from falling after the event, so an exact count and type
#     is what the spec promises only for edges paced that way.
#
# With --frontend vfio-user the daemon serves the lines with --vfio-user
# instead, through vdm's own virtio-pci transport, to QEMU 11.1's
# vfio-user-pci (the trixie chroot, daemon-lib.sh), in two boots with a
# daemon (and a fresh state file) each: MSI-X, and pci=nomsi (INTx); each
# also checks that the function (0x1af4:0x1069) interrupts that way
# (guest-lib.sh vdm_pci_irq).
#
#   tests/e2e/gpio.sh --daemon build/examples/vhost-user/vdm-vhost-user
#   tests/e2e/gpio.sh --daemon ... --frontend vfio-user
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
KDIR=$("$VDM_E2E_LIB_DIR/kernel.sh" --path)
[ -f "$KDIR/vmlinux" ] || vdm_e2e_die "guest kernel $KDIR missing (sudo tests/e2e/setup.sh builds it)"
for t in gpioinfo gpioget gpioset gpiomon; do
	command -v "$t" >/dev/null || vdm_e2e_die "$t missing (apt-get install gpiod)"
done

T_ALL=$(vdm_e2e_now)
STATE=$VDM_E2E_TMP/gpio.state
EVENTS=$VDM_E2E_TMP/gpio.events
N=6 # pulses per line
cat >"$STATE.orig" <<'S'
LED0 out 0
LED1 out 1
BTN_RISE in 0
BTN_FALL in 1
BTN_BOTH in 0
- none 0
ACK in 0
SPARE in 0
S
{
	echo "wait-value 1 0"
	echo "set 6 1"
	# Each edge that interrupts waits until the guest has unmasked the line
	# again (wait-armed): edges made while it is masked merge into one
	# latched event (spec "eventq Operation: Message Flow"), and Linux
	# types an EDGE_BOTH event by the level it reads after the event, so a
	# faster pulse train is counted and typed by the guest's scheduling,
	# which a loaded CI machine does not promise.
	for l in 2 3 4; do
		echo "wait-irq $l"
		for _ in $(seq $N); do
			echo "wait-armed $l"
			if [ $l = 3 ]; then echo "set $l 0"; else echo "set $l 1"; fi
			echo "sleep 20"
			# the edge back interrupts on the both-edges line only
			[ $l != 4 ] || echo "wait-armed $l"
			if [ $l = 3 ]; then echo "set $l 1"; else echo "set $l 0"; fi
			echo "sleep 20"
		done
	done
} >"$EVENTS"

cat >"$VDM_E2E_TMP/body.sh" <<BODY
N=$N
BODY
cat >>"$VDM_E2E_TMP/body.sh" <<'BODY'
. /vdm/params
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
vdm_wait_path /dev/gpiochip0
gpioinfo gpiochip0 >/tmp/info
while read -r l; do vdm_info "gpioinfo: $l"; done </tmp/info
vdm_value info "$(sed -n 's/.*line *\([0-9]*\): *\("[^"]*"\|unnamed\) *[a-z"-]* *\(input\|output\).*/\1=\2=\3/p' /tmp/info | tr -d '"' | tr '\n' ' ')"
vdm_pass info

# LED1 low (held 3 s); the daemon then raises ACK.
gpioset --mode=time --sec=3 gpiochip0 1=0 &
ack=0
for i in $(seq 100); do
	ack=$(gpioget gpiochip0 6)
	[ "$ack" = 1 ] && break
	usleep 50000
done
vdm_value ack "$ack"
wait
[ "$ack" = 1 ] && vdm_pass roundtrip || vdm_fail roundtrip "ACK never rose"

timeout 30 gpiomon --num-events=$N --rising-edge gpiochip0 2 >/tmp/m2 || true
timeout 30 gpiomon --num-events=$N --falling-edge gpiochip0 3 >/tmp/m3 || true
timeout 30 gpiomon --num-events=$((2 * N)) gpiochip0 4 >/tmp/m4 || true
vdm_value rise "$(grep -c 'RISING EDGE' /tmp/m2)"
vdm_value fall "$(grep -c 'FALLING EDGE' /tmp/m3)"
vdm_value both "$(grep -c 'EDGE' /tmp/m4) $(grep -c 'RISING EDGE' /tmp/m4) $(grep -c 'FALLING EDGE' /tmp/m4)"
vdm_pass edges
[ "$MODE" = vhost ] || vdm_pci_irq 0x1069 "$MODE" 3
BODY

libs=()
for f in /usr/bin/gpioinfo /usr/bin/gpioget /usr/bin/gpioset /usr/bin/gpiomon; do
	libs+=(--file "$f:$f")
done
while read -r lib; do
	libs+=(--file "$(readlink -f "$lib"):$lib")
done < <(ldd /usr/bin/gpiomon /usr/bin/gpioinfo | grep -o '/[^ ]*\.so[^ ]*' | sort -u)

failed=0
check() { # NAME GOT WANT
	if [ "$2" = "$3" ]; then
		vdm_e2e_log "ok: $1 = $2"
	else
		vdm_e2e_log "FAIL: $1 = '$2', want '$3'"
		failed=$((failed + 1))
	fi
}

# boot MODE: a daemon (vu-MODE) and a guest; counts failures in $failed.
boot() {
	local mode=$1 name=gpio-$1 sock=$VDM_E2E_TMP/gpio-$1.sock expect=() f0=$failed
	cp "$STATE.orig" "$STATE"
	vdm_e2e_daemon_start "vu-$mode" -v "$VDM_E2E_SOCKOPT" "$sock" \
		--device "gpio,state=$STATE,events=$EVENTS" ||
		{ failed=$((failed + 1)) && return 0; }
	vdm_e2e_frontend_device "$mode" "$sock" vhost-user-gpio-pci
	[ "$mode" = vhost ] || expect=(--expect irq)
	printf 'MODE=%s\n' "$mode" >"$VDM_E2E_TMP/params"
	vdm_e2e_build_initramfs --no-autoload "${libs[@]}" --file "$VDM_E2E_TMP/params:/vdm/params" \
		"$VDM_E2E_TMP/initrd" "$VDM_E2E_TMP/body.sh"
	if vdm_e2e_run_qemu --name "$name" --kernel "$KDIR/vmlinux" --initrd "$VDM_E2E_TMP/initrd" \
		${VDM_E2E_APPEND:+--append "$VDM_E2E_APPEND"} \
		--expect info --expect roundtrip --expect edges "${expect[@]}" -- \
		"${VDM_E2E_DEVARGS[@]}"; then
		check info "$(vdm_e2e_value info)" \
			"0=LED0=output 1=LED1=output 2=BTN_RISE=input 3=BTN_FALL=input 4=BTN_BOTH=input 5=unnamed=input 6=ACK=input 7=SPARE=input "
		check ack "$(vdm_e2e_value ack)" 1
		check rise "$(vdm_e2e_value rise)" "$N"
		check fall "$(vdm_e2e_value fall)" "$N"
		check both "$(vdm_e2e_value both)" "$((2 * N)) $N $N"
		check led1-driven "$(grep -c 'gpio: line 1 driven 0\|gpio: line 1 out (0)' "$VDM_E2E_TMP/vu-$mode.log" | sed 's/^0$/none/;s/^[1-9].*/yes/')" yes
		check state-ack "$(sed -n 7p "$STATE")" "ACK in 1"
		[ "$mode" = vhost ] || vdm_e2e_log "$name: $(vdm_e2e_value pci); $(vdm_e2e_value irq-kinds), $(vdm_e2e_value msi) MSI vectors, $(vdm_e2e_value irq-total) virtio interrupts"
	else
		failed=$((failed + 1))
	fi
	vdm_e2e_daemon_alive "vu-$mode" || failed=$((failed + 1))
	vdm_e2e_stop "vu-$mode"
	vdm_e2e_daemon_check_log "vu-$mode" || failed=$((failed + 1))
	[ "$failed" -eq "$f0" ] || vdm_e2e_daemon_log "vu-$mode"
	vdm_e2e_log "$name: $([ "$failed" -eq "$f0" ] && echo PASS || echo FAIL) (guest ${VDM_E2E_LAST_SECS:-?} s)"
}

[ "$VDM_E2E_FRONTEND" = vhost-user ] || vdm_e2e_log "QEMU: $(vdm_e2e_qemu_version) (chroot $VDM_E2E_TRIXIE)"
for mode in $VDM_E2E_MODES; do
	boot "$mode"
done
vdm_e2e_log "total $(vdm_e2e_since "$T_ALL") s"
echo "gpio ($VDM_E2E_FRONTEND): $([ "$failed" -eq 0 ] && echo PASS || echo "FAIL ($failed)")"
[ "$failed" -eq 0 ]
