#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Issue 8: root in a container with Docker's default capabilities and
# seccomp profile tries to get packets past its policy (docs/security.md has
# the threat model and the table of results). Every vector runs from inside a
# real container; a witness counts what arrives:
#   rx    a network namespace on docker0 (198.19.0.250/.251,
#         2001:db8:19::250/::251, fe80::250), capturing every frame (AF_PACKET)
#   wire  the host end of the container's veth: every frame that left it
# Each packet carries a tag (tests/e2e/attack.c), so one capture counts all.
# A blocked vector must be seen by neither; each vector has a positive
# control (the same thing to an allowed destination, or from a container
# with no policy) so the test can fail. The vectors are sent case by case;
# test_evaluation, after them, judges every tag against the captures.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $0 $1
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr
# shellcheck source=tests/e2e/docker_lib.sh
. "$E2E_LIB_DIR/docker_lib.sh"

ALL_TESTS="test_packet_sockets test_raw_ip_sockets test_ipv6 test_fragments test_other_protocols
	test_ipv4_only_policy test_default_allow_limits test_sockets_before_attach test_escape_attempts
	test_out_of_scope test_evaluation test_hardening test_foreign_pins test_serve_read_only"

ATTACK=${EGR_TESTBIN:-$E2E_ROOT/build/tests}/attack
[ -x "$ATTACK" ] || bail "helper $ATTACK missing (make test-build)"
docker_up >/dev/null 2>&1 || bail "docker_up failed"
if [ "${DOCKER_TRAFFIC_OK:-0}" != 1 ]; then
	skip "security vectors" "docker0 is not 198.19.0.1/24 (not our dockerd)"
	e2e_done
fi
docker_image "$ATTACK" "$PEER" || bail "docker_image failed"

T=$E2E_TMP
RX=sv$E2E_ID         # receiver namespace (h-$RX is its port on docker0)
PFX=egr-sv-$E2E_ID   # container names
RX4=198.19.0.250     # denied (but udp:53, tcp:80)
OK4=198.19.0.251     # allowed, any protocol
RX6=2001:db8:19::250 # denied (but udp:53)
OK6=2001:db8:19::251 # allowed
C6=2001:db8:19::2    # the container's IPv6 address (added from the host)
LL=fe80::250
DOCKER=(docker -H "unix://$EGR_DOCKER_SOCK")

sv_cleanup() {
	local c
	for c in "$PFX-c" "$PFX-pre" "$PFX-ctl" "$PFX-priv" "$PFX-host"; do
		"$EGR" detach "$c" >/dev/null 2>&1
		"${DOCKER[@]}" rm -f "$c" >/dev/null 2>&1
	done
	[ -s "$T/foreign_cg" ] && "$EGR" detach "cgroup:$(cat "$T/foreign_cg")" >/dev/null 2>&1
	return 0
}
e2e_on_exit sv_cleanup

# ---- the receiver: a namespace bridged onto docker0 ------------------------
ip netns add "$RX" || bail "ip netns add $RX"
echo "$RX" >>"$T/.netns"
ip link add "h-$RX" type veth peer name eth0 netns "$RX" || bail "veth for $RX"
ip link set "h-$RX" master docker0 || bail "h-$RX into docker0"
for k in disable_ipv6=0 accept_dad=0 dad_transmits=0 accept_ra=0 router_solicitations=0; do
	_sysctl "$RX" "net.ipv6.conf.eth0.${k%=*}" "${k#*=}" 2>/dev/null
done
ip netns exec "$RX" sh -c "ip link set lo up &&
	ip addr add $RX4/24 dev eth0 && ip addr add $OK4/24 dev eth0 &&
	ip -6 addr add $RX6/64 dev eth0 nodad && ip -6 addr add $OK6/64 dev eth0 nodad &&
	ip -6 addr add $LL/64 dev eth0 nodad && ip link set eth0 up" || bail "receiver addresses"
