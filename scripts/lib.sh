# shellcheck shell=sh
# Helpers shared by the shell scripts.
# POSIX sh, as make runs it with /bin/sh. Source it from the top of the
# repository, where every script runs.

# read_list FILE: the entries of a list file (patches/*/series), "name
# value... # comment" per line: without the comments, blank lines and
# surplus blanks; one entry per line.
read_list() {
	sed -e 's/#.*//' -e 's/[[:space:]][[:space:]]*/ /g' -e 's/^ //' \
	    -e 's/ $//' -e '/^$/d' "$1"
}

# apt_in DIR apt-get|apt-cache ARGS...: apt with a configuration of its
# own in DIR: the sources of DIR/sources.list, its own lists and download
# cache, so that the machine's apt sources are neither used nor changed,
# and no root is needed.
apt_in() {
	_dir=$1 _cmd=$2
	shift 2
	"$_cmd" -o Dir::Etc::SourceList="$_dir/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null -o Dir::Etc::Preferences=/dev/null \
		-o Dir::Etc::PreferencesParts=/dev/null \
		-o Dir::State::Lists="$_dir/lists" -o Dir::State::status=/dev/null \
		-o Dir::Cache="$_dir" -o Dir::Cache::Archives="$_dir/archives" \
		-o APT::Sandbox::User="$(id -un)" -o Debug::NoLocking=1 "$@"
}

# built_kernels BUILD: "KERNEL RELEASE" for each kernel whose modules
# were built in BUILD (build/KERNEL/modules, release from its versions.env).
built_kernels() {
	for _env in "$1"/*/cache/versions.env; do
		[ -f "$_env" ] || continue
		_k=$(sed -n 's/^KERNEL=//p' "$_env")
		[ -n "$_k" ] && [ -f "$1/$_k/modules/kvm-intel.ko" ] &&
			echo "$_k $(sed -n 's/^KERNEL_RELEASE=//p' "$_env")"
	done
	return 0
}

# image_pkgs PATTERNS RELEASE: the image's packages (vmlinuz, config,
# stock modules; config.mk's _IMAGE_PKGS) of RELEASE. headers_pkg
# RELEASE: its headers (Module.symvers).
image_pkgs() { echo "$1" | sed "s/@REL@/$2/g"; }
headers_pkg() { echo "linux-headers-$1"; }

# image_file IMAGE RELEASE config|vmlinuz: that file in the unpacked
# image packages IMAGE: in boot/ up to Debian 13's 6.12, in
# usr/lib/modules/RELEASE/ for Debian's 7.x packages.
image_file() {
	case $3 in
	config) set -- "$1/boot/config-$2" "$1/usr/lib/modules/$2/config";;
	vmlinuz) set -- "$1/boot/vmlinuz-$2" "$1/usr/lib/modules/$2/vmlinuz.unsigned" \
		       "$1/usr/lib/modules/$2/vmlinuz";;
	esac
	for _f; do
		[ -f "$_f" ] && { echo "$_f"; return 0; }
	done
	echo "none of $* exists" >&2
	return 1
}

# image_modules IMAGE RELEASE: the stock modules' directory in the
# unpacked image package IMAGE: lib/modules/RELEASE up to Debian 12,
# usr/lib/modules/RELEASE from Debian 13 on.
image_modules() {
	for _d in "$1/lib/modules/$2" "$1/usr/lib/modules/$2"; do
		[ -d "$_d" ] && { echo "$_d"; return 0; }
	done
	echo "no lib/modules/$2 in $1" >&2
	return 1
}

# unpack_source CACHE DEST [FILE...]: the pristine kernel source of
# CACHE's source package (versions.env, written by fetch.sh) into DEST,
# all of it or only the FILEs named (paths inside the tree).
unpack_source() {
	_cache=$1 _dest=$2
	shift 2
	# shellcheck source=/dev/null
	. "$_cache/versions.env"
	_top=$KERNEL_SOURCE_PKG _files=
	for _f; do
		_files="$_files $_top/$_f"
	done
	mkdir -p "$_dest"
	# shellcheck disable=SC2086 # word splitting of the file list is wanted
	dpkg-deb --fsys-tarfile "$_cache/${_top}_"*.deb |
		tar -xO "./usr/src/$_top.tar.xz" | xz -dc -T0 |
		tar -x -C "$_dest" --strip-components=1 $_files
}

# initramfs TREE ROOT OUT: directory ROOT as a zstd-compressed newc cpio
# with /dev/console, which the kernel opens for /init before anything
# mounts /dev; TREE's gen_init_cpio makes the device node without root.
initramfs() {
	_tree=$1 _root=$2 _out=$3
	_gen=$_out.gen_init_cpio
	cc -O2 -o "$_gen" "$_tree/usr/gen_init_cpio.c" || return
	{
		echo "nod /dev/console 0600 0 0 c 5 1"
		(cd "$_root" && find . -mindepth 1 | sort) | while read -r _f; do
			_f=${_f#.}
			if [ -L "$_root$_f" ]; then
				echo "slink $_f $(readlink "$_root$_f") 0777 0 0"
			elif [ -d "$_root$_f" ]; then
				echo "dir $_f 0755 0 0"
			else
				echo "file $_f $_root$_f $(stat -c %a "$_root$_f") 0 0"
			fi
		done
	} > "$_out.list"
	"$_gen" "$_out.list" | zstd -q -3 -T0 > "$_out"
	_rc=$?
	rm -f "$_gen" "$_out.list"
	return $_rc
}
