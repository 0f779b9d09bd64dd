#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The Debian package on a fresh Debian 12: a minimal bookworm root made by
# debootstrap (nothing but the essential packages and apt), `apt-get install
# ./egressctl_*.deb` in it (apt resolves the runtime dependencies from the
# archive), then the installed binary at work from that root against this
# host's kernel: attach, a live edit, list, detach on a scratch cgroup, the
# lazily loaded libraries (libcurl for engines, libmicrohttpd for serve), the
# man page and the unit. Downloads about 60 MB from the Debian archive of
# /etc/apt/sources.list.d (hence not part of make check); no other traffic.
# usage: tools/fresh-install.sh DEB [ROOT]   (ROOT kept for reuse; default
#        /var/tmp/egr-fresh-bookworm)
# shellcheck disable=SC2016 # dpkg-query formats are not shell expansions
set -euo pipefail
me="fresh-install"
deb=$(readlink -f "${1:?usage: $0 DEB [ROOT]}")
root=${2:-/var/tmp/egr-fresh-bookworm}
mirror=${EGR_MIRROR:-http://deb.debian.org/debian}
cg=/sys/fs/cgroup/unified/egr-fresh-$$
die() {
	echo "$me: $*" >&2
	exit 1
}
[ -f "$deb" ] || die "$deb: no such file (make deb)"
command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
if [ ! -x "$root/usr/bin/apt-get" ]; then
	echo "$me: debootstrap --variant=minbase bookworm $root"
	debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
		die "debootstrap failed: $(tail -n 3 "$root.log")"
fi
dpkg-query --root="$root" -W egressctl >/dev/null 2>&1 && die "$root has egressctl already: use a fresh ROOT"

mounts=()
cleanup() {
	local m
	chroot "$root" egressctl detach "cgroup:$cg" >/dev/null 2>&1 || true
	rmdir "$cg" 2>/dev/null || true
	for ((m = ${#mounts[@]} - 1; m >= 0; m--)); do umount -R -l "${mounts[m]}" 2>/dev/null || true; done
}
trap cleanup EXIT
# /sys with what is mounted below it (bpffs, the cgroup trees)
for m in proc sys dev; do
	mount --rbind "/$m" "$root/$m"
	mount --make-rslave "$root/$m"
	mounts+=("$root/$m")
done
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

echo "$me: apt-get install ./$(basename "$deb") in a fresh bookworm root"
in_root apt-get update -qq >/dev/null
before=$(in_root dpkg-query -W -f '${Package}\n' | sort)
in_root apt-get install -y -qq "/tmp/$(basename "$deb")" >"$root.install.log" 2>&1 ||
	die "apt-get install failed: $(tail -n 5 "$root.install.log")"
added=$(comm -13 <(echo "$before") <(in_root dpkg-query -W -f '${Package}\n' | sort) | tr '\n' ' ')
echo "$me: installed with: $added"

ok() { echo "ok - $*"; }
in_root egressctl --version >/dev/null || die "egressctl --version failed"
ok "egressctl --version: $(in_root egressctl --version)"
missing=$(in_root sh -c 'ldd /usr/sbin/egressctl' | grep 'not found' || true)
[ -z "$missing" ] || die "unresolved libraries: $missing"
ok "every library it links resolves"
mkdir "$cg"
in_root egressctl attach "cgroup:$cg" >/dev/null 2>&1 || die "attach failed"
in_root egressctl allow "cgroup:$cg" 198.18.0.0/15 tcp:443 >/dev/null || die "allow failed"
in_root egressctl list "cgroup:$cg" | grep -q '198.18.0.0/15' || die "list does not show the rule"
ok "attach, allow, list from the installed binary"
# serve loads libmicrohttpd: it serves (on loopback) until timeout stops it
rc=0
out=$(in_root timeout 2 egressctl serve -l "127.0.0.1:$((20000 + $$ % 10000))" "cgroup:$cg" 2>&1) || rc=$?
[ "$rc" = 124 ] || die "serve did not run (exit $rc): $out"
ok "libmicrohttpd loads: serve ran until stopped"
in_root egressctl detach "cgroup:$cg" >/dev/null || die "detach failed"
rmdir "$cg"
ok "detach"
# A Docker target loads libcurl: with no engine it fails with the engine's
# error, not a loader error.
out=$(in_root egressctl --docker-host unix:///nonexistent.sock list docker:x 2>&1 || true)
case $out in *libcurl*) die "libcurl did not load: $out" ;; esac
ok "libcurl loads for engine targets ($out)"
[ -f "$root/usr/share/man/man8/egressctl.8.gz" ] || die "no man page"
[ -f "$root/lib/systemd/system/egressctl-watch.service" ] ||
	[ -f "$root/usr/lib/systemd/system/egressctl-watch.service" ] || die "no systemd unit"
ok "man page and systemd unit installed"
echo "$me: the package installs and works on a fresh Debian 12 root"
