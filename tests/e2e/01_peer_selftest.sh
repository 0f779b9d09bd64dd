#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Proves the e2e harness itself, no egressctl involved: two namespaces, the
# peer helper's UDP/TCP/ICMP modes over IPv4 and IPv6, counted exactly at the
# receiver; extra destination addresses; a sender run inside a test cgroup;
# the failure paths (refused, timed out) that later tests rely on.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $0 $1
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init

netns_up pst-a 198.18.1.2/24 2001:db8:1::2/64
netns_up pst-b 198.18.2.2/24 2001:db8:2::2/64
# one receiver, several destinations: in-subnet and routed extra addresses
netns_addr pst-b 198.18.2.77/24
netns_addr pst-b 198.18.102.7/32
netns_addr pst-b 2001:db8:102::7/128

A4=$(ns_ip4 pst-a) A6=$(ns_ip6 pst-a)
B4=$(ns_ip4 pst-b) B6=$(ns_ip6 pst-b)
assert_eq "netns_up: ns/host addresses" \
	"198.18.1.2 198.18.1.1 2001:db8:1::2 2001:db8:1::1" \
	"$A4 $(host_ip4 pst-a) $A6 $(host_ip6 pst-a)"
assert_eq "netns_up: host side h-pst-b has 198.18.2.1/24" 1 \
	"$(ip -o -4 addr show dev h-pst-b | grep -c 'inet 198.18.2.1/24')"
assert_eq "netns_up: IPv6 addresses not tentative" 0 \
	"$(ip netns exec pst-a ip -6 addr show dev eth0 tentative | grep -c inet6)"

T=$E2E_TMP
SECS=4 # receiver window; receivers count everything within it (no -n)

# ---- host -> ns A and ns B, all modes, v4 and v6 at once -------------------
ok=1
peer_bg pst-a "$T/a-u4" udp-recv 5001 "$SECS" -b || ok=0
peer_bg pst-a "$T/a-u6" udp-recv -6 5001 "$SECS" -b || ok=0
peer_bg pst-a "$T/a-t4" tcp-recv 5002 "$SECS" || ok=0
peer_bg pst-a "$T/a-t6" tcp-recv -6 5002 "$SECS" -e || ok=0
peer_bg pst-a "$T/a-i4" icmp-recv "$SECS" -s "$(host_ip4 pst-a)" || ok=0
peer_bg pst-a "$T/a-i6" icmp-recv -6 "$SECS" -s "$(host_ip6 pst-a)" || ok=0
peer_bg pst-b "$T/b-u4" udp-recv 5001 "$SECS" || ok=0
peer_bg pst-b "$T/b-u6" udp-recv -6 5001 "$SECS" || ok=0
assert_eq "receivers ready" 1 "$ok"

assert_rc "udp-send v4 host->a" 0 "$PEER" udp-send "$A4" 5001 10 -l 100
assert_eq "udp-send v4 output" "sent 10 errors 0" "$LAST_OUT"
assert_rc "udp-send v6 host->a" 0 "$PEER" udp-send -6 "$A6" 5001 7 -l 1000 -i 1000
assert_rc "tcp-send v4 host->a (3 conns)" 0 sh -c \
	'for i in 1 2 3; do "$0" tcp-send "$1" 5002 -l 1000 -t 3 || exit 1; done' "$PEER" "$A4"
assert_rc "tcp-send v6 host->a (echo)" 0 "$PEER" tcp-send "$A6" 5002 -l 200000 -t 3 -v
assert_eq "tcp-send v6 echo reply" "connected
sent 200000 reply 200000" "$LAST_OUT"
assert_rc "ping v4 host->a" 0 ping -c 5 -i 0.2 -W 1 -q "$A4"
assert_rc "ping v6 host->a" 0 ping -6 -c 6 -i 0.2 -W 1 -q "$A6"
# ns B: to its main, in-subnet extra and routed extra addresses
"$PEER" udp-send "$B4" 5001 3 >/dev/null
"$PEER" udp-send 198.18.2.77 5001 4 >/dev/null
"$PEER" udp-send 198.18.102.7 5001 5 >/dev/null
"$PEER" udp-send "$B6" 5001 2 >/dev/null
"$PEER" udp-send 2001:db8:102::7 5001 9 >/dev/null

assert_eq "udp v4 host->a: count bytes" "10 1000" "$(wait_bg "$T/a-u4")"
assert_eq "udp v6 host->a: count bytes" "7 7000" "$(wait_bg "$T/a-u6")"
assert_eq "tcp v4 host->a: conns bytes" "3 3000" "$(wait_bg "$T/a-t4")"
assert_eq "tcp v6 host->a (echo): conns bytes" "1 200000" "$(wait_bg "$T/a-t6")"
assert_eq "icmp v4 host->a: echo requests" 5 "$(wait_bg "$T/a-i4")"
assert_eq "icmp v6 host->a: echo requests" 6 "$(wait_bg "$T/a-i6")"
assert_eq "udp v4 host->b (3 destinations)" 12 "$(wait_bg "$T/b-u4")"
assert_eq "udp v6 host->b (2 destinations)" 11 "$(wait_bg "$T/b-u6")"

