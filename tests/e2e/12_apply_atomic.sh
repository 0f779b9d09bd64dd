#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# apply: YAML and JSON policy files replace the whole policy (rules,
# default, audit); a big file gives the same policy, output and errors on
# all CPUs (cut and parsed in pieces) and on one; 40 applies alternate two
# policies while three senders stream, each apply waiting until the traffic
# shows it in force (every datagram is judged by one policy: counters add
# up to what was sent, receivers get exactly what got through, nothing is
# judged without a policy, the destination in neither policy gets nothing,
# list equals the file after every apply); apply and allow killed with
# SIGKILL at various points leave one complete policy enforced: at points
# spread over a 50000-rule apply, and (with gdb) before each of their bpf()
# writes in turn, where the state must also stay consistent (status agrees
# with list, a later live edit gets rule ids nobody else uses).
# Needs jq; the deterministic kill points need gdb (skipped without).
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr jq

ALL_TESTS="test_apply_yaml test_apply_json test_apply_audit test_big_file_all_cpus_or_one
	test_swap_under_traffic test_apply_killed test_allow_killed
	test_apply_killed_before_each_write test_allow_killed_before_each_write"

egr_topology k12 3

test_apply_yaml() {
	local want_p1 hits1
	egr_new apply
	assert_rc "a live rule before apply: allow $C4" 0 "$EGR" allow "$TGT" "$C4"
	cat >"$T/p1.yaml" <<EOF
# policy 1: YAML, block and flow style, comments
default: deny
audit: false
rules:
  - allow: $A4
    ports: [udp:7000, tcp:7001]
  - allow: $NET6_1::9/64   # host bits are cleared
    ports: udp:7000
  - deny: $NET1.0/24
  - allow: $NET2.0/24
    ports:
      - udp
  - {deny: $B4/32, ports: [udp:7002]}
EOF
	want_p1=$(sort <<<"allow $A4/32 tcp:7001
allow $A4/32 udp:7000
allow $NET2.0/24 udp
allow $NET6_1::/64 udp:7000
deny $NET1.0/24 any
deny $B4/32 udp:7002")
	assert_rc "apply -f YAML" 0 "$EGR" apply "$TGT" -f "$T/p1.yaml"
	assert_eq "apply output" "applied 6 rules to cgroup:/egr-e2e-$E2E_ID-apply (default deny)" "$LAST_OUT"
	assert_eq "list after YAML apply: exactly the file's rules (the live rule is gone)" \
		"$want_p1" "$(egr_rules "$TGT")"
	expect_udp pass "$A4" 7000 -m "YAML policy: A udp:7000 allowed"
	expect_tcp pass "$A4" 7001 -l 300 -m "YAML policy: A tcp:7001 allowed"
	expect_udp drop "$A4" 7003 -m "YAML policy: A udp:7003 falls to the /24 deny"
	expect_udp pass "$A6" 7000 -m "YAML policy: A v6 udp:7000 allowed"
	expect_udp pass "$B4" 7000 -m "YAML policy: B udp:7000 allowed by the /24"
	expect_udp drop "$B4" 7002 -m "YAML policy: B udp:7002 denied by the /32"
	expect_udp drop "$C4" 7000 -m "YAML policy: C (live rule replaced) denied"
	hits1=$(egr_hits "$TGT")
	assert_rc "apply the same file again" 0 "$EGR" apply "$TGT" -f "$T/p1.yaml"
	assert_eq "re-apply of the same rules keeps their hit counts" "$hits1" "$(egr_hits "$TGT")"
}

test_apply_json() {
	egr_new json
	cat >"$T/p2.json" <<EOF
{
  "default": "allow",
  "audit": false,
  "rules": [
    {"deny": "$B4", "ports": ["udp:7002"]},
    {"deny": "any", "ports": ["tcp:7001"]}
  ]
}
EOF
	assert_rc "apply -f JSON" 0 "$EGR" apply "$TGT" -f "$T/p2.json"
	assert_eq "apply output (JSON)" "applied 3 rules to cgroup:/egr-e2e-$E2E_ID-json (default allow)" "$LAST_OUT"
	assert_eq "list after JSON apply: default allow + exactly the file's rules" "allow
$(sort <<<"deny 0.0.0.0/0 tcp:7001
deny $B4/32 udp:7002
deny ::/0 tcp:7001")" "$("$EGR" list "$TGT" -j | jq -r '.[0].default'; egr_rules "$TGT")"
	expect_udp pass "$A4" 7000 -m "JSON policy: A udp:7000 (default allow)"
	expect_tcp drop "$A4" 7001 -m "JSON policy: A tcp:7001 (deny any)"
	expect_udp drop "$B4" 7002 -m "JSON policy: B udp:7002 denied"
	expect_udp pass "$C4" 7000 -m "JSON policy: C udp:7000 (default allow)"
}

# audit: true passes would-be drops and counts them
test_apply_audit() {
	egr_new audit
	printf 'default: deny\naudit: true\nrules: []\n' >"$T/audit.yaml"
	assert_rc "apply audit: true, no rules" 0 "$EGR" apply "$TGT" -f "$T/audit.yaml"
	assert_eq "list -j: audit on, default deny, no rules" "true deny 0" \
		"$("$EGR" list "$TGT" -j | jq -r '.[0] | "\(.audit) \(.default) \(.rules | length)"')"
	expect_udp pass "$C4" 7000 -m "audit: would-be drops arrive"
	assert_eq "audit: status counts them as audit" 10 \
		"$(egr_status "$TID" | jq -r '.counters.audit.packets')"
}

# From 16 KiB on, apply parses a file in pieces, one per CPU, and fills the
# maps from two threads; on one CPU (taskset -c 0) it does all of it in one.
# The policy in force, the output and the errors are the same either way.
test_big_file_all_cpus_or_one() {
	local big_out big_rules big_lines big_err i
	egr_new bigfile
	{
		echo "# 3000 prefixes, some with ports, a duplicate every 250"
		echo "default: deny"
		echo "rules:"
		for i in $(seq 0 2999); do
			echo "  - allow: 100.$((i / 250)).$((i % 250)).0/24"
			[ $((i % 7)) -eq 0 ] && echo "    ports: [udp:$((7000 + i % 5)), tcp:443]"
			[ $((i % 250)) -eq 0 ] && printf '  # %s\n  - {allow: 8.8.8.8, ports: udp:53}\n' "$i"
		done
		echo "  - allow: $A4"
		echo "audit: false"
	} >"$T/big.yaml"
	printf 'default: deny\nrules: []\n' >"$T/empty.yaml"
	big_out="applied 3431 rules to cgroup:/egr-e2e-$E2E_ID-bigfile (default deny)"
	assert_range "big file: over the 16 KiB from which it is cut" 16385 1000000 "$(stat -c %s "$T/big.yaml")"
	assert_rc "apply a 3431-rule file (all CPUs)" 0 "$EGR" apply "$TGT" -f "$T/big.yaml"
	assert_eq "apply output (all CPUs)" "$big_out" "$LAST_OUT"
	big_rules=$(egr_rules "$TGT")
	assert_eq "list: 3431 rules (all CPUs)" 3431 "$(wc -l <<<"$big_rules")"
	assert_eq "list: the duplicate once, first rule and last" "1 1 1" \
		"$(grep -c '^allow 8.8.8.8/32 udp:53$' <<<"$big_rules") $(grep -c '^allow 100.0.0.0/24 tcp:443$' <<<"$big_rules") $(grep -c "^allow $A4/32 any\$" <<<"$big_rules")"
	assert_rc "apply an empty policy" 0 "$EGR" apply "$TGT" -f "$T/empty.yaml"
	assert_rc "apply the 3431-rule file on one CPU" 0 taskset -c 0 "$EGR" apply "$TGT" -f "$T/big.yaml"
	assert_eq "apply output (one CPU)" "$big_out" "$LAST_OUT"
	assert_eq "list (one CPU) equals list (all CPUs)" "$big_rules" "$(egr_rules "$TGT")"
	# a bad rule as the last item, just before the final "audit: false"
	big_lines=$(wc -l <"$T/big.yaml")
	sed -i '$i\  - allow: 100.0.0.300' "$T/big.yaml"
	assert_rc "apply a big file with a bad last rule (all CPUs)" 1 "$EGR" apply "$TGT" -f "$T/big.yaml"
	big_err=$LAST_ERR
	assert_match "the error names the bad rule's line" ":$big_lines: .*100\.0\.0\.300" "$big_err"
	assert_rc "the same on one CPU" 1 taskset -c 0 "$EGR" apply "$TGT" -f "$T/big.yaml"
	assert_eq "the same error on one CPU" "$big_err" "$LAST_ERR"
	assert_eq "the bad file changed nothing" "$big_rules" "$(egr_rules "$TGT")"
}

# swap_round N FILE WANT UP DOWN: apply FILE; list must equal the file;
# then wait until stream UP got one datagram more through and stream DOWN
# one more refused: the policy is in force for the traffic.
swap_round() {
	local n=$1 f=$2 want=$3 up=$4 down=$5 got u d
	u=$(stream_count "$up" sent) d=$(stream_count "$down" errors)
	"$EGR" apply "$TGT" -f "$f" >/dev/null || applyfail=$((applyfail + 1))
	got=$("$EGR" list "$TGT" -j |
		jq -r '.[0] | "\(.default) \(.rules | map("\(.action) \(.dest) \(.ports)") | join(","))"')
	if [ "$got" != "$want" ]; then
		mismatch=$((mismatch + 1))
		[ "$mismatch" -le 3 ] && diag "apply $n: list says '$got', file says '$want'"
	fi
	stream_wait "$up" sent $((u + 1)) && stream_wait "$down" errors $((d + 1))
}

# 20 rounds of (apply B, apply A) while three senders stream: each apply
# waits until the traffic shows it, so both policies are in force for part
# of the traffic, in turns; every datagram is judged by one of them.
test_swap_under_traffic() {
	local want_a want_b applyfail=0 mismatch=0 rounds=0 i total st
	local sa ea ra sb eb rb sc ec rc
	egr_new swap
	printf 'default: deny\nrules:\n  - allow: %s\n    ports: [udp:7010]\n' "$A4" >"$T/pa.yaml"
	printf '{"default": "deny", "rules": [{"allow": "%s", "ports": ["udp:7010"]}]}\n' "$B4" >"$T/pb.json"
	want_a="deny allow $A4/32 udp:7010"
	want_b="deny allow $B4/32 udp:7010"
	assert_rc "swap: apply policy A first" 0 "$EGR" apply "$TGT" -f "$T/pa.yaml"
	stream_start wa "$A4" 7010 -i 2000 || return 1
	stream_start wb "$B4" 7010 -i 2000 || return 1
	stream_start wc "$C4" 7010 -i 2000 || return 1
	for i in $(seq 20); do
		swap_round "${i}b" "$T/pb.json" "$want_b" wb wa || break
		swap_round "${i}a" "$T/pa.yaml" "$want_a" wa wb || break
		rounds=$i
	done
	stream_stop wa
	sa=$STREAM_SENT ea=$STREAM_ERRORS ra=$STREAM_RX
	stream_stop wb
	sb=$STREAM_SENT eb=$STREAM_ERRORS rb=$STREAM_RX
	stream_stop wc
	sc=$STREAM_SENT ec=$STREAM_ERRORS rc=$STREAM_RX
	assert_eq "20 rounds of (apply B, apply A), each in force for the traffic" 20 "$rounds"
	assert_eq "all applies succeed" 0 "$applyfail"
	assert_eq "list after every apply equals the file" 0 "$mismatch"
	assert_eq "receiver A got exactly what got through to A" "$sa" "$ra"
	assert_eq "receiver B got exactly what got through to B" "$sb" "$rb"
	assert_eq "destination in neither policy: nothing got through, nothing arrived" "0 0" "$sc $rc"
	assert_range "A was allowed part of the time" 20 100000000 "$ra"
	assert_range "B was allowed part of the time" 20 100000000 "$rb"
	assert_range "A was denied part of the time" 20 100000000 "$ea"
	assert_range "B was denied part of the time" 20 100000000 "$eb"
	total=$((sa + ea + sb + eb + ec))
	st=$(egr_status "$TID")
	assert_eq "status: allowed + denied = every datagram sent" "$total" \
		"$(jq -r '.counters.allowed.packets + .counters.denied.packets' <<<"$st")"
	assert_eq "status: allowed = delivered to A + B" $((ra + rb)) \
		"$(jq -r '.counters.allowed.packets' <<<"$st")"
	assert_eq "status: no packet judged without a policy (nopolicy 0)" 0 \
		"$(jq -r '.counters.nopolicy.packets' <<<"$st")"
}

# ---- SIGKILL on a big policy -------------------------------------------------------
cat >"$T/p0.yaml" <<EOF
default: deny
rules:
  - allow: $A4
    ports: [udp:7020]
  - allow: $NET2.0/24
    ports: [tcp]
EOF
want_p0=$(sort <<<"allow $A4/32 udp:7020
allow $NET2.0/24 tcp")
awk 'BEGIN { print "default: deny"; print "rules:";
	for (i = 0; i < 50000; i++)
		printf "  - allow: 10.%d.%d.%d/32\n    ports: [tcp:443]\n", int(i / 65536), int(i / 256) % 256, i % 256 }' >"$T/big50k.yaml"
awk 'BEGIN { for (i = 0; i < 50000; i++)
	printf "allow 10.%d.%d.%d/32 tcp:443\n", int(i / 65536), int(i / 256) % 256, i % 256 }' |
	sort | md5sum >"$T/big.md5"

# big_setup NAME: a cgroup attached with room for 50000 rules (CGB, cgbid),
# P0 applied after some live-edit churn (so the old policy has freed ids on
# its free stack). Measures a full apply of the big policy (FULL, ms): the
# kill points are spread over it.
big_setup() {
	local ok=1 n t0
	egr_new "$1" --max-rules 65536
	CGB=$TGT cgbid=$TID
	"$EGR" apply "$CGB" -f "$T/p0.yaml" >/dev/null || ok=0
	for n in 1 2 3; do "$EGR" allow "$CGB" "10.99.0.$n" >/dev/null || ok=0; done
	for n in 1 2 3; do "$EGR" remove "$CGB" "10.99.0.$n" >/dev/null || ok=0; done
	assert_eq "$1: policy P0 applied (after some allow/remove churn)" 1 "$ok"
	assert_eq "$1: list = P0" "$want_p0" "$(egr_rules "$CGB")"
	t0=$(now_ms)
	assert_rc "$1: full apply of 50000 rules" 0 "$EGR" apply "$CGB" -f "$T/big50k.yaml"
	FULL=$(($(now_ms) - t0))
	diag "apply of 50000 rules took $FULL ms"
	assert_eq "$1: list = the 50000 rules" "$(cat "$T/big.md5")" "$(egr_rules "$CGB" | md5sum)"
	assert_rc "$1: back to P0" 0 "$EGR" apply "$CGB" -f "$T/p0.yaml"
}

# consistent NAME: status agrees with list on the rule count, rule ids
# are unique.
consistent() {
	local j n st
	j=$("$EGR" list "$CGB" -j)
	n=$(jq -r '.[0].rules | length' <<<"$j")
	st=$(egr_status "$cgbid" | jq -r '.rules')
	if [ "$(jq -r '[.[0].rules[].id] | length == (unique | length)' <<<"$j")" != true ]; then
		diag "$1: duplicate rule ids" >&2
		return 1
	fi
	if [ "$st" != "$n" ]; then
		diag "$1: status says $st rules, list shows $n" >&2
		return 1
	fi
	return 0
}

# state_ok NAME: the policy in force is one complete policy (P0 or the big
# one), status agrees with list, rule ids are unique. Echoes p0|big|bad.
state_ok() {
	local j rules n st
	j=$("$EGR" list "$CGB" -j)
	rules=$(jq -r '.[0].rules[] | "\(.action) \(.dest) \(.ports)"' <<<"$j" | sort)
	n=$(jq -r '.[0].rules | length' <<<"$j")
	st=$(egr_status "$cgbid" | jq -r '.rules')
	if [ "$(jq -r '[.[0].rules[].id] | length == (unique | length)' <<<"$j")" != true ]; then
		diag "$1: duplicate rule ids" >&2
		echo bad
	elif [ "$st" != "$n" ]; then
		diag "$1: status says $st rules, list shows $n" >&2
		echo bad
	elif [ "$rules" = "$want_p0" ]; then
		echo p0
	elif [ "$n" = 50000 ] && [ "$(md5sum <<<"$rules")" = "$(cat "$T/big.md5")" ]; then
		echo big
	else
		diag "$1: neither policy: $n rules" >&2
		echo bad
	fi
}

# must_send VAR N DEST PORT WHY: N datagrams from the cgroup that must get
# through: VAR grows by N; else WHY is reported and bad grows.
must_send() {
	local -n _sent=$1
	if cg_run "$TCG" "$PEER" udp-send "$3" "$4" "$2" >/dev/null 2>&1; then
		_sent=$((_sent + $2))
	else
		diag "$5"
		bad=$((bad + 1))
	fi
}

# apply killed with SIGKILL at 10 points spread over a full apply (the
# points are a stimulus: however they fall, one complete policy must be in
# force each time)
test_apply_killed() {
	local bad=0 nold=0 nnew=0 sent_a=0 sent_c30=0 pct d s
	big_setup big
	peer_bg "$NA" "$T/k-a" udp-recv 7020 900 -b -p "$T/k-a.p" || fail "receiver ready"
	peer_bg "$NC" "$T/k-c" udp-recv 7020 900 -b -p "$T/k-c.p" || fail "receiver ready"
	peer_bg "$NC" "$T/k-c30" udp-recv 7030 900 -b -p "$T/k-c30.p" || fail "receiver ready"
	for pct in 5 15 25 35 45 55 65 75 85 95; do
		d=$((FULL * pct / 100))
		kill_after "$d" "$EGR" apply "$CGB" -f "$T/big50k.yaml"
		s=$(state_ok "apply killed after $d ms")
		case $s in
		p0)
			nold=$((nold + 1))
			# P0 enforced: A udp:7020 gets through, C does not
			must_send sent_a 10 "$A4" 7020 "apply killed after $d ms: P0 listed, but A udp:7020 denied"
			cg_run "$TCG" "$PEER" udp-send "$C4" 7020 5 >/dev/null 2>&1 && bad=$((bad + 1))
			;;
		big)
			nnew=$((nnew + 1))
			cg_run "$TCG" "$PEER" udp-send "$A4" 7020 5 >/dev/null 2>&1 && bad=$((bad + 1))
			"$EGR" apply "$CGB" -f "$T/p0.yaml" >/dev/null || bad=$((bad + 1))
			;;
		*) bad=$((bad + 1)) ;;
		esac
		# a live edit after the kill works and is consistent
		if "$EGR" allow "$CGB" "$C4" udp:7030 >/dev/null; then
			[ "$(egr_rules "$CGB")" = "$(printf '%s\n%s' "$want_p0" "allow $C4/32 udp:7030" | sort)" ] ||
				bad=$((bad + 1))
			consistent "allow after kill" || bad=$((bad + 1))
			cg_run "$TCG" "$PEER" udp-send "$C4" 7030 3 >/dev/null 2>&1 && sent_c30=$((sent_c30 + 3))
			"$EGR" remove "$CGB" "$C4" udp:7030 >/dev/null || bad=$((bad + 1))
		else
			bad=$((bad + 1))
		fi
		[ "$(state_ok "after allow/remove")" = p0 ] || bad=$((bad + 1))
	done
	diag "apply SIGKILLed 10 times: $nold left the old policy, $nnew the new one"
	assert_eq "apply SIGKILLed at 10 points: one complete policy in force each time" 0 "$bad"
	assert_eq "after the kills: A received exactly what P0 let through (+ the fence)" \
		"$((sent_a + 1)) $((sent_a * 64 + 1))" "$(recv_done "$T/k-a" "$A4" 7020 "$sent_a")"
	assert_eq "after the kills: C udp:7020 (never allowed) received nothing (the fence alone)" "1 1" \
		"$(recv_done "$T/k-c" "$C4" 7020 0)"
	assert_eq "after the kills: C udp:7030 received exactly the allowed sends (+ the fence)" \
		"$((sent_c30 + 1)) $((sent_c30 * 64 + 1))" "$(recv_done "$T/k-c30" "$C4" 7030 "$sent_c30")"
	assert_eq "big: no packet judged without a policy (nopolicy 0)" 0 \
		"$(egr_status "$cgbid" | jq -r '.counters.nopolicy.packets')"
	assert_rc "big: a full apply still works after the kills" 0 "$EGR" apply "$CGB" -f "$T/big50k.yaml"
	assert_eq "big: list = the 50000 rules" "$(cat "$T/big.md5")" "$(egr_rules "$CGB" | md5sum)"
}

