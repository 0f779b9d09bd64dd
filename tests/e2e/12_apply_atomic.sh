#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# apply: YAML and JSON policy files replace the whole policy (rules,
# default, audit); a big file gives the same policy, output and errors on
# all CPUs (cut and parsed in pieces) and on one; up to 100 applies (60 s bound) alternate two policies
# while three senders stream (every datagram is judged by one policy:
# counters add up to what was sent, receivers get exactly what got through,
# nothing is judged without a policy, the destination in neither policy
# gets nothing, list equals the file after every apply); apply and allow
# killed with SIGKILL at various points leave one complete policy enforced:
# at timed points on a 50000-rule policy, and (with gdb) before each of
# their bpf() writes in turn, where the state must also stay consistent
# (status agrees with list, a later live edit gets rule ids nobody else
# uses).
# Needs jq; the deterministic kill points need gdb (skipped without).
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

# recv_stop OUT...: receivers whose senders are done get 0.5 s more, then
# SIGTERM (they print what they counted); saves waiting out their window.
recv_stop() {
	local o
	sleep 0.5
	for o in "$@"; do _kill_tree TERM "$(cat "$o.pid")"; done
}

# ---- topology ----------------------------------------------------------------
pick_nets 3
S=${E2E_ID:2:6}
NA=k12a$S NB=k12b$S NC=k12c$S
netns_up "$NA" "$NET1.2/24" "$NET6_1::2/64"
netns_up "$NB" "$NET2.2/24" "$NET6_2::2/64"
netns_up "$NC" "$NET3.2/24" -
A4=$(ns_ip4 "$NA") A6=$(ns_ip6 "$NA") B4=$(ns_ip4 "$NB") C4=$(ns_ip4 "$NC")
T=$E2E_TMP

cg=$(cg_new apply)
cgid=$(stat -c %i "$cg")
CG=cgroup:$cg
assert_rc "attach" 0 egr_attach "$cg"
assert_rc "a live rule before apply: allow $C4" 0 "$EGR" allow "$CG" "$C4"

# ---- 1. apply a YAML file -----------------------------------------------------
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
assert_rc "apply -f YAML" 0 "$EGR" apply "$CG" -f "$T/p1.yaml"
assert_eq "apply output" "applied 6 rules to cgroup:/egr-e2e-$E2E_ID-apply (default deny)" "$LAST_OUT"
assert_eq "list after YAML apply: exactly the file's rules (the live rule is gone)" \
	"$want_p1" "$(egr_rules "$CG")"
W=4
peer_bg "$NA" "$T/y-a7000" udp-recv 7000 $W
peer_bg "$NA" "$T/y-a7001" tcp-recv 7001 $W
peer_bg "$NA" "$T/y-a7003" udp-recv 7003 $W
peer_bg "$NA" "$T/y-a6" udp-recv -6 7000 $W
peer_bg "$NB" "$T/y-b7000" udp-recv 7000 $W
peer_bg "$NB" "$T/y-b7002" udp-recv 7002 $W
peer_bg "$NC" "$T/y-c7000" udp-recv 7000 $W
cg_run "$cg" "$PEER" udp-send "$A4" 7000 10 >/dev/null 2>&1
cg_run "$cg" "$PEER" tcp-send "$A4" 7001 -l 300 -t 2 >/dev/null 2>&1
cg_run "$cg" "$PEER" udp-send "$A4" 7003 10 >/dev/null 2>&1
cg_run "$cg" "$PEER" udp-send "$A6" 7000 10 >/dev/null 2>&1
cg_run "$cg" "$PEER" udp-send "$B4" 7000 10 >/dev/null 2>&1
cg_run "$cg" "$PEER" udp-send "$B4" 7002 10 >/dev/null 2>&1
cg_run "$cg" "$PEER" udp-send "$C4" 7000 10 >/dev/null 2>&1
assert_eq "YAML policy: A udp:7000 allowed (10)" 10 "$(wait_bg "$T/y-a7000")"
assert_eq "YAML policy: A tcp:7001 allowed" "1 300" "$(wait_bg "$T/y-a7001")"
assert_eq "YAML policy: A udp:7003 falls to the /24 deny (0)" 0 "$(wait_bg "$T/y-a7003")"
assert_eq "YAML policy: A v6 udp:7000 allowed (10)" 10 "$(wait_bg "$T/y-a6")"
assert_eq "YAML policy: B udp:7000 allowed by the /24 (10)" 10 "$(wait_bg "$T/y-b7000")"
assert_eq "YAML policy: B udp:7002 denied by the /32 (0)" 0 "$(wait_bg "$T/y-b7002")"
assert_eq "YAML policy: C (live rule replaced) denied (0)" 0 "$(wait_bg "$T/y-c7000")"
hits1=$(egr_hits "$CG")
assert_rc "apply the same file again" 0 "$EGR" apply "$CG" -f "$T/p1.yaml"
assert_eq "re-apply of the same rules keeps their hit counts" "$hits1" "$(egr_hits "$CG")"

