#!/usr/bin/env bash
# Host tests of kernel/scripts/kernel.sh on a real extraction of Debian's
# linux-source-<base> (KERNEL_BASE), in a tree of its own ($KVMLOCK_CACHE/host-test/<base>/linux)
# and a cache of its own ($KVMLOCK_CACHE/host-test/cache):
#  - a series round-trips: commit in the tree, export, re-apply, export again
#    gives byte-identical patches;
#  - a patch that does not apply stops the tree and is named;
#  - work in the tree (uncommitted changes, unexported commits) is refused,
#    never built, never thrown away: with the series unchanged, on a cache
#    hit, and when the Debian version changes;
#  - a config fragment option that cannot be set stops and is named;
#  - a build fills the cache and a failed one leaves nothing there; an
#    interrupted bisect-check puts the tree back on its branch;
#  - a mutant is built with its diff on the whole series, and the tree
#    restored after.
# No kernel is compiled: make is a stand-in (below) everywhere except for
# the configuration test, which runs the real allnoconfig.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

KSH=$TOP/kernel/scripts/kernel.sh
# Extracting the tree takes kernel.sh about 40 s: the test works in the
# cache, where the tree stays for the next run, of this clone or another
# (a clean clone has no build/), one run at a time (the lock, held until
# this script exits). The tree is removed first when it was not extracted
# by this kernel.sh and lib.sh for this Debian version ($WORK/extracted-by,
# written once the extraction passed its checks), so that extract_base as
# it is now is what gets tested.
WORK=$CACHE/host-test
mkdir -p "$WORK"
exec 9>>"$WORK.lock"
if ! flock -n 9; then
	note "waiting for another test_kernel_script.sh (lock $WORK.lock)"
	flock 9
fi
extracted_by="$(hash_files "$KSH" "$TOP/scripts/lib.sh") $(debian_kernel_version)"
[ "$(cat "$WORK/extracted-by" 2>/dev/null)" = "$extracted_by" ] ||
	rm -rf "$WORK/$KERNEL_BASE/linux" "$WORK/$KERNEL_BASE/linux.tmp" "$WORK/extracted-by"
export BUILD=$WORK KVMLOCK_CACHE=$WORK/cache
TREE=$WORK/$KERNEL_BASE/linux
cache=$KVMLOCK_CACHE/kernel
. "$(dirname "$0")/lib.sh"
unset KVMLOCK_PATCHES KVMLOCK_CONFIG_DIR KVMLOCK_OWN_SELFTESTS

# A stand-in for make that builds nothing: allnoconfig writes the fragment's
# options to .config, Image and headers_install write placeholders (vmlinux
# an ELF file whose .BTF section says "btf"), KVM selftest targets become
# empty files. FAKE_MAKE=fail-selftests fails the
# selftests; FAKE_MAKE=term-on-image sends SIGTERM to its caller on Image.
mkdir -p "$tmp/bin"
cat >"$tmp/bin/make" <<'EOF'
#!/usr/bin/env bash
out= hdr= dir= targets=()
while [ $# -gt 0 ]; do
	case $1 in
	-C) shift; dir=$1 ;;
	O=* | OUTPUT=*) out=${1#*=} ;;
	INSTALL_HDR_PATH=*) hdr=${1#*=} ;;
	-* | *=*) ;;
	*) targets+=("$1") ;;
	esac
	shift
