#!/bin/sh
# Run last on the kasan kernel (tests/vm/kmemleak-tests.list): kmemleak must
# find no object that nothing points to any more, after every other test.
# Objects younger than 5 s are never reported, hence the wait; a second scan
# confirms what the first found.
K=/sys/kernel/debug/kmemleak
. "$(dirname "$0")/lib.sh"

[ -w $K ]
result $? "kmemleak is in this kernel ($K)"
[ $fail = 0 ] || exit 1
sleep 6
echo scan >$K && echo scan >$K
result $? "kmemleak scanned"
cat $K >/tmp/kmemleak.txt
leaks=$(grep -c '^unreferenced object' /tmp/kmemleak.txt)
[ "$leaks" = 0 ]
result $? "no unreferenced object ($leaks found)"
head -n 60 /tmp/kmemleak.txt
exit $fail
