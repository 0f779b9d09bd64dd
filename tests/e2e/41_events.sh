#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# `egressctl events`: each denied probe (UDP v4 by a rule, UDP v6 and ICMP by
# the default) appears exactly once with the right destination, verdict,
# rule, length, hook, process, target and cgroup, in JSON (-j) and in the
# human format (UDP refused at the socket, ICMP dropped at egress); allowed
# traffic yields nothing. The reader turns events on in the kernel while it
# runs and off again however it stops (SIGTERM, SIGINT, --count, --timeout,
# a closed stdout). A flood of 100k denied packets: every one is denied and
# counted, events stay within burst + rate x the flood's duration, and
# sent + suppressed + lost = the flood exactly. Audit mode lets traffic
# through and reports it as verdict "audit"; switching it off (apply) is
# live. Without a target every attached cgroup is watched, including ones
# attached later. Bad options fail with a clear message. The reader is
# stopped once it has printed what is expected, never after a time.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr jq bpftool

ALL_TESTS="test_denied_probes_json test_human_format_count test_timeout test_sigint_second_reader
	test_closed_pipe test_no_reader test_flood_rate_limited test_audit_mode test_all_targets
	test_bad_options"

S=${E2E_ID:2:6}
NA=k41a$S
netns_up "$NA" 198.18.241.2/24 2001:db8:241::2/64
A4=$(ns_ip4 "$NA") A6=$(ns_ip6 "$NA") H4=$(host_ip4 "$NA") H6=$(host_ip6 "$NA")
T=$E2E_TMP
RULE="deny 198.18.241.2/32 udp:6000"

# evcfg ID FIELD: a field of the cgroup's egr_evcfg (enabled, rate, burst).
evcfg() {
	bpftool -j map lookup pinned "$EGR_PINS/$1/egr_evcfg" key 0 0 0 0 2>/dev/null |
		jq -r ".formatted.value.$2"
}
ev_is() { [ "$(evcfg "$1" enabled)" = "$2" ]; }

# stop_bg OUT SIGNAL: signal a run_bg job, print its output, return its rc.
stop_bg() {
	local pid
	pid=$(cat "$1.pid" 2>/dev/null)
	[ -n "$pid" ] && kill "-$2" "$pid" 2>/dev/null
	wait_bg "$1" 30
}

# reader_up OUT ID: wait (bounded) until the reader writing OUT turned
# events on for cgroup ID.
reader_up() {
	wait_for 15 ev_is "$2" 1 && return 0
	diag "events reader not up: $(cat "$1.err" 2>/dev/null)"
	return 1
}

# lines_ge FILE N [REGEX]: FILE has at least N lines (matching REGEX)
lines_ge() { [ "$(grep -c -- "${3:-.}" "$1" 2>/dev/null)" -ge "$2" ]; }
# wait_lines FILE N [REGEX]: until the reader printed them (bounded)
wait_lines() {
	wait_for 30 lines_ge "$@" && return 0
	diag "$1: $(grep -c -- "${3:-.}" "$1" 2>/dev/null) lines, not $2"
	return 1
}

