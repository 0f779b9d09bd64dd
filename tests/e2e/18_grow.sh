#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Capacity grows instead of refusing: a target attached with --max-rules 64
# takes policies of 100, 300, 1000 and 5000 rules by apply (a bigger
# instance swapped in with bpf_link_update() each time, never detached)
# while three senders stream: every datagram is judged by one complete
# policy (counters add up to what was sent, receivers get exactly what got
# through, nothing is judged without a policy, the destination no policy
# allows gets nothing), the rule in every policy keeps its id and counts
# every packet it passed, the links stay the same links; a live edit that
# finds the policy full grows it too, and an events reader follows;
# growth killed with SIGKILL (at spread points, and right after each step
# with a test hook) leaves one complete instance in force, the links on it
# once a command opened it, and nothing behind after the next attach.
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr jq bpftool

ALL_TESTS="test_apply_grows_under_traffic test_live_edit_grows test_growth_killed
	test_growth_stopped_after_each_step"

egr_topology k18 3

# policy FILE N B: allow A udp:7010 (always), B udp:7010 if B=1, and N - 1
# (or N - 2) address-only filler rules no traffic meets (100.64.0.0/10).
policy() {
	local f=$1 n=$2 b=$3 i
	{
		echo "default: deny"
		echo "rules:"
		echo "  - allow: $A4"
		echo "    ports: [udp:7010]"
		[ "$b" = 1 ] && printf '  - allow: %s\n    ports: [udp:7010]\n' "$B4"
		for ((i = 0; i < n - 1 - b; i++)); do
			echo "  - allow: 100.$((64 + i / 65536)).$((i / 256 % 256)).$((i % 256))"
		done
	} >"$f"
}

# attempts NAME: the datagrams stream NAME tried so far (sent + refused)
attempts() { echo $(($(stream_count "$1" sent) + $(stream_count "$1" errors))); }
_attempts_ge() { [ "$(attempts "$1")" -ge "$2" ]; }
# more NAME N: wait until stream NAME made N more attempts
more() { wait_for 60 _attempts_ge "$1" $(($(attempts "$1") + $2)); }
# links_of ID: the ids of the cgroup links of cgroup ID
links_of() {
	bpftool link show -j | jq -r --argjson id "$1" \
		'[.[] | select(.type == "cgroup" and .cgroup_id == $id) | .id] | sort | join(",")'
}
# off ID: the links of ID that do not run the program pinned beside them
off() {
	local l
	for l in egress sockops connect4 connect6 sendmsg4 sendmsg6; do
		[ "$(bpftool link show pinned "$EGR_PINS/$1/link_$l" -j | jq .prog_id)" = \
			"$(bpftool prog show pinned "$EGR_PINS/$1/prog_$l" -j | jq .id)" ] || echo "$l"
	done
}
# left_of ID: temporary or retired pin directories of cgroup ID
left_of() {
	local d
	for d in "$EGR_PINS"/tmp-"$1"-* "$EGR_PINS"/dead-"$1"-*; do
		[ -e "$d" ] && basename "$d"
	done
	return 0
}

policy "$T/p1.yaml" 100 1
policy "$T/p2.yaml" 300 0
policy "$T/p3.yaml" 1000 1
policy "$T/p4.yaml" 5000 0