ip link set "h-$RX" up

# ---- containers -------------------------------------------------------------
mkdir -p "$T/share" "$T/pre"
chmod 0777 "$T/share" "$T/pre"
# c: the attacker under policy; pre: opens sockets before its attach;
# ctl: no policy at all (positive controls for vectors that no policy allows)
"${DOCKER[@]}" run -d --name "$PFX-c" -v "$T/share:/shared" "$EGR_DOCKER_IMAGE" sleep 3600 \
	>/dev/null || bail "docker run $PFX-c"
"${DOCKER[@]}" run -d --name "$PFX-ctl" "$EGR_DOCKER_IMAGE" sleep 3600 >/dev/null ||
	bail "docker run $PFX-ctl"

cpid() { "${DOCKER[@]}" inspect -f '{{.State.Pid}}' "$1"; }
# The host end of a container's eth0.
host_veth() {
	local idx
	idx=$(nsenter -t "$(cpid "$1")" -n ip -o link show eth0 | sed -n 's/.*eth0@if\([0-9]*\):.*/\1/p')
	ip -o link | awk -F': ' -v i="$idx" '$1 == i { sub(/@.*/, "", $2); print $2 }'
}
CPID=$(cpid "$PFX-c")
# IPv6 on the attacker's eth0 (Docker's bridge has none), everything routed
# via the receiver; 198.18.77.0/24 also via the receiver (a router it has)
nsenter -t "$CPID" -n sh -c "
	echo 0 > /proc/sys/net/ipv6/conf/eth0/accept_dad
	echo 0 > /proc/sys/net/ipv6/conf/all/disable_ipv6
	echo 0 > /proc/sys/net/ipv6/conf/eth0/disable_ipv6
	ip -6 addr add $C6/64 dev eth0 nodad &&
	ip -6 route add default via $RX6 dev eth0 &&
	ip route add 198.18.77.0/24 via $RX4 dev eth0" || bail "container IPv6 setup"

# ---- witnesses ----------------------------------------------------------------
: >"$T/wires"
start_capture() { # NAME NS IFACE
	run_bg "$2" "$T/cap-$1" "$ATTACK" capture "$3" 900 -s "$T/stop" -r "$T/cap-$1.ready"
	wait_for 15 test -e "$T/cap-$1.ready" || bail "capture $1 on $3 not ready"
}
start_capture rx "$RX" eth0
for c in c ctl; do
	v=$(host_veth "$PFX-$c")
	[ -n "$v" ] || bail "no host veth for $PFX-$c"
	start_capture "wire-$c" - "$v"
	echo "wire-$c" >>"$T/wires"
done

# ---- attach, policy ------------------------------------------------------------
assert_rc "attach the attacker's container" 0 "$EGR" attach "$PFX-c"
ATTACH_ERR=$LAST_ERR
diag "attach said: $LAST_ERR"
# ff02::1:ff00:0/104: neighbour solicitations. The container's network
# namespace was made inside its cgroup, so the kernel's own neighbour
# discovery socket is judged by its policy (docs/security.md).
cat >"$T/policy-a.yaml" <<EOF
default: deny
rules:
  - allow: ff02::1:ff00:0/104
    ports: [icmp]
  - allow: $OK4
  - allow: $RX4
    ports: [udp:53, tcp:80]
  - allow: $OK6
  - allow: $RX6
    ports: [udp:53]
EOF
assert_rc "apply policy A (mixed)" 0 "$EGR" apply "$PFX-c" -f "$T/policy-a.yaml"
STATUS=$("$EGR" status -j 2>/dev/null)
LSM=0
[[ $STATUS == *'"bpf_lsm": true'* ]] && LSM=1
diag "BPF LSM hooks loaded: $LSM; status: $("$EGR" status 2>&1 | grep 'packet sockets')"
CGID=$(stat -c %i "$CGROOT$(grep '^0::' "/proc/$CPID/cgroup" | cut -d: -f3)")