# target NAME [ATTACH OPTS]: egr_new with the events policy (udp:6002 to A's
# /24 allowed, udp:6000 to A denied by a rule); L, the labels of its series
target() {
	egr_new "$@"
	rel=${TCG#"$CGROOT"}
	L="target=\"cgroup:$rel\",cgroup=\"$rel\""
	assert_rc "$1: allow A's /24 udp:6002, deny A udp:6000" 0 sh -c \
		'"$1" allow "$2" 198.18.241.0/24 udp:6002 && "$1" deny "$2" 198.18.241.2/32 udp:6000' \
		sh "$EGR" "$TGT"
}
scrape() { "$EGR" metrics "$TGT" >"$1"; }
ctr() { mval "$1" "egressctl_$2{$L}"; }
pk() { mval "$1" "egressctl_packets_total{$L,verdict=\"$2\"}"; }
probe() { cg_run "$TCG" "$PEER" udp-send "$@" >/dev/null 2>&1; }

# each denied probe once, with its 5-tuple (JSON)
test_denied_probes_json() {
	local t_before t_after ev e4 e6 ei ts
	target json
	assert_eq "no reader: events off in the kernel" 0 "$(evcfg "$TID" enabled)"
	run_bg - "$T/ev1" "$EGR" events "$TGT" -j --timeout 120
	assert_true "reader turns events on" reader_up "$T/ev1" "$TID"
	t_before=$(date -u +%s)
	expect_udp pass "$A4" 6002 -n 2 -l 10 -m "allowed traffic (no event)"
	expect_udp drop "$A4" 6000 -n 1 -l 33 -m "udp v4 probe denied (rule)"
	expect_udp drop "$A6" 6003 -n 1 -l 21 -m "udp v6 probe denied (default)"
	expect_ping drop "$A4" -n 1 -m "icmp probe denied (default)"
	assert_true "the reader printed the 3 denied probes" wait_lines "$T/ev1" 3
	assert_rc "reader stops on SIGTERM, exit 0" 0 stop_bg "$T/ev1" TERM
	t_after=$(date -u +%s)
	ev=$LAST_OUT
	diag "$ev"
	assert_eq "reader: nothing on stderr" "" "$(cat "$T/ev1.err")"
	assert_eq "exactly 3 events (allowed traffic gives none)" 3 "$(grep -c . <<<"$ev")"
	assert_eq "every line is one JSON object" 3 "$(jq -c . <<<"$ev" 2>/dev/null | grep -c '^{')"
	assert_eq "events off again after SIGTERM" 0 "$(evcfg "$TID" enabled)"
	e4=$(jq -c 'select(.dport == 6000)' <<<"$ev")
	assert_eq "udp v4 event: refused at sendmsg: no source, no packet built, the rule" \
		"4 udp null $A4 6000 denied $RULE 0 sendmsg" \
		"$(jq -r '"\(.family) \(.proto) \(.src) \(.dst) \(.dport) \(.verdict) \(.rule) \(.len) \(.hook)"' <<<"$e4")"
	assert_eq "udp v4 event: target, cgroup, cgroup_id" "cgroup:$rel $rel $TID" \
		"$(jq -r '"\(.target) \(.cgroup) \(.cgroup_id)"' <<<"$e4")"
	assert_eq "udp v4 event: the process (pid = tgid, comm peer, a socket cookie), rule id" \
		"true peer true true" \
		"$(jq -r '"\(.pid == .tgid and .pid > 1) \(.comm) \(.cookie > 0) \(.rule_id | type == "number")"' <<<"$e4")"
	e6=$(jq -c 'select(.family == 6)' <<<"$ev")
	assert_eq "udp v6 event: refused at sendmsg, default rule" \
		"udp null $A6 6003 denied default null 0 sendmsg peer" \
		"$(jq -r '"\(.proto) \(.src) \(.dst) \(.dport) \(.verdict) \(.rule) \(.rule_id) \(.len) \(.hook) \(.comm)"' <<<"$e6")"
	ei=$(jq -c 'select(.proto == "icmp")' <<<"$ev")
	assert_eq "icmp event (raw socket: only egress sees it): no ports, default, 84 bytes, no process" \
		"$H4 $A4 null null denied default 84 packet null" \
		"$(jq -r '"\(.src) \(.dst) \(.sport) \(.dport) \(.verdict) \(.rule) \(.len) \(.hook) \(.pid)"' <<<"$ei")"
	ts=$(jq -r '.time' <<<"$e4")
	assert_match "time is ISO 8601 UTC with microseconds" \
		'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$' "$ts"
	# an order of events, not a distance: sent after t_before, read before t_after
	assert_eq "time lies between the probe and its reading" "yes" \
		"$(s=$(date -u -d "$ts" +%s); [ "$s" -ge "$t_before" ] && [ "$s" -le "$t_after" ] && echo yes)"
}

# human format, --count
test_human_format_count() {
	local re4
	target human
	run_bg - "$T/ev2" "$EGR" events "$TGT" --count 1 --timeout 120
	reader_up "$T/ev2" "$TID" || fail "reader (--count) did not start"
	probe "$A4" 6000 1 -l 33
	assert_rc "--count 1: stops by itself, exit 0" 0 wait_bg "$T/ev2" 60
	re4=${A4//./\\.}
	assert_match "human line: time target pid comm proto dst:port denied by rule id \"text\"" \
		"^[0-9]{2}:[0-9]{2}:[0-9]{2} cgroup:$rel pid [0-9]+ peer udp $re4:6000 denied by rule [0-9]+ \"deny 198\\.18\\.241\\.2/32 udp:6000\"\$" \
		"$LAST_OUT"
	assert_eq "events off again after --count" 0 "$(evcfg "$TID" enabled)"
}

test_timeout() {
	local t0 t1 rc
	target timeout
	t0=$(date +%s%N)
	timeout 60 "$EGR" events "$TGT" --timeout 1 >"$T/ev-t" 2>&1
	rc=$?
	t1=$(date +%s%N)
	assert_eq "--timeout 1 without traffic: exit 0, by itself" 0 "$rc"
	assert_eq "--timeout: no output" "" "$(cat "$T/ev-t")"
	# it cannot end before its timeout (how long after is not judged)
	assert_eq "--timeout 1: not before 1 s" yes "$([ $(((t1 - t0) / 1000000)) -ge 1000 ] && echo yes)"
	assert_eq "events off again after --timeout" 0 "$(evcfg "$TID" enabled)"
}

test_sigint_second_reader() {
	target sigint
	run_bg - "$T/ev-int" "$EGR" events "$TGT"
	reader_up "$T/ev-int" "$TID" || fail "reader (SIGINT) did not start"
	assert_rc "a second reader of the same cgroup: exit 1" 1 "$EGR" events "$TGT" --timeout 1
	assert_eq "... one clear line" \
		"egressctl: events: cgroup:$rel: another \`egressctl events\` is reading it" "$LAST_ERR"
	assert_eq "... and the first one's events stay on" 1 "$(evcfg "$TID" enabled)"
	probe "$A4" 6000 1 -l 33
	wait_lines "$T/ev-int" 1
	assert_rc "reader stops on SIGINT, exit 0" 0 stop_bg "$T/ev-int" INT
	assert_match "... having printed the probe sent meanwhile" ' 198\.18\.241\.2:6000 denied by ' \
		"$LAST_OUT"
	assert_eq "events off again after SIGINT" 0 "$(evcfg "$TID" enabled)"
}

test_closed_pipe() {
	target pipe
	run_bg - "$T/ev-pipe" sh -c '"$1" events "$2" | head -n 1' sh "$EGR" "$TGT"
	reader_up "$T/ev-pipe" "$TID" || fail "reader (pipe) did not start"
	probe "$A4" 6000 1
	assert_true "head got the first event" wait_lines "$T/ev-pipe" 1
	probe "$A4" 6000 1 # written into a closed pipe
	assert_rc "reader into a closed pipe ends, exit 0" 0 wait_bg "$T/ev-pipe" 60
	assert_eq "events off again after stdout closed" 0 "$(evcfg "$TID" enabled)"
}

# no reader: nothing is produced
test_no_reader() {
	target quiet
	scrape "$T/m0"
	expect_udp drop "$A4" 6000 -n 5 -m "5 denied without a reader"
	scrape "$T/m1"
	assert_eq "no reader: 5 denied, no event sent or suppressed" "5 0 0 0" \
		"$(($(pk "$T/m1" denied) - $(pk "$T/m0" denied))) $(($(ctr "$T/m1" events_sent_total) - $(ctr "$T/m0" events_sent_total))) $(($(ctr "$T/m1" events_suppressed_total) - $(ctr "$T/m0" events_suppressed_total))) $(($(ctr "$T/m1" events_lost_total) - $(ctr "$T/m0" events_lost_total)))"
}

# a flood of 100k denied packets: rate-limited events
test_flood_rate_limited() {
	local RATE=50 BURST=10 FLOOD=100000 fl t0 t1 t2 t3 n_ev n_paced d_den d_sent d_sup d_lost max ms hi
	target flood
	run_bg - "$T/ev3" "$EGR" events "$TGT" -j --rate "$RATE" --burst "$BURST"
	reader_up "$T/ev3" "$TID" || fail "reader (flood) did not start"
	assert_eq "--rate/--burst set the token bucket" "$RATE $BURST" \
		"$(evcfg "$TID" rate) $(evcfg "$TID" burst)"
	scrape "$T/m2"
	t0=$(date +%s%N)
	fl=$(cg_run "$TCG" "$PEER" udp-flood "$A4" 6000 "$FLOOD" 60)
	t1=$(date +%s%N)
	diag "flood: $fl in $(((t1 - t0) / 1000000)) ms"
	# then a paced stream (one every 5 ms, 300 of them, to the default-denied
	# port 6005): the bucket, emptied by the flood, refills at RATE per second
	t2=$(date +%s%N)
	probe "$A4" 6005 300 -i 5000
	t3=$(date +%s%N)
	scrape "$T/m3"
	d_sent=$(($(ctr "$T/m3" events_sent_total) - $(ctr "$T/m2" events_sent_total)))
	# the reader is stopped once it has printed every event the kernel sent
	wait_lines "$T/ev3" "$d_sent" '^{'
	stop_bg "$T/ev3" TERM >"$T/ev3.lines"
	n_ev=$(jq -c 'select(.dport == 6000)' "$T/ev3.lines" | grep -c '^{')
	n_paced=$(jq -c 'select(.dport == 6005)' "$T/ev3.lines" | grep -c '^{')
	d_den=$(($(pk "$T/m3" denied) - $(pk "$T/m2" denied)))
	d_sup=$(($(ctr "$T/m3" events_suppressed_total) - $(ctr "$T/m2" events_suppressed_total)))
	d_lost=$(($(ctr "$T/m3" events_lost_total) - $(ctr "$T/m2" events_lost_total)))
	diag "denied +$d_den, events: sent +$d_sent suppressed +$d_sup lost +$d_lost, read $n_ev + $n_paced"
	assert_eq "flood: every send refused" "sent 0 errors $FLOOD" "${fl% pps *}"
	assert_eq "flood + paced: every packet denied and counted" $((FLOOD + 300)) "$d_den"
	assert_eq "flood + paced: sent + suppressed + lost = denied" "$d_den" $((d_sent + d_sup + d_lost))
	assert_eq "flood: nothing lost" 0 "$d_lost"
	assert_eq "flood: the reader got every event sent" "$d_sent" $((n_ev + n_paced))
	# the bucket starts full (BURST) and gains RATE a second: a bound in the
	# flood's own measured duration, whatever it was
	max=$((BURST + RATE * ((t1 - t0) / 1000000 + 999) / 1000 + RATE / 5))
	assert_range "flood: events within burst + rate x duration (max $max)" "$BURST" "$max" "$n_ev"
	ms=$(((t3 - t2) / 1000000))
	hi=$((BURST + RATE * (ms + 300) / 1000))
	# 300 x 5 ms is over 1.5 s: the bucket refills at least one token
	assert_range "paced: at least one event, at most burst + rate x its duration ($hi)" 1 "$hi" "$n_paced"
	assert_eq "flood: all events name the rule" "$n_ev" \
		"$(jq -c 'select(.rule == "'"$RULE"'" and .dport == 6000)' "$T/ev3.lines" | grep -c '^{')"
	assert_eq "events off again after the flood" 0 "$(evcfg "$TID" enabled)"
	assert_eq "the bucket keeps --rate/--burst" "$RATE $BURST" "$(evcfg "$TID" rate) $(evcfg "$TID" burst)"
}

test_audit_mode() {
	target audit
	assert_rc "attach --audit (live)" 0 "$EGR" attach "$TGT" --audit
	run_bg - "$T/ev4" "$EGR" events "$TGT" -j --rate 100 --burst 100
	reader_up "$T/ev4" "$TID" || fail "reader (audit) did not start"
	scrape "$T/m4"
	expect_udp pass "$A4" 6000 -n 3 -l 33 -m "audit: the denied probe goes out"
	wait_lines "$T/ev4" 3
	stop_bg "$T/ev4" TERM >"$T/ev4.lines"
	scrape "$T/m5"
	assert_eq "audit: 3 events, verdict audit, the deciding rule" \
		"3 3" "$(grep -c '^{' "$T/ev4.lines") $(jq -c 'select(.verdict == "audit" and .rule == "'"$RULE"'")' "$T/ev4.lines" | grep -c '^{')"
	assert_eq "audit: counted as audit, not denied" "3 0" \
		"$(($(pk "$T/m5" audit) - $(pk "$T/m4" audit))) $(($(pk "$T/m5" denied) - $(pk "$T/m4" denied)))"
	cat >"$T/pol.yaml" <<EOF
audit: false
rules:
  - allow: 198.18.241.0/24
    ports: [udp:6002]
  - deny: 198.18.241.2/32
    ports: [udp:6000]
EOF
	assert_rc "apply audit: false" 0 "$EGR" apply "$TGT" -f "$T/pol.yaml"
	run_bg - "$T/ev5" "$EGR" events "$TGT" -j --count 1 --timeout 120
	reader_up "$T/ev5" "$TID" || fail "reader (audit off) did not start"
	expect_udp drop "$A4" 6000 -n 1 -l 33 -m "audit off (live): denied again"
	assert_eq "audit off: the event says denied" "denied $RULE" \
		"$(wait_bg "$T/ev5" 60 | jq -r '"\(.verdict) \(.rule)"')"
}

# every attached cgroup, and one attached later
test_all_targets() {
	local cg1 id1 rel1 cg2 rel2 id2
	target all
	cg1=$TCG id1=$TID rel1=$rel
	cg2=$(cg_new all2)
	rel2=${cg2#"$CGROOT"}
	id2=$(stat -c %i "$cg2")
	run_bg - "$T/ev6" "$EGR" events -j --timeout 120
	reader_up "$T/ev6" "$id1" || fail "reader (all targets) did not start"
	assert_rc "attach a second cgroup" 0 egr_attach "$cg2"
	assert_true "a cgroup attached later is picked up" wait_for 30 ev_is "$id2" 1
	cg_run "$cg1" "$PEER" udp-send "$A4" 6000 1 >/dev/null
	cg_run "$cg2" "$PEER" udp-send "$A4" 6004 1 >/dev/null
	# detach and re-attach the second one: new maps, followed by the reader
	assert_rc "detach the second cgroup" 0 "$EGR" detach "cgroup:$cg2"
	assert_rc "re-attach the second cgroup" 0 egr_attach "$cg2" --default allow
	assert_rc "deny on the re-attached one" 0 "$EGR" deny "cgroup:$cg2" 198.18.241.0/24 udp:6007
	assert_true "a re-attached cgroup is followed" wait_for 30 ev_is "$id2" 1
	cg_run "$cg2" "$PEER" udp-send "$A4" 6007 1 >/dev/null
	# until the reader printed the three probes of our two cgroups
	wait_for 30 sh -c '[ "$(jq -r --argjson a "$2" --argjson b "$3" "select(.cgroup_id == \$a or .cgroup_id == \$b) | .dport" "$1" 2>/dev/null | wc -l)" -ge 3 ]' \
		sh "$T/ev6" "$id1" "$id2"
	stop_bg "$T/ev6" TERM >"$T/ev6.lines"
	assert_eq "all targets: one event per probe from each of ours, right target and rule" \
		"cgroup:$rel1 6000 $RULE|cgroup:$rel2 6004 default|cgroup:$rel2 6007 deny 198.18.241.0/24 udp:6007|" \
		"$(jq -r --argjson a "$id1" --argjson b "$id2" \
			'select(.cgroup_id == $a or .cgroup_id == $b) | "\(.target) \(.dport) \(.rule)"' \
			"$T/ev6.lines" | sort | tr '\n' '|')"
	assert_eq "events off again on both" "0 0" "$(evcfg "$id1" enabled) $(evcfg "$id2" enabled)"
}

test_bad_options() {
	local cg3
	target bad
	assert_rc "--rate 0: exit 1" 1 "$EGR" events "$TGT" --rate 0
	assert_eq "... clear message" "egressctl: events: bad --rate '0': use 1-1000000" "$LAST_ERR"
	assert_rc "--burst x: exit 1" 1 "$EGR" events "$TGT" --burst x
	assert_rc "--count 0: exit 1" 1 "$EGR" events "$TGT" --count 0
	assert_rc "--timeout -1: exit 1" 1 "$EGR" events "$TGT" --timeout -1
	assert_eq "... clear message" "egressctl: events: bad --timeout '-1': use seconds > 0" "$LAST_ERR"
	cg3=$(cg_new events3)
	assert_rc "a target not attached: exit 1" 1 "$EGR" events "cgroup:$cg3" --timeout 1
	assert_match "... says so" '^egressctl: .*is not attached' "$LAST_ERR"
	assert_rc "two targets: usage, exit 1" 1 "$EGR" events "$TGT" "cgroup:$cg3"
	assert_rc "events --help: exit 0" 0 "$EGR" events --help
	assert_match "... documents --rate, --burst, --count, --timeout" \
		'--rate N.*--burst N.*--count N.*--timeout SECS' "$(tr '\n' ' ' <<<"$LAST_OUT")"
}

run_tests
