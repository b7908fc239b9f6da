#!/usr/bin/env bash
# Host tests of kernel/scripts/kernel.sh that need no kernel tree (fast):
#  - the cache key is the same in any clone, changes with what the build is
#    made of (patches, series, config fragments, the selftests built, our
#    guest programs, the build scripts) and not with anything else (docs,
#    other test lists, a selftest's timeout or arguments);
#  - an unknown variant, a series line naming a missing patch and a patch
#    the series does not name fail before anything is built, cached or
#    extracted; a new variant works as soon as its fragment exists.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"

# A copy of the clone (its files as they are now), in which we edit inputs.
copy=$tmp/top
mkdir -p "$copy"
(cd "$TOP" && git ls-files -z --cached --others --exclude-standard |
	xargs -0 cp --parents -t "$copy" 2>/dev/null)
export BUILD=$tmp/build KVMLOCK_CACHE=$tmp/cache
unset KVMLOCK_PATCHES KVMLOCK_CONFIG_DIR KVMLOCK_OWN_SELFTESTS
# Nothing here may extract or build: should kernel.sh go on where it must
# stop, these stand-ins fail at once instead of building a kernel.
mkdir -p "$tmp/stubs"
for c in make ccache tar; do
	printf '#!/bin/sh\necho "host test: %s must not run here" >&2\nexit 99\n' "$c" \
		>"$tmp/stubs/$c"
	chmod +x "$tmp/stubs/$c"
done
export PATH=$tmp/stubs:$PATH

key() { # [variant]: the key the copy's kernel.sh gives
	TOP=$copy "$copy/kernel/scripts/kernel.sh" key "$@" 2>&1
}

base=$(key)
expect "the key is 16 hex digits" 1 "$(grep -cxE '[0-9a-f]{16}' <<<"$base")"
other=$(KERNEL_BASE=6.1 key)
if grep -qxE '[0-9a-f]{16}' <<<"$other" && [ "$other" != "$base" ]; then
	ok "KERNEL_BASE=6.1 gives another key than the default, 6.12"
else
	not_ok "KERNEL_BASE=6.1 gives another key than the default, 6.12" "$base / $other"
fi
expect_fail "an unknown KERNEL_BASE stops at once, naming the bases" \
	"KERNEL_BASE=5.10: the bases are 6.1 6.12" env KERNEL_BASE=5.10 TOP="$copy" "$copy/kernel/scripts/kernel.sh" key
expect "a copy of the clone has the same key (nothing machine-specific)" \
	"$(env TOP="$TOP" "$TOP/kernel/scripts/kernel.sh" key 2>&1)" "$base"

# changes KEY-WANTED DESCRIPTION: run the edit commands on stdin in $copy,
# compare the key, then restore the copy.
changes() {
	local want=$1 what=$2 now
	cp -a "$copy" "$tmp/saved"
	(cd "$copy" && bash -e) || not_ok "$what: the edit itself failed"
	now=$(key)
	if [ "$want" = yes ]; then
		if [ "$now" != "$base" ] && grep -qxE '[0-9a-f]{16}' <<<"$now"; then
			ok "the key changes: $what"
		else
			not_ok "the key changes: $what" "$now"
		fi
	else
		expect "the key does not change: $what" "$base" "$now"
	fi
	rm -rf "$copy"
	mv "$tmp/saved" "$copy"
}

first_patch=$(grep -m1 -v '^#' "$copy/kernel/$KERNEL_BASE/patches/series")
changes yes "a patch's text" <<EOF
sed -i '1,/^Subject:/s/^Subject: .*/&x/' kernel/$KERNEL_BASE/patches/$first_patch
EOF
changes yes "the series (a patch dropped)" <<EOF
sed -i '\$d' kernel/$KERNEL_BASE/patches/series
rm -f kernel/$KERNEL_BASE/patches/$(tail -n 1 "$copy/kernel/$KERNEL_BASE/patches/series")
EOF
changes yes "kvmlock.config" <<'EOF'
echo CONFIG_DEBUG_LIST=y >>kernel/config/kvmlock.config
EOF
list=tests/vm/kvm-selftests-$KERNEL_BASE.list
changes yes "a selftest added to ${list##*/}" <<EOF
echo "aarch64/arch_timer 60 selftests/aarch64/arch_timer" >>$list
EOF
changes yes "one of our guest programs (tests/guest/kselftest)" <<'EOF'
echo '/* edit */' >>tests/guest/kselftest/kvm_smoke_test.c
EOF
changes yes "kernel.sh" <<'EOF'
echo '# edit' >>kernel/scripts/kernel.sh
EOF
changes yes "scripts/lib.sh" <<'EOF'
echo '# edit' >>scripts/lib.sh
EOF
changes no "docs" <<'EOF'
echo edit >>docs/testing.md
echo edit >>README.md
EOF
changes no "a comment, a timeout and the arguments in ${list##*/}" <<EOF
echo '# a comment' >>$list
sed -i -E 's/^(kvm_create_max_vcpus) [0-9]+/\\1 61/; s/^(memslot_modification_stress_test [0-9]+ .*) -i 100/\\1 -i 99/' \\
	$list
