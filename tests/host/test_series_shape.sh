#!/usr/bin/env bash
# kernel/<base>/patches reads as a series for upstream review: a cover letter
# naming every patch; each patch from an upstream author (the RFC's) or from
# the project's one identity, signed last by the project, an RFC patch
# keeping its author's Signed-off-by and a bracketed note of our changes;
# commit messages that describe the change as it is (no references to other
# patches by number or position, to files outside the kernel tree, to our
# test bed or to review rounds). Fixtures first: each rule must catch
# its own mistake.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"

PROJECT=$PROJECT_IDENTITY
UPSTREAM=$UPSTREAM_AUTHORS
# Case-insensitive, in commit messages (not the cover letter).
FORBIDDEN='(next|previous|later|following|earlier|last) patch|\bpatch(es)? [0-9]|before this (change|patch)|\bTCG\b|make (check|bench)|\btests/|\bdocs/|kvmlock-top|\breview|\bv[0-9]+ of this'

# The message of a patch file: Subject to the "---" before the diffstat.
message() { awk '/^Subject: /{m=1} m && /^---$/{exit} m' "$1"; }

# Problems of the series in $1, one a line; nothing when it is in shape.
shape_problems() {
	local dir=$1 f name from msg sobs last subject count
	local -a listed=()
	[ -f "$dir/series" ] || { echo "no series file"; return; }
	while read -r name; do
		case $name in '' | '#'*) continue ;; esac
		listed+=("$name")
	done <"$dir/series"
	count=${#listed[@]}
	[ "$count" -gt 0 ] || { echo "empty series"; return; }
	f=$dir/0000-cover-letter.patch
	if [ ! -f "$f" ]; then
		echo "no 0000-cover-letter.patch"
	else
		grep -q "^Subject: \[PATCH 0*0/0*$count\] " "$f" ||
			echo "cover letter: subject not [PATCH 00/$count]"
		grep -q '\*\*\* .* HERE \*\*\*' "$f" && echo "cover letter: format-patch placeholder left"
	fi
	for name in "${listed[@]}"; do
		f=$dir/$name
		from=$(sed -n 's/^From: //p' "$f" | head -n 1)
		subject=$(sed -n 's/^Subject: \[PATCH[^]]*\] //p' "$f" | head -n 1)
		if [ -f "$dir/0000-cover-letter.patch" ] &&
			! grep -qF "  ${subject:0:40}" "$dir/0000-cover-letter.patch"; then
			echo "$name: not in the cover letter's shortlog"
		fi
		msg=$(message "$f")
		sobs=$(sed -n 's/^Signed-off-by: //p' <<<"$msg")
		[ -n "$sobs" ] || echo "$name: no Signed-off-by"
		last=$(tail -n 1 <<<"$sobs")
		[ "$last" = "$PROJECT" ] || echo "$name: last Signed-off-by is not $PROJECT"
		while read -r sob; do
			[ -n "$sob" ] || continue
			[ "$sob" = "$PROJECT" ] || [ "$sob" = "$UPSTREAM" ] ||
				echo "$name: Signed-off-by of an unknown identity: $sob"
		done <<<"$sobs"
		case $from in
		"$PROJECT") ;;
		"$UPSTREAM")
			grep -qxF "Signed-off-by: $UPSTREAM" <<<"$msg" ||
				echo "$name: the author's Signed-off-by is missing"
			awk -v up="Signed-off-by: $UPSTREAM" '
				$0 == up { s = 1; next }
				s == 1 && /^\[kvmlock: / { s = 2 }
				s == 2 && /\]$/ { s = 3 }
				END { exit s != 3 }' <<<"$msg" ||
				echo "$name: no [kvmlock: ...] note after the author's Signed-off-by"
			;;
		*) echo "$name: author is neither the project nor an upstream author: $from" ;;
		esac
		grep -inE "$FORBIDDEN" <<<"$msg" | sed "s|^|$name: message says: |"
	done
}

# A fixture: a patch file named $2 in $1 with author $3 and message body $4.
fixture_patch() {
	printf 'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nFrom: %s\nDate: Mon, 7 Dec 2026 00:00:00 +0000\nSubject: [PATCH] KVM: arm64: %s\n\n%s\n---\n a | 1 +\n' \
		"$3" "$2" "$4" >"$1/$2.patch"
	echo "$2.patch" >>"$1/series"
}

good_fixture() {
	rm -rf "$1"
	mkdir -p "$1"
	: >"$1/series"
	fixture_patch "$1" first "$UPSTREAM" "Lock memslots.

Signed-off-by: $UPSTREAM
[kvmlock: rebased on Linux 6.1]
Signed-off-by: $PROJECT"
	fixture_patch "$1" second "$PROJECT" "Trace them.

Signed-off-by: $PROJECT"
	printf 'From: %s\nSubject: [PATCH 00/02] KVM: arm64: Lock\n\n  KVM: arm64: first\n  KVM: arm64: second\n' \
		"$PROJECT" >"$1/0000-cover-letter.patch"
}

fx=$tmp/series
good_fixture "$fx"
expect "fixture: a series in shape has no problem" "" "$(shape_problems "$fx")"

bad() { # name, pattern, edit (sed script on the named file), file
	good_fixture "$fx"
	sed -i "$3" "$fx/$4"
	local out
	out=$(shape_problems "$fx")
	if grep -qE "$2" <<<"$out"; then
		ok "fixture: $1"
	else
		not_ok "fixture: $1" "$out"
	fi
}
bad "another identity as author" "second.patch: author is neither" \
	's/^From: .*/From: Some One <one@example.com>/' second.patch
bad "another identity signs" "Signed-off-by of an unknown identity" \
	"s/^Signed-off-by: $PROJECT/Signed-off-by: Some One <one@example.com>/" second.patch
bad "the project does not sign last" "second.patch: last Signed-off-by" \
	"/^Signed-off-by: /d" second.patch
bad "an RFC patch without the author's Signed-off-by" "first.patch: the author's Signed-off-by is missing" \
	"/^Signed-off-by: Alexandru/d" first.patch
bad "an RFC patch without the bracketed note" "first.patch: no \\[kvmlock" \
	"/^\\[kvmlock/d" first.patch
bad "a reference to a later patch" "second.patch: message says: .*the next patch" \
	's/^Trace them./Trace them; the next patch uses it./' second.patch
bad "a reference to a patch by number" "message says: .*patch 3" \
	's/^Trace them./Trace them, as patch 3 does./' second.patch
bad "TCG timings" "message says: .*TCG" \
	's/^Trace them./Trace them (5 ms under TCG)./' second.patch
bad "the test bed" "message says: .*make check" \
	's/^Trace them./Trace them; make check runs it./' second.patch
bad "a patch missing from the cover letter" "second.patch: not in the cover letter" \
	'/second/d' 0000-cover-letter.patch
bad "a cover letter counting another series" "subject not \\[PATCH 00/2\\]" \
	's/00\/02/00\/03/' 0000-cover-letter.patch
good_fixture "$fx"
rm "$fx/0000-cover-letter.patch"
out=$(shape_problems "$fx")
if grep -q "no 0000-cover-letter.patch" <<<"$out"; then
	ok "fixture: no cover letter"
else
	not_ok "fixture: no cover letter" "$out"
fi

for base in "${KERNEL_BASES[@]}"; do
	dir=$TOP/kernel/$base/patches
	[ -f "$dir/series" ] || continue
	problems=$(shape_problems "$dir")
	n=$(grep -cv '^#' "$dir/series")
	expect "kernel/$base/patches ($n patches) is in shape" "" "$problems"
done

finish series-shape
