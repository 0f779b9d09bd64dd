#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Attach churn (issue 17 §5: watch flat "over thousands of attaches"): one
# `egressctl watch` puts a container's label policy on a new cgroup N times.
# The container is created and never started; churn.py makes its cgroup
# under the parent watch follows (as runc does), waits for the filter,
# removes the cgroup, N times, and judges watch's and the system's growth.
# Pins of the removed cgroups go with watch's periodic cleanup (--resync).
# The engine is only asked (inspect); no container runs, no traffic.
#
# usage: churn.sh ENGINE N OUT_JSON (ENGINE: podman; watch follows new
# cgroups for Podman only)
# Prints "ok - ..." / "not ok - ..." lines (tests/run.sh counts them).
# shellcheck disable=SC2317 # functions called from exit hooks
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ENGINE=${1:?usage: churn.sh ENGINE N OUT_JSON}
N=${2:?}
OUTJ=${3:?}
# shellcheck source=tests/e2e/lib.sh
. "$HERE/../e2e/lib.sh"
E2E_NAME=churn-$ENGINE
e2e_start egr python3 bpftool
case $ENGINE in
podman)
	# shellcheck source=tests/e2e/podman_lib.sh
	. "$E2E_LIB_DIR/podman_lib.sh"
	pm_setup
	CLI=(podman) IMAGE=$PM_IMAGE HOST=unix://$PM_SOCK DIRP=libpod-
	;;
*) bail "ENGINE: podman (watch follows new cgroups for Podman only)" ;;
esac

GCG=/egr-churn-$E2E_ID
NAME=egr-$E2E_ID-churn
WPID=
pins() { ls /sys/fs/bpf/egressctl 2>/dev/null | grep -vE '^(egr_managed|pktguard)$' | sort | tr '\n' ' '; }
pins_before=$(pins)
churn_cleanup() {
	[ -n "$WPID" ] && kill -TERM "$WPID" 2>/dev/null && wait "$WPID" 2>/dev/null
	"${CLI[@]}" rm -f "$NAME" >/dev/null 2>&1
	[ -d "$CGROOT$GCG" ] && find "$CGROOT$GCG" -depth -type d -exec rmdir {} \; 2>/dev/null
	"$EGR" detach --gone >/dev/null 2>&1
}
e2e_on_exit churn_cleanup
mkdir -p "$CGROOT$GCG" || bail "mkdir $CGROOT$GCG"
ID=$("${CLI[@]}" create --name "$NAME" --cgroup-parent "$GCG" \
	--label "egressctl.allow=198.18.93.2 udp:7000" "$IMAGE" sleep 3600) || bail "$ENGINE create"
WLOG=$E2E_TMP/watch.log
"$EGR" ${HOST:+--docker-host "$HOST"} watch -j --follow-cgroups --guard-cgroup "$GCG" --resync 3 >"$WLOG" 2>&1 &
WPID=$!
wait_for 60 grep -q '"reconciled' "$WLOG" || bail "watch does not start: $(tail -3 "$WLOG")"

diag "$(date -u +%T) churn $ENGINE: $N attaches, load average $(cut -d' ' -f1-3 /proc/loadavg)"
tap_run churn.py python3 "$HERE/churn.py" --cgroup "$CGROOT$GCG/$DIRP$ID" --watch-pid "$WPID" \
	-n "$N" --engine "$ENGINE" --out "$OUTJ"
assert_eq "watch -j: every line a JSON object" 0 "$(grep -cv '^{' "$WLOG")"
# errors are not judged: a cgroup removed and made again at the same path
# under an attach makes it fail, as a container restarted at once would
diag "watch's error lines: $(grep -c '"event":"error"' "$WLOG")"
kill -TERM "$WPID" && wait "$WPID"
assert_eq "watch stopped on SIGTERM: exit 0" 0 "$?"
WPID=
_gone_all() {
	"$EGR" detach --gone >/dev/null 2>&1
	[ "$(pins)" = "$pins_before" ]
}
assert_true "no leaked pins once the cgroups are freed (detach --gone)" wait_for 120 _gone_all
e2e_done
