#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The per-socket verdict cache never outlives the policy it was judged by:
# one UDP socket keeps sending while apply -f replaces the policy four times
# (allow rule, default deny, default allow, audit) and attach changes the
# default (to allow), and once a phase's verdict shows, every datagram of
# that phase gets it; one socket sending to two destinations (or two ports)
# in turns gets each judged by its own address and port, IPv4 and IPv6,
# counted at the receiver, also across live edits between its turns.
# apply's rule-id cache keeps ids (and hit counters) and a stale, corrupt
# or foreign cache file changes nothing. Every step waits for its event,
# never for a time.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr jq

ALL_TESTS="test_policy_replaced_under_one_socket test_two_destinations_in_turns
	test_live_edits_between_turns test_rule_id_cache"

egr_topology k15 1
OTHER4=$NET1.3 OTHER6=$NET6_1::3

# counter ID allowed|denied|audit: packets so far (status -j)
counter() {
	local a d u
	read -r a d u <<<"$(egr_counters "$1")"
	case $2 in allowed) echo "$a" ;; denied) echo "$d" ;; audit) echo "$u" ;; esac
}
_counter_ge() { [ "$(counter "$1" "$2")" -ge "$3" ]; }

# phase NAME VERDICT: the stream s runs; once VERDICT's counter grows (the
# edit is in force for the socket), every further datagram gets VERDICT:
# over the next 5 or more, the other two counters stay as they were.
phase() {
	local name=$1 v=$2 c0 a0 d0 u0 a1 d1 u1 n
	c0=$(counter "$TID" "$v")
	assert_true "$name: the socket's datagrams get verdict $v" wait_for 30 _counter_ge "$TID" "$v" $((c0 + 1))
	read -r a0 d0 u0 <<<"$(egr_counters "$TID")"
	n=$(($(stream_count s sent) + $(stream_count s errors)))
	wait_for 30 _attempts_ge $((n + 5))
	read -r a1 d1 u1 <<<"$(egr_counters "$TID")"
	case $v in
	allowed) assert_eq "$name: then only $v" "0 0 yes" "$((d1 - d0)) $((u1 - u0)) $([ $((a1 - a0)) -ge 5 ] && echo yes)" ;;
	denied) assert_eq "$name: then only $v" "0 0 yes" "$((a1 - a0)) $((u1 - u0)) $([ $((d1 - d0)) -ge 5 ] && echo yes)" ;;
	audit) assert_eq "$name: then only $v" "0 0 yes" "$((a1 - a0)) $((d1 - d0)) $([ $((u1 - u0)) -ge 5 ] && echo yes)" ;;
	esac
}
# _attempts_ge N: the stream made N attempts (sent + refused)
_attempts_ge() { [ $(($(stream_count s sent) + $(stream_count s errors))) -ge "$1" ]; }

# one socket, the policy replaced under it
test_policy_replaced_under_one_socket() {
	local a0 d0 u0 a1 d1 u1
	egr_new cache
	printf 'default: deny\nrules:\n  - allow: %s\n    ports: udp:6100\n' "$A4" >"$T/p1.yaml"
	printf 'default: deny\nrules: []\n' >"$T/p2.yaml"
	printf 'default: allow\nrules: []\n' >"$T/p3.yaml"
	printf 'default: deny\naudit: true\nrules: []\n' >"$T/p4.yaml"
	assert_rc "apply: allow $A4 udp:6100" 0 "$EGR" apply "$TGT" -f "$T/p1.yaml"
	read -r a0 d0 u0 <<<"$(egr_counters "$TID")"
	stream_start s "$A4" 6100 || return 1
	phase "phase 1: allow rule" allowed
	assert_rc "phase 2: apply default deny, no rules" 0 "$EGR" apply "$TGT" -f "$T/p2.yaml"
	phase "phase 2: default deny" denied
	assert_rc "phase 3: apply default allow" 0 "$EGR" apply "$TGT" -f "$T/p3.yaml"
	phase "phase 3: default allow" allowed
	assert_rc "phase 4: apply default deny + audit" 0 "$EGR" apply "$TGT" -f "$T/p4.yaml"
	phase "phase 4: default deny + audit" audit
	assert_rc "phase 5: attach --default allow" 0 "$EGR" attach "$TGT" --default allow
	phase "phase 5: attach --default allow" allowed
	stream_stop s
	read -r a1 d1 u1 <<<"$(egr_counters "$TID")"
	diag "counters: allowed $((a1 - a0)) denied $((d1 - d0)) audit $((u1 - u0))"
	assert_eq "receiver got exactly what the sender got through" "$STREAM_SENT" "$STREAM_RX"
	assert_eq "denied = send errors (EPERM)" "$STREAM_ERRORS" $((d1 - d0))
	assert_eq "allowed + audit = delivered" "$STREAM_SENT" $((a1 - a0 + u1 - u0))
	assert_eq "every datagram judged: allowed + denied + audit = sent + errors" \
		$((STREAM_SENT + STREAM_ERRORS)) $((a1 - a0 + d1 - d0 + u1 - u0))
}