# applies that grow 64 -> 128 -> 512 -> 1024 -> 8192, under traffic
test_apply_grows_under_traffic() {
	local links0 id_a caps="" k total st
	egr_new grow --max-rules 64
	links0=$(links_of "$TID")
	assert_eq "seven links on the cgroup" 7 "$(tr ',' '\n' <<<"$links0" | grep -c .)"
	assert_rc "allow A (the rule every policy keeps)" 0 "$EGR" allow "$TGT" "$A4" udp:7010
	id_a=$("$EGR" list "$TGT" -j | jq -r '.[0].rules[0].id')
	stream_start a "$A4" 7010 -i 1000
	stream_start b "$B4" 7010 -i 1000
	stream_start c "$C4" 7010 -i 1000
	assert_true "the streams run" more a 20
	for k in 1 2 3 4; do
		assert_rc "apply p$k.yaml ($(grep -c -- '- allow' "$T/p$k.yaml") rules)" 0 \
			"$EGR" apply "$TGT" -f "$T/p$k.yaml"
		caps="$caps $(egr_status "$TID" | jq -r .capacity)"
		assert_true "traffic after apply p$k" more a 20
	done
	assert_eq "capacity grew: 128 512 1024 8192" " 128 512 1024 8192" "$caps"
	assert_rc "apply p1.yaml again: fits, no growth" 0 "$EGR" apply "$TGT" -f "$T/p1.yaml"
	assert_eq "... capacity stays 8192" 8192 "$(egr_status "$TID" | jq -r .capacity)"
	assert_true "traffic after that apply" more b 20
	stream_stop a
	local sa=$STREAM_SENT ea=$STREAM_ERRORS ra=$STREAM_RX
	stream_stop b
	local sb=$STREAM_SENT eb=$STREAM_ERRORS rb=$STREAM_RX
	stream_stop c
	local sc=$STREAM_SENT ec=$STREAM_ERRORS rc=$STREAM_RX
	assert_eq "A: never denied, every datagram arrived" "0 $sa" "$ea $ra"
	assert_eq "receiver B got exactly what got through to B" "$sb" "$rb"
	assert_eq "B was allowed and denied part of the time" "yes yes" \
		"$([ "$rb" -gt 0 ] && echo yes) $([ "$eb" -gt 0 ] && echo yes)"
	assert_eq "C (in no policy): nothing got through, nothing arrived" "0 0" "$sc $rc"
	total=$((sa + sb + eb + ec))
	st=$(egr_status "$TID")
	assert_eq "status: allowed + denied = every datagram sent (the counters survive the swaps)" \
		"$total" "$(jq -r '.counters.allowed.packets + .counters.denied.packets' <<<"$st")"
	assert_eq "status: allowed = delivered to A + B" $((ra + rb)) \
		"$(jq -r '.counters.allowed.packets' <<<"$st")"
	assert_eq "status: nothing judged without a policy (nopolicy 0)" 0 \
		"$(jq -r '.counters.nopolicy.packets' <<<"$st")"
	assert_eq "the rule kept in every policy kept its id and counted every datagram to A" \
		"$id_a $ra" "$("$EGR" list "$TGT" -j | jq -r --arg a "$A4/32" \
			'.[0].rules[] | select(.dest == $a) | "\(.id) \(.hits)"')"
	assert_eq "the same seven links (updated, never detached)" "$links0" "$(links_of "$TID")"
	assert_eq "the links run the pinned programs" "" "$(off "$TID")"
	assert_eq "no temporary or retired pin directory left" "" "$(left_of "$TID")"
}

ev_on() {
	[ "$(bpftool -j map lookup pinned "$EGR_PINS/$1/egr_evcfg" key 0 0 0 0 2>/dev/null |
		jq -r .formatted.value.enabled)" = 1 ]
}

# a live edit that finds the policy full grows it; an events reader follows
test_live_edit_grows() {
	egr_new full --max-rules 64
	policy "$T/p64.yaml" 64 0
	assert_rc "apply 64 rules: full" 0 "$EGR" apply "$TGT" -f "$T/p64.yaml"
	assert_eq "capacity 64, 64 rules" "64 64" "$(egr_status "$TID" | jq -r '"\(.capacity) \(.rules)"')"
	run_bg - "$T/ev" "$EGR" events "$TGT" -j --count 1 --timeout 60
	assert_true "events reader up" wait_for 15 ev_on "$TID"
	assert_rc "allow one more (live): grows" 0 "$EGR" allow "$TGT" "$B4" udp:7011
	assert_match "... and says so" "capacity grown from 64 to 128 rules" "$LAST_ERR"
	assert_eq "capacity 128, 65 rules" "128 65" "$(egr_status "$TID" | jq -r '"\(.capacity) \(.rules)"')"
	expect_udp pass "$B4" 7011 -n 3 -m "the new rule is in force"
	assert_rc "a deny rule made after the growth" 0 "$EGR" deny "$TGT" "$B4" udp:7098
	cg_run "$TCG" "$PEER" udp-send "$B4" 7098 1 >/dev/null 2>&1
	assert_eq "the events reader started before the growth names it (same ring buffer, new rules)" \
		"denied deny $B4/32 udp:7098" "$(wait_bg "$T/ev" 30 | jq -r '"\(.verdict) \(.rule)"')"
}

