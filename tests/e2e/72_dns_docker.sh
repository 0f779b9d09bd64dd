#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Issue 15 with real containers (Docker's default capabilities, root in
# the container), docs/security.md "Name rules" has the model:
#   - the default bridge, the resolver by address (dnsmasq in a namespace):
#     1,000 fresh names resolved and connected to at once from inside
#   - a user-defined network: Docker's embedded DNS at 127.0.0.11 answers
#     over the container's loopback; names learned through it
#   - every forgery attempt from inside the container, each with the
#     address it tries to make allowed refused: a resolver of its own on
#     127.0.0.1:53; a raw IP_HDRINCL answer from the resolver's address over
#     loopback, bounced off the gateway, with a wrong id, to a wrong port,
#     for a question not asked; a socket bound (IP_FREEBIND) to the
#     resolver's address:53 (IP_FREEBIND); AF_PACKET injection on lo; a socket bound to
#     127.0.0.11:53 (embedded DNS)
#   - a resolver the policy trusts that misbehaves (off-path forgery): a
#     wrong id, a wrong port, another question, an answer never asked for,
#     a second answer to an answered query
#   - labels and watch: a container restarted with name rules in its labels;
#     examples/compose-names (a service reaches another by its name)
# Every packet goes to 198.18.0.0/15 addresses of namespaces and networks
# made here.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
set -u
export LC_ALL=C
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/docker_lib.sh
. "$(dirname "$0")/docker_lib.sh"
e2e_init
need_egr
command -v jq >/dev/null || bail "jq missing (apt-get install jq)"
# shellcheck source=tests/e2e/dns_lib.sh
. "$(dirname "$0")/dns_lib.sh"
dk_setup
docker_image "$PEER" "$DNSQ" || bail "cannot build $EGR_DOCKER_IMAGE with dnsq"
DOCKER=(docker -H "unix://$EGR_DOCKER_SOCK")

T=$E2E_TMP
NSD=d72dns NSS=d72srv
R=198.18.72.2   # the resolver (dnsmasq)
BAD=198.18.72.3 # a resolver the policy trusts that misbehaves
SRV=198.18.73.2
GOOD=198.18.78.1   # what the resolver answers for evil.test
FORGED=198.18.78.66 # what the forgeries answer
P=8443
netns_up "$NSD" "$R/24" -
ip netns exec "$NSD" ip addr add "$BAD/24" dev eth0 || bail "$BAD"
netns_up "$NSS" "$SRV/24" -
for n in 74 75 76 77 78; do
	ip netns exec "$NSS" ip route add local "198.18.$n.0/24" dev lo || bail "local route"
	ip route add "198.18.$n.0/24" via "$SRV" || bail "route 198.18.$n.0/24"
done
: >"$T/race.hosts"
for i in $(seq 0 999); do echo "198.18.$((74 + i / 250)).$((i % 250 + 1)) r$i.race.test"; done >"$T/race.hosts"
dns_up "$NSD" "$R" --addn-hosts="$T/race.hosts" --local-ttl=300 \
	--host-record=api.test,"$SRV" --host-record=evil.test,"$GOOD" \
	--host-record=late.test,198.18.78.2
peer_bg "$NSS" "$T/srv" tcp-recv "$P" 900 || bail "server"

POLICY="default: deny
rules:
  - allow: $R
    ports: [udp:53, tcp:53]
  - allow: $BAD
    ports: [udp:53]
  - allow: api.test
    ports: [tcp:$P]
  - allow: evil.test
    ports: [tcp:$P]
  - allow: late.test
    ports: [tcp:$P]
  - allow: '*.race.test'
    ports: [tcp:$P]"
echo "$POLICY" >"$T/p.yaml"

