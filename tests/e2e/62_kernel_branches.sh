#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Every branch that depends on a kernel feature, on any kernel: the test
# hooks (README "Tests") force the branch this machine does not have.
# - BPF LSM absent / refused / unknown: attach says, for a target with no
#   veth (the host's network namespace) and for one behind a veth, that
#   packet sockets are not blocked (or only at the veth), and why; status
#   says the same.
# - BPF LSM as the kernel has it: attach and status agree with it.
# - The veth guard by tcx and by a classic tc filter (no tcx): a packet
#   socket's frame to the host is dropped at the veth (the receiver counts
#   nothing, the guard's counter grows by exactly the frames sent), an IP
#   datagram of the same target passes, and detach takes the guard away
#   (the same frame then arrives).
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr jq tc

ALL_TESTS="test_lsm_forced_host_netns test_lsm_forced_behind_veth test_lsm_as_the_kernel_has_it
	test_veth_guard_tcx test_veth_guard_tc"

egr_topology k62 1
ATTACK=$EGR_TESTBIN/attack
HV=h-$NA # the host end of NA's veth
H4=$NET1.1

# The reason each forced state gives (lsm_reason()).
declare -A WHY=(
	[absent]="BPF LSM is not in the kernel's LSM list: boot with lsm=\.\.\.,bpf"
	[refused]="the kernel refuses BPF LSM programs: "
	[unknown]="BPF LSM state unknown: /sys/kernel/security/lsm cannot be read"
)

# A target with a process: in the host's network namespace (no veth), or in
# NA's (behind a veth). Sets TCG, TID, TGT; attach is left to the case.
target_in() {
	TCG=$(cg_new "$1")
	TID=$(stat -c %i "$TCG") TGT=cgroup:$TCG
	if [ "$2" = host ]; then
		run_bg - "$E2E_TMP/sleep-$1" cg_run "$TCG" sleep 600
	else
		run_bg - "$E2E_TMP/sleep-$1" cg_run "$TCG" ip netns exec "$2" sleep 600
	fi
	wait_for 10 grep -q . "$TCG/cgroup.procs" || bail "no process in $TCG"
	echo "$TCG $TID" >>"$E2E_TMP/.attached"
}

test_lsm_forced_host_netns() {
	local st
	target_in host host
	for st in absent refused unknown; do
		assert_rc "$st: attach a target in the host's network namespace" 0 \
			env EGRESSCTL_TEST_LSM=$st "$EGR" attach "$TGT"
		assert_match "$st: attach says packet sockets are NOT blocked for it, and why" \
			"packet sockets \(AF_PACKET\) are NOT blocked for cgroup ${TCG#"$CGROOT"}: it shares the host's network namespace, so there is no veth to guard, and BPF LSM unavailable \(${WHY[$st]}" \
			"$LAST_ERR"
		assert_match "$st: status says why BPF LSM is not used" \
			"^packet sockets: BPF LSM unavailable \(${WHY[$st]}" \
			"$(EGRESSCTL_TEST_LSM=$st "$EGR" status | grep '^packet sockets:')"
		assert_match "$st: status lists the target as not covered" \
			"packet sockets NOT blocked for cgroup id $TID" \
			"$(EGRESSCTL_TEST_LSM=$st "$EGR" status)"
		assert_eq "$st: status -j names the state" "$st" \
			"$(EGRESSCTL_TEST_LSM=$st "$EGR" status -j | jq -r .kernel.packet_sockets.bpf_lsm_state)"
		assert_rc "$st: detach" 0 "$EGR" detach "$TGT"
	done
}

test_lsm_forced_behind_veth() {
	local st
	target_in veth "$NA"
	for st in absent refused unknown; do
		assert_rc "$st: attach a target behind a veth" 0 \
			env EGRESSCTL_TEST_LSM=$st "$EGR" attach "$TGT"
		assert_match "$st: attach says packet sockets are blocked only at the veth, and why" \
			"BPF LSM unavailable \(${WHY[$st]}.*\): packet sockets \(AF_PACKET, AF_XDP\) are blocked only at the target's veth; sockets passed in from outside are NOT covered" \
			"$LAST_ERR"
		assert_eq "$st: the veth guard covers it" 1 "$(find "$EGR_PINS/pktguard" -name "veth-$TID-*" | wc -l)"
		assert_rc "$st: detach" 0 "$EGR" detach "$TGT"
		assert_eq "$st: detach removes the veth guard" 0 \
			"$(find "$EGR_PINS/pktguard" -name "veth-$TID-*" | wc -l)"
	done
}

