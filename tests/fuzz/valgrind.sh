#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The CLI's common commands under valgrind (memcheck): no invalid read or
# write, no definite or possible leak (--error-exitcode). Needs root (bpf,
# cgroups) and valgrind; a throwaway cgroup is attached and detached.
#
# Definedness checking is off (--undef-value-errors=no): valgrind 3.19 does
# not model what the kernel writes for several bpf() commands (map batch
# lookups, link creation: "unhandled eBPF command"), so every value read
# back through them looks uninitialised, and it flags libbpf's partially
# filled bpf_attr. Uninitialised use in our code is the sanitizers' job
# (make sanitize, make fuzz).
# usage: tests/fuzz/valgrind.sh path/to/egressctl
set -u
egr=${1:?usage: valgrind.sh EGRESSCTL}
command -v valgrind >/dev/null || { echo "valgrind: not installed"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "valgrind: needs root"; exit 1; }
cg2=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
	     if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
[ -n "$cg2" ] || { echo "valgrind: no cgroup v2 mount"; exit 1; }
cg=$cg2/egr-valgrind-$$
mkdir "$cg" || exit 1
log=$(mktemp /tmp/egr-valgrind.XXXXXX)
trap '"$egr" detach "cgroup:$cg" >/dev/null 2>&1; rmdir "$cg" 2>/dev/null; rm -f "$log"' EXIT
fail=0
vg() { # EXPECTED_EXIT ARGS...
	local want=$1 rc
	shift
	timeout 300 valgrind -q --leak-check=full --errors-for-leak-kinds=definite,possible \
		--undef-value-errors=no --error-exitcode=99 --log-file="$log" "$egr" "$@" \
		>/dev/null 2>&1
	rc=$?
	# valgrind's own notes on bpf() commands it does not know are not errors
	if [ "$rc" -eq 99 ] || grep -qv -- '-- WARNING: unhandled eBPF command' "$log" ||
		[ "$rc" -ne "$want" ]; then
		echo "valgrind: FAIL egressctl $* (exit $rc, want $want)"
		sed 's/^/  /' "$log" | head -n 60
		fail=1
	else
		echo "valgrind: ok egressctl $*"
	fi
}
vg 0 --help
vg 0 list
vg 0 status
vg 0 attach "cgroup:$cg"
vg 0 allow "cgroup:$cg" 198.18.0.0/24 tcp:443 udp:53
vg 0 list "cgroup:$cg"
vg 0 detach "cgroup:$cg"
exit $fail
