#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Installs the Debian packages egressctl's build, tests and benchmarks need.
# Idempotent and silent when everything is installed (only dpkg-query runs);
# otherwise, as root, `apt-get update` + `apt-get install` of just the missing
# packages, non-interactively, without starting any service (dockerd,
# prometheus, node exporter): a policy-rc.d that denies every start is put in
# place for the install if none exists, and removed afterwards.
#
# usage: tools/install-deps.sh [--check]
#   --check   list missing packages, exit 1 if any, install nothing
set -euo pipefail

PKGS=(
	clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make gcc libc6-dev
	libcmocka-dev libyaml-dev libjansson-dev libcurl4-openssl-dev libmicrohttpd-dev
	# egressctl dlopen()s these two at run time (user/util/dl_*.c): named on their own
	libcurl4 libmicrohttpd12
	iproute2 iputils-ping docker.io busybox-static docker-compose prometheus
	iptables nftables ipset hyperfine gnuplot-nox valgrind libclang-rt-14-dev
	jq curl python3 util-linux linux-perf iperf3
	# tests/e2e/54_podman.sh: Podman and the network backend its tests use
	# (podman only recommends it; without it Podman 4 falls back to CNI)
	podman netavark
	# make deb (dpkg-buildpackage, debhelper, lintian) and its test: the
	# installed man page and bash completion
	dpkg-dev debhelper fakeroot lintian man-db bash-completion
	# the resolver of the domain-name tests (71, 72) and of make bench's dns phase
	dnsmasq-base
	# tests/e2e/56_kubernetes.sh: the stand-in API server's certificates and the
	# manifest's YAML check
	openssl python3-yaml

)

me=install-deps
check_only=0
case ${1:-} in
--check) check_only=1 ;;
"") ;;
*)
	echo "usage: $0 [--check]" >&2
	exit 2
	;;
esac

missing=()
for p in "${PKGS[@]}"; do
	# "ii " = wanted install, installed; anything else (absent, rc, half-installed) is missing
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[ "${st:0:2}" = ii ] || missing+=("$p")
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$check_only" -eq 1 ]; then
	echo "$me: missing: ${missing[*]}"
	exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "$me: must run as root to install: ${missing[*]}" >&2
	echo "$me: run 'sudo $0' (or 'sudo make deps')" >&2
	exit 1
fi

echo "$me: installing ${missing[*]}"

export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
log=$(mktemp /tmp/install-deps.XXXXXX.log)
created_policy=0
cleanup() {
	if [ "$created_policy" -eq 1 ]; then
		rm -f "$policy"
	fi
	rm -f "$log"
}
trap cleanup EXIT

# invoke-rc.d and deb-systemd-invoke ask policy-rc.d; 101 = "action forbidden",
# so postinst scripts enable but never start docker, prometheus and friends.
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# written by egressctl tools/install-deps.sh for the install only\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	created_policy=1
fi

apt_opts=(-q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef
	-o Dpkg::Options::=--force-confold)

if ! apt-get -q -o DPkg::Lock::Timeout=300 update >"$log" 2>&1; then
	tail -n 20 "$log" >&2
	echo "$me: apt-get update failed" >&2
	exit 1
fi
if ! apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	echo "$me: apt-get install failed for: ${missing[*]}" >&2
	exit 1
fi

still=()
for p in "${missing[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[ "${st:0:2}" = ii ] || still+=("$p")
done
if [ ${#still[@]} -gt 0 ]; then
	echo "$me: still not installed: ${still[*]}" >&2
	exit 1
fi
echo "$me: done"
