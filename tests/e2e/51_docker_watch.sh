#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# egressctl watch against a real dockerd: a saved policy follows its
# container through `docker restart` (watch running: re-applied, the
# start->enforced time logged; watch down: re-applied by the next watch at
# startup), through a dockerd restart, and is deleted with the container;
# label policies (egressctl.allow / egressctl.policy) applied on `docker run
# --label` with no egressctl command, a bad label failing closed; the
# examples/compose project brought up with docker-compose. Every verdict is
# counted at a receiver (a netns on 198.18.52.x, or a compose service);
# every wait is for a line of watch's log or a state, never for a time.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr docker python3

ALL_TESTS="test_restart_watch_running test_sigterm test_restart_watch_down test_labels
	test_json_lines test_docker_rm test_dockerd_restart test_compose"

netns_up d51rx 198.18.52.2/24 -
netns_addr d51rx 198.18.53.7/32
RX=198.18.52.2 OTHER=198.18.53.7
_sysctl - net.ipv4.ip_forward 1
LOG=$E2E_TMP/watch.log

udp_from() {
	local c=$1
	shift
	expect_udp "$@" -n 5 -i 500 --from "docker:$c"
}

W1=$(dk_run w1 egressctl-test:busybox sleep 3600) || bail "docker run failed"
N1=$(dk_name w1)

# a saved policy, then docker restart with watch running
test_restart_watch_running() {
	local cg0 cg1 ms i
	assert_rc "attach w1" 0 "$EGR" attach "$N1"
	assert_rc "allow w1 -> $RX udp:5101" 0 "$EGR" allow "$N1" "$RX" udp:5101
	dk_watch_bg "$LOG" || fail "watch does not start"
	assert_match "watch startup: w1 already in force" \
		"startup $N1 \(${W1:0:12}\): already in force: saved policy \(1 rule, default deny\)" "$(cat "$LOG")"
	cg0=$(dk_cgid "$N1")
	docker restart -t 1 "$N1" >/dev/null
	wait_line "$LOG" "^start $N1 .*enforced"
	cg1=$(dk_cgid "$N1")
	assert_eq "restart: new cgroup id" 1 "$([ -n "$cg1" ] && [ "$cg1" != "$cg0" ] && echo 1 || echo 0)"
	assert_eq "restart: new cgroup attached" 1 "$(dk_attached "$N1" && echo 1 || echo 0)"
	ms=$(enforced_ms "$LOG" "$N1")
	assert_match "restart: start->enforced time logged" '^[0-9]+\.[0-9]$' "$ms"
	diag "docker restart, watch running: start event -> enforced in $ms ms"
	udp_from "$N1" pass "$RX" 5101 -m "restart: allowed"
	udp_from "$N1" drop "$OTHER" 5102 -m "restart: denied"
	wait_for 30 test ! -d "/sys/fs/bpf/egressctl/$cg0"
	assert_eq "restart: old cgroup's pins removed" 0 "$([ -d "/sys/fs/bpf/egressctl/$cg0" ] && echo 1 || echo 0)"
	for i in 2 3; do
		docker restart -t 1 "$N1" >/dev/null
		wait_for 60 lines_ge "$LOG" "^start $N1 .*enforced" "$i"
		diag "restart $i: start event -> enforced in $(enforced_ms "$LOG" "$N1") ms"
	done
	assert_eq "3 restarts: 3 enforcement lines" 3 "$(grep -c "^start $N1 .*enforced" "$LOG")"
	wait_for 30 dk_attached "$N1"
	udp_from "$N1" drop "$OTHER" 5102 -m "3 restarts: still enforced"
}

# SIGTERM: a clean exit, by itself
_gone() { ! kill -0 "$1" 2>/dev/null; }
test_sigterm() {
	local rc
	dk_watch_bg "$LOG.t" || fail "watch does not start"
	kill -TERM "$DK_WATCH_PID"
	assert_true "SIGTERM: watch exits (no SIGKILL needed)" wait_for 60 _gone "$DK_WATCH_PID"
	wait "$DK_WATCH_PID"
	rc=$?
	assert_eq "SIGTERM: exit 0" 0 "$rc"
	assert_match "SIGTERM: last line" "watch: stopped$" "$(tail -1 "$LOG.t")"
}

