#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The socket hooks (connect4/6, sendmsg4/6): a denied TCP connect() fails at
# once with ECONNREFUSED (EPERM with the test hook EGRESSCTL_TEST_NO_SET_RETVAL,
# as on kernels without bpf_set_retval) and no SYN reaches the receiver
# (counted there with AF_PACKET); a denied UDP sendto() fails with EPERM and
# nothing arrives, a UDP connect() (it sends nothing) succeeds and its first
# send() fails with EPERM; IPv6 and ::ffff:a.b.c.d from an AF_INET6 socket
# alike; what curl, GNU and busybox wget and Python print (the README's
# table); the egress program as the backstop: a policy changed under an
# established connection (its event names the process that connected), a
# socket from before attach, a connected UDP socket sending with an IP_TTL
# cmsg (the hook sees no address); an attach that puts a policy in force
# (the OCI hook; watch alike) never shows a connect() the empty policy of
# the new instance: no refusal while a process connects through it.
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr jq bpftool curl wget python3

ALL_TESTS="test_tcp_refused test_udp_refused test_client_wording test_backstop_policy_change
	test_backstop_cmsg test_backstop_before_attach test_attach_whole"

SP=${EGR_TESTBIN:-$E2E_ROOT/build/tests}/sockprobe
[ -x "$SP" ] || bail "helper $SP missing (make test-build)"
egr_topology k16 1
ECONN="ECONNREFUSED: Connection refused"
EPERM="EPERM: Operation not permitted"

# sniff NAME PROTO PORT [-s]: count what reaches A on PROTO/PORT (AF_PACKET;
# -s: TCP SYNs only), until sniffed NAME
sniff() {
	run_bg "$NA" "$T/$1" "$SP" sniff "$2" "$3" 120 -r "$T/$1.ready" "${@:4}"
	wait_for 15 test -e "$T/$1.ready" || fail "sniffer $1 ready"
}
sniffed() {
	_kill_tree TERM "$(cat "$T/$1.pid")"
	wait_bg "$T/$1" 15
}
# refused NAME CGROUP WANT ARGS...: one sockprobe call that must fail, with
# WANT as its output
refused() {
	local name=$1 c=$2 want=$3
	shift 3
	assert_rc "$name: call fails" 1 cg_run "$c" "$SP" "$@" -t 5
	assert_eq "$name: $want" "$want" "$LAST_OUT"
}
# eperm_new NAME: a cgroup attached with the test hook (EPERM, as before 6.1)
eperm_new() {
	ECG=$CGROOT/egr-e2e-$E2E_ID-$1
	mkdir "$ECG" || bail "mkdir $ECG"
	echo "$ECG" >>"$E2E_TMP/.cgroups"
	assert_rc "attach $1 with EGRESSCTL_TEST_NO_SET_RETVAL=1" 0 \
		env EGRESSCTL_TEST_NO_SET_RETVAL=1 "$EGR" attach "cgroup:$ECG"
	echo "$ECG $(stat -c %i "$ECG")" >>"$E2E_TMP/.attached"
}

