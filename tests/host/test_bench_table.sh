#!/usr/bin/env bash
# tests/bench/lock_perf_table.awk turns the memslot_lock_bench output of
# the two kernels into the table of docs/performance.md and judges the
# targets on the largest memslot: exact rows, ratios and verdicts, from
# fixed figures (including a missed target for each kind).
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

AWK=$TOP/tests/bench/lock_perf_table.awk
. "$(dirname "$0")/lib.sh"

# Times in microseconds; tracking: "tracking MIB BYTES PAGES".
cat >"$tmp/base.log" <<'EOF'
case 64 lock-rw-prefaulted 400000 500000 unlock 2000 3000
case 64 lock-rw-prefaulted-unlock-before-run 30000 40000 unlock 350000 360000
case 1024 lock-rw-prefaulted 7000000 8000000 unlock 25000 26000
case 1024 lock-rw-prefaulted-unlock-before-run 560000 570000 unlock 6300000 6400000
case 1024 mlock-prefaulted 200000 210000 unlock 100000 110000
case 1024 lock-rw-thp-prefaulted-unlock-before-run 520000 530000 unlock 3500000 3600000
thp 1024 1024
case 1024 populate-write 800000 810000
tracking 64 131424 16384
tracking 1024 2097504 262144
EOF
cat >"$tmp/series.log" <<'EOF'
case 64 lock-rw-prefaulted 20000 21000 unlock 1800 1900
case 64 lock-rw-prefaulted-unlock-before-run 6000 7000 unlock 4000 4100
case 1024 lock-rw-prefaulted 280000 290000 unlock 24000 25000
case 1024 lock-rw-prefaulted-unlock-before-run 93000 94000 unlock 65000 66000
case 1024 mlock-prefaulted 200000 210000 unlock 100000 110000
case 1024 lock-rw-thp-prefaulted-unlock-before-run 3400 3500 unlock 2800 2900
thp 1024 1000
case 1024 populate-write 800000 810000
tracking 64 131424 16384
tracking 1024 2097504 262144
EOF
out=$(awk -f "$AWK" "$tmp/base.log" "$tmp/series.log")
expect "a row: both kernels' median / p90 in ms, lock and unlock speed-ups" \
	"| 1024 | lock-rw-prefaulted-unlock-before-run | 560.0 / 570.0 | 93.0 / 94.0 | 6.0x | 6300.0 / 6400.0 | 65.0 / 66.0 | 96.9x |" \
	"$(grep '^| 1024 | lock-rw-prefaulted-unlock-before-run ' <<<"$out")"
expect "a case without unlock leaves the unlock columns empty" \
	"| 1024 | populate-write | 800.0 / 810.0 | 800.0 / 810.0 | 1.0x | | | |" \
	"$(grep '^| 1024 | populate-write ' <<<"$out")"
expect "rows in the order of the first file" \
	"64 lock-rw-prefaulted,64 lock-rw-prefaulted-unlock-before-run,1024 lock-rw-prefaulted,1024 lock-rw-prefaulted-unlock-before-run,1024 mlock-prefaulted,1024 lock-rw-thp-prefaulted-unlock-before-run,1024 populate-write," \
	"$(awk -F' [|] ' '/^[|] [0-9]+ [|] [a-z]/ { sub(/^[|] /, ""); printf "%s %s,", $1, $2 }' <<<"$out")"
expect "targets on the largest memslot, verdicts and first-lock ratios" \
	"- lock pre-faulted >= 10x faster than the baseline: 25.0x, **met**
  - first lock (stage 2 empty), 4 KiB pages: 6.0x
  - first lock (stage 2 empty), THP-backed: 152.9x
- lock pre-faulted <= 2x mlock() of the same range: 1.40x, **met**
- unlock <= lock, every case: worst unlock/lock 0.82, **met**
- tracking <= 8 bytes per locked page: 8.00 per page (64 MiB to 1024 MiB) plus 352 per memslot, **met**" \
	"$(sed -n '/^- lock pre-faulted >= 10x/,$p' <<<"$out")"
expect "THP share of the largest memslot, both kernels" \
	"THP-backed memslot (\`lock-rw-thp-*\`, \`mlock-thp-*\`): 1000 of 1024 MiB in huge pages (baseline run: 1024)." \
	"$(grep '^THP-backed memslot' <<<"$out")"

# Missed targets: a slow lock, a slow unlock, 16 bytes per page.
sed -e 's/^case 1024 lock-rw-prefaulted 280000 290000 unlock 24000 25000$/case 1024 lock-rw-prefaulted 900000 910000 unlock 1000000 1000000/' \
	-e 's/^tracking 1024 2097504 262144$/tracking 1024 4194656 262144/' \
	-e 's/^tracking 64 131424 16384$/tracking 64 262496 16384/' \
	"$tmp/series.log" >"$tmp/slow.log"
out=$(awk -f "$AWK" "$tmp/base.log" "$tmp/slow.log")
expect "missed targets say so" \
	"- lock pre-faulted >= 10x faster than the baseline: 7.8x, **missed**
- lock pre-faulted <= 2x mlock() of the same range: 4.50x, **missed**
- unlock <= lock, every case: worst unlock/lock 1.11, **missed**
- tracking <= 8 bytes per locked page: 16.00 per page (64 MiB to 1024 MiB) plus 352 per memslot, **missed**" \
	"$(sed -n '/^- /p' <<<"$out")"

finish bench-table
