#!/bin/bash
# Work on the kernel's series (KERNEL_SERIES in versions.env, patches/6.12
# for 6.12) as git commits.
#
#   series-edit.sh CACHE DIR init    DIR: a git repo of the pristine source
#                                    (commit "base"), with the series
#                                    applied by 'git am'
#   series-edit.sh CACHE DIR export  the series' patches and list anew from
#                                    DIR's commits after "base", with the
#                                    cover letter's text kept
#
# The series is kept under a placeholder identity.  With AUTHOR='Name
# <mail>' in the environment, export also writes a copy for posting to
# DIR/../posting/, with every From: and Signed-off-by: of that identity
# made AUTHOR's: the Developer's Certificate of Origin is a real
# person's statement (Documentation/process/submitting-patches.rst).
set -euo pipefail

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
cache=$1 dir=$2 cmd=$3
top=$(pwd)
# shellcheck source=/dev/null
. "$cache/versions.env"
sdir=$KERNEL_SERIES
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
		git am -q "$top/$sdir/$p" || die "git am $p failed"
	done < <(read_list "$top/$sdir/series")
	echo "series-edit: $dir: base + $(git rev-list --count base..HEAD) patches"
	;;
export)
	[ -d "$dir/.git" ] || die "$dir is not from 'series-edit.sh init'"
	# The cover letter's subject and text are ours: keep them, and let
	# format-patch write the rest anew (shortlog, diffstat, count).
	cover=$sdir/0000-cover-letter.patch
	[ -f "$cover" ] || die "$cover missing: it holds the cover letter's text"
	subject=$(sed -n '/^Subject: /,/^$/p' "$cover" | sed '$d' |
		  sed -e 's/^Subject: \[PATCH [0-9]*\/[0-9]*\] //' -e 's/^ //' |
		  tr '\n' ' ' | sed 's/ $//')
	sed -n '/^$/,$p' "$cover" | sed '1d' |
		sed '/^[^ ].* ([0-9]*):$/,$d' > "$dir/.cover-text"
	rm -f "$sdir"/*.patch
	# Index lines with 7-digit blob names, whatever the object count; the
	# cover letter from the series' author.
	git -C "$dir" -c core.abbrev=7 \
		-c user.name="$(git -C "$dir" log -1 --format=%an base..HEAD)" \
		-c user.email="$(git -C "$dir" log -1 --format=%ae base..HEAD)" \
		format-patch -q --cover-letter -o "$top/$sdir" base..HEAD
	# Dated as the last commit, so that an export of the same commits
	# writes the same cover letter.
	awk -v subject="$subject" -v text="$dir/.cover-text" \
	    -v date="$(git -C "$dir" log -1 --format=%aD)" '
		/^Date: / && !dated { $0 = "Date: " date; dated = 1 }
		/\*\*\* SUBJECT HERE \*\*\*/ { sub(/\*\*\* SUBJECT HERE \*\*\*/, subject) }
		/^\*\*\* BLURB HERE \*\*\*$/ {
			while ((getline line < text) > 0)
				print line
			skip = 1
			next
		}
		skip && /^$/ { skip = 0; next }
		{ skip = 0; print }' "$cover" > "$cover.tmp" && mv "$cover.tmp" "$cover"
	(cd "$sdir" && printf '%s\n' ./*.patch | sed -e 's|^\./||' \
		-e '/^0000-cover-letter\.patch$/d') > "$sdir/series"
	echo "series-edit: $(wc -l < "$sdir/series") patches in $sdir/"
	[ -n "${AUTHOR:-}" ] || exit 0
	placeholder=$(git -C "$dir" log -1 --format='%an <%ae>' base..HEAD)
	[[ $AUTHOR =~ ^[^\<\>@]+\ \<[^\<\>@\ ]+@[^\<\>@\ ]+\>$ ]] ||
		die "AUTHOR='$AUTHOR': want 'Name <mail@domain>'"
	[ "$AUTHOR" != "$placeholder" ] ||
		die "AUTHOR is the placeholder identity; give a real person's"
	post=$(dirname "$dir")/posting
	rm -rf "$post"
	mkdir -p "$post"
	for f in "$sdir"/*.patch; do
		awk -v old="$placeholder" -v new="$AUTHOR" '
			$0 == "From: " old { $0 = "From: " new }
			$0 == "Signed-off-by: " old { $0 = "Signed-off-by: " new }
			{ print }' "$f" > "$post/${f##*/}"
	done
	n=$(grep -c "^Signed-off-by: $AUTHOR\$" "$post"/*.patch | grep -c ':1$')
	echo "series-edit: $post/: the patches for posting, from $AUTHOR" \
	     "($n signed off)"
	;;
*)
	die "unknown command $cmd (init or export)"
	;;
esac
