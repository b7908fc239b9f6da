#!/usr/bin/env bash
# Build the patched arm64 kernel, its UAPI headers and the KVM selftests.
#
#   kernel.sh build [VARIANT]   cached build; prints the output directory
#   kernel.sh tree              prepare build/<base>/linux (base + series) only
#   kernel.sh config [VARIANT]  prepare the tree and configure it, no build
#   kernel.sh export            write kernel/<base>/patches/ from build/<base>/linux
#   kernel.sh key [VARIANT]     print the cache key
#   kernel.sh reset             throw away build/<base>/linux
#   kernel.sh bisect-check      build Image at every patch of the series
#   kernel.sh mutant VARIANT DIFF DEST
#                               that Image with DIFF applied, in DEST (make mutants)
#
# VARIANT "default" is kernel/config/kvmlock.config alone; any other VARIANT v
# adds kernel/config/v.config (debug: lockdep and friends). Outputs are cached
# in $CACHE/kernel/<key>, keyed by the base, the Debian version, the
# toolchain, the series, the config, the selftests built and the scripts
# (build_key). KERNEL_BASE (6.1 or 6.12, scripts/lib.sh) chooses the base
# and its series, kernel/<base>/patches.
#
# build/<base>/linux holds the series as commits. Every command that would
# rewrite it, and every build (a cache hit too), first refuses when it holds
# work that is not in kernel/<base>/patches: uncommitted changes, or commits
# made after kernel.sh last applied or exported the series.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

# Overridable so the host tests can drive this script with their own inputs.
PATCHES=${KVMLOCK_PATCHES:-$TOP/kernel/$KERNEL_BASE/patches}
CONFIG_DIR=${KVMLOCK_CONFIG_DIR:-$TOP/kernel/config}
SERIES=$PATCHES/series
# Not part of the series: written by export from cover-letter.txt beside
# the patches folder.
COVER_LETTER=0000-cover-letter.patch
COVER_TEMPLATE=$(dirname "$PATCHES")/cover-letter.txt
TREE=$KBUILD/linux
SELFTEST_LIST=$(kvm_selftest_list "$KERNEL_BASE")
# Our own guest tests written against the tree's KVM selftest library.
OWN_SELFTESTS=$TOP/tests/guest/kselftest
# 0: do not build them (a kernel without the series cannot: make bench).
BUILD_OWN_SELFTESTS=${KVMLOCK_OWN_SELFTESTS:-1}
CROSS=aarch64-linux-gnu-
JOBS=${JOBS:-$(nproc)}
# ccache hits across clones: paths relative to $BUILD, directory not hashed.
export CCACHE_BASEDIR=$BUILD CCACHE_NOHASHDIR=1

# The lists below are loaded by functions run in this shell, never inside
# $(...) or <(...), where die would end only a subshell and the caller would
# go on with a partial list.

# SERIES_FILES: the patches of $SERIES, in order. Fails closed: no series
# file, a line naming a missing patch, or a patch the series does not name.
load_series() {
	local p f listed
	SERIES_FILES=()
	[ -f "$SERIES" ] || die "no series file ${SERIES#"$TOP"/}"
	while read -r p || [ -n "$p" ]; do
		case $p in '' | '#'*) continue ;; esac
		[ -f "$PATCHES/$p" ] || die "${SERIES#"$TOP"/} names $p, which does not exist"
		SERIES_FILES+=("$PATCHES/$p")
	done <"$SERIES"
	for f in "$PATCHES"/*.patch; do
		[ -e "$f" ] || continue
		[ "${f##*/}" != "$COVER_LETTER" ] || continue
		listed=0
		for p in "${SERIES_FILES[@]}"; do [ "$p" != "$f" ] || listed=1; done
		[ "$listed" = 1 ] || die "${f#"$TOP"/} is not in ${SERIES#"$TOP"/}"
	done
}

