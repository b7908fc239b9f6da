#!/usr/bin/env bash
# scripts/deps.sh (make deps), with stand-ins for apt-get, apt-cache, dpkg,
# dpkg-query, dpkg-deb, systemctl and update-rc.d, a scratch /etc, cache
# and build directory; then what the host packages pull in, from this
# machine's real apt lists (a simulation, nothing installed):
#  - with a package missing it installs exactly that one, without
#    recommends, after printing every package apt will install or upgrade,
#    and adds the arm64 architecture only when it is not there;
#  - apt removing a package, or installing one of arm64, is refused
#    before anything changes;
#  - while apt installs, a policy-rc.d of ours refuses service starts (a
#    machine's own is kept); ours is gone after, and one left by a killed
#    run is removed by the next; a service the install enabled at boot is
#    disabled, with or without a running systemd;
#  - the arm64 libraries and Prometheus are never installed: downloaded at
#    the versions apt resolves and unpacked into the cache, keyed by those
#    versions, and linked from build/deps; a new version is a new entry;
#  - with everything there it prints nothing and changes nothing;
#  - the host packages pull in nothing of arm64 and no Prometheus.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"

DEPS=$TOP/scripts/deps.sh
# The lists, as deps.sh defines them.
eval "$(sed -n '/^HOST_PACKAGES=(/,/^)/p; /^ARM64_PACKAGES=(/,/^)/p; /^PROMETHEUS_PACKAGES=(/,/^)/p' "$DEPS")"

s=$tmp/stub
mkdir -p "$tmp/bin" "$s"
# apt-get: calls logged; -s install prints $s/sim; install enables the
# services named in $s/enables (paths under /etc) and runs policy-rc.d;
# download writes NAME_VERSION.deb holding its argument.
cat >"$tmp/bin/apt-get" <<'STUB'
#!/bin/bash
echo "apt-get $*" >>"$s/log"
case "$1 $2" in
"-s install") cat "$s/sim" 2>/dev/null ;;
"install -y")
	: >"$s/installed"
	while read -r f || [ -n "$f" ]; do
		mkdir -p "$(dirname "$KVMLOCK_ETC/$f")"
		ln -sf /dev/null "$KVMLOCK_ETC/$f"
	done <"$s/enables"
	if [ -x "$KVMLOCK_POLICY_RC_D" ]; then
		"$KVMLOCK_POLICY_RC_D"
		echo "policy-rc.d: exit $?" >>"$s/log"
	fi
	;;
"download -qq")
	shift 2
	for a; do echo "$a" >"${a%%:*}_${a#*=}.deb"; done
	;;
esac
STUB
# apt-cache show --no-all-versions: every package is there, at version
# $s/version (1.0); calls counted in $s/apt-cache.
cat >"$tmp/bin/apt-cache" <<'STUB'
#!/bin/bash
echo "$*" >>"$s/apt-cache"
shift 2
for p; do
	arch=amd64
	case $p in *:arm64) arch=arm64 ;; esac
	printf 'Package: %s\nArchitecture: %s\nVersion: %s\n\n' "${p%:*}" "$arch" "$(cat "$s/version" 2>/dev/null || echo 1.0)"
done
STUB
cat >"$tmp/bin/dpkg" <<'STUB'
#!/bin/sh
echo "dpkg $*" >>"$s/log"
case $1 in --print-foreign-architectures) cat "$s/foreign" 2>/dev/null ;; esac
STUB
# dpkg-query: installed, unless named in $s/missing before apt-get install.
cat >"$tmp/bin/dpkg-query" <<'STUB'
#!/bin/sh
for p; do :; done
if grep -qx "$p" "$s/missing" 2>/dev/null && [ ! -e "$s/installed" ]; then
	echo not-installed
else
	echo installed