# denied TCP: refused at once, no SYN leaves; allowed: goes through
test_tcp_refused() {
	egr_new tcp
	eperm_new tcpe
	peer_bg "$NA" "$T/t1" tcp-recv 7001 120 -n 2
	peer_bg "$NA" "$T/t1v6" tcp-recv -6 7001 120 -n 1
	sniff syn1 tcp 7001 -s
	refused "tcp v4 to a listener, default deny" "$TCG" "$ECONN" connect tcp "$A4" 7001
	refused "tcp v6" "$TCG" "$ECONN" connect tcp "$A6" 7001
	refused "tcp ::ffff:$A4 from an AF_INET6 socket" "$TCG" "$ECONN" connect tcp "$A4" 7001 -6
	refused "test hook: tcp v4 gets EPERM" "$ECG" "$EPERM" connect tcp "$A4" 7001
	refused "test hook: tcp v6 gets EPERM" "$ECG" "$EPERM" connect tcp "$A6" 7001
	assert_eq "receiver: no SYN arrived" 0 "$(sniffed syn1)"
	assert_eq "status: 3 refused, counted as 3 denied of 0 bytes" "3 3 0" \
		"$(egr_status "$TID" | jq -r '"\(.counters.refused.packets) \(.counters.denied.packets) \(.counters.denied.bytes)"')"
	assert_rc "allow $A4 and $A6 tcp:7001" 0 sh -c \
		'"$1" allow "$2" "$3" tcp:7001 && "$1" allow "$2" "$4" tcp:7001' sh "$EGR" "$TGT" "$A4" "$A6"
	sniff syn2 tcp 7001 -s
	assert_rc "allowed tcp v4 connects" 0 cg_run "$TCG" "$SP" connect tcp "$A4" 7001
	assert_rc "allowed tcp ::ffff:$A4 connects" 0 cg_run "$TCG" "$SP" connect tcp "$A4" 7001 -6
	assert_rc "allowed tcp v6 connects" 0 cg_run "$TCG" "$SP" connect tcp "$A6" 7001
	refused "port 7002 of the same address" "$TCG" "$ECONN" connect tcp "$A4" 7002
	assert_eq "listener v4: 2 connections, 1 byte each" "2 2" "$(wait_bg "$T/t1" 30)"
	assert_eq "listener v6: 1 connection" "1 1" "$(wait_bg "$T/t1v6" 30)"
	assert_eq "receiver: 3 SYNs (the allowed connects)" 3 "$(sniffed syn2)"
}

# denied UDP: EPERM from sendto(); connect() is let be, its send() is not
test_udp_refused() {
	egr_new udp
	eperm_new udpe
	peer_bg "$NA" "$T/u1" udp-recv 7003 120 -n 2
	sniff udp1 udp 7003
	refused "udp connect v4 (sends nothing: let be), then send(): EPERM at egress" "$TCG" \
		"send $EPERM" connect udp "$A4" 7003
	refused "udp sendto v4" "$TCG" "$EPERM" sendto udp "$A4" 7003
	refused "udp sendto ::ffff:$A4 (sendmsg4 on an AF_INET6 socket)" "$TCG" "$EPERM" \
		sendto udp "$A4" 7003 -6
	refused "udp sendto v6" "$TCG" "$EPERM" sendto udp "$A6" 7003
	refused "test hook: udp sendto EPERM as well" "$ECG" "$EPERM" sendto udp "$A4" 7003
	assert_rc "allow $A4 udp:7003" 0 "$EGR" allow "$TGT" "$A4" udp:7003
	assert_rc "allowed udp sendto" 0 cg_run "$TCG" "$SP" sendto udp "$A4" 7003
	assert_rc "allowed udp sendto ::ffff:$A4" 0 cg_run "$TCG" "$SP" sendto udp "$A4" 7003 -6
	assert_eq "udp listener: the 2 allowed datagrams" 2 "$(wait_bg "$T/u1" 30)"
	assert_eq "receiver: only the 2 allowed datagrams" 2 "$(sniffed udp1)"
}

