#!/usr/bin/env bash
# include/kvmlock/uapi.h mirrors the series' UAPI additions for userspace
# built against the system's <linux/kvm.h>: every value it defines must be
# the one the patched kernel's headers define, and it must compile alone.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

MIRROR=$TOP/include/kvmlock/uapi.h
PATCHED=${KVMLOCK_KERNEL_DIR:?run from make check}/headers/include/linux/kvm.h
. "$(dirname "$0")/lib.sh"

defines() {
	sed -nE 's/^#define[[:space:]]+(KVM_(CAP_ARM_LOCK_USER_MEMORY_REGION|ARM_LOCK_[A-Z_]+|ARM_UNLOCK_[A-Z_]+))[[:space:]]+(.*)$/\1 \3/p' "$1" |
		sed -E 's/[[:space:]]+/ /g' | sort
}

mirror=$(defines "$MIRROR")
patched=$(defines "$PATCHED")
if [ -n "$mirror" ] && [ "$(wc -l <<<"$mirror")" -eq 6 ] && [ "$mirror" = "$patched" ]; then
	ok "the mirror's 6 definitions equal the patched <linux/kvm.h>"
else
	not_ok "the mirror's definitions differ from the patched <linux/kvm.h>" \
		"$(diff <(echo "$mirror") <(echo "$patched"))"
fi

src=$tmp/mirror.c
cat >"$src" <<'EOC'
#include <stdio.h>
#include "kvmlock/uapi.h"
int main(void)
{
	printf("%d %d %d\n", KVM_CAP_ARM_LOCK_USER_MEMORY_REGION,
	       KVM_ARM_LOCK_MEM_READ | KVM_ARM_LOCK_MEM_WRITE,
	       KVM_ARM_UNLOCK_MEM_ALL);
	return 0;
}
EOC
if out=$(cc -std=gnu11 -Wall -Wextra -Werror -I"$TOP/include" -o "${src%.c}" "$src" 2>&1) &&
	[ "$("${src%.c}")" = "1000 3 1" ]; then
	ok "the mirror compiles against the system headers and gives 1000 3 1"
else
	not_ok "the mirror compiles against the system headers and gives 1000 3 1" "$out"
fi
finish uapi-mirror
