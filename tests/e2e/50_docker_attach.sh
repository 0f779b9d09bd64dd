#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Docker targets against a real dockerd: attach by name, full id, id prefix
# and docker:<ref>; the error paths (ambiguous prefix, no daemon, permission
# denied, not running, no such container) change nothing; allowed vs denied
# destinations from inside a container, counted at a receiver on 198.18.50.x
# (a netns routed through the host); live edits; the policy saved in the
# state directory; enforcement independent of iptables (DOCKER-USER flushed,
# the network removed and re-created) and egressctl never touching iptables.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/docker_lib.sh
. "$(dirname "$0")/docker_lib.sh"
e2e_init
need_egr
dk_setup

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

A=$(dk_run a egressctl-test:busybox sleep 600) || bail "docker run failed"
NA=$(dk_name a)
dk_run b egressctl-test:busybox sleep 600 >/dev/null || bail "docker run failed"
NB=$(dk_name b)
dk_track "$(dk_name never)"
docker create --name "$(dk_name never)" egressctl-test:busybox sleep 1 >/dev/null

# ---- before anything: the container reaches both destinations -------------
assert_eq "no filter: allowed destination delivered" 5 "$(dk_udp "$NA" d50rx $RX 5001 5)"
assert_eq "no filter: other destination delivered" 5 "$(dk_udp "$NA" d50rx $OTHER 5002 5)"

# ---- bad targets: one line, exit 1, nothing changed ------------------------
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
python3 -c '
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o600)
os.chown(sys.argv[1], 65534, 65534); s.listen(1); time.sleep(20)' "$E2E_TMP/other.sock" &
sockpid=$!
wait_for 5 test -S "$E2E_TMP/other.sock"
sleep 0.2
assert_rc "permission denied" 1 setpriv --bounding-set=-dac_override,-dac_read_search \
	--inh-caps=-dac_override,-dac_read_search "$EGR" --docker-host "unix://$E2E_TMP/other.sock" attach "$NA"
assert_match "permission denied: message" "^egressctl: permission denied on $E2E_TMP/other.sock$" "$LAST_ERR"
kill "$sockpid" 2>/dev/null
assert_rc "not root" 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$EGR" attach "$NA"
assert_match "not root: message" "^egressctl: must be run as root" "$LAST_ERR"
# ambiguous prefix: two of our containers share a first hex digit (pigeonhole:
# at most 17 containers)
declare -A seen
pfx=
for i in $(seq 17); do
	id=$(dk_run "amb$i" egressctl-test:busybox sleep 600) || break
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

# ---- attach by name / id / prefix / docker: --------------------------------
assert_rc "attach by name" 0 "$EGR" attach "$NA"
assert_match "attach by name: output" "^attached to $NA \(cgroup /docker/$A, id [0-9]+\)$" "$LAST_OUT"
assert_rc "attach by full id: already" 0 "$EGR" attach "$A"
assert_match "attach by full id: output" "^already attached to $NA " "$LAST_OUT"
assert_rc "attach by id prefix: already" 0 "$EGR" attach "${A:0:12}"
assert_match "attach by prefix: output" "^already attached to $NA " "$LAST_OUT"
assert_rc "attach docker:<name>: already" 0 "$EGR" attach "docker:$NA"
assert_rc "attach docker:<prefix> of b" 0 "$EGR" attach "docker:$(docker inspect -f '{{.Id}}' "$NB" | cut -c1-16)"
assert_match "docker:<prefix>: output" "^attached to $NB " "$LAST_OUT"
assert_eq "state file per container" 2 "$(ls "$EGRESSCTL_STATE_DIR" | grep -c '^[0-9a-f]\{64\}\.json$')"
assert_eq "state dir mode" 700 "$(stat -c %a "$EGRESSCTL_STATE_DIR")"

# ---- enforcement: default deny, then allow one destination -----------------
assert_eq "attached, no rules: allowed destination dropped" 0 "$(dk_udp "$NA" d50rx $RX 5003 5)"
assert_rc "allow $RX udp:5004,5006" 0 "$EGR" allow "$NA" "$RX" udp:5004 udp:5006
assert_eq "allowed destination delivered" 5 "$(dk_udp "$NA" d50rx $RX 5004 5)"
assert_eq "allowed address, other port dropped" 0 "$(dk_udp "$NA" d50rx $RX 5005 5)"
assert_eq "denied destination dropped" 0 "$(dk_udp "$NA" d50rx $OTHER 5006 5)"
assert_eq "container b (default deny) dropped" 0 "$(dk_udp "$NB" d50rx $RX 5004 5)"
assert_rc "list by name" 0 "$EGR" list "$NA"
assert_match "list shows the name" "^$NA \(id [0-9]+\): default deny, audit off, 2 rules" "$LAST_OUT"
assert_rc "status" 0 "$EGR" status
assert_match "status shows the names" "$NA \(id [0-9]+\).*$NB \(id [0-9]+\)|$NB \(id [0-9]+\).*$NA \(id [0-9]+\)" "$(echo "$LAST_OUT" | tr '\n' ' ')"
st=$EGRESSCTL_STATE_DIR/$A.json
assert_eq "state == kernel (rules)" "allow 198.18.50.2/32 udp:5004 allow 198.18.50.2/32 udp:5006" \
	"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join("%s %s %s" % (r["action"], r["dest"], r["ports"]) for r in sorted(d["policy"]["rules"], key=lambda r: r["ports"])))' "$st")"
