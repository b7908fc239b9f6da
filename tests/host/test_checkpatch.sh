#!/usr/bin/env bash
# scripts/checkpatch.pl --strict on every patch of kernel/patches. A
# complaint fails the test unless kernel/checkpatch-accepted.txt lists it
# (justified in docs/kernel-series.md). checkpatch.pl and its data files
# come from the Debian tarball, cached per Debian version.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

. "$(dirname "$0")/lib.sh"

version=$(debian_kernel_version)
tools=$CACHE/checkpatch/$version
# Under a lock and in a directory of its own: two first runs at once (two
# clones) must not extract into each other.
extract_checkpatch() {
	local part=$tools.tmp.$BASHPID
	[ -f "$tools/scripts/checkpatch.pl" ] && return 0
	trap 'rm -rf "$part"' EXIT
	mkdir -p "$part"
	tar -xJf "$KSRC_TARBALL" -C "$part" --strip-components=1 \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch ||
		die "cannot extract checkpatch.pl from $KSRC_TARBALL"
	rm -rf "$tools"
	mv "$part" "$tools"
}
with_lock checkpatch extract_checkpatch || exit 1
accepted=$TOP/kernel/checkpatch-accepted.txt

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
results=$tools/results
checkpatch() { # patch file: its complaints
	local key part rc
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

while read -r name; do
	case $name in '' | '#'*) continue ;; esac
	out=$(checkpatch "$TOP/kernel/patches/$name")
	bad=()
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		complaint=$(sed -E 's/^[^:]+:[0-9]+: //' <<<"$line")
		is_accepted "$name" "$complaint" || bad+=("$line")
	done <<<"$out"
	if [ ${#bad[@]} -eq 0 ]; then
		ok "$name"
	else
		not_ok "$name" "$(printf "%s\n" "${bad[@]:0:10}")"
	fi
done <"$TOP/kernel/patches/series"
finish checkpatch