# ctl: without the BPF LSM, attach it too and take its veth guard away, to
# show that cgroup_skb/egress alone does not see packet sockets.
CTL_ATTACHED=0
if [ "$LSM" != 1 ] && "$EGR" attach "$PFX-ctl" >/dev/null 2>&1; then
	ccg=$(stat -c %i "$CGROOT$(grep '^0::' "/proc/$(cpid "$PFX-ctl")/cgroup" | cut -d: -f3)")
	rm -f /sys/fs/bpf/egressctl/pktguard/veth-"$ccg"-*
	CTL_ATTACHED=1
fi

# ---- vector bookkeeping --------------------------------------------------------
# (files, not variables: the cases run in subshells)
echo 100 >"$T/tag"
: >"$T/vectors"
# vec EXPECT NAME CONTAINER ATTACK-ARGS... (TAG is replaced by a fresh tag)
# EXPECT: blocked (rx and wire see nothing) | arrives (rx or wire sees it) |
# dropped (the frame left the container's namespace; rx sees nothing: the
# wire capture at the veth's host end runs before the veth guard drops it)
vec() {
	local exp=$1 name=$2 c=$3 a out rc tag
	shift 3
	tag=$(($(cat "$T/tag") + 1))
	echo "$tag" >"$T/tag"
	TAG=$tag
	local -a args=()
	for a in "$@"; do
		[ "$a" = TAG ] && a=$tag
		args+=("$a")
	done
	out=$("${DOCKER[@]}" exec "$PFX-$c" timeout 20 attack "${args[@]}" 2>&1)
	rc=$?
	diag "[$tag] $name: attack ${args[*]} -> rc $rc: $(echo "$out" | tr '\n' ' ')"
	printf '%s|%s|%s\n' "$tag" "$exp" "$name" >>"$T/vectors"
	LAST_VEC_OUT=$out
}

# Each case starts with policy A in force on the attacker's container.
policy_a() { [ "$1" = end ] && "$EGR" apply "$PFX-c" -f "$T/policy-a.yaml" >/dev/null 2>&1; return 0; }
e2e_on_case policy_a

# 1. packet sockets
test_packet_sockets() {
	local fam
	if [ "$LSM" = 1 ]; then
		pass "1 packet sockets refused by the BPF LSM hooks"
	else
		assert_match "1 attach warns loudly that BPF LSM is unavailable" "BPF LSM unavailable" "$ATTACH_ERR"
		assert_match "1 status says so" "packet sockets: BPF LSM unavailable" "$("$EGR" status 2>&1)"
		assert_eq "1 the veth guard is on the container's veth" 1 \
			"$(find /sys/fs/bpf/egressctl/pktguard -maxdepth 1 -name "veth-$CGID-*" 2>/dev/null | wc -l)"
	fi
	vec dropped "1 AF_PACKET frame to a denied address" c packet eth0 "$RX4" 9 TAG
	vec dropped "1 AF_PACKET frame to an allowed address" c packet eth0 "$OK4" 9 TAG
	if [ "$CTL_ATTACHED" = 1 ]; then
		vec blocked "1 UDP from the control container: its default-deny filter is in force" ctl rawudp "$RX4" 9 TAG
		vec arrives "1 AF_PACKET frame past an attached filter, veth guard removed (control)" ctl packet eth0 "$RX4" 9 TAG
	else
		vec arrives "1 AF_PACKET frame, container without policy (control)" ctl packet eth0 "$RX4" 9 TAG
	fi
	vec dropped "1 AF_XDP frame (copy mode)" c xdp eth0 "$RX4" 9 TAG
	vec arrives "1 AF_XDP frame, control container (see above)" ctl xdp eth0 "$RX4" 9 TAG
	fam=$("${DOCKER[@]}" exec "$PFX-c" attack family 2>&1)
	if [ "$LSM" = 1 ]; then
		assert_eq "1 no link-layer socket family can be created (BPF LSM)" "" \
			"$(echo "$fam" | grep ': created$')"
	else
		diag "without BPF LSM, socket() of link-layer families still works; their frames are dropped at the veth:" "$fam"
	fi
}

