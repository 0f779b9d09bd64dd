#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Live edits while traffic flows, counted at the receiver: a UDP stream is
# switched off and on again mid-way by deny/remove/allow (receiver count ==
# datagrams the sender got through, hits and counters agree); an
# established TCP connection is cut by a live deny; edits act on the very
# next packet; remove takes out exactly one rule of several; a second
# attach changes nothing; edits to one cgroup leave another's policy alone.
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

# recv_stop OUT: a receiver whose sender is done gets 0.5 s more, then
# SIGTERM (it prints what it counted); saves waiting out its window.
recv_stop() {
	sleep 0.5
	_kill_tree TERM "$(cat "$1.pid")"
}

# ---- topology ----------------------------------------------------------------
pick_nets 2
S=${E2E_ID:2:6}
NA=k11a$S NB=k11b$S
netns_up "$NA" "$NET1.2/24" "$NET6_1::2/64"
netns_up "$NB" "$NET2.2/24" "$NET6_2::2/64"
A4=$(ns_ip4 "$NA") B4=$(ns_ip4 "$NB") B6=$(ns_ip6 "$NB")
T=$E2E_TMP

cg=$(cg_new live)
cgid=$(stat -c %i "$cg")
CG=cgroup:$cg
cgo=$(cg_new other)
cgoid=$(stat -c %i "$cgo")
CGO=cgroup:$cgo

assert_rc "attach live" 0 egr_attach "$cg"
assert_rc "attach other" 0 egr_attach "$cgo"
assert_rc "other: allow A udp:6040, deny A's /24" 0 sh -c \
	'"$1" allow "$2" "$3" udp:6040 && "$1" deny "$2" "$4"' sh "$EGR" "$CGO" "$A4" "$NET1.0/24"
other_before=$("$EGR" list "$CGO" -j | jq -c '.[0]')
other_status_before=$(egr_status "$cgoid" | jq -c '{rules, prefixes_v4, prefixes_v6, default, counters}')

# ---- 1. a stream switched off by deny and on again by remove -------------------
# The /24 rule allows the stream; a /32 deny added mid-way wins (longer
# prefix), removing it lets the /24 rule decide again.
assert_rc "live: allow $NET1.0/24 udp" 0 "$EGR" allow "$CG" "$NET1.0/24" udp
peer_bg "$NA" "$T/s1" udp-recv 6000 12
run_bg - "$T/s1-send" cg_run "$cg" "$PEER" udp-send "$A4" 6000 300 -i 10000 -t 10
sleep 1
assert_rc "mid-stream: deny $A4 udp:6000" 0 "$EGR" deny "$CG" "$A4" udp:6000
sleep 1
assert_rc "mid-stream: remove $A4 udp:6000" 0 "$EGR" remove "$CG" "$A4" udp:6000
out=$(wait_bg "$T/s1-send" 15)
diag "stream 1 sender: $out"
sent=$(sent_of "$out") errs=$(errors_of "$out")
assert_eq "stream 1: sent + errors = 300" 300 $((sent + errs))
assert_range "stream 1: some datagrams denied (EPERM)" 30 200 "$errs"
assert_range "stream 1: some datagrams before and after" 60 270 "$sent"
recv_stop "$T/s1"
got=$(wait_bg "$T/s1" 15)
assert_eq "stream 1: receiver got exactly what the sender got through" "$sent" "$got"
assert_eq "stream 1: hits of the /24 rule = delivered" "$got" \
	"$(egr_hit "$CG" "allow $NET1.0/24 udp")"
st=$(egr_status "$cgid")
assert_eq "stream 1: status allowed/denied = sent/errors" "$sent $errs" \
	"$(jq -r '"\(.counters.allowed.packets) \(.counters.denied.packets)"' <<<"$st")"
assert_eq "stream 1: the deny rule is gone" "allow $NET1.0/24 udp" "$(egr_rules "$CG")"

# ---- 2. a stream switched off by remove and on again by allow ------------------
assert_rc "live: allow $B4 udp:6001" 0 "$EGR" allow "$CG" "$B4" udp:6001
st0=$(egr_status "$cgid")
peer_bg "$NB" "$T/s2" udp-recv 6001 12
run_bg - "$T/s2-send" cg_run "$cg" "$PEER" udp-send "$B4" 6001 300 -i 10000 -t 10
sleep 1
assert_rc "mid-stream: remove $B4 udp:6001" 0 "$EGR" remove "$CG" "$B4" udp:6001
sleep 1
assert_rc "mid-stream: allow $B4 udp:6001 again" 0 "$EGR" allow "$CG" "$B4" udp:6001
out=$(wait_bg "$T/s2-send" 15)
diag "stream 2 sender: $out"
sent=$(sent_of "$out") errs=$(errors_of "$out")
assert_eq "stream 2: sent + errors = 300" 300 $((sent + errs))
assert_range "stream 2: some datagrams denied (EPERM)" 30 200 "$errs"
assert_range "stream 2: some datagrams before and after" 60 270 "$sent"
recv_stop "$T/s2"
got=$(wait_bg "$T/s2" 15)
assert_eq "stream 2: receiver got exactly what the sender got through" "$sent" "$got"
st1=$(egr_status "$cgid")
assert_eq "stream 2: status allowed/denied grew by sent/errors" "$sent $errs" \
	"$(jq -r -n --argjson a "$st0" --argjson b "$st1" \
		'"\($b.counters.allowed.packets - $a.counters.allowed.packets) \($b.counters.denied.packets - $a.counters.denied.packets)"')"