# ---- the default bridge, the resolver by address ------------------------------------
A=$(dk_name a)
dk_run a --dns "$R" "$EGR_DOCKER_IMAGE" sleep 900 >/dev/null || bail "docker run a"
assert_rc "attach the container" 0 "$EGR" attach "$A"
assert_rc "apply the policy with names" 0 "$EGR" apply "$A" -f "$T/p.yaml"
cid=$("${DOCKER[@]}" inspect -f '{{.Id}}' "$A")
cgid() { "$EGR" status -j | jq --arg n "$1" '.targets[] | select(.target == $n) | .cgroup_id'; }
st() { "$EGR" status -j | jq --arg n "$1" ".targets[] | select(.target == \$n) | $2"; }
ex() { timeout 120 "${DOCKER[@]}" exec "$@"; }

assert_rc "before an answer: $SRV denied" 1 ex "$A" peer tcp-send "$SRV" "$P" -t 1
assert_rc "resolve api.test, connect" 0 ex "$A" dnsq race "$R" api.test "$P" 1
d0=$(st "$A" .counters.denied.packets)
assert_rc "1,000 fresh names resolved and connected at once, from inside" 0 \
	ex "$A" dnsq race "$R" 'r%d.race.test' "$P" 1000
assert_eq "... all of them" "resolved 1000 connected 1000 failed 0" "$LAST_OUT"
assert_eq "... not one packet dropped" 0 $(($(st "$A" .counters.denied.packets) - d0))

# ---- forgeries from inside (root, Docker's default capabilities) ---------------------
# Each asks the real resolver for evil.test (which answers $GOOD) and forges
# "evil.test is $FORGED" at once, with the query's id and port known (as a
# process sniffing the wire would know them). $FORGED must stay denied.
forged_denied() { # NAME
	assert_rc "$1: $FORGED stays denied" 1 ex "$A" peer tcp-send "$FORGED" "$P" -t 1
	assert_eq "$1: evil.test holds only $GOOD" "$GOOD" \
		"$("$EGR" list "$A" -j | jq -r '.[0].rules[] | select(.dest == "evil.test") | .learned[].addr' | sort -u)"
}
gw=$(ex "$A" ip route | awk '/^default/ { print $3 }')
f0=$(st "$A" .dns.forged)
ex "$A" dnsq forge raw "$R" evil.test "$FORGED" >"$T/raw.out" 2>&1
assert_match "raw IP_HDRINCL answer from the resolver's address over lo: the app gets the real answer" \
	"answer $GOOD" "$(cat "$T/raw.out")"
assert_eq "... the forgery dropped at egress (counted)" 1 $(($(st "$A" .dns.forged) - f0))
forged_denied "raw over lo"
for mode in wrongid wrongport wrongq; do
	f0=$(st "$A" .dns.forged)
	ex "$A" dnsq forge "$mode" "$R" evil.test "$FORGED" >/dev/null 2>&1
	assert_eq "raw answer, $mode: dropped at egress" 1 $(($(st "$A" .dns.forged) - f0))
	forged_denied "raw, $mode"
done
f0=$(st "$A" .dns.forged)
ex "$A" dnsq forge hairpin "$R" evil.test "$FORGED" -v "$gw" >/dev/null 2>&1
assert_eq "raw answer bounced off the gateway: dropped at egress" 1 $(($(st "$A" .dns.forged) - f0))
forged_denied "hairpin"
# It sends to the container's own address: the sendmsg hook refuses that
# (EPERM, counted as refused) under this policy; egress would drop it.
fr0=$(($(st "$A" .dns.forged) + $(st "$A" .counters.refused.packets)))
ex "$A" dnsq forge bind "$R" evil.test "$FORGED" >"$T/bind.out" 2>&1
assert_match "a socket bound to $R:53 (IP_FREEBIND): bound, its send refused" \
	"forge bind: Operation not permitted" "$(cat "$T/bind.out")"
assert_eq "... refused at the socket or dropped at egress, counted once" 1 \
	$(($(st "$A" .dns.forged) + $(st "$A" .counters.refused.packets) - fr0))
