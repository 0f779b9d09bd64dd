# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
#
# Podman helpers for the end-to-end suite (tests/e2e/54_podman.sh). Source it
# after lib.sh's e2e_start, then pm_setup. Podman runs with a configuration
# of its own, never the host's (nothing in /etc changes, no registry):
#   - CONTAINERS_CONF / CONTAINERS_STORAGE_CONF under $PM_RUN: ulimits this
#     host allows, the cgroupfs manager, a private run root, tmp dir (its
#     event log), network config dir and OCI hooks dir ($PM_RUN/hooks.d:
#     no hook of the host's, 55_hooks.sh puts egressctl's there); images
#     cached in $PM_ROOT;
#   - its own API service, `podman system service` on $PM_SOCK (exported as
#     DOCKER_HOST: egressctl asks Podman unless told otherwise; not as
#     CONTAINER_HOST, which would turn the podman CLI into a remote client);
#   - its own bridge network $PM_NET on $PM_SUBNET (198.18.96.0/25; Podman's
#     default network is set to the other half and never created: every
#     container gets --network);
#   - the test image egressctl-test:busybox with the peer helper, built with
#     docker_lib.sh's recipe (podman import of busybox-static).
# At exit: watch daemons stopped, containers detached and removed, pins of
# their dead cgroups removed, the network and service gone, the iptables
# chains netavark leaves behind removed (unless some were there before), the
# empty cgroups Podman leaves removed. Every wait is bounded.
#
#   pm_name SHORT            a container name unique to this run
#   pm_run SHORT ARGS...     podman run -d --name (pm_name SHORT) on $PM_NET
#   pm_cgid / pm_cgpath C    the v2 cgroup id / path of a running container
#   pm_attached C            its current cgroup has egressctl pins
#   pm_watch_bg LOG [OPTS]   egressctl watch ($DOCKER_HOST: Podman's socket)
#                            in the background (PM_WATCH_PID), started and
#                            reconciled
# A container sends with `expect_udp ... --from podman:NAME` (flow_lib.sh);
# docker_lib.sh's helpers of the container tests (wait_line, rx_up,
# progress_of...) work for Podman (CTR_CLI=podman).

# shellcheck source=tests/e2e/docker_lib.sh
. "$E2E_LIB_DIR/docker_lib.sh"

PM_RUN=$EGR_TEST_RUN/podman54
PM_ROOT=/var/lib/egressctl-test/podman54
PM_SOCK=$PM_RUN/podman.sock
# our network; Podman's default one (never created: every container gets
# --network) on the other half, so that both are inside 198.18.96.0/24
PM_SUBNET=198.18.96.0/25
PM_DEFAULT_SUBNET=198.18.96.128/25
PM_IMAGE=localhost/egressctl-test:busybox
CTR_CLI=podman # docker_lib.sh's container-test helpers ask Podman

pm_name() { echo "egr-$E2E_ID-$1"; }

pm_run() {
	local name
	name=$(pm_name "$1")
	shift
	echo "$name" >>"$E2E_TMP/.pm_containers"
	podman run -d --stop-timeout 1 --network "$PM_NET" --name "$name" "$@"
}

pm_pid() { podman inspect -f '{{.State.Pid}}' "$1" 2>/dev/null; }

pm_cgpath() {
	local pid
	pid=$(pm_pid "$1") || return 1
	[ -n "$pid" ] && [ "$pid" != 0 ] || return 1
	sed -n 's/^0:://p' "/proc/$pid/cgroup"
}

pm_cgid() {
	local path
	path=$(pm_cgpath "$1") || return 1
	[ -n "$path" ] && stat -c %i "$CGROOT$path"
}

pm_attached() {
	local id
	id=$(pm_cgid "$1") || return 1
	[ -n "$id" ] && [ -d "/sys/fs/bpf/egressctl/$id" ]
}

pm_watch_bg() {
	ctr_watch_bg "$E2E_TMP/.pm_watch" "$@"
	local rc=$?
	PM_WATCH_PID=$CTR_WATCH_PID
	return "$rc"
}

# _pm_answers SOCK: a Podman API service answers there
_pm_answers() {
	curl -s -m 5 --unix-socket "$1" http://d/_ping 2>/dev/null | grep -qx OK
}

# pm_service SOCK PIDFILE: `podman system service` on SOCK, inheriting none
# of this shell's file descriptors; waits (60 s at most) until it answers.
pm_service() {
	local sock=$1 pidfile=$2 pid i
	rm -f "$sock"
	(
		for fd in "/proc/$BASHPID/fd/"*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
		done
		exec podman system service --time=0 "unix://$sock"
	) </dev/null >>"$PM_RUN/service.log" 2>&1 &
	pid=$!
	disown "$pid" 2>/dev/null || true
	echo "$pid" >"$pidfile"
	for i in $(seq 600); do
		_pm_answers "$sock" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	diag "podman system service on $sock does not answer: $(tail -5 "$PM_RUN/service.log")"
	return 1
}

# pm_service_stop PIDFILE
pm_service_stop() {
	local pid i
	pid=$(cat "$1" 2>/dev/null) || return 0
	rm -f "$1"
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = podman ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
}

