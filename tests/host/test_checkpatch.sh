#!/usr/bin/env bash
# scripts/checkpatch.pl --strict on every patch of kernel/<base>/patches. A
# complaint fails the test unless kernel/checkpatch-accepted.txt lists it
# (justified in docs/kernel-series.md). checkpatch.pl and its data files
# come from the base's Debian tarball, cached per Debian version.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

. "$(dirname "$0")/lib.sh"

accepted=$TOP/kernel/checkpatch-accepted.txt

# checkpatch.pl of base $1 into $tools, under a lock and in a directory of
# its own: two first runs at once (two clones) must not extract into each
# other.
extract_checkpatch() {
	local base=$1 tarball=/usr/src/linux-source-$1.tar.xz part=$tools.tmp.$BASHPID
	[ -f "$tools/scripts/checkpatch.pl" ] && return 0
	trap "rm -rf $(printf %q "$part")" EXIT
	mkdir -p "$part"
	tar -xJf "$tarball" -C "$part" --strip-components=1 \
		"linux-source-$base/scripts/checkpatch.pl" \
		"linux-source-$base/scripts/spelling.txt" \
		"linux-source-$base/scripts/const_structs.checkpatch" ||
		die "cannot extract checkpatch.pl from $tarball"
	rm -rf "$tools"
	mv "$part" "$tools"
}

# Is "<patch> <complaint>" accepted? Lines: <patch glob>|<complaint line>
is_accepted() {
	local patch=$1 complaint=$2 glob line
	while IFS='|' read -r glob line; do
		case $glob in '' | '#'*) continue ;; esac
		# shellcheck disable=SC2053 # glob match on purpose
		[[ $patch == $glob && $complaint == "$line" ]] && return 0
	done <"$accepted"
	return 1
}

# checkpatch.pl's complaints about a patch depend only on the patch (its
# path, which they name, and content), the checkpatch.pl of this Debian
# version and its flags: kept under their hash beside the tool, so that a
# warm run checks unchanged patches against the accepted list without
# running Perl again (14 s for 19 patches). Only a run that ended (exit 0:
# clean, 1: complaints) is kept.
FLAGS=(--strict --no-tree --terse --no-summary)
checkpatch() { # patch file: its complaints, with $tools' checkpatch.pl
	local key part rc results=$tools/results
	key=$({ printf '%s\0' "${FLAGS[@]}" "$1"; cat "$1"; } | sha256sum | cut -c1-16)
	if [ -f "$results/$key" ]; then
		cat "$results/$key"
		return
	fi
	mkdir -p "$results"
	part=$results/$key.tmp.$BASHPID
	(cd "$tools" && perl scripts/checkpatch.pl "${FLAGS[@]}" "$1") >"$part" 2>&1
	rc=$?
	cat "$part"
	if [ "$rc" -le 1 ]; then mv -f "$part" "$results/$key"; else rm -f "$part"; fi
}

# Every base with a series, each patch with its base's checkpatch.pl.
for base in "${KERNEL_BASES[@]}"; do
	patches=$TOP/kernel/$base/patches
	[ -f "$patches/series" ] || continue
	version=$(dpkg-query -W -f='${Version}' "linux-source-$base" 2>/dev/null) ||
		die "linux-source-$base is not installed (run: make deps)"
	tools=$CACHE/checkpatch/$version
	with_lock "checkpatch-$base" extract_checkpatch "$base" || exit 1
	while read -r name; do
		case $name in '' | '#'*) continue ;; esac
		out=$(checkpatch "$patches/$name")
		bad=()
		while IFS= read -r line; do
			[ -n "$line" ] || continue
			complaint=$(sed -E 's/^[^:]+:[0-9]+: //' <<<"$line")
			is_accepted "$name" "$complaint" || bad+=("$line")
		done <<<"$out"
		if [ ${#bad[@]} -eq 0 ]; then
			ok "$base: $name"
		else
			not_ok "$base: $name" "$(printf "%s\n" "${bad[@]:0:10}")"
		fi
	done <"$patches/series"
done
finish checkpatch