# restart while watch is down, then watch --once
test_restart_watch_down() {
	local cg1
	assert_rc "attach w1, allow -> $RX udp:5101" 0 sh -c \
		'"$1" attach "$2" >/dev/null && "$1" allow "$2" "$3" udp:5101' sh "$EGR" "$N1" "$RX"
	cg1=$(dk_cgid "$N1")
	docker restart -t 1 "$N1" >/dev/null
	assert_eq "watch down: new cgroup not attached" 0 "$(dk_attached "$N1" && echo 1 || echo 0)"
	udp_from "$N1" pass "$OTHER" 5103 -m "watch down: the restarted container is unfiltered"
	assert_rc "watch --once" 0 "$EGR" watch --once
	assert_match "watch --once: re-applied at startup" \
		"startup $N1 \(${W1:0:12}\): enforced saved policy \(1 rule, default deny\) on cgroup /docker/$W1 \(attached\) in [0-9.]+ ms" "$LAST_OUT"
	assert_match "watch --once: old pins cleaned" "removed the pins of (its old )?cgroup /docker/$W1 \(id $cg1\)" "$LAST_OUT"
	udp_from "$N1" pass "$RX" 5101 -m "re-applied: allowed"
	udp_from "$N1" drop "$OTHER" 5103 -m "re-applied: denied"
}

# labels on docker run
test_labels() {
	local W2 N2 W3 N3 N4 N5 POLICY
	dk_watch_bg "$LOG.2" || fail "watch does not start"
	W2=$(dk_run w2 --label "egressctl.allow=$RX udp:5104, 198.18.52.99" egressctl-test:busybox sleep 3600)
	N2=$(dk_name w2)
	POLICY=$(printf 'default: deny\nrules:\n  - allow: %s\n    ports: [udp:5105]\n' "$RX")
	W3=$(dk_run w3 --label "egressctl.policy=$POLICY" egressctl-test:busybox sleep 3600)
	N3=$(dk_name w3)
	dk_run w4 --label "egressctl.allow=$RX udp:5104, 300.1.2.3" egressctl-test:busybox sleep 3600 >/dev/null
	N4=$(dk_name w4)
	dk_run w5 egressctl-test:busybox sleep 3600 >/dev/null
	N5=$(dk_name w5)
	wait_line "$LOG.2" "^start $N2 .*enforced"
	wait_line "$LOG.2" "^start $N3 .*enforced"
	wait_line "$LOG.2" "^error $N4 "
	wait_line "$LOG.2" "^start $N5 "
	assert_match "label allow: applied at start" \
		"start $N2 \(${W2:0:12}\): enforced label policy \(2 rules, default deny\)" "$(cat "$LOG.2")"
	assert_match "label policy (YAML): applied at start" \
		"start $N3 \(${W3:0:12}\): enforced label policy \(1 rule, default deny\)" "$(cat "$LOG.2")"
	assert_match "bad label: error line" \
		"error $N4 \([0-9a-f]{12}\): label egressctl.allow: bad destination '300\.1\.2\.3'.*; egress stays denied" "$(cat "$LOG.2")"
	assert_match "no label: left alone" "start $N5 \([0-9a-f]{12}\): no policy: left alone" "$(cat "$LOG.2")"
	diag "docker run --label: start event -> enforced in $(enforced_ms "$LOG.2" "$N2") ms"
	udp_from "$N2" pass "$RX" 5104 -m "label allow: allowed"
	udp_from "$N2" drop "$OTHER" 5104 -m "label allow: denied"
	udp_from "$N3" pass "$RX" 5105 -m "label policy: allowed"
	udp_from "$N3" drop "$RX" 5104 -m "label policy: other port"
	udp_from "$N4" drop "$RX" 5104 -m "bad label: fail closed"
	udp_from "$N5" pass "$OTHER" 5104 -m "no label: unfiltered"
	assert_eq "label policy saved with source label" "$N2 label" \
		"$(saved_of "$W2")"
	assert_rc "list by name" 0 "$EGR" list "$N2"
	assert_match "list: label policy under the container's name" "^$N2 \(id [0-9]+\): default deny, audit off, 2 rules" "$LAST_OUT"
}