# alt NAME WANT ARGS...: udp-alt ARGS from the cgroup (100 to each, in
# turns), its result must be WANT; RECV (a udp-recv -n 100) must get 100.
alt() {
	local name=$1 want=$2
	shift 2
	assert_eq "$name" "$want" "$(cg_run "$TCG" "$PEER" udp-alt "$@")"
	assert_eq "${name%%:*}: receiver got 100" 100 "$(wait_bg "$RECV" 30)"
}

# one socket, two destinations in turns
test_two_destinations_in_turns() {
	egr_new turns
	printf 'default: deny\naudit: false\nrules:\n  - allow: %s\n    ports: udp:6100\n  - allow: %s\n    ports: udp:6100\n' \
		"$A4" "$A6" >"$T/p5.yaml"
	assert_rc "apply: allow $A4 and $A6 udp:6100 only" 0 "$EGR" apply "$TGT" -f "$T/p5.yaml"
	RECV=$T/r2
	peer_bg "$NA" "$RECV" udp-recv 6100 60 -n 100 || fail "receiver ready"
	alt "v4, two addresses in turns: $A4 passes, $OTHER4 refused" "sent 100 0 errors 0 100" \
		"$A4" 6100 "$OTHER4" 6100 100
	RECV=$T/r3
	peer_bg "$NA" "$RECV" udp-recv 6100 60 -n 100 || fail "receiver ready"
	alt "v4, two ports in turns: udp:6100 passes, udp:6101 refused" "sent 100 0 errors 0 100" \
		"$A4" 6100 "$A4" 6101 100
	RECV=$T/r4
	peer_bg "$NA" "$RECV" udp-recv -6 6100 60 -n 100 || fail "receiver ready"
	alt "v6, two addresses in turns: $A6 passes, $OTHER6 refused" "sent 100 0 errors 0 100" \
		-6 "$A6" 6100 "$OTHER6" 6100 100
	RECV=$T/r5
	peer_bg "$NA" "$RECV" udp-recv -6 6100 60 -n 100 || fail "receiver ready"
	alt "v6, two ports in turns: udp:6101 refused, udp:6100 passes" "sent 0 100 errors 100 0" \
		-6 "$A6" 6101 "$A6" 6100 100
}

# alt_count FIELD: a field of the running udp-alt's "sent N N2 errors M M2"
alt_count() {
	local -a w
	read -r -a w <"$T/alt.p" 2>/dev/null || w=(sent 0 0 errors 0 0)
	case $1 in s1) echo "${w[1]}" ;; s2) echo "${w[2]}" ;; e1) echo "${w[4]}" ;; e2) echo "${w[5]}" ;; esac
}
_alt_ge() { [ "$(alt_count "$1")" -ge "$2" ]; }

