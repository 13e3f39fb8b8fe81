#!/bin/bash
# Work on patches/ as git commits.
#
#   series-edit.sh CACHE DIR init    DIR: a git repo of the pristine source
#                                    plus our files (commit "base"), with
#                                    patches/series applied by 'git am'
#   series-edit.sh CACHE DIR export  patches/ and patches/series anew from
#                                    DIR's commits after "base"
set -euo pipefail

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
cache=$1 dir=$2 cmd=$3
top=$(pwd)
die() { echo "series-edit: error: $*" >&2; exit 1; }

case $cmd in
init)
	[ ! -e "$dir" ] || die "$dir exists; remove it first"
	scripts/tree.sh "$cache" "$dir" /dev/null >/dev/null
	rm -f "$dir/.tree-stamp"
	cd "$dir"
	git init -q
	git add -A -f  # Debian's .gitignore ignores the whole top level
	git -c user.name=series-edit -c user.email=series-edit@localhost \
		commit -q -m base
	git tag base
	while read -r p; do
		git am -q "$top/patches/$p" || die "git am $p failed"
	done < <(read_list "$top/patches/series")
	echo "series-edit: $dir: base + $(git rev-list --count base..HEAD) patches"
	;;
export)
	[ -d "$dir/.git" ] || die "$dir is not from 'series-edit.sh init'"
	rm -f patches/*.patch
	# Index lines with 7-digit blob names, whatever the object count.
	git -C "$dir" -c core.abbrev=7 format-patch -q -o "$top/patches" base..HEAD
	(cd patches && printf '%s\n' ./*.patch | sed 's|^\./||') > patches/series
	echo "series-edit: $(wc -l < patches/series) patches in patches/"
	;;
*)
	die "unknown command $cmd (init or export)"
	;;
esac
