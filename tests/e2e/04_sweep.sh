#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# tests/e2e/sweep.sh removes what a run killed without its exit trap left on
# the host (a guard, a container, namespaces, cgroups and their filters,
# processes, files), and nothing of a run that is still alive. Two runs of a
# small fixture script (lib.sh, like every e2e script) set things up; one is
# killed with SIGKILL, the other keeps running; then the sweep runs.
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr docker jq

ALL_TESTS="test_dead_and_alive test_guard_not_mine test_owner"

if "$EGR" watch --guard-status 2>/dev/null | grep -q '^guard on'; then
	bail "a guard is already installed on this host (egressctl watch --guard-status); not touching it"
fi

# When a case ends: a guard of this script's, or of a fixture's, is removed.
_guard_off() {
	[ "$1" = end ] || return 0
	case $("$EGR" watch --guard-status 2>/dev/null | head -1) in
	"guard on cgroup /egr-sweep-"* | "guard on cgroup /egr-e2e-$E2E_ID-"*)
		"$EGR" watch --remove-guard >/dev/null 2>&1
		;;
	esac
	return 0
}
e2e_on_case _guard_off

# The fixture: NET is its namespace's /24; with GUARD=1 it also puts a guard
# on a cgroup of its own, whose name does not hold its id (as /docker does
# not: e2e_guard_mine records it), and starts a container; with GUARD=2, a
# guard on the cgroup GCG (not its own: not removed with it), nothing else.
# It writes "ID TMP GUARD" to READY and waits.
cat >"$E2E_TMP/fixture.sh" <<'EOF'
. "$E2E_LIB_DIR_FIX/lib.sh"
E2E_NAME=sweep-fixture
e2e_start egr docker
netns_up "sw$E2E_ID" "$NET.2/24" -
cg=$(cg_new held)
run_bg - "$E2E_TMP/held" cg_run "$cg" sleep 900
"$EGR" attach "cgroup:$cg" >/dev/null || bail "attach"
g=-
if [ "$GUARD" = 1 ]; then
	g=/egr-sweep-$$
	echo "$CGROOT$g" >>"$E2E_TMP/.cgroups"
	"$EGR" watch --guard-only --guard-cgroup "$g" >/dev/null || bail "guard"
	e2e_guard_mine
	dk_run box "$EGR_DOCKER_IMAGE" sleep 900 >/dev/null || bail "docker run"
elif [ "$GUARD" = 2 ]; then
	g=$GCG
	"$EGR" watch --guard-only --guard-cgroup "$g" >/dev/null || bail "guard"
	e2e_guard_mine
fi
echo "$E2E_ID $E2E_TMP $g" >"$READY"
sleep 900 &
wait $!
EOF

# fixture NAME NET GUARD [GCG]: starts it in the background (a job of the case:
# stopped when the case ends, whatever happened); sets FID, FTMP, FGUARD
# and FPID
_ready_or_gone() { [ -s "$1" ] || ! kill -0 "$2" 2>/dev/null; }
fixture() {
	local ready=$E2E_TMP/$1.ready
	run_bg - "$E2E_TMP/$1.log" env E2E_LIB_DIR_FIX="$E2E_LIB_DIR" NET="$2" GUARD="$3" \
		GCG="${4:-}" READY="$ready" bash "$E2E_TMP/fixture.sh"
	FPID=$BG_PID
	wait_for 120 _ready_or_gone "$ready" "$FPID"
	if ! [ -s "$ready" ]; then
		fail "fixture $1 ready" "$(tail -5 "$E2E_TMP/$1.log" "$E2E_TMP/$1.log.err")"
		return 1
	fi
	read -r FID FTMP FGUARD <"$ready"
}

# _run_procs DIR: how many processes have E2E_TMP=DIR in their environment
_run_procs() { _env_pids "$1" | wc -l; }

cgid_of() { stat -c %i "$1" 2>/dev/null; }

