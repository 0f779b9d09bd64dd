#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# egressctl watch --strict: the guard on the containers' parent cgroup denies
# every container until watch has put its policy in force, also while watch
# is not running. The start-up window is made an order of events: watch is
# stopped (SIGSTOP) while a container starts sending from its first instant
# to a denied and an allowed destination; the guard drops its packets
# (counter, the sender's EPERM) and nothing arrives; watch resumes, enforces
# the policy, and from then on the allowed destination gets exactly what got
# out, the denied one nothing. Without --strict the same container leaks
# (reported, not asserted). --unmanaged deny|allow; the guard outlives watch
# until --remove-guard; a container started while a full pass runs is
# handled meanwhile and keeps its guard entry past the pass's end. The
# guard's per-packet cost is measured with
# BPF_PROG_TEST_RUN (bpftool prog run; diag only). The test's containers run
# under their own parent cgroup (docker run --cgroup-parent), and the guard
# is put there, so other containers on this dockerd are never affected.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr docker python3

ALL_TESTS="test_leak_without_strict test_strict_unmanaged_deny test_watch_down_guard_stays
	test_unmanaged_allow test_unmanaged_during_pass test_remove_guard"

if [ -d /sys/fs/bpf/egressctl/guard ]; then
	bail "a guard is already installed on this host (egressctl watch --guard-status); not touching it"
fi
netns_up d52rx 198.18.54.2/24 -
netns_addr d52rx 198.18.55.7/32
RX=198.18.54.2 OTHER=198.18.55.7 RX_NS=d52rx
_sysctl - net.ipv4.ip_forward 1
GCG=/egr-strict-$E2E_ID
PARENT=(--cgroup-parent "$GCG")
LOG=$E2E_TMP/watch.log
T=$E2E_TMP