# watch -j: every line it writes parses, warnings included (a host-network
# container's attach warns that packet sockets are not blocked for it, BPF
# LSM forced unavailable so that it does on every kernel); a
# warning of the same text is written once
test_json_lines() {
	local out=$E2E_TMP/j.out errf=$E2E_TMP/j.err bad
	dk_run wh1 --network host --label "egressctl.allow=$RX udp:5104" egressctl-test:busybox sleep 3600 >/dev/null
	dk_run wh2 --network host --label "egressctl.allow=$RX udp:5104" egressctl-test:busybox sleep 3600 >/dev/null
	# BPF LSM as unavailable (test hook): with it active nothing is uncovered
	# and there is no warning; either way this machine may have it
	assert_rc "watch --once -j" 0 env EGRESSCTL_TEST_LSM=absent "$EGR" watch --once -j
	printf '%s\n' "$LAST_OUT" >"$out"
	printf '%s\n' "$LAST_ERR" >"$errf"
	bad=$(cat "$out" "$errf" | while IFS= read -r l; do
		[ -z "$l" ] || jq -e 'type == "object"' <<<"$l" >/dev/null 2>&1 || echo "$l"
	done)
	assert_eq "watch -j: no line on stdout or stderr that is not a JSON object" "" "$bad"
	assert_match "watch -j: both host-network containers enforced" \
		"$(dk_name wh1).*enforced.*$(dk_name wh2).*enforced|$(dk_name wh2).*enforced.*$(dk_name wh1).*enforced" \
		"$(jq -r 'select(.event == "startup") | "\(.container) \(.message)"' "$out" | tr '\n' ' ')"
	assert_eq "watch -j: the warning that packet sockets are not blocked, for each, as JSON" \
		"$(printf '%s\n' "$(dk_cgpath "$(dk_name wh1)")" "$(dk_cgpath "$(dk_name wh2)")" | sort | xargs)" \
		"$(jq -r 'select(.event == "warning") | .message' "$errf" |
			sed -nE 's/^packet sockets \(AF_PACKET\) are NOT blocked for cgroup ([^:]+):.*/\1/p' | sort | xargs)"
	assert_eq "watch -j: the same warning text once" \
		"$(jq -r 'select(.event == "warning") | .message' "$errf" | wc -l)" \
		"$(jq -r 'select(.event == "warning") | .message' "$errf" | sort -u | wc -l)"
}

# docker rm: state and pins gone
test_docker_rm() {
	local W6 N6 cg6
	dk_watch_bg "$LOG.rm" || fail "watch does not start"
	W6=$(dk_run w6rm --label "egressctl.allow=$RX udp:5104" egressctl-test:busybox sleep 3600)
	N6=$(dk_name w6rm)
	wait_line "$LOG.rm" "^start $N6 .*enforced"
	assert_eq "label policy saved" 1 "$([ -e "$EGRESSCTL_STATE_DIR/$W6.json" ] && echo 1 || echo 0)"
	cg6=$(dk_cgid "$N6")
	docker rm -f "$N6" >/dev/null
	wait_line "$LOG.rm" "^destroy $N6 "
	assert_eq "rm: state file deleted" 0 "$([ -e "$EGRESSCTL_STATE_DIR/$W6.json" ] && echo 1 || echo 0)"
	assert_eq "rm: pins deleted" 0 "$([ -d "/sys/fs/bpf/egressctl/$cg6" ] && echo 1 || echo 0)"
}

# dockerd restart
test_dockerd_restart() {
	local N7 cg7
	if [ "$DK_STARTED" != 1 ]; then
		skip "dockerd restart" "dockerd was not started by this test"
		return 0
	fi
	dk_watch_bg "$LOG.3" || fail "watch does not start"
	dk_run w7 --restart always egressctl-test:busybox sleep 3600 >/dev/null
	N7=$(dk_name w7)
	assert_rc "attach w7, allow -> $RX udp:5106" 0 sh -c \
		'"$1" attach "$2" >/dev/null && "$1" allow "$2" "$3" udp:5106' sh "$EGR" "$N7" "$RX"
	udp_from "$N7" drop "$OTHER" 5107 -m "before dockerd restart: denied"
	cg7=$(dk_cgid "$N7")
	docker_down
	docker_up || bail "dockerd does not come back"
	wait_for 60 dk_attached "$N7"
	assert_eq "dockerd restarted: container restarted in a new cgroup" 1 \
		"$(c=$(dk_cgid "$N7"); [ -n "$c" ] && [ "$c" != "$cg7" ] && echo 1 || echo 0)"
	assert_eq "dockerd restarted: new cgroup attached by watch" 1 "$(dk_attached "$N7" && echo 1 || echo 0)"
	udp_from "$N7" pass "$RX" 5106 -m "dockerd restarted: allowed"
	udp_from "$N7" drop "$OTHER" 5107 -m "dockerd restarted: denied"
	# by the reconcile after reconnecting, or already as its new cgroup
	# appeared (watch follows /docker while the event stream is down)
	wait_line "$LOG.3" "^(startup|cgroup) $N7 \([0-9a-f]{12}\): enforced saved policy"
	assert_eq "watch lived through it: re-applied once (after reconnecting, or as the cgroup appeared)" 1 \
		"$(grep -cE "^(startup|cgroup) $N7 \([0-9a-f]{12}\): enforced saved policy" "$LOG.3")"
	assert_eq "watch still running" 1 "$(kill -0 "$DK_WATCH_PID" 2>/dev/null && echo 1 || echo 0)"
}