# The variants there are: default and one per fragment besides kvmlock.config.
variants() {
	local f names=(default)
	for f in "$CONFIG_DIR"/*.config; do
		[ -e "$f" ] || continue
		f=${f##*/}
		[ "$f" = kvmlock.config ] || names+=("${f%.config}")
	done
	echo "${names[*]}"
}

# FRAGMENTS: the config fragments of variant $1, or die naming the variants.
load_variant() {
	local v=$1
	[ -f "$CONFIG_DIR/kvmlock.config" ] || die "no ${CONFIG_DIR#"$TOP"/}/kvmlock.config"
	FRAGMENTS=("$CONFIG_DIR/kvmlock.config")
	case $v in
	default) return 0 ;;
	kvmlock | *[!A-Za-z0-9_-]* | '') ;;
	*)
		if [ -f "$CONFIG_DIR/$v.config" ]; then
			FRAGMENTS+=("$CONFIG_DIR/$v.config")
			return 0
		fi
		;;
	esac
	die "unknown kernel variant '$v' (there are: $(variants))"
}

# SELFTESTS: the upstream KVM selftests that $SELFTEST_LIST runs: the paths
# (under tools/testing/selftests/kvm) of its selftests/<path> commands.
load_selftests() {
	local i cmd
	SELFTESTS=()
	load_test_list "$SELFTEST_LIST"
	for i in "${!TL_CMD[@]}"; do
		cmd=${TL_CMD[i]%%[[:space:]]*}
		case $cmd in
		selftests/?*) SELFTESTS+=("${cmd#selftests/}") ;;
		*) die "${SELFTEST_LIST#"$TOP"/}: ${TL_NAME[i]}: the command must be selftests/<path>" ;;
		esac
	done
}

