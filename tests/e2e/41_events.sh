#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# `egressctl events`: each denied probe (UDP v4 by a rule, UDP v6 and ICMP by
# the default) appears exactly once with the right destination, verdict,
# rule, length, hook, process, target and cgroup, in JSON (-j) and in the
# human format (UDP refused at the socket, ICMP dropped at egress); allowed
# traffic yields nothing. The reader turns events on in the kernel while it
# runs and off again however it stops (SIGTERM, SIGINT, --count, --timeout,
# a closed stdout). A flood of 100k denied packets: every one is denied and
# counted, events stay within burst + rate x duration, and sent +
# suppressed + lost = the flood exactly. Audit mode lets traffic through
# and reports it as verdict "audit"; switching it off (apply) is live.
# Without a target every attached cgroup is watched, including ones
# attached later. Bad options fail with a clear message.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init
need_egr
command -v jq >/dev/null || bail "jq missing (apt-get install jq)"
command -v bpftool >/dev/null || bail "bpftool missing (apt-get install bpftool)"

# ---- egressctl helpers -------------------------------------------------------
# shellcheck source=tests/e2e/egr_lib.sh
. "$(dirname "$0")/egr_lib.sh"

# evcfg ID FIELD: a field of the cgroup's egr_evcfg (enabled, rate, burst).
evcfg() {
	bpftool -j map lookup pinned "$EGR_PINS/$1/egr_evcfg" key 0 0 0 0 2>/dev/null |
		jq -r ".formatted.value.$2"
}
ev_is() { [ "$(evcfg "$1" enabled)" = "$2" ]; }

# mval FILE SERIES: one series' value in an exposition, "absent" if none.
mval() {
	K=$2 awk 'BEGIN { k = ENVIRON["K"] }
		substr($0, 1, length(k) + 1) == k " " { print substr($0, length(k) + 2); f = 1 }
		END { if (!f) print "absent" }' "$1"
}

# stop_bg OUT SIGNAL: signal a run_bg job, print its output, return its rc.
stop_bg() {
	local pid
	pid=$(cat "$1.pid" 2>/dev/null)
	[ -n "$pid" ] && kill "-$2" "$pid" 2>/dev/null
	wait_bg "$1" 10
}

# reader_up OUT ID: wait (max 5 s) until the reader writing OUT turned
# events on for cgroup ID.
reader_up() {
	wait_for 5 ev_is "$2" 1 && return 0
	diag "events reader not up: $(cat "$1.err" 2>/dev/null)"
	return 1
}

# ---- topology ----------------------------------------------------------------
S=${E2E_ID:2:6}
NA=k41a$S
netns_up "$NA" 198.18.241.2/24 2001:db8:241::2/64
A4=$(ns_ip4 "$NA") A6=$(ns_ip6 "$NA") H4=$(host_ip4 "$NA") H6=$(host_ip6 "$NA")
T=$E2E_TMP