strict_cleanup() {
	local d
	"$EGR" watch --remove-guard >/dev/null 2>&1
	for d in "$CGROOT$GCG" /sys/fs/cgroup/*"$GCG"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
}
DK_CLEANUP_HOOK=strict_cleanup
# every case starts without a guard
no_guard() { [ "$1" = end ] && "$EGR" watch --remove-guard >/dev/null 2>&1; return 0; }
e2e_on_case no_guard

strict_watch() { dk_watch_bg "$1" --strict --unmanaged "$2" --guard-cgroup "$GCG"; }
udp_from() {
	local c=$1
	shift
	expect_udp "$@" -n 5 -i 500 --from "docker:$c"
}

# without --strict: the start-up window leaks (reported, not judged)
test_leak_without_strict() {
	local NK out sent
	strict_cleanup
	dk_watch_bg "$LOG.0" || fail "watch does not start"
	rx_up 5201 || fail "receiver ready"
	dk_run leak "${PARENT[@]}" --label "egressctl.allow=$RX udp:5299" egressctl-test:busybox \
		sh -c "peer udp-send $OTHER 5201 1000 -i 2000 -p /tmp/a; sleep 3600" >/dev/null
	NK=$(dk_name leak)
	wait_for 60 grep -q "^start $NK .*enforced" "$LOG.0"
	wait_for 60 senders_done "$NK"
	out=$(progress_of "$NK" /tmp/a)
	read -r _ sent _ <<<"$out"
	diag "without --strict: ${sent:-?} of 1000 datagrams to a denied destination left before watch enforced the policy ($(grep -oE 'in [0-9.]+ ms$' "$LOG.0" | tail -1)); sender: $out"
	assert_eq "without --strict: the receiver got exactly what the sender got out (+ the fence)" \
		"$((sent + 1))" "$(recv_done "$T/rx.5201" "$OTHER" 5201 "$sent" | cut -d' ' -f1)"
}

test_strict_unmanaged_deny() {
	local d0 TT NT a b s_b e_b NN gns fns tcg
	strict_watch "$LOG" deny || fail "watch --strict does not start"
	assert_match "guard installed" "guard: installed on cgroup $GCG" "$(cat "$LOG")"
	assert_eq "guard pinned" 1 "$([ -e /sys/fs/bpf/egressctl/guard/link ] && echo 1 || echo 0)"
	assert_rc "guard status" 0 "$EGR" watch --guard-status
	assert_match "guard status: cgroup" "^guard on cgroup $GCG \(id [0-9]+\)" "$LAST_OUT"

	# A container that sends to a denied and an allowed destination from its
	# first instant, while watch is stopped: the guard holds it back.
	d0=$(guard_stat denied)
	rx_up 5202 || fail "receiver ready"
	rx_up 5203 || fail "receiver ready"
	kill -STOP "$DK_WATCH_PID"
	TT=$(dk_run tight "${PARENT[@]}" --label "egressctl.allow=$RX udp:5203, $RX udp:5204" \
		egressctl-test:busybox sh -c "peer udp-send $OTHER 5202 1000000 -i 2000 -t 600 -p /tmp/a &
			peer udp-send $RX 5203 1000000 -i 2000 -t 600 -p /tmp/b & sleep 3600")
	NT=$(dk_name tight)
	if ! wait_for 60 _guard_ge denied $((d0 + 10)) || ! wait_for 60 _errors_ge "$NT" /tmp/a 1 ||
		! wait_for 60 _errors_ge "$NT" /tmp/b 1; then
		kill -CONT "$DK_WATCH_PID"
		fail "strict, watch stopped: the guard drops the container's packets"
	fi
	pass "strict, watch stopped: the guard drops the container's packets"
	assert_eq "strict, its policy not in force yet: nothing arrives at either destination" "0 0" \
		"$(rx_count 5202) $(rx_count 5203)"
	kill -CONT "$DK_WATCH_PID"
	wait_for 60 grep -q "^start $NT .*enforced" "$LOG"
	assert_match "strict: label policy enforced, time logged" \
		"start $NT \(${TT:0:12}\): enforced label policy \(2 rules, default deny\) on cgroup $GCG/$TT \(attached[^)]*\) in [0-9.]+ ms" "$(cat "$LOG")"
	assert_true "strict: once enforced, the allowed destination receives" wait_for 60 _rx_ge 5203 1
	stop_senders "$NT"
	a=$(progress_of "$NT" /tmp/a) b=$(progress_of "$NT" /tmp/b)
	diag "tight's senders: denied destination '$a', allowed destination '$b'; guard dropped $(($(guard_stat denied) - d0)) packets"
	assert_match "strict: to the denied destination every send was refused" '^sent 0 errors [1-9][0-9]*$' "$a"
	assert_eq "strict: start-up burst to a denied destination: 0 received (the fence alone)" "1 1" \
		"$(recv_done "$T/rx.5202" "$OTHER" 5202 0)"
	read -r _ s_b _ e_b <<<"$b"
	assert_match "sender saw the drops (send errors) before the policy was in force" '^[1-9]' "$e_b"
	assert_eq "strict: the allowed destination received exactly what got out (+ the fence)" \
		"$((s_b + 1))" "$(recv_done "$T/rx.5203" "$RX" 5203 "$s_b" | cut -d' ' -f1)"
	assert_range "guard drop counter grew" 10 100000000 $(($(guard_stat denied) - d0))
	udp_from "$NT" pass "$RX" 5204 -m "strict: exactly its policy: allowed"
	udp_from "$NT" drop "$RX" 5205 -m "strict: exactly its policy: other port"
	udp_from "$NT" drop "$OTHER" 5204 -m "strict: exactly its policy: other destination"

	dk_run none "${PARENT[@]}" egressctl-test:busybox sleep 3600 >/dev/null
	NN=$(dk_name none)
	wait_for 60 grep -q "^start $NN " "$LOG"
	assert_match "unmanaged deny: logged" "start $NN \([0-9a-f]{12}\): no policy: unmanaged, all egress denied by the guard" "$(cat "$LOG")"
	udp_from "$NN" drop "$RX" 5206 -m "unmanaged deny: nothing out"
	assert_eq "unmanaged deny: loopback still works" 3 \
		"$(timeout 60 docker exec "$NN" sh -c 'peer udp-recv 5207 30 -n 3 -r /tmp/r & for i in $(seq 300); do [ -e /tmp/r ] && break; sleep 0.1; done; peer udp-send 127.0.0.1 5207 3 >/dev/null; wait')"
	# a container outside the guarded cgroup is not affected
	dk_run outside egressctl-test:busybox sleep 3600 >/dev/null
	udp_from "$(dk_name outside)" pass "$RX" 5208 -m "outside the guarded cgroup: unaffected"

	# cost per packet: BPF_PROG_TEST_RUN (measured, not judged)
	# Ethernet + IPv4 + UDP to 198.18.54.2:5212, 64 bytes of payload
	printf '\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00' >"$T/pkt"
	printf '\x45\x00\x00\x5c\x00\x01\x00\x00\x40\x11\x00\x00\xc6\x13\x00\x02\xc6\x12\x36\x02' >>"$T/pkt"
	printf '\x30\x39\x14\x5c\x00\x48\x00\x00' >>"$T/pkt"
	head -c 64 /dev/zero >>"$T/pkt"
	gns=$(bpftool prog run pinned /sys/fs/bpf/egressctl/guard/prog data_in "$T/pkt" repeat 1000000 2>&1 |
		sed -n 's/.*duration (average): \([0-9]*\)ns.*/\1/p')
	tcg=$(dk_cgid "$NT")
	fns=$(bpftool prog run pinned "/sys/fs/bpf/egressctl/$tcg/prog_egress" data_in "$T/pkt" repeat 1000000 2>&1 |
		sed -n 's/.*duration (average): \([0-9]*\)ns.*/\1/p')
	assert_match "guard per-packet cost measured" '^[0-9]+$' "$gns"
	diag "per-packet cost (BPF_PROG_TEST_RUN, 1e6 runs, IPv4/UDP): guard $gns ns, the container's own filter (2 rules) $fns ns"
}

