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
# finds the policy full grows it too, and an events reader follows; growth killed with SIGKILL leaves one
# complete instance in force, the links on it once a command opened it, and
# nothing behind after the next attach.
# Needs jq.
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

pick_nets 3
S=${E2E_ID:2:6}
NA=k18a$S NB=k18b$S NC=k18c$S
netns_up "$NA" "$NET1.2/24" -
netns_up "$NB" "$NET2.2/24" -
netns_up "$NC" "$NET3.2/24" -
A4=$(ns_ip4 "$NA") B4=$(ns_ip4 "$NB") C4=$(ns_ip4 "$NC")
T=$E2E_TMP

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

cg=$(cg_new grow)
cgid=$(stat -c %i "$cg")
CG=cgroup:$cg
assert_rc "attach --max-rules 64" 0 egr_attach "$cg" --max-rules 64
links0=$(bpftool link show -j | jq -r --argjson id "$cgid" \
	'[.[] | select(.type == "cgroup" and .cgroup_id == $id) | .id] | sort | join(",")')
assert_eq "six links on the cgroup" 6 "$(tr ',' '\n' <<<"$links0" | grep -c .)"

# ---- 1. applies that grow, under traffic --------------------------------------
policy "$T/p1.yaml" 100 1
policy "$T/p2.yaml" 300 0
policy "$T/p3.yaml" 1000 1
policy "$T/p4.yaml" 5000 0
peer_bg "$NA" "$T/w-a" udp-recv 7010 120
peer_bg "$NB" "$T/w-b" udp-recv 7010 120
peer_bg "$NC" "$T/w-c" udp-recv 7010 120
assert_rc "allow A (the rule every policy keeps)" 0 "$EGR" allow "$CG" "$A4" udp:7010
id_a=$("$EGR" list "$CG" -j | jq -r '.[0].rules[0].id')
for d in a:"$A4" b:"$B4" c:"$C4"; do
	run_bg - "$T/w-send-${d%%:*}" cg_run "$cg" "$PEER" udp-send "${d#*:}" 7010 1000000 -i 1000 -t 100
done
sleep 0.3
caps=""
for k in 1 2 3 4; do
	assert_rc "apply p$k.yaml ($(grep -c -- '- allow' "$T/p$k.yaml") rules)" 0 \
		"$EGR" apply "$CG" -f "$T/p$k.yaml"
	caps="$caps $(egr_status "$cgid" | jq -r .capacity)"
	sleep 0.2
done
assert_eq "capacity grew: 128 512 1024 8192" " 128 512 1024 8192" "$caps"
assert_rc "apply p1.yaml again: fits, no growth" 0 "$EGR" apply "$CG" -f "$T/p1.yaml"
assert_eq "... capacity stays 8192" 8192 "$(egr_status "$cgid" | jq -r .capacity)"
sleep 0.3
for d in a b c; do _kill_tree TERM "$(cat "$T/w-send-$d.pid")"; done
outa=$(wait_bg "$T/w-send-a" 10) outb=$(wait_bg "$T/w-send-b" 10) outc=$(wait_bg "$T/w-send-c" 10)
diag "senders: A '$outa', B '$outb', C '$outc'"
sleep 0.5
for r in a b c; do _kill_tree TERM "$(cat "$T/w-$r.pid")"; done
ra=$(wait_bg "$T/w-a" 10) rb=$(wait_bg "$T/w-b" 10) rc=$(wait_bg "$T/w-c" 10)
assert_eq "A: never denied" 0 "$(errors_of "$outa")"
assert_eq "receiver A got every datagram" "$(sent_of "$outa")" "$ra"
assert_eq "receiver B got exactly what got through to B" "$(sent_of "$outb")" "$rb"
assert_range "B was allowed part of the time" 1 1000000 "$rb"
assert_range "B was denied part of the time" 1 1000000 "$(errors_of "$outb")"
assert_eq "C (in no policy): nothing got through, nothing arrived" "0 0" "$(sent_of "$outc") $rc"
total=$(($(sent_of "$outa") + $(sent_of "$outb") + $(errors_of "$outb") + $(errors_of "$outc")))
st=$(egr_status "$cgid")
assert_eq "status: allowed + denied = every datagram sent (the counters survive the swaps)" \
	"$total" "$(jq -r '.counters.allowed.packets + .counters.denied.packets' <<<"$st")"
