# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
#
# Docker Swarm helpers for tests/e2e/57_swarm.sh. Source after lib.sh's
# e2e_start docker (docker_lib.sh's dk_* helpers, DOCKER_HOST set).
#
#   sw_init            a single-node swarm on the test dockerd (advertised on
#                      its bridge, 198.19.0.1; overlays from 198.18.192.0/18);
#                      bails if this dockerd is in a swarm already
#   sw_leave           every stack and service removed, their containers gone,
#                      the swarm left (registered at exit by sw_init)
#   sv_create NAME ARGS...     docker service create -d (a short stop grace
#                      period, the local test image never resolved); NAME is
#                      made unique to this run (dk_name); removed at the end
#                      of the case (sv_case_hook) and at exit
#   sv_tasks SERVICE   its running task containers' names, sorted
#   sv_wait SERVICE N LOG   until SERVICE has exactly N running tasks, each
#                      with a "start ... enforced" line in watch's LOG
#   sv_rm_all          every stack and service removed, until their task
#                      containers are gone
# Every wait is bounded.

# sv_name SHORT: the run-unique service name
sv_name() { echo "egr57-$E2E_ID-$1"; }

sw_init() {
	local st
	st=$(docker info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null)
	[ "$st" = inactive ] || bail "this dockerd is in a swarm already (state '$st'): not touching it"
	e2e_on_exit sw_leave
	e2e_on_exit sw_node2_down
	# sweep.sh leaves the swarm if this run dies without its exit hooks
	: >"$E2E_TMP/.swarm"
	docker swarm init --advertise-addr 198.19.0.1 --default-addr-pool 198.18.192.0/18 >/dev/null || bail "docker swarm init failed"
}

# _sv_containers: the task containers of this dockerd, running or not
_sv_containers() { docker ps -aq --filter label=com.docker.swarm.task.id; }
_sv_none() { [ -z "$(_sv_containers)" ]; }

sv_rm_all() {
	local s
	for s in $(docker stack ls --format '{{.Name}}' 2>/dev/null); do
		docker stack rm "$s" >/dev/null 2>&1
	done
	for s in $(docker service ls -q 2>/dev/null); do
		docker service rm "$s" >/dev/null 2>&1
	done
	# the agent removes them; whatever is left after 60 s goes by hand
	wait_for 60 _sv_none || _sv_containers | xargs -r docker rm -f >/dev/null 2>&1
	return 0
}

sw_leave() {
	sv_rm_all
	docker swarm leave --force >/dev/null 2>&1
	# what swarm mode left behind on this dockerd
	docker network rm docker_gwbridge >/dev/null 2>&1
	return 0
}

sv_create() {
	local name
	name=$(sv_name "$1")
	shift
	docker service create -d --quiet --name "$name" --no-resolve-image \
		--stop-grace-period 1s "$@" >/dev/null
}

sv_tasks() {
	docker ps --filter "label=com.docker.swarm.service.name=$(sv_name "$1")" \
		--format '{{.Names}}' | sort
}

_sv_ready() {
	local svc=$1 n=$2 log=$3 t have=0
	for t in $(sv_tasks "$svc"); do
		grep -qE "^(start|startup) $t \([0-9a-f]{12}\): enforced" "$log" || return 1
		have=$((have + 1))
	done
	[ "$have" -eq "$n" ]
}

sv_wait() {
	wait_for "${4:-90}" _sv_ready "$@" && return 0
	diag "service $1: not $2 running tasks with their policy in force: $(sv_tasks "$1" | xargs)" \
		"$(docker service ps --no-trunc "$(sv_name "$1")" 2>&1 | tail -5)" "$(tail -5 "$3")"
	return 1
}