fi
STUB
cat >"$tmp/bin/dpkg-deb" <<'STUB'
#!/bin/sh
mkdir -p "$3/usr/share/unpacked"
cp "$2" "$3/usr/share/unpacked/"
STUB
# (Never the machine's systemctl or update-rc.d.)
cat >"$tmp/bin/systemctl" <<'STUB'
#!/bin/sh
echo "systemctl $*" >>"$s/log"
for u; do :; done
rm -f "$KVMLOCK_ETC"/systemd/system/*.wants/"$u"
STUB
cat >"$tmp/bin/update-rc.d" <<'STUB'
#!/bin/sh
echo "update-rc.d $*" >>"$s/log"
for f in "$KVMLOCK_ETC"/rc[2-5].d/S??"$1"; do
	[ -L "$f" ] && mv "$f" "$(dirname "$f")/K01$1"
done
STUB
cat >"$tmp/bin/id" <<'STUB'
#!/bin/sh
case $1 in -u) echo "${FAKE_UID:-0}" ;; *) exit 1 ;; esac
STUB
chmod +x "$tmp/bin"/*

export s KVMLOCK_POLICY_RC_D=$tmp/policy-rc.d KVMLOCK_ETC=$tmp/etc
export KVMLOCK_CACHE=$tmp/cache BUILD=$tmp/build KVMLOCK_APT_LISTS=$tmp/lists
mkdir -p "$tmp/lists"
apt_update() { sleep 1; touch "$tmp/lists/new_Packages"; } # what apt-get update leaves
run_deps() { # missing package (or ""), foreign architectures
	rm -f "$s/log" "$s/installed" "$s/missing" "$s/apt-cache"
	[ -z "$1" ] || echo "$1" >"$s/missing"
	printf '%s' "$2" >"$s/foreign"
	: >"$s/log"
	printf '%s' "${ENABLES:-}" >"$s/enables"
	PATH=$tmp/bin:$PATH bash "$DEPS" 2>&1
}
calls() { grep -v '^dpkg --print-foreign' "$s/log"; }
arm64_list=$(for p in "${ARM64_PACKAGES[@]}"; do echo "$p=1.0"; done | paste -sd' ')
prom_list=$(for p in "${PROMETHEUS_PACKAGES[@]}"; do echo "$p:amd64=1.0"; done | paste -sd' ')

# A fresh machine: gcc missing, no arm64; apt would install gcc and cpp,
# upgrade libc6, and the install enables rsync.
printf '%s\n' 'Inst libc6 [2.36-9+deb12u13] (2.36-9+deb12u14 Debian:12.15/oldstable [amd64])' \
	'Inst cpp (4:12.2.0-3 Debian:12.15/oldstable [amd64])' \
	'Inst gcc (4:12.2.0-3 Debian:12.15/oldstable [amd64])' \
	'Conf gcc (4:12.2.0-3 Debian:12.15/oldstable [amd64])' >"$s/sim"
mkdir -p "$tmp/etc/rc2.d" "$tmp/etc/systemd/system/multi-user.target.wants"
ln -s /dev/null "$tmp/etc/rc2.d/S01ssh"
out=$(ENABLES="systemd/system/multi-user.target.wants/rsync.service
rc2.d/S01rsync" run_deps gcc "")
expect "fresh machine: arm64 added, gcc alone installed after a simulation, the libraries and Prometheus downloaded" \
	"dpkg --add-architecture arm64
apt-get update -qq
apt-get -s install --no-install-recommends gcc
apt-get install -y -qq --no-install-recommends gcc
policy-rc.d: exit 101
systemctl disable --quiet rsync.service
update-rc.d rsync disable
apt-get download -qq $arm64_list
apt-get download -qq $prom_list" "$(calls)"
expect "it prints what apt installs and upgrades, what it disabled, what it unpacks" \
	"deps.sh: apt-get installs 2 package(s):
  cpp 4:12.2.0-3
  gcc 4:12.2.0-3
deps.sh: and upgrades 1 installed package(s), whose new versions those need:
  libc6 2.36-9+deb12u13 -> 2.36-9+deb12u14
deps.sh: disabled at boot what the install enabled: rsync.service rsync" \
	"$(grep -v -e '^deps.sh: downloading' -e '^  .*:a[mr][dm]64 1.0$' <<<"$out")"
check "the policy-rc.d is gone afterwards" test ! -e "$tmp/policy-rc.d"
expect "the services enabled at boot are those enabled before" \
	"./rc2.d/K01rsync ./rc2.d/S01ssh" "$(cd "$tmp/etc" && find . -type l | sort | paste -sd' ')"
arm64_dir=$(readlink "$tmp/build/deps/arm64")
prom_dir=$(readlink "$tmp/build/deps/prometheus")
expect "build/deps links to the cache entries, which hold the packages unpacked and their versions" \
	"$tmp/cache/deps/arm64-* $tmp/cache/deps/prometheus-*
$(printf '%s 1.0\n' "${ARM64_PACKAGES[@]}")
$(printf '%s=1.0\n' "${ARM64_PACKAGES[@]}" | sort | paste -sd' ')
$(printf '%s:amd64 1.0\n' "${PROMETHEUS_PACKAGES[@]}")" \
	"${arm64_dir%-*}-* ${prom_dir%-*}-*
$(cat "$arm64_dir/.kvmlock-packages")
$(cat "$arm64_dir"/usr/share/unpacked/*.deb | sort | paste -sd' ')
$(cat "$prom_dir/.kvmlock-packages")"

out=$(run_deps "" arm64)
expect "everything there: no output" "" "$out"
expect "everything there: nothing called" "" "$(calls)"

echo 1.1 >"$s/version"
out=$(run_deps "" arm64)
check "apt's lists unchanged: the links stand, apt-cache is not asked" \
	test "$(readlink "$tmp/build/deps/arm64")" = "$arm64_dir" -a ! -e "$s/apt-cache"
apt_update
out=$(run_deps "" arm64)
check "a new version apt resolves after an update: a new cache entry, linked; the old one stays" \
	test "$(readlink "$tmp/build/deps/arm64")" != "$arm64_dir" -a -d "$arm64_dir" -a \
	-f "$(readlink "$tmp/build/deps/arm64")/.kvmlock-done"
rm "$s/version"

out=$(run_deps gcc arm64)
expect "arm64 there, gcc missing: no architecture added, no policy-rc.d left" \
	"apt-get update -qq
apt-get -s install --no-install-recommends gcc
apt-get install -y -qq --no-install-recommends gcc
policy-rc.d: exit 101|" "$(calls)|$(ls "$tmp/policy-rc.d" 2>/dev/null)"

printf '%s\n' 'Inst gcc (4:12.2.0-3 Debian:12.15/oldstable [amd64])' \
	'Remv libfoo [1.0]' 'Remv libbar [2.0]' >"$s/sim"
out=$(run_deps gcc arm64)
rc=$?
expect "apt removing a package: refused, nothing installed" \
	"deps.sh: error: apt-get would remove libfoo libbar to install gcc; nothing changed (install them by hand if you want that)
exit 1
apt-get update -qq
apt-get -s install --no-install-recommends gcc" "$out
exit $rc
$(calls)"
printf '%s\n' 'Inst libbpf1:arm64 (1:1.1.2-0+deb12u1 Debian:12.15/oldstable [arm64])' \
	'Inst gcc (4:12.2.0-3 Debian:12.15/oldstable [amd64])' >"$s/sim"
expect_fail "apt installing a package of arm64 on the host: refused" \
	'would install arm64 packages on the host \(libbpf1:arm64\); nothing changed' run_deps gcc arm64
expect "... and nothing installed" "" "$(grep '^apt-get install' "$s/log")"

printf '%s\n' 'Inst gcc (4:12.2.0-3 Debian:12.15/oldstable [amd64])' >"$s/sim"
printf '#!/bin/sh\nexit 0\n' >"$tmp/policy-rc.d"
chmod +x "$tmp/policy-rc.d"
out=$(run_deps gcc arm64)
expect "the machine's own policy-rc.d is used and kept" "policy-rc.d: exit 0|#!/bin/sh exit 0" \
	"$(grep policy "$s/log")|$(paste -sd' ' "$tmp/policy-rc.d")"
rm "$tmp/policy-rc.d"
# What a SIGKILLed make deps leaves.
printf '#!/bin/sh\n%s\nexit 101\n' "$(sed -n "s/^POLICY_MARK='\(.*\)'$/\1/p" "$DEPS")" >"$tmp/policy-rc.d"
chmod +x "$tmp/policy-rc.d"
out=$(run_deps "" arm64)
expect "a policy-rc.d left by a killed make deps is removed by the next, saying so" \
	"deps.sh: removed $tmp/policy-rc.d, left by an interrupted make deps|" \
	"$out|$(ls "$tmp/policy-rc.d" 2>/dev/null)"

out=$(FAKE_UID=1000 run_deps gcc arm64)
expect "not root, something missing: one line, nothing called" \
	"deps.sh: error: missing: gcc; run 'make deps' as root|" "$out|$(calls)"

# What the host packages pull in: apt's own resolution on a machine that
# has nothing installed (an empty dpkg status), from this machine's lists.
# It takes apt 9 s and depends only on the packages asked for, apt's
# version, configuration and lists, and dpkg's architectures: a resolution
# that succeeded is kept in the cache under their hash.
: >"$tmp/empty-status"
host_sim() {
	local key lists f
	eval "$(apt-config shell lists Dir::State::lists/d)"
	key=$({
		printf '%s\n' "${HOST_PACKAGES[@]}"
		apt-get --version | head -n 1
		apt-config dump
		for f in /etc/apt/preferences /etc/apt/preferences.d/*; do
			[ -f "$f" ] && printf '%s\n' "$f" && cat "$f"
		done
		dpkg --print-architecture
		dpkg --print-foreign-architectures
		find "$lists" -maxdepth 1 -type f -printf '%f %s %T@\n' | sort
	} | sha256sum | cut -c1-16)
	f=$CACHE/deps/host-sim-$key.txt
	if [ -f "$f" ]; then
		cat "$f"
		return
	fi
	apt-get -s -o Dir::State::status="$tmp/empty-status" install --no-install-recommends \
		"${HOST_PACKAGES[@]}" >"$tmp/sim" 2>&1 || { cat "$tmp/sim"; return 1; }
	cat "$tmp/sim"
	mkdir -p "$CACHE/deps" 2>/dev/null && cp "$tmp/sim" "$f.tmp.$BASHPID" 2>/dev/null &&
		mv -f "$f.tmp.$BASHPID" "$f"
	return 0
}
if sim=$(host_sim); then
	n=$(grep -c '^Inst ' <<<"$sim")
	expect "the host packages pull in nothing of arm64 ($n packages)" "" \
		"$(grep '^Inst .*\[arm64\])' <<<"$sim")"
	expect "... and no Prometheus" "" "$(grep -E '^Inst prometheus' <<<"$sim")"
else
	not_ok "apt-get -s resolves the host packages" "$sim"
fi
check "a native gcc and libc6-dev are host packages" \
	bash -c '[[ " $1 " == *" gcc "* && " $1 " == *" libc6-dev "* ]]' _ "${HOST_PACKAGES[*]}"
# One apt-cache for all (2 s a call), which shows the packages it knows
# and passes over the others in silence: each asked alone only when one
# is not among those it showed (NAME:ARCH as ARCH or all), to name it.
unpacked=("${ARM64_PACKAGES[@]}" "${PROMETHEUS_PACKAGES[@]}")
shown=$(apt-cache show --no-all-versions "${unpacked[@]}" 2>/dev/null |
	awk '/^Package: / { p = $2 } /^Architecture: / { print p ":" $2 }')
missing=
for p in "${unpacked[@]}"; do
	case $p in
	*:*) grep -qxF -e "$p" -e "${p%%:*}:all" <<<"$shown" ;;
	*) grep -q "^$p:" <<<"$shown" ;;
	esac || missing=unknown
done
if [ -n "$missing" ]; then
	missing=
	for p in "${unpacked[@]}"; do
		[ -n "$(apt-cache show --no-all-versions "$p" 2>/dev/null)" ] || missing="$missing $p"
	done
fi
expect "apt knows every package deps.sh unpacks" "" "$missing"
finish deps