forged_denied "IP_FREEBIND"
u0=$(st "$A" .dns.untrusted)
ex "$A" dnsq forge packet "$R" evil.test "$FORGED" >"$T/packet.out" 2>&1
# Where BPF LSM is active, the packet socket itself is refused in the
# container (the packet guard); elsewhere it is sent and must not count.
lsm=$("$EGR" status -j | jq -r .kernel.packet_sockets.bpf_lsm)
if grep -q 'packet socket: Operation not permitted' "$T/packet.out"; then
	assert_eq "AF_PACKET: the packet socket refused (BPF LSM active)" true "$lsm"
else
	assert_match "AF_PACKET on lo: sent (no egress hook sees it)" "forged packet" "$(cat "$T/packet.out")"
	diag "the app read: $(tail -1 "$T/packet.out")"
	assert_eq "... not trusted: it came in on lo from a remote resolver's address" 1 \
		$(($(st "$A" .dns.untrusted) - u0))
fi
forged_denied "AF_PACKET on lo"
ex -d "$A" dnsq fake-server 127.0.0.1 53 "$FORGED" 30
wait_for 5 ex "$A" dnsq resolve 127.0.0.1 probe.test -w 200
assert_rc "a resolver of its own on 127.0.0.1:53 answers $FORGED" 0 \
	ex "$A" dnsq resolve 127.0.0.1 evil.test
assert_eq "... the app reads it" "$FORGED" "$LAST_OUT"
forged_denied "a resolver on 127.0.0.1"
assert_rc "positive control: the real resolver's answer is learned" 0 \
	ex "$A" dnsq race "$R" evil.test "$P" 1

# ---- a trusted resolver that misbehaves (what matching the query is for) --------------
bad_serve() { # MODE [options]
	local mode=$1
	shift
	run_bg "$NSD" "$T/bad-$mode" "$DNSQ" serve "$BAD" 53 "$mode" 20 -a "$FORGED" "$@"
	wait_for 5 grep -q ready "$T/bad-$mode"
}
bad_stop() { _kill_tree TERM "$(cat "$T/bad-$1.pid")"; wait_bg "$T/bad-$1" 5 >/dev/null; }
u0=$(st "$A" .dns.untrusted)
bad_serve wrongid
ex "$A" dnsq resolve "$BAD" evil.test -w 500 >/dev/null 2>&1
bad_stop wrongid
assert_eq "a wrong id: not trusted" 1 $(($(st "$A" .dns.untrusted) - u0))
forged_denied "wrong id"
# An answer to the query's port + 1, one never asked for (sent to the
# container's address), and a second answer to an answered query reach no
# socket of the container: Docker's masquerade has no entry for the first
# two and does not forward them, and the query's socket is closed by the
# third. The kernel drops them before any cgroup program; what counts is
# that nothing is learned.
bad_serve wrongport
ex "$A" dnsq resolve "$BAD" evil.test -s 40000 -w 500 >/dev/null 2>&1
bad_stop wrongport
forged_denied "wrong port"
m0=$(st "$A" .dns.mismatch)
bad_serve wrongq -n api.test
ex "$A" dnsq resolve "$BAD" evil.test -w 500 >/dev/null 2>&1
bad_stop wrongq
assert_eq "an answer to another question: refused" 1 $(($(st "$A" .dns.mismatch) - m0))
assert_eq "... api.test did not learn $FORGED" "" \
	"$("$EGR" list "$A" -j | jq -r '.[0].rules[] | select(.dest == "api.test") | .learned[].addr' | grep -x "$FORGED")"
