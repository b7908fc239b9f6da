# The test VM's console (without \r) split by test, for tests/vm/report.sh
# and tests/vm/watchdog.sh:
#
#   awk -v meta=TESTS_META [-v begun=FILE] [-v mode=state] -f console.awk CONSOLE
#
# The guest runner prints "KVMLOCK-TEST-BEGIN <name>" and "KVMLOCK-TEST-END
# <name> rc=<N>" on lines of their own, but a printk from another CPU can
# land before a marker or between it and its line end. So a marker counts
# wherever it sits on a line, its name being the longest test name of
# TESTS_META ("<name> <timeout> [tags...]") it starts with, and the text
# around it is console text: before a BEGIN outside any test, after it
# inside that test, before an END inside the test, after it outside. A
# marker naming no listed test begins a stretch that is outside any test.
#
# Default mode: every piece of console text, as "<test>\t<text>", <test>
# being "-" outside any test; the names of the tests that began go to FILE.
# mode=state: one line "<booted 0|1> <tests begun> <current test or ->
# <last test begun or ->".
BEGIN {
	while ((getline line < meta) > 0) {
		split(line, w, " ")
		if (w[1] != "" && w[1] !~ /^#/)
			known[w[1]] = 1
	}
	close(meta)
	cur = "-"
}

function emit(text) {
	if (mode != "state" && text ~ /[^[:space:]]/)
		print ((cur in known) ? cur : "-") "\t" text
}

# The test name at the start of s: the longest listed name it starts with,
# else its first word.
function name_at(s,   n, best) {
	best = ""
	for (n in known)
		if (length(n) > length(best) && substr(s, 1, length(n)) == n)
			best = n
	if (best == "") {
		match(s, /^[^[:space:]]*/)
		best = substr(s, 1, RLENGTH)
	}
	return best
}

{
	if (index($0, "KVMLOCK-BOOTED"))
		booted = 1
	s = $0
	while (1) {
		b = index(s, "KVMLOCK-TEST-BEGIN ")
		e = index(s, "KVMLOCK-TEST-END ")
		if (!b && !e)
			break
		if (b && (!e || b < e)) {
			emit(substr(s, 1, b - 1))
			s = substr(s, b + 19)
			cur = name_at(s)
			s = substr(s, length(cur) + 1)
			last = cur
			begins++
			if (mode != "state" && begun != "")
				print cur >begun
		} else {
			emit(substr(s, 1, e - 1))
			s = substr(s, e + 17)
			s = substr(s, length(name_at(s)) + 1)
			sub(/^ rc=-?[0-9]+/, "", s)
			cur = "-"
		}
	}
	emit(s)
}

END {
	if (mode == "state")
		print booted + 0, begins + 0, ((cur in known) ? cur : "-"), (last == "" ? "-" : last)
	else if (begun != "")
		printf "" >>begun
}
