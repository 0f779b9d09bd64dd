#!/usr/bin/env bash
# Runs the test tiers and ends with one line "N passed, N failed".
# usage: tests/run.sh BUILD_DIR [unit|bpf|e2e]...
set -u
out=${1:?usage: tests/run.sh BUILD_DIR [tier...]}
shift
tiers=${*:-unit bpf e2e}
here=$(cd "$(dirname "$0")" && pwd)
# EGRESSCTL: the binary under test (make check EGRESSCTL=/usr/sbin/egressctl
# runs the tiers against the installed package); the test helpers and the
# build directory (EGR_BUILD: sanitizer builds, benchmarks, the demo) stay
# the tree's.
EGR_BUILD=$(cd "$out" && pwd)
export EGR_BUILD EGR_BIN=${EGRESSCTL:-$EGR_BUILD/egressctl} EGR_TESTBIN=$EGR_BUILD/tests
passed=0 failed=0

# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s), ..."
run_cmocka() {
	local bin=$1 log
	log=$(mktemp)
	"$bin" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local p f
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	rm -f "$log"
	p=${p:-0} f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $bin exited $rc"
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f))
}

# e2e scripts print "ok - name" / "not ok - name" lines (TAP-like).
run_script() {
	local sh=$1 log
	log=$(mktemp)
	timeout 1200 bash "$sh" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local p f
	p=$(grep -c '^ok - ' "$log")
	f=$(grep -c '^not ok - ' "$log")
	rm -f "$log"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $(basename "$sh") exited $rc"
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f))
}

for tier in $tiers; do
	echo "=== $tier tests"
	case $tier in
	unit | bpf)
		for t in "$out"/tests/${tier}_test_*; do
			[ -x "$t" ] || continue
			run_cmocka "$t"
		done
		;;
	e2e)
		# what earlier runs killed without their exit trap left behind
		bash "$here/e2e/sweep.sh"
		for t in "$here"/e2e/[0-9]*.sh; do
			[ -f "$t" ] || continue
			run_script "$t"
		done
		;;
	esac
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
