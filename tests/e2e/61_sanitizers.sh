#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Fuzzing and sanitizers, short, inside `make check` (tests/fuzz/fuzz.mk):
#   make fuzz-smoke  every libFuzzer target for FUZZ_SMOKE_SECS (5) seconds
#   make sanitize    the unit tests (parsers, compiler) under ASan + UBSan
#   make valgrind    the CLI's common commands under valgrind, leak-free
# One TAP line per fuzz target, per unit-test binary and per CLI command
# (one that fails does not hide the next ones).
# `make fuzz` runs the fuzzers for longer (FUZZ_SECS, 300 s each).
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr clang valgrind

ALL_TESTS="test_fuzz_smoke test_sanitize test_valgrind"

OUT=${EGR_BUILD:-$(dirname "${EGR_BIN:-$E2E_ROOT/build/egressctl}")}
MK=(make --no-print-directory -C "$E2E_ROOT" OUTPUT="$OUT")
T=$E2E_TMP

test_fuzz_smoke() {
	local rc src name log
	"${MK[@]}" fuzz-smoke FUZZ_SMOKE_SECS="${FUZZ_SMOKE_SECS:-5}" >"$T/fuzz.out" 2>&1
	rc=$?
	for src in "$E2E_ROOT"/tests/fuzz/fuzz_*.c; do
		name=$(basename "$src" .c)
		log=$OUT/fuzz/$name.log
		if [ ! -x "$OUT/fuzz/$name" ]; then
			fail_next "fuzz $name: not built" "$(tail -n 20 "$T/fuzz.out")"
		elif grep -qx "$name" "$OUT/fuzz/failed" 2>/dev/null; then
			fail_next "fuzz $name" "$(grep -m1 -A2 -E 'invariant failed|runtime error|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)' "$log")" \
				"$(grep -m1 'Test unit written' "$log")"
		else
			pass "fuzz $name ($(sed -n 's/^stat::number_of_executed_units: *//p' "$log") runs)"
		fi
	done
	[ "$rc" -eq 0 ] || diag "make fuzz-smoke exited $rc"
}

test_sanitize() {
	local rc n=0 bin name
	"${MK[@]}" sanitize >"$T/san.out" 2>&1
	rc=$?
	for bin in "$OUT"/san/unit_test_*; do
		[ -x "$bin" ] || continue
		n=$((n + 1))
		name=$(basename "$bin")
		if grep -q '^\[  PASSED  \]' "$bin.log" 2>/dev/null && ! grep -q '^\[  FAILED  \]\|runtime error\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer' "$bin.log"; then
			pass "ASan+UBSan $name: $(grep -h '^\[  PASSED  \]' "$bin.log")"
		else
			fail_next "ASan+UBSan $name" "$(grep -m1 -A3 -E 'runtime error|ERROR: |FAILED' "$bin.log" 2>/dev/null)"
		fi
	done
	[ "$n" -gt 0 ] || fail "sanitize: nothing built" "$(tail -n 20 "$T/san.out")"
	[ "$rc" -eq 0 ] || diag "make sanitize exited $rc"
}

test_valgrind() {
	local rc line
	"${MK[@]}" valgrind >"$T/vg.out" 2>&1
	rc=$?
	while read -r line; do
		case $line in
		"valgrind: ok "*) pass "valgrind: ${line#valgrind: ok }" ;;
		"valgrind: FAIL "*) fail_next "valgrind: ${line#valgrind: FAIL }" "$(grep -A20 -F "$line" "$T/vg.out" | tail -n +2 | head -20)" ;;
		"valgrind: "*) fail_next "$line" ;;
		esac
	done <"$T/vg.out"
	grep -q '^valgrind: ' "$T/vg.out" || fail "valgrind smoke did not run" "$(tail -n 20 "$T/vg.out")"
	[ "$rc" -eq 0 ] || diag "make valgrind exited $rc"
}

run_tests