done
echo "${targets[*]}" >>"${FAKE_MAKE_LOG:-/dev/null}"
for t in "${targets[@]}"; do
	case $t in
	allnoconfig) grep '^CONFIG_' "$KCONFIG_ALLCONFIG" >"$out/.config" ;;
	Image)
		if [ "${FAKE_MAKE:-}" = term-on-image ]; then
			kill -TERM "$PPID"
			exit 2
		fi
		mkdir -p "$out/arch/arm64/boot"
		echo image >"$out/arch/arm64/boot/Image"
		# what the build saw of the tree: FAKE_MAKE_SEEN=FILE keeps it
		[ -z "${FAKE_MAKE_SEEN:-}" ] || cat "$dir/kvmlock-test.txt" >"$FAKE_MAKE_SEEN"
		echo map >"$out/System.map"
		printf btf >"$out/btf.bin"
		(cd "$out" && aarch64-linux-gnu-objcopy -I binary -O elf64-littleaarch64 \
			--rename-section .data=.BTF btf.bin vmlinux)
		;;
	headers_install) mkdir -p "$hdr/include/linux" && : >"$hdr/include/linux/kvm.h" ;;
	/*)
		[ "${FAKE_MAKE:-}" != fail-selftests ] || exit 2
		mkdir -p "$(dirname "$t")" && : >"$t"
		;;
	*) echo "fake make: unexpected target $t" >&2; exit 2 ;;
	esac
done
EOF
chmod +x "$tmp/bin/make"
printf '#!/bin/sh\necho "host test: ccache must not run here" >&2\nexit 99\n' >"$tmp/bin/ccache"
chmod +x "$tmp/bin/ccache"
real_path=$PATH
export PATH=$tmp/bin:$PATH

# A tree left dirty or with commits by an interrupted earlier run would make
# every case below refuse: start from its base, as kernel.sh left it.
if [ -d "$TREE/.git" ]; then
	git -C "$TREE" am --abort >/dev/null 2>&1
	git -C "$TREE" checkout -q -f master 2>/dev/null || git -C "$TREE" checkout -q -f main 2>/dev/null
	git -C "$TREE" reset -q --hard kvmlock-base && git -C "$TREE" clean -qfd
fi
rm -rf "$WORK/patches" "$WORK/patches2" "$KVMLOCK_CACHE" "$WORK/$KERNEL_BASE"/kernel-*
patches=$WORK/patches
mkdir -p "$patches"
: >"$patches/series"
ksh() { KVMLOCK_PATCHES=$patches "$KSH" "$@"; }

# An empty series gives the bare base tree.
if out=$(ksh tree 2>&1) &&
	[ "$(git -C "$TREE" rev-parse HEAD)" = "$(git -C "$TREE" rev-parse kvmlock-base)" ] &&
	git -C "$TREE" log -1 --format=%s | grep -q "^Debian $KSRC_PKG $(debian_kernel_version)$"; then
	ok "empty series: tree is the base commit naming the Debian version"
	echo "$extracted_by" >"$WORK/extracted-by"
else
	not_ok "empty series: tree is the base commit naming the Debian version" "$out"
fi
branch=$(git -C "$TREE" symbolic-ref --short HEAD)

# The Debian .gitignore block that hides new top-level files is gone.
mkdir -p "$TREE/kvmlock-probe"
echo probe >"$TREE/kvmlock-probe/file"
if git -C "$TREE" status --porcelain | grep -q kvmlock-probe; then
	ok "new top-level files are visible to git"
else
	not_ok "new top-level files are visible to git"
fi
rm -rf "$TREE/kvmlock-probe"

# Dot files (Debian's .gitignore ignores ".*") are in the base too.
if git -C "$TREE" ls-files --error-unmatch .gitignore .mailmap \
	tools/testing/selftests/kvm/.gitignore >/dev/null 2>&1; then
	ok "the base commit holds the tarball's dot files"
else
	not_ok "the base commit holds the tarball's dot files"
fi

# Round trip: a commit in the tree, exported, re-applied and re-exported.
printf '# kvmlock host test\n' >"$TREE/kvmlock-test.txt"
git -C "$TREE" add kvmlock-test.txt
git -C "$TREE" -c user.name=Test -c user.email=test@localhost \
	commit -q -m "test: add a file" -m "Round-trip test of kernel.sh."
printf 'KVM: test series\n\nWhat it does.\n' >"$WORK/cover-letter.txt"
ksh export >/dev/null 2>&1
first=$(cat "$patches"/*.patch 2>/dev/null)
expect "export writes the patch and the series file" \
	"0001-test-add-a-file.patch" "$(cat "$patches/series")"
expect "export: a commit of another identity is the project's, signed by it" \
	"From: kvmlock developers <dev@kvmlock.invalid>
Signed-off-by: kvmlock developers <dev@kvmlock.invalid>" \
	"$(grep -E '^(From|Signed-off-by): ' "$patches/0001-test-add-a-file.patch")"
expect "export: the cover letter from cover-letter.txt, by the project, not in the series" \
	"Subject: [PATCH 0/1] KVM: test series
What it does.
kvmlock developers (1):
1" \
	"$(grep -E '^Subject: |^What it does|^[^ ].* \([0-9]+\):$' "$patches/0000-cover-letter.patch" 2>&1; grep -c . "$patches/series")"
# Back to the bare base, as after a fresh extraction (which costs a minute).
git -C "$TREE" reset -q --hard kvmlock-base
if out=$(ksh tree 2>&1) &&
	[ -f "$TREE/kvmlock-test.txt" ] &&
	ksh export >/dev/null 2>&1 &&
	[ "$(cat "$patches"/*.patch)" = "$first" ]; then
	ok "the base tree re-applies the series and re-exports it identically"
else
	not_ok "the base tree re-applies the series and re-exports it identically" "$out"
fi
head=$(git -C "$TREE" rev-parse HEAD)

# A cache entry for the tree's series as it is, so that builds below hit.
key=$(KVMLOCK_OWN_SELFTESTS=0 ksh key)
mkdir -p "$cache/$key"
touch "$cache/$key/done"
expect "a clean tree: build is a cache hit" "$cache/$key" \
	"$(KVMLOCK_OWN_SELFTESTS=0 ksh build 2>/dev/null)"

# Uncommitted work, series unchanged: refused by tree and by build (a cache
# hit, and a miss, which must not build the edit into the cache).
echo "# local edit" >>"$TREE/Makefile"
expect_fail "uncommitted edit, series unchanged: tree refuses" \
	"uncommitted changes.*make kernel-export.*make kernel-reset" ksh tree
expect_fail "uncommitted edit: build refuses although the cache has the series" \
	"uncommitted changes" env KVMLOCK_OWN_SELFTESTS=0 KVMLOCK_PATCHES="$patches" "$KSH" build
expect_fail "uncommitted edit: a build that would miss the cache refuses too" \
	"uncommitted changes" ksh build
expect "nothing was built into the cache" "$key" "$(ls "$cache")"
if grep -q "# local edit" "$TREE/Makefile"; then
	ok "the uncommitted edit is still there"
else
	not_ok "the uncommitted edit is still there"
fi
git -C "$TREE" checkout -q Makefile
echo new >"$TREE/kvmlock-untracked.txt"
expect_fail "an untracked file counts as uncommitted work" "uncommitted changes" ksh tree
rm -f "$TREE/kvmlock-untracked.txt"

# Commits that were not exported: refused by tree, and by build on a hit.
git -C "$TREE" -c user.name=Test -c user.email=test@localhost \
	commit -q --allow-empty -m "test: unexported"
expect_fail "unexported commits: tree refuses" \
	"commits that are not in kernel/[0-9.]*/patches.*make kernel-export" ksh tree
