#!/usr/bin/env bash
# Host tests of kernel/scripts/kernel.sh on a real extraction of Debian's
# linux-source-6.1, in a tree of its own (build/host-test/linux):
#  - a series round-trips: commit in the tree, export, re-apply, export again
#    gives byte-identical patches;
#  - a patch that does not apply stops the tree and is named;
#  - uncommitted work in the tree is never thrown away;
#  - a config fragment option that cannot be set stops and is named.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

KSH=$TOP/kernel/scripts/kernel.sh
WORK=$BUILD/host-test
export BUILD=$WORK
TREE=$WORK/linux
. "$(dirname "$0")/lib.sh"

mkdir -p "$WORK"
patches=$WORK/patches
rm -rf "$patches" "$WORK/patches2"
mkdir -p "$patches"
: >"$patches/series"

# An empty series gives the bare base tree.
if out=$(KVMLOCK_PATCHES=$patches "$KSH" tree 2>&1) &&
	[ "$(git -C "$TREE" rev-parse HEAD)" = "$(git -C "$TREE" rev-parse kvmlock-base)" ] &&
	git -C "$TREE" log -1 --format=%s | grep -q "^Debian linux-source-6.1 $(debian_kernel_version)$"; then
	ok "empty series: tree is the base commit naming the Debian version"
else
	not_ok "empty series: tree is the base commit naming the Debian version" "$out"
fi

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

# Uncommitted work is refused, not discarded.
echo "# local edit" >>"$TREE/Makefile"
printf 'x\n' >"$patches/dummy"
expect_fail "uncommitted changes in the tree are refused" "uncommitted changes" \
	env KVMLOCK_PATCHES="$WORK/patches2" "$KSH" tree
if grep -q "# local edit" "$TREE/Makefile"; then
	ok "the uncommitted edit is still there"
else
	not_ok "the uncommitted edit is still there"
fi
git -C "$TREE" checkout -q Makefile
rm -f "$patches/dummy"

# Round trip: a commit in the tree, exported, re-applied and re-exported.
printf '# kvmlock host test\n' >"$TREE/kvmlock-test.txt"
git -C "$TREE" add kvmlock-test.txt
git -C "$TREE" -c user.name=Test -c user.email=test@localhost \
	commit -q -m "test: add a file" -m "Round-trip test of kernel.sh."
KVMLOCK_PATCHES=$patches "$KSH" export >/dev/null 2>&1
first=$(cat "$patches"/*.patch 2>/dev/null)
if [ "$(cat "$patches/series")" = "0001-test-add-a-file.patch" ]; then
	ok "export writes the patch and the series file"
else
	not_ok "export writes the patch and the series file" "$(ls "$patches")"
fi
# Back to the bare base, as after a fresh extraction (which costs a minute).
git -C "$TREE" reset -q --hard kvmlock-base
if out=$(KVMLOCK_PATCHES=$patches "$KSH" tree 2>&1) &&
	[ -f "$TREE/kvmlock-test.txt" ] &&
	KVMLOCK_PATCHES=$patches "$KSH" export >/dev/null 2>&1 &&
	[ "$(cat "$patches"/*.patch)" = "$first" ]; then
	ok "the base tree re-applies the series and re-exports it identically"
else
	not_ok "the base tree re-applies the series and re-exports it identically" "$out"
fi

# Commits that were not exported are refused.
git -C "$TREE" -c user.name=Test -c user.email=test@localhost \
	commit -q --allow-empty -m "test: unexported"
mkdir -p "$WORK/patches2"
: >"$WORK/patches2/series"
expect_fail "unexported commits in the tree are refused" "not in kernel/patches|not in .*patches" \
	env KVMLOCK_PATCHES="$WORK/patches2" "$KSH" tree
git -C "$TREE" reset -q --hard HEAD~1

# A patch that does not apply stops the build and is named.
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

# A config option that cannot take effect stops the build and is named.
cfg=$WORK/config
mkdir -p "$cfg"
cp "$TOP/kernel/config/kvmlock.config" "$cfg/kvmlock.config"
printf 'CONFIG_KVMLOCK_NO_SUCH_OPTION=y\n# CONFIG_SMP is not set\n' >>"$cfg/kvmlock.config"
# (arm64 forces SMP on, so asking for it off cannot take effect either.)
out=$(KVMLOCK_PATCHES=$patches KVMLOCK_CONFIG_DIR=$cfg "$KSH" config 2>&1)
rc=$?
want=$'  CONFIG_KVMLOCK_NO_SUCH_OPTION=y\n  # CONFIG_SMP is not set'
if [ "$rc" -ne 0 ] && grep -q "did not take effect" <<<"$out" &&
	[ "$(grep '^  ' <<<"$out")" = "$want" ]; then
	ok "exactly the fragment options that cannot be set are named"
else
	not_ok "exactly the fragment options that cannot be set are named (exit $rc)" "$out"
fi

finish kernel-script
