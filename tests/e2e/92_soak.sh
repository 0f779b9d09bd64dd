#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The soak test, short (make soak runs it for minutes: tests/soak/): for
# Docker and for Podman, in mode watch (watch --strict alone) and in mode
# hook (the start-up hook as well: Podman's OCI hook, Docker's runtime
# wrapper), EGR_SOAK_SECS (default 25) of churn each: containers with a
# label policy started, restarted and removed in batches (rm -f, some
# mid-start), each connecting to a denied and an allowed port the instant it
# starts, while `watch --strict -j` is killed with SIGKILL and restarted.
# Asserted (tests/soak/soak.py, soak.sh), never a time: zero connections to
# the denied port, every allowed connection arrives (mode hook: on its first
# SYN, every one), watch -j writes only JSON and each warning once, watch's
# fds, BPF maps and RSS flat (last third of its samples against the first),
# and afterwards no pins (preloaded instances included), state files or
# defunct targets left. The start -> enforcement distribution is reported
# (diag), not judged. First, watch --preload's instances on their own: not
# targets, removed by watch's exit, left by a SIGKILL and then removed by
# detach --gone. Last, the attach churn (tests/soak/churn.sh, EGR_CHURN_N
# attaches, default 60; Podman: watch follows new cgroups for it): one
# watch, one container's cgroup made and removed
# again and again, watch and the system's BPF objects flat.
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr python3 jq

ALL_TESTS="test_preload_leftovers test_soak_docker test_soak_podman test_soak_docker_hook
	test_soak_podman_hook test_churn_podman"
SOAK=$E2E_ROOT/tests/soak/soak.sh
SECS=${EGR_SOAK_SECS:-25}

# soak ENGINE MODE: soak.sh's own ok / not ok lines, then its exit status
soak() {
	local out=$E2E_TMP/soak-$1-$2.json rc
	bash "$SOAK" "$1" "$2" "$SECS" "$out" --kills 1 --settle 22 --max-live 25 --seed "$RANDOM"
	rc=$?
	assert_eq "soak $1 $2 ($SECS s): every check passed" 0 "$rc"
}

# preloaded instances of watch PID (pool-<build>-PID-<n>)
pool_of() { find /sys/fs/bpf/egressctl -maxdepth 1 -name "pool-*-$1-*" | wc -l; }
_pool_ge() { [ "$(pool_of "$1")" -ge "$2" ]; }
_gone() { ! kill -0 "$1" 2>/dev/null; }
targets() { find /sys/fs/bpf/egressctl -maxdepth 1 -regex '.*/[0-9]+' | wc -l; }

test_preload_leftovers() {
	local pid sock=unix://$E2E_TMP/none.sock
	# no engine needed: the instances are loaded whatever the event stream does
	"$EGR" --docker-host "$sock" watch -j --preload 2 >"$E2E_TMP/p1.out" 2>&1 &
	pid=$!
	assert_true "watch --preload 2: two instances preloaded" wait_for 60 _pool_ge "$pid" 2
	assert_rc "status -j" 0 "$EGR" status -j
	assert_eq "status: preloaded instances are not targets" "$(targets)" \
		"$(jq '.targets | length' <<<"$LAST_OUT")"
	assert_eq "status: preloaded instances counted" 1 \
		"$(jq '.preloaded.instances >= 2 and .preloaded.memlock_bytes > 0' <<<"$LAST_OUT" | grep -c true)"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	assert_true "SIGKILL: the instances stay" _pool_ge "$pid" 2
	assert_rc "status -j: a killed watch's" 0 "$EGR" status -j
	assert_eq "status: orphans counted" 1 "$(jq '.preloaded.orphans >= 2' <<<"$LAST_OUT" | grep -c true)"
	assert_rc "detach --gone" 0 "$EGR" detach --gone
	assert_match "detach --gone: says so" "^removed [0-9]+ preloaded program instances? of a watch that is gone" "$LAST_OUT"
	assert_eq "detach --gone: none left" 0 "$(pool_of "$pid")"
	"$EGR" --docker-host "$sock" watch -j --preload 1 >"$E2E_TMP/p2.out" 2>&1 &
	pid=$!
	assert_true "watch --preload 1: one instance" wait_for 60 _pool_ge "$pid" 1
	kill -TERM "$pid"
	assert_true "SIGTERM: watch exits" wait_for 60 _gone "$pid"
	assert_eq "SIGTERM: its instances removed" 0 "$(pool_of "$pid")"
	assert_eq "watch -j without an engine: every line JSON" "" \
		"$(cat "$E2E_TMP/p1.out" "$E2E_TMP/p2.out" | while IFS= read -r l; do
			jq -e 'type == "object"' <<<"$l" >/dev/null 2>&1 || echo "$l"
		done)"
}

test_soak_docker() { soak docker watch; }
test_soak_podman() { soak podman watch; }
test_soak_docker_hook() { soak docker hook; }
test_soak_podman_hook() { soak podman hook; }

# attach churn, short (make soak: 1000): one watch, a container's cgroup
# made and removed again and again; every new cgroup gets the policy, and
# watch's fds, maps and RSS and the system's BPF objects stay flat (samples
# at rest), no pins left (tests/soak/churn.sh)
test_churn_podman() {
	local rc
	bash "$E2E_ROOT/tests/soak/churn.sh" podman "${EGR_CHURN_N:-60}" "$E2E_TMP/churn-podman.json"
	rc=$?
	assert_eq "attach churn podman (${EGR_CHURN_N:-60}): every check passed" 0 "$rc"
}

run_tests
