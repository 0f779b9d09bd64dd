#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Podman, tested like Docker, through Podman's own API service (`podman
# system service`, podman_lib.sh: a private configuration, socket, storage
# and bridge network on 198.18.96.0/25): containers by name (--docker-host
# and $DOCKER_HOST), id, id prefix and podman:<name> ($CONTAINER_HOST), and
# Podman's socket found by itself when it is the only engine (Docker's
# socket taken away with EGRESSCTL_TEST_NO_DOCKER_SOCK=1); live edits;
# watch on Podman's event stream (its names: remove, not destroy): a saved
# policy follows `podman restart` (watch running, and watch down then
# --once), label policies at `podman run`, a bad label failing closed,
# rename, rm; --strict: the guard on Podman's parent cgroup /libpod_parent
# (the default for a Podman socket) holds a container that sends from its
# first instant until its policy is in force; a container under another
# parent is not held, and watch warns. Every verdict is counted at a
# receiver (a netns on 198.18.97.x/198.18.98.7); every wait is for a line of
# watch's log or a state, bounded.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr python3 curl
# shellcheck source=tests/e2e/podman_lib.sh
. "$E2E_LIB_DIR/podman_lib.sh"
pm_setup

ALL_TESTS="test_service test_targets test_engine_found test_live_edits test_restart_watch_running
	test_restart_watch_down test_labels test_rename_rm test_strict test_cgroup_first"

netns_up p54rx 198.18.97.2/24 -
netns_addr p54rx 198.18.98.7/32
RX=198.18.97.2 OTHER=198.18.98.7 RX_NS=p54rx
_sysctl - net.ipv4.ip_forward 1
LOG=$E2E_TMP/watch.log
T=$E2E_TMP

udp_from() {
	local c=$1
	shift
	expect_udp "$@" -n 5 -i 500 --from "podman:$c"
}
exists() { [ -e "$1" ] && echo 1 || echo 0; }

P1=$(pm_run p1 "$PM_IMAGE" sleep 3600) || bail "podman run failed"
N1=$(pm_name p1)

# the service is Podman's, and its containers live in /libpod_parent
test_service() {
	assert_match "the API service is Podman" '"Name":"Podman Engine"' \
		"$(curl -s -m 10 --unix-socket "$PM_SOCK" http://d/version)"
	assert_eq "the container's cgroup v2" "/libpod_parent/libpod-$P1" "$(pm_cgpath "$N1")"
	udp_from "$N1" pass "$OTHER" 5401 -m "no filter: the container reaches the receiver"
}

# name (--docker-host, $DOCKER_HOST), full id, prefix, podman:<name>
test_targets() {
	assert_rc "attach by name (--docker-host)" 0 env -u DOCKER_HOST "$EGR" --docker-host "unix://$PM_SOCK" attach "$N1"
	assert_match "attach by name: output" "^attached to $N1 \(cgroup /libpod_parent/libpod-$P1, id [0-9]+\)$" "$LAST_OUT"
	assert_rc "attach by full id (\$DOCKER_HOST): already" 0 "$EGR" attach "$P1"
	assert_match "attach by full id: output" "^already attached to $N1 " "$LAST_OUT"
	assert_rc "allow by id prefix" 0 "$EGR" allow "${P1:0:12}" "$RX" udp:5402
	assert_rc "list podman:<name> (\$CONTAINER_HOST)" 0 env -u DOCKER_HOST CONTAINER_HOST="unix://$PM_SOCK" "$EGR" list "podman:$N1"
	assert_match "list: the rule, under the container's name" "^$N1 \(id [0-9]+\): default deny, audit off, 1 rule" "$LAST_OUT"
	udp_from "$N1" pass "$RX" 5402 -m "allowed destination"
	udp_from "$N1" drop "$RX" 5403 -m "allowed address, other port"
	udp_from "$N1" drop "$OTHER" 5402 -m "other destination"
	assert_eq "state: name, source" "$N1 cli" \
		"$(saved_of "$P1")"
	assert_rc "no such container" 1 "$EGR" attach "egr-$E2E_ID-nope"
	assert_eq "no such container: message" "egressctl: no such container 'egr-$E2E_ID-nope'" "$LAST_ERR"
	assert_rc "no Podman service: exit 1" 1 env -u DOCKER_HOST CONTAINER_HOST="unix://$T/none/podman.sock" "$EGR" attach "podman:$N1"
	assert_match "no Podman service: message" "^egressctl: cannot reach the Podman API service at $T/none/podman.sock: no such socket \(is podman.socket or \`podman system service\` running\?\)$" "$LAST_ERR"
}

