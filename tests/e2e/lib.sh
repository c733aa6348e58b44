# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Real-guest e2e test library. Source it from a bash test script:
#
#   #!/usr/bin/env bash
#   set -euo pipefail
#   # shellcheck source-path=SCRIPTDIR
#   # shellcheck source=lib.sh
#   . "$(dirname "$0")/lib.sh"
#
# See README.md beside this file for a complete example.
#
# Sourcing creates a temp dir ($VDM_E2E_TMP) and an EXIT trap that stops
# every process started with vdm_e2e_spawn (and any QEMU still running) and
# removes the temp dir. Use vdm_e2e_on_exit to add cleanup commands instead of
# replacing the trap.
#
# Host-side functions (see each for details):
#   vdm_e2e_require                        check setup.sh has been run
#   vdm_e2e_use_trixie                     QEMU 11.1 of the trixie chroot from now on
#   vdm_e2e_build_initramfs [opts] OUT BODY
#   vdm_e2e_run_qemu [opts] [-- QEMU_ARGS...]
#   vdm_e2e_dump_dtb OUT [opts]            aarch64: the virt machine's device tree
#   vdm_e2e_value KEY [LOG]                VALUE line printed by the guest
#   vdm_e2e_has_feature FEATURES BIT       test a bit of a sysfs features string
#   vdm_e2e_spawn NAME CMD [ARGS...]       background helper (a device peer)
#   vdm_e2e_stop NAME [GRACE_SECONDS]
#   vdm_e2e_wait_socket PATH [TIMEOUT] [NAME]
#   vdm_e2e_on_exit CMD
#   vdm_e2e_now / vdm_e2e_since T0         timing (seconds, 3 decimals)
#   vdm_e2e_log MSG / vdm_e2e_die MSG
#
# Guest-side shell functions available to the init BODY (lib in /vdm/lib.sh):
#   vdm_pass NAME                 prints "VDM-E2E: PASS NAME"
#   vdm_fail NAME REASON...       prints "VDM-E2E: FAIL NAME REASON"
#   vdm_value KEY VALUE...        prints "VDM-E2E: VALUE KEY VALUE" (host: vdm_e2e_value)
#   vdm_info MSG...               prints "VDM-E2E: INFO MSG"
#   vdm_modprobe NAME...          insmod NAME and its deps (from the cache) if not loaded
#   vdm_wait_path PATH [SECS]     wait for a file/device node (default 10 s)
#   vdm_input_dev NAME [SECS]     print /dev/input/eventN of the input device NAME
#   vdm_check NAME CMD [ARGS...]  run CMD; PASS NAME if it succeeds, FAIL NAME otherwise
#
# Environment:
#   VDM_E2E_CACHE     cache dir made by setup.sh (default /var/cache/vdm-e2e)
#   VDM_E2E_TIMEOUT   default hard timeout of one guest run, seconds (120)
#   VDM_E2E_SMP       default vCPU count (1)
#   VDM_E2E_KERNEL    kernel to boot instead of the cached one
#   VDM_E2E_BOOT_ARGS speed-ups added to the kernel command line (default
#                     "cryptomgr.notests=1 rodata=off": skips the crypto self
#                     tests and the W^X pass, ~1-2 s per TCG boot; "" drops them)
#   VDM_E2E_MACHINE_OPTS extra q35 machine options for every run
#   VDM_E2E_ARCH      guest architecture, read when lib.sh is sourced:
#                     x86_64 (default: q35, ttyS0, the cached x86 kernel) or
#                     aarch64 (-M virt, -cpu $VDM_E2E_CPU (cortex-a57),
#                     PL011 ttyAMA0, the arm64 busybox setup.sh caches, the
#                     kernel given with --kernel; tests/e2e/scmi.sh). A
#                     script sets it before sourcing lib.sh.
#   VDM_E2E_KEEP=1    keep the temp dir (logs, initramfs) at exit
#   VDM_E2E_VERBOSE=1 print the whole console log after each run

VDM_E2E_CACHE="${VDM_E2E_CACHE:-/var/cache/vdm-e2e}"
VDM_E2E_ARCH="${VDM_E2E_ARCH:-x86_64}"
case "$VDM_E2E_ARCH" in
x86_64)
	VDM_E2E_QEMU="${VDM_E2E_QEMU:-qemu-system-x86_64}"
	VDM_E2E_BUSYBOX=/bin/busybox
	;;
