#!/usr/bin/env bash
# tests/guest/lib.sh's jq wrapper on the host, with the host's sh (dash) and
# timeout in place of busybox's, and a stand-in jq that hangs on its first
# run: a run over JQ_LIMIT is killed and run again; what the caller
# captures with 2>&1 is jq's output alone (no "Killed" from the shell, no
# note); jq's own errors still reach stderr, with its exit status; the
# summary line names the runs that were killed.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"

mkdir -p "$tmp/bin"
cat >"$tmp/bin/jq" <<EOF
#!/bin/sh
if [ ! -e "$tmp/hung" ]; then touch "$tmp/hung"; sleep 30; fi
exec "$(command -v jq)" "\$@"
EOF
chmod +x "$tmp/bin/jq"
cat >"$tmp/t.sh" <<EOF
. "$TOP/tests/guest/lib.sh"
passed=0 failed=0
got=\$(echo '{"a":1}' | jq -c .a 2>&1)
echo "got=[\$got]"
bad=\$(echo 'nope' | jq . 2>&1)
echo "rc=\$? bad=[\$bad]"
summary
EOF
out=$(cd "$tmp" && TMPDIR=$tmp PATH=$tmp/bin:$PATH JQ_LIMIT=2 sh "$tmp/t.sh" 2>&1)
expect "a jq run killed at JQ_LIMIT and run again: its caller sees jq's output only" \
	"got=[1]
rc=4 bad=[parse error: Invalid literal at line 2, column 0]
# jq ran over 2s and was run again 1 time(s):
#   jq -c .a
t: 0 passed, 0 failed" "$out"
expect "... summary removes the count of the runs killed" "" \
	"$(find "$tmp" -name 'kvmlock-jq-reruns.*')"

finish guest-lib
