#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Core enforcement, counted at the receiver: processes in test cgroups send
# TCP/UDP/ICMP over IPv4 and IPv6 to hosts in namespaces. Allowed traffic
# arrives exactly (10 sent -> 10 counted), denied traffic does not arrive at
# all (0 counted, the UDP sender gets EPERM, a TCP connect ECONNREFUSED).
# Covers longest-prefix matching, deny /32 inside an allow /24, port and
# port-range rules, icmp, IPv4-only policies vs IPv6 destinations, --default allow, loopback under
# default deny, deny winning a tie, pid: and relative cgroup: targets,
# exact status/list counters, and a server in the cgroup answering a client
# no rule allows while the cgroup itself cannot reach that client.
# Needs jq.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # functions run from traps and assert_rc
set -u
export LC_ALL=C
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init
need_egr
command -v jq >/dev/null || bail "jq missing (apt-get install jq)"

# ---- egressctl helpers -------------------------------------------------------
# shellcheck source=tests/e2e/egr_lib.sh
. "$(dirname "$0")/egr_lib.sh"

# ---- topology ----------------------------------------------------------------
pick_nets 3
S=${E2E_ID:2:6}
NA=k10a$S NB=k10b$S NC=k10c$S
netns_up "$NA" "$NET1.2/24" "$NET6_1::2/64"
netns_up "$NB" "$NET2.2/24" "$NET6_2::2/64"
netns_up "$NC" "$NET3.2/24" "$NET6_3::2/64"
netns_addr "$NA" "$NET1.77/24"
A4=$(ns_ip4 "$NA") A6=$(ns_ip6 "$NA") A77=$NET1.77
B4=$(ns_ip4 "$NB") B6=$(ns_ip6 "$NB")
C4=$(ns_ip4 "$NC")
T=$E2E_TMP
HP=$((20000 + RANDOM % 20000)) # host-side ports: HP..HP+5

cg=$(cg_new core)
cgid=$(stat -c %i "$cg")
CG=cgroup:$cg

# ---- attach: default deny from the first packet ------------------------------
assert_rc "attach (default deny)" 0 egr_attach "$cg"
assert_match "attach names the cgroup id" "id $cgid\\)\$" "$LAST_OUT"
rel1=$("$EGR" list "cgroup:/egr-e2e-$E2E_ID-core" -j | jq -r '.[0].cgroup_id')
rel2=$("$EGR" list "cgroup:egr-e2e-$E2E_ID-core" -j | jq -r '.[0].cgroup_id')
assert_eq "targets relative to the cgroup2 mount (/name, name) = the absolute path" \
	"$cgid $cgid" "$rel1 $rel2"
st=$(egr_status "$cgid")
assert_eq "status: attached, default deny, 0 rules" "true deny 0" \
	"$(jq -r '"\(.attached) \(.default) \(.rules)"' <<<"$st")"

W=5
peer_bg "$NA" "$T/p1-u4" udp-recv 5001 $W
peer_bg "$NA" "$T/p1-u6" udp-recv -6 5001 $W
peer_bg - "$T/p1-lo4" udp-recv "$HP" $W
peer_bg - "$T/p1-lo6" udp-recv -6 "$HP" $W
peer_bg - "$T/p1-lot" tcp-recv $((HP + 1)) $W
assert_rc "default deny: udp v4 send fails" 1 cg_run "$cg" "$PEER" udp-send "$A4" 5001 10
assert_eq "default deny: sender counts 10 errors" "sent 0 errors 10" "$LAST_OUT"
assert_match "default deny: sender sees EPERM" "Operation not permitted" "$LAST_ERR"
assert_rc "default deny: udp v6 send fails" 1 cg_run "$cg" "$PEER" udp-send "$A6" 5001 10
assert_match "default deny: v6 sender sees EPERM" "Operation not permitted" "$LAST_ERR"
assert_rc "loopback v4 under default deny: send ok" 0 \
	cg_run "$cg" "$PEER" udp-send 127.0.0.1 "$HP" 10
