# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Helpers for e2e tests that run the vdm-vhost-user daemon
# (examples/vhost-user). Source after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/daemon-lib.sh"
#   vdm_e2e_daemon_find "$@"                  # sets VDM_E2E_DAEMON
#   vdm_e2e_daemon_start vu --socket "$s" --device rng
#
# The daemon binary comes from the first argument of the test script
# (`--daemon PATH` or a bare PATH), else $VDM_VHOST_USER; ctest passes
# $<TARGET_FILE:vdm-vhost-user> (tests/e2e/CMakeLists.txt).

VDM_E2E_DAEMON=""

# vdm_e2e_daemon_find [--daemon PATH | PATH]: set VDM_E2E_DAEMON or die.
vdm_e2e_daemon_find() {
	local bin=${VDM_VHOST_USER:-}
	case "${1:-}" in
	--daemon) bin=${2:-} ;;
	--daemon=*) bin=${1#--daemon=} ;;
	-h | --help)
		echo "usage: $0 [--daemon PATH-TO-vdm-vhost-user]  (or VDM_VHOST_USER=PATH)"
		exit 0
		;;
	'') ;;
	-*) vdm_e2e_die "unknown option $1 (want --daemon PATH)" ;;
	*) bin=$1 ;;
	esac
	[ -n "$bin" ] ||
		vdm_e2e_die "no daemon: pass --daemon PATH-TO-vdm-vhost-user or set VDM_VHOST_USER (ctest does)"
	[ -x "$bin" ] || vdm_e2e_die "daemon $bin is not an executable (build the vdm-vhost-user target)"
	VDM_E2E_DAEMON=$bin
}

# vdm_e2e_daemon_start NAME ARGS...: spawn the daemon as NAME (log in
# $VDM_E2E_TMP/NAME.log) and wait until it printed "listening on PATH" for
# every --socket and --vfio-user in ARGS (the socket file appears at bind(),
# before listen()).
# Fails, showing the log, if the daemon exits first or takes over 20 s.
vdm_e2e_daemon_start() {
	local name=$1 a want=() prev="" i p pid log
	shift
	for a in "$@"; do
		case "$a" in
		--socket-path=*) want+=("${a#--socket-path=}") ;;
		--vfio-user=*) want+=("${a#--vfio-user=}") ;;
		esac
		case "$prev" in --socket | --vfio-user) want+=("$a") ;; esac
		prev=$a
	done
	vdm_e2e_spawn "$name" "$VDM_E2E_DAEMON" "$@"
	pid=${VDM_E2E_PIDS[$name]}
	log=$VDM_E2E_TMP/$name.log
	for ((i = 0; i < 400; i++)); do
		local missing=0
		for p in "${want[@]}"; do
			grep -qxF "vdm-vhost-user: listening on $p" "$log" 2>/dev/null || missing=1
		done
		[ "$missing" = 0 ] && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			vdm_e2e_log "$name exited before listening; its log:"
			sed 's/^/  | /' "$log" >&2
			unset "VDM_E2E_PIDS[$name]"
			return 1
		fi
		sleep 0.05
	done
	vdm_e2e_log "$name: not listening on ${want[*]} after 20 s; its log:"
	sed 's/^/  | /' "$log" >&2
	return 1
}

# vdm_e2e_daemon_alive NAME: fail (showing the log) unless NAME still runs.
vdm_e2e_daemon_alive() {
	local name=$1 pid=${VDM_E2E_PIDS[$1]:-}
	if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
		vdm_e2e_log "$name is not running any more; its log:"
		sed 's/^/  | /' "$VDM_E2E_TMP/$name.log" >&2
		return 1
	fi
}

# vdm_e2e_daemon_log NAME: print NAME's log to stderr, indented.
vdm_e2e_daemon_log() {
	vdm_e2e_log "$1 log:"
	sed 's/^/  | /' "$VDM_E2E_TMP/$1.log" >&2 || true
}

# vdm_e2e_daemon_check_log NAME: fail when the daemon logged an error or a
# warning (its lines read "vdm-vhost-user: DEV: error: ..."; vd_log, main.c).
vdm_e2e_daemon_check_log() {
	local bad
	bad=$(grep -E ': (error|warning): ' "$VDM_E2E_TMP/$1.log" || true)
	if [ -n "$bad" ]; then
		vdm_e2e_log "$1 logged errors or warnings:"
		printf '  | %s\n' "${bad//$'\n'/$'\n'  | }" >&2
		return 1
	fi
}

# vdm_e2e_repeat TEXT BYTES: TEXT and a newline repeated, cut at BYTES bytes
# (like `yes TEXT | head -c BYTES`, without the SIGPIPE that pipefail turns
# into a failure).
vdm_e2e_repeat() {
	{ yes "$1" || true; } | head -c "$2"
}

