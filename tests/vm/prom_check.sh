#!/usr/bin/env bash
# The Prometheus files kvmlock-top wrote in the test VM (guest test
# kvmlock_top: results/kvmlock-top-prom/step-N.prom, the --prom-file of the
# kvmlock-top following the events, copied after each step, with the
# step's ground truth in step-N.truth), checked on the host with the real
# tools:
#  - promtool check metrics accepts every file, without a lint message;
#  - each file holds exactly the step's ground truth: the VMs alive, with
#    their VMM's pid (kvmlock_vm_info), locked slots, pages, RW and RO
#    bytes, and one kvmlock_vmm_locked_bytes series per VMM of those VMs;
#  - the host's counters: RLIMIT_MEMLOCK refusals 0 before the refusal's
#    step and its count from then on, after the refused VM is gone too;
#    successful LOCKs never fewer than in the step before;
#  - a real node_exporter serves the file of the step where RLIMIT_MEMLOCK
#    refused a LOCK, a real prometheus scrapes it, and PromQL over its HTTP
#    API gives that step's locked bytes per VM and the refusal.
#   prom_check.sh RESULTS_DIR      (check.sh runs it after the test VM)
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$TOP/tests/host/lib.sh"
. "$TOP/tests/prometheus/lib.sh"
trap 'prom_stop; rm -rf "$tmp"' EXIT

DIR=${1:?usage: prom_check.sh RESULTS_DIR}/kvmlock-top-prom

# A file's VMs in the guest test's ground-truth format (without memlock,
# which is the locked bytes: the JSON has it, the metrics do not), by VM id.
rows() {
	awk '
	function label(name,   m) {
		if (match($0, name "=\"[^\"]*\"")) {
			m = substr($0, RSTART + length(name) + 2, RLENGTH - length(name) - 3)
			return m
		}
		return ""
	}
	/^kvmlock_/ {
		vm = label("vm")
		if (vm == "")
			next
		split($1, n, "{")
		if (n[1] == "kvmlock_vm_info") pid[vm] = label("pid")
		else if (n[1] == "kvmlock_locked_slots") slots[vm] = $2
		else if (n[1] == "kvmlock_locked_pages") pages[vm] = $2
		else if (n[1] == "kvmlock_locked_bytes") {
			if (label("mode") == "rw") rw[vm] = $2
			else ro[vm] = $2
		}
	}
	END {
		for (vm in slots)
			printf "%s pid=%s slots=%s pages=%s bytes=%s rw=%s ro=%s\n",
				vm, pid[vm], slots[vm], pages[vm], rw[vm] + ro[vm], rw[vm],
				ro[vm]
	}' "$1" | sort -n
}

# The value of a series of FILE, as written (NAME{LABELS}), or nothing
value() {
	awk -v s="$2" '$1 == s { print $2 }' "$1"
}

missing=$(prom_missing promtool prometheus prometheus-node-exporter curl jq python3)
[ -z "$missing" ] || not_ok "the Prometheus tools are there (make deps; Prometheus's in $PROM_BIN)" "missing:$missing"

acct=$(ls "$DIR"/step-*.account_failures 2>/dev/null | head -n 1)
acct_step=${acct##*/step-}
acct_step=${acct_step%.account_failures}
n=0 prev_ok=0
for f in $(ls "$DIR"/step-*.prom 2>/dev/null | sort -V); do
	n=$((n + 1))
	step=${f##*/}
	step=${step%.prom}
	prom_lint "$f" "$step.prom"
	expect "$step.prom holds the step's ground truth" \
		"$(sed 's/ memlock=[0-9]*//' "${f%.prom}.truth")" "$(rows "$f")"
	expect "$step.prom: one kvmlock_vmm_locked_bytes per VMM of the truth" \
		"$(grep -o ' pid=[0-9]*' "${f%.prom}.truth" | cut -d= -f2 | sort -un)" \
		"$(sed -n 's/^kvmlock_vmm_locked_bytes{pid="\([0-9]*\)"} .*/\1/p' "$f" | sort -n)"
	want=0
	[ -z "$acct" ] || [ "${step#step-}" -lt "$acct_step" ] || want=$(cut -d' ' -f2 "$acct")
	expect "$step.prom: kvmlock_host_memlock_account_failures_total (refused at step ${acct_step:-?})" \
		"$want" "$(value "$f" kvmlock_host_memlock_account_failures_total)"
	locks_ok=$(value "$f" 'kvmlock_host_lock_operations_total{result="ok"}')
	check "$step.prom: kvmlock_host_lock_operations_total{result=\"ok\"} $locks_ok, $prev_ok before" \
		test "${locks_ok:--1}" -ge "$prev_ok"
	prev_ok=${locks_ok:-0}
done
check "the guest test kept the files of its 10 steps ($n)" test $n -ge 10

if [ -n "$acct" ] && [ -z "$missing" ]; then
	f=${acct%.account_failures}
	read -r vm_refused refusals <"$acct"
	mkdir -p "$tmp/textfile"
	cp "$f.prom" "$tmp/textfile/kvmlock.prom"
	prom_start "$tmp/textfile"
	if prom_wait_for 200 prom_scraped; then
		expect "PromQL sum by (vm) (kvmlock_locked_bytes): the step's bytes per VM" \
			"$(sed -E 's/^([0-9]+) .* bytes=([0-9]+) .*/\1=\2/' "$f.truth" | sort)" \
			"$(prom_query vm 'sum by (vm) (kvmlock_locked_bytes)')"
		expect "PromQL kvmlock_memlock_account_failures_total: VM $vm_refused refused once" \
			"$vm_refused=$refusals" \
			"$(prom_query vm 'kvmlock_memlock_account_failures_total > 0')"
	else
		not_ok "prometheus scrapes node_exporter serving ${f##*/}.prom" \
			"$(tail -n 20 "$tmp/prometheus.log" "$tmp/node.log")"
	fi
else
	not_ok "the guest test kept the step of the RLIMIT_MEMLOCK refusal"
fi

finish prom-files