aarch64)
	VDM_E2E_QEMU="${VDM_E2E_QEMU:-qemu-system-aarch64}"
	# Debian's busybox-static:arm64, unpacked by setup.sh.
	VDM_E2E_BUSYBOX="${VDM_E2E_CACHE:-/var/cache/vdm-e2e}/arm64/busybox"
	;;
*)
	printf 'e2e: error: VDM_E2E_ARCH=%s: want x86_64 or aarch64\n' "$VDM_E2E_ARCH" >&2
	exit 1
	;;
esac
VDM_E2E_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VDM_E2E_TMP="$(mktemp -d "${TMPDIR:-/tmp}/vdm-e2e.XXXXXX")"
VDM_E2E_LAST_LOG=""
VDM_E2E_LAST_SECS=""
VDM_E2E_LAST_TIMES=""
VDM_E2E_MACHINE_ARGS=()
declare -A VDM_E2E_PIDS=()
VDM_E2E_EXIT_CMDS=()
export VDM_E2E_CACHE VDM_E2E_TMP

vdm_e2e_log() { printf 'e2e: %s\n' "$*" >&2; }
vdm_e2e_die() {
	printf 'e2e: error: %s\n' "$*" >&2
	exit 1
}

vdm_e2e_now() { date +%s.%N; }

# vdm_e2e_since T0: seconds elapsed since T0 (from vdm_e2e_now), 3 decimals.
vdm_e2e_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f\n", b - a }'; }

# vdm_e2e_on_exit CMD: run CMD (eval'd) at exit, before the temp dir goes.
vdm_e2e_on_exit() { VDM_E2E_EXIT_CMDS+=("$1"); }

