#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The main job on a throwaway target: attach, allow one destination, show one
# allowed and one blocked connection and the counters, clean up.
#
#   tools/demo.sh BUILD_DIR            container demo if dockerd can run,
#                                      else the cgroup demo
#   EGR_DEMO=cgroup tools/demo.sh ...  force the cgroup demo
#   EGRESSCTL=/usr/sbin/egressctl ...  the installed binary instead of BUILD_DIR's
#
# Traffic goes only to 198.18.0.0/15 addresses this script creates.
set -u
out=$(cd "${1:-build}" && pwd)
EGR=${EGRESSCTL:-$out/egressctl}
PEER=$out/tests/peer
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
NS=egr-demo
CGNAME=egr-demo
cleanup_cmds=()

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
failures=()
# expect WHAT WANT CMD...: run CMD, show it; WANT ok = must succeed, fail = must fail.
expect() {
	local what=$1 want=$2 rc
	shift 2
	printf '$ %s\n' "$*"
	"$@"
	rc=$?
	if { [ "$want" = ok ] && [ "$rc" -ne 0 ]; } || { [ "$want" = fail ] && [ "$rc" -eq 0 ]; }; then
		failures+=("$what (exit status $rc)")
		printf '\033[1;31m   FAILED: %s\033[0m\n' "$what"
	else
		printf '\033[1;32m   as expected: %s\033[0m\n' "$what"
	fi
}
# verdict TARGET: the demo's outcome; exit status 0 only if every check held.
verdict() {
	local t=$1 hits denied f
	hits=$("$EGR" list "$t" -j 2>/dev/null | jq '[.[0].rules[] | select(.action == "allow") | .hits] | add // 0')
	denied=$("$EGR" status -j 2>/dev/null | jq --arg t "$t" \
		'[.targets[] | select(.target == $t or .cgroup == $t) | .counters.denied.packets] | add // 0')
	[ "${hits:-0}" -gt 0 ] || failures+=("the allow rule counted no hits")
	[ "${denied:-0}" -gt 0 ] || failures+=("no packet was counted as denied")
	if [ ${#failures[@]} -eq 0 ]; then
		say "The demo worked: the allowed destination connected, the other was blocked in the kernel"
		return 0
	fi
	printf '\n\033[1;31mdemo FAILED:\033[0m\n' >&2
	for f in "${failures[@]}"; do echo "  - $f" >&2; done
	{
		echo "What to look at:"
		echo "  egressctl status      (targets, counters, the packet-socket and strict-mode guards)"
		echo "  egressctl list $t     (rules in force, with hits)"
		echo "  egressctl events $t   (denied packets as they happen)"
		if "$EGR" watch --guard-status 2>/dev/null | grep -q '^guard on'; then
			echo "A strict-mode guard is pinned (left by 'egressctl watch --strict'): it drops all"
			echo "traffic of containers with no policy in force, the demo's peers' replies included."
			"$EGR" watch --guard-status | sed 's/^/    /'
			echo "  remove it with: egressctl watch --remove-guard"
		fi
	} >&2
	return 1
}
run() {
	printf '$ %s\n' "$*"
	"$@"
}
cleanup() {
	local i
	for ((i = ${#cleanup_cmds[@]} - 1; i >= 0; i--)); do
		eval "${cleanup_cmds[i]}" >/dev/null 2>&1
	done
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root" >&2; exit 1; }
[ -x "$EGR" ] && [ -x "$PEER" ] || { echo "demo: build first (make)" >&2; exit 1; }

cgroup_demo() {
	local mnt cg
	mnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	[ -n "$mnt" ] || { echo "demo: no cgroup v2 mounted" >&2; return 1; }
	cg=$mnt/$CGNAME

	say "A throwaway network host: netns $NS with 198.18.100.2 and 198.18.100.3"
	ip netns del "$NS" 2>/dev/null
	ip link del h-$NS 2>/dev/null
	ip netns add "$NS"
	cleanup_cmds+=("ip netns del $NS" "ip link del h-$NS")
	ip link add h-$NS type veth peer name eth0 netns "$NS"
	ip addr add 198.18.100.1/24 dev h-$NS
	ip link set h-$NS up
	ip -n "$NS" addr add 198.18.100.2/24 dev eth0
	ip -n "$NS" addr add 198.18.100.3/24 dev eth0
	ip -n "$NS" link set eth0 up
	ip -n "$NS" link set lo up
	sleep 0.5
	ip netns exec "$NS" "$PEER" tcp-recv 8080 20 -e >/dev/null 2>&1 &
	cleanup_cmds+=("kill $!")

	say "A throwaway cgroup: $cg"
	rmdir "$cg" 2>/dev/null
	mkdir "$cg"
	cleanup_cmds+=("rmdir $cg" "$EGR detach cgroup:/$CGNAME")

	say "Attach (default deny) and allow one destination"
	run "$EGR" attach cgroup:/$CGNAME --default deny
	run "$EGR" allow cgroup:/$CGNAME 198.18.100.2 tcp:8080
	run "$EGR" deny cgroup:/$CGNAME 192.168.0.0/16
	sleep 0.3

	say "From inside the cgroup: the allowed destination"
	expect "the allowed destination connects" ok \
		sh -c 'echo $$ > "$1/cgroup.procs"; exec "$2" tcp-send 198.18.100.2 8080 -t 3' x "$cg" "$PEER"
	say "From inside the cgroup: a destination no rule allows"
	expect "a destination no rule allows is blocked" fail \
		sh -c 'echo $$ > "$1/cgroup.procs"; exec "$2" tcp-send 198.18.100.3 8080 -t 3' x "$cg" "$PEER"

	say "What is in force, read back from the kernel, with hits"
	run "$EGR" list cgroup:/$CGNAME
	say "Counters"
	run "$EGR" status
	verdict cgroup:/$CGNAME
}

container_demo() {
	# shellcheck source=../tests/e2e/docker_lib.sh
	. "$top/tests/e2e/docker_lib.sh" || return 1
	local mine=1
	DOCKER_HOST=unix://$EGR_DOCKER_SOCK docker version >/dev/null 2>&1 && mine=0
	docker_up || return 1
	# stop dockerd afterwards only if the demo started it
	[ "$mine" = 1 ] && cleanup_cmds+=("docker_down")
	if [ "${DOCKER_TRAFFIC_OK:-1}" = 0 ]; then
		echo "demo: the running dockerd does not use 198.19.0.0/16; using the cgroup demo" >&2
		return 2
	fi
	docker_image "$PEER" || return 1
	local img=egressctl-test:busybox db other dbip otherip

	say "Three throwaway containers on the Docker bridge (198.19.0.0/24)"
	docker rm -f egr-demo-web egr-demo-db egr-demo-other >/dev/null 2>&1
	cleanup_cmds+=("docker rm -f egr-demo-web egr-demo-db egr-demo-other")
	run docker run -d --name egr-demo-db "$img" peer tcp-recv 5432 60 -e >/dev/null
	run docker run -d --name egr-demo-other "$img" peer tcp-recv 5432 60 -e >/dev/null
	run docker run -d --name egr-demo-web "$img" sleep 120 >/dev/null
	dbip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' egr-demo-db)
	otherip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' egr-demo-other)
	echo "db is $dbip, other is $otherip"
	sleep 1

	say "Attach to the web container (default deny) and allow only its database"
	run "$EGR" attach egr-demo-web
	cleanup_cmds+=("$EGR detach egr-demo-web")
	run "$EGR" allow egr-demo-web "$dbip" tcp:5432

	say "From inside web: the database"
	expect "web connects to its database" ok docker exec egr-demo-web peer tcp-send "$dbip" 5432 -t 3
	say "From inside web: another container no rule allows"
	expect "web cannot reach the other container" fail \
		docker exec egr-demo-web peer tcp-send "$otherip" 5432 -t 3

	say "What is in force, with hits"
	run "$EGR" list egr-demo-web
	say "Counters"
	run "$EGR" status
	verdict egr-demo-web || return 3
}

# container_demo: 0 worked, 3 ran but did not work (fail loudly), 2 Docker
# cannot run here, 1 setting it up failed (then the cgroup demo shows it).
ret=2
if [ "${EGR_DEMO:-auto}" != cgroup ] && command -v dockerd >/dev/null 2>&1; then
	container_demo
	ret=$?
	[ "$ret" -eq 0 ] || { cleanup; cleanup_cmds=(); }
fi
if [ "$ret" -eq 1 ] || [ "$ret" -eq 2 ]; then
	[ "$ret" -eq 2 ] || echo "demo: setting up the container demo failed; showing the cgroup demo" >&2
	failures=()
	cgroup_demo
	ret=$?
fi
say "Cleaning up (detach, remove the throwaway target)"
[ "$ret" -eq 0 ] || echo "demo: exit status 1 (see above)" >&2
[ "$ret" -eq 0 ]