forged_denied "another question"
ex -d "$A" dnsq listen 40002 10
caddr=$("${DOCKER[@]}" inspect -f '{{.NetworkSettings.IPAddress}}' "$A")
ip netns exec "$NSD" "$DNSQ" serve "$BAD" 53 unasked 1 -a "$FORGED" -n evil.test -T "$caddr:40002" >/dev/null
forged_denied "unasked"
bad_serve late -a 198.18.78.2
ex "$A" dnsq resolve "$BAD" late.test -w 1000 >/dev/null 2>&1
bad_stop late
assert_eq "a second answer to an answered query: late.test holds only the first" "" \
	"$("$EGR" list "$A" -j | jq -r '.[0].rules[] | select(.dest == "late.test") | .learned[].addr' | grep -vx 198.18.78.2)"

# ---- a user-defined network: Docker's embedded DNS (127.0.0.11) ------------------------
dk_net un 198.19.172.0/24 || bail "docker network create"
B=$(dk_name b)
dk_run b --network "$(dk_name un)" --dns "$R" "$EGR_DOCKER_IMAGE" sleep 900 >/dev/null ||
	bail "docker run b"
assert_rc "attach b" 0 "$EGR" attach "$B"
assert_rc "apply (no udp:53 needed: 127.0.0.11 is on loopback)" 0 "$EGR" apply "$B" -f "$T/p.yaml"
assert_rc "api.test through the embedded DNS" 0 ex "$B" dnsq race 127.0.0.11 api.test "$P" 1
assert_eq "... learned" "$SRV" \
	"$("$EGR" list "$B" -j | jq -r '.[0].rules[] | select(.dest == "api.test") | .learned[].addr')"
d0=$(st "$B" .counters.denied.packets)
assert_rc "200 fresh names through the embedded DNS, connected at once" 0 \
	ex "$B" dnsq race 127.0.0.11 'r%d.race.test' "$P" 200
assert_eq "... not one packet dropped" 0 $(($(st "$B" .counters.denied.packets) - d0))
# From 127.0.0.11:53 inside the container (Docker's NAT rules in the
# container's namespace stand between 127.0.0.11:53 and the embedded DNS's
# real port): on this machine neither counted as forged at egress nor taken
# as an answer at ingress. What counts: nothing is learned.
fu0=$(($(st "$B" .dns.forged) + $(st "$B" .dns.untrusted)))
ex "$B" dnsq forge bind 127.0.0.11 evil.test "$FORGED" >"$T/b-bind.out" 2>&1
assert_match "a socket bound to 127.0.0.11:53: bound and sent" "forged bind" "$(cat "$T/b-bind.out")"
diag "bind from 127.0.0.11:53: $(tr '\n' ' ' <"$T/b-bind.out"), forged+untrusted moved by $(($(st "$B" .dns.forged) + $(st "$B" .dns.untrusted) - fu0))"
ex "$B" dnsq forge raw 127.0.0.11 evil.test "$FORGED" >"$T/b-raw.out" 2>&1
diag "raw from 127.0.0.11:53: $(tr '\n' ' ' <"$T/b-raw.out")"
assert_eq "b: evil.test holds only $GOOD" "$GOOD" \
	"$("$EGR" list "$B" -j | jq -r '.[0].rules[] | select(.dest == "evil.test") | .learned[].addr' | sort -u | tr '\n' ' ' | sed 's/ $//')"
ex "$B" dnsq forge packet 127.0.0.11 evil.test "$FORGED" >"$T/b-packet.out" 2>&1
if grep -q 'packet socket: Operation not permitted' "$T/b-packet.out"; then
	assert_eq "b: AF_PACKET: the packet socket refused (BPF LSM active)" true "$lsm"
else
	assert_match "AF_PACKET on lo from 127.0.0.11: the kernel drops it (martian)" \
		"no answer|answer $GOOD" "$(cat "$T/b-packet.out")"
fi
assert_rc "$FORGED stays denied for b" 1 ex "$B" peer tcp-send "$FORGED" "$P" -t 1