_vdm_e2e_kill() {
	local pid=$1 grace=${2:-3} i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < grace * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

_vdm_e2e_cleanup() {
	local rc=$? c name
	trap - EXIT INT TERM
	set +e
	for c in "${VDM_E2E_EXIT_CMDS[@]}"; do
		eval "$c"
	done
	for name in "${!VDM_E2E_PIDS[@]}"; do
		_vdm_e2e_kill "${VDM_E2E_PIDS[$name]}" 2
	done
	if [ "${VDM_E2E_KEEP:-0}" = 1 ]; then
		vdm_e2e_log "kept $VDM_E2E_TMP"
	else
		rm -rf "$VDM_E2E_TMP"
	fi
	exit "$rc"
}
trap _vdm_e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# vdm_e2e_require: fail with a hint unless setup.sh has prepared this machine.
vdm_e2e_require() {
	local missing=""
	if [ "$VDM_E2E_ARCH" = x86_64 ]; then
		[ -f "$VDM_E2E_CACHE/vmlinuz" ] || missing+=" $VDM_E2E_CACHE/vmlinuz"
		[ -f "$VDM_E2E_CACHE/modules/order" ] || missing+=" $VDM_E2E_CACHE/modules"
	else
		command -v dtc >/dev/null || missing+=" dtc"
	fi
	# The applet list comes from the host's busybox (same Debian version).
	[ -x /bin/busybox ] || missing+=" busybox-static"
	[ -f "$VDM_E2E_BUSYBOX" ] || missing+=" $VDM_E2E_BUSYBOX"
	command -v cpio >/dev/null || missing+=" cpio"
	command -v "$VDM_E2E_QEMU" >/dev/null || missing+=" $VDM_E2E_QEMU"
	[ -z "$missing" ] ||
		vdm_e2e_die "missing:$missing (run tests/e2e/setup.sh as root)"
	return 0
}

# vdm_e2e_use_trixie: from now on vdm_e2e_run_qemu runs QEMU 11.1 inside
# the cached trixie chroot (tests/e2e/trixie.sh builds it, setup.sh calls
# that) through tests/e2e/trixie-qemu: same options, same paths (the temp dir
# and the cache are bound into the chroot at their own paths; anything else
# a run names goes in VDM_E2E_TRIXIE_BINDS, colon-separated). x86_64 only.
# Fails, saying what to run, when the chroot is missing.
vdm_e2e_use_trixie() {
	local d
	[ "$VDM_E2E_ARCH" = x86_64 ] || vdm_e2e_die "vdm_e2e_use_trixie: x86_64 guests only"
	d=$("$VDM_E2E_LIB_DIR/trixie.sh" --path)
	if [ ! -x "$d/root/usr/bin/qemu-system-x86_64" ] || [ ! -f "$d/build-time" ]; then
		vdm_e2e_die "no trixie chroot with QEMU 11.1 at $d (run: sudo tests/e2e/setup.sh, or sudo tests/e2e/trixie.sh)"
	fi
	export VDM_E2E_TRIXIE=$d
	VDM_E2E_QEMU=$VDM_E2E_LIB_DIR/trixie-qemu
}

# vdm_e2e_qemu_version: first line of `$VDM_E2E_QEMU --version`.
vdm_e2e_qemu_version() { "$VDM_E2E_QEMU" --version | sed -n 1p; }

# Module closure (deps first) for the given names, from the cache deps file.
_vdm_e2e_module_closure() {
	local deps_file="$VDM_E2E_CACHE/modules/deps"
	awk -v want="$*" '
		{ d[$1] = ""; for (i = 2; i <= NF; i++) d[$1] = d[$1] " " $i; known[$1] = 1 }
		function visit(m,    n, a, i) {
			if (seen[m]++) return
			if (!(m in known)) { print "unknown module: " m > "/dev/stderr"; bad = 1; return }
			n = split(d[m], a, " ")
			for (i = 1; i <= n; i++) visit(a[i])
			print m
		}
		END {
			n = split(want, w, " ")
			for (i = 1; i <= n; i++) { m = w[i]; gsub(/-/, "_", m); visit(m) }
			exit bad
		}
	' "$deps_file"
}

# vdm_e2e_build_initramfs [options] OUT BODY
#
# Build a gzip'd newc cpio initramfs at OUT: busybox-static, the guest lib,
# the chosen modules and an /init that mounts proc, sys and devtmpfs, sends
# output to the console, insmods the modules in dependency order, runs BODY
# (a file, or - for stdin) with `sh -e`, prints "VDM-E2E: DONE RC" and
# powers off. A BODY that exits non-zero without a FAIL line gets one.
#
# Options:
#   --module NAME      include NAME and its dependencies (repeatable)
#   --all-modules      include every cached module
#   --no-autoload      do not insmod at boot; the body calls vdm_modprobe
#   --bin PATH         copy a (static) binary to /bin/NAME (repeatable)
#   --file SRC:DST     copy a host file to DST in the guest (repeatable)
#   --compress CMD     compressor (default "gzip -1"; "cat" for none)
#
# Example:
#   vdm_e2e_build_initramfs --module virtio_blk "$VDM_E2E_TMP/initrd" - <<'EOF'
#   vdm_wait_path /dev/vda
#   vdm_value md5 "$(dd if=/dev/vda bs=1M count=1 2>/dev/null | md5sum)"
#   vdm_pass read
#   EOF
vdm_e2e_build_initramfs() {
	local modules=() bins=() files=() autoload=1 compress="gzip -1" all=0
	while [ $# -gt 0 ]; do
		case "$1" in
		--module) modules+=("$2") && shift 2 ;;
		--all-modules) all=1 && shift ;;
		--no-autoload) autoload=0 && shift ;;
		--bin) bins+=("$2") && shift 2 ;;
		--file) files+=("$2") && shift 2 ;;
		--compress) compress=$2 && shift 2 ;;
		--) shift && break ;;
		-?*) vdm_e2e_die "vdm_e2e_build_initramfs: unknown option $1" ;;
		*) break ;;
		esac
	done
	[ $# -eq 2 ] || vdm_e2e_die "usage: vdm_e2e_build_initramfs [opts] OUT BODY"
	local out=$1 body=$2
	vdm_e2e_require

	local base root
	base=$(_vdm_e2e_base_cpio)
	root=$(mktemp -d "$VDM_E2E_TMP/initramfs.XXXXXX")
	mkdir -p "$root"/{bin,vdm,lib/modules/vdm}

	# Modules.
	local mods=() list=""
	if [ "$all" = 1 ]; then
		list=$(cat "$VDM_E2E_CACHE/modules/order")
	elif [ ${#modules[@]} -gt 0 ]; then
		list=$(_vdm_e2e_module_closure "${modules[@]}") ||
			vdm_e2e_die "bad module list: ${modules[*]}"
	fi
	[ -z "$list" ] || mapfile -t mods <<<"$list"
	local m
	: >"$root/lib/modules/vdm/order"
	: >"$root/lib/modules/vdm/deps"
	for m in "${mods[@]}"; do
		cp "$VDM_E2E_CACHE/modules/$m.ko" "$root/lib/modules/vdm/"
		echo "$m" >>"$root/lib/modules/vdm/order"
		grep "^$m\( \|$\)" "$VDM_E2E_CACHE/modules/deps" >>"$root/lib/modules/vdm/deps"
	done

	# Extra binaries and files.
	local b p src dst
	for b in "${bins[@]}"; do
		[ -f "$b" ] || vdm_e2e_die "no such binary: $b"
		if command -v readelf >/dev/null &&
			[ "$(readelf -lW "$b" 2>/dev/null | grep -c INTERP)" -gt 0 ]; then
			vdm_e2e_log "warning: $b is dynamically linked; the guest has no libc"
		fi
		cp "$b" "$root/bin/"
		chmod 755 "$root/bin/${b##*/}"
	done
	for p in "${files[@]}"; do
		src=${p%%:*}
		dst=${p#*:}
		[ "$src" != "$p" ] || vdm_e2e_die "--file wants SRC:DST, got $p"
		[ -e "$src" ] || vdm_e2e_die "no such file: $src"
		mkdir -p "$root/$(dirname "$dst")"
		cp -a "$src" "$root/$dst"
	done

	if [ "$body" = - ]; then
		cat >"$root/vdm/body.sh"
	else
		cp "$body" "$root/vdm/body.sh"
	fi
	echo "$autoload" >"$root/vdm/autoload"

	# The kernel unpacks concatenated newc archives in order; later entries
	# add to (or replace files of) earlier ones.
	# shellcheck disable=SC2086 # $compress is a command with options
	{
		cat "$base"
		_vdm_e2e_cpio "$root"
	} | $compress >"$out.tmp"
	mv "$out.tmp" "$out"
	rm -rf "$root"
}

# Write a newc archive of directory $1 (contents, owned by root) to stdout.
_vdm_e2e_cpio() {
	(cd "$1" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		cpio --null --quiet -o -H newc --owner=0:0)
}

# Print the path of the uncompressed base archive (busybox and its applet
# links, the directory skeleton, /dev/console, /init and the guest lib),
# built once per test script.
_vdm_e2e_base_cpio() {
	local base="$VDM_E2E_TMP/base.cpio"
	if [ ! -f "$base" ]; then
		local root
		root=$(mktemp -d "$VDM_E2E_TMP/base.XXXXXX")
		mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,mnt,vdm,lib/modules/vdm}
		cp "$VDM_E2E_BUSYBOX" "$root/bin/busybox"
		local p
		while IFS= read -r p; do
			[ "$p" = bin/busybox ] || ln -s /bin/busybox "$root/$p"
		done < <(/bin/busybox --list-full) # the host's: runs here
		# The kernel opens /dev/console before init; without the node init
		# starts with no stdio (init re-opens it after mounting devtmpfs).
		if [ "$(id -u)" -eq 0 ]; then
			mknod -m 600 "$root/dev/console" c 5 1
		fi
		cp "$VDM_E2E_LIB_DIR/guest-init.sh" "$root/init"
		chmod 755 "$root/init"
		cp "$VDM_E2E_LIB_DIR/guest-lib.sh" "$root/vdm/lib.sh"
		_vdm_e2e_cpio "$root" >"$base.tmp"
		mv "$base.tmp" "$base"
		rm -rf "$root"
	fi
	printf '%s\n' "$base"
}

# _vdm_e2e_machine MEM SMP MOPTS: set VDM_E2E_MACHINE_ARGS to the machine,
# CPU and memory options of a run (shared by vdm_e2e_run_qemu and
# vdm_e2e_dump_dtb, so a dumped device tree fits the run it is meant for;
# and by migrate.sh, which runs two QEMUs at once).
_vdm_e2e_machine() {
	local mem=$1 smp=$2 mopts=$3
	case "$VDM_E2E_ARCH" in
	x86_64) VDM_E2E_MACHINE_ARGS=(-machine "q35,memory-backend=mem${mopts:+,$mopts}") ;;
	aarch64)
		VDM_E2E_MACHINE_ARGS=(-machine "virt,memory-backend=mem${mopts:+,$mopts}"
			-cpu "${VDM_E2E_CPU:-cortex-a57}")
		;;
	esac
	VDM_E2E_MACHINE_ARGS+=(-object "memory-backend-memfd,id=mem,size=$mem,share=on"
		-m "$mem" -smp "$smp")
}

