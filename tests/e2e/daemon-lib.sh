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