cg=$(cg_new events)
rel=${cg#"$CGROOT"}
id=$(stat -c %i "$cg")
CG=cgroup:$cg
L="target=\"cgroup:$rel\",cgroup=\"$rel\""
egr_attach "$cg" >/dev/null || bail "attach failed"
"$EGR" allow "$CG" 198.18.241.0/24 udp:6002 >/dev/null || bail "allow failed"
"$EGR" deny "$CG" 198.18.241.2/32 udp:6000 >/dev/null || bail "deny failed"
RULE="deny 198.18.241.2/32 udp:6000"

scrape() { "$EGR" metrics "$CG" >"$1"; }
ctr() { mval "$1" "egressctl_$2{$L}"; }
pk() { mval "$1" "egressctl_packets_total{$L,verdict=\"$2\"}"; }

assert_eq "no reader: events off in the kernel" 0 "$(evcfg "$id" enabled)"

# ---- each denied probe once, with its 5-tuple (JSON) -------------------------------
run_bg - "$T/ev1" "$EGR" events "$CG" -j --timeout 60
reader_up "$T/ev1" "$id" || bail "events reader did not start"
pass "reader turns events on"
peer_bg "$NA" "$T/ok" udp-recv 6002 10 -n 2 || bail "receiver"
cg_run "$cg" "$PEER" udp-send "$A4" 6002 2 -l 10 >/dev/null # allowed: no event
assert_eq "allowed traffic arrives" 2 "$(wait_bg "$T/ok")"
assert_rc "udp v4 probe denied (rule)" 1 cg_run "$cg" "$PEER" udp-send "$A4" 6000 1 -l 33
assert_rc "udp v6 probe denied (default)" 1 cg_run "$cg" "$PEER" udp-send "$A6" 6003 1 -l 21
cg_run "$cg" ping -c 1 -W 1 -q "$A4" >/dev/null 2>&1 && fail "icmp probe denied (default)"
sleep 0.5
assert_rc "reader stops on SIGTERM, exit 0" 0 stop_bg "$T/ev1" TERM
ev=$LAST_OUT
diag "$ev"
assert_eq "reader: nothing on stderr" "" "$(cat "$T/ev1.err")"
assert_eq "exactly 3 events (allowed traffic gives none)" 3 "$(grep -c . <<<"$ev")"
assert_eq "every line is one JSON object" 3 "$(jq -c . <<<"$ev" 2>/dev/null | grep -c '^{')"
assert_eq "events off again after SIGTERM" 0 "$(evcfg "$id" enabled)"

e4=$(jq -c 'select(.dport == 6000)' <<<"$ev")
assert_eq "udp v4 event: refused at sendmsg: no source, no packet built, the rule" \
	"4 udp null $A4 6000 denied $RULE 0 sendmsg" \
	"$(jq -r '"\(.family) \(.proto) \(.src) \(.dst) \(.dport) \(.verdict) \(.rule) \(.len) \(.hook)"' <<<"$e4")"
assert_eq "udp v4 event: target, cgroup, cgroup_id" "cgroup:$rel $rel $id" \
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
assert_range "time is now (within 60 s)" -60 60 $(($(date -u -d "$ts" +%s) - $(date -u +%s)))

# ---- human format, --count ---------------------------------------------------------------
run_bg - "$T/ev2" "$EGR" events "$CG" --count 1 --timeout 30
reader_up "$T/ev2" "$id" || fail "reader (--count) did not start"
cg_run "$cg" "$PEER" udp-send "$A4" 6000 1 -l 33 >/dev/null
assert_rc "--count 1: stops by itself, exit 0" 0 wait_bg "$T/ev2" 10
re4=${A4//./\\.}
assert_match "human line: time target pid comm proto dst:port denied by rule id \"text\"" \
	"^[0-9]{2}:[0-9]{2}:[0-9]{2} cgroup:$rel pid [0-9]+ peer udp $re4:6000 denied by rule [0-9]+ \"deny 198\\.18\\.241\\.2/32 udp:6000\"\$" \
	"$LAST_OUT"
assert_eq "events off again after --count" 0 "$(evcfg "$id" enabled)"

t0=$(date +%s%N)
assert_rc "--timeout 1 without traffic: exit 0" 0 "$EGR" events "$CG" --timeout 1
t1=$(date +%s%N)
assert_eq "--timeout: no output" "" "$LAST_OUT"
assert_range "--timeout 1 takes about 1 s (ms)" 900 3000 $(((t1 - t0) / 1000000))
assert_eq "events off again after --timeout" 0 "$(evcfg "$id" enabled)"

run_bg - "$T/ev-int" "$EGR" events "$CG"
reader_up "$T/ev-int" "$id" || fail "reader (SIGINT) did not start"
assert_rc "a second reader of the same cgroup: exit 1" 1 "$EGR" events "$CG" --timeout 1
assert_eq "... one clear line" \
	"egressctl: events: cgroup:$rel: another \`egressctl events\` is reading it" "$LAST_ERR"
assert_eq "... and the first one's events stay on" 1 "$(evcfg "$id" enabled)"
cg_run "$cg" "$PEER" udp-send "$A4" 6000 1 -l 33 >/dev/null
sleep 0.3
assert_rc "reader stops on SIGINT, exit 0" 0 stop_bg "$T/ev-int" INT
assert_match "... having printed the probe sent meanwhile" ' 198\.18\.241\.2:6000 denied by ' \
	"$LAST_OUT"
assert_eq "events off again after SIGINT" 0 "$(evcfg "$id" enabled)"

run_bg - "$T/ev-pipe" sh -c '"$1" events "$2" | head -n 1' sh "$EGR" "$CG"
reader_up "$T/ev-pipe" "$id" || fail "reader (pipe) did not start"
cg_run "$cg" "$PEER" udp-send "$A4" 6000 1 >/dev/null
sleep 0.3
cg_run "$cg" "$PEER" udp-send "$A4" 6000 1 >/dev/null # written into a closed pipe
assert_rc "reader into a closed pipe ends, exit 0" 0 wait_bg "$T/ev-pipe" 10
assert_eq "events off again after stdout closed" 0 "$(evcfg "$id" enabled)"

# ---- no reader: nothing is produced ---------------------------------------------
scrape "$T/m0"
cg_run "$cg" "$PEER" udp-send "$A4" 6000 5 >/dev/null
scrape "$T/m1"
assert_eq "no reader: 5 denied, no event sent or suppressed" "5 0 0 0" \
	"$(($(pk "$T/m1" denied) - $(pk "$T/m0" denied))) $(($(ctr "$T/m1" events_sent_total) - $(ctr "$T/m0" events_sent_total))) $(($(ctr "$T/m1" events_suppressed_total) - $(ctr "$T/m0" events_suppressed_total))) $(($(ctr "$T/m1" events_lost_total) - $(ctr "$T/m0" events_lost_total)))"

# ---- a flood of 100k denied packets: rate-limited events ----------------------
RATE=50 BURST=10 FLOOD=100000
run_bg - "$T/ev3" "$EGR" events "$CG" -j --rate "$RATE" --burst "$BURST"
reader_up "$T/ev3" "$id" || fail "reader (flood) did not start"
assert_eq "--rate/--burst set the token bucket" "$RATE $BURST" \
	"$(evcfg "$id" rate) $(evcfg "$id" burst)"
scrape "$T/m2"
t0=$(date +%s%N)
fl=$(cg_run "$cg" "$PEER" udp-flood "$A4" 6000 "$FLOOD" 60)
t1=$(date +%s%N)
diag "flood: $fl in $(((t1 - t0) / 1000000)) ms"
# then a paced stream (200/s for 1.5 s, to the default-denied port 6005):
# the bucket, empty after the flood, lets through about RATE per second
t2=$(date +%s%N)
cg_run "$cg" "$PEER" udp-send "$A4" 6005 300 -i 5000 >/dev/null
t3=$(date +%s%N)
sleep 0.5
stop_bg "$T/ev3" TERM >"$T/ev3.lines"
scrape "$T/m3"
n_ev=$(jq -c 'select(.dport == 6000)' "$T/ev3.lines" | grep -c '^{')
n_paced=$(jq -c 'select(.dport == 6005)' "$T/ev3.lines" | grep -c '^{')
d_den=$(($(pk "$T/m3" denied) - $(pk "$T/m2" denied)))
d_sent=$(($(ctr "$T/m3" events_sent_total) - $(ctr "$T/m2" events_sent_total)))
d_sup=$(($(ctr "$T/m3" events_suppressed_total) - $(ctr "$T/m2" events_suppressed_total)))
d_lost=$(($(ctr "$T/m3" events_lost_total) - $(ctr "$T/m2" events_lost_total)))
diag "denied +$d_den, events: sent +$d_sent suppressed +$d_sup lost +$d_lost, read $n_ev + $n_paced"
assert_eq "flood: every send refused" "sent 0 errors $FLOOD" "${fl% pps *}"
assert_eq "flood + paced: every packet denied and counted" $((FLOOD + 300)) "$d_den"
assert_eq "flood + paced: sent + suppressed + lost = denied" "$d_den" $((d_sent + d_sup + d_lost))
assert_eq "flood: nothing lost" 0 "$d_lost"
assert_eq "flood: the reader got every event sent" "$d_sent" $((n_ev + n_paced))
max=$((BURST + RATE * ((t1 - t0) / 1000000 + 999) / 1000 + RATE / 5))
assert_range "flood: events within burst + rate x duration (max $max)" "$BURST" "$max" "$n_ev"
ms=$(((t3 - t2) / 1000000))
lo=$((RATE * (ms - 300) / 1000)) hi=$((BURST + RATE * (ms + 300) / 1000))
assert_range "paced 200/s for $ms ms: about $RATE events/s ($lo..$hi)" "$lo" "$hi" "$n_paced"
assert_eq "flood: all events name the rule" "$n_ev" \
	"$(jq -c 'select(.rule == "'"$RULE"'" and .dport == 6000)' "$T/ev3.lines" | grep -c '^{')"
assert_eq "events off again after the flood" 0 "$(evcfg "$id" enabled)"
assert_eq "the bucket keeps --rate/--burst" "$RATE $BURST" "$(evcfg "$id" rate) $(evcfg "$id" burst)"

# ---- audit mode ---------------------------------------------------------------
"$EGR" attach "$CG" --audit >/dev/null || fail "attach --audit (live)"
run_bg - "$T/ev4" "$EGR" events "$CG" -j --rate 100 --burst 100
reader_up "$T/ev4" "$id" || fail "reader (audit) did not start"
scrape "$T/m4"
peer_bg "$NA" "$T/au" udp-recv 6000 10 -n 3 -b || bail "receiver"
assert_rc "audit: the denied probe goes out" 0 cg_run "$cg" "$PEER" udp-send "$A4" 6000 3 -l 33
assert_eq "audit: all 3 arrive" "3 99" "$(wait_bg "$T/au")"
sleep 0.3
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
"$EGR" apply "$CG" -f "$T/pol.yaml" >/dev/null || fail "apply audit: false"
run_bg - "$T/ev5" "$EGR" events "$CG" -j --count 1 --timeout 30
reader_up "$T/ev5" "$id" || fail "reader (audit off) did not start"
assert_rc "audit off (live): denied again" 1 cg_run "$cg" "$PEER" udp-send "$A4" 6000 1 -l 33
assert_eq "audit off: the event says denied" "denied $RULE" \
	"$(wait_bg "$T/ev5" 10 | jq -r '"\(.verdict) \(.rule)"')"

# ---- every attached cgroup, and one attached later ------------------------------
cg2=$(cg_new events2)
rel2=${cg2#"$CGROOT"}
id2=$(stat -c %i "$cg2")
run_bg - "$T/ev6" "$EGR" events -j --timeout 60
reader_up "$T/ev6" "$id" || fail "reader (all targets) did not start"
egr_attach "$cg2" >/dev/null || fail "attach a second cgroup"
if wait_for 5 ev_is "$id2" 1; then
	pass "a cgroup attached later is picked up"
else
	fail "a cgroup attached later is picked up"
fi
cg_run "$cg" "$PEER" udp-send "$A4" 6000 1 >/dev/null
cg_run "$cg2" "$PEER" udp-send "$A4" 6004 1 >/dev/null
# detach and re-attach the second one: new maps, followed by the reader
"$EGR" detach "cgroup:$cg2" >/dev/null || fail "detach the second cgroup"
egr_attach "$cg2" --default allow >/dev/null || fail "re-attach the second cgroup"
"$EGR" deny "cgroup:$cg2" 198.18.241.0/24 udp:6007 >/dev/null || fail "deny on the re-attached one"
if wait_for 5 ev_is "$id2" 1; then
	pass "a re-attached cgroup is followed"
else
	fail "a re-attached cgroup is followed"
fi
cg_run "$cg2" "$PEER" udp-send "$A4" 6007 1 >/dev/null
sleep 0.5
stop_bg "$T/ev6" TERM >"$T/ev6.lines"
assert_eq "all targets: one event per probe from each of ours, right target and rule" \
	"cgroup:$rel 6000 $RULE|cgroup:$rel2 6004 default|cgroup:$rel2 6007 deny 198.18.241.0/24 udp:6007|" \
	"$(jq -r --argjson a "$id" --argjson b "$id2" \
		'select(.cgroup_id == $a or .cgroup_id == $b) | "\(.target) \(.dport) \(.rule)"' \
		"$T/ev6.lines" | sort | tr '\n' '|')"
assert_eq "events off again on both" "0 0" "$(evcfg "$id" enabled) $(evcfg "$id2" enabled)"

# ---- bad input ----------------------------------------------------------------------
assert_rc "--rate 0: exit 1" 1 "$EGR" events "$CG" --rate 0
assert_eq "... clear message" "egressctl: events: bad --rate '0': use 1-1000000" "$LAST_ERR"
assert_rc "--burst x: exit 1" 1 "$EGR" events "$CG" --burst x
assert_rc "--count 0: exit 1" 1 "$EGR" events "$CG" --count 0
assert_rc "--timeout -1: exit 1" 1 "$EGR" events "$CG" --timeout -1
assert_eq "... clear message" "egressctl: events: bad --timeout '-1': use seconds > 0" "$LAST_ERR"
cg3=$(cg_new events3)
assert_rc "a target not attached: exit 1" 1 "$EGR" events "cgroup:$cg3" --timeout 1
assert_match "... says so" '^egressctl: .*is not attached' "$LAST_ERR"
assert_rc "two targets: usage, exit 1" 1 "$EGR" events "$CG" "cgroup:$cg3"
assert_rc "events --help: exit 0" 0 "$EGR" events --help
assert_match "... documents --rate, --burst, --count, --timeout" \
	'--rate N.*--burst N.*--count N.*--timeout SECS' "$(tr '\n' ' ' <<<"$LAST_OUT")"

e2e_done