_pm_conf() {
	mkdir -p "$PM_RUN"/{run,libpod,networks,hooks.d} "$PM_ROOT" || return 1
	cat >"$PM_RUN/containers.conf" <<-EOF
		# egressctl tests: Podman with its own state (tests/e2e/podman_lib.sh)
		[containers]
		default_ulimits = ["nofile=20000:20000", "nproc=20000:20000"]
		[network]
		network_config_dir = "$PM_RUN/networks"
		default_subnet = "$PM_DEFAULT_SUBNET"
		default_subnet_pools = [{"base" = "$PM_DEFAULT_SUBNET", "size" = 25}]
		[engine]
		cgroup_manager = "cgroupfs"
		events_logger = "file"
		tmp_dir = "$PM_RUN/libpod"
		hooks_dir = ["$PM_RUN/hooks.d"]
	EOF
	cat >"$PM_RUN/storage.conf" <<-EOF
		[storage]
		driver = "overlay"
		graphroot = "$PM_ROOT/storage"
		runroot = "$PM_RUN/run"
	EOF
	export CONTAINERS_CONF=$PM_RUN/containers.conf
	export CONTAINERS_STORAGE_CONF=$PM_RUN/storage.conf
}

_pm_netavark_chains() { iptables-save 2>/dev/null | grep -c NETAVARK; }

# netavark's chains and jumps, which `podman network rm` leaves behind.
_pm_iptables_clean() {
	local t c
	for t in iptables ip6tables; do
		command -v "$t" >/dev/null || continue
		while "$t" -D FORWARD -m comment --comment "netavark firewall plugin rules" \
			-j NETAVARK_FORWARD 2>/dev/null; do :; done
		"$t" -F NETAVARK_FORWARD 2>/dev/null && "$t" -X NETAVARK_FORWARD 2>/dev/null
		while "$t" -t nat -D PREROUTING -m addrtype --dst-type LOCAL \
			-j NETAVARK-HOSTPORT-DNAT 2>/dev/null; do :; done
		while "$t" -t nat -D OUTPUT -m addrtype --dst-type LOCAL \
			-j NETAVARK-HOSTPORT-DNAT 2>/dev/null; do :; done
		while "$t" -t nat -D POSTROUTING -j NETAVARK-HOSTPORT-MASQ 2>/dev/null; do :; done
		for c in NETAVARK-HOSTPORT-DNAT NETAVARK-HOSTPORT-MASQ NETAVARK-HOSTPORT-SETMARK; do
			"$t" -t nat -F "$c" 2>/dev/null && "$t" -t nat -X "$c" 2>/dev/null
		done
	done
}

# The cgroups Podman leaves behind (libpod_parent, its conmon child in the v1
# hierarchies), when empty.
_pm_cgroups_clean() {
	local d x
	for d in /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent; do
		[ -d "$d" ] || continue
		find "$d" -depth -type d 2>/dev/null | while read -r x; do
			[ -s "$x/cgroup.procs" ] || rmdir "$x" 2>/dev/null
		done
	done
}

# pm_setup: everything above; bails if podman is missing or does not run.
pm_setup() {
	command -v podman >/dev/null || bail "podman missing (tools/install-deps.sh)"
	_pm_conf || bail "cannot write Podman's test configuration in $PM_RUN"
	PM_NET=egr-$E2E_ID
	PM_CHAINS_BEFORE=$(_pm_netavark_chains)
	: >"$E2E_TMP/.pm_containers"
	: >"$E2E_TMP/.pm_watch"
	EGRESSCTL_STATE_DIR=$(mktemp -d /tmp/egr-state.XXXXXX)
	echo "$EGRESSCTL_STATE_DIR" >>"$E2E_TMP/.state_dir"
	export EGRESSCTL_STATE_DIR
	e2e_on_exit pm_cleanup
	e2e_on_case _pm_case_hook
	pm_service "$PM_SOCK" "$PM_RUN/service.pid" || bail "Podman's API service does not start"
	export DOCKER_HOST=unix://$PM_SOCK
	podman network create --disable-dns --subnet "$PM_SUBNET" "$PM_NET" >/dev/null ||
		bail "podman network create --subnet $PM_SUBNET"
	EGR_IMAGE_CLI=podman EGR_DOCKER_IMAGE=$PM_IMAGE docker_image "$PEER" ||
		bail "cannot build $PM_IMAGE"
}

# When a case ends: the watch daemons it started are stopped, every container
# of ours is detached (saved policy deleted).
_pm_case_hook() {
	case $1 in
	begin) _PM_MARK=$(($(wc -l <"$E2E_TMP/.pm_watch") + 1)) ;;
	end) ctr_case_end "$E2E_TMP/.pm_watch" "$_PM_MARK" "$E2E_TMP/.pm_containers" pm_attached "" ;;
	esac
}

pm_cleanup() {
	local c pid
	[ -n "${E2E_TMP:-}" ] && [ -f "$E2E_TMP/.pm_containers" ] || return 0
	while read -r pid; do
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && kill -CONT "$pid" 2>/dev/null
	done <"$E2E_TMP/.pm_watch"
	while read -r c; do
		[ -n "$c" ] || continue
		"$EGR" --docker-host "unix://$PM_SOCK" detach "$c" >/dev/null 2>&1
		timeout 60 podman rm -f -t 0 "$c" >/dev/null 2>&1
	done <"$E2E_TMP/.pm_containers"
	: >"$E2E_TMP/.pm_containers"
	if [ -n "${PM_CLEANUP_HOOK:-}" ]; then
		"$PM_CLEANUP_HOOK"
		PM_CLEANUP_HOOK=
	fi
	# pins of cgroups that are gone (restarted containers), nothing else
	"$EGR" --docker-host "unix://$PM_SOCK" watch --once --resync 0 >/dev/null 2>&1
	[ -n "${PM_NET:-}" ] && podman network rm -f "$PM_NET" >/dev/null 2>&1
	pm_service_stop "$PM_RUN/service.pid"
	[ "${PM_CHAINS_BEFORE:-0}" = 0 ] && _pm_iptables_clean
	_pm_cgroups_clean
	[ -n "${EGRESSCTL_STATE_DIR:-}" ] && rm -rf "$EGRESSCTL_STATE_DIR"
}