# Podman alone: its default socket (/run/podman/podman.sock) is found with no
# --docker-host and no $DOCKER_HOST; Docker's taken away by the test hook
test_engine_found() {
	local s=/run/podman/podman.sock
	if [ -e "$s" ]; then
		skip "Podman found by itself" "$s exists (this host's Podman service): not touching it"
		return 0
	fi
	mkdir -p /run/podman
	pm_service "$s" "$PM_RUN/service-default.pid" || fail "podman system service on $s"
	assert_rc "no --docker-host, no \$DOCKER_HOST: attach by name" 0 \
		env -u DOCKER_HOST EGRESSCTL_TEST_NO_DOCKER_SOCK=1 "$EGR" attach "$N1"
	assert_match "found through Podman's socket" "^attached to $N1 \(cgroup /libpod_parent/libpod-$P1," "$LAST_OUT"
	assert_rc "podman:<name> with no \$CONTAINER_HOST" 0 env -u DOCKER_HOST "$EGR" allow "podman:$N1" "$RX" udp:5404
	udp_from "$N1" pass "$RX" 5404 -m "podman:<name>: allowed"
	assert_rc "watch --once, no --docker-host" 0 env -u DOCKER_HOST EGRESSCTL_TEST_NO_DOCKER_SOCK=1 "$EGR" watch --once
	assert_match "watch --once: follows Podman's socket" "startup $N1 \(${P1:0:12}\): already in force: saved policy \(1 rule" "$LAST_OUT"
}
# the service on Podman's default socket goes when the case ends
_default_sock_hook() {
	[ "$1" = end ] && [ -e "$PM_RUN/service-default.pid" ] || return 0
	pm_service_stop "$PM_RUN/service-default.pid"
	rm -f /run/podman/podman.sock
	rmdir /run/podman 2>/dev/null
	return 0
}
e2e_on_case _default_sock_hook

test_live_edits() {
	assert_rc "attach, allow $RX udp:5405" 0 sh -c '"$1" attach "$2" && "$1" allow "$2" "$3" udp:5405' \
		sh "$EGR" "$N1" "$RX"
	udp_from "$N1" pass "$RX" 5405 -m "before the edits: allowed"
	assert_rc "deny $RX udp:5405 (live)" 0 "$EGR" deny "$N1" "$RX" udp:5405
	udp_from "$N1" drop "$RX" 5405 -m "after deny"
	# remove takes out both rules of that destination and port (allow and deny)
	assert_rc "remove $RX udp:5405 (live)" 0 "$EGR" remove "$N1" "$RX" udp:5405
	udp_from "$N1" drop "$RX" 5405 -m "after remove: default deny"
	assert_rc "allow $OTHER (live, podman:)" 0 env CONTAINER_HOST="unix://$PM_SOCK" "$EGR" allow "podman:$N1" "$OTHER"
	udp_from "$N1" pass "$OTHER" 5406 -m "other destination now allowed"
	udp_from "$N1" drop "$RX" 5405 -m "the first destination still denied"
}

