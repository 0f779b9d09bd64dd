#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The strict-mode guard is never silent: status (text and -j) and metrics
# show where it is, what it does, the cgroups it admits and the ones it is
# holding back (their traffic dropped, counted), its counters and the
# command that removes it; attach under a guard that holds a peer says so,
# and detach says that the guard now drops the target's traffic.
# The guard is put on a cgroup of this script's own (watch --guard-only
# --guard-cgroup), never on the engine's.
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr jq

ALL_TESTS="test_no_guard test_guard_holds test_attach_says_so test_detach_says_so test_remove_guard"

if "$EGR" watch --guard-status 2>/dev/null | grep -q '^guard on'; then
	bail "a guard is already installed on this host (egressctl watch --guard-status); not touching it"
fi
egr_topology k19 1
GREL=/egr-e2e-$E2E_ID-guard
GCG=$CGROOT$GREL
echo "$GCG" >>"$E2E_TMP/.cgroups" # made by the guard install; removed last
remove_guard() { "$EGR" watch --remove-guard >/dev/null 2>&1; }
e2e_on_exit remove_guard

# held_child NAME: a cgroup under the guard with a process in it (the
# case's background job: it ends with the case). Sets HC.
held_child() {
	HC=$GCG/$1-$RANDOM
	mkdir -p "$HC"
	echo "$HC" >>"$E2E_TMP/.cgroups"
	run_bg - "$E2E_TMP/sleep-${HC##*/}" cg_run "$HC" sleep 600
	wait_for 10 grep -q . "$HC/cgroup.procs" || bail "no process in $HC"
}

gjson() { "$EGR" status -j | jq -c .guard; }

test_no_guard() {
	assert_rc "status" 0 "$EGR" status
	assert_eq "status: no guard installed" "no guard installed" "$(grep -x 'no guard installed' <<<"$LAST_OUT")"
	assert_eq "status -j: guard is null" null "$(gjson)"
	"$EGR" metrics -o "$E2E_TMP/m0"
	assert_eq "metrics: egressctl_guard_installed 0" 0 "$(mval "$E2E_TMP/m0" egressctl_guard_installed)"
	assert_rc "install the guard on $GREL (for the next cases)" 0 \
		"$EGR" watch --guard-only --guard-cgroup "$GREL"
}

test_guard_holds() {
	local a b d0 g
	held_child a
	a=$HC
	held_child b
	b=$HC
	assert_rc "status" 0 "$EGR" status
	assert_match "status: where the guard is" "guard on cgroup $GREL \(id [0-9]+\)" "$LAST_OUT"
	assert_match "status: what it does" \
		"drops every packet but loopback of a cgroup under it that has no policy in force" "$LAST_OUT"
	assert_match "status: HOLDING 2 cgroups" "HOLDING 2 cgroups with a process and no policy" "$LAST_OUT"
	assert_match "status: names the first" "    ${a#"$CGROOT"}" "$LAST_OUT"
	assert_match "status: names the second" "    ${b#"$CGROOT"}" "$LAST_OUT"
	assert_match "status: the command that removes it" \
		"remove it with: egressctl watch --remove-guard" "$LAST_OUT"
	g=$(gjson)
	assert_eq "status -j: cgroup, attached, held, remove" \
		"$GREL true 2 egressctl watch --remove-guard" \
		"$(jq -r '"\(.cgroup) \(.attached) \(.held) \(.remove)"' <<<"$g")"
	assert_eq "status -j: the held cgroups" "$(printf '%s\n' "${a#"$CGROOT"}" "${b#"$CGROOT"}" | sort | xargs)" \
		"$(jq -r '.held_cgroups | sort | join(" ")' <<<"$g")"
	d0=$(jq -r .counters.denied.packets <<<"$g")
	expect_udp drop "$A4" 7100 --from "$a" -n 4 -m "a held cgroup: its datagrams"
	assert_eq "status -j: the guard denied exactly those 4" $((d0 + 4)) \
		"$(gjson | jq -r .counters.denied.packets)"
	"$EGR" metrics -o "$E2E_TMP/m1"
	assert_eq "metrics: installed" 1 "$(mval "$E2E_TMP/m1" egressctl_guard_installed)"
	assert_eq "metrics: held 2" 2 \
		"$(mval "$E2E_TMP/m1" "egressctl_guard_cgroups{cgroup=\"$GREL\",state=\"held\"}")"
	assert_eq "metrics: denied packets" $((d0 + 4)) \
		"$(mval "$E2E_TMP/m1" "egressctl_guard_packets_total{cgroup=\"$GREL\",verdict=\"denied\"}")"
}

test_attach_says_so() {
	local a b m0
	held_child a
	a=$HC
	held_child b
	b=$HC
	m0=$(gjson | jq -r .managed) # targets elsewhere on the host count too
	assert_rc "attach a (b is held)" 0 egr_attach "$a"
	assert_match "attach: says the guard holds a cgroup under it" \
		"the strict-mode guard on $GREL is dropping all traffic of 1 cgroup under it with no policy in force.*egressctl status lists them; remove the guard with: egressctl watch --remove-guard" \
		"$LAST_ERR"
	assert_eq "status -j: 1 held, 1 more managed" "1 $((m0 + 1))" "$(gjson | jq -r '"\(.held) \(.managed)"')"
	assert_rc "a: allow $A4 udp:7101" 0 "$EGR" allow "cgroup:$a" "$A4" udp:7101
	expect_udp pass "$A4" 7101 --from "$a" -m "a, attached: its allowed datagrams pass the guard"
	expect_udp drop "$A4" 7101 --from "$b" -m "b, still held"
	assert_rc "attach b too" 0 egr_attach "$b"
	assert_eq "attach: no guard line once it holds nothing" "" "$(grep 'strict-mode guard' <<<"$LAST_ERR")"
}

test_detach_says_so() {
	held_child a
	assert_rc "attach a" 0 egr_attach "$HC"
	assert_rc "detach a" 0 "$EGR" detach "cgroup:$HC"
	assert_match "detach: says the guard now drops its traffic" \
		"the strict-mode guard on $GREL now drops this cgroup's traffic \(no policy in force\); remove the guard with: egressctl watch --remove-guard" \
		"$LAST_ERR"
	expect_udp drop "$A4" 7102 --from "$HC" -m "a, detached: held again"
	assert_eq "status -j: a is held again" "1 ${HC#"$CGROOT"}" \
		"$(gjson | jq -r '"\(.held) \(.held_cgroups[0])"')"
}

test_remove_guard() {
	held_child a
	assert_rc "remove the guard" 0 "$EGR" watch --remove-guard
	assert_eq "status -j: guard is null again" null "$(gjson)"
	expect_udp pass "$A4" 7103 --from "$HC" -m "a, no guard: unfiltered"
}

run_tests
