#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Issue 15: addresses learned from DNS answers, on a cgroup, with a real
# resolver (dnsmasq in a namespace, answering from its own records only)
# and real connections to a server namespace that owns every answered
# address:
#   - an address is allowed only once an answer the cgroup received says
#     so; for the rule's ports only; over UDP and TCP; EDNS0; a CNAME chain
#     (the rule of the question name allows the chain's end); wildcards;
#     AAAA; many records with the per-answer bound counted
#   - no race: 1,000 fresh names resolved and connected to at once (UDP),
#     and 200 with the query over TCP: every connect succeeds, and not one
#     packet is dropped (the cgroup's denied counter does not move), with
#     no egressctl process running
#   - TTL expiry: an established connection is kept, a new one refused
#   - DNS rebinding: a learned address under a deny rule stays denied
#   - capacity: --max-learned 64 and 100 names: the oldest 36 go, counted
#   - egressctl SIGKILLed in the middle of applying a policy with names:
#     the old or the new policy, whole; names learned after it
# Every packet goes to 198.18.0.0/15 addresses of namespaces made here.
set -u
export LC_ALL=C
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init
need_egr
command -v jq >/dev/null || bail "jq missing (apt-get install jq)"
# shellcheck source=tests/e2e/egr_lib.sh
. "$(dirname "$0")/egr_lib.sh"
# shellcheck source=tests/e2e/dns_lib.sh
. "$(dirname "$0")/dns_lib.sh"

T=$E2E_TMP
S=${E2E_ID:2:6}
pick_nets 8
NSD=d71$S NSS=s71$S
netns_up "$NSD" "$NET1.2/24" -
netns_up "$NSS" "$NET2.2/24" "$NET6_2::2/64"
R=$NET1.2  # the resolver
SRV=$NET2.2
# the server namespace owns every address of NET3..NET8 (local routes)
for i in 3 4 5 6 7 8; do
	n=NET$i
	ip netns exec "$NSS" ip route add local "${!n}.0/24" dev lo || bail "local route ${!n}"
	ip route add "${!n}.0/24" via "$SRV" || bail "route ${!n}"
done
# the race names: r0..r999 (UDP) and t0..t199 (TCP) in NET3..NET7
: >"$T/race.hosts"
for i in $(seq 0 1199); do
	n=NET$((3 + i / 250))
	if [ "$i" -lt 1000 ]; then name=r$i; else name=t$((i - 1000)); fi
	echo "${!n}.$((i % 250 + 1)) $name.race.test" >>"$T/race.hosts"
done
M=$NET8 # everything else
for i in $(seq 0 99); do echo "$M.$((100 + i)) many.test"; done >"$T/many.hosts"
dns_up "$NSD" "$R" --addn-hosts="$T/race.hosts" --addn-hosts="$T/many.hosts" --local-ttl=300 \
	--host-record=api.test,"$SRV" \
	--host-record=origin.test,"$M.2" --cname=edge.test,origin.test --cname=www.test,edge.test \
	--address=/wild.test/"$M.3" --host-record=rebind.test,"$M.4" --host-record=tcp.test,"$M.5" \
	--host-record=short.test,"$M.6",2 --host-record=aaaa.test,"$NET6_2::2" --edns-packet-max=4096 \
	--host-record=other.test,"$M.7"
P=8443
peer_bg "$NSS" "$T/srv" tcp-recv "$P" 600 -e || bail "server"
peer_bg "$NSS" "$T/srv6" tcp-recv -6 "$P" 600 || bail "server v6"

cg=$(cg_new learn)
CG=cgroup:$cg
assert_rc "attach" 0 egr_attach "$cg"
cat >"$T/p.yaml" <<EOF
default: deny
dns: {min_ttl: 1}
rules:
  - allow: $R
    ports: [udp:53, tcp:53]
  - allow: api.test
    ports: [tcp:$P]
  - allow: www.test
    ports: [tcp:$P]
  - allow: "*.wild.test"
    ports: [tcp:$P]
  - allow: "*.race.test"
    ports: [tcp:$P]
  - allow: rebind.test
    ports: [tcp:$P]
  - deny: $M.4
  - allow: many.test
    ports: [tcp:$P]
  - allow: tcp.test
    ports: [tcp:$P]
  - allow: short.test
    ports: [tcp:$P]
  - allow: aaaa.test
    ports: [tcp:$P]