# a saved policy, then podman restart with watch running
test_restart_watch_running() {
	local cg0 cg1 ms i
	assert_rc "attach, allow -> $RX udp:5407" 0 sh -c '"$1" attach "$2" >/dev/null && "$1" allow "$2" "$3" udp:5407' \
		sh "$EGR" "$N1" "$RX"
	pm_watch_bg "$LOG" || fail "watch does not start"
	assert_match "watch: follows Podman" "^watch: following $PM_SOCK \(Podman\)" "$(cat "$LOG")"
	assert_match "watch startup: already in force" \
		"startup $N1 \(${P1:0:12}\): already in force: saved policy \(1 rule, default deny\)" "$(cat "$LOG")"
	cg0=$(pm_cgid "$N1")
	podman restart -t 1 "$N1" >/dev/null
	wait_line "$LOG" "^start $N1 .*enforced"
	cg1=$(pm_cgid "$N1")
	assert_eq "restart: new cgroup id" 1 "$([ -n "$cg1" ] && [ "$cg1" != "$cg0" ] && echo 1 || echo 0)"
	assert_eq "restart: new cgroup attached" 1 "$(pm_attached "$N1" && echo 1 || echo 0)"
	ms=$(enforced_ms "$LOG" "$N1")
	assert_match "restart: start->enforced time logged" '^[0-9]+\.[0-9]$' "$ms"
	diag "podman restart, watch running: start event -> enforced in $ms ms"
	udp_from "$N1" pass "$RX" 5407 -m "restart: allowed"
	udp_from "$N1" drop "$OTHER" 5408 -m "restart: denied"
	wait_for 30 test ! -d "/sys/fs/bpf/egressctl/$cg0"
	assert_eq "restart: old cgroup's pins removed" 0 "$(exists "/sys/fs/bpf/egressctl/$cg0")"
	# stop + start: the same
	podman stop -t 1 "$N1" >/dev/null
	podman start "$N1" >/dev/null
	wait_for 60 lines_ge "$LOG" "^start $N1 .*enforced" 2
	assert_eq "stop, start: 2 enforcement lines" 2 "$(grep -c "^start $N1 .*enforced" "$LOG")"
	wait_for 30 pm_attached "$N1"
	udp_from "$N1" drop "$OTHER" 5408 -m "stop, start: still enforced"
	udp_from "$N1" pass "$RX" 5407 -m "stop, start: allowed"
}

# restart while watch is down, then watch --once
test_restart_watch_down() {
	local cg1
	assert_rc "attach, allow -> $RX udp:5407" 0 sh -c '"$1" attach "$2" >/dev/null && "$1" allow "$2" "$3" udp:5407' \
		sh "$EGR" "$N1" "$RX"
	cg1=$(pm_cgid "$N1")
	podman restart -t 1 "$N1" >/dev/null
	assert_eq "watch down: new cgroup not attached" 0 "$(pm_attached "$N1" && echo 1 || echo 0)"
	udp_from "$N1" pass "$OTHER" 5409 -m "watch down: the restarted container is unfiltered"
	assert_rc "watch --once" 0 "$EGR" watch --once
	assert_match "watch --once: re-applied at startup" \
		"startup $N1 \(${P1:0:12}\): enforced saved policy \(1 rule, default deny\) on cgroup /libpod_parent/libpod-$P1 \(attached\) in [0-9.]+ ms" "$LAST_OUT"
	assert_match "watch --once: old pins cleaned" "removed the pins of (its old )?cgroup /libpod_parent/libpod-$P1 \(id $cg1\)" "$LAST_OUT"
	udp_from "$N1" pass "$RX" 5407 -m "re-applied: allowed"
	udp_from "$N1" drop "$OTHER" 5409 -m "re-applied: denied"
}

