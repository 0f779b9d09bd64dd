#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Live edits while traffic flows, counted at the receiver: a UDP stream is
# switched off and on again mid-way by deny/remove/allow (receiver count ==
# datagrams the sender got through, hits and counters agree, nothing passes
# while it is off); an established TCP connection is cut by a live deny;
# edits act on the very next packet; remove takes out exactly one rule of
# several; a second attach changes nothing; edits to one cgroup leave
# another's policy alone. Every step waits for its event (the receiver has
# seen a datagram, the sender got EPERM), never for a time.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr jq

ALL_TESTS="test_stream_deny_then_remove test_stream_remove_then_allow test_next_packet_sees_edit
	test_tcp_cut_by_deny test_remove_one_of_several test_second_attach_idempotent
	test_other_cgroup_untouched"

egr_topology k11 2

# stream_snap NAME: "SENT ERRORS" of a stream now
stream_snap() { echo "$(stream_count "$1" sent) $(stream_count "$1" errors)"; }

# off_on N STREAM WORD OFF ON: the stream flows; `egressctl OFF` switches it
# off (refusals start, nothing gets through while it is WORD), `egressctl
# ON` on again (deliveries resume). SB: the sender's count while off.
off_on() {
	local n=$1 s=$2 word=$3 off=$4 on=$5 sa ea eb
	assert_true "stream $n: datagrams arrive before the edit" stream_wait "$s" rx 5
	assert_eq "stream $n: no refusal before the edit" 0 "$(stream_count "$s" errors)"
	# shellcheck disable=SC2086 # the words of OFF and ON are arguments
	assert_rc "mid-stream: $off" 0 "$EGR" $off
	assert_true "stream $n: some datagrams denied (EPERM)" stream_wait "$s" errors 1
	read -r sa ea <<<"$(stream_snap "$s")"
	stream_wait "$s" errors $((ea + 5))
	read -r SB eb <<<"$(stream_snap "$s")"
	diag "stream $n: $((eb - ea)) refused between the two looks"
	assert_eq "stream $n: nothing got through while $word" "$sa" "$SB"
	# shellcheck disable=SC2086
	assert_rc "mid-stream: $on" 0 "$EGR" $on
	assert_true "stream $n: some datagrams before and after" stream_wait "$s" sent $((SB + 5))
	stream_stop "$s"
	assert_eq "stream $n: receiver got exactly what the sender got through" "$STREAM_SENT" "$STREAM_RX"
}

# The /24 rule allows the stream; a /32 deny added mid-way wins (longer
# prefix), removing it lets the /24 rule decide again.
test_stream_deny_then_remove() {
	egr_new live
	assert_rc "live: allow $NET1.0/24 udp" 0 "$EGR" allow "$TGT" "$NET1.0/24" udp
	stream_start s1 "$A4" 6000 || return 1
	off_on 1 s1 denied "deny $TGT $A4 udp:6000" "remove $TGT $A4 udp:6000"
	assert_eq "stream 1: hits of the /24 rule = delivered" "$STREAM_RX" \
		"$(egr_hit "$TGT" "allow $NET1.0/24 udp")"
	assert_eq "stream 1: status allowed/denied = sent/errors" "$STREAM_SENT $STREAM_ERRORS" \
		"$(egr_status "$TID" | jq -r '"\(.counters.allowed.packets) \(.counters.denied.packets)"')"
	assert_eq "stream 1: the deny rule is gone" "allow $NET1.0/24 udp" "$(egr_rules "$TGT")"
}

test_stream_remove_then_allow() {
	local st0 st1
	egr_new live2
	assert_rc "live: allow $B4 udp:6001" 0 "$EGR" allow "$TGT" "$B4" udp:6001
	st0=$(egr_status "$TID")
	stream_start s2 "$B4" 6001 || return 1
	off_on 2 s2 removed "remove $TGT $B4 udp:6001" "allow $TGT $B4 udp:6001"
	st1=$(egr_status "$TID")
	assert_eq "stream 2: status allowed/denied grew by sent/errors" "$STREAM_SENT $STREAM_ERRORS" \
		"$(jq -r -n --argjson a "$st0" --argjson b "$st1" \
			'"\($b.counters.allowed.packets - $a.counters.allowed.packets) \($b.counters.denied.packets - $a.counters.denied.packets)"')"
	assert_eq "stream 2: the re-added rule counts exactly the datagrams after it" \
		$((STREAM_SENT - SB)) "$(egr_hit "$TGT" "allow $B4/32 udp:6001")"
}

