#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Removes what end-to-end runs that died without their exit trap (SIGKILL,
# a lost session) left on this host, so that the next run does not meet
# them: a guard that makes 19, 52, 56, 57 and the soak refuse to start, a
# swarm that makes 57 refuse, namespaces, cgroups and pins.
#
# A run is its directory /tmp/egr-e2e-<id>.XXXXXX (lib.sh's e2e_init). The
# run is dead when the process in its .owner file ("PID STARTTIME") is gone
# or is another process now; a directory without .owner (older suites) is
# dead too; one kept on purpose (E2E_KEEP: .kept) is left as it is. A live
# run is never touched. Of a dead run, only what carries its id, or what it
# listed in its directory, goes, in this order:
#   - its processes: any with E2E_TMP=<its directory> in their environment
#     (receivers, peers, watch daemons, which would put a guard back, the
#     Podman service), dockerd and containerd excepted;
#   - containers and networks named egr-<id>-* / egr57-<id>-*, on the test
#     dockerd and the test Podman (detached first); the swarm, if the run
#     had initialised it (.swarm; swarm_lib.sh), and its second node;
#   - the guard, if it is on a cgroup whose path holds the id, or if it is
#     the very guard the run installed (its bpffs inode in .guards: lib.sh's
#     e2e_guard_mine); a guard installed since on the same cgroup is not;
#   - the start-up hook of the tests' Podman and Docker wrapper, when they
#     run the run's copy of egressctl (hook_lib.sh);
#   - its namespaces (.netns) and cgroups (.cgroups, and egr-*<id>* under
#     the cgroup2 mount and the v1 hierarchies), and the cgroup2 mount it
#     made where the host had none;
#   - its directory, its copy of egressctl (/tmp/egr-bin-<id>.*) and its
#     state directories (.state_dir).
# Then the pins of every cgroup that is gone (egressctl detach --gone, as
# the scripts' own cleanup does). Every step is bounded in time.
# Prints one "# sweep: ..." line per dead run; nothing when there is none.
# Run by tests/run.sh before the e2e tier; safe to run by hand, as root.
# usage: tests/e2e/sweep.sh [TMPDIR]  (default /tmp)
set -u
E2E_LIB_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$E2E_LIB_DIR/lib.sh"
# shellcheck source=tests/e2e/podman_lib.sh
. "$E2E_LIB_DIR/podman_lib.sh"
E2E_NAME=sweep
TMPROOT=${1:-/tmp}
EGR=${EGR_BIN:-$E2E_ROOT/build/egressctl}
[ -x "$EGR" ] || EGR=$(command -v egressctl 2>/dev/null) || EGR=
CGROOT=$(_cg2_mount)
SWEPT=0

# _owner_alive DIR: its .owner names a process that still runs
_owner_alive() {
	local pid start
	read -r pid start 2>/dev/null <"$1/.owner" || return 1
	[ -n "$pid" ] && [ -n "$start" ] && [ "$(_proc_start "$pid")" = "$start" ]
}

# _run_pids DIR: the run's processes (lib.sh's _env_pids), but the engines'
# daemons, which later runs share
_run_pids() {
	local p
	for p in $(_env_pids "$1"); do
		case $(cat "/proc/$p/comm" 2>/dev/null) in
		dockerd | containerd*) ;;
		*) echo "$p" ;;
		esac
	done
}

# the test dockerd (docker_lib.sh's socket), every call bounded
_dk() { timeout 60 docker -H "unix://$EGR_DOCKER_SOCK" "$@"; }

_sweep_guard() {
	local id=$1 g ino
	[ -n "$EGR" ] && ino=$(stat -c %i /sys/fs/bpf/egressctl/guard 2>/dev/null) || return 0
	g=$(timeout 60 "$EGR" watch --guard-status 2>/dev/null |
		sed -n 's/^guard on cgroup \([^ ]*\) .*/\1/p')
	[ -n "$g" ] || return 0
	if [[ $g == *"$id"* ]] || grep -qxF -- "$ino" "$2/.guards" 2>/dev/null; then
		timeout 60 "$EGR" watch --remove-guard >/dev/null 2>&1 && echo "guard on $g"
	fi
}

# the hook of hook_lib.sh, left pointing at the run's copy of egressctl
_sweep_hooks() {
	local id=$1 f
	for f in "$PM_RUN/hooks.d/50-egressctl.json" "$EGR_TEST_RUN/egressctl-runc"; do
		grep -qF "egr-bin-$id." "$f" 2>/dev/null || continue
		rm -f "$f"
		[ "${f##*/}" = egressctl-runc ] && rm -f "$EGR_TEST_RUN/egressctl-runc.env"
		echo "hook $f"
	done
}