# OWN: our guest programs built with the kernel (none with KVMLOCK_OWN_SELFTESTS=0).
load_own() {
	local f
	OWN=()
	[ "$BUILD_OWN_SELFTESTS" != 0 ] || return 0
	for f in "$OWN_SELFTESTS"/*.[ch]; do
		[ -e "$f" ] && OWN+=("$f")
	done
	return 0
}

# The toolchain shapes Image and its BTF: its versions are in the key.
load_toolchain() {
	local gcc pahole
	gcc=$("${CROSS}gcc" --version) || die "${CROSS}gcc does not run (run: make deps)"
	pahole=$(pahole --version) || die "pahole does not run (run: make deps)"
	TOOLCHAIN="${gcc%%$'\n'*}, pahole $pahole"
}

series_key() {
	{
		echo "$KVER"
		hash_files "$SERIES" "${SERIES_FILES[@]}"
	} | sha256sum | cut -c1-16
}

# What a build is made of: the variant and its fragments, the Debian version,
# the toolchain, the series, the selftests built (names: their timeouts and
# arguments do not change the build) and the scripts that build them.
build_key() {
	local variant=$1
	{
		echo "$variant"
		echo "base $KERNEL_BASE"
		[ "$BUILD_OWN_SELFTESTS" != 0 ] || echo "without our own selftests"
		echo "$KVER"
		echo "$TOOLCHAIN"
		printf 'selftest %s\n' "${SELFTESTS[@]}"
		hash_files "$TOP/kernel/scripts/kernel.sh" "$TOP/scripts/lib.sh" "${OWN[@]}" \
			"${FRAGMENTS[@]}" "$SERIES" "${SERIES_FILES[@]}"
	} | sha256sum | cut -c1-16
}

tree_git() {
	git -C "$TREE" -c user.name="kvmlock build" \
		-c user.email="kvmlock@localhost" "$@"
}

state() { cat "$TREE/.git/kvmlock-$1" 2>/dev/null || true; }

# Die when $TREE holds work that exists nowhere else: uncommitted changes
# (untracked files included), or commits after the last series kernel.sh
# applied or exported (HEAD is neither the base nor that commit). $1 says
# what was about to happen.
refuse_tree_work() {
	local doing=$1 dirty head base
	[ -e "$TREE" ] || return 0
	[ -d "$TREE/.git" ] || die "$TREE is not a git tree: move it away, or 'make kernel-reset' to discard it"
	dirty=$(tree_git status --porcelain) || die "cannot read the state of $TREE"
	if [ -n "$dirty" ]; then
		die "$TREE has uncommitted changes, which kernel/$KERNEL_BASE/patches does not have; refusing to $doing. Commit them and run 'make kernel-export', or run 'make kernel-reset' to discard them"
	fi
	head=$(tree_git rev-parse -q --verify HEAD) || die "$TREE has no HEAD: 'make kernel-reset' to discard it"
	base=$(tree_git rev-parse -q --verify kvmlock-base) ||
		die "$TREE has no kvmlock-base tag: 'make kernel-reset' to discard it"
	if [ "$head" != "$base" ] && [ "$head" != "$(state head)" ]; then
		die "$TREE has commits that are not in kernel/$KERNEL_BASE/patches; refusing to $doing. Run 'make kernel-export' first, or 'make kernel-reset' to discard them"
	fi
}

# Extract the tarball into $TREE and make it a git repo with one base commit.
extract_base() {
	refuse_tree_work "replace it with Debian $KSRC_PKG $KVER"
	[ -f "$KSRC_TARBALL" ] || die "$KSRC_TARBALL missing (run: make deps)"
	note "extracting $KSRC_PKG $KVER into $TREE"
	rm -rf "$TREE" "$TREE.tmp"
	mkdir -p "$TREE.tmp"
	tar -xf "$KSRC_TARBALL" -C "$TREE.tmp" --strip-components=1
	# Debian's .gitignore ends with a block ignoring every top-level path
	# ("/*"), which would make git add silently skip new files.
	sed -i '/^# Debian packaging: ignore everything at the top level/,$d' \
		"$TREE.tmp/.gitignore"
	sed -i '${/^#$/d}' "$TREE.tmp/.gitignore"
	if grep -qx '/\*' "$TREE.tmp/.gitignore"; then
		die "could not drop the top-level ignore block from .gitignore"
	fi
	mv "$TREE.tmp" "$TREE"
	git -C "$TREE" init -q
	# Fast zlib: the base commit stores ~80k files and is never sent anywhere.
	git -C "$TREE" config core.looseCompression 1
	git -C "$TREE" config gc.auto 0
	# --force: Debian's .gitignore ignores ".*" without upstream's
	# exceptions, which would leave out every .gitignore, .mailmap, ...
	tree_git add -A --force
	tree_git commit -q -m "Debian $KSRC_PKG $KVER" \
		-m "Base for the kvmlock series: the unmodified source of Debian's
$KSRC_PKG package, version $KVER, with the Debian block at the
end of .gitignore that ignores every top-level path removed."
	tree_git tag -f kvmlock-base >/dev/null
	echo "$KVER" >"$TREE/.git/kvmlock-debian-version"
}

# Bring $TREE to base + the series, refusing to throw away work.
prepare_tree() {
	local want head p
	if [ ! -e "$TREE" ]; then
		extract_base
	elif [ "$(state debian-version)" != "$KVER" ]; then
		refuse_tree_work "replace it with Debian $KSRC_PKG $KVER (the tree has ${KSRC_PKG} $(state debian-version))"
		note "Debian $KSRC_PKG is now $KVER (the tree has $(state debian-version))"
		extract_base
	fi
	refuse_tree_work "rebuild it from ${SERIES#"$TOP"/}"
	want=$(series_key)
	head=$(tree_git rev-parse HEAD)
	if [ "$(state series)" = "$want" ] && [ "$(state head)" = "$head" ]; then
		return 0
	fi
	tree_git reset -q --hard kvmlock-base
	for p in "${SERIES_FILES[@]}"; do
		if ! tree_git am -q --keep-cr "$p" >/dev/null 2>&1; then
			tree_git am --abort >/dev/null 2>&1 || true
			tree_git reset -q --hard kvmlock-base
			rm -f "$TREE/.git/kvmlock-series" "$TREE/.git/kvmlock-head"
			die "patch does not apply: ${p#"$TOP"/}"
		fi
	done
	echo "$want" >"$TREE/.git/kvmlock-series"
	tree_git rev-parse HEAD >"$TREE/.git/kvmlock-head"
}

export_series() {
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
	local f
	for f in "$PATCHES"/*.patch; do
		[ -e "$f" ] || continue
		set_identity "$f"
	done
	load_series
	write_cover_letter
	series_key >"$TREE/.git/kvmlock-series"
	tree_git rev-parse HEAD >"$TREE/.git/kvmlock-head"
	note "exported ${#SERIES_FILES[@]} patch(es) against Debian $KSRC_PKG $(state debian-version)"
}

# From: and Signed-off-by: of anyone but an upstream author become the
# project's identity, which signs every patch last.
set_identity() {
	awk -v us="$PROJECT_IDENTITY" -v upstream="$UPSTREAM_AUTHORS" '
	function known(id,   n, a, i) {
		if (id == us)
			return 1
		n = split(upstream, a, "|")
		for (i = 1; i <= n; i++)
			if (id == a[i])
				return 1
		return 0
	}
	function flush(   i, last, out, prev) {
		last = 0
		for (i = 1; i <= nb; i++)
			if (b[i] ~ /^Signed-off-by: /)
				last = i
		if (last == 0 || b[last] != "Signed-off-by: " us) {
			if (last == 0) {
				while (nb > 0 && b[nb] == "")
					nb--
				b[++nb] = ""
				last = nb
			}
			for (i = nb; i > last; i--)
				b[i + 1] = b[i]
			b[last + 1] = "Signed-off-by: " us
			nb++
		}
		prev = ""
		for (i = 1; i <= nb; i++) {
			if (b[i] ~ /^Signed-off-by: / && b[i] == prev)
				continue
			print b[i]
			prev = b[i]
		}
	}
	state == 0 && /^From: / {
		if (!known(substr($0, 7)))
			$0 = "From: " us
	}
	state == 0 && /^$/ { state = 1; print; next }
	state == 1 && $0 == "---" { flush(); state = 2 }
	state == 1 {
		if (/^Signed-off-by: / && !known(substr($0, 16)))
			$0 = "Signed-off-by: " us
		b[++nb] = $0
		next
	}
	{ print }
	' "$1" >"$1.tmp" && mv "$1.tmp" "$1"
}

# 0000-cover-letter.patch: format-patch's cover letter (shortlog, diffstat)
# with the subject and text of cover-letter.txt, from our identity, dated
# like the newest patch so that an export is reproducible.
write_cover_letter() {
	local tmp newest
	rm -f "$PATCHES/$COVER_LETTER"
	[ -f "$COVER_TEMPLATE" ] || return 0
	[ "${#SERIES_FILES[@]}" -gt 0 ] || return 0
	tmp=$(mktemp -d)
	tree_git format-patch -q --cover-letter --numbered --zero-commit --no-signature \
		-o "$tmp" kvmlock-base..HEAD
	newest=$(tree_git log --format=%at kvmlock-base..HEAD | sort -n | tail -n 1)
	# The shortlog names the commits' authors: those that are not upstream
	# become the project, as set_identity() makes them in the patches.
	awk -v tpl="$COVER_TEMPLATE" -v us="$PROJECT_IDENTITY" \
		-v upstream="$UPSTREAM_AUTHORS" \
		-v date="$(LC_ALL=C date -u -R -d "@$newest")" '
	function name(id) { sub(/ <.*/, "", id); return id }
	function flush_shortlog(   i, n) {
		for (i = 1; i <= ngroups; i++) {
			n = groups[i]
			printf "%s (%d):\n%s\n\n", n, count[n], lines[n]
		}
		ngroups = 0
	}
	BEGIN {
		getline subject <tpl
		while ((getline line <tpl) > 0)
			blurb = blurb line "\n"
		sub(/^\n+/, "", blurb)
		sub(/\n+$/, "", blurb)
		n = split(upstream, a, "|")
		for (i = 1; i <= n; i++)
			known[name(a[i])] = 1
		project = name(us)
	}
	/^From: / && !done_from { $0 = "From: " us; done_from = 1 }
	/^Date: / && !done_date { $0 = "Date: " date; done_date = 1 }
	{ sub(/\*\*\* SUBJECT HERE \*\*\*/, subject) }
	$0 == "*** BLURB HERE ***" { print blurb; blurb_done = 1; next }
	blurb_done && !shortlog_done && /^[^ ].* \([0-9]+\):$/ {
		author = $0
		sub(/ \([0-9]+\):$/, "", author)
		if (!(author in known))
			author = project
		if (!(author in count))
			groups[++ngroups] = author
		in_group = 1
		next
	}
	in_group && /^  / {
		lines[author] = lines[author] (lines[author] == "" ? "" : "\n") $0
		if ($0 !~ /^    /)
			count[author]++
		next
	}
	in_group && /^$/ { in_group = 0; next }
	ngroups && !in_group { flush_shortlog(); shortlog_done = 1 }
	{ print }
	' "$tmp/$COVER_LETTER" >"$PATCHES/$COVER_LETTER"
	rm -rf "$tmp"
}