assert_eq "status: allowed = delivered to A + B" $((ra + rb)) \
	"$(jq -r '.counters.allowed.packets' <<<"$st")"
assert_eq "status: nothing judged without a policy (nopolicy 0)" 0 \
	"$(jq -r '.counters.nopolicy.packets' <<<"$st")"
assert_eq "the rule kept in every policy kept its id and counted every datagram to A" \
	"$id_a $ra" "$("$EGR" list "$CG" -j | jq -r --arg a "$A4/32" \
		'.[0].rules[] | select(.dest == $a) | "\(.id) \(.hits)"')"
assert_eq "the same six links (updated, never detached)" "$links0" \
	"$(bpftool link show -j | jq -r --argjson id "$cgid" \
		'[.[] | select(.type == "cgroup" and .cgroup_id == $id) | .id] | sort | join(",")')"
assert_eq "the links run the pinned programs" "" \
	"$(for l in egress sockops connect4 connect6 sendmsg4 sendmsg6; do
		[ "$(bpftool link show pinned "$EGR_PINS/$cgid/link_$l" -j | jq .prog_id)" = \
			"$(bpftool prog show pinned "$EGR_PINS/$cgid/prog_$l" -j | jq .id)" ] || echo "$l"
	done)"
assert_eq "no temporary or retired pin directory left" "" \
	"$(ls "$EGR_PINS" | grep -E "^(tmp|dead)-$cgid-")"

# ---- 2. a live edit that finds the policy full grows it -----------------------
cg2=$(cg_new full)
cg2id=$(stat -c %i "$cg2")
assert_rc "attach --max-rules 64" 0 egr_attach "$cg2" --max-rules 64
policy "$T/p64.yaml" 64 0
assert_rc "apply 64 rules: full" 0 "$EGR" apply "cgroup:$cg2" -f "$T/p64.yaml"
assert_eq "capacity 64, 64 rules" "64 64" "$(egr_status "$cg2id" | jq -r '"\(.capacity) \(.rules)"')"
peer_bg "$NB" "$T/e-b" udp-recv 7011 10
run_bg - "$T/ev" "$EGR" events "cgroup:$cg2" -j --count 1 --timeout 20
ev_on() {
	[ "$(bpftool -j map lookup pinned "$EGR_PINS/$cg2id/egr_evcfg" key 0 0 0 0 2>/dev/null |
		jq -r .formatted.value.enabled)" = 1 ]
}
wait_for 5 ev_on || diag "events reader not up"
assert_rc "allow one more (live): grows" 0 "$EGR" allow "cgroup:$cg2" "$B4" udp:7011
assert_eq "capacity 128, 65 rules" "128 65" "$(egr_status "$cg2id" | jq -r '"\(.capacity) \(.rules)"')"
assert_rc "the new rule is in force" 0 cg_run "$cg2" "$PEER" udp-send "$B4" 7011 3
assert_eq "... 3 arrive" 3 "$(wait_bg "$T/e-b")"
assert_rc "a deny rule made after the growth" 0 "$EGR" deny "cgroup:$cg2" "$B4" udp:7098
cg_run "$cg2" "$PEER" udp-send "$B4" 7098 1 >/dev/null 2>&1
assert_eq "the events reader started before the growth names it (same ring buffer, new rules)" \
	"denied deny $B4/32 udp:7098" "$(wait_bg "$T/ev" 10 | jq -r '"\(.verdict) \(.rule)"')"