# 2. raw IP sockets
test_raw_ip_sockets() {
	vec blocked "2 IP_HDRINCL UDP, spoofed source, to a denied address" c rawudp "$RX4" 9 TAG 198.18.99.99
	assert_match "2 IP_HDRINCL to a denied address fails with EPERM" "Operation not permitted" "$LAST_VEC_OUT"
	vec arrives "2 IP_HDRINCL UDP, spoofed source, to an allowed address (control)" c rawudp "$OK4" 9 TAG 198.18.99.99
	vec blocked "2 IP_HDRINCL UDP to a denied port of a port-allowed address" c rawudp "$RX4" 9 TAG
	vec arrives "2 IP_HDRINCL UDP to an allowed port (control)" c rawudp "$RX4" 53 TAG
	# The header says 127.0.0.1; the kernel routes by the sendto() address.
	vec blocked "2 IP_HDRINCL header to 127.0.0.1, routed via a denied next hop" c rawudp 127.0.0.1 9 TAG 0.0.0.0 198.18.77.1
	vec blocked "2 IPV6_HDRINCL header to ::1, routed via a denied next hop" c rawudp6 "$C6" ::1 9 TAG 2001:db8:77::1
	vec blocked "2 IPV6_HDRINCL header to ::ffff:127.0.0.1, routed via a denied next hop" c rawudp6 "$C6" ::ffff:127.0.0.1 9 TAG 2001:db8:77::1
}

# 3. IPv6
test_ipv6() {
	vec blocked "3 UDP to a denied global IPv6 address" c udp6 "$RX6" 9 TAG
	vec arrives "3 UDP to an allowed IPv6 port (control)" c udp6 "$RX6" 53 TAG
	vec blocked "3 UDP to ::ffff:(denied IPv4), dual-stack socket" c udp6 "::ffff:$RX4" 9 TAG
	vec arrives "3 UDP to ::ffff:(allowed IPv4) (control)" c udp6 "::ffff:$OK4" 9 TAG
	vec blocked "3 UDP to ::c613:fa (IPv4-compatible)" c udp6 ::c613:fa 9 TAG
	vec blocked "3 UDP to 64:ff9b::c613:fa (NAT64)" c udp6 64:ff9b::c613:fa 9 TAG
	vec blocked "3 UDP to fe80::250 (link-local)" c udp6 "$LL%eth0" 9 TAG
	vec blocked "3 ICMPv6 echo to a denied address" c icmp "$RX6" TAG
	vec arrives "3 ICMPv6 echo to an allowed address (control)" c icmp "$OK6" TAG
}

# 4. fragments
test_fragments() {
	# $RX4 allows udp:53 and tcp:80 only: a fragment's ports are unknown, so no
	# port rule lets it through.
	vec blocked "4 tiny first fragment (RFC 1858), TCP to an allowed port" c frag "$RX4" 80 TAG tiny
	vec blocked "4 overlapping fragments (RFC 1858), TCP to an allowed port" c frag "$RX4" 80 TAG overlap
	vec blocked "4 non-first fragment alone" c frag "$RX4" 53 TAG nonfirst
	vec blocked "4 UDP datagram to an allowed port in two fragments" c frag "$RX4" 53 TAG split
	vec arrives "4 fragments to an address-only allow (control)" c frag "$OK4" 53 TAG split
	vec blocked "4 IPv6 first fragment, UDP to an allowed port" c frag6 "$C6" "$RX6" 53 TAG first
	vec blocked "4 IPv6 non-first fragment alone" c frag6 "$C6" "$RX6" 53 TAG nonfirst
	vec blocked "4 IPv6 fragmented UDP to an allowed port" c frag6 "$C6" "$RX6" 53 TAG split
	vec blocked "4 IPv6 9 extension headers (past the walk bound), allowed port" c frag6 "$C6" "$RX6" 53 TAG chain9
	vec arrives "4 IPv6 3 extension headers, allowed port (control)" c frag6 "$C6" "$RX6" 53 TAG chain3
	vec arrives "4 IPv6 9 extension headers to an address-only allow (control)" c frag6 "$C6" "$OK6" 53 TAG chain9
}

