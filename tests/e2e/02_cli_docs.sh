#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The CLI reference in README.md is the output of `egressctl --help`; every
# command has --help (exit 0) and rejects bad usage (exit 1, usage on stderr).
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr

ALL_TESTS="test_readme_is_help test_version test_command_help test_bad_usage"

test_readme_is_help() {
	local want got
	want=$(sed -n '/^Usage: egressctl \[-v\]/,/^```/p' "$E2E_ROOT/README.md" | sed '$d')
	got=$("$EGR" --help)
	if [ "$want" = "$got" ]; then
		pass "README CLI reference equals egressctl --help"
	else
		fail "README CLI reference equals egressctl --help" "$(diff <(echo "$want") <(echo "$got"))"
	fi
}

test_version() {
	assert_rc "--version" 0 "$EGR" --version
	assert_match "--version names libbpf" 'egressctl [0-9.]+ \(libbpf v?[0-9.]+\)' "$LAST_OUT"
}

test_command_help() {
	local c
	for c in attach detach allow deny remove apply explain suggest list status metrics serve events watch hook; do
		assert_rc "$c --help exits 0" 0 "$EGR" "$c" --help
		assert_match "$c --help shows its usage" "egressctl $c" "$LAST_OUT"
	done
}

test_bad_usage() {
	assert_rc "unknown command" 1 "$EGR" frobnicate
	assert_match "unknown command is named" "unknown command 'frobnicate'" "$LAST_ERR"
	assert_rc "attach without target" 1 "$EGR" attach
}

run_tests