kmake() {
	make -C "$TREE" O="$1" ARCH=arm64 CROSS_COMPILE=$CROSS \
		CC="ccache ${CROSS}gcc" -j"$JOBS" "${@:2}"
}

# allnoconfig + fragments, then fail naming every option that did not stick.
configure() {
	local out=$1 merged missing=() line sym val
	merged=$out/kvmlock-fragment.config
	cat "${FRAGMENTS[@]}" >"$merged"
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
			if grep -q "^$sym=" "$out/.config"; then missing+=("$line"); fi
			;;
		esac
	done <"$merged"
	if [ ${#missing[@]} -gt 0 ]; then
		echo "kernel config: these fragment options did not take effect:" >&2
		printf '  %s\n' "${missing[@]}" >&2
		exit 1
	fi
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
	local out=$1 dest=$2 n
	make_selftests "$out" "${SELFTESTS[@]}"
	mkdir -p "$dest/selftests"
	for n in "${SELFTESTS[@]}"; do
		mkdir -p "$dest/selftests/$(dirname "$n")"
		cp "$out/kselftest/kvm/$n" "$dest/selftests/$n"
	done
}

# Link each tests/guest/kselftest/*.c with the KVM selftest library objects
# that build_selftests just built, using the same flags as the upstream tests.
build_own_selftests() {
	local out=$1 dest=$2 kst=$TREE/tools/testing/selftests src libs
	mapfile -t libs < <(find "$out/kselftest/kvm/lib" -name '*.o' | sort)
	[ ${#libs[@]} -gt 0 ] || die "no KVM selftest library objects in $out/kselftest/kvm/lib"
	mkdir -p "$dest/kselftest"
	for src in "${OWN[@]}"; do
		case $src in *.c) ;; *) continue ;; esac
		ccache "${CROSS}gcc" -std=gnu99 -O2 -g -Wall -Wextra -Werror \
			-Wno-unused-parameter -U_FORTIFY_SOURCE -fno-stack-protector \
			-fno-PIE -no-pie -static \
			-I"$TREE/tools/include" -I"$TREE/tools/arch/arm64/include" \
			-I"$TREE/tools/arch/arm64/include/generated" \
			-isystem "$out/uapi/include" -I"$kst/kvm/include" \
			-I"$kst/kvm/include/aarch64" -I"$kst" \
			-o "$dest/kselftest/$(basename "$src" .c)" "$src" "${libs[@]}" \
			-pthread -ldl
	done
}

cmd_config() {
	prepare_tree
	mkdir -p "$KBUILD/kernel-$1"
	configure "$KBUILD/kernel-$1"
}

# Under the lock of this key in the cache: build into $dest.tmp.PID, which
# is removed whatever happens, and move it to $dest when complete.
build_into_cache() {
	local variant=$1 key=$2 dest=$3 out tmp
	if [ -f "$dest/done" ]; then
		echo "$dest" >&3
		return 0
	fi
	# The lock is ours: any other part-built directory of this key is left
	# over from a build that was killed.
	rm -rf "$dest".tmp.*
	tmp=$dest.tmp.$BASHPID
	on_exit "rm -rf $(printf %q "$tmp")"
	prepare_tree
	out=$KBUILD/kernel-$variant
	mkdir -p "$out" "$CCACHE_DIR"
	export KBUILD_BUILD_USER=kvmlock KBUILD_BUILD_HOST=kvmlock
	configure "$out"
	note "building arm64 Image ($variant, key $key)"
	kmake "$out" -s Image
	kmake "$out" -s headers_install INSTALL_HDR_PATH="$out/uapi"
	mkdir -p "$tmp"
	build_selftests "$out" "$tmp"
	[ "$BUILD_OWN_SELFTESTS" = 0 ] || build_own_selftests "$out" "$tmp"
	cp "$out/arch/arm64/boot/Image" "$out/.config" "$out/System.map" "$tmp/"
	# The kernel's BTF alone (a few MB, not vmlinux): BPF CO-RE programs
	# are built against a vmlinux.h that bpftool dumps from it.
	"${CROSS}objcopy" -O binary --only-section=.BTF "$out/vmlinux" \
		"$tmp/vmlinux.btf"
	[ -s "$tmp/vmlinux.btf" ] || die "no .BTF section in $out/vmlinux"
	cp -a "$out/uapi" "$tmp/headers"
	tree_git log --format='%h %s' kvmlock-base~0^! HEAD >"$tmp/series.log"
	touch "$tmp/done"
	rm -rf "$dest"
	mv "$tmp" "$dest"
	echo "$dest" >&3
}

# Under the tree lock: refuse work in the tree first, a cache hit or not,
# since neither would test it. Only the result goes to stdout.
cmd_build() {
	local variant=$1 key dest
	refuse_tree_work "build from ${SERIES#"$TOP"/}"
	key=$(build_key "$variant")
	dest=$CACHE/kernel/$key
	exec 3>&1 1>&2
	if [ -f "$dest/done" ]; then
		echo "$dest" >&3
		return 0
	fi
	mkdir -p "$CACHE/kernel"
	with_lock "kernel-$key" build_into_cache "$variant" "$key" "$dest"
}

# Every patch must build on its own: build Image at each commit of the series
# (in a separate output directory), and the KVM selftests a commit changes,
# then return the tree to its branch, also when interrupted.
cmd_bisect_check() {
	local out=$KBUILD/kernel-bisect commits c n=0 branch tests
	prepare_tree
	mapfile -t commits < <(tree_git rev-list --reverse kvmlock-base..HEAD)
	branch=$(tree_git symbolic-ref -q --short HEAD || tree_git rev-parse HEAD)
	on_exit "tree_git checkout -q $(printf %q "$branch") || note 'could not check out $branch again in $TREE'"
	mkdir -p "$out"
	configure "$out"
	for c in "${commits[@]}"; do
		n=$((n + 1))
		tree_git checkout -q "$c"
		if ! kmake "$out" -s Image; then
			die "patch $n does not build: $(tree_git log -1 --format=%s "$c")"
		fi
		mapfile -t tests < <(tree_git diff --name-only "$c^" "$c" -- \
			tools/testing/selftests/kvm | sed -n \
			's|^tools/testing/selftests/kvm/\([^/]*/\)\{0,1\}\([^/]*\)\.c$|\1\2|p' |
			grep -v '^lib/')
		if [ ${#tests[@]} -gt 0 ] &&
			! { kmake "$out" -s headers_install INSTALL_HDR_PATH="$out/uapi" &&
				make_selftests "$out" "${tests[@]}"; }; then
			die "patch $n: selftest ${tests[*]} does not build: $(tree_git log -1 --format=%s "$c")"
		fi
		note "patch $n builds${tests[*]:+ (and ${tests[*]})}: $(tree_git log -1 --format=%s "$c")"
	done
	note "all ${#commits[@]} patches build on their own"
}

# A mutant (tests/mutants, make mutants): the variant's Image built with
# DIFF applied to the tree, which is restored after, also when interrupted,
# in DEST with the cached build's selftests. The cache is not touched; the
# next build rebuilds what the diff changed.
cmd_mutant() {
	local variant=$1 diff=$2 dest=$3 cached out
	[ -n "$diff" ] && [ -n "$dest" ] || die "usage: kernel.sh mutant VARIANT DIFF DEST"
	[ -f "$diff" ] || die "no such diff: $diff"
	# The whole series, whatever another target (make bench) left.
	prepare_tree
	cached=$CACHE/kernel/$(build_key "$variant")
	[ -f "$cached/done" ] || die "the $variant kernel is not built: make kernel KERNEL_VARIANT=$variant"
	tree_git apply --check "$diff" || die "${diff#"$TOP"/} does not apply to $TREE"
	on_exit "tree_git checkout -q -- . || note 'could not restore $TREE: make kernel-reset'"
	tree_git apply "$diff"
	out=$KBUILD/kernel-$variant
	mkdir -p "$out" "$CCACHE_DIR"
	export KBUILD_BUILD_USER=kvmlock KBUILD_BUILD_HOST=kvmlock
	configure "$out"
	note "building the $variant Image with ${diff#"$TOP"/}"
	kmake "$out" -s Image
	rm -rf "$dest"
	mkdir -p "$dest"
	cp -a "$cached/." "$dest/"
	cp "$out/arch/arm64/boot/Image" "$dest/Image"
	tree_git diff --stat >"$dest/mutant.diffstat"
}

cmd_reset() {
	rm -rf "$TREE" "$TREE.tmp" "$KBUILD"/kernel-*
}

# The tree (and the build directories beside it) belong to this clone.
with_tree() {
	with_lock_file "$KBUILD/.kernel-tree.lock" "another kernel.sh on $TREE" "$@"
}

cmd=${1:-build}
variant=${2:-default}
[ "$cmd" != bisect-check ] || variant=default
# Everything a command needs is loaded and checked here, in this shell,
# before anything is built, cached or changed.
case $cmd in
build | key | config | tree | bisect-check | export | mutant) KVER=$(debian_kernel_version) ;;
esac
case $cmd in
build | key | config | tree | bisect-check | mutant) load_series ;;
esac
case $cmd in
build | key | config | bisect-check | mutant)
	load_variant "$variant"
	load_selftests
	load_own
	;;
esac
case $cmd in build | key | mutant) load_toolchain ;; esac
case $cmd in
build) with_tree cmd_build "$variant" ;;
tree) with_tree prepare_tree ;;
config) with_tree cmd_config "$variant" ;;
export) with_tree export_series ;;
key) build_key "$variant" ;;
reset) with_tree cmd_reset ;;
bisect-check) with_tree cmd_bisect_check ;;
mutant) with_tree cmd_mutant "$variant" "${3:-}" "${4:-}" ;;
*) die "unknown command '$cmd'" ;;
esac
