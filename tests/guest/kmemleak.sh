#!/bin/sh
# Run last on the kasan kernel (tests/vm/kmemleak-tests.list): kmemleak must
# find no object that nothing points to any more, after every other test.
# A scan reports only objects unchanged since the scan before (their
# checksum) and older than 5 s: the first scan records them, the second,
# begun 7 s or more after this script (the first takes tens of seconds
# here, so it rarely waits), reports.
K=/sys/kernel/debug/kmemleak
. "$(dirname "$0")/lib.sh"

[ -w $K ]
result $? "kmemleak is in this kernel ($K)"
[ $fail = 0 ] || exit 1
start=$(date +%s)
echo scan >$K
rc=$?
rest=$((start + 7 - $(date +%s)))
[ $rest -le 0 ] || sleep $rest
[ $rc = 0 ] && echo scan >$K
result $? "kmemleak scanned"
cat $K >/tmp/kmemleak.txt
leaks=$(grep -c '^unreferenced object' /tmp/kmemleak.txt)
[ "$leaks" = 0 ]
result $? "no unreferenced object ($leaks found)"
head -n 60 /tmp/kmemleak.txt
exit $fail