# what applications print (README, "Denied connections")
test_client_wording() {
	local u=http://$A4:7009/ out rc py
	egr_new cli
	eperm_new clie
	out=$(cg_run "$TCG" curl -sS "$u" 2>&1)
	rc=$?
	assert_eq "curl: exit 7" 7 "$rc"
	assert_match "curl: Couldn't connect to server" \
		"^curl: \\(7\\) Failed to connect to $A4 port 7009 after [0-9]+ ms: Couldn't connect to server\$" "$out"
	assert_match "curl -v: Connection refused" "Immediate connect fail for $A4: Connection refused" \
		"$(cg_run "$TCG" curl -sv "$u" 2>&1)"
	assert_match "curl -v, test hook: Operation not permitted" \
		"Immediate connect fail for $A4: Operation not permitted" "$(cg_run "$ECG" curl -sv "$u" 2>&1)"
	out=$(cg_run "$TCG" wget -t 3 -O /dev/null "$u" 2>&1)
	rc=$?
	assert_eq "GNU wget: exit 4" 4 "$rc"
	assert_match "GNU wget: failed: Connection refused." \
		"Connecting to $A4:7009\\.\\.\\. failed: Connection refused\\." "$out"
	assert_eq "GNU wget: one attempt despite -t 3 (not retried)" 1 "$(grep -c 'Connecting to' <<<"$out")"
	out=$(cg_run "$ECG" wget -t 2 -w 0 -O /dev/null "$u" 2>&1)
	assert_match "GNU wget, test hook: Operation not permitted, retried" \
		"failed: Operation not permitted\\..*Retrying" "$(tr '\n' ' ' <<<"$out")"
	if command -v busybox >/dev/null; then
		assert_eq "busybox wget" "wget: can't connect to remote host ($A4): Connection refused" \
			"$(cg_run "$TCG" busybox wget -O /dev/null "$u" 2>&1 | tail -1)"
	fi
	py='import socket,sys
try:
    socket.create_connection((sys.argv[1], 7009), timeout=5)
except OSError as e:
    print(type(e).__name__, e)'
	assert_eq "python3: ConnectionRefusedError" "ConnectionRefusedError [Errno 111] Connection refused" \
		"$(cg_run "$TCG" python3 -c "$py" "$A4")"
	assert_eq "python3, test hook: PermissionError" "PermissionError [Errno 1] Operation not permitted" \
		"$(cg_run "$ECG" python3 -c "$py" "$A4")"
}

ev_on() {
	[ "$(bpftool -j map lookup pinned "$EGR_PINS/$1/egr_evcfg" key 0 0 0 0 2>/dev/null |
		jq -r .formatted.value.enabled)" = 1 ]
}
# acked FILE N: a tcp-connect-hold's progress file says N messages acknowledged
acked() {
	local n=0
	read -r n <"$1" 2>/dev/null
	[ "${n:-0}" -ge "$2" ]
}

# a policy changed under an established connection: egress drops its
# packets, and their event names the process that connected
test_backstop_policy_change() {
	local held r0 st
	egr_new change
	assert_rc "allow $A4 tcp:7001" 0 "$EGR" allow "$TGT" "$A4" tcp:7001
	peer_bg "$NA" "$T/h1" tcp-recv 7001 120 -n 1
	run_bg - "$T/hold" cg_run "$TCG" "$PEER" tcp-connect-hold "$A4" 7001 60 -p "$T/hold.p"
	assert_true "the connection is up (its first message acknowledged)" \
		wait_for 30 acked "$T/hold.p" 1
	run_bg - "$T/ev" "$EGR" events "$TGT" -j --count 1 --timeout 60
	assert_true "events reader up" wait_for 15 ev_on "$TID"
	r0=$(egr_status "$TID" | jq -r '.counters.refused.packets')
	assert_rc "remove the tcp:7001 rule under the connection" 0 "$EGR" remove "$TGT" "$A4" tcp:7001
	held=$(wait_bg "$T/hold" 60)
	assert_eq "the held connection stops being acknowledged (egress drops it)" 1 "$?"
	assert_range "... after a few messages" 1 1000 "$held"
	assert_eq "its dropped segment's event names the process that connected (socket storage)" \
		"packet peer true tcp $A4 7001 denied default" \
		"$(wait_bg "$T/ev" 30 | jq -r '"\(.hook) \(.comm) \(.pid > 1) \(.proto) \(.dst) \(.dport) \(.verdict) \(.rule)"')"
	st=$(egr_status "$TID")
	assert_range "egress counted its dropped segments as denied packets of >0 bytes" 1 1000000 \
		"$(jq -r '.counters.denied.bytes' <<<"$st")"
	assert_eq "... and no refused call (no connect() was made)" "$r0" \
		"$(jq -r '.counters.refused.packets' <<<"$st")"
}

