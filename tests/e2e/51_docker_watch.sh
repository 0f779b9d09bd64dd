#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# egressctl watch against a real dockerd: a saved policy follows its
# container through `docker restart` (watch running: re-applied, the
# start->enforced time measured; watch down: re-applied by the next watch at
# startup), through a dockerd restart, and is deleted with the container;
# label policies (egressctl.allow / egressctl.policy) applied on `docker run
# --label` with no egressctl command, a bad label failing closed; the
# examples/compose project brought up with docker-compose. Every verdict is
# counted at a receiver (a netns on 198.18.52.x, or a compose service).
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/docker_lib.sh
. "$(dirname "$0")/docker_lib.sh"
e2e_init
need_egr
dk_setup

netns_up d51rx 198.18.52.2/24 -
netns_addr d51rx 198.18.53.7/32
RX=198.18.52.2 OTHER=198.18.53.7
_sysctl - net.ipv4.ip_forward 1
LOG=$E2E_TMP/watch.log
TIMES=

# enforced_ms LOG NAME: the start->enforced time of NAME's last start line
enforced_ms() {
	grep -E "^start $2 \([0-9a-f]{12}\): enforced .* in [0-9.]+ ms$" "$1" | tail -1 |
		sed -E 's/.* in ([0-9.]+) ms$/\1/'
}
# wait_line LOG REGEX [SECONDS=15]
wait_line() {
	wait_for "${3:-15}" grep -qE "$2" "$1"
}

# ---- a saved policy, then docker restart with watch running -----------------
W1=$(dk_run w1 egressctl-test:busybox sleep 600) || bail "docker run failed"
N1=$(dk_name w1)
assert_rc "attach w1" 0 "$EGR" attach "$N1"
assert_rc "allow w1 -> $RX udp:5101" 0 "$EGR" allow "$N1" "$RX" udp:5101
dk_watch_bg "$LOG" || bail "watch does not start"
assert_match "watch startup: w1 already in force" \
	"startup $N1 \(${W1:0:12}\): already in force: saved policy \(1 rule, default deny\)" "$(cat "$LOG")"
cg0=$(dk_cgid "$N1")
docker restart -t 1 "$N1" >/dev/null
wait_line "$LOG" "^start $N1 .*enforced" || diag "$(cat "$LOG")"
cg1=$(dk_cgid "$N1")
assert_eq "restart: new cgroup id" 1 "$([ -n "$cg1" ] && [ "$cg1" != "$cg0" ] && echo 1 || echo 0)"
assert_eq "restart: new cgroup attached" 1 "$(dk_attached "$N1" && echo 1 || echo 0)"
ms=$(enforced_ms "$LOG" "$N1")
assert_match "restart: start->enforced time logged" '^[0-9]+\.[0-9]$' "$ms"
diag "docker restart, watch running: start event -> enforced in $ms ms"
TIMES+="restart=$ms "
assert_eq "restart: allowed delivered" 5 "$(dk_udp "$N1" d51rx $RX 5101 5)"
assert_eq "restart: denied dropped" 0 "$(dk_udp "$N1" d51rx $OTHER 5102 5)"
wait_for 5 test ! -d "/sys/fs/bpf/egressctl/$cg0"
assert_eq "restart: old cgroup's pins removed" 0 "$([ -d "/sys/fs/bpf/egressctl/$cg0" ] && echo 1 || echo 0)"
for i in 2 3; do
	docker restart -t 1 "$N1" >/dev/null
	wait_for 15 dk_attached "$N1"
	wait_for 5 test "$(grep -c "^start $N1 .*enforced" "$LOG")" -ge "$i"
	TIMES+="restart=$(enforced_ms "$LOG" "$N1") "
done
assert_eq "3 restarts: 3 enforcement lines" 3 "$(grep -c "^start $N1 .*enforced" "$LOG")"
assert_eq "3 restarts: still enforced" 0 "$(dk_udp "$N1" d51rx $OTHER 5102 5)"

# ---- SIGTERM: prompt, clean exit -------------------------------------------
t0=$(date +%s%N)
kill -TERM "$DK_WATCH_PID"
wait "$DK_WATCH_PID"
rc=$?
t1=$(date +%s%N)
assert_eq "SIGTERM: exit 0" 0 "$rc"
assert_range "SIGTERM: exits within 3 s (ms)" 0 3000 $(((t1 - t0) / 1000000))
assert_match "SIGTERM: last line" "watch: stopped$" "$(tail -1 "$LOG")"