# vdm_e2e_dump_dtb OUT [--smp N] [--mem SIZE] [--machine-opts O]
#
# aarch64 only: write the device tree QEMU's virt machine would give a run
# with the same options (QEMU's -machine dumpdtb=OUT) to OUT, to be edited
# (dtc) and handed back with vdm_e2e_run_qemu --dtb. QEMU adds /chosen
# (command line, initrd) and the memory node to a -dtb file itself.
vdm_e2e_dump_dtb() {
	local out=$1 smp="${VDM_E2E_SMP:-1}" mem=512M mopts="${VDM_E2E_MACHINE_OPTS:-}"
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--smp) smp=$2 && shift 2 ;;
		--mem) mem=$2 && shift 2 ;;
		--machine-opts) mopts=$2 && shift 2 ;;
		*) vdm_e2e_die "vdm_e2e_dump_dtb: unknown option $1" ;;
		esac
	done
	[ "$VDM_E2E_ARCH" = aarch64 ] || vdm_e2e_die "vdm_e2e_dump_dtb: aarch64 guests only"
	_vdm_e2e_machine "$mem" "$smp" "${mopts:+$mopts,}dumpdtb=$out"
	"$VDM_E2E_QEMU" -nodefaults -no-user-config -nographic -accel tcg \
		"${VDM_E2E_MACHINE_ARGS[@]}" </dev/null >"$VDM_E2E_TMP/dumpdtb.log" 2>&1 ||
		vdm_e2e_die "dumpdtb failed: $(cat "$VDM_E2E_TMP/dumpdtb.log")"
	[ -s "$out" ] || vdm_e2e_die "dumpdtb wrote nothing to $out"
}

