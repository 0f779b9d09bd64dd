#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Proves the e2e harness itself, no egressctl involved: two namespaces, the
# peer helper's UDP/TCP/ICMP modes over IPv4 and IPv6, counted exactly at the
# receiver; extra destination addresses; a sender run inside a test cgroup;
# the progress files (-p) the event-driven tests wait on; the failure paths
# (refused, timed out) that later tests rely on.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $0 $1
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start ip ping

ALL_TESTS="test_topology test_host_to_ns test_several_destinations test_from_ns_in_cgroup
	test_udp_flood test_recv_count test_progress test_tcp_connect_hold test_failure_paths"

netns_up pst-a 198.18.1.2/24 2001:db8:1::2/64
netns_up pst-b 198.18.2.2/24 2001:db8:2::2/64
# one receiver, several destinations: in-subnet and routed extra addresses
netns_addr pst-b 198.18.2.77/24
netns_addr pst-b 198.18.102.7/32
netns_addr pst-b 2001:db8:102::7/128
A4=$(ns_ip4 pst-a) A6=$(ns_ip6 pst-a)
B4=$(ns_ip4 pst-b) B6=$(ns_ip6 pst-b)
H4=$(host_ip4 pst-a) H6=$(host_ip6 pst-a)
T=$E2E_TMP

test_topology() {
	assert_eq "netns_up: ns/host addresses" \
		"198.18.1.2 198.18.1.1 2001:db8:1::2 2001:db8:1::1" "$A4 $H4 $A6 $H6"
	assert_eq "netns_up: host side h-pst-b has 198.18.2.1/24" 1 \
		"$(ip -o -4 addr show dev h-pst-b | grep -c 'inet 198.18.2.1/24')"
	assert_eq "netns_up: IPv6 addresses not tentative" 0 \
		"$(ip netns exec pst-a ip -6 addr show dev eth0 tentative | grep -c inet6)"
	assert_eq "addr_where: the namespace and the host's source address" \
		"pst-a 198.18.1.1|pst-b 2001:db8:2::1|- 198.18.1.2" \
		"$(addr_where "$A4")|$(addr_where 2001:db8:102:0::7)|$(addr_where "$H4")"
}

# host -> ns A: every mode, v4 and v6
test_host_to_ns() {
	expect_udp pass "$A4" 5001 -l 100 -m "udp-send v4 host->a"
	expect_udp pass "$A6" 5001 -n 7 -l 1000 -i 1000 -m "udp-send v6 host->a"
	peer_bg pst-a "$T/a-t4" tcp-recv 5002 60 -n 3 || fail "tcp receiver ready"
	assert_rc "tcp-send v4 host->a (3 conns)" 0 sh -c \
		'for i in 1 2 3; do "$0" tcp-send "$1" 5002 -l 1000 -t 10 || exit 1; done' "$PEER" "$A4"
	assert_eq "tcp v4 host->a: conns bytes" "3 3000" "$(wait_bg "$T/a-t4")"
	peer_bg pst-a "$T/a-t6" tcp-recv -6 5002 60 -e -n 1 || fail "tcp echo receiver ready"
	assert_rc "tcp-send v6 host->a (echo)" 0 "$PEER" tcp-send "$A6" 5002 -l 200000 -t 10 -v
	assert_eq "tcp-send v6 echo reply" "connected
sent 200000 reply 200000" "$LAST_OUT"
	assert_eq "tcp v6 host->a (echo): conns bytes" "1 200000" "$(wait_bg "$T/a-t6")"
	expect_tcp pass "$A4" 5003 -m "expect_tcp v4 host->a"
	expect_ping pass "$A4" -n 5 -m "ping v4 host->a"
	expect_ping pass "$A6" -n 6 -m "ping v6 host->a"
}

# ns B: its main, in-subnet extra and routed extra addresses, one receiver
test_several_destinations() {
	peer_bg pst-b "$T/b-u4" udp-recv 5001 60 -n 12 || fail "receiver v4 ready"
	peer_bg pst-b "$T/b-u6" udp-recv -6 5001 60 -n 11 || fail "receiver v6 ready"
	assert_rc "udp v4 host->b 198.18.2.2" 0 "$PEER" udp-send "$B4" 5001 3
	assert_rc "udp v4 host->b 198.18.2.77 (in-subnet extra)" 0 "$PEER" udp-send 198.18.2.77 5001 4
	assert_rc "udp v4 host->b 198.18.102.7 (routed extra)" 0 "$PEER" udp-send 198.18.102.7 5001 5
	assert_rc "udp v6 host->b main" 0 "$PEER" udp-send "$B6" 5001 2
	assert_rc "udp v6 host->b 2001:db8:102::7 (routed extra)" 0 "$PEER" udp-send 2001:db8:102::7 5001 9
	assert_eq "udp v4 host->b (3 destinations)" 12 "$(wait_bg "$T/b-u4")"
	assert_eq "udp v6 host->b (2 destinations)" 11 "$(wait_bg "$T/b-u6")"
}