expect_fail "unexported commits: build refuses although the cache has the series" \
	"commits that are not in kernel/[0-9.]*/patches" \
	env KVMLOCK_OWN_SELFTESTS=0 KVMLOCK_PATCHES="$patches" "$KSH" build
mkdir -p "$WORK/patches2"
: >"$WORK/patches2/series"
expect_fail "unexported commits: refused for another series too" \
	"commits that are not in kernel/[0-9.]*/patches" \
	env KVMLOCK_PATCHES="$WORK/patches2" "$KSH" tree
expect "the unexported commit is still there" "test: unexported" \
	"$(git -C "$TREE" log -1 --format=%s)"

# A new Debian version must not remove a tree holding work (which would be
# re-extracted): the tree is left as it is, with how to keep the work.
echo 6.1.0-older >"$TREE/.git/kvmlock-debian-version"
expect_fail "Debian version changed, unexported commits: tree refuses" \
	"commits that are not in kernel/[0-9.]*/patches.*refusing to replace it with Debian.*make kernel-export.*make kernel-reset" \
	ksh tree
git -C "$TREE" reset -q --hard HEAD~1
echo "# local edit" >>"$TREE/Makefile"
expect_fail "Debian version changed, uncommitted edit: build refuses" \
	"uncommitted changes" ksh build
if grep -q "# local edit" "$TREE/Makefile" && [ "$(git -C "$TREE" rev-parse HEAD)" = "$head" ]; then
	ok "the tree with its work is still there"
else
	not_ok "the tree with its work is still there"
fi
git -C "$TREE" checkout -q Makefile
debian_kernel_version >"$TREE/.git/kvmlock-debian-version"