assert_rc "loopback v6 under default deny: send ok" 0 cg_run "$cg" "$PEER" udp-send ::1 "$HP" 10
assert_rc "loopback tcp under default deny: connect ok" 0 \
	cg_run "$cg" "$PEER" tcp-send 127.0.0.1 $((HP + 1)) -l 1000 -t 3
assert_eq "default deny: receiver got 0 udp v4" 0 "$(wait_bg "$T/p1-u4")"
assert_eq "default deny: receiver got 0 udp v6" 0 "$(wait_bg "$T/p1-u6")"
assert_eq "loopback v4: receiver got 10" 10 "$(wait_bg "$T/p1-lo4")"
assert_eq "loopback v6: receiver got 10" 10 "$(wait_bg "$T/p1-lo6")"
assert_eq "loopback tcp: receiver got 1 conn 1000 bytes" "1 1000" "$(wait_bg "$T/p1-lot")"

# ---- the policy ----------------------------------------------------------------
ok=1
"$EGR" allow "$CG" "$NET1.0/24" || ok=0 # A: everything
"$EGR" deny "$CG" "$A77" || ok=0 # ... but not .77
"$EGR" allow "$CG" "$NET6_1::/64" || ok=0 # A v6: everything
"$EGR" allow "$CG" "$B4" udp:53 tcp:8000-8999 || ok=0
"$EGR" deny "$CG" "$B4" udp:54 || ok=0
"$EGR" allow "$CG" "$NET2.0/24" udp || ok=0 # B's /24: udp only
"$EGR" allow "$CG" "$B6" icmp || ok=0 # B v6: icmp only
"$EGR" allow "$CG" 10.1.2.3/8 tcp:443 || ok=0 # host bits, no traffic
"$EGR" allow "$CG" 2001:db8:ffff::1/48 tcp:443 || ok=0
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
assert_eq "list -j: exactly the rules, host bits cleared" "$want_rules" "$(egr_rules "$CG")"
assert_match "list (text) shows 10.0.0.0/8" "allow +10\\.0\\.0\\.0/8 +tcp:443" "$("$EGR" list "$CG")"
assert_eq "status: 10 rules, 5 v4 prefixes, 3 v6 prefixes" "10 5 3" \
	"$(egr_status "$cgid" | jq -r '"\(.rules) \(.prefixes_v4) \(.prefixes_v6)"')"

# IPv4-only policy (cgroup v4only) and --default allow (cgroup dallow) run
# their first traffic in the same window.
cg4=$(cg_new v4only)
assert_rc "attach v4only" 0 egr_attach "$cg4"
assert_rc "v4only: allow $NET2.0/24" 0 "$EGR" allow "cgroup:$cg4" "$NET2.0/24"
cgd=$(cg_new dallow)
assert_rc "attach --default allow" 0 egr_attach "$cgd" --default allow
assert_eq "dallow: list says default allow" "allow" \
	"$("$EGR" list "cgroup:$cgd" -j | jq -r '.[0].default')"

W=8
# ns A receivers
peer_bg "$NA" "$T/a-u4" udp-recv 5001 $W
peer_bg "$NA" "$T/a-u77" udp-recv 5002 $W
peer_bg "$NA" "$T/a-u6" udp-recv -6 5001 $W
peer_bg "$NA" "$T/a-t4" tcp-recv 5003 $W
peer_bg "$NA" "$T/a-t6" tcp-recv -6 5003 $W
peer_bg "$NA" "$T/a-t77" tcp-recv 5004 $W
peer_bg "$NA" "$T/a-i6" icmp-recv -6 $W -s "$(host_ip6 "$NA")"
# ns B receivers
peer_bg "$NB" "$T/b-u53" udp-recv 53 $W
peer_bg "$NB" "$T/b-u54" udp-recv 54 $W
peer_bg "$NB" "$T/b-u55" udp-recv 55 $W
peer_bg "$NB" "$T/b-u6-53" udp-recv -6 53 $W
peer_bg "$NB" "$T/b-t8080" tcp-recv 8080 $W
peer_bg "$NB" "$T/b-t9000" tcp-recv 9000 $W
peer_bg "$NB" "$T/b-i4" icmp-recv $W -s "$(host_ip4 "$NB")"
peer_bg "$NB" "$T/b-i6" icmp-recv -6 $W -s "$(host_ip6 "$NB")"
peer_bg "$NB" "$T/b-u5010" udp-recv 5010 $W
peer_bg "$NB" "$T/b-u6-5010" udp-recv -6 5010 $W
peer_bg "$NB" "$T/b-t6-5010" tcp-recv -6 5010 $W
peer_bg "$NB" "$T/b-u5011" udp-recv 5011 $W
peer_bg "$NA" "$T/a-i4" icmp-recv $W -s "$(host_ip4 "$NA")"

