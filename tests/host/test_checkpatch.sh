#!/usr/bin/env bash
# scripts/checkpatch.pl --strict on every patch of kernel/patches. A
# complaint fails the test unless kernel/checkpatch-accepted.txt lists it
# (justified in docs/kernel-series.md). checkpatch.pl and its data files
# come from the Debian tarball, cached per Debian version.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

version=$(debian_kernel_version)
tools=$CACHE/checkpatch/$version
if [ ! -f "$tools/scripts/checkpatch.pl" ]; then
	mkdir -p "$tools.tmp"
	tar -xJf "$KSRC_TARBALL" -C "$tools.tmp" --strip-components=1 \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch ||
		die "cannot extract checkpatch.pl from $KSRC_TARBALL"
	rm -rf "$tools"
	mv "$tools.tmp" "$tools"
fi
accepted=$TOP/kernel/checkpatch-accepted.txt
passed=0 failed=0

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

while read -r name; do
	case $name in '' | '#'*) continue ;; esac
	out=$(cd "$tools" && perl scripts/checkpatch.pl --strict --no-tree \
		--terse --no-summary "$TOP/kernel/patches/$name" 2>&1)
	bad=()
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		complaint=$(sed -E 's/^[^:]+:[0-9]+: //' <<<"$line")
		is_accepted "$name" "$complaint" || bad+=("$line")
	done <<<"$out"
	if [ ${#bad[@]} -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok - $name"
	else
		failed=$((failed + 1))
		echo "not ok - $name"
		printf "#   %s\n" "${bad[@]:0:10}"
	fi
done <"$TOP/kernel/patches/series"
echo "checkpatch: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