# the next packet after an edit sees it
test_next_packet_sees_edit() {
	local bad=0 i
	egr_new next
	peer_bg "$NB" "$T/s3" udp-recv 6002 120 -b -p "$T/s3.p" || fail "receiver ready"
	for i in $(seq 20); do
		"$EGR" allow "$TGT" "$B4" udp:6002 || bad=$((bad + 1))
		cg_run "$TCG" "$PEER" udp-send "$B4" 6002 1 >/dev/null 2>&1 || bad=$((bad + 1))
		"$EGR" remove "$TGT" "$B4" udp:6002 || bad=$((bad + 1))
		cg_run "$TCG" "$PEER" udp-send "$B4" 6002 1 >/dev/null 2>&1 && bad=$((bad + 1))
	done
	assert_eq "20 x (allow, send ok, remove, send EPERM): no miss" 0 "$bad"
	# a fence from outside the cgroup: once it is counted, so is all before it
	"$PEER" udp-send "$B4" 6002 1 -l 1 >/dev/null
	wait_for 15 sh -c '[ "$(cat "$1")" -ge 21 ]' sh "$T/s3.p"
	_kill_tree TERM "$(cat "$T/s3.pid")"
	assert_eq "edit/send loop: receiver got exactly the 20 allowed (+ the fence)" "21 1281" \
		"$(wait_bg "$T/s3")"
}

# an established TCP connection is cut by a live deny
test_tcp_cut_by_deny() {
	local k held rc
	egr_new tcpcut
	assert_rc "live: allow $A4 tcp:6010" 0 "$EGR" allow "$TGT" "$A4" tcp:6010
	peer_bg "$NA" "$T/h" tcp-recv 6010 120 -p "$T/h.p" || fail "receiver ready"
	run_bg - "$T/hold" cg_run "$TCG" "$PEER" tcp-connect-hold "$A4" 6010 60 -p "$T/hold.p"
	assert_true "held connection: messages acknowledged before the deny" \
		wait_for 30 sh -c '[ "$(cat "$1" 2>/dev/null || echo 0)" -ge 3 ]' sh "$T/hold.p"
	k=$(cat "$T/hold.p")
	assert_rc "mid-connection: deny $A4 tcp:6010" 0 "$EGR" deny "$TGT" "$A4" tcp:6010
	held=$(wait_bg "$T/hold" 30)
	rc=$?
	# it ends by itself, long before its 60 s: the next message is not acked
	assert_eq "held connection stops with an error" 1 "$rc"
	assert_match "held connection: messages no longer acknowledged" "not acknowledged" \
		"$(cat "$T/hold.err")"
	assert_range "held connection: every message acknowledged before the deny counted" "$k" 1000 "$held"
	wait_for 15 sh -c '[ "$(cat "$1")" = "1 $2" ]' sh "$T/h.p" $((held * 16))
	_kill_tree TERM "$(cat "$T/h.pid")"
	assert_eq "receiver got exactly the acknowledged messages" "1 $((held * 16))" "$(wait_bg "$T/h")"
	assert_range "deny rule counts the dropped segments" 1 1000 \
		"$(egr_hit "$TGT" "deny $A4/32 tcp:6010")"
}

test_remove_one_of_several() {
	local ok=1 before after
	egr_new several
	"$EGR" allow "$TGT" "$B4" udp:6020 udp:6021 tcp:6022 udp:6023-6024 || ok=0
	"$EGR" allow "$TGT" "$B6" udp:6020 || ok=0
	assert_eq "live: several rules for B" 1 "$ok"
	before=$("$EGR" list "$TGT" -j | jq -r '.[0].rules[] | "\(.action) \(.dest) \(.ports) id=\(.id)"' | sort)
	assert_rc "remove $B4 udp:6021" 0 "$EGR" remove "$TGT" "$B4" udp:6021
	after=$("$EGR" list "$TGT" -j | jq -r '.[0].rules[] | "\(.action) \(.dest) \(.ports) id=\(.id)"' | sort)
	assert_eq "exactly that rule is gone, the others keep their ids" \
		"$(grep -v "^allow $B4/32 udp:6021 " <<<"$before")" "$after"
	assert_eq "before had that rule" 1 "$(grep -c "^allow $B4/32 udp:6021 " <<<"$before")"
	assert_rc "remove $B4 udp:6023 (inside a range rule) fails" 1 "$EGR" remove "$TGT" "$B4" udp:6023
	assert_match "remove of a rule not in force: no such rule" "no such rule" "$LAST_ERR"
	assert_rc "remove $B4 udp (no such rule) fails" 1 "$EGR" remove "$TGT" "$B4" udp
	assert_eq "failed removes changed nothing" "$after" \
		"$("$EGR" list "$TGT" -j | jq -r '.[0].rules[] | "\(.action) \(.dest) \(.ports) id=\(.id)"' | sort)"
	expect_udp pass "$B4" 6020 -m "kept rule udp:6020"
	expect_udp drop "$B4" 6021 -m "removed rule udp:6021"
	expect_tcp pass "$B4" 6022 -l 500 -m "kept rule tcp:6022"
	expect_udp pass "$B4" 6023 -m "kept rule udp:6023-6024"
	expect_udp pass "$B6" 6020 -m "kept rule v6 udp:6020"
}