# ---- audit mode names what it saw: suggest writes name rules ------------------------
S=$(dk_name s)
dk_run s --dns "$R" "$EGR_DOCKER_IMAGE" sleep 900 >/dev/null || bail "docker run s"
assert_rc "attach s --audit (default deny, no rules)" 0 "$EGR" attach "$S" --audit
assert_rc "under audit: resolve api.test and connect" 0 ex "$S" dnsq race "$R" api.test "$P" 1
assert_rc "suggest -o FILE" 0 "$EGR" suggest "$S" -o "$T/s.yaml"
diag "suggested: $(grep -v '^ *#' "$T/s.yaml" | tr '\n' ' ')"
assert_eq "suggest: the resolver by address, api.test by name" "allow $R/32 udp:53|allow api.test tcp:$P" \
	"$(awk '/^  - allow:/ { d = $3 } /^      - / { print "allow " d " " $2 }' "$T/s.yaml" | paste -sd'|')"
assert_rc "apply the suggested file (audit off)" 0 "$EGR" apply "$S" -f "$T/s.yaml"
d0=$(st "$S" .counters.denied.packets)
assert_rc "the same workload: resolve api.test and connect" 0 ex "$S" dnsq race "$R" api.test "$P" 1
assert_eq "... zero denials" 0 $(($(st "$S" .counters.denied.packets) - d0))
assert_rc "a name it never asked for: its address denied" 1 \
	ex "$S" dnsq race "$R" evil.test "$P" 1 -w 1000

# ---- labels, watch, restart ---------------------------------------------------------------
dk_watch_bg "$T/watch.log" || bail "watch"
C=$(dk_name c)
dk_run c --dns "$R" --label "egressctl.allow=$R udp:53, api.test tcp:$P, *.race.test tcp:$P" \
	"$EGR_DOCKER_IMAGE" sleep 900 >/dev/null || bail "docker run c"
wait_for 10 grep -q "start $C" "$T/watch.log" || bail "watch did not see $C start"
assert_rc "names from labels work" 0 ex "$C" dnsq race "$R" api.test "$P" 1
"${DOCKER[@]}" restart -t 1 "$C" >/dev/null
starts_ge2() { [ "$(grep -c "^start $C " "$T/watch.log")" -ge 2 ]; }
wait_for 30 starts_ge2 ||
	bail "watch did not see the restart: $(cat "$T/watch.log")"
assert_rc "after the restart: a fresh name from the first query" 0 \
	ex "$C" dnsq race "$R" r999.race.test "$P" 1

# ---- the compose example by name (examples/compose-names) ----------------------------------
command -v docker-compose >/dev/null || bail "docker-compose missing (apt-get install docker-compose)"
COMPOSE="docker-compose -p egr72$E2E_ID -f $E2E_ROOT/examples/compose-names/docker-compose.yml"
compose_down() { [ -e "$T/compose.up" ] && $COMPOSE down >/dev/null 2>&1; rm -f "$T/compose.up"; }
e2e_on_exit compose_down
: >"$T/compose.up"
$COMPOSE up -d >"$T/compose.log" 2>&1 || bail "compose up: $(cat "$T/compose.log")"
WEB=egr72${E2E_ID}_web_1
web_on() { grep -q "^start $WEB .*enforced label policy" "$T/watch.log"; }
wait_for 60 web_on || bail "watch did not enforce web's labels: $(cat "$T/watch.log")"
db_up() { ex "egr72${E2E_ID}_db_1" grep -qi ':1538 00000000:0000 ' /proc/net/tcp; }
wait_for 30 db_up || diag "compose: db is not listening yet"
assert_rc "compose: web resolves db (embedded DNS) and connects at once" 0 \
	ex "$WEB" dnsq race 127.0.0.11 db 5432 1
assert_rc "compose: web -> cache, a service it does not name: refused" 1 \
	ex "$WEB" dnsq race 127.0.0.11 cache 6379 1 -w 1000
assert_rc "compose: web -> db on another port: refused" 1 ex "$WEB" dnsq race 127.0.0.11 db 22 1 -w 1000
e2e_done
