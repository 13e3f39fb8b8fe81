#!/bin/bash
# Put our kvm.ko, kvm-intel.ko and kvm-amd.ko on a real Intel host, or
# take them away again.
#
# usage: install.sh install|uninstall BUILD
#
# BUILD holds a directory per kernel built (BUILD/KERNEL/cache/versions.env
# names its release, BUILD/KERNEL/modules holds the modules); the running
# kernel's release picks the one to install, whichever KERNEL it is.
#
# install: copies the three modules built for the running kernel into
# /lib/modules/RELEASE/updates/ (depmod ranks updates/ above the stock
# kernel/ tree), runs depmod and writes /etc/modprobe.d/nested-vpid.conf
# with "options kvm_intel nested=1". It refuses unless it runs as root,
# modules were built for the running kernel (it names those built) and
# the CPU has VMX. The modules already loaded stay in use until kvm_intel
# and kvm are reloaded (or the host reboots).
#
# uninstall (root; any running kernel): removes what install put there,
# for every release built, and runs depmod, so that the stock modules
# take precedence again.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
action=${1:-} build=${2:-}
mods=(kvm kvm-intel kvm-amd)
conf=/etc/modprobe.d/nested-vpid.conf

die() { echo "$action: error: $*" >&2; exit 1; }

if [ -z "$build" ]; then
	echo "usage: $0 install|uninstall BUILD" >&2
	exit 2
fi

# "KERNEL RELEASE" for each kernel whose modules were built.
mapfile -t built < <(built_kernels "$build")
running=$(uname -r)
modules='' release=$running
for b in "${built[@]}"; do
	[ "${b#* }" = "$running" ] && modules=$build/${b%% *}/modules
done

# Every reason to refuse, all at once.
check_host() {
	local why=()

	if [ "$(id -u)" -ne 0 ]; then
		why+=("not root: run 'sudo make $action'")
	fi
	if [ "$action" = install ] && [ -z "$modules" ]; then
		if [ ${#built[@]} -eq 0 ]; then
			why+=("no modules are built: run 'make modules' (or 'make KERNEL=... modules') first, as a normal user")
		else
			why+=("the running kernel is $running; modules are built for: $(printf '%s, ' "${built[@]#* }" | sed 's/, $//') (make KERNEL=$(printf '%s/' "${built[@]%% *}" | sed 's|/$||') modules): boot one of them, or build for this kernel")
		fi
	fi
	if [ "$action" = install ] && ! grep -qw vmx /proc/cpuinfo; then
		why+=("this CPU has no VMX (no 'vmx' flag in /proc/cpuinfo): not an Intel CPU with VT-x, VT-x disabled in the firmware, or a guest without nested virtualization")
	fi
	if [ ${#why[@]} -gt 0 ]; then
		echo "$action: refusing:" >&2
		printf '  - %s\n' "${why[@]}" >&2
		exit 1
	fi
}

case $action in
install)
	check_host
	updates=/lib/modules/$release/updates
	for m in "${mods[@]}"; do
		[ -f "$modules/$m.ko" ] ||
			die "$modules/$m.ko missing: run 'make modules' first (as a normal user)"
	done
	for m in "${mods[@]}"; do
		magic=$(modinfo -F vermagic "$modules/$m.ko")
		[ "${magic%% *}" = "$release" ] ||
			die "$modules/$m.ko is built for '${magic%% *}', not $release"
	done
	install -d "$updates"
	for m in "${mods[@]}"; do
		install -m 0644 "$modules/$m.ko" "$updates/$m.ko"
		echo "install: $updates/$m.ko"
	done
	depmod -a "$release"
	install -d "${conf%/*}"
	printf '%s\n' '# Written by nested VPID make install; removed by make uninstall.' \
		'options kvm_intel nested=1' > "$conf"
	echo "install: $conf"
	echo "install: done. Reload to use them (stops every VM):"
	echo "  modprobe -r kvm_intel kvm && modprobe kvm_intel"
	echo "then check: cat /sys/module/kvm_intel/parameters/nested_vpid_tags"
	;;
uninstall)
	check_host
	removed=()
	for b in "${built[@]}" "- $running"; do
		updates=/lib/modules/${b#* }/updates
		for m in "${mods[@]}"; do
			if [ -f "$updates/$m.ko" ]; then
				rm -f "$updates/$m.ko"
				echo "uninstall: removed $updates/$m.ko"
				removed+=("${b#* }")
			fi
		done
		rmdir "$updates" 2>/dev/null || true
	done
	if [ -f "$conf" ]; then
		rm -f "$conf"
		echo "uninstall: removed $conf"
	fi
	if [ ${#removed[@]} -eq 0 ]; then
		echo "uninstall: no module of ours in /lib/modules/*/updates of the releases built or running; nothing to do"
		exit 0
	fi
	for r in $(printf '%s\n' "${removed[@]}" | sort -u); do
		depmod -a "$r"
	done
	echo "uninstall: done; the stock modules are used from the next load:"
	echo "  modprobe -r kvm_intel kvm && modprobe kvm_intel"
	;;
*)
	echo "usage: $0 install|uninstall BUILD" >&2
	exit 2
	;;
esac
