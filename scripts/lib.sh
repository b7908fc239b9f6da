# shellcheck shell=bash
# Shared helpers for kvmlock's build and test scripts (sourced, not run).
# Callers get TOP, BUILD and CACHE from the Makefile or these defaults.

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BUILD:-$TOP/build}
# Expensive outputs live outside the clone so a fresh clone reuses them.
CACHE=${KVMLOCK_CACHE:-/var/cache/kvmlock}
export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}

die() {
	echo "${0##*/}: error: $*" >&2
	exit 1
}

# The kernel the series applies to (KERNEL_BASE): Debian's
# linux-source-<base>, with the series of kernel/<base>/. Each base has its
# tree and build directories under $BUILD/<base>/. 6.12, the longterm
# kernel Debian 13 ships, is the default; make check boots 6.1 as well.
KERNEL_BASES=(6.1 6.12)
KERNEL_BASE=${KERNEL_BASE:-6.12}
case " ${KERNEL_BASES[*]} " in
*" $KERNEL_BASE "*) ;;
*) die "KERNEL_BASE=$KERNEL_BASE: the bases are ${KERNEL_BASES[*]}" ;;
esac
KSRC_PKG=linux-source-$KERNEL_BASE
# shellcheck disable=SC2034 # used by the scripts that source this file
KSRC_TARBALL=/usr/src/linux-source-$KERNEL_BASE.tar.xz
# shellcheck disable=SC2034
KBUILD=$BUILD/$KERNEL_BASE

# The upstream KVM selftests the test VM runs on base $1's kernels (and
# kernel.sh builds).
kvm_selftest_list() {
	echo "$TOP/tests/vm/kvm-selftests-$1.list"
}

# The lists of the test VM's main boot on base $1, space-separated: its
# upstream KVM selftests, our kernel and kvmlock-top tests, the docs'
# examples (tests/vm/run.sh's default, make check's main boot).
main_test_lists() {
	echo "$(kvm_selftest_list "$1") $TOP/tests/vm/guest-tests.list $TOP/tests/vm/doc-tests.list"
}

# The one identity of our patches, whoever's machine commits them
# (kernel.sh export sets it); patches derived from the RFC keep their
# author and Signed-off-by.
# shellcheck disable=SC2034
PROJECT_IDENTITY="kvmlock developers <dev@kvmlock.invalid>"
# shellcheck disable=SC2034
UPSTREAM_AUTHORS="Alexandru Elisei <alexandru.elisei@arm.com>"

note() {
	echo "${0##*/}: $*" >&2
}