# vdm_e2e_run_qemu [options] [-- EXTRA_QEMU_ARGS...]
#
# Boot the cached kernel with INITRD under TCG (q35, memfd shared memory so
# vhost-user back ends can map it), console on ttyS0 captured in LOG, with a
# hard timeout. Command line: console=ttyS0 panic=-1 quiet (x86: + no_timer_check)
# + VDM_E2E_BOOT_ARGS + --append. With VDM_E2E_ARCH=aarch64: -M virt, console on the PL011
# (ttyAMA0), and --kernel is required. Returns 0 when the guest printed "VDM-E2E: DONE 0", at least
# one PASS, no FAIL, and every --expect name passed. Otherwise prints why and
# the last 60 console lines and returns 1.
# Sets VDM_E2E_LAST_LOG (console log path), VDM_E2E_LAST_SECS (duration) and
# VDM_E2E_LAST_TIMES (a breakdown from the guest's uptime stamps).
#
# Options:
#   --initrd FILE      initramfs from vdm_e2e_build_initramfs (required)
#   --name NAME        run name for logs (default guest)
#   --log FILE         console log (default $VDM_E2E_TMP/NAME.console.log)
#   --smp N            vCPUs (default $VDM_E2E_SMP or 1)
#   --mem SIZE         guest memory, e.g. 512M (default 512M)
#   --timeout SECS     hard timeout (default $VDM_E2E_TIMEOUT or 120)
#   --append ARGS      extra kernel command line
#   --kernel FILE      kernel (default $VDM_E2E_KERNEL, else the cache's
#                      vmlinux, else its vmlinuz)
#   --machine-opts O   extra q35 options, e.g. i8042=off (no PS/2 keyboard
#                      beside a virtio-input one); default $VDM_E2E_MACHINE_OPTS
#   --dtb FILE         device tree to boot with (aarch64; vdm_e2e_dump_dtb)
#   --expect NAME      require "VDM-E2E: PASS NAME" (repeatable)
#   --reboot           run QEMU without -no-reboot, so a guest's reboot (and a
#                      panic, panic=-1) restarts the machine in the same QEMU
#                      process; the body must tell the boots apart and end
#                      the run itself (the TIME breakdown is the last boot's)
#
# Example:
#   vdm_e2e_run_qemu --initrd "$VDM_E2E_TMP/initrd" --name blk --smp 2 \
#       --expect read -- \
#       -chardev socket,id=c0,path="$sock" -device vhost-user-blk-pci,chardev=c0
vdm_e2e_run_qemu() {
	local initrd="" name=guest log="" smp="${VDM_E2E_SMP:-1}" mem=512M
	local tmo="${VDM_E2E_TIMEOUT:-120}" append="" expect=()
	local mopts="${VDM_E2E_MACHINE_OPTS:-}"
	local bootargs="${VDM_E2E_BOOT_ARGS-cryptomgr.notests=1 rodata=off}"
	local kernel="${VDM_E2E_KERNEL:-}" dtb="" console=ttyS0 timer="" noreboot=-no-reboot
	[ "$VDM_E2E_ARCH" = x86_64 ] || console=ttyAMA0
	# x86: no_timer_check. At boot Linux checks that the 8254 timer ticks
	# through the IO-APIC within a few of its busy-wait loops; a TCG guest
	# on a loaded host misses that and panics ("IO-APIC + timer doesn't
	# work!", seen on 2 cores at load 14). The timer works; skip the check.
	[ "$VDM_E2E_ARCH" != x86_64 ] || timer=" no_timer_check"
	if [ -z "$kernel" ] && [ "$VDM_E2E_ARCH" = x86_64 ]; then
		# The decompressed ELF boots ~1.5 s faster under TCG (PVH entry).
		kernel=$VDM_E2E_CACHE/vmlinux
		[ -f "$kernel" ] || kernel=$VDM_E2E_CACHE/vmlinuz
	fi
	while [ $# -gt 0 ]; do
		case "$1" in
		--initrd) initrd=$2 && shift 2 ;;
		--name) name=$2 && shift 2 ;;
		--log) log=$2 && shift 2 ;;
		--smp) smp=$2 && shift 2 ;;
		--mem) mem=$2 && shift 2 ;;
		--timeout) tmo=$2 && shift 2 ;;
		--append) append=$2 && shift 2 ;;
		--kernel) kernel=$2 && shift 2 ;;
		--machine-opts) mopts=$2 && shift 2 ;;
		--dtb) dtb=$2 && shift 2 ;;
		--expect) expect+=("$2") && shift 2 ;;
		--reboot) noreboot="" && shift ;;
		--) shift && break ;;
		*) vdm_e2e_die "vdm_e2e_run_qemu: unknown option $1" ;;
		esac
	done
	if [ -z "$initrd" ] || [ ! -f "$initrd" ]; then
		vdm_e2e_die "vdm_e2e_run_qemu: --initrd FILE required"
	fi
	[ -n "$kernel" ] || vdm_e2e_die "vdm_e2e_run_qemu: --kernel FILE required ($VDM_E2E_ARCH)"
	vdm_e2e_require
	log=${log:-$VDM_E2E_TMP/$name.console.log}
	VDM_E2E_LAST_TIMES=""
	local errlog="$VDM_E2E_TMP/$name.qemu.log"
	: >"$log"

	_vdm_e2e_machine "$mem" "$smp" "$mopts"
	local cmd=(
		"$VDM_E2E_QEMU" -nodefaults -no-user-config -nographic ${noreboot:+"$noreboot"}
		-accel tcg
		"${VDM_E2E_MACHINE_ARGS[@]}"
		-kernel "$kernel" -initrd "$initrd"
		-append "console=$console panic=-1 quiet$timer${bootargs:+ $bootargs}${append:+ $append}"
		-serial "file:$log"
	)
	[ -z "$dtb" ] || cmd+=(-dtb "$dtb")
	cmd+=("$@")
	vdm_e2e_log "$name: $(vdm_e2e_qemu_version)"
	vdm_e2e_log "$name: ${cmd[*]}"
	local t0 rc=0
	t0=$(vdm_e2e_now)
	# Background + wait, so a signal to this script runs the cleanup trap
	# (which kills QEMU) at once.
	timeout -k 5 "$tmo" "${cmd[@]}" </dev/null >"$errlog" 2>&1 &
	VDM_E2E_PIDS["qemu-$name"]=$!
	wait "$!" || rc=$?
	unset "VDM_E2E_PIDS[qemu-$name]"
	VDM_E2E_LAST_SECS=$(vdm_e2e_since "$t0")
	VDM_E2E_LAST_LOG=$log

	if [ "${VDM_E2E_VERBOSE:-0}" = 1 ]; then
		sed "s/^/[$name] /" "$log" >&2
	fi

	local why="" markers
	markers=$(tr -d '\r' <"$log" | grep -o 'VDM-E2E: .*' || true)
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		why="timed out after ${tmo}s"
	elif [ "$rc" != 0 ]; then
		why="qemu exited with status $rc: $(tail -n 5 "$errlog" | tr '\n' ' ')"
	elif grep -q '^VDM-E2E: FAIL' <<<"$markers"; then
		why="guest reported: $(grep '^VDM-E2E: FAIL' <<<"$markers" | head -3 | tr '\n' ';')"
	elif ! grep -q '^VDM-E2E: DONE' <<<"$markers"; then
		why="no DONE marker (guest crashed or hung?)"
	elif ! grep -q '^VDM-E2E: DONE 0$' <<<"$markers"; then
		why="guest body failed: $(grep '^VDM-E2E: DONE' <<<"$markers")"
	elif ! grep -q '^VDM-E2E: PASS' <<<"$markers"; then
		why="no PASS marker"
	else
		local e
		for e in "${expect[@]}"; do
			if ! grep -qx "VDM-E2E: PASS $e" <<<"$markers"; then
				why="expected PASS $e is missing"
				break
			fi
		done
	fi

	if [ -n "$why" ]; then
		vdm_e2e_log "$name: FAILED ($VDM_E2E_LAST_SECS s): $why"
		if [ -s "$errlog" ]; then
			vdm_e2e_log "$name: qemu stderr:"
			sed "s/^/  qemu| /" "$errlog" >&2
		fi
		vdm_e2e_log "$name: last 60 console lines ($log):"
		tr -d '\r' <"$log" | tail -n 60 | sed 's/^/  console| /' >&2
		return 1
	fi
	grep -E '^VDM-E2E: (PASS|INFO|VALUE)' <<<"$markers" | sed "s/^/e2e: $name: /" >&2
	# Guest clock (uptime) at /init, at the body's start and end (the last boot's).
	local t_init t_body t_end
	t_init=$(sed -n 's/^VDM-E2E: TIME init //p' <<<"$markers" | tail -n 1)
	t_body=$(sed -n 's/^VDM-E2E: TIME body //p' <<<"$markers" | tail -n 1)
	t_end=$(sed -n 's/^VDM-E2E: TIME end //p' <<<"$markers" | tail -n 1)
	VDM_E2E_LAST_TIMES=$(awk -v i="$t_init" -v b="$t_body" -v e="$t_end" -v t="$VDM_E2E_LAST_SECS" \
		'BEGIN { printf "kernel boot %.2fs, insmod %.2fs, body %.2fs, other (qemu+firmware+poweroff) %.2fs", i, b - i, e - b, t - e }')
	vdm_e2e_log "$name: ok in $VDM_E2E_LAST_SECS s ($VDM_E2E_LAST_TIMES)"
	return 0
}