EOF
assert_rc "apply a policy with names" 0 "$EGR" apply "$CG" -f "$T/p.yaml"
denied() { egr_status "$(stat -c %i "$cg")" | jq .counters.denied.packets; }
inc() { cg_run "$cg" "$@"; }

# ---- learned from an answer, for the rule's ports ---------------------------------
assert_rc "before any answer: $SRV is denied" 1 inc "$PEER" tcp-send "$SRV" "$P" -t 1
assert_rc "resolve api.test and connect at once" 0 inc "$DNSQ" race "$R" api.test "$P" 1
assert_eq "... connected" "resolved 1 connected 1 failed 0" "$LAST_OUT"
assert_match "list: api.test holds $SRV with its TTL" "^$SRV (29[0-9]|300)\$" \
	"$(dns_learned "$CG" api.test)"
assert_match "list (text) shows it" "learned: $SRV \\((29[0-9]|300) s\\)" "$("$EGR" list "$CG")"
assert_match "explain: allowed by the name rule, learned" \
	"^cgroup:[^ ]*-learn: tcp $SRV:$P allowed by rule [0-9]+ \"allow api.test tcp:$P\" \([1-9][0-9]* hits\): learned from a DNS answer, (29[0-9]|300) s left\$" \
	"$("$EGR" explain "$CG" "$SRV" tcp:$P)"
assert_eq "explain -j: every protocol and port, by outcome" \
	"tcp 1-8442,8444-65535 denied default null|tcp $P allowed learned allow api.test tcp:$P|udp null denied default null" \
	"$("$EGR" explain "$CG" "$SRV" -j | jq -r '[.results[] | select(.proto == "tcp" or .proto == "udp") | "\(.proto) \(.ports) \(.verdict) \(.reason) \(.rule)"] | join("|")')"
assert_rc "another port of $SRV: denied" 1 inc "$PEER" tcp-send "$SRV" 9 -t 1
assert_rc "UDP to it: denied" 1 inc "$PEER" udp-send "$SRV" "$P" 1

# ---- a CNAME chain: www.test -> edge.test -> origin.test ----------------------------
assert_rc "CNAME chain: the question's rule allows the chain's end" 0 \
	inc "$DNSQ" race "$R" www.test "$P" 1
assert_eq "www.test holds origin.test's address" "$M.2" \
	"$(dns_learned "$CG" www.test | cut -d' ' -f1)"

# ---- wildcards: any depth, not the domain itself ----------------------------------
assert_rc "wild.test itself: no rule" 1 inc "$DNSQ" race "$R" wild.test "$P" 1 -w 1000
assert_rc "a.b.wild.test: *.wild.test" 0 inc "$DNSQ" race "$R" a.b.wild.test "$P" 1

# ---- TCP, EDNS0, AAAA, many records ---------------------------------------------------
assert_rc "query over TCP, then connect" 0 inc "$DNSQ" race "$R" tcp.test "$P" 1 -t
assert_rc "AAAA" 0 inc "$DNSQ" resolve "$R" aaaa.test -6 -e
assert_rc "... and connect over IPv6" 0 inc "$PEER" tcp-send "$NET6_2::2" "$P" -t 2
cap0=$(dns_count "$cg" capacity)
assert_rc "100 A records (EDNS0)" 0 inc "$DNSQ" resolve "$R" many.test -e
assert_eq "... all 100 answered" 100 "$(printf '%s\n' "$LAST_OUT" | wc -l)"
assert_eq "... 64 learned (max_per_name)" 64 "$(dns_learned "$CG" many.test | wc -l)"
assert_eq "... 36 counted as over capacity" 36 $(($(dns_count "$cg" capacity) - cap0))
assert_rc "... connect to a learned one" 0 inc "$PEER" tcp-send "$M.100" "$P" -t 2

