#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The socket hooks (connect4/6, sendmsg4/6): a denied TCP connect() fails at
# once with ECONNREFUSED (EPERM with the test hook EGRESSCTL_TEST_NO_SET_RETVAL,
# as on kernels without bpf_set_retval) and no SYN reaches the receiver
# (counted there with AF_PACKET); a denied UDP sendto() fails with EPERM and
# nothing arrives, a UDP connect() (it sends nothing) succeeds and its first
# send() fails with EPERM; IPv6 and ::ffff:a.b.c.d from an AF_INET6
# socket alike; what curl, GNU and busybox wget and Python print (the
# README's table); the egress program as the backstop: a policy changed
# under an established connection, a socket from before attach, a connected
# UDP socket sending with an IP_TTL cmsg (the hook sees no address); the
# events of packets egress drops name the process that connected.
# Needs jq, curl, wget, busybox, python3.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # functions run from traps and assert_rc
set -u
export LC_ALL=C
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init
need_egr
command -v jq >/dev/null || bail "jq missing (apt-get install jq)"
# shellcheck source=tests/e2e/egr_lib.sh
. "$(dirname "$0")/egr_lib.sh"
SP=${EGR_TESTBIN:-$E2E_ROOT/build/tests}/sockprobe
[ -x "$SP" ] || bail "helper $SP missing (make test-build)"

pick_nets 1
S=${E2E_ID:2:6}
NA=k16a$S
netns_up "$NA" "$NET1.2/24" "$NET6_1::2/64"
A4=$(ns_ip4 "$NA") A6=$(ns_ip6 "$NA")
T=$E2E_TMP

cg=$(cg_new sock)
cgid=$(stat -c %i "$cg")
CG=cgroup:$cg
assert_rc "attach (default deny)" 0 egr_attach "$cg"
cge=$(cg_new eperm)
assert_rc "attach with the test hook EGRESSCTL_TEST_NO_SET_RETVAL=1" 0 \
	env EGRESSCTL_TEST_NO_SET_RETVAL=1 "$EGR" attach "cgroup:$cge"
echo "$cge $(stat -c %i "$cge")" >>"$E2E_TMP/.attached"

# sniff NAME PROTO PORT [-s]: count what reaches A on PROTO/PORT (AF_PACKET)
sniff() {
	run_bg "$NA" "$T/$1" "$SP" sniff "$2" "$3" 30 -r "$T/$1.ready" "${@:4}"
	wait_for 5 test -e "$T/$1.ready" || diag "sniffer $1 not ready"
}
sniffed() {
	_kill_tree TERM "$(cat "$T/$1.pid")"
	wait_bg "$T/$1" 5
}
refused() { # NAME CGROUP WANT ARGS...: one sockprobe call, its output
	local name=$1 c=$2 want=$3
	shift 3
	assert_rc "$name: call fails" 1 cg_run "$c" "$SP" "$@" -t 5
	assert_eq "$name: $want" "$want" "$LAST_OUT"
}
ECONN="ECONNREFUSED: Connection refused"
EPERM="EPERM: Operation not permitted"

# ---- 1. denied TCP: refused at once, no SYN leaves ---------------------------
peer_bg "$NA" "$T/t1" tcp-recv 7001 8
peer_bg "$NA" "$T/t1v6" tcp-recv -6 7001 8
sniff syn1 tcp 7001 -s
refused "tcp v4 to a listener, default deny" "$cg" "$ECONN" connect tcp "$A4" 7001
refused "tcp v6" "$cg" "$ECONN" connect tcp "$A6" 7001
refused "tcp ::ffff:$A4 from an AF_INET6 socket" "$cg" "$ECONN" connect tcp "$A4" 7001 -6
refused "test hook: tcp v4 gets EPERM" "$cge" "$EPERM" connect tcp "$A4" 7001
refused "test hook: tcp v6 gets EPERM" "$cge" "$EPERM" connect tcp "$A6" 7001
assert_eq "receiver: no SYN arrived" 0 "$(sniffed syn1)"
st=$(egr_status "$cgid")
assert_eq "status: 3 refused, counted as 3 denied of 0 bytes" "3 3 0" \
	"$(jq -r '"\(.counters.refused.packets) \(.counters.denied.packets) \(.counters.denied.bytes)"' <<<"$st")"