# SIGKILL at spread points of an apply that grows 64 -> 8192: one instance
# in force whole, the links on it once a command opened it
test_growth_killed() {
	local bad=0 d c cid got n o l
	# p4 and the rule the target starts with: A udp:7012 is allowed
	# whether the kill came before or after the apply completed
	cp "$T/p4.yaml" "$T/p4k.yaml"
	printf '  - allow: %s\n    ports: [udp:7012]\n' "$A4" >>"$T/p4k.yaml"
	for d in 5 60 120 150 170 190 210 240 300 400; do
		c=$(cg_new "kill$d")
		cid=$(stat -c %i "$c")
		egr_attach "$c" --max-rules 64 >/dev/null 2>&1 || bad=$((bad + 1))
		"$EGR" allow "cgroup:$c" "$A4" udp:7012 >/dev/null || bad=$((bad + 1))
		kill_after "$d" "$EGR" apply "cgroup:$c" -f "$T/p4k.yaml"
		peer_bg "$NA" "$T/k-a$d" udp-recv 7012 60 -n 2
		cg_run "$c" "$PEER" udp-send "$A4" 7012 2 >/dev/null 2>&1
		got=$(wait_bg "$T/k-a$d" 30)
		n=$("$EGR" list "cgroup:$c" -j | jq '.[0].rules | length')
		o=$(off "$cid")
		egr_attach "$c" >/dev/null 2>&1 # removes what the killed command left
		l=$(left_of "$cid")
		if [ "$got" != 2 ] || { [ "$n" != 1 ] && [ "$n" != 5001 ]; } || [ -n "$o$l" ]; then
			bad=$((bad + 1))
			diag "killed after $d ms: A got '$got', list has $n rules, links off: '$o', left: '$l'"
		fi
		diag "killed after $d ms: $n rules, capacity $(egr_status "$cid" | jq -r .capacity)"
	done
	assert_eq "every kill left one whole policy in force, the links on the pinned instance" 0 "$bad"
}

# deterministically (test hook EGRESSCTL_TEST_GROW_STOP): killed right after
# the new instance took the name (links still on the old one), and right
# after the links moved
test_growth_stopped_after_each_step() {
	local step c cid pe le
	for step in exchanged linked; do
		c=$(cg_new "stop-$step")
		cid=$(stat -c %i "$c")
		egr_attach "$c" --max-rules 64 >/dev/null 2>&1
		"$EGR" allow "cgroup:$c" "$A4" udp:7013 >/dev/null
		env EGRESSCTL_TEST_GROW_STOP=$step "$EGR" apply "cgroup:$c" -f "$T/p3.yaml" >/dev/null 2>&1
		assert_eq "$step: the growing apply was killed" 137 "$?"
		pe=$(bpftool prog show pinned "$EGR_PINS/$cid/prog_egress" -j | jq .id)
		le=$(bpftool link show pinned "$EGR_PINS/$cid/link_egress" -j | jq .prog_id)
		if [ "$step" = exchanged ]; then
			assert_eq "$step: the links still run the old instance" 1 "$([ "$pe" != "$le" ] && echo 1)"
		else
			assert_eq "$step: the links run the new instance" "$pe" "$le"
		fi
		expect_udp pass "$A4" 7013 -n 2 --from "$c" -m "$step: A still allowed meanwhile"
		assert_eq "$step: list shows the rule in force, capacity 1024" "1 1024" \
			"$("$EGR" list "cgroup:$c" -j | jq '.[0].rules | length') $(egr_status "$cid" | jq .capacity)"
		assert_eq "$step: opening the target moved the links to the pinned instance" "" "$(off "$cid")"
		assert_rc "$step: the next apply works (and clears the mark)" 0 \
			"$EGR" apply "cgroup:$c" -f "$T/p3.yaml"
		assert_eq "$step: 1000 rules, capacity 1024" "1000 1024" \
			"$(egr_status "$cid" | jq -r '"\(.rules) \(.capacity)"')"
		egr_attach "$c" >/dev/null 2>&1
		assert_eq "$step: nothing left behind" "" "$(left_of "$cid")"
	done
}

run_tests