# labels on podman run
test_labels() {
	local W2 N2 W3 N3 N4 N5 W6 N6 W7 N7 POLICY
	pm_watch_bg "$LOG.2" || fail "watch does not start"
	W2=$(pm_run l2 --label "egressctl.allow=$RX udp:5410, 198.18.97.99" "$PM_IMAGE" sleep 3600)
	N2=$(pm_name l2)
	POLICY=$(printf 'default: deny\nrules:\n  - allow: %s\n    ports: [udp:5411]\n' "$RX")
	W3=$(pm_run l3 --label "egressctl.policy=$POLICY" "$PM_IMAGE" sleep 3600)
	N3=$(pm_name l3)
	pm_run l4 --label "egressctl.allow=$RX udp:5410, 300.1.2.3" "$PM_IMAGE" sleep 3600 >/dev/null
	N4=$(pm_name l4)
	pm_run l5 "$PM_IMAGE" sleep 3600 >/dev/null
	N5=$(pm_name l5)
	# annotations, as the hook reads them: first (Podman's own API has them)
	W6=$(pm_run l6 --annotation "egressctl.allow=$RX udp:5412" "$PM_IMAGE" sleep 3600)
	N6=$(pm_name l6)
	W7=$(pm_run l7 --label "egressctl.allow=$RX udp:5413" --annotation "egressctl.allow=$RX udp:5414" \
		"$PM_IMAGE" sleep 3600)
	N7=$(pm_name l7)
	wait_line "$LOG.2" "^start $N2 .*enforced"
	wait_line "$LOG.2" "^start $N6 .*enforced"
	wait_line "$LOG.2" "^start $N7 .*enforced"
	wait_line "$LOG.2" "^start $N3 .*enforced"
	wait_line "$LOG.2" "^error $N4 "
	wait_line "$LOG.2" "^start $N5 "
	assert_match "label allow: applied at start" \
		"start $N2 \(${W2:0:12}\): enforced label policy \(2 rules, default deny\)" "$(cat "$LOG.2")"
	assert_match "label policy (YAML): applied at start" \
		"start $N3 \(${W3:0:12}\): enforced label policy \(1 rule, default deny\)" "$(cat "$LOG.2")"
	assert_match "bad label: error line" \
		"error $N4 \([0-9a-f]{12}\): label egressctl.allow: bad destination '300\.1\.2\.3'.*; egress stays denied" "$(cat "$LOG.2")"
	assert_match "no label: left alone" "start $N5 \([0-9a-f]{12}\): no policy: left alone" "$(cat "$LOG.2")"
	assert_match "annotation allow: applied at start" \
		"start $N6 \(${W6:0:12}\): enforced annotation policy \(1 rule, default deny\)" "$(cat "$LOG.2")"
	assert_match "annotation and label: the annotation's, as the hook's" \
		"start $N7 \(${W7:0:12}\): enforced annotation policy \(1 rule, default deny\)" "$(cat "$LOG.2")"
	diag "podman run --label: start event -> enforced in $(enforced_ms "$LOG.2" "$N2") ms"
	udp_from "$N2" pass "$RX" 5410 -m "label allow: allowed"
	udp_from "$N2" drop "$OTHER" 5410 -m "label allow: denied"
	udp_from "$N3" pass "$RX" 5411 -m "label policy: allowed"
	udp_from "$N3" drop "$RX" 5410 -m "label policy: other port"
	udp_from "$N4" drop "$RX" 5410 -m "bad label: fail closed"
	udp_from "$N5" pass "$OTHER" 5410 -m "no label: unfiltered"
	udp_from "$N6" pass "$RX" 5412 -m "annotation allow: allowed"
	udp_from "$N6" drop "$OTHER" 5412 -m "annotation allow: denied"
	udp_from "$N7" pass "$RX" 5414 -m "annotation and label: the annotation's port"
	udp_from "$N7" drop "$RX" 5413 -m "annotation and label: not the label's"
	assert_eq "annotation policy saved with source annotation" "$N6 annotation" \
		"$(saved_of "$W6")"
	assert_eq "label policy saved with source label" "$N2 label" \
		"$(saved_of "$W2")"
}

# Podman's event stream lags (its API service reads its events file):
# watch also follows the new cgroups under /libpod_parent (the default
# with Podman), and a container's policy is in force as soon as its cgroup
# exists; shown with a cgroup no start event ever follows
test_cgroup_first() {
	local id name
	pm_watch_bg "$LOG.c" || fail "watch does not start"
	name=$(pm_name cgf)
	echo "$name" >>"$E2E_TMP/.pm_containers"
	id=$(podman create --network "$PM_NET" --name "$name" --label "egressctl.allow=$RX udp:5430" \
		"$PM_IMAGE" sleep 3600) || fail "podman create"
	ctr_cgroup_first "$LOG.c" "/libpod_parent/libpod-$id" "$id" "$name" "$RX" 5430
}

