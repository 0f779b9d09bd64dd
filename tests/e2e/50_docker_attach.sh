#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Docker targets against a real dockerd: attach by name, full id, id prefix
# and docker:<ref>; the error paths (ambiguous prefix, no daemon, permission
# denied, not running, no such container) change nothing; allowed vs denied
# destinations from inside a container, counted at a receiver on 198.18.50.x
# (a netns routed through the host); live edits; the policy saved in the
# state directory; enforcement independent of iptables (DOCKER-USER flushed,
# the network removed and re-created) and egressctl never touching iptables.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr docker python3

ALL_TESTS="test_no_filter test_bad_targets test_attach_targets test_enforcement test_live_edits
	test_not_iptables test_detach"

netns_up d50rx 198.18.50.2/24 -
netns_addr d50rx 198.18.51.7/32
RX=198.18.50.2 OTHER=198.18.51.7
# replies to the containers' networks (NATed by Docker anyway)
_sysctl - net.ipv4.ip_forward 1

iptables_now() {
	iptables-save 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//g'
}
# our containers' cgroups that have pins (other tests may attach meanwhile)
pins_now() {
	local c
	for c in "$NA" "$NB"; do
		dk_attached "$c" && echo "$c"
	done
}
state_now() {
	ls -l --time-style=+%s.%N "$EGRESSCTL_STATE_DIR" 2>/dev/null | md5sum | cut -c1-12
}
# rules_of FILE: "action dest ports" of a saved policy, sorted by ports
rules_of() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join("%s %s %s" % (r["action"], r["dest"], r["ports"]) for r in sorted(d["policy"]["rules"], key=lambda r: r["ports"])))' "$1"
}

A=$(dk_run a egressctl-test:busybox sleep 900) || bail "docker run failed"
NA=$(dk_name a)
B=$(dk_run b egressctl-test:busybox sleep 900) || bail "docker run failed"
NB=$(dk_name b)
dk_track "$(dk_name never)"
docker create --name "$(dk_name never)" egressctl-test:busybox sleep 1 >/dev/null
ST=$EGRESSCTL_STATE_DIR/$A.json
cat >"$E2E_TMP/pol.yaml" <<POL
default: deny
rules:
  - allow: $RX
    ports: [udp:5007]
POL

# from container C: expect_udp with 5 datagrams
udp_from() {
	local c=$1
	shift
	expect_udp "$@" -n 5 -i 500 --from "docker:$c"
}

# before anything: the container reaches both destinations
test_no_filter() {
	udp_from "$NA" pass "$RX" 5001 -m "no filter: allowed destination"
	udp_from "$NA" pass "$OTHER" 5002 -m "no filter: other destination"
}

# bad targets: one line, exit 1, nothing changed
test_bad_targets() {
	local ipt0 pins0 st0 sockpid pfx i id c
	local -A seen=()
	ipt0=$(iptables_now)
	pins0=$(pins_now)
	st0=$(state_now)
	assert_rc "no such container" 1 "$EGR" attach "egr-$E2E_ID-nope"
	assert_match "no such container: message" "^egressctl: no such container 'egr-$E2E_ID-nope'$" "$LAST_ERR"
	assert_rc "not running" 1 "$EGR" attach "$(dk_name never)"
	assert_match "not running: message" "^egressctl: container '$(dk_name never)' is not running$" "$LAST_ERR"
	assert_rc "no daemon (--docker-host)" 1 "$EGR" --docker-host unix:///nonexistent/docker.sock attach "$NA"
	assert_match "no daemon: message" "^egressctl: cannot reach the Docker daemon at /nonexistent/docker.sock: no such socket \(is dockerd running\?\)$" "$LAST_ERR"
	assert_rc "no daemon (DOCKER_HOST)" 1 env DOCKER_HOST=unix:///nonexistent/docker.sock "$EGR" allow "$NA" 198.18.50.2
	# a socket nobody listens on: connection refused
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$E2E_TMP/dead.sock"
	assert_rc "daemon not running (refused)" 1 "$EGR" --docker-host "unix://$E2E_TMP/dead.sock" attach "$NA"
	assert_match "refused: message" "connection refused \(is dockerd running\?\)$" "$LAST_ERR"
	# permission denied: a socket of another user, as root without DAC override
	run_bg - "$E2E_TMP/other-sock" python3 -c '
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1] + ".tmp"); os.chmod(sys.argv[1] + ".tmp", 0o600)
os.chown(sys.argv[1] + ".tmp", 65534, 65534); s.listen(1); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(60)' "$E2E_TMP/other.sock"
	sockpid=$BG_PID
	wait_for 15 test -S "$E2E_TMP/other.sock"
	assert_rc "permission denied" 1 setpriv --bounding-set=-dac_override,-dac_read_search \
		--inh-caps=-dac_override,-dac_read_search "$EGR" --docker-host "unix://$E2E_TMP/other.sock" attach "$NA"
	assert_match "permission denied: message" "^egressctl: permission denied on $E2E_TMP/other.sock$" "$LAST_ERR"
	kill "$sockpid" 2>/dev/null
	assert_rc "not root" 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$EGR" attach "$NA"
	assert_match "not root: message" "^egressctl: must be run as root" "$LAST_ERR"
	# ambiguous prefix: two of our containers share a first hex digit
	# (pigeonhole: at most 17 containers)
	pfx=
	for i in $(seq 17); do
		id=$(dk_run "amb$i" egressctl-test:busybox sleep 900) || break
		c=${id:0:1}
		if [ -n "${seen[$c]:-}" ]; then
			pfx=$c
			break
		fi
		seen[$c]=$id
	done
	# a one-digit prefix may also match other containers: still ambiguous
	assert_rc "ambiguous prefix '$pfx'" 1 "$EGR" attach "$pfx"
	assert_match "ambiguous: lists candidates" "^egressctl: container id prefix '$pfx' is ambiguous: ${pfx}[0-9a-f]{11} \(" "$LAST_ERR"
	assert_rc "bad name" 1 "$EGR" attach "docker:a/b"
	assert_eq "bad targets: no pins" "" "$pins0$(pins_now)"
	assert_eq "bad targets: state unchanged" "$st0" "$(state_now)"
	assert_eq "bad targets: no state files" "" "$(ls "$EGRESSCTL_STATE_DIR")"
	assert_eq "bad targets: iptables unchanged" "$ipt0" "$(iptables_now)"
}

