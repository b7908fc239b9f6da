#!/usr/bin/env bash
# Build the patched arm64 kernel, its UAPI headers and the KVM selftests.
#
#   kernel.sh build [VARIANT]   cached build; prints the output directory
#   kernel.sh tree              prepare build/linux (base + series) only
#   kernel.sh config [VARIANT]  prepare the tree and configure it, no build
#   kernel.sh export            write kernel/patches/ from build/linux
#   kernel.sh key [VARIANT]     print the cache key
#   kernel.sh reset             throw away build/linux
#   kernel.sh bisect-check      build Image at every patch of the series
#
# VARIANT is "default" (kernel/config/kvmlock.config) or "debug" (plus
# kernel/config/debug.config). Outputs are cached in $CACHE/kernel/<key>,
# keyed by the Debian version, the series, the config and this script.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

# Overridable so the host tests can drive this script with their own inputs.
PATCHES=${KVMLOCK_PATCHES:-$TOP/kernel/patches}
CONFIG_DIR=${KVMLOCK_CONFIG_DIR:-$TOP/kernel/config}
SERIES=$PATCHES/series
TREE=$BUILD/linux
SELFTEST_LIST=$TOP/tests/vm/kvm-selftests.list
# Our own guest tests written against the tree's KVM selftest library.
OWN_SELFTESTS=$TOP/tests/guest/kselftest
# 0: do not build them (a kernel without the series cannot: make bench).
BUILD_OWN_SELFTESTS=${KVMLOCK_OWN_SELFTESTS:-1}
CROSS=aarch64-linux-gnu-
JOBS=${JOBS:-$(nproc)}
# ccache hits across clones: paths relative to $BUILD, directory not hashed.
export CCACHE_BASEDIR=$BUILD CCACHE_NOHASHDIR=1

series_patches() {
	[ -f "$SERIES" ] || return 0
	local p
	while read -r p; do
		case $p in '' | '#'*) continue ;; esac
		[ -f "$PATCHES/$p" ] || die "${SERIES#"$TOP"/} names $p, which does not exist"
		echo "$PATCHES/$p"
	done <"$SERIES"
}

config_fragments() {
	echo "$CONFIG_DIR/kvmlock.config"
	case $1 in
	default) ;;
	debug) echo "$CONFIG_DIR/debug.config" ;;
	*) die "unknown kernel variant '$1' (default or debug)" ;;
	esac
}

series_key() {
	local files
	mapfile -t files < <(series_patches)
	{
		debian_kernel_version
		hash_files "$SERIES" "${files[@]}" 2>/dev/null || true
	} | sha256sum | cut -c1-16
}

