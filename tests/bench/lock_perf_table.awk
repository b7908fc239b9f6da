#!/usr/bin/awk -f
# Join memslot_lock_bench output of the baseline kernel (first file) and of
# the full series (second) into markdown tables, and check the targets of
# the performance work against the figures of the largest memslot.
#   case SIZE_MIB NAME P50_US P90_US [unlock P50_US P90_US]
#   thp SIZE_MIB THP_MIB
function ms(us) { return sprintf("%.1f", us / 1000) }
function ratio(a, b) { return b > 0 ? sprintf("%.1fx", a / b) : "-" }
function verdict(ok) { return ok ? "**met**" : "**missed**" }
$1 == "tracking" {
	k = FILENAME == ARGV[1] ? "b" : "s"
	track[k, $2] = $3; tpages[k, $2] = $4; tsizes[$2] = 1
	if ($2 + 0 > tmax + 0) tmax = $2
	next
}
$1 == "thp" {
	thp[FILENAME == ARGV[1] ? "b" : "s", $2] = $3
	next
}
$1 == "case" {
	k = FILENAME == ARGV[1] ? "b" : "s"
	key = $2 SUBSEP $3
	if (!(key in seen)) { seen[key] = 1; order[++n] = key }
	p50[k, key] = $4; p90[k, key] = $5
	if ($6 == "unlock") { u50[k, key] = $7; u90[k, key] = $8; has_unlock[key] = 1 }
	if ($2 + 0 > max + 0) max = $2
}
END {
	print "Times in ms, median / p90. Speed-up: baseline median / series median."
	print ""
	print "| MiB | case | baseline lock | series lock | lock speed-up | baseline unlock | series unlock | unlock speed-up |"
	print "|---:|---|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= n; i++) {
		key = order[i]; split(key, f, SUBSEP)
		line = "| " f[1] " | " f[2] " | " ms(p50["b", key]) " / " ms(p90["b", key]) " | " \
		       ms(p50["s", key]) " / " ms(p90["s", key]) " | " ratio(p50["b", key], p50["s", key]) " | "
		if (key in has_unlock)
			line = line ms(u50["b", key]) " / " ms(u90["b", key]) " | " ms(u50["s", key]) " / " \
			       ms(u90["s", key]) " | " ratio(u50["b", key], u50["s", key]) " |"
		else
			line = line "| | |"
		print line
	}
	print ""
	print "Tracking memory (bytes KVM allocated while locking, measured with bpftrace), per locked page:"
	print ""
	print "| MiB | baseline | series |"
	print "|---:|---:|---:|"
	for (m in tsizes)
		printf "| %s | %.4f | %.4f |\n", m, tpages["b", m] ? track["b", m] / tpages["b", m] : 0,
		       tpages["s", m] ? track["s", m] / tpages["s", m] : 0
	if ((("s", max) in thp))
		printf "\nTHP-backed memslot (`lock-rw-thp-*`, `mlock-thp-*`): %s of %s MiB in huge pages (baseline run: %s).\n",
		       thp["s", max], max, thp["b", max]
	lk = max SUBSEP "lock-rw-prefaulted"; ml = max SUBSEP "mlock-prefaulted"
	print ""
	print "Targets, " max " MiB memslot, series kernel:"
	print ""
	speed = p50["s", lk] > 0 ? p50["b", lk] / p50["s", lk] : 0
	printf "- lock pre-faulted >= 10x faster than the baseline: %.1fx, %s\n", speed, verdict(speed >= 10)
	# Informative: a first lock, with nothing of the memslot at stage 2.
	for (c = 1; c <= 2; c++) {
		fk = max SUBSEP (c == 1 ? "lock-rw-prefaulted-unlock-before-run" : "lock-rw-thp-prefaulted-unlock-before-run")
		if (p50["s", fk] > 0)
			printf "  - first lock (stage 2 empty), %s: %.1fx\n", c == 1 ? "4 KiB pages" : "THP-backed",
			       p50["b", fk] / p50["s", fk]
	}
	vs = p50["s", ml] > 0 ? p50["s", lk] / p50["s", ml] : 0
	printf "- lock pre-faulted <= 2x mlock() of the same range: %.2fx, %s\n", vs, verdict(vs > 0 && vs <= 2)
	worst = 0
	for (i = 1; i <= n; i++) {
		key = order[i]
		if ((key in has_unlock) && index(key, "lock-") == index(key, SUBSEP) + 1 && p50["s", key] > 0 &&
		    u50["s", key] / p50["s", key] > worst)
			worst = u50["s", key] / p50["s", key]
	}
	printf "- unlock <= lock, every case: worst unlock/lock %.2f, %s\n", worst, verdict(worst <= 1)
	# Per page: the slope between the smallest and the largest memslot,
	# without the fixed cost of a memslot's lock (40 bytes).
	min = tmax
	for (m in tsizes)
		if (m + 0 < min + 0)
			min = m
	if (tpages["s", tmax] > tpages["s", min]) {
		slope = (track["s", tmax] - track["s", min]) / (tpages["s", tmax] - tpages["s", min])
		printf "- tracking <= 8 bytes per locked page: %.2f per page (%s MiB to %s MiB) plus %d per memslot, %s\n",
		       slope, min, tmax, track["s", min] - slope * tpages["s", min], verdict(slope <= 8)
	}
}