# 6. other protocols
test_other_protocols() {
	vec blocked "6 ICMP echo with data (raw socket)" c icmp "$RX4" TAG
	vec blocked "6 ICMP echo on a ping socket" c pingsock "$RX4" TAG
	vec arrives "6 ICMP echo to an allowed address (control)" c icmp "$OK4" TAG
	vec blocked "6 SCTP (protocol 132) on a raw socket" c proto "$RX4" 132 TAG
	vec arrives "6 SCTP to an allowed address (control)" c proto "$OK4" 132 TAG
	vec blocked "6 GRE (47) on a raw socket" c proto "$RX4" 47 TAG
	vec arrives "6 GRE to an allowed address (control)" c proto "$OK4" 47 TAG
	vec blocked "6 IPIP (4) on a raw socket" c proto "$RX4" 4 TAG
	vec arrives "6 IPIP to an allowed address (control)" c proto "$OK4" 4 TAG
}

# 3b. an IPv4-only policy leaves no IPv6 open
test_ipv4_only_policy() {
	printf 'default: deny\nrules:\n  - allow: %s\n' "$OK4" >"$T/policy-b.yaml"
	assert_rc "apply policy B (IPv4 only)" 0 "$EGR" apply "$PFX-c" -f "$T/policy-b.yaml"
	vec blocked "3b IPv4-only policy: UDP to an IPv6 address" c udp6 "$OK6" 9 TAG
	assert_match "3b IPv4-only policy: the IPv6 send fails with EPERM" "Operation not permitted" "$LAST_VEC_OUT"
	vec arrives "3b IPv4-only policy: ::ffff:(allowed IPv4) (control)" c udp6 "::ffff:$OK4" 9 TAG
	vec blocked "3b IPv4-only policy: NAT64 form of the allowed IPv4" c udp6 64:ff9b::c613:fb 9 TAG
	assert_match "3b IPv4-only policy: the NAT64 send fails with EPERM" "Operation not permitted" "$LAST_VEC_OUT"
	vec blocked "3b IPv4-only policy: IPv4-compatible form of the allowed IPv4" c udp6 ::c613:fb 9 TAG
	vec blocked "3b IPv4-only policy: link-local" c udp6 "$LL%eth0" 9 TAG
	vec blocked "3b IPv4-only policy: IPv6 fragment" c frag6 "$C6" "$OK6" 53 TAG split
}

# 3c. default allow with IPv4 deny rules: documented limits
test_default_allow_limits() {
	printf 'default: allow\nrules:\n  - deny: %s\n' "$RX4" >"$T/policy-c.yaml"
	assert_rc "apply policy C (default allow, deny one IPv4)" 0 "$EGR" apply "$PFX-c" -f "$T/policy-c.yaml"
	vec blocked "3c deny IPv4: its ::ffff: form is denied too" c udp6 "::ffff:$RX4" 9 TAG
	vec arrives "3c deny IPv4 does not cover its NAT64 form (documented)" c udp6 64:ff9b::c613:fa 9 TAG
	vec arrives "3c deny IPv4 does not cover its IPv4-compatible form (documented)" c udp6 ::c613:fa 9 TAG
	vec arrives "3c link-local under default allow (control)" c udp6 "$LL%eth0" 9 TAG
	vec blocked "3c default allow: fragments to the denied address" c frag "$RX4" 53 TAG split
}