# watch killed: the guard stays
test_watch_down_guard_stays() {
	local NM L NL NL2 out
	strict_watch "$LOG.k" deny || fail "watch --strict does not start"
	dk_run managed "${PARENT[@]}" --label "egressctl.allow=$RX udp:5204" egressctl-test:busybox sleep 3600 >/dev/null
	NM=$(dk_name managed)
	wait_for 60 grep -q "^start $NM .*enforced" "$LOG.k"
	kill -KILL "$DK_WATCH_PID"
	wait "$DK_WATCH_PID" 2>/dev/null
	rx_up 5209 || fail "receiver ready"
	L=$(dk_run late "${PARENT[@]}" --label "egressctl.allow=$RX udp:5209, $RX udp:5210" \
		egressctl-test:busybox sh -c "peer udp-send $RX 5209 1000 -i 2000 -p /tmp/a; sleep 3600")
	NL=$(dk_name late)
	dk_run late2 "${PARENT[@]}" egressctl-test:busybox sleep 3600 >/dev/null
	NL2=$(dk_name late2)
	wait_for 60 senders_done "$NL"
	out=$(progress_of "$NL" /tmp/a)
	assert_eq "watch down: new container with a policy: every send of its burst refused" \
		"sent 0 errors 1000" "$out"
	assert_eq "watch down: new container with a policy: nothing out (the fence alone)" "1 1" \
		"$(recv_done "$T/rx.5209" "$RX" 5209 0)"
	udp_from "$NL" drop "$RX" 5210 -m "watch down: new container, allowed destination: still nothing"
	udp_from "$NL2" drop "$RX" 5211 -m "watch down: new container without policy: nothing out"
	udp_from "$NM" pass "$RX" 5204 -m "watch down: the enforced container keeps its policy"

	# watch back: re-applied at startup
	strict_watch "$LOG.k2" deny || fail "watch --strict does not restart"
	assert_match "watch back: policy enforced at startup" \
		"startup $NL \(${L:0:12}\): enforced label policy \(2 rules, default deny\)" "$(cat "$LOG.k2")"
	udp_from "$NL" pass "$RX" 5210 -m "watch back: allowed"
	udp_from "$NL" drop "$OTHER" 5210 -m "watch back: other destination"
	udp_from "$NL2" drop "$RX" 5211 -m "watch back: unmanaged still denied"
	kill -TERM "$DK_WATCH_PID"
	wait "$DK_WATCH_PID"
	assert_eq "watch --strict stopped: guard still pinned" 1 "$([ -e /sys/fs/bpf/egressctl/guard/link ] && echo 1 || echo 0)"
}

