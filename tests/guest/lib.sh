# Sourced by the guest test scripts: TAP-like result lines, and $fail set
# when any check failed (the script exits with it).
fail=0
check() { # status, what was checked
	if [ "$1" = 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fail=1; fi
}
# The page size in bytes (busybox has no getconf).
page_size() {
	awk '/^KernelPageSize:/ { print $2 * 1024; exit }' /proc/self/smaps
}
