#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The policy in force before the container's first instruction, with no
# watch running: Podman runs `egressctl hook` from its hooks.d (the shipped
# contrib/oci-hooks/50-egressctl.json, pointed at the binary under test, in
# podman_lib.sh's private hooks dir); Docker through egressctl-runc, the
# runtime wrapper (the test dockerd started with --add-runtime egressctl=...,
# containers run with --runtime egressctl). For each engine: N containers
# whose very first connect() goes to an allowed destination and the next to
# a denied one: the receiver counts exactly N connections on the allowed
# port, each container's client connected on its first SYN (no retransmit)
# and exited 0, the denied port counts none (a fence from the host proves
# the receiver listened); the policy from labels (Docker) or annotations
# (Podman, which gives the runtime no labels), and a saved one (`egressctl
# allow NAME` on a running container, then restarts); a container without a
# policy starts unfiltered; a hook that cannot put a policy in force
# (EGRESSCTL_TEST_HOOK_FAIL=1), or a bad policy, makes the start fail: the
# container never runs; rm -f leaves no pins (poststop); bad input on the
# hook's stdin: one line, exit 1, no kernel change. Every wait is bounded.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr python3 jq curl
# shellcheck source=tests/e2e/hook_lib.sh
. "$E2E_LIB_DIR/hook_lib.sh"
hook_wrapper
hook_dockerd
dk_setup
DK_STATE=$EGRESSCTL_STATE_DIR
# shellcheck source=tests/e2e/podman_lib.sh
. "$E2E_LIB_DIR/podman_lib.sh"
pm_setup
rmdir "$DK_STATE" 2>/dev/null # both engines share podman_lib's state directory
export DOCKER_HOST=unix://$EGR_DOCKER_SOCK # docker's CLI; egressctl gets --docker-host

ALL_TESTS="test_bad_input test_rootless test_podman_first_connect test_docker_first_connect
	test_podman_saved test_docker_saved test_podman_no_policy test_docker_no_policy
	test_podman_fail_closed test_docker_fail_closed test_podman_rm test_docker_rm test_docker_ulimit"

# A strict-mode guard here now is an earlier run's leftover (the machine
# lock is ours): it would hold back the containers without a policy.
if [ -e /sys/fs/bpf/egressctl/guard/link ] || [ -n "$(ls -A /sys/fs/bpf/egressctl/guard 2>/dev/null)" ]; then
	diag "a strict-mode guard left by an earlier run: removing it ($("$EGR" watch --remove-guard 2>&1))"
fi

N=${EGR_HOOK_N:-10}
netns_up h55rx 198.18.55.2/24 -
RX=198.18.55.2 RX_NS=h55rx
_sysctl - net.ipv4.ip_forward 1

hooks_set

# engine helpers: E is docker or podman
cli() { if [ "$1" = docker ]; then echo docker; else echo podman; fi; }
e_name() { echo "egr-$E2E_ID-$1"; }
e_host() { if [ "$1" = docker ]; then echo "unix://$EGR_DOCKER_SOCK"; else echo "unix://$PM_SOCK"; fi; }
e_cgid() { if [ "$1" = docker ]; then dk_cgid "$2"; else pm_cgid "$2"; fi; }
e_attached() { if [ "$1" = docker ]; then dk_attached "$2"; else pm_attached "$2"; fi; }
# e_polflag E: how a policy reaches the hook: labels (Docker), annotations (Podman)
e_polflag() { if [ "$1" = docker ]; then echo --label; else echo --annotation; fi; }
# e_run E SHORT ARGS...: run -d with the hook (Docker: --runtime egressctl)
e_run() {
	local e=$1 short=$2
	shift 2
	if [ "$e" = docker ]; then
		dk_run "$short" --runtime egressctl "$@"
	else
		pm_run "$short" "$@"
	fi
}
e_image() { if [ "$1" = docker ]; then echo "$EGR_DOCKER_IMAGE"; else echo "$PM_IMAGE"; fi; }
egr() { local e=$1; shift; "$EGR" --docker-host "$(e_host "$e")" "$@"; }