# allow killed with SIGKILL at 10 points
test_allow_killed() {
	local bad=0 with=0 without=0 sent_a=0 sent_c30=0 d r
	big_setup big2
	peer_bg "$NA" "$T/l-a" udp-recv 7020 900 -b -p "$T/l-a.p" || fail "receiver ready"
	peer_bg "$NC" "$T/l-c30" udp-recv 7030 900 -b -p "$T/l-c30.p" || fail "receiver ready"
	for d in 0 1 2 3 4 5 6 8 10 15; do
		kill_after "$d" "$EGR" allow "$CGB" "$C4" udp:7030
		r=$(egr_rules "$CGB")
		if [ "$r" = "$want_p0" ]; then
			without=$((without + 1))
			cg_run "$TCG" "$PEER" udp-send "$C4" 7030 3 >/dev/null 2>&1 && bad=$((bad + 1))
		elif [ "$r" = "$(printf '%s\n%s' "$want_p0" "allow $C4/32 udp:7030" | sort)" ]; then
			with=$((with + 1))
			must_send sent_c30 3 "$C4" 7030 "allow killed after $d ms: rule listed, but traffic denied"
			"$EGR" remove "$CGB" "$C4" udp:7030 >/dev/null || bad=$((bad + 1))
		else
			diag "allow killed after $d ms: list shows: $r"
			bad=$((bad + 1))
		fi
		[ "$(state_ok "allow killed after $d ms")" = p0 ] || bad=$((bad + 1))
		must_send sent_a 10 "$A4" 7020 "allow killed after $d ms: A udp:7020 (P0) denied"
	done
	diag "allow SIGKILLed 10 times: $with completed, $without did not"
	assert_eq "allow SIGKILLed at 10 points: P0 (+ the rule or not) enforced each time" 0 "$bad"
	assert_eq "after the kills: A received exactly what P0 let through (+ the fence)" \
		"$((sent_a + 1)) $((sent_a * 64 + 1))" "$(recv_done "$T/l-a" "$A4" 7020 "$sent_a")"
	assert_eq "after the kills: C udp:7030 received exactly the allowed sends (+ the fence)" \
		"$((sent_c30 + 1)) $((sent_c30 * 64 + 1))" "$(recv_done "$T/l-c30" "$C4" 7030 "$sent_c30")"
}

