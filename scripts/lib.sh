# Shared helpers for kvmlock's build and test scripts (sourced, not run).
# Callers get TOP, BUILD and CACHE from the Makefile or these defaults.

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BUILD:-$TOP/build}
# Expensive outputs live outside the clone so a fresh clone reuses them.
CACHE=${KVMLOCK_CACHE:-/var/cache/kvmlock}
export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}

# Where the base kernel source comes from: Debian's linux-source-6.1.
KSRC_PKG=linux-source-6.1
KSRC_TARBALL=/usr/src/linux-source-6.1.tar.xz

die() {
	echo "${0##*/}: error: $*" >&2
	exit 1
}

note() {
	echo "${0##*/}: $*" >&2
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
