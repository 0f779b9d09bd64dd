#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# egressctl watch --strict: the guard on the containers' parent cgroup denies
# every container until watch has put its policy in force, also while watch
# is not running. A container that sends from its very first instant gets
# zero packets to a denied destination out (counted at the receiver; the
# guard's drop counter and the sender's send errors show the drops); without
# --strict the same container leaks (reported, not asserted). --unmanaged
# deny|allow; the guard outlives watch until --remove-guard. The guard's
# per-packet cost is measured with BPF_PROG_TEST_RUN (bpftool prog run).
# The test's containers run under their own parent cgroup (docker run
# --cgroup-parent), and the guard is put there, so other containers on this
# dockerd are never affected.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/docker_lib.sh
. "$(dirname "$0")/docker_lib.sh"
e2e_init
need_egr
dk_setup

if [ -d /sys/fs/bpf/egressctl/guard ]; then
	bail "a guard is already installed on this host (egressctl watch --guard-status); not touching it"
fi
netns_up d52rx 198.18.54.2/24 -
netns_addr d52rx 198.18.55.7/32
RX=198.18.54.2 OTHER=198.18.55.7
_sysctl - net.ipv4.ip_forward 1
GCG=/egr-strict-$E2E_ID
PARENT=(--cgroup-parent "$GCG")
LOG=$E2E_TMP/watch.log