# The containers' program: their first connect() to RX:$1 (allowed), the
# next to RX:$2 (denied); "allowed=RC" and "denied=RC" in their log; with
# a third argument, then they stay up.
PROG='peer tcp-send "$0" "$1" -l 8 -t 5 -R; echo "allowed=$?"; peer tcp-send "$0" "$2" -l 8 -t 2; echo "denied=$?"; [ -z "$3" ] || exec sleep 600'

# rx PORT: a TCP receiver in RX_NS (count in rx_conns PORT)
rx() { peer_bg "$RX_NS" "$E2E_TMP/rx.$1" tcp-recv "$1" 900 -p "$E2E_TMP/rx.$1.p"; }
rx_conns() { local n=0; read -r n _ <"$E2E_TMP/rx.$1.p" 2>/dev/null; echo "${n:-0}"; }
rxs() { rx "$1" || fail "receiver on $1"; rx "$2" || fail "receiver on $2"; }
_conns_ge() { [ "$(rx_conns "$1")" -ge "$2" ]; }
# fence PORT: one connection from the host, unfiltered: the receiver listens
fence() { "$PEER" tcp-send "$RX" "$1" -l 1 -t 10 >/dev/null; }
exited() { [ "$("$(cli "$1")" inspect -f '{{.State.Running}}' "$2" 2>/dev/null)" = false ]; }
logs() { "$(cli "$1")" logs "$2" 2>&1; }
no_pins() { [ ! -d "/sys/fs/bpf/egressctl/$1" ]; }
# runs_ge E C N: C's program has run to its end N times
runs_ge() { [ "$(logs "$1" "$2" | grep -c '^denied=')" -ge "$3" ]; }
# pins: the cgroup ids with pins
pins() { find /sys/fs/bpf/egressctl -maxdepth 1 -regex '.*/[0-9]+' -printf '%f\n' | sort | xargs; }

# N containers, first instruction connect(): allowed from the first SYN,
# denied never, every time; after they exit, poststop removed their pins
first_connect() {
	local e=$1 pa=$2 pd=$3 i n ok=0 first=0 denied=0 pol before
	pol=$(e_polflag "$e")
	before=$(pins)
	rxs "$pa" "$pd"
	for i in $(seq "$N"); do
		e_run "$e" "f$i" "$pol" "egressctl.allow=$RX tcp:$pa" "$(e_image "$e")" sh -c "$PROG" "$RX" "$pa" "$pd" >/dev/null ||
			fail "$e: run f$i"
	done
	for i in $(seq "$N"); do
		n=$(e_name "f$i")
		wait_for 60 exited "$e" "$n"
		[ "$("$(cli "$e")" inspect -f '{{.State.ExitCode}}' "$n")" = 0 ] && ok=$((ok + 1))
		logs "$e" "$n" | grep -qx 'retrans 0' && first=$((first + 1))
		logs "$e" "$n" | grep -qx 'denied=1' && denied=$((denied + 1))
	done
	assert_eq "$e: $N containers' first connect() (allowed) exited 0" "$N" "$ok"
	assert_eq "$e: ... connected on the first SYN (retrans 0), every one" "$N" "$first"
	assert_eq "$e: ... their next connect() (denied) was refused, every one" "$N" "$denied"
	wait_for 30 _conns_ge "$pa" "$N"
	fence "$pa"
	fence "$pd"
	wait_for 30 _conns_ge "$pd" 1
	assert_eq "$e: the receiver counted exactly $N connections on the allowed port (+ the fence)" \
		"$((N + 1))" "$(rx_conns "$pa")"
	assert_eq "$e: ... and none on the denied port (the fence alone)" 1 "$(rx_conns "$pd")"
	wait_for 30 eval '[ "$(pins)" = "$before" ]'
	assert_eq "$e: no pins left by the exited containers (poststop)" "$before" "$(pins)"
}
test_podman_first_connect() { first_connect podman 5511 5512; }
test_docker_first_connect() { first_connect docker 5521 5522; }