# ---- DNS rebinding -----------------------------------------------------------------------
assert_rc "rebind.test, under deny $M.4: denied" 1 inc "$DNSQ" race "$R" rebind.test "$P" 1 -w 1000
assert_eq "... although learned" "$M.4" "$(dns_learned "$CG" rebind.test | cut -d' ' -f1)"
assert_match "... the deny rule decided" "^[1-9]" "$(egr_hit "$CG" "deny $M.4/32 any")"

# ---- events name the name, metrics count the answers ---------------------------------
id=$(stat -c %i "$cg")
evon() { [ "$(bpftool -j map lookup pinned "$EGR_PINS/$id/egr_evcfg" key 0 0 0 0 2>/dev/null |
	jq -r .formatted.value.enabled)" = 1 ]; }
run_bg - "$T/ev" "$EGR" events "$CG" -j --count 1 --timeout 60
wait_for 15 evon || diag "events reader not up: $(cat "$T/ev.err" 2>/dev/null)"
assert_rc "a connect to rebind.test's address: refused" 1 inc "$PEER" tcp-send "$M.4" "$P" -t 1
ev=$(wait_bg "$T/ev" 30)
assert_eq "events -j: the denied address's name (learned for rebind.test)" \
	"$M.4 rebind.test denied" "$(jq -r '"\(.dst) \(.name) \(.verdict)"' <<<"$ev")"
answers=$(dns_count "$cg" answers)
"$EGR" metrics "$CG" >"$T/metrics.txt"
assert_rc "metrics: promtool check metrics" 0 sh -c "promtool check metrics <'$T/metrics.txt'"
assert_match "metrics: answers learned from = status's" \
	"^egressctl_dns_answers_total\{[^}]*result=\"learned\"[^}]*\} $answers\$" \
	"$(grep '^egressctl_dns_answers_total{.*result="learned"' "$T/metrics.txt")"

# ---- no race: 1,000 fresh names, and 200 more with the query over TCP -----------------
pgrep -x egressctl >/dev/null && bail "an egressctl process is running"
d0=$(denied)
assert_rc "1,000 fresh names resolved and connected at once (UDP)" 0 \
	inc "$DNSQ" race "$R" 'r%d.race.test' "$P" 1000
assert_eq "... every one connected" "resolved 1000 connected 1000 failed 0" "$LAST_OUT"
assert_rc "200 fresh names, queries over TCP" 0 inc "$DNSQ" race "$R" 't%d.race.test' "$P" 200 -t
assert_eq "... every one connected" "resolved 200 connected 200 failed 0" "$LAST_OUT"
assert_eq "not one packet dropped meanwhile" 0 $(($(denied) - d0))
assert_eq "no egressctl process ran meanwhile" "" "$(pgrep -x egressctl)"
assert_eq "1,200 addresses held by *.race.test" 1200 "$(dns_learned "$CG" '*.race.test' | wc -l)"

# ---- TTL expiry: the established connection stays, a new one is refused ---------------
# short.test: TTL 2 s (min_ttl 1). An order of events, not a duration:
# learned (the connection opens), then expired, while it still runs (10 s).
short_held() { [ -n "$(dns_learned "$CG" short.test)" ]; }
short_gone() { [ -z "$(dns_learned "$CG" short.test)" ]; }
run_bg - "$T/hold" cg_run "$cg" "$DNSQ" hold "$R" short.test "$P" 10
wait_for 10 short_held || diag "short.test was not learned"
wait_for 15 short_gone
assert_eq "after the TTL short.test holds nothing" "" "$(dns_learned "$CG" short.test)"
assert_rc "a new connection after the TTL: refused" 1 inc "$PEER" tcp-send "$M.6" "$P" -t 1
assert_match "the connection opened before the TTL ran out: kept" "^connected $M.6
sent ([0-9]+) echoed \\1\$" "$(wait_bg "$T/hold" 20)"

# ---- capacity: the oldest learned address goes first ----------------------------------
cg2=$(cg_new cap)
assert_rc "attach --max-learned 64" 0 egr_attach "$cg2" --max-learned 64
printf 'rules:\n  - allow: %s\n    ports: [udp:53]\n  - allow: "*.race.test"\n' "$R" >"$T/cap.yaml"
assert_rc "apply" 0 "$EGR" apply "cgroup:$cg2" -f "$T/cap.yaml"
assert_rc "100 names resolved" 0 cg_run "$cg2" "$DNSQ" race "$R" 'r%d.race.test' "$P" 100
assert_eq "36 evicted, counted" 36 "$(dns_count "$cg2" evicted)"
assert_eq "64 held" 64 "$(dns_learned "cgroup:$cg2" '*.race.test' | wc -l)"
assert_rc "the first name's address: gone" 1 cg_run "$cg2" "$PEER" tcp-send "$NET3.1" "$P" -t 1
assert_rc "the last one's: held" 0 cg_run "$cg2" "$PEER" tcp-send "$NET3.100" "$P" -t 2
assert_eq "status: learned addresses at most the capacity" 64 \
	"$("$EGR" list "cgroup:$cg2" -j | jq '.[0].learned_addresses')"

# ---- egressctl SIGKILLed while applying a policy with names -----------------------------
cg3=$(cg_new kill)
assert_rc "attach" 0 egr_attach "$cg3" --max-rules 65536
{
	echo "rules:"
	echo "  - allow: $R"
	echo "    ports: [udp:53]"
	echo "  - allow: other.test"
	echo "    ports: [tcp:$P]"
	for i in $(seq 0 59999); do echo "  - allow: 198.18.$((i / 250)).$((i % 250 + 1))"; done
} >"$T/big.yaml"
printf 'rules:\n  - allow: %s\n    ports: [udp:53]\n  - allow: api.test\n    ports: [tcp:%s]\n' \
	"$R" "$P" >"$T/small.yaml"
assert_rc "apply the small policy" 0 "$EGR" apply "cgroup:$cg3" -f "$T/small.yaml"
kills=0
for delay in 0.05 0.1 0.2 0.3 0.45; do
	"$EGR" apply "cgroup:$cg3" -f "$T/big.yaml" >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null
done
diag "SIGKILLed $kills applies"
n=$("$EGR" list "cgroup:$cg3" -j | jq '.[0].rules | length')
assert_match "after the kills: the old policy or the new, whole" "^(2|60002)\$" "$n"
if [ "$n" = 2 ]; then name=api.test addr=$SRV; else name=other.test addr=$M.7; fi
assert_rc "names are learned after the kills ($name)" 0 cg_run "$cg3" "$DNSQ" race "$R" "$name" "$P" 1
assert_eq "... held by its rule" "$addr" "$(dns_learned "cgroup:$cg3" "$name" | cut -d' ' -f1)"
assert_rc "apply the big one whole" 0 "$EGR" apply "cgroup:$cg3" -f "$T/big.yaml"
assert_rc "... other.test learned" 0 cg_run "$cg3" "$DNSQ" race "$R" other.test "$P" 1
# ---- audit mode: drops nothing, learns nothing, names only valid names ----------------
# A DNS server in an audited cgroup, on an address its policy allows on
# udp:53, answers from port 53: audit mode lets it out (with name rules and
# audit off it would be a forgery, dropped).
H=$NET1.1 # this host's side of the resolver's link
cg5=$(cg_new audit)
assert_rc "attach --audit" 0 egr_attach "$cg5" --audit
printf 'audit: true\nrules:\n  - allow: %s\n    ports: [udp:53]\n  - allow: api.test\n    ports: [tcp:%s]\n' \
	"$H" "$P" >"$T/a5.yaml"
assert_rc "apply (audit, a name rule, this host's address on udp:53)" 0 "$EGR" apply "cgroup:$cg5" -f "$T/a5.yaml"
run_bg - "$T/srv53" cg_run "$cg5" "$DNSQ" serve "$H" 53 good 10 -a "$M.8"
wait_for 5 grep -q ready "$T/srv53" || diag "dnsq serve not ready: $(cat "$T/srv53.err" 2>/dev/null)"
assert_eq "a DNS server in the audited cgroup answers from port 53: not dropped" "$M.8" \
	"$(ip netns exec "$NSD" "$DNSQ" resolve "$H" x.test -w 2000)"
_kill_tree TERM "$(cat "$T/srv53.pid")"
wait_bg "$T/srv53" 5 >/dev/null
assert_rc "under audit: resolve api.test, connect" 0 cg_run "$cg5" "$DNSQ" race "$R" api.test "$P" 1
assert_eq "... nothing learned in audit mode" "" "$(dns_learned "cgroup:$cg5" api.test)"
ip netns exec "$NSD" ip addr add "$NET1.3/24" dev eth0 || bail "$NET1.3"
run_bg "$NSD" "$T/odd" "$DNSQ" serve "$NET1.3" 53 good 10 -a "$M.9"
wait_for 5 grep -q ready "$T/odd" || diag "dnsq serve not ready: $(cat "$T/odd.err" 2>/dev/null)"
assert_rc "under audit: a name with a newline in a label, answered, then connect" 0 \
	cg_run "$cg5" "$DNSQ" race "$NET1.3" "$(printf 'odd\nallow.test')" "$P" 1
assert_rc "suggest" 0 "$EGR" suggest "cgroup:$cg5" -o "$T/s5.yaml"
diag "suggested: $(grep -v '^ *#' "$T/s5.yaml" | tr '\n' ' ')"
awk '/^  - allow:/ { d = $3 } /^      - / { print "allow " d " " $2 }
	/^    ports: \[/ { gsub(/[][]/, "", $2); print "allow " d " " $2 }' "$T/s5.yaml" >"$T/s5.rules"
assert_eq "suggest: api.test once (in force; what it allowed is not proposed again)" 1 \
	"$(grep -cx "allow api.test tcp:$P" "$T/s5.rules")"
assert_eq "suggest: the odd name's address by address" 1 "$(grep -cx "allow $M.9/32 tcp:$P" "$T/s5.rules")"
assert_eq "suggest: the resolvers by address" 2 \
	"$(grep -cxE "allow ($R|$NET1.3)/32 udp:53" "$T/s5.rules")"
assert_eq "suggest: the odd name is not in the file" 0 "$(grep -c odd "$T/s5.yaml")"

# ---- growing the capacity keeps what was learned --------------------------------------
cg4=$(cg_new grow)
assert_rc "attach --max-rules 64" 0 egr_attach "$cg4" --max-rules 64
printf 'rules:\n  - allow: %s\n    ports: [udp:53]\n  - allow: api.test\n    ports: [tcp:%s]\n' \
	"$R" "$P" >"$T/g1.yaml"
assert_rc "apply two rules" 0 "$EGR" apply "cgroup:$cg4" -f "$T/g1.yaml"
run_bg - "$T/ghold" cg_run "$cg4" "$DNSQ" hold "$R" api.test "$P" 4
wait_for 5 test -n "$(dns_learned "cgroup:$cg4" api.test)"
{
	cat "$T/g1.yaml"
	for i in $(seq 1 100); do echo "  - allow: 198.18.200.$i"; done
} >"$T/g2.yaml"
assert_match "apply 102 rules: the capacity grows" "capacity grown from 64 to" \
	"$("$EGR" apply "cgroup:$cg4" -f "$T/g2.yaml")"
assert_eq "after the growth: api.test still holds $SRV" "$SRV" \
	"$(dns_learned "cgroup:$cg4" api.test | cut -d' ' -f1)"
assert_rc "... a new connection to it, without asking again" 0 \
	cg_run "$cg4" "$PEER" tcp-send "$SRV" "$P" -t 2
assert_match "... the connection open across the growth: kept" "^connected $SRV
sent ([0-9]+) echoed \\1\$" "$(wait_bg "$T/ghold" 20)"
e2e_done
