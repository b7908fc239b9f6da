#!/usr/bin/env bash
# kvmlock-top on the host: it builds (host and static arm64), its userspace
# logic passes the cmocka unit tests (test_report, test_trace, test_hist,
# test_screen), its BPF programs do what the events imply when run with
# BPF_PROG_TEST_RUN (test_bpf, root), and the tool refuses, with one line
# and nothing left attached, what this host lacks (the kvm_memslot_*
# events), bad options and missing privileges; on a terminal too, where
# the refusal comes before the interactive screen and leaves the terminal
# as it was.
#
# The BPF object is built against the patched kernel's BTF: VMLINUX_BTF if
# set, else $KVMLOCK_KERNEL_DIR/vmlinux.btf (make check sets the latter).
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"

OUT=$BUILD/inspector
TOOL=$OUT/host/kvmlock-top

build_inspector test_kvmlock_top

# A cmocka binary's TAP output, one ok/not_ok line per test case.
run_cmocka() { # suite binary
	local suite=$1 bin=$2 out rc line n=0 nf=0
	out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$bin" 2>&1)
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "$suite: ${line#ok * - }"; n=$((n + 1)) ;;
		"not ok "*)
			not_ok "$suite: ${line#not ok * - }" "$(grep -v '^\(not \)\?ok ' <<<"$out")"
			n=$((n + 1)) nf=$((nf + 1))
			;;
		esac
	done <<<"$out"
	# a crash, or an exit status its cases do not explain, fails too
	if [ "$n" -eq 0 ] || { [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; }; then
		not_ok "$suite: exit $rc after $n test cases" "$out"
	fi
}

run_cmocka report "$OUT/host/test_report"
run_cmocka trace "$OUT/host/test_trace"
run_cmocka hist "$OUT/host/test_hist"
run_cmocka screen "$OUT/host/test_screen"

if [ "$(id -u)" -eq 0 ]; then
	run_cmocka bpf "$OUT/host/test_bpf"
else
	not_ok "bpf: test_bpf needs root (BPF_PROG_TEST_RUN)"
fi

# The arm64 build the guest runs
info=$(file -b "$OUT/arm64/kvmlock-top")
if [[ $info == *aarch64* && $info == *"statically linked"* ]]; then
	ok "the arm64 kvmlock-top is a static aarch64 executable"
else
	not_ok "the arm64 kvmlock-top is a static aarch64 executable" "$info"
fi