# a saved policy (egressctl allow on the running container), in force from
# the first instruction of each restart
saved() {
	local e=$1 pa=$2 pd=$3 n cg i
	rxs "$pa" "$pd"
	e_run "$e" s1 "$(e_image "$e")" sh -c "$PROG" "$RX" "$pa" "$pd" up >/dev/null || fail "$e: run s1"
	n=$(e_name s1)
	wait_for 30 _conns_ge "$pd" 1
	assert_eq "$e: no policy yet: both ports reached" "1 1" "$(rx_conns "$pa") $(rx_conns "$pd")"
	assert_eq "$e: no policy: not attached by the hook" 0 "$(e_attached "$e" "$n" && echo 1 || echo 0)"
	assert_rc "$e: egressctl attach $n" 0 egr "$e" attach "$n"
	assert_rc "$e: egressctl allow $n (saved)" 0 egr "$e" allow "$n" "$RX" "tcp:$pa"
	for i in 1 2; do
		cg=$(e_cgid "$e" "$n")
		"$(cli "$e")" restart -t 1 "$n" >/dev/null 2>&1 || fail "$e: restart $i"
		wait_for 30 runs_ge "$e" "$n" "$((i + 1))"
		assert_eq "$e: restart $i: allowed from the first SYN, denied refused" \
			"connected retrans 0 allowed=0 connect: Connection refused denied=1" \
			"$(logs "$e" "$n" | tail -5 | xargs)"
		assert_eq "$e: restart $i: the new cgroup is attached" 1 "$(e_attached "$e" "$n" && echo 1 || echo 0)"
		wait_for 30 no_pins "$cg"
		assert_eq "$e: restart $i: the old cgroup's pins are gone (poststop)" 1 "$(no_pins "$cg" && echo 1 || echo 0)"
	done
	fence "$pd"
	wait_for 30 _conns_ge "$pd" 2
	assert_eq "$e: 2 restarts: the allowed port counted 3, the denied one 1 (before the policy) + the fence" \
		"3 2" "$(rx_conns "$pa") $(rx_conns "$pd")"
}
test_podman_saved() { saved podman 5531 5532; }
test_docker_saved() { saved docker 5541 5542; }

# no policy: the hook leaves the container alone (unfiltered), also when the
# hook could not put a policy in force
no_policy() {
	local e=$1 pa=$2 pd=$3 n
	hooks_set EGRESSCTL_TEST_HOOK_FAIL=1
	rxs "$pa" "$pd"
	e_run "$e" free "$(e_image "$e")" sh -c "$PROG" "$RX" "$pa" "$pd" up >/dev/null
	assert_eq "$e: no policy: started (the hook did nothing, EGRESSCTL_TEST_HOOK_FAIL notwithstanding)" \
		true "$("$(cli "$e")" inspect -f '{{.State.Running}}' "$(e_name free)" 2>&1)"
	n=$(e_name free)
	wait_for 30 _conns_ge "$pd" 1
	assert_eq "$e: no policy: unfiltered, both ports reached" "1 1" "$(rx_conns "$pa") $(rx_conns "$pd")"
	assert_eq "$e: no policy: not attached" 0 "$(e_attached "$e" "$n" && echo 1 || echo 0)"
	hooks_set
}
test_podman_no_policy() { no_policy podman 5551 5552; }
test_docker_no_policy() { no_policy docker 5561 5562; }