# vdm_e2e_value KEY [LOG]: print the last "VDM-E2E: VALUE KEY ..." value from
# LOG (default: the last run's console log). Fails when there is none.
vdm_e2e_value() {
	local key=$1 log=${2:-$VDM_E2E_LAST_LOG}
	tr -d '\r' <"$log" | grep -o 'VDM-E2E: VALUE .*' |
		awk -v k="$key" '$3 == k { v = $0; sub(/^VDM-E2E: VALUE [^ ]+ ?/, "", v); f = 1 }
			END { if (!f) exit 1; print v }'
}

# vdm_e2e_has_feature FEATURES BIT: succeed when BIT is set in FEATURES, the
# string of 0/1 characters (bit 0 first) that the guest's
# /sys/bus/virtio/devices/virtioN/features holds. E.g. 32 VERSION_1,
# 34 RING_PACKED, 28 INDIRECT_DESC, 29 EVENT_IDX.
vdm_e2e_has_feature() {
	[ "${1:$2:1}" = 1 ]
}

# vdm_e2e_spawn NAME CMD [ARGS...]: start CMD in the background with stdout
# and stderr in $VDM_E2E_TMP/NAME.log; it is stopped at exit. The pid is in
# VDM_E2E_PIDS[NAME].
vdm_e2e_spawn() {
	local name=$1
	shift
	[ -z "${VDM_E2E_PIDS[$name]:-}" ] || vdm_e2e_die "process $name already running"
	"$@" </dev/null >"$VDM_E2E_TMP/$name.log" 2>&1 &
	VDM_E2E_PIDS[$name]=$!
	vdm_e2e_log "started $name (pid $!): $*"
}

