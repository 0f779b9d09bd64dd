#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The soak test (issue 17): containers started, restarted and removed in
# batches for SECONDS while `egressctl watch --strict -j` is killed with
# SIGKILL and restarted at random times; every container connects to a
# denied and an allowed port of a receiver (198.18.92.2, a netns of its own)
# the instant it starts. soak.py does the churn and judges the traffic, -j
# and watch's growth; this script sets up the engine (Docker: docker_lib.sh,
# Podman: podman_lib.sh), the receiver and a parent cgroup of the test's own
# (the guard goes there, so nothing else on the host is held), and judges
# what is left once every container is gone: pins, preloaded instances,
# state files, defunct targets.
#
# usage: soak.sh ENGINE MODE SECONDS OUT_JSON [soak.py options...]
#   ENGINE docker|podman
#   MODE   watch: watch --strict alone.
#          hook:  the start-up hook as well (tests/e2e/hook_lib.sh: Podman's
#                 OCI hook in its hooks dir, the containers' policy also as
#                 annotations; Docker's runtime wrapper, the test dockerd
#                 restarted with it if it runs without, --runtime
#                 egressctl); soak.py then judges the first SYN of every
#                 allowed connection.
# Prints "ok - ..." / "not ok - ..." lines (tests/run.sh counts them).
# shellcheck disable=SC2317 # functions called from exit hooks
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ENGINE=${1:?usage: soak.sh ENGINE MODE SECONDS OUT_JSON [soak.py options]}
MODE=${2:?}
SECS=${3:?}
OUTJ=${4:?}
shift 4
# shellcheck source=tests/e2e/lib.sh
. "$HERE/../e2e/lib.sh"
E2E_NAME=soak-$ENGINE-$MODE
e2e_start egr python3 jq
case $MODE in
watch) ;;
hook)
	# shellcheck source=tests/e2e/hook_lib.sh
	. "$E2E_LIB_DIR/hook_lib.sh"
	# before the engine: its cleanup at exit still needs the hook
	if [ "$ENGINE" = docker ]; then
		hook_wrapper
		hook_dockerd
	else
		e2e_on_exit hooks_off
	fi
	;;
*) bail "MODE: watch or hook" ;;
esac
case $ENGINE in
docker)
	# shellcheck source=tests/e2e/docker_lib.sh
	. "$E2E_LIB_DIR/docker_lib.sh"
	dk_setup
	CLI=docker IMAGE=$EGR_DOCKER_IMAGE HOST= NETARGS=()
	;;
podman)
	# shellcheck source=tests/e2e/podman_lib.sh
	. "$E2E_LIB_DIR/podman_lib.sh"
	pm_setup
	CLI=podman IMAGE=$PM_IMAGE HOST=unix://$PM_SOCK NETARGS=(--network "$PM_NET")
	;;
*) bail "ENGINE: docker or podman" ;;
esac
# shellcheck disable=SC2119 # the plain hook: no test variables
[ "$MODE" = hook ] && hooks_set

if [ -d /sys/fs/bpf/egressctl/guard ]; then
	bail "a guard is already installed on this host (egressctl watch --guard-status); not touching it"
fi
GCG=/egr-soak-$E2E_ID
PREFIX=egr-$E2E_ID-soak
pins() { ls /sys/fs/bpf/egressctl 2>/dev/null | grep -vE '^(egr_managed|pktguard)$' | sort | tr '\n' ' '; }
pins_before=$(pins)

_ctrs() { "$CLI" ps -aq --filter "name=$PREFIX-" 2>/dev/null; }
rm_all() {
	local ids
	ids=$(_ctrs)
	# shellcheck disable=SC2086
	[ -n "$ids" ] && timeout 300 "$CLI" rm -f $ids >/dev/null 2>&1
	return 0
}
soak_cleanup() {
	local d
	rm_all
	"$EGR" watch --remove-guard >/dev/null 2>&1
	for d in "$CGROOT$GCG" /sys/fs/cgroup/*"$GCG"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	"$EGR" detach --gone >/dev/null 2>&1
}
e2e_on_exit soak_cleanup

netns_up soakrx 198.18.92.2/24 -
_sysctl - net.ipv4.ip_forward 1
RECV=$E2E_TMP/recv.log
run_bg soakrx "$E2E_TMP/recv.out" python3 "$HERE/recv.py" "$RECV" $((SECS + 600)) 7000 7001
wait_for 10 test -e "$RECV.ready" || bail "the receiver does not start"

diag "$(date -u +%T) soak $ENGINE/$MODE: $SECS s, load average $(cut -d' ' -f1-3 /proc/loadavg)"
tap_run soak.py python3 "$HERE/soak.py" --engine "$ENGINE" --mode "$MODE" --cli "$CLI" --host "$HOST" \
	--run-args "${NETARGS[*]} --stop-timeout 1 --cgroup-parent $GCG" --image "$IMAGE" \
	--egr "$EGR" --parent "$GCG" --rx 198.18.92.2 --recv-log "$RECV" --dir "$E2E_TMP" \
	--out "$OUTJ" --prefix "$PREFIX" --duration "$SECS" "$@"

# ---- nothing left behind ---------------------------------------------------
diag "$(date -u +%T) removing the containers"
rm_all
assert_eq "every container removed" "" "$(_ctrs | tr '\n' ' ')"
assert_rc "after the last container: watch --once --strict (cleans up, then exits)" 0 \
	"$EGR" watch --once --strict --unmanaged deny --guard-cgroup "$GCG"
assert_rc "watch --remove-guard" 0 "$EGR" watch --remove-guard
assert_eq "no leaked pins (preloaded instances included)" "$pins_before" "$(pins)"
assert_eq "no state files left" "" "$(ls "$EGRESSCTL_STATE_DIR" 2>/dev/null | tr '\n' ' ')"
assert_eq "no defunct targets" 0 \
	"$("$EGR" status -j | python3 -c 'import json,sys; print(sum(1 for t in json.load(sys.stdin).get("targets", []) if not t.get("attached", True)))')"
e2e_done