# ---- 2. apply a JSON file -------------------------------------------------------
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
assert_rc "apply -f JSON" 0 "$EGR" apply "$CG" -f "$T/p2.json"
assert_eq "apply output (JSON)" "applied 3 rules to cgroup:/egr-e2e-$E2E_ID-apply (default allow)" "$LAST_OUT"
assert_eq "list after JSON apply: default allow + exactly the file's rules" "allow
$(sort <<<"deny 0.0.0.0/0 tcp:7001
deny $B4/32 udp:7002
deny ::/0 tcp:7001")" "$("$EGR" list "$CG" -j | jq -r '.[0].default'; egr_rules "$CG")"
peer_bg "$NA" "$T/j-a7000" udp-recv 7000 $W
peer_bg "$NA" "$T/j-a7001" tcp-recv 7001 $W
peer_bg "$NB" "$T/j-b7002" udp-recv 7002 $W
peer_bg "$NC" "$T/j-c7000" udp-recv 7000 $W
cg_run "$cg" "$PEER" udp-send "$A4" 7000 10 >/dev/null 2>&1
cg_run "$cg" "$PEER" tcp-send "$A4" 7001 -l 300 -t 1.5 >/dev/null 2>&1
cg_run "$cg" "$PEER" udp-send "$B4" 7002 10 >/dev/null 2>&1
cg_run "$cg" "$PEER" udp-send "$C4" 7000 10 >/dev/null 2>&1
assert_eq "JSON policy: A udp:7000 (default allow) 10" 10 "$(wait_bg "$T/j-a7000")"
assert_eq "JSON policy: A tcp:7001 (deny any) 0 conns" "0 0" "$(wait_bg "$T/j-a7001")"
assert_eq "JSON policy: B udp:7002 denied 0" 0 "$(wait_bg "$T/j-b7002")"
assert_eq "JSON policy: C udp:7000 (default allow) 10" 10 "$(wait_bg "$T/j-c7000")"

# audit: true passes would-be drops and counts them
printf 'default: deny\naudit: true\nrules: []\n' >"$T/audit.yaml"
a0=$(egr_status "$cgid" | jq -r '.counters.audit.packets')
assert_rc "apply audit: true, no rules" 0 "$EGR" apply "$CG" -f "$T/audit.yaml"
assert_eq "list -j: audit on, default deny, no rules" "true deny 0" \
	"$("$EGR" list "$CG" -j | jq -r '.[0] | "\(.audit) \(.default) \(.rules | length)"')"
peer_bg "$NC" "$T/au" udp-recv 7000 $W
cg_run "$cg" "$PEER" udp-send "$C4" 7000 10 >/dev/null 2>&1
assert_eq "audit: would-be drops arrive (10)" 10 "$(wait_bg "$T/au")"
assert_eq "audit: status counts them as audit" $((a0 + 10)) \
	"$(egr_status "$cgid" | jq -r '.counters.audit.packets')"

# ---- 2b. a big file: cut and parsed on every CPU, or whole on one ------------------
# From 16 KiB on, apply parses a file in pieces, one per CPU, and fills the
# maps from two threads; on one CPU (taskset -c 0) it does all of it in one.
# The policy in force, the output and the errors are the same either way.
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
big_out="applied 3431 rules to cgroup:/egr-e2e-$E2E_ID-apply (default deny)"
assert_range "big file: over the 16 KiB from which it is cut" 16385 1000000 "$(stat -c %s "$T/big.yaml")"
assert_rc "apply a 3431-rule file (all CPUs)" 0 "$EGR" apply "$CG" -f "$T/big.yaml"
assert_eq "apply output (all CPUs)" "$big_out" "$LAST_OUT"
big_rules=$(egr_rules "$CG")
assert_eq "list: 3431 rules (all CPUs)" 3431 "$(wc -l <<<"$big_rules")"
assert_eq "list: the duplicate once, first rule and last" "1 1 1" \
	"$(grep -c '^allow 8.8.8.8/32 udp:53$' <<<"$big_rules") $(grep -c '^allow 100.0.0.0/24 tcp:443$' <<<"$big_rules") $(grep -c "^allow $A4/32 any\$" <<<"$big_rules")"
assert_rc "apply an empty policy" 0 "$EGR" apply "$CG" -f "$T/audit.yaml"
assert_rc "apply the 3431-rule file on one CPU" 0 taskset -c 0 "$EGR" apply "$CG" -f "$T/big.yaml"
assert_eq "apply output (one CPU)" "$big_out" "$LAST_OUT"
assert_eq "list (one CPU) equals list (all CPUs)" "$big_rules" "$(egr_rules "$CG")"
# a bad rule as the last item, just before the final "audit: false"
big_lines=$(wc -l <"$T/big.yaml")
sed -i '$i\  - allow: 100.0.0.300' "$T/big.yaml"
assert_rc "apply a big file with a bad last rule (all CPUs)" 1 "$EGR" apply "$CG" -f "$T/big.yaml"
big_err=$LAST_ERR
assert_match "the error names the bad rule's line" ":$big_lines: .*100\.0\.0\.300" "$big_err"
assert_rc "the same on one CPU" 1 taskset -c 0 "$EGR" apply "$CG" -f "$T/big.yaml"
assert_eq "the same error on one CPU" "$big_err" "$LAST_ERR"
assert_eq "the bad file changed nothing" "$big_rules" "$(egr_rules "$CG")"

# ---- 3. 100 applies (bounded by 60 s) while three senders stream ------------------------------------
cgs=$(cg_new swap)
cgsid=$(stat -c %i "$cgs")
assert_rc "attach swap" 0 egr_attach "$cgs"
printf 'default: deny\nrules:\n  - allow: %s\n    ports: [udp:7010]\n' "$A4" >"$T/pa.yaml"
printf '{"default": "deny", "rules": [{"allow": "%s", "ports": ["udp:7010"]}]}\n' "$B4" >"$T/pb.json"
want_a="deny allow $A4/32 udp:7010"
want_b="deny allow $B4/32 udp:7010"
assert_rc "swap: apply policy A first" 0 "$EGR" apply "cgroup:$cgs" -f "$T/pa.yaml"
peer_bg "$NA" "$T/w-a" udp-recv 7010 300
peer_bg "$NB" "$T/w-b" udp-recv 7010 300
peer_bg "$NC" "$T/w-c" udp-recv 7010 300
for d in a:"$A4" b:"$B4" c:"$C4"; do
	run_bg - "$T/w-send-${d%%:*}" cg_run "$cgs" "$PEER" udp-send "${d#*:}" 7010 1000000 -i 2000 -t 250
done
sleep 0.3
applyfail=0 mismatch=0 rounds=0
t0=$(now_ms)
for i in $(seq 50); do
	# bounded in time too: a loaded host makes each apply slower
	if [ $(($(now_ms) - t0)) -gt 60000 ]; then
		diag "swap loop stopped by its 60 s bound after $rounds rounds"
		break
	fi
	rounds=$i
	for p in a b; do
		f=$T/pa.yaml
		want=$want_a
		[ "$p" = b ] && f=$T/pb.json want=$want_b
		"$EGR" apply "cgroup:$cgs" -f "$f" >/dev/null || applyfail=$((applyfail + 1))
		got=$("$EGR" list "cgroup:$cgs" -j |
			jq -r '.[0] | "\(.default) \(.rules | map("\(.action) \(.dest) \(.ports)") | join(","))"')
		if [ "$got" != "$want" ]; then
			mismatch=$((mismatch + 1))
			[ "$mismatch" -le 3 ] && diag "apply $i$p: list says '$got', file says '$want'"
		fi
	done
done
t1=$(now_ms)
diag "$((2 * rounds)) applies + lists in $((t1 - t0)) ms"
sleep 0.3
for d in a b c; do _kill_tree TERM "$(cat "$T/w-send-$d.pid")"; done
outa=$(wait_bg "$T/w-send-a" 10) outb=$(wait_bg "$T/w-send-b" 10) outc=$(wait_bg "$T/w-send-c" 10)
diag "senders: A '$outa', B '$outb', C '$outc'"
recv_stop "$T/w-a" "$T/w-b" "$T/w-c"
ra=$(wait_bg "$T/w-a" 10) rb=$(wait_bg "$T/w-b" 10) rc=$(wait_bg "$T/w-c" 10)
assert_range "at least 20 rounds of (apply A, apply B) ran" 20 50 "$rounds"
assert_eq "all applies succeed" 0 "$applyfail"
assert_eq "list after every apply equals the file" 0 "$mismatch"
assert_eq "receiver A got exactly what got through to A" "$(sent_of "$outa")" "$ra"
assert_eq "receiver B got exactly what got through to B" "$(sent_of "$outb")" "$rb"
assert_eq "destination in neither policy: nothing got through, nothing arrived" "0 0" \
	"$(sent_of "$outc") $rc"
assert_range "A was allowed part of the time" 1 1000000 "$ra"
assert_range "B was allowed part of the time" 1 1000000 "$rb"
assert_range "A was denied part of the time" 1 1000000 "$(errors_of "$outa")"
assert_range "B was denied part of the time" 1 1000000 "$(errors_of "$outb")"
total=$(($(sent_of "$outa") + $(errors_of "$outa") + $(sent_of "$outb") + $(errors_of "$outb") + $(errors_of "$outc")))
st=$(egr_status "$cgsid")
assert_eq "status: allowed + denied = every datagram sent" "$total" \
	"$(jq -r '.counters.allowed.packets + .counters.denied.packets' <<<"$st")"
assert_eq "status: allowed = delivered to A + B" $((ra + rb)) \
	"$(jq -r '.counters.allowed.packets' <<<"$st")"
assert_eq "status: no packet judged without a policy (nopolicy 0)" 0 \
	"$(jq -r '.counters.nopolicy.packets' <<<"$st")"

# ---- 4. apply killed with SIGKILL on a big policy ---------------------------------
cgb=$(cg_new big)
cgbid=$(stat -c %i "$cgb")
CGB=cgroup:$cgb
assert_rc "attach big --max-rules 65536" 0 egr_attach "$cgb" --max-rules 65536
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
		printf "  - allow: 10.%d.%d.%d/32\n    ports: [tcp:443]\n", int(i / 65536), int(i / 256) % 256, i % 256 }' >"$T/big.yaml"