# a connected UDP socket sending with an IP_TTL cmsg: the hook gets no
# address (AF_UNSPEC) and lets it be; egress judges the datagram
test_backstop_cmsg() {
	egr_new cmsg
	assert_rc "allow $A4 udp:7003" 0 "$EGR" allow "$TGT" "$A4" udp:7003
	peer_bg "$NA" "$T/u2" udp-recv 7003 120 -n 1
	assert_rc "allowed: connect, then sendmsg with IP_TTL" 0 \
		cg_run "$TCG" "$SP" cmsg "$A4" 7003 /dev/null
	assert_eq "udp listener: the allowed datagram" 1 "$(wait_bg "$T/u2" 30)"
	sniff udp2 udp 7003
	run_bg - "$T/cm" cg_run "$TCG" "$SP" cmsg "$A4" 7003 "$T/go" -t 60
	assert_true "connected" wait_for 30 grep -q connected "$T/cm"
	assert_rc "remove udp:7003 after the connect" 0 "$EGR" remove "$TGT" "$A4" udp:7003
	touch "$T/go"
	assert_eq "then denied: sendmsg gets EPERM from egress" "connected
$EPERM" "$(wait_bg "$T/cm" 60)"
	assert_eq "receiver: nothing arrived" 0 "$(sniffed udp2)"
}

# a socket from before attach: no hook ran for its connect(); egress judges
test_backstop_before_attach() {
	local cg
	cg=$(cg_new before)
	peer_bg "$NA" "$T/h2" tcp-recv 7005 120 -n 1
	run_bg - "$T/hold2" cg_run "$cg" "$PEER" tcp-connect-hold "$A4" 7005 60 -p "$T/hold2.p"
	assert_true "the connection is up" wait_for 30 acked "$T/hold2.p" 1
	assert_rc "attach under an established connection" 0 egr_attach "$cg"
	wait_bg "$T/hold2" 60 >/dev/null
	assert_eq "the connection from before attach is cut (egress drops it)" 1 "$?"
}

# A process connecting in a loop (every 200 us) to an allowed address while
# the hook attaches the container's policy and it is detached again, 40
# times: not one connect() refused. (Attached before its policy was filled
# in, a new instance refused connect()s for a moment: measured, 4 refused
# in 20 attaches.)
test_attach_whole() {
	local c i st out
	c=$CGROOT/egr-e2e-$E2E_ID-whole
	mkdir "$c" || bail "mkdir $c"
	echo "$c" >>"$E2E_TMP/.cgroups"
	peer_bg "$NA" "$T/w1" tcp-recv 7021 120 || fail "receiver on 7021"
	run_bg - "$T/wsleep" cg_run "$c" sleep 120
	wait_for 10 grep -q . "$c/cgroup.procs" || fail "a process in $c"
	st=$(printf '{"ociVersion": "1.0.2", "id": "egr-e2e-%s-whole", "status": "creating", "pid": %s, "bundle": "/nonexistent", "annotations": {"egressctl.allow": "%s tcp:7021"}}' \
		"$E2E_ID" "$(head -1 "$c/cgroup.procs")" "$A4")
	run_bg - "$T/wloop" cg_run "$c" "$SP" loop "$A4" 7021 600 -r "$T/wloop.ready"
	wait_for 10 test -e "$T/wloop.ready" || fail "the connect loop starts"
	for ((i = 0; i < 40; i++)); do
		"$EGR" hook <<<"$st" >/dev/null 2>"$T/whook.err" || break
		"$EGR" detach "cgroup:$c" >/dev/null 2>&1 || break
	done
	assert_eq "40 times: the hook attached the policy, detach removed it" 40 "$i"
	assert_rc "the connect loop ran through all of them" 0 kill -0 "$(cat "$T/wloop.pid")"
	_kill_tree TERM "$(cat "$T/wloop.pid")"
	out=$(wait_bg "$T/wloop" 15)
	assert_match "the connect loop: not one connect() refused or failed ($out)" \
		'^ok [1-9][0-9]* refused 0 eperm 0 other 0$' "$out"
}

run_tests
