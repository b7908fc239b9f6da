#!/usr/bin/env bash
# kvmlock-top --prom-file with the real Prometheus tools on the host:
#  - promtool check metrics accepts, without a lint message, every file
#    the unit tests render (written by kt_prom_write(), KT_PROM_OUT), and
#    does complain about a bad one (so its silence means something);
#  - promtool check rules and test rules pass on the alerting rules;
#  - the tool refuses a --prom-file it cannot write, in one line, before
#    anything else;
#  - end to end: a real prometheus-node-exporter serves the fixture file
#    from its textfile directory, a real prometheus scrapes it each second
#    and evaluates the rules, and its HTTP API returns the fixture's
#    figures exactly;
#  - the man page lints clean with mandoc and names every option;
#  - make install puts the tool, the man page, the rules and their
#    runbooks in place, each runbook_url at its alert's heading there.
# Fails closed: a missing tool is a failure, not a skip. Both daemons run
# on 127.0.0.1, on free ports, and are stopped on exit whatever happens.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/prometheus/lib.sh"

OUT=$BUILD/inspector
TOOL=$OUT/host/kvmlock-top
RULES=$TOP/inspector/kvmlock-top.rules.yml
MAN=$TOP/inspector/kvmlock-top.8

trap 'prom_stop; rm -rf "$tmp"' EXIT

missing=$(prom_missing promtool prometheus prometheus-node-exporter mandoc curl jq python3)
if [ -n "$missing" ]; then
	not_ok "the tools are there (make deps; Prometheus's in $PROM_BIN)" "missing:$missing"
	finish test_kvmlock_top_prom
	exit
fi

build_inspector test_kvmlock_top_prom

# --- the rendered files, through promtool -------------------------------

mkdir -p "$tmp/prom"
if out=$(KT_PROM_OUT=$tmp/prom "$OUT/host/test_report" 2>&1); then
	ok "the unit tests pass and leave their .prom files"
else
	not_ok "the unit tests pass and leave their .prom files" "$out"
fi
n=0
for f in "$tmp"/prom/*.prom; do
	[ -e "$f" ] || continue
	n=$((n + 1))
	prom_lint "$f" "${f##*/}"
done
expect "six files rendered (fixture, no VMs, escaping, VMM gone, VMM shared, second interval)" 6 "$n"
printf '# HELP kvmlock_x A counter without _total.\n# TYPE kvmlock_x counter\nkvmlock_x 1\n' >"$tmp/bad.prom"
expect_fail "promtool check metrics complains about a counter without _total" \
	'should have "_total" suffix' sh -c 'promtool check metrics <"$1"' _ "$tmp/bad.prom"

# --- the rules ----------------------------------------------------------

out=$(promtool check rules "$RULES" 2>&1)
rc=$?
if [ $rc -eq 0 ] && grep -q 'SUCCESS: 7 rules found' <<<"$out"; then
	ok "promtool check rules: 7 rules"
else
	not_ok "promtool check rules (exit $rc)" "$out"
fi
check "promtool test rules: each alert fires, and only where it should" \
	promtool test rules "$TOP/tests/prometheus/kvmlock-top.rules.test.yml"

# --- --prom-file errors, one line, exit 1 -------------------------------

prom_err() { # name, expected message, --prom-file argument, [runner...]
	local name=$1 want=$2 file=$3 out rc
	shift 3
	out=$("$@" "$TOOL" -b --prom-file "$file" 1 1 2>&1)
	rc=$?
	if [ $rc -eq 1 ] && [ "$out" = "kvmlock-top: $want" ]; then
		ok "--prom-file $name: one line, exit 1"
	else
		not_ok "--prom-file $name (exit $rc, want 1 and '$want')" "$out"
	fi
}
prom_err "in a missing directory" \
	"--prom-file $tmp/none/kvmlock.prom: directory $tmp/none does not exist" \
	"$tmp/none/kvmlock.prom"
prom_err "naming a directory" "--prom-file $tmp: a directory, not a file" "$tmp"
mkdir -p "$tmp/ro"
chmod 0711 "$tmp"
chmod 0755 "$tmp/ro"
prom_err "in a directory nobody cannot write, as nobody" \
	"--prom-file $tmp/ro/kvmlock.prom: cannot create files in $tmp/ro: Permission denied" \
	"$tmp/ro/kvmlock.prom" setpriv --reuid=65534 --regid=65534 --clear-groups
# A writable directory: past that check, to the next one (this host has
# no kvm_memslot_* events), and the probe file is gone.
out=$("$TOOL" -b --prom-file "$tmp/ro/kvmlock.prom" 1 1 2>&1)
if [[ $out == "kvmlock-top: the kernel lacks 9 of the 9 kvm_memslot_* trace events"* ]] &&
	[ -z "$(ls -A "$tmp/ro")" ]; then
	ok "--prom-file in a writable directory: accepted, nothing left there"