# 5. sockets from before the attach
test_sockets_before_attach() {
	local v pre_out tcp_got out_cg
	peer_bg "$RX" "$T/tcp80" tcp-recv 80 120 -p "$T/tcp80.p" || fail "5 receiver on $RX4:80"
	"${DOCKER[@]}" run -d --name "$PFX-pre" -v "$T/pre:/pre" "$EGR_DOCKER_IMAGE" \
		attack prehold eth0 "$RX4" 9 80 4000 /pre >/dev/null || bail "docker run $PFX-pre"
	v=$(host_veth "$PFX-pre")
	[ -n "$v" ] && start_capture wire-pre - "$v" && echo wire-pre >>"$T/wires"
	wait_for 60 test -e "$T/pre/ready" || fail "5 pre-attach sockets opened"
	assert_rc "5 attach after the sockets were opened" 0 "$EGR" attach "$PFX-pre"
	touch "$T/pre/go"
	"${DOCKER[@]}" wait "$PFX-pre" >/dev/null 2>&1
	pre_out=$("${DOCKER[@]}" logs "$PFX-pre" 2>&1)
	diag "[4000] prehold: $(echo "$pre_out" | tr '\n' ' ')"
	echo "4000|dropped|5 UDP, TCP and packet sockets opened before the attach" >>"$T/vectors"
	assert_match "5 pre-attach UDP socket: send fails with EPERM" "udp send: Operation not permitted" "$pre_out"
	# the connection was made before the attach: wait until the receiver has
	# it, then stop it (the data, sent after the attach, must not come)
	wait_for 30 sh -c '[ "$(cut -d" " -f1 "$1" 2>/dev/null)" -ge 1 ]' sh "$T/tcp80.p"
	_kill_tree TERM "$(cat "$T/tcp80.pid")"
	tcp_got=$(wait_bg "$T/tcp80" 30)
	assert_eq "5 pre-attach TCP connection: no data reached the receiver" 0 "${tcp_got#* }"

	# A socket made outside the container, passed in over a unix socket.
	out_cg=$(cg_new fdpass)
	run_bg - "$T/fdsrv" cg_run "$out_cg" "$ATTACK" fdpass-server "$T/share/sock" "$RX4" 9
	wait_for 30 test -S "$T/share/sock" || fail "5 fd-passing server listening"
	vec blocked "5 socket created outside, passed in (SCM_RIGHTS)" c fdpass-client /shared/sock "$RX4" 9 TAG
	echo "$TAG" >"$T/fd_tag"
	wait_bg "$T/fdsrv" 30 >/dev/null
}

# 7. escape attempts
test_escape_attempts() {
	local esc esc_rc
	esc=$("${DOCKER[@]}" exec "$PFX-c" attack escape 2>&1)
	esc_rc=$?
	echo "$esc" | diag
	assert_eq "7 every escape attempt fails with Docker's defaults" 0 "$esc_rc"
	assert_eq "7 escape report has no SUCCEEDED line" "" "$(echo "$esc" | grep SUCCEEDED)"
	assert_match "7 bpf() is refused" "bpf\(BPF_PROG_LOAD\): blocked \(Operation not permitted\)" "$esc"
	assert_match "7 mounting cgroup2 is refused" "mount -t cgroup2: blocked" "$esc"
	vec blocked "7 policy still in force after the attempts" c rawudp "$RX4" 9 TAG
	assert_eq "7 the egress link is live after the attempts" true \
		"$("$EGR" status -j 2>/dev/null | jq --argjson id "$CGID" '.targets[] | select(.cgroup_id == $id) | .attached')"
}