# allowed: the same calls go through (the listener counts them)
assert_rc "allow $A4 tcp:7001, $A6 tcp:7001" 0 "$EGR" allow "$CG" "$A4" tcp:7001
"$EGR" allow "$CG" "$A6" tcp:7001
sniff syn2 tcp 7001 -s
assert_rc "allowed tcp v4 connects" 0 cg_run "$cg" "$SP" connect tcp "$A4" 7001
assert_rc "allowed tcp ::ffff:$A4 connects" 0 cg_run "$cg" "$SP" connect tcp "$A4" 7001 -6
assert_rc "allowed tcp v6 connects" 0 cg_run "$cg" "$SP" connect tcp "$A6" 7001
assert_rc "port 7002 of the same address: refused" 1 cg_run "$cg" "$SP" connect tcp "$A4" 7002
assert_eq "receiver: 3 SYNs (the allowed connects)" 3 "$(sniffed syn2)"
assert_eq "listener v4: 2 connections, 1 byte each" "2 2" "$(wait_bg "$T/t1")"
assert_eq "listener v6: 1 connection" "1 1" "$(wait_bg "$T/t1v6")"

# ---- 2. denied UDP: EPERM from connect() and sendto() ------------------------
peer_bg "$NA" "$T/u1" udp-recv 7003 8
sniff udp1 udp 7003
refused "udp connect v4 (sends nothing: let be), then send(): EPERM at egress" "$cg" \
	"send $EPERM" connect udp "$A4" 7003
refused "udp sendto v4" "$cg" "$EPERM" sendto udp "$A4" 7003
refused "udp sendto ::ffff:$A4 (sendmsg4 on an AF_INET6 socket)" "$cg" "$EPERM" \
	sendto udp "$A4" 7003 -6
refused "udp sendto v6" "$cg" "$EPERM" sendto udp "$A6" 7003
refused "test hook: udp sendto EPERM as well" "$cge" "$EPERM" sendto udp "$A4" 7003
assert_rc "allow $A4 udp:7003" 0 "$EGR" allow "$CG" "$A4" udp:7003
assert_rc "allowed udp sendto" 0 cg_run "$cg" "$SP" sendto udp "$A4" 7003
assert_rc "allowed udp sendto ::ffff:$A4" 0 cg_run "$cg" "$SP" sendto udp "$A4" 7003 -6
assert_eq "receiver: only the 2 allowed datagrams" 2 "$(sniffed udp1)"
assert_eq "udp listener: 2" 2 "$(wait_bg "$T/u1" 10)"

# ---- 3. what applications print (README, "Denied connections") ---------------
U=http://$A4:7009/
out=$(cg_run "$cg" curl -sS "$U" 2>&1)
assert_eq "curl: exit 7" 7 $?
assert_match "curl: Couldn't connect to server" \
	"^curl: \\(7\\) Failed to connect to $A4 port 7009 after [0-9]+ ms: Couldn't connect to server\$" "$out"
assert_match "curl -v: Connection refused" "Immediate connect fail for $A4: Connection refused" \
	"$(cg_run "$cg" curl -sv "$U" 2>&1)"
assert_match "curl -v, test hook: Operation not permitted" \
	"Immediate connect fail for $A4: Operation not permitted" "$(cg_run "$cge" curl -sv "$U" 2>&1)"
out=$(cg_run "$cg" wget -t 3 -O /dev/null "$U" 2>&1)
assert_eq "GNU wget: exit 4" 4 $?
assert_match "GNU wget: failed: Connection refused. (not retried)" \
	"Connecting to $A4:7009\\.\\.\\. failed: Connection refused\\." "$out"
assert_eq "GNU wget: one attempt despite -t 3" 1 "$(grep -c 'Connecting to' <<<"$out")"
out=$(cg_run "$cge" wget -t 2 -w 0 -O /dev/null "$U" 2>&1)
assert_match "GNU wget, test hook: Operation not permitted, retried" \
	"failed: Operation not permitted\\..*Retrying" "$(tr '\n' ' ' <<<"$out")"