# Front ends. The device scripts (input.sh, i2c.sh, gpio.sh) run their guest
# checks either over vhost-user (QEMU's vhost-user-*-pci, QEMU's virtio-pci
# transport; the default) or with `--frontend vfio-user` over vfio-user
# (QEMU 11.1's vfio-user-pci from the trixie chroot in front of vdm's own
# virtio-pci transport), booted once with MSI-X and once with pci=nomsi
# (INTx), each boot with a daemon of its own.
#
#   vdm_e2e_frontend_parse "$@"            # --frontend out of the arguments
#   vdm_e2e_daemon_find "${VDM_E2E_ARGS[@]}"
#   vdm_e2e_frontend_setup ours           # or debian: the vfio-user kernel
#   for mode in $VDM_E2E_MODES; do ... vdm_e2e_frontend_device ...; done

# vdm_e2e_frontend_parse ARGS...: take `--frontend vhost-user|vfio-user`
# out of ARGS. Sets VDM_E2E_FRONTEND (default vhost-user) and VDM_E2E_ARGS
# (the other arguments).
vdm_e2e_frontend_parse() {
	VDM_E2E_FRONTEND=vhost-user
	VDM_E2E_ARGS=()
	while [ $# -gt 0 ]; do
		case "$1" in
		--frontend) VDM_E2E_FRONTEND=${2:-} && shift 2 ;;
		--frontend=*) VDM_E2E_FRONTEND=${1#--frontend=} && shift ;;
		*) VDM_E2E_ARGS+=("$1") && shift ;;
		esac
	done
	case "$VDM_E2E_FRONTEND" in
	vfio-user | vhost-user) ;;
	*) vdm_e2e_die "--frontend wants vfio-user or vhost-user, got '$VDM_E2E_FRONTEND'" ;;
	esac
}

# vdm_e2e_frontend_setup ours|debian: after vdm_e2e_daemon_find. Sets VDM_E2E_SOCKOPT
# (the daemon's --socket or --vfio-user) and VDM_E2E_MODES (the boots:
# "vhost" for vhost-user; "msix intx", or $VFU_MODES, for vfio-user). For
# vfio-user also switches to QEMU 11.1 (vdm_e2e_use_trixie) and sets
# VDM_E2E_KERNEL to the kernel of our own (kernel.sh: every virtio driver
# built in) for `ours`; `debian` keeps Debian's kernel and its modules, for
# drivers ours lacks (virtio_snd),
# and checks that the daemon has --vfio-user.
# shellcheck disable=SC2034 # globals for the sourcing script
vdm_e2e_frontend_setup() {
	local kdir
	[ $# = 1 ] || vdm_e2e_die "usage: vdm_e2e_frontend_setup ours|debian"
	if [ "$VDM_E2E_FRONTEND" = vhost-user ]; then
		VDM_E2E_SOCKOPT=--socket
		VDM_E2E_MODES=vhost
		return 0
	fi
	VDM_E2E_SOCKOPT=--vfio-user
	VDM_E2E_MODES=${VFU_MODES:-msix intx}
	"$VDM_E2E_DAEMON" --help 2>&1 | grep -q -- --vfio-user ||
		vdm_e2e_die "$VDM_E2E_DAEMON has no --vfio-user option"
	vdm_e2e_use_trixie
	case "$1" in
	ours) ;;
	debian) return 0 ;;
	*) vdm_e2e_die "vdm_e2e_frontend_setup: kernel '$1' (ours or debian)" ;;
	esac
	kdir=$("$VDM_E2E_LIB_DIR/kernel.sh" --path)
	[ -f "$kdir/vmlinux" ] || vdm_e2e_die "guest kernel $kdir missing (sudo tests/e2e/setup.sh builds it)"
	VDM_E2E_KERNEL=$kdir/vmlinux
}

# vdm_e2e_frontend_device MODE SOCK VHOST-DEVICE: set VDM_E2E_DEVARGS (QEMU
# arguments) and VDM_E2E_APPEND (kernel command line) for one boot: for
# MODE vhost a chardev on SOCK and `-device VHOST-DEVICE,chardev=...` (e.g.
# vhost-user-i2c-pci); for msix / intx a vfio-user-pci device on SOCK, and
# pci=nomsi for intx.
# shellcheck disable=SC2034 # globals for the sourcing script
vdm_e2e_frontend_device() {
	local mode=$1 sock=$2 vdev=$3
	VDM_E2E_APPEND=""
	case "$mode" in
	vhost) VDM_E2E_DEVARGS=(-chardev "socket,id=c0,path=$sock" -device "$vdev,chardev=c0") ;;
	msix | intx)
		VDM_E2E_DEVARGS=(-device "{\"driver\":\"vfio-user-pci\",\"id\":\"vfu0\",\"socket\":{\"type\":\"unix\",\"path\":\"$sock\"}}")
		[ "$mode" = msix ] || VDM_E2E_APPEND=pci=nomsi
		;;
	*) vdm_e2e_die "vdm_e2e_frontend_device: mode $mode" ;;
	esac
}
