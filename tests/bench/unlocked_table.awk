#!/usr/bin/awk -f
# Figures of memslot_perf_test ("Best runtime result") and
# kvm_page_table_test ("<STAGE>: total execution time") from the kernel
# without the series (first file) and with it (second), as a markdown table.
FNR == 1 { k = FILENAME == ARGV[1] ? "b" : "s"; mode = "" }
/^Testing .* performance/ { test = $0; sub(/^Testing /, "", test); sub(/ performance.*/, "", test) }
/^Testing guest mode:/ { mode = $0; sub(/^Testing guest mode: */, "", mode) }
/^Best runtime result was/ { add("memslot_perf_test " test, $5) }
/: total execution time:/ {
	stage = $1; sub(/:$/, "", stage)
	v = $NF; sub(/s$/, "", v)
	add("kvm_page_table_test " stage " (" mode ")", v)
}
function add(name, v) {
	sub(/s$/, "", v)
	if (!((k, name) in fig)) { if (!(name in seen)) { seen[name] = 1; order[++n] = name } }
	fig[k, name] = v
}
END {
	print "| figure | without the series | with it | with/without |"
	print "|---|---:|---:|---:|"
	for (i = 1; i <= n; i++) {
		name = order[i]
		r = fig["b", name] > 0 ? sprintf("%.2f", fig["s", name] / fig["b", name]) : "-"
		printf "| %s | %s | %s | %s |\n", name, fig["b", name], fig["s", name], r
	}
}