# Without a test hook: whatever this kernel does, attach and status agree.
test_lsm_as_the_kernel_has_it() {
	local st
	target_in nat host
	assert_rc "attach a target in the host's network namespace" 0 "$EGR" attach "$TGT"
	st=$("$EGR" status -j | jq -r .kernel.packet_sockets.bpf_lsm_state)
	diag "this kernel: BPF LSM $st"
	assert_match "status -j names a state" "^(active|refused|absent|unknown)$" "$st"
	if [ "$st" = active ]; then
		assert_eq "active: attach warns of nothing about packet sockets" "" \
			"$(grep 'packet sockets' <<<"$LAST_ERR")"
		assert_match "active: status says blocked by BPF LSM" "^packet sockets: blocked \(BPF LSM\)" \
			"$("$EGR" status | grep '^packet sockets:')"
	else
		assert_match "$st: attach says packet sockets are NOT blocked for it, and why" \
			"NOT blocked for cgroup ${TCG#"$CGROOT"}: it shares the host's network namespace.*BPF LSM unavailable \(${WHY[$st]}" \
			"$LAST_ERR"
	fi
	assert_rc "detach" 0 "$EGR" detach "$TGT"
}

# guard_drops: the veth guard's dropped-frame counter (status -j "refused"
# sums all the guard's counters; only the veth one moves in these cases).
guard_drops() { "$EGR" status -j | jq -r .kernel.packet_sockets.refused; }

# veth_guard MODE NAME_SUFFIX [ENV...]: attach (BPF LSM forced absent, so
# the veth guard is what stands, whatever the kernel), then the frame
# checks.
veth_guard() {
	local mode=$1 suffix=$2 d0 got
	shift 2
	target_in "vg-$mode" "$NA"
	assert_rc "$mode: attach" 0 env EGRESSCTL_TEST_LSM=absent "$@" "$EGR" attach "$TGT"
	assert_eq "$mode: the guard's pin" "veth-$TID-$(cat "/sys/class/net/$HV/ifindex")$suffix" \
		"$(basename "$(find "$EGR_PINS/pktguard" -name "veth-$TID-*")")"
	if [ "$mode" = tc ]; then
		assert_match "tc: a classic tc filter runs the guard on $HV" "egr_veth_guard" \
			"$(tc filter show dev "$HV" ingress)"
	else
		assert_eq "tcx: no classic tc filter on $HV" "" \
			"$(tc filter show dev "$HV" ingress 2>/dev/null | grep egr_veth_guard)"
	fi
	assert_rc "$mode: allow the host end" 0 "$EGR" allow "$TGT" "$H4" udp:7000
	expect_udp pass "$H4" 7000 --from "$TCG" --in "$NA" -m "$mode: IP datagram to the host end"
	d0=$(guard_drops)
	peer_bg - "$E2E_TMP/rx-$mode" udp-recv 7001 60 -b -n 1
	assert_rc "$mode: 3 AF_PACKET frames sent" 0 cg_run "$TCG" ip netns exec "$NA" "$ATTACK" packet eth0 "$H4" 7001 11 3
	assert_true "$mode: the guard counts exactly 3 dropped frames" \
		wait_for 10 test "$(guard_drops)" -ge $((d0 + 3))
	assert_eq "$mode: ... not more" $((d0 + 3)) "$(guard_drops)"
	assert_rc "$mode: detach" 0 "$EGR" detach "$TGT"
	assert_eq "$mode: detach removes the guard's filter" "" \
		"$(tc filter show dev "$HV" ingress 2>/dev/null | grep egr_veth_guard)"
	# control: without the guard the same frame arrives (the receiver
	# saw nothing before: its first datagram ends it)
	assert_rc "$mode: the same frame after detach" 0 ip netns exec "$NA" "$ATTACK" packet eth0 "$H4" 7001 12 1
	got=$(wait_bg "$E2E_TMP/rx-$mode" 30)
	assert_eq "$mode: the receiver got only the frame sent after detach" "1" "${got%% *}"
}

# tcx came with Linux 6.6; before it attach falls back to tc by itself.
kernel_has_tcx() { printf '6.6\n%s\n' "$(uname -r | cut -d- -f1)" | sort -VC; }

test_veth_guard_tcx() {
	if ! kernel_has_tcx; then
		skip "tcx: the veth guard by tcx" "this kernel has no tcx (Linux < 6.6)"
		return 0
	fi
	veth_guard tcx ""
}

test_veth_guard_tc() { veth_guard tc -tc EGRESSCTL_TEST_NO_TCX=1; }

run_tests