# podman rename: the saved policy takes the new name; podman rm (Podman's
# "remove" event): state and pins gone
test_rename_rm() {
	local W6 N6 N6B cg6
	pm_watch_bg "$LOG.rm" || fail "watch does not start"
	W6=$(pm_run rm6 --label "egressctl.allow=$RX udp:5412" "$PM_IMAGE" sleep 3600)
	N6=$(pm_name rm6)
	N6B=$(pm_name rm6b)
	echo "$N6B" >>"$E2E_TMP/.pm_containers"
	wait_line "$LOG.rm" "^start $N6 .*enforced"
	assert_eq "label policy saved" 1 "$(exists "$EGRESSCTL_STATE_DIR/$W6.json")"
	podman rename "$N6" "$N6B"
	wait_line "$LOG.rm" "^rename $N6B "
	assert_rc "list by the new name" 0 "$EGR" list "$N6B"
	assert_match "list: the new name" "^$N6B \(id [0-9]+\): default deny, audit off, 1 rule" "$LAST_OUT"
	assert_eq "saved under the new name" "$N6B" \
		"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$EGRESSCTL_STATE_DIR/$W6.json")"
	cg6=$(pm_cgid "$N6B")
	podman rm -f -t 0 "$N6B" >/dev/null
	wait_line "$LOG.rm" "^destroy $N6B "
	assert_match "podman rm: seen as destroy" "destroy $N6B \(${W6:0:12}\): container removed: its saved policy is deleted" "$(cat "$LOG.rm")"
	assert_eq "rm: state file deleted" 0 "$(exists "$EGRESSCTL_STATE_DIR/$W6.json")"
	assert_eq "rm: pins deleted" 0 "$(exists "/sys/fs/bpf/egressctl/$cg6")"
}