# ---- 3. growth killed with SIGKILL ---------------------------------------------
# at spread points of an apply that grows 64 -> 8192: afterwards one
# instance is in force whole, and the next command finishes the swap
bad=0
for d in 5 60 120 150 170 190 210 240 300 400; do
	c=$(cg_new "kill$d")
	cid=$(stat -c %i "$c")
	egr_attach "$c" --max-rules 64 >/dev/null 2>&1 || bad=$((bad + 1))
	"$EGR" allow "cgroup:$c" "$A4" udp:7012 >/dev/null || bad=$((bad + 1))
	"$EGR" apply "cgroup:$c" -f "$T/p4.yaml" >/dev/null 2>&1 &
	pid=$!
	msleep "$d"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	peer_bg "$NA" "$T/k-a$d" udp-recv 7012 5 -n 2
	cg_run "$c" "$PEER" udp-send "$A4" 7012 2 >/dev/null 2>&1
	got=$(wait_bg "$T/k-a$d" 6)
	n=$("$EGR" list "cgroup:$c" -j | jq '.[0].rules | length')
	off=$(for l in egress sockops connect4 connect6 sendmsg4 sendmsg6; do
		[ "$(bpftool link show pinned "$EGR_PINS/$cid/link_$l" -j | jq .prog_id)" = \
			"$(bpftool prog show pinned "$EGR_PINS/$cid/prog_$l" -j | jq .id)" ] || echo "$l"
	done)
	egr_attach "$c" >/dev/null 2>&1 # removes what the killed command left
	left=$(ls "$EGR_PINS" | grep -E "^(tmp|dead)-$cid-")
	if [ "$got" != 2 ] || { [ "$n" != 1 ] && [ "$n" != 5000 ]; } || [ -n "$off$left" ]; then
		bad=$((bad + 1))
		diag "killed after $d ms: A got '$got', list has $n rules, links off: '$off', left: '$left'"
	fi
	diag "killed after $d ms: $n rules, capacity $(egr_status "$cid" | jq -r .capacity)"
done
assert_eq "every kill left one whole policy in force, the links on the pinned instance" 0 "$bad"

# ... and deterministically (test hook EGRESSCTL_TEST_GROW_STOP): killed
# right after the new instance took the name (links still on the old one),
# and right after the links moved
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
	peer_bg "$NA" "$T/s-a$step" udp-recv 7013 5 -n 2
	assert_rc "$step: A still allowed meanwhile" 0 cg_run "$c" "$PEER" udp-send "$A4" 7013 2
	assert_eq "$step: A got 2" 2 "$(wait_bg "$T/s-a$step" 6)"
	assert_eq "$step: list shows the rule in force, capacity 1024" "1 1024" \
		"$("$EGR" list "cgroup:$c" -j | jq '.[0].rules | length') $(egr_status "$cid" | jq .capacity)"
	assert_eq "$step: opening the target moved the links to the pinned instance" "" \
		"$(for l in egress sockops connect4 connect6 sendmsg4 sendmsg6; do
			[ "$(bpftool link show pinned "$EGR_PINS/$cid/link_$l" -j | jq .prog_id)" = \
				"$(bpftool prog show pinned "$EGR_PINS/$cid/prog_$l" -j | jq .id)" ] || echo "$l"
		done)"
	assert_rc "$step: the next apply works (and clears the mark)" 0 \
		"$EGR" apply "cgroup:$c" -f "$T/p3.yaml"
	assert_eq "$step: 1000 rules, capacity 1024" "1000 1024" \
		"$(egr_status "$cid" | jq -r '"\(.rules) \(.capacity)"')"
	egr_attach "$c" >/dev/null 2>&1
	assert_eq "$step: nothing left behind" "" "$(ls "$EGR_PINS" | grep -E "^(tmp|dead)-$cid-")"
done

e2e_done