# attach by name / id / prefix / docker:
test_attach_targets() {
	assert_rc "attach by name" 0 "$EGR" attach "$NA"
	assert_match "attach by name: output" "^attached to $NA \(cgroup /docker/$A, id [0-9]+\)$" "$LAST_OUT"
	assert_rc "attach by full id: already" 0 "$EGR" attach "$A"
	assert_match "attach by full id: output" "^already attached to $NA " "$LAST_OUT"
	assert_rc "attach by id prefix: already" 0 "$EGR" attach "${A:0:12}"
	assert_match "attach by prefix: output" "^already attached to $NA " "$LAST_OUT"
	assert_rc "attach docker:<name>: already" 0 "$EGR" attach "docker:$NA"
	assert_rc "attach docker:<prefix> of b" 0 "$EGR" attach "docker:${B:0:16}"
	assert_match "docker:<prefix>: output" "^attached to $NB " "$LAST_OUT"
	assert_eq "state file per container" 2 "$(find "$EGRESSCTL_STATE_DIR" -maxdepth 1 -regextype posix-extended -regex '.*/[0-9a-f]{64}\.json' | wc -l)"
	assert_eq "state dir mode" 700 "$(stat -c %a "$EGRESSCTL_STATE_DIR")"
}

# default deny, then allow one destination
test_enforcement() {
	assert_rc "attach a" 0 "$EGR" attach "$NA"
	udp_from "$NA" drop "$RX" 5003 -m "attached, no rules: allowed destination"
	assert_rc "allow $RX udp:5004,5006" 0 "$EGR" allow "$NA" "$RX" udp:5004 udp:5006
	udp_from "$NA" pass "$RX" 5004 -m "allowed destination"
	udp_from "$NA" drop "$RX" 5005 -m "allowed address, other port"
	udp_from "$NA" drop "$OTHER" 5006 -m "denied destination"
	assert_rc "attach b" 0 "$EGR" attach "$NB"
	udp_from "$NB" drop "$RX" 5004 -m "container b (default deny)"
	assert_rc "list by name" 0 "$EGR" list "$NA"
	assert_match "list shows the name" "^$NA \(id [0-9]+\): default deny, audit off, 2 rules" "$LAST_OUT"
	assert_rc "status" 0 "$EGR" status
	assert_match "status shows the names" "$NA \(id [0-9]+\).*$NB \(id [0-9]+\)|$NB \(id [0-9]+\).*$NA \(id [0-9]+\)" "$(echo "$LAST_OUT" | tr '\n' ' ')"
	assert_eq "state == kernel (rules)" "allow 198.18.50.2/32 udp:5004 allow 198.18.50.2/32 udp:5006" \
		"$(rules_of "$ST")"
	assert_eq "state: name, source, default" "$NA cli deny" \
		"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["name"], d["source"], d["policy"]["default"])' "$ST")"
}

