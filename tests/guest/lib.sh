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
# The page size in bytes, as the kernel maps this process's memory. Every
# guest script takes it from here and none from getconf, so that all of
# them agree (getconf is libc-bin's, not busybox's).
page_size() {
	awk '/^KernelPageSize:/ { print $2 * 1024; exit }' /proc/self/smaps
}
# jq given $JQ_LIMIT seconds a run, and run again (3 runs at most) when it
# overran: under TCG a guest process now and then runs tens of times
# slower than the same one run again, and a single jq once spent over 250
# s compiling its filter (docs/testing.md). Input, output and errors go
# through files, so that a run killed half-way loses no input and prints
# nothing: callers capture "$(... | jq ... 2>&1)", and neither the shell's
# "Killed" nor a note may land there. The runs killed are counted in
# $JQ_RERUNS (a file: jq runs in subshells), which summary() reports. Its
# exit status is jq's, or the last run's KILL.
JQ_LIMIT=${JQ_LIMIT:-60}
JQ_RERUNS=${TMPDIR:-/tmp}/kvmlock-jq-reruns.$$
jq() {
	local in out err rc start runs=1
	in=$(mktemp) && out=$(mktemp) && err=$(mktemp) || return 1
	cat >"$in"
	while :; do
		start=$(date +%s)
		# the shell reports a job killed on its stderr: that of a subshell
		( timeout -s KILL "$JQ_LIMIT" jq "$@" <"$in" >"$out" 2>"$err"; exit $? ) 2>/dev/null &&
			rc=0 || rc=$?
		[ "$rc" -ne 0 ] && [ $(($(date +%s) - start)) -ge "$JQ_LIMIT" ] &&
			[ "$runs" -lt 3 ] || break
		echo "jq $*" >>"$JQ_RERUNS"
		runs=$((runs + 1))
	done
	cat "$out"
	cat "$err" >&2
	rm -f "$in" "$out" "$err"
	return "$rc"
}
# A LOCK of seconds, watched in tracefs (lock_interrupt.sh, kvmlock_top.sh):
#   long_lock_start OUT   memslot_lock_workload locks 2 GiB cold (locking
#                         faults it in, seconds under TCG), its output in
#                         OUT, its pid in $long; returns once its
#                         kvm_memslot_lock_begin is in the trace (or 60 s)
#   long_lock_ended       its kvm_memslot_lock_end is in the trace
#   long_lock_kill        SIGKILLs it, reaps it ($long_rc: its status) and
#                         stops tracing; the trace stays in $TRACEFS/trace
TRACEFS=/sys/kernel/tracing
long_lock_start() {
	echo 0 >$TRACEFS/tracing_on
	echo >$TRACEFS/trace
	echo 1 >$TRACEFS/events/kvm/kvm_memslot_lock_begin/enable
	echo 1 >$TRACEFS/events/kvm/kvm_memslot_lock_end/enable
	echo 1 >$TRACEFS/tracing_on
	/kvmlock/kselftest/memslot_lock_workload -c -b 2048 -n 1 >"$1" 2>&1 &
	long=$!
	i=0
	while ! grep -q "kvm_memslot_lock_begin: .* pid=$long " $TRACEFS/trace && [ $i -lt 1200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
}
long_lock_ended() {
	grep -q "kvm_memslot_lock_end: .* pid=$long " $TRACEFS/trace
}
long_lock_kill() {
	kill -9 $long
	wait $long
	long_rc=$?
	echo 0 >$TRACEFS/tracing_on
	echo 0 >$TRACEFS/events/kvm/kvm_memslot_lock_begin/enable
	echo 0 >$TRACEFS/events/kvm/kvm_memslot_lock_end/enable
}

# tmux needs a pty (the guest init mounts no devpts) and a UTF-8 locale
# (libc-bin's C.UTF-8 in the guest root).
tmux_ready() {
	grep -q " /dev/pts devpts " /proc/mounts ||
		{ mkdir -p /dev/pts && mount -t devpts -o ptmxmode=0666 devpts /dev/pts; }
	export LC_ALL=C.UTF-8 SHELL=/bin/sh
}

# kvmlock-top's tests (kvmlock_top*.sh):
#   kvmlock_top_setup NAME  $TOOL (kvmlock-top), $WL (its workload), $PAGE
#                           and $D, the empty scratch directory /tmp/NAME
#   start W FD [ARG...]     a workload W reading commands from the FIFO
#                           $D/W.in, open on fd FD, replying in $D/W.out;
#                           its pid in $pid_W; ARGs on its command line,
#                           which it ignores (QEMU's -name, as VMMs have it)
#   cmd W COMMAND           sends W a command and waits for its one reply
#                           ($reply); none in 60 s ends the script
#   must W COMMAND          the same, and a reply other than "ok..." ends it
#   fail_now WHAT           a failed check that ends the script: WHAT, each
#                           $D/*.out and $D/*.err, then fail_cleanup (a
#                           script's own: what must not outlive it),
#                           summary, exit 1
#   summary                 "NAME: N passed, N failed", NAME the script's
# shellcheck disable=SC2034 # read by the scripts
kvmlock_top_setup() {
	P=/kvmlock
	TOOL=$P/inspector/kvmlock-top
	WL=$P/inspector/kvmlock-workload
	D=/tmp/$1
	PAGE=$(page_size)
	rm -rf "$D"
	mkdir -p "$D"
}
start() {
	local name=$1 fd=$2
	shift 2
	mkfifo $D/$name.in
	$WL "$@" <$D/$name.in >$D/$name.out 2>&1 &
	eval "pid_$name=$!"
	eval "exec $fd>$D/$name.in"
	eval "fd_$name=$fd"
}
cmd() {
	n=$(wc -l <$D/$1.out)
	eval "echo \"\$2\" >&\$fd_$1"
	i=0
	while [ "$(wc -l <$D/$1.out)" -le "$n" ]; do
		i=$((i + 1))
		[ $i -gt 1200 ] && fail_now "workload $1: no reply to '$2'"
		sleep 0.05
	done
	reply=$(sed -n "$((n + 1))p" $D/$1.out)
}
must() {
	cmd "$1" "$2"
	case $reply in ok*) ;; *) fail_now "workload $1: '$2' -> $reply" ;; esac
}
fail_cleanup() { :; }
fail_now() {
	result 1 "$1"
	for f in $D/*.out $D/*.err; do
		[ -s "$f" ] && { echo "# $f:"; sed 's/^/#   /' "$f"; }
	done
	fail_cleanup
	summary
	exit 1
}
summary() {
	if [ -s "$JQ_RERUNS" ]; then
		echo "# jq ran over ${JQ_LIMIT}s and was run again $(grep -c . "$JQ_RERUNS") time(s):"
		sed 's/^/#   /' "$JQ_RERUNS"
		rm -f "$JQ_RERUNS"
	fi
	echo "$(basename "$0" .sh): $passed passed, $failed failed"
}