# ---- a second node on this machine ------------------------------------------
#   sw_node2_up        a second dockerd, joined to the swarm as a worker: its
#                      own data root, exec root, socket (N2_HOST), pidfile,
#                      bridge (198.18.60.1/24), address pool
#                      (198.18.61.0/24) and cgroup parent (N2_CG, under
#                      /docker: node 1's --strict guard is this host's, it
#                      holds node 2's tasks too), in a
#                      network namespace of its own (egr57n2, 198.18.59.2,
#                      routes to 198.18.0.0/15 only, through the host, which
#                      forwards between it and the receivers: DOCKER-USER
#                      rules, as Docker's FORWARD policy is drop); the test
#                      image loaded (the same id); N2_ID its node id.
#   sw_node2_down      all of it gone again (idempotent; run it at the end
#                      of the case and at exit: what a case sets is lost
#                      with its subshell)
# The namespace is entered with nsenter --net, not `ip netns exec`, which
# would mount a /sys of its own and hide the cgroup tree from dockerd.
N2_DIR=$EGR_TEST_RUN/swarm-n2
N2_HOST=unix://$N2_DIR/docker.sock
N2_CG=/docker/egr57-n2-$E2E_ID
n2() { docker -H "$N2_HOST" "$@"; }

_n2_ready() { [ "$(docker node inspect -f '{{.Status.State}}' "$N2_ID" 2>/dev/null)" = ready ]; }

sw_node2_up() {
	local i
	netns_up egr57n2 198.18.59.2/24 - || return 1
	ip -n egr57n2 route del default 2>/dev/null
	ip -n egr57n2 route add 198.18.0.0/15 via 198.18.59.1 || return 1
	iptables -I DOCKER-USER -i h-egr57n2 -j ACCEPT || return 1
	iptables -I DOCKER-USER -o h-egr57n2 -j ACCEPT || return 1
	mkdir -p "$N2_DIR" || return 1
	(
		# it must not inherit the script's descriptors (flock's lock)
		for fd in "/proc/$BASHPID/fd"/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
		done
		exec nsenter --net=/run/netns/egr57n2 dockerd --data-root "$N2_DIR/root" \
			--exec-root "$N2_DIR/exec" -H "$N2_HOST" --pidfile "$N2_DIR/docker.pid" \
			--storage-driver vfs --bip 198.18.60.1/24 \
			--default-address-pool base=198.18.61.0/24,size=24 --cgroup-parent "$N2_CG"
	) </dev/null >"$N2_DIR/dockerd.log" 2>&1 &
	for i in $(seq 300); do
		n2 info >/dev/null 2>&1 && break
		sleep 0.2
	done
	if ! n2 info >/dev/null 2>&1; then
		diag "node 2: dockerd does not answer" "$(tail -5 "$N2_DIR/dockerd.log")"
		return 1
	fi
	docker save "$EGR_DOCKER_IMAGE" | n2 load >/dev/null || return 1
	n2 swarm join --token "$(docker swarm join-token -q worker)" \
		--advertise-addr 198.18.59.2 198.19.0.1:2377 >/dev/null || return 1
	N2_ID=$(n2 info -f '{{.Swarm.NodeID}}')
	wait_for 60 _n2_ready
}

sw_node2_down() {
	local pid i d
	while iptables -D DOCKER-USER -i h-egr57n2 -j ACCEPT 2>/dev/null; do :; done
	while iptables -D DOCKER-USER -o h-egr57n2 -j ACCEPT 2>/dev/null; do :; done
	[ -d "$N2_DIR" ] || return 0
	n2 swarm leave --force >/dev/null 2>&1
	n2 ps -aq 2>/dev/null | xargs -r docker -H "$N2_HOST" rm -f >/dev/null 2>&1
	pid=$(cat "$N2_DIR/docker.pid" 2>/dev/null)
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 150); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	# the worker is down: the manager forgets it
	for i in $(docker node ls -q --filter role=worker 2>/dev/null); do
		docker node rm --force "$i" >/dev/null 2>&1
	done
	grep -o " $N2_DIR/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$N2_DIR"
	for d in "$CGROOT$N2_CG" /sys/fs/cgroup/*"$N2_CG"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	return 0
}