# ---- restart while watch is down, then watch --once -----------------------
cg1=$(dk_cgid "$N1")
docker restart -t 1 "$N1" >/dev/null
assert_eq "watch down: new cgroup not attached" 0 "$(dk_attached "$N1" && echo 1 || echo 0)"
assert_eq "watch down: the restarted container is unfiltered" 5 "$(dk_udp "$N1" d51rx $OTHER 5103 5)"
assert_rc "watch --once" 0 "$EGR" watch --once
assert_match "watch --once: re-applied at startup" \
	"startup $N1 \(${W1:0:12}\): enforced saved policy \(1 rule, default deny\) on cgroup /docker/$W1 \(attached\) in [0-9.]+ ms" "$LAST_OUT"
assert_match "watch --once: old pins cleaned" "removed the pins of (its old )?cgroup /docker/$W1 \(id $cg1\)" "$LAST_OUT"
assert_eq "re-applied: allowed delivered" 5 "$(dk_udp "$N1" d51rx $RX 5101 5)"
assert_eq "re-applied: denied dropped" 0 "$(dk_udp "$N1" d51rx $OTHER 5103 5)"

# ---- labels on docker run ---------------------------------------------------
dk_watch_bg "$LOG.2" || bail "watch does not start"
W2=$(dk_run w2 --label "egressctl.allow=$RX udp:5104, 198.18.52.99" egressctl-test:busybox sleep 600)
N2=$(dk_name w2)
POLICY=$(printf 'default: deny\nrules:\n  - allow: %s\n    ports: [udp:5105]\n' "$RX")
W3=$(dk_run w3 --label "egressctl.policy=$POLICY" egressctl-test:busybox sleep 600)
N3=$(dk_name w3)
dk_run w4 --label "egressctl.allow=$RX udp:5104, nonsense" egressctl-test:busybox sleep 600 >/dev/null
N4=$(dk_name w4)
dk_run w5 egressctl-test:busybox sleep 600 >/dev/null
N5=$(dk_name w5)
wait_line "$LOG.2" "^start $N4 " || diag "$(cat "$LOG.2")"
wait_line "$LOG.2" "^start $N3 .*enforced" || diag "$(cat "$LOG.2")"
wait_line "$LOG.2" "^start $N5 " || diag "$(cat "$LOG.2")"
assert_match "label allow: applied at start" \
	"start $N2 \(${W2:0:12}\): enforced label policy \(2 rules, default deny\)" "$(cat "$LOG.2")"
assert_match "label policy (YAML): applied at start" \
	"start $N3 \(${W3:0:12}\): enforced label policy \(1 rule, default deny\)" "$(cat "$LOG.2")"
assert_match "bad label: error line" \
	"error $N4 \([0-9a-f]{12}\): label egressctl.allow: bad destination 'nonsense'.*; egress stays denied" "$(cat "$LOG.2")"
assert_match "no label: left alone" "start $N5 \([0-9a-f]{12}\): no policy: left alone" "$(cat "$LOG.2")"
TIMES+="label-run=$(enforced_ms "$LOG.2" "$N2") "
assert_eq "label allow: allowed delivered" 5 "$(dk_udp "$N2" d51rx $RX 5104 5)"
assert_eq "label allow: denied dropped" 0 "$(dk_udp "$N2" d51rx $OTHER 5104 5)"
assert_eq "label policy: allowed delivered" 5 "$(dk_udp "$N3" d51rx $RX 5105 5)"
assert_eq "label policy: other port dropped" 0 "$(dk_udp "$N3" d51rx $RX 5104 5)"
assert_eq "bad label: fail closed" 0 "$(dk_udp "$N4" d51rx $RX 5104 5)"
assert_eq "no label: unfiltered" 5 "$(dk_udp "$N5" d51rx $OTHER 5104 5)"
assert_eq "label policy saved with source label" "$N2 label" \
	"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["name"], d["source"])' "$EGRESSCTL_STATE_DIR/$W2.json")"
assert_rc "list by name" 0 "$EGR" list "$N2"
assert_match "list: label policy under the container's name" "^$N2 \(id [0-9]+\): default deny, audit off, 2 rules" "$LAST_OUT"

# ---- docker rm: state and pins gone ----------------------------------------
cg2=$(dk_cgid "$N2")
docker rm -f "$N2" >/dev/null
wait_line "$LOG.2" "^destroy $N2 " 10
assert_eq "rm: state file deleted" 0 "$([ -e "$EGRESSCTL_STATE_DIR/$W2.json" ] && echo 1 || echo 0)"
assert_eq "rm: pins deleted" 0 "$([ -d "/sys/fs/bpf/egressctl/$cg2" ] && echo 1 || echo 0)"