# Runs CMD when this shell exits, also when SIGINT, SIGTERM or SIGHUP
# ends it (with 128 + the signal's number). CMD is expanded by the caller,
# so it may name locals that are gone by then.
on_exit() {
	# shellcheck disable=SC2064 # the caller's expansion, on purpose
	trap "$1" EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

debian_kernel_version() {
	dpkg-query -W -f='${Version}' "$KSRC_PKG" 2>/dev/null ||
		die "$KSRC_PKG is not installed (run: make deps)"
}

# sha256 over the names and contents of the given files, in order.
hash_files() {
	local f
	for f in "$@"; do
		printf '%s\0' "${f#"$TOP"/}"
		cat "$f"
	done | sha256sum | cut -c1-16
}

# Run "$@" while holding an exclusive lock on file $1 (created if needed).
# Says so when it has to wait, naming what holds it ($2).
with_lock_file() {
	local file=$1 what=$2
	shift 2
	mkdir -p "$(dirname "$file")"
	(
		if ! flock -n 9; then
			note "waiting for $what (lock $file)"
			flock 9
		fi
		"$@"
	) 9>"$file"
}

# Run "$@" while holding the exclusive lock named $1 in the cache.
with_lock() {
	local name=$1
	shift
	with_lock_file "$CACHE/locks/$name" "another build of the cache's $name" "$@"
}

# Test lists (tests/vm/*.list, tests/bench/*.list, tests/mutants/*.list):
# one test a line,
#   <name> <timeout seconds> [<tag>=<value>...] <command> [<argument>...]
# Blank lines and lines starting with # are ignored ("#:" lines are
# directives, below). Tags (none by default: nothing may skip, and the
# console must show nothing of what tests/vm/report.sh looks for):
#   skip=whole          the test may skip as a whole (exit status 4)
#   skip-case=GLOB[,GLOB...]  a kselftest case may report "ok N # SKIP TEXT"
#                       when TEXT matches one of the shell globs
#   allow=locked-fault  the series' "unexpected ... fault on locked memslot"
#                       warning may show on the console during this test
# A command cannot start with a word containing "=" (use env).
#
# Directives, lines "#: <directive> <value>" before the first test, say
# how to boot the list (a mutant's list, tests/mutants: make mutants):
#   #: kernel VARIANT       the kernel variant (kernel.sh) to boot
#   #: kernel-args ARGS     added to the guest kernel's command line
#   #: caught-by TEST...    the tests of this list that must fail with the
#                           mutant (each one a test of the list)
# Each at most once; the lists make check boots have none.
#
# load_test_list FILE appends each entry to the arrays TL_NAME, TL_LIMIT,
# TL_TAGS (space-separated) and TL_CMD, and sets TL_KERNEL, TL_KERNEL_ARGS
# and TL_CAUGHT_BY (space-separated) to FILE's directives (empty without).
# Run it in the calling shell, not in $(...): it dies naming the file and
# line of a malformed entry or directive.
TL_NAME=() TL_LIMIT=() TL_TAGS=() TL_CMD=()
TL_KERNEL='' TL_KERNEL_ARGS='' TL_CAUGHT_BY=''
load_test_list() {
	local file=$1 n=0 line name limit rest word words tags tests=' ' where seen=' ' caught_at=''
	[ -f "$file" ] || die "no test list $file"
	TL_KERNEL='' TL_KERNEL_ARGS='' TL_CAUGHT_BY=''
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		where=${file#"$TOP"/}:$n
		case $line in
		'#:'*)
			read -r name rest <<<"${line#'#:'}"
			[ "$tests" = ' ' ] || die "$where: directive '$name' after the first test (directives head the file)"
			case $seen in *" $name "*) die "$where: a second '$name' directive" ;; esac
			seen+="$name "
			# shellcheck disable=SC2034 # read by the callers
			case $name in
			kernel)
				case $rest in
				'' | *[!A-Za-z0-9_-]*) die "$where: '#: kernel' needs one kernel variant, not '$rest'" ;;
				esac
				TL_KERNEL=$rest
				;;
			kernel-args)
				[ -n "$rest" ] || die "$where: '#: kernel-args' needs arguments"
				TL_KERNEL_ARGS=$rest
				;;
			caught-by)
				[ -n "$rest" ] || die "$where: '#: caught-by' needs test names"
				read -r -a words <<<"$rest"
				TL_CAUGHT_BY=${words[*]}
				caught_at=$where
				;;
			*) die "$where: unknown directive '$name' (there are kernel, kernel-args, caught-by)" ;;
			esac
			continue
			;;
		esac
		read -r name limit rest <<<"$line"
		case $name in '' | '#'*) continue ;; esac
		tests+="$name "
		case $limit in
		'' | *[!0-9]* | 0) die "$where: '$name' needs a timeout in seconds" ;;
		esac
		case $name in *=*) die "$where: a test name cannot contain '='" ;; esac
		tags=
		while :; do
			word=${rest%%[[:space:]]*}
			case $word in
			skip=whole | allow=locked-fault) ;;
			skip-case=?*) ;;
			*=*) die "$where: unknown tag '$word' (there are skip=whole, skip-case=GLOB[,GLOB...], allow=locked-fault)" ;;
			*) break ;;
			esac
			tags="$tags${tags:+ }$word"
			rest=${rest#"$word"}
			rest=${rest#"${rest%%[![:space:]]*}"}
		done
		[ -n "$rest" ] || die "$where: '$name' has no command"
		TL_NAME+=("$name")
		TL_LIMIT+=("$limit")
		TL_TAGS+=("$tags")
		TL_CMD+=("$rest")
	done <"$file"
	for name in $TL_CAUGHT_BY; do
		case $tests in *" $name "*) ;; *) die "$caught_at: caught-by names '$name', which is not a test of this list" ;; esac
	done
}