# denied TCP connects time out (SYNs dropped): run them side by side
run_bg - "$T/c-t77" cg_run "$cg" "$PEER" tcp-send "$A77" 5004 -t 1.5
run_bg - "$T/c-t9000" cg_run "$cg" "$PEER" tcp-send "$B4" 9000 -t 1.5
run_bg - "$T/c4-t6" cg_run "$cg4" "$PEER" tcp-send "$B6" 5010 -t 1.5

assert_rc "allow /24: udp v4 send ok" 0 cg_run "$cg" "$PEER" udp-send "$A4" 5001 10
assert_rc "deny /32 in allow /24: udp send fails" 1 cg_run "$cg" "$PEER" udp-send "$A77" 5002 10
assert_eq "deny /32: sender counts 10 errors" "sent 0 errors 10" "$LAST_OUT"
assert_match "deny /32: sender sees EPERM" "Operation not permitted" "$LAST_ERR"
assert_rc "allow v6 /64: udp send ok" 0 cg_run "$cg" "$PEER" udp-send "$A6" 5001 10
assert_rc "allow /24: tcp v4 connect" 0 cg_run "$cg" "$PEER" tcp-send "$A4" 5003 -l 1000 -t 3
assert_rc "allow v6 /64: tcp v6 connect" 0 cg_run "$cg" "$PEER" tcp-send "$A6" 5003 -l 1000 -t 3
assert_rc "allow /24: ping v4 (3)" 0 cg_run "$cg" ping -c 3 -i 0.2 -W 1 -q "$A4"
assert_rc "allow v6 /64: ping v6 (3)" 0 cg_run "$cg" ping -6 -c 3 -i 0.2 -W 1 -q "$A6"
assert_rc "udp:53 allowed: send ok" 0 cg_run "$cg" "$PEER" udp-send "$B4" 53 10
assert_rc "udp:54 denied: send fails" 1 cg_run "$cg" "$PEER" udp-send "$B4" 54 10
assert_match "udp:54 denied: sender sees EPERM" "Operation not permitted" "$LAST_ERR"
assert_rc "udp:55 (falls through to the /24 udp rule): send ok" 0 \
	cg_run "$cg" "$PEER" udp-send "$B4" 55 10
assert_rc "udp to B v6 (v4 port rules only): send fails" 1 \
	cg_run "$cg" "$PEER" udp-send "$B6" 53 10
assert_rc "tcp:8000-8999 range: connect to 8080" 0 \
	cg_run "$cg" "$PEER" tcp-send "$B4" 8080 -l 1000 -t 3
assert_rc "icmp rule on B v6: ping v6 (3)" 0 cg_run "$cg" ping -6 -c 3 -i 0.2 -W 1 -q "$B6"
cg_run "$cg" ping -c 3 -i 0.2 -W 1 -q "$B4" >/dev/null 2>&1
assert_eq "no icmp rule on B v4: ping gets no reply" 1 $?
# IPv4-only policy: IPv6 stays at the default (deny)
assert_rc "v4only: udp v4 send ok" 0 cg_run "$cg4" "$PEER" udp-send "$B4" 5010 10
assert_rc "v4only: udp v6 send fails" 1 cg_run "$cg4" "$PEER" udp-send "$B6" 5010 10
assert_match "v4only: v6 sender sees EPERM" "Operation not permitted" "$LAST_ERR"
# --default allow, no rules yet
assert_rc "default allow: udp send ok" 0 cg_run "$cgd" "$PEER" udp-send "$B4" 5011 10