# ---- ns A -> host, a sender inside a test cgroup, udp-flood, -n ------------
cg=$(cg_new selftest)
assert_match "cg_new path" "^$CGROOT/egr-e2e-$E2E_ID-selftest\$" "$cg"
assert_eq "cg_run moves the process" "0::/egr-e2e-$E2E_ID-selftest" \
	"$(cg_run "$cg" cat /proc/self/cgroup | grep '^0::')"

H4=$(host_ip4 pst-a) H6=$(host_ip6 pst-a)
peer_bg - "$T/h-u4" udp-recv 47103 "$SECS"
peer_bg - "$T/h-u6" udp-recv -6 47103 "$SECS"
peer_bg - "$T/h-t4" tcp-recv 47104 "$SECS"
peer_bg - "$T/h-i6" icmp-recv -6 "$SECS" -s "$A6"
peer_bg pst-b "$T/b-fl" udp-recv 5005 "$SECS" -b
peer_bg pst-b "$T/b-n" udp-recv 5006 "$SECS" -n 5

assert_rc "udp-send v4 a->host in cgroup" 0 cg_run "$cg" ip netns exec pst-a "$PEER" udp-send "$H4" 47103 8
assert_rc "udp-send v6 a->host in cgroup" 0 cg_run "$cg" ip netns exec pst-a "$PEER" udp-send "$H6" 47103 4
assert_rc "tcp-send v4 a->host in cgroup" 0 cg_run "$cg" ip netns exec pst-a "$PEER" tcp-send "$H4" 47104 -l 4321
assert_rc "ping v6 a->host" 0 ip netns exec pst-a ping -6 -c 3 -i 0.2 -W 1 -q "$H6"
assert_rc "udp-flood host->b" 0 cg_run "$cg" "$PEER" udp-flood "$B4" 5005 300 2
assert_match "udp-flood output" '^sent 300 errors 0 pps [0-9]+$' "$LAST_OUT"
t0=$(date +%s%N)
"$PEER" udp-send "$B4" 5006 20 >/dev/null
got=$(wait_bg "$T/b-n")
t1=$(date +%s%N)
assert_eq "udp-recv -n 5 stops at 5" 5 "$got"
assert_range "udp-recv -n returns early (ms)" 0 2500 $(((t1 - t0) / 1000000))

assert_eq "udp v4 a->host" 8 "$(wait_bg "$T/h-u4")"
assert_eq "udp v6 a->host" 4 "$(wait_bg "$T/h-u6")"
assert_eq "tcp v4 a->host" "1 4321" "$(wait_bg "$T/h-t4")"
assert_eq "icmp v6 a->host" 3 "$(wait_bg "$T/h-i6")"
assert_eq "udp-flood received all" "300 19200" "$(wait_bg "$T/b-fl")"

# ---- tcp-connect-hold ---------------------------------------------------
peer_bg pst-a "$T/a-hold" tcp-recv 5007 3
assert_rc "tcp-connect-hold runs to its end" 0 "$PEER" tcp-connect-hold "$A4" 5007 1
held=$LAST_OUT
assert_range "tcp-connect-hold: ~10 messages in 1 s" 8 11 "$held"
assert_eq "tcp-connect-hold: receiver got 16 bytes each" "1 $((held * 16))" \
	"$(wait_bg "$T/a-hold")"

# ---- failure paths later tests rely on -----------------------------------
assert_rc "tcp-send to a closed port fails" 1 "$PEER" tcp-send "$A4" 5999 -t 2
assert_eq "tcp-send refused message" "connect: Connection refused" "$LAST_OUT"
# 198.18.1.99 does not exist: ARP gets no answer, nothing leaves the veth
assert_rc "tcp-send to a silent address times out" 1 "$PEER" tcp-send 198.18.1.99 5002 -t 1
assert_eq "tcp-send timeout message" "connect: Connection timed out" "$LAST_OUT"
assert_rc "tcp-connect-hold without listener" 1 "$PEER" tcp-connect-hold "$A4" 5999 1
assert_eq "tcp-connect-hold without listener prints 0" 0 "$LAST_OUT"
assert_rc "peer: bad args -> usage, exit 2" 2 "$PEER" udp-send "$A4"
assert_rc "peer: unknown mode -> exit 2" 2 "$PEER" nope
assert_rc "peer: receiver stopped by SIGTERM still prints" 0 sh -c \
	'"$0" udp-recv 47108 20 & p=$!; sleep 0.3; kill -TERM $p; wait $p' "$PEER"
assert_eq "peer: SIGTERM output" 0 "$LAST_OUT"

e2e_done