# ns A -> host, the sender inside a test cgroup and ns A
test_from_ns_in_cgroup() {
	local cg
	cg=$(cg_new selftest)
	assert_match "cg_new path" "^$CGROOT/egr-e2e-$E2E_ID-selftest\$" "$cg"
	assert_eq "cg_run moves the process" "0::/egr-e2e-$E2E_ID-selftest" \
		"$(cg_run "$cg" cat /proc/self/cgroup | grep '^0::')"
	expect_udp pass "$H4" 47103 -n 8 --from "$cg" --in pst-a -m "udp-send v4 a->host in cgroup"
	expect_udp pass "$H6" 47103 -n 4 --from "$cg" --in pst-a -m "udp-send v6 a->host in cgroup"
	expect_tcp pass "$H4" 47104 -l 4321 --from "$cg" --in pst-a -m "tcp-send v4 a->host in cgroup"
	expect_ping pass "$H6" --in pst-a -m "ping v6 a->host"
	expect_udp pass 127.0.0.1 47105 -n 5 --from "$cg" --in pst-a -m "udp to loopback in ns a"
}

test_udp_flood() {
	local cg
	cg=$(cg_new flood)
	peer_bg pst-b "$T/b-fl" udp-recv 5005 60 -b -n 300 || fail "receiver ready"
	assert_rc "udp-flood host->b" 0 cg_run "$cg" "$PEER" udp-flood "$B4" 5005 300 10
	assert_match "udp-flood output" '^sent 300 errors 0 pps [0-9]+$' "$LAST_OUT"
	assert_eq "udp-flood received all" "300 19200" "$(wait_bg "$T/b-fl")"
}

# -n N: the receiver stops by itself once N arrived, long before its window
test_recv_count() {
	peer_bg pst-b "$T/b-n" udp-recv 5006 60 -n 5 || fail "receiver ready"
	"$PEER" udp-send "$B4" 5006 20 >/dev/null
	assert_true "udp-recv -n 5 ends by itself, before its 60 s window" wait_for 30 test -e "$T/b-n.rc"
	assert_eq "udp-recv -n 5 stops at 5" 5 "$(wait_bg "$T/b-n")"
}

# -p FILE: the count so far, the final line at the end
test_progress() {
	peer_bg pst-b "$T/p-rx" udp-recv 5007 60 -p "$T/p-rx.p" -n 7 || fail "receiver ready"
	assert_eq "udp-recv -p: 0 before any datagram" 0 "$(cat "$T/p-rx.p")"
	assert_rc "udp-send -p" 0 "$PEER" udp-send "$B4" 5007 7 -p "$T/p-tx.p"
	assert_eq "udp-send -p: the last line is the result" "$LAST_OUT" "$(cat "$T/p-tx.p")"
	assert_eq "udp-recv -p: the count, as printed at the end" "7 7" \
		"$(wait_bg "$T/p-rx") $(cat "$T/p-rx.p")"
	assert_eq "udp-alt -p: the last line is the result" "sent 3 3 errors 0 0|sent 3 3 errors 0 0" \
		"$("$PEER" udp-alt "$B4" 5008 "$B4" 5009 3 -p "$T/p-alt.p")|$(cat "$T/p-alt.p")"
	assert_eq "no temporary progress file left" "" "$(ls "$T"/*.p.tmp 2>/dev/null)"
}

test_tcp_connect_hold() {
	local held
	peer_bg pst-a "$T/a-hold" tcp-recv 5007 60 -n 1 || fail "receiver ready"
	assert_rc "tcp-connect-hold runs to its end" 0 "$PEER" tcp-connect-hold "$A4" 5007 1 -p "$T/hold.p"
	held=$LAST_OUT
	# one message per 100 ms at most; at least one acknowledged
	assert_range "tcp-connect-hold: 1..11 messages in 1 s" 1 11 "$held"
	assert_eq "tcp-connect-hold -p: the count" "$held" "$(cat "$T/hold.p")"
	assert_eq "tcp-connect-hold: receiver got 16 bytes each" "1 $((held * 16))" \
		"$(wait_bg "$T/a-hold")"
}

# the failure paths later tests rely on
test_failure_paths() {
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
		'"$0" udp-recv 47108 20 -r "$1" & p=$!; i=0
		while [ ! -e "$1" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
		kill -TERM $p; wait $p' "$PEER" "$T/sigterm.ready"
	assert_eq "peer: SIGTERM output" 0 "$LAST_OUT"
}

run_tests