# ---- dockerd restart --------------------------------------------------------
if [ "$DK_STARTED" = 1 ]; then
	dk_run w6 --restart always egressctl-test:busybox sleep 600 >/dev/null
	N6=$(dk_name w6)
	"$EGR" attach "$N6" >/dev/null && "$EGR" allow "$N6" "$RX" udp:5106 >/dev/null
	assert_eq "before dockerd restart: denied dropped" 0 "$(dk_udp "$N6" d51rx $OTHER 5107 5)"
	cg6=$(dk_cgid "$N6")
	docker_down
	docker_up || bail "dockerd does not come back"
	wait_for 30 dk_attached "$N6"
	assert_eq "dockerd restarted: container restarted in a new cgroup" 1 \
		"$(c=$(dk_cgid "$N6"); [ -n "$c" ] && [ "$c" != "$cg6" ] && echo 1 || echo 0)"
	assert_eq "dockerd restarted: new cgroup attached by watch" 1 "$(dk_attached "$N6" && echo 1 || echo 0)"
	assert_eq "dockerd restarted: allowed delivered" 5 "$(dk_udp "$N6" d51rx $RX 5106 5)"
	assert_eq "dockerd restarted: denied dropped" 0 "$(dk_udp "$N6" d51rx $OTHER 5107 5)"
	assert_eq "watch lived through it: re-applied after reconnecting" 1 \
		"$(grep -cE "^startup $N6 \([0-9a-f]{12}\): enforced saved policy" "$LOG.2")"
	assert_eq "watch still running" 1 "$(kill -0 "$DK_WATCH_PID" 2>/dev/null && echo 1 || echo 0)"
else
	skip "dockerd restart" "dockerd was not started by this test"
fi

# ---- the compose example -----------------------------------------------------
COMPOSE="docker-compose -p egr51$E2E_ID -f $E2E_ROOT/examples/compose/docker-compose.yml"
if $COMPOSE up -d >"$E2E_TMP/compose.log" 2>&1; then
	pass "compose up"
	WEB=egr51${E2E_ID}_web_1
	wait_line "$LOG.2" "^start $WEB .*enforced" 20 || diag "$(cat "$LOG.2")"
	assert_match "compose: web's label policy applied" \
		"start $WEB \([0-9a-f]{12}\): enforced label policy \(11 rules, default deny\)" "$(cat "$LOG.2")"
	TIMES+="compose-web=$(enforced_ms "$LOG.2" "$WEB") "
	assert_rc "web -> db tcp:5432" 0 docker exec "$WEB" peer tcp-send 198.19.200.10 5432 -l 100 -t 3
	assert_rc "web -> proxy tcp:3128" 0 docker exec "$WEB" peer tcp-send 198.19.200.20 3128 -l 200 -t 3
	assert_rc "web -> dns udp:53 (7 datagrams)" 0 docker exec "$WEB" peer udp-send 198.19.200.53 53 7
	assert_rc "web -> db on another port: refused by the filter" 1 docker exec "$WEB" peer tcp-send 198.19.200.10 22 -t 2
	assert_eq "web -> outside (198.18.53.7) dropped" 0 "$(dk_udp "$WEB" d51rx $OTHER 5108 5)"
	assert_eq "db -> outside (no policy) delivered" 5 "$(dk_udp "egr51${E2E_ID}_db_1" d51rx $OTHER 5109 5)"
	$COMPOSE stop >/dev/null 2>&1
	assert_eq "db received 1 connection, 100 bytes" "1 100" "$(docker logs "egr51${E2E_ID}_db_1" 2>&1 | tail -1)"
	assert_eq "proxy received 1 connection, 200 bytes" "1 200" "$(docker logs "egr51${E2E_ID}_proxy_1" 2>&1 | tail -1)"
	assert_eq "dns received 7 datagrams" 7 "$(docker logs "egr51${E2E_ID}_dns_1" 2>&1 | tail -1)"
	webid=$(docker inspect -f '{{.Id}}' "$WEB")
	$COMPOSE down >/dev/null 2>&1
	wait_line "$LOG.2" "^destroy $WEB " 10
	assert_eq "compose down: web's state deleted" 0 "$([ -e "$EGRESSCTL_STATE_DIR/$webid.json" ] && echo 1 || echo 0)"
else
	fail "compose up" "$(cat "$E2E_TMP/compose.log")"
	$COMPOSE down >/dev/null 2>&1
fi

diag "start event -> enforced (ms): $TIMES"
e2e_done
