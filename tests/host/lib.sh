# Helpers of the host tests that compare a tool's output with what it must
# be: source after scripts/lib.sh. Gives $tmp (removed on exit), expect and
# finish.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

expect() { # name, expected, actual
	if [ "$2" = "$3" ]; then
		passed=$((passed + 1)); echo "ok - $1"
	else
		failed=$((failed + 1)); echo "not ok - $1"
		diff <(echo "$2") <(echo "$3") | sed 's/^/#   /'
	fi
}

finish() { # suite name: the summary line check.sh counts; fails on a failure
	echo "$1: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