awk 'BEGIN { for (i = 0; i < 50000; i++)
	printf "allow 10.%d.%d.%d/32 tcp:443\n", int(i / 65536), int(i / 256) % 256, i % 256 }' |
	sort | md5sum >"$T/big.md5"
# live-edit churn first, so the old policy has freed ids on its free stack
ok=1
"$EGR" apply "$CGB" -f "$T/p0.yaml" >/dev/null || ok=0
for n in 1 2 3; do "$EGR" allow "$CGB" "10.99.0.$n" >/dev/null || ok=0; done
for n in 1 2 3; do "$EGR" remove "$CGB" "10.99.0.$n" >/dev/null || ok=0; done
assert_eq "big: policy P0 applied (after some allow/remove churn)" 1 "$ok"
assert_eq "big: list = P0" "$want_p0" "$(egr_rules "$CGB")"

t0=$(now_ms)
assert_rc "big: full apply of 50000 rules" 0 "$EGR" apply "$CGB" -f "$T/big.yaml"
t1=$(now_ms)
full=$((t1 - t0))
diag "apply of 50000 rules took $full ms"
assert_eq "big: list = the 50000 rules" "$(cat "$T/big.md5")" "$(egr_rules "$CGB" | md5sum)"
assert_rc "big: back to P0" 0 "$EGR" apply "$CGB" -f "$T/p0.yaml"

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