# ---- --strict on /libpod_parent -------------------------------------------------
# live cgroups with a process under /libpod_parent that are not ours
foreign_libpod() {
	local d c ours
	ours=$(podman ps -q --no-trunc | sed 's/^/libpod-/')
	for d in "$CGROOT"/libpod_parent/*/; do
		[ -d "$d" ] || continue
		c=$(basename "$d")
		[ -s "$d/cgroup.procs" ] && ! grep -qx "$c" <<<"$ours" && echo "$c"
	done
}
guard_off() { "$EGR" watch --remove-guard >/dev/null 2>&1; return 0; }
# test_strict's other parent cgroup, removed (in every hierarchy) at exit,
# after the containers
OUTCG=/egr-p54out-$E2E_ID
outcg_clean() {
	local d
	for d in "$CGROOT$OUTCG" /sys/fs/cgroup/*"$OUTCG"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	return 0
}
PM_CLEANUP_HOOK=outcg_clean
# a guard a case installed goes when the case ends (also when it failed)
_guard_hook() {
	case $1 in
	begin) _G0=$(exists /sys/fs/bpf/egressctl/guard) ;;
	end) [ "$_G0" = 0 ] && guard_off ;;
	esac
	return 0
}
e2e_on_case _guard_hook

# The guard on Podman's parent cgroup, the default for a Podman socket: a
# container that sends from its first instant, while watch is stopped,
# gets nothing out; once watch has put its label policy in force the allowed
# destination receives exactly what got out, the denied one nothing.
test_strict() {
	local d0 TT NT a b s_b e_b NN NO
	if [ -d /sys/fs/bpf/egressctl/guard ]; then
		skip "strict" "a guard is already installed on this host (egressctl watch --guard-status); not touching it"
		return 0
	fi
	if [ -n "$(foreign_libpod)" ]; then
		skip "strict" "other Podman containers run under /libpod_parent: $(foreign_libpod | xargs)"
		return 0
	fi
	assert_rc "watch --guard-only: the engine's parent cgroup" 0 "$EGR" watch --guard-only
	e2e_guard_mine
	assert_match "guard-only: /libpod_parent for a Podman socket" "installed on cgroup /libpod_parent" "$LAST_OUT"
	guard_off
	pm_watch_bg "$LOG.s" --strict --unmanaged deny || fail "watch --strict does not start"
	assert_match "strict: guard installed on /libpod_parent" "guard: installed on cgroup /libpod_parent:" "$(cat "$LOG.s")"
	# the containers started before: the guard admits them (p1 has no policy
	# and --unmanaged deny: held)
	d0=$(guard_stat denied)
	rx_up 5413 || fail "receiver ready"
	rx_up 5414 || fail "receiver ready"
	kill -STOP "$PM_WATCH_PID"
	TT=$(pm_run tight --label "egressctl.allow=$RX udp:5414, $RX udp:5415" "$PM_IMAGE" \
		sh -c "peer udp-send $OTHER 5413 1000000 -i 2000 -t 600 -p /tmp/a &
			peer udp-send $RX 5414 1000000 -i 2000 -t 600 -p /tmp/b & sleep 3600")
	NT=$(pm_name tight)
	if ! wait_for 60 _guard_ge denied $((d0 + 10)) || ! wait_for 60 _errors_ge "$NT" /tmp/a 1 ||
		! wait_for 60 _errors_ge "$NT" /tmp/b 1; then
		kill -CONT "$PM_WATCH_PID"
		fail "strict, watch stopped: the guard drops the container's packets"
	fi
	pass "strict, watch stopped: the guard drops the container's packets"
	assert_eq "strict, its policy not in force yet: nothing arrives at either destination" "0 0" \
		"$(rx_count 5413) $(rx_count 5414)"
	kill -CONT "$PM_WATCH_PID"
	wait_line "$LOG.s" "^start $NT .*enforced"
	assert_match "strict: label policy enforced, time logged" \
		"start $NT \(${TT:0:12}\): enforced label policy \(2 rules, default deny\) on cgroup /libpod_parent/libpod-$TT \(attached[^)]*\) in [0-9.]+ ms" "$(cat "$LOG.s")"
	assert_true "strict: once enforced, the allowed destination receives" wait_for 60 _rx_ge 5414 1
	stop_senders "$NT"
	a=$(progress_of "$NT" /tmp/a) b=$(progress_of "$NT" /tmp/b)
	diag "tight's senders: denied destination '$a', allowed destination '$b'"
	assert_match "strict: to the denied destination every send was refused" '^sent 0 errors [1-9][0-9]*$' "$a"
	assert_eq "strict: start-up burst to a denied destination: 0 received (the fence alone)" "1 1" \
		"$(recv_done "$T/rx.5413" "$OTHER" 5413 0)"
	read -r _ s_b _ e_b <<<"$b"
	assert_match "sender saw the drops (send errors) before the policy was in force" '^[1-9]' "$e_b"
	assert_eq "strict: the allowed destination received exactly what got out (+ the fence)" \
		"$((s_b + 1))" "$(recv_done "$T/rx.5414" "$RX" 5414 "$s_b" | cut -d' ' -f1)"
	udp_from "$NT" pass "$RX" 5415 -m "strict: exactly its policy: allowed"
	udp_from "$NT" drop "$OTHER" 5415 -m "strict: exactly its policy: other destination"
	pm_run none "$PM_IMAGE" sleep 3600 >/dev/null
	NN=$(pm_name none)
	wait_line "$LOG.s" "^start $NN "
	assert_match "unmanaged deny: logged" "start $NN \([0-9a-f]{12}\): no policy: unmanaged, all egress denied by the guard" "$(cat "$LOG.s")"
	udp_from "$NN" drop "$RX" 5416 -m "unmanaged deny: nothing out"
	# a container under another parent (as with Podman's systemd manager,
	# machine.slice): not held by the guard, and watch says so
	pm_run out --cgroup-parent "$OUTCG" "$PM_IMAGE" sleep 3600 >/dev/null
	NO=$(pm_name out)
	wait_line "$LOG.s" "^start $NO "
	assert_match "outside the guarded cgroup: logged" "start $NO \([0-9a-f]{12}\): no policy: outside the guarded cgroup /libpod_parent, left alone" "$(cat "$LOG.s")"
	assert_match "outside the guarded cgroup: warning" "container $NO: its cgroup $OUTCG/libpod-[0-9a-f]{64} is not under the guarded cgroup /libpod_parent: --strict does not hold it back" "$(cat "$LOG.s")"
	udp_from "$NO" pass "$RX" 5417 -m "outside the guarded cgroup: not held"
	kill -TERM "$PM_WATCH_PID"
	wait "$PM_WATCH_PID"
	assert_eq "watch --strict stopped: guard still pinned" 1 "$(exists /sys/fs/bpf/egressctl/guard/link)"
	assert_rc "watch --remove-guard" 0 "$EGR" watch --remove-guard
	udp_from "$NN" pass "$RX" 5416 -m "guard removed: unmanaged container free again"
}

run_tests