strict_cleanup() {
	local d
	"$EGR" watch --remove-guard >/dev/null 2>&1
	for d in "$CGROOT$GCG" /sys/fs/cgroup/*"$GCG"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
}
DK_CLEANUP_HOOK=strict_cleanup

guard_stat() { # COUNTER: packets
	"$EGR" watch --guard-status -j |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["guard"]["counters"][sys.argv[1]]["packets"])' "$1"
}
# A start-up burst: N datagrams, one every 2 ms (over 2 s: longer than watch
# takes to enforce a policy, even on a loaded host).
N=1000
# burst_rx PORT: a receiver for a container's start-up burst (12 s window)
burst_rx() {
	peer_bg d52rx "$E2E_TMP/burst.$1" udp-recv "$1" 12 -n $N
}
BURST="peer udp-send %s %s $N -i 2000; sleep 600"

# ---- without --strict: the start-up window leaks ---------------------------
dk_watch_bg "$LOG.0" || bail "watch does not start"
burst_rx 5201
dk_run leak "${PARENT[@]}" --label "egressctl.allow=$RX udp:5299" egressctl-test:busybox \
	sh -c "$(printf "$BURST" $OTHER 5201)" >/dev/null
leaked=$(wait_bg "$E2E_TMP/burst.5201" 20)
diag "without --strict: $leaked of $N datagrams to a denied destination left before watch enforced the policy ($(grep -oE 'in [0-9.]+ ms$' "$LOG.0" | tail -1))"
kill -TERM "$DK_WATCH_PID"
wait "$DK_WATCH_PID"

# ---- --strict --unmanaged deny -------------------------------------------------
dk_watch_bg "$LOG" --strict --unmanaged deny --guard-cgroup "$GCG" || bail "watch --strict does not start"
assert_match "guard installed" "guard: installed on cgroup $GCG" "$(cat "$LOG")"
assert_eq "guard pinned" 1 "$([ -e /sys/fs/bpf/egressctl/guard/link ] && echo 1 || echo 0)"
assert_rc "guard status" 0 "$EGR" watch --guard-status
assert_match "guard status: cgroup" "^guard on cgroup $GCG \(id [0-9]+\)" "$LAST_OUT"

# A container that blasts a denied and an allowed destination from its first
# instant: nothing to the denied one, the allowed one only once enforced.
d0=$(guard_stat denied)
burst_rx 5202
burst_rx 5203
T=$(dk_run tight "${PARENT[@]}" --label "egressctl.allow=$RX udp:5203, $RX udp:5204" \
	egressctl-test:busybox sh -c "peer udp-send $OTHER 5202 $N -i 2000 & $(printf "$BURST" $RX 5203)")
NT=$(dk_name tight)
assert_eq "strict: start-up burst to a denied destination: 0 received" 0 \
	"$(wait_bg "$E2E_TMP/burst.5202" 20)"
got=$(wait_bg "$E2E_TMP/burst.5203" 5)
assert_range "strict: start-up burst to the allowed destination: held back until enforced" 0 $((N - 1)) "$got"
diag "strict: $got of $N datagrams to the allowed destination passed (the rest were held back by the guard until the policy was in force)"
d1=$(guard_stat denied)
assert_range "guard drop counter grew" 1 1000000 $((d1 - d0))
assert_match "sender saw the drops (send errors)" "sent [0-9]+ errors [1-9][0-9]*" "$(docker logs "$NT" 2>&1)"
diag "tight's senders: $(docker logs "$NT" 2>&1 | tr '\n' ' '); guard dropped $((d1 - d0)) packets"
assert_match "strict: label policy enforced, time logged" \
	"start $NT \(${T:0:12}\): enforced label policy \(2 rules, default deny\) on cgroup $GCG/$T \(attached\) in [0-9.]+ ms" "$(cat "$LOG")"
assert_eq "strict: exactly its policy: allowed delivered" 5 "$(dk_udp "$NT" d52rx $RX 5204 5)"
assert_eq "strict: exactly its policy: other port dropped" 0 "$(dk_udp "$NT" d52rx $RX 5205 5)"
assert_eq "strict: exactly its policy: other destination dropped" 0 "$(dk_udp "$NT" d52rx $OTHER 5204 5)"

dk_run none "${PARENT[@]}" egressctl-test:busybox sleep 600 >/dev/null
NN=$(dk_name none)
wait_for 10 grep -q "^start $NN " "$LOG"
assert_match "unmanaged deny: logged" "start $NN \([0-9a-f]{12}\): no policy: unmanaged, all egress denied by the guard" "$(cat "$LOG")"
assert_eq "unmanaged deny: nothing out" 0 "$(dk_udp "$NN" d52rx $RX 5206 5)"
# shellcheck disable=SC2016
assert_eq "unmanaged deny: loopback still works" 3 \
	"$(timeout 20 docker exec "$NN" sh -c 'peer udp-recv 5207 3 -n 3 -r /tmp/r & for i in $(seq 50); do [ -e /tmp/r ] && break; sleep 0.1; done; peer udp-send 127.0.0.1 5207 3 >/dev/null; wait')"

# a container outside the guarded cgroup is not affected
dk_run outside egressctl-test:busybox sleep 600 >/dev/null
assert_eq "outside the guarded cgroup: unaffected" 5 "$(dk_udp "$(dk_name outside)" d52rx $RX 5208 5)"

# ---- watch killed: the guard stays ----------------------------------------------
kill -KILL "$DK_WATCH_PID"
wait "$DK_WATCH_PID" 2>/dev/null
burst_rx 5209
L=$(dk_run late "${PARENT[@]}" --label "egressctl.allow=$RX udp:5209, $RX udp:5210" \
	egressctl-test:busybox sh -c "$(printf "$BURST" $RX 5209)")
NL=$(dk_name late)
dk_run late2 "${PARENT[@]}" egressctl-test:busybox sleep 600 >/dev/null
NL2=$(dk_name late2)
assert_eq "watch down: new container with a policy: nothing out" 0 "$(wait_bg "$E2E_TMP/burst.5209" 20)"
assert_eq "watch down: new container, allowed destination: still nothing" 0 "$(dk_udp "$NL" d52rx $RX 5210 5)"
assert_eq "watch down: new container without policy: nothing out" 0 "$(dk_udp "$NL2" d52rx $RX 5211 5)"
assert_eq "watch down: the enforced container keeps its policy" 5 "$(dk_udp "$NT" d52rx $RX 5204 5)"

# watch back: re-applied at startup
dk_watch_bg "$LOG.2" --strict --unmanaged deny --guard-cgroup "$GCG" || bail "watch --strict does not restart"
assert_match "watch back: policy enforced at startup" \
	"startup $NL \(${L:0:12}\): enforced label policy \(2 rules, default deny\)" "$(cat "$LOG.2")"
assert_eq "watch back: allowed delivered" 5 "$(dk_udp "$NL" d52rx $RX 5210 5)"
assert_eq "watch back: other destination dropped" 0 "$(dk_udp "$NL" d52rx $OTHER 5210 5)"
assert_eq "watch back: unmanaged still denied" 0 "$(dk_udp "$NL2" d52rx $RX 5211 5)"
kill -TERM "$DK_WATCH_PID"
wait "$DK_WATCH_PID"
assert_eq "watch --strict stopped: guard still pinned" 1 "$([ -e /sys/fs/bpf/egressctl/guard/link ] && echo 1 || echo 0)"

# ---- --unmanaged allow ------------------------------------------------------------
dk_watch_bg "$LOG.3" --strict --unmanaged allow --guard-cgroup "$GCG" || bail "watch does not start"
assert_match "unmanaged allow: logged" "startup $NL2 \([0-9a-f]{12}\): no policy: unmanaged, allowed by the guard" "$(cat "$LOG.3")"
assert_eq "unmanaged allow: delivered" 5 "$(dk_udp "$NL2" d52rx $RX 5211 5)"
assert_eq "unmanaged allow: managed ones keep their policy" 0 "$(dk_udp "$NL" d52rx $OTHER 5210 5)"
kill -TERM "$DK_WATCH_PID"
wait "$DK_WATCH_PID"

# ---- cost per packet: BPF_PROG_TEST_RUN ------------------------------------------
if command -v bpftool >/dev/null; then
	# Ethernet + IPv4 + UDP to 198.18.54.2:5212, 64 bytes of payload
	printf '\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00' >"$E2E_TMP/pkt"
	printf '\x45\x00\x00\x5c\x00\x01\x00\x00\x40\x11\x00\x00\xc6\x13\x00\x02\xc6\x12\x36\x02' >>"$E2E_TMP/pkt"
	printf '\x30\x39\x14\x5c\x00\x48\x00\x00' >>"$E2E_TMP/pkt"
	head -c 64 /dev/zero >>"$E2E_TMP/pkt"
	gns=$(bpftool prog run pinned /sys/fs/bpf/egressctl/guard/prog data_in "$E2E_TMP/pkt" repeat 1000000 2>&1 |
		sed -n 's/.*duration (average): \([0-9]*\)ns.*/\1/p')
	tcg=$(dk_cgid "$NT")
	fns=$(bpftool prog run pinned "/sys/fs/bpf/egressctl/$tcg/prog_egress" data_in "$E2E_TMP/pkt" repeat 1000000 2>&1 |
		sed -n 's/.*duration (average): \([0-9]*\)ns.*/\1/p')
	assert_match "guard per-packet cost measured" '^[0-9]+$' "$gns"
	diag "per-packet cost (BPF_PROG_TEST_RUN, 1e6 runs, IPv4/UDP): guard $gns ns, the container's own filter (2 rules) $fns ns"
else
	skip "guard per-packet cost" "no bpftool"
fi

# ---- --remove-guard ----------------------------------------------------------------
assert_rc "watch --remove-guard" 0 "$EGR" watch --remove-guard
assert_eq "guard unpinned" 0 "$([ -e /sys/fs/bpf/egressctl/guard ] && echo 1 || echo 0)"
assert_eq "guard removed: unmanaged container free again" 5 "$(dk_udp "$NL2" d52rx $RX 5213 5)"
assert_rc "--remove-guard again: error" 1 "$EGR" watch --remove-guard
assert_eq "--remove-guard again: message" "egressctl: no guard installed" "$LAST_ERR"

e2e_done