# --unmanaged allow
test_unmanaged_allow() {
	local NA2 NU
	strict_watch "$LOG.a" deny || fail "watch --strict does not start"
	dk_run managed2 "${PARENT[@]}" --label "egressctl.allow=$RX udp:5210" egressctl-test:busybox sleep 3600 >/dev/null
	NA2=$(dk_name managed2)
	dk_run unmanaged "${PARENT[@]}" egressctl-test:busybox sleep 3600 >/dev/null
	NU=$(dk_name unmanaged)
	wait_for 60 grep -q "^start $NA2 .*enforced" "$LOG.a"
	wait_for 60 grep -q "^start $NU " "$LOG.a"
	kill -TERM "$DK_WATCH_PID"
	wait "$DK_WATCH_PID"
	strict_watch "$LOG.a2" allow || fail "watch does not start"
	assert_match "unmanaged allow: logged" "startup $NU \([0-9a-f]{12}\): no policy: unmanaged, allowed by the guard" "$(cat "$LOG.a2")"
	udp_from "$NU" pass "$RX" 5211 -m "unmanaged allow"
	udp_from "$NA2" drop "$OTHER" 5210 -m "unmanaged allow: managed ones keep their policy"
}

# A full pass (here the startup one, held by EGRESSCTL_TEST_PASS_HOLD after
# its containers) does not hold up events: an unmanaged container started
# meanwhile is handled at once, and the pass's sync of the guard's entries
# keeps the one its start put in.
test_unmanaged_during_pass() {
	local NU3 hold=$T/hold
	mkdir -p "$hold"
	EGRESSCTL_TEST_PASS_HOLD=$hold "$EGR" watch --strict --unmanaged allow --guard-cgroup "$GCG" \
		--resync 0 >"$LOG.p" 2>&1 &
	DK_WATCH_PID=$!
	echo "$DK_WATCH_PID" >>"$E2E_TMP/.dk_watch"
	wait_for 60 test -e "$hold/held" || fail "watch's startup pass holds"
	dk_run unmanaged3 "${PARENT[@]}" egressctl-test:busybox sleep 3600 >/dev/null
	NU3=$(dk_name unmanaged3)
	wait_line "$LOG.p" "^start $NU3 \([0-9a-f]{12}\): no policy: unmanaged, allowed by the guard" ||
		fail "the start event is handled while the pass holds"
	assert_eq "the pass still holds: not reconciled yet" 0 "$(grep -c '^watch: reconciled' "$LOG.p")"
	touch "$hold/go"
	wait_line "$LOG.p" '^watch: reconciled' || fail "the pass ends"
	udp_from "$NU3" pass "$RX" 5214 -m "started during the pass: allowed by the guard after it"
	kill -TERM "$DK_WATCH_PID"
	wait "$DK_WATCH_PID"
}

# --remove-guard
test_remove_guard() {
	local NU2
	strict_watch "$LOG.r" deny || fail "watch --strict does not start"
	dk_run unmanaged2 "${PARENT[@]}" egressctl-test:busybox sleep 3600 >/dev/null
	NU2=$(dk_name unmanaged2)
	wait_for 60 grep -q "^start $NU2 " "$LOG.r"
	kill -TERM "$DK_WATCH_PID"
	wait "$DK_WATCH_PID"
	udp_from "$NU2" drop "$RX" 5213 -m "guard in place, watch stopped: unmanaged container denied"
	assert_rc "watch --remove-guard" 0 "$EGR" watch --remove-guard
	assert_eq "guard unpinned" 0 "$([ -e /sys/fs/bpf/egressctl/guard ] && echo 1 || echo 0)"
	udp_from "$NU2" pass "$RX" 5213 -m "guard removed: unmanaged container free again"
	assert_rc "--remove-guard again: error" 1 "$EGR" watch --remove-guard
	assert_eq "--remove-guard again: message" "egressctl: no guard installed" "$LAST_ERR"
}

run_tests