build_key() {
	local variant=$1 frags files own
	mapfile -t frags < <(config_fragments "$variant")
	mapfile -t files < <(series_patches)
	own=("$OWN_SELFTESTS"/*.[ch])
	[ "$BUILD_OWN_SELFTESTS" != 0 ] || own=()
	{
		echo "$variant"
		[ "$BUILD_OWN_SELFTESTS" != 0 ] || echo "without our own selftests"
		debian_kernel_version
		hash_files "$TOP/kernel/scripts/kernel.sh" "$SELFTEST_LIST" "${own[@]}" \
			"${frags[@]}" "${files[@]}"
		[ -f "$SERIES" ] && cat "$SERIES"
		true
	} | sha256sum | cut -c1-16
}

tree_git() {
	git -C "$TREE" -c user.name="kvmlock build" \
		-c user.email="kvmlock@localhost" "$@"
}

# Extract the tarball into $TREE and make it a git repo with one base commit.
extract_base() {
	local version
	version=$(debian_kernel_version)
	[ -f "$KSRC_TARBALL" ] || die "$KSRC_TARBALL missing (run: make deps)"
	note "extracting $KSRC_PKG $version into $TREE"
	rm -rf "$TREE" "$TREE.tmp"
	mkdir -p "$TREE.tmp"
	tar -xf "$KSRC_TARBALL" -C "$TREE.tmp" --strip-components=1
	# Debian's .gitignore ends with a block ignoring every top-level path
	# ("/*"), which would make git add silently skip new files.
	sed -i '/^# Debian packaging: ignore everything at the top level/,$d' \
		"$TREE.tmp/.gitignore"
	sed -i '${/^#$/d}' "$TREE.tmp/.gitignore"
	grep -qx '/\*' "$TREE.tmp/.gitignore" &&
		die "could not drop the top-level ignore block from .gitignore"
	mv "$TREE.tmp" "$TREE"
	git -C "$TREE" init -q
	# Fast zlib: the base commit stores ~80k files and is never sent anywhere.
	git -C "$TREE" config core.looseCompression 1
	git -C "$TREE" config gc.auto 0
	# --force: Debian's .gitignore ignores ".*" without upstream's
	# exceptions, which would leave out every .gitignore, .mailmap, ...
	tree_git add -A --force
	tree_git commit -q -m "Debian $KSRC_PKG $version" \
		-m "Base for the kvmlock series: the unmodified source of Debian's
$KSRC_PKG package, version $version, with the Debian block at the
end of .gitignore that ignores every top-level path removed."
	tree_git tag -f kvmlock-base >/dev/null
	echo "$version" >"$TREE/.git/kvmlock-debian-version"
}

state() { cat "$TREE/.git/kvmlock-$1" 2>/dev/null || true; }

# Bring $TREE to base + kernel/patches, refusing to throw away work.
prepare_tree() {
	local version want head p
	version=$(debian_kernel_version)
	if [ ! -d "$TREE/.git" ] || [ "$(state debian-version)" != "$version" ]; then
		extract_base
	fi
	want=$(series_key)
	head=$(tree_git rev-parse HEAD)
	if [ "$(state series)" = "$want" ] && [ "$(state head)" = "$head" ]; then
		return 0
	fi
	if [ -n "$(tree_git status --porcelain)" ]; then
		die "$TREE has uncommitted changes: commit them and run 'make kernel-export', or 'make kernel-reset' to discard"
	fi
	if [ "$head" != "$(tree_git rev-parse kvmlock-base)" ] &&
		[ "$head" != "$(state head)" ]; then
		die "$TREE has commits that are not in kernel/patches: run 'make kernel-export' first, or 'make kernel-reset' to discard them"
	fi
	tree_git reset -q --hard kvmlock-base
	while read -r p; do
		if ! tree_git am -q --keep-cr "$p" >/dev/null 2>&1; then
			tree_git am --abort >/dev/null 2>&1 || true
			tree_git reset -q --hard kvmlock-base
			rm -f "$TREE/.git/kvmlock-series" "$TREE/.git/kvmlock-head"
			die "patch does not apply: ${p#"$TOP"/}"
		fi
	done < <(series_patches)
	echo "$want" >"$TREE/.git/kvmlock-series"
	tree_git rev-parse HEAD >"$TREE/.git/kvmlock-head"
}

export_series() {
	local version
	[ -d "$TREE/.git" ] || die "no kernel tree at $TREE (run: make kernel)"
	if [ -n "$(tree_git status --porcelain)" ]; then
		die "$TREE has uncommitted changes: commit them first"
	fi
	rm -f "$PATCHES"/*.patch "$SERIES"
	mkdir -p "$PATCHES"
	# Unnumbered ("[PATCH]"): appending a patch leaves the files of the
	# others, and the kernel and benchmark caches keyed by them, as they are.
	tree_git format-patch -q --no-numbered --zero-commit --no-signature -o "$PATCHES" \
		kvmlock-base..HEAD
	(cd "$PATCHES" && ls -1 -- *.patch 2>/dev/null || true) >"$SERIES"
	version=$(debian_kernel_version)
	echo "$(series_key)" >"$TREE/.git/kvmlock-series"
	tree_git rev-parse HEAD >"$TREE/.git/kvmlock-head"
	note "exported $(wc -l <"$SERIES") patch(es) against Debian $KSRC_PKG $version"
}

kmake() {
	make -C "$TREE" O="$1" ARCH=arm64 CROSS_COMPILE=$CROSS \
		CC="ccache ${CROSS}gcc" -j"$JOBS" "${@:2}"
}

# allnoconfig + fragments, then fail naming every option that did not stick.
configure() {
	local out=$1 variant=$2 frags merged missing=() line sym val
	mapfile -t frags < <(config_fragments "$variant")
	merged=$out/kvmlock-fragment.config
	cat "${frags[@]}" >"$merged"
	KCONFIG_ALLCONFIG=$merged kmake "$out" -s allnoconfig
	while read -r line; do
		case $line in
		CONFIG_*=*)
			sym=${line%%=*}
			val=${line#*=}
			grep -qxF "$sym=$val" "$out/.config" || missing+=("$line")
			;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }
			sym=${sym%% *}
			grep -q "^$sym=" "$out/.config" && missing+=("$line")
			;;
		esac
	done <"$merged"
	if [ ${#missing[@]} -gt 0 ]; then
		echo "kernel config: these fragment options did not take effect:" >&2
		printf '  %s\n' "${missing[@]}" >&2
		exit 1
	fi
}

selftest_names() {
	awk '!/^[[:space:]]*(#|$)/ { print $1 }' "$SELFTEST_LIST"
}

# Build KVM selftests NAME... of the tree (static) into OUT/kselftest/kvm,
# against the UAPI headers installed in OUT/uapi.
make_selftests() {
	local out=$1 targets=() n
	shift
	for n in "$@"; do targets+=("$out/kselftest/kvm/$n"); done
	make -C "$TREE/tools/testing/selftests/kvm" -s -j"$JOBS" ARCH=arm64 \
		CROSS_COMPILE=$CROSS CC="ccache ${CROSS}gcc" \
		OUTPUT="$out/kselftest/kvm" KHDR_INCLUDES="-isystem $out/uapi/include" \
		EXTRA_CFLAGS=-static "${targets[@]}"
}

build_selftests() {
	local out=$1 dest=$2 names=() n
	mapfile -t names < <(selftest_names)
	make_selftests "$out" "${names[@]}"
	mkdir -p "$dest/selftests"
	for n in "${names[@]}"; do
		mkdir -p "$dest/selftests/$(dirname "$n")"
		cp "$out/kselftest/kvm/$n" "$dest/selftests/$n"
	done
}

# Link each tests/guest/kselftest/*.c with the KVM selftest library objects
# that build_selftests just built, using the same flags as the upstream tests.
build_own_selftests() {
	local out=$1 dest=$2 kst=$TREE/tools/testing/selftests src libs
	mapfile -t libs < <(find "$out/kselftest/kvm/lib" -name '*.o' | sort)
	mkdir -p "$dest/kselftest"
	for src in "$OWN_SELFTESTS"/*.c; do
		[ -e "$src" ] || continue
		ccache "${CROSS}gcc" -std=gnu99 -O2 -g -Wall -Wextra -Werror \
			-Wno-unused-parameter -U_FORTIFY_SOURCE -fno-stack-protector \
			-fno-PIE -no-pie -static \
			-I"$TREE/tools/include" -I"$TREE/tools/arch/arm64/include" \
			-isystem "$out/uapi/include" -I"$kst/kvm/include" \
			-I"$kst/kvm/include/aarch64" -I"$kst" \
			-o "$dest/kselftest/$(basename "$src" .c)" "$src" "${libs[@]}" \
			-pthread -ldl
	done
}

configure_only() {
	prepare_tree
	mkdir -p "$BUILD/kernel-$1"
	configure "$BUILD/kernel-$1" "$1"
}

do_build() {
	local variant=$1 key dest out tmp
	key=$(build_key "$variant")
	dest=$CACHE/kernel/$key
	if [ -f "$dest/done" ]; then
		echo "$dest"
		return 0
	fi
	# Only the result goes to stdout; build chatter goes to stderr.
	exec 3>&1 1>&2
	prepare_tree
	out=$BUILD/kernel-$variant
	mkdir -p "$out" "$CCACHE_DIR"
	export KBUILD_BUILD_USER=kvmlock KBUILD_BUILD_HOST=kvmlock
	configure "$out" "$variant"
	note "building arm64 Image ($variant, key $key)"
	kmake "$out" -s Image
	kmake "$out" -s headers_install INSTALL_HDR_PATH="$out/uapi"
	tmp=$dest.tmp.$$
	rm -rf "$tmp"
	mkdir -p "$tmp"
	build_selftests "$out" "$tmp"
	[ "$BUILD_OWN_SELFTESTS" = 0 ] || build_own_selftests "$out" "$tmp"
	cp "$out/arch/arm64/boot/Image" "$out/.config" "$out/System.map" "$tmp/"
	cp -a "$out/uapi" "$tmp/headers"
	tree_git log --format='%h %s' kvmlock-base~0^! HEAD >"$tmp/series.log"
	touch "$tmp/done"
	rm -rf "$dest"
	mv "$tmp" "$dest"
	echo "$dest" >&3
}

# Every patch must build on its own: build Image at each commit of the series
# (in a separate output directory), and the KVM selftests a commit changes,
# then return the tree to its branch.
bisect_check() {
	local out=$BUILD/kernel-bisect commits c n=0 branch tests
	prepare_tree
	mapfile -t commits < <(tree_git rev-list --reverse kvmlock-base..HEAD)
	branch=$(tree_git symbolic-ref -q --short HEAD || tree_git rev-parse HEAD)
	mkdir -p "$out"
	configure "$out" default
	for c in "${commits[@]}"; do
		n=$((n + 1))
		tree_git checkout -q "$c"
		if ! kmake "$out" -s Image; then
			tree_git checkout -q "$branch"
			die "patch $n does not build: $(tree_git log -1 --format=%s "$c")"
		fi
		mapfile -t tests < <(tree_git diff --name-only "$c^" "$c" -- \
			tools/testing/selftests/kvm | sed -n \
			's|^tools/testing/selftests/kvm/\([^/]*/\)\{0,1\}\([^/]*\)\.c$|\1\2|p' |
			grep -v '^lib/')
		if [ ${#tests[@]} -gt 0 ] &&
			! { kmake "$out" -s headers_install INSTALL_HDR_PATH="$out/uapi" &&
				make_selftests "$out" "${tests[@]}"; }; then
			tree_git checkout -q "$branch"
			die "patch $n: selftest ${tests[*]} does not build: $(tree_git log -1 --format=%s "$c")"
		fi
		note "patch $n builds${tests[*]:+ (and ${tests[*]})}: $(tree_git log -1 --format=%s "$c")"
	done
	tree_git checkout -q "$branch"
	note "all ${#commits[@]} patches build on their own"
}

cmd=${1:-build}
case $cmd in
build) with_lock kernel do_build "${2:-default}" ;;
tree) with_lock kernel prepare_tree ;;
config) with_lock kernel configure_only "${2:-default}" ;;
export) with_lock kernel export_series ;;
key) build_key "${2:-default}" ;;
reset) rm -rf "$TREE" "$BUILD"/kernel-* ;;
bisect-check) with_lock kernel bisect_check ;;
*) die "unknown command '$cmd'" ;;
esac