else
	not_ok "--prom-file in a writable directory: accepted, nothing left there" \
		"$out"$'\n'"$(ls -A "$tmp/ro")"
fi
out=$("$TOOL" --prom-file '' 2>&1)
rc=$?
expect "--prom-file '': exit 2, one line" "2 kvmlock-top: invalid --prom-file '': a file name" "$rc $out"

# --- end to end: node_exporter, then prometheus, on the fixture ---------

textdir=$tmp/textfile
mkdir -p "$textdir"
cp "$tmp/prom/fixture.prom" "$textdir/kvmlock.prom"
prom_start "$textdir" "$RULES"
metrics() { curl -sf "http://127.0.0.1:$node_port/metrics" >"$tmp/node.metrics"; }
if prom_wait_for 100 metrics && grep -qx 'node_textfile_scrape_error 0' "$tmp/node.metrics" &&
	grep -q '^kvmlock_locked_bytes{mode="rw",vm="2"} 262144$' \
		"$tmp/node.metrics"; then
	ok "node_exporter serves the file: no scrape error, the kvmlock metrics"
else
	not_ok "node_exporter serves the file: no scrape error, the kvmlock metrics" \
		"$(cat "$tmp/node.log"; grep -E 'textfile|kvmlock_locked_bytes' "$tmp/node.metrics" 2>/dev/null)"
fi
rules_ok() {
	[ "$(curl -sf "http://127.0.0.1:$prom_port/api/v1/rules" |
		jq -c '[.data.groups[].rules[] | .health] | unique')" = '["ok"]' ]
}
if prom_wait_for 200 prom_scraped; then
	ok "prometheus scrapes node_exporter: kvmlock_exporter_build_info{version=\"0.1\"} 1"
	expect "sum by (vm) (kvmlock_locked_bytes): the fixture's bytes" \
		$'2=327680\n3=0' "$(prom_query vm 'sum by (vm) (kvmlock_locked_bytes)')"
	expect "kvmlock_locked_bytes{mode=\"ro\"}" $'2=65536\n3=0' \
		"$(prom_query vm 'kvmlock_locked_bytes{mode="ro"}')"
	expect "kvmlock_memlock_account_failures_total" $'2=1\n3=0' \
		"$(prom_query vm kvmlock_memlock_account_failures_total)"
	expect "kvmlock_vmm_memlock_limit_bytes, by pid: VMM 60 unlimited, +Inf" \
		$'59=1310720\n60=+Inf' "$(prom_query pid kvmlock_vmm_memlock_limit_bytes)"
	expect "kvmlock_vmm_locked_bytes / kvmlock_vmm_memlock_limit_bytes, by pid" \
		$'59=0.25\n60=0' "$(prom_query pid 'kvmlock_vmm_locked_bytes / kvmlock_vmm_memlock_limit_bytes')"
	expect "sum(kvmlock_vmm_locked_bytes): each VMM once" "=327680" \
		"$(prom_query x 'sum(kvmlock_vmm_locked_bytes)')"
	expect "kvmlock_lock_operations_total by result" $'failed=1\nok=2' \
		"$(prom_query result 'sum by (result) (kvmlock_lock_operations_total)')"
	expect "VM 2's lock durations: _count, _sum" "2=2 2=0.002739976" \
		"$(prom_query vm 'kvmlock_lock_duration_seconds_count{vm="2"}') $(prom_query vm 'kvmlock_lock_duration_seconds_sum{vm="2"}')"
	expect "the host's histogram: a bucket, the p50 (in the first bucket, 16 us)" "=2 =0.00001228725" \
		"$(prom_query x 'kvmlock_host_lock_duration_seconds_bucket{le="0.002097151"}') $(prom_query x 'histogram_quantile(0.5, kvmlock_host_lock_duration_seconds_bucket)')"
	expect "a VM's figure joined to its VMM's pid and comm (kvmlock_vm_info)" "memslot_lock_te=80" \
		"$(prom_query comm 'kvmlock_locked_pages{vm="2"} * on (instance, job, vm) group_left (pid, comm) kvmlock_vm_info{pid="59"}')"
	expect "kvmlock_vm_info: QEMU's guest name and the cgroup, as written (the backslashes of systemd's escaping)" \
		'db01=1 /machine.slice/machine-qemu\x2d1\x2ddb01.scope=1' \
		"$(prom_query name 'kvmlock_vm_info{vm="3"}') $(prom_query cgroup 'kvmlock_vm_info{vm="3"}')"
	expect "host metrics: events received and lost, VMs" "=12 =3 =2" \
		"$(prom_query x kvmlock_events_received_total) $(prom_query x kvmlock_events_lost_total) $(prom_query x kvmlock_vms)"
	if prom_wait_for 100 rules_ok; then
		ok "prometheus evaluates the 7 rules on the real series: health ok"
	else
		not_ok "prometheus evaluates the 7 rules on the real series: health ok" \
			"$(curl -sf "http://127.0.0.1:$prom_port/api/v1/rules")"
	fi