# a second attach is idempotent
test_second_attach_idempotent() {
	local rules_before progs_before
	egr_new twice
	assert_rc "live: a few rules" 0 sh -c '"$1" allow "$2" "$3" udp:6030 tcp:6032 && "$1" deny "$2" "$4"' \
		sh "$EGR" "$TGT" "$B4" "$NET1.0/24"
	rules_before=$(egr_rules "$TGT")
	progs_before=$(bpftool cgroup show "$TCG" -j | jq -r '.[] | "\(.id) \(.attach_type) \(.name)"' | sort)
	assert_eq "one egr_egress before" 1 "$(grep -c ' cgroup_inet_egress egr_egress$' <<<"$progs_before")"
	assert_rc "second attach succeeds" 0 "$EGR" attach "$TGT"
	assert_match "second attach says already attached" "^already attached to " "$LAST_OUT"
	assert_rc "third attach succeeds" 0 "$EGR" attach "$TGT"
	assert_eq "bpftool cgroup show: the same single egr_egress/egr_sockops" "$progs_before" \
		"$(bpftool cgroup show "$TCG" -j | jq -r '.[] | "\(.id) \(.attach_type) \(.name)"' | sort)"
	assert_eq "bpftool cgroup show lists exactly one egr_egress" 1 \
		"$(bpftool cgroup show "$TCG" | grep -c egr_egress)"
	assert_eq "second attach keeps the rules" "$rules_before" "$(egr_rules "$TGT")"
	assert_rc "attach --default allow on an attached cgroup" 0 "$EGR" attach "$TGT" --default allow
	assert_eq "default is now allow, rules kept" "allow
$rules_before" "$("$EGR" list "$TGT" -j | jq -r '.[0].default'; egr_rules "$TGT")"
	expect_udp pass "$B4" 6031 -m "default allow"
	assert_rc "attach --default deny restores" 0 "$EGR" attach "$TGT" --default deny
	expect_udp drop "$B4" 6031 -m "default deny again"
	assert_eq "still exactly one egr_egress" 1 "$(bpftool cgroup show "$TCG" | grep -c egr_egress)"
}

# edits to one cgroup leave another's policy alone
test_other_cgroup_untouched() {
	local other otherid before status_before
	egr_new other
	other=$TCG otherid=$TID
	assert_rc "other: allow A udp:6040, deny A's /24" 0 sh -c \
		'"$1" allow "$2" "$3" udp:6040 && "$1" deny "$2" "$4"' sh "$EGR" "$TGT" "$A4" "$NET1.0/24"
	before=$("$EGR" list "$TGT" -j | jq -c '.[0]')
	status_before=$(egr_status "$otherid" | jq -c '{rules, prefixes_v4, prefixes_v6, default, counters}')
	egr_new edited
	assert_rc "edits to another cgroup: allow, deny, remove, apply, attach --default" 0 sh -c '
		"$1" allow "$2" "$3.0/24" udp && "$1" deny "$2" "$4" udp:6000 &&
		"$1" allow "$2" "$5" udp:6020 tcp:6022 && "$1" remove "$2" "$4" udp:6000 &&
		printf "default: deny\nrules:\n  - allow: %s\n    ports: [udp:6020]\n" "$5" |
			"$1" apply "$2" -f /dev/stdin && "$1" attach "$2" --default allow' \
		sh "$EGR" "$TGT" "$NET1" "$A4" "$B4"
	assert_eq "other: list -j unchanged by all edits to the other cgroup" "$before" \
		"$("$EGR" list "cgroup:$other" -j | jq -c '.[0]')"
	assert_eq "other: status unchanged (rules, prefixes, default, counters)" "$status_before" \
		"$(egr_status "$otherid" | jq -c '{rules, prefixes_v4, prefixes_v6, default, counters}')"
	expect_from "$other"
	expect_udp pass "$A4" 6040 -m "other: its /32 allow still works"
	expect_udp drop "$A4" 6000 -m "other: the edited cgroup's /24 udp allow does not apply"
	expect_udp drop "$B4" 6020 -m "other: the edited cgroup's B rules do not apply"
	assert_eq "other: hits 10 on its allow, 10 on its /24 deny" "$(sort <<<"allow $A4/32 udp:6040=10
deny $NET1.0/24 any=10")" "$(egr_hits "cgroup:$other")"
}

run_tests