# out of scope: --privileged and --network host (attach says so)
test_out_of_scope() {
	local perr priv
	if ! perr=$("${DOCKER[@]}" run -d --name "$PFX-priv" --privileged "$EGR_DOCKER_IMAGE" sleep 3600 2>&1); then
		# e.g. a host whose own capability bounding set is not full
		skip "--privileged: attach warns that root in it can detach the filter" \
			"cannot start a --privileged container here: $(echo "$perr" | grep -o 'unable to [^:]*: [^:]*' | head -1)"
	else
		assert_rc "--privileged: attach works" 0 "$EGR" attach "$PFX-priv"
		assert_match "--privileged: attach warns that root in it can detach the filter" \
			"privileged: root in it can detach the filter" "$LAST_ERR"
		priv=$("${DOCKER[@]}" exec "$PFX-priv" attack escape 2>&1)
		diag "--privileged escape attempts (out of scope, for the record):" "$(echo "$priv" | grep SUCCEEDED)"
		assert_match "--privileged: bpf() works in it (why it is out of scope)" \
			"bpf\(BPF_PROG_LOAD\): SUCCEEDED" "$priv"
		"$EGR" detach "$PFX-priv" >/dev/null 2>&1
	fi
	"${DOCKER[@]}" run -d --name "$PFX-host" --network host "$EGR_DOCKER_IMAGE" sleep 3600 >/dev/null
	assert_rc "--network host: attach works" 0 "$EGR" attach "$PFX-host"
	assert_match "--network host: attach warns about the shared network" "uses the host network" "$LAST_ERR"
	if [ "$LSM" != 1 ]; then
		assert_match "--network host: attach says packet sockets are NOT blocked (no veth)" \
			"packet sockets \(AF_PACKET\) are NOT blocked.*host's network namespace" "$LAST_ERR"
		assert_match "--network host: status lists the target as not covered" \
			"packet sockets NOT blocked for cgroup id" "$("$EGR" status 2>&1)"
	fi
	"$EGR" detach "$PFX-host" >/dev/null 2>&1
}

# judge NAME WANT GOT: like assert_eq, but a failed vector does not end the
# evaluation (every vector gets its line)
judge() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail_next "$1" "expected: '$2'" "actual:   '$3'"
	fi
}

# evaluation: every vector sent above, against the captures
test_evaluation() {
	local -A RXC=() WIREC=()
	local t n w rx wire exp name bad=0 fd_tag
	fd_tag=$(cat "$T/fd_tag" 2>/dev/null)
	touch "$T/stop"
	while read -r t n; do [ "$t" != total ] && RXC[$t]=$n; done < <(wait_bg "$T/cap-rx" 30)
	while read -r w; do
		while read -r t n; do
			[ "$t" != total ] && WIREC[$t]=$((${WIREC[$t]:-0} + n))
		done < <(wait_bg "$T/cap-$w" 30)
	done <"$T/wires"
	diag "vector | expected | rx | wire"
	# every vector is judged: one failed vector does not hide the next ones
	while IFS='|' read -r t exp name; do
		rx=${RXC[$t]:-0} wire=${WIREC[$t]:-0}
		diag "$name | $exp | $rx | $wire"
		if [ "$t" = "$fd_tag" ] && [ "$LSM" != 1 ]; then
			# Without the BPF LSM (file_receive) the passed socket keeps the
			# creator's cgroup: documented, outside the threat model.
			skip "$name: rx $rx wire $wire" "no BPF LSM: judged by its creator's cgroup (docs/security.md)"
		elif [ "$exp" = blocked ]; then
			judge "$name: nothing at the receiver or on the wire" "0 0" "$rx $wire"
		elif [ "$exp" = dropped ]; then
			judge "$name: nothing at the receiver" 0 "$rx"
		else
			judge "$name: seen" yes "$([ $((rx + wire)) -ge 1 ] && echo yes)"
		fi
	done <"$T/vectors"
}