# The host binary on this host, whose kernel has no kvm_memslot_* events
lacks="kvmlock-top: the kernel lacks 9 of the 9 kvm_memslot_* trace events (kvm_memslot_lock_begin, kvm_memslot_pin, kvm_memslot_map, kvm_memslot_account_fail, kvm_memslot_lock_end, kvm_memslot_unlock_begin, kvm_memslot_unlock, kvm_memslot_unlock_end, kvm_memslot_deferred_ops): it needs the kvmlock series"
progs_before=$(bpftool prog show 2>/dev/null | grep -c ' name mslot_' || true)
out=$("$TOOL" -b 1 1 2>&1)
rc=$?
if [ $rc -ne 0 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && [[ $out == "$lacks" ]]; then
	ok "without the events: one line naming them, exit $rc"
else
	not_ok "without the events: one line naming them (exit $rc)" "$out"
fi
expect "nothing left attached or loaded" "$progs_before" \
	"$(bpftool prog show 2>/dev/null | grep -c ' name mslot_' || true)"
# the other modes: the same line, before anything is loaded
for mode in "trace" "trace -j -d 1" "hist" "hist -A -m 1 1"; do
	out2=$("$TOOL" $mode 2>&1)
	rc=$?
	if [ $rc -eq 1 ] && [ "$out2" = "$out" ]; then
		ok "kvmlock-top $mode without the events: the same line, exit 1"
	else
		not_ok "kvmlock-top $mode without the events: the same line (exit $rc)" "$out2"
	fi
done
expect "nothing left attached or loaded by the other modes" "$progs_before" \
	"$(bpftool prog show 2>/dev/null | grep -c ' name mslot_' || true)"

# --pin: the same refusal, before anything is pinned (into a bpffs of
# its own, in a mount namespace of its own)
out2=$(unshare -m sh -c 'mount --make-rprivate / && mount -t bpf bpf "$1" &&
	"$0" --pin-dir "$1/kvmlock" -b 1 1; rc=$?; ls -A "$1" | grep -v "\.debug$"; exit $rc' \
	"$TOOL" "$(mktemp -d "$tmp/bpffs.XXXXXX")" 2>&1)
rc=$?
if [ $rc -eq 1 ] && [ "$out2" = "$out" ]; then
	ok "--pin without the events: the same line, exit 1, nothing pinned"
else
	not_ok "--pin without the events: the same line, nothing pinned (exit $rc)" "$out2"
fi

# The same on a terminal, where top would be the ncurses screen: a tmux
# pane of 80x24 running a shell. The refusal comes before any screen is
# set up, so it is the same one line; then the terminal is as it was: no
# alternate screen, cursor shown, keypad mode off, and what is typed at
# the prompt echoes and runs.
pane_wait() { # pattern: until the pane shows it, at most 10 s
	local i
	for ((i = 0; i < 100; i++)); do
		grep -qE -- "$1" <<<"$(tm capture-pane -p -J)" && return 0
		sleep 0.1
	done
	return 1
}
tm() { tmux -L "kvmlock-test-$$" "$@"; }
if ! command -v tmux >/dev/null; then
	not_ok "tmux is there to run kvmlock-top on a terminal"
elif tm new-session -d -x 80 -y 24 "env PS1='$ ' bash --norc --noprofile" &&
	tm send-keys "$TOOL 1 1; echo \"rc=\$?\"" Enter && pane_wait '^rc=[0-9]+$'; then
	pane=$(tm capture-pane -p -J)
	if grep -qFx -- "$out" <<<"$pane" && grep -qx 'rc=1' <<<"$pane" &&
		[ "$(grep -c 'kvmlock-top: ' <<<"$pane")" -eq 1 ]; then
		ok "on a terminal (tmux, 80x24): the same one line, exit 1"
	else
		not_ok "on a terminal (tmux, 80x24): the same one line, exit 1" "$pane"
	fi
	expect "on a terminal: no alternate screen, cursor shown, keypad mode off after it" \
		"0 1 0" "$(tm display-message -p '#{alternate_on} #{cursor_flag} #{keypad_cursor_flag}')"
	tm send-keys "echo typed-\$((6 * 7))" Enter
	if pane_wait '^typed-42$' && grep -qFx '$ echo typed-$((6 * 7))' <<<"$(tm capture-pane -p -J)"; then
		ok "on a terminal: the shell's prompt echoes and runs what is typed after it"
	else
		not_ok "on a terminal: the shell's prompt echoes and runs what is typed after it" \
			"$(tm capture-pane -p -J)"
	fi
else
	not_ok "kvmlock-top runs in a tmux pane" "$(tm capture-pane -p -J 2>&1)"
fi
tm kill-server 2>/dev/null

# A kernel without BTF, as the tool sees one: an empty /sys/kernel/btf in
# a mount namespace of its own. The programs do not need it (raw
# tracepoints, no CO-RE relocation): with tracefs the tool looks for the
# events there, and refuses only for their absence; with neither, it
# cannot look.
out=$(unshare -m sh -c 'mount -t tmpfs none /sys/kernel/btf &&
	mount -t tracefs none /sys/kernel/tracing && exec "$0" -b 1 1' "$TOOL" 2>&1)
rc=$?
if [ $rc -eq 1 ] && [ "$out" = "$lacks" ]; then
	ok "without kernel BTF, with tracefs: the events looked for there, one line, exit $rc"
else
	not_ok "without kernel BTF, with tracefs: the missing events, one line (exit $rc)" "$out"
fi
out=$(unshare -m sh -c 'mount -t tmpfs none /sys/kernel/btf &&
	mount -t tmpfs none /sys/kernel/tracing && mount -t tmpfs none /sys/kernel/debug &&
	exec "$0" -b 1 1' "$TOOL" 2>&1)
rc=$?
if [ $rc -eq 1 ] && [ "$out" = "kvmlock-top: cannot look for the kvm_memslot_* events: no tracefs (mount -t tracefs none /sys/kernel/tracing) and no kernel BTF (/sys/kernel/btf/vmlinux)" ]; then
	ok "without kernel BTF or tracefs: one line naming both, exit $rc"
else
	not_ok "without kernel BTF or tracefs: one line naming both (exit $rc)" "$out"
fi

# Not root, with CAP_BPF and CAP_PERFMON (enough for the programs), on a
# kernel that seems to have the events (their tracefs directories, made in
# a tmpfs of a mount namespace of its own): top cannot read debugfs
# (root's, mode 0700) and says so; trace and hist do not read it, and go
# on to attach (which fails here, the events being only directories).
EVENT_NAMES="kvm_memslot_lock_begin kvm_memslot_pin kvm_memslot_map kvm_memslot_account_fail kvm_memslot_lock_end kvm_memslot_unlock_begin kvm_memslot_unlock kvm_memslot_unlock_end kvm_memslot_deferred_ops"
as_bpf_user() { # kvmlock-top arguments...
	EVENT_NAMES=$EVENT_NAMES unshare -m sh -c '
		mount -t debugfs none /sys/kernel/debug 2>/dev/null
		mount -t tmpfs -o mode=0755 none /sys/kernel/tracing || exit 99
		for e in $EVENT_NAMES; do mkdir -p /sys/kernel/tracing/events/kvm/$e || exit 99; done
		exec setpriv --reuid=65534 --regid=65534 --clear-groups \
			--inh-caps=+bpf,+perfmon --ambient-caps=+bpf,+perfmon "$@"' sh "$TOOL" "$@" 2>&1
}
if ! command -v setpriv >/dev/null; then
	not_ok "setpriv (util-linux) is there to run kvmlock-top with capabilities only"
else
	out=$(as_bpf_user -b 1 1)
	rc=$?
	if [ $rc -eq 1 ] && [ "$out" = "kvmlock-top: cannot read /sys/kernel/debug/kvm: Permission denied (top reads debugfs, which is root's; trace and hist do not)" ]; then
		ok "top without access to debugfs: one line naming EACCES, exit $rc"
	else
		not_ok "top without access to debugfs: one line naming EACCES (exit $rc)" "$out"
	fi
	for mode in "trace -d 1" "hist 1 1"; do
		# shellcheck disable=SC2086 # the mode's words
		out=$(as_bpf_user $mode)
		rc=$?
		if [ $rc -eq 1 ] && [ "$(tail -n 1 <<<"$out")" = "kvmlock-top: cannot attach to the kvm_memslot_* events: No such file or directory" ] &&
			! grep -q debug <<<"$out"; then
			ok "$mode without access to debugfs: past the checks, to attaching"
		else
			not_ok "$mode without access to debugfs: past the checks, to attaching (exit $rc)" "$out"
		fi
	done
fi

# kvmlock-top check: every check, in mount namespaces of its own where
# the host's state is set. All there (the events' tracefs directories, a
# debugfs with a kvm directory, bpffs; no kernel BTF, so the arguments
# are not checked): every mode can run, exit 0.
in_ns() { # shell setup, then kvmlock-top arguments...
	local setup=$1
	shift
	EVENT_NAMES=$EVENT_NAMES unshare -m sh -c "$setup"' || exit 99; exec "$@"' \
		sh "$TOOL" "$@" 2>&1
}
fake_events='mount -t tmpfs -o mode=0755 none /sys/kernel/tracing &&
	for e in $EVENT_NAMES; do mkdir -p /sys/kernel/tracing/events/kvm/$e || exit 99; done'
out=$(in_ns "$fake_events"' && mount -t tmpfs none /sys/kernel/btf &&
	mount -t tmpfs none /sys/kernel/debug && mkdir /sys/kernel/debug/kvm &&
	mount -t bpf bpf /sys/fs/bpf' check)
rc=$?
expect "check, everything there: each line, every mode can run, exit 0" "0 kvmlock-top 0.1 on this host:
  privileges ok  CAP_SYS_ADMIN (root)
  tracefs    ok  /sys/kernel/tracing
  kernel BTF NO  no /sys/kernel/btf/vmlinux: the events' arguments are not checked
  events     ok  the 9 kvm_memslot_* trace events (in tracefs)
  arguments  -   not checked: the kernel has no BTF
  debugfs    ok  /sys/kernel/debug/kvm
  programs   ok  the verifier accepts the 9 programs
  bpffs      ok  /sys/fs/bpf
can run: top, trace, hist" "$rc $out"
# Nothing there: the events cannot be looked for; the programs still load
out=$(in_ns 'mount -t tmpfs none /sys/kernel/btf && mount -t tmpfs none /sys/kernel/tracing &&
	mount -t tmpfs none /sys/kernel/debug && mount -t tmpfs none /sys/fs/bpf' check -j)
rc=$?
expect "check -j, nothing there: exit 1, one JSON object: events and debugfs missing, the programs load, no mode can run" \
	"1 missing missing skipped missing ok {\"top\":false,\"trace\":false,\"hist\":false}" \
	"$rc $(jq -r '[(.checks[] | select(.name == "tracefs" or .name == "events" or .name == "arguments" or .name == "programs" or .name == "debugfs") | .state), (.can_run | tojson)] | join(" ")' <<<"$out" 2>&1)"
expect "check -j: version, type and time first, 8 checks" "1 check 8" \
	"$(jq -r '"\(.version) \(.type) \(.checks | length)"' <<<"$out" 2>&1)"
if command -v setpriv >/dev/null; then
	out=$(as_bpf_user check)
	rc=$?
	if [ $rc -eq 1 ] && grep -qx '  privileges ok  CAP_BPF and CAP_PERFMON' <<<"$out" &&
		grep -qx '  debugfs    NO  cannot read /sys/kernel/debug/kvm: Permission denied (top reads debugfs, which is root.s; trace and hist do not)' <<<"$out" &&
		grep -qx '  programs   ok  the verifier accepts the 9 programs' <<<"$out" &&
		[ "$(tail -n 1 <<<"$out")" = "can run: trace, hist; cannot run: top (debugfs)" ]; then
		ok "check with CAP_BPF and CAP_PERFMON, not root: the programs load, top cannot read debugfs, exit 1"
	else
		not_ok "check with CAP_BPF and CAP_PERFMON, not root (exit $rc)" "$out"
	fi
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$TOOL" check 2>&1)
	rc=$?
	if [ $rc -eq 1 ] && grep -qx '  privileges NO  needs root, or CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)' <<<"$out" &&
		grep -qx '  programs   -   not tried: no privileges' <<<"$out" &&
		[[ $(tail -n 1 <<<"$out") == "can run: none; cannot run: top (privileges), trace (privileges), hist (privileges)" ]]; then
		ok "check as nobody: privileges missing, the programs not tried, exit 1"
	else
		not_ok "check as nobody (exit $rc)" "$out"
	fi
fi

# Bad options: one line each, exit 2
bad() { # expected message, arguments...
	local want=$1 out rc
	shift
	out=$("$TOOL" "$@" 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && [ "$out" = "kvmlock-top: $want" ]; then
		ok "kvmlock-top $*: $want"
	else
		not_ok "kvmlock-top $* (exit $rc, want 2 and '$want')" "$out"
	fi
}
bad "invalid interval '0': whole seconds from 1 to 86400" 0
bad "invalid interval 'soon': whole seconds from 1 to 86400" soon
bad "invalid count '0': a number from 1" 1 0
bad "unexpected argument '3' (only [interval] [count])" 1 2 3
bad "unknown sort key 'size' (pages, slots, memlock, pct, locks, fails, lat, pid, vm)" -s size
bad "invalid pid 'x'" -p x
bad "invalid row count '-1': a number from 1" -r -1
bad "invalid ring buffer size '3000': a power of two, a multiple of the page size ($(getconf PAGESIZE)), at most 1G" trace --ringbuf-size 3000
bad "bad option '--ringbuf-size' (see kvmlock-top --help)" --ringbuf-size 64K
bad "bad option '--frobnicate' (see kvmlock-top --help)" --frobnicate
bad "bad option '--bogus' (see kvmlock-top trace --help)" trace --bogus
bad "bad option '-S' (see kvmlock-top trace --help)" trace -S
bad "unexpected argument '5' (trace takes none)" trace 5
bad "invalid duration '0': whole seconds from 1" trace -d 0
bad "invalid pid 'x'" trace -p x
bad "bad option '--prom-file' (see kvmlock-top --help)" top --prom-file
bad "bad option '--bogus' (see kvmlock-top hist --help)" hist --bogus
bad "bad option '-s' (see kvmlock-top hist --help)" hist -s pages
bad "invalid interval '0': whole seconds from 1 to 86400" hist 0
bad "unexpected argument '3' (only [interval] [count])" hist 1 2 3
bad "bad option '--pin' (see kvmlock-top trace --help)" trace --pin
bad "bad option '--keep-pinned' (see kvmlock-top hist --help)" hist --keep-pinned
bad "invalid --pin-dir '': a directory to create in a bpffs mount" --pin-dir ''
bad "unexpected argument 'x' (check takes none)" check x
bad "bad option '-S' (see kvmlock-top check --help)" check -S

out=$("$TOOL" --version 2>&1)
expect "--version" "kvmlock-top 0.1" "$out"
if out=$("$TOOL" --help 2>&1) && grep -q '^USAGE: kvmlock-top' <<<"$out" &&
	grep -q '^EXAMPLES:' <<<"$out" && grep -q -- '--prom-file' <<<"$out" &&
	grep -q -- '^ *--pin  *Pin the maps' <<<"$out" && grep -q -- '^ *--keep-pinned ' <<<"$out" &&
	grep -q -- '^ *--pin-dir=DIR ' <<<"$out"; then
	ok "--help shows USAGE, EXAMPLES and the options (--pin, --keep-pinned, --pin-dir), exit 0"
else
	not_ok "--help shows USAGE, EXAMPLES and the options (--pin, --keep-pinned, --pin-dir), exit 0" "$out"
fi
if grep -q '^       kvmlock-top trace ' <<<"$out" && grep -q '^       kvmlock-top hist ' <<<"$out" &&
	grep -q '^       kvmlock-top check ' <<<"$out" &&
	out=$("$TOOL" trace --help 2>&1) && grep -q '^USAGE: kvmlock-top trace' <<<"$out" &&
	grep -q -- '--timestamp' <<<"$out" &&
	out=$("$TOOL" hist --help 2>&1) && grep -q '^USAGE: kvmlock-top hist' <<<"$out" &&
	grep -q -- '--milliseconds' <<<"$out" &&
	out=$("$TOOL" check --help 2>&1) && grep -q '^USAGE: kvmlock-top check \[-j\]' <<<"$out"; then
	ok "--help names the modes; trace, hist and check --help show their USAGE and options"
else
	not_ok "--help names the modes; trace, hist and check --help show their USAGE and options" "$out"
fi

# Unprivileged: refused before anything is loaded
if command -v setpriv >/dev/null; then
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$TOOL" -b 1 1 2>&1)
	rc=$?
	if [ $rc -ne 0 ] &&
		[ "$out" = "kvmlock-top: needs root, or CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)" ]; then
		ok "as nobody: refused for privileges, exit $rc"
	else
		not_ok "as nobody: refused for privileges (exit $rc)" "$out"
	fi
else
	not_ok "setpriv (util-linux) is there to test running as nobody"
fi

finish test_kvmlock_top