assert_eq "tcp to .77 (denied): connect refused at once" "connect: Connection refused" \
	"$(wait_bg "$T/c-t77")"
assert_eq "tcp to B:9000 (outside the range): connect refused at once" \
	"connect: Connection refused" "$(wait_bg "$T/c-t9000")"
assert_eq "v4only: tcp v6 connect refused at once" "connect: Connection refused" \
	"$(wait_bg "$T/c4-t6")"

assert_eq "receiver: udp v4 to A (allow /24) 10" 10 "$(wait_bg "$T/a-u4")"
assert_eq "receiver: udp to .77 (deny /32) 0" 0 "$(wait_bg "$T/a-u77")"
assert_eq "receiver: udp v6 to A 10" 10 "$(wait_bg "$T/a-u6")"
assert_eq "receiver: tcp v4 to A 1 conn 1000 bytes" "1 1000" "$(wait_bg "$T/a-t4")"
assert_eq "receiver: tcp v6 to A 1 conn 1000 bytes" "1 1000" "$(wait_bg "$T/a-t6")"
assert_eq "receiver: tcp to .77 0 conns" "0 0" "$(wait_bg "$T/a-t77")"
assert_eq "receiver: icmp v4 echo requests at A 3" 3 "$(wait_bg "$T/a-i4")"
assert_eq "receiver: icmp v6 echo requests at A 3" 3 "$(wait_bg "$T/a-i6")"
assert_eq "receiver: udp:53 at B 10" 10 "$(wait_bg "$T/b-u53")"
assert_eq "receiver: udp:54 at B 0" 0 "$(wait_bg "$T/b-u54")"
assert_eq "receiver: udp:55 at B 10" 10 "$(wait_bg "$T/b-u55")"
assert_eq "receiver: udp v6 :53 at B 0" 0 "$(wait_bg "$T/b-u6-53")"
assert_eq "receiver: tcp:8080 at B 1 conn" "1 1000" "$(wait_bg "$T/b-t8080")"
assert_eq "receiver: tcp:9000 at B 0 conns" "0 0" "$(wait_bg "$T/b-t9000")"
assert_eq "receiver: icmp v4 at B 0" 0 "$(wait_bg "$T/b-i4")"
assert_eq "receiver: icmp v6 at B 3" 3 "$(wait_bg "$T/b-i6")"
assert_eq "v4only receiver: udp v4 10" 10 "$(wait_bg "$T/b-u5010")"
assert_eq "v4only receiver: udp v6 0" 0 "$(wait_bg "$T/b-u6-5010")"
assert_eq "v4only receiver: tcp v6 0 conns" "0 0" "$(wait_bg "$T/b-t6-5010")"
assert_eq "default allow receiver: udp 10" 10 "$(wait_bg "$T/b-u5011")"

# ---- --default allow + deny rules; pid: target --------------------------------
assert_rc "dallow: deny B udp:5011" 0 "$EGR" deny "cgroup:$cgd" "$B4" udp:5011
assert_rc "dallow: deny any udp:5015" 0 "$EGR" deny "cgroup:$cgd" any udp:5015
assert_eq "dallow: any = 0.0.0.0/0 and ::/0" "$(sort <<<"deny 0.0.0.0/0 udp:5015
deny $NET2.2/32 udp:5011
deny ::/0 udp:5015")" "$(egr_rules "cgroup:$cgd")"

# deny wins a tie: allow and deny rules of one prefix that both match
ok=1
"$EGR" allow "cgroup:$cg4" "$B4" udp:5017 tcp || ok=0
"$EGR" deny "cgroup:$cg4" "$B4" udp:5017 tcp:5019 || ok=0
assert_eq "v4only: tie rules added" 1 "$ok"

