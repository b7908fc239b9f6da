# Sourced by the guest test scripts: TAP-like result lines, and $fail set
# when any check failed (the script exits with it); $passed and $failed
# count the checks, for a script's summary line.
fail=0 passed=0 failed=0
result() { # status (0: ok), what was checked
	if [ "$1" = 0 ]; then
		echo "ok - $2"
		passed=$((passed + 1))
	else
		echo "not ok - $2"
		fail=1 failed=$((failed + 1))
	fi
}
# The page size in bytes (busybox has no getconf).
page_size() {
	awk '/^KernelPageSize:/ { print $2 * 1024; exit }' /proc/self/smaps
}
# tmux needs a pty (the guest init mounts no devpts) and a UTF-8 locale
# (libc-bin's C.UTF-8 in the guest root).
tmux_ready() {
	grep -q " /dev/pts devpts " /proc/mounts ||
		{ mkdir -p /dev/pts && mount -t devpts -o ptmxmode=0666 devpts /dev/pts; }
	export LC_ALL=C.UTF-8 SHELL=/bin/sh
}
