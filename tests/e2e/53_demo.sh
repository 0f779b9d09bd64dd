#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# make demo checks its own outcome: it exits 0 only when the allowed
# connection went through and the other was blocked (with the hits and the
# drop counted), and 1 otherwise, saying what to look at. Run on real
# containers, on a throwaway cgroup, and with a strict-mode guard left
# pinned on /docker (the guard drops the database's replies: the demo must
# fail loudly and name the guard and the command that removes it).
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr jq docker

ALL_TESTS="test_demo_containers test_demo_cgroup test_demo_under_guard"

BUILD=${EGR_BUILD:-$(dirname "$EGR_BIN")}
[ -x "$BUILD/tests/peer" ] || bail "no $BUILD/tests/peer (make test-build)"
remove_guard() { "$EGR" watch --remove-guard >/dev/null 2>&1; }

test_demo_containers() {
	[ "${DOCKER_TRAFFIC_OK:-1}" = 1 ] || { skip "container demo" "dockerd not on 198.19.0.0/16"; return 0; }
	assert_rc "make demo (containers): exit 0" 0 bash "$E2E_ROOT/tools/demo.sh" "$BUILD"
	assert_match "the database connected" "as expected: web connects to its database" "$LAST_OUT"
	assert_match "the other container was blocked" "as expected: web cannot reach the other container" \
		"$LAST_OUT"
	assert_match "it says it worked" "The demo worked" "$LAST_OUT"
	assert_eq "no failure on stderr" "" "$(grep -i 'fail' <<<"$LAST_ERR")"
}

test_demo_cgroup() {
	assert_rc "EGR_DEMO=cgroup make demo: exit 0" 0 env EGR_DEMO=cgroup bash "$E2E_ROOT/tools/demo.sh" "$BUILD"
	assert_match "it says it worked" "The demo worked" "$LAST_OUT"
}

test_demo_under_guard() {
	[ "${DOCKER_TRAFFIC_OK:-1}" = 1 ] || { skip "demo under a guard" "dockerd not on 198.19.0.0/16"; return 0; }
	if "$EGR" watch --guard-status 2>/dev/null | grep -q '^guard on'; then
		skip "demo under a guard" "a guard is already installed on this host; not touching it"
		return 0
	fi
	e2e_on_exit remove_guard
	assert_rc "a strict-mode guard left pinned on /docker" 0 "$EGR" watch --guard-only
	e2e_guard_mine
	assert_rc "make demo: exit 1" 1 bash "$E2E_ROOT/tools/demo.sh" "$BUILD"
	remove_guard
	assert_match "it says it failed" "demo FAILED" "$LAST_ERR"
	assert_match "it names the check that failed" "web connects to its database \(exit status [1-9]" "$LAST_ERR"
	assert_match "it names the guard" "A strict-mode guard is pinned" "$LAST_ERR"
	assert_match "it shows the guard holding the database" "HOLDING [0-9]+ cgroups? with a process and no policy" \
		"$LAST_ERR"
	assert_match "it names the command that removes it" "remove it with: egressctl watch --remove-guard" "$LAST_ERR"
	assert_match "it names what to look at" "egressctl status" "$LAST_ERR"
	assert_eq "the guard is gone again" "no guard installed" "$("$EGR" watch --guard-status)"
}

run_tests