# a policy that cannot be put in force: the container never runs
fail_closed() {
	local e=$1 pa=$2 pd=$3 c pol out rc
	c=$(cli "$e")
	pol=$(e_polflag "$e")
	rxs "$pa" "$pd"
	hooks_set EGRESSCTL_TEST_HOOK_FAIL=1
	out=$(e_run "$e" x1 "$pol" "egressctl.allow=$RX tcp:$pa" "$(e_image "$e")" sh -c "$PROG" "$RX" "$pa" "$pd" 2>&1)
	rc=$?
	assert_eq "$e: cannot enforce: run fails" 1 "$([ "$rc" -ne 0 ] && echo 1 || echo 0)"
	assert_match "$e: ... with the hook's line" \
		"egressctl: hook: container [0-9a-f]{12}( \([^)]*\))?: attaching the filter: Operation not permitted \(test hook EGRESSCTL_TEST_HOOK_FAIL\); not starting it" "$out"
	hooks_set
	out=$(e_run "$e" x2 "$pol" "egressctl.allow=$RX tcp:$pa; 300.1.2.3" "$(e_image "$e")" sh -c "$PROG" "$RX" "$pa" "$pd" 2>&1)
	rc=$?
	assert_eq "$e: bad policy: run fails" 1 "$([ "$rc" -ne 0 ] && echo 1 || echo 0)"
	assert_match "$e: ... with the hook's line" \
		"egressctl: hook: container [0-9a-f]{12}.*(label|annotation) egressctl.allow: bad destination '300\.1\.2\.3'.*; not starting it" "$out"
	assert_eq "$e: neither ran: never running, nothing received" "false false 0 0" \
		"$("$c" inspect -f '{{.State.Running}}' "$(e_name x1)") $("$c" inspect -f '{{.State.Running}}' "$(e_name x2)") $(rx_conns "$pa") $(rx_conns "$pd")"
	assert_eq "$e: ... and their logs are empty (not one instruction)" "" "$(logs "$e" "$(e_name x1)")$(logs "$e" "$(e_name x2)")"
	assert_rc "$e: start again, the hook fixed: runs" 0 "$c" start "$(e_name x1)"
	wait_for 30 _conns_ge "$pa" 1
	wait_for 30 runs_ge "$e" "$(e_name x1)" 1
	assert_eq "$e: ... with its policy from the first instruction" "connected retrans 0 allowed=0 connect: Connection refused denied=1" \
		"$(logs "$e" "$(e_name x1)" | xargs)"
}
test_podman_fail_closed() { fail_closed podman 5571 5572; }
test_docker_fail_closed() { fail_closed docker 5581 5582; }

# rm -f of a running container: no pins left, no defunct target
rm_f() {
	local e=$1 pa=$2 pd=$3 n cg
	rxs "$pa" "$pd"
	e_run "$e" r1 "$(e_polflag "$e")" "egressctl.allow=$RX tcp:$pa" "$(e_image "$e")" sh -c "$PROG" "$RX" "$pa" "$pd" up >/dev/null
	n=$(e_name r1)
	wait_for 30 _conns_ge "$pa" 1
	assert_eq "$e: attached by the hook" 1 "$(e_attached "$e" "$n" && echo 1 || echo 0)"
	cg=$(e_cgid "$e" "$n")
	"$(cli "$e")" rm -f "$n" >/dev/null 2>&1
	wait_for 30 no_pins "$cg"
	assert_eq "$e: rm -f: its pins are gone (poststop)" 1 "$(no_pins "$cg" && echo 1 || echo 0)"
	assert_rc "$e: rm -f: no defunct target" 0 "$EGR" detach --gone
	assert_eq "$e: rm -f: detach --gone had nothing to do" "no defunct targets" "$LAST_OUT"
}
test_podman_rm() { rm_f podman 5591 5592; }
test_docker_rm() { rm_f docker 5593 5594; }

