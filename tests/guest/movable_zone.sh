#!/bin/sh
# First in the movable-zone boot (tests/vm/movable-tests.list): the kernel
# must have a ZONE_MOVABLE with pages in it (movablecore= on its command
# line). memslot_lock_limits requires pages migrated out of it only when
# there is one, so without this check a boot that lost its movable zone
# would pass.
. "$(dirname "$0")/lib.sh"

# "Node N, zone   Movable" starts the zone's block; its "present" line
# follows.
present=$(awk '/^Node .*, zone/ { movable = ($NF == "Movable") }
	movable && $1 == "present" { n += $2 } END { print n + 0 }' /proc/zoneinfo)
grep -o 'movablecore=[^ ]*' /proc/cmdline
[ "$present" -gt 0 ]
result $? "a movable zone with pages present ($present pages)"
exit $fail