# live edits between the turns of one socket: it alternates udp:6100
# (allowed) and udp:6102 (refused); a live deny of the first, then a live
# allow of the second, swap the outcome, each from its own command on.
test_live_edits_between_turns() {
	local s1a s2b out s1 s2 e1 e2
	egr_new alt
	assert_rc "allow $A4 udp:6100" 0 "$EGR" allow "$TGT" "$A4" udp:6100
	peer_bg "$NA" "$T/r6" udp-recv 6100 900 -p "$T/r6.p" || fail "receiver ready"
	peer_bg "$NA" "$T/r7" udp-recv 6102 900 -p "$T/r7.p" || fail "receiver ready"
	run_bg - "$T/s6" cg_run "$TCG" "$PEER" udp-alt "$A4" 6100 "$A4" 6102 1000000 -i 5000 -t 600 -p "$T/alt.p"
	assert_true "before the edits: udp:6100 passes, udp:6102 refused" \
		wait_for 30 sh -c '[ -e "$1" ]' sh "$T/alt.p"
	wait_for 30 _alt_ge s1 5 && wait_for 30 _alt_ge e2 5
	assert_eq "before the edits: udp:6100 never refused, udp:6102 never passed" "0 0" \
		"$(alt_count e1) $(alt_count s2)"
	assert_rc "mid-way: deny $A4 udp:6100" 0 "$EGR" deny "$TGT" "$A4" udp:6100
	assert_true "after the deny: udp:6100 refused" wait_for 30 _alt_ge e1 1
	s1a=$(alt_count s1) s2b=$(alt_count s2)
	assert_rc "mid-way: allow $A4 udp:6102" 0 "$EGR" allow "$TGT" "$A4" udp:6102
	assert_true "after the allow: udp:6102 passes" wait_for 30 _alt_ge s2 1
	wait_for 30 _alt_ge s2 5
	_kill_tree TERM "$(cat "$T/s6.pid")"
	out=$(wait_bg "$T/s6" 15)
	diag "udp-alt across edits: $out"
	read -r _ s1 s2 _ e1 e2 <<<"$out"
	assert_range "one socket, in turns: as many sends to each (+-1)" -1 1 $((s1 + e1 - s2 - e2))
	assert_eq "udp:6100 passed before the deny only" "$s1a" "$s1"
	assert_eq "udp:6102 passed after the allow only" "0 yes" "$s2b $([ "$s2" -ge 5 ] && echo yes)"
	assert_eq "the two swapped in order: udp:6100 refused from the deny on, udp:6102 passing from the allow on" \
		"0 yes" "$s2b $([ "$e1" -ge 1 ] && echo yes)"
	wait_for 15 _recv_ge "$T/r6.p" "$s1"
	wait_for 15 _recv_ge "$T/r7.p" "$s2"
	_kill_tree TERM "$(cat "$T/r6.pid")"
	_kill_tree TERM "$(cat "$T/r7.pid")"
	assert_eq "receivers got exactly what passed to each" "$s1 $s2" \
		"$(wait_bg "$T/r6" 15) $(wait_bg "$T/r7" 15)"
}

# apply's rule-id cache: rules that stay keep their ids (and hit counters)
# across apply, whether the ids come from the cache the last apply left or
# from the kernel; a stale, corrupt or foreign cache file changes nothing.
test_rule_id_cache() {
	local ids h0 want
	egr_new idcache
	ids=/run/egressctl/ids-$TID
	hits6100() { egr_hit "$TGT" "allow $A4/32 udp:6100"; }
	printf 'default: deny\nrules:\n  - allow: %s\n    ports: udp:6100\n  - allow: %s\n' "$A4" "$OTHER4" >"$T/p6.yaml"
	assert_rc "apply p6" 0 "$EGR" apply "$TGT" -f "$T/p6.yaml"
	h0=$(hits6100)
	expect_udp pass "$A4" 6100 -n 5 -m "5 datagrams on the udp:6100 rule"
	want=$((h0 + 5))
	assert_eq "5 more datagrams counted on the udp:6100 rule" "$want" "$(hits6100)"
	assert_rc "the apply left an id cache" 0 test -s "$ids"
	assert_rc "apply p6 again (cache)" 0 "$EGR" apply "$TGT" -f "$T/p6.yaml"
	assert_eq "same rule, same id: the same hits" "$want" "$(hits6100)"
	assert_rc "live edit: allow $NET1.9" 0 "$EGR" allow "$TGT" "$NET1.9"
	assert_rc "apply p6 after the edit (cache stale: kernel read)" 0 "$EGR" apply "$TGT" -f "$T/p6.yaml"
	assert_eq "after the edit: the same hits, the live rule gone" "$want 2" \
		"$(hits6100) $("$EGR" list "$TGT" -j | jq '.[0].rules | length')"
	head -c 100 /dev/urandom >"$ids"
	assert_rc "apply p6 over a corrupt cache file" 0 "$EGR" apply "$TGT" -f "$T/p6.yaml"
	assert_eq "corrupt cache: the same hits" "$want" "$(hits6100)"
	assert_rc "apply p6 (fresh cache)" 0 "$EGR" apply "$TGT" -f "$T/p6.yaml"
	chown 65534 "$ids"
	assert_rc "apply p6 over a cache file not owned by root" 0 "$EGR" apply "$TGT" -f "$T/p6.yaml"
	assert_eq "foreign cache: the same hits" "$want" "$(hits6100)"
	assert_rc "detach" 0 "$EGR" detach "$TGT"
	assert_rc "detach removes the id cache" 1 test -e "$ids"
}

run_tests