cgp=$(cg_new bypid)
cgpid=$(stat -c %i "$cgp")
echo "$cgp $cgpid" >>"$E2E_TMP/.attached"
sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 60' sh "$cgp" &
ppid=$!
wait_for 5 grep -q "^$ppid\$" "$cgp/cgroup.procs" || bail "pid $ppid not in $cgp"
assert_rc "attach pid:$ppid" 0 "$EGR" attach "pid:$ppid"
assert_match "attach pid: resolves to its cgroup" \
	"cgroup:/egr-e2e-$E2E_ID-bypid .*id $cgpid\\)" "$LAST_OUT"
assert_rc "allow via pid: target" 0 "$EGR" allow "pid:$ppid" "$A4" udp:5013
assert_eq "list pid: -j shows that cgroup and rule" "$cgpid allow $A4/32 udp:5013" \
	"$("$EGR" list "pid:$ppid" -j | jq -r '.[0] | "\(.cgroup_id) \(.rules[0].action) \(.rules[0].dest) \(.rules[0].ports)"')"

W=5
peer_bg "$NB" "$T/d-u5011" udp-recv 5011 $W
peer_bg "$NA" "$T/d-a5011" udp-recv 5011 $W
peer_bg "$NB" "$T/d-t5012" tcp-recv 5012 $W
peer_bg "$NB" "$T/d-u5015" udp-recv 5015 $W
peer_bg "$NB" "$T/d-u6-5015" udp-recv -6 5015 $W
peer_bg "$NB" "$T/d-u5016" udp-recv 5016 $W
peer_bg "$NB" "$T/t-u5017" udp-recv 5017 $W
peer_bg "$NB" "$T/t-u5018" udp-recv 5018 $W
peer_bg "$NB" "$T/t-t5019" tcp-recv 5019 $W
peer_bg "$NB" "$T/t-t5020" tcp-recv 5020 $W
peer_bg "$NA" "$T/p-u5013" udp-recv 5013 $W
peer_bg "$NA" "$T/p-u5014" udp-recv 5014 $W
assert_rc "dallow: denied udp:5011 send fails" 1 cg_run "$cgd" "$PEER" udp-send "$B4" 5011 10
assert_match "dallow: sender sees EPERM" "Operation not permitted" "$LAST_ERR"
assert_rc "dallow: udp:5011 to A (default allow) ok" 0 cg_run "$cgd" "$PEER" udp-send "$A4" 5011 10
assert_rc "dallow: tcp:5012 to B (default allow) ok" 0 \
	cg_run "$cgd" "$PEER" tcp-send "$B4" 5012 -l 1000 -t 3
assert_rc "dallow: deny any udp:5015 v4 fails" 1 cg_run "$cgd" "$PEER" udp-send "$B4" 5015 10
assert_rc "dallow: deny any udp:5015 v6 fails" 1 cg_run "$cgd" "$PEER" udp-send "$B6" 5015 10
assert_rc "dallow: udp:5016 ok" 0 cg_run "$cgd" "$PEER" udp-send "$B4" 5016 10
assert_rc "tie allow/deny udp:5017: deny wins, send fails" 1 \
	cg_run "$cg4" "$PEER" udp-send "$B4" 5017 10
assert_rc "udp:5018 (no /32 rule matches, the /24 allows): send ok" 0 \
	cg_run "$cg4" "$PEER" udp-send "$B4" 5018 10
run_bg - "$T/t-c5019" cg_run "$cg4" "$PEER" tcp-send "$B4" 5019 -t 1.5
assert_rc "tcp:5020 (allow tcp, deny only tcp:5019): connect ok" 0 \
	cg_run "$cg4" "$PEER" tcp-send "$B4" 5020 -l 1000 -t 3
