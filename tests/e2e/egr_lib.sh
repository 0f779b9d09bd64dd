# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
# egressctl helpers shared by the e2e scripts, sourced after
# lib.sh's e2e_init and need_egr: attach with cleanup, a private copy of
# the binary under test, status/list readers, free test subnets.

EGR_PINS=/sys/fs/bpf/egressctl
: >"$E2E_TMP/.attached"

# egr_attach CGPATH [ATTACH OPTS...]: attach, remembered for the cleanup.
egr_attach() {
	local cg=$1
	shift
	echo "$cg $(stat -c %i "$cg")" >>"$E2E_TMP/.attached"
	"$EGR" attach "cgroup:$cg" "$@"
}

# Detach every cgroup this script attached (while the cgroup still exists),
# then remove whatever pins of ours are left (a failed test's leftovers).
egr_cleanup() {
	local cg id
	[ -n "$E2E_TMP" ] && [ -f "$E2E_TMP/.attached" ] || return 0
	while read -r cg id; do
		[ -n "$id" ] || continue
		if [ -d "$cg" ] && [ -d "$EGR_PINS/$id" ]; then
			"$EGR" detach "cgroup:$cg" >/dev/null 2>&1 ||
				echo "# cleanup: detach cgroup:$cg failed"
		fi
		if [ -e "$EGR_PINS/$id" ]; then
			echo "# cleanup: removing leftover pins $EGR_PINS/$id"
			rm -rf "${EGR_PINS:?}/$id"
		fi
		rm -rf "$EGR_PINS"/tmp-"$id"-* 2>/dev/null
	done < <(tac "$E2E_TMP/.attached" | awk '!seen[$0]++')
}

# A script that needs more cleanup defines egr_exit_hook.
egr_exit() {
	local rc=$?
	[ "$(type -t egr_exit_hook)" = function ] && egr_exit_hook
	egr_cleanup
	[ -n "${EGR_COPY:-}" ] && rm -rf "$EGR_COPY"
	(exit "$rc")
	e2e_cleanup
}

trap egr_exit EXIT

# The binary under test, copied once, so that a rebuild during the run
# cannot swap it mid-test (world-readable: 13 also runs it as nobody).
EGR_COPY=$(mktemp -d "/tmp/egr-bin-$E2E_ID.XXXXXX") || bail "mktemp failed"
if ! chmod 755 "$EGR_COPY" || ! cp "$EGR" "$EGR_COPY/egressctl"; then
	bail "cannot copy $EGR"
fi
EGR=$EGR_COPY/egressctl

# The status -j object of one cgroup id.
egr_status() { "$EGR" status -j | jq -c --argjson id "$1" '.targets[] | select(.cgroup_id == $id)'; }

# Sorted "action dest ports" lines of the rules in force, from list -j.
egr_rules() { "$EGR" list "$1" -j | jq -r '.[0].rules[] | "\(.action) \(.dest) \(.ports)"' | sort; }

# "action dest ports=hits" lines, sorted.
egr_hits() { "$EGR" list "$1" -j | jq -r '.[0].rules[] | "\(.action) \(.dest) \(.ports)=\(.hits)"' | sort; }
# hits of one rule ("action dest ports"), empty if not in force
egr_hit() { egr_hits "$1" | awk -v r="$2" -F= '$1 == r { print $2 }'; }

# pick_nets COUNT: COUNT consecutive subnets 198.19.N.0/24 (with
# 2001:db8:e0NN::/64) that no interface or route on the host uses yet, so
# that concurrent runs (of this very script too) never share addresses.
# Sets NET1.. ("198.19.N") and NET6_1.. ("2001:db8:e0NN").
pick_nets() {
	local c i n busy=1
	for c in $(seq 50); do
		n=$((64 + RANDOM % (190 - 64 - $1)))
		busy=0
		for ((i = 0; i < $1; i++)); do
			if ip -4 route show | grep -q "^198\.19\.$((n + i))\." ||
				ip -o -4 addr show | grep -q " 198\.19\.$((n + i))\."; then
				busy=1
			fi
		done
		[ "$busy" -eq 0 ] && break
	done
	[ "$busy" -eq 0 ] || bail "pick_nets: no free 198.19.x.0/24"
	for ((i = 1; i <= $1; i++)); do
		printf -v "NET$i" '198.19.%d' $((n + i - 1))
		printf -v "NET6_$i" '2001:db8:e0%02x' $((n + i - 1))
	done
}

sent_of() { awk '{ print $2 }' <<<"$1"; }
errors_of() { awk '{ print $4 }' <<<"$1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
msleep() { sleep "$(awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }')"; }
