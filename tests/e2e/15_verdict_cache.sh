#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The per-socket verdict cache never outlives the policy it was judged by:
# one UDP socket keeps sending while apply -f replaces the policy four times
# (allow rule, default deny, default allow, audit) and attach changes the
# default (to allow), and every phase's datagrams get that phase's verdict; one socket
# sending to two destinations (or two ports) in turns gets each judged by its
# own address and port, IPv4 and IPv6, counted at the receiver. apply's
# rule-id cache keeps ids (and hit counters) and a stale, corrupt or
# foreign cache file changes nothing. Needs jq.
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

pick_nets 1
S=${E2E_ID:2:6}
NB=k15b$S
netns_up "$NB" "$NET1.2/24" "$NET6_1::2/64"
B4=$(ns_ip4 "$NB") B6=$(ns_ip6 "$NB")
T=$E2E_TMP

cg=$(cg_new cache)
cgid=$(stat -c %i "$cg")
CG=cgroup:$cg
assert_rc "attach" 0 egr_attach "$cg"

counters() { egr_status "$cgid" | jq -r '"\(.counters.allowed.packets) \(.counters.denied.packets) \(.counters.audit.packets)"'; }

# ---- 1. one socket, the policy replaced under it -------------------------------
printf 'default: deny\nrules:\n  - allow: %s\n    ports: udp:6100\n' "$B4" >"$T/p1.yaml"
printf 'default: deny\nrules: []\n' >"$T/p2.yaml"
printf 'default: allow\nrules: []\n' >"$T/p3.yaml"
printf 'default: deny\naudit: true\nrules: []\n' >"$T/p4.yaml"
assert_rc "apply: allow $B4 udp:6100" 0 "$EGR" apply "$CG" -f "$T/p1.yaml"
read -r a0 d0 u0 <<<"$(counters)"
peer_bg "$NB" "$T/r1" udp-recv 6100 15
# 500 datagrams, one every 10 ms: ~100 per phase
run_bg - "$T/s1" cg_run "$cg" "$PEER" udp-send "$B4" 6100 500 -i 10000 -t 12
sleep 1
assert_rc "phase 2: apply default deny, no rules" 0 "$EGR" apply "$CG" -f "$T/p2.yaml"
sleep 1
assert_rc "phase 3: apply default allow" 0 "$EGR" apply "$CG" -f "$T/p3.yaml"
sleep 1
assert_rc "phase 4: apply default deny + audit" 0 "$EGR" apply "$CG" -f "$T/p4.yaml"
sleep 1
assert_rc "phase 5: attach --default allow" 0 "$EGR" attach "$CG" --default allow
out=$(wait_bg "$T/s1" 20)
diag "sender: $out"
sent=$(sent_of "$out") errs=$(errors_of "$out")
sleep 0.5
_kill_tree TERM "$(cat "$T/r1.pid")"
got=$(wait_bg "$T/r1" 15)
read -r a1 d1 u1 <<<"$(counters)"
allowed=$((a1 - a0)) denied=$((d1 - d0)) audited=$((u1 - u0))
diag "counters: allowed $allowed denied $denied audit $audited"
assert_eq "sent + errors = 500" 500 $((sent + errs))
assert_eq "receiver got exactly what the sender got through" "$sent" "$got"
assert_eq "denied = send errors (EPERM)" "$errs" "$denied"
assert_eq "allowed + audit = delivered" "$sent" $((allowed + audited))
# phases 1, 3 and 5 allowed, 2 denied, 4 audited (would-be drops)
assert_range "allowed: phases 1, 3 and 5 (~300)" 220 380 "$allowed"
assert_range "denied: phase 2 (~100)" 60 140 "$denied"
assert_range "audit: phase 4 (~100)" 60 140 "$audited"

# ---- 2. one socket, two destinations in turns ---------------------------------
printf 'default: deny\naudit: false\nrules:\n  - allow: %s\n    ports: udp:6100\n  - allow: %s\n    ports: udp:6100\n' \
	"$B4" "$B6" >"$T/p5.yaml"
assert_rc "apply: allow $B4 and $B6 udp:6100 only" 0 "$EGR" apply "$CG" -f "$T/p5.yaml"
other4=$NET1.3 other6=$NET6_1::3

peer_bg "$NB" "$T/r2" udp-recv 6100 15 -n 100
out=$(cg_run "$cg" "$PEER" udp-alt "$B4" 6100 "$other4" 6100 100)
assert_eq "v4, two addresses in turns: $B4 passes, $other4 refused" "sent 100 0 errors 0 100" "$out"
assert_eq "v4, two addresses: receiver got 100" 100 "$(wait_bg "$T/r2")"

