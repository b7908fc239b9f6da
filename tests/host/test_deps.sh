#!/usr/bin/env bash
# scripts/deps.sh (make deps) on this machine, with stand-ins for apt-get,
# dpkg and dpkg-query where it would change the machine:
#  - the arm64 packages it installs are all Multi-Arch: same, so none can
#    replace a host package (busybox-static, which did, is not: the check
#    is shown to catch it);
#  - a native gcc is among the host packages (a fresh Debian 12 has none);
#  - with everything installed it prints nothing and calls nothing;
#  - with a package missing it installs exactly that one, without
#    recommends, and adds the arm64 architecture only when it is not there;
#  - installing a daemon (prometheus) happens under a policy-rc.d that
#    refuses service starts, removed afterwards.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"

DEPS=$TOP/scripts/deps.sh
# The two lists, as deps.sh defines them.
eval "$(sed -n '/^HOST_PACKAGES=(/,/^)/p; /^ARM64_PACKAGES=(/,/^)/p' "$DEPS")"

multi_arch() { # package: its Multi-Arch field, from the archive
	apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Multi-Arch: //p' | head -n 1
}

bad=
for p in "${ARM64_PACKAGES[@]}"; do
	[ "$(multi_arch "$p")" = same ] || bad="$bad $p"
done
expect "every arm64 package is Multi-Arch: same (${#ARM64_PACKAGES[@]} checked)" "" "$bad"
expect "the check catches busybox-static:arm64, which replaced the host's busybox" \
	"" "$(multi_arch busybox-static:arm64)"
check "busybox-static:arm64 is in the archive (so the line above means something)" \
	test -n "$(apt-cache show --no-all-versions busybox-static:arm64 2>/dev/null)"
check "a native gcc and libc6-dev are host packages" \
	bash -c '[[ " $1 " == *" gcc "* && " $1 " == *" libc6-dev "* ]]' _ "${HOST_PACKAGES[*]}"

# Stand-ins: calls are logged; dpkg-query reports installed unless the
# package is named in $tmp/missing and apt-get has not installed it yet.
mkdir -p "$tmp/bin"
cat >"$tmp/bin/apt-get" <<'STUB'
#!/bin/sh
echo "apt-get $*" >>"$STUB_LOG"
case $1 in install)
	: >"$STUB_DIR/installed"
	if [ -x "$KVMLOCK_POLICY_RC_D" ]; then
		"$KVMLOCK_POLICY_RC_D"
		echo "policy-rc.d: exit $?" >>"$STUB_LOG"
	fi
	;;
esac
STUB
# (Never the machine's systemctl: on a systemd host deps.sh calls it.)
cat >"$tmp/bin/systemctl" <<'STUB'
#!/bin/sh
echo "systemctl $*" >>"$STUB_DIR/systemctl.log"
STUB
cat >"$tmp/bin/dpkg" <<'STUB'
#!/bin/sh
echo "dpkg $*" >>"$STUB_LOG"
case $1 in --print-foreign-architectures) cat "$STUB_DIR/foreign" 2>/dev/null ;; esac
STUB
cat >"$tmp/bin/dpkg-query" <<'STUB'
#!/bin/sh
for p; do :; done
if grep -qx "$p" "$STUB_DIR/missing" 2>/dev/null && [ ! -e "$STUB_DIR/installed" ]; then
	echo not-installed
else
	echo installed
fi
STUB
chmod +x "$tmp/bin"/*
run_deps() { # missing package (or ""), foreign architectures
	rm -f "$tmp/log" "$tmp/installed" "$tmp/missing"
	[ -z "$1" ] || echo "$1" >"$tmp/missing"
	printf '%s' "$2" >"$tmp/foreign"
	: >"$tmp/log"
	PATH=$tmp/bin:$PATH STUB_LOG=$tmp/log STUB_DIR=$tmp \
		KVMLOCK_POLICY_RC_D=$tmp/policy-rc.d bash "$DEPS" 2>&1
}

out=$(run_deps "" arm64)
expect "nothing missing: no output" "" "$out"
expect "nothing missing: nothing called" "" "$(cat "$tmp/log")"
out=$(run_deps gcc "arm64")
expect "gcc missing: installs it alone, without recommends; arm64 is there already" \
	"dpkg --print-foreign-architectures
apt-get update -qq
apt-get install -y -qq --no-install-recommends gcc" "$(cat "$tmp/log")"
out=$(run_deps libbpf-dev:arm64 "")
expect "an arm64 library missing on a machine without arm64: adds the architecture" \
	"dpkg --print-foreign-architectures
dpkg --add-architecture arm64
apt-get update -qq
apt-get install -y -qq --no-install-recommends libbpf-dev:arm64" "$(cat "$tmp/log")"
out=$(run_deps prometheus arm64)
expect "prometheus missing: installed while policy-rc.d refuses service starts" \
	"dpkg --print-foreign-architectures
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus
policy-rc.d: exit 101" "$(cat "$tmp/log")"
check "the policy-rc.d is gone afterwards" test ! -e "$tmp/policy-rc.d"
out=$(run_deps gcc arm64)
expect "gcc missing: no policy-rc.d" "" "$(grep policy "$tmp/log")"
finish deps