test_dead_and_alive() {
	local dead dtmp dpid dcg dgid dguard alive atmp apid acg out
	fixture dead 198.18.44 1 || return
	dead=$FID dtmp=$FTMP dpid=$FPID dguard=$FGUARD
	fixture alive 198.18.45 0 || return
	alive=$FID atmp=$FTMP apid=$FPID
	dcg=$CGROOT/egr-e2e-$dead-held
	acg=$CGROOT/egr-e2e-$alive-held
	dgid=$(cgid_of "$dcg")
	assert_match "the dead run's guard is installed" "guard on cgroup $dguard " \
		"$("$EGR" watch --guard-status)"
	assert_eq "the dead run's container runs" true \
		"$(_egr_docker inspect -f '{{.State.Running}}' "egr-$dead-box" 2>/dev/null)"

	kill -KILL "$dpid"
	wait_for 10 test -e "$E2E_TMP/dead.log.rc"
	assert_true "killed: its directory is still there" test -d "$dtmp"
	assert_true "killed: its held process still runs" test "$(_run_procs "$dtmp")" -gt 0

	out=$(bash "$E2E_LIB_DIR/sweep.sh" 2>&1)
	diag "$out"
	assert_match "sweep names the dead run" "# sweep: run $dead died without cleaning up; removed: " "$out"
	assert_match "sweep names the guard" "guard on $dguard," "$out"
	assert_eq "sweep: no other output" "" "$(grep -v "^# sweep: run " <<<"$out")"
	assert_eq "sweep: not a word of the live run" "" "$(grep -F "$alive" <<<"$out")"
	assert_eq "dead: no guard installed" "no guard installed" \
		"$("$EGR" status | grep -x 'no guard installed')"
	assert_eq "dead: its container is gone" "" \
		"$(_egr_docker ps -aq --filter "name=^egr-$dead-" 2>/dev/null)"
	assert_eq "dead: its namespace is gone" "" \
		"$(ip netns list | awk '{print $1}' | grep -x "sw$dead")"
	assert_true "dead: its cgroup is gone" test ! -d "$dcg"
	assert_true "dead: its guard cgroup is gone" test ! -d "$CGROOT$dguard"
	assert_true "dead: its filter's pins are gone" test ! -e "/sys/fs/bpf/egressctl/$dgid"
	assert_eq "dead: none of its processes is left" 0 "$(_run_procs "$dtmp")"
	assert_true "dead: its directory is gone" test ! -d "$dtmp"
	assert_eq "dead: its copy of egressctl is gone" "" "$(ls -d /tmp/egr-bin-"$dead".* 2>/dev/null)"

	assert_true "alive: its directory is there" test -d "$atmp"
	assert_eq "alive: its namespace is there" "sw$alive" \
		"$(ip netns list | awk '{print $1}' | grep -x "sw$alive")"
	assert_true "alive: its filter is still attached" test -d "/sys/fs/bpf/egressctl/$(cgid_of "$acg")"
	assert_true "alive: its held process runs" test "$(_run_procs "$atmp")" -gt 0

	kill -TERM "$apid"
	wait_for 60 test -e "$E2E_TMP/alive.log.rc"
	assert_true "alive, ended: it cleaned up itself" test ! -d "$atmp"
	assert_eq "a second sweep finds nothing" "" "$(bash "$E2E_LIB_DIR/sweep.sh" 2>&1)"
}

# The guard a dead run installed goes; one installed since on the same
# cgroup (an operator's) stays: the sweep knows the run's guard by its
# bpffs inode, not by where it is.
test_guard_not_mine() {
	local gcg=/egr-e2e-$E2E_ID-opguard dead out
	mkdir "$CGROOT$gcg" && echo "$CGROOT$gcg" >>"$E2E_TMP/.cgroups"
	fixture other 198.18.46 2 "$gcg" || return
	dead=$FID
	assert_match "the dead run's guard is on $gcg" "^guard on cgroup $gcg " "$("$EGR" watch --guard-status)"
	kill -KILL "$FPID"
	wait_for 10 test -e "$E2E_TMP/other.log.rc"
	assert_rc "the run's guard removed" 0 "$EGR" watch --remove-guard
	assert_rc "another guard installed on $gcg" 0 "$EGR" watch --guard-only --guard-cgroup "$gcg"
	out=$(bash "$E2E_LIB_DIR/sweep.sh" 2>&1)
	diag "$out"
	assert_match "sweep: the dead run swept" "# sweep: run $dead died without cleaning up; removed: " "$out"
	assert_eq "sweep: no guard removed" "" "$(grep -o 'guard on [^,]*' <<<"$out")"
	assert_match "the other guard is still there" "^guard on cgroup $gcg " "$("$EGR" watch --guard-status)"
}

# .owner: a pid that runs now but started at another time (reused) is a dead
# run; a directory without .owner is one too; this run's own is alive.
test_owner() {
	local reused legacy out
	reused=$(mktemp -d /tmp/egr-e2e-0000beef.XXXXXX)
	echo "$$ 1" >"$reused/.owner"
	legacy=$(mktemp -d /tmp/egr-e2e-0000cafe.XXXXXX)
	out=$(bash "$E2E_LIB_DIR/sweep.sh" 2>&1)
	diag "$out"
	assert_true "a reused pid: swept" test ! -d "$reused"
	assert_true "no .owner: swept" test ! -d "$legacy"
	assert_match "and said so" "# sweep: run 0000beef died without cleaning up; removed: its directory" "$out"
	assert_true "this run's directory is kept" test -d "$E2E_TMP"
}

run_tests