# A build fills the cache (Image, the kernel's BTF, selftests of the list,
# the series log);
# a failed one leaves no part-built directory behind.
rm -rf "$cache"
if dir=$(KVMLOCK_OWN_SELFTESTS=0 ksh build 2>"$tmp/err") &&
	[ -f "$dir/done" ] && [ -f "$dir/Image" ] &&
	[ "$(cat "$dir/vmlinux.btf")" = btf ] &&
	[ -f "$dir/selftests/aarch64/memslot_lock_test" ] &&
	grep -q "test: add a file" "$dir/series.log"; then
	ok "a build fills its cache entry"
else
	not_ok "a build fills its cache entry" "$(cat "$tmp/err")"
fi
expect_fail "a build that fails in the selftests fails" "" \
	env FAKE_MAKE=fail-selftests KVMLOCK_PATCHES="$patches" "$KSH" build debug
expect "a failed build leaves nothing in the cache" "$(basename "${dir:-none}")" "$(ls "$cache")"
mkdir -p "$cache/feedfeedfeedfeed.tmp.1"
key=$(ksh key debug)
mkdir -p "$cache/$key.tmp.99999"
FAKE_MAKE=fail-selftests ksh build debug >/dev/null 2>&1
expect "a build removes what a killed build of its key left" "" \
	"$(cd "$cache" && ls -d "$key".tmp.* 2>/dev/null)"
rm -rf "$cache/feedfeedfeedfeed.tmp.1"

# bisect-check interrupted (SIGTERM while building a patch): the tree is
# back on its branch, at the series, and accepted by the next command.
FAKE_MAKE=term-on-image ksh bisect-check >/dev/null 2>&1
if [ "$(git -C "$TREE" symbolic-ref -q --short HEAD)" = "$branch" ] &&
	[ "$(git -C "$TREE" rev-parse HEAD)" = "$head" ] && ksh tree 2>/dev/null; then
	ok "an interrupted bisect-check puts the tree back on its branch"
else
	not_ok "an interrupted bisect-check puts the tree back on its branch" \
		"$(git -C "$TREE" status | head -3)"
	git -C "$TREE" checkout -q "$branch"
fi
if out=$(ksh bisect-check 2>&1) && grep -q "all 1 patches build on their own" <<<"$out" &&
	[ "$(git -C "$TREE" symbolic-ref -q --short HEAD)" = "$branch" ]; then
	ok "bisect-check builds each patch and returns to the branch"
else
	not_ok "bisect-check builds each patch and returns to the branch" "$out"
fi

# kernel.sh mutant: the Image built with a diff applied, beside the cached
# build's other files; the tree restored after, also when interrupted; a
# diff that does not apply, work in the tree and an unbuilt variant are
# refused.
cat >"$tmp/mutant.diff" <<'EOF2'
A mutant for the host test.

diff --git a/kvmlock-test.txt b/kvmlock-test.txt
--- a/kvmlock-test.txt
+++ b/kvmlock-test.txt
@@ -1 +1 @@
-# kvmlock host test
+# kvmlock host test, mutated
EOF2
mutant() { env KVMLOCK_OWN_SELFTESTS=0 KVMLOCK_PATCHES="$patches" "$KSH" mutant "$@"; }
if out=$(FAKE_MAKE_SEEN=$tmp/seen mutant default "$tmp/mutant.diff" "$tmp/mutant" 2>&1) &&
	[ "$(cat "$tmp/seen")" = "# kvmlock host test, mutated" ] &&
	[ "$(cat "$tmp/mutant/Image")" = image ] && [ -f "$tmp/mutant/series.log" ] &&
	grep -q "kvmlock-test.txt" "$tmp/mutant/mutant.diffstat"; then
	ok "mutant: the Image is built with the diff applied, with the cached files"
else
	not_ok "mutant: the Image is built with the diff applied, with the cached files" "$out"
fi
expect "mutant: the tree is restored after" "" "$(git -C "$TREE" status --porcelain)"
FAKE_MAKE=term-on-image mutant default "$tmp/mutant.diff" "$tmp/mutant" >/dev/null 2>&1
expect "mutant interrupted: the tree is restored" "" "$(git -C "$TREE" status --porcelain)"
sed 's/^-# kvmlock host test$/-# not this line/' "$tmp/mutant.diff" >"$tmp/stale.diff"
expect_fail "mutant: a diff that does not apply is named" "stale.diff does not apply" \
	mutant default "$tmp/stale.diff" "$tmp/mutant"