# ---- apply and allow killed before each of their writes (gdb) ----------------
# Deterministic kill points: gdb stops the command at the entry of its k-th
# bpf() call and kills it there, for every call from its first write on.
# Each time the state is rebuilt the same way first (fresh attach, a policy,
# allow/remove churn so the free-id stack is not empty), so the k-th call is
# the same call in every run.
printf 'default: deny\nrules:\n  - allow: %s\n    ports: [udp:7040]\n  - allow: %s\n    ports: [tcp]\n' \
	"$A4" "$NET2.0/24" >"$T/s-old.yaml"
printf 'default: deny\nrules:\n  - allow: %s\n    ports: [udp:7040]\n  - deny: %s\n  - allow: %s\n' \
	"$B4" "$A4" "$NET6_1::/64" >"$T/s-new.yaml"
s_old=$(sort <<<"allow $A4/32 udp:7040
allow $NET2.0/24 tcp")
s_new=$(sort <<<"allow $B4/32 udp:7040
allow $NET6_1::/64 any
deny $A4/32 any")
s_old_plus=$(printf '%s\nallow %s/32 udp:7041' "$s_old" "$C4" | sort)

# sweep_setup NAME: the cgroup of a sweep (cgk, cgkid, CGK; attached by
# sweep_reset), a receiver for A udp:7040 (OUT $T/NAME-a).
sweep_setup() {
	cgk=$(cg_new "$1")
	cgkid=$(stat -c %i "$cgk")
	CGK=cgroup:$cgk
	echo "$cgk $cgkid" >>"$E2E_TMP/.attached"
	sweep_sent=0
	peer_bg "$NA" "$T/$1-a" udp-recv 7040 900 -b -p "$T/$1-a.p" || fail "receiver ready"
}
sweep_reset() {
	"$EGR" detach "$CGK" >/dev/null 2>&1
	"$EGR" attach "$CGK" >/dev/null 2>&1 &&
		"$EGR" apply "$CGK" -f "$T/s-old.yaml" >/dev/null &&
		"$EGR" allow "$CGK" 10.98.0.1 udp tcp >/dev/null &&
		"$EGR" allow "$CGK" 10.98.0.2 >/dev/null &&
		"$EGR" remove "$CGK" 10.98.0.1 udp tcp >/dev/null &&
		"$EGR" remove "$CGK" 10.98.0.2 >/dev/null
}
# bpf_cmds CMD...: the bpf() command numbers CMD makes, one a line
bpf_cmds() {
	printf '%s\n' 'catch syscall bpf' 'commands 1' 'silent' 'printf "bpfcmd %d\n", $rdi' \
		'continue' 'end' 'run' >"$T/count.gdb"
	timeout 60 gdb -q -batch -nx -x "$T/count.gdb" --args "$@" 2>/dev/null |
		awk '/^bpfcmd / { if (n++ % 2 == 0) print $2 }'
}
# kill_before K CMD...: run CMD, SIGKILL it at the entry of bpf() call K+1
kill_before() {
	local k=$1
	shift
	timeout 60 gdb -q -batch -nx -ex 'catch syscall bpf' -ex "ignore 1 $((2 * k))" -ex run \
		-ex kill --args "$@" >/dev/null 2>&1
}
# first write: MAP_CREATE 0, MAP_UPDATE_ELEM 2, MAP_DELETE_ELEM 3,
# MAP_UPDATE_BATCH 26, MAP_DELETE_BATCH 27
first_write() { awk '$1 == 0 || $1 == 2 || $1 == 3 || $1 == 26 || $1 == 27 { print NR - 1; exit }'; }
# sweep_check WHAT ALLOWED...: after a kill, the rules in force are one
# of the ALLOWED lists, status agrees, ids are unique, a live edit
# after it gets unique ids, and traffic follows the list.
sweep_check() {
	local what=$1 r n st j ok=0 a
	shift
	j=$("$EGR" list "$CGK" -j)
	r=$(jq -r '.[0].rules[] | "\(.action) \(.dest) \(.ports)"' <<<"$j" | sort)
	for a in "$@"; do [ "$r" = "$a" ] && ok=1; done
	if [ "$ok" -ne 1 ]; then
		diag "$what: rules in force are neither the old nor the new policy: $(tr '\n' ',' <<<"$r")"
		return 1
	fi
	n=$(jq -r '.[0].rules | length' <<<"$j")
	st=$(egr_status "$cgkid" | jq -r .rules)
	if [ "$st" != "$n" ]; then
		diag "$what: status says $st rules, list shows $n"
		return 1
	fi
	# traffic: A udp:7040 passes exactly when the old policy is in force
	if [ "$r" = "$s_new" ]; then
		cg_run "$cgk" "$PEER" udp-send "$A4" 7040 2 >/dev/null 2>&1 && {
			diag "$what: new policy listed, but A udp:7040 passes"
			return 1
		}
	else
		if cg_run "$cgk" "$PEER" udp-send "$A4" 7040 2 >/dev/null 2>&1; then
			sweep_sent=$((sweep_sent + 2))
		else
			diag "$what: old policy listed, but A udp:7040 denied"
			return 1
		fi
	fi
	"$EGR" allow "$CGK" 10.98.0.9 udp tcp >/dev/null || {
		diag "$what: a live edit after the kill fails"
		return 1
	}
	j=$("$EGR" list "$CGK" -j)
	if [ "$(jq -r '[.[0].rules[].id] | length == (unique | length)' <<<"$j")" != true ]; then
		diag "$what: after a live edit, rule ids are shared: $(jq -c '[.[0].rules[] | "\(.dest) \(.ports) id \(.id)"]' <<<"$j")"
		return 1
	fi
	return 0
}

# sweep NAME ALLOWED... -- CMD...: kills CMD before each of its bpf() calls
# from its first write on; after each kill the state must pass sweep_check
# against ALLOWED. Prints "KILLPOINTS BAD".
sweep() {
	local what=$1 cmds total k0 k bad=0
	local -a allowed=()
	shift
	while [ "$1" != -- ]; do
		allowed+=("$1")
		shift
	done
	shift
	sweep_reset || diag "sweep: reset failed"
	cmds=$(bpf_cmds "$@")
	total=$(wc -l <<<"$cmds")
	k0=$(first_write <<<"$cmds")
	diag "$what makes $total bpf() calls, the first write is call $((k0 + 1))"
	for k in $(seq "$k0" $((total - 1))); do
		sweep_reset || { bad=$((bad + 1)); continue; }
		kill_before "$k" "$@"
		sweep_check "$what killed before bpf() call $((k + 1))" "${allowed[@]}" || bad=$((bad + 1))
	done
	SWEEP_POINTS=$((total - k0)) SWEEP_BAD=$bad
}

test_apply_killed_before_each_write() {
	if ! command -v gdb >/dev/null; then
		skip "apply killed before each write" "gdb not installed"
		return 0
	fi
	sweep_setup sweep
	sweep apply "$s_old" "$s_new" -- "$EGR" apply "$CGK" -f "$T/s-new.yaml"
	assert_range "apply: kill points swept" 5 1000 "$SWEEP_POINTS"
	assert_eq "apply killed before each of its writes: one complete, consistent policy each time" \
		0 "$SWEEP_BAD"
	assert_eq "sweep: A received exactly the datagrams the old policy let through (+ the fence)" \
		"$((sweep_sent + 1)) $((sweep_sent * 64 + 1))" "$(recv_done "$T/sweep-a" "$A4" 7040 "$sweep_sent")"
}

test_allow_killed_before_each_write() {
	if ! command -v gdb >/dev/null; then
		skip "allow killed before each write" "gdb not installed"
		return 0
	fi
	sweep_setup sweep2
	sweep allow "$s_old" "$s_old_plus" -- "$EGR" allow "$CGK" "$C4" udp:7041
	assert_range "allow: kill points swept" 3 1000 "$SWEEP_POINTS"
	assert_eq "allow killed before each of its writes: old policy, or old + the rule, consistent" \
		0 "$SWEEP_BAD"
	assert_eq "sweep (allow): A received exactly the datagrams the old policy let through (+ the fence)" \
		"$((sweep_sent + 1)) $((sweep_sent * 64 + 1))" "$(recv_done "$T/sweep2-a" "$A4" 7040 "$sweep_sent")"
}

run_tests