grep -q '^kvm_create_max_vcpus 61' $list
EOF
changes no "the other test lists and guest scripts" <<'EOF'
echo 'x 1 sh scripts/x.sh' >>tests/vm/guest-tests.list
echo '# edit' >>tests/guest/trace_events.sh
EOF
changes no "debug.config, for the default variant" <<'EOF'
echo CONFIG_DEBUG_LIST=y >>kernel/config/debug.config
EOF

# Variants: default and one per fragment; a new fragment is a new variant.
debug=$(key debug)
if grep -qxE '[0-9a-f]{16}' <<<"$debug" && [ "$debug" != "$base" ]; then
	ok "the debug variant has a key of its own"
else
	not_ok "the debug variant has a key of its own" "$debug"
fi
# Only the two fragments the expectations name, whatever the clone has.
find "$copy/kernel/config" -name '*.config' ! -name kvmlock.config \
	! -name debug.config -delete
out=$(key degub)
expect "an unknown variant fails, naming the variants there are" \
	"kernel.sh: error: unknown kernel variant 'degub' (there are: default debug)" "$out"
expect_fail "kvmlock is not a variant" "unknown kernel variant 'kvmlock'" key kvmlock
echo CONFIG_KASAN=y >"$copy/kernel/config/kasan.config"
kasan=$(key kasan)
if grep -qxE '[0-9a-f]{16}' <<<"$kasan" && [ "$kasan" != "$base" ]; then
	ok "a variant works as soon as its fragment exists (kasan.config)"
else
	not_ok "a variant works as soon as its fragment exists (kasan.config)" "$kasan"
fi
expect "the default key does not depend on other fragments" "$base" "$(key)"
rm "$copy/kernel/config/kasan.config"

# Unknown variant, bad series: build fails first, builds and caches nothing.
nothing_made() { # what
	if [ ! -e "$BUILD" ] && [ ! -e "$KVMLOCK_CACHE" ]; then
		ok "$1: nothing built, extracted or cached"
	else
		not_ok "$1: nothing built, extracted or cached" "$(find "$BUILD" "$KVMLOCK_CACHE" -maxdepth 2 2>/dev/null)"
	fi
}
expect_fail "build of an unknown variant fails" "unknown kernel variant 'degub'" \
	env TOP="$copy" "$copy/kernel/scripts/kernel.sh" build degub
nothing_made "unknown variant"

echo "0099-no-such.patch" >>"$copy/kernel/$KERNEL_BASE/patches/series"
for c in build tree key; do
	expect_fail "$c: a series line naming a missing patch fails, naming it" \
		"series names 0099-no-such.patch, which does not exist" \
		env TOP="$copy" "$copy/kernel/scripts/kernel.sh" "$c"
done
nothing_made "missing patch"
sed -i '$d' "$copy/kernel/$KERNEL_BASE/patches/series"

cp "$copy/kernel/$KERNEL_BASE/patches/$first_patch" "$copy/kernel/$KERNEL_BASE/patches/0099-unlisted.patch"
expect_fail "a patch the series does not name fails, naming it" \
	"kernel/$KERNEL_BASE/patches/0099-unlisted.patch is not in kernel/$KERNEL_BASE/patches/series" \
	env TOP="$copy" "$copy/kernel/scripts/kernel.sh" build
nothing_made "unlisted patch"
rm "$copy/kernel/$KERNEL_BASE/patches/0099-unlisted.patch"

rm "$copy/kernel/$KERNEL_BASE/patches/series"
expect_fail "no series file fails" "no series file kernel/$KERNEL_BASE/patches/series" \
	env TOP="$copy" "$copy/kernel/scripts/kernel.sh" build
nothing_made "no series file"

finish kernel-key