# hardening
test_hardening() {
	local bad
	assert_eq "pin root is 0700 root" "700 0" "$(stat -c '%a %u' /sys/fs/bpf/egressctl)"
	bad=$(find /sys/fs/bpf/egressctl -mindepth 1 \( -type d ! -perm 0700 -o -type f ! -perm 0600 \) -printf '%m %p\n' 2>/dev/null)
	assert_eq "every pin 0600, every pin directory 0700" "" "$bad"
	if [ -d /var/lib/egressctl ]; then
		bad=$(find /var/lib/egressctl \( -type d ! -perm 0700 -o -type f ! -perm 0600 \) -printf '%m %p\n')
		assert_eq "state directory 0700, state files 0600" "" "$bad"
	fi
}

test_foreign_pins() {
	local fid meta FOREIGN_CG
	local -a val
	# Pins egressctl did not make: a cgroup whose egr_meta magic is not ours.
	FOREIGN_CG=$(cg_new foreign)
	echo "$FOREIGN_CG" >"$T/foreign_cg"
	"$EGR" attach "cgroup:$FOREIGN_CG" >/dev/null 2>&1
	fid=$(stat -c %i "$FOREIGN_CG")
	meta=/sys/fs/bpf/egressctl/$fid/egr_meta
	# bpftool -j: key bytes, then value bytes, as "0x.." strings
	mapfile -t val < <(bpftool -j map lookup pinned "$meta" key hex 00 00 00 00 2>/dev/null |
		grep -o '0x[0-9a-f][0-9a-f]' | tail -n +5)
	if [ "${#val[@]}" -gt 4 ]; then
		bpftool map update pinned "$meta" key hex 00 00 00 00 value 0xde 0xad 0xbe 0xef "${val[@]:4}"
		assert_rc "foreign pins: list fails" 1 "$EGR" list "cgroup:$FOREIGN_CG"
		assert_match "foreign pins: list says they are not egressctl's" "not made by this egressctl" "$LAST_ERR"
		assert_rc "foreign pins: allow fails" 1 "$EGR" allow "cgroup:$FOREIGN_CG" "$OK4"
		assert_match "foreign pins: status says so" "pins not made by egressctl" "$("$EGR" status 2>&1)"
		"$EGR" attach "cgroup:$FOREIGN_CG" >"$T/fattach" 2>&1
		diag "foreign pins: attach (idempotent path) says: $(cat "$T/fattach")"
		"$EGR" detach "cgroup:$FOREIGN_CG" >"$T/fdetach" 2>&1
		frc=$?
		diag "foreign pins: detach exit $frc: $(cat "$T/fdetach")"
		assert_eq "foreign pins: detach refuses and leaves them" "1 yes" \
			"$frc $([ -e "$meta" ] && echo yes || echo no)"
		[ -e "$meta" ] && bpftool map update pinned "$meta" key hex 00 00 00 00 value "${val[@]}"
	else
		fail "foreign pins: could not read $meta"
	fi
	"$EGR" detach "cgroup:$FOREIGN_CG" >/dev/null 2>&1
}

test_serve_read_only() {
	local port post del SERVE_PID
	# serve: read-only, loopback by default.
	port=$((20000 + RANDOM % 20000))
	run_bg - "$T/serve" "$EGR" serve --listen "127.0.0.1:$port"
	SERVE_PID=$BG_PID
	if wait_for 30 sh -c "ss -ltn | grep -q '127.0.0.1:$port '"; then
		post=$(exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'POST /metrics HTTP/1.0\r\n\r\n' >&3 && timeout 3 head -1 <&3)
		assert_match "serve refuses POST" "405" "$post"
		del=$(exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'DELETE / HTTP/1.0\r\n\r\n' >&3 && timeout 3 head -1 <&3)
		assert_match "serve refuses DELETE" "405" "$del"
	else
		fail "serve listening on 127.0.0.1:$port"
	fi
	kill "$SERVE_PID" 2>/dev/null
	wait_bg "$T/serve" 30 >/dev/null
	assert_match "serve listens on loopback by default" "127.0.0.1:9469" "$("$EGR" serve --help 2>&1)"
}

run_tests