assert_rc "pid target: allowed udp:5013 ok" 0 cg_run "$cgp" "$PEER" udp-send "$A4" 5013 10
assert_rc "pid target: udp:5014 (default deny) fails" 1 cg_run "$cgp" "$PEER" udp-send "$A4" 5014 10
assert_eq "dallow receiver: denied udp:5011 0" 0 "$(wait_bg "$T/d-u5011")"
assert_eq "dallow receiver: udp:5011 to A 10" 10 "$(wait_bg "$T/d-a5011")"
assert_eq "dallow receiver: tcp:5012 1 conn" "1 1000" "$(wait_bg "$T/d-t5012")"
assert_eq "dallow receiver: any udp:5015 v4 0" 0 "$(wait_bg "$T/d-u5015")"
assert_eq "dallow receiver: any udp:5015 v6 0" 0 "$(wait_bg "$T/d-u6-5015")"
assert_eq "dallow receiver: udp:5016 10" 10 "$(wait_bg "$T/d-u5016")"
assert_eq "tie allow/deny tcp:5019: deny wins, connect refused at once" \
	"connect: Connection refused" "$(wait_bg "$T/t-c5019")"
assert_eq "tie receiver: udp:5017 0" 0 "$(wait_bg "$T/t-u5017")"
assert_eq "tie receiver: udp:5018 10" 10 "$(wait_bg "$T/t-u5018")"
assert_eq "tie receiver: tcp:5019 0 conns" "0 0" "$(wait_bg "$T/t-t5019")"
assert_eq "tie receiver: tcp:5020 1 conn" "1 1000" "$(wait_bg "$T/t-t5020")"
assert_eq "pid target receiver: udp:5013 10" 10 "$(wait_bg "$T/p-u5013")"
assert_eq "pid target receiver: udp:5014 0" 0 "$(wait_bg "$T/p-u5014")"
assert_rc "detach pid:$ppid" 0 "$EGR" detach "pid:$ppid"
assert_eq "detach pid: removes the pins" "no" \
	"$([ -e "$EGR_PINS/$cgpid" ] && echo yes || echo no)"
kill "$ppid" 2>/dev/null
wait "$ppid" 2>/dev/null

# ---- exact counters: status -j and list -j hits -------------------------------
cgc=$(cg_new count)
cgcid=$(stat -c %i "$cgc")
assert_rc "attach count" 0 egr_attach "$cgc"
assert_rc "count: allow A udp:5020, deny A udp:5021" 0 sh -c \
	'"$1" allow "$2" "$3" udp:5020 && "$1" deny "$2" "$3" udp:5021' sh "$EGR" "cgroup:$cgc" "$A4"
W=4
peer_bg "$NA" "$T/n-5020" udp-recv 5020 $W
peer_bg "$NA" "$T/n-5021" udp-recv 5021 $W
peer_bg "$NA" "$T/n6-5020" udp-recv -6 5020 $W
peer_bg "$NB" "$T/n-b5020" udp-recv 5020 $W
peer_bg - "$T/n-lo" udp-recv $((HP + 2)) $W
cg_run "$cgc" "$PEER" udp-send "$A4" 5020 10 >/dev/null 2>&1 # allowed by rule 1
cg_run "$cgc" "$PEER" udp-send "$A4" 5021 7 >/dev/null 2>&1  # denied by rule 2
cg_run "$cgc" "$PEER" udp-send "$B4" 5020 3 >/dev/null 2>&1  # denied by default
cg_run "$cgc" "$PEER" udp-send "$A6" 5020 4 >/dev/null 2>&1  # denied by default
cg_run "$cgc" "$PEER" udp-send 127.0.0.1 $((HP + 2)) 5 >/dev/null 2>&1
assert_eq "count receiver: A udp:5020 10" 10 "$(wait_bg "$T/n-5020")"
assert_eq "count receiver: A udp:5021 0" 0 "$(wait_bg "$T/n-5021")"
assert_eq "count receiver: A v6 udp:5020 0" 0 "$(wait_bg "$T/n6-5020")"
assert_eq "count receiver: B udp:5020 0" 0 "$(wait_bg "$T/n-b5020")"
assert_eq "count receiver: loopback 5" 5 "$(wait_bg "$T/n-lo")"
# 64-byte payloads: 92 bytes per IPv4 packet, 112 per IPv6 packet
st=$(egr_status "$cgcid")
assert_eq "status -j: allowed packets/bytes" "10 920" \
	"$(jq -r '.counters.allowed | "\(.packets) \(.bytes)"' <<<"$st")"
