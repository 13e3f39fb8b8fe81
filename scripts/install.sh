#!/bin/bash
# Put our kvm.ko, kvm-intel.ko and kvm-amd.ko on a real Intel host, or
# take them away again.
#
# usage: install.sh install|uninstall MODULES RELEASE
#
# install: copies the three modules from MODULES into
# /lib/modules/RELEASE/updates/ (depmod ranks updates/ above the stock
# kernel/ tree), runs depmod and writes /etc/modprobe.d/nested-vpid.conf
# with "options kvm_intel nested=1". It refuses unless it runs as root,
# the running kernel is RELEASE (the release the modules were built for)
# and the CPU has VMX. The modules already loaded stay in use until
# kvm_intel and kvm are reloaded (or the host reboots).
#
# uninstall (root; any running kernel): removes what install put there
# and runs depmod, so that the stock modules take precedence again.
set -euo pipefail

action=${1:-} modules=${2:-} release=${3:-}
mods=(kvm kvm-intel kvm-amd)
updates=/lib/modules/$release/updates
conf=/etc/modprobe.d/nested-vpid.conf

die() { echo "$action: error: $*" >&2; exit 1; }

if [ -z "$modules" ] || [ -z "$release" ]; then
	echo "usage: $0 install|uninstall MODULES RELEASE" >&2
	exit 2
fi

# Every reason to refuse, all at once.
check_host() {
	local why=()

	if [ "$(id -u)" -ne 0 ]; then
		why+=("not root: run 'sudo make $action'")
	fi
	if [ "$action" = install ] && [ "$(uname -r)" != "$release" ]; then
		why+=("the running kernel is $(uname -r), the modules are built for $release: boot $release (Debian's linux-image-$release) or build for this kernel")
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
	for m in "${mods[@]}"; do
		[ -f "$modules/$m.ko" ] ||
			die "$modules/$m.ko missing: run 'make modules' first (as a normal user)"
	done
	for m in "${mods[@]}"; do
		magic=$(modinfo -F vermagic "$modules/$m.ko")
		[ "${magic%% *}" = "$release" ] ||
			die "$modules/$m.ko is built for '${magic%% *}', not $release"
	done
	check_host
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
	removed=0
	for m in "${mods[@]}"; do
		if [ -f "$updates/$m.ko" ]; then
			rm -f "$updates/$m.ko"
			echo "uninstall: removed $updates/$m.ko"
			removed=1
		fi
	done
	rmdir "$updates" 2>/dev/null || true
	if [ -f "$conf" ]; then
		rm -f "$conf"
		echo "uninstall: removed $conf"
	fi
	if [ $removed = 0 ]; then
		echo "uninstall: no module of ours in $updates; nothing to do"
		exit 0
	fi
	depmod -a "$release"
	echo "uninstall: done; the stock modules are used from the next load:"
	echo "  modprobe -r kvm_intel kvm && modprobe kvm_intel"
	;;
*)
	echo "usage: $0 install|uninstall MODULES RELEASE" >&2
	exit 2
	;;
esac