assert_eq "state: name, source, default" "$NA cli deny" \
	"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["name"], d["source"], d["policy"]["default"])' "$st")"

# ---- live edits flip verdicts ---------------------------------------------
assert_rc "deny $RX udp:5004 (live)" 0 "$EGR" deny "$NA" "$RX" udp:5004
assert_eq "after deny: dropped" 0 "$(dk_udp "$NA" d50rx $RX 5004 5)"
# remove takes out both rules of that destination and port (allow and deny)
assert_rc "remove $RX udp:5004 (live)" 0 "$EGR" remove "$NA" "$RX" udp:5004
assert_eq "after remove: default deny" 0 "$(dk_udp "$NA" d50rx $RX 5004 5)"
assert_rc "allow $RX udp:5004 again (live)" 0 "$EGR" allow "$NA" "$RX" udp:5004
assert_eq "allowed again: delivered" 5 "$(dk_udp "$NA" d50rx $RX 5004 5)"
assert_rc "allow $OTHER (live)" 0 "$EGR" allow "docker:$NA" "$OTHER"
assert_eq "other destination now delivered" 5 "$(dk_udp "$NA" d50rx $OTHER 5006 5)"
cat >"$E2E_TMP/pol.yaml" <<POL
default: deny
rules:
  - allow: $RX
    ports: [udp:5007]
POL
assert_rc "apply -f (by prefix)" 0 "$EGR" apply "${A:0:12}" -f "$E2E_TMP/pol.yaml"
assert_eq "after apply: udp:5007 delivered" 5 "$(dk_udp "$NA" d50rx $RX 5007 5)"
assert_eq "after apply: udp:5004 dropped" 0 "$(dk_udp "$NA" d50rx $RX 5004 5)"
assert_eq "after apply: state has the one rule" "allow 198.18.50.2/32 udp:5007" \
	"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join("%s %s %s" % (r["action"], r["dest"], r["ports"]) for r in d["policy"]["rules"]))' "$st")"
assert_eq "egressctl commands left iptables alone" "$ipt0" "$(iptables_now)"

# ---- iptables is not what enforces -----------------------------------------
iptables -F DOCKER-USER
assert_eq "DOCKER-USER flushed: still dropped" 0 "$(dk_udp "$NA" d50rx $OTHER 5008 5)"
assert_eq "DOCKER-USER flushed: allowed still delivered" 5 "$(dk_udp "$NA" d50rx $RX 5007 5)"
iptables -A DOCKER-USER -j RETURN

# network removed and re-created (new bridge, new iptables rules), container
# reconnected: the cgroup filter does not care
dk_net n1 198.19.150.0/24 || bail "docker network create failed"
NET=$(dk_name n1)
dk_run c --network "$NET" --ip 198.19.150.10 egressctl-test:busybox sleep 600 >/dev/null || bail "docker run c failed"
NC=$(dk_name c)
assert_rc "attach c" 0 "$EGR" attach "$NC"
assert_rc "allow c -> $RX udp:5009" 0 "$EGR" allow "$NC" "$RX" udp:5009
assert_eq "c: allowed delivered" 5 "$(dk_udp "$NC" d50rx $RX 5009 5)"
assert_eq "c: denied dropped" 0 "$(dk_udp "$NC" d50rx $OTHER 5010 5)"
ipt1=$(iptables_now)
docker network disconnect "$NET" "$NC" >/dev/null
docker network rm "$NET" >/dev/null
docker network create --subnet 198.19.150.0/24 "$NET" >/dev/null
docker network connect --ip 198.19.150.10 "$NET" "$NC"
assert_eq "network re-created: new bridge" 1 \
	"$([ "$(iptables_now)" != "$ipt1" ] && echo 1 || echo 0)"
assert_eq "network re-created: allowed delivered" 5 "$(dk_udp "$NC" d50rx $RX 5009 5)"
assert_eq "network re-created: denied still dropped" 0 "$(dk_udp "$NC" d50rx $OTHER 5010 5)"
assert_eq "network re-created: same cgroup, still attached" 1 "$(dk_attached "$NC" && echo 1 || echo 0)"

# ---- detach: the filter and the saved policy go -----------------------------
ipt2=$(iptables_now)
assert_rc "detach by name" 0 "$EGR" detach "$NA"
assert_eq "detach: state file deleted" 0 "$([ -e "$st" ] && echo 1 || echo 0)"
assert_eq "detach: unfiltered again" 5 "$(dk_udp "$NA" d50rx $OTHER 5011 5)"
docker stop -t 1 "$NB" >/dev/null
assert_rc "detach a stopped container: saved policy deleted" 0 "$EGR" detach "$NB"
# its old cgroup's pins go too (the cgroup is gone with the stop)
assert_match "detach stopped: output" "^detached $NB \(not running\); deleted its saved policy$" "$LAST_OUT"
assert_eq "detach stopped: no pins left for it" 0 \
	"$("$EGR" status -j | grep -c "$(docker inspect -f '{{.Id}}' "$NB")")"
assert_eq "egressctl detach left iptables alone" "$ipt2" "$(iptables_now)"

e2e_done