peer_bg "$NA" "$T/k-a" udp-recv 7020 300
peer_bg "$NC" "$T/k-c" udp-recv 7020 300
peer_bg "$NC" "$T/k-c30" udp-recv 7030 300
bad=0 nold=0 nnew=0 sent_a=0 sent_c30=0
for pct in 5 15 25 35 45 55 65 75 85 95; do
	d=$((full * pct / 100))
	"$EGR" apply "$CGB" -f "$T/big.yaml" >/dev/null 2>&1 &
	pid=$!
	msleep "$d"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	s=$(state_ok "apply killed after $d ms")
	case $s in
	p0)
		nold=$((nold + 1))
		# P0 enforced: A udp:7020 gets through, C does not
		if cg_run "$cgb" "$PEER" udp-send "$A4" 7020 10 >/dev/null 2>&1; then
			sent_a=$((sent_a + 10))
		else
			diag "apply killed after $d ms: P0 listed, but A udp:7020 denied"
			bad=$((bad + 1))
		fi
		cg_run "$cgb" "$PEER" udp-send "$C4" 7020 5 >/dev/null 2>&1 && bad=$((bad + 1))
		;;
	big)
		nnew=$((nnew + 1))
		cg_run "$cgb" "$PEER" udp-send "$A4" 7020 5 >/dev/null 2>&1 && bad=$((bad + 1))
		"$EGR" apply "$CGB" -f "$T/p0.yaml" >/dev/null || bad=$((bad + 1))
		;;
	*) bad=$((bad + 1)) ;;
	esac
	# a live edit after the kill works and is consistent
	if "$EGR" allow "$CGB" "$C4" udp:7030 >/dev/null; then
		[ "$(egr_rules "$CGB")" = "$(printf '%s\n%s' "$want_p0" "allow $C4/32 udp:7030" | sort)" ] ||
			bad=$((bad + 1))
		consistent "allow after kill" || bad=$((bad + 1))
		cg_run "$cgb" "$PEER" udp-send "$C4" 7030 3 >/dev/null 2>&1 && sent_c30=$((sent_c30 + 3))
		"$EGR" remove "$CGB" "$C4" udp:7030 >/dev/null || bad=$((bad + 1))
	else
		bad=$((bad + 1))
	fi
	[ "$(state_ok "after allow/remove")" = p0 ] || bad=$((bad + 1))