# vdm_e2e_stop NAME [GRACE]: SIGTERM, then SIGKILL after GRACE s (default 5).
vdm_e2e_stop() {
	local name=$1 grace=${2:-5} pid
	pid=${VDM_E2E_PIDS[$name]:-}
	[ -n "$pid" ] || return 0
	_vdm_e2e_kill "$pid" "$grace"
	unset "VDM_E2E_PIDS[$name]"
}

# vdm_e2e_wait_socket PATH [TIMEOUT] [NAME]: wait (default 10 s) for a unix
# socket to appear. With NAME, fail early (showing its log) if that spawned
# process exits first.
vdm_e2e_wait_socket() {
	local path=$1 tmo=${2:-10} name=${3:-} i pid
	for ((i = 0; i < tmo * 20; i++)); do
		[ -S "$path" ] && return 0
		if [ -n "$name" ]; then
			pid=${VDM_E2E_PIDS[$name]:-}
			if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
				vdm_e2e_log "$name exited before creating $path; its log:"
				sed 's/^/  | /' "$VDM_E2E_TMP/$name.log" >&2 || true
				return 1
			fi
		fi
		sleep 0.05
	done
	vdm_e2e_log "timed out waiting for socket $path"
	return 1
}

# vdm_e2e_alsa_files BIN...: print, one word a line, the --file SRC:DST
# options of vdm_e2e_build_initramfs that copy Debian's ALSA binaries BIN
# (aplay, amixer: alsa-utils), the libraries they need and ALSA's
# configuration into the guest. Use:
#   mapfile -t files < <(vdm_e2e_alsa_files /usr/bin/aplay)
vdm_e2e_alsa_files() {
	local f lib
	for f in "$@"; do
		[ -x "$f" ] || vdm_e2e_die "$f missing: apt-get install alsa-utils"
		printf '%s\n' --file "$f:/usr/bin/${f##*/}"
		while read -r lib; do
			printf '%s\n' --file "$(readlink -f "$lib"):$lib" # cp -a keeps symlinks
		done < <(ldd "$f" | awk '/=> \// { print $3 } /^\t\/lib64/ { print $1 }')
	done
	while read -r f; do
		printf '%s\n' --file "$f:$f"
	done < <(find /usr/share/alsa/alsa.conf /usr/share/alsa/pcm /usr/share/alsa/cards /usr/share/alsa/ctl -name '*.conf')
}