else
	not_ok "prometheus scrapes node_exporter" \
		"$(tail -n 20 "$tmp/prometheus.log")"
fi
prom_stop

# --- the man page and make install --------------------------------------

out=$(mandoc -Tlint -W style "$MAN" 2>&1)
rc=$?
expect "mandoc -Tlint -W style kvmlock-top.8 (every level): silent, exit 0" "0 " "$rc $out"
# every long option of --help is in the page (roff writes - as \-)
page=$(sed 's/\\-/-/g' "$MAN") undocumented=
for opt in $("$TOOL" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	grep -qF -- "$opt" <<<"$page" || undocumented="$undocumented $opt"
done
expect "the man page names every option of --help" "" "$undocumented"

if out=$(make -C "$TOP" --no-print-directory install VMLINUX_BTF="$btf" DESTDIR="$tmp/dest" 2>&1); then
	expect "make install DESTDIR=...: the tool, the man page, the runbooks and the rules, 0755/0644/0644/0644" \
		"755 $tmp/dest/usr/local/sbin/kvmlock-top
644 $tmp/dest/usr/local/share/doc/kvmlock/kvmlock-top.md
644 $tmp/dest/usr/local/share/kvmlock/kvmlock-top.rules.yml
644 $tmp/dest/usr/local/share/man/man8/kvmlock-top.8" \
		"$(find "$tmp/dest" -type f -printf '%m %p\n' | sort -k2)"
	cmp -s "$TOOL" "$tmp/dest/usr/local/sbin/kvmlock-top" &&
		cmp -s "$RULES" "$tmp/dest/usr/local/share/kvmlock/kvmlock-top.rules.yml"
	expect "the installed files are the built tool and the rules" 0 $?
	# Each alert's runbook_url: the installed runbooks, at the alert's
	# heading (GitHub's anchor: the heading in lower case).
	bad=
	while read -r url; do
		file=${url%%#*} anchor=${url#*#}
		[ "$file" = "file:///usr/local/share/doc/kvmlock/kvmlock-top.md" ] &&
			grep -qix "#### $anchor" "$tmp/dest/usr/local/share/doc/kvmlock/kvmlock-top.md" ||
			bad="$bad $url"
	done < <(sed -n 's/^ *runbook_url: "\(.*\)"$/\1/p' "$tmp/dest/usr/local/share/kvmlock/kvmlock-top.rules.yml")
	expect "7 runbook_url, each the heading of its alert in the installed runbooks" \
		"7 " "$(grep -c 'runbook_url:' "$RULES") $bad"
else
	not_ok "make install DESTDIR=..." "$out"
fi
if out=$(make -C "$TOP" --no-print-directory install VMLINUX_BTF="$btf" DESTDIR="$tmp/dest2" PREFIX=/usr 2>&1); then
	expect "make install PREFIX=/usr" "$tmp/dest2/usr/sbin/kvmlock-top" \
		"$(find "$tmp/dest2" -name kvmlock-top -type f)"
	expect "make install PREFIX=/usr: runbook_url under /usr/share/doc" \
		"file:///usr/share/doc/kvmlock/kvmlock-top.md#kvmlockmemlocknearlimit" \
		"$(sed -n 's/^ *runbook_url: "\(.*nearlimit\)"$/\1/p' "$tmp/dest2/usr/share/kvmlock/kvmlock-top.rules.yml")"
	make -C "$TOP" --no-print-directory install VMLINUX_BTF="$btf" DESTDIR="$tmp/dest3" \
		RUNBOOK_BASE=https://wiki.example.org/kvmlock-top >/dev/null 2>&1
	expect "make install RUNBOOK_BASE=URL: runbook_url at that URL" \
		"https://wiki.example.org/kvmlock-top#kvmlockmemlocknearlimit" \
		"$(sed -n 's/^ *runbook_url: "\(.*nearlimit\)"$/\1/p' "$tmp/dest3/usr/local/share/kvmlock/kvmlock-top.rules.yml")"
else
	not_ok "make install PREFIX=/usr" "$out"
fi

finish test_kvmlock_top_prom