COMPOSE="docker-compose -p egr51$E2E_ID -f $E2E_ROOT/examples/compose/docker-compose.yml"
compose_down() { [ -e "$E2E_TMP/compose.up" ] && $COMPOSE down >/dev/null 2>&1; rm -f "$E2E_TMP/compose.up"; }
e2e_on_exit compose_down

# listening C PROTO HEXPORT: container C has a socket bound to that port
listening() { docker exec "$1" grep -qi ":$3 00000000:0000 " "/proc/net/$2"; }

# the compose example
test_compose() {
	local WEB webid
	dk_watch_bg "$LOG.4" || fail "watch does not start"
	: >"$E2E_TMP/compose.up"
	if ! $COMPOSE up -d >"$E2E_TMP/compose.log" 2>&1; then
		compose_down
		fail "compose up" "$(cat "$E2E_TMP/compose.log")"
	fi
	pass "compose up"
	WEB=egr51${E2E_ID}_web_1
	wait_line "$LOG.4" "^start $WEB .*enforced"
	# the services' receivers are up (their sockets bound) before web sends
	if ! wait_for 30 listening "egr51${E2E_ID}_db_1" tcp 1538 ||
		! wait_for 30 listening "egr51${E2E_ID}_proxy_1" tcp 0C38 ||
		! wait_for 30 listening "egr51${E2E_ID}_dns_1" udp 0035; then
		diag "compose: a service is not listening yet"
	fi
	assert_match "compose: web's label policy applied" \
		"start $WEB \([0-9a-f]{12}\): enforced label policy \(11 rules, default deny\)" "$(cat "$LOG.4")"
	diag "compose up: web's start event -> enforced in $(enforced_ms "$LOG.4" "$WEB") ms"
	assert_rc "web -> db tcp:5432" 0 docker exec "$WEB" peer tcp-send 198.19.200.10 5432 -l 100 -t 10
	assert_rc "web -> proxy tcp:3128" 0 docker exec "$WEB" peer tcp-send 198.19.200.20 3128 -l 200 -t 10
	assert_rc "web -> dns udp:53 (7 datagrams)" 0 docker exec "$WEB" peer udp-send 198.19.200.53 53 7
	assert_rc "web -> db on another port: refused by the filter" 1 docker exec "$WEB" peer tcp-send 198.19.200.10 22 -t 2
	udp_from "$WEB" drop "$OTHER" 5108 -m "web -> outside (198.18.53.7)"
	udp_from "egr51${E2E_ID}_db_1" pass "$OTHER" 5109 -m "db -> outside (no policy)"
	$COMPOSE stop >/dev/null 2>&1
	assert_eq "db received 1 connection, 100 bytes" "1 100" "$(docker logs "egr51${E2E_ID}_db_1" 2>&1 | tail -1)"
	assert_eq "proxy received 1 connection, 200 bytes" "1 200" "$(docker logs "egr51${E2E_ID}_proxy_1" 2>&1 | tail -1)"
	assert_eq "dns received 7 datagrams" 7 "$(docker logs "egr51${E2E_ID}_dns_1" 2>&1 | tail -1)"
	webid=$(docker inspect -f '{{.Id}}' "$WEB")
	compose_down
	wait_line "$LOG.4" "^destroy $WEB "
	assert_eq "compose down: web's state deleted" 0 "$([ -e "$EGRESSCTL_STATE_DIR/$webid.json" ] && echo 1 || echo 0)"
}

run_tests
