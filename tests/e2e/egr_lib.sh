# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
# egressctl helpers shared by the e2e scripts, sourced by lib.sh's
# e2e_start (need "egr"): attach with cleanup (at exit, and at the end of
# the case that attached), a private copy of the binary under test,
# status/list readers, free test subnets.

EGR_PINS=/sys/fs/bpf/egressctl
: >"$E2E_TMP/.attached"

# egr_attach CGPATH [ATTACH OPTS...]: attach, remembered for the cleanup.
egr_attach() {
	local cg=$1
	shift
	echo "$cg $(stat -c %i "$cg")" >>"$E2E_TMP/.attached"
	"$EGR" attach "cgroup:$cg" "$@"
}

# egr_new NAME [ATTACH OPTS...]: a new cgroup NAME, attached ("attach NAME"
# is an ok line). Sets TCG (its path), TID (its id), TGT (cgroup:TCG), and
# makes it the flow checks' default sender (expect_from).
egr_new() {
	local name=$1
	shift
	TCG=$CGROOT/egr-e2e-$E2E_ID-$name
	mkdir "$TCG" || bail "mkdir $TCG"
	echo "$TCG" >>"$E2E_TMP/.cgroups"
	# shellcheck disable=SC2034 # TID, TGT: for the sourcing script
	TID=$(stat -c %i "$TCG") TGT=cgroup:$TCG
	assert_rc "attach $name${*:+ $*}" 0 egr_attach "$TCG" "$@"
	expect_from "$TCG"
}

# egr_cleanup [FROM]: detach every cgroup this script attached (from line
# FROM of the list on) while the cgroup still exists, then remove whatever
# pins of ours are left (a failed test's leftovers).
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
	done < <(tail -n +"${1:-1}" "$E2E_TMP/.attached" | tac | awk '!seen[$0]++')
}

_egr_exit() {
	egr_cleanup
	[ -n "${EGR_COPY:-}" ] && rm -rf "$EGR_COPY"
	return 0
}

# What a case attached is detached when it ends.
_egr_case_hook() {
	case $1 in
	begin) _EGR_MARK=$(($(wc -l <"$E2E_TMP/.attached") + 1)) ;;
	end) egr_cleanup "$_EGR_MARK" ;;
	esac
}

e2e_on_exit _egr_exit
e2e_on_case _egr_case_hook

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
	local i n busy=1
	for _ in $(seq 50); do
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

# egr_topology TAG N: N (<= 3) namespaces on free test subnets (pick_nets),
# NA, NB, NC = TAG a|b|c + part of the run's id, each at NETi.2/24 and
# NET6_i::2/64 (the host side .1, ::1); A4 A6, B4 B6, C4 C6 their
# addresses; T the run's temporary directory.
egr_topology() {
	local i u ns n4 n6 s=${E2E_ID:2:6}
	local -a lower=(a b c) upper=(A B C)
	pick_nets "$2"
	for ((i = 0; i < $2; i++)); do
		u=${upper[i]} ns=$1${lower[i]}$s n4=NET$((i + 1)) n6=NET6_$((i + 1))
		netns_up "$ns" "${!n4}.2/24" "${!n6}::2/64"
		printf -v "N$u" '%s' "$ns"
		printf -v "${u}4" '%s' "$(ns_ip4 "$ns")"
		printf -v "${u}6" '%s' "$(ns_ip6 "$ns")"
	done
	# shellcheck disable=SC2034 # for the sourcing script
	T=$E2E_TMP
}

sent_of() { awk '{ print $2 }' <<<"$1"; }
errors_of() { awk '{ print $4 }' <<<"$1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
msleep() { sleep "$(awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }')"; }

# kill_after MS CMD...: runs CMD (output discarded) and SIGKILLs it after MS
# ms, wherever it is by then (a stimulus: what it leaves must be sound
# however the kill falls). 0 if it was still running.
kill_after() {
	local ms=$1 pid rc
	shift
	"$@" >/dev/null 2>&1 &
	pid=$!
	msleep "$ms"
	kill -KILL "$pid" 2>/dev/null
	rc=$?
	wait "$pid" 2>/dev/null
	return "$rc"
}

# egr_counters ID: "allowed denied audit" packets of a cgroup id (status -j).
egr_counters() {
	egr_status "$1" | jq -r '"\(.counters.allowed.packets) \(.counters.denied.packets) \(.counters.audit.packets)"'
}

# mval FILE SERIES: the value of one series ('name{labels}') in an
# exposition, "absent" if it is not there. (The series goes through the
# environment: awk -v would undo its backslash escapes.)
mval() {
	K=$2 awk 'BEGIN { k = ENVIRON["K"] }
		substr($0, 1, length(k) + 1) == k " " { print substr($0, length(k) + 2); f = 1 }
		END { if (!f) print "absent" }' "$1"
}