# Another target (make bench) may leave the tree at a part of the series:
# the mutant is built on the whole series all the same.
mkdir -p "$WORK/patches-none"
: >"$WORK/patches-none/series"
env KVMLOCK_PATCHES="$WORK/patches-none" "$KSH" tree >/dev/null 2>&1
rm -f "$tmp/seen"
if out=$(FAKE_MAKE_SEEN=$tmp/seen mutant default "$tmp/mutant.diff" "$tmp/mutant" 2>&1) &&
	[ "$(cat "$tmp/seen")" = "# kvmlock host test, mutated" ]; then
	ok "mutant: built on the whole series when the tree holds a part of it"
else
	not_ok "mutant: built on the whole series when the tree holds a part of it" "$out"
fi
echo "# local edit" >>"$TREE/Makefile"
expect_fail "mutant: work in the tree is refused" "uncommitted changes.*refusing to rebuild it from" \
	mutant default "$tmp/mutant.diff" "$tmp/mutant"
git -C "$TREE" checkout -q Makefile
expect_fail "mutant: a variant not built is refused" "the debug kernel is not built" \
	mutant debug "$tmp/mutant.diff" "$tmp/mutant"
expect_fail "mutant: no DEST is a usage error" "usage: kernel.sh mutant VARIANT DIFF DEST" \
	mutant default "$tmp/mutant.diff"

# A patch that does not apply stops the build and is named.
mkdir -p "$WORK/patches2"
cat >"$WORK/patches2/0001-broken.patch" <<'EOF'
From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: Test <test@localhost>
Date: Thu, 1 Jan 2026 00:00:00 +0000
Subject: [PATCH] test: a patch against text that is not there

---
 Makefile | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/Makefile b/Makefile
--- a/Makefile
+++ b/Makefile
@@ -1,3 +1,3 @@
 # this line is not in the kernel Makefile
-VERSION = 99
+VERSION = 100
 # neither is this one
EOF
echo 0001-broken.patch >"$WORK/patches2/series"
expect_fail "a patch that does not apply stops and is named" \
	"patch does not apply: .*0001-broken.patch" \
	env KVMLOCK_PATCHES="$WORK/patches2" "$KSH" build
if [ -z "$(git -C "$TREE" status --porcelain)" ] &&
	[ ! -d "$TREE/.git/rebase-apply" ]; then
	ok "a failed series leaves a clean tree"
else
	not_ok "a failed series leaves a clean tree"
fi

# A config option that cannot take effect stops the build and is named
# (the real make: kconfig only, no kernel is compiled).
cfg=$WORK/config
mkdir -p "$cfg"
cp "$TOP/kernel/config/kvmlock.config" "$cfg/kvmlock.config"
printf 'CONFIG_KVMLOCK_NO_SUCH_OPTION=y\n# CONFIG_SMP is not set\n' >>"$cfg/kvmlock.config"
# (arm64 forces SMP on, so asking for it off cannot take effect either.)
out=$(PATH=$real_path KVMLOCK_PATCHES=$patches KVMLOCK_CONFIG_DIR=$cfg "$KSH" config 2>&1)
rc=$?
want=$'  CONFIG_KVMLOCK_NO_SUCH_OPTION=y\n  # CONFIG_SMP is not set'
if [ "$rc" -ne 0 ] && grep -q "did not take effect" <<<"$out" &&
	[ "$(grep '^  ' <<<"$out")" = "$want" ]; then
	ok "exactly the fragment options that cannot be set are named"
else
	not_ok "exactly the fragment options that cannot be set are named (exit $rc)" "$out"
fi
# Every option of the real fragments takes effect (variants included).
# Each variant configures in an output directory of its own; kconfig's
# host programs, which the run above built in kernel-default (2 s each
# time), are the same in all of them: copied, with their times and
# kbuild's .cmd files, make finds them up to date.
for v in default $(cd "$TOP/kernel/config" && ls -- *.config | sed -n 's/\.config$//p' | grep -vx kvmlock); do
	if [ -d "$WORK/kernel-default/scripts/kconfig" ] && [ ! -e "$WORK/kernel-$v/scripts" ]; then
		mkdir -p "$WORK/kernel-$v" && cp -a "$WORK/kernel-default/scripts" "$WORK/kernel-$v/"
	fi
	check "every option of the $v variant's fragments takes effect" \
		env PATH="$real_path" KVMLOCK_PATCHES="$patches" "$KSH" config "$v"
done

finish kernel-script