_sweep_containers() {
	local id=$1 c n
	if [ -d "$PM_RUN" ] && command -v podman >/dev/null 2>&1; then
		export CONTAINERS_CONF=$PM_RUN/containers.conf
		export CONTAINERS_STORAGE_CONF=$PM_RUN/storage.conf
		for c in $(timeout 60 podman ps -a --format '{{.Names}}' 2>/dev/null | grep "^egr-$id-"); do
			timeout 60 podman rm -f -t 0 "$c" >/dev/null 2>&1 && echo "podman container $c"
		done
		timeout 60 podman network exists "egr-$id" 2>/dev/null &&
			timeout 60 podman network rm -f "egr-$id" >/dev/null 2>&1 && echo "podman network egr-$id"
	fi
	_egr_docker_answers || return 0
	if [ -f "$2/.swarm" ]; then
		# swarm_lib.sh's exit hooks, with the dead run's names
		# shellcheck disable=SC2016 # the script's own variables
		E2E_ID=$id E2E_LIB_DIR=$E2E_LIB_DIR timeout 300 bash -c '
			. "$E2E_LIB_DIR/lib.sh"
			. "$E2E_LIB_DIR/docker_lib.sh"
			. "$E2E_LIB_DIR/swarm_lib.sh"
			CGROOT=$(_cg2_mount)
			sw_node2_down
			sw_leave' && echo "swarm"
	fi
	for c in $(_dk ps -a --format '{{.Names}}' 2>/dev/null | grep -E "^egr(57)?-$id-"); do
		[ -n "$EGR" ] && timeout 60 "$EGR" detach "docker:$c" >/dev/null 2>&1
		_dk rm -f "$c" >/dev/null 2>&1 && echo "docker container $c"
	done
	for n in $(_dk network ls --format '{{.Name}}' 2>/dev/null | grep -E "^egr(57)?-$id"); do
		_dk network rm "$n" >/dev/null 2>&1 && echo "docker network $n"
	done
}

_sweep_procs() {
	local dir=$1 sig p n=0 i
	for sig in TERM KILL; do
		for p in $(_run_pids "$dir"); do
			kill "-$sig" "$p" 2>/dev/null && [ "$sig" = TERM ] && n=$((n + 1))
		done
		for i in $(seq 30); do
			[ -z "$(_run_pids "$dir")" ] && break
			sleep 0.1
		done
	done
	[ "$n" -gt 0 ] && echo "$n processes"
	return 0
}

_sweep_cgroup() {
	local d x p i
	d=$1
	[ -d "$d" ] || return 0
	# a filter on a cgroup2 directory: detached (pins and links) first
	[ -n "$EGR" ] && [ -n "$CGROOT" ] && [[ $d == "$CGROOT"/* ]] &&
		find "$d" -depth -type d 2>/dev/null | while read -r x; do
			[ -d "/sys/fs/bpf/egressctl/$(stat -c %i "$x")" ] &&
				timeout 60 "$EGR" detach "cgroup:$x" >/dev/null 2>&1
		done
	find "$d" -depth -type d 2>/dev/null | while read -r x; do
		for i in $(seq 20); do
			while read -r p; do
				kill -KILL "$p" 2>/dev/null
			done <"$x/cgroup.procs"
			rmdir "$x" 2>/dev/null && break
			[ -d "$x" ] || break
			sleep 0.1
		done
	done
	[ -d "$d" ] && echo "cgroup $d: could not remove it" || echo "cgroup $d"
}

_sweep_run() {
	local dir=$1 id=$2 ns cg d mp
	_sweep_procs "$dir"
	_sweep_containers "$id" "$dir"
	_sweep_guard "$id" "$dir"
	_sweep_hooks "$id"
	if [ -f "$dir/.netns" ]; then
		while read -r ns; do
			[ -n "$ns" ] && ip netns list 2>/dev/null | awk '{print $1}' | grep -qxF -- "$ns" &&
				_netns_del "$ns" && echo "netns $ns"
		done < <(tac "$dir/.netns")
	fi
	{
		[ -f "$dir/.cgroups" ] && tac "$dir/.cgroups"
		[ -n "$CGROOT" ] && ls -d "$CGROOT"/egr-*"$id"* 2>/dev/null
		ls -d /sys/fs/cgroup/*/egr-*"$id"* 2>/dev/null
	} | awk '!seen[$0]++' | while read -r cg; do
		[ -n "$cg" ] && _sweep_cgroup "$cg"
	done
	mp=/run/egr-e2e-cg2-$id
	if mountpoint -q "$mp" 2>/dev/null; then
		umount "$mp" 2>/dev/null && rmdir "$mp" 2>/dev/null && echo "cgroup2 mount $mp"
	fi
	while read -r d; do
		[[ $d == /tmp/egr-state.* ]] && rm -rf "$d"
	done < <(cat "$dir/.state_dir" 2>/dev/null)
	rm -rf "$dir" "$TMPROOT/egr-bin-$id".*
}

for dir in "$TMPROOT"/egr-e2e-*.*; do
	[ -d "$dir" ] || continue
	id=${dir##*/egr-e2e-}
	id=${id%%.*}
	[[ $id =~ ^[0-9a-f]{8}$ ]] || continue
	[ -e "$dir/.kept" ] && continue
	_owner_alive "$dir" && continue
	what=$(_sweep_run "$dir" "$id" | paste -sd, - | sed 's/,/, /g')
	echo "# sweep: run $id died without cleaning up; removed: ${what:-its directory}"
	SWEPT=1
done
# a directory whose run died before renaming it into place (lib.sh) holds
# nothing but its owner; one without an owner yet is being made
for dir in "$TMPROOT"/.egr-e2e-*.*; do
	[ -d "$dir" ] && [ -s "$dir/.owner" ] && ! _owner_alive "$dir" && rm -rf "$dir"
done
# the pins of the cgroups that went (and of any other that is gone)
[ "$SWEPT" = 1 ] && [ -n "$EGR" ] && timeout 120 "$EGR" detach --gone >/dev/null 2>&1
exit 0