assert_eq "status -j: denied packets/bytes (7+3 v4, 4 v6, all refused at sendto: 0 bytes)" \
	"14 0 14" "$(jq -r '.counters | "\(.denied.packets) \(.denied.bytes) \(.refused.packets)"' <<<"$st")"
assert_eq "status -j: loopback packets/bytes" "5 460" \
	"$(jq -r '.counters.loopback | "\(.packets) \(.bytes)"' <<<"$st")"
assert_eq "status -j: audit/inbound/malformed/nopolicy all 0" "0 0 0 0" \
	"$(jq -r '.counters | "\(.audit.packets) \(.inbound.packets) \(.malformed.packets) \(.nopolicy.packets)"' <<<"$st")"
assert_eq "list -j: per-rule hits" "$(sort <<<"allow $A4/32 udp:5020=10
deny $A4/32 udp:5021=7")" "$(egr_hits "cgroup:$cgc")"
assert_match "list (text): hits column" "allow +$A4/32 +udp:5020 +10" "$("$EGR" list "cgroup:$cgc")"

# ---- a server in the cgroup answers clients no rule allows -------------------
cgs=$(cg_new server)
cgsid=$(stat -c %i "$cgs")
assert_rc "attach server (default deny, no rules)" 0 egr_attach "$cgs"
W=6
run_bg - "$T/srv4" cg_run "$cgs" "$PEER" tcp-recv $((HP + 3)) $W -e -r "$T/srv4.ready"
run_bg - "$T/srv6" cg_run "$cgs" "$PEER" tcp-recv -6 $((HP + 3)) $W -e -r "$T/srv6.ready"
wait_for 5 test -e "$T/srv4.ready" -a -e "$T/srv6.ready" || diag "servers not ready"
peer_bg "$NC" "$T/c-t4" tcp-recv 5040 $W
peer_bg "$NC" "$T/c-u4" udp-recv 5041 $W
assert_rc "client in ns C -> server in cgroup (v4): connect + echo" 0 \
	ip netns exec "$NC" "$PEER" tcp-send "$(host_ip4 "$NC")" $((HP + 3)) -l 20000 -t 4 -v
assert_eq "v4 client gets the whole echo" "connected
sent 20000 reply 20000" "$LAST_OUT"
assert_rc "client in ns C -> server in cgroup (v6): connect + echo" 0 \
	ip netns exec "$NC" "$PEER" tcp-send "$(host_ip6 "$NC")" $((HP + 3)) -l 20000 -t 4 -v
assert_eq "v6 client gets the whole echo" "connected
sent 20000 reply 20000" "$LAST_OUT"
assert_rc "server cgroup -> client address: tcp connect fails" 1 \
	cg_run "$cgs" "$PEER" tcp-send "$C4" 5040 -t 1.5
assert_eq "server cgroup -> client: connect refused at once" "connect: Connection refused" "$LAST_OUT"
assert_rc "server cgroup -> client address: udp fails" 1 cg_run "$cgs" "$PEER" udp-send "$C4" 5041 5
assert_eq "server v4 counted 1 conn, 20000 bytes" "1 20000" "$(wait_bg "$T/srv4")"
assert_eq "server v6 counted 1 conn, 20000 bytes" "1 20000" "$(wait_bg "$T/srv6")"
assert_eq "client ns receiver: outbound tcp from the cgroup 0 conns" "0 0" "$(wait_bg "$T/c-t4")"
assert_eq "client ns receiver: outbound udp from the cgroup 0" 0 "$(wait_bg "$T/c-u4")"
st=$(egr_status "$cgsid")
assert_range "server status: inbound packets counted" 1 100000 \
	"$(jq -r '.counters.inbound.packets' <<<"$st")"
assert_range "server status: outbound connect + udp denied" 6 100 \
	"$(jq -r '.counters.denied.packets' <<<"$st")"
assert_eq "server status: nothing allowed by policy" 0 "$(jq -r '.counters.allowed.packets' <<<"$st")"

e2e_done