# vdm_e2e_rng_offset PATFILE HEX: where the guest's bytes (HEX, as od -tx1
# prints them, concatenated) start in PATFILE's bytes repeated without end,
# and how many 64-byte chunks of that stream the guest did not see; prints
# "OFFSET SKIPPED", or "-1 0" when HEX is not the stream. The guest reads
# /dev/hwrng in 64-byte chunks (the hwrng core's buffer, virtio-rng's
# request size) and each must continue the stream byte for byte, except
# that at most two whole chunks may be missing in all: Linux 6.12's hwrng
# core starts its "hwrng" kthread whenever an rng becomes current, whatever
# rng_core.default_quality says (quality 0 only means no entropy credit),
# and it reads one 64-byte chunk per crng reseed interval (every second
# early in boot) into the kernel's pool, racing the test's read.
vdm_e2e_rng_offset() {
	local pat=$1 hex=$2 plen reps pathex
	plen=$(stat -c %s "$pat")
	reps=$(((${#hex} / 2) / plen + 2))
	pathex=$(for _ in $(seq "$reps"); do cat "$pat"; done | od -An -v -tx1 | tr -d ' \n')
	awk -v h="$pathex" -v n="$hex" -v L="$plen" -v C=64 'BEGIN {
		start = -1
		for (i = 0; i < L; i++) if (substr(h, 2 * i + 1, 2 * C) == substr(n, 1, 2 * C)) { start = i; break }
		if (start < 0) { print "-1 0"; exit }
		s = start + C; skips = 0
		for (g = C; g < length(n) / 2; g += C) {
			want = substr(n, 2 * g + 1, 2 * C)
			for (k = 0; k <= 2; k++) { p = (s + k * C) % L; if (substr(h, 2 * p + 1, length(want)) == want) break }
			if (k > 2 || skips + k > 2) { print "-1 0"; exit }
			skips += k; s += (k + 1) * C
		}
		print start " " skips }'
}