# an unlimited ulimit is a uint64 in config.json (18446744073709551615; core:
# a limit this machine lets a container raise, memlock it does not):
# the wrapper keeps it exact, the container starts with its policy in force
test_docker_ulimit() {
	local pa=5595 pd=5596 n
	rxs "$pa" "$pd"
	e_run docker u1 --ulimit core=-1:-1 --label "egressctl.allow=$RX tcp:$pa" \
		"$(e_image docker)" sh -c "$PROG" "$RX" "$pa" "$pd" >/dev/null || fail "docker: run u1"
	n=$(e_name u1)
	wait_for 60 exited docker "$n"
	assert_eq "docker: --ulimit core=-1:-1: started, its first connect() (allowed) exited 0" 0 \
		"$(docker inspect -f '{{.State.ExitCode}}' "$n" 2>/dev/null)"
	assert_eq "docker: ... on the first SYN, and its denied connect() refused" "retrans 0 denied=1" \
		"$(logs docker "$n" | grep -x 'retrans 0\|denied=1' | xargs)"
	assert_eq "docker: ... core unlimited inside" unlimited \
		"$(docker run --rm --runtime egressctl --ulimit core=-1:-1 "$(e_image docker)" sh -c 'ulimit -c' 2>&1)"
}

# bad input on stdin: one line, exit 1, nothing changed in bpffs
test_bad_input() {
	local before
	before=$(find /sys/fs/bpf/egressctl | sort | md5sum)
	assert_rc "not JSON" 1 sh -c 'echo "{nope" | "$1" hook' sh "$EGR"
	assert_match "not JSON: one line" "^egressctl: hook: the OCI state on stdin is not a JSON object: .*" "$LAST_ERR"
	assert_eq "not JSON: one line only" 1 "$(wc -l <<<"$LAST_ERR")"
	assert_rc "an id with a slash" 1 sh -c 'echo "{\"id\": \"../../etc\", \"pid\": 1}" | "$1" hook' sh "$EGR"
	assert_eq "an id with a slash: the line" "egressctl: hook: the OCI state on stdin has no valid \"id\" ('../../etc')" "$LAST_ERR"
	assert_rc "a bad pid" 1 sh -c 'echo "{\"id\": \"abc\", \"pid\": -4}" | "$1" hook' sh "$EGR"
	assert_eq "a bad pid: the line" "egressctl: hook: the OCI state on stdin has a bad \"pid\"" "$LAST_ERR"
	assert_rc "a bad annotation policy" 1 sh -c 'echo "{\"id\": \"abc\", \"pid\": 1, \"annotations\": {\"egressctl.default\": \"maybe\"}}" | "$1" hook' sh "$EGR"
	assert_eq "a bad annotation policy: the line" "egressctl: hook: container abc: annotation egressctl.default: 'maybe': use deny or allow; not starting it" "$LAST_ERR"
	assert_rc "empty stdin" 1 sh -c '"$1" hook </dev/null' sh "$EGR"
	assert_rc "an unknown option" 1 "$EGR" hook --frob
	assert_eq "no kernel change" "$before" "$(find /sys/fs/bpf/egressctl | sort | md5sum)"
}

# a rootless runtime runs hooks as its user: a container without a policy
# starts, one that asks for a policy does not (nothing can be attached)
test_rootless() {
	local before
	before=$(find /sys/fs/bpf/egressctl | sort | md5sum)
	assert_rc "rootless, no policy: exit 0" 0 setpriv --reuid 65534 --regid 65534 --clear-groups \
		sh -c 'echo "{\"id\": \"abc\", \"pid\": 1}" | "$1" hook' sh "$EGR"
	assert_rc "rootless, a policy: exit 1" 1 setpriv --reuid 65534 --regid 65534 --clear-groups \
		sh -c 'echo "{\"id\": \"abc\", \"pid\": 1, \"annotations\": {\"egressctl.allow\": \"198.18.0.1\"}}" | "$1" hook' sh "$EGR"
	assert_eq "rootless, a policy: the line" "egressctl: hook: container abc: the hook runs as uid 65534, not root: a policy cannot be put in force for a rootless container; not starting it" "$LAST_ERR"
	assert_eq "rootless: no kernel change" "$before" "$(find /sys/fs/bpf/egressctl | sort | md5sum)"
}

run_tests