assert_range "stream 2: the re-added rule counts only the tail" 20 $((sent - 20)) \
	"$(egr_hit "$CG" "allow $B4/32 udp:6001")"

# ---- 3. the next packet after an edit sees it ----------------------------------
peer_bg "$NB" "$T/s3" udp-recv 6002 30
bad=0
for i in $(seq 20); do
	"$EGR" allow "$CG" "$B4" udp:6002 || bad=$((bad + 1))
	cg_run "$cg" "$PEER" udp-send "$B4" 6002 1 >/dev/null 2>&1 || bad=$((bad + 1))
	"$EGR" remove "$CG" "$B4" udp:6002 || bad=$((bad + 1))
	cg_run "$cg" "$PEER" udp-send "$B4" 6002 1 >/dev/null 2>&1 && bad=$((bad + 1))
done
assert_eq "20 x (allow, send ok, remove, send EPERM): no miss" 0 "$bad"
recv_stop "$T/s3"
assert_eq "edit/send loop: receiver got exactly the 20 allowed" 20 "$(wait_bg "$T/s3")"

# ---- 4. an established TCP connection is cut by a live deny --------------------
assert_rc "live: allow $A4 tcp:6010" 0 "$EGR" allow "$CG" "$A4" tcp:6010
peer_bg "$NA" "$T/h" tcp-recv 6010 10
t0=$(now_ms)
run_bg - "$T/hold" cg_run "$cg" "$PEER" tcp-connect-hold "$A4" 6010 6
sleep 1.5
assert_rc "mid-connection: deny $A4 tcp:6010" 0 "$EGR" deny "$CG" "$A4" tcp:6010
held=$(wait_bg "$T/hold" 15)
hold_rc=$?
t1=$(now_ms)
assert_eq "held connection stops with an error" 1 "$hold_rc"
assert_match "held connection: messages no longer acknowledged" "not acknowledged" \
	"$(cat "$T/hold.err")"
assert_range "held connection: ~15 messages before the deny" 8 25 "$held"
assert_range "held connection: cut well before its 6 s (ms)" 1500 4500 $((t1 - t0))
assert_eq "receiver got exactly the acknowledged messages" "1 $((held * 16))" "$(wait_bg "$T/h")"
assert_range "deny rule counts the dropped segments" 1 1000 \
	"$(egr_hit "$CG" "deny $A4/32 tcp:6010")"

# ---- 5. remove exactly one rule of several -------------------------------------
ok=1
"$EGR" allow "$CG" "$B4" udp:6020 udp:6021 tcp:6022 udp:6023-6024 || ok=0
"$EGR" allow "$CG" "$B6" udp:6020 || ok=0
assert_eq "live: several rules for B" 1 "$ok"
before=$("$EGR" list "$CG" -j | jq -r '.[0].rules[] | "\(.action) \(.dest) \(.ports) id=\(.id)"' | sort)
assert_rc "remove $B4 udp:6021" 0 "$EGR" remove "$CG" "$B4" udp:6021
after=$("$EGR" list "$CG" -j | jq -r '.[0].rules[] | "\(.action) \(.dest) \(.ports) id=\(.id)"' | sort)
assert_eq "exactly that rule is gone, the others keep their ids" \
	"$(grep -v "^allow $B4/32 udp:6021 " <<<"$before")" "$after"
assert_eq "before had that rule" 1 "$(grep -c "^allow $B4/32 udp:6021 " <<<"$before")"
assert_rc "remove $B4 udp:6023 (inside a range rule) fails" 1 "$EGR" remove "$CG" "$B4" udp:6023
assert_match "remove of a rule not in force: no such rule" "no such rule" "$LAST_ERR"
assert_rc "remove $B4 udp (no such rule) fails" 1 "$EGR" remove "$CG" "$B4" udp
assert_eq "failed removes changed nothing" "$after" \
	"$("$EGR" list "$CG" -j | jq -r '.[0].rules[] | "\(.action) \(.dest) \(.ports) id=\(.id)"' | sort)"