peer_bg "$NB" "$T/r3" udp-recv 6100 15 -n 100
out=$(cg_run "$cg" "$PEER" udp-alt "$B4" 6100 "$B4" 6101 100)
assert_eq "v4, two ports in turns: udp:6100 passes, udp:6101 refused" "sent 100 0 errors 0 100" "$out"
assert_eq "v4, two ports: receiver got 100" 100 "$(wait_bg "$T/r3")"

peer_bg "$NB" "$T/r4" udp-recv -6 6100 15 -n 100
out=$(cg_run "$cg" "$PEER" udp-alt -6 "$B6" 6100 "$other6" 6100 100)
assert_eq "v6, two addresses in turns: $B6 passes, $other6 refused" "sent 100 0 errors 0 100" "$out"
assert_eq "v6, two addresses: receiver got 100" 100 "$(wait_bg "$T/r4")"

peer_bg "$NB" "$T/r5" udp-recv -6 6100 15 -n 100
out=$(cg_run "$cg" "$PEER" udp-alt -6 "$B6" 6101 "$B6" 6100 100)
assert_eq "v6, two ports in turns: udp:6101 refused, udp:6100 passes" "sent 0 100 errors 100 0" "$out"
assert_eq "v6, two ports: receiver got 100" 100 "$(wait_bg "$T/r5")"

# ---- 3. live edits between the turns of one socket -----------------------------
# the socket alternates allowed / refused; a live deny of the first and allow
# of the second mid-way swap the outcome
peer_bg "$NB" "$T/r6" udp-recv 6100 15
run_bg - "$T/s6" cg_run "$cg" "$PEER" udp-alt "$B4" 6100 "$B4" 6102 200 -i 5000 -t 10
sleep 1
assert_rc "mid-way: deny $B4 udp:6100" 0 "$EGR" deny "$CG" "$B4" udp:6100
assert_rc "mid-way: allow $B4 udp:6102" 0 "$EGR" allow "$CG" "$B4" udp:6102
out=$(wait_bg "$T/s6" 15)
diag "udp-alt across edits: $out"
read -r _ s1 s2 _ e1 e2 <<<"$out"
assert_eq "udp:6100: sent + refused = 200" 200 $((s1 + e1))
assert_eq "udp:6102: sent + refused = 200" 200 $((s2 + e2))
assert_range "udp:6100 passed before the deny only" 40 160 "$s1"
assert_range "udp:6102 passed after the allow only" 40 160 "$s2"
assert_range "the two swapped at about the same datagram" -3 3 $((s1 - e2))

# ---- 4. the rule-id cache of apply ----------------------------------------------
# Rules that stay keep their ids (and hit counters) across apply, whether
# the ids come from the cache the last apply left or from the kernel; a
# stale, corrupt or foreign cache file changes nothing.
ids=/run/egressctl/ids-$cgid
hits6100() { egr_hit "$CG" "allow $B4/32 udp:6100"; }
printf 'default: deny\nrules:\n  - allow: %s\n    ports: udp:6100\n  - allow: %s\n' "$B4" "$other4" >"$T/p6.yaml"
assert_rc "apply p6" 0 "$EGR" apply "$CG" -f "$T/p6.yaml"
h0=$(hits6100) # the rule was in force before: its id and count stay
peer_bg "$NB" "$T/r7" udp-recv 6100 15 -n 5
cg_run "$cg" "$PEER" udp-send "$B4" 6100 5 >/dev/null 2>&1
wait_bg "$T/r7" >/dev/null
want=$((h0 + 5))
assert_eq "5 more datagrams counted on the udp:6100 rule" "$want" "$(hits6100)"
assert_rc "the apply left an id cache" 0 test -s "$ids"
assert_rc "apply p6 again (cache)" 0 "$EGR" apply "$CG" -f "$T/p6.yaml"
assert_eq "same rule, same id: the same hits" "$want" "$(hits6100)"
assert_rc "live edit: allow $NET1.9" 0 "$EGR" allow "$CG" "$NET1.9"
assert_rc "apply p6 after the edit (cache stale: kernel read)" 0 "$EGR" apply "$CG" -f "$T/p6.yaml"
assert_eq "after the edit: the same hits, the live rule gone" "$want 2" \
	"$(hits6100) $("$EGR" list "$CG" -j | jq '.[0].rules | length')"
head -c 100 /dev/urandom >"$ids"
assert_rc "apply p6 over a corrupt cache file" 0 "$EGR" apply "$CG" -f "$T/p6.yaml"
assert_eq "corrupt cache: the same hits" "$want" "$(hits6100)"
assert_rc "apply p6 (fresh cache)" 0 "$EGR" apply "$CG" -f "$T/p6.yaml"
chown 65534 "$ids"
assert_rc "apply p6 over a cache file not owned by root" 0 "$EGR" apply "$CG" -f "$T/p6.yaml"
assert_eq "foreign cache: the same hits" "$want" "$(hits6100)"
assert_rc "detach" 0 "$EGR" detach "$CG"
assert_rc "detach removes the id cache" 1 test -e "$ids"

e2e_done