done
diag "apply SIGKILLed 10 times: $nold left the old policy, $nnew the new one"
assert_eq "apply SIGKILLed at 10 points: one complete policy in force each time" 0 "$bad"

# allow killed with SIGKILL
bad=0 with=0 without=0
for d in 0 1 2 3 4 5 6 8 10 15; do
	"$EGR" allow "$CGB" "$C4" udp:7030 >/dev/null 2>&1 &
	pid=$!
	msleep "$d"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	r=$(egr_rules "$CGB")
	if [ "$r" = "$want_p0" ]; then
		without=$((without + 1))
		cg_run "$cgb" "$PEER" udp-send "$C4" 7030 3 >/dev/null 2>&1 && bad=$((bad + 1))
	elif [ "$r" = "$(printf '%s\n%s' "$want_p0" "allow $C4/32 udp:7030" | sort)" ]; then
		with=$((with + 1))
		if cg_run "$cgb" "$PEER" udp-send "$C4" 7030 3 >/dev/null 2>&1; then
			sent_c30=$((sent_c30 + 3))
		else
			diag "allow killed after $d ms: rule listed, but traffic denied"
			bad=$((bad + 1))
		fi
		"$EGR" remove "$CGB" "$C4" udp:7030 >/dev/null || bad=$((bad + 1))
	else
		diag "allow killed after $d ms: list shows: $r"
		bad=$((bad + 1))
	fi
	[ "$(state_ok "allow killed after $d ms")" = p0 ] || bad=$((bad + 1))
	if cg_run "$cgb" "$PEER" udp-send "$A4" 7020 10 >/dev/null 2>&1; then
		sent_a=$((sent_a + 10))
	else
		bad=$((bad + 1))
	fi
