#!/usr/bin/env bash
# inspector/perf-lock-latency turns `perf script` text into exact summaries:
# pairs by thread (also interleaved, also with comm containing spaces and
# pid/tid columns), counts failures, nearest-rank percentiles, new/base
# ratios, and refuses bad input with a one-line message.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

TOOL=$TOP/inspector/perf-lock-latency
. "$(dirname "$0")/lib.sh"

# Two threads (101, 102) interleave; thread 102's comm has a space; one
# lock fails (ret=-16); one end has no begin (dropped, reported).
cat >"$tmp/base.txt" <<'EOF'
            vmm   101 [000]    10.000000000: kvm:kvm_memslot_lock_begin: vm=1 pid=101 slot=1 flags=R|W
      vmm two   102 [001]    10.000100000: kvm:kvm_memslot_lock_begin: vm=2 pid=102 slot=1 flags=R
            vmm   101 [000]    10.000200000: kvm:kvm_memslot_pin: vm=1 pid=101 slot=1 hva=0x7f00 npages=4 writable=1 retries=0 duration_ns=100
            vmm   101 [000]    10.001000000: kvm:kvm_memslot_lock_end: vm=1 pid=101 slot=1 flags=R|W npages=4 ret=0 duration_ns=1000000
      vmm two   102 [001]    10.004100000: kvm:kvm_memslot_lock_end: vm=2 pid=102 slot=1 flags=R npages=0 ret=-16 duration_ns=4000000
            vmm   101 [000]    10.010000000: kvm:kvm_memslot_lock_begin: vm=1 pid=101 slot=2 flags=R
            vmm   101 [000]    10.012000000: kvm:kvm_memslot_lock_end: vm=1 pid=101 slot=2 flags=R npages=8 ret=0 duration_ns=2000000
            vmm   101 [000]    10.020000000: kvm:kvm_memslot_unlock_begin: vm=1 pid=101 slot=1 all=0
            vmm   101 [000]    10.020500000: kvm:kvm_memslot_unlock_end: vm=1 pid=101 slot=1 all=0 nr_slots=1 ret=0 duration_ns=500000
            vmm   101 [000]    10.030000000: kvm:kvm_memslot_unlock_end: vm=1 pid=101 slot=2 all=0 nr_slots=1 ret=0 duration_ns=1
EOF
# perf script -F comm,pid,tid,time,event,trace: "pid/tid", no cpu column.
cat >"$tmp/new.txt" <<'EOF'
 vmm 300/301 20.000000000: kvm:kvm_memslot_lock_begin: vm=5 pid=300 slot=1 flags=R|W
 vmm 300/301 20.000500000: kvm:kvm_memslot_lock_end: vm=5 pid=300 slot=1 flags=R|W npages=4 ret=0 duration_ns=500000
 vmm 300/301 20.001000000: kvm:kvm_memslot_lock_begin: vm=5 pid=300 slot=1 flags=R|W
 vmm 300/301 20.003000000: kvm:kvm_memslot_lock_end: vm=5 pid=300 slot=1 flags=R|W npages=4 ret=0 duration_ns=2000000
 vmm 300/301 20.004000000: kvm:kvm_memslot_unlock_begin: vm=5 pid=300 slot=1 all=1
 vmm 300/301 20.005000000: kvm:kvm_memslot_unlock_end: vm=5 pid=300 slot=1 all=1 nr_slots=1 ret=0 duration_ns=1000000
EOF

out=$("$TOOL" "$tmp/base.txt" 2>"$tmp/err")
expect "one kernel: counts, failures, min/avg/p50/p99/max" \
"op      kernel   count errors     min_us     avg_us     p50_us     p99_us     max_us
lock    kernel       3      1     1000.0     2333.3     2000.0     4000.0     4000.0
unlock  kernel       1      0      500.0      500.0      500.0      500.0      500.0" "$out"
expect "an end without a begin is dropped and reported" \
	"perf-lock-latency: $tmp/base.txt: 1 end event(s) without a begin" "$(cat "$tmp/err")"

out=$("$TOOL" "$tmp/base.txt" "$tmp/new.txt" 2>/dev/null)
expect "two kernels: rows for each and new/base ratios" \
"op      kernel   count errors     min_us     avg_us     p50_us     p99_us     max_us
lock    base         3      1     1000.0     2333.3     2000.0     4000.0     4000.0
lock    new          2      0      500.0     1250.0      500.0     2000.0     2000.0
unlock  base         1      0      500.0      500.0      500.0      500.0      500.0
unlock  new          1      0     1000.0     1000.0     1000.0     1000.0     1000.0
lock    new/base                               0.54x      0.25x      0.50x      0.50x
unlock  new/base                               2.00x      2.00x      2.00x      2.00x" "$out"

"$TOOL" >/dev/null 2>"$tmp/err"
expect "no argument: usage and exit 2" "2 1" "$? $(wc -l <"$tmp/err")"
"$TOOL" "$tmp/missing.txt" >/dev/null 2>"$tmp/err"
expect "unreadable file: one line and exit 1" \
	"1 perf-lock-latency: cannot read $tmp/missing.txt" "$? $(cat "$tmp/err")"

finish perf-lock-latency