# live edits flip verdicts
test_live_edits() {
	local ipt0
	ipt0=$(iptables_now)
	assert_rc "attach a, allow $RX udp:5004" 0 sh -c '"$1" attach "$2" && "$1" allow "$2" "$3" udp:5004' \
		sh "$EGR" "$NA" "$RX"
	udp_from "$NA" pass "$RX" 5004 -m "before the edits: allowed"
	assert_rc "deny $RX udp:5004 (live)" 0 "$EGR" deny "$NA" "$RX" udp:5004
	udp_from "$NA" drop "$RX" 5004 -m "after deny"
	# remove takes out both rules of that destination and port (allow and deny)
	assert_rc "remove $RX udp:5004 (live)" 0 "$EGR" remove "$NA" "$RX" udp:5004
	udp_from "$NA" drop "$RX" 5004 -m "after remove: default deny"
	assert_rc "allow $RX udp:5004 again (live)" 0 "$EGR" allow "$NA" "$RX" udp:5004
	udp_from "$NA" pass "$RX" 5004 -m "allowed again"
	assert_rc "allow $OTHER (live)" 0 "$EGR" allow "docker:$NA" "$OTHER"
	udp_from "$NA" pass "$OTHER" 5006 -m "other destination now allowed"
	assert_rc "apply -f (by prefix)" 0 "$EGR" apply "${A:0:12}" -f "$E2E_TMP/pol.yaml"
	udp_from "$NA" pass "$RX" 5007 -m "after apply: udp:5007"
	udp_from "$NA" drop "$RX" 5004 -m "after apply: udp:5004"
	assert_eq "after apply: state has the one rule" "allow 198.18.50.2/32 udp:5007" "$(rules_of "$ST")"
	assert_eq "egressctl commands left iptables alone" "$ipt0" "$(iptables_now)"
}

# iptables is not what enforces
test_not_iptables() {
	local NET NC ipt1
	assert_rc "attach a, apply udp:5007 only" 0 sh -c '"$1" attach "$2" && "$1" apply "$2" -f "$3"' \
		sh "$EGR" "$NA" "$E2E_TMP/pol.yaml"
	iptables -F DOCKER-USER
	udp_from "$NA" drop "$OTHER" 5008 -m "DOCKER-USER flushed: denied"
	udp_from "$NA" pass "$RX" 5007 -m "DOCKER-USER flushed: allowed"
	iptables -A DOCKER-USER -j RETURN
	# network removed and re-created (new bridge, new iptables rules), the
	# container reconnected: the cgroup filter does not care
	dk_net n1 198.19.150.0/24 || fail "docker network create failed"
	NET=$(dk_name n1)
	dk_run c --network "$NET" --ip 198.19.150.10 egressctl-test:busybox sleep 900 >/dev/null ||
		fail "docker run c failed"
	NC=$(dk_name c)
	assert_rc "attach c" 0 "$EGR" attach "$NC"
	assert_rc "allow c -> $RX udp:5009" 0 "$EGR" allow "$NC" "$RX" udp:5009
	udp_from "$NC" pass "$RX" 5009 -m "c: allowed"
	udp_from "$NC" drop "$OTHER" 5010 -m "c: denied"
	ipt1=$(iptables_now)
	docker network disconnect "$NET" "$NC" >/dev/null
	docker network rm "$NET" >/dev/null
	docker network create --subnet 198.19.150.0/24 "$NET" >/dev/null
	docker network connect --ip 198.19.150.10 "$NET" "$NC"
	assert_eq "network re-created: new bridge" 1 \
		"$([ "$(iptables_now)" != "$ipt1" ] && echo 1 || echo 0)"
	udp_from "$NC" pass "$RX" 5009 -m "network re-created: allowed"
	udp_from "$NC" drop "$OTHER" 5010 -m "network re-created: denied still"
	assert_eq "network re-created: same cgroup, still attached" 1 "$(dk_attached "$NC" && echo 1 || echo 0)"
}

# detach: the filter and the saved policy go
test_detach() {
	local ipt2
	assert_rc "attach a and b" 0 sh -c '"$1" attach "$2" && "$1" attach "$3"' sh "$EGR" "$NA" "$NB"
	ipt2=$(iptables_now)
	assert_rc "detach by name" 0 "$EGR" detach "$NA"
	assert_eq "detach: state file deleted" 0 "$([ -e "$ST" ] && echo 1 || echo 0)"
	udp_from "$NA" pass "$OTHER" 5011 -m "detach: unfiltered again"
	docker stop -t 1 "$NB" >/dev/null
	assert_rc "detach a stopped container: saved policy deleted" 0 "$EGR" detach "$NB"
	# its old cgroup's pins go too (the cgroup is gone with the stop)
	assert_match "detach stopped: output" "^detached $NB \(not running\); deleted its saved policy$" "$LAST_OUT"
	assert_eq "detach stopped: no pins left for it" 0 "$("$EGR" status -j | grep -c "$B")"
	assert_eq "egressctl detach left iptables alone" "$ipt2" "$(iptables_now)"
}

run_tests