done
diag "allow SIGKILLed 10 times: $with completed, $without did not"
assert_eq "allow SIGKILLed at 10 points: P0 (+ the rule or not) enforced each time" 0 "$bad"

recv_stop "$T/k-a" "$T/k-c" "$T/k-c30"
assert_eq "after the kills: A received exactly what P0 let through" "$sent_a" "$(wait_bg "$T/k-a")"
assert_eq "after the kills: C udp:7020 (never allowed) received 0" 0 "$(wait_bg "$T/k-c")"
assert_eq "after the kills: C udp:7030 received exactly the allowed sends" "$sent_c30" \
	"$(wait_bg "$T/k-c30")"
assert_eq "big: no packet judged without a policy (nopolicy 0)" 0 \
	"$(egr_status "$cgbid" | jq -r '.counters.nopolicy.packets')"
assert_rc "big: a full apply still works after the kills" 0 "$EGR" apply "$CGB" -f "$T/big.yaml"
assert_eq "big: list = the 50000 rules" "$(cat "$T/big.md5")" "$(egr_rules "$CGB" | md5sum)"

# ---- 5. apply and allow killed before each of their writes (gdb) ----------------
# Deterministic kill points: gdb stops the command at the entry of its k-th
# bpf() call and kills it there, for every call from its first write on.
# Each time the state is rebuilt the same way first (fresh attach, a policy,
# allow/remove churn so the free-id stack is not empty), so the k-th call is
# the same call in every run.
if command -v gdb >/dev/null; then
	cgk=$(cg_new sweep)
	cgkid=$(stat -c %i "$cgk")
	CGK=cgroup:$cgk
	echo "$cgk $cgkid" >>"$E2E_TMP/.attached"
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
	sweep_sent=0
	peer_bg "$NA" "$T/sw-a" udp-recv 7040 300

	sweep_reset || fail "sweep: reset"
	cmds=$(bpf_cmds "$EGR" apply "$CGK" -f "$T/s-new.yaml")
	total=$(wc -l <<<"$cmds")
	k0=$(first_write <<<"$cmds")
	diag "apply makes $total bpf() calls, the first write is call $((k0 + 1))"
	bad=0
	for k in $(seq "$k0" $((total - 1))); do
		sweep_reset || { bad=$((bad + 1)); continue; }
		kill_before "$k" "$EGR" apply "$CGK" -f "$T/s-new.yaml"
		sweep_check "apply killed before bpf() call $((k + 1))" "$s_old" "$s_new" || bad=$((bad + 1))
	done
	assert_range "apply: kill points swept" 5 1000 $((total - k0))
	assert_eq "apply killed before each of its writes: one complete, consistent policy each time" \
		0 "$bad"

	sweep_reset || fail "sweep: reset"
	cmds=$(bpf_cmds "$EGR" allow "$CGK" "$C4" udp:7041)
	total=$(wc -l <<<"$cmds")
	k0=$(first_write <<<"$cmds")
	diag "allow makes $total bpf() calls, the first write is call $((k0 + 1))"
	bad=0
	for k in $(seq "$k0" $((total - 1))); do
		sweep_reset || { bad=$((bad + 1)); continue; }
		kill_before "$k" "$EGR" allow "$CGK" "$C4" udp:7041
		sweep_check "allow killed before bpf() call $((k + 1))" "$s_old" "$s_old_plus" ||
			bad=$((bad + 1))
	done
	assert_range "allow: kill points swept" 3 1000 $((total - k0))
	assert_eq "allow killed before each of its writes: old policy, or old + the rule, consistent" \
		0 "$bad"
	recv_stop "$T/sw-a"
	assert_eq "sweep: A received exactly the datagrams the old policy let through" "$sweep_sent" \
		"$(wait_bg "$T/sw-a")"
else
	skip "apply/allow killed before each write" "gdb not installed"
fi

e2e_done
