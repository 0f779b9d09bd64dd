#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The soak test, short (make soak runs it for minutes: tests/soak/): for
# Docker and for Podman, EGR_SOAK_SECS (default 30) of churn: containers
# with a label policy started, restarted and removed in batches (rm -f, some
# mid-start), each connecting to a denied and an allowed port the instant it
# starts, while `watch --strict -j` is killed with SIGKILL and restarted.
# Asserted (tests/soak/soak.py, soak.sh), never a time: zero connections to
# the denied port, every allowed connection arrives, watch -j writes only
# JSON and each warning once, watch's fds, BPF maps and RSS flat (last third
# of its samples against the first), and afterwards no pins (preloaded
# instances included), state files or defunct targets left. The start ->
# enforcement distribution is reported (diag), not judged.
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr python3

ALL_TESTS="test_soak_docker test_soak_podman"
SOAK=$E2E_ROOT/tests/soak/soak.sh
SECS=${EGR_SOAK_SECS:-30}

# soak ENGINE: soak.sh's own ok / not ok lines, then its exit status
soak() {
	local out=$E2E_TMP/soak-$1.json rc
	bash "$SOAK" "$1" watch "$SECS" "$out" --kills 1 --settle 22 --max-live 25 --seed "$RANDOM"
	rc=$?
	assert_eq "soak $1 ($SECS s): every check passed" 0 "$rc"
}

test_soak_docker() { soak docker; }
test_soak_podman() { soak podman; }

run_tests