W=4
peer_bg "$NB" "$T/r6020" udp-recv 6020 $W
peer_bg "$NB" "$T/r6021" udp-recv 6021 $W
peer_bg "$NB" "$T/r6022" tcp-recv 6022 $W
peer_bg "$NB" "$T/r6023" udp-recv 6023 $W
peer_bg "$NB" "$T/r6-6020" udp-recv -6 6020 $W
cg_run "$cg" "$PEER" udp-send "$B4" 6020 10 >/dev/null 2>&1
cg_run "$cg" "$PEER" udp-send "$B4" 6021 10 >/dev/null 2>&1
cg_run "$cg" "$PEER" tcp-send "$B4" 6022 -l 500 -t 2 >/dev/null 2>&1
cg_run "$cg" "$PEER" udp-send "$B4" 6023 10 >/dev/null 2>&1
cg_run "$cg" "$PEER" udp-send "$B6" 6020 10 >/dev/null 2>&1
assert_eq "kept rule udp:6020: receiver 10" 10 "$(wait_bg "$T/r6020")"
assert_eq "removed rule udp:6021: receiver 0" 0 "$(wait_bg "$T/r6021")"
assert_eq "kept rule tcp:6022: receiver 1 conn" "1 500" "$(wait_bg "$T/r6022")"
assert_eq "kept rule udp:6023-6024: receiver 10" 10 "$(wait_bg "$T/r6023")"
assert_eq "kept rule v6 udp:6020: receiver 10" 10 "$(wait_bg "$T/r6-6020")"

# ---- 6. a second attach is idempotent -------------------------------------------
rules_before=$(egr_rules "$CG")
progs_before=$(bpftool cgroup show "$cg" -j | jq -r '.[] | "\(.id) \(.attach_type) \(.name)"' | sort)
assert_eq "one egr_egress before" 1 "$(grep -c ' cgroup_inet_egress egr_egress$' <<<"$progs_before")"
assert_rc "second attach succeeds" 0 "$EGR" attach "$CG"
assert_match "second attach says already attached" "^already attached to " "$LAST_OUT"
assert_rc "third attach succeeds" 0 "$EGR" attach "$CG"
assert_eq "bpftool cgroup show: the same single egr_egress/egr_sockops" "$progs_before" \
	"$(bpftool cgroup show "$cg" -j | jq -r '.[] | "\(.id) \(.attach_type) \(.name)"' | sort)"
assert_eq "bpftool cgroup show lists exactly one egr_egress" 1 \
	"$(bpftool cgroup show "$cg" | grep -c egr_egress)"
assert_eq "second attach keeps the rules" "$rules_before" "$(egr_rules "$CG")"
assert_rc "attach --default allow on an attached cgroup" 0 "$EGR" attach "$CG" --default allow
assert_eq "default is now allow, rules kept" "allow
$rules_before" "$("$EGR" list "$CG" -j | jq -r '.[0].default'; egr_rules "$CG")"
peer_bg "$NB" "$T/dflt" udp-recv 6031 4
cg_run "$cg" "$PEER" udp-send "$B4" 6031 10 >/dev/null 2>&1
assert_eq "default allow: receiver 10" 10 "$(wait_bg "$T/dflt")"
assert_rc "attach --default deny restores" 0 "$EGR" attach "$CG" --default deny
peer_bg "$NB" "$T/dflt2" udp-recv 6031 4
cg_run "$cg" "$PEER" udp-send "$B4" 6031 10 >/dev/null 2>&1
assert_eq "default deny again: receiver 0" 0 "$(wait_bg "$T/dflt2")"
assert_eq "still exactly one egr_egress" 1 "$(bpftool cgroup show "$cg" | grep -c egr_egress)"

# ---- 7. the other cgroup was left alone -------------------------------------------
assert_eq "other: list -j unchanged by all edits to live" "$other_before" \
	"$("$EGR" list "$CGO" -j | jq -c '.[0]')"
assert_eq "other: status unchanged (rules, prefixes, default, counters)" "$other_status_before" \
	"$(egr_status "$cgoid" | jq -c '{rules, prefixes_v4, prefixes_v6, default, counters}')"
W=4
peer_bg "$NA" "$T/o6040" udp-recv 6040 $W
peer_bg "$NA" "$T/o6000" udp-recv 6000 $W
peer_bg "$NB" "$T/o6020" udp-recv 6020 $W
cg_run "$cgo" "$PEER" udp-send "$A4" 6040 10 >/dev/null 2>&1
cg_run "$cgo" "$PEER" udp-send "$A4" 6000 10 >/dev/null 2>&1
cg_run "$cgo" "$PEER" udp-send "$B4" 6020 10 >/dev/null 2>&1
assert_eq "other: its /32 allow still works (10)" 10 "$(wait_bg "$T/o6040")"
assert_eq "other: live's /24 udp allow does not apply (0)" 0 "$(wait_bg "$T/o6000")"
assert_eq "other: live's B rules do not apply (0)" 0 "$(wait_bg "$T/o6020")"
assert_eq "other: hits 10 on its allow, 10 on its /24 deny" "$(sort <<<"allow $A4/32 udp:6040=10
deny $NET1.0/24 any=10")" "$(egr_hits "$CGO")"

e2e_done
