#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Core enforcement, counted at the receiver: processes in test cgroups send
# TCP/UDP/ICMP over IPv4 and IPv6 to hosts in namespaces. Allowed traffic
# arrives exactly (10 sent -> 10 counted), denied traffic does not arrive at
# all (0 counted, the UDP sender gets EPERM, a TCP connect is refused at
# once). Covers longest-prefix
# matching, deny /32 inside an allow /24, port and port-range rules, icmp,
# IPv4-only policies vs IPv6 destinations, --default allow, loopback under
# default deny, deny winning a tie, pid: and relative cgroup: targets,
# exact status/list counters, and a server in the cgroup answering a client
# no rule allows while the cgroup itself cannot reach that client.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr jq

ALL_TESTS="test_attach_default_deny test_policy test_ipv4_only_policy test_default_allow
	test_deny_wins_tie test_pid_target test_exact_counters test_server_in_cgroup"

egr_topology k10 3
netns_addr "$NA" "$NET1.77/24"
A77=$NET1.77
HP=$((20000 + RANDOM % 20000)) # host-side ports: HP..HP+5

# default deny from the first packet; loopback stays open
test_attach_default_deny() {
	local rel1 rel2
	egr_new core
	assert_match "attach names the cgroup id" "id $TID\\)\$" "$LAST_OUT"
	rel1=$("$EGR" list "cgroup:/egr-e2e-$E2E_ID-core" -j | jq -r '.[0].cgroup_id')
	rel2=$("$EGR" list "cgroup:egr-e2e-$E2E_ID-core" -j | jq -r '.[0].cgroup_id')
	assert_eq "targets relative to the cgroup2 mount (/name, name) = the absolute path" \
		"$TID $TID" "$rel1 $rel2"
	assert_eq "status: attached, default deny, 0 rules" "true deny 0" \
		"$(egr_status "$TID" | jq -r '"\(.attached) \(.default) \(.rules)"')"
	expect_udp drop "$A4" 5001 -m "default deny: udp v4"
	expect_udp drop "$A6" 5001 -m "default deny: udp v6"
	expect_udp pass 127.0.0.1 "$HP" -m "loopback v4 under default deny"
	expect_udp pass ::1 "$HP" -m "loopback v6 under default deny"
	expect_tcp pass 127.0.0.1 $((HP + 1)) -m "loopback tcp under default deny"
}

