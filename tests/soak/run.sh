#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# make soak: soak.sh for Docker and for Podman (ENGINES), in each of MODES
# (default "watch hook": watch --strict alone, then with the start-up hook),
# SECONDS each (default 600), under the e2e lock; the numbers go into
# BENCHMARKS.md's soak section (report.py). Then the attach churn
# (churn.sh: CHURN_N attaches by one watch, default 1000, for
# CHURN_ENGINES, default podman: watch follows new cgroups for Podman only).
# usage: tests/soak/run.sh BUILD_DIR [SECONDS]
set -u
out=$(cd "${1:?usage: run.sh BUILD_DIR [SECONDS]}" && pwd)
secs=${2:-600}
here=$(cd "$(dirname "$0")" && pwd)
res=$out/soak
mkdir -p "$res"
rc=0
files=()
for m in ${MODES:-watch hook}; do
	for e in ${ENGINES:-docker podman}; do
		echo "=== soak $e $m ($secs s)"
		EGR_BIN=$out/egressctl EGR_TESTBIN=$out/tests flock -o /tmp/egr-e2e.lock \
			bash "$here/soak.sh" "$e" "$m" "$secs" "$res/soak-$e-$m.json" \
			--kills "${KILLS:-4}" ${SOAK_ARGS:-} || rc=1
		[ -s "$res/soak-$e-$m.json" ] && files+=("$res/soak-$e-$m.json")
	done
done
# attach churn: one watch, CHURN_N attaches (default 1000; 0: none)
for e in ${CHURN_ENGINES:-podman}; do
	[ "${CHURN_N:-1000}" -gt 0 ] || break
	echo "=== attach churn $e (${CHURN_N:-1000} attaches)"
	EGR_BIN=$out/egressctl EGR_TESTBIN=$out/tests flock -o /tmp/egr-e2e.lock \
		bash "$here/churn.sh" "$e" "${CHURN_N:-1000}" "$res/churn-$e.json" || rc=1
	[ -s "$res/churn-$e.json" ] && files+=("$res/churn-$e.json")
done
if [ "${#files[@]}" -gt 0 ]; then
	python3 "$here/report.py" "$here/../../BENCHMARKS.md" "${files[@]}"
	echo "soak: results in $res; BENCHMARKS.md's soak section updated"
fi
exit "$rc"