if command -v busybox >/dev/null; then
	assert_eq "busybox wget" "wget: can't connect to remote host ($A4): Connection refused" \
		"$(cg_run "$cg" busybox wget -O /dev/null "$U" 2>&1 | tail -1)"
fi
py='import socket,sys
try:
    socket.create_connection((sys.argv[1], 7009), timeout=5)
except OSError as e:
    print(type(e).__name__, e)'
assert_eq "python3: ConnectionRefusedError" "ConnectionRefusedError [Errno 111] Connection refused" \
	"$(cg_run "$cg" python3 -c "$py" "$A4")"
assert_eq "python3, test hook: PermissionError" "PermissionError [Errno 1] Operation not permitted" \
	"$(cg_run "$cge" python3 -c "$py" "$A4")"

# ---- 4. the packet filter stays the backstop ----------------------------------
# a policy changed under an established connection: egress drops its packets
peer_bg "$NA" "$T/h1" tcp-recv 7001 10
run_bg - "$T/hold" cg_run "$cg" "$PEER" tcp-connect-hold "$A4" 7001 6
sleep 0.5
run_bg - "$T/ev" "$EGR" events "$CG" -j --count 1 --timeout 10
ev_on() {
	[ "$(bpftool -j map lookup pinned "$EGR_PINS/$cgid/egr_evcfg" key 0 0 0 0 2>/dev/null |
		jq -r .formatted.value.enabled)" = 1 ]
}
wait_for 5 ev_on || diag "events reader not up"
d0=$(egr_status "$cgid" | jq -r '.counters.refused.packets')
assert_rc "remove the tcp:7001 rule under the connection" 0 "$EGR" remove "$CG" "$A4" tcp:7001
held=$(wait_bg "$T/hold" 10)
assert_eq "the held connection stops being acknowledged (egress drops it)" 1 "$?"
assert_range "... after a few messages" 1 20 "$held"
assert_eq "its dropped segment's event names the process that connected (socket storage)" \
	"packet peer true tcp $A4 7001 denied default" \
	"$(wait_bg "$T/ev" 10 | jq -r '"\(.hook) \(.comm) \(.pid > 1) \(.proto) \(.dst) \(.dport) \(.verdict) \(.rule)"')"
st=$(egr_status "$cgid")
assert_range "egress counted its dropped segments as denied packets of >0 bytes" 1 1000000 \
	"$(jq -r '.counters.denied.bytes' <<<"$st")"
assert_eq "... and no refused call (no connect() was made)" "$d0" \
	"$(jq -r '.counters.refused.packets' <<<"$st")"

# a connected UDP socket sending with an IP_TTL cmsg: the hook gets no
# address (AF_UNSPEC) and lets it be; egress judges the datagram
peer_bg "$NA" "$T/u2" udp-recv 7003 8
assert_rc "allowed: connect, then sendmsg with IP_TTL" 0 \
	cg_run "$cg" "$SP" cmsg "$A4" 7003 /dev/null
run_bg - "$T/cm" cg_run "$cg" "$SP" cmsg "$A4" 7003 "$T/go"
wait_for 3 grep -q connected "$T/cm"
assert_rc "remove udp:7003 after the connect" 0 "$EGR" remove "$CG" "$A4" udp:7003
touch "$T/go"
assert_eq "then denied: sendmsg gets EPERM from egress" "connected
$EPERM" "$(wait_bg "$T/cm" 10)"
assert_eq "udp listener: only the allowed datagram" 1 "$(wait_bg "$T/u2" 10)"

# a socket from before attach: no hook ran for its connect(); egress judges
cgb=$(cg_new before)
peer_bg "$NA" "$T/h2" tcp-recv 7005 10
run_bg - "$T/hold2" cg_run "$cgb" "$PEER" tcp-connect-hold "$A4" 7005 5
sleep 0.5
assert_rc "attach under an established connection" 0 egr_attach "$cgb"
held=$(wait_bg "$T/hold2" 10)
assert_eq "the connection from before attach is cut (egress drops it)" 1 "$?"

e2e_done