test_policy() {
	local ok=1 want_rules
	egr_new core2
	"$EGR" allow "$TGT" "$NET1.0/24" || ok=0 # A: everything
	"$EGR" deny "$TGT" "$A77" || ok=0 # ... but not .77
	"$EGR" allow "$TGT" "$NET6_1::/64" || ok=0 # A v6: everything
	"$EGR" allow "$TGT" "$B4" udp:53 tcp:8000-8999 || ok=0
	"$EGR" deny "$TGT" "$B4" udp:54 || ok=0
	"$EGR" allow "$TGT" "$NET2.0/24" udp || ok=0 # B's /24: udp only
	"$EGR" allow "$TGT" "$B6" icmp || ok=0 # B v6: icmp only
	"$EGR" allow "$TGT" 10.1.2.3/8 tcp:443 || ok=0 # host bits, no traffic
	"$EGR" allow "$TGT" 2001:db8:ffff::1/48 tcp:443 || ok=0
	assert_eq "policy edits succeed" 1 "$ok"
	want_rules=$(sort <<<"allow 10.0.0.0/8 tcp:443
allow $NET1.0/24 any
allow $NET2.0/24 udp
allow $NET2.2/32 tcp:8000-8999
allow $NET2.2/32 udp:53
allow $NET6_1::/64 any
allow $NET6_2::2/128 icmp
allow 2001:db8:ffff::/48 tcp:443
deny $NET1.77/32 any
deny $NET2.2/32 udp:54")
	assert_eq "list -j: exactly the rules, host bits cleared" "$want_rules" "$(egr_rules "$TGT")"
	assert_match "list (text) shows 10.0.0.0/8" "allow +10\\.0\\.0\\.0/8 +tcp:443" "$("$EGR" list "$TGT")"
	assert_eq "status: 10 rules, 5 v4 prefixes, 3 v6 prefixes" "10 5 3" \
		"$(egr_status "$TID" | jq -r '"\(.rules) \(.prefixes_v4) \(.prefixes_v6)"')"

	expect_udp pass "$A4" 5001 -m "allow /24: udp v4 to A"
	expect_udp drop "$A77" 5002 -m "deny /32 in allow /24: udp to .77"
	expect_tcp drop "$A77" 5004 -m "deny /32 in allow /24: tcp to .77"
	expect_udp pass "$A6" 5001 -m "allow v6 /64: udp v6 to A"
	expect_tcp pass "$A4" 5003 -m "allow /24: tcp v4 to A"
	expect_tcp pass "$A6" 5003 -m "allow v6 /64: tcp v6 to A"
	expect_ping pass "$A4" -m "allow /24: ping v4 to A"
	expect_ping pass "$A6" -m "allow v6 /64: ping v6 to A"
	expect_udp pass "$B4" 53 -m "udp:53 allowed at B"
	expect_udp drop "$B4" 54 -m "udp:54 denied at B"
	expect_udp pass "$B4" 55 -m "udp:55 at B (falls through to the /24 udp rule)"
	expect_udp drop "$B6" 53 -m "udp to B v6 (v4 port rules only)"
	expect_tcp pass "$B4" 8080 -m "tcp:8000-8999 range: 8080 at B"
	expect_tcp drop "$B4" 9000 -m "tcp:9000 at B (outside the range)"
	expect_ping pass "$B6" -m "icmp rule on B v6: ping v6"
	expect_ping drop "$B4" -m "no icmp rule on B v4: ping"
}

# an IPv4-only policy: IPv6 stays at the default (deny)
test_ipv4_only_policy() {
	egr_new v4only
	assert_rc "v4only: allow $NET2.0/24" 0 "$EGR" allow "$TGT" "$NET2.0/24"
	expect_udp pass "$B4" 5010 -m "v4only: udp v4"
	expect_udp drop "$B6" 5010 -m "v4only: udp v6"
	expect_tcp drop "$B6" 5010 -m "v4only: tcp v6"
}

# --default allow, then deny rules
test_default_allow() {
	egr_new dallow --default allow
	assert_eq "dallow: list says default allow" "allow" "$("$EGR" list "$TGT" -j | jq -r '.[0].default')"
	expect_udp pass "$B4" 5011 -m "default allow, no rules: udp"
	assert_rc "dallow: deny B udp:5011" 0 "$EGR" deny "$TGT" "$B4" udp:5011
	assert_rc "dallow: deny any udp:5015" 0 "$EGR" deny "$TGT" any udp:5015
	assert_eq "dallow: any = 0.0.0.0/0 and ::/0" "$(sort <<<"deny 0.0.0.0/0 udp:5015
deny $NET2.2/32 udp:5011
deny ::/0 udp:5015")" "$(egr_rules "$TGT")"
	expect_udp drop "$B4" 5011 -m "dallow: denied udp:5011"
	expect_udp pass "$A4" 5011 -m "dallow: udp:5011 to A (default allow)"
	expect_tcp pass "$B4" 5012 -m "dallow: tcp:5012 to B (default allow)"
	expect_udp drop "$B4" 5015 -m "dallow: deny any udp:5015 v4"
	expect_udp drop "$B6" 5015 -m "dallow: deny any udp:5015 v6"
	expect_udp pass "$B4" 5016 -m "dallow: udp:5016"
}

# deny wins a tie: allow and deny rules of one prefix that both match
test_deny_wins_tie() {
	local ok=1
	egr_new tie
	"$EGR" allow "$TGT" "$NET2.0/24" || ok=0
	"$EGR" allow "$TGT" "$B4" udp:5017 tcp || ok=0
	"$EGR" deny "$TGT" "$B4" udp:5017 tcp:5019 || ok=0
	assert_eq "tie rules added" 1 "$ok"
	expect_udp drop "$B4" 5017 -m "tie allow/deny udp:5017: deny wins"
	expect_udp pass "$B4" 5018 -m "udp:5018 (no /32 rule matches, the /24 allows)"
	expect_tcp drop "$B4" 5019 -m "tie allow/deny tcp:5019: deny wins"
	expect_tcp pass "$B4" 5020 -m "tcp:5020 (allow tcp, deny only tcp:5019)"
}

test_pid_target() {
	local cgp cgpid ppid
	cgp=$(cg_new bypid)
	cgpid=$(stat -c %i "$cgp")
	echo "$cgp $cgpid" >>"$E2E_TMP/.attached"
	run_bg - "$T/bypid" sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 120' sh "$cgp"
	ppid=$BG_PID
	wait_for 5 grep -q "^$ppid\$" "$cgp/cgroup.procs" || bail "pid $ppid not in $cgp"
	assert_rc "attach pid:$ppid" 0 "$EGR" attach "pid:$ppid"
	assert_match "attach pid: resolves to its cgroup" \
		"cgroup:/egr-e2e-$E2E_ID-bypid .*id $cgpid\\)" "$LAST_OUT"
	assert_rc "allow via pid: target" 0 "$EGR" allow "pid:$ppid" "$A4" udp:5013
	assert_eq "list pid: -j shows that cgroup and rule" "$cgpid allow $A4/32 udp:5013" \
		"$("$EGR" list "pid:$ppid" -j | jq -r '.[0] | "\(.cgroup_id) \(.rules[0].action) \(.rules[0].dest) \(.rules[0].ports)"')"
	expect_udp pass "$A4" 5013 --from "$cgp" -m "pid target: allowed udp:5013"
	expect_udp drop "$A4" 5014 --from "$cgp" -m "pid target: udp:5014 (default deny)"
	assert_rc "detach pid:$ppid" 0 "$EGR" detach "pid:$ppid"
	assert_eq "detach pid: removes the pins" "no" \
		"$([ -e "$EGR_PINS/$cgpid" ] && echo yes || echo no)"
}

# exact counters: status -j and list -j hits
test_exact_counters() {
	local st
	egr_new count
	assert_rc "count: allow A udp:5020, deny A udp:5021" 0 sh -c \
		'"$1" allow "$2" "$3" udp:5020 && "$1" deny "$2" "$3" udp:5021' sh "$EGR" "$TGT" "$A4"
	expect_udp pass "$A4" 5020 -m "count: A udp:5020 (rule 1)"
	expect_udp drop "$A4" 5021 -n 7 -m "count: A udp:5021 (rule 2)"
	expect_udp drop "$B4" 5020 -n 3 -m "count: B udp:5020 (default)"
	expect_udp drop "$A6" 5020 -n 4 -m "count: A v6 udp:5020 (default)"
	expect_udp pass 127.0.0.1 $((HP + 2)) -n 5 -m "count: loopback"
	# 64-byte payloads: 92 bytes per IPv4 packet, 112 per IPv6 packet
	st=$(egr_status "$TID")
	assert_eq "status -j: allowed packets/bytes" "10 920" \
		"$(jq -r '.counters.allowed | "\(.packets) \(.bytes)"' <<<"$st")"
	assert_eq "status -j: denied packets/bytes (7+3 v4, 4 v6, all refused at sendto: 0 bytes)" \
		"14 0 14" "$(jq -r '.counters | "\(.denied.packets) \(.denied.bytes) \(.refused.packets)"' <<<"$st")"
	assert_eq "status -j: loopback packets/bytes" "5 460" \
		"$(jq -r '.counters.loopback | "\(.packets) \(.bytes)"' <<<"$st")"
	assert_eq "status -j: audit/inbound/malformed/nopolicy all 0" "0 0 0 0" \
		"$(jq -r '.counters | "\(.audit.packets) \(.inbound.packets) \(.malformed.packets) \(.nopolicy.packets)"' <<<"$st")"
	assert_eq "list -j: per-rule hits" "$(sort <<<"allow $A4/32 udp:5020=10
deny $A4/32 udp:5021=7")" "$(egr_hits "$TGT")"
	assert_match "list (text): hits column" "allow +$A4/32 +udp:5020 +10" "$("$EGR" list "$TGT")"
}

# a server in the cgroup answers clients no rule allows
test_server_in_cgroup() {
	local st
	egr_new server
	run_bg - "$T/srv4" cg_run "$TCG" "$PEER" tcp-recv $((HP + 3)) 60 -e -n 1 -r "$T/srv4.ready"
	run_bg - "$T/srv6" cg_run "$TCG" "$PEER" tcp-recv -6 $((HP + 3)) 60 -e -n 1 -r "$T/srv6.ready"
	wait_for 5 test -e "$T/srv4.ready" -a -e "$T/srv6.ready" || fail "servers ready"
	assert_rc "client in ns C -> server in cgroup (v4): connect + echo" 0 \
		ip netns exec "$NC" "$PEER" tcp-send "$(host_ip4 "$NC")" $((HP + 3)) -l 20000 -t 10 -v
	assert_eq "v4 client gets the whole echo" "connected
sent 20000 reply 20000" "$LAST_OUT"
	assert_rc "client in ns C -> server in cgroup (v6): connect + echo" 0 \
		ip netns exec "$NC" "$PEER" tcp-send "$(host_ip6 "$NC")" $((HP + 3)) -l 20000 -t 10 -v
	assert_eq "v6 client gets the whole echo" "connected
sent 20000 reply 20000" "$LAST_OUT"
	assert_eq "server v4 counted 1 conn, 20000 bytes" "1 20000" "$(wait_bg "$T/srv4")"
	assert_eq "server v6 counted 1 conn, 20000 bytes" "1 20000" "$(wait_bg "$T/srv6")"
	expect_tcp drop "$C4" 5040 -m "server cgroup -> client address: tcp"
	expect_udp drop "$C4" 5041 -n 5 -m "server cgroup -> client address: udp"
	st=$(egr_status "$TID")
	assert_range "server status: inbound packets counted" 1 100000 \
		"$(jq -r '.counters.inbound.packets' <<<"$st")"
	# 5 udp datagrams and the connect, refused at the socket
	assert_eq "server status: outbound connect + udp refused" "6 6" \
		"$(jq -r '"\(.counters.denied.packets) \(.counters.refused.packets)"' <<<"$st")"
	assert_eq "server status: nothing allowed by policy" 0 "$(jq -r '.counters.allowed.packets' <<<"$st")"
}

run_tests
